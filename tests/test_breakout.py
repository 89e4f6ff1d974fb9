"""Breakout: launch, paddle, swept brick and wall collisions, lost balls, episode ends, logs and
invariants (docs/envs/breakout.md)."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pufferlib import APIUsageError
from pufferlib.ocean.breakout import LEFT, NOOP, RIGHT, Breakout
from pufferlib.ocean.testing import cuda_usable

F32 = np.float32
ROW_POINTS = np.array([7, 7, 4, 4, 1, 1])
ANGLE = float(F32(math.pi / 3.25))
LAUNCH_VY = F32(math.cos(ANGLE) * 256 / 60)
LAUNCH_VX = F32(math.sin(ANGLE) * 256 / 60)


def one_env(**kwargs):
    env = Breakout(num_envs=1, **kwargs)
    env.reset(seed=0)
    return env


def place_ball(env, x, y, vx, vy, **fields):
    """Put env 0's ball (already launched) at ``(x, y)`` with velocity ``(vx, vy)``."""
    rec = env.envs[0]
    rec["balls_fired"] = 1
    rec["ball_x"], rec["ball_y"], rec["ball_vx"], rec["ball_vy"] = x, y, vx, vy
    for k, v in fields.items():
        rec[k] = v


def step(env, action=NOOP):
    o, r, term, trunc, infos = env.step(np.full(env.num_agents, action, np.int32))
    return o[0].copy(), float(r[0]), bool(term[0]), bool(trunc[0]), infos


def test_launch_and_paddle_are_closed_form():
    env = one_env()
    obs = env.observations[0]
    assert obs.shape == (118,) and obs[1] == F32(312) / F32(330) and obs[8] == 1 and obs[6] == 0
    o, r, term, _, _ = step(env, RIGHT)           # frame 1 launches; the paddle moves on it too
    vx = F32(env.envs[0]["ball_vx"])
    assert abs(vx) == LAUNCH_VX and env.envs[0]["ball_vy"] == LAUNCH_VY
    x, y, px = F32(272), F32(135), F32(257)
    for _ in range(4):
        x, y, px = x + vx, y + LAUNCH_VY, px + F32(620) / F32(60)
    assert o[0] == px / F32(576) and o[2] == x / F32(576) and o[3] == y / F32(330)
    assert o[4] == vx / F32(512) and o[5] == LAUNCH_VY / F32(512) and o[6] == F32(0.2)
    assert r == 0 and not term and (o[10:] == 0).all()
    seen = set()
    for _ in range(40):                           # the paddle stops at the right wall
        step(env, RIGHT)
        seen.add(float(env.envs[0]["paddle_x"]))
    assert max(seen) == 576 - 62


def test_launch_direction_is_left_or_right_evenly():
    env = Breakout(num_envs=2000)
    env.reset(seed=4)
    env.step(np.zeros(2000, np.int32))
    vx = env.envs["ball_vx"]
    assert set(np.unique(vx)) == {-LAUNCH_VX, LAUNCH_VX}
    assert abs((vx > 0).mean() - 0.5) < 0.05


def test_a_fast_ball_stops_at_the_first_brick_face_it_sweeps():
    """Swept collision: moving 40 px up in one frame, the ball would jump into row 4; it
    stops at the bottom face of row 5 (y = 50 + 6 * 12 = 122) at t = 18 / 40, on the brick
    it overlaps most (col 3: 28 px against 4 px for col 4)."""
    env = one_env(frameskip=1)
    place_ball(env, 100.0, 140.0, 0.0, -40.0)
    o, r, term, _, _ = step(env)
    rec = env.envs[0]
    idx = 5 * 18 + 3
    assert r == 1 and not term and rec["score"] == 1
    assert rec["ball_y"] == 122 and rec["ball_x"] == 100 and rec["ball_vy"] == 40
    assert env.bricks[0, idx] == 1 and env.bricks[0].sum() == 1 and o[10 + idx] == 1
    assert rec["ball_speed"] == 256                 # a bottom-row brick does not speed the ball


def test_top_row_brick_gives_7_and_top_speed():
    env = one_env(frameskip=1)
    env.bricks[0, 18:] = 1                          # rows 1-5 already cleared
    env.envs[0]["score"] = 18 * (7 + 4 + 4 + 1 + 1)
    place_ball(env, 200.0, 70.0, 0.0, -10.0)
    _, r, *_ = step(env)
    assert r == 7 and env.envs[0]["ball_y"] == 62 and env.envs[0]["ball_speed"] == 448


def test_contact_at_time_zero_bounces_off_the_side_wall():
    env = one_env(frameskip=1)
    place_ball(env, 576.0 - 32.0, 200.0, 3.0, 2.0)   # touching the right wall, moving into it
    step(env)
    rec = env.envs[0]
    assert rec["ball_x"] == 544 and rec["ball_vx"] == -3 and rec["ball_vy"] == 2


def test_top_wall_shrinks_the_paddle():
    env = one_env(frameskip=1)
    place_ball(env, 300.0, 3.0, 1.0, -4.0)
    o, *_ = step(env)
    rec = env.envs[0]
    assert rec["ball_y"] == 0 and rec["ball_vy"] == 4 and rec["ball_x"] == F32(300) + F32(0.75)
    assert rec["paddle_w"] == 31 and o[9] == 0.5


def test_paddle_centre_sends_the_ball_straight_up_without_moving_it():
    env = one_env(frameskip=1)
    place_ball(env, 272.0, 279.0, 0.0, 2.0, hits=3)   # bottom 1 px above the paddle at 312
    step(env)
    rec = env.envs[0]
    assert rec["ball_y"] == 279 and rec["ball_x"] == 272          # not moved this frame
    assert rec["ball_vx"] == 0 and rec["ball_vy"] == F32(-256 / 60)
    assert rec["hits"] == 4 and rec["ball_speed"] == 320           # every 4th hit: +64


def test_clearing_the_first_wall_brings_a_second_one_at_the_next_paddle_hit():
    env = one_env(frameskip=1)
    env.bricks[0] = 1
    env.envs[0]["score"] = 432
    place_ball(env, 272.0, 279.0, 0.0, 2.0)
    o, *_ = step(env)
    assert (env.bricks[0] == 0).all() and (o[10:] == 0).all() and o[7] == F32(432) / F32(864)


def test_losing_the_last_ball_ends_the_episode_at_that_frame():
    env = one_env(frameskip=4, log_interval=1)
    for _ in range(3):
        step(env)
    place_ball(env, 0.0, 318.0, 0.0, 5.0, num_balls=0, score=100)   # beside the paddle, falling
    o, r, term, trunc, infos = step(env)
    assert term and not trunc and r == 0
    assert infos == [{"perf": 100 / 864, "score": 100.0, "episode_return": 100.0,
                      "episode_length": 4.0, "n": 1.0}]
    rec = env.envs[0]
    # The step stopped at the frame that ended the episode: the new ball is not launched.
    assert rec["balls_fired"] == 0 and rec["tick"] == 0 and rec["steps"] == 0
    assert o[8] == 1 and o[6] == 0 and o[7] == 0 and (o[10:] == 0).all()


def test_episode_length_counts_steps_and_return_is_the_score():
    env = one_env(log_interval=1)
    steps, ret = 0, 0.0
    while True:
        _, r, term, _, infos = step(env, NOOP)
        steps += 1
        ret += r
        if term:
            break
    assert len(infos) == 1
    assert infos[0]["episode_length"] == steps and infos[0]["score"] == ret == infos[0]["episode_return"]
    # Unmoved, the paddle never meets the ball: each of the 6 balls falls from y = 135 at
    # 2.42 px per frame and is lost (y >= 320) at its 77th frame, 462 frames in all.
    assert steps == math.ceil(6 * 77 / 4) and ret == 0


def tracker(obs, cols_px=576):
    """Move the paddle's centre toward the ball's."""
    paddle = obs[:, 0] * cols_px + obs[:, 9] * 31
    ball = obs[:, 2] * cols_px + 16
    return np.where(ball < paddle - 4, LEFT, np.where(ball > paddle + 4, RIGHT, NOOP)).astype(np.int32)


@given(seed=st.integers(0, 2**31), frameskip=st.integers(1, 4),
       actions=st.lists(st.integers(0, 9), min_size=50, max_size=400).map(lambda a: [0, 1, 2] + a))
def test_invariants_under_any_actions(seed, frameskip, actions):
    """Drawn values 0-2 are actions; 3-9 mean "track the ball", so bricks get hit."""
    env = Breakout(num_envs=2, frameskip=frameskip)
    low, high = env.single_observation_space.low, env.single_observation_space.high
    obs, _ = env.reset(seed)
    returns = np.zeros(2)
    for a in actions:
        act = tracker(obs) if a >= 3 else np.full(2, a, np.int32)
        obs, rew, term, trunc, _ = env.step(act)
        assert ((obs >= low) & (obs <= high)).all() and not trunc.any()
        assert (rew >= 0).all() and (rew == np.round(rew)).all()
        returns += rew
        for i in range(2):
            rec, bricks = env.envs[i], env.bricks[i]
            assert np.array_equal(obs[i, 10:], bricks) and np.isin(bricks, (0, 1)).all()
            if term[i]:
                assert rec["score"] == 0 and rec["num_balls"] == 5 and not bricks.any()
                assert returns[i] <= 864
                returns[i] = 0
                continue
            score = rec["score"]
            assert score == returns[i] <= 864 and 0 <= rec["num_balls"] <= 5
            cleared = (bricks.reshape(6, 18) * ROW_POINTS[:, None]).sum()
            assert score in (cleared, 432 + cleared)    # first wall, or the second one


def test_same_seed_same_game_other_seed_differs():
    def trajectory(seed):
        env = Breakout(num_envs=8)
        obs = env.reset(seed)[0]
        out = [obs.copy()]
        for t in range(300):
            obs, r, term, _, _ = env.step(tracker(obs) if t % 3 else np.full(8, t % 2 + 1, np.int32))
            out += [obs.copy(), r.copy(), term.copy()]
        return out

    a, b, c = trajectory(5), trajectory(5), trajectory(6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    assert sum(float(r.sum()) for r in a[2::3]) > 0         # bricks were hit


def test_continuous_paddle_moves_620_a_pixels_per_second():
    env = one_env(continuous=True, frameskip=1)
    assert env.single_action_space.shape == ()
    env.step(np.array([0.5], np.float32))
    assert env.envs[0]["paddle_x"] == F32(257) + F32(0.5) * F32(620) / F32(60)
    with pytest.raises(APIUsageError):
        env.step(np.array([-1.5], np.float32))


def test_render_pictures():
    env = one_env(render_mode="rgb_array")
    env.bricks[0, 0] = 1
    frame = env.render()
    assert frame.shape == (330, 576, 3) and frame.dtype == np.uint8
    assert (frame[56, 16] == 16).all()                       # brick (0, 0) is gone
    assert (frame[56, 48] == (230, 60, 60)).all()            # brick (0, 1): red, top row
    assert (frame[115, 16] == (60, 100, 220)).all()          # row 5: blue
    assert (frame[315, 288] == 235).all()                    # the paddle
    text = Breakout(num_envs=1, render_mode="ansi")
    text.reset(0)
    picture = text.render()
    assert picture.count("#") > 100 and "=" in picture and "o" in picture and "score 0" in picture


@pytest.mark.parametrize("kwargs", [dict(num_envs=0), dict(brick_rows=7), dict(brick_cols=19),
                                    dict(height=200), dict(frameskip=0), dict(ball_width=4),
                                    dict(paddle_width=600), dict(continuous="yes")])
def test_bad_config_raises(kwargs):
    with pytest.raises(APIUsageError):
        Breakout(**kwargs)


def test_discrete_actions_outside_0_2_raise():
    env = one_env()
    for bad in (np.array([3], np.int32), np.array([-1], np.int32), np.array([1.0])):
        with pytest.raises(APIUsageError):
            env.step(bad)
    assert env.tick == 0


@pytest.mark.cudasim
@pytest.mark.skipif(not cuda_usable(), reason="needs NUMBA_ENABLE_CUDASIM=1 or a GPU")
def test_gpu_plays_the_cpu_game_with_bricks_and_paddle_hits():
    """Longer than the conformance check (which ends before the ball comes back up)."""
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        cpu = Breakout(num_envs=2, log_interval=50)
        gpu = Breakout(num_envs=2, log_interval=50, device="cuda")
        obs_c, obs_g = cpu.reset(3)[0], gpu.reset(3)[0].copy_to_host()
        total = 0.0
        for t in range(150):
            act = tracker(obs_c)
            obs_c, r_c, t_c, _, i_c = cpu.step(act)
            o, r_g, t_g, _, i_g = gpu.step(act)
            obs_g = o.copy_to_host()
            assert np.array_equal(obs_c, obs_g) and np.array_equal(r_c, r_g.copy_to_host())
            assert np.array_equal(t_c, t_g.copy_to_host()) and i_c == i_g
            total += float(r_c.sum())
        assert total > 0
