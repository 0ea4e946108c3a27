"""The credential store: secrets never readable back, never in the db file,
the daemon's log or any file of the tree; a sealed row moved to another host
does not open there."""
import os
import sqlite3
import stat

import pytest
from contextlib import closing

from conftest import (Mount, copy_file, is_stream, read_text, unique, wait_status,
                      write_file)

PASSWORD = "pw-" + "7f3c9a1e5b2d" + "-secret"


def secret_needles(env):
    """Byte strings that must appear nowhere: the private keys' base64
    bodies (a few lines of each) and the password."""
    needles = [PASSWORD.encode()]
    for path in (env["FLEET_TLS_KEY"], env["FLEET_SSH_KEY"]):
        lines = [ln for ln in open(path, "rb").read().splitlines()
                 if ln and not ln.startswith(b"-----")]
        needles += [ln for ln in lines[:3] if len(ln) >= 40]
    return needles


def tree_files(root):
    """Every regular file under root except streams and engine logs."""
    for d, dirs, files in os.walk(root):
        if "containers" in d.split(os.sep) and d.count(os.sep) - root.count(os.sep) > 3:
            continue
        for f in files:
            if is_stream(f) or f in ("logs", "stats.json"):
                continue
            yield os.path.join(d, f)


def test_secrets_found_nowhere(fleet_env, workdir):
    db = os.path.join(workdir, unique("cred") + ".db")
    m = Mount(workdir, db, {"tls": fleet_env["FLEET_TLS_URL"],
                            "ssh": fleet_env["FLEET_SSH_URL"]}).start()
    try:
        t, s = m.p("hosts", "tls", "tls"), m.p("hosts", "ssh", "ssh")
        copy_file(fleet_env["FLEET_TLS_CA"], os.path.join(t, "ca"))
        copy_file(fleet_env["FLEET_TLS_CERT"], os.path.join(t, "cert"))
        copy_file(fleet_env["FLEET_TLS_KEY"], os.path.join(t, "key"))
        copy_file(fleet_env["FLEET_SSH_KNOWN_HOSTS"], os.path.join(s, "known_hosts"))
        copy_file(fleet_env["FLEET_SSH_KEY"], os.path.join(s, "key"))
        write_file(os.path.join(s, "password"), PASSWORD + "\n")
        wait_status(m, "tls", "healthy")
        wait_status(m, "ssh", "healthy")
        # a failing write of a secret leaves no trace of it either
        with pytest.raises(OSError):
            write_file(os.path.join(t, "cert"), PASSWORD + "\n")

        needles = secret_needles(fleet_env)
        seen = []
        for path in tree_files(m.path):
            try:
                data = open(path, "rb").read()
            except OSError:
                continue
            seen.append(path)
            for n in needles:
                assert n not in data, f"secret bytes in {path}"
        assert any(p.endswith("/tls/key") for p in seen)
        assert read_text(os.path.join(s, "password")) == "set\n"
        assert "secret" in read_text(m.p("audit"))
    finally:
        m.stop_ok()

    for path in (db, db + "-wal", m.log_path):
        if os.path.exists(path):
            data = open(path, "rb").read()
            for n in needles:
                assert n not in data, f"secret bytes in {path}"
    key = db + ".key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    with closing(sqlite3.connect(db)) as c, c:
        n = c.execute("SELECT count(*) FROM host_credentials").fetchone()[0]
    assert n == 6


def test_row_moved_to_another_host_does_not_open(fleet_env, workdir):
    db = os.path.join(workdir, unique("move") + ".db")
    url = fleet_env["FLEET_TLS_URL"]
    m = Mount(workdir, db, {"tls": url, "tls2": url}).start()
    try:
        for h in ("tls", "tls2"):
            copy_file(fleet_env["FLEET_TLS_CA"], m.p("hosts", h, "tls", "ca"))
            copy_file(fleet_env["FLEET_TLS_CERT"], m.p("hosts", h, "tls", "cert"))
        copy_file(fleet_env["FLEET_TLS_KEY"], m.p("hosts", "tls", "tls", "key"))
        wait_status(m, "tls", "healthy")
        wait_status(m, "tls2", "pending", contains="missing tls/key")
    finally:
        m.stop_ok()
    with closing(sqlite3.connect(db)) as c, c:
        c.execute("UPDATE host_credentials SET host_id ="
                  " (SELECT id FROM docker_hosts WHERE name = 'tls2')"
                  " WHERE credential_type = 'tls/key'")
    m = Mount(workdir, db, {}).start()
    try:
        text = wait_status(m, "tls2", "unhealthy", contains="does not open")
        assert "tls/key" in text
    finally:
        m.stop_ok()


def test_credentials_are_admin_only(fleet_env, workdir):
    db = os.path.join(workdir, unique("adm") + ".db")
    m = Mount(workdir, db, {"tls": fleet_env["FLEET_TLS_URL"]},
              options=("allow_other", "default_level=operator")).start()
    try:
        pid = os.fork()
        if pid == 0:
            os.setgid(65534)
            os.setuid(65534)
            code = 0 if not os.path.exists(m.p("hosts", "tls", "tls")) else 1
            try:
                open(m.p("hosts", "tls", "tls", "key"), "w").close()
                code = 2
            except OSError:
                pass
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0, "a non-admin reached tls/"
    finally:
        m.stop_ok()


def test_passphrase_mode(fleet_env, workdir, monkeypatch):
    from conftest import DOCKFS_BIN, run
    db = os.path.join(workdir, unique("pass") + ".db")
    monkeypatch.setenv("DOCKFS_PASSPHRASE", "correct horse battery")
    m = Mount(workdir, db, {"tls": fleet_env["FLEET_TLS_URL"]}).start()
    try:
        copy_file(fleet_env["FLEET_TLS_CA"], m.p("hosts", "tls", "tls", "ca"))
        copy_file(fleet_env["FLEET_TLS_CERT"], m.p("hosts", "tls", "tls", "cert"))
        copy_file(fleet_env["FLEET_TLS_KEY"], m.p("hosts", "tls", "tls", "key"))
        wait_status(m, "tls", "healthy")
    finally:
        m.stop_ok()
    assert not os.path.exists(db + ".key"), "a key file made despite a passphrase"
    # the same passphrase opens it again; another one is refused at start
    m = Mount(workdir, db, {}).start()
    try:
        wait_status(m, "tls", "healthy")
    finally:
        m.stop_ok()
    mnt = os.path.join(workdir, unique("mnt"))
    os.mkdir(mnt)
    env = dict(os.environ, DOCKFS_PASSPHRASE="wrong")
    p = run([DOCKFS_BIN, mnt, "-f", "--db", db], env=env, check=False, timeout=30)
    assert p.returncode != 0 and "does not open with this passphrase" in p.stderr


# ---- credentials are bound to the url ---------------------------------------

def cred_rows(db):
    """Rows of host_credentials: read after the daemon stopped (it holds its
    registry in SQLite's exclusive locking mode while it runs)."""
    with closing(sqlite3.connect(db)) as c, c:
        return c.execute("SELECT count(*) FROM host_credentials").fetchone()[0]


def test_url_change_drops_credentials(fleet_env, workdir, tls_engine, solo, cleanup):
    """A global admin's url change drops the host's credentials (they were
    for the old engine) and its old engine's containers, at once; the new
    url needs them written again."""
    from conftest import IMAGE, objects
    url = fleet_env["FLEET_TLS_URL"]
    name = cleanup.container(tls_engine, unique("tlsc"))
    tls_engine.docker("create", "--name", name, IMAGE, "true")
    db = os.path.join(workdir, unique("curl") + ".db")
    m = Mount(workdir, db, {"tls": url}).start()
    try:
        t = m.p("hosts", "tls", "tls")
        copy_file(fleet_env["FLEET_TLS_CA"], os.path.join(t, "ca"))
        copy_file(fleet_env["FLEET_TLS_CERT"], os.path.join(t, "cert"))
        copy_file(fleet_env["FLEET_TLS_KEY"], os.path.join(t, "key"))
        wait_status(m, "tls", "healthy")
        assert name in objects(m.p("hosts", "tls", "containers"))

        write_file(m.p("hosts", "tls", "url"), solo.url + "\n")
        # right after the write
        for f in ("ca", "cert", "key"):
            assert read_text(os.path.join(t, f)) == "unset\n", f
        assert name not in objects(m.p("hosts", "tls", "containers"))
        wait_status(m, "tls", "healthy")
        assert name not in objects(m.p("hosts", "tls", "containers"))

        # back to the tls engine: nothing followed it back either
        write_file(m.p("hosts", "tls", "url"), url + "\n")
        wait_status(m, "tls", "pending", contains="missing tls/ca")
        assert read_text(os.path.join(t, "key")) == "unset\n"
        copy_file(fleet_env["FLEET_TLS_CA"], os.path.join(t, "ca"))
        copy_file(fleet_env["FLEET_TLS_CERT"], os.path.join(t, "cert"))
        copy_file(fleet_env["FLEET_TLS_KEY"], os.path.join(t, "key"))
        wait_status(m, "tls", "healthy")
        assert name in objects(m.p("hosts", "tls", "containers"))
    finally:
        m.stop_ok()
    # what is stored now: the three written again for the url it has
    assert cred_rows(db) == 3


class Listener:
    """A TCP listener on 127.0.0.1 that greets like an ssh server and keeps
    every byte it receives."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        import socket
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            self.connections += 1
            c.settimeout(0.5)
            try:
                c.sendall(b"SSH-2.0-OpenSSH_9.2p1 test\r\n")
                while not self.stop:
                    try:
                        data = c.recv(65536)
                    except socket.timeout:
                        continue
                    if not data:
                        break
                    self.received += data
            except OSError:
                pass
            c.close()

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.sock.close()


def sshd_lines(env, after):
    with open(env["FLEET_SSH_LOG"], errors="replace") as f:
        return f.read().splitlines()[after:]


def test_ssh_password_does_not_follow_the_url(fleet_env, workdir):
    """Root set the password of a host; the host's url is changed: neither
    a listener at the new url nor the same sshd under another url receives
    it (item 7 of the attack: the password went in clear to a new url)."""
    from conftest import wait_until
    user = fleet_env["FLEET_SSH_PASSWORD_USER"]
    password = fleet_env["FLEET_SSH_PASSWORD"]
    url = fleet_env["FLEET_SSH_URL"].replace("ssh://root@", f"ssh://{user}@")
    addr, sock_path = fleet_env["FLEET_SSH_ADDR"], url.split(fleet_env["FLEET_SSH_ADDR"], 1)[1]
    db = os.path.join(workdir, unique("sshurl") + ".db")
    lst = Listener()
    m = Mount(workdir, db, {"h": url}).start()
    try:
        s = m.p("hosts", "h", "ssh")
        copy_file(fleet_env["FLEET_SSH_KNOWN_HOSTS"], os.path.join(s, "known_hosts"))
        write_file(os.path.join(s, "password"), password + "\n")
        wait_status(m, "h", "healthy")

        write_file(m.p("hosts", "h", "url"), f"ssh://{user}@127.0.0.1:{lst.port}{sock_path}\n")
        assert read_text(os.path.join(s, "password")) == "unset\n"
        assert read_text(os.path.join(s, "known_hosts")) == "unset\n"
        wait_until(lambda: lst.connections > 0, 10, "dockfs to connect to the new url")
        wait_status(m, "h", "pending", contains="missing ssh/known_hosts")
        assert password.encode() not in lst.received
        assert user.encode() not in lst.received or b"password" not in lst.received

        # the same sshd under another spelling of its url: a new url, so
        # with its known_hosts written again the password is still not there
        with open(fleet_env["FLEET_SSH_LOG"], errors="replace") as f:
            mark = len(f.read().splitlines())
        write_file(m.p("hosts", "h", "url"), f"ssh://{user}@{addr}:22{sock_path}\n")
        copy_file(fleet_env["FLEET_SSH_KNOWN_HOSTS"], os.path.join(s, "known_hosts"))
        wait_status(m, "h", "pending", contains="no credential")
        assert not [ln for ln in sshd_lines(fleet_env, mark) if "password" in ln], \
            "a password was tried on the new url"
        write_file(os.path.join(s, "password"), password + "\n")
        wait_status(m, "h", "healthy")
    finally:
        m.stop_ok()
        lst.close()


# ---- any order: credentials before the url ----------------------------------

def test_tls_files_before_the_url(fleet_env, workdir, solo):
    """mkdir, cp the three PEM files, then the url: the files wait for the
    url (shown as set, the host pending for want of a url), the first url
    registers the host with them sealed for it, and the host ends healthy,
    also after a restart."""
    from conftest import run
    url = fleet_env["FLEET_TLS_URL"]
    db = os.path.join(workdir, unique("order") + ".db")
    m = Mount(workdir, db, {"solo": solo.url}).start()
    try:
        os.mkdir(m.p("hosts", "prod"))
        pki = os.path.dirname(fleet_env["FLEET_TLS_CA"])
        run(["cp", os.path.join(pki, "ca.pem"), os.path.join(pki, "cert.pem"),
             os.path.join(pki, "key.pem"), m.p("hosts", "prod", "tls") + "/"])
        assert read_text(m.p("hosts", "prod", "tls", "ca")).startswith("sha256:")
        assert read_text(m.p("hosts", "prod", "tls", "key")) == "set\n"
        wait_status(m, "prod", "pending", contains="no url")
        write_file(m.p("hosts", "prod", "insecure"), "0\n")
        write_file(m.p("hosts", "prod", "description"), "made in any order\n")
        write_file(m.p("hosts", "prod", "url"), url + "\n")
        wait_status(m, "prod", "healthy")
        assert read_text(m.p("hosts", "prod", "description")) == "made in any order\n"
    finally:
        m.stop_ok()
    assert cred_rows(db) == 3
    m = Mount(workdir, db, {}).start()
    try:
        wait_status(m, "prod", "healthy")
        assert read_text(m.p("hosts", "prod", "description")) == "made in any order\n"
    finally:
        m.stop_ok()


def test_ssh_files_before_the_url(fleet_env, workdir, solo):
    db = os.path.join(workdir, unique("order") + ".db")
    m = Mount(workdir, db, {"solo": solo.url}).start()
    try:
        s = m.p("hosts", "edge", "ssh")
        os.mkdir(m.p("hosts", "edge"))
        copy_file(fleet_env["FLEET_SSH_KEY"], os.path.join(s, "key"))
        copy_file(fleet_env["FLEET_SSH_KNOWN_HOSTS"], os.path.join(s, "known_hosts"))
        assert read_text(os.path.join(s, "known_hosts")) == "set (1 line)\n"
        write_file(m.p("hosts", "edge", "url"), fleet_env["FLEET_SSH_URL"] + "\n")
        wait_status(m, "edge", "healthy")
    finally:
        m.stop_ok()
    assert cred_rows(db) == 2


def test_setup_before_the_url_unlinked_and_forgotten(fleet_env, workdir, solo):
    """A file written before the url and unlinked is not registered; a host
    removed before its url takes its files with it (a new host of the same
    name starts empty); the setup missing is named once the url is in."""
    db = os.path.join(workdir, unique("order") + ".db")
    m = Mount(workdir, db, {"solo": solo.url}).start()
    try:
        t = m.p("hosts", "half", "tls")
        os.mkdir(m.p("hosts", "half"))
        copy_file(fleet_env["FLEET_TLS_CA"], os.path.join(t, "ca"))
        copy_file(fleet_env["FLEET_TLS_KEY"], os.path.join(t, "key"))
        os.unlink(os.path.join(t, "key"))
        assert read_text(os.path.join(t, "key")) == "unset\n"
        with pytest.raises(FileNotFoundError):
            os.unlink(os.path.join(t, "key"))
        os.rmdir(m.p("hosts", "half"))
        os.mkdir(m.p("hosts", "half"))
        assert read_text(os.path.join(t, "ca")) == "unset\n"
        copy_file(fleet_env["FLEET_TLS_CA"], os.path.join(t, "ca"))
        copy_file(fleet_env["FLEET_TLS_CERT"], os.path.join(t, "cert"))
        write_file(m.p("hosts", "half", "url"), fleet_env["FLEET_TLS_URL"] + "\n")
        wait_status(m, "half", "pending", contains="missing tls/key")
        copy_file(fleet_env["FLEET_TLS_KEY"], os.path.join(t, "key"))
        wait_status(m, "half", "healthy")
    finally:
        m.stop_ok()
    assert cred_rows(db) == 3
