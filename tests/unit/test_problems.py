"""Every error an app can raise reaches the client as an RFC 9457 problem, in Arabic and English."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

import pytest
from fastapi import FastAPI, Header, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.common.problems import (
    PROBLEM_BASE,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    Problem,
    TooManyRequests,
    Unauthorized,
    install_problem_handlers,
    problem_response,
)

PROBLEM_JSON = "application/problem+json"
ARABIC = range(0x0600, 0x0700)


def has_arabic(text: str) -> bool:
    return any(ord(char) in ARABIC for char in text)


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=10, max_length=14, pattern=r"^\+?[0-9]+$")
    age: int = Field(ge=18)
    channel: Literal["sms", "email"]
    national_id: str

    @field_validator("national_id")
    @classmethod
    def _ten_digits(cls, value: str) -> str:
        if len(value) != 10:
            raise ValueError("a national id has 10 digits")
        return value


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/applicants")
    async def create(
        applicant: Applicant,
        idempotency_key: Annotated[str, Header(min_length=8)],
        page: Annotated[int, Query(ge=1)] = 1,
    ) -> dict[str, str]:
        return {"phone": applicant.phone}

    @app.get("/v1/boom")
    async def boom() -> None:
        raise ValueError("database said: citizen 0791234567 not reachable")

    @app.get("/v1/raise/{name}")
    async def raise_problem(name: str) -> None:
        kinds: dict[str, Problem] = {
            "not-found": NotFound("No request 42.", "لا يوجد طلب رقم 42."),
            "forbidden": Forbidden("Staff only.", "للموظفين فقط."),
            "unauthorized": Unauthorized("Log in first.", "سجل الدخول أولاً."),
            "conflict": Conflict("Already paid.", "تم الدفع مسبقًا."),
            "invalid": Invalid(
                "Postponed once already.",
                "تم التأجيل مرة سابقة.",
                errors=[{"field": "date", "message": "too late", "message_ar": "متأخر"}],
            ),
            "gone": Gone("The slot has passed.", "انقضى الموعد."),
            "too-many-requests": TooManyRequests("Slow down.", "تمهل.", retry_after=30),
        }
        raise kinds[name]

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    # raise_server_exceptions=False: Starlette re-raises after sending the 500 problem.
    return TestClient(build_app(), raise_server_exceptions=False)


def test_a_bad_body_names_every_bad_field_in_english_and_arabic(client: TestClient) -> None:
    response = client.post(
        "/v1/applicants?page=0",
        json={"phone": "07x", "age": "old", "channel": "fax", "national_id": "12", "pet": "cat"},
        headers={"Idempotency-Key": "short"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == PROBLEM_BASE + "validation"
    assert problem["status"] == 422
    assert problem["instance"] == "/v1/applicants"
    assert has_arabic(problem["title_ar"])
    by_field = {error["field"]: error for error in problem["errors"]}
    assert set(by_field) == {
        "phone",
        "age",
        "channel",
        "national_id",
        "pet",
        "query.page",
        "header.Idempotency-Key",
    }
    for error in problem["errors"]:
        assert error["message"]
        assert has_arabic(error["message_ar"])
    assert by_field["phone"]["location"] == "body"
    assert by_field["query.page"]["location"] == "query"
    assert by_field["header.Idempotency-Key"]["location"] == "header"
    assert by_field["pet"]["type"] == "extra_forbidden"
    assert by_field["age"]["type"] == "int_parsing"
    assert by_field["phone"]["message_ar"] == "يجب ألا يقل طول النص عن 10 من الأحرف"
    assert (
        by_field["channel"]["message_ar"]
        == "يجب أن تكون القيمة إحدى القيم التالية: 'sms' أو 'email'"
    )
    # A custom validator's error has no Arabic of its own: the generic Arabic message stands in.
    assert by_field["national_id"]["message_ar"] == "القيمة غير صالحة"


def test_rejected_values_are_not_echoed(client: TestClient) -> None:
    response = client.post(
        "/v1/applicants",
        json={"phone": "SECRET-PHONE", "age": "SECRET-AGE", "channel": "SECRET-CHANNEL"},
        headers={"Idempotency-Key": "k" * 16},
    )

    assert response.status_code == 422
    assert "SECRET" not in response.text
    assert {error["field"] for error in response.json()["errors"]} == {
        "phone",
        "age",
        "channel",
        "national_id",
    }


def test_malformed_json_is_a_422_naming_the_body(client: TestClient) -> None:
    response = client.post(
        "/v1/applicants",
        content=b'{"phone": "0791234567", ',
        headers={"Content-Type": "application/json", "Idempotency-Key": "k" * 16},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    [error] = response.json()["errors"]
    assert error["field"] == "body"
    assert error["type"] == "json_invalid"
    assert "JSON" in error["message"]
    assert has_arabic(error["message_ar"])
    assert "0791234567" not in response.text


def test_a_missing_body_is_a_422(client: TestClient) -> None:
    response = client.post("/v1/applicants", headers={"Idempotency-Key": "k" * 16})

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["type"]) == ("body", "missing")
    assert error["message_ar"] == "هذا الحقل مطلوب"


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/v1/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == PROBLEM_BASE + "not-found"
    assert problem["instance"] == "/v1/nowhere"
    assert has_arabic(problem["title_ar"])


def test_a_wrong_method_is_a_405_problem_with_allow(client: TestClient) -> None:
    response = client.delete("/v1/applicants")

    assert response.status_code == 405
    assert response.json()["type"] == PROBLEM_BASE + "method-not-allowed"
    assert response.headers["allow"] == "POST"


def test_an_unexpected_error_is_a_500_without_its_text(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="services.common.problems"):
        response = client.get("/v1/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == PROBLEM_BASE + "internal"
    assert has_arabic(problem["title_ar"])
    assert "0791234567" not in response.text
    assert "ValueError" not in response.text
    assert "Traceback" not in response.text
    # ...but the operators see it.
    assert any(record.exc_info for record in caplog.records)


@pytest.mark.parametrize(
    ("name", "problem_class", "status"),
    [
        ("not-found", NotFound, 404),
        ("forbidden", Forbidden, 403),
        ("unauthorized", Unauthorized, 401),
        ("conflict", Conflict, 409),
        ("invalid", Invalid, 422),
        ("gone", Gone, 410),
        ("too-many-requests", TooManyRequests, 429),
    ],
)
def test_each_problem_kind_has_its_status_and_stable_type(
    client: TestClient, name: str, problem_class: type[Problem], status: int
) -> None:
    response = client.get(f"/v1/raise/{name}")

    assert problem_class.status == status
    assert problem_class.kind == name
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == f"{PROBLEM_BASE}{name}"
    assert problem["status"] == status
    assert problem["title"] == problem_class.title
    assert problem["title_ar"] == problem_class.title_ar
    assert has_arabic(problem["title_ar"])
    assert problem["detail"]
    assert has_arabic(problem["detail_ar"])
    assert problem["instance"] == f"/v1/raise/{name}"


def test_unauthorized_asks_for_a_bearer_token(client: TestClient) -> None:
    response = client.get("/v1/raise/unauthorized")

    assert response.headers["www-authenticate"] == "Bearer"


def test_extensions_reach_the_body(client: TestClient) -> None:
    invalid = client.get("/v1/raise/invalid").json()
    too_many = client.get("/v1/raise/too-many-requests")

    assert invalid["errors"] == [{"field": "date", "message": "too late", "message_ar": "متأخر"}]
    assert too_many.json()["retry_after"] == 30
    assert too_many.headers["retry-after"] == "30"


def test_an_extension_cannot_overwrite_a_problem_member() -> None:
    with pytest.raises(ValueError, match="status"):
        Conflict("x", status=200)
    extensions: dict[str, Any] = {"type": "about:blank"}
    with pytest.raises(ValueError, match="type"):
        problem_response(409, "conflict", "Conflict", "تعارض", **extensions)
