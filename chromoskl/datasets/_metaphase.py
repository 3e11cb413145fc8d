"""Synthetic metaphases with true instance masks, from drawn or segmented chromosomes."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from sklearn.utils import Bunch, check_random_state

from ._checks import _check_int, _check_shape
from ._compose import _crop_to_mask, _rotate_chromosome
from ._synthetic import _draw_chromosome

__all__ = ["make_metaphase", "chromosomes_from_metaphase"]

MAX_TRIES = 500
# Lengths, widths (pixels of the pair generator, make_overlapping_chromosomes) and brightness
# of the drawn chromosomes, as in its pool.
LENGTHS = (22.0, 62.0)
WIDTHS = (6.0, 9.5)
BRIGHTNESS = (75.0, 130.0)
# A crossing is kept when the overlap covers at most this share of the smaller chromosome
# (both stay visible as two arms each, or as a T) and at least MIN_OVERLAP pixels.
MAX_OVERLAP_SHARE = 0.4
MIN_OVERLAP = 4


def _drawn_chromosomes(rng, n: int, scale: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` chromosomes of the pair generator, in homologous pairs of like size."""
    n_sizes = (n + 1) // 2
    lengths = np.repeat(np.linspace(*LENGTHS, n_sizes), 2)[:n] + rng.uniform(-1.0, 1.0, n)
    widths = WIDTHS[0] + (WIDTHS[1] - WIDTHS[0]) * (lengths - LENGTHS[0]) / np.ptp(LENGTHS)
    brightness = rng.uniform(*BRIGHTNESS, n)
    return [
        _draw_chromosome(rng, lengths[i] * scale, widths[i] * scale, brightness[i])
        for i in range(n)
    ]


def _check_chromosomes(chromosomes) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the given (grey, mask) patches as float32 and bool arrays, checked."""
    out = []
    for k, item in enumerate(chromosomes):
        try:
            grey, mask = item
        except (TypeError, ValueError):
            raise ValueError(
                f"chromosomes[{k}] must be a pair (grey, mask) of 2-D arrays, as "
                "chromosomes_from_metaphase returns."
            ) from None
        grey, mask = np.asarray(grey, dtype=np.float32), np.asarray(mask, dtype=bool)
        if grey.ndim != 2 or grey.shape != mask.shape or not mask.any():
            raise ValueError(
                f"chromosomes[{k}]: grey and mask must be 2-D arrays of one shape with at least "
                f"one mask pixel, got shapes {grey.shape} and {mask.shape}."
            )
        out.append(_crop_to_mask(grey, mask))
    if not out:
        raise ValueError("chromosomes is empty: give at least one (grey, mask) pair.")
    return out


def _crossing(rng, first, second):
    """Lay ``second`` across ``first``: (grey, [mask_first, mask_second]) on one patch, or
    None when the draw does not make a crossing (too little or too much overlap)."""
    (grey_f, mask_f), (grey_s, mask_s) = first, second
    u, v = rng.uniform(0.3, 0.7, size=2)
    dy = int(u * (mask_f.shape[0] + mask_s.shape[0])) - mask_s.shape[0]
    dx = int(v * (mask_f.shape[1] + mask_s.shape[1])) - mask_s.shape[1]
    top, left = min(0, dy), min(0, dx)
    shape = (max(mask_f.shape[0], dy + mask_s.shape[0]) - top,
             max(mask_f.shape[1], dx + mask_s.shape[1]) - left)
    grey = np.zeros(shape, np.float32)
    masks = np.zeros((2, *shape), bool)
    for k, (g, m, (r, c)) in enumerate(((grey_f, mask_f, (-top, -left)),
                                        (grey_s, mask_s, (dy - top, dx - left)))):
        grey[r : r + m.shape[0], c : c + m.shape[1]] += g
        masks[k, r : r + m.shape[0], c : c + m.shape[1]] = m
    overlap = np.count_nonzero(masks[0] & masks[1])
    smaller = min(mask_f.sum(), mask_s.sum())
    if overlap < MIN_OVERLAP or overlap > MAX_OVERLAP_SHARE * smaller:
        return None
    return grey, masks


def _place(rng, occupied, unit_mask, gap):
    """A random (row, col) where ``unit_mask`` keeps ``gap`` pixels from ``occupied``."""
    grown = ndi.binary_dilation(np.pad(unit_mask, gap), iterations=gap) if gap else unit_mask
    h, w = grown.shape
    if h > occupied.shape[0] or w > occupied.shape[1]:
        return None
    for _ in range(MAX_TRIES):
        r = rng.randint(occupied.shape[0] - h + 1)
        c = rng.randint(occupied.shape[1] - w + 1)
        if not (occupied[r : r + h, c : c + w] & grown).any():
            occupied[r : r + h, c : c + w] |= grown
            return r + gap, c + gap
    return None


def make_metaphase(
    n_chromosomes: int = 46,
    n_overlaps: int = 2,
    *,
    shape: tuple[int, int] = (1024, 1536),
    chromosomes=None,
    scale: float = 2.0,
    gain: float | None = None,
    background: float = 250.0,
    noise: float = 8.0,
    gap: int = 6,
    random_state=None,
) -> Bunch:
    """Generate a synthetic metaphase image with the true mask of every chromosome.

    The chromosomes are drawn by the pair generator (:func:`make_overlapping_chromosomes`:
    banded, bent rods, here in homologous pairs of like size) or taken from a segmented
    metaphase (:func:`chromosomes_from_metaphase`), rotated at random, and laid on the canvas
    apart from each other, except for ``n_overlaps`` pairs laid across each other, with the
    grey values summed where they cross (as in Pommier's pairs). The image then gets a
    background level with a broad glow and Gaussian noise, like a raw microscope image,
    so that background correction has work to do.

    Parameters
    ----------
    n_chromosomes : int, default=46
    n_overlaps : int, default=2
        Pairs of chromosomes that cross; ``2 * n_overlaps <= n_chromosomes``.
    shape : tuple of int, default=(1024, 1536)
        The canvas (DAPI.tif's size).
    chromosomes : list of (grey, mask) or None, default=None
        Chromosomes to use (at the canvas's pixel size, background 0), e.g. from
        :func:`chromosomes_from_metaphase`; drawn at random with replacement when fewer than
        ``n_chromosomes``. None draws them with the pair generator.
    scale : float, default=2.0
        Size of drawn chromosomes relative to the pair generator's: 2 makes a metaphase at
        the resolution that Pommier's pairs were down-sampled from by 2.
    gain : float or None, default=None
        Factor on the chromosomes' grey values; None: 8 for drawn chromosomes (a 12-bit
        camera's scale), 1 for given ones.
    background : float, default=250
        Mean background level.
    noise : float, default=8
        Standard deviation of the Gaussian noise.
    gap : int, default=6
        Least distance, in pixels, between chromosomes that do not cross.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : sklearn.utils.Bunch
        - ``image``: float32 ``(H, W)``.
        - ``masks``: bool ``(n_chromosomes, H, W)``, one per chromosome; where two cross,
          a pixel belongs to both.
        - ``crossed``: int ``(n_overlaps, 2)``, the indices of the masks that cross.
        - ``DESCR``.

    Raises
    ------
    ValueError
        If the chromosomes cannot be placed (a canvas too small for them) or an argument is
        out of range.
    """
    n_chromosomes = _check_int(n_chromosomes, "n_chromosomes", 1)
    n_overlaps = _check_int(n_overlaps, "n_overlaps", 0)
    if 2 * n_overlaps > n_chromosomes:
        raise ValueError(
            f"n_overlaps={n_overlaps} crossings need {2 * n_overlaps} chromosomes, more than "
            f"n_chromosomes={n_chromosomes}."
        )
    shape = _check_shape(shape, 16)
    gap = _check_int(gap, "gap", 0)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}.")
    rng = check_random_state(random_state)
    if chromosomes is None:
        pool = _drawn_chromosomes(rng, n_chromosomes, scale)
        gain = 8.0 if gain is None else float(gain)
    else:
        given = _check_chromosomes(chromosomes)
        picks = (rng.permutation(len(given))[:n_chromosomes] if len(given) >= n_chromosomes
                 else rng.randint(len(given), size=n_chromosomes))
        pool = [given[i] for i in picks]
        gain = 1.0 if gain is None else float(gain)
    pool = [_rotate_chromosome(g, m, rng.uniform(0.0, 360.0)) for g, m in pool]

    # units: crossing pairs first, then singles; each is (grey, masks, indices)
    order = rng.permutation(n_chromosomes)
    units = []
    for p in range(n_overlaps):
        i, j = order[2 * p], order[2 * p + 1]
        for _ in range(MAX_TRIES):
            made = _crossing(rng, pool[i], _rotate_chromosome(*pool[j], rng.uniform(0, 360)))
            if made is not None:
                break
        else:  # pragma: no cover - the draws above almost always succeed within a few tries
            raise ValueError(f"Could not cross chromosomes {i} and {j}; try another seed.")
        units.append((made[0], made[1], (i, j)))
    units += [(pool[i][0], pool[i][1][None], (i,)) for i in order[2 * n_overlaps:]]
    units.sort(key=lambda u: -u[1].shape[1] * u[1].shape[2])  # large first: they fit

    chromosome_grey = np.zeros(shape, np.float32)
    masks = np.zeros((n_chromosomes, *shape), bool)
    occupied = np.zeros(shape, bool)
    for grey, unit_masks, indices in units:
        where = _place(rng, occupied, unit_masks.any(axis=0), gap)
        if where is None:
            raise ValueError(
                f"Could not place {n_chromosomes} chromosomes {gap} px apart on a "
                f"{shape[0]}x{shape[1]} canvas; give a larger shape, a smaller gap or fewer "
                "chromosomes."
            )
        r, c = where
        h, w = grey.shape
        chromosome_grey[r : r + h, c : c + w] += grey
        for k, index in enumerate(indices):
            masks[index, r : r + h, c : c + w] = unit_masks[k]

    rows, cols = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    centre = rng.uniform(0, 1, 2) * shape
    spread = 0.35 * max(shape)
    glow = np.exp(-0.5 * ((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / spread**2)
    image = (background * (1.0 + 0.3 * glow) + gain * chromosome_grey
             + rng.normal(0.0, noise, shape)).astype(np.float32)
    crossed = np.array([u[2] for u in units if len(u[2]) == 2], dtype=np.int64).reshape(-1, 2)
    source = "drawn by the pair generator" if chromosomes is None else "given"
    return Bunch(
        image=image,
        masks=masks,
        crossed=crossed[np.argsort(crossed[:, 0])] if len(crossed) else crossed,
        DESCR=(
            f"Synthetic metaphase (chromoskl.datasets.make_metaphase): {n_chromosomes} "
            f"chromosomes ({source}) on a {shape[0]}x{shape[1]} canvas, {n_overlaps} crossing "
            f"pairs, background {background} with a glow, grey gain {gain}, noise {noise}."
        ),
    )


def chromosomes_from_metaphase(image, **params) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut the single chromosomes out of a real metaphase, for :func:`make_metaphase`.

    The separator's steps without a segmenter (background correction, threshold,
    components, singles told from clusters: :class:`chromoskl.metaphase.MetaphaseSeparator`)
    find the chromosomes that lie alone; each is returned as its background-corrected grey
    values, 0 outside it, with its mask. Clusters are left out, as their chromosomes are not
    known.

    Parameters
    ----------
    image : array-like of shape (H, W)
        A metaphase (raw or 8-bit grey; RGB is turned grey).
    **params
        Parameters of :class:`~chromoskl.metaphase.MetaphaseSeparator` (e.g.
        ``background_radius``, ``threshold``, ``min_area``).

    Returns
    -------
    chromosomes : list of (grey, mask)
        float32 and bool arrays of the chromosome's box.
    """
    from ..metaphase import MetaphaseSeparator, subtract_background

    separator = MetaphaseSeparator(None, **params)
    found = separator.separate(image)
    radius = separator.background_radius
    corrected = (np.asarray(image, np.float32) if radius is None
                 else subtract_background(image, radius))
    out = []
    for mask, (r0, c0, r1, c1), source in zip(found.masks, found.boxes, found.source):
        if source == "single":
            local = mask[r0:r1, c0:c1]
            out.append((np.where(local, corrected[r0:r1, c0:c1], 0).astype(np.float32), local))
    return out
