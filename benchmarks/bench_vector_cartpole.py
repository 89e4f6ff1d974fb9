"""Throughput of emulated CartPole-v1: pufferlib.vector Multiprocessing vs gymnasium AsyncVectorEnv.

Both run ``--num-envs`` CartPole-v1 envs with pre-generated random actions (drawn from the
env's action space by ``pufferlib.spaces.sample_actions``) for ``--seconds``
per repeat; repeats alternate between the two so that machine noise hits both alike. Prints
steps per second (env steps, summed over envs) for each, the median of ``--repeats`` runs,
and the ratio ours / theirs.

Note: gymnasium's AsyncVectorEnv runs one process per env (it has no worker count), so
``--num-workers`` only applies to ours.

    python benchmarks/bench_vector_cartpole.py --num-envs 8 --num-workers 2 --seconds 3
"""
from __future__ import annotations

import argparse
import functools
import statistics
import time

import gymnasium
import numpy as np

import pufferlib.vector
from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.spaces import sample_actions


def make_cartpole():  # module level: picklable for gymnasium's subprocesses
    return gymnasium.make("CartPole-v1")


def run(env, actions, seconds, seed):
    """Step ``env`` with the rows of ``actions`` (cycled) for ``seconds``; return env steps/s."""
    env.reset(seed=seed)
    num_envs = actions.shape[1]
    env.step(actions[0])  # warm-up
    steps, i, n = 0, 0, len(actions)
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            env.step(actions[i])
            i = i + 1 if i + 1 < n else 0
        steps += 100
        now = time.perf_counter()
        if now >= deadline:
            return steps * num_envs / (now - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--spin", choices=["auto", "on", "off"], default="auto",
                        help="Multiprocessing busy-poll before blocking (auto: when workers <= CPUs)")
    parser.add_argument("--serial", action="store_true", help="also time pufferlib's Serial backend")
    args = parser.parse_args()

    creator = functools.partial(GymnasiumPufferEnv, env_creator=gymnasium.make, env_args=["CartPole-v1"])
    ours = pufferlib.vector.make(creator, backend="Multiprocessing", num_envs=args.num_envs,
                                 num_workers=args.num_workers,
                                 spin={"auto": None, "on": True, "off": False}[args.spin])
    theirs = gymnasium.vector.AsyncVectorEnv([make_cartpole] * args.num_envs)
    serial = pufferlib.vector.make(creator, backend="Serial", num_envs=args.num_envs) if args.serial else None
    actions = sample_actions(ours.single_action_space, ours.num_agents, np.random.default_rng(0), steps=4096)
    results = {"ours": [], "theirs": [], "serial": []}
    try:
        for r in range(args.repeats):
            results["ours"].append(run(ours, actions, args.seconds, seed=r))
            results["theirs"].append(run(theirs, actions, args.seconds, seed=r))
            if serial is not None:
                results["serial"].append(run(serial, actions, args.seconds, seed=r))
    finally:
        ours.close()
        theirs.close()
        if serial is not None:
            serial.close()

    med = {k: statistics.median(v) for k, v in results.items() if v}
    print(f"CartPole-v1, num_envs={args.num_envs}, {args.repeats} repeats of {args.seconds:g} s, median SPS")
    print(f"  pufferlib.vector Multiprocessing ({args.num_workers} workers, spin={ours.spin}): "
          f"{med['ours']:>12,.0f} SPS"
          f"   runs: {', '.join(f'{x:,.0f}' for x in results['ours'])}")
    print(f"  gymnasium AsyncVectorEnv ({args.num_envs} processes):       {med['theirs']:>12,.0f} SPS"
          f"   runs: {', '.join(f'{x:,.0f}' for x in results['theirs'])}")
    if "serial" in med:
        print(f"  pufferlib.vector Serial (main process):          {med['serial']:>12,.0f} SPS")
    print(f"  ratio ours/theirs: {med['ours'] / med['theirs']:.2f}x")


if __name__ == "__main__":
    main()
