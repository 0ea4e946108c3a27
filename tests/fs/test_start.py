"""Starting in the background (no -f): the command returns once the mount is
in place, with 0, or fails with 1 and the reason on its standard error; the
daemon runs on detached, in a session of its own."""
import os
import time

from conftest import DOCKFS_BIN, mounted, read_text, run, unique, wait_until


def daemon_pids(mnt):
    """Pids of the dockfs processes serving mnt (by their command lines)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0] == DOCKFS_BIN.encode() and mnt.encode() in argv:
            pids.append(int(pid))
    return pids


def unmount(mnt):
    for _ in range(20):
        if run(["fusermount3", "-u", mnt], check=False).returncode == 0 or not mounted(mnt):
            break
        time.sleep(0.2)
    if mounted(mnt):
        run(["fusermount3", "-uz", mnt], check=False)


def test_background_start_returns_once_mounted(workdir, solo):
    mnt = os.path.join(workdir, unique("bg"))
    os.mkdir(mnt)
    db = os.path.join(workdir, unique("bg") + ".db")
    try:
        p = run([DOCKFS_BIN, mnt, "--db", db, "--host", f"solo={solo.url}"], timeout=30)
        assert p.returncode == 0
        # mounted when the command returns, not some time after
        assert mounted(mnt)
        assert "solo" in os.listdir(os.path.join(mnt, "hosts"))
        wait_until(lambda: read_text(os.path.join(mnt, "hosts", "solo", "status")).startswith(
            "healthy"), 15, "solo healthy")
        pids = daemon_pids(mnt)
        assert len(pids) == 1, pids
        # detached: its own session, not the test's
        assert os.getsid(pids[0]) == pids[0]
        assert os.getsid(pids[0]) != os.getsid(0)
    finally:
        unmount(mnt)
    wait_until(lambda: not daemon_pids(mnt), 15, "the daemon gone after the unmount")


def test_background_start_failure_says_why(workdir, solo):
    mnt = os.path.join(workdir, unique("bg"))
    os.mkdir(mnt)
    db = os.path.join(workdir, unique("bg") + ".db")
    # a registry made with one passphrase does not open with another
    env = dict(os.environ, DOCKFS_PASSPHRASE="the right one")
    p = run([DOCKFS_BIN, mnt, "-f", "--db", db, "--import-docker=" + workdir], env=env,
            check=False, timeout=30)
    assert os.path.exists(db), p.stderr
    env["DOCKFS_PASSPHRASE"] = "a wrong one"
    p = run([DOCKFS_BIN, mnt, "--db", db, "--host", f"solo={solo.url}"], env=env, check=False,
            timeout=30)
    assert p.returncode == 1
    assert "does not open with this passphrase" in p.stderr
    assert not mounted(mnt)
    assert not daemon_pids(mnt)
    # a mount point that does not exist
    p = run([DOCKFS_BIN, os.path.join(mnt, "no", "such"), "--db", db], env=env, check=False,
            timeout=30)
    assert p.returncode == 1 and p.stderr.strip()
