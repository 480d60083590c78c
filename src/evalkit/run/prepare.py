"""The run's inputs, prepared once for all its notebooks.

Before any kernel starts, :func:`prepare_inputs` reads and validates the frame and survey,
adjusts for non-response and calibrates (:func:`evalkit.assessment.inputs.load_inputs`), and
writes the result to the partial run folder's ``prepared/``
(:func:`evalkit.assessment.prepared.write_prepared`). The notebooks whose parameters cell
declares ``prepared`` get that folder as the parameter and read it instead of the data files
(same numbers); the runner removes it before the run is published, as it holds the survey's
rows. A notebook opened on its own has ``prepared = None`` and reads ``data``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from evalkit.run.params import Params

#: The notebook parameter naming the prepared inputs, and their folder in the run.
PREPARED_PARAMETER = "prepared"
PREPARED_DIR = "prepared"


def declares_parameter(nb: Any, name: str) -> bool:
    """Whether the notebook's cell tagged ``parameters`` assigns ``name`` (``name = ...``).

    Example: ``declares_parameter(nbformat.read(path, 4), "prepared")``.
    """
    cell = next((c for c in nb.cells
                 if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    return cell is not None and re.search(rf"(?m)^{re.escape(name)}\s*=", cell.source) is not None


def prepare_inputs(params: Params, folder: Path, inputs: Any = None) -> Path:
    """Load the inputs of ``params`` (unless ``inputs``, what ``load_inputs`` returned for
    them, is given) and write them to ``folder`` (made private, 0700); return ``folder``."""
    from evalkit.assessment.inputs import load_inputs
    from evalkit.assessment.prepared import write_prepared

    values = params.values
    design = values.get("design") or {}
    if inputs is None:
        inputs = load_inputs(values["data"], design, params.base_dir,
                             values.get("calibration"), values.get("nonresponse"))
    folder.mkdir(mode=0o700)
    return write_prepared(inputs, folder, design, values.get("calibration"),
                          values.get("nonresponse"))
