"""ChromosomeClassifier: the skorch machinery with a tiny module (no torchvision), the
torchvision networks (marked ``recognition``: run by .ci/recognition), ``chromoskl classify``."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import EarlyStopping, LRScheduler
from torch import nn

from chromoskl.cli import main
from chromoskl.recognition import ChromosomeClassifier, TorchvisionUnavailableError
from chromoskl.recognition._models import import_torchvision


def _torchvision_loads() -> bool:
    try:
        import_torchvision()
    except TorchvisionUnavailableError:
        return False
    return True


def require_torchvision():
    """Skip unless torchvision loads beside torch (its broken import raises RuntimeError)."""
    if not _torchvision_loads():
        pytest.skip("torchvision is missing or does not load beside this torch")


class TinyNet(nn.Module):
    """Mean brightness of the top and bottom halves -> logits: enough for the toy classes."""

    def __init__(self, n_classes=2):
        super().__init__()
        self.linear = nn.Linear(2, n_classes)

    def forward(self, x):
        h = x.shape[-2] // 2
        return self.linear(torch.stack([x[..., :h, :].mean((1, 2, 3)),
                                        x[..., h:, :].mean((1, 2, 3))], dim=1) * 10)


def _toy(n=40, size=16, seed=0):
    """Class 0: bright top half; class 1: bright bottom half."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(0, 0.05, (n, size, size)).astype(np.float32)
    for i, cls in enumerate(y):
        X[i, (size // 2) * cls : (size // 2) * (cls + 1)] += 1
    return X, y.astype(np.int64)


def _tiny(**kwargs):
    params = dict(module=TinyNet, module__n_classes=2, n_classes=2, lr=0.1, max_epochs=15,
                  augmenter=None, random_state=0, verbose=0)
    params.update(kwargs)
    return ChromosomeClassifier(**params)


def test_fit_predict_score_with_the_slides_callbacks():
    X, y = _toy()
    clf = _tiny().fit(X, y)
    assert clf.score(X, y) == 1.0
    proba = clf.predict_proba(X[:4])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert clf.optimizer_.param_groups[0]["weight_decay"] == 1e-5
    callbacks = dict(clf.callbacks_)
    assert isinstance(callbacks["lr_step"], LRScheduler) and callbacks["lr_step"].step_size == 15
    stop = callbacks["early_stopping"]
    assert isinstance(stop, EarlyStopping) and stop.monitor == "valid_acc" and stop.patience == 10


def test_step_decay_and_early_stopping_act():
    X, y = _toy()
    clf = _tiny(lr_step=2, max_epochs=5, patience=None).fit(X, y)
    assert clf.optimizer_.param_groups[0]["lr"] == pytest.approx(0.1 * 0.1**2)
    stopped = _tiny(patience=2, max_epochs=40).fit(X, y)
    # valid_acc reaches 1.0 at once, so two epochs without improvement end training early
    assert len(stopped.history_) < 40


def test_slides_augmentation_changes_the_training_batches():
    X, y = _toy()
    plain = _tiny(max_epochs=1).fit(X, y)
    augmented = _tiny(max_epochs=1, augmenter="slides").fit(X, y)
    assert augmented.augmenter_.blur_sigma == (0.1, 0.5)
    assert plain.history_[-1, "train_loss"] != augmented.history_[-1, "train_loss"]


def test_grid_search_over_optimizer_and_lr():
    X, y = _toy(n=30)
    grid = {"optimizer": [torch.optim.Adam, torch.optim.SGD, torch.optim.RMSprop],
            "lr": [1e-4, 1e-3, 1e-2]}
    search = GridSearchCV(_tiny(max_epochs=2, train_split=None), grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 9
    assert set(search.best_params_) == {"optimizer", "lr"}


def test_bad_parameters_and_data():
    X, y = _toy(n=8)
    with pytest.raises(ValueError, match="arch must be one of"):
        ChromosomeClassifier(arch="alexnet").fit(X, y)
    with pytest.raises(ValueError, match="lr_step.*patience"):
        _tiny(lr_step=0, patience=-1).fit(X, y)
    with pytest.raises(ValueError, match="class indices 0..1"):
        _tiny().fit(X, y + 5)
    with pytest.raises(ValueError, match=r"\(n, H, W\) or \(n, 1, H, W\)"):
        _tiny().fit(X[:, None, None], y)


def test_missing_torchvision_is_one_clear_import_error():
    if _torchvision_loads():
        pytest.skip("torchvision loads here")
    X, y = _toy(n=8, size=32)
    with pytest.raises(ImportError, match=r"chromoskl\[recognition\]"):
        ChromosomeClassifier(max_epochs=1).fit(X, y)


def test_cli_classify(tmp_path, capsys):
    from skimage import io

    X, y = _toy()
    model = tmp_path / "clf.joblib"
    joblib.dump(_tiny().fit(X, y), model)
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"c{i}.png")
        io.imsave(paths[-1], (np.clip(X[i], 0, 1) * 255).astype(np.uint8), check_contrast=False)
    assert main(["classify", "--model", str(model), *map(str, paths),
                 "--out", str(tmp_path / "t.tsv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    # classes 0 and 1 are named "1" and "2" (index k is class CLASS_NAMES[k])
    assert [line.split("\t")[1] for line in lines[1:]] == ["1", "2"]
    assert all(float(line.split("\t")[2]) > 0.9 for line in lines[1:])
    assert (tmp_path / "t.tsv").read_text().splitlines() == lines
    assert main(["classify", "--model", str(tmp_path / "none"), str(paths[0])]) == 2
    assert "no such model file" in capsys.readouterr().err


@pytest.mark.recognition
@pytest.mark.parametrize("arch,size", [
    ("resnet18", 32), ("resnet50", 32), pytest.param("vgg16", 32, marks=pytest.mark.slow),
    ("inception_v3", 75),
])
def test_torchvision_networks_train_and_predict(arch, size):
    require_torchvision()
    X, y = _toy(n=8, size=size)
    clf = ChromosomeClassifier(arch=arch, n_classes=24, max_epochs=1, batch_size=4,
                               train_split=None, random_state=0, verbose=0).fit(X, y)
    conv = next(m for m in clf.module_.modules() if isinstance(m, nn.Conv2d))
    assert conv.in_channels == 1
    proba = clf.predict_proba(X)
    assert proba.shape == (8, 24) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)


@pytest.mark.recognition
def test_resnet18_learns_the_toy_classes():
    require_torchvision()
    X, y = _toy(n=32, size=32)
    clf = ChromosomeClassifier(n_classes=2, lr=1e-3, max_epochs=8, train_split=None,
                               random_state=0, verbose=0).fit(X, y)
    assert clf.score(X, y) >= 0.9


@pytest.mark.recognition
def test_too_small_for_inception():
    require_torchvision()
    X, y = _toy(n=4, size=32)
    with pytest.raises(ValueError, match="at least 75x75"):
        ChromosomeClassifier(arch="inception_v3", max_epochs=1).fit(X, y)
