"""The Great Expectations suites in a worker process, so they run beside the rest of the run.

GX's cost is fixed per expectation (its import and context take seconds, each expectation
milliseconds), so on a machine with two cores it is cheaper to run it beside writing, define.xml and
the conformance rules than after them. The pipeline starts the worker first (GX imports while the
raw files are read and mapped), hands it each dataset's small batch frames as soon as the dataset is
written (`submit`), and `validate_domains` takes the verdicts in dataset order (`outcomes`), so the
findings are the same bytes as when the suites run in the main process.

The worker is a fresh interpreter (`python -m cdisc_dpn.validation.gx_worker`), not a
multiprocessing child: "spawn" and "forkserver" re-run the parent's `__main__` script, and "fork"
after pandas' threads are up is unsafe. Requests and replies are length-prefixed pickles on its
stdin and stdout; nothing is written to disk. The worker dies with the run: it ignores SIGINT (the
run handles Ctrl-C and ends it), is killed by the kernel when its parent dies (Linux), and is
terminated when the run ends or is interrupted. If it stops or does not answer, the datasets it has
not answered for run in the main process (the same checks) and the run says so (VAL-GX-WORKER).

CDISC_DPN_GX_WORKER=0 runs the suites in the main process; CDISC_DPN_GX_TIMEOUT sets how many
seconds to wait for one dataset's verdicts (default 600).
"""
from __future__ import annotations

import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Mapping

import pandas as pd

from cdisc_dpn.validation.gx_runner import (
    Outcome, _Batch, assemble, failed_batch, plan, runtime_expectations, sorted_outcomes)

SWITCH = "CDISC_DPN_GX_WORKER"
TIMEOUT = "CDISC_DPN_GX_TIMEOUT"
DEFAULT_TIMEOUT = 600.0
_HEADER = struct.Struct("<Q")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


# --------------------------------------------------------------------------- framing
def _encode(message: Any) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


def _read_message(stream: BinaryIO) -> Any:
    """The next message, or None at end of stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    size = _HEADER.unpack(header)[0]
    body = stream.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


class WorkerLost(Exception):
    """The worker stopped, broke the protocol or did not answer in time."""


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise WorkerLost("it did not take a request in time")
        _, ready, _ = select.select([], [fd], [], wait)
        if not ready:
            continue
        try:
            view = view[os.write(fd, view[: 1 << 20]):]
        except BlockingIOError:
            continue
        except OSError as exc:                # EPIPE: the worker is gone
            raise WorkerLost(f"it stopped ({exc.strerror or exc})") from None


def _read_exact(fd: int, size: int, deadline: float) -> bytes:
    chunks, left = [], size
    while left:
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise WorkerLost("it did not answer in time")
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            continue
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise WorkerLost("it stopped")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# --------------------------------------------------------------------------- the main process's side
@dataclass
class _Job:
    number: int
    source: pd.DataFrame                      # the DomainFrame's frame (identity tells it is the same data)
    suite: Mapping[str, Any]
    batches: list[_Batch]                     # without frames or value codes (made again if a value fails)
    ran: int


class GxWorker:
    """A running worker and the datasets handed to it whose verdicts have not been taken yet."""

    def __init__(self, process: subprocess.Popen, timeout: float):
        self.process = process
        self.timeout = timeout
        self.problem: str | None = None       # why the worker was given up (the rest ran in the main process)
        self.answered = 0                     # datasets whose verdicts came from the worker
        self.stats: dict[str, float] = {}     # its own peak RSS and CPU, read just before it is stopped
        self._jobs: dict[str, _Job] = {}
        self._number = 0
        os.set_blocking(process.stdin.fileno(), False)     # a request never waits on a worker that hangs
        try:                                  # Linux: a 1 MiB pipe, so a dataset's batches rarely wait for the worker
            import fcntl

            fcntl.fcntl(process.stdin.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
        except (ImportError, OSError):
            pass

    @classmethod
    def start(cls) -> "GxWorker | None":
        """A new worker, or None when switched off or when no process can be started."""
        if os.environ.get(SWITCH, "1").strip().lower() in ("0", "no", "false", "off"):
            return None
        try:
            timeout = float(os.environ.get(TIMEOUT) or DEFAULT_TIMEOUT)
        except ValueError:
            timeout = DEFAULT_TIMEOUT
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "cdisc_dpn.validation.gx_worker", str(os.getpid())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True)
        except (OSError, ValueError):
            return None
        return cls(process, timeout)

    @property
    def pid(self) -> int:
        return self.process.pid

    def submit(self, name: str, source: pd.DataFrame, suite: Mapping[str, Any],
               codes: Mapping[str, Any] | None = None) -> None:
        """Hand the worker one finished dataset's batches; `outcomes` takes the verdicts later.
        `codes`: value_codes of some of the dataset's columns, when the caller has them (the writer's)."""
        if self.problem is not None:
            return
        frame = source.reset_index(drop=True)
        batches, ran = plan(suite, frame, codes)
        self._number += 1
        payload = [(b.frame, runtime_expectations(b)) for b in batches]
        for b in batches:
            b.frame = None                    # sent
            if b.codes is not None:           # one code per row and column: made again only if a value fails
                b.codes, b.widths = (), None
        self._jobs[name] = _Job(self._number, source, suite, batches, ran)
        try:
            self._send(("run", self._number, suite["name"], payload))
        except WorkerLost as exc:
            self._give_up(str(exc))

    def outcomes(self, name: str, source: pd.DataFrame, suite: Mapping[str, Any]) -> tuple[list[Outcome], int] | None:
        """The verdicts on a dataset handed over with the same data and suite, or None (run it here)."""
        job = self._jobs.pop(name, None)
        if job is None or job.source is not source or job.suite != suite or self.problem is not None:
            return None
        try:
            self._send(("send", job.number))
            reply = self._reply(time.monotonic() + self.timeout)
        except WorkerLost as exc:
            self._give_up(str(exc))
            return None
        if not (isinstance(reply, tuple) and len(reply) == 3 and reply[0] == "done" and reply[1] == job.number):
            text = reply[1] if isinstance(reply, tuple) and reply and reply[0] == "fatal" else "unexpected reply"
            self._give_up(f"it failed: {text}")
            return None
        batches = job.batches
        if any(isinstance(b.codes, tuple) and any(e.result.get("unexpected_index_list") is not None for e in evaluations)
               for b, evaluations in zip(batches, reply[2])):
            batches = plan(suite, source.reset_index(drop=True))[0]       # the same batches, with their codes
        outcomes: list[Outcome] = []
        for batch, evaluations in zip(batches, reply[2]):
            outcomes.extend(assemble(batch, evaluations))
        self.answered += 1
        return sorted_outcomes(outcomes), job.ran

    def _send(self, message: Any) -> None:
        _write_all(self.process.stdin.fileno(), _encode(message), time.monotonic() + self.timeout)

    def _reply(self, deadline: float) -> Any:
        fd = self.process.stdout.fileno()
        size = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))[0]
        return pickle.loads(_read_exact(fd, size, deadline))

    def _give_up(self, why: str) -> None:
        code = self._stop(force=True)
        self.problem = why if code in (None, 0) else f"{why}; exit status {code}"
        self._jobs.clear()

    def _stop(self, force: bool) -> int | None:
        process = self.process
        if process.poll() is None:
            self.stats = own_usage(process.pid)
        if process.poll() is None and not force:
            try:
                process.stdin.close()         # end of requests: the worker leaves its loop
            except OSError:
                pass
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        if process.poll() is None:
            process.kill()
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:     # pragma: no cover - a process that survives SIGKILL
            return None
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        return code

    def close(self, force: bool = False) -> None:
        if self.process.returncode is None:
            self._stop(force)
        self._jobs.clear()


def own_usage(pid: int) -> dict[str, float]:
    """A live process's own peak RSS (VmHWM, MB) and CPU seconds from /proc ({} where there is none).
    Not RUSAGE_CHILDREN: a child forked from a large parent is charged the parent's RSS before exec."""
    stats: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("VmHWM:"):
                stats["peak_rss_mb"] = int(line.split()[1]) / 1024
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
        stats["cpu_seconds"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return stats


@contextmanager
def running_gx_worker() -> Iterator[GxWorker | None]:
    """A worker for one run (None when switched off); it is ended with the block, at once on an error
    or interruption (SIGTERM/SIGINT arrive as exceptions in the run)."""
    worker = GxWorker.start()
    try:
        yield worker
    except BaseException:
        if worker is not None:
            worker.close(force=True)
        raise
    if worker is not None:
        worker.close()


# --------------------------------------------------------------------------- the worker's side
def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this process when its parent dies, however the parent dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)          # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:                                # the parent died before prctl
        os._exit(1)


def serve(requests_in: BinaryIO, replies_out: BinaryIO) -> None:
    """Run batches as they come; send a job's verdicts when asked (in request order, so they are done)."""
    requests: queue.Queue = queue.Queue()

    def read() -> None:                       # drain stdin at once, so the run never waits on a full pipe
        while True:
            try:
                message = _read_message(requests_in)
            except Exception:                 # noqa: BLE001 - a broken request ends the worker
                message = None
            requests.put(message)
            if message is None:
                return

    threading.Thread(target=read, name="gx-requests", daemon=True).start()
    runner, fatal = None, None
    try:
        from cdisc_dpn.validation.gx_runner import shared_runner

        runner = shared_runner()
    except Exception as exc:                  # noqa: BLE001 - told to the run, which runs the suites itself
        fatal = f"Great Expectations could not start: {type(exc).__name__}: {exc}"
    done: dict[int, list] = {}
    while True:
        message = requests.get()
        if message is None:
            return
        if message[0] == "run":
            _, number, name, payload = message
            done[number] = [runner.evaluate(name, frame, expectations) if runner is not None
                            else failed_batch(expectations, fatal) for frame, expectations in payload]
        elif message[0] == "send":
            reply = ("fatal", fatal) if runner is None else ("done", message[1], done.pop(message[1], []))
            replies_out.write(_encode(reply))
            replies_out.flush()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if argv:
        _die_with_parent(int(argv[0]))
    replies = os.fdopen(os.dup(1), "wb")      # the protocol's stream; stray prints go to stderr instead
    os.dup2(2, 1)
    serve(sys.stdin.buffer, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
