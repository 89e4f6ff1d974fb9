"""``puffer bench`` and ``benchmarks/bench_ocean.py`` with any native action space.

The envs below are tiny pure-Python PufferEnvs with a MultiDiscrete and a Box action
space. ``puffer bench MODULE:CLASS`` benches any PufferEnv class, so the CLI runs them
end to end; every step validates its actions against the action space.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import pufferlib
from pufferlib.cli import action_cache, main, make_bench_env, resolve_env
from pufferlib.spaces import check_actions

ROOT = Path(__file__).resolve().parent.parent
MULTI = gymnasium.spaces.MultiDiscrete([3, 5], start=[-1, 10])
BOX = gymnasium.spaces.Box(low=np.float32([-1, 0, -np.inf]), high=np.float32([1, np.inf, np.inf]),
                           dtype=np.float32)


class _Recording(pufferlib.PufferEnv):
    """``num_envs`` envs of 2 agents each; remembers every action batch it was stepped with
    (``seen``, shared by all instances of the class) after checking it against its space."""
    space = None
    seen: list = []

    def __init__(self, num_envs=1, num_threads=1, buf=None, seed=0):
        self.single_observation_space = gymnasium.spaces.Box(0, 1, (3,), np.float32)
        self.single_action_space = self.space
        self.num_agents = 2 * num_envs
        self.num_envs = num_envs
        super().__init__(buf)

    def reset(self, seed=None):
        self.observations[:] = 0
        return self.observations, []

    def step(self, actions):
        check_actions(self.single_action_space, actions, self.num_agents)
        type(self).seen.append(np.array(actions, copy=True))
        self.rewards[:] = 1.0
        return self.observations, self.rewards, self.terminals, self.truncations, []

    def close(self):
        pass


class MultiDiscreteEnv(_Recording):
    space = MULTI
    seen = []


class BoxEnv(_Recording):
    space = BOX
    seen = []


class OneEnvBox(pufferlib.PufferEnv):
    """One env per object, no num_envs / num_threads / seed arguments (like an emulated env)."""
    seen = []

    def __init__(self, buf=None):
        self.single_observation_space = gymnasium.spaces.Box(0, 1, (1,), np.float32)
        self.single_action_space = gymnasium.spaces.Box(0, 255, (2, 2), np.uint8)
        self.num_agents = 1
        super().__init__(buf)

    def reset(self, seed=None):
        return self.observations, []

    def step(self, actions):
        check_actions(self.single_action_space, actions, self.num_agents)
        OneEnvBox.seen.append(np.array(actions, copy=True))
        return self.observations, self.rewards, self.terminals, self.truncations, []


def spec(cls) -> str:
    return f"{__name__}:{cls.__name__}"


def summary(capsys) -> dict:
    line = capsys.readouterr().out.strip().splitlines()[-1]
    fields = dict(kv.split("=", 1) for kv in line.split())
    fields["SPS"] = float(fields["SPS"].replace(",", ""))
    return fields


# ---- the action cache ---------------------------------------------------------------------
@pytest.mark.parametrize("space, dtype", [
    (gymnasium.spaces.Discrete(4), np.int32), (MULTI, np.int32), (BOX, np.float32),
    (gymnasium.spaces.Box(-3, 3, (2,), np.int16), np.int16)])
def test_action_cache_draws_valid_batches_of_any_native_space(space, dtype):
    cache = action_cache(space, 6, np.random.default_rng(0), max_batches=50)
    assert cache.shape == (50, 6, *space.shape) and cache.dtype == dtype
    assert cache.flags.c_contiguous and cache[7].flags.c_contiguous
    for batch in cache:
        check_actions(space, batch, 6)                   # raises if any value is outside the space
    assert len(np.unique(cache)) > 1                     # random, not constant
    again = action_cache(space, 6, np.random.default_rng(0), max_batches=50)
    assert np.array_equal(cache, again)                  # the seed decides


def test_action_cache_respects_the_memory_cap():
    space = gymnasium.spaces.Box(-1, 1, (8,), np.float32)   # 4 agents: 128 bytes a batch
    assert len(action_cache(space, 4, np.random.default_rng(0))) == 1024
    assert len(action_cache(space, 4, np.random.default_rng(0), max_bytes=1000)) == 7
    assert len(action_cache(space, 4, np.random.default_rng(0), max_bytes=10)) == 1   # at least one
    # drawn in pieces: still one stream of valid actions
    big = action_cache(space, 4, np.random.default_rng(1), max_batches=300, max_bytes=10**9)
    assert big.shape == (300, 4, 8) and np.abs(big).max() <= 1 and len(np.unique(big[:, 0, 0])) == 300


def test_action_cache_rejects_spaces_that_are_not_native():
    with pytest.raises(pufferlib.APIUsageError, match="Discrete, MultiDiscrete and Box"):
        action_cache(gymnasium.spaces.MultiBinary(2), 2, np.random.default_rng(0))


# ---- puffer bench MODULE:CLASS ----------------------------------------------------------------
@pytest.mark.parametrize("cls", [MultiDiscreteEnv, BoxEnv])
def test_bench_steps_multidiscrete_and_box_envs(cls, capsys):
    cls.seen.clear()
    assert main(["bench", spec(cls), "--num-envs", "3", "--seconds", "0.1"]) == 0
    out = summary(capsys)
    assert out["env"] == spec(cls) and out["backend"] == "native" and out["num_envs"] == "3"
    assert out["agents"] == "6" and out["SPS"] > 0
    # every step of the timed loop got a valid, pre-drawn random batch (checked in step)
    assert len(cls.seen) == int(out["steps"])
    batches = np.stack(cls.seen)
    assert batches.shape[1:] == (6, *cls.space.shape)
    assert len({b.tobytes() for b in batches[:64]}) > 1


@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_bench_vectorized_box_env(backend, capsys):
    argv = ["bench", spec(BoxEnv), "--num-envs", "4", "--backend", backend, "--num-workers", "2",
            "--seconds", "0.1"]
    assert main(argv) == 0
    out = summary(capsys)
    assert out["backend"] == backend and out["agents"] == "8" and out["num_workers"] == "2"
    assert out["SPS"] > 0


def test_bench_class_without_num_envs(capsys):
    OneEnvBox.seen.clear()
    assert main(["bench", spec(OneEnvBox), "--seconds", "0.05"]) == 0
    assert summary(capsys)["agents"] == "1"
    assert OneEnvBox.seen and OneEnvBox.seen[0].shape == (1, 2, 2) and OneEnvBox.seen[0].dtype == np.uint8
    # several envs: one object each, through pufferlib.vector
    assert main(["bench", spec(OneEnvBox), "--num-envs", "2", "--backend", "serial",
                 "--seconds", "0.05"]) == 0
    assert summary(capsys)["agents"] == "2"


@pytest.mark.parametrize("argv, message", [
    (["bench", f"{__name__}:NoSuchEnv"], "has no attribute 'NoSuchEnv'"),
    (["bench", "no_such_module_xyz:Env"], "cannot import module 'no_such_module_xyz'"),
    (["bench", f"{__name__}:"], "expected an Ocean env name or MODULE:CLASS"),
    (["bench", f"{__name__}:ROOT"], "is not a class or callable"),
    (["bench", f"{__name__}:OneEnvBox", "--num-envs", "2"], "simulates one env per object"),
    (["bench", f"{__name__}:OneEnvBox", "--threads", "2"], "--threads must be 1"),
    (["bench", f"{__name__}:BoxEnv", "--num-envs", "3", "--backend", "serial", "--num-workers", "2"],
     "must be divisible"),
])
def test_bench_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "puffer: error:" in err and message in err


def test_resolve_and_make_bench_env():
    name, cls = resolve_env(spec(MultiDiscreteEnv))
    assert name == spec(MultiDiscreteEnv) and cls is MultiDiscreteEnv
    env, config = make_bench_env(spec(MultiDiscreteEnv), None, "native", 1, None, {}, 0)
    assert isinstance(env, MultiDiscreteEnv) and env.num_envs == 1   # the class's own default
    assert config == {"num_envs": 1}


# ---- benchmarks/bench_ocean.py -------------------------------------------------------------
def _bench_ocean():
    spec_ = importlib.util.spec_from_file_location("bench_ocean", ROOT / "benchmarks" / "bench_ocean.py")
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module


@pytest.mark.parametrize("cls", [MultiDiscreteEnv, BoxEnv])
def test_bench_ocean_measure_any_action_space(cls):
    cls.seen.clear()
    sps = _bench_ocean().measure(cls(num_envs=2), seconds=0.05)
    assert sps > 0 and cls.seen
    assert np.stack(cls.seen).shape[1:] == (4, *cls.space.shape)


def test_puffer_render_writes_a_gif(tmp_path, capsys):
    import imageio.v3 as iio
    out = tmp_path / "squared.gif"
    assert main(["render", "squared", "--out", str(out), "--steps", "3", "--env-kwarg", "size=5"]) == 0
    frames = iio.imread(out, index=None)
    assert frames.shape[0] == 4 and frames.shape[1:3] == (80, 80)
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["render", "squared", "--out", "x.txt"], ["render", "squared", "--out", "x.gif", "--steps", "0"],
    ["render", "squared", "--out", "x.gif", "--fps", "0"], ["render", "pkg.mod:Env", "--out", "x.gif"],
    ["render", "nope", "--out", "x.gif"]])
def test_puffer_render_errors(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert "puffer: error:" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


# ---- bad arguments: one line on stderr, exit status 2, never a traceback ------------------------
class RaisesValueError(OneEnvBox):
    """Rejects its ``level`` argument with a plain ValueError, as a user's env class may."""

    def __init__(self, level=0, buf=None):
        if level > 3:
            raise ValueError(f"level must be <= 3, got {level}")
        super().__init__(buf)


class BuggyEnv(OneEnvBox):
    """An env whose constructor has a genuine bug (not a ValueError)."""

    def __init__(self, buf=None):
        raise RuntimeError("internal bug")


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("puffer: error: "), err
    return errors[0]


@pytest.mark.parametrize("argv, message", [
    (["bench", "squared", "--seconds", "nan"], "--seconds must be a finite number > 0, got nan"),
    (["bench", "squared", "--seconds", "inf"], "--seconds must be a finite number > 0, got inf"),
    (["bench", "squared", "--seconds", "-1"], "--seconds must be a finite number > 0"),
    (["bench", "squared", "--env-kwarg", "foo=1"],
     "unknown argument 'foo' for puffer_squared; valid: size, log_interval, device, render_mode"),
    (["bench", "snake", "--env-kwarg", "foo=1"], "unknown argument 'foo' for puffer_snake; valid: width,"),
    (["bench", "squared", "--env-kwarg", "num_envs=4"], "num_envs is set with --num-envs, not --env-kwarg"),
    (["bench", "squared", "--env-kwarg", "seed=3"], "seed is set with --seed, not --env-kwarg"),
    (["bench", "squared", "--env-kwarg", "num_threads=2"], "num_threads is set with --threads"),
    (["bench", spec(BoxEnv), "--env-kwarg", "seed=3", "--env-kwarg", "num_envs=2"],
     "seed / num_envs are set with --seed / --num-envs, not --env-kwarg"),
    (["bench", spec(BoxEnv), "--env-kwarg", "foo=1"], f"unknown argument 'foo' for {spec(BoxEnv)}"),
    (["bench", "squared", "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["bench", spec(BoxEnv), "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["bench", spec(BoxEnv), "--num-envs", "0"], "--num-envs must be >= 1, got 0"),
    (["bench", spec(BoxEnv), "--threads", "0"], "--threads must be >= 1, got 0"),
    (["bench", spec(BoxEnv), "--backend", "serial", "--num-workers", "0"], "--num-workers must be >= 1"),
    (["bench", spec(RaisesValueError), "--env-kwarg", "level=9"], "level must be <= 3, got 9"),
    (["render", "squared", "--out", "x.gif", "--fps", "inf"], "--fps must be a finite number > 0"),
    (["render", "squared", "--out", "x.gif", "--seed", "-1"], "--seed must be >= 0, got -1"),
])
def test_bad_arguments_give_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in _one_line_error(capsys)
    assert not list(tmp_path.iterdir())


def test_internal_bugs_keep_their_traceback():
    with pytest.raises(RuntimeError, match="internal bug"):
        main(["bench", spec(BuggyEnv), "--seconds", "0.05"])


# ---- Ctrl-C --------------------------------------------------------------------------------------
def test_ctrl_c_ends_bench_with_its_partial_result():
    import os
    import signal
    import subprocess
    import sys
    import time
    proc = subprocess.Popen([sys.executable, "-m", "pufferlib.cli", "bench", "squared", "--seconds", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "puffer: interrupted" in err
    line = out.strip().splitlines()[-1]
    assert line.startswith("env=squared ") and line.endswith("(interrupted)")
    fields = dict(kv.split("=", 1) for kv in line.split()[:-1])
    assert float(fields["seconds"]) < 30 and float(fields["SPS"].replace(",", "")) >= 0
    assert int(fields["steps"]) >= 0


def test_ctrl_c_while_render_writes_leaves_no_file(tmp_path, capsys, monkeypatch):
    import imageio.v3 as iio
    out = tmp_path / "squared.gif"

    def interrupted_write(path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"GIF89a")                          # a partly written file
        raise KeyboardInterrupt

    monkeypatch.setattr(iio, "imwrite", interrupted_write)
    assert main(["render", "squared", "--out", str(out), "--steps", "2", "--env-kwarg", "size=5"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "puffer: interrupted" in err
    assert not out.exists()
