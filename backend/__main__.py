"""`python -m backend [--host] [--port] [--weights DIR]`: load the models, then serve with uvicorn."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from backend.app import create_app, load_engine
from backend.settings import Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m backend", description=__doc__)
    parser.add_argument("--host", help="address to bind (env HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (env PORT, default 8000)")
    parser.add_argument("--weights", type=Path, help="folder of ONNX models and cards (env WEIGHTS_DIR)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    overrides = {"host": args.host, "port": args.port, "weights_dir": args.weights}
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    engine = load_engine(settings)
    ready = engine.ready_models()
    if ready:
        print("models: " + ", ".join(f"{m.id} ({m.card.kind}, {m.latency_ms} ms)" for m in ready), flush=True)
    else:
        print(f"no model loaded — put ONNX models and cards in {settings.weights_dir}", flush=True)
    for failed in (m for m in engine.models.values() if not m.ready):
        print(f"failed: {failed.id}: {failed.error}", flush=True)
    print(f"GauGAN painter on http://{settings.host}:{settings.port}/", flush=True)
    uvicorn.run(create_app(settings, engine), host=settings.host, port=settings.port,
                log_level=settings.log_level.lower(), access_log=False, ws_max_size=settings.max_ws_message_bytes)


if __name__ == "__main__":
    main()
