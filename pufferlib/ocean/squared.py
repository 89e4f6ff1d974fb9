"""Squared: one agent on a square grid must step onto a target cell.

Mechanics: ``docs/envs/squared.md`` (after PufferLib 3.0's ``ocean/squared``). The agent
starts in the centre of a ``size x size`` grid; the target is uniform over the other cells;
moves are NOOP/DOWN/UP/LEFT/RIGHT; reaching the target gives +1, leaving the grid or
running out of time (``tick > 3*size``) gives -1; the env auto-resets in the same step.

Differences from the C reference, on purpose: a timeout sets ``truncations[i]`` (the C
env flags it as terminal); actions outside ``[0, 5)`` raise ``APIUsageError`` instead of
acting as NOOP.
"""
from __future__ import annotations

import gymnasium
import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.ocean.core import Array, OceanEnv, check_int, kernel, rand_below

#: One record per env.
ENV_DTYPE = np.dtype([("rng", np.uint64), ("tick", np.int32), ("size", np.int32),
                      ("r", np.int32), ("c", np.int32), ("target", np.int32)], align=True)

EMPTY, AGENT, TARGET = 0, 1, 2
NOOP, DOWN, UP, LEFT, RIGHT = 0, 1, 2, 3, 4
NUM_ACTIONS = 5
#: Colours of EMPTY, AGENT, TARGET cells in ``render_mode='rgb_array'``.
RGB = np.array([[40, 40, 48], [70, 130, 230], [90, 200, 90]], np.uint8)


@kernel
def reset_env(w, e):
    """Start a new episode in env ``e``: clear its board, agent at the centre, random target."""
    env = w.envs[e]
    obs = w.observations
    size = env["size"]
    cells = size * size
    for k in range(cells):
        obs[e, k] = EMPTY
    half = size // 2
    env["r"] = half
    env["c"] = half
    env["tick"] = 0
    centre = half * size + half
    obs[e, centre] = AGENT
    target = rand_below(env, cells)
    while target == centre:
        target = rand_below(env, cells)
    env["target"] = target
    obs[e, target] = TARGET


@kernel
def end_episode(w, e, reward):
    """Add the finished episode to env ``e``'s log, then reset it."""
    lg = w.logs[e]
    if reward > 0:
        lg["perf"] += 1.0
    lg["score"] += reward
    lg["episode_return"] += reward
    lg["episode_length"] += w.envs[e]["tick"]
    lg["n"] += 1.0
    reset_env(w, e)


@kernel
def step_env(w, e):
    """One step of env ``e`` (docs/envs/squared.md, Step)."""
    env = w.envs[e]
    size = env["size"]
    env["tick"] += 1
    w.rewards[e] = 0.0
    w.terminals[e] = False
    w.truncations[e] = False
    r = env["r"]
    c = env["c"]
    w.observations[e, r * size + c] = EMPTY
    a = w.actions[e]
    if a == DOWN:
        r += 1
    elif a == UP:
        r -= 1
    elif a == LEFT:
        c -= 1
    elif a == RIGHT:
        c += 1
    off_grid = r < 0 or r >= size or c < 0 or c >= size
    if off_grid or env["tick"] > 3 * size:
        w.rewards[e] = -1.0
        if off_grid:
            w.terminals[e] = True
        else:
            w.truncations[e] = True
        end_episode(w, e, -1.0)
        return
    pos = r * size + c
    if pos == env["target"]:
        w.rewards[e] = 1.0
        w.terminals[e] = True
        end_episode(w, e, 1.0)
        return
    env["r"] = r
    env["c"] = c
    w.observations[e, pos] = AGENT


class Squared(OceanEnv):
    """Squared (``docs/envs/squared.md``): ``num_envs`` independent single-agent grids.

    Args:
        num_envs: number of envs (= agents), >= 1.
        size: grid side, odd, in [3, 255] (default 11).
        log_interval: ``step`` reports logs every this many calls (default 128).
        num_threads: CPU threads stepping envs in parallel (default 1; process-wide
            Numba setting; parallel only when ``num_envs >= 2``).
        buf: buffers from a vectorizer (see :func:`pufferlib.set_buffers`), or None.
        seed: default seed; env ``i`` is seeded with ``seed + i``.
        device: ``"cpu"`` or ``"cuda"``.
        render_mode: None, ``"rgb_array"`` or ``"ansi"`` (see :meth:`render`).

    Spaces: observation ``Box(0, 2, (size*size,), uint8)``: the row-major board, 0 empty,
    1 agent, 2 target. Action ``Discrete(5)``: NOOP, DOWN (row+1), UP, LEFT, RIGHT (col+1).
    Rewards float32: +1 target reached, -1 left the grid or timed out, else 0.

    Log fields (per-episode means): ``perf`` (success rate), ``score``,
    ``episode_return``, ``episode_length``, ``n``.

    ``state(env_id)``: ``envs`` (0-d record: rng, tick, size, r, c, target) and
    ``observations`` ((1, size*size) uint8: the board).

    Raises:
        APIUsageError: invalid config (message names the parameter and allowed values).
    """

    WORLD = {"envs": Array(ENV_DTYPE, "num_envs")}
    LOG_FIELDS = ("perf", "score", "episode_return", "episode_length")
    STATE = ("envs", "observations")
    reset_env = reset_env
    step_env = step_env

    @classmethod
    def test_config(cls):
        return {"num_envs": 4, "size": 5}

    def __init__(self, num_envs=1, size=11, log_interval=128, num_threads=1, buf=None, seed=0, device="cpu",
                 render_mode=None):
        self.size = check_int("size", size, 3, 255)
        if self.size % 2 == 0:
            raise APIUsageError(f"size must be odd (the agent starts in the centre cell), got {size}")
        self.single_observation_space = gymnasium.spaces.Box(
            low=0, high=2, shape=(self.size * self.size,), dtype=np.uint8)
        self.single_action_space = gymnasium.spaces.Discrete(NUM_ACTIONS)
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def init_world(self):
        self.envs["size"] = self.size

    def render_rgb(self, state):
        """``(16*size, 16*size, 3)`` uint8: empty cells grey, the agent blue, the target green."""
        board = state["observations"][0].reshape(self.size, self.size)
        return np.kron(RGB[board], np.ones((16, 16, 1), np.uint8))

    def render_ansi(self, state):
        """One line per row: ``.`` empty, ``A`` agent, ``T`` target."""
        board = state["observations"][0].reshape(self.size, self.size)
        return "\n".join("".join(".AT"[v] for v in row) for row in board)
