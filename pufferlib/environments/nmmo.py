"""Neural MMO: ``pufferlib.make('nmmo')`` (also ``'neuralmmo'``, ``'nmmo-3'``, ``'nmmo-nmmo3'``).

The ``nmmo`` package (Neural MMO 2.x) does not build on current Python versions; this family
builds our Numba Neural MMO 3 instead, the same env as ``pufferlib.make('puffer_nmmo3')``
(:class:`pufferlib.ocean.nmmo3.NMMO3`; mechanics in ``docs/envs/nmmo3.md``). It needs no
extra package.
"""
from __future__ import annotations

from pufferlib.exceptions import APIUsageError

REQUIRES = ()
INSTALL = "pip install pufferlib-numba (nothing extra: Neural MMO 3 ships as pufferlib.ocean.nmmo3)"
DESCRIPTION = "Neural MMO 3 in Numba (puffer_nmmo3); the nmmo 2.x package itself is not used"

#: What may follow ``'nmmo-'`` (compared after removing case, dashes and underscores).
NAMES = ("", "3", "v3", "nmmo3", "neuralmmo3", "nmmo", "neuralmmo")


def env_names() -> list:
    return ["nmmo3"]


def make(name: str = "", num_envs: int = None, **kwargs):
    """Neural MMO 3 with ``num_envs`` worlds (default: its own, 4 worlds x 1024 players).

    Args:
        name: ``''``, ``'3'``, ``'nmmo3'`` (any case, dashes or underscores).
        num_envs: worlds; ``num_agents = num_envs * num_players``.
        **kwargs: :class:`pufferlib.ocean.nmmo3.NMMO3` arguments (``num_players``, ``seed``, ...).

    Raises:
        APIUsageError: another name (Neural MMO 2 maps and tasks are not available), or an
            argument NMMO3 does not take.
    """
    key = "".join(ch for ch in str(name).lower() if ch.isalnum())
    if key not in NAMES:
        raise APIUsageError(f"unknown nmmo env {name!r}: this family has one env, Neural MMO 3 "
                            "(pufferlib.make('nmmo') or 'puffer_nmmo3'); the nmmo 2.x package is not used")
    from pufferlib.registry import make as _make
    return _make("puffer_nmmo3", num_envs=num_envs, **kwargs)
