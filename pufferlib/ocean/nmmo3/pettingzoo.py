"""The Neural MMO API: one Neural MMO 3 world as a PettingZoo ``ParallelEnv`` (``docs/envs/nmmo3.md``).

:class:`NeuralMMO` follows the shape of Neural MMO 2's ``nmmo.core.env.Env``: integer agent
ids ``1..num_players``, ``reset(map_id, seed, options)``, dict actions in which absent agents
do nothing, a fixed horizon after which every agent is truncated, a global ``state()`` and
``change_task`` to give agents weighted combinations of the game's reward terms
(:class:`Task`), each shown to its agent as a task embedding in the observation.

Example (a small world; the defaults build the full 512x512 world of 1024 players)::

    import numpy as np
    from pufferlib.ocean.nmmo3 import NeuralMMO
    from pufferlib.ocean.nmmo3.pettingzoo import COMBAT_TASK, PROFESSION_TASK

    penv = NeuralMMO(horizon=64, **NeuralMMO.test_config())
    obs, infos = penv.reset(seed=1)
    obs[1]["map"].shape, obs[1]["player"].shape, obs[1]["task"].shape   # (11, 15, 10) (47,) (16,)
    obs, infos = penv.change_task([(COMBAT_TASK, 3.0), (PROFESSION_TASK, 1.0)], seed=1)
    while penv.agents:
        actions = {agent: penv.action_space(agent).sample() for agent in penv.agents}
        obs, rewards, terminations, truncations, infos = penv.step(actions)
    assert all(truncations.values()) and penv.agents == []
    penv.close()
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import gymnasium
import numpy as np
import pettingzoo

from pufferlib.checks import check_int
from pufferlib.exceptions import APIUsageError
from pufferlib.ocean.nmmo3.constants import (A_NOOP, CHANNELS, NUM_ACTIONS, PLAYER_OBS, REWARD_OBS,
                                             REWARD_TERMS)
from pufferlib.ocean.nmmo3.env import NMMO3

__all__ = ["NeuralMMO", "Task", "DEFAULT_TASK", "COMBAT_TASK", "PROFESSION_TASK", "EQUIPMENT_TASK",
           "MARKET_TASK", "SURVIVAL_TASK", "TASKS", "STATE_CHANNELS"]

#: Largest seed / map id (the game's seed range).
MAX_SEED = 2**62
#: Tags that keep the seeds derived from map ids and from ``seed`` apart.
_MAP_STREAM, _DYNAMICS_STREAM, _TASK_STREAM = 0x6D6170, 0x64796E, 0x7461736B
#: Channels of :meth:`NeuralMMO.state`, in order.
STATE_CHANNELS = ("terrain", "item", "kind", "hp", "comb_lvl", "prof_lvl", "element", "in_combat")
#: Entity fields behind channels 2..7 of :meth:`NeuralMMO.state`.
_STATE_FIELDS = STATE_CHANNELS[2:]
#: NMMO3 keywords that the wrapper sets itself.
_RESERVED = ("num_envs", "buf", "device", "num_threads", "seed", "render_mode", "log_interval")


@dataclass(frozen=True, eq=True)
class Task:
    """A reward function: a weighted sum of the game's per-tick reward terms.

    Args:
        name: a label (shown nowhere in the game; kept for logs).
        weights: ``{term: weight}`` over the terms of
            :data:`~pufferlib.ocean.nmmo3.constants.REWARD_TERMS` (``death``, ``comb_lvl``,
            ``prof_lvl``, ``item_atk_lvl``, ``item_def_lvl``, ``item_tool``, ``market_buy``,
            ``market_sell``); missing terms weigh 0. Each term is the game's own reward for
            that event (so ``death`` is ``reward_death``, -1 by default, on the tick a player
            dies; ``item_tool`` is the equip / unequip amount of a tool, which the game itself
            does not reward).

    The reward of an agent on a tick is ``sum(weights[k] * term_k)``. :data:`DEFAULT_TASK`
    (weight 1 on every term the game rewards) gives exactly the game's reward.

    Raises:
        APIUsageError: a name that is not a str, an unknown term, or a weight that is not a
            finite real number.
    """

    name: str
    weights: Mapping

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise APIUsageError(f"Task name must be a str, got {self.name!r}")
        if not isinstance(self.weights, Mapping):
            raise APIUsageError(f"Task weights must be a mapping {{term: weight}}, got {self.weights!r}")
        clean = {}
        for term, weight in self.weights.items():
            if term not in REWARD_TERMS:
                raise APIUsageError(f"Task {self.name!r}: unknown reward term {term!r}; the terms are {REWARD_TERMS}")
            if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(weight):
                raise APIUsageError(f"Task {self.name!r}: the weight of {term!r} must be a finite real number, "
                                    f"got {weight!r}")
            clean[term] = float(weight)
        ordered = {term: clean[term] for term in REWARD_TERMS if term in clean}
        object.__setattr__(self, "weights", MappingProxyType(ordered))

    def __hash__(self):
        return hash((self.name, tuple(self.weights.items())))

    @property
    def vector(self) -> np.ndarray:
        """The weights as a float64 array of shape ``(len(REWARD_TERMS),)``, in term order."""
        return np.array([self.weights.get(term, 0.0) for term in REWARD_TERMS], np.float64)

    def embedding(self, size: int) -> np.ndarray:
        """The default task embedding: :attr:`vector` as float32, zero-padded to ``size``.

        Raises:
            APIUsageError: ``size < len(REWARD_TERMS)`` (pass a ``task_encoding`` instead).
        """
        if size < len(REWARD_TERMS):
            raise APIUsageError(f"the default embedding of task {self.name!r} needs embedding_size >= "
                                f"{len(REWARD_TERMS)} (one value per reward term), got {size}; pass a "
                                f"task_encoding for every agent to use a smaller embedding")
        out = np.zeros(size, np.float32)
        out[:len(REWARD_TERMS)] = self.vector
        return out


#: The game's own reward: weight 1 on every term the game rewards.
DEFAULT_TASK = Task("default", {term: 1.0 for term in REWARD_TERMS if term != "item_tool"})
#: Combat level-ups only.
COMBAT_TASK = Task("combat", {"comb_lvl": 1.0})
#: Profession level-ups only.
PROFESSION_TASK = Task("profession", {"prof_lvl": 1.0})
#: Equipping (and unequipping) weapons and armour only.
EQUIPMENT_TASK = Task("equipment", {"item_atk_lvl": 1.0, "item_def_lvl": 1.0})
#: Market purchases and listings only.
MARKET_TASK = Task("market", {"market_buy": 1.0, "market_sell": 1.0})
#: The death penalty only (with the default ``reward_death = -1``: -1 per death).
SURVIVAL_TASK = Task("survival", {"death": 1.0})
#: The presets by name.
TASKS = MappingProxyType({t.name: t for t in (DEFAULT_TASK, COMBAT_TASK, PROFESSION_TASK, EQUIPMENT_TASK,
                                               MARKET_TASK, SURVIVAL_TASK)})


def _derive(stream: int, value: int) -> int:
    """A 64-bit hash of ``(stream, value)`` (NumPy's SeedSequence), never 0."""
    return int(np.random.SeedSequence([stream, value]).generate_state(1, np.uint64)[0]) or 1


def _check_seed(name, value):
    return None if value is None else check_int(name, value, 0, MAX_SEED)


class NeuralMMO(pettingzoo.ParallelEnv):
    """One Neural MMO 3 world (``docs/envs/nmmo3.md``) as a PettingZoo ``ParallelEnv``.

    Agents: ``possible_agents == [1, 2, ..., num_players]`` (ints, as in Neural MMO; agent
    ``i`` is player ``i - 1`` of the world). ``agents`` is empty before the first
    :meth:`reset`, holds every player from a reset until the horizon (players respawn, so
    none ever leaves: a death is a reward term and a respawn, not a termination), and is
    empty again once ``horizon`` steps have run. ``terminations`` are always False.

    Args:
        horizon: steps after a reset at which every agent is truncated, >= 1.
        tasks: the initial tasks, as for :meth:`change_task` (default ``[DEFAULT_TASK]``).
        embedding_size: length of the task embedding, >= 1.
        seed: seeds the wrapper's generator (the seeds of unseeded resets, task sampling),
            an int in ``[0, 2**62]``.
        render_mode: None, ``'rgb_array'`` or ``'ansi'`` (see :meth:`render`).
        log_interval: the game reports its episode log every this many steps (see ``infos``).
        **config: the game's keywords (``width``, ``height``, ``num_players``,
            ``num_enemies``, ``num_resources``, ``num_weapons``, ``num_gems``, ``tiers``,
            ``levels``, ``teleportitis_prob``, ``enemy_respawn_ticks``,
            ``item_respawn_ticks``, ``x_window``, ``y_window``, ``reward_*``); defaults as
            :class:`~pufferlib.ocean.nmmo3.NMMO3` (a 512x512 world of 1024 players and 2048
            enemies). :meth:`test_config` gives a small world.

    Spaces (the same for every agent):

    - ``observation_space(agent)``: ``Dict`` of ``map`` ``Box(0, 255, (2*y_window+1,
      2*x_window+1, 10), uint8)`` (the map window, (11, 15, 10) by default), ``player``
      ``Box(0, 255, (47,), uint8)``, ``reward`` ``Box(0, 255, (10,), uint8)`` (the game's
      reward flags, not the task reward) and ``task`` ``Box(-inf, inf, (embedding_size,),
      float32)``. ``map``, ``player`` and ``reward`` are the game's flat observation bytes,
      in order; each step's observations are views into a fresh copy of them, so they stay
      valid after later steps. ``task`` is a read-only view of the agent's embedding.
    - ``action_space(agent)``: ``Discrete(26)``, one object per agent (as the game:
      0-3 move, 4 noop, 5 attack, 8-16 use slot, 20 buy, 21 sell, 22-25 run).
    - ``state_space``: ``Box(0, 255, (height, width, 8), uint8)`` (see :meth:`state`).

    Attributes: ``game`` (the underlying :class:`~pufferlib.ocean.nmmo3.NMMO3`, one world),
    ``tasks`` (``{agent: Task}``), ``task_embeddings`` (``(num_players, embedding_size)``
    float32, read-only), ``horizon``, ``steps`` (since the last reset), ``map_id`` and
    ``world_seed`` of the last reset.

    Raises:
        APIUsageError: an invalid argument (the message names it), including the game's
            own configuration errors and ``num_envs``, ``buf``, ``device``, ``num_threads``
            in ``config`` (the wrapper runs one CPU world).
    """

    metadata = {"name": "neural-mmo", "render_modes": ["rgb_array", "ansi"],
                "render.modes": ["rgb_array", "ansi"]}

    @staticmethod
    def test_config() -> dict:
        """Game keywords of a small world (48x40 tiles, 6 players, 12 enemies) for tests."""
        return {"width": 48, "height": 40, "num_players": 6, "num_enemies": 12, "num_resources": 12,
                "num_weapons": 6, "num_gems": 3, "levels": 12}

    def __init__(self, horizon=1024, tasks=None, embedding_size=16, seed=0, render_mode=None, log_interval=128,
                 **config):
        for key in config:
            if key in _RESERVED:
                raise APIUsageError(f"NeuralMMO runs one CPU world: {key!r} is not a keyword of NeuralMMO "
                                    f"(seed, render_mode and log_interval are its own arguments)")
            if key not in _GAME_KEYWORDS:
                raise APIUsageError(f"unknown NeuralMMO keyword {key!r}; the game's keywords are "
                                    f"{sorted(_GAME_KEYWORDS)}")
        self.horizon = check_int("horizon", horizon, 1)
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        self._np_random = np.random.default_rng(self.seed)
        self.game = NMMO3(num_envs=1, seed=self.seed, render_mode=render_mode, log_interval=log_interval,
                          **config)
        self.render_mode = render_mode
        game = self.game
        self._num_players = game.num_players
        self.possible_agents = list(range(1, game.num_players + 1))
        self.agents = []
        self._rows = (2 * game.y_window + 1, 2 * game.x_window + 1, CHANNELS)
        self._map_size = self._rows[0] * self._rows[1] * CHANNELS
        self._noop = np.full(game.num_players, A_NOOP, np.int32)
        self._action_spaces = {agent: gymnasium.spaces.Discrete(NUM_ACTIONS) for agent in self.possible_agents}
        self.action_spaces = self._action_spaces
        self.state_space = gymnasium.spaces.Box(0, 255, (game.height, game.width, len(STATE_CHANNELS)), np.uint8)
        self.steps = 0
        self.map_id = None
        self.world_seed = None
        self._started = False
        self._closed = False
        self._observation_space = None
        self._set_tasks(self._check_tasks(tasks), self._check_embedding_size(embedding_size), None,
                        np.random.default_rng([self.seed, _TASK_STREAM]))

    # ---- spaces ---------------------------------------------------------------------------

    def _check_agent(self, agent):
        if isinstance(agent, bool) or not isinstance(agent, (int, np.integer)) \
                or not 1 <= agent <= self._num_players:
            raise APIUsageError(f"unknown agent {agent!r}: the agents are the ints 1..{self._num_players}")
        return int(agent)

    def observation_space(self, agent) -> gymnasium.spaces.Dict:
        """The observation space of ``agent`` (the same object for every agent until
        :meth:`change_task` changes ``embedding_size``).

        Raises:
            APIUsageError: ``agent`` is not in ``possible_agents``.
        """
        self._check_agent(agent)
        return self._observation_space

    def action_space(self, agent) -> gymnasium.spaces.Discrete:
        """``Discrete(26)``, one object per agent (seeding one does not change another's samples).

        Raises:
            APIUsageError: ``agent`` is not in ``possible_agents``.
        """
        return self._action_spaces[self._check_agent(agent)]

    # ---- tasks ----------------------------------------------------------------------------

    @staticmethod
    def _check_embedding_size(size):
        return check_int("embedding_size", size, 1)

    @staticmethod
    def _check_tasks(new_tasks):
        if new_tasks is None:
            return [DEFAULT_TASK], np.ones(1)
        if isinstance(new_tasks, (Task, str, bytes)) or not hasattr(new_tasks, "__iter__"):
            raise APIUsageError(f"new_tasks must be a list of Task or (Task, weight) pairs, got {new_tasks!r}")
        tasks, weights = [], []
        for entry in new_tasks:
            if isinstance(entry, Task):
                task, weight = entry, 1.0
            elif isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], Task):
                task, weight = entry
                if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)) \
                        or not math.isfinite(weight) or weight < 0:
                    raise APIUsageError(f"the sampling weight of task {task.name!r} must be a finite real >= 0, "
                                        f"got {weight!r}")
            else:
                raise APIUsageError(f"new_tasks entries must be Task or (Task, weight) pairs, got {entry!r}")
            tasks.append(task)
            weights.append(float(weight))
        if not tasks:
            raise APIUsageError("new_tasks is empty: give at least one Task")
        weights = np.array(weights)
        if weights.sum() <= 0:
            raise APIUsageError("the sampling weights of new_tasks sum to 0")
        return tasks, weights

    def _check_encoding(self, task_encoding, embedding_size):
        if task_encoding is None:
            return {}
        if not isinstance(task_encoding, Mapping):
            raise APIUsageError(f"task_encoding must be a mapping {{agent: embedding}}, got {task_encoding!r}")
        out = {}
        for agent, vector in task_encoding.items():
            agent = self._check_agent(agent)
            try:
                v = np.asarray(vector, dtype=np.float32)
            except (TypeError, ValueError):
                raise APIUsageError(f"task_encoding[{agent}] must be an array of {embedding_size} real numbers, "
                                    f"got {vector!r}") from None
            if v.shape != (embedding_size,) or not np.isfinite(v).all():
                raise APIUsageError(f"task_encoding[{agent}] must have shape ({embedding_size},) and finite "
                                    f"values, got shape {v.shape}")
            out[agent] = v
        return out

    def _set_tasks(self, tasks_weights, embedding_size, task_encoding, rng):
        tasks, weights = tasks_weights
        encoding = self._check_encoding(task_encoding, embedding_size)
        if len(tasks) == 1:
            picks = np.zeros(self._num_players, np.intp)
        else:
            picks = rng.choice(len(tasks), size=self._num_players, p=weights / weights.sum())
        assigned = {agent: tasks[k] for agent, k in zip(self.possible_agents, picks)}
        embeddings = np.empty((self._num_players, embedding_size), np.float32)
        defaults = {}
        for agent, task in assigned.items():
            if agent in encoding:
                embeddings[agent - 1] = encoding[agent]
            else:
                if task not in defaults:
                    defaults[task] = task.embedding(embedding_size)
                embeddings[agent - 1] = defaults[task]
        embeddings.flags.writeable = False
        # Commit (nothing above changed the env).
        self.tasks = assigned
        self.task_embeddings = embeddings
        self._weights = np.stack([assigned[agent].vector for agent in self.possible_agents])
        if self._observation_space is None or self._observation_space["task"].shape != (embedding_size,):
            self._observation_space = gymnasium.spaces.Dict({
                "map": gymnasium.spaces.Box(0, 255, self._rows, np.uint8),
                "player": gymnasium.spaces.Box(0, 255, (PLAYER_OBS,), np.uint8),
                "reward": gymnasium.spaces.Box(0, 255, (REWARD_OBS,), np.uint8),
                "task": gymnasium.spaces.Box(-np.inf, np.inf, (embedding_size,), np.float32),
            })
            self.observation_spaces = {agent: self._observation_space for agent in self.possible_agents}
        self.embedding_size = embedding_size

    def change_task(self, new_tasks, task_encoding=None, embedding_size=16, reset=True, map_id=None, seed=None,
                    options=None):
        """Give each agent a task (its reward function) and, by default, reset.

        Args:
            new_tasks: a non-empty list whose entries are :class:`Task` (sampling weight 1)
                or ``(Task, weight)`` pairs (weight a finite real >= 0, not all 0). Each agent
                draws its task independently with probability proportional to the weights
                (one task: every agent gets it); the draw uses a generator seeded by
                ``seed`` when given, else the wrapper's generator.
            task_encoding: ``{agent: embedding}`` (array-likes of shape ``(embedding_size,)``,
                finite); agents not in it get their task's default embedding
                (:meth:`Task.embedding`: its weights zero-padded, which needs
                ``embedding_size >= 8``).
            embedding_size: length of the ``task`` observation, >= 1; the observation space
                changes with it.
            reset: reset after assigning (``map_id``, ``seed``, ``options`` are passed on).
                Without a reset the new rewards apply from the next step and the new
                embeddings appear in the next step's observations.

        Returns:
            ``reset(map_id, seed, options)``'s ``(observations, infos)`` when ``reset``, else None.

        Raises:
            APIUsageError: a malformed argument (nothing is changed), or after :meth:`close`.
        """
        if self._closed:
            raise APIUsageError("change_task() called on a closed NeuralMMO")
        embedding_size = self._check_embedding_size(embedding_size)
        tasks = self._check_tasks(new_tasks)
        map_id, seed = _check_seed("map_id", map_id), _check_seed("seed", seed)
        self._check_options(options)
        rng = self._np_random if seed is None else np.random.default_rng([seed, _TASK_STREAM])
        self._set_tasks(tasks, embedding_size, task_encoding, rng)
        if reset:
            return self.reset(map_id=map_id, seed=seed, options=options)
        return None

    # ---- reset / step ---------------------------------------------------------------------

    @staticmethod
    def _check_options(options):
        if options is not None and not isinstance(options, Mapping):
            raise APIUsageError(f"options must be None or a dict, got {options!r}")

    def reset(self, map_id=None, seed=None, options=None):
        """Build a fresh world; every player becomes an agent again.

        Args:
            map_id: int in ``[0, 2**62]``: the world (terrain, items, initial players and
                enemies) is a fixed function of ``map_id``, distinct ids giving distinct
                worlds. None: the map comes from ``seed``.
            seed: int in ``[0, 2**62]``: reseeds the wrapper's generator. Without ``map_id``
                the world is the one ``NMMO3(num_envs=1, seed=seed)`` builds; with ``map_id``
                it seeds what happens after the reset (the world's generator is reseeded once
                the map is built). Neither given: a seed drawn from the wrapper's generator
                (seeded by the constructor's ``seed``), so successive resets differ.
            options: None or a dict; ignored.

        Returns:
            ``(observations, infos)``: ``{agent: observation}`` (see the class docstring)
            and ``{agent: {}}`` for every agent.

        Raises:
            APIUsageError: ``map_id`` / ``seed`` not an int in range, ``options`` not a dict,
                or after :meth:`close`.
        """
        if self._closed:
            raise APIUsageError("reset() called on a closed NeuralMMO")
        map_id, seed = _check_seed("map_id", map_id), _check_seed("seed", seed)
        self._check_options(options)
        if seed is not None:
            self._np_random = np.random.default_rng(seed)
        if map_id is not None:
            world_seed = _derive(_MAP_STREAM, map_id) % (MAX_SEED + 1)
        elif seed is not None:
            world_seed = seed
        else:
            world_seed = int(self._np_random.integers(0, MAX_SEED, endpoint=True))
        self.game.reset(world_seed)
        if map_id is not None and seed is not None:
            self.game.envs["rng"][0] = np.uint64(_derive(_DYNAMICS_STREAM, seed))
        self.map_id, self.world_seed = map_id, world_seed
        self.steps = 0
        self._started = True
        self.agents = list(self.possible_agents)
        return self._observations(), {agent: {} for agent in self.agents}

    def _parse_actions(self, actions):
        if not isinstance(actions, Mapping):
            raise APIUsageError(f"actions must be a dict {{agent: action}}, got {type(actions).__name__}")
        out = self._noop.copy()
        for agent, action in actions.items():
            row = self._check_agent(agent) - 1
            if isinstance(action, np.ndarray) and action.ndim == 0:
                action = action[()]
            if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
                raise APIUsageError(f"the action of agent {agent} must be an int in [0, {NUM_ACTIONS}), "
                                    f"got {action!r} ({type(action).__name__})")
            if not 0 <= action < NUM_ACTIONS:
                raise APIUsageError(f"the action of agent {agent} must be an int in [0, {NUM_ACTIONS}), "
                                    f"got {action}")
            out[row] = action
        return out

    def step(self, actions):
        """Advance the world one tick.

        Args:
            actions: ``{agent: action}``, actions ints (Python or NumPy, or 0-d integer
                arrays) in ``[0, 26)``. Agents left out act NOOP (4); actions the game
                cannot perform (an attack with nobody in range, a move into water...) do
                nothing.

        Returns:
            ``(observations, rewards, terminations, truncations, infos)``, dicts over the
            agents that acted: observations as in the class docstring; rewards Python
            floats, the agent's task-weighted sum of this tick's reward terms;
            terminations False; truncations True for everyone on the ``horizon``-th step
            (``agents`` is then empty); infos ``{}``, or on the steps where the game reports
            its episode log (every ``log_interval`` steps, when a player episode ended)
            ``{'log': {field: mean}}`` (the same dict for every agent).

        Raises:
            APIUsageError: ``actions`` not a dict, a key that is not an agent, an action
                that is not an int in ``[0, 26)`` (nothing is stepped); a step before
                :meth:`reset`, after the horizon, or after :meth:`close`.
        """
        if not self.agents:
            if self._closed:
                raise APIUsageError("step() called on a closed NeuralMMO")
            if not self._started:
                raise APIUsageError("call reset() before the first step()")
            raise APIUsageError(f"the episode reached its horizon ({self.horizon} steps): call reset()")
        parsed = self._parse_actions(actions)
        _, _, _, _, game_infos = self.game.step(parsed)
        self.steps += 1
        agents = self.agents
        players = self.game.players[0]
        terms = np.stack([players["t_" + term] for term in REWARD_TERMS], axis=1).astype(np.float64)
        rewards = dict(zip(agents, np.einsum("ij,ij->i", terms, self._weights).tolist()))
        done = self.steps >= self.horizon
        terminations = dict.fromkeys(agents, False)
        truncations = dict.fromkeys(agents, done)
        if game_infos:
            log = game_infos[0]
            infos = {agent: {"log": log} for agent in agents}
        else:
            infos = {agent: {} for agent in agents}
        observations = self._observations()
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def _observations(self):
        flat = self.game.observations.copy()
        maps = flat[:, :self._map_size].reshape(-1, *self._rows)
        m, p = self._map_size, self._map_size + PLAYER_OBS
        players, flags = flat[:, m:p], flat[:, p:]
        emb = self.task_embeddings
        return {agent: {"map": maps[i], "player": players[i], "reward": flags[i], "task": emb[i]}
                for i, agent in enumerate(self.possible_agents)}

    # ---- state / render / close -------------------------------------------------------------

    def state(self) -> np.ndarray:
        """A global view of the world for centralized training: a new ``(height, width, 8)``
        uint8 array (``state_space``), one pixel per tile, channels :data:`STATE_CHANNELS`:
        0 terrain byte (4 * class + season), 1 item id (0: none), then for the entity on the
        tile (0 where none): 2 kind (1 player, 2 enemy), 3 hp, 4 combat level, 5 profession
        level, 6 element, 7 in-combat countdown. Valid before the first reset (the world
        the constructor built).

        Raises:
            APIUsageError: after :meth:`close`.
        """
        if self._closed:
            raise APIUsageError("state() called on a closed NeuralMMO")
        s = self.game.state(0)
        pids = s["pids"]
        out = np.zeros(self.state_space.shape, np.uint8)
        out[..., 0] = s["terrain"].view(np.uint8)
        out[..., 1] = s["items"]
        on = pids >= 0
        ents = s["entities"][pids[on]]
        for k, field in enumerate(_STATE_FIELDS, start=2):
            out[..., k][on] = np.clip(ents[field], 0, 255)
        return out

    def render(self):
        """The world as the game draws it in the constructor's ``render_mode``: an ``(H*k,
        W*k, 3)`` uint8 picture (``'rgb_array'``) or a text picture around player 1
        (``'ansi'``).

        Raises:
            APIUsageError: the wrapper was built with ``render_mode=None``.
        """
        return self.game.render()

    def close(self):
        """Release the world; later ``reset`` / ``step`` / ``state`` / ``change_task``
        raise APIUsageError. Idempotent."""
        if not self._closed:
            self._closed = True
            self.agents = []
            self.game.close()


_GAME_KEYWORDS = frozenset(inspect.signature(NMMO3.__init__).parameters) - {"self", *_RESERVED}
