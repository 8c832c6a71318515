"""onnxruntime-web's browser runtime, which the page loads to run the models itself (device mode).

The files come from the npm package (`npm ci` installs the version package-lock.json pins) in VENDOR_DIR;
only plain file names directly inside that folder are served.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from backend.engine import file_sha256
from backend.errors import ApiError, error_responses
from backend.revalidated import NOT_MODIFIED, IfNoneMatch, revalidated
from backend.routes.deps import SettingsDep
from backend.settings import Settings

log = logging.getLogger("backend.vendor")
router = APIRouter(tags=["device"])
MEDIA_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
               ".map": "application/json"}
PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def not_installed(folder: Path) -> str:
    return (f"onnxruntime-web is not installed ({folder} is missing): run `npm ci` in the repository, "
            "or point VENDOR_DIR at the package's dist folder")


def warn_if_not_installed(settings: Settings) -> None:
    """One warning at start-up: the page still paints through the server, but not on the device."""
    if not settings.vendor_dir.is_dir():
        log.warning("%s; the painter can only paint on the server", not_installed(settings.vendor_dir))


@lru_cache(maxsize=64)
def _sha256(path: Path, mtime_ns: int, size: int) -> str:
    # Keyed by modification time and size too, so a reinstalled package is hashed again.
    return file_sha256(path)


@router.get("/vendor/onnxruntime-web/{file}", response_class=Response,
            responses={200: {"content": {media: {} for media in sorted(set(MEDIA_TYPES.values()))},
                             "description": "The runtime file, with ETag = its sha256."},
                       **NOT_MODIFIED, **error_responses(404)})
async def vendor_file(file: str, settings: SettingsDep, if_none_match: IfNoneMatch = None) -> Response:
    """A file of onnxruntime-web's `dist/` folder: the ESM bundles and their `.wasm` / `.mjs` side files."""
    folder = settings.vendor_dir
    if not folder.is_dir():
        raise ApiError(404, not_installed(folder))
    path = folder / file
    media_type = MEDIA_TYPES.get(path.suffix)
    if (not PLAIN_NAME.match(file) or media_type is None or not path.is_file()
            or path.resolve().parent != folder.resolve()):
        raise ApiError(404, f"no file {file!r} in onnxruntime-web's dist folder ({', '.join(MEDIA_TYPES)} only)")
    stat = path.stat()
    sha256 = await run_in_threadpool(_sha256, path, stat.st_mtime_ns, stat.st_size)
    return revalidated(path, sha256, media_type, if_none_match)
