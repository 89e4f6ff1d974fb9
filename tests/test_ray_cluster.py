"""The Ray backend on a real local Ray cluster (started once per test session, 2 CPUs):
reset / step / async batches / state() against Serial, errors (bad actions, an actor that
raises, is killed or hangs, creators failing inside actors), close() leaving no actors, and
the copies a batch costs (the actor returns views, the driver copies each array once).
"""
from __future__ import annotations

import functools
import os
import signal
import time
import tracemalloc
import warnings

import gymnasium
import numpy as np
import pytest

import pufferlib
import pufferlib.vector as vector
from _ray_cluster import ray_cluster  # noqa: F401 - the session fixture
from pufferlib import APIUsageError, EnvironmentSetupError, WorkerError
from pufferlib.ocean.squared import Squared
from pufferlib.vector.ray import _init_ray, _RayWorker

pytest.importorskip("ray")


class Toy(pufferlib.PufferEnv):
    """``num_envs`` one-agent envs. Observation of env ``i``: ``[seed + i, tick, last action, 0...]``
    (``obs_dim`` float32s); reward: the action. Episodes never end. Step number ``raise_at``
    raises, step number ``hang_at`` never returns."""

    def __init__(self, num_envs=1, obs_dim=3, raise_at=None, hang_at=None, buf=None):
        self.single_observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(5)
        self.num_envs = self.num_agents = num_envs
        super().__init__(buf)
        self.raise_at, self.hang_at = raise_at, hang_at
        self.steps = 0
        self.base = np.zeros(num_envs, np.float32)
        self.ticks = np.zeros(num_envs, np.float32)

    def _observe(self, actions):
        self.observations[:, 0] = self.base
        self.observations[:, 1] = self.ticks
        self.observations[:, 2] = actions

    def reset(self, seed=None):
        if seed is not None:
            self.base[:] = seed + np.arange(self.num_envs)
        self.ticks[:] = 0
        self._observe(0)
        self.rewards[:] = 0
        self.terminals[:] = self.truncations[:] = False
        return self.observations, []

    def step(self, actions):
        self.steps += 1
        if self.steps == self.raise_at:
            raise RuntimeError("toy env exploded on purpose")
        if self.steps == self.hang_at:
            time.sleep(3600)
        self.ticks += 1
        self._observe(actions)
        self.rewards[:] = actions
        self.terminals[:] = self.truncations[:] = False
        return self.observations, self.rewards, self.terminals, self.truncations, []

    def state(self, env_id=0, copy=False):
        arrays = {"base": self.base[env_id:env_id + 1], "ticks": self.ticks[env_id:env_id + 1]}
        return pufferlib.environment.as_state(arrays, copy)


def refuses_inside_actors(parent_pid, buf=None):
    """Creator that works here (the probe) and raises APIUsageError in any other process."""
    if os.getpid() != parent_pid:
        raise APIUsageError("this creator refuses to run in an actor")
    return Toy(buf=buf)


def hangs_inside_actors(parent_pid, buf=None):
    """Creator that works here (the probe) and never returns in any other process."""
    if os.getpid() != parent_pid:
        time.sleep(3600)
    return Toy(buf=buf)


@pytest.fixture(autouse=True)
def guard():
    """Fail (instead of hanging) if a test takes more than 60 s."""
    def on_alarm(signum, frame):
        raise TimeoutError("test exceeded its 60 s guard: probable hang")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def named_actors(ray):
    """Names of the live named actors of this job (the Ray backend names its actors)."""
    return set(ray.util.list_named_actors())


SQUARED = functools.partial(Squared, num_envs=2)


# ---- the same results as Serial --------------------------------------------------------------
def test_reset_and_step_match_serial(ray_cluster):
    serial = vector.make(SQUARED, num_envs=4)
    rng = np.random.default_rng(0)
    with vector.make(SQUARED, backend="Ray", num_envs=4, num_workers=2) as env:
        assert env.num_agents == 8 and env.observation_space.shape == serial.observation_space.shape
        assert len(env.pids) == 2 and len(env.actor_names) == 2
        np.testing.assert_array_equal(env.reset(5)[0], serial.reset(5)[0])
        for _ in range(30):
            actions = rng.integers(0, 5, 8).astype(np.int32)
            for a, b in zip(env.step(actions)[:4], serial.step(actions)[:4]):
                np.testing.assert_array_equal(a, b)
        assert env.observations.flags.writeable  # our own buffers, not Ray's read-only ones


def test_async_batches_cover_every_env_once_per_round(ray_cluster):
    with vector.make(Toy, backend="Ray", num_envs=4, num_workers=4, batch_size=2) as env:
        ticks = np.zeros(4)
        env.async_reset(10)
        for _ in range(3):  # rounds
            seen = []
            for _ in range(2):
                obs, rew, term, trunc, infos, ids, masks = env.recv()
                assert obs.shape == (2, 3) and masks.all() and not term.any() and not trunc.any()
                np.testing.assert_array_equal(obs[:, 0], 10 + ids)   # env id -> seed + id
                np.testing.assert_array_equal(obs[:, 1], ticks[ids])  # every send stepped them once
                seen += ids.tolist()
                env.send(ids % 5)
                ticks[ids] += 1
            assert sorted(seen) == [0, 1, 2, 3]
        env.async_reset(20)  # discards the batches in flight
        obs, *_ , ids, _ = env.recv()
        np.testing.assert_array_equal(obs[:, 1], 0)
        np.testing.assert_array_equal(obs[:, 0], 20 + ids)


def test_state_through_ray(ray_cluster):
    serial = vector.make(SQUARED, num_envs=4)
    with vector.make(SQUARED, backend="Ray", num_envs=4, num_workers=2) as env:
        env.reset(3)
        serial.reset(3)
        actions = np.arange(8, dtype=np.int32) % 5
        env.step(actions)
        serial.step(actions)
        for env_id in range(8):  # ids span every instance of every actor
            got, want = env.state(env_id), serial.state(env_id)
            assert got.keys() == want.keys() and got
            for name in want:
                np.testing.assert_array_equal(got[name], want[name], err_msg=f"env {env_id} {name}")
                assert not got[name].flags.writeable
        snapshot = env.state(1, copy=True)
        assert all(a.flags.writeable for a in snapshot.values())
        before = env.state(1)
        for _ in range(3):
            env.step(actions)
        # copies: neither follows later steps
        assert any(not np.array_equal(before[k], env.state(1)[k]) for k in before)
        assert all(np.array_equal(before[k], snapshot[k]) for k in before)
        with pytest.raises(APIUsageError, match="env_id 8 out of range"):
            env.state(8)


# ---- errors ----------------------------------------------------------------------------------
def test_bad_action_is_refused_and_env_stays_usable(ray_cluster):
    with vector.make(Toy, backend="Ray", num_envs=2, num_workers=2) as env:
        env.reset(0)
        with pytest.raises(APIUsageError, match="out of range"):
            env.step(np.array([0, 7]))
        with pytest.raises(APIUsageError, match=r"expected shape \(2,\)"):
            env.step(np.zeros(3, np.int64))
        obs, rew, *_ = env.step(np.array([4, 3]))  # nothing was sent: the next step is step 1
        np.testing.assert_array_equal(obs[:, 1], [1, 1])
        np.testing.assert_array_equal(rew, [4, 3])


def test_actor_raising_is_a_worker_error(ray_cluster):
    env = vector.make(Toy, env_kwargs={"raise_at": 2}, backend="Ray", num_envs=2, num_workers=2)
    names = env.actor_names
    env.reset(0)
    env.step(np.zeros(2, np.int64))
    with pytest.raises(WorkerError, match="(?s)Ray worker [01] .*stepping its envs.*toy env exploded on purpose"):
        env.step(np.zeros(2, np.int64))
    with pytest.raises(WorkerError, match="unusable after a worker failure"):
        env.reset(0)
    env.close()
    env.close()
    assert not set(names) & named_actors(ray_cluster)


@pytest.mark.parametrize("when", ["between steps", "while blocked in recv"])
def test_killed_actor_is_a_worker_error_within_5_s(ray_cluster, when):
    env = vector.make(Toy, backend="Ray", num_envs=2, num_workers=2)
    env.reset(0)
    pid = env.pids[1]
    if when == "between steps":
        os.kill(pid, signal.SIGKILL)
        start = time.monotonic()
        with pytest.raises(WorkerError, match="Ray worker 1 .*failed while stepping its envs"):
            env.step(np.zeros(2, np.int64))
    else:
        os.kill(pid, signal.SIGSTOP)  # cannot answer the step ...
        env.send(np.zeros(2, np.int64))
        os.kill(pid, signal.SIGKILL)  # ... and dies while we wait
        start = time.monotonic()
        with pytest.raises(WorkerError, match="Ray worker 1 .*died"):
            env.recv()
    assert time.monotonic() - start < 5.0
    assert env.pids == []  # closed: the other actor was killed too
    env.close()


def test_hung_actor_times_out(ray_cluster):
    # 3 s: creating the envs in a fresh actor imports this module (pytest, Numba's cached kernels)
    env = vector.make(Toy, env_kwargs={"hang_at": 2}, backend="Ray", num_envs=2, num_workers=2, timeout=3.0)
    pids = env.pids
    env.reset(0)
    env.step(np.zeros(2, np.int64))
    start = time.monotonic()
    with pytest.raises(WorkerError, match="did not answer within timeout=3 s while stepping its envs"):
        env.step(np.zeros(2, np.int64))
    assert time.monotonic() - start < 3.0 + 1.0  # the timeout plus a poll
    assert wait_until(lambda: not any(pid_alive(p) for p in pids))


def test_actor_hung_while_creating_its_envs_times_out(ray_cluster):
    """The timeout counts from when the actors run (Ray's start-up of their processes is not
    the envs' fault and may take seconds), and bounds the creation of the envs."""
    start = time.monotonic()
    with pytest.raises(WorkerError, match="Ray worker [01] did not answer within 1 s while creating its envs"):
        vector.make(hangs_inside_actors, env_args=[os.getpid()], backend="Ray", num_envs=2, num_workers=2,
                    timeout=1.0)
    assert time.monotonic() - start < 30
    assert not [name for name in named_actors(ray_cluster) if name.startswith("pufferlib-")]


def test_creator_errors_inside_actors(ray_cluster):
    with pytest.raises(APIUsageError, match=r"refuses to run in an actor \(in Ray worker [01]\)"):
        vector.make(refuses_inside_actors, env_args=[os.getpid()], backend="Ray", num_envs=2, num_workers=2)
    assert not [name for name in named_actors(ray_cluster) if name.startswith("pufferlib-")]


def test_close_leaves_no_actors(ray_cluster):
    def ours():
        return named_actors(ray_cluster) & set(env.actor_names)

    env = vector.make(Toy, backend="Ray", num_envs=4, num_workers=2)
    pids = env.pids
    assert ours() == set(env.actor_names) and all(pid_alive(p) for p in pids)
    obs, _ = env.reset(0)
    env.close()
    env.close()
    assert not ours()
    assert wait_until(lambda: not any(pid_alive(p) for p in pids))
    assert obs.shape == (4, 3)  # arrays handed out stay readable
    with pytest.raises(APIUsageError, match="closed"):
        env.step(np.zeros(4, np.int64))
    with pytest.raises(APIUsageError, match="closed"):
        env.state(0)


# ---- copies ----------------------------------------------------------------------------------
def test_actor_returns_views_of_its_buffers():
    """The actor adds no copy: Ray's serialization of the return value is the transfer."""
    worker = _RayWorker()
    spec = (Toy().single_observation_space, Toy().single_action_space, 2)
    worker.create([Toy], [[]], [{"num_envs": 2}], spec)
    for out in (worker.reset(0), worker.step(np.array([1, 2]))):
        for got, buf in zip(out[:5], (worker.vec.observations, worker.vec.rewards, worker.vec.terminals,
                                      worker.vec.truncations, worker.vec.masks)):
            assert np.shares_memory(got, buf)
    np.testing.assert_array_equal(worker.vec.actions, [1, 2])


def test_driver_copies_each_batch_once(ray_cluster):
    """8 MB of observations per actor per step: Ray hands them over as read-only views of its
    object store and the backend copies them into its buffers, allocating nothing that size."""
    obs_dim = 1_000_000  # float32: 4 MB per agent, 2 agents per actor
    nbytes = 2 * obs_dim * 4
    with vector.make(Toy, env_kwargs={"num_envs": 2, "obs_dim": obs_dim}, backend="Ray", num_envs=2,
                     num_workers=2) as env:
        env.reset(0)
        got = []
        real_get = ray_cluster.get

        def spy(refs, *args, **kwargs):
            out = real_get(refs, *args, **kwargs)
            if isinstance(out, tuple) and len(out) == 6:
                got.append(out[0].flags.writeable)
            return out

        env._ray = type("RaySpy", (), {"get": staticmethod(spy), "wait": staticmethod(ray_cluster.wait)})
        tracemalloc.start()
        try:
            for t in range(3):
                obs, *_ = env.step(np.array([1, 2, 3, 4]))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            env._ray = ray_cluster
        assert got == [False] * 6  # zero-copy views of Ray's object store
        assert peak < nbytes / 2, f"{peak} bytes allocated while stepping: an extra copy of a batch"
        np.testing.assert_array_equal(obs[:, 1], 3)
        np.testing.assert_array_equal(obs[:, 2], [1, 2, 3, 4])
        assert not obs[:, 3:].any()


# ---- ray.init ----------------------------------------------------------------------------------
def test_ray_init_kwargs(ray_cluster):
    with pytest.raises(APIUsageError, match="ray_init_kwargs must be None or a dict"):
        vector.make(Toy, backend="Ray", num_envs=2, ray_init_kwargs="auto")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with vector.make(Toy, backend="Ray", num_envs=2, ray_init_kwargs={"num_cpus": 2}) as env:
            env.reset(0)
    assert any("ray_init_kwargs={'num_cpus': 2} ignored, Ray is already initialized" in str(w.message)
               for w in caught)


class FakeRay:
    """Stands in for the ray module where ray.init fails (Ray itself stays up for other tests)."""

    def __init__(self, error):
        self.error = error

    def is_initialized(self):
        return False

    def init(self, **kwargs):
        raise self.error


def test_ray_init_failures_are_setup_errors():
    with pytest.raises(EnvironmentSetupError, match="(?s)ConnectionError: no cluster.*ray start --head"):
        _init_ray(FakeRay(ConnectionError("no cluster")), {"address": "auto"})
    with pytest.raises(APIUsageError, match="not accepted by ray.init"):
        _init_ray(FakeRay(TypeError("unexpected keyword argument 'adress'")), {"adress": "auto"})


def test_ray_actor_options(ray_cluster):
    """Options reach every actor: with num_cpus=1 each, two actors hold both CPUs of the cluster."""
    with vector.make(Toy, backend="Ray", num_envs=2, num_workers=2, ray_actor_options={"num_cpus": 1}) as env:
        env.reset(0)
        assert ray_cluster.available_resources().get("CPU", 0) == 0
    assert wait_until(lambda: ray_cluster.available_resources().get("CPU", 0) == 2)
    for bad, match in [("cpu", "ray_actor_options must be None or a dict"),
                       ({"name": "x"}, "may not set 'name'"),
                       ({"num_cpu": 1}, r"ray_actor_options=\{'num_cpu': 1\} are not accepted by Ray")]:
        with pytest.raises(APIUsageError, match=match):
            vector.make(Toy, backend="Ray", num_envs=2, ray_actor_options=bad)
