"""Tests shared by every architecture (after SMP's ``BaseModelTester``).

A test file per architecture subclasses :class:`BaseArchitectureTester`, sets the registry
name, small constructor arguments and the parameter count of the default network, and adds
only what is specific to that network.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chromoskl.architectures import ARCHITECTURES, create_model


def final_map(output):
    """The final logits of a network: the output itself, or the first of a tuple."""
    return output[0] if isinstance(output, (tuple, list)) else output


def crossing_bars(n=4, side=32, half_width=2, seed=0):
    """Images (n, 1, side, side) of a horizontal bar (A, 1) crossing a vertical one (B, 2).

    Both bars have grey value 1, their overlap (3) 2: orientation tells A from B, brightness
    the overlap, as in Pommier's images. Bars are ``2 * half_width`` pixels thick.
    """
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, side, side), dtype=np.int64)
    for i in range(n):
        r, c = rng.integers(side // 4, side - side // 4, size=2)
        a = np.zeros((side, side), bool)
        b = np.zeros((side, side), bool)
        a[r - half_width : r + half_width, 4 : side - 4] = True
        b[4 : side - 4, c - half_width : c + half_width] = True
        labels[i][a], labels[i][b], labels[i][a & b] = 1, 2, 3
    images = np.isin(labels, (1, 3)).astype(np.float32) + np.isin(labels, (2, 3))
    return torch.from_numpy(images[:, None]), torch.from_numpy(labels)


class BaseArchitectureTester:
    #: registry name
    name: str = ""
    #: constructor arguments for a network small enough to test on a CPU
    tiny_kwargs: dict = {}
    #: parameter count of ``create_model(name)`` with its defaults (a regression number)
    default_param_count: int = -1
    #: input sizes a network must accept (multiples of its ``input_divisor``)
    sizes: tuple = ((32, 32), (48, 64))
    #: constructor arguments for the learning test (None: ``tiny_kwargs``): a width of 4 is
    #: too narrow to learn even the toy task reliably (dead units), 8 learns it
    learn_kwargs: dict | None = None
    #: half the thickness of the toy bars of the learning test, and its Adam steps
    learn_half_width: int = 2
    learn_steps: int = 100

    def tiny(self, **extra):
        return create_model(self.name, **{**self.tiny_kwargs, **extra})

    def test_registered(self):
        assert self.name in ARCHITECTURES

    def test_default_parameter_count(self):
        model = create_model(self.name)
        assert sum(p.numel() for p in model.parameters()) == self.default_param_count

    def test_every_argument_has_a_default(self):
        import inspect

        signature = inspect.signature(ARCHITECTURES[self.name].__init__)
        for parameter in list(signature.parameters.values())[1:]:
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            assert parameter.default is not parameter.empty, parameter.name

    @pytest.mark.parametrize("batch", [1, 3])
    def test_forward_backward_shapes(self, batch):
        torch.manual_seed(0)
        model = self.tiny()
        for h, w in self.sizes:
            x = torch.randn(batch, 1, h, w, requires_grad=True)
            out = model(x)
            logits = final_map(out)
            assert logits.shape == (batch, 4, h, w)
            assert torch.isfinite(logits).all()
            heads = out if isinstance(out, (tuple, list)) else (out,)
            sum(head.float().mean() for head in heads).backward()
            assert x.grad is not None and torch.isfinite(x.grad).all()
            grads = [p.grad for p in model.parameters() if p.requires_grad]
            assert all(g is not None for g in grads)
            model.zero_grad()

    def test_in_and_out_channels(self):
        model = self.tiny(in_channels=2, out_channels=3)
        divisor = getattr(model, "input_divisor", 1)
        side = 2 * max(divisor, 16)
        assert final_map(model(torch.randn(2, 2, side, side))).shape == (2, 3, side, side)

    def test_non_divisible_input_gives_clear_error(self):
        model = self.tiny().eval()
        divisor = getattr(model, "input_divisor", 1)
        if divisor == 1:
            pytest.skip("accepts any size")
        side = 2 * max(divisor, 16) + 3
        with pytest.raises(ValueError, match="divisible"):
            model(torch.randn(1, 1, side, side))

    def test_eval_is_deterministic(self):
        model = self.tiny().eval()
        x = torch.randn(2, 1, *self.sizes[0])
        with torch.no_grad():
            np.testing.assert_array_equal(final_map(model(x)).numpy(), final_map(model(x)).numpy())

    def test_learns_to_separate_crossing_bars(self):
        # Every head's cross-entropy, Adam, ~100 steps on 4 images: a network that cannot fit
        # this (a dead branch, a gate stuck at zero, a head wired to the wrong map) fails.
        torch.manual_seed(0)
        model = create_model(self.name, **(self.learn_kwargs or self.tiny_kwargs))
        side = max(32, 2 * getattr(model, "input_divisor", 1))
        x, y = crossing_bars(side=side, half_width=self.learn_half_width)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(self.learn_steps):
            optimizer.zero_grad()
            out = model(x)
            heads = out if isinstance(out, (tuple, list)) else (out,)
            loss = sum(torch.nn.functional.cross_entropy(h, y) for h in heads) / len(heads)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            predicted = final_map(model.eval()(x)).argmax(1)
        overlap = (predicted == 3) & (y == 3)
        iou = overlap.sum().item() / ((predicted == 3) | (y == 3)).sum().item()
        accuracy = (predicted == y).float().mean().item()
        assert iou > 0.5 and accuracy > 0.95, (iou, accuracy)

    def test_one_epoch_fit_through_the_estimator(self):
        from chromoskl import ChromosomeSegmenter
        from chromoskl.datasets import make_overlapping_chromosomes

        data = make_overlapping_chromosomes(12, shape=(37, 45), random_state=0)
        module_params = {f"module__{k}": v for k, v in self.tiny_kwargs.items()}
        seg = ChromosomeSegmenter(
            arch=self.name, max_epochs=1, batch_size=4, train_split=None, device="cpu",
            random_state=0, **module_params,
        )
        seg.fit(data.images, data.labels)
        assert np.isfinite(seg.history_[-1, "train_loss"])
        pred = seg.predict(data.images[:3])
        assert pred.shape == (3, 37, 45) and pred.dtype == np.uint8
        assert set(np.unique(pred)) <= {0, 1, 2, 3}
