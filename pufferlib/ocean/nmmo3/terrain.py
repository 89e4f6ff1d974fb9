"""Terrain generation and ground-item placement (``docs/envs/nmmo3.md``, Terrain and Items).

A map is made in five passes, all drawing from the env's own generator:

1. 2-D simplex noise at frequency 1/32 from a random offset, min-max normalised to [0, 1];
2. ridges: cells with 0.35 < v < 0.65;
3. biomes: non-ridge cells are flood-filled from random seeds (visited in a random
   order) with a random season, each fill stopping after 4000 cells;
4. the remaining (ridge) cells take the most common season among their labelled
   8-neighbours, in shuffled passes, ties broken at random;
5. tiles: a water border ``y_window`` rows / ``x_window`` columns thick, stone where
   v > 0.75, water where v < 0.25, grass elsewhere, each in the cell's season.

Simplex noise follows the standard formulation (Perlin's permutation table, 12 edge
gradients, radius^2 0.5, f^4 falloff, output scale 70), as in Stefan Gustavson, "Simplex
noise demystified" (2005).
"""
import math

import numpy as np

from pufferlib.ocean.core import kernel, next_u32, rand_below
from pufferlib.ocean.nmmo3.constants import (GRASS, HERB, HILT, ITEM_TYPES, ORE, SEASON_GEM, STONE, TILE_WATER,
                                             WATER, WOOD)

_PERLIN = [
    151, 160, 137, 91, 90, 15, 131, 13, 201, 95, 96, 53, 194, 233, 7, 225, 140, 36, 103, 30, 69, 142, 8, 99, 37,
    240, 21, 10, 23, 190, 6, 148, 247, 120, 234, 75, 0, 26, 197, 62, 94, 252, 219, 203, 117, 35, 11, 32, 57, 177,
    33, 88, 237, 149, 56, 87, 174, 20, 125, 136, 171, 168, 68, 175, 74, 165, 71, 134, 139, 48, 27, 166, 77, 146,
    158, 231, 83, 111, 229, 122, 60, 211, 133, 230, 220, 105, 92, 41, 55, 46, 245, 40, 244, 102, 143, 54, 65, 25,
    63, 161, 1, 216, 80, 73, 209, 76, 132, 187, 208, 89, 18, 169, 200, 196, 135, 130, 116, 188, 159, 86, 164, 100,
    109, 198, 173, 186, 3, 64, 52, 217, 226, 250, 124, 123, 5, 202, 38, 147, 118, 126, 255, 82, 85, 212, 207, 206,
    59, 227, 47, 16, 58, 17, 182, 189, 28, 42, 223, 183, 170, 213, 119, 248, 152, 2, 44, 154, 163, 70, 221, 153,
    101, 155, 167, 43, 172, 9, 129, 22, 39, 253, 19, 98, 108, 110, 79, 113, 224, 232, 178, 185, 112, 104, 218, 246,
    97, 228, 251, 34, 242, 193, 238, 210, 144, 12, 191, 179, 162, 241, 81, 51, 145, 235, 249, 14, 239, 107, 49, 192,
    214, 31, 181, 199, 106, 157, 184, 84, 204, 176, 115, 121, 50, 45, 127, 4, 150, 254, 138, 236, 205, 93, 222, 114,
    67, 29, 24, 72, 243, 141, 128, 195, 78, 66, 215, 61, 156, 180]
assert sorted(_PERLIN) == list(range(256)), "Perlin's table must be a permutation of 0..255"
#: Perlin's permutation, repeated so ``PERM[i + PERM[j]]`` needs no wrap.
PERM = np.array(_PERLIN * 2, np.int32)
#: x and y components of the 12 edge gradients of 3-D simplex noise (the 2-D noise uses these).
GRAD_X = np.array([1, -1, 1, -1, 1, -1, 1, -1, 0, 0, 0, 0], np.float64)
GRAD_Y = np.array([1, 1, -1, -1, 0, 0, 0, 0, 1, -1, 1, -1], np.float64)
F2 = 0.5 * (math.sqrt(3.0) - 1.0)
G2 = (3.0 - math.sqrt(3.0)) / 6.0
FREQUENCY = 1.0 / 32.0
RIDGE_LOW, RIDGE_HIGH = 0.35, 0.65
WATER_BELOW, STONE_ABOVE = 0.25, 0.75
MAX_FILL = 4000   # cells labelled by one biome flood fill


@kernel
def simplex2(x, y):
    """2-D simplex noise at ``(x, y)``, in about [-1, 1]."""
    s = (x + y) * F2
    i = math.floor(x + s)
    j = math.floor(y + s)
    t = (i + j) * G2
    x0 = x - (i - t)
    y0 = y - (j - t)
    i1 = 1 if x0 > y0 else 0
    j1 = 1 - i1
    x1 = x0 - i1 + G2
    y1 = y0 - j1 + G2
    x2 = x0 + 2.0 * G2 - 1.0
    y2 = y0 + 2.0 * G2 - 1.0
    ii = np.int64(i) & 255
    jj = np.int64(j) & 255
    total = 0.0
    f = 0.5 - x0 * x0 - y0 * y0
    if f > 0.0:
        g = PERM[ii + PERM[jj]] % 12
        total += f * f * f * f * (GRAD_X[g] * x0 + GRAD_Y[g] * y0)
    f = 0.5 - x1 * x1 - y1 * y1
    if f > 0.0:
        g = PERM[ii + i1 + PERM[jj + j1]] % 12
        total += f * f * f * f * (GRAD_X[g] * x1 + GRAD_Y[g] * y1)
    f = 0.5 - x2 * x2 - y2 * y2
    if f > 0.0:
        g = PERM[ii + 1 + PERM[jj + 1]] % 12
        total += f * f * f * f * (GRAD_X[g] * x2 + GRAD_Y[g] * y2)
    return 70.0 * total


@kernel
def shuffle(env, perm, n):
    """Fisher-Yates shuffle of ``perm[:n]`` with the env's generator."""
    for k in range(n - 1, 0, -1):
        j = rand_below(env, k + 1)
        tmp = perm[k]
        perm[k] = perm[j]
        perm[j] = tmp


@kernel
def shuffled_cells(env, perm, cells):
    """``perm[:cells]`` = a random permutation of the cell indices ``0..cells-1``."""
    for k in range(cells):
        perm[k] = k
    shuffle(env, perm, cells)


@kernel
def is_ridge(v):
    return v > RIDGE_LOW and v < RIDGE_HIGH


@kernel(inline=False)
def generate_terrain(w, e):
    """Write a fresh map into ``w.terrain[e]`` (uses the scratch arrays noise, labels, perm, queue)."""
    env = w.envs[e]
    h = env["height"]
    wd = env["width"]
    cells = h * wd
    noise = w.noise[e]
    labels = w.labels[e]
    perm = w.perm[e]
    queue = w.queue[e]
    terrain = w.terrain[e]
    # 1. noise, normalised
    ox = np.float64(rand_below(env, 100000))
    oy = np.float64(rand_below(env, 100000))
    lo = 1e30
    hi = -1e30
    for r in range(h):
        for c in range(wd):
            v = simplex2(c * FREQUENCY + ox, r * FREQUENCY + oy)
            noise[r, c] = v
            lo = min(lo, v)
            hi = max(hi, v)
    scale = 1.0 / (hi - lo) if hi > lo else 0.0
    for r in range(h):
        for c in range(wd):
            noise[r, c] = (noise[r, c] - lo) * scale if scale > 0.0 else 0.5
    # 3. biome flood fills over non-ridge cells, from seeds in a random order
    shuffled_cells(env, perm, cells)
    for r in range(h):
        for c in range(wd):
            labels[r, c] = -1
    for k in range(queue.shape[0]):  # scratch, but cleared: the world depends on the seed only
        queue[k] = 0
    for k in range(cells):
        start = perm[k]
        r0 = start // wd
        c0 = start - r0 * wd
        if labels[r0, c0] != -1 or is_ridge(noise[r0, c0]):
            continue
        season = rand_below(env, 4)
        labels[r0, c0] = season
        queue[0] = start
        head = 0
        tail = 1
        while head < tail and tail < MAX_FILL:
            cell = queue[head]
            head += 1
            r = cell // wd
            c = cell - r * wd
            for d in range(4):  # up, left, down, right
                nr = r - 1 if d == 0 else (r + 1 if d == 2 else r)
                nc = c - 1 if d == 1 else (c + 1 if d == 3 else c)
                if nr < 0 or nr >= h or nc < 0 or nc >= wd or tail >= MAX_FILL:
                    continue
                if labels[nr, nc] == -1 and not is_ridge(noise[nr, nc]):
                    labels[nr, nc] = season
                    queue[tail] = nr * wd + nc
                    tail += 1
    # 4. cellular automaton over the unlabelled cells, in shuffled in-place passes
    m = 0
    for cell in range(cells):
        if labels[cell // wd, cell % wd] == -1:
            perm[m] = cell
            m += 1
    while m > 0:
        shuffle(env, perm, m)
        keep = 0
        for k in range(m):
            cell = perm[k]
            r = cell // wd
            c = cell - r * wd
            n0 = 0
            n1 = 0
            n2 = 0
            n3 = 0
            for dr in range(-1, 2):
                for dc in range(-1, 2):
                    nr = r + dr
                    nc = c + dc
                    if (dr == 0 and dc == 0) or nr < 0 or nr >= h or nc < 0 or nc >= wd:
                        continue
                    lab = labels[nr, nc]
                    if lab == 0:
                        n0 += 1
                    elif lab == 1:
                        n1 += 1
                    elif lab == 2:
                        n2 += 1
                    elif lab == 3:
                        n3 += 1
            best = max(max(n0, n1), max(n2, n3))
            if best == 0:
                perm[keep] = cell
                keep += 1
                continue
            ties = (n0 == best) + (n1 == best) + (n2 == best) + (n3 == best)
            pick = rand_below(env, ties) if ties > 1 else 0
            for s in range(4):
                cnt = n0 if s == 0 else (n1 if s == 1 else (n2 if s == 2 else n3))
                if cnt == best:
                    if pick == 0:
                        labels[r, c] = s
                        break
                    pick -= 1
        if keep == m:  # nothing labelled anywhere (an all-ridge map): spring everywhere
            for k in range(m):
                labels[perm[k] // wd, perm[k] % wd] = 0
            keep = 0
        m = keep
    # 5. tiles
    yw = env["y_window"]
    xw = env["x_window"]
    for r in range(h):
        for c in range(wd):
            if r < yw or r >= h - yw or c < xw or c >= wd - xw:
                terrain[r, c] = TILE_WATER
                continue
            v = noise[r, c]
            s = labels[r, c]
            if v > STONE_ABOVE:
                terrain[r, c] = 4 * STONE + s
            elif v < WATER_BELOW:
                terrain[r, c] = 4 * WATER + s
            else:
                terrain[r, c] = 4 * GRASS + s


@kernel
def sample_tier(env, tiers):
    """Tier ``k`` in ``1..tiers`` with probability proportional to ``2**-k``."""
    while True:
        u = next_u32(env) * (1.0 / 4294967296.0)
        tier = np.int64(1.0 - math.log2(1.0 - u))
        if tier <= tiers:
            return tier


@kernel(inline=False)
def place_items(w, e):
    """Ground items of a fresh map: ore / hilt next to stone, herb / wood next to water, a
    seasonal gem on other grass, each with a random tier, until each quota is met."""
    env = w.envs[e]
    h = env["height"]
    wd = env["width"]
    cells = h * wd
    terrain = w.terrain[e]
    items = w.items[e]
    perm = w.perm[e]
    n_res = env["num_resources"]
    n_weap = env["num_weapons"]
    n_gems = env["num_gems"]
    tiers = env["tiers"]
    ore = 0
    hilt = 0
    herb = 0
    wood = 0
    g0 = 0
    g1 = 0
    g2 = 0
    g3 = 0
    shuffled_cells(env, perm, cells)
    for k in range(cells):
        if ore + hilt + herb + wood == 2 * (n_res + n_weap) and g0 + g1 + g2 + g3 == 4 * n_gems:
            break
        cell = perm[k]
        r = cell // wd
        c = cell - r * wd
        t = terrain[r, c]
        if t >> 2 != GRASS:
            continue
        item = 0
        for d in range(4):  # down, up, right, left
            nr = r + 1 if d == 0 else (r - 1 if d == 1 else r)
            nc = c + 1 if d == 2 else (c - 1 if d == 3 else c)
            cls = terrain[nr, nc] >> 2
            if cls == STONE:
                if ore < n_res:
                    item = ORE
                    ore += 1
                elif hilt < n_weap:
                    item = HILT
                    hilt += 1
            elif cls == WATER:
                if herb < n_res:
                    item = HERB
                    herb += 1
                elif wood < n_weap:
                    item = WOOD
                    wood += 1
            if item != 0:
                break
        if item == 0:
            s = t & 3
            if s == 0 and g0 < n_gems:
                g0 += 1
                item = SEASON_GEM[0]
            elif s == 1 and g1 < n_gems:
                g1 += 1
                item = SEASON_GEM[1]
            elif s == 2 and g2 < n_gems:
                g2 += 1
                item = SEASON_GEM[2]
            elif s == 3 and g3 < n_gems:
                g3 += 1
                item = SEASON_GEM[3]
        if item != 0:
            items[r, c] = (sample_tier(env, tiers) - 1) * ITEM_TYPES + item
