"""Reading a model file written by ``ChromosomeSegmenter.save``: every way it can be wrong
becomes one ValueError that says what is wrong and what to do.

- The file is read with ``torch.load(weights_only=True)``: it cannot run code. torch's advice
  to retry with ``weights_only=False`` is never passed on: for a file from elsewhere that
  advice is how code gets run.
- The weights must match the SHA-256 written with them (a file overwritten in place).
- The stored parameters must build a network of exactly the stored weights' shapes; this is
  checked on torch's ``meta`` device, before anything is allocated, so a file cannot ask for
  more memory than its own weights take.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ._persistence import check_state_dict_fits, weights_checksum

__all__ = ["read_model_file", "check_network_fits_weights", "first_line_of"]


def first_line_of(error: BaseException) -> str:
    """The first line of an error's message, without torch's ``weights_only=False`` advice."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    lines = [line for line in lines if "weights_only" not in line]
    return lines[0] if lines else type(error).__name__


def read_model_file(path, file_format: str) -> dict:
    """The payload of a model file, its ``params`` decoded and its checksum verified.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it is a directory, not a model file, damaged, or its weights changed after saving.
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
    if not isinstance(payload, dict) or payload.get("format") != file_format:
        raise ValueError(
            f"{path} is not a chromoskl model file (written by ChromosomeSegmenter.save)."
        )
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
