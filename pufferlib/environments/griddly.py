"""Griddly (https://griddly.ai), grid games described in GDY files: ``pufferlib.make('griddly-sokoban')``.

Griddly's gym envs keep the old gym API and know their observation space only after
``reset()``; each env is ``gym.make('GDY-<Game>-v0')`` adapted by
:class:`pufferlib.emulation.OldGymEnv` and wrapped by
:class:`pufferlib.emulation.GymnasiumPufferEnv` with ``spaces_after_reset=True``, vectorized by
:func:`pufferlib.vector.make`.

Observers: the default here is Griddly's ``'Vector'`` observer (one-hot object layers, uint8
``(layers, width, height)``), which needs no GPU; the sprite and block observers render with
Vulkan and crash (segfault) on machines without a Vulkan device. Single-player games only:
multi-player games (``Robot-Tag``, ``Foragers``, ``GriddlyRTS``...) are refused.
"""
from __future__ import annotations

REQUIRES = ("griddly", "gym")
INSTALL = "pip install 'pufferlib-numba[griddly]'"
DESCRIPTION = "Griddly single-player grid games (GDY): griddly-sokoban, griddly-zelda, griddly-spiders, ..."


def env_names() -> list:
    """The Griddly ids registered with gym (``'GDY-Sokoban-v0'``, ...)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import griddly  # noqa: F401 - registers the ids
        import gym
    return sorted(k for k in gym.envs.registry if k.startswith("GDY-"))


def make_griddly_env(env_id, /, player_observer_type="Vector", global_observer_type="Vector", **kwargs):
    """``gym.make(env_id, ...)`` with the given observers (names of ``griddly.gd.ObserverType``).

    Raises:
        APIUsageError: an unknown observer, bad keyword arguments, a multi-player game.
    """
    import warnings

    from pufferlib.exceptions import APIUsageError
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import gym
        from griddly import gd
    observers = {}
    for key, value in (("player_observer_type", player_observer_type), ("global_observer_type", global_observer_type)):
        kinds = [k for k in dir(gd.ObserverType) if k.isupper()]
        if isinstance(value, str):
            if value.upper() not in kinds:
                raise APIUsageError(f"{key}={value!r} is not a Griddly observer; observers: {', '.join(kinds)}")
            value = getattr(gd.ObserverType, value.upper())
        observers[key] = value
    try:
        env = gym.make(env_id, disable_env_checker=True, **observers, **kwargs)
    except TypeError as e:
        raise APIUsageError(f"gym.make({env_id!r}) rejected the arguments {sorted(kwargs)}: {e}") from e
    players = getattr(env.unwrapped, "player_count", 1)
    if players != 1:
        env.close()
        raise APIUsageError(f"{env_id} is a {players}-player game; the griddly family runs single-player games")
    return env


def make(name: str, num_envs: int = 1, **kwargs):
    """A single-player Griddly game as a PufferEnv.

    Args:
        name: the id with or without ``GDY-`` and the version: ``'sokoban'``, ``'zelda'``,
            ``'GDY-Spiders-v0'``.
        num_envs: envs (one agent each), vectorized with ``backend`` (default ``'Serial'``).
        **kwargs: ``player_observer_type`` / ``global_observer_type`` (default ``'Vector'``,
            see the module docstring), ``seed``, ``backend`` and the other options of
            :func:`pufferlib.vector.make`; any other keyword goes to ``gym.make`` (``level``,
            ``max_steps``, ...).

    Returns:
        A :class:`~pufferlib.emulation.GymnasiumPufferEnv`, or a vectorized env of them
        (Sokoban: uint8 observations ``(num_envs, 4, 13, 9)`` with the ``'Vector'`` observer,
        ``Discrete(5)`` actions).

    Raises:
        APIUsageError: unknown name (close matches listed), bad keyword arguments, a
            multi-player game.
        EnvironmentSetupError: ``griddly`` is not installed.
    """
    import functools
    import sys

    from pufferlib.environments import make_emulated, require
    from pufferlib.environments._registered import resolve_id
    require(sys.modules[__name__])
    env_id = resolve_id(name, env_names(), "GDY-", "griddly")
    factory = functools.partial(make_griddly_env, env_id)
    return make_emulated(factory, num_envs, label=f"make('griddly-{name}')",
                         **{"spaces_after_reset": True, **kwargs})
