"""The Node.js reference subscriber (`contracts/examples/node-subscriber/`), run as a subscribing
system runs it: a RabbitMQ user of its own with the permissions of contracts/README.md ("Getting
access"), its own queue bound `#` on `amman.events`; and the check CI makes of its report.

Used by the integration run that publishes every event type (`test_node_subscriber.py`) and by the
acceptance walk (`tests/acceptance/conftest.py`). `make node-subscriber` installs it (`npm ci`).
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from tests.integration.helpers import management_api, management_auth

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "contracts" / "examples" / "node-subscriber"
SCHEMAS = ROOT / "contracts" / "schemas"
TYPE_PREFIX = "jo.gov.amman."


def grant(system: str) -> dict[str, dict[str, str]]:
    """The permissions of the README's "Getting access", for `system`."""
    own = rf"^{system}\..*"
    return {
        "permissions": {
            "configure": own,
            "write": own,
            "read": rf"^(amman\.events|amman\.events\.history|{system}\..*)$",
        },
        "topic": {"exchange": "amman.events", "write": "^$", "read": ".*"},
    }


@contextmanager
def subscriber_user(admin_url: str, vhost: str, system: str | None = None) -> Iterator[str]:
    """The operators' step: a user `system` with the README's rights on `vhost`; its AMQP URL.
    Deleted afterwards."""
    system = system or f"civil_registry_{uuid.uuid4().hex[:6]}"
    password = secrets.token_urlsafe(16)
    admin = urlsplit(admin_url)
    auth, api = management_auth(admin_url), management_api(admin_url)
    rights = grant(system)
    path = quote(vhost, safe="")
    with httpx.Client(timeout=10, auth=auth) as client:
        client.put(
            f"{api}/users/{system}", json={"password": password, "tags": ""}
        ).raise_for_status()
        try:
            client.put(
                f"{api}/permissions/{path}/{system}", json=rights["permissions"]
            ).raise_for_status()
            client.put(
                f"{api}/topic-permissions/{path}/{system}", json=rights["topic"]
            ).raise_for_status()
            yield urlunsplit(
                admin._replace(
                    netloc=f"{system}:{password}@{admin.hostname}:{admin.port or 5672}",
                    path="/" + path,
                )
            )
        finally:
            client.delete(f"{api}/users/{system}")


def system_of(url: str) -> str:
    return urlsplit(url).username or ""


@dataclass
class NodeSubscriber:
    """A running `node subscriber.js`; `stop()` ends it as SIGTERM does and returns its report."""

    process: subprocess.Popen[str]
    report_file: Path
    output: list[str]

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.report_file.read_text())
        return data

    def wait_for(self, line: str, timeout: float = 90) -> None:
        """Until the subscriber prints `line` (READY, SWITCHED); fail if it exits first."""
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not selector.select(timeout=0.2):
                    if self.process.poll() is not None:
                        break
                    continue
                text = self.process.stdout.readline()
                if not text:
                    break
                self.output.append(text)
                if text.strip() == line:
                    return
        finally:
            selector.close()
        raise AssertionError(
            f"the Node subscriber did not print {line} in {timeout}s "
            f"(exit {self.process.poll()}): {''.join(self.output)}{self._stderr()}"
        )

    def _stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read()

    def wait_until(self, check: Any, timeout: float = 30) -> dict[str, Any]:
        """Until `check(report)` holds; the report."""
        deadline = time.monotonic() + timeout
        report = self.report()
        while time.monotonic() < deadline:
            report = self.report()
            if check(report):
                return report
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(
            f"the Node subscriber's report never matched (exit {self.process.poll()}): "
            f"received {report.get('received')}, failures {report.get('failures')[:3]}"
            f"{self._stderr()}"
        )

    def stop(self) -> dict[str, Any]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        assert self.process.returncode == 0, (
            f"the Node subscriber exited {self.process.returncode}: {self._stderr()}"
        )
        return self.report()


def start(url: str, report_file: Path, *extra: str, ready_timeout: float = 90) -> NodeSubscriber:
    """Start the Node subscriber with `url` (its own user's) and wait until it consumes."""
    if not (NODE_DIR / "node_modules").is_dir():
        raise AssertionError(
            f"{NODE_DIR.relative_to(ROOT)}/node_modules is missing: run `make node-subscriber`"
        )
    process = subprocess.Popen(
        [
            "node",
            str(NODE_DIR / "subscriber.js"),
            "--url",
            url,
            "--system",
            system_of(url),
            "--report",
            str(report_file),
            *extra,
        ],
        cwd=NODE_DIR,
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    subscriber = NodeSubscriber(process, report_file, [])
    try:
        subscriber.wait_for("READY", ready_timeout)
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        raise
    return subscriber


def published_schemas(directory: Path = SCHEMAS) -> set[str]:
    """The routing keys that have a published data schema."""
    return {path.name.removesuffix(".json") for path in directory.glob("*.json")}


def check_report(
    report: dict[str, Any],
    *,
    schemas: set[str],
    registry: Iterable[str] | None = None,
) -> list[str]:
    """What makes CI fail, from the subscriber's report: an event that failed validation, a
    received type with no published schema, and (given the `registry`'s routing keys) a registry
    type never seen. An empty report (nothing received) fails too."""
    problems: list[str] = []
    if not report.get("received"):
        problems.append("the subscriber received no event at all")
    for failure in report.get("failures", []):
        problems.append(
            f"event {failure.get('id')} ({failure.get('type')}) failed validation: "
            + "; ".join(failure.get("errors", []))[:500]
        )
    received = set(report.get("types", {})) | {
        type_ for type_ in report.get("unknown_types", []) if type_
    }
    for type_ in sorted(received):
        if type_.removeprefix(TYPE_PREFIX) not in schemas:
            problems.append(f"{type_}: received, but no published schema")
    if None in report.get("unknown_types", []):
        problems.append("an event without a type was received")
    if registry is not None:
        seen = {type_.removeprefix(TYPE_PREFIX) for type_ in report.get("types", {})}
        for key in sorted(set(registry) - seen):
            problems.append(f"{key}: in the registry, but never seen by the subscriber")
    return problems
