"""Uploaded documents: read with a size limit, checked by their bytes, kept in a GridFS bucket.

What the services that take a citizen's document (a proof, an attachment) share, and nothing of
their domain: `read_upload` reads one byte more than the limit (enough to know a file is too
large without reading all of it); `check_upload` refuses a file that is too large, empty or not a
PDF, PNG or JPEG with an `Invalid` problem naming the form field and the rule; `FileBucket` keeps
the checked file under a safe name with the service's metadata, reads it back and deletes it;
`download` answers the stored bytes with the content type found in them. The declared content type
and the file name's extension are never trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from bson import ObjectId
from fastapi import File, Response, UploadFile
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

from services.common.mongo import Database, Document
from services.common.problems import Invalid

# The form part of a document upload, as every upload route declares it.
Upload = Annotated[UploadFile, File(description="PDF, PNG or JPEG, at most 5 MB.")]

# Magic numbers of the accepted files.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def detect_content_type(data: bytes) -> str | None:
    """PDF, PNG or JPEG by their first bytes; None for anything else."""
    for signature, content_type in SIGNATURES:
        if data.startswith(signature):
            return content_type
    return None


@dataclass(frozen=True)
class UploadRules:
    """How a service takes a file: its size limit, the form field its errors name, and the rule
    an empty file breaks (None: no rule of its own, it is refused as not a PDF, PNG or JPEG)."""

    max_bytes: int
    field: str = "file"
    empty_rule: str | None = "required"


async def read_upload(file: UploadFile, rules: UploadRules) -> bytes:
    """The uploaded bytes, at most one more than the limit (enough to know it is too large)."""
    return await file.read(rules.max_bytes + 1)


def check_upload(data: bytes, rules: UploadRules) -> str:
    """The file's content type found in its bytes; `Invalid` (422, the field and the rule) when
    it is larger than the limit, empty, or not a PDF, PNG or JPEG, checked in that order."""
    limit = rules.max_bytes
    if len(data) > limit:
        raise Invalid(
            f"The file is larger than {limit // 1024} KB.",
            f"حجم الملف أكبر من {limit // 1024} كيلوبايت.",
            errors=[{"field": rules.field, "location": "body", "rule": "max_size"}],
        )
    if not data and rules.empty_rule is not None:
        raise Invalid(
            "The file is empty.",
            "الملف فارغ.",
            errors=[{"field": rules.field, "location": "body", "rule": rules.empty_rule}],
        )
    content_type = detect_content_type(data)
    if content_type is None:
        raise Invalid(
            "The file must be a PDF, PNG or JPEG document.",
            "يجب أن يكون الملف بصيغة PDF أو PNG أو JPEG.",
            errors=[{"field": rules.field, "location": "body", "rule": "content_type"}],
        )
    return content_type


def safe_filename(filename: str, fallback: str) -> str:
    """Letters, digits, `._- ` only, at most 100 characters; `fallback` when nothing is left."""
    return "".join(c for c in filename if c.isalnum() or c in "._- ")[:100] or fallback


@dataclass(frozen=True)
class StoredFile:
    """A checked file in a bucket: what a service records about it (with its own upload time)."""

    file_id: str
    content_type: str
    size: int
    filename: str

    def fields(self) -> dict[str, str | int]:
        """`file_id`, `content_type`, `size` and `filename`, to build the service's record."""
        return {
            "file_id": self.file_id,
            "content_type": self.content_type,
            "size": self.size,
            "filename": self.filename,
        }


class FileBucket:
    """One GridFS bucket of uploaded files; ids are the GridFS ObjectIds as strings."""

    def __init__(self, db: Database, name: str) -> None:
        self.bucket = AsyncGridFSBucket(db, bucket_name=name)

    async def keep(
        self, filename: str, data: bytes, rules: UploadRules, metadata: Document, *, fallback: str
    ) -> StoredFile:
        """Check the file (`check_upload`), then store it under its safe name with `metadata`."""
        content_type = check_upload(data, rules)
        name = safe_filename(filename, fallback)
        file_id = await self.store(name, data, metadata)
        return StoredFile(file_id=file_id, content_type=content_type, size=len(data), filename=name)

    async def store(self, filename: str, data: bytes, metadata: Document) -> str:
        file_id = await self.bucket.upload_from_stream(filename, data, metadata=metadata)
        return str(file_id)

    async def delete(self, file_id: str) -> None:
        """Delete the file; one already gone is no error."""
        try:
            await self.bucket.delete(ObjectId(file_id))
        except NoFile:
            pass

    async def read(self, file_id: str) -> bytes | None:
        """The file's bytes; None when it is not there."""
        try:
            stream = await self.bucket.open_download_stream(ObjectId(file_id))
        except NoFile:
            return None
        return await stream.read()


def download(data: bytes, content_type: str) -> Response:
    """A stored file as a download: the content type found in its bytes, never sniffed again by
    the browser, never shown inline."""
    return Response(
        data,
        media_type=content_type,
        headers={"X-Content-Type-Options": "nosniff", "Content-Disposition": "attachment"},
    )
