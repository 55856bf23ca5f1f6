"""The SMPP gateway against a real SMSC written by others (npm's `smpp` server, `smsc/smsc.js`):
the notifier runs as its own process on the real broker and database, binds to that SMSC and
sends; the SMSC records every PDU, answers, throttles, drops the link and sends receipts."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from contracts.notifier import SendSms
from services.notifier.domain import count_segments
from services.notifier.smpp import concatenation_reference
from tests.integration.conftest import ServiceProcess, delete_suffixed_queues, eventually
from tests.integration.notifier.conftest import Reader, random_phone, send_command
from tests.integration.notifier.smsc import PASSWORD, SYSTEM_ID, Smsc, short_message

pytestmark = pytest.mark.integration

STAFF = "notifier.staff"
ENGLISH = "Your e-payment number is 2026000123457: 12.500 JOD, due 01/12/2026 23:59."
ARABIC = "رقم الدفع الإلكتروني 2026000123457، المبلغ 12.500 دينار."
LONG_ENGLISH = (
    "Amman municipality: your trial exam request EX-2026-000123 is approved. Pay 12.500 JOD "
    "with e-payment number 2026000123457 by 01/12/2026 23:59; then book your seat [online]."
)
LONG_ARABIC = (
    "أمانة عمّان: تمت الموافقة على طلب الامتحان التجريبي رقم EX-2026-000123. يرجى دفع 12.500 "
    "دينار برقم الدفع الإلكتروني 2026000123457 قبل 01/12/2026 23:59."
)


@pytest.fixture
async def smsc(tmp_path: Path) -> AsyncIterator[Smsc]:
    server = Smsc(tmp_path / "smsc.log")
    await server.start()
    yield server
    server.stop()


def smpp_env(smsc: Smsc, **overrides: str) -> dict[str, str]:
    return {
        "NOTIFIER_GATEWAY": "smpp",
        "NOTIFIER_SMPP_HOST": "127.0.0.1",
        "NOTIFIER_SMPP_PORT": str(smsc.port),
        "NOTIFIER_SMPP_SYSTEM_ID": SYSTEM_ID,
        "NOTIFIER_SMPP_PASSWORD": PASSWORD,
        "NOTIFIER_SMPP_ENQUIRE_LINK_SECONDS": "1",
        "NOTIFIER_SMPP_RESPONSE_TIMEOUT_SECONDS": "1.5",
        "NOTIFIER_SMPP_REBIND_MIN_SECONDS": "0.2",
        "NOTIFIER_SMPP_REBIND_MAX_SECONDS": "1",
        "NOTIFIER_SMPP_BIND_WAIT_SECONDS": "3",
        "NOTIFIER_SMPP_WINDOW": "4",
        "NOTIFIER_MAX_ATTEMPTS": "3",
        "NOTIFIER_BACKOFF_BASE_SECONDS": "0.2",
        "NOTIFIER_BACKOFF_MAX_SECONDS": "1",
        "NOTIFIER_SEND_WORKERS": "4",
        "NOTIFIER_SEND_POLL_SECONDS": "0.1",
        "NOTIFIER_SEND_LEASE_SECONDS": "10",
        "NOTIFIER_RATE_LIMIT_PER_SECOND": "200",
        **overrides,
    }


@dataclass
class Shared:
    service: ServiceProcess
    staff: Reader
    smsc: Smsc
    database: str


@pytest.fixture(scope="module")
async def shared(
    tmp_path_factory: pytest.TempPathFactory,
    infra: Any,
    jwt_keys: tuple[str, str],
    token_for: Any,
    amqp: Any,
    mongo: Any,
) -> AsyncIterator[Shared]:
    """One SMSC and one notifier with the default settings for the tests that need nothing
    else (each uses numbers of its own): a process start is seconds on a loaded machine."""
    async with _module_notifier(tmp_path_factory, infra, jwt_keys, token_for, amqp, mongo) as it:
        yield it


@pytest.fixture(scope="module")
async def variant(
    tmp_path_factory: pytest.TempPathFactory,
    infra: Any,
    jwt_keys: tuple[str, str],
    token_for: Any,
    amqp: Any,
    mongo: Any,
) -> AsyncIterator[Shared]:
    """Another pair, with the other choices: SAR parameters, `resubmit`, a window of 2 for 8
    send workers."""
    async with _module_notifier(
        tmp_path_factory,
        infra,
        jwt_keys,
        token_for,
        amqp,
        mongo,
        NOTIFIER_SMPP_CONCATENATION="sar",
        NOTIFIER_SMPP_UNANSWERED="resubmit",
        NOTIFIER_SMPP_WINDOW="2",
        NOTIFIER_SEND_WORKERS="8",
    ) as it:
        yield it


@contextlib.asynccontextmanager
async def _module_notifier(
    tmp_path_factory: pytest.TempPathFactory,
    infra: Any,
    jwt_keys: tuple[str, str],
    token_for: Any,
    amqp: Any,
    mongo: Any,
    **overrides: str,
) -> AsyncIterator[Shared]:
    directory = tmp_path_factory.mktemp("smpp")
    smsc = Smsc(directory / "smsc.log")
    await smsc.start()
    database, suffix = f"test_smpp_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8]
    env = {
        "ENVIRONMENT": "test",
        "AMQP_URL": infra.amqp_url,
        "MONGO_URL": infra.mongo_url,
        "MONGO_DATABASE": database,
        "QUEUE_SUFFIX": suffix,
        "QUEUE_TYPE": os.environ.get("QUEUE_TYPE", "classic"),
        "JWT_PUBLIC_KEY": jwt_keys[1],
        "OUTBOX_POLL_SECONDS": "0.5",
        "SWEEPER_POLL_SECONDS": "0.5",
        "LOG_LEVEL": "INFO",
        **smpp_env(smsc, **overrides),
    }
    service = ServiceProcess("services.notifier", env, directory / "notifier.log").start()
    try:
        await service.wait_ready()
        yield Shared(service, Reader(service.url, token_for("staff-1", STAFF)), smsc, database)
    finally:
        service.terminate(timeout=20)
        smsc.stop()
        await delete_suffixed_queues(amqp, suffix)
        await mongo.drop_database(database)


@pytest.fixture
def start_smpp_notifier(start_service: Any, smsc: Smsc, token_for: Any) -> Any:
    async def start(**overrides: str) -> tuple[Any, Reader]:
        service = start_service("services.notifier", **smpp_env(smsc, **overrides))
        await service.wait_ready()
        return service, Reader(service.url, token_for("staff-1", STAFF))

    return start


async def send_text(amqp: Any, phone: str, text: str, lang: str = "en") -> None:
    command = SendSms(
        message_id=f"contractors:{uuid.uuid4().hex}", phone=phone, lang=lang, text=text
    )
    await send_command(amqp, command)


async def settled(staff: Reader, phone: str, *statuses: str, timeout: float = 20) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await staff.messages(phone=phone)
        return found[0] if found and found[0]["status"] in statuses else None

    message: dict[str, Any] = await eventually(
        probe, timeout=timeout, message=f"the SMS to {phone} reaches {statuses}"
    )
    return message


async def history(staff: Reader, message: dict[str, Any]) -> list[tuple[str, str | None]]:
    response = await staff.detail(message["id"])
    assert response.status_code == 200, response.text
    return [(step["status"], step.get("reason")) for step in response.json()["history"]]


def encoded(text: str) -> bytes:
    """The expected octets, computed here without the notifier's code: GSM 03.38 unpacked
    (these texts use only characters whose GSM code is their ASCII code, plus the escaped
    brackets) or UTF-16 big-endian."""
    if count_segments(text).encoding == "UCS-2":
        return text.encode("utf-16-be")
    return text.replace("[", "\x1b<").replace("]", "\x1b>").encode("ascii")


async def test_arabic_and_english_in_one_part_and_several_with_exact_bytes_and_udh(
    shared: Shared, amqp: Any, mongo: Any
) -> None:
    service, staff, smsc, database_name = (
        shared.service,
        shared.staff,
        shared.smsc,
        shared.database,
    )
    async with httpx.AsyncClient(base_url=service.url, timeout=5) as client:
        ready = (await client.get("/health/ready")).json()
    assert ready["checks"]["smpp"]["state"] == "bound"
    texts = {random_phone(): text for text in (ENGLISH, ARABIC, LONG_ENGLISH, LONG_ARABIC)}
    for phone, text in texts.items():
        await send_text(amqp, phone, text, "ar" if text in (ARABIC, LONG_ARABIC) else "en")

    for phone, text in texts.items():
        message = await settled(staff, phone, "delivered")
        segments = count_segments(text)
        submits = await smsc.submits(phone)
        assert len(submits) == segments.count == message["segments"]
        data_coding = 8 if segments.encoding == "UCS-2" else 0
        assert {submit["data_coding"] for submit in submits} == {data_coding}
        assert {submit["registered_delivery"] for submit in submits} == {1}
        assert {submit["source_addr"] for submit in submits} == {"AmmanCity"}
        assert {(submit["dest_addr_ton"], submit["dest_addr_npi"]) for submit in submits} == {
            (1, 1)
        }
        payload = b""
        if segments.count == 1:
            [submit] = submits
            assert submit["esm_class"] == 0 and submit["udh"] == []
            payload = short_message(submit["raw"])
        else:
            reference = concatenation_reference(message["id"], 8)
            for number, submit in enumerate(submits, start=1):
                udh = bytes([0x05, 0x00, 0x03, reference, segments.count, number])
                assert submit["esm_class"] == 0x40
                raw = short_message(submit["raw"])
                assert raw[:6] == udh, (raw[:6].hex(), udh.hex())
                # node-smpp lists the UDH's elements without the length octet
                assert submit["udh"] == [udh[1:].hex()]
                limit = 134 if data_coding == 8 else 153
                assert len(raw) - 6 <= limit
                payload += raw[6:]
        assert payload == encoded(text)
        assert "".join(submit["text"] for submit in submits) == text
        # The SMSC's message id of each part is kept, and leads a receipt back to the message.
        stored = await mongo[database_name]["messages"].find_one({"_id": message["id"]})
        parts = mongo[database_name]["smpp_parts"].find({"message": message["id"]})
        smsc_ids = sorted([part["_id"] async for part in parts])
        assert len(smsc_ids) == segments.count
        assert sorted(stored["provider_id"].split(",")) == smsc_ids

    # The link is kept up: the gateway's enquire_link every second, answered.
    await eventually(
        lambda: _nonempty(smsc.pdus("enquire_link")), message="an enquire_link reached the SMSC"
    )
    bind = (await smsc.pdus("bind_transceiver"))[0]
    assert bind["system_id"] == SYSTEM_ID


async def _nonempty(pdus: Any) -> bool:
    return bool(await pdus)


async def test_sar_parameters_instead_of_a_udh_when_set(variant: Shared, amqp: Any) -> None:
    staff, smsc = variant.staff, variant.smsc
    phone = random_phone()
    await send_text(amqp, phone, LONG_ARABIC, "ar")

    message = await settled(staff, phone, "delivered")
    submits = await smsc.submits(phone)
    reference = concatenation_reference(message["id"], 16)
    total = count_segments(LONG_ARABIC).count
    assert total > 1
    assert [
        (s["esm_class"], s["sar_msg_ref_num"], s["sar_total_segments"], s["sar_segment_seqnum"])
        for s in submits
    ] == [(0, reference, total, number) for number in range(1, total + 1)]
    assert b"".join(short_message(s["raw"]) for s in submits) == LONG_ARABIC.encode("utf-16-be")


async def test_each_final_receipt_ends_the_message_as_an_http_receipt_would(
    shared: Shared, amqp: Any
) -> None:
    staff, smsc = shared.staff, shared.smsc
    expected = {
        "DELIVRD": "delivered",
        "UNDELIV": "permanent-failure",
        "REJECTD": "permanent-failure",
        "EXPIRED": "technical-failure",  # temporary at each of the 3 attempts, then given up
        "DELETED": "technical-failure",
        "UNKNOWN": "technical-failure",
    }
    phones = {}
    acknowledged = len(await smsc.pdus("deliver_sm_resp"))
    for state in expected:
        phone = random_phone()
        phones[state] = phone
        await smsc.plan(phone, receipt=state)
        await send_text(amqp, phone, ENGLISH)

    for state, status in expected.items():
        message = await settled(staff, phones[state], status)
        steps = await history(staff, message)
        reasons = [reason or "" for _, reason in steps]
        submits = await smsc.submits(phones[state])
        if status == "delivered":
            assert [s for s, _ in steps] == ["queued", "sending", "sent", "delivered"]
            assert len(submits) == 1
        elif status == "permanent-failure":
            assert [s for s, _ in steps][-2:] == ["sent", "permanent-failure"]
            assert f"the SMSC reported {state}" in reasons[-1]
            assert len(submits) == 1
        else:
            temporary = [r for s, r in steps if s == "temporary-failure"]
            assert len(temporary) == 2 and all(f"reported {state}" in (r or "") for r in temporary)
            assert len(submits) == 3
    # Every receipt was acknowledged (3 + 3 attempts of 3 each = 12), none refused.
    acks = (await smsc.pdus("deliver_sm_resp"))[acknowledged:]
    assert len(acks) >= 12 and all(ack["command_status"] == 0 for ack in acks)


async def test_throttling_and_a_full_queue_are_retried_then_succeed_other_errors_are_final(
    shared: Shared, amqp: Any
) -> None:
    staff, smsc = shared.staff, shared.smsc
    busy, refused = random_phone(), random_phone()
    await smsc.plan(busy, "throttle", "queue-full", "ok")
    await smsc.plan(refused, "status:0x0B")
    await send_text(amqp, busy, ENGLISH)
    await send_text(amqp, refused, ENGLISH)

    message = await settled(staff, busy, "delivered")
    steps = await history(staff, message)
    assert [s for s, _ in steps] == [
        "queued",
        "sending",
        "temporary-failure",
        "sending",
        "temporary-failure",
        "sending",
        "sent",
        "delivered",
    ]
    assert "ESME_RTHROTTLED" in (steps[2][1] or "") and "ESME_RMSGQFUL" in (steps[4][1] or "")
    assert len(await smsc.submits(busy)) == 3

    failed = await settled(staff, refused, "permanent-failure")
    assert "ESME_RINVDSTADR" in (failed["reason"] or "")
    assert len(await smsc.submits(refused)) == 1


async def test_a_link_dropped_in_a_burst_loses_no_message_and_sends_none_twice(
    shared: Shared, amqp: Any
) -> None:
    staff, smsc = shared.staff, shared.smsc
    phones = [random_phone() for _ in range(16)]
    binds = len(await smsc.pdus("bind_transceiver"))
    await smsc.drop_after(6)
    for number, phone in enumerate(phones):
        await send_text(amqp, phone, LONG_ENGLISH if number % 4 == 0 else ENGLISH)

    for phone in phones:
        await settled(staff, phone, "delivered", timeout=40)
    for number, phone in enumerate(phones):
        submits = await smsc.submits(phone)
        parts = count_segments(LONG_ENGLISH if number % 4 == 0 else ENGLISH).count
        # Each part reached the SMSC exactly once, on one link or the other.
        assert len(submits) == parts, (phone, submits)
    assert len(await smsc.pdus("bind_transceiver")) > binds, "the gateway bound again"


async def test_no_more_submits_await_an_answer_than_the_window(variant: Shared, amqp: Any) -> None:
    # 8 send workers, a window of 2, and an SMSC that takes 0.3 s to answer each submit.
    staff, smsc = variant.staff, variant.smsc
    phones = [random_phone() for _ in range(8)]
    for phone in phones:
        await smsc.plan(phone, "slow")
    for phone in phones:
        await send_text(amqp, phone, ENGLISH)

    for phone in phones:
        await settled(staff, phone, "delivered")
    assert await smsc.max_outstanding() == 2


async def test_every_part_of_a_long_message_waits_for_the_rate_limit(
    start_smpp_notifier: Any, smsc: Smsc, amqp: Any
) -> None:
    _, staff = await start_smpp_notifier(NOTIFIER_RATE_LIMIT_PER_SECOND="2")
    phone = random_phone()
    await send_text(amqp, phone, LONG_ARABIC, "ar")

    await settled(staff, phone, "delivered")
    times = [submit["at"] / 1000 for submit in await smsc.submits(phone)]
    assert len(times) == count_segments(LONG_ARABIC).count >= 3
    # 2 submits a second: 0.5 s apart. The first part leaves a moment after its slot was taken
    # (the limit is taken before the gateway is called), so a gap may be a little shorter.
    assert all(later - earlier >= 0.3 for earlier, later in pairwise(times)), times
    assert times[-1] - times[0] >= 0.8, times


async def test_a_submit_left_unanswered_is_not_sent_again(shared: Shared, amqp: Any) -> None:
    staff, smsc = shared.staff, shared.smsc
    phone, later = random_phone(), random_phone()
    binds = len(await smsc.pdus("bind_transceiver"))
    await smsc.plan(phone, "silent")  # taken, never answered (nor delivered)
    await send_text(amqp, phone, ENGLISH)

    message = await settled(staff, phone, "sent")
    steps = await history(staff, message)
    assert "not sent again" in (steps[-1][1] or "")
    # The link was dropped and bound again, and the next message goes through it...
    await send_text(amqp, later, ENGLISH)
    await settled(staff, later, "delivered")
    assert len(await smsc.pdus("bind_transceiver")) > binds
    # ...but the unanswered one was submitted once only.
    assert len(await smsc.submits(phone)) == 1
    assert (await staff.messages(phone=phone))[0]["status"] == "sent"


async def test_resubmit_sends_an_unanswered_submit_again_when_the_provider_deduplicates(
    variant: Shared, amqp: Any
) -> None:
    staff, smsc = variant.staff, variant.smsc
    phone = random_phone()
    await smsc.plan(phone, "silent", "ok")
    await send_text(amqp, phone, ENGLISH)

    message = await settled(staff, phone, "delivered")
    steps = await history(staff, message)
    assert [s for s, _ in steps][2] == "temporary-failure"
    assert "sent again" in (steps[2][1] or "")
    assert len(await smsc.submits(phone)) == 2


async def test_a_wrong_password_is_a_clear_error_at_start_and_the_readiness_probe_says_so(
    start_service: Any, smsc: Smsc
) -> None:
    service = start_service(
        "services.notifier", **smpp_env(smsc, NOTIFIER_SMPP_PASSWORD="Xq7bad#1")
    )

    async def refused() -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(base_url=service.url, timeout=2) as client:
                response = await client.get("/health/ready")
        except httpx.HTTPError:
            return None
        body: dict[str, Any] = response.json()
        smpp = body.get("checks", {}).get("smpp", {})
        return body if response.status_code == 503 and smpp.get("state") == "refused" else None

    body = await eventually(refused, timeout=30, message="readiness reports the refused bind")
    assert body["status"] == "not-ready"
    assert "ESME_RINVPASWD" in body["checks"]["smpp"]["error"]
    assert "NOTIFIER_SMPP_PASSWORD" in body["checks"]["smpp"]["error"]
    assert "Xq7bad#1" not in str(body)  # the password itself never shows
    log = service.log_text()
    assert "the SMSC refused the bind" in log and "NOTIFIER_SMPP_PASSWORD" in log
    assert "Xq7bad#1" not in log
    [bind] = (await smsc.pdus("bind_transceiver"))[:1]
    assert bind["system_id"] == SYSTEM_ID


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-smsc")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "smsc-key.pem", directory / "smsc-cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


async def test_binds_over_tls_when_the_provider_offers_it(
    start_service: Any, tmp_path: Path, amqp: Any, token_for: Any
) -> None:
    key, cert = _self_signed(tmp_path)
    secure = Smsc(tmp_path / "smsc-tls.log", tls=(key, cert))
    await secure.start()
    try:
        service = start_service(
            "services.notifier",
            **smpp_env(secure, NOTIFIER_SMPP_TLS="true", NOTIFIER_SMPP_TLS_CA_FILE=str(cert)),
        )
        await service.wait_ready()
        staff = Reader(service.url, token_for("staff-1", STAFF))
        phone = random_phone()
        await send_text(amqp, phone, ARABIC, "ar")
        await settled(staff, phone, "delivered")
        assert len(await secure.submits(phone)) == 1
    finally:
        secure.stop()
