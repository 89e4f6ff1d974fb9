"""The Gymnasium wrapper: one ``gymnasium.Env`` as a single-agent PufferEnv."""
from __future__ import annotations

import math

import numpy as np

from pufferlib.emulation.common import _seed_and_reset, _WrapperEnv, checked_reset, checked_step, make_object
from pufferlib.emulation.compat import OldGymEnv, is_old_gym_env
from pufferlib.emulation.text import check_text_options
from pufferlib.emulation.structured import flatten_sample
from pufferlib.exceptions import APIUsageError

class GymnasiumPufferEnv(_WrapperEnv):
    """One Gymnasium env as a PufferEnv with ``num_agents = 1``.

    Args:
        env: a ``gymnasium.Env`` instance, or
        env_creator, env_args, env_kwargs: a callable and its arguments that build one.
            An env of the old ``gym`` API (not a ``gymnasium.Env``: ``reset() -> obs``,
            4-tuple ``step``, ``seed()``) is adapted with :class:`~pufferlib.emulation.OldGymEnv`
            (kept as ``env``; the original is ``env.env``).
        buf: optional buffers from the vectorizer (see :func:`pufferlib.set_buffers`).
        seed: seed used for the first :meth:`reset` when it is called without one.
        text_observations: ``'encode'`` (default) or ``'drop'``: what happens to text parts
            of the observation (``Text``, Minigrid's ``MissionSpace``); encoded text is
            ``text_length`` uint8 UTF-8 bytes, zero-padded (see :mod:`pufferlib.emulation.text`).
        text_length: bytes per encoded string (default: the space's ``max_length``, else 128).
        spaces_after_reset: read the spaces after one ``reset(seed)`` (for envs that know
            their observation space only then, e.g. Griddly). ``None`` (default): only when
            the env's observation or action space is None.

    Attributes:
        env: the wrapped env.
        single_observation_space: the emulated Box (:func:`emulate_observation_space`).
        single_action_space: the emulated action space (:func:`emulate_action_space`).
        obs_dtype / atn_dtype: structured dtypes used to write / nativize.
        observations ``(1, *obs_shape)``, rewards float32 ``(1,)``, terminals,
        truncations, masks bool ``(1,)``, actions ``(1, *act_shape)``: the buffers.

    ``reset(seed=None) -> (observations, [info])``;
    ``step(action) -> (observations, rewards, terminals, truncations, [info])``,
    all written in place. There is no auto-reset: after a terminal or truncation
    :attr:`done` is True and the caller (or the vectorizer) must call ``reset``.
    At episode end the info dict also holds ``episode_return`` (sum of rewards)
    and ``episode_length`` (steps).

    Raises:
        APIUsageError: bad constructor arguments, an unsupported space, an action
            of the wrong shape / dtype / range, ``step`` before ``reset`` or after
            the episode ended, an observation that does not match the space.

    Reference: PufferLib 3.0 ``emulation.GymnasiumPufferEnv``.
    """

    def __init__(self, env=None, env_creator=None, env_args=(), env_kwargs=None, buf=None, seed=0,
                 text_observations="encode", text_length=None, spaces_after_reset=None):
        check_text_options(text_observations, text_length)
        self.env = make_object(env, env_creator, env_args, env_kwargs)
        if is_old_gym_env(self.env):
            self.env = OldGymEnv(self.env)
        if not (hasattr(self.env, "reset") and hasattr(self.env, "step")):
            raise APIUsageError(f"{type(self.env).__name__} is not an env (no reset/step); GymnasiumPufferEnv "
                                "wraps gymnasium.Env instances (and old-gym envs)")
        env_obs = getattr(self.env, "observation_space", None)
        env_atn = getattr(self.env, "action_space", None)
        if spaces_after_reset or (spaces_after_reset is None and (env_obs is None or env_atn is None)):
            checked_reset(_seed_and_reset(self.env, seed))
            env_obs = getattr(self.env, "observation_space", None)
            env_atn = getattr(self.env, "action_space", None)
        if env_obs is None or env_atn is None:
            raise APIUsageError(
                f"{type(self.env).__name__} has no observation_space/action_space (not even after reset()); "
                "GymnasiumPufferEnv wraps gymnasium.Env instances")
        self._wrap(env_obs, env_atn, 1, buf, seed, text_observations, text_length)
        self._done = True
        self.episode_return = 0.0
        self.episode_length = 0

    # ---- properties ----------------------------------------------------------------------
    @property
    def done(self):
        """True before the first reset and after a terminal/truncation, until the next reset."""
        return self._done

    # ---- contract ------------------------------------------------------------------------
    def _write_obs(self, ob):
        self._write_row(0, ob)

    def reset(self, seed=None):
        """Reset the env; returns ``(observations, [info])``.

        ``seed=None`` on the first call uses the constructor's ``seed``; later
        calls without a seed continue the env's own random stream.
        """
        if seed is None and not self._initialized:
            seed = self._seed
        ob, info = checked_reset(_seed_and_reset(self.env, seed))
        self._initialized = True
        self._done = False
        self._write_obs(ob)
        self.rewards[0] = 0
        self.terminals[0] = False
        self.truncations[0] = False
        self.masks[0] = True
        self.episode_return = 0.0
        self.episode_length = 0
        return self.observations, [info]

    def step(self, action):
        """Step with ``action``: shape ``(1, *act_shape)`` or ``act_shape`` (an int for
        Discrete); for a nested action space also the native dict/tuple action.

        Returns ``(observations, rewards, terminals, truncations, [info])``.

        Raises:
            APIUsageError: called before ``reset`` or after the episode ended; the
                action has the wrong shape, dtype (floats/bools for discrete
                spaces) or is out of range (it is never clipped).
        """
        if not self._initialized:
            raise APIUsageError("step() called before reset(): call reset() first")
        if self._done:
            raise APIUsageError("step() called after the episode ended (terminal or truncation): call reset()")
        if self.is_atn_emulated and isinstance(action, (dict, tuple)):
            # a native nested action: flatten it, then validate like any other
            action = flatten_sample(action, self.env_action_space, self.atn_dtype,
                                    out=np.zeros(self.actions.shape[1:], np.int32), exact=True)
        result = self.env.step(self._codec.one_env_action(action, self.actions))
        if type(result) is tuple and len(result) == 5 and type(result[1]) is float and math.isfinite(result[1]):
            ob, reward, terminal, truncation, info = result      # checked_step's common case, inline
        else:
            ob, reward, terminal, truncation, info = checked_step(result)
        flat = self._flat_writers
        if flat is not None and self._convert_obs is None and type(ob) is dict:
            try:                                          # _write_row's common case, inline
                for key, view in flat[0]:
                    view[...] = ob[key]
            except (KeyError, TypeError, ValueError, OverflowError):
                self._write_row(0, ob)                    # names what is wrong
        else:
            self._write_row(0, ob)
        self.rewards[0] = reward
        self.terminals[0] = terminal
        self.truncations[0] = truncation              # masks[0] stays True from reset()
        self.episode_return += float(reward)
        self.episode_length += 1
        self._done = bool(terminal) or bool(truncation)
        if self._done:
            info = dict(info)
            info["episode_return"] = self.episode_return
            info["episode_length"] = self.episode_length
        return self.observations, self.rewards, self.terminals, self.truncations, [info]
