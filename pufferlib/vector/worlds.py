"""World state across processes: shared-memory world blocks and the views built on them.

How ``Multiprocessing.state`` gets zero-copy views of worlds that workers step:

1. A worker passes each env, in ``buf`` (key :data:`pufferlib.environment.WORLD_ALLOCATOR`),
   a :class:`WorldAllocator`. An env that opts in (every Ocean env does, from its declared
   ``WORLD``) calls it once with the size of its world and carves its arrays out of the
   buffer it gets back.
2. The allocator asks the main process for a block; the main process creates it
   (:func:`new_block`: an anonymous ``memfd``, or an unlinked temporary file where there is
   no ``memfd_create``), maps it, and passes the file descriptor back over the worker's pipe.
   Blocks have no name, so nothing is ever left in ``/dev/shm``: the memory is freed when
   the last mapping of it goes.
3. After building its envs, the worker describes each env's exported arrays
   (:func:`describe_state`): which block (or which shared batch buffer) holds each one, at
   which offset, with which shape, dtype and first dimension. The main process rebuilds the
   same arrays on its own mapping (:func:`build_arrays`), read-only.

Envs that do not opt in (emulated Gymnasium / PettingZoo envs, custom PufferEnvs with their
own ``state``) are described as ``"fetch"``: their state is copied from the worker on request;
envs without state as ``None`` (``state`` returns ``{}`` without asking the worker).
"""
from __future__ import annotations

import errno
import mmap
import os
import tempfile

import numpy as np

from pufferlib.environment import PufferEnv, as_state  # noqa: F401  (as_state: used by the backends)

#: Worker -> main: ``(ALLOC, nbytes)``; main -> worker: ``(ALLOC, None)`` followed by the
#: block's file descriptor, or ``(ALLOC, reason)`` when no block could be made.
ALLOC = 3
#: What :func:`describe_state` says of an env whose state must be copied from its worker.
FETCH = "fetch"


def new_block(nbytes: int):
    """A fresh zero-filled shared block of ``nbytes`` bytes: ``(fd, mmap)``.

    The memory is reserved up front (``posix_fallocate``) where the system allows it, so a
    full memory filesystem fails here with OSError instead of killing a process with SIGBUS
    on a later write. The caller closes ``fd`` once it has passed it on.
    """
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("pufferlib-world", getattr(os, "MFD_CLOEXEC", 0))
    else:
        fd, path = tempfile.mkstemp(prefix="pufferlib-world-")
        os.unlink(path)
    try:
        os.ftruncate(fd, nbytes)
        if hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, nbytes)
            except OSError as e:
                if e.errno not in (errno.EINVAL, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)):
                    raise
        return fd, mmap.mmap(fd, nbytes)
    except BaseException:
        os.close(fd)
        raise


class WorldAllocator:
    """Worker side of step 2: ``alloc(nbytes)`` -> a shared block mapped here, or None.

    One per worker, shared by its envs; blocks are numbered in request order, the order in
    which the main process records them. Only answers while the worker builds its envs
    (:attr:`open`); afterwards it returns None (the env allocates privately).
    """

    def __init__(self, conn):
        self.conn = conn
        self.blocks = []
        self.open = True

    def __call__(self, nbytes):
        if not self.open:
            return None
        from multiprocessing import reduction
        nbytes = int(nbytes)
        self.conn.send((ALLOC, nbytes))
        _, reason = self.conn.recv()
        if reason is not None:
            return None
        fd = reduction.recv_handle(self.conn)
        try:
            block = mmap.mmap(fd, nbytes)
        finally:
            os.close(fd)
        self.blocks.append(block)
        return block


def _overrides(env, name):
    return getattr(type(env), name) is not getattr(PufferEnv, name)


def describe_state(env, regions):
    """How the main process can rebuild ``env``'s exported arrays.

    Args:
        env: a PufferEnv built in this worker.
        regions: ``{key: uint8 array}`` of memory the main process maps too (the blocks of
            the :class:`WorldAllocator`, the shared batch buffers).

    Returns:
        None (no state), :data:`FETCH` (copy on request), or ``{name: (key, offset, shape,
        dtype, per)}``: array ``name`` lies in region ``key`` at byte ``offset`` (``key``
        None for an empty array).
    """
    arrays = env._state_arrays() if not _overrides(env, "_state") else None
    if arrays is None:
        # a state() of the env's own (not pufferlib's): only the env knows what it returns
        own_state = not getattr(type(env).state, "__module__", "").startswith("pufferlib.")
        custom = _overrides(env, "_state") or own_state
        return FETCH if custom else None
    bounds = [(key, r.__array_interface__["data"][0], r.nbytes) for key, r in regions.items()]
    out = {}
    for name, (arr, per) in arrays.items():
        if not isinstance(arr, np.ndarray) or not arr.flags.c_contiguous:
            return FETCH
        if arr.nbytes == 0:
            out[name] = (None, 0, arr.shape, arr.dtype, per)
            continue
        addr = arr.__array_interface__["data"][0]
        for key, base, size in bounds:
            if base <= addr and addr + arr.nbytes <= base + size:
                out[name] = (key, addr - base, arr.shape, arr.dtype, per)
                break
        else:
            return FETCH  # private memory: the main process cannot see it
    return out


def build_arrays(description: dict, regions: dict) -> dict:
    """``{name: (read-only array, per)}`` rebuilt from :func:`describe_state`'s description on
    the main process's ``regions`` (same keys, its own mappings of the same memory)."""
    out = {}
    for name, (key, offset, shape, dtype, per) in description.items():
        if key is None:
            arr = np.zeros(shape, dtype)
        else:
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            arr = regions[key][offset:offset + nbytes].view(dtype).reshape(shape)
        arr.flags.writeable = False
        out[name] = (arr, per)
    return out




def close_blocks(blocks):
    """Unmap the main process's blocks. A block whose arrays are still referenced (views handed
    out by ``state``) cannot be unmapped now: it stays mapped, frozen at its last contents,
    until those arrays are gone, so reading them never touches unmapped memory."""
    for block in blocks:
        try:
            block.close()
        except BufferError:
            pass
    blocks.clear()
