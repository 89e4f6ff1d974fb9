"""``check_env``: conformance checks for any PufferEnv, class or instance.

``check_env(MyEnvClass)`` runs the Ocean framework's checks on small instances of an
:class:`~pufferlib.ocean.core.OceanEnv` subclass (:func:`pufferlib.ocean.testing.check_env`).
``check_env(env)`` checks one *instance* of any PufferEnv: a native env (Ocean or your own
:class:`pufferlib.PufferEnv`), an emulated Gymnasium / PettingZoo env
(:func:`pufferlib.emulate`), or a vectorized env (:func:`pufferlib.vector.make`). The
instance checks, in order (:data:`INSTANCE_CHECKS`):

- ``spaces``: ``single_observation_space`` is a Box, ``single_action_space`` a Discrete,
  MultiDiscrete or Box, ``num_agents`` an int >= 1, and ``observation_space`` /
  ``action_space`` are the joint spaces of the agents returned per call (shape and dtype).
- ``buffers``: ``observations``, ``rewards``, ``terminals``, ``truncations``, ``masks`` and
  ``actions`` exist with the shapes and dtypes of
  :func:`pufferlib.environment.buffer_specs` (rewards float32, terminals / truncations bool).
- ``reset_returns`` / ``step_returns``: ``reset(seed)`` returns ``(observations, infos)`` and
  ``step(actions)`` ``(observations, rewards, terminals, truncations, infos)``, arrays of
  the joint shapes, rewards float32, terminals and truncations bool.
- ``in_place``: every returned array is (a view of) the env's own buffer, and the buffers
  stay the same objects across calls (an env that allocates new arrays, or replaces
  ``self.observations``, fails).
- ``infos``: ``infos`` is a list of dicts after every call.
- ``observations_in_space``: every observation lies within the observation space's bounds.
- ``finite_rewards``: no NaN or infinite reward.
- ``determinism``: ``reset(seed)`` then the same actions twice give the same observations,
  rewards, terminals and truncations. Skipped for vectorized envs with asynchronous batches
  (which batch comes back first depends on timing).
- ``determinism_rebuilt``: the same, on a fresh instance from ``make_env()``. Skipped when
  no ``make_env`` is given (an instance cannot be rebuilt without its constructor).
- ``seed_changes_trajectory``: another seed gives another trajectory. Skipped (with the
  reason) when it does not: that is right for an env without randomness and a bug for an
  env whose randomness ignores the seed.
- ``auto_reset``: episodes end and the env goes on as its kind promises. Native envs reset
  finished episodes themselves: ``step`` keeps working with no ``reset`` and ``done`` stays
  False. A single emulated env (``done`` becomes True) refuses ``step`` until ``reset``, and
  changes no buffer then. A vectorized env of emulated envs resets a finished instance on the
  next step, which reads reward 0, terminal and truncation False for its agents. Skipped if no
  episode ends within ``4 * steps`` steps of random actions.
- ``bad_actions``: action batches of the wrong shape, dtype or range raise
  :class:`~pufferlib.APIUsageError` and step nothing: the buffers (and ``tick`` and
  ``state(0)`` where the env has them) are unchanged, and when ``determinism`` passed, the
  env then continues the trajectory it would have had without the refused calls.

The checks step the env (it is left open, reset and stepped: reset it before use) and
draw actions with :func:`pufferlib.spaces.sample_actions` from a fixed seed.
"""
from __future__ import annotations

import inspect

import numpy as np

from pufferlib.checks import check_int
from pufferlib.environment import PufferEnv, buffer_specs
from pufferlib.exceptions import APIUsageError
from pufferlib.ocean.testing import SEED, STEPS, CheckSkipped, _bad_batches, _host, _refused
from pufferlib.spaces import Box, Discrete, MultiDiscrete, sample_actions

__all__ = ["check_env", "iter_checks", "INSTANCE_CHECKS", "CheckSkipped"]

_RETURNED = ("observations", "rewards", "terminals", "truncations")


def _is_vector(env) -> bool:
    from pufferlib.vector.common import _VecEnv
    return isinstance(env, _VecEnv)


def _batch(env) -> int:
    """Agents per ``reset`` / ``step`` result."""
    return int(getattr(env, "agents_per_batch", env.num_agents))


def _async(env) -> bool:
    return _batch(env) != env.num_agents


def _same_memory(returned, buffer) -> bool:
    if returned is buffer:
        return True
    if isinstance(returned, np.ndarray) and isinstance(buffer, np.ndarray):
        return np.shares_memory(returned, buffer)
    return False


def _names_first_difference(what, a, b) -> str:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return f"{what}: shape {a.shape} vs {b.shape}"
    with np.errstate(invalid="ignore"):
        diff = np.argwhere(~((a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else a == b))
    if not len(diff):
        return f"{what}: equal"
    idx = tuple(int(i) for i in diff[0])
    return f"{what} differ first at agent {idx[0]}{' index ' + str(idx[1:]) if len(idx) > 1 else ''}: " \
           f"{a[idx].tolist()!r} vs {b[idx].tolist()!r}"


class _Run:
    """One env under check: its seed, step count, pre-drawn actions and results so far."""

    def __init__(self, env, seed, steps, make_env):
        self.env = env
        self.seed = seed
        self.steps = steps
        self.make_env = make_env
        self.results = {}
        self.actions = sample_actions(env.single_action_space, _batch(env), np.random.default_rng(seed),
                                      steps=steps)

    def step(self, actions):
        """Step once; a single env that needs a reset (``done``) is reset (no seed) instead, as
        vectorizers do. Returns the 5-tuple."""
        env = self.env
        if getattr(env, "done", False):
            obs, infos = env.reset()
            return obs, env.rewards, env.terminals, env.truncations, infos
        return env.step(actions)

    def trajectory(self, env=None, seed=None, actions=None):
        """Copies of (observations after reset, then observations, rewards, terminals,
        truncations after each step)."""
        env = self.env if env is None else env
        saved, self.env = self.env, env
        try:
            out = [_host(env.reset(self.seed if seed is None else seed)[0])]
            for a in self.actions if actions is None else actions:
                out.extend(_host(x) for x in self.step(a)[:4])
        finally:
            self.env = saved
        return out


def _expect_shape(what, arr, shape, dtype):
    got_shape = getattr(arr, "shape", None)
    got_dtype = getattr(arr, "dtype", None)
    assert got_shape == tuple(shape) and got_dtype == np.dtype(dtype), (
        f"{what} has shape {got_shape} and dtype {got_dtype}; expected shape {tuple(shape)} and dtype "
        f"{np.dtype(dtype)}")


def check_spaces(run):
    env = run.env
    obs, act = getattr(env, "single_observation_space", None), getattr(env, "single_action_space", None)
    assert isinstance(obs, Box), f"single_observation_space is {obs!r}; expected a gymnasium.spaces.Box"
    assert isinstance(act, (Discrete, MultiDiscrete, Box)), \
        f"single_action_space is {act!r}; expected Discrete, MultiDiscrete or Box"
    n = env.num_agents
    assert isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1, \
        f"num_agents is {n!r}; expected an int >= 1"
    batch = _batch(env)
    for joint, single in ((env.observation_space, obs), (env.action_space, act)):
        expected = (batch, *single.shape)
        assert joint.shape == expected, (f"joint space {joint} has shape {joint.shape}; expected {expected} "
                                         f"({batch} agents per call x {single.shape})")
    assert env.observation_space.dtype == obs.dtype, \
        f"observation_space dtype {env.observation_space.dtype} != single_observation_space dtype {obs.dtype}"


def check_buffers(run):
    env = run.env
    specs = buffer_specs(env.single_observation_space, env.single_action_space, env.num_agents)
    for name, (shape, dtype) in specs.items():
        assert hasattr(env, name), f"the env has no {name} buffer (PufferEnv.__init__ / set_buffers makes it)"
        _expect_shape(f"env.{name}", getattr(env, name), shape, dtype)


def _check_returned(out, env, batch, call):
    obs_shape = env.single_observation_space.shape
    _expect_shape(f"observations returned by {call}", out[0], (batch, *obs_shape), env.single_observation_space.dtype)
    for k, (name, dtype) in enumerate((("rewards", np.float32), ("terminals", bool), ("truncations", bool)), 1):
        if k < len(out) - 1:
            _expect_shape(f"{name} returned by {call}", out[k], (batch,), dtype)


def check_reset_returns(run):
    out = run.env.reset(run.seed)
    assert isinstance(out, tuple) and len(out) == 2, \
        f"reset() returned {type(out).__name__} of length {len(out) if isinstance(out, tuple) else '-'}; " \
        "expected a tuple (observations, infos)"
    _check_returned(out, run.env, _batch(run.env), "reset()")


def check_step_returns(run):
    run.env.reset(run.seed)
    out = run.step(run.actions[0])
    assert isinstance(out, tuple) and len(out) == 5, \
        f"step() returned {type(out).__name__} of length {len(out) if isinstance(out, tuple) else '-'}; " \
        "expected a tuple (observations, rewards, terminals, truncations, infos)"
    _check_returned(out, run.env, _batch(run.env), "step()")


def check_in_place(run):
    env = run.env
    before = {name: getattr(env, name) for name in _RETURNED}
    calls = [("reset()", lambda: env.reset(run.seed))]
    calls += [(f"step() #{t + 1}", lambda a=a: run.step(a)) for t, a in enumerate(run.actions[:8])]
    for call, fn in calls:
        out = fn()
        for k, name in enumerate(_RETURNED[:len(out) - 1]):
            now = getattr(env, name)
            assert now is before[name], (f"after {call}, env.{name} is a new array: the env replaced its buffer "
                                         f"instead of writing into it (self.{name}[:] = ...)")
            assert _same_memory(out[k], now), (f"{call} returned {name} that are not the env's buffer "
                                               f"env.{name} (a new array each call); write into the buffers "
                                               "in place and return them")


def check_infos(run):
    env = run.env
    calls = [("reset()", env.reset(run.seed))]
    calls += [(f"step() #{t + 1}", run.step(a)) for t, a in enumerate(run.actions)]
    for call, out in calls:
        infos = out[-1]
        assert isinstance(infos, list), f"{call} returned infos of type {type(infos).__name__}; expected a list of dicts"
        bad = [type(i).__name__ for i in infos if not isinstance(i, dict)]
        assert not bad, f"{call} returned infos holding {bad[0]}; expected a list of dicts"


def check_observations_in_space(run):
    env = run.env
    space = env.single_observation_space
    low = np.broadcast_to(space.low, space.shape)
    high = np.broadcast_to(space.high, space.shape)
    obs = env.reset(run.seed)[0]
    for t in range(len(run.actions) + 1):
        if t:
            obs = run.step(run.actions[t - 1])[0]
        obs = _host(obs)
        assert obs.dtype == space.dtype, f"step {t}: observations of dtype {obs.dtype}; expected {space.dtype}"
        with np.errstate(invalid="ignore"):
            bad = ~((obs >= low) & (obs <= high))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise AssertionError(
                f"{'reset' if not t else f'step {t}'}: observation {obs[idx].tolist()!r} of agent {idx[0]} at index "
                f"{idx[1:]} is outside the observation space (low {low[idx[1:]].tolist()!r}, "
                f"high {high[idx[1:]].tolist()!r})")


def check_finite_rewards(run):
    env = run.env
    env.reset(run.seed)
    for t, a in enumerate(run.actions, 1):
        rewards = _host(run.step(a)[1])
        bad = ~np.isfinite(rewards)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise AssertionError(f"step {t}: reward {rewards[i].item()!r} of agent {i}; expected finite rewards")


def _compare(first, second, what):
    """AssertionError naming the first array of two trajectories (as :meth:`_Run.trajectory`) that differs."""
    assert len(first) == len(second), f"{what}: {len(first)} vs {len(second)} arrays"
    for k, (x, y) in enumerate(zip(first, second)):
        if not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            where = "after reset" if k == 0 else f"after step {(k - 1) // 4 + 1}"
            name = "observations" if k == 0 else _RETURNED[(k - 1) % 4]
            raise AssertionError(f"{what}: {_names_first_difference(f'{name} {where}', x, y)}")


def check_determinism(run):
    if _async(run.env):
        raise CheckSkipped(f"asynchronous batches ({_batch(run.env)} of {run.env.num_agents} agents per call): "
                           "which batch comes back first depends on timing")
    first = run.trajectory()
    second = run.trajectory()
    _compare(first, second, f"reset(seed={run.seed}) twice with the same actions")
    run.results["trajectory"] = first


def check_determinism_rebuilt(run):
    if run.make_env is None:
        raise CheckSkipped("no make_env given (pass make_env=<callable returning a new, equal env> to compare "
                           "two instances)")
    if _async(run.env):
        raise CheckSkipped("asynchronous batches: which batch comes back first depends on timing")
    other = run.make_env()
    try:
        first = run.results.get("trajectory") or run.trajectory()
        _compare(first, run.trajectory(env=other), f"a fresh instance from make_env(), reset(seed={run.seed})")
    finally:
        other.close()


def check_seed_changes_trajectory(run):
    if _async(run.env):
        raise CheckSkipped("asynchronous batches: which batch comes back first depends on timing")
    first = run.results.get("trajectory") or run.trajectory()
    other = run.trajectory(seed=run.seed + 1000)
    if all(np.array_equal(x, y, equal_nan=x.dtype.kind == "f") for x, y in zip(first, other)):
        raise CheckSkipped(f"seeds {run.seed} and {run.seed + 1000} gave the same trajectory over {run.steps} steps: "
                           "right for an env without randomness, a bug if the env's randomness ignores the seed")


def check_auto_reset(run):
    env = run.env
    env.reset(run.seed)
    rng = np.random.default_rng(run.seed + 1)
    batch = _batch(env)
    limit = 4 * run.steps
    for t in range(1, limit + 1):
        _, _, term, trunc, _ = env.step(sample_actions(env.single_action_space, batch, rng))
        ended = np.flatnonzero(_host(term) | _host(trunc))
        if len(ended):
            break
    else:
        raise CheckSkipped(f"no episode ended within {limit} steps of random actions")
    a = sample_actions(env.single_action_space, batch, rng)
    if getattr(env, "done", False):
        # A single emulated env: no auto-reset; step() is refused until reset().
        before = {name: _host(getattr(env, name)) for name in _RETURNED}
        _refused(lambda: env.step(a), f"step() after the episode ended at step {t} (done=True)")
        for name, arr in before.items():
            assert np.array_equal(arr, _host(getattr(env, name)), equal_nan=True), \
                f"the refused step() after the episode ended changed env.{name}"
        env.reset()
        assert not env.done, "done is still True after reset()"
        env.step(a)
        return
    assert not getattr(env, "done", False), "done must stay False for an env that resets its episodes itself"
    _, rewards, term, trunc, _ = env.step(a)
    if env.emulated and _is_vector(env) and not _async(env):
        # The vectorizer resets the finished instances instead of stepping them.
        rewards, term, trunc = _host(rewards)[ended], _host(term)[ended], _host(trunc)[ended]
        assert not term.any() and not trunc.any() and not rewards.any(), (
            f"agents {ended[:8].tolist()} ended at step {t}; on the next step (their reset) rewards "
            f"{rewards[:8].tolist()}, terminals {term[:8].tolist()}, truncations {trunc[:8].tolist()}; "
            "expected 0, False, False")
    for _ in range(4):  # and it goes on with no reset()
        env.step(sample_actions(env.single_action_space, batch, rng))


def _snapshot(env):
    out = {name: _host(getattr(env, name)) for name in _RETURNED}
    if hasattr(env, "tick"):
        out["tick"] = env.tick
    if callable(getattr(env, "state", None)):
        for key, arr in env.state(0, copy=True).items():
            out[f"state(0)[{key!r}]"] = _host(arr)
    return out


def check_bad_actions(run):
    env = run.env
    if _async(env):
        raise CheckSkipped(f"asynchronous batches ({_batch(env)} of {env.num_agents} agents per call): checked on "
                           "synchronous envs only")
    env.reset(run.seed)
    run.step(run.actions[0])
    before = _snapshot(env)
    for what, bad in _bad_batches(env):
        _refused(lambda: env.step(bad), f"actions with {what}")
        after = _snapshot(env)
        for name, arr in before.items():
            same = arr == after[name] if np.isscalar(arr) else np.array_equal(arr, after[name])
            assert same, f"the refused actions with {what} changed {name}: the env stepped before checking"
    if "trajectory" in run.results and len(run.actions) >= 3:
        # Refused calls must not advance the env: its trajectory goes on as without them.
        expected = run.results["trajectory"][:1 + 4 * 3]
        got = [_host(env.reset(run.seed)[0])]
        got.extend(_host(x) for x in run.step(run.actions[0])[:4])
        for _, bad in _bad_batches(env):
            try:
                env.step(bad)
            except APIUsageError:
                pass
        for a in run.actions[1:3]:
            got.extend(_host(x) for x in run.step(a)[:4])
        _compare(expected, got, "the trajectory after refused action batches (did a refused call step the env?)")


#: Every instance check, by name, in the order they run.
INSTANCE_CHECKS = {
    "spaces": check_spaces,
    "buffers": check_buffers,
    "reset_returns": check_reset_returns,
    "step_returns": check_step_returns,
    "in_place": check_in_place,
    "infos": check_infos,
    "observations_in_space": check_observations_in_space,
    "finite_rewards": check_finite_rewards,
    "determinism": check_determinism,
    "determinism_rebuilt": check_determinism_rebuilt,
    "seed_changes_trajectory": check_seed_changes_trajectory,
    "auto_reset": check_auto_reset,
    "bad_actions": check_bad_actions,
}


def _is_puffer_instance(env) -> bool:
    return isinstance(env, PufferEnv) or _is_vector(env)


def iter_checks(env, skip=(), *, seed: int = SEED, steps: int = STEPS, make_env=None):
    """Run the instance checks one by one, yielding ``(name, "passed" | "skipped: <why>")``.

    Arguments and errors as :func:`check_env` for an instance; a failed check raises
    ``AssertionError`` when it is reached (the results before it have been yielded).
    """
    if inspect.isclass(env) or not _is_puffer_instance(env):
        what = f"the class {env.__name__}" if inspect.isclass(env) else f"a {type(env).__module__}.{type(env).__qualname__}"
        raise APIUsageError(
            f"iter_checks takes a PufferEnv instance (native, emulated or vectorized), got {what}; wrap Gymnasium / "
            "PettingZoo envs with pufferlib.emulate(env), and pass Ocean env classes to pufferlib.check_env")
    unknown = sorted(set(skip) - set(INSTANCE_CHECKS))
    if unknown:
        raise APIUsageError(f"unknown checks {unknown}; instance checks are {list(INSTANCE_CHECKS)}")
    seed = check_int("seed", seed, 0, 2**31)
    steps = check_int("steps", steps, 1)
    if make_env is not None and not callable(make_env):
        raise APIUsageError(f"make_env must be a callable returning a new env, got {make_env!r}")
    name = type(env).__name__
    run = None
    for check, fn in INSTANCE_CHECKS.items():
        if check in skip:
            continue
        try:
            if run is None:
                run = _Run(env, seed, steps, make_env)
            fn(run)
        except CheckSkipped as exc:
            yield check, f"skipped: {exc}"
            continue
        except AssertionError as exc:
            raise AssertionError(f"{name} failed check {check!r}: {exc}") from exc
        except Exception as exc:  # the env raised during a valid call
            raise AssertionError(f"{name} failed check {check!r}: {type(exc).__name__}: {exc}") from exc
        yield check, "passed"


def check_env(env, config=None, skip=(), *, seed: int = SEED, steps: int = STEPS, make_env=None) -> dict:
    """Conformance checks of a PufferEnv class or instance.

    Args:
        env: an :class:`~pufferlib.ocean.core.OceanEnv` subclass (the class checks of
            :func:`pufferlib.ocean.testing.check_env`, on small instances it builds), or an
            instance of any PufferEnv: native, emulated (:func:`pufferlib.emulate`) or
            vectorized (:func:`pufferlib.vector.make`): the checks of :data:`INSTANCE_CHECKS`
            (see the module docstring). An instance is reset and stepped, not closed.
        config: (classes only) constructor arguments of the small instances.
        skip: names of checks not to run.
        seed: (instances) the seed of ``reset`` and of the random actions, an int in [0, 2**31].
        steps: (instances) steps per rollout (>= 1; auto-reset looks up to ``4 * steps`` ahead).
        make_env: (instances, optional) a callable returning a new env equal to ``env``; enables
            ``determinism_rebuilt``. It is called once and its env closed.

    Returns:
        ``{check name: "passed" | "skipped: <why>"}`` in the order the checks ran.

    Raises:
        AssertionError: a check failed; the message starts with ``"<EnvClass> failed check
            '<name>':"`` and says what was seen and what was expected. An exception the env
            raised during a valid call (e.g. refusing valid actions) is reported the same way.
        pufferlib.APIUsageError: ``env`` is neither a PufferEnv class nor an instance, an
            unknown check name in ``skip``, ``config`` with an instance, or instance options
            (``seed``, ``steps``, ``make_env``) with a class.
    """
    if inspect.isclass(env):
        if make_env is not None or seed != SEED or steps != STEPS:
            raise APIUsageError("seed, steps and make_env apply to env instances; a class is checked on the "
                                "small instances it builds from config (default: its test_config())")
        if not issubclass(env, PufferEnv):
            raise APIUsageError(f"check_env takes a PufferEnv class or instance, got the class {env.__name__}")
        from pufferlib.ocean.testing import check_env as _check_class
        return _check_class(env, config=config, skip=skip)
    if config is not None:
        raise APIUsageError("config applies to env classes (the instances check_env builds); an instance is "
                            "checked as it is")
    return dict(iter_checks(env, skip, seed=seed, steps=steps, make_env=make_env))
