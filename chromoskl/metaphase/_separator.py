"""From a metaphase image to one mask per chromosome: the steps chained in one object."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from numbers import Real

import numpy as np
import torch
from skimage import measure, morphology
from sklearn.base import BaseEstimator
from sklearn.utils import Bunch

from .._intensity import IntensityWarning
from .._tta import dihedral, undo_dihedral
from ..classes import CHROMOSOME_LABELS, N_CLASSES
from ._arms import count_arms
from ._background import subtract_background
from ._checks import check_metaphase_image
from ._clusters import CLUSTER, SINGLE, UNRESOLVED, classify_components, segmenter_sees_crossing
from ._components import foreground_mask, label_components
from ._continuation import bend_at_overlap
from ._crops import crop_cluster
from ._measure import mask_box, medial_axis_length
from ._paste import paste_instances
from ._scale import grey_factor

__all__ = ["MetaphaseSeparator"]

# A piece of a split cluster is one chromosome when its largest connected part holds at
# least this share of its pixels (the segmenter may leave specks elsewhere).
_CONNECTED_SHARE = 0.9


@contextmanager
def _grey_warning_ignored():
    """Run the segmenter without its IntensityWarning: a single chromosome's crop lacks the
    doubled grey of a crossing, so its bright level sits below the training pairs' by design;
    the grey scale was matched over the whole metaphase (``_grey_factor``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntensityWarning)
        yield


def _indices_by_shape(arrays) -> list[list[int]]:
    """The indices of ``arrays`` grouped by shape, to predict each group in one batch."""
    groups = {}
    for k, array in enumerate(arrays):
        groups.setdefault(array.shape, []).append(k)
    return list(groups.values())


class MetaphaseSeparator(BaseEstimator):
    """Separate every chromosome of a metaphase image, splitting clusters with a segmenter.

    The papers this library implements (Hu et al. [1]_, ARMS Net [2]_) segment crops of two
    overlapping chromosomes. A lab has whole metaphases, where most chromosomes lie apart
    and a few touch or cross. Hu et al. name the pairing of the segmenter with a detector as
    the next step, and ARMS Net presents itself as the backbone of such an instance
    segmentation. This object does it with classical steps for the detector, each a function
    of :mod:`chromoskl.metaphase`:

    1. background correction by a white top-hat (:func:`subtract_background`), as Pommier's
       pairs were made;
    2. the grey scale and the pixel size of the segmenter's training images
       (:func:`grey_factor` from its ``intensity_range_``, ``pixel_scale`` for Pommier's
       down-sampling by 2);
    3. a foreground threshold and connected components (:func:`foreground_mask`,
       :func:`label_components`);
    4. single chromosomes told from clusters by their shape (:func:`classify_components`:
       arms, solidity, area, a corner where two meet end to end, :func:`sharpest_turn`, and
       the double width of two side by side),
       then the components that look single shown to the segmenter, and those where it
       finds two chromosomes crossing taken for clusters (:func:`segmenter_sees_crossing`);
    5. a crop of each cluster, on a black background, padded to the segmenter's input
       (:func:`crop_cluster`);
    6. the segmenter's two chromosomes (A = classes {1, 3}, B = {2, 3}) pasted back at full
       resolution (:func:`paste_instances`); a pixel where they cross belongs to both.

    A cluster of three or more chromosomes does not crash it: the pieces of the segmenter's
    split that look like one chromosome (connected, solid, not too large) are kept; what is
    left is split again, up to ``max_rounds`` times, and whatever still is not one
    chromosome is reported as one ``"unresolved"`` mask.

    Parameters
    ----------
    segmenter : fitted ChromosomeSegmenter, object with ``predict``, or None, default=None
        Splits clusters: ``predict(X)`` on ``(1, H, W)`` images returns ``(1, H, W)`` labels
        0..3. None gives the baseline without it: every component is one mask, clusters
        reported as ``"unresolved"``.
    background_radius : float or None, default=25
        Disk radius of the top-hat, in pixels of the input; None skips the correction (for an
        image whose background is already 0).
    pixel_scale : float, default=0.5
        The segmenter's pixels per input pixel along each axis: 0.5 for a model trained on
        Pommier's pairs, made from the metaphase down-sampled by 2.
    grey_scale : "auto" or float, default="auto"
        Factor applied to the corrected grey values before the segmenter sees them;
        ``"auto"`` derives it from the segmenter's ``intensity_range_`` (1.0 when it has
        none).
    threshold : {"li", "otsu", "triangle", "yen"} or float, default="li"
        Foreground threshold of the corrected image. Li's minimum cross-entropy keeps the
        pale edges and bands of the chromosomes; Otsu's cut 3 of 46 generated chromosomes in
        two and covered 91 % of their pixels (Li: none, 99 %).
    min_area : int, default=60
        Smallest object, in input pixels: smaller ones are debris.
    min_solidity : float, default=0.5
        Components less solid (area / convex hull area) are clusters.
    max_arms : int, default=2
        Components whose pruned skeleton has more arms are clusters (an X has 4).
    arm_width_ratio : float, default=0.7
        Shortest skeleton branch that counts as an arm, as a multiple of the component's
        width (:func:`~chromoskl.metaphase.count_arms`).
    area_ratio : float, default=2.2
        Components larger than this times the median component are clusters.
    max_turn : float or None, default=60
        Components whose skeleton turns by more than this many degrees within one width
        (:func:`sharpest_turn`) are clusters: two chromosomes touching end to end at an
        angle meet at a corner, and pass the tests of arms, solidity and area. None does not
        look at turns. On the generated metaphases below (seeds 0-11), the single
        chromosomes that pass the other tests turn by at most 42.6 degrees, those of
        ``DAPI.tif`` by at most 33.1 (35 of its 44 too short to measure); 60 against None:
        100 / 100 / 100 % of the crossed pairs separated at 2 / 5 / 10 crossings against 100
        / 98.3 / 99.2 % (seed 11's pair, which meets at a corner of 82 degrees, found), the
        same counts on ``DAPI.tif``.
    max_width_ratio : float or None, default=1.5
        Components more than this many times as wide as the median component are clusters:
        two chromosomes lying side by side along their length pass the other tests as one
        rod, twice as wide. None does not look at widths. The single chromosomes of the
        generated metaphases (seeds 0-11) that pass the other tests are at most 1.27 times
        the median width, those of ``DAPI.tif`` 1.16; seed 19's side-by-side pair at 10
        crossings, which was taken for one chromosome, 1.74 (``benchmarks/RESULTS.md``).
    max_area_ratio : float, default=8.0
        Components larger than this times the median are not split ("unresolved").
    input_shape : tuple of int, default=(94, 93)
        The segmenter's training image shape; smaller crops are padded to it.
    margin : int, default=4
        Background pixels around each cluster's box in its crop.
    max_rounds : int, default=2
        How many times the pixels left over from a split are split again.
    split_views : int, default=8
        How many of the 8 flips and quarter turns of a cluster's crop the segmenter is shown.
        Of the views whose split gives two pieces that each pass as one chromosome
        (connected, solid, a rod), the one the segmenter is surest of is kept (the mean of its
        highest class probability over the pixels it calls chromosome, from
        ``predict_proba``; a segmenter without it: the first such view); if none gives two,
        the view whose pieces pass best (the most pieces, then the most pixels). 1 shows the
        crop only as it is. A segmenter is not equivariant: where one view's split leaves a
        stub on a chromosome or cuts an X into two L's, another's often does not. On
        generated metaphases (46 chromosomes, 2 / 5 / 10 crossings, seeds 0-11) 8 views
        separated 95.8 / 95.0 / 97.5 % of the crossed pairs, 1 view 95.8 / 91.7 / 89.2 %
        (with ``split_max_arms=2``; ``benchmarks/RESULTS.md``, issue 10).
    split_max_arms : int, default=3
        Most arms that a chromosome split out of a cluster may have. One more than
        ``max_arms`` by default: where the segmenter's overlap is wider than the chromosome
        under it, the pasted chromosome keeps a stub there, which then counts as an arm, and
        the true split of an X lost to a view that cut it into two L's (issue 10). On the
        generated metaphases above, 3 against 2: 95.8 / 96.7 / 98.3 % of the crossed pairs
        separated against 95.8 / 95.0 / 97.5 %, count error +0.33 / +0.08 / +0.08 against
        +0.25 / +0.17 / +0.08.
    split_max_bend : float or None, default=60
        Degrees by which a chromosome split out of a cluster may turn where it crosses the
        other before its view loses to straighter ones (good continuation,
        :func:`bend_at_overlap`). Among the views whose pieces all pass, each is scored by
        the segmenter's confidence less ``(bend - split_max_bend) / 180`` for its most bent
        piece above the limit: two chromosomes that cross run on through the crossing, and
        an X cut into two L's turns by the angle of the crossing. Real chromosomes bend, so
        a bend is not refused: a view the segmenter is far surer of still wins. None: the
        confidence alone. On the generated metaphases above, 60 against None: 100 / 98.3 /
        99.2 % of the crossed pairs separated against 95.8 / 96.7 / 98.3 %, crossed IoU
        0.965 / 0.952 / 0.946 against 0.945 / 0.944 / 0.943 (an X cut into two L's that
        turn by 83-84 degrees, where 99 % of the views that split a pair truly turn by at
        most 42).
    min_crossing_pixels : int or None, default=16
        The components that the shape rule calls single are segmented too (one batch per
        crop shape); one where the segmenter labels at least this many pixels (its own) as
        overlap, as A alone and as B alone is split as a cluster
        (:func:`segmenter_sees_crossing`). None trusts the shape rule alone. Ignored without
        a segmenter. It needs a segmenter trained on images like the metaphase's: one
        trained on other images may take bright bands for crossings and cut single
        chromosomes in two.

    References
    ----------
    .. [1] R. L. Hu, J. Karnowski, R. Fadely, J.-P. Pommier, "Image segmentation to
       distinguish between overlapping human chromosomes", NIPS ML4H workshop, 2017
       (Discussion: pairing with an object detector on whole images).
    .. [2] Wang et al., "ARMS Net: Overlapping chromosome segmentation based on Adaptive
       Receptive field Multi-Scale network", Biomedical Signal Processing and Control, 2021.

    Examples
    --------
    >>> from chromoskl.datasets import make_metaphase
    >>> from chromoskl.metaphase import MetaphaseSeparator
    >>> data = make_metaphase(6, n_overlaps=0, shape=(300, 300), random_state=0)
    >>> result = MetaphaseSeparator().separate(data.image)
    >>> len(result.masks), sorted(set(result.source))
    (6, ['single'])
    """

    def __init__(
        self,
        segmenter=None,
        *,
        background_radius=25,
        pixel_scale=0.5,
        grey_scale="auto",
        threshold="li",
        min_area=60,
        min_solidity=0.5,
        max_arms=2,
        arm_width_ratio=0.7,
        area_ratio=2.2,
        max_turn=60,
        max_width_ratio=1.5,
        max_area_ratio=8.0,
        input_shape=(94, 93),
        margin=4,
        max_rounds=2,
        min_crossing_pixels=16,
        split_views=8,
        split_max_arms=3,
        split_max_bend=60,
    ):
        self.segmenter = segmenter
        self.background_radius = background_radius
        self.pixel_scale = pixel_scale
        self.grey_scale = grey_scale
        self.threshold = threshold
        self.min_area = min_area
        self.min_solidity = min_solidity
        self.max_arms = max_arms
        self.arm_width_ratio = arm_width_ratio
        self.area_ratio = area_ratio
        self.max_turn = max_turn
        self.max_width_ratio = max_width_ratio
        self.max_area_ratio = max_area_ratio
        self.input_shape = input_shape
        self.margin = margin
        self.max_rounds = max_rounds
        self.min_crossing_pixels = min_crossing_pixels
        self.split_views = split_views
        self.split_max_arms = split_max_arms
        self.split_max_bend = split_max_bend

    def __sklearn_is_fitted__(self) -> bool:
        return True  # stateless: the segmenter comes fitted

    def fit(self, X=None, y=None):
        """Check the parameters; nothing is learned. Returns ``self``."""
        self._check_params()
        return self

    def _check_params(self) -> None:
        errors = []

        def positive(name, value, integer=False):
            kind = (int, np.integer) if integer else Real
            if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
                errors.append(f"{name} must be a positive {'integer' if integer else 'number'}"
                              f", got {value!r}")

        positive("pixel_scale", self.pixel_scale)
        positive("min_area", self.min_area, integer=True)
        positive("max_rounds", self.max_rounds, integer=True)
        positive("split_views", self.split_views, integer=True)
        if isinstance(self.split_views, Real) and self.split_views > 8:
            errors.append(f"split_views must be at most 8 (the flips and quarter turns of a "
                          f"crop), got {self.split_views!r}")
        positive("max_arms", self.max_arms, integer=True)
        positive("split_max_arms", self.split_max_arms, integer=True)
        positive("arm_width_ratio", self.arm_width_ratio)
        for name in ("split_max_bend", "max_turn"):
            degrees = getattr(self, name)
            if degrees is not None and (isinstance(degrees, bool) or not isinstance(degrees, Real)
                                        or not 0 <= degrees <= 180):
                errors.append(f"{name} must be None or a number of degrees from 0 to 180, "
                              f"got {degrees!r}")
        ratio = self.max_width_ratio
        if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, Real)
                                  or not ratio >= 1):
            errors.append(f"max_width_ratio must be None or a number >= 1, got {ratio!r}")
        if self.background_radius is not None:
            positive("background_radius", self.background_radius)
        if self.min_crossing_pixels is not None:
            positive("min_crossing_pixels", self.min_crossing_pixels, integer=True)
        if self.grey_scale != "auto":
            positive("grey_scale", self.grey_scale)
        if isinstance(self.margin, bool) or not isinstance(self.margin, (int, np.integer)) \
                or self.margin < 0:
            errors.append(f"margin must be an integer >= 0, got {self.margin!r}")
        shape = self.input_shape
        if not (isinstance(shape, (tuple, list)) and len(shape) == 2
                and all(isinstance(s, (int, np.integer)) and s > 0 for s in shape)):
            errors.append(f"input_shape must be a pair of positive integers, got {shape!r}")
        if self.segmenter is not None and not callable(getattr(self.segmenter, "predict", None)):
            errors.append(f"segmenter must have a predict method (a fitted ChromosomeSegmenter)"
                          f" or be None, got {type(self.segmenter).__name__}")
        if errors:
            raise ValueError("MetaphaseSeparator: " + "; ".join(errors) + ".")

    # ------------------------------------------------------------------ public

    def predict(self, X) -> list:
        """:meth:`separate` each image of ``X`` (a list of images or an (n, H, W) array)."""
        return [self.separate(image) for image in X]

    def separate(self, image) -> Bunch:
        """One mask per chromosome of a metaphase image.

        Parameters
        ----------
        image : array-like of shape (H, W) or (H, W, 3)
            Raw (e.g. 12-bit) or 8-bit grey values; RGB is turned grey.

        Returns
        -------
        result : sklearn.utils.Bunch
            - ``masks``: bool ``(k, H, W)``, one per chromosome in the input's coordinates;
              where chromosomes cross, a pixel belongs to both.
            - ``boxes``: int ``(k, 4)``, ``(row_start, col_start, row_stop, col_stop)``.
            - ``source``: str ``(k,)``: ``"single"`` (a component alone), ``"cluster"`` (one
              chromosome split out of a cluster) or ``"unresolved"`` (pixels of a cluster
              not split into chromosomes).
            - ``area``: int ``(k,)`` pixels; ``length``: float ``(k,)``, the medial-axis
              length in pixels.
            - ``components``: int32 ``(H, W)`` label image of the connected components;
              ``grey_factor``: the grey scale applied to the clusters' crops.
        """
        self._check_params()
        image = check_metaphase_image(image)
        corrected = (image.astype(np.float32) if self.background_radius is None
                     else subtract_background(image, self.background_radius))
        foreground = foreground_mask(corrected, self.threshold, min_area=self.min_area)
        components, regions = label_components(foreground)
        kinds = classify_components(
            regions, min_solidity=self.min_solidity, max_arms=self.max_arms,
            arm_width_ratio=self.arm_width_ratio, area_ratio=self.area_ratio,
            max_area_ratio=self.max_area_ratio, max_turn=self.max_turn,
            max_width_ratio=self.max_width_ratio,
        )
        factor = self._grey_factor(corrected, foreground)
        if self.segmenter is not None and self.min_crossing_pixels is not None:
            kinds = self._crossings_among_singles(corrected, components, regions, kinds, factor)
        singles = [r.area for r, kind in zip(regions, kinds) if kind == SINGLE]
        # a typical chromosome: the median single (the median component if none is single)
        reference = float(np.median(singles or [r.area for r in regions] or [1.0]))
        pieces = []  # (mask in its box, box, source)
        for region, kind in zip(regions, kinds):
            r0, c0, r1, c1 = region.bbox
            if kind == CLUSTER and self.segmenter is not None:
                component = components == region.label
                pieces.extend(self._split(corrected, component, factor, reference, round_=1))
            else:
                source = SINGLE if kind == SINGLE else UNRESOLVED
                pieces.append((region.image, (r0, c0, r1, c1), source))
        return self._result(pieces, image.shape, components, factor)

    # ------------------------------------------------------------------ steps

    def _grey_factor(self, corrected, foreground) -> float:
        if self.grey_scale != "auto":
            return float(self.grey_scale)
        training = getattr(self.segmenter, "intensity_range_", None)
        return 1.0 if training is None else grey_factor(corrected, foreground, training)

    def _crossings_among_singles(self, corrected, components, regions, kinds, factor):
        """``kinds`` with the singles in which the segmenter sees a crossing made clusters."""
        singles = [k for k, kind in enumerate(kinds) if kind == SINGLE]
        crops = [
            crop_cluster(
                corrected, components == regions[k].label, regions[k].bbox,
                pixel_scale=self.pixel_scale, grey_factor=factor,
                input_shape=tuple(self.input_shape), margin=self.margin,
            )[0]
            for k in singles
        ]
        kinds = kinds.copy()
        for indices in _indices_by_shape(crops):
            labels = self._predict(np.stack([crops[i] for i in indices]))
            for i, component_labels in zip(indices, labels):
                if segmenter_sees_crossing(component_labels, self.min_crossing_pixels):
                    kinds[singles[i]] = CLUSTER
        return kinds

    def _predict(self, crops) -> np.ndarray:
        """The segmenter's labels of ``(n, H, W)`` crops, checked."""
        with _grey_warning_ignored():
            return self._checked_labels(self.segmenter.predict(crops), crops.shape)

    @staticmethod
    def _checked_labels(labels, shape, method="predict") -> np.ndarray:
        labels = np.asarray(labels)
        if labels.shape != shape or labels.min() < 0 or labels.max() >= N_CLASSES:
            raise ValueError(
                f"segmenter.{method} must return labels 0..3 of the input's shape "
                f"{shape}, got shape {labels.shape} with values "
                f"{labels.min()}..{labels.max()}."
            )
        return labels

    def _predict_proba(self, crops) -> np.ndarray:
        """The segmenter's class probabilities of ``(n, H, W)`` crops, ``(n, C, H, W)``,
        checked."""
        with _grey_warning_ignored():
            proba = np.asarray(self.segmenter.predict_proba(crops))
        if proba.ndim != 4 or proba.shape[0] != len(crops) or proba.shape[2:] != crops.shape[1:]:
            raise ValueError(
                f"segmenter.predict_proba must return probabilities of shape (n, classes, H, "
                f"W) for images {crops.shape}, got {proba.shape}."
            )
        return proba

    def _split(self, corrected, component, factor, reference, *, round_) -> list:
        """Pieces of one cluster: chromosomes from the segmenter, then the rest."""
        box = mask_box(component)
        crop, placement = crop_cluster(
            corrected, component, box, pixel_scale=self.pixel_scale, grey_factor=factor,
            input_shape=tuple(self.input_shape), margin=self.margin,
        )
        kept = self._best_view_split(crop, placement, component, reference)
        r0, c0, r1, c1 = placement.box
        inside = component[r0:r1, c0:c1]
        pieces = [(m, placement.box, CLUSTER) for m in kept]
        rest = inside & ~np.any(kept, axis=0) if kept else inside.copy()
        rest = morphology.remove_small_objects(rest, max_size=self.min_area - 1, connectivity=2)
        if not rest.any():
            return pieces
        if kept and measure.label(rest, connectivity=2).max() == 1:
            # one piece left: a chromosome, or a smaller cluster to split again
            if self._is_chromosome(rest, reference):
                return pieces + [(rest, placement.box, CLUSTER)]
            if round_ < self.max_rounds:
                full = np.zeros_like(component)
                full[r0:r1, c0:c1] = rest
                return pieces + self._split(corrected, full, factor, reference,
                                                round_=round_ + 1)
        # nothing split, or the rest is in pieces (a chromosome cut by those kept) or no
        # rounds are left: the rest is reported as one mask
        return pieces + [(rest, placement.box, UNRESOLVED)]

    def _best_view_split(self, crop, placement, component, reference) -> list:
        """The segmenter's chromosomes of one cluster's crop that pass as single chromosomes,
        from the best of ``split_views`` views: of those whose two pieces both pass, the one
        the segmenter is surest of, less its pieces' bends beyond ``split_max_bend``;
        failing that, the one whose pieces pass best."""
        # resampling leaves slivers up to one segmenter pixel wide between the masks
        reach = 1.0 / self.pixel_scale
        views = [dihedral(torch.from_numpy(crop), k).numpy() for k in range(int(self.split_views))]
        whole, partial = [], []  # (confidence, masks) of the views whose pieces all pass; kept
        for k, (labels, confidence) in enumerate(self._view_labels(views)):
            labels = undo_dihedral(torch.from_numpy(labels), k).numpy()
            instances = np.stack([np.isin(labels, c) for c in CHROMOSOME_LABELS])
            masks = paste_instances(instances, placement, component, max_distance=reach)
            kept = [m for m in masks
                    if self._is_chromosome(m, reference, max_arms=self.split_max_arms)]
            if len(kept) == len(masks):
                whole.append((confidence, kept))
            else:
                partial.append(kept)
        if not whole:
            # the most pieces, then the most pixels; on a tie, the earlier view
            return max(partial, key=lambda kept: (
                len(kept), int(np.count_nonzero(np.any(kept, axis=0))) if kept else 0))
        return self._straightest_surest(whole)

    def _straightest_surest(self, whole) -> list:
        """Of ``(confidence, masks)`` splits, the masks of the best confidence less bend
        penalty (:meth:`_bend_penalty`); on a tie, the surer, then the earlier."""
        best, best_masks = None, None
        for confidence, masks in sorted(whole, key=lambda split: -split[0]):
            if best is not None and confidence <= best:
                break  # a penalty only lowers a score: the less sure cannot win
            score = confidence - self._bend_penalty(masks)
            if best is None or score > best:
                best, best_masks = score, masks
        return best_masks

    def _bend_penalty(self, masks) -> float:
        """The confidence a split of a cluster loses for its most bent piece: the degrees it
        turns at the overlap beyond ``split_max_bend``, over 180 (0 within the limit)."""
        if self.split_max_bend is None:
            return 0.0
        overlap = np.count_nonzero(masks, axis=0) >= 2
        bend = max(bend_at_overlap(m, overlap) for m in masks)
        return max(0.0, bend - self.split_max_bend) / 180.0

    def _view_labels(self, views) -> list:
        """``(labels, confidence)`` for each view of a crop: the segmenter's labels, and the
        mean of its highest class probability over the pixels it calls chromosome (0.0 for a
        segmenter without ``predict_proba``). The views of one shape go in one batch; a
        segmenter with ``labels_from_proba`` (``ChromosomeSegmenter``) runs once for both."""
        results = [None] * len(views)
        has_proba = callable(getattr(self.segmenter, "predict_proba", None))
        decodes = has_proba and callable(getattr(self.segmenter, "labels_from_proba", None))
        for indices in _indices_by_shape(views):
            batch = np.stack([views[k] for k in indices])
            if has_proba:
                proba = self._predict_proba(batch)
                surest = proba.max(axis=1)
            if decodes:
                labels = self._checked_labels(self.segmenter.labels_from_proba(proba),
                                              batch.shape, "labels_from_proba")
            else:
                labels = self._predict(batch)
            for j, k in enumerate(indices):
                chromosome = labels[j] > 0
                confidence = (float(surest[j][chromosome].mean())
                              if has_proba and chromosome.any() else 0.0)
                results[k] = labels[j], confidence
        return results

    def _is_chromosome(self, mask, reference: float, max_arms=None) -> bool:
        """One connected rod (solidity of a single, at most ``max_arms`` arms, a single's by
        default) of ``min_area`` to a cluster's area."""
        area = int(np.count_nonzero(mask))
        if area < self.min_area or area > self.area_ratio * reference:
            return False
        parts = measure.label(mask, connectivity=2)
        sizes = np.bincount(parts.ravel())[1:]
        if sizes.max() < _CONNECTED_SHARE * area:
            return False
        main = parts == sizes.argmax() + 1
        (region,) = measure.regionprops(main.astype(np.uint8))
        return (region.solidity >= self.min_solidity
                and count_arms(main, width_ratio=self.arm_width_ratio)
                <= (self.max_arms if max_arms is None else max_arms))

    def _result(self, pieces, shape, components, factor) -> Bunch:
        masks = np.zeros((len(pieces), *shape), dtype=bool)
        boxes = np.zeros((len(pieces), 4), dtype=np.int64)
        lengths = np.zeros(len(pieces), dtype=np.float64)
        areas = np.zeros(len(pieces), dtype=np.int64)
        for k, (local, (r0, c0, r1, c1), _) in enumerate(pieces):
            masks[k, r0:r1, c0:c1] = local
            rr0, cc0, rr1, cc1 = mask_box(local)
            boxes[k] = (r0 + rr0, c0 + cc0, r0 + rr1, c0 + cc1)
            lengths[k] = medial_axis_length(local)
            areas[k] = np.count_nonzero(local)
        return Bunch(
            masks=masks,
            boxes=boxes,
            source=np.array([p[2] for p in pieces], dtype=object),
            area=areas,
            length=lengths,
            components=components,
            grey_factor=float(factor),
        )
