"""Inode numbers across an object's removal and re-creation (issue 15): the
same name made again is another object, with other inode numbers, and its
directory is whole and reachable at once (the old inode was reused when
inode = path, and a re-created name was seen as an empty directory)."""
import os

from conftest import IMAGE, objects, read_text, unique, wait_until


def test_recreated_name_is_another_inode(mount, solo, cleanup):
    base = mount.p("hosts", "solo", "containers")
    name = cleanup.container(solo, unique("ino"))
    solo.docker("create", "--name", name, IMAGE, "true")
    wait_until(lambda: name in objects(base), 5, f"{name} listed")
    d = os.path.join(base, name)
    old_id = read_text(os.path.join(d, "id")).strip()
    old_dir = os.stat(d).st_ino
    old_file = os.stat(os.path.join(d, "id")).st_ino
    old_files = sorted(os.listdir(d))
    # d_ino of readdir agrees with st_ino
    by_readdir = {e.name: e.inode() for e in os.scandir(base)}
    assert by_readdir[name] == old_dir
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)    # the kernel keeps the old inode
    try:
        solo.docker("rm", name)
        solo.docker("create", "--name", name, IMAGE, "true")
        new_id = solo.inspect(name, "{{.Id}}")
        assert new_id != old_id

        def recreated():
            try:
                return read_text(os.path.join(d, "id")).strip() == new_id
            except OSError:
                return False
        wait_until(recreated, 5, f"{name} is the new container")
        assert sorted(os.listdir(d)) == old_files
        assert os.stat(d).st_ino != old_dir
        assert os.stat(os.path.join(d, "id")).st_ino != old_file
        by_readdir = {e.name: e.inode() for e in os.scandir(base)}
        assert by_readdir[name] == os.stat(d).st_ino
        by_readdir = {e.name: e.inode() for e in os.scandir(d)}
        assert by_readdir["id"] == os.stat(os.path.join(d, "id")).st_ino
    finally:
        os.close(fd)
