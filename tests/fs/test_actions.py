"""Container actions through writes: M/hosts/H/containers/NAME/ctl (one verb
per write), rename through `name`, and the per-user `error` file.

Every action is checked against the engine itself (docker inspect), and the
state file is read right after the write returns, without waiting: the
daemon re-inspects the container before it answers.
"""
import errno
import json
import os
import re
import subprocess
import time

import pytest

from conftest import (ENGINES, IMAGE, error_text, eventually, raises_errno, read_text,
                      running_container, unique, wait_listed_in, wait_until, write_once)

VERBS = ("start", "stop", "restart", "kill", "pause", "unpause", "rm")
# Busybox's sh as pid 1 ignores SIGTERM unless it traps it: this one does not,
# so that `stop N` has to wait N seconds and then kill.
DEAF = "exec sleep 600"
# Prints got-usr1 on SIGUSR1, exits 0 on SIGTERM; says "ready" once the traps
# are set (a signal before that is lost: PID 1 ignores what it does not trap).
USR1 = ("trap 'echo got-usr1' USR1; trap 'exit 0' TERM; echo ready; "
        "while :; do sleep 0.1; done")
# Messages of Docker 20.10 for `rm` of a running container (older and newer).
RUNNING_RM_MESSAGES = ("stop the container before removing", "cannot remove a running container")


def cpath(mount, host, name, *rest):
    return mount.p("hosts", host, "containers", name, *rest)


def ctl(mount, host, name, cmd):
    """One write of cmd to the container's ctl; returns write's result."""
    return write_once(cpath(mount, host, name, "ctl"), cmd)


def state_file(mount, host, name):
    return read_text(cpath(mount, host, name, "state"))


def docker_state(engine, name):
    return json.loads(engine.out("inspect", "--format", "{{json .State}}", name))


def listed_running(mount, host, name):
    """Listed, and the model has seen the start too (the engine's create and
    start events may reach dockfs a moment apart)."""
    wait_listed_in(mount, host, "containers", name)
    wait_until(lambda: state_file(mount, host, name) == "running\n", 2,
               f"{name} running in {host}'s model")


def make(engine, cleanup, script, *opts):
    name = cleanup.container(engine, unique())
    engine.docker("run", "-d", "--name", name, *opts, IMAGE, "sh", "-c", script)
    if script == USR1:
        wait_until(lambda: "ready" in engine.docker("logs", name).stdout, 10,
                   f"{name} to set its traps")
    return name


# ---- ctl: read ----------------------------------------------------------------

def test_ctl_read_is_usage(mount, solo, cleanup):
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    text = read_text(cpath(mount, "solo", name, "ctl"))
    for verb in VERBS + ("force",):
        assert re.search(rf"\b{verb}\b", text), f"{verb!r} missing from the usage:\n{text}"


def test_ctl_and_error_exist(mount, solo, cleanup):
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    assert os.path.isfile(cpath(mount, "solo", name, "ctl"))
    assert os.path.isfile(cpath(mount, "solo", name, "error"))
    # nothing failed for this caller here yet
    assert error_text(cpath(mount, "solo", name)) == ""


# ---- verbs ------------------------------------------------------------------------

@pytest.mark.parametrize("host", ENGINES)
def test_stop_then_start(mount, fleet, cleanup, host):
    engine = fleet[host]
    name = running_container(engine, cleanup)
    listed_running(mount, host, name)

    t0 = time.monotonic()
    assert ctl(mount, host, name, "stop\n") == len("stop\n")
    # the state file already shows it: no wait
    assert state_file(mount, host, name) == "exited\n"
    assert docker_state(engine, name)["Status"] == "exited"
    assert time.monotonic() - t0 < 8, "stop of a container that exits on TERM took the full grace"

    assert ctl(mount, host, name, "start\n") == len("start\n")
    assert state_file(mount, host, name) == "running\n"
    st = docker_state(engine, name)
    assert st["Status"] == "running" and st["Running"]
    assert error_text(cpath(mount, host, name)) == ""


def test_commands_without_newline(mount, solo, cleanup):
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    assert ctl(mount, "solo", name, "stop") == 4
    assert state_file(mount, "solo", name) == "exited\n"
    assert ctl(mount, "solo", name, "start") == 5
    assert state_file(mount, "solo", name) == "running\n"


def test_stop_with_seconds_then_kills(mount, solo, cleanup):
    name = make(solo, cleanup, DEAF)
    wait_listed_in(mount, "solo", "containers", name)
    t0 = time.monotonic()
    ctl(mount, "solo", name, "stop 1\n")
    took = time.monotonic() - t0
    assert 0.8 <= took < 8, f"stop 1 took {took:.2f}s (grace 1 s, then SIGKILL)"
    assert state_file(mount, "solo", name) == "exited\n"
    st = docker_state(solo, name)
    assert st["Status"] == "exited" and st["ExitCode"] == 137, st


def test_stop_zero_seconds(mount, solo, cleanup):
    name = make(solo, cleanup, DEAF)
    wait_listed_in(mount, "solo", "containers", name)
    t0 = time.monotonic()
    ctl(mount, "solo", name, "stop 0")
    assert time.monotonic() - t0 < 5
    assert docker_state(solo, name)["ExitCode"] == 137


def test_stop_stopped_succeeds(mount, solo, cleanup):
    """304 from the engine counts as success, like docker stop."""
    created = cleanup.container(solo, unique())
    solo.docker("create", "--name", created, IMAGE, "true")
    exited = running_container(solo, cleanup)
    solo.docker("stop", exited)
    for name, want in ((created, "created"), (exited, "exited")):
        wait_listed_in(mount, "solo", "containers", name)
        before = solo.state(name)
        assert ctl(mount, "solo", name, "stop\n") == 5
        assert state_file(mount, "solo", name) == want + "\n"
        assert solo.state(name) == before
        assert error_text(cpath(mount, "solo", name)) == ""


def test_start_running_succeeds(mount, solo, cleanup):
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    before = solo.state(name)
    assert ctl(mount, "solo", name, "start\n") == 6
    assert solo.state(name) == before          # same StartedAt: not restarted


@pytest.mark.parametrize("cmd", ["restart", "restart 1"])
def test_restart(mount, solo, cleanup, cmd):
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    started = docker_state(solo, name)["StartedAt"]
    time.sleep(0.05)
    ctl(mount, "solo", name, cmd + "\n")
    assert state_file(mount, "solo", name) == "running\n"
    st = docker_state(solo, name)
    assert st["Running"] and st["StartedAt"] != started, (started, st)


def test_restart_seconds_waits_then_kills(mount, solo, cleanup):
    name = make(solo, cleanup, DEAF)
    wait_listed_in(mount, "solo", "containers", name)
    started = docker_state(solo, name)["StartedAt"]
    t0 = time.monotonic()
    ctl(mount, "solo", name, "restart 1")
    assert 0.8 <= time.monotonic() - t0 < 8
    st = docker_state(solo, name)
    assert st["Running"] and st["StartedAt"] != started


@pytest.mark.parametrize("cmd", ["kill", "kill KILL", "kill SIGKILL", "kill 9"])
def test_kill(mount, solo, cleanup, cmd):
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    ctl(mount, "solo", name, cmd + "\n")
    assert state_file(mount, "solo", name) == "exited\n"
    st = docker_state(solo, name)
    assert st["Status"] == "exited" and st["ExitCode"] == 137, st


@pytest.mark.parametrize("sig", ["USR1", "SIGUSR1", "10"])
def test_kill_signal_is_delivered(mount, solo, cleanup, sig):
    name = make(solo, cleanup, USR1)
    wait_listed_in(mount, "solo", "containers", name)
    ctl(mount, "solo", name, f"kill {sig}\n")
    wait_until(lambda: "got-usr1" in solo.docker("logs", name).stdout, 3,
               f"the container to report SIGUSR1 after `kill {sig}`")
    assert docker_state(solo, name)["Running"]
    assert state_file(mount, "solo", name) == "running\n"


@pytest.mark.parametrize("sig", ["TERM", "SIGTERM", "15"])
def test_kill_term(mount, solo, cleanup, sig):
    name = make(solo, cleanup, USR1)
    wait_listed_in(mount, "solo", "containers", name)
    ctl(mount, "solo", name, f"kill {sig}")
    # the engine answers once the signal is sent; the trap exits soon after
    wait_until(lambda: not docker_state(solo, name)["Running"], 3, "the container to exit")
    assert docker_state(solo, name)["ExitCode"] == 0

    def exited():
        assert state_file(mount, "solo", name) == "exited\n"
    eventually(exited, 10)


def test_pause_unpause(mount, solo, cleanup):
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    ctl(mount, "solo", name, "pause\n")
    assert state_file(mount, "solo", name) == "paused\n"
    st = docker_state(solo, name)
    assert st["Paused"] and st["Status"] == "paused"
    ctl(mount, "solo", name, "unpause\n")
    assert state_file(mount, "solo", name) == "running\n"
    st = docker_state(solo, name)
    assert not st["Paused"] and st["Status"] == "running"


def test_rm_running_refused_then_error_then_rm(mount, solo, cleanup):
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    d = cpath(mount, "solo", name)
    raises_errno(errno.EBUSY, ctl, mount, "solo", name, "rm\n")
    assert solo.exists(name) and docker_state(solo, name)["Running"]
    msg = error_text(d).lower()
    assert any(m in msg for m in RUNNING_RM_MESSAGES), f"error file: {msg!r}"
    # a successful write by the same caller empties it
    ctl(mount, "solo", name, "stop\n")
    assert error_text(d) == ""
    ctl(mount, "solo", name, "rm\n")
    assert not solo.exists(name)
    wait_until(lambda: name not in os.listdir(mount.p("hosts", "solo", "containers")), 1,
               f"{name} gone from the listing")


def test_rm_force_running(mount, solo, cleanup):
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    ctl(mount, "solo", name, "rm force\n")
    assert not solo.exists(name)
    wait_until(lambda: name not in os.listdir(mount.p("hosts", "solo", "containers")), 1,
               f"{name} gone from the listing")


def test_action_by_short_id(mount, solo, cleanup):
    name = running_container(solo, cleanup)
    cid = solo.inspect(name, "{{.Id}}")
    wait_listed_in(mount, "solo", "containers", name)
    ctl(mount, "solo", cid[:12], "stop")
    assert docker_state(solo, name)["Status"] == "exited"
    assert state_file(mount, "solo", cid[:12]) == "exited\n"


def test_echo_through_shell(mount, solo, cleanup):
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    r = subprocess.run(["sh", "-c", 'echo stop > "$1" && cat "$2"', "sh",
                        cpath(mount, "solo", name, "ctl"), cpath(mount, "solo", name, "state")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "exited\n"


def test_truncate_alone_does_nothing(mount, solo, cleanup):
    """`: > ctl` opens with O_TRUNC and writes nothing: no action."""
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    before = solo.state(name)
    fd = os.open(cpath(mount, "solo", name, "ctl"), os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    os.truncate(cpath(mount, "solo", name, "ctl"), 0)
    assert solo.state(name) == before


BAD_COMMANDS = [
    b"frobnicate",
    b"frobnicate\n",
    b"stop abc",
    b"stop 1 2",
    b"stop -",
    b"restart soon",
    b"kill NOSUCHSIG",
    b"kill SIGFROB",
    b"start now",
    b"pause 3",
    b"rm maybe",
    b"rm force force",
    b"\n",                     # what `echo > ctl` writes: an empty command
    b"   \n",
    b"stop\nstart\n",          # one command per write
    b"start\x00",
    b"st\x00op",
    b"stop " + b"1" * 10240,   # 10 KB
    b"x" * 10240,
]


@pytest.mark.parametrize("data", BAD_COMMANDS, ids=lambda d: repr(d[:20]) + f"[{len(d)}]")
def test_bad_command_einval_changes_nothing(mount, solo, cleanup, data):
    name = running_container(solo, cleanup)
    listed_running(mount, "solo", name)
    before = solo.state(name)
    raises_errno(errno.EINVAL, ctl, mount, "solo", name, data)
    assert solo.exists(name)
    assert solo.state(name) == before
    assert state_file(mount, "solo", name) == "running\n"


def test_bad_command_on_stopped_changes_nothing(mount, solo, cleanup):
    """A bad word is refused before anything reaches the engine: a stopped
    container is not started by `start garbage`."""
    name = running_container(solo, cleanup)
    solo.docker("stop", name)
    wait_listed_in(mount, "solo", "containers", name)
    before = solo.state(name)
    raises_errno(errno.EINVAL, ctl, mount, "solo", name, "start garbage\n")
    assert solo.state(name) == before


def test_unknown_container_enoent(mount):
    missing = cpath(mount, "solo", unique("no-such"), "ctl")
    raises_errno(errno.ENOENT, os.open, missing, os.O_WRONLY)
    raises_errno(errno.ENOENT, write_once, missing, "start\n")


def test_container_removed_while_open_enoent(mount, solo, cleanup):
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    fd = os.open(cpath(mount, "solo", name, "ctl"), os.O_WRONLY | os.O_TRUNC)
    try:
        solo.docker("rm", "-f", name)
        raises_errno(errno.ENOENT, os.write, fd, b"start\n")
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    assert not solo.exists(name)


def test_several_writes_one_open(mount, solo, cleanup):
    """Each write(2) is one command, also through one open file."""
    name = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", name)
    fd = os.open(cpath(mount, "solo", name, "ctl"), os.O_WRONLY)
    try:
        os.write(fd, b"pause\n")
        assert docker_state(solo, name)["Paused"]
        os.write(fd, b"unpause\n")
        assert not docker_state(solo, name)["Paused"]
        os.write(fd, b"stop\n")
        assert docker_state(solo, name)["Status"] == "exited"
    finally:
        os.close(fd)


def test_concurrent_actions(mount, solo, cleanup):
    """Eight containers stopped and started at once from eight threads:
    every action lands, and the mount keeps answering."""
    import threading
    names = [running_container(solo, cleanup) for _ in range(8)]
    for n in names:
        wait_listed_in(mount, "solo", "containers", n)
    errors = []

    def act(n, cmd, want):
        # runc's cgroup freeze gives up on a loaded machine ("OCI runtime
        # pause failed: unable to freeze", the engine's 500, EIO here):
        # the engine's failure, which its user meets by trying again.  And
        # a loaded engine may take longer than the 10 s deadline to start
        # one: ETIMEDOUT says it may still carry the action out; then it
        # must, and the files must show it.
        for attempt in range(3):
            try:
                return ctl(mount, "solo", n, cmd)
            except OSError as e:
                why = read_text(cpath(mount, "solo", n, "error"))
                if e.errno == errno.ETIMEDOUT and "may still carry the action out" in why:
                    wait_until(lambda: state_file(mount, "solo", n) == want + "\n", 30,
                               f"{n}: {cmd} carried out after its deadline")
                    return None
                if attempt == 2 or "unable to freeze" not in why:
                    raise OSError(e.errno, f"{cmd}: {why.strip()}") from None

    def cycle(n):
        try:
            for cmd, want in (("stop", "exited"), ("start", "running"), ("pause", "paused"),
                              ("unpause", "running")):
                act(n, cmd, want)
                got = state_file(mount, "solo", n)
                if got != want + "\n" and cmd == "unpause":
                    # dockerd 20.10 applies containerd's paused/resumed
                    # events on its own thread too: on a loaded machine a
                    # late "paused" sets Paused again after the unpause
                    # returned, and the engine itself answers "paused" (and
                    # sends pause, unpause events) for a moment
                    deadline = time.monotonic() + 5
                    while got == "paused\n" and time.monotonic() < deadline:
                        time.sleep(0.05)
                        got = state_file(mount, "solo", n)
                if got != want + "\n":
                    errors.append(f"{n}: {cmd} -> {got!r}")
        except OSError as e:
            errors.append(f"{n}: {e!r}")
    threads = [threading.Thread(target=cycle, args=(n,), daemon=True) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "actions still running after 60s"
    assert not errors, errors
    for n in names:
        assert docker_state(solo, n)["Status"] == "running"


# ---- rename -----------------------------------------------------------------------

def test_rename(mount, solo, cleanup):
    old = running_container(solo, cleanup)
    new = cleanup.container(solo, unique())
    cid = solo.inspect(old, "{{.Id}}")
    wait_listed_in(mount, "solo", "containers", old)
    assert write_once(cpath(mount, "solo", old, "name"), new + "\n") == len(new) + 1
    assert solo.inspect(cid, "{{.Name}}") == "/" + new
    assert not solo.exists(old)

    def renamed():
        names = os.listdir(mount.p("hosts", "solo", "containers"))
        assert new in names and old not in names
    eventually(renamed, 10)
    assert read_text(cpath(mount, "solo", new, "name")) == new + "\n"
    assert read_text(cpath(mount, "solo", new, "id")) == cid + "\n"
    assert error_text(cpath(mount, "solo", new)) == ""


def test_rename_to_taken_name_refused(mount, solo, cleanup):
    a = running_container(solo, cleanup)
    b = running_container(solo, cleanup)
    ida, idb = solo.inspect(a, "{{.Id}}"), solo.inspect(b, "{{.Id}}")
    wait_listed_in(mount, "solo", "containers", a)
    raises_errno((errno.EEXIST, errno.EBUSY), write_once, cpath(mount, "solo", a, "name"), b + "\n")
    assert solo.inspect(ida, "{{.Name}}") == "/" + a
    assert solo.inspect(idb, "{{.Name}}") == "/" + b
    assert "already in use" in error_text(cpath(mount, "solo", a)).lower()
    assert read_text(cpath(mount, "solo", a, "name")) == a + "\n"


@pytest.mark.parametrize("bad", ["has space", "-x", "a/b", "", "a\nb"])
def test_rename_invalid_refused(mount, solo, cleanup, bad):
    a = running_container(solo, cleanup)
    wait_listed_in(mount, "solo", "containers", a)
    raises_errno(errno.EINVAL, write_once, cpath(mount, "solo", a, "name"), bad + "\n")
    assert solo.exists(a)
