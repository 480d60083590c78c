"""evalkit: design-based replication of the poverty-exit assessment."""

from evalkit.design import Estimate, SurveyDesign

__all__ = ["Estimate", "SurveyDesign"]
__version__ = "0.1.0"
