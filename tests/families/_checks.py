"""Checks shared by the family tests of minigrid, crafter, nethack, minihack, pettingzoo, magent
and griddly: one env through pufferlib.make, then Serial and Multiprocessing with 2 workers."""
from __future__ import annotations

import numpy as np

import pufferlib
from pufferlib.spaces import sample_actions

BACKENDS = [dict(), dict(num_envs=2, backend="Serial"), dict(num_envs=2, backend="Multiprocessing", num_workers=2)]
IDS = ["single", "serial", "mp2"]


def rollout(env, seed, steps, action_seed=0):
    """Observations and rewards of ``steps`` steps of random valid actions after ``reset(seed)``."""
    rng = np.random.default_rng(action_seed)
    obs, _ = env.reset(seed=seed)
    frames, rewards = [obs.copy()], []
    for _ in range(steps):
        obs, rew, _, _, _ = env.step(sample_actions(env.single_action_space, env.num_agents, rng))
        frames.append(obs.copy())
        rewards.append(rew.copy())
    return np.stack(frames), np.stack(rewards)


def check_family_env(name, kwargs, agents_per_env, obs_shape, obs_dtype, action_space, steps=8,
                     seeds_differ=True, fresh=False, **env_kwargs):
    """Build ``pufferlib.make(name, **kwargs, **env_kwargs)`` and check spaces, dtypes, buffers
    written in place, and (same seed -> same rollout, other seed -> another one). ``fresh``:
    compare rollouts of newly built envs (for envs whose reset does not restore everything)."""
    env = pufferlib.make(name, **kwargs, **env_kwargs)
    try:
        n = kwargs.get("num_envs", 1) * agents_per_env
        assert env.num_agents == n
        assert env.single_observation_space.shape == obs_shape
        assert env.single_observation_space.dtype == np.dtype(obs_dtype)
        assert env.single_action_space == action_space
        obs, infos = env.reset(seed=1)
        assert obs.shape == (n, *obs_shape) and obs.dtype == np.dtype(obs_dtype)
        assert isinstance(infos, list)
        actions = sample_actions(env.single_action_space, n, np.random.default_rng(0))
        obs2, rew, term, trunc, infos = env.step(actions)
        assert obs2 is obs                                  # written in place
        assert rew.shape == (n,) and rew.dtype == np.float32 and np.isfinite(rew).all()
        assert term.dtype == bool and trunc.dtype == bool and env.masks.dtype == bool
        if fresh:
            env.close()
            env = pufferlib.make(name, **kwargs, **env_kwargs)
            a = rollout(env, 3, steps)
            env.close()
            env = pufferlib.make(name, **kwargs, **env_kwargs)
        else:
            a = rollout(env, 3, steps)
        b = rollout(env, 3, steps)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        if seeds_differ:
            c = rollout(env, 4, steps)
            assert not np.array_equal(a[0], c[0])
        return a
    finally:
        env.close()
