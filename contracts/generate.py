"""Generate the published contract documents from the registry, or check they are up to date.

    python -m contracts.generate          # write them
    python -m contracts.generate --check  # exit 1 and list what differs; write nothing

Three things are derived from :data:`contracts.REGISTRY` and committed beside the code, because
other government systems read them without running Python:

- ``schemas/<routing key>.json``: the JSON Schema (draft 2020-12) of each event type's data,
  its ``$id`` being the ``dataschema`` URL the envelope carries; stale files are removed;
- ``asyncapi.json``: an AsyncAPI 3.0.0 document of the topic exchange ``amman.events``;
- the event table of ``README.md``, between the two marker comments;
- ``released/<type>.json``: the snapshot of every published schema, which the compatibility gate
  (:mod:`contracts.compat`) compares the models with. ``--check`` fails on a breaking change, and
  writing refuses it (writing nothing); a compatible change refreshes the snapshot.

Output is deterministic (sorted keys, two-space indent, trailing newline), so the check is exact
and a unit test can fail when a model changed without regenerating.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from contracts import CONTRACT_MODULES, examples, personal
from contracts.compat import RELEASED_DIR, catalogue_changes, load_released
from contracts.envelope import (
    CONTENT_TYPE,
    CloudEvent,
    commandschema_of,
    dataschema_of,
    event_type_of,
)
from contracts.registry import REGISTRY, EventRegistry, EventSpec

__all__ = [
    "ASYNCAPI_FILE",
    "EXCHANGE",
    "PACKAGE_DIR",
    "README_BEGIN",
    "README_END",
    "SCHEMA_DIR",
    "asyncapi_document",
    "breaking",
    "check",
    "command_specs",
    "commands_asyncapi_document",
    "data_schema",
    "events_table",
    "expected_files",
    "main",
    "render_readme",
    "write",
]

PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMA_DIR = "schemas"
ASYNCAPI_FILE = "asyncapi.json"
COMMANDS_DIR = "commands"
README_FILE = "README.md"
README_BEGIN = "<!-- BEGIN GENERATED: event types (python -m contracts.generate) -->"
README_END = "<!-- END GENERATED: event types -->"
PERSONAL_BEGIN = "<!-- BEGIN GENERATED: personal data (python -m contracts.generate) -->"
PERSONAL_END = "<!-- END GENERATED: personal data -->"

EXCHANGE = "amman.events"
COMMAND_EXCHANGE = "amman.commands"
HISTORY_STREAM = "amman.events.history"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
AMQP_BINDING_VERSION = "0.3.0"
# The version of the event catalogue as a whole. Bump the minor when an event type or an
# optional field is added, the major never (a breaking change is a new .vN type beside the old).
CATALOGUE_VERSION = "1.0.0"

_ENVELOPE_DESCRIPTION = (
    "A CloudEvents 1.0 event in structured JSON mode (application/cloudevents+json). "
    "Attributes not listed are CloudEvents extensions: lowercase letters and digits, scalar values."
)


def _dumps(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def data_schema(spec: EventSpec, *, command: bool = False) -> dict[str, Any]:
    """The standalone JSON Schema of one event type's (or command's) data."""
    # Validation mode: the schema says what a subscriber accepts, so a field with a default is
    # optional in it (serialization mode would call it required, and every added optional field
    # would look like a breaking change).
    schema = spec.data_model.model_json_schema(mode="validation")
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = (
        commandschema_of(spec.routing_key) if command else dataschema_of(spec.routing_key)
    )
    schema["description"] = spec.summary
    return schema


def command_specs() -> list[EventSpec]:
    """The commands of the contract modules (``COMMAND_SPECS``): not events, so not registered,
    but published with a JSON Schema of their data like the events."""
    return [spec for module in CONTRACT_MODULES for spec in getattr(module, "COMMAND_SPECS", ())]


def _component_schemas(
    specs: Sequence[EventSpec],
) -> tuple[dict[type[BaseModel], str], dict[str, Any]]:
    """Every model (the envelope's and the data's, nested ones too) as AsyncAPI components.

    A data schema's own ``$defs`` would be resolved against the AsyncAPI document's root by most
    tools, so all models are generated together with their references pointing into
    ``#/components/schemas``.
    """
    models: list[type[BaseModel]] = [CloudEvent]
    for spec in specs:
        if spec.data_model not in models:
            models.append(spec.data_model)
    mode: JsonSchemaMode = "validation"
    refs, top = models_json_schema(
        [(model, mode) for model in models], ref_template="#/components/schemas/{model}"
    )
    components: dict[str, Any] = top.get("$defs", {})
    envelope = components[_component_name(refs[(CloudEvent, mode)])]
    envelope["description"] = _ENVELOPE_DESCRIPTION
    return {model: refs[(model, mode)]["$ref"] for model in models}, components


def _component_name(ref: dict[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[1]


_CREDENTIALS = (
    "A subscribing system gets its own RabbitMQ user from the platform's operators (it asks with "
    "its system name, e.g. `civil_registry`, and the routing keys it needs; see "
    "contracts/README.md, 'Getting access'). The password is handed over out of band and "
    "rotated on request. On the vhost the user may: configure and write only its own queues and "
    "exchanges, named `<system>.*` (declare them, bind them, its own dead-letter exchange); read "
    f"those, the exchange `{EXCHANGE}` (to bind to it) and the stream `{HISTORY_STREAM}` (to "
    f"replay history). Its topic permission on `{EXCHANGE}` is read-only: it may bind any routing "
    f"key and never publish. It has no permission on `{COMMAND_EXCHANGE}` nor on the platform's "
    "own queues, and may neither publish to nor delete the stream."
)

_REPLAY = (
    f"Every event is also kept in the RabbitMQ stream `{HISTORY_STREAM}` (bound to `{EXCHANGE}` "
    "with `#`, retained by size and age). A new subscriber catches up without a gap: it declares "
    "and binds its own queue first, then consumes the stream (prefetch set, manual acks) from a "
    "point in time (`x-stream-offset`, an AMQP timestamp) or an offset, up to the first event its "
    "queue holds, then switches to its queue, deduplicating on the event `id` "
    "(contracts/README.md, 'Replaying history')."
)

_SECURITY_SCHEMES: dict[str, Any] = {
    "userPassword": {
        "type": "userPassword",
        "description": (
            "RabbitMQ user and password (SASL PLAIN), only over TLS (amqps) in production. "
            + _CREDENTIALS
        ),
    }
}


def _servers(vhost_doc: str) -> dict[str, Any]:
    vhost = {
        "default": "amman",
        "examples": ["amman", "amman-staging"],
        "description": (
            f"The deployment's RabbitMQ virtual host{vhost_doc}. In an AMQP URI it is the "
            "path, percent-encoded (`amqps://user:password@host:5671/amman`)."
        ),
    }
    return {
        "production": {
            "host": "{host}",
            "pathname": "/{vhost}",
            "protocol": "amqps",
            "protocolVersion": "0.9.1",
            "title": "The deployment's RabbitMQ, over TLS",
            "description": (
                "What other government systems connect to: TLS on port 5671, a user of their own "
                "(see the security scheme). The vhost is the deployment's."
            ),
            "variables": {
                "host": {
                    "default": "rabbitmq.amman.jo:5671",
                    "description": "Host and TLS port of the deployment's RabbitMQ.",
                },
                "vhost": vhost,
            },
            "security": [{"$ref": "#/components/securitySchemes/userPassword"}],
        },
        "development": {
            "host": "{host}",
            "pathname": "/{vhost}",
            "protocol": "amqp",
            "protocolVersion": "0.9.1",
            "title": "A developer's RabbitMQ (make run)",
            "description": "Plain AMQP on a developer's machine; never for real data.",
            "variables": {
                "host": {"default": "localhost:5672", "description": "Host and port."},
                "vhost": {
                    **vhost,
                    "default": "%2F",
                    "examples": ["%2F"],
                    "description": "The default vhost `/`, percent-encoded as in a URI.",
                },
            },
            "security": [{"$ref": "#/components/securitySchemes/userPassword"}],
        },
    }


def _message(
    spec: EventSpec,
    model_refs: dict[type[BaseModel], str],
    *,
    command: bool,
    registry: EventRegistry | None = None,
) -> Any:
    key = spec.routing_key
    schema_url = commandschema_of(key) if command else dataschema_of(key)
    source: dict[str, Any] = (
        {"pattern": "^/services/[a-z]+(?:_[a-z]+)*$"}
        if command
        else {"const": f"/services/{spec.producer}"}
    )
    named = examples.command_examples() if command else examples.examples_of(key, registry)
    return {
        "name": key,
        "title": spec.data_model.__name__,
        "summary": spec.summary,
        "contentType": CONTENT_TYPE,
        "payload": {
            "allOf": [
                {"$ref": model_refs[CloudEvent]},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": event_type_of(key)},
                        "source": source,
                        "dataschema": {"const": schema_url},
                        "data": {"$ref": model_refs[spec.data_model]},
                    },
                    "required": ["data"],
                },
            ]
        },
        "examples": [
            {"name": name, "payload": json.loads(event.to_json())} for name, event in named
        ],
        "bindings": {
            "amqp": {"messageType": event_type_of(key), "bindingVersion": AMQP_BINDING_VERSION}
        },
        "tags": [{"name": spec.producer}],
    }


def _channel(address: str, spec: EventSpec, exchange: str, exchange_type: str) -> dict[str, Any]:
    """The channel of one message type, bound by its routing key on `exchange`."""
    return {
        "address": address,
        "title": address,
        "description": spec.summary,
        "messages": {
            spec.data_model.__name__: {"$ref": f"#/components/messages/{spec.routing_key}"}
        },
        "bindings": {
            "amqp": {
                # The vhost is the server's (its `vhost` variable), not fixed here.
                "is": "routingKey",
                "exchange": {
                    "name": exchange,
                    "type": exchange_type,
                    "durable": True,
                    "autoDelete": False,
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }


def _operation(
    address: str, spec: EventSpec, action: str, title: str, amqp: dict[str, Any]
) -> dict[str, Any]:
    """The operation on `address`'s channel; `amqp` adds to the persistent delivery binding."""
    return {
        "action": action,
        "title": title,
        "summary": spec.summary,
        "channel": {"$ref": f"#/channels/{address}"},
        "messages": [{"$ref": f"#/channels/{address}/messages/{spec.data_model.__name__}"}],
        "bindings": {"amqp": {"deliveryMode": 2, **amqp, "bindingVersion": AMQP_BINDING_VERSION}},
        "tags": [{"name": spec.producer}],
    }


def asyncapi_document(registry: EventRegistry) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of every registered event type on ``amman.events``.

    Events only: the commands on ``amman.commands`` are in their own document
    (:func:`commands_asyncapi_document`), since no outside system may read or send them.
    """
    specs = list(registry)
    model_refs, schemas = _component_schemas(specs)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in specs:
        key = spec.routing_key
        messages[key] = {
            **_message(spec, model_refs, command=False, registry=registry),
            "x-notifies-applicant": spec.notifies_applicant,
        }
        channels[key] = _channel(key, spec, EXCHANGE, "topic")
        operations[f"{key}.send"] = _operation(
            key, spec, "send", f"{spec.producer} publishes {key}", {"timestamp": True}
        )
    return {
        "asyncapi": "3.0.0",
        "id": "urn:jo:gov:amman:events",
        "info": {
            "title": "Greater Amman Municipality e-services events",
            "version": CATALOGUE_VERSION,
            "description": (
                "The domain events of the Greater Amman Municipality e-services, published on the "
                f"durable topic exchange `{EXCHANGE}` with the event type's routing key. Each "
                "message body is a CloudEvents 1.0 event in structured JSON mode. Subscribe by "
                f"binding a queue of your own to `{EXCHANGE}`. Within a major version (`.v1`) "
                "fields are only ever added, optional; a breaking change is a new `.v2` type "
                "published beside the old one, and a gate in the platform's CI refuses any other "
                "change to a released schema.\n\n"
                "## Getting access\n\n" + _CREDENTIALS + "\n\n"
                "## Replaying history\n\n" + _REPLAY + "\n\n"
                "Commands (`amman.commands`) are not part of this document: they are internal to "
                "the platform (see commands/asyncapi.json). See contracts/README.md."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": _servers(""),
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": _SECURITY_SCHEMES,
        },
    }


def commands_asyncapi_document(commands: Sequence[EventSpec]) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of the commands on the direct exchange ``amman.commands``."""
    model_refs, schemas = _component_schemas(commands)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in commands:
        key = spec.routing_key
        address = key.rsplit(".", 1)[0]  # notifier.sms.send.v1 -> notifier.sms.send
        messages[key] = _message(spec, model_refs, command=True)
        channels[address] = _channel(address, spec, COMMAND_EXCHANGE, "direct")
        operations[f"{address}.receive"] = _operation(
            address, spec, "receive", f"{spec.producer} carries out {key}", {"mandatory": True}
        )
    return {
        "asyncapi": "3.0.0",
        "id": "urn:jo:gov:amman:commands",
        "info": {
            "title": "Greater Amman Municipality e-services internal commands",
            "version": CATALOGUE_VERSION,
            "description": (
                "Commands are not events: each is meant for exactly one service of the platform, "
                f"goes to the durable direct exchange `{COMMAND_EXCHANGE}` (published mandatory "
                "and persistent) and may carry a secret sealed for its consumer. Outside systems "
                f"have no permission on `{COMMAND_EXCHANGE}`; this document is for the "
                "platform's own services. The same compatibility gate applies."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": _servers(""),
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": _SECURITY_SCHEMES,
        },
    }


def events_table(registry: EventRegistry) -> str:
    """The README's table of event types, in Markdown."""
    lines = [
        "| Event type (routing key) | Producer | Data | SMS to the applicant | Summary |",
        "|---|---|---|---|---|",
    ]
    for spec in registry:
        if spec.notifies_applicant:
            sms = "yes"
        elif spec.silent_because:
            sms = f"no: {spec.silent_because}"
        else:
            sms = "no"
        key = spec.routing_key
        lines.append(
            f"| [`{key}`]({SCHEMA_DIR}/{key}.json) | {spec.producer} "
            f"| `{spec.data_model.__name__}` | {sms} | {spec.summary} |"
        )
    return "\n".join(lines) + "\n"


def _between(text: str, begin_marker: str, end_marker: str, content: str) -> str:
    begin, end = text.find(begin_marker), text.find(end_marker)
    if begin < 0 or end < begin:
        raise ValueError(f"{README_FILE} lacks the markers {begin_marker!r} ... {end_marker!r}")
    head = text[: begin + len(begin_marker)]
    return f"{head}\n{content}{text[end:]}"


def render_readme(text: str, registry: EventRegistry) -> str:
    """``text`` with the parts between the marker comments replaced by the event table and the
    table of personal data per event type.

    Raises ValueError if the markers are missing or out of order.
    """
    text = _between(text, README_BEGIN, README_END, events_table(registry))
    return _between(text, PERSONAL_BEGIN, PERSONAL_END, personal.personal_table(_firsts(registry)))


def _firsts(registry: EventRegistry) -> list[tuple[EventSpec, BaseModel]]:
    """Each event type with its first example's data (a type without one is reported by the
    examples' own check)."""
    found = []
    for spec in registry:
        try:
            found.append((spec, examples.example_data(spec)[0][1]))
        except LookupError:
            continue
    return found


def expected_files(root: Path, registry: EventRegistry) -> dict[Path, str]:
    """Every generated file under ``root`` with the content it must have.

    The README is hand-written except for its table, so it is read from ``root`` to be rendered.
    """
    files = {}
    commands = command_specs()
    for spec in [*registry, *commands]:
        command = spec in commands
        schema = _dumps(data_schema(spec, command=command))
        folder = root / COMMANDS_DIR / SCHEMA_DIR if command else root / SCHEMA_DIR
        files[folder / f"{spec.routing_key}.json"] = schema
        # The released snapshot follows the schema once the gate has passed (see compat.py).
        files[root / RELEASED_DIR / f"{spec.routing_key}.json"] = schema
    files[root / ASYNCAPI_FILE] = _dumps(asyncapi_document(registry))
    files[root / COMMANDS_DIR / ASYNCAPI_FILE] = _dumps(commands_asyncapi_document(commands))
    readme = root / README_FILE
    current = readme.read_text(encoding="utf-8") if readme.exists() else ""
    files[readme] = render_readme(current, registry)
    return files


def breaking(root: Path, registry: EventRegistry) -> list[str]:
    """The compatibility gate: what the current models break of the released snapshots."""
    commands = command_specs()
    current = {
        spec.routing_key: data_schema(spec, command=spec in commands)
        for spec in [*registry, *commands]
    }
    return catalogue_changes(load_released(root), current)


def _stale_schemas(root: Path, expected: dict[Path, str]) -> list[Path]:
    folders = (root / SCHEMA_DIR, root / COMMANDS_DIR / SCHEMA_DIR)
    return sorted(
        path for folder in folders for path in folder.glob("*.json") if path not in expected
    )


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root.parent))


def check(root: Path = PACKAGE_DIR, registry: EventRegistry | None = None) -> list[str]:
    """What is out of date under ``root``, one line per file; empty when all is current."""
    registry = registry if registry is not None else REGISTRY
    problems = [f"breaking change: {problem}" for problem in breaking(root, registry)]
    try:
        expected = expected_files(root, registry)
    except ValueError as error:  # a README without markers, an example its model refuses
        return [*problems, str(error)]
    released = root / RELEASED_DIR
    for path, content in sorted(expected.items()):
        if not path.exists():
            what = "not released yet" if path.parent == released else "missing"
            problems.append(f"{_shown(path, root)}: {what}")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{_shown(path, root)}: differs from what the models produce")
    stale = _stale_schemas(root, expected)
    problems += [f"{_shown(path, root)}: stale, no such event type" for path in stale]
    return problems


def write(root: Path = PACKAGE_DIR, registry: EventRegistry | None = None) -> list[str]:
    """Bring the generated files under ``root`` up to date; what was written or removed."""
    registry = registry if registry is not None else REGISTRY
    refused = breaking(root, registry)
    if refused:
        raise ValueError(
            "breaking changes to released contracts (make a .v2 beside the .v1 instead):\n"
            + "\n".join(f"  {problem}" for problem in refused)
        )
    expected = expected_files(root, registry)
    for folder in (SCHEMA_DIR, RELEASED_DIR, f"{COMMANDS_DIR}/{SCHEMA_DIR}"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    changes = []
    for path, content in sorted(expected.items()):
        # Unchanged files are left alone, so their modification times mean something.
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            changes.append(f"wrote {_shown(path, root)}")
    for path in _stale_schemas(root, expected):
        path.unlink()
        changes.append(f"removed {_shown(path, root)}")
    return changes


def main(argv: Sequence[str] | None = None, *, root: Path = PACKAGE_DIR) -> int:
    """The command line; ``root`` is where the generated files live (tests pass a copy)."""
    parser = argparse.ArgumentParser(
        prog="python -m contracts.generate",
        description="Generate the JSON Schemas, AsyncAPI document and README table of the events.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the files that are not up to date",
    )
    args = parser.parse_args(argv)
    if args.check:
        problems = check(root)
        for problem in problems:
            print(problem, file=sys.stderr)
        if any(problem.startswith("breaking change:") for problem in problems):
            print(
                "a released .vN contract only gains optional fields: undo the change, or "
                "publish a new .v(N+1) type beside it (contracts/README.md, Compatibility)",
                file=sys.stderr,
            )
            return 1
        if problems:
            print("run: python -m contracts.generate", file=sys.stderr)
            return 1
        print(f"contracts: {len(REGISTRY)} event types, generated files up to date")
        return 0
    try:
        changes = write(root)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    for change in changes:
        print(change)
    print(f"contracts: {len(REGISTRY)} event types, {len(changes)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
