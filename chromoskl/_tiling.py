"""Prediction within a memory budget: large images in overlapping tiles, with the same result.

A U-Net at full width on a 2000x2000 metaphase keeps several GB of activations. Here the
activations per pixel are measured once (a forward pass of a small image with hooks), and
images whose prediction would exceed the budget are predicted in smaller batches or, alone
too large, in tiles.

Why the tiles give the same result (written by hand: no library tiles a network with this
guarantee). The image is first padded to the network's divisor exactly as a whole-image
prediction pads it. Every tile then starts and ends on multiples of the divisor, so its
poolings see the same pixel grid, and extends ``margin`` pixels beyond the part kept, more
than the network's receptive field reaches; at the image's border the tile's border *is* the
image's, with the same zero padding of the convolutions. The kept part of every tile therefore
equals the whole-image output, up to floating-point summation order. This holds for networks
made of convolutions, poolings and upsamplings of fixed factor (U-Net, Attention U-Net, U-Net++);
ARMS Net's adaptive rates and CE-Net's pyramid pooling depend on the input's size, so their
tiled predictions are close to, not equal to, the whole-image ones.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ._geometry import centre_crop, centre_offsets
from ._limits import available_memory

__all__ = ["activation_bytes_per_pixel", "prediction_budget", "predict_within_budget"]

#: Bytes of activations a prediction on the CPU may hold at once: at most this, or a quarter
#: of the available memory when that is less.
MAX_PREDICTION_BYTES = 2**30
#: Tiles reach this many times the network's divisor beyond the part kept (at least
#: ``MIN_MARGIN`` pixels): more than the receptive field of the U-Nets of chromoskl.
MARGIN_DIVISORS = 8
MIN_MARGIN = 64


def prediction_budget(device="cpu") -> float:
    """Bytes of activations one forward pass of prediction may take on ``device``: half the
    free memory of a CUDA device, else ``MAX_PREDICTION_BYTES`` or a quarter of the available
    memory, whichever is less."""
    if torch.device(device).type == "cuda":
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return 0.5 * free
    available = available_memory()
    return MAX_PREDICTION_BYTES if available is None else min(
        MAX_PREDICTION_BYTES, 0.25 * available
    )


@torch.no_grad()
def activation_bytes_per_pixel(net, channels: int) -> float:
    """Bytes of activations per input pixel: every leaf module's output, summed, on a small
    image (an upper bound on what a forward pass without gradients keeps at once)."""
    module = net.module_
    divisor = int(getattr(module, "input_divisor", 1))
    side = max(4 * divisor, 64)
    total = 0

    def count(_module, _inputs, output):
        nonlocal total
        for tensor in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(tensor, torch.Tensor):
                total += tensor.numel() * tensor.element_size()

    leaves = [m for m in module.modules() if not any(True for _ in m.children())]
    handles = [leaf.register_forward_hook(count) for leaf in leaves]
    was_training = module.training
    try:
        module.eval()
        net.infer(torch.zeros(1, channels, side, side, device=net.device_))
    finally:
        module.train(was_training)
        for handle in handles:
            handle.remove()
    return total / (side * side)


def _tile_starts(length: int, core: int) -> list[int]:
    return list(range(0, length, core))


def _tiled_logits(net, image: torch.Tensor, core: int, margin: int) -> torch.Tensor:
    """Logits of one padded image (1, C, H, W), H and W multiples of the divisor, by tiles of
    ``core`` pixels kept, each computed with ``margin`` pixels of context around it."""
    height, width = image.shape[-2:]
    rows = []
    for top in _tile_starts(height, core):
        row = []
        for left in _tile_starts(width, core):
            bottom, right = min(top + core, height), min(left + core, width)
            t0, l0 = max(0, top - margin), max(0, left - margin)
            t1, l1 = min(height, bottom + margin), min(width, right + margin)
            window = image[..., t0:t1, l0:l1]
            logits = net.evaluation_step((window, None), training=False)
            logits = logits[0] if isinstance(logits, tuple) else logits
            row.append(logits[..., top - t0 : bottom - t0, left - l0 : right - l0].cpu())
        rows.append(torch.cat(row, dim=-1))
    return torch.cat(rows, dim=-2)


def _proba_of_large_image(net, image: np.ndarray, budget: float, per_pixel: float) -> np.ndarray:
    """(1, K, H, W) probabilities of one (C, H, W) image, predicted by tiles."""
    divisor = int(getattr(net.module_, "input_divisor", 1))
    height, width = image.shape[-2:]
    padded = (math.ceil(height / divisor) * divisor, math.ceil(width / divisor) * divisor)
    x = torch.from_numpy(np.ascontiguousarray(image[None])).to(net.device_)
    if padded != (height, width):  # as the whole-image prediction pads (ChromosomeSegmenter.infer)
        top, left = centre_offsets((height, width), padded)
        x = F.pad(x, (left, padded[1] - width - left, top, padded[0] - height - top),
                  mode="replicate")
    margin = max(MIN_MARGIN, MARGIN_DIVISORS * divisor)
    margin = math.ceil(margin / divisor) * divisor
    side = math.isqrt(int(budget / per_pixel))
    core = max(divisor, (side - 2 * margin) // divisor * divisor)
    logits = _tiled_logits(net, x, core, margin)
    proba = net._get_predict_nonlinearity()(logits)
    return centre_crop(proba, (height, width)).numpy()


def predict_within_budget(net, images: np.ndarray) -> np.ndarray | None:
    """Probabilities (n, K, H, W) of ``images`` (n, C, H, W) predicted within the memory budget,
    or None when skorch's batches of ``batch_size`` already fit it."""
    per_pixel = activation_bytes_per_pixel(net, images.shape[1])
    budget = prediction_budget(net.device_)
    pixels = images.shape[-2] * images.shape[-1]
    batch = len(images) if net.batch_size == -1 else min(net.batch_size, len(images))
    if batch * pixels * per_pixel <= budget:
        return None
    chunk = int(budget // (pixels * per_pixel))
    nonlinearity = net._get_predict_nonlinearity()
    parts = []
    if chunk >= 1:
        for start in range(0, len(images), chunk):
            x = torch.from_numpy(images[start : start + chunk]).to(net.device_)
            with torch.no_grad():
                logits = net.evaluation_step((x, None), training=False)
            logits = logits[0] if isinstance(logits, tuple) else logits
            parts.append(nonlinearity(logits).cpu().numpy())
    else:
        for image in images:
            parts.append(_proba_of_large_image(net, image, budget, per_pixel))
    return np.concatenate(parts).astype(np.float32, copy=False)
