"""Connect4: legal boards, the rules of a step, the bot's search against a plain-Python
reference, logs, draws, rendering (docs/envs/connect4.md)."""
import functools
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pufferlib import APIUsageError
from pufferlib.ocean.connect4 import Connect4, score3

ROWS, COLS = 6, 7


# ---- an independent model of the game: cells (row, col), row 0 at the bottom ---------------
def _lines():
    out = []
    for r in range(ROWS):
        for c in range(COLS):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + k * dr, c + k * dc) for k in range(4)]
                if all(0 <= rr < ROWS and 0 <= cc < COLS for rr, cc in cells):
                    out.append(frozenset(cells))
    return out


LINES = _lines()
assert len(LINES) == 69


def wins(cells):
    return any(line <= cells for line in LINES)


def height(p, o, c):
    return sum((r, c) in p or (r, c) in o for r in range(ROWS))


def legal(p, o):
    return [c for c in range(COLS) if height(p, o, c) < ROWS]


def drop(p, o, c):
    """``p`` with one more piece in column ``c``."""
    return p | {(height(p, o, c), c)}


def score(p, o, d):
    """The bot's score: p to move, o just moved, d plies left (minus the sum over children)."""
    if wins(o):
        return 10 ** d
    if wins(p) or d == 0:
        return 0
    return -sum(score(o, drop(p, o, c), d - 1) for c in legal(p, o))


def bot_choices(p, e):
    """The columns the bot may play (agent p has just moved, bot e to move)."""
    if not e and p in ({(0, 3)}, {(0, 4)}):
        return {2} if p == {(0, 3)} else {3}
    values = {}
    for c in legal(e, p):
        child = drop(e, p, c)
        if wins(child):
            return {c}
        values[c] = -score(p, child, 3)
    best = min(values.values())
    return {c for c, v in values.items() if v == best}


def bits(cells):
    """Our bitboard: bit col*7 + row."""
    return sum(1 << (7 * c + r) for r, c in cells)


def cells(b):
    b = int(b)
    return {(r, c) for c in range(COLS) for r in range(ROWS) if b >> (7 * c + r) & 1}


def random_position(rng, plies):
    """(agent, bot) cells after ``plies`` random moves (even: the agent to move), nobody won."""
    while True:
        p, e = set(), set()
        ok = True
        for k in range(plies):
            mover, other = (p, e) if k % 2 == 0 else (e, p)
            c = rng.choice(legal(mover, other))
            mover |= drop(mover, other, c)
            if wins(mover):
                ok = False
                break
        if ok:
            return p, e


@functools.lru_cache(maxsize=None)
def _env(num_envs=1, log_interval=10**6):
    return Connect4(num_envs=num_envs, log_interval=log_interval)


def _set(env, i, p, e):
    env.envs["player"][i] = bits(p)
    env.envs["bot"][i] = bits(e)


# ---- the bot -------------------------------------------------------------------------------
def test_search_values_match_plain_python_minimax():
    rng = random.Random(4)
    checked = 0
    for plies in (2, 4, 6, 8, 10, 14):
        p, e = random_position(rng, plies)
        for c in legal(e, p):
            child = drop(e, p, c)
            if wins(child):
                continue
            got = -int(score3(np.uint64(bits(p)), np.uint64(bits(child))))
            assert got == -score(p, child, 3), (plies, c)
            checked += 1
    assert checked >= 20


def test_bot_move_is_among_the_reference_choices():
    rng = random.Random(11)
    env = _env()
    seen_non_trivial = 0
    for trial in range(10):
        p, e = random_position(rng, 2 * rng.randrange(0, 7))
        moves = [c for c in legal(p, e) if not wins(drop(p, e, c))]
        a = rng.choice(moves)
        p2 = drop(p, e, a)
        expected = bot_choices(p2, e)
        env.reset(seed=trial)
        _set(env, 0, p, e)
        _, rew, term, _, _ = env.step(np.array([a], np.int32))
        bot_col = int(env.envs["last_bot_move"][0]) if not term[0] else None
        if term[0]:      # the bot won at once: it must have had a winning column
            assert rew[0] == -1 and any(wins(drop(e, p2, c)) for c in expected)
            continue
        assert bot_col in expected, (trial, bot_col, expected)
        assert cells(env.envs["player"][0]) == p2
        assert cells(env.envs["bot"][0]) == drop(e, p2, bot_col)
        seen_non_trivial += len(expected) < len(legal(e, p2))
    assert seen_non_trivial >= 3


def test_opening_book_and_immediate_win():
    env = _env()
    for first, reply in ((3, 2), (4, 3)):
        env.reset(seed=0)
        env.step(np.array([first], np.int32))
        assert env.envs["last_bot_move"][0] == reply
        assert cells(env.envs["bot"][0]) == {(0, reply)}
    # The bot holds three in column 6 and must win there at once, whatever the agent plays.
    env.reset(seed=0)
    _set(env, 0, {(0, 0), (0, 1), (1, 0)}, {(0, 6), (1, 6), (2, 6)})
    _, rew, term, _, _ = env.step(np.array([2], np.int32))
    assert rew[0] == -1 and term[0]


def test_tie_breaks_use_the_envs_own_generator():
    """With many tied columns the bot's reply depends on the seed, and only on it."""
    env = _env(num_envs=64)
    replies = []
    for seed in (0, 0, 1):
        env.reset(seed=seed)
        env.step(np.zeros(64, np.int32))        # every agent opens in column 0: all values tie
        replies.append(env.envs["last_bot_move"].copy())
    assert np.array_equal(replies[0], replies[1])
    assert not np.array_equal(replies[0], replies[2])
    assert set(replies[0].tolist()) == set(range(COLS))


# ---- one step ------------------------------------------------------------------------------
def _outcome(p, e, a):
    """(reward, terminal) of the agent playing ``a`` from (p, e), from the rules alone."""
    if a not in legal(p, e):
        return -1.0, True
    p2 = drop(p, e, a)
    if wins(p2):
        return 1.0, True
    if any(wins(drop(e, p2, c)) for c in legal(e, p2)):
        return -1.0, True
    if len(legal(e, p2)) == 1 and height(e, p2, legal(e, p2)[0]) == ROWS - 1:
        return 0.0, True                       # the bot's forced move fills the board: draw
    return 0.0, False


def _assert_legal_board(rec):
    p, e = int(rec["player"]), int(rec["bot"])
    assert p & e == 0
    full = sum(0x3F << (7 * c) for c in range(COLS))
    assert (p | e) & ~full == 0, "a piece in the sentinel row"
    for c in range(COLS):
        col = ((p | e) >> (7 * c)) & 0x7F
        assert col & (col + 1) == 0, f"column {c} is not stacked from the bottom"
    assert bin(p).count("1") == bin(e).count("1"), "both sides move every step"


def _obs_from(rec):
    out = np.zeros(42, np.float32)
    for r, c in cells(rec["player"]):
        out[c * 6 + r] = 1
    for r, c in cells(rec["bot"]):
        out[c * 6 + r] = -1
    return out


@given(seed=st.integers(0, 2**31), head=st.permutations(range(COLS)),
       actions=st.lists(st.integers(0, COLS - 1), max_size=120))
def test_every_step_follows_the_rules(seed, head, actions):
    env = _env()
    env.reset(seed=seed)
    env.log()
    games = length = 0
    returns = []
    for a in list(head) + actions:
        before = env.state(0, copy=True)["envs"]
        p, e = cells(before["player"]), cells(before["bot"])
        obs, rew, term, trunc, _ = env.step(np.array([a], np.int32))
        rec = env.state(0, copy=True)["envs"]
        reward, terminal = _outcome(p, e, a)
        assert (rew[0], bool(term[0]), bool(trunc[0])) == (reward, terminal, False)
        length += 1
        _assert_legal_board(rec)
        np.testing.assert_array_equal(obs[0], _obs_from(rec))
        if terminal:
            assert rec["player"] == 0 and rec["bot"] == 0 and rec["moves"] == 0   # next game began
            games += 1
            returns.append(reward)
        else:
            b = int(rec["last_bot_move"])
            p2 = drop(p, e, a)
            assert b in legal(e, p2), "the bot played a full column"
            assert cells(rec["player"]) == p2 and cells(rec["bot"]) == drop(e, p2, b)
            assert rec["moves"] == len(p2)
    log = env.log()
    if games:
        assert log["n"] == games
        assert log["episode_return"] == pytest.approx(np.mean(returns))
        assert log["perf"] == pytest.approx(np.mean([r == 1 for r in returns]))
    else:
        assert log == {}


def test_full_column_loses_and_logs_the_game():
    env = Connect4(num_envs=1, log_interval=1)
    env.reset(seed=0)
    column = {(r, 3) for r in range(ROWS)}
    agent = {(r, 3) for r in (0, 1, 4)} | {(0, 0), (0, 1)}
    _set(env, 0, agent, column - agent | {(0, 5), (0, 6)})
    env.envs["moves"][0] = 5
    obs, rew, term, _, infos = env.step(np.array([3], np.int32))
    assert rew[0] == -1 and term[0]
    assert not obs.any()                                  # the next game's empty board
    assert infos == [{"perf": 0.0, "score": -1.0, "episode_return": -1.0, "episode_length": 6.0,
                      "n": 1.0}]


def test_a_full_board_without_a_winner_is_a_draw():
    top_first = ["OXOXXOO", "OXOXOXO", "OOXOOXX", "XOXOOOX", "XXXOXXX", "XOOXXOO"]
    board = {(ROWS - 1 - i, c): ch for i, row in enumerate(top_first) for c, ch in enumerate(row)}
    x = {cell for cell, ch in board.items() if ch == "X"}
    o = {cell for cell, ch in board.items() if ch == "O"}
    assert not wins(x) and not wins(o) and len(x) == len(o) == 21
    env = Connect4(num_envs=1, log_interval=1)
    env.reset(seed=0)
    _set(env, 0, x - {(4, 5)}, o - {(5, 5)})           # column 5 has two cells left
    _, rew, term, _, infos = env.step(np.array([5], np.int32))
    assert rew[0] == 0 and term[0]
    assert infos[0]["n"] == 1 and infos[0]["perf"] == 0 and infos[0]["score"] == 0


def test_seeded_runs_repeat():
    rng = np.random.default_rng(0)
    actions = rng.integers(0, COLS, size=(200, 8)).astype(np.int32)

    def run(seed):
        env = _env(num_envs=8)
        out = [env.reset(seed=seed)[0].copy()]
        for a in actions:
            o, r, t, _, _ = env.step(a)
            out += [o.copy(), r.copy(), t.copy()]
        return out

    a, b, c = run(5), run(5), run(6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert any(not np.array_equal(x, y) for x, y in zip(a, c))


def test_bad_actions_and_render():
    env = _env()
    env.reset(seed=0)
    for bad in (np.array([7], np.int32), np.array([-1]), np.array([0.5], np.float32)):
        with pytest.raises(APIUsageError):
            env.step(bad)
    pic = Connect4(render_mode="rgb_array")
    pic.reset(seed=0)
    pic.step(np.array([3], np.int32))
    frame = pic.render()
    assert frame.shape == (384, 448, 3) and frame.dtype == np.uint8
    assert tuple(frame[6 * 64 - 32, 3 * 64 + 32]) == (210, 40, 40)     # the agent's piece, bottom of column 3
    assert tuple(frame[6 * 64 - 32, 2 * 64 + 32]) == (240, 200, 40)    # the bot's reply in column 2
    text = Connect4(render_mode="ansi")
    text.reset(seed=0)
    text.step(np.array([3], np.int32))
    lines = text.render().splitlines()
    assert lines[5] == ". . O X . . ." and lines[6] == "0 1 2 3 4 5 6"
