"""The run's output folder: one writer at a time, written beside it, swapped in whole, never half there.

A run claims the folder with a lock file beside it (`.<name>.lock`, holding pid, host and start time;
an OS lock on it is released even when the holder is killed), removes what an interrupted run left
(temporary folders, a backup caught mid-swap), writes everything into a temporary folder beside the
output and swaps it in only when complete. SIGTERM and SIGINT while claimed raise `RunInterrupted`,
so the temporary folder is removed and the previous output stays as it was; the swap and the
clean-up hold a signal until they are done (a signal during the swap lets the finished run complete).

Where a finished run goes (`publish`):
- a run without errors replaces `<out>` and removes an older `<out>-with-errors` folder;
- a run with errors replaces `<out>` too, unless `<out>` holds a clean run (its manifest counts no
  error): that clean output is kept and the run goes to `<out>-with-errors` beside it.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import signal
import socket
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

ERRORS_SUFFIX = "-with-errors"
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived while a run held its output folder."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum          # the shell's convention: 130 for SIGINT, 143 for SIGTERM


class FolderBusy(Exception):
    """Another live run holds the lock of the output folder."""

    def __init__(self, lock_path: Path, holder: dict):
        self.lock_path, self.holder = lock_path, holder
        who = ", ".join(f"{k} {holder[k]}" for k in ("pid", "host", "started") if k in holder) or "unknown holder"
        super().__init__(f"another cdisc-dpn run is writing this output folder ({who}; lock file {lock_path})")


def errors_folder(out_dir: Path) -> Path:
    """Where a run with errors goes when the output folder holds a clean run."""
    return out_dir.with_name(out_dir.name + ERRORS_SUFFIX)


def lock_path(out_dir: Path) -> Path:
    return out_dir.with_name(f".{out_dir.name}.lock")


def writable_problem(out_dir: Path) -> str | None:
    """Why the output folder cannot be written, or None. Tried for real (a probe folder), since
    permission bits do not tell the whole story (read-only mounts, ACLs, root)."""
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and not out_dir.is_dir():
        return f"{out_dir} exists and is not a folder"
    parent = out_dir.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a folder"
    for where in [parent] + ([out_dir] if out_dir.is_dir() else []):
        try:
            Path(tempfile.mkdtemp(prefix=".cdisc-dpn-probe-", dir=where)).rmdir()
        except OSError as exc:
            return f"cannot write in {where}: {exc.strerror or exc}"
    return None


def is_clean_output(folder: Path) -> bool:
    """A folder written by a run that found no error (its manifest says so)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and (manifest.get("findings") or {}).get("error") == 0


class _SignalGate:
    """Turns SIGTERM/SIGINT into RunInterrupted, except inside `held()` (a swap or a clean-up must not
    stop half-way): there the signal is remembered and the block completes. Works in Python, so it
    holds whichever thread the operating system hands the signal to."""

    def __init__(self):
        self.depth = 0
        self.pending: int | None = None

    def handle(self, signum, _frame) -> None:
        if self.depth:
            self.pending = self.pending or signum
            return
        raise RunInterrupted(signum)

    @contextmanager
    def held(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if path.exists() or path.is_symlink():
        try:
            path.unlink()
        except OSError:
            pass


@dataclass
class OutputClaim:
    """The right to write one output folder, held for the duration of a run."""

    out_dir: Path
    removed: list[str] = field(default_factory=list)     # leftovers of interrupted runs, removed at claim
    restored: str | None = None                          # a backup caught mid-swap, put back
    _temps: list[Path] = field(default_factory=list)
    _gate: _SignalGate = field(default_factory=_SignalGate)

    @property
    def late_signal(self) -> str | None:
        """A signal that arrived while the finished output was being swapped in (the swap completed)."""
        return signal.Signals(self._gate.pending).name if self._gate.pending else None

    @property
    def parent(self) -> Path:
        return self.out_dir.parent

    def _leftover_prefixes(self) -> tuple[str, ...]:
        names = (self.out_dir.name, errors_folder(self.out_dir).name)
        return tuple(f".{n}.{kind}-" for n in names for kind in ("tmp", "old"))

    def clean_leftovers(self) -> None:
        """Remove temporary folders of killed runs; put back an output a killed swap had moved aside."""
        prefixes = self._leftover_prefixes()
        leftovers = sorted(p for p in self.parent.iterdir() if p.name.startswith(prefixes))
        for target in (self.out_dir, errors_folder(self.out_dir)):
            backups = [p for p in leftovers if p.name.startswith(f".{target.name}.old-")]
            if not target.exists() and len(backups) == 1 and (backups[0] / "manifest.json").is_file():
                os.replace(backups[0], target)
                self.restored = str(target)
                leftovers.remove(backups[0])
        for path in leftovers:
            _remove(path)
            self.removed.append(str(path))

    def new_temp(self) -> Path:
        """An empty temporary folder beside the output (same file system, so the swap is a rename)."""
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.tmp-", dir=self.parent))
        tmp.chmod(0o755)                  # mkdtemp makes it private; the output is shared like any folder
        self._temps.append(tmp)
        return tmp

    def discard(self, tmp: Path) -> None:
        with self._gate.held():
            _remove(tmp)
            if tmp in self._temps:
                self._temps.remove(tmp)

    def destination(self, has_errors: bool) -> Path:
        """`<out>`, or `<out>-with-errors` when this run has errors and `<out>` holds a clean run."""
        if has_errors and is_clean_output(self.out_dir):
            return errors_folder(self.out_dir)
        return self.out_dir

    def publish(self, tmp: Path, has_errors: bool) -> Path:
        """Swap the finished folder in; the replaced one is removed only after the new one is in place."""
        target = self.destination(has_errors)
        with self._gate.held():
            backup = None
            if target.exists():
                backup = target.with_name(f".{target.name}.old-{os.getpid()}")
                os.replace(target, backup)
            os.replace(tmp, target)
            self._temps.remove(tmp)
            if backup is not None:
                _remove(backup)
            stale = errors_folder(self.out_dir)
            if target == self.out_dir and not has_errors and stale.is_dir() and (stale / "manifest.json").is_file():
                _remove(stale)                # an older run's errors: this clean run supersedes them
        return target


def _read_holder(path: Path) -> dict:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _acquire_lock(path: Path) -> int:
    """An exclusive OS lock on the lock file (same inode as on disk); FolderBusy when held elsewhere."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise FolderBusy(path, _read_holder(path)) from None
            raise
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)                      # the holder removed the file as we opened it: take the new one


@contextmanager
def claim_output(out_dir: Path | str) -> Iterator[OutputClaim]:
    """Lock the output folder, clean up after killed runs, and turn SIGTERM/SIGINT into RunInterrupted."""
    out_dir = Path(out_dir).absolute()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(out_dir)
    fd = _acquire_lock(path)
    claim = OutputClaim(out_dir)
    handlers = {}
    try:
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now(timezone.utc).replace(microsecond=0).isoformat()}
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(holder) + "\n").encode())
        try:
            for signum in _SIGNALS:
                handlers[signum] = signal.signal(signum, claim._gate.handle)
        except ValueError:                # not the main thread: signals stay as they are
            pass
        claim.clean_leftovers()
        try:
            yield claim
        finally:
            for tmp in list(claim._temps):
                claim.discard(tmp)
    finally:
        with claim._gate.held():
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            try:
                path.unlink()
            except OSError:
                pass
            os.close(fd)
