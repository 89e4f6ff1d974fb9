"""The third-party family dispatcher (pufferlib.environments) without any optional package:
name parsing and normalising, missing dependencies, unavailable families, `puffer list`."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import pufferlib
from pufferlib import environments
from pufferlib.cli import main as puffer
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

MINE = ("atari", "procgen", "microrts", "nmmo", "pokemon_red", "gpudrive")


@pytest.mark.parametrize("name, expected", [
    ("atari-pong", ("atari", "pong")),
    ("ATARI_Pong-v5", ("atari", "Pong-v5")),
    ("ale-pong", ("atari", "pong")),
    ("procgen-coinrun", ("procgen", "coinrun")),
    ("pettingzoo-knights-archers-zombies", ("pettingzoo", "knights-archers-zombies")),
    ("nmmo", ("nmmo", "")),
    ("neuralmmo", ("nmmo", "")),
    ("nmmo-3", ("nmmo", "3")),
    ("pokemon-red", ("pokemon_red", "")),
    ("pokemon_red", ("pokemon_red", "")),
    ("microrts-bases-workers-16x16", ("microrts", "bases-workers-16x16")),
    ("nmmo3", None), ("puffer_nmmo3", None), ("snake", None), ("pong", None), ("atarix-pong", None),
])
def test_split_name(name, expected):
    assert environments.split_name(name) == expected


KNOWN = ["ALE/Pong-v5", "ALE/Pong-v4", "ALE/MontezumaRevenge-v5", "knights_archers_zombies_v10",
         "knights_archers_zombies_v9"]


@pytest.mark.parametrize("name, expected", [
    ("pong", "ALE/Pong-v5"), ("Pong", "ALE/Pong-v5"), ("PONG-v4", "ALE/Pong-v4"), ("ALE/Pong-v4", "ALE/Pong-v4"),
    ("montezuma-revenge", "ALE/MontezumaRevenge-v5"), ("montezuma_revenge", "ALE/MontezumaRevenge-v5"),
    ("knights-archers-zombies", "knights_archers_zombies_v10"),
    ("knights_archers_zombies_v9", "knights_archers_zombies_v9"),
])
def test_resolve_name_ignores_case_separators_and_takes_the_highest_version(name, expected):
    assert environments.resolve_name(name, KNOWN, "test") == expected


def test_resolve_name_errors_list_close_matches_and_versions():
    with pytest.raises(APIUsageError, match=r"unknown test env 'pongg'\. Close matches: pong\b"):
        environments.resolve_name("pongg", KNOWN, "test")
    with pytest.raises(APIUsageError, match=r"version v7 is not available; versions: v4, v5"):
        environments.resolve_name("pong-v7", KNOWN, "test")
    with pytest.raises(APIUsageError, match=r"give a test env name: pufferlib.make\('test-<name>'\), e.g. 'test-pong'"):
        environments.resolve_name("", KNOWN, "test")


def test_slug_and_keys():
    assert environments.slug("ALE/MontezumaRevenge-v5") == "montezuma-revenge"
    assert environments.slug("knights_archers_zombies_v10") == "knights-archers-zombies"
    assert environments.name_key("ALE/Pong-v5") == environments.name_key("pong") == "pong"
    assert environments.name_version("knights_archers_zombies_v10") == 10
    assert environments.name_version("pong") is None


def test_family_names_and_aliases():
    assert environments.family_name("Pokemon-Red") == "pokemon_red"
    assert environments.family_name("neuralmmo") == "nmmo"
    with pytest.raises(APIUsageError, match=r"unknown environment family 'atary'; did you mean 'atari'"):
        environments.family_name("atary")
    for family in MINE:
        assert environments.available(family)
        module = environments.load(family)
        assert isinstance(module.REQUIRES, tuple) and module.INSTALL and module.DESCRIPTION
        assert callable(module.env_names) and callable(module.make)


@pytest.fixture
def fake_family(tmp_path, monkeypatch):
    """A family whose dependency is not installed; its make must never be reached."""
    (tmp_path / "fake_family_for_test.py").write_text(textwrap.dedent('''
        REQUIRES = ("numpy", "no_such_module_for_pufferlib_test")
        INSTALL = "pip install 'pufferlib-numba[fake]'"
        DESCRIPTION = "a fake family"
        def env_names():
            raise AssertionError("env_names called without the dependency")
        def make(name, num_envs=1, **kwargs):
            raise AssertionError("make called without the dependency")
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(environments.FAMILIES, "fakefam", "fake_family_for_test")
    return "fakefam"


def test_missing_dependency_raises_setup_error_with_the_install_line(fake_family):
    assert not environments.installed(fake_family)
    assert environments.missing(fake_family) == ["no_such_module_for_pufferlib_test"]
    expected = (r"fakefam environments need no_such_module_for_pufferlib_test, which is not installed\. "
                r"Install with: pip install 'pufferlib-numba\[fake\]'")
    with pytest.raises(EnvironmentSetupError, match=expected):
        pufferlib.make("fakefam-anything", num_envs=4)
    with pytest.raises(EnvironmentSetupError, match=expected):
        environments.env_names(fake_family)
    row = [r for r in environments.status() if r["family"] == fake_family][0]
    assert row == {"family": "fakefam", "available": True, "installed": False,
                   "install": "pip install 'pufferlib-numba[fake]'", "description": "a fake family"}


def test_a_family_module_that_is_not_there_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(environments.FAMILIES, "ghost", "pufferlib.environments.ghost_not_written")
    assert not environments.available("ghost") and not environments.installed("ghost")
    with pytest.raises(EnvironmentSetupError, match=r"the ghost family is not available in this version of "
                                                    r"pufferlib \(module pufferlib.environments.ghost_not_written"):
        pufferlib.make("ghost-x")
    row = [r for r in environments.status() if r["family"] == "ghost"][0]
    assert row["available"] is False and row["installed"] is False


def test_bad_num_envs_is_refused_before_the_family_runs(fake_family, monkeypatch):
    monkeypatch.setitem(environments.FAMILIES, "fakefam", "pufferlib.environments.nmmo")
    with pytest.raises(APIUsageError, match="num_envs must be"):
        environments.make("fakefam", "", num_envs=0)


def test_puffer_list_shows_every_family_and_install_lines(fake_family, capsys):
    assert puffer(["list"]) == 0
    out = capsys.readouterr().out
    assert "puffer_snake" in out
    lines = {line.split()[0]: line for line in out.splitlines()[out.splitlines().index(
        "Third-party families: pufferlib.make('<family>-<name>') (docs/third-party-environments.md)") + 1:]}
    assert set(environments.FAMILIES) <= set(lines)
    assert "missing" in lines["fakefam"] and "[install: pip install 'pufferlib-numba[fake]']" in lines["fakefam"]
    assert "installed" in lines["nmmo"] and "[install:" not in lines["nmmo"]


def test_listing_imports_no_family_package():
    code = ("import sys, pufferlib.environments as e; e.status(); e.installed('atari'); "
            "print(sorted(m for m in ('ale_py', 'cv2', 'procgen', 'gym_microrts', 'pyboy', 'jpype') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_nmmo_names_reach_puffer_nmmo3():
    # An argument NMMO3 does not take is refused by the Ocean registry, naming NMMO3's arguments:
    # proof the name was routed there (nothing is built).
    for name in ("nmmo", "neuralmmo", "nmmo-3", "NMMO_nmmo3", "neural-mmo"):
        with pytest.raises(APIUsageError, match=r"puffer_nmmo3 does not take bogus; its arguments are: .*num_players"):
            pufferlib.make(name, bogus=1)
    with pytest.raises(APIUsageError, match="unknown nmmo env 'minigame'"):
        pufferlib.make("nmmo-minigame")


def test_pokemon_red_needs_a_rom():
    from pufferlib.environments import pokemon_red
    with pytest.raises(EnvironmentSetupError, match=r"Pokemon Red needs a ROM you supply .*rom_path="):
        pokemon_red.make("")
    with pytest.raises(EnvironmentSetupError, match=r"ROM '/no/such/rom.gb' is not a file"):
        pokemon_red.make("", rom_path="/no/such/rom.gb")
    with pytest.raises(EnvironmentSetupError):       # pyboy missing, or no ROM: either way a setup error
        pufferlib.make("pokemon-red")


def test_gpudrive_explains_what_it_needs():
    from pufferlib.environments import gpudrive
    with pytest.raises(EnvironmentSetupError, match="CUDA 12 and the Waymo Open Motion Dataset"):
        pufferlib.make("gpudrive")
    with pytest.raises(EnvironmentSetupError, match="GPUDriveTorchEnv"):
        gpudrive.make("")
