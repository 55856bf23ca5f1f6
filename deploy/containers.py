"""RabbitMQ and MongoDB in Docker, for `deploy/infra.sh` when a Docker engine answers.

    python deploy/containers.py up <env-file>     start rabbitmq:3-management and mongo:7
    python deploy/containers.py down <env-file>   stop and remove the containers the file names

`up` writes `export NAME=value` lines (values shell-quoted, as infra.sh's write_env does) with
AMQP_URL, MONGO_URL, INFRA_MODE=docker, RABBITMQ_MANAGEMENT_URL (the management API on the
port Docker mapped) and the two container ids. It is idempotent: when the file
already names two running containers, it leaves them alone. Ryuk (testcontainers' reaper) is
disabled, so the containers outlive this script; `down` removes them.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from urllib.parse import quote

import docker
from docker.errors import DockerException, NotFound

# Read by testcontainers when it is imported (in `up`): without Ryuk, nothing reaps the containers
# when this process exits.
os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"

RABBITMQ_IMAGE = "rabbitmq:3-management"
MONGO_IMAGE = "mongo:7"
AMQP_PORT = 5672
MANAGEMENT_PORT = 15672
CONTAINER_KEYS = ("RABBITMQ_CONTAINER", "MONGO_CONTAINER")


def say(message: str) -> None:
    print(f"[infra] {message}", file=sys.stderr)


def engine() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except (DockerException, OSError) as error:  # requests' errors are OSErrors
        where = os.environ.get("DOCKER_HOST", "the default socket")
        say(f"ERROR: no Docker engine answers at {where}: {error}")
        sys.exit(1)
    return client


def read_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            values[name] = value
    return values


def write_env(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"export {name}={shlex.quote(value)}\n" for name, value in values.items()]
    path.write_text("".join(lines))


def running(client: docker.DockerClient, container_id: str) -> bool:
    try:
        return bool(client.containers.get(container_id).status == "running")
    except NotFound:
        return False


def remove(client: docker.DockerClient, container_id: str) -> None:
    try:
        container = client.containers.get(container_id)
    except NotFound:
        return
    say(f"removing container {container.name} ({container.short_id})")
    container.stop(timeout=10)
    container.remove(v=True, force=True)


def up(env_file: Path) -> None:
    client = engine()
    previous = read_env(env_file)
    ids = [previous.get(key, "") for key in CONTAINER_KEYS]
    if previous.get("INFRA_MODE") == "docker" and all(ids):
        if all(running(client, container_id) for container_id in ids):
            say("RabbitMQ and MongoDB containers already running")
            return
        for container_id in ids:  # one of them is gone: start both afresh
            remove(client, container_id)

    from testcontainers.community.mongodb import MongoDbContainer
    from testcontainers.community.rabbitmq import RabbitMqContainer

    started: list[str] = []
    try:
        say(f"starting {RABBITMQ_IMAGE} (testcontainers)")
        rabbitmq = RabbitMqContainer(RABBITMQ_IMAGE, port=AMQP_PORT)
        rabbitmq.with_exposed_ports(MANAGEMENT_PORT)
        rabbitmq.start()  # waits until an AMQP connection opens
        started.append(rabbitmq.get_wrapped_container().id)
        say(f"starting {MONGO_IMAGE} (testcontainers)")
        mongo = MongoDbContainer(MONGO_IMAGE)
        mongo.start()
        started.append(mongo.get_wrapped_container().id)
        # The image restarts mongod once after creating the root user: wait for the final one.
        with mongo.get_connection_client() as probe:
            probe.admin.command("ping")
    except Exception:
        for container_id in started:
            remove(client, container_id)
        raise
    host = rabbitmq.get_container_host_ip()
    amqp_url = (
        f"amqp://{quote(rabbitmq.username, safe='')}:{quote(rabbitmq.password, safe='')}"
        f"@{host}:{rabbitmq.get_exposed_port(AMQP_PORT)}/"
    )
    management_url = f"http://{host}:{rabbitmq.get_exposed_port(MANAGEMENT_PORT)}/"
    write_env(
        env_file,
        {
            "AMQP_URL": amqp_url,
            "MONGO_URL": mongo.get_connection_url() + "/",
            "INFRA_MODE": "docker",
            # The management API on the port Docker mapped (the tests' virtual hosts and users).
            "RABBITMQ_MANAGEMENT_URL": management_url,
            "RABBITMQ_CONTAINER": started[0],
            "MONGO_CONTAINER": started[1],
        },
    )
    say(f"RabbitMQ management UI: {management_url}")


def down(env_file: Path) -> None:
    values = read_env(env_file)
    ids = [values[key] for key in CONTAINER_KEYS if values.get(key)]
    if not ids:
        say(f"{env_file} names no containers: nothing to remove")
        return
    client = engine()
    for container_id in ids:
        remove(client, container_id)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("up", "down"):
        print("usage: python deploy/containers.py up|down <env-file>", file=sys.stderr)
        return 2
    if argv[0] == "up":
        up(Path(argv[1]))
    else:
        down(Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
