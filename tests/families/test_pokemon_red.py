"""Pokemon Red through pufferlib.make('pokemon-red', rom_path=...). Needs pyboy. The game ROM is
not distributed, so these tests run the emulator on a blank 32 KiB cartridge (all zeros: the CPU
executes no-ops): they check the wrapper (spaces, buffers, stepping, vectorizing), not the game."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyboy")

import pufferlib  # noqa: E402
from pufferlib.exceptions import EnvironmentSetupError  # noqa: E402


@pytest.fixture
def rom(tmp_path):
    data = bytearray(32 * 1024)
    data[0x14D] = -sum(data[0x134:0x14D]) - 25 & 0xFF     # header checksum: x = x - byte - 1 over 0x134..0x14C
    path = tmp_path / "blank.gb"
    path.write_bytes(bytes(data))
    return str(path)


@pytest.mark.parametrize("kwargs", [dict(num_envs=1), dict(num_envs=2, backend="Serial"),
                                    dict(num_envs=2, backend="Multiprocessing", num_workers=2)],
                         ids=["single", "serial", "mp2"])
def test_spaces_buffers_and_steps(rom, kwargs):
    env = pufferlib.make("pokemon-red", rom_path=rom, max_steps=3, frameskip=4, **kwargs)
    n = kwargs["num_envs"]
    try:
        assert env.num_agents == n
        assert env.single_observation_space.shape == (72, 80) and env.single_observation_space.dtype == np.uint8
        assert env.single_action_space.n == 7
        obs, _ = env.reset(seed=0)
        assert obs.shape == (n, 72, 80)
        for t in range(1, 4):
            obs2, rew, term, trunc, _ = env.step(np.full(n, 4, np.int32))
            assert obs2 is obs and rew.dtype == np.float32
        assert trunc.all()                          # max_steps=3
    finally:
        env.close()


def test_missing_or_bad_rom_is_a_setup_error(tmp_path):
    bad = tmp_path / "bad.gb"
    bad.write_bytes(b"not a rom")
    with pytest.raises(EnvironmentSetupError, match="could not load the ROM"):
        pufferlib.make("pokemon-red", rom_path=str(bad))
    with pytest.raises(EnvironmentSetupError, match="needs a ROM you supply"):
        pufferlib.make("pokemon-red")
    with pytest.raises(EnvironmentSetupError, match="is not a file"):
        pufferlib.make("pokemon-red", rom_path=str(tmp_path / "missing.gb"))
