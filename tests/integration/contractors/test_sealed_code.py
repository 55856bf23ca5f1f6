"""A one-time code never travels readable on the broker: a system that binds its own queue to
`amman.commands` (as anyone able to read the broker could) receives the notifier's command with
the code sealed for the notifier; the phone still gets the code, since only the notifier opens it.
"""

from __future__ import annotations

import json
from typing import Any

import aio_pika
import pytest

from services.common import codeseal
from tests.integration.codekeys import CODE_PRIVATE_KEY
from tests.integration.conftest import eventually
from tests.integration.contractors.conftest import StartPlatform, random_phone
from tests.integration.platform import Broker

pytestmark = pytest.mark.integration


async def test_a_queue_bound_to_amman_commands_finds_no_code(
    broker: Broker, start_platform: StartPlatform
) -> None:
    channel = await broker.connection.channel()
    commands = await channel.declare_exchange(
        "amman.commands", aio_pika.ExchangeType.DIRECT, durable=True
    )
    eavesdropper = await channel.declare_queue(exclusive=True, auto_delete=True)
    await eavesdropper.bind(commands, routing_key="notifier.sms.send")
    seen: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        seen.append(message)
        await message.ack()

    await eavesdropper.consume(keep)
    platform = await start_platform()
    phone = random_phone()

    sent = await platform.send_code(platform.citizen(), phone)
    assert sent.status_code == 201, sent.text
    code = await platform.code_on(phone)  # the applicant's phone has it in clear

    async def arrived() -> list[Any]:
        return seen

    [message] = await eventually(arrived, message="the command on amman.commands")
    wire = message.body.decode() + json.dumps(message.headers or {}) + str(message.message_id)
    assert code not in wire
    data = json.loads(message.body)["data"]
    assert data["template"] == "one_time_code" and data["sensitive"] is True
    assert data.get("values", {}) == {}
    # What it carries is the code sealed for the notifier: its private key, and only it, opens it.
    assert codeseal.open_values(data["sealed_values"], codeseal.private_key(CODE_PRIVATE_KEY)) == {
        "code": code
    }
    other, _ = codeseal.new_key_pair()
    with pytest.raises(codeseal.SealError):
        codeseal.open_values(data["sealed_values"], codeseal.private_key(other))
    await channel.close()
