"""Old flat module paths (``evalkit.design``, ``evalkit.pipeline``...) for one release.

Until 0.2 the package was one flat folder. Code that imports an old path gets the module
at its new home and a DeprecationWarning naming it. The import system's own hooks
(a meta-path finder, PEP 451) do it, so no stub file per old module is needed. Old names
that are now packages (``evalkit.sampling``, ``evalkit.synth``, ``evalkit.assessment``,
``evalkit.report``) keep their documented names through the packages' own exports.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType

# old module (under evalkit) -> its home since 0.2
MOVED = {
    "errors": "contract.errors", "privacy": "contract.privacy", "schema": "contract.schema",
    "paths": "contract.paths", "formula": "contract.formula", "data": "contract.data",
    "xlsx": "contract.xlsx", "estimate": "survey.estimate", "design": "survey.design",
    "intervals": "survey.intervals", "calibration": "survey.calibration",
    "change": "survey.change", "decision": "survey.decision",
    "village_rates": "survey.village_rates", "ranking": "survey.ranking",
    "nonresponse": "survey.nonresponse", "decomposition": "survey.decomposition",
    "models": "survey.models", "power": "sampling.power",
    "indicators": "assessment.indicators", "county_totals": "assessment.county_totals",
    "fragility": "assessment.fragility", "followup": "assessment.followup",
    "recheck": "assessment.recheck", "summary": "assessment.summary",
    "listing": "assessment.listing", "render": "report.render", "plots": "report.plots",
    "i18n": "report.i18n", "fonts": "report.fonts", "webfont": "report.webfont",
    "formatting": "report.formatting", "province_tables": "report.province",
    "params": "run.params", "pipeline": "run.pipeline", "cli": "run.cli",
    "province": "run.province",
}


class LegacyPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``evalkit.<old>`` and answers with the module at its new path."""

    def find_spec(self, fullname: str, path: object = None, target: object = None
                  ) -> importlib.machinery.ModuleSpec | None:
        prefix, _, old = fullname.partition(".")
        if prefix != "evalkit" or old not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = "evalkit." + MOVED[spec.name.partition(".")[2]]
        warnings.warn(f"{spec.name} moved to {new}; the old path goes away in evalkit 0.3",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """The module is already executed at its new path."""


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(finder, LegacyPaths) for finder in sys.meta_path):
        sys.meta_path.append(LegacyPaths())
