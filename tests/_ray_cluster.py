"""One local Ray cluster for the whole test session, shared by every test module that imports
the ``ray_cluster`` fixture (``from _ray_cluster import ray_cluster``).

Ray takes seconds to start, so it is started once (``ray.init(num_cpus=2)``) by the first test
that needs it and shut down at the end of the session. Its worker processes get this
checkout and tests/ on ``PYTHONPATH``, so actors can import the env classes that test modules
define (Ray pickles them by reference). Tests are skipped where ``ray`` is not installed.
"""
import os

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)


@pytest.fixture(scope="session")
def ray_cluster():
    """The ``ray`` module, initialized (a local Ray with 2 CPUs, no dashboard)."""
    ray = pytest.importorskip("ray")
    old = os.environ.get("PYTHONPATH")
    started = not ray.is_initialized()
    if started:
        # Ray's raylet starts the worker processes with this process's environment
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, TESTS, old) if p)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        if ray.is_initialized():
            ray.shutdown()
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
