"""--import-docker: DOCKER_HOST + DOCKER_CERT_PATH and the docker CLI's
contexts (with their TLS files) become hosts in one command."""
import hashlib
import json
import os
import shutil

from conftest import DOCKFS_BIN, Mount, read_text, run, unique, wait_status


def make_config(workdir, env):
    """A docker config directory with one TLS context, as `docker context
    create` makes it."""
    cfg = os.path.join(workdir, unique("dockercfg"))
    name = "fleet-tls"
    h = hashlib.sha256(name.encode()).hexdigest()
    meta = os.path.join(cfg, "contexts", "meta", h)
    tls = os.path.join(cfg, "contexts", "tls", h, "docker")
    os.makedirs(meta)
    os.makedirs(tls)
    with open(os.path.join(meta, "meta.json"), "w") as f:
        json.dump({"Name": name, "Metadata": {},
                   "Endpoints": {"docker": {"Host": env["FLEET_TLS_URL"],
                                            "SkipTLSVerify": False}}}, f)
    for src, dst in (("FLEET_TLS_CA", "ca.pem"), ("FLEET_TLS_CERT", "cert.pem"),
                     ("FLEET_TLS_KEY", "key.pem")):
        shutil.copy(env[src], os.path.join(tls, dst))
    return cfg, name


def test_import_contexts_and_docker_host(fleet_env, workdir):
    cfg, ctx = make_config(workdir, fleet_env)
    certs = os.path.join(workdir, unique("certs"))
    os.mkdir(certs)
    for src, dst in (("FLEET_TLS_CA", "ca.pem"), ("FLEET_TLS_CERT", "cert.pem"),
                     ("FLEET_TLS_KEY", "key.pem")):
        shutil.copy(fleet_env[src], os.path.join(certs, dst))
    db = os.path.join(workdir, unique("import") + ".db")
    env = dict(os.environ, DOCKER_HOST=fleet_env["FLEET_TLS_URL"], DOCKER_CERT_PATH=certs,
               DOCKER_TLS_VERIFY="1")
    p = run([DOCKFS_BIN, "--import-docker=" + cfg, "--db", db], env=env)
    out = p.stdout
    assert "context fleet-tls" in out and "host fleet-tls: tcp://" in out
    assert "host docker-host:" in out and "2 hosts imported" in out
    assert "tls/key: set" in out

    m = Mount(workdir, db, {}).start()
    try:
        wait_status(m, ctx, "healthy")
        wait_status(m, "docker-host", "healthy")
        assert read_text(m.p("hosts", ctx, "url")) == fleet_env["FLEET_TLS_URL"] + "\n"
        assert read_text(m.p("hosts", ctx, "tls", "key")) == "set\n"
    finally:
        m.stop_ok()


def test_import_needs_no_mountpoint(fleet_env, workdir):
    """--import-docker registers and exits: it mounts nothing, so it needs no
    mountpoint, and one given (even one that does not exist) is not used."""
    cfg, ctx = make_config(workdir, fleet_env)
    db = os.path.join(workdir, unique("import") + ".db")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    p = run([DOCKFS_BIN, "--import-docker=" + cfg, "--db", db], env=env)
    assert "host fleet-tls: tcp://" in p.stdout and "1 host imported" in p.stdout
    missing = os.path.join(workdir, unique("nowhere"))
    p = run([DOCKFS_BIN, "--import-docker=" + cfg, "-o", "db=" + db, missing], env=env)
    assert "1 host imported" in p.stdout
    assert "ignored" in p.stderr and "bad mount point" not in p.stderr
    assert not os.path.exists(missing)
    m = Mount(workdir, db, {}).start()
    try:
        wait_status(m, ctx, "healthy")
    finally:
        m.stop_ok()
