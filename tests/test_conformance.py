"""One conformance suite over the registry: every Ocean env, every check of
pufferlib.ocean.testing. Adding an env to ``pufferlib.ocean.ENVS`` adds it here.
(The CPU == GPU check runs in tests/test_cudasim.py, under the CUDA simulator.)"""
import subprocess
import sys

import pytest

from pufferlib.ocean import ENVS, env_creator
from pufferlib.ocean.testing import CHECKS, CheckSkipped, check_env

CPU_CHECKS = [name for name in CHECKS if name != "cuda_matches_cpu"]


@pytest.mark.parametrize("check", CPU_CHECKS)
@pytest.mark.parametrize("name", sorted(ENVS))
def test_conformance(name, check):
    if check == "threads_match_serial":
        # In a child process: once GNU OpenMP runs in this one, Multiprocessing must switch
        # to 'forkserver', which cannot import the creators later tests define inline.
        code = (f"from pufferlib.ocean import env_creator; from pufferlib.ocean.testing import CHECKS; "
                f"CHECKS[{check!r}](env_creator({name!r}))")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return
    try:
        CHECKS[check](env_creator(name))
    except CheckSkipped as exc:
        if check == "render":  # optional for user envs, required in the Ocean suite
            pytest.fail(f"registered env {name!r} must render: {exc}")
        pytest.skip(str(exc))


def test_check_env_reports_every_check():
    skip = ("native_matches_vector", "compiles_to_ptx", "threads_match_serial")
    report = check_env(env_creator("squared"), skip=skip)
    assert set(report) == set(CHECKS) - set(skip)
    assert report["contract"] == "passed"
    assert all(v == "passed" or v.startswith("skipped:") for v in report.values())
