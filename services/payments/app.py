"""Wiring of the payments service: its routers, indexes, queue and expiry sweeper."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.documents import DocumentsSpec
from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.sweeper import DeadlineSweeper
from services.payments import api, consumers, efawateercom, store
from services.payments.domain import RECEIPT
from services.payments.service import Payments
from services.payments.settings import PaymentsSettings

DESCRIPTION = """The municipality's biller in the national e-bill system (eFAWATEERcom).

Issues one bill (an e-payment number) per payment request, takes the provider's signed bill
inquiries and payment notifications, expires and cancels unpaid bills, handles refunds, and gives
citizens their bills and finance staff their search, exceptions and daily reconciliation. Every
paid bill has a receipt: a bilingual PDF with a QR code to its public verification page
(`/v1/documents`, `/v1/verify`)."""


def build(settings: PaymentsSettings | None = None) -> FastAPI:
    settings = settings or PaymentsSettings()

    def setup(runtime: Runtime) -> Payments:
        return Payments(
            store.BillStore(runtime.db, runtime.outbox, runtime.documents),
            runtime.outbox,
            runtime.clock,
            settings,
        )

    def sweepers(runtime: Runtime) -> list[DeadlineSweeper]:
        payments: Payments = runtime.service
        return [
            runtime.sweeper(
                "bill-expiry", payments.store.bills, payments.expire_bill, field=store.EXPIRES_AT
            )
        ]

    spec = ServiceSpec(
        name="payments",
        title="Payments",
        description=DESCRIPTION,
        routers=[api.router, efawateercom.router],
        indexes=store.INDEXES,
        outbox_collections=[store.BILLS],
        setup=setup,
        consumers=consumers.consumers,
        sweepers=sweepers,
        # The receipt of a paid bill, staged by the payment in the bill's own write
        # (`domain/receipt.py`).
        documents=DocumentsSpec(kinds=[RECEIPT], collections=[store.BILLS]),
    )
    return create_app(spec, settings)
