"""Griddly through pufferlib.make('griddly-<game>') (needs griddly): old gym API, spaces after reset."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pytest.importorskip("griddly")

import gymnasium  # noqa: E402

import pufferlib  # noqa: E402
from pufferlib.emulation import OldGymEnv  # noqa: E402

try:
    from _checks import BACKENDS, IDS, check_family_env
except ImportError:
    from tests.families._checks import BACKENDS, IDS, check_family_env


@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_sokoban(kwargs):
    # Sokoban's level does not depend on the seed
    check_family_env("griddly-sokoban", kwargs, 1, (4, 13, 9), np.uint8, gymnasium.spaces.Discrete(5),
                     seeds_differ=False)


def test_space_read_after_reset_and_names():
    env = pufferlib.make("griddly-GDY-Zelda-v0")
    assert isinstance(env.env, OldGymEnv)
    assert env.single_observation_space.shape == (6, 13, 9)   # the placeholder before reset is shape ()
    assert env.single_action_space == gymnasium.spaces.MultiDiscrete([2, 5])
    with pytest.raises(pufferlib.APIUsageError, match="4-player game"):
        pufferlib.make("griddly-robot-tag-4v4")
    with pytest.raises(pufferlib.APIUsageError, match="not a Griddly observer"):
        pufferlib.make("griddly-sokoban", player_observer_type="Nope")
