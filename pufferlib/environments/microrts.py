"""MicroRTS (Gym-μRTS, https://github.com/Farama-Foundation/MicroRTS-Py): a small real-time
strategy game against built-in bots: ``pufferlib.make('microrts-bases-workers-16x16', num_envs=8)``.

The game runs in Java (through JPype) and is natively vectorized by gym-microrts' grid-mode
client (one action per map cell, Huang et al. 2021, https://arxiv.org/abs/2105.13807).
:class:`MicroRTSVector` wraps it as one PufferEnv with ``num_agents = num_envs``; it encodes
observations itself (gym-microrts' own encoder uses ``np.int``, which numpy 1.24 removed).

Install: a Java runtime (``apt-get install default-jre-headless``), then
``pip install 'pufferlib-numba[microrts]' && pip install --no-deps gym-microrts`` (its
declared dependencies pin an old gym that does not build) and ``pip install pillow``.
"""
from __future__ import annotations

import os
import shutil

import numpy as np

from pufferlib.checks import check_int
from pufferlib.environment import PufferEnv
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

REQUIRES = ("gym_microrts", "jpype", "gym", "PIL")
INSTALL = ("pip install 'pufferlib-numba[microrts]' && pip install --no-deps gym-microrts "
           "(and a Java runtime: apt-get install default-jre-headless)")
DESCRIPTION = "MicroRTS real-time strategy vs built-in bots (Java via JPype, grid actions): microrts-<map>"

#: Per-cell action components: type, move / harvest / return / produce directions, unit type, attack target.
CELL_ACTIONS = (6, 4, 4, 4, 4, 7, 49)
#: Reward weights of gym-microrts' six reward functions (win/loss, resources gathered, workers,
#: buildings, attacks, combat units), as in its PPO baselines.
REWARD_WEIGHT = (10.0, 1.0, 1.0, 0.2, 1.0, 4.0)
#: Bots available as ``opponent=``.
OPPONENTS = ("coacAI", "randomBiasedAI", "randomAI", "passiveAI", "workerRushAI", "lightRushAI",
             "naiveMCTSAI", "mixedBot", "rojo", "izanagi", "tiamat", "droplet", "guidedRojoA3N")


def _maps_dir():
    import importlib.util
    spec = importlib.util.find_spec("gym_microrts")
    return os.path.join(os.path.dirname(spec.origin), "microrts")


def env_names() -> list:
    """Every map shipped with gym-microrts, as ``'maps/16x16/basesWorkers16x16'`` (the file
    ``maps/16x16/basesWorkers16x16.xml`` in its ``microrts`` folder)."""
    root = _maps_dir()
    out = []
    for folder, _, files in os.walk(os.path.join(root, "maps")):
        out += [os.path.relpath(os.path.join(folder, f[:-4]), root) for f in files if f.endswith(".xml")]
    return sorted(out)


def _java_missing():
    return shutil.which("java") is None and not os.environ.get("JAVA_HOME")


def make(name: str = "bases-workers-16x16", num_envs: int = 1, *, opponent: str = "coacAI",
         max_steps: int = 2000, reward_weight=REWARD_WEIGHT, backend=None, num_workers=None, seed: int = 0,
         **kwargs):
    """A MicroRTS map against a bot as a PufferEnv with ``num_agents = num_envs``.

    Args:
        name: a map, by file name (``'bases-workers-16x16'`` for
            ``maps/16x16/basesWorkers16x16.xml``; :func:`env_names` lists them); the default
            is the 16x16 map of the Gym-μRTS paper.
        num_envs: games, each against ``opponent``.
        opponent: one of :data:`OPPONENTS` (default ``'coacAI'``, the 2020 competition winner).
        max_steps: game length in steps before a draw (default 2000).
        reward_weight: six weights of the shaped rewards (default :data:`REWARD_WEIGHT`).
        backend, num_workers: as in ``procgen``: ``num_workers`` instances of
            ``num_envs // num_workers`` games through :func:`pufferlib.vector.make` (each
            Multiprocessing worker starts its own JVM).
        seed: accepted for the common interface; MicroRTS games are not seeded.
        **kwargs: options of :func:`pufferlib.vector.make` (with a backend).

    Returns:
        A PufferEnv: observations uint8 ``(num_envs, H, W, 27)`` (one-hot feature planes:
        hit points, resources, owner, unit type, current action), actions int32
        ``(num_envs, H * W * 7)`` in ``MultiDiscrete`` (:data:`CELL_ACTIONS` for each cell,
        row-major); invalid unit actions are ignored by the game; ``env.action_masks()`` gives
        the valid ones. A finished game is reset in the same step (``terminals`` True).

    Raises:
        APIUsageError: unknown map or opponent, bad options.
        EnvironmentSetupError: no Java runtime, or the packages missing (install line).
    """
    from pufferlib.environments import resolve_name
    num_envs = check_int("num_envs", num_envs, 1)
    map_path = resolve_name(name, env_names(), "microrts") + ".xml"
    if opponent not in OPPONENTS:
        raise APIUsageError(f"opponent must be one of {OPPONENTS}, got {opponent!r}")
    weights = np.asarray(reward_weight, np.float64)
    if weights.shape != (6,) or not np.isfinite(weights).all():
        raise APIUsageError(f"reward_weight must be 6 finite numbers, got {reward_weight!r}")
    if _java_missing():
        raise EnvironmentSetupError("MicroRTS runs in Java and no Java runtime was found (java not on PATH, "
                                    "JAVA_HOME unset): apt-get install default-jre-headless")
    options = dict(map_path=map_path, opponent=opponent, max_steps=check_int("max_steps", max_steps, 1),
                   reward_weight=tuple(float(w) for w in weights))
    if backend is None or (isinstance(backend, str) and backend.lower() == "native"):
        if kwargs or num_workers is not None:
            raise APIUsageError(f"microrts: {sorted(kwargs) + (['num_workers'] if num_workers else [])} need a "
                                "backend ('Serial' / 'Multiprocessing'), or are not options of microrts")
        return MicroRTSVector(num_envs, seed=seed, **options)
    from pufferlib import vector
    instances = 1 if num_workers is None else check_int("num_workers", num_workers, 1)
    if num_envs % instances:
        raise APIUsageError(f"microrts: num_workers={instances} must divide num_envs={num_envs}")
    return vector.make(MicroRTSVector, env_kwargs=dict(num_envs=num_envs // instances, **options), backend=backend,
                       num_envs=instances, num_workers=num_workers, seed=seed, **kwargs)


class MicroRTSVector(PufferEnv):
    """``num_envs`` MicroRTS games in one gym-microrts grid-mode client, as a PufferEnv.

    Args: see :func:`make` (``map_path`` relative to gym-microrts' ``microrts`` folder).
    The JVM is started once per process and stays up after :meth:`close` (JPype cannot
    restart it).
    """

    def __init__(self, num_envs=1, map_path="maps/16x16/basesWorkers16x16.xml", opponent="coacAI",
                 max_steps=2000, reward_weight=REWARD_WEIGHT, buf=None, seed=0):
        from gym_microrts import microrts_ai
        from gym_microrts.envs.vec_env import MicroRTSGridModeVecEnv

        from pufferlib.spaces import Box, MultiDiscrete
        self.num_envs = check_int("num_envs", num_envs, 1)
        self.num_agents = self.num_envs
        bot = getattr(microrts_ai, opponent)
        self._vec = MicroRTSGridModeVecEnv(num_selfplay_envs=0, num_bot_envs=self.num_envs, max_steps=max_steps,
                                           ai2s=[bot] * self.num_envs, map_path=map_path,
                                           reward_weight=np.asarray(reward_weight, np.float64))
        self.height, self.width = self._vec.height, self._vec.width
        self._planes = np.asarray(self._vec.num_planes)
        self._offsets = np.concatenate([[0], np.cumsum(self._planes)[:-1]])
        cells = self.height * self.width
        self.single_observation_space = Box(0, 1, (self.height, self.width, int(self._planes.sum())), np.uint8)
        self.single_action_space = MultiDiscrete(np.tile(CELL_ACTIONS, cells))
        super().__init__(buf)
        self._weights = np.asarray(reward_weight, np.float64)
        self._players = [0] * self.num_envs
        self._initialized = False
        self._episode_return = np.zeros(self.num_envs)
        self._episode_length = np.zeros(self.num_envs, np.int64)

    def _encode(self, raw):
        # raw: (num_envs, len(planes), H * W) feature indices -> one-hot (num_envs, H, W, sum(planes)).
        raw = np.asarray(raw).reshape(self.num_envs, len(self._planes), -1)
        raw = np.clip(raw, 0, self._planes[None, :, None] - 1) + self._offsets[None, :, None]
        obs = self.observations.reshape(self.num_envs, self.height * self.width, -1)
        obs[...] = 0
        np.put_along_axis(obs, raw.transpose(0, 2, 1), 1, axis=2)

    def reset(self, seed=None):
        """Restart every game (``seed`` is accepted and ignored: MicroRTS is not seeded)."""
        responses = self._vec.vec_client.reset(self._players)
        self._encode(responses.observation)
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        self._episode_return[:] = 0
        self._episode_length[:] = 0
        self._initialized = True
        return self.observations, []

    def action_masks(self):
        """Valid actions: int array ``(num_envs, H, W, 1 + sum(CELL_ACTIONS))`` (first entry:
        whether the cell holds a unit of ours that can act), from gym-microrts."""
        return np.asarray(self._vec.vec_client.getMasks(0))

    def step(self, actions):
        from pufferlib.spaces import check_actions
        if not self._initialized:
            raise APIUsageError("step() called before reset(): call reset() first")
        actions = check_actions(self.single_action_space, actions, self.num_agents)
        cells = np.ascontiguousarray(np.asarray(actions, np.int32).reshape(self.num_envs, -1, len(CELL_ACTIONS)))
        responses = self._vec.vec_client.gameStep(cells, self._players)
        self._encode(responses.observation)
        rewards = np.asarray(responses.reward) @ self._weights
        done = np.asarray(responses.done)[:, 0]
        self.rewards[:] = rewards
        self.terminals[:] = done
        self._episode_return += rewards
        self._episode_length += 1
        infos = []
        for i in np.flatnonzero(done):
            infos.append({"episode_return": float(self._episode_return[i]),
                          "episode_length": int(self._episode_length[i])})
            self._episode_return[i] = 0
            self._episode_length[i] = 0
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def close(self):
        vec, self._vec = getattr(self, "_vec", None), None
        if vec is not None:
            vec.vec_client.close()
