"""Chromosome recognition on generated karyotype chromosomes, at a CPU budget.

Measures, for each of the slides' networks, held-out accuracy, a confusion-matrix PNG, and
training/prediction throughput (images/s); the optimiser x learning-rate grid for ResNet18; and
whether straightening (chromoskl.recognition.Straightener) raises ResNet18's accuracy.

The generated classes are NOT real karyotypes (fixed random banding, ISCN lengths and
centromere indices): the numbers show that the machinery works, not the accuracy on a lab's
images. Needs torchvision (run it in a venv where torchvision loads, e.g. /work/venv-tv):

    nice -n 19 python benchmarks/recognition.py --out runs/recognition            # everything
    nice -n 19 python benchmarks/recognition.py --parts archs --archs resnet18    # one part

Results go to OUT/results.json (updated after every part) and OUT/confusion_<arch>.png.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV, PredefinedSplit, train_test_split
from sklearn.pipeline import make_pipeline

from chromoskl.datasets import make_karyotype_chromosomes
from chromoskl.recognition import ChromosomeClassifier, PadToSquare, ResizeImages, Straightener
from chromoskl.recognition._models import MIN_INPUT_SIZE

# epochs per network: what a CPU budget of a few minutes each allows on 2 cores at 64 px
EPOCHS = {"resnet18": 10, "resnet50": 6, "vgg16": 3, "inception_v3": 5}
# the smallest input each accepts is 32 px (75 for InceptionV3); the slides used 224 and 299
SIZES = {"resnet18": 64, "resnet50": 64, "vgg16": 64, "inception_v3": 75}


def _data(n_per_class, image_size, seed):
    data = make_karyotype_chromosomes(n_per_class, image_size=image_size, random_state=seed)
    idx = np.arange(len(data.target))
    train, test = train_test_split(idx, test_size=0.3, stratify=data.target, random_state=seed)
    return data, train, test


def _classifier(arch, epochs, seed, **kwargs):
    params = dict(arch=arch, max_epochs=epochs, lr=1e-3, train_split=None, random_state=seed,
                  verbose=0)
    params.update(kwargs)
    return ChromosomeClassifier(**params)


def _fit_and_score(model, X_train, y_train, X_test, y_test, epochs):
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    predicted = model.predict(X_test)
    predict_s = time.perf_counter() - start
    return predicted, {
        "accuracy": float(np.mean(predicted == y_test)),
        "fit_s": round(fit_s, 1),
        "train_images_per_s": round(len(X_train) * epochs / fit_s, 1),
        "predict_images_per_s": round(len(X_test) / predict_s, 1),
        "n_train": int(len(X_train)),
        "n_test": int(len(X_test)),
        "epochs": epochs,
    }


def _confusion_png(y_true, y_pred, names, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(9, 9))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=np.arange(len(names)), display_labels=names, ax=ax,
        colorbar=False, include_values=False,
    )
    ax.set_title(title)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def run_archs(args, results):
    data, train, test = _data(args.n_per_class, 64, args.seed)
    for arch in args.archs:
        epochs = args.epochs or EPOCHS[arch]
        size = max(args.size, MIN_INPUT_SIZE[arch]) if args.size else SIZES[arch]
        model = make_pipeline(ResizeImages(size), _classifier(arch, epochs, args.seed))
        predicted, row = _fit_and_score(
            model, data.images[train], data.target[train], data.images[test],
            data.target[test], epochs,
        )
        row["input_size"] = size
        row["n_per_class"] = args.n_per_class
        results.setdefault("archs", {})[arch] = row
        _confusion_png(data.target[test], predicted, data.target_names,
                       args.out / f"confusion_{arch}.png",
                       f"{arch}: held-out accuracy {row['accuracy']:.3f} (generated data)")
        _save(args, results)
        print(arch, row, flush=True)


def run_straighten(args, results):
    data, train, test = _data(args.straighten_n_per_class, 64, args.seed)
    epochs = args.straighten_epochs
    rows = {}
    size = args.size or 64
    for name, steps in (("plain", [ResizeImages(size)]),
                        ("straightened", [Straightener(), PadToSquare(), ResizeImages(size)])):
        model = make_pipeline(*steps, _classifier("resnet18", epochs, args.seed))
        _, rows[name] = _fit_and_score(
            model, data.images[train], data.target[train], data.images[test],
            data.target[test], epochs,
        )
        print("straighten", name, rows[name], flush=True)
    results["straighten_resnet18"] = {"input_size": size, **rows}
    _save(args, results)


def run_grid(args, results):
    data, train, test = _data(args.grid_n_per_class, args.grid_size, args.seed)
    X = np.concatenate([data.images[train], data.images[test]])
    y = np.concatenate([data.target[train], data.target[test]])
    fold = np.r_[np.full(len(train), -1), np.zeros(len(test), int)]  # one held-out split
    grid = {"optimizer": [torch.optim.Adam, torch.optim.SGD, torch.optim.RMSprop],
            "lr": [1e-4, 1e-3, 1e-2]}
    search = GridSearchCV(
        _classifier("resnet18", args.grid_epochs, args.seed), grid, cv=PredefinedSplit(fold),
        refit=False,
    )
    start = time.perf_counter()
    search.fit(X, y)
    table = {
        f"{p['optimizer'].__name__} lr={p['lr']:g}": round(float(s), 3)
        for p, s in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"])
    }
    results["grid_resnet18"] = {
        "held_out_accuracy": table, "epochs": args.grid_epochs, "image_size": args.grid_size,
        "n_train": int(len(train)), "n_test": int(len(test)),
        "seconds": round(time.perf_counter() - start, 1),
    }
    _save(args, results)
    print("grid", table, flush=True)


def _save(args, results):
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/recognition"))
    parser.add_argument("--parts", nargs="+", default=["archs", "straighten", "grid"],
                        choices=["archs", "straighten", "grid"])
    parser.add_argument("--archs", nargs="+", default=list(EPOCHS), choices=list(EPOCHS))
    parser.add_argument("--n-per-class", type=int, default=20)
    parser.add_argument("--epochs", type=int, help="one epoch count for every network "
                        "(default: EPOCHS)")
    parser.add_argument("--size", type=int, help="input side of every network (at least its "
                        "minimum; default: SIZES)")
    parser.add_argument("--straighten-n-per-class", type=int, default=20)
    parser.add_argument("--straighten-epochs", type=int, default=10)
    parser.add_argument("--grid-n-per-class", type=int, default=10)
    parser.add_argument("--grid-epochs", type=int, default=5)
    parser.add_argument("--grid-size", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    results["machine"] = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for part in args.parts:
        {"archs": run_archs, "straighten": run_straighten, "grid": run_grid}[part](args, results)


if __name__ == "__main__":
    main()
