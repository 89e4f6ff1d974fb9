"""MiniHack (https://minihack.readthedocs.io), sandbox tasks built on NetHack:
``pufferlib.make('minihack-room-5x5')``, ``pufferlib.make('minihack-corridor-r2')``.

Each env is ``gymnasium.make('MiniHack-<task>-v0', observation_keys=...)`` wrapped by
:class:`pufferlib.emulation.GymnasiumPufferEnv` and vectorized by :func:`pufferlib.vector.make`.
The default observation keys are those of the NetHack family
(:data:`pufferlib.environments.nethack.OBSERVATION_KEYS`: ``glyphs``, ``blstats``,
``message``), laid out as one uint8 row; pass ``observation_keys=`` for others
(``glyphs_crop``, ``chars``, ``pixel``, ...). MiniHack depends on ``nle``, which pins
``gymnasium==1.2.0``. ``reset(seed=s)`` seeds the game as in the NetHack family.
"""
from __future__ import annotations

REQUIRES = ("minihack", "nle")
INSTALL = "pip install 'pufferlib-numba[minihack]'"
DESCRIPTION = "MiniHack tasks on NetHack: minihack-room-5x5, minihack-corridor-r2, minihack-keyroom-s5, ..."


def env_names() -> list:
    """The MiniHack ids registered with Gymnasium (``'MiniHack-Room-5x5-v0'``, ...)."""
    import gymnasium
    import minihack  # noqa: F401 - registers the ids
    return sorted(k for k in gymnasium.envs.registry if k.startswith("MiniHack-"))


def make(name: str, num_envs: int = 1, **kwargs):
    """A MiniHack task as a PufferEnv.

    Args:
        name: the id with or without ``MiniHack-`` and the version: ``'room-5x5'``,
            ``'MiniHack-River-v0'``.
        num_envs: envs (one agent each), vectorized with ``backend`` (default ``'Serial'``).
        **kwargs: ``observation_keys`` (default ``('glyphs', 'blstats', 'message')``),
            ``seed``, ``backend`` and the other options of :func:`pufferlib.vector.make`;
            any other keyword goes to ``gymnasium.make`` / MiniHack.

    Returns:
        A :class:`~pufferlib.emulation.GymnasiumPufferEnv`, or a vectorized env of them
        (uint8 observation rows; ``Discrete`` actions, 8 for the room tasks).

    Raises:
        APIUsageError: unknown name (close matches listed), bad keyword arguments.
        EnvironmentSetupError: ``minihack`` / ``nle`` are not installed.
    """
    import sys

    from pufferlib.environments import require
    from pufferlib.environments._registered import make_registered, resolve_id
    from pufferlib.environments.nethack import OBSERVATION_KEYS, make_seeded_env
    require(sys.modules[__name__])
    env_id = resolve_id(name, env_names(), "MiniHack-", "minihack")
    return make_registered(f"minihack:{env_id}", num_envs, f"make('minihack-{name}')",
                           {"observation_keys": OBSERVATION_KEYS}, kwargs, make_env=make_seeded_env)
