"""Turn-based PettingZoo AEC envs (board and card games) as PufferEnvs, one agent acting at a time."""
from __future__ import annotations

import numpy as np

from pufferlib.emulation.common import (_NOT_LIVE, _emulation_info, _WrapperEnv, make_object,
                                       shared_agent_spaces)
from pufferlib.emulation.text import check_text_options
from pufferlib.checks import check_int
from pufferlib.exceptions import APIUsageError
from pufferlib.spaces import check_actions


class TurnBasedPufferEnv(_WrapperEnv):
    """A turn-based PettingZoo ``AECEnv`` (``connect_four``, ``tictactoe``, ``chess``, ...) as a
    PufferEnv with ``num_agents = len(possible_agents)``; only the agent to move acts.

    Args:
        env: a ``pettingzoo.AECEnv`` instance, or
        env_creator, env_args, env_kwargs: a callable and its arguments that build one.
        buf: optional buffers from the vectorizer.
        seed: seed used for the first :meth:`reset` when it is called without one.
        text_observations, text_length: as in :class:`~pufferlib.emulation.GymnasiumPufferEnv`.

    Rows are ``possible_agents`` in order; all agents must share one observation space and one
    action space (emulated as in :class:`~pufferlib.emulation.GymnasiumPufferEnv`).

    Each :meth:`step` plays ONE move: the row of ``actions`` that belongs to
    :attr:`agent_to_move` (the env's ``agent_selection``) is validated and played; the other
    rows are ignored (not validated, not used). Afterwards agents that the env has already
    terminated or truncated but still selects are stepped with ``None`` (the AEC protocol)
    inside the same call. Written per step:

    - observations: ``env.observe(agent)`` for every agent still in the game (the game state
      from each agent's seat), zeros for agents that left. A legal-move mask is wherever the
      game puts it: PettingZoo's classic games use a ``Dict`` observation with an
      ``action_mask`` entry, which is part of the flattened observation row (read it back with
      :func:`~pufferlib.emulation.nativize`); games that put it in ``infos`` keep it there.
    - rewards: what this move gave every agent (``env.rewards``, e.g. +1 / -1 to both
      players when it ends the game); summed over an episode, each agent's return.
    - terminals / truncations: the env's per-agent flags (an agent that left: terminal).
    - masks: True for the agent to move next; at the end of an episode True for every agent
      that was in it, so its last reward and terminal are seen.

    An illegal move is whatever the game makes of it (PettingZoo's classic games end the game
    with a penalty for the mover). ``infos`` is ``[{agent: info}]`` plus ``'agent_to_move'``; at
    episode end also ``episode_return`` (mean over possible agents) and ``episode_length``
    (moves). :attr:`done` is True when no agent is left to move; stepping then raises until
    :meth:`reset` (the vectorizer resets it).

    Raises:
        APIUsageError: agents with different spaces, unsupported spaces, a bad action for the
            agent to move, a missing action for it in an action dict, calls out of order.
    """

    def __init__(self, env=None, env_creator=None, env_args=(), env_kwargs=None, buf=None, seed=0,
                 text_observations="encode", text_length=None):
        check_text_options(text_observations, text_length)
        self.env = make_object(env, env_creator, env_args, env_kwargs)
        possible = list(getattr(self.env, "possible_agents", None) or [])
        if not possible or not callable(getattr(self.env, "observe", None)):
            raise APIUsageError(f"{type(self.env).__name__} is not a PettingZoo AECEnv with possible_agents; "
                                "TurnBasedPufferEnv wraps turn-based AEC envs")
        self.possible_agents = possible
        obs_space, atn_space = shared_agent_spaces(self.env, possible)
        self._wrap(obs_space, atn_space, len(possible), buf, seed, text_observations, text_length)
        self.agent_index = {a: i for i, a in enumerate(possible)}
        self._live = np.zeros(self.num_agents, bool)
        self._all_done = True
        self.episode_returns = np.zeros(self.num_agents, np.float64)
        self.episode_length = 0

    @property
    def done(self):
        """True before the first reset and once the game is over, until the next reset."""
        return self._all_done

    @property
    def agents(self):
        """The wrapped env's agents still in the game."""
        return self.env.agents

    @property
    def agent_to_move(self):
        """The agent whose action the next :meth:`step` plays (None when the game is over)."""
        return None if self._all_done else self.env.agent_selection

    @property
    def emulated(self):
        """A dict describing the emulation (always truthy), with ``possible_agents`` and ``turn_based``."""
        return dict(_emulation_info(self), possible_agents=list(self.possible_agents), turn_based=True)

    def _index(self, agent):
        i = self.agent_index.get(agent)
        if i is None:
            raise APIUsageError(f"the env named agent {agent!r}, which is not in possible_agents "
                                f"{self.possible_agents}")
        return i

    def _skip_finished(self):
        """Step agents the env terminated/truncated but still selects with None; returns their rewards."""
        env = self.env
        while env.agents and (env.terminations.get(env.agent_selection, False)
                              or env.truncations.get(env.agent_selection, False)):
            if all(env.terminations.get(a, False) or env.truncations.get(a, False) for a in env.agents):
                break
            env.step(None)
            for agent, r in env.rewards.items():
                self.rewards[self._index(agent)] += r

    def _observe(self):
        env = self.env
        in_game = np.zeros(self.num_agents, bool)
        for agent in env.agents:
            i = self._index(agent)
            in_game[i] = True
            self._write_row(i, env.observe(agent), f"observation of agent {agent!r}")
        self.observations[~in_game] = 0
        self.terminals[:] = True
        self.truncations[:] = False
        for agent in env.agents:
            i = self._index(agent)
            self.terminals[i] = bool(env.terminations.get(agent, False))
            self.truncations[i] = bool(env.truncations.get(agent, False))
        finished = self.terminals | self.truncations
        self._all_done = not env.agents or bool(finished[in_game].all())
        self.masks[:] = False
        if self._all_done:
            self.masks[self._in_episode] = True
        else:
            self.masks[self._index(env.agent_selection)] = True

    def reset(self, seed=None):
        """Reset the game; returns ``(observations, [infos])``."""
        if seed is None and not self._initialized:
            seed = self._seed
        if seed is None:
            self.env.reset()
        else:
            self.env.reset(seed=check_int("seed", seed, 0))
        self._initialized = True
        self._in_episode = np.array([a in set(self.env.agents) for a in self.possible_agents])
        self.rewards[:] = 0
        self._skip_finished()
        self._observe()
        self.rewards[:] = 0
        self.episode_returns[:] = 0
        self.episode_length = 0
        return self.observations, [self._infos()]

    def _infos(self):
        infos = dict(self.env.infos)
        infos["agent_to_move"] = self.agent_to_move
        return infos

    def step(self, actions):
        """Play the move of :attr:`agent_to_move`: its row of ``actions`` (shape
        ``(num_agents, *act_shape)``, rows in possible_agents order), or ``actions[agent]`` for
        a dict. Returns ``(observations, rewards, terminals, truncations, [infos])``."""
        if not self._initialized:
            raise APIUsageError("step() called before reset(): call reset() first")
        if self._all_done:
            raise APIUsageError("step() called after the game ended: call reset()")
        mover = self.env.agent_selection
        i = self._index(mover)
        if isinstance(actions, dict):
            if mover not in actions:
                raise APIUsageError(f"no action given for {mover!r}, the agent to move")
            try:
                row = check_actions(self._codec.space, actions[mover], 1, live=_NOT_LIVE, allow_unbatched=True)
            except APIUsageError as e:
                raise APIUsageError(f"action for {mover!r}: {e}") from None
            batch = np.zeros(self.actions.shape, self.actions.dtype)
            cast = np.asarray(row[0]).astype(batch.dtype)
            if batch.dtype.kind in "iu" and not np.array_equal(cast, np.asarray(row[0])):
                raise APIUsageError(f"action for {mover!r}: {np.asarray(row[0]).tolist()!r} is outside "
                                    f"{self._codec.space}")
            batch[i] = cast
            actions = batch
        self._live[:] = False
        self._live[i] = True
        self._codec.validate(actions, self.actions, live=self._live)
        self.env.step(self._codec.to_env(self.actions[i]))
        self.rewards[:] = 0
        for agent, r in self.env.rewards.items():
            self.rewards[self._index(agent)] += r
        self._skip_finished()
        self._observe()
        self.episode_returns += self.rewards
        self.episode_length += 1
        infos = self._infos()
        if self._all_done:
            infos["episode_return"] = float(self.episode_returns.mean())
            infos["episode_length"] = self.episode_length
        return self.observations, self.rewards, self.terminals, self.truncations, [infos]
