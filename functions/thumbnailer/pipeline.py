"""The records of one SQS batch as a pipeline, so that S3's latency hides behind the render.

    record 1:  fetch ─ render ─ write (variant PUTs at once, then the manifest)
    record 2:          fetch ── render ─ write
    record 3:                   fetch ── render ─ write

Each record goes through the service's phases (`service.py`: admit, fetch, render, write) exactly as
`ThumbnailService.process` runs them; only *when* they run differs. Threads, all created for one batch and
joined before its response is returned:

- the calling thread admits the records in batch order (parsing, no I/O), renders them one at a time (the only
  CPU-heavy work; Pillow releases the GIL in decode, resample and encode, so the S3 threads run meanwhile) and
  reports each record's outcome (logging and metrics stay on one thread);
- one fetch thread reads the next record's source and manifest while the current record renders: one source
  ahead at most, so at most two sources are in memory at once (the one rendering, the one fetched), each at
  most `maxSourceBytes` (a bigger one is refused before its body is read);
- `background_writes` write threads: a rendered record's variant PUTs, then strictly last its manifest, while
  the next record renders. When every write thread is busy the next render waits: memory stays bounded by
  what those records hold (their thumbnails, not their sources);
- a request pool runs a record's independent requests at once: its variant PUTs, and its source GET with its
  manifest read.

Ordering: records start in batch order, and a record whose key (any spelling of it) belongs to a record not
finished yet waits for that record to finish before its fetch starts: two events of one key never overlap, so
the sequencer checks see them one after another, as in the sequential path. Outcomes are final per record: a
record's failure (a raised exception in whichever thread) is reported for that record alone and never stops
or waits for its neighbours (except one of the same key, which waits for it to finish, failed or not).

`SEQUENTIAL` runs every phase of every record in the calling thread, one request at a time: the old path, kept
as the baseline the benchmark compares against. `PIPELINED` is what the function runs.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol, TypeVar

from .outcomes import Outcome
from .service import Admitted, Fanout, Fetched, Refused, Rendered, in_order

T = TypeVar("T")
MAX_PRESETS = 10  # the contract's limit (imaging/presets.py)


class Phases(Protocol):
    """What the pipeline drives: `ThumbnailService`'s phases."""

    def admit(self, message_body: str) -> Outcome | Admitted: ...

    def fetch(self, admitted: Admitted, *, fanout: Fanout = ...) -> Outcome | Fetched: ...

    def render(self, fetched: Fetched) -> Rendered | Refused: ...

    def write(self, rendered: Rendered | Refused, *, fanout: Fanout = ...) -> Outcome: ...


@dataclass(frozen=True, kw_only=True)
class Overlap:
    """How much of a batch may run at once."""

    prefetch: bool  # fetch the next record while the current one renders (one source ahead at most)
    parallel_requests: bool  # a record's independent requests at once (variant PUTs; source GET + manifest read)
    background_writes: int  # records whose writes may run while the next one renders (0: before the next render)

    def __post_init__(self) -> None:
        if self.background_writes < 0:
            raise ValueError(f"background_writes: expected 0 or more, got {self.background_writes}")

    def connections(self, preset_count: int) -> int:
        """S3 requests that may be in flight at once, which the client's connection pool must hold
        (botocore's `max_pool_connections`; beyond it, urllib3 opens and discards extra connections)."""
        fetch = 2 if self.parallel_requests else 1  # source GET, manifest read
        per_write = preset_count if self.parallel_requests else 1  # a variant's HEAD and PUT are sequential
        return fetch + max(1, self.background_writes) * per_write


SEQUENTIAL = Overlap(prefetch=False, parallel_requests=False, background_writes=0)
PIPELINED = Overlap(prefetch=True, parallel_requests=True, background_writes=2)


@dataclass(frozen=True)
class Finished:
    """A record's end: its outcome, or the exception that ended it (whichever thread raised it)."""

    index: int  # in the batch
    outcome: Outcome | None
    error: Exception | None
    ms: float  # from the record's start (admission) to its end


@dataclass(eq=False)
class _Record:
    index: int
    started: float = field(default_factory=time.perf_counter)
    keys: frozenset[str] = frozenset()  # the original keys it may touch (every spelling)
    fetch: Callable[[], Outcome | Fetched] | None = None  # its fetch phase, once admitted
    fetching: Future[Outcome | Fetched] | None = None  # the fetch, when prefetched; dropped once taken
    done: Future[Outcome] = field(default_factory=Future)
    ended: float = 0.0

    def settle(self, work: Callable[[], Outcome]) -> None:
        """Run the record's last phase and keep how it ended, whatever it raises: the calling thread reports it
        (and waits for it: a record that never settled would hang the batch)."""
        try:
            outcome = work()
        except BaseException as error:
            self.fail(error)
        else:
            self.succeed(outcome)

    def succeed(self, outcome: Outcome) -> None:
        self.ended = time.perf_counter()
        self.done.set_result(outcome)

    def fail(self, error: BaseException) -> None:
        self.ended = time.perf_counter()
        self.done.set_exception(error)

    def finished(self) -> Finished:
        error = self.done.exception()
        ms = round((self.ended - self.started) * 1000, 1)
        if error is None:
            return Finished(self.index, self.done.result(), None, ms)
        if not isinstance(error, Exception):
            raise error  # KeyboardInterrupt, SystemExit, ...: not a record's failure, as without threads
        return Finished(self.index, None, error, ms)


class PooledFanout:
    """Runs a record's independent requests at once: the first in the calling thread, the others in `pool`."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool

    def __call__(self, tasks: Sequence[Callable[[], T]], /) -> list[T]:
        if len(tasks) <= 1:
            return [task() for task in tasks]
        others = [self._pool.submit(task) for task in tasks[1:]]
        try:
            first = tasks[0]()
        finally:
            wait(others)  # nothing of this record is left running, whatever happened
        return [first, *(future.result() for future in others)]  # raises the first failure in task order


def run_batch(
    phases: Phases,
    bodies: Sequence[str],
    *,
    overlap: Overlap,
    may_start: Callable[[], bool],
    on_finished: Callable[[Finished], None],
) -> list[int]:
    """Process the message bodies of one batch; `on_finished` is called on this thread once per started record.

    A record is started only while `may_start()` is true; returns the indexes of the records not started (from
    the first refusal on, in order). Every started record has finished when this returns.
    """
    with _Batch(phases, overlap, on_finished) as batch:
        return batch.run(bodies, may_start)


class _Batch:
    def __init__(self, phases: Phases, overlap: Overlap, on_finished: Callable[[Finished], None]) -> None:
        self._phases = phases
        self._overlap = overlap
        self._on_finished = on_finished
        self._exit = ExitStack()
        self._fanout: Fanout = in_order
        self._fetcher: ThreadPoolExecutor | None = None
        self._writers: ThreadPoolExecutor | None = None
        self._unreported: list[_Record] = []  # started, in batch order
        self._writing: list[_Record] = []  # handed to the write threads, maybe done

    def __enter__(self) -> _Batch:
        overlap = self._overlap
        # Closed last in, first out: the writers finish before the request pool their PUTs use is shut down.
        if overlap.parallel_requests:
            # Threads are made only when there is work, and the tasks themselves bound how many run at once.
            self._fanout = PooledFanout(self._pool(workers=overlap.connections(MAX_PRESETS), name="s3-request"))
        if overlap.prefetch:
            self._fetcher = self._pool(workers=1, name="fetch")
        if overlap.background_writes:
            self._writers = self._pool(workers=overlap.background_writes, name="write")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    def _pool(self, *, workers: int, name: str) -> ThreadPoolExecutor:
        return self._exit.enter_context(ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name))

    def run(self, bodies: Sequence[str], may_start: Callable[[], bool]) -> list[int]:
        waiting = deque(enumerate(bodies))
        not_started: list[int] = []
        upcoming = self._start_next(waiting, may_start, not_started)
        while upcoming is not None:
            record = upcoming
            fetched = self._take_fetched(record)
            if self._fetcher is not None:  # the next record's fetch runs while this one renders
                upcoming = self._start_next(waiting, may_start, not_started)
            rendered = self._render(record, fetched) if fetched is not None else None
            del fetched  # the source bytes go with it, before this thread waits for anything
            if rendered is not None:
                self._write(record, rendered)
            if self._fetcher is None:
                upcoming = self._start_next(waiting, may_start, not_started)
            self._report_finished()
        wait([record.done for record in self._unreported])
        self._report_finished()
        return not_started

    def _start_next(
        self, waiting: deque[tuple[int, str]], may_start: Callable[[], bool], not_started: list[int]
    ) -> _Record | None:
        """Admit records in order until one needs S3, and start its fetch when prefetching. Records that their
        admission settles (a malformed message, a filtered key, ...) end on the spot."""
        while waiting:
            if not may_start():
                not_started.extend(index for index, _ in waiting)
                waiting.clear()
                return None
            index, body = waiting.popleft()
            record = _Record(index=index)
            self._unreported.append(record)
            try:
                admitted = self._phases.admit(body)
            except Exception as error:
                record.fail(error)
                continue
            if isinstance(admitted, Outcome):
                record.succeed(admitted)
                continue
            record.keys = frozenset(admitted.candidates)
            same_key = [other.done for other in self._unreported if other is not record and other.keys & record.keys]
            record.fetch = partial(self._fetch, admitted, same_key)
            if self._fetcher is not None:
                record.fetching = self._fetcher.submit(record.fetch)
            return record
        return None

    def _fetch(self, admitted: Admitted, same_key: list[Future[Outcome]]) -> Outcome | Fetched:
        wait(same_key)  # until they have finished, however they end
        return self._phases.fetch(admitted, fanout=self._fanout)

    def _take_fetched(self, record: _Record) -> Fetched | None:
        """The record's fetched source (fetched now unless prefetched), or None when the fetch ended the record."""
        fetch, fetching = record.fetch, record.fetching
        record.fetch = record.fetching = None  # a future holds its result: the source bytes
        assert fetch is not None
        try:
            result = fetching.result() if fetching is not None else fetch()
        except Exception as error:
            record.fail(error)
            return None
        if isinstance(result, Outcome):
            record.succeed(result)
            return None
        return result

    def _render(self, record: _Record, fetched: Fetched) -> Rendered | Refused | None:
        try:
            return self._phases.render(fetched)
        except Exception as error:
            record.fail(error)
            return None

    def _write(self, record: _Record, rendered: Rendered | Refused) -> None:
        write = _bind_write(self._phases, rendered, self._fanout)
        if self._writers is None:
            record.settle(write)
            return
        self._wait_for_a_writer()
        self._writing.append(record)
        self._writers.submit(record.settle, write)

    def _wait_for_a_writer(self) -> None:
        while True:
            self._writing = [record for record in self._writing if not record.done.done()]
            if len(self._writing) < self._overlap.background_writes:
                return
            wait([record.done for record in self._writing], return_when=FIRST_COMPLETED)
            self._report_finished()

    def _report_finished(self) -> None:
        """Report every record that has finished, in batch order, on this (the calling) thread."""
        still_running = []
        for record in self._unreported:
            if record.done.done():
                self._on_finished(record.finished())
            else:
                still_running.append(record)
        self._unreported = still_running


def _bind_write(phases: Phases, rendered: Rendered | Refused, fanout: Fanout) -> Callable[[], Outcome]:
    return lambda: phases.write(rendered, fanout=fanout)
