"""The Neural MMO 3 env class and its reset / step kernels (``docs/envs/nmmo3.md``)."""
from __future__ import annotations

import math

import gymnasium
import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.ocean.core import Array, OceanEnv, check_float, check_int, kernel, next_u32, rand_below
from pufferlib.ocean.nmmo3.combat import enemy_act, player_attack
from pufferlib.ocean.nmmo3.constants import (A_BUY, A_NINE, A_NOOP, A_ONE, A_RUN_DOWN, A_RUN_LEFT, A_SELL,
                                             A_ATTACK, BUY_ITEM, BUY_TIER, CHANNELS, DEATH, ENEMY,
                                             ENEMY_WANDER_RANGE, ENTITY_DTYPE, ENV_DTYPE, EQUIP_SLOTS, HISTORY,
                                             IDLE, INVENTORY, ITEM_TYPES, LOG_FIELDS, MARKET_DEPTH, MAX_HP,
                                             MAX_TIERS, NEUTRAL, NUM_ACTIONS, NUM_ITEM_IDS, PLAY, PLAYER,
                                             PLAYER_DTYPE, PLAYER_OBS, REWARD_OBS, SEASON_ELEMENT, SELL_PRICE,
                                             SELL_SELECT, USABLE_SLOTS)
from pufferlib.ocean.nmmo3.entities import (clear_returns, clear_terms, draw_entities, draw_tiles, log_player, set_item,
                                            spawn, stagnated, teleport, unplace)
from pufferlib.ocean.nmmo3.items import buy, player_move, sell, use_item
from pufferlib.ocean.nmmo3.observations import observe_agent
from pufferlib.ocean.nmmo3.terrain import generate_terrain, place_items

#: Colour of each terrain byte (4 * class + season) in ``render_mode='rgb_array'``.
TILE_RGB = np.array([[90, 170, 70], [120, 180, 60], [170, 150, 60], [200, 215, 200],     # grass
                     [140, 110, 70], [150, 115, 70], [160, 120, 70], [170, 150, 130],    # dirt
                     [120, 120, 120], [130, 125, 115], [125, 115, 110], [170, 170, 180],  # stone
                     [40, 90, 190], [40, 100, 180], [50, 90, 160], [120, 160, 210]], np.uint8)  # water
RANGED_LEVEL = 15      # enemies of this level or above shoot, with their spawn biome's element
MAX_FILL_QUEUE = 4000


@kernel
def sample_enemy_level(env, levels):
    """``floor(1 + 8X)``, X = -log2(1 - u), redrawn above ``levels``; then 1 with probability 1/8."""
    while True:
        u = next_u32(env) * (1.0 / 4294967296.0)
        level = np.int64(1.0 - 8.0 * math.log2(1.0 - u))
        if level <= levels:
            break
    if rand_below(env, 8) == 0:
        level = 1
    return level


@kernel
def reset_env(w, e):
    """A fresh map of env ``e``: terrain, ground items, players, enemies; empty market."""
    env = w.envs[e]
    w.ticks[e] = 0
    env["regrow_head"] = 0
    env["regrow_count"] = 0
    env["respawn_head"] = 0
    env["respawn_count"] = 0
    env["despawn_head"] = 0
    env["despawn_count"] = 0
    for item in range(NUM_ITEM_IDS):
        w.market_count[e, item] = 0
    generate_terrain(w, e)
    h = env["height"]
    wd = env["width"]
    for r in range(h):
        for c in range(wd):
            w.pids[e, r, c] = -1
            w.items[e, r, c] = 0
            w.visits[e, r, c] = 0
    for r in range(h):
        for k in range(w.player_bits.shape[2]):
            w.player_bits[e, r, k] = 0
    place_items(w, e)
    num_players = env["num_players"]
    for pid in range(num_players + env["num_enemies"]):
        ent = w.entities[e, pid]
        ent["kind"] = 0
        ent["hp"] = 0
        ent["comb_lvl"] = 0
        ent["prof_lvl"] = 0
        ent["dir"] = 0
        ent["anim"] = 0
        ent["in_combat"] = 0
        ent["element"] = 0
        ent["ui_mode"] = 0
        ent["sell_idx"] = 0
        ent["gold"] = 0
        ent["equipment_attack"] = 0
        ent["equipment_defense"] = 0
        ent["wander_range"] = 0
        ent["ranged"] = 0
        ent["goal"] = 0
        ent["time_alive"] = 0
        ent["purchases"] = 0
        ent["sales"] = 0
        ent["level"] = 0
        ent["hp_max"] = MAX_HP
        ent["market_tier"] = 0
        if pid < num_players:
            ent["kind"] = PLAYER
            ent["level"] = 1
            clear_terms(w.players[e, pid])
            clear_returns(w.players[e, pid])
            spawn(w, e, pid)
        else:
            level = sample_enemy_level(env, env["levels"])
            ent["kind"] = ENEMY
            ent["level"] = level
            ent["wander_range"] = ENEMY_WANDER_RANGE
            spawn(w, e, pid)
            ent["comb_lvl"] = level
            if level >= RANGED_LEVEL:
                ent["ranged"] = 1
                ent["element"] = SEASON_ELEMENT[w.terrain[e, ent["r"], ent["c"]] & 3]
    draw_tiles(w, e)


@kernel
def run_events(w, e, tick):
    """Resource regrowth, enemy respawns and drop despawns due at ``tick``, in that order."""
    env = w.envs[e]
    wd = env["width"]
    q = w.regrow[e]
    cap = q.shape[0]
    while env["regrow_count"] > 0 and q[env["regrow_head"], 0] <= tick:
        k = env["regrow_head"]
        cell = q[k, 1]
        set_item(w, e, cell // wd, cell % wd, q[k, 2])
        env["regrow_head"] = k + 1 if k + 1 < cap else 0
        env["regrow_count"] -= 1
    q = w.respawn[e]
    cap = q.shape[0]
    while env["respawn_count"] > 0 and q[env["respawn_head"], 0] <= tick:
        k = env["respawn_head"]
        pid = q[k, 1]
        ent = w.entities[e, pid]
        spawn(w, e, pid)
        ent["comb_lvl"] = ent["level"]
        env["respawn_head"] = k + 1 if k + 1 < cap else 0
        env["respawn_count"] -= 1
    q = w.despawn[e]
    cap = q.shape[0]
    while env["despawn_count"] > 0 and q[env["despawn_head"], 0] <= tick:
        k = env["despawn_head"]
        cell = q[k, 1]
        r = cell // wd
        c = cell % wd
        if w.items[e, r, c] == q[k, 2]:
            set_item(w, e, r, c, 0)
        env["despawn_head"] = k + 1 if k + 1 < cap else 0
        env["despawn_count"] -= 1


@kernel
def player_act(w, e, p, a):
    """Player ``p`` acts ``a``: menus (buy: tier then item; sell: slot then price) or, in
    PLAY mode, move / run / attack / use a slot / open a menu."""
    env = w.envs[e]
    ent = w.entities[e, p]
    if a <= 3:
        ent["dir"] = a
    elif a >= A_RUN_DOWN:
        ent["dir"] = a - A_RUN_DOWN
    mode = ent["ui_mode"]
    number = a >= A_ONE and a <= A_NINE
    k = a - A_ONE
    if mode != PLAY:
        if a != A_NOOP:
            ent["ui_mode"] = PLAY
        if not number or ent["in_combat"] > 0:
            return
        if mode == BUY_TIER:
            if k < env["tiers"]:
                ent["market_tier"] = k + 1
                ent["ui_mode"] = BUY_ITEM
        elif mode == BUY_ITEM:
            buy(w, e, p, ITEM_TYPES * (ent["market_tier"] - 1) + k + 1)
        elif mode == SELL_SELECT:
            if w.inventory[e, p, k] != 0:
                ent["sell_idx"] = k
                ent["ui_mode"] = SELL_PRICE
        else:
            sell(w, e, p, ent["sell_idx"], k + 1)
        return
    if a <= 3:
        player_move(w, e, p, a, False)
    elif a >= A_RUN_DOWN:
        player_move(w, e, p, a - A_RUN_DOWN, True)
    elif a == A_ATTACK:
        player_attack(w, e, p)
    elif number:
        if w.inventory[e, p, k] != 0:  # (a call passes the whole world: skip it for an empty slot)
            use_item(w, e, p, k)
    elif a == A_BUY:
        ent["ui_mode"] = BUY_TIER
    elif a == A_SELL:
        ent["ui_mode"] = SELL_SELECT


@kernel
def step_env(w, e):
    """One tick of env ``e`` (docs/envs/nmmo3.md, Tick order)."""
    env = w.envs[e]
    tick = w.ticks[e] + 1
    w.ticks[e] = tick
    draw_entities(w, e, False)
    run_events(w, e, tick)
    num_players = np.uint32(env["num_players"])
    total = num_players + np.uint32(env["num_enemies"])
    base = e * num_players
    threshold = np.uint64(env["teleportitis"] * 4294967296.0)
    for pid in range(np.uint32(0), total):
        ent = w.entities[e, pid]
        is_player = pid < num_players
        ent["time_alive"] += 1
        if is_player:
            clear_terms(w.players[e, pid])
        if ent["hp"] == 0:
            if ent["anim"] != DEATH:
                ent["anim"] = DEATH
            elif w.pids[e, ent["r"], ent["c"]] == pid:
                unplace(w, e, ent["r"], ent["c"])
            elif is_player:
                spawn(w, e, pid)
            continue
        if next_u32(env) < threshold:
            teleport(w, e, pid)
        if is_player and stagnated(w, e, pid):
            log_player(w, e, pid)
            unplace(w, e, ent["r"], ent["c"])
            spawn(w, e, pid)
            continue
        ent["anim"] = IDLE
        if ent["hp"] < ent["hp_max"]:
            ent["hp"] += 1
        if ent["in_combat"] > 0:
            ent["in_combat"] -= 1
        if is_player:
            player_act(w, e, pid, w.actions[base + pid])
        else:
            enemy_act(w, e, pid)
    draw_entities(w, e, True)
    for p in range(num_players):
        pl = w.players[e, p]
        w.rewards[base + p] = (pl["t_death"] + pl["t_comb_lvl"] + pl["t_prof_lvl"] + pl["t_item_atk_lvl"]
                               + pl["t_item_def_lvl"] + pl["t_market_buy"] + pl["t_market_sell"])


def _default(value, fallback):
    return fallback if value is None else value


class NMMO3(OceanEnv):
    """Neural MMO 3 (``docs/envs/nmmo3.md``): ``num_envs`` worlds of ``num_players`` learning
    players and ``num_enemies`` scripted enemies on procedurally generated tile maps.

    Players fight enemies, pick up the tools they drop, harvest resources with them,
    equip gear, trade on a per-env market and gain combat and profession levels. The env
    is continuing: terminals and truncations stay False; a player's episode (for the log)
    ends at death or at a stagnation reset (no level gained in 500 ticks), after which it
    respawns as a fresh level-1 character.

    Args:
        num_envs: worlds, >= 1. Agents = ``num_envs * num_players``; agent ``e*num_players + p``
            is player ``p`` of world ``e``.
        width, height: map size in tiles, each >= ``2*window + 16`` (default 512).
        num_players, num_enemies: per world (None: ``W*H//2048`` and ``W*H//512``); together
            at most 1/8 of the tiles inside the border.
        num_resources: ore and herb items each (None: ``W*H//1024``).
        num_weapons: hilt and wood items each (None: ``W*H//2048``).
        num_gems: gems of each of the 4 kinds (None: ``W*H//4096``).
        tiers: item tiers, 1..5 (None: 1..5 by map height: <=128, <=256, <=512, <=1024, more).
        levels: level cap, 1..99 (None: 7, 15, 31, 63 or 99 by the same height bands).
        teleportitis_prob: chance per alive entity per tick of a jump to a random safe tile, in [0, 1].
        enemy_respawn_ticks: ticks from an enemy's death to its respawn, >= 2.
        item_respawn_ticks: ticks from a harvest to the resource regrowing, >= 1.
        x_window, y_window: observation half-width / half-height in tiles, also the water
            border's thickness, each in [5, 32] (default 7, 5: an 11x15 window).
        reward_combat_level, reward_prof_level: reward of a combat / profession level-up.
        reward_item_level: scale of the equip reward (``reward_item_level * tier / tiers``).
        reward_market: reward of a purchase and of a listing.
        reward_death: reward on the tick a player dies.
        log_interval, num_threads, buf, seed, device, render_mode: as every Ocean env
            (see :class:`pufferlib.ocean.core.OceanEnv`); world ``e`` is seeded with ``seed + e``.

    Spaces: observation ``Box(0, 255, (OBS,), uint8)`` with ``OBS = (2*y_window+1) *
    (2*x_window+1) * 10 + 47 + 10`` (1707 by default; layout in the docs page);
    action ``Discrete(26)`` (0-3 move down/up/right/left, 4 noop, 5 attack, 8-16 number
    keys 1-9, 20 buy, 21 sell, 22-25 run; the others do nothing).

    Rewards (float32, per player per tick): the sum of the terms that happened this
    tick: ``reward_death`` on death, combat / profession level-ups, +-``reward_item_level
    * tier / tiers`` on equipping / unequipping a weapon or armour, ``reward_market`` per
    purchase or listing.

    Log fields (means per finished player episode): ``perf`` (min_comb_prof / levels),
    ``score`` (= ``min_comb_prof``, the minimum of combat and profession level),
    ``episode_return``, ``episode_length``, ``return_<term>`` per reward term,
    ``min_comb_prof``, ``purchases``, ``sales``, ``equip_attack``, ``equip_defense``,
    ``r``, ``c`` (position at the end), and ``n``.

    ``state(env_id)``: read-only views, with no copy, of world ``env_id``: ``terrain``
    ``(H, W)`` int8 (tile = 4 * class + season; classes 0 grass, 2 stone, 3 water);
    ``entities`` ``(num_players + num_enemies,)`` records, players first, whose first ten
    fields are int32 ``kind, r, c, hp, hp_max, comb_lvl, prof_lvl, dir, anim, in_combat``
    (:func:`entity_table` reads them as an ``(N, 10)`` int32 array); ``tick`` (0-d int32);
    ``items`` ``(H, W)`` uint8 item ids; ``pids`` ``(H, W)`` int32 entity on each tile (-1:
    none); ``inventory``, ``equipped`` ``(num_players, 12)`` and ``equipment``
    ``(num_players, 5)`` uint8; ``market_count`` ``(85,)`` int32 offers per item id. Views
    follow later steps and must not be used after ``close()``; ``state(env_id,
    copy=True)`` gives a stable snapshot.

    Raises:
        APIUsageError: invalid configuration (the message names the parameter).

    Differences from the C reference (PufferLib 3.0 ``ocean/nmmo3``), on purpose:

    - Every random draw comes from the world's own seeded generator (the C uses the
      process-wide ``rand()``), so a seed gives the same world and trajectory everywhere.
    - Observation channels 4-9 of a tile with no entity are 0 (the C leaves whatever an
      entity there wrote in an earlier tick, so stale "entities" show on water and stone).
    - The death reward is ``reward_death`` (the C hard-codes -1 in the step reward) and is
      given once, on the death tick; the C repeats the whole last reward on the three
      following ticks, and a player reset for stagnation gets its previous tick's reward
      again. Here every player's reward terms are cleared every tick.
    - ``reset()`` clears the market, the visit counts and the pending drop despawns, so a
      seed gives the same world whatever ran before (the C keeps all three).
    - Ground-item quotas are met as far as the map allows (the C asserts); when no safe
      tile is found after 4096 draws a spawn takes any free grass tile, and on a map with
      none left any free tile inside the border (the C retries forever).
    - The death flag of the observation (reward block, first value) is set on the tick a
      player dies whatever ``reward_death`` is (the C sets it from the reward term, which it
      hard-codes to -1).
    """

    WORLD = {
        "envs": Array(ENV_DTYPE, "num_envs"),
        "ticks": Array(np.int32, "num_envs"),
        "terrain": Array(np.int8, "num_envs", "height", "width"),
        "pids": Array(np.int32, "num_envs", "height", "width", fill=-1),
        "items": Array(np.uint8, "num_envs", "height", "width"),
        "visits": Array(np.uint8, "num_envs", "height", "width"),
        "player_bits": Array(np.uint64, "num_envs", "height", "bit_words"),
        "tile_obs": Array(np.uint8, "num_envs", "height", "row_channels"),
        "entities": Array(ENTITY_DTYPE, "num_envs", "num_entities"),
        "players": Array(PLAYER_DTYPE, "num_envs", "num_players"),
        "equipment": Array(np.uint8, "num_envs", "num_players", EQUIP_SLOTS),
        "inventory": Array(np.uint8, "num_envs", "num_players", INVENTORY),
        "equipped": Array(np.uint8, "num_envs", "num_players", INVENTORY),
        "history": Array(np.uint8, "num_envs", "num_players", HISTORY),
        "market_seller": Array(np.int32, "num_envs", NUM_ITEM_IDS, MARKET_DEPTH),
        "market_price": Array(np.int32, "num_envs", NUM_ITEM_IDS, MARKET_DEPTH),
        "market_count": Array(np.int32, "num_envs", NUM_ITEM_IDS),
        "regrow": Array(np.int32, "num_envs", "regrow_capacity", 3),
        "respawn": Array(np.int32, "num_envs", "num_enemies_rows", 3),
        "despawn": Array(np.int32, "num_envs", "despawn_capacity", 3),
        # scratch space of the terrain generator
        "noise": Array(np.float32, "num_envs", "height", "width"),
        "labels": Array(np.int8, "num_envs", "height", "width"),
        "perm": Array(np.int32, "num_envs", "num_cells"),
        "queue": Array(np.int32, "num_envs", MAX_FILL_QUEUE),
    }
    #: ``state()`` name -> world array (``tick`` is the world array ``ticks``: ``env.tick``
    #: is already the base class's step counter).
    STATE = {name: name for name in ("terrain", "entities", "items", "pids", "inventory", "equipped",
                                     "equipment", "market_count")}
    STATE["tick"] = "ticks"
    LOG_FIELDS = LOG_FIELDS
    reset_env = reset_env
    step_env = step_env
    observe_agent = observe_agent

    @classmethod
    def test_config(cls):
        return {"num_envs": 2, "width": 48, "height": 40, "num_players": 6, "num_enemies": 12,
                "num_resources": 12, "num_weapons": 6, "num_gems": 3, "levels": 12, "teleportitis_prob": 0.01}

    def __init__(self, num_envs=4, width=512, height=512, num_players=1024, num_enemies=2048, num_resources=2048,
                 num_weapons=1024, num_gems=512, tiers=5, levels=40, teleportitis_prob=0.001,
                 enemy_respawn_ticks=2, item_respawn_ticks=100, x_window=7, y_window=5, reward_combat_level=1.0,
                 reward_prof_level=1.0, reward_item_level=0.5, reward_market=0.01, reward_death=-1.0,
                 log_interval=128, num_threads=1, buf=None, seed=0, device="cpu", render_mode=None):
        self.x_window = check_int("x_window", x_window, 5, 32)
        self.y_window = check_int("y_window", y_window, 5, 32)
        self.width = check_int("width", width, 2 * self.x_window + 16, 8192)
        self.height = check_int("height", height, 2 * self.y_window + 16, 8192)
        area = self.width * self.height
        h = self.height
        band = 0 if h <= 128 else 1 if h <= 256 else 2 if h <= 512 else 3 if h <= 1024 else 4
        self.num_players = check_int("num_players", _default(num_players, area // 2048), 1)
        self.num_enemies = check_int("num_enemies", _default(num_enemies, area // 512), 0)
        self.num_resources = check_int("num_resources", _default(num_resources, area // 1024), 0)
        self.num_weapons = check_int("num_weapons", _default(num_weapons, area // 2048), 0)
        self.num_gems = check_int("num_gems", _default(num_gems, area // 4096), 0)
        self.tiers = check_int("tiers", _default(tiers, band + 1), 1, MAX_TIERS)
        self.levels = check_int("levels", _default(levels, (7, 15, 31, 63, 99)[band]), 1, 99)
        self.teleportitis_prob = check_float("teleportitis_prob", teleportitis_prob)
        if not 0.0 <= self.teleportitis_prob <= 1.0:
            raise APIUsageError(f"teleportitis_prob must be in [0, 1], got {teleportitis_prob!r}")
        self.enemy_respawn_ticks = check_int("enemy_respawn_ticks", enemy_respawn_ticks, 2, 10**6)
        self.item_respawn_ticks = check_int("item_respawn_ticks", item_respawn_ticks, 1, 10**6)
        inside = (self.width - 2 * self.x_window) * (self.height - 2 * self.y_window)
        if 8 * (self.num_players + self.num_enemies) > inside:
            raise APIUsageError(
                f"num_players + num_enemies = {self.num_players + self.num_enemies} is more than 1/8 of the "
                f"{inside} tiles inside the border of a {self.width}x{self.height} map; use a larger map or "
                f"fewer entities")
        self.rewards_config = {k: check_float(k, v) for k, v in (
            ("reward_combat_level", reward_combat_level), ("reward_prof_level", reward_prof_level),
            ("reward_item_level", reward_item_level), ("reward_market", reward_market),
            ("reward_death", reward_death))}
        self.num_entities = self.num_players + self.num_enemies
        self.num_cells = area
        self.row_channels = self.width * CHANNELS
        self.bit_words = self.width // 64 + 2
        self.regrow_capacity = max(1, 2 * (self.num_resources + self.num_weapons) + 4 * self.num_gems)
        # A drop despawns 20 ticks after it appears; in 21 ticks an enemy dies at most 11
        # times (it respawns 2 ticks after death) and each player kills at most 21 times.
        self.despawn_capacity = max(1, min(11 * self.num_enemies, 21 * self.num_players) + 1)
        self.num_enemies_rows = max(1, self.num_enemies)
        obs = (2 * self.y_window + 1) * (2 * self.x_window + 1) * CHANNELS + PLAYER_OBS + REWARD_OBS
        self.single_observation_space = gymnasium.spaces.Box(low=0, high=255, shape=(obs,), dtype=np.uint8)
        self.single_action_space = gymnasium.spaces.Discrete(NUM_ACTIONS)
        super().__init__(num_envs=num_envs, agents_per_env=self.num_players, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def render_rgb(self, state):
        """World 0 seen from above, ``k`` pixels per tile (``k = max(1, 512 // max(width,
        height))``): grass green, stone grey, water blue (shaded by season), items as a
        yellow pixel block, players white, enemies red (dead entities dark)."""
        k = max(1, 512 // max(self.width, self.height))
        terrain = state["terrain"].astype(np.intp)
        frame = TILE_RGB[terrain]
        frame[state["items"] > 0] = (230, 200, 60)
        ents = state["entities"]
        on_map = state["pids"][ents["r"], ents["c"]] == np.arange(len(ents))
        colour = np.where((ents["kind"] == PLAYER)[:, None], [[255, 255, 255]], [[220, 40, 40]])
        colour[ents["hp"] == 0] //= 3
        frame[ents["r"][on_map], ents["c"][on_map]] = colour[on_map]
        return np.kron(frame, np.ones((k, k, 1), np.uint8)) if k > 1 else frame

    def render_ansi(self, state):
        """At most 24 rows x 64 columns of world 0 around player 0: ``.`` grass, ``^`` stone,
        ``~`` water, ``*`` item, ``@`` player 0, ``p`` other players, ``e`` enemies, ``x`` dead."""
        ents = state["entities"]
        r, c = int(ents[0]["r"]), int(ents[0]["c"])
        r0 = min(max(0, r - 12), max(0, self.height - 24))
        c0 = min(max(0, c - 32), max(0, self.width - 64))
        terrain = state["terrain"][r0:r0 + 24, c0:c0 + 64]
        chars = np.array(list(".?^~"))[terrain >> 2]
        chars[state["items"][r0:r0 + 24, c0:c0 + 64] > 0] = "*"
        pids = state["pids"][r0:r0 + 24, c0:c0 + 64]
        for (i, j), pid in np.ndenumerate(pids):
            if pid >= 0:
                chars[i, j] = "x" if ents[pid]["hp"] == 0 else "@" if pid == 0 else \
                    "p" if ents[pid]["kind"] == PLAYER else "e"
        return "\n".join("".join(row) for row in chars)

    def init_world(self):
        for name in ("width", "height", "x_window", "y_window", "num_players", "num_enemies", "num_resources",
                     "num_weapons", "num_gems", "tiers", "levels", "enemy_respawn_ticks", "item_respawn_ticks"):
            self.envs[name] = getattr(self, name)
        self.envs["teleportitis"] = self.teleportitis_prob
        for name, value in self.rewards_config.items():
            self.envs[name] = value


def entity_table(entities: np.ndarray) -> np.ndarray:
    """The first ten fields of an ``entities`` record array (``state(env_id)['entities']``)
    as an ``(N, 10)`` int32 array (``kind, r, c, hp, hp_max, comb_lvl, prof_lvl, dir, anim,
    in_combat``) sharing its memory, read-only.

    Raises:
        APIUsageError: ``entities`` is not a 1-d array of Neural MMO 3 entity records.
    """
    if not isinstance(entities, np.ndarray) or entities.dtype != ENTITY_DTYPE or entities.ndim != 1:
        raise APIUsageError(f"entity_table needs state(env_id)['entities'] (a 1-d array of {ENTITY_DTYPE}), "
                            f"got {type(entities).__name__} {getattr(entities, 'dtype', '')}")
    return np.lib.stride_tricks.as_strided(entities["kind"], shape=(len(entities), 10),
                                           strides=(entities.strides[0], 4), writeable=False)
