"""Env creators that fail on purpose inside a vectorization worker (for test_faults.py).

``faulty_squared(fault=..., buf=..., **squared_kwargs)`` builds a real Ocean env (Squared,
whose world lives in the memory the Multiprocessing backend offers, so leak checks see
shared world blocks) and wraps its ``reset`` / ``step`` / ``state`` so that one of them
misbehaves. ``fault`` is None (a healthy env) or ``(where, when, how)``:

- ``where``: ``"init"`` (inside the creator, in a worker only: ``buf`` is given), ``"reset"``,
  ``"step"`` or ``"state"``;
- ``when``: the call number (1-based) that misbehaves; ``init`` ignores it;
- ``how``: ``"raise"`` (RuntimeError), ``"segfault"`` (reads address 0), ``"hang"`` (sleeps an
  hour), ``"exit"`` (``os._exit(3)``: dies without a word), or ``"sleep:<seconds>"`` (slow but
  healthy).

Module level and stateless apart from call counters, so 'fork' workers can use it and a
parent script in a subprocess can import it by name.
"""
from __future__ import annotations

import ctypes
import faulthandler
import os
import time

from pufferlib.ocean.squared import Squared

FAULT_MESSAGE = "fault injected on purpose"


def misbehave(how):
    """Do what ``how`` says (see the module docstring)."""
    if how == "raise":
        raise RuntimeError(FAULT_MESSAGE)
    if how == "segfault":
        faulthandler.disable()  # pytest's handler would print the C stack; the death is what matters
        ctypes.string_at(0)  # SIGSEGV: a NULL read
    elif how == "hang":
        time.sleep(3600)
    elif how == "exit":
        os._exit(3)
    elif how.startswith("sleep:"):
        time.sleep(float(how.split(":", 1)[1]))
    else:
        raise ValueError(f"unknown fault {how!r}")


def _wrap(fn, when, how):
    calls = [0]

    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == when or (how.startswith("sleep:") and calls[0] >= when):
            misbehave(how)
        return fn(*args, **kwargs)
    return wrapped


def faulty_squared(fault=None, buf=None, **kwargs):
    """A Squared env (``size=5`` unless given) that misbehaves as ``fault`` says."""
    kwargs.setdefault("size", 5)
    if fault is not None and fault[0] == "init" and buf is not None:
        misbehave(fault[2])
    env = Squared(buf=buf, **kwargs)
    if fault is not None and fault[0] in ("reset", "step", "state"):
        where, when, how = fault
        setattr(env, where, _wrap(getattr(env, where), when, how))
    return env
