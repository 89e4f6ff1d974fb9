"""CartPole: balance a pole on a cart by pushing the cart left or right (``docs/envs/cartpole.md``).

The Barto, Sutton & Anderson cart-pole ("Neuronlike adaptive elements that can solve
difficult learning control problems", IEEE SMC 1983) in the formulation of Gymnasium's
CartPole-v1, integrated with explicit Euler steps in float32, as PufferLib 3.0's
``ocean/cartpole`` (https://github.com/PufferAI/PufferLib).

Differences from the C reference, on purpose:

- a time-limit ending (200 steps) sets ``truncations[i]``; a failure (cart or pole out
  of bounds) sets ``terminals[i]``. The C env never writes truncations, so its time-limit
  endings look like neither.
- discrete actions use an int32 buffer and must be 0 or 1 (the C reads a float32 buffer
  and pushes right for any value above 0.5); continuous actions outside ``[-1, 1]`` or
  non-finite raise ``APIUsageError`` (the C clamps them, and turns NaN into 0).
- the continuous action space is ``Box(-1, 1, shape=())``: one float per agent, which is
  the C env's action buffer (it declares shape ``(1,)`` and reads one float per agent).
- ``perf`` is summed per finished episode like every other log field, so the reported
  value is the per-episode mean (the C assigns it, which gives the mean only when no env
  finishes two episodes between reports).
- sines and cosines are computed in float64 and rounded to float32, so every device and
  backend sees the same bits (the C calls the float32 ``sinf``/``cosf``).
"""
from __future__ import annotations

import math

import gymnasium
import numpy as np

from pufferlib.checks import check_bool
from pufferlib.ocean.core import Array, OceanEnv, kernel, next_u32

#: One record per env: random state, tick, the cart-pole state and the episode's return.
ENV_DTYPE = np.dtype([("rng", np.uint64), ("tick", np.int32), ("continuous", np.int32),
                      ("x", np.float32), ("x_dot", np.float32), ("theta", np.float32),
                      ("theta_dot", np.float32), ("episode_return", np.float32)], align=True)

GRAVITY = np.float32(9.8)
TOTAL_MASS = np.float32(1.1)        # cart 1.0 + pole 0.1
POLE_MASS = np.float32(0.1)
HALF_LENGTH = np.float32(0.5)
POLE_MASS_LENGTH = np.float32(0.05)
FORCE_MAG = np.float32(10.0)
TAU = np.float32(0.02)              # seconds per step
X_THRESHOLD = np.float32(2.4)
THETA_THRESHOLD = np.float32(12 * 2 * math.pi / 360)
FOUR_THIRDS = np.float32(4.0 / 3.0)
MAX_STEPS = 200
INIT_RANGE = np.float32(0.08)       # initial state variables uniform on [-0.04, 0.04]
HALF_INIT = np.float32(0.04)
INV_2_32 = np.float32(1.0 / 4294967296.0)


@kernel
def uniform_init(env):
    """Uniform float32 on [-0.04, 0.04) from the env's random state."""
    return np.float32(next_u32(env)) * INV_2_32 * INIT_RANGE - HALF_INIT


@kernel
def write_observation(w, e):
    env = w.envs[e]
    w.observations[e, 0] = env["x"]
    w.observations[e, 1] = env["x_dot"]
    w.observations[e, 2] = env["theta"]
    w.observations[e, 3] = env["theta_dot"]


@kernel
def reset_env(w, e):
    """A new episode: x, x_dot, theta, theta_dot each uniform on [-0.04, 0.04]."""
    env = w.envs[e]
    env["x"] = uniform_init(env)
    env["x_dot"] = uniform_init(env)
    env["theta"] = uniform_init(env)
    env["theta_dot"] = uniform_init(env)
    env["tick"] = 0
    env["episode_return"] = 0.0
    write_observation(w, e)


@kernel
def step_env(w, e):
    """One Euler step of env ``e`` (docs/envs/cartpole.md, Step)."""
    env = w.envs[e]
    a = w.actions[e]
    if env["continuous"] != 0:
        force = FORCE_MAG * np.float32(a)
    elif a == 1:
        force = FORCE_MAG
    else:
        force = -FORCE_MAG
    theta = env["theta"]
    omega = env["theta_dot"]
    sin_t = np.float32(math.sin(np.float64(theta)))
    cos_t = np.float32(math.cos(np.float64(theta)))
    temp = (force + POLE_MASS_LENGTH * omega * omega * sin_t) / TOTAL_MASS
    theta_acc = (GRAVITY * sin_t - cos_t * temp) / (
        HALF_LENGTH * (FOUR_THIRDS - POLE_MASS * cos_t * cos_t / TOTAL_MASS))
    x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos_t / TOTAL_MASS
    x = env["x"] + TAU * env["x_dot"]
    env["x"] = x
    env["x_dot"] = env["x_dot"] + TAU * x_acc
    theta = theta + TAU * omega
    env["theta"] = theta
    env["theta_dot"] = omega + TAU * theta_acc
    env["tick"] += 1
    tick = env["tick"]
    out_x = x < -X_THRESHOLD or x > X_THRESHOLD
    out_theta = theta < -THETA_THRESHOLD or theta > THETA_THRESHOLD
    terminated = out_x or out_theta
    truncated = tick >= MAX_STEPS
    w.terminals[e] = terminated
    w.truncations[e] = truncated and not terminated
    if terminated or truncated:
        w.rewards[e] = 0.0
        lg = w.logs[e]
        ret = env["episode_return"]
        if ret > 0:
            lg["perf"] += ret / MAX_STEPS
        lg["episode_length"] += tick
        lg["score"] += tick
        if out_x:
            lg["x_threshold_termination"] += 1.0
        if out_theta:
            lg["pole_angle_termination"] += 1.0
        if truncated:
            lg["max_steps_termination"] += 1.0
        lg["n"] += 1.0
        reset_env(w, e)
        return
    w.rewards[e] = 1.0
    env["episode_return"] += np.float32(1.0)
    write_observation(w, e)


class CartPole(OceanEnv):
    """CartPole (``docs/envs/cartpole.md``): ``num_envs`` independent cart-poles.

    Args:
        num_envs: number of envs (= agents), >= 1.
        continuous: False: ``Discrete(2)`` actions (0 pushes left, 1 right, with 10 N);
            True: ``Box(-1, 1, shape=(), float32)`` actions (force ``10 * a`` N).
        log_interval: ``step`` reports logs every this many calls (default 1, as the C env).
        num_threads: CPU threads stepping envs in parallel (process-wide Numba setting;
            parallel only when ``num_envs >= 2``).
        buf: buffers from a vectorizer (see :func:`pufferlib.set_buffers`), or None.
        seed: default seed; env ``i`` is seeded with ``seed + i``.
        device: ``"cpu"`` or ``"cuda"``.
        render_mode: None, ``"rgb_array"`` or ``"ansi"`` (see :meth:`render`).

    Spaces: observation ``Box(-inf, inf, (4,), float32)``: cart position (m), cart
    velocity (m/s), pole angle (rad), pole angular velocity (rad/s), unnormalised.
    Rewards float32: 1 per step while the episode goes on, 0 on the step that ends it.
    Episodes end when ``|x| > 2.4``, ``|theta| > 12 degrees`` (terminal) or after 200 steps
    (truncation); the env resets in the same step.

    Log fields (per-episode means): ``perf`` (return / 200), ``score`` and
    ``episode_length`` (steps), ``x_threshold_termination``, ``pole_angle_termination``,
    ``max_steps_termination`` (fractions of episodes ending each way), ``n``.

    ``state(env_id)``: ``envs``, the env's record (rng, tick, continuous, x, x_dot, theta,
    theta_dot, episode_return).

    Raises:
        APIUsageError: invalid config (the message names the parameter).
    """

    WORLD = {"envs": Array(ENV_DTYPE, "num_envs")}
    LOG_FIELDS = ("perf", "score", "episode_length", "x_threshold_termination",
                  "pole_angle_termination", "max_steps_termination")
    reset_env = reset_env
    step_env = step_env

    @classmethod
    def test_config(cls):
        return {"num_envs": 4}

    def __init__(self, num_envs=1, continuous=False, log_interval=1, num_threads=1, buf=None, seed=0,
                 device="cpu", render_mode=None):
        self.continuous = check_bool("continuous", continuous)
        self.single_observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self.single_action_space = (gymnasium.spaces.Box(-1.0, 1.0, shape=(), dtype=np.float32)
                                    if self.continuous else gymnasium.spaces.Discrete(2))
        super().__init__(num_envs=num_envs, agents_per_env=1, buf=buf, num_threads=num_threads,
                         log_interval=log_interval, seed=seed, device=device, render_mode=render_mode)

    def init_world(self):
        self.envs["continuous"] = int(self.continuous)

    def render_rgb(self, state):
        """``(200, 600, 3)`` uint8: the track, the cart (blue) at ``x`` (125 px per metre)
        and the pole (tan) at angle ``theta`` from upright."""
        rec = state["envs"]
        frame = np.full((200, 600, 3), 245, np.uint8)
        frame[151, :] = 60
        cx = int(round(300 + 125 * float(rec["x"])))
        frame[136:151, max(0, cx - 25):max(0, min(600, cx + 25))] = (60, 90, 200)
        t = np.linspace(0.0, 125.0, 200)
        theta = float(rec["theta"])
        cols = np.clip(np.round(cx + t * np.sin(theta)).astype(int), 0, 599)
        rows = np.clip(np.round(136 - t * np.cos(theta)).astype(int), 0, 199)
        for d in (-2, -1, 0, 1, 2):
            frame[rows, np.clip(cols + d, 0, 599)] = (200, 150, 90)
        return frame

    def render_ansi(self, state):
        """The track from -2.4 m to 2.4 m with the cart (``|``, ``/`` or ``\\`` for the pole's
        lean), then x, theta and the step."""
        rec = state["envs"]
        x, theta = float(rec["x"]), float(rec["theta"])
        pos = int(np.clip(round((x + 2.4) / 4.8 * 48), 0, 48))
        pole = "|" if abs(theta) < 0.05 else ("/" if theta > 0 else "\\")
        track = "-" * pos + pole + "-" * (48 - pos)
        return f"[{track}]  x={x:+.3f} m  theta={theta:+.3f} rad  step {int(rec['tick'])}"
