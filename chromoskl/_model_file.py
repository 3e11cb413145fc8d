"""The model file of ``ChromosomeSegmenter.save`` and ``.load``: written whole or not at all,
read so that every way it can be wrong becomes one ValueError that says what is wrong and what
to do.

- The file holds only tensors, numbers and strings (the weights, the JSON parameters, the
  history and the training grey range), and is read with ``torch.load(weights_only=True)``:
  it cannot run code. torch's advice to retry with ``weights_only=False`` is never passed on:
  for a file from elsewhere that advice is how code gets run.
- The weights must match the SHA-256 written with them (a file overwritten in place).
- The stored parameters must build a network of exactly the stored weights' shapes; this is
  checked on torch's ``meta`` device, before anything is allocated, so a file cannot ask for
  more memory than its own weights take.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import torch

from ._box_norm import check_statistics, flat_statistics
from ._device import device_or_cpu
from ._persistence import (
    atomic_torch_save,
    check_state_dict_fits,
    history_from_json,
    history_to_json,
    uncompiled,
    weights_checksum,
)

__all__ = [
    "model_payload",
    "write_model_file",
    "segmenter_from_file",
    "segmenter_from_payload",
    "read_model_file",
    "read_torch_file",
    "single_model_payload",
    "checked_payload",
    "check_network_fits_weights",
    "first_line_of",
    "uncompiled",
]

FILE_FORMAT = "chromoskl-model"
#: The format of ``SegmenterEnsemble.save``: one such payload per member.
ENSEMBLE_FORMAT = "chromoskl-ensemble"


def portable_params(net) -> dict:
    """The parameters that JSON can hold (names of registered parts, numbers, strings)."""
    params = {}
    for name, value in net.get_params(deep=False).items():
        if name.startswith("callbacks"):
            continue
        try:
            json.dumps(value)
        except TypeError:
            continue
        params[name] = value
    return params


def write_model_file(net, path) -> None:
    """Write a fitted segmenter's weights, parameters, history and training grey range to
    ``path`` (see ``ChromosomeSegmenter.save``)."""
    atomic_torch_save(model_payload(net), path)


def model_payload(net) -> dict:
    """What a model file holds for a fitted segmenter: tensors, numbers and strings only."""
    from . import __version__

    net.check_is_fitted()
    weights = {k: v.detach().cpu() for k, v in uncompiled(net.module_).state_dict().items()}
    arch = net.arch if isinstance(net.arch, str) else (
        f"{net.arch.__module__}.{net.arch.__qualname__}"
    )
    payload = {
        "format": FILE_FORMAT,
        "chromoskl_version": __version__,
        "params": json.dumps(portable_params(net)),
        "arch": arch,
        "state_dict": weights,
        "weights_sha256": weights_checksum(weights),
        "history": history_to_json(net.history_),
        "intensity_range": list(getattr(net, "intensity_range_", None) or []),
    }
    box_stats = getattr(net, "box_norm_stats_", None)
    if box_stats is not None:
        payload["box_norm_stats"] = box_stats
        payload["box_norm_sha256"] = weights_checksum(flat_statistics(box_stats))
    return payload


def segmenter_from_file(cls, path, params: dict):
    """Rebuild a segmenter of class ``cls`` from ``path``; ``params`` override the stored ones
    (see ``ChromosomeSegmenter.load``)."""
    return segmenter_from_payload(cls, read_model_file(path), params, path)


def segmenter_from_payload(cls, payload: dict, params: dict, path):
    """Rebuild a segmenter from a payload that :func:`checked_payload` has read; ``path``
    names it in errors."""
    from ._segmenter_params import check_segmenter_params
    from .architectures import create_network

    stored = dict(payload["params"])
    if "arch" not in stored and "arch" not in params:
        raise ValueError(
            f"{path} was saved with a custom architecture class ({payload.get('arch')}); "
            "pass it again: ChromosomeSegmenter.load(path, arch=ThatClass)."
        )
    if "device" not in params and "device" in stored:
        stored["device"] = device_or_cpu(stored["device"], source=f"The model {path}")
    net = cls(**{**stored, **params})
    check_segmenter_params(net)
    check_network_fits_weights(
        partial(create_network, net.arch, net.label_model), net.get_params_for("module"),
        payload["state_dict"], path,
    )
    net.initialize()
    uncompiled(net.module_).load_state_dict(payload["state_dict"])
    net.module_.to(net.device_)
    net.history_ = history_from_json(payload["history"])
    if payload.get("intensity_range"):  # absent from files of chromoskl before it
        net.intensity_range_ = tuple(float(v) for v in payload["intensity_range"])
    net.box_norm_stats_ = _box_norm_statistics(payload, uncompiled(net.module_), path)
    return net


def _box_norm_statistics(payload, network, path):
    """The file's BatchNorm statistics per content-box size, checked (None when absent)."""
    stats = payload.get("box_norm_stats")
    if stats is None:
        return None
    if not isinstance(stats, dict) or weights_checksum(flat_statistics(stats)) != payload.get(
        "box_norm_sha256"
    ):
        raise ValueError(
            f"The BatchNorm statistics per box size in {path} do not match the checksum "
            "saved with them: the file was changed or damaged after it was written. Use an "
            "intact copy or save the model again."
        )
    return check_statistics(stats, network, str(path))


def first_line_of(error: BaseException) -> str:
    """The first line of an error's message, without torch's ``weights_only=False`` advice."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    lines = [line for line in lines if "weights_only" not in line]
    return lines[0] if lines else type(error).__name__


def read_model_file(path) -> dict:
    """The payload of a model file, its ``params`` decoded and its checksum verified.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it is a directory, not a model file, damaged, or its weights changed after saving.
    """
    return single_model_payload(read_torch_file(path), path)


def single_model_payload(payload: dict, path) -> dict:
    """The payload that :func:`read_torch_file` read from ``path``, checked as one segmenter's
    (see :func:`read_model_file`); an ensemble file is refused with what to do instead."""
    if payload.get("format") != FILE_FORMAT:
        if payload.get("format") == ENSEMBLE_FORMAT:
            raise ValueError(
                f"{path} holds an ensemble of segmenters (written by SegmenterEnsemble.save or "
                "chromoskl ensemble): open it with chromoskl.ensemble.load_segmenter or "
                "SegmenterEnsemble.load; an ONNX or TorchScript export holds one network, so "
                "export one of the model files it joins."
            )
        raise ValueError(
            f"{path} is not a chromoskl model file (written by ChromosomeSegmenter.save)."
        )
    return checked_payload(payload, path)


def read_torch_file(path) -> dict:
    """The dict that a chromoskl model or ensemble file holds, read with ``weights_only``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it is a directory, or not a readable file of tensors, numbers and strings.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory; give the model file inside it (model.pt).")
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a damaged file
        if "weights only load failed" in str(error).lower():
            raise ValueError(
                f"{path} is not a readable chromoskl model file: it holds pickled Python "
                "objects, which chromoskl model files never do, and is not opened (unpickling "
                "a file from elsewhere can run code)."
            ) from None
        raise ValueError(
            f"{path} is not a readable chromoskl model file ({type(error).__name__}: "
            f"{first_line_of(error)})."
        ) from None
    if not isinstance(payload, dict):
        raise ValueError(
            f"{path} is not a chromoskl model file (written by ChromosomeSegmenter.save)."
        )
    return payload


def checked_payload(payload: dict, path) -> dict:
    """One segmenter's payload with its ``params`` decoded and its checksum verified;
    ``path`` names it in errors."""
    try:
        params = json.loads(payload["params"])
        weights = payload["state_dict"]
        if not isinstance(params, dict) or not isinstance(weights, dict) or not all(
            isinstance(tensor, torch.Tensor) for tensor in weights.values()
        ):
            raise TypeError
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"{path} is a damaged chromoskl model file (its parameters or weights are "
            "unreadable); save the model again."
        ) from None
    stored_sum = payload.get("weights_sha256")
    if stored_sum is not None:  # absent from files of chromoskl before it
        if weights_checksum(weights) != stored_sum:
            raise ValueError(
                f"The weights in {path} do not match the checksum saved with them: the file "
                "was changed or damaged after it was written. Use an intact copy or save the "
                "model again."
            )
    return {**payload, "params": params}


def check_network_fits_weights(network, module_params: dict, weights: dict, path) -> None:
    """Build ``network(**module_params)`` on the ``meta`` device and compare it with
    ``weights``, so that a file's parameters are bounded by its own weights.

    Raises
    ------
    ValueError
        If the parameters are invalid or build a network of other shapes.
    """
    fix = (
        "The file's network parameters (module__*) do not describe its weights: it was "
        "damaged or edited; save the model again."
    )
    try:
        with torch.device("meta"):
            expected = network(**module_params).state_dict()
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path}: the stored network parameters are invalid: {error}") from None
    except Exception:  # a custom network that cannot be built on "meta": loaded as before
        return
    check_state_dict_fits(expected, weights, source=str(path), fix=fix)
