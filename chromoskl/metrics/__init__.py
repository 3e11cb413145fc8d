"""Segmentation metrics for overlapping chromosomes, and scorers for scikit-learn searches.

Label arrays hold one class per pixel: 0 background, 1 chromosome A only, 2 chromosome B only,
3 the overlap of A and B. ``y_true`` and ``y_pred`` are integer arrays of equal shape: one image
``(H, W)`` or a stack ``(n, H, W)`` (any leading axes are accepted; where metrics are computed
per image, the first axis indexes the images and a 2-D array is one image).

Everything that a confusion matrix determines is computed from one, built with
:func:`numpy.bincount`. A class absent from both the truth and the prediction has no defined
IoU or Dice: it gives NaN, never 0, and averages skip it. The boundary metrics (HD95, ASSD)
follow MONAI's conventions and give NaN for a class missing from the truth or the prediction.

Chromosome A is by convention the smaller of the two. :func:`swapped_share` and
:func:`chromosome_iou_any_order` tell how much of the chromosome error is only the naming of A
and B: the share of the images that score better with labels 1 and 2 exchanged, and the
chromosome IoU after the better of the two namings of each image (as Kluvanec et al. [4]_
scored it).

The instance metrics (:func:`instance_scores`, :func:`match_instances`,
:func:`average_precision`) score one mask per chromosome of a whole metaphase
(:class:`chromoskl.metaphase.MetaphaseSeparator`): Hungarian matching on IoU, count error,
mean matched IoU, COCO's AP50/AP75, and the IoU of the chromosomes that cross.

The scorers (:data:`SCORERS`, :func:`get_scorer`) are scikit-learn scorers (``make_scorer``),
so that ``GridSearchCV(scoring=SCORERS["overlap_iou"])`` works, and a dict of them predicts once
per fold for all of them.

References
----------
.. [1] R. L. Hu, J. Karnowski, R. Fadely, J.-P. Pommier, "Image segmentation to distinguish
   between overlapping human chromosomes", NIPS ML4H workshop, 2017. arXiv:1712.07639.
.. [2] Wang et al., "ARMS Net: Overlapping chromosome segmentation based on Adaptive Receptive
   field Multi-Scale network", Biomedical Signal Processing and Control, 2021.
.. [3] MONAI, ``monai.metrics.compute_hausdorff_distance`` and
   ``compute_average_surface_distance``.
.. [4] D. Kluvanec et al., "Using Orientation to Distinguish Overlapping Chromosomes", 2022
   (permutation-invariant scoring of overlapping-chromosome separation);
   https://github.com/KluvaDa/Chromosomes.
"""

from ._accuracy import pixel_accuracy, two_chromosome_accuracy
from ._assignment import chromosome_iou_any_order, swapped_share
from ._confusion import (
    CHROMOSOME_LABELS,
    CLASS_NAMES,
    N_CLASSES,
    chromosome_iou,
    confusion_matrix,
    dice_per_class,
    iou_per_class,
    overlap_iou,
)
from ._distance import assd_per_class, hd95_per_class
from ._instances import average_precision, instance_iou, instance_scores, match_instances
from ._scorers import SCORERS, get_scorer, segmentation_scores

__all__ = [
    "confusion_matrix",
    "iou_per_class",
    "dice_per_class",
    "overlap_iou",
    "chromosome_iou",
    "chromosome_iou_any_order",
    "swapped_share",
    "pixel_accuracy",
    "two_chromosome_accuracy",
    "hd95_per_class",
    "assd_per_class",
    "segmentation_scores",
    "instance_iou",
    "match_instances",
    "average_precision",
    "instance_scores",
    "SCORERS",
    "get_scorer",
    "N_CLASSES",
    "CLASS_NAMES",
    "CHROMOSOME_LABELS",
]
