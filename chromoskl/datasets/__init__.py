"""Pommier's data and generators: overlapping pairs (loaded, drawn, built) and metaphases.

- :func:`load_overlapping_chromosomes` reads Pommier's HDF5 files (the original
  ``LowRes_13434_overlapping_pairs.h5`` layout and the regenerated file with cleaned labels and
  generation parameters).
- :func:`make_overlapping_chromosomes` draws synthetic overlapping pairs, like scikit-learn's
  ``make_*`` functions: the embedded default data of the command line and the tests.
- :func:`load_labelled_data` reads a lab's own labelled images: an HDF5 file of named
  datasets (:func:`load_labelled_h5`) or a folder of image/mask pairs
  (:func:`load_image_folder`).
- :func:`make_overlapping_pairs` applies Pommier's generation procedure to any segmented
  metaphase, so that a lab can build training data from its own images.
- :func:`make_metaphase` lays chromosomes (drawn, or cut from a real metaphase by
  :func:`chromosomes_from_metaphase`) on a whole synthetic metaphase, some of them crossing,
  and returns the true mask of each: data for :class:`chromoskl.metaphase.MetaphaseSeparator`.

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
from ._labelled import load_image_folder, load_labelled_data, load_labelled_h5, read_grey_image
from ._metaphase import chromosomes_from_metaphase, make_metaphase
from ._pairs import make_overlapping_pairs
from ._pommier import load_overlapping_chromosomes
from ._synthetic import make_overlapping_chromosomes

__all__ = [
    "load_image_folder",
    "load_labelled_data",
    "load_labelled_h5",
    "load_chromosome_images",
    "make_karyotype_chromosomes",
    "load_overlapping_chromosomes",
    "make_overlapping_chromosomes",
    "make_overlapping_pairs",
    "make_metaphase",
    "chromosomes_from_metaphase",
    "read_grey_image",
]
