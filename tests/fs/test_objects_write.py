"""Networks, volumes and images through mkdir, rmdir and ctl:
    mkdir/rmdir M/hosts/H/networks/NAME   a bridge network
    mkdir/rmdir M/hosts/H/volumes/NAME    a local volume
    rmdir M/hosts/H/images/REF            removes that tag
    M/hosts/H/{networks,volumes,images}/ctl   create ... | prune
Every change is checked with the docker CLI.

The prune tests run on wrk, where nothing but this suite makes networks,
volumes or images; they refuse to run (fail) if something foreign there
would be pruned with them.
"""
import errno
import json
import os
import random

import pytest

from conftest import (ENGINES, IMAGE, audit_marker, audit_rows, error_text, escape_name,
                      raises_errno, read_text, unique, wait_until, write_once)

SWARM_NETWORKS = {"bridge", "host", "none", "docker_gwbridge", "ingress"}


def hp(mount, host, *rest):
    return mount.p("hosts", host, *rest)


def net_inspect(engine, name):
    return json.loads(engine.out("network", "inspect", name))[0]


def vol_inspect(engine, name):
    return json.loads(engine.out("volume", "inspect", name))[0]


def image_exists(engine, ref):
    return engine.docker("image", "inspect", ref, check=False).returncode == 0


def listed(mount, host, kind, name, timeout=1):
    d = hp(mount, host, kind)
    wait_until(lambda: name in os.listdir(d), timeout, f"{name} in ls {d}")


def unlisted(mount, host, kind, name, timeout=1):
    d = hp(mount, host, kind)
    wait_until(lambda: name not in os.listdir(d), timeout, f"{name} gone from ls {d}")


# ---- networks ------------------------------------------------------------------

@pytest.mark.parametrize("host", ENGINES)
def test_mkdir_rmdir_network(mount, fleet, cleanup, host):
    engine = fleet[host]
    name = cleanup.network(engine, unique("net"))
    os.mkdir(hp(mount, host, "networks", name))
    j = net_inspect(engine, name)
    assert (j["Driver"], j["Scope"]) == ("bridge", "local")
    listed(mount, host, "networks", name)
    assert read_text(hp(mount, host, "networks", name, "driver")) == "bridge\n"
    os.rmdir(hp(mount, host, "networks", name))
    assert name not in engine.network_names()
    unlisted(mount, host, "networks", name)


def test_mkdir_existing_network_eexist(mount, solo, cleanup):
    name = cleanup.network(solo, unique("net"))
    solo.docker("network", "create", name)
    nid = solo.out("network", "inspect", "--format", "{{.Id}}", name)
    listed(mount, "solo", "networks", name)
    raises_errno(errno.EEXIST, os.mkdir, hp(mount, "solo", "networks", name))
    assert solo.out("network", "ls", "--filter", f"name=^{name}$", "-q", "--no-trunc") == nid


def test_rmdir_unknown_network_enoent(mount):
    raises_errno(errno.ENOENT, os.rmdir, hp(mount, "solo", "networks", unique("no-such")))


def test_rmdir_network_in_use_refused(mount, solo, cleanup):
    name = cleanup.network(solo, unique("net"))
    solo.docker("network", "create", name)
    c = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", c, "--network", name, IMAGE, "sleep", "600")
    listed(mount, "solo", "networks", name)
    raises_errno((errno.EBUSY, errno.EACCES), os.rmdir, hp(mount, "solo", "networks", name))
    assert name in solo.network_names()
    assert "active endpoints" in error_text(hp(mount, "solo", "networks")).lower()


def test_networks_ctl_create(mount, solo, cleanup):
    name = cleanup.network(solo, unique("net"))
    subnet = f"10.{random.randint(100, 199)}.{random.randint(0, 255)}.0/24"
    line = (f"create {name} --driver bridge --internal --label team=ops --label 'x=a b' "
            f"--subnet {subnet} --opt com.docker.network.driver.mtu=1400\n")
    assert write_once(hp(mount, "solo", "networks", ".ctl"), line) == len(line)
    j = net_inspect(solo, name)
    assert j["Driver"] == "bridge" and j["Internal"] is True
    assert j["Labels"] == {"team": "ops", "x": "a b"}
    assert [c["Subnet"] for c in j["IPAM"]["Config"]] == [subnet]
    assert j["Options"].get("com.docker.network.driver.mtu") == "1400"
    listed(mount, "solo", "networks", name)


@pytest.mark.parametrize("line", ["frob", "create", "create a b", "create {n} --frob",
                                  "create {n} --driver", "create {n} --subnet notacidr",
                                  "create {n} --label novalue", "\n", "prune now"])
def test_networks_ctl_bad_einval(mount, solo, line):
    n = unique("net")
    raises_errno(errno.EINVAL, write_once, hp(mount, "solo", "networks", ".ctl"),
                 line.format(n=n) + "\n")
    assert n not in solo.network_names()


# ---- volumes --------------------------------------------------------------------

@pytest.mark.parametrize("host", ENGINES)
def test_mkdir_rmdir_volume(mount, fleet, cleanup, host):
    engine = fleet[host]
    name = cleanup.volume(engine, unique("vol"))
    os.mkdir(hp(mount, host, "volumes", name))
    assert vol_inspect(engine, name)["Driver"] == "local"
    listed(mount, host, "volumes", name)
    assert read_text(hp(mount, host, "volumes", name, "driver")) == "local\n"
    os.rmdir(hp(mount, host, "volumes", name))
    assert name not in engine.volume_names()
    unlisted(mount, host, "volumes", name)


def test_rmdir_volume_in_use_ebusy(mount, solo, cleanup):
    name = cleanup.volume(solo, unique("vol"))
    c = cleanup.container(solo, unique())
    solo.docker("create", "--name", c, "-v", f"{name}:/data", IMAGE, "true")
    listed(mount, "solo", "volumes", name)
    raises_errno(errno.EBUSY, os.rmdir, hp(mount, "solo", "volumes", name))
    assert name in solo.volume_names()
    assert "in use" in error_text(hp(mount, "solo", "volumes")).lower()
    # once its container is gone it can go
    solo.docker("rm", c)
    os.rmdir(hp(mount, "solo", "volumes", name))
    assert name not in solo.volume_names()
    assert error_text(hp(mount, "solo", "volumes")) == ""


def test_rmdir_unknown_volume_enoent(mount):
    raises_errno(errno.ENOENT, os.rmdir, hp(mount, "solo", "volumes", unique("no-such")))


def test_volumes_ctl_create(mount, solo, cleanup):
    name = cleanup.volume(solo, unique("vol"))
    line = (f"create {name} --driver local --label team=ops --opt type=tmpfs "
            f"--opt device=tmpfs --opt o=size=1m\n")
    write_once(hp(mount, "solo", "volumes", ".ctl"), line)
    j = vol_inspect(solo, name)
    assert j["Driver"] == "local"
    assert j["Labels"] == {"team": "ops"}
    assert j["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    listed(mount, "solo", "volumes", name)


@pytest.mark.parametrize("line", ["frob", "create", "create {n} --frob", "create {n} --opt",
                                  "create {n} --label", "\n"])
def test_volumes_ctl_bad_einval(mount, solo, line):
    n = unique("vol")
    raises_errno(errno.EINVAL, write_once, hp(mount, "solo", "volumes", ".ctl"),
                 line.format(n=n) + "\n")
    assert n not in solo.volume_names()


# ---- images ----------------------------------------------------------------------

def test_rmdir_image_tag(mount, solo, cleanup):
    plain = cleanup.image_tag(solo, f"{unique('img')}:1")
    slashed = cleanup.image_tag(solo, f"reg.example:5000/dockfs/{unique('img')}:2")
    for ref in (plain, slashed):
        solo.docker("tag", IMAGE, ref)
        listed(mount, "solo", "images", escape_name(ref))
        os.rmdir(hp(mount, "solo", "images", escape_name(ref)))
        assert not image_exists(solo, ref)
        unlisted(mount, "solo", "images", escape_name(ref))
    assert image_exists(solo, IMAGE)


def committed_image(engine, cleanup, ref=None):
    """A new image of its own (one tag, or none): docker commit of a stopped
    busybox container.  Returns its id."""
    c = cleanup.container(engine, unique())
    engine.docker("create", "--name", c, IMAGE, "true")
    args = ["commit", "-c", f"LABEL dockfs.test={unique()}", c]
    if ref:
        args.append(ref)
    iid = engine.out(*args)
    cleanup.image_tag(engine, iid)
    engine.docker("rm", c)
    return iid


def test_rmdir_image_in_use_ebusy(mount, solo, cleanup):
    ref = f"{unique('img')}:1"
    committed_image(solo, cleanup, ref)
    cleanup.image_tag(solo, ref)
    user = cleanup.container(solo, unique())
    solo.docker("create", "--name", user, ref, "true")
    listed(mount, "solo", "images", ref)
    raises_errno(errno.EBUSY, os.rmdir, hp(mount, "solo", "images", ref))
    assert image_exists(solo, ref)
    msg = error_text(hp(mount, "solo", "images")).lower()
    assert "conflict" in msg or "being used" in msg, msg
    solo.docker("rm", user)
    os.rmdir(hp(mount, "solo", "images", ref))
    assert not image_exists(solo, ref)


def test_rmdir_unknown_image_enoent(mount):
    raises_errno(errno.ENOENT, os.rmdir, hp(mount, "solo", "images", f"{unique('no-such')}:1"))


@pytest.mark.parametrize("kind", ["networks", "volumes", "images"])
def test_error_file_and_ctl_exist(mount, kind):
    for h in ENGINES:
        assert os.path.isfile(hp(mount, h, kind, ".error"))
        assert os.path.isfile(hp(mount, h, kind, ".ctl"))
        read_text(hp(mount, h, kind, ".error"))


def test_mkdir_elsewhere_still_refused(mount, solo, cleanup):
    """Only networks/ and volumes/ (and hosts/) take mkdir."""
    for kind in ("containers", "images"):
        n = unique()
        raises_errno((errno.EACCES, errno.EPERM, errno.ENOSYS),
                     os.mkdir, hp(mount, "solo", kind, n))
        assert not solo.exists(n)


# ---- prune (on wrk) ---------------------------------------------------------------

def foreign_prunable(wrk, mine):
    """Networks, volumes and dangling images on wrk that a prune would take
    and that this test did not make."""
    nets = {n for n in wrk.network_names() - SWARM_NETWORKS
            if not json.loads(wrk.out("network", "inspect", "--format", "{{json .Containers}}",
                                      n) or "null")}
    vols = set(wrk.out("volume", "ls", "-q", "--filter", "dangling=true").split())
    imgs = set(wrk.out("images", "-q", "--no-trunc", "--filter", "dangling=true").split())
    return (nets | vols | imgs) - set(mine)


def test_prune_networks(mount, wrk, cleanup):
    name = cleanup.network(wrk, unique("net"))
    wrk.docker("network", "create", name)
    foreign = foreign_prunable(wrk, [name])
    assert not foreign, f"wrk has objects a prune would remove: {foreign}: not pruning"
    listed(mount, "wrk", "networks", name)
    write_once(hp(mount, "wrk", "networks", ".ctl"), "prune\n")
    assert name not in wrk.network_names()
    assert SWARM_NETWORKS <= wrk.network_names()
    unlisted(mount, "wrk", "networks", name)


def test_prune_volumes(mount, wrk, cleanup):
    name = cleanup.volume(wrk, unique("vol"))
    wrk.docker("volume", "create", name)
    kept = cleanup.volume(wrk, unique("vol"))
    holder = cleanup.container(wrk, unique())
    wrk.docker("create", "--name", holder, "-v", f"{kept}:/x", IMAGE, "true")
    foreign = foreign_prunable(wrk, [name])
    assert not foreign, f"wrk has objects a prune would remove: {foreign}: not pruning"
    write_once(hp(mount, "wrk", "volumes", ".ctl"), "prune\n")
    vols = wrk.volume_names()
    assert name not in vols and kept in vols


@pytest.mark.parametrize("kind", ["networks", "volumes"])
@pytest.mark.parametrize("who", ["hostadm", "gadmin"])
def test_admin_users_prune_for_real(mount, solo, people, cleanup, kind, who):
    """The cells test_permissions' matrix skips: there, among other modules,
    a real prune would take what they just made.  This module runs alone, so
    here a host admin and a global admin, as real Unix users, prune solo;
    the object goes and the audit row is theirs."""
    name = unique("prn")
    if kind == "networks":
        cleanup.network(solo, name)
        solo.docker("network", "create", name)
        names = solo.network_names
    else:
        cleanup.volume(solo, name)
        solo.docker("volume", "create", name)
        names = solo.volume_names
    foreign = foreign_prunable(solo, [name])
    assert not foreign, f"solo has objects a prune would remove: {foreign}: not pruning"
    marker = audit_marker(mount)
    user = people[who]
    user.write(hp(mount, "solo", kind, ".ctl"), "prune\n").expect_ok(f"prune as {who}")
    assert name not in names()
    rows = [r for r in audit_rows(mount, marker) if r.get("uid") == user.uid]
    assert rows and rows[-1]["outcome"] == "ok" and rows[-1]["action"] == "prune", rows


def test_prune_images(mount, wrk, cleanup):
    # busybox stays in use during the prune, whatever prune removes
    holder = cleanup.container(wrk, unique())
    wrk.docker("create", "--name", holder, IMAGE, "true")
    iid = committed_image(wrk, cleanup)
    foreign = foreign_prunable(wrk, [iid])
    assert not foreign, f"wrk has objects a prune would remove: {foreign}: not pruning"
    write_once(hp(mount, "wrk", "images", ".ctl"), "prune\n")
    assert not image_exists(wrk, iid)
    assert image_exists(wrk, IMAGE)
