"""Files of two npm packages that `npm ci` installs as package-lock.json pins them, served from this server so
nothing is fetched from the internet:

- onnxruntime-web's browser runtime (VENDOR_DIR), which the page loads to run the models itself (device mode);
- Swagger UI (SWAGGER_UI_DIR, the swagger-ui-dist package), which the API's /docs page loads.

Only plain file names directly inside each package's folder, of the listed types, are served.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
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
router = APIRouter()
PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Package:
    name: str  # the npm package
    setting: str  # the Settings field naming its folder
    media_types: dict[str, str]  # file suffix -> media type, the only files served

    def folder(self, settings: Settings) -> Path:
        return getattr(settings, self.setting)

    def not_installed(self, folder: Path) -> str:
        return (f"{self.name} is not installed ({folder} is missing): run `npm ci` in the repository, "
                f"or point {self.setting.upper()} at the package's folder")


ONNXRUNTIME_WEB = Package("onnxruntime-web", "vendor_dir", {
    ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm", ".map": "application/json"})
SWAGGER_UI = Package("swagger-ui-dist", "swagger_ui_dir", {
    ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".map": "application/json"})


def not_installed(folder: Path) -> str:
    """onnxruntime-web's message (export_static uses it too)."""
    return ONNXRUNTIME_WEB.not_installed(folder)


def warn_if_not_installed(settings: Settings) -> None:
    """One warning at start-up for each missing package: the server still works without them."""
    for package, without in ((ONNXRUNTIME_WEB, "the painter can only paint on the server"),
                             (SWAGGER_UI, "/docs cannot show the API")):
        if not package.folder(settings).is_dir():
            log.warning("%s; %s", package.not_installed(package.folder(settings)), without)


def served_files(package: Package, settings: Settings) -> list[str]:
    """The names a package's route serves (for the OpenAPI document)."""
    folder = package.folder(settings)
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir()
                  if path.is_file() and PLAIN_NAME.match(path.name) and path.suffix in package.media_types)


@lru_cache(maxsize=64)
def _sha256(path: Path, mtime_ns: int, size: int) -> str:
    # Keyed by modification time and size too, so a reinstalled package is hashed again.
    return file_sha256(path)


async def _package_file(package: Package, file: str, settings: Settings, if_none_match: str | None) -> Response:
    folder = package.folder(settings)
    if not folder.is_dir():
        raise ApiError(404, package.not_installed(folder))
    path = folder / file
    media_type = package.media_types.get(path.suffix)
    if (not PLAIN_NAME.match(file) or media_type is None or not path.is_file()
            or path.resolve().parent != folder.resolve()):
        raise ApiError(404, f"no file {file!r} in {package.name}'s folder ({', '.join(package.media_types)} only)")
    stat = path.stat()
    sha256 = await run_in_threadpool(_sha256, path, stat.st_mtime_ns, stat.st_size)
    return revalidated(path, sha256, media_type, if_none_match)


@router.get("/vendor/onnxruntime-web/{file}", response_class=Response, tags=["device"],
            responses={200: {"content": {media: {} for media in sorted(set(ONNXRUNTIME_WEB.media_types.values()))},
                             "description": "The runtime file, with ETag = its sha256."},
                       **NOT_MODIFIED, **error_responses(404)})
async def vendor_file(file: str, settings: SettingsDep, if_none_match: IfNoneMatch = None) -> Response:
    """A file of onnxruntime-web's `dist/` folder: the ESM bundles and their `.wasm` / `.mjs` side files."""
    return await _package_file(ONNXRUNTIME_WEB, file, settings, if_none_match)


# Part of the /docs page, which is not in the document either.
@router.get("/vendor/swagger-ui/{file}", response_class=Response, include_in_schema=False)
async def swagger_ui_file(file: str, settings: SettingsDep, if_none_match: IfNoneMatch = None) -> Response:
    """A file of the swagger-ui-dist package, which the /docs page loads."""
    return await _package_file(SWAGGER_UI, file, settings, if_none_match)
