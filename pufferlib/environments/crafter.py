"""Crafter (Hafner 2021, "Benchmarking the Spectrum of Agent Capabilities",
https://arxiv.org/abs/2109.06780; package ``crafter``): ``pufferlib.make('crafter')``.

Crafter keeps the old gym API (``reset() -> obs``, 4-tuple ``step``, seed only in the
constructor), so each env is :class:`CrafterEnv`, a small Gymnasium adapter, wrapped by
:class:`pufferlib.emulation.GymnasiumPufferEnv` and vectorized by :func:`pufferlib.vector.make`.

- observations: the agent's view, uint8 ``(64, 64, 3)``; actions ``Discrete(17)``.
- ``reset(seed=s)``: episodes are drawn from ``s`` as Crafter does from its constructor seed
  (world ``k`` after the seed is ``hash((s, k))``), so a seed fixes the following episodes.
- terminals: the player died; truncations: the episode reached ``length`` steps (10,000).
- infos: ``{}`` during an episode; at its end ``achievements`` (``{name: count}``) besides
  ``episode_return`` / ``episode_length`` (Crafter's per-step ``semantic`` map and inventory
  are not passed on: they would be copied out of every worker every step).
"""
from __future__ import annotations

import gymnasium
import numpy as np

REQUIRES = ("crafter",)
INSTALL = "pip install 'pufferlib-numba[crafter]'"
DESCRIPTION = "Crafter, an open-world survival benchmark: crafter (reward), crafter-noreward"

#: Env names: the reward and the reward-free variant.
NAMES = {"reward": True, "noreward": False}


def env_names() -> list:
    """``['noreward', 'reward']``."""
    return sorted(NAMES)


class CrafterEnv(gymnasium.Env):
    """``crafter.Env(reward=..., **kwargs)`` with the Gymnasium API (see the module docstring).

    Args:
        reward: give Crafter's rewards (False: all rewards 0).
        **kwargs: ``crafter.Env`` arguments (``area``, ``view``, ``size``, ``length``, ``seed``).
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, reward=True, **kwargs):
        import inspect

        import crafter

        from pufferlib.exceptions import APIUsageError
        allowed = [p for p in inspect.signature(crafter.Env).parameters if p != "reward"]
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise APIUsageError(f"crafter.Env does not take {', '.join(unknown)}; its arguments are: "
                                f"{', '.join(allowed)}")
        self.env = crafter.Env(reward=reward, **kwargs)
        obs, atn = self.env.observation_space, self.env.action_space
        self.observation_space = gymnasium.spaces.Box(0, 255, tuple(obs.shape), np.uint8)
        self.action_space = gymnasium.spaces.Discrete(int(atn.n))
        self.render_mode = "rgb_array"

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self.env._seed = int(seed)      # crafter draws world k of a run from hash((seed, k))
            self.env._episode = 0
        return self.env.reset(), {}

    def step(self, action):
        obs, reward, done, info = self.env.step(int(action))
        dead = info.get("discount", 1.0) == 0.0
        out = {"achievements": dict(info["achievements"])} if done else {}
        return obs, float(reward), bool(done and dead), bool(done and not dead), out

    def render(self):
        return self.env.render()


def make(name: str = "", num_envs: int = 1, **kwargs):
    """Crafter as a PufferEnv.

    Args:
        name: ``''`` or ``'reward'`` (Crafter's rewards), ``'noreward'``.
        num_envs: envs (one agent each), vectorized with ``backend`` (default ``'Serial'``).
        **kwargs: ``seed``, ``backend`` and the other options of
            :func:`pufferlib.vector.make`; ``area``, ``view``, ``size``, ``length`` go to
            ``crafter.Env``.

    Returns:
        A :class:`~pufferlib.emulation.GymnasiumPufferEnv`, or a vectorized env of them:
        observations uint8 ``(num_envs, 64, 64, 3)``, actions ``Discrete(17)`` (int32).

    Raises:
        APIUsageError: unknown name, bad keyword arguments.
        EnvironmentSetupError: ``crafter`` is not installed.
    """
    import functools
    import sys

    from pufferlib.environments import make_emulated, require, resolve_name
    require(sys.modules[__name__])
    key = resolve_name(name or "reward", env_names(), "crafter")
    factory = functools.partial(CrafterEnv, NAMES[key])
    return make_emulated(factory, num_envs, label=f"make('crafter-{name}')", **kwargs)
