"""The compat examples (examples/compat_*.py) run end to end on reduced sizes and learn;
the tutorial-style scripts in tests/compat/scripts run unchanged (``import compat as
torch`` being their only difference from PyTorch code)."""

from __future__ import annotations

import importlib.util
import os
import runpy

import pytest

import compat

pytest.importorskip("tqdm")

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLES = os.path.join(ROOT, "examples")
# the examples compile their steps (compat.compile, fl.jit): run them on every CPU backend
pytestmark = pytest.mark.both_backends
SCRIPTS = os.path.join(os.path.dirname(__file__), "scripts")


def example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def test_digits_classifier():
    r = example("compat_digits")(["--epochs", "2", "--hidden", "64", "--quiet"])
    assert r["test_accuracy"] > 0.85  # chance is 0.1


def test_lenet_with_augmentation():
    r = example("compat_lenet")(["--epochs", "1", "--batch-size", "16", "--limit", "640",
                                 "--quiet"])
    assert r["test_accuracy"] > 0.3


def test_regression():
    r = example("compat_regression")(["--epochs", "8", "--samples", "512", "--quiet"])
    assert r["val_mse"] < 0.3  # the target's variance is about 0.6


def test_transfer_learning():
    r = example("compat_transfer")(["--pretrain-epochs", "2", "--finetune-epochs", "6",
                                    "--quiet"])
    assert r["task_a_accuracy"] > 0.9
    assert r["task_b_accuracy"] > r["task_b_before"] + 0.2


def test_ensemble_with_vmap():
    r = example("compat_ensemble")(["--members", "3", "--epochs", "1", "--quiet"])
    assert min(r["member_accuracy"]) > 0.6 and r["ensemble_accuracy"] > 0.6


def test_compile_matches_eager():
    r = example("compat_compile")(["--steps", "8", "--batch-size", "32", "--quiet"])
    assert r["max_loss_diff"] < 1e-4
    assert r["eager_losses"][-1] < r["eager_losses"][0]


@pytest.mark.parametrize("script", ["quickstart", "cifar_style", "polynomial"])
def test_tutorial_scripts_run_unchanged(script, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # they save checkpoints to the working directory
    compat.manual_seed(0)  # tutorials do not seed; the tests should not depend on order
    env = runpy.run_path(os.path.join(SCRIPTS, script + ".py"), run_name="__main__")
    out = capsys.readouterr().out
    if script == "quickstart":
        assert env["accuracy"] > 0.3 and 'Predicted: "' in out  # chance is 0.1
        assert (tmp_path / "model.pth").exists()
    elif script == "cifar_style":
        assert env["losses"][-1] < env["losses"][0] and "Accuracy of the network" in out
    else:
        assert env["final_loss"] < 20 and env["autograd_loss"] < 3000  # from ~1e4-1e5
