"""Third-party environment families: ``pufferlib.make('<family>-<name>')``.

``pufferlib.make('atari-pong', num_envs=128)`` is ``make('atari', 'pong', num_envs=128)``
here: the family module ``pufferlib.environments.atari`` resolves ``'pong'`` to the
package's own id (``ALE/Pong-v5``) and builds a PufferEnv. See
``docs/third-party-environments.md`` for every family, its install line and its limits;
``puffer list`` prints which families are installed.

The family protocol. Each family is a module ``pufferlib/environments/<family>.py`` that
imports nothing heavy at module level (its package is imported inside its functions) and
defines:

- ``REQUIRES: tuple[str, ...]``: import names that must be importable, e.g. ``("ale_py", "cv2")``;
- ``INSTALL: str``: the exact install line, e.g. ``pip install 'pufferlib-numba[atari]'``;
- ``DESCRIPTION: str``: one line for ``puffer list``;
- ``env_names() -> list[str]``: the family's known env names (called only when installed;
  may import the package);
- ``make(name, num_envs=1, **kwargs)``: a PufferEnv (vectorized when ``num_envs > 1``),
  raising :class:`~pufferlib.APIUsageError` for an unknown name (listing close matches, see
  :func:`resolve_name`) or bad keyword arguments, and
  :class:`~pufferlib.EnvironmentSetupError` with the install line when a dependency is
  missing (see :func:`require`), or saying what the user can do when the family cannot work
  on this machine.

Names. :func:`resolve_name` is the one normaliser all families use: case, dashes,
underscores, spaces, a namespace (``ALE/``) and a version suffix (``-v5``, ``_v10``) do not
matter; a name without a version gets the highest version; a name with one must match it.
So ``'pong'``, ``'Pong'`` and ``'pong-v5'`` all resolve to ``ALE/Pong-v5``, and
``'knights-archers-zombies'`` to ``knights_archers_zombies_v10``.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import re

from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

#: Family name -> module implementing the family protocol (see the module docstring).
FAMILIES = {
    "atari": "pufferlib.environments.atari",
    "procgen": "pufferlib.environments.procgen",
    "minigrid": "pufferlib.environments.minigrid",
    "crafter": "pufferlib.environments.crafter",
    "nethack": "pufferlib.environments.nethack",
    "minihack": "pufferlib.environments.minihack",
    "pettingzoo": "pufferlib.environments.pettingzoo",
    "magent": "pufferlib.environments.magent",
    "griddly": "pufferlib.environments.griddly",
    "microrts": "pufferlib.environments.microrts",
    "nmmo": "pufferlib.environments.nmmo",
    "pokemon_red": "pufferlib.environments.pokemon_red",
    "gpudrive": "pufferlib.environments.gpudrive",
}

#: Other spellings of family names (compared after :func:`_family_key`).
ALIASES = {
    "ale": "atari",
    "neuralmmo": "nmmo",
    "neural_mmo": "nmmo",
    "pokemon": "pokemon_red",
    "pokemonred": "pokemon_red",
    "gpu_drive": "gpudrive",
    "gym_microrts": "microrts",
}

_VERSION = re.compile(r"[-_]v(\d+)$", re.IGNORECASE)


# ---- names --------------------------------------------------------------------------------
def _family_key(text: str) -> str:
    return re.sub(r"[-\s]+", "_", text.strip().lower())


def family_name(family: str) -> str:
    """The canonical family name for ``family`` (``'Pokemon-Red'`` -> ``'pokemon_red'``).

    Raises:
        APIUsageError: not a str, or not a known family (the message lists them).
    """
    if not isinstance(family, str):
        raise APIUsageError(f"family must be a str, got {type(family).__name__}")
    key = _family_key(family)
    key = ALIASES.get(key, key)
    if key not in FAMILIES:
        close = difflib.get_close_matches(key, list(FAMILIES) + list(ALIASES), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise APIUsageError(f"unknown environment family {family!r}{hint} Families: {', '.join(FAMILIES)}")
    return key


def split_name(name: str):
    """``'atari-pong'`` -> ``('atari', 'pong')``; ``'nmmo'`` -> ``('nmmo', '')``; None when
    ``name`` does not start with a family name (or alias) followed by ``-`` or ``_`` (or is
    not exactly one). The longest matching family wins (``'pokemon-red-x'`` is Pokemon Red)."""
    if not isinstance(name, str):
        return None
    lowered = name.lower()
    spellings = {}
    for key in list(FAMILIES) + list(ALIASES):
        family = ALIASES.get(key, key)
        for spelling in {key, key.replace("_", "-"), key.replace("_", "")}:
            spellings[spelling] = family
    for spelling in sorted(spellings, key=len, reverse=True):
        if lowered == spelling:
            return spellings[spelling], ""
        if lowered.startswith(spelling) and lowered[len(spelling)] in "-_":
            return spellings[spelling], name[len(spelling) + 1:]
    return None


def name_key(name: str) -> str:
    """The comparison key of an env name: lower case, no namespace (``ALE/``), no version
    suffix, only letters and digits. ``'ALE/Pong-v5'``, ``'pong'``, ``'PONG-v5'`` -> ``'pong'``."""
    base = name.rsplit("/", 1)[-1]
    base = _VERSION.sub("", base)
    return re.sub(r"[^0-9a-z]", "", base.lower())


def name_version(name: str):
    """The version suffix of ``name`` as an int (``'ALE/Pong-v5'`` -> 5), or None."""
    m = _VERSION.search(name)
    return int(m.group(1)) if m else None


def slug(name: str) -> str:
    """A short, readable spelling of a package's env id for ``'<family>-<slug>'``:
    no namespace or version, CamelCase split by dashes, lower case.
    ``'ALE/MontezumaRevenge-v5'`` -> ``'montezuma-revenge'``; ``'knights_archers_zombies_v10'``
    -> ``'knights-archers-zombies'``."""
    base = _VERSION.sub("", name.rsplit("/", 1)[-1])
    base = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", base)
    return re.sub(r"[-_\s]+", "-", base).strip("-").lower()


def resolve_name(name: str, known, family: str) -> str:
    """The entry of ``known`` that ``name`` means (see the module docstring's rule).

    Args:
        name: what the user wrote after ``'<family>-'``.
        known: the family's env ids (e.g. ``['ALE/Pong-v5', ...]``).
        family: the family name, for messages.

    Returns:
        The matching entry of ``known`` (the highest version when ``name`` has none).

    Raises:
        APIUsageError: ``name`` is empty, or matches nothing (the message lists close
            matches and how to see every name), or its version does not exist.
    """
    known = list(known)
    if not isinstance(name, str) or not name.strip():
        examples = ", ".join(f"'{family}-{slug(k)}'" for k in known[:3])
        raise APIUsageError(f"give a {family} env name: pufferlib.make('{family}-<name>'), e.g. {examples}")
    if name in known:
        return name
    key, version = name_key(name), name_version(name)
    matches = [k for k in known if name_key(k) == key]
    if version is not None:
        exact = [k for k in matches if name_version(k) == version]
        if not exact and matches:
            have = sorted({name_version(k) for k in matches if name_version(k) is not None})
            raise APIUsageError(f"{family} env {name!r}: version v{version} is not available; "
                                f"versions: {', '.join(f'v{v}' for v in have)}")
        matches = exact
    if matches:
        return max(matches, key=lambda k: (name_version(k) or -1, k))
    by_key = {}
    for k in known:
        by_key.setdefault(name_key(k), k)
    close = difflib.get_close_matches(key, list(by_key), n=5, cutoff=0.6)
    hint = f" Close matches: {', '.join(slug(by_key[c]) for c in close)}." if close else ""
    raise APIUsageError(f"unknown {family} env {name!r}.{hint} All names: "
                        f"pufferlib.environments.env_names({family!r})")


# ---- families -----------------------------------------------------------------------------
def load(family: str):
    """Import and return the family module (cheap: family modules import their package lazily).

    Raises:
        APIUsageError: unknown family.
        EnvironmentSetupError: the family module is not part of this version of pufferlib.
    """
    family = family_name(family)
    path = FAMILIES[family]
    if not available(family):
        raise EnvironmentSetupError(
            f"the {family} family is not available in this version of pufferlib (module {path} is missing); "
            f"families that are: {', '.join(f for f in FAMILIES if available(f))}")
    return importlib.import_module(path)


def available(family: str) -> bool:
    """Whether the family's module is part of this version of pufferlib (its dependencies
    may still be missing: see :func:`installed`). Raises APIUsageError for an unknown family."""
    return importlib.util.find_spec(FAMILIES[family_name(family)]) is not None


def _spec_exists(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):      # a parent package that is missing or broken
        return False


def missing(family_or_module) -> list:
    """The import names of the family's ``REQUIRES`` that are not importable (no import is made)."""
    module = load(family_or_module) if isinstance(family_or_module, str) else family_or_module
    return [r for r in module.REQUIRES if not _spec_exists(r)]


def installed(family: str) -> bool:
    """Whether every import name in the family's ``REQUIRES`` can be found (with
    ``importlib.util.find_spec``; nothing heavy is imported). False for a family whose module
    is not in this version of pufferlib.

    Raises:
        APIUsageError: unknown family.
    """
    try:
        return not missing(family)
    except EnvironmentSetupError:
        return False


def require(module) -> None:
    """Raise EnvironmentSetupError naming what is missing and the family's ``INSTALL`` line,
    when any of ``module.REQUIRES`` cannot be imported. ``module`` is a family module or name."""
    module = load(module) if isinstance(module, str) else module
    absent = missing(module)
    if absent:
        family = next((f for f, path in FAMILIES.items() if path == module.__name__),
                      module.__name__.rsplit(".", 1)[-1])
        raise EnvironmentSetupError(
            f"{family} environments need {', '.join(absent)}, which {'is' if len(absent) == 1 else 'are'} "
            f"not installed. Install with: {module.INSTALL}")


def env_names(family: str) -> list:
    """The family's known env names (its package's ids).

    Raises:
        APIUsageError: unknown family. EnvironmentSetupError: the family is not installed.
    """
    module = load(family)
    require(module)
    return list(module.env_names())


def make(family: str, name: str = "", /, num_envs: int = 1, **kwargs):
    """Build env ``name`` of ``family`` as a PufferEnv (``pufferlib.make('<family>-<name>')``).

    Args:
        family: a key of :data:`FAMILIES` or an alias (case, ``-`` / ``_`` ignored).
        name: the env name inside the family (resolved by :func:`resolve_name`).
        num_envs: environments, >= 1 (the family vectorizes them; see its ``make``), or
            None for the family's default (1, or e.g. 4 worlds for ``nmmo``).
        **kwargs: the family's options (see its module's ``make`` docstring).

    Returns:
        A PufferEnv with ``num_agents`` agents (per family: usually ``num_envs`` times the
        agents of one env).

    Raises:
        APIUsageError: unknown family or name, bad keyword arguments, ``num_envs`` < 1.
        EnvironmentSetupError: a dependency is missing (the message has the install line),
            or the family cannot run here (the message says what is needed).
    """
    from pufferlib.checks import check_int
    module = load(family)
    if num_envs is not None:
        kwargs["num_envs"] = check_int("num_envs", num_envs, 1)
    require(module)
    return module.make(name, **kwargs)


def status() -> list:
    """One dict per family, in :data:`FAMILIES` order: ``family``, ``available`` (its module is
    part of this pufferlib), ``installed`` (its dependencies are importable), ``install``
    (the install line) and ``description``."""
    rows = []
    for family, path in FAMILIES.items():
        try:
            module = load(family)
        except EnvironmentSetupError:
            rows.append({"family": family, "available": False, "installed": False, "install": "",
                         "description": f"not available in this version ({path} missing)"})
            continue
        rows.append({"family": family, "available": True, "installed": not missing(module),
                     "install": module.INSTALL, "description": module.DESCRIPTION})
    return rows


# ---- helpers for family modules -----------------------------------------------------------
def make_emulated(factory, num_envs=1, *, label, backend=None, wrapper=None, env_kwargs=None, **kwargs):
    """Wrap envs built by ``factory(**env_kwargs)`` with the emulation layer, vectorized with
    :func:`pufferlib.vector.make` when ``num_envs > 1`` or a ``backend`` is given (default
    backend ``'Serial'``), as ``pufferlib.make('gym-<id>')`` does.

    Args:
        factory: picklable callable returning a ``gymnasium.Env`` (or a PettingZoo
            ParallelEnv with ``wrapper=PettingZooPufferEnv``): a module-level function or a
            ``functools.partial`` of one (Multiprocessing workers call it).
        num_envs: environments (one emulated env each).
        label: how the env is named in messages, e.g. ``"make('minigrid-empty-5x5')"``.
        backend: vectorization backend (``'Serial'``, ``'Multiprocessing'``, ``'Ray'``).
        wrapper: ``GymnasiumPufferEnv`` (default) or ``PettingZooPufferEnv``.
        env_kwargs: keyword arguments of ``factory``.
        **kwargs: ``seed`` / ``buf`` and the options of ``pufferlib.vector.make``
            (``num_workers``, ``batch_size``, ...) go to the vectorizer; any other keyword
            goes to ``factory``.

    Raises:
        APIUsageError: vector options without vectorization, bad vector options.
    """
    from pufferlib.emulation import GymnasiumPufferEnv
    from pufferlib.emulation.factories import _Creator, _single, _split_kwargs, _vectorize
    env_kw, vec_kw = _split_kwargs(kwargs, env_kwargs)
    creator = _Creator(wrapper or GymnasiumPufferEnv, factory, (), env_kw)
    if num_envs == 1 and backend is None:
        return _single(creator, vec_kw, label)
    return _vectorize(creator, num_envs, backend, vec_kw)
