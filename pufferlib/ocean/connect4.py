"""Connect4: the agent plays Connect Four against a scripted bot (``docs/envs/connect4.md``).

Standard 7-column x 6-row Connect Four. The agent always moves first; in the same step the
bot answers with a fixed opening book, an immediate win if it has one, and otherwise a
depth-3 "negamax-sum" search (the sum, not the maximum, of the children's scores), ties
broken uniformly at random from the env's own generator. Boards are two 64-bit bitboards
(bit ``col*7 + row``, row 0 at the bottom, bit ``col*7 + 6`` an always-empty sentinel), as
in PufferLib 3.0's ``ocean/connect4`` (https://github.com/PufferAI/PufferLib).

The search is written without recursion (four nested levels, one function per depth), so
``numba.cuda`` compiles it too, and it scores in integers: every score is an integer of
magnitude below 1600, which the C computes exactly in float32, so the bot's choices are
the same.

Differences from the C reference, on purpose:

- a finished game resets in the step that ends it, with ``terminals`` set on that step
  (the framework's auto-reset): the observation returned with a terminal is the empty
  board of the next game. The C keeps the final board for one step and resets on the
  next call to step, ignoring the agent's action in that "dead" step.
- a full board without a winner is a draw: reward 0 and terminal, on the bot's move
  that fills the board. The C has no draw test: the agent's next action can only be
  "illegal" and the draw scores -1.
- ``episode_length`` logs the number of steps (agent moves) of each game. The C adds its
  running counter to itself (twice the moves) and zeroes the whole log at every reset,
  so an episode survives only if a log report falls on the very step it ended.
- the observation space is ``Box(-1, 1, (42,), float32)``, the values really observed
  (the C declares ``[0, 1]`` and writes -1 for the bot's pieces).
- actions outside ``[0, 7)`` raise ``APIUsageError`` (the C reads any int as a column).
- the search tests no "board full" position: a full board has no legal move, so its sum
  is empty and its score 0. (The C compares with a wrong full-board constant, which only
  matches a two-piece position whose score is 0 anyway, so this changes no choice.)
"""
from __future__ import annotations

import gymnasium
import numpy as np

from pufferlib.ocean.core import Array, OceanEnv, kernel, rand_below

ROWS, COLS = 6, 7
NUM_CELLS = ROWS * COLS
U0, U1, U2 = np.uint64(0), np.uint64(1), np.uint64(2)
U6, U7, U8 = np.uint64(6), np.uint64(7), np.uint64(8)
U12, U14, U16 = np.uint64(12), np.uint64(14), np.uint64(16)
#: The top cell (row 5) of column 0; shifted by ``7*c`` for column c.
TOP0 = np.uint64(1 << 5)
#: Every playable cell: rows 0..5 of the seven columns.
FULL = np.uint64(sum(0x3F << (7 * c) for c in range(COLS)))
#: Opening book, keyed by ``P + (P|E) + 2**42``: the agent's first piece in column 3 is
#: answered in column 2, in column 4 in column 3.
BOOK_COL3 = np.uint64((1 << 42) + (1 << 22))
BOOK_COL4 = np.uint64((1 << 42) + (1 << 29))
BOOK_KEY_BIT = np.uint64(1 << 42)

#: One record per env: random state, the two bitboards and the steps of the current game.
ENV_DTYPE = np.dtype([("rng", np.uint64), ("player", np.uint64), ("bot", np.uint64),
                      ("moves", np.int32), ("last_bot_move", np.int32)],
                     align=True)


@kernel
def won(b):
    """True if bitboard ``b`` holds four in a line (horizontal, both diagonals, vertical)."""
    m = b & (b >> U7)
    if (m & (m >> U14)) != U0:
        return True
    m = b & (b >> U6)
    if (m & (m >> U12)) != U0:
        return True
    m = b & (b >> U8)
    if (m & (m >> U16)) != U0:
        return True
    m = b & (b >> U1)
    return (m & (m >> U2)) != U0


@kernel
def legal(mask, c):
    """True if column ``c`` (0..6) of the board ``mask`` (both sides' pieces) has room."""
    return (mask & (TOP0 << np.uint64(7 * c))) == U0


@kernel
def drop(mask, other, c):
    """The mover's board after dropping a piece in column ``c``: ``other ^ new_mask``."""
    return other ^ (mask | (mask + (U1 << np.uint64(7 * c))))


# The bot's score N(p, o, d) of a position (p: the side to move, o: the side that just
# moved, d: depth left): 10**d if o has four in a line; else 0 if p has; else 0 at d == 0;
# else minus the sum of N(o, p + one piece, d - 1) over the legal columns. One kernel per
# depth, without recursion (the GPU compiles no recursive functions).
@kernel
def score0(p, o):
    """N(p, o, 0)."""
    return 1 if won(o) else 0


@kernel
def score1(p, o):
    """N(p, o, 1)."""
    if won(o):
        return 10
    if won(p):
        return 0
    mask = p | o
    v = 0
    for c in range(COLS):
        if legal(mask, c):
            v -= score0(o, drop(mask, o, c))
    return v


@kernel
def score2(p, o):
    """N(p, o, 2)."""
    if won(o):
        return 100
    if won(p):
        return 0
    mask = p | o
    v = 0
    for c in range(COLS):
        if legal(mask, c):
            v -= score1(o, drop(mask, o, c))
    return v


@kernel
def score3(p, o):
    """N(p, o, 3)."""
    if won(o):
        return 1000
    if won(p):
        return 0
    mask = p | o
    v = 0
    for c in range(COLS):
        if legal(mask, c):
            v -= score2(o, drop(mask, o, c))
    return v


@kernel
def bot_move(env):
    """The bot's column for the position in ``env`` (the agent has just moved).

    Opening book; else the first column that wins at once; else a uniformly random column
    among the legal ones with the lowest value ``-N(P, E + piece, 3)``.
    """
    p = env["player"]
    b = env["bot"]
    mask = p | b
    key = p + mask + BOOK_KEY_BIT
    if key == BOOK_COL3:
        return 2
    if key == BOOK_COL4:
        return 3
    best = 1 << 30
    ties = 0        # bit c set: column c has the best value so far
    for c in range(COLS):
        if not legal(mask, c):
            continue
        child = drop(mask, p, c)
        if won(child):
            return c
        v = -score3(p, child)
        if v < best:
            best = v
            ties = 1 << c
        elif v == best:
            ties |= 1 << c
    count = 0
    for c in range(COLS):
        count += (ties >> c) & 1
    if count == 0:
        return -1   # no legal column: unreachable (the agent never fills the board)
    k = rand_below(env, count)
    for c in range(COLS):
        if (ties >> c) & 1:
            if k == 0:
                return c
            k -= 1
    return -1


@kernel
def write_observation(w, e):
    """obs[col*6 + row]: +1 the agent's piece, -1 the bot's, 0 empty."""
    env = w.envs[e]
    p = env["player"]
    b = env["bot"]
    for c in range(COLS):
        for r in range(ROWS):
            bit = np.uint64(7 * c + r)
            if (p >> bit) & U1:
                v = 1.0
            elif (b >> bit) & U1:
                v = -1.0
            else:
                v = 0.0
            w.observations[e, c * ROWS + r] = v


@kernel
def reset_env(w, e):
    """A new game: empty board."""
    env = w.envs[e]
    env["player"] = U0
    env["bot"] = U0
    env["moves"] = 0
    env["last_bot_move"] = -1
    write_observation(w, e)


@kernel
def finish(w, e, reward):
    """End env ``e``'s game with ``reward``: flags, log, then a new game in the same step."""
    env = w.envs[e]
    w.rewards[e] = reward
    w.terminals[e] = True
    lg = w.logs[e]
    if reward == 1.0:
        lg["perf"] += 1.0
    lg["score"] += reward
    lg["episode_return"] += reward
    lg["episode_length"] += env["moves"]
    lg["n"] += 1.0
    reset_env(w, e)


@kernel
def step_env(w, e):
    """The agent's move, then the bot's (docs/envs/connect4.md, One step)."""
    env = w.envs[e]
    env["moves"] += 1
    w.rewards[e] = 0.0
    w.terminals[e] = False
    w.truncations[e] = False
    c = w.actions[e]
    mask = env["player"] | env["bot"]
    if not legal(mask, c):
        finish(w, e, -1.0)
        return
    p = drop(mask, env["bot"], c)
    env["player"] = p
    if won(p):
        finish(w, e, 1.0)
        return
    c = bot_move(env)
    env["last_bot_move"] = c
    mask = p | env["bot"]
    if c < 0 or not legal(mask, c):
        finish(w, e, 1.0)   # the bot has no legal move: unreachable, as in the C
        return
    b = drop(mask, p, c)
    env["bot"] = b
    if won(b):
        finish(w, e, -1.0)
        return
    if (p | b) == FULL:
        finish(w, e, 0.0)
        return
    write_observation(w, e)


class Connect4(OceanEnv):
    """Connect4 (``docs/envs/connect4.md``): ``num_envs`` games against the scripted bot.

    Args:
        num_envs: games played at once (= agents), >= 1.
        log_interval: ``step`` reports logs every this many calls (default 128, the C's
            ``report_interval``).
        num_threads: CPU threads stepping envs in parallel (process-wide Numba setting;
            parallel only when ``num_envs >= 2``).
        buf: buffers from a vectorizer (see :func:`pufferlib.set_buffers`), or None.
        seed: default seed; env ``i`` is seeded with ``seed + i`` (the bot's tie-breaks).
        device: ``"cpu"`` or ``"cuda"``.
        render_mode: None, ``"rgb_array"`` or ``"ansi"`` (see :meth:`render`).

    Spaces: observation ``Box(-1, 1, (42,), float32)``: ``obs[col*6 + row]`` is +1 for the
    agent's piece, -1 for the bot's, 0 for empty, row 0 at the bottom. Action
    ``Discrete(7)``: the column to drop a piece into.
    Rewards float32: +1 the agent connects four, -1 the bot connects four or the agent
    plays a full column (the game ends either way), 0 otherwise (a draw included).
    Terminal on every game end; the next game starts in the same step. No truncations.

    Log fields (per-game means): ``perf`` (win rate), ``score`` and ``episode_return``
    (mean reward), ``episode_length`` (agent moves per game), ``n`` (games).

    ``state(env_id)``: ``envs``, the env's record: ``rng``, ``player`` and ``bot`` (uint64
    bitboards, bit ``col*7 + row``), ``moves`` (agent moves in this game),
    ``last_bot_move`` (the bot's last column, -1 at the start of a game).

    Raises:
        APIUsageError: invalid config (the message names the parameter).
    """

    WORLD = {"envs": Array(ENV_DTYPE, "num_envs")}
    LOG_FIELDS = ("perf", "score", "episode_return", "episode_length")
    reset_env = reset_env
    step_env = step_env

    @classmethod
    def test_config(cls):
        return {"num_envs": 2}

    def __init__(self, num_envs=1, log_interval=128, num_threads=1, buf=None, seed=0, device="cpu",
                 render_mode=None):
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 1.0, (NUM_CELLS,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(COLS)
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    @staticmethod
    def board(rec) -> np.ndarray:
        """``(6, 7)`` int8 picture of an env record's board, top row first: 1 agent, -1 bot, 0 empty."""
        p, b = int(rec["player"]), int(rec["bot"])
        out = np.zeros((ROWS, COLS), np.int8)
        for c in range(COLS):
            for r in range(ROWS):
                bit = 1 << (7 * c + r)
                out[ROWS - 1 - r, c] = 1 if p & bit else (-1 if b & bit else 0)
        return out

    def render_rgb(self, state):
        """``(384, 448, 3)`` uint8: the board of env 0, 64 px cells on blue, the agent's
        pieces red, the bot's yellow, empty cells white."""
        rec = state["envs"]
        board = self.board(rec)
        cell = 64
        frame = np.zeros((ROWS * cell, COLS * cell, 3), np.uint8)
        frame[:] = (30, 60, 160)
        yy, xx = np.mgrid[0:cell, 0:cell]
        disc = (yy - cell / 2 + 0.5) ** 2 + (xx - cell / 2 + 0.5) ** 2 <= (cell * 0.4) ** 2
        colours = {0: (235, 235, 235), 1: (210, 40, 40), -1: (240, 200, 40)}
        for r in range(ROWS):
            for c in range(COLS):
                frame[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell][disc] = colours[int(board[r, c])]
        return frame

    def render_ansi(self, state):
        """Six lines of the board (``X`` the agent, ``O`` the bot, ``.`` empty, top row
        first), the column numbers, and the game's move count."""
        rec = state["envs"]
        board = self.board(rec)
        symbol = {0: ".", 1: "X", -1: "O"}
        lines = [" ".join(symbol[int(v)] for v in row) for row in board]
        lines.append(" ".join(str(c) for c in range(COLS)))
        lines.append(f"move {int(rec['moves'])}, bot's last column {int(rec['last_bot_move'])}")
        return "\n".join(lines)
