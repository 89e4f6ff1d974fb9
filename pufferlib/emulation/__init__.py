"""Emulation: Gymnasium and PettingZoo environments as PufferEnvs.

Behavioural reference: ``pufferlib/emulation.py`` of PufferLib 3.0
(https://github.com/PufferAI/PufferLib): ``GymnasiumPufferEnv``,
``PettingZooPufferEnv``, ``emulate_observation_space``, ``emulate_action_space``,
``nativize``. This is an independent implementation of those semantics on top
of :class:`pufferlib.PufferEnv`.

How structured spaces are carried
---------------------------------
A PufferEnv has one ``Box`` observation per agent and a ``Discrete``,
``MultiDiscrete`` or ``Box`` action per agent. Structured Gymnasium spaces are
mapped onto that as follows:

* **Observations.** Every observation space (``Dict``, ``Tuple``, ``Box``,
  ``Discrete``, ``MultiDiscrete``, ``MultiBinary``, nested to any depth) has a
  NumPy *structured dtype* (:func:`dtype_from_space`): ``Dict`` and ``Tuple``
  become nested structured fields (``Tuple`` element ``i`` is field ``f{i}``),
  ``Box`` a subarray field of the Box's dtype and shape, ``Discrete`` a scalar
  of the space's dtype (int64 by default), ``MultiDiscrete`` / ``MultiBinary``
  a subarray of the space's dtype. Fields are aligned (``align=True``).

  - A plain ``Box`` is kept as it is (no emulation).
  - Otherwise, if every leaf has the same dtype (e.g. a ``Dict`` of float32
    Boxes), the emulated space is a 1-D ``Box`` of that dtype with
    ``itemsize // dtype.itemsize`` elements and per-element bounds taken from
    the leaves (PufferLib 3.0 behaviour).
  - Otherwise the emulated space is ``Box(0, 255, (itemsize,), uint8)``: the
    raw bytes of one structured record.

  Each observation is written leaf by leaf straight into the agent's row of
  the observation buffer, viewed as the structured dtype (no intermediate
  copies). :func:`nativize` turns a row (or a batch of rows) back into the
  original nested structure.

* **Actions.** ``Discrete``, ``MultiDiscrete`` and ``Box`` pass through.
  ``MultiBinary`` and nested ``Dict`` / ``Tuple`` spaces whose leaves are all
  ``Discrete`` / ``MultiDiscrete`` / ``MultiBinary`` become one flat
  ``MultiDiscrete`` (same ``start`` offsets, so values are unchanged); the int32
  action row is viewed as a structured int32 dtype and nativized back into the
  nested structure before ``env.step``. Actions are validated (shape, dtype,
  range) and never clipped.

* **Text.** ``Text`` / Minigrid ``MissionSpace`` parts of an observation are encoded as
  fixed-length uint8 UTF-8 codes (default) or dropped (``text_observations='encode'|'drop'``,
  ``text_length``; :mod:`~pufferlib.emulation.text`).

* **Other APIs.** Old-gym envs (``reset() -> obs``, 4-tuple ``step``) are adapted by
  :class:`OldGymEnv`; PettingZoo AEC envs made from a parallel env are unwrapped to it;
  turn-based AEC games are wrapped by :class:`TurnBasedPufferEnv` (one agent moves per step).

Modules: :mod:`~pufferlib.emulation.structured` (space <-> structured dtype algebra),
:mod:`~pufferlib.emulation.text`, :mod:`~pufferlib.emulation.compat` (old gym),
:mod:`~pufferlib.emulation.turn_based`,
:mod:`~pufferlib.emulation.common` (helpers shared by the wrappers),
:mod:`~pufferlib.emulation.gymnasium_env`, :mod:`~pufferlib.emulation.pettingzoo_env`,
:mod:`~pufferlib.emulation.factories` (``emulate`` / ``make_gymnasium`` / ``make_pettingzoo``).
Everything is importable from ``pufferlib.emulation``.
"""
from __future__ import annotations

from pufferlib.emulation.common import (  # noqa: F401 - re-exported
    _NOT_LIVE,
    _ActionCodec,
    _emulation_info,
    _obs_writers,
    _seed_and_reset,
    _WrapperEnv,
    make_object,
)
from pufferlib.emulation.compat import OldGymEnv, convert_space, is_old_gym_env  # noqa: F401
from pufferlib.emulation.text import TEXT_MODES, decode_text, encode_text, text_transform  # noqa: F401
from pufferlib.emulation.factories import (  # noqa: F401
    PETTINGZOO_FAMILIES,
    VECTOR_OPTIONS,
    WRAPPER_OPTIONS,
    wrap_pettingzoo,
    _CopyFactory,
    _Creator,
    _make_gymnasium_env,
    _pettingzoo_parallel_factory,
    _single,
    _split_kwargs,
    _vectorize,
    emulate,
    find_pettingzoo_module,
    make_gymnasium,
    make_pettingzoo,
)
from pufferlib.emulation.gymnasium_env import GymnasiumPufferEnv
from pufferlib.emulation.pettingzoo_env import PettingZooPufferEnv, parallel_env_inside  # noqa: F401
from pufferlib.emulation.turn_based import TurnBasedPufferEnv
from pufferlib.emulation.structured import (  # noqa: F401
    LEAF_SPACES,
    _field_name,
    _get,
    _leaf_bounds,
    _leaves,
    _nativize,
    _resolve,
    _structured_view,
    _write_leaves,
    dtype_from_space,
    emulate_action_space,
    emulate_observation_space,
    flatten_sample,
    flatten_space,
    nativize,
)
from pufferlib.checks import check_int  # noqa: F401
from pufferlib.environment import PufferEnv  # noqa: F401
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError  # noqa: F401
from pufferlib.spaces import Box, Dict, Discrete, MultiBinary, MultiDiscrete, Tuple, check_actions  # noqa: F401

__all__ = [
    "GymnasiumPufferEnv", "PettingZooPufferEnv", "TurnBasedPufferEnv", "OldGymEnv", "emulate", "make_gymnasium",
    "make_pettingzoo", "wrap_pettingzoo", "encode_text", "decode_text", "parallel_env_inside",
    "emulate_observation_space", "emulate_action_space", "nativize", "flatten_sample",
    "dtype_from_space", "flatten_space", "find_pettingzoo_module", "make_object",
]
