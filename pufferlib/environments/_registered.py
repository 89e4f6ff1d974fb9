"""Shared by the families whose envs are registered ids (Minigrid, NetHack, MiniHack, Griddly):
name resolution with the package's prefix optional, and the emulated, vectorized make."""
from __future__ import annotations

import functools

from pufferlib.environments import make_emulated, resolve_name


def resolve_id(name: str, ids, prefix: str, family: str, default: str = None) -> str:
    """The id of ``ids`` that ``name`` means, written with or without ``prefix``
    (``'empty-5x5'`` and ``'MiniGrid-Empty-5x5-v0'`` -> ``'MiniGrid-Empty-5x5-v0'``).
    An empty ``name`` gives ``default`` when there is one.

    Raises:
        APIUsageError: no match (see :func:`pufferlib.environments.resolve_name`).
    """
    if default is not None and not (name or "").strip():
        return default
    known = {}
    for env_id in ids:
        if prefix and env_id.startswith(prefix):
            known.setdefault(env_id[len(prefix):], env_id)
    for env_id in ids:
        known.setdefault(env_id, env_id)
    return known[resolve_name(name, list(known), family)]


def make_registered(gym_id: str, num_envs: int, label: str, defaults: dict, kwargs: dict, make_env=None):
    """``pufferlib.make`` of a Gymnasium id (``'module:EnvId'`` form: the module is imported in
    every worker): ``defaults`` updated by ``kwargs``, split by
    :func:`pufferlib.environments.make_emulated` into env, wrapper and vector options.
    ``make_env(gym_id, **env_kwargs)`` (a module-level function) builds one env; default
    ``gymnasium.make``."""
    from pufferlib.emulation.factories import _make_gymnasium_env
    factory = functools.partial(make_env or _make_gymnasium_env, gym_id)
    return make_emulated(factory, num_envs, label=label, **{**defaults, **kwargs})
