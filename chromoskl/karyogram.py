"""Lay out classified chromosomes as a karyogram: classes 1-22, X, Y in the standard rows.

The standard layout of a G-banded karyogram puts the groups in four rows: 1-5 (groups A and
B), 6-12 and X (group C), 13-18 (groups D and E), 19-22 and Y (groups F and G). Each class has a
slot holding its chromosomes side by side (two in a normal cell), each with its confidence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .datasets._karyotype import CLASS_NAMES
from .plotting import _pyplot

__all__ = ["KARYOGRAM_ROWS", "karyogram_layout", "plot_karyogram"]

#: the classes of each row of the standard karyogram, left to right
KARYOGRAM_ROWS = (
    ("1", "2", "3", "4", "5"),
    ("6", "7", "8", "9", "10", "11", "12", "X"),
    ("13", "14", "15", "16", "17", "18"),
    ("19", "20", "21", "22", "Y"),
)


def karyogram_layout(classes) -> list[tuple[int, int, int]]:
    """Where each chromosome goes in the karyogram: ``(row, column, position in its slot)``.

    Parameters
    ----------
    classes : sequence of int or str
        The class of each chromosome: an index 0..23 into ``1..22, X, Y`` or the name
        (``"7"``, ``"X"``).

    Returns
    -------
    places : list of (row, column, k)
        ``row`` and ``column`` index ``KARYOGRAM_ROWS``; ``k`` counts the chromosomes already
        placed in that class's slot, in input order.

    Raises
    ------
    ValueError
        For a class that is none of the 24.
    """
    where = {name: (r, c) for r, row in enumerate(KARYOGRAM_ROWS) for c, name in enumerate(row)}
    filled: dict[str, int] = {}
    places = []
    for cls in classes:
        name = _class_name(cls)
        row, col = where[name]
        places.append((row, col, filled.get(name, 0)))
        filled[name] = filled.get(name, 0) + 1
    return places


def _class_name(cls) -> str:
    if isinstance(cls, (int, np.integer)) and not isinstance(cls, bool):
        if 0 <= cls < len(CLASS_NAMES):
            return CLASS_NAMES[int(cls)]
    elif isinstance(cls, str) and cls.upper() in CLASS_NAMES:
        return cls.upper()
    raise ValueError(
        f"unknown chromosome class {cls!r}: give an index 0..23 or a name among 1..22, X, Y."
    )


def plot_karyogram(chromosomes, classes, confidences, path=None, *, title=None):
    """Draw a karyogram: each chromosome in its class's slot, with its confidence under it.

    Parameters
    ----------
    chromosomes : sequence of 2-D arrays
        The separated chromosomes (straightened or not), any sizes; each is drawn at one
        scale, so that relative lengths show.
    classes : sequence of int or str
        Their classes (indices 0..23 or names), as :func:`karyogram_layout`.
    confidences : sequence of float
        The classifier's probability of each chosen class, printed under the chromosome.
    path : str or Path or None, default=None
        Where to write the PNG; None returns the figure without writing it (matplotlib's
        Agg backend is used, as everywhere in chromoskl: files, no display).
    title : str or None, default=None

    Returns
    -------
    figure : matplotlib.figure.Figure
        The figure (closed after writing when ``path`` is given).

    Raises
    ------
    ValueError
        If the three sequences differ in length, a class is unknown, or a chromosome is not a
        non-empty 2-D array.
    """
    plt = _pyplot()
    chromosomes = [np.asarray(c, dtype=float) for c in chromosomes]
    if not (len(chromosomes) == len(classes) == len(confidences)):
        raise ValueError(
            f"chromosomes, classes and confidences differ in length: {len(chromosomes)}, "
            f"{len(classes)}, {len(confidences)}."
        )
    for k, chromosome in enumerate(chromosomes):
        if chromosome.ndim != 2 or chromosome.size == 0:
            raise ValueError(
                f"chromosome {k} must be a non-empty 2-D array, got {chromosome.shape}."
            )
    places = karyogram_layout(classes)
    tallest = max((c.shape[0] for c in chromosomes), default=1)
    widest = max((c.shape[1] for c in chromosomes), default=1)
    n_cols = max(len(row) for row in KARYOGRAM_ROWS)
    fig = plt.figure(figsize=(1.6 * n_cols, 2.2 * len(KARYOGRAM_ROWS)))
    for r, row in enumerate(KARYOGRAM_ROWS):
        for c, name in enumerate(row):
            left, bottom = c / n_cols, 1 - (r + 1) / len(KARYOGRAM_ROWS)
            fig.text(left + 0.5 / n_cols, bottom + 0.9 / len(KARYOGRAM_ROWS), name,
                     ha="center", fontsize=10, weight="bold")
            members = [i for i, p in enumerate(places) if p[:2] == (r, c)]
            for slot, i in enumerate(members):
                width = 0.9 / n_cols / max(len(members), 2)
                ax = fig.add_axes([
                    left + 0.05 / n_cols + slot * width, bottom + 0.08 / len(KARYOGRAM_ROWS),
                    width, 0.72 / len(KARYOGRAM_ROWS),
                ])
                image = chromosomes[i]
                # a common scale: pad every chromosome to the tallest, bottom-aligned
                canvas = np.zeros((tallest, widest))
                h, w = image.shape
                left_pad = (canvas.shape[1] - w) // 2
                canvas[tallest - h :, left_pad : left_pad + w] = image
                ax.imshow(canvas, cmap="gray")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_xlabel(f"{float(confidences[i]):.2f}", fontsize=7, labelpad=1)
    if title:
        fig.suptitle(title, y=0.999)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig
