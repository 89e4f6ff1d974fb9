"""NetHack through the NetHack Learning Environment (``nle``, https://github.com/heiner/nle):
``pufferlib.make('nethack')`` (``NetHackScore-v0``), ``pufferlib.make('nethack-challenge')``.

Each env is ``gymnasium.make('<id>', observation_keys=...)`` wrapped by
:class:`pufferlib.emulation.GymnasiumPufferEnv` and vectorized by :func:`pufferlib.vector.make`.
NLE returns about 150 KB of observations per step with its default keys; here the default is
:data:`OBSERVATION_KEYS` (``glyphs`` int16 (21, 79), ``blstats`` int64 (27,), ``message`` uint8
(256,): 3,792 bytes per step), which becomes one uint8 row (the fields of different dtypes are
laid out as a structured record; read it back with :func:`pufferlib.emulation.nativize`). Pass
``observation_keys=`` for others (``chars``, ``colors``, ``tty_chars``, ...).

``nle`` pins ``gymnasium==1.2.0``; install it in its own virtual environment if something else
needs a newer Gymnasium.

Seeding: NLE ignores the seed of ``reset``; here ``reset(seed=s)`` seeds NetHack's RNGs with
``s`` and turns off its reseeding from true randomness (:func:`make_seeded_env`), so the same
seed and actions give the same game.
"""
from __future__ import annotations

import gymnasium

REQUIRES = ("nle",)
INSTALL = "pip install 'pufferlib-numba[nethack]'"
DESCRIPTION = "NetHack (NLE): nethack (NetHackScore), nethack-challenge, nethack-staircase, ..."

#: Observation keys kept by default (NLE's own default keeps every key, ~150 KB per step).
OBSERVATION_KEYS = ("glyphs", "blstats", "message")


def make_seeded_env(gym_id, /, **kwargs):
    """``gymnasium.make`` of an NLE / MiniHack id (``'module:EnvId'``) whose ``reset(seed=s)``
    seeds the game: NLE ignores the ``reset`` seed and takes its seeds from ``seed(core, disp,
    reseed)`` before a reset, so :class:`SeededReset` calls ``seed(s, s, reseed=False)`` (no
    reseeding from true randomness during the game; the episode is reproducible)."""
    from pufferlib.emulation.factories import _make_gymnasium_env
    return SeededReset(_make_gymnasium_env(gym_id, **kwargs))


class SeededReset(gymnasium.Wrapper):
    """Seeds NLE's RNGs from ``reset(seed=s)`` (see :func:`make_seeded_env`). ``step`` is the
    wrapped env's own bound method (no extra call per step)."""

    def __init__(self, env):
        super().__init__(env)
        self.step = env.step

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.env.unwrapped.seed(core=int(seed), disp=int(seed), reseed=False)
        return self.env.reset(seed=seed, options=options)


def env_names() -> list:
    """The NLE ids registered with Gymnasium (``'NetHackScore-v0'``, ``'NetHackChallenge-v0'``, ...)."""
    import gymnasium
    import nle  # noqa: F401 - registers the ids
    return sorted(k for k in gymnasium.envs.registry if k.startswith("NetHack"))


def make(name: str = "", num_envs: int = 1, **kwargs):
    """A NetHack task as a PufferEnv.

    Args:
        name: ``''`` (``NetHackScore-v0``), or the id with or without ``NetHack`` and the
            version: ``'score'``, ``'challenge'``, ``'staircase-pet'``, ``'NetHackOracle-v0'``.
        num_envs: envs (one agent each), vectorized with ``backend`` (default ``'Serial'``).
        **kwargs: ``observation_keys`` (default :data:`OBSERVATION_KEYS`), ``seed``,
            ``backend`` and the other options of :func:`pufferlib.vector.make`; any other
            keyword goes to ``gymnasium.make`` / NLE (``character``, ``max_episode_steps``,
            ``savedir``, ...).

    Returns:
        A :class:`~pufferlib.emulation.GymnasiumPufferEnv`, or a vectorized env of them:
        observations uint8 ``(num_envs, 3792)`` with the default keys, actions ``Discrete``
        (23 for the score task).

    Raises:
        APIUsageError: unknown name (close matches listed), bad keyword arguments.
        EnvironmentSetupError: ``nle`` is not installed.
    """
    import sys

    from pufferlib.environments import require
    from pufferlib.environments._registered import make_registered, resolve_id
    require(sys.modules[__name__])
    env_id = resolve_id(name, env_names(), "NetHack", "nethack", default="NetHackScore-v0")
    return make_registered(f"nle:{env_id}", num_envs, f"make('nethack-{name}')",
                           {"observation_keys": OBSERVATION_KEYS}, kwargs, make_env=make_seeded_env)
