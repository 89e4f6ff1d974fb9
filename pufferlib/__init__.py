"""pufferlib, Numba edition: PufferLib's environment API, environments compiled by Numba.

Importing this package compiles nothing; ``make``, ``emulate`` and ``check_env`` import
their machinery on first use. It registers every Ocean env with Gymnasium as
``pufferlib/<Class>-v0`` (:mod:`pufferlib.adapters`).
"""
from pufferlib.environment import PufferEnv, set_buffers
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError, WorkerError
from pufferlib.spaces import make_discrete, make_multi_discrete, make_space

__version__ = "0.1.0"

# Every Ocean env as a Gymnasium id, ``gymnasium.make("pufferlib/Snake-v0")`` (string entry
# points: nothing is imported or compiled until an env is made).
from pufferlib.adapters import register_gymnasium_envs as _register_gymnasium_envs  # noqa: E402

_register_gymnasium_envs()


def make(name: str, /, num_envs: int = None, **kwargs):
    """Create an environment by name. See :func:`pufferlib.registry.make`."""
    from pufferlib.registry import make as _make
    return _make(name, num_envs=num_envs, **kwargs)


def emulate(env, num_envs: int = 1, **kwargs):
    """Wrap a Gymnasium env or PettingZoo ParallelEnv as a PufferEnv. See :func:`pufferlib.emulation.emulate`."""
    from pufferlib.emulation import emulate as _emulate
    return _emulate(env, num_envs=num_envs, **kwargs)


def check_env(env, config=None, skip=(), **kwargs) -> dict:
    """Conformance checks of a PufferEnv class (an Ocean env class) or of any PufferEnv instance
    (native, emulated or vectorized). See :func:`pufferlib.check.check_env`."""
    from pufferlib.check import check_env as _check_env
    return _check_env(env, config=config, skip=skip, **kwargs)


__all__ = [
    "PufferEnv", "set_buffers", "APIUsageError", "EnvironmentSetupError", "WorkerError",
    "make", "emulate", "check_env", "make_space", "make_discrete", "make_multi_discrete",
]
