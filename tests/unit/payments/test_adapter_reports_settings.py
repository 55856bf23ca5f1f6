"""The eFAWATEERcom wire format, the daily report, and the settings' refusals."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts import Applicant, LocalizedText, PaymentRequested
from services.common.clock import set_file_clock
from services.payments import domain, reports
from services.payments.domain import Issue, PaymentNotice
from services.payments.efawateercom import PaymentNotificationRq, to_fils, to_jod
from services.payments.settings import DEVELOPMENT_PROVIDER_SECRET, PaymentsSettings
from services.payments.simulator import notification_body, services_clock

DAY = date(2026, 11, 28)
# 00:30 in Amman (UTC+3) is still the 27th in UTC.
EARLY = datetime(2026, 11, 27, 21, 30, tzinfo=UTC)


def wire(**changes: object) -> dict[str, object]:
    body: dict[str, object] = json.loads(
        notification_body(
            "5724000000006",
            amount_fils=25000,
            due_fils=25000,
            biller_code="106",
            service_type="EXAMS",
            transaction_id="JOE-1",
        )
    )
    body.update(changes)
    return body


# ---- the adapter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "fils"), [("25.000", 25000), ("0.001", 1), ("100.5", 100500), ("7", 7000)]
)
def test_jod_amounts_become_whole_fils(amount: str, fils: int) -> None:
    assert to_fils(Decimal(amount)) == fils


def test_fils_are_shown_as_jod_with_three_decimals() -> None:
    assert [to_jod(f) for f in (25000, 1, 100500, 0)] == ["25.000", "0.001", "100.500", "0.000"]


@pytest.mark.parametrize(
    "bad", ["25.0001", "-1.000", "abc", None, "1e1", "٢٥.٠٠٠", 25, 25.0, " 25.000", "+25", "NaN"]
)
def test_an_amount_finer_than_a_fils_or_negative_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        PaymentNotificationRq.model_validate(wire(PaidAmt=bad))


def test_a_notification_maps_to_the_providers_neutral_notice() -> None:
    notice = PaymentNotificationRq.model_validate_json(json.dumps(wire(FeesAmt="0.350")))
    mapped = notice.notice()
    assert mapped.provider == "efawateercom" and mapped.key == "efawateercom:JOE-1"
    assert mapped.e_payment_number == "5724000000006"
    assert mapped.paid_amount_fils == 25000 and mapped.fees_fils == 350
    assert mapped.bank_transaction_id and mapped.bank_transaction_id.startswith("BNK")
    assert mapped.access_channel == "Internet"


# ---- the daily report --------------------------------------------------------------------


def test_a_day_is_a_day_in_amman() -> None:
    start, end = reports.day_window(DAY)
    assert start == datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
    assert end - start == timedelta(days=1)


def bill(number: str, issued_at: datetime, amount: int = 25000) -> domain.Bill:
    request = PaymentRequested(
        payment_reference=f"exams:EX-{number}:fee",
        request_number=f"EX-{number}",
        amount_fils=amount,
        description=LocalizedText(ar="رسوم", en="Fee"),
        due_at=issued_at + timedelta(days=3),
        payer=Applicant(name="=HYPERLINK()", phone="+962791234567"),
        service_type="exams.exam_fee",
    )
    return domain.issue_bill(request, Issue(number, "106", "EXAMS", issued_at)).bill


def notice(number: str, amount: int, trx: str) -> PaymentNotice:
    return PaymentNotice(
        provider="efawateercom",
        provider_transaction_id=trx,
        e_payment_number=number,
        paid_amount_fils=amount,
        fees_fils=250,
        paid_at=EARLY,
        bank_transaction_id="=cmd|' /C calc'!A0",
    )


def test_the_report_counts_and_totals_each_movement_of_the_day_only() -> None:
    issued_today = bill("1", EARLY)
    paid_today = domain.pay(bill("2", EARLY), notice("2", 25000, "T2"), EARLY).bill
    yesterday = bill("3", EARLY - timedelta(hours=1))
    expired_today = domain.expire(bill("4", EARLY - timedelta(days=4)), EARLY).bill
    with pytest.raises(domain.PaymentRefused) as refused:
        domain.pay(issued_today, notice("1", 1000, "T9"), EARLY)
    exception = domain.refused_notification(notice("1", 1000, "T9"), refused.value, EARLY)

    report = reports.daily_report(
        DAY, [issued_today, paid_today, yesterday, expired_today], [exception]
    )

    assert report.summary.issued == reports.Total(count=2, amount_fils=50000)
    assert report.summary.paid == reports.Total(count=1, amount_fils=25000)
    assert report.summary.expired == reports.Total(count=1, amount_fils=25000)
    assert report.summary.exceptions == reports.Total(count=1, amount_fils=1000)
    assert report.summary.fees_fils == 250
    assert report.summary.cancelled.count == 0


def test_the_csv_has_a_header_a_row_per_line_and_no_formula_cells() -> None:
    paid_today = domain.pay(bill("2", EARLY), notice("2", 25000, "T2"), EARLY).bill
    report = reports.daily_report(DAY, [paid_today], [])

    rows = list(csv.DictReader(io.StringIO(reports.to_csv(report))))

    assert [row["kind"] for row in rows] == ["issued", "paid"]
    assert rows[1]["bank_transaction_id"].startswith("'=")
    assert rows[1]["amount_fils"] == "25000" and rows[0]["fees_fils"] == ""


# ---- settings ----------------------------------------------------------------------------

PRODUCTION = {
    "environment": "production",
    "jwt_jwks_url": "https://idp.example/jwks",
    "jwt_issuer": "https://idp.example/",
    "jwt_audience": "amman-eservices",
    "amqp_url": "amqp://payments:pw@rabbitmq:5672/",
    "metrics_port": 9090,
}


def test_production_refuses_the_development_or_a_short_provider_secret() -> None:
    with pytest.raises(ValidationError, match="PAYMENTS_EFAWATEERCOM_SECRET"):
        PaymentsSettings(**PRODUCTION)
    with pytest.raises(ValidationError, match="PAYMENTS_EFAWATEERCOM_SECRET"):
        PaymentsSettings(**PRODUCTION, payments_efawateercom_secret="short")
    settings = PaymentsSettings(**PRODUCTION, payments_efawateercom_secret="x" * 40)
    assert settings.provider_secrets() == [b"x" * 40]


def test_the_secret_is_never_printed_with_the_settings() -> None:
    settings = PaymentsSettings()
    assert DEVELOPMENT_PROVIDER_SECRET not in repr(settings)
    assert DEVELOPMENT_PROVIDER_SECRET not in settings.model_dump_json()


def test_service_types_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENTS_SERVICE_TYPES", '{"training.gis_course": "GIS"}')
    monkeypatch.setenv("PAYMENTS_EFAWATEERCOM_PREVIOUS_SECRET", "old-one")
    settings = PaymentsSettings()
    assert settings.payments_service_types == {"training.gis_course": "GIS"}
    assert settings.provider_secrets()[1] == b"old-one"


def test_the_simulator_reads_the_services_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It signs with the time the services read, so a bill is payable after time was moved."""

    clock_file = tmp_path / "clock"
    later = datetime.now(UTC) + timedelta(days=9)
    set_file_clock(clock_file, later)
    monkeypatch.setenv("CLOCK_FILE", str(clock_file))
    moved = services_clock(PaymentsSettings()).now()
    assert abs(moved - later) < timedelta(seconds=5)
    monkeypatch.delenv("CLOCK_FILE")
    monkeypatch.setenv("ENVIRONMENT", "test")
    assert abs(services_clock(PaymentsSettings()).now() - datetime.now(UTC)) < timedelta(seconds=5)
