"""evalkit: design-based replication of the poverty-exit assessment.

``SurveyDesign`` and ``Estimate`` load on first use (PEP 562), so the command line can
validate a params file and start the notebooks without first importing scipy and pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["Estimate", "SurveyDesign"]
__version__ = "0.3.0"

if TYPE_CHECKING:
    from evalkit.survey.design import Estimate, SurveyDesign


def __getattr__(name: str):
    if name in __all__:
        from evalkit.survey import design

        return getattr(design, name)
    raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
