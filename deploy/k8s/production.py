"""The production overlay's platform resources, generated from one table of the services.

Imported by `generate.py`, which writes the files; standard library only, deterministic output.

What each service needs from the platform is written once, in `PROFILES`: the RabbitMQ permissions
(derived from the queues it declares at start, all named `<service>.*`, and the exchanges it
publishes to or binds from), its own secrets, its production settings that are not secret, and the
provider callbacks it serves. From that table come the RabbitMQ users and permissions, the MongoDB
users, the ExternalSecrets, the routes and the NetworkPolicies; the alert rules and the dashboard
come from `ALERTS` and `PANELS` below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NAMESPACE = "amman-eservices"
PART_OF = "amman-eservices"
VHOST = "amman"
RABBITMQ = "rabbitmq"  # the RabbitmqCluster, its Service and its pods' app.kubernetes.io/name
MONGODB = "mongodb"  # the MongoDBCommunity; its pods' Service is `mongodb-svc`
SECRET_STORE = "amman-secret-store"  # a ClusterSecretStore the platform team provides
GATEWAY = {"name": "amman-gateway", "namespace": "gateway"}
PUBLIC_HOST = "eservices.amman.jo"
PROVIDERS_HOST = "providers.eservices.amman.jo"
CA_DIR = "/etc/amman/ca"
# The exchanges every service declares at start (services/common/broker.py).
EXCHANGES = ("amman.events", "amman.commands", "amman.dlx")


@dataclass(frozen=True)
class Profile:
    """What one service needs from the platform."""

    name: str
    # Its queues, as it declares them at start (each with `<queue>.dlq`).
    queues: tuple[str, ...]
    # Publishes commands to amman.commands (contractors asks the notifier to send a code; the
    # notifier replays its own dead-lettered commands there).
    writes_commands: bool = False
    # Binds a queue to amman.commands.
    reads_commands: bool = False
    # Its own secrets (besides AMQP_URL and MONGO_URL), from the secret store.
    secrets: tuple[str, ...] = ()
    # Its production settings that are not secret (the ConfigMap `<service>-config`).
    config: Mapping[str, str] = field(default_factory=dict)
    # Paths the outside providers call (under /<service>), routed on their own host.
    callbacks: tuple[str, ...] = ()

    def permissions(self) -> dict[str, str]:
        """Least privilege for what the service does at start and after: declare the three
        exchanges, the events' history stream and its own queues (configure), publish events,
        dead letters and (some) commands and bind its queues and the stream (write), bind from
        the exchanges and consume its own queues (read)."""
        own = rf"{re.escape(self.name)}\..+"
        write = ["amman\\.events", "amman\\.events\\.history", "amman\\.dlx"] + (
            ["amman\\.commands"] * self.writes_commands
        )
        read = ["amman\\.events", "amman\\.dlx"] + (["amman\\.commands"] * self.reads_commands)
        return {
            "configure": f"^(amman\\.(events|events\\.history|commands|dlx)|{own})$",
            "write": f"^({'|'.join(write)}|{own})$",
            "read": f"^({'|'.join(read)}|{own})$",
        }


PROFILES: tuple[Profile, ...] = (
    Profile("licensing", ("licensing.bills",)),
    Profile(
        "contractors",
        ("contractors.payments",),
        writes_commands=True,
        # The notifier's public code key is not secret, but it lives in the store beside its
        # private half (the notifier's), so that the two are rotated together.
        secrets=("CONTRACTORS_OTP_SECRET", "NOTIFIER_CODE_PUBLIC_KEY"),
    ),
    Profile("courses", ("courses.bills",)),
    Profile("training", ("training.payments",)),
    Profile("exams", ("exams.payments", "exams.sessions")),
    Profile(
        "payments",
        ("payments.requests",),
        # The previous one is accepted too while a rotation is under way (empty otherwise).
        secrets=("PAYMENTS_EFAWATEERCOM_SECRET", "PAYMENTS_EFAWATEERCOM_PREVIOUS_SECRET"),
        callbacks=("/v1/providers/efawateercom",),
    ),
    Profile(
        "notifier",
        ("notifier.events", "notifier.commands"),
        writes_commands=True,
        reads_commands=True,
        secrets=(
            "NOTIFIER_HTTP_TOKEN",
            "NOTIFIER_RECEIPT_SECRET",
            "NOTIFIER_SEALING_KEY",
            "NOTIFIER_CODE_PRIVATE_KEY",
            # Only with NOTIFIER_GATEWAY=smpp; the store keeps it empty otherwise.
            "NOTIFIER_SMPP_PASSWORD",
        ),
        config={
            "NOTIFIER_GATEWAY": "http",
            # The SMS provider's send endpoint: replace with the contracted provider's address.
            "NOTIFIER_HTTP_URL": "https://sms-gateway.provider.example/v1/messages",
        },
        callbacks=("/v1/receipts",),
    ),
)
BY_NAME = {profile.name: profile for profile in PROFILES}

# Versions of the operators whose custom resources the overlay uses (and whose CRDs CI reads).
OPERATORS = {
    "rabbitmq-cluster-operator": "github.com/rabbitmq/cluster-operator/v2@v2.16.0",
    "messaging-topology-operator": "github.com/rabbitmq/messaging-topology-operator@v1.16.0",
    "mongodb-community-operator": "github.com/mongodb/mongodb-kubernetes-operator@v0.13.0",
    "prometheus-operator": "github.com/prometheus-operator/prometheus-operator@v0.86.1",
    "gateway-api": "sigs.k8s.io/gateway-api@v1.3.0",
    "external-secrets": "github.com/external-secrets/external-secrets@v0.20.4",
    "cert-manager": "github.com/cert-manager/cert-manager@v1.16.2",
}
RABBITMQ_IMAGE = "rabbitmq:4.1.4-management"
MONGODB_VERSION = "7.0.14"
OTEL_COLLECTOR_IMAGE = "otel/opentelemetry-collector-contrib:0.116.1"


# --- a small YAML writer: block style, deterministic, strings quoted when YAML could misread them

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text, ensure_ascii=False)


def yaml(value: Any, indent: int = 0) -> str:
    """`value` as a YAML block (a mapping or a sequence at the top)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        if not value:
            return pad + "{}\n"
        for key, item in value.items():
            lines.append(_entry(f"{pad}{_scalar(key)}:", item, indent))
    elif isinstance(value, list | tuple):
        if not value:
            return pad + "[]\n"
        for item in value:
            if isinstance(item, Mapping) and item:
                body = yaml(item, indent + 2)
                lines.append(f"{pad}- {body[indent + 2 :]}")
            else:
                lines.append(_entry(f"{pad}-", item, indent))
    else:
        return pad + _scalar(value) + "\n"
    return "".join(lines)


def _entry(head: str, item: Any, indent: int) -> str:
    if isinstance(item, str) and "\n" in item:
        body = "".join(
            (" " * (indent + 2) + line if line else "") + "\n"
            for line in item.rstrip("\n").split("\n")
        )
        return f"{head} |\n{body}"
    if isinstance(item, Mapping) and item:
        return f"{head}\n{yaml(item, indent + 2)}"
    if isinstance(item, list | tuple) and item:
        return f"{head}\n{yaml(item, indent + 2)}"
    if isinstance(item, Mapping | list | tuple):
        return f"{head} {'{}' if isinstance(item, Mapping) else '[]'}\n"
    return f"{head} {_scalar(item)}\n"


def documents(*docs: tuple[str, Mapping[str, Any]]) -> str:
    """YAML documents, each after its comment."""
    parts = []
    for comment, doc in docs:
        text = (
            "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines()) if comment else ""
        )
        parts.append(text + yaml(doc))
    return "---\n".join(parts)


def _labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/component": component,
    }


def _meta(name: str, component: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "labels": _labels(name, component), **extra}


# --- TLS: an internal CA of the namespace (cert-manager), and the brokers' server certificates


def certificates() -> str:
    def server(name: str, dns: list[str]) -> dict[str, Any]:
        return {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": _meta(f"{name}-tls", "tls"),
            "spec": {
                "secretName": f"{name}-tls",
                "duration": "2160h",
                "renewBefore": "360h",
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "usages": ["server auth", "client auth", "digital signature", "key encipherment"],
                "dnsNames": dns,
                "issuerRef": {"kind": "Issuer", "name": "amman-internal-ca"},
            },
        }

    svc = f"{NAMESPACE}.svc.cluster.local"
    return documents(
        (
            "The platform's internal CA, made by cert-manager in the namespace: the brokers' server\n"
            "certificates come from it, and the services trust it (the `platform-ca` volume).\n"
            "To use the municipality's own CA, point the two server Certificates at its issuer.",
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Issuer",
                "metadata": _meta("amman-selfsigned", "tls"),
                "spec": {"selfSigned": {}},
            },
        ),
        (
            "",
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Certificate",
                "metadata": _meta("amman-internal-ca", "tls"),
                "spec": {
                    "isCA": True,
                    "commonName": "amman-eservices internal CA",
                    "secretName": "amman-internal-ca",
                    "duration": "87600h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256},
                    "issuerRef": {"kind": "Issuer", "name": "amman-selfsigned"},
                },
            },
        ),
        (
            "",
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Issuer",
                "metadata": _meta("amman-internal-ca", "tls"),
                "spec": {"ca": {"secretName": "amman-internal-ca"}},
            },
        ),
        (
            "RabbitMQ's server certificate: the client Service and every node's name.",
            server(
                RABBITMQ,
                [
                    RABBITMQ,
                    f"{RABBITMQ}.{NAMESPACE}.svc",
                    f"{RABBITMQ}.{svc}",
                    f"*.{RABBITMQ}-nodes.{svc}",
                ],
            ),
        ),
        (
            "MongoDB's: every member of the replica set (`<name>-<n>.<name>-svc`).",
            server(MONGODB, [f"*.{MONGODB}-svc.{svc}", f"{MONGODB}-svc.{svc}"]),
        ),
    )


# --- RabbitMQ: the cluster (Cluster Operator) and its topology (Messaging Topology Operator)


def _queue_pattern(dlq: bool) -> str:
    names = "|".join(profile.name for profile in PROFILES)
    return f"^({names})\\.[a-z-]+\\.dlq$" if dlq else f"^({names})\\.[a-z-]+$"


def rabbitmq() -> str:
    cluster_ref = {"name": RABBITMQ}
    docs: list[tuple[str, Mapping[str, Any]]] = [
        (
            "Three RabbitMQ nodes, one per zone, on persistent disks, AMQP over TLS only (5671).\n"
            "The services declare quorum queues (QUEUE_TYPE=quorum): replicated on the three nodes,\n"
            "and the stream amman.events.history (EVENTS_HISTORY_MAX_BYTES, 10 GB, on each node).",
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "RabbitmqCluster",
                "metadata": _meta(RABBITMQ, "broker"),
                "spec": {
                    "replicas": 3,
                    "image": RABBITMQ_IMAGE,
                    "resources": {
                        "requests": {"cpu": "1", "memory": "2Gi"},
                        "limits": {"cpu": "2", "memory": "2Gi"},
                    },
                    # The events' history stream (10 GB by default) beside the queues.
                    "persistence": {"storage": "40Gi"},
                    "tls": {
                        "secretName": f"{RABBITMQ}-tls",
                        "caSecretName": f"{RABBITMQ}-tls",
                        "disableNonTLSListeners": True,
                    },
                    "rabbitmq": {
                        "additionalPlugins": ["rabbitmq_prometheus"],
                        "additionalConfig": "\n".join(
                            [
                                "# Per-queue metrics (messages waiting in each .dlq) for the alerts.",
                                "prometheus.return_per_object_metrics = true",
                                "# Quorum queues by default for anything declared without a type.",
                                "default_queue_type = quorum",
                                "cluster_partition_handling = pause_minority",
                                "vm_memory_high_watermark.relative = 0.6",
                                "disk_free_limit.absolute = 2GB",
                            ]
                        )
                        + "\n",
                    },
                    # Never two nodes on one machine; one per zone wherever there are three.
                    "affinity": {
                        "podAntiAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "labelSelector": {
                                        "matchLabels": {"app.kubernetes.io/name": RABBITMQ}
                                    },
                                    "topologyKey": "kubernetes.io/hostname",
                                }
                            ],
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "labelSelector": {
                                            "matchLabels": {"app.kubernetes.io/name": RABBITMQ}
                                        },
                                        "topologyKey": "topology.kubernetes.io/zone",
                                    },
                                }
                            ],
                        }
                    },
                },
            },
        ),
        (
            f"The platform's virtual host; every AMQP_URL ends in /{VHOST}.",
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "Vhost",
                "metadata": _meta(f"{VHOST}-vhost", "broker"),
                "spec": {
                    "name": VHOST,
                    "defaultQueueType": "quorum",
                    "rabbitmqClusterReference": cluster_ref,
                },
            },
        ),
        (
            "The services' queues: dead letters to amman.dlx (each queue also names it, with its\n"
            "own .dlq as routing key) and the broker's delivery limit (5, as DELIVERY_LIMIT).",
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "Policy",
                "metadata": _meta("amman-queues", "broker"),
                "spec": {
                    "name": "amman-queues",
                    "vhost": VHOST,
                    "pattern": _queue_pattern(dlq=False),
                    "applyTo": "queues",
                    "priority": 1,
                    "definition": {"dead-letter-exchange": "amman.dlx", "delivery-limit": 5},
                    "rabbitmqClusterReference": cluster_ref,
                },
            },
        ),
        (
            "The dead-letter queues: no delivery limit (RabbitMQ 4 gives quorum queues 20 by\n"
            "default, and every read of the dead-letter tools returns the messages it looked at),\n"
            "and no dead-lettering onwards: a dead letter stays until an operator replays or\n"
            "discards it.",
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "Policy",
                "metadata": _meta("amman-dead-letter-queues", "broker"),
                "spec": {
                    "name": "amman-dead-letter-queues",
                    "vhost": VHOST,
                    "pattern": _queue_pattern(dlq=True),
                    "applyTo": "queues",
                    "priority": 1,
                    "definition": {"delivery-limit": -1},
                    "rabbitmqClusterReference": cluster_ref,
                },
            },
        ),
    ]
    for profile in PROFILES:
        docs.append(
            (
                f"{profile.name}: its own user (credentials from the Secret {profile.name}-credentials,\n"
                "made by its ExternalSecret) and only the permissions it needs.",
                {
                    "apiVersion": "rabbitmq.com/v1beta1",
                    "kind": "User",
                    "metadata": _meta(f"{profile.name}-user", "broker"),
                    "spec": {
                        "tags": [],
                        "importCredentialsSecret": {"name": f"{profile.name}-credentials"},
                        "rabbitmqClusterReference": cluster_ref,
                    },
                },
            )
        )
        docs.append(
            (
                "",
                {
                    "apiVersion": "rabbitmq.com/v1beta1",
                    "kind": "Permission",
                    "metadata": _meta(f"{profile.name}-permission", "broker"),
                    "spec": {
                        "vhost": VHOST,
                        "userReference": {"name": f"{profile.name}-user"},
                        "permissions": profile.permissions(),
                        "rabbitmqClusterReference": cluster_ref,
                    },
                },
            )
        )
    docs += [
        (
            "Outside subscribers (one User, Permission and TopicPermission per subscribing system;\n"
            "copy these three for the next one): their own queues `subscriber.<system>.*`, bound to\n"
            "amman.events only, and reading (never writing) the stream amman.events.history.\n"
            "Nothing on amman.commands, amman.dlx or the services' queues.",
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "User",
                "metadata": _meta("subscriber-example-user", "subscriber"),
                "spec": {
                    "tags": [],
                    "importCredentialsSecret": {"name": "subscriber-example-credentials"},
                    "rabbitmqClusterReference": cluster_ref,
                },
            },
        ),
        (
            "",
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "Permission",
                "metadata": _meta("subscriber-example-permission", "subscriber"),
                "spec": {
                    "vhost": VHOST,
                    "userReference": {"name": "subscriber-example-user"},
                    "permissions": {
                        "configure": "^subscriber\\.example\\..+$",
                        "write": "^subscriber\\.example\\..+$",
                        "read": "^(amman\\.events|amman\\.events\\.history|subscriber\\.example\\..+)$",
                    },
                    "rabbitmqClusterReference": cluster_ref,
                },
            },
        ),
        (
            "Read-only on amman.events: may bind with any event type, may publish none.",
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "TopicPermission",
                "metadata": _meta("subscriber-example-events", "subscriber"),
                "spec": {
                    "vhost": VHOST,
                    "userReference": {"name": "subscriber-example-user"},
                    "permissions": {"exchange": "amman.events", "read": ".*", "write": "^$"},
                    "rabbitmqClusterReference": cluster_ref,
                },
            },
        ),
    ]
    return documents(*docs)


# --- MongoDB: a three-member replica set (MongoDB Community Operator), one user per service


def mongodb() -> str:
    users: list[dict[str, Any]] = [
        {
            "name": profile.name,
            "db": "admin",
            "passwordSecretRef": {"name": f"{profile.name}-credentials", "key": "mongodb-password"},
            "roles": [{"name": "readWrite", "db": profile.name}],
            "scramCredentialsSecretName": f"{profile.name}-scram",
        }
        for profile in PROFILES
    ]
    users.append(
        {
            # For mongodump/mongorestore of the runbook: backup and restore, nothing else.
            "name": "backup",
            "db": "admin",
            "passwordSecretRef": {"name": "mongodb-backup-credentials", "key": "password"},
            "roles": [{"name": "backup", "db": "admin"}, {"name": "restore", "db": "admin"}],
            "scramCredentialsSecretName": "backup-scram",
        }
    )
    spread = {
        "maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": f"{MONGODB}-svc"}},
    }
    return documents(
        (
            "Three members, one per zone, SCRAM and TLS, one user per service with readWrite on its\n"
            "own database only (it creates its indexes there at start: readWrite allows it).",
            {
                "apiVersion": "mongodbcommunity.mongodb.com/v1",
                "kind": "MongoDBCommunity",
                "metadata": _meta(MONGODB, "database"),
                "spec": {
                    "members": 3,
                    "type": "ReplicaSet",
                    "version": MONGODB_VERSION,
                    "security": {
                        "authentication": {"modes": ["SCRAM"], "ignoreUnknownUsers": True},
                        "tls": {
                            "enabled": True,
                            "certificateKeySecretRef": {"name": f"{MONGODB}-tls"},
                            "caCertificateSecretRef": {"name": f"{MONGODB}-tls"},
                        },
                    },
                    "users": users,
                    "additionalMongodConfig": {
                        "storage.wiredTiger.engineConfig.journalCompressor": "zstd"
                    },
                    "statefulSet": {
                        "spec": {
                            "template": {
                                "spec": {
                                    "topologySpreadConstraints": [spread],
                                    "containers": [
                                        {
                                            "name": "mongod",
                                            "resources": {
                                                "requests": {"cpu": "1", "memory": "2Gi"},
                                                "limits": {"cpu": "2", "memory": "4Gi"},
                                            },
                                        }
                                    ],
                                }
                            },
                            "volumeClaimTemplates": [
                                {
                                    "metadata": {"name": "data-volume"},
                                    "spec": {
                                        "accessModes": ["ReadWriteOnce"],
                                        "resources": {"requests": {"storage": "50Gi"}},
                                    },
                                },
                                {
                                    "metadata": {"name": "logs-volume"},
                                    "spec": {
                                        "accessModes": ["ReadWriteOnce"],
                                        "resources": {"requests": {"storage": "5Gi"}},
                                    },
                                },
                            ],
                        }
                    },
                },
            },
        )
    )


# --- Secrets: ExternalSecrets from the platform's secret store, each service only its own


def _members() -> str:
    return ",".join(
        f"{MONGODB}-{i}.{MONGODB}-svc.{NAMESPACE}.svc.cluster.local:27017" for i in range(3)
    )


def amqp_url_template(name: str) -> str:
    return (
        f"amqps://{name}:{{{{ .rabbitmq_password | urlquery }}}}@{RABBITMQ}.{NAMESPACE}.svc.cluster.local"
        f":5671/{VHOST}?cafile={CA_DIR}/rabbitmq-ca.crt"
    )


def mongo_url_template(name: str) -> str:
    return (
        f"mongodb://{name}:{{{{ .mongodb_password | urlquery }}}}@{_members()}/{name}"
        f"?replicaSet={MONGODB}&authSource=admin&tls=true&tlsCAFile={CA_DIR}/mongodb-ca.crt"
    )


def remote_key(name: str) -> str:
    """Where the secret store keeps a service's secrets (one entry, one property per key)."""
    return f"amman-eservices/{name}"


def external_secrets() -> str:
    store = {"kind": "ClusterSecretStore", "name": SECRET_STORE}
    docs: list[tuple[str, Mapping[str, Any]]] = []
    for profile in PROFILES:
        key = remote_key(profile.name)
        passwords = [
            {
                "secretKey": "rabbitmq_password",
                "remoteRef": {"key": key, "property": "rabbitmq-password"},
            },
            {
                "secretKey": "mongodb_password",
                "remoteRef": {"key": key, "property": "mongodb-password"},
            },
        ]
        docs.append(
            (
                f"{profile.name}: the RabbitMQ user's and the MongoDB user's credentials, read by the\n"
                "operators (User.importCredentialsSecret, MongoDBCommunity passwordSecretRef).",
                {
                    "apiVersion": "external-secrets.io/v1",
                    "kind": "ExternalSecret",
                    "metadata": _meta(f"{profile.name}-credentials", "secrets"),
                    "spec": {
                        "refreshInterval": "1h",
                        "secretStoreRef": store,
                        "target": {
                            "name": f"{profile.name}-credentials",
                            "creationPolicy": "Owner",
                            "template": {
                                "type": "Opaque",
                                "data": {
                                    "username": profile.name,
                                    "password": "{{ .rabbitmq_password }}",
                                    "mongodb-password": "{{ .mongodb_password }}",
                                },
                            },
                        },
                        "data": passwords,
                    },
                },
            )
        )
        own = [
            {"secretKey": secret, "remoteRef": {"key": key, "property": secret}}
            for secret in profile.secrets
        ]
        data = {
            "AMQP_URL": amqp_url_template(profile.name),
            "MONGO_URL": mongo_url_template(profile.name),
            **{secret: f"{{{{ .{secret} }}}}" for secret in profile.secrets},
        }
        docs.append(
            (
                f"The Secret {profile.name}-secrets the Deployment reads: its connection URLs (built\n"
                "from the same passwords) and its own secrets; no other service's.",
                {
                    "apiVersion": "external-secrets.io/v1",
                    "kind": "ExternalSecret",
                    "metadata": _meta(f"{profile.name}-secrets", "secrets"),
                    "spec": {
                        "refreshInterval": "1h",
                        "secretStoreRef": store,
                        "target": {
                            "name": f"{profile.name}-secrets",
                            "creationPolicy": "Owner",
                            "template": {"type": "Opaque", "data": data},
                        },
                        "data": passwords + own,
                    },
                },
            )
        )
    docs.append(
        (
            "The backup user's password (mongodump/mongorestore in the runbook).",
            {
                "apiVersion": "external-secrets.io/v1",
                "kind": "ExternalSecret",
                "metadata": _meta("mongodb-backup-credentials", "secrets"),
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": store,
                    "target": {"name": "mongodb-backup-credentials", "creationPolicy": "Owner"},
                    "data": [
                        {
                            "secretKey": "password",
                            "remoteRef": {
                                "key": remote_key("mongodb-backup"),
                                "property": "password",
                            },
                        }
                    ],
                },
            },
        )
    )
    docs.append(
        (
            "The example outside subscriber's RabbitMQ credentials.",
            {
                "apiVersion": "external-secrets.io/v1",
                "kind": "ExternalSecret",
                "metadata": _meta("subscriber-example-credentials", "secrets"),
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": store,
                    "target": {
                        "name": "subscriber-example-credentials",
                        "creationPolicy": "Owner",
                        "template": {
                            "type": "Opaque",
                            "data": {
                                "username": "subscriber.example",
                                "password": "{{ .password }}",
                            },
                        },
                    },
                    "data": [
                        {
                            "secretKey": "password",
                            "remoteRef": {
                                "key": remote_key("subscriber-example"),
                                "property": "rabbitmq-password",
                            },
                        }
                    ],
                },
            },
        )
    )
    return documents(*docs)


# --- The way in: Gateway API routes (the default) and an Ingress alternative (a component)


def _public_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for profile in PROFILES:
        for path in profile.callbacks:
            rules.append(
                {
                    # Providers' callbacks are answered only on the providers' host, where the
                    # gateway admits only the providers' addresses.
                    "matches": [
                        {"path": {"type": "PathPrefix", "value": f"/{profile.name}{path}"}}
                    ],
                    "filters": [
                        {
                            "type": "RequestRedirect",
                            "requestRedirect": {
                                "scheme": "https",
                                "hostname": PROVIDERS_HOST,
                                "statusCode": 301,
                            },
                        }
                    ],
                }
            )
    for profile in PROFILES:
        rules.append(
            {
                "matches": [{"path": {"type": "PathPrefix", "value": f"/{profile.name}"}}],
                "backendRefs": [{"name": profile.name, "port": 80}],
            }
        )
    return rules


def gateway_routes() -> str:
    provider_rules = [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": f"/{profile.name}{path}"}}],
            "backendRefs": [{"name": profile.name, "port": 80}],
        }
        for profile in PROFILES
        for path in profile.callbacks
    ]
    return documents(
        (
            "The portal's API gateway: one path prefix per service, TLS ends at the Gateway's\n"
            "`https` listener. The prefix is kept: each service serves under it (HTTP_ROOT_PATH).",
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": _meta("amman-eservices", "route"),
                "spec": {
                    "parentRefs": [{**GATEWAY, "sectionName": "https"}],
                    "hostnames": [PUBLIC_HOST],
                    "rules": _public_rules(),
                },
            },
        ),
        (
            "The providers' callbacks (eFAWATEERcom's payment notifications, the SMS provider's\n"
            "delivery receipts) on a host and listener of their own (`providers-https`), which the\n"
            "gateway restricts to the providers' addresses (deploy/README.md).",
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": _meta("amman-eservices-providers", "route"),
                "spec": {
                    "parentRefs": [{**GATEWAY, "sectionName": "providers-https"}],
                    "hostnames": [PROVIDERS_HOST],
                    "rules": provider_rules,
                },
            },
        ),
    )


def ingresses() -> str:
    def path(prefix: str, service: str) -> dict[str, Any]:
        return {
            "path": prefix,
            "pathType": "Prefix",
            "backend": {"service": {"name": service, "port": {"name": "http"}}},
        }

    return documents(
        (
            "The Ingress alternative to the HTTPRoute: the same prefixes, TLS with the certificate in\n"
            "the Secret eservices-tls. ingress-nginx cannot refuse a sub-path portably, so the\n"
            "providers' callbacks stay reachable here too (they are signed; see deploy/README.md).",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": _meta("amman-eservices", "route"),
                "spec": {
                    "ingressClassName": "nginx",
                    "tls": [{"hosts": [PUBLIC_HOST], "secretName": "eservices-tls"}],
                    "rules": [
                        {
                            "host": PUBLIC_HOST,
                            "http": {"paths": [path(f"/{p.name}", p.name) for p in PROFILES]},
                        }
                    ],
                },
            },
        ),
        (
            "The providers' host, admitted only from their addresses: replace the documentation\n"
            "ranges below (which admit nobody) with eFAWATEERcom's and the SMS provider's.",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    **_meta("amman-eservices-providers", "route"),
                    "annotations": {
                        "nginx.ingress.kubernetes.io/whitelist-source-range": "192.0.2.0/24,198.51.100.0/24"
                    },
                },
                "spec": {
                    "ingressClassName": "nginx",
                    "tls": [{"hosts": [PROVIDERS_HOST], "secretName": "providers-tls"}],
                    "rules": [
                        {
                            "host": PROVIDERS_HOST,
                            "http": {
                                "paths": [
                                    path(f"/{p.name}{callback}", p.name)
                                    for p in PROFILES
                                    for callback in p.callbacks
                                ]
                            },
                        }
                    ],
                },
            },
        ),
    )


def ingress_component() -> str:
    return documents(
        (
            "Use the Ingress instead of the Gateway API: add `components: [../../components/ingress]`\n"
            "to the production overlay. The HTTPRoutes are removed.",
            {
                "apiVersion": "kustomize.config.k8s.io/v1alpha1",
                "kind": "Component",
                "resources": ["ingress.yaml"],
                "patches": [
                    {
                        "target": {"kind": "HTTPRoute"},
                        "patch": "$patch: delete\napiVersion: gateway.networking.k8s.io/v1\n"
                        "kind: HTTPRoute\nmetadata:\n  name: any\n",
                    }
                ],
            },
        )
    )


# --- NetworkPolicies


def _ns(role: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"amman.jo/role": role}}}


SERVICE_PODS = {
    "podSelector": {
        "matchLabels": {
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/component": "service",
        }
    }
}
PROMETHEUS = {
    **_ns("monitoring"),
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}


def _tcp(*ports: int | str) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def network_policies() -> str:
    def policy(
        name: str, pods: Mapping[str, str], ingress: list[dict[str, Any]], *, operator: bool = False
    ) -> dict[str, Any]:
        metadata = _meta(name, "network-policy")
        if operator:
            # Its pods are made by an operator, so kube-score cannot see that it selects them.
            metadata["annotations"] = {"kube-score/ignore": "networkpolicy-targets-pod"}
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata,
            "spec": {
                "podSelector": {"matchLabels": dict(pods)},
                "policyTypes": ["Ingress"],
                "ingress": ingress,
            },
        }

    callback_services = [p.name for p in PROFILES if p.callbacks]
    return documents(
        (
            "The services: the API on 8000 only from the gateway's namespace(s), /metrics on 9090\n"
            "only from Prometheus. They talk to one another only through RabbitMQ, never over HTTP.\n"
            "Egress is not restricted (RabbitMQ, MongoDB, the collector, the JWKS, the SMS provider).",
            policy(
                "amman-eservices-services",
                {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/component": "service"},
                [
                    {"from": [_ns("gateway")], "ports": _tcp(8000)},
                    {"from": [PROMETHEUS], "ports": _tcp(9090)},
                ],
            ),
        ),
        (
            "The providers' callbacks, when they come through a gateway of their own (a namespace\n"
            "labelled amman.jo/role=provider-gateway): only to the services that serve them.",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _meta("amman-eservices-provider-callbacks", "network-policy"),
                "spec": {
                    "podSelector": {
                        "matchExpressions": [
                            {
                                "key": "app.kubernetes.io/name",
                                "operator": "In",
                                "values": callback_services,
                            }
                        ]
                    },
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [_ns("provider-gateway")], "ports": _tcp(8000)}],
                },
            },
        ),
        (
            "RabbitMQ: AMQPS from the services and the outside subscribers' namespace(s); the\n"
            "management API from the topology operator; metrics from Prometheus; the nodes among\n"
            "themselves (clustering, quorum replication).",
            policy(
                "rabbitmq",
                {"app.kubernetes.io/name": RABBITMQ, "app.kubernetes.io/component": "rabbitmq"},
                [
                    {"from": [SERVICE_PODS, _ns("subscribers")], "ports": _tcp(5671)},
                    {"from": [_ns("rabbitmq-operators")], "ports": _tcp(15671, 15672)},
                    {"from": [PROMETHEUS], "ports": _tcp(15691, 15692)},
                    {
                        "from": [
                            {
                                "podSelector": {
                                    "matchLabels": {
                                        "app.kubernetes.io/name": RABBITMQ,
                                        "app.kubernetes.io/component": "rabbitmq",
                                    }
                                }
                            }
                        ]
                    },
                ],
                operator=True,
            ),
        ),
        (
            "MongoDB: 27017 from the services and the backup jobs; the members among themselves.",
            policy(
                "mongodb",
                {"app": f"{MONGODB}-svc"},
                [
                    {
                        "from": [
                            SERVICE_PODS,
                            {"podSelector": {"matchLabels": {"amman.jo/role": "mongodb-backup"}}},
                        ],
                        "ports": _tcp(27017),
                    },
                    {"from": [{"podSelector": {"matchLabels": {"app": f"{MONGODB}-svc"}}}]},
                ],
                operator=True,
            ),
        ),
        (
            "The OpenTelemetry Collector: OTLP from the services; its own metrics from Prometheus.",
            policy(
                "otel-collector",
                {"app.kubernetes.io/name": "otel-collector"},
                [
                    {"from": [SERVICE_PODS], "ports": _tcp(4317, 4318)},
                    {"from": [PROMETHEUS], "ports": _tcp(8888)},
                ],
            ),
        ),
    )


# --- The OpenTelemetry Collector the services' OTLP endpoint points to

OTEL_CONFIG = """\
# Receives the services' traces over OTLP/HTTP (4318; gRPC on 4317 too), batches them and sends them
# to the tracing backend named by TRACES_BACKEND_ENDPOINT (an OTLP/gRPC endpoint: Tempo, Jaeger,
# an APM vendor's collector). Set it in the ConfigMap otel-collector-backend.
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
receivers:
  otlp:
    protocols:
      http:
        endpoint: 0.0.0.0:4318
      grpc:
        endpoint: 0.0.0.0:4317
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  batch:
    send_batch_size: 1024
    timeout: 5s
  # Never keep a secret or a citizen's phone number in a span: the services set none, and this
  # drops them should a library add them.
  attributes/scrub:
    actions:
      - key: http.request.header.authorization
        action: delete
      - key: enduser.id
        action: delete
exporters:
  otlp:
    endpoint: ${env:TRACES_BACKEND_ENDPOINT}
    tls:
      insecure: ${env:TRACES_BACKEND_INSECURE}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 0.0.0.0
                port: 8888
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, attributes/scrub, batch]
      exporters: [otlp]
"""


def otel_collector() -> str:
    labels = _labels("otel-collector", "telemetry")
    selector = {"app.kubernetes.io/name": "otel-collector", "app.kubernetes.io/part-of": PART_OF}
    probe = {"httpGet": {"path": "/", "port": "health"}, "periodSeconds": 10, "timeoutSeconds": 3}
    return documents(
        (
            "The collector's pipeline (OTEL_EXPORTER_OTLP_ENDPOINT of platform-config points here).",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta("otel-collector", "telemetry"),
                "data": {"config.yaml": OTEL_CONFIG},
            },
        ),
        (
            "Where the collector sends the traces: replace with the tracing backend's address.",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta("otel-collector-backend", "telemetry"),
                "data": {
                    "TRACES_BACKEND_ENDPOINT": "tempo-distributor.observability.svc.cluster.local:4317",
                    "TRACES_BACKEND_INSECURE": "true",
                },
            },
        ),
        (
            "",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": _meta("otel-collector", "telemetry"),
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": selector},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "automountServiceAccountToken": False,
                            "enableServiceLinks": False,
                            "securityContext": {
                                "runAsNonRoot": True,
                                "runAsUser": 10001,
                                "runAsGroup": 10001,
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "topologySpreadConstraints": [
                                {
                                    "maxSkew": 1,
                                    "topologyKey": "kubernetes.io/hostname",
                                    "whenUnsatisfiable": "ScheduleAnyway",
                                    "labelSelector": {"matchLabels": selector},
                                }
                            ],
                            "containers": [
                                {
                                    "name": "otel-collector",
                                    "image": OTEL_COLLECTOR_IMAGE,
                                    "imagePullPolicy": "Always",
                                    "args": ["--config=/etc/otelcol/config.yaml"],
                                    "envFrom": [
                                        {"configMapRef": {"name": "otel-collector-backend"}}
                                    ],
                                    "ports": [
                                        {
                                            "name": "otlp-http",
                                            "containerPort": 4318,
                                            "protocol": "TCP",
                                        },
                                        {
                                            "name": "otlp-grpc",
                                            "containerPort": 4317,
                                            "protocol": "TCP",
                                        },
                                        {
                                            "name": "metrics",
                                            "containerPort": 8888,
                                            "protocol": "TCP",
                                        },
                                        {
                                            "name": "health",
                                            "containerPort": 13133,
                                            "protocol": "TCP",
                                        },
                                    ],
                                    "readinessProbe": probe,
                                    "livenessProbe": {
                                        "tcpSocket": {"port": "health"},
                                        "periodSeconds": 10,
                                        "failureThreshold": 3,
                                    },
                                    "resources": {
                                        "requests": {
                                            "cpu": "100m",
                                            "memory": "256Mi",
                                            "ephemeral-storage": "64Mi",
                                        },
                                        "limits": {
                                            "cpu": "1",
                                            "memory": "512Mi",
                                            "ephemeral-storage": "256Mi",
                                        },
                                    },
                                    "securityContext": {
                                        "allowPrivilegeEscalation": False,
                                        "readOnlyRootFilesystem": True,
                                        "runAsNonRoot": True,
                                        "capabilities": {"drop": ["ALL"]},
                                    },
                                    "volumeMounts": [
                                        {"name": "config", "mountPath": "/etc/otelcol"}
                                    ],
                                }
                            ],
                            "volumes": [
                                {"name": "config", "configMap": {"name": "otel-collector"}}
                            ],
                        },
                    },
                },
            },
        ),
        (
            "",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": _meta("otel-collector", "telemetry"),
                "spec": {
                    "type": "ClusterIP",
                    "selector": selector,
                    "ports": [
                        {
                            "name": "otlp-http",
                            "port": 4318,
                            "targetPort": "otlp-http",
                            "protocol": "TCP",
                        },
                        {
                            "name": "otlp-grpc",
                            "port": 4317,
                            "targetPort": "otlp-grpc",
                            "protocol": "TCP",
                        },
                        {
                            "name": "metrics",
                            "port": 8888,
                            "targetPort": "metrics",
                            "protocol": "TCP",
                        },
                    ],
                },
            },
        ),
        (
            "",
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": _meta("otel-collector", "telemetry"),
                "spec": {
                    "minAvailable": 1,
                    "unhealthyPodEvictionPolicy": "AlwaysAllow",
                    "selector": {"matchLabels": selector},
                },
            },
        ),
    )


# --- Observability: scraping, alerts, a dashboard

DLQ = '{queue=~".+\\\\.dlq"}'


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str


ALERTS: tuple[Alert, ...] = (
    Alert(
        "AmmanDeadLettersWaiting",
        'sum by (vhost, queue) (rabbitmq_queue_messages{queue=~".+\\\\.dlq"}) > 0',
        "5m",
        "warning",
        "Dead letters wait in {{ $labels.queue }}",
        "{{ $value }} message(s) in {{ $labels.queue }}. List them with the dead-letter tools "
        "(GET /<service>/v1/ops/dead-letters) and replay or discard each.",
    ),
    Alert(
        "AmmanMessagesDeadLettered",
        "sum by (namespace, service, queue, cause) (increase(events_dead_lettered_total[15m])) > 0",
        "0m",
        "warning",
        "{{ $labels.service }} dead-lettered messages from {{ $labels.queue }} ({{ $labels.cause }})",
        "{{ $value }} message(s) in 15 minutes. The reason is in each dead letter.",
    ),
    Alert(
        "AmmanOutboxBacklog",
        "max by (namespace, service, collection) (outbox_oldest_entry_age_seconds) > 300",
        "5m",
        "critical",
        "{{ $labels.service }} has events unpublished for over 5 minutes",
        "The oldest event waiting in the outbox of {{ $labels.collection }} is "
        "{{ $value | humanizeDuration }} old: the broker refuses the relay, or no replica runs it.",
    ),
    Alert(
        "AmmanConsumerRedeliveries",
        "sum by (namespace, service, queue) (rate(events_redelivered_total[10m])) > 0.2",
        "15m",
        "warning",
        "{{ $labels.queue }} is redelivering messages",
        "{{ $value }} redeliveries a second: a handler keeps failing (see the service's logs).",
    ),
    Alert(
        "AmmanLicensingSlaBreached",
        "sum by (namespace) (increase(licensing_sla_breaches_total[1h])) > 0",
        "0m",
        "warning",
        "Licence requests missed the 3-working-day target",
        "{{ $value }} request(s) in the last hour; see GET /licensing/v1/staff/overdue.",
    ),
    Alert(
        "AmmanTrainingReviewsOverdue",
        'max by (namespace) (training_requests_under_review{sla="overdue"}) > 0',
        "1h",
        "warning",
        "Training requests wait past the 5-working-day review target",
        "{{ $value }} request(s) overdue; see GET /training/v1/staff/requests?overdue=true.",
    ),
    Alert(
        "AmmanExamSessionsOverdue",
        'max by (namespace) (exams_sessions_awaiting_date{sla="overdue"}) > 0',
        "1h",
        "warning",
        "Official exam sessions wait for a date past one working week",
        "{{ $value }} session(s) overdue.",
    ),
    Alert(
        "AmmanSmsPermanentFailures",
        'sum by (namespace) (increase(notifier_sms_steps_total{status="permanent-failure"}[1h]))'
        ' / clamp_min(sum by (namespace) (increase(notifier_sms_steps_total{status="queued"}[1h])), 1)'
        " > 0.05",
        "15m",
        "warning",
        "Over 5 % of SMS failed for good in the last hour",
        "Ratio {{ $value | humanizePercentage }}: numbers refused by the provider, or a provider "
        "fault answered as permanent.",
    ),
    Alert(
        "AmmanBillsExpiring",
        'sum by (namespace) (increase(payments_bills_total{outcome="expired"}[1d]))'
        ' / clamp_min(sum by (namespace) (increase(payments_bills_total{outcome="issued"}[1d])), 1)'
        " > 0.3",
        "1h",
        "warning",
        "Over 30 % of bills expire unpaid",
        "Ratio {{ $value | humanizePercentage }} over a day: citizens may not reach the payment "
        "channels, or payment notifications are not arriving.",
    ),
    Alert(
        "AmmanHttp5xx",
        'sum by (namespace, service) (rate(http_requests_total{status=~"5.."}[5m]))'
        " / sum by (namespace, service) (rate(http_requests_total[5m])) > 0.01",
        "10m",
        "critical",
        "{{ $labels.service }} answers over 1 % of requests with a 5xx",
        "Ratio {{ $value | humanizePercentage }}.",
    ),
    Alert(
        "AmmanPodRestarting",
        'sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{namespace="'
        + NAMESPACE
        + '"}[30m])) > 2',
        "0m",
        "warning",
        "{{ $labels.pod }} restarted {{ $value }} times in 30 minutes",
        "See `kubectl -n " + NAMESPACE + " describe pod {{ $labels.pod }}` and its previous logs.",
    ),
)


def rule_groups() -> list[dict[str, Any]]:
    return [
        {
            "name": "amman-eservices",
            "rules": [
                {
                    "alert": alert.name,
                    "expr": alert.expr,
                    "for": alert.for_,
                    "labels": {"severity": alert.severity, "platform": PART_OF},
                    "annotations": {"summary": alert.summary, "description": alert.description},
                }
                for alert in ALERTS
            ],
        }
    ]


def rules_file() -> str:
    return yaml({"groups": rule_groups()})


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: Sequence[tuple[str, str]]  # (expression, legend)
    unit: str = "short"


PANELS: tuple[Panel, ...] = (
    Panel(
        "Requests per second",
        [("sum by (service) (rate(http_requests_total[5m]))", "{{service}}")],
        "reqps",
    ),
    Panel(
        "5xx ratio",
        [
            (
                'sum by (service) (rate(http_requests_total{status=~"5.."}[5m])) / sum by (service) (rate(http_requests_total[5m]))',
                "{{service}}",
            )
        ],
        "percentunit",
    ),
    Panel(
        "Request latency p95",
        [
            (
                "histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket[5m])))",
                "{{service}}",
            )
        ],
        "s",
    ),
    Panel(
        "Dead letters waiting",
        [('sum by (queue) (rabbitmq_queue_messages{queue=~".+\\\\.dlq"})', "{{queue}}")],
    ),
    Panel(
        "Dead-lettered (15 min)",
        [
            (
                "sum by (queue, cause) (increase(events_dead_lettered_total[15m]))",
                "{{queue}} {{cause}}",
            )
        ],
    ),
    Panel(
        "Oldest unpublished event",
        [("max by (service) (outbox_oldest_entry_age_seconds)", "{{service}}")],
        "s",
    ),
    Panel(
        "Redeliveries per second",
        [("sum by (queue) (rate(events_redelivered_total[5m]))", "{{queue}}")],
    ),
    Panel(
        "Overdue against the SLA",
        [
            ("sum(increase(licensing_sla_breaches_total[1d]))", "licensing (breaches, 1 day)"),
            ('max(training_requests_under_review{sla="overdue"})', "training reviews"),
            ('max(exams_sessions_awaiting_date{sla="overdue"})', "exam sessions"),
        ],
    ),
    Panel(
        "SMS by outcome (1 h)",
        [("sum by (status) (increase(notifier_sms_steps_total[1h]))", "{{status}}")],
    ),
    Panel(
        "Bills by outcome (1 day)",
        [("sum by (outcome) (increase(payments_bills_total[1d]))", "{{outcome}}")],
    ),
    Panel(
        "Pod restarts (30 min)",
        [
            (
                f'sum by (pod) (increase(kube_pod_container_status_restarts_total{{namespace="{NAMESPACE}"}}[30m]))',
                "{{pod}}",
            )
        ],
    ),
)


def dashboard() -> dict[str, Any]:
    panels = []
    for index, panel in enumerate(PANELS):
        panels.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": panel.title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                "targets": [
                    {"refId": chr(ord("A") + n), "expr": expr, "legendFormat": legend}
                    for n, (expr, legend) in enumerate(panel.exprs)
                ],
            }
        )
    return {
        "uid": "amman-eservices",
        "title": "Amman e-services",
        "tags": ["amman-eservices"],
        "timezone": "Asia/Amman",
        "schemaVersion": 39,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                }
            ]
        },
        "panels": panels,
    }


def monitoring() -> str:
    return documents(
        (
            "Prometheus Operator: scrape every service's /metrics on its `metrics` port (9090),\n"
            "never the public one. The `service` label names the service.",
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": _meta("amman-eservices", "monitoring"),
                "spec": {
                    "selector": {
                        "matchLabels": {
                            "app.kubernetes.io/part-of": PART_OF,
                            "app.kubernetes.io/component": "service",
                        }
                    },
                    "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
                },
            },
        ),
        (
            "RabbitMQ's own metrics (per queue: the .dlq depths the alerts read).",
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": _meta("rabbitmq", "monitoring"),
                "spec": {
                    "selector": {"matchLabels": {"app.kubernetes.io/name": RABBITMQ}},
                    "endpoints": [
                        {
                            "port": "prometheus-tls",
                            "scheme": "https",
                            "path": "/metrics",
                            "interval": "30s",
                            "tlsConfig": {
                                "ca": {"secret": {"name": f"{RABBITMQ}-tls", "key": "ca.crt"}},
                                "serverName": f"{RABBITMQ}.{NAMESPACE}.svc",
                            },
                        }
                    ],
                },
            },
        ),
        (
            "The alerts (tested with `promtool test rules`: deploy/k8s/monitoring/).",
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": _meta("amman-eservices", "monitoring"),
                "spec": {"groups": rule_groups()},
            },
        ),
        (
            "The Grafana dashboard, for Grafana's dashboard sidecar (label grafana_dashboard).",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    **_meta("amman-eservices-dashboard", "monitoring"),
                    "labels": {
                        **_labels("amman-eservices-dashboard", "monitoring"),
                        "grafana_dashboard": "1",
                    },
                },
                "data": {"amman-eservices.json": json.dumps(dashboard(), indent=2) + "\n"},
            },
        ),
    )


# --- the production overlay's kustomization


def production_kustomization() -> str:
    config_maps = [
        {
            "name": f"{profile.name}-config",
            "literals": [f"{key}={value}" for key, value in profile.config.items()],
            "options": {"labels": {"app.kubernetes.io/part-of": PART_OF}},
        }
        for profile in PROFILES
        if profile.config
    ]
    mount_ca = (
        "- op: add\n"
        "  path: /spec/template/spec/volumes/-\n"
        "  value:\n"
        "    name: platform-ca\n"
        "    projected:\n"
        "      sources:\n"
        f"        - secret: {{name: {RABBITMQ}-tls, items: [{{key: ca.crt, path: rabbitmq-ca.crt}}]}}\n"
        f"        - secret: {{name: {MONGODB}-tls, items: [{{key: ca.crt, path: mongodb-ca.crt}}]}}\n"
        "- op: add\n"
        "  path: /spec/template/spec/containers/0/volumeMounts/-\n"
        "  value:\n"
        "    name: platform-ca\n"
        f"    mountPath: {CA_DIR}\n"
        "    readOnly: true\n"
    )
    return documents(
        (
            "Production: the base (2 replicas, production settings), and the platform around it:\n"
            "RabbitMQ and MongoDB run by their operators, TLS from cert-manager, every secret from\n"
            "the secret store (External Secrets), the gateway's routes, NetworkPolicies, an\n"
            "autoscaler per service, scraping, alerts, a dashboard and the OpenTelemetry Collector.\n"
            "Generated by deploy/k8s/generate.py; the runbook is deploy/README.md.",
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                # Every object lands in the platform's namespace, whatever kubectl's context says.
                "namespace": NAMESPACE,
                "resources": [
                    "../../base",
                    "hpa.yaml",
                    "networkpolicy.yaml",
                    "certificates.yaml",
                    "rabbitmq.yaml",
                    "mongodb.yaml",
                    "external-secrets.yaml",
                    "gateway-api.yaml",
                    "monitoring.yaml",
                    "otel-collector.yaml",
                ],
                # To use a plain Ingress instead of the Gateway API's HTTPRoutes:
                # components: [../../components/ingress]
                "images": [
                    {
                        # Pin the release: a tag the registry never moves, or better a digest.
                        "name": "amman-eservices",
                        "newName": "registry.example.com/amman/amman-eservices",
                        "newTag": "0.1.0",
                    }
                ],
                "configMapGenerator": config_maps,
                "patches": [
                    {
                        # The autoscaler owns the replica count: `replicas` would reset it at
                        # every apply.
                        "target": {
                            "kind": "Deployment",
                            "labelSelector": "app.kubernetes.io/component=service",
                        },
                        "patch": "- op: remove\n  path: /spec/replicas\n",
                    },
                    {
                        # The CA of the brokers' certificates, for AMQP_URL's cafile and
                        # MONGO_URL's tlsCAFile.
                        "target": {
                            "kind": "Deployment",
                            "labelSelector": "app.kubernetes.io/component=service",
                        },
                        "patch": mount_ca,
                    },
                ],
            },
        )
    )


def outputs() -> dict[str, str]:
    """Generated files, by path relative to deploy/k8s."""
    prod = "overlays/production"
    return {
        f"{prod}/kustomization.yaml": production_kustomization(),
        f"{prod}/networkpolicy.yaml": network_policies(),
        f"{prod}/certificates.yaml": certificates(),
        f"{prod}/rabbitmq.yaml": rabbitmq(),
        f"{prod}/mongodb.yaml": mongodb(),
        f"{prod}/external-secrets.yaml": external_secrets(),
        f"{prod}/gateway-api.yaml": gateway_routes(),
        f"{prod}/monitoring.yaml": monitoring(),
        f"{prod}/otel-collector.yaml": otel_collector(),
        "components/ingress/kustomization.yaml": ingress_component(),
        "components/ingress/ingress.yaml": ingresses(),
        "monitoring/rules.yaml": rules_file(),
        "monitoring/dashboard.json": json.dumps(dashboard(), indent=2) + "\n",
    }
