"""The Ray backend: Ray actors, each running Serial; results are copied back.

``ray`` is an optional dependency, imported when a :class:`Ray` env is created.
"""
from __future__ import annotations

import time

from pufferlib.environment import set_buffers
from pufferlib.exceptions import EnvironmentSetupError, WorkerError
from pufferlib.vector.common import _probe
from pufferlib.vector.serial import Serial
from pufferlib.vector.workers import _DOING, _POLL_MS, _STEP, _check_timeout, _worker_layout, _WorkerVecEnv
from pufferlib.vector.worlds import as_state

class _RayWorker:
    """Ray actor body: a Serial over some instances with its own buffers."""

    def __init__(self, creators, args, kwargs, spec):
        self.vec = Serial(creators, args, kwargs, len(creators), _spec=spec)

    def instance_num_envs(self):
        return self.vec.instance_num_envs

    def _out(self, infos):
        v = self.vec
        return (v.observations.copy(), v.rewards.copy(), v.terminals.copy(), v.truncations.copy(),
                v.masks.copy(), infos)

    def reset(self, seed):
        return self._out(self.vec._reset_all(seed))

    def step(self, actions):
        self.vec.actions[:] = actions
        return self._out(self.vec._step_all())

    def state(self, k, env_id):
        return self.vec.envs[k].state(env_id, copy=True)

    def close(self):
        self.vec.close()


class Ray(_WorkerVecEnv):
    """Ray actors, each running :class:`Serial` over ``num_envs / num_workers`` instances.

    Results are copied from the actors into local batch buffers. Same batching rules and
    interface as :class:`Multiprocessing`. Needs the optional dependency ``ray``; calls
    ``ray.init()`` when Ray is not initialized yet.

    Raises:
        pufferlib.EnvironmentSetupError: ``ray`` is not installed.
        APIUsageError: as Multiprocessing. pufferlib.WorkerError: an actor died or raised,
            or (``timeout``, as Multiprocessing) did not answer in time.
    """

    def __init__(self, env_creators, env_args, env_kwargs, num_envs, num_workers=None, batch_size=None,
                 seed=0, ray_init_kwargs=None, timeout=None):
        try:
            import ray
        except ImportError as e:
            raise EnvironmentSetupError(
                "the Ray backend needs the optional dependency ray: "
                "pip install 'pufferlib-numba[ray]'") from e
        self._ray = ray
        num_workers, batch_size, epw = _worker_layout(num_envs, num_workers, batch_size, "Ray")
        self.timeout = _check_timeout(timeout)
        self._since = [time.monotonic()] * num_workers
        self._doing = ["creating its envs"] * num_workers
        driver, spec = _probe(env_creators[0], env_args[0], env_kwargs[0])
        self.driver_env = driver
        self.emulated = driver.emulated
        agents = spec[2]
        self._init_spaces(spec, num_envs, batch_size * agents, seed)
        set_buffers(self)
        self._setup_groups(num_envs, num_workers, batch_size, epw, agents)
        if not ray.is_initialized():
            ray.init(**(ray_init_kwargs or {"include_dashboard": False}))
        actor_cls = ray.remote(_RayWorker)
        self._actors = [actor_cls.remote([env_creators[k] for k in range(w * epw, (w + 1) * epw)],
                                         [env_args[k] for k in range(w * epw, (w + 1) * epw)],
                                         [env_kwargs[k] for k in range(w * epw, (w + 1) * epw)], spec)
                        for w in range(num_workers)]
        self._futures = {}
        try:
            counts = ray.get([a.instance_num_envs.remote() for a in self._actors], timeout=self.timeout)
        except ray.exceptions.GetTimeoutError as e:
            self.close()
            raise WorkerError(f"a Ray actor did not answer within timeout={self.timeout:g} s while creating its "
                              f"envs; the actors are stopped") from e
        except Exception as e:
            self.close()
            raise WorkerError(f"a Ray actor failed while creating its envs: {e}") from e
        offsets, total = [], 0
        for c in counts:
            offsets.append(total)
            total += sum(c)
        self._worker_offsets = offsets
        self.instance_num_envs = [n for c in counts for n in c]

    def _launch(self, w, msg):
        self._since[w] = time.monotonic()
        self._doing[w] = _DOING.get(msg[0] if isinstance(msg, tuple) else msg, "working")
        actor = self._actors[w]
        if msg == _STEP:
            apw = self.agents_per_worker
            self._futures[w] = actor.step.remote(self.actions[w * apw:(w + 1) * apw].copy())
        else:
            self._futures[w] = actor.reset.remote(msg[1])

    def _wait(self):
        refs = {f: w for w, f in self._futures.items()}
        ready, _ = self._ray.wait(list(refs), num_returns=1, timeout=_POLL_MS / 1000)
        if not ready and self.timeout is not None:
            now = time.monotonic()
            for w in self._futures:
                if now - self._since[w] > self.timeout:
                    self._broken = (f"Ray worker {w} did not answer within timeout={self.timeout:g} s while "
                                    f"{self._doing[w]}; the vector env is closed and its actors are stopped")
                    self.close()
                    raise WorkerError(self._broken)
        for f in ready:
            w = refs[f]
            del self._futures[w]
            try:
                obs, rew, term, trunc, masks, infos = self._ray.get(f)
            except Exception as e:  # RayActorError / RayTaskError carry the remote traceback
                self._broken = f"Ray worker {w} failed: {e}"
                self.close()
                raise WorkerError(self._broken) from e
            apw = self.agents_per_worker
            sl = slice(w * apw, (w + 1) * apw)
            self.observations[sl] = obs
            self.rewards[sl] = rew
            self.terminals[sl] = term
            self.truncations[sl] = trunc
            self.masks[sl] = masks
            self._on_result(w, infos)

    def _instance_state(self, k, local, copy):
        w, i = divmod(k, self.envs_per_worker)
        try:  # an actor runs its calls in order: this one after any step in flight
            data = self._ray.get(self._actors[w].state.remote(i, local), timeout=self.timeout)
        except self._ray.exceptions.GetTimeoutError as e:
            raise WorkerError(f"Ray worker {w} did not answer within timeout={self.timeout:g} s while reading "
                              f"its state") from e
        except Exception as e:
            raise WorkerError(f"Ray worker {w} failed in state(): {e}") from e
        return as_state(data, copy)  # copy=False: read-only arrays from the object store, or copies

    def close(self):
        """Kill the actors and close the driver env. Idempotent. Does not shut Ray down."""
        if self._closed:
            return
        self._closed = True
        for a in getattr(self, "_actors", []):
            try:
                self._ray.kill(a)
            except Exception:
                pass
        self._actors = []
        self.driver_env.close()
