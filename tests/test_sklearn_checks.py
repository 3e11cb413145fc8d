"""scikit-learn's own estimator checks on every estimator and transformer of chromoskl, and
its multi-metric scoring: one prediction serves every scorer (issue 12).

The checks feed tabular data (n_samples, n_features); chromoskl's estimators take stacks of
images (n, H, W) and refuse anything else with an error. The checks that cannot apply to
images are listed in ``EXPECTED_FAILURES``, each with its reason; every other check passes.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import KFold, cross_validate
from sklearn.utils.estimator_checks import parametrize_with_checks

from chromoskl import ChromosomeSegmenter, SegmenterEnsemble
from chromoskl.augmentation import Augmenter
from chromoskl.metrics import SCORERS
from chromoskl.transformers import IntensityScaler, PadToShape

IMAGES_ONLY = "takes stacks of images (n, H, W); the check's tabular 2-D X is refused"

ESTIMATORS = [
    ChromosomeSegmenter(max_epochs=1, batch_size=4, train_split=None, device="cpu",
                        random_state=0, module__base_channels=2, module__depth=1),
    PadToShape((8, 8)),
    IntensityScaler(),
    Augmenter(random_state=0),
    SegmenterEnsemble([(name, ChromosomeSegmenter(
        max_epochs=1, batch_size=4, train_split=None, device="cpu", random_state=seed,
        module__base_channels=2, module__depth=1)) for name, seed in (("a", 0), ("b", 1))]),
]

# Checks that fit or transform the check's tabular X: refused for its shape (every one of them
# stops at "X must have shape (n_images, H, W) ...").
_TABULAR = [
    "check_fit_score_takes_y", "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
    "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_estimators_dtypes", "check_pipeline_consistency", "check_estimators_pickle",
    "check_estimators_pickle(readonly_memmap=True)", "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
    "check_n_features_in", "check_fit2d_predict1d",
]
_SPECIFIC = {
    "check_positive_only_tag_during_fit": f"fits tabular X: {IMAGES_ONLY}",
    "check_estimators_empty_data_messages": (
        "expects scikit-learn's wording for 0 features; the tabular X is refused for its shape"
    ),
    "check_fit2d_1sample": "expects scikit-learn's wording for 1 sample; " + IMAGES_ONLY,
    "check_fit2d_1feature": "expects scikit-learn's wording for 1 feature; " + IMAGES_ONLY,
    "check_estimators_nan_inf": (
        "the NaN/inf X is tabular and refused for its shape before its values are read; "
        "NaN/inf images are refused (tests/test_estimator.py::test_bad_input_gives_a_clear_error)"
    ),
    "check_dtype_object": (
        "object arrays are refused (images must be a numeric array), and the X is tabular"
    ),
}
_TRANSFORMER = {
    "check_transformer_data_not_an_array": IMAGES_ONLY,
    "check_transformer_general": IMAGES_ONLY,
    "check_transformer_general(readonly_memmap=True)": IMAGES_ONLY,
    "check_transformer_preserve_dtypes": IMAGES_ONLY,
}
_SAMPLER = (
    "Augmenter is a sampler: fit_resample(X, y) on image/label batches, no fit, which this "
    "check calls"
)
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "ChromosomeSegmenter": {
        **dict.fromkeys(_TABULAR, IMAGES_ONLY),
        **_SPECIFIC,
        "check_no_attributes_set_in_init": (
            "skorch's NeuralNet sets history_, initialized_ and virtual_params_ and keeps "
            "prefixed arguments (module__*, iterator_train__shuffle) as attributes in __init__, "
            "by its design; clone and get_params work (check_estimator_cloneable and "
            "check_get_params_invariance pass)"
        ),
        "check_set_params": (
            "skorch lists its private set _params_to_validate among the parameters; the check "
            "sets it to a number, which breaks skorch's own set_params"
        ),
    },
    "PadToShape": {
        **dict.fromkeys(_TABULAR, IMAGES_ONLY), **_SPECIFIC, **_TRANSFORMER,
        "check_transformers_unfitted_stateless": IMAGES_ONLY,
    },
    "IntensityScaler": {**dict.fromkeys(_TABULAR, IMAGES_ONLY), **_SPECIFIC, **_TRANSFORMER},
    # the members' own checks: the tabular X reaches them through fit and predict_proba
    "SegmenterEnsemble": {**dict.fromkeys(_TABULAR, IMAGES_ONLY), **_SPECIFIC},
    "Augmenter": dict.fromkeys(
        [name for name in _TABULAR if name != "check_fit_score_takes_y"]
        + [name for name in _SPECIFIC]
        + ["check_complex_data", "check_estimator_sparse_tag", "check_estimator_sparse_array",
           "check_estimator_sparse_matrix", "check_fit1d"],
        _SAMPLER,
    ),
}


def expected_failures(estimator) -> dict[str, str]:
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


class CountingSegmenter(BaseEstimator):
    """Predicts X itself (label maps) and counts its calls to ``predict`` (class-wide:
    cross_validate works on clones)."""

    calls = 0

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        CountingSegmenter.calls += 1
        return np.asarray(X).astype(np.uint8)


def test_a_dict_of_scorers_predicts_once_per_fold():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, (6, 5, 5)).astype(np.uint8)
    X = np.where(rng.random(y.shape) < 0.8, y, 3).astype(np.uint8)
    scoring = {name: SCORERS[name] for name in ("overlap_iou", "mean_iou", "chromosome_iou",
                                                "pixel_accuracy", "neg_ab_swapped_share")}
    CountingSegmenter.calls = 0
    result = cross_validate(CountingSegmenter(), X, y, cv=KFold(3), scoring=scoring)
    assert CountingSegmenter.calls == 3  # one prediction per fold for the five scorers
    for name, scorer in scoring.items():
        np.testing.assert_allclose(
            result[f"test_{name}"],
            [scorer(CountingSegmenter(), X[test], y[test]) for _, test in KFold(3).split(X)],
        )
