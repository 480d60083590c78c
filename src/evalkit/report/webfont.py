"""The shipped CJK font, cut down to one page's characters and embedded as WOFF2.

A report page must look the same on every machine and print without smeared fake bold, so
its text does not rely on whatever system font exists: :func:`font_face_css` subsets
``fonts/EvalkitSansSC-Regular.otf`` (see :mod:`evalkit.report.fonts`) to exactly the characters of
the page, compresses it as WOFF2 and returns an ``@font-face`` rule with the font as a
``data:`` URI (offline). A Chinese policy page uses a few hundred distinct characters, so the
font adds about 100-200 kB. The face is Regular only: pages using it set
``font-synthesis: none`` and mark emphasis by size and colour, never by a synthesized bold.

The bytes are deterministic (same characters, same font file: same output), so notebook
outputs that carry them compare equal under nbval.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import re

from evalkit.report.fonts import FAMILY, FONT_PATH

_TAG = re.compile(r"<[^>]*>")
_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.S | re.I)


def page_characters(page: str) -> str:
    """The characters a reader sees in ``page``: text outside tags and style sheets,
    entities decoded, plus the digits and signs the number lines draw."""
    text = html.unescape(_TAG.sub(" ", _STYLE.sub(" ", page)))
    return "".join(sorted(set(text) | set("0123456789.%\u2013-+ ") - {"\n", "\t", "\r"}))


@functools.lru_cache(maxsize=8)
def woff2_subset(characters: str) -> bytes:
    """WOFF2 bytes of the shipped font holding only ``characters`` (and .notdef)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["kern", "palt", "vert"]
    options.hinting = False
    options.desubroutinize = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep copyright and licence records
    options.notdef_outline = True
    font = TTFont(str(FONT_PATH), lazy=False, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in characters])
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.flavor = "woff2"
    font.save(buffer)
    return buffer.getvalue()


def font_face_css(page: str) -> str:
    """An ``@font-face`` rule declaring :data:`evalkit.report.fonts.FAMILY` for ``page``'s text."""
    data = base64.b64encode(woff2_subset(page_characters(page))).decode("ascii")
    return (f'@font-face {{ font-family: "{FAMILY}"; font-style: normal; font-weight: 400; '
            f'font-display: block; src: url(data:font/woff2;base64,{data}) format("woff2"); }}')
