"""``state(env_id)`` through every vector backend: Native, Serial, Multiprocessing, Ray.

For every registered Ocean env (its ``test_config()``): the state of global env id ``k`` has
the keys, shapes, dtypes and values of the native env's ``state(k)`` for the same seed and
actions (4 envs natively vs 2 instances of 2 envs); ids map across workers and instances;
views are read-only and follow later steps (zero copy on Multiprocessing: the same array
objects, backed by shared memory); ``copy=True`` is a stable snapshot; bad ids raise; after
``close()`` state raises and views handed out stay readable; no shared memory or process is
left behind. Ray runs only when ``ray`` is importable.
"""
from __future__ import annotations

import gc
from contextlib import closing
import multiprocessing
import os
import signal
import warnings

import gymnasium
import numpy as np
import pytest

import pufferlib
import pufferlib.vector as vector
from pufferlib import APIUsageError
from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.ocean import ENVS, env_creator
from pufferlib.ocean.core import Array
from pufferlib.ocean.squared import Squared
from pufferlib.spaces import sample_actions

from _ray_cluster import ray_cluster  # noqa: E402, F401 - the session's Ray (a fixture)
from _toy_envs import BoxDrift  # noqa: E402 - tests/ is on sys.path under pytest

try:
    import ray
except ImportError:  # the Ray backend is optional
    ray = None

BACKENDS = ["Native", "Serial", "Multiprocessing"] + (["Ray"] if ray is not None else [])
SEED, STEPS = 11, 6


@pytest.fixture(autouse=True)
def guard():
    """Fail (instead of hanging) if a test takes more than 120 s (Ray's start is slow)."""
    def on_alarm(signum, frame):
        raise TimeoutError("test exceeded its 120 s guard: probable hang")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(autouse=True)
def ray_for_ray_tests(request):
    """Ray tests use the session's local Ray cluster (tests/_ray_cluster.py), started once."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("backend") == "Ray":
        request.getfixturevalue("ray_cluster")


def config(cls, **over):
    base = cls.test_config() if hasattr(cls, "test_config") else {}
    kw = {k: v for k, v in base.items() if k != "num_envs"}
    kw.update(over)
    return kw


def make(cls, backend, instances=2, envs_per_instance=2, num_workers=None, **kw):
    """``instances`` instances of ``envs_per_instance`` envs (Native: one env with all of them)."""
    if backend == "Native":
        return vector.make(cls, env_kwargs=dict(config(cls, **kw), num_envs=instances * envs_per_instance),
                           backend="Native")
    extra = {}
    if backend in ("Multiprocessing", "Ray"):
        extra["num_workers"] = num_workers or instances
    return vector.make(cls, env_kwargs=dict(config(cls, **kw), num_envs=envs_per_instance), backend=backend,
                       num_envs=instances, **extra)


def run(env, steps=STEPS, seed=SEED, action_seed=1):
    env.reset(seed)
    acts = sample_actions(env.single_action_space, env.num_agents, np.random.default_rng(action_seed), steps=steps)
    for a in acts:
        env.step(a)


def total_envs(env):
    return env.num_envs if isinstance(env, pufferlib.PufferEnv) else sum(env.instance_num_envs)


def assert_state_equal(got, want, what):
    assert set(got) == set(want), f"{what}: keys {sorted(got)} != {sorted(want)}"
    for name in want:
        assert got[name].shape == want[name].shape, f"{what}[{name!r}] shape"
        assert got[name].dtype == want[name].dtype, f"{what}[{name!r}] dtype"
        np.testing.assert_array_equal(got[name], want[name], err_msg=f"{what}[{name!r}]")


def differs(a, b):
    return any(not np.array_equal(a[k], b[k]) for k in a)


# ---- every registered Ocean env, every backend -------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(ENVS))
def test_state_matches_native(name, backend):
    """Same seed and actions: state(k) equals the native env's state(k) for every k (keys,
    shapes, dtypes, values) -- so id k reaches env k % 2 of instance k // 2 on every backend;
    arrays are read-only; copy=True gives writable snapshots that later steps leave alone."""
    cls = env_creator(name)
    native = make(cls, "Native")
    run(native)
    with closing(make(cls, backend)) as env:
        run(env)
        assert total_envs(env) == native.num_envs == 4
        snaps = {}
        for k in range(4):
            want = native.state(k)
            st = env.state(k)
            assert_state_equal(st, want, f"{backend} state({k})")
            for arr in st.values():
                assert not arr.flags.writeable
                with pytest.raises(ValueError):
                    arr[...] = arr
            snap = env.state(k, copy=True)
            assert_state_equal(snap, want, f"{backend} state({k}, copy=True)")
            assert all(a.flags.writeable for a in snap.values())
            snaps[k] = {n: a.copy() for n, a in snap.items()}
            snap_live = snap
        assert differs(native.state(0), native.state(1)), "envs 0 and 1 should differ (different seeds)"
        for bad in (-1, 4, 1.5, True, "0", None):
            with pytest.raises(APIUsageError):
                env.state(bad)
        with pytest.raises(APIUsageError, match=r"0\.\.3"):
            env.state(4)
        for a in sample_actions(env.single_action_space, env.num_agents, np.random.default_rng(2), steps=3):
            env.step(a)
        assert_state_equal(snap_live, snaps[3], "copy=True after later steps")
        assert any(differs(env.state(k), snaps[k]) for k in range(4)), "no state changed in 3 steps"


@pytest.mark.parametrize("backend", ["Native", "Serial", "Multiprocessing"])
@pytest.mark.parametrize("name", sorted(ENVS))
def test_views_follow_steps(name, backend):
    """copy=False arrays are live: the same objects show later steps (Multiprocessing: the
    worker's writes, through shared memory, without calling state() again)."""
    cls = env_creator(name)
    with closing(make(cls, backend)) as env:
        run(env, steps=1)
        views = {k: env.state(k) for k in range(4)}
        before = {k: env.state(k, copy=True) for k in range(4)}
        for a in sample_actions(env.single_action_space, env.num_agents, np.random.default_rng(3), steps=4):
            env.step(a)
        changed = False
        for k in range(4):
            assert_state_equal(views[k], env.state(k, copy=True), f"{backend} view of env {k} after steps")
            changed |= differs(views[k], before[k])
        assert changed


@pytest.mark.parametrize("name", sorted(ENVS))
def test_multiprocessing_views_are_zero_copy_and_match_the_worker(name):
    """Every Ocean env opts in: its state arrays are mapped from the worker's shared world
    (two calls share memory, no worker round trip), and equal the worker's own state(i)."""
    cls = env_creator(name)
    with closing(make(cls, "Multiprocessing", instances=4, num_workers=2)) as env:
        run(env)
        assert env.envs_per_worker == 2
        views = {}
        env._launch = None  # state() must not message a worker
        try:
            for k in range(8):
                a, b = env.state(k), env.state(k)
                views[k] = a
                for n in a:
                    if a[n].nbytes:
                        assert np.shares_memory(a[n], b[n]), f"state({k})[{n!r}] is not a view of shared memory"
                        assert not np.shares_memory(env.state(k, copy=True)[n], a[n])
        finally:
            del env._launch
        for k, a in views.items():
            w, i = divmod(k // 2, env.envs_per_worker)
            assert_state_equal(a, env._fetch_state(w, i, k % 2), f"state({k}) vs worker {w} instance {i}")


# ---- env ids across workers and instances ---------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_ids_across_workers_and_instances(backend):
    """4 instances x 2 envs on 2 workers (2 instances each): ids 0..7 in order."""
    native = Squared(num_envs=8, size=5)
    run(native)
    with closing(make(Squared, backend, instances=4, num_workers=2, size=5)) as env:
        run(env)
        assert env.instance_num_envs == [2, 2, 2, 2]
        for k in range(8):
            assert_state_equal(env.state(k), native.state(k), f"{backend} state({k})")
        if backend == "Serial":
            for k in range(8):
                assert_state_equal(env.state(k), env.envs[k // 2].state(k % 2), "instance state")
        with pytest.raises(APIUsageError, match=r"valid ids 0\.\.7"):
            env.state(8)


class Lanes(pufferlib.PufferEnv):
    """``num_envs`` lanes shared by 4 agents (so instances of different num_envs can be
    vectorized together); lane ``i`` holds ``seed + i``; described by ``_state_arrays`` but
    in private memory (Multiprocessing copies it from the worker)."""

    def __init__(self, num_envs=1, buf=None):
        self.single_observation_space = gymnasium.spaces.Box(0, 1, (1,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(2)
        self.num_envs = num_envs
        self.num_agents = 4
        super().__init__(buf)
        self.lane = np.zeros(num_envs, np.int64)

    def reset(self, seed=None):
        self.lane[:] = (seed or 0) + np.arange(self.num_envs)
        return self.observations, []

    def step(self, actions):
        return self.observations, self.rewards, self.terminals, self.truncations, []

    def _state_arrays(self):
        return {"lane": (self.lane, "env")}


@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_instances_of_different_sizes(backend):
    """Ids follow each instance's own num_envs (1, 3, 2 envs: ids 0 | 1-3 | 4-5)."""
    extra = {"num_workers": 3} if backend != "Serial" else {}
    with closing(vector.make([Lanes] * 3, env_kwargs=[{"num_envs": n} for n in (1, 3, 2)], backend=backend,
                             num_envs=3, **extra)) as env:
        env.reset(100)
        assert env.instance_num_envs == [1, 3, 2]
        assert [int(env.state(k)["lane"]) for k in range(6)] == list(range(100, 106))
        with pytest.raises(APIUsageError, match=r"6 envs .*valid ids 0\.\.5"):
            env.state(6)


# ---- all three kinds of exported arrays (per env, per agent, shared) -----------------------
class SharedDrift(BoxDrift):
    """BoxDrift (2 agents per env, Box actions) with an extra shared (not per-env) array,
    exported with the per-agent observations."""
    WORLD = dict(BoxDrift.WORLD, table=Array(np.int32, 3))
    STATE = ("envs", "agents", "observations", "table")

    def init_world(self):
        self.table[:] = (self.num_envs, self.agents_per_env, 7)


@pytest.mark.parametrize("backend", ["Serial", "Multiprocessing"])
def test_per_env_per_agent_and_shared_arrays(backend):
    native = SharedDrift(num_envs=4)
    run(native)
    with closing(make(SharedDrift, backend, num_workers=2)) as env:
        run(env)
        for k in range(4):
            st, want = env.state(k), native.state(k)
            assert st["table"].tolist() == [2, 2, 7]  # the instance's own table (num_envs=2 there)
            assert st["observations"].shape == (2, 2)  # env k's two agents
            assert_state_equal({n: st[n] for n in ("envs", "agents", "observations")},
                               {n: want[n] for n in ("envs", "agents", "observations")}, f"state({k})")


# ---- envs that do not opt in: emulated envs, envs with their own state ----------------------
class OwnState(pufferlib.PufferEnv):
    """A plain PufferEnv with a private world and its own _state (cannot be mapped)."""

    def __init__(self, num_envs=2, buf=None):
        self.single_observation_space = gymnasium.spaces.Box(0, 1000, (1,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(3)
        self.num_envs = num_envs
        self.num_agents = num_envs
        super().__init__(buf)
        self.pos = np.zeros((num_envs, 2), np.int64)

    def reset(self, seed=None):
        self.pos[:, 0] = (seed or 0) + np.arange(self.num_envs)
        self.pos[:, 1] = 0
        self.observations[:, 0] = self.pos[:, 0]
        return self.observations, []

    def step(self, actions):
        self.pos[:, 1] += actions
        self.observations[:, 0] = self.pos[:, 0] + self.pos[:, 1]
        return self.observations, self.rewards, self.terminals, self.truncations, []

    def _state(self, env_id):
        return {"pos": self.pos[env_id]}


def gym_cartpole(buf=None):
    return GymnasiumPufferEnv(env_creator=gymnasium.make, env_args=("CartPole-v1",), buf=buf)


@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_envs_that_do_not_opt_in(backend):
    """Multiprocessing copies the state of envs it cannot map from the worker; Ray always copies;
    envs without state give {} on every backend."""
    with closing(make(OwnState, backend)) as env:
        env.reset(10)
        env.step(np.array([1, 2, 0, 1]))
        for k in range(4):
            st = env.state(k)
            assert st["pos"].tolist() == [10 + k, [1, 2, 0, 1][k]]
            assert not st["pos"].flags.writeable
            assert env.state(k, copy=True)["pos"].flags.writeable
        old = env.state(1)
        env.step(np.array([1, 1, 1, 1]))
        if backend == "Serial":
            assert old["pos"][1] == 3  # a view
        else:
            assert old["pos"][1] == 2 and env.state(1)["pos"][1] == 3  # a copy, not live
    with vector.make(gym_cartpole, backend=backend, num_envs=2,
                     **({"num_workers": 2} if backend != "Serial" else {})) as env:
        env.reset(0)
        assert env.state(0) == {} and env.state(1, copy=True) == {}
        with pytest.raises(APIUsageError):
            env.state(2)


# ---- life cycle -----------------------------------------------------------------------------
def shm_entries():
    try:
        return set(os.listdir("/dev/shm"))
    except FileNotFoundError:
        return set()


@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_after_close(backend):
    """state() after close raises APIUsageError; arrays handed out stay readable (no crash)."""
    env = make(env_creator("snake"), backend)
    run(env)
    views = env.state(3)
    snap = {n: a.copy() for n, a in views.items()}
    env.close()
    with pytest.raises(APIUsageError, match="closed"):
        env.state(0)
    gc.collect()
    assert_state_equal(views, snap, "views after close")  # frozen at the last step
    assert int(views["grid"].astype(np.int64).sum()) == int(snap["grid"].astype(np.int64).sum())
    env.close()


def test_multiprocessing_leaves_no_shared_memory_or_process():
    before = shm_entries()
    env = make(env_creator("snake"), "Multiprocessing")
    pids = env.pids
    run(env)
    kept = env.state(0)["grid"]
    assert shm_entries() == before  # world blocks have no name in /dev/shm
    env.close()
    assert env.pids == [] and not [p for p in multiprocessing.active_children() if p.pid in pids]
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z"
    assert kept.sum() is not None
    del kept
    gc.collect()
    assert shm_entries() == before


def test_multiprocessing_state_during_async_batches():
    """A state call on the worker of a batch in flight waits for that batch to be written
    (the result already shows the step just sent); recv still returns every batch once per round."""
    with vector.make(Squared, env_kwargs=dict(num_envs=2, size=5), backend="Multiprocessing", num_envs=2,
                     num_workers=2, batch_size=1) as env:
        env.async_reset(SEED)
        seen, read = [], {}
        for t in range(8):
            *_, ids, _ = env.recv()
            w = int(ids[0]) // 2
            seen.append(w)
            for e, st in read.items():  # the other worker has not been stepped since it was read
                assert_state_equal(env.state(e), st, f"state({e}) after recv")
            before = env.state(2 * w, copy=True)
            env.send(np.full(2, t % 4, np.int32))  # worker w is stepping now
            read = {e: env.state(e, copy=True) for e in (2 * w, 2 * w + 1)}
            assert differs(read[2 * w], before), "state() returned before the step in flight was written"
        for r in range(4):
            assert sorted(seen[2 * r:2 * r + 2]) == [0, 1]


def test_multiprocessing_private_worlds():
    """share_worlds=False: worlds stay private to the workers; state() copies them over."""
    native = Squared(num_envs=4, size=5)
    run(native)
    with closing(vector.make(Squared, env_kwargs=dict(num_envs=2, size=5), backend="Multiprocessing", num_envs=2,
                             num_workers=2, share_worlds=False)) as env:
        assert env.share_worlds is False
        run(env)
        for k in range(4):
            assert_state_equal(env.state(k), native.state(k), f"private state({k})")
        a, b = env.state(0), env.state(0)
        assert not np.shares_memory(a["envs"], b["envs"]) and not a["envs"].flags.writeable
    with pytest.raises(APIUsageError, match="share_worlds"):
        vector.make(Squared, backend="Multiprocessing", num_envs=2, share_worlds="yes")


def test_multiprocessing_without_shared_memory_falls_back_to_copies(monkeypatch):
    """If the main process cannot create a world block (e.g. memory exhausted), the env
    allocates privately in its worker, a warning says so, and state() copies from the worker."""
    def no_block(nbytes):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(vector.mp, "new_block", no_block)
    native = Squared(num_envs=4, size=5)
    run(native)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = make(Squared, "Multiprocessing", size=5)
    with env:
        assert any("no shared memory" in str(w.message) for w in caught)
        run(env)
        for k in range(4):
            assert_state_equal(env.state(k), native.state(k), f"fallback state({k})")
        a, b = env.state(0), env.state(0)
        assert not np.shares_memory(a["envs"], b["envs"])
