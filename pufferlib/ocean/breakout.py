"""Breakout: bounce a ball off a paddle to knock out six rows of bricks (``docs/envs/breakout.md``).

An Atari-style Breakout with continuous (swept) collisions: every frame the ball's
motion segment is tested against the faces of the bricks it may reach, the side and top
walls and the paddle; the earliest contact (the one with the larger overlap on a tie)
wins, and the ball stops there with the velocity reflected. The paddle sends the ball
back at an angle set by where it hits; bricks give 7, 4 or 1 points by row; clearing
the first wall brings back a second one. A step runs ``frameskip`` frames. After
PufferLib 3.0's ``ocean/breakout`` (https://github.com/PufferAI/PufferLib).

Differences from the C reference, on purpose:

- a contact at time 0 counts: a ball already touching a brick, a wall or the paddle and
  moving into it bounces (the C needs ``t > 0``, so such a ball passes through; after a
  paddle hit in a corner it leaves the court through the side wall);
- a step stops at the frame that ends an episode: the env resets and the step returns
  the new episode's first observation (the C plays the step's remaining frames in the
  new episode and counts them in the step that ended the old one);
- the logged ``episode_length`` counts agent steps (the C counts frames, ``frameskip``
  times as many);
- with discrete actions the paddle moves on the frame that launches the ball, as it does
  with continuous actions (the C ignores a discrete action on that frame);
- the ``paddle_width`` argument is used: the paddle starts that wide and shrinks to half
  after the ball touches the top wall, observation 9 is the width over ``paddle_width``,
  and observation 7 is the score over the largest score of the configured bricks (the C
  always uses a 62-pixel paddle and divides the score by 864);
- the observation space has the bounds the values really take (the C declares ``[0, 1]``,
  and the ball's velocity is negative half of the time);
- discrete actions must be 0, 1 or 2 (int32 buffer) and continuous ones in ``[-1, 1]``
  and finite, else ``APIUsageError`` (the C treats other discrete values as no move and
  clips continuous ones);
- configurations are checked: at most 6 brick rows (the row points 7, 7, 4, 4, 1, 1 go
  negative below that), the bricks inside the court, the ball starting between the
  bricks and the paddle.

Floating point: the state is float32 as in the C, and on the CPU every backend computes
the same bits. On a real GPU, numba-cuda fuses multiply-adds of the collision tests into
FMA instructions (one rounding instead of two), so GPU trajectories may drift from CPU
ones in the last bits and, rarely, in an outcome; the CUDA simulator matches the CPU.
"""
from __future__ import annotations

import math

import gymnasium
import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.checks import check_bool
from pufferlib.ocean.core import Array, OceanEnv, check_int, kernel, rand_below

F32 = np.float32
NOOP, LEFT, RIGHT = 0, 1, 2
Y_OFFSET = 50                          # top of the first brick row, pixels
Y_OFFSET_F = F32(Y_OFFSET)
MAX_BALL_SPEED = 448                   # pixels per second
START_SPEED = 256
SPEED_STEP = 64                        # every 4th paddle hit, up to MAX_BALL_SPEED
MAX_ROWS = 6
F0, F1 = F32(0.0), F32(1.0)
F2 = F32(2.0)
F60 = F32(60.0)
F620 = F32(620.0)
#: Per-frame paddle move of a full action: 620 px/s at 60 frames/s.
PADDLE_STEP = F620 / F60
#: Push back into the court of a ball found outside it (a frame's move at 1.1x top speed).
NUDGE = F32(F32(MAX_BALL_SPEED) * F32(1.1)) / F60
#: Launch direction, pi / 3.25 from the vertical (a float32 angle, its cosine in float64).
LAUNCH_ANGLE = float(F32(math.pi / 3.25))
LAUNCH_COS = math.cos(LAUNCH_ANGLE)
LAUNCH_SIN = math.sin(LAUNCH_ANGLE)
#: Half the paddle's deflection range, pi / 4 (float32).
BASE_ANGLE = F32(math.pi / 4.0)
#: Largest ball speed per frame along one axis, pixels.
VMAX = MAX_BALL_SPEED / 60.0

#: Collision kinds: a brick index (>= 0) or one of these.
NONE, SIDEWALL, BACKWALL, PADDLE = -4, -3, -2, -1

#: One record per env: random state, counters and the moving parts (pixels, y downward).
ENV_DTYPE = np.dtype([
    ("rng", np.uint64),
    ("tick", np.int32),         # frames since the episode started
    ("steps", np.int32),        # agent steps since the episode started
    ("score", np.int32),
    ("num_balls", np.int32),    # balls left after the one in play
    ("balls_fired", np.int32),  # 0 until the ball of this round is launched
    ("hits", np.int32),         # paddle hits this round
    ("paddle_x", np.float32), ("paddle_w", np.float32),
    ("ball_x", np.float32), ("ball_y", np.float32),
    ("ball_vx", np.float32), ("ball_vy", np.float32),   # pixels per frame
    ("ball_speed", np.float32),                         # pixels per second
], align=True)
#: The configuration, shared by every env of an instance (one record).
CFG_DTYPE = np.dtype([
    ("frameskip", np.int32), ("continuous", np.int32), ("rows", np.int32), ("cols", np.int32),
    ("num_bricks", np.int32), ("half_max_score", np.int32), ("max_score", np.int32),
    ("width", np.float32), ("height", np.float32), ("paddle_width", np.float32),
    ("paddle_height", np.float32), ("paddle_y", np.float32), ("ball_width", np.float32),
    ("ball_height", np.float32), ("half_ball_width", np.float32), ("brick_width", np.float32),
    ("brick_height", np.float32), ("ball_start_y", np.float32), ("max_score_f", np.float32),
], align=True)


@kernel
def row_points(row):
    """Points of a brick in ``row`` (0 = top): 7, 7, 4, 4, 1, 1."""
    return 7 - 3 * (row // 2)


@kernel
def vline(xw, yw, hw, x, y, vx, vy, h, best_t, best_ov):
    """Swept test of a moving vertical edge (at ``x``, spanning ``[y, y + h]``, moving by
    ``(vx, vy)`` per frame) against the wall ``x = xw``, ``y in [yw, yw + hw]``.
    Returns ``(better, t, overlap, y at t)``; ``better``: contact within this frame that
    beats the best so far (earlier, or as early with more overlap)."""
    t = (xw - x) / vx
    y_t = y + vy * t
    overlap = min(yw + hw, y + h + vy * t) - max(yw, y_t)
    better = (overlap > F0 and t >= F0 and t <= F1
              and (t < best_t or (t == best_t and overlap > best_ov)))
    return better, t, overlap, y_t


@kernel
def hline(xw, yw, ww, x, y, vx, vy, wd, best_t, best_ov):
    """The same for a moving horizontal edge against the wall ``y = yw``; returns x at t."""
    t = (yw - y) / vy
    x_t = x + vx * t
    overlap = min(xw + ww, x + wd + vx * t) - max(xw, x_t)
    better = (overlap > F0 and t >= F0 and t <= F1
              and (t < best_t or (t == best_t and overlap > best_ov)))
    return better, t, overlap, x_t


@kernel
def write_observation(w, e):
    env = w.envs[e]
    cfg = w.cfg[0]
    obs = w.observations
    width = cfg["width"]
    height = cfg["height"]
    obs[e, 0] = env["paddle_x"] / width
    obs[e, 1] = cfg["paddle_y"] / height
    obs[e, 2] = env["ball_x"] / width
    obs[e, 3] = env["ball_y"] / height
    obs[e, 4] = env["ball_vx"] / F32(512.0)
    obs[e, 5] = env["ball_vy"] / F32(512.0)
    obs[e, 6] = F32(env["balls_fired"]) / F32(5.0)
    obs[e, 7] = F32(env["score"]) / cfg["max_score_f"]
    obs[e, 8] = F32(env["num_balls"]) / F32(5.0)
    obs[e, 9] = env["paddle_w"] / cfg["paddle_width"]
    bricks = w.bricks
    for i in range(cfg["num_bricks"]):
        obs[e, 10 + i] = bricks[e, i]


@kernel
def reset_round(w, e):
    """A new ball: speed 256, full paddle centred, the ball resting above it until launched."""
    env = w.envs[e]
    cfg = w.cfg[0]
    env["balls_fired"] = 0
    env["hits"] = 0
    env["ball_speed"] = START_SPEED
    pw = cfg["paddle_width"]
    env["paddle_w"] = pw
    px = cfg["width"] / F2 - pw / F2
    env["paddle_x"] = px
    env["ball_x"] = px + (pw / F2 - cfg["half_ball_width"])
    env["ball_y"] = cfg["ball_start_y"]
    env["ball_vx"] = 0.0
    env["ball_vy"] = 0.0


@kernel
def reset_env(w, e):
    """A new episode: score 0, 5 spare balls, every brick intact, a new round."""
    env = w.envs[e]
    cfg = w.cfg[0]
    env["score"] = 0
    env["num_balls"] = 5
    env["tick"] = 0
    env["steps"] = 0
    for i in range(cfg["num_bricks"]):
        w.bricks[e, i] = 0.0
    reset_round(w, e)
    write_observation(w, e)


@kernel
def frame(w, e, act):
    """One frame of env ``e`` with paddle command ``act`` in [-1, 1]; returns the points
    scored (docs/envs/breakout.md, One frame)."""
    env = w.envs[e]
    cfg = w.cfg[0]
    if env["balls_fired"] == 0:
        env["balls_fired"] = 1
        speed = np.float64(env["ball_speed"])
        env["ball_vy"] = LAUNCH_COS * speed / 60.0
        vx = F32(LAUNCH_SIN * speed / 60.0)
        if rand_below(env, 2) == 0:
            vx = -vx
        env["ball_vx"] = vx
    pw = env["paddle_w"]
    px = env["paddle_x"] + act * F620 / F60
    if px <= F0:
        px = max(F0, px)
    else:
        px = min(cfg["width"] - pw, px)
    env["paddle_x"] = px

    # ---- collisions (swept over this frame's motion) ----
    x = env["ball_x"]
    y = env["ball_y"]
    if x < F0:
        x += NUDGE
    if x > cfg["width"]:
        x -= NUDGE
    if y < F0:
        y += NUDGE
    vx = env["ball_vx"]
    vy = env["ball_vy"]
    bw = cfg["ball_width"]
    bh = cfg["ball_height"]
    brw = cfg["brick_width"]
    brh = cfg["brick_height"]
    best_t = F2
    best_ov = -F1
    cx = F0
    cy = F0
    cvx = F0
    cvy = F0
    kind = NONE
    cols = cfg["cols"]
    col_from = max(np.int64(math.floor(min(x + vx, x) / brw)), 0)
    col_to = min(np.int64(math.floor(max(x + bw + vx, x + bw) / brw)), cols - 1)
    row_from = max(np.int64(math.floor((min(y + vy, y) - Y_OFFSET_F) / brh)), 0)
    row_to = min(np.int64(math.floor((max(y + bh + vy, y + bh) - Y_OFFSET_F) / brh)), cfg["rows"] - 1)
    for row in range(row_from, row_to + 1):
        by = F32(row * brh + Y_OFFSET)
        for col in range(col_from, col_to + 1):
            idx = row * cols + col
            if w.bricks[e, idx] != F0:
                continue
            bx = F32(col * brw)
            hit = False
            if vx > F0:
                ok, t, ov, y_t = vline(bx, by, brh, x + bw, y, vx, vy, bh, best_t, best_ov)
                if ok:
                    best_t, best_ov, cx, cy, cvx, cvy, hit = t, ov, bx - bw, y_t, -vx, vy, True
            if vx < F0:
                ok, t, ov, y_t = vline(bx + brw, by, brh, x, y, vx, vy, bh, best_t, best_ov)
                if ok:
                    best_t, best_ov, cx, cy, cvx, cvy, hit = t, ov, bx + brw, y_t, -vx, vy, True
            if vy > F0:
                ok, t, ov, x_t = hline(bx, by, brw, x, y + bh, vx, vy, bw, best_t, best_ov)
                if ok:
                    best_t, best_ov, cx, cy, cvx, cvy, hit = t, ov, x_t, by - bh, vx, -vy, True
            if vy < F0:
                ok, t, ov, x_t = hline(bx, by + brh, brw, x, y, vx, vy, bw, best_t, best_ov)
                if ok:
                    best_t, best_ov, cx, cy, cvx, cvy, hit = t, ov, x_t, by + brh, vx, -vy, True
            if hit:
                kind = idx
    width = cfg["width"]
    height = cfg["height"]
    if vx < F0:
        ok, t, ov, y_t = vline(F0, F0, height, x, y, vx, vy, bh, best_t, best_ov)
        if ok:
            best_t, best_ov, cx, cy, cvx, cvy, kind = t, ov, F0, y_t, -vx, vy, SIDEWALL
    if vx > F0:
        ok, t, ov, y_t = vline(width, F0, height, x + bw, y, vx, vy, bh, best_t, best_ov)
        if ok:
            best_t, best_ov, cx, cy, cvx, cvy, kind = t, ov, width - bw, y_t, -vx, vy, SIDEWALL
    if vy < F0:
        ok, t, ov, x_t = hline(F0, F0, width, x, y, vx, vy, bw, best_t, best_ov)
        if ok:
            best_t, best_ov, cx, cy, cvx, cvy, kind = t, ov, x_t, F0, vx, -vy, BACKWALL
    paddle_y = cfg["paddle_y"]
    points = 0
    if not (y + bh + vy < paddle_y):
        ok, t, ov, x_t = hline(px, paddle_y, pw, x, y + bh, vx, vy, bw, best_t, best_ov)
        if ok:
            kind = PADDLE
            # The paddle sends the ball back at an angle set by where it hits; the ball
            # does not move this frame.
            rel = ((x + cfg["half_ball_width"]) - px) / pw
            angle = -BASE_ANGLE + rel * F2 * BASE_ANGLE
            speed = np.float64(env["ball_speed"])
            vx = F32(math.sin(np.float64(angle)) * speed / 60.0)
            vy = F32(-math.cos(np.float64(angle)) * speed / 60.0)
            hits = env["hits"] + 1
            env["hits"] = hits
            if hits % 4 == 0 and env["ball_speed"] < MAX_BALL_SPEED:
                env["ball_speed"] += SPEED_STEP
            if env["score"] == cfg["half_max_score"]:
                for i in range(cfg["num_bricks"]):
                    w.bricks[e, i] = 0.0
    if kind == NONE:
        x += vx
        y += vy
    elif kind != PADDLE:
        x = cx
        y = cy
        vx = cvx
        vy = cvy
        if kind >= 0:
            row = kind // cols
            points = row_points(row)
            env["score"] += points
            w.bricks[e, kind] = 1.0
            if row < 3:
                env["ball_speed"] = MAX_BALL_SPEED
        elif kind == BACKWALL:
            env["paddle_w"] = cfg["paddle_width"] / F2
    env["ball_x"] = x
    env["ball_y"] = y
    env["ball_vx"] = vx
    env["ball_vy"] = vy
    if y >= paddle_y + cfg["paddle_height"]:
        env["num_balls"] -= 1
        reset_round(w, e)
    return points


@kernel
def step_env(w, e):
    """One agent step of env ``e``: up to ``frameskip`` frames (docs/envs/breakout.md, One step)."""
    env = w.envs[e]
    cfg = w.cfg[0]
    if cfg["continuous"] != 0:
        act = F32(w.actions[e])
    else:
        a = w.actions[e]
        act = F0
        if a == LEFT:
            act = -F1
        elif a == RIGHT:
            act = F1
    env["steps"] += 1
    reward = 0
    ended = False
    for _ in range(cfg["frameskip"]):
        env["tick"] += 1
        reward += frame(w, e, act)
        if env["num_balls"] < 0 or env["score"] == cfg["max_score"]:
            ended = True
            break
    w.rewards[e] = reward
    w.terminals[e] = ended
    w.truncations[e] = False
    if ended:
        lg = w.logs[e]
        score = env["score"]
        lg["perf"] += score / cfg["max_score"]
        lg["score"] += score
        lg["episode_return"] += score
        lg["episode_length"] += env["steps"]
        lg["n"] += 1.0
        reset_env(w, e)
        return
    write_observation(w, e)


class Breakout(OceanEnv):
    """Breakout (``docs/envs/breakout.md``): ``num_envs`` games, one paddle (agent) each.

    Args:
        num_envs: games (= agents), >= 1.
        frameskip: frames per agent step, >= 1.
        width, height: court size in pixels (y grows downward).
        paddle_width, paddle_height: paddle size; the paddle's top is 10 + paddle_height
            pixels above the bottom, and it halves in width after the ball reaches the top wall.
        ball_width, ball_height: ball size, >= 8 pixels (more than a frame's move).
        brick_width, brick_height, brick_rows, brick_cols: the brick wall, from y = 50
            down; at most 6 rows, within the court's width.
        continuous: False: ``Discrete(3)`` (0 stay, 1 left, 2 right, 620 px/s);
            True: ``Box(-1, 1, shape=(), float32)``, one float per agent; the paddle moves
            ``620 * a`` px/s.
        log_interval, num_threads, buf, seed, device, render_mode: as every Ocean env
            (:class:`~pufferlib.ocean.core.OceanEnv`); ``render_mode`` is None,
            ``"rgb_array"`` or ``"ansi"``.

    Spaces: observation ``Box((10 + brick_rows * brick_cols,), float32)``: paddle x / width,
    paddle y / height, ball x / width, ball y / height, ball vx / 512, ball vy / 512 (pixels
    per frame), launched (0 or 0.2), score / largest score, spare balls / 5, paddle width /
    ``paddle_width``, then each brick (0 intact, 1 gone), row by row from the top.
    Rewards float32: the points of the bricks hit during the step (7, 4 or 1 each).
    ``terminals`` after the sixth ball is lost or every brick of both walls is cleared (the
    env resets in the same step); never truncated.

    Log fields (per-episode means): ``perf`` (score / largest score), ``score``,
    ``episode_return`` (equal to the score), ``episode_length`` (steps), ``n``.

    ``state(env_id)``: ``envs``, the env's record (rng, tick (frames), steps, score,
    num_balls, balls_fired, hits, paddle_x, paddle_w, ball_x, ball_y, ball_vx, ball_vy,
    ball_speed); ``bricks``, the env's brick states (float32, 1 = gone); ``cfg``, the
    configuration record shared by all envs.

    Raises:
        APIUsageError: an invalid argument (the message names it).
    """

    WORLD = {"envs": Array(ENV_DTYPE, "num_envs"), "bricks": Array(np.float32, "num_envs", "num_bricks"),
             "cfg": Array(CFG_DTYPE, 1)}
    LOG_FIELDS = ("perf", "score", "episode_return", "episode_length")
    reset_env = reset_env
    step_env = step_env

    @classmethod
    def test_config(cls):
        return {"num_envs": 3}

    def __init__(self, num_envs=1, frameskip=4, width=576, height=330, paddle_width=62, paddle_height=8,
                 ball_width=32, ball_height=32, brick_width=32, brick_height=12, brick_rows=6, brick_cols=18,
                 continuous=False, log_interval=128, num_threads=1, buf=None, seed=0, device="cpu",
                 render_mode=None):
        big = 1 << 15
        self.frameskip = check_int("frameskip", frameskip, 1, 2**31 - 1)
        self.width = check_int("width", width, 1, big)
        self.height = check_int("height", height, 1, big)
        self.paddle_width = check_int("paddle_width", paddle_width, 2, self.width)
        self.paddle_height = check_int("paddle_height", paddle_height, 1, big)
        self.ball_width = check_int("ball_width", ball_width, 8, self.width)
        self.ball_height = check_int("ball_height", ball_height, 8, big)
        self.brick_width = check_int("brick_width", brick_width, 1, big)
        self.brick_height = check_int("brick_height", brick_height, 1, big)
        self.brick_rows = check_int("brick_rows", brick_rows, 1, MAX_ROWS)
        self.brick_cols = check_int("brick_cols", brick_cols, 1, big)
        if self.brick_cols * self.brick_width > self.width:
            raise APIUsageError(f"brick_cols * brick_width must be <= width, got "
                                f"{self.brick_cols} * {self.brick_width} > {self.width}")
        self.paddle_y = self.height - self.paddle_height - 10
        self.ball_start_y = self.height // 2 - 30
        bricks_bottom = Y_OFFSET + self.brick_rows * self.brick_height
        if not (bricks_bottom <= self.ball_start_y and self.ball_start_y + self.ball_height <= self.paddle_y):
            raise APIUsageError(
                f"the ball must start (at y = height // 2 - 30 = {self.ball_start_y}, {self.ball_height} "
                f"high) between the bottom of the bricks (y = {bricks_bottom}) and the paddle "
                f"(y = height - paddle_height - 10 = {self.paddle_y}): raise height")
        self.continuous = check_bool("continuous", continuous)
        self.num_bricks = self.brick_rows * self.brick_cols
        self.half_max_score = self.brick_cols * sum(7 - 3 * (r // 2) for r in range(self.brick_rows))
        self.max_score = 2 * self.half_max_score
        self.single_observation_space = gymnasium.spaces.Box(*self._observation_bounds(), dtype=np.float32)
        self.single_action_space = (gymnasium.spaces.Box(-1.0, 1.0, shape=(), dtype=np.float32)
                                    if self.continuous else gymnasium.spaces.Discrete(3))
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def _observation_bounds(self):
        """Low and high of every observation entry. The ball's speed per frame is at most
        448 / 60 on each axis, and float32 rounding can leave it a hair outside the left,
        top or right wall (it is pushed back at the next frame): a margin of one frame's
        move at top speed plus a pixel covers both."""
        n = 10 + self.num_bricks
        low = np.zeros(n, np.float32)
        high = np.ones(n, np.float32)
        margin = VMAX + 1.0
        low[2] = -margin / self.width
        high[2] = max(1.0, (self.width - self.ball_width + margin) / self.width)
        low[3] = -margin / self.height
        low[4] = low[5] = -margin / 512.0
        high[4] = high[5] = margin / 512.0
        return low, high

    def init_world(self):
        cfg = self.cfg[0]
        for name, value in (("frameskip", self.frameskip), ("continuous", int(self.continuous)),
                            ("rows", self.brick_rows), ("cols", self.brick_cols),
                            ("num_bricks", self.num_bricks), ("half_max_score", self.half_max_score),
                            ("max_score", self.max_score), ("width", self.width), ("height", self.height),
                            ("paddle_width", self.paddle_width), ("paddle_height", self.paddle_height),
                            ("paddle_y", self.paddle_y), ("ball_width", self.ball_width),
                            ("ball_height", self.ball_height), ("half_ball_width", self.ball_width // 2),
                            ("brick_width", self.brick_width), ("brick_height", self.brick_height),
                            ("ball_start_y", self.ball_start_y), ("max_score_f", self.max_score)):
            cfg[name] = value

    ROW_RGB = np.array([[230, 60, 60], [240, 150, 50], [240, 220, 60], [90, 200, 90], [100, 190, 240],
                        [60, 100, 220]], np.uint8)

    def render_rgb(self, state):
        """``(height, width, 3)`` uint8: the bricks left (red, orange, yellow, green, sky blue,
        blue from the top row), the paddle (white) and the ball (grey)."""
        rec = state["envs"]
        frame = np.full((self.height, self.width, 3), 16, np.uint8)
        bricks = state["bricks"].reshape(self.brick_rows, self.brick_cols)
        for r in range(self.brick_rows):
            y0 = Y_OFFSET + r * self.brick_height
            for c in range(self.brick_cols):
                if bricks[r, c] == 0:
                    x0 = c * self.brick_width
                    frame[y0 + 1:y0 + self.brick_height - 1, x0 + 1:x0 + self.brick_width - 1] = self.ROW_RGB[r]

        def fill(x0, y0, w, h, colour):
            r0, c0 = int(round(y0)), int(round(x0))
            frame[max(0, r0):max(0, min(self.height, r0 + h)), max(0, c0):max(0, min(self.width, c0 + w))] = colour

        fill(float(rec["paddle_x"]), self.paddle_y, int(round(float(rec["paddle_w"]))), self.paddle_height,
             (235, 235, 235))
        fill(float(rec["ball_x"]), float(rec["ball_y"]), self.ball_width, self.ball_height, (170, 170, 170))
        return frame

    def render_ansi(self, state):
        """The court in 16 x 15-pixel cells (``#`` brick, ``=`` paddle, ``o`` ball), then the
        score, the spare balls and the step."""
        rec = state["envs"]
        cw, ch = 16, 15
        cols, rows = -(-self.width // cw), -(-self.height // ch)
        grid = [[" "] * cols for _ in range(rows)]

        def mark(x0, y0, w, h, char):
            for r in range(max(0, int(y0 // ch)), min(rows, int(-(-(y0 + h) // ch)))):
                for c in range(max(0, int(x0 // cw)), min(cols, int(-(-(x0 + w) // cw)))):
                    grid[r][c] = char

        bricks = state["bricks"].reshape(self.brick_rows, self.brick_cols)
        for r in range(self.brick_rows):
            for c in range(self.brick_cols):
                if bricks[r, c] == 0:
                    mark(c * self.brick_width, Y_OFFSET + r * self.brick_height, self.brick_width,
                         self.brick_height, "#")
        mark(float(rec["paddle_x"]), self.paddle_y, float(rec["paddle_w"]), self.paddle_height, "=")
        mark(float(rec["ball_x"]), float(rec["ball_y"]), self.ball_width, self.ball_height, "o")
        border = "+" + "-" * cols + "+"
        lines = [border] + ["|" + "".join(row) + "|" for row in grid] + [border]
        lines.append(f"score {int(rec['score'])}  spare balls {int(rec['num_balls'])}  step {int(rec['steps'])}")
        return "\n".join(lines)
