"""ssh:// through libssh2: key and password auth, the host key checked
against known_hosts, containers acted on through the ssh engine, and one
ssh session reused for many calls."""
import os

import pytest

from conftest import (Cleanup, copy_file, objects, read_text, run, unique, wait_status,
                      wait_until, write_file)


def accepted(env):
    """How many logins the fleet's sshd accepted so far."""
    with open(env["FLEET_SSH_LOG"], errors="replace") as f:
        return sum(1 for line in f if line.startswith("Accepted "))


@pytest.fixture
def ssh_mount(fleet_env, new_mount, workdir):
    db = os.path.join(workdir, unique("ssh") + ".db")
    user_url = fleet_env["FLEET_SSH_URL"]
    pw_url = user_url.replace("ssh://root@",
                              f"ssh://{fleet_env['FLEET_SSH_PASSWORD_USER']}@")
    return new_mount(db, {"ssh": user_url, "sshpw": pw_url})


def test_unknown_host_key_refused(ssh_mount, fleet_env):
    before = accepted(fleet_env)
    copy_file(fleet_env["FLEET_SSH_KEY"], ssh_mount.p("hosts", "ssh", "ssh", "key"))
    # pending (known_hosts missing), the server's key named for the user
    text = wait_status(ssh_mount, "ssh", "pending", contains="no known_hosts")
    assert "missing ssh/known_hosts" in text
    assert "SHA256:" in text
    assert accepted(fleet_env) == before


def test_key_auth_containers_and_session_reuse(ssh_mount, fleet_env, ssh_engine):
    m = ssh_mount
    copy_file(fleet_env["FLEET_SSH_KNOWN_HOSTS"], m.p("hosts", "ssh", "ssh", "known_hosts"))
    copy_file(fleet_env["FLEET_SSH_KEY"], m.p("hosts", "ssh", "ssh", "key"))
    wait_status(m, "ssh", "healthy")
    assert read_text(m.p("hosts", "ssh", "ssh", "key")) == "set\n"
    assert read_text(m.p("hosts", "ssh", "ssh", "known_hosts")) == "set (1 line)\n"

    clean = Cleanup()
    name = clean.container(ssh_engine, unique("ssh"))
    try:
        ssh_engine.docker("run", "-d", "--name", name, "busybox:latest", "sleep", "600")
        d = m.p("hosts", "ssh", "containers")
        wait_until(lambda: name in objects(d), 10, f"{name} listed")

        # 100 reads of live data: no new ssh login
        before = accepted(fleet_env)
        for _ in range(100):
            assert '"Id"' in read_text(os.path.join(d, name, "inspect.json"))
        assert accepted(fleet_env) == before, "a read made a new ssh session"

        with open(os.path.join(d, name, "ctl"), "w") as f:
            f.write("stop 1\n")
        assert ssh_engine.inspect(name, "{{.State.Status}}") == "exited"
        with open(os.path.join(d, name, "ctl"), "w") as f:
            f.write("start\n")
        assert ssh_engine.inspect(name, "{{.State.Status}}") == "running"
    finally:
        assert not clean.run_all()


def test_changed_host_key_refused_then_fixed(ssh_mount, fleet_env, workdir):
    m = ssh_mount
    k = os.path.join(workdir, unique("hk"))
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k])
    pub = open(k + ".pub").read().split()
    addr = fleet_env["FLEET_SSH_ADDR"]
    write_file(m.p("hosts", "ssh", "ssh", "known_hosts"), f"{addr} {pub[0]} {pub[1]}\n")
    before = accepted(fleet_env)
    copy_file(fleet_env["FLEET_SSH_KEY"], m.p("hosts", "ssh", "ssh", "key"))
    wait_status(m, "ssh", "unhealthy", contains="HOST KEY MISMATCH")
    assert accepted(fleet_env) == before, "logged in despite a changed host key"
    copy_file(fleet_env["FLEET_SSH_KNOWN_HOSTS"], m.p("hosts", "ssh", "ssh", "known_hosts"))
    wait_status(m, "ssh", "healthy")


def test_password_auth_wrong_then_right(ssh_mount, fleet_env):
    m = ssh_mount
    copy_file(fleet_env["FLEET_SSH_KNOWN_HOSTS"], m.p("hosts", "sshpw", "ssh", "known_hosts"))
    before = accepted(fleet_env)
    write_file(m.p("hosts", "sshpw", "ssh", "password"), "not-the-password\n")
    wait_status(m, "sshpw", "unhealthy", contains="password authentication failed")
    assert accepted(fleet_env) == before
    write_file(m.p("hosts", "sshpw", "ssh", "password"), fleet_env["FLEET_SSH_PASSWORD"] + "\n")
    wait_status(m, "sshpw", "healthy")
    assert read_text(m.p("hosts", "sshpw", "ssh", "password")) == "set\n"
    objects(m.p("hosts", "sshpw", "containers"))
