"""Network calls of many threads run as one: each member of a group of threads hands its crops
to a :class:`Gatherer` and waits; when every member still working is waiting, the crops of all
of them go through the network together (in calls of at most ``max_batch`` crops) and each
member gets its own rows back. ``Landmarker.batch`` runs one image per member, so the crops of
many images share one network call while each image follows the single-image code path."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .runtime import NetworkOutput


@dataclass
class _Request:
    runtime: object
    crops: np.ndarray
    output: NetworkOutput | None = None
    error: BaseException | None = None
    done: bool = False


def slice_output(output: NetworkOutput, start: int, stop: int) -> NetworkOutput:
    """Rows ``start:stop`` of every field of ``output``."""
    def rows(value: np.ndarray | None) -> np.ndarray | None:
        return None if value is None else value[start:stop]
    return NetworkOutput(rows(output.landmarks), rows(output.pose), rows(output.face_prob), rows(output.sigma))


def join_outputs(parts: list[NetworkOutput]) -> NetworkOutput:
    """One ``NetworkOutput`` from several for consecutive batches of crops."""
    if len(parts) == 1:
        return parts[0]

    def join(name: str) -> np.ndarray | None:
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else np.concatenate(values)
    return NetworkOutput(join("landmarks"), join("pose"), join("face_prob"), join("sigma"))


class Gatherer:
    """Gathers the network calls of ``members`` threads; each member calls :meth:`leave` once
    when it is done (also after an error), so the others never wait for it."""

    def __init__(self, members: int, max_batch: int = 64) -> None:
        if members < 1 or max_batch < 1:
            raise ValueError(f"members and max_batch must be >= 1, got {members} and {max_batch}")
        self._cond = threading.Condition()
        self._live = int(members)
        self._pending: list[_Request] = []
        self.max_batch = int(max_batch)
        #: network calls made and crops sent (for measurements and tests)
        self.calls = 0
        self.crops = 0

    def wrap(self, runtime) -> "GatheredRuntime":
        """A runtime whose calls go through this gatherer to ``runtime``."""
        return GatheredRuntime(self, runtime)

    def leave(self) -> None:
        """A member is done: the others no longer wait for its crops."""
        with self._cond:
            self._live -= 1
            self._flush_if_ready()

    def run(self, runtime, crops: np.ndarray) -> NetworkOutput:
        """``runtime(crops)``, run together with the other members' pending crops."""
        request = _Request(runtime, crops)
        with self._cond:
            self._pending.append(request)
            self._flush_if_ready()
            while not request.done:
                self._cond.wait()
        if request.error is not None:
            raise request.error
        return request.output

    def _flush_if_ready(self) -> None:
        """Runs the pending crops when every live member is waiting (the lock is held)."""
        if not self._pending or len(self._pending) < self._live:
            return
        pending, self._pending = self._pending, []
        try:
            runtimes: dict[int, list[_Request]] = {}
            for request in pending:  # e.g. flip test or TUFA's re-centring runtime beside the main one
                runtimes.setdefault(id(request.runtime), []).append(request)
            for requests in runtimes.values():
                self._run_together(requests)
        finally:
            self._cond.notify_all()

    def _run_together(self, requests: list[_Request]) -> None:
        runtime = requests[0].runtime
        crops = np.concatenate([r.crops for r in requests])
        try:
            parts = []
            for start in range(0, max(len(crops), 1), self.max_batch):
                parts.append(runtime(crops[start:start + self.max_batch]))
                self.calls += 1
            self.crops += len(crops)
            output = join_outputs(parts)
        except Exception as exc:  # noqa: BLE001 - handed to every member whose crops were in the call
            for request in requests:
                request.error, request.done = exc, True
            return
        start = 0
        for request in requests:
            request.output = slice_output(output, start, start + len(request.crops))
            request.done = True
            start += len(request.crops)


class GatheredRuntime:
    """A runtime seen through a :class:`Gatherer` (other attributes are the wrapped runtime's)."""

    def __init__(self, gatherer: Gatherer, runtime) -> None:
        self.gatherer = gatherer
        self.inner = runtime
        self.name = runtime.name

    def __call__(self, crops: np.ndarray) -> NetworkOutput:
        return self.gatherer.run(self.inner, crops)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)
