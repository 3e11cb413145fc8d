"""Pictures of images, label masks and training curves (matplotlib, written to files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .classes import CLASS_NAMES

__all__ = ["CLASS_COLOURS", "CLASS_NAMES", "colour_labels", "overlay", "plot_predictions",
           "plot_history"]

#: RGB in 0..1 for classes 0..3: black, red, green (B), yellow (A + B)
CLASS_COLOURS = np.array(
    [[0.0, 0.0, 0.0], [0.90, 0.20, 0.20], [0.20, 0.75, 0.30], [1.0, 0.85, 0.10]]
)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display is needed or wanted
    import matplotlib.pyplot as plt

    return plt


def colour_labels(labels: np.ndarray) -> np.ndarray:
    """RGB picture (H, W, 3) float of a label mask (H, W) with :data:`CLASS_COLOURS`."""
    return CLASS_COLOURS[np.asarray(labels, dtype=np.intp)]


def _grey(image: np.ndarray) -> np.ndarray:
    """Scale a grey image to 0..1 using its 1st and 99.5th percentiles."""
    image = np.asarray(image, dtype=np.float64)
    low, high = np.percentile(image, [1.0, 99.5])
    return np.clip((image - low) / max(high - low, 1e-12), 0.0, 1.0)


def overlay(image: np.ndarray, labels: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """The grey image with the label colours blended on the chromosome pixels, (H, W, 3)."""
    grey = np.repeat(_grey(image)[..., None], 3, axis=-1)
    coloured = colour_labels(labels)
    mask = (np.asarray(labels) > 0)[..., None]
    return np.where(mask, (1 - alpha) * grey + alpha * coloured, grey)


def _legend(fig):
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=n) for c, n in zip(CLASS_COLOURS, CLASS_NAMES)]
    fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False)


def plot_predictions(images, truth, predicted, path, *, title: str | None = None) -> Path:
    """Write a PNG with one row per image: the image, the true mask, the predicted mask.

    Parameters
    ----------
    images : ndarray of shape (n, H, W)
    truth : ndarray of shape (n, H, W) or None
        Omitted column when None (prediction on new images).
    predicted : ndarray of shape (n, H, W)
    path : str or Path
    title : str, optional
    """
    plt = _pyplot()
    n = len(images)
    columns = [("image", None), ("truth", truth), ("prediction", predicted)]
    columns = [(name, masks) for name, masks in columns if name == "image" or masks is not None]
    fig, axes = plt.subplots(n, len(columns), figsize=(2.2 * len(columns), 2.2 * n + 0.6),
                             squeeze=False)
    for row in range(n):
        for col, (name, masks) in enumerate(columns):
            ax = axes[row, col]
            if masks is None:
                ax.imshow(_grey(images[row]), cmap="gray", interpolation="nearest")
            else:
                ax.imshow(colour_labels(masks[row]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name)
    if title:
        fig.suptitle(title)
    _legend(fig)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_history(history, path) -> Path:
    """Write a PNG of the training curves: losses per epoch and the validation overlap IoU."""
    plt = _pyplot()
    epochs = np.arange(1, len(history) + 1)
    fig, (ax_loss, ax_iou) = plt.subplots(1, 2, figsize=(9, 3.4))
    for key, label in (("train_loss", "training loss"), ("valid_loss", "validation loss")):
        values = [row.get(key) for row in history]
        if any(v is not None for v in values):
            ax_loss.plot(epochs, [np.nan if v is None else v for v in values], marker="o",
                         label=label)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.legend()
    ious = [row.get("valid_overlap_iou") for row in history]
    if any(v is not None for v in ious):
        ax_iou.plot(epochs, [np.nan if v is None else v for v in ious], marker="o", color="C2")
    ax_iou.set_ylim(0, 1)
    ax_iou.set_xlabel("epoch")
    ax_iou.set_ylabel("validation overlap IoU")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
