"""Keep Numba's on-disk cache of compiled env code consistent with its sources.

Numba's ``cache=True`` stamps a cached function with the modification time of *its own*
source file only. Env drivers inline kernels from other files (the framework in
``pufferlib/ocean/core``, the env's own module), so after editing one of those the cached
machine code would be stale. This module installs cache locators (same cache locations as
Numba's) whose stamp is a sha256 over:

- every ``.py`` file of the framework (``pufferlib/ocean/core``), plus
- the files a function names in its globals as ``__pufferlib_sources__`` (the framework
  sets it on the drivers it derives for an env: the env's own module, or the whole folder
  of an env split into a package), or else the function's own file (its folder when it
  lives in a sub-package of ``pufferlib/ocean``).

So editing one env recompiles that env only; editing the framework recompiles every env.
Functions outside ``pufferlib/ocean`` without ``__pufferlib_sources__`` are cached as
Numba does by default.

Uses Numba internals (``numba.core.caching``); if they are missing, Numba's default
behaviour is kept.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

OCEAN = Path(__file__).resolve().parent.parent
FRAMEWORK = Path(__file__).resolve().parent


def _files(path: Path):
    if path.is_dir():
        return sorted(path.rglob("*.py"))
    return [path]


@functools.lru_cache(maxsize=None)
def sources_digest(paths: tuple = ()) -> bytes:
    """sha256 over the framework's ``.py`` files and the files / folders in ``paths``."""
    h = hashlib.sha256()
    seen = set()
    for root in (FRAMEWORK, *(Path(p).resolve() for p in paths)):
        for path in _files(root):
            if path in seen:
                continue
            seen.add(path)
            h.update(path.as_posix().encode())
            h.update(path.read_bytes())
    return h.digest()


def own_sources(py_file) -> tuple:
    """The sources that stamp a function defined in ``py_file``: its folder if that is a
    sub-package of ``pufferlib/ocean`` other than the framework, else the file itself."""
    path = Path(py_file).resolve()
    parent = path.parent
    if parent != OCEAN and parent != FRAMEWORK and parent.is_relative_to(OCEAN):
        return (str(parent),)
    return (str(path),)


def _sources_of(py_func, py_file):
    declared = getattr(py_func, "__globals__", {}).get("__pufferlib_sources__")
    if declared:
        return tuple(declared)
    try:
        if Path(py_file).resolve().is_relative_to(OCEAN):
            return own_sources(py_file)
    except (OSError, ValueError):
        pass
    return None


def _locator(base):
    class PufferLocator(base):
        def get_source_stamp(self):
            return sources_digest(self._puffer_sources)

        @classmethod
        def from_function(cls, py_func, py_file):
            sources = _sources_of(py_func, py_file)
            if sources is None:
                return None
            self = super().from_function(py_func, py_file)
            if self is not None:
                self._puffer_sources = sources
            return self

    PufferLocator.__name__ = PufferLocator.__qualname__ = "Puffer" + base.__name__.lstrip("_")
    return PufferLocator


def install() -> bool:
    """Put the locators first in Numba's locator list (idempotent). True if installed."""
    try:
        from numba.core import caching
    except ImportError:  # pragma: no cover
        return False
    names = ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")
    bases = [getattr(caching, n, None) or getattr(caching, "_" + n, None) for n in names]
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    if impl is None or None in bases or os.environ.get("NUMBA_CACHE_LOCATOR_CLASSES"):
        return False
    classes = impl._locator_classes
    if any(getattr(c, "__name__", "").startswith("Puffer") for c in classes):
        return True
    classes[0:0] = [_locator(b) for b in bases]
    return True


install()
