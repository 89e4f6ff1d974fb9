"""Tiny Gymnasium / PettingZoo environments and helpers used by tests/test_emulation.py."""
from __future__ import annotations

import functools

import gymnasium
import numpy as np
from gymnasium import spaces as S
from pettingzoo import ParallelEnv


def assert_same_structure(native, original, space):
    """Assert ``native`` (from nativize) equals ``original`` (a sample of ``space``) leaf by leaf."""
    if isinstance(space, S.Dict):
        assert isinstance(native, dict)
        assert list(native) == list(space.spaces)
        for key, sub in space.spaces.items():
            assert_same_structure(native[key], original[key], sub)
    elif isinstance(space, S.Tuple):
        assert isinstance(native, tuple) and len(native) == len(space.spaces)
        for n, o, sub in zip(native, original, space.spaces):
            assert_same_structure(n, o, sub)
    elif isinstance(space, S.Discrete) and np.ndim(native) == 0:
        assert isinstance(native, int)
        assert native == int(original)
    else:
        native = np.asarray(native)
        original = np.asarray(original)
        assert native.dtype == np.dtype(space.dtype), (native.dtype, space.dtype)
        assert native.shape == original.shape
        np.testing.assert_array_equal(native, original)


class DictEnv(gymnasium.Env):
    """Single-agent env with a nested Dict/Tuple observation and a nested Dict action space.

    The observation echoes the last action and the step count, so tests can check
    that actions arrive unflattened and observations leave flattened exactly.
    Terminates after ``horizon`` steps; reward = 0.5 per step.
    """

    metadata = {"render_modes": []}

    def __init__(self, horizon=5):
        self.horizon = horizon
        self.observation_space = S.Dict({
            "pos": S.Box(-10.0, 10.0, (2,), np.float32),
            "inv": S.Tuple((S.Discrete(4), S.MultiDiscrete([3, 3]))),
            "flags": S.MultiBinary(2),
        })
        self.action_space = S.Dict({
            "move": S.Discrete(4, start=-1),
            "use": S.Tuple((S.Discrete(2), S.MultiDiscrete([3, 2]))),
        })
        self.last_action = None
        self.last_obs = None
        self.t = 0

    def _obs(self, action):
        move = 0 if action is None else action["move"]
        use = (0, np.zeros(2, np.int64)) if action is None else action["use"]
        obs = {
            "flags": np.array([self.t % 2, 1], np.int8),
            "inv": (int(use[0]) + 2 * (self.t % 2), np.asarray(use[1], np.int64) % 3),
            "pos": np.array([self.t, move], np.float32),
        }
        self.last_obs = obs
        return obs

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.last_action = None
        return self._obs(None), {"reset": True}

    def step(self, action):
        assert self.action_space.contains(action), action
        self.last_action = action
        self.t += 1
        return self._obs(action), 0.5, self.t >= self.horizon, False, {"t": self.t}


class ThreeAgentEnv(ParallelEnv):
    """Parallel env with 3 possible agents; ``b`` dies after ``b_dies_at`` steps, the rest are truncated at ``horizon``.

    Observation (shared space): ``{'id': Discrete(3), 'vec': Box(-100, 100, (2,), float32)}``
    with ``id`` = agent index and ``vec`` = ``[t, last action]``. Action: ``Discrete(3)``.
    Reward of agent i at step t: ``i + 1`` (``b`` also gets -5 on its dying step).
    """

    metadata = {"render_modes": [], "name": "three_agent_v0"}

    def __init__(self, horizon=4, b_dies_at=2):
        self.possible_agents = ["a", "b", "c"]
        self.agents = []
        self.render_mode = None
        self.horizon = horizon
        self.b_dies_at = b_dies_at
        self._obs_space = S.Dict({"id": S.Discrete(3), "vec": S.Box(-100.0, 100.0, (2,), np.float32)})
        self._atn_space = S.Discrete(3)
        self.t = 0
        self.received = []

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent):
        return self._obs_space

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent):
        return self._atn_space

    def _obs(self, agent, action):
        return {"id": self.possible_agents.index(agent),
                "vec": np.array([self.t, action], np.float32)}

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.t = 0
        self.received = []
        return {a: self._obs(a, 0) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.received.append(dict(actions))
        self.t += 1
        obs, rew, term, trunc, info = {}, {}, {}, {}, {}
        for a in self.agents:
            i = self.possible_agents.index(a)
            obs[a] = self._obs(a, int(actions.get(a, 0)))
            rew[a] = float(i + 1)
            term[a] = a == "b" and self.t >= self.b_dies_at
            trunc[a] = self.t >= self.horizon
            info[a] = {}
            if a == "b" and term[a]:
                rew[a] -= 5.0
        self.agents = [a for a in self.agents if not (term[a] or trunc[a])]
        return obs, rew, term, trunc, info


class MixedSpacesEnv(ThreeAgentEnv):
    """Like ThreeAgentEnv but agent ``c`` has a different action space (not emulatable)."""

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent):
        return S.Discrete(5) if agent == "c" else self._atn_space


# ---- envs for the emulation fixes: text, old gym, lazy spaces, kwargs, copies, AEC ------------
class MissionSpace(S.Space):
    """Stands in for Minigrid's ``MissionSpace`` (matched by class name): samples are strings, no max_length."""

    def __init__(self):
        super().__init__(None, None)

    def sample(self, mask=None, probability=None):
        return "get to the goal"

    def contains(self, x):
        return isinstance(x, str)


class TextEnv(gymnasium.Env):
    """Observation ``{'mission': <text space>, 'pos': Box(0, 9, (2,), float32), 'note': (Text(4), Discrete(3))}``;
    the mission string is ``missions[t % len(missions)]`` at step t."""

    metadata = {"render_modes": []}

    def __init__(self, missions=("go right", "pick up the key"), text_space=None):
        self.missions = missions
        self.observation_space = S.Dict({
            "mission": text_space if text_space is not None else MissionSpace(),
            "pos": S.Box(0, 9, (2,), np.float32),
            "note": S.Tuple((S.Text(4), S.Discrete(3))),
        })
        self.action_space = S.Discrete(2)
        self.t = 0

    def _obs(self):
        return {"mission": self.missions[self.t % len(self.missions)],
                "pos": np.array([self.t, 1], np.float32), "note": ("ab", self.t % 3)}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        return self._obs(), 1.0, self.t >= 3, False, {}


class OldGymCounter:
    """An env of the old gym API (not a gymnasium.Env): ``reset() -> obs``, ``seed(s)``, 4-tuple ``step``.

    Observation: ``[t, start]`` where ``start`` is drawn from the seeded RNG at reset. ``done`` at
    ``horizon`` steps, flagged ``TimeLimit.truncated`` when ``truncate`` is set; ``done`` with a
    terminal (no flag) when the action is 1."""

    def __init__(self, horizon=3, truncate=True):
        self.observation_space = S.Box(0, 100, (2,), np.float32)
        self.action_space = S.Discrete(2)
        self.horizon, self.truncate = horizon, truncate
        self.rng = np.random.default_rng()
        self.seeds = []

    def seed(self, seed=None):
        self.seeds.append(seed)
        self.rng = np.random.default_rng(seed)

    def reset(self):
        self.t = 0
        self.start = float(self.rng.integers(0, 50))
        return np.array([self.t, self.start], np.float32)

    def step(self, action):
        self.t += 1
        obs = np.array([self.t, self.start], np.float32)
        if action == 1:
            return obs, 1.0, True, {}
        done = self.t >= self.horizon
        return obs, 0.5, done, ({"TimeLimit.truncated": True} if done and self.truncate else {})


class LazySpaceEnv(gymnasium.Env):
    """Knows its observation space only after ``reset()`` (``observation_space`` is None before)."""

    metadata = {"render_modes": []}

    def __init__(self, size=3):
        self.size = size
        self.observation_space = None
        self.action_space = S.Discrete(2)
        self.resets = 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.resets += 1
        self.observation_space = S.Box(0, 1, (self.size,), np.float32)
        return np.zeros(self.size, np.float32), {}

    def step(self, action):
        return np.ones(self.size, np.float32), 0.0, True, False, {}


class NamedEnv(gymnasium.Env):
    """Takes ``name`` and ``env_id`` keywords (the names of make_gymnasium's / make_pettingzoo's first
    parameter); its observation is ``[len(name), len(env_id)]``."""

    metadata = {"render_modes": []}

    def __init__(self, name="x", env_id="y"):
        self.name, self.env_id = name, env_id
        self.observation_space = S.Box(0, 100, (2,), np.float32)
        self.action_space = S.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return np.array([len(self.name), len(self.env_id)], np.float32), {}

    def step(self, action):
        return np.array([len(self.name), len(self.env_id)], np.float32), 0.0, False, False, {}


if "PufferTest/Named-v0" not in gymnasium.envs.registry:
    gymnasium.register("PufferTest/Named-v0", entry_point=NamedEnv)
    gymnasium.register("PufferTest/Dict-v0", entry_point=DictEnv)


class PlainWrapper(gymnasium.Wrapper):
    """A wrapper that does not record its constructor arguments (a spec cannot rebuild it);
    it doubles the reward."""

    def step(self, action):
        ob, r, term, trunc, info = self.env.step(action)
        return ob, 2 * r, term, trunc, info


class Uncopyable(PlainWrapper):
    """A PlainWrapper that refuses to be deep-copied (like envs holding a C handle)."""

    def __deepcopy__(self, memo):
        raise TypeError("cannot copy the simulator handle")


def make_countdown_game(start=5):
    """A two-player turn-based AEC game: players take 1 or 2 (action 0 / 1) from a counter starting
    at ``start``; who takes the last wins (+1, the other -1). Taking 2 when 1 is left is illegal:
    the mover loses. Observation ``{'observation': Box [counter, seat], 'action_mask': int8 (2,)}``."""
    from pettingzoo import AECEnv

    class _Countdown(AECEnv):
        metadata = {"render_modes": [], "name": "countdown_v0", "is_parallelizable": False}

        def __init__(self):
            super().__init__()
            self.possible_agents = ["p0", "p1"]
            self._obs_space = S.Dict({"observation": S.Box(0, 100, (2,), np.float32),
                                      "action_mask": S.Box(0, 1, (2,), np.int8)})
            self._atn_space = S.Discrete(2)
            self.moves = []

        def observation_space(self, agent):
            return self._obs_space

        def action_space(self, agent):
            return self._atn_space

        def observe(self, agent):
            mask = np.array([1, int(self.counter >= 2)], np.int8)
            return {"observation": np.array([self.counter, self.possible_agents.index(agent)], np.float32),
                    "action_mask": mask}

        def reset(self, seed=None, options=None):
            self.agents = list(self.possible_agents)
            self.counter = start
            self.rewards = {a: 0.0 for a in self.agents}
            self._cumulative_rewards = {a: 0.0 for a in self.agents}
            self.terminations = {a: False for a in self.agents}
            self.truncations = {a: False for a in self.agents}
            self.infos = {a: {} for a in self.agents}
            self.agent_selection = "p0"

        def step(self, action):
            agent = self.agent_selection
            if self.terminations[agent] or self.truncations[agent]:
                self._was_dead_step(action)
                return
            other = "p1" if agent == "p0" else "p0"
            self.moves.append((agent, action))
            take = int(action) + 1
            self.rewards = {a: 0.0 for a in self.agents}
            if take > self.counter:              # illegal: the mover loses
                self.rewards = {agent: -1.0, other: 1.0}
                self.terminations = {a: True for a in self.agents}
            else:
                self.counter -= take
                if self.counter == 0:
                    self.rewards = {agent: 1.0, other: -1.0}
                    self.terminations = {a: True for a in self.agents}
            self.agent_selection = other

    return _Countdown()
