"""CPU time by process, read from /proc: where a benchmark's work is done on this machine.

A benchmark names its own processes (the services it started, by pid); the local servers are
found by the ports they listen on, so that another FerretDB, PostgreSQL or RabbitMQ on the same
machine (a CI run beside it, `deploy/rabbitmq-cluster.sh`'s nodes) is not counted:
- FerretDB: the process listening on the `MONGO_URL`'s port;
- PostgreSQL: the process listening on the port of that FerretDB's `--postgresql-url`, and its
  children (FerretDB's pooled backends, the writers); a backend that ends between two readings
  is still counted, in its parent's time for waited-for children;
- RabbitMQ: the process listening on the `AMQP_URL`'s port (`beam.smp`);
- the benchmark itself: `os.times()`.
A server on another machine, or one whose sockets this user cannot read (PostgreSQL as another
user, without root), is left out and reported as not found.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def listener(port: int) -> int | None:
    """The pid of the process listening on TCP `port` on this machine, if this user can see it."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    sockets = {f"socket:[{inode}]" for inode in inodes}
    for pid in _pids():
        try:
            for fd in (PROC / str(pid) / "fd").iterdir():
                if os.readlink(fd) in sockets:
                    return pid
        except OSError:
            continue
    return None


def _pids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def _stat(pid: int) -> list[str] | None:
    try:
        # The fields after the command's name, which may hold spaces and parentheses.
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _seconds(pid: int, *, children: bool = False) -> float:
    """The CPU seconds of `pid` (and of its children it has waited for, when `children`)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    # utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the name.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def _with_children(parent: int) -> float:
    total = _seconds(parent, children=True)
    for pid in _pids():
        fields = _stat(pid)
        if fields is not None and int(fields[1]) == parent:
            total += _seconds(pid)
    return total


def _port(url: str, default: int) -> int | None:
    """The URL's port; None for a URL of several hosts (a replica set: not one local server)."""
    try:
        return urlsplit(url).port or default
    except ValueError:
        return None


def _postgres_port(ferretdb: int) -> int | None:
    try:
        arguments = (PROC / str(ferretdb) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    for argument in arguments:
        if argument.startswith(b"--postgresql-url="):
            return _port(argument.split(b"=", 1)[1].decode(), 5432)
    return None


class Processes:
    """The processes to read: the benchmark's own (`named`, by pid) and the local servers."""

    def __init__(self, named: Mapping[str, int], mongo_url: str, amqp_url: str) -> None:
        self.named = dict(named)
        self.servers: dict[str, int | None] = {}
        mongo, amqp = _port(mongo_url, 27017), _port(amqp_url, 5672)
        ferretdb = listener(mongo) if mongo is not None else None
        self.servers["FerretDB"] = ferretdb
        postgres = _postgres_port(ferretdb) if ferretdb is not None else None
        self.servers["PostgreSQL"] = listener(postgres) if postgres is not None else None
        self.servers["RabbitMQ"] = listener(amqp) if amqp is not None else None

    def reading(self) -> dict[str, float]:
        """CPU seconds so far, by name; the servers not found are left out."""
        seconds = {name: _seconds(pid) for name, pid in self.named.items()}
        for name, pid in self.servers.items():
            if pid is None:
                continue
            seconds[name] = _with_children(pid) if name == "PostgreSQL" else _seconds(pid)
        own = os.times()
        seconds["this benchmark"] = own.user + own.system
        return seconds

    def report(self, title: str, before: Mapping[str, float], count: int) -> str:
        """One line: the CPU ms per unit of work (`count` of them) by process since `before`."""
        after = self.reading()
        spent = {name: 1000 * (after[name] - before.get(name, 0.0)) / count for name in after}
        shown = ", ".join(f"{name} {ms:.1f}" for name, ms in spent.items())
        missing = [name for name, pid in self.servers.items() if pid is None]
        absent = f" (not found on this machine: {', '.join(missing)})" if missing else ""
        return f"{title}: {shown}; {sum(spent.values()):.1f} in all{absent}"
