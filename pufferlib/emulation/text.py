"""Text observations (Gymnasium ``Text``, Minigrid's ``MissionSpace``) in a numeric buffer.

A PufferEnv observation is a fixed-size numeric row, so a text part of an observation
space is either

- ``'encode'`` (the default): replaced by ``Box(0, 255, (text_length,), uint8)`` holding
  the UTF-8 bytes of the string, zero-padded on the right and cut after ``text_length``
  bytes (:func:`encode_text`; :func:`decode_text` turns a row back into the string), or
- ``'drop'``: removed from the observation (a ``Dict`` loses that key, a ``Tuple`` that
  element; a space that is nothing but text cannot be dropped).

``text_length`` defaults to the space's ``max_length`` for a ``Text`` space and to
:data:`DEFAULT_TEXT_LENGTH` for spaces without one (``MissionSpace``).
"""
from __future__ import annotations

import numpy as np

from pufferlib.checks import check_int
from pufferlib.exceptions import APIUsageError
from pufferlib.spaces import Box, Dict, Tuple

#: What ``text_observations=`` accepts.
TEXT_MODES = ("encode", "drop")
#: Bytes kept per string for text spaces without a ``max_length`` (Minigrid missions are shorter).
DEFAULT_TEXT_LENGTH = 128


def is_text_space(space) -> bool:
    """True for ``gymnasium.spaces.Text`` and for spaces whose samples are strings by
    declaration (Minigrid's ``MissionSpace``, matched by class name so Minigrid need not be
    imported)."""
    from gymnasium.spaces import Text
    return isinstance(space, Text) or any(c.__name__ == "MissionSpace" for c in type(space).__mro__)


def _has_text(space) -> bool:
    if isinstance(space, Dict):
        return any(_has_text(s) for s in space.spaces.values())
    if isinstance(space, Tuple):
        return any(_has_text(s) for s in space.spaces)
    return is_text_space(space)


def encode_text(text, length: int) -> np.ndarray:
    """The UTF-8 bytes of ``text`` as a ``(length,)`` uint8 array, zero-padded, cut after ``length`` bytes.

    Raises:
        APIUsageError: ``text`` is not a str.
    """
    if not isinstance(text, str):
        raise APIUsageError(f"a text observation must be a str, got {type(text).__name__}")
    raw = text.encode("utf-8")[:length]
    out = np.zeros(length, np.uint8)
    out[:len(raw)] = np.frombuffer(raw, np.uint8)
    return out


def decode_text(codes) -> str:
    """The string an ``'encode'``-d text observation holds (``codes``: its uint8 row; trailing
    zeros are padding; a multi-byte character cut at the end is dropped)."""
    raw = np.asarray(codes, np.uint8).tobytes().rstrip(b"\0")
    return raw.decode("utf-8", errors="ignore")


def check_text_options(mode, length):
    """Validate ``text_observations`` / ``text_length``; returns them (``length`` may stay None).

    Raises:
        APIUsageError: an unknown mode or a length that is not an int >= 1.
    """
    if mode not in TEXT_MODES:
        raise APIUsageError(f"text_observations must be one of {TEXT_MODES}, got {mode!r}")
    if length is not None:
        length = check_int("text_length", length, 1)
    return mode, length


def text_transform(space, mode="encode", length=None):
    """The observation space without text, and the function converting one observation.

    Args:
        space: the wrapped env's observation space (any nesting of ``Dict`` / ``Tuple``).
        mode: ``'encode'`` or ``'drop'`` (see the module docstring).
        length: bytes per encoded string; None for the default.

    Returns:
        ``(space, None)`` when ``space`` has no text part (nothing to convert, no cost per
        step); otherwise ``(new_space, convert)`` where ``convert(observation)`` returns the
        observation matching ``new_space``.

    Raises:
        APIUsageError: bad options, or ``'drop'`` would leave nothing (the whole
            observation, or a whole ``Dict`` / ``Tuple``, is text).
    """
    mode, length = check_text_options(mode, length)
    if not _has_text(space):
        return space, None
    return _transform(space, mode, length, "<root>")


_DROP = object()


def _transform(space, mode, length, where):
    if isinstance(space, Dict):
        parts = {k: _transform(s, mode, length, f"{where}/{k}") for k, s in space.spaces.items()}
        kept = {k: p for k, p in parts.items() if p is not _DROP}
        if not kept:
            raise APIUsageError(f"text_observations='drop' would leave the Dict at {where} empty; use 'encode'")
        new = Dict({k: s for k, (s, _) in kept.items()})
        fns = [(k, fn) for k, (_, fn) in kept.items()]
        return new, lambda ob: {k: (fn(ob[k]) if fn else ob[k]) for k, fn in fns}
    if isinstance(space, Tuple):
        parts = [_transform(s, mode, length, f"{where}/{i}") for i, s in enumerate(space.spaces)]
        kept = [(i, p) for i, p in enumerate(parts) if p is not _DROP]
        if not kept:
            raise APIUsageError(f"text_observations='drop' would leave the Tuple at {where} empty; use 'encode'")
        new = Tuple(tuple(s for _, (s, _) in kept))
        fns = [(i, fn) for i, (_, fn) in kept]
        return new, lambda ob: tuple(fn(ob[i]) if fn else ob[i] for i, fn in fns)
    if not is_text_space(space):
        return space, None
    if mode == "drop":
        if where == "<root>":
            raise APIUsageError("the observation space is text only; text_observations='drop' would leave "
                                "nothing: use 'encode'")
        return _DROP
    n = length or getattr(space, "max_length", None) or DEFAULT_TEXT_LENGTH
    return Box(0, 255, (n,), np.uint8), lambda ob: encode_text(ob, n)
