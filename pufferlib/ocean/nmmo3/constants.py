"""Identifiers, sizes and record layouts of Neural MMO 3 (``docs/envs/nmmo3.md``).

Everything here is a plain module-level constant or a NumPy dtype, so the kernels of the
other modules compile them in as constants on the CPU and the GPU alike.
"""
import numpy as np

# ---- tiles: terrain byte = 4 * class + season --------------------------------------------
GRASS, DIRT, STONE, WATER = 0, 1, 2, 3          # classes
SPRING, SUMMER, AUTUMN, WINTER = 0, 1, 2, 3     # seasons (biomes)
TILE_GRASS, TILE_STONE, TILE_WATER = 4 * GRASS, 4 * STONE, 4 * WATER

# ---- entities -----------------------------------------------------------------------------
NONE, PLAYER, ENEMY = 0, 1, 2
NEUTRAL, FIRE, WATER_ELEMENT, EARTH, AIR = 0, 1, 2, 3, 4
IDLE, MOVE, ATTACK_ANIM, SWORD_ANIM, BOW_ANIM, DEATH, RUN = 0, 1, 2, 3, 4, 5, 6
DOWN, UP, RIGHT, LEFT = 0, 1, 2, 3             # row+1, row-1, col+1, col-1
#: Row / column offset of each direction.
DR = np.array([1, -1, 0, 0], np.int32)
DC = np.array([0, 0, 1, -1], np.int32)
MAX_HP = 99
MAX_GOLD = 99
COMBAT_TICKS = 5            # in_combat after an attack
HISTORY = 500               # stagnation window (ticks)
AGGRO_RANGE = 4             # enemy scan radius (9x9 square)
SAFE_RADIUS = 5             # a spawn tile has no entity within this Chebyshev distance
DROP_DESPAWN_TICKS = 20
ENEMY_WANDER_RANGE = 3      # recorded, unused (see docs: wandering is a random walk)

# ---- UI modes -----------------------------------------------------------------------------
PLAY, BUY_TIER, BUY_ITEM, SELL_SELECT, SELL_PRICE = 0, 1, 2, 3, 4

# ---- items: id = (tier - 1) * 17 + type, 0 = none -----------------------------------------
HELM, CHEST, LEGS, SWORD, BOW, TOOL = 1, 2, 3, 4, 5, 6
EARTH_GEM, FIRE_GEM, AIR_GEM, WATER_GEM = 7, 8, 9, 10
HERB, ORE, WOOD, HILT = 11, 12, 13, 14
ITEM_TYPES = 17
MAX_TIERS = 5
NUM_ITEM_IDS = ITEM_TYPES * MAX_TIERS          # ids 0..84
INVENTORY = 12
USABLE_SLOTS = 9                               # slots 0..8 are reachable by the number keys
EQUIP_SLOTS = 5                                # helm, chest, legs, held, gem
HELD, GEM_SLOT = 3, 4
MARKET_DEPTH = 32                              # offers per item id

# ---- actions (Discrete(26)) ----------------------------------------------------------------
NUM_ACTIONS = 26
A_DOWN, A_UP, A_RIGHT, A_LEFT, A_NOOP, A_ATTACK = 0, 1, 2, 3, 4, 5
A_ONE, A_NINE = 8, 16
A_BUY, A_SELL = 20, 21
A_RUN_DOWN, A_RUN_LEFT = 22, 25
ACTION_NAMES = ("DOWN", "UP", "RIGHT", "LEFT", "NOOP", "ATTACK", "UNUSED", "UI",
                "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE",
                "ZERO", "MINUS", "EQUALS", "BUY", "SELL",
                "DOWN_SHIFT", "UP_SHIFT", "RIGHT_SHIFT", "LEFT_SHIFT")

#: Damage multiplier EFFECT[attacker element, defender element].
EFFECT = np.array([[1, 1, 1, 1, 1],
                   [1, 1, 0, 1, 2],
                   [1, 2, 1, 0, 1],
                   [1, 1, 2, 1, 0],
                   [1, 0, 1, 2, 1]], np.int32)
#: Element given by an equipped gem type (index: item type; 0 for non-gems).
GEM_ELEMENT = np.array([0, 0, 0, 0, 0, 0, 0, EARTH, FIRE, AIR, WATER_ELEMENT, 0, 0, 0, 0, 0, 0], np.int32)
#: Gem type found on grass of each season (spring, summer, autumn, winter).
SEASON_GEM = np.array([EARTH_GEM, FIRE_GEM, AIR_GEM, WATER_GEM], np.int32)
#: Element of a ranged enemy spawned on grass of each season.
SEASON_ELEMENT = np.array([EARTH, FIRE, AIR, WATER_ELEMENT], np.int32)

# ---- observation layout --------------------------------------------------------------------
WINDOW_ROWS, WINDOW_COLS, CHANNELS = 11, 15, 10
MAP_OBS = WINDOW_ROWS * WINDOW_COLS * CHANNELS      # 1650
PLAYER_OBS = 47
REWARD_OBS = 10
OBS_SIZE = MAP_OBS + PLAYER_OBS + REWARD_OBS        # 1707

# ---- records -------------------------------------------------------------------------------
#: One record per env: its random state, tick, configuration and scheduling queues' heads.
ENV_DTYPE = np.dtype([
    ("rng", np.uint64),
    ("width", np.int32), ("height", np.int32), ("x_window", np.int32), ("y_window", np.int32),
    ("num_players", np.int32), ("num_enemies", np.int32), ("num_resources", np.int32),
    ("num_weapons", np.int32), ("num_gems", np.int32), ("tiers", np.int32), ("levels", np.int32),
    ("teleportitis", np.float32), ("enemy_respawn_ticks", np.int32), ("item_respawn_ticks", np.int32),
    ("reward_combat_level", np.float32), ("reward_prof_level", np.float32),
    ("reward_item_level", np.float32), ("reward_market", np.float32), ("reward_death", np.float32),
    # FIFO queues (ring buffers): head = next entry due, count = entries held
    ("regrow_head", np.int32), ("regrow_count", np.int32),
    ("respawn_head", np.int32), ("respawn_count", np.int32),
    ("despawn_head", np.int32), ("despawn_count", np.int32),
], align=True)

#: One record per entity (players first, then enemies). The first ten fields are int32
#: ``kind, r, c, hp, hp_max, comb_lvl, prof_lvl, dir, anim, in_combat`` in that order, so
#: the table also reads as an ``(N, 10)`` int32 array (see ``entity_table``).
ENTITY_FIELDS = ("kind", "r", "c", "hp", "hp_max", "comb_lvl", "prof_lvl", "dir", "anim", "in_combat",
                 "element", "ui_mode", "market_tier", "sell_idx", "gold", "equipment_attack",
                 "equipment_defense", "wander_range", "ranged", "goal", "spawn_r", "spawn_c",
                 "time_alive", "purchases", "sales", "level", "history_idx")
ENTITY_DTYPE = np.dtype([(name, np.int32) for name in ENTITY_FIELDS])

#: One record per player: this tick's reward terms and flags (first visit of a tile, death)
#: and the episode's returns.
REWARD_TERMS = ("death", "comb_lvl", "prof_lvl", "item_atk_lvl", "item_def_lvl", "item_tool",
                "market_buy", "market_sell")
PLAYER_DTYPE = np.dtype(
    [("t_" + name, np.float32) for name in REWARD_TERMS] + [("pioneer", np.int32), ("died", np.int32)]
    + [("ret_" + name, np.float32) for name in REWARD_TERMS if name != "item_tool"])

LOG_FIELDS = ("perf", "score", "episode_return", "episode_length", "return_comb_lvl", "return_prof_lvl",
              "return_item_atk_lvl", "return_item_def_lvl", "return_market_buy", "return_market_sell",
              "return_death", "min_comb_prof", "purchases", "sales", "equip_attack", "equip_defense",
              "r", "c")
