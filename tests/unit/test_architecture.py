"""The one shape of a service, checked over all seven (see the README, "One shape").

Each service is a package `services/<name>/`:

| module | layer | may use |
|---|---|---|
| `domain.py` or `domain/` | the rules: pure | `contracts`, `PURE_COMMON` |
| `service.py` | the use cases (`services.common.change`) | the domain, the store |
| `store.py` | the only database access | `pymongo`, `services.common.mongo` |
| `consumers.py` | events in: `typed_handler` only | the use cases |
| `api.py` (and `HTTP_MODULES`) | HTTP: routes, problems, the list shape | the use cases |
| `settings.py` | its settings class, every field in the README's "Configuration" | |
| `app.py` | wiring (builds the store from `runtime.db`) | everything |

No service imports another, there is no import cycle, no module is longer than `MAX_LINES`, and
every service README has the same sections in the same order (`README_SECTIONS`).
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from faststream.rabbit import ExchangeType

from services.common.consumer import EventConsumer, TypedHandler
from services.common.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES_DIR = ROOT / "services"
SERVICES = ("contractors", "courses", "exams", "licensing", "notifier", "payments", "training")
MAX_LINES = 700

# Common modules a domain may import: no I/O in them.
PURE_COMMON = {
    "services.common.errors",
    "services.common.workflow",
    "services.common.calendar",
    "services.common.formatting",
    "services.common.text",
    "services.common.documents.model",
}
IO_PREFIXES = (
    "fastapi",
    "starlette",
    "faststream",
    "pymongo",
    "bson",
    "gridfs",
    "aio_pika",
    "aiormq",
    "httpx",
    "requests",
    "smpplib",
    "prometheus_client",
    "asyncio",
    "socket",
    "os",
    "services.common",
)
# Reading a file is I/O too.
IO_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes"}
# HTTP types: only the HTTP layer imports them.
HTTP_PREFIXES = (
    "fastapi",
    "starlette",
    "services.common.problems",
    "services.common.listing",
    "services.common.auth",
    "services.common.uploads",
    "services.common.idempotency_http",
)
# The modules of the HTTP layer beside `api.py`, and the wiring.
HTTP_MODULES = {"api.py", "app.py", "__main__.py"}
EXTRA_HTTP_MODULES = {
    "payments": {"efawateercom.py", "simulator.py", "reports.py"},
    "notifier": set(),
    "contractors": set(),
}
# Database access: only `store.py` (or a `store/` package).
DB_PREFIXES = ("pymongo", "bson", "gridfs", "motor")
DB_COMMON_ALLOWED = {"Document", "Database"}  # type names, for signatures
DB_METHODS = {
    "aggregate",
    "bulk_write",
    "count_documents",
    "create_index",
    "create_indexes",
    "delete_many",
    "delete_one",
    "distinct",
    "find",
    "find_one",
    "find_one_and_delete",
    "find_one_and_replace",
    "find_one_and_update",
    "insert_many",
    "insert_one",
    "replace_one",
    "update_many",
    "update_one",
}
README_SECTIONS = (
    "What it does",
    "Try it as a person would",
    "API",
    "Events",
    "Configuration",
    "Decisions",
    "Tests",
)


def modules(service: str) -> Iterator[Path]:
    yield from sorted((SERVICES_DIR / service).rglob("*.py"))


def relative(path: Path, service: str) -> str:
    return path.relative_to(SERVICES_DIR / service).as_posix()


def is_domain(path: Path, service: str) -> bool:
    name = relative(path, service)
    return name == "domain.py" or name.startswith("domain/")


def is_store(path: Path, service: str) -> bool:
    name = relative(path, service)
    return name == "store.py" or name.startswith("store/")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """Every import of a module, nested ones too: (module, names, line). Relative imports are
    resolved; imports under `if TYPE_CHECKING:` are left out (no runtime dependency)."""
    tree = ast.parse(path.read_text(), str(path))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    package = module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    found: list[tuple[str, list[str], int]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [alias.name for alias in node.names]
            # `from services.common import workflow` imports the module services.common.workflow.
            submodules = [n for n in names if _is_module(f"{base}.{n}")]
            found += [(f"{base}.{n}", [], node.lineno) for n in submodules]
            if len(submodules) < len(names):
                found.append((base, [n for n in names if n not in submodules], node.lineno))
    return found


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def starts(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


# ---- layers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_a_domain_imports_no_io(service: str) -> None:
    found = []
    for path in modules(service):
        if not is_domain(path, service):
            continue
        for name, _, line in imports(path):
            if name in PURE_COMMON or name.startswith(f"services.{service}.domain"):
                continue
            if starts(name, IO_PREFIXES) or name.startswith(f"services.{service}"):
                found.append(f"{relative(path, service)}:{line} imports {name}")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                called = node.func
                name = (
                    called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
                )
                if name in IO_CALLS:
                    found.append(f"{relative(path, service)}:{node.lineno} calls {name}()")
    assert any(is_domain(path, service) for path in modules(service)), "no domain module"
    assert not found, "\n".join(found)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = tuple(f"services.{other}" for other in SERVICES if other != service)
    found = [
        f"{relative(path, service)}:{line} imports {name}"
        for path in modules(service)
        for name, _, line in imports(path)
        if starts(name, others)
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_store_touches_the_database(service: str) -> None:
    found = []
    for path in modules(service):
        if is_store(path, service):
            continue
        where = relative(path, service)
        for name, names, line in imports(path):
            if starts(name, DB_PREFIXES):
                found.append(f"{where}:{line} imports {name}")
            if name == "services.common.mongo" and set(names) - DB_COMMON_ALLOWED:
                found.append(f"{where}:{line} imports {sorted(set(names) - DB_COMMON_ALLOWED)}")
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in DB_METHODS
                and where != "app.py"
            ):
                found.append(f"{where}:{node.lineno} calls .{node.func.attr}()")
            if isinstance(node, ast.Attribute) and node.attr == "db" and where != "app.py":
                found.append(f"{where}:{node.lineno} reads .db")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("service", SERVICES)
def test_no_http_types_below_the_api(service: str) -> None:
    allowed = HTTP_MODULES | EXTRA_HTTP_MODULES.get(service, set())
    found = [
        f"{relative(path, service)}:{line} imports {name}"
        for path in modules(service)
        if relative(path, service) not in allowed
        for name, _, line in imports(path)
        if starts(name, HTTP_PREFIXES)
    ]
    assert not found, "\n".join(found)


def test_there_is_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for path in SERVICES_DIR.rglob("*.py"):
        own = module_name(path)
        targets = {name for name, _, _ in imports(path) if name.startswith("services.")}
        graph[own] = targets - {own}
    cycles = _cycles(graph)
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            # A package's __init__ is imported with any of its modules: not an edge of a cycle.
            if target not in graph or node.startswith(target + "."):
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# ---- size ------------------------------------------------------------------------------------


def test_no_module_is_longer_than_the_limit() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in sorted(SERVICES_DIR.rglob("*.py"))
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, "\n".join(long)


# ---- one change loop, one consumer style -----------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_the_change_loop_is_the_shared_one(service: str) -> None:
    """No service keeps its own conflict signal or retry loop: `services.common.change` has them."""
    found = []
    for path in modules(service):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in {"StaleVersion", "Raised"}:
                found.append(f"{relative(path, service)}:{node.lineno} defines {node.name}")
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in {
                "_retrying",
                "_find",
                "_moved",
            }:
                found.append(f"{relative(path, service)}:{node.lineno} defines {node.name}")
            if isinstance(node, ast.Name) and node.id == "MAX_ATTEMPTS":
                found.append(f"{relative(path, service)}:{node.lineno} has its own MAX_ATTEMPTS")
    assert not found, "\n".join(found)


def _matches(binding: str, key: str) -> bool:
    """Whether a topic binding (`*` one word, `#` any words) takes the routing key."""
    pattern = r"\.".join(
        r"[^.]+" if word == "*" else r".*" if word == "#" else re.escape(word)
        for word in binding.split(".")
    )
    return re.fullmatch(pattern, key) is not None


class _AnyUseCase:
    """A stand-in service for building the consumers: every attribute is an async no-op. The
    consumers are only looked at, never run."""

    def __getattr__(self, name: str) -> Any:
        async def use_case(*_: object) -> None:
            return None

        return use_case


@pytest.mark.parametrize("service", SERVICES)
def test_queues_handlers_and_the_registry_agree(service: str) -> None:
    consumers_module = importlib.import_module(f"services.{service}.consumers")
    built: list[EventConsumer] = consumers_module.consumers(SimpleNamespace(service=_AnyUseCase()))
    assert built, "no consumer"
    problems = []
    for consumer in built:
        bound = list(consumer.binding.routing_keys)
        if len(bound) != len(set(bound)):
            problems.append(f"{consumer.queue}: a key is bound twice")
        # A command's queue is bound on the direct exchange by its key without the version
        # (`notifier.sms.send`); its handler is keyed by the envelope's type (`...send.v1`).
        direct = consumer.binding.exchange.type == ExchangeType.DIRECT

        def takes(binding: str, key: str, direct: bool = direct) -> bool:
            return key.rsplit(".v", 1)[0] == binding if direct else _matches(binding, key)

        unbound = [key for key in consumer.handlers if not any(takes(b, key) for b in bound)]
        unhandled = [b for b in bound if not any(takes(b, key) for key in consumer.handlers)]
        if unbound or unhandled:
            problems.append(
                f"{consumer.queue}: handled but not bound {unbound}, bound but not handled "
                f"{unhandled}"
            )
        for key, handler in consumer.handlers.items():
            if key not in consumer.registry:
                problems.append(f"{consumer.queue}: {key} is in no registry")
                continue
            if not isinstance(handler, TypedHandler):
                problems.append(f"{consumer.queue}: {key} is not handled by a typed_handler")
                continue
            model = consumer.registry.spec_for(key).data_model
            if not issubclass(model, handler.model):
                problems.append(
                    f"{consumer.queue}: {key} carries {model.__name__}, "
                    f"its handler takes {handler.model.__name__}"
                )
    assert not problems, "\n".join(problems)


# ---- settings and the README -----------------------------------------------------------------


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
        and value.__module__ == module.__name__
    ]
    assert len(found) == 1, f"services/{service}/settings.py defines {found}"
    return found[0]


@pytest.mark.parametrize("service", SERVICES)
def test_settings_live_in_settings_py(service: str) -> None:
    settings_class(service)
    found = [
        f"{relative(path, service)}:{node.lineno} defines {node.name}"
        for path in modules(service)
        if relative(path, service) != "settings.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base).endswith("Settings") for base in node.bases)
    ]
    assert not found, "\n".join(found)


def readme_sections(service: str) -> dict[str, str]:
    text = (SERVICES_DIR / service / "README.md").read_text()
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_is_in_the_readme(service: str) -> None:
    configuration = next(
        (body for title, body in readme_sections(service).items() if title == "Configuration"),
        "",
    )
    own = set(settings_class(service).model_fields) - set(ServiceSettings.model_fields)
    missing = sorted(name.upper() for name in own if f"`{name.upper()}`" not in configuration)
    assert not missing, f"not in services/{service}/README.md, Configuration: {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_readme_has_the_one_shape(service: str) -> None:
    titles = list(readme_sections(service))
    positions = []
    for wanted in README_SECTIONS:
        where = [i for i, title in enumerate(titles) if title.startswith(wanted)]
        assert where, f"services/{service}/README.md has no section '## {wanted}…'"
        positions.append(where[0])
    assert positions == sorted(positions), (
        f"services/{service}/README.md: the sections {README_SECTIONS} are out of order: {titles}"
    )


# ---- the one list shape ----------------------------------------------------------------------

PAGE_FIELDS = {"items", "page", "page_size", "total"}


def _openapi(service: str) -> dict[str, Any]:
    module = importlib.import_module(f"services.{service}.app")
    document: dict[str, Any] = module.build().openapi()
    return document


def _schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize("service", SERVICES)
def test_every_list_has_the_one_shape(service: str) -> None:
    """A GET answering a list answers a page (`items`, `page`, `page_size` <= 100, `total`),
    asked for with `page` and `page_size`; nothing pages with `limit`/`offset`."""
    document = _openapi(service)
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "get":
                continue
            where = f"GET {path}"
            parameters = {p["name"]: p for p in operation.get("parameters", [])}
            if {"limit", "offset"} & set(parameters):
                found.append(f"{where} pages with limit/offset")
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            schema = _schema(document, content.get("application/json", {}).get("schema", {}))
            is_list = schema.get("type") == "array"
            is_page = set(schema.get("properties", {})) >= PAGE_FIELDS
            if is_list:
                found.append(f"{where} answers a bare list")
            if is_page:
                size = parameters.get("page_size", {}).get("schema", {})
                if "page" not in parameters or size.get("maximum", 10**9) > 100:
                    found.append(f"{where} is a page without page and page_size <= 100")
    assert not found, "\n".join(found)
