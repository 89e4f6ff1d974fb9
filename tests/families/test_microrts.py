"""MicroRTS through pufferlib.make('microrts-<map>'). Needs gym-microrts, JPype, gym 0.26 and a
Java runtime (CI runs it in its own venv)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("gym_microrts")
pytest.importorskip("jpype")
if shutil.which("java") is None:
    pytest.skip("no Java runtime", allow_module_level=True)

import pufferlib  # noqa: E402
from pufferlib.environments import microrts  # noqa: E402
from pufferlib.exceptions import APIUsageError  # noqa: E402
from pufferlib.spaces import sample_actions  # noqa: E402


@pytest.mark.parametrize("kwargs", [dict(), dict(backend="Serial"), dict(backend="Multiprocessing", num_workers=2)],
                         ids=["native", "serial", "mp2"])
def test_spaces_buffers_and_steps(kwargs):
    env = pufferlib.make("microrts-bases-workers-16x16", num_envs=2, **kwargs)
    try:
        assert env.num_agents == 2
        assert env.single_observation_space.shape == (16, 16, 27) and env.single_observation_space.dtype == np.uint8
        assert env.single_action_space.shape == (16 * 16 * 7,)
        obs, _ = env.reset(seed=0)
        # one-hot: each cell has exactly one value per feature group (5 groups)
        assert obs.shape == (2, 16, 16, 27) and (obs.sum(axis=-1) == 5).all()
        rng = np.random.default_rng(0)
        for _ in range(5):
            obs2, rew, term, trunc, _ = env.step(sample_actions(env.single_action_space, 2, rng))
        assert obs2 is obs and rew.dtype == np.float32 and (obs.sum(axis=-1) == 5).all()
    finally:
        env.close()


def test_encoder_matches_gym_microrts():
    env = pufferlib.make("microrts-bases-workers-16x16", num_envs=1)
    try:
        responses = env._vec.vec_client.reset([0])
        raw = np.array(responses.observation)
        env._encode(raw)
        planes = env._vec.num_planes
        ref = np.zeros((256, sum(planes)), np.int64)      # gym-microrts' _encode_obs, without np.int
        r = raw[0].reshape(len(raw[0]), -1).clip(0, np.array([planes]).T - 1)
        ref[np.arange(256), r[0]] = 1
        for i in range(1, len(planes)):
            ref[np.arange(256), r[i] + sum(planes[:i])] = 1
        assert np.array_equal(env.observations[0].reshape(256, -1), ref)
        assert env.action_masks().shape[:3] == (1, 16, 16)
    finally:
        env.close()


def test_names_and_options_are_checked():
    assert "maps/16x16/basesWorkers16x16" in microrts.env_names()
    with pytest.raises(APIUsageError, match="Close matches"):
        pufferlib.make("microrts-bases-workers-16x161")
    with pytest.raises(APIUsageError, match="opponent must be one of"):
        pufferlib.make("microrts-bases-workers-16x16", opponent="nobody")
