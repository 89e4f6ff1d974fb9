"""PettingZoo through pufferlib.make('pettingzoo-<name>') (needs pettingzoo[butterfly,sisl,classic])."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

import gymnasium  # noqa: E402

import pufferlib  # noqa: E402
from pufferlib.emulation import PettingZooPufferEnv, TurnBasedPufferEnv, nativize  # noqa: E402

try:
    from _checks import BACKENDS, IDS, check_family_env
except ImportError:
    from tests.families._checks import BACKENDS, IDS, check_family_env


def _needs(*modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs {missing}")


@_needs("pygame", "pymunk")
@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_knights_archers_zombies(kwargs):
    # KAZ's reset does not restore all of its state (the raw env differs too): compare fresh envs
    check_family_env("pettingzoo-knights-archers-zombies", kwargs, 4, (27, 5), np.float64,
                     gymnasium.spaces.Discrete(6), steps=30, fresh=True)


@_needs("pygame")
@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_connect_four_turn_based(kwargs):
    # the board is empty after reset whatever the seed: seeds do not differ
    check_family_env("pettingzoo-connect-four", kwargs, 2, (91,), np.int8, gymnasium.spaces.Discrete(7),
                     seeds_differ=False)


@_needs("pygame")
def test_turn_based_game_masks_the_player_to_move():
    env = pufferlib.make("pettingzoo-tictactoe")
    assert isinstance(env, TurnBasedPufferEnv) and env.possible_agents == ["player_1", "player_2"]
    obs, infos = env.reset(seed=0)
    assert env.masks.tolist() == [True, False] and infos[0]["agent_to_move"] == "player_1"
    native = nativize(obs[0], env.emulated["observation_space"], env.obs_dtype)
    np.testing.assert_array_equal(native["action_mask"], np.ones(9, np.int8))
    env.step(np.array([4, 0], np.int32))                      # player_1 takes the centre
    native = nativize(env.observations[1], env.emulated["observation_space"], env.obs_dtype)
    assert native["action_mask"][4] == 0 and native["action_mask"].sum() == 8
    assert env.masks.tolist() == [False, True]
    for move in (0, 3, 1, 5):                                 # player_1: 4, 3, 5 (a line) wins
        _, rew, term, _, infos = env.step(np.array([move, move], np.int32))
    assert env.done and term.all() and rew.tolist() == [1.0, -1.0]


@_needs("pygame", "pymunk")
def test_names_versions_and_errors():
    assert isinstance(pufferlib.make("pettingzoo-pistonball_v6", n_pistons=4), PettingZooPufferEnv)
    assert pufferlib.make("pettingzoo-Pistonball", n_pistons=4).num_agents == 4
    with pytest.raises(pufferlib.APIUsageError, match="Close matches: pistonball"):
        pufferlib.make("pettingzoo-pistonbal")
    with pytest.raises(pufferlib.APIUsageError, match="rejected the arguments"):
        pufferlib.make("pettingzoo-pistonball", not_an_option=3)
    if importlib.util.find_spec("mpe2") is None:
        with pytest.raises(pufferlib.EnvironmentSetupError, match="pip install mpe2"):
            pufferlib.make("pettingzoo-simple-spread")
