"""exec (a command per write, its output read back through the same open
file, then `[exit N]`), logs with options (logs@OPTS) and the logs.follow
stream.

Everything that could block is bounded: reads of streams go through
select() with a deadline and a thread with a timeout (a FUSE read that the
daemon never answers is not interrupted by SIGALRM), readers that must die
are separate processes.
"""
import errno
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import (IMAGE, bounded, error_text, exec_rw, parse_rfc3339_ns, raises_errno,
                      read_all, read_text, split_exit, unique, wait_listed_in, wait_until,
                      write_once)

TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z) (.*)$")
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.1; done"


def cpath(mount, name, *rest):
    return mount.p("hosts", "solo", "containers", name, *rest)


def start(engine, cleanup, script, *opts):
    name = cleanup.container(engine, unique())
    engine.docker("run", "-d", "--name", name, *opts, IMAGE, "sh", "-c", script)
    return name


@pytest.fixture(scope="module")
def box(mount, solo, module_cleanup):
    """A running container for exec."""
    name = module_cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c", LOOP)
    wait_listed_in(mount, "solo", "containers", name)
    return name


def run_exec(mount, name, cmd, timeout=20):
    return bounded(lambda: exec_rw(cpath(mount, name, "exec"), cmd), timeout, f"exec {cmd!r}")


# ---- exec -------------------------------------------------------------------------

def test_exec_echo(mount, box):
    result = run_exec(mount, box, "echo hi")
    assert result == "hi\n[exit 0]\n", repr(result)


def test_exec_exit_code(mount, box):
    assert split_exit(run_exec(mount, box, "sh -c 'exit 3'")) == ("", 3)
    assert split_exit(run_exec(mount, box, "false")) == ("", 1)


def test_exec_stdout_stderr_interleaved(mount, box):
    out, code = split_exit(run_exec(
        mount, box, "sh -c 'echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c; sleep 0.2; "
                    "echo d >&2; exit 5'"))
    assert (out, code) == ("a\nb\nc\nd\n", 5)


def test_exec_not_through_a_shell(mount, box):
    out, code = split_exit(run_exec(mount, box, "echo $HOME ; `id` | cat > /tmp/x && true"))
    assert (out, code) == ("$HOME ; `id` | cat > /tmp/x && true\n", 0)


def test_exec_words_split_like_a_shell(mount, box):
    out, code = split_exit(run_exec(mount, box, "echo 'a  b' \"c  d\" e\\ f \"g\\\"h\"\n"))
    assert (out, code) == ('a  b c  d e f g"h\n', 0)


def test_exec_write_returns_when_finished(mount, solo, box):
    marker = f"/tmp/{unique('done')}"
    t0 = time.monotonic()
    run_exec(mount, box, f"sh -c 'sleep 1; touch {marker}'")
    assert time.monotonic() - t0 >= 0.9
    assert solo.docker("exec", box, "test", "-e", marker, check=False).returncode == 0


@pytest.mark.parametrize("cmd", ["printf abc", "sh -c 'printf abc >&2'"])
def test_exec_output_without_newline(mount, box, cmd):
    """[exit N] is a line of its own even after output without a newline."""
    assert run_exec(mount, box, cmd) == "abc\n[exit 0]\n"


def test_exec_stdin_is_empty(mount, box):
    """A command that reads stdin gets EOF at once: no hang."""
    assert split_exit(run_exec(mount, box, "cat", timeout=15)) == ("", 0)


def test_exec_large_output(mount, box):
    out, code = split_exit(run_exec(mount, box, "seq 1 20000", timeout=30))
    assert code == 0
    assert out == "".join(f"{i}\n" for i in range(1, 20001))


def test_exec_two_handles_each_their_own(mount, box):
    p = cpath(mount, box, "exec")
    fd1 = os.open(p, os.O_RDWR)
    fd2 = os.open(p, os.O_RDWR)
    try:
        bounded(lambda: os.write(fd1, b"echo one"), 20, "exec one")
        bounded(lambda: os.write(fd2, b"echo two"), 20, "exec two")
        os.lseek(fd1, 0, os.SEEK_SET)
        os.lseek(fd2, 0, os.SEEK_SET)
        assert read_all(fd1).decode() == "one\n[exit 0]\n"
        assert read_all(fd2).decode() == "two\n[exit 0]\n"
        # a new command on fd1 replaces fd1's result only
        bounded(lambda: os.write(fd1, b"echo three"), 20, "exec three")
        os.lseek(fd1, 0, os.SEEK_SET)
        os.lseek(fd2, 0, os.SEEK_SET)
        assert read_all(fd1).decode() == "three\n[exit 0]\n"
        assert read_all(fd2).decode() == "two\n[exit 0]\n"
    finally:
        os.close(fd1)
        os.close(fd2)


def test_exec_concurrent(mount, box):
    results = {}

    def one(tag):
        results[tag] = exec_rw(cpath(mount, box, "exec"), f"sh -c 'sleep 0.5; echo {tag}'")
    threads = [threading.Thread(target=one, args=(t,), daemon=True) for t in ("A", "B", "C")]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads), "an exec did not finish within 20s"
    assert results == {t: f"{t}\n[exit 0]\n" for t in ("A", "B", "C")}
    assert time.monotonic() - t0 < 10


def test_reads_served_while_an_exec_waits(mount, box):
    """A request that waits for an engine (an exec of `sleep 3`) holds no
    one else: reads and listings meanwhile answer at once."""
    box_dir = os.path.dirname(cpath(mount, box, "exec"))
    th = threading.Thread(target=lambda: exec_rw(cpath(mount, box, "exec"), "sleep 3"),
                          daemon=True)
    th.start()
    time.sleep(0.5)
    assert th.is_alive()
    slowest = 0.0
    for _ in range(20):
        t = time.monotonic()
        assert read_text(os.path.join(box_dir, "state")) == "running\n"
        os.listdir(mount.p("hosts", "solo", "containers"))
        slowest = max(slowest, time.monotonic() - t)
    assert th.is_alive(), "the exec ended too early to tell"
    assert slowest < 0.5, f"a read took {slowest:.3f}s while an exec waited"
    th.join(20)


def test_exec_last_result_by_cat(mount, box):
    tag = unique("last")
    p = cpath(mount, box, "exec")
    bounded(lambda: write_once(p, f"echo {tag}\n"), 20, "exec")
    assert read_text(p) == f"{tag}\n[exit 0]\n"
    assert read_text(p) == f"{tag}\n[exit 0]\n"      # kept until the next one
    # and through a shell, as an operator would type it
    r = subprocess.run(["sh", "-c", 'echo "echo again" > "$1" && cat "$1"', "sh", p],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "again\n[exit 0]\n"


def test_exec_stopped_container_ebusy(mount, solo, cleanup):
    name = cleanup.container(solo, unique())
    solo.docker("create", "--name", name, IMAGE, "true")
    wait_listed_in(mount, "solo", "containers", name)
    raises_errno(errno.EBUSY, bounded, lambda: exec_rw(cpath(mount, name, "exec"), "echo x"),
                 20, "exec on a stopped container")
    assert "not running" in error_text(cpath(mount, name)).lower()


def test_exec_paused_container_ebusy(mount, solo, cleanup):
    name = start(solo, cleanup, LOOP)
    solo.docker("pause", name)
    wait_listed_in(mount, "solo", "containers", name)
    raises_errno(errno.EBUSY, bounded, lambda: exec_rw(cpath(mount, name, "exec"), "echo x"),
                 20, "exec on a paused container")
    assert "paused" in error_text(cpath(mount, name)).lower()


@pytest.mark.parametrize("bad", [b"\n", b"   ", b"echo 'unterminated", b"echo \x00x"])
def test_exec_bad_line_einval(mount, box, bad):
    raises_errno(errno.EINVAL, bounded, lambda: exec_rw(cpath(mount, box, "exec"), bad),
                 20, "a bad exec line")


def test_exec_unknown_container_enoent(mount):
    raises_errno(errno.ENOENT, os.open, cpath(mount, unique("no-such"), "exec"), os.O_RDWR)


# ---- logs with options --------------------------------------------------------------

@pytest.fixture(scope="module")
def talker(mount, solo, module_cleanup):
    """Five lines on stdout and five on stderr, in turn, then quiet."""
    name = module_cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c",
                "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; " + LOOP)
    wait_until(lambda: "err5" in solo.docker("logs", name).stderr, 5, "err5 logged")
    wait_listed_in(mount, "solo", "containers", name)
    return name


OUT = [f"out{i}" for i in range(1, 6)]
ERR = [f"err{i}" for i in range(1, 6)]


def test_logs_has_both_streams_in_order(mount, talker):
    lines = read_text(cpath(mount, talker, "logs")).splitlines()
    assert sorted(lines) == sorted(OUT + ERR)
    assert [x for x in lines if x.startswith("out")] == OUT
    assert [x for x in lines if x.startswith("err")] == ERR


def test_logs_stderr_only(mount, talker):
    assert read_text(cpath(mount, talker, "logs@stderr")) == "".join(x + "\n" for x in ERR)


def test_logs_stdout_only(mount, talker):
    assert read_text(cpath(mount, talker, "logs@stdout")) == "".join(x + "\n" for x in OUT)


def test_logs_tail(mount, solo, talker):
    got = read_text(cpath(mount, talker, "logs@tail=2")).splitlines()
    assert len(got) == 2
    r = solo.docker("logs", "--tail", "2", talker)
    assert sorted(got) == sorted((r.stdout + r.stderr).splitlines())
    assert read_text(cpath(mount, talker, "logs@tail=0")) == ""


def test_logs_tail_all(mount, talker):
    assert sorted(read_text(cpath(mount, talker, "logs@tail=all")).splitlines()) == \
        sorted(OUT + ERR)


def test_logs_timestamps(mount, solo, talker):
    lines = read_text(cpath(mount, talker, "logs@timestamps")).splitlines()
    assert len(lines) == 10
    started = parse_rfc3339_ns(solo.inspect(talker, "{{.State.StartedAt}}"))
    texts = []
    for line in lines:
        m = TS.match(line)
        assert m, f"no RFC 3339 time at the start of {line!r}"
        t = parse_rfc3339_ns(m.group(1))
        assert started - 5 * 10**9 <= t <= time.time_ns() + 10**9, line
        texts.append(m.group(2))
    assert sorted(texts) == sorted(OUT + ERR)
    r = solo.docker("logs", "-t", talker)
    assert sorted(lines) == sorted((r.stdout + r.stderr).splitlines())


def engine_logs(engine, name, query):
    """The engine's own answer to GET /containers/NAME/logs?QUERY, demultiplexed."""
    status, body = engine.api(f"/containers/{name}/logs?{query}")
    assert status == 200, (status, body)
    body = body or b""
    out = b""
    while body:
        size = int.from_bytes(body[4:8], "big")
        out += body[8:8 + size]
        body = body[8 + size:]
    return out.decode()


def test_logs_options_combined(mount, solo, talker):
    # The engine counts tail=N over both streams, then keeps the one asked
    # for: tail=1 of stderr is err5 or nothing, as the engine says.
    want = engine_logs(solo, talker, "stderr=1&tail=1")
    assert want in ("", "err5\n")
    assert read_text(cpath(mount, talker, "logs@stderr,tail=1")) == want
    assert read_text(cpath(mount, talker, "logs@tail=1,stderr")) == want
    assert read_text(cpath(mount, talker, "logs@stderr,tail=3")) == \
        engine_logs(solo, talker, "stderr=1&tail=3")
    lines = read_text(cpath(mount, talker, "logs@stdout,timestamps")).splitlines()
    assert [TS.match(x).group(2) for x in lines] == OUT


def test_logs_since(mount, solo, cleanup):
    name = start(solo, cleanup, "echo early; sleep 2; echo late; " + LOOP)
    wait_until(lambda: "late" in solo.docker("logs", name).stdout, 6, "the late line")
    wait_listed_in(mount, "solo", "containers", name)
    stamped = dict(reversed(line.split(" ", 1)) for line in
                   solo.docker("logs", "-t", name).stdout.splitlines())
    since = parse_rfc3339_ns(stamped["late"]) // 10**9      # at or before late, after early
    assert parse_rfc3339_ns(stamped["early"]) < since * 10**9
    assert read_text(cpath(mount, name, f"logs@since={since}")) == "late\n"
    assert read_text(cpath(mount, name, "logs@since=0")) == "early\nlate\n"
    assert read_text(cpath(mount, name, f"logs@since={int(time.time()) + 3600}")) == ""


def test_logs_last_1000_lines(mount, solo, cleanup):
    name = start(solo, cleanup, "seq 1 1500; " + LOOP)
    wait_until(lambda: solo.docker("logs", "--tail", "1", name).stdout == "1500\n", 5,
               "1500 lines logged")
    wait_listed_in(mount, "solo", "containers", name)
    assert read_text(cpath(mount, name, "logs")) == "".join(f"{i}\n" for i in range(501, 1501))
    assert read_text(cpath(mount, name, "logs@tail=all")) == \
        "".join(f"{i}\n" for i in range(1, 1501))
    assert read_text(cpath(mount, name, "logs@tail=5")) == \
        "".join(f"{i}\n" for i in range(1496, 1501))


def test_logs_variants_not_listed(mount, talker):
    names = os.listdir(cpath(mount, talker))
    assert "logs" in names
    assert not [n for n in names if "@" in n], names


@pytest.mark.parametrize("bad", ["logs@", "logs@tail=abc", "logs@tail=-1", "logs@frob",
                                 "logs@since=yesterday", "logs.follow@frob", "logs@tail"])
def test_logs_bad_options(mount, talker, bad):
    raises_errno((errno.ENOENT, errno.EINVAL), os.open, cpath(mount, talker, bad), os.O_RDONLY)


# ---- logs.follow ---------------------------------------------------------------------

class Follower:
    """An open logs.follow: lines read with select() and a deadline."""

    def __init__(self, path):
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)
        self.buf = b""
        self.eof = False

    def readable(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        return bool(r)

    def read_some(self, timeout):
        """Waits (select) at most timeout for data; reads once.  Returns the
        bytes read (b"" at EOF); fails if nothing became readable."""
        assert self.readable(timeout), f"{self.path}: nothing readable within {timeout}s"
        data = bounded(lambda: os.read(self.fd, 65536), timeout + 2, f"read of {self.path}")
        if not data:
            self.eof = True
        self.buf += data
        return data

    def lines(self, n, timeout_each=2.0, total=15.0):
        """The next n complete lines."""
        deadline = time.monotonic() + total
        while self.buf.count(b"\n") < n:
            assert not self.eof, f"EOF after {self.buf!r}, wanted {n} lines"
            assert time.monotonic() < deadline, f"only {self.buf!r} within {total}s"
            self.read_some(timeout_each)
        out = []
        for _ in range(n):
            line, self.buf = self.buf.split(b"\n", 1)
            out.append(line.decode())
        return out

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@pytest.fixture
def followers():
    made = []

    def open_follow(path):
        f = Follower(path)
        made.append(f)
        return f
    yield open_follow
    for f in made:
        f.close()


# prints 1..15, then `more` when /tmp/go exists, `more2` when /tmp/go2 does
GATED = ("seq 1 15; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo more; "
         "while [ ! -e /tmp/go2 ]; do sleep 0.05; done; echo more2; " + LOOP)
TICKS = "i=0; trap 'exit 0' TERM; while :; do i=$((i+1)); echo tick$i; sleep 0.2; done"


def test_follow_reachable_but_not_listed(mount, talker):
    """A stream never ends: it is not listed, so grep -r and find do not
    block on it, but it is there by name."""
    assert "logs.follow" not in os.listdir(cpath(mount, talker))
    assert os.stat(cpath(mount, talker, "logs.follow")).st_size == 0
    r = subprocess.run(["grep", "-r", "never-there-xyz", cpath(mount, talker)],
                       capture_output=True, timeout=20)
    assert r.returncode == 1


def test_follow_last_10_then_new_lines(mount, solo, cleanup, followers):
    name = start(solo, cleanup, GATED)
    wait_until(lambda: solo.docker("logs", "--tail", "1", name).stdout == "15\n", 5, "15 lines")
    wait_listed_in(mount, "solo", "containers", name)
    f = followers(cpath(mount, name, "logs.follow"))
    assert f.lines(10) == [str(i) for i in range(6, 16)]
    # nothing more has been printed: not readable
    assert not f.readable(0.5), "readable although the container printed nothing new"
    solo.docker("exec", name, "touch", "/tmp/go")
    assert f.lines(1) == ["more"]
    assert not f.readable(0.3)
    solo.docker("exec", name, "touch", "/tmp/go2")
    assert f.lines(1) == ["more2"]


def test_follow_poll_reports_a_new_line(mount, solo, cleanup, followers):
    name = start(solo, cleanup, GATED)
    wait_until(lambda: solo.docker("logs", "--tail", "1", name).stdout == "15\n", 5, "15 lines")
    wait_listed_in(mount, "solo", "containers", name)
    f = followers(cpath(mount, name, "logs.follow@tail=0"))
    p = select.poll()
    p.register(f.fd, select.POLLIN)
    assert p.poll(500) == [], "POLLIN although nothing was printed"
    solo.docker("exec", name, "touch", "/tmp/go")
    t0 = time.monotonic()
    ev = p.poll(5000)
    assert ev and ev[0][1] & select.POLLIN, ev
    assert time.monotonic() - t0 < 5
    assert f.lines(1) == ["more"]


def test_follow_tail_0_ticks(mount, solo, cleanup, followers):
    name = start(solo, cleanup, TICKS)
    wait_until(lambda: "tick3" in solo.docker("logs", name).stdout, 5, "some ticks")
    wait_listed_in(mount, "solo", "containers", name)
    f = followers(cpath(mount, name, "logs.follow@tail=0"))
    got = []
    for _ in range(5):
        got += f.lines(1, timeout_each=2.0, total=2.5)
    nums = [int(x[len("tick"):]) for x in got]
    assert nums == list(range(nums[0], nums[0] + 5)), got
    # tail=0: it started at the time of the open, not at tick1
    assert nums[0] > 3


def test_follow_tail_n(mount, solo, cleanup, followers):
    name = start(solo, cleanup, GATED)
    wait_until(lambda: solo.docker("logs", "--tail", "1", name).stdout == "15\n", 5, "15 lines")
    wait_listed_in(mount, "solo", "containers", name)
    f = followers(cpath(mount, name, "logs.follow@tail=3"))
    assert f.lines(3) == ["13", "14", "15"]
    assert not f.readable(0.3)


def test_follow_ends_when_container_stops(mount, solo, cleanup, followers):
    name = start(solo, cleanup, TICKS)
    wait_listed_in(mount, "solo", "containers", name)
    f = followers(cpath(mount, name, "logs.follow"))
    f.lines(1)
    solo.docker("stop", name)
    deadline = time.monotonic() + 5
    while not f.eof:
        assert time.monotonic() < deadline, "no EOF within 5s of the container's stop"
        f.read_some(5)


def test_follow_of_stopped_container_ends(mount, solo, cleanup, followers):
    name = cleanup.container(solo, unique())
    solo.docker("run", "--name", name, IMAGE, "sh", "-c", "echo a; echo b; echo c")
    wait_listed_in(mount, "solo", "containers", name)
    f = followers(cpath(mount, name, "logs.follow"))
    assert f.lines(3) == ["a", "b", "c"]
    f.read_some(5)
    assert f.eof and f.buf == b""


def daemon_alive(mount):
    return mount.proc is not None and mount.proc.poll() is None


def ls_time(mount):
    t0 = time.monotonic()
    r = subprocess.run(["ls", mount.p("hosts", "solo", "containers")], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return time.monotonic() - t0


def test_follow_reader_killed_mid_read(mount, solo, cleanup):
    name = start(solo, cleanup, TICKS)
    wait_listed_in(mount, "solo", "containers", name)
    p = subprocess.Popen(["cat", cpath(mount, name, "logs.follow")], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        r, _, _ = select.select([p.stdout], [], [], 3)
        assert r, "cat logs.follow printed nothing within 3s"
        assert os.read(p.stdout.fileno(), 4096).startswith(b"tick")
        p.kill()
        p.wait(timeout=5)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=5)
        p.stdout.close()
    took = ls_time(mount)
    assert took < 1, f"ls took {took:.2f}s after a follower was killed"
    assert daemon_alive(mount)
    # and following still works
    f = Follower(cpath(mount, name, "logs.follow@tail=1"))
    try:
        assert f.lines(1)[0].startswith("tick")
    finally:
        f.close()


def test_follow_reader_interrupted(mount, solo, cleanup):
    """A reader blocked in read(2) and interrupted (Ctrl-C) ends at once."""
    name = start(solo, cleanup, GATED)
    wait_until(lambda: solo.docker("logs", "--tail", "1", name).stdout == "15\n", 5, "15 lines")
    wait_listed_in(mount, "solo", "containers", name)
    # Ctrl-C's own handler, whatever the runner left: a shell's background
    # job starts with SIGINT ignored, and Python then installs none
    script = ("import os, signal, sys\n"
              "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
              "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
              "print('open', flush=True)\n"
              "os.read(fd, 65536)\n")
    p = subprocess.Popen([sys.executable, "-c", script, cpath(mount, name, "logs.follow@tail=0")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        r, _, _ = select.select([p.stdout], [], [], 5)
        assert r and p.stdout.readline() == "open\n"
        time.sleep(0.3)                     # now blocked in read: nothing is printed
        assert p.poll() is None
        p.send_signal(signal.SIGINT)
        try:
            # at once, but other modules load the machine meanwhile
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError("a follower blocked in read did not end within 10s of SIGINT"
                                 f"; the daemon's log ends:\n{mount.log_text()[-4000:]}"
                                 f"{mount.threads_text()}")
        assert "KeyboardInterrupt" in p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=5)
        p.stdout.close()
        p.stderr.close()
    assert ls_time(mount) < 1
    assert daemon_alive(mount)


def test_follow_closed_while_blocked(mount, solo, cleanup):
    """One thread blocked in read, another closes the descriptor: the
    mount goes on answering, and the reader ends when the container stops."""
    name = start(solo, cleanup, GATED)
    wait_until(lambda: solo.docker("logs", "--tail", "1", name).stdout == "15\n", 5, "15 lines")
    wait_listed_in(mount, "solo", "containers", name)
    fd = os.open(cpath(mount, name, "logs.follow@tail=0"), os.O_RDONLY)
    done = threading.Event()

    def reader():
        try:
            while os.read(fd, 65536):
                pass
        except OSError:
            pass
        done.set()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.3)
    os.close(fd)
    assert ls_time(mount) < 1
    solo.docker("kill", name)
    assert done.wait(5), "the reader was still blocked 5s after the container stopped"
    assert daemon_alive(mount)


def test_follow_many_opened_and_closed(mount, solo, cleanup):
    """Followers opened and closed at once, without reading, leak nothing
    that blocks the mount."""
    name = start(solo, cleanup, TICKS)
    wait_listed_in(mount, "solo", "containers", name)
    for _ in range(20):
        os.close(os.open(cpath(mount, name, "logs.follow"), os.O_RDONLY))
    assert ls_time(mount) < 1
    f = Follower(cpath(mount, name, "logs.follow@tail=0"))
    try:
        assert f.lines(1)[0].startswith("tick")
    finally:
        f.close()
    assert daemon_alive(mount)
