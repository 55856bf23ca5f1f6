"""The licensing service end to end: licensing, payments and the notifier as real processes.

One set of the three processes serves the whole package (each test makes its own applicants and
requests, so they do not meet); each process has its own database. They talk on a RabbitMQ
virtual host of their own, so that no other suite's payments process bills our requests (or moves
their clock). Licensing and payments read one clock file, so a test moves their time together
(`platform.move_clock`), forward only. SMS are read back from the notifier's API, as a person
would; the events on the exchange are recorded (`platform.published`) for the redelivery test.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx

from services.common.calendar import WorkingCalendar
from tests.integration.conftest import ServiceProcess
from tests.integration.platform import BasePlatform, Published, fresh_subject, package_platform

SECRET = "integration-test-efawateercom-secret-0123456789"
CLERK = "licensing.clerk"
INSPECTOR = "licensing.inspector"
COMMITTEE = "licensing.committee"
EXTERNAL = "licensing.external_authority"
AMMAN = ZoneInfo("Asia/Amman")
CALENDAR = WorkingCalendar()
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Grocery, 35.5 m²: 25.000 JOD for the first 20 m², then 16 m² at 0.500 JOD.
GROCERY_FEE = 33_000


@dataclass(kw_only=True)
class Platform(BasePlatform):
    published: Published
    SERVICE_TYPE: ClassVar[str] = "LICENSING"
    PROVIDER_SECRET: ClassVar[str] = SECRET

    @property
    def licensing(self) -> ServiceProcess:
        return self.service

    # ---- time ------------------------------------------------------------------------------

    async def move_clock(self, instant: datetime) -> None:
        """Licensing's and payments' time jumps to `instant` (and runs on from there)."""
        assert instant >= self.now(), "the clock only moves forward"
        await super().move_clock(instant)

    def next_slot(self, working_days: int = 1, hour: int = 10) -> datetime:
        """`hour` o'clock in Amman on the `working_days`-th working day from the services' today."""
        day = CALENDAR.add_working_days(CALENDAR.local_date(self.now()), working_days)
        return datetime.combine(day, time(hour), tzinfo=AMMAN).astimezone(UTC)

    # ---- identities ------------------------------------------------------------------------

    @property
    def clerk(self) -> str:
        return self.token("clerk-1", CLERK)

    @property
    def inspector(self) -> str:
        return self.token("inspector-1", INSPECTOR)

    @property
    def committee(self) -> str:
        return self.token("committee-1", COMMITTEE)

    def staff_token(self) -> str:
        return self.clerk

    # ---- the applicant ---------------------------------------------------------------------

    def citizen(self) -> str:
        return fresh_subject()

    def request_body(self, lang: str = "ar", **changes: Any) -> dict[str, Any]:
        phone = f"+96279{random.randrange(10**6, 10**7):07d}"
        body: dict[str, Any] = {
            "applicant_kind": "individual",
            "applicant": {
                "name": "محمود خليل",
                "phone": phone,
                "lang": lang,
                "id_type": "national",
                "id_number": f"98{random.randrange(10**7, 10**8):08d}",
            },
            "camp": "wehdat",
            "profession": "grocery",
            "area_m2": 35.5,
            "trade_name": "بقالة الأمل",
            "address": "شارع السوق، بجانب مدرسة الوكالة",
            "tenure": "rented",
        }
        body.update(changes)
        return body

    async def create(self, subject: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.call(
            "POST",
            "/v1/requests",
            self.token(subject),
            body or self.request_body(),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )

    async def upload(
        self,
        number: str,
        subject: str,
        kind: str,
        data: bytes = PDF,
        filename: str = "doc.pdf",
        content_type: str = "application/pdf",
    ) -> httpx.Response:
        return await self.call(
            "PUT",
            f"/v1/requests/{number}/documents/{kind}",
            self.token(subject),
            files={"file": (filename, data, content_type)},
        )

    async def submitted(self, lang: str = "ar", **changes: Any) -> tuple[str, str]:
        """A new applicant's request, with its documents, submitted: (number, subject)."""
        subject = self.citizen()
        body = self.request_body(lang, **changes)
        created = await self.create(subject, body)
        assert created.status_code == 201, created.text
        number: str = created.json()["number"]
        second = "lease_contract" if body["tenure"] == "rented" else "allocation_document"
        for kind in ("occupancy_permit", second):
            uploaded = await self.upload(number, subject, kind)
            assert uploaded.status_code == 200, uploaded.text
        response = await self.act(number, subject, "submit")
        assert response.status_code == 200, response.text
        return number, subject

    async def act(self, number: str, subject: str, action: str) -> httpx.Response:
        return await self.call("POST", f"/v1/requests/{number}/{action}", self.token(subject))

    # ---- staff -----------------------------------------------------------------------------

    async def check_documents(
        self, number: str, issues: list[dict[str, Any]] | None = None
    ) -> httpx.Response:
        body = {"accepted": not issues, "issues": issues or []}
        return await self.call("POST", f"/v1/requests/{number}/document-check", self.clerk, body)

    async def schedule(self, number: str, at: datetime) -> httpx.Response:
        return await self.call(
            "POST",
            f"/v1/requests/{number}/inspection",
            self.inspector,
            {"inspection_at": at.isoformat()},
        )

    async def inspect(
        self, number: str, compliant: bool, findings: str | None = None
    ) -> httpx.Response:
        """Go to the appointment (the clock moves to it) and record the result."""
        at = datetime.fromisoformat((await self.request(number))["inspection_at"])
        if at > self.now():
            await self.move_clock(at)
        return await self.call(
            "POST",
            f"/v1/requests/{number}/inspection-result",
            self.inspector,
            {"compliant": compliant, "findings": findings},
        )

    async def decide(self, number: str, decision: str, **extra: Any) -> httpx.Response:
        return await self.call(
            "POST",
            f"/v1/requests/{number}/committee-decision",
            self.committee,
            {"decision": decision, **extra},
        )

    async def to_committee(self, number: str) -> None:
        """Documents accepted, inspection scheduled and passed: before the committee."""
        assert (await self.check_documents(number)).status_code == 200
        await self.to_committee_from_inspection(number)

    async def to_committee_from_inspection(self, number: str) -> None:
        assert (await self.schedule(number, self.next_slot())).status_code == 200
        response = await self.inspect(number, compliant=True)
        assert response.status_code == 200, response.text
        assert (await self.request(number))["status"] == "committee_review"

    # ---- SMS and payments ------------------------------------------------------------------

    async def sms(self, number: str, template: str, count: int = 1, timeout: float = 25) -> str:
        """The text of the `count`-th SMS sent for `number` from `template` (waits for it)."""
        return await self.sms_of(number, template, count, timeout)

    async def sms_texts(self, number: str, template: str) -> list[str]:
        return [m["text"] for m in await self.messages(number) if m["template"] == template]

    async def pay(self, e_payment_number: str, amount_fils: int) -> None:
        await self.notify_payment(e_payment_number, amount_fils)


def link_to_itself(licensing: ServiceProcess) -> None:
    """The licence's link in the SMS points at this very process, so a test can follow it."""
    licensing.env["LICENSING_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{licensing.port}"


platform = package_platform(
    Platform,
    "licensing",
    payments_secret=SECRET,
    prepare=link_to_itself,
    record=("licensing.#", "payments.bill.#"),
    require_vhost=True,
)
