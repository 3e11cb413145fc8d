"""Recognition of single chromosomes: 24 classes (1-22, X, Y), straightening, preprocessing.

- :class:`ChromosomeClassifier`: the recognition slides' classifier (ResNet18/50, VGG16,
  InceptionV3 from torchvision, an optional dependency imported only when a network is built).
- :func:`straighten` and :class:`Straightener`: medial-axis straightening, p-arm on top.
- :class:`PadToSquare` and :class:`ResizeImages`: the slides' padding and resizing, as sklearn
  transformers; ``INPUT_SIZE`` gives each network's input side.
- :func:`classify_chromosomes`: the class of every chromosome a metaphase separator found
  (what ``chromoskl karyogram`` lays out).
"""

from ._classifier import ChromosomeClassifier, slides_augmenter
from ._karyotyping import classify_chromosomes, cut_out_chromosomes, karyotype_metaphase
from ._models import ARCHITECTURES, TorchvisionUnavailableError
from ._preprocessing import INPUT_SIZE, PadToSquare, ResizeImages
from ._straighten import Straightener, straighten

__all__ = [
    "ARCHITECTURES",
    "INPUT_SIZE",
    "ChromosomeClassifier",
    "PadToSquare",
    "ResizeImages",
    "Straightener",
    "TorchvisionUnavailableError",
    "classify_chromosomes",
    "cut_out_chromosomes",
    "karyotype_metaphase",
    "slides_augmenter",
    "straighten",
]
