"""Agent steps per second (SPS) of the Ocean envs: Squared (1 env, 4096 envs) and Snake
(default config, 16 envs x 256 snakes), on one thread and on all cores.

Prints, for every case, the median SPS of --repeats timed runs, the all-cores / 1-thread
ratio measured in this same run, and the ratio to PufferLib 3.0's C envs
(https://github.com/PufferAI/PufferLib), one thread, using fixed reference figures
(C_REFERENCE below) measured once on the 2-core machine of the README's speed table; the
C build is not run here, since its install downloads raylib. Random actions are drawn
before timing.

Usage: python benchmarks/bench_ocean.py [--seconds 3] [--repeats 3] [--threads N] [--only squared1,...]
Run it on an otherwise idle machine: a busy core ruins the multi-thread numbers.
"""
import argparse
import os
import statistics
import time

import numpy as np

# PufferLib 3.0 C envs, agent steps per second, one thread, measured once on the 2-core
# machine of the README's speed table (fixed figures: the C build is not run here).
C_REFERENCE = {"squared1": 1.58e6, "squared4096": 72.6e6, "snake": 4.9e6}


def make(case, threads):
    if case == "squared1":
        from pufferlib.ocean.squared import Squared
        return Squared(num_envs=1, num_threads=threads)
    if case == "squared4096":
        from pufferlib.ocean.squared import Squared
        return Squared(num_envs=4096, num_threads=threads)
    from pufferlib.ocean.snake import Snake
    return Snake(num_threads=threads)


def measure(env, seconds, seed=0):
    """SPS of ``env.step`` with pre-drawn random int32 actions for ~``seconds``."""
    rng = np.random.default_rng(seed)
    actions = [a for a in rng.integers(0, env.single_action_space.n, (256, env.num_agents)).astype(np.int32)]
    env.reset(seed)
    step = env.step
    steps = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for a in actions:
            step(a)
        steps += len(actions)
        now = time.perf_counter()
        if now >= deadline:
            return steps * env.num_agents / (now - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="the 'all cores' count")
    parser.add_argument("--only", default="squared1,squared4096,snake")
    args = parser.parse_args()
    cases = args.only.split(",")
    print(f"{'case':<12} {'threads':>7} {'SPS (median)':>14} {'vs C ref':>9} {'vs 1 thread':>12}")
    for case in cases:
        one = None
        for threads in sorted({1, args.threads}):
            env = make(case, threads)
            runs = [measure(env, args.seconds, seed=r) for r in range(args.repeats)]
            env.close()
            sps = statistics.median(runs)
            one = sps if threads == 1 else one
            ratio_c = sps / C_REFERENCE[case]
            ratio_1 = sps / one
            print(f"{case:<12} {threads:>7} {sps / 1e6:>13.2f}M {ratio_c:>8.2f}x {ratio_1:>11.2f}x", flush=True)


if __name__ == "__main__":
    main()
