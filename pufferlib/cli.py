"""The ``puffer`` command.

``puffer list``: the registered Ocean environments.
``puffer bench [ENV] [--num-envs N] [--seconds S] [--backend B] [--threads T] [--num-workers W]``:
steps ENV with random actions and reports agent steps per second (SPS).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from pufferlib.exceptions import APIUsageError

BACKENDS = ("native", "serial", "multiprocessing")


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _parse_env_kwargs(pairs):
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise APIUsageError(f"--env-kwarg takes KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key] = _parse_value(value)
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``puffer`` (sub-commands ``list`` and ``bench``)."""
    parser = argparse.ArgumentParser(
        prog="puffer", description="pufferlib (Numba edition): Ocean environments compiled by Numba.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered Ocean environments")
    bench = sub.add_parser("bench", help="measure agent steps per second (SPS) with random actions")
    bench.add_argument("env", nargs="?", default="snake", help="Ocean env name (default: snake)")
    bench.add_argument("--num-envs", type=int, default=None,
                       help="total environments (default: the env's own default, e.g. 16 for snake)")
    bench.add_argument("--seconds", type=float, default=10.0, help="timed duration (default: 10)")
    bench.add_argument("--backend", choices=BACKENDS, default="native",
                       help="native: one env object steps all envs (default); serial / multiprocessing: "
                            "the envs are split across --num-workers env objects via pufferlib.vector")
    bench.add_argument("--threads", type=int, default=1,
                       help="Numba threads inside each env object (default: 1)")
    bench.add_argument("--num-workers", type=int, default=None,
                       help="env objects for serial/multiprocessing (default: number of CPU cores)")
    bench.add_argument("--env-kwarg", action="append", metavar="KEY=VALUE",
                       help="extra env constructor argument (JSON value), repeatable, e.g. --env-kwarg width=320")
    bench.add_argument("--seed", type=int, default=0)
    return parser


def cmd_list() -> int:
    """Print one line per registered Ocean env: ``puffer_<name>`` and its description. Returns 0."""
    from pufferlib.ocean import list_envs
    envs = list_envs()
    width = max(len(name) for name in envs)
    for name, desc in sorted(envs.items()):
        print(f"puffer_{name:<{width}}  {desc}")
    return 0


def make_bench_env(name, num_envs, backend, threads, num_workers, env_kwargs, seed):
    """Build the env to benchmark. Returns ``(env, config dict)``.

    ``native``: one env object with ``num_envs`` envs. ``serial`` / ``multiprocessing``:
    ``num_workers`` env objects of ``num_envs / num_workers`` envs each, through
    :func:`pufferlib.vector.make`. Raises APIUsageError if the split is not even.
    """
    import inspect

    from pufferlib.ocean import env_creator
    cls = env_creator(name)
    defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()
                if p.default is not inspect.Parameter.empty and k not in ("buf", "seed")}
    total = defaults.get("num_envs", 1) if num_envs is None else num_envs
    kwargs = dict(env_kwargs, num_threads=threads)
    config = {**{k: v for k, v in defaults.items() if k not in ("num_threads", "log_interval")},
              **env_kwargs, "num_envs": total}
    if backend == "native":
        return cls(num_envs=total, seed=seed, **kwargs), config
    import pufferlib.vector
    workers = num_workers or min(os.cpu_count() or 1, total)
    if total % workers:
        raise APIUsageError(f"--num-envs ({total}) must be divisible by --num-workers ({workers})")
    env = pufferlib.vector.make(cls, env_kwargs=dict(kwargs, num_envs=total // workers),
                                backend=backend.capitalize() if backend == "serial" else "Multiprocessing",
                                num_envs=workers, num_workers=workers if backend != "serial" else None,
                                seed=seed)
    config["num_workers"] = workers
    return env, config


def cmd_bench(args) -> int:
    """Step the env with pre-drawn random actions for ``args.seconds`` and print one summary
    line ending in ``SPS=`` (agent steps per second). Returns 0.

    Raises APIUsageError for an unknown env, a non-positive duration or a bad config.
    """
    from tqdm import tqdm

    from pufferlib.ocean import canonical_name
    name = canonical_name(args.env)
    if args.seconds <= 0:
        raise APIUsageError(f"--seconds must be > 0, got {args.seconds}")
    print(f"puffer bench: compiling / loading {name} (cached after the first run)...", file=sys.stderr)
    env, config = make_bench_env(name, args.num_envs, args.backend, args.threads, args.num_workers,
                                 _parse_env_kwargs(args.env_kwarg), args.seed)
    try:
        n_actions = int(env.single_action_space.n)
        rng = np.random.default_rng(args.seed)
        actions = rng.integers(0, n_actions, (64, env.num_agents)).astype(np.int32)
        env.reset(args.seed)
        steps = 0
        start = time.perf_counter()
        deadline = start + args.seconds
        last = start
        with tqdm(total=round(args.seconds, 1), unit="s", desc=f"{name} x{env.num_agents} agents",
                  bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f}s {postfix}", file=sys.stderr,
                  disable=None) as bar:
            while True:
                for k in range(64):
                    env.step(actions[k])
                steps += 64
                now = time.perf_counter()
                if now - last >= 0.25 or now >= deadline:
                    bar.update(round(min(now, deadline) - start, 1) - bar.n)
                    bar.set_postfix_str(f"{steps * env.num_agents / (now - start) / 1e6:.2f}M SPS")
                    last = now
                if now >= deadline:
                    break
        elapsed = time.perf_counter() - start
    finally:
        env.close()
    sps = steps * env.num_agents / elapsed
    cfg = " ".join(f"{k}={v}" for k, v in config.items())
    print(f"env={name} {cfg} backend={args.backend} threads={args.threads} agents={env.num_agents} "
          f"steps={steps} seconds={elapsed:.1f} SPS={sps:,.0f}")
    return 0


def main(argv=None) -> int:
    """Entry point of the ``puffer`` console script. Returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            return cmd_list()
        return cmd_bench(args)
    except APIUsageError as exc:
        print(f"puffer: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
