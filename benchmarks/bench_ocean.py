"""Agent steps per second (SPS) of the Ocean envs: Squared (1 env, 4096 envs) and Snake
(default config, 16 envs x 256 snakes), on one thread and on all cores.

Prints, for every case, the median SPS of --repeats timed runs and the all-cores / 1-thread
ratio measured in this same run. Random actions are drawn before timing. Ratios against
PufferLib 3.0's C envs (https://github.com/PufferAI/PufferLib) come from running both in
turn on the same machine, in fresh processes (docs/performance.md gives the figures and
how they were taken); fixed figures from another day are not comparable on a shared machine.

Usage: python benchmarks/bench_ocean.py [--seconds 3] [--repeats 3] [--threads N] [--only squared1,...]
``--only`` also takes any registered Ocean env name (its default configuration, no C ratio).
``--table`` measures every registered env at 1 env and at about 4096 agents (``num_envs =
round(4096 / agents per env)``, other arguments at their defaults), on one thread and on
``--threads``, and prints a Markdown table (the one in docs/performance.md).
Run it on an otherwise idle machine: a busy core ruins the multi-thread numbers.
"""
import argparse
import itertools
import os
import statistics
import sys
import time

import numpy as np

def make(case, threads):
    """The env of a case: the three reference cases, or any registered Ocean env name
    (``puffer_<name>`` or ``<name>``) at its default configuration."""
    if case == "squared1":
        from pufferlib.ocean.squared import Squared
        return Squared(num_envs=1, num_threads=threads)
    if case == "squared4096":
        from pufferlib.ocean.squared import Squared
        return Squared(num_envs=4096, num_threads=threads)
    if case == "snake":
        from pufferlib.ocean.snake import Snake
        return Snake(num_threads=threads)
    from pufferlib.ocean import env_creator
    return env_creator(case)(num_threads=threads)


def measure(env, seconds, seed=0):
    """SPS of ``env.step`` for ~``seconds``, cycling through random action batches drawn
    before timing from ``env.single_action_space`` (Discrete, MultiDiscrete or Box; see
    :func:`pufferlib.cli.action_cache`: up to 1024 batches, at most 256 MiB)."""
    from pufferlib.cli import STEPS_PER_CHECK, action_cache
    rows = list(action_cache(env.single_action_space, env.num_agents, np.random.default_rng(seed)))
    chunks = [rows[i:i + STEPS_PER_CHECK] for i in range(0, len(rows), STEPS_PER_CHECK)]
    env.reset(seed)
    step = env.step
    steps = 0
    start = time.perf_counter()
    deadline = start + seconds
    for chunk in itertools.cycle(chunks):
        for a in chunk:
            step(a)
        steps += len(chunk)
        now = time.perf_counter()
        if now >= deadline:
            return steps * env.num_agents / (now - start)


def table(args):
    """Every registered env at 1 env and at ~4096 agents, one thread and ``args.threads``."""
    from pufferlib.ocean import ENVS, env_creator
    names = args.only.split(",") if args.only_given else sorted(ENVS)
    print(f"| env | agents per env | 1 env, 1 thread | envs for ~4096 agents | 1 thread | {args.threads} threads "
          f"| {args.threads} / 1 |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        cls = env_creator(name)
        probe = cls()
        per_env = probe.agents_per_env
        probe.close()
        many = max(1, round(4096 / per_env))
        cells = []
        for num_envs, thread_counts in ((1, (1,)), (many, sorted({1, args.threads}))):
            for threads in thread_counts:
                env = cls(num_envs=num_envs, num_threads=threads)
                cells.append(statistics.median(measure(env, args.seconds, seed=r) for r in range(args.repeats)))
                env.close()
        one, multi = cells[1], cells[-1]
        print(f"| {name} | {per_env} | {cells[0] / 1e6:.2f}M | {many} | {one / 1e6:.2f}M | {multi / 1e6:.2f}M "
              f"| {multi / one:.2f}x |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="the 'all cores' count")
    parser.add_argument("--only", default="squared1,squared4096,snake",
                        help="comma-separated cases: squared1, squared4096, snake, or Ocean env names")
    parser.add_argument("--table", action="store_true",
                        help="every registered env (or those in --only) at 1 env and ~4096 agents, as a table")
    args = parser.parse_args()
    if args.table:
        args.only_given = any(a.startswith("--only") for a in sys.argv[1:])
        return table(args)
    cases = args.only.split(",")
    width = max(12, *map(len, cases))
    print(f"{'case':<{width}} {'threads':>7} {'SPS (median)':>14} {'vs 1 thread':>12}")
    for case in cases:
        one = None
        for threads in sorted({1, args.threads}):
            env = make(case, threads)
            runs = [measure(env, args.seconds, seed=r) for r in range(args.repeats)]
            env.close()
            sps = statistics.median(runs)
            one = sps if threads == 1 else one
            ratio_1 = sps / one
            print(f"{case:<{width}} {threads:>7} {sps / 1e6:>13.2f}M {ratio_1:>11.2f}x", flush=True)


if __name__ == "__main__":
    main()
