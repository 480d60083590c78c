"""The two-stage draw: villages by PPS, then households within village and type from the listing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.contract.schema import HOUSEHOLD_TYPES, IDENTIFYING_COLUMNS
from evalkit.sampling.allocation import allocate
from evalkit.sampling.checks import (
    positive_int,
)
from evalkit.sampling.frame import (
    FRAME_HOUSEHOLDS,
    FRAME_PEOPLE,
    HOUSEHOLD_GROUPS,
    check_frame,
    household_groups,
    require_columns,
    size_measure,
)
from evalkit.sampling.pps import (
    as_generator,
    pps_inclusion_probabilities,
    pps_systematic,
)


def select_villages(
    frame: pd.DataFrame,
    n_villages: int | Mapping[str, int],
    rng: int | np.random.Generator,
    size_column: str | Sequence[str] | None = None,
    *,
    strata: str | None = None,
    order: str = "given",
    groups: Sequence[str] = ("registered", "nonregistered"),
) -> pd.DataFrame:
    """First stage: villages by systematic PPS within each stratum (or the whole county);
    Tillé (2006), sec. 7.2, R ``sampling::UPsystematic``
    (:func:`~evalkit.sampling.pps.pps_systematic`).

    ``size_column``: a frame column, a list of columns summed, or ``None`` for the
    households of ``groups``. With ``strata`` and an integer ``n_villages``, villages are
    allocated to strata proportionally to their total size with at least 2 per stratum
    (so each stratum yields a variance), never more than the villages it has. Returns the
    selected frame rows with ``village_prob`` (and ``stratum`` when stratified).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"township": ["T1"] * 4, "village": ["V1", "V2", "V3", "V4"],
    ...     "hh_exited": [10, 20, 5, 15], "hh_not_exited": [2, 4, 1, 3],
    ...     "hh_nonregistered": [88, 76, 44, 82]})
    >>> select_villages(frame, 2, rng=1)[["village", "village_prob"]]
      village  village_prob
    0      V1      0.571429
    1      V4      0.571429
    """
    check_frame(frame)
    gen = as_generator(rng)
    frame = frame.reset_index(drop=True)
    x, labels, want = first_stage_plan(frame, n_villages, size_column, strata, groups)
    if labels is None:
        s = pps_systematic(x, want[""], gen, order=order)
        out = frame.iloc[s.index].copy()
        out["village_prob"] = s.pi
        return out.reset_index(drop=True)
    parts = []
    # A loop over the few strata; all work within a stratum is vectorized.
    for key in want:
        rows = np.flatnonzero(labels == key)
        s = pps_systematic(x[rows], want[key], gen, order=order)
        part = frame.iloc[rows[s.index]].copy()
        part["village_prob"] = s.pi
        part["stratum"] = key
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def first_stage_plan(frame: pd.DataFrame, n_villages: int | Mapping[str, int],
                      size_column: str | Sequence[str] | None, strata: str | None,
                      groups: Sequence[str]
                      ) -> tuple[np.ndarray, np.ndarray | None, dict[str, int]]:
    """Size measure, stratum labels (None when unstratified) and villages per stratum.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"township": ["T1"] * 4, "village": ["V1", "V2", "V3", "V4"],
    ...     "hh_exited": [10, 20, 5, 15], "hh_not_exited": [2, 4, 1, 3],
    ...     "hh_nonregistered": [88, 76, 44, 82]})
    >>> sizes, stratum, n_by_stratum = first_stage_plan(frame, 2, None, None,
    ...                                                 ("registered", "nonregistered"))
    >>> sizes.tolist(), stratum, n_by_stratum
    ([100.0, 100.0, 50.0, 100.0], None, {'': 2})
    """
    x = size_measure(frame, size_column, groups)
    if strata is None:
        n = positive_int("n_villages", n_villages)
        n_pos = int((x > 0).sum())
        if n > n_pos:
            raise EvalkitError(
                f"n_villages={n} exceeds the {n_pos} villages with a positive size in the frame")
        return x, None, {"": n}
    require_columns(frame, [strata], "frame")
    labels = frame[strata].astype(str).to_numpy()
    present = [str(v) for v in pd.unique(labels)]
    if isinstance(n_villages, Mapping):
        want = {str(k): positive_int(f"n_villages[{k!r}]", v) for k, v in n_villages.items()}
        for key in want:
            if key not in present:
                raise EvalkitError(f"n_villages: stratum {key!r} has no villages in the frame")
        for key in present:
            if key not in want:
                raise EvalkitError(f"n_villages: no entry for stratum {key!r} of the frame")
    else:
        n_total = positive_int("n_villages", n_villages)
        size_by = pd.Series(x).groupby(labels, sort=False).sum()
        villages_by = pd.Series(x > 0).groupby(labels, sort=False).sum()
        want = {str(k): int(v) for k, v in allocate(
            n_total, size_by, "proportional", floor=2, capacity=villages_by).items()}
    for key in present:
        n_pos = int((x[labels == key] > 0).sum())
        if n_pos == 0:
            raise EvalkitError(f"stratum {key!r} has no villages with a positive size")
        if want[key] > n_pos:
            raise EvalkitError(
                f"n_villages[{key!r}]={want[key]} exceeds the {n_pos} villages of the stratum")
    return x, labels, {key: want[key] for key in present}


def village_probabilities(frame: pd.DataFrame, n_villages: int | Mapping[str, int],
                          size_column: str | Sequence[str] | None = None, *,
                          strata: str | None = None,
                          groups: Sequence[str] = ("registered", "nonregistered")
                          ) -> np.ndarray:
    """First-stage inclusion probability of every frame village under the planned design
    (:func:`pps_inclusion_probabilities` within each stratum).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"township": ["T1"] * 4, "village": ["V1", "V2", "V3", "V4"],
    ...     "hh_exited": [10, 20, 5, 15], "hh_not_exited": [2, 4, 1, 3],
    ...     "hh_nonregistered": [88, 76, 44, 82]})
    >>> village_probabilities(frame, 2).round(4).tolist()
    [0.5714, 0.5714, 0.2857, 0.5714]
    """
    check_frame(frame)
    frame = frame.reset_index(drop=True)
    x, labels, want = first_stage_plan(frame, n_villages, size_column, strata, groups)
    if labels is None:
        return pps_inclusion_probabilities(x, want[""])
    pi = np.zeros(len(x))
    for key, n in want.items():
        rows = labels == key
        pi[rows] = pps_inclusion_probabilities(x[rows], n)
    return pi


def _normalize_types(values: pd.Series) -> pd.Series:
    """Household types as English codes; Chinese labels accepted (schema.HOUSEHOLD_TYPES)."""
    mapping = {code: code for code in HOUSEHOLD_TYPES}
    for code, labels in HOUSEHOLD_TYPES.items():
        for label in labels:
            mapping[label] = code
    # Map the few distinct labels, not every row.
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    known = np.array([mapping.get(str(u).strip()) for u in uniques], dtype=object)
    out = pd.Series(known[codes], index=values.index, dtype=object)
    if out.isna().any():
        r = int(np.flatnonzero(out.isna().to_numpy())[0])
        raise EvalkitError(
            f"households row {r + 1}, column 'household_type': {values.iloc[r]!r}; expected "
            "one of " + ", ".join(mapping))
    return out


@dataclass(frozen=True)
class Listing:
    """A household listing prepared once for repeated second-stage draws.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"township": ["T1"], "village": ["V1"]})
    >>> households = pd.DataFrame({"village": ["V1", "V1"], "household_id": ["a", "b"],
    ...                            "household_type": ["exited", "not_exited"]})
    >>> listing = prepare_listing(households, frame, {"registered": 1})
    >>> listing.groups, listing.village_count.tolist()
    (('registered',), [2])
    """

    data: pd.DataFrame  # sorted by village code, group code, household_id
    village_code: np.ndarray  # position of the household's village in the frame
    group_code: np.ndarray
    cell_start: np.ndarray  # first row of each (village, group) cell, per row
    cell_size: np.ndarray  # N_vg, per row
    groups: tuple[str, ...]
    village_start: np.ndarray  # first row of each frame village (rows are sorted by village)
    village_count: np.ndarray  # rows of each frame village


def prepare_listing(households: pd.DataFrame, frame: pd.DataFrame,
                     per_village: Mapping[str, int]) -> Listing:
    """Check a household listing and sort it once for repeated second-stage draws.

    Parameters
    ----------
    households
        One row per listed household: ``village``, ``household_id``, ``household_type``
        (English codes or the codebook's Chinese labels). Identifying columns (names, ID
        numbers, phones) and ``township`` are dropped; the frame's township is used.
    frame
        The village frame (``township``, ``village``); every listed village must be in it.
    per_village
        The quota per household group (:func:`~evalkit.sampling.frame.household_groups`);
        households of types no group covers are left out.

    Returns
    -------
    Listing
        The listing sorted by village, group and household id, with each household's
        (village, group) cell and its size ``N_vg``.

    Raises
    ------
    EvalkitError
        One line naming the row and column of a duplicated household id, an unknown village
        or household type.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"township": ["T1"], "village": ["V1"]})
    >>> households = pd.DataFrame({"village": ["V1"] * 3, "household_id": ["h3", "h1", "h2"],
    ...                            "household_type": ["exited", "nonregistered", "已脱贫"]})
    >>> listing = prepare_listing(households, frame, {"registered": 1})
    >>> listing.data["household_id"].tolist(), listing.cell_size.tolist()
    (['h2', 'h3'], [2, 2])
    """
    if not isinstance(households, pd.DataFrame) or len(households) == 0:
        raise EvalkitError("households: expected a non-empty household listing")
    require_columns(households, ["village", "household_id", "household_type"], "households")
    quota = household_groups(per_village)
    dup = households["household_id"].duplicated()
    if dup.any():
        r = int(np.flatnonzero(dup.to_numpy())[0])
        raise EvalkitError(
            f"households row {r + 1}, column 'household_id': "
            f"{households['household_id'].iloc[r]!r} appears twice; expected unique ids")
    drop = [c for c in households.columns if c in IDENTIFYING_COLUMNS]
    hh = households.drop(columns=drop + (["township"] if "township" in households else []))
    hh = hh.reset_index(drop=True)
    hh["household_type"] = _normalize_types(hh["household_type"])
    vcode = pd.Index(frame["village"]).get_indexer(hh["village"])
    if (vcode < 0).any():
        r = int(np.flatnonzero(vcode < 0)[0])
        raise EvalkitError(
            f"households row {r + 1}, column 'village': {hh['village'].iloc[r]!r} is not in "
            "the frame")
    type_group = {t: i for i, g in enumerate(quota) for t in HOUSEHOLD_GROUPS[g]}
    gcode = np.array([type_group.get(t, -1) for t in HOUSEHOLD_TYPES])[
        pd.Index(list(HOUSEHOLD_TYPES)).get_indexer(hh["household_type"])]
    keep = gcode >= 0
    hh = hh.loc[keep]
    v = vcode[keep].astype(np.int64)
    g = gcode[keep].astype(np.int64)
    ids = hh["household_id"].astype(str).to_numpy()
    sort = np.lexsort((ids, g, v))
    hh = hh.iloc[sort].reset_index(drop=True)
    v, g = v[sort], g[sort]
    cell = v * len(quota) + g
    new_cell = np.concatenate([[True], cell[1:] != cell[:-1]])
    starts = np.flatnonzero(new_cell)
    sizes = np.diff(np.concatenate([starts, [len(cell)]]))
    cell_id = np.cumsum(new_cell) - 1
    township = frame["township"].to_numpy()[v]
    hh.insert(0, "township", township)
    village_count = np.bincount(v, minlength=len(frame))
    village_start = np.cumsum(village_count) - village_count
    return Listing(data=hh, village_code=v, group_code=g, cell_start=starts[cell_id],
                    cell_size=sizes[cell_id], groups=tuple(quota),
                    village_start=village_start, village_count=village_count)


def cell_quotas(N: np.ndarray, base: np.ndarray, fill: bool) -> np.ndarray:
    """Households to take per (village, group) cell: the group quota, or with ``fill`` the
    quota plus the shortfall of the village's other groups, given to groups with households
    to spare in the order of ``per_village`` (so a village short of registered households
    still yields its full number of households). Deterministic given the counts, so the
    second-stage probabilities ``min(k, N) / N`` stay known.

    Examples
    --------
    Two villages, two groups of quota 3: the first village has only 1 household of group 0,
    so with ``fill`` its group 1 takes 2 more:

    >>> import numpy as np
    >>> N = np.array([[1.0, 10.0], [8.0, 8.0]])
    >>> cell_quotas(N, np.array([3.0, 3.0]), fill=False).tolist()
    [[3.0, 3.0], [3.0, 3.0]]
    >>> cell_quotas(N, np.array([3.0, 3.0]), fill=True).tolist()
    [[3.0, 5.0], [3.0, 3.0]]
    """
    k = np.broadcast_to(base, N.shape).astype(float).copy()
    if not fill:
        return k
    remaining = np.clip(k - N, 0, None).sum(axis=1)
    for g in range(N.shape[1]):
        extra = np.minimum(np.clip(N[:, g] - k[:, g], 0, None), remaining)
        k[:, g] += extra
        remaining -= extra
    return k


def draw_households(listing: Listing, villages: pd.DataFrame, village_codes: np.ndarray,
                     per_village: Mapping[str, int], rng: np.random.Generator,
                     fill: bool = False, reserves: int = 0) -> pd.DataFrame:
    """The second stage on a prepared listing: in each selected village and household group,
    a simple random sample without replacement of ``k`` households (Cochran 1977, sec. 11.9).

    ``k`` is the group's quota, or with ``fill`` the quota plus the village's shortfall in other
    groups (:func:`cell_quotas`). A cell with ``N_vg <= k`` households is taken whole. Each
    household carries ``household_prob = min(k, N_vg) / N_vg``, ``incl_prob = village_prob *
    household_prob`` and ``weight = 1 / incl_prob`` (Horvitz-Thompson).

    Parameters
    ----------
    listing
        From :func:`prepare_listing`.
    villages
        The selected villages (:func:`select_villages`), with ``village`` and ``village_prob``
        and, when stratified, ``stratum``.
    village_codes
        Each selected village's row in the frame (:func:`frame_codes`).
    per_village
        The quota per household group, in the listing's group order.
    rng
        The random generator: the same generator state gives the same sample.
    fill
        Make up a group's shortfall from the village's other groups.
    reserves
        Also keep the next ``reserves`` households of each cell, in the same random order, as
        its reserve list (column ``reserve_order``: 0 = sampled, 1, 2, ... = reserves); the
        sample itself is unchanged.

    Returns
    -------
    pandas.DataFrame
        One row per drawn household: the listing's columns, ``stratum`` when the villages
        have one, ``village_prob``, ``household_prob``, ``incl_prob``, ``weight`` (and
        ``reserve_order``).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"township": ["T1"], "village": ["V1"]})
    >>> households = pd.DataFrame({"village": ["V1"] * 4,
    ...                            "household_id": ["h1", "h2", "h3", "h4"],
    ...                            "household_type": ["exited"] * 4})
    >>> listing = prepare_listing(households, frame, {"registered": 2})
    >>> villages = pd.DataFrame({"village": ["V1"], "village_prob": [0.5]})
    >>> sample = draw_households(listing, villages, frame_codes(frame, villages),
    ...                          {"registered": 2}, np.random.default_rng(1))
    >>> sample[["household_prob", "incl_prob", "weight"]].iloc[0].tolist()
    [0.5, 0.25, 4.0]
    """
    quota = np.array([per_village[g] for g in listing.groups], dtype=float)
    count = listing.village_count[village_codes]
    if np.any(count == 0):
        name = villages["village"].iloc[int(np.flatnonzero(count == 0)[0])]
        raise EvalkitError(
            f"households: selected village {name!r} has no households of the groups "
            f"{', '.join(listing.groups)} in the listing")
    # The listing's rows of the selected villages, from their contiguous blocks.
    vpos = np.repeat(np.arange(len(village_codes)), count)
    rows = (np.repeat(listing.village_start[village_codes] - np.cumsum(count) + count, count)
            + np.arange(int(count.sum())))
    group = listing.group_code[rows]
    N = np.zeros((len(village_codes), len(quota)))
    N[vpos, group] = listing.cell_size[rows]
    k_cell = cell_quotas(N, quota, fill)
    # SRS without replacement within each (village, group) cell: a uniform key per
    # household, keep the k smallest (the rows are already grouped by cell).
    key = rng.random(len(rows))
    cell_start = listing.cell_start[rows]
    # Sort by cell, then by key: one float sort is several times faster than lexsort.
    order = np.argsort(cell_start + key, kind="stable")
    rows, cell_start, vpos, group = rows[order], cell_start[order], vpos[order], group[order]
    first = np.concatenate([[True], cell_start[1:] != cell_start[:-1]])
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(rows)), 0))
    rank = np.arange(len(rows)) - run_start
    # With ``reserves``, the next households in the same random order of each cell are
    # kept as its reserve list (reserve_order 1, 2, ...; 0 = sampled): the sample itself
    # is the same as without reserves.
    take = rank < k_cell[vpos, group] + reserves
    keep = np.argsort(rows[take], kind="stable")
    reserve_order = np.maximum(rank[take] - k_cell[vpos, group][take] + 1, 0)[keep]
    rows, vpos, group = rows[take][keep], vpos[take][keep], group[take][keep]
    n_cell = listing.cell_size[rows]
    pi_household = np.minimum(k_cell[vpos, group], n_cell) / n_cell
    sample = listing.data.iloc[rows].reset_index(drop=True)
    village_prob = villages["village_prob"].to_numpy()[vpos]
    if "stratum" in villages.columns:
        sample.insert(1, "stratum", villages["stratum"].to_numpy()[vpos])
    sample["village_prob"] = village_prob
    sample["household_prob"] = pi_household
    sample["incl_prob"] = village_prob * pi_household
    sample["weight"] = 1.0 / sample["incl_prob"].to_numpy()
    if reserves:
        sample["reserve_order"] = reserve_order.astype(np.int64)
    return sample


def select_households(villages: pd.DataFrame, households: pd.DataFrame, frame: pd.DataFrame,
                      per_village: Mapping[str, int], rng: int | np.random.Generator,
                      fill: bool = False) -> pd.DataFrame:
    """Second stage: SRS of households within each selected village and household group.

    ``villages`` is the output of :func:`select_villages`; ``households`` the listing of
    (at least) those villages. ``per_village`` gives the quota per group (keys of
    :data:`HOUSEHOLD_GROUPS`); a cell with fewer households is taken whole, and with
    ``fill=True`` the shortfall is taken from the village's other groups (the practice of
    a fixed number of households per village, see :func:`cell_quotas`).
    ``household_prob = min(k, N_vg) / N_vg``, ``incl_prob = village_prob * household_prob``,
    ``weight = 1 / incl_prob``.
    Identifying columns of the listing (names, ID numbers, phones) are dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"township": ["T1", "T1"], "village": ["V1", "V2"]})
    >>> households = pd.DataFrame({"village": ["V1"] * 4 + ["V2"] * 2,
    ...                            "household_id": ["a", "b", "c", "d", "e", "f"],
    ...                            "household_type": ["exited"] * 6})
    >>> villages = pd.DataFrame({"village": ["V1", "V2"], "village_prob": [0.5, 0.25]})
    >>> sample = select_households(villages, households, frame, {"registered": 2}, rng=4)
    >>> sample[["village", "household_prob", "weight"]]
      village  household_prob  weight
    0      V1             0.5     4.0
    1      V1             0.5     4.0
    2      V2             1.0     4.0
    3      V2             1.0     4.0
    """
    check_frame(frame)
    gen = as_generator(rng)
    listing = prepare_listing(households, frame.reset_index(drop=True), per_village)
    codes = frame_codes(frame, villages)
    return draw_households(listing, villages, codes, household_groups(per_village), gen, fill)


def frame_codes(frame: pd.DataFrame, villages: pd.DataFrame) -> np.ndarray:
    """Each selected village's row number in ``frame``, or a one-line error naming a village
    the frame does not have.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"village": ["V1", "V2", "V3"]})
    >>> frame_codes(frame, pd.DataFrame({"village": ["V3", "V1"]}))
    array([2, 0])
    """
    codes = pd.Index(frame["village"]).get_indexer(villages["village"])
    if (codes < 0).any():
        raise EvalkitError(
            f"villages: {villages['village'].iloc[int(np.flatnonzero(codes < 0)[0])]!r} is "
            "not in the frame")
    return codes.astype(np.int64)


def draw_two_stage(
    frame: pd.DataFrame,
    households: pd.DataFrame,
    n_villages: int | Mapping[str, int],
    per_village: Mapping[str, int],
    seed: int | np.random.Generator,
    size_column: str | Sequence[str] | None = None,
    *,
    strata: str | None = None,
    order: str = "given",
    fill: bool = False,
) -> pd.DataFrame:
    """The assessment's two-stage draw, reproducible from ``seed``.

    Stage 1: ``n_villages`` villages by systematic PPS on ``size_column``
    (:func:`select_villages`; certainty villages taken with probability 1). Stage 2: within
    each selected village, ``per_village[group]`` households of each group by SRS
    (:func:`select_households`), all of them when fewer exist (``fill=True``: topped up
    from the village's other groups).

    Returns one row per sampled household: township, village (stratum), household_id,
    household_type, the listing's other non-identifying columns, ``village_prob`` (first
    stage), ``household_prob`` (second stage, within village and group), ``incl_prob``
    (their product) and ``weight = 1 / incl_prob`` (schema names). Expected weight totals
    equal the frame's household counts (Horvitz and Thompson 1952); see
    :func:`weight_totals`.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"township": ["T1"] * 4, "village": ["V1", "V2", "V3", "V4"],
    ...     "hh_exited": [3, 2, 4, 1], "hh_not_exited": [0, 0, 0, 0],
    ...     "hh_nonregistered": [3, 4, 2, 5]})
    >>> households = pd.DataFrame({"village": np.repeat(frame["village"], 6).to_numpy(),
    ...     "household_id": [f"h{i}" for i in range(24)],
    ...     "household_type": ["exited"] * 3 + ["nonregistered"] * 3 + ["exited"] * 2
    ...     + ["nonregistered"] * 4 + ["exited"] * 4 + ["nonregistered"] * 2 + ["exited"]
    ...     + ["nonregistered"] * 5})
    >>> sample = draw_two_stage(frame, households, 2, {"registered": 1, "nonregistered": 1},
    ...                         seed=11)
    >>> sample[["village", "household_type", "incl_prob", "weight"]].round(4)
      village household_type  incl_prob  weight
    0      V1         exited     0.1667     6.0
    1      V1  nonregistered     0.1667     6.0
    2      V3         exited     0.1250     8.0
    3      V3  nonregistered     0.2500     4.0
    >>> float(sample["weight"].sum())
    24.0
    """
    gen = as_generator(seed)
    quota = household_groups(per_village)
    villages = select_villages(frame, n_villages, gen, size_column, strata=strata, order=order,
                               groups=tuple(quota))
    frame = frame.reset_index(drop=True)
    listing = prepare_listing(households, frame, quota)
    return draw_households(listing, villages, frame_codes(frame, villages), quota, gen,
                            fill)


def weight_totals(sample: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Weighted household counts by household type beside the frame's counts.

    One draw's weighted total is an unbiased (Horvitz-Thompson) estimate of the frame
    total, so the two agree in expectation; with the default size measure (households of
    the sampled groups) their sum agrees exactly in every draw.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"township": ["T1"] * 2, "village": ["V1", "V2"],
    ...     "hh_exited": [2, 2], "hh_not_exited": [0, 0], "hh_nonregistered": [2, 2]})
    >>> sample = pd.DataFrame({"village": ["V1", "V1"], "weight": [4.0, 4.0],
    ...                        "household_type": ["exited", "nonregistered"]})
    >>> weight_totals(sample, frame)
      household_type  frame_total  weighted_total  sampled  relative_difference
    0         exited            4             4.0        1                  0.0
    1  nonregistered            4             4.0        1                  0.0
    2            all            8             8.0        2                  0.0
    """
    require_columns(sample, ["household_type", "weight"], "sample")
    types = [t for t in FRAME_HOUSEHOLDS if t in set(sample["household_type"])]
    require_columns(frame, [FRAME_HOUSEHOLDS[t] for t in types], "frame")
    est = sample.groupby("household_type")["weight"].sum().reindex(types)
    truth = pd.Series({t: float(frame[FRAME_HOUSEHOLDS[t]].sum()) for t in types})
    out = pd.DataFrame({"household_type": types,
                        "frame_total": truth.to_numpy().astype(np.int64),
                        "weighted_total": est.to_numpy(), "sampled": sample[
                            "household_type"].value_counts().reindex(types).to_numpy()})
    total = pd.DataFrame({"household_type": ["all"],
                          "frame_total": [out["frame_total"].sum()],
                          "weighted_total": [out["weighted_total"].sum()],
                          "sampled": [out["sampled"].sum()]})
    out = pd.concat([out, total], ignore_index=True)
    out["relative_difference"] = out["weighted_total"] / out["frame_total"] - 1.0
    return out


def expected_sample(frame: pd.DataFrame, n_villages: int | Mapping[str, int],
                    per_village: Mapping[str, int],
                    size_column: str | Sequence[str] | None = None, *,
                    strata: str | None = None, fill: bool = False) -> pd.DataFrame:
    """Expected sampled households and people by household type under the planned design.

    Exact expectations from the frame's counts: a village enters with probability
    ``pi_v``; a group's quota ``k`` (topped up as in :func:`cell_quotas` with ``fill``)
    gives ``min(k, N_vg)`` households, of which type ``t``
    is expected to be the share ``N_vt / N_vg``; people by the type's mean household size
    in the village. ``per_village_mean`` divides by the number of villages. When villages
    hold fewer registered households than the quota, this is how many exited households the
    wrong-exit rate will actually rest on.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"township": ["T1"] * 4, "village": ["V1", "V2", "V3", "V4"],
    ...     "hh_exited": [10, 20, 5, 15], "hh_not_exited": [2, 4, 1, 3],
    ...     "hh_nonregistered": [88, 76, 44, 82]})
    >>> expected = expected_sample(frame, 2, {"registered": 5, "nonregistered": 5})
    >>> expected[["household_type", "households", "per_village_mean"]].round(3)
      household_type  households  per_village_mean
    0         exited       8.333             4.167
    1     not_exited       1.667             0.833
    2  nonregistered      10.000             5.000
    3            all      20.000            10.000
    """
    quota = household_groups(per_village)
    pi = village_probabilities(frame, n_villages, size_column, strata=strata,
                               groups=tuple(quota))
    n_total = sum(n_villages.values()) if isinstance(n_villages, Mapping) else n_villages
    counts = {}
    for g in quota:
        cols = [FRAME_HOUSEHOLDS[t] for t in HOUSEHOLD_GROUPS[g]]
        require_columns(frame, cols, "frame")
        counts[g] = frame[cols].to_numpy(dtype=float).sum(axis=1)
    N = np.column_stack([counts[g] for g in quota])
    k_cell = cell_quotas(N, np.array(list(quota.values()), dtype=float), fill)
    rows = []
    for j, g in enumerate(quota):
        types = HOUSEHOLD_GROUPS[g]
        N_g = N[:, j]
        taken = np.minimum(k_cell[:, j], N_g)
        for t in types:
            N_t = frame[FRAME_HOUSEHOLDS[t]].to_numpy(dtype=float)
            share = np.divide(N_t, N_g, out=np.zeros_like(N_t), where=N_g > 0)
            households = pi * taken * share
            if FRAME_PEOPLE[t] in frame.columns:
                size = np.divide(frame[FRAME_PEOPLE[t]].to_numpy(dtype=float), N_t,
                                 out=np.zeros_like(N_t), where=N_t > 0)
                people = float((households * size).sum())
            else:
                people = np.nan
            rows.append((t, float(households.sum()), people))
    out = pd.DataFrame(rows, columns=["household_type", "households", "people"])
    total = pd.DataFrame([("all", out["households"].sum(), out["people"].sum())],
                         columns=out.columns)
    out = pd.concat([out, total], ignore_index=True)
    out["per_village_mean"] = out["households"] / n_total
    return out


def village_summary(sample: pd.DataFrame) -> pd.DataFrame:
    """One row per sampled village: township, village, village_prob, sampled households by
    type and in all, and the range of the design weights.

    Examples
    --------
    >>> import pandas as pd
    >>> sample = pd.DataFrame({"township": ["T1", "T1", "T1"], "village": ["V1", "V1", "V2"],
    ...     "household_type": ["exited", "nonregistered", "exited"],
    ...     "village_prob": [0.5, 0.5, 0.2], "weight": [4.0, 6.0, 10.0]})
    >>> summary = village_summary(sample)
    >>> list(summary.columns)[:5]
    ['village', 'township', 'village_prob', 'exited', 'nonregistered']
    >>> summary[["village", "households", "weight_min", "weight_max"]]
      village  households  weight_min  weight_max
    0      V1           2         4.0         6.0
    1      V2           1        10.0        10.0
    """
    require_columns(sample, ["township", "village", "household_type", "village_prob", "weight"],
              "sample")
    counts = pd.crosstab(sample["village"], sample["household_type"])
    counts = counts.reindex(columns=[t for t in FRAME_HOUSEHOLDS if t in counts.columns])
    first = sample.groupby("village", sort=False)[["township", "village_prob"]].first()
    weights = sample.groupby("village", sort=False)["weight"].agg(["min", "max"])
    out = first.join(counts).join(weights.rename(columns={"min": "weight_min",
                                                          "max": "weight_max"}))
    out.insert(2 + counts.shape[1], "households", counts.sum(axis=1).reindex(out.index))
    return out.reset_index()
