"""Tests of pufferlib.emulation: structured-space flattening, the Gymnasium and PettingZoo wrappers, make."""
from __future__ import annotations

import importlib.util

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces as S
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pufferlib
from pufferlib import APIUsageError, EnvironmentSetupError
from pufferlib.emulation import (
    GymnasiumPufferEnv,
    PettingZooPufferEnv,
    dtype_from_space,
    emulate,
    emulate_action_space,
    emulate_observation_space,
    flatten_sample,
    nativize,
)

try:
    import _emulation_helpers as H
except ImportError:  # tests/ is a package
    from tests import _emulation_helpers as H
DictEnv, MixedSpacesEnv, ThreeAgentEnv, assert_same_structure = (
    H.DictEnv, H.MixedSpacesEnv, H.ThreeAgentEnv, H.assert_same_structure)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ============================================================================================
# Hypothesis: nested spaces
# ============================================================================================
BOX_DTYPES = [np.float32, np.float64, np.int32, np.uint8, np.int16]
small_shape = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)


@st.composite
def boxes(draw):
    dtype = np.dtype(draw(st.sampled_from(BOX_DTYPES)))
    shape = draw(small_shape)
    if dtype.kind == "f":
        low = draw(st.floats(-100, 0, allow_nan=False))
        high = draw(st.floats(0, 100, allow_nan=False))
    else:
        info = np.iinfo(dtype)
        low = draw(st.integers(max(info.min, -50), 0))
        high = draw(st.integers(0, min(info.max, 200)))
    return S.Box(low=low, high=high, shape=shape, dtype=dtype)


discretes = st.builds(lambda n, start: S.Discrete(n, start=start), st.integers(1, 6), st.integers(-3, 3))
multi_discretes = st.lists(st.integers(1, 5), min_size=1, max_size=3).flatmap(
    lambda nvec: st.lists(st.integers(-2, 2), min_size=len(nvec), max_size=len(nvec)).map(
        lambda start: S.MultiDiscrete(nvec, start=start)))
multi_binaries = st.integers(1, 4).map(S.MultiBinary)
discrete_leaves = st.one_of(discretes, multi_discretes, multi_binaries)
obs_leaves = st.one_of(boxes(), discretes, multi_discretes, multi_binaries)
keys = st.text(alphabet="abcdefghij_", min_size=1, max_size=4)


def nested(leaves, depth):
    """Spaces nested at most ``depth`` containers deep (Dict / Tuple of 1..3 children)."""
    if depth == 0:
        return leaves
    child = nested(leaves, depth - 1)
    return st.one_of(
        leaves,
        st.dictionaries(keys, child, min_size=1, max_size=3).map(S.Dict),
        st.lists(child, min_size=1, max_size=3).map(lambda xs: S.Tuple(tuple(xs))),
    )


obs_spaces = nested(obs_leaves, 3)
action_spaces = nested(discrete_leaves, 3)


@FAST
@given(space=obs_spaces, seed=st.integers(0, 2**31 - 1))
def test_flatten_nativize_roundtrip(space, seed):
    box, dtype = emulate_observation_space(space)
    space.seed(seed)
    for _ in range(3):
        sample = space.sample()
        flat = flatten_sample(sample, space, dtype)
        assert flat.shape == box.shape and flat.dtype == box.dtype
        assert box.contains(flat), (flat, box)
        native = nativize(flat, space, dtype)
        assert_same_structure(native, sample, space)
        assert space.contains(native)


@FAST
@given(space=obs_spaces, seed=st.integers(0, 2**31 - 1))
def test_nativize_batch_matches_rows(space, seed):
    box, dtype = emulate_observation_space(space)
    space.seed(seed)
    samples = [space.sample() for _ in range(4)]
    batch = np.stack([flatten_sample(s, space, dtype) for s in samples])
    native = nativize(batch, space, dtype)
    for i, s in enumerate(samples):
        row = nativize(batch[i], space, dtype)
        assert_same_structure(row, s, space)
    # batched leaves carry the batch dimension first
    leaf = native
    sub = space
    while isinstance(sub, (S.Dict, S.Tuple)):
        if isinstance(sub, S.Dict):
            key = next(iter(sub.spaces))
            leaf, sub = leaf[key], sub.spaces[key]
        else:
            leaf, sub = leaf[0], sub.spaces[0]
    assert np.shape(leaf)[0] == 4


@FAST
@given(space=obs_spaces)
def test_emulated_box_layout(space):
    box, dtype = emulate_observation_space(space)
    assert isinstance(box, S.Box)
    if isinstance(space, S.Box):
        assert box is space
        return
    assert box.shape[0] * box.dtype.itemsize == dtype.itemsize
    leaf_dtypes = {np.dtype(leaf.dtype) for leaf in pufferlib.emulation.flatten_space(space)}
    if len(leaf_dtypes) == 1:
        assert box.dtype == leaf_dtypes.pop()
    else:
        assert box.dtype == np.uint8 and box.shape == (dtype.itemsize,)
        assert np.all(box.low == 0) and np.all(box.high == 255)


@FAST
@given(space=action_spaces, seed=st.integers(0, 2**31 - 1))
def test_action_space_roundtrip(space, seed):
    md, dtype = emulate_action_space(space)
    space.seed(seed)
    for _ in range(3):
        sample = space.sample()
        if isinstance(space, (S.Discrete, S.MultiDiscrete)):
            assert md is space
            continue
        assert isinstance(md, S.MultiDiscrete) and md.shape == (dtype.itemsize // 4,)
        flat = flatten_sample(sample, space, dtype, out=np.zeros(md.shape, np.int32))
        assert md.contains(flat.astype(np.int64))
        native = nativize(flat, space, dtype)
        assert_same_structure(native, sample, space)


def test_structured_dtype_shape():
    space = S.Dict({"a": S.Box(0, 1, (2, 3), np.float32),
                    "b": S.Tuple((S.Discrete(3), S.MultiDiscrete([2, 2]))),
                    "c": S.MultiBinary(4)})
    dtype = dtype_from_space(space)
    assert dtype.names == ("a", "b", "c")
    assert dtype["a"].subdtype == (np.dtype(np.float32), (2, 3))
    assert dtype["b"].names == ("f0", "f1")
    assert dtype["b"]["f0"] == np.int64
    assert dtype["b"]["f1"].subdtype == (np.dtype(np.int64), (2,))
    assert dtype["c"].subdtype == (np.dtype(np.int8), (4,))


def test_common_dtype_box_has_leaf_bounds():
    space = S.Dict({"x": S.Box(-1, 1, (2,), np.float32), "y": S.Box(0, 5, (3,), np.float32)})
    box, _ = emulate_observation_space(space)
    assert box.dtype == np.float32 and box.shape == (5,)
    np.testing.assert_array_equal(box.low, [-1, -1, 0, 0, 0])
    np.testing.assert_array_equal(box.high, [1, 1, 5, 5, 5])


def test_unsupported_spaces():
    with pytest.raises(APIUsageError, match="Text"):
        emulate_observation_space(S.Text(5))
    with pytest.raises(APIUsageError, match="Box"):
        emulate_action_space(S.Dict({"a": S.Discrete(2), "b": S.Box(0, 1, (2,))}))
    with pytest.raises(APIUsageError, match="empty"):
        emulate_observation_space(S.Tuple(()))
    with pytest.raises(APIUsageError, match="bytes"):
        nativize(np.zeros(3, np.uint8), S.Dict({"a": S.Discrete(2)}), dtype_from_space(S.Dict({"a": S.Discrete(2)})))


# ============================================================================================
# GymnasiumPufferEnv on CartPole
# ============================================================================================
def cartpole(seed=0, buf=None):
    return GymnasiumPufferEnv(env=gymnasium.make("CartPole-v1"), seed=seed, buf=buf)


def test_cartpole_shapes_and_dtypes():
    env = cartpole()
    assert env.num_agents == 1
    assert env.single_observation_space.shape == (4,)
    assert isinstance(env.single_action_space, S.Discrete)
    obs, infos = env.reset(seed=1)
    assert obs is env.observations
    assert obs.shape == (1, 4) and obs.dtype == np.float32
    assert isinstance(infos, list) and len(infos) == 1 and isinstance(infos[0], dict)
    obs, rew, term, trunc, infos = env.step(np.array([1], np.int32))
    assert rew.shape == (1,) and rew.dtype == np.float32 and rew[0] == 1.0
    assert term.dtype == bool and trunc.dtype == bool and term.shape == trunc.shape == (1,)
    assert env.actions.shape == (1,) and env.actions.dtype == np.int32
    assert env.masks.tolist() == [True]
    assert env.emulated and env.emulated["is_observation_emulated"] is False
    env.close()


def test_cartpole_writes_into_given_buffers():
    buf = {"observations": np.zeros((1, 4), np.float32), "rewards": np.zeros(1, np.float32)}
    env = cartpole(buf=buf)
    obs, _ = env.reset(seed=3)
    assert obs is buf["observations"]
    assert np.any(buf["observations"] != 0)
    env.step(0)
    assert buf["rewards"][0] == 1.0


def _rollout(env, actions, seed):
    obs, _ = env.reset(seed=seed)
    traj = [obs.copy()]
    for a in actions:
        if env.done:
            obs, _ = env.reset()
            traj.append(obs.copy())
            continue
        obs, rew, term, trunc, _ = env.step(np.array([a]))
        traj.append(np.concatenate([obs.ravel(), rew, term, trunc]).copy())
    return traj


def test_cartpole_deterministic_under_seed():
    actions = np.random.default_rng(0).integers(0, 2, 60)
    a = _rollout(cartpole(), actions, seed=7)
    b = _rollout(cartpole(), actions, seed=7)
    c = _rollout(cartpole(), actions, seed=8)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_constructor_seed_used_on_first_reset():
    a, b = cartpole(seed=11), cartpole(seed=11)
    np.testing.assert_array_equal(a.reset()[0], b.reset()[0])
    assert not np.array_equal(cartpole(seed=12).reset()[0], a.observations)


def test_cartpole_done_reset_cycle_and_episode_stats():
    env = cartpole()
    assert env.done  # not reset yet
    with pytest.raises(APIUsageError, match="reset"):
        env.step(0)
    for episode in range(2):
        env.reset(seed=episode)
        assert not env.done
        steps = 0
        while True:
            _, rew, term, trunc, infos = env.step(1)  # always push right: falls within ~10 steps
            steps += 1
            if term[0] or trunc[0]:
                break
            assert "episode_return" not in infos[0]
            assert steps < 100
        assert env.done
        assert infos[0]["episode_length"] == steps
        assert infos[0]["episode_return"] == pytest.approx(float(steps))
        with pytest.raises(APIUsageError, match="reset"):
            env.step(1)


@pytest.mark.parametrize("bad, what", [
    (np.array([0, 1]), "shape"),
    (np.array([[1]]), "shape"),
    (np.array([2]), "outside"),
    (np.array([-1]), "outside"),
    (np.array([1.0]), "integers"),
    (np.array([True]), "integers"),
    (1.0, "integers"),
])
def test_cartpole_bad_actions(bad, what):
    env = cartpole()
    env.reset(seed=0)
    with pytest.raises(APIUsageError, match=what) as info:
        env.step(bad)
    if what == "outside":
        assert "[0, 1]" in str(info.value)  # says what is allowed
    # the env is still usable after a rejected action
    env.step(np.array([1]))


def test_box_actions_validated_not_clipped():
    env = GymnasiumPufferEnv(env_creator=gymnasium.make, env_args=["Pendulum-v1"])
    env.reset(seed=0)
    assert env.actions.dtype == np.float32 and env.actions.shape == (1, 1)
    env.step(np.array([[1.5]], np.float32))
    assert env.actions[0, 0] == np.float32(1.5)
    for bad in (np.array([[3.0]]), np.array([[np.nan]]), np.array([[-2.5]])):
        with pytest.raises(APIUsageError, match="outside"):
            env.step(bad)
    assert env.actions[0, 0] == np.float32(1.5)  # nothing was clipped into the buffer
    with pytest.raises(APIUsageError, match="shape"):
        env.step(np.zeros((1, 2), np.float32))


def test_wrapper_argument_errors():
    with pytest.raises(APIUsageError, match="exactly one"):
        GymnasiumPufferEnv()
    with pytest.raises(APIUsageError, match="exactly one"):
        GymnasiumPufferEnv(env=DictEnv(), env_creator=DictEnv)
    with pytest.raises(APIUsageError, match="instance"):
        GymnasiumPufferEnv(env=DictEnv)


# ============================================================================================
# Custom nested Gymnasium env
# ============================================================================================
def test_dict_env_roundtrip_through_wrapper():
    raw = DictEnv(horizon=4)
    env = GymnasiumPufferEnv(env=raw)
    assert env.is_obs_emulated and env.is_atn_emulated
    assert env.single_observation_space.dtype == np.uint8
    assert env.single_observation_space.shape == (env.obs_dtype.itemsize,)
    assert isinstance(env.single_action_space, S.MultiDiscrete)
    np.testing.assert_array_equal(env.single_action_space.nvec, [4, 2, 3, 2])
    np.testing.assert_array_equal(env.single_action_space.start, [-1, 0, 0, 0])

    obs, infos = env.reset(seed=0)
    assert infos == [{"reset": True}]
    assert_same_structure(nativize(obs[0], raw.observation_space, env.obs_dtype), raw.last_obs,
                          raw.observation_space)

    rng = np.random.default_rng(1)
    for t in range(4):
        flat = np.array([[rng.integers(-1, 3), rng.integers(0, 2), rng.integers(0, 3), rng.integers(0, 2)]])
        obs, rew, term, trunc, infos = env.step(flat)
        assert raw.last_action["move"] == flat[0, 0]
        assert raw.last_action["use"][0] == flat[0, 1]
        np.testing.assert_array_equal(raw.last_action["use"][1], flat[0, 2:])
        assert isinstance(raw.last_action["use"][1], np.ndarray)
        assert raw.last_action["use"][1].dtype == np.int64
        native = nativize(obs[0], raw.observation_space, env.obs_dtype)
        assert_same_structure(native, raw.last_obs, raw.observation_space)
        assert native["pos"][0] == t + 1
        assert rew[0] == 0.5
    assert term[0] and env.done
    assert infos[0]["t"] == 4 and infos[0]["episode_length"] == 4 and infos[0]["episode_return"] == 2.0

    env.reset()
    with pytest.raises(APIUsageError, match="outside"):
        env.step(np.array([[3, 0, 0, 0]]))  # move allows -1..2
    with pytest.raises(APIUsageError, match="shape"):
        env.step(np.array([[0, 0, 0]]))


def test_dict_env_nested_action_from_sample():
    raw = DictEnv()
    env = GymnasiumPufferEnv(env=raw)
    env.reset(seed=0)
    raw.action_space.seed(3)
    for _ in range(3):
        sample = raw.action_space.sample()
        flat = flatten_sample(sample, raw.action_space, env.atn_dtype,
                              out=np.zeros(env.single_action_space.shape, np.int32))
        env.step(flat)
        assert_same_structure(raw.last_action, sample, raw.action_space)


def test_dict_env_accepts_native_nested_action():
    raw = DictEnv()
    env = GymnasiumPufferEnv(env=raw)
    env.reset(seed=0)
    action = {"move": -1, "use": (1, np.array([2, 1]))}
    env.step(action)
    assert_same_structure(raw.last_action, action, raw.action_space)
    np.testing.assert_array_equal(env.actions[0], [-1, 1, 2, 1])
    with pytest.raises(APIUsageError, match="outside"):
        env.step({"move": 5, "use": (1, np.array([2, 1]))})


def test_blackjack_tuple_observation():
    env = pufferlib.make("gym-Blackjack-v1")
    assert env.is_obs_emulated
    assert env.single_observation_space.dtype == np.int64  # Tuple of three Discretes -> common dtype
    assert env.single_observation_space.shape == (3,)
    np.testing.assert_array_equal(env.single_observation_space.high, [31, 10, 1])
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        raw = gymnasium.make("Blackjack-v1")
        expected, _ = raw.reset(seed=seed)
        assert nativize(obs[0], env.env_observation_space, env.obs_dtype) == tuple(int(x) for x in expected)
        np.testing.assert_array_equal(obs[0], expected)
        assert env.single_observation_space.contains(obs[0])


def test_observation_mismatch_is_reported():
    class Broken(DictEnv):
        def reset(self, seed=None, options=None):
            obs, info = super().reset(seed=seed)
            del obs["pos"]
            return obs, info

    env = GymnasiumPufferEnv(env=Broken())
    with pytest.raises(APIUsageError, match="observation"):
        env.reset()


# ============================================================================================
# PettingZoo
# ============================================================================================
def test_three_agent_env_passes_parallel_api_test():
    from pettingzoo.test import parallel_api_test
    parallel_api_test(ThreeAgentEnv(), num_cycles=20)


def test_pettingzoo_masks_padding_and_order():
    raw = ThreeAgentEnv(horizon=4, b_dies_at=2)
    env = PettingZooPufferEnv(env=raw)
    assert env.num_agents == 3
    assert env.possible_agents == ["a", "b", "c"]
    assert env.single_observation_space.dtype == np.uint8  # int64 + float32 leaves
    space = raw.observation_space("a")

    obs, infos = env.reset(seed=0)
    assert obs.shape == (3, env.obs_dtype.itemsize)
    assert env.masks.tolist() == [True, True, True]
    assert [nativize(obs[i], space, env.obs_dtype)["id"] for i in range(3)] == [0, 1, 2]
    assert isinstance(infos, list) and set(infos[0]) == {"a", "b", "c"}

    # step 1: everyone alive; rows follow possible_agents order
    obs, rew, term, trunc, infos = env.step(np.array([0, 1, 2]))
    assert raw.received[-1] == {"a": 0, "b": 1, "c": 2}
    assert rew.tolist() == [1.0, 2.0, 3.0]
    for i in range(3):
        native = nativize(obs[i], space, env.obs_dtype)
        assert native["id"] == i
        np.testing.assert_array_equal(native["vec"], [1, i])
    assert not env.done

    # step 2: b terminates (still reported this step)
    obs, rew, term, trunc, infos = env.step(np.array([2, 2, 2]))
    assert env.masks.tolist() == [True, True, True]
    assert term.tolist() == [False, True, False]
    assert rew.tolist() == [1.0, -3.0, 3.0]

    # step 3: b is gone: zero padding, mask False, reward 0; its action (out of range) is ignored
    obs, rew, term, trunc, infos = env.step(np.array([1, 99, 0]))
    assert "b" not in raw.received[-1]
    assert env.masks.tolist() == [True, False, True]
    assert np.all(obs[1] == 0)
    assert rew.tolist() == [1.0, 0.0, 3.0]
    assert term.tolist() == [False, True, False]
    assert not env.done

    # step 4: everyone truncated -> done, episode stats reported
    obs, rew, term, trunc, infos = env.step(np.array([1, 0, 1]))
    assert trunc.tolist() == [True, False, True]
    assert env.done
    assert infos[-1]["episode_length"] == 4
    assert infos[-1]["episode_return"] == pytest.approx(np.mean([4 * 1.0, 2 * 2.0 - 5, 4 * 3.0]))
    with pytest.raises(APIUsageError, match="reset"):
        env.step(np.array([0, 0, 0]))

    env.reset()
    assert env.masks.all() and not env.done and env.rewards.tolist() == [0, 0, 0]


def test_pettingzoo_action_validation():
    env = PettingZooPufferEnv(env=ThreeAgentEnv())
    with pytest.raises(APIUsageError, match="reset"):
        env.step(np.zeros(3, np.int32))
    env.reset()
    with pytest.raises(APIUsageError, match="shape"):
        env.step(np.zeros(2, np.int32))
    with pytest.raises(APIUsageError, match="agent 2"):
        env.step(np.array([0, 1, 3]))
    with pytest.raises(APIUsageError, match="integers"):
        env.step(np.zeros(3, np.float32))
    env.step({"a": 1, "b": 0, "c": 2})
    assert env.env.received[-1] == {"a": 1, "b": 0, "c": 2}
    with pytest.raises(APIUsageError, match="unknown agent"):
        env.step({"a": 1, "b": 0, "z": 2})
    with pytest.raises(APIUsageError, match="no action"):
        env.step({"a": 1})
    received = len(env.env.received)
    for big in (np.int64(2**32), 2**32 + 1, -(2**31) - 1):  # would wrap into range as int32
        with pytest.raises(APIUsageError, match="outside"):
            env.step({"a": big, "b": 0, "c": 2})
    assert len(env.env.received) == received   # nothing stepped


class MalformedEnv(gymnasium.Env):
    """Returns what old-gym or buggy envs return, by ``mode``."""

    def __init__(self, mode):
        self.mode = mode
        self.observation_space = S.Box(-1, 1, (2,), np.float32)
        self.action_space = S.Discrete(2)

    def reset(self, seed=None, options=None):
        ob = np.zeros(2, np.float32)
        return ob if self.mode == "bare_reset" else (ob, {})

    def step(self, action):
        ob = np.zeros(2, np.float32)
        if self.mode == "four":
            return ob, 0.0, False, {}
        reward = {"none_reward": None, "nan_reward": float("nan"), "str_reward": "1"}.get(self.mode, 0.0)
        return ob, reward, False, False, {}


@pytest.mark.parametrize("mode,match", [("bare_reset", "reset\\(\\) returned an array"),
                                        ("four", "step\\(\\) returned a tuple of 4"),
                                        ("none_reward", "reward None"), ("nan_reward", "reward nan"),
                                        ("str_reward", "reward '1'")])
def test_malformed_results_of_wrapped_envs_are_named(mode, match):
    env = pufferlib.emulate(MalformedEnv(mode))
    with pytest.raises(APIUsageError, match=match):
        env.reset(0)
        env.step(np.array([1]))


def test_an_empty_dict_key_is_refused():
    from pufferlib.emulation.structured import emulate_observation_space
    with pytest.raises(APIUsageError, match="empty key"):
        emulate_observation_space(S.Dict({"": S.Discrete(3), "a": S.Box(-1, 1, (2,))}))


def test_malformed_pettingzoo_step_is_named():
    class FourTuple(ThreeAgentEnv):
        def step(self, actions):
            return super().step(actions)[:4]
    env = PettingZooPufferEnv(env=FourTuple())
    env.reset()
    with pytest.raises(APIUsageError, match="tuple of 4"):
        env.step(np.zeros(3, np.int32))


@pytest.mark.parametrize("move", [1.7, 2**70, np.int64(2**40), -(2**40)])
def test_nested_actions_are_never_cast(move):
    env = pufferlib.emulate(DictEnv())
    env.reset(0)
    with pytest.raises(APIUsageError, match="move"):
        env.step({"move": move, "use": (0, np.array([1, 1]))})
    assert env.env.t == 0                       # nothing stepped
    env.step({"move": 1, "use": (0, np.array([1, 1]))})
    assert env.env.last_action["move"] == 1


@pytest.mark.parametrize("seed", [1.5, True, -1, "3"])
def test_emulated_reset_refuses_seeds_that_are_not_non_negative_ints(seed):
    env = pufferlib.emulate(gymnasium.make("CartPole-v1"))
    with pytest.raises(APIUsageError, match="seed"):
        env.reset(seed)
    env.reset(3)


def test_pettingzoo_requires_shared_spaces():
    with pytest.raises(APIUsageError, match="share one action space"):
        PettingZooPufferEnv(env=MixedSpacesEnv())


def test_emulate_aec_env():
    from pettingzoo.utils.conversions import parallel_to_aec
    env = emulate(parallel_to_aec(ThreeAgentEnv()))
    assert isinstance(env, PettingZooPufferEnv)
    obs, _ = env.reset(seed=0)
    assert obs.shape[0] == 3
    env.step(np.array([0, 1, 2]))
    assert env.rewards.tolist() == [1.0, 2.0, 3.0]


# ============================================================================================
# emulate / make
# ============================================================================================
def test_vector_options_match_vector_make():
    import inspect

    import pufferlib.vector as vector
    from pufferlib.emulation import VECTOR_OPTIONS

    params = inspect.signature(vector.make).parameters
    named = {n for n, p in params.items() if p.kind is not p.VAR_KEYWORD}
    expected = named - {"env_creator_or_creators", "env_args", "env_kwargs", "num_envs"}
    for options in vector.BACKEND_OPTIONS.values():
        expected |= set(options)
    assert VECTOR_OPTIONS == expected == {"backend", "num_workers", "batch_size", "seed",
                                          "start_method", "spin", "share_worlds", "timeout", "ray_init_kwargs",
                                          "ray_actor_options"}
    # each backend option is a parameter of that backend's class, and make accepts it
    for name, options in vector.BACKEND_OPTIONS.items():
        if options:
            assert set(options) <= set(inspect.signature(getattr(vector, name).__init__).parameters)
    env = pufferlib.emulation.make_gymnasium("CartPole-v1", num_envs=2, backend="Multiprocessing",
                                             num_workers=1, start_method="fork", spin=False, seed=3)
    try:
        assert env.start_method == "fork" and env.spin is False and env.seed == 3
    finally:
        env.close()
    with pytest.raises(APIUsageError, match="unknown option"):
        pufferlib.emulation.make_gymnasium("CartPole-v1", num_envs=2, spin=True)  # Serial has no options


def test_emulate_dispatch():
    g = emulate(gymnasium.make("CartPole-v1"))
    assert isinstance(g, GymnasiumPufferEnv)
    p = pufferlib.emulate(ThreeAgentEnv())
    assert isinstance(p, PettingZooPufferEnv)
    assert emulate(g) is g
    with pytest.raises(APIUsageError, match="gymnasium.Env"):
        emulate(object())
    with pytest.raises(APIUsageError, match="num_envs"):
        emulate(gymnasium.make("CartPole-v1"), num_envs=0)
    with pytest.raises(APIUsageError, match="vectoriz"):
        emulate(gymnasium.make("CartPole-v1"), num_workers=2)


def test_make_gym_cartpole():
    env = pufferlib.make("gym-CartPole-v1")
    assert isinstance(env, GymnasiumPufferEnv)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (1, 4)
    env.step(np.array([0]))
    assert env.rewards[0] == 1.0


def test_make_gym_forwards_env_kwargs():
    env = pufferlib.make("gym-CartPole-v1", max_episode_steps=3, seed=5)
    env.reset()
    for _ in range(3):
        _, _, term, trunc, infos = env.step(np.array([0, 1, 0][_]))
    assert trunc[0] and not term[0] and env.done
    assert infos[0]["episode_length"] == 3
    with pytest.raises(APIUsageError, match="bogus"):
        pufferlib.make("gym-CartPole-v1", bogus=1)
    with pytest.raises(APIUsageError, match="vectoriz"):
        pufferlib.make("gym-CartPole-v1", num_workers=2)


def test_make_unknown_names():
    with pytest.raises(APIUsageError, match="NoSuchEnv"):
        pufferlib.make("gym-NoSuchEnv-v0")
    with pytest.raises(APIUsageError, match="butterfly") as info:
        pufferlib.make("pettingzoo-definitely_not_an_env")
    assert "classic" in str(info.value)


def test_make_pettingzoo_pistonball():
    missing = [m for m in ("pygame", "pymunk") if importlib.util.find_spec(m) is None]
    if missing:
        with pytest.raises(EnvironmentSetupError, match="pip install"):
            pufferlib.make("pettingzoo-pistonball")
    else:
        env = pufferlib.make("pettingzoo-pistonball")
        assert isinstance(env, PettingZooPufferEnv) and env.num_agents == 20


def _vector_or_skip():
    if importlib.util.find_spec("pufferlib.vector") is None:
        pytest.skip("pufferlib.vector not written yet")
    import pufferlib.vector
    if not hasattr(pufferlib.vector, "make"):
        pytest.skip("pufferlib.vector.make not available yet")


def test_emulate_vectorized_gym():
    _vector_or_skip()
    vec = emulate(gymnasium.make("CartPole-v1"), num_envs=3, backend="Serial")
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (3, 4)
    obs, rew, term, trunc, _ = vec.step(np.ones(3, np.int32))[:5]
    assert rew.shape == (3,) and np.all(rew == 1.0)
    vec.close()


def test_make_gym_vectorized_autoresets_and_reports_episodes():
    _vector_or_skip()
    vec = pufferlib.make("gym-CartPole-v1", num_envs=4)
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (4, 4)
    episodes = []
    for _ in range(40):  # always pushing right ends episodes within ~10 steps
        _, _, _, _, infos = vec.step(np.ones(4, np.int32))
        episodes += [i for i in infos if "episode_return" in i]
    assert len(episodes) >= 4
    assert all(e["episode_return"] == e["episode_length"] for e in episodes)
    vec.close()


def test_emulate_vectorized_pettingzoo():
    _vector_or_skip()
    raw = ThreeAgentEnv()
    vec = emulate(raw, num_envs=2, backend="Serial")
    obs, _ = vec.reset(seed=0)
    assert obs.shape[0] == 6
    vec.step(np.zeros(6, np.int32))
    assert raw.agents == [] and raw.received == []  # the original instance is left untouched
    np.testing.assert_array_equal(vec.rewards, [1, 2, 3, 1, 2, 3])
    vec.close()


def test_make_gym_multiprocessing():
    _vector_or_skip()
    vec = pufferlib.make("gym-CartPole-v1", num_envs=2, backend="Multiprocessing", num_workers=2)
    try:
        obs, _ = vec.reset(seed=0)
        assert obs.shape == (2, 4)
        _, rew, _, _, _ = vec.step(np.zeros(2, np.int32))
        assert np.all(rew == 1.0)
    finally:
        vec.close()



# ============================================================================================
# Text observations
# ============================================================================================
def test_text_observations_are_encoded_by_default():
    from pufferlib.emulation import decode_text
    env = emulate(H.TextEnv())
    space = env.emulated["observation_space"]
    assert space["mission"] == S.Box(0, 255, (128,), np.uint8)      # no max_length: 128 bytes
    assert space["note"][0] == S.Box(0, 255, (4,), np.uint8)          # Text(4): its max_length
    assert env.emulated["text_observations"] == "encode"
    obs, _ = env.reset(seed=0)
    native = nativize(obs[0], space, env.obs_dtype)
    assert decode_text(native["mission"]) == "go right"
    assert native["mission"][len("go right"):].sum() == 0             # zero padding
    assert decode_text(native["note"][0]) == "ab" and native["note"][1] == 0
    np.testing.assert_array_equal(native["pos"], [0, 1])
    obs, *_ = env.step(np.array([0]))
    native = nativize(obs[0], space, env.obs_dtype)
    assert decode_text(native["mission"]) == "pick up the key" and native["note"][1] == 1


def test_text_length_cuts_and_drop_removes():
    from pufferlib.emulation import decode_text
    env = emulate(H.TextEnv(), text_length=4)
    obs, _ = env.reset(seed=0)
    native = nativize(obs[0], env.emulated["observation_space"], env.obs_dtype)
    assert decode_text(native["mission"]) == "go r" and native["mission"].shape == (4,)
    dropped = emulate(H.TextEnv(), text_observations="drop")
    assert sorted(dropped.emulated["observation_space"].spaces) == ["note", "pos"]
    assert len(dropped.emulated["observation_space"]["note"].spaces) == 1   # the Text element is gone
    obs, _ = dropped.reset(seed=0)
    assert dropped.single_observation_space.shape[0] < env.single_observation_space.shape[0]
    native = nativize(obs[0], dropped.emulated["observation_space"], dropped.obs_dtype)
    np.testing.assert_array_equal(native["pos"], [0, 1])


def test_text_options_are_checked():
    with pytest.raises(APIUsageError, match="text_observations must be one of"):
        emulate(H.TextEnv(), text_observations="keep")
    with pytest.raises(APIUsageError, match="text_length"):
        emulate(H.TextEnv(), text_length=0)
    only_text = H.TextEnv()
    only_text.observation_space = S.Text(5)
    with pytest.raises(APIUsageError, match="text only"):
        emulate(only_text, text_observations="drop")
    with pytest.raises(APIUsageError, match="a text observation must be a str"):
        env = emulate(H.TextEnv(missions=(3,)))
        env.reset(0)


def test_text_options_reach_vectorized_wrappers():
    vec = emulate(H.TextEnv(), num_envs=2, text_observations="drop")
    try:
        assert "mission" not in vec.driver_env.emulated["observation_space"].spaces
        obs, _ = vec.reset(seed=0)
        assert obs.shape == (2, vec.driver_env.single_observation_space.shape[0])
    finally:
        vec.close()


# ============================================================================================
# Old gym API
# ============================================================================================
def test_old_gym_env_is_adapted():
    from pufferlib.emulation import OldGymEnv
    raw = H.OldGymCounter(horizon=2)
    env = emulate(raw)
    assert isinstance(env.env, OldGymEnv) and env.env.env is raw
    obs, infos = env.reset(seed=7)
    assert raw.seeds == [7] and infos == [{}]
    start = obs[0, 1]
    env.reset(seed=7)
    assert env.observations[0, 1] == start                       # seeded through seed()
    _, rew, term, trunc, _ = env.step(np.array([0]))
    assert rew[0] == 0.5 and not term[0] and not trunc[0]
    _, _, term, trunc, infos = env.step(np.array([0]))
    assert trunc[0] and not term[0] and env.done                 # TimeLimit.truncated -> truncation
    assert infos[0]["episode_length"] == 2
    env.reset()
    _, _, term, trunc, _ = env.step(np.array([1]))
    assert term[0] and not trunc[0]                              # done without the flag -> terminal


def test_old_gym_env_vectorized_by_copy():
    vec = emulate(H.OldGymCounter(horizon=2), num_envs=2, backend="Serial")
    try:
        vec.reset(seed=1)
        assert vec.observations.shape == (2, 2)
        _, rew, _, _, _ = vec.step(np.zeros(2, np.int32))
        np.testing.assert_array_equal(rew, [0.5, 0.5])
    finally:
        vec.close()


def test_gymnasium_envs_are_not_adapted_and_keep_failing():
    env = emulate(MalformedEnv("four"))
    assert isinstance(env.env, MalformedEnv)
    env.reset(0)
    with pytest.raises(APIUsageError, match="tuple of 4"):
        env.step(np.array([1]))
    from pufferlib.emulation import OldGymEnv
    with pytest.raises(APIUsageError, match="is a gymnasium.Env"):
        OldGymEnv(MalformedEnv("four"))


def test_old_gym_spaces_are_converted_by_class_name():
    from pufferlib.emulation import convert_space

    class Box:                                   # what gym 0.2x spaces look like to us
        def __init__(self):
            self.low, self.high, self.shape, self.dtype = np.zeros(2), np.ones(2), (2,), np.float32

    class Discrete:
        n, start = 4, 1

    class Dict:
        def __init__(self):
            self.spaces = {"a": Box(), "b": Discrete()}

    assert convert_space(Dict()) == S.Dict({"a": S.Box(0, 1, (2,), np.float32), "b": S.Discrete(4, start=1)})

    class Graph:
        pass
    with pytest.raises(APIUsageError, match="cannot convert"):
        convert_space(Graph())


# ============================================================================================
# Spaces known after reset; keyword collisions
# ============================================================================================
def test_observation_space_read_after_reset_when_missing():
    raw = H.LazySpaceEnv(size=5)
    env = emulate(raw, seed=4)
    assert raw.resets == 1 and env.single_observation_space.shape == (5,)
    obs, _ = env.reset()
    assert obs.shape == (1, 5)
    forced = emulate(H.LazySpaceEnv(size=2), spaces_after_reset=True)
    assert forced.env.resets == 1
    with pytest.raises(APIUsageError, match="not even after reset"):
        emulate(H.LazySpaceEnv(), spaces_after_reset=False)


def test_env_kwargs_named_like_the_first_parameter_reach_the_env():
    import inspect
    from pufferlib.emulation import make_gymnasium, make_pettingzoo
    for fn in (make_gymnasium, make_pettingzoo, emulate):
        first = next(iter(inspect.signature(fn).parameters.values()))
        assert first.kind is first.POSITIONAL_ONLY, fn
    env = make_gymnasium("PufferTest/Named-v0", name="abcd", env_id="abcdef")
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs[0], [4, 6])


def test_make_pettingzoo_passes_name_to_the_env(monkeypatch):
    import sys
    import types

    from pufferlib.emulation import factories

    class Named(H.ThreeAgentEnv):
        def __init__(self, name="x"):
            super().__init__()
            self.name = name
    module = types.ModuleType("puffer_fake_named_v0")
    module.parallel_env = Named
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(factories, "find_pettingzoo_module", lambda name: module)
    env = factories.make_pettingzoo("named", name="given")
    assert env.env.name == "given"


# ============================================================================================
# gym-<module>:<id>
# ============================================================================================
def test_gym_module_colon_id_imports_the_module(tmp_path, monkeypatch):
    (tmp_path / "puffer_plugin_toy.py").write_text(
        "import gymnasium\n"
        "gymnasium.register('PufferPluginToy-v0', entry_point='gymnasium.envs.classic_control:CartPoleEnv')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "PufferPluginToy-v0" not in gymnasium.envs.registry
    try:
        env = pufferlib.make("gym-puffer_plugin_toy:PufferPluginToy-v0")
        assert isinstance(env, GymnasiumPufferEnv) and env.reset(seed=0)[0].shape == (1, 4)
        vec = pufferlib.make("gym-puffer_plugin_toy:PufferPluginToy-v0", num_envs=2)
        assert vec.reset(seed=0)[0].shape == (2, 4)
        vec.close()
    finally:
        gymnasium.envs.registry.pop("PufferPluginToy-v0", None)
    with pytest.raises(EnvironmentSetupError, match="pip install no_such_module_xyz"):
        pufferlib.make("gym-no_such_module_xyz:Thing-v0")
    with pytest.raises(APIUsageError, match="module:EnvId"):
        pufferlib.make("gym-:Thing-v0")


# ============================================================================================
# emulate(num_envs > 1) of envs a spec cannot rebuild
# ============================================================================================
def test_emulate_vectorized_wrapper_without_recorded_args_is_copied():
    wrapped = H.PlainWrapper(gymnasium.make("PufferTest/Dict-v0"))
    with pytest.raises(ValueError, match="cannot be recreated"):
        gymnasium.make(wrapped.spec)            # the spec cannot rebuild it ...
    vec = emulate(wrapped, num_envs=2)          # ... so copies are used, wrapper included
    try:
        vec.reset(seed=0)
        _, rew, _, _, _ = vec.step(np.zeros((2, vec.single_action_space.shape[0]), np.int32))
        np.testing.assert_array_equal(rew, [1.0, 1.0])           # 2 * 0.5: the wrapper is kept
    finally:
        vec.close()


def test_emulate_vectorized_uncopyable_env_names_the_fix():
    with pytest.raises(EnvironmentSetupError, match="pufferlib.vector.make") as info:
        emulate(H.Uncopyable(gymnasium.make("PufferTest/Dict-v0")), num_envs=2)
    assert "cannot copy the simulator handle" in str(info.value)


def test_emulate_vectorized_registered_env_uses_the_spec():
    from pufferlib.emulation.factories import _CopyFactory, _rebuild_factory
    assert not isinstance(_rebuild_factory(gymnasium.make("CartPole-v1")), _CopyFactory)
    assert isinstance(_rebuild_factory(H.PlainWrapper(gymnasium.make("CartPole-v1"))), _CopyFactory)
    mislabelled = DictEnv()
    mislabelled.spec = gymnasium.spec("CartPole-v1")    # make(spec) builds another env: copy instead
    assert isinstance(_rebuild_factory(mislabelled), _CopyFactory)


# ============================================================================================
# AEC envs: unwrapping parallel envs, turn-based games
# ============================================================================================
def test_aec_made_from_parallel_is_unwrapped():
    from pettingzoo.utils.conversions import parallel_to_aec
    from pettingzoo.utils.wrappers import AssertOutOfBoundsWrapper, OrderEnforcingWrapper
    raw = ThreeAgentEnv()
    aec = OrderEnforcingWrapper(AssertOutOfBoundsWrapper(parallel_to_aec(raw).env))  # magent2's chain
    env = emulate(aec)
    assert isinstance(env, PettingZooPufferEnv) and env.env is raw
    env.reset(seed=0)
    env.step(np.array([0, 1, 2]))
    assert raw.received == [{"a": 0, "b": 1, "c": 2}]           # one parallel step, all agents


def test_aec_with_other_wrappers_is_not_unwrapped():
    from pettingzoo.utils.conversions import parallel_to_aec
    from pettingzoo.utils.wrappers import BaseWrapper
    from pufferlib.emulation import parallel_env_inside

    class Reshaping(BaseWrapper):                 # a user wrapper may change what the env does
        pass
    assert parallel_env_inside(Reshaping(parallel_to_aec(ThreeAgentEnv()))) is None
    assert parallel_env_inside(parallel_to_aec(ThreeAgentEnv())) is not None


def _countdown():
    from pufferlib.emulation import TurnBasedPufferEnv
    env = emulate(H.make_countdown_game(start=4))
    assert isinstance(env, TurnBasedPufferEnv)
    return env


def test_turn_based_game_only_the_mover_acts():
    env = _countdown()
    space, dtype = env.emulated["observation_space"], env.obs_dtype
    assert env.num_agents == 2 and env.single_action_space == S.Discrete(2)
    obs, infos = env.reset(seed=0)
    assert env.masks.tolist() == [True, False] and infos[0]["agent_to_move"] == "p0"
    native = nativize(obs[1], space, dtype)
    np.testing.assert_array_equal(native["observation"], [4, 1])   # p1's seat
    np.testing.assert_array_equal(native["action_mask"], [1, 1])
    # p1's row is ignored (out of range would raise if it were checked)
    _, rew, term, _, infos = env.step(np.array([1, 99], np.int32))
    assert env.env.moves == [("p0", 1)] and rew.tolist() == [0, 0] and not term.any()
    assert env.masks.tolist() == [False, True] and infos[0]["agent_to_move"] == "p1"
    env.step({"p1": 0})                                             # counter 2 -> 1
    native = nativize(env.observations[0], space, dtype)
    np.testing.assert_array_equal(native["action_mask"], [1, 0])   # taking 2 is illegal now
    with pytest.raises(APIUsageError, match="outside"):
        env.step(np.array([5, 0], np.int32))                       # the mover's row is checked
    with pytest.raises(APIUsageError, match="no action given for 'p0'"):
        env.step({"p1": 0})
    assert len(env.env.moves) == 2                                  # nothing stepped
    _, rew, term, trunc, infos = env.step(np.array([0, 0], np.int32))  # p0 takes the last one
    assert rew.tolist() == [1.0, -1.0] and term.all() and not trunc.any()
    assert env.done and env.masks.tolist() == [True, True] and infos[0]["episode_length"] == 3
    with pytest.raises(APIUsageError, match="game ended"):
        env.step(np.zeros(2, np.int32))


def test_turn_based_game_vectorized_resets_finished_games():
    vec = emulate(H.make_countdown_game(start=2), num_envs=2, backend="Serial")
    try:
        vec.reset(seed=0)
        assert vec.masks.tolist() == [True, False, True, False]
        _, rew, term, _, infos = vec.step(np.array([1, 0, 0, 0], np.int32))  # env 0: p0 takes 2 and wins
        assert rew.tolist() == [1, -1, 0, 0] and term.tolist() == [True, True, False, False]
        _, rew, term, _, _ = vec.step(np.array([0, 0, 0, 0], np.int32))      # env 0 was reset
        assert rew.tolist() == [0, 0, -1, 1] and vec.masks.tolist()[:2] == [True, False]
    finally:
        vec.close()


def test_make_passes_name_and_family_keywords_to_the_env():
    """pufferlib.make's own first parameter is positional-only: an env taking ``name=`` gets it."""
    class Named(gymnasium.Env):
        def __init__(self, name="default"):
            self.name = name
            self.observation_space = gymnasium.spaces.Box(0, 1, (2,), np.float32)
            self.action_space = gymnasium.spaces.Discrete(2)

        def reset(self, seed=None, options=None):
            return np.zeros(2, np.float32), {}

        def step(self, action):
            return np.zeros(2, np.float32), 0.0, False, False, {}

    gymnasium.register("PufferTestNamed-v0", entry_point=Named)
    try:
        env = pufferlib.make("gym-PufferTestNamed-v0", name="hello")
        assert env.env.unwrapped.name == "hello"
    finally:
        gymnasium.registry.pop("PufferTestNamed-v0", None)
