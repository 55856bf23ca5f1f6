"""Issue 11's findings that need no running service: the published OpenAPI documents, the 405's
`Allow`, the response headers, what text, names, dates and phones may be, the registry file's
refusals, and the trusted proxies setting. (Tokens: tests/unit/test_auth.py; the services
themselves under schemathesis: tests/integration/test_schemathesis.py.)"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contracts.phones import PHONE_EXAMPLES, PHONE_PATTERN, jordan_mobile
from services.common.headers import STRICT_CSP, HtmlPage, SecurityHeaders, page_csp
from services.common.openapi import PROBLEM_REF
from services.common.problems import PROBLEM_MEDIA_TYPE
from services.common.settings import ServiceSettings
from services.common.text import IsoAwareDateTime, IsoDate, PersonName, SafeMultiline, SafeText
from services.contractors import registry

SERVICES = ("payments", "notifier", "licensing", "contractors", "courses", "training", "exams")


def build(name: str) -> FastAPI:
    module = __import__(f"services.{name}.app", fromlist=["build"])
    if name == "notifier":
        app: FastAPI = module.build(module.NotifierSettings())
    else:
        app = module.build()
    return app


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return {name: build(name).openapi() for name in SERVICES}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


# ---- the published OpenAPI ---------------------------------------------------------------------


def test_every_error_is_declared_with_the_real_problem_schema(
    documents: dict[str, dict[str, Any]],
) -> None:
    for name, document in documents.items():
        schemas = document["components"]["schemas"]
        assert "HTTPValidationError" not in schemas, name
        assert schemas["Problem"]["required"] == ["type", "title", "title_ar", "status"]
        for path, method, operation in operations(document):
            declared = operation["responses"]
            wanted = {"400", "404", "405", "409", "413", "422", "429"}
            if operation.get("security"):
                wanted |= {"401", "403"}
            assert wanted <= set(declared), (name, method, path, sorted(declared))
            for status, response in declared.items():
                if status.startswith(("4", "5")):
                    assert response["content"] == {
                        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}
                    }, (name, method, path, status)


def test_signed_callbacks_declare_their_401(documents: dict[str, dict[str, Any]]) -> None:
    payments = documents["payments"]["paths"]
    for path in (
        "/v1/providers/efawateercom/payment-notifications",
        "/v1/providers/efawateercom/bill-inquiries",
    ):
        assert {"401", "410"} <= set(payments[path]["post"]["responses"])
    assert "401" in documents["notifier"]["paths"]["/v1/receipts"]["post"]["responses"]


def test_phones_publish_the_accepted_pattern(documents: dict[str, dict[str, Any]]) -> None:
    found = 0
    for document in documents.values():
        for schema in document["components"]["schemas"].values():
            phone = schema.get("properties", {}).get("phone")
            if phone and phone.get("pattern"):
                assert phone["pattern"] == PHONE_PATTERN
                assert phone["examples"] == PHONE_EXAMPLES
                found += 1
    # licensing, courses, training, exams, contractors (the code and the renewal)
    assert found >= 5


@settings(max_examples=300, deadline=None)
@given(st.from_regex(PHONE_PATTERN, fullmatch=True))
def test_every_number_the_phone_pattern_allows_is_accepted(phone: str) -> None:
    assert re.fullmatch(r"\+9627[789][0-9]{7}", jordan_mobile(phone))


def test_the_phone_pattern_refuses_what_is_not_a_mobile() -> None:
    for bad in ("0000000", "0731234567", "+9620791234567", "(079) 123 4567", "0791234567x"):
        assert not re.fullmatch(PHONE_PATTERN.strip("^$"), bad), bad


def test_contractors_publish_the_enforced_year_and_the_import_body(
    documents: dict[str, dict[str, Any]],
) -> None:
    document = documents["contractors"]
    year = document["components"]["schemas"]["PermitLookup"]["properties"]["permit_year"]
    assert (year["minimum"], year["maximum"]) == (1950, 2200)
    body = document["paths"]["/v1/registry/imports"]["post"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"text/csv", "application/json"}


def test_licensing_publishes_its_codes_as_enums(documents: dict[str, dict[str, Any]]) -> None:
    document = documents["licensing"]
    request = document["components"]["schemas"]["RequestCreate"]["properties"]
    assert "wehdat" in request["camp"]["enum"]
    assert "grocery" in request["profession"]["enum"]
    approval = document["paths"]["/v1/requests/{number}/external-approvals/{authority}"]["post"]
    authority = next(p for p in approval["parameters"] if p["name"] == "authority")
    assert "civil_defence" in authority["schema"]["enum"]


def test_a_form_field_is_never_published_as_nullable(documents: dict[str, dict[str, Any]]) -> None:
    form = documents["training"]["components"]["schemas"]["RequestForm"]["properties"]
    assert form["institution_type"] == {"$ref": "#/components/schemas/InstitutionType"}
    assert "anyOf" not in form["national_id"]


def test_a_405_names_every_method_of_the_path() -> None:
    client = TestClient(build("licensing"))

    response = client.delete("/v1/requests/LC-2026-000001/documents/lease_contract")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, PUT"
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE


# ---- headers -----------------------------------------------------------------------------------


def headers_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(SecurityHeaders)

    @app.get("/v1/data")
    async def data() -> dict[str, str]:
        return {"name": "x"}

    @app.get("/v1/page")
    async def page() -> HtmlPage:
        return HtmlPage("<html><head><style>b{color:red}</style></head><body>x</body></html>")

    @app.get("/v1/bare")
    async def bare() -> Any:
        from fastapi.responses import HTMLResponse

        return HTMLResponse("<p>x</p>")

    return app


def test_personal_data_is_not_stored_and_no_referrer_is_sent() -> None:
    response = TestClient(headers_app()).get("/v1/data")

    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


def test_pages_get_a_strict_csp_allowing_only_their_own_styles() -> None:
    client = TestClient(headers_app())

    page = client.get("/v1/page")
    bare = client.get("/v1/bare")

    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert re.search(r"style-src 'sha256-[A-Za-z0-9+/=]{44}'$", csp)
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert bare.headers["content-security-policy"] == STRICT_CSP
    assert page_csp("<p>no style</p>") == STRICT_CSP


def test_the_docs_page_cannot_be_framed() -> None:
    response = TestClient(build("exams")).get("/docs")

    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert "cache-control" not in response.headers


# ---- what text may contain ---------------------------------------------------------------------


class Texts(BaseModel):
    line: SafeText | None = None
    note: SafeMultiline | None = None
    name: PersonName | None = None
    day: IsoDate | None = None
    at: IsoAwareDateTime | None = None


@pytest.mark.parametrize(
    "field",
    ["line", "note", "name"],
)
@pytest.mark.parametrize(
    "value",
    ["a\u0000b", "a\u202egnp.exe", "\u2066x\u2069", "a\u0007b", "a\u200fb", "a\u0085b"],
)
def test_control_and_bidi_characters_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Texts.model_validate({field: value})
    assert raised.value.errors()[0]["loc"] == (field,)


def test_a_note_keeps_its_line_breaks_a_line_does_not() -> None:
    assert Texts(note="first line\nsecond\tline\r\n").note == "first line\nsecond\tline\r\n"
    with pytest.raises(ValidationError):
        Texts(line="two\nlines")
    assert Texts(line="بقالة الأمل - شارع السوق").line == "بقالة الأمل - شارع السوق"


@pytest.mark.parametrize(
    "name",
    ["ليلى أحمد الحداد", "Rania Haddad", "عبدالرَّحمن", "O'Brien-Smith", "José Núñez", "A. Haddad"],
)
def test_names_of_letters_are_names(name: str) -> None:
    assert Texts(name=name).name == name


@pytest.mark.parametrize(
    "name", ["٠٧٩١٢٣٤٥٦٧", "0791234567", "Ali 2", "--", "ليلى_أحمد", "a\u202eb", " Ali", "@@"]
)
def test_digits_and_symbols_are_no_name(name: str) -> None:
    with pytest.raises(ValidationError):
        Texts(name=name)


@pytest.mark.parametrize("day", ["0", 0, "20261205", 1.5, "2026-12-05T00:00:00", "5/12/2026"])
def test_a_date_is_iso_text_never_a_timestamp(day: object) -> None:
    with pytest.raises(ValidationError):
        Texts.model_validate({"day": day})
    assert Texts.model_validate({"day": "2026-12-05"}).day == date(2026, 12, 5)


@pytest.mark.parametrize("at", ["0", 0, 1796000000, "0.5", "2026-12-05"])
def test_an_instant_is_iso_text_never_a_timestamp(at: object) -> None:
    with pytest.raises(ValidationError):
        Texts.model_validate({"at": at})
    parsed = Texts.model_validate_json(json.dumps({"at": "2026-12-05T10:00:00+03:00"})).at
    assert isinstance(parsed, datetime) and parsed.utcoffset() is not None


def test_the_published_patterns_are_the_checks() -> None:
    schema = Texts.model_json_schema()["properties"]
    name = next(s for s in schema["name"]["anyOf"] if s.get("type") == "string")
    assert re.fullmatch(name["pattern"].strip("^$"), "ليلى أحمد")
    assert not re.fullmatch(name["pattern"].strip("^$"), "٠٧٩")


# ---- the registry file -------------------------------------------------------------------------


def test_a_csv_field_beyond_the_csv_limit_is_a_bad_file() -> None:
    header = ",".join(registry.COLUMNS)
    content = (header + "\n" + "x" * 1_000_000).encode()

    with pytest.raises(registry.BadFile, match="not a readable CSV"):
        registry.parse(content, "csv")


def test_deeply_nested_json_is_a_bad_file() -> None:
    with pytest.raises(registry.BadFile, match="not valid JSON"):
        registry.parse(b"[" * 100_000, "json")


# ---- settings ----------------------------------------------------------------------------------


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = ServiceSettings.model_validate({"trusted_proxies": "10.0.0.0/8, 192.0.2.1"})
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        ServiceSettings.model_validate({"trusted_proxies": "*"})


def test_a_registry_name_with_a_bidi_override_is_a_bad_row() -> None:
    header = ",".join(registry.COLUMNS)
    row = "C-1,مؤسسة\u202eالنور,Al-Noor\u0000,buildings,3,,P-1,2026,2026-01-01,2026-12-31,active"

    parsed = registry.parse(f"{header}\n{row}\n".encode(), "csv")

    assert sorted(error.field for error in parsed.errors) == ["name_ar", "name_en"]
