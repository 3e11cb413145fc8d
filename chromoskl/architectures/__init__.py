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
from .named_and_separated import NAMED_AND_SEPARATED_MAPS, NamedAndSeparated
from .summed_masks import MASK_MAPS, SummedMasks
from .unet import UNet
from .unetpp import UNetPlusPlus

__all__ = [
    "ARCHITECTURES",
    "create_model",
    "create_network",
    "LABEL_MODELS",
    "resolve_architecture",
    "NamedAndSeparated",
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
#: What a network's output maps are: the four classes, the values of the two chromosome
#: masks whose sum the classes are (:class:`SummedMasks`), or the four classes twice, named as
#: the labels name them and named by size (:class:`NamedAndSeparated`).
LABEL_MODELS = ("classes", "summed_masks", "named_and_separated")
# The wrapper of each label model other than "classes", and the maps it takes from the network.
_WRAPPED_LABEL_MODELS = {
    "summed_masks": (SummedMasks, MASK_MAPS),
    "named_and_separated": (NamedAndSeparated, NAMED_AND_SEPARATED_MAPS),
}


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
    ``label_model="summed_masks"`` or ``"named_and_separated"`` built with the maps that
    label model reads (five or eight) and wrapped in :class:`SummedMasks` or
    :class:`NamedAndSeparated`.

    Raises
    ------
    ValueError
        For an unknown ``label_model``, or ``out_channels`` other than ``N_CLASSES`` with
        another label model than "classes" (it gives the four classes and chooses the
        network's maps itself).
    """
    network = resolve_architecture(arch)
    if label_model == "classes":
        return network(**kwargs)
    if label_model not in _WRAPPED_LABEL_MODELS:
        raise ValueError(f"label_model must be one of {LABEL_MODELS}, got {label_model!r}.")
    wrapper, maps = _WRAPPED_LABEL_MODELS[label_model]
    if kwargs.get("out_channels", N_CLASSES) != N_CLASSES:
        raise ValueError(
            f"label_model={label_model!r} gives the {N_CLASSES} classes from {maps} maps and "
            "sets the network's out_channels itself; got "
            f"module__out_channels={kwargs['out_channels']!r}: leave it out."
        )
    return wrapper(network(**{**kwargs, "out_channels": maps}))
