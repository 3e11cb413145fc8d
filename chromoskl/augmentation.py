"""Joint augmentation of image and label batches, on the batch's own device.

:class:`Augmenter` holds the augmentations of the thesis (Lemma, 2023) and of the recognition
slides as scikit-learn parameters: each has a probability and a range. The estimator calls
:meth:`Augmenter.augment_batch` on every training batch (new draws every epoch); a pipeline
can hold it as an imbalanced-learn style sampler through :meth:`Augmenter.fit_resample`.

Geometry and labels
-------------------
Flips and quarter turns move pixels exactly (index arithmetic, no interpolation). Rotation by
any angle, zoom and translation are one affine map per sample, resampled with one kornia
``warp_affine`` for the whole batch: bilinear for images, nearest neighbour for labels, so a
label map never gains a value it did not have. Pixels that come from outside the frame get
``fill`` in the images and 0 (background) in the labels. Angles are counter-clockwise as an
image is displayed (row 0 at the top), as in ``skimage.transform.rotate``; the centre of
rotation and zoom is the centre of the frame, ``((H - 1) / 2, (W - 1) / 2)`` in pixel indices.

What kornia does and what is written here
-----------------------------------------
kornia (imported when first needed, as it adds seconds to ``import chromoskl``) builds the
affine matrices in pixels (``get_affine_matrix2d``), turns them into ``grid_sample``'s
coordinates (``normalize_homography``) and blurs with one sigma per sample
(``gaussian_blur2d``). Written here, as kornia lacks them: the draws,
from one ``torch.Generator`` per augmenter, so that ``random_state`` fixes every draw (kornia's
random augmentations draw from torch's global generator); the flips and quarter turns as one
exact index permutation per sample, including quarter turns of non-square images inside their
frame; contrast about each image's mean, and brightness and noise relative to the batch's
grey range (kornia's ``adjust_contrast`` scales about 0 and clips to [0, 1]); and the
``fill`` value outside the frame for any grey scale. One sampling grid serves images and
labels: kornia's ``warp_affine``, called for each, took 12.0 ms per batch of 32 images of
96 x 96 against 5.3 ms for the shared grid (one CPU thread, best of 15 rounds).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator

from ._augment_checks import check_augmenter_params, check_batch, check_resample_arrays, seed_from

__all__ = ["Augmenter"]

#: images per augment_batch call in fit_resample (bounds the memory of the copies)
_CHUNK = 256
#: source-from-output index maps of 0..3 counter-clockwise quarter turns (torch.rot90, k=0..3)
_QUARTER_TURNS = ((1, 0, 0, 1), (0, 1, -1, 0), (-1, 0, 0, -1), (0, -1, 1, 0))


def _bernoulli(p: float, n: int, gen: torch.Generator, device) -> torch.Tensor:
    """``n`` independent booleans, each True with probability ``p``."""
    return torch.rand(n, generator=gen, device=device) < p


def _uniform(bounds, n: int, gen: torch.Generator, device) -> torch.Tensor:
    """``n`` float32 draws, uniform between ``bounds[0]`` and ``bounds[1]``."""
    low, high = float(bounds[0]), float(bounds[1])
    return low + (high - low) * torch.rand(n, generator=gen, device=device)


def _gather_pixels(
    X: torch.Tensor, y: torch.Tensor, source_i: torch.Tensor, source_j: torch.Tensor, fill: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Move pixels: output (i, j) of each sample takes input (source_i, source_j) or the fill."""
    n, c, h, w = X.shape
    inside = (source_i >= 0) & (source_i < h) & (source_j >= 0) & (source_j < w)
    flat = (source_i.clamp(0, h - 1) * w + source_j.clamp(0, w - 1)).reshape(n, h * w)
    X_out = X.reshape(n, c, h * w).gather(2, flat[:, None, :].expand(n, c, h * w))
    X_out = torch.where(
        inside[:, None],
        X_out.reshape(n, c, h, w),
        torch.as_tensor(fill, dtype=X.dtype, device=X.device),
    )
    y_out = torch.where(inside, y.reshape(n, h * w).gather(1, flat).reshape(n, h, w), 0)
    return X_out, y_out.to(y.dtype)


class Augmenter(BaseEstimator):
    """Random joint augmentation of images and label maps, batched on any device.

    Each augmentation is applied to each sample independently with its probability; its
    strength is drawn uniformly from its range. Geometric ones move images and labels together;
    intensity ones touch the images only. The order is: flips and quarter turns, whole-pixel
    shifts, then the affine map (rotation, zoom, translation), then contrast, brightness, blur
    and noise.

    Parameters
    ----------
    hflip : float, default=0.5
        Probability of a left-right flip.
    vflip : float, default=0.5
        Probability of an up-down flip.
    rot90 : float, default=0.5
        Probability of a quarter turn by 90, 180 or 270 degrees (equally likely). On non-square
        images the turn is made inside the frame about its centre (rounded down to the pixel
        grid when H - W is odd): corners that leave the frame are cut, new ones are filled.
    rotate : float, default=0.0
        Probability of a rotation by an angle from ``rotate_range``.
    rotate_range : tuple of float, default=(-180, 180)
        Angles in degrees, counter-clockwise.
    scale : float, default=0.0
        Probability of a zoom (the "scale/crop/zoom" augmentation) by a factor from
        ``scale_range``: above 1 zooms in (the border is cropped), below 1 zooms out.
    scale_range : tuple of float, default=(0.9, 1.1)
    translate : float, default=0.0
        Probability of a shift.
    translate_range : float, default=0.1
        Largest shift as a fraction of the height (rows) and width (columns); each is drawn from
        ``[-translate_range, translate_range]`` times that side.
    shift : float, default=0.0
        Probability of a shift by whole pixels, which moves pixels exactly (no resampling, so
        the labels' edges stay where they were drawn, as ``translate`` cannot promise). On
        Pommier's pairs, shifts by one pixel delayed a U-Net's memorising of its training
        images: 0.958 overlap IoU after 55 minutes against 0.953 without, 0.962 after 115
        (``benchmarks/RESULTS.md``, issue 9).
    shift_pixels : int, default=1
        Largest whole-pixel shift; rows and columns are each drawn from
        ``-shift_pixels..shift_pixels``.
    brightness : float, default=0.0
        Probability of adding a constant ``delta * ref`` to an image, ``delta`` from
        ``brightness_range``. ``ref`` is the intensity scale of the batch: its maximum minus its
        minimum grey value (before augmentation), so that the range means the same for raw grey
        values (-15..402), standardised or 0..1 images.
    brightness_range : tuple of float, default=(-0.1, 0.1)
    contrast : float, default=0.0
        Probability of scaling an image about its own mean grey value by a factor from
        ``contrast_range``.
    contrast_range : tuple of float, default=(0.8, 1.2)
    blur : float, default=0.0
        Probability of a Gaussian blur with a standard deviation (pixels) from ``blur_sigma``.
    blur_sigma : tuple of float, default=(0.5, 1.5)
    noise : float, default=0.0
        Probability of adding Gaussian noise of standard deviation ``noise_std * ref`` to every
        pixel (``ref`` as for ``brightness``).
    noise_std : float, default=0.05
    fill : float, default=0.0
        Grey value of image pixels that come from outside the frame (labels get 0).
    n_copies : int, default=1
        Augmented copies of every sample returned by :meth:`fit_resample`.
    random_state : int, numpy RandomState or Generator, or None, default=None
        Seeds a ``torch.Generator`` created on first use on the batch's device: the same int
        gives the same draws; None gives fresh entropy. Successive calls continue the stream,
        so every batch and every epoch gets new draws. A clone or an unpickled copy starts the
        stream again from ``random_state``.

    References
    ----------
    Lemma, thesis (2023): flips and rotations of the training images. The recognition slides:
    flips, rotations, scale/crop/zoom, brightness, contrast, blur and noise. Departures: all
    of them are drawn per sample and applied to whole batches on the training device; the
    intensity ranges are relative to each batch's grey-value range rather than absolute.

    Examples
    --------
    >>> import torch
    >>> aug = Augmenter(random_state=0)
    >>> X, y = torch.rand(4, 1, 16, 16), torch.randint(0, 4, (4, 16, 16))
    >>> X_aug, y_aug = aug.augment_batch(X, y)
    >>> X_aug.shape, y_aug.shape
    (torch.Size([4, 1, 16, 16]), torch.Size([4, 16, 16]))
    """

    def __init__(
        self,
        hflip=0.5,
        vflip=0.5,
        rot90=0.5,
        rotate=0.0,
        rotate_range=(-180.0, 180.0),
        scale=0.0,
        scale_range=(0.9, 1.1),
        translate=0.0,
        translate_range=0.1,
        shift=0.0,
        shift_pixels=1,
        brightness=0.0,
        brightness_range=(-0.1, 0.1),
        contrast=0.0,
        contrast_range=(0.8, 1.2),
        blur=0.0,
        blur_sigma=(0.5, 1.5),
        noise=0.0,
        noise_std=0.05,
        fill=0.0,
        n_copies=1,
        random_state=None,
    ):
        self.hflip = hflip
        self.vflip = vflip
        self.rot90 = rot90
        self.rotate = rotate
        self.rotate_range = rotate_range
        self.scale = scale
        self.scale_range = scale_range
        self.translate = translate
        self.translate_range = translate_range
        self.shift = shift
        self.shift_pixels = shift_pixels
        self.brightness = brightness
        self.brightness_range = brightness_range
        self.contrast = contrast
        self.contrast_range = contrast_range
        self.blur = blur
        self.blur_sigma = blur_sigma
        self.noise = noise
        self.noise_std = noise_std
        self.fill = fill
        self.n_copies = n_copies
        self.random_state = random_state

    # public API ----------------------------------------------------------------------------

    def augment_batch(self, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment a batch of images and label maps jointly, on their device.

        Parameters
        ----------
        X : torch.Tensor of shape (n, C, H, W), floating
        y : torch.Tensor of shape (n, H, W), integer labels, on the same device as ``X``

        Returns
        -------
        X_aug : torch.Tensor of shape (n, C, H, W), same dtype and device
        y_aug : torch.Tensor of shape (n, H, W), same dtype and device

        Raises
        ------
        TypeError
            If ``X`` or ``y`` is not a tensor of the right kind.
        ValueError
            For invalid parameters, mismatched shapes, or tensors on different devices.
        """
        check_augmenter_params(self)
        check_batch(X, y)
        gen = self._generator_for(X.device)
        with torch.no_grad():
            ref = (X.amax() - X.amin()) if (self.brightness or self.noise) else None
            X, y = self._flip_and_turn(X, y, gen)
            X, y = self._whole_pixel_shift(X, y, gen)
            X, y = self._affine(X, y, gen)
            X = self._intensity(X, gen, ref)
        return X, y

    def fit_resample(self, X, y):
        """Return the samples followed by ``n_copies`` augmented copies (imbalanced-learn style).

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or (n, C, H, W), real dtype
        y : ndarray of shape (n, H, W), integer labels

        Returns
        -------
        X_res : ndarray of shape (n * (1 + n_copies), ...), the layout and dtype of ``X``
            Integer images are rounded (and clipped to the dtype's range).
        y_res : ndarray of shape (n * (1 + n_copies), H, W), the dtype of ``y``

        Raises
        ------
        TypeError, ValueError
            For arrays of the wrong kind or shape, or invalid parameters.
        """
        check_augmenter_params(self)
        X, y = np.asarray(X), np.asarray(y)
        X4 = check_resample_arrays(X, y)
        work = torch.float64 if X.dtype == np.float64 else torch.float32
        X_parts, y_parts = [X], [y]
        for _ in range(self.n_copies):
            for start in range(0, len(X4), _CHUNK):
                xb = torch.as_tensor(X4[start : start + _CHUNK], dtype=work)
                yb = torch.as_tensor(y[start : start + _CHUNK].astype(np.int64))
                xa, ya = self.augment_batch(xb, yb)
                xa = xa.numpy()
                X_parts.append(_cast_like(xa if X.ndim == 4 else xa[:, 0], X.dtype))
                y_parts.append(ya.numpy().astype(y.dtype))
        return np.concatenate(X_parts), np.concatenate(y_parts)

    # steps ---------------------------------------------------------------------------------

    def _flip_and_turn(
        self, X: torch.Tensor, y: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Flips and quarter turns as one exact pixel permutation per sample."""
        if not (self.hflip or self.vflip or self.rot90):
            return X, y
        n, _, h, w = X.shape
        dev = X.device
        col_sign = 1 - 2 * _bernoulli(self.hflip, n, gen, dev).long()
        row_sign = 1 - 2 * _bernoulli(self.vflip, n, gen, dev).long()
        turns = torch.randint(1, 4, (n,), generator=gen, device=dev)
        turns = torch.where(_bernoulli(self.rot90, n, gen, dev), turns, 0)
        m = torch.tensor(_QUARTER_TURNS, device=dev)[turns]  # (n, 4): source = M @ flip(output)
        # doubled offsets from the centre keep the arithmetic in integers
        di = (2 * torch.arange(h, device=dev) - (h - 1))[None, :, None] * row_sign[:, None, None]
        dj = (2 * torch.arange(w, device=dev) - (w - 1))[None, None, :] * col_sign[:, None, None]
        m = m[:, :, None, None]
        source_i = torch.div((h - 1) + m[:, 0] * di + m[:, 1] * dj, 2, rounding_mode="floor")
        source_j = torch.div((w - 1) + m[:, 2] * di + m[:, 3] * dj, 2, rounding_mode="floor")
        return _gather_pixels(X, y, source_i, source_j, self.fill)

    def _whole_pixel_shift(
        self, X: torch.Tensor, y: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Shifts by whole pixels, as one exact pixel permutation per sample."""
        if not self.shift:
            return X, y
        n, _, h, w = X.shape
        dev = X.device
        reach = int(self.shift_pixels)
        offsets = torch.randint(-reach, reach + 1, (2, n), generator=gen, device=dev)
        offsets = torch.where(_bernoulli(self.shift, n, gen, dev)[None], offsets, 0)
        source_i = torch.arange(h, device=dev)[None, :, None] - offsets[0][:, None, None]
        source_j = torch.arange(w, device=dev)[None, None, :] - offsets[1][:, None, None]
        source_i, source_j = torch.broadcast_tensors(source_i, source_j)
        return _gather_pixels(X, y, source_i, source_j, self.fill)

    def _affine(
        self, X: torch.Tensor, y: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotation, zoom and translation: one ``affine_grid`` and ``grid_sample`` for the batch,
        from kornia's affine matrices."""
        if not (self.rotate or self.scale or self.translate):
            return X, y
        n, _, h, w = X.shape
        dev = X.device
        do_rotate = _bernoulli(self.rotate, n, gen, dev)
        angle = torch.where(do_rotate, _uniform(self.rotate_range, n, gen, dev), 0.0)
        do_scale = _bernoulli(self.scale, n, gen, dev)
        zoom = torch.where(do_scale, _uniform(self.scale_range, n, gen, dev), 1.0)
        do_shift = _bernoulli(self.translate, n, gen, dev)
        t = float(self.translate_range)
        shift = torch.where(do_shift[:, None], _uniform((-t, t), 2 * n, gen, dev).view(n, 2), 0.0)
        from kornia.geometry.conversions import normalize_homography
        from kornia.geometry.transform import get_affine_matrix2d

        work = torch.float64 if X.dtype == torch.float64 else torch.float32
        centre = torch.tensor([[(w - 1) / 2, (h - 1) / 2]], device=dev, dtype=work).expand(n, 2)
        # kornia's angle turns the other way round to skimage's on an image displayed row 0 on top
        matrix = get_affine_matrix2d(
            torch.stack([shift[:, 1] * w, shift[:, 0] * h], dim=1).to(work), centre,
            zoom[:, None].expand(n, 2).to(work), -angle.to(work),
        )
        # output-from-source in pixels -> source-from-output in grid_sample's coordinates; one
        # grid serves images and labels (kornia's warp_affine would build it twice)
        theta = torch.linalg.inv(normalize_homography(matrix, (h, w), (h, w)))[:, :2]
        grid = F.affine_grid(theta, list(X.shape), align_corners=True)
        options = {"padding_mode": "zeros", "align_corners": True}
        # shifting by fill makes the zeros that come from outside the frame equal to fill
        X_new = F.grid_sample(X - self.fill, grid.to(X.dtype), mode="bilinear", **options)
        X_new = X_new + self.fill
        y_new = F.grid_sample(y[:, None].to(work), grid, mode="nearest", **options)
        y_new = y_new[:, 0].round().to(y.dtype)
        moved = do_rotate | do_scale | do_shift
        X = torch.where(moved[:, None, None, None], X_new, X)
        return X, torch.where(moved[:, None, None], y_new, y)

    def _intensity(
        self, X: torch.Tensor, gen: torch.Generator, ref: torch.Tensor | None
    ) -> torch.Tensor:
        """Contrast, brightness, blur and noise, each per sample with its probability."""
        n = X.shape[0]
        dev = X.device
        if self.contrast:
            factor = torch.where(
                _bernoulli(self.contrast, n, gen, dev),
                _uniform(self.contrast_range, n, gen, dev),
                1.0,
            ).to(X.dtype)[:, None, None, None]
            mean = X.mean(dim=(1, 2, 3), keepdim=True)
            X = mean + factor * (X - mean)
        if self.brightness:
            delta = torch.where(
                _bernoulli(self.brightness, n, gen, dev),
                _uniform(self.brightness_range, n, gen, dev),
                0.0,
            )
            X = X + (delta * ref).to(X.dtype)[:, None, None, None]
        if self.blur:
            from kornia.filters import gaussian_blur2d

            do_blur = _bernoulli(self.blur, n, gen, dev)
            sigma = _uniform(self.blur_sigma, n, gen, dev)
            size = 2 * max(1, math.ceil(3 * float(self.blur_sigma[1]))) + 1
            blurred = gaussian_blur2d(
                X, (size, size), sigma[:, None].expand(n, 2).to(X.dtype), border_type="replicate"
            )
            X = torch.where(do_blur[:, None, None, None], blurred, X)
        if self.noise:
            std = torch.where(_bernoulli(self.noise, n, gen, dev), float(self.noise_std) * ref, 0.0)
            noise = torch.randn(X.shape, generator=gen, device=dev, dtype=X.dtype)
            X = X + std.to(X.dtype)[:, None, None, None] * noise
        return X

    # state ---------------------------------------------------------------------------------

    def _generator_for(self, device: torch.device) -> torch.Generator:
        """The random stream on ``device``, created (and seeded) on first use there."""
        old = getattr(self, "_generator", None)
        if old is not None and old.device == device:
            return old
        gen = torch.Generator(device=device)
        if old is not None:  # moved to another device: continue from the old stream
            seed = int(torch.randint(0, 2**62, (1,), generator=old, device=old.device))
        else:
            seed = seed_from(self.random_state)
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(seed)
        self._generator = gen
        return gen

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_generator", None)  # device-bound and not needed: recreated on first use
        return state

    # validation ----------------------------------------------------------------------------



def _cast_like(X: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Cast augmented images to ``dtype``, rounding and clipping for integer dtypes."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        X = np.clip(np.rint(X), info.min, info.max)
    return X.astype(dtype)
