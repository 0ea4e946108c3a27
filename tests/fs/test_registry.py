"""The host registry: mkdir/rmdir hosts/X, url writes, persistence in --db."""
import errno
import os

import pytest

from conftest import eventually, first_line, read_text, unique, wait_until


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
    # other modules make and remove containers on solo meanwhile
    def all_listed():
        missing = solo.container_names() - set(os.listdir(os.path.join(path, "containers")))
        assert not missing, f"solo's containers not listed: {missing}"
    eventually(all_listed, 5)
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


# ---- the registry and its key are the daemon's alone ------------------------
#
# Another user who made or can write the registry, its key file or SQLite's
# -wal/-shm owns the daemon (knows the key, inserts an admin row): dockfs
# refuses to start on them, names the file and the fix, mounts nothing.

def private_dir(workdir, mode=0o700):
    d = os.path.join(workdir, unique("reg"))
    os.mkdir(d)
    os.chmod(d, mode)
    return d


def start(workdir, db, solo):
    """dockfs in the foreground on a new mount point, until it exits or
    mounts (which fails the test, after an unmount)."""
    import subprocess
    from conftest import DOCKFS_BIN, mounted, run, wait_until
    mnt = os.path.join(workdir, unique("mnt"))
    os.mkdir(mnt)
    p = subprocess.Popen([DOCKFS_BIN, mnt, "-f", "--db", db, "--host", f"solo={solo.url}"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    wait_until(lambda: p.poll() is not None or mounted(mnt), 10, "dockfs to exit or mount")
    if mounted(mnt):
        run(["fusermount3", "-u", mnt], check=False)
        p.wait(15)
        raise AssertionError(f"mounted on a registry that should be refused: {p.stderr.read()}")
    p.stderr_text = p.stderr.read()
    p.stdout.close()
    p.stderr.close()
    return p, mnt


def refused(workdir, db, solo, named, why):
    p, _ = start(workdir, db, solo)
    assert p.returncode == 1, (p.returncode, p.stderr_text)
    assert named in p.stderr_text and why in p.stderr_text, p.stderr_text
    return p.stderr_text


@pytest.fixture(scope="module")
def other(unix_users):
    return unix_users.make("regown")


def test_fresh_registry_created_private(workdir, solo, new_mount):
    d = os.path.join(private_dir(workdir), "sub")        # made by dockfs, 0700
    db = os.path.join(d, "fleet.db")
    m = new_mount(db, {"solo": solo.url})
    m.wait_healthy()
    m.stop_ok()
    assert os.stat(d).st_mode & 0o777 == 0o700
    for f in (db, db + ".key"):
        st = os.stat(f)
        assert (st.st_uid, st.st_mode & 0o777) == (os.geteuid(), 0o600), f


@pytest.mark.parametrize("which", ["fleet.db", "fleet.db.key", "fleet.db-wal", "fleet.db-shm"])
def test_file_of_another_user_refused(workdir, solo, other, which):
    d = private_dir(workdir)
    db = os.path.join(d, "fleet.db")
    path = os.path.join(d, which)
    with open(path, "wb") as f:
        f.write(os.urandom(32) if which.endswith(".key") else b"")
    os.chmod(path, 0o600)
    os.chown(path, other.uid, other.gid)
    refused(workdir, db, solo, path, f"belongs to uid {other.uid}")


@pytest.mark.parametrize("mode", [0o620, 0o606, 0o666], ids=oct)
@pytest.mark.parametrize("which", ["fleet.db", "fleet.db.key", "fleet.db-wal"])
def test_file_writable_by_others_refused(workdir, solo, which, mode):
    d = private_dir(workdir)
    db = os.path.join(d, "fleet.db")
    path = os.path.join(d, which)
    with open(path, "wb") as f:
        f.write(os.urandom(32) if which.endswith(".key") else b"")
    os.chmod(path, mode)
    refused(workdir, db, solo, path, "writable by")


def test_key_readable_by_others_refused(workdir, solo):
    d = private_dir(workdir)
    db = os.path.join(d, "fleet.db")
    with open(db + ".key", "wb") as f:
        f.write(os.urandom(32))
    os.chmod(db + ".key", 0o644)
    refused(workdir, db, solo, db + ".key", "readable by others")


@pytest.mark.parametrize("which", ["fleet.db", "fleet.db.key"])
def test_symlink_refused(workdir, solo, which):
    d = private_dir(workdir)
    db = os.path.join(d, "fleet.db")
    target = os.path.join(d, "real")
    with open(target, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(target, 0o600)
    os.symlink(target, os.path.join(d, which))
    refused(workdir, db, solo, os.path.join(d, which), "symbolic link")


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770], ids=oct)
def test_directory_writable_by_others_refused(workdir, solo, mode):
    d = private_dir(workdir, mode)
    db = os.path.join(d, "fleet.db")
    refused(workdir, db, solo, d, "writable by")
    assert os.listdir(d) == [], "files made in a directory others can write"


def test_directory_of_another_user_refused(workdir, solo, other):
    d = private_dir(workdir, 0o755)
    os.chown(d, other.uid, other.gid)
    refused(workdir, os.path.join(d, "fleet.db"), solo, d, f"belongs to uid {other.uid}")


def test_planted_registry_in_shared_directory(workdir, solo, other):
    """The issue's attack: another user makes an empty registry and a key of
    its choosing where root's registry will be (a sticky world-writable
    directory, as /tmp); root's start refuses, and nothing is written to
    them."""
    d = private_dir(workdir, 0o1777)
    db = os.path.join(d, "fleet.db")
    r = other.sh(': > "$1"; printf 0123456789abcdef0123456789abcdef > "$1.key"', db)
    assert r.returncode == 0, r.stderr
    refused(workdir, db, solo, d, "writable by")
    assert os.path.getsize(db) == 0 and os.stat(db).st_uid == other.uid
    assert not os.path.exists(db + "-wal")


def test_tmp_refused(workdir, solo):
    """dockfs(1)'s old example, --db /tmp/fleet.db: refused."""
    db = f"/tmp/{unique('fleet')}.db"
    try:
        refused(workdir, db, solo, "/tmp", "writable by others")
        assert not os.path.exists(db)
    finally:
        for f in (db, db + ".key"):
            if os.path.exists(f):
                os.unlink(f)
