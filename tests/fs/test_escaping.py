"""Names on their way to an engine (dockfs issue 14, item 5).

Every verb that names an object is fed what could turn a name into another
path or query: "../", "..", "%2F", "?", "#", "+", spaces, NUL and newlines
(NUL and "/" only where a write's data carries them: a file name cannot),
as root and as an operator.  Each must fail with a clear errno (EINVAL for
a name the verb parses, ENOENT for a file name that names nothing, EACCES
where the caller may not act at all), leave its reason in `error` where a
write was refused, and leave the victims on the engines untouched: a
network, a volume, an image tag and a running container on solo; a node,
a service, a secret, a config and an overlay network on the mgr swarm.

Before docker_path(), `rm ../networks/N` written to images/.ctl reached the
engine as DELETE /networks/N (libcurl squashed the dot segments) and
`kill SIGRTMIN+3` failed: its '+' reached the query as a space.  The one
node attack here is made without `force` against the real worker (a
binary without the fix must not take the shared swarm apart: the engine
refuses to remove a live node without force) and with `force` against a
node id that does not exist.
"""
import errno
import json
import os
import shlex

import pytest

from conftest import (IMAGE, error_text, escape_name, read_text, register_user, run, unique,
                      unregister_user, wait_listed_in, wait_until, write_once)

# Whole arguments built from them around a victim name (filled in per test).
ARG_TEMPLATES = [
    "..", ".", "../{net}", "../networks/{net}", "../../networks/{net}", "../volumes/{vol}",
    "{img}/../../networks/{net}", "{img}%2F..%2F..%2Fnetworks%2F{net}", "{img}?force=1",
    "{img}#frag", "{img}+x", "{img} x", "{img}\x00", "{img}\n../networks/{net}",
    "%2E%2E", "a b", "a?b=c&d", "SIG+3", "{ctr}/../{ctr}",
]
NAME_TEMPLATES = [
    "..%2F..%2Fnetworks%2F{net}", "{net}%2F..", "{img_file}%2F..%2F..", "{net}?force=1",
    "{net}#x", "{net}+x", "{net} x", "{net}\nx", "%2E%2E", "a%2Fb",
]


@pytest.fixture(scope="module")
def swarm(mount, mgr):
    sid = mgr.out("info", "--format", "{{.Swarm.Cluster.ID}}")
    return wait_until(lambda: next((mount.p("swarms", n) for n in os.listdir(mount.p("swarms"))
                                    if read_text(mount.p("swarms", n, "id")).strip() == sid),
                                   None), 15, "the fleet swarm under M/swarms")


@pytest.fixture(scope="module")
def victims(mount, solo, mgr, swarm):
    """The objects an escape would reach, made with the docker CLI."""
    tag = unique("esc")
    v = {
        "net": f"{tag}-net", "vol": f"{tag}-vol", "img": f"{tag}/victim:1",
        "ctr": f"{tag}-ctr", "svc": f"{tag}-svc", "sec": f"{tag}-sec", "cfg": f"{tag}-cfg",
        "ovl": f"{tag}-ovl",
    }
    v["img_file"] = escape_name(v["img"])
    try:
        solo.docker("network", "create", v["net"])
        solo.docker("volume", "create", v["vol"])
        solo.docker("tag", IMAGE, v["img"])
        solo.docker("run", "-d", "--name", v["ctr"], IMAGE, "sh", "-c",
                    "trap 'exit 0' TERM; while :; do sleep 0.1; done")
        v["ctr_id"] = solo.inspect(v["ctr"], "{{.Id}}")
        v["node_id"] = mgr.out("node", "inspect", "wrk", "--format", "{{.ID}}")
        mgr.docker("service", "create", "-d", "--name", v["svc"], IMAGE, "sleep", "3600")
        mgr.docker("secret", "create", v["sec"], "-", input="s3cret")
        mgr.docker("config", "create", v["cfg"], "-", input="conf")
        mgr.docker("network", "create", "-d", "overlay", "--attachable", v["ovl"])
        for kind, name in (("networks", v["net"]), ("volumes", v["vol"]),
                           ("images", v["img_file"]), ("containers", v["ctr"])):
            wait_listed_in(mount, "solo", kind, name, timeout=10)
        for kind, name in (("services", v["svc"]), ("secrets", v["sec"]),
                           ("configs", v["cfg"]), ("networks", v["ovl"])):
            wait_until(lambda: name in os.listdir(os.path.join(swarm, kind)), 10,
                       f"{name} in {kind}")
        yield v
    finally:
        solo.docker("rm", "-f", v["ctr"], check=False)
        solo.docker("rmi", v["img"], check=False)
        solo.docker("volume", "rm", "-f", v["vol"], check=False)
        solo.docker("network", "rm", v["net"], check=False)
        mgr.docker("service", "rm", v["svc"], check=False)
        mgr.docker("secret", "rm", v["sec"], check=False)
        mgr.docker("config", "rm", v["cfg"], check=False)
        mgr.docker("network", "rm", v["ovl"], check=False)


def assert_intact(solo, mgr, v):
    """Every victim still there, the container still running (docker CLI)."""
    gone = []
    for engine, what, name in ((solo, "network", v["net"]), (solo, "volume", v["vol"]),
                               (solo, "image", v["img"]), (mgr, "node", v["node_id"]),
                               (mgr, "service", v["svc"]), (mgr, "secret", v["sec"]),
                               (mgr, "config", v["cfg"]), (mgr, "network", v["ovl"])):
        if engine.docker(what, "inspect", name, check=False).returncode != 0:
            gone.append(f"{what} {name} on {engine.name}")
    if solo.inspect(v["ctr"], "{{.State.Running}} {{.Name}}") != f"true /{v['ctr']}":
        gone.append(f"container {v['ctr']} no longer running under its name")
    assert not gone, "an escape reached: " + ", ".join(gone)


@pytest.fixture(scope="module")
def operator(mount, unix_users):
    """A user with the operator level on solo and mgr."""
    u = register_user(mount, unix_users.make("esco"), {"solo": "operator", "mgr": "operator"})
    yield u
    unregister_user(mount, u)


# A byte that is not text (a NUL, a control) is refused by the one rule of
# tree_write before any parser sees it: its message names it.
TEXT_RULE = ("takes UTF-8 text",)


# One process does a list of operations as one user (a process each would
# cost a quarter of a second: setpriv, python): each {"op", "path", "data"
# (hex), "errdir"} -> {"errno", "error"}, the `error` file read right after
# a refusal, before the next operation replaces it.
BATCH_SCRIPT = r'''
import json, os, sys
out = []
for req in json.loads(sys.stdin.read()):
    op, path = req["op"], req["path"]
    data = bytes.fromhex(req["data"]) if req.get("data") is not None else None
    res = {"errno": 0}
    try:
        if op in ("write", "create"):
            flags = os.O_WRONLY | os.O_TRUNC | (os.O_CREAT if op == "create" else 0)
            fd = os.open(path, flags, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        elif op == "open":
            os.close(os.open(path, os.O_RDONLY))
        elif op in ("mkdir", "rmdir", "unlink"):
            getattr(os, op)(path)
        else:
            raise SystemExit("unknown op " + op)
    except OSError as e:
        res["errno"] = e.errno
    except ValueError:          # an embedded NUL: the kernel never sees it
        res["errno"] = -1
    if res["errno"] and req.get("errdir"):
        try:
            err = os.path.join(req["errdir"], ".error")   # a collection's
            if not os.path.exists(err):
                err = os.path.join(req["errdir"], "error")
            with open(err, "rb") as f:
                res["error"] = f.read().decode(errors="replace").strip()
        except OSError as e:
            res["error"] = "<%d>" % e.errno
    out.append(res)
print(json.dumps(out))
'''


class Root:
    name = "root"

    def run(self, requests):
        return run(["/usr/bin/python3", "-I", "-c", BATCH_SCRIPT], timeout=100,
                   input=json.dumps(requests))


class Other:
    def __init__(self, user):
        self.user, self.name = user, user.name

    def run(self, requests):
        return self.user.run("/usr/bin/python3", "-I", "-c", BATCH_SCRIPT, timeout=100,
                             check=True, input=json.dumps(requests))


class Batch:
    """Attempts of one user, made together by check()."""

    def __init__(self, who):
        self.who, self.items = who, []

    def add(self, op, path, data, want, words, errdir):
        self.items.append((op, path, data, want, words, errdir))

    def failures(self):
        reqs = [{"op": op, "path": path, "errdir": errdir if words else None,
                 "data": None if data is None else data.encode().hex()}
                for op, path, data, want, words, errdir in self.items]
        results = json.loads(self.who.run(reqs).stdout)
        assert len(results) == len(reqs)
        failures = []
        for (op, path, data, want, words, errdir), res in zip(self.items, results):
            got = res["errno"]
            if got == -1:       # NUL in a path: what the kernel would say
                got = errno.EINVAL
            elif got not in want:
                failures.append(f"{op} {path!r} {data!r}: errno "
                                f"{errno.errorcode.get(got, got)}, wanted "
                                f"{[errno.errorcode[w] for w in want]}")
            elif got == errno.EINVAL and words and \
                    not any(w in res.get("error", "") for w in tuple(words) + TEXT_RULE):
                failures.append(f"{op} {path!r} {data!r}: error {res.get('error')!r}, "
                                f"wanted one of {words}")
        return failures


@pytest.fixture(params=["root", "operator"])
def who(request):
    if request.param == "root":
        return Root()
    return Other(request.getfixturevalue("operator"))


def quote(arg):
    """arg as one shell-quoted word for a ctl line, its control bytes left
    outside the quotes: the line splitter must see them (a NUL inside
    quotes is test_quoted_nul's case)."""
    out, piece = [], ""
    for ch in arg:
        if ch in "\x00\n\r":
            out.append((shlex.quote(piece) if piece else "") + ch)
            piece = ""
        else:
            piece += ch
    out.append(shlex.quote(piece) if piece or not out else "")
    return "".join(out)


def words(arg):
    """The forms of arg as a ctl word: control bytes outside quotes, and a
    newline or CR inside them too (the splitter passes those on)."""
    forms = [quote(arg)]
    if "\x00" not in arg and ("\n" in arg or "\r" in arg):
        forms.append(shlex.quote(arg))
    return forms


def fill(template, v):
    return template.format(**{k: v[k] for k in ("net", "vol", "img", "ctr", "img_file")})


def attack(who, op, path, data, want, words, errdir, batch):
    """One attempt, made by check(): its errno must be in want and, for
    EINVAL, `error` in errdir must then hold one of words."""
    batch.add(op, path, data, want, words, errdir)


def check(batch, solo, mgr, v):
    failures = batch.failures()
    assert not failures, "\n".join(failures)
    assert_intact(solo, mgr, v)


# ---- write data that names an object -----------------------------------------------

def test_images_ctl_rm(mount, solo, mgr, victims, who):
    batch = Batch(who)
    for host in ("solo", "mgr"):
        d = mount.p("hosts", host, "images")
        for t in ARG_TEMPLATES:
            for w in words(fill(t, victims)):
                for line in (f"rm {w}", f"rm {w} force"):
                        attack(who, "write", os.path.join(d, ".ctl"), line, (errno.EINVAL,),
                           ("not an image reference", "control byte", "rm REF"), d, batch)
    # the attack of the issue, against the real worker without force (see the
    # module's doc) and with force against a node that does not exist
    d = mount.p("hosts", "mgr", "images")
    for line in (f"rm ../nodes/{victims['node_id']}", f"rm ../../nodes/{victims['node_id']}",
                 "rm ../nodes/0123456789abcdefghijklmno force"):
        attack(who, "write", os.path.join(d, ".ctl"), line, (errno.EINVAL,),
               ("not an image reference",), d, batch)
    check(batch, solo, mgr, victims)


@pytest.mark.parametrize("kind", ["networks", "volumes"])
def test_objects_ctl_create(mount, solo, mgr, victims, who, kind):
    batch = Batch(who)
    d = mount.p("hosts", "solo", kind)
    for t in ARG_TEMPLATES:
        for w in words(fill(t, victims)):
            attack(who, "write", os.path.join(d, ".ctl"), f"create {w}", (errno.EINVAL,),
                   ("create NAME", "control byte"), d, batch)
    check(batch, solo, mgr, victims)


def test_container_ctl_verbs(mount, solo, mgr, victims, who):
    batch = Batch(who)
    d = mount.p("hosts", "solo", "containers", victims["ctr"])
    for t in ARG_TEMPLATES:
        for arg in words(fill(t, victims)):
            for verb in ("kill", "stop", "restart", "rm", "start", "pause"):
                attack(who, "write", os.path.join(d, "ctl"), f"{verb} {arg}", (errno.EINVAL,),
                       ("not a signal", "unknown command or bad argument",
                        "one command a write"), d, batch)
    check(batch, solo, mgr, victims)


def test_container_rename(mount, solo, mgr, victims, who):
    batch = Batch(who)
    d = mount.p("hosts", "solo", "containers", victims["ctr"])
    for t in ARG_TEMPLATES:
        attack(who, "write", os.path.join(d, "name"), fill(t, victims) + "\n", (errno.EINVAL,),
               ("container names are",), d, batch)
    check(batch, solo, mgr, victims)


def test_container_create_name(mount, solo, mgr, victims, who):
    batch = Batch(who)
    d = mount.p("hosts", "solo", "containers")
    before = solo.container_names()
    for t in ARG_TEMPLATES:
        for arg in words(fill(t, victims)):
            attack(who, "write", os.path.join(d, ".ctl"), f"create --name {arg} {IMAGE} true",
                   (errno.EINVAL,), ("container names are", "control byte", "quote"), d,
                   batch)
        body = json.dumps({"Name": fill(t, victims), "Image": IMAGE, "Cmd": ["true"]})
        attack(who, "write", os.path.join(d, ".ctl"), body, (errno.EINVAL,),
               ("container names are", "JSON"), d, batch)
    # (others' tests may make containers meanwhile: only ours are looked for)
    tried = {fill(t, victims) for t in ARG_TEMPLATES}
    assert not (solo.container_names() - before) & tried
    check(batch, solo, mgr, victims)


def test_service_ctl_verbs(mount, solo, mgr, victims, swarm, who):
    batch = Batch(who)
    d = os.path.join(swarm, "services", victims["svc"])
    for t in ARG_TEMPLATES:
        for arg in words(fill(t, victims)):
            for verb in ("scale", "update", "rm", "rollback"):
                attack(who, "write", os.path.join(d, "ctl"), f"{verb} {arg}", (errno.EINVAL,),
                       ("replicas takes a count", "commands: rollback", "rollback, update"),
                       d, batch)
    check(batch, solo, mgr, victims)


def test_node_ctl_rm(mount, solo, mgr, victims, swarm, who):
    batch = Batch(who)
    d = os.path.join(swarm, "nodes", "wrk")
    # an operator may not remove nodes at all: EACCES before anything is read
    want = (errno.EINVAL,) if who.name == "root" else (errno.EACCES,)
    for t in ARG_TEMPLATES:
        for w in words(fill(t, victims)):
            attack(who, "write", os.path.join(d, "ctl"), f"rm {w}", want, ("rm [force]",), d,
                   batch)
    check(batch, solo, mgr, victims)


def test_swarm_leave(mount, solo, mgr, victims, who):
    batch = Batch(who)
    d = mount.p("hosts", "mgr")
    # an operator may write hosts/H/ctl (test, reconnect): a line that does
    # not split is EINVAL before the level for `swarm` is asked
    want = (errno.EINVAL,) if who.name == "root" else (errno.EACCES, errno.EINVAL)
    for t in ARG_TEMPLATES:
        for w in words(fill(t, victims)):
            attack(who, "write", os.path.join(d, "ctl"), f"swarm leave {w}", want,
                   ("swarm leave [force]", "one command a write", "control byte"), d, batch)
    check(batch, solo, mgr, victims)


# ---- file names that name an object -------------------------------------------------

def test_local_object_names(mount, solo, mgr, victims, who):
    batch = Batch(who)
    for t in NAME_TEMPLATES:
        name = fill(t, victims)
        for kind in ("networks", "volumes"):
            d = mount.p("hosts", "solo", kind)
            attack(who, "mkdir", os.path.join(d, name), None, (errno.EINVAL,),
                   ("names are",), d, batch)
        for kind in ("networks", "volumes", "images"):
            d = mount.p("hosts", "solo", kind)
            attack(who, "rmdir", os.path.join(d, name), None, (errno.ENOENT,), (), d, batch)
        attack(who, "open", mount.p("hosts", "solo", "containers", name, "ctl"), None,
               (errno.ENOENT,), (), None, batch)
        attack(who, "open", mount.p("hosts", "solo", "images", name, "inspect.json"), None,
               (errno.ENOENT,), (), None, batch)
    check(batch, solo, mgr, victims)


def test_swarm_object_names(mount, solo, mgr, victims, swarm, who):
    batch = Batch(who)
    for t in NAME_TEMPLATES + [f"{victims['ovl']}%2F..", f"{victims['sec']}%2F..%2F.."]:
        name = fill(t, victims)
        d = os.path.join(swarm, "networks")
        attack(who, "mkdir", os.path.join(d, name), None, (errno.EINVAL,),
               ("network names are",), d, batch)
        attack(who, "rmdir", os.path.join(d, name), None, (errno.ENOENT,), (), d, batch)
        for kind in ("secrets", "configs"):
            d = os.path.join(swarm, kind)
            attack(who, "create", os.path.join(d, name), "x", (errno.EINVAL,),
                   ("names are 1-64",), d, batch)
            attack(who, "unlink", os.path.join(d, name), None, (errno.ENOENT,), (), d,
                   batch)
        for path in (os.path.join(swarm, "services", name, "ctl"),
                     os.path.join(swarm, "nodes", name, "ctl"),
                     os.path.join(swarm, "services", victims["svc"], "tasks", name, "state")):
            attack(who, "open", path, None, (errno.ENOENT,), (), None, batch)
    check(batch, solo, mgr, victims)


# ---- what escaping makes work -------------------------------------------------------

# 34 is glibc's SIGRTMIN, Docker's too: RTMIN+3 is 37 (busybox's trap has
# no RT names).
RT_TRAP = "trap 'echo got-rt' 37; trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done"


def test_kill_sigrtmin_plus_3(mount, solo, cleanup):
    name = cleanup.container(solo, unique("rt"))
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c", RT_TRAP)
    wait_until(lambda: "ready" in solo.docker("logs", name).stdout, 10, "the trap to be set")
    wait_listed_in(mount, "solo", "containers", name)
    d = mount.p("hosts", "solo", "containers", name)
    write_once(os.path.join(d, "ctl"), "kill SIGRTMIN+3\n")
    wait_until(lambda: "got-rt" in solo.docker("logs", name).stdout, 5,
               "the container's process to get SIGRTMIN+3")
    assert solo.inspect(name, "{{.State.Running}}") == "true"
    assert error_text(d) == ""


def test_escaped_references_reach_their_image(mount, solo, cleanup):
    """References with ':', '/' and a registry port, percent-encoded in the
    path, are the images the engine finds (inspect by reference and by id,
    DELETE by reference)."""
    tag = unique("escref")
    refs = [cleanup.image_tag(solo, f"registry:5000/{tag}/b:t1"),
            cleanup.image_tag(solo, f"{tag}/lib:t2"), cleanup.image_tag(solo, f"{tag}:t3")]
    for ref in refs:
        solo.docker("tag", IMAGE, ref)
        wait_listed_in(mount, "solo", "images", escape_name(ref))
        j = json.loads(read_text(mount.p("hosts", "solo", "images", escape_name(ref),
                                         "inspect.json")))
        assert ref in j["RepoTags"]
    write_once(mount.p("hosts", "solo", "images", ".ctl"), f"rm {refs[0]}\n")
    os.rmdir(mount.p("hosts", "solo", "images", escape_name(refs[1])))
    write_once(mount.p("hosts", "solo", "images", ".ctl"), f"rm {refs[2]}\n")
    for ref in refs:
        assert solo.docker("image", "inspect", ref, check=False).returncode != 0, ref
    assert solo.docker("image", "inspect", IMAGE, check=False).returncode == 0


@pytest.mark.parametrize("line", ["rm '{ref}\x00x'", "rm {ref}\\\x00x"])
def test_quoted_nul(mount, solo, cleanup, line):
    ref = cleanup.image_tag(solo, f"{unique('escnul')}:1")
    solo.docker("tag", IMAGE, ref)
    wait_listed_in(mount, "solo", "images", ref)
    try:
        write_once(mount.p("hosts", "solo", "images", ".ctl"), line.format(ref=ref) + "\n")
        raised = None
    except OSError as e:
        raised = e.errno
    assert solo.docker("image", "inspect", ref, check=False).returncode == 0, \
        f"{line!r} removed {ref}"
    assert raised == errno.EINVAL
