"""The command line under bad input and interruption: one line on stderr and exit status 2
(130 for Ctrl-C), never a traceback, never a model file that looks finished (issue 12)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import io

from chromoskl import ChromosomeSegmenter
from chromoskl.checkpoint import EpochCheckpoint
from chromoskl.cli import main
from chromoskl.datasets import make_overlapping_chromosomes

SMALL = ["--n-samples", "30", "--epochs", "1", "--batch-size", "8", "--module", "depth=2",
         "--module", "base_channels=4"]
REPO = Path(__file__).resolve().parents[1]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("chromoskl: error:"), err
    return err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """model.pt and checkpoint.pt of the network of SMALL, made without the command's plots."""
    out = tmp_path_factory.mktemp("run")
    data = make_overlapping_chromosomes(24, random_state=0)
    seg = ChromosomeSegmenter(max_epochs=1, batch_size=8, device="cpu", random_state=0,
                              module__depth=2, module__base_channels=4,
                              callbacks=[("checkpoint", EpochCheckpoint(out / "checkpoint.pt"))])
    seg.fit(data.images, data.labels).save(out / "model.pt")
    return out


@pytest.mark.parametrize(
    "device, message",
    [("nosuchdevice", "not a torch device name"), ("cuda:7", "cannot be used")],
)
def test_train_on_a_device_that_does_not_exist(device, message, tmp_path, capsys):
    if device.startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has that device")
    started = time.perf_counter()
    assert main(["train", *SMALL, "--device", device, "--out", str(tmp_path)]) == 2
    assert message in _one_error_line(capsys)
    assert time.perf_counter() - started < 5  # said before any data is made


def test_resume_with_another_module_or_arch(trained, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes((trained / "checkpoint.pt").read_bytes())
    wider = [a if a != "base_channels=4" else "base_channels=8" for a in SMALL]
    assert main(["train", *wider, "--out", str(out), "--resume"]) == 2
    err = _one_error_line(capsys)
    assert "--arch, --module" in err and "base_channels=4" in err
    assert main(["train", *SMALL, "--arch", "arms", "--out", str(out), "--resume"]) == 2
    assert "do not fit" in _one_error_line(capsys)
    assert not (out / "model.pt").exists()


def test_a_model_file_with_edited_parameters(trained, tmp_path, capsys):
    payload = torch.load(trained / "model.pt", weights_only=True)
    params = json.loads(payload["params"])
    payload["params"] = json.dumps({**params, "module__base_channels": 16})
    torch.save(payload, tmp_path / "model.pt")
    assert main(["evaluate", "--model", str(tmp_path / "model.pt"), "--n-samples", "2"]) == 2
    assert "do not fit" in _one_error_line(capsys)


def test_generating_more_images_than_memory_holds(tmp_path, capsys):
    started = time.perf_counter()
    assert main(["train", "--n-samples", "1000000000", "--out", str(tmp_path)]) == 2
    err = _one_error_line(capsys)
    assert "1,000,000,000 images" in err and "memory" in err and "--n-samples" in err
    assert time.perf_counter() - started < 5


def test_an_unwritable_output_directory_is_found_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    started = time.perf_counter()
    assert main(["train", *SMALL, "--out", str(blocker)]) == 2
    assert "is a file" in _one_error_line(capsys)
    assert main(["train", *SMALL, "--out", str(blocker / "sub")]) == 2
    assert "cannot be written to" in _one_error_line(capsys)
    assert time.perf_counter() - started < 5


def test_messages_keep_quotes_and_say_what_is_wrong(trained, tmp_path, capsys):
    not_h5 = tmp_path / "notes.h5"
    not_h5.write_text("hello")
    assert main(["evaluate", "--model", str(trained / "model.pt"), "--data", str(not_h5)]) == 2
    assert f"'{not_h5}' is not an HDF5 file" in _one_error_line(capsys)
    assert main(["evaluate", "--model", str(tmp_path)]) == 2
    assert "is a directory" in _one_error_line(capsys)
    assert main(["predict", "--model", str(trained / "model.pt"), str(tmp_path), "--out",
                 str(tmp_path / "out")]) == 2
    assert "is a directory" in _one_error_line(capsys)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    assert main(["predict", "--model", str(trained / "model.pt"), str(broken), "--out",
                 str(tmp_path / "out")]) == 2
    err = _one_error_line(capsys)
    assert "damaged" in err and "pyav" not in err and "imageio[" not in err


def test_an_rgb_png_is_read_on_the_grey_pngs_scale(tmp_path):
    from chromoskl.datasets import read_grey_image

    grey = np.clip(make_overlapping_chromosomes(1, random_state=0).images[0], 0, 255)
    grey = grey.astype(np.uint8)
    io.imsave(tmp_path / "grey.png", grey, check_contrast=False)
    io.imsave(tmp_path / "rgb.png", np.stack([grey] * 3, axis=-1), check_contrast=False)
    np.testing.assert_allclose(read_grey_image(tmp_path / "rgb.png"),
                               read_grey_image(tmp_path / "grey.png"), atol=0.01)
    assert read_grey_image(tmp_path / "grey.png").max() > 100


def _interrupt_run(tmp_path: Path, epochs: int = 300, members: int = 1):
    """Start a tiny chromoskl train, wait for its first checkpoints (one per member), then
    send Ctrl-C (SIGINT) to its whole process group, as a terminal does."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "chromoskl.cli", "train", "--n-samples", "40",
               "--epochs", str(epochs), "--batch-size", "8", "--module", "depth=2",
               "--module", "base_channels=4", "--members", str(members), "--out", str(out)]
    checkpoints = ([out / "checkpoint.pt"] if members == 1 else
                   [out / f"checkpoint-start{seed}.pt" for seed in range(members)])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not all(path.exists() for path in checkpoints) and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.1)
    if process.poll() is None:  # a run that ended early fails the caller's checks instead
        os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr, out


@pytest.mark.slow
def test_ctrl_c_during_train_exits_non_zero_with_a_checkpoint(tmp_path):
    code, stdout, stderr, out = _interrupt_run(tmp_path)
    assert code == 130, (stdout, stderr)
    assert "Traceback" not in stderr
    assert "interrupted; `chromoskl train --resume --out" in stderr
    assert not (out / "model.pt").exists() and not (out / "metrics.json").exists()
    history = json.loads(torch.load(out / "checkpoint.pt", weights_only=True)["history"])
    assert 1 <= len(history) < 300
    assert main(["train", "--n-samples", "40", "--epochs", str(len(history) + 1),
                 "--batch-size", "8", "--module", "depth=2", "--module", "base_channels=4",
                 "--out", str(out), "--resume"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == len(history) + 1


@pytest.mark.slow
def test_ctrl_c_stops_members_side_by_side_and_each_resumes(tmp_path):
    code, stdout, stderr, out = _interrupt_run(tmp_path, members=2)
    assert code == 130, (stdout, stderr)
    assert "Traceback" not in stderr
    assert "interrupted; `chromoskl train --resume --out" in stderr
    assert not (out / "model.pt").exists()
    done = [len(json.loads(torch.load(out / f"checkpoint-start{seed}.pt",
                                      weights_only=True)["history"])) for seed in (0, 1)]
    assert all(1 <= epochs < 300 for epochs in done)
    epochs = max(done) + 1
    assert main(["train", "--n-samples", "40", "--epochs", str(epochs), "--batch-size", "8",
                 "--module", "depth=2", "--module", "base_channels=4", "--members", "2",
                 "--out", str(out), "--resume"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == [epochs, epochs]


def test_the_orientation_loss_with_the_network_s_naming(tmp_path, capsys):
    args = ["train", *SMALL, "--ab-loss", "orientation", "--ab-decoding", "network"]
    assert main([*args, "--out", str(tmp_path)]) == 2
    assert "set ab_decoding='area'" in _one_error_line(capsys)
    assert not (tmp_path / "model.pt").exists()


@pytest.mark.parametrize("flags, told", [
    (["--ab-loss", "fixed", "swap_invariant"], "--ab-loss: 2 values for 1 member(s)"),
    (["--members", "2", "--ab-loss", "fixed", "swap_invariant", "fixed"],
     "--ab-loss: 3 values for 2 member(s)"),
    (["--members", "3", "--ab-decoding", "network", "area"],
     "--ab-decoding: 2 values for 3 member(s)"),
])
def test_one_value_per_member_or_one_for_all(tmp_path, capsys, flags, told):
    assert main(["train", *SMALL, *flags, "--out", str(tmp_path)]) == 2
    error = _one_error_line(capsys)
    assert told in error and "one per member" in error
    assert not any(tmp_path.iterdir())  # told before any data was made or trained on


@pytest.mark.parametrize("flags, told", [
    (["--ab-names-from", "1"], "chooses one of several members: give --members 2 or more"),
    (["--members", "2", "--ab-names-from", "3"],
     "--ab-names-from 3: there are 2 members; give a number from 1 to 2"),
])
def test_the_naming_member_must_be_one_of_the_members(tmp_path, capsys, flags, told):
    assert main(["train", *SMALL, *flags, "--out", str(tmp_path)]) == 2
    assert told in _one_error_line(capsys)
    assert not any(tmp_path.iterdir())
