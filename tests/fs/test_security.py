"""Issue 14: the attacker's suite.  Every attack is made by a real Unix user
(setpriv) on the shared session mount, and each must be refused with the
engine left as it was: checked with the docker CLI and the Engine API, not
with the mount (an inspect that shows no host namespace, no bind of a host
path, no capability, no privilege, no device; the victim network, node or
volume still there).

The crew (registered on the session mount for this module):
    operator   operator on solo and on mgr (the swarm's manager)
    hostadm    admin on solo only
    mgradm     admin on mgr only
    gadmin     a global admin (admin flag)
    viewer     viewer on solo and on mgr
    nolevel    registered, no level anywhere

Some checks here depend on the fixes of issue 14: written to the behaviour
those give, they fail without them (see each test's docstring).
"""
import copy
import errno
import json
import os
import random
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import (DOCKFS_BIN, IMAGE, TEST_ALARM, audit_marker, audit_rows, errno_matches,
                      escape_name, eventually, mounted, parse_audit, read_text, register_user,
                      run, unique, unregister_user, wait_listed_in, wait_status, wait_until,
                      write_file, write_once)

REFUSED = (errno.EACCES, errno.EINVAL)
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.1; done"
CONVERGE = 40


# ---- the crew --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crew(mount, unix_users):
    c = {
        "operator": (unix_users.make("aop"), {"solo": "operator", "mgr": "operator"}, False),
        "hostadm": (unix_users.make("aha"), {"solo": "admin"}, False),
        "mgradm": (unix_users.make("ama"), {"mgr": "admin"}, False),
        "gadmin": (unix_users.make("aga"), {}, True),
        "viewer": (unix_users.make("avi"), {"solo": "viewer", "mgr": "viewer"}, False),
        "nolevel": (unix_users.make("ano"), {}, False),
    }
    done = []
    try:
        for role, (u, levels, admin) in c.items():
            register_user(mount, u, levels, admin=admin)
            done.append(u)
    except BaseException:
        for u in done:
            unregister_user(mount, u)
        raise
    yield {role: u for role, (u, _, _) in c.items()}
    for u in done:
        unregister_user(mount, u)


@pytest.fixture(scope="module")
def swarm(mount, mgr):
    """The path of the fleet swarm's directory."""
    sid = mgr.out("info", "--format", "{{.Swarm.Cluster.ID}}")
    return wait_until(lambda: next((mount.p("swarms", n) for n in os.listdir(mount.p("swarms"))
                                    if read_text(mount.p("swarms", n, "id")).strip() == sid),
                                   None), 15, "the fleet swarm under M/swarms")


@pytest.fixture
def services(mgr):
    """Names of services to remove at the end (and a secret or config)."""
    made = []
    yield made
    for kind, name in reversed(made):
        if kind == "service":
            mgr.docker("service", "rm", name, check=False)
        else:
            mgr.docker(kind, "rm", name, check=False)


@pytest.fixture(scope="module")
def host_rooted(solo, module_cleanup):
    """A running container on solo made by root in the host's pid and network
    namespaces, with /etc bound: what an operator must not borrow."""
    name = module_cleanup.container(solo, unique("root"))
    solo.docker("run", "-d", "--name", name, "-v", "/etc:/hostetc:ro", "--pid", "host",
                "--network", "host", IMAGE, "sleep", "3600")
    return solo.inspect(name, "{{.Id}}")


def ctl(mount, host="solo"):
    return mount.p("hosts", host, "containers", ".ctl")


def cerror(mount, user, host="solo"):
    return user.read(mount.p("hosts", host, "containers", ".error")).expect_ok().data


# ---- what the engine holds ---------------------------------------------------------------

# CgroupnsMode is not among them: "host" is the engine's default on a
# cgroup v1 machine (this one), what any container of root's gets too; the
# allowlist's refusal of an explicit one is checked on the write.
HOST_MODES = ("NetworkMode", "PidMode", "IpcMode", "UTSMode", "UsernsMode")
NOT_EMPTY = ("CapAdd", "Devices", "DeviceRequests", "DeviceCgroupRules", "SecurityOpt",
             "Sysctls", "CgroupParent", "VolumesFrom", "Links", "Runtime")


def dangers(engine, ref):
    """What the engine's inspect of a container shows that an operator may
    not have; {} when nothing."""
    st, j = engine.api(f"/containers/{ref}/json")
    assert st == 200, (st, j)
    h = j["HostConfig"] or {}
    bad = {}
    if h.get("Privileged"):
        bad["Privileged"] = True
    for k in HOST_MODES:
        v = (h.get(k) or "").lower()
        if v == "host" or v.startswith("container:"):
            bad[k] = h[k]
    for k in NOT_EMPTY:
        if h.get(k) and not (k == "Runtime" and h[k] == "runc"):
            bad[k] = h[k]
    binds = [b for b in h.get("Binds") or [] if not re.match(r"^[A-Za-z0-9][\w.-]*:", b)]
    if binds:
        bad["Binds"] = binds
    mounts = [m for m in (h.get("Mounts") or []) + (j.get("Mounts") or [])
              if (m.get("Type") or "").lower() == "bind"]
    if mounts:
        bad["Mounts"] = mounts
    nets = (j.get("NetworkSettings") or {}).get("Networks") or {}
    if "host" in nets:
        bad["Networks"] = sorted(nets)
    return bad


def assert_no_container(engine, name, since):
    assert not engine.exists(name), \
        f"{name} was created, holding {dangers(engine, name)}"
    assert engine.created_events(since, name) == 0, f"a create of {name} reached the engine"


def service_exists(mgr, name):
    return mgr.docker("service", "inspect", name, check=False).returncode == 0


def service_dangers(mgr, name):
    spec = json.loads(mgr.out("service", "inspect", name))[0]["Spec"]
    cs = spec["TaskTemplate"].get("ContainerSpec") or {}
    bad = {}
    binds = [m for m in cs.get("Mounts") or [] if (m.get("Type") or "").lower() == "bind"]
    if binds:
        bad["Mounts"] = binds
    if cs.get("Secrets"):
        bad["Secrets"] = cs["Secrets"]
    nets = spec["TaskTemplate"].get("Networks") or []
    if nets:
        bad["Networks"] = nets
    return bad


def assert_no_service(mgr, name):
    assert not service_exists(mgr, name), \
        f"service {name} was created, holding {service_dangers(mgr, name)}"


def names_field(err, fields):
    """The caller's error names one of the fields (as the engine spells
    them, compared without regard to case)."""
    low = err.lower()
    assert any(f.lower() in low for f in fields), f"error {err!r} names none of {fields}"


# ---- 1. HostConfig fields at the top level of a create body --------------------------

# API 1.41 still decodes HostConfig's fields from the top level of the body
# when it has no "HostConfig" member (ContainerConfigWrapper's embedded
# HostConfig): an allowlist that looks only inside HostConfig misses them.
TOP_LEVEL = {
    "pid-cap-seccomp": ({"PidMode": "host", "CapAdd": ["SYS_PTRACE", "SYS_ADMIN"],
                         "SecurityOpt": ["seccomp=unconfined"]},
                        ("PidMode", "CapAdd", "SecurityOpt")),
    "network-host": ({"NetworkMode": "host"}, ("NetworkMode",)),
    "ipc-host": ({"IpcMode": "host"}, ("IpcMode",)),
    "uts-host": ({"UTSMode": "host"}, ("UTSMode",)),
    "devices": ({"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/xnull",
                              "CgroupPermissions": "rwm"}]}, ("Devices", "device")),
    "volumes-from": ({"VolumesFrom": ["{other}"]}, ("VolumesFrom",)),
    "network-container": ({"NetworkMode": "container:{other}"}, ("NetworkMode",)),
    "sysctls": ({"Sysctls": {"kernel.shm_rmid_forced": "1"}}, ("Sysctls",)),
    "cgroup-parent": ({"CgroupParent": "dockfs-test"}, ("CgroupParent",)),
    "privileged": ({"Privileged": True}, ("Privileged",)),
    "binds": ({"Binds": ["/:/host"]}, ("Binds", "bind")),
    "mounts-bind": ({"Mounts": [{"Type": "bind", "Source": "/", "Target": "/host"}]},
                    ("Mounts", "mount")),
}


@pytest.mark.parametrize("case", sorted(TOP_LEVEL))
def test_top_level_host_config_fields(mount, solo, crew, cleanup, host_rooted, case):
    """Fails without the fix: the allowlist reads HostConfig only."""
    fields, named = TOP_LEVEL[case]
    n = cleanup.container(solo, unique("top"))
    body = {"Name": n, "Image": IMAGE, "Cmd": ["sleep", "3600"]}
    body.update(json.loads(json.dumps(fields).replace("{other}", host_rooted)))
    since = time.time() - 1
    op = crew["operator"]
    op.write(ctl(mount), json.dumps(body)).expect_errno(REFUSED, case)
    assert_no_container(solo, n, since)
    names_field(cerror(mount, op), named)


# ---- 2. keys the engine folds (Unicode simple folding), and non-canonical spellings

S_LONG = "\u017f"       # LATIN SMALL LETTER LONG S: Go's JSON decoder matches it to s/S
KELVIN = "\u212a"       # KELVIN SIGN: matches k/K

FOLDS = {
    "long-s-hostconfig": {"Ho" + S_LONG + "tconfig": {"Binds": ["/:/host"], "Privileged": True}},
    "long-s-mounts": {"HostConfig": {"Mount" + S_LONG: [{"Type": "bind", "Source": "/",
                                                         "Target": "/host"}]}},
    "long-s-binds": {"HostConfig": {"Bind" + S_LONG: ["/:/host"]}},
    "long-s-top-binds": {"Bind" + S_LONG: ["/:/host"]},
    "long-s-sysctls": {"HostConfig": {"Sy" + S_LONG + "ctls": {"kernel.shm_rmid_forced": "1"}}},
    "kelvin-networkmode": {"HostConfig": {"Networ" + KELVIN + "Mode": "host"}},
    "kelvin-top-networkmode": {"Networ" + KELVIN + "Mode": "host"},
    # the Type value is compared without regard to case: "BIND" is bind
    "value-case-mount-type": {"HostConfig": {"Mounts": [
        {"Type": "BIND", "Source": "/", "Target": "/host"}]}},
    "lowercase-hostconfig": {"hostconfig": {"privileged": True}},
    "lowercase-top-pidmode": {"pidmode": "host"},
    "value-case-pid-host": {"HostConfig": {"PidMode": "HOST"}},
}
# A member given twice in two spellings: a checker that keeps one of them
# (the first, or the last) sees a harmless value; the engine decodes both
# into one struct, the later one winning field by field.
DUPLICATES = {
    "dup-hostconfig-long-s": '{{"Name":"{n}","Image":"{image}","Cmd":["sleep","3600"],'
                             '"HostConfig":{{"Privileged":false}},'
                             '"Ho\u017ftConfig":{{"Privileged":true}}}}',
    "dup-binds-long-s": '{{"Name":"{n}","Image":"{image}","Cmd":["sleep","3600"],'
                        '"HostConfig":{{"Binds":[],"Bind\u017f":["/:/host"]}}}}',
    "dup-privileged-case": '{{"Name":"{n}","Image":"{image}","Cmd":["sleep","3600"],'
                           '"HostConfig":{{"privileged":true,"Privileged":false}}}}',
    "dup-networkmode-kelvin": '{{"Name":"{n}","Image":"{image}","Cmd":["sleep","3600"],'
                              '"HostConfig":{{"NetworkMode":"bridge",'
                              '"Networ\u212aMode":"host"}}}}',
}


@pytest.mark.parametrize("case", sorted(FOLDS) + sorted(DUPLICATES))
def test_folded_keys_refused(mount, solo, crew, cleanup, case):
    """Fails without the fix where the checker folds ASCII only (long s,
    Kelvin sign) or keeps one of two spellings."""
    n = cleanup.container(solo, unique("fold"))
    if case in FOLDS:
        body = {"Name": n, "Image": IMAGE, "Cmd": ["sleep", "3600"]}
        body.update(FOLDS[case])
        text = json.dumps(body, ensure_ascii=False)
    else:
        text = DUPLICATES[case].format(n=n, image=IMAGE)
    since = time.time() - 1
    crew["operator"].write(ctl(mount), text).expect_errno(REFUSED, case)
    assert_no_container(solo, n, since)


@pytest.mark.parametrize("key", ["image", "IMAGE", "cmd", "Image"])
def test_non_canonical_harmless_key_refused(mount, solo, crew, cleanup, key):
    """An operator's body is parsed into dockfs' own description of what an
    operator may set; a key not spelled as the API spells it is refused,
    even where it is harmless.  ("Image" is the control: created.)"""
    n = cleanup.container(solo, unique("key"))
    body = {"Name": n, "Image": IMAGE, "Cmd": ["sleep", "3600"]}
    if key != "Image":
        canon = {"image": "Image", "IMAGE": "Image", "cmd": "Cmd"}[key]
        body[key] = body.pop(canon)
    since = time.time() - 1
    r = crew["operator"].write(ctl(mount), json.dumps(body))
    if key == "Image":
        r.expect_ok("canonical body")
        assert solo.exists(n) and dangers(solo, n) == {}
        return
    r.expect_errno(REFUSED, key)
    assert_no_container(solo, n, since)


def test_host_admin_may_use_top_level_fields(mount, solo, crew, cleanup):
    """Control: the host admin is not judged by the allowlist."""
    n = cleanup.container(solo, unique("adm"))
    crew["hostadm"].write(ctl(mount), json.dumps(
        {"Name": n, "Image": IMAGE, "Cmd": ["sleep", "3600"], "PidMode": "host"})).expect_ok()
    assert solo.inspect(n, "{{.HostConfig.PidMode}}") == "host"


# ---- 3. services: folded keys in a ServiceSpec ---------------------------------------

def test_service_folded_tasktemplate_bind(mount, mgr, crew, swarm, services):
    """Fails without the fix: "Taſktemplate" is TaskTemplate to the engine."""
    name = unique("svf")
    services.append(("service", name))
    spec = {"Name": name, "Ta" + S_LONG + "ktemplate": {"ContainerSpec": {
        "Image": IMAGE, "Args": ["sleep", "600"],
        "Mounts": [{"Type": "bind", "Source": "/", "Target": "/host"}]}}}
    crew["operator"].write(os.path.join(swarm, "services", ".ctl"),
                           json.dumps(spec, ensure_ascii=False)).expect_errno(REFUSED)
    assert_no_service(mgr, name)


def test_service_spec_json_folded_mounts(mount, mgr, crew, swarm, services):
    """Fails without the fix: "Mountſ" in a spec.json written by an operator."""
    name = unique("svj")
    services.append(("service", name))
    mgr.docker("service", "create", "-d", "--name", name, IMAGE, "sleep", "600")
    d = os.path.join(swarm, "services", name)
    wait_until(lambda: os.path.isdir(d), 5, f"{name} under services/")
    before = json.loads(mgr.out("service", "inspect", name))[0]
    spec = copy.deepcopy(before["Spec"])
    spec["TaskTemplate"]["ContainerSpec"]["Mount" + S_LONG] = [
        {"Type": "bind", "Source": "/etc", "Target": "/hostetc"}]
    crew["operator"].write(os.path.join(d, "spec.json"),
                           json.dumps(spec, ensure_ascii=False)).expect_errno(REFUSED)
    after = json.loads(mgr.out("service", "inspect", name))[0]
    assert after["Version"] == before["Version"], "the service was updated"
    assert after["Spec"] == before["Spec"]
    assert service_dangers(mgr, name) == {}


# ---- 4. the host network by id ----------------------------------------------------------

def host_net_id(engine):
    return engine.out("network", "inspect", "--format", "{{.Id}}", "host")


@pytest.mark.parametrize("form", ["id", "short-id", "name"])
def test_container_host_network_by_id(mount, solo, crew, cleanup, form):
    """Fails without the fix for id and short-id: references are judged
    before they are resolved."""
    nid = host_net_id(solo)
    ref = {"id": nid, "short-id": nid[:12], "name": "host"}[form]
    n = cleanup.container(solo, unique("hn"))
    since = time.time() - 1
    crew["operator"].write(ctl(mount), f"create --name {n} --network {ref} {IMAGE} sleep 600\n") \
        .expect_errno(errno.EACCES, form)
    assert_no_container(solo, n, since)


@pytest.mark.parametrize("form", ["id", "short-id", "name"])
def test_service_host_network_by_id(mount, mgr, crew, swarm, services, form):
    """Fails without the fix for id and short-id."""
    nid = host_net_id(mgr)
    ref = {"id": nid, "short-id": nid[:12], "name": "host"}[form]
    name = unique("shn")
    services.append(("service", name))
    crew["operator"].write(os.path.join(swarm, "services", ".ctl"),
                           f"create --name {name} --network {ref} {IMAGE} sleep 600\n") \
        .expect_errno(errno.EACCES, form)
    assert_no_service(mgr, name)


def test_container_json_host_network_by_id(mount, solo, crew, cleanup):
    """The same through a JSON body: NetworkMode and EndpointsConfig."""
    nid = host_net_id(solo)
    for i, extra in enumerate((
            {"HostConfig": {"NetworkMode": nid}},
            {"HostConfig": {"NetworkMode": nid[:12]}},
            {"NetworkingConfig": {"EndpointsConfig": {nid: {}}}},
            {"NetworkingConfig": {"EndpointsConfig": {"host": {}}}})):
        n = cleanup.container(solo, unique("hj"))
        body = {"Name": n, "Image": IMAGE, "Cmd": ["sleep", "600"]}
        body.update(extra)
        since = time.time() - 1
        r = crew["operator"].write(ctl(mount), json.dumps(body))
        if r.ok:
            # the engine may ignore EndpointsConfig for a default network:
            # then the container must not be on the host network
            assert dangers(solo, n) == {}, f"body {i}: {dangers(solo, n)}"
            continue
        r.expect_errno(REFUSED, f"body {i}")
        assert_no_container(solo, n, since)


# ---- 5. path segments and query values ----------------------------------------------------

def node_ids(mgr):
    out = mgr.out("node", "ls", "--format", "{{.ID}} {{.Hostname}} {{.Status}}")
    return {l.split()[1]: (l.split()[0], l.split()[2]) for l in out.splitlines()}


def test_images_ctl_traversal_to_node(mount, mgr, crew, swarm):
    """Fails without the fix: the reference is sent unescaped, and
    /images/../nodes/ID is /nodes/ID.  The line without force is tried
    first (a ready node is never removed without it): if it reached the
    node, the test stops there, before the force that would break the
    shared fleet's swarm."""
    wid, status = node_ids(mgr)["wrk"]
    assert status == "Ready"
    op = crew["operator"]
    c = mount.p("hosts", "mgr", "images", ".ctl")
    r = op.write(c, f"rm ../nodes/{wid}\n")
    err = op.read(mount.p("hosts", "mgr", "images", ".error")).expect_ok().data
    assert "not down" not in err and "removed" not in err, \
        f"images/.ctl rm ../nodes/ID reached the node: {err!r}"
    r.expect_errno((errno.EINVAL, errno.ENOENT), "rm ../nodes/ID")
    op.write(c, f"rm ../nodes/{wid} force\n").expect_errno((errno.EINVAL, errno.ENOENT))
    assert node_ids(mgr)["wrk"] == (wid, "Ready")


@pytest.mark.parametrize("form", ["name", "id"])
def test_images_ctl_traversal_to_network(mount, mgr, crew, cleanup, form):
    """Fails without the fix: rm ../networks/N through images/.ctl removes N."""
    net = cleanup.network(mgr, unique("vic"))
    nid = mgr.out("network", "create", net)
    ref = net if form == "name" else nid
    crew["operator"].write(mount.p("hosts", "mgr", "images", ".ctl"), f"rm ../networks/{ref}\n") \
        .expect_errno((errno.EINVAL, errno.ENOENT))
    assert net in mgr.network_names(), "the network was removed through images/.ctl"
    for bad in (f"rm ../../networks/{ref}", f"rm %2E%2E/networks/{ref}",
                f"rm x/../../networks/{ref}", f"rm ..%2Fnetworks%2F{ref}"):
        r = crew["operator"].write(mount.p("hosts", "mgr", "images", ".ctl"), bad + "\n")
        assert not r.ok, f"{bad!r} succeeded"
        assert net in mgr.network_names(), f"{bad!r} removed the network"


def test_kill_realtime_signal_delivered(mount, solo, crew, cleanup):
    """Fails without the fix: the '+' of SIGRTMIN+3 goes unescaped in the
    query and the engine reads a blank."""
    n = cleanup.container(solo, unique("rt"))
    # busybox sh knows no RTMIN+3 by name (it says so): 37 is SIGRTMIN+3 for
    # the engine (glibc's SIGRTMIN is 34)
    solo.docker("run", "-d", "--name", n, IMAGE, "sh", "-c",
                "trap 'exit 7' RTMIN+3 2>/dev/null || trap 'exit 7' 37; "
                "while :; do sleep 0.1; done")
    wait_listed_in(mount, "solo", "containers", n)
    time.sleep(0.3)      # the trap is set
    crew["operator"].write(mount.p("hosts", "solo", "containers", n, "ctl"),
                           "kill SIGRTMIN+3\n").expect_ok("kill SIGRTMIN+3")
    eventually(lambda: _is(solo.inspect(n, "{{.State.Status}} {{.State.ExitCode}}"),
                           "exited 7"), 10, 0.1)


def _is(got, want):
    assert got == want, got
    return got


# ---- 6. a host's url is the global admins' ---------------------------------------------

def test_host_admin_cannot_repoint_url(mount, solo, mgr, crew, cleanup):
    """Fails without the fix: a host admin of solo gets root of mgr by
    pointing solo at mgr's socket."""
    c = cleanup.container(solo, unique("own"))
    solo.docker("create", "--name", c, IMAGE, "true")
    wait_listed_in(mount, "solo", "containers", c)
    url = mount.p("hosts", "solo", "url")
    marker = audit_marker(mount)
    try:
        crew["hostadm"].write(url, mgr.url + "\n").expect_errno(errno.EACCES)
        assert read_text(url) == solo.url + "\n"
        adm = crew["hostadm"]
        assert "solo" in adm.listdir(mount.p("hosts")).expect_ok().data
        listed = adm.listdir(mount.p("hosts", "solo", "containers")).expect_ok().data
        assert c in listed
        assert not set(listed) & mgr.container_names()
        rows = [r for r in audit_rows(mount, marker) if r["user"] == adm.name]
        assert rows and rows[-1]["outcome"] == "denied", rows
    finally:
        if read_text(url) != solo.url + "\n":
            write_once(url, solo.url + "\n")
            mount.wait_healthy(["solo"])


CRED_FILES = ("tls/ca", "tls/cert", "tls/key", "ssh/key", "ssh/password", "ssh/known_hosts")


def test_url_change_drops_credentials(workdir, new_mount, solo, mgr, fleet_env, crew):
    """Fails without the fix: the stored credentials follow a changed url."""
    db = os.path.join(workdir, unique("cred") + ".db")
    m = new_mount(db, {"h": solo.url}, options=("allow_other",))
    m.wait_healthy()
    register_user(m, crew["gadmin"], admin=True)
    hd = m.p("hosts", "h")
    for f, src in (("tls/ca", "FLEET_TLS_CA"), ("tls/cert", "FLEET_TLS_CERT"),
                   ("tls/key", "FLEET_TLS_KEY"), ("ssh/key", "FLEET_SSH_KEY"),
                   ("ssh/known_hosts", "FLEET_SSH_KNOWN_HOSTS")):
        with open(fleet_env[src], "rb") as fh:
            write_file(os.path.join(hd, f), fh.read())
    write_file(os.path.join(hd, "ssh", "password"), "hunter2\n")
    for f in CRED_FILES:
        assert read_text(os.path.join(hd, f)) != "unset\n", f"{f} not set"
    crew["gadmin"].write(os.path.join(hd, "url"), mgr.url + "\n").expect_ok()
    assert read_text(os.path.join(hd, "url")) == mgr.url + "\n"
    left = {f: read_text(os.path.join(hd, f)).strip() for f in CRED_FILES}
    assert all(v == "unset" for v in left.values()), \
        f"credentials kept across the url change: {left}"
    m.stop_ok()


# ---- 7. credentials do not follow the url to another server --------------------------

class Relay:
    """A TCP listener on 127.0.0.1 relaying each connection to (host, port):
    dockfs reaches the real sshd through it, so sshd's log says whether a
    password was tried, by the relay's own source ports."""

    def __init__(self, host, port):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.target = (host, port)
        self.src_ports = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(self.target, timeout=5)
            except OSError:
                c.close()
                continue
            self.src_ports.append(s.getsockname()[1])
            for a, b in ((c, s), (s, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.lsock.close()


def test_password_not_sent_to_new_url(workdir, new_mount, fleet_env, crew):
    """Fails without the fix: after a global admin points the host at a
    server of their own, dockfs logs in there with the stored password."""
    addr, sock = fleet_env["FLEET_SSH_ADDR"], fleet_env["FLEET_SSH_SOCK"]
    pw_user = fleet_env["FLEET_SSH_PASSWORD_USER"]
    relay = Relay(addr, 22)
    try:
        db = os.path.join(workdir, unique("pw") + ".db")
        m = new_mount(db, {"sx": f"ssh://{pw_user}@{addr}{sock}"}, options=("allow_other",))
        register_user(m, crew["gadmin"], admin=True)
        hd = m.p("hosts", "sx")
        # the server's key under both names, so that only the password
        # decides what the new url gets
        with open(fleet_env["FLEET_SSH_KNOWN_HOSTS"]) as f:
            kh = f.read().strip().split("\n")[0]
        key = kh.split(None, 1)[1]
        write_file(os.path.join(hd, "ssh", "known_hosts"),
                   f"{kh}\n[127.0.0.1]:{relay.port} {key}\n")
        write_file(os.path.join(hd, "ssh", "password"), fleet_env["FLEET_SSH_PASSWORD"] + "\n")
        wait_status(m, "sx", "healthy")
        crew["gadmin"].write(os.path.join(hd, "url"),
                             f"ssh://root@127.0.0.1:{relay.port}{sock}\n").expect_ok()
        # give the host's worker time to connect (it retries within 5 s)
        time.sleep(4)
        ports = list(relay.src_ports)
        with open(fleet_env["FLEET_SSH_LOG"], errors="replace") as f:
            log = f.read()
        tried = [l for l in log.splitlines() if "password for" in l
                 and any(re.search(rf"port {p}\b", l) for p in ports)]
        assert not tried, f"the stored password was sent to the new url: {tried}"
        assert read_text(os.path.join(hd, "ssh", "password")) == "unset\n", \
            "the password survived the url change"
        m.stop_ok()
    finally:
        relay.stop()


# ---- 8. registry files that another user made or can write -----------------------------

def start_bg(mnt, db, solo):
    return run([DOCKFS_BIN, mnt, "--db", db, "--host", f"solo={solo.url}"], check=False,
               timeout=30)


def unmount(mnt):
    for _ in range(20):
        if not mounted(mnt) or run(["fusermount3", "-u", mnt], check=False).returncode == 0:
            break
        time.sleep(0.2)
    if mounted(mnt):
        run(["fusermount3", "-uz", mnt], check=False)


REGISTRY_CASES = ("other-owned-db-and-key", "other-owned-db", "other-owned-key", "symlink-db",
                  "group-writable-key", "world-writable-db")


@pytest.mark.parametrize("case", REGISTRY_CASES)
def test_registry_files_refused(workdir, solo, crew, case):
    """Fails without the fix: dockfs opens what another user made (and
    could have read or swapped)."""
    d = tempfile.mkdtemp(prefix="reg.", dir=workdir)
    mnt = tempfile.mkdtemp(prefix="mnt.", dir=workdir)
    db, key = os.path.join(d, "fleet.db"), os.path.join(d, "fleet.db.key")
    other = crew["nolevel"]
    named = db
    if case == "other-owned-key":
        # in a directory only root may write (a planted file is refused for
        # its directory first): the key's owner alone must be enough
        os.chmod(d, 0o700)
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(key, 0o600)
        os.chown(key, other.uid, -1)
        named = key
    elif case.startswith("other-owned"):
        os.chmod(d, 0o1777)
        script = ""
        if "db" in case.split("-owned-")[1]:
            script += ': > "$1"; chmod 600 "$1"; '
        if "key" in case.split("-owned-")[1]:
            script += 'head -c 32 /dev/urandom > "$2"; chmod 600 "$2"; '
            named = db if "db" in case.split("-owned-")[1] else key
        p = other.sh("umask 077; " + script, db, key)
        assert p.returncode == 0, p.stderr
    elif case == "symlink-db":
        os.chmod(d, 0o700)
        os.symlink(os.path.join(d, "elsewhere.db"), db)
    elif case == "group-writable-key":
        os.chmod(d, 0o700)
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(key, 0o660)
        named = key
    elif case == "world-writable-db":
        os.chmod(d, 0o700)
        p = start_bg(mnt, db, solo)        # a good registry first
        assert p.returncode == 0, p.stderr
        unmount(mnt)
        wait_until(lambda: not mounted(mnt), 10, "unmounted")
        time.sleep(0.5)
        os.chmod(db, 0o666)
    try:
        p = start_bg(mnt, db, solo)
        assert p.returncode == 1, f"{case}: dockfs started (exit {p.returncode}): {p.stderr}"
        assert not mounted(mnt)
        assert named in p.stderr or os.path.basename(named) in p.stderr, p.stderr
        if case == "symlink-db":
            assert not os.path.exists(os.path.join(d, "elsewhere.db"))
    finally:
        unmount(mnt)


# ---- 9. inotify tells nobody about hosts they may not see -----------------------------------

def inotify_cmd(*paths):
    return ["inotifywait", "-m", "--format", "%w%f|%e", *paths]


class Watcher:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.lines, self.err = [], []
        self.ready = threading.Event()
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._errs, daemon=True).start()
        if not self.ready.wait(20):
            self.stop()
            raise AssertionError(f"inotifywait did not start: {self.err}")

    def _out(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def _errs(self):
        for line in self.proc.stderr:
            self.err.append(line.rstrip())
            if "Watches established" in line:
                self.ready.set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def test_inotify_shows_nothing_of_unseen_hosts(mount, solo, crew, cleanup):
    """Fails without the fix: the notifier's events on M/containers and
    M/images reach every watcher, whatever its level."""
    nolevel = crew["nolevel"]
    views = (mount.p("containers"), mount.p("images"))
    theirs = Watcher(nolevel.argv(*inotify_cmd(*views)))
    # The control: root's watch of solo's own directories (the all-hosts
    # views announce only hosts every local user may see, which solo is not
    # on this mount: test_inotify covers a mount where it is).
    ours = Watcher(inotify_cmd(mount.p("hosts", "solo", "containers"),
                               mount.p("hosts", "solo", "images")))
    try:
        c = cleanup.container(solo, unique("ino"))
        tag = cleanup.image_tag(solo, f"{unique('ino')}:1")
        solo.docker("create", "--name", c, IMAGE, "true")
        solo.docker("tag", IMAGE, tag)
        # the control: root's watch sees both come and go
        wait_until(lambda: any(f"/{c}|" in l and "CREATE" in l for l in ours.lines), 5,
                   f"root's watch to see {c} come ({ours.lines[-5:]})")
        wait_until(lambda: any(f"/{escape_name(tag)}|" in l and "CREATE" in l
                               for l in ours.lines), 5, f"root's watch to see {tag} come")
        solo.docker("rm", c)
        solo.docker("rmi", tag)
        wait_until(lambda: any(f"/{c}|" in l and "DELETE" in l for l in ours.lines), 5,
                   f"root's watch to see {c} go")
        time.sleep(1)
        leaked = [l for l in theirs.lines if "solo:" in l or c in l]
        assert not leaked, f"a user with no level was told: {leaked}"
    finally:
        theirs.stop()
        ours.stop()


# ---- 10. audit -----------------------------------------------------------------------------

def test_audit_denied_create_rows(mount, mgr, crew, swarm):
    """Fails without the fix: a refused O_CREAT (create(2) in FUSE, not
    open) leaves no row."""
    v = crew["viewer"]
    node = next(n for n in os.listdir(os.path.join(swarm, "nodes"))
                if read_text(os.path.join(swarm, "nodes", n, "role")).strip() == "manager")
    sec = unique("sec")
    for path in (os.path.join(swarm, "secrets", sec),
                 os.path.join(swarm, "nodes", node, "labels", unique("k"))):
        marker = audit_marker(mount)
        p = v.sh('echo x > "$1"', path)
        assert p.returncode != 0 and "Permission denied" in p.stderr, (path, p.stderr)
        rows = [r for r in audit_rows(mount, marker) if r["user"] == v.name]
        assert rows, f"no audit row for the refused create of {path}"
        assert rows[-1]["outcome"] == "denied" and errno_matches(rows[-1]["errno"],
                                                                 errno.EACCES), rows[-1]
    assert sec not in mgr.out("secret", "ls", "--format", "{{.Name}}").split()


def test_audit_padded_body_details(mount, solo, crew, cleanup):
    """Fails without the fix: the details are cut before the field that
    was refused."""
    n = cleanup.container(solo, unique("pad"))
    text = ('{"Name":"%s","Image":"%s","Cmd":["sleep","600"],"Labels":{"pad":"%s"},'
            '"HostConfig":{"PidMode":"host"}}' % (n, IMAGE, "x" * 50000))
    marker = audit_marker(mount)
    since = time.time() - 1
    op = crew["operator"]
    op.write(ctl(mount), text).expect_errno(REFUSED)
    assert_no_container(solo, n, since)
    rows = [r for r in audit_rows(mount, marker) if r["user"] == op.name]
    assert rows and rows[-1]["outcome"] == "denied", rows
    assert "PidMode" in json.dumps(rows[-1]["details"]), \
        f"the row does not say what was refused: {str(rows[-1]['details'])[-200:]}"


def test_audit_invalid_utf8(mount, solo, crew, cleanup):
    """Rows of writes that are not UTF-8 are listed, and M/audit stays one
    valid JSON object a line (in UTF-8)."""
    c = cleanup.container(solo, unique("u8"))
    solo.docker("run", "-d", "--name", c, IMAGE, "sh", "-c", LOOP)
    wait_listed_in(mount, "solo", "containers", c)
    op = crew["operator"]
    marker = audit_marker(mount)
    op.write(mount.p("hosts", "solo", "containers", c, "ctl"), b"stop\xff\n") \
        .expect_errno(errno.EINVAL)
    op.write(ctl(mount), b"create --name \xff\xfe " + IMAGE.encode() + b" true\n") \
        .expect_errno(errno.EINVAL)
    assert solo.inspect(c, "{{.State.Status}}") == "running"
    with open(mount.p("audit"), "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")          # strict: raises on a byte that is not UTF-8
    for i, line in enumerate(text.splitlines()):
        if line.strip():
            assert isinstance(json.loads(line), dict), f"line {i}: {line[:200]!r}"
    rows = [r for r in parse_audit(text) if r["id"] > marker and r["user"] == op.name]
    assert len(rows) >= 2, f"the refused writes left {len(rows)} rows: {rows}"
    # and what the user reads of its own rows is valid too
    mine = op.read(mount.p("audit")).expect_ok().data
    parse_audit(mine)


# ---- 11. secrets are the manager admins' -------------------------------------------------

@pytest.fixture
def secret(mgr, swarm, services):
    """A secret made by root with the CLI, once the mount knows it (a name
    is resolved from the model)."""
    name = unique("sec")
    mgr.docker("secret", "create", name, "-", input="s3cret")
    services.append(("secret", name))
    wait_until(lambda: name in os.listdir(os.path.join(swarm, "secrets")), 5,
               f"secret {name} under secrets/")
    return name


def test_operator_cannot_attach_secret(mount, mgr, crew, swarm, services, secret):
    """Fails without the fix: an operator reads any secret by attaching it."""
    ctlp = os.path.join(swarm, "services", ".ctl")
    op = crew["operator"]
    name = unique("sse")
    services.append(("service", name))
    op.write(ctlp, f"create --name {name} --secret {secret} {IMAGE} sleep 600\n") \
        .expect_errno(errno.EACCES)
    assert_no_service(mgr, name)
    sid = mgr.out("secret", "inspect", "--format", "{{.ID}}", secret)
    for i, ref in enumerate(({"SecretName": secret, "SecretID": sid},
                             {"SecretName": secret},
                             {"SecretID": sid})):
        ref = dict(ref, File={"Name": "s", "UID": "0", "GID": "0", "Mode": 292})
        name = unique("ssj")
        services.append(("service", name))
        spec = {"Name": name, "TaskTemplate": {"ContainerSpec": {
            "Image": IMAGE, "Args": ["sleep", "600"], "Secrets": [ref]}}}
        op.write(ctlp, json.dumps(spec)).expect_errno(errno.EACCES, f"spec {i}")
        assert_no_service(mgr, name)


def test_operator_cannot_add_secret_by_spec_json(mount, mgr, crew, swarm, services, secret):
    """Fails without the fix: the same through a service's spec.json."""
    name = unique("sss")
    services.append(("service", name))
    mgr.docker("service", "create", "-d", "--name", name, IMAGE, "sleep", "600")
    d = os.path.join(swarm, "services", name)
    wait_until(lambda: os.path.isdir(d), 5, f"{name} under services/")
    before = json.loads(mgr.out("service", "inspect", name))[0]
    spec = before["Spec"]
    sid = mgr.out("secret", "inspect", "--format", "{{.ID}}", secret)
    spec["TaskTemplate"]["ContainerSpec"]["Secrets"] = [
        {"SecretName": secret, "SecretID": sid,
         "File": {"Name": "s", "UID": "0", "GID": "0", "Mode": 292}}]
    crew["operator"].write(os.path.join(d, "spec.json"), json.dumps(spec)) \
        .expect_errno(errno.EACCES)
    assert json.loads(mgr.out("service", "inspect", name))[0]["Version"] == before["Version"]


def test_admin_may_attach_secret_operator_config(mount, mgr, crew, swarm, services, secret):
    """Controls: the manager's admin attaches the secret; an operator
    attaches a config (configs are not secret)."""
    ctlp = os.path.join(swarm, "services", ".ctl")
    name = unique("sad")
    services.append(("service", name))
    crew["mgradm"].write(ctlp, f"create --name {name} --secret {secret} {IMAGE} sleep 600\n") \
        .expect_ok()
    cs = json.loads(mgr.out("service", "inspect", name))[0]["Spec"]["TaskTemplate"][
        "ContainerSpec"]
    assert cs["Secrets"][0]["SecretName"] == secret
    cfg = unique("cfg")
    mgr.docker("config", "create", cfg, "-", input="k=v\n")
    services.append(("config", cfg))
    wait_until(lambda: cfg in os.listdir(os.path.join(swarm, "configs")), 5,
               f"config {cfg} under configs/")
    name2 = unique("scf")
    services.append(("service", name2))
    crew["operator"].write(ctlp, f"create --name {name2} --config {cfg} {IMAGE} sleep 600\n") \
        .expect_ok()
    cs = json.loads(mgr.out("service", "inspect", name2))[0]["Spec"]["TaskTemplate"][
        "ContainerSpec"]
    assert cs["Configs"][0]["ConfigName"] == cfg


# ---- the fuzz ---------------------------------------------------------------------------------

ALLOWED = {
    "Env": lambda r: [f"K{r.randrange(100)}=v{r.randrange(100)}"],
    "WorkingDir": lambda r: r.choice(["/tmp", "/", "/var"]),
    "User": lambda r: r.choice(["1000", "nobody", "0", "1000:1000"]),
    "Tty": lambda r: r.choice([True, False]),
    "StopSignal": lambda r: "SIGTERM",
}
ALLOWED_HC = {
    # a retry count only with on-failure: the engine refuses it otherwise
    "RestartPolicy": lambda r: r.choice([{"Name": "no"}, {"Name": "always"},
                                         {"Name": "on-failure"},
                                         {"Name": "on-failure", "MaximumRetryCount": 2}]),
    "Memory": lambda r: 64 * 1024 * 1024,
    "PortBindings": lambda r: {"80/tcp": [{"HostPort": str(r.randrange(20000, 30000))}]},
    "CpuShares": lambda r: 512,
    "ReadonlyRootfs": lambda r: r.choice([True, False]),
}
DANGEROUS = {
    "Privileged": lambda r, o: True,
    "PidMode": lambda r, o: r.choice(["host", "HOST", f"container:{o}"]),
    "IpcMode": lambda r, o: r.choice(["host", f"container:{o}"]),
    "UTSMode": lambda r, o: "host",
    "NetworkMode": lambda r, o: r.choice(["host", "Host", f"container:{o}"]),
    "CapAdd": lambda r, o: [r.choice(["SYS_ADMIN", "SYS_PTRACE", "ALL"])],
    "SecurityOpt": lambda r, o: [r.choice(["seccomp=unconfined", "apparmor=unconfined"])],
    "Devices": lambda r, o: [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/xnull",
                              "CgroupPermissions": "rwm"}],
    "VolumesFrom": lambda r, o: [o],
    "Sysctls": lambda r, o: {"kernel.shm_rmid_forced": "1"},
    "CgroupParent": lambda r, o: "dockfs-fuzz",
    "Binds": lambda r, o: [r.choice(["/:/host", "/etc:/x:ro", "/var/run:/r"])],
    "Mounts": lambda r, o: [{"Type": r.choice(["bind", "BIND", "Bind"]),
                             "Source": "/etc", "Target": "/x"}],
}


def spell(key, r):
    """A spelling of key the engine's decoder takes for it."""
    x = r.random()
    if x < 0.45:
        return key
    if x < 0.55:
        return key.lower()
    if x < 0.62:
        return key.upper()
    out = []
    for ch in key:
        if ch in "sS" and r.random() < 0.7:
            out.append(S_LONG)
        elif ch in "kK" and r.random() < 0.7:
            out.append(KELVIN)
        elif r.random() < 0.2:
            out.append(ch.swapcase())
        else:
            out.append(ch)
    return "".join(out)


def obj_text(pairs):
    """A JSON object from (key, value) pairs, keys possibly repeated;
    a value that is a list of pairs is an object too."""
    parts = []
    for k, v in pairs:
        vt = obj_text(v) if isinstance(v, Pairs) else json.dumps(v, ensure_ascii=False)
        parts.append(json.dumps(k, ensure_ascii=False) + ":" + vt)
    return "{" + ",".join(parts) + "}"


class Pairs(list):
    pass


def fuzz_body(r, name, run_label, other, safe):
    """(text, what) of a random create body.  Name and the run's label are
    spelled as the API spells them, so what the engine makes is found."""
    top = Pairs([("Name", name), ("Image", IMAGE), ("Cmd", ["true"]),
                 ("Labels", {"dockfs.fuzz": run_label, f"l{r.randrange(9)}": "v"})])
    hc = Pairs()
    what = []
    for k, gen in ALLOWED.items():
        if r.random() < 0.3:
            top.append((k if safe else spell(k, r), gen(r)))
    for k, gen in ALLOWED_HC.items():
        if r.random() < 0.3:
            hc.append((k if safe else spell(k, r), gen(r)))
    if not safe:
        if r.random() < 0.2:
            top[1] = (spell("Image", r), IMAGE)
        for k in r.sample(sorted(DANGEROUS), r.randrange(1, 4)):
            v = DANGEROUS[k](r, other)
            where = top if r.random() < 0.4 else hc
            what.append(k)
            if r.random() < 0.3:        # twice: a harmless value in another spelling
                harmless = Pairs([(spell(k, r), False if isinstance(v, bool) else
                                   ("" if isinstance(v, str) else []))])
                pair = (spell(k, r), v)
                where.extend([pair] + harmless if r.random() < 0.5 else harmless + [pair])
            else:
                where.append((spell(k, r), v))
    if hc or r.random() < 0.1:
        hcs = "HostConfig" if safe else spell("HostConfig", r)
        top.append((hcs, hc))
        if not safe and r.random() < 0.1:   # a second HostConfig in another spelling
            top.append((spell("HostConfig", r), Pairs([("Privileged", True)])))
            what.append("HostConfig twice")
    r.shuffle(top)
    return obj_text(top), what


def fuzz_made(solo, run_label):
    filters = json.dumps({"label": [f"dockfs.fuzz={run_label}"]})
    from urllib.parse import quote
    st, lst = solo.api(f"/containers/json?all=1&filters={quote(filters)}")
    assert st == 200, lst
    return [c["Id"] for c in lst]


def test_create_fuzz(mount, solo, crew, host_rooted):
    """Random create bodies by the operator: each is refused with nothing
    made, or made with nothing an operator may not have.  One body in ten
    is all canonical and harmless, and must be made.  DOCKFS_FUZZ_N sets
    the count (150), DOCKFS_FUZZ_SEED the seed (printed on failure)."""
    n = int(os.environ.get("DOCKFS_FUZZ_N", "150"))
    seed = int(os.environ.get("DOCKFS_FUZZ_SEED", str(random.randrange(1 << 30))))
    signal.alarm(max(TEST_ALARM, 2 * n))
    r = random.Random(seed)
    run_label = unique("fz")
    op = crew["operator"]
    failures, stats = [], {"refused": 0, "made": 0}
    try:
        for i in range(n):
            safe = i % 10 == 0
            name = unique("fz")
            text, what = fuzz_body(r, name, run_label, host_rooted, safe)
            res = op.write(ctl(mount), text)
            made = fuzz_made(solo, run_label)
            if res.ok:
                stats["made"] += 1
                if not made:
                    failures.append(f"#{i}: write ok, nothing made: {text}")
            else:
                stats["refused"] += 1
                if res.errno not in REFUSED:
                    failures.append(f"#{i}: errno {res.errno} ({res.get('msg')}): {text}")
                if safe:
                    failures.append(f"#{i}: a harmless canonical body refused: {text} "
                                    f"({cerror(mount, op).strip()})")
                if made:
                    failures.append(f"#{i}: refused, but the engine made {made}: {text}")
            for cid in made:
                bad = dangers(solo, cid)
                if bad:
                    failures.append(f"#{i}: made with {bad} (asked {what}): {text}")
                solo.api(f"/containers/{cid}?force=1&v=1", method="DELETE")
            if len(failures) >= 10:
                break
    finally:
        for cid in fuzz_made(solo, run_label):
            solo.api(f"/containers/{cid}?force=1&v=1", method="DELETE")
        signal.alarm(TEST_ALARM)
    assert not failures, f"seed {seed} ({stats}):\n" + "\n".join(f[:1500] for f in failures)
