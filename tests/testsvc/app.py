"""Wiring and behaviour of the test-only service (see the package docstring)."""

from __future__ import annotations

import os
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from opentelemetry import trace
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from pymongo.errors import DuplicateKeyError

from contracts import REGISTRY, Applicant, CloudEvent, ContractModel, EventSpec, new_event
from contracts.documents import document_specs
from services.common import documents
from services.common import idempotency as idempotency_keys
from services.common.auth import CurrentUser, ensure_owner, require_roles
from services.common.broker import QueueBinding
from services.common.consumer import EventConsumer
from services.common.documents import DocumentKind, DocumentsSpec, Due, Row
from services.common.formatting import format_jod
from services.common.idempotency_http import Idempotency, IdempotencyKey
from services.common.mongo import IndexSpec, request_number
from services.common.outbox import OutboxEntry
from services.common.problems import Conflict, NotFound
from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.settings import ServiceSettings
from services.common.sweeper import DeadlineSweeper, deadline_index
from services.common.telemetry import current_traceparent

NOTE_CREATED = "testsvc.note.created.v1"
NOTES = "notes"
TALLIES = "tallies"
# A note with this text makes the consumer's handler raise, every time.
POISON_TEXT = "poison"
# ... until a document with this `_id` is in the tallies (a fix deployed, for the replay tests).
CURED = "cured"


class NoteCreated(ContractModel):
    note_id: str = Field(description="The note")
    instance: str = Field(description="The test-service instance that wrote it")
    text: str = Field(description="The note's text")
    applicant: Applicant = Field(description="Who wrote it")


TEST_REGISTRY = REGISTRY.copy()
TEST_REGISTRY.register(
    EventSpec(NOTE_CREATED, NoteCreated, producer="testsvc", summary="A note was stored")
)
for _spec in document_specs("testsvc"):
    TEST_REGISTRY.register(_spec)

# The first user of the shared document machinery (services/common/documents).
STAFF = "testsvc.staff"
NOTE_CERTIFICATE = DocumentKind(
    "note_certificate", "Note certificate", "شهادة ملاحظة", staff_roles=(STAFF,)
)


class TestSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "testsvc"
    testsvc_instance: str = "default"
    # Fault injection for the relay test: exit the process right after the first confirmed
    # publish, before the relay removes the entry.
    testsvc_exit_after_publish: bool = False
    # Fault injection for the idempotency test: exit the process right after a note is stored,
    # before its Idempotency-Key is recorded as done.
    testsvc_exit_after_store: bool = False
    # Fault injection for the documents' crash tests: exit right after this step of an issue.
    testsvc_document_exit: Literal["", "rendered", "stored", "recorded"] = ""


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=500)
    phone: str = Field(pattern=r"^\+?[0-9]{9,15}$")
    remind_at: datetime | None = None


class NotePublic(BaseModel):
    id: str
    text: str


class CertificateAsk(BaseModel):
    holder: str = Field(min_length=1, max_length=100)
    fee_fils: int = Field(default=12500, ge=0)
    valid_until: date | None = None
    # The same `once` twice (a redelivery, a retry) issues one document.
    once: str | None = Field(default=None, max_length=50)


class CertificateRevoke(BaseModel):
    reason_en: str = Field(min_length=1, max_length=200)
    reason_ar: str = Field(min_length=1, max_length=200)


class CertificateAsked(BaseModel):
    number: str


class Notes:
    """The store and the behaviour, in one small class: this is a test fixture, not a service."""

    def __init__(self, runtime: Runtime, instance: str, *, exit_after_store: bool = False) -> None:
        self.runtime = runtime
        self.instance = instance
        self.exit_after_store = exit_after_store
        self.notes = runtime.db[NOTES]
        self.tallies = runtime.db[TALLIES]

    async def create(self, owner: str, body: NoteCreate) -> NotePublic:
        note_id = uuid.uuid4().hex
        event = new_event(
            NOTE_CREATED,
            NoteCreated(
                note_id=note_id,
                instance=self.instance,
                text=body.text,
                applicant=Applicant(name=owner, phone=body.phone),
            ),
            source_service="testsvc",
            subject=note_id,
            time=self.runtime.clock.now(),
            traceparent=current_traceparent(),
            registry=TEST_REGISTRY,
        )
        request_trace_id = f"{trace.get_current_span().get_span_context().trace_id:032x}"
        document: dict[str, Any] = {
            "_id": note_id,
            "owner": owner,
            "text": body.text,
            "version": 1,
            "request_trace_id": request_trace_id,
        }
        if body.remind_at is not None:
            document["remind_at"] = body.remind_at
        idempotency_keys.stamp(document)
        await self.runtime.outbox.insert_new(self.notes, document, [event])
        if self.exit_after_store:
            os._exit(18)
        return NotePublic(id=note_id, text=body.text)

    async def certify(self, note: dict[str, Any], ask: CertificateAsk) -> str:
        """Ask for the note's certificate (again: a new version), staged in the note's write."""
        now = self.runtime.clock.now()
        number = note.get("number") or await request_number(self.runtime.db, "NT", now)
        amount = format_jod(ask.fee_fils)
        due = documents.issue(
            NOTE_CERTIFICATE,
            number,
            owner=note["owner"],
            holder=ask.holder,
            rows=[
                Row("Note", "الملاحظة", note["text"]),
                Row("Fee paid", "الرسم المدفوع", f"{amount} JOD"),
                Row("Statement", "البيان", f"ملاحظة رقم {number} بمبلغ {amount} دينار أردني"),
            ],
            issued_at=now,
            valid_until=ask.valid_until,
            once=ask.once,
        )
        await self._stage(note, {"$set": {"number": number}}, due)
        return str(number)

    async def revoke_certificate(self, note_id: str, body: CertificateRevoke) -> None:
        note = await self.notes.find_one({"_id": note_id})
        if note is None or "number" not in note:
            raise NotFound("no such certificate", "لا توجد شهادة لهذه الملاحظة")
        due = documents.revoke(
            NOTE_CERTIFICATE,
            note["number"],
            reason_en=body.reason_en,
            reason_ar=body.reason_ar,
            at=self.runtime.clock.now(),
        )
        await self._stage(note, {}, due)

    async def _stage(self, note: dict[str, Any], update: dict[str, Any], due: Due) -> None:
        # The change and the document it asks for, in one write guarded by the version.
        staged = documents.stage_documents(update, [due])
        staged.setdefault("$set", {})["version"] = note["version"] + 1
        result = await self.notes.update_one(
            {"_id": note["_id"], "version": note["version"]}, staged
        )
        if result.matched_count != 1:
            raise Conflict("the note changed meanwhile", "تغيرت الملاحظة في الأثناء")
        assert self.runtime.documents is not None
        self.runtime.documents.written(NOTES, note["_id"])

    async def created_under(self, key_id: str) -> tuple[int, Any] | None:
        document = await idempotency_keys.find_stamped(self.notes, key_id)
        if document is None:
            return None
        return 201, NotePublic(id=document["_id"], text=document["text"])

    async def on_note_created(self, event: CloudEvent, data: NoteCreated) -> None:
        if data.instance != self.instance:
            return  # another test's instance: its own queue counts it
        if data.text == POISON_TEXT and await self.tallies.find_one({"_id": CURED}) is None:
            raise RuntimeError("this note always fails")
        trace_id = f"{trace.get_current_span().get_span_context().trace_id:032x}"
        await self.notes.update_one(
            {"_id": data.note_id}, {"$set": {"consumer_trace_id": trace_id}}
        )
        # The effect and its once-only guard in one update: a redelivery changes nothing.
        try:
            await self.tallies.update_one(
                {"_id": "created", "applied": {"$ne": event.id}},
                {"$inc": {"count": 1}, "$push": {"applied": event.id}},
                upsert=True,
            )
        except DuplicateKeyError:
            pass  # the tally exists and already holds this event

    async def remind(self, document: dict[str, Any]) -> None:
        await self.notes.update_one(
            {"_id": document["_id"], "version": document["version"]},
            {
                "$unset": {"remind_at": ""},
                "$inc": {"version": 1, "reminders": 1},
                "$set": {"reminded_at": self.runtime.clock.now()},
            },
        )


def get_notes(request: Request) -> Notes:
    notes: Notes = request.app.state.runtime.service
    return notes


router = APIRouter(prefix="/v1")


@router.post("/notes", status_code=201, response_model=NotePublic)
async def create_note(
    body: NoteCreate,
    user: CurrentUser,
    notes: Annotated[Notes, Depends(get_notes)],
    idempotency: Idempotency,
    key: IdempotencyKey,
) -> Any:
    """Store a note; its event is published through the outbox."""

    async def create() -> tuple[int, Any]:
        return 201, await notes.create(user.subject, body)

    return await idempotency.run(
        scope=user.subject, key=key, payload=body, create=create, stored=notes.created_under
    )


@router.get("/notes/{note_id}")
async def get_note(
    note_id: str, user: CurrentUser, notes: Annotated[Notes, Depends(get_notes)]
) -> dict[str, Any]:
    """A note, with the trace ids seen by the request that stored it and by its consumer."""
    document = await notes.notes.find_one({"_id": note_id})
    if document is None:
        raise NotFound("no such note", "لا توجد ملاحظة بهذا الرقم")
    ensure_owner(user, document["owner"])
    document.pop("outbox", None)
    return jsonable_encoder(document)


@router.post("/notes/{note_id}/certificate", status_code=202, response_model=CertificateAsked)
async def ask_certificate(
    note_id: str,
    body: CertificateAsk,
    user: CurrentUser,
    notes: Annotated[Notes, Depends(get_notes)],
) -> CertificateAsked:
    """Ask for the note's certificate (a PDF, issued by the document machinery); asking again
    issues a new version, which replaces the previous one."""
    note = await notes.notes.find_one({"_id": note_id})
    if note is None:
        raise NotFound("no such note", "لا توجد ملاحظة بهذا الرقم")
    ensure_owner(user, note["owner"])
    return CertificateAsked(number=await notes.certify(note, body))


@router.post(
    "/notes/{note_id}/certificate/revocation",
    status_code=202,
    dependencies=[Depends(require_roles(STAFF))],
)
async def revoke_certificate(
    note_id: str, body: CertificateRevoke, notes: Annotated[Notes, Depends(get_notes)]
) -> dict[str, str]:
    """Revoke the note's current certificate (staff)."""
    await notes.revoke_certificate(note_id, body)
    return {"status": "accepted"}


@router.get("/tally")
async def tally(notes: Annotated[Notes, Depends(get_notes)]) -> dict[str, int]:
    """How many distinct note events this instance has applied."""
    document = await notes.tallies.find_one({"_id": "created"})
    return {"count": int(document["count"]) if document else 0}


def build(settings: TestSettings) -> FastAPI:
    async def exit_after_publish(entry: OutboxEntry) -> None:
        os._exit(17)

    def setup(runtime: Runtime) -> Notes:
        return Notes(
            runtime, settings.testsvc_instance, exit_after_store=settings.testsvc_exit_after_store
        )

    def consumers(runtime: Runtime) -> list[EventConsumer]:
        notes: Notes = runtime.service
        return [
            EventConsumer(
                QueueBinding("testsvc.tally", [NOTE_CREATED]),
                {NOTE_CREATED: notes.on_note_created},  # type: ignore[dict-item]
                registry=TEST_REGISTRY,
            )
        ]

    def sweepers(runtime: Runtime) -> list[DeadlineSweeper]:
        notes: Notes = runtime.service
        return [runtime.sweeper("reminders", notes.notes, notes.remind, field="remind_at")]

    async def document_step(step: str, due: Due) -> None:
        if step == settings.testsvc_document_exit:
            os._exit(19)

    spec = ServiceSpec(
        name="testsvc",
        title="Test service",
        description="Exists only for the platform foundation's tests.",
        routers=[router],
        indexes=[
            deadline_index(NOTES, "remind_at"),
            IndexSpec(TALLIES, [("count", 1)]),
            idempotency_keys.key_index(NOTES),
        ],
        outbox_collections=[NOTES],
        setup=setup,
        consumers=consumers,
        sweepers=sweepers,
        on_published=exit_after_publish if settings.testsvc_exit_after_publish else None,
        documents=DocumentsSpec(
            kinds=[NOTE_CERTIFICATE],
            collections=[NOTES],
            registry=TEST_REGISTRY,
            on_step=document_step if settings.testsvc_document_exit else None,
        ),
    )
    return create_app(spec, settings)
