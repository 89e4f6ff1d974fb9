"""Snake: many snakes per shared grid eat food and corpses (``docs/envs/snake.md``).

Each env is one ``height x width`` int8 grid shared by ``num_snakes`` snakes, walled
``vision`` cells deep. Snakes move in index order (later snakes see earlier moves),
die on walls or bodies, leave every other segment as an edible corpse and respawn at
once. Observations are the ``(2*vision+1)^2`` window around each head.

Differences from the C reference (PufferLib 3.0 ``ocean/snake``), on purpose:

- ``terminals[i]`` is set on the step a snake dies (its episode ends: that is when the
  log counts it); the C env never writes terminals. Truncations are written (always False:
  there is no step limit).
- ``reset()`` clears the whole grid before respawning snakes and food, so a reset gives
  the same world for the same seed whatever happened before (the C reset keeps old food
  and corpses and adds ``num_food`` more).
- The observation space declares ``high=7`` (the values really observed); the C
  declares 2.
- Actions outside ``[0, 4)`` raise ``APIUsageError`` (the C treats them as "no move",
  which kills the snake).
- Spawning draws random cells as the C does; after 1024 rejected draws it scans the
  grid for a free cell, and a food item that finds none is not placed (the C loops
  forever on a full grid).
"""
from __future__ import annotations

import gymnasium
import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.ocean.core import Array, OceanEnv, check_float, check_int, kernel, rand_below

EMPTY, FOOD, CORPSE, WALL = 0, 1, 2, 3
NUM_ACTIONS = 4  # up, down, left, right
SPAWN_TRIES = 1024
#: Colours of the cell codes 0..7 in ``render_mode='rgb_array'``.
RGB = np.array([[0, 0, 0], [60, 200, 80], [150, 100, 50], [110, 110, 120],
                [230, 90, 80], [80, 150, 240], [240, 200, 70], [255, 255, 255]], np.uint8)

#: One record per env: RNG, tick and the env's configuration.
ENV_DTYPE = np.dtype([
    ("rng", np.uint64), ("tick", np.int32), ("width", np.int32), ("height", np.int32),
    ("vision", np.int32), ("num_snakes", np.int32), ("num_food", np.int32), ("max_len", np.int32),
    ("leave_corpse", np.int32), ("reward_food", np.float32), ("reward_corpse", np.float32),
    ("reward_death", np.float32)], align=True)
#: One record per snake; the body is a ring buffer in ``bodies[env, snake, max_len, 2]``.
SNAKE_DTYPE = np.dtype([
    ("head_r", np.int32), ("head_c", np.int32), ("head_ptr", np.int32), ("length", np.int32),
    ("color", np.int32), ("ep_length", np.int32), ("ep_return", np.float32)], align=True)


@kernel
def spawn_cell(w, e):
    """A random EMPTY or CORPSE cell of env ``e`` as ``(row, col)``; ``(-1, -1)`` if none."""
    env = w.envs[e]
    grid = w.grid
    h = env["height"]
    wd = env["width"]
    for _ in range(SPAWN_TRIES):
        r = rand_below(env, h - 1)
        c = rand_below(env, wd - 1)
        t = grid[e, r, c]
        if t == EMPTY or t == CORPSE:
            return r, c
    start = rand_below(env, h * wd)
    for k in range(h * wd):
        cell = (start + k) % (h * wd)
        r = cell // wd
        c = cell - r * wd
        t = grid[e, r, c]
        if t == EMPTY or t == CORPSE:
            return r, c
    return -1, -1


@kernel
def spawn_food(w, e):
    """Put one FOOD on a random free cell of env ``e`` (none if the grid is full)."""
    r, c = spawn_cell(w, e)
    if r >= 0:
        w.grid[e, r, c] = FOOD


@kernel
def respawn(w, e, s):
    """Delete snake ``s``'s body (corpse rule) and place it, length 1, on a free cell."""
    env = w.envs[e]
    sn = w.snakes[e, s]
    bodies = w.bodies
    grid = w.grid
    max_len = env["max_len"]
    length = sn["length"]
    ptr = sn["head_ptr"]
    leave = env["leave_corpse"] != 0
    for k in range(length):
        idx = ptr - k
        if idx < 0:
            idx += max_len
        r = bodies[e, s, idx, 0]
        c = bodies[e, s, idx, 1]
        if leave and (length - k) % 2 == 0:
            grid[e, r, c] = CORPSE
        else:
            grid[e, r, c] = EMPTY
        bodies[e, s, idx, 0] = -1
        bodies[e, s, idx, 1] = -1
    r, c = spawn_cell(w, e)
    bodies[e, s, 0, 0] = r
    bodies[e, s, 0, 1] = c
    sn["head_r"] = r
    sn["head_c"] = c
    sn["head_ptr"] = 0
    sn["length"] = 1
    sn["ep_length"] = 0
    sn["ep_return"] = 0.0
    grid[e, r, c] = sn["color"]


@kernel
def reset_env(w, e):
    """Fresh world for env ``e``: walls, every snake respawned in index order, food."""
    env = w.envs[e]
    h = env["height"]
    wd = env["width"]
    v = env["vision"]
    env["tick"] = 0
    for r in range(h):
        for c in range(wd):
            if r < v or r >= h - v or c < v or c >= wd - v:
                w.grid[e, r, c] = WALL
            else:
                w.grid[e, r, c] = EMPTY
    for s in range(env["num_snakes"]):
        for k in range(env["max_len"]):
            w.bodies[e, s, k, 0] = -1
            w.bodies[e, s, k, 1] = -1
        sn = w.snakes[e, s]
        sn["length"] = 0
        sn["head_ptr"] = 0
        sn["color"] = 7 if s == 0 else (s % 4) + 4
        respawn(w, e, s)
    for _ in range(env["num_food"]):
        spawn_food(w, e)


@kernel
def step_env(w, e):
    """Move every snake of env ``e`` in index order (docs/envs/snake.md, Step)."""
    env = w.envs[e]
    bodies = w.bodies
    grid = w.grid
    env["tick"] += 1
    ns = env["num_snakes"]
    max_len = env["max_len"]
    for s in range(ns):
        agent = e * ns + s
        sn = w.snakes[e, s]
        sn["ep_length"] += 1
        w.terminals[agent] = False
        w.truncations[agent] = False
        a = w.actions[agent]
        dr = 0
        dc = 0
        if a == 0:
            dr = -1
        elif a == 1:
            dr = 1
        elif a == 2:
            dc = -1
        else:
            dc = 1
        hr = sn["head_r"]
        hc = sn["head_c"]
        ptr = sn["head_ptr"]
        nr = hr + dr
        nc = hc + dc
        neck = ptr - 1
        if neck < 0:
            neck += max_len
        if bodies[e, s, neck, 0] == nr and bodies[e, s, neck, 1] == nc:
            nr = hr - dr
            nc = hc - dc
        tile = grid[e, nr, nc]
        if tile >= WALL:
            reward = env["reward_death"]
            w.rewards[agent] = reward
            w.terminals[agent] = True
            length = sn["length"]
            lg = w.logs[e]
            lg["episode_return"] += sn["ep_return"] + reward
            lg["episode_length"] += sn["ep_length"]
            lg["score"] += length
            lg["perf"] += length / sn["ep_length"]
            lg["n"] += 1.0
            respawn(w, e, s)
            continue
        ptr += 1
        if ptr == max_len:
            ptr = 0
        bodies[e, s, ptr, 0] = nr
        bodies[e, s, ptr, 1] = nc
        sn["head_ptr"] = ptr
        sn["head_r"] = nr
        sn["head_c"] = nc
        grow = False
        if tile == FOOD:
            w.rewards[agent] = env["reward_food"]
            sn["ep_return"] += env["reward_food"]
            spawn_food(w, e)
            grow = True
        elif tile == CORPSE:
            w.rewards[agent] = env["reward_corpse"]
            sn["ep_return"] += env["reward_corpse"]
            grow = True
        else:
            w.rewards[agent] = 0.0
        length = sn["length"]
        if grow and length < max_len - 1:
            sn["length"] = length + 1
        else:
            tail = ptr - length
            if tail < 0:
                tail += max_len
            grid[e, bodies[e, s, tail, 0], bodies[e, s, tail, 1]] = EMPTY
            bodies[e, s, tail, 0] = -1
            bodies[e, s, tail, 1] = -1
        grid[e, nr, nc] = sn["color"]


@kernel
def observe_agent(w, e, s):
    """Write snake ``s`` of env ``e``'s egocentric window into its observation row."""
    env = w.envs[e]
    v = env["vision"]
    agent = e * env["num_snakes"] + s
    sn = w.snakes[e, s]
    r0 = sn["head_r"] - v
    c0 = sn["head_c"] - v
    for i in range(2 * v + 1):
        for j in range(2 * v + 1):
            w.observations[agent, i, j] = w.grid[e, r0 + i, c0 + j]


class Snake(OceanEnv):
    """Snake (``docs/envs/snake.md``): ``num_envs`` grids of ``num_snakes`` snakes each.

    Args:
        num_envs: grids, >= 1. Agents = ``num_envs * num_snakes``, agent ``e*num_snakes + s``
            is snake ``s`` of env ``e``.
        width, height: grid columns and rows, each >= ``2*vision + 2`` (cells).
        num_snakes: snakes per grid, >= 1.
        num_food: food items per grid, kept constant (each eaten one respawns), >= 0.
        vision: view radius and wall thickness, in [1, 60]; observations are
            ``(2*vision+1, 2*vision+1)``.
        leave_corpse_on_death: every other segment of a dead snake becomes edible CORPSE.
        reward_food, reward_corpse, reward_death: rewards for eating food, eating a corpse, dying.
        max_snake_length: ring-buffer capacity, >= 2; capped at ``width*height`` (default 1024).
        log_interval: ``step`` reports logs every this many calls.
        num_threads: CPU threads (process-wide Numba setting); parallel when > 1 and num_envs >= 2.
        buf: buffers from a vectorizer (see :func:`pufferlib.set_buffers`), or None.
        seed: default seed; env ``e`` is seeded with ``seed + e``.
        device: ``"cpu"`` or ``"cuda"``.
        render_mode: None, ``"rgb_array"`` or ``"ansi"`` (see :meth:`render`).

    Spaces: observation ``Box(0, 7, (2v+1, 2v+1), int8)`` with cell codes 0 empty, 1 food,
    2 corpse, 3 wall, 4..7 snake bodies (snake 0: 7, snake s>=1: s%4+4), head at the centre;
    action ``Discrete(4)``: up (row-1), down, left (col-1), right.
    Rewards float32 (assigned each step): ``reward_death`` on death, ``reward_food`` /
    ``reward_corpse`` when eating, else 0.

    Log fields (means per death): ``perf`` (length / steps lived), ``score`` (length at
    death), ``episode_return``, ``episode_length``, and ``n`` (deaths).

    ``state(env_id)``: ``envs`` (0-d record: rng, tick and the config); ``grid`` (height,
    width) int8; ``snakes`` (num_snakes,) records with ``head_r, head_c, head_ptr, length,
    color, ep_length, ep_return``; ``bodies`` (num_snakes, max_snake_length, 2) int16 ring
    buffers of (row, col), free slots -1.

    Raises:
        APIUsageError: invalid configuration (the message names the parameter).
    """

    WORLD = {
        "envs": Array(ENV_DTYPE, "num_envs"),
        "snakes": Array(SNAKE_DTYPE, "num_envs", "num_snakes"),
        "bodies": Array(np.int16, "num_envs", "num_snakes", "max_snake_length", 2, fill=-1),
        "grid": Array(np.int8, "num_envs", "height", "width"),
    }
    LOG_FIELDS = ("perf", "score", "episode_return", "episode_length")
    reset_env = reset_env
    step_env = step_env
    observe_agent = observe_agent

    @classmethod
    def test_config(cls):
        return {"num_envs": 2, "width": 24, "height": 20, "num_snakes": 5, "num_food": 20, "vision": 3,
                "max_snake_length": 16}

    def __init__(self, num_envs=16, width=640, height=360, num_snakes=256, num_food=4096, vision=5,
                 leave_corpse_on_death=True, reward_food=0.1, reward_corpse=0.1, reward_death=-1.0,
                 max_snake_length=1024, log_interval=128, num_threads=1, buf=None, seed=0, device="cpu",
                 render_mode=None):
        self.vision = check_int("vision", vision, 1, 60)
        min_side = 2 * self.vision + 2
        self.width = check_int("width", width, min_side, 32000)
        self.height = check_int("height", height, min_side, 32000)
        self.num_snakes = check_int("num_snakes", num_snakes, 1)
        self.num_food = check_int("num_food", num_food, 0)
        interior = (self.width - 2 * self.vision) * (self.height - 2 * self.vision)
        if self.num_snakes + self.num_food > interior:
            raise APIUsageError(
                f"num_snakes + num_food = {self.num_snakes + self.num_food} do not fit in the "
                f"{interior} free cells of a {self.width}x{self.height} grid with vision {self.vision}")
        self.max_snake_length = min(check_int("max_snake_length", max_snake_length, 2),
                                    self.width * self.height)
        self.leave_corpse_on_death = bool(leave_corpse_on_death)
        self.rewards_config = {k: check_float(k, v) for k, v in (
            ("reward_food", reward_food), ("reward_corpse", reward_corpse), ("reward_death", reward_death))}
        side = 2 * self.vision + 1
        self.single_observation_space = gymnasium.spaces.Box(low=0, high=7, shape=(side, side), dtype=np.int8)
        self.single_action_space = gymnasium.spaces.Discrete(NUM_ACTIONS)
        super().__init__(num_envs=num_envs, agents_per_env=self.num_snakes, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def init_world(self):
        for name, value in (("width", self.width), ("height", self.height), ("vision", self.vision),
                            ("num_snakes", self.num_snakes), ("num_food", self.num_food),
                            ("max_len", self.max_snake_length),
                            ("leave_corpse", int(self.leave_corpse_on_death))):
            self.envs[name] = value
        for name, value in self.rewards_config.items():
            self.envs[name] = value

    def render_rgb(self, state):
        """The whole grid of env 0, ``k`` pixels per cell (``k = max(1, 512 // max(width,
        height))``): empty black, food green, corpse brown, walls grey, snake 0 white,
        the others in three colours."""
        k = max(1, 512 // max(self.width, self.height))
        frame = RGB[state["grid"].astype(np.intp)]
        return np.kron(frame, np.ones((k, k, 1), np.uint8)) if k > 1 else frame

    def render_ansi(self, state):
        """At most 24 rows x 64 columns of env 0's grid around snake 0's head: `` `` empty,
        ``*`` food, ``+`` corpse, ``#`` wall, ``@`` snake 0, ``o`` other snakes."""
        grid = state["grid"]
        head_r, head_c = int(state["snakes"][0]["head_r"]), int(state["snakes"][0]["head_c"])
        r0 = min(max(0, head_r - 12), max(0, self.height - 24))
        c0 = min(max(0, head_c - 32), max(0, self.width - 64))
        window = grid[r0:r0 + 24, c0:c0 + 64]
        return "\n".join("".join(" *+#ooo@"[v] for v in row) for row in window)
