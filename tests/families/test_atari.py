"""Atari through pufferlib.make('atari-<game>'): native AtariVectorEnv and emulated Serial /
Multiprocessing. Needs ale-py and opencv (pip install 'pufferlib-numba[atari]')."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ale_py")
pytest.importorskip("cv2")

import pufferlib  # noqa: E402
from pufferlib.environments import atari  # noqa: E402
from pufferlib.exceptions import APIUsageError  # noqa: E402

BACKENDS = [dict(), dict(backend="Serial"), dict(backend="Multiprocessing", num_workers=2)]
IDS = ["native", "serial", "mp2"]


def rollout(env, seed, steps, action_seed=0):
    rng = np.random.default_rng(action_seed)
    obs, _ = env.reset(seed=seed)
    frames, rewards, ends = [obs.copy()], [], []
    for _ in range(steps):
        actions = rng.integers(0, env.single_action_space.n, env.num_agents).astype(np.int32)
        obs, rew, term, trunc, _ = env.step(actions)
        frames.append(obs.copy())
        rewards.append(rew.copy())
        ends.append(term | trunc)
    return np.stack(frames), np.stack(rewards), np.stack(ends)


@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_spaces_dtypes_and_in_place_buffers(kwargs):
    env = pufferlib.make("atari-breakout", num_envs=2, **kwargs)
    try:
        assert env.num_agents == 2
        assert env.single_observation_space.shape == (4, 84, 84)
        assert env.single_observation_space.dtype == np.uint8
        assert env.single_action_space.n == 4                        # Breakout's minimal action set
        obs, infos = env.reset(seed=3)
        assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8 and obs.any()
        assert isinstance(infos, list)
        actions = np.array([1, 3], np.int32)
        obs2, rew, term, trunc, infos = env.step(actions)
        assert obs2 is obs                                           # the same buffer, written in place
        assert rew.shape == (2,) and rew.dtype == np.float32
        assert term.dtype == bool and trunc.dtype == bool
        # the newest frame of the stack is the previous step's newest, shifted by one
        assert np.array_equal(obs2[:, 2], env.observations[:, 2])
    finally:
        env.close()


@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_same_seed_same_trajectory(kwargs):
    env = pufferlib.make("atari-pong", num_envs=2, **kwargs)
    try:
        a = rollout(env, 5, 40)
        b = rollout(env, 5, 40)
        c = rollout(env, 6, 40)
    finally:
        env.close()
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    assert not np.array_equal(a[0], c[0])      # sticky actions and no-op starts follow the seed


def test_serial_and_multiprocessing_agree():
    serial = pufferlib.make("atari-pong", num_envs=2, backend="Serial")
    mp = pufferlib.make("atari-pong", num_envs=2, backend="Multiprocessing", num_workers=2)
    try:
        for x, y in zip(rollout(serial, 11, 30), rollout(mp, 11, 30)):
            assert np.array_equal(x, y)
    finally:
        serial.close()
        mp.close()


@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_truncation_then_reset_on_the_next_step(kwargs):
    # 40 frames at frameskip 4 (no no-op starts, which count frames too): truncated on step 10,
    # reset on step 11 (not counted in the next episode), truncated again on step 21
    env = pufferlib.make("atari-pong", num_envs=2, max_episode_frames=40, noop_max=0, **kwargs)
    try:
        env.reset(seed=0)
        lengths = []
        for t in range(1, 23):
            _, rew, term, trunc, infos = env.step(np.zeros(2, np.int32))
            lengths += [i["episode_length"] for i in infos if "episode_length" in i]
            if t in (10, 21):
                assert trunc.all()
            else:
                assert not trunc.any() and not term.any()
            if t in (11, 22):
                assert (rew == 0).all()
        assert lengths == [10, 10, 10, 10]
    finally:
        env.close()


def test_native_and_emulated_have_the_same_spaces():
    native = pufferlib.make("atari-pong", num_envs=1, grayscale=False, screen_size=(64, 48), framestack=2)
    emulated = pufferlib.make("atari-pong", num_envs=1, grayscale=False, screen_size=(64, 48), framestack=2,
                              backend="Serial")
    try:
        assert isinstance(native, atari.AtariVector)
        assert native.single_observation_space.shape == emulated.single_observation_space.shape == (2, 64, 48, 3)
        assert native.single_action_space == emulated.single_action_space
    finally:
        native.close()
        emulated.close()


def test_names_and_options_are_checked():
    with pytest.raises(APIUsageError, match="Close matches: pong"):
        pufferlib.make("atari-pongg")
    with pytest.raises(APIUsageError, match="frameskip must be"):
        pufferlib.make("atari-pong", frameskip=0)
    with pytest.raises(APIUsageError, match=r"repeat_action_probability must be a number in \[0, 1\]"):
        pufferlib.make("atari-pong", repeat_action_probability=1.5)
    with pytest.raises(APIUsageError, match="num_workers"):
        pufferlib.make("atari-pong", num_envs=2, num_workers=2)           # a vector option without a backend
    with pytest.raises(APIUsageError, match="num_threads applies to the native"):
        pufferlib.make("atari-pong", num_envs=2, backend="Serial", num_threads=2)
    env = pufferlib.make("atari-pong", num_envs=2)
    try:
        env.reset(seed=0)
        with pytest.raises(APIUsageError):
            env.step(np.array([0, 6], np.int32))                             # Pong has 6 actions: 0..5
        with pytest.raises(APIUsageError):
            env.step(np.zeros(2, np.float32))
    finally:
        env.close()


def test_names_resolve_to_ale_ids():
    names = atari.env_names()
    assert "ALE/Pong-v5" in names and len(names) > 50
    assert atari.rom_id("ALE/MontezumaRevenge-v5") == "montezuma_revenge"
    env = pufferlib.make("atari-Montezuma-Revenge-v5")
    try:
        assert env.game == "montezuma_revenge" and env.single_action_space.n == 18
    finally:
        env.close()


def test_render_mode_gives_the_emulated_env():
    env = pufferlib.make("atari-pong", render_mode="rgb_array")
    try:
        env.reset(seed=0)
        assert env.env.render().shape == (210, 160, 3)
    finally:
        env.close()
