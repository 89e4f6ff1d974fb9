"""Small OceanEnv subclasses for framework tests: non-Discrete action spaces, and mutants
with one deliberate bug each (to show the conformance checks catch that bug)."""
import gymnasium
import numpy as np

from pufferlib.ocean.core import Array, OceanEnv, kernel, rand_below

ENV_DTYPE = np.dtype([("rng", np.uint64), ("tick", np.int32)], align=True)
AGENT_DTYPE = np.dtype([("x", np.float32), ("y", np.float32), ("ret", np.float32)], align=True)


@kernel
def drift_reset(w, e):
    w.envs[e]["tick"] = 0
    for s in range(w.agents.shape[1]):
        a = w.agents[e, s]
        a["x"] = np.float32(rand_below(w.envs[e], 9)) - np.float32(4.0)
        a["y"] = np.float32(rand_below(w.envs[e], 9)) - np.float32(4.0)
        a["ret"] = 0.0


@kernel
def drift_step(w, e):
    env = w.envs[e]
    env["tick"] += 1
    n = w.agents.shape[1]
    done = env["tick"] >= 8
    for s in range(n):
        i = e * n + s
        a = w.agents[e, s]
        a["x"] = min(max(a["x"] + w.actions[i, 0], np.float32(-8.0)), np.float32(8.0))
        a["y"] = min(max(a["y"] + w.actions[i, 1], np.float32(-8.0)), np.float32(8.0))
        r = -(abs(a["x"]) + abs(a["y"])) / np.float32(16.0)
        w.rewards[i] = r
        a["ret"] += r
        w.terminals[i] = False
        w.truncations[i] = done
        if done:
            w.logs[e]["episode_return"] += a["ret"]
            w.logs[e]["n"] += 1.0
    if done:
        drift_reset(w, e)


@kernel
def drift_observe(w, e, s):
    a = w.agents[e, s]
    i = e * w.agents.shape[1] + s
    w.observations[i, 0] = a["x"]
    w.observations[i, 1] = a["y"]


class BoxDrift(OceanEnv):
    """Two agents per env move on a plane by Box(-1, 1, (2,)) actions; 8-step episodes."""
    WORLD = {"envs": Array(ENV_DTYPE, "num_envs"), "agents": Array(AGENT_DTYPE, "num_envs", "agents_per_env")}
    LOG_FIELDS = ("episode_return",)
    reset_env = drift_reset
    step_env = drift_step
    observe_agent = drift_observe

    @classmethod
    def test_config(cls):
        return {"num_envs": 3}

    def __init__(self, num_envs=2, log_interval=16, num_threads=1, buf=None, seed=0, device="cpu"):
        self.single_observation_space = gymnasium.spaces.Box(-8, 8, (2,), np.float32)
        self.single_action_space = gymnasium.spaces.Box(-1, 1, (2,), np.float32)
        super().__init__(num_envs=num_envs, agents_per_env=2, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device)


@kernel
def counter_reset(w, e):
    w.envs[e]["tick"] = 0
    for k in range(3):
        w.counts[e, k] = rand_below(w.envs[e], 3)
    for k in range(3):
        w.observations[e, k] = w.counts[e, k]


@kernel(inline=False)
def counter_total(w, e):
    """A helper compiled once and called (not inlined) from the kernels."""
    return w.counts[e, 0] + w.counts[e, 1] + w.counts[e, 2]


@kernel
def counter_step(w, e):
    env = w.envs[e]
    env["tick"] += 1
    # MultiDiscrete([3, 4], start=[0, 1]): component 0 picks a counter, component 1 adds 1..4
    k = w.actions[e, 0]
    w.counts[e, k] = (w.counts[e, k] + w.actions[e, 1]) % 10
    w.rewards[e] = np.float32(w.counts[e, k]) / np.float32(10.0)
    w.terminals[e] = env["tick"] >= 5
    w.truncations[e] = False
    if env["tick"] >= 5:
        w.logs[e]["score"] += counter_total(w, e)
        w.logs[e]["n"] += 1.0
        counter_reset(w, e)
    for j in range(3):
        w.observations[e, j] = w.counts[e, j]


class MultiCounter(OceanEnv):
    """Three counters per env; MultiDiscrete([3, 4], start=[0, 1]) actions; 5-step episodes."""
    WORLD = {"envs": Array(ENV_DTYPE, "num_envs"), "counts": Array(np.int32, "num_envs", 3)}
    LOG_FIELDS = ("score",)
    reset_env = counter_reset
    step_env = counter_step

    @classmethod
    def test_config(cls):
        return {"num_envs": 4}

    def __init__(self, num_envs=2, log_interval=16, num_threads=1, buf=None, seed=0, device="cpu"):
        self.single_observation_space = gymnasium.spaces.Box(0, 9, (3,), np.uint8)
        self.single_action_space = gymnasium.spaces.MultiDiscrete([3, 4], start=[0, 1])
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device)


# ---- mutants: one bug each ------------------------------------------------------------
@kernel
def overflow_step(w, e):
    counter_step(w, e)
    w.observations[e, 2] = 12  # bug: above the declared high of 9


class OutOfSpaceCounter(MultiCounter):
    step_env = overflow_step


@kernel
def seedless_reset(w, e):
    w.envs[e]["tick"] = 0
    for k in range(3):
        w.counts[e, k] = k  # bug: ignores the env's random state, so every seed looks alike
    for k in range(3):
        w.observations[e, k] = w.counts[e, k]


@kernel
def seedless_step(w, e):
    counter_step(w, e)
    if w.envs[e]["tick"] == 0:  # the episode ended and auto-reset: redo it without randomness
        seedless_reset(w, e)


class SeedlessCounter(MultiCounter):
    reset_env = seedless_reset
    step_env = seedless_step


@kernel
def nan_step(w, e):
    counter_step(w, e)
    if w.envs[e]["tick"] == 3:
        w.rewards[e] = np.float32(np.nan)  # bug: a NaN reward


class NanRewardCounter(MultiCounter):
    step_env = nan_step


@kernel
def leaky_step(w, e):
    counter_step(w, e)
    if e + 1 < w.counts.shape[0]:
        w.counts[e + 1, 0] += 1  # bug: writes into the next env's state (a data race under prange)


class LeakyCounter(MultiCounter):
    step_env = leaky_step
