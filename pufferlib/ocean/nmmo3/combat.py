"""Combat: targeting, damage, kills, loot and the enemies' AI (``docs/envs/nmmo3.md``, Combat).

Damage is ``max(attack - defense, 0) * EFFECT[attacker element, defender element]`` with
``attack = 40 + 2 * level + equipment attack`` (enemies: ``+ 3 * level - 25``) and
``defense = 2 * level + equipment defense`` (enemies: ``+ 3 * level``).
"""
import numpy as np

from pufferlib.ocean.core import kernel, rand_below
from pufferlib.ocean.nmmo3.constants import (AGGRO_RANGE, ATTACK_ANIM, BOW, BOW_ANIM, COMBAT_TICKS, DC, DOWN, DR,
                                             DROP_DESPAWN_TICKS, EFFECT, ENEMY, HELD, ITEM_TYPES, LEFT,
                                             MAX_GOLD, PLAYER, RIGHT, SWORD, SWORD_ANIM, TOOL, UP)
from pufferlib.ocean.nmmo3.entities import log_player, move, players_near, push_event, set_item

BOW_RANGE = 4


@kernel
def level_tier(level):
    """Tier of a level: 1 for 1..8, 2 for 9..16, 3 for 17..32, 4 for 33..64, 5 above."""
    tier = 1
    cap = 8
    while level > cap:
        cap *= 2
        tier += 1
    return tier


@kernel
def damage(att, dfn):
    attack = 40 + 2 * att["comb_lvl"] + att["equipment_attack"]
    defense = 2 * dfn["comb_lvl"] + dfn["equipment_defense"]
    if att["kind"] == ENEMY:
        attack += 3 * att["comb_lvl"] - 25
    if dfn["kind"] == ENEMY:
        defense += 3 * dfn["comb_lvl"]
    return max(attack - defense, 0) * EFFECT[att["element"], dfn["element"]]


@kernel(inline=False)
def drop_loot(w, e, enemy):
    """A tool of the killed enemy's tier on the first item-free tile of the 3x3 around it
    (top-left first, rows outer), despawning after 20 ticks if still there."""
    env = w.envs[e]
    ent = w.entities[e, enemy]
    tier = min(level_tier(ent["level"]), env["tiers"])
    item = (tier - 1) * ITEM_TYPES + TOOL
    for dr in range(-1, 2):
        for dc in range(-1, 2):
            r = ent["r"] + dr
            c = ent["c"] + dc
            if w.items[e, r, c] == 0:
                set_item(w, e, r, c, item)
                env["despawn_count"] = push_event(w.despawn[e], env["despawn_head"], env["despawn_count"],
                                                  w.ticks[e] + DROP_DESPAWN_TICKS, r * env["width"] + c, item)
                return


@kernel(inline=False)
def attack(w, e, a, d):
    """Entity ``a`` attacks entity ``d`` (nothing if ``d`` is already dead)."""
    env = w.envs[e]
    att = w.entities[e, a]
    dfn = w.entities[e, d]
    if dfn["hp"] == 0:
        return
    att["in_combat"] = COMBAT_TICKS
    dfn["in_combat"] = COMBAT_TICKS
    dmg = damage(att, dfn)
    if dmg < dfn["hp"]:
        dfn["hp"] -= dmg
        return
    dfn["hp"] = 0
    if dfn["kind"] == PLAYER:
        pl = w.players[e, d]
        pl["t_death"] = env["reward_death"]
        pl["died"] = 1
        pl["ret_death"] += env["reward_death"]
        log_player(w, e, d)
    else:
        env["respawn_count"] = push_event(w.respawn[e], env["respawn_head"], env["respawn_count"],
                                          w.ticks[e] + env["enemy_respawn_ticks"], d, 0)
    if att["kind"] == PLAYER:
        if dfn["comb_lvl"] >= att["comb_lvl"] and att["comb_lvl"] < env["levels"]:
            att["comb_lvl"] += 1
            pl = w.players[e, a]
            pl["t_comb_lvl"] = env["reward_combat_level"]
            pl["ret_comb_lvl"] += env["reward_combat_level"]
        if dfn["kind"] == ENEMY:
            drop_loot(w, e, d)
            att["gold"] = min(MAX_GOLD, att["gold"] + 1 + dfn["level"] // 10)


@kernel(inline=False)
def player_attack(w, e, p):
    """ATTACK: the first enemy in weapon range, directions DOWN, UP, RIGHT, LEFT in turn.

    Unarmed or tool: the adjacent tile; sword: the three tiles of the adjacent row or
    column; bow: 1 to 4 tiles straight ahead. The animation is set even with no target."""
    ent = w.entities[e, p]
    held = np.int64(w.equipment[e, p, HELD])
    kind = held % ITEM_TYPES if held != 0 else 0
    pattern = 0
    anim = ATTACK_ANIM
    if kind == SWORD:
        pattern = 1
        anim = SWORD_ANIM
    elif kind == BOW:
        pattern = 2
        anim = BOW_ANIM
    ent["anim"] = anim
    first_enemy = w.envs[e]["num_players"]
    r = ent["r"]
    c = ent["c"]
    tiles = 1 if pattern == 0 else (3 if pattern == 1 else BOW_RANGE)
    for d in range(4):
        for k in range(tiles):
            if pattern == 0:
                tr = r + DR[d]
                tc = c + DC[d]
            elif pattern == 1:  # the adjacent row (DOWN/UP) or column (RIGHT/LEFT)
                side = k - 1
                tr = r + DR[d] + (side if DR[d] == 0 else 0)
                tc = c + DC[d] + (side if DC[d] == 0 else 0)
            else:
                tr = r + DR[d] * (k + 1)
                tc = c + DC[d] * (k + 1)
            target = w.pids[e, tr, tc]
            if target >= first_enemy:
                ent["dir"] = d
                attack(w, e, p, target)
                return


@kernel
def enemy_act(w, e, q):
    """Enemy ``q``: attack or approach the first player in the 9x9 square around it (rows
    from the top, columns inner); with none, step in a random direction."""
    ent = w.entities[e, q]
    r = ent["r"]
    c = ent["c"]
    pids = w.pids[e]
    tr = 0
    tc = 0
    found = False
    for dr in range(-AGGRO_RANGE, AGGRO_RANGE + 1):
        bits = players_near(w, e, r + dr, c, AGGRO_RANGE)
        if bits != 0:
            tr = dr
            tc = -AGGRO_RANGE
            while (bits & np.uint64(1)) == 0:
                bits >>= np.uint64(1)
                tc += 1
            found = True
            break
    if not found:
        move(w, e, q, rand_below(w.envs[e], 4), False)
        return
    target = pids[r + tr, c + tc]
    vertical = DOWN if tr > 0 else UP
    horizontal = RIGHT if tc > 0 else LEFT
    if ent["ranged"] != 0:
        if tr == 0 or tc == 0:
            ent["dir"] = horizontal if tr == 0 else vertical
            ent["anim"] = BOW_ANIM
            attack(w, e, q, target)
        elif abs(tr) > abs(tc):
            move(w, e, q, horizontal, False)
        else:
            move(w, e, q, vertical, False)
    elif abs(tr) + abs(tc) == 1:
        ent["dir"] = horizontal if tr == 0 else vertical
        ent["anim"] = SWORD_ANIM
        attack(w, e, q, target)
    elif abs(tr) > abs(tc):
        move(w, e, q, vertical, False)
    else:
        move(w, e, q, horizontal, False)
