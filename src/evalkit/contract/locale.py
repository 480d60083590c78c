"""Every displayed word, in English and Chinese: the catalogues and how they are read.

The text lives in ``evalkit/resources/locale/<lang>.json``, one flat ``key -> template``
mapping per language with the same keys in each (``tests/test_i18n.py`` keeps them in step,
placeholders included). Templates use ``str.format`` fields such as ``{level}``.

Why the reader lives in the contract layer and not in ``report``: the words are part of
what evalkit promises its users (like the codebook), and the layers below ``report`` write
tables that carry displayed words (the ``label``/``label_zh`` columns of the indicator and
re-check tables, the field list's Chinese headers). Had the specs held keys only, each of
those tables would have needed the report layer, which they cannot import, or a second
copy of the words. So every layer reads the one catalogue through this module, and
:mod:`evalkit.report.i18n` adds number formatting on top of it. Only the standard library
is imported here, so ``evalkit run --check`` stays light.

Key families used outside the report: ``indicator.<key>.name`` (an indicator's name, see
:mod:`evalkit.assessment.indicators`), ``published.<key>.name`` (a published figure's
name, :mod:`evalkit.synth.published`), both read through :class:`Labelled`;
``field.col.<column>`` and ``field.sheet`` (the field and reserve lists' headers), ``index.*``
(the run's index page).
"""

from __future__ import annotations

import json
import string
from functools import cache
from importlib import resources
from typing import ClassVar

from evalkit.contract.errors import EvalkitError

LANGUAGES: tuple[str, ...] = ("en", "zh")


def check_lang(lang: str) -> str:
    """``lang`` itself when it is a supported language, else a one-line :class:`EvalkitError`."""
    if lang not in LANGUAGES:
        raise EvalkitError(f"lang {lang!r}: expected one of {', '.join(LANGUAGES)}")
    return lang


@cache
def catalog(lang: str) -> dict[str, str]:
    """The ``key -> template`` mapping of one language, read from the package's locale file."""
    check_lang(lang)
    locale = resources.files("evalkit").joinpath("resources", "locale")
    raw = locale.joinpath(f"{lang}.json").read_text("utf-8")
    return json.loads(raw)


def text(key: str, lang: str, **values: object) -> str:
    """The template ``key`` in ``lang`` with ``values`` filled in."""
    entries = catalog(lang)
    if key not in entries:
        raise EvalkitError(f"locale/{lang}.json: no text for key {key!r}")
    template = entries[key]
    try:
        return template.format(**values)
    except KeyError as missing:
        raise EvalkitError(
            f"locale/{lang}.json key {key!r}: placeholder {missing} was not given"
        ) from None


def has_text(key: str, lang: str) -> bool:
    """Whether ``key`` exists in ``lang`` (used for optional entries such as scenarios)."""
    return key in catalog(lang)


def placeholders(template: str) -> set[str]:
    """The ``{field}`` names of a template."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Labelled:
    """A thing whose displayed name is the catalogue entry ``<label_prefix>.<key>.name``.

    Mixed into the frozen dataclasses that hold a ``key`` (an indicator's spec, a published
    figure) so their names are read in one way: ``label_prefix`` is the key family
    (``indicator``, ``published``), ``key`` the instance's own key. The name is not held on
    the instance, so the catalogue stays the one copy of the words.
    """

    #: The catalogue key family, set by each subclass.
    label_prefix: ClassVar[str]
    #: The instance's key (a field of the dataclass that mixes this in).
    key: str

    def label(self, lang: str) -> str:
        """The name in ``lang`` (``en`` or ``zh``): ``text("<label_prefix>.<key>.name")``."""
        return text(f"{self.label_prefix}.{self.key}.name", lang)

    @property
    def label_en(self) -> str:
        """The English name (the tables' ``label``/``label_en`` column)."""
        return self.label("en")

    @property
    def label_zh(self) -> str:
        """The Chinese name (the tables' ``label_zh`` column)."""
        return self.label("zh")
