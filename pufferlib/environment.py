"""The native PufferEnv contract (see ``docs/pufferenv-api.md``).

A PufferEnv is already vectorized: it steps ``num_agents`` agents at once and
writes observations, rewards, terminals and truncations in place into buffers
that either it allocates or the vectorizer hands over (``buf=``).
"""
from __future__ import annotations

import numpy as np

from pufferlib.checks import check_int
from pufferlib.exceptions import APIUsageError
from pufferlib import spaces as _spaces
from pufferlib.spaces import Box, Discrete, MultiDiscrete, joint_space

BUFFER_NAMES = ("observations", "rewards", "terminals", "truncations", "masks", "actions")

#: Key of ``buf`` under which a vectorizer may offer memory for an env's world arrays: a
#: callable ``alloc(nbytes) -> writable, zero-filled buffer of nbytes bytes, or None``.
#: Multiprocessing offers shared memory that its main process maps too, so its ``state()``
#: returns zero-copy views of the worlds allocated there (Ocean envs use it automatically;
#: see :func:`world_allocator`). Envs that ignore it still work; their state is copied.
WORLD_ALLOCATOR = "world_allocator"

#: ``per`` values of :meth:`PufferEnv._state_arrays`: the array's first dimension.
STATE_PER = ("env", "agent", None)


def action_dtype(space) -> np.dtype:
    """Dtype of the action buffer for a per-agent action space.

    ``Discrete`` and ``MultiDiscrete`` -> int32 (as PufferLib's C binding layer);
    ``Box`` -> the Box's dtype. Raises APIUsageError for any other space.
    """
    if isinstance(space, (Discrete, MultiDiscrete)):
        return np.dtype(np.int32)
    if isinstance(space, Box):
        return np.dtype(space.dtype)
    raise APIUsageError(
        f"single_action_space must be Discrete, MultiDiscrete or Box, got {type(space).__name__}")


def buffer_specs(single_observation_space, single_action_space, num_agents: int) -> dict:
    """``{name: (shape, dtype)}`` of the six step buffers for ``num_agents`` agents.

    observations: ``(num_agents, *obs_shape)``, the observation space's dtype;
    rewards: ``(num_agents,)`` float32; terminals, truncations, masks: ``(num_agents,)`` bool;
    actions: ``(num_agents, *action_shape)``, dtype from :func:`action_dtype`.
    """
    n = int(num_agents)
    return {
        "observations": ((n, *single_observation_space.shape), np.dtype(single_observation_space.dtype)),
        "rewards": ((n,), np.dtype(np.float32)),
        "terminals": ((n,), np.dtype(bool)),
        "truncations": ((n,), np.dtype(bool)),
        "masks": ((n,), np.dtype(bool)),
        "actions": ((n, *single_action_space.shape), action_dtype(single_action_space)),
    }


def _lookup(buf, name):
    if isinstance(buf, dict):
        return buf.get(name)
    try:
        return buf[name]
    except (TypeError, KeyError, IndexError):
        return getattr(buf, name, None)


def world_allocator(buf):
    """The world allocator a vectorizer offers in ``buf`` (key :data:`WORLD_ALLOCATOR`), or None.

    An env that allocates its world arrays from it (one call with the total size, arrays
    carved out of the returned buffer) lets the vectorizer map them; a None result means
    no memory was offered (allocate privately).
    """
    if buf is None:
        return None
    alloc = _lookup(buf, WORLD_ALLOCATOR)
    return alloc if callable(alloc) else None


def state_rows(arrays: dict, env_id: int, num_envs: int) -> dict:
    """Env ``env_id``'s part of whole arrays described as ``{name: (array, per)}``.

    ``per='env'``: row ``env_id`` (``arr[env_id, ...]``: a 0-d record for a 1-d structured
    array); ``'agent'``: the ``env_id``-th of ``num_envs`` equal blocks of rows; ``None``:
    the whole array (shared by all envs). Returns views, no copies.
    """
    out = {}
    for name, (arr, per) in arrays.items():
        if per == "env":
            if isinstance(arr, np.ndarray):
                out[name] = arr[env_id, ...]
            elif arr.ndim == 1 and arr.dtype.names is None:  # a device array: arr[i] would be a host scalar
                out[name] = arr[env_id:env_id + 1].reshape(())
            else:
                out[name] = arr[env_id]
        elif per == "agent":
            n = arr.shape[0] // num_envs
            out[name] = arr[env_id * n:(env_id + 1) * n]
        else:
            out[name] = arr
    return out


class _JointSpace:
    """``observation_space`` / ``action_space`` of a PufferEnv: :func:`joint_space` of the
    per-agent space for ``num_agents`` agents, built on first access and kept; assignable."""

    def __init__(self, single: str):
        self.single = single

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, env, owner=None):
        if env is None:
            return self
        space = env.__dict__.get(self.name)
        if space is None:
            space = env.__dict__[self.name] = joint_space(getattr(env, self.single), env.num_agents)
        return space

    def __set__(self, env, value):
        env.__dict__[self.name] = value


def as_state(arrays: dict, copy: bool) -> dict:
    """The arrays as ``state`` returns them: independent writable copies, or read-only views."""
    out = {}
    for name, arr in arrays.items():
        if copy:
            out[name] = np.array(arr, copy=True)
        else:
            view = arr.view()
            view.flags.writeable = False
            out[name] = view
    return out


def set_buffers(env, buf=None) -> None:
    """Give ``env`` its step buffers: freshly allocated, or the slices in ``buf``.

    Args:
        env: an object with ``single_observation_space``, ``single_action_space``
            and ``num_agents``.
        buf: ``None`` to allocate, or a dict / namespace holding any of
            ``observations, rewards, terminals, truncations, masks, actions``
            (shapes and dtypes as in :func:`buffer_specs`). Missing entries are allocated.
            Given arrays are used as they are (zero copy): the env writes into them.

    Raises:
        APIUsageError: a given buffer has the wrong shape or dtype, or is not
            C-contiguous (compiled envs write through its raw memory).
    """
    specs = buffer_specs(env.single_observation_space, env.single_action_space, env.num_agents)
    for name, (shape, dtype) in specs.items():
        arr = None if buf is None else _lookup(buf, name)
        if arr is None:
            arr = np.ones(shape, dtype) if name == "masks" else np.zeros(shape, dtype)
        else:
            if not isinstance(arr, np.ndarray):
                raise APIUsageError(f"buf['{name}'] must be a numpy array, got {type(arr).__name__}")
            if arr.shape != shape or arr.dtype != dtype:
                raise APIUsageError(
                    f"buf['{name}'] has shape {arr.shape} and dtype {arr.dtype}; "
                    f"this env needs shape {shape} and dtype {dtype}")
            if not arr.flags.c_contiguous:
                raise APIUsageError(f"buf['{name}'] must be C-contiguous (a slice along the first axis is)")
        setattr(env, name, arr)


def _short_space(space) -> str:
    return repr(space) if space is not None else "?"


def describe_env(env, extra: str = "") -> str:
    """One-line description of a PufferEnv or vectorized env, as their ``repr``:
    ``<Class num_envs=N num_agents=M obs=SHAPE DTYPE action=SPACE[ extra]>``. Reads only
    attributes (never fails on a half-built env)."""
    try:
        obs = getattr(env, "single_observation_space", None)
        parts = [type(env).__name__]
        wrapped = getattr(env, "env", None) if getattr(env, "emulated", False) else None
        if wrapped is not None:
            spec = getattr(wrapped, "spec", None)
            parts.append(f"env={getattr(spec, 'id', None) or type(getattr(wrapped, 'unwrapped', wrapped)).__name__}")
        parts.append(f"num_envs={getattr(env, 'num_envs', '?')}")
        parts.append(f"num_agents={getattr(env, 'num_agents', '?')}")
        if obs is not None:
            parts.append(f"obs={tuple(obs.shape)} {np.dtype(obs.dtype)}")
        parts.append(f"action={_short_space(getattr(env, 'single_action_space', None))}")
        if extra:
            parts.append(extra)
        return "<" + " ".join(parts) + ">"
    except Exception:  # noqa: BLE001 - a repr must not raise
        return object.__repr__(env)


class PufferEnv:
    """Base class of native (already vectorized) environments.

    Subclasses set three attributes and then call ``super().__init__(buf)``; the space
    helpers :meth:`make_space`, :meth:`make_discrete` and :meth:`make_multi_discrete`
    (static methods, see :mod:`pufferlib.spaces`) can build them beforehand:

    - ``single_observation_space``: a ``gymnasium.spaces.Box`` for one agent;
    - ``single_action_space``: ``Discrete``, ``MultiDiscrete`` or ``Box`` for one agent;
    - ``num_agents``: int >= 1, agents stepped together by this env.

    The base class then creates the joint ``observation_space`` / ``action_space``
    (see :func:`pufferlib.spaces.joint_space`), the buffers ``observations``
    ``(num_agents, *obs_shape)``, ``rewards`` float32 ``(num_agents,)``,
    ``terminals`` / ``truncations`` / ``masks`` bool ``(num_agents,)``, ``actions``
    ``(num_agents, *act_shape)`` (int32 for discrete spaces), and ``agent_ids``.

    Subclasses implement ``reset(seed) -> (observations, infos)`` and
    ``step(actions) -> (observations, rewards, terminals, truncations, infos)``,
    returning the same buffer arrays every time; ``infos`` is a list of dicts.

    Raises:
        APIUsageError: an attribute is missing or has the wrong type, or
            ``observation_space`` / ``action_space`` was defined instead of the
            ``single_`` versions, or a ``buf`` entry has the wrong shape/dtype.
    """

    #: Number of independent environments simulated by this object (env ids
    #: ``0..num_envs-1`` for :meth:`state`). Multi-env native envs override it.
    num_envs = 1

    # Space helpers, callable as ``self.make_space(...)`` etc. before ``super().__init__()``
    # (as in PufferLib's environment guide); they are :mod:`pufferlib.spaces`' functions.
    make_space = staticmethod(_spaces.make_space)
    make_discrete = staticmethod(_spaces.make_discrete)
    make_multi_discrete = staticmethod(_spaces.make_multi_discrete)

    # The joint spaces are built on first use: a gymnasium Box keeps four full-size arrays
    # (bounds and flags), 27 MB for Neural MMO 3's 4096 x 1707 observations.
    observation_space = _JointSpace("single_observation_space")
    action_space = _JointSpace("single_action_space")

    def __init__(self, buf=None):
        cls = type(self).__name__
        own = vars(self)
        for joint, single in (("observation_space", "single_observation_space"),
                              ("action_space", "single_action_space")):
            if joint in own:
                raise APIUsageError(
                    f"{cls} defines self.{joint}; PufferEnvs define self.{single} (the space of ONE agent) "
                    f"before calling super().__init__(), and the base class builds {joint} for all agents")
        for attr in ("single_observation_space", "single_action_space", "num_agents"):
            if not hasattr(self, attr):
                raise APIUsageError(f"{cls} must set self.{attr} before calling super().__init__()")
        if not isinstance(self.single_observation_space, Box):
            raise APIUsageError(
                f"{cls}.single_observation_space must be a gymnasium.spaces.Box, got "
                f"{type(self.single_observation_space).__name__}; wrap structured spaces with "
                "pufferlib.emulation instead")
        if not isinstance(self.single_action_space, (Discrete, MultiDiscrete, Box)):
            raise APIUsageError(
                f"{cls}.single_action_space must be Discrete, MultiDiscrete or Box, got "
                f"{type(self.single_action_space).__name__}")
        self.num_agents = check_int(f"{cls}.num_agents", self.num_agents, 1)
        self.agent_ids = np.arange(self.num_agents)
        set_buffers(self, buf)
        self.infos = []

    # ---- contract -------------------------------------------------------------------------
    def reset(self, seed=None):
        """Reset every agent; return ``(observations, infos)`` (infos: list of dicts)."""
        raise NotImplementedError

    def step(self, actions):
        """Step every agent; return ``(observations, rewards, terminals, truncations, infos)``."""
        raise NotImplementedError

    def close(self):
        """Release resources. The base class holds none."""

    def __enter__(self):
        """``with env:`` closes the env on leaving the block (also on an exception)."""
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        """``<Snake num_envs=16 num_agents=4096 obs=(11, 11) int8 action=Discrete(4)>``; an
        emulated env also names the env it wraps (``env=CartPole-v1``)."""
        return describe_env(self)

    @property
    def emulated(self):
        """Native envs do not use emulation."""
        return False

    @property
    def done(self):
        """Native envs handle resets internally."""
        return False

    @property
    def driver_env(self):
        """For compatibility with Multiprocessing: the env itself."""
        return self

    # ---- async interface (used by pufferlib.vector) ---------------------------------------
    def async_reset(self, seed=None):
        """Start a reset; results come from :meth:`recv`."""
        _, self.infos = self.reset(seed)

    def send(self, actions):
        """Start a step with ``actions``; results come from :meth:`recv`."""
        _, _, _, _, self.infos = self.step(actions)

    def recv(self):
        """``(observations, rewards, terminals, truncations, infos, agent_ids, masks)``."""
        return (self.observations, self.rewards, self.terminals, self.truncations,
                self.infos, self.agent_ids, self.masks)

    # ---- state export ---------------------------------------------------------------------
    def state(self, env_id: int = 0, copy: bool = False) -> dict:
        """World state of environment ``env_id`` as ``{name: numpy array}``.

        Args:
            env_id: which environment, ``0 <= env_id < num_envs``.
            copy: False (default) returns read-only views into the live world
                arrays (zero copy; they change as the env steps); True returns
                independent writable copies (stable snapshots).

        Returns:
            A dict of arrays; envs that export no state return ``{}``.

        Raises:
            APIUsageError: ``env_id`` is not an int in ``[0, num_envs)``.

        Vectorized envs have the same method, with ids counted over all their instances
        (:meth:`pufferlib.vector.Serial.state`).
        """
        env_id = check_int("env_id", env_id)
        if not 0 <= env_id < self.num_envs:
            raise APIUsageError(f"env_id {env_id} out of range: this env has num_envs={self.num_envs} "
                                f"(valid ids 0..{self.num_envs - 1})")
        return as_state(self._state(env_id), copy)

    def _state(self, env_id: int) -> dict:
        """Override: ``{name: array view}`` of env ``env_id``'s world.

        Default: :func:`state_rows` of :meth:`_state_arrays`, or ``{}`` (no state) when
        that returns None.
        """
        arrays = self._state_arrays()
        return {} if arrays is None else state_rows(arrays, env_id, self.num_envs)

    def _state_arrays(self):
        """Override (optional): the whole arrays ``state`` exports, ``{name: (array, per)}``
        with ``per`` in :data:`STATE_PER` (see :func:`state_rows`), or None (default).

        Describing the arrays this way lets a vectorizer rebuild the same views in another
        process: Multiprocessing returns zero-copy views of arrays that live in the memory
        it offered through ``buf`` (:data:`WORLD_ALLOCATOR`); other state is copied over.
        """
        return None
