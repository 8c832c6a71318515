"""`python -m backend.export_static DIR [--weights DIR] [--models ID ...] [--force]`: the painter as a static
site, served by any static host with no server code.

DIR gets the page (frontend/), the onnxruntime-web files it loads (vendor/onnxruntime-web/), the device
manifest and files of every model the page can run (device/, built by the code behind the server's /device
routes) and `_headers`, the cross-origin isolation headers in the format of Netlify and Cloudflare Pages.
Server-only models are left out. docs/static-site.md has the headers for other hosts.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from backend.device import build_bundle
from backend.engine import InferenceEngine
from backend.isolation import ISOLATION_HEADERS, SERVICE_WORKER_HEADERS, SERVICE_WORKER_PATH
from backend.routes.vendor import not_installed
from backend.settings import Settings

VENDOR_URL = "vendor/onnxruntime-web/"
VENDOR_REFERENCE = re.compile(re.escape(VENDOR_URL) + r"([A-Za-z0-9][A-Za-z0-9._-]*)")
# A WebAssembly build or its loader, named inside a bundle or loader that the page loads.
RUNTIME_REFERENCE = re.compile(r"ort-wasm[A-Za-z0-9._-]*\.(?:mjs|wasm)")
PAGE_SOURCES = ("*.js", "*.mjs", "*.html")


class ExportError(Exception):
    """Why nothing was exported; the command prints it and exits with status 2."""


@dataclass
class ExportReport:
    written: list[tuple[str, int]] = field(default_factory=list)  # (path inside DIR, bytes)
    omitted: list[tuple[str, str]] = field(default_factory=list)  # (model id, why)

    def add(self, target: Path, root: Path) -> None:
        self.written.append((target.relative_to(root).as_posix(), target.stat().st_size))


def page_vendor_names(frontend_dir: Path) -> set[str]:
    """The names of the files the page's sources load from vendor/onnxruntime-web/ (the Dockerfile copies them)."""
    named = set()
    for pattern in PAGE_SOURCES:
        for source in frontend_dir.rglob(pattern):
            named.update(VENDOR_REFERENCE.findall(source.read_text(encoding="utf-8", errors="replace")))
    return named


def vendor_files(frontend_dir: Path, vendor_dir: Path) -> list[Path]:
    """The runtime files the page loads: those its sources name under vendor/onnxruntime-web/, and the
    WebAssembly builds and loaders those name in turn. The package's other builds (about 47 MB in 1.31) are
    never fetched by the bundles the page imports, so they are not shipped."""
    named = page_vendor_names(frontend_dir)
    if not named:
        return []
    if not vendor_dir.is_dir():
        raise ExportError(not_installed(vendor_dir))
    if missing := sorted(name for name in named if not (vendor_dir / name).is_file()):
        raise ExportError(f"the page loads {', '.join(missing)}, which {vendor_dir} does not have "
                          "(is package-lock.json's onnxruntime-web installed? run `npm ci`)")
    loaded, unread = set(), list(named)
    while unread:
        name = unread.pop()
        if name in loaded:  # two files may name the same one before it is read
            continue
        loaded.add(name)
        if name.endswith(".mjs"):
            text = (vendor_dir / name).read_text(encoding="utf-8", errors="replace")
            unread += [side for side in set(RUNTIME_REFERENCE.findall(text)) - loaded
                       if (vendor_dir / side).is_file()]
    return sorted(vendor_dir / name for name in loaded)


def headers_file() -> str:
    """`_headers` (Netlify, Cloudflare Pages): isolation for every path, the worker's own headers for sw.js."""
    lines = ["/*", *(f"  {name}: {value}" for name, value in ISOLATION_HEADERS.items()),
             SERVICE_WORKER_PATH, *(f"  {name}: {value}" for name, value in SERVICE_WORKER_HEADERS.items())]
    return "\n".join(lines) + "\n"


def _copy(source: Path, target: Path, root: Path, report: ExportReport) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    report.add(target, root)


def export_site(target: Path, engine: InferenceEngine, settings: Settings,
                model_ids: list[str] | None = None) -> ExportReport:
    """Write the static site into `target` (created if needed) from the engine's ready models."""
    try:
        bundle = build_bundle(engine, settings.weights_dir, with_server_only=False, model_ids=model_ids)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    report = ExportReport(omitted=[(m.id, m.card.server_only) for m in engine.ready_models()
                                   if m.card.server_only is not None and (model_ids is None or m.id in model_ids)])
    if not bundle.manifest.models:
        why = "the chosen models run on the server only" if report.omitted else f"none is ready in {settings.weights_dir}"
        raise ExportError(f"no model to export: {why}")
    if not (settings.frontend_dir / "index.html").is_file():
        raise ExportError(f"the painter page is missing: {settings.frontend_dir / 'index.html'}")
    runtime = vendor_files(settings.frontend_dir, settings.vendor_dir)

    target.mkdir(parents=True, exist_ok=True)
    for source in sorted(p for p in settings.frontend_dir.rglob("*") if p.is_file()):
        _copy(source, target / source.relative_to(settings.frontend_dir), target, report)
    for source in runtime:
        _copy(source, target / VENDOR_URL / source.name, target, report)
    for name, file in sorted(bundle.files.items()):
        _copy(file.path, target / "device" / "files" / name, target, report)
    for relative, content in [("device/manifest.json", bundle.manifest_json), ("_headers", headers_file().encode())]:
        (target / relative).write_bytes(content)
        report.add(target / relative, target)
    return report


def human_size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"


def print_report(target: Path, report: ExportReport) -> None:
    for model_id, reason in report.omitted:
        print(f"omitted {model_id}: server only ({reason})")
    print(f"wrote {target}:")
    width = max(len(path) for path, _ in report.written)
    for path, size in report.written:
        print(f"  {path:<{width}}  {human_size(size):>9}")
    total = sum(size for _, size in report.written)
    print(f"total {human_size(total)} in {len(report.written)} files")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m backend.export_static", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path, help="the folder to write (must be empty or missing, unless --force)")
    parser.add_argument("--weights", type=Path, help="folder of ONNX models and cards (env WEIGHTS_DIR)")
    parser.add_argument("--models", nargs="+", metavar="ID", help="export only these models (default: every ready one)")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty DIR, replacing files of the same names")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.dir.exists() and not args.dir.is_dir():
        print(f"error: {args.dir} is not a folder", file=sys.stderr)
        return 2
    if args.dir.is_dir() and any(args.dir.iterdir()) and not args.force:
        print(f"error: {args.dir} is not empty; choose an empty folder or pass --force", file=sys.stderr)
        return 2
    settings = Settings(**({"weights_dir": args.weights} if args.weights is not None else {}))
    engine = InferenceEngine.load(settings.weights_dir, settings.intra_op_threads, max_concurrent_runs=1)
    for failed in (m for m in engine.models.values() if not m.ready):
        print(f"skipped {failed.id}: it failed to load: {failed.error}", file=sys.stderr)
    try:
        report = export_site(args.dir, engine, settings, args.models)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_report(args.dir, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
