"""poll() on a regular file: POLLIN always (it is a file), and
POLLPRI|POLLERR once its content differs from what the open file holds,
as with cgroup.events; select() reports that as an exceptional condition
and epoll as EPOLLPRI.  A waiter is woken by a change made elsewhere
(`docker stop` with the CLI)."""
import os
import select
import sys
import time

import pytest

from conftest import IMAGE, in_thread, unique, wait_until

LOOP = "trap 'exit 0' TERM; while :; do sleep 0.1; done"
# A notice must come by itself, well before the waits' own timeouts; how
# fast it comes is measured by scripts/bench, not asserted here (this module
# runs among others, and one notice took 1.2 s in a loaded CI run).
WITHIN = 5.0


@pytest.fixture
def running(mount, solo, cleanup):
    name = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c", LOOP)
    state = mount.p("hosts", "solo", "containers", name, "state")
    wait_until(lambda: os.path.exists(state) and open(state).read() == "running\n", 5,
               f"{name} running in the mount")
    return name, state


def test_poll_unchanged_is_readable_only(running):
    _, state = running
    fd = os.open(state, os.O_RDONLY)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN | select.POLLPRI)
        ev = p.poll(0)
        assert ev and ev[0][1] & select.POLLIN
        assert not ev[0][1] & (select.POLLPRI | select.POLLERR), ev
    finally:
        os.close(fd)


def test_poll_returns_after_docker_stop(running, solo):
    """A poll() for POLLPRI on `state` waits, and returns once `docker stop`
    run elsewhere has changed it; a fresh open reads the new state and is
    quiet again."""
    name, state = running
    fd = os.open(state, os.O_RDONLY)
    try:
        assert os.read(fd, 100) == b"running\n"
        p = select.poll()
        p.register(fd, select.POLLPRI)
        th, box = in_thread(lambda: p.poll(20000))
        time.sleep(0.5)
        assert th.is_alive(), f"poll returned before any change: {box}"
        solo.docker("stop", "-t", "5", name)
        done = time.monotonic()
        th.join(5)
        assert not th.is_alive(), "poll() still waiting 5 s after docker stop"
        assert "error" not in box, box
        assert box["t"] - done <= WITHIN, f"poll returned {box['t'] - done:.3f}s after the CLI"
        (rfd, rev), = box["value"]
        assert rev & select.POLLPRI and rev & select.POLLERR, rev
        # the open file still holds what it read
        os.lseek(fd, 0, os.SEEK_SET)
        assert os.read(fd, 100) == b"running\n"
    finally:
        os.close(fd)
    fd = os.open(state, os.O_RDONLY)
    try:
        assert os.read(fd, 100) == b"exited\n"
        p = select.poll()
        p.register(fd, select.POLLPRI | select.POLLIN)
        (rfd, rev), = p.poll(0)
        assert not rev & select.POLLPRI
    finally:
        os.close(fd)


def test_select_exceptional_after_stop(running, solo):
    name, state = running
    fd = os.open(state, os.O_RDONLY)
    try:
        r, w, x = select.select([fd], [], [fd], 0)
        assert r == [fd] and x == []
        th, box = in_thread(lambda: select.select([], [], [fd], 20))
        time.sleep(0.3)
        assert th.is_alive()
        solo.docker("stop", "-t", "5", name)
        th.join(5)
        assert not th.is_alive(), "select() still waiting 5 s after docker stop"
        assert box["value"][2] == [fd]
    finally:
        os.close(fd)


def test_epoll_pri_after_pause(running, solo):
    name, state = running
    fd = os.open(state, os.O_RDONLY)
    ep = select.epoll()
    try:
        ep.register(fd, select.EPOLLPRI)
        assert ep.poll(0.2) == []
        solo.docker("pause", name)
        done = time.monotonic()
        ev = ep.poll(5)
        assert ev, "epoll saw no EPOLLPRI within 5 s of docker pause"
        assert time.monotonic() - done <= WITHIN
        assert ev[0][1] & select.EPOLLPRI
    finally:
        ep.close()
        os.close(fd)
        solo.docker("unpause", name, check=False)


def test_poll_on_host_status(new_mount, workdir, solo):
    """The same on a host's status file."""
    from conftest import write_once
    m = new_mount(os.path.join(workdir, f"{unique('poll')}.db"), {"solo": solo.url,
                                                                   "alt": solo.url})
    m.wait_healthy()
    fd = os.open(m.p("hosts", "alt", "status"), os.O_RDONLY)
    try:
        p = select.poll()
        p.register(fd, select.POLLPRI)
        assert p.poll(0) == []
        write_once(m.p("hosts", "alt", "url"),
                   f"unix://{os.path.join(workdir, unique('dead'))}.sock\n")
        ev = p.poll(5000)
        assert ev and ev[0][1] & select.POLLPRI
    finally:
        os.close(fd)
    m.stop_ok()


def test_example_poll_state(mount, running, solo):
    """examples/poll-state.py prints the state, then each change, and stops
    at the state it was told to wait for."""
    import subprocess
    from conftest import ROOT
    name, _ = running
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "examples", "poll-state.py"),
                          "solo", name, "exited"], env=dict(os.environ, DOCKFS=mount.path),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = p.stdout.readline()
        assert first.endswith(f"solo:{name} running\n"), first
        solo.docker("pause", name)
        line = p.stdout.readline()
        assert line.endswith(f"solo:{name} paused\n"), line
        solo.docker("unpause", name)
        solo.docker("stop", "-t", "5", name)
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert p.returncode == 0, err
    assert out.splitlines()[-1].endswith(f"solo:{name} exited")
