"""Neural MMO 3 in Numba: the game (``NMMO3``), split by subsystem (``docs/envs/nmmo3.md``).

- :mod:`~pufferlib.ocean.nmmo3.constants`: identifiers, sizes, record layouts;
- :mod:`~pufferlib.ocean.nmmo3.terrain`: map generation and ground items;
- :mod:`~pufferlib.ocean.nmmo3.entities`: spawning, movement, stagnation, episode logs;
- :mod:`~pufferlib.ocean.nmmo3.items`: equipment, harvesting, the market;
- :mod:`~pufferlib.ocean.nmmo3.combat`: targeting, damage, loot, enemy AI;
- :mod:`~pufferlib.ocean.nmmo3.observations`: the 1707-byte player observation;
- :mod:`~pufferlib.ocean.nmmo3.env`: the env class and the tick;
- :mod:`~pufferlib.ocean.nmmo3.pettingzoo`: the Neural MMO API (``NeuralMMO``, a PettingZoo
  ``ParallelEnv`` over one world, with tasks weighting the reward terms).
"""
from pufferlib.ocean.nmmo3.env import NMMO3, entity_table
from pufferlib.ocean.nmmo3.pettingzoo import TASKS, NeuralMMO, Task

__all__ = ["NMMO3", "entity_table", "NeuralMMO", "Task", "TASKS"]
