"""Pong: return the ball past a scripted opponent; first to 21 points (``docs/envs/pong.md``).

The agent moves the right paddle up or down; the left paddle follows the ball at a
limited speed. A step runs ``frameskip`` frames of simple Pong physics in float32: the
ball moves in straight lines, bounces off the top and bottom walls, is returned by a
paddle it overlaps when it crosses that paddle's side, and scores a point for the other
side otherwise. Returning the ball gives +0.1 and the agent's paddle direction adds
spin. After PufferLib 3.0's ``ocean/pong`` (https://github.com/PufferAI/PufferLib).

Differences from the C reference, on purpose:

- observations 6 and 7 are ``score / max_score`` as floats (the C divides unsigned
  integers, so they are always 0);
- the observation is computed at the end of every step, also after a point that starts a
  new round (the C returns before recomputing it, so the agent sees the previous frame);
- a round starts with vertical speed ``+ball_initial_speed_y`` or
  ``-ball_initial_speed_y``, each with probability 1/2 (the C draws ``-1`` or ``0`` times
  the speed, so the ball never starts upward and half the rounds start flat);
- the logged ``episode_length`` counts every step of the episode (the C counts only the
  steps of its last round) and ``episode_return`` is the sum of the episode's rewards
  (the C logs the point difference, which is also ``score`` here);
- the observation space has the bounds the values really take (the C declares ``[0, 1]``
  and the ball's position leaves it by up to one frame's move);
- discrete actions must be 0, 1 or 2 (int32 buffer) and continuous ones in ``[-1, 1]``
  and finite, else ``APIUsageError`` (the C treats other discrete values as "stay" and
  clips continuous ones); the continuous space has shape ``()``, one float per agent;
- configuration values are checked (positive sizes and speeds, the ball smaller than the
  court), and a bad one raises ``APIUsageError``.
"""
from __future__ import annotations

import gymnasium
import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.checks import check_bool
from pufferlib.ocean.core import Array, OceanEnv, check_float, check_int, kernel, rand_below

F32 = np.float32
#: One record per env: random state, counters and the moving parts.
ENV_DTYPE = np.dtype([
    ("rng", np.uint64),
    ("tick", np.int32),         # steps since the current round (point) started
    ("ep_steps", np.int32),     # steps since the episode started
    ("score_l", np.int32), ("score_r", np.int32),
    ("n_bounces", np.int32),    # returns by either paddle in the current round
    ("paddle_yl", np.float32), ("paddle_yr", np.float32),   # bottom edges
    ("ball_x", np.float32), ("ball_y", np.float32),         # lower-left corner
    ("ball_vx", np.float32), ("ball_vy", np.float32),
    ("ep_return", np.float32),
], align=True)
#: The configuration, shared by every env of an instance (one record).
CFG_DTYPE = np.dtype([
    ("frameskip", np.int32), ("continuous", np.int32), ("max_score", np.int32),
    ("width", np.float32), ("height", np.float32), ("paddle_height", np.float32),
    ("half_paddle", np.float32), ("ball_width", np.float32), ("ball_height", np.float32),
    ("paddle_speed", np.float32), ("speed_x", np.float32), ("speed_y", np.float32),
    ("increment", np.float32), ("max_vy", np.float32),
    ("min_paddle_y", np.float32), ("max_paddle_y", np.float32),
    # observation scales, as the C computes them
    ("paddle_range", np.float32), ("two_speed_x", np.float32), ("two_max_vy", np.float32),
    ("max_score_f", np.float32),
], align=True)

STAY, UP, DOWN = 0, 1, 2
F0, F1 = F32(0.0), F32(1.0)
REWARD_HIT = F32(0.1)
MIN_VY = 0.01       # a return that leaves |vy| below this sends the ball off at +increment


@kernel
def write_observation(w, e):
    env = w.envs[e]
    cfg = w.cfg[0]
    lo = cfg["min_paddle_y"]
    rng = cfg["paddle_range"]
    obs = w.observations
    obs[e, 0] = (env["paddle_yl"] - lo) / rng
    obs[e, 1] = (env["paddle_yr"] - lo) / rng
    obs[e, 2] = env["ball_x"] / cfg["width"]
    obs[e, 3] = env["ball_y"] / cfg["height"]
    obs[e, 4] = (env["ball_vx"] + cfg["speed_x"]) / cfg["two_speed_x"]
    obs[e, 5] = (env["ball_vy"] + cfg["max_vy"]) / cfg["two_max_vy"]
    obs[e, 6] = F32(env["score_l"]) / cfg["max_score_f"]
    obs[e, 7] = F32(env["score_r"]) / cfg["max_score_f"]


@kernel
def reset_round(w, e):
    """Paddles centred, ball at a fifth of the width heading right, vy = +-speed_y."""
    env = w.envs[e]
    cfg = w.cfg[0]
    start = cfg["height"] / F32(2.0) - cfg["half_paddle"]
    env["paddle_yl"] = start
    env["paddle_yr"] = start
    env["ball_x"] = cfg["width"] / F32(5.0)
    env["ball_y"] = cfg["height"] / F32(2.0) - cfg["ball_height"] / F32(2.0)
    env["ball_vx"] = cfg["speed_x"]
    if rand_below(env, 2) == 0:
        env["ball_vy"] = cfg["speed_y"]
    else:
        env["ball_vy"] = -cfg["speed_y"]
    env["tick"] = 0
    env["n_bounces"] = 0


@kernel
def reset_env(w, e):
    """A new episode: a new round, scores 0."""
    env = w.envs[e]
    reset_round(w, e)
    env["score_l"] = 0
    env["score_r"] = 0
    env["ep_steps"] = 0
    env["ep_return"] = 0.0
    write_observation(w, e)


@kernel
def end_episode(w, e, reward):
    """Log the finished episode of env ``e`` (``reward``: its last step's) and reset it."""
    env = w.envs[e]
    lg = w.logs[e]
    left = env["score_l"]
    right = env["score_r"]
    lg["perf"] += right / (left + right)
    lg["score"] += right - left
    lg["episode_return"] += env["ep_return"] + reward
    lg["episode_length"] += env["ep_steps"]
    lg["n"] += 1.0
    reset_env(w, e)


@kernel
def step_env(w, e):
    """One agent step of env ``e``: ``frameskip`` frames (docs/envs/pong.md, One step)."""
    env = w.envs[e]
    cfg = w.cfg[0]
    env["tick"] += 1
    env["ep_steps"] += 1
    if cfg["continuous"] != 0:
        direction = F32(w.actions[e])
    else:
        a = w.actions[e]
        direction = F0
        if a == UP:
            direction = F1
        elif a == DOWN:
            direction = -F1
    speed = cfg["paddle_speed"]
    # Products hoisted out of the frame loop: on a GPU a multiply and an add in one basic
    # block may be fused into one FMA (one rounding), which the CPU build never does.
    move = speed * direction
    spin = cfg["increment"] * direction
    height = cfg["height"]
    width = cfg["width"]
    bw = cfg["ball_width"]
    bh = cfg["ball_height"]
    ph = cfg["paddle_height"]
    lo = cfg["min_paddle_y"]
    hi = cfg["max_paddle_y"]
    yl = env["paddle_yl"]
    yr = env["paddle_yr"]
    x = env["ball_x"]
    y = env["ball_y"]
    vx = env["ball_vx"]
    vy = env["ball_vy"]
    reward = F0
    ended = False
    point = False
    for _ in range(cfg["frameskip"]):
        yr += move
        d = min(max(y - (yl + cfg["half_paddle"]), -speed), speed)
        yl += d
        yr = min(max(yr, lo), hi)
        yl = min(max(yl, lo), hi)
        x += vx
        y += vy
        if y < F0 or y + bh > height:
            vy = -vy
        if x < F0:
            if y + bh > yl and y < yl + ph:
                vx = -vx
                env["n_bounces"] += 1
            else:
                env["score_r"] += 1
                reward = F1
                point = True
                ended = env["score_r"] == cfg["max_score"]
                break
        if x + bw > width:
            if y + bh > yr and y < yr + ph:
                vx = -vx
                env["n_bounces"] += 1
                reward = REWARD_HIT
                vy = min(max(vy + spin, -cfg["max_vy"]), cfg["max_vy"])
                if abs(vy) < MIN_VY:
                    vy = cfg["increment"]
                x = min(max(x, F0), width - bw)
                y = min(max(y, F0), height - bh)
            else:
                env["score_l"] += 1
                reward = -F1
                point = True
                ended = env["score_l"] == cfg["max_score"]
                break
    w.rewards[e] = reward
    w.terminals[e] = ended
    w.truncations[e] = False
    if ended:
        end_episode(w, e, reward)
        return
    env["ep_return"] += reward
    if point:
        reset_round(w, e)
    else:
        env["paddle_yl"] = yl
        env["paddle_yr"] = yr
        env["ball_x"] = x
        env["ball_y"] = y
        env["ball_vx"] = vx
        env["ball_vy"] = vy
    write_observation(w, e)


def _f32(*values):
    return tuple(F32(v) for v in values)


class Pong(OceanEnv):
    """Pong (``docs/envs/pong.md``): ``num_envs`` courts, the agent plays the right paddle.

    Args:
        num_envs: courts (= agents), >= 1.
        width, height: court size in pixels (y grows upward), > ball size.
        paddle_width, paddle_height: paddle size; ``paddle_width`` is only drawn.
        ball_width, ball_height: ball size.
        paddle_speed: pixels per frame of both paddles (the opponent's is capped to it).
        ball_initial_speed_x: horizontal ball speed, constant in magnitude.
        ball_initial_speed_y: vertical speed at the start of a round (sign at random).
        ball_speed_y_increment: vertical speed the agent's paddle direction adds on a return.
        ball_max_speed_y: cap on the vertical speed after a return.
        max_score: points that end the episode, >= 1.
        frameskip: frames per agent step, >= 1.
        continuous: False: ``Discrete(3)`` (0 stay, 1 up, 2 down); True: ``Box(-1, 1,
            shape=(), float32)``, the paddle moves ``paddle_speed * a`` per frame.
        log_interval, num_threads, buf, seed, device, render_mode: as every Ocean env
            (:class:`~pufferlib.ocean.core.OceanEnv`); ``render_mode`` is None,
            ``"rgb_array"`` or ``"ansi"``.

    Spaces: observation ``Box((8,), float32)``: left paddle, right paddle (0 bottom .. 1
    top of their range), ball x / width, ball y / height, ball vx (0 left, 1 right),
    ball vy scaled to ``[0, 1]`` by ``ball_max_speed_y``, opponent's and agent's score /
    ``max_score``. Bounds are those the values take (the ball's entries reach just
    outside ``[0, 1]``).
    Rewards float32, per step the last event of its frames: +0.1 return by the agent,
    +1 point won, -1 point lost, else 0. ``terminals`` when a side reaches
    ``max_score`` (the env resets in the same step); never truncated.

    Log fields (per-episode means): ``perf`` (share of the points won), ``score``
    (points won minus points lost), ``episode_return`` (sum of rewards),
    ``episode_length`` (steps), ``n``.

    ``state(env_id)``: ``envs``, the env's record (rng, tick (steps this round),
    ep_steps, score_l, score_r, n_bounces, paddle_yl, paddle_yr, ball_x, ball_y,
    ball_vx, ball_vy, ep_return), and ``cfg``, the configuration record shared by all envs.

    Raises:
        APIUsageError: an invalid argument (the message names it).
    """

    WORLD = {"envs": Array(ENV_DTYPE, "num_envs"), "cfg": Array(CFG_DTYPE, 1)}
    LOG_FIELDS = ("perf", "score", "episode_return", "episode_length")
    reset_env = reset_env
    step_env = step_env

    @classmethod
    def test_config(cls):
        return {"num_envs": 4, "frameskip": 4, "max_score": 3}

    def __init__(self, num_envs=1, width=500, height=640, paddle_width=20, paddle_height=70,
                 ball_width=32, ball_height=32, paddle_speed=8, ball_initial_speed_x=10,
                 ball_initial_speed_y=1, ball_speed_y_increment=3, ball_max_speed_y=13, max_score=21,
                 frameskip=1, continuous=False, log_interval=128, num_threads=1, buf=None, seed=0,
                 device="cpu", render_mode=None):
        sizes = {}
        for name, value in (("width", width), ("height", height), ("paddle_width", paddle_width),
                            ("paddle_height", paddle_height), ("ball_width", ball_width),
                            ("ball_height", ball_height), ("ball_initial_speed_x", ball_initial_speed_x),
                            ("ball_max_speed_y", ball_max_speed_y)):
            sizes[name] = check_float(name, value)
            if not sizes[name] > 0:
                raise APIUsageError(f"{name} must be > 0, got {value}")
        for name, value in (("paddle_speed", paddle_speed), ("ball_initial_speed_y", ball_initial_speed_y),
                            ("ball_speed_y_increment", ball_speed_y_increment)):
            sizes[name] = check_float(name, value)
            if sizes[name] < 0:
                raise APIUsageError(f"{name} must be >= 0, got {value}")
        for side, ball in (("width", "ball_width"), ("height", "ball_height")):
            if not sizes[ball] < sizes[side]:
                raise APIUsageError(f"{ball} must be < {side}, got {sizes[ball]} and {sizes[side]}")
        self.config = sizes
        self.max_score = check_int("max_score", max_score, 1, 2**31 - 1)
        self.frameskip = check_int("frameskip", frameskip, 1, 2**31 - 1)
        self.continuous = check_bool("continuous", continuous)
        self.single_observation_space = gymnasium.spaces.Box(*self._observation_bounds(), dtype=np.float32)
        self.single_action_space = (gymnasium.spaces.Box(-1.0, 1.0, shape=(), dtype=np.float32)
                                    if self.continuous else gymnasium.spaces.Discrete(3))
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def _observation_bounds(self):
        """Low and high of every observation entry, rounded as the kernels compute them.

        The ball's bottom edge stays within one frame's vertical move of the court
        (bounces are not corrected), its left edge within one frame's move left of 0
        (the opponent returns it from there), and |vy| <= the largest vertical speed."""
        c = self.config
        width, height, bw, bh, sx, mvy = _f32(c["width"], c["height"], c["ball_width"], c["ball_height"],
                                              c["ball_initial_speed_x"], c["ball_max_speed_y"])
        vmax = F32(max(c["ball_max_speed_y"], c["ball_speed_y_increment"], c["ball_initial_speed_y"]))
        low = np.zeros(8, np.float32)
        high = np.ones(8, np.float32)
        low[2] = -sx / width
        high[2] = max(width / F32(5.0), width - bw) / width
        low[3] = -vmax / height
        high[3] = ((height - bh) + vmax) / height
        low[5] = (-vmax + mvy) / (mvy + mvy)
        high[5] = (vmax + mvy) / (mvy + mvy)
        return low, high

    def init_world(self):
        c = self.config
        cfg = self.cfg[0]
        cfg["frameskip"] = self.frameskip
        cfg["continuous"] = int(self.continuous)
        cfg["max_score"] = self.max_score
        cfg["width"] = c["width"]
        cfg["height"] = c["height"]
        cfg["paddle_height"] = c["paddle_height"]
        cfg["half_paddle"] = F32(c["paddle_height"]) / F32(2.0)
        cfg["ball_width"] = c["ball_width"]
        cfg["ball_height"] = c["ball_height"]
        cfg["paddle_speed"] = c["paddle_speed"]
        cfg["speed_x"] = c["ball_initial_speed_x"]
        cfg["speed_y"] = c["ball_initial_speed_y"]
        cfg["increment"] = c["ball_speed_y_increment"]
        cfg["max_vy"] = c["ball_max_speed_y"]
        lo = -F32(c["paddle_height"]) / F32(2.0)
        hi = F32(c["height"]) - F32(c["paddle_height"]) / F32(2.0)
        cfg["min_paddle_y"] = lo
        cfg["max_paddle_y"] = hi
        cfg["paddle_range"] = hi - lo
        cfg["two_speed_x"] = F32(2.0) * F32(c["ball_initial_speed_x"])
        cfg["two_max_vy"] = F32(2.0) * F32(c["ball_max_speed_y"])
        cfg["max_score_f"] = F32(self.max_score)

    def _geometry(self):
        c = self.config
        pad = 3 * int(round(c["paddle_width"]))
        return int(round(c["width"])), int(round(c["height"])), pad

    def render_rgb(self, state):
        """``(height, width + 6 * paddle_width, 3)`` uint8, as the C window: the court between
        two margins, the opponent's paddle (red) in the left margin, the agent's (blue) in
        the right one, the ball (yellow), y upward."""
        rec = state["envs"]
        c = self.config
        width, height, pad = self._geometry()
        frame = np.full((height, width + 2 * pad, 3), 24, np.uint8)
        frame[:, pad:pad + width] = 40

        def fill(x0, y0, w, h, colour):   # y0: bottom edge in court coordinates (y up)
            r0 = int(round(height - y0 - h))
            c0 = int(round(x0))
            frame[max(0, r0):max(0, min(height, r0 + int(round(h)))),
                  max(0, c0):max(0, min(frame.shape[1], c0 + int(round(w))))] = colour

        pw, ph = c["paddle_width"], c["paddle_height"]
        fill(pad - pw, float(rec["paddle_yl"]), pw, ph, (230, 80, 80))
        fill(pad + width, float(rec["paddle_yr"]), pw, ph, (80, 140, 240))
        fill(pad + float(rec["ball_x"]), float(rec["ball_y"]), c["ball_width"], c["ball_height"], (240, 210, 70))
        return frame

    def render_ansi(self, state):
        """The court in 20 x 20-pixel cells (``[`` opponent, ``]`` agent, ``o`` ball, top row
        up), then the score and the step of the round."""
        rec = state["envs"]
        c = self.config
        width, height, pad = self._geometry()
        cols, rows = -(-(width + 2 * pad) // 20), -(-height // 20)
        grid = [[" "] * cols for _ in range(rows)]

        def mark(x0, y0, w, h, ch):
            for r in range(max(0, int((height - y0 - h) // 20)), min(rows, int(-(-(height - y0) // 20)))):
                for col in range(max(0, int(x0 // 20)), min(cols, int(-(-(x0 + w) // 20)))):
                    grid[r][col] = ch

        pw, ph = c["paddle_width"], c["paddle_height"]
        mark(pad - pw, float(rec["paddle_yl"]), pw, ph, "[")
        mark(pad + width, float(rec["paddle_yr"]), pw, ph, "]")
        mark(pad + float(rec["ball_x"]), float(rec["ball_y"]), c["ball_width"], c["ball_height"], "o")
        border = "+" + "-" * cols + "+"
        lines = [border] + ["|" + "".join(row) + "|" for row in grid] + [border]
        lines.append(f"opponent {int(rec['score_l'])} - {int(rec['score_r'])} agent   "
                     f"step {int(rec['tick'])} of this point")
        return "\n".join(lines)
