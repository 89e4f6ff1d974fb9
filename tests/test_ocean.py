"""Squared and Snake: their own mechanics and invariants (docs/envs/), config errors, the registry.
What every env must satisfy is checked over the registry in tests/test_conformance.py."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pufferlib
from pufferlib import APIUsageError
from pufferlib.ocean import list_envs
from pufferlib.ocean.snake import Snake
from pufferlib.ocean.snake import CORPSE, FOOD, WALL
from pufferlib.ocean.squared import Squared


def random_actions(env, steps, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, env.single_action_space.n, (steps, env.num_agents)).astype(np.int32)


# ---- Squared ------------------------------------------------------------------------
@given(num_envs=st.integers(1, 6), size=st.sampled_from([3, 5, 11]), seed=st.integers(0, 2**31),
       steps=st.integers(1, 80))
def test_squared_invariants(num_envs, size, seed, steps):
    env = Squared(num_envs=num_envs, size=size)
    obs, _ = env.reset(seed)
    space = env.single_observation_space
    for a in random_actions(env, steps, seed):
        prev_tick = env.envs["tick"].copy()
        obs, rew, term, trunc, _ = env.step(a)
        for i in range(num_envs):
            assert space.contains(obs[i])
            assert (obs[i] == 1).sum() == 1 and (obs[i] == 2).sum() == 1  # one agent, one target
            assert rew[i] in (-1.0, 0.0, 1.0)
            assert not (term[i] and trunc[i])
            if term[i] or trunc[i]:
                assert rew[i] != 0 and env.envs["tick"][i] == 0  # auto-reset in the same step
                assert obs[i][(size // 2) * size + size // 2] == 1  # agent back at the centre
            else:
                assert rew[i] == 0 and env.envs["tick"][i] == prev_tick[i] + 1
            if trunc[i]:
                assert prev_tick[i] + 1 > 3 * size  # timeout (spec: tick > 3*size)
        assert np.isfinite(rew).all()


def test_squared_reaching_target_and_leaving_grid():
    env = Squared(num_envs=1, size=5)
    env.reset(0)
    target = int(env.envs["target"][0])
    tr, tc = divmod(target, 5)
    moves = []
    r, c = 2, 2
    while r != tr:
        moves.append(1 if tr > r else 2)
        r += 1 if tr > r else -1
    while c != tc:
        moves.append(4 if tc > c else 3)
        c += 1 if tc > c else -1
    for k, m in enumerate(moves):
        _, rew, term, _, _ = env.step(np.array([m], np.int32))
        assert (rew[0], term[0]) == ((1.0, True) if k == len(moves) - 1 else (0.0, False))
    env.reset(0)
    _, rew, term, trunc, _ = env.step(np.array([2], np.int32))
    assert rew[0] == 0  # row 1
    env.step(np.array([2], np.int32))
    _, rew, term, trunc, _ = env.step(np.array([2], np.int32))
    assert rew[0] == -1 and term[0] and not trunc[0]


def test_squared_timeout_is_a_truncation_with_minus_one():
    env = Squared(num_envs=1, size=3)
    env.reset(1)
    noop = np.zeros(1, np.int32)
    for _ in range(9):
        _, rew, term, trunc, _ = env.step(noop)
        assert rew[0] == 0
    _, rew, term, trunc, _ = env.step(noop)  # tick 10 > 3*3
    assert rew[0] == -1 and trunc[0] and not term[0]


def test_squared_log_every_interval():
    env = Squared(num_envs=8, size=3, log_interval=16)
    env.reset(0)
    infos_seen = []
    for k, a in enumerate(random_actions(env, 64, 0)):
        _, _, _, _, infos = env.step(a)
        if (k + 1) % 16:
            assert infos == []
        else:
            infos_seen.extend(infos)
    assert infos_seen, "8 envs x 64 steps on a 3x3 grid must finish episodes"
    for log in infos_seen:
        assert set(log) == {"perf", "score", "episode_return", "episode_length", "n"}
        assert 0 <= log["perf"] <= 1 and -1 <= log["score"] <= 1 and log["n"] >= 1
        assert 1 <= log["episode_length"] <= 10


def small_snake(**kw):
    return Snake(**{**Snake.test_config(), **kw})


@pytest.mark.parametrize("kwargs", [
    dict(num_envs=0), dict(size=4), dict(size=1), dict(num_threads=0), dict(log_interval=0),
    dict(seed=-1), dict(num_envs=1.5), dict(log_interval=2**63)])
def test_squared_bad_config(kwargs):
    with pytest.raises(APIUsageError):
        Squared(**kwargs)


def test_read_only_action_arrays_are_accepted_and_checked():
    env = Squared(num_envs=2)
    env.reset(0)
    good = np.array([1, 2], np.int64)
    good.flags.writeable = False
    env.step(good)
    assert env.tick == 1
    bad = np.array([1, 9], np.int64)
    bad.flags.writeable = False
    with pytest.raises(APIUsageError, match="integers in"):
        env.step(bad)
    assert env.tick == 1


@pytest.mark.parametrize("kwargs", [
    dict(width=7), dict(height=5, vision=2), dict(vision=0), dict(num_snakes=0),
    dict(num_food=-1), dict(num_food=10_000), dict(reward_food=float("nan")),
    dict(max_snake_length=1)])
def test_snake_bad_config(kwargs):
    with pytest.raises(APIUsageError):
        small_snake(**kwargs)


def test_registry_and_make():
    assert set(list_envs()) >= {"squared", "snake"}
    env = pufferlib.make("puffer_squared", num_envs=3)
    assert isinstance(env, Squared) and env.num_agents == 3
    assert pufferlib.make("puffer_squared").num_envs == 1  # the env's own default
    env = pufferlib.make("snake", num_envs=1, width=20, height=20, num_snakes=2, num_food=4)
    assert env.num_agents == 2
    with pytest.raises(APIUsageError, match="unknown environment"):
        pufferlib.make("puffer_nope")
    with pytest.raises(APIUsageError, match="does not take foo.*num_snakes"):
        pufferlib.make("puffer_snake", foo=1)


# ---- Snake invariants (docs/envs/snake.md) ----------------------------------------
def check_snake_world(env, prev_heads=None):
    v = env.vision
    for e in range(env.num_envs):
        s = env.state(e)
        grid, snakes, bodies = s["grid"], s["snakes"], s["bodies"]
        # walls intact, food conserved (the grid always has room in these configs)
        assert (grid[:v] == WALL).all() and (grid[-v:] == WALL).all()
        assert (grid[:, :v] == WALL).all() and (grid[:, -v:] == WALL).all()
        assert (grid == FOOD).sum() == env.num_food
        body_cells = 0
        for k in range(env.num_snakes):
            sn = snakes[k]
            length, ptr = int(sn["length"]), int(sn["head_ptr"])
            assert 1 <= length <= env.max_snake_length - 1
            idx = [(ptr - j) % env.max_snake_length for j in range(length)]
            seg = bodies[k][idx].astype(int)
            assert tuple(seg[0]) == (sn["head_r"], sn["head_c"])
            # in bounds, off the walls, painted with the snake's colour
            assert ((seg[:, 0] >= v) & (seg[:, 0] < env.height - v)).all()
            assert ((seg[:, 1] >= v) & (seg[:, 1] < env.width - v)).all()
            assert (grid[seg[:, 0], seg[:, 1]] == sn["color"]).all()
            # contiguous: consecutive segments are 4-neighbours
            if length > 1:
                assert (np.abs(np.diff(seg, axis=0)).sum(axis=1) == 1).all()
            # every slot outside the body is free (-1)
            free = np.ones(env.max_snake_length, bool)
            free[idx] = False
            assert (bodies[k][free] == -1).all()
            body_cells += length
        assert (grid >= 4).sum() == body_cells  # no stray body cells
    # observation = window around the head, head cell in the centre
    obs = env.observations.reshape(env.num_envs, env.num_snakes, 2 * v + 1, 2 * v + 1)
    for e in range(env.num_envs):
        for k in range(env.num_snakes):
            r, c = env.snakes[e, k]["head_r"], env.snakes[e, k]["head_c"]
            np.testing.assert_array_equal(obs[e, k], env.grid[e, r - v:r + v + 1, c - v:c + v + 1])


@given(seed=st.integers(0, 2**31), num_snakes=st.integers(1, 6), num_food=st.integers(0, 30),
       vision=st.integers(1, 4), corpse=st.booleans(), steps=st.integers(1, 60))
def test_snake_invariants(seed, num_snakes, num_food, vision, corpse, steps):
    env = Snake(num_envs=2, width=26, height=22, num_snakes=num_snakes, num_food=num_food,
                vision=vision, leave_corpse_on_death=corpse, max_snake_length=16)
    obs, _ = env.reset(seed)
    check_snake_world(env)
    allowed = {np.float32(-1.0), np.float32(0.1), np.float32(0.0)}
    for a in random_actions(env, steps, seed):
        prev_len = env.snakes["length"].copy()
        obs, rew, term, trunc, _ = env.step(a)
        assert env.single_observation_space.contains(obs[0])
        assert obs.min() >= 0 and obs.max() <= 7
        assert set(np.unique(rew)) <= allowed and np.isfinite(rew).all()
        assert not trunc.any()
        np.testing.assert_array_equal(term, rew == np.float32(-1.0))  # death ends the episode
        dead = term.reshape(env.num_envs, num_snakes)
        assert (env.snakes["length"][dead] == 1).all()  # respawned at once
        ate = (rew == np.float32(0.1)).reshape(env.num_envs, num_snakes)
        grew = env.snakes["length"] == prev_len + 1
        assert (grew == ate).all() or (env.snakes["length"] >= env.max_snake_length - 1).any()
        if not corpse:
            assert (env.grid != CORPSE).all()
        check_snake_world(env)


def lone_snake_at(r, c):
    """A 1-snake, no-food env whose snake (length 1) is moved by hand to (r, c)."""
    env = Snake(num_envs=1, width=30, height=30, num_snakes=1, num_food=0, vision=2)
    env.reset(0)
    sn = env.snakes[0, 0]
    ptr = int(sn["head_ptr"])
    env.grid[0, sn["head_r"], sn["head_c"]] = 0
    env.bodies[0, 0, ptr] = (r, c)
    sn["head_r"], sn["head_c"] = r, c
    env.grid[0, r, c] = sn["color"]
    return env


def test_snake_neck_rule_keeps_going_straight():
    env = lone_snake_at(10, 10)
    env.grid[0, 10, 11] = FOOD
    env.step(np.array([3], np.int32))  # right: eat and grow
    assert env.snakes[0, 0]["length"] == 2 and env.rewards[0] == np.float32(0.1)
    env.step(np.array([2], np.int32))  # left = into the neck -> keeps going right
    assert (env.snakes[0, 0]["head_r"], env.snakes[0, 0]["head_c"]) == (10, 12)
    assert env.rewards[0] == 0 and env.snakes[0, 0]["length"] == 2


def test_snake_corpse_rule_and_death_log():
    env = lone_snake_at(10, 20)
    for k in range(1, 4):
        env.grid[0, 10, 20 + k] = FOOD
    for _ in range(3):
        env.step(np.array([3], np.int32))
    assert env.snakes[0, 0]["length"] == 4
    # the head is at column 23; walls start at column 28: 4 more moves, the 5th dies
    for _ in range(4):
        env.step(np.array([3], np.int32))
        assert env.rewards[0] == 0
    env.step(np.array([3], np.int32))
    assert env.rewards[0] == -1 and env.terminals[0]
    # the body was columns 24..27 (tail..head); walking from the head with remaining
    # length 4, 3, 2, 1: even -> CORPSE, odd -> EMPTY (unless the respawn landed there)
    sn = env.snakes[0, 0]
    for col, want in zip((27, 26, 25, 24), (CORPSE, 0, CORPSE, 0)):
        if (sn["head_r"], sn["head_c"]) != (10, col):
            assert env.grid[0, 10, col] == want
    log = env.log()
    assert log["n"] == 1 and log["score"] == 4 and log["episode_length"] == 8
    assert log["episode_return"] == pytest.approx(0.3 - 1.0) and log["perf"] == pytest.approx(0.5)


@given(num_envs=st.integers(1, 9), position=st.integers(0, 10**6), above=st.booleans(),
       wide=st.booleans())
def test_every_action_component_is_checked(num_envs, position, above, wide):
    """The compiled check walks the flat batch in blocks of repeated bounds: a bad value in
    any component (including a partial last block, e.g. 3 Target envs = 48 components) is
    refused, nothing is stepped, and the message names the agent (pufferlib.spaces rule)."""
    env = _target_envs(num_envs)
    env.reset(0)
    before = env.observations.copy()
    actions = np.zeros(env.actions.shape, np.int64 if wide else np.int32)
    flat = actions.reshape(-1)
    i = position % flat.size
    k = i % actions.shape[1]
    flat[i] = env.single_action_space.nvec[k] if above else -1
    with pytest.raises(APIUsageError, match=f"of agent {i // actions.shape[1]} "):
        env.step(actions)
    assert np.array_equal(env.observations, before) and env.tick == 0
    flat[i] = 0
    env.step(actions)
    assert env.tick == 1


_TARGETS = {}


def _target_envs(num_envs):
    from pufferlib.ocean.target import Target
    if num_envs not in _TARGETS:
        _TARGETS[num_envs] = Target(num_envs=num_envs)
    return _TARGETS[num_envs]
