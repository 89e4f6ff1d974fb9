"""The Serial backend: instances stepped one after another in this process.

Workers of the Multiprocessing and Ray backends each run a :class:`Serial` over their instances.
"""
from __future__ import annotations

import numpy as np

from pufferlib.checks import check_int
from pufferlib.environment import WORLD_ALLOCATOR, buffer_specs, set_buffers
from pufferlib.exceptions import APIUsageError
from pufferlib.vector.common import (
    _CAN_RECV,
    _CAN_SEND,
    _check_instance,
    _check_matches,
    _extend_infos,
    _instance_num_envs,
    _probe,
    _VecEnv,
)

class Serial(_VecEnv):
    """Steps ``num_envs`` PufferEnv instances one after another in this process.

    Args:
        env_creators: list of ``num_envs`` callables, each called as
            ``creator(*args, buf=<dict of slices>, **kwargs)`` and returning a PufferEnv.
        env_args: list of ``num_envs`` positional-argument lists.
        env_kwargs: list of ``num_envs`` keyword-argument dicts.
        num_envs: number of instances (int >= 1).
        buf: None to allocate the batch buffers, or a dict of arrays (shapes/dtypes of
            :func:`pufferlib.environment.buffer_specs` for all agents) to use in place;
            missing entries are allocated (see :func:`pufferlib.set_buffers`).
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
            agent count, a creator ignores ``buf``, a ``buf`` entry has the wrong shape or
            dtype or is not C-contiguous, or a bad batch_size.
    """

    def __init__(self, env_creators, env_args, env_kwargs, num_envs, buf=None, seed=0,
                 num_workers=None, batch_size=None, _spec=None, _index_base=0, _world_allocator=None):
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
        set_buffers(self, buf)  # checks a given buf, allocates what is missing
        buf = {name: getattr(self, name) for name in specs}
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
                if _world_allocator is not None:  # shared memory for the world (Multiprocessing)
                    buf_k[WORLD_ALLOCATOR] = _world_allocator
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

    def _instance_state(self, k, local, copy):
        return self.envs[k].state(local, copy=copy)

    def close(self):
        """Close every instance. Idempotent. ``state`` raises afterwards; arrays it returned
        stay readable (this process owns their memory) but are no longer updated."""
        if self._closed:
            return
        self._closed = True
        for env in self.envs:
            env.close()
