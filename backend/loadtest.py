"""`python -m backend.loadtest`: simulated painters against a loopback server, bounded in time and count.

Painters alternate between two kinds:
- even-numbered painters click Generate: `POST /translate` with an edited landscape label map, then think;
- odd-numbered painters paint live over `/ws`: each stroke sends a frame per display refresh without waiting
  for answers (faster than a real model answers on CPU; `--frame-ms 0` sends bursts), so the server must
  drop superseded frames (latest wins); then it waits for the answer to the stroke's last frame and lifts the pen.
A probe polls `/healthz` every 100 ms throughout. Without --url the server runs in this process on the
weights folder; with --url its memory is measured only when --pid names its process.

Behind a load balancer a replica may go away mid-run. A Generate click that fails to reach a server (or gets
502/503/504) is tried once more a second later, as a painter would click again; the retry is counted, and
only a failed retry is an error. A live painter whose socket closes reconnects as the page does (after 0.5 s,
doubling up to 8 s), sends its config again and then its latest drawing; reconnections are counted.

Goals (--check makes a missed goal exit 1): zero errors, /healthz p99 under 100 ms, server memory growth
under 50 MB, and every live painter received the answer to the last frame of every stroke.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import psutil
from PIL import Image
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from backend.app import create_app, load_engine
from backend.imaging import encode_png
from backend.local_server import serve_in_background
from backend.logs import configure_logging
from backend.security import API_KEY_HEADER
from backend.settings import MEGABYTE, Settings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PROBE_INTERVAL_S = 0.1
FRAME_MS = 1000 / 60  # one pointer move per display frame
STROKE_FRAMES = (8, 30)
THINK_S = (0.2, 1.0)  # between Generate clicks
PEN_UP_S = (0.2, 0.8)  # between strokes
REQUEST_TIMEOUT_S = 60.0
HEALTHZ_TIMEOUT_S = 5.0
LATEST_FRAME_TIMEOUT_S = 30.0
RETRY_AFTER_S = 1.0
RETRY_STATUSES = (502, 503, 504)  # the balancer had no replica to give, or the replica went away
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.5, 8.0  # frontend/js/connection.js
SCENE_COUNT = 6
MAX_PAINTERS = 256
MAX_DURATION_S = 3600.0
GOAL_HEALTHZ_P99_MS = 100.0
GOAL_MEMORY_GROWTH_MB = 50.0


class LoadTestError(Exception):
    """A reason the load test cannot run (no usable model, server unreachable)."""


def require_loopback(url: str) -> str:
    """The URL without a trailing slash; ValueError unless it is http(s) on a loopback address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    host = parts.hostname
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False  # a name other than localhost could resolve anywhere
        if not loopback:
            raise ValueError(f"refusing {url}: the load test only targets loopback addresses "
                             "(localhost, 127.0.0.0/8, ::1)")
    return url.rstrip("/")


@dataclass
class Limits:
    """The run's bounds: a deadline and a budget of requests (translate requests plus frames sent)."""

    deadline: float
    max_requests: int
    used: int = 0

    def open(self) -> bool:
        return time.monotonic() < self.deadline and self.used < self.max_requests

    def take(self) -> bool:
        if not self.open():
            return False
        self.used += 1
        return True

    def remaining_s(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


@dataclass
class Tally:
    translate_ms: list[float] = field(default_factory=list)
    frame_ms: list[float] = field(default_factory=list)
    healthz_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    translate_requests: int = 0
    translate_retries: int = 0
    ws_reconnects: int = 0
    frames_sent: int = 0
    frames_answered: int = 0
    strokes: int = 0
    strokes_with_latest_answered: int = 0


@dataclass(frozen=True)
class Target:
    """The model the painters use and what they send it."""

    model_id: str
    has_style: bool
    scenes: list[bytes]  # edited landscapes, for Generate clicks
    strokes: list[list[bytes]]  # per scene, the frames of one brush stroke painted across it


def _class_ids(label_set: dict[str, Any]) -> dict[str, int]:
    """Ids for the landscape roles, by class name where the label set has it, else its first classes."""
    classes = label_set["classes"]
    by_name = {c["name"]: c["id"] for c in classes}
    roles = ("sky", "mountain", "grass", "water", "tree")
    return {role: by_name.get(role, classes[index % len(classes)]["id"]) for index, role in enumerate(roles)}


def landscape(ids: dict[str, int], side: int, rng: np.random.Generator) -> np.ndarray:
    """A plausible painting: sky over a mountain ridge, grass below the horizon, a pond."""
    y, x = np.mgrid[0:side, 0:side]
    horizon = side * rng.uniform(0.4, 0.55)
    ridge = horizon - side * 0.2 * (1 + np.sin(x / side * rng.uniform(4, 9) + rng.uniform(0, 2 * np.pi))) / 2
    scene = np.full((side, side), ids["sky"], np.uint8)
    scene[y >= ridge] = ids["mountain"]
    scene[y >= horizon] = ids["grass"]
    centre_x, centre_y = side * rng.uniform(0.25, 0.75), side * rng.uniform(0.7, 0.85)
    pond = ((x - centre_x) / (side * 0.2)) ** 2 + ((y - centre_y) / (side * 0.07)) ** 2 <= 1
    scene[pond] = ids["water"]
    return scene


def stroke_frames(scene: np.ndarray, brush_id: int, frames: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The canvas after each step of a brush dragged in a straight line: each frame adds one dab."""
    side = scene.shape[0]
    start, end = rng.uniform(0.1, 0.9, 2) * side, rng.uniform(0.1, 0.9, 2) * side
    radius = side * 0.04
    y, x = np.mgrid[0:side, 0:side]
    canvas = scene.copy()
    steps = []
    for t in np.linspace(0, 1, frames):
        cx, cy = start + t * (end - start)
        canvas[(x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2] = brush_id
        steps.append(canvas.copy())
    return steps


def make_target(models: dict[str, Any], seed: int) -> Target:
    """Frames for the default model, or the first ready label-map model; LoadTestError when there is none."""
    ready = [m for m in models["models"] if m["state"] == "ready" and m.get("input_kind") == "labels"]
    if not ready:
        failed = [f"{m['id']} ({m['error']})" for m in models["models"] if m["state"] == "failed"]
        detail = f"; failed: {', '.join(failed)}" if failed else ""
        raise LoadTestError("no label-map model is loaded: the load test needs a ready SPADE or pix2pix labels "
                            f"model (export one into the weights folder){detail}")
    model = next((m for m in ready if m["id"] == models["default_model"]), ready[0])
    rng = np.random.default_rng(seed)
    ids = _class_ids(model["label_set"])
    side = model["size"]
    scenes, strokes = [], []
    for _ in range(SCENE_COUNT):
        scene = landscape(ids, side, rng)
        steps = stroke_frames(scene, ids["tree"], STROKE_FRAMES[1], rng)
        scenes.append(encode_png(Image.fromarray(steps[-1])))
        strokes.append([encode_png(Image.fromarray(step)) for step in steps])
    return Target(model_id=model["id"], has_style=model.get("z_dim") is not None, scenes=scenes, strokes=strokes)


def _elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


async def post_translate(http: httpx.AsyncClient, form: dict[str, str], drawing: bytes) -> str | None:
    """None when the answer is a picture, else what went wrong (an error kind)."""
    try:
        response = await http.post("/translate", data=form, files={"image": ("drawing.png", drawing, "image/png")})
    except httpx.HTTPError as exc:
        return f"translate_{type(exc).__name__}"
    if response.status_code != 200:
        return f"translate_http_{response.status_code}"
    return None if response.content.startswith(PNG_SIGNATURE) else "translate_not_png"


async def click_generate(base_url: str, target: Target, limits: Limits, tally: Tally,
                         rng: np.random.Generator, headers: dict[str, str]) -> None:
    """A painter who edits, clicks Generate, looks at the picture, and edits again."""
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S,
                                 trust_env=False) as http:
        while limits.take():
            form = {"model": target.model_id}
            if target.has_style:
                form["seed"] = str(int(rng.integers(0, 1000)))
            drawing = target.scenes[int(rng.integers(len(target.scenes)))]
            tally.translate_requests += 1
            start = time.perf_counter()
            error = await post_translate(http, form, drawing)
            if error is not None and (not error.startswith("translate_http_")
                                      or int(error.rsplit("_", 1)[1]) in RETRY_STATUSES):
                tally.translate_retries += 1
                await asyncio.sleep(RETRY_AFTER_S)
                error = await post_translate(http, form, drawing)
            if error is None:
                tally.translate_ms.append(_elapsed_ms(start))  # as the painter waited, the retry included
            else:
                tally.errors[error] += 1
            await asyncio.sleep(min(rng.uniform(*THINK_S), limits.remaining_s()))


class LiveSession:
    """The client side of one painter's socket: frame send times, and the newest reply seen."""

    def __init__(self, socket: ClientConnection, tally: Tally) -> None:
        self.socket = socket
        self.tally = tally
        self.sent_at: dict[int, float] = {}
        self.last_sent = 0
        self.latest_reply = 0
        self.latest_result = 0
        self.closed = False
        self.changed = asyncio.Event()
        self.receiver: asyncio.Task | None = None

    async def send(self, frame: bytes) -> None:
        self.last_sent += 1
        self.sent_at[self.last_sent] = time.perf_counter()
        self.tally.frames_sent += 1
        await self.socket.send(frame)

    async def receive(self) -> None:
        """Read replies until the socket closes: each result is a PNG followed by its JSON line."""
        image: bytes | None = None
        try:
            async for message in self.socket:
                if isinstance(message, bytes):
                    image = message
                    continue
                try:
                    reply = json.loads(message)
                except ValueError:
                    self.tally.errors["ws_malformed_message"] += 1
                    continue
                frame = reply.get("frame")
                if reply.get("type") == "result" and isinstance(frame, int):
                    if image is None or not image.startswith(PNG_SIGNATURE):
                        self.tally.errors["ws_result_without_png"] += 1
                    elif frame not in self.sent_at:
                        self.tally.errors["ws_result_for_unknown_frame"] += 1
                    else:
                        self.tally.frame_ms.append(_elapsed_ms(self.sent_at[frame]))
                        self.tally.frames_answered += 1
                        self.latest_result = frame
                elif reply.get("type") == "error":
                    self.tally.errors[f"ws_error_{reply.get('status')}"] += 1
                else:
                    self.tally.errors["ws_unexpected_message"] += 1
                if isinstance(frame, int):
                    # Older frames can no longer be answered: latest wins.
                    self.sent_at = {n: t for n, t in self.sent_at.items() if n > frame}
                    self.latest_reply = max(self.latest_reply, frame)
                image = None
                self.changed.set()
        except ConnectionClosed:
            pass  # the painter reconnects
        finally:
            self.closed = True
            self.changed.set()

    async def latest_answered(self, timeout_s: float) -> bool:
        """Wait for the reply to the last frame sent; True when it was a picture."""
        async def replied() -> None:
            while self.latest_reply < self.last_sent and not self.closed:
                self.changed.clear()
                await self.changed.wait()

        try:
            await asyncio.wait_for(replied(), timeout_s)
        except asyncio.TimeoutError:
            return False
        return self.latest_result == self.last_sent


class Refused(Exception):
    """The server answered the config with something else than its acceptance."""


async def open_session(url: str, target: Target, tally: Tally, headers: dict[str, str]) -> LiveSession:
    """Connect, send the config and wait for its acceptance, as the page does on every (re)connection."""
    socket = await connect(url, additional_headers=headers, max_size=None, proxy=None, open_timeout=REQUEST_TIMEOUT_S)
    try:
        await socket.send(json.dumps({"type": "config", "model": target.model_id}))
        reply = json.loads(await asyncio.wait_for(socket.recv(), REQUEST_TIMEOUT_S))
    except BaseException:
        await socket.close()
        raise
    if reply.get("type") != "config":
        await socket.close()
        raise Refused(str(reply)[:200])
    session = LiveSession(socket, tally)
    session.receiver = asyncio.create_task(session.receive())
    return session


async def close_session(session: LiveSession) -> None:
    session.receiver.cancel()
    try:
        await session.receiver
    except asyncio.CancelledError:
        pass
    await session.socket.close()


async def reopen_session(url: str, target: Target, tally: Tally, headers: dict[str, str]) -> LiveSession | None:
    """The page's reconnection: wait 0.5 s, doubling to 8 s, until a server accepts; None after
    LATEST_FRAME_TIMEOUT_S."""
    wait_s, deadline = RECONNECT_MIN_S, time.monotonic() + LATEST_FRAME_TIMEOUT_S
    while time.monotonic() + wait_s < deadline:
        await asyncio.sleep(wait_s)
        try:
            session = await open_session(url, target, tally, headers)
        except (OSError, asyncio.TimeoutError, WebSocketException, Refused):
            wait_s = min(wait_s * 2, RECONNECT_MAX_S)
            continue
        tally.ws_reconnects += 1
        return session
    return None


async def paint_live(base_url: str, target: Target, limits: Limits, tally: Tally, rng: np.random.Generator,
                     headers: dict[str, str], frame_interval_s: float) -> bool:
    """A painter drawing strokes on the live canvas; True when every stroke's last frame was answered."""
    url = base_url.replace("http", "ws", 1) + "/ws"
    try:
        session = await open_session(url, target, tally, headers)
    except Refused:
        tally.errors["ws_config_refused"] += 1
        return False
    except (OSError, asyncio.TimeoutError, WebSocketException) as exc:
        tally.errors[f"ws_{type(exc).__name__}"] += 1
        return False

    async def send(drawing: bytes) -> bool:
        """Send a frame, reconnecting first when the socket has closed; False when no server takes it."""
        nonlocal session
        while True:
            if not session.closed:
                try:
                    await session.send(drawing)
                    return True
                except ConnectionClosed:
                    pass
            await close_session(session)
            reopened = await reopen_session(url, target, tally, headers)
            if reopened is None:
                return False
            session = reopened

    every_latest = True
    while limits.open():
        stroke = target.strokes[int(rng.integers(len(target.strokes)))]
        length = int(rng.integers(STROKE_FRAMES[0], STROKE_FRAMES[1] + 1))
        sent, connected = 0, True
        for drawing in stroke[:length]:
            if not limits.take():
                break
            connected = await send(drawing)
            if not connected:
                break
            sent += 1
            await asyncio.sleep(frame_interval_s)
        if sent == 0:
            break
        tally.strokes += 1
        # A socket that closes before the answer: reconnect and send the latest drawing again, as the page does.
        while connected and not await session.latest_answered(LATEST_FRAME_TIMEOUT_S) and session.closed:
            connected = await send(stroke[sent - 1])
        if connected and session.latest_result == session.last_sent:
            tally.strokes_with_latest_answered += 1
        else:
            tally.errors["ws_latest_frame_unanswered" if connected else "ws_reconnect_failed"] += 1
            every_latest = False
            if not connected:
                break
        await asyncio.sleep(min(rng.uniform(*PEN_UP_S), limits.remaining_s()))
    await close_session(session)
    return every_latest


async def probe_health(base_url: str, tally: Tally, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=HEALTHZ_TIMEOUT_S, trust_env=False) as http:
        while not stop.is_set():
            start = time.perf_counter()
            try:
                response = await http.get("/healthz")
            except httpx.HTTPError as exc:
                tally.errors[f"healthz_{type(exc).__name__}"] += 1
            else:
                if response.status_code == 200:
                    tally.healthz_ms.append(_elapsed_ms(start))
                else:
                    tally.errors[f"healthz_http_{response.status_code}"] += 1
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, PROBE_INTERVAL_S - (time.perf_counter() - start)))
            except asyncio.TimeoutError:
                pass


async def drive(base_url: str, target: Target, painters: int, duration_s: float, max_requests: int,
                frame_ms: float, seed: int, headers: dict[str, str]) -> tuple[Tally, list[bool], float]:
    """Run the painters and the probe; returns the tally, each live painter's verdict and the seconds taken."""
    tally = Tally()
    limits = Limits(deadline=time.monotonic() + duration_s, max_requests=max_requests)
    stop = asyncio.Event()
    probe = asyncio.create_task(probe_health(base_url, tally, stop))
    generators, live = [], []
    for index in range(painters):
        rng = np.random.default_rng([seed, index])
        if index % 2 == 0:
            generators.append(click_generate(base_url, target, limits, tally, rng, headers))
        else:
            live.append(paint_live(base_url, target, limits, tally, rng, headers, frame_ms / 1000))
    start = time.perf_counter()
    results = await asyncio.gather(*generators, *live)
    elapsed = time.perf_counter() - start
    stop.set()
    await probe
    return tally, list(results[len(generators):]), elapsed


def _latency(samples_ms: list[float]) -> dict[str, float] | None:
    if not samples_ms:
        return None
    return {f"p{q}_ms": round(float(np.percentile(samples_ms, q)), 2) for q in (50, 95, 99)} | {
        "max_ms": round(max(samples_ms), 2)}


def _rss_mb(process: psutil.Process | None) -> float | None:
    if process is None:
        return None
    gc.collect()  # with the server in this process, count what it still references, not its garbage
    return round(process.memory_info().rss / MEGABYTE, 1)


def warm_up(base_url: str, target: Target, headers: dict[str, str]) -> None:
    """One request and one frame before the baseline, so one-time allocations do not count as growth."""
    with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S, trust_env=False) as http:
        response = http.post("/translate", data={"model": target.model_id},
                             files={"image": ("drawing.png", target.scenes[0], "image/png")})
    if response.status_code != 200:
        raise LoadTestError(f"warm-up POST /translate answered {response.status_code}: {response.text[:200]}")

    async def one_frame() -> None:
        url = base_url.replace("http", "ws", 1) + "/ws"
        async with connect(url, additional_headers=headers, max_size=None, proxy=None) as socket:
            await socket.send(target.scenes[0])
            picture = await asyncio.wait_for(socket.recv(), REQUEST_TIMEOUT_S)
            if not isinstance(picture, bytes):
                raise LoadTestError(f"warm-up frame over /ws was answered with {picture[:200]}")
            await asyncio.wait_for(socket.recv(), REQUEST_TIMEOUT_S)

    try:
        asyncio.run(one_frame())
    except (OSError, asyncio.TimeoutError, WebSocketException) as exc:
        raise LoadTestError(f"warm-up frame over /ws failed: {exc!r}") from None


def measure(base_url: str, server: psutil.Process | None, painters: int, duration_s: float, max_requests: int,
            frame_ms: float, seed: int, api_key: str | None) -> dict[str, Any]:
    headers = {API_KEY_HEADER: api_key} if api_key else {}
    try:
        models = httpx.get(f"{base_url}/models", timeout=REQUEST_TIMEOUT_S, trust_env=False)
        models.raise_for_status()
        target = make_target(models.json(), seed)
        warm_up(base_url, target, headers)
    except httpx.HTTPError as exc:
        raise LoadTestError(f"{base_url} did not answer as the painter server does: {exc}") from None
    memory_before = _rss_mb(server)
    tally, live_verdicts, elapsed = asyncio.run(
        drive(base_url, target, painters, duration_s, max_requests, frame_ms, seed, headers))
    memory_after = _rss_mb(server)
    return build_report(base_url, target.model_id, painters, {"duration_s": duration_s, "max_requests": max_requests,
                        "frame_ms": round(frame_ms, 2)}, tally, live_verdicts, elapsed, memory_before, memory_after)


def build_report(base_url: str, model_id: str, painters: int, limits: dict[str, float], tally: Tally,
                 live_verdicts: list[bool], elapsed_s: float, memory_before: float | None,
                 memory_after: float | None) -> dict[str, Any]:
    growth = None if memory_before is None or memory_after is None else round(memory_after - memory_before, 1)
    healthz = _latency(tally.healthz_ms)
    goals = {
        "zero_errors": not tally.errors,
        "healthz_p99_under_100ms": healthz is not None and healthz["p99_ms"] < GOAL_HEALTHZ_P99_MS,
        "memory_growth_under_50mb": None if growth is None else growth < GOAL_MEMORY_GROWTH_MB,
        "every_ws_painter_got_latest_frame": all(live_verdicts),
    }
    return {
        "url": base_url,
        "model": model_id,
        "painters": {"translate": painters - len(live_verdicts), "websocket": len(live_verdicts)},
        "limits": limits,
        "elapsed_s": round(elapsed_s, 2),
        "translate": {"requests": tally.translate_requests, "ok": len(tally.translate_ms),
                      "retries": tally.translate_retries,
                      "per_s": round(len(tally.translate_ms) / elapsed_s, 2), "latency": _latency(tally.translate_ms)},
        "websocket": {"frames_sent": tally.frames_sent, "frames_answered": tally.frames_answered,
                      "frames_superseded": tally.frames_sent - tally.frames_answered,
                      "answered_per_s": round(tally.frames_answered / elapsed_s, 2),
                      "latency": _latency(tally.frame_ms), "strokes": tally.strokes,
                      "strokes_with_latest_answered": tally.strokes_with_latest_answered,
                      "painters_with_every_latest_frame": sum(live_verdicts), "reconnects": tally.ws_reconnects},
        "healthz": {"probes": len(tally.healthz_ms), "latency": healthz},
        "errors": dict(sorted(tally.errors.items())),
        "memory_mb": {"before": memory_before, "after": memory_after, "growth": growth},
        "goals": goals,
        "passed": all(met is not False for met in goals.values()),
    }


def run_load_test(url: str | None, weights: Path | None, painters: int, duration_s: float, max_requests: int,
                  frame_ms: float = FRAME_MS, seed: int = 0, api_key: str | None = None,
                  pid: int | None = None) -> dict[str, Any]:
    """Against `url` (loopback only), or a server started in this process on `weights`."""
    if url is not None:
        server = psutil.Process(pid) if pid is not None else None
        return measure(require_loopback(url), server, painters, duration_s, max_requests, frame_ms, seed, api_key)
    settings = Settings(**({"weights_dir": weights} if weights is not None else {}), log_level="WARNING")
    configure_logging(settings.log_level)  # before loading, so per-model load lines stay quiet
    engine = load_engine(settings)
    with serve_in_background(create_app(settings, engine), ws_max_size=settings.max_ws_message_bytes) as base_url:
        return measure(base_url, psutil.Process(), painters, duration_s, max_requests, frame_ms, seed,
                       api_key or (settings.api_key.get_secret_value() if settings.api_key else None))


def _row(name: str, latency: dict[str, float] | None) -> str:
    if latency is None:
        return f"{name:22} no samples"
    return f"{name:22} " + "  ".join(f"{key[:-3]} {value:8.2f} ms" for key, value in latency.items())


def print_report(report: dict[str, Any]) -> None:
    translate, ws, memory = report["translate"], report["websocket"], report["memory_mb"]
    print(f"{report['url']}  model {report['model']}  painters {report['painters']['translate']} Generate + "
          f"{report['painters']['websocket']} live  for {report['elapsed_s']} s")
    print(f"translate   {translate['ok']}/{translate['requests']} ok ({translate['retries']} retried), "
          f"{translate['per_s']} req/s")
    print(f"websocket   {ws['frames_answered']}/{ws['frames_sent']} frames answered ({ws['frames_superseded']} "
          f"superseded), {ws['answered_per_s']} frames/s; latest frame answered in "
          f"{ws['strokes_with_latest_answered']}/{ws['strokes']} strokes; {ws['reconnects']} reconnections")
    print(_row("translate latency", translate["latency"]))
    print(_row("ws frame latency", ws["latency"]))
    print(_row(f"healthz ({report['healthz']['probes']})", report["healthz"]["latency"]))
    print("errors      " + (", ".join(f"{kind} {count}" for kind, count in report["errors"].items()) or "none"))
    if memory["growth"] is None:
        print("memory      not measured (give --pid with --url)")
    else:
        print(f"memory      {memory['before']} MB -> {memory['after']} MB (growth {memory['growth']} MB)")
    for goal, met in report["goals"].items():
        print(f"goal {goal:36} {'not measured' if met is None else 'met' if met else 'MISSED'}")


def _bounded(low: float, high: float, kind: type):
    def parse(text: str):
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value
    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.loadtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", help="a running server on a loopback address, e.g. http://127.0.0.1:8000")
    where.add_argument("--weights", type=Path,
                       help="start the server in this process on this folder (default: WEIGHTS_DIR or <repo>/weights)")
    parser.add_argument("--painters", type=_bounded(1, MAX_PAINTERS, int), default=16)
    parser.add_argument("--duration", type=_bounded(0.1, MAX_DURATION_S, float), default=60.0, help="seconds")
    parser.add_argument("--max-requests", type=_bounded(1, 10_000_000, int), default=100_000,
                        help="stop after this many translate requests plus frames sent")
    parser.add_argument("--frame-ms", type=_bounded(0, 1000, float), default=FRAME_MS,
                        help="gap between a live painter's frames (default: 60 a second; 0 sends bursts)")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, to measure its memory")
    parser.add_argument("--api-key", default=os.environ.get("API_KEY") or None,
                        help="sent as X-API-Key (default: env API_KEY)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the drawings and the painters' timing")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    if args.url is not None:
        try:
            require_loopback(args.url)
        except ValueError as exc:
            parser.error(str(exc))
    elif args.pid is not None:
        parser.error("--pid only applies with --url (an in-process server is measured directly)")
    try:
        report = run_load_test(args.url, args.weights, args.painters, args.duration, args.max_requests,
                               args.frame_ms, args.seed, args.api_key, args.pid)
    except (LoadTestError, psutil.Error) as exc:
        print(f"python -m backend.loadtest: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 1 if args.check and not report["passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
