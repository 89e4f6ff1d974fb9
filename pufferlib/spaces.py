"""Space helpers: joint (batched) spaces and shorthand constructors.

All spaces are ``gymnasium.spaces`` objects, so they interoperate with any
Gymnasium / PettingZoo tooling.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from gymnasium import spaces as _gs
from gymnasium.spaces import Box, Dict, Discrete, MultiBinary, MultiDiscrete, Space, Tuple  # noqa: F401

from pufferlib.checks import check_int
from pufferlib.exceptions import APIUsageError

NATIVE_OBSERVATION_SPACES = (Box,)
NATIVE_ACTION_SPACES = (Discrete, MultiDiscrete, Box)


def joint_space(space: Space, n: int) -> Space:
    """The space of ``n`` stacked copies of a per-agent ``space``.

    Args:
        space: a per-agent ``Discrete``, ``MultiDiscrete`` or ``Box``.
        n: number of agents (>= 1).

    Returns:
        ``Discrete(k)`` -> ``MultiDiscrete([k] * n)`` (dtype int64, gymnasium's default);
        ``MultiDiscrete(nvec)`` -> ``MultiDiscrete`` of shape ``(n, *nvec.shape)``;
        ``Box`` of shape ``S`` -> ``Box`` of shape ``(n, *S)`` with the same dtype and bounds.

    Raises:
        APIUsageError: ``n`` < 1 or an unsupported space type.
    """
    if int(n) != n or n < 1:
        raise APIUsageError(f"joint_space needs n >= 1 agents, got {n!r}")
    n = int(n)
    if isinstance(space, Discrete):
        return MultiDiscrete(np.full(n, space.n, dtype=np.int64), start=np.full(n, space.start, dtype=np.int64))
    if isinstance(space, MultiDiscrete):
        return MultiDiscrete(np.broadcast_to(space.nvec, (n, *space.nvec.shape)).copy(),
                             start=np.broadcast_to(space.start, (n, *space.nvec.shape)).copy())
    if isinstance(space, Box):
        low = np.broadcast_to(space.low, (n, *space.shape))
        high = np.broadcast_to(space.high, (n, *space.shape))
        return Box(low=low, high=high, shape=(n, *space.shape), dtype=space.dtype)
    raise APIUsageError(
        f"joint_space supports Discrete, MultiDiscrete and Box, got {type(space).__name__}")


def make_discrete(n: int) -> Discrete:
    """``Discrete(n)``: one choice among ``n`` values ``0..n-1``. Raises APIUsageError if ``n`` < 1."""
    if int(n) != n or n < 1:
        raise APIUsageError(f"make_discrete needs n >= 1, got {n!r}")
    return Discrete(int(n))


def make_multi_discrete(nvec: Sequence[int]) -> MultiDiscrete:
    """``MultiDiscrete(nvec)``: independent choices, entry ``i`` in ``0..nvec[i]-1``.

    Raises APIUsageError if ``nvec`` is empty or has an entry < 1.
    """
    nvec = np.asarray(nvec)
    if nvec.size == 0 or not np.issubdtype(nvec.dtype, np.integer) or (nvec < 1).any():
        raise APIUsageError(f"make_multi_discrete needs a non-empty list of integers >= 1, got {nvec.tolist()!r}")
    return MultiDiscrete(nvec.astype(np.int64))


def make_space(spec, low: float = -np.inf, high: float = np.inf, dtype=np.float32) -> Space:
    """Build a space from a compact description.

    Args:
        spec: a shape tuple such as ``(84, 84, 3)`` -> ``Box(low, high, shape, dtype)``;
            a dict ``{name: spec}`` -> ``Dict`` of the recursively built spaces;
            a list/tuple of specs that are not all ints -> ``Tuple``;
            an existing ``gymnasium.spaces.Space`` is returned unchanged.
        low, high, dtype: bounds and dtype used for every Box built from a shape.

    Raises:
        APIUsageError: the description is not one of the above.

    Example:
        >>> make_space({'image': (84, 84, 3), 'vector': (10,)})['vector'].shape
        (10,)
    """
    if isinstance(spec, Space):
        return spec
    if isinstance(spec, Mapping):
        if not spec:
            raise APIUsageError("make_space needs a non-empty dict")
        return Dict({str(k): make_space(v, low, high, dtype) for k, v in spec.items()})
    if isinstance(spec, (tuple, list)):
        if all(isinstance(s, (int, np.integer)) for s in spec):
            if any(s < 0 for s in spec):
                raise APIUsageError(f"make_space shape entries must be >= 0, got {tuple(spec)}")
            return Box(low=low, high=high, shape=tuple(int(s) for s in spec), dtype=dtype)
        return Tuple(tuple(make_space(s, low, high, dtype) for s in spec))
    if isinstance(spec, (int, np.integer)):
        return Box(low=low, high=high, shape=(int(spec),), dtype=dtype)
    raise APIUsageError(
        f"make_space takes a shape tuple, a dict, a list of specs or a Space; got {type(spec).__name__}")


_INT32 = np.iinfo(np.int32)


def _discrete_bounds(space):
    """Inclusive ``(low, high)`` of a Discrete (Python ints) / MultiDiscrete (int64 arrays)
    space, checked to fit int32."""
    if isinstance(space, Discrete):
        # Python ints: this runs on every checked batch, and NumPy scalar arithmetic and
        # reductions cost microseconds here.
        low = int(space.start)
        high = low + int(space.n) - 1
        if low < _INT32.min or high > _INT32.max:
            raise APIUsageError(
                f"action space {space} has values outside int32, the dtype of discrete action buffers")
        return low, high
    else:
        low = np.asarray(space.start, dtype=np.int64)
        high = low + np.asarray(space.nvec, dtype=np.int64) - 1
    if np.min(low) < _INT32.min or np.max(high) > _INT32.max:
        raise APIUsageError(
            f"action space {space} has values outside int32, the dtype of discrete action buffers")
    return np.asarray(low), np.asarray(high)


def sample_actions(space: Space, num_agents: int, rng: np.random.Generator, steps: int = None) -> np.ndarray:
    """Random valid actions for ``num_agents`` agents sharing a per-agent action ``space``.

    Args:
        space: the per-agent (``single_``) action space: ``Discrete``, ``MultiDiscrete`` or ``Box``.
        num_agents: number of agents (int >= 1).
        rng: a ``numpy.random.Generator``; the only source of randomness.
        steps: if not None (int >= 1), sample that many batches at once.

    Returns:
        A new C-contiguous array of shape ``(num_agents, *space.shape)``, or
        ``(steps, num_agents, *space.shape)`` when ``steps`` is given:

        - ``Discrete(n, start)``: int32, uniform over ``start .. start+n-1``
          (``space.shape`` is ``()``, so the shape is ``(num_agents,)``);
        - ``MultiDiscrete(nvec, start)``: int32, entry ``i`` uniform over
          ``start[i] .. start[i]+nvec[i]-1``;
        - ``Box``: the Box's dtype. Entries with two finite bounds are uniform in
          ``[low, high]`` (integer and bool Boxes: uniform over the integers in it).
          Unbounded entries are standard normal; entries bounded on one side only are
          the finite bound plus (or minus) the absolute value of a standard normal.
          Every value lies within ``[low, high]``.

    Raises:
        APIUsageError: ``num_agents`` or ``steps`` is not a positive int, ``rng`` is not a
            ``numpy.random.Generator``, the space is of another type, or a discrete
            space has values that do not fit int32 (the action buffer dtype).
    """
    num_agents = check_int("num_agents", num_agents, 1)
    lead = (num_agents,) if steps is None else (check_int("steps", steps, 1), num_agents)
    if not isinstance(rng, np.random.Generator):
        raise APIUsageError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not isinstance(space, (Discrete, MultiDiscrete, Box)):
        raise APIUsageError(
            f"sample_actions supports Discrete, MultiDiscrete and Box action spaces, got {type(space).__name__}")
    shape = (*lead, *space.shape)
    if isinstance(space, (Discrete, MultiDiscrete)):
        low, high = _discrete_bounds(space)
        out = rng.integers(low, high, size=shape, dtype=np.int64, endpoint=True).astype(np.int32)
        return np.ascontiguousarray(out)
    dtype = np.dtype(space.dtype)
    low = np.broadcast_to(space.low, space.shape)
    high = np.broadcast_to(space.high, space.shape)
    if dtype.kind in "iub":
        out = rng.integers(low, high, size=shape, dtype=dtype, endpoint=True)
        return np.ascontiguousarray(out)
    low, high = low.astype(np.float64), high.astype(np.float64)
    lo_ok, hi_ok = np.isfinite(low), np.isfinite(high)
    u = rng.random(shape)
    z = rng.standard_normal(shape)
    with np.errstate(invalid="ignore", over="ignore"):
        bounded = low * (1.0 - u) + high * u  # a convex combination: no overflow for huge ranges
        out = np.where(lo_ok & hi_ok, bounded,
                       np.where(lo_ok, low + np.abs(z), np.where(hi_ok, high - np.abs(z), z)))
    out = np.clip(out, low, high).astype(dtype)
    return np.ascontiguousarray(np.clip(out, space.low, space.high))


def _fmt(arr) -> str:
    """Short text of an array (summarized when large) for error messages."""
    arr = np.asarray(arr)
    if arr.size > 8 and np.all(arr == arr.flat[0]):
        return f"{arr.flat[0].item()!r} (all {arr.size} entries)"
    return np.array2string(arr, threshold=8, edgeitems=3, separator=", ")


def _action_rule(space):
    """``(dtype kinds, kind description, low, high)`` of valid actions for one agent."""
    if isinstance(space, (Discrete, MultiDiscrete)):
        low, high = _discrete_bounds(space)
        return "iu", "an integer", low, high
    if isinstance(space, Box):
        dtype = np.dtype(space.dtype)
        if dtype.kind == "f":
            # finite values the buffer dtype can hold: NaN and +-inf always fail the comparison
            big = np.finfo(dtype).max
            return "f", "a floating", np.maximum(space.low, -big), np.minimum(space.high, big)
        if dtype.kind == "b":
            return "b", "a bool", space.low, space.high
        return "iu", "an integer", space.low, space.high
    raise APIUsageError(
        f"actions are checked against a Discrete, MultiDiscrete or Box action space, got {type(space).__name__}")


def _allowed(space, low, high) -> str:
    if isinstance(space, Discrete):
        return f"integers in [{int(low)}, {int(high)}]"
    if isinstance(space, MultiDiscrete):
        return f"integers with {_fmt(low)} <= action <= {_fmt(high)} elementwise"
    kind = {"f": "finite real numbers", "b": "bools"}.get(np.dtype(space.dtype).kind, "integers")
    return f"{kind} within the Box bounds low={_fmt(space.low)}, high={_fmt(space.high)}"


def check_actions(space: Space, actions, num_agents: int, live=None, *, allow_unbatched: bool = False) -> np.ndarray:
    """Validate a batch of actions for ``num_agents`` agents sharing a per-agent action ``space``.

    Nothing is cast or clipped: an invalid batch raises, a valid one is returned as it is.

    Args:
        space: the per-agent (``single_``) action space: ``Discrete``, ``MultiDiscrete`` or ``Box``.
        actions: array-like of shape ``(num_agents, *space.shape)`` (``(num_agents,)`` for
            ``Discrete``). Its dtype must be an integer dtype for ``Discrete`` /
            ``MultiDiscrete`` and integer Boxes (floats are never cast to integers), a
            floating dtype for floating Boxes, bool for bool Boxes.
        num_agents: the number of agents (int >= 1).
        live: None to check every agent, or a bool array ``(num_agents,)``: only the rows
            where it is True are range-checked (rows of absent agents may hold anything
            of the right dtype). Shape and dtype are always checked.
        allow_unbatched: with ``num_agents == 1``, also accept an array of the per-agent
            shape ``space.shape`` (e.g. a plain int for ``Discrete``).

    Returns:
        The validated actions as an ndarray of shape ``(num_agents, *space.shape)``: the
        ``actions`` object itself when it is such an ndarray, otherwise ``np.asarray``
        of it (reshaped for an unbatched action; the data of a masked array without
        masked entries). Its dtype is the caller's.

    Raises:
        APIUsageError: wrong shape, wrong dtype kind, or a value out of range: outside
            ``start .. start + n - 1`` for ``Discrete`` / ``MultiDiscrete`` (elementwise),
            outside ``[low, high]`` or not finite for a floating ``Box`` (compared as stored
            in the Box's dtype, as the native envs do: a float64 ``0.7`` meets a float32
            bound of ``0.7``, a float64 too large for float32 is out of range). The message
            names the first bad agent and value and says what is allowed. Also for
            ``actions`` that cannot be read as an array (e.g. a ragged nested list), a
            masked array with masked entries, an unsupported space type, a bad
            ``num_agents`` or a ``live`` of the wrong shape.
    """
    num_agents = check_int("num_agents", num_agents, 1)
    shape = (num_agents, *space.shape)
    if isinstance(actions, np.ma.MaskedArray):
        if np.ma.count_masked(actions):
            raise APIUsageError(
                f"actions are a masked array with {np.ma.count_masked(actions)} masked entries; a masked "
                f"action has no value: pass a plain array of shape {shape} (e.g. actions.filled(...))")
        actions = np.ma.getdata(actions)
    if isinstance(actions, np.ndarray):
        a = actions
    else:
        try:
            a = np.asarray(actions)
        except (ValueError, TypeError) as e:  # e.g. a ragged nested list
            raise APIUsageError(
                f"actions cannot be read as an array ({e}); pass an array of shape {shape} for per-agent "
                f"action space {space}") from None
    if a.shape != shape:
        if allow_unbatched and num_agents == 1 and a.shape == space.shape:
            a = a.reshape(shape)
        else:
            raise APIUsageError(
                f"actions have shape {a.shape}; expected shape {shape} ({num_agents} agents x per-agent "
                f"action shape {space.shape}) for per-agent action space {space}")
    kinds, kind_text, low, high = _action_rule(space)
    if a.dtype.kind not in kinds:
        raise APIUsageError(
            f"actions have dtype {a.dtype}; expected {kind_text} dtype for per-agent action space {space}; "
            f"allowed: {_allowed(space, low, high)}. Actions are never cast")
    if live is None:
        checked = a
    else:
        live = np.asarray(live, dtype=bool)
        if live.shape != (num_agents,):
            raise APIUsageError(f"live must be a bool array of shape ({num_agents},), got shape {live.shape}")
        checked = a[live]
    if isinstance(space, Discrete):  # scalar bounds: two reductions instead of elementwise masks
        if not checked.size or (checked.min() >= low and checked.max() <= high):
            return a
    compared = checked
    if kinds == "f" and checked.dtype != space.dtype:
        # compared as stored in the action buffer (the Box's dtype), as the native envs do: a
        # float64 0.7 meets a float32 bound of 0.7; values too large for that dtype become
        # infinite there and fail
        with np.errstate(over="ignore", invalid="ignore"):
            compared = checked.astype(space.dtype)
    with np.errstate(invalid="ignore"):
        ok = (compared >= low) & (compared <= high)
    if ok.all():
        return a
    bad = np.argwhere(~ok)[0]
    agent = int(bad[0]) if live is None else int(np.flatnonzero(live)[bad[0]])
    value = checked[tuple(bad)].item()
    where = f" at index {tuple(int(i) for i in bad[1:])}" if len(bad) > 1 else ""
    raise APIUsageError(
        f"actions out of range: action {value!r} of agent {agent}{where} is outside per-agent action space "
        f"{space}; allowed: {_allowed(space, low, high)}. Actions are never clipped")


__all__ = [
    "Box", "Dict", "Discrete", "MultiBinary", "MultiDiscrete", "Space", "Tuple",
    "joint_space", "make_discrete", "make_multi_discrete", "make_space", "sample_actions",
    "check_actions",
    "NATIVE_OBSERVATION_SPACES", "NATIVE_ACTION_SPACES",
]
_ = _gs
