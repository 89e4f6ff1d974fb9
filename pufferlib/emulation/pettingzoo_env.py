"""The PettingZoo wrapper: one ``pettingzoo.ParallelEnv`` as a multi-agent PufferEnv."""
from __future__ import annotations

import numpy as np

from pufferlib.emulation.common import (_NOT_LIVE, _emulation_info, _seed_and_reset, _WrapperEnv, checked_reset,
                                       checked_step, make_object, shared_agent_spaces)
from pufferlib.emulation.text import check_text_options
from pufferlib.exceptions import APIUsageError
from pufferlib.spaces import check_actions

class PettingZooPufferEnv(_WrapperEnv):
    """A PettingZoo ``ParallelEnv`` as a PufferEnv with ``num_agents = len(possible_agents)``.

    Args:
        env: a ``pettingzoo.ParallelEnv`` instance, or
        env_creator, env_args, env_kwargs: a callable and its arguments that build one.
        buf: optional buffers from the vectorizer.
        seed: seed used for the first :meth:`reset` when it is called without one.
        text_observations, text_length: text parts of the observation space are encoded
            (default) or dropped, as in :class:`~pufferlib.emulation.GymnasiumPufferEnv`.

    Row ``i`` of every buffer belongs to ``possible_agents[i]``. All agents must
    share one observation space and one action space (emulated as in
    :class:`GymnasiumPufferEnv`). Agents absent from a step's observations (dead
    or not yet spawned) get a zero observation, reward 0, ``terminals=True``
    (after reset: False), ``truncations=False`` and ``masks=False``; their
    actions are ignored and not validated.

    ``reset(seed=None) -> (observations, [infos])`` and
    ``step(actions) -> (observations, rewards, terminals, truncations, [infos])``
    where ``infos`` is the env's ``{agent: info}`` dict; at episode end that dict
    also holds ``episode_return`` (mean over possible agents of each agent's summed
    reward) and ``episode_length`` (env steps). ``actions`` has shape
    ``(num_agents, *act_shape)`` (or is a dict ``{agent: action}``).
    :attr:`done` is True once no agents remain (or all remaining ones terminated
    or truncated); stepping then raises until ``reset``.

    Raises:
        APIUsageError: agents with different spaces, unsupported spaces, bad
            actions, calls out of order, unknown agents in an action dict.

    Reference: PufferLib 3.0 ``emulation.PettingZooPufferEnv``.
    """

    def __init__(self, env=None, env_creator=None, env_args=(), env_kwargs=None, buf=None, seed=0,
                 text_observations="encode", text_length=None):
        check_text_options(text_observations, text_length)
        self.env = make_object(env, env_creator, env_args, env_kwargs)
        possible = list(getattr(self.env, "possible_agents", None) or [])
        if not possible:
            raise APIUsageError(
                f"{type(self.env).__name__} has no possible_agents; PettingZooPufferEnv wraps "
                "pettingzoo.ParallelEnv instances with a non-empty possible_agents list")
        self.possible_agents = possible
        obs_space, atn_space = shared_agent_spaces(self.env, possible)
        self._wrap(obs_space, atn_space, len(possible), buf, seed, text_observations, text_length)
        self.agent_index = {a: i for i, a in enumerate(possible)}
        self._live = np.zeros(self.num_agents, bool)
        self._all_done = True
        self.episode_returns = np.zeros(self.num_agents, np.float64)
        self.episode_length = 0

    @property
    def agents(self):
        """The wrapped env's live agents."""
        return self.env.agents

    @property
    def done(self):
        """True before the first reset and once the episode is over, until the next reset."""
        return self._all_done

    @property
    def emulated(self):
        """A dict describing the emulation (always truthy), with ``possible_agents``."""
        return dict(_emulation_info(self), possible_agents=list(self.possible_agents))

    def _write_obs(self, obs):
        self.masks[:] = False
        for agent, ob in obs.items():
            i = self.agent_index.get(agent)
            if i is None:
                raise APIUsageError(
                    f"the env returned an observation for {agent!r}, which is not in possible_agents "
                    f"{self.possible_agents}")
            self.masks[i] = True
            self._write_row(i, ob, f"observation of agent {agent!r}")
        self.observations[~self.masks] = 0

    def reset(self, seed=None):
        """Reset the env; returns ``(observations, [infos])``."""
        if seed is None and not self._initialized:
            seed = self._seed
        obs, infos = checked_reset(_seed_and_reset(self.env, seed), parallel=True)
        self._initialized = True
        self._write_obs(obs)
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        self._all_done = len(self.env.agents) == 0
        self.episode_returns[:] = 0
        self.episode_length = 0
        return self.observations, [dict(infos)]

    def _actions_from_dict(self, actions):
        arr = np.zeros(self.actions.shape, self.actions.dtype)
        given = np.zeros(self.num_agents, bool)
        for agent, atn in actions.items():
            i = self.agent_index.get(agent)
            if i is None:
                raise APIUsageError(f"action for unknown agent {agent!r}; possible agents: {self.possible_agents}")
            try:  # shape and dtype only: range is checked for live agents in step()
                row = np.asarray(check_actions(self._codec.space, atn, 1, live=_NOT_LIVE, allow_unbatched=True)[0])
            except APIUsageError as e:
                raise APIUsageError(f"action for {agent!r}: {e}") from None
            cast = row.astype(arr.dtype)
            if arr.dtype.kind in "iu" and not np.array_equal(cast, row):  # e.g. 2**32 would wrap to 0
                raise APIUsageError(f"action for {agent!r}: {row.tolist()!r} is outside {self._codec.space}")
            arr[i] = cast
            given[i] = True
        missing = [a for a in self.env.agents if not given[self.agent_index[a]]]
        if missing:
            raise APIUsageError(f"no action given for live agents {missing}")
        return arr

    def step(self, actions):
        """Step live agents with ``actions`` (shape ``(num_agents, *act_shape)``, rows in possible_agents order)."""
        if not self._initialized:
            raise APIUsageError("step() called before reset(): call reset() first")
        if self._all_done:
            raise APIUsageError("step() called after all agents are done: call reset()")
        if isinstance(actions, dict):
            actions = self._actions_from_dict(actions)
        live_agents = list(self.env.agents)
        self._live[:] = False
        for agent in live_agents:
            self._live[self.agent_index[agent]] = True
        self._codec.validate(actions, self.actions, live=self._live)
        env_actions = {agent: self._codec.to_env(self.actions[self.agent_index[agent]]) for agent in live_agents}
        obs, rewards, terminations, truncations, infos = checked_step(self.env.step(env_actions), parallel=True)
        self._write_obs(obs)
        self.rewards[:] = 0
        self.terminals[:] = True
        self.truncations[:] = False
        for agent in obs:
            i = self.agent_index[agent]
            self.terminals[i] = bool(terminations.get(agent, False))
            self.truncations[i] = bool(truncations.get(agent, False))
        for agent, r in rewards.items():
            i = self.agent_index.get(agent)
            if i is not None:
                self.rewards[i] = r
        self.episode_returns += self.rewards
        self.episode_length += 1
        present = self.masks
        self._all_done = (len(self.env.agents) == 0 or not present.any()
                          or bool(np.all(self.terminals[present] | self.truncations[present])))
        infos = dict(infos)
        if self._all_done:
            infos["episode_return"] = float(self.episode_returns.mean())
            infos["episode_length"] = self.episode_length
        return self.observations, self.rewards, self.terminals, self.truncations, [infos]


#: PettingZoo AEC wrappers that only check calls or actions; :func:`parallel_env_inside` looks
#: through them (any other wrapper may change what the env does, so it is kept).
CHECKING_WRAPPERS = ("BaseWrapper", "OrderEnforcingWrapper", "AssertOutOfBoundsWrapper")


def parallel_env_inside(aec_env):
    """The ``ParallelEnv`` an AEC env was made from with PettingZoo's ``parallel_to_aec``
    (magent2's ``env()``, many ``raw_env``s), or None.

    Looks through PettingZoo's checking wrappers (:data:`CHECKING_WRAPPERS`) down to a
    ``parallel_to_aec_wrapper`` and returns the parallel env it holds, so the env is stepped
    with one call per step instead of once per agent. Returns None when another wrapper is in
    the way (it might change observations, rewards or actions) or there is no parallel env.
    """
    from pettingzoo.utils.conversions import parallel_to_aec_wrapper
    env = aec_env
    for _ in range(64):
        if isinstance(env, parallel_to_aec_wrapper):
            return env.env
        if type(env).__name__ not in CHECKING_WRAPPERS or not type(env).__module__.startswith("pettingzoo."):
            return None
        env = getattr(env, "env", None)
        if env is None:
            return None
    return None
