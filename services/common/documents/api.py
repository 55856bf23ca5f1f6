"""The documents' routes, mounted by `create_app` for a service with a `DocumentsSpec`.

- `GET /v1/documents`: the caller's documents (staff: `?number=` lists a number's documents of
  the kinds their roles read); `GET /v1/documents/{document_id}` and `.../pdf`: one version,
  its PDF. Anyone but the holder and the kind's staff gets 404.
- `GET /v1/verify/{verification_id}`: the public verification page (no login), bilingual HTML or
  JSON (`?format=json` or `Accept: application/json`); `POST` the same address with a `file`
  (multipart): the same page, saying whether the file is the document issued.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field

from services.common.auth import CurrentUser, Principal, ensure_owner
from services.common.documents.model import STATE_TEXT, VERIFICATION_ID, State
from services.common.documents.render import direction
from services.common.documents.store import DocumentStore
from services.common.files import UploadRules
from services.common.formatting import amman_date
from services.common.headers import HtmlPage
from services.common.listing import Page, Paging
from services.common.mongo import Document
from services.common.problems import Invalid, NotFound
from services.common.uploads import Upload, read_upload

router = APIRouter(prefix="/v1", tags=["documents"])

# A document checked against its record: a PDF of at most 5 MB (what is issued is far smaller).
CHECK_RULES = UploadRules(5 * 1024 * 1024, field="file")

_NO_DOCUMENT = ("No such document.", "لا توجد وثيقة بهذا الرقم.")
_NOT_VERIFIABLE = (
    "No document has this verification code.",
    "لا توجد وثيقة برمز التحقق هذا.",
)

VerificationId = Annotated[
    str, Path(description="The unguessable id printed on the document (its QR code).")
]


class DocumentPublic(BaseModel):
    """One version of a document, as its holder and staff see it."""

    id: str
    kind: str
    number: str
    version: int
    state: State
    title_en: str
    title_ar: str
    holder: str
    issued_at: datetime
    issued: str = Field(description="The issue date, dd/mm/yyyy (Amman).")
    valid_until: str | None = Field(description="The last valid day, ISO date; null: no expiry.")
    verification_url: str
    sha256: str
    pdf_url: str = Field(description="Where to download the PDF (relative to the service).")


class Verification(BaseModel):
    """What the public verification page says (its JSON twin)."""

    kind: str
    title_en: str
    title_ar: str
    number: str
    version: int
    holder: str = Field(description="The holder; a person's name is masked (`محمد أ. ع.`).")
    issued_at: datetime
    issued: str
    valid_until: str | None
    state: State
    state_en: str
    state_ar: str
    revoked_at: datetime | None = None
    reason_en: str | None = None
    reason_ar: str | None = None
    replaced_by_version: int | None = None
    sha256: str = Field(description="SHA-256 of the PDF issued: a copy must have the same.")
    copy_matches: bool | None = Field(
        default=None, description="Only when a file was posted: whether it is the PDF issued."
    )


def store_of(request: Request) -> DocumentStore:
    store: DocumentStore | None = getattr(request.app.state.runtime, "documents", None)
    if store is None:
        raise NotFound(*_NO_DOCUMENT)
    return store


def _readable(store: DocumentStore, user: Principal, record: Document) -> None:
    kind = store.kinds.get(record["kind"])
    roles = kind.staff_roles if kind is not None else ()
    ensure_owner(user, record["owner"], staff_roles=roles, not_found=NotFound(*_NO_DOCUMENT))


def _public(store: DocumentStore, record: Document) -> DocumentPublic:
    return DocumentPublic(
        id=record["_id"],
        kind=record["kind"],
        number=record["number"],
        version=int(record["version"]),
        state=store.state(record),
        title_en=record["title_en"],
        title_ar=record["title_ar"],
        holder=record["holder"],
        issued_at=record["issued_at"],
        issued=amman_date(_aware(record["issued_at"])),
        valid_until=record.get("valid_until"),
        verification_url=record["verification_url"],
        sha256=record["sha256"],
        pdf_url=f"/v1/documents/{record['_id']}/pdf",
    )


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


@router.get("/documents", response_model=Page[DocumentPublic])
async def list_documents(
    request: Request,
    user: CurrentUser,
    paging: Paging,
    number: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$",
            description="A document number, e.g. `LC-2026-000123`.",
        ),
    ] = None,
    kind: Annotated[str | None, Query(pattern=r"^[a-z]+(?:_[a-z]+)*$")] = None,
) -> Page[DocumentPublic]:
    """Your documents, newest first (every version, with its state). Staff with `?number=`: that
    number's documents of the kinds their roles may read."""
    store = store_of(request)
    staff_kinds = {name for name, k in store.kinds.items() if user.has_any(*k.staff_roles)}
    query: dict[str, Any] = {"number": number} if number else {"owner": user.subject}
    if kind:
        query["kind"] = kind
    records = [doc async for doc in store.records.find(query, {"outbox": 0})]
    visible = [doc for doc in records if doc["owner"] == user.subject or doc["kind"] in staff_kinds]
    visible.sort(key=lambda doc: (_aware(doc["issued_at"]), doc["version"]), reverse=True)
    items = [_public(store, doc) for doc in visible[paging.skip : paging.skip + paging.limit]]
    return paging.page_of(items, len(visible))


async def _record(request: Request, user: Principal, document_id: str) -> Document:
    store = store_of(request)
    record = await store.records.find_one({"_id": document_id}, {"outbox": 0})
    if record is None:
        raise NotFound(*_NO_DOCUMENT)
    _readable(store, user, record)
    return record


@router.get("/documents/{document_id}", response_model=DocumentPublic)
async def get_document(
    document_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    request: Request,
    user: CurrentUser,
) -> DocumentPublic:
    """One version of a document: its holder's and its kind's staff only (404 to anyone else)."""
    return _public(store_of(request), await _record(request, user, document_id))


@router.get(
    "/documents/{document_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def download_document(
    document_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    request: Request,
    user: CurrentUser,
) -> Response:
    """The PDF as issued (byte for byte: its SHA-256 is the record's)."""
    record = await _record(request, user, document_id)
    data = await store_of(request).pdf(record)
    if data is None:
        raise NotFound(*_NO_DOCUMENT)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{record["filename"]}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _verifiable(request: Request, verification_id: str) -> tuple[DocumentStore, Document]:
    store = store_of(request)
    if not VERIFICATION_ID.match(verification_id):
        raise NotFound(*_NOT_VERIFIABLE)
    record = await store.records.find_one({"verification_id": verification_id}, {"outbox": 0})
    if record is None:
        raise NotFound(*_NOT_VERIFIABLE)
    return store, record


def _verification(store: DocumentStore, record: Document, matches: bool | None) -> Verification:
    state = store.state(record)
    state_en, state_ar = STATE_TEXT[state]
    return Verification(
        kind=record["kind"],
        title_en=record["title_en"],
        title_ar=record["title_ar"],
        number=record["number"],
        version=int(record["version"]),
        holder=record["holder_public"],
        issued_at=record["issued_at"],
        issued=amman_date(_aware(record["issued_at"])),
        valid_until=record.get("valid_until"),
        state=state,
        state_en=state_en,
        state_ar=state_ar,
        revoked_at=record.get("revoked_at"),
        reason_en=record.get("reason_en"),
        reason_ar=record.get("reason_ar"),
        replaced_by_version=record.get("replaced_by_version"),
        sha256=record["sha256"],
        copy_matches=matches,
    )


@cache
def _pages() -> Environment:
    return Environment(
        loader=PackageLoader("services.common.documents", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )


def _answer(request: Request, view: Verification, format: str | None) -> Response:
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    wants_json = format == "json" or (
        format is None and "application/json" in request.headers.get("accept", "")
    )
    if wants_json:
        return JSONResponse(view.model_dump(mode="json"), headers=headers)
    page = (
        _pages()
        .get_template("verify.html.j2")
        .render(
            record=view.model_dump() | {"holder_public": view.holder},
            holder_dir=direction(view.holder),
            state=view.state.value,
            state_en=view.state_en,
            state_ar=view.state_ar,
            issued=view.issued,
            valid_until=amman_date(view.valid_until) if view.valid_until else None,
            revoked=amman_date(_aware(view.revoked_at)) if view.revoked_at else None,
            check=view.copy_matches,
        )
    )
    # The page's one form posts back to this address: `form-action 'self'`, nothing else.
    return HtmlPage(page, headers=headers, form_action="'self'")


_PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/html": {},
            "application/json": {"schema": {"$ref": "#/components/schemas/Verification"}},
        }
    }
}


@router.get(
    "/verify/{verification_id}",
    tags=["public"],
    response_class=HTMLResponse,
    response_model=Verification,
    responses=_PAGE_RESPONSES,
)
async def verify(
    verification_id: VerificationId,
    request: Request,
    format: Annotated[Literal["html", "json"] | None, Query()] = None,
) -> Response:
    """The public verification page of a document (no login): its kind, number, holder (a
    person's name masked), dates and state (valid, expired, revoked, replaced)."""
    store, record = await _verifiable(request, verification_id)
    return _answer(request, _verification(store, record, None), format)


@router.post(
    "/verify/{verification_id}",
    tags=["public"],
    response_class=HTMLResponse,
    response_model=Verification,
    responses=_PAGE_RESPONSES,
)
async def check_copy(
    verification_id: VerificationId,
    request: Request,
    file: Upload,
    format: Annotated[Literal["html", "json"] | None, Query()] = None,
) -> Response:
    """Check a copy: whether the posted file is, byte for byte, the PDF issued (its SHA-256)."""
    store, record = await _verifiable(request, verification_id)
    data = await read_upload(file, CHECK_RULES)
    _check_size(data)
    matches = hashlib.sha256(data).hexdigest() == record["sha256"]
    return _answer(request, _verification(store, record, matches), format)


def _check_size(data: bytes) -> None:
    limit = CHECK_RULES.max_bytes
    if len(data) > limit:
        raise Invalid(
            f"The file is larger than {limit // 1024} KB.",
            f"حجم الملف أكبر من {limit // 1024} كيلوبايت.",
            errors=[{"field": "file", "location": "body", "rule": "max_size"}],
        )
    if not data:
        raise Invalid(
            "The file is empty.",
            "الملف فارغ.",
            errors=[{"field": "file", "location": "body", "rule": "required"}],
        )
