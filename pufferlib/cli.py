"""The ``puffer`` command.

``puffer list``: the registered Ocean environments and the third-party env families (installed or not,
with their install lines).
``puffer check ENV [--num-envs N] [--env-kwarg K=V] [--skip CHECK]``: the conformance checks of
:func:`pufferlib.check_env` on an instance of ENV (any :func:`pufferlib.make` name), one line
per check; exit status 0 if all pass, 1 if one fails.
``puffer render ENV --out FILE.gif|.mp4 [--steps N] [--fps F] [--seed S] [--env-kwarg K=V]``:
records env 0 of an Ocean env playing random actions, frame by frame, with ``imageio``.
``puffer bench [ENV] [--num-envs N] [--seconds S] [--backend B] [--threads T] [--num-workers W]``:
steps ENV with random actions and reports agent steps per second (SPS). ENV is an Ocean
env name or ``MODULE:CLASS``, any PufferEnv class; actions are drawn from its
``single_action_space`` (``Discrete``, ``MultiDiscrete`` or ``Box``).

A bad argument (including an env constructor argument given with ``--env-kwarg`` that the
env rejects) prints one line ``puffer: error: ...`` on stderr and exits with status 2, as
argparse does; other exceptions are bugs and keep their traceback. Ctrl-C exits with status
130: ``puffer bench`` first prints its result line for the steps timed so far (marked
``(interrupted)``); ``puffer render`` writes no file (a partly written one is removed).
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import inspect
import itertools
import json
import math
import os
import sys
import time

import numpy as np

from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

BACKENDS = ("native", "serial", "multiprocessing")
#: Exit status of a command ended by Ctrl-C (128 + SIGINT), as a shell reports it.
EXIT_INTERRUPTED = 130
#: Constructor arguments that ``puffer bench`` sets from its own options, never from --env-kwarg.
_OWN_ARGS = {"num_envs": "--num-envs", "seed": "--seed", "num_threads": "--threads"}


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _check_min(flag, value, low):
    if value < low:
        raise APIUsageError(f"{flag} must be >= {low}, got {value}")


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
    sub.add_parser("list", help="list the registered Ocean environments and third-party env families")
    bench = sub.add_parser("bench", help="measure agent steps per second (SPS) with random actions")
    bench.add_argument("env", nargs="?", default="snake",
                       help="Ocean env name (default: snake), or MODULE:CLASS for any PufferEnv class, "
                            "e.g. mypackage.envs:MyEnv")
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
    render = sub.add_parser("render", help="record env 0 of an Ocean env playing random actions (GIF or MP4)")
    render.add_argument("env", help="Ocean env name, e.g. cartpole")
    render.add_argument("--out", required=True, help="output file: .gif, or .mp4 (needs imageio-ffmpeg)")
    render.add_argument("--steps", type=int, default=200, help="steps to record (default: 200)")
    render.add_argument("--fps", type=float, default=30.0, help="frames per second (default: 30)")
    render.add_argument("--env-kwarg", action="append", metavar="KEY=VALUE",
                        help="extra env constructor argument (JSON value), repeatable")
    render.add_argument("--seed", type=int, default=0)
    check = sub.add_parser("check", help="run the conformance checks of pufferlib.check_env on an env instance")
    check.add_argument("env", help="a pufferlib.make name: Ocean env (e.g. snake), gym-<id> or pettingzoo-<name>")
    check.add_argument("--num-envs", type=int, default=None,
                       help="environments in the instance (default: the env's own default)")
    check.add_argument("--env-kwarg", action="append", metavar="KEY=VALUE",
                       help="extra env constructor argument (JSON value), repeatable, e.g. --env-kwarg width=64")
    check.add_argument("--skip", action="append", metavar="CHECK", default=[],
                       help="a check not to run, repeatable (names as printed)")
    return parser


def cmd_render(args) -> int:
    """``puffer render``: build the env with ``num_envs=1`` (unless given) and
    ``render_mode='rgb_array'``, step it with random actions, write the frames.

    Ctrl-C writes nothing: the frames are kept in memory until the end, and a file that was
    being written when Ctrl-C came is removed. Returns 130 then (see :func:`main`)."""
    from tqdm import tqdm

    from pufferlib import make
    from pufferlib.checks import check_int
    from pufferlib.spaces import sample_actions
    check_int("--steps", args.steps, 1)
    if ":" in args.env:
        raise APIUsageError("puffer render takes an Ocean env name (see puffer list)")
    if not (math.isfinite(args.fps) and args.fps > 0):
        raise APIUsageError(f"--fps must be a finite number > 0, got {args.fps}")
    _check_min("--seed", args.seed, 0)
    suffix = os.path.splitext(args.out)[1].lower()
    if suffix not in (".gif", ".mp4"):
        raise APIUsageError(f"--out must end in .gif or .mp4, got {args.out!r}")
    try:
        import imageio.v3 as iio
    except ImportError as exc:
        raise EnvironmentSetupError("puffer render writes images with imageio: "
                                    "pip install 'pufferlib-numba[render]'") from exc
    kwargs = {"num_envs": 1, **_parse_env_kwargs(args.env_kwarg), "render_mode": "rgb_array"}
    with _user_errors(args.env):
        env = make(args.env, **kwargs)
    try:
        rng = np.random.default_rng(args.seed)
        env.reset(args.seed)
        frames = [env.render()]
        for _ in tqdm(range(args.steps), desc=f"render {args.env}", unit="step", file=sys.stderr, disable=None):
            env.step(sample_actions(env.single_action_space, env.num_agents, rng))
            frames.append(env.render())
    finally:
        env.close()
    options = {"duration": 1000.0 / args.fps, "loop": 0} if suffix == ".gif" else {"fps": args.fps}
    try:
        iio.imwrite(args.out, np.stack(frames), **options)
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            os.remove(args.out)                          # a partly written file is no video
        raise
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        raise EnvironmentSetupError(f"could not write {args.out}: {exc}"
                                    + (" (MP4 needs: pip install imageio-ffmpeg)" if suffix == ".mp4" else "")
                                    ) from exc
    print(f"wrote {args.out}: {len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]}")
    return 0


def cmd_list() -> int:
    """Print one line per registered Ocean env (``puffer_<name>`` and its description), then one
    line per third-party env family (``pufferlib.environments``): its name, whether its
    dependencies are installed here, its description and, when missing, its install line.
    Returns 0."""
    from pufferlib import environments
    from pufferlib.ocean import list_envs
    envs = list_envs()
    width = max(len(name) for name in envs)
    for name, desc in sorted(envs.items()):
        print(f"puffer_{name:<{width}}  {desc}")
    rows = environments.status()
    print("\nThird-party families: pufferlib.make('<family>-<name>') (docs/third-party-environments.md)")
    width = max(len(row["family"]) for row in rows)
    for row in rows:
        mark = "installed" if row["installed"] else "missing  "
        line = f"{row['family']:<{width}}  {mark}  {row['description']}"
        if row["available"] and not row["installed"]:
            line += f"  [install: {row['install']}]"
        print(line)
    return 0


#: Pre-drawn action batches: at most this many, and at most ACTION_CACHE_BYTES in all.
ACTION_CACHE_BATCHES = 1024
ACTION_CACHE_BYTES = 256 * 2**20
#: Steps between two clock reads in the bench loop.
STEPS_PER_CHECK = 64


def action_cache(space, num_agents, rng, max_batches=ACTION_CACHE_BATCHES, max_bytes=ACTION_CACHE_BYTES):
    """Random action batches to step an env with, drawn before timing.

    Args:
        space: the per-agent action space (``Discrete``, ``MultiDiscrete`` or ``Box``).
        num_agents: agents per batch.
        rng: a ``numpy.random.Generator``.
        max_batches, max_bytes: the cache holds ``max_batches`` batches, or fewer so that it
            stays within ``max_bytes`` (but always at least one batch).

    Returns:
        A C-contiguous array ``(batches, num_agents, *space.shape)`` drawn by
        :func:`pufferlib.spaces.sample_actions` (int32 for discrete spaces, the Box's dtype
        for a Box); each ``cache[k]`` is a valid, C-contiguous action batch.

    Raises:
        APIUsageError: an unsupported space (from ``sample_actions``).
    """
    from pufferlib.spaces import sample_actions
    first = sample_actions(space, num_agents, rng, steps=1)
    batch_bytes = max(1, first.nbytes)
    batches = max(1, min(int(max_batches), int(max_bytes) // batch_bytes))
    cache = np.empty((batches, *first.shape[1:]), first.dtype)
    cache[0] = first[0]
    # Drawn in pieces of ~16 MiB: sampling a Box makes float64 temporaries several times
    # the size of its output.
    piece = max(1, (16 * 2**20) // batch_bytes)
    for start in range(1, batches, piece):
        stop = min(batches, start + piece)
        cache[start:stop] = sample_actions(space, num_agents, rng, steps=stop - start)
    return cache


def resolve_env(spec: str):
    """``(name, env class)`` for ``puffer bench``'s ENV argument.

    ``'snake'`` / ``'puffer_snake'``: a registered Ocean env (``name`` is the short name).
    ``'MODULE:CLASS'`` (``CLASS`` may be dotted): any PufferEnv class or creator, imported
    from ``MODULE`` (``name`` is the spec as given).

    Raises:
        APIUsageError: an unknown Ocean name, a module that cannot be imported, a missing
            attribute, or an attribute that is not callable.
    """
    if ":" not in spec:
        from pufferlib.ocean import canonical_name, env_creator
        name = canonical_name(spec)
        return name, env_creator(name)
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise APIUsageError(f"ENV {spec!r}: expected an Ocean env name or MODULE:CLASS")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise APIUsageError(f"ENV {spec!r}: cannot import module {module!r} ({exc})") from exc
    try:
        cls = functools.reduce(getattr, attr.split("."), mod)
    except AttributeError as exc:
        raise APIUsageError(f"ENV {spec!r}: module {module!r} has no attribute {attr!r}") from exc
    if not callable(cls):
        raise APIUsageError(f"ENV {spec!r}: {attr!r} is not a class or callable")
    return spec, cls


@contextlib.contextmanager
def _user_errors(name):
    """A ``ValueError`` raised while building ``name`` from the user's arguments becomes an
    :class:`APIUsageError` (a one-line ``puffer: error:``); other exceptions are bugs and keep
    their traceback."""
    try:
        yield
    except APIUsageError:
        raise
    except ValueError as exc:
        raise APIUsageError(f"{name}: {exc}") from exc


def make_bench_env(name, num_envs, backend, threads, num_workers, env_kwargs, seed):
    """Build the env to benchmark. Returns ``(env, config dict)``.

    ``name`` is an Ocean env name or ``MODULE:CLASS`` (see :func:`resolve_env`).
    ``native``: one env object with ``num_envs`` envs. ``serial`` / ``multiprocessing``:
    ``num_workers`` env objects of ``num_envs / num_workers`` envs each, through
    :func:`pufferlib.vector.make`. A class without a ``num_envs`` argument simulates one env
    per object: ``num_envs`` objects are made (native: only ``num_envs=1``).
    ``num_threads`` and ``seed`` are passed only to classes that take them.

    Raises:
        APIUsageError: an unknown env, a split that is not even, ``--threads`` other than 1
            for a class without ``num_threads``, an ``env_kwargs`` key that the class does not
            take or that has its own argument (num_envs, seed, num_threads), or a bad config
            (including a plain ``ValueError`` from the class's constructor).
    """
    _, cls = resolve_env(name)
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = {}
    any_kwarg = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())

    def takes(arg):
        return arg in params or any_kwarg

    own = [k for k in env_kwargs if k in _OWN_ARGS]
    if own:
        raise APIUsageError(" / ".join(own) + " " + ("is" if len(own) == 1 else "are") + " set with "
                            + " / ".join(_OWN_ARGS[k] for k in own) + ", not --env-kwarg")
    if params and not any_kwarg:
        valid = [k for k in params if k != "buf" and k not in _OWN_ARGS]
        unknown = [k for k in env_kwargs if k not in params or k == "buf"]
        if unknown:
            label = name if ":" in name else f"puffer_{name}"
            raise APIUsageError(f"unknown argument {unknown[0]!r} for {label}; valid: "
                                + (", ".join(valid) or "none"))
    defaults = {k: p.default for k, p in params.items()
                if p.default is not inspect.Parameter.empty and k not in ("buf", "seed")}
    multi = takes("num_envs")
    total = (defaults.get("num_envs", 1) if multi else 1) if num_envs is None else num_envs
    kwargs = dict(env_kwargs)
    if takes("num_threads"):
        kwargs["num_threads"] = threads
    elif threads != 1:
        raise APIUsageError(f"{name} takes no num_threads argument; --threads must be 1")
    config = {**{k: v for k, v in defaults.items() if k not in ("num_threads", "log_interval")},
              **env_kwargs, "num_envs": total}
    if backend == "native":
        if multi:
            kwargs["num_envs"] = total
        elif total != 1:
            raise APIUsageError(
                f"{name} simulates one env per object (it takes no num_envs argument): use "
                f"--backend serial or multiprocessing for --num-envs {total}")
        if takes("seed"):
            kwargs["seed"] = seed
        with _user_errors(name):
            return cls(**kwargs), config
    import pufferlib.vector
    workers = num_workers or min(os.cpu_count() or 1, total)
    if total % workers:
        raise APIUsageError(f"--num-envs ({total}) must be divisible by --num-workers ({workers})")
    instances = workers if multi else total
    if multi:
        kwargs["num_envs"] = total // workers
    with _user_errors(name):
        env = pufferlib.vector.make(cls, env_kwargs=kwargs,
                                    backend=backend.capitalize() if backend == "serial" else "Multiprocessing",
                                    num_envs=instances, num_workers=workers if backend != "serial" else None,
                                    seed=seed)
    config["num_workers"] = workers
    return env, config


def cmd_bench(args) -> int:
    """Step the env with pre-drawn random actions for ``args.seconds`` and print one summary
    line ending in ``SPS=`` (agent steps per second). Returns 0, or 130 when Ctrl-C ended the
    timed loop: the line then reports the steps timed so far and ends in ``(interrupted)``.

    Actions are drawn before timing from the env's ``single_action_space`` (any native
    space: Discrete, MultiDiscrete, Box) by :func:`action_cache`, and cycled through.

    Raises APIUsageError for an unknown env, a duration that is not a finite number > 0, a
    negative seed, a count below 1, an ``--env-kwarg`` that the env does not take (or that
    has its own option: num_envs, seed, num_threads) or a bad config.
    """
    from tqdm import tqdm

    name, _ = resolve_env(args.env)
    if not (math.isfinite(args.seconds) and args.seconds > 0):
        raise APIUsageError(f"--seconds must be a finite number > 0, got {args.seconds}")
    _check_min("--seed", args.seed, 0)
    _check_min("--threads", args.threads, 1)
    if args.num_envs is not None:
        _check_min("--num-envs", args.num_envs, 1)
    if args.num_workers is not None:
        _check_min("--num-workers", args.num_workers, 1)
    env_kwargs = _parse_env_kwargs(args.env_kwarg)
    print(f"puffer bench: compiling / loading {name} (cached after the first run)...", file=sys.stderr)
    env, config = make_bench_env(name, args.num_envs, args.backend, args.threads, args.num_workers,
                                 env_kwargs, args.seed)
    interrupted = False
    try:
        cache = action_cache(env.single_action_space, env.num_agents, np.random.default_rng(args.seed))
        rows = list(cache)
        chunks = [rows[i:i + STEPS_PER_CHECK] for i in range(0, len(rows), STEPS_PER_CHECK)]
        step = env.step
        env.reset(args.seed)
        steps = 0
        start = time.perf_counter()
        deadline = start + args.seconds
        last = start
        with tqdm(total=round(args.seconds, 1), unit="s", desc=f"{name} x{env.num_agents} agents",
                  bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f}s {postfix}", file=sys.stderr,
                  disable=None) as bar:
            try:
                for chunk in itertools.cycle(chunks):
                    for actions in chunk:
                        step(actions)
                    steps += len(chunk)
                    now = time.perf_counter()
                    if now - last >= 0.25 or now >= deadline:
                        bar.update(round(min(now, deadline) - start, 1) - bar.n)
                        bar.set_postfix_str(f"{steps * env.num_agents / (now - start) / 1e6:.2f}M SPS")
                        last = now
                    if now >= deadline:
                        break
            except KeyboardInterrupt:
                # Ctrl-C: report what was measured so far (whole chunks only), exit 130.
                interrupted = True
        elapsed = time.perf_counter() - start
    finally:
        try:
            env.close()
        except Exception:
            # Ctrl-C also reaches the worker processes of the multiprocessing backend: a
            # failed close after an interrupt is expected, anything else is a bug.
            if not interrupted:
                raise
    sps = steps * env.num_agents / elapsed if elapsed > 0 else 0.0
    cfg = " ".join(f"{k}={v}" for k, v in config.items())
    print(f"env={name} {cfg} backend={args.backend} threads={args.threads} agents={env.num_agents} "
          f"steps={steps} seconds={elapsed:.1f} SPS={sps:,.0f}" + (" (interrupted)" if interrupted else ""))
    if interrupted:
        print("puffer: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def cmd_check(args) -> int:
    """``puffer check``: build the env by name (:func:`pufferlib.make`) and run
    :func:`pufferlib.check.iter_checks` on it, printing one line per check (``passed`` or
    ``skipped: <why>``). A second instance built the same way serves ``determinism_rebuilt``.

    Returns 0 when every check passed or was skipped, 1 when one failed (its line reads
    ``FAILED: <what was seen and expected>``; the checks after it do not run). Raises
    APIUsageError (exit 2) for an unknown env, check name or argument."""
    from pufferlib import make
    from pufferlib.check import INSTANCE_CHECKS, iter_checks
    if args.num_envs is not None:
        _check_min("--num-envs", args.num_envs, 1)
    unknown = [name for name in args.skip if name not in INSTANCE_CHECKS]
    if unknown:
        raise APIUsageError(f"--skip {unknown[0]!r}: unknown check; checks are {', '.join(INSTANCE_CHECKS)}")
    kwargs = _parse_env_kwargs(args.env_kwarg)
    if "num_envs" in kwargs:
        raise APIUsageError("num_envs is set with --num-envs, not --env-kwarg")

    def build():
        with _user_errors(args.env):
            return make(args.env, num_envs=args.num_envs, **kwargs)

    print(f"puffer check: building {args.env} (compiled on first use)...", file=sys.stderr)
    env = build()
    width = max(len(name) for name in INSTANCE_CHECKS)
    passed = skipped = 0
    with env:
        print(f"{args.env}: {env!r}")
        results = iter_checks(env, skip=args.skip, make_env=build)
        while True:
            try:
                name, result = next(results)
            except StopIteration:
                break
            except AssertionError as exc:
                failed = next((n for n in INSTANCE_CHECKS if f"check {n!r}:" in str(exc)), "?")
                detail = str(exc).split(f"check {failed!r}: ", 1)[-1]
                print(f"{failed:<{width}}  FAILED: {detail}")
                print(f"puffer check: {args.env} failed check {failed!r} ({passed} passed before it)",
                      file=sys.stderr)
                return 1
            passed += result == "passed"
            skipped += result != "passed"
            print(f"{name:<{width}}  {result}")
    print(f"puffer check: {args.env}: {passed} passed, {skipped} skipped, 0 failed", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """Entry point of the ``puffer`` console script. Returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            return cmd_list()
        if args.command == "render":
            return cmd_render(args)
        if args.command == "check":
            return cmd_check(args)
        return cmd_bench(args)
    except (APIUsageError, EnvironmentSetupError) as exc:
        # A bad argument (argparse's convention: exit status 2, one line, no traceback).
        message = " ".join(str(exc).split())
        print(f"puffer: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C outside the timed loop (while compiling, building the env, writing a file).
        print("puffer: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
