"""One run per output folder: an exclusive lock on ``<out>/.lock`` (``filelock``, an OS file lock).

Two runs on one folder would train the same networks twice and race on the same cells. The
lock is released on every exit path: normally, on an exception or Ctrl+C (the context manager),
and by the operating system when the process dies (SIGKILL included), so a killed run never
leaves the folder locked. Who holds it (pid, host, start time, command) is written beside it
so that the refused run can name the holder.

Launched units (:mod:`suites.launch`) are part of the run that holds the lock, so they never take
it: the parent holds it, exclusively, from before the first unit is submitted until the last one
has finished or been cancelled, and :func:`output_lock` yields a **run token** (also written to the
holder file) that the parent hands to its units. A unit checks with :func:`held_by` that the lock
is still held by that token; when it is not (the parent was killed with SIGKILL, which it cannot
forward to its units, or a new run has taken the folder) the unit stops, so no orphaned unit keeps
writing beside a later run. A shared (reader) mode for units would not do: it would let a second
run start as soon as the parent died, while the parent's units still run.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_FILE = ".lock"
HOLDER_FILE = ".lock-holder.json"


class FolderBusy(Exception):
    """Another process holds the output folder's lock."""


def _holder(out: Path) -> str:
    try:
        info = json.loads((out / HOLDER_FILE).read_text())
        return (f"pid {info['pid']} on {info['host']}, started {info['started']}: "
                f"{info['command']}")
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def output_lock(out: Path, command: str | None = None) -> Iterator[str]:
    """Hold ``out``'s lock for the block, yielding the run token; :class:`FolderBusy` (naming the
    holder) if it is taken."""
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise FolderBusy(f"output folder {out} is in use by {_holder(out)}; wait for that run to "
                         "finish or pass another --out") from None
    holder = out / HOLDER_FILE
    run = uuid.uuid4().hex
    try:
        holder.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                      "started": datetime.now(UTC).isoformat(timespec="seconds"),
                                      "command": command or " ".join(sys.argv), "run": run}))
        yield run
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def held_by(out: Path, run: str) -> bool:
    """Whether the run with token ``run`` still holds ``out``'s lock: the holder file names it and
    the lock cannot be taken. On a file system without working locks (``OSError``) the answer is
    True: a unit cannot tell, and keeps going."""
    try:
        if json.loads((out / HOLDER_FILE).read_text()).get("run") != run:
            return False
    except (OSError, ValueError, AttributeError):
        return False
    probe = FileLock(str(out / LOCK_FILE), timeout=0)
    try:
        probe.acquire()
    except (Timeout, OSError):  # taken (or, OSError, locks unsupported)
        return True
    probe.release()  # the holder died without releasing: nobody holds the folder
    return False
