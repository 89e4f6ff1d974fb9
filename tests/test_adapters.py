"""``pufferlib.adapters``: Gymnasium registration, ``GymnasiumEnv``, ``GymnasiumVectorEnv``,
``SB3VecEnv``; and the ``repr`` / ``with env:`` of every PufferEnv kind."""
from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from gymnasium.vector import AutoresetMode

import pufferlib
import pufferlib.adapters as adapters
import pufferlib.vector
from pufferlib import APIUsageError, EnvironmentSetupError
from pufferlib.adapters import GymnasiumEnv, GymnasiumVectorEnv, SB3VecEnv
from pufferlib.ocean import ENVS
from pufferlib.ocean.squared import Squared


# ---- registration and gymnasium.make ---------------------------------------------------------
def test_every_ocean_env_is_registered():
    ids = adapters.register_gymnasium_envs()  # idempotent: already done by import pufferlib
    assert ids == [f"pufferlib/{cls}-v0" for _, cls, _ in ENVS.values()]
    assert all(i in gymnasium.registry for i in ids)
    assert adapters.gymnasium_id("puffer_snake") == "pufferlib/Snake-v0"


@pytest.mark.parametrize("env_id", ["pufferlib/CartPole-v0", "pufferlib/Squared-v0", "pufferlib/Continuous-v0"])
def test_single_agent_envs_pass_gymnasium_env_checker(env_id):
    env = gymnasium.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning of the checker fails the test ...
        warnings.filterwarnings("ignore", message=".*infinity.*")  # ... but CartPole's unbounded Box
        warnings.filterwarnings("ignore", category=pytest.PytestUnraisableExceptionWarning)
        gymnasium_check_env(env.unwrapped, skip_render_check=True)
    assert isinstance(env.unwrapped, GymnasiumEnv) and isinstance(env.unwrapped, gymnasium.Env)
    env.close()


def test_module_prefix_registers_without_importing_pufferlib():
    code = ("import gymnasium, sys; assert 'pufferlib' not in sys.modules; "
            "env = gymnasium.make('pufferlib:pufferlib/Squared-v0', size=5); "
            "obs, info = env.reset(seed=1); assert obs.shape == (25,), obs.shape; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_gymnasium_env_semantics():
    env = gymnasium.make("pufferlib/Squared-v0", size=5).unwrapped
    obs, info = env.reset(seed=3)
    assert obs.shape == (25,) and obs.dtype == np.uint8 and info == {}
    assert not np.shares_memory(obs, env.env.observations)  # a copy: the next step does not change it
    again, _ = env.reset(seed=3)
    np.testing.assert_array_equal(obs, again)
    starts = {env.reset()[0].tobytes() for _ in range(8)}  # unseeded resets start different episodes
    assert len(starts) > 1
    out = env.step(1)
    assert isinstance(out[1], float) and isinstance(out[2], bool) and isinstance(out[3], bool)
    with pytest.raises(APIUsageError, match="integer dtype"):
        env.step(1.0)  # never cast
    with pytest.raises(APIUsageError, match="out of range"):
        env.step(5)
    with pytest.raises(APIUsageError, match="no reset options"):
        env.reset(options={"x": 1})
    env.close()


def test_episode_end_in_a_gymnasium_loop():
    env = gymnasium.make("pufferlib/CartPole-v0").unwrapped
    env.reset(seed=0)
    ends = 0
    for _ in range(300):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        if terminated or truncated:
            ends += 1
            env.reset()
    assert ends >= 3


def test_multi_agent_env_refused_by_gymnasium_make():
    with pytest.raises(APIUsageError, match=r"num_agents=2; a gymnasium.Env has one agent.*make_vec"):
        gymnasium.make("pufferlib/Multiagent-v0")
    with pytest.raises(APIUsageError, match="exactly one"):
        GymnasiumEnv()


# ---- GymnasiumVectorEnv ----------------------------------------------------------------------
def test_make_vec_single_agent():
    env = gymnasium.make_vec("pufferlib/CartPole-v0", num_envs=8)
    assert isinstance(env, GymnasiumVectorEnv) and env.num_envs == 8 and env.env.num_envs == 8
    assert env.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    assert env.observation_space.shape == (8, 4) and env.action_space == gymnasium.spaces.MultiDiscrete([2] * 8)
    obs, infos = env.reset(seed=1)
    assert obs.shape == (8, 4) and obs in env.observation_space
    logs = []
    for _ in range(40):
        obs, rewards, terms, truncs, infos = env.step(env.action_space.sample())
        assert rewards.shape == (8,) and rewards.dtype == np.float32 and terms.dtype == bool
        logs += infos.get("logs", [])
    assert logs and "episode_length" in logs[0]  # CartPole logs every step an episode ended
    env.close()
    assert env.closed


def test_make_vec_multi_agent_counts_agents():
    env = gymnasium.make_vec("pufferlib/Multiagent-v0", num_envs=6)
    assert env.num_envs == 6 and env.env.num_envs == 3 and env.env.num_agents == 6
    env.close()
    with pytest.raises(APIUsageError, match="2 agents per env.*multiple of 2 \\(got 3\\)"):
        gymnasium.make_vec("pufferlib/Multiagent-v0", num_envs=3)


def test_vector_env_copies_or_not():
    with Squared(num_envs=4, size=5) as native:
        copying = GymnasiumVectorEnv(native)
        obs, _ = copying.reset(seed=0)
        assert not np.shares_memory(obs, native.observations)
        zero_copy = GymnasiumVectorEnv(native, copy=False)
        obs, _ = zero_copy.reset(seed=0)
        assert obs is native.observations
        out = zero_copy.step(np.zeros(4, np.int64))
        assert out[0] is native.observations and not np.shares_memory(out[1], native.rewards)
        with pytest.raises(APIUsageError, match="seed must be an int or None"):
            zero_copy.reset(seed=[1, 2, 3, 4])


def test_vector_env_over_emulated_envs_is_next_step():
    for env in (pufferlib.make("gym-CartPole-v1", num_envs=2), pufferlib.emulate(gymnasium.make("CartPole-v1"))):
        vec = GymnasiumVectorEnv(env)
        assert vec.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
        vec.reset(seed=0)
        ended = None
        for _ in range(200):
            _, rewards, terms, truncs, _ = vec.step(vec.action_space.sample())
            if ended is not None:
                # the step after an end resets those sub-envs: reward 0, not terminated
                assert not rewards[ended].any() and not terms[ended].any() and not truncs[ended].any()
                break
            if (terms | truncs).any():
                ended = np.flatnonzero(terms | truncs)
        assert ended is not None
        vec.close()


def test_vector_env_refuses_what_it_cannot_adapt():
    with pytest.raises(APIUsageError, match="wraps a PufferEnv instance.*pufferlib.emulate"):
        GymnasiumVectorEnv(gymnasium.make("CartPole-v1"))
    env = pufferlib.vector.make(Squared, env_kwargs={"num_envs": 1, "size": 5}, backend="Multiprocessing",
                                num_envs=4, num_workers=2, batch_size=2)
    with env, pytest.raises(APIUsageError, match="batches of 2 of 4 agents"):
        GymnasiumVectorEnv(env)


# ---- repr and with -------------------------------------------------------------------------
def test_repr_of_every_kind():
    with Squared(num_envs=3, size=5) as env:
        assert repr(env) == "<Squared num_envs=3 num_agents=3 obs=(25,) uint8 action=Discrete(5)>"
    with pufferlib.emulate(gymnasium.make("CartPole-v1")) as env:
        assert repr(env) == ("<GymnasiumPufferEnv env=CartPole-v1 num_envs=1 num_agents=1 obs=(4,) float32 "
                             "action=Discrete(2)>")
    with pufferlib.vector.make(Squared, env_kwargs={"size": 5}, backend="Serial", num_envs=2) as env:
        assert repr(env) == ("<Serial num_envs=2 num_agents=2 obs=(25,) uint8 action=Discrete(5) "
                             "agents_per_batch=2 driver_env=Squared>")
    half_built = Squared.__new__(Squared)  # repr never raises (debuggers, error messages)
    assert repr(half_built) == "<Squared num_envs=1 num_agents=? action=?>"


def test_with_closes_every_kind():
    with Squared(size=5) as native:
        native.reset(0)
    with pytest.raises(APIUsageError, match="closed"):
        native.reset(0)

    closed = []

    class Tracked(gymnasium.Wrapper):
        def close(self):
            closed.append(True)
            super().close()

    with pytest.raises(RuntimeError):
        with pufferlib.emulate(Tracked(gymnasium.make("CartPole-v1"))):
            raise RuntimeError("closed on the way out too")
    assert closed == [True]
    with pufferlib.vector.make(Squared, env_kwargs={"size": 5}, backend="Serial", num_envs=2) as vec:
        vec.reset(0)
    with pytest.raises(APIUsageError, match="closed"):
        vec.reset(0)


# ---- Stable-Baselines3 ---------------------------------------------------------------------
def test_sb3_missing_is_a_setup_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # import fails
    monkeypatch.setitem(sys.modules, "stable_baselines3.common.vec_env", None)
    monkeypatch.setattr(adapters, "_SB3_CLASS", None)
    with Squared(size=5) as env, pytest.raises(EnvironmentSetupError, match=r"pufferlib-numba\[sb3\]"):
        SB3VecEnv(env)


def test_sb3_vec_env_and_ppo():
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_checker import check_env as sb3_check_env
    from stable_baselines3.common.vec_env import VecEnv, VecMonitor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sb3_check_env(GymnasiumEnv(env_name="cartpole"))
        sb3_check_env(GymnasiumEnv(env_name="squared", size=5))
    vec = SB3VecEnv(pufferlib.make("cartpole", num_envs=4))
    assert isinstance(vec, VecEnv) and isinstance(vec, SB3VecEnv) and vec.num_envs == 4
    first = vec.reset()
    vec.step_async(np.zeros(4, np.int64))
    obs, rewards, dones, infos = vec.step_wait()
    assert not np.shares_memory(first, obs) and len(infos) == 4 and dones.dtype == bool
    model = sb3.PPO("MlpPolicy", VecMonitor(vec), n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(256)
    assert model.num_timesteps == 256
    vec.close()


def test_sb3_terminal_observation_for_a_single_emulated_env():
    pytest.importorskip("stable_baselines3")
    vec = SB3VecEnv(pufferlib.emulate(gymnasium.make("CartPole-v1")))
    vec.seed(0)
    vec.reset()
    ends = 0
    for _ in range(200):
        vec.step_async(np.array([vec.action_space.sample()]))
        obs, rewards, dones, infos = vec.step_wait()
        if dones[0]:
            ends += 1
            final = infos[0]["terminal_observation"]
            assert final.shape == (4,) and not np.array_equal(final, obs[0])
            assert "TimeLimit.truncated" in infos[0]
    assert ends >= 3
    with pytest.raises(APIUsageError, match="resets them on the next step"):
        SB3VecEnv(pufferlib.make("gym-CartPole-v1", num_envs=2))
