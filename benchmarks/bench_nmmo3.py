"""Neural MMO 3 at its default scale (4 worlds x 1024 players, 512x512): agent steps per
second (SPS) on one thread and on all cores, and memory: how much the resident set of a
process grows when it builds the env (construction, a reset and a few steps; the first env
also loads the compiled code, about 60 MB of it Numba's runtime, once per process), and how
much one more such env costs.

Each measurement runs in a fresh process (``--repeats`` times; medians printed), stepping
``env.step`` in a Python loop over random actions drawn before timing. Optionally the same
measurement is taken, in the same command, with another interpreter and package path: a
PufferLib 3.0 checkout with its C ``nmmo3`` built (``--reference-python``,
``--reference-path``), and the ratio ours / reference is printed.

Usage: python benchmarks/bench_nmmo3.py [--seconds 5] [--repeats 3] [--threads 2]
           [--reference-python PY --reference-path DIR]
Run it on an otherwise idle machine: a busy core ruins the multi-thread numbers.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, os, sys, time
import numpy as np

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

try:
    from pufferlib.ocean.nmmo3 import NMMO3
except ImportError:
    from pufferlib.ocean.nmmo3.nmmo3 import NMMO3
threads, seconds = int(sys.argv[1]), float(sys.argv[2])
kwargs = {"num_threads": threads} if threads > 1 else {}
base = rss()
env = NMMO3(**kwargs)
env.reset(seed=0)
rng = np.random.default_rng(0)
cache = [rng.integers(0, 26, env.num_agents).astype(np.int32) for _ in range(64)]
for a in cache[:8]:
    env.step(a)
grown = rss() - base
# A second instance: what one more env costs, without the once-per-process code loading.
before = rss()
other = NMMO3(**kwargs)
other.reset(seed=1)
for a in cache[:8]:
    other.step(a)
instance = rss() - before
other.close()
del other
steps, start = 0, time.perf_counter()
while time.perf_counter() - start < seconds:
    for _ in range(8):
        env.step(cache[steps % 64])
        steps += 1
sps = env.num_agents * steps / (time.perf_counter() - start)
print(json.dumps({"sps": sps, "rss_growth": grown, "rss_instance": instance}))
"""


def run(python, path, threads, seconds):
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = path + os.pathsep + env.get("PYTHONPATH", "")
    # cwd: a neutral folder, so a checkout in the current directory does not shadow `path`.
    out = subprocess.run([python, "-c", CHILD, str(threads), str(seconds)], env=env, capture_output=True,
                         cwd=tempfile.gettempdir(),
                         text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"benchmark child failed ({python}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="the 'all cores' count")
    parser.add_argument("--reference-python", help="interpreter of a reference install (e.g. PufferLib 3.0's C env)")
    parser.add_argument("--reference-path", help="prepended to PYTHONPATH for the reference")
    args = parser.parse_args()
    sides = [("ours", sys.executable, None)]
    if args.reference_python:
        sides.append(("reference", args.reference_python, args.reference_path))
    results = {}
    print(f"{'side':<10} {'threads':>7} {'SPS (median)':>14} {'vs ours 1 thread':>17} {'RSS: first env':>15} "
          f"{'another env':>12}")
    for threads in sorted({1, args.threads}):
        # The C binding of one vec env steps on one thread: the reference runs at 1 thread only.
        active = [side for side in sides if threads == 1 or side[0] == "ours"]
        runs = {name: [] for name, _, _ in active}
        for _ in range(args.repeats):  # the sides take turns, run by run
            for name, python, path in active:
                runs[name].append(run(python, path, threads, args.seconds))
        for name, _, _ in active:
            sps = statistics.median(r["sps"] for r in runs[name])
            mem = statistics.median(r["rss_growth"] for r in runs[name]) / 2**20
            inst = statistics.median(r["rss_instance"] for r in runs[name]) / 2**20
            results[(name, threads)] = sps
            base = results.get(("ours", 1), sps)
            print(f"{name:<10} {threads:>7} {sps / 1e6:>13.3f}M {sps / base:>16.2f}x {mem:>13.1f}MB {inst:>10.1f}MB",
                  flush=True)
    if ("reference", 1) in results:
        ref = results[("reference", 1)]
        for threads in sorted({1, args.threads}):
            print(f"ours {threads} thread(s) / reference 1 thread: {results[('ours', threads)] / ref:.2f}x")


if __name__ == "__main__":
    main()
