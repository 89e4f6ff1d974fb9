"""The Multiprocessing backend: worker processes writing into shared-memory batch buffers.

Named ``mp`` so that it does not shadow the standard library's ``multiprocessing``.
The worker entry point :func:`_mp_worker` is a module-level function, so the
``'spawn'`` and ``'forkserver'`` start methods can pickle it by reference.
"""
from __future__ import annotations

import multiprocessing
import os
import select
import signal
import sys
import threading
import time
import traceback
import warnings
import weakref

import numpy as np

from pufferlib.environment import buffer_specs, set_buffers, state_rows
from pufferlib.checks import check_bool
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError, WorkerError
from pufferlib.vector.common import _NEED_RESET, _available_cpus, _creator_name, _probe
from pufferlib.vector.serial import Serial
from pufferlib.vector.workers import (
    _CLOSE,
    _DOING,
    _ERR,
    _OK,
    _POLL_MS,
    _READY,
    _STATE,
    _STEP,
    _check_timeout,
    _worker_layout,
    _WorkerVecEnv,
)
from pufferlib.vector.worlds import (
    ALLOC,
    FETCH,
    WorldAllocator,
    as_state,
    build_arrays,
    close_blocks,
    describe_state,
    new_block,
)

# With spare cores, waiting starts with a short busy poll (then blocks): a pipe wake-up costs
# tens of microseconds, a busy poll sees the message as soon as it is written.
_SPIN_MAIN_S = 0.002
_SPIN_WORKER_S = 0.001


def _describe_exit(code):
    if code is None:
        return "is not responding"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _shared_arrays(raws, specs):
    out = {}
    for name, (shape, dtype) in specs.items():
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        flat = np.frombuffer(raws[name], dtype=np.uint8)[:nbytes]
        out[name] = flat.view(dtype).reshape(shape)
    return out


def _omp_live() -> bool:
    """Whether Numba's OpenMP threading layer (GNU OpenMP on Linux) has started in this process."""
    numba = sys.modules.get("numba")
    if numba is None:
        return False
    try:
        return numba.threading_layer() == "omp"
    except Exception:  # ValueError: no parallel code has run yet
        return False


def _default_start_method(parallel: bool = False) -> str:
    """The start method used when ``start_method=None``.

    ``'spawn'`` where ``fork`` is not available or not the platform's safe choice (every
    platform but Linux). On Linux ``'fork'``, except ``'forkserver'`` when the workers' envs
    run Numba parallel code (``parallel``: the probe env's ``parallel`` attribute, true for an
    Ocean env with ``num_threads > 1`` and ``num_envs >= 2``) while Numba's GNU OpenMP threads
    are live in this process: GNU OpenMP does not survive ``fork`` (Numba terminates a forked
    child that enters a parallel region), and a fork-started worker would die on its first step.
    Envs that run no parallel code are forked even then (they never touch OpenMP).
    """
    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return "spawn"
    if parallel and _omp_live():
        return "forkserver"
    return "fork"


_warned_forkserver = False  # the switch to 'forkserver' is announced once per process


def _announce_forkserver():
    global _warned_forkserver
    if _warned_forkserver:
        return
    _warned_forkserver = True
    warnings.warn(
        "Multiprocessing: the envs run Numba parallel code (num_threads > 1) and Numba's GNU OpenMP "
        "threads already run in this process, which forked workers cannot use; starting workers with "
        "start_method='forkserver' instead of 'fork'. forkserver pickles the env creators and arguments "
        "(use module-level functions or classes, or functools.partial of them) and imports the main "
        "script in each worker (keep the code that makes the vector env under "
        "`if __name__ == '__main__':`). Pass start_method='forkserver' (or 'spawn') explicitly to "
        "silence this warning (shown once per process)", RuntimeWarning, stacklevel=4)


#: Exit code of a worker that found itself re-running the main script during its start-up
#: (``spawn`` / ``forkserver`` without an ``if __name__ == '__main__':`` guard).
_MAIN_REIMPORT_EXIT = 87


def _bootstrapping() -> bool:
    """True while this process is a spawn / forkserver child still importing the main module
    (the state in which ``Process.start`` raises "... bootstrapping phase")."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def _main_script() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None):
        return f"module {spec.name!r} (python -m)"
    return repr(getattr(main, "__file__", None) or "the main script")


def _exit_reimported_main():
    """Called in a worker that is re-running the main script while it starts: the script makes a
    Multiprocessing env at import time. Say so on stderr and exit with a code the parent knows."""
    try:
        sys.stderr.write(
            "pufferlib: this Multiprocessing worker is starting (start_method 'spawn' or 'forkserver' "
            "imports the main script in every worker), and the main script creates a "
            "Multiprocessing env when imported, outside `if __name__ == '__main__':`; the worker exits "
            "and the parent raises APIUsageError\n")
        sys.stderr.flush()
    finally:
        os._exit(_MAIN_REIMPORT_EXIT)  # not SystemExit: forkserver's child wrapper turns it into exit 1


def _check_picklable(creators, args, kwargs, start_method, why, fork_hint):
    """Raise APIUsageError naming the first creator / argument that cannot be pickled, before any
    worker starts (``spawn`` and ``forkserver`` send them to the workers by pickling)."""
    from multiprocessing.reduction import ForkingPickler

    def fails(obj):
        try:
            ForkingPickler.dumps(obj)
        except Exception as e:  # noqa: BLE001 - PicklingError, TypeError, AttributeError...
            return f"{type(e).__name__}: {e}"
        return None

    where = (f"start_method={start_method!r}{why} sends the env creators and their arguments to each "
             "worker by pickling")
    seen = set()
    for k, creator in enumerate(creators):
        if id(creator) in seen:
            continue
        seen.add(id(creator))
        err = fails(creator)
        if err is not None:
            raise APIUsageError(
                f"env creator #{k} ({_creator_name(creator)}) cannot be pickled, and {where} ({err}). "
                "Use a module-level function or class instead of a lambda or a nested function "
                "(functools.partial(module_level_function, ...) to bind arguments)" + fork_hint)
    for what, values in (("env_args", args), ("env_kwargs", kwargs)):
        seen = set()
        for k, value in enumerate(values):
            if id(value) in seen:
                continue
            seen.add(id(value))
            err = fails(value)
            if err is not None:
                raise APIUsageError(
                    f"{what} of env instance #{k} cannot be pickled, and {where} ({err}). Pass picklable "
                    "values (or create the unpicklable object inside the creator)" + fork_hint)


def _fork_hint(parallel) -> str:
    """The 'or use fork' part of a fix, where fork is possible and safe for these envs."""
    if sys.platform.startswith("linux") and not (parallel and _omp_live()):
        return ", or start_method='fork'"
    return ""


def _spin_until_readable(poller, seconds):
    """Busy-poll ``poller`` for up to ``seconds`` (yielding the CPU between polls)."""
    end = time.perf_counter() + seconds
    while True:
        events = poller.poll(0)
        if events or time.perf_counter() >= end:
            return events
        os.sched_yield()


def _die_with_parent(parent_pid):
    """Linux: have the kernel SIGKILL this worker when its parent dies, even while it is stuck
    inside ``env.step`` and never reads the EOF on its pipe (``prctl(PR_SET_PDEATHSIG)``).
    ``parent_pid``: the pid the parent had (None: not known, e.g. under forkserver); if the
    parent is already gone, exit now."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # no prctl: the EOF on the pipe still ends an idle worker
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(0)


def _mp_worker(w, creators, args, kwargs, raws, specs, agent_range, spec, conn, close_conns, spin,
               share_worlds=True, parent_pid=None):
    """Worker process: a Serial over this worker's instances, driven by messages on ``conn``.

    ``parent_pid``: the main process's pid when the worker is its direct child and was started
    from its main thread (the parent-death signal follows the thread that started the child,
    so it is only set then); None otherwise."""
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    for c in close_conns:  # main's pipe ends inherited by fork: close them so EOF propagates
        c.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the main process
    try:
        arrays = _shared_arrays(raws, specs)
        lo, hi = agent_range
        buf = {name: arr[lo:hi] for name, arr in arrays.items()}
        # world arrays in shared memory the main process maps too (None: private worlds)
        alloc = WorldAllocator(conn) if share_worlds else None
        vec = Serial(creators, args, kwargs, len(creators), buf=buf, _spec=spec,
                     _index_base=w * len(creators), _world_allocator=alloc)
        blocks = alloc.blocks if alloc is not None else []
        if alloc is not None:
            alloc.open = False
        regions = {("block", j): np.frombuffer(b, np.uint8) for j, b in enumerate(blocks)}
        regions.update({("buf", name): arr.reshape(-1).view(np.uint8) for name, arr in arrays.items()})
        described = [describe_state(env, regions) for env in vec.envs]
        del regions
        conn.send((_READY, vec.instance_num_envs, described))
    except BaseException as e:  # noqa: BLE001 - everything is reported to the main process
        _report_error(conn, e)
        return
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    while True:
        if spin:
            _spin_until_readable(poller, _SPIN_WORKER_S)
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # main process gone
            break
        try:
            if msg == _STEP:
                infos = vec._step_all()
            elif msg == _CLOSE:
                vec.close()
                conn.send((_OK, []))
                break
            elif msg[0] == _STATE:  # (_STATE, instance, env id): a copy of that env's state
                try:
                    reply = (_STATE, True, vec.envs[msg[1]].state(msg[2], copy=True))
                except Exception as e:  # noqa: BLE001 - reported; the worker stays usable
                    reply = (_STATE, False, (f"{type(e).__module__}.{type(e).__qualname__}", str(e),
                                             traceback.format_exc()))
                conn.send(reply)
                continue
            else:
                infos = vec._reset_all(msg[1])
            conn.send((_OK, infos))
        except BaseException as e:  # noqa: BLE001
            _report_error(conn, e)
            break


def _report_error(conn, e):
    try:
        conn.send((_ERR, f"{type(e).__module__}.{type(e).__qualname__}", str(e), traceback.format_exc()))
    except Exception:
        pass


def _mp_shutdown(procs, conns, driver, blocks=None, state_cache=None, timeout=2.0):
    """Stop workers (CLOSE, then terminate, then kill), close pipes, unmap the world blocks
    not held by views handed out. Safe to call twice."""
    if state_cache is not None:
        state_cache.clear()
    for p, c in zip(procs, conns):
        if p.exitcode is None:
            try:
                c.send(_CLOSE)
            except Exception:
                pass
    deadline = timeout
    for p in procs:
        p.join(max(0.0, deadline / max(1, len(procs))))
    for p in procs:
        if p.exitcode is None:
            p.terminate()
    for p in procs:
        p.join(0.5)
        if p.exitcode is None:
            p.kill()
            p.join(0.5)
    for c in conns:
        try:
            c.close()
        except Exception:
            pass
    for p in procs:
        try:
            p.close()
        except Exception:
            pass
    procs.clear()
    conns.clear()
    for worker_blocks in blocks or ():
        close_blocks(worker_blocks)
    if driver:
        env = driver.pop()
        try:
            env.close()
        except Exception:
            pass


class Multiprocessing(_WorkerVecEnv):
    """Worker processes step their instances into shared-memory batch buffers.

    Each of ``num_workers`` processes runs a :class:`Serial` over ``num_envs / num_workers``
    instances whose buffers are slices of the shared batch buffers (allocated with
    ``multiprocessing.RawArray``), so observations are written by the workers straight
    into the arrays that ``recv`` returns. Commands travel over one pipe per worker; the
    main process waits with ``select.poll`` on the pipes and the process sentinels, and
    checks worker exit codes every 0.2 s while nothing arrives, so a dead worker is
    reported as :class:`pufferlib.WorkerError`, never a hang.

    Args:
        env_creators, env_args, env_kwargs, num_envs: as :class:`Serial`.
        num_workers: worker processes; default: the largest count <= the CPUs this process
            may use that fits num_envs and batch_size. ``num_envs % num_workers == 0``.
        batch_size: envs per batch (default num_envs: synchronous). A multiple of
            ``num_envs / num_workers`` that divides num_envs. Smaller values make
            ``recv`` asynchronous: it returns the first ready group of workers.
        seed: default seed for reset with ``seed=None``.
        start_method: ``'fork'``, ``'spawn'`` or ``'forkserver'`` (see :mod:`multiprocessing`), or
            None (default): ``'fork'`` on Linux,
            ``'spawn'`` elsewhere; on Linux ``'forkserver'`` instead of ``'fork'`` only when the
            envs run Numba parallel code (the probe env's ``parallel``: ``num_threads > 1``) and
            Numba's GNU OpenMP threads already run in this process (a forked worker entering a
            parallel region would be terminated by Numba); that switch is announced once per
            process with a RuntimeWarning. The chosen method is the ``start_method`` attribute.
            ``'spawn'`` / ``'forkserver'`` pickle the creators, env_args and env_kwargs (checked
            before any worker starts: APIUsageError naming the creator or instance that fails;
            use module-level functions or classes, ``functools.partial`` to bind arguments,
            not lambdas or nested functions), and import the main script in every worker: the
            code that makes the vector env must sit under ``if __name__ == '__main__':``
            (APIUsageError saying so otherwise). Details: docs/ray.md.
        spin: True to busy-poll briefly (main: up to 2 ms, workers: 1 ms, yielding the CPU
            between polls) before blocking on the pipes: lower latency per step when every
            worker has a core of its own. Default (None): on when ``num_workers`` is at most
            the number of CPUs this process may use, off otherwise.
        share_worlds: True (default): each worker's envs may allocate their world arrays in
            shared memory that this process maps too, so :meth:`state` returns zero-copy
            views (every Ocean env does). False: worlds stay private to the workers and
            ``state`` copies them from the worker on each call. Private memory can be faster
            to step where the system gives transparent huge pages to private memory but not
            to shared memory (Linux ``shmem_enabled=never``, a common default): on such a
            machine Snake (default config, 2 workers) stepped about 6% slower with shared worlds.
        timeout: None (default: wait for ever), or seconds (a positive finite number): a
            worker that does not answer within that time (while creating its envs, stepping,
            resetting or reading its state) raises :class:`pufferlib.WorkerError` naming the
            worker and what it was doing; the vector env is then closed (workers stopped).

    Attributes (besides those of Serial): num_workers, batch_size, envs_per_worker,
    workers_per_batch, pids (worker process ids). ``driver_env`` is a separate instance
    created in the main process (it is never stepped).

    Raises:
        APIUsageError: bad num_workers / batch_size / start_method, a creator returns a
            non-PufferEnv, instances differ, creators or arguments that cannot be pickled under
            spawn / forkserver, or (spawn / forkserver) a main script that creates this env when
            imported (no ``if __name__ == '__main__':`` guard).
        pufferlib.WorkerError: a worker failed (or, with ``timeout``, hung) while starting.
    """

    def __init__(self, env_creators, env_args, env_kwargs, num_envs, num_workers=None, batch_size=None,
                 seed=0, start_method=None, spin=None, share_worlds=True, timeout=None):
        if _bootstrapping():  # a spawn / forkserver worker re-running an unguarded main script
            _exit_reimported_main()
        num_workers, batch_size, epw = _worker_layout(num_envs, num_workers, batch_size, "Multiprocessing")
        self.timeout = _check_timeout(timeout)
        self._since = [time.monotonic()] * num_workers  # when each worker was last given work
        self._doing = ["creating its envs"] * num_workers
        self.share_worlds = check_bool("share_worlds", share_worlds)
        self.spin = bool(num_workers <= _available_cpus() if spin is None else spin)
        if len(env_creators) != num_envs:
            raise APIUsageError("Multiprocessing needs num_envs creators")
        if start_method is not None and start_method not in multiprocessing.get_all_start_methods():
            raise APIUsageError(f"unknown start_method {start_method!r}; valid: "
                                f"{multiprocessing.get_all_start_methods()}")
        driver, spec = _probe(env_creators[0], env_args[0], env_kwargs[0])
        try:
            parallel = bool(getattr(driver, "parallel", False))
            why = ""
            if start_method is None:  # decided after the probe: building it may start OpenMP threads
                start_method = _default_start_method(parallel)
                if start_method == "forkserver":
                    _announce_forkserver()
                    why = (" (chosen because the envs run num_threads > 1 and Numba's GNU OpenMP threads "
                           "already run in this process, which forked workers cannot use)")
            self._fork_hint = _fork_hint(parallel)
            if start_method != "fork":
                _check_picklable(env_creators, env_args, env_kwargs, start_method, why, self._fork_hint)
        except BaseException:
            driver.close()
            raise
        #: Numba's GNU OpenMP threads were live here when the workers were forked: a worker that
        #: enters a parallel region is terminated by Numba (explained in worker-death messages).
        self._omp_at_fork = start_method == "fork" and _omp_live()
        ctx = multiprocessing.get_context(start_method)
        self.start_method = start_method
        self.driver_env = driver
        self.emulated = driver.emulated
        agents = spec[2]
        self._init_spaces(spec, num_envs, batch_size * agents, seed)

        specs = buffer_specs(spec[0], spec[1], self.num_agents)
        raws = {}
        for name, (shape, dtype) in specs.items():
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            raws[name] = ctx.RawArray("B", max(1, nbytes))
        set_buffers(self, _shared_arrays(raws, specs))
        self.masks[:] = True
        self._setup_groups(num_envs, num_workers, batch_size, epw, agents)

        self._procs, self._conns = [], []
        self._driver_box = [driver]
        self._blocks = [[] for _ in range(num_workers)]  # per worker: its world blocks, mapped here
        self._state_cache = {}  # instance -> {name: (read-only whole array, per)}
        self._state_described = [None] * num_workers
        self._state_reply = None
        self._finalizer = weakref.finalize(self, _mp_shutdown, self._procs, self._conns, self._driver_box,
                                           self._blocks, self._state_cache)
        apw = self.agents_per_worker
        try:
            for w in range(num_workers):
                parent, child = ctx.Pipe(duplex=True)
                ks = range(w * epw, (w + 1) * epw)
                close_conns = self._conns + [parent] if start_method == "fork" else []
                # The kernel kills a worker whose parent dies (see _die_with_parent) only when
                # the parent is this process's main thread: not under forkserver (the forkserver
                # is the parent, and it exits with this process anyway).
                parent_pid = (os.getpid() if start_method != "forkserver"
                              and threading.current_thread() is threading.main_thread() else None)
                p = ctx.Process(
                    target=_mp_worker, name=f"pufferlib-worker-{w}", daemon=True,
                    args=(w, [env_creators[k] for k in ks], [env_args[k] for k in ks],
                          [env_kwargs[k] for k in ks], raws, specs, (w * apw, (w + 1) * apw), spec,
                          child, close_conns, self.spin, self.share_worlds, parent_pid))
                try:
                    p.start()
                except Exception as e:
                    parent.close()
                    child.close()
                    if start_method != "fork" and "pickle" in f"{type(e).__name__} {e}".lower():
                        raise APIUsageError(  # _check_picklable passed, yet pickling failed
                            f"start_method={start_method!r} pickles the worker's arguments, and this "
                            f"failed: {type(e).__name__}: {e}. Use module-level functions or classes "
                            "(functools.partial of them), or start_method='fork'") from e
                    raise
                child.close()
                self._procs.append(p)
                self._conns.append(parent)
            self._poller = select.poll()
            self._fd_worker = {}
            self._sentinel_worker = {}
            for w, (p, c) in enumerate(zip(self._procs, self._conns)):
                self._poller.register(c.fileno(), select.POLLIN)
                self._poller.register(p.sentinel, select.POLLIN)
                self._fd_worker[c.fileno()] = w
                self._sentinel_worker[p.sentinel] = w
            # handshake: each worker reports its instances' num_envs (or its setup error)
            self._instance_num_envs = [None] * num_workers
            self._pending = [True] * num_workers
            while any(self._pending):
                self._wait()
            self._done = [False] * num_workers
            self._ready_groups = []
        except BaseException:
            self._finalizer()
            raise
        offsets, total = [], 0
        for counts in self._instance_num_envs:
            offsets.append(total)
            total += sum(counts)
        self._worker_offsets = offsets
        self.instance_num_envs = [n for counts in self._instance_num_envs for n in counts]

    @property
    def pids(self):
        """Process ids of the workers (empty once closed)."""
        return [p.pid for p in self._procs]

    def _launch(self, w, msg):
        self._since[w] = time.monotonic()
        self._doing[w] = _DOING.get(msg[0] if isinstance(msg, tuple) else msg, "working")
        try:
            self._conns[w].send(msg)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self._worker_died(w)

    def _wait(self):
        """Block until at least one worker message arrives (or 0.2 s pass), and handle it."""
        events = _spin_until_readable(self._poller, _SPIN_MAIN_S) if self.spin else None
        if not events:
            events = self._poller.poll(_POLL_MS)
        if not events:
            for w, p in enumerate(self._procs):
                if p.exitcode is not None:
                    self._worker_died(w)
            if self.timeout is not None:
                now = time.monotonic()
                for w, pending in enumerate(self._pending):
                    if pending and now - self._since[w] > self.timeout:
                        self._worker_hung(w)
            return
        for fd, _ in events:
            w = self._fd_worker.get(fd)
            if w is not None:
                if self._pending[w]:
                    self._receive(w)
                elif self._conns[w].poll(0):
                    self._receive(w)  # an unexpected message or EOF: dead or misbehaving
            else:
                w = self._sentinel_worker[fd]
                if self._pending[w] and self._conns[w].poll(0):
                    self._receive(w)  # read what it sent before it exited
                else:
                    self._worker_died(w)

    def _receive(self, w):
        try:
            msg = self._conns[w].recv()
        except (EOFError, OSError):
            msg = None
        if msg is None:
            self._worker_died(w)
        tag = msg[0]
        if tag == _OK:
            self._on_result(w, msg[1])
        elif tag == _READY:
            self._pending[w] = False
            self._instance_num_envs[w] = msg[1]
            self._state_described[w] = msg[2]
        elif tag == ALLOC:
            self._give_block(w, msg[1])
        elif tag == _STATE:
            self._pending[w] = False
            self._state_reply = msg[1:]
        else:
            _, kind, text, tb = msg
            self._fail(w, kind, text, tb)

    def _give_block(self, w, nbytes):
        """A worker's env asks for world memory: create a shared block, keep our mapping, and
        pass the worker its file descriptor (see :mod:`pufferlib.vector.worlds`)."""
        from multiprocessing import reduction
        conn = self._conns[w]
        try:
            fd, block = new_block(nbytes)
        except OSError as e:
            warnings.warn(f"Multiprocessing: no shared memory for a world of {nbytes} bytes in worker {w} "
                          f"({e}); its env allocates privately and state() copies it from the worker",
                          RuntimeWarning, stacklevel=2)
            reason = str(e) or type(e).__name__
            fd = block = None
        try:
            if block is None:
                conn.send((ALLOC, reason))
                return
            self._blocks[w].append(block)
            conn.send((ALLOC, None))
            reduction.send_handle(conn, fd, self._procs[w].pid)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self._worker_died(w)
        finally:
            if fd is not None:
                os.close(fd)

    def _instance_state(self, k, local, copy):
        w, i = divmod(k, self.envs_per_worker)
        while self._pending[w]:  # a batch in flight on this worker: let it finish writing
            self._wait()
        described = self._state_described[w][i]
        if described is None:
            return {}
        if described == FETCH:
            return as_state(self._fetch_state(w, i, local), copy)
        arrays = self._state_cache.get(k)
        if arrays is None:
            regions = {("block", j): np.frombuffer(b, np.uint8) for j, b in enumerate(self._blocks[w])}
            regions.update({("buf", name): getattr(self, name).reshape(-1).view(np.uint8)
                            for name in buffer_specs(self.single_observation_space,
                                                     self.single_action_space, 1)})
            arrays = self._state_cache[k] = build_arrays(described, regions)
        return as_state(state_rows(arrays, local, self.instance_num_envs[k]), copy)

    def _fetch_state(self, w, i, local):
        """A copy of ``state(local)`` of instance ``i`` of worker ``w``, made by the worker."""
        while self._pending[w]:
            self._wait()
        self._pending[w] = True
        self._launch(w, (_STATE, i, local))
        while self._pending[w]:
            self._wait()
        (ok, data), self._state_reply = self._state_reply, None
        if not ok:
            kind, text, tb = data
            raise WorkerError(f"worker {w} raised {kind} in state(): {text}\n--- worker traceback ---\n{tb}")
        return data

    def _fail(self, w, kind, text, tb):
        pid = self._procs[w].pid if w < len(self._procs) else None
        if self._flag == _NEED_RESET and not hasattr(self, "_worker_offsets"):
            # failure while creating envs: re-raise pufferlib's own setup errors as themselves
            self._finalizer()
            self._closed = True
            if kind == "pufferlib.exceptions.APIUsageError":
                raise APIUsageError(f"{text} (in worker {w})")
            if kind == "pufferlib.exceptions.EnvironmentSetupError":
                raise EnvironmentSetupError(f"{text} (in worker {w})")
            message = f"worker {w} (pid {pid}) raised {kind} while creating its envs: {text}\n{tb}"
        else:
            message = f"worker {w} (pid {pid}) raised {kind}: {text}\n--- worker traceback ---\n{tb}"
        self._broken = message
        self._finalizer()
        raise WorkerError(message)

    def _worker_died(self, w):
        p = self._procs[w]
        p.join(0.5)
        starting = not hasattr(self, "_worker_offsets")
        if starting and p.exitcode == _MAIN_REIMPORT_EXIT and self.start_method != "fork":
            self._closed = True
            self._finalizer()
            raise APIUsageError(
                f"start_method={self.start_method!r} imports the main script ({_main_script()}) in every "
                "worker, and that script creates a Multiprocessing env when it is imported, so worker "
                f"{w} could not start. Put the code that creates and uses the vector env under "
                "`if __name__ == '__main__':` (see 'Safe importing of main module' in "
                "https://docs.python.org/3/library/multiprocessing.html#the-spawn-and-forkserver-start-methods)"
                + self._fork_hint)
        message = (f"worker {w} (pid {p.pid}) {_describe_exit(p.exitcode)} "
                   "without reporting an error; its envs are lost")
        if self._omp_at_fork and p.exitcode == -signal.SIGTERM:
            message += (". It was forked while Numba's GNU OpenMP threads ran in this process, and Numba "
                        "terminates a forked process that runs parallel code (its stderr says 'fork() called "
                        "from a process already using GNU OpenMP'): use start_method='forkserver' (or "
                        "'spawn'), or num_threads=1 for the workers' envs")
        elif starting:
            message += (f" (it died while creating its envs, start_method={self.start_method!r}; see its "
                        "stderr above. Libraries that are not fork-safe need start_method='spawn' or "
                        "'forkserver')")
        self._broken = message
        self._finalizer()
        raise WorkerError(message)

    def _worker_hung(self, w):
        message = (f"worker {w} (pid {self._procs[w].pid}) did not answer within timeout={self.timeout:g} s "
                   f"while {self._doing[w]}; the vector env is closed and its workers are stopped")
        self._broken = message
        self._procs[w].kill()  # it does not answer: asking it to stop would only wait longer
        self._finalizer()
        raise WorkerError(message)

    def close(self):
        """Stop the workers (ask, then terminate, then kill), close pipes and the driver env.

        Idempotent; also runs when the object is garbage collected and at interpreter exit.
        Arrays returned earlier stay valid (the shared memory lives as long as they do),
        ``state`` views included: they keep their world block mapped, frozen at the last
        step, until they are garbage collected; ``state`` itself raises APIUsageError.
        """
        self._closed = True
        self._finalizer()
