"""The segmentation networks, selectable by name.

``ARCHITECTURES`` is a plain dict from a registry name to an ``nn.Module`` class;
:func:`create_model` builds one by name. Every constructor argument has a default, and every
``forward`` returns logits of shape (N, out_channels, H, W), the final map first when a
network also returns auxiliary (deep supervision) maps.

Every network takes the same size parameters: ``in_channels``, ``out_channels``,
``base_channels`` (the channels of the first level), ``depth`` (the halvings between the
first and the deepest level, each doubling the channels) and ``channels`` (the channels of
each level, for widths that do not double; None by default). Their defaults are the
published networks. :func:`record` collects what the inner blocks decide during a forward
pass (attention coefficients, adaptive rates and pool sizes) from forward hooks.
"""

from __future__ import annotations

from torch import nn

from ..classes import N_CLASSES
from ..exceptions import UnknownNameError
from ._diagnostics import Recording, record
from .arms import ARMSNet, UNetAAR, UNetAR, UNetDAR, UNetPR, UNetR
from .attention_unet import AttentionUNet
from .cenet import CENet
from .summed_masks import MASK_MAPS, SummedMasks
from .unet import UNet
from .unetpp import UNetPlusPlus

__all__ = [
    "ARCHITECTURES",
    "create_model",
    "create_network",
    "LABEL_MODELS",
    "resolve_architecture",
    "SummedMasks",
    "record",
    "Recording",
    "UNet",
    "AttentionUNet",
    "UNetPlusPlus",
    "CENet",
    "ARMSNet",
    "UNetR",
    "UNetPR",
    "UNetAR",
    "UNetDAR",
    "UNetAAR",
]

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "unet": UNet,
    "attention_unet": AttentionUNet,
    "unetpp": UNetPlusPlus,
    "cenet": CENet,
    "arms": ARMSNet,
    "unet_r": UNetR,
    "unet_pr": UNetPR,
    "unet_ar": UNetAR,
    "unet_dar": UNetDAR,
    "unet_aar": UNetAAR,
}
#: What a network's output maps are: the four classes, or the values of the two chromosome
#: masks whose sum the classes are (:class:`SummedMasks`).
LABEL_MODELS = ("classes", "summed_masks")


def resolve_architecture(arch) -> type[nn.Module]:
    """Return the ``nn.Module`` class for a registry name, or ``arch`` itself if it is a class.

    Raises
    ------
    chromoskl.exceptions.UnknownNameError
        For an unknown name (a ``KeyError`` and a ``ValueError``); the message lists the
        known ones.
    TypeError
        For anything that is neither a name nor an ``nn.Module`` subclass.
    """
    if isinstance(arch, str):
        try:
            return ARCHITECTURES[arch.lower()]
        except KeyError:
            raise UnknownNameError("architecture", arch, ARCHITECTURES) from None
    if isinstance(arch, type) and issubclass(arch, nn.Module):
        return arch
    raise TypeError(
        f"arch must be a registry name ({', '.join(sorted(ARCHITECTURES))}) or an nn.Module "
        f"subclass, got {arch!r}."
    )


def create_model(arch: str = "unet", **kwargs) -> nn.Module:
    """Build a network by registry name, passing ``kwargs`` to its constructor."""
    return resolve_architecture(arch)(**kwargs)


def create_network(arch="unet", label_model: str = "classes", **kwargs) -> nn.Module:
    """Build the network ``ChromosomeSegmenter`` trains: ``arch`` with ``kwargs``, and for
    ``label_model="summed_masks"`` built with five maps and wrapped in :class:`SummedMasks`.

    Raises
    ------
    ValueError
        For an unknown ``label_model``, or ``out_channels`` other than ``N_CLASSES`` with
        summed masks (they give the four classes and choose the network's maps themselves).
    """
    network = resolve_architecture(arch)
    if label_model == "classes":
        return network(**kwargs)
    if label_model == "summed_masks":
        if kwargs.get("out_channels", N_CLASSES) != N_CLASSES:
            raise ValueError(
                f"label_model='summed_masks' gives the {N_CLASSES} classes from {MASK_MAPS} "
                "mask maps and sets the network's out_channels itself; got "
                f"module__out_channels={kwargs['out_channels']!r}: leave it out."
            )
        return SummedMasks(network(**{**kwargs, "out_channels": MASK_MAPS}))
    raise ValueError(f"label_model must be one of {LABEL_MODELS}, got {label_model!r}.")
