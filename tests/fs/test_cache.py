"""The kernel's page cache: warm reads are served without the daemon, and
never stale or cut short when the content (and its length) changes
elsewhere ("running\\n" is longer than "exited\\n")."""
import os

from conftest import IMAGE, read_text, unique, wait_listed_in, wait_until


def raw_read(path):
    """open/read/close as a C program does it: no fstat, one big read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def test_state_follows_changes_made_elsewhere(mount, solo, cleanup):
    name = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sleep", "600")
    wait_listed_in(mount, "solo", "containers", name)
    state = mount.p("hosts", "solo", "containers", name, "state")
    for i in range(6):
        want = b"running\n" if i % 2 == 0 else b"exited\n"
        if i % 2:
            solo.docker("stop", "-t", "0", name)
        elif i:
            solo.docker("start", name)
        # Warm the cache with several reads, then change again: every read
        # is either the old or the new value, whole, and ends at the new one.
        wait_until(lambda: raw_read(state) == want, 2, f"{name} state is {want!r}")
        for _ in range(20):
            got = raw_read(state)
            assert got == want, f"read {got!r}, expected {want!r}"
            assert read_text(state) == want.decode()


def test_sizes_agree_with_content_after_changes(mount, solo, cleanup):
    name = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sleep", "600")
    wait_listed_in(mount, "solo", "containers", name)
    state = mount.p("hosts", "solo", "containers", name, "state")
    solo.docker("stop", "-t", "0", name)
    wait_until(lambda: raw_read(state) == b"exited\n", 2, "exited")
    solo.docker("start", name)
    wait_until(lambda: raw_read(state) == b"running\n", 2, "running")
    # A program that trusts st_size (fstat after open) reads it all.
    with open(state, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        assert f.read(size) == b"running\n"
