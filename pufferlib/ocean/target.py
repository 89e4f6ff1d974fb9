"""Target: puffers steer a heading and a speed to collect stars on a field (``docs/envs/target.md``).

Each env is a ``width x height`` field (float coordinates, in pixels) with ``num_agents``
agents and ``num_goals`` goals. An agent turns its heading and changes its speed every
step, moves by ``speed * (cos, sin)(heading)``, is kept on the field, and collects a goal
it comes within 32 pixels of (reward 1; the goal moves to a random spot). The task never
ends; "episodes" exist only in the logs, one per collected goal. A port of PufferLib 3.0's
``ocean/target`` (https://github.com/PufferAI/PufferLib).

Arithmetic is float32 as in the C, written so that the CPU and the GPU compute the same
bits: sines and cosines come from our own float32 polynomials (``sincos``; the C calls
``sinf``/``cosf``, which differ from one math library to another in the last bit), and
every product that meets an addition is exact or rounded on its own (``mul``), so no
compiler can fuse it into a multiply-add. Observations of relative positions are computed
as ``gx / width - x / width`` (the same value as the C's ``(gx - x) / width`` up to float32
rounding), from positions divided by the field size once per step instead of once per
pair. The collection test compares the squared distance, computed in float64 from the
float32 differences, with 32**2 (the C compares the square root of the float32 sum with 32).

Differences from the C reference, on purpose:

- ``reset()`` sets every agent's heading and speed to 0. The C reset draws new positions
  but keeps heading and speed from before, so a reset with the same seed could start
  differently depending on what came before.
- the observation space is ``Box(-1, 1, (2*(num_agents + num_goals) + 4,), float32)``,
  the range of the values really observed (the C declares ``[0, 1]``, but relative
  positions are signed).
- ``truncations`` and ``terminals`` are written every step (always False: the task has no
  end); the C never writes them.
- actions outside ``[0, 9) x [0, 5)`` raise ``APIUsageError`` (the C uses any int).
- every env draws from its own generator, seeded ``seed + e``; the C's wrapper creates
  every env with the same seed. The C's unused ``size`` argument is not taken.
"""
from __future__ import annotations

import math

import gymnasium
import numpy as np

from pufferlib.ocean.core import Array, OceanEnv, check_int, kernel, rand_below

TWO_PI = np.float32(2 * math.pi)
MAX_SPEED = np.float32(20.0)
COLLECT_RADIUS_SQ = 32.0 * 32.0
#: An agent that goes this many ticks without a reward is moved to a random spot.
TELEPORT_TICKS = 512   # a power of two (the step tests it with a mask)
TURNS, THROTTLES = 9, 5

#: One record per env: random state, tick, and the configuration.
ENV_DTYPE = np.dtype([("rng", np.uint64), ("tick", np.int32), ("width", np.int32), ("height", np.int32),
                      ("num_agents", np.int32), ("num_goals", np.int32),
                      ("widthf", np.float32), ("heightf", np.float32),
                      ("inv_width", np.float64), ("inv_height", np.float64)], align=True)


@kernel
def clip(v, lo, hi):
    """``v`` limited to ``[lo, hi]``."""
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


@kernel
def mul(a, b):
    """``a * b`` for float32 ``a``, ``b``, rounded once to float32, in a form no compiler
    fuses with a following addition: the float64 product is exact, and the ``+ 0.0`` keeps
    it in float64 (a bare ``float32(float64(a) * float64(b))`` is narrowed back to a float32
    multiply, which the GPU compiler then fuses into a multiply-add)."""
    return np.float32(np.float64(a) * np.float64(b) + 0.0)


# sin and cos of a heading in [0, 2 pi], in float32: a Cody-Waite reduction by pi/2, then
# the float32 polynomials of Cephes' sinf/cosf (S. Moshier). Every product that meets an
# addition is exact or formed by mul(), so no fused multiply-add can change a result: the
# CPU and the GPU give the same bits. Accuracy ~1.5 ulp, as sinf/cosf. The quadrant comes
# from comparisons, not a rounded product: a short dependency chain (this runs once per
# agent per step and dominated the step when it went through a float64 cos and sin).
PIO2_1 = np.float32(1.570796012878418)       # pi/2 in three 21-bit parts: k * PIO2_i is
PIO2_2 = np.float32(3.139164164167596e-07)   # exact in float32 for k <= 4
PIO2_3 = np.float32(6.223369259164557e-14)
QUADRANT_1 = np.float32(0.7853982)           # (k - 1/2) pi/2, k = 1..4, rounded
QUADRANT_2 = np.float32(2.3561945)
QUADRANT_3 = np.float32(3.9269907)
QUADRANT_4 = np.float32(5.497787)
S1, S2, S3 = np.float32(-1.9515295891e-4), np.float32(8.3321608736e-3), np.float32(-1.6666654611e-1)
C1, C2, C3 = np.float32(2.443315711809948e-5), np.float32(-1.388731625493765e-3), np.float32(4.166664568298827e-2)
HALF, ONE = np.float32(0.5), np.float32(1.0)


@kernel
def sincos(h):
    """``(sin(h), cos(h))`` as float32 for a float32 ``h`` in ``[0, 2 pi]``."""
    k = (np.int32(h > QUADRANT_1) + np.int32(h > QUADRANT_2) + np.int32(h > QUADRANT_3)
         + np.int32(h > QUADRANT_4))                      # nearest multiple of pi/2
    kf = np.float32(k)
    r = ((h - kf * PIO2_1) - kf * PIO2_2) - kf * PIO2_3   # h - k pi/2, |r| <= pi/4 (+1 ulp)
    z = mul(r, r)
    sin_r = r + mul(mul(r, z), mul(z, mul(z, S1) + S2) + S3)
    cos_r = ONE - mul(HALF, z) + mul(mul(z, z), mul(z, mul(z, C1) + C2) + C3)
    # Quadrant k: (sin, cos)(r + k pi/2) is (s, c), (c, -s), (-s, -c), (-c, s); selected
    # without branches (headings differ from agent to agent: branches mispredict).
    odd = (k & 1) == 1
    sin_h = cos_r if odd else sin_r
    cos_h = sin_r if odd else cos_r
    sin_h = -sin_h if (k & 2) != 0 else sin_h
    cos_h = -cos_h if ((k + 1) & 2) != 0 else cos_h
    return sin_h, cos_h


@kernel
def ratio(v, inv):
    """``v / d`` for a float32 ``v`` and an integer ``d <= 2**16`` given as ``inv = 1.0 / d``
    (float64): the same float32 as the division (the float64 product lies closer to the
    quotient than any float32 rounding boundary does), at the cost of a multiplication."""
    return np.float32(np.float64(v) * inv)


@kernel
def random_spot(env):
    """A uniform integer position ``(x, y)`` on the field, as float32."""
    x = np.float32(rand_below(env, env["width"]))
    y = np.float32(rand_below(env, env["height"]))
    return x, y


@kernel
def normalise(w, e):
    """Scratch for the observations of env ``e``: the positions of its agents and goals
    divided by the field size, as flat rows ``(x0, y0, x1, y1, ...)``."""
    env = w.envs[e]
    n = np.uint32(env["num_agents"])
    inv_w = env["inv_width"]
    inv_h = env["inv_height"]
    lo = e * n
    for s in range(n):
        w.agent_norm[e, 2 * s] = ratio(w.x[lo + s], inv_w)
        w.agent_norm[e, 2 * s + 1] = ratio(w.y[lo + s], inv_h)
    for g in range(np.uint32(env["num_goals"])):
        w.goal_norm[e, 2 * g] = ratio(w.goals[e, g, 0], inv_w)
        w.goal_norm[e, 2 * g + 1] = ratio(w.goals[e, g, 1], inv_h)


@kernel
def reset_env(w, e):
    """Every agent at a random integer spot, heading and speed 0; every goal at a random spot."""
    env = w.envs[e]
    env["tick"] = 0
    n = env["num_agents"]
    for i in range(e * n, (e + 1) * n):
        x, y = random_spot(env)
        w.x[i] = x
        w.y[i] = y
        w.heading[i] = 0.0
        w.speed[i] = 0.0
        w.ticks_since_reward[i] = 0
    for g in range(env["num_goals"]):
        x, y = random_spot(env)
        w.goals[e, g, 0] = x
        w.goals[e, g, 1] = y
    normalise(w, e)


@kernel
def collect(w, e, lo, hi):
    """Agents ``lo..hi-1`` of env ``e`` in order, each goal in order: a goal within 32 px
    is collected (reward 1, logged) and moves to a random spot."""
    env = w.envs[e]
    lg = w.logs[e]
    for i in range(lo, hi):
        x = w.x[i]
        y = w.y[i]
        for g in range(env["num_goals"]):
            dx = np.float64(w.goals[e, g, 0] - x)
            dy = np.float64(w.goals[e, g, 1] - y)
            if dx * dx + dy * dy > COLLECT_RADIUS_SQ:
                continue
            gx, gy = random_spot(env)
            w.goals[e, g, 0] = gx
            w.goals[e, g, 1] = gy
            w.rewards[i] = 1.0
            lg["perf"] += 1.0
            lg["score"] += 1.0
            lg["episode_return"] += 1.0
            lg["episode_length"] += w.ticks_since_reward[i]
            lg["n"] += 1.0
            w.ticks_since_reward[i] = 0


@kernel
def step_env(w, e):
    """Move every agent, then collect goals (docs/envs/target.md, One step)."""
    env = w.envs[e]
    env["tick"] += 1
    n = np.uint32(env["num_agents"])
    width = env["widthf"]
    height = env["heightf"]
    lo = e * n
    hi = lo + n
    # Short branch-free loops over one array per quantity, with unsigned indices (no
    # negative-index wrap-around): the compiler vectorises them. (One loop doing all of
    # it measured ~25% slower per step.)
    for i in range(lo, hi):
        w.rewards[i] = 0.0
        w.terminals[i] = False
        w.truncations[i] = False
        turn = (np.float32(w.actions[i, 0]) - np.float32(4.0)) / np.float32(12.0)
        w.heading[i] = clip(w.heading[i] + turn, np.float32(0.0), TWO_PI)
        w.speed[i] = clip(w.speed[i] + np.float32(w.actions[i, 1] - 2), -MAX_SPEED, MAX_SPEED)
    for i in range(lo, hi):
        w.sin_heading[i], w.cos_heading[i] = sincos(w.heading[i])
    for i in range(lo, hi):
        w.x[i] = clip(w.x[i] + mul(w.speed[i], w.cos_heading[i]), np.float32(0.0), width)
        w.y[i] = clip(w.y[i] + mul(w.speed[i], w.sin_heading[i]), np.float32(0.0), height)
    for i in range(lo, hi):
        ticks = w.ticks_since_reward[i] + 1
        w.ticks_since_reward[i] = ticks
        if ticks & (TELEPORT_TICKS - 1) == 0:   # ticks % 512, ticks > 0
            x, y = random_spot(env)
            w.x[i] = x
            w.y[i] = y
    # Goal collection. Usually no agent is within reach of a goal: a branch-free test of
    # every pair first, then the ordered pass only if some pair is within reach.
    ng = np.uint32(env["num_goals"])
    near = False
    for g in range(ng):
        gx = w.goals[e, g, 0]
        gy = w.goals[e, g, 1]
        for i in range(lo, hi):
            dx = np.float64(gx - w.x[i])
            dy = np.float64(gy - w.y[i])
            near |= dx * dx + dy * dy <= COLLECT_RADIUS_SQ
    if near:
        collect(w, e, lo, hi)
    normalise(w, e)


@kernel
def observe_agent(w, e, s):
    """Agent ``s`` of env ``e``: goals and agents relative to it, heading, reward, position."""
    env = w.envs[e]
    n2 = np.uint32(2 * env["num_agents"])
    g2 = np.uint32(2 * env["num_goals"])
    a = e * np.uint32(env["num_agents"]) + s
    obs = w.observations
    px = w.agent_norm[e, 2 * s]
    py = w.agent_norm[e, 2 * s + 1]
    # Flat loops over (x, y) pairs: x - px at even offsets, y - py at odd ones.
    for t in range(g2):
        obs[a, t] = w.goal_norm[e, t] - (py if t & 1 else px)
    for t in range(n2):
        obs[a, g2 + t] = w.agent_norm[e, t] - (py if t & 1 else px)
    k = g2 + n2
    obs[a, k] = w.heading[a] / TWO_PI
    obs[a, k + 1] = w.rewards[a]
    obs[a, k + 2] = px
    obs[a, k + 3] = py


class Target(OceanEnv):
    """Target (``docs/envs/target.md``): ``num_envs`` fields of ``num_agents`` agents chasing
    ``num_goals`` goals each.

    Args:
        num_envs: fields, >= 1. Agents in all: ``num_envs * num_agents``; agent
            ``e * num_agents + s`` is agent ``s`` of field ``e``.
        width, height: field size in pixels, each in [1, 65536] (default 1080 x 720).
        num_agents: agents per field, >= 1 (default 8; ``env.num_agents`` is the total,
            ``env.agents_per_env`` this value, as in PufferLib).
        num_goals: goals per field, >= 1 (default 4).
        log_interval: ``step`` reports logs every this many calls (default 128).
        num_threads: CPU threads stepping envs in parallel (process-wide Numba setting;
            parallel only when ``num_envs >= 2``).
        buf: buffers from a vectorizer (see :func:`pufferlib.set_buffers`), or None.
        seed: default seed; env ``i`` is seeded with ``seed + i``.
        device: ``"cpu"`` or ``"cuda"``.
        render_mode: None, ``"rgb_array"`` or ``"ansi"`` (see :meth:`render`).

    Spaces: observation ``Box(-1, 1, (2*(num_agents + num_goals) + 4,), float32)`` (28 by
    default): for each goal ``(gx / width - x / width, gy / height - y / height)``, then the
    same for each agent of the field, itself included (0, 0), then ``heading / (2 pi)``, the reward
    of this step, ``x / width``, ``y / height``. Action ``MultiDiscrete([9, 5])``: turn
    ``(a0 - 4) / 12`` rad, then speed change ``a1 - 2`` px per step.
    Rewards float32: 1 on a step in which the agent collects at least one goal, else 0.
    Never terminal or truncated: the task has no end.

    Log fields (per collected goal): ``perf``, ``score`` and ``episode_return`` (1 each),
    ``episode_length`` (the collector's steps since its previous collection or since
    reset), ``n`` (goals collected).

    ``state(env_id)``: ``envs`` (0-d record: rng, tick and the configuration); per agent of
    the field, ``(num_agents,)`` arrays ``x``, ``y``, ``heading``, ``speed`` (float32) and
    ``ticks_since_reward`` (int32); ``goals`` (``(num_goals, 2)`` float32: x, y).

    Raises:
        APIUsageError: invalid configuration (the message names the parameter).
    """

    WORLD = {
        "envs": Array(ENV_DTYPE, "num_envs"),
        # Per agent, one array per quantity (vectorised loops).
        "x": Array(np.float32, "num_agents"),
        "y": Array(np.float32, "num_agents"),
        "heading": Array(np.float32, "num_agents"),
        "speed": Array(np.float32, "num_agents"),
        "ticks_since_reward": Array(np.int32, "num_agents"),
        "goals": Array(np.float32, "num_envs", "num_goals", 2),
        "sin_heading": Array(np.float32, "num_agents"),
        "cos_heading": Array(np.float32, "num_agents"),
        # Scratch for the observations: positions divided by the field size.
        "agent_norm": Array(np.float32, "num_envs", "agent_coords"),
        "goal_norm": Array(np.float32, "num_envs", "goal_coords"),
    }
    LOG_FIELDS = ("perf", "score", "episode_return", "episode_length")
    STATE = ("envs", "x", "y", "heading", "speed", "ticks_since_reward", "goals")
    reset_env = reset_env
    step_env = step_env
    observe_agent = observe_agent

    @classmethod
    def test_config(cls):
        return {"num_envs": 2, "num_agents": 3, "num_goals": 2, "width": 96, "height": 64}

    def __init__(self, num_envs=1, width=1080, height=720, num_agents=8, num_goals=4, log_interval=128,
                 num_threads=1, buf=None, seed=0, device="cpu", render_mode=None):
        self.width = check_int("width", width, 1, 65536)
        self.height = check_int("height", height, 1, 65536)
        per_env = check_int("num_agents", num_agents, 1, 2**20)
        self.num_goals = check_int("num_goals", num_goals, 1, 2**20)
        self.agent_coords = 2 * per_env      # scratch row lengths (x, y pairs)
        self.goal_coords = 2 * self.num_goals
        obs_size = 2 * (per_env + self.num_goals) + 4
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 1.0, (obs_size,), np.float32)
        self.single_action_space = gymnasium.spaces.MultiDiscrete([TURNS, THROTTLES])
        super().__init__(num_envs=num_envs, agents_per_env=per_env, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def init_world(self):
        self.envs["width"] = self.width
        self.envs["height"] = self.height
        self.envs["widthf"] = self.width
        self.envs["heightf"] = self.height
        self.envs["inv_width"] = 1.0 / self.width
        self.envs["inv_height"] = 1.0 / self.height
        self.envs["num_agents"] = self.agents_per_env
        self.envs["num_goals"] = self.num_goals

    def _scale(self):
        return min(1.0, 540.0 / max(self.width, self.height))

    def render_rgb(self, state):
        """Env 0's field, scaled to at most 540 px on its long side: goals as yellow discs
        of the 32 px collection radius, agents as blue dots (agent 0 white) with a line
        along their heading, on a dark background."""
        k = self._scale()
        h, wd = max(1, round(self.height * k)), max(1, round(self.width * k))
        frame = np.empty((h, wd, 3), np.uint8)
        frame[:] = (6, 24, 24)
        yy, xx = np.mgrid[0:h, 0:wd]

        def disc(cx, cy, radius, colour):
            r = max(1.0, radius * k)
            x0, x1 = int(max(0, cx * k - r)), int(min(wd, cx * k + r + 1))
            y0, y1 = int(max(0, cy * k - r)), int(min(h, cy * k + r + 1))
            sub = (xx[y0:y1, x0:x1] - cx * k) ** 2 + (yy[y0:y1, x0:x1] - cy * k) ** 2 <= r * r
            frame[y0:y1, x0:x1][sub] = colour

        for gx, gy in state["goals"]:
            disc(float(gx), float(gy), 32.0, (230, 200, 60))
        for s in range(len(state["heading"])):
            x, y, heading = float(state["x"][s]), float(state["y"][s]), float(state["heading"][s])
            colour = (245, 245, 245) if s == 0 else (80, 150, 240)
            t = np.linspace(0.0, 24.0, 25)
            cols = np.clip(np.round((x + t * math.cos(heading)) * k).astype(int), 0, wd - 1)
            rows = np.clip(np.round((y + t * math.sin(heading)) * k).astype(int), 0, h - 1)
            frame[rows, cols] = colour
            disc(x, y, 10.0, colour)
        return frame

    def render_ansi(self, state):
        """Env 0's field on a 64 x 20 character grid (``*`` goals, ``0``-``9`` agents 0..9,
        ``@`` higher ones), then one line per agent (at most 8): position, heading, speed."""
        cols, rows = 64, 20
        grid = [[" "] * cols for _ in range(rows)]

        def cell(x, y):
            return (min(rows - 1, int(y / self.height * rows)), min(cols - 1, int(x / self.width * cols)))

        for gx, gy in state["goals"]:
            r, c = cell(float(gx), float(gy))
            grid[r][c] = "*"
        xs, ys = state["x"], state["y"]
        for s in range(len(xs)):
            r, c = cell(float(xs[s]), float(ys[s]))
            grid[r][c] = str(s) if s < 10 else "@"
        lines = ["+" + "-" * cols + "+"] + ["|" + "".join(row) + "|" for row in grid] + ["+" + "-" * cols + "+"]
        lines.append(f"tick {int(state['envs']['tick'])}")
        for s in range(min(8, len(xs))):
            lines.append(f"agent {s}: x={float(xs[s]):7.1f} y={float(ys[s]):7.1f} "
                         f"heading={float(state['heading'][s]):.3f} speed={float(state['speed'][s]):+.0f}")
        return "\n".join(lines)
