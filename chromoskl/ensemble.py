"""Several segmenters as one: the mean of their class probabilities.

Averaging the softmax outputs of networks trained apart is the plainest ensemble
(Lakshminarayanan et al. 2017 average networks that differ only in their random start). On
Pommier's data (raw labels, random split), two U-Nets trained 27.5 minutes each on 2 CPU cores
score an overlap IoU of 0.960 averaged (two random starts of one network: 0.957), against
0.953 and 0.955 alone, 0.953 for one network trained 55 minutes and 0.955 for one trained
2 hours (``benchmarks/RESULTS.md``, issue 9). Test-time augmentation (``tta=True``) averages one
network's views of an image; this averages networks.

scikit-learn's ``VotingClassifier(voting="soft")`` does the same for one label per sample, but
its labels are a 1-D ``y`` and it re-encodes them, so it cannot take a (n, H, W) label map;
this class is that soft vote for segmentations, with the segmenter's own prediction methods
and model file.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import Bunch
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._model_file import (
    ENSEMBLE_FORMAT,
    FILE_FORMAT,
    checked_payload,
    model_payload,
    read_torch_file,
    segmenter_from_payload,
    single_model_payload,
)
from ._persistence import atomic_torch_save
from .classes import labels_to_instances

__all__ = ["SegmenterEnsemble", "load_segmenter"]

_OWN_PARAMS = ("estimators", "weights", "n_jobs")


class SegmenterEnsemble(BaseEstimator):
    """Segment with several segmenters at once: the (weighted) mean of their probabilities.

    Each member is trained on the same images (``fit`` clones and fits every one), then
    :meth:`predict_proba` averages their class probabilities and :meth:`predict` decodes the
    mean as the first member decodes its own (its ``ab_decoding``). Members may differ in
    anything: the network, its width, the loss, the random start.

    Parameters
    ----------
    estimators : list of (str, ChromosomeSegmenter)
        The members and their names, as scikit-learn's ``VotingClassifier`` takes them; a
        member's parameters are reached as ``<name>__<param>`` (``set_params``,
        ``GridSearchCV``). Any estimator with ``fit``, ``predict_proba`` and
        ``labels_from_proba`` serves.
    weights : sequence of float, optional
        One non-negative weight per member for the mean; None weighs them equally.
    n_jobs : int, optional
        How many members ``fit`` trains at once, each in its own process (joblib, as
        ``VotingClassifier.n_jobs``); None trains them one after another, -1 all at once.
        joblib gives each process ``cpu_count() // n_jobs`` threads (``OMP_NUM_THREADS``,
        which torch follows). Prediction runs the members one after another.

    Attributes
    ----------
    estimators_ : list
        The fitted members, in the order of ``estimators``.
    named_estimators_ : sklearn.utils.Bunch
        The same by name.

    Notes
    -----
    Each member is fitted with its own parameters. One after another, ``k`` members within a
    budget of ``M`` minutes take ``max_minutes=M / k`` each; with ``n_jobs=k`` they train side
    by side and each takes ``max_minutes=M``. On a 2-core CPU, two single-thread trainings side
    by side trained 1.35x the images of one two-thread training over 2 hours, and ``n_jobs=2``
    1.30x those of fitting in turn over 3 epochs, its process starts included
    (``benchmarks/RESULTS.md``); on one GPU, leave ``n_jobs`` None. Prediction costs the sum
    of the members' times. A fit that stops midway starts again from the first member;
    members saved on their own can be joined with :meth:`from_fitted`.

    Examples
    --------
    >>> from chromoskl import ChromosomeSegmenter
    >>> from chromoskl.ensemble import SegmenterEnsemble
    >>> ensemble = SegmenterEnsemble([
    ...     ("start0", ChromosomeSegmenter(random_state=0)),
    ...     ("start1", ChromosomeSegmenter(random_state=1)),
    ... ])
    >>> ensemble.set_params(start1__lr=3e-3).get_params()["start1__lr"]
    0.003
    """

    def __init__(self, estimators, weights=None, n_jobs=None):
        self.estimators = estimators
        self.weights = weights
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ parameters

    def get_params(self, deep=True):
        params = {own: getattr(self, own) for own in _OWN_PARAMS}
        if not deep:
            return params
        try:
            pairs = self._checked_estimators(self.estimators)
        except (TypeError, ValueError):  # reported by fit; get_params serves repr and clone
            return params
        for name, estimator in pairs:
            params[name] = estimator
            for key, value in estimator.get_params(deep=True).items():
                if not key.startswith("_"):  # skorch's bookkeeping, not a parameter
                    params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params):
        for own in _OWN_PARAMS:
            if own in params:
                setattr(self, own, params.pop(own))
        if not params:  # the members are checked by fit, as scikit-learn's checks expect
            return self
        members = dict(self._checked_estimators(self.estimators))
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in members:
                raise ValueError(
                    f"Invalid parameter {key!r} for SegmenterEnsemble: the members are "
                    f"{sorted(members)}; give <member>__<parameter>, estimators, weights or "
                    "n_jobs."
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:  # replace a member by name
                self.estimators = [(n, value if n == name else e) for n, e in self.estimators]
                members[name] = value
        for name, sub_params in nested.items():
            members[name].set_params(**sub_params)
        return self

    @staticmethod
    def _checked_estimators(estimators):
        message = (
            "estimators must be a non-empty list of (name, segmenter) pairs with distinct "
            "names that contain no '__', such as [('a', ChromosomeSegmenter()), ('b', "
            "ChromosomeSegmenter(random_state=1))]"
        )
        try:
            pairs = [(name, estimator) for name, estimator in estimators]
        except (TypeError, ValueError):
            raise ValueError(f"{message}; got {estimators!r}.") from None
        names = [name for name, _ in pairs]
        if not pairs or len(set(names)) != len(names) or not all(
            isinstance(name, str) and name and "__" not in name
            and name not in _OWN_PARAMS for name in names
        ):
            raise ValueError(f"{message}; got the names {names}.")
        for name, estimator in pairs:
            missing = [m for m in ("fit", "predict_proba", "labels_from_proba")
                       if not callable(getattr(estimator, m, None))]
            if missing:
                raise TypeError(
                    f"The member {name!r} ({type(estimator).__name__}) has no "
                    f"{', '.join(missing)}: every member must be a segmenter such as "
                    "ChromosomeSegmenter."
                )
        return pairs

    def _checked_weights(self, n_members):
        if self.weights is None:
            return np.ones(n_members) / n_members
        try:
            weights = None if isinstance(self.weights, (numbers.Number, str)) else np.asarray(
                self.weights, dtype=float)
        except (TypeError, ValueError):
            weights = None
        if weights is None or weights.shape != (n_members,) or not np.all(
            np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(
                f"weights must be None or {n_members} non-negative numbers, one per member, "
                f"not all 0; got {self.weights!r}."
            )
        return weights / weights.sum()

    def __repr__(self):
        try:
            members = ", ".join(f"({name!r}, {estimator!r})" for name, estimator in self.estimators)
        except (TypeError, ValueError):
            members = repr(self.estimators)
        state = "fitted" if hasattr(self, "estimators_") else "unfitted"
        return (f"SegmenterEnsemble([{members}], weights={self.weights!r}, "
                f"n_jobs={self.n_jobs!r}) [{state}]")

    # ------------------------------------------------------------------ fitting

    def fit(self, X, y, **fit_params):
        """Clone and fit every member on ``X, y``, ``n_jobs`` at once; ``fit_params`` (such
        as ``groups``) go to each member's ``fit``."""
        pairs = self._checked_estimators(self.estimators)
        self._checked_weights(len(pairs))  # before hours of training, not after
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(clone(estimator).fit)(X, y, **fit_params) for _, estimator in pairs
        )
        self.named_estimators_ = Bunch(
            **{name: fitted for (name, _), fitted in zip(pairs, self.estimators_)}
        )
        return self

    @classmethod
    def from_fitted(cls, estimators, weights=None):
        """An ensemble of members that are fitted already (loaded from files, say), without
        fitting them again."""
        ensemble = cls(estimators, weights=weights)
        pairs = cls._checked_estimators(estimators)
        ensemble._checked_weights(len(pairs))
        for name, estimator in pairs:
            check_is_fitted(estimator, msg=f"The member {name!r} is not fitted; fit it first.")
        ensemble.estimators_ = [estimator for _, estimator in pairs]
        ensemble.named_estimators_ = Bunch(**dict(pairs))
        return ensemble

    # ------------------------------------------------------------------ prediction

    def member_proba(self, X):
        """Each member's own class probabilities, one member at a time.

        A generator, as scikit-learn's ``staged_predict_proba`` of the boosting estimators:
        it yields ``(name, proba)`` for each member in order, ``proba`` (n, 4, H, W) float32
        as that member's ``predict_proba`` gives it. Score each member beside the mean
        (``chromoskl train --members`` does) without predicting twice:
        :meth:`mean_proba` of the yielded arrays is :meth:`predict_proba`.
        """
        check_is_fitted(self, "estimators_")
        for name, estimator in zip(self.named_estimators_, self.estimators_):
            yield name, np.asarray(estimator.predict_proba(X), dtype=np.float32)

    def mean_proba(self, probas):
        """The weighted mean of the members' probabilities (an iterable, in member order),
        accumulated one member at a time so that two arrays are held at once."""
        check_is_fitted(self, "estimators_")
        weights = self._checked_weights(len(self.estimators_))
        mean, count = None, 0
        for count, proba in enumerate(probas, start=1):
            if count > len(weights):
                break
            weight = weights[count - 1]
            if mean is None:
                mean = proba * np.float32(weight)
            elif proba.shape != mean.shape:
                raise ValueError(
                    f"The members' probabilities differ in shape ({mean.shape} against "
                    f"{proba.shape}): every member must predict the same classes."
                )
            else:
                mean += proba * np.float32(weight)
        if count != len(weights):
            got = f"more than {len(weights)}" if count > len(weights) else str(count)
            raise ValueError(f"Got {got} probability arrays for {len(weights)} members: give "
                             f"one per member, in member order.")
        return mean

    def predict_proba(self, X):
        """The weighted mean of the members' class probabilities, (n, 4, H, W) float32.

        Each member names A and B as its own ``predict_proba`` does (with
        ``ab_decoding="area"``, A the smaller chromosome of its argmax), so that members of
        either naming agree before they are averaged.
        """
        return self.mean_proba(proba for _, proba in self.member_proba(X))

    def labels_from_proba(self, proba):
        """Labels decoded from class probabilities as the first member decodes them."""
        check_is_fitted(self, "estimators_")
        return self.estimators_[0].labels_from_proba(proba)

    def predict(self, X):
        """Label masks, (n, H, W) uint8: 0 background, 1 A, 2 B, 3 overlap."""
        return self.labels_from_proba(self.predict_proba(X))

    def predict_instances(self, X):
        """The two whole chromosomes, (n, 2, H, W) bool: A = {1, 3}, B = {2, 3}."""
        return labels_to_instances(self.predict(X))

    def score(self, X, y):
        """Overlap-class IoU pooled over every pixel of every image, as
        ``ChromosomeSegmenter.score`` (the argmax of the mean probabilities)."""
        from ._segmenter_params import proba_overlap_iou

        return proba_overlap_iou(self.predict_proba(X), y)

    @property
    def intensity_range_(self):
        """The first member's training grey range (what a metaphase is scaled to)."""
        check_is_fitted(self, "estimators_")
        return getattr(self.estimators_[0], "intensity_range_", None)

    # ------------------------------------------------------------------ persistence

    def save(self, path):
        """Write every member (as ``ChromosomeSegmenter.save`` would), the names and the
        weights to one file, whole or not at all."""
        from . import __version__

        check_is_fitted(self, "estimators_")
        names = list(self.named_estimators_)  # those fitted, whatever set_params did since
        payload = {
            "format": ENSEMBLE_FORMAT,
            "chromoskl_version": __version__,
            "names": list(names),
            "weights": None if self.weights is None else [float(w) for w in self.weights],
            "members": [model_payload(member) for member in self.estimators_],
        }
        atomic_torch_save(payload, path)
        return self

    @classmethod
    def load(cls, path, **params):
        """Rebuild an ensemble written by :meth:`save`; ``params`` (such as ``device="cpu"``
        or ``tta=True``) override the stored parameters of every member. Each member is
        checked as ``ChromosomeSegmenter.load`` checks a model file."""
        return cls._from_payload(read_torch_file(path), path, params)

    @classmethod
    def _from_payload(cls, payload, path, params):
        from .estimator import ChromosomeSegmenter

        if payload.get("format") == FILE_FORMAT:
            raise ValueError(
                f"{path} holds one segmenter, not an ensemble: open it with "
                "ChromosomeSegmenter.load or chromoskl.ensemble.load_segmenter."
            )
        members, names = payload.get("members"), payload.get("names")
        if payload.get("format") != ENSEMBLE_FORMAT or not isinstance(members, list) or not (
            isinstance(names, list) and len(names) == len(members) and members
        ):
            raise ValueError(
                f"{path} is not a chromoskl ensemble file (written by SegmenterEnsemble.save)."
            )
        fitted = []
        for name, member in zip(names, members):
            source = f"{path} (member {name!r})"
            if not isinstance(member, dict) or member.get("format") != FILE_FORMAT:
                raise ValueError(f"{source} is damaged: save the ensemble again.")
            fitted.append(segmenter_from_payload(
                ChromosomeSegmenter, checked_payload(member, source), params, source))
        return cls.from_fitted(list(zip(names, fitted)), weights=payload.get("weights"))


def load_segmenter(path, **params):
    """Open a file written by ``ChromosomeSegmenter.save`` or ``SegmenterEnsemble.save``;
    ``params`` override stored parameters (of every member of an ensemble)."""
    from .estimator import ChromosomeSegmenter

    payload = read_torch_file(path)  # read once, whichever kind of file it is
    if payload.get("format") == ENSEMBLE_FORMAT:
        return SegmenterEnsemble._from_payload(payload, path, params)
    return segmenter_from_payload(ChromosomeSegmenter, single_model_payload(payload, path),
                                  params, path)
