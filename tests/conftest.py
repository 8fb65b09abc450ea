"""Shared pytest configuration.

Registers the deterministic hypothesis profile ``ci`` and loads it by default
(``HYPOTHESIS_PROFILE=<name>`` picks another registered profile), and turns on
``FUNCTORCH_LITE_CHECK_IR`` so every program staged during the tests is typechecked.
"""

import os

os.environ.setdefault("FUNCTORCH_LITE_CHECK_IR", "1")

from hypothesis import settings  # noqa: E402  (after the environment it reads)

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=25, print_blob=True
)
# for hunting bugs locally: HYPOTHESIS_PROFILE=thorough python -m pytest ...
settings.register_profile("thorough", deadline=None, max_examples=400, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
