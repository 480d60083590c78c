"""The generic design-based engine (R's survey package's role): the design object,
estimates, intervals, calibration, the threshold decision, regression and decomposition.
It knows nothing about the poverty assessment and imports only ``evalkit.contract``.
"""
