"""The one centring convention: padding and cropping of numpy arrays and torch tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chromoskl._geometry import centre_crop, centre_offsets, centre_pad


@pytest.mark.parametrize(
    "inner, outer, expected",
    [((94, 93), (128, 128), (17, 17)), ((3, 4), (4, 7), (0, 1)), ((5, 5), (5, 5), (0, 0))],
)
def test_offsets_put_the_odd_pixel_below_and_right(inner, outer, expected):
    assert centre_offsets(inner, outer) == expected


def test_offsets_reject_a_larger_inner_grid():
    with pytest.raises(ValueError, match="Cannot centre a 6x5 grid on a smaller 5x5 grid"):
        centre_offsets((6, 5), (5, 5))


@pytest.mark.parametrize("as_tensor", [False, True], ids=["numpy", "torch"])
def test_pad_then_crop_is_the_identity(as_tensor):
    array = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    data = torch.as_tensor(array) if as_tensor else array
    padded = centre_pad(data, (6, 7), value=-1)
    assert tuple(padded.shape) == (2, 6, 7)
    values = np.asarray(padded)
    # 3 extra rows: 1 above, 2 below; 3 extra columns: 1 left, 2 right
    assert (values[:, 0] == -1).all() and (values[:, 4:] == -1).all()
    assert (values[:, :, 0] == -1).all() and (values[:, :, 5:] == -1).all()
    np.testing.assert_array_equal(values[:, 1:4, 1:5], array)
    np.testing.assert_array_equal(np.asarray(centre_crop(padded, (3, 4))), array)


def test_pad_to_the_same_shape_returns_the_input():
    array = np.ones((2, 3))
    assert centre_pad(array, (2, 3)) is array
