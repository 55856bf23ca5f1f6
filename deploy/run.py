"""Run the whole platform locally: every service that exists, each as its own process.

    make run          (installs, starts the infrastructure, then runs this)

Each service gets its port, its own database and the local infrastructure's URLs; the script
waits until each is ready, prints its URL and API docs link, and stops them all on Ctrl-C
(SIGTERM each, so they drain in-flight work).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Fixed local ports, so links in the READMEs work.
PORTS = {
    "payments": 8001,
    "notifier": 8002,
    "licensing": 8010,
    "contractors": 8011,
    "courses": 8012,
    "training": 8013,
    "exams": 8014,
}
LOG_DIR = ROOT / ".local" / "logs"
CLOCK_FILE = ROOT / ".local" / "clock"


def infra_env() -> dict[str, str]:
    env_file = ROOT / ".local" / "infra.env"
    values: dict[str, str] = {}
    for line in env_file.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = shlex.split(value)[0] if value else ""
    return values


def existing_services() -> list[str]:
    return [name for name in PORTS if (ROOT / "services" / name / "__main__.py").exists()]


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
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
    infra = infra_env()
    services = existing_services()
    subprocess.run(["bash", str(ROOT / "deploy" / "infra.sh"), "status"], check=False)
    if not services:
        print("\nNo service exists yet under services/: only the infrastructure is running.")
        return 0
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    local = infra.get("INFRA_MODE") == "local"
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for name in services:
        env = {
            **os.environ,
            "AMQP_URL": infra["AMQP_URL"],
            "MONGO_URL": infra["MONGO_URL"],
            "SERVICE_NAME": name,
            "HTTP_PORT": str(PORTS[name]),
            "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
            # Debian's single-node RabbitMQ: classic queues (see deploy/README.md).
            "QUEUE_TYPE": os.environ.get("QUEUE_TYPE", "classic" if local else "quorum"),
            "CLOCK_FILE": os.environ.get("CLOCK_FILE", str(CLOCK_FILE)),
        }
        log = (LOG_DIR / f"{name}.log").open("ab")
        processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    print("\nServices:")
    failed = False
    for name, process in processes.items():
        port = PORTS[name]
        if wait_ready(port, process):
            print(f"  {name:12} http://127.0.0.1:{port}/  docs: http://127.0.0.1:{port}/docs")
        else:
            failed = True
            print(f"  {name:12} FAILED to start: see .local/logs/{name}.log")
    print(
        "\nA token for the docs page's Authorize button:"
        "\n  make token SUB=citizen-1 ROLES=citizen"
        f"\nLogs: .local/logs/. Move time for every service: write an ISO instant to {CLOCK_FILE}."
        "\nCtrl-C stops the services (the infrastructure keeps running: make infra-down)."
    )
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
