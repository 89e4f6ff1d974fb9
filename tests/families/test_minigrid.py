"""Minigrid through pufferlib.make('minigrid-<name>') (needs minigrid)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("minigrid")

import gymnasium  # noqa: E402

import pufferlib  # noqa: E402
from pufferlib.emulation import decode_text, nativize  # noqa: E402

try:
    from _checks import BACKENDS, IDS, check_family_env
except ImportError:
    from tests.families._checks import BACKENDS, IDS, check_family_env


@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_backends_spaces_and_seeding(kwargs):
    # Empty-Random places the agent at random: the seed matters
    check_family_env("minigrid-empty-random-5x5", kwargs, 1, (288,), np.uint8, gymnasium.spaces.Discrete(7))


def test_mission_is_encoded_or_dropped():
    env = pufferlib.make("minigrid-DoorKey-5x5-v0")
    assert env.env.spec.id == "MiniGrid-DoorKey-5x5-v0"
    obs, _ = env.reset(seed=0)
    native = nativize(obs[0], env.emulated["observation_space"], env.obs_dtype)
    assert decode_text(native["mission"]) == "use the key to open the door and then get to the goal"
    assert native["image"].shape == (7, 7, 3) and native["direction"] in range(4)
    dropped = pufferlib.make("minigrid-doorkey-5x5", text_observations="drop")
    assert "mission" not in dropped.emulated["observation_space"].spaces
    assert dropped.single_observation_space.shape == (160,)


def test_names():
    assert pufferlib.make("minigrid-babyai-goto-red-ball").env.spec.id == "BabyAI-GoToRedBall-v0"
    assert pufferlib.make("gym-minigrid:MiniGrid-Empty-5x5-v0").env.spec.id == "MiniGrid-Empty-5x5-v0"
    with pytest.raises(pufferlib.APIUsageError, match="Close matches: empty-5x5"):
        pufferlib.make("minigrid-emty-5x5")
    with pytest.raises(pufferlib.APIUsageError):
        pufferlib.make("minigrid-empty-5x5", no_such_option=1)
