"""M/hosts/<host>/containers/: listing, scalars, inspect.json, logs, stats,
lookups by id, sizes and mtimes, against the engines' own answers."""
import json
import os
import subprocess
import time

import pytest

from conftest import (objects, ENGINES, IMAGE, bracketed, check_all_sizes, eventually,
                      parse_rfc3339_ns, read_text, unique, wait_until)

APPEAR = 1.0          # a created container is in `ls` within this (seconds)
SETUP = 5.0           # a listing a test needs first: other modules load the machine
CONTAINER_FILES = ("id", "name", "image", "state", "status", "health", "created", "exit_code",
                   "pid", "ports", "inspect.json", "logs", "stats.json")
# `status` is "Up 3 seconds", "Exited (3) 2 seconds ago": it changes with time.
TIME_VARYING = {"status"}


def cdir(mount, host, name, *rest):
    return mount.p("hosts", host, "containers", name, *rest)


def wait_listed(mount, host, name, timeout=SETUP):
    path = mount.p("hosts", host, "containers")
    wait_until(lambda: name in os.listdir(path), timeout,
               f"{name} in ls {path}")


def wait_unlisted(mount, host, name, timeout=SETUP):
    path = mount.p("hosts", host, "containers")
    wait_until(lambda: name not in os.listdir(path), timeout,
               f"{name} gone from ls {path}")


@pytest.fixture(scope="module")
def sample(mount, solo, module_cleanup):
    """Containers on solo in three states, listed in the mount:
    run (running, labelled, printed to stdout and stderr), done (exited 3),
    new (created), tty (running with a tty, printed a line)."""
    s = {k: module_cleanup.container(solo, unique()) for k in ("run", "done", "new", "tty")}
    solo.docker("run", "-d", "--name", s["run"], "--label", "app=dockfs-test",
                "--label", "tier=back end", IMAGE,
                "sh", "-c", "echo line-one; echo line-two >&2; exec sleep 600")
    r = solo.docker("run", "--name", s["done"], IMAGE, "sh", "-c", "echo done-line; exit 3",
                    check=False)
    assert r.returncode == 3, r.stderr
    solo.docker("create", "--name", s["new"], IMAGE, "true")
    solo.docker("run", "-d", "-t", "--name", s["tty"], IMAGE,
                "sh", "-c", "echo tty-line; exec sleep 600")
    # the printed lines are in the engine's logs before we look at ours
    wait_until(lambda: "line-two" in solo.docker("logs", s["run"]).stderr, 5,
               "line-two in docker logs")
    wait_until(lambda: "tty-line" in solo.docker("logs", s["tty"]).stdout, 5,
               "tty-line in docker logs")
    for name in s.values():
        wait_listed(mount, "solo", name, timeout=5)
    return s


# ---- listing ----------------------------------------------------------------

def same_as_docker_ps(mount, engine, host):
    """The listing is `docker ps -a` taken just before and just after it:
    other modules make and remove containers on the same engines meanwhile,
    so a name in only one of the two may be in the listing or not."""
    return bracketed(lambda: objects(mount.p("hosts", host, "containers")),
                     engine.container_names)


@pytest.mark.parametrize("host", ENGINES)
def test_names_equal_docker_ps(mount, fleet, cleanup, host):
    engine = fleet[host]
    made = [cleanup.container(engine, unique()) for _ in range(2)]
    for name in made:
        engine.docker("create", "--name", name, IMAGE, "true")

    got = eventually(lambda: same_as_docker_ps(mount, engine, host), 5)
    assert set(made) <= got


@pytest.fixture
def global_service(mgr, wrk):
    """A global swarm service: one task container on mgr and one on wrk."""
    name = unique()
    label = f"com.docker.swarm.service.name={name}"
    mgr.docker("service", "create", "-d", "--name", name, "--mode", "global",
               "--no-resolve-image", "--stop-grace-period", "1s", IMAGE, "sleep", "600")
    try:
        for e in (mgr, wrk):
            wait_until(lambda: e.out("ps", "-q", "--filter", f"label={label}"), 20,
                       f"a task of {name} running on {e.name}")
        yield name
    finally:
        mgr.docker("service", "rm", name, check=False)
        for e in (mgr, wrk):
            ids = e.out("ps", "-aq", "--filter", f"label={label}").split()
            if ids:
                e.docker("rm", "-f", *ids, check=False)
            wait_until(lambda: not e.out("ps", "-aq", "--filter", f"label={label}"), 20,
                       f"the tasks of {name} gone from {e.name}")


@pytest.mark.parametrize("host", ["mgr", "wrk"])
def test_names_equal_docker_ps_with_swarm_tasks(mount, fleet, global_service, host):
    engine = fleet[host]
    tasks = set(engine.out("ps", "-a", "--format", "{{.Names}}", "--filter",
                           f"label=com.docker.swarm.service.name={global_service}").split())
    assert tasks

    eventually(lambda: same_as_docker_ps(mount, engine, host), 5)
    for t in tasks:
        assert read_text(cdir(mount, host, t, "name")) == t + "\n"
        assert read_text(cdir(mount, host, t, "labels", "com.docker.swarm.service.name")) == \
            global_service + "\n"


def test_created_appears_within_1s(mount, solo, cleanup):
    name = cleanup.container(solo, unique())
    solo.docker("create", "--name", name, IMAGE, "true")
    t0 = time.monotonic()
    wait_listed(mount, "solo", name)
    assert time.monotonic() - t0 <= APPEAR


def test_removed_disappears_within_1s(mount, solo, cleanup):
    name = cleanup.container(solo, unique())
    solo.docker("create", "--name", name, IMAGE, "true")
    wait_listed(mount, "solo", name)
    solo.docker("rm", name)
    t0 = time.monotonic()
    wait_unlisted(mount, "solo", name)
    assert time.monotonic() - t0 <= APPEAR
    # and the name no longer resolves (after the kernel's entry cache, 0.5 s)
    eventually(lambda: assert_enoent(cdir(mount, "solo", name)), 1)


def assert_enoent(path):
    try:
        os.stat(path)
    except FileNotFoundError:
        return
    raise AssertionError(f"{path} still exists")


def test_rename_visible(mount, solo, cleanup):
    old, new = unique(), unique()
    cleanup.container(solo, old)
    cleanup.container(solo, new)
    solo.docker("create", "--name", old, IMAGE, "true")
    wait_listed(mount, "solo", old)
    solo.docker("rename", old, new)
    t0 = time.monotonic()

    def renamed():
        names = os.listdir(mount.p("hosts", "solo", "containers"))
        assert new in names and old not in names, sorted(names)
    eventually(renamed, APPEAR)
    assert time.monotonic() - t0 <= APPEAR
    assert read_text(cdir(mount, "solo", new, "name")) == new + "\n"
    # the old name stops resolving (after the kernel's entry cache, 0.5 s)
    eventually(lambda: assert_enoent(cdir(mount, "solo", old)), 1)


def test_container_dir_listing(mount, sample):
    names = set(os.listdir(cdir(mount, "solo", sample["run"])))
    assert set(CONTAINER_FILES) | {"labels"} <= names


# ---- scalars and inspect.json ----------------------------------------------

@pytest.mark.parametrize("kind", ["run", "done", "new", "tty"])
def test_scalars_equal_docker_inspect(mount, solo, sample, kind):
    name = sample[kind]
    want = json.loads(solo.out("inspect", name))[0]

    def same():
        assert read_text(cdir(mount, "solo", name, "id")) == want["Id"] + "\n"
        assert read_text(cdir(mount, "solo", name, "name")) == name + "\n"
        assert read_text(cdir(mount, "solo", name, "image")) == want["Config"]["Image"] + "\n"
        assert read_text(cdir(mount, "solo", name, "state")) == want["State"]["Status"] + "\n"
        assert read_text(cdir(mount, "solo", name, "exit_code")) == \
            f"{want['State']['ExitCode']}\n"
        assert read_text(cdir(mount, "solo", name, "pid")) == f"{want['State']['Pid']}\n"
    eventually(same, 1)


def test_state_values(mount, sample):
    """The sample's states as Docker names them."""
    want = {"run": "running", "done": "exited", "new": "created", "tty": "running"}
    for kind, state in want.items():
        assert read_text(cdir(mount, "solo", sample[kind], "state")) == state + "\n"
    assert read_text(cdir(mount, "solo", sample["done"], "exit_code")) == "3\n"


def test_created_equals_docker(mount, solo, sample):
    for name in sample.values():
        want = solo.inspect(name, "{{.Created}}")
        # the same instant; the text is Docker's RFC 3339 time
        got = read_text(cdir(mount, "solo", name, "created"))
        assert got.endswith("\n") and got.count("\n") == 1, got
        assert parse_rfc3339_ns(got) == parse_rfc3339_ns(want), (got, want)


@pytest.mark.parametrize("kind", ["done", "new"])
def test_inspect_json_equals_api_stopped(mount, solo, sample, kind):
    name = sample[kind]
    cid = solo.inspect(name, "{{.Id}}")
    status, want = solo.api(f"/containers/{cid}/json")
    assert status == 200
    got = json.loads(read_text(cdir(mount, "solo", name, "inspect.json")))
    assert got == want


def test_inspect_json_equals_api_running(mount, solo, sample):
    name = sample["run"]
    cid = solo.inspect(name, "{{.Id}}")
    status, want = solo.api(f"/containers/{cid}/json")
    assert status == 200
    got = json.loads(read_text(cdir(mount, "solo", name, "inspect.json")))
    # a running container's State may change between two calls (health,
    # OOM...); everything else is the same object
    for j in (got, want):
        j.pop("State")
    assert got == want


def test_inspect_json_is_pretty_with_newline(mount, sample):
    text = read_text(cdir(mount, "solo", sample["new"], "inspect.json"))
    assert text.endswith("}\n")
    assert "\n  \"Id\"" in text or "\n    \"Id\"" in text, text[:200]


def test_labels(mount, solo, sample):
    d = cdir(mount, "solo", sample["run"], "labels")
    labels = json.loads(solo.inspect(sample["run"], "{{json .Config.Labels}}"))
    assert set(os.listdir(d)) == set(labels)
    for k, v in labels.items():
        assert read_text(os.path.join(d, k)) == v + "\n"


# ---- ids ----------------------------------------------------------------

def shortest_unique_prefix(cid, ids):
    for n in range(4, len(cid) + 1):
        if sum(1 for i in ids if i.startswith(cid[:n])) == 1:
            return cid[:n]
    return cid


def test_lookup_by_full_and_short_id(mount, solo, sample):
    name = sample["run"]
    cid = solo.inspect(name, "{{.Id}}")
    short = shortest_unique_prefix(cid, solo.container_ids())
    for key in (cid, cid[:12], short):
        assert read_text(cdir(mount, "solo", key, "id")) == cid + "\n", key
        assert read_text(cdir(mount, "solo", key, "name")) == name + "\n", key
        assert os.path.isdir(cdir(mount, "solo", key))
    # ls shows names, not ids
    assert cid not in os.listdir(mount.p("hosts", "solo", "containers"))


def test_lookup_by_too_short_or_bad_id(mount, solo, sample):
    cid = solo.inspect(sample["run"], "{{.Id}}")
    for key in (cid[:3], cid[:11] + "x", "zzzz" + cid[4:12]):
        with pytest.raises(FileNotFoundError):
            os.stat(cdir(mount, "solo", key))


# ---- live files ---------------------------------------------------------

def test_logs_contain_lines(mount, sample):
    logs = read_text(cdir(mount, "solo", sample["run"], "logs"))
    assert "line-one\n" in logs       # stdout
    assert "line-two\n" in logs       # stderr
    assert "\x01\x00\x00\x00" not in logs and "\x02\x00\x00\x00" not in logs, \
        "stream headers left in the logs"
    assert "done-line\n" in read_text(cdir(mount, "solo", sample["done"], "logs"))


def test_logs_tty(mount, sample):
    assert "tty-line" in read_text(cdir(mount, "solo", sample["tty"], "logs"))


def test_logs_equal_docker_logs(mount, solo, sample):
    name = sample["done"]
    r = solo.docker("logs", name)
    assert read_text(cdir(mount, "solo", name, "logs")) == r.stdout + r.stderr


def test_stats_json_parses(mount, solo, sample):
    cid = solo.inspect(sample["run"], "{{.Id}}")
    stats = json.loads(read_text(cdir(mount, "solo", sample["run"], "stats.json")))
    assert isinstance(stats, dict)
    assert stats.get("id") == cid
    assert "memory_stats" in stats and "cpu_stats" in stats
    # and of a stopped container too (the engine answers zeros)
    json.loads(read_text(cdir(mount, "solo", sample["done"], "stats.json")))


# ---- sizes and times -----------------------------------------------------

@pytest.mark.parametrize("kind", ["run", "done", "new", "tty"])
def test_file_sizes_exact(mount, sample, kind):
    d = cdir(mount, "solo", sample[kind])
    names = sorted(n for n in os.listdir(d) if n != "labels")
    assert set(CONTAINER_FILES) <= set(names)
    paths = [(os.path.join(d, n), n, TIME_VARYING) for n in names]
    paths += [(os.path.join(d, "labels", n), n, ()) for n in os.listdir(os.path.join(d, "labels"))]
    check_all_sizes(paths)


def test_live_file_sizes_first_open(mount, solo, cleanup):
    """A live file opened for the first time: st_size through the open
    file is already the content's (programs that trust st_size read it all)."""
    name = cleanup.container(solo, unique())
    solo.docker("run", "--name", name, IMAGE, "sh", "-c", "echo hello-size")
    wait_listed(mount, "solo", name)
    check_all_sizes([(cdir(mount, "solo", name, n), n, ()) for n in
                     ("inspect.json", "logs", "stats.json")])


def test_stat_programs_read_whole_file(mount, sample):
    """A program that reads exactly st_size bytes gets the whole content."""
    path = cdir(mount, "solo", sample["run"], "inspect.json")
    r = subprocess.run(["sh", "-c", 'head -c "$(stat -c %s "$1")" "$1"', "sh", path],
                       capture_output=True, timeout=10)
    assert r.returncode == 0, r.stderr
    json.loads(r.stdout)


def test_dir_mtime_at_or_after_created(mount, solo, sample):
    now = time.time_ns()
    for name in sample.values():
        created = parse_rfc3339_ns(solo.inspect(name, "{{.Created}}"))

        def check():
            mtime = os.stat(cdir(mount, "solo", name)).st_mtime_ns
            assert mtime >= created, f"{name}: mtime {mtime} before Created {created}"
            assert mtime <= now + 2 * 10**9, f"{name}: mtime {mtime} in the future"
        eventually(check, 1)


def test_containers_dir_mtime_advances(mount, solo, cleanup):
    """hosts/H/containers/ changes its mtime when an entry comes or goes."""
    d = mount.p("hosts", "solo", "containers")
    name = cleanup.container(solo, unique())
    t0 = time.time_ns()
    solo.docker("create", "--name", name, IMAGE, "true")
    wait_listed(mount, "solo", name)

    def newer_than(t):
        m = os.stat(d).st_mtime_ns
        assert m >= t, f"containers/ mtime {m} not after the change at {t}"
    eventually(lambda: newer_than(t0), 1)
    t1 = time.time_ns()
    solo.docker("rm", name)
    wait_unlisted(mount, "solo", name)
    eventually(lambda: newer_than(t1), 1)


def test_find_newer(mount, solo, cleanup):
    """A container created later has a newer mtime: find -newer means it."""
    older, newer = unique(), unique()
    cleanup.container(solo, older)
    cleanup.container(solo, newer)
    solo.docker("create", "--name", older, IMAGE, "true")
    # Docker's list API gives Created in whole seconds: be a second apart
    time.sleep(1.05)
    solo.docker("create", "--name", newer, IMAGE, "true")
    wait_listed(mount, "solo", older)
    wait_listed(mount, "solo", newer)
    base = mount.p("hosts", "solo", "containers")

    def check():
        r = subprocess.run(["find", base, "-mindepth", "1", "-maxdepth", "1", "-newer",
                            os.path.join(base, older), "(", "-name", older, "-o", "-name",
                            newer, ")", "-printf", "%f\n"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [newer]
        a = os.stat(os.path.join(base, older)).st_mtime_ns
        b = os.stat(os.path.join(base, newer)).st_mtime_ns
        assert b > a
    eventually(check, 1)
