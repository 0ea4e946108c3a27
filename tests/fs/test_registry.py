"""The host registry: mkdir/rmdir hosts/X, url writes, persistence in --db."""
import errno
import os

import pytest

from conftest import first_line, read_text, unique, wait_until


def write(path, data):
    """One write(2) of data, as `echo data > path` does; raises OSError."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)


@pytest.fixture
def scratch_host(mount):
    """A host name for this test, rmdir'ed at the end if still there."""
    name = unique()
    yield name
    path = mount.p("hosts", name)
    if os.path.isdir(path):
        os.rmdir(path)


def test_mkdir_rmdir_host(mount, scratch_host):
    path = mount.p("hosts", scratch_host)
    os.mkdir(path)
    assert scratch_host in os.listdir(mount.p("hosts"))
    assert os.path.isdir(path)
    # no url yet: pending, with the reason on line 2
    lines = read_text(os.path.join(path, "status")).splitlines()
    assert lines[0] == "pending"
    assert len(lines) == 2 and lines[1], lines
    assert read_text(os.path.join(path, "url")) == "\n"
    with pytest.raises(FileExistsError):
        os.mkdir(path)
    os.rmdir(path)
    assert scratch_host not in os.listdir(mount.p("hosts"))
    with pytest.raises(FileNotFoundError):
        os.stat(path)
    with pytest.raises(FileNotFoundError):
        os.rmdir(path)


def test_mkdir_host_then_url_connects(mount, solo, scratch_host):
    path = mount.p("hosts", scratch_host)
    os.mkdir(path)
    write(os.path.join(path, "url"), solo.url + "\n")
    assert read_text(os.path.join(path, "url")) == solo.url + "\n"
    wait_until(lambda: first_line(os.path.join(path, "status")) == "healthy", 5,
               f"{scratch_host} healthy")
    assert read_text(os.path.join(path, "type")) == "standalone\n"
    assert set(solo.container_names()) <= set(os.listdir(os.path.join(path, "containers")))
    os.rmdir(path)
    assert scratch_host not in os.listdir(mount.p("hosts"))


@pytest.mark.parametrize("bad", ["a b", ".x", "-x", "a:b", "x" * 65])
def test_mkdir_bad_host_name(mount, bad):
    with pytest.raises(OSError) as e:
        os.mkdir(mount.p("hosts", bad))
    assert e.value.errno == errno.EINVAL, e.value
    assert bad not in os.listdir(mount.p("hosts"))


@pytest.mark.parametrize("bad", ["not a url", "http://example.com", "unix://relative/path",
                                 "unix://", "tcp://", "ftp://x"])
def test_write_bad_url(mount, scratch_host, bad):
    path = mount.p("hosts", scratch_host)
    os.mkdir(path)
    with pytest.raises(OSError) as e:
        write(os.path.join(path, "url"), bad + "\n")
    assert e.value.errno == errno.EINVAL, e.value
    assert read_text(os.path.join(path, "url")) == "\n"
    assert first_line(os.path.join(path, "status")) == "pending"


def test_write_bad_url_keeps_good_one(mount, solo, scratch_host):
    path = mount.p("hosts", scratch_host)
    os.mkdir(path)
    write(os.path.join(path, "url"), solo.url + "\n")
    with pytest.raises(OSError) as e:
        write(os.path.join(path, "url"), "bogus\n")
    assert e.value.errno == errno.EINVAL
    assert read_text(os.path.join(path, "url")) == solo.url + "\n"


def test_registry_persists_across_remount(workdir, new_mount, solo, wrk):
    db = os.path.join(workdir, unique("registry") + ".db")
    kept, pending = unique(), unique()

    m = new_mount(db, {"solo": solo.url})
    m.wait_healthy()
    os.mkdir(m.p("hosts", kept))
    write(m.p("hosts", kept, "url"), wrk.url + "\n")
    os.mkdir(m.p("hosts", pending))          # never given a url: memory only
    assert {kept, pending, "solo"} <= set(os.listdir(m.p("hosts")))
    m.stop_ok()

    # the same registry, without --host for it: still there with its url
    m = new_mount(db, {"solo": solo.url})
    hosts = set(os.listdir(m.p("hosts")))
    assert kept in hosts and "solo" in hosts
    assert pending not in hosts
    assert read_text(m.p("hosts", kept, "url")) == wrk.url + "\n"
    m.wait_healthy([kept, "solo"])
    assert read_text(m.p("hosts", kept, "type")) == "swarm_worker\n"
    # rmdir forgets it for good
    os.rmdir(m.p("hosts", kept))
    m.stop_ok()

    m = new_mount(db, {"solo": solo.url})
    assert kept not in os.listdir(m.p("hosts"))
    m.stop_ok()


def test_url_change_persists(workdir, new_mount, solo, wrk):
    db = os.path.join(workdir, unique("registry") + ".db")
    m = new_mount(db, {"x": solo.url})
    m.wait_healthy()
    write(m.p("hosts", "x", "url"), wrk.url + "\n")
    wait_until(lambda: read_text(m.p("hosts", "x", "type")) == "swarm_worker\n", 5,
               "x to be the worker after the url change")
    m.stop_ok()
    m = new_mount(db, {})
    assert read_text(m.p("hosts", "x", "url")) == wrk.url + "\n"
    m.stop_ok()
