"""Every displayed word lives in the locale catalogues (``resources/locale/{en,zh}.json``).

Two checks: every catalogue key the code asks for exists in both languages, and no Chinese
appears in a Python string literal under ``src/evalkit`` outside a short, reasoned list of
exceptions (input vocabulary, not display words). Docstrings are documentation and may
name a Chinese term beside its English one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from evalkit.assessment.followup import COUNT_TARGETS, WATER
from evalkit.assessment.indicators import SPECS
from evalkit.assessment.listing import FIELD_HEADERS
from evalkit.contract import locale
from evalkit.contract.schema import HOUSEHOLD_TYPES
from evalkit.sampling import FIELD_LIST_COLUMNS
from evalkit.synth.published import PUBLISHED_FIGURES

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "evalkit"
CJK = re.compile(r"[\u3400-\u9fff]")

# (file under src/evalkit, top-level name holding the literal) -> why Chinese is allowed.
ALLOWED_CHINESE: dict[tuple[str, str], str] = {
    ("contract/schema.py", "COLUMN_ALIASES"):
        "Chinese column headers accepted in input CSVs: input vocabulary, not display",
    ("contract/schema.py", "HOUSEHOLD_TYPES"): "Chinese cell values accepted on input",
    ("contract/schema.py", "RECOGNITION_LEVELS"): "Chinese cell values accepted on input",
    ("contract/schema.py", "WATER_ACCESS"): "Chinese cell values accepted on input",
    ("contract/schema.py", "VILLAGE_TYPES"): "Chinese cell values accepted on input",
    ("contract/schema.py", "IDENTIFYING_COLUMNS"):
        "Chinese headers of identifying columns, recognized on input so they can be dropped",
    ("contract/schema.py", "FRAME_COLUMNS"):
        "the codebook's description of each input column names the Chinese term it accepts",
    ("contract/schema.py", "SURVEY_REQUIRED"):
        "the codebook's description of each input column names the Chinese values it accepts",
    ("assessment/listing.py", "LISTING_COLUMNS"):
        "the listing file's column description names the Chinese values it accepts",
    ("contract/cells.py", "EMPTY_MARKERS"): "Chinese spellings of an empty cell on input",
    ("contract/cells.py", "FLAG_VALUES"): "Chinese spellings of 0/1 on input",
    ("contract/cells.py", "FLAG_EXPECTED"):
        "input errors name the accepted values (否/是), which are FLAG_VALUES: one string for "
        "the checker, the responded column and the province page's translation",
    ("synth/truth.py", "_SURNAMES"): "material the synthetic county's fake names are drawn from",
    ("synth/truth.py", "_GIVEN"): "material the synthetic county's fake names are drawn from",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _top_level_name(node: ast.stmt) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign):
        return ",".join(ast.unparse(t) for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return ast.unparse(node.target)
    return type(node).__name__


def chinese_literals(source: str) -> list[tuple[str, int, str]]:
    """(top-level name, line, literal) of each string literal with Chinese, docstrings aside."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found = []
    for top in tree.body:
        for node in ast.walk(top):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docs and CJK.search(node.value)):
                found.append((_top_level_name(top), node.lineno, node.value))
    return found


def test_the_scan_finds_chinese_in_code_but_not_in_docstrings():
    source = ('"""模块 docstring."""\nX = {"a": "乡镇"}\n'
              'def f():\n    """说明."""\n    return "否"\n')
    assert chinese_literals(source) == [("X", 2, "乡镇"), ("f", 5, "否")]


def test_no_displayed_chinese_in_python_source():
    offenders, used = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        for name, line, value in chinese_literals(path.read_text(encoding="utf-8")):
            if (relative, name) in ALLOWED_CHINESE:
                used.add((relative, name))
            else:
                offenders.append(f"{relative}:{line} ({name}): {value[:40]!r}")
    assert not offenders, "displayed words belong in resources/locale/*.json:\n" + "\n".join(
        offenders)
    # An exception no longer needed must be struck off the list.
    assert used == set(ALLOWED_CHINESE)


def _keys_the_code_asks_for() -> set[str]:
    """Keys built at run time (f-strings), from the lists that say which exist."""
    keys = {f"indicator.{key}.name" for key in SPECS}
    keys.add(f"indicator.{WATER.key}.name")
    keys |= {f"published.{figure.key}.name" for figure in PUBLISHED_FIGURES}
    keys |= {f"followup.count.{key}" for key in COUNT_TARGETS}
    keys |= {f"field.col.{column}" for column in FIELD_LIST_COLUMNS}
    keys |= {f"listing.col.{column}" for column in FIELD_HEADERS}
    keys |= {f"household_type.{code}" for code in HOUSEHOLD_TYPES}
    keys.add("field.sheet")
    return keys


def _literal_keys() -> set[str]:
    """Constant first arguments of every ``text(...)`` call in src (and of the report's
    one-letter wrappers ``t(...)``)."""
    keys = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("text", "t") and isinstance(first, ast.Constant) and isinstance(
                    first.value, str) and "." in first.value:
                keys.add(first.value)
    return keys


@pytest.mark.parametrize("lang", locale.LANGUAGES)
def test_every_key_the_code_asks_for_is_in_both_catalogues(lang):
    literal = _literal_keys()
    assert len(literal) > 50  # the scan does find the report's keys
    missing = sorted((_keys_the_code_asks_for() | literal) - set(locale.catalog(lang)))
    assert not missing, f"locale/{lang}.json lacks {missing}"


def test_labels_in_tables_come_from_the_catalogues():
    assert SPECS["wrong_exit"].label_zh == locale.text("indicator.wrong_exit.name", "zh")
    assert SPECS["wrong_exit"].label_en == "Wrong-exit rate"
    assert WATER.label("zh") == "非贫困户自来水入户率"
    assert PUBLISHED_FIGURES[0].label_en == "wrong-exit rate"
    assert FIELD_HEADERS["township"] == "乡镇 township"
