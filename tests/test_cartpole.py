"""CartPole: the Euler update, episode ends, rewards and logs (docs/envs/cartpole.md)."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pufferlib import APIUsageError
from pufferlib.ocean.cartpole import THETA_THRESHOLD, CartPole

F32 = np.float32


def euler_step(state, force):
    """The documented update in float32 (sine and cosine rounded from float64)."""
    x, x_dot, theta, theta_dot = (F32(v) for v in state)
    s, c = F32(math.sin(float(theta))), F32(math.cos(float(theta)))
    temp = (F32(force) + F32(0.05) * theta_dot * theta_dot * s) / F32(1.1)
    acc = (F32(9.8) * s - c * temp) / (F32(0.5) * (F32(4.0 / 3.0) - F32(0.1) * c * c / F32(1.1)))
    x_acc = temp - F32(0.05) * acc * c / F32(1.1)
    tau = F32(0.02)
    return np.array([x + tau * x_dot, x_dot + tau * x_acc, theta + tau * theta_dot, theta_dot + tau * acc], F32)


@given(seed=st.integers(0, 2**31), continuous=st.booleans(),
       actions=st.lists(st.floats(-1, 1, width=32), min_size=1, max_size=300))
def test_every_step_is_the_euler_update(seed, continuous, actions):
    env = CartPole(num_envs=1, continuous=continuous)
    obs, _ = env.reset(seed)
    assert (np.abs(obs) <= 0.04).all()
    ticks = 0
    for a in actions:
        if continuous:
            act, force = np.array([a], F32), F32(10) * F32(a)
        else:
            act = np.array([int(a > 0)], np.int32)
            force = F32(10) if act[0] == 1 else F32(-10)
        expected = euler_step(obs[0], force)
        obs, rew, term, trunc, _ = env.step(act)
        ticks += 1
        out_x = abs(expected[0]) > 2.4
        out_theta = abs(expected[2]) > THETA_THRESHOLD
        assert bool(term[0]) == bool(out_x or out_theta)
        assert bool(trunc[0]) == (ticks == 200 and not term[0])
        if term[0] or trunc[0]:
            assert rew[0] == 0 and (np.abs(obs[0]) <= 0.04).all()  # reset in the same step
            ticks = 0
        else:
            assert rew[0] == 1
            np.testing.assert_array_equal(obs[0], expected)


def test_continuous_extremes_and_bad_actions():
    env = CartPole(num_envs=2, continuous=True)
    env.reset(0)
    env.step(np.array([-1.0, 1.0], F32))
    env.step(np.array([1.0, -1.0]))               # float64 within bounds
    for bad in (np.array([1.5, 0], F32), np.array([np.nan, 0], F32), np.array([0, -np.inf]), np.zeros(3, F32)):
        with pytest.raises(APIUsageError):
            env.step(bad)
    assert env.tick == 2
    discrete = CartPole(num_envs=1)
    discrete.reset(0)
    for bad in (np.array([2], np.int32), np.array([-1]), np.array([0.7], F32)):
        with pytest.raises(APIUsageError):
            discrete.step(bad)


def test_failure_logs_and_config_errors():
    env = CartPole(num_envs=1, log_interval=1)
    env.reset(0)
    infos = []
    for _ in range(200):
        _, _, term, _, info = env.step(np.ones(1, np.int32))    # always right: the pole falls
        infos += info
        if term[0]:
            break
    assert term[0] and len(infos) == 1
    log = infos[0]
    assert log["n"] == 1 and log["max_steps_termination"] == 0
    assert log["x_threshold_termination"] + log["pole_angle_termination"] >= 1
    assert log["perf"] == pytest.approx((log["episode_length"] - 1) / 200)
    for kwargs in (dict(continuous=1), dict(num_envs=0), dict(log_interval=0)):
        with pytest.raises(APIUsageError):
            CartPole(**kwargs)
