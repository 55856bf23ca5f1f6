"""The production overlay's table of the services (deploy/k8s/production.py) against the code.

The RabbitMQ permissions and policies must cover the queues the services really declare, the
ExternalSecrets must carry the secrets their settings really read, and the alerts and the dashboard
must read series the services really expose. (Rendering and schema validation: deploy/k8s/check.py;
the permissions on a real broker: tests/integration/test_broker_permissions.py.)
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from deploy.k8s import production
from deploy.k8s.check import SETTINGS

SERVICES = [profile.name for profile in production.PROFILES]
# Series that come from elsewhere: RabbitMQ's plugin and kube-state-metrics.
FOREIGN = ("rabbitmq_", "kube_")


def _declared_queues(service: str) -> set[str]:
    """The queue names a service's consumers module declares (its `*QUEUE` constants)."""
    module = importlib.import_module(f"services.{service}.consumers")
    return {
        value
        for name, value in vars(module).items()
        if name.endswith("QUEUE") and isinstance(value, str)
    }


@pytest.mark.parametrize("service", SERVICES)
def test_the_permissions_and_policies_cover_the_queues_the_service_declares(service: str) -> None:
    profile = production.BY_NAME[service]
    declared = _declared_queues(service)
    assert declared == set(profile.queues)
    permissions = profile.permissions()
    consuming = re.compile(production._queue_pattern(dlq=False))
    dead = re.compile(production._queue_pattern(dlq=True))
    for queue in declared:
        for name in (queue, f"{queue}.dlq", f"{queue}.a1b2c3"):
            for kind in ("configure", "write", "read"):
                assert re.match(permissions[kind], name), (kind, name)
        assert consuming.match(queue) and not consuming.match(f"{queue}.dlq")
        assert dead.match(f"{queue}.dlq") and not dead.match(queue)
    for other in SERVICES:
        if other != service:
            for queue in production.BY_NAME[other].queues:
                assert not re.match(permissions["read"], queue), (service, queue)
    for exchange in production.EXCHANGES:
        assert re.match(permissions["configure"], exchange)
    assert re.match(permissions["write"], "amman.events")
    assert re.match(permissions["write"], "amman.dlx")
    assert bool(re.match(permissions["write"], "amman.commands")) == profile.writes_commands


@pytest.mark.parametrize("service", SERVICES)
def test_the_external_secret_carries_every_secret_the_settings_read(service: str) -> None:
    module, _, name = SETTINGS[service].partition(":")
    settings_class = getattr(importlib.import_module(module), name)
    secret_fields = {
        field.upper()
        for field, info in settings_class.model_fields.items()
        if info.annotation in (SecretStr, SecretStr | None)
    }
    # Not secret, but kept in the store beside the notifier's private half (rotated together).
    from_the_store = {"contractors": {"NOTIFIER_CODE_PUBLIC_KEY"}}.get(service, set())
    assert secret_fields | from_the_store == set(production.BY_NAME[service].secrets)


def _exposed_series() -> set[str]:
    for service in SERVICES:
        importlib.import_module(f"services.{service}.app")
    importlib.import_module("services.common.runtime")
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.type == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif family.type == "histogram":
            names |= {f"{family.name}_{part}" for part in ("bucket", "sum", "count", "created")}
        else:
            names.add(family.name)
    return names


def _series_in(expression: str) -> set[str]:
    words = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*(?:\{|\[)", expression))
    return {word for word in words if not word.startswith(FOREIGN)}


def test_alerts_and_dashboard_read_series_the_services_expose() -> None:
    exposed = _exposed_series()
    expressions = [alert.expr for alert in production.ALERTS] + [
        expr for panel in production.PANELS for expr, _ in panel.exprs
    ]
    used = set().union(*(_series_in(expression) for expression in expressions))
    assert used, "no series found: the pattern is wrong"
    assert used <= exposed, sorted(used - exposed)
    # The list: each has an alert.
    names = {alert.name for alert in production.ALERTS}
    assert {
        "AmmanDeadLettersWaiting",
        "AmmanOutboxBacklog",
        "AmmanConsumerRedeliveries",
        "AmmanLicensingSlaBreached",
        "AmmanTrainingReviewsOverdue",
        "AmmanExamSessionsOverdue",
        "AmmanSmsPermanentFailures",
        "AmmanBillsExpiring",
        "AmmanHttp5xx",
        "AmmanPodRestarting",
    } <= names


def test_the_promtool_tests_cover_every_alert() -> None:
    text = (Path(production.__file__).parent / "monitoring" / "rules.test.yaml").read_text()
    tested = set(re.findall(r"alertname: (\w+)", text))
    assert tested == {alert.name for alert in production.ALERTS}
