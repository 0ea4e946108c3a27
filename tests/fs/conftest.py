"""Fixtures for the dockfs filesystem tests: a real fleet, a real mount.

The suite runs against the engines of `scripts/fleet` (mgr: swarm manager,
wrk: swarm worker, solo: standalone) through a dockfs mounted in a temporary
directory with a temporary registry.  Nothing is mocked.

    /usr/bin/python3 -m pytest tests/fs

Environment:
    DOCKFS_BIN        the daemon (default: build/dockfs of this checkout)
    DOCKFS_FLEET_DIR  passed through to scripts/fleet (default /run/dockfs-fleet)

Only the standard library and pytest: the docker CLI runs as a subprocess,
the Engine API is spoken with http.client over the engine's unix socket.
"""
import errno
import fcntl
import http.client
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLEET = os.path.join(ROOT, "scripts", "fleet")
DOCKFS_BIN = os.environ.get("DOCKFS_BIN") or os.path.join(ROOT, "build", "dockfs")
ENGINES = ("mgr", "wrk", "solo")
IMAGE = "busybox:latest"
HEALTH_INTERVAL = 1          # -o health_interval of the mounts (seconds)
MOUNT_DEADLINE = 15          # a mount shows every host healthy within this
TEST_ALARM = 120             # no single test may run longer (safety net)


# ---------------------------------------------------------------- helpers ----

def run(cmd, timeout=60, check=True, input=None, env=None):
    """Runs cmd (a list), text mode, bounded in time; raises on failure."""
    try:
        p = subprocess.run(cmd, input=input, capture_output=True, text=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{cmd!r} did not finish within {timeout}s "
                             f"(stdout {e.stdout!r}, stderr {e.stderr!r})") from None
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd!r} exited {p.returncode}: {p.stderr.strip()}")
    return p


def mounted(path):
    """Whether something is mounted on path, even a FUSE mount whose daemon
    died (os.path.ismount stats it, which then fails with ENOTCONN)."""
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def unique(prefix="t"):
    """A name no other run uses: t-<random hex>."""
    return f"{prefix}-{secrets.token_hex(4)}"


def in_thread(fn):
    """Starts fn in a thread; returns (thread, box) where box gets
    'value' (or 'error') and 't' (monotonic time of return)."""
    box = {}

    def body():
        try:
            box["value"] = fn()
        except BaseException as e:     # noqa: B902 - handed back
            box["error"] = e
        box["t"] = time.monotonic()
    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, box


def wait_until(pred, timeout, what, interval=0.02):
    """Polls pred() until it returns something true; returns that value.
    Fails with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def eventually(check, timeout, interval=0.02):
    """Calls check() (which asserts) until it passes; after timeout seconds
    the last AssertionError (or OSError) is raised.  Returns check()'s value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, OSError):
            if time.monotonic() >= deadline:
                raise
        time.sleep(interval)


def read_text(path):
    with open(path, "rb") as f:
        return f.read().decode()


def first_line(path):
    return read_text(path).split("\n", 1)[0]


def listdir_set(path):
    return set(os.listdir(path))


# The files a collection (containers/, images/, services/...) has besides its
# objects: dot-files, which `ls` and `*` skip and no object name can be.
CONTROL_FILES = {".ctl", ".error"}


def objects(path):
    """The objects listed in a containers/images/networks/volumes dir."""
    return set(os.listdir(path)) - CONTROL_FILES


def bracketed(listing, truth, what="dockfs"):
    """listing() against truth() (the engine's own list) taken just before
    and just after it: other modules make and remove objects on the same
    engines meanwhile, so a name in only one of the two may be listed or
    not.  Returns the listing, a set."""
    before = set(truth())
    got = set(listing())
    after = set(truth())
    steady = before & after
    assert steady <= got <= before | after, \
        f"only in {what}: {sorted(got - (before | after))}, only in docker: {sorted(steady - got)}"
    return got


def parse_rfc3339_ns(text):
    """Docker's RFC 3339 time with up to 9 fraction digits -> ns since the epoch."""
    import calendar
    text = text.strip()
    assert text.endswith("Z"), f"not a UTC time: {text!r}"
    main, _, frac = text[:-1].partition(".")
    t = time.strptime(main, "%Y-%m-%dT%H:%M:%S")
    ns = int((frac + "000000000")[:9]) if frac else 0
    return calendar.timegm(t) * 10**9 + ns


def escape_name(name):
    """dockfs's file name for a Docker name (names.h): % -> %25, / -> %2F."""
    return name.replace("%", "%25").replace("/", "%2F")


# ------------------------------------------------------------------ sizes ----

def check_size_after_open(path):
    """st_size as seen through the open file equals what that file reads."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        data = b""
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    assert size == len(data), f"{path}: fstat after open says {size}, read gives {len(data)}"


def check_stat_size(path):
    size = os.stat(path).st_size
    with open(path, "rb") as f:
        n = len(f.read())
    assert size == n, f"{path}: stat says {size}, read gives {n}"


def check_sizes(path, name, time_varying):
    checks = [check_size_after_open] if name.endswith(".json") or name == "logs" else \
        [check_stat_size, check_size_after_open]
    for check in checks:
        if name in time_varying:
            # at most a few tries, each with the kernel's attributes expired
            # (attr_timeout 0.5 s): a size bug fails all of them.
            for attempt in range(3):
                try:
                    check(path)
                    break
                except AssertionError:
                    if attempt == 2:
                        raise
                    time.sleep(0.6)
        else:
            check(path)



# Files that never reach EOF while their object lives (they block and
# deliver lines as they come): a size check would read them forever.
STREAM_FILES = ("logs.follow", "events")


def is_stream(name):
    return name in STREAM_FILES or name.startswith("logs.follow@")


def check_all_sizes(items):
    """check_sizes on each (path, name, time_varying); fails with every
    mismatch at once.  Directories and stream files are passed over."""
    errors = []
    for path, name, time_varying in items:
        if is_stream(name) or os.path.isdir(path):
            continue
        try:
            check_sizes(path, name, time_varying)
        except AssertionError as e:
            errors.append(str(e).split("\n")[0])
    assert not errors, "sizes differ from contents:\n  " + "\n  ".join(errors)

# ----------------------------------------------------------------- engines ----

class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket that we connect ourselves."""

    def __init__(self, path, timeout=10):
        super().__init__("docker", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Engine:
    """One engine of the fleet: its docker CLI and its Engine API."""

    def __init__(self, name, sock):
        self.name = name
        self.sock = sock
        self.url = f"unix://{sock}"
        env = {k: v for k, v in os.environ.items()
               if k not in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY",
                            "DOCKER_CERT_PATH", "DOCKER_API_VERSION")}
        env["DOCKER_CONFIG"] = os.path.join(tempfile.gettempdir(), "dockfs-test-docker-cli")
        self.env = env

    def __repr__(self):
        return f"Engine({self.name})"

    def docker(self, *args, timeout=60, check=True, input=None):
        # a swarm object's update names the version it read: another
        # module's update in between makes it "out of sequence", and the
        # CLI's user tries again
        for attempt in range(5):
            r = run(["docker", "-H", self.url, *args], timeout=timeout, check=False,
                    input=input, env=self.env)
            if r.returncode == 0 or "update out of sequence" not in (r.stderr or ""):
                break
            time.sleep(0.2)
        if check and r.returncode != 0:
            raise AssertionError(f"{['docker', '-H', self.url, *args]!r} exited "
                                 f"{r.returncode}: {r.stderr.strip()}")
        return r

    def out(self, *args, timeout=60):
        """stdout of a docker CLI command, stripped."""
        return self.docker(*args, timeout=timeout).stdout.strip()

    def api(self, path, method="GET", timeout=10, body=None):
        """(status, parsed JSON body or None) of an Engine API call."""
        c = UnixHTTPConnection(self.sock, timeout=timeout)
        try:
            if body is None:
                c.request(method, path)
            else:
                c.request(method, path, json.dumps(body), {"Content-Type": "application/json"})
            r = c.getresponse()
            body = r.read()
        finally:
            c.close()
        try:
            return r.status, json.loads(body) if body else None
        except ValueError:
            return r.status, body

    def container_names(self):
        return set(self.out("ps", "-a", "--format", "{{.Names}}").split())

    def container_ids(self):
        return set(self.out("ps", "-a", "--no-trunc", "--format", "{{.ID}}").split())

    def inspect(self, name, fmt):
        return self.out("inspect", "--format", fmt, name)

    def answers(self):
        try:
            status, _ = self.api("/_ping", timeout=2)
            return status == 200
        except OSError:
            return False

    def exists(self, name):
        """A container of that exact name exists (docker ps -a)."""
        out = self.out("ps", "-a", "--filter", f"name=^/{name}$", "--format", "{{.Names}}")
        return name in out.split()

    def state(self, name):
        """`State.Status StartedAt` of a container, to tell a change."""
        return self.inspect(name, "{{.State.Status}} {{.State.StartedAt}}")

    def created_events(self, since, name):
        """How many `create` events the engine logged for a container of that
        name between since (unix seconds) and now."""
        out = self.out("events", "--since", str(int(since)), "--until", f"{time.time():.6f}",
                       "--filter", "type=container", "--filter", "event=create",
                       "--format", "{{.Actor.Attributes.name}}", timeout=20)
        return out.split().count(name)

    def volume_names(self):
        return set(self.out("volume", "ls", "-q").split())

    def network_names(self):
        return set(self.out("network", "ls", "--format", "{{.Name}}").split())


def fleet_cmd(*args, timeout=180):
    return run([FLEET, *args], timeout=timeout)


@pytest.fixture(scope="session")
def fleet():
    """The fleet, up: {engine name: Engine}."""
    if os.geteuid() != 0:
        pytest.exit("tests/fs needs root (the fleet's engines and FUSE mounts)", 2)
    # one `up` at a time: the modules running in parallel each ask
    with open("/run/dockfs-fleet.test-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fleet_cmd("up", timeout=300)
    env = {}
    for line in fleet_cmd("env", timeout=30).stdout.splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    engines = {e: Engine(e, env[f"FLEET_{e.upper()}_SOCK"]) for e in ENGINES}
    for e in engines.values():
        assert e.answers(), f"engine {e.name} does not answer after `fleet up`"
    return engines


@pytest.fixture(scope="session")
def fleet_env(fleet):
    """`scripts/fleet env` as a dict (the tls and ssh engines' addresses,
    certificates, keys and users)."""
    env = {}
    for line in fleet_cmd("env", timeout=30).stdout.splitlines():
        k, _, v = line.partition("=")
        env[k] = v.strip("'")
    return env


@pytest.fixture(scope="session")
def tls_engine(fleet_env):
    """The engine behind tcp+TLS, through its own unix socket."""
    e = Engine("tls", fleet_env["FLEET_TLS_SOCK"])
    assert e.answers(), "the tls engine does not answer"
    return e


@pytest.fixture(scope="session")
def ssh_engine(fleet_env):
    """The engine behind sshd, through its own unix socket."""
    e = Engine("ssh", fleet_env["FLEET_SSH_SOCK"])
    assert e.answers(), "the ssh engine does not answer"
    return e


def write_file(path, data):
    """Writes data (bytes or str) to path in one open/close, like cp."""
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as f:
        f.write(data)


def copy_file(src, dst):
    """cp src dst, as a user would."""
    run(["cp", src, dst], timeout=30)


def wait_status(mount, host, word, timeout=20, contains=None):
    """Waits until hosts/<host>/status starts with word (and its text holds
    contains); returns the whole text."""
    def ok():
        try:
            text = read_text(mount.p("hosts", host, "status"))
        except OSError:
            return None
        if text.split("\n", 1)[0] != word:
            return None
        if contains and contains not in text:
            return None
        return text
    try:
        return wait_until(ok, timeout, f"{host} to be {word} ({contains})", interval=0.1)
    except AssertionError:
        try:
            text = read_text(mount.p("hosts", host, "status"))
        except OSError as e:
            text = str(e)
        raise AssertionError(f"{host}: status {text!r}, wanted {word} ({contains})\n"
                             + mount.log_text()) from None


@pytest.fixture(scope="session")
def mgr(fleet):
    return fleet["mgr"]


@pytest.fixture(scope="session")
def wrk(fleet):
    return fleet["wrk"]


@pytest.fixture(scope="session")
def solo(fleet):
    return fleet["solo"]


# ------------------------------------------------------------------ mounts ----

class Mount:
    """A dockfs daemon in the foreground on a temporary mount point."""

    def __init__(self, workdir, db, hosts, options=()):
        self.workdir = workdir
        self.path = tempfile.mkdtemp(prefix="mnt.", dir=workdir)
        self.db = db
        self.hosts = dict(hosts)
        self.options = list(options)
        self.log_path = os.path.join(workdir, f"dockfs.{os.path.basename(self.path)}.log")
        self.proc = None
        self.rc = None

    def start(self):
        if not os.access(DOCKFS_BIN, os.X_OK):
            pytest.exit(f"{DOCKFS_BIN} missing: build it (ninja -C build) or set DOCKFS_BIN", 2)
        cmd = [DOCKFS_BIN, self.path, "-f", "--db", self.db]
        for name, url in self.hosts.items():
            cmd += ["--host", f"{name}={url}"]
        cmd += ["-o", f"health_interval={HEALTH_INTERVAL}"]
        for o in self.options:
            cmd += ["-o", o]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, start_new_session=True)
        wait_until(lambda: os.path.ismount(self.path) or self.proc.poll() is not None,
                   10, f"dockfs to mount {self.path}")
        if self.proc.poll() is not None:
            raise AssertionError(f"dockfs exited {self.proc.returncode} before mounting:\n"
                                 + self.log_text())
        return self

    def start_healthy(self):
        """start(), then wait_healthy(); stops the daemon if that fails."""
        self.start()
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def host_status(self, host):
        try:
            return first_line(self.p("hosts", host, "status"))
        except OSError as e:
            return f"<{e}>"

    def wait_healthy(self, hosts=None, timeout=MOUNT_DEADLINE):
        hosts = list(hosts or self.hosts)
        try:
            wait_until(lambda: all(self.host_status(h) == "healthy" for h in hosts),
                       timeout, f"hosts {hosts} to be healthy")
        except AssertionError:
            states = {h: self.host_status(h) for h in hosts}
            raise AssertionError(f"hosts not healthy within {timeout}s: {states}\n"
                                 + self.log_text()) from None

    def threads_text(self):
        """Where each of the daemon's threads waits (state, kernel wait
        channel): for a failure that hangs."""
        if not self.proc:
            return ""
        lines = ["---- dockfs threads (tid state wchan) ----"]
        base = f"/proc/{self.proc.pid}/task"
        try:
            for tid in sorted(os.listdir(base), key=int):
                try:
                    with open(f"{base}/{tid}/stat") as f:
                        stat = f.read()
                    with open(f"{base}/{tid}/wchan") as f:
                        wchan = f.read()
                except OSError:
                    continue
                comm = stat[stat.index("(") + 1:stat.rindex(")")]
                state = stat[stat.rindex(")") + 2:].split()[0]
                lines.append(f"{tid} {comm} {state} {wchan}")
        except OSError as e:
            lines.append(str(e))
        return "\n".join(lines) + "\n"

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return "---- dockfs log ----\n" + f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """Unmounts and returns the daemon's exit status."""
        if self.proc is None:
            return self.rc
        if os.path.ismount(self.path):
            # The daemon's notifier acts on its own mount (inotify): an
            # unmount that meets one of its calls is busy for a moment.
            for _ in range(10):
                r = run(["fusermount3", "-u", self.path], timeout=15, check=False)
                if r.returncode == 0 or not os.path.ismount(self.path):
                    break
                time.sleep(0.2)
            if r.returncode != 0 and os.path.ismount(self.path):
                # busy or stuck: make sure nothing is left behind
                self.proc.send_signal(signal.SIGTERM)
        try:
            self.rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.rc = "killed after not exiting within 15s of the unmount"
        if mounted(self.path):
            run(["fusermount3", "-uz", self.path], timeout=15, check=False)
        # a private mount's companion, left behind if the daemon died
        for line in self.log_text().splitlines():
            where = line.partition("companion mount on ")[2].strip()
            if where and mounted(where):
                run(["fusermount3", "-uz", where], timeout=15, check=False)
                if os.path.basename(where).startswith("dockfs-open."):
                    os.rmdir(where)     # the daemon made it
        self.proc = None
        self.log.close()
        return self.rc

    def stop_ok(self):
        """Unmounts; fails (with the daemon's log) unless it exited 0."""
        rc = self.stop()
        assert rc == 0, f"dockfs exited {rc!r} after unmount\n" + self.log_text()


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="dockfs-test-")
    # other users (tests/fs/test_permissions.py) reach the mounts below it
    os.chmod(d, 0o755)
    yield d
    # only if nothing is mounted under it any more
    with open("/proc/self/mountinfo") as f:
        busy = any(line.split()[4].startswith(d + "/") for line in f)
    if not busy:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def mount(fleet, workdir):
    """dockfs over the three engines, every host healthy."""
    m = Mount(workdir, os.path.join(workdir, "session.db"),
              {e.name: e.url for e in fleet.values()}, options=("allow_other",))
    yield m.start_healthy()
    m.stop_ok()


@pytest.fixture
def new_mount(fleet, workdir):
    """Factory of extra mounts (stopped at the end if the test did not)."""
    mounts = []

    def make(db, hosts, options=()):
        m = Mount(workdir, db, hosts, options).start()
        mounts.append(m)
        return m
    yield make
    for m in mounts:
        m.stop()


# --------------------------------------------------------------- cleanup ----

class Cleanup:
    """What a test made on the fleet, removed when it ends."""

    def __init__(self):
        self.items = []

    def container(self, engine, name):
        self.items.append(("container", engine, name))
        return name

    def image_tag(self, engine, ref):
        self.items.append(("image", engine, ref))
        return ref

    def volume(self, engine, name):
        """Register before the containers that use it (removed in reverse)."""
        self.items.append(("volume", engine, name))
        return name

    def network(self, engine, name):
        self.items.append(("network", engine, name))
        return name

    def run_all(self):
        errors = []
        for kind, engine, name in reversed(self.items):
            if not engine.answers():
                errors.append(f"{engine.name} does not answer: cannot remove {kind} {name}")
                continue
            if kind == "container":
                r = engine.docker("rm", "-f", "-v", name, timeout=60, check=False)
                if r.returncode != 0 and "No such container" not in r.stderr:
                    errors.append(f"{engine.name}: rm {name}: {r.stderr.strip()}")
            elif kind == "volume":
                r = engine.docker("volume", "rm", "-f", name, timeout=60, check=False)
                if r.returncode != 0 and "no such volume" not in r.stderr.lower():
                    errors.append(f"{engine.name}: volume rm {name}: {r.stderr.strip()}")
            elif kind == "network":
                r = engine.docker("network", "rm", name, timeout=60, check=False)
                if r.returncode != 0 and "not found" not in r.stderr.lower():
                    errors.append(f"{engine.name}: network rm {name}: {r.stderr.strip()}")
            else:
                r = engine.docker("rmi", name, timeout=60, check=False)
                if r.returncode != 0 and "No such image" not in r.stderr:
                    errors.append(f"{engine.name}: rmi {name}: {r.stderr.strip()}")
        self.items = []
        return errors


@pytest.fixture
def cleanup():
    c = Cleanup()
    yield c
    errors = c.run_all()
    assert not errors, "cleanup failed: " + "; ".join(errors)


@pytest.fixture(scope="module")
def module_cleanup():
    c = Cleanup()
    yield c
    errors = c.run_all()
    assert not errors, "cleanup failed: " + "; ".join(errors)


# --------------------------------------------------------- safety and summary

@pytest.fixture(autouse=True)
def _alarm():
    """Nothing hangs: a test still running after TEST_ALARM seconds fails."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"test still running after {TEST_ALARM}s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_ALARM)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# The longest modules (minutes of their own), started first when the suite
# runs in parallel (scripts/test: pytest-xdist gives out modules in this
# order), so that none of them is the run's tail.
LONGEST_FIRST = ("test_permissions", "test_actions", "test_cli_options", "test_stacks",
                 "test_security")


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        name = item.module.__name__
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
    items.sort(key=rank)     # stable: each module's tests stay in their order


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """A plain closing line, `N passed, N failed` (errors count as failed)."""
    stats = terminalreporter.stats
    passed = len(stats.get("passed", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    terminalreporter.write_line(f"{passed} passed, {failed} failed")



# ------------------------------------------------------------ writes ----

def bounded(fn, timeout, what):
    """fn() in a thread, waited for at most timeout seconds: a call into the
    mount that blocks (a FUSE request the daemon never answers is not
    interrupted by SIGALRM) fails the test instead of hanging it.  Returns
    fn's value or raises its exception."""
    import threading
    box = {}

    def body():
        try:
            box["value"] = fn()
        except BaseException as e:          # noqa: B902 - handed to the caller
            box["error"] = e
    t = threading.Thread(target=body, daemon=True, name=f"bounded: {what}")
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise AssertionError(f"{what}: still blocked after {timeout}s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def write_once(path, data, flags=os.O_WRONLY | os.O_TRUNC):
    """One open and one write(2) of data (str or bytes), as `echo data > path`
    does; returns what write returned.  Raises OSError (from open, write or
    close)."""
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(path, flags)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


def read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def exec_rw(path, cmd):
    """exec through one read-write handle: write the command line, read the
    result from offset 0 of the same handle."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.write(fd, cmd.encode() if isinstance(cmd, str) else cmd)
        os.lseek(fd, 0, os.SEEK_SET)
        return read_all(fd).decode(errors="replace")
    finally:
        os.close(fd)


def split_exit(result):
    """exec's result 'OUTPUT[exit N]\\n' -> (OUTPUT, N)."""
    body = result[:-1] if result.endswith("\n") else result
    head, sep, last = body.rpartition("\n")
    if not sep:
        head, last = "", body
    assert last.startswith("[exit ") and last.endswith("]"), \
        f"no final [exit N] line in {result!r}"
    return (head + "\n" if sep else ""), int(last[len("[exit "):-1])


def raises_errno(expected, fn, *args, **kw):
    """Calls fn; asserts it raises OSError with errno in expected (one errno
    or a tuple).  Returns the exception."""
    want = expected if isinstance(expected, tuple) else (expected,)
    try:
        v = fn(*args, **kw)
    except OSError as e:
        assert e.errno in want, \
            f"expected {[errno.errorcode[w] for w in want]}, got {e!r}"
        return e
    raise AssertionError(f"expected {[errno.errorcode[w] for w in want]}, "
                         f"but the call succeeded and returned {v!r}")


def error_file(dirpath):
    """The caller's error file of a directory: `.error` in a collection
    (a directory that lists objects), else `error`."""
    dot = os.path.join(dirpath, ".error")
    return dot if os.path.exists(dot) else os.path.join(dirpath, "error")


def error_text(dirpath):
    """The caller's `error` file of a directory, stripped."""
    return read_text(error_file(dirpath)).strip()


def running_container(engine, cleanup, *, name=None, label=None, image=IMAGE):
    """A running busybox container that exits at once on SIGTERM (so stop is
    fast).  Returns its name."""
    name = cleanup.container(engine, name or unique())
    args = ["run", "-d", "--name", name]
    if label:
        args += ["--label", label]
    engine.docker(*args, image, "sh", "-c",
                  "trap 'exit 0' TERM; while :; do sleep 0.1; done")
    return name


def wait_listed_in(mount, host, kind, name, timeout=15):
    # a precondition, not a latency: test_inotify and scripts/bench time
    # that; other modules load the engine meanwhile
    d = mount.p("hosts", host, kind)
    wait_until(lambda: name in os.listdir(d), timeout, f"{name} in ls {d}")


# ------------------------------------------------------------- audit ----

AUDIT_KEYS = {"id", "time", "user", "uid", "host", "action", "resource_type", "resource_id",
              "details", "outcome", "errno"}


def parse_audit(text):
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        assert isinstance(row, dict), line
        rows.append(row)
    return rows


def audit_rows(mount, after=0):
    """The audit rows root sees with id > after."""
    return [r for r in parse_audit(read_text(mount.p("audit"))) if r["id"] > after]


def audit_marker(mount):
    """The id of the last audit row (0 if none)."""
    rows = parse_audit(read_text(mount.p("audit")))
    return max((r["id"] for r in rows), default=0)


def errno_matches(value, expected):
    """An audit row's errno (a number, or a name such as "EACCES")."""
    if expected == 0:
        return value in (0, None, "", "0")
    return value == expected or value == errno.errorcode.get(expected)


# ------------------------------------------------------------- users ----

# Run as another user by setpriv(1): does one file operation and prints
# what happened as JSON, so that errnos can be told apart exactly.
ACT_SCRIPT = r'''
import json, os, sys
req = json.loads(sys.argv[1])
op, path = req["op"], req["path"]
data = req.get("data")
data = bytes.fromhex(data) if data is not None else None
res = {"ok": False}
stage = "open"
def read_all(fd):
    out = []
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            return b"".join(out)
        out.append(b)
try:
    if op == "read":
        fd = os.open(path, os.O_RDONLY)
        stage = "read"
        try:
            res["data"] = read_all(fd).decode(errors="replace")
        finally:
            os.close(fd)
    elif op == "write":
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        stage = "write"
        try:
            res["n"] = os.write(fd, data)
            stage = "close"
        finally:
            os.close(fd)
    elif op == "create":
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        stage = "write"
        try:
            res["n"] = os.write(fd, data)
            stage = "close"
        finally:
            os.close(fd)
    elif op == "rw":
        fd = os.open(path, os.O_RDWR)
        stage = "write"
        try:
            res["n"] = os.write(fd, data)
            stage = "read"
            os.lseek(fd, 0, os.SEEK_SET)
            res["data"] = read_all(fd).decode(errors="replace")
        finally:
            os.close(fd)
    elif op == "open":
        os.close(os.open(path, req["flags"]))
    elif op == "listdir":
        stage = "listdir"
        res["data"] = sorted(os.listdir(path))
    elif op == "stat":
        stage = "stat"
        os.stat(path)
    elif op in ("mkdir", "rmdir", "unlink"):
        stage = op
        getattr(os, op)(path)
    else:
        raise SystemExit("unknown op " + op)
    res["ok"] = True
except OSError as e:
    res.update(errno=e.errno, stage=stage, msg=str(e))
print(json.dumps(res))
'''


class Act(dict):
    """What an operation by another user did: ok, errno, stage, data."""

    @property
    def ok(self):
        return self.get("ok", False)

    @property
    def errno(self):
        return self.get("errno")

    @property
    def data(self):
        return self.get("data")

    def expect_ok(self, what=""):
        assert self.ok, f"{what}: expected success, got {dict(self)}"
        return self

    def expect_errno(self, expected, what=""):
        want = expected if isinstance(expected, tuple) else (expected,)
        assert not self.ok and self.errno in want, \
            f"{what}: expected {[errno.errorcode[w] for w in want]}, got {dict(self)}"
        return self


class UnixUser:
    """A system user made for the tests (useradd -M -N, no login shell)."""

    def __init__(self, name):
        pw = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, pw.pw_uid, pw.pw_gid

    def __repr__(self):
        return f"UnixUser({self.name}, uid {self.uid})"

    def argv(self, *cmd):
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                "--", *cmd]

    def run(self, *cmd, timeout=30, check=False, input=None):
        """cmd as this user (no groups), bounded in time."""
        return run(self.argv(*cmd), timeout=timeout, check=check, input=input)

    def sh(self, script, *args, timeout=30):
        """sh -c script as this user."""
        return self.run("sh", "-c", script, "sh", *args, timeout=timeout)

    def act(self, op, path, data=None, flags=None, timeout=30):
        req = {"op": op, "path": path}
        if data is not None:
            req["data"] = (data.encode() if isinstance(data, str) else data).hex()
        if flags is not None:
            req["flags"] = flags
        p = self.run("/usr/bin/python3", "-I", "-c", ACT_SCRIPT, json.dumps(req),
                     timeout=timeout)
        assert p.returncode == 0 and p.stdout.strip(), \
            f"act {op} {path} as {self.name}: exit {p.returncode}: {p.stderr}"
        return Act(json.loads(p.stdout))

    # shorthands
    def read(self, path):
        return self.act("read", path)

    def write(self, path, data):
        return self.act("write", path, data)

    def listdir(self, path):
        return self.act("listdir", path)

    def create(self, path, data):
        """open(O_CREAT) and write, as `echo data > path` of a new file."""
        return self.act("create", path, data)


class UnixUsers:
    """Factory of system users, all removed (userdel) at the end."""

    def __init__(self):
        self.made = []

    def make(self, role):
        name = f"t-{role}-{secrets.token_hex(4)}"
        # useradd and userdel of modules running in parallel take turns
        # with /etc/passwd's lock, and the loser gives up at once
        for _ in range(50):
            r = run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name], timeout=30,
                    check=False)
            if r.returncode == 0 or "lock" not in r.stderr:
                break
            time.sleep(0.1)
        assert r.returncode == 0, f"useradd {name}: {r.stderr.strip()}"
        self.made.append(name)
        return UnixUser(name)

    def remove_all(self):
        errors = []
        for name in reversed(self.made):
            for _ in range(50):
                r = run(["userdel", name], timeout=30, check=False)
                if r.returncode == 0 or "lock" not in r.stderr:
                    break
                time.sleep(0.1)
            if r.returncode != 0:
                errors.append(f"userdel {name}: {r.stderr.strip()}")
        self.made = []
        return errors


@pytest.fixture(scope="session")
def unix_users():
    """make(role) -> UnixUser; every user made is deleted at the end of the
    session."""
    u = UnixUsers()
    yield u
    errors = u.remove_all()
    assert not errors, "; ".join(errors)


def register_user(mount, user, levels=None, admin=False):
    """As root: mkdir M/users/NAME (bound to the system user of that name),
    then its levels per host and its admin flag."""
    d = mount.p("users", user.name)
    os.mkdir(d)
    assert read_text(os.path.join(d, "uid")).strip() == str(user.uid)
    for host, level in (levels or {}).items():
        write_once(os.path.join(d, "permissions", host), level + "\n")
    if admin:
        write_once(os.path.join(d, "admin"), "1\n")
    return user


def unregister_user(mount, user):
    d = mount.p("users", user.name)
    try:
        os.rmdir(d)
    except FileNotFoundError:
        pass


@pytest.fixture(scope="session")
def people(mount, unix_users):
    """System users with levels on the session mount:
        viewer   viewer on solo
        operator operator on solo
        hostadm  admin on solo
        gadmin   admin flag (a global admin)
        stranger a system user dockfs does not know
        spare    registered, no level anywhere (a target for grants)
    Registered once for the session, removed from the registry at the end."""
    p = {
        "viewer": unix_users.make("view"),
        "operator": unix_users.make("oper"),
        "hostadm": unix_users.make("hadm"),
        "gadmin": unix_users.make("gadm"),
        "stranger": unix_users.make("strg"),
        "spare": unix_users.make("spar"),
    }
    registered = []
    try:
        register_user(mount, p["viewer"], {"solo": "viewer"})
        registered.append(p["viewer"])
        register_user(mount, p["operator"], {"solo": "operator"})
        registered.append(p["operator"])
        register_user(mount, p["hostadm"], {"solo": "admin"})
        registered.append(p["hostadm"])
        register_user(mount, p["gadmin"], admin=True)
        registered.append(p["gadmin"])
        register_user(mount, p["spare"])
        registered.append(p["spare"])
    except BaseException:
        for u in registered:
            unregister_user(mount, u)
        raise
    yield p
    for u in registered:
        unregister_user(mount, u)
