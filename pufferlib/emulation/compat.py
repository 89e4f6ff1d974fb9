"""Old-gym envs (``reset() -> obs``, 4-tuple ``step``, ``seed()``) as Gymnasium envs.

:class:`OldGymEnv` adapts an env of the old ``gym`` package (or any object with ``reset``,
``step``, ``observation_space`` and ``action_space`` that is not a ``gymnasium.Env``) to the
Gymnasium API the emulation layer wraps. :class:`~pufferlib.emulation.GymnasiumPufferEnv`
and :func:`~pufferlib.emulation.emulate` apply it automatically to such objects;
``gymnasium.Env`` instances are never adapted (their malformed results stay errors).

The rules (those of Gymnasium's migration guide and of Shimmy's ``GymV21CompatibilityV0``,
https://shimmy.farama.org, without needing ``gym`` or ``shimmy`` installed):

- ``reset(seed=s)``: when the env's ``reset`` takes a ``seed`` argument (gym >= 0.22) it is
  called with it and must return ``(observation, info)``; otherwise ``env.seed(s)`` is
  called first when the env has a ``seed`` method (without one the seed is ignored), and the
  bare observation ``reset()`` returns is paired with ``{}``.
- ``step(action)``: a 5-tuple passes through; a 4-tuple ``(obs, reward, done, info)``
  becomes ``terminated = done and not info.get('TimeLimit.truncated', False)``,
  ``truncated = done and info.get('TimeLimit.truncated', False)``.
- spaces of the ``gym`` package become the Gymnasium space of the same name (``Box``,
  ``Discrete``, ``MultiDiscrete``, ``MultiBinary``, ``Dict``, ``Tuple``, ``Text``), read
  again whenever the env replaces its space object (some envs only know it after ``reset``).
"""
from __future__ import annotations

import inspect

import gymnasium
import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.spaces import Box, Dict, Discrete, MultiBinary, MultiDiscrete, Tuple


def is_old_gym_env(env) -> bool:
    """True for an object that is not a ``gymnasium.Env`` but has ``reset``, ``step`` and the
    two space attributes (an env of the old ``gym`` package, or a hand-written one)."""
    if isinstance(env, gymnasium.Env):
        return False
    return all(hasattr(env, a) for a in ("reset", "step", "observation_space", "action_space"))


def _names(obj):
    return {c.__name__ for c in type(obj).__mro__}


def convert_space(space):
    """The Gymnasium space equal to ``space`` (a space of the old ``gym`` package, matched by
    class name; a Gymnasium space or None is returned unchanged).

    Raises:
        APIUsageError: a space type with no Gymnasium counterpart here.
    """
    if space is None or isinstance(space, gymnasium.spaces.Space):
        return space
    names = _names(space)
    if "Dict" in names:
        return Dict({k: convert_space(s) for k, s in space.spaces.items()})
    if "Tuple" in names:
        return Tuple(tuple(convert_space(s) for s in space.spaces))
    if "Box" in names:
        return Box(low=np.asarray(space.low), high=np.asarray(space.high), shape=tuple(space.shape),
                   dtype=space.dtype)
    if "Discrete" in names:
        return Discrete(int(space.n), start=int(getattr(space, "start", 0)))
    if "MultiDiscrete" in names:
        return MultiDiscrete(np.asarray(space.nvec), dtype=space.dtype)
    if "MultiBinary" in names:
        return MultiBinary(space.n)
    if "Text" in names:
        return gymnasium.spaces.Text(max_length=space.max_length, min_length=getattr(space, "min_length", 1))
    raise APIUsageError(f"cannot convert the old-gym space {space!r} ({type(space).__name__}) to a Gymnasium "
                        "space; supported: Box, Discrete, MultiDiscrete, MultiBinary, Dict, Tuple, Text")


def _takes_seed(env) -> bool:
    fn = getattr(getattr(env, "unwrapped", env), "reset", None) or env.reset
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "seed" in params


class OldGymEnv(gymnasium.Env):
    """A Gymnasium view of an old-gym env (see the module docstring for the rules).

    Args:
        env: the old-gym env (kept as :attr:`env`; ``render`` and ``close`` are forwarded).

    Raises:
        APIUsageError: ``env`` is a ``gymnasium.Env`` (it needs no adapter) or lacks
            ``reset`` / ``step`` / ``observation_space`` / ``action_space``; an old-API
            ``step`` that does not return 4 or 5 values.
    """

    metadata = {"render_modes": []}

    def __init__(self, env):
        if isinstance(env, gymnasium.Env):
            raise APIUsageError(f"{type(env).__name__} is a gymnasium.Env; OldGymEnv adapts old-gym envs only")
        if not is_old_gym_env(env):
            raise APIUsageError(f"{type(env).__name__} is not an env: it needs reset, step, observation_space "
                                "and action_space")
        self.env = env
        self.new_reset = _takes_seed(env)
        self._cache = {}

    def _space(self, name):
        src = getattr(self.env, name)
        hit = self._cache.get(name)
        if hit is None or hit[0] is not src:
            hit = (src, convert_space(src))
            self._cache[name] = hit
        return hit[1]

    @property
    def observation_space(self):
        """The env's observation space as a Gymnasium space (None while the env has none)."""
        return self._space("observation_space")

    @property
    def action_space(self):
        """The env's action space as a Gymnasium space."""
        return self._space("action_space")

    @property
    def render_mode(self):
        return getattr(self.env, "render_mode", None)

    @property
    def unwrapped(self):
        return self

    def reset(self, *, seed=None, options=None):
        if self.new_reset:
            kwargs = {} if options is None else {"options": options}
            result = self.env.reset(seed=seed, **kwargs) if seed is not None else self.env.reset(**kwargs)
            if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
                return result
            return result, {}
        if seed is not None and callable(getattr(self.env, "seed", None)):
            self.env.seed(seed)
        return self.env.reset(), {}

    def step(self, action):
        result = self.env.step(action)
        if isinstance(result, tuple) and len(result) == 5:
            return result
        if not isinstance(result, tuple) or len(result) != 4:
            raise APIUsageError(f"the old-gym env's step() returned {type(result).__name__} "
                                f"{'of length ' + str(len(result)) if isinstance(result, tuple) else ''}; "
                                "expected (obs, reward, done, info) or (obs, reward, terminated, truncated, info)")
        obs, reward, done, info = result
        cut = bool(done) and bool((info or {}).get("TimeLimit.truncated", False))
        return obs, reward, bool(done) and not cut, cut, info if isinstance(info, dict) else {}

    def render(self):
        return self.env.render()

    def close(self):
        close = getattr(self.env, "close", None)
        return close() if callable(close) else None
