"""``emulate``, ``make_gymnasium`` and ``make_pettingzoo``: wrapped (and vectorized) envs.

The creators handed to :func:`pufferlib.vector.make` (:class:`_Creator`,
:class:`_CopyFactory`, ``functools.partial`` of module-level functions) are
picklable, so the ``'spawn'`` / ``'forkserver'`` start methods work.
"""
from __future__ import annotations

import copy
import functools
import importlib
import inspect
import pkgutil
import re

import gymnasium

import pufferlib.vector as vector
from pufferlib.checks import check_int
from pufferlib.emulation.common import make_object
from pufferlib.emulation.compat import is_old_gym_env
from pufferlib.emulation.gymnasium_env import GymnasiumPufferEnv
from pufferlib.emulation.pettingzoo_env import PettingZooPufferEnv, parallel_env_inside
from pufferlib.emulation.turn_based import TurnBasedPufferEnv
from pufferlib.environment import PufferEnv
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

#: PettingZoo families searched by :func:`make_pettingzoo`, in order.
PETTINGZOO_FAMILIES = ("butterfly", "classic", "sisl", "atari", "mpe")


def _vector_options() -> frozenset:
    """The keywords of :func:`pufferlib.vector.make` besides the creator, its arguments and num_envs."""
    params = inspect.signature(vector.make).parameters
    named = {n for n, p in params.items() if p.kind is not p.VAR_KEYWORD}
    named -= {"env_creator_or_creators", "env_args", "env_kwargs", "num_envs"}
    return frozenset(named.union(*vector.BACKEND_OPTIONS.values()))


#: Keyword arguments of :func:`make_gymnasium` / :func:`make_pettingzoo` that go to
#: :func:`pufferlib.vector.make` rather than to the environment constructor: exactly the
#: options ``vector.make`` accepts (its named parameters besides the creator, its arguments
#: and ``num_envs``, plus every backend's :data:`pufferlib.vector.BACKEND_OPTIONS`).
VECTOR_OPTIONS = _vector_options()

#: Keyword arguments of :func:`emulate` / :func:`make_gymnasium` / :func:`make_pettingzoo` that
#: configure the emulation wrapper itself (see :class:`GymnasiumPufferEnv`); they never reach
#: the environment constructor. ``spaces_after_reset`` applies to Gymnasium envs only.
WRAPPER_OPTIONS = frozenset({"text_observations", "text_length", "spaces_after_reset"})


def wrap_pettingzoo(env=None, env_creator=None, env_args=(), env_kwargs=None, buf=None, seed=0, **options):
    """The PufferEnv wrapper for one PettingZoo env (given, or built by ``env_creator``).

    - a ``ParallelEnv``: :class:`PettingZooPufferEnv`;
    - an ``AECEnv`` made from a parallel env with PettingZoo's ``parallel_to_aec`` (magent2,
      many butterfly / sisl envs' ``env()``): that parallel env, unwrapped
      (:func:`~pufferlib.emulation.pettingzoo_env.parallel_env_inside`), in a
      :class:`PettingZooPufferEnv`: one env step per step instead of one per agent;
    - another AEC env with ``metadata['is_parallelizable']``: PettingZoo's ``aec_to_parallel``,
      then :class:`PettingZooPufferEnv`;
    - any other AEC env (turn-based games: ``connect_four``, ``tictactoe``, ``chess``...):
      :class:`~pufferlib.emulation.TurnBasedPufferEnv` (one agent moves per step).

    ``options``: ``text_observations`` / ``text_length``.

    Raises:
        APIUsageError: not a PettingZoo env, or an unknown option.
    """
    import pettingzoo
    from pettingzoo.utils.conversions import aec_to_parallel
    unknown = set(options) - {"text_observations", "text_length"}
    if unknown:
        raise APIUsageError(f"options {sorted(unknown)} do not apply to PettingZoo envs; "
                            "allowed: text_observations, text_length")
    env = make_object(env, env_creator, env_args, env_kwargs)
    if isinstance(env, pettingzoo.AECEnv):
        inner = parallel_env_inside(env)
        if inner is not None:
            env = inner
        elif (getattr(env, "metadata", None) or {}).get("is_parallelizable", False):
            env = aec_to_parallel(env)
        else:
            return TurnBasedPufferEnv(env=env, buf=buf, seed=seed, **options)
    if not isinstance(env, pettingzoo.ParallelEnv):
        raise APIUsageError(f"expected a pettingzoo.ParallelEnv or AECEnv, got {type(env).__name__}")
    return PettingZooPufferEnv(env=env, buf=buf, seed=seed, **options)


class _CopyFactory:
    """Picklable ``() -> env`` returning a deep copy of ``env`` (the original is never handed out)."""

    def __init__(self, env):
        self.env = env

    def __call__(self):
        try:
            return copy.deepcopy(self.env)
        except Exception as e:  # noqa: BLE001 - any failure means the env cannot be copied
            raise EnvironmentSetupError(
                f"could not copy {type(self.env).__name__} to build more environments ({type(e).__name__}: {e}); "
                "use pufferlib.vector.make with a creator that builds a fresh env instead") from e


def _pop_wrapper_options(kwargs):
    return {k: kwargs.pop(k) for k in list(kwargs) if k in WRAPPER_OPTIONS}


class _Creator:
    """Picklable PufferEnv creator ``creator(*env_args, buf=None, seed=0, **env_kwargs)`` for pufferlib.vector.

    Keywords in :data:`WRAPPER_OPTIONS` (in ``env_kwargs`` or ``wrapper_kwargs``) go to the
    wrapper, all others to ``env_factory``."""

    def __init__(self, wrapper, env_factory, env_args=(), env_kwargs=None, wrapper_kwargs=None):
        self.wrapper = wrapper
        self.env_factory = env_factory
        self.env_args = tuple(env_args)
        self.env_kwargs = dict(env_kwargs or {})
        self.wrapper_kwargs = {**_pop_wrapper_options(self.env_kwargs), **(wrapper_kwargs or {})}

    def __call__(self, *env_args, buf=None, seed=0, **env_kwargs):
        wrapper_kwargs = {**self.wrapper_kwargs, **_pop_wrapper_options(env_kwargs)}
        kwargs = {**self.env_kwargs, **env_kwargs}
        return self.wrapper(env_creator=self.env_factory, env_args=self.env_args + env_args,
                            env_kwargs=kwargs, buf=buf, seed=seed, **wrapper_kwargs)


def _vectorize(creators, num_envs, backend, kwargs):
    return vector.make(creators, num_envs=num_envs, backend=backend or "Serial", **kwargs)


def _single(creator, kwargs, what):
    extra = set(kwargs) - {"buf", "seed"}
    if extra:
        raise APIUsageError(
            f"{what}: options {sorted(extra)} apply only when vectorizing; pass num_envs > 1 or backend=")
    return creator(buf=kwargs.get("buf"), seed=kwargs.get("seed", 0))


def emulate(env, /, num_envs=1, backend=None, **kwargs):
    """Wrap a Gymnasium env or a PettingZoo env as a PufferEnv (vectorized when ``num_envs > 1``).

    Args:
        env: a ``gymnasium.Env``; an env of the old ``gym`` API (``reset() -> obs``, 4-tuple
            ``step``; adapted by :class:`~pufferlib.emulation.OldGymEnv`); a
            ``pettingzoo.ParallelEnv``; or a ``pettingzoo.AECEnv`` (see
            :func:`wrap_pettingzoo`: the parallel env inside is unwrapped, a parallelizable
            env converted, a turn-based game wrapped by
            :class:`~pufferlib.emulation.TurnBasedPufferEnv`). A PufferEnv is returned
            unchanged when ``num_envs == 1``.
        num_envs: number of environments. With 1 (and no ``backend``) the single wrapper is
            returned. Otherwise ``num_envs`` envs are built and passed to
            ``pufferlib.vector.make(creators, num_envs=num_envs, backend=backend or 'Serial', **kwargs)``:
            for a ``gymnasium.Env`` with a ``spec``, by ``gymnasium.make(env.spec)`` when one
            such env is built here with the same wrappers (gymnasium's checking wrappers
            aside); otherwise (no spec, a wrapper the spec cannot rebuild, old-gym and
            PettingZoo envs) as ``copy.deepcopy(env)``.
        backend: vectorization backend name or class.
        **kwargs: the wrapper options :data:`WRAPPER_OPTIONS` (``text_observations``,
            ``text_length``, ``spaces_after_reset``; see :class:`GymnasiumPufferEnv`); single
            env: ``buf`` and ``seed``; vectorized: options of ``pufferlib.vector.make``
            (``num_workers``, ``batch_size``, ``seed``, ...).

    Returns:
        :class:`GymnasiumPufferEnv`, :class:`PettingZooPufferEnv` or
        :class:`~pufferlib.emulation.TurnBasedPufferEnv`, or a vectorized env.

    Raises:
        APIUsageError: an unsupported object, ``num_envs`` < 1, or vector options without
            vectorization.
        EnvironmentSetupError: ``num_envs > 1`` and the env can neither be rebuilt from its
            spec nor deep-copied (the message says how to pass a creator instead).
    """
    num_envs = check_int("num_envs", num_envs, 1)
    vectorized = num_envs > 1 or backend is not None
    if isinstance(env, PufferEnv):
        if vectorized:
            raise APIUsageError("env is already a PufferEnv; vectorize it with pufferlib.vector.make")
        return env
    kwargs = dict(kwargs)
    wrapper_kwargs = _pop_wrapper_options(kwargs)

    import pettingzoo
    if isinstance(env, (pettingzoo.AECEnv, pettingzoo.ParallelEnv)):
        wrapper = wrap_pettingzoo
    elif isinstance(env, gymnasium.Env) or is_old_gym_env(env):
        wrapper = GymnasiumPufferEnv
    else:
        raise APIUsageError(
            f"emulate takes a gymnasium.Env (or an old-gym env), a pettingzoo.ParallelEnv or a "
            f"pettingzoo.AECEnv; got {type(env).__name__}")

    if not vectorized:
        return _single(functools.partial(wrapper, env=env, **wrapper_kwargs), kwargs, "emulate")
    creators = [_Creator(wrapper, _rebuild_factory(env), wrapper_kwargs=wrapper_kwargs) for _ in range(num_envs)]
    return _vectorize(creators, num_envs, backend, kwargs)


#: Gymnasium wrappers that only check calls; spec rebuilds may add or drop them.
_CHECKING_WRAPPERS = ("PassiveEnvChecker", "OrderEnforcing")


def _wrapper_chain(env):
    names = []
    for _ in range(64):
        if type(env).__name__ not in _CHECKING_WRAPPERS:
            names.append(f"{type(env).__module__}.{type(env).__qualname__}")
        inner = getattr(env, "env", None) if isinstance(env, gymnasium.Wrapper) else None
        if inner is None:
            return names
        env = inner
    return names


def _rebuild_factory(env):
    """A picklable ``() -> env`` building more envs like ``env`` (see :func:`emulate`)."""
    why = []
    spec = getattr(env, "spec", None) if isinstance(env, gymnasium.Env) else None
    if spec is not None:
        factory = functools.partial(gymnasium.make, spec)
        try:
            probe = factory()
        except Exception as e:  # noqa: BLE001 - any failure means the spec cannot rebuild it
            why.append(f"gymnasium.make(env.spec) failed: {type(e).__name__}: {e}")
        else:
            got, want = _wrapper_chain(probe), _wrapper_chain(env)
            probe.close()
            if got == want:
                return factory
            why.append(f"gymnasium.make(env.spec) builds {' > '.join(got)}, not {' > '.join(want)}")
    try:
        copy.deepcopy(env)
    except Exception as e:  # noqa: BLE001 - any failure means the env cannot be copied
        why.append(f"copy.deepcopy(env) failed: {type(e).__name__}: {e}")
        raise EnvironmentSetupError(
            f"emulate(num_envs > 1) cannot build more {type(env).__name__} envs ({'; '.join(why)}). Pass a "
            "creator instead: pufferlib.vector.make(lambda buf=None, seed=0: pufferlib.emulate(make_env(), "
            "buf=buf, seed=seed), num_envs=N), or make the env rebuildable (wrappers inheriting "
            "gymnasium.utils.RecordConstructorArgs)") from e
    return _CopyFactory(env)


def _split_kwargs(kwargs, env_kwargs):
    env_kw = dict(env_kwargs or {})
    vec_kw = {}
    for k, v in kwargs.items():
        (vec_kw if k in VECTOR_OPTIONS or k == "buf" else env_kw)[k] = v
    return env_kw, vec_kw


def _import_env_module(env_id):
    """Import ``module`` of a ``'module:EnvId'`` id (gymnasium's form); returns ``EnvId``."""
    if ":" not in env_id:
        return env_id
    module, _, name = env_id.partition(":")
    if not module or not name:
        raise APIUsageError(f"env id {env_id!r}: expected 'module:EnvId', e.g. 'minigrid:MiniGrid-Empty-5x5-v0'")
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as e:
        raise EnvironmentSetupError(
            f"env id {env_id!r} needs the module {module!r}, which is not installed "
            f"(missing {e.name!r}): pip install {e.name.split('.')[0]}") from e
    return name


def _make_gymnasium_env(env_id, /, **kwargs):
    _import_env_module(env_id)
    try:
        return gymnasium.make(env_id.partition(":")[2] or env_id, **kwargs)
    except gymnasium.error.DependencyNotInstalled as e:
        raise EnvironmentSetupError(
            f"gymnasium env {env_id!r} needs an optional dependency: {e}. Try: pip install 'gymnasium[all]'") from e
    except ModuleNotFoundError as e:
        raise EnvironmentSetupError(
            f"gymnasium env {env_id!r} needs the missing module {e.name!r}: pip install {e.name}") from e
    except TypeError as e:
        raise APIUsageError(f"gymnasium.make({env_id!r}, **{kwargs}) rejected the arguments: {e}") from e


def make_gymnasium(env_id, /, num_envs=1, backend=None, env_kwargs=None, **kwargs):
    """Build the Gymnasium env ``env_id`` wrapped as a PufferEnv (``pufferlib.make('gym-<id>')``).

    Args:
        env_id: a registered Gymnasium id, e.g. ``'CartPole-v1'``, or gymnasium's
            ``'module:EnvId'`` form, which imports ``module`` first (in every worker too),
            e.g. ``'minigrid:MiniGrid-Empty-5x5-v0'``. Positional only, so an env that takes
            an ``env_id`` (or ``name``) keyword gets it.
        num_envs: 1 returns one :class:`GymnasiumPufferEnv`; more (or a ``backend``)
            returns ``pufferlib.vector.make(creator, num_envs=..., backend=backend or 'Serial', ...)``.
        backend: vectorization backend.
        env_kwargs: keyword arguments of ``gymnasium.make`` (also the way to pass ones that
            share a name with an option here, e.g. ``env_kwargs={'seed': 3}``).
        **kwargs: ``seed`` / ``buf``, vector options (:data:`VECTOR_OPTIONS`), wrapper options
            (:data:`WRAPPER_OPTIONS`); any other keyword goes to ``gymnasium.make``.

    Raises:
        APIUsageError: unknown id (the message lists close matches), bad arguments.
        EnvironmentSetupError: an optional dependency of the env (or the module of a
            ``'module:EnvId'`` id) is missing.
    """
    if not isinstance(env_id, str):
        raise APIUsageError(f"env_id must be a str, got {type(env_id).__name__}")
    num_envs = check_int("num_envs", num_envs, 1)
    try:
        gymnasium.spec(_import_env_module(env_id))
    except gymnasium.error.Error as e:
        raise APIUsageError(
            f"unknown Gymnasium env id {env_id!r}: {e}. Registered ids are in gymnasium.envs.registry") from e
    env_kw, vec_kw = _split_kwargs(kwargs, env_kwargs)
    creator = _Creator(GymnasiumPufferEnv, _make_gymnasium_env, (env_id,), env_kw)
    if num_envs == 1 and backend is None:
        return _single(creator, vec_kw, f"make('gym-{env_id}')")
    return _vectorize(creator, num_envs, backend, vec_kw)


def find_pettingzoo_module(name):
    """Import the PettingZoo module for ``name`` (``'pistonball'`` or ``'pistonball_v6'``).

    Searches :data:`PETTINGZOO_FAMILIES` for a module ``<name>_v<N>`` (highest N).

    Returns:
        The imported module.

    Raises:
        APIUsageError: no family has such a module (the message lists the families
            searched and those that could not be imported).
        EnvironmentSetupError: the module exists but an optional dependency is
            missing (the message gives the pip command).
    """
    if not isinstance(name, str) or not name:
        raise APIUsageError(f"PettingZoo env name must be a non-empty str, got {name!r}")
    exact = re.fullmatch(r"(.+)_v(\d+)", name)
    pattern = re.compile(rf"{re.escape(name)}" if exact else rf"{re.escape(name)}_v(\d+)")
    searched, unavailable = [], {}
    for family in PETTINGZOO_FAMILIES:
        try:
            pkg = importlib.import_module(f"pettingzoo.{family}")
        except ImportError as e:
            unavailable[family] = str(e)
            continue
        searched.append(family)
        found = []
        for info in pkgutil.iter_modules(pkg.__path__):
            m = pattern.fullmatch(info.name)
            if m:
                found.append((int(m.group(1)) if not exact else 0, info.name))
        if not found:
            continue
        module_name = f"pettingzoo.{family}.{max(found)[1]}"
        try:
            return importlib.import_module(module_name)
        except (ImportError, gymnasium.error.DependencyNotInstalled) as e:
            missing = getattr(e, "name", None) or str(e)
            raise EnvironmentSetupError(
                f"PettingZoo env {name!r} ({module_name}) needs an optional dependency that is not "
                f"installed ({missing}). Install it with: pip install 'pettingzoo[{family}]'") from e
    msg = f"unknown PettingZoo env {name!r}: no module '{name if exact else name + '_v<N>'}' in pettingzoo families {searched}"
    if unavailable:
        msg += f"; families that could not be imported: {unavailable}"
    raise APIUsageError(msg)


def _pettingzoo_parallel_factory(module_name, /, **kwargs):
    """``module.parallel_env(**kwargs)`` when the module has one, else its AEC ``env(**kwargs)``
    (:func:`wrap_pettingzoo` decides how to wrap it)."""
    module = importlib.import_module(module_name)
    fn = "parallel_env" if hasattr(module, "parallel_env") else "env"
    try:
        return getattr(module, fn)(**kwargs)
    except (TypeError, AssertionError) as e:  # PettingZoo envs check their arguments with assert
        raise APIUsageError(f"{module_name}.{fn}(**{kwargs}) rejected the arguments: "
                            f"{type(e).__name__}: {e}") from e


def make_pettingzoo(name, /, num_envs=1, backend=None, env_kwargs=None, **kwargs):
    """Build PettingZoo env ``name`` wrapped as a PufferEnv (``pufferlib.make('pettingzoo-<name>')``).

    Args:
        name: the env name without version (``'pistonball'``, highest version
            used) or with it (``'pistonball_v6'``). Positional only, so an env taking a
            ``name`` keyword gets it.
        num_envs, backend: as in :func:`make_gymnasium`.
        env_kwargs: keyword arguments of the module's ``parallel_env`` (or ``env``).
        **kwargs: ``seed`` / ``buf``, vector options, ``text_observations`` /
            ``text_length``; any other keyword goes to ``parallel_env`` (or, for modules
            without one, such as the classic games, the AEC ``env``).

    Returns:
        :class:`PettingZooPufferEnv` (turn-based games: :class:`~pufferlib.emulation.TurnBasedPufferEnv`,
        see :func:`wrap_pettingzoo`), or a vectorized env.

    Raises:
        APIUsageError: unknown name (listing the families searched), bad arguments.
        EnvironmentSetupError: optional dependencies missing (pygame, pymunk, ...),
            with the pip command to fix it.
    """
    num_envs = check_int("num_envs", num_envs, 1)
    module = find_pettingzoo_module(name)
    env_kw, vec_kw = _split_kwargs(kwargs, env_kwargs)
    factory = functools.partial(_pettingzoo_parallel_factory, module.__name__)
    creator = _Creator(wrap_pettingzoo, factory, (), env_kw)
    if num_envs == 1 and backend is None:
        return _single(creator, vec_kw, f"make('pettingzoo-{name}')")
    return _vectorize(creator, num_envs, backend, vec_kw)
