"""``pufferlib.check_env`` on instances (``pufferlib/check.py``) and ``puffer check``.

A small, correct pure-Python PufferEnv (:class:`Toy`) passes every instance check; each
mutant below it has one deliberate bug, and the check meant for that bug fails on it.
"""
from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import pufferlib
import pufferlib.vector
from pufferlib import APIUsageError
from pufferlib.check import INSTANCE_CHECKS, check_env, iter_checks
from pufferlib.cli import main
from pufferlib.ocean.squared import Squared
from pufferlib.spaces import check_actions


class Toy(pufferlib.PufferEnv):
    """``num_envs`` envs of 2 agents; a seeded random walk on [0, 10]^2; 5-step episodes that
    end with a terminal and restart inside ``step`` (a native env's auto-reset)."""

    def __init__(self, num_envs=2, buf=None, seed=0):
        self.single_observation_space = gymnasium.spaces.Box(0, 10, (2,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(3)
        self.num_envs = num_envs
        self.num_agents = 2 * num_envs
        super().__init__(buf)
        self.rng = np.random.default_rng(seed)
        self.t = 0

    def _start(self):
        self.observations[:] = self.rng.integers(0, 11, self.observations.shape)
        self.t = 0

    def reset(self, seed=None):
        self.rng = np.random.default_rng(seed)
        self._start()
        return self.observations, []

    def _checked(self, actions):
        return check_actions(self.single_action_space, actions, self.num_agents)

    def step(self, actions):
        actions = self._checked(actions)
        self.t += 1
        moves = (actions - 1)[:, None] * self.rng.integers(0, 2, self.observations.shape)
        np.clip(self.observations + moves, 0, 10, out=self.observations)
        self.rewards[:] = self.observations[:, 0] / 10
        self.terminals[:] = self.t == 5
        self.truncations[:] = False
        if self.t == 5:
            self._start()
        return self.observations, self.rewards, self.terminals, self.truncations, []


class ReplacesBuffers(Toy):
    def step(self, actions):
        self.observations = self.observations.copy()
        return super().step(actions)


class ReturnsCopies(Toy):
    def step(self, actions):
        obs, *rest = super().step(actions)
        return (obs.copy(), *rest)


class NaNRewards(Toy):
    def step(self, actions):
        out = super().step(actions)
        if self.t == 3:
            self.rewards[1] = np.nan
        return out


class IgnoresSeed(Toy):
    def reset(self, seed=None):
        return super().reset(None)  # a fresh unseeded stream every time


class LeavesSpace(Toy):
    def step(self, actions):
        out = super().step(actions)
        self.observations[0, 1] = 11
        return out


class Float64Rewards(Toy):
    def step(self, actions):
        obs, rew, term, trunc, infos = super().step(actions)
        return obs, rew.astype(np.float64), term, trunc, infos


class DictInfos(Toy):
    def step(self, actions):
        return (*super().step(actions)[:4], {})


class AcceptsBadActions(Toy):
    def _checked(self, actions):
        return np.clip(np.asarray(actions).reshape(-1)[:self.num_agents].astype(np.int64), 0, 2)


class StepsThenChecks(Toy):
    """Draws its random numbers before checking the actions: a refused call changes the future."""

    def step(self, actions):
        self.rng.integers(0, 2)
        return super().step(actions)


class DoneButSteps(Toy):
    """Says it needs a reset after an episode end (``done``) but steps on anyway."""

    ended = False

    @property
    def done(self):
        return self.ended

    def reset(self, seed=None):
        self.ended = False
        if seed is None:  # a reset of the vectorizer's kind: the random stream goes on
            self._start()
            return self.observations, []
        return super().reset(seed)

    def step(self, actions):
        out = super().step(actions)
        self.ended = self.ended or bool(self.terminals.any())
        return out


MUTANTS = [
    (ReplacesBuffers, "in_place", "replaced its buffer"),
    (ReturnsCopies, "in_place", "not the env's buffer"),
    (NaNRewards, "finite_rewards", "step 3: reward nan of agent 1"),
    (IgnoresSeed, "determinism", "differ first at agent"),
    (LeavesSpace, "observations_in_space", "observation 11.0 of agent 0 at index .1,. is outside"),
    (Float64Rewards, "step_returns", "rewards returned by step.. has shape .4,. and dtype float64"),
    (DictInfos, "infos", "infos of type dict"),
    (AcceptsBadActions, "bad_actions", "actions with one agent too many was accepted"),
    (StepsThenChecks, "bad_actions", "after refused action batches"),
    (DoneButSteps, "auto_reset", r"step\(\) after the episode ended at step 5 \(done=True\) was accepted"),
]


def test_toy_passes_every_instance_check():
    report = check_env(Toy(), make_env=Toy)
    assert report == {name: "passed" for name in INSTANCE_CHECKS}


@pytest.mark.parametrize("cls, check, message", MUTANTS, ids=[m[0].__name__ for m in MUTANTS])
def test_each_check_catches_its_bug(cls, check, message):
    with pytest.raises(AssertionError, match=rf"{cls.__name__} failed check '{check}': .*{message}"):
        check_env(cls(), make_env=cls)


def test_iter_checks_yields_the_results_before_a_failure():
    seen = []
    with pytest.raises(AssertionError, match="finite_rewards"):
        for name, result in iter_checks(NaNRewards()):
            seen.append(name)
    assert seen == list(INSTANCE_CHECKS)[:list(INSTANCE_CHECKS).index("finite_rewards")]


def test_skips_say_why():
    report = check_env(Toy())
    assert report["determinism_rebuilt"].startswith("skipped: no make_env given")

    class Deterministic(Toy):  # the seed changes nothing: reported, not failed
        def reset(self, seed=None):
            return super().reset(0)

    report = check_env(Deterministic(), skip=("determinism_rebuilt",))
    assert "determinism_rebuilt" not in report
    assert report["seed_changes_trajectory"].startswith("skipped: seeds 7 and 1007 gave the same trajectory")

    class Endless(Toy):
        def step(self, actions):
            out = super().step(actions)
            self.terminals[:] = False
            return out

    assert check_env(Endless())["auto_reset"] == "skipped: no episode ended within 192 steps of random actions"


@pytest.fixture
def squared():
    with Squared(num_envs=3, size=5) as env:
        yield env


def test_native_ocean_instance(squared):
    report = pufferlib.check_env(squared, make_env=lambda: Squared(num_envs=3, size=5))
    assert report == {name: "passed" for name in INSTANCE_CHECKS}


def test_emulated_instance_and_its_done_protocol():
    env = pufferlib.emulate(gymnasium.make("CartPole-v1"))
    with env:
        report = pufferlib.check_env(env)
    assert all(v == "passed" for k, v in report.items() if k != "determinism_rebuilt")


@pytest.mark.parametrize("emulated", [False, True])
def test_vectorized_instances(emulated):
    if emulated:
        env = pufferlib.make("gym-CartPole-v1", num_envs=3)
    else:
        env = pufferlib.vector.make(Squared, env_kwargs={"num_envs": 2, "size": 5}, backend="Serial", num_envs=2)
    with env:
        report = pufferlib.check_env(env)
    assert all(v == "passed" for k, v in report.items() if k != "determinism_rebuilt"), report


def test_next_step_reset_of_vectorized_emulated_envs_is_checked(monkeypatch):
    """A vectorizer that forgot to zero the rewards of the instances it resets is caught."""
    from pufferlib.vector.serial import Serial
    real = Serial._step_all

    def leaky(self):
        resetting = [env.done for env in self.envs]
        infos = real(self)
        for k, done in enumerate(resetting):
            if done:
                self.rewards[self._slices[k]] = 1.0  # the last reward left in place
        return infos

    with pufferlib.make("gym-CartPole-v1", num_envs=2) as env:
        assert check_env(env)["auto_reset"] == "passed"
        monkeypatch.setattr(Serial, "_step_all", leaky)
        with pytest.raises(AssertionError, match="auto_reset.*expected 0, False, False"):
            check_env(env, skip=("determinism", "seed_changes_trajectory", "bad_actions"))


def test_class_dispatch_and_bad_arguments(squared):
    report = pufferlib.check_env(Squared, skip=("threads_match_serial", "native_matches_vector",
                                                "cuda_matches_cpu", "compiles_to_ptx", "render"))
    assert report["contract"] == "passed"  # the class checks of pufferlib.ocean.testing
    with pytest.raises(APIUsageError, match="config applies to env classes"):
        pufferlib.check_env(squared, config={"size": 5})
    with pytest.raises(APIUsageError, match="apply to env instances"):
        pufferlib.check_env(Squared, make_env=Squared)
    with pytest.raises(APIUsageError, match="wrap Gymnasium / PettingZoo envs with pufferlib.emulate"):
        pufferlib.check_env(gymnasium.make("CartPole-v1"))
    with pytest.raises(APIUsageError, match=r"unknown checks \['nope'\]"):
        pufferlib.check_env(squared, skip=("nope",))
    with pytest.raises(APIUsageError, match="make_env must be a callable"):
        pufferlib.check_env(squared, make_env=3)


def test_async_batches_skip_order_dependent_checks():
    env = pufferlib.vector.make(Squared, env_kwargs={"num_envs": 1, "size": 5}, backend="Multiprocessing",
                                num_envs=4, num_workers=2, batch_size=2)
    with env:
        report = check_env(env)
    for name in ("determinism", "seed_changes_trajectory", "bad_actions"):
        assert report[name].startswith("skipped: asynchronous batches"), report[name]
    assert report["in_place"] == "passed"


# ---- puffer check ---------------------------------------------------------------------------
def test_puffer_check_passes(capsys):
    assert main(["check", "squared", "--num-envs", "2", "--env-kwarg", "size=5"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].startswith("squared: <Squared num_envs=2")
    assert [line.split()[0] for line in lines[1:]] == list(INSTANCE_CHECKS)
    assert all(line.split()[1] == "passed" for line in lines[1:])
    assert "13 passed, 0 skipped, 0 failed" in out.err


def test_puffer_check_fails_with_status_1(monkeypatch, capsys):
    monkeypatch.setattr(pufferlib, "make", lambda name, num_envs=None, **kw: NaNRewards())
    assert main(["check", "toy"]) == 1
    out = capsys.readouterr()
    assert out.out.splitlines()[-1].startswith("finite_rewards")
    assert "FAILED: step 3: reward nan of agent 1" in out.out
    assert "failed check 'finite_rewards'" in out.err


@pytest.mark.parametrize("argv, message", [
    (["check", "nope"], "unknown environment 'nope'"),
    (["check", "squared", "--skip", "zz"], "--skip 'zz': unknown check"),
    (["check", "squared", "--num-envs", "0"], "--num-envs must be >= 1"),
    (["check", "squared", "--env-kwarg", "size=-1"], "size must be in"),
    (["check", "squared", "--env-kwarg", "num_envs=2"], "num_envs is set with --num-envs"),
])
def test_puffer_check_bad_arguments_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("puffer: error:") and message in err[-1]
