"""Environment names for :func:`pufferlib.make`.

Four kinds of names:

- ``puffer_<name>`` or ``<name>``: a Numba environment of the Ocean suite
  (``pufferlib.ocean``), e.g. ``puffer_snake``, ``squared``.
- ``gym-<id>``: a Gymnasium env by its registered id, e.g. ``gym-CartPole-v1``,
  wrapped by :class:`pufferlib.emulation.GymnasiumPufferEnv`.
- ``pettingzoo-<name>``: a PettingZoo ParallelEnv, e.g. ``pettingzoo-pistonball``,
  wrapped by :class:`pufferlib.emulation.PettingZooPufferEnv` (through the
  ``pettingzoo`` family module when it is present).
- ``<family>-<name>``: a third-party env family (``pufferlib.environments``), e.g.
  ``atari-pong``, ``procgen-coinrun``, ``minigrid-empty-5x5``; ``nmmo`` / ``neuralmmo`` /
  ``nmmo-<name>`` build our Neural MMO 3 (``puffer_nmmo3``). See
  ``docs/third-party-environments.md``.
"""
from __future__ import annotations

from pufferlib.exceptions import APIUsageError


def make(name: str, /, num_envs: int = None, **kwargs):
    """Create an environment by name.

    Args:
        name: see the module docstring.
        num_envs: number of environments (default: the env's own default for Ocean
            envs, e.g. 16 for Snake; 1 otherwise). Ocean envs simulate them in one
            native PufferEnv (``num_agents = num_envs * agents per env``);
            emulated envs are vectorized with :func:`pufferlib.vector.make`
            (``backend=`` and the other vector options may be passed in kwargs).
        **kwargs: forwarded to the environment constructor (Ocean) or the
            vectorizer / emulation layer (gym-, pettingzoo-), or to the family's
            ``make`` (``<family>-<name>``, see :mod:`pufferlib.environments`).

    Returns:
        A PufferEnv (Ocean), or a vectorized emulated env.

    Raises:
        APIUsageError: unknown name, or a bad argument.
        pufferlib.EnvironmentSetupError: an optional dependency is missing (the message
            has the install line), or a family cannot run on this machine.
    """
    if not isinstance(name, str):
        raise APIUsageError(f"make takes an environment name (str), got {type(name).__name__}")
    if name.startswith("gym-"):
        from pufferlib.emulation import make_gymnasium
        return make_gymnasium(name[len("gym-"):], num_envs=num_envs or 1, **kwargs)
    from pufferlib import environments
    family = environments.split_name(name)
    if family is not None:
        family, rest = family
        if family == "pettingzoo" and not environments.available("pettingzoo"):
            from pufferlib.emulation import make_pettingzoo
            return make_pettingzoo(rest, num_envs=num_envs or 1, **kwargs)
        return environments.make(family, rest, num_envs=num_envs, **kwargs)
    from pufferlib import ocean
    if num_envs is not None:
        kwargs["num_envs"] = num_envs
    cls = ocean.env_creator(name)
    import inspect
    params = inspect.signature(cls).parameters
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise APIUsageError(f"{name} does not take {', '.join(unknown)}; its arguments are: "
                            f"{', '.join(p for p in params if p != 'buf')}")
    return cls(**kwargs)
