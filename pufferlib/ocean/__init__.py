"""The Ocean suite: environments written as Numba kernels over structured arrays.

Registry: ``ENVS`` maps a short name to ``(module, class name, one-line description)``.
Modules are imported lazily, so listing envs compiles nothing. An env is one file here (an
:class:`pufferlib.ocean.core.OceanEnv` subclass; a large game may be a folder) plus one
line in ``ENVS``: ``pufferlib.make('puffer_<name>')``, ``puffer bench <name>`` and the
test suite's conformance checks (``tests/test_conformance.py``) then cover it.
"""
from __future__ import annotations

import importlib

from pufferlib.exceptions import APIUsageError

ENVS = {
    "cartpole": ("pufferlib.ocean.cartpole", "CartPole",
                 "Balance a pole on a cart for 200 steps; Euler physics; discrete or continuous push."),
    "squared": ("pufferlib.ocean.squared", "Squared",
                "Single agent on an 11x11 grid must reach one target cell within 33 moves."),
    "nmmo3": ("pufferlib.ocean.nmmo3", "NMMO3",
              "Neural MMO 3: 4 worlds x 1024 players and 2048 enemies on 512x512 maps; combat, items, market."),
    "snake": ("pufferlib.ocean.snake", "Snake",
              "256 snakes per 640x360 grid eat food and corpses; 11x11 egocentric int8 view."),
    "bandit": ("pufferlib.ocean.sanity", "Bandit",
               "Sanity: pull the one paying arm of 4 under a constant observation; one step per episode."),
    "memory": ("pufferlib.ocean.sanity", "Memory",
               "Sanity: repeat 4 random bits after seeing them one per step; needs a recurrent policy."),
    "password": ("pufferlib.ocean.sanity", "Password",
                 "Sanity: enter a fixed hidden 5-bit password, reward only at the end; tests exploration."),
    "stochastic": ("pufferlib.ocean.sanity", "Stochastic",
                   "Sanity: an opponent pays for the under-played action; best memoryless policy is a 75/25 coin."),
    "multiagent": ("pufferlib.ocean.sanity", "Multiagent",
                   "Sanity: 2 agents per env with their own random bit, rule (copy / flip) and reward."),
    "spaces": ("pufferlib.ocean.sanity", "Spaces",
               "Sanity: nested Dict/Tuple observation and 3-part Dict action in the emulation layer's flat encoding."),
    "continuous": ("pufferlib.ocean.sanity", "Continuous",
                   "Sanity: move a point to a target with Box(-1, 1, (2,)) velocity actions; reward 1 on arrival."),
    "pong": ("pufferlib.ocean.pong", "Pong",
             "Right paddle against a ball-tracking bot, first to 21 points; 8 float observations."),
    "breakout": ("pufferlib.ocean.breakout", "Breakout",
                 "Atari-style Breakout with swept collisions: 6x18 bricks, 6 balls, frameskip 4."),
    "connect4": ("pufferlib.ocean.connect4", "Connect4",
                 "Connect Four against a depth-3 negamax-sum bot; bitboards; 42 float observations."),
    "target": ("pufferlib.ocean.target", "Target",
               "8 agents per 1080x720 field steer heading and speed to collect 4 goals; MultiDiscrete([9, 5])."),
}


def canonical_name(name: str) -> str:
    """``'puffer_snake'`` / ``'snake'`` -> ``'snake'``. Raises APIUsageError for unknown names."""
    short = name[len("puffer_"):] if name.startswith("puffer_") else name
    if short not in ENVS:
        raise APIUsageError(
            f"unknown environment {name!r}; Ocean envs: {', '.join(sorted(ENVS))} "
            "(optionally prefixed 'puffer_'), or 'gym-<id>' / 'pettingzoo-<name>'")
    return short


def env_creator(name: str):
    """The environment class registered as ``name`` (``'snake'`` or ``'puffer_snake'``)."""
    module, cls, _ = ENVS[canonical_name(name)]
    return getattr(importlib.import_module(module), cls)


def list_envs() -> dict:
    """``{name: one-line description}`` of every registered Ocean env."""
    return {name: desc for name, (_, _, desc) in ENVS.items()}
