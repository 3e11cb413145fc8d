"""The ONNX half of :mod:`chromoskl.export`: ``torch.export`` with symbolic sizes, then the
dynamo exporter, then named axes and chromoskl's metadata in the file."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings

import torch

__all__ = ["onnx_bytes"]

#: Names of the axes of the input and output (ONNX ``dim_param``).
AXIS_NAMES = {0: "batch", 2: "height", 3: "width"}


def onnx_bytes(wrapper, example: torch.Tensor, *, dynamic: bool, metadata: dict) -> bytes:
    """The serialised ONNX model of ``wrapper`` (an :class:`~chromoskl.export.ExportableSegmenter`).

    Parameters
    ----------
    wrapper : nn.Module
    example : Tensor of shape (N, C, H, W)
        Runs through ``torch.export`` (on fake tensors); N must be at least 2 and, with
        ``dynamic``, H and W at least 2, so that no axis is specialised to 1.
    dynamic : bool
        Symbolic height and width (else only the batch axis is free).
    metadata : dict of str to str
        Written as the model's ``metadata_props``, with ``chromoskl.min_image_size`` added.

    Raises
    ------
    ValueError
        When ``dynamic`` and ``torch.export`` cannot keep height and width symbolic.
    """
    free = torch.export.Dim.DYNAMIC  # raises, rather than fixing an axis, when it cannot stay free
    axes = {0: free, 2: free, 3: free} if dynamic else {0: free}
    try:
        with _exporter_quiet():
            program = torch.export.export(wrapper, (example,), dynamic_shapes={"images": axes})
    except Exception as error:
        if not dynamic:
            raise
        name = type(wrapper.network.network).__name__
        raise ValueError(
            f"{name} cannot be exported for every image size: torch.export cannot keep the "
            f"height and width symbolic ({_first_line(error)}). Its forward computes layer "
            "settings in Python from the map size (ARMS Net's adaptive AMAC rates and ASSP "
            "sizes do). Export it for one size with image_shape=(H, W) (command line: "
            "--image-size H W), or build it with fixed module__amac_rates and "
            "module__assp_sizes."
        ) from None
    # The dynamo exporter reports its steps on standard output; keep the caller's output clean.
    with contextlib.redirect_stdout(io.StringIO()), _exporter_quiet():
        onnx_program = torch.onnx.export(
            program, (example,), dynamo=True, input_names=["images"],
            output_names=["probabilities"], external_data=False,
        )
    dims = onnx_program.model.graph.inputs[0].shape
    if hasattr(onnx_program, "rename_axes"):  # torch 2.8 and later; else the exporter's names
        onnx_program.rename_axes(
            {dims[i]: label for i, label in AXIS_NAMES.items() if not isinstance(dims[i], int)}
        )
    model = onnx_program.model_proto
    metadata = {**metadata, "chromoskl.min_image_size": json.dumps(_smallest_sides(program))}
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model.SerializeToString()


def _smallest_sides(program) -> list[int]:
    """The smallest height and width for which ``torch.export`` proved the graph right.

    Read from the program's range constraints on the input's symbolic sizes (CE-Net's
    clamped pooling windows raise the lower bound); a fixed side is its own minimum.
    """
    placeholder = next(
        node for node in program.graph.nodes
        if node.op == "placeholder" and node.name in program.graph_signature.user_inputs
    )
    sides = []
    for size in placeholder.meta["val"].shape[-2:]:
        if isinstance(size, int):
            sides.append(size)
            continue
        bounds = program.range_constraints.get(size.node.expr)
        sides.append(int(bounds.lower) if bounds is not None else 1)
    return sides


@contextlib.contextmanager
def _exporter_quiet():
    """Silence what the exporters say that concerns torch's internals, not the user: the
    diagnostic attributes some networks keep (attention coefficients, ARMS rates), the
    registry's note on torchvision's operators, torch's own deprecations."""
    registry = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registry.level
    registry.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*assigned during export")
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        registry.setLevel(level)


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
