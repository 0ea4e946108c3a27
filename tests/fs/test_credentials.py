"""The credential store: secrets never readable back, never in the db file,
the daemon's log or any file of the tree; a sealed row moved to another host
does not open there."""
import os
import sqlite3
import stat

import pytest

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
    with sqlite3.connect(db) as c:
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
        wait_status(m, "tls2", "unhealthy")
    finally:
        m.stop_ok()
    with sqlite3.connect(db) as c:
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
