"""Vectorization: run many PufferEnv instances as one batched environment.

:func:`make` builds a vectorized env from an *env creator*: a callable called as
``creator(*env_args, buf=<dict of buffer slices>, **env_kwargs)`` that returns a
:class:`pufferlib.PufferEnv`. One instance may simulate several agents
(``num_agents``) and several environments (attribute ``num_envs``, default 1).

Backends (all share the same interface, see :class:`Serial`):

- ``'Native'`` (or the class ``pufferlib.PufferEnv``): the creator builds ONE native
  PufferEnv that already vectorizes internally; ``make`` returns that env itself.
- ``'Serial'``: instances stepped one after another in the main process.
- ``'Multiprocessing'``: worker processes, each running Serial over its instances,
  writing straight into shared-memory batch buffers (zero copy).
- ``'Ray'``: Ray actors, each running Serial; results are copied back.

Buffers. The vectorizer owns one set of batch buffers, shaped and typed as
:func:`pufferlib.environment.buffer_specs` says for all ``num_agents`` agents:
``observations (num_agents, *obs_shape)`` (the observation space's dtype),
``rewards (num_agents,) float32``, ``terminals``, ``truncations``, ``masks``
``(num_agents,) bool`` and ``actions (num_agents, *act_shape)`` (int32 for discrete
spaces). Instance ``k`` gets, as ``buf=``, the slices of these arrays along the agent
axis that belong to its agents, and writes into them in place. The arrays returned by
``reset`` / ``step`` / ``recv`` are views of the batch buffers: they are overwritten by
the next step, so copy what you keep.

Seeding. ``reset(seed)`` resets instance ``k`` with ``seed + offset_k``, where
``offset_k`` is the sum of ``num_envs`` of instances ``0..k-1``. A native multi-env
PufferEnv seeds its internal env ``i`` with ``seed + i``, so every backend produces the
same observations for the same seed and actions: Serial over 4 single-env instances
equals one native instance with ``num_envs=4``, and Multiprocessing equals Serial.

Auto-reset. Native envs reset their finished environments themselves. Emulated envs
(Gymnasium / PettingZoo wrapped by :mod:`pufferlib.emulation`) report ``done``; an
instance whose ``done`` is True is reset (with no seed: its RNG stream continues)
instead of stepped on the next step, and its rewards / terminals / truncations read
0 / False / False for that step (PufferLib's convention).
"""
from __future__ import annotations

import multiprocessing
import os
import select
import signal
import sys
import time
import traceback
import weakref

import numpy as np

from pufferlib.checks import check_int
from pufferlib.environment import PufferEnv, buffer_specs
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError, WorkerError
from pufferlib.spaces import check_actions, joint_space

__all__ = ["make", "Serial", "Multiprocessing", "Ray", "BACKENDS"]

#: Names accepted by ``make(backend=...)`` (case-insensitive); classes are accepted too.
BACKENDS = ("Native", "Serial", "Multiprocessing", "Ray")

# Call-order state machine shared by every backend.
_NEED_RESET, _CAN_SEND, _CAN_RECV = 0, 1, 2

# Worker protocol: main -> worker messages and worker -> main reply tags.
_STEP, _RESET, _CLOSE = 1, 2, 3
_OK, _ERR, _READY = 0, 1, 2

_POLL_MS = 200  # how long the main process blocks before it checks worker liveness
# With spare cores, waiting starts with a short busy poll (then blocks): a pipe wake-up costs
# tens of microseconds, a busy poll sees the message as soon as it is written.
_SPIN_MAIN_S = 0.002
_SPIN_WORKER_S = 0.001


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _creator_name(creator) -> str:
    return getattr(creator, "__qualname__", None) or getattr(creator, "__name__", None) or repr(creator)


def _check_instance(env, k, creator):
    """Raise APIUsageError unless ``env`` (made by creator ``k``) is a PufferEnv."""
    if not isinstance(env, PufferEnv):
        raise APIUsageError(
            f"env creator #{k} ({_creator_name(creator)}) returned a {type(env).__module__}."
            f"{type(env).__qualname__}, not a pufferlib.PufferEnv. Wrap Gymnasium envs with "
            "pufferlib.emulation.GymnasiumPufferEnv and PettingZoo envs with "
            "pufferlib.emulation.PettingZooPufferEnv (or pufferlib.emulate)")


def _instance_num_envs(env, k) -> int:
    return check_int(f"num_envs of env instance #{k}", getattr(env, "num_envs", 1), 1)


def _check_matches(env, k, spec):
    """Raise APIUsageError if instance ``k`` differs from instance 0 (spaces, num_agents)."""
    obs_space, act_space, agents = spec
    if env.single_observation_space != obs_space:
        raise APIUsageError(
            f"env instance #{k} has single_observation_space {env.single_observation_space}, "
            f"instance #0 has {obs_space}; all instances of one vectorized env must match")
    if env.single_action_space != act_space:
        raise APIUsageError(
            f"env instance #{k} has single_action_space {env.single_action_space}, "
            f"instance #0 has {act_space}; all instances of one vectorized env must match")
    if env.num_agents != agents:
        raise APIUsageError(
            f"env instance #{k} has num_agents={env.num_agents}, instance #0 has {agents}; "
            "all instances of one vectorized env must have the same number of agents")


def _probe(creator, args, kwargs):
    """Create instance 0 without buffers to learn its spaces and agent count."""
    env = creator(*args, **kwargs)
    _check_instance(env, 0, creator)
    return env, (env.single_observation_space, env.single_action_space, env.num_agents)


def _extend_infos(out, info):
    """Append an env's infos (a dict or a list of dicts) to ``out``, dropping empty dicts."""
    if not info:
        return
    if isinstance(info, dict):
        out.append(info)
    else:
        out.extend(i for i in info if i)


def _normalize_creators(env_creator_or_creators, env_args, env_kwargs, num_envs):
    """-> (creators, args, kwargs), three lists of length ``num_envs``."""
    if isinstance(env_creator_or_creators, (list, tuple)):
        creators = list(env_creator_or_creators)
        if len(creators) != num_envs:
            raise APIUsageError(
                f"got a list of {len(creators)} env creators but num_envs={num_envs}; pass one creator, "
                "or exactly num_envs creators")
        if env_args is None:
            args = [[] for _ in creators]
        elif (isinstance(env_args, (list, tuple)) and len(env_args) == num_envs
              and all(isinstance(a, (list, tuple)) for a in env_args)):
            args = [list(a) for a in env_args]
        else:
            raise APIUsageError(
                "with a list of env creators, env_args must be None or a list of num_envs argument lists "
                f"(one per creator); got {env_args!r}")
    else:
        creators = [env_creator_or_creators] * num_envs
        if env_args is None:
            env_args = []
        if not isinstance(env_args, (list, tuple)):
            raise APIUsageError(f"env_args must be a list or tuple of positional arguments, got {env_args!r}")
        args = [list(env_args)] * num_envs
    if env_kwargs is None:
        kwargs = [{} for _ in creators]
    elif isinstance(env_kwargs, dict):
        kwargs = [dict(env_kwargs) for _ in creators]
    elif isinstance(env_kwargs, (list, tuple)) and len(env_kwargs) == num_envs \
            and all(isinstance(k, dict) for k in env_kwargs):
        kwargs = [dict(k) for k in env_kwargs]
    else:
        raise APIUsageError(
            f"env_kwargs must be None, a dict, or a list of num_envs dicts; got {env_kwargs!r}")
    for k, c in enumerate(creators):
        if not callable(c):
            raise APIUsageError(f"env creator #{k} is not callable: {c!r}")
    return creators, args, kwargs


# ---------------------------------------------------------------------------------------------
# shared interface
# ---------------------------------------------------------------------------------------------
class _VecEnv:
    """Interface and call-order checks shared by Serial, Multiprocessing and Ray."""

    _flag = _NEED_RESET
    _closed = False
    _broken = None  # message of the worker failure that made this env unusable

    def _usable(self):
        if self._broken is not None:
            raise WorkerError(f"this vectorized env is unusable after a worker failure:\n{self._broken}")
        if self._closed:
            raise APIUsageError(f"{type(self).__name__} is closed; create a new vectorized env")

    def _send_precheck(self, actions) -> np.ndarray:
        self._usable()
        if self._flag == _NEED_RESET:
            raise APIUsageError("step()/send() called before reset(): call reset(seed) "
                                "(or async_reset(seed) then recv()) first")
        if self._flag == _CAN_RECV:
            raise APIUsageError("send() called twice without recv(): call recv() to collect the results "
                                "of the previous send()/async_reset() first")
        return check_actions(self.single_action_space, actions, self.agents_per_batch)

    def _recv_precheck(self):
        self._usable()
        if self._flag == _NEED_RESET:
            raise APIUsageError("recv() called without a pending async_reset(): call reset(seed) or "
                                "async_reset(seed) first")
        if self._flag == _CAN_SEND:
            raise APIUsageError("recv() called without a pending send(): call send(actions) first")

    def _resolve_seed(self, seed):
        if seed is None:
            seed = self.seed
        return check_int("seed", seed)

    def reset(self, seed=None):
        """Reset every env; return ``(observations, infos)`` of the first batch.

        Args:
            seed: int; instance ``k`` is reset with ``seed + offset_k`` (see the module
                docstring). None uses the ``seed`` given to :func:`make` (default 0).

        Returns:
            ``observations``: array ``(agents_per_batch, *obs_shape)`` of the observation
            space's dtype (a view of the batch buffer); ``infos``: list of dicts.

        Raises:
            APIUsageError: bad seed, or the env is closed.
            pufferlib.WorkerError: a worker died or raised.
        """
        self.async_reset(seed)
        obs, _, _, _, infos, _, _ = self.recv()
        return obs, infos

    def step(self, actions):
        """Step one batch: ``send(actions)`` then ``recv()``.

        With asynchronous batches (Multiprocessing / Ray with ``batch_size < num_envs``)
        the actions go to the batch returned last, and the result is the next ready batch;
        use ``recv``'s ``agent_ids`` to know which agents it holds.

        Args:
            actions: array of shape ``(agents_per_batch, *action_shape)``; an integer dtype
                for Discrete / MultiDiscrete spaces (values in range), a float dtype for Box.

        Returns:
            ``(observations, rewards, terminals, truncations, infos)``: arrays of shape
            ``(agents_per_batch, *obs_shape)``, ``(agents_per_batch,)`` float32, bool, bool
            (views of the batch buffers), and a list of dicts.

        Raises:
            APIUsageError: called before reset, or bad actions (shape, dtype, range).
            pufferlib.WorkerError: a worker died or raised.
        """
        self.send(actions)
        obs, rewards, terminals, truncations, infos, _, _ = self.recv()
        return obs, rewards, terminals, truncations, infos

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return (f"{type(self).__name__}(num_envs={self.num_envs}, num_agents={self.num_agents}, "
                f"agents_per_batch={self.agents_per_batch}, driver_env={type(self.driver_env).__name__})")

    def _init_spaces(self, spec, num_envs, agents_per_batch, seed):
        obs_space, act_space, agents = spec
        self.single_observation_space = obs_space
        self.single_action_space = act_space
        self.num_envs = num_envs
        self.num_agents = agents * num_envs
        self.agents_per_batch = agents_per_batch
        self.observation_space = joint_space(obs_space, agents_per_batch)
        self.action_space = joint_space(act_space, agents_per_batch)
        self.seed = self._resolve_seed(0 if seed is None else seed)


# ---------------------------------------------------------------------------------------------
# Serial
# ---------------------------------------------------------------------------------------------
class Serial(_VecEnv):
    """Steps ``num_envs`` PufferEnv instances one after another in this process.

    Args:
        env_creators: list of ``num_envs`` callables, each called as
            ``creator(*args, buf=<dict of slices>, **kwargs)`` and returning a PufferEnv.
        env_args: list of ``num_envs`` positional-argument lists.
        env_kwargs: list of ``num_envs`` keyword-argument dicts.
        num_envs: number of instances (int >= 1).
        buf: None to allocate the batch buffers, or a dict of arrays (shapes/dtypes of
            :func:`pufferlib.environment.buffer_specs` for all agents) to use in place.
        seed: default seed for ``reset()`` / ``async_reset()`` called with ``seed=None``.
        num_workers: ignored (Serial has no workers).
        batch_size: None or ``num_envs`` (Serial is synchronous).

    Attributes:
        single_observation_space, single_action_space: one agent's spaces.
        observation_space, action_space: joint spaces of the ``agents_per_batch`` agents.
        num_envs: number of instances; num_agents: total agents (= agents_per_batch);
        driver_env: instance 0; envs: the instances; emulated: ``driver_env.emulated``;
        agent_ids: ``np.arange(num_agents)``.

    A probe instance is created without buffers to learn the spaces and agent count, then
    closed. Every instance must have the same spaces and ``num_agents``.

    Raises:
        APIUsageError: a creator returns a non-PufferEnv, instances differ in spaces or
            agent count, a creator ignores ``buf``, or a bad batch_size.
    """

    def __init__(self, env_creators, env_args, env_kwargs, num_envs, buf=None, seed=0,
                 num_workers=None, batch_size=None, _spec=None, _index_base=0):
        num_envs = check_int("num_envs", num_envs, 1)
        if batch_size is not None and batch_size != num_envs:
            raise APIUsageError(
                f"Serial steps every env on each call: batch_size must be None or num_envs={num_envs}, "
                f"got {batch_size!r}; use backend='Multiprocessing' for asynchronous batches")
        if len(env_creators) != num_envs or len(env_args) != num_envs or len(env_kwargs) != num_envs:
            raise APIUsageError("Serial needs num_envs creators, argument lists and keyword dicts")
        if _spec is None:
            probe, _spec = _probe(env_creators[0], env_args[0], env_kwargs[0])
            probe.close()
        self._init_spaces(_spec, num_envs, _spec[2] * num_envs, seed)
        agents = _spec[2]
        specs = buffer_specs(_spec[0], _spec[1], self.num_agents)
        if buf is None:
            buf = {name: (np.ones if name == "masks" else np.zeros)(shape, dtype)
                   for name, (shape, dtype) in specs.items()}
        self.observations = buf["observations"]
        self.rewards = buf["rewards"]
        self.terminals = buf["terminals"]
        self.truncations = buf["truncations"]
        self.masks = buf["masks"]
        self.actions = buf["actions"]
        self.agent_ids = np.arange(self.num_agents)
        self.envs = []
        self._slices = []
        self._obs_slices = []
        self._obs_refs = []  # env.observations as validated: identity is checked after each call
        self._offsets = []
        offset = 0
        try:
            for k in range(num_envs):
                sl = slice(k * agents, (k + 1) * agents)
                buf_k = {name: buf[name][sl] for name in specs}
                try:
                    env = env_creators[k](*env_args[k], buf=buf_k, **env_kwargs[k])
                except APIUsageError as e:
                    if not str(e).startswith("buf["):
                        raise
                    raise APIUsageError(
                        f"env instance #{k + _index_base} does not match instance #0, so it cannot use "
                        f"its slice of the batch buffers: {e}. All instances of one vectorized env must have the same "
                        f"single_observation_space, single_action_space and num_agents (instance #0: "
                        f"{_spec[0]}, {_spec[1]}, num_agents={_spec[2]})") from e
                _check_instance(env, k + _index_base, env_creators[k])
                self.envs.append(env)
                _check_matches(env, k + _index_base, _spec)
                if env.observations is not buf_k["observations"] and not np.may_share_memory(
                        env.observations, buf_k["observations"]):
                    raise APIUsageError(
                        f"env instance #{k + _index_base} ({type(env).__name__}) does not use the "
                        "buffers passed as buf=; its creator must accept buf and pass it to PufferEnv.__init__(buf)")
                self._slices.append(sl)
                self._obs_slices.append(buf_k["observations"])
                self._obs_refs.append(env.observations)
                self._offsets.append(offset)
                offset += _instance_num_envs(env, k + _index_base)
        except BaseException:
            for env in self.envs:
                try:
                    env.close()
                except Exception:
                    pass
            raise
        self.instance_num_envs = [_instance_num_envs(env, k) for k, env in enumerate(self.envs)]
        self.driver_env = self.envs[0]
        self.emulated = self.driver_env.emulated
        self._infos = []

    # -- the work, without call-order checks (also used inside Multiprocessing / Ray workers) --
    def _reset_all(self, seed):
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        infos = []
        for k, env in enumerate(self.envs):
            _, info = env.reset(None if seed is None else seed + self._offsets[k])
            if env.observations is not self._obs_refs[k]:
                self._check_in_place(k, env)
            _extend_infos(infos, info)
        return infos

    def _step_all(self):
        infos = []
        actions = self.actions
        for k, env in enumerate(self.envs):
            sl = self._slices[k]
            if env.done:
                self.rewards[sl] = 0
                self.terminals[sl] = False
                self.truncations[sl] = False
                _, info = env.reset()
            else:
                _, _, _, _, info = env.step(actions[sl])
            if env.observations is not self._obs_refs[k]:
                self._check_in_place(k, env)
            _extend_infos(infos, info)
        return infos

    def _check_in_place(self, k, env):
        if np.may_share_memory(env.observations, self._obs_slices[k]):
            self._obs_refs[k] = env.observations
        else:
            raise APIUsageError(
                f"env instance #{k} ({type(env).__name__}) replaced self.observations; PufferEnvs must "
                "write observations in place (self.observations[:] = ...)")

    # -- public async interface -------------------------------------------------------------
    def async_reset(self, seed=None):
        """Reset every instance now; results come from :meth:`recv`.

        Args:
            seed: int, or None for the seed given to make; instance ``k`` gets ``seed + offset_k``.

        Raises:
            APIUsageError: bad seed or closed env.
        """
        self._usable()
        seed = self._resolve_seed(seed)
        self._flag = _CAN_RECV
        self._infos = self._reset_all(seed)

    def send(self, actions):
        """Step every instance with ``actions`` now; results come from :meth:`recv`.

        Args:
            actions: ``(num_agents, *action_shape)``; integer dtype in range for discrete
                spaces, float dtype for Box. Copied into the ``actions`` buffer.

        Raises:
            APIUsageError: before reset, twice without recv, or bad shape/dtype/range.
        """
        a = self._send_precheck(actions)
        np.copyto(self.actions, a, casting="unsafe")
        self._flag = _CAN_RECV
        self._infos = self._step_all()

    def recv(self):
        """Results of the last ``send`` / ``async_reset``.

        Returns:
            ``(observations, rewards, terminals, truncations, infos, agent_ids, masks)``:
            ``(num_agents, *obs_shape)`` obs dtype, ``(num_agents,)`` float32 / bool / bool,
            list of dicts, ``(num_agents,)`` int64 (global agent index), ``(num_agents,)`` bool.

        Raises:
            APIUsageError: no pending send / async_reset.
        """
        self._recv_precheck()
        self._flag = _CAN_SEND
        return (self.observations, self.rewards, self.terminals, self.truncations,
                self._infos, self.agent_ids, self.masks)

    def close(self):
        """Close every instance. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for env in self.envs:
            env.close()


# ---------------------------------------------------------------------------------------------
# worker-based backends: worker layout and batch scheduling
# ---------------------------------------------------------------------------------------------
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


def _describe_exit(code):
    if code is None:
        return "is not responding"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


# ---------------------------------------------------------------------------------------------
# Multiprocessing
# ---------------------------------------------------------------------------------------------
def _shared_arrays(raws, specs):
    out = {}
    for name, (shape, dtype) in specs.items():
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        flat = np.frombuffer(raws[name], dtype=np.uint8)[:nbytes]
        out[name] = flat.view(dtype).reshape(shape)
    return out


def _default_start_method():
    """'fork' on Linux, except 'forkserver' once Numba's OpenMP threading layer runs in this
    process (GNU OpenMP aborts a forked child); 'spawn' elsewhere."""
    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return "spawn"
    numba = sys.modules.get("numba")
    if numba is not None:
        try:
            layer = numba.threading_layer()
        except Exception:  # ValueError: not initialized yet
            layer = None
        if layer == "omp":
            return "forkserver"
    return "fork"


def _spin_until_readable(poller, seconds):
    """Busy-poll ``poller`` for up to ``seconds`` (yielding the CPU between polls)."""
    end = time.perf_counter() + seconds
    while True:
        events = poller.poll(0)
        if events or time.perf_counter() >= end:
            return events
        os.sched_yield()


def _mp_worker(w, creators, args, kwargs, raws, specs, agent_range, spec, conn, close_conns, spin):
    """Worker process: a Serial over this worker's instances, driven by messages on ``conn``."""
    for c in close_conns:  # main's pipe ends inherited by fork: close them so EOF propagates
        c.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the main process
    try:
        arrays = _shared_arrays(raws, specs)
        lo, hi = agent_range
        buf = {name: arr[lo:hi] for name, arr in arrays.items()}
        vec = Serial(creators, args, kwargs, len(creators), buf=buf, _spec=spec,
                     _index_base=w * len(creators))
        conn.send((_READY, vec.instance_num_envs))
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


def _mp_shutdown(procs, conns, driver, timeout=2.0):
    """Stop workers (CLOSE, then terminate, then kill) and close pipes. Safe to call twice."""
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
        start_method: multiprocessing start method; default ``'fork'`` on Linux (but
            ``'forkserver'`` when Numba's OpenMP threading layer already runs in this process,
            e.g. after a ``prange`` env was stepped: GNU OpenMP aborts forked children), else
            ``'spawn'``. With ``'spawn'`` / ``'forkserver'`` the creators, env_args and
            env_kwargs must be picklable (module-level functions or classes,
            ``functools.partial``), not lambdas or closures.
        spin: True to busy-poll briefly (main: up to 2 ms, workers: 1 ms, yielding the CPU
            between polls) before blocking on the pipes: lower latency per step when every
            worker has a core of its own. Default (None): on when ``num_workers`` is at most
            the number of CPUs this process may use, off otherwise.

    Attributes (besides those of Serial): num_workers, batch_size, envs_per_worker,
    workers_per_batch, pids (worker process ids). ``driver_env`` is a separate instance
    created in the main process (it is never stepped).

    Raises:
        APIUsageError: bad num_workers / batch_size, a creator returns a non-PufferEnv,
            instances differ, or unpicklable creators under spawn.
        pufferlib.WorkerError: a worker failed while starting.
    """

    def __init__(self, env_creators, env_args, env_kwargs, num_envs, num_workers=None, batch_size=None,
                 seed=0, start_method=None, spin=None):
        num_workers, batch_size, epw = _worker_layout(num_envs, num_workers, batch_size, "Multiprocessing")
        self.spin = bool(num_workers <= _available_cpus() if spin is None else spin)
        if len(env_creators) != num_envs:
            raise APIUsageError("Multiprocessing needs num_envs creators")
        if start_method is not None and start_method not in multiprocessing.get_all_start_methods():
            raise APIUsageError(f"unknown start_method {start_method!r}; valid: "
                                f"{multiprocessing.get_all_start_methods()}")
        driver, spec = _probe(env_creators[0], env_args[0], env_kwargs[0])
        if start_method is None:  # decided after the probe: building it may start OpenMP threads
            start_method = _default_start_method()
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
        arrays = _shared_arrays(raws, specs)
        arrays["masks"][:] = True
        self.observations = arrays["observations"]
        self.rewards = arrays["rewards"]
        self.terminals = arrays["terminals"]
        self.truncations = arrays["truncations"]
        self.masks = arrays["masks"]
        self.actions = arrays["actions"]
        self._setup_groups(num_envs, num_workers, batch_size, epw, agents)

        self._procs, self._conns = [], []
        self._driver_box = [driver]
        self._finalizer = weakref.finalize(self, _mp_shutdown, self._procs, self._conns, self._driver_box)
        apw = self.agents_per_worker
        try:
            for w in range(num_workers):
                parent, child = ctx.Pipe(duplex=True)
                ks = range(w * epw, (w + 1) * epw)
                close_conns = self._conns + [parent] if start_method == "fork" else []
                p = ctx.Process(
                    target=_mp_worker, name=f"pufferlib-worker-{w}", daemon=True,
                    args=(w, [env_creators[k] for k in ks], [env_args[k] for k in ks],
                          [env_kwargs[k] for k in ks], raws, specs, (w * apw, (w + 1) * apw), spec,
                          child, close_conns, self.spin))
                try:
                    p.start()
                except Exception as e:
                    parent.close()
                    child.close()
                    if start_method != "fork" and "pickle" in f"{type(e).__name__} {e}".lower():
                        raise APIUsageError(
                            f"start_method={start_method!r} pickles env creators and arguments, and this "
                            f"failed: {e}. Use module-level functions/classes or functools.partial, or "
                            "start_method='fork'") from e
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
            self._worker_died(w)
        tag = msg[0]
        if tag == _OK:
            self._on_result(w, msg[1])
        elif tag == _READY:
            self._pending[w] = False
            self._instance_num_envs[w] = msg[1]
        else:
            _, kind, text, tb = msg
            self._fail(w, kind, text, tb)

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
        message = (f"worker {w} (pid {p.pid}) {_describe_exit(p.exitcode)} "
                   "without reporting an error; its envs are lost")
        if not hasattr(self, "_worker_offsets"):
            message += (f" (it died while creating its envs, start_method={self.start_method!r}; see its "
                        "stderr above. Libraries that are not fork-safe need start_method='spawn' or "
                        "'forkserver')")
        self._broken = message
        self._finalizer()
        raise WorkerError(message)

    def close(self):
        """Stop the workers (ask, then terminate, then kill), close pipes and the driver env.

        Idempotent; also runs when the object is garbage collected and at interpreter exit.
        Arrays returned earlier stay valid (the shared memory lives as long as they do).
        """
        self._closed = True
        self._finalizer()


# ---------------------------------------------------------------------------------------------
# Ray
# ---------------------------------------------------------------------------------------------
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

    def close(self):
        self.vec.close()


class Ray(_WorkerVecEnv):
    """Ray actors, each running :class:`Serial` over ``num_envs / num_workers`` instances.

    Results are copied from the actors into local batch buffers. Same batching rules and
    interface as :class:`Multiprocessing`. Needs the optional dependency ``ray``; calls
    ``ray.init()`` when Ray is not initialized yet.

    Raises:
        pufferlib.EnvironmentSetupError: ``ray`` is not installed.
        APIUsageError: as Multiprocessing. pufferlib.WorkerError: an actor died or raised.
    """

    def __init__(self, env_creators, env_args, env_kwargs, num_envs, num_workers=None, batch_size=None,
                 seed=0, ray_init_kwargs=None):
        try:
            import ray
        except ImportError as e:
            raise EnvironmentSetupError(
                "the Ray backend needs the optional dependency ray: "
                "pip install 'pufferlib-numba[ray]'") from e
        self._ray = ray
        num_workers, batch_size, epw = _worker_layout(num_envs, num_workers, batch_size, "Ray")
        driver, spec = _probe(env_creators[0], env_args[0], env_kwargs[0])
        self.driver_env = driver
        self.emulated = driver.emulated
        agents = spec[2]
        self._init_spaces(spec, num_envs, batch_size * agents, seed)
        for name, (shape, dtype) in buffer_specs(spec[0], spec[1], self.num_agents).items():
            setattr(self, name, (np.ones if name == "masks" else np.zeros)(shape, dtype))
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
            counts = ray.get([a.instance_num_envs.remote() for a in self._actors])
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
        actor = self._actors[w]
        if msg == _STEP:
            apw = self.agents_per_worker
            self._futures[w] = actor.step.remote(self.actions[w * apw:(w + 1) * apw].copy())
        else:
            self._futures[w] = actor.reset.remote(msg[1])

    def _wait(self):
        refs = {f: w for w, f in self._futures.items()}
        ready, _ = self._ray.wait(list(refs), num_returns=1, timeout=_POLL_MS / 1000)
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


# ---------------------------------------------------------------------------------------------
# make
# ---------------------------------------------------------------------------------------------
def _resolve_backend(backend):
    if isinstance(backend, str):
        key = backend.lower()
        table = {"native": PufferEnv, "pufferenv": PufferEnv, "serial": Serial,
                 "multiprocessing": Multiprocessing, "ray": Ray}
        if key in table:
            return table[key]
    elif backend in (PufferEnv, Serial, Multiprocessing, Ray):
        return backend
    raise APIUsageError(
        f"unknown backend {backend!r}; valid backends: 'Native' (or pufferlib.PufferEnv), 'Serial', "
        "'Multiprocessing', 'Ray' (strings or the classes pufferlib.vector.Serial / Multiprocessing / Ray)")


def make(env_creator_or_creators, env_args=None, env_kwargs=None, backend="Serial", num_envs=1,
         num_workers=None, batch_size=None, seed=0, **kwargs):
    """Create a vectorized environment.

    Args:
        env_creator_or_creators: a callable ``creator(*env_args, buf=..., **env_kwargs)``
            returning a :class:`pufferlib.PufferEnv`, or a list of ``num_envs`` such callables.
        env_args: positional arguments for the creator (a list); with a list of creators,
            None or a list of ``num_envs`` lists.
        env_kwargs: keyword arguments (a dict), or a list of ``num_envs`` dicts.
        backend: ``'Native'`` / ``pufferlib.PufferEnv``, ``'Serial'``, ``'Multiprocessing'``,
            ``'Ray'`` (strings are case-insensitive) or the backend class.
        num_envs: number of env instances (creator calls), >= 1. Must be 1 for Native.
        num_workers: worker count for Multiprocessing / Ray (ignored by Serial).
        batch_size: instances per batch for Multiprocessing / Ray (default num_envs).
        seed: default seed of ``reset()`` / ``async_reset()`` when called with ``seed=None``.
        **kwargs: backend options: ``start_method`` and ``spin`` (Multiprocessing),
            ``ray_init_kwargs`` (Ray).

    Returns:
        Native: the env itself (``creator(*env_args, **env_kwargs)``, no ``buf``).
        Otherwise a :class:`Serial`, :class:`Multiprocessing` or :class:`Ray` with
        ``single_observation_space, single_action_space, observation_space, action_space,
        num_agents, agents_per_batch, num_envs, driver_env, emulated`` and
        ``reset / step / async_reset / send / recv / close``.

    Raises:
        APIUsageError: num_envs < 1, unknown backend, num_envs not divisible by num_workers,
            batch_size not a multiple of envs per worker or not dividing num_envs, a creator
            that is not callable or returns a non-PufferEnv, instances with different spaces,
            unknown backend options.
        pufferlib.EnvironmentSetupError: backend='Ray' without ray installed.
        pufferlib.WorkerError: a worker failed while starting.
    """
    num_envs = check_int("num_envs", num_envs, 1)
    cls = _resolve_backend(backend)
    allowed = {Multiprocessing: {"start_method", "spin"}, Ray: {"ray_init_kwargs"}}.get(cls, set())
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise APIUsageError(f"unknown option(s) {unknown} for backend {getattr(cls, '__name__', cls)}; "
                            f"accepted: {sorted(allowed) or 'none'}")
    if cls is PufferEnv:
        if num_envs != 1:
            raise APIUsageError(
                f"backend='Native' builds ONE native PufferEnv that vectorizes internally, so num_envs must "
                f"be 1 (got {num_envs}); pass the env count to the env itself, e.g. env_kwargs={{'num_envs': "
                f"{num_envs}}}, or use backend='Serial' / 'Multiprocessing'")
        creators, args, kw = _normalize_creators(env_creator_or_creators, env_args, env_kwargs, 1)
        env = creators[0](*args[0], **kw[0])
        _check_instance(env, 0, creators[0])
        return env
    creators, args, kw = _normalize_creators(env_creator_or_creators, env_args, env_kwargs, num_envs)
    return cls(creators, args, kw, num_envs, num_workers=num_workers, batch_size=batch_size, seed=seed,
               **kwargs)

