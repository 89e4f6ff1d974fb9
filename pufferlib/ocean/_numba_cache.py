"""Keep Numba's on-disk cache of the Ocean kernels consistent with their sources.

Numba's ``cache=True`` stamps a cached function with a hash of *its own* source file
only. Ocean drivers inline kernels from other files (``core.py``, ``rng.py``, an env's
kernels), so after editing one of those the cached machine code of the drivers would be
stale. For files under ``pufferlib/ocean`` this module installs cache locators (the same
cache locations as Numba's) whose stamp is a hash of every ``.py`` file of the package:
any edit there invalidates all Ocean cache entries. Other code is cached as usual.

Uses Numba internals (``numba.core.caching``); if they are missing, Numba's default
behaviour is kept.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

_OCEAN = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def sources_digest() -> bytes:
    """sha256 over the relative paths and contents of every ``pufferlib/ocean/**/*.py``."""
    h = hashlib.sha256()
    for path in sorted(_OCEAN.rglob("*.py")):
        h.update(path.relative_to(_OCEAN).as_posix().encode())
        h.update(path.read_bytes())
    return h.digest()


def _in_ocean(py_file: str) -> bool:
    try:
        return Path(py_file).resolve().is_relative_to(_OCEAN)
    except (OSError, ValueError):
        return False


def _locator(base):
    class OceanLocator(base):
        def get_source_stamp(self):
            return sources_digest()

        @classmethod
        def from_function(cls, py_func, py_file):
            if not _in_ocean(py_file):
                return None
            return super().from_function(py_func, py_file)

    OceanLocator.__name__ = OceanLocator.__qualname__ = "Ocean" + base.__name__.lstrip("_")
    return OceanLocator


def install() -> bool:
    """Put the Ocean locators first in Numba's locator list (idempotent). True if installed."""
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
    if any(getattr(c, "__name__", "").startswith("Ocean") for c in classes):
        return True
    classes[0:0] = [_locator(b) for b in bases]
    return True


install()
