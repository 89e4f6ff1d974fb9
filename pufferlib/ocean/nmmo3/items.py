"""Items, equipment, harvesting and the market (``docs/envs/nmmo3.md``, Items and Market).

An item id is ``(tier - 1) * 17 + type`` (0: none). Players hold 12 inventory slots
(``w.inventory``), a flag per slot saying it is worn (``w.equipped``) and 5 equipment
slots (``w.equipment``: helm, chest, legs, held, gem). The market of env ``e`` keeps, per
item id, a stack of at most 32 offers (``w.market_seller``, ``w.market_price``,
``w.market_count``); a purchase always takes the most recent offer.
"""
import numpy as np

from pufferlib.ocean.core import kernel, rand_below
from pufferlib.ocean.nmmo3.constants import (BOW, CHEST, EQUIP_SLOTS, GEM_ELEMENT, GEM_SLOT, HELD, HELM, HERB,
                                             HILT, INVENTORY, ITEM_TYPES, LEGS, MARKET_DEPTH, MAX_GOLD, NEUTRAL,
                                             ORE, SWORD, TOOL, WATER_GEM, EARTH_GEM, WOOD)
from pufferlib.ocean.nmmo3.entities import move, push_event, set_item

#: Defense of a worn armour piece, attack of a held sword / bow, by tier (index 1..5).
ARMOUR_DEFENSE = np.array([0, 8, 16, 32, 64, 128], np.int32)
SWORD_ATTACK = np.array([0, 24, 48, 96, 192, 384], np.int32)
BOW_ATTACK = np.array([0, 16, 33, 67, 135, 271], np.int32)   # trunc(24 * 2**(t - 1.5))


@kernel
def tier_level(tier):
    """Profession-level ceiling for harvesting tier ``tier``: 8 * 2**(tier-1)."""
    return 8 << (tier - 1)


@kernel
def free_slot(w, e, p):
    """First empty inventory slot of player ``p`` (0..11), or -1."""
    for k in range(INVENTORY):
        if w.inventory[e, p, k] == 0:
            return k
    return -1


@kernel
def equip_slot(kind):
    """Equipment slot of an item type, or -1 if it cannot be worn."""
    if kind == HELM or kind == CHEST or kind == LEGS:
        return kind - HELM
    if kind == SWORD or kind == BOW or kind == TOOL:
        return HELD
    if kind >= EARTH_GEM and kind <= WATER_GEM:
        return GEM_SLOT
    return -1


@kernel(inline=False)
def use_item(w, e, p, k):
    """Player ``p`` uses inventory slot ``k``: eats a herb (heals 50 + 10 * tier), or, out
    of combat, unequips a worn item or equips one whose equipment slot is free."""
    env = w.envs[e]
    ent = w.entities[e, p]
    pl = w.players[e, p]
    item = np.int64(w.inventory[e, p, k])
    if item == 0:
        return
    kind = item % ITEM_TYPES
    tier = item // ITEM_TYPES + 1
    if kind == HERB:
        ent["hp"] = min(ent["hp_max"], ent["hp"] + 50 + 10 * tier)
        w.inventory[e, p, k] = 0
        return
    if ent["in_combat"] > 0:
        return
    slot = equip_slot(kind)
    if slot < 0:
        return
    sign = 1
    if w.equipped[e, p, k] != 0:
        sign = -1
        w.equipped[e, p, k] = 0
        w.equipment[e, p, slot] = 0
    elif w.equipment[e, p, slot] != 0:
        return
    else:
        w.equipped[e, p, k] = 1
        w.equipment[e, p, slot] = item
    value = sign * env["reward_item_level"] * tier / env["tiers"]
    if kind == SWORD:
        ent["equipment_attack"] += sign * SWORD_ATTACK[tier]
    elif kind == BOW:
        ent["equipment_attack"] += sign * BOW_ATTACK[tier]
    elif slot < HELD:
        ent["equipment_defense"] += sign * ARMOUR_DEFENSE[tier]
    if kind == SWORD or kind == BOW:
        pl["t_item_atk_lvl"] = value
        pl["ret_item_atk_lvl"] += value
    elif slot < HELD:
        pl["t_item_def_lvl"] = value
        pl["ret_item_def_lvl"] += value
    elif kind == TOOL:
        pl["t_item_tool"] = value
    elif slot == GEM_SLOT:
        ent["element"] = GEM_ELEMENT[kind] if sign > 0 else NEUTRAL


@kernel(inline=False)
def pickup(w, e, p, r, c):
    """Player ``p`` arrived on ``(r, c)``: takes a tool lying there, or harvests another item
    with a held tool of at least its tier (it regrows after ``item_respawn_ticks``;
    profession level-up; ore becomes a random armour piece, hilt a sword, wood a bow)."""
    env = w.envs[e]
    item = np.int64(w.items[e, r, c])
    if item == 0:
        return
    slot = free_slot(w, e, p)
    if slot < 0:
        return
    kind = item % ITEM_TYPES
    tier = item // ITEM_TYPES + 1
    if kind != TOOL:
        held = np.int64(w.equipment[e, p, HELD])
        if held == 0 or held % ITEM_TYPES != TOOL or held // ITEM_TYPES + 1 < tier:
            return
        env["regrow_count"] = push_event(w.regrow[e], env["regrow_head"], env["regrow_count"],
                                         w.ticks[e] + env["item_respawn_ticks"], r * env["width"] + c, item)
        ent = w.entities[e, p]
        if ent["prof_lvl"] < env["levels"] and ent["prof_lvl"] < tier_level(tier):
            ent["prof_lvl"] += 1
            pl = w.players[e, p]
            pl["t_prof_lvl"] = env["reward_prof_level"]
            pl["ret_prof_lvl"] += env["reward_prof_level"]
        base = item - kind
        if kind == ORE:
            item = base + HELM + rand_below(env, 3)
        elif kind == HILT:
            item = base + SWORD
        elif kind == WOOD:
            item = base + BOW
    w.inventory[e, p, slot] = item
    set_item(w, e, r, c, 0)


@kernel
def player_move(w, e, p, d, run):
    """Move player ``p`` (see ``move``); on arrival count the visit (first visit of a tile
    sets the pioneer flag) and pick up what lies there."""
    if move(w, e, p, d, run):
        ent = w.entities[e, p]
        r = ent["r"]
        c = ent["c"]
        seen = w.visits[e, r, c]
        if seen == 0:
            w.players[e, p]["pioneer"] = 1
        if seen < 255:
            w.visits[e, r, c] = seen + 1
        if w.items[e, r, c] != 0:  # (a call passes the whole world: skip it when there is nothing)
            pickup(w, e, p, r, c)


@kernel(inline=False)
def buy(w, e, p, item):
    """Player ``p`` buys the most recent offer of ``item`` if it has the gold and a free slot;
    the seller is paid (gold capped at 99)."""
    env = w.envs[e]
    ent = w.entities[e, p]
    n = w.market_count[e, item]
    if n == 0:
        return
    price = w.market_price[e, item, n - 1]
    slot = free_slot(w, e, p)
    if ent["gold"] < price or slot < 0:
        return
    ent["gold"] -= price
    w.inventory[e, p, slot] = item
    seller = w.entities[e, w.market_seller[e, item, n - 1]]
    seller["gold"] = min(MAX_GOLD, seller["gold"] + price)
    w.market_count[e, item] = n - 1
    ent["purchases"] += 1
    pl = w.players[e, p]
    pl["t_market_buy"] = env["reward_market"]
    pl["ret_market_buy"] += env["reward_market"]


@kernel(inline=False)
def sell(w, e, p, slot, price):
    """Player ``p`` lists inventory ``slot`` at ``price`` gold (unequipping it first); the
    offer is refused if the item's stack holds 32 offers (the item stays, unequipped)."""
    env = w.envs[e]
    item = np.int64(w.inventory[e, p, slot])
    if item == 0:
        return
    if w.equipped[e, p, slot] != 0:
        use_item(w, e, p, slot)
    n = w.market_count[e, item]
    if n >= MARKET_DEPTH:
        return
    w.market_seller[e, item, n] = p
    w.market_price[e, item, n] = price
    w.market_count[e, item] = n + 1
    w.inventory[e, p, slot] = 0
    ent = w.entities[e, p]
    ent["sales"] += 1
    pl = w.players[e, p]
    pl["t_market_sell"] = env["reward_market"]
    pl["ret_market_sell"] += env["reward_market"]
