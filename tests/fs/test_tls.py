"""tcp:// with mutual TLS: credentials written through the tree, containers
listed and acted on through the TLS engine, and each wrong credential ends
unhealthy with a clear message and recovers without a remount."""
import os
import re

import pytest

from conftest import (Cleanup, copy_file, objects, read_text, run, unique, wait_status,
                      wait_until, write_file)


@pytest.fixture
def tls_mount(fleet_env, new_mount, workdir):
    db = os.path.join(workdir, unique("tls") + ".db")
    return new_mount(db, {"tls": fleet_env["FLEET_TLS_URL"]})


def set_all(m, env):
    for src, name in (("FLEET_TLS_CA", "ca"), ("FLEET_TLS_CERT", "cert"),
                      ("FLEET_TLS_KEY", "key")):
        copy_file(env[src], m.p("hosts", "tls", "tls", name))


def test_no_credentials_is_pending(tls_mount):
    """A tcp url without its TLS files is an incomplete setup: pending, the
    status naming what is missing, and calls fail at once."""
    text = wait_status(tls_mount, "tls", "pending", contains="missing tls/ca tls/cert tls/key")
    assert "insecure" in text
    with pytest.raises(OSError) as e:
        os.listdir(tls_mount.p("hosts", "tls", "containers", "x", "state"))
    assert e.value.errno in (2, 112), e.value


def test_cp_pem_files_then_containers(tls_mount, fleet_env, tls_engine):
    m = tls_mount
    # what `cp ~/.docker/*.pem M/hosts/h/tls/` does
    pki = os.path.dirname(fleet_env["FLEET_TLS_CA"])
    run(["cp", os.path.join(pki, "ca.pem"), os.path.join(pki, "cert.pem"),
         os.path.join(pki, "key.pem"), m.p("hosts", "tls", "tls") + "/"])
    wait_status(m, "tls", "healthy")
    fp = run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
              fleet_env["FLEET_TLS_CA"]]).stdout.strip().split("=", 1)[1]
    assert read_text(m.p("hosts", "tls", "tls", "ca")) == f"sha256:{fp}\n"
    assert read_text(m.p("hosts", "tls", "tls", "key")) == "set\n"

    clean = Cleanup()
    name = clean.container(tls_engine, unique("tls"))
    try:
        tls_engine.docker("run", "-d", "--name", name, "busybox:latest", "sleep", "600")
        d = m.p("hosts", "tls", "containers")
        wait_until(lambda: name in objects(d), 10, f"{name} listed")
        with open(os.path.join(d, name, "ctl"), "w") as f:
            f.write("stop 1\n")
        assert tls_engine.inspect(name, "{{.State.Status}}") == "exited"
        with open(os.path.join(d, name, "ctl"), "w") as f:
            f.write("start\n")
        assert tls_engine.inspect(name, "{{.State.Status}}") == "running"
    finally:
        assert not clean.run_all()


def test_wrong_ca_then_fixed(tls_mount, fleet_env, workdir):
    m = tls_mount
    d = os.path.join(workdir, unique("ca"))
    os.mkdir(d)
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=other-ca", "-keyout", os.path.join(d, "k.pem"),
         "-out", os.path.join(d, "ca.pem")])
    copy_file(os.path.join(d, "ca.pem"), m.p("hosts", "tls", "tls", "ca"))
    copy_file(fleet_env["FLEET_TLS_CERT"], m.p("hosts", "tls", "tls", "cert"))
    copy_file(fleet_env["FLEET_TLS_KEY"], m.p("hosts", "tls", "tls", "key"))
    text = wait_status(m, "tls", "unhealthy", contains="certificate")
    assert "tcp://" in text
    # a call fails fast with the reason, no container is listed
    assert objects(m.p("hosts", "tls", "containers")) == set()
    copy_file(fleet_env["FLEET_TLS_CA"], m.p("hosts", "tls", "tls", "ca"))
    wait_status(m, "tls", "healthy")


def test_missing_client_cert_then_fixed(tls_mount, fleet_env):
    m = tls_mount
    copy_file(fleet_env["FLEET_TLS_CA"], m.p("hosts", "tls", "tls", "ca"))
    text = wait_status(m, "tls", "unhealthy", contains="tcp://")
    assert "no tls/ca" not in text
    copy_file(fleet_env["FLEET_TLS_CERT"], m.p("hosts", "tls", "tls", "cert"))
    copy_file(fleet_env["FLEET_TLS_KEY"], m.p("hosts", "tls", "tls", "key"))
    wait_status(m, "tls", "healthy")
    # unlink removes it: a key without its certificate is half a setup
    os.unlink(m.p("hosts", "tls", "tls", "cert"))
    assert read_text(m.p("hosts", "tls", "tls", "cert")) == "unset\n"
    wait_status(m, "tls", "pending", contains="missing tls/cert")


def test_bad_pem_is_refused_at_close(tls_mount):
    path = tls_mount.p("hosts", "tls", "tls", "ca")
    with pytest.raises(OSError) as e:
        write_file(path, "not a certificate\n")
    assert e.value.errno == 22
    err = read_text(tls_mount.p("hosts", "tls", "tls", "error"))
    assert "not a PEM certificate" in err


def test_insecure_setting(tls_mount):
    m = tls_mount
    assert read_text(m.p("hosts", "tls", "insecure")) == "0\n"
    write_file(m.p("hosts", "tls", "insecure"), "1\n")
    assert read_text(m.p("hosts", "tls", "insecure")) == "1\n"
    # plain http to a TLS port: the engine refuses, and status says why
    wait_status(m, "tls", "unhealthy", contains="HTTPS")
    write_file(m.p("hosts", "tls", "insecure"), "0\n")
    wait_status(m, "tls", "pending", contains="no tls/ca")



def accepted(netns):
    """TCP connections accepted so far in an engine's network namespace."""
    lines = run(["ip", "netns", "exec", netns, "cat", "/proc/net/snmp"]).stdout.splitlines()
    names, values = [line.split() for line in lines if line.startswith("Tcp:")][:2]
    return int(values[names.index("PassiveOpens")])


def test_calls_keep_their_connection(tls_mount, fleet_env, tls_engine):
    """Calls to a TLS engine reuse kept connections: thirty reads of a
    container's logs (a call each) cost the engine a handful of accepted
    connections, not thirty (each a mutual-TLS handshake of some 9 ms)."""
    m = tls_mount
    set_all(m, fleet_env)
    wait_status(m, "tls", "healthy")
    clean = Cleanup()
    name = clean.container(tls_engine, unique("keep"))
    try:
        tls_engine.docker("run", "-d", "--name", name, "busybox:latest", "echo", "kept")
        logs = m.p("hosts", "tls", "containers", name, "logs")
        wait_until(lambda: os.path.exists(logs), 10, f"{name} listed")
        wait_until(lambda: "kept" in read_text(logs), 10, "its logs")
        before = accepted(fleet_env["FLEET_TLS_NETNS"])
        for _ in range(30):
            assert read_text(logs) == "kept\n"
        opened = accepted(fleet_env["FLEET_TLS_NETNS"]) - before
        assert opened <= 6, f"30 calls opened {opened} connections"
    finally:
        assert not clean.run_all()


def test_engine_connections_close_on_exec(tls_mount, fleet_env):
    """The daemon's connections to the engine (the kept ones and the event
    stream) are close-on-exec: no child inherits an authenticated session."""
    m = tls_mount
    set_all(m, fleet_env)
    wait_status(m, "tls", "healthy")
    addr = fleet_env["FLEET_TLS_URL"].split("//", 1)[1]
    out = run(["ss", "-Htanp", "state", "established", "dst", addr]).stdout
    fds = [int(f) for f in re.findall(rf"pid={m.proc.pid},fd=(\d+)", out)]
    # the event stream, and the kept connection of the calls that listed
    assert len(fds) >= 2, f"dockfs's connections to {addr}: {out!r}"
    for fd in fds:
        with open(f"/proc/{m.proc.pid}/fdinfo/{fd}") as f:
            flags = int(next(line for line in f if line.startswith("flags:")).split()[1], 8)
        assert flags & os.O_CLOEXEC, f"fd {fd} to the engine is not close-on-exec"
