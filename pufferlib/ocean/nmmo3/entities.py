"""Entities: spawning on safe tiles, movement, teleportitis, stagnation and episode logs,
and the env's event queues (``docs/envs/nmmo3.md``, Entities, Movement, Death).

Entity ``pid`` of env ``e`` is ``w.entities[e, pid]``: players are ``0..num_players-1``,
enemies follow. ``w.pids[e]`` maps each tile to the entity on it (-1: none).
"""
import numpy as np

from pufferlib.ocean.core import kernel, rand_below
from pufferlib.ocean.nmmo3.constants import (CHANNELS, DC, DOWN, DR, EQUIP_SLOTS, GRASS, HISTORY, IDLE, INVENTORY,
                                             ITEM_TYPES, MAX_HP, MOVE, PLAY, PLAYER, RUN, SAFE_RADIUS)

SPAWN_TRIES = 4096


# ---- the tile picture: w.tile_obs[e, r, c*10:(c+1)*10] holds the 10 observation channels of
# ---- tile (r, c) as every player sees them, except channel 6, which holds the entity's
# ---- combat level (observations copy rows of the picture, then turn channel 6 into the
# ---- level relative to the observer; see observations.py).
@kernel
def set_item(w, e, r, c, item):
    """Put ``item`` (0: none) on tile ``(r, c)`` and in the tile picture."""
    w.items[e, r, c] = item
    k = c * CHANNELS
    w.tile_obs[e, r, k + 2] = item % ITEM_TYPES
    w.tile_obs[e, r, k + 3] = item // ITEM_TYPES


@kernel(inline=False)
def draw_tiles(w, e):
    """The whole tile picture of env ``e`` from its terrain, items and entities (after reset)."""
    env = w.envs[e]
    for r in range(env["height"]):
        for c in range(env["width"]):
            k = c * CHANNELS
            t = w.terrain[e, r, c]
            item = w.items[e, r, c]
            w.tile_obs[e, r, k] = t & 3
            w.tile_obs[e, r, k + 1] = t >> 2
            w.tile_obs[e, r, k + 2] = item % ITEM_TYPES
            w.tile_obs[e, r, k + 3] = item // ITEM_TYPES
            for ch in range(4, CHANNELS):
                w.tile_obs[e, r, k + ch] = 0
    draw_entities(w, e, True)


@kernel
def draw_entities(w, e, draw):
    """Write (``draw``) or clear the entity channels of every tile holding an entity."""
    env = w.envs[e]
    total = np.uint32(env["num_players"] + env["num_enemies"])
    for pid in range(total):
        ent = w.entities[e, pid]
        r = ent["r"]
        c = ent["c"]
        if w.pids[e, r, c] != pid:
            continue
        row = w.tile_obs[e, r]
        k = c * CHANNELS
        if draw:
            row[k + 4] = ent["kind"]
            row[k + 5] = ent["element"]
            row[k + 6] = ent["comb_lvl"]  # turned into the relative level per observer
            row[k + 7] = ent["hp"] // 20
            row[k + 8] = ent["anim"]
            row[k + 9] = ent["dir"]
        else:
            for ch in range(4, CHANNELS):
                row[k + ch] = 0


# ---- the tile map: w.pids[e] (entity on each tile) and w.player_bits[e] (bit c % 64 of word
# ---- c // 64 of row r set while a player, alive or dead, stands on (r, c): the enemies'
# ---- 9x9 scans read 9 words of it instead of 81 scattered tiles).
@kernel
def place(w, e, pid, r, c):
    """Put entity ``pid`` on tile ``(r, c)`` of the tile map."""
    w.pids[e, r, c] = pid
    if pid < w.envs[e]["num_players"]:
        w.player_bits[e, r, c >> 6] |= np.uint64(1) << np.uint64(c & 63)


@kernel
def unplace(w, e, r, c):
    """Remove whatever entity stands on tile ``(r, c)`` from the tile map."""
    pid = w.pids[e, r, c]
    w.pids[e, r, c] = -1
    if pid >= 0 and pid < w.envs[e]["num_players"]:
        w.player_bits[e, r, c >> 6] &= ~(np.uint64(1) << np.uint64(c & 63))


@kernel
def players_near(w, e, r, c, radius):
    """Bits ``0..2*radius`` = players on columns ``c-radius..c+radius`` of row ``r`` (uint64)."""
    start = c - radius
    word = start >> 6
    off = np.uint64(start & 63)
    row = w.player_bits[e, r]
    bits = row[word] >> off
    if off > np.uint64(64 - (2 * radius + 1)):
        bits |= row[word + 1] << (np.uint64(64) - off)
    return bits & ((np.uint64(1) << np.uint64(2 * radius + 1)) - np.uint64(1))


@kernel
def is_safe(pids, r, c):
    """No entity within Chebyshev distance SAFE_RADIUS of ``(r, c)`` (the map border is
    wider than that around any grass tile)."""
    for rr in range(r - SAFE_RADIUS, r + SAFE_RADIUS + 1):
        for cc in range(c - SAFE_RADIUS, c + SAFE_RADIUS + 1):
            if pids[rr, cc] >= 0:
                return False
    return True


@kernel(inline=False)
def safe_tile(w, e):
    """A random grass tile with no entity in the 11x11 square around it, as ``(r, c)``.

    After SPAWN_TRIES rejected draws (a crowded map) it scans, from a random cell, for a
    grass tile with no entity on it, then for any free tile inside the border."""
    env = w.envs[e]
    h = env["height"]
    wd = env["width"]
    terrain = w.terrain[e]
    pids = w.pids[e]
    for _ in range(SPAWN_TRIES):
        cell = rand_below(env, h * wd)
        r = cell // wd
        c = cell - r * wd
        if terrain[r, c] >> 2 == GRASS and is_safe(pids, r, c):
            return r, c
    start = rand_below(env, h * wd)
    for strict in range(2):
        for k in range(h * wd):
            cell = (start + k) % (h * wd)
            r = cell // wd
            c = cell - r * wd
            if pids[r, c] >= 0 or r < env["y_window"] or r >= h - env["y_window"] \
                    or c < env["x_window"] or c >= wd - env["x_window"]:
                continue
            if strict == 1 or terrain[r, c] >> 2 == GRASS:
                return r, c
    return env["y_window"], env["x_window"]  # unreachable: the constructor bounds the population


@kernel(inline=False)
def spawn(w, e, pid):
    """Place entity ``pid`` on a safe tile as a fresh level-1 character (kind, hp_max,
    element, ranged, level and market cursor are kept) and write it into the tile map."""
    env = w.envs[e]
    ent = w.entities[e, pid]
    r, c = safe_tile(w, e)
    ent["hp"] = MAX_HP
    ent["time_alive"] = 0
    ent["purchases"] = 0
    ent["sales"] = 0
    ent["r"] = r
    ent["c"] = c
    ent["spawn_r"] = r
    ent["spawn_c"] = c
    ent["anim"] = IDLE
    ent["dir"] = DOWN
    ent["ui_mode"] = PLAY
    ent["gold"] = 0
    ent["in_combat"] = 0
    ent["equipment_attack"] = 0
    ent["equipment_defense"] = 0
    ent["prof_lvl"] = 1
    ent["comb_lvl"] = 1
    ent["goal"] = rand_below(env, 2)
    ent["history_idx"] = 0
    if ent["kind"] == PLAYER:
        for k in range(EQUIP_SLOTS):
            w.equipment[e, pid, k] = 0
        for k in range(INVENTORY):
            w.inventory[e, pid, k] = 0
            w.equipped[e, pid, k] = 0
        for k in range(HISTORY):
            w.history[e, pid, k] = 0
    place(w, e, pid, r, c)


@kernel
def teleport(w, e, pid):
    """Move entity ``pid`` to a random safe tile (spawn point unchanged, no pickup)."""
    ent = w.entities[e, pid]
    unplace(w, e, ent["r"], ent["c"])
    r, c = safe_tile(w, e)
    ent["r"] = r
    ent["c"] = c
    place(w, e, pid, r, c)


@kernel
def free_tile(w, e, r, c):
    """Passable (grass or dirt) and holding no entity."""
    return w.terrain[e, r, c] < 8 and w.pids[e, r, c] < 0


@kernel
def move(w, e, pid, d, run):
    """Turn entity ``pid`` to direction ``d`` and move it 1 tile (2 when ``run``; both tiles
    must be free). Returns True if it moved."""
    ent = w.entities[e, pid]
    ent["dir"] = d
    r = ent["r"] + DR[d]
    c = ent["c"] + DC[d]
    if not free_tile(w, e, r, c):
        return False
    if run:
        r += DR[d]
        c += DC[d]
        if not free_tile(w, e, r, c):
            return False
    unplace(w, e, ent["r"], ent["c"])
    place(w, e, pid, r, c)
    ent["r"] = r
    ent["c"] = c
    ent["anim"] = RUN if run else MOVE
    return True


@kernel
def clear_terms(pl):
    """Zero a player record's reward terms and flags of this tick."""
    pl["t_death"] = 0.0
    pl["t_comb_lvl"] = 0.0
    pl["t_prof_lvl"] = 0.0
    pl["t_item_atk_lvl"] = 0.0
    pl["t_item_def_lvl"] = 0.0
    pl["t_item_tool"] = 0.0
    pl["t_market_buy"] = 0.0
    pl["t_market_sell"] = 0.0
    pl["pioneer"] = 0
    pl["died"] = 0


@kernel
def clear_returns(pl):
    """Zero a player record's episode returns."""
    pl["ret_comb_lvl"] = 0.0
    pl["ret_prof_lvl"] = 0.0
    pl["ret_item_atk_lvl"] = 0.0
    pl["ret_item_def_lvl"] = 0.0
    pl["ret_market_buy"] = 0.0
    pl["ret_market_sell"] = 0.0
    pl["ret_death"] = 0.0


@kernel(inline=False)
def log_player(w, e, p):
    """Add player ``p``'s finished episode (death or stagnation reset) to env ``e``'s log and
    zero its returns."""
    env = w.envs[e]
    ent = w.entities[e, p]
    pl = w.players[e, p]
    lg = w.logs[e]
    lg["return_comb_lvl"] += pl["ret_comb_lvl"]
    lg["return_prof_lvl"] += pl["ret_prof_lvl"]
    lg["return_item_atk_lvl"] += pl["ret_item_atk_lvl"]
    lg["return_item_def_lvl"] += pl["ret_item_def_lvl"]
    lg["return_market_buy"] += pl["ret_market_buy"]
    lg["return_market_sell"] += pl["ret_market_sell"]
    lg["return_death"] += pl["ret_death"]
    total = (pl["ret_comb_lvl"] + pl["ret_prof_lvl"] + pl["ret_item_atk_lvl"]
             + pl["ret_item_def_lvl"] + pl["ret_market_buy"] + pl["ret_market_sell"] + pl["ret_death"])
    clear_returns(pl)
    m = min(ent["prof_lvl"], ent["comb_lvl"])
    lg["episode_return"] += total
    lg["episode_length"] += ent["time_alive"]
    lg["min_comb_prof"] += m
    lg["score"] += m
    lg["perf"] += m / env["levels"]
    lg["purchases"] += ent["purchases"]
    lg["sales"] += ent["sales"]
    lg["equip_attack"] += ent["equipment_attack"]
    lg["equip_defense"] += ent["equipment_defense"]
    lg["r"] += ent["r"]
    lg["c"] += ent["c"]
    lg["n"] += 1.0


@kernel
def stagnated(w, e, p):
    """Record ``min(prof_lvl, comb_lvl)`` in player ``p``'s 500-tick ring; True when the
    ring wraps and the value is no higher than 499 ticks ago."""
    ent = w.entities[e, p]
    m = min(ent["prof_lvl"], ent["comb_lvl"])
    idx = ent["history_idx"]
    w.history[e, p, idx] = m
    idx += 1
    if idx == HISTORY:
        idx = 0
    ent["history_idx"] = idx
    return idx == 0 and m <= w.history[e, p, 0]


# ---- event queues: rings of (due tick, payload...) rows, in due order ----------------------
@kernel
def push_event(queue, head, count, row0, row1, row2):
    """Append a row to a ring ``queue`` holding ``count`` rows from ``head``; returns the new
    count (unchanged if the ring is full)."""
    cap = queue.shape[0]
    if count >= cap:
        return count
    k = head + count
    if k >= cap:
        k -= cap
    queue[k, 0] = row0
    queue[k, 1] = row1
    queue[k, 2] = row2
    return count + 1
