"""The domain's refusals (services/common/errors.py) and their one mapping to problem responses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common import errors
from services.common.errors import (
    DomainError,
    FieldError,
    Gone,
    NotAllowedNow,
    NotPermitted,
    RuleBroken,
    Throttled,
    Unknown,
)
from services.common.problems import PROBLEM_BASE, install_problem_handlers, problem_of


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (Unknown("no such thing", "لا يوجد"), 404, "not-found"),
        (NotPermitted("not yours", "ليس لك"), 403, "forbidden"),
        (NotAllowedNow("not now", "ليس الآن"), 409, "conflict"),
        (Gone("used up", "انتهى"), 410, "gone"),
        (RuleBroken("against the rules", "مخالف"), 422, "invalid"),
        (DomainError("any other refusal", "رفض"), 422, "invalid"),
        (Throttled("slow down", "تمهل", retry_after=30), 429, "too-many-requests"),
    ],
)
def test_each_refusal_has_its_problem(error: DomainError, status: int, kind: str) -> None:
    problem = problem_of(error)
    assert (problem.status, problem.kind) == (status, kind)
    assert (problem.detail, problem.detail_ar) == (error.detail, error.detail_ar)


def test_a_refusal_without_fields_has_no_errors_member() -> None:
    assert problem_of(NotAllowedNow("not now", "ليس الآن")).extensions == {}


def test_the_fields_at_fault_become_the_errors_member() -> None:
    error = RuleBroken(
        "the date is not acceptable",
        "التاريخ غير مقبول",
        [
            FieldError("exam_at", "Not a working day", "ليس يوم عمل", "working_day"),
            FieldError("phone", "Not a mobile", "ليس رقماً خلوياً"),
        ],
    )
    assert problem_of(error).extensions == {
        "errors": [
            {
                "field": "exam_at",
                "location": "body",
                "message": "Not a working day",
                "message_ar": "ليس يوم عمل",
                "type": "working_day",
            },
            {
                "field": "phone",
                "location": "body",
                "message": "Not a mobile",
                "message_ar": "ليس رقماً خلوياً",
            },
        ]
    }


def test_the_short_form_names_one_field_with_the_errors_own_message() -> None:
    error = NotAllowedNow("Already postponed once.", "سبق التأجيل.", field="start_date")
    assert error.field == "start_date"
    assert problem_of(error).extensions == {
        "errors": [
            {
                "field": "start_date",
                "message": "Already postponed once.",
                "message_ar": "سبق التأجيل.",
            }
        ]
    }


def test_the_handler_answers_an_escaping_refusal_with_its_problem() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/codes")
    async def send() -> None:
        raise Throttled("Too many codes; try again later.", "محاولات كثيرة.", retry_after=42)

    @app.post("/v1/requests/{number}/approval")
    async def approve(number: str) -> None:
        raise RuleBroken("Bad date.", "تاريخ غير صالح.", [FieldError("day", "Closed", "عطلة", "x")])

    client = TestClient(app)
    throttled = client.post("/v1/codes")
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "42"
    assert throttled.headers["content-type"] == "application/problem+json"
    assert throttled.json()["type"] == PROBLEM_BASE + "too-many-requests"
    assert throttled.json()["retry_after"] == 42

    refused = client.post("/v1/requests/EX-1/approval")
    assert refused.status_code == 422
    assert refused.json() == {
        "type": PROBLEM_BASE + "invalid",
        "title": "Request not allowed by the rules",
        "title_ar": "الطلب غير مقبول وفق الشروط",
        "status": 422,
        "detail": "Bad date.",
        "detail_ar": "تاريخ غير صالح.",
        "instance": "/v1/requests/EX-1/approval",
        "errors": [
            {
                "field": "day",
                "location": "body",
                "message": "Closed",
                "message_ar": "عطلة",
                "type": "x",
            }
        ],
    }


def test_the_errors_module_is_pure() -> None:
    """Domain modules import it: it must not bring HTTP or I/O with it."""
    tree = ast.parse(Path(errors.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "collections.abc", "dataclasses"}, imported
