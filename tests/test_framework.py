"""The env framework itself (pufferlib.ocean.core): non-Discrete action spaces, declaration
errors, devices, the on-disk cache, and mutants showing each conformance check catches its bug."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
from numba import literal_unroll, njit

import pufferlib
from pufferlib import APIUsageError, EnvironmentSetupError
from pufferlib.ocean.core import Array, OceanEnv, kernel
from pufferlib.ocean.testing import (CHECKS, check_bad_actions, check_determinism, check_env,
                                     check_native_matches_vector, check_observations_and_rewards)

sys.path.insert(0, str(Path(__file__).parent))
from _toy_envs import (BoxDrift, LeakyCounter, MultiCounter, NanRewardCounter,  # noqa: E402
                       OutOfSpaceCounter, SeedlessCounter)


@pytest.mark.parametrize("env_cls", [BoxDrift, MultiCounter])
def test_non_discrete_envs_pass_every_check(env_cls):
    report = check_env(env_cls, skip=("threads_match_serial", "cuda_matches_cpu"))
    assert report["render"].startswith("skipped:")  # the toy envs draw no pictures
    assert report["contract"] == "passed" and report["bad_actions"] == "passed"
    assert report["native_matches_vector"] == "passed"


def test_box_actions_checked_in_compiled_code():
    env = BoxDrift(num_envs=2)
    env.reset(0)
    before = env.agents.copy()
    good = np.zeros((4, 2), np.float32)
    for bad in (np.full((4, 2), np.nan, np.float32), np.full((4, 2), np.inf), np.full((4, 2), 1.5),
                np.full((4, 2), -1.01, np.float32), np.zeros((4, 3), np.float32), np.zeros(8, np.float32),
                np.full((4, 2), "x")):
        with pytest.raises(APIUsageError):
            env.step(bad)
        np.testing.assert_array_equal(env.agents, before)
        assert env.tick == 0
    env.step(good)
    env.step(good.astype(np.float64))
    # Integers are refused for a float Box, as pufferlib.spaces.check_actions (the vectorizers'
    # and emulation's rule) refuses them: one rule everywhere.
    with pytest.raises(APIUsageError, match="actions must be floats"):
        env.step(np.ones((4, 2), np.int64))
    assert env.tick == 2
    with pytest.raises(APIUsageError, match="finite real numbers within the Box bounds"):
        env.step(np.full((4, 2), 2.0, np.float32))


def test_multidiscrete_start_is_honoured():
    env = MultiCounter(num_envs=2)
    env.reset(0)
    env.step(np.array([[0, 1], [2, 4]], np.int32))
    for bad in ([[0, 0], [0, 1]], [[3, 1], [0, 1]], [[0, 5], [0, 1]], [[-1, 1], [0, 1]]):
        with pytest.raises(APIUsageError, match=r"allowed: integers with \[0, 1\] <= action <= \[2, 4\]"):
            env.step(np.array(bad, np.int32))
    assert env.tick == 1


@pytest.mark.parametrize("mutant, check, message", [
    (OutOfSpaceCounter, check_observations_and_rewards, "outside"),
    (NanRewardCounter, check_observations_and_rewards, "non-finite"),
    (SeedlessCounter, check_determinism, "different seed"),
    (LeakyCounter, check_native_matches_vector, "differs|Mismatch"),
])
def test_checks_catch_their_bug(mutant, check, message):
    check(MultiCounter)  # the sound env passes
    with pytest.raises(AssertionError, match=message):
        check(mutant)


def test_bad_actions_check_catches_a_half_stepped_batch(monkeypatch):
    """If step() ran the envs before rejecting the batch, the check must fail."""
    def half_stepping(self):
        real = OceanEnv.step.__get__(self)

        def step(actions):
            a = np.asarray(actions)
            if a.shape == self.actions.shape and a.dtype.kind in "iu":
                real(np.clip(a, self.layout.action_low, self.layout.action_high).astype(np.int32))
            return real(actions)
        return step
    monkeypatch.setattr(MultiCounter, "_fast_step", half_stepping)
    with pytest.raises(AssertionError, match="changed"):
        check_bad_actions(MultiCounter)


def test_check_env_names_the_failed_check():
    with pytest.raises(AssertionError, match="SeedlessCounter failed check 'determinism'"):
        check_env(SeedlessCounter, skip=("threads_match_serial", "native_matches_vector", "compiles_to_ptx"))
    with pytest.raises(APIUsageError, match="unknown checks"):
        check_env(MultiCounter, skip=("nope",))
    assert set(CHECKS) >= {"contract", "determinism", "bad_actions", "state", "cuda_matches_cpu"}


# ---- declaration errors ------------------------------------------------------------------
@kernel
def _noop(w, e):
    return


def declared(world, log_fields=(), **attrs):
    ns = {"WORLD": world, "LOG_FIELDS": log_fields, "reset_env": _noop, "step_env": _noop, **attrs}

    def __init__(self, num_envs=1):
        self.single_observation_space = gymnasium.spaces.Box(0, 1, (1,), np.uint8)
        self.single_action_space = gymnasium.spaces.Discrete(2)
        OceanEnv.__init__(self, num_envs=num_envs)
    ns["__init__"] = __init__
    return type("Declared", (OceanEnv,), ns)


ENV = np.dtype([("rng", np.uint64)])


@pytest.mark.parametrize("world, log_fields, attrs, message", [
    ({}, (), {}, "must declare 'envs'"),
    ({"envs": Array(np.dtype([("tick", np.int32)]), "num_envs")}, (), {}, "uint64 'rng'"),
    ({"envs": Array(ENV, "num_envs", 2)}, (), {}, "must declare 'envs'"),
    ({"envs": Array(ENV, "num_envs"), "rewards": Array(np.float32, "num_envs")}, (), {}, "built-in"),
    ({"envs": Array(ENV, "num_envs"), "_x": Array(np.int8, 3)}, (), {}, "identifiers"),
    ({"envs": Array(ENV, "num_envs"), "grid": Array(np.int8, "width")}, (), {}, "'width' must resolve"),
    ({"envs": Array(ENV, "num_envs"), "grid": np.zeros(3)}, (), {}, "must be a pufferlib.ocean.core.Array"),
    ({"envs": Array(ENV, "num_envs")}, ("n",), {}, "LOG_FIELDS"),
    ({"envs": Array(ENV, "num_envs")}, (), {"step_env": None}, "step_env"),
])
def test_declaration_errors(world, log_fields, attrs, message):
    with pytest.raises(APIUsageError, match=message):
        declared(world, log_fields, **attrs)()


def test_array_declaration_errors():
    with pytest.raises(APIUsageError, match="at least one dimension"):
        Array(np.int8)
    with pytest.raises(APIUsageError, match="ints or attribute names"):
        Array(np.int8, 2.5)


def test_device_errors():
    from pufferlib.ocean.squared import Squared
    with pytest.raises(APIUsageError, match="device must be one of"):
        Squared(device="tpu")
    with pytest.raises(APIUsageError, match="buf must be None"):
        Squared(device="cuda", buf={})
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        from numba import cuda
        if not cuda.is_available():
            with pytest.raises(EnvironmentSetupError, match="CUDA GPU"):
                Squared(device="cuda")


def test_prototype_kernels_on_the_world():
    """Kernels run directly on env.world (a namedtuple of the env's arrays), as in a notebook."""
    env = MultiCounter(num_envs=2)
    env.reset(3)
    assert env.world.counts is env.counts and env.world.observations is env.observations
    env.actions[:] = [[1, 2], [0, 1]]
    before = env.counts.copy()
    MultiCounter.step_env(env.world, 0)
    assert env.counts[0, 1] == (before[0, 1] + 2) % 10 and (env.counts[1] == before[1]).all()


# ---- the on-disk cache --------------------------------------------------------------------
def test_cache_stamp_covers_the_framework_and_the_env_only():
    from numba.core import caching

    from pufferlib.ocean.core import cache
    from pufferlib.ocean.core.drivers import env_sources
    from pufferlib.ocean.snake import Snake
    from pufferlib.ocean.squared import Squared
    assert cache.install()
    sq, sn = Squared(num_envs=2), Snake(**Snake.test_config())
    assert env_sources(Squared) == (str(Path(sys.modules[Squared.__module__].__file__).resolve()),)
    for env in (sq, sn):
        locator = caching.CompileResultCacheImpl(env._step_fn.py_func)._locator
        assert type(locator).__name__.startswith("Puffer")
        assert locator.get_source_stamp() == cache.sources_digest(env_sources(type(env)))
    assert cache.sources_digest(env_sources(Squared)) != cache.sources_digest(env_sources(Snake))
    # a kernel of an env module is stamped by the framework and its own file
    kernel_locator = caching.CompileResultCacheImpl(Squared.step_env.py_func)._locator
    assert kernel_locator.get_source_stamp() == cache.sources_digest(env_sources(Squared))
    # code outside pufferlib/ocean keeps Numba's own stamp
    other = caching.CompileResultCacheImpl(declared.__code__ and _plain)._locator
    assert not type(other).__name__.startswith("Puffer")


def _plain(x):
    return x


def test_drivers_load_from_the_on_disk_cache(tmp_path):
    code = textwrap.dedent("""
        from pufferlib.ocean.squared import Squared
        env = Squared(num_envs=3)
        print(sum(env._step_fn.stats.cache_hits.values()), sum(env._step_fn.stats.cache_misses.values()))
    """)
    envvars = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=envvars,
                           timeout=600) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr[-2000:]
    (hits0, misses0), (hits1, misses1) = (map(int, r.stdout.split()) for r in runs)
    assert misses0 >= 1 and hits0 == 0, "first run compiles"
    assert hits1 >= 1 and misses1 == 0, "second run loads the compiled driver from disk"


def test_state_of_a_declared_world():
    env = MultiCounter(num_envs=3)
    env.reset(0)
    st = env.state(2)
    assert set(st) == {"envs", "counts"} and st["counts"].shape == (3,)
    assert st["envs"].shape == () and int(st["envs"]["tick"]) == 0
    with pytest.raises(APIUsageError):
        env.state(3)


def test_make_space_helpers_on_the_env():
    assert OceanEnv.make_discrete(3) == gymnasium.spaces.Discrete(3)
    assert pufferlib.make("puffer_squared", num_envs=2).num_agents == 2


def test_actions_are_checked_as_stored():
    """Floats are checked after rounding to the buffer dtype; integers must not wrap around."""
    box = BoxDrift(num_envs=1)
    box.reset(0)
    box.step(np.full((2, 2), 1.0 + 1e-12))       # float64 that rounds to float32 1.0: accepted
    assert box.tick == 1
    counter = MultiCounter(num_envs=1)
    counter.reset(0)
    wraps = np.array([[2**32, 1]], np.int64)     # int32(2**32) would be 0, a valid action
    with pytest.raises(APIUsageError):
        counter.step(wraps)
    assert counter.tick == 0


# ---- the derived context: every declared array comes back whole from compiled code --------
RECORD = np.dtype([("a", np.int16), ("b", np.float64)], align=True)
DTYPES = [np.int8, np.uint16, np.int32, np.float32, np.float64, np.bool_, RECORD]


@settings(max_examples=10)
@given(specs=st.lists(st.tuples(st.sampled_from(DTYPES), st.sampled_from(["num_envs", "num_agents", "k", 3]),
                                st.lists(st.integers(1, 4), max_size=2)), max_size=4),
       num_envs=st.integers(1, 3), k=st.integers(1, 5))
def test_compiled_unpack_returns_every_declared_array(specs, num_envs, k):
    """The ctx built from a declaration and the generated unpack agree on every array."""
    from types import SimpleNamespace

    from pufferlib.ocean.core.world import Layout, address, ctx_array
    world = {"envs": Array(ENV, "num_envs")}
    for i, (dtype, first, rest) in enumerate(specs):
        world[f"a{i}"] = Array(dtype, first, *rest)
    env = SimpleNamespace(num_envs=num_envs, num_agents=2 * num_envs, k=k,
                          single_observation_space=gymnasium.spaces.Box(0, 1, (2,), np.uint8),
                          single_action_space=gymnasium.spaces.MultiDiscrete([3, 2]),
                          actions=np.zeros((2 * num_envs, 2), np.int32))
    layout = Layout(env, world, ("score",))
    arrays = layout.allocate({})
    ctx = layout.ctx(arrays, num_envs, 2, 8)
    gen = layout.compile_unpack()
    unpack, unpack_bounds = gen.unpack, gen.unpack_bounds

    @njit
    def probe(addr, out):
        ctx = ctx_array(addr)
        i = 0
        for arr in literal_unroll(unpack(ctx)):
            out[2 * i] = arr.ctypes.data
            out[2 * i + 1] = arr.size
            i += 1
        low, high = unpack_bounds(ctx)
        out[2 * i] = low.ctypes.data
        out[2 * i + 1] = high.ctypes.data
    names = layout.world_names
    out = np.zeros(2 * len(names) + 2, np.int64)
    probe(address(ctx), out)
    for i, name in enumerate(names):
        assert arrays[name].shape == layout.shapes[name]
        assert out[2 * i] == address(arrays[name]) and out[2 * i + 1] == arrays[name].size, name
    assert out[-2] == address(arrays["action_low"]) and out[-1] == address(arrays["action_high"])
    # Bounds in the action buffer's dtype, repeated over a block of whole periods.
    assert arrays["action_high"].dtype == np.int32 and arrays["action_high"].size == 64
    assert list(arrays["action_high"]) == [2, 1] * 32 and list(arrays["action_low"]) == [0, 0] * 32
