"""The notifier's HTTP API: staff search messages, anyone reads a message they may see with its
history, a citizen lists the messages about their own requests, and the SMS provider posts signed
delivery receipts. In local runs this is how a person sees the SMS the platform "sent".
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.auth import CurrentUser, Principal, ensure_owner
from services.common.listing import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, Page, PageRequest
from services.common.openapi import SIGNED_CALLER_RESPONSES
from services.common.problems import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from services.common.text import IsoAwareDateTime, Phone, SafeText
from services.notifier.domain import (
    STATUS_LABELS,
    Encoding,
    InvalidPhone,
    Message,
    Status,
    Step,
    is_signed,
    normalise_phone,
)
from services.notifier.service import Notifier, ReceiptConflict, UnknownMessage
from services.notifier.store import MessageCriteria

STAFF_ROLE = "notifier.staff"
SIGNATURE_HEADER = "X-Notifier-Signature"

router = APIRouter(prefix="/v1", tags=["messages"])


async def get_notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.runtime.service
    return notifier


NotifierDep = Annotated[Notifier, Depends(get_notifier)]


# ---- schemas -------------------------------------------------------------------------------------


class Label(BaseModel):
    ar: str
    en: str


class StepPublic(BaseModel):
    status: Status
    label: Label
    at: datetime
    reason: str | None = None

    @classmethod
    def of(cls, step: Step) -> StepPublic:
        return cls(status=step.status, label=_label(step.status), at=step.at, reason=step.reason)


class MessagePublic(BaseModel):
    id: str
    status: Status
    status_label: Label
    template: str = Field(description="The template (an event type, or a command template).")
    event_type: str = Field(description="The CloudEvents type of the event or command.")
    lang: str
    request_number: str | None
    phone: str = Field(description="E.164; as given if it was not a valid mobile number.")
    text: str = Field(description="The text sent; a one-time code shows as •••.")
    is_sensitive: bool
    encoding: Encoding
    characters: int
    segments: int
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    reason: str | None = Field(description="Why it failed (or is waiting to retry).")

    @classmethod
    def of(cls, message: Message) -> MessagePublic:
        failed_at = message.last(Status.PERMANENT_FAILURE) or message.last(Status.TECHNICAL_FAILURE)
        return cls(
            id=message.id,
            status=message.status,
            status_label=_label(message.status),
            template=message.template,
            event_type=message.event_type,
            lang=message.lang,
            request_number=message.request_number,
            phone=message.phone,
            text=message.text,
            is_sensitive=message.is_sensitive,
            encoding=message.encoding,
            characters=message.characters,
            segments=message.segments,
            attempts=message.attempts,
            created_at=message.created_at,
            sent_at=message.last(Status.SENT),
            delivered_at=message.last(Status.DELIVERED),
            failed_at=failed_at,
            reason=message.reason,
        )


class MessageDetail(MessagePublic):
    history: list[StepPublic] = Field(description="Every state it went through, oldest first.")

    @classmethod
    def of(cls, message: Message) -> MessageDetail:
        return cls(
            **MessagePublic.of(message).model_dump(),
            history=[StepPublic.of(step) for step in message.history],
        )


class MessageFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Phone | None = None
    request_number: str | None = Field(default=None, min_length=1, max_length=64)
    status: Status | None = None
    created_from: IsoAwareDateTime | None = Field(default=None, description="Inclusive.")
    created_to: IsoAwareDateTime | None = Field(default=None, description="Exclusive.")
    # The page (`paging`): declared here too, so that the filters refuse only unknown names.
    page: int = Field(default=1, ge=1, le=MAX_PAGE, description="Page number, from 1.")
    page_size: int = Field(
        default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page."
    )


class DeliveryReceipt(BaseModel):
    """The provider's word on a message it accepted."""

    reference: str = Field(min_length=1, max_length=100, description="The reference we sent.")
    status: Literal["delivered", "temporary-failure", "permanent-failure"]
    reason: SafeText | None = Field(default=None, max_length=300)
    provider_id: str | None = Field(default=None, max_length=100)


class ReceiptApplied(BaseModel):
    message_id: str
    status: Status


def _label(status: Status) -> Label:
    ar, en = STATUS_LABELS[status]
    return Label(ar=ar, en=en)


# ---- routes --------------------------------------------------------------------------------------


@router.get("/messages", response_model=Page[MessagePublic])
async def search_messages(
    user: CurrentUser,
    notifier: NotifierDep,
    filters: Annotated[MessageFilters, Query()],
) -> Page[MessagePublic]:
    """Search messages, newest first: staff search all, a citizen only their own."""
    criteria = MessageCriteria(
        phone=_phone_filter(filters.phone),
        request_number=filters.request_number,
        status=filters.status,
        created_from=filters.created_from,
        created_to=filters.created_to,
        owner_subject=_visible_owner(user),
    )
    paging = PageRequest(filters.page, filters.page_size)
    found, total = await notifier.store.search(criteria, skip=paging.skip, limit=paging.limit)
    return paging.page_of([MessagePublic.of(message) for message in found], total)


_NO_SUCH_MESSAGE = NotFound("There is no such message.", "لا توجد رسالة بهذا الرقم.")


@router.get("/messages/{message_id}", response_model=MessageDetail)
async def get_message(message_id: str, user: CurrentUser, notifier: NotifierDep) -> MessageDetail:
    """One message with its history: for staff, and for the citizen it is about."""
    message = await notifier.store.get(message_id)
    if message is None:
        raise _NO_SUCH_MESSAGE
    # A message without an owner (its event did not say) is for staff only.
    ensure_owner(
        user, message.owner_subject or "", staff_roles=(STAFF_ROLE,), not_found=_NO_SUCH_MESSAGE
    )
    return MessageDetail.of(message)


@router.post(
    "/receipts",
    response_model=ReceiptApplied,
    responses=SIGNED_CALLER_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": DeliveryReceipt.model_json_schema()}},
        }
    },
)
async def receive_receipt(
    request: Request,
    notifier: NotifierDep,
    signature: Annotated[
        str | None,
        Header(
            alias=SIGNATURE_HEADER,
            description="`sha256=` + hex HMAC-SHA256 of the raw body with the shared secret.",
        ),
    ] = None,
) -> ReceiptApplied:
    """A delivery receipt from the SMS provider, signed with the shared secret."""
    body = await request.body()
    if not is_signed(notifier.receipt_secret, body, signature):
        raise Unauthorized(
            f"The receipt's {SIGNATURE_HEADER} is missing or wrong.",
            "توقيع إشعار التسليم مفقود أو غير صحيح.",
        )
    try:
        receipt = DeliveryReceipt.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_input=False)) from None
    try:
        status = await notifier.apply_receipt(receipt.reference, receipt.status, receipt.reason)
    except UnknownMessage:
        raise _NO_SUCH_MESSAGE from None
    except ReceiptConflict:
        raise Conflict(
            "The message changed while the receipt was applied; send it again.",
            "تغيّرت الرسالة أثناء تطبيق الإشعار؛ أعد إرساله.",
        ) from None
    return ReceiptApplied(message_id=receipt.reference, status=status)


def _visible_owner(user: Principal) -> str | None:
    """Whose messages the caller may list: everyone's for staff (None), their own for a citizen."""
    if user.has_role(STAFF_ROLE):
        return None
    if user.is_citizen:
        return user.subject
    raise Forbidden(
        f"Listing messages needs the role {STAFF_ROLE} or citizen.",
        f"عرض الرسائل يتطلب صلاحية {STAFF_ROLE} أو صفة مواطن.",
    )


def _phone_filter(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return normalise_phone(raw)
    except InvalidPhone as error:
        raise Invalid(
            f"phone: {error}",
            "رقم الهاتف ليس رقم هاتف متنقل أردنياً",
            errors=[
                {
                    "field": "query.phone",
                    "location": "query",
                    "message": str(error),
                    "message_ar": "رقم الهاتف ليس رقم هاتف متنقل أردنياً",
                }
            ],
        ) from None
