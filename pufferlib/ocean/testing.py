"""Conformance checks for Numba envs built on :class:`pufferlib.ocean.core.OceanEnv`.

``check_env(MyEnv)`` runs every check of :data:`CHECKS` on small instances of ``MyEnv``
(its ``test_config()`` unless ``config`` is given) and raises ``AssertionError`` naming the
first failed check. The project's test suite runs the same checks over every registered
Ocean env, so an env added to the registry is covered by all of them.

A check needing something this machine lacks (a GPU or ``NUMBA_ENABLE_CUDASIM=1`` for
``cuda_matches_cpu``; the CUDA toolkit's NVVM for ``compiles_to_ptx``; an importable
env class for ``native_matches_vector`` through Multiprocessing) raises
:class:`CheckSkipped`; ``check_env`` reports it in the returned dict and goes on.
"""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.spaces import Box, Discrete, MultiDiscrete, _discrete_bounds, sample_actions
from pufferlib.ocean.core.env import exported_names

STEPS = 48
SEED = 7


class CheckSkipped(Exception):
    """A check could not run here (the message says what is missing)."""


def _make(env_cls, config, **overrides):
    cfg = dict(env_cls.test_config() if config is None else config)
    cfg.update(overrides)
    return env_cls(**cfg)


def _actions(env, steps, seed):
    return sample_actions(env.single_action_space, env.num_agents, np.random.default_rng(seed), steps=steps)


def _host(a):
    return a.copy_to_host() if hasattr(a, "copy_to_host") else np.array(a, copy=True)


def _rollout(env, actions, seed, reset_at=None):
    """Copies of (observations, rewards, terminals, truncations) after reset and each step,
    and the logs reported; a second reset with ``seed + 1`` at step ``reset_at``."""
    out = [_host(env.reset(seed)[0])]
    logs = []
    for t, a in enumerate(actions):
        if t == reset_at:
            out.append(_host(env.reset(seed + 1)[0]))
        o, r, term, trunc, infos = env.step(a)
        out.extend([_host(o), _host(r), _host(term), _host(trunc)])
        logs.extend(infos)
    return out, logs


def _assert_same(a, b, what):
    assert len(a) == len(b), f"{what}: {len(a)} vs {len(b)} arrays"
    for k, (x, y) in enumerate(zip(a, b)):
        np.testing.assert_array_equal(x, y, err_msg=f"{what}: array {k} differs")


def _refused(call, what) -> APIUsageError:
    """Run ``call``; it must raise APIUsageError (returned), else AssertionError naming ``what``."""
    try:
        call()
    except APIUsageError as exc:
        return exc
    raise AssertionError(f"{what} was accepted")


def _world(env):
    """Host copies of every array kernels see except the action scratch buffer, and the tick."""
    out = {name: _host(getattr(env, name)) for name in env.layout.world_names if name != "actions"}
    out["tick"] = env.tick
    return out


def check_contract(env_cls, config=None):
    """The PufferEnv contract: spaces, buffers, returns of reset/step, infos."""
    env = _make(env_cls, config)
    n = env.num_agents
    assert env.num_agents == env.num_envs * env.agents_per_env
    assert isinstance(env.single_observation_space, Box)
    assert isinstance(env.single_action_space, (Discrete, MultiDiscrete, Box))
    assert env.observations.shape == (n, *env.single_observation_space.shape)
    assert env.observations.dtype == env.single_observation_space.dtype
    for name, dtype in (("rewards", np.float32), ("terminals", np.bool_), ("truncations", np.bool_)):
        buf = getattr(env, name)
        assert buf.shape == (n,) and buf.dtype == dtype, f"{name}: {buf.shape} {buf.dtype}"
    assert env.actions.shape == (n, *env.single_action_space.shape)
    obs, infos = env.reset(SEED)
    assert obs is env.observations and infos == []
    out = env.step(_actions(env, None, SEED))
    assert len(out) == 5 and out[0] is env.observations and out[1] is env.rewards
    assert out[2] is env.terminals and out[3] is env.truncations and isinstance(out[4], list)
    assert env.tick == 1
    assert not env.emulated and not env.done and env.driver_env is env
    env.close()


def check_observations_and_rewards(env_cls, config=None):
    """Observations inside the observation space; finite rewards; logs well formed."""
    env = _make(env_cls, config, log_interval=8)
    space = env.single_observation_space
    low = np.broadcast_to(space.low, space.shape)
    high = np.broadcast_to(space.high, space.shape)
    obs, _ = env.reset(SEED)
    fields = set(env.LOG_FIELDS) | {"n"}
    for t, a in enumerate(_actions(env, STEPS * 2, SEED)):
        if t:
            obs, rew, _, _, infos = env.step(a)
            assert np.isfinite(rew).all(), f"step {t}: non-finite rewards"
            for log in infos:
                assert set(log) == fields, f"log fields {sorted(log)} != {sorted(fields)}"
                assert all(np.isfinite(v) for v in log.values()) and log["n"] >= 1
        assert obs.dtype == space.dtype
        bad = (obs < low) | (obs > high)
        assert not bad.any(), (f"step {t}: observation outside {space} at agent "
                               f"{np.argwhere(bad)[0].tolist()}")


def check_determinism(env_cls, config=None):
    """Same seed, same actions -> same trajectory (also after a reset mid-run); another seed differs."""
    actions = _actions(_make(env_cls, config), STEPS, SEED)
    a, b = _make(env_cls, config), _make(env_cls, config)
    first, logs_a = _rollout(a, actions, SEED, reset_at=STEPS // 2)
    second, logs_b = _rollout(b, actions, SEED, reset_at=STEPS // 2)
    _assert_same(first, second, "two instances, same seed")
    assert logs_a == logs_b
    again, _ = _rollout(a, actions, SEED, reset_at=STEPS // 2)
    _assert_same(first, again, "the same instance reset with the same seed")
    other, _ = _rollout(b, actions, SEED + 1000, reset_at=STEPS // 2)
    assert len(other) == len(first)
    assert any(not np.array_equal(x, y) for x, y in zip(first, other)), \
        "a different seed gave the same trajectory: is the seed used?"


def check_threads_match_serial(env_cls, config=None):
    """num_threads=2 (prange driver) gives the serial trajectory."""
    serial = _make(env_cls, config, num_threads=1)
    if serial.num_envs < 2:
        serial = _make(env_cls, config, num_threads=1, num_envs=2)
    import numba
    if numba.config.NUMBA_NUM_THREADS < 2:
        raise CheckSkipped("Numba has a single thread here")
    parallel = _make(env_cls, config, num_threads=2, num_envs=serial.num_envs)
    assert parallel.parallel and not serial.parallel
    actions = _actions(serial, STEPS, SEED)
    _assert_same(_rollout(serial, actions, SEED)[0], _rollout(parallel, actions, SEED)[0], "2 threads vs 1")


def check_native_matches_vector(env_cls, config=None):
    """N envs in one native instance == N one-env instances through Serial and Multiprocessing."""
    import pufferlib.vector
    native = _make(env_cls, config)
    n = native.num_envs
    if n < 2:
        native = _make(env_cls, config, num_envs=2)
        n = 2
    actions = _actions(native, STEPS // 2, SEED)
    expected, _ = _rollout(native, actions, SEED)
    cfg = dict(env_cls.test_config() if config is None else config)
    cfg["num_envs"] = 1
    backends = ["Serial"]
    importable = _importable(env_cls)
    if importable:
        backends.append("Multiprocessing")
    for backend in backends:
        extra = {"num_workers": 2 if n % 2 == 0 else 1} if backend == "Multiprocessing" else {}
        vec = pufferlib.vector.make(env_cls, env_kwargs=cfg, backend=backend, num_envs=n, **extra)
        try:
            got, _ = _rollout(vec, actions, SEED)
        finally:
            vec.close()
        _assert_same(expected, got, f"{backend} of {n} one-env instances vs native")
    if not importable:
        raise CheckSkipped("Multiprocessing needs an env class importable by module and name")


def _importable(env_cls) -> bool:
    """True if a fresh process can import ``env_cls`` by module and name (a file-backed module)."""
    module = sys.modules.get(env_cls.__module__)
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None)
    return (module is not None and env_cls.__module__ != "__main__" and origin is not None
            and os.path.isfile(origin) and getattr(module, env_cls.__name__, None) is env_cls)


def _bad_batches(env):
    """``(description, actions)`` pairs that must be rejected (from ``env.single_action_space``
    and ``env.num_agents`` only: :mod:`pufferlib.check` uses it on any PufferEnv)."""
    good = _actions(env, None, SEED)
    space = env.single_action_space
    out = [("one agent too many", np.concatenate([good, good[:1]])),
           ("one agent too few", good[:-1])]
    if good.ndim == 1:
        out.append(("an extra axis", good[:, None]))
    if isinstance(space, Box):
        nan = good.copy()
        nan.flat[-1] = np.nan
        out.append(("NaN", nan))
        if np.isfinite(space.high).all():
            high = good.copy()
            high.reshape(len(high), -1)[-1] = space.high.reshape(-1) + 1
            out.append(("above high", high))
        out.append(("strings", np.full(good.shape, "a")))
    else:
        low, high = _discrete_bounds(space)
        hi = good.copy()
        flat_hi = hi.reshape(len(hi), -1)
        flat_hi[-1] = np.reshape(high, -1) + 1
        lo = good.copy()
        lo.reshape(len(lo), -1)[0] = np.reshape(low, -1) - 1
        out += [("above the range", hi), ("below the range", lo),
                ("above the range, int64", hi.astype(np.int64)),
                ("floats", good.astype(np.float32)), ("float64", good.astype(np.float64))]
    return out


def check_bad_actions(env_cls, config=None):
    """Bad batches raise APIUsageError and change nothing (world, buffers, tick)."""
    env = _make(env_cls, config)
    env.reset(SEED)
    env.step(_actions(env, None, SEED))
    before = _world(env)
    for what, bad in _bad_batches(env):
        _refused(lambda: env.step(bad), f"actions with {what}")
        after = _world(env)
        for name, arr in before.items():
            assert np.array_equal(arr, after[name]), f"actions with {what}: {name} changed"
    env.step(_actions(env, None, SEED + 1))  # still usable
    assert env.tick == before["tick"] + 1


def check_call_order(env_cls, config=None):
    """step before reset, and reset/step after close, raise APIUsageError."""
    env = _make(env_cls, config)
    actions = _actions(env, None, SEED)
    assert "reset" in str(_refused(lambda: env.step(actions), "step() before reset()"))
    env.reset(SEED)
    env.close()
    _refused(lambda: env.step(actions), "step() after close()")
    _refused(lambda: env.reset(SEED), "reset() after close()")
    env.close()  # idempotent
    fresh = _make(env_cls, config)
    for seed in (-1, 1.5, "0", True, 2**63):
        _refused(lambda: fresh.reset(seed), f"reset(seed={seed!r})")


def check_state(env_cls, config=None):
    """state(env_id): the exported arrays, read-only views of that env; copies on request; bad ids raise."""
    env = _make(env_cls, config)
    env.reset(SEED)
    names = exported_names(env_cls)
    for env_id in (0, env.num_envs - 1):
        st = env.state(env_id)
        assert set(st) == set(names), f"state keys {sorted(st)} != {sorted(names)}"
        for name, view in st.items():
            arr = getattr(env, names[name])
            first = env.layout.decl[names[name]].dims[0]
            assert not view.flags.writeable, f"state()[{name!r}] is writable"
            assert np.shares_memory(view, arr), f"state()[{name!r}] is a copy"
            if first == "num_envs":
                assert view.shape == arr.shape[1:]
                np.testing.assert_array_equal(view, arr[env_id])
            elif first == "num_agents":
                a = env.agents_per_env
                np.testing.assert_array_equal(view, arr[env_id * a:(env_id + 1) * a])
        snap = env.state(env_id, copy=True)
        for name, arr in snap.items():
            assert arr.flags.writeable and not np.shares_memory(arr, getattr(env, names[name]))
    live = env.state(0)
    snap = env.state(0, copy=True)
    for _ in range(4):
        env.step(_actions(env, None, SEED))
    assert any(not np.array_equal(live[k], snap[k]) for k in live) or env.tick == 4
    for bad in (-1, env.num_envs, 1.5, True, "0"):
        _refused(lambda: env.state(bad), f"state({bad!r})")


def check_render(env_cls, config=None):
    """``render_mode='rgb_array'`` gives ``(H, W, 3)`` uint8 frames of one size and ``'ansi'``
    a non-empty str, before and after steps; ``render_mode=None`` makes ``render()`` raise;
    an unknown mode is refused. Skipped for a class that draws no pictures."""
    import inspect
    if "render_mode" not in inspect.signature(env_cls).parameters:
        raise CheckSkipped(f"{env_cls.__name__} takes no render_mode argument")
    shapes = set()
    for mode in ("rgb_array", "ansi"):
        env = _make(env_cls, config, render_mode=mode)
        env.reset(SEED)
        for t, a in enumerate(_actions(env, 4, SEED)):
            try:
                out = env.render()
            except NotImplementedError as exc:
                raise CheckSkipped(f"{env_cls.__name__} draws no {mode} pictures ({exc})") from None
            if mode == "rgb_array":
                assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.ndim == 3 \
                    and out.shape[2] == 3, f"rgb_array frame {getattr(out, 'shape', out)!r}"
                shapes.add(out.shape)
            else:
                assert isinstance(out, str) and out.strip(), "ansi picture is empty"
            env.step(a)
    assert len(shapes) == 1, f"frame size changed between steps: {shapes}"
    plain = _make(env_cls, config)
    plain.reset(SEED)
    _refused(plain.render, "render() without a render_mode")
    _refused(lambda: _make(env_cls, config, render_mode="human"), "render_mode='human'")


def cuda_usable() -> bool:
    """True under NUMBA_ENABLE_CUDASIM=1 or with a usable GPU."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return True
    try:
        from numba import cuda
        return bool(cuda.is_available())
    except Exception:
        return False


def check_cuda_matches_cpu(env_cls, config=None, steps=24):
    """device='cuda' gives the CPU's trajectory, world, logs and state, across a reset mid-run."""
    if not cuda_usable():
        raise CheckSkipped("needs a GPU or NUMBA_ENABLE_CUDASIM=1")
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        # The simulator runs kernels as Python on NumPy scalars; xorshift wrap-around warns.
        warnings.simplefilter("ignore", RuntimeWarning)
        cpu = _make(env_cls, config, log_interval=5)
        gpu = _make(env_cls, config, log_interval=5, device="cuda")  # a reset falls between reports
        actions = _actions(cpu, steps, SEED)
        for k, (env_cpu, env_gpu) in enumerate([(cpu, gpu)] * 2):
            c, logs_c = _rollout(env_cpu, actions, SEED + k, reset_at=steps // 2)
            g, logs_g = _rollout(env_gpu, actions, SEED + k, reset_at=steps // 2)
            _assert_same(c, g, f"GPU vs CPU trajectory (run {k})")
            assert logs_c == logs_g, f"GPU logs {logs_g} != CPU logs {logs_c}"
            cw, gw = _world(cpu), _world(gpu)
            for name in cw:
                assert np.array_equal(cw[name], gw[name]), f"GPU vs CPU world array {name!r} (run {k})"
        for name, arr in cpu.state(0).items():
            np.testing.assert_array_equal(gpu.state(0, copy=True)[name], arr)
        _refused(lambda: gpu.step(_bad_batches(gpu)[2][1]), "a bad batch on the GPU backend")


def check_compiles_to_ptx(env_cls, config=None, ccs=((8, 0), (9, 0))):
    """The env's GPU kernels compile to PTX for sm_80 and sm_90 (no GPU needed)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        raise CheckSkipped("PTX compilation is not available under the CUDA simulator")
    try:
        from numba import cuda
        cuda.cudadrv.nvvm.NVVM()
    except Exception as exc:  # noqa: BLE001 - any failure to load NVVM
        raise CheckSkipped(f"the CUDA toolkit's NVVM is not available ({type(exc).__name__}); "
                           "pip install 'numba-cuda[cu12]'") from None
    from pufferlib.cuda_kernels import compile_ptx
    env = _make(env_cls, config)
    for cc in ccs:
        ptx = compile_ptx(env, cc)
        for name, text in ptx.items():
            assert f".target sm_{cc[0]}{cc[1]}" in text and ".entry" in text, f"{name} for sm_{cc[0]}{cc[1]}"


#: Every conformance check, by name, in the order check_env runs them.
CHECKS = {
    "contract": check_contract,
    "observations_and_rewards": check_observations_and_rewards,
    "determinism": check_determinism,
    "threads_match_serial": check_threads_match_serial,
    "native_matches_vector": check_native_matches_vector,
    "bad_actions": check_bad_actions,
    "call_order": check_call_order,
    "state": check_state,
    "render": check_render,
    "cuda_matches_cpu": check_cuda_matches_cpu,
    "compiles_to_ptx": check_compiles_to_ptx,
}


def check_env(env_cls, config=None, skip=()) -> dict:
    """Run every conformance check of :data:`CHECKS` on ``env_cls``.

    Args:
        env_cls: an :class:`~pufferlib.ocean.core.OceanEnv` subclass.
        config: constructor keyword arguments of a small instance (default:
            ``env_cls.test_config()``); checks override ``num_envs``, ``num_threads``,
            ``log_interval`` and ``device`` where they need to.
        skip: names of checks not to run.

    Returns:
        ``{check name: "passed" | "skipped: <why>"}``.

    Raises:
        AssertionError: a check failed; the message starts with the check's name.
    """
    unknown = set(skip) - set(CHECKS)
    if unknown:
        raise APIUsageError(f"unknown checks {sorted(unknown)}; checks are {list(CHECKS)}")
    out = {}
    for name, check in CHECKS.items():
        if name in skip:
            continue
        try:
            check(env_cls, config)
        except CheckSkipped as exc:
            out[name] = f"skipped: {exc}"
            continue
        except AssertionError as exc:
            raise AssertionError(f"{env_cls.__name__} failed check {name!r}: {exc}") from exc
        out[name] = "passed"
    return out
