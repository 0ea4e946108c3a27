"""M/hosts/<host>/images/: one entry per tag, image references escaped
(names.h: '/' -> %2F, '%' -> %25), untagged images by short id."""
import json
import os

import pytest

from conftest import (objects, ENGINES, IMAGE, bracketed, escape_name, eventually, read_text,
                      wait_until)

TAG = "localhost:5000/team/app:1.2"
TAG_FILE = "localhost:5000%2Fteam%2Fapp:1.2"


def docker_image_files(engine):
    """The file names dockfs should show for `docker images` of engine."""
    out = engine.out("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
    names = set()
    for line in out.splitlines():
        ref, iid = line.rsplit(" ", 1)
        if "<none>" in ref:
            names.add(iid.split(":", 1)[-1][:12])
        else:
            names.add(escape_name(ref))
    return names


@pytest.mark.parametrize("host", ENGINES)
def test_images_equal_docker_images(mount, fleet, host):
    eventually(lambda: bracketed(lambda: objects(mount.p("hosts", host, "images")),
                                 lambda: docker_image_files(fleet[host])), 5)


@pytest.mark.parametrize("host", ENGINES)
def test_busybox_image_id(mount, fleet, host):
    want = fleet[host].out("image", "inspect", "--format", "{{.Id}}", IMAGE)
    assert read_text(mount.p("hosts", host, "images", IMAGE, "id")) == want + "\n"


@pytest.fixture
def tagged(solo, cleanup):
    """TAG on solo (removed afterwards, unless it was there before)."""
    existed = solo.docker("image", "inspect", TAG, check=False).returncode == 0
    solo.docker("tag", IMAGE, TAG)
    if not existed:
        cleanup.image_tag(solo, TAG)
    return TAG


def test_escaped_tag_appears(mount, solo, tagged):
    images = mount.p("hosts", "solo", "images")
    wait_until(lambda: TAG_FILE in os.listdir(images), 2, f"{TAG_FILE} in ls {images}")
    want = solo.out("image", "inspect", "--format", "{{.Id}}", TAG)
    assert read_text(os.path.join(images, TAG_FILE, "id")) == want + "\n"
    tags = read_text(os.path.join(images, TAG_FILE, "tags")).splitlines()
    assert TAG in tags and IMAGE in tags
    inspect = json.loads(read_text(os.path.join(images, TAG_FILE, "inspect.json")))
    assert inspect["Id"] == want
    assert TAG in inspect["RepoTags"]
    # the fleet view has it too, as a link into hosts/
    link = mount.p("images", "solo:" + TAG_FILE)
    assert os.readlink(link) == "../hosts/solo/images/" + TAG_FILE
    assert read_text(os.path.join(link, "id")) == want + "\n"


def test_untagged_disappears(mount, solo, tagged):
    images = mount.p("hosts", "solo", "images")
    wait_until(lambda: TAG_FILE in os.listdir(images), 2, f"{TAG_FILE} in ls {images}")
    solo.docker("rmi", TAG)
    wait_until(lambda: TAG_FILE not in os.listdir(images), 2, f"{TAG_FILE} gone from {images}")
    assert IMAGE in os.listdir(images)   # the image itself stays, by its other tag


def test_image_by_id(mount, solo):
    iid = solo.out("image", "inspect", "--format", "{{.Id}}", IMAGE)
    hexid = iid.split(":", 1)[1]
    for key in (iid, hexid[:12]):
        assert read_text(mount.p("hosts", "solo", "images", key, "id")) == iid + "\n", key


@pytest.mark.parametrize("kind,cmd", [("networks", "network"), ("volumes", "volume")])
def test_networks_volumes_listed(mount, solo, kind, cmd):
    def same():
        return bracketed(lambda: objects(mount.p("hosts", "solo", kind)),
                         lambda: solo.out(cmd, "ls", "--format", "{{.Name}}").split())
    for n in eventually(same, 5):
        r = solo.docker(cmd, "inspect", "--format",
                        "{{.Id}}" if cmd == "network" else "{{.Name}}", n, check=False)
        try:
            got = read_text(mount.p("hosts", "solo", kind, n, "id"))
        except FileNotFoundError:
            got = None
        if r.returncode != 0 or got is None:
            # another module's, removed meanwhile: gone from both
            wait_until(lambda: n not in objects(mount.p("hosts", "solo", kind)), 5,
                       f"{n} gone from the mount too")
            continue
        assert got == r.stdout.strip() + "\n", n
