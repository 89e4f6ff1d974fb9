"""Helpers shared by the Gymnasium and PettingZoo wrappers: env construction, seeding,
action validation / unflattening, in-place observation writers, the ``emulated`` description."""
from __future__ import annotations

import inspect

import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.spaces import Discrete, check_actions
from pufferlib.emulation.structured import _leaves, _resolve, _structured_view, emulate_action_space, nativize

def make_object(object_instance=None, object_creator=None, creator_args=(), creator_kwargs=None):
    """Return ``object_instance``, or ``object_creator(*creator_args, **creator_kwargs)``.

    Raises:
        APIUsageError: both or neither were given, the instance is a class, or the
            creator is not callable.
    """
    if (object_instance is None) == (object_creator is None):
        raise APIUsageError("pass exactly one of env= (an environment instance) or env_creator= (a callable)")
    if object_instance is not None:
        if inspect.isclass(object_instance):
            raise APIUsageError(
                f"env= must be an environment instance, got the class {object_instance.__name__}; "
                "instantiate it or pass it as env_creator=")
        return object_instance
    if not callable(object_creator):
        raise APIUsageError(f"env_creator must be callable, got {type(object_creator).__name__}")
    return object_creator(*(creator_args or ()), **(creator_kwargs or {}))


def _seed_and_reset(env, seed, **kwargs):
    if seed is None:
        # Gymnasium envs may treat an explicit seed=None differently from no seed.
        return env.reset(**kwargs)
    return env.reset(seed=int(seed), **kwargs)


_NOT_LIVE = np.zeros(1, bool)  # check_actions(live=...) for shape / dtype checks without range


class _ActionCodec:
    """Validation and unflattening of per-agent actions for one (possibly nested) action space."""

    def __init__(self, env_space):
        self.env_space = env_space
        self.space, self.dtype = emulate_action_space(env_space)
        self.emulated = self.space is not env_space

    def validate(self, actions, out, live=None):
        """Check ``actions`` (see :func:`pufferlib.spaces.check_actions`; for one agent the
        unbatched per-agent shape is accepted too) and copy them into ``out``."""
        a = check_actions(self.space, actions, out.shape[0], live, allow_unbatched=True)
        if a is not out:
            out[...] = a
        return out

    def to_env(self, row):
        """One agent's validated action row -> the action the wrapped env expects."""
        if self.emulated:
            return nativize(row, self.env_space, self.dtype)
        if isinstance(self.space, Discrete):
            return int(row)
        return np.array(row, dtype=self.env_space.dtype)


def _obs_writers(observations, space, dtype):
    """Per-row ``[(path, leaf_view)]`` lists writing straight into the observation buffer."""
    writers = []
    for row in observations:
        root = _structured_view(row, dtype)
        if not np.may_share_memory(root, observations):
            raise APIUsageError("observation buffer rows must be C-contiguous to be written in place")
        writers.append([(path, _resolve(root, fields)) for path, fields, _ in _leaves(space)])
    return writers


def _emulation_info(env) -> dict:
    """The ``emulated`` description shared by both wrappers."""
    return {
        "observation_space": env.env_observation_space,
        "action_space": env.env_action_space,
        "observation_dtype": env.single_observation_space.dtype,
        "emulated_observation_dtype": env.obs_dtype,
        "emulated_action_dtype": env.atn_dtype,
        "is_observation_emulated": env.is_obs_emulated,
        "is_action_emulated": env.is_atn_emulated,
    }
