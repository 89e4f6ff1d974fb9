"""Pong: ball flight, returns and points, episode ends and logs, invariants (docs/envs/pong.md)."""
import os
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pufferlib import APIUsageError
from pufferlib.ocean.pong import DOWN, STAY, UP, Pong

F32 = np.float32
#: Frames for the ball to reach the agent's side from a round start with the defaults:
#: x = 100 + 10 k, and x + 32 > 500 first at k = 37.
FRAMES_TO_RIGHT = 37


def run(env, actions):
    """Step ``env`` (1 agent per env) with ``actions[t]`` for every env; copies of each step."""
    out = []
    for a in actions:
        o, r, term, trunc, infos = env.step(np.full(env.num_agents, a, np.int32))
        out.append((o.copy(), r.copy(), term.copy(), trunc.copy(), infos))
    return out


def test_ball_flight_and_paddle_moves_are_closed_form():
    env = Pong(num_envs=1)
    obs, _ = env.reset(seed=3)
    vy = float(env.envs[0]["ball_vy"])
    assert vy in (-1.0, 1.0)                            # a round starts at +-1, never flat
    assert obs[0, 5] == F32(vy + 13) / F32(26)
    assert obs[0, 2] == F32(100) / F32(500) and obs[0, 3] == F32(304) / F32(640)
    for k in range(1, FRAMES_TO_RIGHT):
        o, r, term, trunc, _ = env.step(np.array([UP], np.int32))
        assert r[0] == 0 and not term[0] and not trunc[0]
        assert o[0, 2] == F32(100 + 10 * k) / F32(500)                     # x = 100 + 10 k
        assert o[0, 3] == F32(304 + vy * k) / F32(640)                     # y = 304 + vy k
        assert o[0, 1] == F32(min(285 + 8 * k, 605) + 35) / F32(640)       # 8 px up per frame
        assert o[0, 4] == 1.0                                              # moving right
    # Frame 37: the ball crosses the right side, far below the raised paddle: a point lost.
    o, r, term, _, _ = env.step(np.array([UP], np.int32))
    assert r[0] == -1 and not term[0]
    assert o[0, 6] == F32(1) / F32(21) and o[0, 7] == 0       # the score is observed at once
    assert o[0, 2] == F32(0.2) and o[0, 1] == F32(0.5)         # and the new round's positions


def test_staying_in_the_middle_returns_the_ball():
    env = Pong(num_envs=8)
    env.reset(seed=0)
    steps = run(env, [STAY] * FRAMES_TO_RIGHT)
    for o, r, term, _, _ in steps[:-1]:
        assert (r == 0).all() and not term.any()
    o, r, _, _, _ = steps[-1]
    assert (r == F32(0.1)).all()
    assert (o[:, 4] == 0).all()                                 # heading left now
    assert (o[:, 2] == F32(468) / F32(500)).all()               # clipped to width - ball
    # No spin from a still paddle: vy stays +-1.
    assert np.isin(env.envs["ball_vy"], (-1.0, 1.0)).all()
    assert (env.envs["n_bounces"] == 1).all()


def test_down_spin_adds_the_increment():
    env = Pong(num_envs=1, paddle_speed=0)                      # the paddle cannot move
    env.reset(seed=0)
    vy0 = float(env.envs[0]["ball_vy"])
    run(env, [STAY] * (FRAMES_TO_RIGHT - 1))
    env.step(np.array([DOWN], np.int32))                       # the return, with direction -1
    assert env.envs[0]["ball_vy"] == F32(vy0 - 3.0)            # vy + 3 * (-1)
    assert env.rewards[0] == F32(0.1)


@pytest.mark.parametrize("frameskip", [1, 4])
def test_a_lost_game_ends_after_max_score_points(frameskip):
    """Always up: every ball is missed, each after ceil(37 / frameskip) steps."""
    per_point = -(-FRAMES_TO_RIGHT // frameskip)
    env = Pong(num_envs=2, frameskip=frameskip, max_score=5, log_interval=1)
    env.reset(seed=1)
    logs = []
    for t in range(1, 5 * per_point + 1):
        _, r, term, trunc, infos = env.step(np.full(2, UP, np.int32))
        logs += infos
        assert (r == (-1 if t % per_point == 0 else 0)).all()
        assert term.all() == (t == 5 * per_point) and not trunc.any()
    assert len(logs) == 1
    assert logs[0] == {"perf": 0.0, "score": -5.0, "episode_return": -5.0,
                       "episode_length": 5 * per_point, "n": 2.0}
    assert (env.envs["score_l"] == 0).all() and (env.observations[:, 6] == 0).all()   # reset


def test_continuous_paddle_moves_speed_times_action():
    env = Pong(num_envs=2, continuous=True)
    assert env.single_action_space.shape == ()
    env.reset(seed=0)
    o, *_ = env.step(np.array([0.5, -0.25], np.float32))
    assert o[0, 1] == (F32(285) + F32(8) * F32(0.5) + F32(35)) / F32(640)
    assert o[1, 1] == (F32(285) + F32(8) * F32(-0.25) + F32(35)) / F32(640)
    for bad in (np.array([1.5, 0], np.float32), np.array([np.nan, 0], np.float32)):
        with pytest.raises(APIUsageError):
            env.step(bad)


def test_round_starts_are_up_or_down_evenly():
    env = Pong(num_envs=4000)
    obs, _ = env.reset(seed=11)
    vy = env.envs["ball_vy"]
    assert set(np.unique(vy)) == {-1.0, 1.0}
    assert abs((vy > 0).mean() - 0.5) < 0.05


@given(seed=st.integers(0, 2**31), frameskip=st.integers(1, 8), continuous=st.booleans(),
       actions=st.lists(st.integers(0, 2), max_size=300).map(lambda a: [0, 1, 2] + a))
def test_invariants_under_any_actions(seed, frameskip, continuous, actions):
    env = Pong(num_envs=2, frameskip=frameskip, max_score=4, continuous=continuous)
    low, high = env.single_observation_space.low, env.single_observation_space.high
    obs, _ = env.reset(seed)
    for a in actions:
        act = (np.full(2, a - 1, np.float32) if continuous else np.full(2, a, np.int32))
        before = env.envs[["score_l", "score_r"]].copy()
        obs, rew, term, trunc, _ = env.step(act)
        assert ((obs >= low) & (obs <= high)).all()
        assert np.isin(rew, F32([0.0, 0.1, 1.0, -1.0])).all() and not trunc.any()
        scores = env.envs[["score_l", "score_r"]]
        for i in range(2):
            won, lost = rew[i] == 1, rew[i] == -1
            if term[i]:     # a side reached 4: the episode restarted at 0 - 0
                assert (won or lost) and scores[i]["score_l"] == scores[i]["score_r"] == 0
                assert before[i]["score_r" if won else "score_l"] == 3
            else:
                assert scores[i]["score_r"] == before[i]["score_r"] + won
                assert scores[i]["score_l"] == before[i]["score_l"] + lost
            assert 0 <= scores[i]["score_l"] < 4 and 0 <= scores[i]["score_r"] < 4
        assert (obs[:, 6] == scores["score_l"].astype(F32) / F32(4)).all()
        assert (obs[:, 7] == scores["score_r"].astype(F32) / F32(4)).all()


def test_same_seed_same_game_other_seed_differs():
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 3, size=(400, 16)).astype(np.int32)

    def trajectory(seed):
        env = Pong(num_envs=16, frameskip=4, max_score=3)
        out = [env.reset(seed)[0].copy()]
        for a in actions:
            o, r, t, _, _ = env.step(a)
            out += [o.copy(), r.copy(), t.copy()]
        return out

    a, b, c = trajectory(5), trajectory(5), trajectory(6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_render_pictures():
    env = Pong(num_envs=2, render_mode="rgb_array")
    env.reset(0)
    frame = env.render()
    assert frame.shape == (640, 620, 3) and frame.dtype == np.uint8
    # The ball (yellow) is drawn where the state puts it: x_pad 60 + 100, rows from the top.
    assert (frame[640 - 304 - 16, 60 + 116] == (240, 210, 70)).all()
    assert (frame[640 - 320, 620 - 50] == (80, 140, 240)).all()      # the agent's paddle
    text = Pong(num_envs=1, render_mode="ansi")
    text.reset(0)
    picture = text.render()
    assert "o" in picture and "]" in picture and "[" in picture and "opponent 0 - 0 agent" in picture


@pytest.mark.parametrize("kwargs", [dict(num_envs=0), dict(ball_width=500), dict(height=-1),
                                    dict(paddle_speed=-1), dict(max_score=0), dict(frameskip=0),
                                    dict(continuous=1), dict(ball_max_speed_y=float("nan"))])
def test_bad_config_raises(kwargs):
    with pytest.raises(APIUsageError):
        Pong(**kwargs)


def test_discrete_actions_outside_0_2_raise():
    env = Pong(num_envs=2)
    env.reset(0)
    for bad in (np.array([3, 0], np.int32), np.array([0, -1], np.int32), np.array([0.0, 1.0])):
        with pytest.raises(APIUsageError):
            env.step(bad)
    assert env.tick == 0


def test_gpu_kernels_have_no_fused_multiply_add():
    """The products are kept out of the frame loop's additions so the GPU rounds as the CPU."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("no PTX under the simulator")
    try:
        from numba import cuda
        cuda.cudadrv.nvvm.NVVM()
    except Exception:  # noqa: BLE001
        pytest.skip("needs the CUDA toolkit's NVVM")
    from pufferlib.cuda_kernels import compile_ptx
    for continuous in (False, True):
        ptx = compile_ptx(Pong(num_envs=1, continuous=continuous), cc=(9, 0))
        assert not any(re.search(r"\bfma\.rn\.f", text) for text in ptx.values())
