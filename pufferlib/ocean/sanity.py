"""The sanity set: seven tiny envs, each built to catch one kind of training bug (``docs/envs/sanity.md``).

After the sanity envs of PufferLib 3.0's ``pufferlib/ocean/sanity.py``
(https://github.com/PufferAI/PufferLib), rewritten as Ocean kernels. Each env has a known
optimal score, so a learner that does not reach it on a few minutes of training has a
bug; the class docstrings say which bug each one points at and what the optimum is.

===========  ===================================================  ==========================
Env          Task                                                 Optimal score (per episode)
===========  ===================================================  ==========================
Bandit       pull the one paying arm, constant observation        ``perf`` 1, return ``p_best``
Memory       repeat a random bit sequence after a delay           return ``length`` (all bits)
Password     enter a fixed hidden bit string, reward at the end   return 1 (without stickiness)
Stochastic   mix two actions with probability ``p``               ``perf`` 1 (1 per step)
Multiagent   two agents per env, separate rules and rewards        1 per agent
Spaces       nested Dict/Tuple observation, 3-part action          return 1
Continuous   reach a target with Box(2) velocity actions          return 1 (every target)
===========  ===================================================  ==========================

Differences from the reference, on purpose (details in the docs page):

- every env is vectorized (``num_envs`` per object), seeded through the env's own
  generator, and rejects invalid actions with ``APIUsageError``;
- Bandit's noise is Bernoulli payouts (``p_best``, ``p_other``) instead of Gaussian noise;
  its best arm and Password's password come from ``solution_seed``, never arm 0 and
  never a constant string (what a collapsed policy outputs); Password can add sticky
  actions (``sticky``);
- Memory shows each bit as -1 / +1 (0 means "nothing shown") and flags the recall phase;
- Stochastic's reward is an opponent that pays for the action the agent under-plays,
  built so that the best memoryless policy plays 0 with probability exactly ``p`` (the
  reference's per-step reward peaks below ``p``);
- Multiagent draws a random bit per agent and episode (agent 0 must copy it, agent 1 must
  flip it), so observations, actions and rewards must stay on the same agent's row;
- Spaces' answers are majorities / signs that are never tied, and it adds a Tuple;
- Continuous is a velocity task on the L-infinity norm (no momentum): additions and
  correctly rounded divisions only, so the CPU and the GPU compute the same bits.
"""
from __future__ import annotations

import gymnasium
import numpy as np

from pufferlib.emulation import emulate_action_space, emulate_observation_space
from pufferlib.exceptions import APIUsageError
from pufferlib.ocean.core import Array, OceanEnv, check_float, check_int, kernel, next_u32, rand_below

#: Colours of the pictures (``render_mode='rgb_array'``).
BG = (24, 24, 32)
GREY = (90, 90, 100)
BLUE = (70, 130, 230)
ORANGE = (230, 150, 60)
GREEN = (90, 200, 90)
RED = (210, 70, 70)
WHITE = (235, 235, 235)
CELL = 24

TWO_32 = 2**32


def _threshold(name, p):
    """``p`` in [0, 1] as a uint32 threshold: ``next_u32 < threshold`` has probability ``p``
    (exactly, for p = 0 and 1; within 2**-32 otherwise)."""
    p = check_float(name, p)
    if not 0.0 <= p <= 1.0:
        raise APIUsageError(f"{name} must be in [0, 1], got {p}")
    return np.uint64(round(p * TWO_32))


def _picture(colors):
    """``(rows*CELL, cols*CELL, 3)`` uint8 from an ``(rows, cols, 3)`` grid of colours,
    with a 2-pixel background line around every cell."""
    grid = np.asarray(colors, np.uint8)
    frame = np.kron(grid, np.ones((CELL, CELL, 1), np.uint8))
    for axis in (0, 1):
        idx = np.arange(frame.shape[axis]) % CELL
        edge = (idx < 1) | (idx >= CELL - 1)
        if axis == 0:
            frame[edge] = BG
        else:
            frame[:, edge] = BG
    return frame


def _solution_rng(solution_seed):
    return np.random.default_rng(check_int("solution_seed", solution_seed, 0, 2**63 - 1))


# ============================================================================ Bandit
BANDIT_DTYPE = np.dtype([("rng", np.uint64), ("pay_best", np.uint64), ("pay_other", np.uint64),
                         ("best", np.int32), ("last_arm", np.int32), ("last_reward", np.float32)],
                        align=True)


@kernel
def bandit_reset(w, e):
    """Write the constant observation; forget the last pull (one-step episodes keep nothing else)."""
    w.envs[e]["last_arm"] = -1
    w.envs[e]["last_reward"] = 0.0
    w.observations[e, 0] = 1.0


@kernel
def bandit_step(w, e):
    """Pull arm ``actions[e]``: reward 1 with the arm's payout probability; the episode ends."""
    env = w.envs[e]
    arm = w.actions[e]
    best = arm == env["best"]
    threshold = env["pay_best"] if best else env["pay_other"]
    reward = 1.0 if next_u32(env) < threshold else 0.0
    w.rewards[e] = reward
    w.terminals[e] = True
    w.truncations[e] = False
    env["last_arm"] = arm
    env["last_reward"] = reward
    lg = w.logs[e]
    lg["perf"] += 1.0 if best else 0.0
    lg["score"] += reward
    lg["episode_return"] += reward
    lg["episode_length"] += 1.0
    lg["n"] += 1.0


class Bandit(OceanEnv):
    """Bandit: a multi-armed bandit with a constant observation; one pull per episode.

    One arm (``best_arm``, fixed by ``solution_seed`` for every env, episode and reset
    seed) pays 1 with probability ``p_best``, every other arm with probability ``p_other``.

    Catches: a learner that cannot learn a preference at all (policy-gradient sign or
    log-probability indexing errors, rewards not reaching the loss, the wrong action
    stored for the update), and, with the default noise-free payouts, advantage
    normalisation that divides by a zero standard deviation once every reward is equal.

    Optimal: always pull the best arm: ``perf`` 1 and a mean return of ``p_best`` (1 by
    default). A uniformly random policy gets ``perf`` 1 / num_arms.

    Args:
        num_envs: number of envs (= agents), >= 1.
        num_arms: arms, in [2, 1024] (default 4).
        p_best, p_other: payout probabilities in [0, 1] of the best arm and of the others,
            ``p_best > p_other`` (default 1 and 0: no noise).
        solution_seed: int >= 0 choosing the best arm among arms 1 .. num_arms - 1 (never
            arm 0, the argmax of an untrained policy's all-equal logits); default 42.
        log_interval, num_threads, buf, seed, device, render_mode: as every Ocean env.

    Spaces: observation ``Box(0, 1, (1,), float32)``, always 1. Action
    ``Discrete(num_arms)``. Rewards float32, 0 or 1. Every step ends an episode
    (``terminals`` all True); the seed only matters when a payout probability is neither
    0 nor 1.

    Log fields (per-episode means): ``perf`` (fraction of pulls on the best arm),
    ``score`` and ``episode_return`` (reward), ``episode_length`` (1), ``n``.

    ``state(env_id)``: ``envs`` (record: rng, pay_best, pay_other (payout probabilities
    times 2**32), best, last_arm (-1 until the first pull after a reset), last_reward).

    Raises:
        APIUsageError: invalid config (the message names the parameter).
    """

    WORLD = {"envs": Array(BANDIT_DTYPE, "num_envs")}
    LOG_FIELDS = ("perf", "score", "episode_return", "episode_length")
    STATE = ("envs",)
    reset_env = bandit_reset
    step_env = bandit_step

    @classmethod
    def test_config(cls):
        """Noisy payouts, so that the seed shows in the rewards."""
        return {"num_envs": 4, "num_arms": 3, "p_best": 0.75, "p_other": 0.25}

    def __init__(self, num_envs=1, num_arms=4, p_best=1.0, p_other=0.0, solution_seed=42, log_interval=128,
                 num_threads=1, buf=None, seed=0, device="cpu", render_mode=None):
        self.num_arms = check_int("num_arms", num_arms, 2, 1024)
        self.pay_best = _threshold("p_best", p_best)
        self.pay_other = _threshold("p_other", p_other)
        if self.pay_best <= self.pay_other:
            raise APIUsageError(f"p_best must be above p_other, got {p_best} <= {p_other}")
        self.p_best, self.p_other = float(p_best), float(p_other)
        self.best_arm = 1 + int(_solution_rng(solution_seed).integers(self.num_arms - 1))
        self.single_observation_space = gymnasium.spaces.Box(0.0, 1.0, (1,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(self.num_arms)
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def init_world(self):
        self.envs["pay_best"] = self.pay_best
        self.envs["pay_other"] = self.pay_other
        self.envs["best"] = self.best_arm

    def render_rgb(self, state):
        """``(48, 24*num_arms, 3)``: the arms (the best one green), and under them the last
        pull (blue if it paid, red if not)."""
        rec = state["envs"]
        colors = np.empty((2, self.num_arms, 3), np.uint8)
        colors[0] = GREY
        colors[0, int(rec["best"])] = GREEN
        colors[1] = BG
        if rec["last_arm"] >= 0:
            colors[1, int(rec["last_arm"])] = BLUE if rec["last_reward"] > 0 else RED
        return _picture(colors)

    def render_ansi(self, state):
        """The arms (``*`` the best), then the last pull and its reward."""
        rec = state["envs"]
        arms = "".join("[*]" if k == rec["best"] else "[ ]" for k in range(self.num_arms))
        last = (f"last pull: arm {int(rec['last_arm'])}, reward {float(rec['last_reward']):g}"
                if rec["last_arm"] >= 0 else "no pull yet")
        return f"{arms}  best arm {int(rec['best'])}; {last}"


# ============================================================================ Memory
MEMORY_DTYPE = np.dtype([("rng", np.uint64), ("tick", np.int32), ("length", np.int32), ("delay", np.int32),
                         ("correct", np.int32)], align=True)


@kernel
def memory_observe(w, e):
    """Observation at the current tick: (bit shown as -1/+1 or 0, recall flag)."""
    env = w.envs[e]
    t = env["tick"]
    n = env["length"]
    if t < n:
        w.observations[e, 0] = 1.0 if w.seq[e, t] == 1 else -1.0
        w.observations[e, 1] = 0.0
    elif t < n + env["delay"]:
        w.observations[e, 0] = 0.0
        w.observations[e, 1] = 0.0
    else:
        w.observations[e, 0] = 0.0
        w.observations[e, 1] = 1.0


@kernel
def memory_reset(w, e):
    """A new random sequence; nothing answered yet; the first bit shown."""
    env = w.envs[e]
    env["tick"] = 0
    env["correct"] = 0
    for k in range(env["length"]):
        w.seq[e, k] = rand_below(env, 2)
        w.answers[e, k] = -1
    memory_observe(w, e)


@kernel
def memory_step(w, e):
    """Score the action if in the recall phase, advance, end the episode after the last recall."""
    env = w.envs[e]
    n = env["length"]
    recall_start = n + env["delay"]
    t = env["tick"]
    w.rewards[e] = 0.0
    w.terminals[e] = False
    w.truncations[e] = False
    if t >= recall_start:
        k = t - recall_start
        a = w.actions[e]
        w.answers[e, k] = a
        if a == w.seq[e, k]:
            w.rewards[e] = 1.0
            env["correct"] += 1
    env["tick"] = t + 1
    if t + 1 == recall_start + n:
        w.terminals[e] = True
        lg = w.logs[e]
        correct = env["correct"]
        lg["perf"] += correct / n
        lg["score"] += correct
        lg["episode_return"] += correct
        lg["episode_length"] += t + 1
        lg["n"] += 1.0
        memory_reset(w, e)
        return
    memory_observe(w, e)


class Memory(OceanEnv):
    """Memory: watch ``length`` random bits, wait ``delay`` steps, then repeat them in order.

    An episode lasts ``2 * length + delay`` steps. Steps ``0 .. length - 1`` show bit
    ``t`` (observation ``-1`` for 0, ``+1`` for 1); during the next ``delay`` steps nothing
    is shown; then the recall flag is up for ``length`` steps, and the action at recall
    step ``k`` is the agent's guess of bit ``k`` (reward 1 if right). Actions outside the
    recall phase are ignored. Every bit is recalled ``length + delay`` steps after it was
    shown.

    Catches: a recurrent policy whose state does not carry information across steps
    (state reset every step or at the wrong time, hidden state not stored with the
    batch, sequences cut or shuffled in the update, truncated backpropagation shorter than
    ``length + delay``).

    Optimal: every bit right: return ``length`` (``perf`` 1). A policy without memory sees
    the same observation at every recall step and gets ``length / 2`` on average.

    Args:
        num_envs: number of envs (= agents), >= 1.
        length: bits to remember, in [1, 64] (default 4).
        delay: blank steps between showing and recalling, in [0, 1024] (default 0).
        log_interval, num_threads, buf, seed, device, render_mode: as every Ocean env.

    Spaces: observation ``Box(-1, 1, (2,), float32)``: (the bit shown, -1 / +1, or 0; the
    recall flag, 0 or 1). Action ``Discrete(2)``: the guessed bit. Rewards float32: 1 for
    a right guess, else 0. The last recall step is terminal; the env resets in that step.

    Log fields (per-episode means): ``perf`` (fraction of bits right), ``score`` and
    ``episode_return`` (bits right), ``episode_length`` (``2 * length + delay``), ``n``.

    ``state(env_id)``: ``envs`` (record: rng, tick, length, delay, correct), ``seq``
    (``(length,)`` uint8: the bits), ``answers`` (``(length,)`` int8: the guesses so far,
    -1 where none yet).

    Raises:
        APIUsageError: invalid config (the message names the parameter).
    """

    WORLD = {"envs": Array(MEMORY_DTYPE, "num_envs"),
             "seq": Array(np.uint8, "num_envs", "length"),
             "answers": Array(np.int8, "num_envs", "length", fill=-1)}
    LOG_FIELDS = ("perf", "score", "episode_return", "episode_length")
    reset_env = memory_reset
    step_env = memory_step

    @classmethod
    def test_config(cls):
        return {"num_envs": 4, "length": 3, "delay": 2}

    def __init__(self, num_envs=1, length=4, delay=0, log_interval=128, num_threads=1, buf=None, seed=0,
                 device="cpu", render_mode=None):
        self.length = check_int("length", length, 1, 64)
        self.delay = check_int("delay", delay, 0, 1024)
        self.horizon = 2 * self.length + self.delay
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(2)
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def init_world(self):
        self.envs["length"] = self.length
        self.envs["delay"] = self.delay

    def render_rgb(self, state):
        """``(48, 24*length, 3)``: the bits (blue 1, orange 0), under them the guesses
        (green right, red wrong, grey not yet)."""
        seq, answers = state["seq"], state["answers"]
        colors = np.empty((2, self.length, 3), np.uint8)
        colors[0] = np.where(seq[:, None] == 1, BLUE, ORANGE)
        colors[1] = np.where((answers == seq)[:, None], GREEN, RED)
        colors[1, answers < 0] = GREY
        return _picture(colors)

    def render_ansi(self, state):
        """``bits 1011 | guesses 10.. | step t/T (phase)``."""
        seq, answers, rec = state["seq"], state["answers"], state["envs"]
        t = int(rec["tick"])
        phase = "show" if t < self.length else "wait" if t < self.length + self.delay else "recall"
        bits = "".join(str(int(b)) for b in seq)
        guesses = "".join("." if a < 0 else str(int(a)) for a in answers)
        return f"bits {bits} | guesses {guesses} | step {t}/{self.horizon} ({phase})"


# ============================================================================ Password
PASSWORD_DTYPE = np.dtype([("rng", np.uint64), ("sticky", np.uint64), ("password", np.int64),
                           ("tick", np.int32), ("length", np.int32)], align=True)


@kernel
def password_reset(w, e):
    """Nothing entered yet: every digit of the observation is -1."""
    env = w.envs[e]
    env["tick"] = 0
    for k in range(env["length"]):
        w.observations[e, k] = -1.0


@kernel
def password_step(w, e):
    """Enter one digit (the previous one instead, with probability ``sticky``); judge the
    whole entry after the last digit."""
    env = w.envs[e]
    t = env["tick"]
    n = env["length"]
    digit = w.actions[e]
    if t > 0 and next_u32(env) < env["sticky"]:
        digit = 1 if w.observations[e, t - 1] > 0.5 else 0
    w.observations[e, t] = digit
    env["tick"] = t + 1
    w.truncations[e] = False
    if t + 1 < n:
        w.rewards[e] = 0.0
        w.terminals[e] = False
        return
    right = 0
    for k in range(n):
        if w.observations[e, k] == ((env["password"] >> k) & 1):
            right += 1
    success = right == n
    w.rewards[e] = 1.0 if success else 0.0
    w.terminals[e] = True
    lg = w.logs[e]
    lg["perf"] += 1.0 if success else 0.0
    lg["score"] += 1.0 if success else 0.0
    lg["digits_correct"] += right / n
    lg["episode_return"] += 1.0 if success else 0.0
    lg["episode_length"] += n
    lg["n"] += 1.0
    password_reset(w, e)


class Password(OceanEnv):
    """Password: enter a fixed hidden string of ``length`` bits, one per step; reward 1 at
    the end if every bit is right, else 0.

    The password is the same for every env, episode and reset seed (chosen by
    ``solution_seed``, never a constant string). The observation is what has been entered
    so far, so no memory is needed: only exploration. With ``sticky > 0`` the env
    enters the previously entered bit instead of the chosen one with that probability
    (sticky actions; the first bit is never sticky).

    Catches: exploration that collapses before the first success (entropy falling to
    zero, a too-small entropy bonus, a deterministic policy at start-up), and a learner
    that does not lock onto a rare sparse reward (value bootstrapping across terminals,
    rewards dropped at episode ends, a short rollout that never sees the end).

    Optimal: enter the password: return 1 per episode (``perf`` 1); with stickiness,
    ``(1 - sticky) ** c`` on average, where ``c`` counts the positions ``k >= 1`` at which
    the password changes bit. A uniformly random policy succeeds with probability
    ``2 ** -length``.

    Args:
        num_envs: number of envs (= agents), >= 1.
        length: bits in the password, in [1, 30] (default 5).
        sticky: probability in [0, 1) that a bit after the first repeats the previous
            entered bit (default 0: deterministic).
        solution_seed: int >= 0 choosing the password (default 42: ``env.password``).
        log_interval, num_threads, buf, seed, device, render_mode: as every Ocean env.

    Spaces: observation ``Box(-1, 1, (length,), float32)``: entered bits (0 or 1), -1
    where not yet entered. Action ``Discrete(2)``. Rewards float32: 1 after a right
    password, else 0. The last bit is terminal; the env resets in that step. Without
    stickiness the seed does not matter (the env draws nothing).

    Log fields (per-episode means): ``perf`` and ``score`` (success), ``digits_correct``
    (fraction of bits right), ``episode_return``, ``episode_length`` (``length``), ``n``.

    ``state(env_id)``: ``envs`` (record: rng, sticky (probability times 2**32), password
    (bit ``k`` is digit ``k``), tick, length), ``observations`` (the bits entered).

    Raises:
        APIUsageError: invalid config (the message names the parameter).
    """

    WORLD = {"envs": Array(PASSWORD_DTYPE, "num_envs")}
    LOG_FIELDS = ("perf", "score", "digits_correct", "episode_return", "episode_length")
    STATE = ("envs", "observations")
    reset_env = password_reset
    step_env = password_step

    @classmethod
    def test_config(cls):
        """Sticky actions on, so that the seed shows in the trajectory."""
        return {"num_envs": 4, "length": 4, "sticky": 0.25}

    def __init__(self, num_envs=1, length=5, sticky=0.0, solution_seed=42, log_interval=128, num_threads=1,
                 buf=None, seed=0, device="cpu", render_mode=None):
        self.length = check_int("length", length, 1, 30)
        self.sticky = check_float("sticky", sticky)
        if not 0.0 <= self.sticky < 1.0:
            raise APIUsageError(f"sticky must be in [0, 1), got {sticky}")
        rng = _solution_rng(solution_seed)
        bits = rng.integers(0, 2, self.length)
        while self.length > 1 and bits.min() == bits.max():   # a constant password is no test
            bits = rng.integers(0, 2, self.length)
        #: The hidden password, digit 0 first.
        self.password = tuple(int(b) for b in bits)
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 1.0, (self.length,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(2)
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def init_world(self):
        self.envs["sticky"] = _threshold("sticky", self.sticky)
        self.envs["password"] = sum(b << k for k, b in enumerate(self.password))
        self.envs["length"] = self.length

    def render_rgb(self, state):
        """``(48, 24*length, 3)``: the password (blue 1, orange 0), under it the bits entered
        (green right, red wrong, grey not yet)."""
        entered = state["observations"][0]
        pw = np.array(self.password)
        colors = np.empty((2, self.length, 3), np.uint8)
        colors[0] = np.where(pw[:, None] == 1, BLUE, ORANGE)
        colors[1] = np.where((entered == pw)[:, None], GREEN, RED)
        colors[1, entered < 0] = GREY
        return _picture(colors)

    def render_ansi(self, state):
        """``password 01100 | entered 01.. ``."""
        entered = state["observations"][0]
        return (f"password {''.join(map(str, self.password))} | entered "
                + "".join("." if v < 0 else str(int(v)) for v in entered))


# ============================================================================ Stochastic
#: Stochastic's p is rounded to a multiple of 1 / P_SCALE.
P_SCALE = 65536
STOCHASTIC_DTYPE = np.dtype([("rng", np.uint64), ("p_num", np.int64), ("ret", np.float64),
                             ("tick", np.int32), ("horizon", np.int32), ("zeros", np.int32),
                             ("last_action", np.int32), ("last_paid", np.int32),
                             ("pay0", np.float32), ("pay1", np.float32)], align=True)


@kernel
def stochastic_reset(w, e):
    env = w.envs[e]
    env["tick"] = 0
    env["zeros"] = 0
    env["ret"] = 0.0
    env["last_action"] = -1
    env["last_paid"] = -1
    w.observations[e, 0] = 0.0


@kernel
def stochastic_step(w, e):
    """The opponent decides which action it pays for this step, from the agent's past
    frequency of action 0 (docs/envs/sanity.md, Stochastic); then the action is scored."""
    env = w.envs[e]
    pn = env["p_num"]
    n = np.int64(env["tick"])       # the agent's earlier actions this episode
    c = np.int64(env["zeros"])      # ... of which 0
    if n == 0:
        pays_zero = rand_below(env, P_SCALE) < pn
    elif 2 * pn >= P_SCALE:         # p >= 1/2: pay for 0 with probability 1 - (1-p)/p * c/n
        pays_zero = rand_below(env, pn * n) < pn * n - (P_SCALE - pn) * c
    else:                           # p < 1/2: pay for 0 with probability p/(1-p) * (1 - c/n)
        pays_zero = rand_below(env, (P_SCALE - pn) * n) < pn * (n - c)
    a = w.actions[e]
    reward = np.float32(0.0)
    if pays_zero and a == 0:
        reward = env["pay0"]
    elif not pays_zero and a == 1:
        reward = env["pay1"]
    w.rewards[e] = reward
    env["ret"] += reward
    if a == 0:
        env["zeros"] += 1
    env["tick"] += 1
    w.terminals[e] = False
    done = env["tick"] >= env["horizon"]
    w.truncations[e] = done
    if done:
        h = env["horizon"]
        lg = w.logs[e]
        lg["perf"] += env["ret"] / h
        lg["action0_frac"] += env["zeros"] / h
        lg["episode_return"] += env["ret"]
        lg["episode_length"] += h
        lg["n"] += 1.0
        stochastic_reset(w, e)
    env["last_action"] = a                 # after a reset, which clears them
    env["last_paid"] = 0 if pays_zero else 1


class Stochastic(OceanEnv):
    """Stochastic: a constant observation, two actions, and an opponent that pays for the
    action the agent plays too rarely, so that the best memoryless policy is a biased coin.

    Each step the opponent pays either for action 0 (reward ``1/p`` if the agent plays 0)
    or for action 1 (reward ``1/(1-p)`` if it plays 1), choosing "pays for 0" with a
    probability that falls linearly with ``f``, the fraction of 0s among the agent's
    earlier actions of the episode, and equals ``p`` when ``f = p`` (at the first step,
    ``p``). For a policy playing 0 with probability ``q`` whatever it sees, the expected
    reward of every step after the first is exactly ``1 - k (q - p)**2 / (p (1 - p))`` with
    ``k = min(p, 1-p) / max(p, 1-p)``: 1 at ``q = p``, less anywhere else (the first step
    pays 1 on average whatever ``q``). :meth:`expected_return` gives the episode's.

    Catches: a learner that cannot represent or keep a non-degenerate action distribution
    (an entropy bonus that pulls the policy to 50/50, a sampler that takes the argmax, a
    log-probability or ratio computed for the wrong action). Use a policy without memory:
    one with memory can beat the opponent.

    Optimal (memoryless): play 0 with probability ``p``: 1 per step on average, return
    ``horizon`` (``perf`` 1, ``action0_frac`` about ``p``). For the default ``p = 0.75``
    (``k = 1/3``): always 0 and a fair coin both get 8/9 per step after the first, always
    1 gets 0.

    Args:
        num_envs: number of envs (= agents), >= 1.
        p: the optimal probability of action 0, in (0, 1), rounded to a multiple of 2**-16
            (default 0.75).
        horizon: steps per episode, in [1, 65535] (default 100).
        log_interval, num_threads, buf, seed, device, render_mode: as every Ocean env.

    Spaces: observation ``Box(0, 1, (1,), float32)``, always 0. Action ``Discrete(2)``.
    Rewards float32: ``1/p``, ``1/(1-p)`` or 0. An episode is truncated after ``horizon``
    steps (a time limit; there is no terminal state); the env resets in that step.

    Log fields (per-episode means): ``perf`` (mean reward per step), ``action0_frac``
    (fraction of 0s played), ``episode_return``, ``episode_length``, ``n``.

    ``state(env_id)``: ``envs`` (record: rng, p_num (p times 2**16), ret (return so far),
    tick, horizon, zeros (0s played so far), last_action, last_paid (the action played and
    the action the opponent paid for at the last step; -1 until the first step after a
    reset), pay0, pay1).

    Raises:
        APIUsageError: invalid config (the message names the parameter).
    """

    WORLD = {"envs": Array(STOCHASTIC_DTYPE, "num_envs")}
    LOG_FIELDS = ("perf", "action0_frac", "episode_return", "episode_length")
    STATE = ("envs",)
    reset_env = stochastic_reset
    step_env = stochastic_step

    @classmethod
    def test_config(cls):
        return {"num_envs": 4, "horizon": 16}

    def __init__(self, num_envs=1, p=0.75, horizon=100, log_interval=128, num_threads=1, buf=None, seed=0,
                 device="cpu", render_mode=None):
        p = check_float("p", p)
        self.p_num = int(round(p * P_SCALE))
        if not 0 < self.p_num < P_SCALE:
            raise APIUsageError(f"p must be in (0, 1) (and at least 2**-16 from both ends), got {p}")
        #: ``p`` as used: rounded to a multiple of 2**-16.
        self.p = self.p_num / P_SCALE
        self.horizon = check_int("horizon", horizon, 1, 65535)
        self.single_observation_space = gymnasium.spaces.Box(0.0, 1.0, (1,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(2)
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def init_world(self):
        self.envs["p_num"] = self.p_num
        self.envs["horizon"] = self.horizon
        self.envs["pay0"] = np.float32(1.0 / self.p)
        self.envs["pay1"] = np.float32(1.0 / (1.0 - self.p))

    def expected_return(self, q: float) -> float:
        """Expected episode return of a memoryless policy playing 0 with probability ``q``:
        ``1 + (horizon - 1) * (1 - k (q - p)**2 / (p (1 - p)))``, at most ``horizon`` (at ``q = p``)."""
        p = self.p
        k = min(p, 1 - p) / max(p, 1 - p)
        return 1.0 + (self.horizon - 1) * (1.0 - k * (q - p) ** 2 / (p * (1 - p)))

    def render_rgb(self, state):
        """``(48, 240, 3)``: top, the fraction of 0s played this episode (blue bar) against
        ``p`` (white mark); bottom, the last step: the action paid for (green) and played
        (blue, or red if unpaid)."""
        rec = state["envs"]
        frame = np.full((48, 240, 3), BG, np.uint8)
        t = int(rec["tick"])
        frac = rec["zeros"] / t if t else 0.0
        frame[4:20, 0:int(round(240 * frac))] = BLUE
        mark = min(239, int(round(240 * self.p)))
        frame[0:24, max(0, mark - 1):mark + 1] = WHITE
        if rec["last_action"] >= 0:
            paid, played = int(rec["last_paid"]), int(rec["last_action"])
            frame[28:46, 120 * paid:120 * paid + 120] = GREEN
            frame[32:42, 120 * played + 40:120 * played + 80] = BLUE if paid == played else RED
        return frame

    def render_ansi(self, state):
        """``step t/T  0s played f (target p)  last: played a, paid b``."""
        rec = state["envs"]
        t = int(rec["tick"])
        frac = f"{rec['zeros'] / t:.3f}" if t else "-"
        last = (f"last: played {int(rec['last_action'])}, paid for {int(rec['last_paid'])}"
                if rec["last_action"] >= 0 else "no step yet")
        return f"step {t}/{self.horizon}  0s played {frac} (target {self.p:.3f})  {last}"


# ============================================================================ Multiagent
MULTI_DTYPE = np.dtype([("rng", np.uint64), ("target0", np.int32), ("target1", np.int32),
                        ("bit0", np.int32), ("bit1", np.int32), ("last0", np.int32), ("last1", np.int32),
                        ("reward0", np.float32), ("reward1", np.float32)], align=True)


@kernel
def multi_clear(env):
    """No finished episode to show."""
    env["bit0"] = -1
    env["bit1"] = -1
    env["last0"] = -1
    env["last1"] = -1
    env["reward0"] = 0.0
    env["reward1"] = 0.0


@kernel
def multi_draw(w, e):
    """A new random bit for each agent; observation (agent slot, its bit)."""
    env = w.envs[e]
    env["target0"] = rand_below(env, 2)
    env["target1"] = rand_below(env, 2)
    a = 2 * e
    w.observations[a, 0] = 0.0
    w.observations[a, 1] = env["target0"]
    w.observations[a + 1, 0] = 1.0
    w.observations[a + 1, 1] = env["target1"]


@kernel
def multi_reset(w, e):
    multi_clear(w.envs[e])
    multi_draw(w, e)


@kernel
def multi_step(w, e):
    """Agent 0 is paid for copying its bit, agent 1 for flipping its bit; the episode ends."""
    env = w.envs[e]
    a = 2 * e
    act0 = w.actions[a]
    act1 = w.actions[a + 1]
    r0 = 1.0 if act0 == env["target0"] else 0.0
    r1 = 1.0 if act1 == 1 - env["target1"] else 0.0
    w.rewards[a] = r0
    w.rewards[a + 1] = r1
    for s in range(2):
        w.terminals[a + s] = True
        w.truncations[a + s] = False
    env["bit0"] = env["target0"]
    env["bit1"] = env["target1"]
    env["last0"] = act0
    env["last1"] = act1
    env["reward0"] = r0
    env["reward1"] = r1
    lg = w.logs[e]
    both = r0 + r1
    lg["perf"] += 1.0 if both == 2.0 else 0.5 if both == 1.0 else 0.0   # (r0 + r1) / 2, without an FMA
    lg["agent0_reward"] += r0
    lg["agent1_reward"] += r1
    lg["episode_length"] += 1.0
    lg["n"] += 1.0
    multi_draw(w, e)                       # the next episode; the last one stays on show


class Multiagent(OceanEnv):
    """Multiagent: two agents per env with different rules and separate rewards; one step
    per episode.

    Each episode both agents get a random bit of their own. Agent 0 (row ``2e``) is paid 1
    for playing its bit, agent 1 (row ``2e + 1``) for playing the opposite of its bit.
    An agent observes ``(its slot, its bit)``; rewards are per agent.

    Catches: bookkeeping that mixes agents: observations, actions and rewards not on the
    same agent's row (an agent's reward then does not depend on its action and it stays
    at chance), rewards summed or averaged over agents, a shared policy that is not given
    the agent's slot, agents dropped or duplicated by the vectorizer.

    Optimal: both agents right every episode: 1 per agent (``perf`` 1). Ignoring the bit
    or the slot scores 0.5.

    Args:
        num_envs: number of envs, >= 1 (``num_agents = 2 * num_envs``).
        log_interval, num_threads, buf, seed, device, render_mode: as every Ocean env.

    Spaces: observation ``Box(0, 1, (2,), float32)``: (slot 0 or 1, the agent's bit).
    Action ``Discrete(2)``. Rewards float32, 0 or 1 per agent. Every step is terminal for
    both agents; the env resets in that step.

    Log fields (per-episode means): ``perf`` (mean over the two agents),
    ``agent0_reward``, ``agent1_reward``, ``episode_length`` (1), ``n``.

    ``state(env_id)``: ``envs`` (record: rng, target0, target1 (the bits of the current
    episode), bit0, bit1, last0, last1, reward0, reward1 (the bits, actions and rewards of
    the last finished episode; bits and actions -1 until one finishes after a reset)),
    ``observations``.

    Raises:
        APIUsageError: invalid config (the message names the parameter).
    """

    WORLD = {"envs": Array(MULTI_DTYPE, "num_envs")}
    LOG_FIELDS = ("perf", "agent0_reward", "agent1_reward", "episode_length")
    STATE = ("envs", "observations")
    reset_env = multi_reset
    step_env = multi_step

    @classmethod
    def test_config(cls):
        return {"num_envs": 3}

    def __init__(self, num_envs=1, log_interval=128, num_threads=1, buf=None, seed=0, device="cpu",
                 render_mode=None):
        self.single_observation_space = gymnasium.spaces.Box(0.0, 1.0, (2,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(2)
        super().__init__(num_envs=num_envs, agents_per_env=2, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def render_rgb(self, state):
        """``(48, 96, 3)``: a row per agent: its bit in the last finished episode and the
        action it played there (blue 1, orange 0; grey before the first), a lamp (green paid,
        red not), and its bit in the current episode."""
        rec = state["envs"]
        colors = np.full((2, 4, 3), BG, np.uint8)
        for s in range(2):
            last = int(rec[f"last{s}"])
            if last >= 0:
                colors[s, 0] = BLUE if rec[f"bit{s}"] == 1 else ORANGE
                colors[s, 1] = BLUE if last == 1 else ORANGE
            else:
                colors[s, :2] = GREY
            colors[s, 2] = GREY if last < 0 else GREEN if rec[f"reward{s}"] > 0 else RED
            colors[s, 3] = BLUE if rec[f"target{s}"] == 1 else ORANGE
        return _picture(colors)

    def render_ansi(self, state):
        """A line per agent: its rule, the last finished episode (bit, action, reward), its
        bit now."""
        rec = state["envs"]
        lines = []
        for s, rule in ((0, "copy"), (1, "flip")):
            last = int(rec[f"last{s}"])
            tail = (f"last episode: bit {int(rec[f'bit{s}'])}, played {last}, reward "
                    f"{float(rec[f'reward{s}']):g}" if last >= 0 else "no episode yet")
            lines.append(f"agent {s} ({rule} the bit): {tail}; bit now {int(rec[f'target{s}'])}")
        return "\n".join(lines)


# ============================================================================ Spaces
#: The nested spaces of Spaces; its flat observation and action are their emulated encodings.
SPACES_OBSERVATION = gymnasium.spaces.Dict({
    "image": gymnasium.spaces.Box(0.0, 1.0, (5, 5), np.float32),
    "flat": gymnasium.spaces.Tuple((gymnasium.spaces.Box(-1.0, 1.0, (3,), np.float32),
                                    gymnasium.spaces.Box(-1.0, 1.0, (5,), np.float32))),
})
SPACES_ACTION = gymnasium.spaces.Dict({
    "image": gymnasium.spaces.Discrete(2),
    "flat": gymnasium.spaces.Tuple((gymnasium.spaces.Discrete(2), gymnasium.spaces.Discrete(2))),
})
SPACES_FLAT_OBS, SPACES_OBS_DTYPE = emulate_observation_space(SPACES_OBSERVATION)
SPACES_FLAT_ACTION, SPACES_ATN_DTYPE = emulate_action_space(SPACES_ACTION)
assert SPACES_FLAT_OBS.dtype == np.float32 and SPACES_ATN_DTYPE.itemsize == 3 * 4  # 4-byte leaves


def _element_offset(dtype, *fields):
    """Index, in float32 / int32 elements, of a nested field of a structured dtype."""
    offset = 0
    for name in fields:
        dtype, at = dtype.fields[name][:2]
        offset += at
    return offset // 4


# Where each leaf sits in a flat row, read from the emulation layer's structured dtypes
# (Gymnasium orders Dict keys, so 'flat' comes before 'image').
IMAGE_AT = _element_offset(SPACES_OBS_DTYPE, "image")
FLAT0_AT = _element_offset(SPACES_OBS_DTYPE, "flat", "f0")
FLAT1_AT = _element_offset(SPACES_OBS_DTYPE, "flat", "f1")
ACT_IMAGE = _element_offset(SPACES_ATN_DTYPE, "image")
ACT_FLAT0 = _element_offset(SPACES_ATN_DTYPE, "flat", "f0")
ACT_FLAT1 = _element_offset(SPACES_ATN_DTYPE, "flat", "f1")

SPACES_DTYPE = np.dtype([("rng", np.uint64), ("ans_image", np.int32), ("ans_flat0", np.int32),
                         ("ans_flat1", np.int32), ("last_image", np.int32), ("last_flat0", np.int32),
                         ("last_flat1", np.int32), ("last_ok", np.int32), ("last_reward", np.float32)],
                        align=True)


@kernel
def spaces_draw(w, e):
    """A new random image (0/1 cells) and two random sign vectors; remember the answers."""
    env = w.envs[e]
    lit = 0
    for k in range(25):
        v = rand_below(env, 2)
        lit += v
        w.observations[e, IMAGE_AT + k] = v
    total0 = 0
    for k in range(3):
        v = 2 * rand_below(env, 2) - 1
        total0 += v
        w.observations[e, FLAT0_AT + k] = v
    total1 = 0
    for k in range(5):
        v = 2 * rand_below(env, 2) - 1
        total1 += v
        w.observations[e, FLAT1_AT + k] = v
    env["ans_image"] = 1 if lit > 12 else 0
    env["ans_flat0"] = 1 if total0 > 0 else 0
    env["ans_flat1"] = 1 if total1 > 0 else 0


@kernel
def spaces_reset(w, e):
    """A new episode, and no finished one to show."""
    env = w.envs[e]
    env["last_image"] = -1
    env["last_flat0"] = -1
    env["last_flat1"] = -1
    env["last_ok"] = -1
    env["last_reward"] = 0.0
    spaces_draw(w, e)


@kernel
def spaces_step(w, e):
    """Score the three action parts (1/3 each); the episode ends."""
    env = w.envs[e]
    a_image = w.actions[e, ACT_IMAGE]
    a_flat0 = w.actions[e, ACT_FLAT0]
    a_flat1 = w.actions[e, ACT_FLAT1]
    ok_image = a_image == env["ans_image"]
    ok_flat0 = a_flat0 == env["ans_flat0"]
    ok_flat1 = a_flat1 == env["ans_flat1"]
    right = np.int32(ok_image) + np.int32(ok_flat0) + np.int32(ok_flat1)
    reward = np.float32(right) / np.float32(3.0)
    w.rewards[e] = reward
    w.terminals[e] = True
    w.truncations[e] = False
    env["last_image"] = a_image
    env["last_flat0"] = a_flat0
    env["last_flat1"] = a_flat1
    env["last_ok"] = np.int32(ok_image) + 2 * np.int32(ok_flat0) + 4 * np.int32(ok_flat1)
    env["last_reward"] = reward
    lg = w.logs[e]
    lg["perf"] += 1.0 if right == 3 else 0.0
    lg["score"] += reward
    lg["image_correct"] += 1.0 if ok_image else 0.0
    lg["flat0_correct"] += 1.0 if ok_flat0 else 0.0
    lg["flat1_correct"] += 1.0 if ok_flat1 else 0.0
    lg["episode_length"] += 1.0
    lg["n"] += 1.0
    spaces_draw(w, e)                      # the next episode; the last one stays on show


class Spaces(OceanEnv):
    """Spaces: a nested ``Dict``/``Tuple`` observation and a three-part nested action,
    carried in the emulation layer's flat encoding; one step per episode.

    The nested observation (``env.env_observation_space``) is
    ``Dict(image=Box(0, 1, (5, 5)), flat=Tuple(Box(-1, 1, (3,)), Box(-1, 1, (5,))))``: image
    cells are 0 or 1, flat entries -1 or +1. The nested action (``env.env_action_space``)
    is ``Dict(image=Discrete(2), flat=Tuple(Discrete(2), Discrete(2)))``. Each part is
    right if it is 1 exactly when: more than half of the 25 image cells are 1 (``image``);
    ``flat[0]`` sums to more than 0 (``flat[0]``); ``flat[1]`` sums to more than 0
    (``flat[1]``). None of them can tie.

    The env is native: its flat observation is ``emulate_observation_space`` of the nested
    one (a float32 row of 33 whose bytes are one record of ``env.obs_dtype``) and its flat
    action ``emulate_action_space`` of the nested one (``MultiDiscrete([2, 2, 2])``, a row of
    int32 whose bytes are one record of ``env.atn_dtype``), exactly what
    ``pufferlib.emulation`` gives a Gymnasium env with these spaces.
    ``pufferlib.emulation.nativize(row, env.env_observation_space, env.obs_dtype)`` turns a
    row back into the dict, and ``nativize(action_row, env.env_action_space, env.atn_dtype)``
    an action row.

    Catches: a learner that flattens or unflattens nested spaces wrongly (fields in the
    wrong order or at the wrong offsets, Tuple elements swapped, Dict keys taken in
    insertion instead of sorted order), and multi-part action handling (a part never
    sampled, log-probabilities not summed over parts, parts sent in the wrong order).
    The logs score each part on its own, so a part stuck at 0.5 names the broken leaf.

    Optimal: all three parts right: return 1 (``perf`` 1). Random actions score 0.5.

    Args:
        num_envs: number of envs (= agents), >= 1.
        log_interval, num_threads, buf, seed, device, render_mode: as every Ocean env.

    Spaces: observation ``Box`` of shape ``(33,)`` float32 with per-element bounds (the
    emulated nested space; ``flat[0]`` at 0..2, ``flat[1]`` at 3..7, ``image`` row-major at
    8..32, since Gymnasium sorts Dict keys). Action ``MultiDiscrete([2, 2, 2])``: (flat[0],
    flat[1], image). Rewards float32: 1/3 per right part. Every step is terminal.

    Log fields (per-episode means): ``perf`` (all three right), ``score`` (reward),
    ``image_correct``, ``flat0_correct``, ``flat1_correct``, ``episode_length``, ``n``.

    ``state(env_id)``: ``envs`` (record: rng, ans_image, ans_flat0, ans_flat1 (the right
    answers), last_image, last_flat0, last_flat1 (the last action), last_ok (bits 0, 1, 2:
    image, flat[0], flat[1] right in the last action), last_reward: all -1 (reward 0) until
    the first step after a reset), ``observations``.

    Raises:
        APIUsageError: invalid config (the message names the parameter).
    """

    WORLD = {"envs": Array(SPACES_DTYPE, "num_envs")}
    LOG_FIELDS = ("perf", "score", "image_correct", "flat0_correct", "flat1_correct", "episode_length")
    STATE = ("envs", "observations")
    reset_env = spaces_reset
    step_env = spaces_step

    #: The nested spaces and the structured dtypes of one flat row (as the emulation wrappers name them).
    env_observation_space = SPACES_OBSERVATION
    env_action_space = SPACES_ACTION
    obs_dtype = SPACES_OBS_DTYPE
    atn_dtype = SPACES_ATN_DTYPE

    @classmethod
    def test_config(cls):
        return {"num_envs": 4}

    def __init__(self, num_envs=1, log_interval=128, num_threads=1, buf=None, seed=0, device="cpu",
                 render_mode=None):
        self.single_observation_space = SPACES_FLAT_OBS
        self.single_action_space = SPACES_FLAT_ACTION
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def render_rgb(self, state):
        """``(168, 192, 3)``: the 5x5 image (white 1, grey 0), under it the two sign rows (blue
        +1, orange -1); in the last column a lamp per part for the last action (image, then
        flat[0], flat[1]): green if that part was right, red if wrong, grey before the first.
        The lamps judge the previous episode; the image and rows are the current one."""
        row = state["observations"][0]
        rec = state["envs"]
        colors = np.full((7, 8, 3), BG, np.uint8)
        colors[:5, :5] = np.where(row[IMAGE_AT:IMAGE_AT + 25].reshape(5, 5, 1) > 0.5, WHITE, GREY)
        colors[5, :3] = np.where(row[FLAT0_AT:FLAT0_AT + 3, None] > 0, BLUE, ORANGE)
        colors[6, :5] = np.where(row[FLAT1_AT:FLAT1_AT + 5, None] > 0, BLUE, ORANGE)
        ok = int(rec["last_ok"])
        for bit, r in enumerate((2, 5, 6)):   # image, flat[0], flat[1]
            colors[r, 7] = GREY if ok < 0 else GREEN if ok >> bit & 1 else RED
        return _picture(colors)

    def render_ansi(self, state):
        """The current episode (image as ``#``/``.`` rows, the sign rows, the right answers),
        then the last finished episode's action and reward."""
        row = state["observations"][0]
        rec = state["envs"]
        img = row[IMAGE_AT:IMAGE_AT + 25].reshape(5, 5)
        lines = ["".join("#" if v > 0.5 else "." for v in r) for r in img]
        for k, (at, n) in enumerate(((FLAT0_AT, 3), (FLAT1_AT, 5))):
            lines.append(f"flat[{k}] " + " ".join("+" if v > 0 else "-" for v in row[at:at + n]))
        lines.append(f"right answer image={int(rec['ans_image'])} flat=({int(rec['ans_flat0'])}, "
                     f"{int(rec['ans_flat1'])})")
        if rec["last_image"] >= 0:
            lines.append(f"last episode: action image={int(rec['last_image'])} flat=({int(rec['last_flat0'])}, "
                         f"{int(rec['last_flat1'])}), reward {float(rec['last_reward']):.3f}")
        return "\n".join(lines)


# ============================================================================ Continuous
CONT_DTYPE = np.dtype([("rng", np.uint64), ("tick", np.int32), ("horizon", np.int32),
                       ("x", np.float32), ("y", np.float32), ("tx", np.float32), ("ty", np.float32)],
                      align=True)
#: An action component moves the agent by action / SPEED_DIV on that axis.
SPEED_DIV = np.float32(10.0)
RADIUS = np.float32(0.1)


@kernel
def random_coord(env):
    """Uniform on {-1, -0.999, ..., 1} from the env's generator."""
    return np.float32(rand_below(env, 2001) - 1000) / np.float32(1000.0)


@kernel
def cont_observe(w, e):
    env = w.envs[e]
    w.observations[e, 0] = env["tx"] - env["x"]
    w.observations[e, 1] = env["ty"] - env["y"]


@kernel
def cont_in_reach(env):
    return abs(env["tx"] - env["x"]) <= RADIUS and abs(env["ty"] - env["y"]) <= RADIUS


@kernel
def cont_reset(w, e):
    """Agent and target at random, the target out of reach."""
    env = w.envs[e]
    env["tick"] = 0
    env["x"] = random_coord(env)
    env["y"] = random_coord(env)
    env["tx"] = random_coord(env)
    env["ty"] = random_coord(env)
    while cont_in_reach(env):
        env["tx"] = random_coord(env)
        env["ty"] = random_coord(env)
    cont_observe(w, e)


@kernel
def cont_step(w, e):
    """Move by action / 10 (stopped at the walls); +1 and the end on reaching the target."""
    env = w.envs[e]
    env["x"] = min(max(env["x"] + w.actions[e, 0] / SPEED_DIV, np.float32(-1.0)), np.float32(1.0))
    env["y"] = min(max(env["y"] + w.actions[e, 1] / SPEED_DIV, np.float32(-1.0)), np.float32(1.0))
    env["tick"] += 1
    reached = cont_in_reach(env)
    timeout = not reached and env["tick"] >= env["horizon"]
    w.rewards[e] = 1.0 if reached else 0.0
    w.terminals[e] = reached
    w.truncations[e] = timeout
    if reached or timeout:
        lg = w.logs[e]
        lg["perf"] += 1.0 if reached else 0.0
        lg["score"] += 1.0 if reached else 0.0
        lg["episode_return"] += 1.0 if reached else 0.0
        lg["episode_length"] += env["tick"]
        lg["n"] += 1.0
        cont_reset(w, e)
        return
    cont_observe(w, e)


class Continuous(OceanEnv):
    """Continuous: move a point to a target in the square ``[-1, 1]^2`` with ``Box(-1, 1, (2,))``
    velocity actions.

    Each episode the agent and the target are placed at random (coordinates in steps of
    1/1000), the target out of reach. An action ``(ax, ay)`` moves the agent by
    ``(ax / 10, ay / 10)``, stopped at the walls. When the agent is within 0.1 of the
    target on both axes it gets reward 1 and the episode ends (terminal); after
    ``horizon`` steps without that it is truncated. The agent observes the offset to the
    target.

    Catches: broken continuous-action plumbing: a Gaussian policy whose samples are not
    clipped to the bounds (the env rejects them with ``APIUsageError``), actions scaled or
    squashed twice, the two action components swapped or collapsed into one, log-density
    not summed over components, a Box action sent through a Discrete code path.

    Optimal: head straight for the target at full speed on each axis
    (``clip(10 * offset, -1, 1)``): every episode reaches it, return 1 (``perf`` 1), in at
    most 19 steps. Zero actions never reach it (``perf`` 0).

    Args:
        num_envs: number of envs (= agents), >= 1.
        horizon: steps before an episode is truncated, in [20, 100000] (default 50; the
            farthest target needs 19).
        log_interval, num_threads, buf, seed, device, render_mode: as every Ocean env.

    Spaces: observation ``Box(-2, 2, (2,), float32)``: (target x - x, target y - y). Action
    ``Box(-1, 1, (2,), float32)``. Rewards float32: 1 on reaching the target, else 0.

    Log fields (per-episode means): ``perf``, ``score`` and ``episode_return`` (1 if the
    target was reached), ``episode_length``, ``n``.

    ``state(env_id)``: ``envs`` (record: rng, tick, horizon, x, y, tx, ty).

    Raises:
        APIUsageError: invalid config (the message names the parameter).
    """

    WORLD = {"envs": Array(CONT_DTYPE, "num_envs")}
    LOG_FIELDS = ("perf", "score", "episode_return", "episode_length")
    STATE = ("envs",)
    reset_env = cont_reset
    step_env = cont_step

    @classmethod
    def test_config(cls):
        return {"num_envs": 4, "horizon": 20}

    def __init__(self, num_envs=1, horizon=50, log_interval=128, num_threads=1, buf=None, seed=0, device="cpu",
                 render_mode=None):
        self.horizon = check_int("horizon", horizon, 20, 100000)
        self.single_observation_space = gymnasium.spaces.Box(-2.0, 2.0, (2,), np.float32)
        self.single_action_space = gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float32)
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def init_world(self):
        self.envs["horizon"] = self.horizon

    def render_rgb(self, state):
        """``(200, 200, 3)``: the arena (100 pixels per unit, y up), the target's reach box
        (green outline), the agent (blue square)."""
        rec = state["envs"]
        frame = np.full((200, 200, 3), BG, np.uint8)

        def px(x, y):
            return (int(np.clip(round(100 - 100 * float(y)), 0, 199)),
                    int(np.clip(round(100 + 100 * float(x)), 0, 199)))
        r0, c0 = px(rec["tx"] - RADIUS, rec["ty"] + RADIUS)
        r1, c1 = px(rec["tx"] + RADIUS, rec["ty"] - RADIUS)
        frame[r0:r1 + 1, c0:c1 + 1] = GREEN
        frame[r0 + 2:r1 - 1, c0 + 2:c1 - 1] = BG
        r, c = px(rec["x"], rec["y"])
        frame[max(0, r - 3):r + 4, max(0, c - 3):c + 4] = BLUE
        return frame

    def render_ansi(self, state):
        """A 21 x 21 character map (``A`` agent, ``T`` target, y up), then the positions."""
        rec = state["envs"]
        grid = [["." for _ in range(21)] for _ in range(21)]

        def cell(x, y):
            return int(np.clip(round(10 - 10 * float(y)), 0, 20)), int(np.clip(round(10 + 10 * float(x)), 0, 20))
        tr, tc = cell(rec["tx"], rec["ty"])
        grid[tr][tc] = "T"
        ar, ac = cell(rec["x"], rec["y"])
        grid[ar][ac] = "A"
        lines = ["".join(r) for r in grid]
        lines.append(f"agent ({float(rec['x']):+.3f}, {float(rec['y']):+.3f})  target "
                     f"({float(rec['tx']):+.3f}, {float(rec['ty']):+.3f})  step {int(rec['tick'])}/{self.horizon}")
        return "\n".join(lines)
