"""Target: kinematics, bounds, goal collection, teleports, observations, logs and rendering
(docs/envs/target.md)."""
import functools
import math
import os
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pufferlib import APIUsageError
from pufferlib.ocean.target import TWO_PI, Target, sincos

F32 = np.float32
SMALL = dict(num_envs=2, num_agents=3, num_goals=2, width=96, height=64)


@functools.lru_cache(maxsize=None)
def _env(**kwargs):
    return Target(**{**SMALL, "log_interval": 10**6, **kwargs})


def _env_of(**kwargs):
    return _env(**dict(sorted(kwargs.items())))


def _snapshot(env):
    return {k: getattr(env, k).copy() for k in ("x", "y", "heading", "speed", "ticks_since_reward", "goals")}


@given(seed=st.integers(0, 2**31),
       head=st.permutations([(t, s) for t in range(9) for s in range(5)]),
       tail=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 4)), max_size=60))
def test_kinematics_and_bounds_on_any_action_sequence(seed, head, tail):
    """Every (turn, throttle) pair: heading, speed and positions follow the documented update
    and stay in bounds; observations stay in [-1, 1]; nobody is ever terminal."""
    env = _env_of()
    w, h = env.width, env.height
    env.reset(seed=seed)
    pairs = list(head) + tail
    n = env.num_agents
    for k in range(0, len(pairs), 1):
        act = np.array([pairs[(k + i) % len(pairs)] for i in range(n)], np.int32)
        before = _snapshot(env)
        obs, rew, term, trunc, _ = env.step(act)
        turn = (act[:, 0].astype(F32) - F32(4)) / F32(12)
        heading = np.clip(before["heading"] + turn, F32(0), TWO_PI)
        speed = np.clip(before["speed"] + (act[:, 1] - 2).astype(F32), F32(-20), F32(20))
        np.testing.assert_array_equal(env.heading, heading)
        np.testing.assert_array_equal(env.speed, speed)
        teleported = env.ticks_since_reward % 512 == 0
        expect_x = np.clip(before["x"].astype(np.float64) + speed * np.cos(heading.astype(np.float64)), 0, w)
        expect_y = np.clip(before["y"].astype(np.float64) + speed * np.sin(heading.astype(np.float64)), 0, h)
        moved = ~teleported & (env.ticks_since_reward == before["ticks_since_reward"] + 1)
        np.testing.assert_allclose(env.x[moved], expect_x[moved], atol=1e-3)
        np.testing.assert_allclose(env.y[moved], expect_y[moved], atol=1e-3)
        assert (0 <= env.x).all() and (env.x <= w).all() and (0 <= env.y).all() and (env.y <= h).all()
        assert (0 <= env.heading).all() and (env.heading <= TWO_PI).all()
        assert (np.abs(env.speed) <= 20).all() and (env.speed == np.round(env.speed)).all()
        assert (np.abs(obs) <= 1).all() and set(np.unique(rew)) <= {0.0, 1.0}
        assert not term.any() and not trunc.any()
        g = env.goals
        assert (g == np.round(g)).all() and (g[..., 0] < w).all() and (g[..., 1] < h).all()


def test_collection_rewards_moves_the_goal_and_logs():
    # A large field: the collected goal's new random spot lands far from the other agents.
    env = Target(num_envs=1, num_agents=3, num_goals=2, width=4000, height=4000, log_interval=1)
    env.reset(seed=3)
    env.speed[:] = 0
    env.heading[:] = 0
    env.goals[0] = [[50, 50], [150, 50]]
    env.x[:] = [50 + 31.9, 150, 3000]
    env.y[:] = [50, 50 + 32.1, 3000]
    env.ticks_since_reward[:] = [6, 8, 9]
    still = np.array([[4, 2]] * 3, np.int32)                     # no turn, no speed change
    obs, rew, _, _, infos = env.step(still)
    assert rew.tolist() == [1.0, 0.0, 0.0]                        # 31.9 px: in; 32.1 px: out
    assert env.ticks_since_reward.tolist() == [0, 9, 10]
    assert env.goals[0, 1].tolist() == [150, 50]                  # the other goal stays
    assert infos == [{"perf": 1.0, "score": 1.0, "episode_return": 1.0, "episode_length": 7.0, "n": 1.0}]
    assert obs[0, 2 * 2 + 2 * 3 + 1] == 1 and obs[1, 2 * 2 + 2 * 3 + 1] == 0   # the reward slot


def test_one_step_collects_several_goals_but_rewards_one():
    env = Target(num_envs=1, num_agents=1, num_goals=3, width=400, height=400, log_interval=1)
    env.reset(seed=0)
    env.speed[:] = 0
    env.goals[0] = [[100, 100], [110, 100], [300, 300]]
    env.x[:] = 105
    env.y[:] = 100
    _, rew, _, _, infos = env.step(np.array([[4, 2]], np.int32))
    assert rew[0] == 1.0 and infos[0]["n"] == 2                   # two goals, reward 1


def test_teleport_after_512_steps_without_reward():
    env = Target(num_envs=1, num_agents=2, num_goals=1, width=1000, height=1000)
    env.reset(seed=1)
    env.goals[0] = [[0, 0]]
    env.speed[:] = 0
    env.x[:] = [500.5, 600.5]
    env.y[:] = [500.25, 600.25]
    env.ticks_since_reward[:] = [511, 100]
    env.step(np.array([[4, 2], [4, 2]], np.int32))
    assert env.ticks_since_reward.tolist() == [512, 101]
    assert env.x[0] == round(env.x[0]) and env.y[0] == round(env.y[0])      # a new integer spot
    assert (env.x[1], env.y[1]) == (F32(600.5), F32(600.25))                 # stays put


def test_observation_layout():
    env = Target(num_envs=2, num_agents=3, num_goals=2, width=120, height=80)
    env.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        obs, rew, _, _, _ = env.step(np.stack([rng.integers(0, 9, 6), rng.integers(0, 5, 6)], 1).astype(np.int32))
    wf, hf = F32(120), F32(80)
    for e in range(2):
        st_ = env.state(e)
        nx, ny = st_["x"] / wf, st_["y"] / hf
        gx, gy = st_["goals"][:, 0] / wf, st_["goals"][:, 1] / hf
        for s in range(3):
            row = obs[e * 3 + s]
            np.testing.assert_array_equal(row[0:4:2], gx - nx[s])
            np.testing.assert_array_equal(row[1:4:2], gy - ny[s])
            np.testing.assert_array_equal(row[4:10:2], nx - nx[s])
            np.testing.assert_array_equal(row[5:10:2], ny - ny[s])
            assert row[4 + 2 * s] == 0 and row[5 + 2 * s] == 0
            assert row[10] == st_["heading"][s] / TWO_PI and row[11] == rew[e * 3 + s]
            assert row[12] == nx[s] and row[13] == ny[s]
            # the same as the direct formula up to float32 rounding
            np.testing.assert_allclose(row[0:4:2], (st_["goals"][:, 0] - st_["x"][s]) / wf, atol=3e-7)


def test_sincos_is_accurate():
    hs = np.linspace(0, float(TWO_PI), 200_001).astype(F32)
    hs = np.concatenate([hs, [TWO_PI, F32(math.pi / 2), F32(math.pi), F32(0.7853982), np.nextafter(F32(0.7853982), F32(1))]])
    got = np.array([sincos(h) for h in hs[::50]] + [sincos(h) for h in hs[-5:]], np.float64)
    ref = hs[::50].tolist() + hs[-5:].tolist()
    np.testing.assert_allclose(got[:, 0], np.sin(ref), atol=1.2e-7)
    np.testing.assert_allclose(got[:, 1], np.cos(ref), atol=1.2e-7)


def test_reset_restores_heading_and_speed_and_is_seeded():
    env = _env_of()
    obs0 = env.reset(seed=9)[0].copy()
    first = _snapshot(env)
    for _ in range(5):
        env.step(np.tile([[8, 4]], (env.num_agents, 1)).astype(np.int32))
    assert (env.speed != 0).all()
    obs1 = env.reset(seed=9)[0]
    assert all(np.array_equal(first[k], v) for k, v in _snapshot(env).items())
    np.testing.assert_array_equal(obs0, obs1)
    env.reset(seed=10)
    assert not np.array_equal(first["x"], env.x)


def test_no_fused_multiply_add_can_change_the_gpu_result():
    """Every float32 fused multiply-add in the GPU step multiplies by one of the exact pi/2
    parts (results as without fusing); the other products stay unfused."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("no PTX under the CUDA simulator")
    try:
        from numba import cuda
        cuda.cudadrv.nvvm.NVVM()
    except Exception:  # noqa: BLE001
        pytest.skip("the CUDA toolkit's NVVM is not available")
    from pufferlib.cuda_kernels import compile_ptx
    from pufferlib.ocean.target import PIO2_1, PIO2_2, PIO2_3
    ptx = compile_ptx(Target(**SMALL), cc=(9, 0))
    exact = {f"0f{np.float32(-c).view(np.uint32):08X}" for c in (PIO2_1, PIO2_2, PIO2_3)}
    fused = [line for text in ptx.values() for line in text.splitlines() if "fma.rn.f32" in line]
    assert fused, "the reduction by pi/2 should be visible"
    for line in fused:
        assert set(re.findall(r"0f[0-9A-F]{8}", line)) & exact, line


def test_config_and_actions_are_checked_and_render():
    for bad in (dict(width=0), dict(height=70000), dict(num_agents=0), dict(num_goals=0)):
        with pytest.raises(APIUsageError):
            Target(**bad)
    env = _env_of()
    env.reset(seed=0)
    for bad in (np.full((6, 2), 9), np.full((6, 2), -1), np.zeros((6, 3), np.int32), np.zeros(6, np.int32)):
        with pytest.raises(APIUsageError):
            env.step(bad)
    big = Target(render_mode="rgb_array")
    big.reset(seed=0)
    frame = big.render()
    assert frame.shape == (360, 540, 3) and frame.dtype == np.uint8
    gx, gy = big.goals[0, 0]
    assert tuple(frame[int(gy / 2), int(gx / 2)]) == (230, 200, 60)        # a goal's disc
    text = Target(render_mode="ansi", **SMALL)
    text.reset(seed=0)
    out = text.render()
    assert out.count("*") >= 1 and "agent 2:" in out and out.startswith("+" + "-" * 64 + "+")
