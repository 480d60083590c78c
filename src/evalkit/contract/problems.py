"""Problems found in an input file, each naming the file, row, column and what was expected, and
the report that gathers them (one line each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evalkit.contract.errors import ProblemsError
from evalkit.contract.privacy import mask_identifiers


# --------------------------------------------------------------------------------------
# problems and reports
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    ``row`` is the spreadsheet row (header = row 1, first data row = 2), or ``None`` for a
    problem with the whole file; ``column`` is ``None`` for a problem with a whole row or
    file; ``value`` is the offending cell as text (masked if it looks like an ID number or
    a phone number), or ``None``.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        text = ", ".join(where)
        if self.value is not None:
            text += f": value {self.value!r}"
        return f"{text}: expected {self.expected}"


@dataclass
class ValidationReport:
    """All problems found in one file (and in the frame it was checked against)."""

    file: str
    kind: str | None
    n_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """First line: ``FILE: N problems`` (or ``FILE: OK ...``); then one line per problem."""
        if self.ok:
            line = f"{self.file}: OK ({self.kind}, {self.n_rows} rows"
            if self.dropped_columns:
                line += f"; identifying columns dropped: {', '.join(self.dropped_columns)}"
            return line + ")"
        n = len(self.problems)
        head = f"{self.file}: {n} problem{'s' if n != 1 else ''}"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


def by_row(problems: list[Problem]) -> list[Problem]:
    """File-level problems first, then row by row (stable: column order within a row)."""
    return sorted(problems, key=lambda p: 0 if p.row is None else p.row)


def raise_if_problems(report: ValidationReport) -> None:
    if not report.ok:
        err = ProblemsError(report.summary())
        err.report = report  # type: ignore[attr-defined]
        raise err


def shown_value(value: Any) -> str:
    """The cell as a message may show it: ID- and phone-like digits masked, long text cut."""
    text = "" if value is None else str(value)
    text = mask_identifiers(text)
    return text if len(text) <= 40 else text[:37] + "..."
