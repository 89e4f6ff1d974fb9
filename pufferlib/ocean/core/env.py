"""``OceanEnv``: the base class that turns a declared world and three kernels into a PufferEnv."""
from __future__ import annotations

import numpy as np

from pufferlib.checks import check_int
from pufferlib.environment import PufferEnv, world_allocator
from pufferlib.exceptions import APIUsageError
from pufferlib.ocean.core import drivers
from pufferlib.ocean.core.drivers import ERR_NOT_READY, ERR_SHAPE, STEP_LOG_DUE, sum_logs
from pufferlib.ocean.core.world import READY, STEP_BUFFERS, TICK, Layout, address
from pufferlib.spaces import check_actions

DEVICES = ("cpu", "cuda")
#: ``render_mode`` values: an ``(H, W, 3)`` uint8 picture of env 0, or a text picture.
RENDER_MODES = ("rgb_array", "ansi")


def exported_names(env_cls) -> dict:
    """``{name in state(): world array name}`` from ``env_cls.STATE`` (a tuple of world array
    names or such a dict; default every ``WORLD`` array under its own name)."""
    exported = env_cls.STATE or tuple(env_cls.WORLD)
    if isinstance(exported, dict):
        return dict(exported)
    return {name: name for name in exported}


class OceanEnv(PufferEnv):
    """Base class of the Numba envs: declare a world and kernels, get a fast PufferEnv.

    A subclass sets, as class attributes:

    - ``WORLD``: ``{name: Array(dtype, *dims)}``, the env's arrays. It must contain
      ``"envs": Array(ENV_DTYPE, "num_envs")``, a record per env with a uint64 ``rng``
      field. The step buffers, ``action_low`` / ``action_high`` and ``logs`` are added
      (see :mod:`pufferlib.ocean.core.world`).
    - ``LOG_FIELDS``: names of the float64 per-env log sums the kernels add to
      (``w.logs[e]['score'] += ...``, and ``w.logs[e]['n'] += 1`` per finished episode).
    - ``reset_env(w, e)``, ``step_env(w, e)``: ``@kernel`` functions starting a fresh
      episode in env ``e`` and stepping env ``e`` (reading ``w.actions``, writing rewards,
      terminals, truncations; resetting finished episodes itself).
    - optionally ``observe_agent(w, e, s)``: writes the observation of agent ``s`` of env
      ``e`` (row ``e * agents_per_env + s``) after every reset and step; on a GPU it runs
      with a thread per agent.
    - optionally ``STATE``: names of the world arrays ``state(env_id)`` exports (default:
      every array of ``WORLD``), or a dict ``{exported name: world array name}`` (e.g. to
      export an array under a name the env class already uses, such as ``tick``), and ``test_config()``: a small config for the
      conformance checks (:func:`pufferlib.ocean.testing.check_env`).

    Its ``__init__`` validates its own arguments, sets the spaces and the attributes its
    ``WORLD`` dimensions name, calls ``super().__init__(num_envs=..., agents_per_env=...,
    ...)``, and may override :meth:`init_world` to write configuration into the arrays.

    Kernels receive ``w``, a namedtuple of the world's arrays (``w.envs``, ``w.rewards``,
    ``w.grid``...), and the env index ``e`` (and agent index ``s``) as ``uint32``: unsigned
    indices spare Numba's negative-index wrap-around (``e * n + s`` with an ``int64`` ``n``
    is ``int64`` again). On the CPU a step is one compiled call: a ``prange`` loop over envs
    with the action check, tick and log bookkeeping inside it.

    Args (of this base):
        num_envs: independent envs simulated together, >= 1.
        agents_per_env: agents in each env, >= 1 (``num_agents = num_envs * agents_per_env``;
            agent ``e * agents_per_env + s`` is agent ``s`` of env ``e``).
        buf: step buffers from a vectorizer (:func:`pufferlib.set_buffers`), or None.
        num_threads: CPU threads stepping envs in parallel (process-wide Numba setting;
            parallel only when ``num_envs >= 2``).
        log_interval: ``step`` reports logs every this many calls.
        seed: default seed of :meth:`reset`; env ``i`` is seeded with ``seed + i``.
        device: ``"cpu"`` or ``"cuda"`` (buffers and world on the GPU, stepped by
            ``numba.cuda`` kernels compiled from the same kernels; see
            :mod:`pufferlib.cuda_kernels`).

    Raises:
        APIUsageError: an invalid argument or declaration (the message names it).
        pufferlib.EnvironmentSetupError: ``device="cuda"`` without numba-cuda or a GPU.
    """

    WORLD: dict = {}
    LOG_FIELDS: tuple = ()
    STATE = None
    reset_env = None
    step_env = None
    observe_agent = None

    @classmethod
    def test_config(cls) -> dict:
        """Keyword arguments of a small instance for tests (default: the defaults)."""
        return {}

    def __init__(self, num_envs=1, agents_per_env=1, buf=None, num_threads=1, log_interval=128, seed=0,
                 device="cpu", render_mode=None):
        import numba
        cls = type(self)
        for hook in ("reset_env", "step_env"):
            if getattr(cls, hook, None) is None:
                raise APIUsageError(f"{cls.__name__} must set the kernel {hook}(w, e) as a class attribute")
        self.num_envs = check_int("num_envs", num_envs, 1)
        self.agents_per_env = check_int("agents_per_env", agents_per_env, 1)
        self.num_agents = check_int("num_envs * agents_per_env", self.num_envs * self.agents_per_env, 1,
                                    2**31 - 1)  # kernels index agents with uint32
        if device not in DEVICES:
            raise APIUsageError(f"device must be one of {DEVICES}, got {device!r}")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise APIUsageError(f"render_mode must be None or one of {RENDER_MODES}, got {render_mode!r}")
        self.render_mode = render_mode
        if device == "cuda" and buf is not None:
            raise APIUsageError("device='cuda' allocates its buffers on the GPU; buf must be None")
        self.device = device
        self.num_threads = check_int("num_threads", num_threads, 1, numba.config.NUMBA_NUM_THREADS)
        self.log_interval = check_int("log_interval", log_interval, 1, 2**62)  # an int64 countdown
        self.seed = check_int("seed", seed, 0, 2**62)
        super().__init__(buf)
        self.layout = Layout(self, cls.WORLD, cls.LOG_FIELDS)
        arrays = self.layout.allocate({k: getattr(self, k) for k in STEP_BUFFERS}, world_allocator(buf))
        for name in self.layout.names:
            if name not in STEP_BUFFERS and name in vars(self):
                raise APIUsageError(f"{cls.__name__}: world array {name!r} clashes with an attribute of the env")
            setattr(self, name, arrays[name])
        #: The world as kernels see it: a namedtuple of this env's arrays.
        self.world = self.layout.world_type()(*(arrays[k] for k in self.layout.world_names))
        self.init_world()
        self._closed = False
        self.parallel = self.num_threads > 1 and self.num_envs >= 2
        if device == "cuda":
            from pufferlib.cuda_kernels import CudaBackend
            self._cuda = CudaBackend(self)
            self.step, self.reset, self.log = self._cuda.step, self._cuda.reset, self._cuda.log
            return
        self._cuda = None
        self._ctx = self.layout.ctx(arrays, self.num_envs, self.agents_per_env, self.log_interval)
        self._ctx_addr = address(self._ctx)
        if self.parallel:
            numba.set_num_threads(self.num_threads)
        self._log_sums = arrays["log_sums"][0]
        self._reset_fn, self._step_fn = drivers.derive(
            cls, self.layout.key, self.layout.compile_unpack(), self.actions.ndim, self.actions.dtype.str,
            self.parallel)
        # Warm-up: compile (or load from Numba's cache) now, not on the user's first step.
        valid = np.clip(0, self.layout.action_low, self.layout.action_high)
        warm = np.empty_like(self.actions)
        warm.reshape(self.num_agents, -1)[:] = valid
        self.reset(self.seed)
        self.step(warm)
        self.reset(self.seed)
        self._ctx[READY] = 0
        self.step = self._fast_step()

    def init_world(self):
        """Hook: write configuration into the freshly allocated world arrays (e.g.
        ``self.envs['size'] = self.size``). Runs once, before the first reset."""

    def render(self):
        """A picture of env 0 in the constructor's ``render_mode`` (Gymnasium's convention).

        Returns:
            ``'rgb_array'``: an ``(H, W, 3)`` uint8 array; ``'ansi'``: a ``str`` of lines.

        Raises:
            APIUsageError: the env was built with ``render_mode=None``.
            NotImplementedError: the env class draws no picture in that mode.
        """
        if self.render_mode is None:
            raise APIUsageError(f"{type(self).__name__} was built with render_mode=None; pass "
                                f"render_mode='rgb_array' or 'ansi' to the constructor")
        state = self.state(0, copy=True)
        if self.render_mode == "rgb_array":
            return self.render_rgb(state)
        return self.render_ansi(state)

    def render_rgb(self, state: dict) -> np.ndarray:
        """Override: an ``(H, W, 3)`` uint8 picture from ``state(0, copy=True)``."""
        raise NotImplementedError(f"{type(self).__name__} draws no rgb_array picture")

    def render_ansi(self, state: dict) -> str:
        """Override: a text picture from ``state(0, copy=True)``."""
        raise NotImplementedError(f"{type(self).__name__} draws no ansi picture")

    @property
    def tick(self) -> int:
        """Steps since the last reset."""
        if self._cuda is not None:
            return self._cuda.tick
        return int(self._ctx[TICK])

    def reset(self, seed=None):
        """Reset every env; env ``i`` is seeded with ``seed + i`` (``seed=None``: the constructor seed).

        Returns ``(observations, infos)`` with ``infos == []``.
        Raises APIUsageError for a seed that is not an int in ``[0, 2**62]``, or after ``close()``.
        """
        self._reset_fn(self._ctx_addr, self._check_reset(seed))
        return self.observations, []

    def _check_reset(self, seed):
        if self._closed:
            raise APIUsageError("reset() called on a closed env")
        return self.seed if seed is None else check_int("seed", seed, 0, 2**62)

    def step(self, actions):
        """Step every agent in place; finished episodes auto-reset.

        Args:
            actions: array of shape ``(num_agents, *single_action_space.shape)``: integers
                in the action space for Discrete / MultiDiscrete (C-contiguous int32 or
                int64 take the fast path: one compiled call; other integer array-likes
                are converted), finite floats within the bounds for Box.

        Returns:
            ``(observations, rewards, terminals, truncations, infos)``: the env's own
            buffers, updated in place; ``infos`` is ``[]`` except every ``log_interval``
            steps, when it holds one dict of per-episode means (see :meth:`log`) if any
            episode ended since the last report.

        Raises:
            APIUsageError: wrong shape, dtype or range (nothing is stepped), a step
                before ``reset()``, or after ``close()``.

        On the CPU, ``env.step`` is an instance attribute: a closure over the compiled
        driver doing exactly this with fewer lookups (the Python-side cost decides the
        speed of a one-env step).
        """
        # Only plain ndarrays take the compiled call as they are: Numba would also take an
        # ndarray subclass such as a masked array (stepping the values under its mask).
        if actions.__class__ is not np.ndarray:
            code = self._step_fn(self._ctx_addr, self._convert_actions(actions))
        else:
            try:
                code = self._step_fn(self._ctx_addr, actions)
            except (TypeError, ValueError):  # not a C-contiguous int32/int64 (float) array
                code = self._step_fn(self._ctx_addr, self._convert_actions(actions))
        if code:
            return self._step_code(code, actions)
        return self.observations, self.rewards, self.terminals, self.truncations, []

    def _fast_step(self):
        fn, addr, convert, on_code = self._step_fn, self._ctx_addr, self._convert_actions, self._step_code
        obs, rew, term, trunc = self.observations, self.rewards, self.terminals, self.truncations
        ndarray = np.ndarray

        def step(actions):
            if actions.__class__ is not ndarray:  # see OceanEnv.step
                code = fn(addr, convert(actions))
            else:
                try:
                    code = fn(addr, actions)
                except (TypeError, ValueError):
                    code = fn(addr, convert(actions))
            if code:
                return on_code(code, actions)
            return obs, rew, term, trunc, []
        step.__doc__ = OceanEnv.step.__doc__
        return step

    def _step_code(self, code, actions):
        if code == STEP_LOG_DUE:  # the driver has summed the logs of finished episodes
            infos = [self._means(self._log_sums)]
            return self.observations, self.rewards, self.terminals, self.truncations, infos
        self._raise_for(code, actions)

    def _raise_for(self, code, actions):
        if code == ERR_NOT_READY:
            raise APIUsageError("step() called on a closed env" if self._closed
                                else "call reset() before the first step()")
        a = np.asarray(actions)
        if code == ERR_SHAPE:
            raise APIUsageError(f"actions must have shape {self.actions.shape} (one per agent), "
                                f"got shape {a.shape}")
        # The compiled check refused the batch; the library's one action rule
        # (pufferlib.spaces.check_actions) names the first bad agent, value and what is allowed.
        check_actions(self.single_action_space, a, self.num_agents)
        raise AssertionError(f"the compiled action check refused a batch that pufferlib.spaces.check_actions "
                             f"accepts (min {a.min()}, max {a.max()}, dtype {a.dtype})")  # a library bug

    def _check_action_dtype(self, a):
        """Raise APIUsageError unless ``a``'s dtype may fill the action buffer without a
        silent cast: integers for Discrete / MultiDiscrete, floats for Box (the rule of
        :func:`pufferlib.spaces.check_actions`, which vectorized and emulated envs apply).
        Shared by the CPU and GPU paths."""
        if self.actions.dtype.kind in "iu":
            if a.dtype.kind not in "iu":
                raise APIUsageError(f"actions must be integers for {self.single_action_space}, "
                                    f"got dtype {a.dtype}")
        elif a.dtype.kind != "f":
            raise APIUsageError(f"actions must be floats for {self.single_action_space}, "
                                f"got dtype {a.dtype}")

    def _convert_actions(self, actions):
        """Actions the compiled driver's dispatch refused (another dtype, layout or type),
        checked by :func:`pufferlib.spaces.check_actions` (shape, dtype kind, range; masked
        entries, ragged lists) and converted for the compiled call (no silent casts)."""
        if actions.__class__ is np.ndarray:
            a = actions  # the shape and dtype kind are checked here, the range by the driver
            if a.shape != self.actions.shape:
                raise APIUsageError(f"actions must have shape {self.actions.shape} (one per agent), "
                                    f"got shape {a.shape}")
            self._check_action_dtype(a)
        else:
            a = check_actions(self.single_action_space, actions, self.num_agents)
            if a.shape != self.actions.shape:  # e.g. a Discrete env's (n, 1) buffer
                a = a.reshape(self.actions.shape)
        if self.actions.dtype.kind in "iu":
            if a.dtype == np.uint64 and a.size and a.max() > np.iinfo(np.int64).max:
                raise APIUsageError(f"actions out of range for {self.single_action_space}: max {a.max()}")
            out = np.ascontiguousarray(a, dtype=np.int64)
        else:
            out = np.ascontiguousarray(a, dtype=np.float64)
        # The compiled drivers take writable arrays: a read-only batch is copied (never written).
        return out if out.flags.writeable else out.copy()

    def log(self) -> dict:
        """Per-episode means of the log fields over the episodes finished since the last
        call, plus ``n`` (their count); ``{}`` if none finished. Zeroes the logs.

        As PufferLib 3.0's ``vec_log``: every field is summed over envs, then divided by ``n``.
        """
        return self._means(sum_logs(self.logs.view(np.float64).reshape(self.num_envs, -1)))

    def _means(self, sums) -> dict:
        # One tolist() instead of a NumPy scalar per field: this runs on every log-due step
        # (every step for CartPole's log_interval=1), on the serial part of a step.
        *values, n = sums.tolist()  # "n" is the last log field
        if n == 0:
            return {}
        out = dict(zip(self.layout.log_dtype.names, [v / n for v in values]))
        out["n"] = n
        return out

    def _state_arrays(self):
        """The exported world arrays (``STATE``, default every ``WORLD`` array), whole, with
        their first dimension: ``'env'`` (``num_envs``), ``'agent'`` (``num_agents``) or None."""
        per = {"num_envs": "env", "num_agents": "agent"}
        return {out: (getattr(self, name), per.get(self.layout.decl[name].dims[0]))
                for out, name in exported_names(type(self)).items()}

    def state(self, env_id: int = 0, copy: bool = False) -> dict:
        """World state of env ``env_id``: ``{name: array}`` for every exported world array.

        Per-env arrays (first dimension ``num_envs``) give that env's row (a 0-d record
        for ``envs``), per-agent arrays that env's agents' rows, shared arrays the whole array.

        Args:
            env_id: int in ``[0, num_envs)``.
            copy: False: read-only views into the live world (zero copy; on
                ``device='cuda'``, device array views, writable); True: independent
                host copies.

        Raises:
            APIUsageError: ``env_id`` is not an int in ``[0, num_envs)``.
        """
        if self._cuda is not None:
            return self._cuda.state(env_id, copy)
        return super().state(env_id, copy)

    def __getstate__(self):
        raise TypeError(
            f"{type(self).__name__} cannot be pickled or copied: its compiled drivers hold the "
            "addresses of its own arrays. Create it where it runs, e.g. through an env creator "
            "passed to pufferlib.vector.make")

    def close(self):
        """Mark the env closed; later reset()/step() raise APIUsageError. Idempotent."""
        self._closed = True
        if self._cuda is not None:
            self._cuda.ready = False
        else:
            self._ctx[READY] = 0
