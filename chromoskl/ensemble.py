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

With ``ab_names_from``, one member names A and B for all of them: the mean decides the
background, the overlap and where a single chromosome lies, and the named member decides
which of the two it is. That split is this library's own, measured in ``benchmarks/
RESULTS.md`` (issue 9, session 50); no paper or library here does it.
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

__all__ = ["SegmenterEnsemble", "a_share", "load_segmenter", "shared_out"]

_OWN_PARAMS = ("estimators", "weights", "n_jobs", "ab_names_from")


class SegmenterEnsemble(BaseEstimator):
    """Segment with several segmenters at once: the (weighted) mean of their probabilities.

    Each member is trained on the same images (``fit`` clones and fits every one), then
    :meth:`predict_proba` averages their class probabilities and :meth:`predict` decodes the
    mean as the first member decodes its own (its ``ab_decoding``). Members may differ in
    anything: the network, its width, the loss, the random start. With ``ab_names_from``,
    one member says which chromosome is A and which B (see there).

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
    ab_names_from : str, optional
        The name of the member that names A and B for the ensemble. None (the default): the
        plain mean, decoded as the first member decodes. A name: the background, the overlap
        and the probability of one chromosome alone (A + B) come from the weighted mean of all
        members; the named member's probabilities decide how much of that single-chromosome
        probability is A and how much B, pixel by pixel (in the proportion of its own A to its
        own B); and labels are decoded as the named member decodes. It is meant for a
        fixed-label member (``ab_loss="fixed"``: the best overlap) beside a swap-invariant one
        named by area (``ab_loss="swap_invariant", ab_decoding="area"``: the same naming on
        chromosomes never seen in training). See Notes.

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

    The fixed-label and swap-invariant members of ``ab_names_from``, 27.5 minutes each on
    Pommier's cleaned labels, 9 shifts at test time (``benchmarks/RESULTS.md``, session 50):

    ========================================  ====================  ====================
    overlap IoU / chromosome A IoU            unseen pairs (2,830)  seen pairs (2,687)
    ========================================  ====================  ====================
    fixed-label member alone                  0.9325 / 0.853        0.9396 / 0.980
    swap-invariant member alone (by area)     0.9267 / 0.970        0.9277 / 0.964
    plain mean (``ab_names_from=None``)       0.9352 / 0.962        0.9391 / 0.982
    ``ab_names_from`` the swap-invariant one  0.9352 / 0.975        0.9390 / 0.972
    ========================================  ====================  ====================

    On unseen pairs it keeps the mean's overlap and names A as the swap-invariant member
    does, where the plain mean inherits some of the fixed-label member's memorised naming;
    on seen pairs that memorised naming is right, and the plain mean names A better.

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

    def __init__(self, estimators, weights=None, n_jobs=None, ab_names_from=None):
        self.estimators = estimators
        self.weights = weights
        self.n_jobs = n_jobs
        self.ab_names_from = ab_names_from

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
                    f"{sorted(members)}; give <member>__<parameter>, estimators, weights, "
                    "n_jobs or ab_names_from."
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

    def _naming_member(self, names):
        """The position of ``ab_names_from`` among ``names``, or None for the plain mean."""
        if self.ab_names_from is None:
            return None
        if not isinstance(self.ab_names_from, str) or self.ab_names_from not in names:
            raise ValueError(
                f"ab_names_from must be None or the name of a member, one of {list(names)}; "
                f"got {self.ab_names_from!r}."
            )
        return list(names).index(self.ab_names_from)

    def __repr__(self):
        try:
            members = ", ".join(f"({name!r}, {estimator!r})" for name, estimator in self.estimators)
        except (TypeError, ValueError):
            members = repr(self.estimators)
        state = "fitted" if hasattr(self, "estimators_") else "unfitted"
        naming = "" if self.ab_names_from is None else f", ab_names_from={self.ab_names_from!r}"
        return (f"SegmenterEnsemble([{members}], weights={self.weights!r}, "
                f"n_jobs={self.n_jobs!r}{naming}) [{state}]")

    # ------------------------------------------------------------------ fitting

    def fit(self, X, y, **fit_params):
        """Clone and fit every member on ``X, y``, ``n_jobs`` at once; ``fit_params`` (such
        as ``groups``) go to each member's ``fit``."""
        pairs = self._checked_estimators(self.estimators)
        self._checked_weights(len(pairs))  # before hours of training, not after
        self._naming_member([name for name, _ in pairs])
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(clone(estimator).fit)(X, y, **fit_params) for _, estimator in pairs
        )
        self.named_estimators_ = Bunch(
            **{name: fitted for (name, _), fitted in zip(pairs, self.estimators_)}
        )
        return self

    @classmethod
    def from_fitted(cls, estimators, weights=None, ab_names_from=None):
        """An ensemble of members that are fitted already (loaded from files, say), without
        fitting them again."""
        ensemble = cls(estimators, weights=weights, ab_names_from=ab_names_from)
        pairs = cls._checked_estimators(estimators)
        ensemble._checked_weights(len(pairs))
        ensemble._naming_member([name for name, _ in pairs])
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

    def combined_proba(self, probas):
        """What :meth:`predict_proba` makes of the members' probabilities (an iterable, in
        member order): their weighted mean (:meth:`mean_proba`), with A and B then shared out
        as the ``ab_names_from`` member shares them, where one is named."""
        check_is_fitted(self, "estimators_")
        naming = self._naming_member(list(self.named_estimators_))
        if naming is None:
            return self.mean_proba(probas)
        share_of_a = []

        def kept(probas):
            for position, proba in enumerate(probas):
                if position == naming:
                    share_of_a.append(a_share(proba))
                yield proba

        return shared_out(self.mean_proba(kept(probas)), share_of_a[0])

    def predict_proba(self, X):
        """The members' class probabilities combined, (n, 4, H, W) float32: their weighted
        mean, with A and B shared out by the ``ab_names_from`` member where one is named.

        Each member names A and B as its own ``predict_proba`` does (with
        ``ab_decoding="area"``, A the smaller chromosome of its argmax), so that members of
        either naming agree before they are averaged.
        """
        return self.combined_proba(proba for _, proba in self.member_proba(X))

    def _decoder(self):
        check_is_fitted(self, "estimators_")
        naming = self._naming_member(list(self.named_estimators_))
        return self.estimators_[0 if naming is None else naming]

    def labels_from_proba(self, proba):
        """Labels decoded from class probabilities as the first member decodes them, or the
        ``ab_names_from`` member where one is named."""
        return self._decoder().labels_from_proba(proba)

    def predict(self, X):
        """Label masks, (n, H, W) uint8: 0 background, 1 A, 2 B, 3 overlap."""
        return self.labels_from_proba(self.predict_proba(X))

    def predict_instances(self, X):
        """The two whole chromosomes, (n, 2, H, W) bool: A = {1, 3}, B = {2, 3}."""
        return labels_to_instances(self.predict(X))

    def score(self, X, y):
        """Overlap-class IoU pooled over every pixel of every image, as
        ``ChromosomeSegmenter.score`` (the argmax of :meth:`predict_proba`)."""
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
            "ab_names_from": self.ab_names_from,
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
        # files written before ab_names_from existed hold no such key: the plain mean
        return cls.from_fitted(list(zip(names, fitted)), weights=payload.get("weights"),
                               ab_names_from=payload.get("ab_names_from"))


def a_share(proba):
    """Per pixel, the share of A in the probability of one chromosome alone,
    ``p_A / (p_A + p_B)`` (n, H, W); one half where both are 0."""
    single = proba[:, 1] + proba[:, 2]
    return np.divide(proba[:, 1], single, out=np.full_like(single, 0.5), where=single > 0)


def shared_out(proba, share_of_a):
    """``proba`` (n, 4, H, W) with its A + B given to A and B in the proportion
    ``share_of_a`` (n, H, W), in place; background and overlap stay as they are."""
    single = proba[:, 1] + proba[:, 2]
    proba[:, 1] = single * share_of_a
    proba[:, 2] = single - proba[:, 1]
    return proba


def load_segmenter(path, **params):
    """Open a file written by ``ChromosomeSegmenter.save`` or ``SegmenterEnsemble.save``;
    ``params`` override stored parameters (of every member of an ensemble)."""
    from .estimator import ChromosomeSegmenter

    payload = read_torch_file(path)  # read once, whichever kind of file it is
    if payload.get("format") == ENSEMBLE_FORMAT:
        return SegmenterEnsemble._from_payload(payload, path, params)
    return segmenter_from_payload(ChromosomeSegmenter, single_model_payload(payload, path),
                                  params, path)
