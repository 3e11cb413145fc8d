"""Run the network only where the chromosomes are: each image cut to its content.

Pommier's pairs lie in 94x93 frames of exact-zero background, and the content of the median
image is 38x38 pixels: more than four fifths of a whole-frame pass is spent on background. With
``content_margin`` set, the estimator cuts every image to a centred box around its
non-background pixels, widened by the margin and rounded up to the network's divisor, and
batches images whose boxes have the same size together (bucketing, as text models batch
sentences of one length). Training, ``fit``'s validation and prediction (``predict_proba``)
cut the same way; prediction pastes each crop back and calls everything outside it
background. The validation score is counted from the validation loss's own crops
(:mod:`chromoskl._validation_score`), so each epoch runs the network over the validation
images once, on their boxes.

BatchNorm normalises each training batch, all of one box size, by its own statistics; one
running average over every size would cost the naming of A and B at prediction, so the
estimator keeps statistics per box size (:mod:`chromoskl._box_norm`).

Written by hand: neither skorch, torch nor torchvision batches images by a per-image crop.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["content_boxes", "boxes_by_size", "cut_boxes", "ContentCropBatches",
           "proba_by_content"]


def content_boxes(images, margin: int, divisor: int) -> np.ndarray:
    """The box of each image to run the network on, ``(n, 4)`` int: top, left, height, width.

    The box is a centred crop of the image (the convention of
    :func:`chromoskl._geometry.centre_crop`): the smallest whose height and width are
    multiples of ``divisor`` and that holds every content pixel with ``margin`` pixels to
    spare. Centred on the image and not on the content, so that the network sees the framing
    of whole images: in Pommier's pairs the larger chromosome sits at the frame's centre, a
    cue the networks use to name A and B (after 8 minutes' training, chromosome A IoU 0.851
    with boxes centred on the content, 0.879 centred on the image, 0.940 on whole images;
    ``benchmarks/RESULTS.md``). A side that would reach the image's size
    takes the whole side (the estimator pads it as it pads whole images), and so does an
    image without content.

    A pixel is content when any of its channels differs from the background, the median of
    that channel along the image's border (exact zero in Pommier's pairs, whose chromosomes
    hold some negative values from interpolation).

    Parameters
    ----------
    images : ndarray or Tensor, shape (n, C, H, W)
    margin : int
        Background pixels kept around the content on every side (at least).
    divisor : int
        The network's input divisor (``2 ** depth`` for U-Net).

    Returns
    -------
    boxes : ndarray of int64, shape (n, 4)
    """
    images = torch.as_tensor(images)
    n, channels, height, width = images.shape
    border = torch.cat([images[..., 0, :], images[..., -1, :], images[..., 0], images[..., -1]],
                       dim=-1)
    background = border.median(dim=-1).values[..., None, None]  # (n, C, 1, 1)
    content = (images != background).any(dim=1)  # (n, H, W)
    boxes = np.empty((n, 4), dtype=np.int64)
    for axis, (start_col, size_col, frame) in enumerate(((0, 2, height), (1, 3, width))):
        present = content.any(dim=2 - axis).numpy()  # rows (axis 0) or columns (axis 1)
        has = present.any(axis=1)
        first = present.argmax(axis=1)
        last = frame - 1 - present[:, ::-1].argmax(axis=1)
        # the farthest content pixel from the centre, on either side of it
        half = np.maximum(frame / 2 - first, last + 1 - frame / 2)
        wanted = np.ceil(2 * half).astype(np.int64) + 2 * margin
        size = -(-wanted // divisor) * divisor
        size = np.where(has & (size < frame), size, frame)
        boxes[:, start_col], boxes[:, size_col] = (frame - size) // 2, size
    return boxes


def boxes_by_size(boxes: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """Image indices grouped by box (height, width), the sizes in increasing order."""
    sizes = boxes[:, 2:]
    groups = {}
    for size in sorted({tuple(map(int, s)) for s in sizes}):
        groups[size] = np.flatnonzero((sizes[:, 0] == size[0]) & (sizes[:, 1] == size[1]))
    return groups


def cut_boxes(tensor: torch.Tensor, boxes: np.ndarray) -> torch.Tensor:
    """The crops of ``tensor`` (n, ..., H, W) at ``boxes`` of one size, (n, ..., h, w)."""
    if len(boxes) == 0:
        return tensor[:0]
    height, width = int(boxes[0, 2]), int(boxes[0, 3])
    device = tensor.device
    tops = torch.as_tensor(boxes[:, 0], device=device)[:, None]
    lefts = torch.as_tensor(boxes[:, 1], device=device)[:, None]
    rows = tops + torch.arange(height, device=device)
    cols = lefts + torch.arange(width, device=device)
    index = torch.arange(len(boxes), device=device)[:, None, None]
    # advanced indexing on the last two axes: (n, h, w, ...) with the middle axes moved last
    crops = tensor.movedim((-2, -1), (1, 2))[index, rows[:, :, None], cols[:, None, :]]
    return crops.movedim((1, 2), (-2, -1)).contiguous()


class ContentCropBatches:
    """Batches of content crops, each batch of one box size.

    The crops are cut once, here. Every pass yields each image once; with ``shuffle`` the
    images are shuffled within each size and the batches of all sizes are then shuffled
    together, from ``generator``. With ``sample_weights`` set (and ``shuffle``), a pass
    instead draws as many images as there are, with replacement, each with probability
    proportional to its weight (:class:`chromoskl.sampling.LossProportionalSampling` sets
    them), and batches the drawn images by size.

    Parameters
    ----------
    X : Tensor (n, C, H, W)
    y : Tensor (n, H, W) or None
    boxes : ndarray (n, 4), from :func:`content_boxes`
    batch_size : int
    shuffle : bool
    generator : torch.Generator or None
    device : str

    Attributes
    ----------
    n_images : int
        The number of images, ``len(X)``.
    sample_weights : Tensor (n,) or None
        Unnormalised probabilities of drawing each image (by its index in ``X``); None draws
        every image once per pass.
    last_indices : Tensor of int64 or None
        The indices in ``X`` of the images of the batch yielded last.
    label_counts_outside : Tensor of int64 or None
        Pixels of each label value that lie outside every box (all zero when the boxes hold
        every labelled pixel, as in Pommier's pairs); None without labels. Prediction calls
        those pixels background, so a score counted on the crops adds them back.
    """

    def __init__(self, X, y, boxes, *, batch_size, shuffle=False, generator=None,
                 device="cpu"):
        self.batch_size = max(int(batch_size), 1)
        self.shuffle = shuffle
        self.generator = generator
        self.n_images = len(X)
        self.groups = []
        self.group_indices = []
        self.sample_weights = None
        self.last_indices = None
        self.label_counts_outside = None
        if y is not None:
            self.label_counts_outside = torch.bincount(y.reshape(-1).long().cpu())
        for indices in boxes_by_size(boxes).values():
            index = torch.as_tensor(indices)
            images = cut_boxes(X[index], boxes[indices]).to(device)
            labels = cut_boxes(y[index], boxes[indices]) if y is not None else None
            if labels is not None:
                inside = torch.bincount(labels.reshape(-1).long().cpu(),
                                        minlength=len(self.label_counts_outside))
                self.label_counts_outside -= inside
                labels = labels.to(device)
            self.groups.append((images, labels))
            self.group_indices.append(index)

    def __len__(self):
        return sum(math.ceil(len(images) / self.batch_size) for images, _ in self.groups)

    def __iter__(self):
        drawn = self._drawn_per_group() if self.shuffle else None
        batches = []
        for group, (images, _) in enumerate(self.groups):
            if drawn is not None:
                order = drawn[group]
            elif self.shuffle:
                order = torch.randperm(len(images), generator=self.generator)
            else:
                order = None
            n = len(images) if order is None else len(order)
            for start in range(0, n, self.batch_size):
                index = (slice(start, start + self.batch_size) if order is None
                         else order[start : start + self.batch_size])
                batches.append((group, index))
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=self.generator)]
        for group, index in batches:
            images, labels = self.groups[group]
            self.last_indices = self.group_indices[group][index]
            if not isinstance(index, slice):
                index = index.to(images.device)
            yield images[index], (labels[index] if labels is not None else None)

    def _drawn_per_group(self):
        """With ``sample_weights``: for each size, the positions in its group of the images
        drawn for this pass (as many draws in all as images, with replacement)."""
        if self.sample_weights is None:
            return None
        weights = torch.as_tensor(self.sample_weights, dtype=torch.float64).cpu()
        n = self.n_images
        if weights.shape != (n,) or not torch.isfinite(weights).all() or (weights < 0).any() \
                or weights.sum() <= 0:
            raise ValueError(f"sample_weights must be {n} finite, non-negative numbers, not all "
                             f"zero (one per training image); got shape {tuple(weights.shape)}")
        draws = torch.multinomial(weights, n, replacement=True, generator=self.generator)
        group_of = torch.empty(n, dtype=torch.long)
        position_of = torch.empty(n, dtype=torch.long)
        for group, index in enumerate(self.group_indices):
            group_of[index] = group
            position_of[index] = torch.arange(len(index))
        return [position_of[draws[group_of[draws] == group]]
                for group in range(len(self.groups))]


def proba_by_content(images: np.ndarray, boxes: np.ndarray, predict_crops) -> np.ndarray:
    """Class probabilities of whole images from the network run on their content crops.

    Parameters
    ----------
    images : ndarray (n, C, H, W) float32
    boxes : ndarray (n, 4), from :func:`content_boxes`
    predict_crops : callable
        Takes crops (m, C, h, w) of one size and returns their probabilities (m, K, h, w).

    Returns
    -------
    proba : ndarray (n, K, H, W) float32
        Each crop's probabilities in its box; background (class 0) with probability 1
        outside it.
    """
    n, _, height, width = images.shape
    proba = None
    tensor = torch.from_numpy(images)
    for indices in boxes_by_size(boxes).values():
        crops = cut_boxes(tensor[torch.as_tensor(indices)], boxes[indices]).numpy()
        part = predict_crops(crops)
        if proba is None:
            proba = np.zeros((n, part.shape[1], height, width), dtype=np.float32)
            proba[:, 0] = 1.0
        for j, k in enumerate(indices):
            top, left, h, w = boxes[k]
            proba[k, :, top : top + h, left : left + w] = part[j]
    return proba
