"""Make the CJK font subset that evalkit ships for its charts (``src/evalkit/fonts/``).

Chinese text in matplotlib figures needs a font that travels with the package: a user's
``make report`` must not need root to install one. Noto Sans CJK SC (SIL Open Font Licence
1.1) is complete but 16 MB per face; the report needs only

* printable ASCII and Latin-1 (numbers, English labels, the % sign, the minus sign),
* general punctuation and the CJK symbols and full-width forms Chinese text uses,
* the GB2312 row-1 symbols and all its 6,763 hanzi, level 1 (一级汉字) and level 2
  (二级汉字), so that township and village names render: place names use many level-2
  characters (垭, 坳, 峁, 塬, 岙 ...),
* every character of evalkit's translations (``evalkit/locale/*.json``) and indicator names,
  whether or not it is among the above.

The subset is renamed (the OFL forbids a Modified Version to use a Reserved Font Name, and
"Noto" is a trademark), keeps the copyright and licence records of the original, drops
hinting and the layout features the report never uses, and is written without a new
timestamp so that rerunning this script on the same source gives the same bytes.

Usage (from the repository root, with the project venv)::

    .venv/bin/python tools/make_font_subset.py \
        [--source /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]

Debian/Ubuntu ship the source in the ``fonts-noto-cjk`` package; the upstream release is
https://github.com/notofonts/noto-cjk (Sans, OTC or SubsetOTF/SC). The script prints the
size, glyph and character counts, and writes them with the source's SHA-256 into
``src/evalkit/fonts/SUBSET.txt``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from io import BytesIO
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from evalkit.report.fonts import FAMILY, FONT_DIR, FONT_FILE  # noqa: E402
from evalkit.report.i18n import all_characters  # noqa: E402

DEFAULT_SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_FAMILY = "Noto Sans CJK SC"
POSTSCRIPT_NAME = FAMILY.replace(" ", "") + "-Regular"

# Unicode ranges kept whole (inclusive).
RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement: ± × ÷ · ° and accented letters
    (0x2010, 0x2027),  # dashes, quotes, bullets, ellipsis
    (0x2030, 0x203B),  # per mille, primes, reference mark
    (0x2190, 0x2193),  # arrows
    (0x2212, 0x2212),  # minus sign (matplotlib's negative tick labels)
    (0x2264, 0x2265),  # <= >=
    (0x25A0, 0x25CF),  # squares, triangles, circles used as markers
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF01, 0xFF5E),  # full-width forms
    (0xFFE0, 0xFFE5),  # full-width currency signs
)


def gb2312_characters(first_row: int, last_row: int) -> set[str]:
    """The characters of GB2312 rows ``first_row..last_row`` (16-55 level-1, 56-87 level-2)."""
    chars: set[str] = set()
    for row in range(first_row, last_row + 1):
        for cell in range(1, 95):
            try:
                chars.add(bytes([0xA0 + row, 0xA0 + cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue  # unassigned positions (row 55 ends at cell 89)
    return chars


def wanted_characters() -> set[str]:
    chars = {chr(c) for lo, hi in RANGES for c in range(lo, hi + 1)}
    chars |= gb2312_characters(1, 1)  # symbols: 、。·ˉˇ¨〃々—～‖…''""〔〕〈〉《》...
    chars |= gb2312_characters(16, 87)  # level-1 and level-2 hanzi
    chars |= all_characters()
    return {c for c in chars if c.isprintable() or c == " "}


def source_font(path: Path) -> TTFont:
    if path.suffix.lower() in (".ttc", ".otc"):
        for font in TTCollection(str(path)).fonts:
            if font["name"].getDebugName(1) == SOURCE_FAMILY:
                return font
        raise SystemExit(f"{path}: no face named {SOURCE_FAMILY!r}")
    return TTFont(str(path))


def rename(font: TTFont, source_version: str) -> None:
    """New family name everywhere a user or matplotlib sees one; keep credits and licence."""
    name = font["name"]
    description = (
        f"Subset of {SOURCE_FAMILY} {source_version} (SIL Open Font License 1.1) made for "
        "evalkit by tools/make_font_subset.py: ASCII, Latin-1, CJK punctuation, GB2312 "
        "hanzi and the characters of evalkit's translations."
    )
    records = {
        1: FAMILY,
        2: "Regular",
        3: f"{POSTSCRIPT_NAME};evalkit-subset-of-{source_version}",
        4: f"{FAMILY} Regular",
        6: POSTSCRIPT_NAME,
        10: description,
    }
    for record in list(name.names):
        if record.nameID in (16, 17, 21, 22):  # typographic family names of the original
            name.removeNames(nameID=record.nameID)
    for name_id, value in records.items():
        name.removeNames(nameID=name_id)
        name.setName(value, name_id, 3, 1, 0x409)  # Windows, Unicode BMP, US English
        name.setName(value, name_id, 1, 0, 0)  # Macintosh, Roman, English
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [POSTSCRIPT_NAME]
        top = cff.topDictIndex[0]
        top.FullName = f"{FAMILY} Regular"
        top.FamilyName = FAMILY
        if hasattr(top, "CIDFontName"):
            top.CIDFontName = POSTSCRIPT_NAME


def make_subset(source: Path, dest: Path) -> dict[str, object]:
    font = source_font(source)
    source_version = font["name"].getDebugName(5).split(";")[0].replace("Version ", "")
    chars = wanted_characters()
    cmap = font.getBestCmap()
    missing = sorted(c for c in chars if ord(c) not in cmap and not c.isspace())
    translations_missing = sorted(c for c in all_characters() if ord(c) not in cmap
                                  and not c.isspace())
    if translations_missing:
        raise SystemExit(f"source font lacks translation characters: {translations_missing}")
    options = subset.Options()
    options.layout_features = ["kern", "vert", "vrt2", "fwid", "hwid", "halt", "palt"]
    options.hinting = False
    options.desubroutinize = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    options.name_languages = [0x409, 0]
    options.notdef_outline = True
    options.recalc_timestamp = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars if ord(c) in cmap])
    subsetter.subset(font)
    rename(font, source_version)
    font.recalcTimestamp = False
    buffer = BytesIO()
    font.save(buffer)
    dest.write_bytes(buffer.getvalue())
    kept = TTFont(str(dest))
    info = {
        "source": str(source),
        "source_face": SOURCE_FAMILY,
        "source_version": source_version,
        "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "family": FAMILY,
        "file": dest.name,
        "bytes": dest.stat().st_size,
        "glyphs": kept["maxp"].numGlyphs,
        "characters": len(kept.getBestCmap()),
        "gb2312_hanzi": len(gb2312_characters(16, 87)),
        "requested_but_absent_from_source": "".join(missing),
    }
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args(argv)
    if not args.source.is_file():
        raise SystemExit(f"{args.source}: not found (Debian/Ubuntu: apt-get install "
                         "fonts-noto-cjk)")
    FONT_DIR.mkdir(parents=True, exist_ok=True)
    info = make_subset(args.source, FONT_DIR / FONT_FILE)
    (FONT_DIR / "SUBSET.txt").write_text(
        "# How evalkit's font subset was made (tools/make_font_subset.py).\n"
        + json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(info, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
