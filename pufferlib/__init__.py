"""pufferlib, Numba edition: PufferLib's environment API, environments compiled by Numba.

Importing this package compiles nothing; ``make``, ``emulate`` and ``check_env`` import
their machinery on first use.
"""
from pufferlib.environment import PufferEnv, set_buffers
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError, WorkerError
from pufferlib.spaces import make_discrete, make_multi_discrete, make_space

__version__ = "0.1.0"


def make(name: str, num_envs: int = None, **kwargs):
    """Create an environment by name. See :func:`pufferlib.registry.make`."""
    from pufferlib.registry import make as _make
    return _make(name, num_envs=num_envs, **kwargs)


def emulate(env, num_envs: int = 1, **kwargs):
    """Wrap a Gymnasium env or PettingZoo ParallelEnv as a PufferEnv. See :func:`pufferlib.emulation.emulate`."""
    from pufferlib.emulation import emulate as _emulate
    return _emulate(env, num_envs=num_envs, **kwargs)


def check_env(env_cls, config=None, skip=()) -> dict:
    """Run the conformance checks on a Numba env class. See :func:`pufferlib.ocean.testing.check_env`."""
    from pufferlib.ocean.testing import check_env as _check_env
    return _check_env(env_cls, config=config, skip=skip)


__all__ = [
    "PufferEnv", "set_buffers", "APIUsageError", "EnvironmentSetupError", "WorkerError",
    "make", "emulate", "check_env", "make_space", "make_discrete", "make_multi_discrete",
]
