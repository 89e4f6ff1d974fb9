"""Player observations (``docs/envs/nmmo3.md``, Observations): a uint8 vector of the map
window around the player (rows ``r - y_window .. r + y_window``, columns ``c - x_window ..
c + x_window``, 10 channels per tile, row-major, channels innermost), then 47 values about
the player, then 10 reward flags. Values are stored modulo 256."""
import numpy as np

from pufferlib.ocean.core import kernel
from pufferlib.ocean.nmmo3.constants import CHANNELS, EQUIP_SLOTS, INVENTORY


@kernel
def byte(v):
    return np.uint8(np.int64(v) & 255)


@kernel
def observe_agent(w, e, s):
    """Write player ``s`` of env ``e``'s observation (dead players too)."""
    env = w.envs[e]
    agent = e * np.uint32(env["num_players"]) + s
    obs = w.observations[agent]
    me = w.entities[e, s]
    yw = env["y_window"]
    xw = env["x_window"]
    my_lvl = me["comb_lvl"]
    # Unsigned indices: no negative-index wrap-around, so the row copy vectorizes.
    r0 = np.uint32(me["r"] - yw)
    c0 = np.uint32(me["c"] - xw)
    cols = np.uint32(2 * xw + 1)
    span = cols * np.uint32(CHANNELS)
    first = c0 * np.uint32(CHANNELS)
    k = np.uint32(0)
    for i in range(np.uint32(2 * yw + 1)):
        # The tile picture holds every channel but the relative level (6): copy the row...
        src = w.tile_obs[e, r0 + i]
        for b in range(span):
            obs[k + b] = src[first + b]
        # ...then turn channel 6 (the combat level of the entity there, 0 on empty tiles)
        # into the level relative to the observer.
        for j in range(cols):
            at = k + j * np.uint32(CHANNELS) + np.uint32(6)
            lvl = np.int64(obs[at])
            if lvl != 0:
                obs[at] = min(max((lvl - my_lvl) // 2, 0), 4)
        k += span
    obs[k] = byte(me["kind"])
    obs[k + 1] = byte(me["comb_lvl"])
    obs[k + 2] = byte(me["element"])
    obs[k + 3] = byte(me["dir"])
    obs[k + 4] = byte(me["anim"])
    obs[k + 5] = byte(me["hp"])
    obs[k + 6] = byte(me["hp_max"])
    obs[k + 7] = byte(me["prof_lvl"])
    obs[k + 8] = byte(me["ui_mode"])
    obs[k + 9] = byte(me["market_tier"])
    obs[k + 10] = byte(me["sell_idx"])
    obs[k + 11] = byte(me["gold"])
    obs[k + 12] = byte(me["in_combat"])
    k += 13
    for q in range(EQUIP_SLOTS):
        obs[k + q] = w.equipment[e, s, q]
    k += EQUIP_SLOTS
    for q in range(INVENTORY):
        obs[k + q] = w.inventory[e, s, q]
        obs[k + INVENTORY + q] = w.equipped[e, s, q]
    k += 2 * INVENTORY
    obs[k] = byte(me["wander_range"])
    obs[k + 1] = byte(me["ranged"])
    obs[k + 2] = byte(me["goal"])
    obs[k + 3] = byte(me["equipment_attack"])
    obs[k + 4] = byte(me["equipment_defense"])
    k += 5
    pl = w.players[e, s]
    obs[k] = 1 if pl["died"] != 0 else 0
    obs[k + 1] = 1 if pl["pioneer"] != 0 else 0
    obs[k + 2] = byte(np.int64(pl["t_comb_lvl"] / 20.0))
    obs[k + 3] = byte(np.int64(pl["t_prof_lvl"] / 20.0))
    obs[k + 4] = byte(np.int64(pl["t_item_atk_lvl"] / 20.0))
    obs[k + 5] = byte(np.int64(pl["t_item_def_lvl"] / 20.0))
    obs[k + 6] = byte(np.int64(pl["t_item_tool"] / 20.0))
    obs[k + 7] = byte(np.int64(pl["t_market_buy"] / 20.0))
    obs[k + 8] = byte(np.int64(pl["t_market_sell"] / 20.0))
    obs[k + 9] = 0
