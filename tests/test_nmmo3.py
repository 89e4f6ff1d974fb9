"""Neural MMO 3 (pufferlib/ocean/nmmo3, docs/envs/nmmo3.md): the state hook at a small and
at the default size, game invariants under hypothesis-driven play (every action id, the
buy / sell menus), and mechanics checked against closed forms in a hand-built arena
(damage and the EFFECT matrix, targeting, equipment, herbs, the market, kills, loot,
harvesting, stagnation, death and respawn, the observation layout), seeding and reset.

Arena tests write situations straight into the world arrays (``env.entities``,
``env.pids``, ``env.player_bits``, ``env.inventory``...) and step one tick with chosen
actions. The identifiers below are written out from the docs page, not imported, so a
changed constant shows up as a failing test.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pufferlib
from pufferlib import APIUsageError
from pufferlib.ocean.nmmo3 import NMMO3, entity_table

# ---- identifiers (docs/envs/nmmo3.md) -----------------------------------------------------
DOWN, UP, RIGHT, LEFT, NOOP, ATTACK = 0, 1, 2, 3, 4, 5
ONE, NINE, BUY, SELL, RUN_DOWN = 8, 16, 20, 21, 22
PLAYER, ENEMY = 1, 2
NEUTRAL, FIRE, WATER, EARTH, AIR = 0, 1, 2, 3, 4
IDLE, MOVE, ATTACK_ANIM, SWORD_ANIM, BOW_ANIM, DEATH, RUN = range(7)
PLAY, BUY_TIER, BUY_ITEM, SELL_SELECT, SELL_PRICE = range(5)
HELM, CHEST, LEGS, SWORD, BOW, TOOL, EARTH_GEM, FIRE_GEM, AIR_GEM, WATER_GEM, HERB, ORE, WOOD, HILT = range(1, 15)
GRASS_CLASS = 0
EFFECT = [[1, 1, 1, 1, 1],
          [1, 1, 0, 1, 2],
          [1, 2, 1, 0, 1],
          [1, 1, 2, 1, 0],
          [1, 0, 1, 2, 1]]
GEM_ELEMENT = {EARTH_GEM: EARTH, FIRE_GEM: FIRE, AIR_GEM: AIR, WATER_GEM: WATER}
SWORD_ATK = [0, 24, 48, 96, 192, 384]
BOW_ATK = [0, 16, 33, 67, 135, 271]
ARMOUR_DEF = [0, 8, 16, 32, 64, 128]
FIRST_TEN = ("kind", "r", "c", "hp", "hp_max", "comb_lvl", "prof_lvl", "dir", "anim", "in_combat")
STATE_KEYS = {"terrain", "entities", "tick", "items", "pids", "inventory", "equipped", "equipment",
              "market_count"}


def item(kind, tier=1):
    return (tier - 1) * 17 + kind


def level_tier(level):
    return 1 if level <= 8 else 1 + math.ceil(math.log2(level / 8))


def random_actions(env, rng):
    return rng.integers(0, 26, env.num_agents).astype(np.int32)


# =============================================================================================
# The state hook, at a small config and at 2 envs x 1024 players on 512 x 512
# =============================================================================================
@pytest.fixture(scope="module")
def big_env():
    env = NMMO3(num_envs=2)     # the defaults otherwise: 512 x 512, 1024 players, 2048 enemies
    yield env
    env.close()


@pytest.fixture(scope="module")
def small_env():
    env = NMMO3(**{**NMMO3.test_config(), "teleportitis_prob": 0.02})
    yield env
    env.close()


@pytest.fixture(params=["small", "2x1024_on_512x512"])
def hooked(request):
    return request.getfixturevalue("small_env" if request.param == "small" else "big_env")


def test_state_shapes_dtypes_and_partition(hooked):
    env = hooked
    env.reset(seed=0)
    env.step(random_actions(env, np.random.default_rng(0)))
    P, N, H, W = env.num_players, env.num_entities, env.height, env.width
    assert env.num_agents == env.num_envs * P
    for e in range(env.num_envs):
        s = env.state(e)
        assert set(s) == STATE_KEYS
        assert s["terrain"].shape == (H, W) and s["terrain"].dtype == np.int8
        assert s["items"].shape == (H, W) and s["items"].dtype == np.uint8
        assert s["pids"].shape == (H, W) and s["pids"].dtype == np.int32
        assert s["entities"].shape == (N,) and s["entities"].dtype.names[:10] == FIRST_TEN
        assert all(s["entities"].dtype[k] == np.int32 for k in range(10))
        assert s["inventory"].shape == s["equipped"].shape == (P, 12)
        assert s["equipment"].shape == (P, 5)
        assert {s[k].dtype for k in ("inventory", "equipped", "equipment")} == {np.dtype(np.uint8)}
        assert s["market_count"].shape == (85,) and s["market_count"].dtype == np.int32
        assert s["tick"].shape == () and s["tick"].dtype == np.int32
        ents = s["entities"]
        assert (ents["kind"][:P] == PLAYER).all() and (ents["kind"][P:] == ENEMY).all()
        assert len(ents) - P == env.num_enemies
        r, c = ents["r"], ents["c"]
        assert ((r >= env.y_window) & (r < H - env.y_window)).all()
        assert ((c >= env.x_window) & (c < W - env.x_window)).all()
        assert (ents["hp_max"] > 0).all() and (ents["hp"] >= 0).all() and (ents["hp"] <= ents["hp_max"]).all()


def test_state_tick_positions_and_terrain_over_steps(hooked):
    env = hooked
    env.reset(seed=3)
    before = [env.state(e, copy=True) for e in range(env.num_envs)]
    assert [int(b["tick"]) for b in before] == [0] * env.num_envs
    rng = np.random.default_rng(1)
    for t in range(1, 4):
        env.step(random_actions(env, rng))
        assert [int(env.state(e)["tick"]) for e in range(env.num_envs)] == [t] * env.num_envs
    for e in range(env.num_envs):
        s = env.state(e)
        assert np.array_equal(s["terrain"], before[e]["terrain"])        # the map does not change
        moved = (s["entities"]["r"] != before[e]["entities"]["r"]) | (s["entities"]["c"] != before[e]["entities"]["c"])
        assert moved.sum() >= 2
    assert not np.array_equal(before[0]["terrain"], before[1]["terrain"])  # seeds 3 and 4
    env.reset()
    assert all(int(env.state(e)["tick"]) == 0 for e in range(env.num_envs))


def test_state_views_are_live_read_only_and_stable(hooked):
    env = hooked
    env.reset(seed=0)
    a, b = env.state(1), env.state(1)
    for k in STATE_KEYS:
        assert a[k].tobytes() == b[k].tobytes()                         # repeated reads agree
        assert not a[k].flags.writeable
        assert np.shares_memory(a[k], getattr(env, "ticks" if k == "tick" else k))
    with pytest.raises(ValueError):
        a["entities"]["hp"][0] = 1
    with pytest.raises(ValueError):
        a["terrain"][10, 10] = 0
    snap = env.state(1, copy=True)
    assert snap["entities"].flags.writeable and not np.shares_memory(snap["entities"], env.entities)
    env.step(random_actions(env, np.random.default_rng(2)))
    assert int(a["tick"]) == 1 and int(snap["tick"]) == 0                # views follow, copies stay
    assert np.array_equal(a["entities"], env.entities[1]) and not np.array_equal(a["entities"], snap["entities"])
    table = entity_table(a["entities"])
    assert table.shape == (env.num_entities, 10) and table.dtype == np.int32
    assert np.shares_memory(table, env.entities) and not table.flags.writeable
    for k, name in enumerate(FIRST_TEN):
        assert np.array_equal(table[:, k], a["entities"][name])
    env.step(random_actions(env, np.random.default_rng(3)))
    assert np.array_equal(table[:, 1], env.entities[1]["r"])              # it follows too
    for bad in (env.num_envs, -1, 1.5, "0"):
        with pytest.raises(APIUsageError):
            env.state(bad)
    for bad in (a["terrain"], a["entities"][["r", "c"]], [1, 2]):
        with pytest.raises(APIUsageError):
            entity_table(bad)


def test_world_and_population_at_reset(big_env):
    """Terrain classes and border, ground-item quotas and placement, tier and enemy-level
    distributions, ranged enemies' elements, spawn spacing, at the default size."""
    env = big_env
    env.reset(seed=1)
    levels, tiers = [], []
    for e in range(env.num_envs):
        s = env.state(e)
        t, items, en, pids = s["terrain"].astype(int), s["items"].astype(int), s["entities"], s["pids"]
        assert (t[:5] == 12).all() and (t[-5:] == 12).all() and (t[:, :7] == 12).all() and (t[:, -7:] == 12).all()
        assert set(np.unique(t >> 2)) == {0, 2, 3}                   # grass, stone, water; no dirt
        kind, tier = items % 17, items // 17 + 1
        counts = {k: int(((kind == k) & (items > 0)).sum()) for k in range(1, 17)}
        assert counts == {**{k: 0 for k in range(1, 17)}, ORE: 2048, HERB: 2048, HILT: 1024, WOOD: 1024,
                          EARTH_GEM: 512, FIRE_GEM: 512, AIR_GEM: 512, WATER_GEM: 512}
        assert (t[items > 0] >> 2 == 0).all()
        cls = t >> 2
        near = {k: np.zeros_like(cls, bool) for k in (2, 3)}
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            for k in (2, 3):
                near[k][5:-5, 7:-7] |= cls[5 + dr:cls.shape[0] - 5 + dr, 7 + dc:cls.shape[1] - 7 + dc] == k
        assert near[2][(kind == ORE) | (kind == HILT)].all() and near[3][(kind == HERB) | (kind == WOOD)].all()
        for gem, season in ((EARTH_GEM, 0), (FIRE_GEM, 1), (AIR_GEM, 2), (WATER_GEM, 3)):
            assert (t[(kind == gem) & (items > 0)] == season).all()
        tiers += list(tier[items > 0])
        players, enemies = en[:1024], en[1024:]
        assert (players["comb_lvl"] == 1).all() and (players["prof_lvl"] == 1).all() and (players["hp"] == 99).all()
        assert ((players["goal"] == 0) | (players["goal"] == 1)).all() and 0.4 < players["goal"].mean() < 0.6
        levels += list(enemies["level"])
        assert (enemies["ranged"] == (enemies["level"] >= 15)).all()
        season = t[enemies["r"], enemies["c"]] & 3
        ranged = enemies["ranged"] == 1
        assert (enemies["element"][ranged] == np.array([EARTH, FIRE, AIR, WATER])[season[ranged]]).all()
        assert (enemies["element"][~ranged] == NEUTRAL).all()
        for k in range(len(en)):                                     # spawns keep 5 tiles apart
            r, c = en["r"][k], en["c"][k]
            assert (pids[r - 5:r + 6, c - 5:c + 6] >= 0).sum() == 1
    tiers, levels = np.array(tiers), np.array(levels)
    for k in range(1, 6):                                            # P(tier k) = 2**-k / (31 / 32)
        assert abs((tiers == k).mean() - 2.0 ** (5 - k) / 31) < 0.02
    # level floor(1 + 8X), X = -log2(1 - u), kept if <= 40; then 1 with probability 1/8
    p1 = (1 - 2 ** (-1 / 8)) / (1 - 2 ** -5)
    assert abs((levels == 1).mean() - (1 / 8 + 7 / 8 * p1)) < 0.03
    assert levels.max() <= 40 and abs((levels >= 15).mean() - 7 / 8 * (2 ** (-14 / 8) - 2 ** -5) / (1 - 2 ** -5)) < 0.03


def test_observations_match_the_state_at_the_default_size(big_env):
    env = big_env
    env.reset(seed=2)
    rng = np.random.default_rng(2)
    for _ in range(3):
        _, rew, term, trunc, _ = env.step(random_actions(env, rng))
    check_invariants(env, rew, term, trunc)


def test_config_fallbacks_and_errors():
    env = NMMO3(num_envs=1, width=128, height=128, num_players=None, num_enemies=None, num_resources=None,
                num_weapons=None, num_gems=None, tiers=None, levels=None)
    assert (env.num_players, env.num_enemies, env.num_resources, env.num_weapons, env.num_gems) == (8, 32, 16, 8, 4)
    assert (env.tiers, env.levels) == (1, 7)
    assert env.single_observation_space.shape == (1707,) and env.single_action_space.n == 26
    wide = NMMO3(num_envs=1, width=64, height=300, num_players=2, num_enemies=2, tiers=None, levels=None,
                 num_resources=4, num_weapons=4, num_gems=4, x_window=6, y_window=8)
    assert (wide.tiers, wide.levels) == (3, 31)
    assert wide.single_observation_space.shape == (17 * 13 * 10 + 57,)
    small = NMMO3.test_config()
    for bad in (dict(width=20), dict(x_window=4), dict(tiers=6), dict(levels=0), dict(num_players=0),
                dict(teleportitis_prob=1.5), dict(enemy_respawn_ticks=1), dict(reward_market=float("nan")),
                dict(num_enemies=400)):
        with pytest.raises(APIUsageError, match=next(iter(bad))):
            NMMO3(**{**small, **bad})


# =============================================================================================
# Invariants of the game under play
# =============================================================================================
def check_invariants(env, rewards=None, terminals=None, truncations=None, observations=True):
    """Everything that must hold after any step (docs/envs/nmmo3.md); ``observations``:
    also compare every player's observation with :func:`expected_obs`."""
    if rewards is not None:
        assert np.isfinite(rewards).all()
        assert not terminals.any() and not truncations.any()
    P, N, H = env.num_players, env.num_entities, env.height
    tiers, levels = env.tiers, env.levels
    for e in range(env.num_envs):
        s = env.state(e)
        ents, pids = s["entities"], s["pids"]
        # one entity per tile, and the tile map agrees with the entities' positions
        assert ((pids >= -1) & (pids < N)).all()
        rows, cols = np.nonzero(pids >= 0)
        ids = pids[rows, cols]
        assert len(np.unique(ids)) == len(ids)
        assert (ents["r"][ids] == rows).all() and (ents["c"][ids] == cols).all()
        alive = np.nonzero(ents["hp"] > 0)[0]
        assert (pids[ents["r"][alive], ents["c"][alive]] == alive).all()   # alive => on the map
        assert (s["terrain"][rows, cols] >> 2 == GRASS_CLASS).all()         # never on stone or water
        # the players' bitmap is the tile map's players
        bits = np.zeros((H, env.player_bits.shape[2]), np.uint64)
        pl = ids < P
        one_bits = np.left_shift(np.uint64(1), (cols[pl] & 63).astype(np.uint64))
        np.bitwise_or.at(bits, (rows[pl], cols[pl] >> 6), one_bits)
        assert np.array_equal(bits, env.player_bits[e])
        # records
        assert ((ents["hp"] >= 0) & (ents["hp"] <= ents["hp_max"])).all() and (ents["hp_max"] == 99).all()
        p, q = ents[:P], ents[P:]
        assert ((p["comb_lvl"] >= 1) & (p["comb_lvl"] <= levels)).all()
        assert ((p["prof_lvl"] >= 1) & (p["prof_lvl"] <= levels)).all()
        assert ((q["comb_lvl"] >= 1) & (q["comb_lvl"] <= levels)).all() and (q["comb_lvl"] == q["level"]).all()
        assert (q["ranged"] == (q["level"] >= 15)).all()
        assert ((p["gold"] >= 0) & (p["gold"] <= 99)).all() and (q["gold"] == 0).all()
        assert ((ents["in_combat"] >= 0) & (ents["in_combat"] <= 5)).all()
        assert ((ents["dir"] >= 0) & (ents["dir"] <= 3)).all() and ((ents["anim"] >= 0) & (ents["anim"] <= 6)).all()
        assert ((p["ui_mode"] >= 0) & (p["ui_mode"] <= 4)).all()
        assert ((p["market_tier"] >= 0) & (p["market_tier"] <= tiers)).all()   # 0 until a tier is chosen
        assert ((p["sell_idx"] >= 0) & (p["sell_idx"] <= 8)).all()
        assert (ents["element"] >= 0).all() and (ents["element"] <= 4).all()
        # items: valid ids; equipment consistent with the equipped flags and the bonuses
        inv, eq, flags = s["inventory"].astype(int), s["equipment"].astype(int), s["equipped"]
        held = inv[inv > 0]
        assert ((held % 17 >= HELM) & (held % 17 <= HERB) & (held // 17 + 1 <= tiers)).all()
        assert np.isin(flags, (0, 1)).all() and (inv[flags == 1] > 0).all()
        on_ground = s["items"][s["items"] > 0].astype(int)
        assert ((on_ground % 17 >= TOOL) & (on_ground % 17 <= HILT) & (on_ground // 17 + 1 <= tiers)).all()
        for k in range(P):
            worn = inv[k][flags[k] == 1]
            slots = [slot_of(i % 17) for i in worn]
            assert len(set(slots)) == len(slots) and -1 not in slots
            expect = [0] * 5
            for i, sl in zip(worn, slots):
                expect[sl] = i
            assert list(eq[k]) == expect
            atk = SWORD_ATK[eq[k, 3] // 17 + 1] if eq[k, 3] % 17 == SWORD else \
                BOW_ATK[eq[k, 3] // 17 + 1] if eq[k, 3] % 17 == BOW and eq[k, 3] else 0
            dfn = sum(ARMOUR_DEF[i // 17 + 1] for i in eq[k, :3] if i)
            assert (p["equipment_attack"][k], p["equipment_defense"][k]) == (atk, dfn)
            if eq[k, 4]:
                assert p["element"][k] == GEM_ELEMENT[eq[k, 4] % 17]
        # the market
        count = s["market_count"]
        assert ((count >= 0) & (count <= 32)).all() and count[0] == 0
        for i in np.nonzero(count)[0]:
            sellers = env.market_seller[e, i, :count[i]]
            prices = env.market_price[e, i, :count[i]]
            assert ((sellers >= 0) & (sellers < P)).all() and ((prices >= 1) & (prices <= 9)).all()
            assert i % 17 in range(HELM, HERB + 1)
    # every player sees itself at the centre of its window
    centre = (env.y_window * (2 * env.x_window + 1) + env.x_window) * 10
    obs = env.observations.reshape(env.num_envs, P, -1)
    on_map = np.array([[env.pids[e, env.entities[e, k]["r"], env.entities[e, k]["c"]] == k for k in range(P)]
                       for e in range(env.num_envs)])
    assert (obs[..., centre + 4][on_map] == PLAYER).all()
    if observations:
        for e in range(env.num_envs):
            for k in range(P):
                assert np.array_equal(obs[e, k], expected_obs(env, e, k)), (e, k)


def slot_of(kind):
    if kind in (HELM, CHEST, LEGS):
        return kind - HELM
    if kind in (SWORD, BOW, TOOL):
        return 3
    if kind in GEM_ELEMENT:
        return 4
    return -1


def give_kit(env, rng):
    """Gold and a few valid items (tools and weapons among them) for every player."""
    kinds = [HELM, CHEST, LEGS, SWORD, BOW, TOOL, EARTH_GEM, FIRE_GEM, AIR_GEM, WATER_GEM, HERB]
    for e in range(env.num_envs):
        for p in range(env.num_players):
            env.entities[e]["gold"][p] = rng.integers(0, 100)
            for k in range(rng.integers(0, 10)):
                env.inventory[e, p, k] = item(kinds[rng.integers(len(kinds))], rng.integers(1, env.tiers + 1))


def run_checked(env, plans, steps):
    """Step with each player's action list (cycled), checking the invariants every step."""
    seen = set()
    for t in range(steps):
        acts = np.array([plans[a % len(plans)][t % len(plans[a % len(plans)])] for a in range(env.num_agents)],
                        np.int32)
        seen.update(acts.tolist())
        _, rew, term, trunc, _ = env.step(acts)
        check_invariants(env, rew, term, trunc)
    return seen


CROWDED = dict(num_envs=2, width=30, height=26, num_players=16, num_enemies=16, num_resources=4, num_weapons=2,
               num_gems=1, levels=12)


@pytest.mark.parametrize("cfg", [{"teleportitis_prob": 0.05}, {"teleportitis_prob": 1.0}, CROWDED],
                         ids=["test_config", "teleport_every_tick", "crowded"])
def test_every_action_from_every_menu_keeps_the_invariants(cfg):
    """Each action id 0..25 in every menu state and in play, for 700 steps (past the first
    stagnation reset at tick 500), invariants checked at every step; also with every entity
    teleporting every tick, and on a map as crowded as allowed (1/8 of the inner tiles)."""
    env = NMMO3(**({**NMMO3.test_config(), **cfg} if cfg is not CROWDED else cfg))
    env.reset(seed=11)
    rng = np.random.default_rng(11)
    give_kit(env, rng)
    check_invariants(env, observations=False)
    openers = ([], [BUY], [SELL], [BUY, ONE], [SELL, ONE], [BUY, NOOP], [SELL, ONE + 1, NOOP])
    plans = [[x for a in range(26) for x in opener + [a]] for opener in openers]
    plans += [rng.integers(0, 26, 97).tolist()]
    assert run_checked(env, plans, 700) == set(range(26))
    assert env.log()["n"] > 0


MENU_FLOW = st.one_of(
    st.integers(0, 25).map(lambda a: [a]),
    st.tuples(st.just(BUY), st.integers(ONE, NINE), st.integers(ONE, NINE)).map(list),
    st.tuples(st.just(SELL), st.integers(ONE, NINE), st.integers(ONE, NINE)).map(list),
    st.tuples(st.sampled_from([BUY, SELL]), st.integers(0, 3), st.integers(0, 25)).map(
        lambda x: [x[0]] + [NOOP] * x[1] + [x[2]]),
    st.tuples(st.sampled_from([DOWN, UP, RIGHT, LEFT, 22, 23, 24, 25, ATTACK]), st.integers(1, 5)).map(
        lambda x: [x[0]] * x[1]),
)
PLAN = st.lists(MENU_FLOW, min_size=1, max_size=12).map(lambda flows: [a for f in flows for a in f])


@settings(max_examples=20)
@given(plans=st.lists(PLAN, min_size=1, max_size=12), seed=st.integers(0, 2**20))
def test_invariants_hold_under_generated_play(small_env, plans, seed):
    env = small_env
    env.reset(seed=seed)
    give_kit(env, np.random.default_rng(seed))
    plans[0] = list(range(26)) + plans[0]       # every action id in every example
    assert run_checked(env, plans, 250) == set(range(26))


# =============================================================================================
# Mechanics in a hand-built arena
# =============================================================================================
ARENA = dict(num_envs=1, width=64, height=48, num_players=3, num_enemies=3, num_resources=0, num_weapons=0,
             num_gems=0, tiers=5, levels=40, teleportitis_prob=0.0, reward_death=-0.5, reward_prof_level=0.75,
             log_interval=10**6)
FAR = [(40, 10), (40, 50), (8, 52)]     # parking tiles of players a test does not use
HERE = (20, 30)                          # where the tested player stands


@pytest.fixture(scope="module")
def arena_env():
    env = NMMO3(**ARENA)
    yield env
    env.close()


def ents(env):
    return env.entities[0]


def place(env, pid, r, c, **fields):
    """Move entity ``pid`` of env 0 to ``(r, c)`` in the tile map and set record fields."""
    en = ents(env)
    orow, ocol = en["r"][pid], en["c"][pid]
    if env.pids[0, orow, ocol] == pid:
        env.pids[0, orow, ocol] = -1
        if pid < env.num_players:
            env.player_bits[0, orow, ocol >> 6] &= ~(np.uint64(1) << np.uint64(ocol & 63))
    assert env.pids[0, r, c] == -1
    env.pids[0, r, c] = pid
    if pid < env.num_players:
        env.player_bits[0, r, c >> 6] |= np.uint64(1) << np.uint64(c & 63)
    en["r"][pid], en["c"][pid] = r, c
    for k, v in fields.items():
        en[k][pid] = v


def enemy(env, k, r, c, level=1, **fields):
    """Enemy ``k`` (0-based among enemies) alive at ``(r, c)``: melee, neutral, of ``level``."""
    pid = env.num_players + k
    place(env, pid, r, c, **{"hp": 99, "anim": IDLE, "level": level, "comb_lvl": level, "element": NEUTRAL,
                             "ranged": 0, "in_combat": 0, **fields})
    return pid


def arena(env, seed=0):
    """Reset, then plain spring grass inside the water border, no items, players parked far
    apart, enemies dead and off the map (they stay so: no respawn is queued)."""
    env.reset(seed=seed)
    H, W, yw, xw = env.height, env.width, env.y_window, env.x_window
    env.terrain[0, yw:H - yw, xw:W - xw] = 0
    env.items[0] = 0
    env.pids[0] = -1
    env.player_bits[0] = 0
    tiles = env.tile_obs[0].reshape(H, W, 10)
    tiles[:] = 0
    tiles[..., 0] = env.terrain[0] & 3
    tiles[..., 1] = env.terrain[0] >> 2
    for p in range(env.num_players):
        place(env, p, *FAR[p])
    en = ents(env)
    en["hp"][env.num_players:] = 0
    en["anim"][env.num_players:] = DEATH
    en["r"][env.num_players:] = 0
    en["c"][env.num_players:] = 0
    return en


def ground(env, r, c, item_id):
    """Put an item on tile ``(r, c)`` of env 0, in the tile map and in the tile picture the
    observations are copied from."""
    env.items[0, r, c] = item_id
    env.tile_obs[0, r, c * 10 + 2] = item_id % 17
    env.tile_obs[0, r, c * 10 + 3] = item_id // 17


def step(env, actions=None):
    """One tick with ``{pid: action}`` (NOOP for the rest); returns the rewards."""
    a = np.full(env.num_agents, NOOP, np.int32)
    for p, x in (actions or {}).items():
        a[p] = x
    _, rew, term, trunc, _ = env.step(a)
    assert not term.any() and not trunc.any()
    return rew.copy()


def hp_after(hp, dmg, regen_first):
    """hp after taking ``dmg``; the +1 regeneration comes before (players: they act first)
    or after (enemies: hit during the player phase, they regenerate in their own turn)."""
    if regen_first:
        hp = min(99, hp + 1)
    if dmg >= hp:
        return 0
    hp -= dmg
    return hp if regen_first else min(99, hp + 1)


@settings(max_examples=40)
@given(P=st.integers(1, 40), E=st.integers(1, 40), atk=st.integers(0, 400), dfn=st.integers(0, 200),
       hp_p=st.integers(1, 99), hp_e=st.integers(1, 99))
def test_damage_formula_player_and_enemy(arena_env, P, E, atk, dfn, hp_p, hp_e):
    """Player hits enemy: max(0, 40 + 2P + atk - 5E); the enemy hits back: max(0, 15 + 5E - 2P - def)."""
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE, comb_lvl=P, equipment_attack=atk, equipment_defense=dfn, hp=hp_p)
    q = enemy(env, 0, HERE[0] + 1, HERE[1], level=E, hp=hp_e)
    step(env, {0: ATTACK})
    d_pe = max(0, 40 + 2 * P + atk - 5 * E)
    d_ep = max(0, 15 + 5 * E - 2 * P - dfn)
    assert en["hp"][q] == hp_after(hp_e, d_pe, regen_first=False)
    assert en["anim"][0] == ATTACK_ANIM and en["dir"][0] == DOWN
    if en["hp"][q] > 0:   # the survivor strikes back in the enemy phase
        assert en["hp"][0] == hp_after(hp_p, d_ep, regen_first=True)
        assert en["anim"][q] == SWORD_ANIM and en["dir"][q] == UP
    else:
        assert en["hp"][0] == min(99, hp_p + 1) and en["anim"][q] == DEATH


def test_effect_matrix(arena_env):
    env = arena_env
    for pe in range(5):
        for ee in range(5):
            en = arena(env)
            place(env, 0, *HERE, element=pe)
            q = enemy(env, 0, HERE[0] + 1, HERE[1], element=ee)
            step(env, {0: ATTACK})
            assert en["hp"][q] == hp_after(99, 37 * EFFECT[pe][ee], False), (pe, ee)
            assert en["hp"][0] == 99 - 18 * EFFECT[ee][pe], (pe, ee)
            assert en["in_combat"][0] == 5       # set even when the damage is 0


WEAPONS = {None: (0, ATTACK_ANIM), TOOL: (0, ATTACK_ANIM), SWORD: (24, SWORD_ANIM), BOW: (16, BOW_ANIM)}
REACH = {   # offset -> (weapons that reach it, direction the player turns to)
    (1, 0): ({None, TOOL, SWORD, BOW}, DOWN), (0, -1): ({None, TOOL, SWORD, BOW}, LEFT),
    (1, 1): ({SWORD}, DOWN), (-1, -1): ({SWORD}, UP), (1, -1): ({SWORD}, DOWN), (-1, 1): ({SWORD}, UP),
    (0, 2): ({BOW}, RIGHT), (-4, 0): ({BOW}, UP), (0, -3): ({BOW}, LEFT),
    (0, 5): (set(), None), (2, 1): (set(), None), (2, 2): (set(), None),
}


@pytest.mark.parametrize("weapon", list(WEAPONS), ids=lambda w: {None: "unarmed", TOOL: "tool", SWORD: "sword",
                                                                  BOW: "bow"}[w])
def test_attack_patterns(arena_env, weapon):
    env = arena_env
    atk, anim = WEAPONS[weapon]
    for (dr, dc), (reaches, d) in REACH.items():
        en = arena(env)
        place(env, 0, *HERE, dir=RIGHT if d == DOWN else DOWN)
        if weapon is not None:
            env.inventory[0, 0, 0] = item(weapon)
            env.equipped[0, 0, 0] = 1
            env.equipment[0, 0, 3] = item(weapon)
            en["equipment_attack"][0] = atk
        q = enemy(env, 0, HERE[0] + dr, HERE[1] + dc, hp=90)
        before_dir = en["dir"][0]
        step(env, {0: ATTACK})
        assert en["anim"][0] == anim                      # set with or without a target
        if weapon in reaches:
            assert en["hp"][q] == 90 - (37 + atk) + 1 and en["dir"][0] == d, (dr, dc)
        else:
            assert en["hp"][q] == 91 and en["dir"][0] == before_dir, (dr, dc)


def test_attack_order_and_dead_targets(arena_env):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE)
    up = enemy(env, 0, HERE[0] - 1, HERE[1], hp=50)
    left = enemy(env, 1, HERE[0], HERE[1] - 1, hp=50)
    step(env, {0: ATTACK})              # DOWN, UP, RIGHT, LEFT: UP comes first
    assert en["hp"][up] == 50 - 37 + 1 and en["hp"][left] == 51 and en["dir"][0] == UP
    en = arena(env)
    place(env, 0, *HERE)
    dead = enemy(env, 0, HERE[0] + 1, HERE[1], hp=0, anim=DEATH)   # a corpse still on the map
    alive = enemy(env, 1, HERE[0] - 1, HERE[1], hp=50)
    step(env, {0: ATTACK})
    assert en["hp"][alive] == 51 and en["hp"][dead] == 0 and en["in_combat"][dead] == 0
    assert en["dir"][0] == DOWN         # it turned to the corpse and wasted the attack


def test_enemy_ai(arena_env):
    env = arena_env
    # melee: step along the longer axis (ties horizontal); adjacent: strike
    for (dr, dc), (moved_to, d) in {(3, 1): ((1, 0), DOWN), (1, 1): ((0, 1), RIGHT), (-1, -3): ((0, -1), LEFT),
                                    (-2, 0): ((-1, 0), UP)}.items():
        en = arena(env)
        place(env, 0, HERE[0] + dr, HERE[1] + dc)
        q = enemy(env, 0, *HERE)
        step(env)
        assert (en["r"][q] - HERE[0], en["c"][q] - HERE[1]) == moved_to and en["dir"][q] == d
        assert en["anim"][q] == MOVE and en["hp"][0] == 99
    # ranged (level >= 15): shoot along a row or column, else line up along the shorter axis
    for (dr, dc), (moved_to, d, shot) in {(0, 3): ((0, 0), RIGHT, True), (-4, 0): ((0, 0), UP, True),
                                          (3, 1): ((0, 1), RIGHT, False), (1, -3): ((1, 0), DOWN, False)}.items():
        en = arena(env)
        place(env, 0, HERE[0] + dr, HERE[1] + dc)
        q = enemy(env, 0, *HERE, level=15, ranged=1, element=FIRE)
        step(env)
        assert (en["r"][q] - HERE[0], en["c"][q] - HERE[1]) == moved_to and en["dir"][q] == d
        if shot:
            assert en["anim"][q] == BOW_ANIM and en["hp"][0] == 99 - (15 + 75 - 2)   # EFFECT[fire][neutral] = 1
        else:
            assert en["anim"][q] == MOVE and en["hp"][0] == 99
    # the first player in the scan (rows from the top), not the nearest
    en = arena(env)
    place(env, 0, HERE[0] - 4, HERE[1] + 4)
    place(env, 1, HERE[0], HERE[1] + 1)
    q = enemy(env, 0, *HERE)
    step(env)
    assert en["hp"][1] == 99 and (en["r"][q], en["c"][q]) == HERE and en["dir"][q] == RIGHT  # blocked by player 1
    # no player within 4: a random step
    en = arena(env)
    place(env, 0, HERE[0] + 5, HERE[1])
    q = enemy(env, 0, *HERE)
    step(env)
    assert abs(en["r"][q] - HERE[0]) + abs(en["c"][q] - HERE[1]) == 1 and en["anim"][q] == MOVE


@pytest.fixture(scope="module")
def wide_arena():
    env = NMMO3(**{**ARENA, "width": 150})
    yield env
    env.close()


@pytest.mark.parametrize("col", [30, 60, 63, 64, 66, 68, 127, 130])
def test_enemy_scan_finds_a_player_anywhere_in_its_9x9_square(wide_arena, col):
    """The 9x9 scan (a word of the players' bitmap per row, two where the square straddles
    a 64-column boundary) sees a lone player at each of the 80 offsets; a melee enemy
    strikes when adjacent, else steps along the longer axis (ties: horizontally)."""
    env = wide_arena
    for dr in range(-4, 5):
        for dc in range(-4, 5):
            if dr == dc == 0:
                continue
            en = arena(env)
            place(env, 0, 20 + dr, col + dc)
            q = enemy(env, 0, 20, col)
            step(env)
            if abs(dr) + abs(dc) == 1:
                assert (en["r"][q], en["c"][q]) == (20, col) and en["hp"][0] == 99 - 18, (dr, dc)
                continue
            if abs(dr) > abs(dc):
                move = (1 if dr > 0 else -1, 0)
            else:
                move = (0, 1 if dc > 0 else -1)
            assert (en["r"][q] - 20, en["c"][q] - col) == move, (dr, dc)
            assert en["hp"][0] == 99


@pytest.mark.parametrize("kind,stat", [(SWORD, "atk"), (BOW, "atk"), (HELM, "def"), (CHEST, "def"),
                                       (LEGS, "def"), (TOOL, None)])
@pytest.mark.parametrize("tier", [1, 3, 5])
def test_equip_and_unequip(arena_env, kind, stat, tier):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE)
    env.inventory[0, 0, 2] = item(kind, tier)
    bonus = {SWORD: SWORD_ATK, BOW: BOW_ATK}.get(kind, ARMOUR_DEF)[tier] if stat else 0
    slot = slot_of(kind)
    value = 0.5 * tier / 5 if stat else 0.0
    rew = step(env, {0: ONE + 2})
    assert rew[0] == pytest.approx(value, abs=1e-6)
    assert env.equipped[0, 0, 2] == 1 and env.equipment[0, 0, slot] == item(kind, tier)
    field = "equipment_attack" if stat == "atk" else "equipment_defense"
    assert en[field][0] == bonus
    obs = env.observations[0]
    assert obs[1663 + slot] == item(kind, tier) and obs[1682] == 1
    assert obs[1695 if stat == "atk" else 1696] == bonus % 256
    if stat == "atk":   # the bonus is in the damage
        q = enemy(env, 0, HERE[0] + 1, HERE[1], hp=99, level=10)
        step(env, {0: ATTACK})
        assert en["hp"][q] == hp_after(99, max(0, 42 + bonus - 50), False)
        en["in_combat"][0] = 0
        en["hp"][q] = 0
        en["anim"][q] = DEATH
    rew = step(env, {0: ONE + 2})
    assert rew[0] == pytest.approx(-value, abs=1e-6)
    assert env.equipped[0, 0, 2] == 0 and env.equipment[0, 0, slot] == 0 and en[field][0] == 0


def test_equipment_rules(arena_env):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE)
    env.inventory[0, 0, :4] = [item(SWORD, 2), item(BOW, 1), item(FIRE_GEM, 3), item(ORE, 1)]
    assert step(env, {0: ONE})[0] == pytest.approx(0.2)
    assert step(env, {0: ONE + 1})[0] == 0 and env.equipment[0, 0, 3] == item(SWORD, 2)  # no swapping
    assert step(env, {0: ONE + 2})[0] == 0 and en["element"][0] == FIRE                  # gems: no reward
    assert step(env, {0: ONE + 3})[0] == 0 and env.equipped[0, 0, 3] == 0                  # not wearable
    en["in_combat"][0] = 2                                  # 1 after this tick's decrement: still in combat
    assert step(env, {0: ONE})[0] == 0 and env.equipped[0, 0, 0] == 1
    assert step(env, {0: ONE + 2})[0] == 0 and en["element"][0] == NEUTRAL                 # in_combat 0 now
    assert step(env, {0: ONE + 5})[0] == 0 and env.equipped[0, 0].sum() == 1   # an empty slot: nothing
    env.inventory[0, 0, 8] = item(HELM, 1)                  # slot 8 is the last a key reaches (NINE)
    env.inventory[0, 0, 9:12] = item(LEGS, 1)
    assert step(env, {0: NINE})[0] == pytest.approx(0.1) and en["equipment_defense"][0] == 8
    for a in (6, 7, 17, 18, 19):                            # UNUSED, UI, ZERO, MINUS, EQUALS: nothing
        assert step(env, {0: a})[0] == 0
    assert not env.equipped[0, 0, 9:].any() and en["equipment_defense"][0] == 8


@pytest.mark.parametrize("tier", [1, 2, 5])
def test_herb_heals_even_in_combat(arena_env, tier):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE, hp=10, in_combat=5)
    env.inventory[0, 0, 4] = item(HERB, tier)
    assert step(env, {0: ONE + 4})[0] == 0
    assert en["hp"][0] == min(99, 10 + 1 + 50 + 10 * tier) and env.inventory[0, 0, 4] == 0


def sell_flow(slot, price):
    return [SELL, ONE + slot, ONE + price - 1]


def buy_flow(tier, kind):
    return [BUY, ONE + tier - 1, ONE + kind - 1]


def test_selling_and_buying_move_gold_and_items(arena_env):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE)
    place(env, 1, HERE[0], HERE[1] + 10, gold=10)
    helm = item(HELM, 2)
    env.inventory[0, 0, 3] = helm
    step(env, {0: ONE + 3})                         # wear it: selling takes it off first
    assert en["equipment_defense"][0] == 16
    modes = []
    for a in sell_flow(3, 7):
        rew = step(env, {0: a})
        modes.append((en["ui_mode"][0], en["sell_idx"][0]))
    assert modes == [(SELL_SELECT, 0), (SELL_PRICE, 3), (PLAY, 3)]
    assert rew[0] == pytest.approx(-0.5 * 2 / 5 + 0.01)             # unequip + listing
    assert env.inventory[0, 0, 3] == 0 and env.equipped[0, 0, 3] == 0 and en["equipment_defense"][0] == 0
    assert env.market_count[0, helm] == 1 and env.market_seller[0, helm, 0] == 0
    assert env.market_price[0, helm, 0] == 7 and en["sales"][0] == 1 and en["gold"][0] == 0
    modes = []
    for a in buy_flow(2, HELM):
        rew = step(env, {1: a})
        modes.append((en["ui_mode"][1], en["market_tier"][1]))
    assert modes == [(BUY_TIER, 0), (BUY_ITEM, 2), (PLAY, 2)]
    assert rew[1] == pytest.approx(0.01) and rew[0] == 0
    assert en["gold"][1] == 3 and en["gold"][0] == 7 and env.inventory[0, 1, 0] == helm
    assert env.market_count[0, helm] == 0 and en["purchases"][1] == 1
    obs = env.observations
    assert obs[0, 1661] == 7 and obs[1, 1661] == 3 and obs[1, 1659] == 2 and obs[1, 1668] == helm


def test_market_stack_and_failures(arena_env):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE, gold=95)
    place(env, 1, HERE[0], HERE[1] + 10, gold=4)
    sword = item(SWORD, 1)
    env.inventory[0, 0, :2] = sword
    for a in sell_flow(0, 2) + sell_flow(1, 5):
        step(env, {0: a})
    assert env.market_count[0, sword] == 2 and list(env.market_price[0, sword, :2]) == [2, 5]
    for a in buy_flow(1, SWORD):                 # the top offer costs 5: not enough gold
        rew = step(env, {1: a})
    assert rew[1] == 0 and en["gold"][1] == 4 and env.market_count[0, sword] == 2 and en["ui_mode"][1] == PLAY
    en["gold"][1] = 99
    for a in buy_flow(1, SWORD):                 # the most recent offer, whatever its price
        step(env, {1: a})
    assert en["gold"][1] == 94 and en["gold"][0] == 99 and env.market_count[0, sword] == 1   # seller capped at 99
    env.inventory[0, 1, :] = item(HERB)          # a full inventory cannot buy
    for a in buy_flow(1, SWORD):
        step(env, {1: a})
    assert en["gold"][1] == 94 and env.market_count[0, sword] == 1
    # NOOP keeps a menu open; a move closes it and only turns the player
    r0 = (en["r"][1], en["c"][1])
    for a, mode in [(BUY, BUY_TIER), (NOOP, BUY_TIER), (NOOP, BUY_TIER), (UP, PLAY)]:
        step(env, {1: a})
        assert en["ui_mode"][1] == mode
    assert (en["r"][1], en["c"][1]) == r0 and en["dir"][1] == UP
    for a, mode in [(BUY, BUY_TIER), (ONE + 5, PLAY)]:        # tier 6 > tiers: closed
        step(env, {1: a})
        assert en["ui_mode"][1] == mode and en["market_tier"][1] == 1
    for a, mode in [(SELL, SELL_SELECT), (ONE + 4, PLAY)]:    # nothing in slot 4 of player 0
        step(env, {0: a})
        assert en["ui_mode"][0] == mode
    for a, mode in [(SELL, SELL_SELECT), (ONE, PLAY)]:        # number keys in combat close the menu
        en["in_combat"][1] = 3
        step(env, {1: a})
        assert en["ui_mode"][1] == mode
    # a full stack (32 offers) refuses the listing: the item stays, unequipped
    en["in_combat"][0] = 0
    env.inventory[0, 0, 0] = item(SWORD, 3)
    step(env, {0: ONE})
    env.market_count[0, item(SWORD, 3)] = 32
    env.market_seller[0, item(SWORD, 3)] = 1
    env.market_price[0, item(SWORD, 3)] = 1
    for a in sell_flow(0, 4):
        rew = step(env, {0: a})
    assert rew[0] == pytest.approx(-0.5 * 3 / 5)
    assert env.inventory[0, 0, 0] == item(SWORD, 3) and env.equipped[0, 0, 0] == 0
    assert env.market_count[0, item(SWORD, 3)] == 32 and en["sales"][0] == 2


@pytest.mark.parametrize("level", [1, 9, 20, 40])
def test_kill_levels_up_pays_and_drops_a_tool(arena_env, level):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE, comb_lvl=1, equipment_attack=400)
    er, ec = HERE[0] + 1, HERE[1]
    ground(env, er - 1, ec - 1, item(HERB))      # the first 3x3 tile holds an item: the next one gets it
    q = enemy(env, 0, er, ec, level=level, hp=1)
    rew = step(env, {0: ATTACK})
    assert rew[0] == 1.0 and en["comb_lvl"][0] == 2 and en["gold"][0] == 1 + level // 10
    assert en["hp"][q] == 0 and en["anim"][q] == DEATH and env.pids[0, er, ec] == q
    tool = item(TOOL, min(level_tier(level), 5))
    assert env.items[0, er - 1, ec] == tool
    assert env.observations[0, 1699] == 0        # reward / 20, truncated
    step(env)                                    # T+1: the corpse leaves the map
    assert env.pids[0, er, ec] == -1 and en["hp"][q] == 0
    step(env)                                    # T+2: respawned, same level, on a safe tile
    assert en["hp"][q] == 99 and en["comb_lvl"][q] == level and en["ranged"][q] == 0
    assert env.pids[0, en["r"][q], en["c"][q]] == q
    assert max(abs(en["r"][q] - HERE[0]), abs(en["c"][q] - HERE[1])) >= 5   # safe tile, then one step
    while env.ticks[0] < 20:
        step(env)
        assert env.items[0, er - 1, ec] == tool
    step(env)                                    # the drop despawns 20 ticks after it fell (tick 1)
    assert env.items[0, er - 1, ec] == 0 and env.items[0, er - 1, ec - 1] == item(HERB)


def test_kill_without_level_up(arena_env):
    env = arena_env
    for mine, theirs in [(5, 3), (40, 40)]:     # a weaker enemy; the level cap
        en = arena(env)
        place(env, 0, *HERE, comb_lvl=mine, equipment_attack=400)
        q = enemy(env, 0, HERE[0] + 1, HERE[1], level=theirs, hp=1)
        rew = step(env, {0: ATTACK})
        assert en["hp"][q] == 0 and rew[0] == 0 and en["comb_lvl"][0] == mine
        assert en["gold"][0] == 1 + theirs // 10
        assert env.items[0, HERE[0], HERE[1] - 1] == item(TOOL, min(level_tier(theirs), 5))


def test_loot_needs_an_item_free_tile_and_gold_is_capped(arena_env):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE, equipment_attack=400, gold=98)
    er, ec = HERE[0] + 1, HERE[1]
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            ground(env, er + dr, ec + dc, item(HERB))
    q = enemy(env, 0, er, ec, level=20, hp=1)
    step(env, {0: ATTACK})
    assert en["hp"][q] == 0 and en["gold"][0] == 99          # 98 + 3, capped
    assert (env.items[0, er - 1:er + 2, ec - 1:ec + 2] == item(HERB)).all()   # nowhere to drop
    assert (env.items[0] == item(TOOL, 3)).sum() == 0


def test_a_full_inventory_picks_nothing_up(arena_env):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE)
    env.inventory[0, 0, :] = item(HERB)
    ground(env, HERE[0] + 1, HERE[1], item(TOOL, 2))
    step(env, {0: DOWN})
    assert (en["r"][0], en["c"][0]) == (HERE[0] + 1, HERE[1])
    assert env.items[0, HERE[0] + 1, HERE[1]] == item(TOOL, 2) and (env.inventory[0, 0] == item(HERB)).all()


@pytest.mark.parametrize("ground_item,tool_tier,prof,expect", [
    (item(HILT, 1), 1, 1, (item(SWORD, 1), 2)),
    (item(WOOD, 2), 3, 1, (item(BOW, 2), 2)),
    (item(HERB, 1), 1, 7, (item(HERB, 1), 8)),
    (item(FIRE_GEM, 4), 4, 10, (item(FIRE_GEM, 4), 11)),
    (item(HILT, 1), 1, 8, (item(SWORD, 1), 8)),        # tier 1 levels the profession up to 8 only
    (item(HILT, 3), 2, 1, None),                        # the tool's tier is too low
    (item(ORE, 1), 0, 1, None),                         # no tool
])
def test_harvest(arena_env, ground_item, tool_tier, prof, expect):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE, prof_lvl=prof)
    if tool_tier:
        env.inventory[0, 0, 0] = item(TOOL, tool_tier)
        env.equipped[0, 0, 0] = 1
        env.equipment[0, 0, 3] = item(TOOL, tool_tier)
    ground(env, HERE[0] + 1, HERE[1], ground_item)
    rew = step(env, {0: DOWN})
    assert (en["r"][0], en["c"][0]) == (HERE[0] + 1, HERE[1]) and en["anim"][0] == MOVE
    assert env.observations[0, 1698] == 1        # pioneer: first visit of the tile
    if expect is None:
        assert env.items[0, HERE[0] + 1, HERE[1]] == ground_item
        assert np.count_nonzero(env.inventory[0, 0]) == (1 if tool_tier else 0)
        assert rew[0] == 0 and en["prof_lvl"][0] == prof
        return
    got, new_prof = expect
    assert env.inventory[0, 0, 1] == got and env.items[0, HERE[0] + 1, HERE[1]] == 0
    assert en["prof_lvl"][0] == new_prof and rew[0] == (0.75 if new_prof > prof else 0.0)
    while env.ticks[0] < 100:
        step(env)
        assert env.items[0, HERE[0] + 1, HERE[1]] == 0
    step(env)                                    # it grows back item_respawn_ticks (100) after tick 1
    assert env.items[0, HERE[0] + 1, HERE[1]] == ground_item


def test_ore_becomes_armour_and_tools_need_no_tool(arena_env):
    env = arena_env
    got = set()
    for seed in range(12):
        en = arena(env, seed)
        place(env, 0, *HERE)
        env.inventory[0, 0, 0] = env.equipment[0, 0, 3] = item(TOOL, 2)
        env.equipped[0, 0, 0] = 1
        ground(env, HERE[0], HERE[1] + 1, item(ORE, 2))
        ground(env, HERE[0], HERE[1] + 2, item(TOOL, 5))
        step(env, {0: RIGHT})
        got.add(int(env.inventory[0, 0, 1]))
        env.equipped[0, 0, 0] = 0
        env.equipment[0, 0, 3] = 0
        step(env, {0: RIGHT})                    # a tool on the ground is taken with no tool held
        assert env.inventory[0, 0, 2] == item(TOOL, 5) and env.items[0, HERE[0], HERE[1] + 2] == 0
        assert en["prof_lvl"][0] == 2
    assert got <= {item(HELM, 2), item(CHEST, 2), item(LEGS, 2)} and len(got) >= 2


def test_run_skips_the_middle_tile_and_needs_both_free(arena_env):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE)
    env.inventory[0, 0, 0] = env.equipment[0, 0, 3] = item(TOOL, 1)
    env.equipped[0, 0, 0] = 1
    ground(env, HERE[0] + 1, HERE[1], item(HERB))
    ground(env, HERE[0] + 2, HERE[1], item(HILT))
    step(env, {0: RUN_DOWN})
    assert (en["r"][0], en["c"][0]) == (HERE[0] + 2, HERE[1]) and en["anim"][0] == RUN
    assert env.items[0, HERE[0] + 1, HERE[1]] == item(HERB) and env.inventory[0, 0, 1] == item(SWORD)
    assert env.visits[0, HERE[0] + 1, HERE[1]] == 0 and env.visits[0, HERE[0] + 2, HERE[1]] == 1
    place(env, 1, HERE[0] + 4, HERE[1])          # the far tile is taken: no run at all
    step(env, {0: RUN_DOWN})
    assert (en["r"][0], en["c"][0]) == (HERE[0] + 2, HERE[1]) and en["anim"][0] == IDLE and en["dir"][0] == DOWN
    env.terrain[0, HERE[0] + 2, HERE[1] + 1] = 8   # stone: no move, but the player turns
    step(env, {0: RIGHT})
    assert (en["r"][0], en["c"][0]) == (HERE[0] + 2, HERE[1]) and en["dir"][0] == RIGHT
    step(env, {0: UP})
    assert (en["r"][0], en["c"][0]) == (HERE[0] + 1, HERE[1]) and env.inventory[0, 0, 2] == item(HERB)
    assert env.observations[0, 1698] == 1 and env.visits[0, HERE[0] + 1, HERE[1]] == 1


def test_stagnation_resets_at_tick_500():
    """No enemies: a player whose min(combat, profession) level has not risen in 500 ticks
    is logged and respawned; the reward of the reset tick is not the previous one."""
    env = NMMO3(**{**ARENA, "num_enemies": 0})
    en = arena(env)
    place(env, 0, *HERE)
    for t in range(1, 501):
        if t == 250:
            en["comb_lvl"][0] = 2                       # only one of the two levels
            en["comb_lvl"][1], en["prof_lvl"][1] = 3, 2  # both
        if t == 499:
            env.inventory[0, 0, 0] = item(SWORD, 5)
        rew = step(env, {0: ONE} if t == 499 else None)
        if t == 499:
            assert rew[0] == pytest.approx(0.5) and env.log() == {}
            old = (en["r"][0], en["c"][0])
    assert rew[0] == 0
    assert en["time_alive"][0] == 0 and en["comb_lvl"][0] == 1 and env.inventory[0, 0, 0] == 0
    assert (en["spawn_r"][0], en["spawn_c"][0]) == (en["r"][0], en["c"][0]) != old
    assert en["time_alive"][1] == 500 and en["comb_lvl"][1] == 3
    assert en["time_alive"][2] == 0                     # player 2 never levelled: reset too
    log = env.log()
    assert log["n"] == 2 and log["episode_length"] == 500 and log["min_comb_prof"] == 1
    assert log["perf"] == pytest.approx(1 / 40) and log["score"] == 1
    assert log["return_item_atk_lvl"] == pytest.approx(0.25) and log["equip_attack"] == 384 / 2
    for _ in range(500):
        step(env)
    assert en["time_alive"][1] == 0 and en["comb_lvl"][1] == 1     # 500 ticks at level 2: reset
    assert env.log()["n"] == 3


def test_death_and_respawn_timeline(arena_env):
    env = arena_env
    en = arena(env)
    place(env, 0, *HERE, hp=1, gold=30, element=FIRE)
    env.inventory[0, 0, 0] = env.equipment[0, 0, 4] = item(FIRE_GEM)
    env.equipped[0, 0, 0] = 1
    q = enemy(env, 0, HERE[0] + 1, HERE[1])
    rew = step(env)                              # regenerates to 2, then takes 18
    assert en["hp"][0] == 0 and rew[0] == -0.5 and env.observations[0, 1697] == 1
    log = env.log()
    assert log["n"] == 1 and log["return_death"] == -0.5 and log["episode_length"] == 1
    assert (log["r"], log["c"]) == HERE
    for anim, on_map in [(DEATH, True), (DEATH, False)]:          # T+1, T+2
        rew = step(env, {0: RIGHT})              # actions are ignored while dead
        assert en["hp"][0] == 0 and en["anim"][0] == anim and (en["r"][0], en["c"][0]) == HERE
        assert (env.pids[0, HERE[0], HERE[1]] == 0) == on_map and rew[0] == 0
        assert env.observations[0, 1697] == 0
    rew = step(env)                              # T+3: a fresh level-1 player elsewhere
    assert en["hp"][0] == 99 and en["comb_lvl"][0] == 1 and en["gold"][0] == 0 and rew[0] == 0
    assert en["time_alive"][0] == 0 and env.inventory[0, 0, 0] == 0 and env.equipment[0, 0, 4] == 0
    assert en["element"][0] == FIRE              # kept from the gem worn at death, as in the C game
    r, c = en["r"][0], en["c"][0]
    assert env.pids[0, r, c] == 0 and max(abs(r - en["r"][q]), abs(c - en["c"][q])) >= 5


def test_the_death_flag_does_not_depend_on_reward_death():
    env = NMMO3(**{**ARENA, "reward_death": 0.0})
    en = arena(env)
    place(env, 0, *HERE, hp=1)
    enemy(env, 0, HERE[0] + 1, HERE[1])
    rew = step(env)
    assert en["hp"][0] == 0 and rew[0] == 0 and env.observations[0, 1697] == 1
    step(env)
    assert env.observations[0, 1697] == 0
    env.close()


# =============================================================================================
# Observations
# =============================================================================================
def expected_obs(env, e, p):
    """Player ``p`` of env ``e``'s observation, from the docs page's layout."""
    yw, xw = env.y_window, env.x_window
    en = env.entities[e]
    r, c, me = en["r"][p], en["c"][p], en["comb_lvl"][p]
    rows, cols = slice(r - yw, r + yw + 1), slice(c - xw, c + xw + 1)
    t = env.terrain[e, rows, cols].astype(np.int64)
    it = env.items[e, rows, cols].astype(np.int64)
    pid = env.pids[e, rows, cols]
    win = np.zeros(t.shape + (10,), np.int64)
    win[..., 0], win[..., 1], win[..., 2], win[..., 3] = t & 3, t >> 2, it % 17, it // 17
    on = pid >= 0
    seen = en[pid[on]]
    win[on, 4], win[on, 5] = seen["kind"], seen["element"]
    win[on, 6] = np.clip(np.trunc((seen["comb_lvl"] - me) / 2), 0, 4)
    win[on, 7], win[on, 8], win[on, 9] = seen["hp"] // 20, seen["anim"], seen["dir"]
    x = en[p]
    block = [x[k] for k in ("kind", "comb_lvl", "element", "dir", "anim", "hp", "hp_max", "prof_lvl", "ui_mode",
                            "market_tier", "sell_idx", "gold", "in_combat")]
    block += list(env.equipment[e, p]) + list(env.inventory[e, p]) + list(env.equipped[e, p])
    block += [x["wander_range"], x["ranged"], x["goal"], x["equipment_attack"], x["equipment_defense"]]
    pl = env.players[e, p]
    flags = [pl["died"] != 0, pl["pioneer"] != 0]
    flags += [math.trunc(float(pl["t_" + k]) / 20) for k in ("comb_lvl", "prof_lvl", "item_atk_lvl",
                                                              "item_def_lvl", "item_tool", "market_buy",
                                                              "market_sell")]
    flags += [0]
    out = np.concatenate([win.ravel(), np.array(block, np.int64), np.array(flags, np.int64)])
    return (out & 255).astype(np.uint8)


@pytest.mark.parametrize("windows", [(7, 5), (6, 8)])
def test_observations_follow_the_documented_layout(windows):
    xw, yw = windows
    env = NMMO3(**{**NMMO3.test_config(), "x_window": xw, "y_window": yw, "width": 56, "height": 48})
    env.reset(seed=5)
    rng = np.random.default_rng(5)
    plans = [rng.integers(0, 26, 50).tolist() for _ in range(5)] + [[ATTACK, 22, 23, 24, 25], [ONE, BUY, ONE, ONE]]
    for t in range(120):
        if t == 1:
            give_kit(env, rng)
        if t:
            env.step(np.array([plans[a % len(plans)][t % len(plans[a % len(plans)])]
                               for a in range(env.num_agents)], np.int32))
        obs = env.observations.reshape(env.num_envs, env.num_players, -1)
        for e in range(env.num_envs):
            for p in range(env.num_players):
                assert np.array_equal(obs[e, p], expected_obs(env, e, p)), (t, e, p)


def test_observation_indices_at_the_defaults(arena_env):
    env = arena_env
    assert env.single_observation_space.shape == (1707,)
    en = arena(env)
    place(env, 0, *HERE, gold=42, in_combat=3)
    env.inventory[0, 0, 11] = item(HERB, 2)
    ground(env, HERE[0] - 5, HERE[1] + 2 - 7, item(FIRE_GEM, 3))  # the top-left tile of the window
    q = enemy(env, 0, HERE[0] + 2, HERE[1] + 3, level=9)
    step(env, {0: RUN_DOWN + 2})                                  # run right: (20, 32)
    o = env.observations[0]
    assert (en["r"][0], en["c"][0]) == (HERE[0], HERE[1] + 2)
    centre = (5 * 15 + 7) * 10
    assert centre == 820 and list(o[820:830]) == [0, 0, 0, 0, PLAYER, 0, 0, 4, RUN, RIGHT]
    er, ec = en["r"][q] - HERE[0] + 5, en["c"][q] - (HERE[1] + 2) + 7   # wherever the enemy went
    k = (er * 15 + ec) * 10
    assert list(o[k + 4:k + 7]) == [ENEMY, 0, 4]                  # (9 - 1) / 2 = 4: the top mark
    assert list(o[0:4]) == [0, 0, FIRE_GEM, 2]                    # spring grass, a tier-3 fire gem
    assert list(o[1650:1663]) == [PLAYER, 1, 0, RIGHT, RUN, 99, 99, 1, PLAY, 0, 0, 42, 2]
    assert o[1679] == item(HERB, 2) and o[1691] == 0
    assert o[1692] == 0 and o[1693] == 0 and o[1694] in (0, 1)
    assert o[1698] == 1 and list(o[1699:1707]) == [0] * 8


# =============================================================================================
# Seeding and reset
# =============================================================================================
def trajectory(env, seed, steps, actions_seed=0):
    env.reset(seed=seed)
    rng = np.random.default_rng(actions_seed)
    out = [env.observations.copy()]
    for _ in range(steps):
        _, rew, _, _, _ = env.step(random_actions(env, rng))
        out += [env.observations.copy(), rew.copy()]
    return out, [env.state(e, copy=True) for e in range(env.num_envs)]


def same_state(a, b):
    return all(a[k].tobytes() == b[k].tobytes() for k in STATE_KEYS)


def test_seeded_determinism():
    cfg = NMMO3.test_config()
    a, b = NMMO3(**cfg), NMMO3(**cfg)
    ta, sa = trajectory(a, 7, 150)
    tb, sb = trajectory(b, 7, 150)
    assert all(np.array_equal(x, y) for x, y in zip(ta, tb))
    assert all(same_state(x, y) for x, y in zip(sa, sb))
    a.reset(seed=7)
    b.reset(seed=8)
    assert not np.array_equal(a.state(0)["terrain"], b.state(0)["terrain"])
    assert np.array_equal(a.state(1)["terrain"], b.state(0)["terrain"])   # env e uses seed + e


def test_reset_gives_the_same_world_whatever_ran_before():
    cfg = {**NMMO3.test_config(), "teleportitis_prob": 0.05}
    fresh, used = NMMO3(**cfg), NMMO3(**cfg)
    fresh.reset(seed=21)
    ref = [fresh.state(e, copy=True) for e in range(2)]
    ref_obs = fresh.observations.copy()
    used.reset(seed=2)
    give_kit(used, np.random.default_rng(2))
    rng = np.random.default_rng(2)
    plans = [sell_flow(k, 3) + buy_flow(1, k + 1) for k in range(9)]
    for t in range(600):
        acts = random_actions(used, rng) if t >= 60 else np.array(
            [plans[a % 9][t % 6] for a in range(used.num_agents)], np.int32)
        used.step(acts)
    assert used.market_count.sum() > 0 and used.visits.any()
    used.reset(seed=21)
    assert all(same_state(ref[e], used.state(e)) for e in range(2))
    assert np.array_equal(ref_obs, used.observations)
    assert not used.visits.any() and used.log() == {}
    ta, sa = trajectory(fresh, 21, 200, actions_seed=9)
    tb, sb = trajectory(used, 21, 200, actions_seed=9)
    assert all(np.array_equal(x, y) for x, y in zip(ta, tb))
    assert all(same_state(x, y) for x, y in zip(sa, sb))


def test_make_and_render():
    env = pufferlib.make("puffer_nmmo3", **NMMO3.test_config(), render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert "@" in text and set(text) <= set(".^~*@pex\n")
