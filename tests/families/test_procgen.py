"""Procgen through pufferlib.make('procgen-<game>'): one gym3 env as a PufferEnv, and Serial /
Multiprocessing instances. Needs procgen-mirror (pins numpy 1.26; CI runs it in its own venv)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("procgen")

import pufferlib  # noqa: E402
from pufferlib.environments.procgen import ProcgenVector  # noqa: E402
from pufferlib.exceptions import APIUsageError  # noqa: E402

BACKENDS = [dict(), dict(backend="Serial"), dict(backend="Multiprocessing", num_workers=2)]
IDS = ["native", "serial", "mp2"]


def rollout(env, seed, steps):
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=seed)
    out = [obs.copy()]
    for _ in range(steps):
        obs, rew, term, trunc, _ = env.step(rng.integers(0, 15, env.num_agents).astype(np.int32))
        out.append(obs.copy())
    return np.stack(out)


@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_spaces_buffers_and_seeding(kwargs):
    env = pufferlib.make("procgen-coinrun", num_envs=4, **kwargs)
    try:
        assert env.num_agents == 4
        assert env.single_observation_space.shape == (64, 64, 3) and env.single_observation_space.dtype == np.uint8
        assert env.single_action_space.n == 15
        obs, _ = env.reset(seed=1)
        assert obs.shape == (4, 64, 64, 3) and obs.dtype == np.uint8 and obs.any()
        obs2, rew, term, trunc, _ = env.step(np.zeros(4, np.int32))
        assert obs2 is obs and rew.dtype == np.float32 and term.dtype == bool and not trunc.any()
        a, b, c = rollout(env, 3, 30), rollout(env, 3, 30), rollout(env, 4, 30)
        assert np.array_equal(a, b)
        assert not np.array_equal(a, c)
    finally:
        env.close()


def test_native_is_one_gym3_env_and_episodes_end_with_terminals():
    env = pufferlib.make("procgen-bigfish", num_envs=8, distribution_mode="easy")
    try:
        assert isinstance(env, ProcgenVector)
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        episodes = []
        for _ in range(600):
            _, _, term, _, infos = env.step(rng.integers(0, 15, 8).astype(np.int32))
            episodes += infos
            assert len(infos) == int(term.sum())
            if len(episodes) >= 2:
                break
        assert len(episodes) >= 2 and all(e["episode_length"] > 0 for e in episodes)
    finally:
        env.close()


def test_names_and_options_are_checked():
    with pytest.raises(APIUsageError, match="Close matches: coinrun"):
        pufferlib.make("procgen-coinrn")
    with pytest.raises(APIUsageError, match="distribution_mode must be one of"):
        pufferlib.make("procgen-coinrun", distribution_mode="impossible")
    with pytest.raises(APIUsageError, match="num_workers=3 must divide num_envs=4"):
        pufferlib.make("procgen-coinrun", num_envs=4, backend="Serial", num_workers=3)
    env = pufferlib.make("procgen-coinrun", num_envs=2)
    env.reset(seed=0)
    with pytest.raises(APIUsageError):
        env.step(np.array([0, 15], np.int32))
