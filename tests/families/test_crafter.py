"""Crafter through pufferlib.make('crafter') (needs crafter): the old-gym API adapted."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("crafter")

import gymnasium  # noqa: E402

import pufferlib  # noqa: E402

try:
    from _checks import BACKENDS, IDS, check_family_env
except ImportError:
    from tests.families._checks import BACKENDS, IDS, check_family_env


@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_backends_spaces_and_seeding(kwargs):
    check_family_env("crafter", kwargs, 1, (64, 64, 3), np.uint8, gymnasium.spaces.Discrete(17), steps=4)


def test_truncation_at_length_and_achievements():
    env = pufferlib.make("crafter-noreward", length=5)
    env.reset(seed=0)
    for _ in range(5):
        _, rew, term, trunc, infos = env.step(np.array([0]))
        assert rew[0] == 0.0                              # the reward-free variant
    assert trunc[0] and not term[0] and env.done
    assert isinstance(infos[0]["achievements"], dict) and infos[0]["episode_length"] == 5


def test_names_and_options():
    with pytest.raises(pufferlib.APIUsageError, match="does not take bogus"):
        pufferlib.make("crafter", bogus=1)
    with pytest.raises(pufferlib.APIUsageError, match="unknown crafter env"):
        pufferlib.make("crafter-rewardz-extra")
