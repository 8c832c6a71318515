"""Responses the page's service worker revalidates: a strong ETag (the content's sha256), `Cache-Control:
no-cache` (use the cached copy only after asking), and 304 Not Modified when `If-None-Match` names the ETag."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Header
from fastapi.responses import FileResponse, Response

REVALIDATE = "no-cache"
NOT_MODIFIED = {304: {"description": "Not modified: If-None-Match names the current ETag."}}
# The request header, as a route parameter.
IfNoneMatch = Annotated[str | None, Header(description="An ETag the client holds; 304 if it is current.")]


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: a list of entity tags compared weakly, or `*` for any current file."""
    if not if_none_match:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


def revalidated(content: Path | bytes, sha256: str, media_type: str, if_none_match: str | None) -> Response:
    """A file (by path) or bytes, or 304 when the client already holds this version."""
    etag = f'"{sha256}"'
    headers = {"ETag": etag, "Cache-Control": REVALIDATE}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    if isinstance(content, bytes):
        return Response(content, media_type=media_type, headers=headers)
    return FileResponse(content, media_type=media_type, headers=headers)
