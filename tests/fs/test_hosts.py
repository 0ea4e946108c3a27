"""M/hosts/<host>/: the engine's own facts (type, version, info.json, status)."""
import errno
import json
import os

import pytest

from conftest import ENGINES, check_all_sizes, read_text

EXPECTED_TYPE = {"mgr": "swarm_manager", "wrk": "swarm_worker", "solo": "standalone"}
HOST_FILES = ("url", "type", "status", "description", "default", "version", "info.json")
HOST_DIRS = ("containers", "images", "networks", "volumes", "permissions")
# Contents that change by themselves (info.json: SystemTime, NGoroutines...
# refreshed by every health check): a size check of them is retried with
# fresh attributes, since content and size may be taken a moment apart.
TIME_VARYING = {"info.json"}


def test_hosts_listed(mount):
    assert set(ENGINES) <= set(os.listdir(mount.p("hosts")))


def test_root_listing(mount):
    assert {"hosts", "containers", "images"} <= set(os.listdir(mount.path))


@pytest.mark.parametrize("host", ENGINES)
def test_host_dir_listing(mount, host):
    names = set(os.listdir(mount.p("hosts", host)))
    assert set(HOST_FILES) | set(HOST_DIRS) <= names
    for d in HOST_DIRS:
        assert os.path.isdir(mount.p("hosts", host, d))
    for f in HOST_FILES:
        assert os.path.isfile(mount.p("hosts", host, f))


@pytest.mark.parametrize("host", ENGINES)
def test_host_type(mount, host):
    assert read_text(mount.p("hosts", host, "type")) == EXPECTED_TYPE[host] + "\n"


@pytest.mark.parametrize("host", ENGINES)
def test_host_status_healthy(mount, host):
    # healthy: one line, no error line
    assert read_text(mount.p("hosts", host, "status")) == "healthy\n"


@pytest.mark.parametrize("host", ENGINES)
def test_host_url(mount, fleet, host):
    assert read_text(mount.p("hosts", host, "url")) == fleet[host].url + "\n"


@pytest.mark.parametrize("host", ENGINES)
def test_host_version(mount, fleet, host):
    want = fleet[host].out("version", "--format", "{{.Server.Version}}")
    assert want
    assert read_text(mount.p("hosts", host, "version")) == want + "\n"


@pytest.mark.parametrize("host", ENGINES)
def test_host_info_json(mount, fleet, host):
    info = json.loads(read_text(mount.p("hosts", host, "info.json")))
    assert isinstance(info, dict)
    want_id = fleet[host].out("info", "--format", "{{.ID}}")
    assert want_id
    assert info.get("ID") == want_id
    # and it is this engine's: its own hostname (each engine has its own UTS ns)
    assert info.get("Name") == fleet[host].out("info", "--format", "{{.Name}}")


def test_engines_told_apart(mount):
    ids = {h: json.loads(read_text(mount.p("hosts", h, "info.json")))["ID"] for h in ENGINES}
    assert len(set(ids.values())) == len(ENGINES), ids


@pytest.mark.parametrize("host", ENGINES)
def test_host_file_sizes(mount, host):
    names = [n for n in os.listdir(mount.p("hosts", host)) if n not in HOST_DIRS]
    assert set(HOST_FILES) <= set(names)
    check_all_sizes([(mount.p("hosts", host, n), n, TIME_VARYING) for n in sorted(names)])


@pytest.mark.parametrize("host", ENGINES)
def test_host_file_trailing_newline(mount, host):
    """Scalar files hold one value and a newline."""
    for n in ("url", "type", "version", "default"):
        text = read_text(mount.p("hosts", host, n))
        assert text.endswith("\n") and text.count("\n") == 1, (n, text)


# ---- the url binds a host to its engine -------------------------------------

def test_host_admin_cannot_change_url(mount, solo, people):
    """A host's admin holds root on its engine; moving the host to another
    engine would give it that one too (and send the host's credentials
    there): only a global admin may."""
    from conftest import audit_marker, audit_rows, errno_matches
    url = mount.p("hosts", "solo", "url")
    marker = audit_marker(mount)
    people["hostadm"].write(url, "unix:///run/dockfs-fleet/mgr/docker.sock\n") \
        .expect_errno(errno.EACCES)
    assert read_text(url) == solo.url + "\n"
    assert read_text(mount.p("hosts", "solo", "status")) == "healthy\n"
    err = people["hostadm"].read(mount.p("hosts", "solo", "error")).expect_ok().data
    assert "global admin" in err, err
    rows = [r for r in audit_rows(mount, marker) if r["user"] == people["hostadm"].name]
    assert rows and rows[-1]["outcome"] == "denied", rows
    assert rows[-1]["host"] == "solo" and errno_matches(rows[-1]["errno"], errno.EACCES), rows
    # a global admin may (the same url: nothing changes)
    people["gadmin"].write(url, solo.url + "\n").expect_ok()
    mount.wait_healthy(["solo"])


@pytest.mark.parametrize("private", [False, True], ids=["shared", "private"])
def test_url_change_drops_the_old_engine_at_once(workdir, new_mount, solo, wrk, cleanup,
                                                 private):
    """The old engine's containers, objects and facts leave with its url: the
    listing right after the write shows none of them."""
    from conftest import IMAGE, unique, wait_until
    name = cleanup.container(solo, unique("old"))
    solo.docker("create", "--name", name, IMAGE, "true")
    db = os.path.join(workdir, unique("url") + ".db")
    m = new_mount(db, {"x": solo.url}, options=("private",) if private else ())
    m.wait_healthy()
    cdir = m.p("hosts", "x", "containers")
    wait_until(lambda: name in os.listdir(cdir), 10, f"{name} listed")
    assert read_text(m.p("hosts", "x", "type")) == "standalone\n"

    with open(m.p("hosts", "x", "url"), "w") as f:
        f.write(wrk.url + "\n")
    # right after the write: nothing of solo's
    assert name not in os.listdir(cdir)
    assert not os.path.exists(os.path.join(cdir, name))
    assert f"x:{name}" not in os.listdir(m.p("containers"))
    assert read_text(m.p("hosts", "x", "type")) in ("unknown\n", "swarm_worker\n")
    # then wrk's
    wait_until(lambda: read_text(m.p("hosts", "x", "type")) == "swarm_worker\n", 10,
               "x to be the worker")
    m.wait_healthy()
    assert name not in os.listdir(cdir)
    assert "ingress" in os.listdir(m.p("hosts", "x", "networks"))   # the worker's swarm
    m.stop_ok()
