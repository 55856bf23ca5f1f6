"""The eFAWATEERcom adapter: the provider's wire format, its signature check, and its two calls.

Everything that knows eFAWATEERcom's field names lives here. The provider calls us twice:
- a **bill inquiry** ("bill pull", bill presentment) before the payer pays: given the billing
  number and service type, the bill's status, amount due, dates and the payer's masked name;
- a **payment notification** after the payer paid at a bank, an app or a payment point. The
  provider's transaction id (`JOEBPPSTrx`) is its idempotency key: the provider repeats a
  notification until it gets an answer, and every repetition gets the same answer.
Both are authenticated by an HMAC signature over the raw body (signatures.py), not a JWT.

The rest of the service sees only `PaymentNotice` and `Bill`. Another provider (a card gateway)
is a module beside this one with its own wire models and router, calling the same
`Payments.accept_payment`.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema

from services.common.openapi import SIGNED_CALLER_RESPONSES
from services.common.problems import (
    Conflict,
    Gone,
    Invalid,
    NotFound,
    Problem,
    Unauthorized,
    problem_of,
)
from services.common.text import IsoAwareDateTime, IsoDate
from services.payments import domain, signatures
from services.payments.api import PaymentsDep
from services.payments.domain import Bill, DomainError, ExceptionKind, Notification, PaymentNotice
from services.payments.numbers import is_valid

PROVIDER = "efawateercom"
PREFIX = "/v1/providers/efawateercom"
MAX_BODY_BYTES = 64 * 1024

# JOD with at most 3 decimals (fils), as eFAWATEERcom's documents write amounts: the text
# "25.000". A JSON number, an exponent ("1e1"), a sign, or digits other than ASCII ("٢٥") are
# refused with a 422 naming the field.
AMOUNT_PATTERN = r"^[0-9]{1,9}(?:[.][0-9]{1,3})?$"
_AMOUNT = re.compile(AMOUNT_PATTERN)


def _provider_amount(value: object) -> object:
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        raise ValueError('an amount is JOD as text with up to 3 decimals, e.g. "25.000"')
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_provider_amount),
    Field(ge=0, max_digits=12, decimal_places=3),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["25.000"]}),
]


def to_fils(amount: Decimal) -> int:
    return int((amount * 1000).to_integral_exact())


def to_jod(fils: int) -> str:
    return f"{fils // 1000}.{fils % 1000:03d}"


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class PaymentNotificationRq(_Wire):
    """eFAWATEERcom's payment notification (PmtNtfRq), one payment per call."""

    joebpps_trx: str = Field(
        alias="JOEBPPSTrx",
        min_length=1,
        max_length=64,
        pattern=r"^[\x21-\x7e]+$",
        description="The provider's transaction id: the notification's idempotency key.",
    )
    bank_trx_id: str = Field(alias="BankTrxID", min_length=1, max_length=64)
    bank_code: str | None = Field(default=None, alias="BankCode", max_length=20)
    biller_code: str = Field(alias="BillerCode", min_length=1, max_length=20)
    billing_no: str = Field(alias="BillingNo", pattern=r"^[0-9]{1,30}$")
    service_type: str = Field(alias="ServiceType", min_length=1, max_length=50)
    due_amt: Amount = Field(alias="DueAmt", description="The amount the bill showed, in JOD.")
    paid_amt: Amount = Field(alias="PaidAmt", description="The amount paid, in JOD.")
    fees_amt: Amount = Field(default=Decimal(0), alias="FeesAmt")
    fees_on_biller: bool = Field(default=False, alias="FeesOnBiller")
    process_date: IsoAwareDateTime = Field(alias="ProcessDate", description="When it was paid.")
    stmt_date: IsoDate | None = Field(default=None, alias="STMTDate", description="Settlement day.")
    access_channel: str = Field(alias="AccessChannel", min_length=1, max_length=30)
    payment_method: str | None = Field(default=None, alias="PaymentMethod", max_length=30)

    def notice(self) -> PaymentNotice:
        return PaymentNotice(
            provider=PROVIDER,
            provider_transaction_id=self.joebpps_trx,
            e_payment_number=self.billing_no,
            biller_code=self.biller_code,
            provider_service_type=self.service_type,
            paid_amount_fils=to_fils(self.paid_amt),
            fees_fils=to_fils(self.fees_amt),
            bank_transaction_id=self.bank_trx_id,
            bank_code=self.bank_code,
            paid_at=self.process_date,
            access_channel=self.access_channel,
            payment_method=self.payment_method,
        )


class PaymentNotificationRs(_Wire):
    joebpps_trx: str = Field(serialization_alias="JOEBPPSTrx")
    billing_no: str = Field(serialization_alias="BillingNo")
    status: str = Field(serialization_alias="Status", description="Always `accepted`.")
    received_at: datetime = Field(serialization_alias="ReceivedAt")


class BillPullRq(_Wire):
    """eFAWATEERcom's bill inquiry (BillPullRq) for one billing number."""

    biller_code: str | None = Field(default=None, alias="BillerCode", max_length=20)
    billing_no: str = Field(alias="BillingNo", pattern=r"^[0-9]{1,30}$")
    service_type: str | None = Field(default=None, alias="ServiceType", max_length=50)


class BillPullRs(_Wire):
    billing_no: str = Field(serialization_alias="BillingNo")
    biller_code: str = Field(serialization_alias="BillerCode")
    service_type: str = Field(serialization_alias="ServiceType")
    bill_status: domain.BillStatus = Field(
        serialization_alias="BillStatus", description="new, paid, expired or cancelled."
    )
    due_amount: str = Field(serialization_alias="DueAmount", description="JOD, 3 decimals.")
    currency: str = Field(serialization_alias="Currency")
    issue_date: datetime = Field(serialization_alias="IssueDate")
    due_date: datetime = Field(serialization_alias="DueDate")
    allow_part: bool = Field(
        serialization_alias="AllowPart",
        description="Partial payment: never allowed (no fee schedule allows it).",
    )
    lower: str = Field(serialization_alias="Lower", description="Least amount accepted, JOD.")
    upper: str = Field(serialization_alias="Upper", description="Most amount accepted, JOD.")
    payer_name: str = Field(serialization_alias="PayerName", description="Masked.")

    @classmethod
    def of(cls, bill: Bill, now: datetime) -> BillPullRs:
        amount = to_jod(bill.amount_fils)
        return cls(
            billing_no=bill.e_payment_number,
            biller_code=bill.biller_code,
            service_type=bill.provider_service_type,
            bill_status=domain.status_for_provider(bill, now),
            due_amount=amount,
            currency=bill.currency,
            issue_date=bill.issued_at,
            due_date=bill.due_at,
            allow_part=False,
            lower=amount,
            upper=amount,
            payer_name=domain.mask_name(bill.payer.name),
        )


# ---- authentication --------------------------------------------------------------------------


class SignatureRequired(Unauthorized):
    def response_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Signature header="{signatures.HEADER}"'}


class ContentTooLarge(Problem):
    status = 413
    kind = "content-too-large"
    title = "Content too large"
    title_ar = "حجم المحتوى كبير جدًا"


async def signed_body(
    request: Request,
    payments: PaymentsDep,
    x_signature: Annotated[
        str | None,
        Header(
            alias=signatures.HEADER,
            description="t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.<raw body>')>",
        ),
    ] = None,
) -> bytes:
    """The raw body, once its signature is checked; 401 otherwise."""
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ContentTooLarge(
            f"at most {MAX_BODY_BYTES} bytes", f"الحد الأقصى {MAX_BODY_BYTES} بايت"
        )
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ContentTooLarge(
            f"at most {MAX_BODY_BYTES} bytes", f"الحد الأقصى {MAX_BODY_BYTES} بايت"
        )
    try:
        signatures.verify(
            x_signature,
            body,
            secrets=payments.settings.provider_secrets(),
            now=payments.now().timestamp(),
            window_seconds=payments.settings.payments_signature_window_seconds,
        )
    except signatures.SignatureRefused as refused:
        raise SignatureRequired(
            str(refused), "توقيع الطلب مفقود أو غير صالح أو منتهي الصلاحية"
        ) from None
    return body


SignedBody = Annotated[bytes, Depends(signed_body)]


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(
            [
                {**item, "loc": ("body", *item["loc"])}
                for item in error.errors(include_input=False, include_url=False)
            ]
        ) from None


def _documented(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# ---- refusals --------------------------------------------------------------------------------

_REFUSALS: dict[ExceptionKind, type[Problem]] = {
    ExceptionKind.UNKNOWN_BILL: NotFound,
    ExceptionKind.AMOUNT_MISMATCH: Invalid,
    ExceptionKind.BILL_EXPIRED: Gone,
    ExceptionKind.BILL_CANCELLED: Gone,
    ExceptionKind.ALREADY_PAID: Conflict,
}


def refusal(notification: Notification) -> Problem:
    """The answer to a refused notification: its reason, and that the money will go back."""
    assert notification.exception is not None
    problem = _REFUSALS[notification.exception]
    return problem(
        f"{notification.detail}. The payment is recorded for reconciliation and refund.",
        f"{notification.detail_ar}. سُجلت الدفعة للتسوية وإعادة المبلغ.",
        error_code=str(notification.exception),
        exception_id=notification.key,
        refund_due_fils=notification.refund_due_fils,
    )


# ---- the two calls ---------------------------------------------------------------------------

router = APIRouter(prefix=PREFIX, tags=["payment provider: eFAWATEERcom"])


@router.post(
    "/payment-notifications",
    response_model=PaymentNotificationRs,
    response_model_by_alias=True,
    openapi_extra=_documented(PaymentNotificationRq),
    responses={
        **SIGNED_CALLER_RESPONSES,
        410: {"description": "The bill expired or was cancelled."},
    },
)
async def payment_notification(body: SignedBody, payments: PaymentsDep) -> PaymentNotificationRs:
    """A payment made by a payer: marks the bill paid, or records an exception (signed by HMAC)."""
    wire = _parse(PaymentNotificationRq, body)
    try:
        notification = await payments.accept_payment(wire.notice())
    except DomainError as error:
        raise problem_of(error) from None
    if not notification.accepted:
        raise refusal(notification)
    return PaymentNotificationRs(
        joebpps_trx=wire.joebpps_trx,
        billing_no=wire.billing_no,
        status="accepted",
        received_at=notification.received_at,
    )


@router.post(
    "/bill-inquiries",
    response_model=BillPullRs,
    response_model_by_alias=True,
    openapi_extra=_documented(BillPullRq),
    responses={
        **SIGNED_CALLER_RESPONSES,
        410: {"description": "The bill expired or was cancelled."},
    },
)
async def bill_inquiry(body: SignedBody, payments: PaymentsDep) -> BillPullRs:
    """Bill presentment: what a payer is about to pay, the payer's name masked (signed by HMAC)."""
    wire = _parse(BillPullRq, body)
    number = wire.billing_no
    try:
        if not is_valid(number, payments.settings.payments_number_length):
            raise domain.Unknown(
                f"no bill has the number {number}", f"لا توجد فاتورة بالرقم {number}"
            )
        bill = await payments.bill_for_provider(
            number, provider_service_type=wire.service_type, biller_code=wire.biller_code
        )
    except DomainError as error:
        raise problem_of(error) from None
    return BillPullRs.of(bill, payments.now())
