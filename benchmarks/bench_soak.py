"""Soak test: step an Ocean env for a long time on each backend and watch memory (RSS) and SPS.

For each backend (``native``: one env simulating every env; ``Multiprocessing``: 2 workers;
``Ray``: 2 actors, when ray is installed) the script builds the same total number of envs,
resets, warms up, then steps with random valid actions (a pre-generated pool, cycled) for
``--seconds``, reading one env's ``state()`` every ``--state-every`` steps. It samples the
resident set size (RSS, from ``/proc``; psutil if installed) of every process involved (this
process, plus the workers or actors) once a second and prints one table:

- ``RSS start``: after the warm-up; ``RSS end``: after the last step; ``growth``: end - start;
- ``slope``: least-squares slope of the RSS samples over the last 80% of the run, MB/min (a
  leak shows as a steady positive slope; start-up effects fall in the first 20%);
- ``PSS end``: proportional set size (shared pages divided among the processes that map them;
  RSS counts the shared batch buffers and worlds once per process);
- ``SPS``: agent steps per second (env steps x agents, summed over envs).

    python benchmarks/bench_soak.py --seconds 60
    python benchmarks/bench_soak.py --env squared --num-envs 4096 --seconds 10 --backends native
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from tqdm import tqdm

import pufferlib.vector
from pufferlib.ocean import env_creator
from pufferlib.spaces import sample_actions

try:  # optional
    import psutil
except ImportError:  # pragma: no cover - depends on the environment
    psutil = None

BACKENDS = ("native", "Multiprocessing", "Ray")
#: default configs: a mid-sized Snake (4 maps x 256 snakes = 1024 agents in all)
CONFIGS = {"snake": {"num_envs": 4}}


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` in bytes (0 if it is gone)."""
    if psutil is not None:
        try:
            return psutil.Process(pid).memory_info().rss
        except psutil.NoSuchProcess:
            return 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size of ``pid`` in bytes (0 where /proc/<pid>/smaps_rollup is missing)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def ray_actor_pids(env) -> list:
    """Process ids of a Ray vector env's actors (asked from each actor)."""
    import ray
    return ray.get([actor.__ray_call__.remote(lambda self: os.getpid()) for actor in env._actors])


def build(backend, cls, cfg, total_envs, workers):
    """``(env, process ids)`` of ``total_envs`` envs of ``cls`` on ``backend``."""
    if backend == "native":
        return cls(**dict(cfg, num_envs=total_envs)), [os.getpid()]
    per = dict(cfg, num_envs=total_envs // workers)
    if backend == "Multiprocessing":
        env = pufferlib.vector.make(cls, env_kwargs=per, backend="Multiprocessing", num_envs=workers,
                                    num_workers=workers)
        return env, [os.getpid(), *env.pids]
    env = pufferlib.vector.make(cls, env_kwargs=per, backend="Ray", num_envs=workers, num_workers=workers,
                                ray_init_kwargs={"num_cpus": workers, "include_dashboard": False})
    return env, [os.getpid(), *ray_actor_pids(env)]


def soak(backend, args):
    """Run one backend; return its row of the table (a dict)."""
    cls = env_creator(args.env)
    cfg = dict(CONFIGS.get(args.env, {}))
    cfg.pop("num_envs", None)
    total = args.num_envs or CONFIGS.get(args.env, {}).get("num_envs", 4)
    if backend != "native" and total % args.workers:
        raise SystemExit(f"--num-envs {total} must be divisible by --workers {args.workers}")
    env, pids = build(backend, cls, cfg, total, args.workers)
    rng = np.random.default_rng(0)
    pool = sample_actions(env.single_action_space, env.num_agents, rng, steps=256)
    ids = sum(env.instance_num_envs) if hasattr(env, "instance_num_envs") else env.num_envs
    try:
        env.reset(0)
        for a in pool[:64]:  # warm-up: compiled code, caches, first logs
            env.step(a)
        rss = lambda: sum(rss_bytes(p) for p in pids)  # noqa: E731
        start_rss = rss()
        samples = [(0.0, start_rss)]
        steps, infos_seen = 0, 0
        start = time.perf_counter()
        next_sample = start + 1.0
        deadline = start + args.seconds
        with tqdm(total=int(args.seconds), desc=f"{backend:>15}", unit="s", leave=False) as bar:
            while True:
                for k in range(100):
                    *_, infos = env.step(pool[(steps + k) % len(pool)])
                    infos_seen += len(infos)
                steps += 100
                if args.state_every and steps % args.state_every < 100:
                    env.state(int(rng.integers(ids)))
                now = time.perf_counter()
                if now >= next_sample:
                    samples.append((now - start, rss()))
                    bar.n = min(int(now - start), bar.total)
                    bar.set_postfix(SPS=f"{steps * env.num_agents / (now - start):.3g}",
                                    RSS=f"{samples[-1][1] / 2**20:.0f}MB")
                    bar.refresh()
                    next_sample = now + 1.0
                if now >= deadline:
                    break
        elapsed = time.perf_counter() - start
        end_rss = rss()
        samples.append((elapsed, end_rss))
        pss = sum(pss_bytes(p) for p in pids)
    finally:
        env.close()
    t = np.array([s[0] for s in samples])
    m = np.array([s[1] for s in samples], np.float64) / 2**20
    tail = t >= 0.2 * elapsed
    slope = float(np.polyfit(t[tail], m[tail], 1)[0]) * 60 if tail.sum() >= 2 else float("nan")
    return {"backend": backend, "env": args.env, "agents": env.num_agents, "processes": len(pids),
            "steps": steps, "sps": steps * env.num_agents / elapsed, "rss_start": start_rss / 2**20,
            "rss_end": end_rss / 2**20, "growth": (end_rss - start_rss) / 2**20, "slope": slope,
            "pss_end": pss / 2**20, "logs": infos_seen, "seconds": elapsed}


def table(rows) -> str:
    head = ("| backend | env | agents | processes | steps | SPS | RSS start (MB) | RSS end (MB) | growth (MB) "
            "| slope (MB/min) | PSS end (MB) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(f"| {r['backend']} | {r['env']} | {r['agents']} | {r['processes']} | {r['steps']:,} "
                     f"| {r['sps'] / 1e6:.2f}M | {r['rss_start']:.1f} | {r['rss_end']:.1f} | {r['growth']:+.1f} "
                     f"| {r['slope']:+.2f} | {r['pss_end']:.1f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="stepping time per backend")
    parser.add_argument("--env", default="snake", help="registered Ocean env (puffer list)")
    parser.add_argument("--num-envs", type=int, default=None, help="total envs (default: 4 for snake)")
    parser.add_argument("--workers", type=int, default=2, help="Multiprocessing workers / Ray actors")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated subset of native,Multiprocessing,Ray")
    parser.add_argument("--state-every", type=int, default=1000,
                        help="read one env's state() every this many steps (0: never)")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise SystemExit(f"unknown backends {unknown}; choose from {', '.join(BACKENDS)}")
    rows = []
    for backend in backends:
        if backend == "Ray":
            try:
                import ray  # noqa: F401
            except ImportError:
                print("Ray: not installed, skipped (pip install 'pufferlib-numba[ray]')")
                continue
        rows.append(soak(backend, args))
    print(table(rows))
    if "Ray" in backends and rows and rows[-1]["backend"] == "Ray":
        import ray
        ray.shutdown()


if __name__ == "__main__":
    main()
