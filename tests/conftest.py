"""Shared pytest configuration.

Registers the deterministic hypothesis profile ``ci`` and loads it by default
(``HYPOTHESIS_PROFILE=<name>`` picks another registered profile).
"""

import os

from hypothesis import settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=25, print_blob=True
)
# for hunting bugs locally: HYPOTHESIS_PROFILE=thorough python -m pytest ...
settings.register_profile("thorough", deadline=None, max_examples=400, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
