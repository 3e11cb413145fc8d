"""A mixin for transformers that learn nothing, like scikit-learn's ``FunctionTransformer``."""

from __future__ import annotations

__all__ = ["NeedsNoFit"]


class NeedsNoFit:
    """Tell scikit-learn that ``transform`` works before (and without) ``fit``.

    Put it first among the bases: ``class T(NeedsNoFit, TransformerMixin, BaseEstimator)``.
    """

    def __sklearn_is_fitted__(self) -> bool:
        """Return True: there is nothing to fit."""
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags
