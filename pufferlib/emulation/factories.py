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
from pufferlib.emulation.gymnasium_env import GymnasiumPufferEnv
from pufferlib.emulation.pettingzoo_env import PettingZooPufferEnv
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


class _Creator:
    """Picklable PufferEnv creator ``creator(*env_args, buf=None, seed=0, **env_kwargs)`` for pufferlib.vector."""

    def __init__(self, wrapper, env_factory, env_args=(), env_kwargs=None):
        self.wrapper = wrapper
        self.env_factory = env_factory
        self.env_args = tuple(env_args)
        self.env_kwargs = dict(env_kwargs or {})

    def __call__(self, *env_args, buf=None, seed=0, **env_kwargs):
        kwargs = {**self.env_kwargs, **env_kwargs}
        return self.wrapper(env_creator=self.env_factory, env_args=self.env_args + env_args,
                            env_kwargs=kwargs, buf=buf, seed=seed)


def _vectorize(creators, num_envs, backend, kwargs):
    return vector.make(creators, num_envs=num_envs, backend=backend or "Serial", **kwargs)


def _single(creator, kwargs, what):
    extra = set(kwargs) - {"buf", "seed"}
    if extra:
        raise APIUsageError(
            f"{what}: options {sorted(extra)} apply only when vectorizing; pass num_envs > 1 or backend=")
    return creator(buf=kwargs.get("buf"), seed=kwargs.get("seed", 0))


def emulate(env, num_envs=1, backend=None, **kwargs):
    """Wrap a Gymnasium env or a PettingZoo env as a PufferEnv (vectorized when ``num_envs > 1``).

    Args:
        env: a ``gymnasium.Env``, a ``pettingzoo.ParallelEnv``, or a
            ``pettingzoo.AECEnv`` (converted with ``aec_to_parallel``; the env must
            be parallelizable). A PufferEnv is returned unchanged when ``num_envs == 1``.
        num_envs: number of environments. With 1 (and no ``backend``) the single
            wrapper is returned; otherwise ``num_envs - 1`` more copies are built
            (Gymnasium: ``gymnasium.make(env.spec)`` when the env has a spec, else
            ``copy.deepcopy(env)``; PettingZoo: ``copy.deepcopy``) and passed to
            ``pufferlib.vector.make(creators, num_envs=num_envs, backend=backend or 'Serial', **kwargs)``.
        backend: vectorization backend name or class.
        **kwargs: single env: ``buf`` and ``seed``; vectorized: options of
            ``pufferlib.vector.make`` (``num_workers``, ``batch_size``, ``seed``, ...).

    Returns:
        :class:`GymnasiumPufferEnv` / :class:`PettingZooPufferEnv`, or a vectorized env.

    Raises:
        APIUsageError: an unsupported object, ``num_envs`` < 1, a non-parallelizable
            AEC env, or vector options without vectorization.
        EnvironmentSetupError: the env cannot be copied for ``num_envs > 1``.
    """
    num_envs = check_int("num_envs", num_envs, 1)
    vectorized = num_envs > 1 or backend is not None
    if isinstance(env, PufferEnv):
        if vectorized:
            raise APIUsageError("env is already a PufferEnv; vectorize it with pufferlib.vector.make")
        return env

    import pettingzoo
    if isinstance(env, pettingzoo.AECEnv):
        from pettingzoo.utils.conversions import aec_to_parallel
        try:
            env = aec_to_parallel(env)
        except AssertionError as e:
            raise APIUsageError(
                f"cannot convert AEC env {type(env).__name__} to a ParallelEnv: {e}. Only parallelizable "
                "AEC envs (metadata['is_parallelizable'] = True) can be emulated") from e

    if isinstance(env, pettingzoo.ParallelEnv):
        wrapper = PettingZooPufferEnv
    elif isinstance(env, gymnasium.Env):
        wrapper = GymnasiumPufferEnv
    else:
        raise APIUsageError(
            f"emulate takes a gymnasium.Env, a pettingzoo.ParallelEnv or a pettingzoo.AECEnv; "
            f"got {type(env).__name__}")

    if not vectorized:
        return _single(functools.partial(wrapper, env=env), kwargs, "emulate")

    spec = getattr(env, "spec", None) if wrapper is GymnasiumPufferEnv else None
    factory = functools.partial(gymnasium.make, spec) if spec is not None else _CopyFactory(env)
    creators = [_Creator(wrapper, factory) for _ in range(num_envs)]
    return _vectorize(creators, num_envs, backend, kwargs)


def _split_kwargs(kwargs, env_kwargs):
    env_kw = dict(env_kwargs or {})
    vec_kw = {}
    for k, v in kwargs.items():
        (vec_kw if k in VECTOR_OPTIONS or k == "buf" else env_kw)[k] = v
    return env_kw, vec_kw


def _make_gymnasium_env(env_id, **kwargs):
    try:
        return gymnasium.make(env_id, **kwargs)
    except gymnasium.error.DependencyNotInstalled as e:
        raise EnvironmentSetupError(
            f"gymnasium env {env_id!r} needs an optional dependency: {e}. Try: pip install 'gymnasium[all]'") from e
    except ModuleNotFoundError as e:
        raise EnvironmentSetupError(
            f"gymnasium env {env_id!r} needs the missing module {e.name!r}: pip install {e.name}") from e
    except TypeError as e:
        raise APIUsageError(f"gymnasium.make({env_id!r}, **{kwargs}) rejected the arguments: {e}") from e


def make_gymnasium(env_id, num_envs=1, backend=None, env_kwargs=None, **kwargs):
    """Build the Gymnasium env ``env_id`` wrapped as a PufferEnv (``pufferlib.make('gym-<id>')``).

    Args:
        env_id: a registered Gymnasium id, e.g. ``'CartPole-v1'``.
        num_envs: 1 returns one :class:`GymnasiumPufferEnv`; more (or a ``backend``)
            returns ``pufferlib.vector.make(creator, num_envs=..., backend=backend or 'Serial', ...)``.
        backend: vectorization backend.
        env_kwargs: keyword arguments of ``gymnasium.make``.
        **kwargs: ``seed`` / ``buf``, vector options (:data:`VECTOR_OPTIONS`); any other
            keyword goes to ``gymnasium.make``.

    Raises:
        APIUsageError: unknown id (the message lists close matches), bad arguments.
        EnvironmentSetupError: an optional dependency of the env is missing.
    """
    if not isinstance(env_id, str):
        raise APIUsageError(f"env_id must be a str, got {type(env_id).__name__}")
    num_envs = check_int("num_envs", num_envs, 1)
    try:
        gymnasium.spec(env_id)
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


def _pettingzoo_parallel_factory(module_name, **kwargs):
    module = importlib.import_module(module_name)
    if hasattr(module, "parallel_env"):
        try:
            return module.parallel_env(**kwargs)
        except TypeError as e:
            raise APIUsageError(f"{module_name}.parallel_env(**{kwargs}) rejected the arguments: {e}") from e
    from pettingzoo.utils.conversions import aec_to_parallel
    try:
        return aec_to_parallel(module.env(**kwargs))
    except AssertionError as e:
        raise APIUsageError(
            f"{module_name} is a turn-based (AEC) env that cannot be converted to a ParallelEnv: {e}") from e


def make_pettingzoo(name, num_envs=1, backend=None, env_kwargs=None, **kwargs):
    """Build PettingZoo env ``name`` wrapped as a PufferEnv (``pufferlib.make('pettingzoo-<name>')``).

    Args:
        name: the env name without version (``'pistonball'``, highest version
            used) or with it (``'pistonball_v6'``).
        num_envs, backend: as in :func:`make_gymnasium`.
        env_kwargs: keyword arguments of the module's ``parallel_env``.
        **kwargs: ``seed`` / ``buf``, vector options; any other keyword goes to
            ``parallel_env``.

    Returns:
        :class:`PettingZooPufferEnv`, or a vectorized env.

    Raises:
        APIUsageError: unknown name (listing the families searched), bad arguments.
        EnvironmentSetupError: optional dependencies missing (pygame, pymunk, ...),
            with the pip command to fix it.
    """
    num_envs = check_int("num_envs", num_envs, 1)
    module = find_pettingzoo_module(name)
    env_kw, vec_kw = _split_kwargs(kwargs, env_kwargs)
    factory = functools.partial(_pettingzoo_parallel_factory, module.__name__)
    creator = _Creator(PettingZooPufferEnv, factory, (), env_kw)
    if num_envs == 1 and backend is None:
        return _single(creator, vec_kw, f"make('pettingzoo-{name}')")
    return _vectorize(creator, num_envs, backend, vec_kw)
