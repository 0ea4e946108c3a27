"""The event files M/events and M/hosts/<h>/events: one JSON object a line
for each engine event (and "host" lines when a host's status changes), from
the moment the file is opened; a bounded buffer per reader.

The fleet is shared with other work, so other events may come at any time:
the checks look at the lines about what the test made, and compare readers
over the same span of the stream.  Every wait is bounded: readers are opened
with O_NONBLOCK and waited for with select() (a read the daemon never
answered would not be interrupted by SIGALRM), except where a blocking read
is the point, and then it runs in bounded().
"""
import errno
import json
import os
import select
import subprocess
import time

import pytest

from conftest import (IMAGE, bounded, parse_rfc3339_ns, raises_errno, read_text, unique,
                      wait_until, write_once)

OVERFLOW = "[dockfs: reader too slow, output dropped]"
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.1; done"
KEYS = {"host", "time", "type", "action", "id", "name", "attributes"}


class Reader:
    """An open events file, read without ever blocking: lines are collected
    with select() and a deadline."""

    def __init__(self, path, nonblock=True):
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | (os.O_NONBLOCK if nonblock else 0))
        self.buf = b""
        self.lines = []          # complete lines, as text, in order

    def pump(self, timeout):
        """Reads whatever comes within timeout seconds (at least one select)."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 1 << 16)
                except BlockingIOError:
                    data = None
                if data == b"":
                    raise AssertionError(f"{self.path}: end of file")
                if data:
                    self.buf += data
                    *done, self.buf = self.buf.split(b"\n")
                    self.lines += [d.decode() for d in done]
            if time.monotonic() >= deadline:
                return

    def drain(self, limit=100000):
        """Reads until EAGAIN; returns the lines read."""
        start = len(self.lines)
        for _ in range(limit):
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            assert data, f"{self.path}: end of file"
            self.buf += data
            *done, self.buf = self.buf.split(b"\n")
            self.lines += [d.decode() for d in done]
        return self.lines[start:]

    def events(self):
        return [json.loads(line) for line in self.lines if line != OVERFLOW]

    def wait_for(self, pred, timeout, what):
        """Pumps until some event satisfies pred; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events():
                if pred(ev):
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.path}: no {what} within {timeout}s; "
                                     f"last lines {self.lines[-5:]!r}")
            self.pump(min(left, 0.2))

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@pytest.fixture
def readers():
    made = []

    def open_reader(path, nonblock=True):
        r = Reader(path, nonblock)
        made.append(r)
        return r
    yield open_reader
    for r in made:
        r.close()


def about(events, cid):
    """(type, action) of the container events about cid, in order."""
    return [ev["action"] for ev in events if ev.get("type") == "container" and ev.get("id") == cid]


def in_order(seq, wanted):
    """wanted is a subsequence of seq."""
    it = iter(seq)
    return all(any(x == w for x in it) for w in wanted)


# ---- format and order ---------------------------------------------------------

def test_events_listed_and_not_a_size(mount):
    assert "events" in os.listdir(mount.p())
    assert "events" in os.listdir(mount.p("hosts", "solo"))


def test_container_lifecycle_in_order(mount, solo, cleanup, readers):
    """create, start, die, destroy of a container made with the docker CLI,
    in this order, as JSON lines with every key."""
    r = readers(mount.p("events"))
    name = cleanup.container(solo, unique())
    cid = solo.out("create", "--name", name, "--label", "dockfs.test=events", IMAGE, "sh", "-c",
                   LOOP)
    solo.docker("start", name)
    solo.docker("stop", "-t", "5", name)
    solo.docker("rm", name)
    r.wait_for(lambda ev: ev.get("id") == cid and ev.get("action") == "destroy", 5,
               f"destroy of {name}")
    actions = about(r.events(), cid)
    assert in_order(actions, ["create", "start", "die", "destroy"]), actions
    for ev in r.events():
        if ev.get("id") != cid:
            continue
        assert set(ev) == KEYS, ev
        assert ev["host"] == "solo" and ev["type"] == "container" and ev["name"] == name
        assert ev["attributes"]["dockfs.test"] == "events"
        assert ev["attributes"]["image"] == IMAGE
        # Docker's time with nanoseconds, and not from the future
        assert parse_rfc3339_ns(ev["time"]) <= time.time_ns() + 10**9
    die = next(ev for ev in r.events() if ev.get("id") == cid and ev["action"] == "die")
    assert die["attributes"]["exitCode"] == "0"
    # times never go backwards for one engine
    times = [parse_rfc3339_ns(ev["time"]) for ev in r.events() if ev["host"] == "solo"]
    assert times == sorted(times)


def test_lines_come_from_open_on(mount, solo, cleanup, readers):
    """A reader sees what happens after it opened, not what happened before."""
    before = cleanup.container(solo, unique())
    bid = solo.out("create", "--name", before, IMAGE, "true")
    # the engine's event reaches dockfs after the CLI returns: open only
    # once dockfs has had it (the container is in the mount)
    wait_until(lambda: os.path.isdir(mount.p("hosts", "solo", "containers", before)), 5,
               f"{before} in the mount")
    r = readers(mount.p("hosts", "solo", "events"))
    after = cleanup.container(solo, unique())
    aid = solo.out("create", "--name", after, IMAGE, "true")
    r.wait_for(lambda ev: ev.get("id") == aid, 5, f"create of {after}")
    assert about(r.events(), bid) == []


def test_host_events_filtered_to_host(mount, solo, wrk, cleanup, readers):
    rs = readers(mount.p("hosts", "solo", "events"))
    rw = readers(mount.p("hosts", "wrk", "events"))
    ra = readers(mount.p("events"))
    s = cleanup.container(solo, unique())
    w = cleanup.container(wrk, unique())
    sid = solo.out("create", "--name", s, IMAGE, "true")
    wid = wrk.out("create", "--name", w, IMAGE, "true")
    rs.wait_for(lambda ev: ev.get("id") == sid, 5, f"create of {s} on solo")
    rw.wait_for(lambda ev: ev.get("id") == wid, 5, f"create of {w} on wrk")
    ra.wait_for(lambda ev: ev.get("id") == sid, 5, f"create of {s} in M/events")
    ra.wait_for(lambda ev: ev.get("id") == wid, 5, f"create of {w} in M/events")
    rs.pump(0.2)
    rw.pump(0.2)
    assert {ev["host"] for ev in rs.events()} == {"solo"}
    assert {ev["host"] for ev in rw.events()} == {"wrk"}
    assert about(rs.events(), wid) == [] and about(rw.events(), sid) == []


def test_two_readers_same_events_same_order(mount, solo, cleanup, readers):
    """Two readers of M/events opened before a burst receive the same lines
    in the same order, from the burst's first event to its last."""
    a = readers(mount.p("events"))
    b = readers(mount.p("events"))
    ids = []
    for _ in range(5):
        name = cleanup.container(solo, unique())
        ids.append(solo.out("create", "--name", name, IMAGE, "true"))
        solo.docker("rm", name)
    for r in (a, b):
        r.wait_for(lambda ev: ev.get("id") == ids[-1] and ev["action"] == "destroy", 5,
                   "the last destroy")

    def span(r):
        evs = r.events()
        first = next(i for i, ev in enumerate(evs) if ev.get("id") == ids[0])
        last = max(i for i, ev in enumerate(evs) if ev.get("id") == ids[-1])
        return evs[first:last + 1]
    sa, sb = span(a), span(b)
    assert sa == sb
    assert [x for ev in sa if (x := ev.get("id")) in ids and ev["action"] == "create"] == ids


def test_blocking_read_returns_when_an_event_comes(mount, solo, cleanup, readers):
    r = readers(mount.p("hosts", "solo", "events"), nonblock=False)
    import threading
    got = {}

    def reader():
        got["data"] = os.read(r.fd, 1 << 16)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.3)
    name = cleanup.container(solo, unique())
    solo.out("create", "--name", name, IMAGE, "true")
    t.join(5)
    assert not t.is_alive(), "a blocking read of events did not return within 5 s of an event"
    line = got["data"].split(b"\n")[0]
    assert json.loads(line)["host"] == "solo"


def test_nonblocking_eagain_and_select(mount, solo, cleanup, readers):
    """O_NONBLOCK: EAGAIN when there is nothing; select() says when there is."""
    r = readers(mount.p("hosts", "solo", "events"))
    # other work may be using solo: drain to empty first
    r.drain()
    raises_errno(errno.EAGAIN, os.read, r.fd, 4096)
    # nothing pending: not readable at once (unless someone else acts on solo)
    rd, _, _ = select.select([r.fd], [], [], 0)
    if rd:
        r.drain()
    name = cleanup.container(solo, unique())
    t0 = time.monotonic()
    cid = solo.out("create", "--name", name, IMAGE, "true")
    rd, _, _ = select.select([r.fd], [], [], 5)
    assert rd, "select() did not report the events file readable within 5 s of an event"
    r.wait_for(lambda ev: ev.get("id") == cid, 5, f"create of {name}")
    assert time.monotonic() - t0 < 5
    # poll() and epoll() say the same
    p = select.poll()
    p.register(r.fd, select.POLLIN)
    r.drain()
    solo.docker("rm", name)
    assert p.poll(5000), "poll() did not report the events file readable"
    ep = select.epoll()
    try:
        r.drain()
        ep.register(r.fd, select.EPOLLIN)
        name2 = cleanup.container(solo, unique())
        solo.out("create", "--name", name2, IMAGE, "true")
        assert ep.poll(5), "epoll did not report the events file readable"
    finally:
        ep.close()


def test_events_read_only(mount):
    raises_errno((errno.EACCES, errno.EPERM, errno.EROFS), os.open, mount.p("events"),
                 os.O_WRONLY)


# ---- slow readers -----------------------------------------------------------------

def test_slow_reader_does_not_block_others(mount, solo, cleanup, readers):
    """A reader that never reads while more than 2 MiB of events happen does
    not hold up a second reader, nor the mount; when it reads at last it
    finds the overflow marker, and no more than its buffer (1 MiB) plus a
    line."""
    slow = readers(mount.p("events"))
    fast = readers(mount.p("events"))
    # Docker puts a container's labels in each of its events: 2 labels of
    # 48 KiB make each line about 100 KB, 2 MiB is a dozen containers.
    labels = []
    for k in ("a", "b"):
        labels += ["--label", f"dockfs.big.{k}=" + k * (48 * 1024)]
    ids = []
    total = 0
    i = 0
    while total < 3 * (1 << 20):
        name = cleanup.container(solo, unique())
        ids.append(solo.out("create", *labels, "--name", name, IMAGE, "true"))
        solo.docker("rm", name)
        fast.pump(0.05)
        total = sum(len(line) + 1 for line in fast.lines)
        i += 1
        assert i < 60, f"only {total} bytes of events after {i} containers"
    fast.wait_for(lambda ev: ev.get("id") == ids[-1] and ev["action"] == "destroy", 5,
                  "the last destroy (fast reader)")
    acts = [(ev["id"], ev["action"]) for ev in fast.events()
            if ev.get("type") == "container" and ev.get("id") in ids]
    assert [a for a in acts if a[1] in ("create", "destroy")] == \
        [(x, a) for x in ids for a in ("create", "destroy")]
    assert OVERFLOW not in fast.lines
    # the mount still answers
    assert read_text(mount.p("hosts", "solo", "status")).startswith("healthy")
    # the slow reader: the marker, then lines up to the end
    got = bounded(slow.drain, 20, "draining the slow reader")
    size = sum(len(line) + 1 for line in got)
    assert OVERFLOW in got, f"no overflow marker in {len(got)} lines"
    assert size <= (1 << 20) + 200 * 1024, size
    after = got[got.index(OVERFLOW) + 1:]
    assert after, "nothing after the overflow marker"
    evs = [json.loads(line) for line in after if line != OVERFLOW]
    assert any(ev.get("id") == ids[-1] and ev["action"] == "destroy" for ev in evs)
    # and it reads on normally afterwards
    name = cleanup.container(solo, unique())
    cid = solo.out("create", "--name", name, IMAGE, "true")
    slow.wait_for(lambda ev: ev.get("id") == cid, 5, f"create of {name} after the overflow")


def test_closed_reader_then_new_one(mount, solo, cleanup):
    """Readers come and go without disturbing the stream."""
    for _ in range(20):
        fd = os.open(mount.p("events"), os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
    r = Reader(mount.p("events"))
    try:
        name = cleanup.container(solo, unique())
        cid = solo.out("create", "--name", name, IMAGE, "true")
        r.wait_for(lambda ev: ev.get("id") == cid, 5, f"create of {name}")
    finally:
        r.close()


# ---- host lines -------------------------------------------------------------------

def test_host_status_lines(new_mount, workdir, solo):
    """A host whose status changes gives a "host" line: its url is pointed at
    a socket nobody listens on, then back at the engine."""
    m = new_mount(os.path.join(workdir, f"{unique('ev')}.db"), {"solo": solo.url, "alt": solo.url})
    m.wait_healthy()
    r = Reader(m.p("events"))
    try:
        dead = os.path.join(workdir, f"{unique('dead')}.sock")
        write_once(m.p("hosts", "alt", "url"), f"unix://{dead}\n")
        ev = r.wait_for(lambda ev: ev["type"] == "host" and ev["host"] == "alt", 10,
                        "a host line for alt")
        assert ev["action"] == "unhealthy" and ev["name"] == "alt"
        assert dead in ev["attributes"]["error"]
        write_once(m.p("hosts", "alt", "url"), f"{solo.url}\n")
        r.wait_for(lambda ev: ev["type"] == "host" and ev["host"] == "alt"
                   and ev["action"] == "healthy", 10, "alt healthy again")
        assert not any(ev["type"] == "host" and ev["host"] == "solo" for ev in r.events())
    finally:
        r.close()
    m.stop_ok()


def test_reconnect_loses_and_repeats_nothing(new_mount, workdir, solo, cleanup):
    """A host's event stream started again (ctl reconnect) starts at the last
    event handed on: what happened around the break comes once, none twice
    (the new stream begins in the past, and dockfs drops what readers had)."""
    m = new_mount(os.path.join(workdir, f"{unique('ev')}.db"), {"solo": solo.url})
    m.wait_healthy()
    r = Reader(m.p("hosts", "solo", "events"))
    try:
        first = cleanup.container(solo, unique())
        fid = solo.out("create", "--name", first, IMAGE, "true")
        r.wait_for(lambda ev: ev.get("id") == fid, 5, f"create of {first}")
        write_once(m.p("hosts", "solo", "ctl"), "reconnect\n")
        # made while the worker reconnects, or just after
        second = cleanup.container(solo, unique())
        sid = solo.out("create", "--name", second, IMAGE, "true")
        r.wait_for(lambda ev: ev.get("id") == sid, 5, f"create of {second}")
        m.wait_healthy()
        third = cleanup.container(solo, unique())
        tid = solo.out("create", "--name", third, IMAGE, "true")
        r.wait_for(lambda ev: ev.get("id") == tid, 5, f"create of {third}")
        r.pump(0.3)
        for cid in (fid, sid, tid):
            assert about(r.events(), cid) == ["create"], (cid, about(r.events(), cid))
    finally:
        r.close()
    m.stop_ok()


# ---- permissions ---------------------------------------------------------------------

READ_EVENTS = r'''
import os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
print("open", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            sys.stdout.buffer.write(os.read(fd, 1 << 16))
            sys.stdout.flush()
        except BlockingIOError:
            pass
'''


def test_viewer_sees_only_its_hosts(mount, solo, wrk, people, cleanup):
    """A user with a level on solo only: M/events shows solo's events, never
    wrk's; wrk's events file is not for it."""
    viewer = people["viewer"]
    p = subprocess.Popen(viewer.argv("/usr/bin/python3", "-I", "-c", READ_EVENTS,
                                     mount.p("events"), "6"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = bounded(p.stdout.readline, 10, "the viewer's reader to open")
        assert first == b"open\n", (first, p.stderr.read() if p.poll() is not None else b"")
        w = cleanup.container(wrk, unique())
        wid = wrk.out("create", "--name", w, IMAGE, "true")
        s = cleanup.container(solo, unique())
        sid = solo.out("create", "--name", s, IMAGE, "true")
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    evs = [json.loads(line) for line in out.decode().splitlines() if line and line != OVERFLOW]
    assert any(ev.get("id") == sid for ev in evs), f"the viewer did not see {s}: {evs[-3:]}"
    assert {ev["host"] for ev in evs} == {"solo"}
    assert not any(ev.get("id") == wid for ev in evs)
    r = viewer.act("open", mount.p("hosts", "wrk", "events"), flags=os.O_RDONLY)
    r.expect_errno((errno.EACCES, errno.ENOENT), "viewer opens hosts/wrk/events")
