"""M/containers/ and M/images/: every host at once, <host>:<name> symlinks
into M/hosts/."""
import os
import stat

import pytest

from conftest import objects, ENGINES, IMAGE, eventually, read_text, unique


def test_fleet_containers(mount, fleet, cleanup):
    # at least one container on every host
    for e in fleet.values():
        name = cleanup.container(e, unique())
        e.docker("create", "--name", name, IMAGE, "true")

    def same():
        want = {f"{h}:{n}" for h in ENGINES for n in fleet[h].container_names()}
        got = set(os.listdir(mount.p("containers")))
        assert got == want, f"only in dockfs: {got - want}, only in docker: {want - got}"
        return got
    entries = eventually(same, 2)
    for entry in sorted(entries):
        host, name = entry.split(":", 1)
        link = mount.p("containers", entry)
        try:
            assert os.path.islink(link), entry
            assert os.readlink(link) == f"../hosts/{host}/containers/{name}"
            assert os.path.realpath(link) == mount.p("hosts", host, "containers", name)
            assert os.path.isdir(link)
            assert read_text(os.path.join(link, "name")) == name + "\n"
        except FileNotFoundError:
            # removed by someone else meanwhile: then docker agrees
            assert name not in fleet[host].container_names(), entry


def test_fleet_images(mount, fleet):
    def same():
        want = {f"{h}:{n}" for h in ENGINES for n in objects(mount.p("hosts", h, "images"))}
        got = set(os.listdir(mount.p("images")))
        assert got == want, f"only in M/images: {got - want}, only in hosts/: {want - got}"
        return got
    entries = eventually(same, 2)
    for h in ENGINES:
        assert f"{h}:{IMAGE}" in entries
    for entry in sorted(entries):
        host, name = entry.split(":", 1)
        link = mount.p("images", entry)
        assert os.path.islink(link), entry
        assert os.readlink(link) == f"../hosts/{host}/images/{name}"
        assert os.path.realpath(link) == mount.p("hosts", host, "images", name)
        assert os.path.isdir(link)
    want = fleet["mgr"].out("image", "inspect", "--format", "{{.Id}}", IMAGE)
    assert read_text(mount.p("images", f"mgr:{IMAGE}", "id")) == want + "\n"


@pytest.mark.parametrize("view", ["containers", "images"])
def test_fleet_view_unknown_entries(mount, view):
    for entry in ("nohost:x", "solo:no-such-thing-here", "no-colon", ":x"):
        with pytest.raises(FileNotFoundError):
            os.lstat(mount.p(view, entry))


def test_fleet_view_symlink_type(mount, solo, cleanup):
    name = cleanup.container(solo, unique())
    solo.docker("create", "--name", name, IMAGE, "true")
    link = mount.p("containers", f"solo:{name}")
    eventually(lambda: os.lstat(link), 1)
    assert stat.S_ISLNK(os.lstat(link).st_mode)
    assert os.lstat(link).st_size == len(os.readlink(link))
