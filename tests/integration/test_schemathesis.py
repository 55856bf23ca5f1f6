"""Every service's published OpenAPI document against its behaviour, by schemathesis.

The seven services run as real processes on one RabbitMQ virtual host of their own (so a request
reaches payments and the notifier), each with its own database. Real records are made first, as
people make them (an exam request and its bill, a licence request, a permit renewal, a course
and an enrolment, a training request, the SMS they caused), and schemathesis is told their
numbers, so its cases reach past 404s. Then, for each service, once with the citizen's token (the
owner of those records) and once with a staff token holding every staff role, `schemathesis run`
with every check (server errors, status codes, content types, headers and bodies against the
schema, positive data accepted, negative data refused, missing headers, methods, auth), positive
and negative data, a bounded number of cases per operation. Zero failures pass.

One rule is adapted to the services, in `tests/integration/schemathesis_hooks.py`: valid data may
be refused by a business rule (a 422 `invalid` problem: a date in the past, a withdrawal after
the exam), so positive data may answer 422, but never a `validation` problem, which says the
data broke the published schema: that is the document lying, and the hook fails it.

`SCHEMATHESIS_MAX_EXAMPLES` (default 8) bounds the fuzzing cases per operation (the coverage phase
adds its boundary cases); `SCHEMATHESIS_SEED` fixes the generation (default 20261205).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.calendar import WorkingCalendar
from services.common.devtoken import mint_token
from tests.integration.codekeys import CODE_PRIVATE_KEY, CODE_PUBLIC_KEY
from tests.integration.conftest import ServiceProcess, eventually
from tests.integration.helpers import bearer
from tests.integration.platform import (
    NOTIFIER_ENV,
    fresh_phone,
    isolated_broker,
    payments_env,
)

ROOT = Path(__file__).resolve().parents[2]
HOOKS = "tests.integration.schemathesis_hooks"
SERVICES = ("payments", "notifier", "licensing", "contractors", "courses", "training", "exams")
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))
PROVIDER_SECRET = "schemathesis-efawateercom-secret-0123456789abcdef"
OTP_CODE = "123456"
CITIZEN = f"citizen-st-{uuid.uuid4().hex[:6]}"
STAFF_ROLES = (
    "contractors.registrar",
    "contractors.reviewer",
    "courses.admin",
    "courses.placement_tester",
    "courses.staff",
    "exams.coordinator",
    "finance.approver",
    "finance.staff",
    "licensing.clerk",
    "licensing.committee",
    "licensing.external_authority",
    "licensing.inspector",
    "notifier.staff",
    "training.reviewer",
    "training.supervisor",
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

pytestmark = pytest.mark.integration


@dataclass
class Platform:
    processes: dict[str, ServiceProcess]
    citizen: str
    staff: str
    # service -> path template (or "*") -> path parameter -> real values
    records: dict[str, dict[str, dict[str, list[str]]]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return self.processes[service].url

    def remember(self, service: str, parameter: str, value: str, path: str = "*") -> None:
        values = self.records.setdefault(service, {}).setdefault(path, {}).setdefault(parameter, [])
        if value not in values:
            values.append(value)


async def call(
    url: str,
    method: str,
    path: str,
    token: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await client.request(
            method, path, json=body, headers={**bearer(token), **(headers or {})}, **options
        )


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def make_records(platform: Platform) -> None:
    """What people do before schemathesis looks: one record of each kind, owned by the citizen."""
    citizen, staff = platform.citizen, platform.staff
    calendar = WorkingCalendar()

    # exams: an official request (which opens a session) and its bill.
    exams = platform.url("exams")
    response = await call(
        exams,
        "POST",
        "/v1/requests",
        citizen,
        {
            "exam_type": "official",
            "exam_code": "icdl-documents",
            "applicant_name": "ليلى أحمد الحداد",
            "id_type": "national_number",
            "id_number": "9871012345",
            "phone": fresh_phone(),
            "lang": "ar",
        },
        headers=key(),
    )
    assert response.status_code == 201, response.text
    exam_request = response.json()
    platform.remember("exams", "number", exam_request["request_number"], "/v1/requests/")

    # licensing: a request with its documents.
    licensing = platform.url("licensing")
    response = await call(
        licensing,
        "POST",
        "/v1/requests",
        citizen,
        {
            "applicant_kind": "individual",
            "applicant": {
                "name": "محمود خليل",
                "phone": fresh_phone(),
                "lang": "ar",
                "id_type": "national",
                "id_number": "9812345678",
            },
            "camp": "wehdat",
            "profession": "grocery",
            "area_m2": 35.5,
            "trade_name": "بقالة الأمل",
            "address": "شارع السوق، بجانب مدرسة الوكالة",
            "tenure": "rented",
        },
        headers=key(),
    )
    assert response.status_code == 201, response.text
    licence_number = response.json()["number"]
    platform.remember("licensing", "number", licence_number)
    for kind in ("occupancy_permit", "lease_contract"):
        uploaded = await call(
            licensing,
            "PUT",
            f"/v1/requests/{licence_number}/documents/{kind}",
            citizen,
            files={"file": ("doc.pdf", PDF, "application/pdf")},
        )
        assert uploaded.status_code == 200, uploaded.text

    # contractors: a permit renewal, code and all (the development code).
    contractors = platform.url("contractors")
    permit = {"contractor_number": "C-10234", "permit_number": "P-2026-0112", "permit_year": 2026}
    response = await call(contractors, "POST", "/v1/lookups", citizen, permit)
    assert response.status_code == 200, response.text
    phone = "0" + fresh_phone().removeprefix("+962")
    response = await call(
        contractors, "POST", "/v1/verifications", citizen, {**permit, "phone": phone, "lang": "ar"}
    )
    assert response.status_code == 201, response.text
    response = await call(
        contractors,
        "POST",
        "/v1/requests",
        citizen,
        {
            **permit,
            "reason": "انتهاء مدة التصريح",
            "phone": phone,
            "verification_id": response.json()["verification_id"],
            "code": OTP_CODE,
            "lang": "ar",
        },
        headers=key(),
    )
    assert response.status_code == 201, response.text
    platform.remember("contractors", "number", response.json()["request_number"], "/v1/requests/")
    platform.remember("contractors", "number", "C-10234", "/v1/registry/contractors/")

    # courses: a published course and an enrolment.
    courses = platform.url("courses")
    starts = datetime.now(UTC) + timedelta(days=10)
    response = await call(
        courses,
        "POST",
        "/v1/courses",
        staff,
        {
            "title": {"ar": "أساسيات البرمجة بلغة بايثون", "en": "Python programming basics"},
            "fee_fils": 0,
            "minimum": 1,
            "capacity": 20,
            "starts_at": starts.isoformat(),
            "schedule": {"ar": "الأحد والثلاثاء 5-7 مساءً", "en": "Sun and Tue 5-7 pm"},
            "place": {"ar": "المحطة المعرفية - ماركا", "en": "Knowledge Station, Marka"},
        },
    )
    assert response.status_code == 201, response.text
    code = response.json()["code"]
    response = await call(courses, "POST", f"/v1/courses/{code}/publish", staff)
    assert response.status_code == 200, response.text
    platform.remember("courses", "code", code)
    response = await call(
        courses,
        "POST",
        "/v1/requests",
        citizen,
        {
            "course_code": code,
            "applicant": {
                "name": "ليلى أحمد",
                "phone": fresh_phone(),
                "lang": "ar",
                "national_id": "9912345678",
            },
        },
        headers=key(),
    )
    assert response.status_code == 201, response.text
    platform.remember("courses", "number", response.json()["number"])

    # training: a student's request with its attachment.
    training = platform.url("training")
    start = calendar.add_working_days(calendar.local_date(datetime.now(UTC)), 14)
    response = await call(
        training,
        "POST",
        "/v1/requests",
        citizen,
        data={
            "kind": "training",
            "applicant_type": "nominated",
            "institution_type": "university",
            "institution_name": "الجامعة الأردنية",
            "department_code": "information_technology",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=27)).isoformat(),
            "name": "سامي خالد",
            "phone": fresh_phone(),
            "lang": "ar",
            "national_id": "9911223344",
        },
        files={"attachment": ("document.pdf", PDF, "application/pdf")},
        headers=key(),
    )
    assert response.status_code == 201, response.text
    platform.remember("training", "number", response.json()["number"])

    # payments: the exam's bill; notifier: the SMS all this caused.
    payments, notifier = platform.url("payments"), platform.url("notifier")

    async def bill() -> str | None:
        listed = await call(payments, "GET", "/v1/bills", staff)
        items = listed.json()["items"] if listed.status_code == 200 else []
        return items[0]["e_payment_number"] if items else None

    platform.remember("payments", "e_payment_number", await eventually(bill, timeout=30))

    async def message() -> str | None:
        listed = await call(notifier, "GET", "/v1/messages", staff)
        items = listed.json()["items"] if listed.status_code == 200 else []
        return items[0]["id"] if items else None

    platform.remember("notifier", "message_id", await eventually(message, timeout=30))

    # exams: the session an official request joins once paid, if one is listed already.
    sessions = (await call(exams, "GET", "/v1/sessions", staff)).json().get("items", [])
    for session in sessions[:1]:
        platform.remember("exams", "number", session["session_number"], "/v1/sessions/")


@pytest.fixture(scope="module")
async def platform(
    infra: Any, jwt_keys: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    folder = tmp_path_factory.mktemp("schemathesis")
    suffix = uuid.uuid4().hex[:8]
    database = f"t_{uuid.uuid4().hex[:10]}"
    async with AsyncExitStack() as stack:
        broker = await stack.enter_async_context(
            isolated_broker(infra.amqp_url, f"schemathesis-{suffix}")
        )
        common = {
            "ENVIRONMENT": "test",
            "AMQP_URL": broker.url,
            "MONGO_URL": infra.mongo_url,
            "QUEUE_TYPE": os.environ.get("QUEUE_TYPE", "classic"),
            "QUEUE_SUFFIX": suffix,
            "JWT_PUBLIC_KEY": jwt_keys[1],
            # The one-time codes' keys of the suite (not the development ones `make run` writes
            # under .local, which a fresh clone has only once the acceptance suite ran).
            "NOTIFIER_CODE_PUBLIC_KEY": CODE_PUBLIC_KEY,
            "NOTIFIER_CODE_PRIVATE_KEY": CODE_PRIVATE_KEY,
            "OUTBOX_POLL_SECONDS": "0.5",
            "LOG_LEVEL": "WARNING",
        }
        own: dict[str, dict[str, str]] = {
            "payments": payments_env(PROVIDER_SECRET),
            "notifier": NOTIFIER_ENV,
            # The development code and the sample registry, as `make run` has them.
            "contractors": {"ENVIRONMENT": "development", "CONTRACTORS_OTP_DEV_CODE": OTP_CODE},
        }
        processes = {
            name: ServiceProcess(
                f"services.{name}",
                {**common, "MONGO_DATABASE": f"{database}_{name}", **own.get(name, {})},
                folder / f"{name}.log",
            )
            for name in SERVICES
        }
        try:
            for process in processes.values():
                process.start()
            for process in processes.values():
                await process.wait_ready(timeout=60)
            platform = Platform(
                processes,
                citizen=mint_token(CITIZEN, ["citizen"], private_key_pem=jwt_keys[0]),
                staff=mint_token("staff-st", STAFF_ROLES, private_key_pem=jwt_keys[0]),
            )
            await make_records(platform)
            yield platform
        finally:
            for process in processes.values():
                process.terminate(timeout=20)


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def config_for(platform: Platform, service: str, document: dict[str, Any]) -> str:
    """schemathesis.toml: the checks' expectations, and the real records per path parameter."""
    lines = [
        "[checks.positive_data_acceptance]",
        # A business rule may refuse well-formed data (422 `invalid`, 410); the hook makes sure
        # the refusal is never a `validation` problem, which would mean the schema is too loose.
        'expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "410", "422", "429"]',
        "",
    ]
    records = platform.records.get(service, {})
    dictionaries: list[str] = []
    operations: list[str] = []
    for template in document["paths"]:
        parameters: dict[str, str] = {}
        for prefix, values_by_name in records.items():
            if prefix != "*" and not template.startswith(prefix):
                continue
            for name, values in values_by_name.items():
                if "{" + name + "}" not in template:
                    continue
                dictionary = f"d{len(dictionaries)}"
                dictionaries += [
                    f"[dictionaries.{dictionary}]",
                    f"values = [{', '.join(toml_string(v) for v in values)}]",
                    "",
                ]
                parameters[f"path.{name}"] = dictionary
        if parameters:
            operations += ["[[operations]]", f"include-path = {toml_string(template)}"]
            operations += ["[operations.parameters]"]
            operations += [
                f'"{name}" = {{ dictionary = "{dictionary}", probability = 0.8 }}'
                for name, dictionary in parameters.items()
            ]
            operations.append("")
    return "\n".join([*lines, *dictionaries, *operations]) + "\n"


def schemathesis_command(url: str, config: Path, token: str) -> list[str]:
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--mode",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        # One worker per run (hypothesis is not thread-safe: two workers in one process met
        # "AST constructor recursion depth mismatch"); the two runs of a service go side by side.
        "--workers",
        "1",
        "--seed",
        os.environ.get("SCHEMATHESIS_SEED", "20261205"),
        "--generation-database",
        "none",
        "--request-timeout",
        "15",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
        "--header",
        f"Authorization: Bearer {token}",
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_the_published_contract_holds(platform: Platform, service: str, tmp_path: Path) -> None:
    """schemathesis as the citizen and as staff, side by side; zero failures."""
    url = platform.url(service)
    document = httpx.get(f"{url}/openapi.json", timeout=10).json()
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_for(platform, service, document), encoding="utf-8")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    runs = {}
    for who, token in (("citizen", platform.citizen), ("staff", platform.staff)):
        folder = tmp_path / who
        folder.mkdir()
        runs[who] = subprocess.Popen(
            schemathesis_command(url, config, token),
            cwd=folder,
            env=env,
            stdout=(folder / "out.txt").open("w"),
            stderr=subprocess.STDOUT,
        )
    failures = []
    for who, process in runs.items():
        try:
            code = process.wait(timeout=600)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if code != 0:
            output = (tmp_path / who / "out.txt").read_text(encoding="utf-8", errors="replace")
            failures.append(f"---- as {who}: exit {code}\n" + "\n".join(output.splitlines()[-300:]))
    print(f"schemathesis {service}: {time.monotonic() - started:.1f}s")
    assert not failures, "\n".join(failures)


# ---- the review's findings, against the running services -----------------------------------------

PROTECTED = {
    "payments": "/v1/bills",
    "notifier": "/v1/messages",
    "licensing": "/v1/requests",
    "contractors": "/v1/requests",
    "courses": "/v1/requests",
    "training": "/v1/requests",
    "exams": "/v1/requests",
}


def foreign_tokens(jwt_keys: tuple[str, str]) -> dict[str, str]:
    """Tokens every service must answer with 401, whoever signed them."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    claims = {
        "sub": CITIZEN,
        "roles": ["citizen"],
        "iss": "amman-dev",
        "aud": "amman-eservices",
        "exp": int(time.time()) + 600,
    }
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return {
        "ES256 by any key": jwt.encode(claims, ec_key, algorithm="ES256"),
        "ES256 header on garbage": jwt.encode(claims, ec_key, algorithm="ES256").rsplit(".", 1)[0]
        + ".AAAA",
        "100 KB, validly signed": jwt.encode(
            {**claims, "pad": "x" * 100_000}, jwt_keys[0], algorithm="RS256"
        ),
        "no audience": mint_token(CITIZEN, ["citizen"], private_key_pem=jwt_keys[0], audience=None),
        "another issuer": mint_token(
            CITIZEN, ["citizen"], private_key_pem=jwt_keys[0], issuer="https://evil.example"
        ),
    }


async def test_a_foreign_token_is_a_401_on_every_service(
    platform: Platform, jwt_keys: tuple[str, str]
) -> None:
    tokens = foreign_tokens(jwt_keys)
    for service, path in PROTECTED.items():
        for what, token in tokens.items():
            response = await call(platform.url(service), "GET", path, token)
            assert response.status_code == 401, (service, what, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"] == "Bearer"
        # The right token still works.
        assert (await call(platform.url(service), "GET", path, platform.staff)).status_code == 200


async def test_responses_carry_the_safe_headers_and_no_server_banner(platform: Platform) -> None:
    for service, path in PROTECTED.items():
        response = await call(platform.url(service), "GET", path, platform.citizen)
        assert response.status_code == 200, (service, response.text)
        assert "server" not in response.headers, service
        assert response.headers["cache-control"] == "no-store", service
        assert response.headers["referrer-policy"] == "no-referrer", service
        assert response.headers["x-content-type-options"] == "nosniff", service


@pytest.mark.parametrize("path", ["/v1/bills", "/v1/refunds", "/v1/payment-exceptions"])
async def test_a_huge_page_number_is_a_422(platform: Platform, path: str) -> None:
    response = await call(
        platform.url("payments"), "GET", path, platform.staff, params={"page": 2**63 - 1}
    )

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["query.page"]


@pytest.mark.parametrize(
    ("service", "path", "parameter", "value"),
    [
        ("payments", "/v1/reports/daily", "day", "0"),
        ("payments", "/v1/bills", "issued_to", "0"),
        ("payments", "/v1/payment-exceptions", "received_from", "1796000000"),
        ("exams", "/v1/requests", "submitted_to", "0"),
        ("notifier", "/v1/messages", "created_to", "0.5"),
    ],
)
async def test_a_number_is_no_date(
    platform: Platform, service: str, path: str, parameter: str, value: str
) -> None:
    response = await call(
        platform.url(service), "GET", path, platform.staff, params={parameter: value}
    )

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [f"query.{parameter}"]


async def test_the_registry_import_refuses_unreadable_files_naming_the_body(
    platform: Platform,
) -> None:
    contractors = platform.url("contractors")
    header = "contractor_number,name_ar,name_en,classification,category,phone,permit_number,"
    header += "permit_year,valid_from,valid_to,permit_status\n"
    for content, content_type in (
        ((header + "x" * 1_048_576).encode(), "text/csv"),  # one 1 MB line
        (b"[" * 100_000, "application/json"),  # 100,000 nested brackets
    ):
        response = await call(
            contractors,
            "POST",
            "/v1/registry/imports",
            platform.staff,
            content=content,
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "body"


async def test_text_with_controls_and_a_name_of_digits_are_refused(platform: Platform) -> None:
    licensing = platform.url("licensing")
    body = {
        "applicant_kind": "individual",
        "applicant": {
            "name": "٠٧٩١٢٣٤٥٦٧",
            "phone": fresh_phone(),
            "lang": "ar",
            "id_type": "national",
            "id_number": "9812345678",
        },
        "camp": "wehdat",
        "profession": "grocery",
        "area_m2": 20,
        "trade_name": "a\u0000b\u202egnp.exe",
        "address": "شارع السوق\u2066 رقم 5",
        "tenure": "rented",
    }
    response = await call(licensing, "POST", "/v1/requests", platform.citizen, body, headers=key())

    assert response.status_code == 422, response.text
    fields = sorted(e["field"] for e in response.json()["errors"])
    assert fields == ["address", "applicant.name", "trade_name"]


@pytest.mark.parametrize("amount", ["1e1", "٢٥.٠٠٠", 25, "+25.000"])
async def test_a_provider_amount_is_only_the_documented_text(
    platform: Platform, amount: object
) -> None:
    from services.payments import simulator

    number = platform.records["payments"]["*"]["e_payment_number"][0]
    body = json.loads(
        simulator.notification_body(
            number, amount_fils=25000, due_fils=25000, biller_code="106", service_type="exams"
        )
    )
    body["PaidAmt"] = amount
    content = json.dumps(body).encode()
    response = await call(
        platform.url("payments"),
        "POST",
        simulator.PREFIX + "/payment-notifications",
        platform.citizen,
        content=content,
        headers=simulator.signed_headers(content, PROVIDER_SECRET.encode()),
    )

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["PaidAmt"]
