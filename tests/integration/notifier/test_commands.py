"""The `notifier.sms.send` command on `amman.commands`: one-time codes that are never kept or
logged in clear, free texts, and commands that can never be sent."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.notifier import SendSms, send_sms_command
from services.common.codeseal import new_key_pair, public_key, seal_values
from tests.integration.conftest import eventually
from tests.integration.helpers import dead_letters, metric
from tests.integration.notifier.conftest import (
    FakeProvider,
    Reader,
    one_time_code,
    post_receipt,
    random_phone,
    send_command,
)

pytestmark = pytest.mark.integration


async def _everything_stored(mongo: Any, database_name: str) -> str:
    db = mongo[database_name]
    dump = []
    for name in await db.list_collection_names():
        async for document in db[name].find({}):
            dump.append(json.dumps(document, default=str, ensure_ascii=False))
    return "\n".join(dump)


async def test_a_one_time_code_never_appears_in_the_database_or_the_logs(
    notifier: Any,
    staff: Reader,
    provider: FakeProvider,
    amqp: Any,
    mongo: Any,
    database_name: str,
) -> None:
    phone = random_phone()
    code = f"{random.randint(10_000_000, 99_999_999)}"
    command = one_time_code(phone, code, request_number="CP-2026-000777")

    await send_command(amqp, command)

    [message] = await staff.settled("CP-2026-000777", "sent")
    [request] = provider.to(phone)
    assert code in request.text, "the citizen gets the code"
    assert message["is_sensitive"] is True
    assert code not in message["text"] and "•••" in message["text"]
    assert message["text"].startswith("أمانة عمّان الكبرى: رمز التحقق الخاص بك هو •••")
    stored = await _everything_stored(mongo, database_name)
    assert code not in stored
    assert '"sealed_text"' in stored, "sealed until the message is done"

    await post_receipt(notifier.url, {"reference": message["id"], "status": "delivered"})
    await staff.settled("CP-2026-000777", "delivered")
    stored = await _everything_stored(mongo, database_name)
    assert code not in stored and '"sealed_text"' not in stored
    logs = notifier.log_text()
    assert code not in logs
    assert phone not in logs and phone[:6] + "*****" + phone[-2:] in logs


async def test_a_command_sent_twice_sends_one_sms(
    notifier: Any,
    staff: Reader,
    provider: FakeProvider,
    amqp: Any,
    mongo: Any,
    database_name: str,
) -> None:
    phone = random_phone()
    command = one_time_code(phone, "12345678", request_number="CP-2026-000778")

    await send_command(amqp, command)  # two envelopes, one message_id
    await send_command(amqp, command)

    await staff.settled("CP-2026-000778", "sent")
    queue = notifier.queue("notifier.commands")

    async def both_handled() -> bool:
        return await metric(notifier.url, "events_consumed_total", queue=queue) >= 2

    await eventually(both_handled, message="both envelopes handled")
    assert len(await staff.messages(request_number="CP-2026-000778")) == 1
    assert len(provider.to(phone)) == 1
    assert await mongo[database_name]["inbox"].count_documents({"consumer": queue}) == 0


async def test_71_arabic_characters_are_sent_as_2_ucs2_segments(
    notifier: Any, staff: Reader, provider: FakeProvider, amqp: Any
) -> None:
    text = ("أمانة عمّان الكبرى: موعد الكشف الميداني على المحل يوم الأحد الساعة العاشرة صباحاً")[:71]
    assert len(text) == 71
    phone = random_phone()
    command = SendSms(
        message_id=f"licensing:{random.random()}",
        phone=phone,
        text=text,
        request_number="LI-2026-000071",
    )

    await send_command(amqp, command)

    [message] = await staff.settled("LI-2026-000071", "sent")
    assert (message["encoding"], message["characters"], message["segments"]) == ("UCS-2", 71, 2)
    assert message["text"] == text and message["template"] == "text"
    assert provider.to(phone)[0].text == text


async def test_an_expired_command_is_not_sent(
    notifier: Any, staff: Reader, provider: FakeProvider, amqp: Any, failures: list[Any]
) -> None:
    phone = random_phone()
    command = one_time_code(
        phone,
        "11112222",
        request_number="CP-2026-000779",
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )

    await send_command(amqp, command)

    [message] = await staff.settled("CP-2026-000779", "technical-failure")
    assert message["reason"] == "expired before it could be sent"
    assert not provider.to(phone)


async def test_a_command_that_can_never_be_sent_is_dead_lettered_with_the_reason(
    notifier: Any, amqp: Any
) -> None:
    queue = notifier.queue("notifier.commands")
    unknown = SendSms(
        message_id="contractors:unknown-template", phone=random_phone(), template="no_such"
    )
    long_text = SendSms(message_id="contractors:long", phone=random_phone(), text="ب" * 202)
    await send_command(amqp, unknown)
    await send_command(amqp, long_text)
    # Text and template at once: the contract refuses it.
    both = send_sms_command(unknown, source_service="contractors", time=datetime.now(UTC))
    body = both.model_dump(mode="json") | {"data": {**both.data, "text": "hello"}}
    await send_command(amqp, unknown, body=json.dumps(body).encode())

    dead: list[Any] = []

    async def three_dead() -> bool:
        dead.extend(await dead_letters(amqp, queue))
        return len(dead) >= 3

    await eventually(three_dead, message="all three dead-lettered")
    reasons = sorted(str(message.headers["x-dead-letter-reason"]) for message in dead)
    assert any("no SMS template named 'no_such'" in reason for reason in reasons)
    assert any("needs 4 SMS segments; at most 3" in reason for reason in reasons)
    assert any("give exactly one of text or template" in reason for reason in reasons)


async def test_a_code_in_clear_or_sealed_for_another_key_is_dead_lettered_and_not_sent(
    notifier: Any, amqp: Any, provider: FakeProvider
) -> None:
    queue = notifier.queue("notifier.commands")
    clear_phone, foreign_phone = random_phone(), random_phone()
    clear = one_time_code(clear_phone, "1234").model_copy(
        update={"sealed_values": None, "values": {"code": "1234"}}
    )
    _, other_public = new_key_pair()
    foreign = one_time_code(foreign_phone, "5678").model_copy(
        update={"sealed_values": seal_values({"code": "5678"}, public_key(other_public))}
    )
    await send_command(amqp, clear)
    await send_command(amqp, foreign)

    dead: list[Any] = []

    async def two_dead() -> bool:
        dead.extend(await dead_letters(amqp, queue))
        return len(dead) >= 2

    await eventually(two_dead, message="both dead-lettered")
    reasons = " | ".join(str(message.headers["x-dead-letter-reason"]) for message in dead)
    assert "carries its values sealed (sealed_values), not in clear" in reasons
    assert "cannot be opened with the notifier's key" in reasons
    assert "1234" not in reasons and "5678" not in reasons
    assert not provider.to(clear_phone) and not provider.to(foreign_phone)
