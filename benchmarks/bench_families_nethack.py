"""NetHack (NLE) steps per second: the raw Gymnasium env against ``pufferlib.make('nethack')``.

Prints, from one run: raw env SPS, the single emulated env (``GymnasiumPufferEnv``) SPS (loops
alternating in rounds), the emulation layer's overhead per step relative to the raw step
(measured paired: a raw env and an emulated env play the same seeded game with the same
actions, stepped alternately and timed call by call), then Serial and Multiprocessing
(2 workers) SPS.

    python benchmarks/bench_families_nethack.py [--seconds 2] [--rounds 3] [--num-envs 2]

Needs ``nle`` (``pip install 'pufferlib-numba[nethack]'``; it pins gymnasium 1.2.0).
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def _raw_loop(env, actions, seconds):
    env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions:
            _, _, term, trunc, _ = env.step(int(a))
            if term or trunc:
                env.reset()
        steps += len(actions)
    return steps / (time.perf_counter() - start)


def _puffer_loop(env, actions, seconds):
    env.reset(seed=0)
    batch = np.zeros((len(actions), env.num_agents), np.int32)
    batch[:] = actions[:, None]
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for row in batch:
            env.step(row)
            if getattr(env, "done", False) is True:       # a single emulated env does not auto-reset
                env.reset()
        steps += len(batch) * env.num_agents
    return steps / (time.perf_counter() - start)


def _paired(raw, single, actions, seconds):
    """Mean seconds per step of the raw env and of the emulated one, stepped alternately on
    the same seeded game with the same actions (drift and game phase hit both alike)."""
    raw.unwrapped.seed(core=0, disp=0, reseed=False)
    raw.reset()
    single.reset(seed=0)
    clock = time.perf_counter
    rows = [np.array([a], np.int32) for a in actions]
    raw_total = emu_total = 0.0
    steps, start = 0, clock()
    while clock() - start < seconds:
        for a, row in zip(actions, rows):
            t0 = clock()
            _, _, term, trunc, _ = raw.step(int(a))
            t1 = clock()
            single.step(row)
            t2 = clock()
            raw_total += t1 - t0
            emu_total += t2 - t1
            if term or trunc or single.done:
                raw.unwrapped.seed(core=steps, disp=steps, reseed=False)
                raw.reset()
                single.reset(seed=steps)
        steps += len(actions)
    return raw_total / steps, emu_total / steps


def main(argv=None):
    import gymnasium
    import nle  # noqa: F401

    import pufferlib
    from pufferlib.environments.nethack import OBSERVATION_KEYS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--num-envs", type=int, default=2)
    args = p.parse_args(argv)
    # moves, search, wait: keeps the game out of menus that other keys open
    actions = np.random.default_rng(0).choice([0, 1, 2, 3, 4, 5, 6, 7, 18], size=256).astype(np.int32)

    raw = gymnasium.make("NetHackScore-v0", observation_keys=OBSERVATION_KEYS)
    single = pufferlib.make("nethack")
    raw_sps, emu_sps = [], []
    for _ in range(args.rounds):
        raw_sps.append(_raw_loop(raw, actions, args.seconds))
        emu_sps.append(_puffer_loop(single, actions, args.seconds))
    r, e = float(np.median(raw_sps)), float(np.median(emu_sps))
    print(f"raw NLE env            {r:10.0f} SPS  ({1e6 / r:.1f} us/step; rounds: {', '.join(f'{x:.0f}' for x in raw_sps)})")
    print(f"make('nethack'), 1 env {e:10.0f} SPS  ({1e6 / e:.1f} us/step; rounds: {', '.join(f'{x:.0f}' for x in emu_sps)})")
    raw_t, emu_t = _paired(raw, single, actions, args.seconds * args.rounds)
    print(f"emulation overhead     {(emu_t - raw_t) * 1e6:10.2f} us/step = {100 * (emu_t - raw_t) / raw_t:.1f}% of the "
          f"raw step ({raw_t * 1e6:.2f} us), paired: both envs play the same seeded game, step by step")
    raw.close()
    single.close()
    for kwargs in (dict(backend="Serial"), dict(backend="Multiprocessing", num_workers=2)):
        env = pufferlib.make("nethack", num_envs=args.num_envs, **kwargs)
        try:
            sps = _puffer_loop(env, actions, args.seconds * args.rounds)
        finally:
            env.close()
        print(f"{kwargs['backend']:<16} {args.num_envs} envs {sps:10.0f} SPS  ({sps / r:.2f}x raw)")


if __name__ == "__main__":
    main()
