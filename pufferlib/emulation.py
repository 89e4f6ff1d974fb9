"""Emulation: Gymnasium and PettingZoo environments as PufferEnvs.

Behavioural reference: PufferLib 3.0 ``pufferlib/emulation.py``
(``GymnasiumPufferEnv``, ``PettingZooPufferEnv``, ``emulate_observation_space``,
``emulate_action_space``, ``nativize``). This is an independent implementation
of those semantics on top of :class:`pufferlib.PufferEnv`.

How structured spaces are carried
---------------------------------
A PufferEnv has one ``Box`` observation per agent and a ``Discrete``,
``MultiDiscrete`` or ``Box`` action per agent. Structured Gymnasium spaces are
mapped onto that as follows:

* **Observations.** Every observation space (``Dict``, ``Tuple``, ``Box``,
  ``Discrete``, ``MultiDiscrete``, ``MultiBinary``, nested to any depth) has a
  NumPy *structured dtype* (:func:`dtype_from_space`): ``Dict`` and ``Tuple``
  become nested structured fields (``Tuple`` element ``i`` is field ``f{i}``),
  ``Box`` a subarray field of the Box's dtype and shape, ``Discrete`` a scalar
  of the space's dtype (int64 by default), ``MultiDiscrete`` / ``MultiBinary``
  a subarray of the space's dtype. Fields are aligned (``align=True``).

  - A plain ``Box`` is kept as it is (no emulation).
  - Otherwise, if every leaf has the same dtype (e.g. a ``Dict`` of float32
    Boxes), the emulated space is a 1-D ``Box`` of that dtype with
    ``itemsize // dtype.itemsize`` elements and per-element bounds taken from
    the leaves (PufferLib 3.0 behaviour).
  - Otherwise the emulated space is ``Box(0, 255, (itemsize,), uint8)``: the
    raw bytes of one structured record.

  Each observation is written leaf by leaf straight into the agent's row of
  the observation buffer, viewed as the structured dtype (no intermediate
  copies). :func:`nativize` turns a row (or a batch of rows) back into the
  original nested structure.

* **Actions.** ``Discrete``, ``MultiDiscrete`` and ``Box`` pass through.
  ``MultiBinary`` and nested ``Dict`` / ``Tuple`` spaces whose leaves are all
  ``Discrete`` / ``MultiDiscrete`` / ``MultiBinary`` become one flat
  ``MultiDiscrete`` (same ``start`` offsets, so values are unchanged); the int32
  action row is viewed as a structured int32 dtype and nativized back into the
  nested structure before ``env.step``. Actions are validated (shape, dtype,
  range) and never clipped.
"""
from __future__ import annotations

import copy
import functools
import importlib
import inspect
import pkgutil
import re

import gymnasium
import numpy as np

from pufferlib.checks import check_int
from pufferlib.environment import PufferEnv
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
from pufferlib.spaces import Box, Dict, Discrete, MultiBinary, MultiDiscrete, Tuple, check_actions

#: Leaf spaces the emulation layer understands.
LEAF_SPACES = (Box, Discrete, MultiDiscrete, MultiBinary)

#: PettingZoo families searched by :func:`make_pettingzoo`, in order.
PETTINGZOO_FAMILIES = ("butterfly", "classic", "sisl", "atari", "mpe")

#: Keyword arguments of :func:`make_gymnasium` / :func:`make_pettingzoo` that go
#: to the vectorizer rather than to the environment constructor.
VECTOR_OPTIONS = frozenset({"num_workers", "batch_size", "start_method", "ray_init_kwargs",
                            "zero_copy", "overwork"})


# ============================================================================================
# Space <-> structured dtype
# ============================================================================================
def _field_name(key) -> str:
    return key if isinstance(key, str) else str(key)


def dtype_from_space(space, discrete_dtype=None) -> np.dtype:
    """The NumPy (structured) dtype of one sample of ``space``.

    Args:
        space: ``Dict``, ``Tuple``, ``Box``, ``Discrete``, ``MultiDiscrete`` or
            ``MultiBinary``, nested to any depth.
        discrete_dtype: if given, the dtype used for every ``Discrete`` /
            ``MultiDiscrete`` / ``MultiBinary`` leaf instead of the space's own
            dtype (the action layer uses int32, the dtype of action buffers).

    Returns:
        ``Dict`` -> structured dtype with one field per key (in the space's key
        order); ``Tuple`` -> fields ``f0, f1, ...``; ``Box`` -> ``(dtype, shape)``;
        ``Discrete`` -> scalar dtype; ``MultiDiscrete`` -> ``(dtype, nvec.shape)``;
        ``MultiBinary`` -> ``(dtype, shape)``. Structured dtypes are aligned.
        A top-level leaf gives a plain (possibly subarray) dtype.

    Raises:
        APIUsageError: an unsupported space type (e.g. ``Text``, ``Graph``,
            ``Sequence``), an empty ``Dict`` / ``Tuple``, or two ``Dict`` keys
            with the same string form.
    """
    if isinstance(space, Dict):
        if len(space.spaces) == 0:
            raise APIUsageError("emulation cannot represent an empty Dict space; give it at least one entry")
        names = [_field_name(k) for k in space.spaces]
        if len(set(names)) != len(names):
            raise APIUsageError(f"Dict space keys {list(space.spaces)} collide when converted to str field names")
        return np.dtype([(n, dtype_from_space(s, discrete_dtype)) for n, s in zip(names, space.spaces.values())],
                        align=True)
    if isinstance(space, Tuple):
        if len(space.spaces) == 0:
            raise APIUsageError("emulation cannot represent an empty Tuple space; give it at least one element")
        return np.dtype([(f"f{i}", dtype_from_space(s, discrete_dtype)) for i, s in enumerate(space.spaces)],
                        align=True)
    if isinstance(space, Discrete):
        return np.dtype(discrete_dtype or space.dtype)
    if isinstance(space, MultiDiscrete):
        return np.dtype((discrete_dtype or space.dtype, space.nvec.shape))
    if isinstance(space, MultiBinary):
        return np.dtype((discrete_dtype or space.dtype, tuple(space.shape)))
    if isinstance(space, Box):
        return np.dtype((space.dtype, tuple(space.shape)))
    raise APIUsageError(
        f"emulation supports Dict, Tuple, Box, Discrete, MultiDiscrete and MultiBinary spaces, "
        f"got {type(space).__name__}")


def _leaves(space, path=(), fields=()):
    """Yield ``(path, fields, leaf_space)``: ``path`` indexes a sample, ``fields`` the structured view."""
    if isinstance(space, Dict):
        for key, sub in space.spaces.items():
            yield from _leaves(sub, path + (key,), fields + (_field_name(key),))
    elif isinstance(space, Tuple):
        for i, sub in enumerate(space.spaces):
            yield from _leaves(sub, path + (i,), fields + (f"f{i}",))
    elif isinstance(space, LEAF_SPACES):
        yield path, fields, space
    else:
        raise APIUsageError(
            f"emulation supports Dict, Tuple, Box, Discrete, MultiDiscrete and MultiBinary spaces, "
            f"got {type(space).__name__}")


def flatten_space(space) -> list:
    """The leaf spaces of ``space`` in depth-first order (Dict key order, Tuple index order)."""
    return [leaf for _, _, leaf in _leaves(space)]


def _leaf_bounds(space):
    """``(low, high)`` arrays (shape of the leaf) of the values a leaf can take."""
    if isinstance(space, Box):
        return space.low, space.high
    if isinstance(space, Discrete):
        return np.asarray(space.start), np.asarray(space.start + space.n - 1)
    if isinstance(space, MultiDiscrete):
        return space.start, space.start + space.nvec - 1
    return np.zeros(space.shape, np.int64), np.ones(space.shape, np.int64)  # MultiBinary


def _structured_view(flat, dtype: np.dtype):
    """View the last axis of ``flat`` (raw bytes of one record) as ``dtype``.

    Returns an array of shape ``flat.shape[:-1]`` (plus the subarray shape for a
    subarray dtype) that shares memory with ``flat`` when ``flat`` is C-contiguous.
    """
    arr = np.asarray(flat)
    if arr.ndim == 0:
        raise APIUsageError("expected a flat row (at least 1-D array), got a scalar")
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    nbytes = arr.shape[-1] * arr.itemsize
    if nbytes != dtype.itemsize:
        raise APIUsageError(
            f"a flat row of {arr.shape[-1]} x {arr.dtype} ({nbytes} bytes) does not hold one record of "
            f"{dtype} ({dtype.itemsize} bytes); pass rows of the emulated observation/action buffer")
    raw = arr.view(np.uint8)
    lead = arr.shape[:-1]
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return raw.view(base).reshape(lead + shape)
    return raw.view(dtype).reshape(lead)


def _resolve(view, fields):
    for name in fields:
        view = view[name]
    return view


def _get(sample, path):
    for key in path:
        sample = sample[key]
    return sample


def emulate_observation_space(space):
    """The flat Box a PufferEnv exposes for observation ``space``, and its structured dtype.

    Args:
        space: any supported (possibly nested) observation space.

    Returns:
        ``(box_space, structured_dtype)``. A plain ``Box`` is returned unchanged
        (``structured_dtype`` is then ``(box.dtype, box.shape)``). When every leaf
        shares one dtype, ``box_space`` is ``Box(low, high, (itemsize // dtype.itemsize,),
        dtype)`` with per-element bounds from the leaves; otherwise it is
        ``Box(0, 255, (itemsize,), uint8)``. Either way one row of the buffer holds
        exactly ``structured_dtype.itemsize`` bytes.

    Raises:
        APIUsageError: see :func:`dtype_from_space`.
    """
    struct = dtype_from_space(space)
    if isinstance(space, Box):
        return space, struct
    leaves = flatten_space(space)
    dtypes = {np.dtype(leaf.dtype) for leaf in leaves}
    if len(dtypes) == 1:
        common = dtypes.pop()
        numel = struct.itemsize // common.itemsize
        low = np.zeros(numel, common)
        high = np.zeros(numel, common)
        for target, pick in ((low, 0), (high, 1)):
            root = _structured_view(target, struct)
            for _, fields, leaf in _leaves(space):
                _resolve(root, fields)[...] = _leaf_bounds(leaf)[pick]
        return Box(low=low, high=high, shape=(numel,), dtype=common), struct
    return Box(low=0, high=255, shape=(struct.itemsize,), dtype=np.uint8), struct


def emulate_action_space(space):
    """The action space a PufferEnv exposes for action ``space``, and the dtype to nativize with.

    Args:
        space: ``Discrete``, ``MultiDiscrete``, ``Box``, ``MultiBinary``, or a
            ``Dict`` / ``Tuple`` (nested to any depth) whose leaves are
            ``Discrete`` / ``MultiDiscrete`` / ``MultiBinary``.

    Returns:
        ``(space, int32)`` for ``Discrete`` / ``MultiDiscrete`` (unchanged; action
        buffers are int32), ``(space, box.dtype)`` for ``Box``; otherwise
        ``(MultiDiscrete(nvec, start), structured_int32_dtype)``: one entry per
        discrete choice in leaf order, with the leaves' ``start`` offsets, so an
        int32 action row viewed as the structured dtype is the nested action.

    Raises:
        APIUsageError: a nested space has a ``Box`` leaf (continuous parts of
            nested action spaces cannot be flattened to MultiDiscrete), or an
            unsupported space type.
    """
    if isinstance(space, (Discrete, MultiDiscrete)):
        return space, np.dtype(np.int32)
    if isinstance(space, Box):
        return space, np.dtype(space.dtype)
    nvec, start = [], []
    for path, _, leaf in _leaves(space):
        if isinstance(leaf, Box):
            where = "/".join(map(str, path)) or "<root>"
            raise APIUsageError(
                f"nested action spaces may only contain Discrete, MultiDiscrete and MultiBinary leaves "
                f"(they are flattened to one MultiDiscrete); got a Box at '{where}'. Use a plain Box "
                "action space for continuous actions")
        lo, hi = _leaf_bounds(leaf)
        lo = np.asarray(lo, np.int64).ravel()
        hi = np.asarray(hi, np.int64).ravel()
        start.extend(lo.tolist())
        nvec.extend((hi - lo + 1).tolist())
    struct = dtype_from_space(space, discrete_dtype=np.int32)
    return MultiDiscrete(np.asarray(nvec, np.int64), start=np.asarray(start, np.int64)), struct


def _nativize(view, space):
    if isinstance(space, Dict):
        return {key: _nativize(view[_field_name(key)], sub) for key, sub in space.spaces.items()}
    if isinstance(space, Tuple):
        return tuple(_nativize(view[f"f{i}"], sub) for i, sub in enumerate(space.spaces))
    if isinstance(space, Discrete) and view.ndim == 0:
        return int(view)
    return np.array(view, dtype=space.dtype)


def nativize(flat_obs, space, dtype):
    """Rebuild the original nested structure from a flat emulated row.

    Args:
        flat_obs: one row of an emulated observation (or action) buffer, shape
            ``(k,)`` of any dtype whose ``k * itemsize`` bytes equal
            ``dtype.itemsize``; or a batch of rows, shape ``(..., k)``. For a
            plain ``Box`` space, an array with ``space.shape`` (or ``(N, *space.shape)``).
        space: the original space (``Dict``/``Tuple``/leaf).
        dtype: the structured dtype from :func:`emulate_observation_space` or
            :func:`emulate_action_space` for ``space``.

    Returns:
        dicts (``Dict``) and tuples (``Tuple``) of leaves: ``Discrete`` -> Python int
        (an array for batches); other leaves -> new NumPy arrays of the leaf
        space's dtype and shape (batch dims first). Values are copies, so later
        writes to the buffer do not change them.

    Raises:
        APIUsageError: ``flat_obs`` does not hold whole records of ``dtype``.

    Reference: PufferLib 3.0 ``emulation.nativize``.
    """
    dtype = np.dtype(dtype)
    if isinstance(space, Box):
        arr = np.asarray(flat_obs)
        size = int(np.prod(space.shape))
        if arr.size == size:
            return np.array(arr, dtype=space.dtype).reshape(space.shape)
        if size and arr.size % size == 0:
            return np.array(arr, dtype=space.dtype).reshape((-1, *space.shape))
        raise APIUsageError(f"cannot reshape an array of {arr.size} elements into Box shape {space.shape}")
    return _nativize(_structured_view(flat_obs, dtype), space)


def flatten_sample(sample, space, dtype=None, out=None):
    """Write a (nested) sample of ``space`` into a flat row: the inverse of :func:`nativize`.

    Args:
        sample: a sample of ``space`` (dicts / tuples of arrays and ints).
        space: its space.
        dtype: the structured dtype (default: ``emulate_observation_space(space)[1]``).
        out: the flat row to write into (``k`` elements whose bytes equal
            ``dtype.itemsize``); default a new row of the emulated observation
            Box's dtype and shape.

    Returns:
        ``out``.

    Raises:
        APIUsageError: the sample does not have the structure of ``space``.
    """
    if dtype is None or out is None:
        box, struct = emulate_observation_space(space)
        dtype = struct if dtype is None else dtype
        if out is None:
            out = np.zeros(box.shape, box.dtype)
    if isinstance(space, Box):
        out[...] = np.asarray(sample).reshape(out.shape)
        return out
    root = _structured_view(out, np.dtype(dtype))
    _write_leaves([(path, _resolve(root, fields)) for path, fields, _ in _leaves(space)], sample, space)
    return out


def _write_leaves(writers, sample, space):
    try:
        for path, view in writers:
            view[...] = _get(sample, path)
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise APIUsageError(
            f"observation does not match the observation space {space}: {type(e).__name__}: {e}") from e


# ============================================================================================
# Helpers shared by the wrappers
# ============================================================================================
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


# ============================================================================================
# Gymnasium
# ============================================================================================
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


class GymnasiumPufferEnv(PufferEnv):
    """One Gymnasium env as a PufferEnv with ``num_agents = 1``.

    Args:
        env: a ``gymnasium.Env`` instance, or
        env_creator, env_args, env_kwargs: a callable and its arguments that build one.
        buf: optional buffers from the vectorizer (see :func:`pufferlib.set_buffers`).
        seed: seed used for the first :meth:`reset` when it is called without one.

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

    def __init__(self, env=None, env_creator=None, env_args=(), env_kwargs=None, buf=None, seed=0):
        self.env = make_object(env, env_creator, env_args, env_kwargs)
        env_obs = getattr(self.env, "observation_space", None)
        env_atn = getattr(self.env, "action_space", None)
        if env_obs is None or env_atn is None:
            raise APIUsageError(
                f"{type(self.env).__name__} has no observation_space/action_space; "
                "GymnasiumPufferEnv wraps gymnasium.Env instances")
        self.env_observation_space = env_obs
        self.env_action_space = env_atn
        self.single_observation_space, self.obs_dtype = emulate_observation_space(env_obs)
        self._codec = _ActionCodec(env_atn)
        self.single_action_space, self.atn_dtype = self._codec.space, self._codec.dtype
        self.is_obs_emulated = self.single_observation_space is not env_obs
        self.is_atn_emulated = self._codec.emulated
        self.num_agents = 1
        super().__init__(buf)
        self._writers = _obs_writers(self.observations, env_obs, self.obs_dtype) if self.is_obs_emulated else None
        self._seed = seed
        self._initialized = False
        self._done = True
        self.episode_return = 0.0
        self.episode_length = 0

    # ---- properties ----------------------------------------------------------------------
    @property
    def done(self):
        """True before the first reset and after a terminal/truncation, until the next reset."""
        return self._done

    @property
    def emulated(self):
        """A dict describing the emulation (always truthy)."""
        return _emulation_info(self)

    @property
    def render_mode(self):
        """The wrapped env's ``render_mode`` (None if it has none)."""
        return getattr(self.env, "render_mode", None)

    # ---- contract ------------------------------------------------------------------------
    def _write_obs(self, ob):
        if self.is_obs_emulated:
            _write_leaves(self._writers[0], ob, self.env_observation_space)
        else:
            try:
                self.observations[0] = ob
            except (ValueError, TypeError) as e:
                raise APIUsageError(
                    f"observation of shape {np.shape(ob)} does not fit the observation space "
                    f"{self.env_observation_space}: {e}") from e

    def reset(self, seed=None):
        """Reset the env; returns ``(observations, [info])``.

        ``seed=None`` on the first call uses the constructor's ``seed``; later
        calls without a seed continue the env's own random stream.
        """
        if seed is None and not self._initialized:
            seed = self._seed
        ob, info = _seed_and_reset(self.env, seed)
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
                                    out=np.zeros(self.actions.shape[1:], np.int32))
        self._codec.validate(action, self.actions)
        ob, reward, terminal, truncation, info = self.env.step(self._codec.to_env(self.actions[0]))
        self._write_obs(ob)
        self.rewards[0] = reward
        self.terminals[0] = terminal
        self.truncations[0] = truncation
        self.masks[0] = True
        self.episode_return += float(reward)
        self.episode_length += 1
        self._done = bool(terminal) or bool(truncation)
        if self._done:
            info = dict(info)
            info["episode_return"] = self.episode_return
            info["episode_length"] = self.episode_length
        return self.observations, self.rewards, self.terminals, self.truncations, [info]

    def render(self):
        """Render the wrapped env (``env.render()``)."""
        return self.env.render()

    def close(self):
        """Close the wrapped env."""
        return self.env.close()


# ============================================================================================
# PettingZoo
# ============================================================================================
class PettingZooPufferEnv(PufferEnv):
    """A PettingZoo ``ParallelEnv`` as a PufferEnv with ``num_agents = len(possible_agents)``.

    Args:
        env: a ``pettingzoo.ParallelEnv`` instance, or
        env_creator, env_args, env_kwargs: a callable and its arguments that build one.
        buf: optional buffers from the vectorizer.
        seed: seed used for the first :meth:`reset` when it is called without one.

    Row ``i`` of every buffer belongs to ``possible_agents[i]``. All agents must
    share one observation space and one action space (emulated as in
    :class:`GymnasiumPufferEnv`). Agents absent from a step's observations (dead
    or not yet spawned) get a zero observation, reward 0, ``terminals=True``
    (after reset: False), ``truncations=False`` and ``masks=False``; their
    actions are ignored and not validated.

    ``reset(seed=None) -> (observations, [infos])`` and
    ``step(actions) -> (observations, rewards, terminals, truncations, [infos])``
    where ``infos`` is the env's ``{agent: info}`` dict; at episode end that dict
    also holds ``episode_return`` (mean over possible agents of each agent's summed
    reward) and ``episode_length`` (env steps). ``actions`` has shape
    ``(num_agents, *act_shape)`` (or is a dict ``{agent: action}``).
    :attr:`done` is True once no agents remain (or all remaining ones terminated
    or truncated); stepping then raises until ``reset``.

    Raises:
        APIUsageError: agents with different spaces, unsupported spaces, bad
            actions, calls out of order, unknown agents in an action dict.

    Reference: PufferLib 3.0 ``emulation.PettingZooPufferEnv``.
    """

    def __init__(self, env=None, env_creator=None, env_args=(), env_kwargs=None, buf=None, seed=0):
        self.env = make_object(env, env_creator, env_args, env_kwargs)
        possible = list(getattr(self.env, "possible_agents", None) or [])
        if not possible:
            raise APIUsageError(
                f"{type(self.env).__name__} has no possible_agents; PettingZooPufferEnv wraps "
                "pettingzoo.ParallelEnv instances with a non-empty possible_agents list")
        self.possible_agents = possible
        obs_spaces = [self.env.observation_space(a) for a in possible]
        atn_spaces = [self.env.action_space(a) for a in possible]
        for kind, spaces in (("observation", obs_spaces), ("action", atn_spaces)):
            for agent, sp in zip(possible[1:], spaces[1:]):
                if sp != spaces[0]:
                    raise APIUsageError(
                        f"all agents must share one {kind} space: {possible[0]!r} has {spaces[0]} but "
                        f"{agent!r} has {sp}. Pad the spaces to a common one in the env")
        self.env_observation_space = obs_spaces[0]
        self.env_action_space = atn_spaces[0]
        self.single_observation_space, self.obs_dtype = emulate_observation_space(obs_spaces[0])
        self._codec = _ActionCodec(atn_spaces[0])
        self.single_action_space, self.atn_dtype = self._codec.space, self._codec.dtype
        self.is_obs_emulated = self.single_observation_space is not obs_spaces[0]
        self.is_atn_emulated = self._codec.emulated
        self.num_agents = len(possible)
        super().__init__(buf)
        self.agent_index = {a: i for i, a in enumerate(possible)}
        self._writers = (_obs_writers(self.observations, obs_spaces[0], self.obs_dtype)
                         if self.is_obs_emulated else None)
        self._live = np.zeros(self.num_agents, bool)
        self._seed = seed
        self._initialized = False
        self._all_done = True
        self.episode_returns = np.zeros(self.num_agents, np.float64)
        self.episode_length = 0

    @property
    def agents(self):
        """The wrapped env's live agents."""
        return self.env.agents

    @property
    def done(self):
        """True before the first reset and once the episode is over, until the next reset."""
        return self._all_done

    @property
    def emulated(self):
        """A dict describing the emulation (always truthy), with ``possible_agents``."""
        return dict(_emulation_info(self), possible_agents=list(self.possible_agents))

    @property
    def render_mode(self):
        """The wrapped env's ``render_mode`` (None if it has none)."""
        return getattr(self.env, "render_mode", None)

    def _write_obs(self, obs):
        self.masks[:] = False
        for agent, ob in obs.items():
            i = self.agent_index.get(agent)
            if i is None:
                raise APIUsageError(
                    f"the env returned an observation for {agent!r}, which is not in possible_agents "
                    f"{self.possible_agents}")
            self.masks[i] = True
            if self.is_obs_emulated:
                _write_leaves(self._writers[i], ob, self.env_observation_space)
            else:
                try:
                    self.observations[i] = ob
                except (ValueError, TypeError) as e:
                    raise APIUsageError(
                        f"observation of agent {agent!r} with shape {np.shape(ob)} does not fit "
                        f"{self.env_observation_space}: {e}") from e
        self.observations[~self.masks] = 0

    def reset(self, seed=None):
        """Reset the env; returns ``(observations, [infos])``."""
        if seed is None and not self._initialized:
            seed = self._seed
        obs, infos = _seed_and_reset(self.env, seed)
        self._initialized = True
        self._write_obs(obs)
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        self._all_done = len(self.env.agents) == 0
        self.episode_returns[:] = 0
        self.episode_length = 0
        return self.observations, [dict(infos)]

    def _actions_from_dict(self, actions):
        arr = np.zeros(self.actions.shape, self.actions.dtype)
        given = np.zeros(self.num_agents, bool)
        for agent, atn in actions.items():
            i = self.agent_index.get(agent)
            if i is None:
                raise APIUsageError(f"action for unknown agent {agent!r}; possible agents: {self.possible_agents}")
            try:  # shape and dtype only: range is checked for live agents in step()
                arr[i] = check_actions(self._codec.space, atn, 1, live=_NOT_LIVE, allow_unbatched=True)[0]
            except APIUsageError as e:
                raise APIUsageError(f"action for {agent!r}: {e}") from None
            given[i] = True
        missing = [a for a in self.env.agents if not given[self.agent_index[a]]]
        if missing:
            raise APIUsageError(f"no action given for live agents {missing}")
        return arr

    def step(self, actions):
        """Step live agents with ``actions`` (shape ``(num_agents, *act_shape)``, rows in possible_agents order)."""
        if not self._initialized:
            raise APIUsageError("step() called before reset(): call reset() first")
        if self._all_done:
            raise APIUsageError("step() called after all agents are done: call reset()")
        if isinstance(actions, dict):
            actions = self._actions_from_dict(actions)
        live_agents = list(self.env.agents)
        self._live[:] = False
        for agent in live_agents:
            self._live[self.agent_index[agent]] = True
        self._codec.validate(actions, self.actions, live=self._live)
        env_actions = {agent: self._codec.to_env(self.actions[self.agent_index[agent]]) for agent in live_agents}
        obs, rewards, terminations, truncations, infos = self.env.step(env_actions)
        self._write_obs(obs)
        self.rewards[:] = 0
        self.terminals[:] = True
        self.truncations[:] = False
        for agent in obs:
            i = self.agent_index[agent]
            self.terminals[i] = bool(terminations.get(agent, False))
            self.truncations[i] = bool(truncations.get(agent, False))
        for agent, r in rewards.items():
            i = self.agent_index.get(agent)
            if i is not None:
                self.rewards[i] = r
        self.episode_returns += self.rewards
        self.episode_length += 1
        present = self.masks
        self._all_done = (len(self.env.agents) == 0 or not present.any()
                          or bool(np.all(self.terminals[present] | self.truncations[present])))
        infos = dict(infos)
        if self._all_done:
            infos["episode_return"] = float(self.episode_returns.mean())
            infos["episode_length"] = self.episode_length
        return self.observations, self.rewards, self.terminals, self.truncations, [infos]

    def render(self):
        """Render the wrapped env (``env.render()``)."""
        return self.env.render()

    def close(self):
        """Close the wrapped env."""
        return self.env.close()


# ============================================================================================
# emulate / make
# ============================================================================================
class _CopyFactory:
    """Picklable ``() -> env`` returning a deep copy of ``env`` (the original is never handed out)."""

    def __init__(self, env):
        self.env = env

    def __call__(self):
        try:
            return copy.deepcopy(self.env)
        except Exception as e:  # noqa: BLE001 - any failure means the env cannot be copied
            raise EnvironmentSetupError(
                f"could not copy {type(self.env).__name__} to build more environments ({type(e).__name__}: {e}); "
                "use pufferlib.vector.make with a creator that builds a fresh env instead") from e


class _Creator:
    """Picklable PufferEnv creator ``creator(*env_args, buf=None, seed=0, **env_kwargs)`` for pufferlib.vector."""

    def __init__(self, wrapper, env_factory, env_args=(), env_kwargs=None):
        self.wrapper = wrapper
        self.env_factory = env_factory
        self.env_args = tuple(env_args)
        self.env_kwargs = dict(env_kwargs or {})

    def __call__(self, *env_args, buf=None, seed=0, **env_kwargs):
        kwargs = {**self.env_kwargs, **env_kwargs}
        return self.wrapper(env_creator=self.env_factory, env_args=self.env_args + env_args,
                            env_kwargs=kwargs, buf=buf, seed=seed)


def _vectorize(creators, num_envs, backend, kwargs):
    import pufferlib.vector as vector
    return vector.make(creators, num_envs=num_envs, backend=backend or "Serial", **kwargs)


def _single(creator, kwargs, what):
    extra = set(kwargs) - {"buf", "seed"}
    if extra:
        raise APIUsageError(
            f"{what}: options {sorted(extra)} apply only when vectorizing; pass num_envs > 1 or backend=")
    return creator(buf=kwargs.get("buf"), seed=kwargs.get("seed", 0))


def emulate(env, num_envs=1, backend=None, **kwargs):
    """Wrap a Gymnasium env or a PettingZoo env as a PufferEnv (vectorized when ``num_envs > 1``).

    Args:
        env: a ``gymnasium.Env``, a ``pettingzoo.ParallelEnv``, or a
            ``pettingzoo.AECEnv`` (converted with ``aec_to_parallel``; the env must
            be parallelizable). A PufferEnv is returned unchanged when ``num_envs == 1``.
        num_envs: number of environments. With 1 (and no ``backend``) the single
            wrapper is returned; otherwise ``num_envs - 1`` more copies are built
            (Gymnasium: ``gymnasium.make(env.spec)`` when the env has a spec, else
            ``copy.deepcopy(env)``; PettingZoo: ``copy.deepcopy``) and passed to
            ``pufferlib.vector.make(creators, num_envs=num_envs, backend=backend or 'Serial', **kwargs)``.
        backend: vectorization backend name or class.
        **kwargs: single env: ``buf`` and ``seed``; vectorized: options of
            ``pufferlib.vector.make`` (``num_workers``, ``batch_size``, ``seed``, ...).

    Returns:
        :class:`GymnasiumPufferEnv` / :class:`PettingZooPufferEnv`, or a vectorized env.

    Raises:
        APIUsageError: an unsupported object, ``num_envs`` < 1, a non-parallelizable
            AEC env, or vector options without vectorization.
        EnvironmentSetupError: the env cannot be copied for ``num_envs > 1``.
    """
    num_envs = check_int("num_envs", num_envs, 1)
    vectorized = num_envs > 1 or backend is not None
    if isinstance(env, PufferEnv):
        if vectorized:
            raise APIUsageError("env is already a PufferEnv; vectorize it with pufferlib.vector.make")
        return env

    import pettingzoo
    if isinstance(env, pettingzoo.AECEnv):
        from pettingzoo.utils.conversions import aec_to_parallel
        try:
            env = aec_to_parallel(env)
        except AssertionError as e:
            raise APIUsageError(
                f"cannot convert AEC env {type(env).__name__} to a ParallelEnv: {e}. Only parallelizable "
                "AEC envs (metadata['is_parallelizable'] = True) can be emulated") from e

    if isinstance(env, pettingzoo.ParallelEnv):
        wrapper = PettingZooPufferEnv
    elif isinstance(env, gymnasium.Env):
        wrapper = GymnasiumPufferEnv
    else:
        raise APIUsageError(
            f"emulate takes a gymnasium.Env, a pettingzoo.ParallelEnv or a pettingzoo.AECEnv; "
            f"got {type(env).__name__}")

    if not vectorized:
        extra = set(kwargs) - {"buf", "seed"}
        if extra:
            raise APIUsageError(
                f"emulate: options {sorted(extra)} apply only when vectorizing; pass num_envs > 1 or backend=")
        return wrapper(env=env, buf=kwargs.get("buf"), seed=kwargs.get("seed", 0))

    spec = getattr(env, "spec", None) if wrapper is GymnasiumPufferEnv else None
    factory = functools.partial(gymnasium.make, spec) if spec is not None else _CopyFactory(env)
    creators = [_Creator(wrapper, factory) for _ in range(num_envs)]
    return _vectorize(creators, num_envs, backend, kwargs)


def _split_kwargs(kwargs, env_kwargs):
    env_kw = dict(env_kwargs or {})
    vec_kw = {}
    for k, v in kwargs.items():
        (vec_kw if k in VECTOR_OPTIONS or k in ("seed", "buf") else env_kw)[k] = v
    return env_kw, vec_kw


def _make_gymnasium_env(env_id, **kwargs):
    try:
        return gymnasium.make(env_id, **kwargs)
    except gymnasium.error.DependencyNotInstalled as e:
        raise EnvironmentSetupError(
            f"gymnasium env {env_id!r} needs an optional dependency: {e}. Try: pip install 'gymnasium[all]'") from e
    except ModuleNotFoundError as e:
        raise EnvironmentSetupError(
            f"gymnasium env {env_id!r} needs the missing module {e.name!r}: pip install {e.name}") from e
    except TypeError as e:
        raise APIUsageError(f"gymnasium.make({env_id!r}, **{kwargs}) rejected the arguments: {e}") from e


def make_gymnasium(env_id, num_envs=1, backend=None, env_kwargs=None, **kwargs):
    """Build the Gymnasium env ``env_id`` wrapped as a PufferEnv (``pufferlib.make('gym-<id>')``).

    Args:
        env_id: a registered Gymnasium id, e.g. ``'CartPole-v1'``.
        num_envs: 1 returns one :class:`GymnasiumPufferEnv`; more (or a ``backend``)
            returns ``pufferlib.vector.make(creator, num_envs=..., backend=backend or 'Serial', ...)``.
        backend: vectorization backend.
        env_kwargs: keyword arguments of ``gymnasium.make``.
        **kwargs: ``seed`` / ``buf``, vector options (:data:`VECTOR_OPTIONS`); any other
            keyword goes to ``gymnasium.make``.

    Raises:
        APIUsageError: unknown id (the message lists close matches), bad arguments.
        EnvironmentSetupError: an optional dependency of the env is missing.
    """
    if not isinstance(env_id, str):
        raise APIUsageError(f"env_id must be a str, got {type(env_id).__name__}")
    num_envs = check_int("num_envs", num_envs, 1)
    try:
        gymnasium.spec(env_id)
    except gymnasium.error.Error as e:
        raise APIUsageError(
            f"unknown Gymnasium env id {env_id!r}: {e}. Registered ids are in gymnasium.envs.registry") from e
    env_kw, vec_kw = _split_kwargs(kwargs, env_kwargs)
    creator = _Creator(GymnasiumPufferEnv, _make_gymnasium_env, (env_id,), env_kw)
    if num_envs == 1 and backend is None:
        return _single(creator, vec_kw, f"make('gym-{env_id}')")
    return _vectorize(creator, num_envs, backend, vec_kw)


def find_pettingzoo_module(name):
    """Import the PettingZoo module for ``name`` (``'pistonball'`` or ``'pistonball_v6'``).

    Searches :data:`PETTINGZOO_FAMILIES` for a module ``<name>_v<N>`` (highest N).

    Returns:
        The imported module.

    Raises:
        APIUsageError: no family has such a module (the message lists the families
            searched and those that could not be imported).
        EnvironmentSetupError: the module exists but an optional dependency is
            missing (the message gives the pip command).
    """
    if not isinstance(name, str) or not name:
        raise APIUsageError(f"PettingZoo env name must be a non-empty str, got {name!r}")
    exact = re.fullmatch(r"(.+)_v(\d+)", name)
    pattern = re.compile(rf"{re.escape(name)}" if exact else rf"{re.escape(name)}_v(\d+)")
    searched, unavailable = [], {}
    for family in PETTINGZOO_FAMILIES:
        try:
            pkg = importlib.import_module(f"pettingzoo.{family}")
        except ImportError as e:
            unavailable[family] = str(e)
            continue
        searched.append(family)
        found = []
        for info in pkgutil.iter_modules(pkg.__path__):
            m = pattern.fullmatch(info.name)
            if m:
                found.append((int(m.group(1)) if not exact else 0, info.name))
        if not found:
            continue
        module_name = f"pettingzoo.{family}.{max(found)[1]}"
        try:
            return importlib.import_module(module_name)
        except (ImportError, gymnasium.error.DependencyNotInstalled) as e:
            missing = getattr(e, "name", None) or str(e)
            raise EnvironmentSetupError(
                f"PettingZoo env {name!r} ({module_name}) needs an optional dependency that is not "
                f"installed ({missing}). Install it with: pip install 'pettingzoo[{family}]'") from e
    msg = f"unknown PettingZoo env {name!r}: no module '{name if exact else name + '_v<N>'}' in pettingzoo families {searched}"
    if unavailable:
        msg += f"; families that could not be imported: {unavailable}"
    raise APIUsageError(msg)


def _pettingzoo_parallel_factory(module_name, **kwargs):
    module = importlib.import_module(module_name)
    if hasattr(module, "parallel_env"):
        try:
            return module.parallel_env(**kwargs)
        except TypeError as e:
            raise APIUsageError(f"{module_name}.parallel_env(**{kwargs}) rejected the arguments: {e}") from e
    from pettingzoo.utils.conversions import aec_to_parallel
    try:
        return aec_to_parallel(module.env(**kwargs))
    except AssertionError as e:
        raise APIUsageError(
            f"{module_name} is a turn-based (AEC) env that cannot be converted to a ParallelEnv: {e}") from e


def make_pettingzoo(name, num_envs=1, backend=None, env_kwargs=None, **kwargs):
    """Build PettingZoo env ``name`` wrapped as a PufferEnv (``pufferlib.make('pettingzoo-<name>')``).

    Args:
        name: the env name without version (``'pistonball'``, highest version
            used) or with it (``'pistonball_v6'``).
        num_envs, backend: as in :func:`make_gymnasium`.
        env_kwargs: keyword arguments of the module's ``parallel_env``.
        **kwargs: ``seed`` / ``buf``, vector options; any other keyword goes to
            ``parallel_env``.

    Returns:
        :class:`PettingZooPufferEnv`, or a vectorized env.

    Raises:
        APIUsageError: unknown name (listing the families searched), bad arguments.
        EnvironmentSetupError: optional dependencies missing (pygame, pymunk, ...),
            with the pip command to fix it.
    """
    num_envs = check_int("num_envs", num_envs, 1)
    module = find_pettingzoo_module(name)
    env_kw, vec_kw = _split_kwargs(kwargs, env_kwargs)
    factory = functools.partial(_pettingzoo_parallel_factory, module.__name__)
    creator = _Creator(PettingZooPufferEnv, factory, (), env_kw)
    if num_envs == 1 and backend is None:
        return _single(creator, vec_kw, f"make('pettingzoo-{name}')")
    return _vectorize(creator, num_envs, backend, vec_kw)


__all__ = [
    "GymnasiumPufferEnv", "PettingZooPufferEnv", "emulate", "make_gymnasium", "make_pettingzoo",
    "emulate_observation_space", "emulate_action_space", "nativize", "flatten_sample",
    "dtype_from_space", "flatten_space", "find_pettingzoo_module", "make_object",
]
