"""What a process leaves behind: child processes, /dev/shm entries, memfds, mappings, fds.

Uses psutil when it is installed, else reads /proc (Linux). Every function looks only at
things that belong to the given processes, so tests running beside other users of the
machine (or other tests in the same pytest process) do not disturb the result.
"""
from __future__ import annotations

import os
import time

try:  # optional: same answers, fewer /proc details
    import psutil
except ImportError:  # pragma: no cover - depends on the environment
    psutil = None

#: Name of the memfds that hold Multiprocessing's shared worlds (pufferlib.vector.worlds).
MEMFD_NAME = "pufferlib-world"


def alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    if psutil is not None:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def children(pid: int = None) -> set:
    """Pids of the live (non-zombie) direct children of ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    if psutil is not None:
        try:
            return {c.pid for c in psutil.Process(pid).children() if alive(c.pid)}
        except psutil.NoSuchProcess:
            return set()
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            out.add(int(entry))
    return out


def wait_gone(pids, seconds: float) -> set:
    """Wait up to ``seconds`` for every pid to exit; return those still alive."""
    deadline = time.monotonic() + seconds
    left = {p for p in pids if alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = {p for p in left if alive(p)}
    return left


def shm_entries(pids=()) -> set:
    """Entries of /dev/shm that pufferlib or the given processes would have made: names with
    'pufferlib', or with one of ``pids`` in them (multiprocessing names its heap files
    ``pym-<pid>-...``; POSIX shared memory of a process usually carries its pid)."""
    try:
        names = os.listdir("/dev/shm")
    except FileNotFoundError:  # pragma: no cover - not Linux
        return set()
    tags = [str(p) for p in pids]
    out = set()
    for name in names:
        if "pufferlib" in name or any(f"-{t}-" in name or name.endswith(f"-{t}") or f"_{t}_" in name
                                      for t in tags):
            out.add(name)
    return out


def memfd_fds(pid: int = None) -> set:
    """File descriptors of ``pid`` (default: this process) open on a pufferlib world memfd."""
    pid = os.getpid() if pid is None else pid
    out = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except (FileNotFoundError, PermissionError):
        return out
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(f"/memfd:{MEMFD_NAME}"):
            out.add(int(fd))
    return out


def memfd_mappings(pid: int = None) -> set:
    """Inodes of the pufferlib world memfds mapped into ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    out = set()
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                if f"memfd:{MEMFD_NAME}" in line:
                    out.add(int(line.split()[4]))
    except (FileNotFoundError, PermissionError):
        pass
    return out


def open_fds() -> set:
    """``(fd, target)`` pairs of this process's open file descriptors (pipes, sockets, files)."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add((int(fd), os.readlink(f"/proc/self/fd/{fd}")))
        except OSError:
            continue  # the fd of the listing itself, closed meanwhile
    return out


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` in bytes (0 if it is gone)."""
    if psutil is not None:
        try:
            return psutil.Process(pid).memory_info().rss
        except psutil.NoSuchProcess:
            return 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class Baseline:
    """What this process holds now; :meth:`leftovers` lists what was added since and is still there.

    Usage: ``base = Baseline()`` before creating a vector env; after ``close()``,
    ``assert base.leftovers(worker_pids) == {}``.
    """

    def __init__(self):
        self.children = children()
        self.shm = shm_entries([os.getpid()])
        self.memfd_fds = memfd_fds()
        self.mappings = memfd_mappings()
        self.fds = open_fds()

    def leftovers(self, pids=(), wait: float = 5.0) -> dict:
        """``{what: [...]}`` for everything left over (empty dict: clean). Waits up to ``wait``
        seconds for ``pids`` (the workers) to exit first."""
        out = {}
        left = wait_gone(pids, wait)
        if left:
            out["live workers"] = sorted(left)
        extra = children() - self.children
        deadline = time.monotonic() + wait
        while extra and time.monotonic() < deadline:
            time.sleep(0.02)
            extra = children() - self.children
        if extra:
            out["new child processes"] = sorted(extra)
        shm = shm_entries([os.getpid(), *pids]) - self.shm
        if shm:
            out["/dev/shm entries"] = sorted(shm)
        fds = memfd_fds() - self.memfd_fds
        if fds:
            out["open world memfds"] = sorted(fds)
        maps = memfd_mappings() - self.mappings
        if maps:
            out["mapped world memfds"] = sorted(maps)
        new_fds = {t for fd, t in open_fds() - self.fds
                   if t.startswith(("pipe:", "socket:", "/memfd:", "anon_inode:"))}
        if new_fds:
            out["new pipes/sockets/memfds"] = sorted(new_fds)
        return out
