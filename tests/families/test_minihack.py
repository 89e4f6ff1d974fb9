"""MiniHack through pufferlib.make('minihack-<task>') (needs minihack and nle)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("minihack")

import gymnasium  # noqa: E402

import pufferlib  # noqa: E402

try:
    from _checks import BACKENDS, IDS, check_family_env
except ImportError:
    from tests.families._checks import BACKENDS, IDS, check_family_env


@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_backends_spaces_and_seeding(kwargs):
    check_family_env("minihack-room-random-5x5", kwargs, 1, (3792,), np.uint8, gymnasium.spaces.Discrete(8))


def test_names():
    assert pufferlib.make("minihack-MiniHack-Room-5x5-v0").env.spec.id == "MiniHack-Room-5x5-v0"
    with pytest.raises(pufferlib.APIUsageError, match="Close matches"):
        pufferlib.make("minihack-rom-5x5")
