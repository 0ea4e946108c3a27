"""Bad input to every writable file: a clear errno, an `error` that is
printable UTF-8 and names the problem, and nothing changed.

The writable files are found by walking the mount (a file is writable when
its mode has a write bit), over a container, an image, a network and a
volume of solo and a service, a node, a node label, a secret and a config
of the swarm, made here.  In a collection only what this module made is
visited (other modules' objects are not ours to write to).  Only junk is
written, never a verb a ctl file takes, so nothing is destroyed even where
a write were taken: each input is either refused, or taken and read back
exactly as written (then the old value is put back).
"""
import errno
import os
import socket
import stat
import tempfile
import threading
import time

import pytest

from conftest import (IMAGE, bounded, read_text, unique, wait_until, write_once)

# A collection's own files (the rename of issue 16 makes them dot-files).
COLL_CTL = ".ctl"
COLL_ERR = ".error"

# Directories whose files are binary by nature (dockfs(5): secrets,
# configs, credentials): they may take any bytes.
BINARY_DIRS = {"secrets", "configs", "tls", "ssh"}

INPUTS = [
    ("invalid UTF-8", b"x\xff\xfe\xc3(\n"),
    ("a NUL", b"a\x00b\n"),
    ("2 MB", b"x" * (2 << 20)),
    ("an empty line", b"\n"),
    ("a line of 5000 chars", b"y" * 5000 + b"\n"),
    ("a JSON array", b"[1,2,3]\n"),
    ("control chars", b"a\x01\x1b[31mb\x7f\n"),
]
# Inputs that are text: a file may take them as a value (a description).
TEXT_INPUTS = {"an empty line", "a line of 5000 chars", "a JSON array"}
NOT_TEXT = {"invalid UTF-8", "a NUL", "control chars"}

# What dockfs(5) gives a malformed write: EINVAL, EFBIG for what is too
# large; a secret or config that exists is EEXIST; exec in a container
# that is not running is Docker's 409, EBUSY.
REFUSALS = {errno.EINVAL, errno.EFBIG, errno.EEXIST, errno.EBUSY}


def attempt(path, data):
    """open(O_TRUNC), write all of data, close: None, or the OSError."""
    def go():
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        finally:
            os.close(fd)
    try:
        bounded(go, 30, f"write to {path}")
    except OSError as e:
        return e
    return None


def content(path):
    """What a read gives, or the errno a read fails with."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        return e.errno


def error_path(d):
    for name in (COLL_ERR, "error"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    return None


@pytest.fixture(scope="module")
def made(mount, solo, mgr, module_cleanup):
    """What this module makes; yields the names that may be visited."""
    ctr = module_cleanup.container(solo, unique("bad"))
    # created, never started: exec is refused by the engine, never run
    solo.docker("create", "--name", ctr, IMAGE, "true")
    tag = module_cleanup.image_tag(solo, unique("bad") + ":junk")
    solo.docker("tag", IMAGE, tag)
    net = module_cleanup.network(solo, unique("bad"))
    solo.docker("network", "create", net)
    vol = module_cleanup.volume(solo, unique("bad"))
    solo.docker("volume", "create", vol)
    svc, sec, cfg, label = unique("bad"), unique("bad"), unique("bad"), unique("bad")
    mgr.docker("service", "create", "--detach", "--name", svc, "--replicas", "0", IMAGE,
               "sleep", "3600")
    mgr.docker("secret", "create", sec, "-", input="s3cret")
    mgr.docker("config", "create", cfg, "-", input="k = v\n")
    mgr.docker("node", "update", "--label-add", f"{label}=v", "wrk")
    sid = mgr.out("info", "--format", "{{.Swarm.Cluster.ID}}")
    swarm = sid[:12]
    try:
        for rel in (("hosts", "solo", "containers", ctr), ("hosts", "solo", "images", tag),
                    ("hosts", "solo", "networks", net), ("hosts", "solo", "volumes", vol),
                    ("swarms", swarm, "services", svc), ("swarms", swarm, "secrets", sec),
                    ("swarms", swarm, "configs", cfg),
                    ("swarms", swarm, "nodes", "wrk", "labels", label)):
            wait_until(lambda: os.path.exists(mount.p(*rel)), 15, "/".join(rel))
        yield {"solo", swarm, ctr, tag, net, vol, svc, sec, cfg, label}
    finally:
        mgr.docker("service", "rm", svc, check=False)
        mgr.docker("secret", "rm", sec, check=False)
        mgr.docker("config", "rm", cfg, check=False)
        mgr.docker("node", "update", "--label-rm", label, "wrk", check=False)


def writable_files(root, ours):
    """The regular files under root with a write bit, visiting in each
    collection only ours (a collection: a directory holding one of ours, or
    one with a collection's dot-files)."""
    control = {COLL_CTL, COLL_ERR, "ctl", "error"}
    found = []
    for d, dirs, files in os.walk(root):
        if any(n in ours for n in dirs + files) or COLL_CTL in files or COLL_ERR in files:
            # a collection (its dot-files say so): only what this module made
            dirs[:] = [n for n in dirs if n in ours]
            files = [n for n in files if n in ours or n in control or n.startswith(".")]
        for n in files:
            p = os.path.join(d, n)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                # another module's object, removed since the listing (the
                # fleet-wide views list every host's containers)
                continue
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o222:
                found.append(p)
    # the credentials last: a write there reconnects the host
    return sorted(found, key=lambda p: os.path.basename(os.path.dirname(p)) in BINARY_DIRS)


def check_refusal(path, what, data, e, before):
    d = os.path.dirname(path)
    assert e.errno in REFUSALS, f"{path}: {what}: errno {errno.errorcode[e.errno]}"
    ep = error_path(d)
    assert ep, f"{d} has no error file"
    raw = read_text_bytes(ep)
    try:
        msg = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AssertionError(f"{ep} after {what} to {path}: not UTF-8: {raw!r}") from None
    msg = msg.rstrip("\n")
    assert msg, f"{ep} empty after {what} to {path}"
    assert msg != os.strerror(e.errno), f"{ep} after {what} to {path}: only {msg!r}"
    assert not any(ord(ch) < 0x20 and ch != "\n" for ch in msg), (path, what, msg)
    binary = os.path.basename(d) in BINARY_DIRS
    if what in NOT_TEXT and not binary:
        assert "offset" in msg, f"{ep} after {what} to {path} says not where: {msg!r}"
    after = content(path)
    assert after == before, f"{path} changed by a refused write of {what}: {after!r}"


def read_text_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def check_taken(path, what, data, before):
    """A write that was taken must be there as written, and is undone."""
    d = os.path.dirname(path)
    assert what in TEXT_INPUTS or os.path.basename(d) in BINARY_DIRS, \
        f"{path} took {what} ({data[:40]!r})"
    after = content(path)
    if isinstance(after, bytes) and after.rstrip(b"\n") == data.rstrip(b"\n"):
        if isinstance(before, bytes):
            write_once(path, before)
        assert content(path) == before, f"{path}: not put back"
        return
    # a credential is not shown (only "set"): undone by unlink
    assert os.path.basename(d) in BINARY_DIRS, \
        f"{path} took {what} but reads back {after[:200]!r}: the write was not carried"
    os.unlink(path)
    assert content(path) == before, f"{path}: unlink did not undo it"


def test_bad_input_to_every_writable_file(mount, made):
    t0 = time.monotonic()
    files = writable_files(mount.path, made)
    rels = [os.path.relpath(p, mount.path) for p in files]
    # The walk found each kind (a rename must not make it find nothing).
    for must in ("containers", "networks", "volumes", "services", "nodes", "secrets",
                 "configs", "url", "description", "exec", "spec.json", "availability"):
        assert any(must in r.split("/") for r in rels), f"no writable file for {must}: {rels}"
    results = []
    for path in files:
        for what, data in INPUTS:
            before = content(path)
            e = attempt(path, data)
            if e is None:
                check_taken(path, what, data, before)
                results.append((path, what, "taken"))
            else:
                check_refusal(path, what, data, e, before)
                results.append((path, what, errno.errorcode[e.errno]))
    for path, what, outcome in results:   # shown with -s, and on failure
        print(f"{os.path.relpath(path, mount.path)}: {what}: {outcome}")
    assert len(results) >= 7 * 25, f"only {len(results)} writes: {rels}"
    assert time.monotonic() - t0 < 150
    mount.wait_healthy(["solo"])


def test_bad_names_refused(mount, made):
    """A name is text too: mkdir or create of one that is not is EINVAL and
    says where, nothing is made."""
    swarm = next(n for n in made if os.path.isdir(mount.p("swarms", n)))
    labels = mount.p("swarms", swarm, "nodes", "wrk", "labels").encode()
    nets = mount.p("hosts", "solo", "networks").encode()
    for d, op in ((labels, lambda p: os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o644))),
                  (nets, os.mkdir)):
        for bad in (b"l\xff", b"l\x1b[0m"):
            with pytest.raises(OSError) as e:
                op(os.path.join(d, bad))
            assert e.value.errno == errno.EINVAL, (d, bad, e.value)
            msg = read_text(error_path(d.decode()))
            assert "offset 1" in msg, msg
            assert bad not in os.listdir(d)


def test_create_with_bad_bytes_makes_nothing(mount, solo):
    """Issue 15 item 3: -e A=\\xff once made a container without A."""
    name = unique("bad")
    d = mount.p("hosts", "solo", "containers")
    line = f"create --name {name} -e A=".encode() + b"\xff -w /tmp\xff " + \
        IMAGE.encode() + b" echo \xff\n"
    e = attempt(os.path.join(d, COLL_CTL), line)
    assert e is not None and e.errno == errno.EINVAL
    assert "not UTF-8" in read_text(error_path(d))
    assert not solo.exists(name)


def test_service_image_bad_bytes_no_update(mount, mgr, made):
    svc = next(n for n in made if mgr.docker("service", "inspect", n, check=False)
               .returncode == 0)
    swarm = next(n for n in made if os.path.isdir(mount.p("swarms", n)))
    v0 = mgr.out("service", "inspect", svc, "--format", "{{.Version.Index}}")
    d = mount.p("swarms", swarm, "services", svc)
    for junk in (b"\xff\xfe\xc3(\n", b"[1,2,3]\n", b"a b\n"):
        e = attempt(os.path.join(d, "image"), junk)
        assert e is not None and e.errno == errno.EINVAL, junk
    assert mgr.out("service", "inspect", svc, "--format", "{{.Version.Index}}") == v0
    e = attempt(os.path.join(d, "spec.json"), b"[1,2,3]\n")
    assert e is not None and e.errno == errno.EINVAL
    msg = read_text(error_path(d))
    assert "array" in msg and "line -1" not in msg, msg


def test_host_file_messages(mount):
    """Issue 15 item 4: each message says what is wrong with what was
    written, and quotes nothing that was not validated."""
    d = mount.p("hosts", "solo")
    url = read_text(os.path.join(d, "url"))
    cases = [
        ("url", b"u" * 501, "at most 500 bytes, not 501"),
        ("url", b"ftp://x\n", "not a url: ftp://x"),
        ("description", b"d" * 5000 + b"\n", "description: one line of at most 1000"),
        ("description", b"a\x00b\n", "NUL byte at offset 1"),
        ("insecure", b"\n", "insecure takes 0 or 1"),
        ("default", b"2\n", "default takes 0 or 1"),
    ]
    for f, data, want in cases:
        e = attempt(os.path.join(d, f), data)
        assert e is not None and e.errno == errno.EINVAL, (f, data[:20])
        raw = read_text_bytes(os.path.join(d, "error"))
        assert want in raw.decode("utf-8"), (f, raw[:200])
        assert b"url first" not in raw
    assert read_text(os.path.join(d, "url")) == url


def test_credential_efbig_says_so(mount):
    d = mount.p("hosts", "solo", "tls")
    before = read_text(os.path.join(d, "key"))
    e = attempt(os.path.join(d, "key"), b"k" * (1 << 20))
    assert e is not None and e.errno == errno.EFBIG
    msg = read_text(error_path(d))
    assert "at most" in msg and "key" in msg, msg
    assert read_text(os.path.join(d, "key")) == before


class NotDocker:
    """An HTTP server on a unix socket that answers 404 with no body, as a
    server that is not a Docker engine may."""

    def __init__(self, workdir):
        self.path = os.path.join(tempfile.mkdtemp(dir=workdir), "nd.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            with c:
                c.settimeout(2)
                try:
                    c.recv(65536)
                    c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                              b"Connection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.sock.close()


def test_not_docker_status_names_it(mount, workdir):
    nd = NotDocker(workdir)
    name = unique("nd")
    h = mount.p("hosts", name)
    try:
        os.mkdir(h)
        write_once(os.path.join(h, "url"), f"unix://{nd.path}\n")
        got = wait_until(lambda: (lambda s: s if "404" in s else None)(
            read_text(os.path.join(h, "status"))), 15, "the status to name the 404")
        assert "HTTP 404" in got and nd.path in got and "Docker engine" in got, got
    finally:
        if os.path.exists(h):
            os.rmdir(h)
        nd.close()
