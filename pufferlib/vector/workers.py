"""Worker layout and batch scheduling shared by the Multiprocessing and Ray backends."""
from __future__ import annotations

import numpy as np

from pufferlib.checks import check_int
from pufferlib.exceptions import APIUsageError
from pufferlib.vector.common import _CAN_RECV, _CAN_SEND, _available_cpus, _VecEnv

# Worker protocol: main -> worker messages and worker -> main reply tags (the world
# allocation tag, 3, is pufferlib.vector.worlds.ALLOC). ``(_STATE, instance, env id)`` asks
# a worker for a copy of one env's state; it answers ``(_STATE, ok, data)``.
_STEP, _RESET, _CLOSE, _STATE = 1, 2, 3, 4
_OK, _ERR, _READY = 0, 1, 2

_POLL_MS = 200  # how long the main process blocks before it checks worker liveness

#: What a worker is doing after each command (for timeout messages).
_DOING = {_STEP: "stepping its envs", _RESET: "resetting its envs", _STATE: "reading its state"}


def _check_timeout(timeout):
    """``timeout`` option of the worker backends: None or a positive finite number of seconds."""
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not np.isfinite(timeout) or timeout <= 0):
        raise APIUsageError(f"timeout must be None or a positive number of seconds, got {timeout!r}")
    return None if timeout is None else float(timeout)


def _worker_layout(num_envs, num_workers, batch_size, backend):
    """Validate / choose ``(num_workers, batch_size)``; raise APIUsageError with the rule broken."""
    num_envs = check_int("num_envs", num_envs, 1)
    if batch_size is None:
        batch_size = num_envs
    batch_size = check_int("batch_size", batch_size, 1)
    if batch_size > num_envs or num_envs % batch_size:
        raise APIUsageError(f"batch_size={batch_size} must divide num_envs={num_envs}")
    if num_workers is None:
        cpus = _available_cpus()
        valid = [w for w in range(1, num_envs + 1)
                 if num_envs % w == 0 and batch_size % (num_envs // w) == 0]
        low = [w for w in valid if w <= cpus]
        num_workers = max(low) if low else min(valid)
    num_workers = check_int("num_workers", num_workers, 1)
    if num_workers > num_envs:
        raise APIUsageError(f"num_workers={num_workers} is more than num_envs={num_envs}; "
                            "each worker needs at least one env")
    if num_envs % num_workers:
        raise APIUsageError(f"num_envs={num_envs} must be divisible by num_workers={num_workers} "
                            f"({backend} gives each worker the same number of envs)")
    envs_per_worker = num_envs // num_workers
    if batch_size % envs_per_worker:
        raise APIUsageError(
            f"batch_size={batch_size} must be a multiple of envs per worker (num_envs / num_workers = "
            f"{num_envs}/{num_workers} = {envs_per_worker}): a batch is made of whole workers")
    return num_workers, batch_size, envs_per_worker


class _WorkerVecEnv(_VecEnv):
    """Batch scheduling over worker groups, shared by Multiprocessing and Ray.

    Workers ``g*wpb .. (g+1)*wpb - 1`` form batch group ``g`` (``wpb`` = workers per
    batch), whose agents are contiguous in the batch buffers (zero-copy batches).
    ``recv`` returns the first group that is ready among those not yet returned in the
    current round; a round ends when every group has been returned once, so each env
    appears exactly once per round and no group starves.
    """

    def _setup_groups(self, num_envs, num_workers, batch_size, envs_per_worker, agents):
        self.num_workers = num_workers
        self.batch_size = batch_size
        self.envs_per_worker = envs_per_worker
        self.workers_per_batch = batch_size // envs_per_worker
        self.num_groups = num_workers // self.workers_per_batch
        self.agents_per_worker = envs_per_worker * agents
        self.agent_ids = np.arange(self.num_agents)
        apb = self.agents_per_batch
        self._group_views = []  # per group: views of the batch buffers (the buffers themselves if one)
        for g in range(self.num_groups):
            arrays = (self.observations, self.rewards, self.terminals, self.truncations,
                      self.agent_ids, self.masks, self.actions)
            if self.num_groups > 1:
                arrays = tuple(a[g * apb:(g + 1) * apb] for a in arrays)
            self._group_views.append(arrays)
        self._pending = [False] * num_workers
        self._done = [False] * num_workers
        self._worker_infos = [[] for _ in range(num_workers)]
        self._ready_groups = []          # groups fully done, in completion order
        self._due = set()                # groups not yet returned in this round
        self._group = None               # group returned by the last recv (send goes to it)

    def _group_workers(self, g):
        wpb = self.workers_per_batch
        return range(g * wpb, (g + 1) * wpb)

    def _on_result(self, w, infos):
        self._pending[w] = False
        self._done[w] = True
        self._worker_infos[w] = infos
        g = w // self.workers_per_batch
        if all(self._done[i] for i in self._group_workers(g)):
            self._ready_groups.append(g)

    def _launch_group(self, workers, msg):
        for w in workers:
            self._pending[w] = True
            self._done[w] = False
            self._launch(w, msg)

    def _drain(self):
        while any(self._pending):
            self._wait()
        self._done = [False] * self.num_workers
        self._ready_groups = []
        self._worker_infos = [[] for _ in range(self.num_workers)]

    def async_reset(self, seed=None):
        """Start resetting every worker; ``recv`` returns the first ready batch.

        Pending steps are finished and discarded first. Worker ``w`` resets its instances
        with ``seed + offset`` as in the module docstring.

        Raises:
            APIUsageError: bad seed or closed env. pufferlib.WorkerError: a worker failed.
        """
        self._usable()
        seed = self._resolve_seed(seed)
        self._drain()
        self._flag = _CAN_RECV
        for w in range(self.num_workers):
            self._pending[w] = True
            self._done[w] = False
            self._launch(w, (_RESET, seed + self._worker_offsets[w]))
        self._due = set(range(self.num_groups))
        self._group = None

    def send(self, actions):
        """Copy ``actions`` into the batch's action buffer and start stepping its workers.

        Args:
            actions: ``(agents_per_batch, *action_shape)`` for the batch last returned by
                ``recv``; integer dtype in range for discrete spaces, float for Box.

        Raises:
            APIUsageError: before reset, twice without recv, bad shape/dtype/range.
            pufferlib.WorkerError: a worker failed.
        """
        a = self._send_precheck(actions)
        g = self._group
        np.copyto(self._group_views[g][6], a, casting="unsafe")
        self._flag = _CAN_RECV
        self._launch_group(self._group_workers(g), _STEP)

    def recv(self):
        """Wait for the first ready batch of workers and return it.

        Returns:
            ``(observations, rewards, terminals, truncations, infos, agent_ids, masks)``:
            ``(agents_per_batch, *obs_shape)``, ``(agents_per_batch,)`` float32 / bool /
            bool (views of the shared batch buffers, zero copy), list of dicts, the global
            agent indices of the batch ``(agents_per_batch,)`` int64 (env ids for
            single-agent envs), and masks ``(agents_per_batch,)`` bool.

        Raises:
            APIUsageError: no pending send / async_reset. pufferlib.WorkerError: a worker
            died (its exit code / signal) or raised (its traceback).
        """
        self._recv_precheck()
        while True:
            g = next((g for g in self._ready_groups if g in self._due), None)
            if g is not None:
                break
            self._wait()
        self._ready_groups.remove(g)
        self._due.discard(g)
        if not self._due:
            self._due = set(range(self.num_groups))
        infos = []
        for w in self._group_workers(g):
            self._done[w] = False
            if self._worker_infos[w]:
                infos.extend(self._worker_infos[w])
                self._worker_infos[w] = []
        self._group = g
        self._flag = _CAN_SEND
        o, r, d, t, ids, m, _ = self._group_views[g]
        return o, r, d, t, infos, ids, m
