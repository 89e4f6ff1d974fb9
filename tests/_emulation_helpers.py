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
