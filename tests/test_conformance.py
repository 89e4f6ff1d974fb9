"""One conformance suite over the registry: every Ocean env, every check of
pufferlib.ocean.testing. Adding an env to ``pufferlib.ocean.ENVS`` adds it here.
(The CPU == GPU check runs in tests/test_cudasim.py, under the CUDA simulator.)"""
import pytest

from pufferlib.ocean import ENVS, env_creator
from pufferlib.ocean.testing import CHECKS, CheckSkipped, check_env

CPU_CHECKS = [name for name in CHECKS if name != "cuda_matches_cpu"]


@pytest.mark.parametrize("check", CPU_CHECKS)
@pytest.mark.parametrize("name", sorted(ENVS))
def test_conformance(name, check):
    try:
        CHECKS[check](env_creator(name))
    except CheckSkipped as exc:
        pytest.skip(str(exc))


def test_check_env_reports_every_check():
    report = check_env(env_creator("squared"), skip=("native_matches_vector", "compiles_to_ptx"))
    assert set(report) == set(CHECKS) - {"native_matches_vector", "compiles_to_ptx"}
    assert report["contract"] == "passed"
    assert all(v == "passed" or v.startswith("skipped:") for v in report.values())
