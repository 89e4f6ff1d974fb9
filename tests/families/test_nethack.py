"""NetHack through pufferlib.make('nethack-<task>') (needs nle, which pins gymnasium 1.2.0)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nle")

import gymnasium  # noqa: E402

import pufferlib  # noqa: E402
from pufferlib.emulation import nativize  # noqa: E402

try:
    from _checks import BACKENDS, IDS, check_family_env
except ImportError:
    from tests.families._checks import BACKENDS, IDS, check_family_env


@pytest.mark.parametrize("kwargs", BACKENDS, ids=IDS)
def test_backends_spaces_and_seeding(kwargs):
    check_family_env("nethack", kwargs, 1, (3792,), np.uint8, gymnasium.spaces.Discrete(23), steps=10)


def test_default_and_custom_observation_keys():
    env = pufferlib.make("nethack-score")
    assert sorted(env.emulated["observation_space"].spaces) == ["blstats", "glyphs", "message"]
    obs, _ = env.reset(seed=0)
    native = nativize(obs[0], env.emulated["observation_space"], env.obs_dtype)
    assert native["glyphs"].shape == (21, 79) and native["glyphs"].dtype == np.int16
    chars = pufferlib.make("nethack-challenge", observation_keys=("chars",))
    assert chars.env.spec.id == "NetHackChallenge-v0"
    assert chars.single_observation_space.shape == (21 * 79,) and chars.single_observation_space.dtype == np.uint8


def test_names():
    with pytest.raises(pufferlib.APIUsageError, match="Close matches"):
        pufferlib.make("nethack-scor3")
