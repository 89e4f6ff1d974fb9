"""Space <-> structured dtype algebra: flat rows that carry nested Gymnasium samples.

See the :mod:`pufferlib.emulation` docstring for how each space maps onto a NumPy
structured dtype and onto the flat ``Box`` / ``MultiDiscrete`` a PufferEnv exposes.
"""
from __future__ import annotations

import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.spaces import Box, Dict, Discrete, MultiBinary, MultiDiscrete, Tuple

#: Leaf spaces the emulation layer understands.
LEAF_SPACES = (Box, Discrete, MultiDiscrete, MultiBinary)


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
            ``Sequence``), an empty ``Dict`` / ``Tuple``, an empty ``Dict`` key, or
            two ``Dict`` keys with the same string form.
    """
    if isinstance(space, Dict):
        if len(space.spaces) == 0:
            raise APIUsageError("emulation cannot represent an empty Dict space; give it at least one entry")
        names = [_field_name(k) for k in space.spaces]
        if "" in names:
            raise APIUsageError(f"Dict space keys {list(space.spaces)} include an empty key, which a structured "
                                f"dtype cannot name (NumPy would rename it 'f0'); rename that key")
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


def flatten_sample(sample, space, dtype=None, out=None, exact=False):
    """Write a (nested) sample of ``space`` into a flat row: the inverse of :func:`nativize`.

    Args:
        sample: a sample of ``space`` (dicts / tuples of arrays and ints).
        space: its space.
        dtype: the structured dtype (default: ``emulate_observation_space(space)[1]``).
        out: the flat row to write into (``k`` elements whose bytes equal
            ``dtype.itemsize``); default a new row of the emulated observation
            Box's dtype and shape.

        exact: True (actions): a value must be stored unchanged: no float into an integer
            leaf (1.7 would become 1), no integer outside the leaf's dtype.

    Returns:
        ``out``.

    Raises:
        APIUsageError: the sample does not have the structure of ``space``, or (``exact``)
            a value would be changed by storing it.
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
    _write_leaves([(path, _resolve(root, fields)) for path, fields, _ in _leaves(space)], sample, space,
                  exact=exact)
    return out


def _write_leaves(writers, sample, space, exact=False):
    what = "action" if exact else "observation"
    try:
        for path, view in writers:
            value = _get(sample, path)
            if exact and view.dtype.kind in "iu":
                v = np.asarray(value)
                name = "/".join(map(str, path))
                if v.dtype.kind not in "iubO":
                    raise APIUsageError(f"{what} {name} must be integers for {space}, got {value!r}")
                info = np.iinfo(view.dtype)
                if v.size and (v.dtype == object or v.min() < info.min or v.max() > info.max):
                    raise APIUsageError(f"{what} {name} = {value!r} is outside {space}")
            view[...] = value
    except APIUsageError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, OverflowError) as e:
        raise APIUsageError(
            f"{what} does not match the {what} space {space}: {type(e).__name__}: {e}") from e
