"""The same seed gives the same observations on every backend: every registered Ocean env,
4 envs natively vs 2 instances of 2 envs through pufferlib.vector Serial / Multiprocessing
(the conformance suite checks one-env instances); CLI smoke tests."""
import copy
import pickle

import numpy as np
import pytest

import pufferlib.vector
from pufferlib.cli import main
from pufferlib.ocean import ENVS, env_creator
from pufferlib.ocean.squared import Squared
from pufferlib.spaces import sample_actions


def trajectory(env, actions, seed):
    obs, _ = env.reset(seed)
    out = [obs.copy()]
    for a in actions:
        obs, rew, term, trunc, _ = env.step(a)
        out.append(np.concatenate([obs.reshape(len(obs), -1).astype(np.float64),
                                   rew[:, None], term[:, None], trunc[:, None]], axis=1))
    return out


@pytest.mark.parametrize("name", sorted(ENVS))
@pytest.mark.parametrize("backend", ["Serial", "Multiprocessing"])
def test_backends_match_native(name, backend):
    cls = env_creator(name)
    kw = {k: v for k, v in cls.test_config().items() if k != "num_envs"}
    native = cls(num_envs=4, **kw)
    actions = sample_actions(native.single_action_space, native.num_agents, np.random.default_rng(1), steps=25)
    expected = trajectory(native, actions, seed=77)
    # 4 envs as 2 instances of 2 envs: instance k is reset with seed + 2k
    extra = {"num_workers": 2} if backend == "Multiprocessing" else {}
    vec = pufferlib.vector.make(cls, env_kwargs=dict(kw, num_envs=2), backend=backend, num_envs=2, **extra)
    try:
        got = trajectory(vec, actions, seed=77)
    finally:
        vec.close()
    for t, (a, b) in enumerate(zip(expected, got)):
        np.testing.assert_array_equal(a, b, err_msg=f"{backend} differs from native at step {t}")


def test_native_backend_returns_the_env():
    env = pufferlib.vector.make(Squared, env_kwargs=dict(num_envs=3), backend="Native")
    assert isinstance(env, Squared) and env.num_agents == 3


def test_numba_env_cannot_be_copied():
    env = Squared(num_envs=2)
    for attempt in (lambda: pickle.dumps(env), lambda: copy.deepcopy(env)):
        with pytest.raises(TypeError, match="cannot be pickled"):
            attempt()


def test_cli_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "puffer_snake" in out and "puffer_squared" in out


@pytest.mark.parametrize("argv", [
    ["bench", "squared", "--seconds", "0.2"],
    ["bench", "snake", "--num-envs", "2", "--seconds", "0.2", "--env-kwarg", "width=30",
     "--env-kwarg", "height=30", "--env-kwarg", "num_snakes=4", "--env-kwarg", "num_food=10"],
    ["bench", "puffer_squared", "--num-envs", "4", "--backend", "serial", "--num-workers", "2",
     "--seconds", "0.2"],
])
def test_cli_bench_summary_line(argv, capsys):
    assert main(argv) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("env=") and "backend=" in line
    sps = float(line.rsplit("SPS=", 1)[1].replace(",", ""))
    assert sps > 0


@pytest.mark.parametrize("argv", [
    ["bench", "nope"], ["bench", "squared", "--seconds", "0"],
    ["bench", "squared", "--num-envs", "3", "--backend", "serial", "--num-workers", "2"],
    ["bench", "squared", "--env-kwarg", "size"], ["bench", "squared", "--env-kwarg", "size=4"]])
def test_cli_bench_errors(argv, capsys):
    assert main(argv) == 2
    assert "puffer: error:" in capsys.readouterr().err
