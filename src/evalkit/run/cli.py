"""Command line: ``evalkit run PARAMS.yaml``, ``evalkit validate FILE``, ``evalkit synth``,
``evalkit draw PARAMS.yaml --stage villages|households``, ``evalkit province PARAMS.yaml``.

Every user-facing problem is an :class:`~evalkit.contract.errors.EvalkitError`; it is printed as one
line ``evalkit: error: <message>`` with no traceback. Exit codes: 0 success; 1 ``validate``
found problems in the data file; 2 an error (bad params file, a notebook that failed, bad
arguments: argparse also uses 2).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalkit.contract.errors import EvalkitError, ProblemsError, printable
from evalkit.contract.schema import DEFAULT_SEED
from evalkit.run import stopping
from evalkit.run.stopping import TerminatedError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2


def _check_data_files(data_paths: dict[str, Path],
                      design: dict[str, object] | None = None,
                      values: dict[str, Any] | None = None) -> Any:
    """Load the run's frame and survey and build its design before any kernel starts; return
    the loaded inputs (:class:`evalkit.assessment.inputs.RunInputs`), which the run then
    hands to its notebooks instead of loading them again.

    A bad data file then stops the run with the validation report (one problem a line,
    naming file, row, column, value and what was expected), and a design that cannot be
    built (a missing weights column, a lonely PSU) with its one-line reason, instead of
    failing inside every notebook. With the params ``values``, the satisfaction formula's
    column names and the interval method are checked against the data too.
    """
    from evalkit.assessment import inputs as assessment
    from evalkit.contract.formula import parse_formula
    from evalkit.survey.intervals import SRS_METHODS

    frame, survey = data_paths["data.frame"], data_paths["data.survey"]
    try:
        inputs = assessment.load_inputs({"frame": str(frame), "survey": str(survey)},
                                        design or {},
                                        calibration=(values or {}).get("calibration"),
                                        nonresponse=(values or {}).get("nonresponse"))
    except ProblemsError as exc:
        raise ProblemsError(f"the run's data files have problems; nothing was run\n{exc}"
                            ) from None
    except EvalkitError as exc:
        where = "" if str(exc).startswith(f"{survey.name}, ") else \
            f"{survey.name} with the params' design: "
        raise EvalkitError(f"{where}{exc}; nothing was run") from None
    if values is None:
        return inputs
    parse_formula(values["satisfaction"]["formula"], columns=inputs.survey.columns,
                  role=f"satisfaction.formula (columns of {survey.name})")
    method = values["ci_method"]  # the params reader spells it as evalkit does
    if method in SRS_METHODS and not inputs.design.is_simple_random_sample:
        raise EvalkitError(
            f"ci_method: {values['ci_method']} assumes a simple random sample, but the design "
            f"of {survey.name} has clusters, strata or unequal weights; use logit, "
            "likelihood, asin, beta, mean or xlogit; nothing was run")
    followup = values.get("followup")
    if followup:
        # The re-check survey: the same checks, against its frame and the first round.
        from evalkit.assessment import followup as followup_module

        recheck = {"survey": str(data_paths["followup.survey"]),
                   "frame": str(data_paths.get("followup.frame", frame))}
        try:
            followup_module.load_followup({"frame": str(frame), "survey": str(survey)},
                                          design or {}, recheck,
                                          calibration=values.get("calibration"),
                                          nonresponse=values.get("nonresponse"))
        except ProblemsError as exc:
            raise ProblemsError(f"the run's data files have problems; nothing was run\n{exc}"
                                ) from None
        except EvalkitError as exc:
            raise EvalkitError(f"{data_paths['followup.survey'].name} with the params' design "
                               f"block: {exc}; nothing was run") from None
    return inputs


def _cmd_run(args: argparse.Namespace) -> int:
    from evalkit.run import params, pipeline

    checked = params.load_params(args.params)
    inputs = _check_data_files(checked.data_paths, checked.values.get("design"), checked.values)
    if args.check:
        print(json.dumps(checked.values, indent=2, ensure_ascii=False))
        for key, path in checked.data_paths.items():
            print(f"{key}: {path}")
        print(f"{checked.source}: OK", file=sys.stderr)
        return EXIT_OK
    result = pipeline.run(
        checked,  # validated above: not parsed twice
        args.out,
        notebooks_dir=args.notebooks,
        workers=args.workers,
        progress=None if args.quiet else pipeline.stderr_progress,
        cell_timeout=args.cell_timeout,
        loaded_inputs=inputs,
    )
    print(result.run_dir / "index.html")
    return EXIT_OK


def _cmd_province(args: argparse.Namespace) -> int:
    from evalkit.run import pipeline, province

    if args.scheduler is not None and not args.scheduler.strip():  # not a LocalCluster
        raise EvalkitError("--scheduler: empty; give a scheduler address such as "
                           "tcp://host:8786, or leave the option out for a LocalCluster")
    result = province.run_province(
        args.params, args.out, workers=args.workers, scheduler=args.scheduler,
        tables_only=args.tables_only, notebooks_dir=args.notebooks,
        progress=None if args.quiet else pipeline.stderr_progress, timeout=args.timeout,
    )
    print(result.run_dir / "index.html")
    if result.failed:
        shown = result.failed[:province.MAX_NAMED]
        names = ", ".join(f"{s.name} ({s.error})" for s in shown)
        more = len(result.failed) - len(shown)
        raise EvalkitError(f"{len(result.failed)} of {len(result.statuses)} county runs failed "
                           "(run errors, not exit verdicts): "
                           f"{names}" + (f"; and {more} more (tables/province_status.csv)"
                                         if more else ""))
    return EXIT_OK


def _cmd_refresh(args: argparse.Namespace) -> int:
    from evalkit.run import pipeline
    from evalkit.run.province import NOTEBOOK
    from evalkit.run.refresh import refresh_notebooks

    refresh_notebooks(args.notebooks, (pipeline.START_HERE_NOTEBOOK, *pipeline.ALL_NOTEBOOKS,
                                       NOTEBOOK),
                      progress=None if args.quiet else pipeline.stderr_progress)
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from evalkit.contract import data  # imported here: pandas is slow to load for `run --check`
    from evalkit.contract.paths import PACKAGED_PREFIX, resolve_data_path

    def given(spec: str) -> Path:
        # `packaged:NAME` as in params (a file shipped with evalkit); else the path as typed.
        return (resolve_data_path(spec, Path.cwd()) if spec.startswith(PACKAGED_PREFIX)
                else Path(spec))

    path = given(args.file)
    frame_path = given(args.frame) if args.frame else None
    if args.listing:
        from evalkit.assessment.listing import validate_listing

        report = validate_listing(path, frame_path)
        print(report.summary())
        return EXIT_OK if report.ok else EXIT_INVALID
    report = data.validate_file(path, frame_path=frame_path)
    if not report.ok:
        print(report.summary())
        return EXIT_INVALID
    if report.kind == "survey":
        # The run's own design check (design block of --params, else the default one), so
        # that a file validate accepts is one that run accepts.
        from evalkit.assessment import inputs as assessment
        from evalkit.run import params

        design = (params.load_params(args.params, check_files=False).values["design"]
                  if args.params else params.DEFAULTS["design"])
        frame = data.load_frame(frame_path) if frame_path is not None else None
        survey = data.load_survey(path, frame=frame)
        try:
            assessment.checked_design(survey, dict(design), frame, path.name)
        except EvalkitError as exc:
            where = "" if str(exc).startswith(f"{path.name}, ") else f"{path.name}, design: "
            print(f"{path.name}: 1 problem\n  {where}{exc}")
            return EXIT_INVALID
    print(report.summary())
    return EXIT_OK


def _cmd_synth(args: argparse.Namespace) -> int:
    from evalkit import synth
    run_it = None  # the command that runs what was written, when there is one
    if args.listing:
        if not args.out:
            raise EvalkitError("synth --listing needs --out DIR (the folder to write into)")
        from evalkit.assessment.listing import write_synthetic_listing

        print(write_synthetic_listing(Path(args.out)))
        return EXIT_OK
    if args.province:
        if not args.out:
            raise EvalkitError("synth --province needs --out DIR (the folder to write into)")
        written = synth.write_province_data(Path(args.out), seed=args.seed,
                                            n_counties=args.province)
        items = [p for county in written.values() for p in county.values()]
        params_file = Path(args.out) / "province.yaml"
        params_file.write_text(
            f"# {args.province} synthetic counties written by `evalkit synth --province "
            f"{args.province} --seed {args.seed}`\n"
            f"run_name: province-{args.seed}\nprovince:\n"
            f"  name: synthetic province {args.seed}\n"
            "  counties_dir: .              # the county folders beside this file\n",
            encoding="utf-8")
        items.append(params_file)
        run_it = f"evalkit province {params_file}"
    elif args.followup:
        from evalkit.assessment import recheck
        new_county = args.seed != DEFAULT_SEED
        if new_county and not args.out:
            raise EvalkitError("synth --followup --seed needs --out DIR (the folder to write "
                               "the new county and its re-check into)")
        if args.out:
            items = list(recheck.write_recheck(
                Path(args.out), county_seed=args.seed if new_county else None).values())
            params_file = next((p for p in items if Path(p).name == "params.yaml"), None)
            if params_file is not None:
                run_it = f"evalkit run {params_file}"
        else:
            items = list(recheck.write_packaged_recheck().values())
    elif args.half_registered:
        if not args.out:
            raise EvalkitError("synth --half-registered needs --out DIR (the packaged default "
                               "county stays as it is)")
        county = synth.generate_county(synth.DEFAULT_SEED, synth.HALF_REGISTERED)
        items = list(synth.write_county(county, Path(args.out)).values())
    else:
        items = list(synth.write_default_data(Path(args.out) if args.out else None).values())
    for item in items:
        print(item)
    if run_it is not None:
        print(f"evalkit: to run it: {run_it}", file=sys.stderr)
    return EXIT_OK


def _cmd_draw(args: argparse.Namespace) -> int:
    from evalkit.assessment.listing import write_draw
    from evalkit.contract.data import load_frame
    from evalkit.run import params

    checked = params.load_params(args.params)
    frame = load_frame(checked.data_paths["data.frame"])
    listing = checked.data_paths.get("data.listing")
    def progress(message: str) -> None:  # as pipeline.stderr_progress, without its imports
        print(f"evalkit: {printable(message)}", file=sys.stderr, flush=True)

    for path in write_draw(checked.values, frame, args.stage, Path(args.out), listing,
                           progress=None if args.quiet else progress):
        print(path)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evalkit",
        description="Replicate and rerun the third-party poverty-exit assessment.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run", help="run the assessment notebooks on a params file and render the reports",
        description="Validate PARAMS, execute the notebooks with papermill and write "
        "OUT/<run_name>/ (executed notebooks, HTML reports, tables, manifest.json).",
    )
    run.add_argument("params", type=Path, metavar="PARAMS.yaml", help="params file")
    run.add_argument("--out", type=Path, default=Path("outputs"), metavar="DIR",
                     help="output folder (default: ./outputs)")
    run.add_argument("--notebooks", type=Path, default=None, metavar="DIR",
                     help="folder holding the notebooks (default: the project's notebooks/)")
    run.add_argument("--workers", type=int, default=None, metavar="N",
                     help="notebooks run at once before the summary (default: all)")
    run.add_argument("--cell-timeout", type=int, default=None, metavar="SECONDS",
                     help="fail a cell that runs longer than this (default: no limit)")
    run.add_argument("--check", action="store_true",
                     help="only validate the params file and print the completed params")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    run.set_defaults(func=_cmd_run)

    prov = sub.add_parser(
        "province", help="assess every county of a province on Dask and rank them",
        description="Run each county of a province params file as one Dask task (an embedded "
        "LocalCluster, or --scheduler), then write OUT/<run_name>/: counties/<county>/, "
        "tables/province_ranking.csv and the province page index.html.",
    )
    prov.add_argument("params", type=Path, metavar="PARAMS.yaml", help="province params file")
    prov.add_argument("--out", type=Path, default=Path("outputs"), metavar="DIR",
                      help="output folder (default: ./outputs)")
    prov.add_argument("--workers", type=int, default=None, metavar="N",
                      help="LocalCluster workers (default: the number of cores)")
    prov.add_argument("--scheduler", default=None, metavar="ADDRESS",
                      help="use an existing Dask cluster, e.g. tcp://host:8786")
    prov.add_argument("--tables-only", action="store_true",
                      help="estimates and ranking only: no kernels, no HTML per county")
    prov.add_argument("--notebooks", type=Path, default=None, metavar="DIR",
                      help="folder holding the notebooks (default: the project's notebooks/)")
    prov.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                      help="longest wait on the network: connecting to the scheduler and "
                           "each request to it (default: $EVALKIT_NETWORK_TIMEOUT, else 30)")
    prov.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    prov.set_defaults(func=_cmd_province)

    refresh = sub.add_parser(
        "refresh", help="re-execute the committed notebooks in place (default params)",
    )
    refresh.add_argument("--notebooks", type=Path, default=None, metavar="DIR")
    refresh.add_argument("-q", "--quiet", action="store_true")
    refresh.set_defaults(func=_cmd_refresh)

    validate = sub.add_parser("validate", help="check a frame or survey data file")
    validate.add_argument("file", metavar="FILE")
    validate.add_argument("--frame", metavar="FRAME",
                          help="also check that the survey's villages are in this frame")
    validate.add_argument("--listing", action="store_true",
                          help="FILE is a household registration listing (docs/codebook.md)")
    validate.add_argument("--params", metavar="PARAMS.yaml", default=None,
                          help="check the survey against this params file's design block "
                               "(default: the default design, villages as PSUs, column "
                               "weight)")
    validate.set_defaults(func=_cmd_validate)

    synth = sub.add_parser(
        "synth", help="regenerate the embedded synthetic county (byte for byte), or a province",
    )
    synth.add_argument("--out", metavar="DIR", default=None,
                       help="write here instead of the package's data folder")
    synth.add_argument("--province", metavar="N", type=int, default=0,
                       help="write N synthetic counties with different true rates")
    synth.add_argument("--half-registered", action="store_true",
                       help="the variant whose sample is half registered (villages by PPS "
                            "on registered households)")
    synth.add_argument("--followup", action="store_true",
                       help="a re-check sample of the default county after the "
                            "rectification (survey.csv, truth.json with the true changes); "
                            "without --out, the packaged recheck_survey.csv and "
                            "recheck_truth.json; with --seed, a new county and its re-check "
                            "with a params.yaml ready to run")
    synth.add_argument("--seed", type=int, default=DEFAULT_SEED,
                       help="seed of the province, or of the new county of --followup (the "
                            "default county has a fixed seed)")
    synth.add_argument("--listing", action="store_true",
                       help="write the default county's full household registration listing")
    synth.set_defaults(func=_cmd_synth)

    draw = sub.add_parser(
        "draw", help="draw the sample in two phases: villages, then households",
        description="Phase villages writes OUT/villages.csv (selected villages, inclusion "
        "probabilities); phase households draws from the params' data.listing and writes "
        "the field list (CSV, XLSX), the reserve list and design.csv. Seeded by the "
        "params' seed: a rerun writes the same bytes.",
    )
    draw.add_argument("params", type=Path, metavar="PARAMS.yaml", help="params file")
    draw.add_argument("--stage", required=True, choices=("villages", "households"))
    draw.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    draw.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    draw.set_defaults(func=_cmd_draw)
    return parser


def _skip_slow_optional_imports() -> None:
    """Keep jsonschema (imported by nbformat) from compiling an IRI grammar we never use.

    jsonschema imports ``rfc3987_syntax`` when it is installed (it comes with jupyterlab) to
    check the "iri" string format, and building its parser takes about a second, paid on
    every ``evalkit run``. Notebook schemas do not use that format; jsonschema skips the
    check when the import fails.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _mute_stopping_kernels() -> None:
    """After a stop signal, the kernels' message loop may log a traceback from a callback it
    was running (seen under load): the stop is reported in one line, so mute it."""
    for name in ("tornado.general", "tornado.application", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _raise_terminated(signum: int, _frame: object) -> None:
    _mute_stopping_kernels()
    stopping.request(signum)
    raise TerminatedError(signum)


def _raise_interrupted(signum: int, _frame: object) -> None:
    _mute_stopping_kernels()
    stopping.request(signum)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evalkit`` command; returns the exit code."""
    _skip_slow_optional_imports()
    stopping.reset()
    if threading.current_thread() is threading.main_thread():
        sys.unraisablehook = stopping.quiet_unraisable
        # A batch system or `timeout` stops a run with SIGTERM; it gets Ctrl-C's clean stop.
        signal.signal(signal.SIGTERM, _raise_terminated)
        if hasattr(signal, "SIGHUP"):  # the terminal closed: the same clean stop
            signal.signal(signal.SIGHUP, _raise_terminated)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _raise_interrupted)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except EvalkitError as exc:
        from evalkit.contract.privacy import mask_identifiers

        # Last guards: no phone or ID number is printed, no control character reaches the
        # terminal raw (a folder named "x\x1b[31m").
        text = printable(mask_identifiers(str(exc)))
        if isinstance(exc, ProblemsError):  # a report: one problem a line
            lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
        else:
            lines = [" ".join(text.split())]
        print(f"evalkit: error: {lines[0]}", file=sys.stderr)
        for line in lines[1:]:
            print(f"  {line}", file=sys.stderr)
        return EXIT_ERROR
    except TerminatedError as exc:
        print(f"evalkit: terminated ({signal.Signals(exc.signum).name})", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("evalkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
