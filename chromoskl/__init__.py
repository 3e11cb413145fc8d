"""chromoskl: segment overlapping chromosomes with scikit-learn estimators.

Every pixel of a microscope image of two overlapping chromosomes becomes one of four
classes: 0 background, 1 chromosome A only, 2 chromosome B only, 3 their overlap.
"""

__version__ = "0.1.0"

from ._device import DeviceWarning  # noqa: E402
from ._intensity import IntensityWarning  # noqa: E402
from ._limits import ResourceLimitError  # noqa: E402
from ._precision import PrecisionWarning  # noqa: E402
from .architectures import create_model  # noqa: E402
from .ensemble import SegmenterEnsemble  # noqa: E402
from .estimator import ChromosomeSegmenter  # noqa: E402
from .recognition import ChromosomeClassifier  # noqa: E402

__all__ = [
    "ChromosomeClassifier",
    "ChromosomeSegmenter",
    "DeviceWarning",
    "PrecisionWarning",
    "IntensityWarning",
    "ResourceLimitError",
    "SegmenterEnsemble",
    "create_model",
    "__version__",
]
