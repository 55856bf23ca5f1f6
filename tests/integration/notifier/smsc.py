"""The test SMSC: `smsc/smsc.js`, the `smpp` npm package's server (node-smpp, written by others),
run as its own Node.js process and scripted over its small HTTP control API."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.integration.conftest import free_port

HERE = Path(__file__).parent / "smsc"
SYSTEM_ID = "amman"
PASSWORD = "secret"  # as `make smsc-run` (the notifier README)


def install() -> None:
    """`npm ci` once (make test does it before; a bare pytest run does it here)."""
    if (HERE / "node_modules" / "smpp" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise AssertionError(
            "the SMPP tests need Node.js and npm (apt-get install nodejs npm), then "
            f"`npm ci --prefix {HERE}`"
        )
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)


class Smsc:
    def __init__(self, log: Path, *, tls: tuple[Path, Path] | None = None) -> None:
        self.port = free_port()
        self.control_port = free_port()
        self.log = log
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def control(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"

    async def start(self) -> None:
        install()
        node = shutil.which("node")
        assert node is not None, "Node.js is needed (apt-get install nodejs npm)"
        command = [
            node,
            str(HERE / "smsc.js"),
            "--port",
            str(self.port),
            "--control-port",
            str(self.control_port),
            "--system-id",
            SYSTEM_ID,
            "--password",
            PASSWORD,
            "--receipt-delay-ms",
            "100",
        ]
        if self.tls is not None:
            command += ["--tls-key", str(self.tls[0]), "--tls-cert", str(self.tls[1])]
        self.process = self._spawn(command)
        deadline = time.monotonic() + 10
        async with httpx.AsyncClient(timeout=1) as client:
            while time.monotonic() < deadline:
                try:
                    await client.get(f"{self.control}/sessions")
                    return
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
        raise AssertionError(f"the test SMSC did not start: {self.log.read_text()}")

    def _spawn(self, command: list[str]) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            return subprocess.Popen(command, stdout=out, stderr=out)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.control, timeout=5) as client:
            response = await client.request(method, path, json=body)
            response.raise_for_status()
            return response.json()

    async def pdus(self, command: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._call("GET", "/pdus")
        return [pdu for pdu in found if command is None or pdu["command"] == command]

    async def submits(self, phone: str) -> list[dict[str, Any]]:
        return [
            pdu
            for pdu in await self.pdus("submit_sm")
            if pdu["destination_addr"] == phone.removeprefix("+")
        ]

    async def plan(self, phone: str, *answers: str, receipt: str = "DELIVRD") -> None:
        await self._call(
            "POST", "/plan", {"phone": phone, "answers": list(answers), "receipt": receipt}
        )

    async def drop_after(self, submits: int) -> None:
        await self._call("POST", "/drop", {"after": submits})

    async def max_outstanding(self) -> int:
        stats: dict[str, int] = await self._call("GET", "/stats")
        return stats["max_outstanding"]

    async def sessions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._call("GET", "/sessions")
        return found


def short_message(raw_hex: str) -> bytes:
    """The `short_message` of a recorded submit_sm, read from its raw bytes (SMPP 3.4 §4.4.1)."""
    raw = bytes.fromhex(raw_hex)
    position = 16
    position = raw.index(0, position) + 1  # service_type
    position += 2  # source_addr_ton, _npi
    position = raw.index(0, position) + 1  # source_addr
    position += 2  # dest_addr_ton, _npi
    position = raw.index(0, position) + 1  # destination_addr
    position += 3  # esm_class, protocol_id, priority_flag
    position = raw.index(0, position) + 1  # schedule_delivery_time
    position = raw.index(0, position) + 1  # validity_period
    position += 4  # registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
    length = raw[position]
    return raw[position + 1 : position + 1 + length]
