"""Networks that leave Python: a fitted segmenter as an ONNX or a TorchScript file.

The file holds what ``ChromosomeSegmenter.predict_proba`` computes between the images and the
probabilities, so that onnxruntime, a C++ program or another framework reproduces it:

- the edge-repeating padding to the network's divisor, centred, and the crop back
  (:meth:`ChromosomeSegmenter.infer`, :mod:`chromoskl._geometry`);
- the network, in evaluation mode and float32 (whatever ``precision`` the model trained in);
- the softmax over the classes;
- with ``tta=True`` or ``"dihedral"``, the mean of the probabilities over the 8 flips and
  rotations by 90 degrees; with ``tta="shifts"``, over the 9 shifts by at most one pixel;
- with ``ab_decoding="area"``, the exchange of the A and B channels in the images where the
  network's chromosome A is the larger one (:func:`chromoskl.estimator.swap_channels_by_area`).

Input: ``images``, float32 of shape (N, C, H, W) with C the network's ``in_channels`` (1 for
the grey images of chromoskl), holding the grey values exactly as they would be given to
``predict_proba``: the estimator applies no intensity scaling of its own (its
``intensity_range_`` only feeds :class:`~chromoskl.IntensityWarning`), so neither does the
graph; prepare images as the training images were. The training images' grey range is
written into the file (ONNX metadata ``chromoskl.intensity_range``; TorchScript extra file
``chromoskl.json``) for programs that want the same check. Output: ``probabilities``,
float32 of shape (N, n_classes, H, W) summing to 1 over axis 1. Batch, height and width are
free, except for networks whose layers depend on the map size (below).

ONNX goes through ``torch.export`` and the dynamo exporter (onnx and onnxscript needed:
``pip install "chromoskl[export]"``), with symbolic batch, height and width. When
``torch.export`` cannot keep height and width symbolic (ARMS Net's adaptive AMAC rates and
ASSP pool sizes, ARMS 3.2.1-3.2.2, are computed in Python from the map size), the export
stops with an error that says so; ``image_shape=(H, W)`` then exports for images of that one
size (free batch). The smallest height and width for which ``torch.export`` proved the graph
are written into the metadata (``chromoskl.min_image_size``): 2x2 for most networks; 65x65 for
CE-Net, whose pyramid pooling clamps its windows to small maps (its ONNX output matched
PyTorch's at 20x20 and 37x41 all the same, but below the bound it is not proven).

TorchScript (``torch.jit.trace`` of the network, inside a ``torch.jit.script`` of the padding,
softmax and decoding, so that these follow any image size) is checked after tracing: the trace
must give the eager network's output at a smaller and a larger size, else the export stops
and asks for ``image_shape`` (CE-Net: the tracer keeps its clamped pooling windows as
constants). ARMS Net's adaptive networks cannot be traced at all (their rates are checked as
Python integers) and say so. ``torch.jit`` is deprecated in torch 2.13 but still works.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ._model_file import uncompiled
from ._persistence import atomic_write
from ._tta import dihedral, shifted, tta_kind, undo_dihedral

__all__ = ["FORMATS", "ExportableSegmenter", "export_segmenter", "format_of"]

#: Export formats, and the file suffixes that select them when ``format`` is None.
FORMATS = ("onnx", "torchscript")
SUFFIXES = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript"}
INSTALL_HINT = 'pip install "chromoskl[export]"'
#: The size of the example that ``torch.export`` and the tracer run: Pommier's pairs'.
EXAMPLE_SHAPE = (94, 93)
#: Largest difference between the TorchScript trace and the eager network at the check size.
TRACE_TOLERANCE = 1e-4


class FinalMap(nn.Module):
    """A network's final map alone: the first of the maps of a deeply supervised network."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output = self.network(x)
        if isinstance(output, (tuple, list)):
            return output[0]
        return output


class ExportableSegmenter(nn.Module):
    """Images in, probabilities out: the prediction of ``ChromosomeSegmenter`` as one module.

    Written so that ``torch.export`` (symbolic sizes) and ``torch.jit.script`` (TorchScript)
    both follow it; see the module docstring for what it computes.

    Parameters
    ----------
    network : nn.Module
        Returns (N, K, H, W) logits for inputs whose height and width are multiples of
        ``divisor`` (wrap deeply supervised networks in :class:`FinalMap`).
    divisor : int
        The network's ``input_divisor``.
    tta : {False, True, "dihedral", "shifts"}, default=False
        Average the probabilities over the 8 flips and rotations by 90 degrees (``True``,
        ``"dihedral"``) or over the 9 shifts by at most one pixel (``"shifts"``), as
        :mod:`chromoskl._tta` does for ``predict_proba``.
    swap_by_area : bool, default=False
        Exchange channels 1 and 2 where the argmax chromosome A has more pixels than B.
    image_shape : tuple of int or None, default=None
        Accept only images of this (H, W) (TorchScript raises on others); None: any size.
    """

    def __init__(
        self, network: nn.Module, divisor: int, tta=False, swap_by_area: bool = False,
        image_shape: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.network = network
        self.divisor = int(divisor)
        kind = tta_kind(tta)
        # two flags rather than the name: TorchScript compiles forward() with typed attributes
        self.dihedral_views = kind == "dihedral"
        self.shift_views = kind == "shifts"
        self.swap_by_area = bool(swap_by_area)
        self.fixed_height = -1 if image_shape is None else int(image_shape[0])
        self.fixed_width = -1 if image_shape is None else int(image_shape[1])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.fixed_height >= 0 and (
            images.shape[-2] != self.fixed_height or images.shape[-1] != self.fixed_width
        ):
            raise ValueError(
                f"this model was exported for {self.fixed_height}x{self.fixed_width} images only"
            )
        if self.dihedral_views:
            total = torch.zeros_like(images[:, :1])
            for k in range(8):
                total = total + undo_dihedral(self.proba(dihedral(images, k)), k)
            proba = total / 8.0
        elif self.shift_views:
            total = torch.zeros_like(images[:, :1])
            # _tta.SHIFTS spelled out: TorchScript cannot iterate a module-level tuple
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    total = total + shifted(self.proba(shifted(images, dy, dx)), -dy, -dx)
            proba = total / 9.0
        else:
            proba = self.proba(images)
        if self.swap_by_area:
            proba = _swap_by_area(proba)
        return proba

    def proba(self, images: torch.Tensor) -> torch.Tensor:
        """Pad (edges repeated, centred), run the network, crop back, softmax over classes."""
        height, width = images.shape[-2], images.shape[-1]
        divisor = self.divisor
        padded_height = (height + divisor - 1) // divisor * divisor
        padded_width = (width + divisor - 1) // divisor * divisor
        top = (padded_height - height) // 2
        left = (padded_width - width) // 2
        padded = F.pad(
            images,
            [left, padded_width - width - left, top, padded_height - height - top],
            mode="replicate",
        )
        logits = self.network(padded)[:, :, top : top + height, left : left + width]
        return torch.softmax(logits, dim=1)


def _swap_by_area(proba: torch.Tensor) -> torch.Tensor:
    """``swap_channels_by_area`` in tensor operations (argmax, counts, a per-image choice)."""
    labels = proba.argmax(dim=1)
    a_pixels = (labels == 1).sum(dim=[1, 2])
    b_pixels = (labels == 2).sum(dim=[1, 2])
    swapped = torch.cat([proba[:, 0:1], proba[:, 2:3], proba[:, 1:2], proba[:, 3:]], dim=1)
    return torch.where((a_pixels > b_pixels)[:, None, None, None], swapped, proba)


def format_of(path, format: str | None = None) -> str:
    """The export format: ``format`` when given, else the one of ``path``'s suffix.

    Raises
    ------
    ValueError
        For an unknown format, or no format and a suffix that names none.
    """
    if format is not None:
        if format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {format!r}.")
        return format
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"Cannot tell the export format from {str(path)!r}: end the file name in "
            f"{', '.join(SUFFIXES)}, or give format= one of {FORMATS}."
        )
    return SUFFIXES[suffix]


def export_segmenter(segmenter, path, *, format: str | None = None, image_shape=None) -> Path:
    """Write a fitted segmenter's prediction as an ONNX or TorchScript file.

    The file is written whole or not at all (a temporary file beside it, then renamed).

    Parameters
    ----------
    segmenter : ChromosomeSegmenter
        A fitted segmenter (its ``tta`` and ``ab_decoding`` are part of the export).
    path : str or Path
        The file to write.
    format : {"onnx", "torchscript"} or None, default=None
        None: from the suffix of ``path`` (``.onnx``; ``.pt`` or ``.ts`` for TorchScript).
    image_shape : tuple of int or None, default=None
        None exports for any image size. ``(H, W)`` exports for images of that size only:
        needed for networks whose layers depend on the map size (ARMS Net and its adaptive
        ablations).

    Returns
    -------
    path : Path

    Raises
    ------
    ImportError
        For ONNX without onnx and onnxscript installed; the message names the extra.
    ValueError
        For a bad format or image shape, a network that cannot be exported for every image
        size (the message says to give ``image_shape``), or a segmenter with
        ``content_margin`` set (the export runs whole images, which such a network was not
        trained on).
    """
    path = Path(path)
    kind = format_of(path, format)
    if kind == "onnx":
        missing = [name for name in ("onnx", "onnxscript") if not importlib.util.find_spec(name)]
        if missing:
            raise ImportError(
                f"Exporting to ONNX needs {' and '.join(missing)}: {INSTALL_HINT}"
            )
    segmenter.check_is_fitted()
    if getattr(segmenter, "content_margin", None) is not None:
        # Measured (benchmarks/RESULTS.md): a network trained on content boxes names A and B
        # far worse on whole images (chromosome A IoU 0.745 against 0.937).
        raise ValueError(
            f"This segmenter runs on content boxes (content_margin={segmenter.content_margin}),"
            " but an exported model runs whole images, on which a network trained on boxes "
            "names A and B far worse. Export a segmenter fitted with content_margin=None, or "
            "set_params(content_margin=None) first to export it for whole images anyway."
        )
    image_shape = _check_image_shape(image_shape)
    wrapper, channels = _wrapper_of(segmenter, image_shape)
    height, width = EXAMPLE_SHAPE if image_shape is None else image_shape
    example = torch.rand(2, channels, height, width)
    metadata = {
        "chromoskl.format": "chromoskl-exported-segmenter",
        "chromoskl.arch": str(getattr(segmenter.arch, "__name__", segmenter.arch)),
        "chromoskl.input": "images (N, C, H, W) float32, grey values as given to predict_proba",
        "chromoskl.output": "probabilities (N, n_classes, H, W) float32, softmax over axis 1",
        "chromoskl.intensity_range": json.dumps(
            list(getattr(segmenter, "intensity_range_", None) or [])
        ),
        "chromoskl.image_shape": json.dumps(list(image_shape) if image_shape else None),
    }
    if kind == "onnx":
        from ._onnx_export import onnx_bytes

        data = onnx_bytes(wrapper, example, dynamic=image_shape is None, metadata=metadata)
    else:
        data = _torchscript_bytes(wrapper, example, dynamic=image_shape is None,
                                  metadata=metadata)
    atomic_write(path, lambda handle: handle.write(data))
    return path


def _check_image_shape(image_shape):
    if image_shape is None:
        return None
    try:
        height, width = (int(side) for side in image_shape)
        valid = height == image_shape[0] and width == image_shape[1] and min(height, width) >= 1
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            f"image_shape must be (height, width), two positive integers, got {image_shape!r}."
        )
    return height, width


def _wrapper_of(segmenter, image_shape) -> tuple[ExportableSegmenter, int]:
    """A float32 CPU copy of the fitted network in evaluation mode, wrapped; and its channels."""
    network = copy.deepcopy(uncompiled(segmenter.module_)).cpu().float()
    network = network.to(memory_format=torch.contiguous_format)
    network.eval().requires_grad_(False)  # the file's outputs then need no .detach()
    first_conv = next((m for m in network.modules() if isinstance(m, nn.Conv2d)), None)
    channels = 1 if first_conv is None else first_conv.in_channels
    wrapper = ExportableSegmenter(
        FinalMap(network), int(getattr(network, "input_divisor", 1)), tta=segmenter.tta,
        swap_by_area=segmenter.ab_decoding == "area", image_shape=image_shape,
    )
    return wrapper.eval(), channels


def _torchscript_bytes(wrapper, example, *, dynamic: bool, metadata: dict) -> bytes:
    """Trace the network at the example's padded size, script the wrapper around it, check
    the trace at a second size, and serialise with ``metadata`` as ``chromoskl.json``."""
    import io

    divisor = wrapper.divisor
    final_map = wrapper.network
    padded = [(side + divisor - 1) // divisor * divisor for side in example.shape[-2:]]
    name = type(final_map.network).__name__
    with warnings.catch_warnings():
        # torch 2.13 deprecates torch.jit; the issue asks for TorchScript all the same. The
        # tracer's warnings on Python booleans come from the networks' divisibility checks,
        # which the padding of the wrapper always satisfies.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        try:
            traced = torch.jit.trace(final_map, torch.zeros(1, example.shape[1], *padded),
                                     check_trace=False)
        except Exception as error:
            raise ValueError(
                f"{name} cannot be traced to TorchScript ({_first_line(error)}): its forward "
                "computes layer settings in Python from the map size (ARMS Net's adaptive "
                "rates do). Export it to ONNX with image_shape=(H, W), or build it with fixed "
                "settings (module__amac_rates, module__assp_sizes)."
            ) from None
        if dynamic:
            _check_trace(final_map, traced, example.shape[1], padded, divisor, name)
        scripted_wrapper = copy.copy(wrapper)
        scripted_wrapper.network = traced
        scripted = torch.jit.script(scripted_wrapper)
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer, _extra_files={"chromoskl.json": json.dumps(metadata)})
    return buffer.getvalue()


@torch.no_grad()
def _check_trace(final_map, traced, channels, padded, divisor, name) -> None:
    """The trace must give the eager output at a smaller and a larger size than the one
    traced: the tracer keeps as constants the sizes computed in Python (CE-Net's pooling
    windows clamped to small maps), which only other sizes reveal."""
    sizes = [
        (max(divisor, padded[0] - divisor), max(divisor, padded[1] - divisor)),
        (padded[0] + divisor, padded[1] + 2 * divisor),
    ]
    for size in sizes:
        other = torch.rand(1, channels, *size)
        try:
            expected = final_map(other)
        except Exception:  # too small for the network itself: nothing to compare
            continue
        try:
            difference = float((traced(other) - expected).abs().max())
        except Exception as error:
            difference, reason = float("inf"), _last_line(error)
        else:
            reason = f"largest difference {difference:.3g}"
        if not difference <= TRACE_TOLERANCE:
            raise ValueError(
                f"The TorchScript trace of {name} does not follow the image size (at "
                f"{size[0]}x{size[1]}: {reason}): the network computes layer settings in Python "
                "from the map size. Export it with image_shape=(H, W) for one size."
            )


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _last_line(error: BaseException) -> str:
    """The cause of an error of the TorchScript interpreter: the last line of its message."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
