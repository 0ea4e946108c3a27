"""Users and permission levels, with real Unix users sharing one mount
(-o allow_other).  Commands run as those users through setpriv(1).

People (conftest.people): viewer, operator and hostadm (admin) on solo; gadmin
(a global admin: admin flag); stranger (a system user dockfs does not know);
spare (registered, no level).

The matrix tries every write path as every one of them and checks each
cell: the errno (EACCES for a refused write, ENOENT for what the caller may
not see), the engine (docker CLI) unchanged after a refusal or changed after
a success, and, for a refusal, an audit row with outcome "denied".
"""
import errno
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import (ENGINES, IMAGE, audit_marker, audit_rows, error_text, errno_matches,
                      escape_name, objects, parse_audit, read_text, register_user, unique,
                      unregister_user, wait_listed_in, wait_until, write_once)

OK = "ok"
DENY = errno.EACCES
HIDDEN = errno.ENOENT
EITHER = (errno.EACCES, errno.ENOENT)   # where the spec allows both

ROLES = ("viewer", "operator", "hostadm", "gadmin", "stranger")
OPERATOR_LEVEL = {"viewer": DENY, "operator": OK, "hostadm": OK, "gadmin": OK, "stranger": HIDDEN}
# logs* and exec: "a viewer reads everything except logs* and exec": refused
# (EACCES) or not there for it at all (ENOENT), both fit the spec.
OPERATOR_FILES = dict(OPERATOR_LEVEL, viewer=EITHER)
ADMIN_LEVEL = {"viewer": DENY, "operator": DENY, "hostadm": OK, "gadmin": OK, "stranger": HIDDEN}
GLOBAL_ADMIN = {"viewer": EITHER, "operator": EITHER, "hostadm": EITHER, "gadmin": OK,
                "stranger": EITHER}
# A host's url: its admins may not move it to another engine (they would hold
# that engine's root, and its credentials would follow).
HOST_URL = {"viewer": DENY, "operator": DENY, "hostadm": DENY, "gadmin": OK, "stranger": HIDDEN}
HOSTS_MKDIR = {"viewer": DENY, "operator": DENY, "hostadm": DENY, "gadmin": OK,
               "stranger": EITHER}
# tls/ and ssh/ are the host admin's: below it, refused or not there
CRED_LEVEL = {"viewer": EITHER, "operator": EITHER, "hostadm": OK, "gadmin": OK,
              "stranger": HIDDEN}
# hosts/HOST/ctl: operators and admins; a viewer does not find it (ENOENT)
HOST_CTL = dict(OPERATOR_LEVEL, viewer=EITHER)
# mkdir in images/ is no operation (EPERM) for whoever sees the directory;
# a viewer may be refused by its level first
IMAGES_MKDIR = {"viewer": (errno.EPERM, errno.EACCES), "operator": errno.EPERM,
                "hostadm": errno.EPERM, "gadmin": errno.EPERM, "stranger": HIDDEN}
# permissions/ of a host is the host admin's: a viewer may see it or not
PERMS_LEVEL = {"viewer": EITHER, "operator": EITHER, "hostadm": OK, "gadmin": OK,
               "stranger": HIDDEN}


def sp(mount, *rest):
    return mount.p("hosts", "solo", *rest)


def cp(mount, name, *rest):
    return mount.p("hosts", "solo", "containers", name, *rest)


CONTROL = {".ctl", ".error"}


def hosts_of(user, mount):
    """ls M/hosts as user, without the control files (error)."""
    return sorted(set(user.listdir(mount.p("hosts")).expect_ok().data) - CONTROL)


def image_exists(engine, ref):
    return engine.docker("image", "inspect", ref, check=False).returncode == 0


# ---- the write actions --------------------------------------------------------------
#
# Each: setup(ctx) prepares, act(user, ctx) -> Act, applied(ctx) asserts the
# engine changed, unchanged(ctx) asserts it did not, undo(ctx) restores
# what is not removed by the cleanup fixture.  audit: the expected action
# name of its audit row (None: the spec does not name it).

class Action:
    audit = None
    resource_type = None
    opened = None      # the file a refusal at open(2) names: audited as "open FILE"
    engine_errno = ()  # an allowed caller's errno when the engine (or the tree) refuses

    def setup(self, ctx):
        pass

    def undo(self, ctx):
        pass


class CtlStop(Action):
    audit = "stop"
    resource_type = "container"
    opened = "ctl"

    def setup(self, ctx):
        ctx.c = ctx.cleanup.container(ctx.solo, unique())
        ctx.solo.docker("run", "-d", "--name", ctx.c, IMAGE, "sh", "-c",
                        "trap 'exit 0' TERM; while :; do sleep 0.1; done")
        wait_listed_in(ctx.mount, "solo", "containers", ctx.c)
        ctx.before = ctx.solo.state(ctx.c)

    def act(self, user, ctx):
        return user.write(cp(ctx.mount, ctx.c, "ctl"), "stop\n")

    def applied(self, ctx):
        assert ctx.solo.inspect(ctx.c, "{{.State.Status}}") == "exited"

    def unchanged(self, ctx):
        assert ctx.solo.state(ctx.c) == ctx.before


class CtlStart(Action):
    audit = "start"
    resource_type = "container"
    opened = "ctl"

    def setup(self, ctx):
        ctx.c = ctx.cleanup.container(ctx.solo, unique())
        ctx.solo.docker("create", "--name", ctx.c, IMAGE, "sleep", "600")
        wait_listed_in(ctx.mount, "solo", "containers", ctx.c)
        ctx.before = ctx.solo.state(ctx.c)

    def act(self, user, ctx):
        return user.write(cp(ctx.mount, ctx.c, "ctl"), "start\n")

    def applied(self, ctx):
        assert ctx.solo.inspect(ctx.c, "{{.State.Status}}") == "running"

    def unchanged(self, ctx):
        assert ctx.solo.state(ctx.c) == ctx.before


class Create(Action):
    audit = "create"
    resource_type = "container"
    opened = ".ctl"

    def setup(self, ctx):
        ctx.n = ctx.cleanup.container(ctx.solo, unique())
        ctx.since = time.time() - 1

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "containers", ".ctl"), f"create --name {ctx.n} {IMAGE} true\n")

    def applied(self, ctx):
        assert ctx.solo.exists(ctx.n)

    def unchanged(self, ctx):
        assert not ctx.solo.exists(ctx.n)
        assert ctx.solo.created_events(ctx.since, ctx.n) == 0


class Exec(Action):
    opened = "exec"

    def setup(self, ctx):
        CtlStop.setup(self, ctx)
        ctx.marker = f"/tmp/{unique('x')}"

    def act(self, user, ctx):
        r = user.act("rw", cp(ctx.mount, ctx.c, "exec"), f"touch {ctx.marker}")
        ctx.result = r.data
        return r

    def applied(self, ctx):
        assert ctx.result == "[exit 0]\n", ctx.result
        assert ctx.solo.docker("exec", ctx.c, "test", "-e", ctx.marker, check=False).returncode == 0

    def unchanged(self, ctx):
        assert ctx.solo.docker("exec", ctx.c, "test", "-e", ctx.marker, check=False).returncode != 0


class Rename(Action):
    audit = "set name"
    resource_type = "container"
    opened = "name"

    def setup(self, ctx):
        CtlStop.setup(self, ctx)
        ctx.n2 = ctx.cleanup.container(ctx.solo, unique())

    def act(self, user, ctx):
        return user.write(cp(ctx.mount, ctx.c, "name"), ctx.n2 + "\n")

    def applied(self, ctx):
        assert ctx.solo.exists(ctx.n2) and not ctx.solo.exists(ctx.c)

    def unchanged(self, ctx):
        assert ctx.solo.exists(ctx.c) and not ctx.solo.exists(ctx.n2)


class NetMkdir(Action):
    audit = "mkdir"
    resource_type = "network"

    def setup(self, ctx):
        ctx.n = ctx.cleanup.network(ctx.solo, unique("net"))

    def act(self, user, ctx):
        return user.act("mkdir", sp(ctx.mount, "networks", ctx.n))

    def applied(self, ctx):
        assert ctx.n in ctx.solo.network_names()

    def unchanged(self, ctx):
        assert ctx.n not in ctx.solo.network_names()


class NetRmdir(NetMkdir):
    audit = "rmdir"

    def setup(self, ctx):
        NetMkdir.setup(self, ctx)
        ctx.solo.docker("network", "create", ctx.n)
        wait_listed_in(ctx.mount, "solo", "networks", ctx.n)

    def act(self, user, ctx):
        return user.act("rmdir", sp(ctx.mount, "networks", ctx.n))

    def applied(self, ctx):
        NetMkdir.unchanged(self, ctx)

    def unchanged(self, ctx):
        NetMkdir.applied(self, ctx)


class VolMkdir(Action):
    audit = "mkdir"
    resource_type = "volume"

    def setup(self, ctx):
        ctx.n = ctx.cleanup.volume(ctx.solo, unique("vol"))

    def act(self, user, ctx):
        return user.act("mkdir", sp(ctx.mount, "volumes", ctx.n))

    def applied(self, ctx):
        assert ctx.n in ctx.solo.volume_names()

    def unchanged(self, ctx):
        assert ctx.n not in ctx.solo.volume_names()


class VolRmdir(VolMkdir):
    audit = "rmdir"

    def setup(self, ctx):
        VolMkdir.setup(self, ctx)
        ctx.solo.docker("volume", "create", ctx.n)
        wait_listed_in(ctx.mount, "solo", "volumes", ctx.n)

    def act(self, user, ctx):
        return user.act("rmdir", sp(ctx.mount, "volumes", ctx.n))

    def applied(self, ctx):
        VolMkdir.unchanged(self, ctx)

    def unchanged(self, ctx):
        VolMkdir.applied(self, ctx)


class ImgRmdir(Action):
    audit = "rmdir"
    resource_type = "image"

    def setup(self, ctx):
        ctx.ref = ctx.cleanup.image_tag(ctx.solo, f"{unique('img')}:1")
        ctx.solo.docker("tag", IMAGE, ctx.ref)
        wait_listed_in(ctx.mount, "solo", "images", escape_name(ctx.ref))

    def act(self, user, ctx):
        return user.act("rmdir", sp(ctx.mount, "images", escape_name(ctx.ref)))

    def applied(self, ctx):
        assert not image_exists(ctx.solo, ctx.ref)
        assert image_exists(ctx.solo, IMAGE)

    def unchanged(self, ctx):
        assert image_exists(ctx.solo, ctx.ref)


class Prune(Action):
    """images/.ctl prune: the dangling image made here goes (busybox is in
    use by containers on solo, so it stays whatever prune removes)."""
    audit = "prune"
    opened = ".ctl"

    def setup(self, ctx):
        c = ctx.cleanup.container(ctx.solo, unique())
        ctx.solo.docker("create", "--name", c, IMAGE, "true")
        ctx.iid = ctx.solo.out("commit", "-c", f"LABEL dockfs.test={unique()}", c)
        ctx.cleanup.image_tag(ctx.solo, ctx.iid)
        ctx.solo.docker("rm", c)

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "images", ".ctl"), "prune\n")

    def applied(self, ctx):
        assert not image_exists(ctx.solo, ctx.iid)

    def unchanged(self, ctx):
        assert image_exists(ctx.solo, ctx.iid)


class Description(Action):
    audit = "set description"
    opened = "description"

    def setup(self, ctx):
        ctx.old = read_text(sp(ctx.mount, "description"))
        ctx.new = unique("desc")

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "description"), ctx.new + "\n")

    def applied(self, ctx):
        assert read_text(sp(ctx.mount, "description")) == ctx.new + "\n"

    def unchanged(self, ctx):
        assert read_text(sp(ctx.mount, "description")) == ctx.old

    def undo(self, ctx):
        if read_text(sp(ctx.mount, "description")) != ctx.old:
            write_once(sp(ctx.mount, "description"), ctx.old)


class Default(Action):
    """hosts/solo/default: flipped, then every host's flag put back."""
    audit = "set default"
    opened = "default"

    def setup(self, ctx):
        ctx.flags = {h: read_text(ctx.mount.p("hosts", h, "default")) for h in ENGINES}
        ctx.new = "0\n" if ctx.flags["solo"] == "1\n" else "1\n"

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "default"), ctx.new)

    def applied(self, ctx):
        assert read_text(sp(ctx.mount, "default")) == ctx.new

    def unchanged(self, ctx):
        assert {h: read_text(ctx.mount.p("hosts", h, "default")) for h in ENGINES} == ctx.flags

    def undo(self, ctx):
        for h, v in sorted(ctx.flags.items(), key=lambda kv: kv[1]):   # the 1 last
            if read_text(ctx.mount.p("hosts", h, "default")) != v:
                write_once(ctx.mount.p("hosts", h, "default"), v)


class Url(Action):
    """A refused write tries a bogus URL; an allowed one writes solo's own
    URL again (the host reconnects and must come back healthy)."""
    audit = "set url"
    opened = "url"

    def act(self, user, ctx):
        value = ctx.solo.url if ctx.expected == OK else "unix:///nonexistent/docker.sock"
        return user.write(sp(ctx.mount, "url"), value + "\n")

    def applied(self, ctx):
        assert read_text(sp(ctx.mount, "url")) == ctx.solo.url + "\n"
        ctx.mount.wait_healthy(["solo"])

    def unchanged(self, ctx):
        assert read_text(sp(ctx.mount, "url")) == ctx.solo.url + "\n"
        assert read_text(sp(ctx.mount, "status")) == "healthy\n"


class PermSet(Action):
    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "permissions", ctx.people["spare"].name), "viewer\n")

    def applied(self, ctx):
        assert read_text(sp(ctx.mount, "permissions", ctx.people["spare"].name)) == "viewer\n"

    def unchanged(self, ctx):
        assert read_text(sp(ctx.mount, "permissions", ctx.people["spare"].name)) == "none\n"

    def undo(self, ctx):
        try:
            os.unlink(sp(ctx.mount, "permissions", ctx.people["spare"].name))
        except FileNotFoundError:
            pass


class UsersMkdir(Action):
    audit = "mkdir"

    def setup(self, ctx):
        ctx.n = unique("u")

    def act(self, user, ctx):
        return user.act("mkdir", ctx.mount.p("users", ctx.n))

    def applied(self, ctx):
        assert ctx.n in os.listdir(ctx.mount.p("users"))

    def unchanged(self, ctx):
        assert ctx.n not in os.listdir(ctx.mount.p("users"))

    def undo(self, ctx):
        if ctx.n in os.listdir(ctx.mount.p("users")):
            os.rmdir(ctx.mount.p("users", ctx.n))


class HostsMkdir(Action):
    audit = "mkdir"

    def setup(self, ctx):
        ctx.n = unique("h")

    def act(self, user, ctx):
        return user.act("mkdir", ctx.mount.p("hosts", ctx.n))

    def applied(self, ctx):
        assert ctx.n in os.listdir(ctx.mount.p("hosts"))

    def unchanged(self, ctx):
        assert ctx.n not in os.listdir(ctx.mount.p("hosts"))

    def undo(self, ctx):
        if ctx.n in os.listdir(ctx.mount.p("hosts")):
            os.rmdir(ctx.mount.p("hosts", ctx.n))


class CtlVerb(Action):
    """A container ctl verb on a running container (kill, pause, restart)."""
    resource_type = "container"
    opened = "ctl"
    verb, after = None, None

    def setup(self, ctx):
        CtlStop.setup(self, ctx)

    def act(self, user, ctx):
        return user.write(cp(ctx.mount, ctx.c, "ctl"), self.verb + "\n")

    def applied(self, ctx):
        assert ctx.solo.inspect(ctx.c, "{{.State.Status}}") == self.after

    def unchanged(self, ctx):
        assert ctx.solo.state(ctx.c) == ctx.before


class CtlKill(CtlVerb):
    audit, verb, after = "kill", "kill", "exited"


class CtlPause(CtlVerb):
    audit, verb, after = "pause", "pause", "paused"


class CtlUnpause(CtlVerb):
    audit, verb, after = "unpause", "unpause", "running"

    def setup(self, ctx):
        CtlStop.setup(self, ctx)
        ctx.solo.docker("pause", ctx.c)
        ctx.before = ctx.solo.state(ctx.c)


class CtlRestart(CtlVerb):
    audit, verb, after = "restart", "restart 0", "running"

    def applied(self, ctx):
        assert ctx.solo.state(ctx.c) != ctx.before       # started again
        CtlVerb.applied(self, ctx)


class CtlRm(CtlVerb):
    audit, verb = "rm", "rm"

    def setup(self, ctx):
        CtlStart.setup(self, ctx)       # created, not running

    def applied(self, ctx):
        assert not ctx.solo.exists(ctx.c)


class Run(Create):
    audit = "run"

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "containers", ".ctl"),
                          f"run --name {ctx.n} {IMAGE} sleep 600\n")

    def applied(self, ctx):
        assert ctx.solo.inspect(ctx.n, "{{.State.Status}}") == "running"


class ImgCtlRm(ImgRmdir):
    audit = "rm"
    opened = ".ctl"

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "images", ".ctl"), f"rm {ctx.ref}\n")


class ImgMkdir(Action):
    """No such operation: EPERM for whoever sees the directory."""
    audit = "mkdir"
    resource_type = "image"

    def setup(self, ctx):
        ctx.n = unique("img")

    def act(self, user, ctx):
        return user.act("mkdir", sp(ctx.mount, "images", ctx.n))

    def applied(self, ctx):
        assert not image_exists(ctx.solo, ctx.n)

    unchanged = applied


class NetCtlCreate(NetMkdir):
    audit = "create"
    opened = ".ctl"

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "networks", ".ctl"), f"create {ctx.n}\n")


class VolCtlCreate(VolMkdir):
    audit = "create"
    opened = ".ctl"

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "volumes", ".ctl"), f"create {ctx.n}\n")


class PruneOf(Action):
    """networks/.ctl or volumes/.ctl prune.  Done for real only with
    DOCKFS_PRUNE=1: on the shared fleet it would remove what other runs
    just made and have not used yet; without it the allowed cells are
    skipped and the refusals still checked."""
    audit = "prune"
    opened = ".ctl"
    kind = None

    def setup(self, ctx):
        if ctx.expected == OK and os.environ.get("DOCKFS_PRUNE") != "1":
            pytest.skip("a real prune of the shared fleet: set DOCKFS_PRUNE=1")
        ctx.n = unique("prn")
        if self.kind == "networks":
            ctx.cleanup.network(ctx.solo, ctx.n)
            ctx.solo.docker("network", "create", ctx.n)
        else:
            ctx.cleanup.volume(ctx.solo, ctx.n)
            ctx.solo.docker("volume", "create", ctx.n)

    def names(self, ctx):
        return ctx.solo.network_names() if self.kind == "networks" else ctx.solo.volume_names()

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, self.kind, ".ctl"), "prune\n")

    def applied(self, ctx):
        assert ctx.n not in self.names(ctx)

    def unchanged(self, ctx):
        assert ctx.n in self.names(ctx)


class NetPrune(PruneOf):
    kind = "networks"


class VolPrune(PruneOf):
    kind = "volumes"


class Insecure(Action):
    """hosts/solo/insecure: an allowed write sets the value it has (0), a
    refused one tries 1."""
    audit = "set insecure"
    opened = "insecure"

    def setup(self, ctx):
        assert read_text(sp(ctx.mount, "insecure")) == "0\n"

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "insecure"), "0\n" if ctx.expected == OK else "1\n")

    def applied(self, ctx):
        assert read_text(sp(ctx.mount, "insecure")) == "0\n"
        ctx.mount.wait_healthy(["solo"])

    unchanged = applied

    def undo(self, ctx):
        if read_text(sp(ctx.mount, "insecure")) != "0\n":
            write_once(sp(ctx.mount, "insecure"), "0\n")


class HostCtl(Action):
    """hosts/solo/ctl test | reconnect: operators and admins."""
    opened = "ctl"
    verb = None

    @property
    def audit(self):
        return self.verb

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "ctl"), self.verb + "\n")

    def applied(self, ctx):
        ctx.mount.wait_healthy(["solo"])

    unchanged = applied


class HostTest(HostCtl):
    verb = "test"


class HostReconnect(HostCtl):
    verb = "reconnect"


class HostSwarmLeave(HostCtl):
    """Membership is the host admin's; solo is in no swarm, so an allowed
    caller gets the engine's refusal (EAGAIN), and nothing happens."""
    audit = "swarm"
    engine_errno = (errno.EAGAIN,)

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "ctl"), "swarm leave\n")

    def applied(self, ctx):
        assert read_text(sp(ctx.mount, "type")) == "standalone\n"

    unchanged = applied


class CredSet(Action):
    """hosts/solo/ssh/password: set (solo is unix://, so it is only stored)."""
    audit = "set password"
    opened = "password"

    def act(self, user, ctx):
        return user.write(sp(ctx.mount, "ssh", "password"), unique("pw") + "\n")

    def applied(self, ctx):
        assert read_text(sp(ctx.mount, "ssh", "password")) == "set\n"

    def unchanged(self, ctx):
        assert read_text(sp(ctx.mount, "ssh", "password")) == "unset\n"

    def undo(self, ctx):
        if read_text(sp(ctx.mount, "ssh", "password")) != "unset\n":
            os.unlink(sp(ctx.mount, "ssh", "password"))


class CredUnlink(CredSet):
    audit = "unlink"

    def setup(self, ctx):
        write_once(sp(ctx.mount, "ssh", "password"), "root-set\n")

    def act(self, user, ctx):
        return user.act("unlink", sp(ctx.mount, "ssh", "password"))

    def applied(self, ctx):
        CredSet.unchanged(self, ctx)

    def unchanged(self, ctx):
        CredSet.applied(self, ctx)


class PermUnlink(PermSet):
    audit = "unlink"

    def setup(self, ctx):
        write_once(sp(ctx.mount, "permissions", ctx.people["spare"].name), "viewer\n")

    def act(self, user, ctx):
        return user.act("unlink", sp(ctx.mount, "permissions", ctx.people["spare"].name))

    def applied(self, ctx):
        PermSet.unchanged(self, ctx)

    def unchanged(self, ctx):
        PermSet.applied(self, ctx)


class HostRmdir(Action):
    """rmdir of a host of the test's own (solo's url), on which each
    person has the level they have on solo."""
    audit = "rmdir"

    def setup(self, ctx):
        ctx.n = unique("h")
        os.mkdir(ctx.mount.p("hosts", ctx.n))
        write_once(ctx.mount.p("hosts", ctx.n, "url"), ctx.solo.url + "\n")
        for role, level in (("viewer", "viewer"), ("operator", "operator"),
                            ("hostadm", "admin")):
            write_once(ctx.mount.p("hosts", ctx.n, "permissions", ctx.people[role].name),
                       level + "\n")

    def act(self, user, ctx):
        return user.act("rmdir", ctx.mount.p("hosts", ctx.n))

    def applied(self, ctx):
        assert ctx.n not in os.listdir(ctx.mount.p("hosts"))

    def unchanged(self, ctx):
        assert ctx.n in os.listdir(ctx.mount.p("hosts"))

    def undo(self, ctx):
        if ctx.n in os.listdir(ctx.mount.p("hosts")):
            os.rmdir(ctx.mount.p("hosts", ctx.n))


class UserFile(Action):
    """A file of M/users/NAME of a user made here (no system account)."""
    rel = value = None

    def setup(self, ctx):
        ctx.n = unique("u")
        os.mkdir(ctx.mount.p("users", ctx.n))
        ctx.before = read_text(ctx.mount.p("users", ctx.n, *self.rel))

    def act(self, user, ctx):
        return user.write(ctx.mount.p("users", ctx.n, *self.rel), self.value + "\n")

    def applied(self, ctx):
        assert read_text(ctx.mount.p("users", ctx.n, *self.rel)) == self.value + "\n"

    def unchanged(self, ctx):
        assert read_text(ctx.mount.p("users", ctx.n, *self.rel)) == ctx.before

    def undo(self, ctx):
        if ctx.n in os.listdir(ctx.mount.p("users")):
            os.rmdir(ctx.mount.p("users", ctx.n))


class UserUid(UserFile):
    audit, rel, value = "set uid", ("uid",), "4200042"


class UserAdmin(UserFile):
    audit, rel, value = "set admin", ("admin",), "1"


class UserPerm(UserFile):
    audit, rel, value = "set solo", ("permissions", "solo"), "viewer"


class UserPermUnlink(UserFile):
    audit, rel = "unlink", ("permissions", "solo")

    def setup(self, ctx):
        UserFile.setup(self, ctx)
        write_once(ctx.mount.p("users", ctx.n, "permissions", "solo"), "viewer\n")
        ctx.before = "viewer\n"

    def act(self, user, ctx):
        return user.act("unlink", ctx.mount.p("users", ctx.n, "permissions", "solo"))

    def applied(self, ctx):
        assert read_text(ctx.mount.p("users", ctx.n, "permissions", "solo")) == "none\n"


class UsersRmdir(UserFile):
    audit, rel = "rmdir", ("admin",)

    def act(self, user, ctx):
        return user.act("rmdir", ctx.mount.p("users", ctx.n))

    def applied(self, ctx):
        assert ctx.n not in os.listdir(ctx.mount.p("users"))

    def unchanged(self, ctx):
        assert ctx.n in os.listdir(ctx.mount.p("users"))


WRITES = {
    "ctl-stop": (CtlStop, OPERATOR_LEVEL),
    "ctl-start": (CtlStart, OPERATOR_LEVEL),
    "create": (Create, OPERATOR_LEVEL),
    "exec": (Exec, OPERATOR_FILES),
    "rename": (Rename, OPERATOR_LEVEL),
    "networks-mkdir": (NetMkdir, OPERATOR_LEVEL),
    "networks-rmdir": (NetRmdir, OPERATOR_LEVEL),
    "volumes-mkdir": (VolMkdir, OPERATOR_LEVEL),
    "volumes-rmdir": (VolRmdir, OPERATOR_LEVEL),
    "images-rmdir": (ImgRmdir, OPERATOR_LEVEL),
    "images-prune": (Prune, ADMIN_LEVEL),
    "host-description": (Description, ADMIN_LEVEL),
    "host-url": (Url, HOST_URL),
    "host-default": (Default, ADMIN_LEVEL),
    "host-permissions": (PermSet, PERMS_LEVEL),
    "users-mkdir": (UsersMkdir, GLOBAL_ADMIN),
    "hosts-mkdir": (HostsMkdir, HOSTS_MKDIR),
    "ctl-kill": (CtlKill, OPERATOR_LEVEL),
    "ctl-pause": (CtlPause, OPERATOR_LEVEL),
    "ctl-unpause": (CtlUnpause, OPERATOR_LEVEL),
    "ctl-restart": (CtlRestart, OPERATOR_LEVEL),
    "ctl-rm": (CtlRm, OPERATOR_LEVEL),
    "run": (Run, OPERATOR_LEVEL),
    "images-ctl-rm": (ImgCtlRm, OPERATOR_LEVEL),
    "images-mkdir": (ImgMkdir, IMAGES_MKDIR),
    "networks-ctl-create": (NetCtlCreate, OPERATOR_LEVEL),
    "volumes-ctl-create": (VolCtlCreate, OPERATOR_LEVEL),
    "networks-prune": (NetPrune, ADMIN_LEVEL),
    "volumes-prune": (VolPrune, ADMIN_LEVEL),
    "host-insecure": (Insecure, ADMIN_LEVEL),
    "host-ctl-test": (HostTest, HOST_CTL),
    "host-ctl-reconnect": (HostReconnect, HOST_CTL),
    "host-ctl-swarm": (HostSwarmLeave, dict(ADMIN_LEVEL, viewer=EITHER)),
    "host-ssh-password": (CredSet, CRED_LEVEL),
    "host-ssh-password-unlink": (CredUnlink, CRED_LEVEL),
    "host-permissions-unlink": (PermUnlink, PERMS_LEVEL),
    "hosts-rmdir": (HostRmdir, ADMIN_LEVEL),
    "users-uid": (UserUid, GLOBAL_ADMIN),
    "users-admin": (UserAdmin, GLOBAL_ADMIN),
    "users-permissions": (UserPerm, GLOBAL_ADMIN),
    "users-permissions-unlink": (UserPermUnlink, GLOBAL_ADMIN),
    "users-rmdir": (UsersRmdir, GLOBAL_ADMIN),
}


class Ctx:
    pass


def check_audit_row(a, ctx, user, marker, r, host="solo"):
    """Every attempt is judged in the audit log: an allowed one leaves a
    row ok (failed, with its errno, where the engine refused), a refused one
    a row denied (EACCES) or failed (EPERM: no such operation), and one on
    a path the caller cannot see (ENOENT) none at all."""
    rows = [x for x in audit_rows(ctx.mount, marker) if x.get("uid") == user.uid]
    what = f"{type(a).__name__} as {user.name}"
    if r.ok or (ctx.expected == OK and a.engine_errno):
        assert rows, f"{what}: no audit row"
        row = rows[-1]
        if r.ok:
            assert row["outcome"] == "ok" and errno_matches(row["errno"], 0), row
        else:
            assert row["outcome"] == "failed" and errno_matches(row["errno"], r.errno), row
        if a.audit:
            assert row["action"] == a.audit, row
        assert row["user"] == user.name, row
        return
    if r.errno == errno.ENOENT:
        assert not rows, f"{what}: ENOENT (not seen), but audited: {rows}"
        return
    assert rows, f"{what}: no audit row for the refusal ({dict(r)})"
    row = rows[-1]
    assert row["uid"] == user.uid, row
    assert errno_matches(row["errno"], r.errno), row
    if r.errno == errno.EACCES:
        assert row["outcome"] == "denied", row
        # refused at open(2), before the command is known, the row may
        # name the file opened instead of the command
        if a.audit:
            assert row["action"] in (a.audit, f"open {a.opened}"), row
        if a.resource_type:
            assert row["host"] == host, row
    else:
        assert row["outcome"] == "failed", row


def run_cell(a, ctx, user, what, host="solo"):
    a.setup(ctx)
    try:
        marker = audit_marker(ctx.mount)
        r = a.act(user, ctx)
        if ctx.expected == OK and a.engine_errno and not r.ok:
            r.expect_errno(a.engine_errno, what)       # past the level, refused by the engine
            a.applied(ctx)
        elif ctx.expected == OK:
            r.expect_ok(what)
            a.applied(ctx)
        else:
            r.expect_errno(ctx.expected, what)
            a.unchanged(ctx)
        check_audit_row(a, ctx, user, marker, r, host)
    finally:
        a.undo(ctx)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(WRITES))
def test_write_matrix(mount, solo, people, cleanup, action, role):
    cls, table = WRITES[action]
    ctx = Ctx()
    ctx.mount, ctx.solo, ctx.cleanup, ctx.people = mount, solo, cleanup, people
    ctx.expected = table[role]
    run_cell(cls(), ctx, people[role], f"{action} as {role}")


# ---- the swarm's writes ------------------------------------------------------------------
#
# The same five levels, held on mgr (the swarm's manager host): a swarm's
# files are judged by the caller's level on the host that backs it.

@pytest.fixture(scope="module")
def swarm_people(mount, people, unix_users):
    """viewer, operator and hostadm (admin) on mgr; gadmin and stranger as
    in people."""
    p = {"gadmin": people["gadmin"], "stranger": people["stranger"]}
    made = []
    try:
        for role, level in (("viewer", "viewer"), ("operator", "operator"),
                            ("hostadm", "admin")):
            p[role] = register_user(mount, unix_users.make("s" + role[:3]), {"mgr": level})
            made.append(p[role])
        yield p
    finally:
        for u in made:
            unregister_user(mount, u)


@pytest.fixture(scope="module")
def swarm_dir(mount, mgr):
    sid = mgr.out("info", "--format", "{{.Swarm.Cluster.ID}}")
    return wait_until(lambda: next((mount.p("swarms", n) for n in os.listdir(mount.p("swarms"))
                                    if read_text(mount.p("swarms", n, "id")).strip() == sid),
                                   None), 15, "the fleet swarm under M/swarms")


def swp(ctx, *rest):
    return os.path.join(ctx.swarm, *rest)


class SwarmMade:
    """Services, secrets, configs, networks and node labels made on mgr,
    removed at the end."""

    def __init__(self, mgr):
        self.mgr, self.items = mgr, []

    def add(self, kind, name):
        self.items.append((kind, name))
        return name

    def run_all(self):
        for kind, name in reversed(self.items):
            if kind == "label":
                self.mgr.docker("node", "update", "--label-rm", name, "wrk", check=False)
            else:
                self.mgr.docker(kind, "rm", name, check=False)
        self.items = []


def svc_version(mgr, name):
    return json.loads(mgr.out("service", "inspect", name))[0]["Version"]["Index"]


def svc_exists(mgr, name):
    return mgr.docker("service", "inspect", name, check=False).returncode == 0


def node_field(mgr, fmt):
    return mgr.out("node", "inspect", "--format", fmt, "wrk")


class SvcCreate(Action):
    audit = "create"
    resource_type = "service"
    opened = ".ctl"

    def setup(self, ctx):
        ctx.n = ctx.made.add("service", unique("svc"))

    def act(self, user, ctx):
        return user.write(swp(ctx, "services", ".ctl"), f"create --name {ctx.n} {IMAGE} sleep 600\n")

    def applied(self, ctx):
        assert svc_exists(ctx.mgr, ctx.n)

    def unchanged(self, ctx):
        assert not svc_exists(ctx.mgr, ctx.n)


class SvcWrite(Action):
    """A write to a file of a service root made with the CLI."""
    resource_type = "service"

    def setup(self, ctx):
        ctx.n = ctx.made.add("service", unique("svc"))
        ctx.mgr.docker("service", "create", "-d", "--name", ctx.n, IMAGE, "sleep", "600")
        wait_until(lambda: os.path.isdir(swp(ctx, "services", ctx.n)), 5, f"{ctx.n} listed")
        ctx.version = svc_version(ctx.mgr, ctx.n)

    def spec(self, ctx):
        return json.loads(ctx.mgr.out("service", "inspect", ctx.n))[0]["Spec"]

    def applied(self, ctx):
        assert svc_version(ctx.mgr, ctx.n) > ctx.version

    def unchanged(self, ctx):
        assert svc_exists(ctx.mgr, ctx.n) and svc_version(ctx.mgr, ctx.n) == ctx.version


class SvcReplicas(SvcWrite):
    audit, opened = "set replicas", "replicas"

    def act(self, user, ctx):
        return user.write(swp(ctx, "services", ctx.n, "replicas"), "2\n")

    def applied(self, ctx):
        assert self.spec(ctx)["Mode"]["Replicated"]["Replicas"] == 2


class SvcImage(SvcWrite):
    audit, opened = "set image", "image"

    def act(self, user, ctx):
        return user.write(swp(ctx, "services", ctx.n, "image"), IMAGE + "\n")


class SvcSpec(SvcWrite):
    audit, opened = "set spec.json", "spec.json"

    def act(self, user, ctx):
        spec = self.spec(ctx)
        spec["TaskTemplate"]["ContainerSpec"]["Env"] = ["PERM=1"]
        return user.write(swp(ctx, "services", ctx.n, "spec.json"), json.dumps(spec))

    def applied(self, ctx):
        assert self.spec(ctx)["TaskTemplate"]["ContainerSpec"]["Env"] == ["PERM=1"]


class SvcScale(SvcReplicas):
    audit, opened = "scale", "ctl"

    def act(self, user, ctx):
        return user.write(swp(ctx, "services", ctx.n, "ctl"), "scale 2\n")


class SvcRm(SvcWrite):
    audit, opened = "rm", "ctl"

    def act(self, user, ctx):
        return user.write(swp(ctx, "services", ctx.n, "ctl"), "rm\n")

    def applied(self, ctx):
        assert not svc_exists(ctx.mgr, ctx.n)


class NodeWrite(Action):
    """A write of the value wrk already has (so that the fleet's swarm is
    never changed): an allowed one still updates the node (its version)."""
    resource_type = "node"
    file = value = None

    @property
    def audit(self):
        return f"set {self.file}"

    @property
    def opened(self):
        return self.file

    def setup(self, ctx):
        ctx.version = int(node_field(ctx.mgr, "{{.Version.Index}}"))

    def act(self, user, ctx):
        return user.write(swp(ctx, "nodes", "wrk", self.file), self.value + "\n")

    def applied(self, ctx):
        assert int(node_field(ctx.mgr, "{{.Version.Index}}")) > ctx.version

    def unchanged(self, ctx):
        # The version alone would do, but other modules running alongside
        # (node labels) move it too: then the node must still be as it was.
        # (The refusal itself is the errno and the audit row, checked for
        # every cell.)
        version = int(node_field(ctx.mgr, "{{.Version.Index}}"))
        if version != ctx.version:
            assert node_field(ctx.mgr, "{{.Spec.Availability}} {{.Spec.Role}}") == \
                "active worker", f"wrk changed: version {ctx.version} -> {version}"


class NodeAvailability(NodeWrite):
    file, value = "availability", "active"


class NodeRole(NodeWrite):
    file, value = "role", "worker"


class NodeLabel(Action):
    """nodes/wrk/labels/K: create (O_CREAT), write, unlink."""
    resource_type = "node"
    mode = None

    def setup(self, ctx):
        ctx.k = ctx.made.add("label", unique("k"))
        self.audit = "unlink" if self.mode == "unlink" else f"set {ctx.k}"
        self.opened = ctx.k
        if self.mode != "create":
            ctx.mgr.docker("node", "update", "--label-add", f"{ctx.k}=v", "wrk")
            wait_until(lambda: ctx.k in os.listdir(swp(ctx, "nodes", "wrk", "labels")), 5,
                       f"label {ctx.k} listed")

    def label(self, ctx):
        return json.loads(node_field(ctx.mgr, "{{json .Spec.Labels}}")).get(ctx.k)

    def act(self, user, ctx):
        path = swp(ctx, "nodes", "wrk", "labels", ctx.k)
        if self.mode == "create":
            return user.create(path, "v1\n")
        if self.mode == "write":
            return user.write(path, "v1\n")
        return user.act("unlink", path)

    def applied(self, ctx):
        assert self.label(ctx) == (None if self.mode == "unlink" else "v1")

    def unchanged(self, ctx):
        assert self.label(ctx) == (None if self.mode == "create" else "v")


class NodeLabelCreate(NodeLabel):
    mode = "create"


class NodeLabelWrite(NodeLabel):
    mode = "write"


class NodeLabelUnlink(NodeLabel):
    mode = "unlink"


class NodeRm(NodeWrite):
    """rm of wrk, which is up: an allowed caller gets the engine's refusal
    (a ready node is never removed without force), so the fleet stays."""
    audit, opened = "rm", "ctl"
    engine_errno = (errno.EINVAL, errno.EBUSY)

    def act(self, user, ctx):
        return user.write(swp(ctx, "nodes", "wrk", "ctl"), "rm\n")

    def applied(self, ctx):
        assert node_field(ctx.mgr, "{{.Status.State}}") == "ready"

    unchanged = applied


class SwarmObject(Action):
    """secrets/NAME and configs/NAME: create (O_CREAT) and unlink."""
    kind = mode = None

    def setup(self, ctx):
        ctx.n = ctx.made.add(self.kind, unique(self.kind[:3]))
        self.resource_type = self.kind
        self.audit = "unlink" if self.mode == "unlink" else f"set {ctx.n}"
        self.opened = ctx.n
        if self.mode == "unlink":
            ctx.mgr.docker(self.kind, "create", ctx.n, "-", input="data")
            wait_until(lambda: ctx.n in os.listdir(swp(ctx, self.kind + "s")), 5,
                       f"{self.kind} {ctx.n} listed")

    def exists(self, ctx):
        return ctx.n in ctx.mgr.out(self.kind, "ls", "--format", "{{.Name}}").split()

    def act(self, user, ctx):
        path = swp(ctx, self.kind + "s", ctx.n)
        if self.mode == "create":
            return user.create(path, "data")
        return user.act("unlink", path)

    def applied(self, ctx):
        assert self.exists(ctx) == (self.mode == "create")

    def unchanged(self, ctx):
        assert self.exists(ctx) == (self.mode == "unlink")


class SecretCreate(SwarmObject):
    kind, mode = "secret", "create"


class SecretUnlink(SwarmObject):
    kind, mode = "secret", "unlink"


class ConfigCreate(SwarmObject):
    kind, mode = "config", "create"


class ConfigUnlink(SwarmObject):
    kind, mode = "config", "unlink"


class SwarmNet(Action):
    resource_type = "network"
    mode = None

    def setup(self, ctx):
        ctx.n = ctx.made.add("network", unique("ovl"))
        self.audit = self.mode
        if self.mode == "rmdir":
            os.mkdir(swp(ctx, "networks", ctx.n))

    def act(self, user, ctx):
        return user.act(self.mode, swp(ctx, "networks", ctx.n))

    def applied(self, ctx):
        assert (ctx.n in ctx.mgr.network_names()) == (self.mode == "mkdir")

    def unchanged(self, ctx):
        assert (ctx.n in ctx.mgr.network_names()) == (self.mode == "rmdir")


class SwarmNetMkdir(SwarmNet):
    mode = "mkdir"


class SwarmNetRmdir(SwarmNet):
    mode = "rmdir"


class TokenRotate(Action):
    audit, opened = "set worker", "worker"

    def setup(self, ctx):
        ctx.token = ctx.mgr.out("swarm", "join-token", "-q", "worker")

    def act(self, user, ctx):
        return user.write(swp(ctx, "join-token", "worker"), "rotate\n")

    def applied(self, ctx):
        assert ctx.mgr.out("swarm", "join-token", "-q", "worker") != ctx.token

    def unchanged(self, ctx):
        assert ctx.mgr.out("swarm", "join-token", "-q", "worker") == ctx.token


# join-token/ is the admins': below, refused or not there
TOKENS = dict(ADMIN_LEVEL, viewer=EITHER, operator=EITHER)

SWARM_WRITES = {
    "services-create": (SvcCreate, OPERATOR_LEVEL),
    "service-replicas": (SvcReplicas, OPERATOR_LEVEL),
    "service-image": (SvcImage, OPERATOR_LEVEL),
    "service-spec.json": (SvcSpec, OPERATOR_LEVEL),
    "service-ctl-scale": (SvcScale, OPERATOR_LEVEL),
    "service-ctl-rm": (SvcRm, OPERATOR_LEVEL),
    "node-availability": (NodeAvailability, OPERATOR_LEVEL),
    "node-role": (NodeRole, ADMIN_LEVEL),
    "node-label-create": (NodeLabelCreate, OPERATOR_LEVEL),
    "node-label-write": (NodeLabelWrite, OPERATOR_LEVEL),
    "node-label-unlink": (NodeLabelUnlink, OPERATOR_LEVEL),
    "node-ctl-rm": (NodeRm, ADMIN_LEVEL),
    "secret-create": (SecretCreate, OPERATOR_LEVEL),
    "secret-unlink": (SecretUnlink, OPERATOR_LEVEL),
    "config-create": (ConfigCreate, OPERATOR_LEVEL),
    "config-unlink": (ConfigUnlink, OPERATOR_LEVEL),
    "networks-mkdir": (SwarmNetMkdir, OPERATOR_LEVEL),
    "networks-rmdir": (SwarmNetRmdir, OPERATOR_LEVEL),
    "join-token-rotate": (TokenRotate, TOKENS),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(SWARM_WRITES))
def test_swarm_write_matrix(mount, mgr, swarm_dir, swarm_people, cleanup, action, role):
    cls, table = SWARM_WRITES[action]
    ctx = Ctx()
    ctx.mount, ctx.mgr, ctx.swarm, ctx.cleanup = mount, mgr, swarm_dir, cleanup
    ctx.made = SwarmMade(mgr)
    ctx.expected = table[role]
    try:
        run_cell(cls(), ctx, swarm_people[role], f"{action} as {role}", host="mgr")
    finally:
        ctx.made.run_all()


# ---- reads -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def target(mount, solo, module_cleanup):
    """A running container on solo that has printed a line."""
    name = module_cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c",
                "echo perm-line; trap 'exit 0' TERM; while :; do sleep 0.1; done")
    wait_until(lambda: "perm-line" in solo.docker("logs", name).stdout, 5, "perm-line")
    wait_listed_in(mount, "solo", "containers", name)
    return name


READ_ALL = {"viewer": OK, "operator": OK, "hostadm": OK, "gadmin": OK, "stranger": HIDDEN}
GLOBAL_ONLY = {"viewer": HIDDEN, "operator": HIDDEN, "hostadm": HIDDEN, "gadmin": OK,
               "stranger": HIDDEN}

READS = {
    # name: (op, path relative to the container or mount, table, check of data)
    "state": ("read", "C/state", READ_ALL, lambda d: d == "running\n"),
    "inspect.json": ("read", "C/inspect.json", READ_ALL, lambda d: json.loads(d)["State"]),
    "id": ("read", "C/id", READ_ALL, lambda d: len(d.strip()) == 64),
    "logs": ("read", "C/logs", OPERATOR_FILES, lambda d: "perm-line\n" in d),
    "logs@tail=1": ("read", "C/logs@tail=1", OPERATOR_FILES, lambda d: d == "perm-line\n"),
    "logs@stdout": ("read", "C/logs@stdout", OPERATOR_FILES, lambda d: d == "perm-line\n"),
    "logs.follow": ("open", "C/logs.follow", OPERATOR_FILES, None),
    "exec": ("read", "C/exec", OPERATOR_FILES, None),
    "exec-rw": ("open-rw", "C/exec", OPERATOR_FILES, None),
    "ctl-w": ("open-w", "C/ctl", OPERATOR_LEVEL, None),
    "host-status": ("read", "hosts/solo/status", READ_ALL, lambda d: d == "healthy\n"),
    "host-description-w": ("open-w", "hosts/solo/description", ADMIN_LEVEL, None),
    "mgr-status": ("read", "hosts/mgr/status", GLOBAL_ONLY, lambda d: d == "healthy\n"),
    "mgr-containers": ("listdir", "hosts/mgr/containers", GLOBAL_ONLY, None),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(READS))
def test_read_matrix(mount, people, target, name, role):
    op, rel, table, check = READS[name]
    path = cp(mount, target, rel[2:]) if rel.startswith("C/") else mount.p(rel)
    user = people[role]
    if op == "open-w":
        r = user.act("open", path, flags=os.O_WRONLY)
    elif op == "open-rw":
        r = user.act("open", path, flags=os.O_RDWR)
    elif op == "open":
        r = user.act("open", path, flags=os.O_RDONLY)
    else:
        r = user.act(op, path)
    want = table[role]
    if want == OK:
        r.expect_ok(f"{name} as {role}")
        if check:
            assert check(r.data), f"{name} as {role}: {r.data!r}"
    else:
        r.expect_errno(want, f"{name} as {role}")


def test_viewer_listing_agrees_with_access(mount, people, target):
    """What the viewer may not open is either listed and refused (EACCES),
    or neither listed nor found (ENOENT): ls does not show names that
    then do not exist."""
    v = people["viewer"]
    names = set(v.listdir(cp(mount, target)).expect_ok().data)
    assert {"state", "inspect.json", "ctl", "name"} <= names
    for f in ("logs", "logs.follow", "exec"):
        r = v.act("open", cp(mount, target, f), flags=os.O_RDONLY)
        r.expect_errno(EITHER, f)
        if r.errno == errno.ENOENT:
            assert f not in names, f"{f}: listed for the viewer, but ENOENT"
        else:
            assert f in names, f"{f}: EACCES for the viewer, but not listed"


@pytest.mark.parametrize("role", ROLES)
def test_listings_show_only_permitted_hosts(mount, people, target, role):
    user = people[role]
    hosts = sorted(set(user.listdir(mount.p("hosts")).expect_ok(role).data) - CONTROL)
    conts = user.listdir(mount.p("containers")).expect_ok(role).data
    imgs = user.listdir(mount.p("images")).expect_ok(role).data
    if role == "stranger":
        # "ls M/hosts is empty for them": not even a control file
        assert user.listdir(mount.p("hosts")).data == []
        assert (hosts, conts, imgs) == ([], [], [])
    elif role == "gadmin":
        assert set(ENGINES) <= set(hosts)
        assert f"solo:{target}" in conts
        assert set(ENGINES) <= {i.split(":", 1)[0] for i in imgs}, imgs
    else:
        assert hosts == ["solo"]
        assert conts and all(c.startswith("solo:") for c in conts), conts
        assert f"solo:{target}" in conts
        assert imgs and all(i.startswith("solo:") for i in imgs), imgs


@pytest.mark.parametrize("role", ROLES)
def test_users_dir_only_for_global_admins(mount, people, role):
    r = people[role].listdir(mount.p("users"))
    if role == "gadmin":
        r.expect_ok()
        assert {people[x].name for x in ("viewer", "operator", "hostadm", "gadmin")} <= set(r.data)
    elif r.ok:
        assert r.data == [], f"{role} sees users: {r.data}"
    else:
        r.expect_errno(errno.ENOENT)
    for f in ("uid", "admin", "permissions/solo"):
        r = people[role].read(mount.p("users", people["viewer"].name, f))
        if role == "gadmin":
            r.expect_ok()
        else:
            r.expect_errno(errno.ENOENT, f"users/viewer/{f} as {role}")


@pytest.mark.parametrize("role", ["hostadm", "gadmin"])
def test_host_permissions_dir(mount, people, role):
    r = people[role].listdir(sp(mount, "permissions")).expect_ok()
    for who in ("viewer", "operator", "hostadm"):
        assert people[who].name in r.data, r.data
    assert people["spare"].name not in r.data
    for who, level in (("viewer", "viewer"), ("operator", "operator"), ("hostadm", "admin"),
                       ("spare", "none")):
        assert people[role].read(sp(mount, "permissions", people[who].name)).expect_ok().data \
            == level + "\n"


@pytest.mark.parametrize("role", ["viewer", "operator", "hostadm", "stranger"])
def test_audit_shows_own_rows_only(mount, people, role):
    user = people[role]
    # make sure the user has a row: a refused mkdir (hosts are the global
    # admins')
    h = unique("h")
    user.act("mkdir", mount.p("hosts", h)).expect_errno(EITHER)
    assert h not in os.listdir(mount.p("hosts"))
    r = user.read(mount.p("audit"))
    if role == "stranger" and not r.ok:
        r.expect_errno(errno.ENOENT)
        return
    r.expect_ok()
    rows = parse_audit(r.data)
    assert all(x["user"] == user.name or x["uid"] == user.uid for x in rows), \
        {x["user"] for x in rows}
    if role != "stranger":
        assert rows, f"{role} sees none of its own rows"


def test_global_admin_sees_all_audit_rows(mount, people):
    people["viewer"].write(sp(mount, "url"), "unix:///nonexistent.sock\n").expect_errno(DENY)
    rows = parse_audit(people["gadmin"].read(mount.p("audit")).expect_ok().data)
    assert people["viewer"].name in {x["user"] for x in rows}
    root_rows = audit_rows(mount)
    assert people["viewer"].name in {x["user"] for x in root_rows}


# ---- who is judged: the opener ----------------------------------------------------------

PASSED_FD = r'''
import os, sys
fd, uid, gid = (int(x) for x in sys.argv[1:4])
os.setgroups([])
os.setresgid(gid, gid, gid)
os.setresuid(uid, uid, uid)
assert os.getuid() == uid and os.geteuid() == uid
try:
    print(os.write(fd, sys.argv[4].encode()))
except OSError as e:
    print("errno", e.errno)
'''


def test_fd_opened_by_root_used_by_viewer(mount, solo, people, cleanup):
    c = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", c, IMAGE, "sh", "-c",
                "trap 'exit 0' TERM; while :; do sleep 0.1; done")
    wait_listed_in(mount, "solo", "containers", c)
    v = people["viewer"]
    fd = os.open(cp(mount, c, "ctl"), os.O_WRONLY)
    try:
        r = subprocess.run([sys.executable, "-I", "-c", PASSED_FD, str(fd), str(v.uid),
                            str(v.gid), "stop\n"], pass_fds=[fd], capture_output=True,
                           text=True, timeout=30)
    finally:
        os.close(fd)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "5", f"the write as the viewer through root's fd: {r.stdout}"
    assert solo.inspect(c, "{{.State.Status}}") == "exited"


def test_viewer_cannot_open_ctl_for_writing(mount, solo, people, cleanup):
    c = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", c, IMAGE, "sleep", "600")
    wait_listed_in(mount, "solo", "containers", c)
    for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
        r = people["viewer"].act("open", cp(mount, c, "ctl"), flags=flags)
        r.expect_errno(errno.EACCES, f"open flags {flags}")
    # through a shell, as it is typed
    p = people["viewer"].sh('echo stop > "$1"', cp(mount, c, "ctl"))
    assert p.returncode != 0 and "Permission denied" in p.stderr, p.stderr
    assert solo.inspect(c, "{{.State.Status}}") == "running"


def test_operator_shell_session(mount, solo, people, cleanup):
    """What an operator types, as that user."""
    c = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", c, IMAGE, "sh", "-c",
                "echo hello-op; trap 'exit 0' TERM; while :; do sleep 0.1; done")
    wait_listed_in(mount, "solo", "containers", c)
    d = cp(mount, c)
    p = people["operator"].sh('cd "$1" && echo stop > ctl && cat state && echo start > ctl '
                              '&& cat state', d)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "exited\nrunning\n"
    # printed at each start; the second echo runs after the start returns (CI once
    # read the logs before it), so the operator greps until it is there
    p = people["operator"].sh('for i in $(seq 100); do [ "$(grep -c hello-op "$1")" = 2 ] '
                              '&& exit 0; sleep 0.1; done; exit 1', cp(mount, c, "logs"))
    assert p.returncode == 0, (p.stderr, read_text(cp(mount, c, "logs")))


# ---- per user: error files and exec results -----------------------------------------

def test_error_file_is_per_user(mount, solo, people, cleanup):
    c = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", c, IMAGE, "sleep", "600")
    wait_listed_in(mount, "solo", "containers", c)
    op = people["operator"]
    op.write(cp(mount, c, "ctl"), "rm\n").expect_errno(errno.EBUSY)
    assert solo.exists(c)
    msg = op.read(cp(mount, c, "error")).expect_ok().data.lower()
    assert "running container" in msg or "stop the container" in msg, msg
    # root and the viewer have no error there
    assert error_text(cp(mount, c)) == ""
    assert people["viewer"].read(cp(mount, c, "error")).expect_ok().data.strip() == ""
    # the operator's next success empties it
    op.write(cp(mount, c, "ctl"), "pause\n").expect_ok()
    assert op.read(cp(mount, c, "error")).expect_ok().data.strip() == ""


def test_exec_result_is_per_user(mount, solo, people, cleanup):
    c = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", c, IMAGE, "sleep", "600")
    wait_listed_in(mount, "solo", "containers", c)
    op, adm = people["operator"], people["hostadm"]
    op.write(cp(mount, c, "exec"), "echo from-operator\n").expect_ok()
    adm.write(cp(mount, c, "exec"), "echo from-hostadm\n").expect_ok()
    write_once(cp(mount, c, "exec"), "echo from-root\n")
    assert op.read(cp(mount, c, "exec")).expect_ok().data == "from-operator\n[exit 0]\n"
    assert adm.read(cp(mount, c, "exec")).expect_ok().data == "from-hostadm\n[exit 0]\n"
    assert read_text(cp(mount, c, "exec")) == "from-root\n[exit 0]\n"


# ---- the create allowlist -----------------------------------------------------------------

REFUSED_FOR_OPERATOR = {
    "bind-v": "-v /etc:/x",
    "bind-v-ro": "-v /etc:/x:ro",
    "bind-root": "--volume /:/host",
    "mount-bind": "--mount type=bind,source=/etc,target=/x",
    "mount-bind-ro": "--mount type=bind,source=/tmp,target=/x,readonly",
    "privileged": "--privileged",
    "network-host": "--network host",
    "pid-host": "--pid host",
    "ipc-host": "--ipc host",
    "uts-host": "--uts host",
    "device": "--device /dev/null",
    "cap-add": "--cap-add SYS_ADMIN",
    "security-opt": "--security-opt seccomp=unconfined",
}

REFUSED_JSON = {
    "json-binds": {"HostConfig": {"Binds": ["/etc:/x"]}},
    "json-mount-bind": {"HostConfig": {"Mounts": [{"Type": "bind", "Source": "/etc",
                                                   "Target": "/x"}]}},
    "json-volume-driver-opts": {"HostConfig": {"Mounts": [{
        "Type": "volume", "Source": "v-{n}", "Target": "/x",
        "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": {
            "type": "none", "o": "bind", "device": "/"}}}}]}},
    "json-privileged": {"HostConfig": {"Privileged": True}},
    "json-network-host": {"HostConfig": {"NetworkMode": "host"}},
    "json-pid-host": {"HostConfig": {"PidMode": "host"}},
    "json-ipc-host": {"HostConfig": {"IpcMode": "host"}},
    "json-uts-host": {"HostConfig": {"UTSMode": "host"}},
    "json-devices": {"HostConfig": {"Devices": [{"PathOnHost": "/dev/null",
                                                 "PathInContainer": "/dev/null",
                                                 "CgroupPermissions": "rwm"}]}},
    "json-cap-add": {"HostConfig": {"CapAdd": ["SYS_ADMIN"]}},
    "json-security-opt": {"HostConfig": {"SecurityOpt": ["apparmor=unconfined"]}},
}

# The engine decodes JSON field names without regard to case, and a later
# key of the same name wins: an allowlist that looks at "HostConfig" and
# "Privileged" only must not be fooled.  Refused (EACCES), rejected (EINVAL),
# or made without any of what the allowlist forbids.
EVASIONS = {
    "lowercase-keys": {"hostconfig": {"privileged": True}},
    "mixed-case-binds": {"hostConfig": {"binds": ["/etc:/x"]}},
    "two-hostconfigs": {"HostConfig": {"Privileged": False}, "hostconfig": {"Privileged": True}},
    "lowercase-mount-type": {"HostConfig": {"Mounts": [{"type": "bind", "source": "/etc",
                                                        "target": "/x"}]}},
    # the same key twice: a parser that keeps the last one sees no Privileged,
    # the engine's decodes both into one HostConfig
    "duplicate-hostconfig": '{{"Name": "{n}", "Image": "{image}", "Cmd": ["true"], '
                            '"HostConfig": {{"Privileged": true}}, '
                            '"HostConfig": {{"CpuShares": 512}}}}',
}


def line_of(opts, name):
    return f"create --name {name} {opts} {IMAGE} true\n"


def json_of(body, name):
    b = json.loads(json.dumps(body).replace("{n}", name))
    b.update({"Name": name, "Image": IMAGE, "Cmd": ["true"]})
    return json.dumps(b) + "\n"


def assert_not_made(solo, name, since):
    assert not solo.exists(name), f"{name} was created"
    assert solo.created_events(since, name) == 0, f"a create of {name} reached the engine"


@pytest.mark.parametrize("case", sorted(REFUSED_FOR_OPERATOR))
def test_operator_create_refused(mount, solo, people, cleanup, case):
    n = cleanup.container(solo, unique())
    since = time.time() - 1
    for verb in ("create", "run"):
        text = line_of(REFUSED_FOR_OPERATOR[case], n).replace("create", verb, 1)
        people["operator"].write(sp(mount, "containers", ".ctl"), text) \
            .expect_errno(errno.EACCES, f"{verb} {case}")
        assert_not_made(solo, n, since)


@pytest.mark.parametrize("case", sorted(REFUSED_JSON))
def test_operator_create_json_refused(mount, solo, people, cleanup, case):
    n = cleanup.container(solo, unique())
    cleanup.volume(solo, f"v-{n}")
    since = time.time() - 1
    people["operator"].write(sp(mount, "containers", ".ctl"), json_of(REFUSED_JSON[case], n)) \
        .expect_errno(errno.EACCES, case)
    assert_not_made(solo, n, since)


@pytest.mark.parametrize("case", sorted(EVASIONS))
def test_operator_create_evasions(mount, solo, people, cleanup, case):
    n = cleanup.container(solo, unique())
    since = time.time() - 1
    body = EVASIONS[case]
    text = body.format(n=n, image=IMAGE) + "\n" if isinstance(body, str) else json_of(body, n)
    r = people["operator"].write(sp(mount, "containers", ".ctl"), text)
    if r.ok:
        # made: then it must hold nothing an operator may not have
        h = json.loads(solo.out("inspect", "--format", "{{json .HostConfig}}", n))
        bad = {k: h.get(k) for k in ("Privileged", "Binds", "CapAdd", "Devices", "SecurityOpt")
               if h.get(k)}
        bad.update({k: h[k] for k in ("NetworkMode", "PidMode", "IpcMode", "UTSMode")
                    if h.get(k) == "host"})
        if any(m.get("Type") == "bind" for m in h.get("Mounts") or []):
            bad["Mounts"] = h["Mounts"]
        assert not bad, f"{case}: the operator made a container with {bad}"
        return
    r.expect_errno((errno.EACCES, errno.EINVAL), case)
    assert_not_made(solo, n, since)


@pytest.fixture
def host_rooted(solo, cleanup):
    """A running container made by root with a host bind, the host's pid and
    network namespaces: what an operator must not reach through it."""
    name = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, "-v", "/etc:/hostetc:ro", "--pid", "host",
                "--network", "host", IMAGE, "sleep", "600")
    return name


INDIRECT = {
    # beyond the spec's list, but the same escalation by another door
    "volumes-from": lambda a: {"HostConfig": {"VolumesFrom": [a]}},
    "pid-of-container": lambda a: {"HostConfig": {"PidMode": f"container:{a}"}},
    "network-of-container": lambda a: {"HostConfig": {"NetworkMode": f"container:{a}"}},
}


@pytest.mark.parametrize("case", sorted(INDIRECT))
def test_operator_cannot_borrow_host_access(mount, solo, people, cleanup, host_rooted, case):
    n = cleanup.container(solo, unique())
    r = people["operator"].write(sp(mount, "containers", ".ctl"),
                                 json_of(INDIRECT[case](host_rooted), n))
    if not r.ok:
        r.expect_errno((errno.EACCES, errno.EINVAL), case)
        assert not solo.exists(n)
        return
    j = json.loads(solo.out("inspect", n))[0]
    if case == "volumes-from":
        binds = [m for m in j["Mounts"] if m["Type"] == "bind"]
        assert not binds, f"the operator's container mounts the host's {binds}"
    else:
        h = j["HostConfig"]
        raise AssertionError(f"{case}: the operator's container joins {host_rooted}, which "
                             f"runs in the host's namespaces (PidMode {h['PidMode']!r}, "
                             f"NetworkMode {h['NetworkMode']!r})")


@pytest.mark.parametrize("case", ["privileged", "bind-v", "mount-bind", "pid-host", "cap-add",
                                  "device", "security-opt", "network-host"])
def test_host_admin_may_create_anything(mount, solo, people, cleanup, case):
    n = cleanup.container(solo, unique())
    people["hostadm"].write(sp(mount, "containers", ".ctl"),
                            line_of(REFUSED_FOR_OPERATOR[case], n)).expect_ok(case)
    assert solo.exists(n)


def test_host_admin_may_create_json(mount, solo, people, cleanup):
    n = cleanup.container(solo, unique())
    people["hostadm"].write(sp(mount, "containers", ".ctl"),
                            json_of(REFUSED_JSON["json-privileged"], n)).expect_ok()
    assert solo.inspect(n, "{{.HostConfig.Privileged}}") == "true"


def test_operator_create_allowed_specs(mount, solo, people, cleanup):
    net = cleanup.network(solo, unique("net"))
    solo.docker("network", "create", net)
    v1, v2 = cleanup.volume(solo, unique("vol")), cleanup.volume(solo, unique("vol"))
    n = cleanup.container(solo, unique())
    people["operator"].write(sp(mount, "containers", ".ctl"), line_of(
        f"-v {v1}:/data --mount type=volume,source={v2},target=/m -p 18093:80 "
        f"--network {net} -e A=1 -l k=v --restart on-failure:2 -u 1000 -w /tmp", n)).expect_ok()
    h = json.loads(solo.out("inspect", "--format", "{{json .HostConfig}}", n))
    assert h["Binds"] == [f"{v1}:/data"] and h["NetworkMode"] == net
    assert not h["Privileged"]
    # JSON with a named volume and no host path is allowed too
    n2 = cleanup.container(solo, unique())
    people["operator"].write(sp(mount, "containers", ".ctl"), json_of(
        {"HostConfig": {"Binds": [f"{v1}:/data"], "NetworkMode": "bridge"}}, n2)).expect_ok()
    assert solo.exists(n2)


def test_operator_volume_opts_refused(mount, solo, people, cleanup):
    v = cleanup.volume(solo, unique("vol"))
    people["operator"].write(sp(mount, "volumes", ".ctl"),
                             f"create {v} --opt type=none --opt o=bind --opt device=/\n") \
        .expect_errno(errno.EACCES)
    assert v not in solo.volume_names()
    # without --opt it may
    people["operator"].write(sp(mount, "volumes", ".ctl"), f"create {v} --label a=b\n").expect_ok()
    assert v in solo.volume_names()
    # the host admin may bind
    v2 = cleanup.volume(solo, unique("vol"))
    people["hostadm"].write(sp(mount, "volumes", ".ctl"),
                            f"create {v2} --opt type=none --opt o=bind --opt device=/tmp\n") \
        .expect_ok()
    assert json.loads(solo.out("volume", "inspect", "--format", "{{json .Options}}", v2)) == \
        {"type": "none", "o": "bind", "device": "/tmp"}


@pytest.mark.parametrize("kind", ["networks", "volumes"])
def test_operator_prune_refused(mount, wrk, people, kind):
    people["operator"].write(sp(mount, kind, ".ctl"), "prune\n").expect_errno(errno.EACCES)


# ---- managing users ---------------------------------------------------------------------

def test_users_lifecycle(mount, solo, unix_users, cleanup):
    u = unix_users.make("life")
    d = mount.p("users", u.name)
    os.mkdir(d)
    try:
        assert u.name in os.listdir(mount.p("users"))
        assert read_text(os.path.join(d, "uid")) == f"{u.uid}\n"
        assert read_text(os.path.join(d, "admin")) == "0\n"
        assert objects(os.path.join(d, "permissions")) == set()
        assert hosts_of(u, mount) == []
        # a level through users/NAME/permissions/HOST
        write_once(os.path.join(d, "permissions", "solo"), "operator\n")
        assert objects(os.path.join(d, "permissions")) == {"solo"}
        assert read_text(sp(mount, "permissions", u.name)) == "operator\n"
        assert u.name in os.listdir(sp(mount, "permissions"))
        assert hosts_of(u, mount) == ["solo"]
        # changed through hosts/HOST/permissions/NAME
        write_once(sp(mount, "permissions", u.name), "viewer\n")
        assert read_text(os.path.join(d, "permissions", "solo")) == "viewer\n"
        c = cleanup.container(solo, unique())
        solo.docker("create", "--name", c, IMAGE, "true")
        wait_listed_in(mount, "solo", "containers", c)
        u.write(cp(mount, c, "ctl"), "start\n").expect_errno(errno.EACCES)
        # a second host
        write_once(os.path.join(d, "permissions", "mgr"), "viewer\n")
        assert hosts_of(u, mount) == ["mgr", "solo"]
        os.unlink(os.path.join(d, "permissions", "mgr"))
        # removed through hosts/HOST/permissions/NAME
        os.unlink(sp(mount, "permissions", u.name))
        assert read_text(sp(mount, "permissions", u.name)) == "none\n"
        assert u.name not in os.listdir(sp(mount, "permissions"))
        assert hosts_of(u, mount) == []
        # admin flag: a global admin
        write_once(os.path.join(d, "admin"), "1\n")
        assert read_text(os.path.join(d, "admin")) == "1\n"
        assert set(ENGINES) <= set(hosts_of(u, mount))
        write_once(os.path.join(d, "admin"), "0\n")
        assert hosts_of(u, mount) == []
    finally:
        if os.path.isdir(d):
            os.rmdir(d)
    assert u.name not in os.listdir(mount.p("users"))
    assert u.name not in os.listdir(sp(mount, "permissions"))


def test_users_uid_file(mount, unix_users):
    name = unique("nouser")          # no system user of that name
    d = mount.p("users", name)
    os.mkdir(d)
    try:
        write_once(os.path.join(d, "uid"), "4242\n")
        assert read_text(os.path.join(d, "uid")) == "4242\n"
        for bad in ("abc", "-5", "1 2", "99999999999"):
            with pytest.raises(OSError) as e:
                write_once(os.path.join(d, "uid"), bad + "\n")
            assert e.value.errno == errno.EINVAL, (bad, e.value)
        assert read_text(os.path.join(d, "uid")) == "4242\n"
        # rebinding to a real user's uid: that user is then this one
        u = unix_users.make("bind")
        write_once(os.path.join(d, "uid"), f"{u.uid}\n")
        write_once(os.path.join(d, "permissions", "solo"), "viewer\n")
        assert hosts_of(u, mount) == ["solo"]
    finally:
        os.rmdir(d)


def test_users_bad_values(mount, people):
    d = mount.p("users", people["spare"].name)
    for f, bad in (("admin", "2"), ("admin", "yes"), ("permissions/solo", "superuser"),
                   ("permissions/solo", "")):
        with pytest.raises(OSError) as e:
            write_once(os.path.join(d, f), bad + "\n")
        assert e.value.errno == errno.EINVAL, (f, bad, e.value)
    assert read_text(os.path.join(d, "admin")) == "0\n"
    assert read_text(sp(mount, "permissions", people["spare"].name)) == "none\n"
    with pytest.raises(OSError) as e:
        write_once(sp(mount, "permissions", people["spare"].name), "root\n")
    assert e.value.errno == errno.EINVAL
    # unknown host, unknown user
    with pytest.raises(FileNotFoundError):
        write_once(os.path.join(d, "permissions", unique("nohost")), "viewer\n")
    with pytest.raises(FileNotFoundError):
        write_once(sp(mount, "permissions", unique("nouser")), "viewer\n")


def test_users_mkdir_errors(mount, people):
    with pytest.raises(FileExistsError):
        os.mkdir(mount.p("users", people["spare"].name))
    for bad in (".hidden", "-dash", "a b", "x" * 65):
        with pytest.raises(OSError) as e:
            os.mkdir(mount.p("users", bad))
        assert e.value.errno == errno.EINVAL, (bad, e.value)
    with pytest.raises(FileNotFoundError):
        os.rmdir(mount.p("users", unique("nouser")))


def test_uid_taken_refused(mount, people):
    name = unique("dup")
    d = mount.p("users", name)
    os.mkdir(d)
    try:
        with pytest.raises(OSError):
            write_once(os.path.join(d, "uid"), f"{people['viewer'].uid}\n")
        assert read_text(mount.p("users", people["viewer"].name, "uid")) == \
            f"{people['viewer'].uid}\n"
    finally:
        os.rmdir(d)


def test_host_admin_manages_own_host_only(mount, people, unix_users):
    adm, spare = people["hostadm"], people["spare"]
    p = sp(mount, "permissions", spare.name)
    adm.write(p, "operator\n").expect_ok()
    try:
        assert read_text(p) == "operator\n"
        assert hosts_of(spare, mount) == ["solo"]
        # the host admin cannot raise itself elsewhere, nor touch mgr
        adm.write(mount.p("hosts", "mgr", "permissions", spare.name), "viewer\n") \
            .expect_errno(errno.ENOENT)
        adm.act("unlink", p).expect_ok()
        assert read_text(p) == "none\n"
    finally:
        if read_text(p) != "none\n":
            os.unlink(p)


def test_host_admin_rmdir_own_host(mount, solo, people):
    """rmdir of a host is its admin's; a viewer of it may not."""
    h = unique("h")
    os.mkdir(mount.p("hosts", h))
    try:
        write_once(mount.p("hosts", h, "url"), solo.url + "\n")
        write_once(mount.p("hosts", h, "permissions", people["hostadm"].name), "admin\n")
        write_once(mount.p("hosts", h, "permissions", people["viewer"].name), "viewer\n")
        people["viewer"].act("rmdir", mount.p("hosts", h)).expect_errno(errno.EACCES)
        assert h in os.listdir(mount.p("hosts"))
        people["operator"].act("rmdir", mount.p("hosts", h)).expect_errno(errno.ENOENT)
        people["hostadm"].act("rmdir", mount.p("hosts", h)).expect_ok()
        assert h not in os.listdir(mount.p("hosts"))
    finally:
        if h in os.listdir(mount.p("hosts")):
            os.rmdir(mount.p("hosts", h))


# ---- mount options ------------------------------------------------------------------

def test_default_level_viewer(workdir, new_mount, solo, unix_users, cleanup):
    db = os.path.join(workdir, unique("perm") + ".db")
    m = new_mount(db, {"solo": solo.url}, options=("allow_other", "default_level=viewer"))
    m.wait_healthy()
    c = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", c, IMAGE, "sleep", "600")
    wait_listed_in(m, "solo", "containers", c)
    wait_until(lambda: read_text(m.p("hosts", "solo", "containers", c, "state")) == "running\n",
               2, f"{c} running in the model")
    u = unix_users.make("dflt")
    assert hosts_of(u, m) == ["solo"]
    assert u.read(m.p("hosts", "solo", "containers", c, "state")).expect_ok().data == "running\n"
    u.write(m.p("hosts", "solo", "containers", c, "ctl"), "stop\n").expect_errno(errno.EACCES)
    u.read(m.p("hosts", "solo", "containers", c, "logs")).expect_errno(EITHER)
    assert solo.inspect(c, "{{.State.Status}}") == "running"
    m.stop_ok()


def test_without_default_level_strangers_see_nothing(workdir, new_mount, solo, unix_users):
    db = os.path.join(workdir, unique("perm") + ".db")
    m = new_mount(db, {"solo": solo.url}, options=("allow_other",))
    m.wait_healthy()
    u = unix_users.make("none")
    assert u.listdir(m.p("hosts")).expect_ok().data == []
    u.read(m.p("hosts", "solo", "status")).expect_errno(errno.ENOENT)
    m.stop_ok()


def test_admins_option_replaces_the_list(workdir, new_mount, solo, unix_users):
    u = unix_users.make("adms")
    db = os.path.join(workdir, unique("perm") + ".db")
    m = new_mount(db, {"solo": solo.url}, options=("allow_other", f"admins={u.uid}"))
    wait_until(lambda: u.read(m.p("hosts", "solo", "status")).get("data") == "healthy\n",
               15, "solo healthy, as seen by the admin")
    assert hosts_of(u, m) == ["solo"]
    u.listdir(m.p("users")).expect_ok()
    u.act("mkdir", m.p("users", unique("u"))).expect_ok()
    # root (the mounting user) is no longer on the list
    assert objects(m.p("hosts")) == set()
    m.stop_ok()


def test_admins_option_several_uids(workdir, new_mount, solo, unix_users):
    """-o admins=UID[:UID...]: colons, since libfuse splits -o on commas."""
    u1, u2 = unix_users.make("adm1"), unix_users.make("adm2")
    db = os.path.join(workdir, unique("perm") + ".db")
    m = new_mount(db, {"solo": solo.url}, options=("allow_other", f"admins={u1.uid}:{u2.uid}"))
    for u in (u1, u2):
        wait_until(lambda: u.read(m.p("hosts", "solo", "status")).get("data") == "healthy\n",
                   15, f"solo healthy, as seen by {u.name}")
        u.listdir(m.p("users")).expect_ok()
    m.stop_ok()


def test_levels_persist_across_remount(workdir, new_mount, solo, unix_users):
    u = unix_users.make("pers")
    db = os.path.join(workdir, unique("perm") + ".db")
    m = new_mount(db, {"solo": solo.url}, options=("allow_other",))
    m.wait_healthy()
    os.mkdir(m.p("users", u.name))
    write_once(m.p("users", u.name, "permissions", "solo"), "operator\n")
    m.stop_ok()
    m = new_mount(db, {}, options=("allow_other",))
    m.wait_healthy(["solo"])
    assert read_text(m.p("hosts", "solo", "permissions", u.name)) == "operator\n"
    assert hosts_of(u, m) == ["solo"]
    os.rmdir(m.p("users", u.name))
    m.stop_ok()


def test_registered_users_cleanup_helpers(mount, unix_users):
    """register_user / unregister_user round trip (used by the fixtures)."""
    u = unix_users.make("rt")
    register_user(mount, u, {"solo": "viewer"})
    assert read_text(mount.p("users", u.name, "permissions", "solo")) == "viewer\n"
    unregister_user(mount, u)
    assert u.name not in os.listdir(mount.p("users"))
