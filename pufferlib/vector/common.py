"""What every backend shares: call-order states, instance checks, creator lists, the base class.

:class:`_VecEnv` holds the interface and call-order checks of :class:`Serial`,
:class:`Multiprocessing` and :class:`Ray` (``reset`` / ``step`` on top of
``async_reset`` / ``send`` / ``recv``); the functions check what env creators return.
"""
from __future__ import annotations

import os

import numpy as np

from pufferlib.checks import check_int
from pufferlib.environment import PufferEnv, describe_env
from pufferlib.exceptions import APIUsageError, WorkerError
from pufferlib.spaces import check_actions, joint_space

# Call-order state machine shared by every backend.
_NEED_RESET, _CAN_SEND, _CAN_RECV = 0, 1, 2


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
        """The seed to use, checked here before any worker sees it: an int in ``[0, 2**62 -
        total envs]`` (every instance gets ``seed + offset_k``, and native envs take seeds up
        to ``2**62``)."""
        if seed is None:
            seed = self.seed
        counts = getattr(self, "instance_num_envs", None)
        return check_int("seed", seed, 0, 2**62 - (int(sum(counts)) if counts else 0))

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

    def state(self, env_id: int = 0, copy: bool = False) -> dict:
        """World state of env ``env_id`` of this vectorized env, as ``{name: numpy array}``.

        Env ids count the environments of every instance in order: instance ``k`` (an
        instance may simulate several envs, its ``num_envs``) covers the ids
        ``offset_k .. offset_k + num_envs_k - 1`` (``offset_k`` as for seeding), so ids run
        over ``range(sum(self.instance_num_envs))``, and id ``offset_k + i`` is env ``i`` of
        instance ``k``: ``instance.state(i)``.

        Args:
            env_id: int in ``[0, sum(instance_num_envs))``.
            copy: False (default): read-only arrays; True: independent writable copies
                (stable snapshots) on every backend.

        Returns:
            ``{name: array}`` as the instance's own ``state(i)``; ``{}`` for envs without state.
            With ``copy=False``:

            - Serial: the instance's read-only views (zero copy; they follow later steps).
            - Multiprocessing: read-only views of the worker's world arrays, mapped from
              shared memory (zero copy; the same arrays show later steps) for envs that
              allocate their world through the memory the vectorizer offers (every Ocean
              env does); for other envs (e.g. emulated Gymnasium envs) or with
              ``share_worlds=False``, a read-only copy fetched from the worker, which does
              not follow later steps.
            - Ray: a read-only copy fetched from the actor.

            Views show the worker's writes once a step's results are received; a call waits
            for a batch in flight on that env's worker first, and reads nothing else (it adds
            nothing to ``step``). Views are invalid after :meth:`close`: they are no longer
            updated (on Multiprocessing they keep their memory mapped and frozen at the last
            step, so reading them cannot crash), and ``state`` itself raises.

        Raises:
            APIUsageError: ``env_id`` is not an int in range (the message gives the range),
                or the env is closed.
            pufferlib.WorkerError: a worker died, or raised while copying its state.
        """
        self._usable()
        k, local = self._locate(env_id)
        return self._instance_state(k, local, bool(copy))

    def _locate(self, env_id):
        """Global env id -> ``(instance index, env id inside that instance)``."""
        counts = self.instance_num_envs
        total = sum(counts)
        env_id = check_int("env_id", env_id)
        if not 0 <= env_id < total:
            raise APIUsageError(
                f"env_id {env_id} out of range: this {type(self).__name__} env holds {total} envs "
                f"({len(counts)} instances, num_envs per instance {counts}); valid ids 0..{total - 1}")
        offsets = getattr(self, "_env_offsets", None)
        if offsets is None:
            offsets = self._env_offsets = np.cumsum([0] + list(counts))
        k = int(np.searchsorted(offsets, env_id, side="right")) - 1
        return k, env_id - int(offsets[k])

    def _instance_state(self, k, local, copy):
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return describe_env(self, f"agents_per_batch={getattr(self, 'agents_per_batch', '?')} "
                                  f"driver_env={type(getattr(self, 'driver_env', None)).__name__}")

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
