"""Tests of pufferlib.vector: Serial / Multiprocessing / Native equivalence, async batches,
misuse errors, worker failures and cleanup.

Uses a small self-contained PufferEnv (CounterEnv) so it does not depend on other envs.
"""
from __future__ import annotations

import functools
import gc
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import gymnasium
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pufferlib
import pufferlib.vector as vector
from pufferlib import APIUsageError, EnvironmentSetupError, WorkerError


# ------------------------------------------------------------------------------------------------
# test environments
# ------------------------------------------------------------------------------------------------
class CounterEnv(pufferlib.PufferEnv):
    """``num_envs`` internal envs x ``agents_per_env`` agents; env ``i`` uses rng(seed + i).

    Observation of an agent: [episode base value, tick, agent index + random draw].
    Reward: 0.25 * action + random draw of its env. Episodes end after ``horizon`` steps
    (terminal) and auto-reset in the same step (native convention).
    """

    def __init__(self, num_envs=1, agents_per_env=1, horizon=4, obs_dim=3, fail_at_step=None,
                 discrete=True, n_actions=5, buf=None):
        self.single_observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
        self.single_action_space = (gymnasium.spaces.Discrete(n_actions) if discrete
                                    else gymnasium.spaces.Box(-1, 1, (2,), np.float32))
        self.num_envs = num_envs
        self.agents_per_env = agents_per_env
        self.num_agents = num_envs * agents_per_env
        super().__init__(buf)
        self.horizon = horizon
        self.fail_at_step = fail_at_step
        self.rngs = [np.random.default_rng(i) for i in range(num_envs)]
        self.ticks = np.zeros(num_envs, np.int64)
        self.base = np.zeros(num_envs)
        self.returns = np.zeros(num_envs)
        self.steps = 0
        self.closed = 0

    def _agents(self, i):
        return slice(i * self.agents_per_env, (i + 1) * self.agents_per_env)

    def _begin(self, i):
        self.ticks[i] = 0
        self.base[i] = self.rngs[i].integers(0, 1000)
        self.returns[i] = 0

    def _observe(self, i):
        sl = self._agents(i)
        self.observations[sl, 0] = self.base[i]
        self.observations[sl, 1] = self.ticks[i]
        self.observations[sl, 2] = np.arange(self.agents_per_env) + self.rngs[i].random()

    def reset(self, seed=None):
        for i in range(self.num_envs):
            if seed is not None:
                self.rngs[i] = np.random.default_rng(seed + i)
            self._begin(i)
            self._observe(i)
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        return self.observations, []

    def step(self, actions):
        self.steps += 1
        if self.fail_at_step is not None and self.steps >= self.fail_at_step:
            raise RuntimeError("counter env exploded on purpose")
        self.actions[:] = actions
        infos = []
        for i in range(self.num_envs):
            sl = self._agents(i)
            self.ticks[i] += 1
            act = self.actions[sl].reshape(self.agents_per_env, -1).sum(axis=1)
            r = 0.25 * act + self.rngs[i].random()
            self.rewards[sl] = r
            self.returns[i] += float(np.sum(r))
            done = self.ticks[i] >= self.horizon
            self.terminals[sl] = done
            self.truncations[sl] = False
            if done:
                infos.append({"episode_return": float(self.returns[i])})
                self._begin(i)
            self._observe(i)
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def close(self):
        self.closed += 1


class EmulatedCounter(CounterEnv):
    """Single env that does NOT auto-reset: it reports ``done`` and waits to be reset."""

    def __init__(self, horizon=3, buf=None):
        super().__init__(num_envs=1, agents_per_env=1, horizon=horizon, buf=buf)
        self._done = False

    @property
    def emulated(self):
        return True

    @property
    def done(self):
        return self._done

    def reset(self, seed=None):
        self._done = False
        return super().reset(seed)

    def step(self, actions):
        if self._done:
            raise AssertionError("stepped after done: the vectorizer must reset instead")
        self.steps += 1
        self.actions[:] = actions
        self.ticks[0] += 1
        self.rewards[0] = 0.25 * self.actions[0] + self.rngs[0].random()
        self._done = bool(self.ticks[0] >= self.horizon)
        self.terminals[0] = self._done
        self.truncations[0] = False
        self.observations[0, 1] = self.ticks[0]
        self.observations[0, 2] = self.rngs[0].random()
        return self.observations, self.rewards, self.terminals, self.truncations, {}


class NotAPufferEnv:
    def __init__(self, buf=None):
        self.buf = buf


class IgnoresBuf(CounterEnv):
    def __init__(self, buf=None):
        super().__init__(buf=None)


class SleepyEnv(CounterEnv):
    """CounterEnv whose step number ``sleep_at_step`` never returns (a hung env)."""

    def __init__(self, sleep_at_step=None, buf=None):
        super().__init__(buf=buf)
        self.sleep_at_step = sleep_at_step

    def step(self, actions):
        if self.sleep_at_step is not None and self.steps + 1 >= self.sleep_at_step:
            time.sleep(3600)
        return super().step(actions)


def counter_creator(*args, **kwargs):  # module level: picklable for 'spawn'
    return CounterEnv(*args, **kwargs)


def count_call(counter_path):
    """How many times this has been called with ``counter_path``, across processes (a file)."""
    with open(counter_path, "a+") as f:
        f.write("x")
        f.seek(0)
        return len(f.read())


def explode_on_third_creation(counter_path, buf=None):
    """Creator whose 3rd call (across processes, via a file counter) raises."""
    if count_call(counter_path) == 3:
        raise ValueError("creator failed on purpose")
    return CounterEnv(buf=buf)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def guard():
    """Fail (instead of hanging) if a test takes more than 30 s."""
    def on_alarm(signum, frame):
        raise TimeoutError("test exceeded its 30 s guard: probable hang")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def rollout(env, steps, seed, action_seed=0, nvec=5):
    """Reset then step with seeded random actions; return copies of everything."""
    rng = np.random.default_rng(action_seed)
    obs, _ = env.reset(seed)
    out = {"obs": [obs.copy()], "rew": [], "term": [], "trunc": [], "infos": []}
    for _ in range(steps):
        actions = rng.integers(0, nvec, env.action_space.shape)
        obs, rew, term, trunc, infos = env.step(actions)
        out["obs"].append(obs.copy())
        out["rew"].append(rew.copy())
        out["term"].append(term.copy())
        out["trunc"].append(trunc.copy())
        out["infos"].append(sorted(d["episode_return"] for d in infos))
    return out


def assert_same(a, b):
    for key in ("obs", "rew", "term", "trunc"):
        np.testing.assert_array_equal(np.stack(a[key]), np.stack(b[key]), err_msg=key)
    assert a["infos"] == b["infos"]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); read its state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# ------------------------------------------------------------------------------------------------
# equivalence across backends
# ------------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(num_envs=st.integers(1, 4), agents=st.integers(1, 3), seed=st.integers(0, 2**31),
       action_seed=st.integers(0, 1000), steps=st.integers(1, 10))
def test_serial_matches_native(num_envs, agents, seed, action_seed, steps):
    serial = vector.make(CounterEnv, env_kwargs={"agents_per_env": agents}, backend="Serial",
                         num_envs=num_envs)
    native = vector.make(CounterEnv, env_kwargs={"num_envs": num_envs, "agents_per_env": agents},
                         backend="Native")
    assert isinstance(native, CounterEnv)
    assert serial.num_agents == native.num_agents == num_envs * agents
    assert serial.action_space == native.action_space
    assert_same(rollout(serial, steps, seed, action_seed), rollout(native, steps, seed, action_seed))


@pytest.mark.parametrize("num_envs,num_workers,instance_kwargs,spin", [
    (4, 2, {}, False),
    (4, 2, {}, True),
    (4, 4, {"agents_per_env": 2}, None),
    (2, 2, {"num_envs": 2}, True),                      # multi-env instances: seed offsets of 2
    (3, 1, {"num_envs": 2, "agents_per_env": 2}, False),
])
def test_multiprocessing_matches_serial_and_native(guard, num_envs, num_workers, instance_kwargs, spin):
    steps, seed = 12, 1234
    serial = vector.make(CounterEnv, env_kwargs=instance_kwargs, backend="Serial", num_envs=num_envs)
    ref = rollout(serial, steps, seed)
    with vector.make(CounterEnv, env_kwargs=instance_kwargs, backend="Multiprocessing",
                     num_envs=num_envs, num_workers=num_workers, spin=spin) as mp_env:
        assert mp_env.num_workers == num_workers
        assert mp_env.spin == (num_workers <= len(os.sched_getaffinity(0)) if spin is None else spin)
        assert mp_env.num_agents == serial.num_agents
        assert_same(ref, rollout(mp_env, steps, seed))
        # reset again with another seed: still identical
        assert_same(rollout(serial, 5, 7, 3), rollout(mp_env, 5, 7, 3))
    total = num_envs * instance_kwargs.get("num_envs", 1)
    native = CounterEnv(num_envs=total, agents_per_env=instance_kwargs.get("agents_per_env", 1))
    assert_same(ref, rollout(native, steps, seed))


def test_multiprocessing_is_zero_copy(guard):
    with vector.make(CounterEnv, backend="Multiprocessing", num_envs=4, num_workers=2) as env:
        obs, _ = env.reset(3)
        assert obs is env.observations
        obs2, rew, term, trunc, _ = env.step(np.zeros(4, np.int64))
        assert obs2 is obs and rew is env.rewards and term is env.terminals and trunc is env.truncations
        assert obs.dtype == np.float32 and obs.shape == (4, 3)
        assert rew.dtype == np.float32 and term.dtype == bool and trunc.dtype == bool
        assert env.actions.dtype == np.int32


def test_serial_hands_out_buffer_slices():
    env = vector.make(CounterEnv, env_kwargs={"agents_per_env": 2}, num_envs=3)
    for k, inst in enumerate(env.envs):
        assert np.shares_memory(inst.observations, env.observations)
        assert inst.observations.shape == (2, 3)
        assert inst.observations.base is env.observations or np.may_share_memory(inst.rewards, env.rewards)
    obs, _ = env.reset(0)
    env.envs[1].observations[:] = -7
    assert (obs[2:4] == -7).all()


def test_emulated_auto_reset_serial_and_multiprocessing(guard):
    steps, seed = 10, 99
    serial = vector.make(EmulatedCounter, num_envs=2)
    assert serial.emulated is True
    ref = rollout(serial, steps, seed)
    # horizon 3: the step after a terminal is a reset: tick 0, reward 0, not terminal
    term = np.stack(ref["term"])
    assert term[2].all() and term[6].all() and term.sum() == 4
    assert (np.stack(ref["obs"])[4][:, 1] == 0).all()
    assert (np.stack(ref["rew"])[3] == 0).all() and not term[3].any()
    with vector.make(EmulatedCounter, backend="Multiprocessing", num_envs=2, num_workers=2) as mp_env:
        assert_same(ref, rollout(mp_env, steps, seed))


def test_infos_are_lists_of_dicts(guard):
    for backend in ("Serial", "Multiprocessing"):
        with vector.make(CounterEnv, env_kwargs={"horizon": 2}, backend=backend, num_envs=2,
                         num_workers=2) as env:
            _, infos = env.reset(0)
            assert infos == []
            env.step(np.zeros(2, np.int64))
            *_, infos = env.step(np.zeros(2, np.int64))
            assert isinstance(infos, list) and len(infos) == 2
            assert all(isinstance(d, dict) and "episode_return" in d for d in infos)


def test_spawn_start_method_matches_fork(guard):
    creator = functools.partial(counter_creator, agents_per_env=2)
    serial = vector.make(creator, num_envs=2)
    with vector.make(creator, backend="Multiprocessing", num_envs=2, num_workers=2,
                     start_method="spawn") as env:
        assert env.start_method == "spawn"
        assert_same(rollout(serial, 6, 5), rollout(env, 6, 5))


def test_default_start_method(monkeypatch):
    """fork on Linux; forkserver only for envs that run parallel code once Numba's GNU OpenMP
    threads run here (a forked worker entering a parallel region is terminated by Numba)."""
    import numba
    default = vector.mp._default_start_method
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(numba, "threading_layer", lambda: "omp")
    assert default(parallel=True) == "forkserver"
    assert default(parallel=False) == default() == "fork"
    for layer in ("workqueue", "tbb"):
        monkeypatch.setattr(numba, "threading_layer", lambda layer=layer: layer)
        assert default(parallel=True) == "fork"

    def not_started():
        raise ValueError("Threading layer is not initialized.")
    monkeypatch.setattr(numba, "threading_layer", not_started)
    assert default(parallel=True) == "fork"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert default(parallel=False) == "spawn"


def test_default_start_method_of_an_env_without_parallel_code(guard):
    with vector.make(CounterEnv, backend="Multiprocessing", num_envs=2, num_workers=2) as env:
        assert env.start_method == "fork"


def nested_creator():
    def make(buf=None):
        return CounterEnv(buf=buf)
    return make


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_unpicklable_creators_are_named_before_any_worker_starts(guard, start_method):
    before = multiprocessing.active_children()
    cases = [
        (lambda buf=None: CounterEnv(buf=buf), r"env creator #0 \(.*<lambda>\) cannot be pickled"),
        (nested_creator(), r"env creator #0 \(nested_creator.<locals>.make\) cannot be pickled"),
        ([CounterEnv, lambda buf=None: CounterEnv(buf=buf)], r"env creator #1 \(.*<lambda>\) cannot be pickled"),
        (functools.partial(counter_creator, horizon=lambda: 4), r"env creator #0 \(.*partial.*\) cannot be pickled"),
    ]
    for creators, match in cases:
        with pytest.raises(APIUsageError) as info:
            vector.make(creators, backend="Multiprocessing", num_envs=2, num_workers=2, start_method=start_method)
        text = str(info.value)
        assert re.search(match, text), text
        assert f"start_method={start_method!r}" in text and "module-level function" in text
        assert "functools.partial" in text and "start_method='fork'" in text
    assert multiprocessing.active_children() == before  # nothing was started


def test_unpicklable_env_kwargs_are_named(guard):
    with pytest.raises(APIUsageError, match=r"env_kwargs of env instance #0 cannot be pickled, and "
                                            r"start_method='spawn'.*Pass picklable values"):
        vector.make(counter_creator, env_kwargs={"horizon": threading.Lock()}, backend="Multiprocessing",
                    num_envs=2, num_workers=2, start_method="spawn")


# ---- start methods in real scripts (``python script.py``, a fresh process each) -------------------
SCRIPT_HEAD = """\
import functools
import numpy as np
import pufferlib, pufferlib.vector
from pufferlib.ocean.squared import Squared

def threaded_env_runs_here():  # starts Numba's OpenMP threads in this process
    env = pufferlib.make("puffer_squared", num_envs=4, num_threads=2)
    env.reset(0)
    env.step(np.zeros(4, np.int32))

def check(env):  # the vector env steps like Serial
    serial = pufferlib.vector.make(functools.partial(Squared, num_envs=2), num_envs=2)
    assert np.array_equal(env.reset(3)[0], serial.reset(3)[0])
    for t in range(5):
        actions = np.arange(4, dtype=np.int32) % 5
        assert np.array_equal(env.step(actions)[0], serial.step(actions)[0])
    env.close()
    print("OK", env.start_method)
"""


def run_script(tmp_path, body):
    """Run SCRIPT_HEAD + body as ``python script.py``; return (exit code, stdout, stderr)."""
    path = tmp_path / "script.py"
    path.write_text(SCRIPT_HEAD + textwrap.dedent(body))
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120,
                          cwd=str(tmp_path))
    return proc.returncode, proc.stdout, proc.stderr


def test_script_without_guard_with_a_lambda_after_a_threaded_env_runs(tmp_path):
    """The envs run no parallel code, so workers are forked even though OpenMP runs here: no
    pickling, no __main__ guard needed, no warning."""
    code, out, err = run_script(tmp_path, """
        threaded_env_runs_here()
        check(pufferlib.vector.make(lambda buf=None: Squared(num_envs=2, buf=buf), backend="Multiprocessing",
                                    num_envs=2, num_workers=2))
    """)
    assert code == 0, err
    assert out.strip() == "OK fork" and "Warning" not in err


@pytest.mark.parametrize("how", ["start_method='spawn'", "num_threads=2 (forkserver chosen)"])
def test_script_without_main_guard_says_to_add_it(tmp_path, how):
    option = "start_method='spawn'" if how.startswith("start") else ""
    threads = "num_threads=2, " if "num_threads" in how else ""
    start = time.monotonic()
    code, out, err = run_script(tmp_path, f"""
        env = pufferlib.vector.make(functools.partial(Squared, {threads}num_envs=2), backend="Multiprocessing",
                                    num_envs=2, num_workers=2, {option})
        print("never reached in the parent")
    """)
    assert code == 1 and "never reached" not in out
    last = err.strip().splitlines()[-1]
    assert last.startswith("pufferlib.exceptions.APIUsageError: start_method=")
    assert "if __name__ == '__main__':" in last and "script.py" in last
    assert time.monotonic() - start < 60


def test_parallel_envs_switch_to_forkserver_with_one_warning(tmp_path):
    code, out, err = run_script(tmp_path, """
        if __name__ == "__main__":
            for _ in range(2):
                check(pufferlib.vector.make(functools.partial(Squared, num_envs=2, num_threads=2),
                                            backend="Multiprocessing", num_envs=2, num_workers=2))
    """)
    assert code == 0, err
    assert out.split() == ["OK", "forkserver"] * 2
    assert err.count("RuntimeWarning") == 1, err
    assert "start_method='forkserver' instead of 'fork'" in err and "script.py:" in err  # the caller's line


def test_lambda_with_parallel_envs_names_the_creator(tmp_path):
    code, out, err = run_script(tmp_path, """
        if __name__ == "__main__":
            pufferlib.vector.make(lambda buf=None: Squared(num_envs=2, num_threads=2, buf=buf),
                                  backend="Multiprocessing", num_envs=2, num_workers=2)
    """)
    last = err.strip().splitlines()[-1]
    assert code == 1 and last.startswith("pufferlib.exceptions.APIUsageError: env creator #0 (<lambda>) "
                                         "cannot be pickled, and start_method='forkserver' (chosen because")
    assert "functools.partial" in last
    assert "start_method='fork'" not in last  # fork would kill these workers: not offered


def test_forced_fork_with_parallel_envs_explains_openmp(tmp_path):
    code, out, err = run_script(tmp_path, """
        if __name__ == "__main__":
            threaded_env_runs_here()
            pufferlib.vector.make(functools.partial(Squared, num_envs=2, num_threads=2),
                                  backend="Multiprocessing", num_envs=2, num_workers=2, start_method="fork")
    """)
    last = err.strip().splitlines()[-1]
    assert code == 1 and last.startswith("pufferlib.exceptions.WorkerError: worker ")
    assert "SIGTERM" in last and "GNU OpenMP" in last and "start_method='forkserver'" in last


def test_list_of_creators_and_per_env_kwargs():
    creators = [CounterEnv, counter_creator, CounterEnv]
    env = vector.make(creators, env_kwargs=[{"horizon": 2}, {"horizon": 3}, {"horizon": 4}], num_envs=3)
    assert [e.horizon for e in env.envs] == [2, 3, 4]
    env.reset(0)
    for t in range(1, 5):
        _, _, term, _, _ = env.step(np.zeros(3, np.int64))
        assert term.tolist() == [t % 2 == 0, t == 3, t == 4]


@pytest.mark.parametrize("backend", ["Serial", "Multiprocessing"])
def test_bad_seeds_are_refused_in_the_caller(guard, backend):
    kwargs = {"num_workers": 2} if backend == "Multiprocessing" else {}
    env = vector.make(CounterEnv, backend=backend, num_envs=2, **kwargs)
    env.reset(0)
    env.step(np.zeros(2, np.int64))
    before = env.observations.copy()
    for bad in (-1, 2**62, 2**63, 1.5, True):   # 2**62: the second env's seed would pass 2**62
        with pytest.raises(APIUsageError, match="seed"):
            env.reset(bad)
    np.testing.assert_array_equal(env.observations, before)   # nothing was reset
    env.reset(2**62 - 2)
    env.step(np.zeros(2, np.int64))                          # and the env still works
    env.close()


# ------------------------------------------------------------------------------------------------
# asynchronous batches
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("num_envs,num_workers,batch_size", [(4, 4, 1), (4, 4, 2), (6, 3, 2), (4, 2, 2)])
def test_async_batches_cover_every_env_once_per_round(guard, num_envs, num_workers, batch_size):
    rounds, seed = 5, 11
    groups = num_envs // batch_size
    # per-env reference trajectories: a Serial env per env id, action = (id + t) % 5
    refs = []
    for i in range(num_envs):
        single = CounterEnv(num_envs=1)
        obs, _ = single.reset(seed + i)
        traj = [obs.copy()]
        for t in range(rounds):
            obs, *_ = single.step(np.array([(i + t) % 5]))
            traj.append(obs.copy())
        refs.append(traj)
    with vector.make(CounterEnv, backend="Multiprocessing", num_envs=num_envs, num_workers=num_workers,
                     batch_size=batch_size) as env:
        assert env.agents_per_batch == batch_size
        assert env.observation_space.shape == (batch_size, 3)
        assert env.action_space.shape == (batch_size,)
        env.async_reset(seed)
        steps_done = np.zeros(num_envs, int)
        for r in range(rounds + 1):
            seen = []
            for _ in range(groups):
                obs, rew, term, trunc, infos, ids, masks = env.recv()
                assert obs.shape == (batch_size, 3) and ids.shape == (batch_size,) and masks.all()
                for j, i in enumerate(ids):
                    np.testing.assert_array_equal(obs[j], refs[i][steps_done[i]][0])
                seen.extend(ids.tolist())
                if r < rounds:
                    env.send(np.array([(i + steps_done[i]) % 5 for i in ids]))
                    steps_done[ids] += 1
                else:
                    break
            if r < rounds:
                assert sorted(seen) == list(range(num_envs)), f"round {r} returned {seen}"
        assert (steps_done == rounds).all()


def test_async_reset_midway_discards_pending(guard):
    with vector.make(CounterEnv, backend="Multiprocessing", num_envs=4, num_workers=4, batch_size=2) as env:
        env.async_reset(0)
        env.recv()
        env.send(np.zeros(2, np.int64))
        obs, _ = env.reset(0)  # other batch pending, one in flight
        assert (obs[:, 1] == 0).all()
        obs, *_ = env.step(np.zeros(2, np.int64))
        obs, *_ = env.step(np.zeros(2, np.int64))
        assert obs.shape == (2, 3)


# ------------------------------------------------------------------------------------------------
# configuration errors
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    ({"num_envs": 0}, "num_envs must be >= 1"),
    ({"num_envs": 2.5}, "num_envs must be an int"),
    ({"backend": "Threads"}, "valid backends: 'Native'.*'Serial'.*'Multiprocessing'.*'Ray'"),
    ({"backend": dict}, "unknown backend"),
    ({"backend": "Multiprocessing", "num_envs": 4, "num_workers": 3}, "divisible by num_workers=3"),
    ({"backend": "Multiprocessing", "num_envs": 4, "num_workers": 8}, "more than num_envs"),
    ({"backend": "Multiprocessing", "num_envs": 8, "num_workers": 2, "batch_size": 2},
     "multiple of envs per worker"),
    ({"backend": "Multiprocessing", "num_envs": 8, "num_workers": 8, "batch_size": 3},
     "must divide num_envs"),
    ({"backend": "Serial", "num_envs": 4, "batch_size": 2}, "Serial steps every env"),
    ({"backend": "Native", "num_envs": 2}, "num_envs must\\s+be 1"),
    ({"backend": "Serial", "start_method": "fork"}, "unknown option"),
    ({"backend": "Multiprocessing", "start_method": "teleport"}, "unknown start_method"),
])
def test_configuration_errors(kwargs, match):
    with pytest.raises(APIUsageError, match=match):
        vector.make(CounterEnv, **kwargs)


@settings(max_examples=200, deadline=None)
@given(num_envs=st.integers(1, 24), num_workers=st.one_of(st.none(), st.integers(1, 30)),
       batch_size=st.one_of(st.none(), st.integers(1, 30)))
def test_worker_layout_rules(num_envs, num_workers, batch_size):
    try:
        w, b, epw = vector._worker_layout(num_envs, num_workers, batch_size, "Multiprocessing")
    except APIUsageError:
        bs = num_envs if batch_size is None else batch_size
        assert num_workers is not None or num_envs % bs or bs > num_envs
        if num_workers is not None and bs <= num_envs and num_envs % bs == 0:
            assert num_workers > num_envs or num_envs % num_workers or bs % (num_envs // num_workers)
        return
    assert num_envs % w == 0 and epw == num_envs // w
    assert b % epw == 0 and num_envs % b == 0
    if num_workers is not None:
        assert w == num_workers
    if batch_size is None:
        assert b == num_envs


@pytest.mark.parametrize("backend", ["Serial", "Multiprocessing", "Native"])
def test_creator_returning_non_puffer_env(guard, backend):
    with pytest.raises(APIUsageError, match="not a pufferlib.PufferEnv.*GymnasiumPufferEnv"):
        vector.make(NotAPufferEnv, backend=backend, num_envs=1)


def test_creator_returning_gymnasium_env():
    with pytest.raises(APIUsageError, match="not a pufferlib.PufferEnv"):
        vector.make(lambda buf=None: gymnasium.make("CartPole-v1"), num_envs=2)


@pytest.mark.parametrize("backend", ["Serial", "Multiprocessing"])
def test_mismatched_spaces(guard, backend):
    creators = [CounterEnv, CounterEnv, functools.partial(CounterEnv, obs_dim=4), CounterEnv]
    with pytest.raises(APIUsageError, match="(?s)instance #2 does not match instance #0.*shape \\(1, 4\\)"):
        vector.make(creators, backend=backend, num_envs=4, num_workers=2)
    creators = [CounterEnv, functools.partial(CounterEnv, agents_per_env=2)]
    with pytest.raises(APIUsageError, match="(?s)instance #1 does not match.*num_agents=1"):
        vector.make(creators, backend=backend, num_envs=2, num_workers=2)
    creators = [CounterEnv, functools.partial(CounterEnv, discrete=False)]
    with pytest.raises(APIUsageError, match="instance #1 does not match"):
        vector.make(creators, backend=backend, num_envs=2, num_workers=2)
    # same buffer shapes, different space: caught by comparing the spaces
    creators = [CounterEnv, functools.partial(CounterEnv, n_actions=4)]
    with pytest.raises(APIUsageError,
                       match="instance #1 has single_action_space Discrete\\(4\\).*must match"):
        vector.make(creators, backend=backend, num_envs=2, num_workers=2)


def test_creator_ignoring_buf():
    with pytest.raises(APIUsageError, match="does not use the buffers passed as buf="):
        vector.make(IgnoresBuf, num_envs=2)


def test_bad_creator_arguments():
    with pytest.raises(APIUsageError, match="list of 2 env creators but num_envs=3"):
        vector.make([CounterEnv, CounterEnv], num_envs=3)
    with pytest.raises(APIUsageError, match="not callable"):
        vector.make([CounterEnv, 5], num_envs=2)
    with pytest.raises(APIUsageError, match="env_kwargs must be"):
        vector.make(CounterEnv, env_kwargs=[{}], num_envs=2)
    with pytest.raises(APIUsageError, match="env_args must be"):
        vector.make([CounterEnv, CounterEnv], env_args=[1, 2], num_envs=2)


def test_ray_backend_without_ray():
    try:
        import ray  # noqa: F401
        pytest.skip("ray is installed")
    except ImportError:
        pass
    with pytest.raises(EnvironmentSetupError, match="pip install 'pufferlib-numba\\[ray\\]'"):
        vector.make(CounterEnv, backend="Ray", num_envs=2)


def test_native_backend_returns_env_and_accepts_class():
    env = vector.make(CounterEnv, env_kwargs={"num_envs": 3}, backend=pufferlib.PufferEnv)
    assert isinstance(env, CounterEnv) and env.num_envs == 3
    env = vector.make(CounterEnv, backend="native")
    assert env.num_agents == 1


# ------------------------------------------------------------------------------------------------
# call-order and action errors
# ------------------------------------------------------------------------------------------------
@pytest.fixture(params=["Serial", "Multiprocessing"])
def vecenv(request, guard):
    env = vector.make(CounterEnv, env_kwargs={"agents_per_env": 2}, backend=request.param, num_envs=2,
                      num_workers=2)
    yield env
    env.close()


def test_call_order_errors(vecenv):
    with pytest.raises(APIUsageError, match="before reset"):
        vecenv.step(np.zeros(4, np.int64))
    with pytest.raises(APIUsageError, match="before reset"):
        vecenv.send(np.zeros(4, np.int64))
    with pytest.raises(APIUsageError, match="recv\\(\\) called without a pending async_reset"):
        vecenv.recv()
    vecenv.async_reset(0)
    with pytest.raises(APIUsageError, match="send\\(\\) called twice without recv"):
        vecenv.send(np.zeros(4, np.int64))
    vecenv.recv()
    with pytest.raises(APIUsageError, match="recv\\(\\) called without a pending send"):
        vecenv.recv()
    vecenv.send(np.zeros(4, np.int64))
    with pytest.raises(APIUsageError, match="send\\(\\) called twice without recv"):
        vecenv.send(np.zeros(4, np.int64))
    obs, rew, term, trunc, infos, ids, masks = vecenv.recv()
    assert obs.shape == (4, 3) and ids.tolist() == [0, 1, 2, 3] and masks.all()
    with pytest.raises(APIUsageError, match="seed must be an int"):
        vecenv.reset(seed="abc")


def test_action_errors(vecenv):
    vecenv.reset(0)
    with pytest.raises(APIUsageError, match=r"shape \(3,\); expected shape \(4,\)"):
        vecenv.step(np.zeros(3, np.int64))
    with pytest.raises(APIUsageError, match=r"expected shape \(4,\)"):
        vecenv.step(np.zeros((4, 1), np.int64))
    with pytest.raises(APIUsageError, match="dtype float32; expected an integer dtype"):
        vecenv.step(np.zeros(4, np.float32))
    with pytest.raises(APIUsageError, match="out of range"):
        vecenv.step(np.array([0, 1, 5, 0]))
    with pytest.raises(APIUsageError, match="out of range"):
        vecenv.step(np.array([0, -1, 0, 0]))
    # still usable after rejected actions; lists are accepted
    obs, *_ = vecenv.step([4, 3, 2, 1])
    assert vecenv.actions.tolist() == [4, 3, 2, 1]
    assert (obs[:, 1] == 1).all()


def test_box_action_dtype_errors():
    env = vector.make(CounterEnv, env_kwargs={"discrete": False}, num_envs=2)
    env.reset(0)
    with pytest.raises(APIUsageError, match="expected a floating dtype"):
        env.step(np.zeros((2, 2), np.int64))
    with pytest.raises(APIUsageError, match=r"expected shape \(2, 2\)"):
        env.step(np.zeros(2, np.float32))
    with pytest.raises(APIUsageError, match=r"actions out of range: action 1.5 of agent 1 at index \(0,\)"):
        env.step(np.array([[0.0, 0.0], [1.5, 0.0]]))
    with pytest.raises(APIUsageError, match="action nan of agent 0"):
        env.step(np.array([[np.nan, 0.0], [0.0, 0.0]]))
    env.step(np.zeros((2, 2), np.float64))
    assert env.actions.dtype == np.float32


# ------------------------------------------------------------------------------------------------
# worker failures
# ------------------------------------------------------------------------------------------------
def test_worker_exception_surfaces_with_traceback(guard):
    env = vector.make(CounterEnv, env_kwargs={"fail_at_step": 3}, backend="Multiprocessing", num_envs=2,
                      num_workers=2)
    pids = env.pids
    env.reset(0)
    env.step(np.zeros(2, np.int64))
    env.step(np.zeros(2, np.int64))
    with pytest.raises(WorkerError) as info:
        env.step(np.zeros(2, np.int64))
    text = str(info.value)
    assert "counter env exploded on purpose" in text and "Traceback" in text and "RuntimeError" in text
    with pytest.raises(WorkerError, match="unusable after a worker failure"):
        env.reset(0)
    env.close()
    env.close()
    deadline = time.time() + 5
    while any(pid_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in pids)


@pytest.mark.parametrize("batch_size", [4, 2])
def test_killed_worker_raises_worker_error(guard, batch_size):
    env = vector.make(CounterEnv, backend="Multiprocessing", num_envs=4, num_workers=4, batch_size=batch_size)
    env.reset(0)
    os.kill(env.pids[-1], signal.SIGKILL)
    with pytest.raises(WorkerError, match="SIGKILL"):
        for _ in range(4):  # async: the killed worker's batch comes up within a round
            env.step(np.zeros(batch_size, np.int64))
    env.close()


def test_killed_worker_while_blocked_in_recv(guard):
    env = vector.make(CounterEnv, backend="Multiprocessing", num_envs=2, num_workers=2)
    env.reset(0)
    os.kill(env.pids[0], signal.SIGSTOP)  # worker cannot answer ...
    env.send(np.zeros(2, np.int64))
    os.kill(env.pids[0], signal.SIGKILL)  # ... and then dies while main waits
    with pytest.raises(WorkerError, match="worker 0 .*SIGKILL"):
        env.recv()
    env.close()


def hang_on_third_creation(counter_path, buf=None):
    """Creator whose 3rd call (across processes, via a file counter) never returns."""
    if count_call(counter_path) == 3:
        time.sleep(3600)
    return CounterEnv(buf=buf)


def test_hung_worker_times_out_while_stepping(guard):
    env = vector.make(CounterEnv, backend="Multiprocessing", num_envs=2, num_workers=2, timeout=0.5)
    env.reset(0)
    pids = env.pids
    os.kill(pids[1], signal.SIGSTOP)                 # alive, but never answers
    env.send(np.zeros(2, np.int64))
    start = time.monotonic()
    with pytest.raises(WorkerError, match="worker 1 .*timeout=0.5 s while stepping its envs"):
        env.recv()
    assert time.monotonic() - start < 0.5 + 1.0       # the timeout plus at most a second
    with pytest.raises(WorkerError):
        env.reset(0)                                  # the env stays broken...
    env.close()                                       # ...and closes cleanly
    deadline = time.monotonic() + 5
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in pids)


def test_hung_worker_times_out_while_creating_its_envs(guard, tmp_path):
    path = str(tmp_path / "count")
    start = time.monotonic()
    with pytest.raises(WorkerError, match="did not answer within timeout=0.5 s while creating its envs"):
        vector.make(hang_on_third_creation, env_args=[path], backend="Multiprocessing", num_envs=2,
                    num_workers=2, timeout=0.5)
    assert time.monotonic() - start < 0.5 + 5.0      # worker start-up included


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "1", True])
def test_bad_timeout_is_refused(timeout):
    with pytest.raises(APIUsageError, match="timeout"):
        vector.make(CounterEnv, backend="Multiprocessing", num_envs=2, num_workers=2, timeout=timeout)


def test_worker_setup_errors(guard, tmp_path):
    path = str(tmp_path / "count")
    # 1st call: the probe in the main process; 3rd call: inside a worker
    with pytest.raises(WorkerError, match="(?s)creator failed on purpose.*Traceback"):
        vector.make(explode_on_third_creation, env_args=[path], backend="Multiprocessing", num_envs=2,
                    num_workers=2)
    creators = [CounterEnv, CounterEnv, NotAPufferEnv, CounterEnv]
    with pytest.raises(APIUsageError,
                       match="creator #2 .*NotAPufferEnv.*not a pufferlib.PufferEnv.*in worker 1"):
        vector.make(creators, backend="Multiprocessing", num_envs=4, num_workers=2)


# ------------------------------------------------------------------------------------------------
# cleanup
# ------------------------------------------------------------------------------------------------
def test_close_is_idempotent_and_stops_workers(guard):
    env = vector.make(CounterEnv, backend="Multiprocessing", num_envs=2, num_workers=2)
    pids = env.pids
    assert len(pids) == 2 and all(pid_alive(p) for p in pids)
    obs, _ = env.reset(0)
    env.close()
    env.close()
    assert env.pids == []
    assert not any(pid_alive(p) for p in pids)
    assert obs.shape == (2, 3) and np.isfinite(obs).all()  # returned arrays stay readable
    with pytest.raises(APIUsageError, match="closed"):
        env.reset(0)
    serial = vector.make(CounterEnv, num_envs=2)
    serial.close()
    serial.close()
    assert [e.closed for e in serial.envs] == [1, 1]


def test_context_manager_and_gc_stop_workers(guard):
    with vector.make(CounterEnv, backend="Multiprocessing", num_envs=2, num_workers=2) as env:
        pids = env.pids
        env.reset(0)
    assert not any(pid_alive(p) for p in pids)
    env = vector.make(CounterEnv, backend="Multiprocessing", num_envs=2, num_workers=2)
    pids = env.pids
    env.reset(0)
    del env
    gc.collect()
    deadline = time.time() + 5
    while any(pid_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in pids)


def test_exported_attributes(guard):
    for backend in ("Serial", "Multiprocessing"):
        with vector.make(CounterEnv, env_kwargs={"agents_per_env": 3}, backend=backend, num_envs=2,
                         num_workers=2) as env:
            assert env.single_observation_space.shape == (3,)
            assert env.single_action_space == gymnasium.spaces.Discrete(5)
            assert env.observation_space.shape == (6, 3)
            assert env.action_space.shape == (6,)
            assert env.num_agents == env.agents_per_batch == 6 and env.num_envs == 2
            assert isinstance(env.driver_env, CounterEnv)
            assert env.emulated is False
            assert repr(env).startswith("<" + type(env).__name__ + " ")


# ------------------------------------------------------------------------------------------------
# CartPole through the emulation layer (when it exists)
# ------------------------------------------------------------------------------------------------
def test_cartpole_serial_and_multiprocessing(guard):
    emulation = pytest.importorskip("pufferlib.emulation")
    if not hasattr(emulation, "GymnasiumPufferEnv"):
        pytest.skip("pufferlib.emulation.GymnasiumPufferEnv not available")
    creator = functools.partial(emulation.GymnasiumPufferEnv, env_creator=gymnasium.make,
                                env_args=["CartPole-v1"])
    results = []
    for backend in ("Serial", "Multiprocessing"):
        with vector.make(creator, backend=backend, num_envs=4, num_workers=2) as env:
            assert env.observation_space.shape == (4, 4)
            rng = np.random.default_rng(0)
            obs, _ = env.reset(42)
            trace = [obs.copy()]
            dones = 0
            for _ in range(60):
                obs, rew, term, trunc, _ = env.step(rng.integers(0, 2, 4))
                trace.append(obs.copy())
                dones += int(term.sum() + trunc.sum())
            results.append(np.stack(trace))
    np.testing.assert_array_equal(results[0], results[1])
    # per-instance seeding: instance k reset with 42 + k, like a plain gymnasium env
    ref = gymnasium.make("CartPole-v1")
    for k in range(4):
        ob, _ = ref.reset(seed=42 + k)
        np.testing.assert_allclose(results[0][0, k], ob)
