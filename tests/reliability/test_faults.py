"""Worker faults and parent crashes of the Multiprocessing backend, and what they leave behind.

A worker that raises, segfaults, exits, is killed (SIGKILL) or hangs (with ``timeout=``) must
surface as :class:`pufferlib.WorkerError` naming the worker and what happened: within 5 s, or
within the timeout plus 1 s for a hung worker. Afterwards the vector env refuses further use,
``close()`` works (twice), and nothing is left: no worker or other child process, no
/dev/shm entry, no open or mapped world memfd, no pipe. A parent that is SIGKILLed or
SIGTERMed mid-run must not leave its workers behind; a Ctrl-C (SIGINT to the process group,
as a terminal sends it) must end the parent cleanly.

The envs are real Ocean envs (Squared, whose worlds live in shared memory) wrapped to
misbehave on purpose (``_fault_envs.py``); the parent scripts run ``_parent_script.py``.
"""
from __future__ import annotations

import gc
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import pufferlib.vector as vector
from pufferlib import APIUsageError, WorkerError

from _fault_envs import FAULT_MESSAGE, faulty_squared
from _leaks import Baseline, alive, memfd_mappings, shm_entries, wait_gone

pytestmark = pytest.mark.usefixtures("guard")

HERE = os.path.dirname(os.path.abspath(__file__))
PARENT_SCRIPT = os.path.join(HERE, "_parent_script.py")
SURFACE_S = 5.0      # a dead or failing worker must surface within this many seconds
TIMEOUT_S = 1.0      # the timeout= of the hang cases
EXIT_S = 5.0         # workers of a dead parent must be gone within this many seconds


def make_env(fault=None, num_envs=2, batch_size=None, timeout=None, **options):
    """Multiprocessing over ``num_envs`` Squared envs, 2 workers; the last instance (in worker 1)
    misbehaves as ``fault`` says. Started with 'fork' whatever ran before in this process: the
    envs run one thread (no OpenMP), and fork keeps these tests fast."""
    kwargs = [{} for _ in range(num_envs)]
    kwargs[-1] = {"fault": fault}
    return vector.make(faulty_squared, env_kwargs=kwargs, backend="Multiprocessing", num_envs=num_envs,
                       num_workers=2, batch_size=batch_size, timeout=timeout, start_method="fork",
                       **options)


def timed(call):
    """Run ``call``; return ``(exception or None, seconds it took)``."""
    start = time.monotonic()
    try:
        call()
    except Exception as e:  # noqa: BLE001 - returned to the test
        return e, time.monotonic() - start
    return None, time.monotonic() - start


def drive(env, steps=8):
    """reset (1st reset), steps (the 3rd step of the faulty instance fails), reset again (2nd
    reset), steps (with async batches a reset returns the first ready batch: the faulty worker's
    result is awaited by a later step). Returns ``(exception, seconds the failing call took)``,
    or ``(None, 0)``."""
    actions = np.zeros(env.agents_per_batch, np.int32)
    calls = ([lambda: env.reset(0)] + [lambda: env.step(actions)] * steps + [lambda: env.reset(1)]
             + [lambda: env.step(actions)] * 2)
    for call in calls:
        error, took = timed(call)
        if error is not None:
            return error, took
    return None, 0.0


def assert_unusable_then_clean(env, base, pids):
    """After a worker failure: every call raises WorkerError, close() works twice, nothing left."""
    actions = np.zeros(env.agents_per_batch, np.int32)
    for call in (lambda: env.step(actions), lambda: env.reset(0), lambda: env.state(0)):
        with pytest.raises(WorkerError, match="unusable after a worker failure"):
            call()
    env.close()
    env.close()
    assert env.pids == []
    assert base.leftovers(pids) == {}


# ------------------------------------------------------------------------------------------------
# worker faults while the env runs
# ------------------------------------------------------------------------------------------------
RUNTIME_FAULTS = {
    "step-raise": (("step", 3, "raise"), None,
                   rf"worker 1 \(pid \d+\) raised builtins.RuntimeError: {FAULT_MESSAGE}\n--- worker traceback ---"
                   r"\n(?s:.*)misbehave"),
    "step-segfault": (("step", 3, "segfault"), None,
                      r"worker 1 \(pid \d+\) was killed by signal SIGSEGV without reporting an error"),
    "step-exit": (("step", 3, "exit"), None, r"worker 1 \(pid \d+\) exited with code 3 without reporting an error"),
    "step-hang": (("step", 3, "hang"), TIMEOUT_S,
                  r"worker 1 \(pid \d+\) did not answer within timeout=1 s while stepping its envs"),
    "reset-raise": (("reset", 2, "raise"), None, rf"worker 1 \(pid \d+\) raised builtins.RuntimeError: {FAULT_MESSAGE}"),
    "reset-segfault": (("reset", 2, "segfault"), None, r"worker 1 \(pid \d+\) was killed by signal SIGSEGV"),
    "reset-hang": (("reset", 2, "hang"), TIMEOUT_S,
                   r"worker 1 \(pid \d+\) did not answer within timeout=1 s while resetting its envs"),
}


@pytest.mark.parametrize("batch_size", [None, 1], ids=["sync", "async"])
@pytest.mark.parametrize("case", sorted(RUNTIME_FAULTS))
def test_worker_fault_surfaces_as_worker_error(case, batch_size):
    fault, timeout, message = RUNTIME_FAULTS[case]
    base = Baseline()
    env = make_env(fault, batch_size=batch_size, timeout=timeout)
    pids = env.pids
    error, took = drive(env)
    assert isinstance(error, WorkerError), f"expected WorkerError, got {error!r}"
    assert re.search(message, str(error)), str(error)
    limit = SURFACE_S if timeout is None else timeout + 1.0
    assert took < limit, f"{case}: surfaced after {took:.2f} s (limit {limit} s)"
    assert_unusable_then_clean(env, base, pids)


INIT_FAULTS = {
    "raise": (None, rf"worker 1 \(pid \d+\) raised builtins.RuntimeError while creating its envs: {FAULT_MESSAGE}"),
    "segfault": (None, r"worker 1 \(pid \d+\) was killed by signal SIGSEGV without reporting an error; "
                       r"its envs are lost \(it died while creating its envs"),
    "hang": (TIMEOUT_S, r"worker 1 \(pid \d+\) did not answer within timeout=1 s while creating its envs"),
}


@pytest.mark.parametrize("how", sorted(INIT_FAULTS))
def test_worker_fault_while_creating_envs(how):
    timeout, message = INIT_FAULTS[how]
    base = Baseline()
    healthy_error, healthy_s = timed(lambda: make_env(None).close())   # start-up cost on this machine
    assert healthy_error is None
    error, took = timed(lambda: make_env(("init", 0, how), timeout=timeout))
    assert isinstance(error, WorkerError), f"expected WorkerError, got {error!r}"
    assert re.search(message, str(error)), str(error)
    limit = (SURFACE_S if timeout is None else timeout + 1.0) + healthy_s
    assert took < limit, f"init-{how}: surfaced after {took:.2f} s (limit {limit:.2f} s)"
    assert base.leftovers() == {}


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "mid-step"])
def test_sigkilled_worker(busy):
    """SIGKILL a worker between steps, or while the main process waits for its (slow) step."""
    base = Baseline()
    env = make_env(("step", 2, "sleep:0.5") if busy else None)
    pids = env.pids
    actions = np.zeros(2, np.int32)
    env.reset(0)
    env.step(actions)
    if busy:  # the 2nd step takes 0.5 s in worker 1: kill it meanwhile
        threading.Timer(0.2, os.kill, (pids[1], signal.SIGKILL)).start()
    else:
        os.kill(pids[1], signal.SIGKILL)
    error, took = timed(lambda: env.step(actions))
    assert isinstance(error, WorkerError), f"expected WorkerError, got {error!r}"
    assert re.search(rf"worker 1 \(pid {pids[1]}\) was killed by signal SIGKILL", str(error)), str(error)
    assert took < SURFACE_S
    assert_unusable_then_clean(env, base, pids)


def test_state_fault_in_worker():
    """state() copied from a worker (share_worlds=False) that raises there: WorkerError for that
    call only (the worker keeps running); a segfault there breaks the env like any other."""
    base = Baseline()
    env = make_env(("state", 1, "raise"), share_worlds=False)
    pids = env.pids
    env.reset(0)
    with pytest.raises(WorkerError, match=rf"worker 1 raised builtins.RuntimeError in state\(\): {FAULT_MESSAGE}"):
        env.state(1)
    assert int(env.state(1)["envs"]["tick"]) == 0       # the next call works
    env.step(np.zeros(2, np.int32))
    assert int(env.state(1)["envs"]["tick"]) == 1
    env.close()
    assert base.leftovers(pids) == {}

    env = make_env(("state", 1, "segfault"), share_worlds=False)
    pids = env.pids
    env.reset(0)
    error, took = timed(lambda: env.state(1))
    assert isinstance(error, WorkerError) and "SIGSEGV" in str(error), repr(error)
    assert took < SURFACE_S
    assert_unusable_then_clean(env, base, pids)


# ------------------------------------------------------------------------------------------------
# close() and the leak checks themselves
# ------------------------------------------------------------------------------------------------
def test_close_releases_shared_worlds_when_views_go():
    """Views from state() keep their world block mapped after close() (documented: readable,
    frozen); once they are gone, nothing is left."""
    base = Baseline()
    env = make_env(None)
    pids = env.pids
    env.reset(0)
    env.step(np.zeros(2, np.int32))
    view = env.state(1)["envs"]
    assert memfd_mappings() - base.mappings, "Squared's worlds should live in shared world memfds"
    env.close()
    assert wait_gone(pids, EXIT_S) == set()
    assert int(view["tick"]) == 1                      # still readable after close
    assert memfd_mappings() - base.mappings            # ... because its block stays mapped
    del view
    gc.collect()
    assert base.leftovers(pids) == {}


def test_leak_checks_see_a_leak():
    """The checks of this file catch a vector env that is not closed (so a clean result means
    something), and see nothing once it is."""
    base = Baseline()
    env = make_env(None)
    pids = env.pids
    env.reset(0)
    left = base.leftovers(pids, wait=0.2)
    assert left["live workers"] == sorted(pids)
    assert set(left["new child processes"]) == set(pids)
    assert left["mapped world memfds"] and left["new pipes/sockets/memfds"]
    env.close()
    assert base.leftovers(pids) == {}
    with pytest.raises(APIUsageError, match="closed"):
        env.reset(0)


# ------------------------------------------------------------------------------------------------
# the parent dies or is interrupted
# ------------------------------------------------------------------------------------------------
def start_parent(tmp_path, **opts):
    """Start _parent_script.py in its own session (process group); return (process, worker
    pids, stderr path) once it steps. Its stderr goes to a file: workers that outlive it keep
    their copy of the stream open, so a pipe would never reach EOF."""
    err_path = tmp_path / "parent.stderr"
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, PARENT_SCRIPT, json.dumps(opts)], stdout=subprocess.PIPE,
                                stderr=err, text=True, start_new_session=True)
    line = proc.stdout.readline()
    assert line.startswith("READY "), f"parent failed to start: {line!r}\n{err_path.read_text()[-3000:]}"
    pids = json.loads(line.split(" ", 1)[1])
    assert len(pids) == 2 and all(alive(p) for p in pids)
    time.sleep(0.3)  # let it step for a while
    return proc, pids, err_path


def kill_leftovers(proc, pids):
    """Kill what a test started and that is still running (by pid: only our own processes)."""
    for pid in [proc.pid, *pids]:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    proc.wait(5)
    proc.stdout.close()


PARENT_CASES = {
    "sigkill": (signal.SIGKILL, {}),
    "sigkill-holding-state-views": (signal.SIGKILL, {"hold_state": True}),
    "sigkill-mid-slow-step": (signal.SIGKILL, {"fault": ["step", 1, "sleep:0.5"]}),
    "sigterm": (signal.SIGTERM, {}),
}


@pytest.mark.parametrize("case", sorted(PARENT_CASES))
def test_parent_crash_leaves_no_workers(tmp_path, case):
    sig, opts = PARENT_CASES[case]
    proc, pids, _ = start_parent(tmp_path, **opts)
    try:
        proc.send_signal(sig)
        assert proc.wait(EXIT_S) == -sig
        assert wait_gone(pids, EXIT_S) == set(), f"workers {pids} outlived their parent"
        assert shm_entries([proc.pid, *pids]) == set()
    finally:
        kill_leftovers(proc, pids)


def test_parent_crash_while_a_worker_hangs(tmp_path):
    """A worker stuck inside env.step never reads the EOF on its pipe: the kernel's
    parent-death signal (prctl PR_SET_PDEATHSIG, set by the worker) ends it."""
    proc, pids, _ = start_parent(tmp_path, fault=["step", 3, "hang"])
    try:
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(EXIT_S) == -signal.SIGKILL
        assert wait_gone(pids, EXIT_S) == set(), f"workers {pids} outlived their parent"
    finally:
        kill_leftovers(proc, pids)


@pytest.mark.parametrize("catch", [False, True], ids=["uncaught", "caught-and-closed"])
@pytest.mark.parametrize("slow", [False, True], ids=["stepping", "mid-slow-step"])
def test_ctrl_c(tmp_path, catch, slow):
    """Ctrl-C as a terminal sends it (SIGINT to the whole process group: the workers ignore it).
    Uncaught, the parent ends by KeyboardInterrupt and its exit handlers stop the workers; caught,
    the script closes the env and exits 0. Either way: no worker error, nothing left."""
    opts = {"catch": catch}
    if slow:
        opts["fault"] = ["step", 1, "sleep:0.5"]
    proc, pids, err_path = start_parent(tmp_path, **opts)
    try:
        os.killpg(proc.pid, signal.SIGINT)
        rc = proc.wait(EXIT_S)
        stderr = err_path.read_text()
        if catch:
            assert rc == 0, stderr[-3000:]
            assert proc.stdout.read().strip().endswith("CLOSED")
            assert stderr == ""
        else:
            assert rc == -signal.SIGINT, stderr[-3000:]
            assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr[-3000:]
            assert stderr.count("Traceback") == 1, stderr[-3000:]   # the parent's own, nothing else
        for noise in ("WorkerError", "Exception ignored", "BrokenPipe", "pufferlib-worker", "Error in atexit"):
            assert noise not in stderr, stderr[-3000:]
        assert wait_gone(pids, EXIT_S) == set(), f"workers {pids} outlived their parent"
        assert shm_entries([proc.pid, *pids]) == set()
    finally:
        kill_leftovers(proc, pids)
