"""Lazy package exports (PEP 562): a subpackage names what it offers without importing it.

``evalkit run --check`` must validate a params file without importing pandas or scipy, so
no ``__init__`` imports its modules; a name is imported from its module on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def exports(package: str, table: Mapping[str, Sequence[str]]
            ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """(``__getattr__``, ``__dir__``, ``__all__``) for ``package`` from {module: names}."""
    where = {name: module for module, names in table.items() for name in names}

    def getattr_(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def dir_() -> list[str]:
        return sorted(set(where) | set(table))

    return getattr_, dir_, sorted(where)
