"""MAgent2 through pufferlib.make('magent-<name>') (needs magent2)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("magent2")

import gymnasium  # noqa: E402

import pufferlib  # noqa: E402

try:
    from _checks import BACKENDS, IDS, check_family_env
except ImportError:
    from tests.families._checks import BACKENDS, IDS, check_family_env


@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_battle(kwargs):
    # battle places both armies the same way whatever the seed: seeds do not differ
    check_family_env("magent-battle", kwargs, 162, (13, 13, 5), np.float32, gymnasium.spaces.Discrete(21),
                     steps=3, seeds_differ=False, map_size=45)


def test_aec_env_is_stepped_as_its_parallel_env():
    from magent2.environments import battle_v4
    env = pufferlib.emulate(battle_v4.env(map_size=45))
    assert type(env.env).__name__ == "_parallel_env"          # not PettingZoo's agent-by-agent converter
    env.reset(seed=0)
    env.step(np.zeros(env.num_agents, np.int32))
    assert env.masks.all()


def test_teams_with_different_spaces_are_refused():
    with pytest.raises(pufferlib.APIUsageError, match="share one"):
        pufferlib.make("magent-tiger-deer")
    with pytest.raises(pufferlib.APIUsageError, match="rejected the arguments"):
        pufferlib.make("magent-battlefield", map_size=10)
