"""What the page downloads to run the models itself (device mode): the manifest and the files it names."""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.requests import HTTPConnection

from backend.device import DeviceBundle, DeviceManifest
from backend.errors import ApiError, error_responses
from backend.revalidated import NOT_MODIFIED, IfNoneMatch, revalidated

router = APIRouter(tags=["device"])
FILE_TYPES = {"application/octet-stream": {}, "image/jpeg": {}, "image/png": {}, "image/webp": {}}


def get_device_bundle(connection: HTTPConnection) -> DeviceBundle:
    return connection.app.state.device_bundle


BundleDep = Annotated[DeviceBundle, Depends(get_device_bundle)]


@router.get("/device/manifest.json", response_model=DeviceManifest, responses={**NOT_MODIFIED})
async def device_manifest(bundle: BundleDep, if_none_match: IfNoneMatch = None) -> Response:
    """The ready models with their cards and file URLs (relative to the page), the default and the filters.
    Server-only models are listed with the reason, so the page can say why it cannot run them."""
    return revalidated(bundle.manifest_json, bundle.manifest_sha256, "application/json", if_none_match)


@router.get("/device/files/{name}", response_class=Response,
            responses={200: {"content": FILE_TYPES, "description": "The file, with ETag = its sha256."},
                       **NOT_MODIFIED, **error_responses(404)})
async def device_file(name: str, bundle: BundleDep, if_none_match: IfNoneMatch = None) -> Response:
    """A file the manifest names, found through the bundle only (never a path from the URL)."""
    file = bundle.files.get(name)
    if file is None:
        raise ApiError(404, f"no device file {name!r}; device/manifest.json lists the files")
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return revalidated(file.path, file.sha256, media_type, if_none_match)
