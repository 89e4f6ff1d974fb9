"""OpenAI Procgen Benchmark (https://github.com/openai/procgen): ``pufferlib.make('procgen-coinrun', num_envs=256)``.

Procgen is natively vectorized through gym3: one ``procgen.ProcgenGym3Env(num=N, ...)``
steps N games in C++. :class:`ProcgenVector` wraps it as one PufferEnv with
``num_agents = num_envs``. The package on PyPI for current Pythons is ``procgen-mirror``
(``procgen`` itself has no wheel after Python 3.8); it pins numpy 1.26, so give it its own
virtual environment if the rest of your stack needs numpy 2.
"""
from __future__ import annotations

import numpy as np

from pufferlib.checks import check_int
from pufferlib.environment import PufferEnv
from pufferlib.exceptions import APIUsageError

REQUIRES = ("procgen", "gym3")
INSTALL = "pip install 'pufferlib-numba[procgen]' (procgen-mirror; pins numpy 1.26: use its own venv)"
DESCRIPTION = "Procgen's 16 procedurally generated games (gym3, natively vectorized): procgen-coinrun, ..."

DISTRIBUTION_MODES = ("easy", "hard", "extreme", "memory", "exploration")


def env_names() -> list:
    from procgen.env import ENV_NAMES
    return list(ENV_NAMES)


def make(name: str, num_envs: int = 1, *, distribution_mode: str = "easy", num_levels: int = 0,
         start_level: int = 0, backend=None, num_workers=None, seed: int = 0, **kwargs):
    """A Procgen game as a PufferEnv with ``num_agents = num_envs``.

    Args:
        name: the game (``'coinrun'``, ``'starpilot'``, ...; :func:`env_names`).
        num_envs: environments.
        distribution_mode: one of :data:`DISTRIBUTION_MODES` (default ``'easy'``, the usual
            setting for 25M-step runs).
        num_levels: distinct levels (0, the default: unlimited); with ``start_level`` this
            selects the training / test split of Cobbe et al. 2020 (https://arxiv.org/abs/1912.01588).
        start_level: the first level seed.
        backend: None / ``'Native'``: one :class:`ProcgenVector` of ``num_envs`` envs;
            ``'Serial'``, ``'Multiprocessing'``, ``'Ray'``: ``num_workers`` (default 1) instances
            of ``num_envs // num_workers`` envs each through :func:`pufferlib.vector.make`.
        num_workers: instances (and worker processes) with a backend; must divide ``num_envs``.
        seed: seed of the first reset.
        **kwargs: other ``procgen.ProcgenGym3Env`` options (``use_backgrounds``,
            ``center_agent``, ``paint_vel_info``, ...) and, with a backend, the options of
            :func:`pufferlib.vector.make`.

    Returns:
        A PufferEnv: observations uint8 ``(num_envs, 64, 64, 3)`` (RGB), actions int32
        ``(num_envs,)`` in ``Discrete(15)``, rewards float32. Episodes end with
        ``terminals`` True on the step whose observation is already the next episode's first
        (gym3 resets in the same step); timeouts are reported as terminals too (gym3 does
        not tell them apart); truncations stay False.

    Raises:
        APIUsageError: unknown game, a bad option, ``num_workers`` not dividing ``num_envs``.
        EnvironmentSetupError: procgen missing (install line in the message).
    """
    from pufferlib.environments import resolve_name
    num_envs = check_int("num_envs", num_envs, 1)
    game = resolve_name(name, env_names(), "procgen")
    if distribution_mode not in DISTRIBUTION_MODES:
        raise APIUsageError(f"distribution_mode must be one of {DISTRIBUTION_MODES}, got {distribution_mode!r}")
    options = dict(distribution_mode=distribution_mode, num_levels=check_int("num_levels", num_levels, 0),
                   start_level=check_int("start_level", start_level, 0))
    vector_keys = _vector_keys()
    options.update({k: v for k, v in kwargs.items() if k not in vector_keys})
    vec_kwargs = {k: v for k, v in kwargs.items() if k in vector_keys}
    if backend is None or (isinstance(backend, str) and backend.lower() == "native"):
        if vec_kwargs or num_workers is not None:
            raise APIUsageError(f"procgen: {sorted(vec_kwargs) + (['num_workers'] if num_workers else [])} need "
                                "backend='Serial' / 'Multiprocessing' / 'Ray'")
        return ProcgenVector(game, num_envs, seed=seed, **options)
    from pufferlib import vector
    instances = 1 if num_workers is None else check_int("num_workers", num_workers, 1)
    if num_envs % instances:
        raise APIUsageError(f"procgen: num_workers={instances} must divide num_envs={num_envs}")
    return vector.make(ProcgenVector, env_args=[game], env_kwargs=dict(num_envs=num_envs // instances, **options),
                       backend=backend, num_envs=instances, num_workers=num_workers, seed=seed, **vec_kwargs)


def _vector_keys():
    from pufferlib.emulation.factories import VECTOR_OPTIONS
    return VECTOR_OPTIONS - {"num_workers", "seed"}


class ProcgenVector(PufferEnv):
    """``num_envs`` Procgen games in one ``procgen.ProcgenGym3Env``, as a PufferEnv.

    Args:
        game: a Procgen game name (``'coinrun'``).
        num_envs: environments (``num_agents = num_envs``).
        buf: buffers from a vectorizer. seed: seed of the first reset.
        **options: ``procgen.ProcgenGym3Env`` options (``distribution_mode``, ``num_levels``, ...).

    ``reset(seed)`` rebuilds the gym3 env with ``rand_seed=seed`` (the whole level sequence
    follows from it: same seed and actions, same observations); seeds must be < 2**31. Actions: int ``(num_envs,)``
    in ``[0, 15)``, checked (APIUsageError, nothing stepped).
    """

    def __init__(self, game, num_envs=1, buf=None, seed=0, **options):
        from pufferlib.spaces import Box, Discrete
        self.num_envs = check_int("num_envs", num_envs, 1)
        self.num_agents = self.num_envs
        self.game, self._options, self._seed = game, options, check_int("seed", seed, 0, 2**31 - 1)
        self._env = self._build(self._seed)          # checks the options now, not at the first reset
        shape = self._env.ob_space["rgb"].shape
        self.single_observation_space = Box(0, 255, shape, np.uint8)
        self.single_action_space = Discrete(int(self._env.ac_space.eltype.n))
        super().__init__(buf)
        self._fresh = True
        self._initialized = False
        self._episode_return = np.zeros(self.num_envs, np.float64)
        self._episode_length = np.zeros(self.num_envs, np.int64)

    def _build(self, seed):
        from procgen import ProcgenGym3Env
        try:
            return ProcgenGym3Env(num=self.num_envs, env_name=self.game, rand_seed=int(seed), **self._options)
        except TypeError as exc:
            raise APIUsageError(f"procgen rejected the options {self._options}: {exc}") from exc

    def reset(self, seed=None):
        """Start new episodes in every env (gym3 cannot reset an env in place, so the gym3 env is
        rebuilt with ``rand_seed=seed``; ``seed=None``: the constructor's seed on the first call,
        later a seed drawn from a generator seeded by the last seed). Returns ``(observations, [])``."""
        if seed is None:
            seed = self._seed if not self._initialized else int(self._stream.integers(2**31))
        seed = check_int("seed", seed, 0, 2**31 - 1)
        if not self._fresh or seed != self._seed:
            self._env = self._build(seed)
        self._fresh = False
        self._seed = seed
        self._stream = np.random.default_rng(seed)
        _, obs, _ = self._env.observe()
        self.observations[...] = obs["rgb"]
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        self._episode_return[:] = 0
        self._episode_length[:] = 0
        self._initialized = True
        return self.observations, []

    def step(self, actions):
        """Step every env; returns ``(observations, rewards, terminals, truncations, infos)``,
        infos one ``{'episode_return', 'episode_length'}`` per episode that ended."""
        from pufferlib.spaces import check_actions
        if not self._initialized:
            raise APIUsageError("step() called before reset(): call reset() first")
        actions = check_actions(self.single_action_space, actions, self.num_agents)
        self._env.act(np.asarray(actions, np.int32))
        rewards, obs, first = self._env.observe()
        self.observations[...] = obs["rgb"]
        self.rewards[:] = rewards
        self.terminals[:] = first
        self._episode_return += rewards
        self._episode_length += 1
        infos = []
        for i in np.flatnonzero(first):
            infos.append({"episode_return": float(self._episode_return[i]),
                          "episode_length": int(self._episode_length[i])})
            self._episode_return[i] = 0
            self._episode_length[i] = 0
        return self.observations, self.rewards, self.terminals, self.truncations, infos
