"""PufferEnvs as Gymnasium envs, Gymnasium vector envs and Stable-Baselines3 vector envs.

- :class:`GymnasiumEnv`: a single-agent PufferEnv (``num_agents == 1``) as a ``gymnasium.Env``.
  Every Ocean env is registered with Gymnasium as ``pufferlib/<Class>-v0`` (``CartPole``,
  ``Squared``, ``Snake``, ... as ``puffer list`` shows them) when ``pufferlib`` is imported,
  so ``gymnasium.make("pufferlib/CartPole-v0")`` works after ``import pufferlib``, and
  ``gymnasium.make("pufferlib:pufferlib/CartPole-v0")`` (Gymnasium's ``module:id`` form)
  works without it. Gymnasium 1.x loads no plugin entry points, so this is Gymnasium's one
  documented way for a third-party package to register envs.
- :class:`GymnasiumVectorEnv`: any PufferEnv (native, emulated or vectorized) as a
  ``gymnasium.vector.VectorEnv`` with one sub-env per agent (``num_envs = num_agents``).
  ``gymnasium.make_vec("pufferlib/Snake-v0", num_envs=N)`` builds one (N agents).
- :class:`SB3VecEnv`: any PufferEnv as a Stable-Baselines3 ``VecEnv`` (needs
  ``pip install 'pufferlib-numba[sb3]'``; imported on first use).

Auto-reset. Native PufferEnvs (every Ocean env) reset finished episodes themselves, inside
``step``: the observation returned with ``terminal`` or ``truncation`` True is already the
first observation of the next episode, and the last observation of the finished episode is
not kept anywhere. So :class:`GymnasiumVectorEnv` declares
``AutoresetMode.SAME_STEP`` but gives no ``infos["final_obs"]``, and :class:`SB3VecEnv`
gives no ``infos[i]["terminal_observation"]`` for native envs (SB3 then does not bootstrap
the value of truncated episodes). Emulated envs (:func:`pufferlib.emulate`) do keep it:
:class:`SB3VecEnv` over a single emulated env resets it itself and passes the final
observation as ``terminal_observation``. A vectorized env of emulated envs resets finished
instances on the *next* step (:mod:`pufferlib.vector`): :class:`GymnasiumVectorEnv`
declares ``AutoresetMode.NEXT_STEP`` for it, and :class:`SB3VecEnv` refuses it (SB3 needs
same-step resets).

Logs. What a PufferEnv reports in ``infos`` (Ocean envs: per-episode means over all envs
every ``log_interval`` steps; emulated envs: the wrapped env's info dicts) is passed on
as a list of dicts under the key ``"logs"``: in the info dict (:class:`GymnasiumEnv`,
:class:`GymnasiumVectorEnv`) or in ``infos[0]`` (:class:`SB3VecEnv`), on the steps that
report it.
"""
from __future__ import annotations

import numpy as np
import gymnasium
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from pufferlib.environment import PufferEnv
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
from pufferlib.spaces import check_actions

__all__ = ["GymnasiumEnv", "GymnasiumVectorEnv", "SB3VecEnv", "gymnasium_id", "register_gymnasium_envs"]

#: Gymnasium namespace of the Ocean envs: ``pufferlib/<Class>-v0``.
NAMESPACE = "pufferlib"
_SEED_HIGH = 2**31  # seeds drawn for unseeded resets (any PufferEnv takes them)


def _is_vector(env) -> bool:
    from pufferlib.vector.common import _VecEnv
    return isinstance(env, _VecEnv)


def _check_puffer_env(env, adapter):
    if not (isinstance(env, PufferEnv) or _is_vector(env)):
        raise APIUsageError(
            f"{adapter} wraps a PufferEnv instance (native, emulated or vectorized), got "
            f"{type(env).__module__}.{type(env).__qualname__}; wrap Gymnasium / PettingZoo envs with "
            "pufferlib.emulate(env) first, or build one with pufferlib.make(name)")
    batch = getattr(env, "agents_per_batch", env.num_agents)
    if batch != env.num_agents:
        raise APIUsageError(
            f"{adapter} steps every agent on each call; this vectorized env returns batches of {batch} of "
            f"{env.num_agents} agents (batch_size < num_envs). Build it without batch_size")


def _logs(infos) -> dict:
    return {"logs": list(infos)} if infos else {}


def _make_ocean(env_name, num_envs, kwargs):
    from pufferlib.registry import make
    return make(env_name, num_envs=num_envs, **kwargs)


def _new_episode_seed(gym_env) -> int:
    """Seed of an unseeded reset: drawn from the adapter's ``np_random`` (seeded by the last
    ``reset(seed=...)``), so ``reset(seed=s)`` then ``reset()`` is reproducible and
    successive unseeded resets start different episodes."""
    return int(gym_env.np_random.integers(0, _SEED_HIGH))


class GymnasiumEnv(gymnasium.Env):
    """A single-agent PufferEnv as a ``gymnasium.Env``.

    Args:
        env: a PufferEnv instance with ``num_agents == 1`` (native or emulated), or None to
            build one from ``env_name``.
        env_name: a :func:`pufferlib.make` name (``"cartpole"``, ``"puffer_squared"``,
            ``"gym-..."``), built with ``num_envs=1`` and ``**env_kwargs``.

    Spaces: ``observation_space`` / ``action_space`` are the env's ``single_`` spaces.
    ``reset(seed=None, options=None) -> (observation, info)``;
    ``step(action) -> (observation, reward, terminated, truncated, info)`` with ``observation``
    a copy of the env's one row (``single_observation_space.shape``, its dtype), ``reward`` a
    float, ``terminated`` / ``truncated`` bools and ``info`` a dict (``{"logs": [...]}`` on
    steps where the env reports logs, else ``{}``). ``action``: an int for Discrete, an array
    of the action space's shape otherwise; it is validated, never cast or clipped.

    Episodes. An Ocean env starts the next episode inside the ``step`` that ends one: the
    observation returned with ``terminated`` or ``truncated`` is already the next episode's
    first one (not the final observation). Calling ``reset()`` then, as Gymnasium code does,
    starts yet another episode; stepping on without ``reset()`` also works. An emulated env
    needs the ``reset()``. ``reset()`` without a seed draws the episode's seed from
    ``self.np_random`` (seeded by the last ``reset(seed=...)``), so episodes differ.

    Raises:
        pufferlib.APIUsageError: ``env`` is not a PufferEnv or has several agents (then use
            :class:`GymnasiumVectorEnv` / ``gymnasium.make_vec``, one sub-env per agent), or a
            bad action, seed or ``options``.
    """

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 30}

    def __init__(self, env=None, env_name: str = None, **env_kwargs):
        if (env is None) == (env_name is None):
            raise APIUsageError("GymnasiumEnv takes a PufferEnv instance (env=) or a pufferlib.make name "
                                "(env_name=), exactly one")
        if env is None:
            env = _make_ocean(env_name, 1, env_kwargs)
        elif env_kwargs:
            raise APIUsageError(f"env_kwargs {sorted(env_kwargs)} apply only with env_name=")
        try:
            _check_puffer_env(env, "GymnasiumEnv")
            if _is_vector(env) or env.num_agents != 1:
                label = f"pufferlib/{type(env).__name__}-v0" if env_name is not None else type(env).__name__
                raise APIUsageError(
                    f"{label} has num_agents={env.num_agents}; a gymnasium.Env has one agent. Use "
                    f"gymnasium.make_vec('{label}', num_envs=N) or pufferlib.adapters.GymnasiumVectorEnv(env) "
                    "(one sub-env per agent), or an env configuration with one agent")
        except APIUsageError:
            if env_name is not None:
                env.close()
            raise
        self.env = env
        self.observation_space = env.single_observation_space
        self.action_space = env.single_action_space
        self.render_mode = getattr(env, "render_mode", None)

    def reset(self, seed=None, options=None):
        """Reset; see the class docstring. Raises APIUsageError for non-empty ``options``."""
        if options:
            raise APIUsageError(f"PufferEnvs take no reset options, got {options!r}")
        super().reset(seed=seed)
        obs, infos = self.env.reset(_new_episode_seed(self) if seed is None else seed)
        return obs[0].copy(), _logs(infos)

    def step(self, action):
        """Step the one agent; see the class docstring."""
        env = self.env
        a = check_actions(env.single_action_space, action, 1, allow_unbatched=True)
        obs, rewards, terminals, truncations, infos = env.step(a)
        return obs[0].copy(), float(rewards[0]), bool(terminals[0]), bool(truncations[0]), _logs(infos)

    def render(self):
        """The env's ``render()`` (``render_mode`` given to the constructor)."""
        return self.env.render()

    def close(self):
        """Close the PufferEnv."""
        self.env.close()


class GymnasiumVectorEnv(VectorEnv):
    """Any PufferEnv as a ``gymnasium.vector.VectorEnv``, one sub-env per agent.

    Args:
        env: a PufferEnv instance: native (``num_envs`` here = its ``num_agents``), emulated, or
            vectorized (:func:`pufferlib.vector.make`, without asynchronous batches).
        copy: True (default, as Gymnasium's ``SyncVectorEnv``): ``reset`` / ``step`` return a new
            observations array each call. False: they return the env's observation buffer
            itself (zero copy), overwritten by the next call. Rewards, terminations and
            truncations are always copies.

    Attributes:
        num_envs: ``env.num_agents``. single_observation_space, single_action_space: the env's.
        observation_space, action_space: ``gymnasium.vector.utils.batch_space`` of them (a Box
            of shape ``(num_envs, *obs_shape)``; ``MultiDiscrete([n] * num_envs)`` for Discrete).
        metadata["autoreset_mode"]: ``AutoresetMode.SAME_STEP`` for native envs and vectorized
            native envs (no ``infos["final_obs"]``: see the module docstring),
            ``AutoresetMode.NEXT_STEP`` for emulated envs (the step after an end resets that
            sub-env: reward 0, not terminated, not truncated, and its action is ignored).
        env: the PufferEnv.

    ``reset(seed=None, options=None)``: ``seed`` an int (every PufferEnv seeds its envs from
    it) or None (a seed drawn from ``self.np_random``). ``step(actions)``: ``actions`` of shape
    ``(num_envs, *action_shape)``, validated (never cast or clipped). Infos are a dict,
    ``{"logs": [...]}`` on steps where the env reports logs (not per sub-env).

    Raises:
        pufferlib.APIUsageError: ``env`` is not a PufferEnv instance, or has asynchronous
            batches; a list of seeds, or ``options``; bad actions.
    """

    def __init__(self, env, copy: bool = True):
        _check_puffer_env(env, "GymnasiumVectorEnv")
        self.env = env
        self.copy = bool(copy)
        self.num_envs = int(env.num_agents)
        self.single_observation_space = env.single_observation_space
        self.single_action_space = env.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._emulated = bool(env.emulated)
        self._resets_itself = self._emulated and not _is_vector(env)  # a single emulated env
        mode = AutoresetMode.NEXT_STEP if self._emulated else AutoresetMode.SAME_STEP
        self.metadata = {"autoreset_mode": mode, "render_modes": ["rgb_array", "ansi"]}
        self.render_mode = getattr(env, "render_mode", None)

    def reset(self, seed=None, options=None):
        """Reset every sub-env; returns ``(observations, infos)``."""
        if options:
            raise APIUsageError(f"PufferEnvs take no reset options, got {options!r}")
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise APIUsageError(f"seed must be an int or None (a PufferEnv seeds all its envs from one int), "
                                f"got {seed!r}")
        super().reset(seed=seed)
        obs, infos = self.env.reset(_new_episode_seed(self) if seed is None else seed)
        return (obs.copy() if self.copy else obs), _logs(infos)

    def step(self, actions):
        """Step every sub-env; returns ``(observations, rewards, terminations, truncations, infos)``."""
        env = self.env
        if self._resets_itself and env.done:
            obs, infos = env.reset()
            rewards, terminals, truncations = env.rewards, env.terminals, env.truncations
            rewards[:], terminals[:], truncations[:] = 0, False, False
        else:
            obs, rewards, terminals, truncations, infos = env.step(actions)
        return ((obs.copy() if self.copy else obs), rewards.copy(), terminals.copy(), truncations.copy(),
                _logs(infos))

    def render(self):
        """The env's ``render()``."""
        return self.env.render()

    def close_extras(self, **kwargs):
        """Close the PufferEnv."""
        self.env.close()


def _make_vector(num_envs: int = 1, env_name: str = None, **kwargs) -> GymnasiumVectorEnv:
    """``gymnasium.make_vec``'s entry point: an Ocean env with ``num_envs`` agents in all.

    A single-agent env gets ``num_envs`` envs; an env with ``A`` agents per env (with these
    kwargs) gets ``num_envs / A`` envs, and ``num_envs`` must be a multiple of ``A``.
    """
    if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
        raise APIUsageError(f"num_envs must be an int >= 1 (the number of agents), got {num_envs!r}")
    probe = _make_ocean(env_name, 1, kwargs)
    agents = probe.num_agents
    if agents == 1 and num_envs == 1:
        return GymnasiumVectorEnv(probe)
    probe.close()
    if num_envs % agents:
        raise APIUsageError(
            f"pufferlib/{type(probe).__name__}-v0 has {agents} agents per env with these arguments; each agent is "
            f"a sub-env of the vector env, so num_envs must be a multiple of {agents} (got {num_envs}), or "
            "change the env's agent count")
    return GymnasiumVectorEnv(_make_ocean(env_name, num_envs // agents, kwargs))


def gymnasium_id(name: str) -> str:
    """The Gymnasium id of Ocean env ``name`` (``"snake"`` -> ``"pufferlib/Snake-v0"``)."""
    from pufferlib.ocean import ENVS, canonical_name
    return f"{NAMESPACE}/{ENVS[canonical_name(name)][1]}-v0"


def register_gymnasium_envs() -> list:
    """Register every Ocean env with Gymnasium as ``pufferlib/<Class>-v0`` (run on ``import
    pufferlib``; ids already registered are left alone). Imports no env module.

    ``gymnasium.make(id, **kwargs)`` builds a :class:`GymnasiumEnv` over the env with
    ``num_envs=1`` (kwargs go to the env's constructor); ``gymnasium.make_vec(id,
    num_envs=N, **kwargs)`` a :class:`GymnasiumVectorEnv` of N agents. Returns the ids.
    """
    from pufferlib.ocean import ENVS
    ids = []
    for name in ENVS:
        env_id = gymnasium_id(name)
        ids.append(env_id)
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(env_id, entry_point=f"{__name__}:GymnasiumEnv",
                           vector_entry_point=f"{__name__}:_make_vector", kwargs={"env_name": name},
                           disable_env_checker=False)
    return ids


# ---- Stable-Baselines3 ----------------------------------------------------------------------
_SB3_CLASS = None


def _sb3_class():
    global _SB3_CLASS
    if _SB3_CLASS is not None:
        return _SB3_CLASS
    try:
        from stable_baselines3.common.vec_env import VecEnv
    except ImportError as exc:
        raise EnvironmentSetupError("SB3VecEnv needs Stable-Baselines3: pip install 'pufferlib-numba[sb3]' "
                                    f"(or pip install stable-baselines3); import failed: {exc}") from exc

    class _SB3VecEnv(SB3VecEnv, VecEnv):
        def __init__(self, env):
            _check_puffer_env(env, "SB3VecEnv")
            if env.emulated and _is_vector(env):
                raise APIUsageError(
                    "SB3VecEnv needs envs that reset in the step that ends an episode; a vectorized env of "
                    "emulated envs resets them on the next step. Pass the emulated env itself "
                    "(pufferlib.emulate(gym_env)) or use SB3's DummyVecEnv over the Gymnasium envs")
            self.env = env
            self._resets_itself = bool(env.emulated)  # a single emulated env: reset it here
            self._actions = None
            VecEnv.__init__(self, int(env.num_agents), env.single_observation_space, env.single_action_space)

        def reset(self):
            seed = self._seeds[0]
            obs, infos = self.env.reset(seed)
            self.reset_infos = [{} for _ in range(self.num_envs)]
            if infos:
                self.reset_infos[0] = _logs(infos)
            self._reset_seeds()
            self._reset_options()
            return obs.copy()

        def step_async(self, actions):
            self._actions = actions

        def step_wait(self):
            env = self.env
            obs, rewards, terminals, truncations, logs = env.step(self._actions)
            terminals, truncations = terminals.copy(), truncations.copy()
            dones = terminals | truncations
            infos = [{} for _ in range(self.num_envs)]
            for i in np.flatnonzero(dones):
                infos[i]["TimeLimit.truncated"] = bool(truncations[i] and not terminals[i])
            if self._resets_itself and env.done:
                for i in np.flatnonzero(dones):
                    infos[i]["terminal_observation"] = obs[i].copy()
                obs, reset_logs = env.reset()
                logs = list(logs) + list(reset_logs)
            if logs:
                infos[0].update(_logs(logs))
            return obs.copy(), rewards.copy(), dones, infos

        def close(self):
            self.env.close()

        def _indices(self, indices):
            if indices is None:
                return range(self.num_envs)
            return [indices] if isinstance(indices, (int, np.integer)) else indices

        def get_attr(self, attr_name, indices=None):
            value = getattr(self.env, attr_name)
            return [value for _ in self._indices(indices)]

        def set_attr(self, attr_name, value, indices=None):
            setattr(self.env, attr_name, value)

        def env_method(self, method_name, *method_args, indices=None, **method_kwargs):
            result = getattr(self.env, method_name)(*method_args, **method_kwargs)
            return [result for _ in self._indices(indices)]

        def env_is_wrapped(self, wrapper_class, indices=None):
            return [False for _ in self._indices(indices)]

    _SB3_CLASS = _SB3VecEnv
    return _SB3VecEnv


class SB3VecEnv:
    """Any PufferEnv as a Stable-Baselines3 ``VecEnv``, one SB3 env per agent.

    ``SB3VecEnv(env)`` returns an instance of a subclass of both this class and
    ``stable_baselines3.common.vec_env.VecEnv`` (SB3 is imported on first use).

    Args:
        env: a PufferEnv instance: native (every Ocean env), a single emulated env, or a
            vectorized env of native envs (:func:`pufferlib.vector.make`, no asynchronous batches).

    What SB3 gets: ``num_envs = env.num_agents``; ``observation_space`` / ``action_space`` the
    env's single spaces; ``reset()`` and ``step_wait()`` return copies of the observations
    (SB3 keeps the previous batch while the next is written); ``dones = terminals |
    truncations``; ``infos[i]["TimeLimit.truncated"]`` for finished sub-envs (truncated and not
    terminated); ``infos[0]["logs"]``: the env's log reports on steps that have them.
    ``infos[i]["terminal_observation"]`` only for a single emulated env: native envs reset
    inside ``step`` and keep no final observation (see the module docstring). ``seed(s)``
    applies to the next ``reset()`` (the env seeds all its envs from ``s``); ``reset()``
    without one uses the env's own default seed. ``get_attr`` / ``env_method`` act on the one
    PufferEnv behind all sub-envs and return its result once per index; ``set_attr`` sets it
    for all.

    Raises:
        pufferlib.EnvironmentSetupError: Stable-Baselines3 is not installed.
        pufferlib.APIUsageError: ``env`` is not a PufferEnv instance, has asynchronous batches,
            or is a vectorized env of emulated envs (they reset on the next step; SB3 needs
            same-step resets).
    """

    def __new__(cls, *args, **kwargs):
        if cls is SB3VecEnv:
            cls = _sb3_class()
        return super().__new__(cls)
