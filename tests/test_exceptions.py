"""Unknown names raise one error type, with one message shape, for every registry."""

import pickle

import pytest

from chromoskl.architectures import ARCHITECTURES, create_model, resolve_architecture
from chromoskl.exceptions import UnknownNameError
from chromoskl.losses import LOSSES, resolve_criterion
from chromoskl.metrics import SCORERS, get_scorer

LOOKUPS = [
    (resolve_architecture, "architecture", "architectures", ARCHITECTURES),
    (create_model, "architecture", "architectures", ARCHITECTURES),
    (resolve_criterion, "loss", "losses", LOSSES),
    (get_scorer, "scorer", "scorers", SCORERS),
]


@pytest.mark.parametrize("lookup, kind, plural, registry", LOOKUPS)
def test_an_unknown_name_raises_the_one_error_listing_the_known_names(
    lookup, kind, plural, registry
):
    with pytest.raises(UnknownNameError) as caught:
        lookup("no-such-name")
    error = caught.value
    known = ", ".join(sorted(registry))
    assert str(error) == f"Unknown {kind} 'no-such-name'; known {plural}: {known}."
    assert (error.kind, error.name, error.known) == (kind, "no-such-name", tuple(sorted(registry)))
    # both the types raised before: networks raised KeyError, losses and scorers ValueError
    assert isinstance(error, KeyError) and isinstance(error, ValueError)


def test_the_message_is_not_quoted_like_a_key_and_survives_pickling():
    error = UnknownNameError("scorer", "iou", ["overlap_iou"])
    assert str(error) == "Unknown scorer 'iou'; known scorers: overlap_iou."
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is UnknownNameError and str(again) == str(error)
