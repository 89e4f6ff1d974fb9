"""Vectorization: run many PufferEnv instances as one batched environment.

:func:`make` builds a vectorized env from an *env creator*: a callable called as
``creator(*env_args, buf=<dict of buffer slices>, **env_kwargs)`` that returns a
:class:`pufferlib.PufferEnv`. One instance may simulate several agents
(``num_agents``) and several environments (attribute ``num_envs``, default 1).

Backends (all share the same interface, see :class:`Serial`):

- ``'Native'`` (or the class ``pufferlib.PufferEnv``): the creator builds ONE native
  PufferEnv that already vectorizes internally; ``make`` returns that env itself.
- ``'Serial'``: instances stepped one after another in the main process.
- ``'Multiprocessing'``: worker processes, each running Serial over its instances,
  writing straight into shared-memory batch buffers (zero copy).
- ``'Ray'``: Ray actors, each running Serial; results are copied back.

Buffers. The vectorizer owns one set of batch buffers, shaped and typed as
:func:`pufferlib.environment.buffer_specs` says for all ``num_agents`` agents:
``observations (num_agents, *obs_shape)`` (the observation space's dtype),
``rewards (num_agents,) float32``, ``terminals``, ``truncations``, ``masks``
``(num_agents,) bool`` and ``actions (num_agents, *act_shape)`` (int32 for discrete
spaces). Instance ``k`` gets, as ``buf=``, the slices of these arrays along the agent
axis that belong to its agents, and writes into them in place. The arrays returned by
``reset`` / ``step`` / ``recv`` are views of the batch buffers: they are overwritten by
the next step, so copy what you keep.

Seeding. ``reset(seed)`` resets instance ``k`` with ``seed + offset_k``, where
``offset_k`` is the sum of ``num_envs`` of instances ``0..k-1``. A native multi-env
PufferEnv seeds its internal env ``i`` with ``seed + i``, so every backend produces the
same observations for the same seed and actions: Serial over 4 single-env instances
equals one native instance with ``num_envs=4``, and Multiprocessing equals Serial.

Auto-reset. Native envs reset their finished environments themselves. Emulated envs
(Gymnasium / PettingZoo wrapped by :mod:`pufferlib.emulation`) report ``done``; an
instance whose ``done`` is True is reset (with no seed: its RNG stream continues)
instead of stepped on the next step, and its rewards / terminals / truncations read
0 / False / False for that step (PufferLib's convention).

State. ``state(env_id, copy=False)`` (every backend) returns the world state of env
``env_id``, ids counted over the envs of all instances in order (instance ``k`` covers
``offset_k .. offset_k + num_envs_k - 1``): read-only views that follow later steps on
Serial and on Multiprocessing (mapped from shared memory the workers' envs allocate their
world in; every Ocean env does), read-only copies for envs that do not opt in and on Ray,
writable snapshots with ``copy=True``. See :meth:`Serial.state` and
:mod:`~pufferlib.vector.worlds`.

Modules: :mod:`~pufferlib.vector.common` (base class and checks shared by every backend),
:mod:`~pufferlib.vector.serial`, :mod:`~pufferlib.vector.workers` (worker layout and batch
scheduling), :mod:`~pufferlib.vector.mp` (Multiprocessing), :mod:`~pufferlib.vector.ray`,
:mod:`~pufferlib.vector.worlds` (world state across processes). Everything is importable from ``pufferlib.vector``.
"""
from __future__ import annotations

from pufferlib.checks import check_int
from pufferlib.environment import PufferEnv, action_dtype, buffer_specs  # noqa: F401 - re-exported
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError, WorkerError  # noqa: F401
from pufferlib.spaces import Discrete, MultiDiscrete, check_actions, joint_space  # noqa: F401
from pufferlib.vector.common import (  # noqa: F401
    _CAN_RECV,
    _CAN_SEND,
    _NEED_RESET,
    _available_cpus,
    _check_instance,
    _check_matches,
    _creator_name,
    _extend_infos,
    _instance_num_envs,
    _normalize_creators,
    _probe,
    _VecEnv,
)
from pufferlib.vector.mp import (  # noqa: F401
    _SPIN_MAIN_S,
    _SPIN_WORKER_S,
    Multiprocessing,
    _default_start_method,
    _describe_exit,
    _mp_shutdown,
    _mp_worker,
    _report_error,
    _shared_arrays,
    _spin_until_readable,
)
from pufferlib.vector.ray import Ray, _RayWorker  # noqa: F401
from pufferlib.vector.serial import Serial
from pufferlib.vector.workers import (  # noqa: F401
    _CLOSE,
    _ERR,
    _OK,
    _POLL_MS,
    _READY,
    _RESET,
    _STEP,
    _worker_layout,
    _WorkerVecEnv,
)

__all__ = ["make", "Serial", "Multiprocessing", "Ray", "BACKENDS", "BACKEND_OPTIONS"]

#: Names accepted by ``make(backend=...)`` (case-insensitive); classes are accepted too.
BACKENDS = ("Native", "Serial", "Multiprocessing", "Ray")

#: Backend options: the keywords ``make(**kwargs)`` accepts for each backend (each is a
#: parameter of that backend's class); any other keyword is an APIUsageError.
BACKEND_OPTIONS = {"Native": (), "Serial": (),
                   "Multiprocessing": ("start_method", "spin", "share_worlds", "timeout"),
                   "Ray": ("ray_init_kwargs", "ray_actor_options", "timeout")}


def _resolve_backend(backend):
    if isinstance(backend, str):
        key = backend.lower()
        table = {"native": PufferEnv, "pufferenv": PufferEnv, "serial": Serial,
                 "multiprocessing": Multiprocessing, "ray": Ray}
        if key in table:
            return table[key]
    elif backend in (PufferEnv, Serial, Multiprocessing, Ray):
        return backend
    raise APIUsageError(
        f"unknown backend {backend!r}; valid backends: 'Native' (or pufferlib.PufferEnv), 'Serial', "
        "'Multiprocessing', 'Ray' (strings or the classes pufferlib.vector.Serial / Multiprocessing / Ray)")


def make(env_creator_or_creators, env_args=None, env_kwargs=None, backend="Serial", num_envs=1,
         num_workers=None, batch_size=None, seed=0, **kwargs):
    """Create a vectorized environment.

    Args:
        env_creator_or_creators: a callable ``creator(*env_args, buf=..., **env_kwargs)``
            returning a :class:`pufferlib.PufferEnv`, or a list of ``num_envs`` such callables.
        env_args: positional arguments for the creator (a list); with a list of creators,
            None or a list of ``num_envs`` lists.
        env_kwargs: keyword arguments (a dict), or a list of ``num_envs`` dicts.
        backend: ``'Native'`` / ``pufferlib.PufferEnv``, ``'Serial'``, ``'Multiprocessing'``,
            ``'Ray'`` (strings are case-insensitive) or the backend class.
        num_envs: number of env instances (creator calls), >= 1. Must be 1 for Native.
        num_workers: worker count for Multiprocessing / Ray (ignored by Serial).
        batch_size: instances per batch for Multiprocessing / Ray (default num_envs).
        seed: default seed of ``reset()`` / ``async_reset()`` when called with ``seed=None``.
        **kwargs: backend options (:data:`BACKEND_OPTIONS`): ``start_method``, ``spin``,
            ``share_worlds`` and ``timeout`` (Multiprocessing), ``ray_init_kwargs``,
            ``ray_actor_options`` and ``timeout`` (Ray). Start methods and Ray: docs/ray.md.

    Returns:
        Native: the env itself (``creator(*env_args, **env_kwargs)``, no ``buf``).
        Otherwise a :class:`Serial`, :class:`Multiprocessing` or :class:`Ray` with
        ``single_observation_space, single_action_space, observation_space, action_space,
        num_agents, agents_per_batch, num_envs, driver_env, emulated`` and
        ``reset / step / async_reset / send / recv / close``.

    Raises:
        APIUsageError: num_envs < 1, unknown backend, num_envs not divisible by num_workers,
            batch_size not a multiple of envs per worker or not dividing num_envs, a creator
            that is not callable or returns a non-PufferEnv, instances with different spaces,
            unknown backend options.
        pufferlib.EnvironmentSetupError: backend='Ray' without ray installed.
        pufferlib.WorkerError: a worker failed while starting.
    """
    num_envs = check_int("num_envs", num_envs, 1)
    cls = _resolve_backend(backend)
    name = "Native" if cls is PufferEnv else cls.__name__
    allowed = set(BACKEND_OPTIONS[name])
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise APIUsageError(f"unknown option(s) {unknown} for backend {name}; "
                            f"accepted: {sorted(allowed) or 'none'}")
    if cls is PufferEnv:
        if num_envs != 1:
            raise APIUsageError(
                f"backend='Native' builds ONE native PufferEnv that vectorizes internally, so num_envs must "
                f"be 1 (got {num_envs}); pass the env count to the env itself, e.g. env_kwargs={{'num_envs': "
                f"{num_envs}}}, or use backend='Serial' / 'Multiprocessing'")
        creators, args, kw = _normalize_creators(env_creator_or_creators, env_args, env_kwargs, 1)
        env = creators[0](*args[0], **kw[0])
        _check_instance(env, 0, creators[0])
        return env
    creators, args, kw = _normalize_creators(env_creator_or_creators, env_args, env_kwargs, num_envs)
    return cls(creators, args, kw, num_envs, num_workers=num_workers, batch_size=batch_size, seed=seed,
               **kwargs)
