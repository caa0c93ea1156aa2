"""Real faults on the real processes: throw-away PostgreSQL and Redis, the Procfile's processes
run with the production settings, and the two providers as sinks that deduplicate by key.

Used by tests/faults (in the suite, `services`) and bench/outbox_faults.py (bigger runs).

- ``PostgresCluster``: ``initdb`` into a temporary directory, on a port in 5440–5449 (as the
  ``postgres`` user when run as root); stopped and started again to take the database away.
- ``RedisServer``: ``redis-server`` without persistence on a port in 6390–6399, so a restart
  loses the broker's queue, the worst case the README warns about.
- ``Portal``: the processes (``celery worker``, ``celery beat``, ``uvicorn``) and the driver
  (tests.faults.driver), each in its own process group so a worker can be killed whole.
- ``SmtpSink`` (aiosmtpd) and ``SmsSink`` (HTTP): each takes 100 ms a message like the providers
  the issue measured with, records a message when it arrives (before answering, so a worker that
  dies while waiting leaves a message the provider has taken), and delivers each idempotency key
  once. ``hold()`` keeps answers back, to kill a worker with messages in flight for certain.
"""

from __future__ import annotations

import asyncio
import collections
import email
import email.policy
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent.parent
PG_PORTS = range(5440, 5450)
REDIS_PORTS = range(6390, 6400)
LATENCY = 0.1  # seconds a provider takes per message
MAIL_DOMAIN = "wangrun.example"


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    return int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0


def available() -> str | None:
    """Why the fault tests cannot run here, or None."""
    if not shutil.which("redis-server"):
        return "needs redis-server"
    if postgres_bin() is None:
        return "needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin)"
    return None


def free_port(candidates: range) -> int:
    # Start at an offset of our own: two fault runs on one machine (a developer's and a branch's)
    # would otherwise both pick the first port, and a cluster stopped for the outage test would
    # find its port taken by the other run's when it starts again.
    start = os.getpid() % len(candidates)
    for port in [*candidates[start:], *candidates[:start]]:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {candidates.start}–{candidates.stop - 1}")


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- PostgreSQL --------------------------------------------------------------------------------


class PostgresCluster:
    def __init__(self, directory: Path) -> None:
        self.bin = postgres_bin()
        self.dir = directory / "pg"
        self.port = free_port(PG_PORTS)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/faults"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def create(self, schema_from: dict | None) -> None:
        """A new cluster with a database `faults` holding the schema of the suite's database
        (`schema_from`, its settings_dict), or migrated from scratch without one."""
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")  # fmt: skip
        self.start()
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE faults")
        if schema_from is None:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True,
                env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test",
                     "DATABASE_URL": self.url, "REDIS_URL": ""},
            )  # fmt: skip
            return
        # The schema the suite's migrations built, copied: far quicker than migrating again.
        env = {**os.environ, "PGPASSWORD": schema_from.get("PASSWORD") or ""}
        dump = subprocess.run(
            [str(self.bin / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
             "-h", schema_from["HOST"] or "127.0.0.1", "-p", str(schema_from["PORT"] or 5432),
             "-U", schema_from["USER"], schema_from["NAME"]],
            check=True, capture_output=True, env=env,
        )  # fmt: skip
        subprocess.run(
            [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.admin_url("faults")],
            input=dump.stdout, check=True, capture_output=True,
        )  # fmt: skip

    def admin_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-o", options,
                  "-l", str(self.dir / "log"), "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "stop", check=False)

    def query(self, sql: str, params=()) -> list[tuple]:
        with psycopg.connect(self.admin_url("faults"), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []


# --- Redis -------------------------------------------------------------------------------------


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.port = free_port(REDIS_PORTS)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = directory
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: _listening(self.port), 10, "redis-server to listen")

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, and (without persistence) the data is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


# --- the providers -----------------------------------------------------------------------------


class Sink:
    """What a provider that deduplicates on the idempotency key does with what it is sent."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first_seen: dict[str, str] = {}  # idempotency key → what it carried (identity)
        self.arrivals: list[tuple[float, str]] = []  # (monotonic time, key), every submission
        self.in_flight = 0
        self.answers = threading.Event()
        self.answers.set()

    def accept(self, key: str, identity: str) -> None:
        with self.lock:
            self.arrivals.append((time.monotonic(), key))
            self.first_seen.setdefault(key, identity)

    def hold(self) -> None:
        self.answers.clear()

    def release(self) -> None:
        self.answers.set()

    @property
    def delivered(self) -> int:
        with self.lock:
            return len(self.first_seen)

    def submissions(self, key: str) -> list[float]:
        with self.lock:
            return [at for at, seen in self.arrivals if seen == key]

    def counts(self) -> tuple[collections.Counter, int]:
        """How often each identity reached the person (once per key), and resends absorbed."""
        with self.lock:
            reached = collections.Counter(self.first_seen.values())
            absorbed = len(self.arrivals) - len(self.first_seen)
        return reached, absorbed


class SmsSink(Sink):
    def __init__(self) -> None:
        super().__init__()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            # Keeps connections open between messages, as an SMS gateway's HTTPS API does.
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as servers that keep connections open do

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = body.get("client_message_id") or ""
                sink.accept(key, f"sms {body['to']} {body['text']}")
                with sink.lock:
                    sink.in_flight += 1
                try:
                    time.sleep(LATENCY)
                    sink.answers.wait()
                    reply = json.dumps({"id": key}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the worker that asked is dead
                finally:
                    with sink.lock:
                        sink.in_flight -= 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


class SmtpSink(Sink):
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        super().__init__()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(
                    envelope.original_content, policy=email.policy.default
                )
                key = str(message["Message-ID"] or "")
                sink.accept(key, f"email {envelope.rcpt_tos} {message['X-Wangrun-Notice-Id']}")
                with sink.lock:
                    sink.in_flight += 1
                try:
                    await asyncio.sleep(LATENCY)
                    while not sink.answers.is_set():
                        await asyncio.sleep(0.02)
                finally:
                    with sink.lock:
                        sink.in_flight -= 1
                return "250 Message accepted for delivery"

        port = free_port(range(20000, 30000))
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        self.port = self.controller.port

    def close(self) -> None:
        self.release()
        self.controller.stop()


# --- the portal's processes --------------------------------------------------------------------


class Portal:
    """The Procfile's processes against the throw-away services, with the production settings."""

    def __init__(self, directory: Path, pg: PostgresCluster, redis: RedisServer,
                 smtp: SmtpSink, sms: SmsSink) -> None:  # fmt: skip
        self.dir = directory
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
            "DJANGO_SETTINGS_MODULE": "tests.faults.settings",
            "PYTHONPATH": str(ROOT),
            "FAULTS_DIR": str(directory),
            "SECRET_KEY": "faults-only-" + "k" * 60,
            "FIELD_ENCRYPTION_KEY": "ZmF1bHRzLW9ubHktZmVybmV0LWtleS0wMTIzNDU2Nzg=",
            "BLIND_INDEX_KEY": "faults-only-blind-index-key-0123456789",
            # Served on loopback; links in the notices name the public address, as in production.
            "ALLOWED_HOSTS": f"127.0.0.1,localhost,portal.{MAIL_DOMAIN}",
            "PORTAL_BASE_URL": f"https://portal.{MAIL_DOMAIN}",
            "DATABASE_URL": pg.url,
            "REDIS_URL": redis.url,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "DEFAULT_FROM_EMAIL": f"旺润客户服务 <service@{MAIL_DOMAIN}>",
            "SMS_HTTP_URL": sms.url,
            "SMS_HTTP_TOKEN": "faults",
            "SECURE_SSL_REDIRECT": "false",
            "BEHIND_TLS_PROXY": "false",
            "READYZ_TOKEN": "faults-ops-token",
            "NOTICES_DRAINERS": "4",
        }
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *command: str) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115  (the process owns it)
        process = subprocess.Popen(
            [sys.executable, *command], cwd=ROOT, env=self.env, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        self.processes[name] = process
        return process

    def worker(self, name: str, concurrency: int = 4) -> subprocess.Popen:
        return self.start(name, "-m", "celery", "-A", "portal", "worker", "--loglevel", "WARNING",
                          "--concurrency", str(concurrency), "--without-mingle", "--without-gossip",
                          "-n", f"{name}@faults")  # fmt: skip

    def beat(self) -> subprocess.Popen:
        return self.start("beat", "-m", "celery", "-A", "portal", "beat", "--loglevel", "WARNING")

    def web(self) -> int:
        port = free_port(range(30000, 40000))
        self.start("web", "-m", "uvicorn", "portal.asgi:application", "--host", "127.0.0.1",
                   "--port", str(port), "--ws", "portal.websocket_protocol:FrameWritingProtocol",
                   "--ws-per-message-deflate", "false",
                   "--no-access-log")  # fmt: skip
        wait_for(lambda: _listening(port), 60, "the web process to listen", interval=0.2)
        return port

    def kill(self, name: str) -> None:
        """SIGKILL to the whole process group: the worker and its pool, no chance to tidy up."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)

    def drive(self, *args: str) -> dict:
        command = [sys.executable, "-m", "tests.faults.driver", *args]
        done = subprocess.run(
            command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300
        )
        if done.returncode:
            raise RuntimeError(f"driver {args} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def log(self, name: str) -> str:
        """The whole log of one process so far."""
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} (last lines)\n" + path.read_text(errors="replace")[-2000:]
            for path in sorted(self.dir.glob("*.log"))
        )


# --- counting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    created: int  # notices written (email and SMS rows)
    delivered_once: int  # reached the person exactly once
    doubled: int  # reached the person more than once
    lost: int  # never reached the person, or not marked sent
    resends_absorbed: int  # resent after a fault and dropped by the provider on their key
    drain_seconds: float  # from the fault to the last row marked sent

    def line(self, scenario: str) -> str:
        return (
            f"{scenario}: created {self.created}, delivered once {self.delivered_once}, "
            f"doubled {self.doubled}, lost {self.lost}, resends absorbed by key "
            f"{self.resends_absorbed}, drained {self.drain_seconds:.1f} s after the fault"
        )


def expected_keys(pg: PostgresCluster) -> dict[str, set[str]]:
    rows = pg.query("SELECT id, channel FROM notices_notification WHERE channel <> 'inapp'")
    keys: dict[str, set[str]] = {"email": set(), "sms": set()}
    for pk, channel in rows:
        keys[channel].add(f"<notice-{pk}@{MAIL_DOMAIN}>" if channel == "email" else str(pk))
    return keys


def unsent(pg: PostgresCluster) -> int:
    try:
        return pg.query("SELECT count(*) FROM notices_notification WHERE status <> 'sent'")[0][0]
    except psycopg.OperationalError:
        return -1  # the database is away


def drained(pg: PostgresCluster, smtp: SmtpSink, sms: SmsSink, created: int) -> bool:
    return unsent(pg) == 0 and smtp.delivered + sms.delivered >= created


def outcome(pg: PostgresCluster, smtp: SmtpSink, sms: SmsSink, fault_at: float) -> Outcome:
    """Count what reached the sinks against what the outbox holds; `fault_at` is time.time()."""
    keys = expected_keys(pg)
    created = len(keys["email"]) + len(keys["sms"])
    reached: collections.Counter = collections.Counter()
    absorbed = 0
    for sink in (smtp, sms):
        counter, extra = sink.counts()
        reached.update(counter)
        absorbed += extra
    missing = (keys["email"] - set(smtp.first_seen)) | (keys["sms"] - set(sms.first_seen))
    [(last_sent,)] = pg.query("SELECT max(sent_at) FROM notices_notification")
    return Outcome(
        created=created,
        delivered_once=sum(1 for count in reached.values() if count == 1),
        doubled=sum(1 for count in reached.values() if count > 1),
        lost=len(missing) + unsent(pg),
        resends_absorbed=absorbed,
        drain_seconds=max(last_sent.timestamp() - fault_at, 0.0) if last_sent else 0.0,
    )


class Environment:
    """All of the above in one temporary directory, torn down together."""

    def __init__(self, schema_from: dict | None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="wangrun-faults-"))
        os.chmod(self.dir, 0o755)  # noqa: S103  (the postgres user must reach the cluster in it)
        self.pg = PostgresCluster(self.dir)
        self.redis = RedisServer(self.dir)
        self.smtp: SmtpSink | None = None
        self.sms: SmsSink | None = None
        self.portal: Portal | None = None
        try:
            self.pg.create(schema_from)
            self.redis.start()
        except BaseException:
            self.close()
            raise

    def fresh(self) -> Portal:
        """New sinks and an empty outbox for the next scenario; the same databases."""
        self.close_portal()
        if not _listening(self.pg.port):
            self.pg.start()
        if self.redis.process is None:
            self.redis.start()
        self.pg.query("TRUNCATE notices_notification")
        self.smtp, self.sms = SmtpSink(), SmsSink()
        self.portal = Portal(self.dir, self.pg, self.redis, self.smtp, self.sms)
        for log in self.dir.glob("*.log"):
            log.unlink()
        return self.portal

    def close_portal(self) -> None:
        if self.portal is not None:
            self.portal.stop_all()
            self.portal = None
        for sink in (self.smtp, self.sms):
            if sink is not None:
                sink.close()
        self.smtp = self.sms = None

    def close(self) -> None:
        self.close_portal()
        self.redis.kill()
        self.pg.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
