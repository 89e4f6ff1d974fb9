"""The Ray backend: Ray actors, each running Serial; results are copied back.

``ray`` is an optional dependency, imported when a :class:`Ray` env is created. Running on
several machines, timeouts, costs and limits: docs/ray.md.

Copies per batch (each array of a step's results): the actor returns views of its own
buffers, and Ray serializes them into the reply or its object store when the call returns
(the one copy needed to move data between processes). ``ray.get`` in this process returns
read-only NumPy arrays that read that serialized data in place (zero copy for arrays in the
object store), and :class:`Ray` copies them once into its batch buffers, which ``recv``
returns. Actions go the other way the same way: serialized by ``.remote()``, copied once
into the actor's action buffer.
"""
from __future__ import annotations

import os
import time
import uuid
import warnings

from pufferlib.environment import set_buffers
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError, WorkerError
from pufferlib.vector.common import _probe
from pufferlib.vector.serial import Serial
from pufferlib.vector.workers import (
    _DOING,
    _POLL_MS,
    _RESET,
    _STATE,
    _STEP,
    _check_timeout,
    _worker_layout,
    _WorkerVecEnv,
)
from pufferlib.vector.worlds import as_state

#: With ``timeout`` set, how long Ray may take to start the actor processes (before the envs
#: are created, which ``timeout`` bounds): a fresh worker process imports Python, NumPy, Numba
#: and pufferlib, which takes seconds on a busy machine.
_ACTOR_START_S = 60.0
#: How long ``close`` lets the actors close their envs before it kills them.
_CLOSE_S = 2.0


class _RayWorker:
    """Ray actor body: a Serial over some instances with its own buffers.

    ``step`` / ``reset`` return views of the Serial's buffers, not copies: Ray serializes a
    call's return value when the call returns, before the actor runs its next call.
    """

    def __init__(self):
        self.vec = None

    def ready(self):
        """Answers once the actor process runs: ``os.getpid()``."""
        return os.getpid()

    def create(self, creators, args, kwargs, spec):
        """Create this actor's instances; return their ``num_envs``."""
        self.vec = Serial(creators, args, kwargs, len(creators), _spec=spec)
        return self.vec.instance_num_envs

    def _out(self, infos):
        v = self.vec
        return v.observations, v.rewards, v.terminals, v.truncations, v.masks, infos

    def reset(self, seed):
        return self._out(self.vec._reset_all(seed))

    def step(self, actions):
        self.vec.actions[:] = actions  # the one copy of the (read-only, deserialized) actions
        return self._out(self.vec._step_all())

    def state(self, k, env_id):
        return self.vec.envs[k].state(env_id)  # views: serialized (copied) by Ray on return

    def close(self):
        if self.vec is not None:
            self.vec.close()


def _remote_cause(e):
    """The exception raised inside a Ray task (``RayTaskError.cause``), or None."""
    return getattr(e, "cause", None)


class Ray(_WorkerVecEnv):
    """Ray actors, each running :class:`Serial` over ``num_envs / num_workers`` instances.

    Same batching rules, call order and interface as :class:`Multiprocessing`; results are
    copied from the actors into local batch buffers (once per array, see the module
    docstring), so one ``step`` costs a Ray round trip per worker (milliseconds: Ray pays
    off across machines, not on one; docs/ray.md).

    Args:
        env_creators, env_args, env_kwargs, num_envs, num_workers, batch_size, seed: as
            :class:`Multiprocessing`. Creators and arguments travel to the actors by Ray's
            cloudpickle (lambdas and closures work); the classes and functions they refer to
            by module must be importable on every node.
        ray_init_kwargs: None or a dict of keyword arguments for ``ray.init`` (e.g.
            ``{"address": "auto"}`` to join a running cluster), used only when Ray is not
            initialized in this process yet (a RuntimeWarning says when it is ignored).
            Default: ``ray.init(include_dashboard=False)``, a local Ray on this machine.
        ray_actor_options: None or a dict of Ray actor options for every actor (``num_cpus``,
            ``num_gpus``, ``resources``, ``scheduling_strategy``, ...; not ``name``). Ray's
            default reserves 1 CPU to place an actor and none while it runs, so actors may
            pile up on one node; ``{'num_cpus': 1}`` spreads them over the cluster's CPUs.
        timeout: None (wait for ever) or seconds, a positive finite number: an actor that
            does not answer within that time while creating its envs, stepping, resetting or
            reading its state raises :class:`pufferlib.WorkerError` naming it and what it was
            doing; the vector env is then closed (actors killed). Ray's start-up of the actor
            processes, before the envs are created, may take up to ``max(timeout, 60)`` s.

    Attributes (besides those of Serial): num_workers, batch_size, envs_per_worker,
    workers_per_batch, pids (the actors' process ids, on their nodes; empty once closed),
    actor_names (the actors' Ray names, listed by ``ray.util.list_named_actors()`` while
    they run). ``driver_env`` is a separate instance created in this process (never stepped).

    Raises:
        pufferlib.EnvironmentSetupError: ``ray`` is not installed, or ``ray.init`` failed
            (e.g. no cluster at the given address).
        APIUsageError: as Multiprocessing; ``ray_init_kwargs`` / ``ray_actor_options`` not a
            dict or not accepted by Ray; a creator raised APIUsageError inside an actor.
        pufferlib.WorkerError: an actor died or raised, or (``timeout``) did not answer in time.
    """

    def __init__(self, env_creators, env_args, env_kwargs, num_envs, num_workers=None, batch_size=None,
                 seed=0, ray_init_kwargs=None, ray_actor_options=None, timeout=None):
        try:
            import ray
        except ImportError as e:
            raise EnvironmentSetupError(
                "the Ray backend needs the optional dependency ray: "
                "pip install 'pufferlib-numba[ray]'") from e
        self._ray = ray
        num_workers, batch_size, epw = _worker_layout(num_envs, num_workers, batch_size, "Ray")
        self.timeout = _check_timeout(timeout)
        if ray_init_kwargs is not None and not isinstance(ray_init_kwargs, dict):
            raise APIUsageError(f"ray_init_kwargs must be None or a dict of ray.init keyword arguments, "
                                f"got {ray_init_kwargs!r}")
        if ray_actor_options is not None and not isinstance(ray_actor_options, dict):
            raise APIUsageError(f"ray_actor_options must be None or a dict of actor options (e.g. "
                                f"{{'num_cpus': 1}}), got {ray_actor_options!r}")
        if ray_actor_options and "name" in ray_actor_options:
            raise APIUsageError("ray_actor_options may not set 'name': the Ray backend names its actors "
                                "(see the actor_names attribute)")
        _init_ray(ray, ray_init_kwargs)
        self._actors = []
        self.pids = []
        self._futures = {}
        self._since = [time.monotonic()] * num_workers
        self._doing = ["starting"] * num_workers
        prefix = f"pufferlib-{uuid.uuid4().hex[:8]}"
        self.actor_names = [f"{prefix}-worker-{w}" for w in range(num_workers)]
        driver, spec = _probe(env_creators[0], env_args[0], env_kwargs[0])
        self.driver_env = driver
        try:
            self.emulated = driver.emulated
            agents = spec[2]
            self._init_spaces(spec, num_envs, batch_size * agents, seed)
            set_buffers(self)
            self._setup_groups(num_envs, num_workers, batch_size, epw, agents)
            actor_cls = ray.remote(_RayWorker)
            options = dict(ray_actor_options or {})
            try:
                actor_cls.options(**options)  # Ray checks the options here
            except (TypeError, ValueError) as e:
                raise APIUsageError(f"ray_actor_options={options!r} are not accepted by Ray: {e}") from e
            self._actors = [actor_cls.options(name=name, **options).remote() for name in self.actor_names]
            limit = None if self.timeout is None else max(self.timeout, _ACTOR_START_S)
            self.pids = self._get_all([a.ready.remote() for a in self._actors], limit, "starting (Ray could "
                                      "not start its process; check ray.available_resources())")
            counts = self._get_all(
                [a.create.remote(env_creators[w * epw:(w + 1) * epw], env_args[w * epw:(w + 1) * epw],
                                 env_kwargs[w * epw:(w + 1) * epw], spec)
                 for w, a in enumerate(self._actors)], self.timeout, "creating its envs")
        except BaseException:
            self._broken = "failed while starting"  # close() kills the actors without asking them
            self.close()
            raise
        offsets, total = [], 0
        for c in counts:
            offsets.append(total)
            total += sum(c)
        self._worker_offsets = offsets
        self.instance_num_envs = [n for c in counts for n in c]

    def _get_all(self, refs, limit, doing):
        """``ray.get`` of one call per actor, in order; raise WorkerError (or the creator's own
        APIUsageError / EnvironmentSetupError) naming the actor that failed or did not answer."""
        ray = self._ray
        start = time.monotonic()
        index = {r: w for w, r in enumerate(refs)}
        left = list(refs)
        while left:
            wait = None if limit is None else max(0.0, limit - (time.monotonic() - start))
            ready, left = ray.wait(left, num_returns=1, timeout=wait)
            for r in ready:
                w = index[r]
                try:
                    ray.get(r)
                except Exception as e:  # noqa: BLE001 - reported with the actor's traceback
                    cause = _remote_cause(e)
                    if isinstance(cause, (APIUsageError, EnvironmentSetupError)):
                        raise type(cause)(f"{cause} (in Ray worker {w})") from e
                    raise WorkerError(f"Ray worker {w} failed while {doing}: {e}") from e
            if left and limit is not None and time.monotonic() - start >= limit:
                w = index[left[0]]
                raise WorkerError(f"Ray worker {w} did not answer within {limit:g} s while {doing}; "
                                  "the actors are stopped")
        return [ray.get(r) for r in refs]

    def _launch(self, w, msg):
        self._since[w] = time.monotonic()
        self._doing[w] = _DOING.get(msg[0] if isinstance(msg, tuple) else msg, "working")
        actor = self._actors[w]
        if msg == _STEP:
            apw = self.agents_per_worker
            # serialized by .remote() right away: no copy of our buffer needed first
            self._futures[w] = actor.step.remote(self.actions[w * apw:(w + 1) * apw])
        elif msg[0] == _RESET:
            self._futures[w] = actor.reset.remote(msg[1])

    def _break(self, message, cause=None):
        """Record a worker failure, kill the actors, raise WorkerError."""
        self._broken = message
        self.close()
        raise WorkerError(message) from cause

    def _wait(self):
        refs = {f: w for w, f in self._futures.items()}
        ready, _ = self._ray.wait(list(refs), num_returns=1, timeout=_POLL_MS / 1000)
        if not ready and self.timeout is not None:
            now = time.monotonic()
            for w in self._futures:
                if now - self._since[w] > self.timeout:
                    self._break(f"Ray worker {w} did not answer within timeout={self.timeout:g} s while "
                                f"{self._doing[w]}; the vector env is closed and its actors are stopped")
        for f in ready:
            w = refs[f]
            del self._futures[w]
            try:
                # read-only arrays reading Ray's serialized reply / object store in place
                obs, rew, term, trunc, masks, infos = self._ray.get(f)
            except Exception as e:  # RayActorError / RayTaskError carry the remote traceback
                self._break(f"Ray worker {w} (pid {self.pids[w]}) failed while {self._doing[w]}: {e}", e)
            apw = self.agents_per_worker
            sl = slice(w * apw, (w + 1) * apw)
            self.observations[sl] = obs  # the one copy into the batch buffers
            self.rewards[sl] = rew
            self.terminals[sl] = term
            self.truncations[sl] = trunc
            self.masks[sl] = masks
            del obs, rew, term, trunc, masks  # release the object store's copy now
            self._on_result(w, infos)

    def _instance_state(self, k, local, copy):
        w, i = divmod(k, self.envs_per_worker)
        ray = self._ray
        self._since[w] = time.monotonic()
        self._doing[w] = _DOING[_STATE]
        ref = self._actors[w].state.remote(i, local)  # runs after any step in flight on that actor
        ready, _ = ray.wait([ref], timeout=self.timeout)
        if not ready:
            self._break(f"Ray worker {w} did not answer within timeout={self.timeout:g} s while reading its "
                        "state; the vector env is closed and its actors are stopped")
        try:
            data = ray.get(ref)
        except ray.exceptions.RayActorError as e:
            self._break(f"Ray worker {w} (pid {self.pids[w]}) died while reading its state: {e}", e)
        except Exception as e:  # noqa: BLE001 - the env's state() raised; the actor stays usable
            raise WorkerError(f"Ray worker {w} raised in state(): {e}") from e
        # copy=False: read-only arrays reading the object store in place (a snapshot)
        return as_state(data, copy)

    def close(self):
        """Let the actors close their envs (up to 2 s), kill them, close the driver env.

        Idempotent. Does not shut Ray down (``ray.shutdown()`` does). Arrays returned earlier
        stay readable (they belong to this process) but are no longer updated.
        """
        if self._closed:
            return
        self._closed = True
        actors, self._actors = self._actors, []
        self.pids = []
        if actors and self._broken is None:
            try:
                refs = [a.close.remote() for a in actors]
                self._ray.wait(refs, num_returns=len(refs), timeout=_CLOSE_S)
            except Exception:  # noqa: BLE001 - they are killed next anyway
                pass
        for a in actors:
            try:
                self._ray.kill(a)
            except Exception:  # noqa: BLE001
                pass
        driver = getattr(self, "driver_env", None)
        if driver is not None:
            driver.close()


def _init_ray(ray, ray_init_kwargs):
    """``ray.init(**ray_init_kwargs)`` unless Ray is initialized; clear errors when it fails."""
    if ray.is_initialized():
        if ray_init_kwargs is not None:
            warnings.warn(f"Ray backend: ray_init_kwargs={ray_init_kwargs!r} ignored, Ray is already "
                          "initialized in this process; call ray.shutdown() first to start it with these "
                          "arguments", RuntimeWarning, stacklevel=4)
        return
    kwargs = {"include_dashboard": False} if ray_init_kwargs is None else ray_init_kwargs
    try:
        ray.init(**kwargs)
    except TypeError as e:
        raise APIUsageError(f"ray_init_kwargs={kwargs!r} are not accepted by ray.init: {e}") from e
    except Exception as e:  # ConnectionError (no cluster at that address), ValueError, ...
        raise EnvironmentSetupError(
            f"ray.init(**{kwargs!r}) failed: {type(e).__name__}: {e}. To join a cluster, start it first "
            "(`ray start --head` on one machine, `ray start --address=HEAD_IP:6379` on the others) and "
            "pass ray_init_kwargs={'address': 'auto'} on a machine of the cluster; without an address "
            "Ray starts a local instance (docs/ray.md)") from e
