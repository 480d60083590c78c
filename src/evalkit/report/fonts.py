"""The CJK font evalkit ships for its charts, registered with matplotlib on import.

``fonts/EvalkitSansSC-Regular.otf`` is a subset of Noto Sans CJK SC (SIL Open Font License
1.1, licence text in ``fonts/OFL.txt``), made by ``tools/make_font_subset.py``: ASCII,
Latin-1, CJK punctuation, all 6,763 GB2312 hanzi and every character of evalkit's
translations. It is renamed "Evalkit Sans SC" so that matplotlib never confuses it with a
full Noto CJK installed on the system, and so that the subset respects the OFL's naming rule.

Importing this module adds the font to matplotlib's font manager (no root, no font cache
rebuild, nothing written to disk). Report figures draw inside :func:`context`, whose font
list puts the subset first and DejaVu Sans (matplotlib's own font) second, so a character
outside the subset falls back to DejaVu Sans instead of an empty box.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.contract.paths import RESOURCES_DIR

FAMILY = "Evalkit Sans SC"
FONT_FILE = "EvalkitSansSC-Regular.otf"
FONT_DIR = RESOURCES_DIR / "fonts"
FONT_PATH = FONT_DIR / FONT_FILE
LICENSE_PATH = FONT_DIR / "OFL.txt"
FALLBACK_FAMILY = "DejaVu Sans"


@functools.cache
def register() -> str:
    """Add the shipped font to matplotlib's font manager (once); return its family."""
    from matplotlib import font_manager

    if not FONT_PATH.is_file():
        from evalkit.contract.errors import EvalkitError

        raise EvalkitError(f"{FONT_PATH}: the packaged CJK font is missing; reinstall evalkit "
                           "or run tools/make_font_subset.py")
    known = {Path(f.fname).resolve() for f in font_manager.fontManager.ttflist}
    if FONT_PATH.resolve() not in known:
        font_manager.fontManager.addfont(str(FONT_PATH))
    return FAMILY


def rc() -> dict[str, Any]:
    """matplotlib settings that make text use the shipped font (and fall back per glyph)."""
    return {
        # Named families, not the generic "sans-serif": matplotlib falls back glyph by
        # glyph only along an explicit family list.
        "font.family": [FAMILY, FALLBACK_FAMILY],
        "axes.unicode_minus": True,  # U+2212 is in the subset
        "svg.fonttype": "path",  # SVG output carries outlines, not a font name
        "pdf.fonttype": 42,
    }


@contextlib.contextmanager
def context() -> Iterator[None]:
    """``with fonts.context(): ...`` draws with the shipped font, then restores rcParams."""
    import matplotlib

    register()
    with matplotlib.rc_context(rc()):
        yield


def characters() -> set[str]:
    """The characters the shipped font has glyphs for."""
    from fontTools.ttLib import TTFont

    with TTFont(str(FONT_PATH), lazy=True) as font:
        return {chr(c) for c in font.getBestCmap()}


if FONT_PATH.is_file():  # registered on import, as the report's figures expect
    register()
