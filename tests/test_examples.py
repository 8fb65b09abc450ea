"""The example programs run end to end (on small settings) and actually learn."""

import importlib.util
import os

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
# the examples jit their training steps: run them on every CPU backend
pytestmark = pytest.mark.both_backends


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_functional_mlp_learns_digits():
    pytest.importorskip("functorch_lite.optim")
    acc = _load("functional_mlp").main(["--epochs", "4", "--hidden", "64", "--lr", "3e-3"])
    assert acc > 0.85  # chance is 0.1


def test_per_example_grads_matches_loop_and_learns():
    acc = _load("per_example_grads").main(["--steps", "60", "--batch", "32"])
    assert acc > 0.7
