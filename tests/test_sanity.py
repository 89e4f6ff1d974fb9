"""The sanity set (pufferlib/ocean/sanity.py, docs/envs/sanity.md): for every env, the
scripted optimal policy scores the documented optimum and a bad policy less; every step
agrees with a Python model of the rules on hypothesis-generated actions that include every
action id (Box corners for Continuous); seeding; rendering; config errors.

The conformance checks (contract, determinism, threads, vectorization, GPU) run over the
registry in tests/test_conformance.py and tests/test_cudasim.py.
"""
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pufferlib
from pufferlib import APIUsageError
from pufferlib.emulation import emulate_action_space, emulate_observation_space, flatten_sample, nativize
from pufferlib.ocean.sanity import Bandit, Continuous, Memory, Multiagent, Password, Spaces, Stochastic
from pufferlib.spaces import sample_actions

ALL = (Bandit, Memory, Password, Stochastic, Multiagent, Spaces, Continuous)
F32 = np.float32


def rollout(env, policy, steps, seed=0):
    """Run ``policy(obs, t) -> actions`` for ``steps`` steps; return (rewards (steps, agents), logs)."""
    obs, _ = env.reset(seed)
    rewards, logs = [], []
    for t in range(steps):
        obs, rew, _, _, infos = env.step(policy(obs, t))
        rewards.append(rew.copy())
        logs += infos
    return np.array(rewards), logs


def only_log(env, logs):
    """The logs of a run whose log_interval equals its length: exactly one report."""
    assert len(logs) == 1, logs
    assert set(logs[0]) == set(env.LOG_FIELDS) | {"n"}
    return logs[0]


def with_every(ids, draw_list):
    """Hypothesis: a list drawn by ``draw_list`` with a permutation of ``ids`` spliced in."""
    return st.tuples(st.permutations(list(ids)), draw_list, st.integers(0, 1000)).map(
        lambda x: x[1][:x[2] % (len(x[1]) + 1)] + list(x[0]) + x[1][x[2] % (len(x[1]) + 1):])


# ---------------------------------------------------------------------------- Bandit
def test_bandit_optimum_and_worse_policies():
    env = Bandit(num_envs=64, log_interval=20)
    assert env.best_arm != 0
    best = np.full(64, env.best_arm, np.int32)
    rew, logs = rollout(env, lambda o, t: best, 20)
    assert (rew == 1).all()
    log = only_log(env, logs)
    assert log == {"perf": 1.0, "score": 1.0, "episode_return": 1.0, "episode_length": 1.0, "n": 64 * 20}
    rew, logs = rollout(env, lambda o, t: np.zeros(64, np.int32), 20)     # the wrong arm
    assert (rew == 0).all() and only_log(env, logs)["perf"] == 0
    rng = np.random.default_rng(0)
    _, logs = rollout(env, lambda o, t: rng.integers(0, 4, 64).astype(np.int32), 20)
    assert 0.15 < only_log(env, logs)["perf"] < 0.35                       # about 1 / num_arms


def test_bandit_noisy_payouts():
    env = Bandit(num_envs=4096, p_best=0.8, p_other=0.3, log_interval=10)
    best = np.full(4096, env.best_arm, np.int32)
    _, logs = rollout(env, lambda o, t: best, 10)
    log = only_log(env, logs)
    assert log["perf"] == 1 and abs(log["score"] - 0.8) < 0.02
    other = np.full(4096, (env.best_arm + 1) % env.num_arms, np.int32)
    _, logs = rollout(env, lambda o, t: other, 10)
    log = only_log(env, logs)
    assert log["perf"] == 0 and abs(log["score"] - 0.3) < 0.02


@given(seed=st.integers(0, 2**31), arms=with_every(range(5), st.lists(st.integers(0, 4), max_size=30)))
def test_bandit_steps_follow_the_rules(seed, arms):
    env = Bandit(num_envs=1, num_arms=5, solution_seed=seed)
    assert 1 <= env.best_arm <= 4
    obs, _ = env.reset(seed)
    for arm in arms:
        obs, rew, term, trunc, _ = env.step(np.array([arm], np.int32))
        assert rew[0] == (arm == env.best_arm) and term[0] and not trunc[0] and obs[0, 0] == 1
        assert env.envs[0]["last_arm"] == arm


# ---------------------------------------------------------------------------- Memory
def memory_policy(env, remember=True):
    """Store the bits shown; at recall step k answer bit k (or always 1 without memory)."""
    mem = np.zeros((env.num_envs, env.length), np.int32)

    def act(obs, t):
        t %= env.horizon
        if t < env.length:
            mem[:, t] = obs[:, 0] > 0
        if t >= env.length + env.delay and remember:
            return mem[:, t - env.length - env.delay].copy()
        return np.ones(env.num_envs, np.int32)
    return act


@pytest.mark.parametrize("length,delay", [(4, 0), (3, 5), (1, 0)])
def test_memory_optimum_and_a_memoryless_policy(length, delay):
    env = Memory(num_envs=256, length=length, delay=delay, log_interval=(2 * length + delay) * 8)
    rew, logs = rollout(env, memory_policy(env), env.log_interval)
    log = only_log(env, logs)
    assert log["perf"] == 1 and log["episode_return"] == length == log["score"]
    assert log["episode_length"] == 2 * length + delay and log["n"] == 256 * 8
    assert rew.sum() == 256 * 8 * length
    _, logs = rollout(env, memory_policy(env, remember=False), env.log_interval)
    assert 0.4 < only_log(env, logs)["perf"] < 0.6                         # chance


@given(seed=st.integers(0, 2**31), length=st.integers(1, 5), delay=st.integers(0, 3),
       actions=with_every((0, 1), st.lists(st.integers(0, 1), max_size=40)))
def test_memory_steps_follow_the_rules(seed, length, delay, actions):
    env = Memory(num_envs=1, length=length, delay=delay)
    obs, _ = env.reset(seed)
    seq, t = env.seq[0].copy(), 0
    for a in actions:
        expected_obs = (
            [1.0 if seq[t] else -1.0, 0.0] if t < length else [0.0, 0.0] if t < length + delay else [0.0, 1.0])
        np.testing.assert_array_equal(obs[0], expected_obs)
        recall = t >= length + delay
        obs, rew, term, trunc, _ = env.step(np.array([a], np.int32))
        assert rew[0] == (recall and a == seq[t - length - delay]) and not trunc[0]
        t += 1
        assert term[0] == (t == 2 * length + delay)
        if term[0]:
            t = 0
            assert (env.answers[0] == -1).all()
            seq = env.seq[0].copy()
        elif recall:
            assert env.answers[0, t - 1 - length - delay] == a


# ---------------------------------------------------------------------------- Password
def password_policy(env, password=None):
    pw = np.array(env.password if password is None else password, np.int32)

    def act(obs, t):
        return pw[(obs >= 0).sum(axis=1)]
    return act


def test_password_optimum_and_worse_policies():
    env = Password(num_envs=32, log_interval=50)
    assert env.password == (0, 1, 1, 0, 0)
    rew, logs = rollout(env, password_policy(env), 50)
    log = only_log(env, logs)
    assert log["perf"] == 1 == log["episode_return"] and log["digits_correct"] == 1 and log["n"] == 32 * 10
    assert rew.sum() == 32 * 10
    rew, logs = rollout(env, lambda o, t: np.zeros(32, np.int32), 50)
    log = only_log(env, logs)
    assert rew.sum() == 0 and log["perf"] == 0 and log["digits_correct"] == pytest.approx(0.6)
    wrong_last = password_policy(env, env.password[:-1] + (1 - env.password[-1],))
    _, logs = rollout(env, wrong_last, 50)
    assert only_log(env, logs)["perf"] == 0                                 # all or nothing


def test_password_sticky_success_rate():
    env = Password(num_envs=4096, sticky=0.2, log_interval=50)
    changes = sum(a != b for a, b in zip(env.password, env.password[1:]))
    _, logs = rollout(env, password_policy(env), 50)
    assert abs(only_log(env, logs)["perf"] - 0.8 ** changes) < 0.02


@settings(max_examples=50)
@given(seed=st.integers(0, 2**31), length=st.integers(1, 6), sticky=st.sampled_from([0.0, 0.5, 0.9]),
       actions=with_every((0, 1), st.lists(st.integers(0, 1), max_size=40)))
def test_password_steps_follow_the_rules(seed, length, sticky, actions):
    env = Password(num_envs=1, length=length, sticky=sticky, solution_seed=seed)
    assert length == 1 or len(set(env.password)) == 2
    obs, _ = env.reset(seed)
    entered = []
    for a in actions:
        np.testing.assert_array_equal(obs[0], entered + [-1] * (length - len(entered)))
        # What the env may enter: the action, or with stickiness the previous bit (never for the first).
        may = {a, entered[-1]} if sticky and entered else {a}
        obs, rew, term, trunc, _ = env.step(np.array([a], np.int32))
        assert not trunc[0]
        if len(entered) + 1 < length:
            assert obs[0, len(entered)] in may and rew[0] == 0 and not term[0]
            entered.append(int(obs[0, len(entered)]))
        else:
            assert term[0] and (obs[0] == -1).all()
            outcomes = {tuple(entered + [d]) == env.password for d in may}
            assert bool(rew[0]) in outcomes
            if len(outcomes) == 1:
                assert rew[0] == outcomes.pop()
            entered = []


# ---------------------------------------------------------------------------- Stochastic
@pytest.mark.parametrize("p", [0.75, 0.3])
def test_stochastic_optimum_is_the_biased_coin(p):
    env = Stochastic(num_envs=2048, p=p, horizon=100, log_interval=100)
    rng = np.random.default_rng(1)
    results = {}
    for q in (p, 1.0, 0.5, 0.0):
        _, logs = rollout(env, lambda o, t: (rng.random(2048) >= q).astype(np.int32), 100)
        log = only_log(env, logs)
        results[q] = log["perf"]
        assert abs(log["perf"] - env.expected_return(q) / 100) < 0.01, (q, log)
        assert abs(log["action0_frac"] - q) < 0.01 and log["episode_length"] == 100
    assert abs(results[p] - 1) < 0.01
    assert all(results[q] < results[p] - 0.05 for q in (1.0, 0.5, 0.0))
    assert env.expected_return(env.p) == 100 and abs(env.p - p) < 2**-16


@given(seed=st.integers(0, 2**31), p=st.sampled_from([0.75, 0.5, 0.2]),
       actions=with_every((0, 1), st.lists(st.integers(0, 1), max_size=40)))
def test_stochastic_steps_follow_the_rules(seed, p, actions):
    env = Stochastic(num_envs=1, p=p, horizon=7)
    obs, _ = env.reset(seed)
    zeros = ret = t = 0
    for a in actions:
        obs, rew, term, trunc, infos = env.step(np.array([a], np.int32))
        rec = env.envs[0]
        paid = int(rec["last_paid"])
        assert int(rec["last_action"]) == a and paid in (0, 1) and obs[0, 0] == 0
        q = env.p                                   # p rounded to a multiple of 2**-16
        assert rew[0] == (F32(1 / q) if paid == 0 == a else F32(1 / (1 - q)) if paid == 1 == a else 0)
        zeros += a == 0
        ret += float(rew[0])
        t += 1
        assert not term[0] and trunc[0] == (t == 7)
        if t == 7:
            log = env.log()
            assert log["action0_frac"] == zeros / 7 and log["episode_return"] == pytest.approx(ret)
            zeros = ret = t = 0
        assert int(env.envs[0]["zeros"]) == zeros


# ---------------------------------------------------------------------------- Multiagent
def multi_optimal(obs, t):
    bit = obs[:, 1].astype(np.int32)
    return np.where(obs[:, 0] == 0, bit, 1 - bit).astype(np.int32)


def test_multiagent_optimum_and_mixed_up_agents():
    env = Multiagent(num_envs=512, log_interval=10)
    assert env.num_agents == 1024
    rew, logs = rollout(env, multi_optimal, 10)
    assert (rew == 1).all()
    log = only_log(env, logs)
    assert log["perf"] == log["agent0_reward"] == log["agent1_reward"] == 1 and log["n"] == 5120
    # Ignoring the slot: agent 0 right, agent 1 always wrong.
    _, logs = rollout(env, lambda o, t: o[:, 1].astype(np.int32), 10)
    log = only_log(env, logs)
    assert log["agent0_reward"] == 1 and log["agent1_reward"] == 0 and log["perf"] == 0.5
    # Actions on the wrong rows (each env's two agents swapped): chance.
    _, logs = rollout(env, lambda o, t: multi_optimal(o, t).reshape(-1, 2)[:, ::-1].reshape(-1), 10)
    log = only_log(env, logs)
    assert 0.45 < log["agent0_reward"] < 0.55 and 0.45 < log["agent1_reward"] < 0.55


@given(seed=st.integers(0, 2**31),
       actions=with_every([(a, b) for a in (0, 1) for b in (0, 1)],
                          st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), max_size=30)))
def test_multiagent_steps_follow_the_rules(seed, actions):
    env = Multiagent(num_envs=2)
    obs, _ = env.reset(seed)
    for pair in actions:
        acts = np.array(pair * 2, np.int32)
        bits = obs[:, 1].copy()
        np.testing.assert_array_equal(obs[:, 0], [0, 1, 0, 1])
        obs, rew, term, trunc, _ = env.step(acts)
        np.testing.assert_array_equal(rew, [acts[0] == bits[0], acts[1] != bits[1],
                                            acts[2] == bits[2], acts[3] != bits[3]])
        assert term.all() and not trunc.any()
        assert env.envs[1]["bit1"] == bits[3] and env.envs[1]["last1"] == acts[3]


# ---------------------------------------------------------------------------- Spaces
def spaces_answers(row):
    ob = nativize(row, Spaces.env_observation_space, Spaces.obs_dtype)
    return {"image": int(ob["image"].sum() > 12),
            "flat": (int(ob["flat"][0].sum() > 0), int(ob["flat"][1].sum() > 0))}


def spaces_action_row(action):
    """A nested action dict -> the flat int32 row, through the structured dtype."""
    row = np.zeros(3, np.int32)
    rec = row.view(Spaces.atn_dtype)[0]
    rec["image"] = action["image"]
    rec["flat"]["f0"], rec["flat"]["f1"] = action["flat"]
    return row


def test_spaces_is_the_emulation_layers_encoding():
    env = Spaces(num_envs=8)
    box, obs_dtype = emulate_observation_space(env.env_observation_space)
    assert env.single_observation_space == box and env.obs_dtype == obs_dtype
    assert (env.single_action_space, env.atn_dtype) == emulate_action_space(env.env_action_space)
    assert env.single_action_space == pufferlib.spaces.MultiDiscrete([2, 2, 2])
    obs, _ = env.reset(3)
    for row in obs:
        ob = nativize(row, env.env_observation_space, env.obs_dtype)
        assert env.env_observation_space.contains(ob)
        assert set(np.unique(ob["image"])) <= {0, 1} and set(np.unique(ob["flat"][1])) <= {-1, 1}
        np.testing.assert_array_equal(flatten_sample(ob, env.env_observation_space), row)
    action = {"image": 1, "flat": (0, 1)}
    assert nativize(spaces_action_row(action), env.env_action_space, env.atn_dtype) == action


def test_spaces_optimum_and_broken_plumbing():
    env = Spaces(num_envs=512, log_interval=10)
    acts = lambda o, t: np.stack([spaces_action_row(spaces_answers(r)) for r in o])  # noqa: E731
    rew, logs = rollout(env, acts, 10)
    assert (rew == 1).all()
    log = only_log(env, logs)
    assert log["perf"] == log["score"] == log["image_correct"] == log["flat0_correct"] == 1
    # Parts sent in Dict insertion order (image, flat[0], flat[1]) instead of the flat order.
    unsorted = lambda o, t: np.stack([  # noqa: E731
        [a["image"], *a["flat"]] for a in map(spaces_answers, o)]).astype(np.int32)
    _, logs = rollout(env, unsorted, 10)
    log = only_log(env, logs)
    assert log["perf"] < 0.5 and log["score"] < 0.8
    # One leaf read at the wrong offset (flat[1] taken from the image's cells): that part at chance.
    def misread(o, t):
        out = acts(o, t)
        out[:, 1] = o[:, 8:13].sum(axis=1) > 2
        return out
    _, logs = rollout(env, misread, 10)
    log = only_log(env, logs)
    assert log["image_correct"] == log["flat0_correct"] == 1 and 0.4 < log["flat1_correct"] < 0.6


@given(seed=st.integers(0, 2**31),
       actions=with_every([(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)],
                          st.lists(st.tuples(*[st.integers(0, 1)] * 3), max_size=20)))
def test_spaces_steps_follow_the_rules(seed, actions):
    env = Spaces(num_envs=1)
    obs, _ = env.reset(seed)
    for act in actions:
        ans = spaces_answers(obs[0])
        rec = env.envs[0]
        assert (rec["ans_image"], rec["ans_flat0"], rec["ans_flat1"]) == (ans["image"], *ans["flat"])
        native = nativize(np.array(act, np.int32), env.env_action_space, env.atn_dtype)
        right = (native["image"] == ans["image"]) + sum(x == y for x, y in zip(native["flat"], ans["flat"]))
        obs, rew, term, trunc, _ = env.step(np.array([act], np.int32))
        assert rew[0] == F32(right) / F32(3) and term[0] and not trunc[0]
        assert int(env.envs[0]["last_ok"]).bit_count() == right


# ---------------------------------------------------------------------------- Continuous
def test_continuous_optimum_and_worse_policies():
    env = Continuous(num_envs=256, log_interval=200)
    rew, logs = rollout(env, lambda o, t: np.clip(10 * o, -1, 1), 200)
    log = only_log(env, logs)
    assert log["perf"] == log["episode_return"] == 1 and log["episode_length"] <= 19
    # The farthest target (corner to corner) takes 19 steps, no more.
    obs, _ = env.reset(0)
    env.envs[["x", "y"]] = (-1.0, -1.0)
    env.envs[["tx", "ty"]] = (1.0, 1.0)
    obs[:] = 2.0
    for t in range(19):
        obs, rew, term, trunc, _ = env.step(np.clip(10 * obs, -1, 1))
        assert term.all() == (t == 18) and not trunc.any()
    _, logs = rollout(env, lambda o, t: np.zeros((256, 2), F32), 200)
    log = only_log(env, logs)
    assert log["perf"] == 0 and log["episode_length"] == 50
    _, logs = rollout(env, lambda o, t: np.clip(-10 * o, -1, 1), 200)        # running away
    assert only_log(env, logs)["perf"] == 0
    flipped = lambda o, t: np.clip(10 * o[:, ::-1], -1, 1)  # noqa: E731  (components swapped)
    _, logs = rollout(env, flipped, 200)
    assert only_log(env, logs)["perf"] < 0.3


CORNERS = [(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0), (0.0, 0.0)]


@given(seed=st.integers(0, 2**31),
       actions=with_every(CORNERS, st.lists(st.tuples(st.floats(-1, 1, width=32), st.floats(-1, 1, width=32)),
                                            max_size=40)))
def test_continuous_steps_follow_the_rules(seed, actions):
    env = Continuous(num_envs=1, horizon=20)
    obs, _ = env.reset(seed)
    t = 0
    for a in actions:
        rec = env.envs[0].copy()
        act = np.array([a], F32)
        x = min(max(rec["x"] + act[0, 0] / F32(10), F32(-1)), F32(1))
        y = min(max(rec["y"] + act[0, 1] / F32(10), F32(-1)), F32(1))
        reached = abs(rec["tx"] - x) <= F32(0.1) and abs(rec["ty"] - y) <= F32(0.1)
        obs, rew, term, trunc, _ = env.step(act)
        t += 1
        assert term[0] == reached and rew[0] == reached and trunc[0] == (not reached and t == 20)
        if term[0] or trunc[0]:
            t = 0
            new = env.envs[0]
            assert abs(new["tx"] - new["x"]) > 0.1 or abs(new["ty"] - new["y"]) > 0.1
        else:
            assert env.envs[0]["x"] == x and env.envs[0]["y"] == y
            np.testing.assert_array_equal(obs[0], [rec["tx"] - x, rec["ty"] - y])


# ---------------------------------------------------------------------------- all of them
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_seeding(cls):
    a, b = cls(**cls.test_config()), cls(**cls.test_config())
    actions = sample_actions(a.single_action_space, a.num_agents, np.random.default_rng(0), steps=40)

    def run(env, seed):
        out = [env.reset(seed)[0].copy()]
        for act in actions:
            out += [x.copy() for x in env.step(act)[:4]]
        return out
    first = run(a, 11)
    for x, y in zip(first, run(b, 11)):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(first, run(a, 11)):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(first, run(a, 12)))


@pytest.mark.parametrize("cls", (Bandit, Password), ids=lambda c: c.__name__)
def test_noise_free_defaults_ignore_the_seed(cls):
    env = cls(num_envs=3)
    actions = sample_actions(env.single_action_space, 3, np.random.default_rng(0), steps=20)
    runs = []
    for seed in (0, 99):
        env.reset(seed)
        runs.append([env.step(a)[1].copy() for a in actions])
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_render(cls):
    shapes = set()
    env = cls(**cls.test_config(), render_mode="rgb_array")
    text = cls(**cls.test_config(), render_mode="ansi")
    env.reset(0)
    text.reset(0)
    actions = sample_actions(env.single_action_space, env.num_agents, np.random.default_rng(0), steps=6)
    for i, act in enumerate(actions):
        frame = env.render()
        assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3
        assert frame.shape[2] == 3 and len(np.unique(frame.reshape(-1, 3), axis=0)) >= 2
        shapes.add(frame.shape)
        out = text.render()
        assert isinstance(out, str) and out.strip()
        env.step(act)
        text.step(act)
    assert len(shapes) == 1


def test_render_content():
    env = Bandit(num_envs=1, render_mode="ansi")
    env.reset(0)
    assert "no pull yet" in env.render() and env.render().index("[*]") == 3 * env.best_arm
    env.step(np.array([env.best_arm], np.int32))
    assert f"arm {env.best_arm}, reward 1" in env.render()
    pw = Password(render_mode="ansi")
    pw.reset(0)
    pw.step(np.array([1], np.int32))
    assert pw.render() == "password 01100 | entered 1...."
    mem = Memory(length=2, delay=1, render_mode="ansi")
    mem.reset(0)
    bits = "".join(map(str, mem.seq[0]))
    assert mem.render() == f"bits {bits} | guesses .. | step 0/5 (show)"
    frame = Continuous(render_mode="rgb_array")
    frame.reset(0)
    img = frame.render()
    assert img.shape == (200, 200, 3) and (img == (70, 130, 230)).all(axis=2).sum() > 0


@pytest.mark.parametrize("cls,kwargs", [
    (Bandit, dict(num_arms=1)), (Bandit, dict(p_best=0.2, p_other=0.5)), (Bandit, dict(p_best=1.5)),
    (Bandit, dict(solution_seed=-1)), (Memory, dict(length=0)), (Memory, dict(delay=-1)),
    (Memory, dict(length=65)), (Password, dict(length=31)), (Password, dict(sticky=1.0)),
    (Password, dict(sticky="x")), (Stochastic, dict(p=1.0)), (Stochastic, dict(p=0.0)),
    (Stochastic, dict(horizon=0)), (Continuous, dict(horizon=10)), (Multiagent, dict(num_envs=0)),
    (Spaces, dict(render_mode="human")),
])
def test_bad_configs_are_refused(cls, kwargs):
    with pytest.raises(APIUsageError):
        cls(**kwargs)


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", reason="no PTX under the simulator")
def test_gpu_kernels_have_no_fused_multiply_add():
    """CPU and GPU compute the same bits only if numba-cuda finds no a * b + c to fuse."""
    try:
        from numba import cuda
        cuda.cudadrv.nvvm.NVVM()
    except Exception:  # noqa: BLE001
        pytest.skip("the CUDA toolkit's NVVM is not available")
    from pufferlib.cuda_kernels import compile_ptx
    for cls in ALL:
        for name, text in compile_ptx(cls(**cls.test_config()), cc=(9, 0)).items():
            assert not re.search(r"\bfma\.rn\.f", text), (cls.__name__, name)


def test_registry():
    from pufferlib.ocean import ENVS
    for name, cls in (("bandit", Bandit), ("memory", Memory), ("password", Password),
                      ("stochastic", Stochastic), ("multiagent", Multiagent), ("spaces", Spaces),
                      ("continuous", Continuous)):
        assert ENVS[name][:2] == ("pufferlib.ocean.sanity", cls.__name__)
        assert type(pufferlib.make(f"puffer_{name}")) is cls
