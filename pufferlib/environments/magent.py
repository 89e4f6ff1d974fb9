"""MAgent2 (https://magent2.farama.org), large gridworld battles: ``pufferlib.make('magent-battle')``.

Each env is the module's ``parallel_env`` (MAgent's AEC ``env()`` only wraps it, and stepping
that agent by agent is much slower; :func:`pufferlib.emulation.emulate` unwraps it too) in a
:class:`~pufferlib.emulation.PettingZooPufferEnv`: one row per possible agent, dead agents
masked (``masks`` False, zero observations, actions ignored). All agents must share one
observation and one action space: ``battle``, ``battlefield`` and ``gather`` do;
``adversarial_pursuit``, ``combined_arms`` and ``tiger_deer`` give each team its own and are
refused with the reason.
"""
from __future__ import annotations

REQUIRES = ("magent2",)
INSTALL = "pip install 'pufferlib-numba[magent]'"
DESCRIPTION = "MAgent2 gridworld battles: magent-battle, magent-battlefield, magent-gather, ..."


def _modules() -> dict:
    import pkgutil
    import re

    import magent2.environments as envs
    return {m.name: f"magent2.environments.{m.name}" for m in pkgutil.iter_modules(envs.__path__)
            if re.fullmatch(r".+_v\d+", m.name)}


def env_names() -> list:
    """The MAgent2 env modules (``'battle_v4'``, ``'gather_v5'``, ...)."""
    return sorted(_modules())


def make(name: str, num_envs: int = 1, **kwargs):
    """A MAgent2 env as a PufferEnv.

    Args:
        name: ``'battle'``, ``'battle-v4'``, ``'battlefield'``, ``'gather'``, ...
        num_envs: envs, vectorized with ``backend`` (default ``'Serial'``).
        **kwargs: ``seed``, ``backend`` and the other options of :func:`pufferlib.vector.make`;
            any other keyword goes to the module's ``parallel_env`` (``map_size``,
            ``max_cycles``, ``minimap_mode``, ...).

    Returns:
        A :class:`~pufferlib.emulation.PettingZooPufferEnv`, or a vectorized env of them:
        ``battle`` with ``map_size=45`` has 162 agents, float32 observations ``(13, 13, 5)``,
        ``Discrete(21)`` actions.

    Raises:
        APIUsageError: unknown name (close matches listed), bad keyword arguments, teams with
            different spaces.
        EnvironmentSetupError: ``magent2`` is not installed.
    """
    import functools
    import sys

    from pufferlib.emulation.factories import _pettingzoo_parallel_factory, wrap_pettingzoo
    from pufferlib.environments import make_emulated, require, resolve_name
    require(sys.modules[__name__])
    modules = _modules()
    module = modules[resolve_name(name, list(modules), "magent")]
    factory = functools.partial(_pettingzoo_parallel_factory, module)
    return make_emulated(factory, num_envs, label=f"make('magent-{name}')", wrapper=wrap_pettingzoo, **kwargs)
