"""Citizens' files: checked by their bytes, kept in a GridFS bucket. No HTTP here.

What the services that take a citizen's document (a proof, an attachment) share, and nothing of
their domain: `check_upload` refuses a file that is too large, empty or not a PDF, PNG or JPEG with
a `RuleBroken` (422) naming the form field and the rule; `FileBucket` keeps the checked file under a
safe name with the service's metadata, reads it back and deletes it. The declared content type and
the file name's extension are never trusted. The HTTP side (the form part, reading with a limit, the
download answer) is `uploads.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bson import ObjectId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

from services.common.errors import FieldError, RuleBroken
from services.common.mongo import Database, Document

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


def _refusal(rules: UploadRules, rule: str, detail: str, detail_ar: str) -> RuleBroken:
    return RuleBroken(
        detail, detail_ar, [FieldError(rules.field, detail, detail_ar, type=rule, location="body")]
    )


def check_upload(data: bytes, rules: UploadRules) -> str:
    """The file's content type found in its bytes; `RuleBroken` (422, the field and the rule as
    its `type`) when it is larger than the limit, empty, or not a PDF, PNG or JPEG, checked in
    that order."""
    limit = rules.max_bytes
    if len(data) > limit:
        raise _refusal(
            rules,
            "max_size",
            f"The file is larger than {limit // 1024} KB.",
            f"حجم الملف أكبر من {limit // 1024} كيلوبايت.",
        )
    if not data and rules.empty_rule is not None:
        raise _refusal(rules, rules.empty_rule, "The file is empty.", "الملف فارغ.")
    content_type = detect_content_type(data)
    if content_type is None:
        raise _refusal(
            rules,
            "content_type",
            "The file must be a PDF, PNG or JPEG document.",
            "يجب أن يكون الملف بصيغة PDF أو PNG أو JPEG.",
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
