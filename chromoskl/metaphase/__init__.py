"""From a whole metaphase image to one mask per chromosome.

The segmenters of :mod:`chromoskl` split a crop of two overlapping chromosomes. A lab has
metaphase images, where most chromosomes lie apart and a few touch or cross.
:class:`MetaphaseSeparator` chains the steps that turn such an image into one mask per
chromosome; each step is a function here that can be used and tested on its own:

- :func:`subtract_background`: white top-hat (as Pommier's pairs were made);
- :func:`grey_factor`, :func:`to_segmenter_pixels`: the grey scale and the pixel size of the
  segmenter's training images;
- :func:`foreground_mask`, :func:`label_components`: threshold and connected components;
- :func:`classify_components`: single chromosomes, clusters, and what is too large to split
  (:func:`count_arms`: 2 for a rod, 4 for an X); :func:`segmenter_sees_crossing`: the
  segmenter's second look at what the shape rule calls single;
- :func:`bend_at_overlap`: how sharply a chromosome split out of a cluster turns where it
  crosses the other (an X cut into two L's turns, two crossing chromosomes run on);
  :func:`sharpest_turn`: the sharpest turn of a shape's skeleton (a corner where two
  chromosomes touch end to end at an angle);
- :func:`crop_cluster`: a cluster cut out on a black background, padded to the input shape;
- :func:`paste_instances`: the segmenter's two chromosomes back at full resolution;
- :func:`medial_axis_length`: the length of a chromosome along its medial axis;
- :func:`save_overlay`, :func:`save_gallery`: pictures of the result.
"""

from ._arms import count_arms
from ._background import subtract_background
from ._clusters import classify_components, segmenter_sees_crossing
from ._components import THRESHOLDS, foreground_mask, label_components
from ._continuation import bend_at_overlap, sharpest_turn
from ._crops import Placement, crop_cluster
from ._measure import mask_box, medial_axis_length
from ._paste import paste_instances
from ._pictures import gallery_chromosome, save_gallery, save_overlay, upright_chromosome
from ._scale import grey_factor, to_segmenter_pixels
from ._separator import MetaphaseSeparator

__all__ = [
    "MetaphaseSeparator",
    "subtract_background",
    "grey_factor",
    "to_segmenter_pixels",
    "foreground_mask",
    "label_components",
    "THRESHOLDS",
    "classify_components",
    "segmenter_sees_crossing",
    "count_arms",
    "bend_at_overlap",
    "sharpest_turn",
    "crop_cluster",
    "Placement",
    "paste_instances",
    "medial_axis_length",
    "mask_box",
    "save_overlay",
    "gallery_chromosome",
    "save_gallery",
    "upright_chromosome",
]
