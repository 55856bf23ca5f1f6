"""The SMS catalogue: every SMS-bearing event has both templates, every template renders within 3
segments for long real values, and the README shows exactly what the templates say."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import REGISTRY
from services.notifier import catalogue as catalogue_module
from services.notifier.catalogue import (
    TEMPLATES_DIR,
    Catalogue,
    TemplateEntry,
    TemplateError,
    UnknownTemplate,
    command_context,
    load,
    render_readme,
)
from services.notifier.domain import LANGUAGES, MAX_SEGMENTS, count_segments

CATALOGUE = load()
LONG_NAME = "عبد الرحمن محمد عبد الله أبو الهيجاء الخطيب العمري"
# What staff and services really write, at its longest: each field's worst case.
LONG_VALUES: dict[str, Any] = {
    "name": LONG_NAME,
    "ar": "رسوم ترخيص مهنة لأول مرة: محل بيع مواد غذائية وخضار وفواكه ومواد تنظيف داخل مخيم البقعة",
    "en": "First professional licence fee: grocery, vegetables, fruit and cleaning "
    "supplies shop inside Baqa'a camp",
    "reason": "لم يُرفق المتقدم أي وثيقة رسمية تثبت سبب التغيب عن الدورة في الموعد المؤجل، "
    "ولذلك لا يمكن رد المبلغ وفق تعليمات الدائرة المالية في أمانة عمّان الكبرى",
    "request_number": "LI-2026-999999",
    "e_payment_number": "2026999999999999",
    "amount_fils": 99_999_999,
    "biller_code": "1234",
    "code": "12345678",
}


def _longest(value: Any, key: str | None = None) -> Any:
    if isinstance(value, Mapping):
        return {name: _longest(item, name) for name, item in value.items()}
    return LONG_VALUES.get(key, value) if key is not None else value


def _long_context(entry: TemplateEntry) -> Any:
    longest = TemplateEntry(entry.name, entry.trigger, entry.when, _longest(entry.sample))
    return CATALOGUE.sample_context(longest)  # also checks the values are still valid events


def test_every_event_that_notifies_the_applicant_has_an_arabic_and_an_english_template() -> None:
    notifying = {spec.routing_key for spec in REGISTRY if spec.notifies_applicant}

    missing = sorted(notifying - set(CATALOGUE.event_types()))
    assert not missing, (
        f"these events notify the applicant but have no SMS template: {missing}. Add "
        "services/notifier/templates/<event type>.ar.j2 and .en.j2 and an entry in "
        "templates/catalogue.json, then run python -m services.notifier.catalogue "
        "(services/notifier/README.md, 'Events: the SMS catalogue')"
    )
    for event_type in notifying:
        for lang in LANGUAGES:
            assert (TEMPLATES_DIR / f"{event_type}.{lang}.j2").is_file(), (event_type, lang)


def test_every_event_template_answers_a_registered_event_that_notifies() -> None:
    for event_type in CATALOGUE.event_types():
        assert event_type in REGISTRY, f"{event_type}: no such event type"
        assert REGISTRY.spec_for(event_type).notifies_applicant, event_type
        assert "applicant" in REGISTRY.spec_for(event_type).data_model.model_fields


def test_every_template_file_is_in_the_catalogue() -> None:
    files = {path.name for path in TEMPLATES_DIR.glob("*.j2")}
    listed = {f"{entry.name}.{lang}.j2" for entry in CATALOGUE.entries for lang in LANGUAGES}

    assert files == listed


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("entry", CATALOGUE.entries, ids=lambda entry: entry.name)
def test_every_template_renders_within_3_segments_with_long_values(
    entry: TemplateEntry, lang: str
) -> None:
    text = CATALOGUE.render(entry.name, lang, _long_context(entry))

    assert count_segments(text).count <= MAX_SEGMENTS, (len(text), text)
    assert "\n" not in text and "  " not in text and text == text.strip()
    assert "{" not in text and "None" not in text


@pytest.mark.parametrize("entry", CATALOGUE.entries, ids=lambda entry: entry.name)
def test_arabic_is_arabic_and_english_is_english(entry: TemplateEntry) -> None:
    context = CATALOGUE.sample_context(entry)
    arabic = CATALOGUE.render(entry.name, "ar", context)
    english = CATALOGUE.render(entry.name, "en", context)

    assert arabic.startswith("أمانة عمّان الكبرى")
    assert english.startswith("Greater Amman Municipality")
    assert count_segments(arabic).encoding == "UCS-2"


def test_the_bill_sms_carries_the_request_the_number_the_amount_and_the_due_time() -> None:
    entry = CATALOGUE.entry("payments.bill.issued.v1", "event")
    context = CATALOGUE.sample_context(entry)

    arabic = CATALOGUE.render(entry.name, "ar", context)
    english = CATALOGUE.render(entry.name, "en", context)

    for text in (arabic, english):
        assert "EX-2026-000123" in text
        assert "2026000123457" in text
        # Due 2026-12-01T20:59Z is 23:59 in Amman (UTC+3).
        assert "01/12/2026 23:59" in text
    assert "12.500 دينار" in arabic
    assert "12.500 JOD" in english


def test_the_refund_sms_leaves_out_a_reason_that_was_not_given() -> None:
    entry = CATALOGUE.entry("payments.refund.rejected.v1", "event")
    sample = {key: value for key, value in entry.sample.items() if key != "reason"}
    context = CATALOGUE.sample_context(TemplateEntry(entry.name, "event", entry.when, sample))

    assert "السبب" not in CATALOGUE.render(entry.name, "ar", context)
    assert "Reason" not in CATALOGUE.render(entry.name, "en", context)


def test_the_one_time_code_shows_until_when_it_is_valid_in_amman_time() -> None:
    context = command_context({"code": "482913"}, datetime(2026, 12, 1, 11, 35, tzinfo=UTC))

    assert "482913" in CATALOGUE.render("one_time_code", "en", context)
    assert "14:35" in CATALOGUE.render("one_time_code", "ar", context)


def test_a_missing_value_is_an_error_never_a_blank() -> None:
    with pytest.raises(TemplateError, match="one_time_code"):
        CATALOGUE.render("one_time_code", "ar", command_context({}, None))


def test_an_unknown_template_or_trigger_is_refused() -> None:
    with pytest.raises(UnknownTemplate):
        CATALOGUE.entry("exams.request.submitted.v1", "event")
    with pytest.raises(UnknownTemplate):
        CATALOGUE.entry("payments.bill.issued.v1", "command")


def test_an_unknown_language_falls_back_to_arabic() -> None:
    context = command_context({"code": "1"}, None)

    assert CATALOGUE.render("one_time_code", "fr", context) == CATALOGUE.render(
        "one_time_code", "ar", context
    )


def test_a_catalogue_entry_without_its_files_stops_the_start(tmp_path: Path) -> None:
    entry = TemplateEntry("payments.bill.paid.v1", "event", "never", {})

    with pytest.raises(Exception, match=r"payments\.bill\.paid\.v1\.ar\.j2"):
        Catalogue([entry], tmp_path)


def test_the_readme_shows_the_current_catalogue_and_states() -> None:
    readme = catalogue_module.README.read_text(encoding="utf-8")

    assert render_readme(readme, CATALOGUE) == readme, (
        "run: .venv/bin/python -m services.notifier.catalogue"
    )


def test_the_domain_imports_no_io() -> None:
    source = (Path(catalogue_module.__file__).with_name("domain.py")).read_text()
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    forbidden = ("fastapi", "faststream", "pymongo", "services", "httpx", "aio_pika", "jinja2")

    # The shared formatting rules are pure too (no I/O): the one services module allowed.
    imported.discard("services.common.formatting")
    assert not [name for name in imported if name.split(".")[0] in forbidden], imported
