"""Pommier's overlapping-chromosome data: a loader, a procedural generator, a pair builder.

- :func:`load_overlapping_chromosomes` reads Pommier's HDF5 files (the original
  ``LowRes_13434_overlapping_pairs.h5`` layout and the regenerated file with cleaned labels and
  generation parameters).
- :func:`make_overlapping_chromosomes` draws synthetic overlapping pairs, like scikit-learn's
  ``make_*`` functions: the embedded default data of the command line and the tests.
- :func:`make_overlapping_pairs` applies Pommier's generation procedure to any segmented
  metaphase, so that a lab can build training data from its own images.

For the recognition of single chromosomes (24 classes):

- :func:`load_chromosome_images` reads a lab's folder of labelled single-chromosome images.
- :func:`make_karyotype_chromosomes` generates the 24 classes from published cytogenetic facts.

Every overlapping-pair function returns a :class:`sklearn.utils.Bunch` with ``images``
float32 ``(n, H, W)``, ``labels`` uint8 ``(n, H, W)`` (0 background, 1 chromosome A = the
smaller of the pair, 2 chromosome B, 3 overlap), ``groups`` (the pair each image came from, for
``GroupKFold``) and ``DESCR``.
"""

from ._folders import load_chromosome_images
from ._karyotype import make_karyotype_chromosomes
from ._pairs import make_overlapping_pairs
from ._pommier import load_overlapping_chromosomes
from ._synthetic import make_overlapping_chromosomes

__all__ = [
    "load_chromosome_images",
    "make_karyotype_chromosomes",
    "load_overlapping_chromosomes",
    "make_overlapping_chromosomes",
    "make_overlapping_pairs",
]
