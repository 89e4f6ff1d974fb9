"""Pokemon Red on the PyBoy Game Boy emulator: ``pufferlib.make('pokemon-red', rom_path=...)``.

The ROM is not distributed: supply your own dump of the cartridge with ``rom_path=``. Without
it :func:`make` raises :class:`~pufferlib.EnvironmentSetupError` saying so.

The env (:func:`pokemon_red_env`, a ``gymnasium.Env``, emulated and vectorized like any
Gymnasium env) is a small exploration task in the spirit of PufferLib's and Peter Whidden's
Pokemon Red agents (https://github.com/PWhiddy/PokemonRedExperiments): the agent presses one
button per step and is rewarded for map tiles it has not visited in this episode and for
badges it earns. Positions and badges are read from the game's RAM (addresses documented by
the pret/pokered disassembly, https://github.com/pret/pokered).
"""
from __future__ import annotations

import functools
import io
import os

import numpy as np

from pufferlib.checks import check_int
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

REQUIRES = ("pyboy",)
INSTALL = "pip install 'pufferlib-numba[pokemon-red]' (and supply your own ROM: rom_path='pokemon_red.gb')"
DESCRIPTION = "Pokemon Red on PyBoy, exploration reward; needs your own ROM (rom_path=)"

#: Buttons, in action order (Discrete(7)).
BUTTONS = ("down", "left", "right", "up", "a", "b", "start")
#: RAM addresses (pret/pokered): current map id, player y and x on that map, badge bits.
MAP_ADDR, Y_ADDR, X_ADDR, BADGES_ADDR = 0xD35E, 0xD361, 0xD362, 0xD356


def env_names() -> list:
    return ["pokemon_red"]


def make(name: str = "", num_envs: int = 1, *, rom_path=None, state_path=None, frameskip: int = 24,
         max_steps: int = 20_480, backend=None, **kwargs):
    """Pokemon Red as a PufferEnv, one emulator per env.

    Args:
        name: ``''`` (the family has one env).
        num_envs: environments (emulators); more than 1 (or a ``backend``) vectorizes with
            :func:`pufferlib.vector.make` (default backend ``'Serial'``).
        rom_path: path to your Pokemon Red ROM (``.gb``); required.
        state_path: optional PyBoy save state to start every episode from (e.g. after the
            intro); default: the game's power-on.
        frameskip: emulator frames per step (default 24; the button is held for the first 8).
        max_steps: episode length; truncation after it (default 20480).
        backend, **kwargs: ``seed`` and the options of :func:`pufferlib.vector.make`.

    Returns:
        A PufferEnv: observations uint8 ``(num_envs, 72, 80)`` (the 144x160 screen, grayscale,
        halved), actions int32 ``(num_envs,)`` in ``Discrete(7)`` (:data:`BUTTONS`), rewards
        float32: 0.01 per map tile first visited this episode, 1 per new badge.

    Raises:
        EnvironmentSetupError: no ``rom_path``, a missing ROM / state file, a file PyBoy cannot
            load (raised when the env is built), pyboy missing.
        APIUsageError: another env name, bad arguments.
    """
    from pufferlib.environments import make_emulated
    if name and "".join(c for c in name.lower() if c.isalnum()) not in ("pokemonred", "red"):
        raise APIUsageError(f"unknown pokemon_red env {name!r}: the family has one env, pufferlib.make('pokemon-red')")
    if rom_path is None:
        raise EnvironmentSetupError(
            "Pokemon Red needs a ROM you supply (it is not distributed): "
            "pufferlib.make('pokemon-red', rom_path='/path/to/pokemon_red.gb')")
    for what, path in (("ROM", rom_path), ("save state", state_path)):
        if path is not None and not os.path.isfile(path):
            raise EnvironmentSetupError(f"Pokemon Red {what} {path!r} is not a file")
    check_int("frameskip", frameskip, 1)
    check_int("max_steps", max_steps, 1)
    factory = functools.partial(pokemon_red_env, os.fspath(rom_path), None if state_path is None else os.fspath(state_path),
                                frameskip=frameskip, max_steps=max_steps)
    return make_emulated(factory, num_envs, label="make('pokemon-red')", backend=backend, **kwargs)


def pokemon_red_env(rom_path, state_path=None, frameskip=24, max_steps=20_480):
    """One PyBoy emulator as a ``gymnasium.Env`` (spaces and rewards: see :func:`make`).

    The start state (``state_path``, or the state at power-on) is kept in memory and loaded at
    every ``reset``; the game itself is deterministic, so the reset seed changes nothing.
    """
    return _env_class()(rom_path, state_path, frameskip, max_steps)


@functools.lru_cache(maxsize=None)
def _env_class():
    import gymnasium

    class PokemonRed(gymnasium.Env):
        """See :func:`pokemon_red_env`."""

        metadata = {"render_modes": ["rgb_array"]}

        def __init__(self, rom_path, state_path=None, frameskip=24, max_steps=20_480):
            from pyboy import PyBoy
            try:
                self.pyboy = PyBoy(rom_path, window="null", sound_emulated=False)
            except Exception as exc:     # pyboy raises its own and plain exceptions for bad files
                raise EnvironmentSetupError(f"PyBoy could not load the ROM {rom_path!r}: {exc}") from exc
            self.pyboy.set_emulation_speed(0)
            if state_path is not None:
                with open(state_path, "rb") as f:
                    self.pyboy.load_state(f)
            self._start = io.BytesIO()
            self.pyboy.save_state(self._start)
            self.frameskip, self.max_steps = frameskip, max_steps
            self.observation_space = gymnasium.spaces.Box(0, 255, (72, 80), np.uint8)
            self.action_space = gymnasium.spaces.Discrete(len(BUTTONS))
            self.render_mode = "rgb_array"

        def _observe(self):
            rgb = self.pyboy.screen.ndarray[::2, ::2, :3].astype(np.uint16)
            return ((rgb[..., 0] * 77 + rgb[..., 1] * 150 + rgb[..., 2] * 29) >> 8).astype(np.uint8)

        def _where(self):
            mem = self.pyboy.memory
            return mem[MAP_ADDR], mem[X_ADDR], mem[Y_ADDR]

        def _badges(self):
            return int(self.pyboy.memory[BADGES_ADDR]).bit_count()

        def reset(self, seed=None, options=None):
            super().reset(seed=seed)
            self._start.seek(0)
            self.pyboy.load_state(self._start)
            self.pyboy.tick(1, True)
            self.seen = {self._where()}
            self.badges = self._badges()
            self.steps = 0
            return self._observe(), {}

        def step(self, action):
            self.pyboy.button(BUTTONS[int(action)], 8)
            self.pyboy.tick(self.frameskip, True)
            self.steps += 1
            reward = 0.0
            where = self._where()
            if where not in self.seen:
                self.seen.add(where)
                reward += 0.01
            badges = self._badges()
            reward += max(0, badges - self.badges)
            self.badges = badges
            info = {"tiles_seen": len(self.seen), "badges": badges}
            return self._observe(), reward, False, self.steps >= self.max_steps, info

        def render(self):
            return np.array(self.pyboy.screen.ndarray[..., :3])

        def close(self):
            pyboy, self.pyboy = getattr(self, "pyboy", None), None
            if pyboy is not None:
                pyboy.stop(save=False)

    return PokemonRed
