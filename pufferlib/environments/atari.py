"""Atari 2600 games through the Arcade Learning Environment (``ale-py``, ROMs bundled):
``pufferlib.make('atari-pong', num_envs=128)``.

Two ways to run, same observations and actions:

- native (the default, ``backend=None`` or ``'Native'``): :class:`AtariVector`, one
  PufferEnv over ``ale_py.vector_env.AtariVectorEnv``, ALE's threaded C++ vector env that
  does the frame skip, max-pooling, resizing and frame stacking itself;
- emulated (``backend='Serial'``, ``'Multiprocessing'`` or ``'Ray'``, or an option only
  Gymnasium's env has: ``render_mode``, ``mode``, ``difficulty``): ``gymnasium.make('ALE/<Game>-v5')``
  wrapped in ``gymnasium.wrappers.AtariPreprocessing`` (needs ``opencv-python-headless``) and
  ``FrameStackObservation``, then :class:`pufferlib.emulation.GymnasiumPufferEnv`, one per env,
  vectorized by :func:`pufferlib.vector.make`.

Defaults follow Machado et al., "Revisiting the Arcade Learning Environment" (JAIR 2018,
https://arxiv.org/abs/1709.06009) and the usual DQN preprocessing: see :func:`make`.
"""
from __future__ import annotations

import functools

import numpy as np

from pufferlib.checks import check_int
from pufferlib.environment import PufferEnv
from pufferlib.exceptions import APIUsageError

REQUIRES = ("ale_py", "cv2")
INSTALL = "pip install 'pufferlib-numba[atari]'"
DESCRIPTION = "Atari 2600 games (ale-py, ROMs bundled): atari-pong, atari-breakout, ..."

#: Keywords only the emulated path accepts (``gymnasium.make('ALE/...')`` arguments).
EMULATED_ONLY = ("render_mode", "mode", "difficulty")


def _ale_ids() -> list:
    import ale_py
    import gymnasium
    gymnasium.register_envs(ale_py)
    return sorted(k for k in gymnasium.envs.registry if k.startswith("ALE/"))


def env_names() -> list:
    """Every ALE game id registered with Gymnasium (``'ALE/Pong-v5'``, ...)."""
    return _ale_ids()


def rom_id(env_id: str) -> str:
    """ALE's ROM name for a Gymnasium id: ``'ALE/MontezumaRevenge-v5'`` -> ``'montezuma_revenge'``."""
    from ale_py import roms

    from pufferlib.environments import name_key
    key = name_key(env_id)
    for rom in roms.get_all_rom_ids():
        if name_key(rom) == key:
            return rom
    raise APIUsageError(f"ale-py has no ROM for {env_id!r}")


def _check_options(frameskip, framestack, repeat_action_probability, noop_max, screen_size,
                   grayscale, episodic_life, reward_clipping, max_episode_frames):
    check_int("frameskip", frameskip, 1)
    check_int("framestack", framestack, 1)
    check_int("noop_max", noop_max, 0)
    check_int("max_episode_frames", max_episode_frames, 0)
    if isinstance(repeat_action_probability, bool) or not isinstance(repeat_action_probability, (int, float)) \
            or not 0.0 <= repeat_action_probability <= 1.0:
        raise APIUsageError(f"repeat_action_probability must be a number in [0, 1], got {repeat_action_probability!r}")
    size = (screen_size, screen_size) if isinstance(screen_size, (int, np.integer)) and not isinstance(
        screen_size, bool) else screen_size
    if not (isinstance(size, tuple) and len(size) == 2):
        raise APIUsageError(f"screen_size must be an int or a (height, width) tuple, got {screen_size!r}")
    size = (check_int("screen_size height", size[0], 1), check_int("screen_size width", size[1], 1))
    for flag, value in (("grayscale", grayscale), ("episodic_life", episodic_life),
                        ("reward_clipping", reward_clipping)):
        if not isinstance(value, (bool, np.bool_)):
            raise APIUsageError(f"{flag} must be True or False, got {value!r}")
    return size


def make(name: str, num_envs: int = 1, *, frameskip: int = 4, framestack: int = 4,
         repeat_action_probability: float = 0.25, noop_max: int = 30, screen_size=84,
         grayscale: bool = True, episodic_life: bool = False, reward_clipping: bool = False,
         full_action_space: bool = False, max_episode_frames: int = 108_000, num_threads: int = 1,
         backend=None, **kwargs):
    """An Atari game as a PufferEnv with ``num_agents = num_envs``.

    Args:
        name: the game, as ``'pong'``, ``'Pong'``, ``'montezuma-revenge'`` or ``'ALE/Pong-v5'``
            (see :func:`pufferlib.environments.resolve_name`; names: :func:`env_names`).
        num_envs: environments.
        frameskip: emulator frames per action (default 4); the observation max-pools the
            last two frames.
        framestack: observations stack this many processed frames (default 4).
        repeat_action_probability: sticky actions: each frame, the previous action is
            repeated with this probability (default 0.25, Machado et al. 2018).
        noop_max: a reset takes a random number of no-op actions in ``[0, noop_max]``
            (default 30).
        screen_size: processed frame size, an int (square, default 84) or ``(height, width)``.
        grayscale: grayscale frames (default True); False gives RGB frames.
        episodic_life: end the episode (terminal) at each life lost (default False).
        reward_clipping: rewards clipped to their sign (default False: raw game scores).
        full_action_space: all 18 actions instead of the game's minimal set (default False).
        max_episode_frames: truncate after this many emulator frames (default 108000,
            30 minutes at 60 Hz = 27000 steps at frameskip 4); 0 for no limit.
        num_threads: native path only: ALE worker threads (default 1; 0 = one per core).
        backend: None / ``'Native'`` for :class:`AtariVector`; ``'Serial'``,
            ``'Multiprocessing'`` or ``'Ray'`` for emulated envs vectorized by
            :func:`pufferlib.vector.make`.
        **kwargs: ``seed`` (default seed of the first reset) and, emulated, the options of
            :func:`pufferlib.vector.make` (``num_workers``, ``batch_size``, ...) and
            ``render_mode`` / ``mode`` / ``difficulty`` of ``gymnasium.make('ALE/...')``.

    Returns:
        A PufferEnv: observations uint8 ``(num_envs, framestack, H, W)`` (grayscale) or
        ``(num_envs, framestack, H, W, 3)`` (RGB), actions int32 ``(num_envs,)`` in
        ``Discrete(n)`` (the game's action set), rewards float32. An env that ended is reset
        on the next step (its action ignored; reward 0, terminal and truncation False), and
        the step that ends an episode reports ``{'episode_return', 'episode_length'}`` in infos.

    Raises:
        APIUsageError: unknown game, a bad option, ``num_threads`` with an emulated backend.
        EnvironmentSetupError: ale-py or opencv missing (install line in the message).
    """
    from pufferlib.environments import make_emulated, resolve_name
    num_envs = check_int("num_envs", num_envs, 1)
    env_id = resolve_name(name, _ale_ids(), "atari")
    size = _check_options(frameskip, framestack, repeat_action_probability, noop_max, screen_size,
                          grayscale, episodic_life, reward_clipping, max_episode_frames)
    options = dict(frameskip=frameskip, framestack=framestack,
                   repeat_action_probability=float(repeat_action_probability), noop_max=noop_max,
                   screen_size=size, grayscale=bool(grayscale), episodic_life=bool(episodic_life),
                   reward_clipping=bool(reward_clipping), full_action_space=bool(full_action_space),
                   max_episode_frames=max_episode_frames)
    native = (backend is None or (isinstance(backend, str) and backend.lower() == "native")) \
        and not any(k in kwargs for k in EMULATED_ONLY)
    if native:
        unknown = sorted(set(kwargs) - {"seed", "buf"})
        if unknown:
            raise APIUsageError(
                f"atari (native AtariVectorEnv) does not take {unknown}; vector options such as num_workers need "
                "backend='Serial' / 'Multiprocessing'")
        return AtariVector(rom_id(env_id), num_envs, num_threads=num_threads, **options, **kwargs)
    if num_threads != 1:
        raise APIUsageError("num_threads applies to the native Atari env (backend=None); emulated backends run "
                            "one single-threaded env per instance (use num_workers)")
    gym_kwargs = {k: kwargs.pop(k) for k in EMULATED_ONLY if k in kwargs}
    factory = functools.partial(make_gymnasium_atari, env_id, **options, **gym_kwargs)
    return make_emulated(factory, num_envs, label=f"make('atari-{name}')", backend=backend, **kwargs)


def make_gymnasium_atari(env_id, frameskip=4, framestack=4, repeat_action_probability=0.25, noop_max=30,
                         screen_size=(84, 84), grayscale=True, episodic_life=False, reward_clipping=False,
                         full_action_space=False, max_episode_frames=108_000, **gym_kwargs):
    """One ``gymnasium.Env``: ``gymnasium.make(env_id, frameskip=1, ...)`` with
    ``AtariPreprocessing`` (frame skip with max-pooling, no-op starts, resize, grayscale,
    life loss) and ``FrameStackObservation``, observations ``(framestack, H, W[, 3])`` uint8
    (the same layout as :class:`AtariVector`). Arguments as in :func:`make`."""
    import ale_py
    import gymnasium
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TransformReward
    gymnasium.register_envs(ale_py)
    env = gymnasium.make(env_id, frameskip=1, repeat_action_probability=repeat_action_probability,
                         full_action_space=full_action_space, max_num_frames_per_episode=max_episode_frames,
                         **gym_kwargs)
    height, width = screen_size
    env = AtariPreprocessing(env, noop_max=noop_max, frame_skip=frameskip, screen_size=(width, height),
                             terminal_on_life_loss=episodic_life, grayscale_obs=grayscale)
    if reward_clipping:
        env = TransformReward(env, np.sign)
    return FrameStackObservation(env, framestack)


class AtariVector(PufferEnv):
    """``num_envs`` Atari games stepped by ALE's native vector env (``AtariVectorEnv``) as one PufferEnv.

    Args:
        game: ALE ROM name (``'pong'``, ``'montezuma_revenge'``).
        num_envs: environments (``num_agents = num_envs``).
        frameskip, framestack, repeat_action_probability, noop_max, screen_size (``(H, W)``),
        grayscale, episodic_life, reward_clipping, full_action_space, max_episode_frames:
            as in :func:`make`.
        num_threads: ALE worker threads (0 = one per core).
        buf: buffers from a vectorizer (:func:`pufferlib.set_buffers`).
        seed: seed of the first ``reset()`` without one; env ``i`` is seeded ``seed + i``.

    ``reset(seed=None) -> (observations, infos)``; ``step(actions) -> (observations, rewards,
    terminals, truncations, infos)``, written in place into the buffers. Actions: int
    ``(num_envs,)`` in ``[0, n)``, checked (APIUsageError, nothing stepped). Episodes reset on
    the step after they end (that step's action is ignored and it reports reward 0).
    """

    def __init__(self, game, num_envs=1, *, frameskip=4, framestack=4, repeat_action_probability=0.25,
                 noop_max=30, screen_size=(84, 84), grayscale=True, episodic_life=False, reward_clipping=False,
                 full_action_space=False, max_episode_frames=108_000, num_threads=1, buf=None, seed=0):
        from ale_py.vector_env import AtariVectorEnv
        from pufferlib.spaces import Box, Discrete
        self.num_envs = check_int("num_envs", num_envs, 1)
        num_threads = check_int("num_threads", num_threads, 0)
        self._seed = check_int("seed", seed, 0)
        height, width = screen_size
        self._vec = AtariVectorEnv(
            game, self.num_envs, num_threads=num_threads, frameskip=frameskip, stack_num=framestack,
            repeat_action_probability=repeat_action_probability, noop_max=noop_max, img_height=height,
            img_width=width, grayscale=grayscale, episodic_life=episodic_life, reward_clipping=reward_clipping,
            full_action_space=full_action_space, max_num_frames_per_episode=max_episode_frames,
            use_fire_reset=False, maxpool=True)
        space = self._vec.single_observation_space
        self.single_observation_space = Box(0, 255, space.shape, np.uint8)
        self.single_action_space = Discrete(int(self._vec.single_action_space.n))
        self.num_agents = self.num_envs
        self.game = game
        super().__init__(buf)
        self._episode_return = np.zeros(self.num_envs, np.float64)
        self._episode_length = np.zeros(self.num_envs, np.int64)
        self._ended = np.zeros(self.num_envs, bool)
        self._initialized = False

    def _write(self, obs, rewards=None, terminals=None, truncations=None):
        self.observations[...] = obs
        if rewards is None:
            self.rewards[:] = 0
            self.terminals[:] = False
            self.truncations[:] = False
        else:
            self.rewards[:] = rewards
            self.terminals[:] = terminals
            self.truncations[:] = truncations

    def reset(self, seed=None):
        """Reset every env (env ``i`` seeded ``seed + i``; the constructor's seed when None on the
        first call, ALE's own streams later). Returns ``(observations, [])``."""
        if seed is None and not self._initialized:
            seed = self._seed
        if seed is not None:
            seed = check_int("seed", seed, 0)
        obs, _ = self._vec.reset(seed=seed)
        self._write(obs)
        self._episode_return[:] = 0
        self._episode_length[:] = 0
        self._ended[:] = False
        self._initialized = True
        return self.observations, []

    def step(self, actions):
        """Step every env with ``actions`` (int ``(num_envs,)``). Returns the five buffers' tuple."""
        from pufferlib.spaces import check_actions
        if not self._initialized:
            raise APIUsageError("step() called before reset(): call reset() first")
        actions = check_actions(self.single_action_space, actions, self.num_agents)
        if actions.dtype != np.int32 and actions.dtype != np.int64:
            actions = actions.astype(np.int32)
        obs, rewards, terminals, truncations, _ = self._vec.step(np.ascontiguousarray(actions))
        self._write(obs, rewards, terminals, truncations)
        # An env that ended on the previous step was reset by this one (NEXT_STEP autoreset).
        self._episode_return[self._ended] = 0
        self._episode_length[self._ended] = 0
        self._episode_return += rewards
        self._episode_length += ~self._ended
        ended = np.logical_or(terminals, truncations)
        infos = [{"episode_return": float(self._episode_return[i]), "episode_length": int(self._episode_length[i])}
                 for i in np.flatnonzero(ended)]
        self._ended[:] = ended
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def close(self):
        vec, self._vec = getattr(self, "_vec", None), None
        if vec is not None:
            vec.close()
