"""Where two threads lose time on small steps: the cost of one parallel region, and how an
env's 2-thread / 1-thread ratio grows with the work per step.

Prints, in one run:

1. the time of one call of a compiled function that touches 64 numbers: serial, as a
   ``prange`` region on 1 thread and on 2 threads (the fixed cost every parallel step pays);
2. for one env (default Pong) at several ``num_envs``: microseconds per step on 1 and 2
   threads and their ratio, and the ratio a perfect split of the 1-thread step would give
   with that fixed cost added (``1t / (1t / 2 + region cost)``);
3. the 1-thread step of that env at ~4096 agents run alone and in two processes at once
   (do the two vCPUs slow each other down?).

Usage: ``python benchmarks/bench_threads.py [--env pong] [--sizes 1024,4096,16384,65536]``.
Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numba
import numpy as np
from numba import njit, prange


@njit(parallel=True)
def _region(a):
    for c in prange(64):
        a[c] += 1.0
    return 0


@njit
def _serial(a):
    for c in range(64):
        a[c] += 1.0
    return 0


def call_cost(fn, threads, calls=100_000, repeats=5) -> float:
    """Median microseconds per call of ``fn`` on ``threads`` threads."""
    numba.set_num_threads(threads)
    a = np.zeros(64)
    fn(a)
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            fn(a)
        out.append((time.perf_counter() - t) / calls * 1e6)
    return float(np.median(out))


def step_time(name, num_envs, threads, seconds=0.4, repeats=5) -> float:
    """Median microseconds per ``step`` of Ocean env ``name`` (random actions, cycled)."""
    from pufferlib import ocean
    from pufferlib.cli import action_cache
    env = ocean.env_creator(name)(num_envs=num_envs, num_threads=threads)
    env.reset(0)
    rows = list(action_cache(env.single_action_space, env.num_agents, np.random.default_rng(0)))[:64]
    out = []
    for _ in range(repeats):
        t, k = time.perf_counter(), 0
        while time.perf_counter() - t < seconds:
            for r in rows:
                env.step(r)
            k += len(rows)
        out.append((time.perf_counter() - t) / k * 1e6)
    env.close()
    return float(np.median(out))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", default="pong")
    p.add_argument("--sizes", default="1024,4096,16384,65536")
    p.add_argument("--solo", type=int, default=0, help=argparse.SUPPRESS)  # child process mode
    args = p.parse_args(argv)
    if args.solo:
        print(step_time(args.env, args.solo, 1))
        return 0
    if numba.config.NUMBA_NUM_THREADS < 2:
        print("needs 2 CPU threads", file=sys.stderr)
        return 1
    serial, one, two = call_cost(_serial, 1), call_cost(_region, 1), call_cost(_region, 2)
    print(f"one call: serial {serial:.2f} us, parallel region 1 thread {one:.2f} us, 2 threads {two:.2f} us")
    print(f"\n| {args.env} num_envs | 1 thread (us/step) | 2 threads | 2 / 1 | perfect split + region |")
    print("|---|---|---|---|---|")
    for n in map(int, args.sizes.split(",")):
        t1, t2 = step_time(args.env, n, 1), step_time(args.env, n, 2)
        print(f"| {n} | {t1:.1f} | {t2:.1f} | {t1 / t2:.2f}x | {t1 / (t1 / 2 + two):.2f}x |", flush=True)
    from pufferlib import ocean
    per_env = ocean.env_creator(args.env)(num_envs=1).agents_per_env
    n = max(1, round(4096 / per_env))
    cmd = [sys.executable, __file__, "--env", args.env, "--solo", str(n)]
    alone = float(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    both = [float(p.communicate()[0]) for p in procs]
    print(f"\n{args.env} {n} envs, 1 thread: alone {alone:.1f} us/step; two processes at once "
          f"{both[0]:.1f} and {both[1]:.1f} us/step ({alone / np.mean(both):.2f}x of alone)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
