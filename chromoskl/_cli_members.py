"""``chromoskl train --members K``: K random starts of one recipe, trained side by side.

The members share the recipe but for the settings in ``PER_MEMBER_FLAGS`` (how A and B are
named in training and decoding), which may take one value per member.

Each member is a :class:`~chromoskl.ChromosomeSegmenter` with its own random start (the
``--init-seed``, or ``--seed``, plus 0, 1, ...) and its own checkpoint; joblib trains them in
K worker processes at once, each with its share of the CPU's threads (joblib's loky backend
limits a worker's threads to ``cpu_count() // K``), as
:class:`~chromoskl.ensemble.SegmenterEnsemble` with ``n_jobs=K`` does. With ``--max-minutes``
each member has the whole budget. The members are then saved as one model that averages
their probabilities.

On 2 CPU cores, two single-thread trainings side by side trained 1.35x the images of one
two-thread training over 2 hours, and two networks trained so for 115 minutes and averaged
scored the best overlap IoU of the 2-hour runs on Pommier's pairs (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from pathlib import Path

from joblib import Parallel, delayed

__all__ = ["PER_MEMBER_FLAGS", "checked_naming_member", "fit_member", "member_checkpoints",
           "member_seeds", "member_settings", "predict_and_score_members", "train_members"]


def member_seeds(first: int, count: int) -> list[int]:
    """The random starts of ``count`` members: ``first``, ``first + 1``, ..."""
    return [first + index for index in range(count)]


#: The settings that may differ between members, by flag: one value for all, or one each.
PER_MEMBER_FLAGS = {"ab_loss": "--ab-loss", "ab_decoding": "--ab-decoding"}


def member_settings(settings: dict, count: int) -> list[dict]:
    """Each of ``count`` members' own values of the ``PER_MEMBER_FLAGS`` settings: a value of
    ``settings`` for all of them, or, where it is a list, its one value per member.

    (``chromoskl.cli._training_settings`` has already made a list of one value that value.)
    Members may differ in how they name A and B. On Pommier's pairs held out by chromosome
    pair, a fixed-label member (decoded as the network names them) averaged with a
    swap-invariant one (named by area) kept the overlap IoU of a fixed-label member alone and
    named A better than two swap-invariant members (benchmarks/RESULTS.md, session 49).

    Raises
    ------
    UsageError
        If a list's length is not ``count``.
    """
    from ._cli_support import UsageError

    members = [{} for _ in range(count)]
    for name, flag in PER_MEMBER_FLAGS.items():
        value = settings[name]
        values = value if isinstance(value, list) else [value] * count
        if len(values) != count:
            raise UsageError(
                f"{flag}: {len(values)} values for {count} member(s); give one value for "
                f"every member, or one per member (--members {len(values)})")
        for member, own in zip(members, values):
            member[name] = own
    return members


def checked_naming_member(ab_names_from: int | None, count: int) -> int | None:
    """The position (from 0) of the member that ``--ab-names-from`` (counted from 1) names,
    or None where it was not given.

    Raises
    ------
    UsageError
        If there is no such member among ``count``.
    """
    from ._cli_support import UsageError

    if ab_names_from is None:
        return None
    if count < 2:
        raise UsageError("--ab-names-from chooses one of several members: give --members 2 "
                         "or more")
    if ab_names_from > count:
        raise UsageError(f"--ab-names-from {ab_names_from}: there are {count} members; give "
                         f"a number from 1 to {count}")
    return ab_names_from - 1


def member_checkpoints(out: Path, seeds: list[int]) -> list[Path]:
    """One checkpoint file per member, named by its random start (``checkpoint.pt`` for a
    single network, as before members existed)."""
    if len(seeds) == 1:
        return [out / "checkpoint.pt"]
    return [out / f"checkpoint-start{seed}.pt" for seed in seeds]


def fit_member(segmenter, checkpoint: Path, X, y, *, resume: bool, max_epochs: int, groups):
    """Fit one network (a member in a worker process, or the single one), or resume it from
    its checkpoint.

    A member with no checkpoint yet (stopped before its first epoch ended) starts afresh.
    """
    from .checkpoint import resume_training

    if resume and checkpoint.is_file():
        return resume_training(segmenter, checkpoint, X, y, max_epochs=max_epochs, groups=groups)
    return segmenter.fit(X, y, groups=groups)


def train_members(segmenters, checkpoints, X, y, *, resume: bool, max_epochs: int, groups):
    """Fit the members side by side, one worker process each; return them fitted, in order.

    A Ctrl-C stops every worker; each member's checkpoint of its last completed epoch stays
    for ``--resume``.
    """
    return Parallel(n_jobs=len(segmenters))(
        delayed(fit_member)(segmenter, checkpoint, X, y, resume=resume,
                             max_epochs=max_epochs, groups=groups)
        for segmenter, checkpoint in zip(segmenters, checkpoints)
    )


def predict_and_score_members(ensemble, X, y):
    """The ensemble's labels for ``X``, and each member's own held-out scores beside them.

    Each member predicts once; its probabilities are scored alone, then added into the mean
    (``SegmenterEnsemble.combined_proba``), so the members' scores cost no second prediction.
    Returns ``(labels, {name: scores})``, the labels those of ``ensemble.predict(X)``.
    """
    from .metrics import segmentation_scores

    member_scores = {}

    def scored(member_probas):
        for name, proba in member_probas:
            member = ensemble.named_estimators_[name]
            member_scores[name] = segmentation_scores(y, member.labels_from_proba(proba))
            yield proba

    combined = ensemble.combined_proba(scored(ensemble.member_proba(X)))
    return ensemble.labels_from_proba(combined), member_scores
