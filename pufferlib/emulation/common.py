"""Helpers shared by the Gymnasium and PettingZoo wrappers: env construction, seeding,
action validation / unflattening, in-place observation writers, the ``emulated`` description."""
from __future__ import annotations

import inspect
import math
import numbers

import numpy as np

from pufferlib.emulation.structured import (
    _leaves,
    _resolve,
    _structured_view,
    _write_leaves,
    emulate_action_space,
    emulate_observation_space,
    nativize,
)
from pufferlib.emulation.text import check_text_options, text_transform
from pufferlib.checks import check_int
from pufferlib.environment import PufferEnv
from pufferlib.exceptions import APIUsageError
from pufferlib.spaces import Discrete, check_actions

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
    # check_int, not int(): reset(1.5) or reset(True) must not become seed 1.
    return env.reset(seed=check_int("seed", seed, 0), **kwargs)


def _describe(value) -> str:
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def checked_reset(result, parallel=False):
    """The ``(observation(s), info(s))`` pair a wrapped env's ``reset()`` returned.

    Raises:
        APIUsageError: it is not a 2-tuple (e.g. an old-gym env returning the bare
            observation), or (``parallel``, PettingZoo) its parts are not dicts.
    """
    if not isinstance(result, tuple) or len(result) != 2:
        raise APIUsageError(
            f"the wrapped env's reset() returned {_describe(result)}; expected a tuple (observation, info) "
            f"(Gymnasium / PettingZoo >= 1.0 API; envs of the old gym API that are not gymnasium.Env instances "
            f"are adapted automatically, see pufferlib.emulation.OldGymEnv)")
    if parallel and not (isinstance(result[0], dict) and isinstance(result[1], dict)):
        raise APIUsageError(f"the wrapped env's reset() returned ({_describe(result[0])}, {_describe(result[1])}); "
                            f"expected two dicts keyed by agent (observations, infos)")
    return result


def checked_step(result, parallel=False):
    """The 5-tuple a wrapped env's ``step()`` returned, with its rewards checked.

    Raises:
        APIUsageError: not a 5-tuple ``(observation, reward, terminated, truncated, info)``
            (e.g. an old-gym 4-tuple), a reward that is not a finite real number (e.g.
            ``None``), or (``parallel``, PettingZoo) parts that are not dicts.
    """
    if not isinstance(result, tuple) or len(result) != 5:
        raise APIUsageError(
            f"the wrapped env's step() returned {_describe(result)}; expected a tuple (observation, reward, "
            f"terminated, truncated, info) (Gymnasium / PettingZoo >= 1.0 API; envs of the old gym API that are "
            f"not gymnasium.Env instances are adapted automatically, see pufferlib.emulation.OldGymEnv)")
    if parallel:
        if not all(isinstance(part, dict) for part in result):
            raise APIUsageError(f"the wrapped env's step() returned ({', '.join(map(_describe, result))}); "
                                f"expected five dicts keyed by agent")
        rewards = ((f"agent {agent!r}", r) for agent, r in result[1].items())
    else:
        r = result[1]
        if type(r) is float and math.isfinite(r):   # the common case, without NumPy's scalar machinery
            return result
        rewards = (("the agent", r),)
    for agent, r in rewards:
        if isinstance(r, bool) or not isinstance(r, (numbers.Real, np.number)) or not np.isfinite(r):
            raise APIUsageError(f"the wrapped env's step() returned reward {r!r} for {agent}; expected a finite "
                                f"real number")
    return result


_NOT_LIVE = np.zeros(1, bool)  # check_actions(live=...) for shape / dtype checks without range


class _ActionCodec:
    """Validation and unflattening of per-agent actions for one (possibly nested) action space."""

    def __init__(self, env_space):
        self.env_space = env_space
        self.space, self.dtype = emulate_action_space(env_space)
        self.emulated = self.space is not env_space
        # Discrete: [start, start + n) for the fast path of one agent's integer action
        self._discrete = ((int(self.space.start), int(self.space.start) + int(self.space.n))
                          if isinstance(self.space, Discrete) else None)

    def one_env_action(self, actions, out):
        """For one agent: validate ``actions`` into ``out`` (shape ``(1, *act_shape)``) and
        return the action the wrapped env expects (``validate`` then ``to_env``)."""
        if (self._discrete is not None and type(actions) is np.ndarray and actions.dtype.kind in "iu"
                and actions.size == 1 and actions.ndim <= 1):
            # the common single-agent Discrete case, decided without check_actions' general
            # machinery (~10 us a step); anything else, errors included, takes the general path
            value = actions.item()
            if self._discrete[0] <= value < self._discrete[1]:
                out[0] = value
                return value
        self.validate(actions, out)
        return self.to_env(out[0])

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
        "original_observation_space": env.original_observation_space,
        "text_observations": env.text_observations,
    }


def shared_agent_spaces(env, possible):
    """The one observation space and one action space every agent of ``possible`` has.

    Raises:
        APIUsageError: two agents have different spaces.
    """
    obs_spaces = [env.observation_space(a) for a in possible]
    atn_spaces = [env.action_space(a) for a in possible]
    for kind, spaces in (("observation", obs_spaces), ("action", atn_spaces)):
        for agent, sp in zip(possible[1:], spaces[1:]):
            if sp != spaces[0]:
                raise APIUsageError(
                    f"all agents must share one {kind} space: {possible[0]!r} has {spaces[0]} but "
                    f"{agent!r} has {sp}. Pad the spaces to a common one in the env")
    return obs_spaces[0], atn_spaces[0]


class _WrapperEnv(PufferEnv):
    """What the Gymnasium and PettingZoo wrappers share: emulated spaces, the action codec,
    writing one agent's observation, the ``emulated`` description, rendering and closing.

    A subclass sets ``self.env`` and calls :meth:`_wrap` instead of ``PufferEnv.__init__``.
    """

    def _wrap(self, obs_space, atn_space, num_agents, buf, seed, text_observations="encode", text_length=None):
        """Emulate the wrapped env's per-agent spaces, then ``PufferEnv.__init__(buf)``.

        Text parts of ``obs_space`` are encoded or dropped first (:mod:`~pufferlib.emulation.text`);
        ``env_observation_space`` is then the space without text and :meth:`_write_row`
        converts each observation before writing it."""
        self.text_observations, self.text_length = check_text_options(text_observations, text_length)
        self.original_observation_space = obs_space
        obs_space, self._convert_obs = text_transform(obs_space, text_observations, text_length)
        self.env_observation_space = obs_space
        self.env_action_space = atn_space
        self.single_observation_space, self.obs_dtype = emulate_observation_space(obs_space)
        self._codec = _ActionCodec(atn_space)
        self.single_action_space, self.atn_dtype = self._codec.space, self._codec.dtype
        self.is_obs_emulated = self.single_observation_space is not obs_space
        self.is_atn_emulated = self._codec.emulated
        self.num_agents = num_agents
        PufferEnv.__init__(self, buf)
        self._writers = _obs_writers(self.observations, obs_space, self.obs_dtype) if self.is_obs_emulated else None
        # a flat Dict of leaves (NetHack, Minigrid...): written key by key without the general walk
        self._flat_writers = ([[(path[0], view) for path, view in row] for row in self._writers]
                              if self._writers and all(len(p) == 1 and isinstance(p[0], str)
                                                       for p, _ in self._writers[0]) else None)
        self._seed = seed
        self._initialized = False

    def _write_row(self, i, ob, who="observation"):
        """Write one agent's (possibly nested) observation into row ``i``; APIUsageError if it does not fit."""
        if self._convert_obs is not None:
            try:
                ob = self._convert_obs(ob)
            except (KeyError, IndexError, TypeError) as e:
                raise APIUsageError(f"{who} does not match the observation space "
                                    f"{self.original_observation_space}: {type(e).__name__}: {e}") from e
        if self._flat_writers is not None and type(ob) is dict:
            try:
                for key, view in self._flat_writers[i]:
                    view[...] = ob[key]
                return
            except (KeyError, TypeError, ValueError, OverflowError):
                pass                            # the general path below names what is wrong
        if self.is_obs_emulated:
            _write_leaves(self._writers[i], ob, self.env_observation_space)
            return
        try:
            self.observations[i] = ob
        except (ValueError, TypeError) as e:
            raise APIUsageError(
                f"{who} of shape {np.shape(ob)} does not fit the observation space "
                f"{self.env_observation_space}: {e}") from e

    @property
    def emulated(self):
        """A dict describing the emulation (always truthy)."""
        return _emulation_info(self)

    @property
    def render_mode(self):
        """The wrapped env's ``render_mode`` (None if it has none)."""
        return getattr(self.env, "render_mode", None)

    def render(self):
        """Render the wrapped env (``env.render()``)."""
        return self.env.render()

    def close(self):
        """Close the wrapped env."""
        return self.env.close()
