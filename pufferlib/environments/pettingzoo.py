"""PettingZoo (https://pettingzoo.farama.org): ``pufferlib.make('pettingzoo-pistonball')``,
``pufferlib.make('pettingzoo-knights-archers-zombies')``, ``pufferlib.make('pettingzoo-connect-four')``.

Names are module names of PettingZoo's families ``butterfly``, ``classic``, ``sisl`` (and
``atari`` where its extra is installed) with dashes or underscores, with or without the version
(the highest one is used): ``knights-archers-zombies`` is ``pettingzoo.butterfly.knights_archers_zombies_v11``
here. The MPE envs moved to the ``mpe2`` package (``simple-spread`` is ``mpe2.simple_spread_v3``);
they are found there when it is installed (``pip install mpe2``).

How each env is wrapped (:func:`pufferlib.emulation.wrap_pettingzoo`): a module's
``parallel_env`` becomes a :class:`~pufferlib.emulation.PettingZooPufferEnv` (all agents act each
step); a turn-based game (``connect_four``, ``tictactoe``, ``chess``, ``go``, ``texas_holdem``...)
a :class:`~pufferlib.emulation.TurnBasedPufferEnv`: one row per player, only the player to move
acts (``masks`` marks it), the legal-move mask is the ``action_mask`` part of the observation.
All agents must share one observation and one action space (``multiwalker``, ``pursuit``,
``pistonball`` do; games whose roles differ are refused with the reason).
"""
from __future__ import annotations

import re

REQUIRES = ("pettingzoo",)
INSTALL = "pip install 'pufferlib-numba[pettingzoo]'"
DESCRIPTION = "PettingZoo butterfly, classic (turn-based), sisl; MPE via mpe2: pettingzoo-pistonball, ..."

#: PettingZoo families searched, in order (``mpe`` lives in the ``mpe2`` package now).
FAMILIES = ("butterfly", "classic", "sisl", "atari")
#: The MPE envs, found in ``mpe2`` when it is installed.
MPE_NAMES = ("simple", "simple_adversary", "simple_crypto", "simple_push", "simple_reference",
             "simple_speaker_listener", "simple_spread", "simple_tag", "simple_world_comm")
_VERSIONED = re.compile(r".+_v\d+$")


def _modules() -> dict:
    """``{module name: full module path}`` of every versioned env module found."""
    import importlib
    import importlib.util
    import pkgutil
    found = {}
    packages = [f"pettingzoo.{f}" for f in FAMILIES]
    if importlib.util.find_spec("mpe2") is not None:
        packages.append("mpe2")
    for package in packages:
        try:
            pkg = importlib.import_module(package)
        except ImportError:
            continue
        for info in pkgutil.iter_modules(pkg.__path__):
            if _VERSIONED.fullmatch(info.name):
                found.setdefault(info.name, f"{package}.{info.name}")
    return found


def env_names() -> list:
    """Every versioned env module found (``'pistonball_v6'``, ``'connect_four_v3'``, ...)."""
    return sorted(_modules())


def resolve(name: str) -> str:
    """The full module path ``name`` means (``'knights-archers-zombies'`` ->
    ``'pettingzoo.butterfly.knights_archers_zombies_v11'``).

    Raises:
        APIUsageError: unknown name (close matches listed).
        EnvironmentSetupError: an MPE env without ``mpe2`` installed.
    """
    from pufferlib.environments import name_key, resolve_name
    from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
    modules = _modules()
    try:
        return modules[resolve_name(name, list(modules), "pettingzoo")]
    except APIUsageError as e:
        if name_key(name) in {name_key(m) for m in MPE_NAMES} and not any(m.startswith("mpe2.")
                                                                          for m in modules.values()):
            raise EnvironmentSetupError(f"the MPE env {name!r} moved out of PettingZoo into the mpe2 package, "
                                        "which is not installed: pip install mpe2") from None
        searched = sorted({m.rsplit(".", 1)[0] for m in modules.values()})
        raise APIUsageError(f"{e} Searched: {', '.join(searched)}") from None


def make(name: str, num_envs: int = 1, **kwargs):
    """A PettingZoo env as a PufferEnv.

    Args:
        name: see the module docstring (``'pistonball'``, ``'pistonball_v6'``,
            ``'knights-archers-zombies'``, ``'connect-four'``, ``'simple-spread'``).
        num_envs: envs, vectorized with ``backend`` (default ``'Serial'``);
            ``num_agents`` = ``num_envs`` times the env's ``possible_agents``.
        **kwargs: ``seed``, ``backend`` and the other options of :func:`pufferlib.vector.make`,
            ``text_observations`` / ``text_length``; any other keyword goes to the module's
            ``parallel_env`` (or ``env`` for turn-based games), e.g. ``n_pistons=10``.

    Returns:
        A :class:`~pufferlib.emulation.PettingZooPufferEnv` or
        :class:`~pufferlib.emulation.TurnBasedPufferEnv`, or a vectorized env of them.

    Raises:
        APIUsageError: unknown name (close matches listed), bad keyword arguments, agents
            with different spaces.
        EnvironmentSetupError: PettingZoo, or the family's extra (``pygame``, ``pymunk``,
            ``chess``, ``rlcard``...), or ``mpe2`` is not installed.
    """
    import functools
    import importlib
    import sys

    import gymnasium

    from pufferlib.emulation.factories import _pettingzoo_parallel_factory, wrap_pettingzoo
    from pufferlib.environments import make_emulated, require
    from pufferlib.exceptions import EnvironmentSetupError
    require(sys.modules[__name__])
    module = resolve(name)
    try:
        importlib.import_module(module)
    except (ImportError, gymnasium.error.DependencyNotInstalled) as e:
        family = module.split(".")[1] if module.startswith("pettingzoo.") else "mpe2"
        raise EnvironmentSetupError(
            f"PettingZoo env {name!r} ({module}) needs an optional dependency that is not installed "
            f"({getattr(e, 'name', None) or e}): pip install 'pettingzoo[{family}]'") from e
    factory = functools.partial(_pettingzoo_parallel_factory, module)
    return make_emulated(factory, num_envs, label=f"make('pettingzoo-{name}')", wrapper=wrap_pettingzoo, **kwargs)
