"""Minigrid and BabyAI gridworlds (Farama Foundation's ``minigrid``, https://minigrid.farama.org):
``pufferlib.make('minigrid-empty-5x5')``, ``pufferlib.make('minigrid-babyai-goto-red-ball')``.

Each env is ``gymnasium.make('<id>')`` wrapped by :class:`pufferlib.emulation.GymnasiumPufferEnv`
(one agent per env) and vectorized by :func:`pufferlib.vector.make` when ``num_envs > 1``.
The observation ``{'direction': Discrete(4), 'image': Box(0, 255, (7, 7, 3), uint8), 'mission':
MissionSpace}`` becomes one uint8 row: the mission string is encoded as 128 UTF-8 bytes by
default (``text_observations='encode'``, ``text_length=128``; ``text_observations='drop'``
removes it, as PufferLib 3.0's Minigrid wrapper does). Read a row back with
``pufferlib.emulation.nativize(row, env.emulated['observation_space'], env.obs_dtype)`` and the
mission with ``pufferlib.emulation.decode_text``.
"""
from __future__ import annotations

REQUIRES = ("minigrid",)
INSTALL = "pip install 'pufferlib-numba[minigrid]'"
DESCRIPTION = "Minigrid and BabyAI gridworlds: minigrid-empty-5x5, minigrid-door-key-8x8, minigrid-babyai-goto, ..."


def env_names() -> list:
    """Every Minigrid and BabyAI id registered with Gymnasium (``'MiniGrid-Empty-5x5-v0'``, ...)."""
    import gymnasium
    import minigrid  # noqa: F401 - registers the ids
    return sorted(k for k in gymnasium.envs.registry if k.startswith(("MiniGrid-", "BabyAI-")))


def make(name: str, num_envs: int = 1, **kwargs):
    """A Minigrid / BabyAI env as a PufferEnv.

    Args:
        name: the id with or without ``MiniGrid-`` and the version, any case, dashes or
            underscores: ``'empty-5x5'``, ``'DoorKey-8x8'``, ``'babyai-goto-red-ball'``.
        num_envs: envs (one agent each), vectorized with ``backend`` (default ``'Serial'``).
        **kwargs: ``text_observations`` / ``text_length`` (see the module docstring),
            ``seed``, ``backend`` and the other options of :func:`pufferlib.vector.make`; any
            other keyword goes to ``gymnasium.make`` (``max_steps``, ``render_mode``, ...).

    Returns:
        A :class:`~pufferlib.emulation.GymnasiumPufferEnv`, or a vectorized env of them:
        observations uint8 ``(num_envs, 288)`` by default, actions ``Discrete(7)`` (int32).

    Raises:
        APIUsageError: unknown name (close matches listed), bad keyword arguments.
        EnvironmentSetupError: ``minigrid`` is not installed.
    """
    import sys

    from pufferlib.environments import require
    from pufferlib.environments._registered import make_registered, resolve_id
    require(sys.modules[__name__])
    env_id = resolve_id(name, env_names(), "MiniGrid-", "minigrid")
    return make_registered(f"minigrid:{env_id}", num_envs, f"make('minigrid-{name}')", {}, kwargs)
