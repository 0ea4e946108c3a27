"""M/containers/ and M/images/: every host at once, <host>:<name> symlinks
into M/hosts/."""
import os
import stat

import pytest

from conftest import objects, ENGINES, IMAGE, bracketed, eventually, read_text, unique, wait_until


def test_fleet_containers(mount, fleet, cleanup):
    # at least one container on every host
    for e in fleet.values():
        name = cleanup.container(e, unique())
        e.docker("create", "--name", name, IMAGE, "true")

    def docker_ps():
        return {f"{h}:{n}" for h in ENGINES for n in fleet[h].container_names()}

    def same():
        return bracketed(lambda: os.listdir(mount.p("containers")), docker_ps)
    entries = eventually(same, 5)
    for entry in sorted(entries):
        host, name = entry.split(":", 1)
        link = mount.p("containers", entry)
        try:
            # islink and isdir say False, not ENOENT, for what is gone
            assert os.path.islink(link) or not os.path.lexists(link), entry
            assert os.readlink(link) == f"../hosts/{host}/containers/{name}"
            assert os.path.realpath(link) == mount.p("hosts", host, "containers", name) \
                or not os.path.lexists(link), entry
            assert os.path.isdir(link) or not os.path.lexists(link), entry
            assert read_text(os.path.join(link, "name")) == name + "\n"
        except FileNotFoundError:
            # removed by someone else meanwhile: then docker agrees
            assert name not in fleet[host].container_names(), entry


def test_fleet_images(mount, fleet):
    def per_host():
        return {f"{h}:{n}" for h in ENGINES for n in objects(mount.p("hosts", h, "images"))}

    def same():
        return bracketed(lambda: os.listdir(mount.p("images")), per_host, "M/images")
    entries = eventually(same, 5)
    for h in ENGINES:
        assert f"{h}:{IMAGE}" in entries
    for entry in sorted(entries):
        host, name = entry.split(":", 1)
        link = mount.p("images", entry)
        try:
            assert os.path.islink(link) or not os.path.lexists(link), entry
            assert os.readlink(link) == f"../hosts/{host}/images/{name}"
            assert os.path.realpath(link) == mount.p("hosts", host, "images", name) \
                or not os.path.lexists(link), entry
            assert os.path.isdir(link) or not os.path.lexists(link), entry
        except FileNotFoundError:
            # untagged or removed by another module meanwhile
            wait_until(lambda: name not in objects(mount.p("hosts", host, "images")), 5,
                       f"{entry} gone from hosts/ too")
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
    eventually(lambda: os.lstat(link), 15)
    assert stat.S_ISLNK(os.lstat(link).st_mode)
    assert os.lstat(link).st_size == len(os.readlink(link))
