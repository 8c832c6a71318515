"""The compose `scale` profile, run for real on a local Docker engine, with a replica stopped under load.

    eval "$(../shared/tools/docker-here start)"
    docker build --network host -t gaugan-painter:cpu .          # once: the image the replicas run
    .venv/bin/python tests/scale/rehearse.py --painters 16 --duration 60 --stop-at 20 --start-at 40

It starts three replicas of the shipped `painter-replica` service on loopback ports 8001-8003 and a balancer
(Debian's nginx with deploy/nginx.conf, the replicas' addresses written in: docker-compose.local-engine.yml
says why), runs `python -m backend.loadtest` against the balancer, stops replica 2 with `docker-compose stop`
(SIGTERM, as a rolling restart or a scale-down does) at --stop-at seconds and starts it again at --start-at.
Each second it reads every replica's /metrics, so the report shows the balancer taking the stopped replica
out of rotation and back in. It prints the load test's report and that timeline as JSON; docs/operations.md
records a run. Not part of `make test`: it needs a Docker engine and the built image.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
COMPOSE = ["docker-compose", "-p", "painter-scale", "-f", str(HERE / "docker-compose.local-engine.yml")]
REPLICAS = {"replica-1": 8001, "replica-2": 8002, "replica-3": 8003}
BALANCER_PORT = 8080
STOPPED = "replica-2"
SERVED = re.compile(r'^gaugan_(?:http_requests_total\{route="/translate"[^}]*\}|ws_frames_total\{[^}]*\}) (\d+)',
                    re.MULTILINE)


def balancer_config() -> str:
    """deploy/nginx.conf with the replicas' loopback addresses in place of Docker's DNS name."""
    shipped = (REPO / "deploy" / "nginx.conf").read_text()
    (line,) = [l for l in shipped.splitlines() if l.strip().startswith("server painter-replica:")]
    servers = "\n".join(line.replace("painter-replica:8000", f"127.0.0.1:{port}") for port in REPLICAS.values())
    return shipped.replace(line, servers).replace("listen 80;", f"listen {BALANCER_PORT};")


def compose(*args: str) -> None:
    subprocess.run([*COMPOSE, *args], check=True, cwd=REPO)


def wait_ready(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} was not ready after {timeout_s} s")


def served(port: int) -> int | None:
    """Generate requests plus live frames this replica has answered since it started; None when it is down."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2, trust_env=False).text
    except httpx.HTTPError:
        return None
    return sum(int(n) for n in SERVED.findall(text))


def sample_replicas(timeline: list[dict], stop: threading.Event, started: float) -> None:
    """About every second (reading /metrics takes a while under load): what each replica served since the
    last sample (None: down)."""
    last = {name: served(port) or 0 for name, port in REPLICAS.items()}
    while not stop.wait(1.0):
        row = {"t": round(time.monotonic() - started)}
        for name, port in REPLICAS.items():
            now = served(port)
            # A restarted replica counts from zero again.
            row[name] = None if now is None else now - last[name] if now >= last[name] else now
            last[name] = now if now is not None else 0
        timeline.append(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--painters", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--stop-at", type=float, default=20)
    parser.add_argument("--start-at", type=float, default=40)
    parser.add_argument("--keep", action="store_true", help="leave the containers running afterwards")
    args = parser.parse_args()

    conf = Path(tempfile.mkdtemp(prefix="painter-scale-")) / "nginx.conf"
    conf.write_text(balancer_config())
    os.environ["BALANCER_CONF"] = str(conf)  # docker-compose.local-engine.yml mounts it
    os.environ.setdefault("COMPOSE_HTTP_TIMEOUT", "600")  # vfs copies the whole image for each container
    compose("up", "-d", "--no-build", *REPLICAS)
    compose("up", "-d", "--build", "load-balancer")
    for port in (*REPLICAS.values(), BALANCER_PORT):
        wait_ready(f"http://127.0.0.1:{port}")

    command = [sys.executable, "-m", "backend.loadtest", "--url", f"http://127.0.0.1:{BALANCER_PORT}",
               "--painters", str(args.painters), "--duration", str(args.duration), "--json"]
    timeline: list[dict] = []
    events: list[dict] = []
    stop = threading.Event()
    started = time.monotonic()
    sampler = threading.Thread(target=sample_replicas, args=(timeline, stop, started))
    sampler.start()
    load = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        for at, action in ((args.stop_at, "stop"), (args.start_at, "start")):
            time.sleep(max(0.0, at - (time.monotonic() - started)))
            begun = time.monotonic() - started
            compose(action, STOPPED)
            events.append({"action": f"{action} {STOPPED}", "t": round(begun, 1),
                           "took_s": round(time.monotonic() - started - begun, 1)})
        output, _ = load.communicate(timeout=args.duration + 120)
    finally:
        stop.set()
        sampler.join()
        # What the stopped replica said while it shut down and started again.
        logs = subprocess.run([*COMPOSE, "logs", "--no-color", STOPPED], cwd=REPO, capture_output=True, text=True)
        print(logs.stdout[-20000:], file=sys.stderr)
        if not args.keep:
            compose("down")
    print(json.dumps({"command": " ".join(["python", *command[1:]]), "events": events,
                      "report": json.loads(output), "served_since_last_sample": timeline}, indent=1))


if __name__ == "__main__":
    main()
