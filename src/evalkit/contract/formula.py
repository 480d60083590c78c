"""Model formulas as data: evalkit's own small grammar, never evaluated as Python.

A params file's formula (``satisfaction.formula``) is user text. Formula libraries such as
formulaic evaluate parts of a formula as Python (``{...}``, ``I(...)``, any ``f(x)`` call,
attribute access), so handing them user text runs user code. Every formula is therefore
parsed here first, by a grammar that knows only what the assessment's models need
(Wilkinson and Rogers 1973 notation as in R's ``glm``)::

    formula := NAME "~" expr
    expr    := ["-"] term (("+" | "-") term)*
    term    := factor ((":" | "*") factor)*
    factor  := NAME | "C" "(" NAME ")" | "(" expr ")" | "0" | "1"

``NAME`` is a column name (letters, digits and ``_``, not starting with a digit; no Python
keyword, no name that starts with two underscores). ``C(column)`` marks a categorical
column. Anything else (braces, quotes, dots, calls of any other function, numbers other
than 0 and 1, ``**``, lambdas) is refused with a one-line message naming the term. With
``columns`` given, every name must be one of them, so nothing reaches a formula library
that it could resolve outside the data.

The text handed on (:attr:`ParsedFormula.text`) is rebuilt from the accepted tokens, so it
holds nothing the grammar did not accept.
"""

from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass

from evalkit.contract.errors import EvalkitError

__all__ = ["ParsedFormula", "parse_formula"]

_TOKEN = re.compile(r"\s*(?:(?P<name>[^\W\d]\w*)|(?P<number>\d+(?:\.\d*)?)|(?P<op>[~+\-*:()]))")
_MAX_LENGTH = 1000


@dataclass(frozen=True)
class ParsedFormula:
    """A formula that passed the grammar.

    ``response`` is the column left of ``~``; ``variables`` the right-hand side's column
    names in order of first appearance; ``categorical`` those written ``C(name)``;
    ``rhs`` the right-hand side rebuilt from its tokens; ``text`` the whole formula.
    """

    response: str
    rhs: str
    variables: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def text(self) -> str:
        return f"{self.response} ~ {self.rhs}"


class _Parser:
    def __init__(self, source: str, role: str) -> None:
        self.source = source
        self.role = role
        self.tokens: list[tuple[str, str, int]] = []  # (kind, text, offset)
        self.pos = 0

    # --- errors ---------------------------------------------------------------------
    def _term_at(self, offset: int) -> str:
        """The '+'-separated term of the source that holds ``offset``, for messages."""
        start = max(self.source.rfind(sep, 0, offset) for sep in "+~") + 1
        ends = [i for i in (self.source.find(sep, offset) for sep in "+~") if i >= 0]
        end = min(ends) if ends else len(self.source)
        term = self.source[start:end].strip() or self.source[offset:offset + 20].strip()
        if not term:
            return "(end of formula)"
        return term if len(term) <= 60 else term[:57] + "..."

    def fail(self, offset: int, why: str) -> EvalkitError:
        term = self._term_at(offset)
        shown = term if term.startswith("(end") else repr(term)
        return EvalkitError(
            f"{self.role}: term {shown} is not allowed ({why}); a formula "
            "may hold only column names, + - * : ( ), C(column), 0 and 1, e.g. "
            "'recognizes ~ nonpoor * water_at_door + dibao'"
        )

    # --- tokens ---------------------------------------------------------------------
    def tokenize(self) -> None:
        text, i = self.source, 0
        while i < len(text):
            if text[i:].strip() == "":
                break
            match = _TOKEN.match(text, i)
            if match is None:
                bad = text[i:].lstrip()[0]
                raise self.fail(i + len(text[i:]) - len(text[i:].lstrip()),
                                f"character {bad!r}")
            kind = match.lastgroup or "op"
            value = match.group(kind)
            offset = match.start(kind)
            if kind == "name" and (keyword.iskeyword(value) or value.startswith("__")):
                raise self.fail(offset, f"{value!r} is not a column name")
            if kind == "number" and value not in ("0", "1"):
                raise self.fail(offset, f"number {value}; only 0 and 1 (the intercept)")
            self.tokens.append((kind, value, offset))
            i = match.end()

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: str | None = None, kind: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise self.fail(len(self.source), "the formula ends too early")
        if (text is not None and token[1] != text) or (kind is not None and token[0] != kind):
            raise self.fail(token[2], f"expected {text or 'a column name'} here, "
                                      f"found {token[1]!r}")
        self.pos += 1
        return token

    # --- grammar --------------------------------------------------------------------
    def expr(self, out: list[str], names: list[str], cats: list[str]) -> None:
        token = self.peek()
        if token is not None and token[1] == "-":
            out.append(self.take("-")[1])
        self.term(out, names, cats)
        while (token := self.peek()) is not None and token[1] in "+-" and token[0] == "op":
            out.append(self.take()[1])
            self.term(out, names, cats)

    def term(self, out: list[str], names: list[str], cats: list[str]) -> None:
        self.factor(out, names, cats)
        while (token := self.peek()) is not None and token[1] in (":", "*"):
            out.append(self.take()[1])
            self.factor(out, names, cats)

    def factor(self, out: list[str], names: list[str], cats: list[str]) -> None:
        token = self.peek()
        if token is None:
            raise self.fail(len(self.source), "the formula ends too early")
        kind, value, offset = token
        if kind == "number":
            out.append(self.take()[1])
            return
        if value == "(":
            out.append(self.take("(")[1])
            self.expr(out, names, cats)
            out.append(self.take(")")[1])
            return
        if kind != "name":
            raise self.fail(offset, f"{value!r} where a column name belongs")
        self.take()
        following = self.peek()
        if following is not None and following[1] == "(":
            if value != "C":
                raise self.fail(offset, f"function {value}() is not allowed; only C(column)")
            self.take("(")
            inner = self.take(kind="name")[1]
            self.take(")")
            out.append(f"C({inner})")
            names.append(inner)
            cats.append(inner)
            return
        out.append(value)
        names.append(value)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def parse_formula(text: object, *, columns: Iterable[str] | None = None,
                  role: str = "formula") -> ParsedFormula:
    """Parse ``response ~ terms`` with evalkit's grammar (module docstring).

    ``columns``: when given, every name must be one of them (a misspelt one gets a "did
    you mean"). ``role`` starts every message (e.g. ``satisfaction.formula``). Raises
    :class:`~evalkit.contract.errors.EvalkitError` with one line naming the refused term.
    """
    if not isinstance(text, str) or not text.strip():
        raise EvalkitError(f"{role}: expected a formula 'response ~ terms', got {text!r:.60}")
    if len(text) > _MAX_LENGTH:
        raise EvalkitError(f"{role}: the formula has {len(text)} characters; expected at most "
                           f"{_MAX_LENGTH}")
    if text.count("~") != 1:
        raise EvalkitError(f"{role}: {text!r:.80} is not a formula 'response ~ terms' "
                           "(exactly one '~')")
    parser = _Parser(text, role)
    parser.tokenize()
    response_token = parser.take(kind="name")
    if (token := parser.peek()) is None or token[1] != "~":
        raise parser.fail(response_token[2] if token is None else token[2],
                          "the left of '~' must be one column name")
    parser.take("~")
    out: list[str] = []
    names: list[str] = []
    cats: list[str] = []
    parser.expr(out, names, cats)
    if (token := parser.peek()) is not None:
        raise parser.fail(token[2], f"unexpected {token[1]!r}")
    response = response_token[1]
    if columns is not None:
        known = list(dict.fromkeys(str(c) for c in columns))
        for name in (response, *names):
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise EvalkitError(f"{role}: column '{name}' is not in the data{hint}")
    rhs = " ".join(out).replace("( ", "(").replace(" )", ")").replace(" : ", ":")
    return ParsedFormula(response=response, rhs=rhs, variables=_unique(names),
                         categorical=_unique(cats))
