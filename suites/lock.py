"""One run per output folder: an exclusive lock on ``<out>/.lock`` (``filelock``, an OS file lock).

Two runs on one folder would train the same networks twice and race on the same cells. The
lock is released on every exit path: normally, on an exception or Ctrl+C (the context manager),
and by the operating system when the process dies (SIGKILL included), so a killed run never
leaves the folder locked. Who holds it (pid, host, start time, command) is written beside it
so that the refused run can name the holder.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
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
def output_lock(out: Path, command: str | None = None) -> Iterator[None]:
    """Hold ``out``'s lock for the block; :class:`FolderBusy` (naming the holder) if it is taken."""
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise FolderBusy(f"output folder {out} is in use by {_holder(out)}; wait for that run to "
                         "finish or pass another --out") from None
    holder = out / HOLDER_FILE
    try:
        holder.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                      "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                      "command": command or " ".join(sys.argv)}))
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()
