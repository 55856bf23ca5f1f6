"""Finance staff: searching bills, and the daily reconciliation report as JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest

from services.payments.reports import AMMAN

pytestmark = pytest.mark.integration


async def test_finance_staff_search_bills_by_status_service_and_date(
    payments: Any, provider: Any, request_payment: Any, token_for: Any
) -> None:
    _, exam = await request_payment(service="exams")
    _, course = await request_payment(service="courses")
    assert (await provider.pay(exam["e_payment_number"], 25000)).status_code == 200
    staff = token_for("finance-1", "finance.staff")
    today = datetime.now(AMMAN).date().isoformat()

    paid = (await payments.get("/v1/bills", staff, status="paid")).json()
    courses = (await payments.get("/v1/bills", staff, service="courses", issued_from=today)).json()
    before = (await payments.get("/v1/bills", staff, issued_to="2020-01-01")).json()
    too_big = await payments.get("/v1/bills", staff, page_size=1000)
    citizen = (await payments.get("/v1/bills", token_for("someone-else", "citizen"))).json()

    assert [bill["e_payment_number"] for bill in paid["items"]] == [exam["e_payment_number"]]
    assert paid["items"][0]["payment"]["provider"] == "efawateercom"
    assert [bill["e_payment_number"] for bill in courses["items"]] == [course["e_payment_number"]]
    assert before["items"] == [] and before["total"] == 0
    assert too_big.status_code == 422
    assert citizen["items"] == []


async def test_the_daily_reconciliation_report_totals_the_day_in_json_and_csv(
    payments: Any, provider: Any, request_payment: Any, token_for: Any
) -> None:
    _, first = await request_payment(amount_fils=25000)
    _, second = await request_payment(amount_fils=40000)
    assert (await provider.pay(first["e_payment_number"], 25000, trx="T-OK")).status_code == 200
    short = await provider.pay(second["e_payment_number"], 30000, trx="T-SHORT")
    assert short.status_code == 422
    staff = token_for("finance-1", "finance.staff")
    today = datetime.now(AMMAN).date().isoformat()

    report = await payments.get("/v1/reports/daily", staff, day=today)
    as_csv = await payments.get("/v1/reports/daily", staff, day=today, format="csv")
    citizen = await payments.get("/v1/reports/daily", token_for("c-1", "citizen"), day=today)

    assert report.status_code == 200, report.text
    summary = report.json()["summary"]
    assert summary["issued"] == {"count": 2, "amount_fils": 65000}
    assert summary["paid"] == {"count": 1, "amount_fils": 25000}
    assert summary["exceptions"] == {"count": 1, "amount_fils": 30000}
    assert summary["expired"]["count"] == summary["cancelled"]["count"] == 0
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert sorted(row["kind"] for row in rows) == ["exception", "issued", "issued", "paid"]
    paid_row = next(row for row in rows if row["kind"] == "paid")
    assert paid_row["provider_transaction_id"] == "T-OK" and paid_row["amount_fils"] == "25000"
    assert citizen.status_code == 403
