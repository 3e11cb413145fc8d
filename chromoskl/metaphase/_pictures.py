"""Pictures of a separated metaphase: an overlay with numbers and a gallery of straightened
chromosomes (matplotlib, written to files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage import measure
from skimage.transform import rotate

from ._measure import mask_box

__all__ = [
    "instance_colours", "upright_chromosome", "gallery_chromosome", "save_overlay", "save_gallery",
]

# Pixels of background around a chromosome in the gallery.
_MARGIN = 3


def instance_colours(n: int) -> np.ndarray:
    """``n`` distinct RGB colours (0..1), from matplotlib's qualitative maps, cycled."""
    from matplotlib import colormaps

    table = np.concatenate([colormaps["tab20"].colors, colormaps["tab20b"].colors])[:, :3]
    return table[np.arange(n) % len(table)]


def stretch_grey(image) -> np.ndarray:
    """Grey levels to [0, 1] between the 1st and 99.8th percentiles, so that 12-bit, 8-bit
    and float metaphases look (and classify) alike."""
    image = np.asarray(image, dtype=np.float64)
    low, high = np.percentile(image, [1.0, 99.8])
    return np.clip((image - low) / max(high - low, 1e-12), 0.0, 1.0)


def cut_out(image, mask, *, margin: int = _MARGIN):
    """One chromosome cut out of ``image``: the box of ``mask`` widened by ``margin`` pixels
    (within the image), the image's values inside the mask and 0 outside, and the mask in
    that box. None for an empty mask."""
    mask = np.asarray(mask, dtype=bool)
    r0, c0, r1, c1 = mask_box(mask)
    if r1 == r0:
        return None
    r0, c0 = max(r0 - margin, 0), max(c0 - margin, 0)
    r1, c1 = min(r1 + margin, mask.shape[0]), min(c1 + margin, mask.shape[1])
    local = mask[r0:r1, c0:c1]
    return np.where(local, np.asarray(image, dtype=np.float64)[r0:r1, c0:c1], 0.0), local


def upright_chromosome(image, mask, *, margin: int = _MARGIN) -> np.ndarray:
    """One chromosome cut out of ``image`` (0 outside ``mask``) and turned so that its major
    axis is vertical (the orientation from :func:`skimage.measure.regionprops`)."""
    mask = np.asarray(mask, dtype=bool)
    (region,) = measure.regionprops(mask.astype(np.uint8))
    grey, local = cut_out(image, mask, margin=margin)
    # orientation: angle between the rows axis and the major axis, counter-clockwise
    # positive; rotating the image by minus that angle (in degrees) makes the axis vertical
    angle = -np.degrees(region.orientation)
    turned = rotate(grey, angle, resize=True, order=1, preserve_range=True)
    inside = rotate(local.astype(np.float64), angle, resize=True, order=1) >= 0.5
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if rows.size == 0:
        return grey
    return np.where(inside, turned, 0.0)[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def gallery_chromosome(image, mask, *, margin: int = _MARGIN) -> np.ndarray:
    """One chromosome as the gallery and the karyogram show it: straightened along its medial
    axis with the shorter arm on top (:func:`chromoskl.recognition.straighten`), 0 outside it;
    turned upright along its major axis (:func:`upright_chromosome`) where it cannot be
    straightened."""
    from ..recognition import straighten

    cut = cut_out(image, mask, margin=margin)
    if cut is None:
        return np.zeros((1, 1))
    grey, local = cut
    try:
        straight, inside = straighten(grey, local, return_mask=True)
    except ValueError:
        return upright_chromosome(image, mask, margin=margin)
    keep_rows, keep_cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if keep_rows.size == 0:
        return upright_chromosome(image, mask, margin=margin)
    straight = np.where(inside, straight, 0.0)
    return straight[keep_rows[0] : keep_rows[-1] + 1, keep_cols[0] : keep_cols[-1] + 1]


def save_overlay(path, image, masks, *, alpha: float = 0.45) -> Path:
    """Write the grey image with each chromosome in its own colour and its number (from 1).

    Where two chromosomes cross, their colours are mixed.
    """
    from ..plotting import _pyplot

    plt = _pyplot()
    grey = stretch_grey(image)
    masks = np.asarray(masks, dtype=bool)
    colours = instance_colours(len(masks))
    count = masks.sum(axis=0)
    paint = np.zeros((*grey.shape, 3))
    for mask, colour in zip(masks, colours):  # one at a time: a float stack of 46 is 0.5 GB
        paint[mask] += colour
    paint /= np.maximum(count, 1)[..., None]
    picture = np.repeat(grey[..., None], 3, axis=-1)
    on = count > 0
    picture[on] = (1 - alpha) * picture[on] + alpha * paint[on]
    height, width = grey.shape
    dpi = 100
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(picture, interpolation="nearest")
    fontsize = max(6, min(14, height // 80))
    for k, mask in enumerate(masks):
        if not mask.any():
            continue
        rows, cols = np.nonzero(mask)
        ax.text(cols.mean(), rows.mean(), str(k + 1), color="white", fontsize=fontsize,
                ha="center", va="center", fontweight="bold",
                bbox={"facecolor": colours[k], "alpha": 0.7, "pad": 1, "linewidth": 0})
    ax.set_axis_off()
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def save_gallery(path, image, masks, *, labels=None, columns: int = 12) -> Path:
    """Write every chromosome, cut out and straightened (:func:`gallery_chromosome`), in a
    grid numbered as in the overlay."""
    from ..plotting import _pyplot

    plt = _pyplot()
    masks = np.asarray(masks, dtype=bool)
    n = max(len(masks), 1)
    columns = min(columns, n)
    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.1 * columns, 2.0 * rows), squeeze=False)
    grey = stretch_grey(image)
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k >= len(masks) or not masks[k].any():
            continue
        ax.imshow(gallery_chromosome(grey, masks[k]), cmap="gray", vmin=0, vmax=1)
        title = str(k + 1) if labels is None else f"{k + 1} {labels[k]}"
        ax.set_title(title, fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
