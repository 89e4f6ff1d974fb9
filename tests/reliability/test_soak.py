"""A short soak: step Squared (512 envs) for 2 s natively and through Multiprocessing (2 workers),
reading state() now and then, and check that the resident memory of every process involved
does not grow. benchmarks/bench_soak.py runs the same loop for longer and prints a table.

Measured on the development machine: growth +0.1 to +0.2 MB over 2-3 s (about 300k-480k native
steps, 40k Multiprocessing steps per worker); the bound, 8 MB, is 40 times that noise. Keeping one
8-float array alive per step (about 200 bytes) grows the native run by about 60 MB and the
Multiprocessing workers by about 9 MB, so such a leak fails the test.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import os

import pytest

pytestmark = pytest.mark.usefixtures("guard")

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "bench_soak.py")
GROWTH_MB = 8.0


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_soak", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("backend", ["native", "Multiprocessing"])
def test_rss_does_not_grow_while_stepping(backend):
    bench = load_bench()
    gc.collect()
    args = argparse.Namespace(env="squared", num_envs=512, workers=2, seconds=2.0, state_every=1000)
    row = bench.soak(backend, args)
    assert row["steps"] >= 1000, row
    assert row["processes"] == (1 if backend == "native" else 3), row
    assert row["growth"] < GROWTH_MB, f"RSS grew {row['growth']:.1f} MB in {row['seconds']:.1f} s: {row}"
