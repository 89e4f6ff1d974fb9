"""The native PufferEnv contract (docs/pufferenv-api.md) and its errors."""
import subprocess
import sys

import gymnasium
import numpy as np
import pytest

import pufferlib
from pufferlib import APIUsageError
from pufferlib.spaces import joint_space, make_discrete, make_multi_discrete, make_space


# ---- example envs in the style of PufferLib's PufferEnv guide (see docs/pufferenv-api.md) --
class SamplePufferEnv(pufferlib.PufferEnv):
    def __init__(self, buf=None, seed=0):
        # Define spaces BEFORE calling super()
        self.single_observation_space = gymnasium.spaces.Box(
            low=-1, high=1, shape=(1,)
        )
        self.single_action_space = gymnasium.spaces.Discrete(2)
        self.num_agents = 2
        # This creates shared buffers and joint spaces
        super().__init__(buf)

    def reset(self, seed=0):
        # Write directly to pre-allocated buffer
        self.observations[:] = self.observation_space.sample()
        return self.observations, []

    def step(self, action):
        # Update observations in-place
        self.observations[:] = self.observation_space.sample()
        infos = [{'info': 'list of dictionaries'}]
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def close(self):
        pass


class MultiAgentEnv(pufferlib.PufferEnv):
    def __init__(self, num_agents=16, buf=None, seed=0):
        self.single_observation_space = gymnasium.spaces.Box(
            low=0, high=1, shape=(4,)
        )
        self.single_action_space = gymnasium.spaces.Discrete(3)
        self.num_agents = num_agents
        super().__init__(buf)

    def step(self, actions):
        # actions is a numpy array of shape (num_agents,)
        for i, action in enumerate(actions):
            # Process each agent's action
            self.observations[i] = self.compute_observation(i)
            self.rewards[i] = self.compute_reward(i)
            self.terminals[i] = self.check_done(i)
        return self.observations, self.rewards, self.terminals, self.truncations, []


def test_sample_env_runs_as_documented():
    env = SamplePufferEnv()
    observations, infos = env.reset()
    actions = env.action_space.sample()
    observations, rewards, terminals, truncations, infos = env.step(actions)
    assert observations.shape == (2, 1)
    assert rewards.shape == (2,) and rewards.dtype == np.float32
    assert terminals.shape == (2,) and terminals.dtype == bool
    assert truncations.shape == (2,) and truncations.dtype == bool
    assert infos == [{'info': 'list of dictionaries'}]
    assert observations is env.observations
    assert env.observation_space.shape == (2, 1)
    assert env.action_space.shape == (2,)
    assert not env.emulated and not env.done and env.driver_env is env


def test_multi_agent_env_as_documented():
    class Filled(MultiAgentEnv):
        def compute_observation(self, i):
            return np.full(4, i / 16, np.float32)

        def compute_reward(self, i):
            return float(i)

        def check_done(self, i):
            return i % 2 == 0

    env = Filled(num_agents=16)
    assert env.actions.shape == (16,) and env.actions.dtype == np.int32
    obs, rew, term, trunc, infos = env.step(np.zeros(16, np.int32))
    assert obs.shape == (16, 4)
    np.testing.assert_array_equal(rew, np.arange(16, dtype=np.float32))
    np.testing.assert_array_equal(term, np.arange(16) % 2 == 0)


def test_async_interface():
    env = SamplePufferEnv()
    env.async_reset(0)
    obs, rew, term, trunc, infos, agent_ids, masks = env.recv()
    assert infos == [] and list(agent_ids) == [0, 1] and masks.all()
    env.send(env.action_space.sample())
    assert env.recv()[4] == [{'info': 'list of dictionaries'}]


# ---- definition errors --------------------------------------------------------------
def _env(**attrs):
    class E(pufferlib.PufferEnv):
        def __init__(self, buf=None):
            for k, v in attrs.items():
                setattr(self, k, v)
            super().__init__(buf)
    return E


BOX = gymnasium.spaces.Box(0, 1, (3,), np.float32)
DISC = gymnasium.spaces.Discrete(4)


@pytest.mark.parametrize("missing", ["single_observation_space", "single_action_space", "num_agents"])
def test_missing_attribute(missing):
    attrs = dict(single_observation_space=BOX, single_action_space=DISC, num_agents=2)
    del attrs[missing]
    with pytest.raises(APIUsageError, match=missing):
        _env(**attrs)()


def test_observation_space_instead_of_single():
    with pytest.raises(APIUsageError, match="single_observation_space"):
        _env(observation_space=BOX, single_action_space=DISC, num_agents=1)()
    with pytest.raises(APIUsageError, match="single_action_space"):
        _env(single_observation_space=BOX, action_space=DISC, num_agents=1)()


def test_observation_space_must_be_box():
    with pytest.raises(APIUsageError, match="Box"):
        _env(single_observation_space=gymnasium.spaces.Discrete(3), single_action_space=DISC, num_agents=1)()


def test_action_space_type():
    bad = gymnasium.spaces.Dict({"a": DISC})
    with pytest.raises(APIUsageError, match="Discrete, MultiDiscrete or Box"):
        _env(single_observation_space=BOX, single_action_space=bad, num_agents=1)()


@pytest.mark.parametrize("n", [0, -1, 1.5, "2", True])
def test_num_agents_invalid(n):
    with pytest.raises(APIUsageError, match="num_agents"):
        _env(single_observation_space=BOX, single_action_space=DISC, num_agents=n)()


def test_buffers_from_buf_are_used_zero_copy():
    E = _env(single_observation_space=BOX, single_action_space=DISC, num_agents=2)
    big = np.zeros((4, 3), np.float32)
    buf = {"observations": big[2:], "rewards": np.zeros(2, np.float32)}
    env = E(buf)
    assert np.shares_memory(env.observations, big)
    env.observations[:] = 1
    assert (big[2:] == 1).all() and (big[:2] == 0).all()
    assert env.terminals.shape == (2,)  # missing entries allocated


@pytest.mark.parametrize("name,arr", [
    ("observations", np.zeros((2, 4), np.float32)),
    ("observations", np.zeros((2, 3), np.float64)),
    ("rewards", np.zeros(3, np.float32)),
    ("terminals", np.zeros(2, np.int8)),
    ("actions", np.zeros(2, np.float32)),
])
def test_bad_buf_entry(name, arr):
    E = _env(single_observation_space=BOX, single_action_space=DISC, num_agents=2)
    with pytest.raises(APIUsageError, match=name):
        E({name: arr})


def test_non_contiguous_buf():
    E = _env(single_observation_space=BOX, single_action_space=DISC, num_agents=2)
    with pytest.raises(APIUsageError, match="contiguous"):
        E({"observations": np.zeros((2, 6), np.float32)[:, ::2]})


def test_state_default_and_range():
    env = SamplePufferEnv()
    assert env.state(0) == {}
    for bad in (1, -1):
        with pytest.raises(APIUsageError, match="out of range"):
            env.state(bad)
    with pytest.raises(APIUsageError, match="int"):
        env.state("0")


# ---- spaces -------------------------------------------------------------------------
def test_space_helpers():
    d = make_space({"image": (84, 84, 3), "vector": (10,)})
    assert isinstance(d, gymnasium.spaces.Dict) and d["image"].shape == (84, 84, 3)
    assert make_space((3,)).shape == (3,)
    assert make_discrete(4).n == 4
    assert list(make_multi_discrete([3, 5, 2]).nvec) == [3, 5, 2]
    mixed = make_space({"position": (1,), "type": make_discrete(5)})
    assert isinstance(mixed["type"], gymnasium.spaces.Discrete)
    for bad in (lambda: make_discrete(0), lambda: make_multi_discrete([]), lambda: make_space("x"),
                lambda: make_multi_discrete([2, 0])):
        with pytest.raises(APIUsageError):
            bad()


def test_space_helpers_as_methods_before_super_init():
    """PufferLib's environment guide builds spaces with self.make_space(...) etc. before super().__init__()."""
    class GuideEnv(pufferlib.PufferEnv):
        def __init__(self, buf=None):
            self.single_observation_space = self.make_space((3,), low=-1, high=1)
            self.single_action_space = self.make_multi_discrete([3, 5])
            self.num_agents = 2
            self.discrete = self.make_discrete(4)
            super().__init__(buf)

    env = GuideEnv()
    assert env.single_observation_space == gymnasium.spaces.Box(-1, 1, (3,), np.float32)
    assert env.single_action_space == gymnasium.spaces.MultiDiscrete([3, 5])
    assert env.discrete == gymnasium.spaces.Discrete(4)
    assert env.actions.shape == (2, 2) and env.observations.shape == (2, 3)
    assert pufferlib.PufferEnv.make_discrete is make_discrete  # the same functions as pufferlib.spaces
    assert pufferlib.PufferEnv.make_space is make_space
    assert pufferlib.PufferEnv.make_multi_discrete is make_multi_discrete
    with pytest.raises(APIUsageError, match="make_discrete needs n >= 1"):
        GuideEnv.make_discrete(0)


def test_joint_space():
    assert list(joint_space(gymnasium.spaces.Discrete(3), 4).nvec) == [3] * 4
    assert joint_space(gymnasium.spaces.MultiDiscrete([2, 3]), 5).shape == (5, 2)
    box = joint_space(BOX, 7)
    assert box.shape == (7, 3) and box.dtype == np.float32
    with pytest.raises(APIUsageError):
        joint_space(BOX, 0)


def test_import_compiles_nothing():
    code = ("import sys, pufferlib; "
            "assert 'numba' not in sys.modules, 'import pufferlib pulled in numba'; "
            "assert not any(m.startswith('pufferlib.ocean.') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
