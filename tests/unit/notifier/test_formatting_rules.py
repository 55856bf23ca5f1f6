"""Every template of the notifier's catalogue, rendered in Arabic and English with its sample,
follows the rules citizens read alike across the five services (services/common/formatting.py):
dates dd/mm/yyyy, no deadline at 00:00 (it is stated as 23:59 of its last day), amounts in JOD
with three decimals, and an English SMS carrying the same facts as its Arabic one."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from services.common import formatting
from services.notifier import catalogue

CATALOGUE = catalogue.load()
ENTRIES = CATALOGUE.entries

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# The facts a citizen acts on: request and licence numbers, dates, times, amounts, long numbers.
FACTS = re.compile(
    r"[A-Z]{2}-\d{4}-\d{6}|\d{2}/\d{2}/\d{4}|\b\d{2}:\d{2}\b|\b\d+\.\d{3}\b|\b\d{6,}\b|https?://\S+"
)


def rendered(name: str, lang: str) -> str:
    entry = next(e for e in ENTRIES if e.name == name)
    return CATALOGUE.render(name, lang, CATALOGUE.sample_context(entry))


@pytest.mark.parametrize("name", [entry.name for entry in ENTRIES])
def test_dates_are_dd_mm_yyyy_and_no_deadline_falls_at_midnight(name: str) -> None:
    for lang in ("ar", "en"):
        text = rendered(name, lang)
        assert not ISO_DATE.search(text), f"{name} ({lang}) writes an ISO date: {text}"
        assert "00:00" not in text, f"{name} ({lang}) states a deadline at 00:00: {text}"
        for amount in re.findall(r"\b\d+\.\d+\b", text):
            if not re.fullmatch(r"\d+\.\d{3}", amount) and not amount.startswith("www"):
                pytest.fail(f"{name} ({lang}): amount {amount} is not JOD with 3 decimals")


@pytest.mark.parametrize("name", [entry.name for entry in ENTRIES])
def test_the_english_sms_carries_the_facts_of_the_arabic_one(name: str) -> None:
    arabic, english = rendered(name, "ar"), rendered(name, "en")
    assert sorted(set(FACTS.findall(english))) == sorted(set(FACTS.findall(arabic))), (
        f"{name}:\n  ar: {arabic}\n  en: {english}"
    )


def test_the_licensing_submitted_sms_names_the_trade_and_the_camp_in_both() -> None:
    entry = next(e for e in ENTRIES if e.name == "licensing.request.submitted.v1")
    context = CATALOGUE.sample_context(entry)
    english = rendered(entry.name, "en")
    assert context["request"]["trade_name"][:20] in english
    assert context["request"]["camp"]["en"][:20] in english


def test_the_shared_rules() -> None:
    assert formatting.amman_date(date(2026, 12, 14)) == "14/12/2026"
    assert formatting.amman_date("2026-12-14") == "14/12/2026"
    assert formatting.format_jod(12500) == "12.500" and formatting.format_jod(7) == "0.007"
    last_day = formatting.end_of_day(date(2026, 12, 8))
    assert last_day == datetime(2026, 12, 8, 20, 59, 59, tzinfo=UTC)  # 23:59:59 in Amman (+03)
    assert formatting.deadline_text(last_day) == "08/12/2026 23:59"
    # A deadline kept as the midnight ending its last day reads as that day's 23:59.
    assert formatting.deadline_text(datetime(2026, 12, 8, 21, 0, tzinfo=UTC)) == "08/12/2026 23:59"
    assert formatting.amman_clock(datetime(2026, 12, 8, 6, 30, tzinfo=UTC)) == "09:30"
    bill = formatting.PendingBillPublic.of("2026000123457", 10000, last_day)
    assert bill.amount == "10.000" and bill.due == "08/12/2026 23:59"
    assert "2026000123457" in bill.how_to_pay.ar and "10.000" in bill.how_to_pay.en
    with pytest.raises(ValueError):
        formatting.amman_time(datetime(2026, 12, 8, 6, 30))
