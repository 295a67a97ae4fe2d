"""A fault-injecting HTTP proxy on localhost, between simulated devices and the real backend.

Each device talks to `proxy.url_for(name)` (http://127.0.0.1:PORT/NAME); the proxy strips the
name, so it knows whose request it is, and forwards to the real server with httpx. Per request on
the sync endpoints, a seeded `random.Random` of that device decides what goes wrong:

  drop       the request never reaches the server: the connection is closed, or 503 is answered
  delay      forwarded after a short pause (and sometimes answered after another)
  duplicate  forwarded twice (one after the other, or both at once); the device gets one answer
  hold       (reorder) a push is kept back and the device gets 503; the held body is delivered to
             the server later, after newer requests, when the device may have moved on
  replay     (reorder) forwarded, and kept; an older captured push body is sent again later
  cut        forwarded and applied by the server, then the answer is lost: the connection is
             closed, or 502 is answered, or the answer is cut off half-way

Non-sync requests (enrolment, sign-in, health) pass through untouched. The event stream
(/api/v1/sync/events) is streamed through chunk by chunk; its faults are drop and delay only.

Everything is bounded: held and captured bodies are capped, every upstream call has a timeout,
and `stop()` ends open streams and the event loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

FAULTS = ("drop", "delay", "duplicate", "hold", "replay", "cut")
HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"transfer-encoding",
    b"content-length",
    b"host",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"upgrade",
}
MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024


@dataclass
class FaultRates:
    """Probability of each fault per sync request (the rest pass cleanly)."""

    drop: float = 0.08
    delay: float = 0.10
    duplicate: float = 0.08
    hold: float = 0.06
    replay: float = 0.06
    cut: float = 0.10
    max_delay_s: float = 0.25
    release: float = 0.35  # chance, per sync request, that a held or captured body is (re)delivered now

    @classmethod
    def from_rng(cls, rng: random.Random) -> FaultRates:
        """A random mix for one schedule: some schedules are gentle, some hostile."""
        scale = rng.choice([0.5, 1.0, 1.5, 2.0])
        return cls(
            drop=0.08 * scale * rng.uniform(0.5, 1.5),
            delay=0.10 * scale * rng.uniform(0.5, 1.5),
            duplicate=0.08 * scale * rng.uniform(0.5, 1.5),
            hold=0.06 * scale * rng.uniform(0.5, 1.5),
            replay=0.06 * scale * rng.uniform(0.5, 1.5),
            cut=0.10 * scale * rng.uniform(0.5, 1.5),
            max_delay_s=rng.choice([0.05, 0.15, 0.3]),
            release=rng.uniform(0.2, 0.6),
        )

    def pick(self, rng: random.Random) -> str | None:
        x = rng.random()
        for name in FAULTS:
            x -= getattr(self, name)
            if x < 0:
                return name
        return None


@dataclass
class Captured:
    name: str
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class Request:
    method: str
    target: str  # path and query, without the device prefix
    headers: list[tuple[bytes, bytes]]
    body: bytes
    name: str = ""


@dataclass
class _Hook:
    phase: str  # "in_flight": call, then forward | "applied": forward, call, never answer
    callback: Callable[[], None]


@dataclass
class Stats:
    faults: Counter = field(default_factory=Counter)
    requests: int = 0
    forwarded: int = 0
    upstream_errors: int = 0
    upstream_5xx: Counter = field(default_factory=Counter)  # path -> answers >= 500 from the server itself
    late_deliveries: int = 0


class FaultProxy:
    def __init__(self, upstream: str, seed: int, rates: FaultRates | None = None, port: int = 0) -> None:
        self.upstream = upstream.rstrip("/")
        self.seed = seed
        self.rates = rates or FaultRates()
        self.enabled = False
        self.stats = Stats()
        self._port = port
        self._rngs: dict[str, random.Random] = {}
        self._held: deque[Captured] = deque()
        self._captured: dict[str, deque[Captured]] = {}
        self._hooks: dict[str, _Hook] = {}
        self._tasks: set[asyncio.Task] = set()
        self._streams: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._client: httpx.AsyncClient | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._closing = False
        self.max_held = 8
        self.max_captured = 12

    # --- lifecycle (called from the test's thread) ------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def url_for(self, name: str) -> str:
        assert name and "/" not in name
        return f"{self.url}/{name}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, daemon=True, name="fault-proxy")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._client = httpx.AsyncClient(
            base_url=self.upstream,
            timeout=httpx.Timeout(35.0, connect=2.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=0),
        )
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port, limit=MAX_HEAD)
        self._port = self._server.sockets[0].getsockname()[1]
        self._stopped = asyncio.Event()
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            self._closing = True
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=5)
            await self._client.aclose()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=15)

    def _call(self, coro, timeout: float = 60.0):  # noqa: ANN001, ANN202
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def set_faults(self, enabled: bool) -> None:
        self.enabled = enabled

    def on_next_push(self, name: str, phase: str, callback: Callable[[], None]) -> None:
        """One-shot: at the device's next push, call `callback` (e.g. SIGKILL the device process).
        phase "in_flight": the request still reaches the server afterwards; "applied": the server
        applies it, then the callback runs and the answer is never sent."""
        assert phase in ("in_flight", "applied")
        self._hooks[name] = _Hook(phase, callback)

    def cut_streams(self) -> int:
        """Close every open event stream (both ways), as a network blip would. Returns how many."""
        return self._call(self._cut_streams())

    async def _cut_streams(self) -> int:
        streams = list(self._streams)
        for task in streams:
            task.cancel()
        if streams:
            await asyncio.wait(streams, timeout=5)
        return len(streams)

    def cancel_hook(self, name: str) -> None:
        self._hooks.pop(name, None)

    def flush(self) -> int:
        """Deliver every held (and replay one captured) body now. Returns how many were sent."""
        return self._call(self._flush())

    async def _flush(self) -> int:
        sent = 0
        while self._held:
            await self._deliver_late(self._held.popleft())
            sent += 1
        for history in list(self._captured.values()):
            if history:
                await self._deliver_late(history[0])
                sent += 1
            history.clear()
        return sent

    # --- per connection ---------------------------------------------------------------------------------

    def _rng(self, name: str) -> random.Random:
        if name not in self._rngs:
            self._rngs[name] = random.Random(f"{self.seed}:{name}")
        return self._rngs[name]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            request = await asyncio.wait_for(_read_request(reader), timeout=30)
            if request is not None:
                self.stats.requests += 1
                await self._handle(request, writer)
        except (
            TimeoutError,
            asyncio.CancelledError,
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
        ):
            pass
        finally:
            self._tasks.discard(task)
            _abort(writer)

    async def _handle(self, request: Request, writer: asyncio.StreamWriter) -> None:
        path = request.target.split("?", 1)[0]
        sync = path.startswith("/api/v1/sync/")
        if path == "/api/v1/sync/events":
            await self._events(request, writer)
            return
        if not sync:
            await self._respond(writer, await self._forward(request))
            return
        push = path == "/api/v1/sync/push" and request.method == "POST"
        hook = self._hooks.pop(request.name, None) if push else None
        if hook is not None:
            self.stats.faults[f"kill_{hook.phase}"] += 1
            if hook.phase == "in_flight":
                hook.callback()
                await self._forward(request)
            else:
                await self._forward(request)
                hook.callback()
            return
        if not self.enabled:
            await self._respond(writer, await self._forward(request))
            return
        rng = self._rng(request.name)
        await self._maybe_release(rng)
        fault = self.rates.pick(rng)
        if fault in ("hold", "replay") and not push:
            fault = "delay"
        if fault is not None:
            self.stats.faults[fault] += 1
        captured = Captured(request.name, request.headers, request.body)
        if fault == "drop":
            if rng.random() < 0.5:
                await self._respond(writer, (503, [(b"content-type", b"text/plain")], b"dropped"))
            return  # else: closed without a word
        if fault == "delay":
            await asyncio.sleep(rng.uniform(0, self.rates.max_delay_s))
            answer = await self._forward(request)
            if rng.random() < 0.3:
                await asyncio.sleep(rng.uniform(0, self.rates.max_delay_s))
            await self._respond(writer, answer)
            return
        if fault == "duplicate":
            if rng.random() < 0.5:
                first, _ = await asyncio.gather(self._forward(request), self._forward(request))
            else:
                first = await self._forward(request)
                await self._forward(request)
            await self._respond(writer, first)
            return
        if fault == "hold":
            self._held.append(captured)
            while len(self._held) > self.max_held:
                await self._deliver_late(self._held.popleft())
            await self._respond(writer, (503, [(b"content-type", b"text/plain")], b"held"))
            return
        answer = await self._forward(request)
        if fault == "replay":
            history = self._captured.setdefault(request.name, deque())
            history.append(captured)
            while len(history) > self.max_captured:
                history.popleft()
        if fault == "cut":
            how = rng.random()
            if how < 0.4:
                return  # applied; the answer is lost with the connection
            if how < 0.7:
                await self._respond(writer, (502, [(b"content-type", b"text/plain")], b"cut"))
                return
            await self._respond(writer, answer, cut_at=rng.randint(0, max(0, len(answer[2]) - 1)))
            return
        await self._respond(writer, answer)

    async def _maybe_release(self, rng: random.Random) -> None:
        """Deliver an old request now, out of order with what the devices are sending."""
        if rng.random() >= self.rates.release:
            return
        if self._held and rng.random() < 0.6:
            await self._deliver_late(self._held.popleft())
            return
        histories = [h for h in self._captured.values() if h]
        if histories:
            history = rng.choice(histories)
            await self._deliver_late(history[rng.randrange(len(history))])

    async def _deliver_late(self, captured: Captured) -> None:
        self.stats.late_deliveries += 1
        await self._forward(Request("POST", "/api/v1/sync/push", captured.headers, captured.body, captured.name))

    # --- upstream ------------------------------------------------------------------------------------------

    async def _forward(self, request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        assert self._client is not None
        headers = [(k, v) for k, v in request.headers if k.lower() not in HOP_BY_HOP]
        try:
            response = await self._client.request(
                request.method, request.target, headers=headers, content=request.body or None
            )
        except httpx.HTTPError:
            self.stats.upstream_errors += 1
            return 502, [(b"content-type", b"text/plain")], b"upstream unreachable"
        self.stats.forwarded += 1
        if response.status_code >= 500:
            self.stats.upstream_5xx[request.target.split("?", 1)[0]] += 1
        out = [
            (k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP and k.lower() != b"content-encoding"
        ]
        return response.status_code, out, response.content

    async def _events(self, request: Request, writer: asyncio.StreamWriter) -> None:
        """The SSE stream, passed through as it arrives (faults: drop at connect, delay)."""
        assert self._client is not None
        task = asyncio.current_task()
        assert task is not None
        self._streams.add(task)
        try:
            await self._stream_events(request, writer)
        finally:
            self._streams.discard(task)

    async def _stream_events(self, request: Request, writer: asyncio.StreamWriter) -> None:
        assert self._client is not None
        if self.enabled:
            rng = self._rng(request.name)
            fault = self.rates.pick(rng)
            if fault in ("drop", "hold", "cut"):
                self.stats.faults["events_drop"] += 1
                return
            if fault == "delay":
                self.stats.faults["events_delay"] += 1
                await asyncio.sleep(rng.uniform(0, self.rates.max_delay_s))
        headers = [(k, v) for k, v in request.headers if k.lower() not in HOP_BY_HOP]
        try:
            upstream = self._client.build_request(
                request.method, request.target, headers=headers, timeout=httpx.Timeout(5.0, read=None)
            )
            response = await self._client.send(upstream, stream=True)
        except httpx.HTTPError:
            self.stats.upstream_errors += 1
            await self._respond(writer, (502, [(b"content-type", b"text/plain")], b"upstream unreachable"))
            return
        try:
            head = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
            writer.write(_head(response.status_code, head, None))
            await writer.drain()
            async for chunk in response.aiter_raw():
                if self._closing:
                    break
                writer.write(chunk)
                await writer.drain()
        except (httpx.HTTPError, ConnectionError):
            pass
        finally:
            await response.aclose()

    async def _respond(
        self, writer: asyncio.StreamWriter, answer: tuple[int, list, bytes], cut_at: int | None = None
    ) -> None:
        status, headers, body = answer
        data = _head(status, headers, len(body)) + body
        if cut_at is not None:
            data = data[: len(data) - len(body) + cut_at]
        writer.write(data)
        await writer.drain()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head[:-4].split(b"\r\n")
    method, target, _ = lines[0].decode("latin-1").split(" ", 2)
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        headers.append((key.strip().lower(), value.strip()))
    length = int(next((v for k, v in headers if k == b"content-length"), b"0") or 0)
    if length > MAX_BODY or any(k == b"transfer-encoding" for k, _ in headers):
        raise ValueError("body too large or chunked")
    body = await reader.readexactly(length) if length else b""
    name = ""
    if target.startswith("/") and not target.startswith("/api/") and target.count("/") >= 2:
        name, target = target[1:].split("/", 1)
        target = "/" + target
    return Request(method, target, headers, body, name)


def _head(status: int, headers: list[tuple[bytes, bytes]], length: int | None) -> bytes:
    reason = {200: "OK", 502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Status")
    lines = [f"HTTP/1.1 {status} {reason}".encode()]
    lines += [k + b": " + v for k, v in headers]
    if length is not None:
        lines.append(b"content-length: " + str(length).encode())
    lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _abort(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        writer.close()
