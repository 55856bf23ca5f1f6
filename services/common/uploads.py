"""Uploaded documents over HTTP: the form part, reading with a size limit, the download answer.

`read_upload` reads one byte more than the limit (enough to know a file is too large without
reading all of it); `download` answers stored bytes with the content type found in them. The
checks and the bucket are `files.py` (no HTTP), which the services' use cases and stores use.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Response, UploadFile

from services.common.files import UploadRules

# The form part of a document upload, as every upload route declares it.
Upload = Annotated[UploadFile, File(description="PDF, PNG or JPEG, at most 5 MB.")]


async def read_upload(file: UploadFile, rules: UploadRules) -> bytes:
    """The uploaded bytes, at most one more than the limit (enough to know it is too large)."""
    return await file.read(rules.max_bytes + 1)


def download(data: bytes, content_type: str) -> Response:
    """A stored file as a download: the content type found in its bytes, never sniffed again by
    the browser, never shown inline."""
    return Response(
        data,
        media_type=content_type,
        headers={"X-Content-Type-Options": "nosniff", "Content-Disposition": "attachment"},
    )
