"""Run the whole platform locally: every service that exists, each as its own process.

    make run          (installs, starts the infrastructure, then runs this)

Before any service starts, in development, it creates the development signing keys (the ones
`make token` signs with), so a token minted afterwards works at once, and it chooses the
contractors' development one-time code (printed below the URLs). Each service gets its port, its
own database and the local infrastructure's URLs; the script waits until each is ready, prints its
URL and API docs link, and stops them all on Ctrl-C (SIGTERM each, so they drain in-flight work).

Environment (all optional; documented in deploy/README.md, "Running locally"):

    RUN_PORT_BASE=8000        ports are this base plus each service's offset (payments +1, ...)
    RUN_DATABASE_PREFIX=      prefixed to each service's database name
    RUN_LOG_DIR=.local/logs   where each service's log goes
    AMQP_URL, MONGO_URL       override the local infrastructure's (.local/infra.env)
    CLOCK_FILE=.local/clock   the file that moves every service's time
    CONTRACTORS_OTP_DEV_CODE  the contractors' development code (default: a new random one)

so a second platform (the acceptance suite's) can run beside a developer's `make run`.
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from services.common.clock import LOCAL_CLOCK_FILE

ROOT = Path(__file__).resolve().parents[1]

# Each service's port is RUN_PORT_BASE plus its offset; with the default base 8000 the ports are
# fixed (8001, 8002, 8010...), so links in the READMEs work.
DEFAULT_PORT_BASE = 8000
PORT_OFFSETS = {
    "payments": 1,
    "notifier": 2,
    "licensing": 10,
    "contractors": 11,
    "courses": 12,
    "training": 13,
    "exams": 14,
}
PORTS = {name: DEFAULT_PORT_BASE + offset for name, offset in PORT_OFFSETS.items()}
LOG_DIR = ROOT / ".local" / "logs"
CLOCK_FILE = LOCAL_CLOCK_FILE
DEV_KEYS_DIR = ROOT / ".local" / "dev-keys"
# The line that announces the contractors' development code; the acceptance suite reads it.
OTP_LINE = "Contractors' one-time code in this development run:"


CODE_KEY_VARIABLES = (
    "NOTIFIER_CODE_PUBLIC_KEY",
    "NOTIFIER_CODE_PUBLIC_KEY_FILE",
    "NOTIFIER_CODE_PRIVATE_KEY",
    "NOTIFIER_CODE_PRIVATE_KEY_FILE",
)


# Where deploy/infra.sh records the infrastructure it chose (`deploy/infra.sh env` prints it).
INFRA_ENV = ROOT / ".local" / "infra.env"


def infra_env(env_file: Path = INFRA_ENV) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in env_file.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = shlex.split(value)[0] if value else ""
    return values


def existing_services() -> list[str]:
    return [name for name in PORT_OFFSETS if (ROOT / "services" / name / "__main__.py").exists()]


def ports(environ: Mapping[str, str]) -> dict[str, int]:
    """Each service's port: RUN_PORT_BASE (default 8000) plus its offset."""
    raw = environ.get("RUN_PORT_BASE", "").strip() or str(DEFAULT_PORT_BASE)
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535 - max(PORT_OFFSETS.values()):
        raise SystemExit(f"RUN_PORT_BASE must be a port number from 1024 up, not {raw!r}")
    return {name: int(raw) + offset for name, offset in PORT_OFFSETS.items()}


def environment(environ: Mapping[str, str]) -> str:
    return environ.get("ENVIRONMENT", "development").strip().lower() or "development"


def prepare_development(environ: Mapping[str, str]) -> dict[str, str]:
    """What a development run sets up before any service starts; nothing outside development.

    The development signing keys (a service reads them at start: created later, by the first
    `make token`, they would be read only after a restart), and the contractors' one-time code
    (the notifier masks it and contractors keeps only its hash, so without it no renewal could get
    past the code). Returns the variables the services get in addition.
    """
    if environment(environ) != "development":
        return {}
    from services.common.codeseal import ensure_dev_code_keys
    from services.common.devtoken import ensure_dev_keys

    ensure_dev_keys(DEV_KEYS_DIR)
    extra = {"JWT_PUBLIC_KEY_FILE": str(DEV_KEYS_DIR / "jwt-public.pem")}
    if any(environ.get(name) for name in ("JWT_PUBLIC_KEY", "JWT_PUBLIC_KEY_FILE", "JWT_JWKS_URL")):
        extra = {}  # the developer chose the key: keep it
    # The code key pair: one-time codes travel sealed for the notifier (common/codeseal.py).
    code_private, code_public = ensure_dev_code_keys(DEV_KEYS_DIR)
    if not any(environ.get(name) for name in CODE_KEY_VARIABLES):
        extra["NOTIFIER_CODE_PUBLIC_KEY_FILE"] = str(code_public)
        extra["NOTIFIER_CODE_PRIVATE_KEY_FILE"] = str(code_private)
    digits = int(environ.get("CONTRACTORS_OTP_DIGITS", "6") or 6)
    code = environ.get("CONTRACTORS_OTP_DEV_CODE") or "".join(
        str(secrets.randbelow(10)) for _ in range(digits)
    )
    return {**extra, "CONTRACTORS_OTP_DEV_CODE": code}


def service_env(
    name: str,
    port: int,
    infra: Mapping[str, str],
    environ: Mapping[str, str],
    extra: Mapping[str, str],
) -> dict[str, str]:
    """The environment of one service process."""
    local = infra.get("INFRA_MODE") == "local"
    env = {
        **environ,
        **extra,
        "AMQP_URL": environ.get("AMQP_URL") or infra["AMQP_URL"],
        "MONGO_URL": environ.get("MONGO_URL") or infra["MONGO_URL"],
        "MONGO_DATABASE": environ.get("RUN_DATABASE_PREFIX", "") + name,
        "SERVICE_NAME": name,
        "HTTP_PORT": str(port),
        "ENVIRONMENT": environment(environ),
        # Debian's single-node RabbitMQ: classic queues (see deploy/README.md).
        "QUEUE_TYPE": environ.get("QUEUE_TYPE", "classic" if local else "quorum"),
    }
    if name == "licensing" and not environ.get("LICENSING_PUBLIC_BASE_URL"):
        # The licence's link in the SMS points at this run's licensing, whatever its port.
        env["LICENSING_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    if env["ENVIRONMENT"] != "production":
        env["CLOCK_FILE"] = environ.get("CLOCK_FILE") or str(CLOCK_FILE)
    if name != "contractors" or env["ENVIRONMENT"] != "development":
        env.pop("CONTRACTORS_OTP_DEV_CODE", None)
    if name != "notifier":
        # The private half of the code key is the notifier's alone.
        env.pop("NOTIFIER_CODE_PRIVATE_KEY", None)
        env.pop("NOTIFIER_CODE_PRIVATE_KEY_FILE", None)
    return env


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2):
                return True
        except Exception:
            time.sleep(0.3)
    return False


def main() -> int:
    environ = dict(os.environ)
    infra = infra_env()
    services = existing_services()
    port_of = ports(environ)
    subprocess.run(["bash", str(ROOT / "deploy" / "infra.sh"), "status"], check=False)
    if not services:
        print("\nNo service exists yet under services/: only the infrastructure is running.")
        return 0
    extra = prepare_development(environ)
    log_dir = Path(environ.get("RUN_LOG_DIR") or LOG_DIR)
    log_dir.mkdir(parents=True, exist_ok=True)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for name in services:
        log = (log_dir / f"{name}.log").open("ab")
        processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            cwd=ROOT,
            env=service_env(name, port_of[name], infra, environ, extra),
            stdout=log,
            stderr=log,
        )
    print("\nServices:")
    failed = False
    for name, process in processes.items():
        port = port_of[name]
        if wait_ready(port, process):
            print(f"  {name:12} http://127.0.0.1:{port}/  docs: http://127.0.0.1:{port}/docs")
        else:
            failed = True
            print(f"  {name:12} FAILED to start: see {log_dir / (name + '.log')}")
    clock = environ.get("CLOCK_FILE") or CLOCK_FILE
    print(
        "\nA token for the docs page's Authorize button (works at once):"
        "\n  make token SUB=citizen-1 ROLES=citizen"
        f"\nLogs: {log_dir}/. Move time for every service: write an ISO instant to {clock}."
    )
    if "CONTRACTORS_OTP_DEV_CODE" in extra and "contractors" in processes:
        print(f"{OTP_LINE} {extra['CONTRACTORS_OTP_DEV_CODE']}")
    print("Ctrl-C stops the services (the infrastructure keeps running: make infra-down).")
    sys.stdout.flush()
    if failed:
        stop(processes)
        return 1

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # stopped like Ctrl-C: drain every service
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    stop(processes)
    return 0


def stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    sys.exit(main())
