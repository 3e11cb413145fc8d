"""The slides' four networks from torchvision, untrained, with one input channel.

torchvision is an optional dependency (``pip install "chromoskl[recognition]"``): it is imported
here lazily, and only when a network is built.
"""

from __future__ import annotations

from torch import nn

__all__ = [
    "ARCHITECTURES", "MIN_INPUT_SIZE", "TorchvisionUnavailableError", "build_network",
    "import_torchvision",
]

#: the networks of the recognition slides
ARCHITECTURES = ("resnet18", "resnet50", "vgg16", "inception_v3")
#: smallest input side each network accepts (InceptionV3's stem needs 75 pixels)
MIN_INPUT_SIZE = {"resnet18": 32, "resnet50": 32, "vgg16": 32, "inception_v3": 75}

_INSTALL = (
    'install a torchvision that matches your torch, e.g. pip install "chromoskl[recognition]" '
    "or pip install torch==2.14.1 torchvision==0.29.1"
)


class TorchvisionUnavailableError(ImportError):
    """torchvision is missing or does not load beside the installed torch."""


def import_torchvision():
    """Import torchvision, or raise :class:`TorchvisionUnavailableError` saying how to fix it.

    A torchvision built for another torch fails at import with a RuntimeError
    ("operator torchvision::nms does not exist"), not an ImportError: both are caught.
    """
    try:
        import torchvision
    except ImportError as error:
        raise TorchvisionUnavailableError(
            f"ChromosomeClassifier needs torchvision, which is not installed ({error}); "
            f"{_INSTALL}."
        ) from None
    except RuntimeError as error:
        raise TorchvisionUnavailableError(
            f"ChromosomeClassifier needs torchvision, which does not load beside this torch "
            f"({error}); {_INSTALL}."
        ) from None
    return torchvision


def build_network(arch: str, n_classes: int) -> nn.Module:
    """An untrained torchvision network ``arch`` for one-channel images and ``n_classes``.

    No weights are downloaded (``weights=None``): the slides fine-tuned ImageNet weights, which
    this library does not fetch at run time (a departure). The first convolution is replaced by
    one of the same shape for one input channel; InceptionV3 is built without its auxiliary
    classifier and without ImageNet's input transform, so that it returns plain logits.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}.")
    models = import_torchvision().models
    if arch == "inception_v3":
        net = models.inception_v3(
            weights=None, num_classes=n_classes, aux_logits=False, transform_input=False,
            init_weights=True,
        )
        net.Conv2d_1a_3x3.conv = _one_channel(net.Conv2d_1a_3x3.conv)
    elif arch == "vgg16":
        net = models.vgg16(weights=None, num_classes=n_classes)
        net.features[0] = _one_channel(net.features[0])
    else:
        net = getattr(models, arch)(weights=None, num_classes=n_classes)
        net.conv1 = _one_channel(net.conv1)
    return net


def _one_channel(conv: nn.Conv2d) -> nn.Conv2d:
    """A freshly initialised copy of ``conv`` that takes one input channel."""
    return nn.Conv2d(
        1, conv.out_channels, kernel_size=conv.kernel_size, stride=conv.stride,
        padding=conv.padding, bias=conv.bias is not None,
    )
