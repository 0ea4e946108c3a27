"""errno conventions: unknown paths ENOENT, writing read-only files EACCES,
reading directories EISDIR."""
import errno
import os
import subprocess

import pytest

from conftest import IMAGE, unique, wait_until


@pytest.fixture(scope="module")
def ctr(mount, solo, module_cleanup):
    name = module_cleanup.container(solo, unique())
    solo.docker("create", "--name", name, IMAGE, "true")
    path = mount.p("hosts", "solo", "containers")
    wait_until(lambda: name in os.listdir(path), 2, f"{name} listed")
    return name


UNKNOWN = [
    "nope",
    "hosts/nope",
    "hosts/nope/url",
    "hosts/solo/nope",
    "hosts/solo/containers/no-such-container",
    "hosts/solo/images/no-such-image:1",
    "hosts/solo/networks/no-such-network",
    "hosts/solo/volumes/no-such-volume",
    "containers/solo:no-such-container",
    "images/solo:no-such-image:1",
]


@pytest.mark.parametrize("rel", UNKNOWN)
def test_unknown_path_enoent(mount, rel):
    with pytest.raises(OSError) as e:
        os.stat(mount.p(rel))
    assert e.value.errno == errno.ENOENT
    with pytest.raises(OSError) as e:
        os.open(mount.p(rel), os.O_RDONLY)
    assert e.value.errno == errno.ENOENT


def test_unknown_container_file_enoent(mount, ctr):
    d = mount.p("hosts", "solo", "containers", ctr)
    for rel in ("nope", "labels/nope"):
        with pytest.raises(OSError) as e:
            os.stat(os.path.join(d, rel))
        assert e.value.errno == errno.ENOENT, (rel, e.value)
    with pytest.raises(OSError) as e:
        os.stat(os.path.join(d, "id", "below-a-file"))
    assert e.value.errno == errno.ENOTDIR


def writable_attempt(path):
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, b"x\n")
    finally:
        os.close(fd)


@pytest.mark.parametrize("rel", ["hosts/solo/type", "hosts/solo/status", "hosts/solo/version",
                                 "hosts/solo/info.json"])
def test_write_readonly_host_file_eacces(mount, rel):
    before = open(mount.p(rel), "rb").read()
    with pytest.raises(OSError) as e:
        writable_attempt(mount.p(rel))
    assert e.value.errno == errno.EACCES
    after = open(mount.p(rel), "rb").read()
    if rel != "hosts/solo/info.json":   # refreshed by every health check
        assert after == before


@pytest.mark.parametrize("file", ["id", "image", "state", "status", "created",
                                  "inspect.json", "logs", "stats.json"])
def test_write_readonly_container_file_eacces(mount, ctr, file):
    path = mount.p("hosts", "solo", "containers", ctr, file)
    with pytest.raises(OSError) as e:
        writable_attempt(path)
    assert e.value.errno == errno.EACCES
    # also through open(..., "w") as a shell redirection does it
    with pytest.raises(OSError) as e:
        with open(path, "w") as f:
            f.write("x\n")
    assert e.value.errno == errno.EACCES


def test_write_via_shell_redirect_eacces(mount, ctr):
    path = mount.p("hosts", "solo", "containers", ctr, "state")
    r = subprocess.run(["sh", "-c", 'echo running > "$1"', "sh", path],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "Permission denied" in r.stderr, r.stderr


def test_create_file_refused(mount, ctr):
    with pytest.raises(OSError) as e:
        os.open(mount.p("hosts", "solo", "containers", ctr, "newfile"),
                os.O_WRONLY | os.O_CREAT, 0o644)
    assert e.value.errno in (errno.EACCES, errno.EPERM, errno.ENOSYS, errno.EROFS), e.value


@pytest.mark.parametrize("rel", ["", "hosts", "hosts/solo", "hosts/solo/containers",
                                 "hosts/solo/images", "containers", "images"])
def test_read_directory_eisdir(mount, rel):
    fd = os.open(mount.p(rel) if rel else mount.path, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as e:
            os.read(fd, 4096)
        assert e.value.errno == errno.EISDIR
    finally:
        os.close(fd)


def test_read_container_dir_eisdir(mount, ctr):
    d = mount.p("hosts", "solo", "containers", ctr)
    for path in (d, os.path.join(d, "labels")):
        fd = os.open(path, os.O_RDONLY)
        try:
            with pytest.raises(OSError) as e:
                os.read(fd, 4096)
            assert e.value.errno == errno.EISDIR
        finally:
            os.close(fd)
    # and open for writing a directory
    with pytest.raises(OSError) as e:
        os.open(d, os.O_WRONLY)
    assert e.value.errno == errno.EISDIR


def test_listing_a_file_enotdir(mount, ctr):
    with pytest.raises(OSError) as e:
        os.listdir(mount.p("hosts", "solo", "containers", ctr, "state"))
    assert e.value.errno == errno.ENOTDIR
