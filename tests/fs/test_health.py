"""The health monitor's facts, the stats file and ctl (test | reconnect)."""
import errno
import os
import socket
import sqlite3
import tempfile
import threading
import time

import pytest
from contextlib import closing

from conftest import Mount, in_thread, read_text, unique, wait_status, wait_until, write_once


def test_health_facts(mount, solo):
    d = mount.p("hosts", "solo")
    v = solo.out("version", "--format",
                 "{{.Server.Os}} {{.Server.Arch}} {{.Server.Version}}").split()
    assert read_text(os.path.join(d, "os_type")) == v[0] + "\n"
    assert read_text(os.path.join(d, "architecture")) == v[1] + "\n"
    assert read_text(os.path.join(d, "version")) == v[2] + "\n"
    assert read_text(os.path.join(d, "api_version")).strip().startswith("1.")
    first = read_text(os.path.join(d, "last_check"))
    assert first.endswith("Z\n")
    # health_interval is 1 s in the suite's mounts
    wait_until(lambda: read_text(os.path.join(d, "last_check")) != first, 5,
               "the next health check")


def test_stats_file(mount):
    d = mount.p("hosts", "solo")
    os.listdir(os.path.join(d, "containers"))
    read_text(os.path.join(d, "info.json"))
    stats = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "")
                 for line in read_text(os.path.join(d, "stats")).splitlines())
    assert set(stats) == {"active_connections", "total_requests", "failed_requests",
                          "avg_response_ms", "last_error", "last_error_at"}
    assert int(stats["total_requests"]) > 0
    float(stats["avg_response_ms"])


def test_ctl_test_answers(mount):
    fd = os.open(mount.p("hosts", "solo", "ctl"), os.O_RDWR)
    try:
        os.write(fd, b"test\n")
        answer = os.read(fd, 4096).decode()
    finally:
        os.close(fd)
    assert answer.startswith("ok ") and "docker " in answer and "api " in answer


def test_ctl_test_unreachable_and_stats_persisted(fleet_env, workdir):
    db = os.path.join(workdir, unique("health") + ".db")
    m = Mount(workdir, db, {"gone": "tcp://10.213.7.99:2376",
                            "solo": "unix://" + fleet_env["FLEET_SOLO_SOCK"]}).start()
    try:
        wait_status(m, "solo", "healthy")
        with pytest.raises(OSError) as e:
            with open(m.p("hosts", "gone", "ctl"), "w") as f:
                f.write("test\n")
        assert e.value.errno in (errno.EHOSTDOWN, errno.EACCES, errno.ETIMEDOUT)
        assert "test:" in read_text(m.p("hosts", "gone", "error"))
        with open(m.p("hosts", "solo", "ctl"), "w") as f:
            f.write("reconnect\n")
        wait_status(m, "solo", "healthy")
        stats = read_text(m.p("hosts", "gone", "stats"))
        assert "failed_requests: 0" not in stats
        time.sleep(1.5)
        # what the mount says last is what the registry keeps (a loaded
        # machine may fail a check meanwhile: then both say unhealthy)
        shown = read_text(m.p("hosts", "solo", "status")).split("\n")[0].split(":")[0]
    finally:
        m.stop_ok()
    log = "\n".join(l for l in m.log_text().splitlines() if "solo" in l)
    with closing(sqlite3.connect(db)) as c, c:
        rows = c.execute("SELECT count(*) FROM host_connection_stats s JOIN docker_hosts h"
                         " ON h.id = s.host_id WHERE h.name = 'solo'").fetchone()[0]
        facts = c.execute("SELECT status, last_health_check, docker_version, api_version,"
                          " os_type, architecture FROM docker_hosts WHERE name = 'solo'"
                          ).fetchone()
    assert rows > 0
    assert facts[0] == shown and facts[1] and all(facts[2:]), log


class Mute:
    """A unix socket that takes connections and never answers: an engine
    that hangs."""

    def __init__(self, workdir):
        self.path = os.path.join(tempfile.mkdtemp(dir=workdir), "mute.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.held = []
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                continue

    def close(self):
        self.stop = True
        self.thread.join(5)
        for c in self.held:
            c.close()
        self.sock.close()


def test_all_threads_busy_said_once_a_minute(workdir):
    """With -o max_threads=2, two `test` writes to a host whose engine
    hangs hold both threads (5 s each): the log says all threads are busy,
    and says it once however often that happens within a minute (a loaded
    mount meets it many times a second)."""
    mute = Mute(workdir)
    m = Mount(workdir, os.path.join(workdir, unique("busy") + ".db"),
              {"mute": f"unix://{mute.path}"}, options=("max_threads=2",)).start()
    try:
        ctl = m.p("hosts", "mute", "ctl")
        for _ in range(2):
            waits = [in_thread(lambda: write_once(ctl, "test\n")) for _ in range(2)]
            for t, box in waits:
                t.join(30)
                assert isinstance(box.get("error"), OSError), box
        said = [line for line in m.log_text().splitlines()
                if "all 2 threads serving requests are busy" in line]
        assert len(said) == 1, m.log_text()
    finally:
        m.stop_ok()
        mute.close()
