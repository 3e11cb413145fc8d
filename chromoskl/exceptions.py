"""The errors chromoskl raises that are its own."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["UnknownNameError"]


class UnknownNameError(ValueError, KeyError):
    """A name that no registry entry has: a network, a loss or a scorer.

    One type for every registry, so that ``except UnknownNameError`` catches a misspelt
    ``arch``, ``criterion`` or ``scoring`` alike. It is a ``ValueError`` (a bad argument,
    as the losses and scorers raised before) and a ``KeyError`` (a missing key, as the
    networks raised before), so that code written for either keeps working. The message
    always reads ``Unknown <kind> '<name>'; known <kinds>: <sorted names>.``

    Parameters
    ----------
    kind : str
        What was looked up, e.g. ``"architecture"``.
    name : str
        The name that was not found.
    known : iterable of str
        The names that would have been found.
    plural : str or None, default=None
        The plural of ``kind`` in the message; None adds an "s".

    Attributes
    ----------
    kind, name : str
    known : tuple of str
        Sorted.

    Examples
    --------
    >>> error = UnknownNameError("loss", "dise", ["dice", "ce"], plural="losses")
    >>> str(error)
    "Unknown loss 'dise'; known losses: ce, dice."
    >>> isinstance(error, ValueError) and isinstance(error, KeyError)
    True
    """

    def __init__(
        self, kind: str, name: str, known: Iterable[str], plural: str | None = None
    ) -> None:
        self.kind, self.name, self.known = kind, name, tuple(sorted(known))
        plural = f"{kind}s" if plural is None else plural
        super().__init__(
            f"Unknown {kind} {name!r}; known {plural}: {', '.join(self.known)}."
        )

    def __str__(self) -> str:
        # KeyError would show the repr of the message, quotes and escapes included
        return str(self.args[0])

    def __reduce__(self):
        # pickling (joblib workers) must rebuild the error from its parts, not the message
        return type(self), (self.kind, self.name, self.known)
