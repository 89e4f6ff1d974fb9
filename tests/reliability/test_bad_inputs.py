"""Fuzzed bad inputs for every backend and every registered Ocean env.

Targets: every registered Ocean env (``pufferlib.ocean.ENVS``, its ``test_config()``) plus the
continuous variants of CartPole / Pong / Breakout and two toy envs (Box actions; MultiDiscrete
with ``start`` offsets) as native envs; every Ocean env through Serial; a set covering every
action space kind through Multiprocessing (2 workers); two through Ray (when installed, few
examples); an emulated Gymnasium env (CartPole, Discrete; Pendulum, Box) and a PettingZoo env
(three agents, Dict observations) alone and vectorized.

For each target, hypothesis draws a seed, a few good steps, then one bad input: an action
batch of the wrong shape, of a wrong dtype kind (floats holding integral values included),
with out-of-range integers, with int64 / uint64 values that would wrap in the int32 buffer,
with NaN / inf / out-of-bounds floats for Box actions, read-only / strided / big-endian
variants of these, or something that is not an array at all; a bad seed (negative, too
large, float, bool, str, ...); a bad env id for ``state()``. The property:

1. ``pufferlib.APIUsageError`` is raised and its message names the problem;
2. nothing changed: observation, reward, terminal, truncation and mask buffers and the
   whole world (``state(i, copy=True)`` of every env id; for emulated envs every attribute of
   the wrapped env and its wrappers, RNG state included) are byte-identical before and after;
3. the env is still usable: the following good steps give exactly what a twin env that
   never saw the bad input gives (for Multiprocessing and Ray the twin is Serial).

Calls in the wrong order (step before reset, recv before send, send twice, calls after
close) are checked the same way, without hypothesis. Native and vectorized envs must agree on
what they accept (``test_*_agree``); a disagreement still open is an ``xfail(strict=True)``
naming the bug.
"""
from __future__ import annotations

import functools
import numbers
import re
from decimal import Decimal
from fractions import Fraction

import gymnasium
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pufferlib.vector as vector
from pufferlib import APIUsageError
from pufferlib.emulation import GymnasiumPufferEnv, PettingZooPufferEnv
from pufferlib.ocean import ENVS, env_creator
from pufferlib.spaces import Box, Discrete, MultiDiscrete, check_actions, sample_actions

from _emulation_helpers import ThreeAgentEnv  # tests/ is on sys.path under pytest
from _toy_envs import BoxDrift, MultiCounter

EXAMPLES = 20       # hypothesis examples per target and property
RAY_EXAMPLES = 4    # Ray round trips are slow
SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------------------------------------
# targets
# ------------------------------------------------------------------------------------------------
def ocean_config(name):
    """``(env class, small config)`` of an Ocean env name, or of a variant ``name-continuous``."""
    base, _, variant = name.partition("-")
    cls = env_creator(base)
    cfg = dict(cls.test_config())
    if variant == "continuous":
        cfg["continuous"] = True
    return cls, cfg


TOYS = {"toy-boxdrift": BoxDrift, "toy-multicounter": MultiCounter}
OCEAN = sorted(ENVS) + ["cartpole-continuous", "pong-continuous", "breakout-continuous"]
GYM = {"gym-cartpole": "CartPole-v1", "gym-pendulum": "Pendulum-v1"}


def cls_config(name):
    if name in TOYS:
        return TOYS[name], dict(TOYS[name].test_config())
    return ocean_config(name)


def gym_creator(env_id):
    return functools.partial(GymnasiumPufferEnv, env_creator=gymnasium.make, env_args=[env_id])


#: agent "b" dies after 2 steps; "a" and "c" live for a million steps
PZ_CREATOR = functools.partial(PettingZooPufferEnv, env_creator=ThreeAgentEnv, env_kwargs={"horizon": 10**6})


def creator_of(name):
    """``(creator, env_kwargs)`` for vector.make."""
    if name in GYM:
        return gym_creator(GYM[name]), {}
    if name == "pettingzoo":
        return PZ_CREATOR, {}
    return cls_config(name)


def vec(name, backend, **extra):
    creator, kwargs = creator_of(name)
    options = {"Multiprocessing": {"num_workers": 2, "start_method": "fork"}, "Ray": {"num_workers": 2}}
    if backend == "Ray":
        import ray
        if not ray.is_initialized():
            options["Ray"]["ray_init_kwargs"] = {"num_cpus": 2, "include_dashboard": False}
    return vector.make(creator, env_kwargs=kwargs, backend=backend, num_envs=2,
                       **options.get(backend, {}), **extra)


def native(name):
    if name in GYM:
        return gym_creator(GYM[name])()
    if name == "pettingzoo":
        return PZ_CREATOR()
    cls, cfg = cls_config(name)
    return cls(**cfg)


MP_SET = ["squared", "target", "continuous", "multiagent", "nmmo3", "pong-continuous", "gym-cartpole", "pettingzoo"]
RAY_SET = ["squared"]

#: target id -> (kind, builder of the env, builder of its twin)
TARGETS = {}
for _name in OCEAN + sorted(TOYS):
    TARGETS[f"native-{_name}"] = ("native", functools.partial(native, _name), functools.partial(native, _name))
for _name in sorted(GYM) + ["pettingzoo"]:
    TARGETS[_name] = ("wrapper", functools.partial(native, _name), functools.partial(native, _name))
for _name in OCEAN + sorted(GYM) + ["pettingzoo"]:
    TARGETS[f"Serial-{_name}"] = ("Serial", functools.partial(vec, _name, "Serial"),
                                  functools.partial(vec, _name, "Serial"))
for _name in MP_SET:
    TARGETS[f"Multiprocessing-{_name}"] = ("Multiprocessing", functools.partial(vec, _name, "Multiprocessing"),
                                           functools.partial(vec, _name, "Serial"))
for _name in RAY_SET:
    TARGETS[f"Ray-{_name}"] = ("Ray", functools.partial(vec, _name, "Ray"), functools.partial(vec, _name, "Serial"))


class Target:
    """A built env and its twin, with what the strategies need to know about them."""

    def __init__(self, tid):
        self.id = tid
        self.kind, build, build_ref = TARGETS[tid]
        self.build, self.build_ref = build, build_ref
        self.env = build()
        self.ref = build_ref()
        env = self.env
        self.space = env.single_action_space
        self.rows = env.actions.shape[0]
        self.shape = env.actions.shape
        self.dtype = env.actions.dtype
        self.vector = self.kind in ("Serial", "Multiprocessing", "Ray")
        self.emulated = bool(env.emulated)
        self.ocean = self.kind == "native"   # native Ocean (or toy OceanEnv)
        self.discrete = isinstance(self.space, (Discrete, MultiDiscrete))
        self.num_ids = sum(env.instance_num_envs) if self.vector else env.num_envs
        # seeds: native Ocean envs take [0, 2**62]; vector envs [0, 2**62 - their env count];
        # emulated envs alone any int >= 0 (Gymnasium's rule)
        self.seed_max = None if self.kind == "wrapper" else 2**62 - self.num_ids if self.vector else 2**62
        self.accepted_shapes = {self.shape}
        if self.kind == "wrapper" and self.rows == 1:
            self.accepted_shapes.add(self.space.shape)      # one agent: an unbatched action too
        # rows where an out-of-range action must be refused: a lone PettingZoo wrapper ignores
        # (does not check) the rows of dead agents, and agent "b" dies after 2 steps
        self.checked_rows = [0, 2] if tid == "pettingzoo" else list(range(self.rows))
        if self.discrete:
            if isinstance(self.space, Discrete):
                self.low = np.array(self.space.start, np.int64)
                self.high = self.low + self.space.n - 1
            else:
                self.low = np.asarray(self.space.start, np.int64)
                self.high = self.low + np.asarray(self.space.nvec, np.int64) - 1
        else:
            self.low = np.broadcast_to(self.space.low, self.space.shape).astype(np.float64)
            self.high = np.broadcast_to(self.space.high, self.space.shape).astype(np.float64)
        self.examples = RAY_EXAMPLES if self.kind == "Ray" else EXAMPLES

    def good(self, rng):
        return sample_actions(self.space, self.rows, rng)

    def close(self):
        for env in (self.env, self.ref):
            env.close()


@pytest.fixture(scope="module", params=sorted(TARGETS))
def target(request):
    """One target at a time (module scope: pytest runs every test of a target together)."""
    kind = TARGETS[request.param][0]
    if kind == "Ray":
        pytest.importorskip("ray")
    t = Target(request.param)
    yield t
    t.close()
    if kind == "Ray" and request.param == f"Ray-{RAY_SET[-1]}":
        import ray
        ray.shutdown()


def fuzz(t, body):
    """Run ``body(t, data)`` under hypothesis with this target's example count."""
    @settings(max_examples=t.examples, database=None, **SETTINGS)  # one inner function for every target
    @given(data=st.data())
    def run(data):
        body(t, data)
    run()


# ------------------------------------------------------------------------------------------------
# stepping two envs side by side, and comparing everything
# ------------------------------------------------------------------------------------------------
def _same(a, b) -> bool:
    """Deep equality of infos (dicts, lists, arrays, floats; NaN equals NaN)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, (np.ndarray, np.generic, float)):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind in "fc")
    return a == b


def _outputs(env, infos):
    return [env.observations.tobytes(), env.rewards.tobytes(), env.terminals.tobytes(),
            env.truncations.tobytes(), infos]


def advance(t, env, actions):
    """Step ``env`` (a lone emulated env whose episode ended is reset instead, as a vectorizer
    would). Returns copies of the four buffers and the infos."""
    if t.kind == "wrapper" and env.done:
        _, infos = env.reset()
    else:
        *_, infos = env.step(actions)
    return _outputs(env, infos)


def assert_twins(t, what, mine, theirs):
    names = ["observations", "rewards", "terminals", "truncations", "infos"]
    for name, x, y in zip(names, mine, theirs):
        assert _same(x, y), f"{t.id}: {name} differ from the twin's {what}"


def reset_both(t, seed):
    mine = t.env.reset(seed)[1]
    theirs = t.ref.reset(seed)[1]
    assert_twins(t, f"reset({seed})", _outputs(t.env, mine), _outputs(t.ref, theirs))


def step_both(t, rng, steps, what="step"):
    for k in range(steps):
        actions = t.good(rng)
        assert_twins(t, f"{what} {k + 1}", advance(t, t.env, actions), advance(t, t.ref, actions))


def start(t, data):
    """Reset both envs with a drawn seed and take a drawn number of good steps; return the rng
    of the good actions."""
    seed = data.draw(st.integers(0, 10**6), label="seed")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="action seed"))
    reset_both(t, seed)
    step_both(t, rng, data.draw(st.integers(0, 3), label="good steps before"))
    return rng


_SKIP = object()


def _plain(v):
    """``v`` as comparable plain data (arrays as bytes, generators as their state), or _SKIP for
    objects that are not state (spaces, which cache their repr lazily; functions; ...)."""
    if isinstance(v, np.ndarray):
        return ("array", v.dtype.descr, v.shape, _bytes(v))
    if isinstance(v, np.random.Generator):
        return ("generator", repr(v.bit_generator.state))
    if isinstance(v, np.random.RandomState):
        return ("randomstate", repr(v.get_state()))
    if v is None or isinstance(v, (bool, numbers.Number, str, bytes, np.generic)):
        return v
    if isinstance(v, (list, tuple)):
        return tuple(_plain(x) for x in v)
    if isinstance(v, dict):
        return tuple((k, _plain(x)) for k, x in v.items())
    return _SKIP


#: wrapper attributes that are not state: the buffers (compared apart), the action scratch
#: buffer, and the live-agent mask the PettingZoo wrapper recomputes at the start of each step
_NOT_STATE = {"observations", "rewards", "terminals", "truncations", "masks", "actions", "_live"}


def _object_state(obj, skip=()) -> dict:
    return {k: p for k, v in vars(obj).items() if k not in skip and (p := _plain(v)) is not _SKIP}


def wrapped_state(w) -> dict:
    """The state of an emulation wrapper: its bookkeeping (done flags, returns), and every layer of
    the wrapped env (Gymnasium wrappers such as TimeLimit, then the env: physics, RNG, agents)."""
    out = {"wrapper": _object_state(w, _NOT_STATE)}
    layer, depth = w.env, 0
    while layer is not None and depth < 16:
        out[f"layer {depth} ({type(layer).__name__})"] = _object_state(layer)
        layer, depth = getattr(layer, "env", None), depth + 1
    return out


def _bytes(arr):
    """The values of ``arr`` as bytes, field by field for structured dtypes (the padding bytes of
    an aligned record are not copied by ``copy=True`` and hold garbage)."""
    if arr.dtype.names:
        return tuple(_bytes(arr[name]) for name in arr.dtype.names)
    return np.ascontiguousarray(arr).tobytes()


def snapshot(t, env) -> dict:
    """Everything the env holds, as bytes: step buffers (not the action scratch buffer),
    ``state(i, copy=True)`` of every env id, the tick of native envs, and for emulated envs in
    this process the wrapper's bookkeeping and every attribute of the wrapped env."""
    snap = {}
    for name in ("observations", "rewards", "terminals", "truncations", "masks"):
        arr = getattr(env, name)
        snap[name] = (arr.dtype.str, arr.shape, arr.tobytes())
    for i in range(t.num_ids):
        for name, arr in env.state(i, copy=True).items():
            snap[f"state({i})[{name!r}]"] = (arr.dtype.descr, arr.shape, _bytes(arr))
    if t.ocean:
        snap["tick"] = env.tick
    wrappers = [env] if t.kind == "wrapper" else (env.envs if t.kind == "Serial" and t.emulated else [])
    for k, w in enumerate(wrappers):
        for name, state in wrapped_state(w).items():
            snap[f"instance {k}: {name}"] = state
    return snap


def assert_unchanged(t, before, what):
    after = snapshot(t, t.env)
    changed = [k for k in before if before[k] != after[k]]
    assert not changed, f"{t.id}: {what} was refused but changed {changed}"


def refused(t, call, pattern, what, in_flight=False):
    """``call`` must raise APIUsageError matching ``pattern`` and change nothing. With
    ``in_flight`` (a step or reset is running in the workers, writing the buffers meanwhile) the
    buffers are not compared; the caller compares what ``recv`` then returns with the twin."""
    before = None if in_flight else snapshot(t, t.env)
    with pytest.raises(APIUsageError) as info:
        call()
    assert re.search(pattern, str(info.value), re.IGNORECASE), \
        f"{t.id}: {what}: message does not name the problem ({pattern!r}): {info.value}"
    if before is not None:
        assert_unchanged(t, before, what)
    return info.value


# ------------------------------------------------------------------------------------------------
# bad actions
# ------------------------------------------------------------------------------------------------
NAMES_THE_PROBLEM = {
    "shape": r"shape",
    "dtype": r"dtype",
    "range": r"range|outside|integers in \[|integers with",
    "overflow": r"range|outside|integers in \[|integers with|dtype|bounds",
    "box": r"range|outside|bounds|finite",
    "not an array": r"shape|dtype|array|agent",
}


def _dtypes_refused(t):
    """Dtypes every backend must refuse for this target's action space."""
    out = [np.dtype(np.complex128), np.dtype("U3"), np.dtype("S3"), np.dtype(object), np.dtype("M8[s]"),
           np.dtype("m8[s]"), np.dtype([("a", "<i4")])]
    if t.discrete:
        out += [np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64), np.dtype(">f8"), np.dtype(bool)]
    else:
        out += [np.dtype(bool), np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.uint8)]
    return out


def _cast(values, dtype):
    if dtype.kind in "MmV":
        return np.zeros(values.shape, dtype)
    if dtype.kind in "US":
        return values.astype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        return values.astype(dtype)


def _variant(data, arr):
    """The same values as a read-only, strided, Fortran-ordered or big-endian array, or as is."""
    how = data.draw(st.sampled_from(["plain", "read-only", "strided", "fortran", "big-endian"]), label="layout")
    if how == "read-only":
        arr = arr.copy()
        arr.flags.writeable = False
    elif how == "strided":
        wide = np.zeros((arr.shape[0] * 2, *arr.shape[1:]) if arr.ndim else (), arr.dtype)
        if arr.ndim:
            wide[::2] = arr
            arr = wide[::2]
    elif how == "fortran" and arr.ndim >= 2:  # (np.asfortranarray makes a 0-d array 1-d)
        arr = np.asfortranarray(arr)
    elif how == "big-endian" and arr.dtype.kind in "iuf" and arr.dtype.itemsize > 1:
        arr = arr.astype(arr.dtype.newbyteorder(">"))
    return arr


def _positions(data, t):
    """Some (row, component) positions in checked rows of the action batch."""
    per = int(np.prod(t.space.shape, dtype=np.int64))
    cells = [(r, c) for r in t.checked_rows for c in range(per)]
    return data.draw(st.lists(st.sampled_from(cells), min_size=1, max_size=3, unique=True), label="positions")


def _set(arr, t, pos, value):
    flat = arr.reshape(t.rows, -1)
    flat[pos] = value


def RAGGED(rows):
    """A nested list that is not an array (rows of different lengths)."""
    return [[0]] * (rows - 1) + [[0, 1]] if rows > 1 else [[0], [0, 1]]


def draw_bad_actions(data, t):
    """``(bad actions, category)`` for target ``t``."""
    categories = ["shape", "dtype", "not an array", "overflow"] + (["range"] if t.discrete else ["box"])
    category = data.draw(st.sampled_from(categories), label="category")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="values"))
    good = t.good(rng)
    if category == "shape":
        near = [(t.rows + 1, *t.shape[1:]), (t.rows, *t.shape[1:], 1), (1, *t.shape), t.shape[1:],
                (t.rows, *(s + 1 for s in t.shape[1:])), (0, *t.shape[1:]), ()]
        if t.rows > 1:
            near.append((t.rows - 1, *t.shape[1:]))
        shapes = st.one_of(st.sampled_from(near), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
        shape = data.draw(shapes.filter(lambda s: tuple(s) not in t.accepted_shapes), label="shape")
        value = t.low.flat[0] if t.discrete else 0
        bad = np.full(shape, value, t.dtype)
        if data.draw(st.booleans(), label="as list"):
            return bad.tolist(), category
        return _variant(data, bad), category
    if category == "dtype":
        dtype = data.draw(st.sampled_from(_dtypes_refused(t)), label="dtype")
        return _variant(data, _cast(good, dtype)), category
    if category == "not an array":
        objects = [None, "abc", b"\x00", object(), {1}, 1j, Ellipsis, ["a"] * t.rows, [None] * t.rows,
                   [object()] * t.rows, {"actions": good}, (), {}, [], set(), [[]] * t.rows, RAGGED(t.rows)]
        return data.draw(st.sampled_from(objects), label="object"), category
    if category == "range":  # integers outside the action space, in an integer dtype that holds them
        dtypes = ["i1", "i2", "i4", "i8", ">i4", ">i8"] + (["u1", "u2", "u4", "u8"] if t.low.min() >= 0 else [])
        dtype = np.dtype(data.draw(st.sampled_from(dtypes), label="int dtype"))
        info = np.iinfo(dtype)
        bad = good.astype(dtype)
        for pos in _positions(data, t):
            lo, hi = int(t.low.flat[pos[1]]), int(t.high.flat[pos[1]])
            choices = []
            if info.min < lo:
                choices.append(st.integers(info.min, lo - 1))
            if hi < info.max:
                choices.append(st.integers(hi + 1, info.max))
            _set(bad, t, pos, data.draw(st.one_of(choices), label="value"))
        return _variant(data, bad), category
    if category == "overflow":  # wrap-around candidates: 2**32 + a valid value becomes that value in int32
        kind = data.draw(st.sampled_from(["int64", "uint64", "python"]), label="overflow kind")
        if kind == "python":  # Python ints beyond int64: an object array
            bad = good.astype(np.int64).astype(object)
            for pos in _positions(data, t):
                _set(bad, t, pos, data.draw(st.integers(2**63, 2**80), label="value"))
            return bad.tolist(), category
        bad = good.astype(np.int64 if kind == "int64" else np.uint64)
        for pos in _positions(data, t):
            low = int(t.low.flat[pos[1]]) if t.discrete else 0
            wraps = [2**32 + low, 2**31, 2**32, 2**63 - 1] + ([-(2**31) - 1, -(2**63), -(2**32) + low]
                                                               if kind == "int64" else [2**63, 2**64 - 1])
            _set(bad, t, pos, data.draw(st.sampled_from(wraps), label="value"))
        return _variant(data, bad), category
    # category == "box": NaN, infinities, values outside the bounds (or beyond float32)
    dtype = np.dtype(data.draw(st.sampled_from(["f2", "f4", "f8", ">f8"]), label="float dtype"))
    bad = good.astype(np.float64)
    for pos in _positions(data, t):
        lo, hi = t.low.flat[pos[1]], t.high.flat[pos[1]]
        span = max(float(hi - lo), 1.0) if np.isfinite(hi - lo) else 1.0
        values = [np.nan, np.inf, -np.inf, 1e39, -1e39]
        if np.isfinite(hi):
            values += [hi + span, hi + 1e-3 * span]
        if np.isfinite(lo):
            values += [lo - span, lo - 1e-3 * span]
        _set(bad, t, pos, data.draw(st.sampled_from(values), label="value"))
    with np.errstate(over="ignore"):
        cast = bad.astype(dtype)
    # a value just outside may round onto the bound in float16: keep only batches still bad
    with np.errstate(invalid="ignore", over="ignore"):
        stored = cast.astype(t.dtype).reshape(t.rows, -1)[t.checked_rows]
        lo = t.low.reshape(-1).astype(t.dtype)
        hi = t.high.reshape(-1).astype(t.dtype)
        still_bad = ~((stored >= lo) & (stored <= hi))
    if not still_bad.any():
        cast = np.full(t.shape, np.nan, dtype)
    return _variant(data, cast), category


def test_bad_actions_are_refused_and_change_nothing(target):
    def body(t, data):
        rng = start(t, data)
        bad, category = draw_bad_actions(data, t)
        refused(t, lambda: t.env.step(bad), NAMES_THE_PROBLEM[category], f"step({category} actions)")
        if t.vector:  # the asynchronous entry point checks the same way
            refused(t, lambda: t.env.send(bad), NAMES_THE_PROBLEM[category], f"send({category} actions)")
        step_both(t, rng, 2, "step after the bad actions")
    fuzz(target, body)


def test_equivalent_action_layouts_are_accepted(target):
    """Good actions that are read-only, strided, Fortran-ordered, big-endian, a list, or of a wider
    dtype step exactly like a plain C-contiguous batch (and are never written to)."""
    def body(t, data):
        rng = start(t, data)
        for k in range(3):
            good = t.good(rng)
            form = data.draw(st.sampled_from(["plain", "read-only", "strided", "fortran", "big-endian", "list",
                                              "wider"]), label="form")
            given_actions = good
            if form == "list":
                given_actions = good.tolist()
            elif form == "wider":
                given_actions = good.astype(np.int64 if t.discrete else np.float64)
            elif form != "plain":
                given_actions = _variant(data, good)
                given_actions = given_actions if form != "read-only" else good.copy()
                if form == "read-only":
                    given_actions.flags.writeable = False
            keep = np.array(given_actions, copy=True)
            assert_twins(t, f"step {k + 1} with {form} actions", advance(t, t.env, given_actions),
                         advance(t, t.ref, good))
            assert np.array_equal(np.asarray(given_actions), keep), "the caller's actions were written to"
    fuzz(target, body)


# ------------------------------------------------------------------------------------------------
# bad seeds and env ids
# ------------------------------------------------------------------------------------------------
ODD_NUMBERS = [np.float32(1), np.float64(0), np.bool_(True), np.bool_(False), np.int64(-1), 1 + 0j, Decimal(1),
               Fraction(1, 1), np.array(1), np.array([1]), [0], (0,), {"seed": 0}, b"1", "0", object()]


def bad_seeds(t):
    options = [st.integers(max_value=-1), st.floats(), st.booleans(), st.text(max_size=4), st.sampled_from(ODD_NUMBERS)]
    if t.seed_max is not None:
        options.append(st.integers(min_value=t.seed_max + 1, max_value=2**70))
    return st.one_of(options)


def test_bad_seeds_are_refused_and_change_nothing(target):
    def body(t, data):
        rng = start(t, data)
        seed = data.draw(bad_seeds(t), label="bad seed")
        refused(t, lambda: t.env.reset(seed), r"seed", f"reset({seed!r})")
        if t.vector:
            refused(t, lambda: t.env.async_reset(seed), r"seed", f"async_reset({seed!r})")
        step_both(t, rng, 2, "step after the bad seed")
    fuzz(target, body)


def test_bad_env_ids_are_refused_and_change_nothing(target):
    def body(t, data):
        rng = start(t, data)
        env_id = data.draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=t.num_ids, max_value=2**70),
                                     st.floats(), st.booleans(), st.text(max_size=3), st.none(),
                                     st.sampled_from(ODD_NUMBERS)), label="bad env id")
        copy = data.draw(st.booleans(), label="copy")
        refused(t, lambda: t.env.state(env_id, copy=copy), r"env_id", f"state({env_id!r}, copy={copy})")
        step_both(t, rng, 2, "step after the bad env id")
    fuzz(target, body)


# ------------------------------------------------------------------------------------------------
# calls in the wrong order
# ------------------------------------------------------------------------------------------------
def test_calls_in_the_wrong_order(target):
    t = target
    rng = np.random.default_rng(0)
    # a fresh env: nothing may be stepped or received before a reset
    fresh = Target.__new__(Target)
    fresh.__dict__.update(t.__dict__)
    fresh.env = t.build()
    try:
        actions = t.good(rng)
        refused(fresh, lambda: fresh.env.step(actions), r"reset", "step() before reset()")
        if t.vector:
            refused(fresh, lambda: fresh.env.send(actions), r"reset", "send() before reset()")
            refused(fresh, fresh.env.recv, r"recv\(\) called without a pending async_reset", "recv() before reset()")
        reset_both(fresh, 3)
        step_both(fresh, rng, 2, "step after the refused calls")
    finally:
        fresh.env.close()
    if not t.vector:
        return
    env = t.env
    reset_both(t, 5)
    refused(t, env.recv, r"recv\(\) called without a pending send", "recv() without send()")
    actions = t.good(rng)
    env.send(actions)
    refused(t, lambda: env.send(actions), r"send\(\) called twice", "send() twice", in_flight=True)
    mine = env.recv()
    assert_twins(t, "recv after the refused send", _outputs(env, mine[4]), advance(t, t.ref, actions))
    refused(t, env.recv, r"recv\(\) called without a pending send", "recv() twice")
    env.async_reset(7)
    refused(t, lambda: env.send(actions), r"send\(\) called twice|recv", "send() during a pending async_reset()",
            in_flight=True)
    mine = env.recv()
    theirs = t.ref.reset(7)[1]
    assert_twins(t, "recv of the async_reset", _outputs(env, mine[4]), _outputs(t.ref, theirs))
    step_both(t, rng, 2, "step after the refused calls")


def test_calls_after_close(target):
    t = target
    if t.kind == "wrapper":
        pytest.skip("emulated envs pass close() to the wrapped env, whose own rules apply afterwards")
    env = t.build()
    actions = t.good(np.random.default_rng(0))
    env.reset(0)
    env.close()
    calls = {"step": lambda: env.step(actions), "reset": lambda: env.reset(0)}
    if t.vector:
        calls.update(send=lambda: env.send(actions), recv=env.recv, state=lambda: env.state(0),
                     async_reset=lambda: env.async_reset(0))
    for name, call in calls.items():
        with pytest.raises(APIUsageError, match="closed"):
            call()
    env.close()  # idempotent


def test_step_after_the_episode_ended():
    """Lone emulated envs do not auto-reset: a step after the end is refused, nothing changes."""
    t = Target("gym-cartpole")
    try:
        t.env.reset(0)
        while not t.env.done:
            t.env.step(np.array([1]))
        refused(t, lambda: t.env.step(np.array([1])), r"episode ended.*call reset", "step() after the end")
        t.env.reset(1)
        t.env.step(np.array([0]))
    finally:
        t.close()
    env = PettingZooPufferEnv(env_creator=ThreeAgentEnv, env_kwargs={"horizon": 2})
    env.reset(0)
    env.step(np.zeros(3, np.int32))
    env.step(np.zeros(3, np.int32))
    with pytest.raises(APIUsageError, match="after all agents are done: call reset"):
        env.step(np.zeros(3, np.int32))


# ------------------------------------------------------------------------------------------------
# check_actions (pufferlib.spaces) never fails in another way, whatever it is given
# ------------------------------------------------------------------------------------------------
SPACES = [Discrete(5), Discrete(3, start=-1), MultiDiscrete([3, 4], start=[0, 1]), Box(-1, 1, (2,), np.float32),
          Box(-np.inf, np.inf, (), np.float32), Box(0, 9, (3,), np.int16), Box(0, 1, (2,), bool),
          Box(-2.0, 2.0, (1,), np.float64)]


@settings(max_examples=150, **SETTINGS)
@given(space=st.sampled_from(SPACES), n=st.integers(1, 3), data=st.data())
def test_check_actions_refuses_with_api_usage_error_only(space, n, data):
    shape = st.one_of(st.just((n, *space.shape)), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    dtype = data.draw(st.one_of(hnp.scalar_dtypes(), hnp.byte_string_dtypes(), hnp.unicode_string_dtypes(),
                                st.just(np.dtype(object))), label="dtype")
    elements = st.one_of(st.integers(), st.floats(), st.none(), st.text()) if dtype == object else None
    arr = data.draw(hnp.arrays(dtype, shape, elements=elements), label="actions")
    if data.draw(st.booleans(), label="masked"):
        arr = np.ma.masked_array(arr, mask=data.draw(hnp.arrays(bool, arr.shape), label="mask"))
    try:
        out = check_actions(space, arr, n)
    except APIUsageError:
        return
    # accepted: the right shape, and every value inside the space as stored in the action
    # buffer; integers exactly (no wrap-around), floats after rounding to the Box's dtype
    out = np.asarray(out)
    assert out.shape == (n, *space.shape)
    if isinstance(space, (Discrete, MultiDiscrete)) or np.dtype(space.dtype).kind != "f":
        assert out.dtype.kind in ("b" if np.dtype(space.dtype).kind == "b" else "iu"), out.dtype
        stored = out.astype(space.dtype)
        assert np.array_equal(stored, out), f"{out!r} does not fit {space.dtype} exactly"
    else:
        assert out.dtype.kind == "f", out.dtype
        stored = out.astype(space.dtype)
    assert all(space.contains(np.asarray(row)) for row in stored), f"{out!r} accepted for {space}"


def test_check_actions_odd_inputs():
    """The three inputs check_actions used to fail on with raw numpy errors, and float rounding."""
    space = Discrete(5)
    with pytest.raises(APIUsageError, match=r"cannot be read as an array"):
        check_actions(space, [[0], [0, 1]], 2)                          # ragged: numpy's ValueError
    with pytest.raises(APIUsageError, match=r"masked array with 2 masked entries"):
        check_actions(space, np.ma.masked_array([9, 9], mask=True), 2)  # IndexError in the range check
    assert check_actions(space, np.ma.masked_array([1, 2], mask=False), 2).tolist() == [1, 2]
    box = Box(-0.7, 0.7, (), np.float32)
    assert check_actions(box, np.array([0.7, -0.7]), 2) is not None    # float64 0.7 is the float32 bound
    with pytest.raises(APIUsageError, match="out of range"):
        check_actions(box, np.array([0.7000001, 0.0]), 2)              # above it even as float32
    with pytest.raises(APIUsageError, match="out of range"):
        check_actions(Box(-np.inf, np.inf, (), np.float32), np.array([1e39]), 1)   # inf as float32


# ------------------------------------------------------------------------------------------------
# backends must agree on what they accept
# ------------------------------------------------------------------------------------------------
def outcome(env, actions):
    try:
        env.step(actions)
    except APIUsageError as e:
        return f"refused ({type(e).__name__})"
    except Exception as e:  # noqa: BLE001 - reported by the assertion
        return f"raised {type(e).__name__}: {e}"
    return "accepted"


def outcomes(name, make_actions):
    cls, cfg = cls_config(name)
    envs = {"native": cls(**cfg), "Serial": vector.make(cls, env_kwargs=cfg, num_envs=1)}
    out = {}
    for backend, env in envs.items():
        env.reset(0)
        out[backend] = outcome(env, make_actions(env))
        env.close()
    return out


def test_float64_actions_near_the_bounds_agree():
    """Float actions are checked as stored in the Box's dtype on every backend (a float64 just above
    1.0 rounds to the float32 bound 1.0); spaces.check_actions compared the float64 value."""
    for value in (1.0 + 1e-10, -1.0 - 1e-10, 0.7):
        got = outcomes("continuous", lambda env: np.full(env.actions.shape, value, np.float64))
        assert set(got.values()) == {"accepted"}, (value, got)
    got = outcomes("continuous", lambda env: np.full(env.actions.shape, 1.0 + 1e-6, np.float64))
    assert set(got.values()) == {"refused (APIUsageError)"}, got


def test_bool_actions_agree():
    """Bools for a Discrete space: refused natively as by the vectorizers (native Ocean envs once
    took them as 0 / 1, so a batch worked natively and failed once vectorized)."""
    got = outcomes("squared", lambda env: np.zeros(env.actions.shape, bool))
    assert set(got.values()) == {"refused (APIUsageError)"}, got


def test_integer_box_actions_agree():
    """Integers for a float Box: refused natively as by the vectorizers (native Ocean envs once
    accepted them)."""
    got = outcomes("continuous", lambda env: np.zeros(env.actions.shape, np.int64))
    assert set(got.values()) == {"refused (APIUsageError)"}, got


@pytest.mark.parametrize("make", [lambda n: [], lambda n: set(), lambda n: [[]] * n, RAGGED],
                         ids=["empty list", "empty set", "list of empty lists", "ragged list"])
def test_native_odd_containers(make):
    """Native Ocean envs once let Numba's ValueError ('cannot compute fingerprint of empty list')
    and numpy's ('setting an array element with a sequence') escape for these."""
    got = outcomes("squared", lambda env: make(env.num_agents))
    assert set(got.values()) == {"refused (APIUsageError)"}, got


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_masked_actions_agree(dtype):
    """A masked array with masked entries is refused natively as by the vectorizers (native Ocean
    envs once stepped the values hidden under the mask, int32, or raised Numba's raw error, int64)."""
    got = outcomes("squared", lambda env: np.ma.masked_array(np.zeros(env.actions.shape, dtype), mask=True))
    assert set(got.values()) == {"refused (APIUsageError)"}, got
