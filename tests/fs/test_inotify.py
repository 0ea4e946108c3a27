"""inotify for changes made elsewhere: `inotifywait -m -r` (inotify-tools)
on the mount sees containers, volumes, networks and image tags made,
changed and removed with the docker CLI, and a host's status changing.

Each event must arrive within 1 s of the docker CLI command's return.  The
watcher is a real inotifywait process; its lines are collected by a thread
with their time of arrival.  A swarm service scaled with the CLI is seen on
its `replicas` (at once) and `running` (when its tasks run).

Nothing is learned without a level: on the shared mount (allow_other) a
user with no level on a host sees no event naming its objects, neither in
the host's directories (the kernel never keeps the host's name for all
users, so they cannot be reached through a name another user looked up)
nor in M/containers and M/images, which announce only the hosts that every
local user may see.
"""
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import (IMAGE, Mount, read_text, register_user, unique, unregister_user,
                      wait_until, write_once)

# seconds from the CLI's return to the inotify event: loose, as other modules
# load the machine meanwhile (scripts/test runs them in parallel); the latency
# itself is measured by scripts/bench (p50 about 4 ms, p99 about 12 ms)
WITHIN = 2.5
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.1; done"


class Watch:
    """`inotifywait -m [-r]` on some paths; lines (path, events) with the
    monotonic time they arrived."""

    def __init__(self, paths, recursive=True, user=None):
        cmd = ["inotifywait", "-m", "--format", "%w%f|%e"]
        if recursive:
            cmd.append("-r")
        cmd += list(paths)
        if user is not None:
            cmd = user.argv(*cmd)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = []        # (t, path, set of event names)
        self.cond = threading.Condition()
        self.ready = threading.Event()
        self.established = False
        self.err = []
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()
        if not self.ready.wait(20) or not self.established:
            self.stop()
            raise AssertionError(f"inotifywait did not establish its watches: {self.err}")

    def _err(self):
        for line in self.proc.stderr:
            self.err.append(line.rstrip())
            if "Watches established" in line:
                self.established = True
                self.ready.set()
        self.ready.set()  # it exited: no need to wait longer

    def _out(self):
        for line in self.proc.stdout:
            t = time.monotonic()
            path, _, ev = line.rstrip("\n").rpartition("|")
            with self.cond:
                self.lines.append((t, path.rstrip("/"), set(ev.split(","))))
                self.cond.notify_all()

    def wait(self, path, events, since, timeout=5):
        """The first line at or after `since` (monotonic) for path with one of
        events; returns its arrival time.  Fails after timeout."""
        events = set(events)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, p, ev in self.lines:
                    if p == path and ev & events and t >= since:
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(round(t - since, 3), p, sorted(e)) for t, p, e in self.lines[-15:]]
                    raise AssertionError(f"no {sorted(events)} on {path} within {timeout}s;"
                                         f" last lines: {seen}")
                self.cond.wait(left)

    def naming(self, text):
        """The lines so far whose path contains text."""
        with self.cond:
            return [(p, sorted(e)) for _, p, e in self.lines if text in p]

    def mark(self):
        """The time from which later waits look (anything older is ignored)."""
        return time.monotonic()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def watch():
    made = []

    def start(*paths, recursive=True, user=None):
        # inotifywait -r gives up when an entry it listed is gone before its
        # lstat (inotify-tools' watch_recursively), and names the top path:
        # other modules remove their containers meanwhile.  Try again.
        for attempt in range(5):
            try:
                w = Watch(paths, recursive, user)
                break
            except AssertionError as e:
                if attempt == 4 or "No such file or directory" not in str(e):
                    raise
        made.append(w)
        return w
    yield start
    for w in made:
        w.stop()


def timed(fn, *args):
    """Runs fn(*args); returns the monotonic time at which it returned."""
    fn(*args)
    return time.monotonic()


def within(w, path, events, done):
    """Asserts the event comes at most WITHIN seconds after `done` (the CLI's
    return); it may come before it.  `done` must follow the watch's mark."""
    t = w.wait(path, events, since=done - 30, timeout=5)
    assert t - done <= WITHIN, f"{sorted(events)} on {path} came {t - done:.3f}s after the CLI"
    return t


def test_container_lifecycle(mount, solo, cleanup, watch):
    """IN_CREATE, IN_ATTRIB/IN_MODIFY on state (start, then stop) and IN_DELETE
    for a container made, started, stopped and removed with the docker CLI,
    on the host's containers directory."""
    cdir = mount.p("hosts", "solo", "containers")
    os.listdir(cdir)
    w = watch(cdir)
    name = cleanup.container(solo, unique())
    path = os.path.join(cdir, name)
    state = os.path.join(path, "state")

    t = timed(solo.docker, "create", "--name", name, IMAGE, "sh", "-c", LOOP)
    within(w, path, {"CREATE"}, t)
    # inotifywait -r adds a watch on the new directory itself; wait for it
    # to have looked it up before the next change
    wait_until(lambda: os.path.isdir(path), 2, f"{path} to appear")
    time.sleep(0.2)

    m = w.mark()
    t = timed(solo.docker, "start", name)
    t1 = within(w, state, {"ATTRIB", "MODIFY"}, t)
    assert t1 >= m
    assert open(state).read() == "running\n"

    m = w.mark()
    t = timed(solo.docker, "stop", "-t", "5", name)
    t2 = w.wait(state, {"ATTRIB", "MODIFY"}, since=max(m, t1 + 1e-6), timeout=5)
    assert t2 - t <= WITHIN, f"state after stop came {t2 - t:.3f}s after the CLI"
    assert open(state).read() == "exited\n"

    t = timed(solo.docker, "rm", name)
    within(w, path, {"DELETE"}, t)
    assert name not in os.listdir(cdir)


# Mounts on which every user who can watch may see solo: the fleet views
# announce solo's objects there.
PUBLIC = {"shared, default level viewer": ("allow_other", "default_level=viewer"),
          "private": ("private",)}


@pytest.fixture(scope="module", params=sorted(PUBLIC))
def public_mount(request, fleet, workdir):
    m = Mount(workdir, os.path.join(workdir, f"{unique('pub')}.db"), {"solo": fleet["solo"].url},
              options=PUBLIC[request.param])
    yield m.start_healthy()
    m.stop_ok()


def test_fleet_views_announce_public_hosts(public_mount, solo, cleanup, watch):
    """IN_CREATE and IN_DELETE in M/containers and M/images for a container
    made and removed and an image tagged and untagged with the docker CLI,
    where everyone who can watch may see solo."""
    m = public_mount
    views = m.p("containers"), m.p("images")
    for v in views:
        os.listdir(v)
    w = watch(*views, recursive=False)
    name = cleanup.container(solo, unique())
    link = os.path.join(views[0], f"solo:{name}")
    t = timed(solo.docker, "create", "--name", name, IMAGE, "true")
    within(w, link, {"CREATE"}, t)
    t = timed(solo.docker, "rm", name)
    within(w, link, {"DELETE"}, t)
    ref = f"dockfs-test/{unique('img')}:1"
    cleanup.image_tag(solo, ref)
    link = os.path.join(views[1], "solo:" + ref.replace("%", "%25").replace("/", "%2F"))
    t = timed(solo.docker, "tag", IMAGE, ref)
    within(w, link, {"CREATE"}, t)
    t = timed(solo.docker, "rmi", ref)
    within(w, link, {"DELETE"}, t)


def test_pause_unpause_attrib(mount, solo, cleanup, watch):
    """The other files that follow the state (status) change with it."""
    name = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c", LOOP)
    cdir = mount.p("hosts", "solo", "containers", name)
    wait_until(lambda: os.path.isdir(cdir), 2, f"{cdir} to appear")
    state = os.path.join(cdir, "state")
    wait_until(lambda: open(state).read() == "running\n", 2, f"{name} running in the mount")
    w = watch(cdir, recursive=False)
    for action, want in (("pause", "paused\n"), ("unpause", "running\n")):
        m = w.mark()
        t = timed(solo.docker, action, name)
        # The notice of an earlier change (the start) may still come after
        # the mark: wait for the one after which state reads the new value.
        since = m
        while True:
            ta = w.wait(state, {"ATTRIB", "MODIFY"}, since=since, timeout=5)
            if open(state).read() == want:
                break
            since = ta + 1e-6
        assert ta - t <= WITHIN, f"state after {action}: {ta - t:.3f}s"
        ts = w.wait(os.path.join(cdir, "status"), {"ATTRIB", "MODIFY"}, since=since, timeout=5)
        assert ts - t <= WITHIN, f"status after {action}: {ts - t:.3f}s"


@pytest.mark.parametrize("kind", ["volumes", "networks"])
def test_volume_network_create_remove(mount, solo, cleanup, watch, kind):
    d = mount.p("hosts", "solo", kind)
    os.listdir(d)
    w = watch(d, recursive=False)
    name = unique()
    sub = "volume" if kind == "volumes" else "network"
    (cleanup.volume if kind == "volumes" else cleanup.network)(solo, name)
    t = timed(solo.docker, sub, "create", name)
    within(w, os.path.join(d, name), {"CREATE"}, t)
    t = timed(solo.docker, sub, "rm", name)
    within(w, os.path.join(d, name), {"DELETE"}, t)


def test_image_tag_untag(mount, solo, cleanup, watch):
    d = mount.p("hosts", "solo", "images")
    os.listdir(d)
    w = watch(d, recursive=False)
    ref = f"dockfs-test/{unique('img')}:1"
    cleanup.image_tag(solo, ref)
    fname = ref.replace("%", "%25").replace("/", "%2F")
    t = timed(solo.docker, "tag", IMAGE, ref)
    within(w, os.path.join(d, fname), {"CREATE"}, t)
    t = timed(solo.docker, "rmi", ref)
    within(w, os.path.join(d, fname), {"DELETE"}, t)


def test_host_status_attrib(new_mount, workdir, solo, watch):
    """A host going unhealthy and back gives IN_ATTRIB on its status.  No
    engine is harmed: the extra host `alt` is pointed at a socket nobody
    listens on, then back at solo."""
    m = new_mount(os.path.join(workdir, f"{unique('ino')}.db"),
                  {"solo": solo.url, "alt": solo.url})
    m.wait_healthy()
    hdir = m.p("hosts", "alt")
    status = os.path.join(hdir, "status")
    w = watch(hdir, recursive=False)
    dead = os.path.join(workdir, f"{unique('dead')}.sock")
    mk = w.mark()
    write_once(m.p("hosts", "alt", "url"), f"unix://{dead}\n")
    w.wait(status, {"ATTRIB", "MODIFY"}, since=mk, timeout=5)
    assert m.host_status("alt") == "unhealthy"
    mk = w.mark()
    write_once(m.p("hosts", "alt", "url"), f"{solo.url}\n")
    w.wait(status, {"ATTRIB", "MODIFY"}, since=mk, timeout=5)
    wait_until(lambda: m.host_status("alt") == "healthy", 5, "alt healthy again")
    w.stop()
    m.stop_ok()


def test_host_added_later_brings_creations(new_mount, workdir, solo, cleanup, watch):
    """A mount's starting content comes without IN_CREATE, but a host added
    to a running mount is news: each of its containers is announced in the
    fleet view, though they were made before it was added (on a mount where
    everyone may see every host)."""
    name = cleanup.container(solo, unique("later"))
    solo.docker("create", "--name", name, IMAGE, "true")
    m = new_mount(os.path.join(workdir, f"{unique('ino')}.db"), {"solo": solo.url},
                  options=("allow_other", "default_level=viewer"))
    m.wait_healthy()
    view = m.p("containers")
    assert f"solo:{name}" in os.listdir(view)
    w = watch(view, recursive=False)
    mk = w.mark()
    host = unique("h")
    os.mkdir(m.p("hosts", host))
    write_once(m.p("hosts", host, "url"), f"{solo.url}\n")
    w.wait(os.path.join(view, f"{host}:{name}"), {"CREATE"}, since=mk, timeout=10)
    w.stop()
    m.stop_ok()


def test_many_containers_each_seen(mount, solo, cleanup, watch):
    """A burst of creations and removals: every one of them is announced."""
    cdir = mount.p("hosts", "solo", "containers")
    os.listdir(cdir)
    w = watch(cdir, recursive=False)
    names = [cleanup.container(solo, unique()) for _ in range(10)]
    m = w.mark()
    for n in names:
        solo.docker("create", "--name", n, IMAGE, "true")
    t = time.monotonic()
    # (a container removed before dockfs could inspect it was never in the
    # tree, and nothing is announced of it: each is seen before it goes)
    created = {n: w.wait(os.path.join(cdir, n), {"CREATE"}, since=m, timeout=5) for n in names}
    assert max(created.values()) - t <= WITHIN
    solo.docker("rm", *names)
    t = time.monotonic()
    for n in names:
        td = w.wait(os.path.join(cdir, n), {"DELETE"}, since=m, timeout=5)
        assert created[n] <= td
        assert td - t <= WITHIN


# ---- examples/wait-for-exit.sh ---------------------------------------------------

def test_example_wait_for_exit(mount, solo, cleanup):
    """examples/wait-for-exit.sh returns within a second of `docker stop`,
    with the exit code; times out on a container that keeps running; says
    when the container is removed."""
    from conftest import ROOT
    script = os.path.join(ROOT, "examples", "wait-for-exit.sh")
    env = dict(os.environ, DOCKFS=mount.path)
    name = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c", LOOP)
    wait_until(lambda: os.path.isdir(mount.p("hosts", "solo", "containers", name)), 2,
               f"{name} in the mount")
    p = subprocess.Popen([script, "solo", name], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        assert p.poll() is None, f"returned before the stop: {p.communicate()}"
        solo.docker("stop", "-t", "5", name)
        t = time.monotonic()
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"wait-for-exit.sh still waiting 10 s after the stop; state reads "
                f"{read_text(mount.p('hosts', 'solo', 'containers', name, 'state'))!r}, "
                f"docker says {solo.state(name)}\n{mount.log_text()[-3000:]}"
                f"{mount.threads_text()}") from None
        assert time.monotonic() - t <= WITHIN + 0.5, "wait-for-exit.sh took too long"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert p.returncode == 0, err
    assert out == f"solo:{name} exited 0\n"
    # already stopped: at once
    r = subprocess.run([script, "solo", name], env=env, capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0 and r.stdout == f"solo:{name} exited 0\n"
    # a timeout on a running one
    solo.docker("start", name)
    wait_until(lambda: open(mount.p("hosts", "solo", "containers", name, "state")).read()
               == "running\n", 3, f"{name} running again")
    r = subprocess.run([script, "-t", "1", "solo", name], env=env, capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 3, r
    # removed while waited for
    p = subprocess.Popen([script, "solo", name], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        solo.docker("rm", "-f", name)
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert p.returncode in (0, 1), (p.returncode, out, err)   # killed: it may see `exited` first
    r = subprocess.run([script, "solo", name], env=env, capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 2


def test_service_scaled_with_the_cli(mount, mgr, watch):
    """`docker service scale` elsewhere: IN_ATTRIB/IN_MODIFY on the service's
    `replicas` within a second of the CLI's return, and on `running` within a
    second of the engine reporting the new task running."""
    sid = mgr.out("info", "--format", "{{.Swarm.Cluster.ID}}")
    swarm = wait_until(lambda: next((mount.p("swarms", n) for n in os.listdir(mount.p("swarms"))
                                     if read_text(mount.p("swarms", n, "id")).strip() == sid),
                                    None), 15, "the fleet swarm under M/swarms")
    name = unique("scale")
    try:
        mgr.docker("service", "create", "-d", "--name", name, "--replicas", "1",
                   "--no-resolve-image", "--stop-grace-period", "1s", IMAGE, "sleep", "600")
        sdir = os.path.join(swarm, "services", name)
        running = os.path.join(sdir, "running")
        wait_until(lambda: os.path.isdir(sdir) and read_text(running).startswith("1"), 60,
                   f"{name} running 1 task in the mount")
        replicas = os.path.join(sdir, "replicas")
        w = watch(sdir, recursive=False)
        t = timed(mgr.docker, "service", "scale", "-d", f"{name}=2")
        t_replicas = within(w, replicas, {"ATTRIB", "MODIFY"}, t)
        assert read_text(replicas) == "2\n"
        # the engine's own count, polled: its change is the reference (the
        # touch of `running` for the desired count came with `replicas`)
        t_engine = wait_until(lambda: mgr.out("service", "ls", "--filter", f"name={name}",
                                              "--format", "{{.Replicas}}") == "2/2"
                              and time.monotonic(), 60, f"{name} at 2/2")
        t_run = w.wait(running, {"ATTRIB", "MODIFY"}, since=max(t_replicas + 0.01, t_engine - 1))
        assert t_run - t_engine <= WITHIN, f"`running` touched {t_run - t_engine:.3f}s late"
        assert read_text(running).startswith("2")
    finally:
        mgr.docker("service", "rm", name, check=False)


# ---- nothing is learned without a level -------------------------------------------

@pytest.fixture(scope="module")
def nolevel(mount, unix_users):
    """A system user that dockfs knows with no level anywhere (as the
    default level gives no level to those it does not know)."""
    u = register_user(mount, unix_users.make("nolv"))
    yield u
    unregister_user(mount, u)


def mtime_as(user, path):
    p = user.run("/usr/bin/python3", "-I", "-c",
                 "import os, sys; print(os.stat(sys.argv[1]).st_mtime_ns)", path)
    assert p.returncode == 0, p.stderr
    return int(p.stdout)


def test_no_level_no_events(mount, solo, cleanup, watch, nolevel):
    """A user with no level on solo watching M/containers, M/images and
    M/hosts (recursively) sees no event naming a container made and removed
    on solo with the docker CLI, while root's watch of solo's containers
    does; the mtime of M/containers it is shown does not move either."""
    cdir = mount.p("hosts", "solo", "containers")
    views = mount.p("containers"), mount.p("images")
    os.listdir(cdir)
    for v in views:
        os.listdir(v)
    before = mtime_as(nolevel, views[0])
    theirs = watch(mount.p("hosts"), *views, user=nolevel)
    mine = watch(cdir, *views, recursive=False)
    name = cleanup.container(solo, unique("nolv"))
    m = mine.mark()
    solo.docker("create", "--name", name, IMAGE, "true")
    mine.wait(os.path.join(cdir, name), {"CREATE"}, since=m)
    assert mtime_as(nolevel, views[0]) == before
    solo.docker("rm", name)
    mine.wait(os.path.join(cdir, name), {"DELETE"}, since=m)
    time.sleep(0.5)     # what the notifier may still have queued
    assert theirs.naming(name) == [], theirs.naming(name)
    assert theirs.naming("solo") == [], theirs.naming("solo")
    # no watcher may see solo: the views announce nothing of it to anyone
    assert mine.naming(f"solo:{name}") == [], mine.naming(f"solo:{name}")


# As the user: each path in turn, many times while root keeps looking the
# same paths up, must be ENOENT for stat, listdir, open and inotify.
REACH_SCRIPT = r'''
import ctypes, errno, json, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
reached = []
for _ in range(int(sys.argv[1])):
    for path in sys.argv[2:]:
        for how in ("stat", "listdir", "open", "inotify"):
            try:
                if how == "stat":
                    os.stat(path)
                elif how == "listdir":
                    os.listdir(path)
                elif how == "open":
                    os.close(os.open(path, os.O_RDONLY))
                else:
                    if libc.inotify_add_watch(fd, path.encode(), 0x100 | 0x200 | 0x4) < 0:
                        raise OSError(ctypes.get_errno(), "inotify_add_watch")
                reached.append([how, path])
            except OSError as e:
                if e.errno != errno.ENOENT:
                    reached.append([how, path, e.errno])
    time.sleep(0.01)
print(json.dumps(reached))
'''


def test_no_level_no_reach_through_the_cache(mount, solo, cleanup, nolevel):
    """Right after root looked hosts/solo/... up (and while it keeps doing
    so), a user with no level on solo cannot stat, list, open or watch
    anything there, nor the view's link to a solo container: the kernel
    asks dockfs, as that user, for each such name."""
    name = cleanup.container(solo, unique("reach"))
    solo.docker("create", "--name", name, IMAGE, "true")
    paths = [mount.p("hosts", "solo"), mount.p("hosts", "solo", "containers"),
             mount.p("hosts", "solo", "containers", name),
             mount.p("hosts", "solo", "containers", name, "state"),
             mount.p("containers", f"solo:{name}")]
    wait_until(lambda: os.path.isdir(paths[2]), 5, f"{name} in the mount")
    stop = threading.Event()

    def keep_looking():
        while not stop.is_set():
            for p in paths:
                try:
                    os.stat(p)
                    if os.path.isdir(p):
                        os.listdir(p)
                except OSError:
                    pass
            time.sleep(0.005)
    t = threading.Thread(target=keep_looking, daemon=True)
    t.start()
    try:
        time.sleep(0.1)
        p = nolevel.run("/usr/bin/python3", "-I", "-c", REACH_SCRIPT, "20", *paths,
                        timeout=60)
    finally:
        stop.set()
        t.join(5)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == [], p.stdout
    # and root still reaches them all
    for q in paths:
        os.stat(q)
