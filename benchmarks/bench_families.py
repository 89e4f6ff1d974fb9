"""Third-party families: raw env SPS against SPS through pufferlib.make, in the same run.

Atari (needs ale-py and opencv):
- emulated: one raw ``gymnasium`` Atari env (AtariPreprocessing + FrameStackObservation, the
  env ``make('atari-<game>', backend=...)`` builds) stepped in a loop, against the same env
  through the emulation layer (one ``GymnasiumPufferEnv``), ``Serial`` over ``--num-envs``
  envs and ``Multiprocessing`` with 2 workers. The emulation overhead is
  ``(raw SPS / emulated SPS - 1)``: the extra time per step, as a share of the raw step time.
- native: ALE's ``AtariVectorEnv`` stepped directly, against ``make('atari-<game>')``
  (:class:`pufferlib.environments.atari.AtariVector` over the same vector env).

Procgen (when procgen is importable): ``ProcgenGym3Env`` act/observe against ``make('procgen-<game>')``.

    python benchmarks/bench_families.py [--game pong] [--num-envs 8] [--seconds 3]

Prints one row per configuration: SPS (agent steps per second) and the ratio to its raw env.
"""
from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np


def timed(step, batch, seconds):
    """Call ``step()`` until ``seconds`` have passed; returns agent steps per second."""
    for _ in range(20):
        step()                                      # warm-up
    steps, start = 0, time.perf_counter()
    while True:
        for _ in range(32):
            step()
        steps += 32
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps * batch / elapsed


def puffer_stepper(env, rng, n_actions):
    actions = rng.integers(0, n_actions, (1024, env.num_agents)).astype(np.int32)
    env.reset(seed=0)
    i = [0]

    def step():
        env.step(actions[i[0] & 1023])
        i[0] += 1
    return step


def bench_atari(game, num_envs, seconds, rows):
    import pufferlib
    from pufferlib.emulation import GymnasiumPufferEnv
    from pufferlib.environments import atari, resolve_name
    env_id = resolve_name(game, atari.env_names(), "atari")
    rng = np.random.default_rng(0)

    raw = atari.make_gymnasium_atari(env_id)
    n = raw.action_space.n
    raw.reset(seed=0)
    acts = rng.integers(0, n, 4096)
    i = [0]

    def raw_step():
        _, _, term, trunc, _ = raw.step(int(acts[i[0] & 4095]))
        i[0] += 1
        if term or trunc:
            raw.reset()
    raw_sps = timed(raw_step, 1, seconds)
    raw.close()
    rows.append(("atari raw gymnasium env (1 env)", raw_sps, None, None))

    one = GymnasiumPufferEnv(env=atari.make_gymnasium_atari(env_id))
    one.reset(seed=0)
    act = np.zeros(1, np.int32)
    j = [0]

    def one_step():
        if one.done:
            one.reset()
        else:
            act[0] = acts[j[0] & 4095]
            one.step(act)
        j[0] += 1
    sps = timed(one_step, 1, seconds)
    one.close()
    rows.append(("atari emulated, 1 GymnasiumPufferEnv", sps, sps / raw_sps, raw_sps / sps - 1))

    for label, kwargs in ((f"atari make(backend='Serial'), {num_envs} envs", dict(backend="Serial")),
                          (f"atari make(backend='Multiprocessing', num_workers=2), {num_envs} envs",
                           dict(backend="Multiprocessing", num_workers=2))):
        env = pufferlib.make(f"atari-{game}", num_envs=num_envs, **kwargs)
        try:
            sps = timed(puffer_stepper(env, rng, n), num_envs, seconds)
        finally:
            env.close()
        rows.append((label, sps, sps / raw_sps, raw_sps / sps - 1 if kwargs["backend"] == "Serial" else None))

    from ale_py.vector_env import AtariVectorEnv
    vec = AtariVectorEnv(atari.rom_id(env_id), num_envs, num_threads=1, repeat_action_probability=0.25,
                         reward_clipping=False, use_fire_reset=False)
    vec.reset(seed=0)
    vacts = rng.integers(0, n, (1024, num_envs)).astype(np.int32)
    k = [0]

    def vec_step():
        vec.step(vacts[k[0] & 1023])
        k[0] += 1
    vec_sps = timed(vec_step, num_envs, seconds)
    vec.close()
    rows.append((f"atari raw AtariVectorEnv, {num_envs} envs, 1 thread", vec_sps, None, None))
    env = pufferlib.make(f"atari-{game}", num_envs=num_envs)
    try:
        sps = timed(puffer_stepper(env, rng, n), num_envs, seconds)
    finally:
        env.close()
    rows.append((f"atari make() native AtariVector, {num_envs} envs", sps, sps / vec_sps, vec_sps / sps - 1))


def bench_procgen(game, num_envs, seconds, rows):
    import pufferlib
    from procgen import ProcgenGym3Env
    rng = np.random.default_rng(0)
    raw = ProcgenGym3Env(num=num_envs, env_name=game, rand_seed=0, distribution_mode="easy")
    acts = rng.integers(0, 15, (1024, num_envs)).astype(np.int32)
    k = [0]

    def raw_step():
        raw.act(acts[k[0] & 1023])
        raw.observe()
        k[0] += 1
    raw_sps = timed(raw_step, num_envs, seconds)
    rows.append((f"procgen raw ProcgenGym3Env, {num_envs} envs", raw_sps, None, None))
    for label, kwargs in ((f"procgen make() native, {num_envs} envs", {}),
                          (f"procgen make(backend='Multiprocessing', num_workers=2), {num_envs} envs",
                           dict(backend="Multiprocessing", num_workers=2))):
        env = pufferlib.make(f"procgen-{game}", num_envs=num_envs, **kwargs)
        try:
            sps = timed(puffer_stepper(env, rng, 15), num_envs, seconds)
        finally:
            env.close()
        rows.append((label, sps, sps / raw_sps, raw_sps / sps - 1 if not kwargs else None))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="pong", help="Atari game (default: pong)")
    parser.add_argument("--procgen-game", default="coinrun")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per row (default: 3)")
    args = parser.parse_args(argv)
    rows = []
    if importlib.util.find_spec("ale_py") and importlib.util.find_spec("cv2"):
        bench_atari(args.game, args.num_envs, args.seconds, rows)
    else:
        print("atari: skipped (pip install 'pufferlib-numba[atari]')")
    if importlib.util.find_spec("procgen"):
        bench_procgen(args.procgen_game, args.num_envs, args.seconds, rows)
    else:
        print("procgen: skipped (pip install 'pufferlib-numba[procgen]')")
    width = max(len(r[0]) for r in rows) if rows else 0
    print(f"{'configuration':<{width}}  {'SPS':>10}  {'vs raw':>7}  {'overhead':>8}")
    for label, sps, ratio, overhead in rows:
        print(f"{label:<{width}}  {sps:>10,.0f}  {'' if ratio is None else f'{ratio:.2f}x':>7}  "
              f"{'' if overhead is None else f'{overhead:+.1%}':>8}")


if __name__ == "__main__":
    main()
