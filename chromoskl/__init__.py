"""chromoskl: segment overlapping chromosomes with scikit-learn estimators.

Every pixel of a microscope image of two overlapping chromosomes becomes one of four
classes: 0 background, 1 chromosome A only, 2 chromosome B only, 3 their overlap.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
