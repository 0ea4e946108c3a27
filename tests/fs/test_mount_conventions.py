"""dockfs mounted the way other FUSE filesystems are: the fstab line of
examples/fstab through mount.fuse3 (and `mount -t fuse.dockfs`, which finds
dockfs on the default PATH), the -o forms of the options, the systemd unit
of examples/, and --version."""
import os
import re
import shlex
import subprocess

from conftest import DOCKFS_BIN, ROOT, mounted, read_text, run, unique, wait_until

EXAMPLES = os.path.join(ROOT, "examples")


def proc_argv(pid):
    """A process's arguments, [] once it ended (other modules run processes
    too)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def daemon_gone(mnt):
    """No dockfs process serving mnt is left (by its command line)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        argv = proc_argv(pid)
        if argv and os.path.basename(argv[0]) == b"dockfs" and mnt.encode() in argv:
            return False
    return True


def private_dir(workdir):
    d = os.path.join(workdir, unique("conv"))
    os.mkdir(d, 0o700)
    os.mkdir(os.path.join(d, "mnt"))
    os.mkdir(os.path.join(d, "bin"))
    # `dockfs` as mount.fuse3 runs it: a program of that name on PATH
    os.symlink(DOCKFS_BIN, os.path.join(d, "bin", "dockfs"))
    return d


def fstab_line(solo, d):
    """examples/fstab's line, with this test's mount point, registry and
    host: (spec, file, type, options)."""
    with open(os.path.join(EXAMPLES, "fstab")) as f:
        lines = [ln.split() for ln in f if ln.strip() and not ln.startswith("#")]
    assert len(lines) == 1, lines
    spec, file, vfstype, opts, _, _ = lines[0]
    assert vfstype == "fuse.dockfs" and file == "/mnt/dockfs"
    opts = opts.replace("/var/lib/dockfs/dockfs.db", os.path.join(d, "r.db"))
    opts = opts.replace("unix:///var/run/docker.sock", solo.url)
    return spec, os.path.join(d, "mnt"), vfstype, opts


def check_mounted_and_unmount(mnt, unmount, host="local"):
    """The example's host (-o host=local=..., here on solo's engine) is
    there and healthy; then unmount, and the daemon is gone."""
    assert mounted(mnt)
    assert host in os.listdir(os.path.join(mnt, "hosts"))
    wait_until(lambda: read_text(os.path.join(mnt, "hosts", host, "status"))
               .startswith("healthy"), 15, f"{host} healthy")
    with open("/proc/mounts") as f:
        line = next(ln for ln in f if f" {mnt} " in ln)
    assert line.split()[2] == "fuse.dockfs", line
    unmount()
    assert not mounted(mnt)
    wait_until(lambda: daemon_gone(mnt), 15, "the daemon gone after the unmount")


def test_fstab_line_through_mount_fuse3(workdir, solo):
    """What mount(8) does with examples/fstab's line: mount.fuse3 SPEC FILE
    -o OPTS -t TYPE, which runs `dockfs SPEC FILE -o OPTS` (x-* and
    mount(8)'s own options dropped or ignored); used and unmounted."""
    d = private_dir(workdir)
    spec, mnt, vfstype, opts = fstab_line(solo, d)
    env = dict(os.environ, PATH=os.path.join(d, "bin") + ":" + os.environ["PATH"])
    r = run(["mount.fuse3", spec, mnt, "-o", opts + ",x-systemd.automount", "-t", vfstype],
            env=env, timeout=30, check=False)
    try:
        assert r.returncode == 0, r.stderr
        with open("/proc/mounts") as f:
            assert any(ln.startswith(f"{spec} {mnt} fuse.dockfs ") for ln in f)
        # the host of -o host= is in the registry -o db= named
        assert os.path.exists(os.path.join(d, "r.db"))
        check_mounted_and_unmount(mnt, lambda: run(["umount", mnt]))
    finally:
        if mounted(mnt):
            run(["fusermount3", "-uz", mnt], check=False)


def test_mount_t_fuse_dockfs(workdir, solo):
    """`mount -t fuse.dockfs` with dockfs where mount(8)'s helper finds it
    (sh's default PATH: mount clears the caller's), in a mount namespace
    of its own so that /usr/local/bin stays untouched outside."""
    d = private_dir(workdir)
    mnt = os.path.join(d, "mnt")
    db = os.path.join(d, "r.db")
    script = f"""set -e
mount --bind {shlex.quote(os.path.join(d, 'bin'))} /usr/local/bin
mount -t fuse.dockfs fleet {shlex.quote(mnt)} -o db={shlex.quote(db)},host=solo={solo.url}
ls {shlex.quote(mnt)}/hosts
grep " {mnt} " /proc/mounts
umount {shlex.quote(mnt)}
"""
    r = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "solo" in lines
    assert any(ln.startswith(f"fleet {mnt} fuse.dockfs ") for ln in lines), lines
    wait_until(lambda: daemon_gone(mnt), 15, "the daemon gone after the unmount")


def test_systemd_unit(workdir, solo):
    """examples/dockfs.service: systemd finds nothing wrong in it but the
    absent program and man pages; its commands, with this test's paths,
    clear a stale mount, mount in the foreground and unmount with status 0."""
    unit = os.path.join(EXAMPLES, "dockfs.service")
    r = run(["systemd-analyze", "verify", unit], check=False, timeout=60)
    complaints = [ln for ln in (r.stdout + r.stderr).splitlines()
                  if ln.strip() and "/usr/local/bin/dockfs is not executable" not in ln
                  and "man dockfs" not in ln]
    assert not complaints, complaints

    keys = {}
    for ln in open(unit):
        if "=" in ln and not ln.startswith("#"):
            k, _, v = ln.strip().partition("=")
            keys.setdefault(k, []).append(v)
    assert keys["Restart"] == ["on-failure"]
    assert "-/bin/fusermount3 -uz /mnt/dockfs" in keys["ExecStartPre"]
    (start,) = keys["ExecStart"]
    (stop,) = keys["ExecStop"]
    argv = shlex.split(start)
    assert argv[0] == "/usr/local/bin/dockfs" and "-f" in argv

    d = private_dir(workdir)
    mnt = os.path.join(d, "mnt")

    def subst(args):
        out = []
        for a in args:
            a = a.replace("/var/lib/dockfs/dockfs.db", os.path.join(d, "r.db"))
            a = a.replace("unix:///var/run/docker.sock", solo.url)
            out.append(a.replace("/mnt/dockfs", mnt))
        return out
    # a stale mount: a daemon killed without unmounting
    run([DOCKFS_BIN, mnt, "--db", os.path.join(d, "stale.db"),
             "--host", f"solo={solo.url}"], timeout=30)
    assert mounted(mnt)
    pid = next(int(x) for x in os.listdir("/proc") if x.isdigit() and
               mnt.encode() in proc_argv(x))
    os.kill(pid, 9)
    wait_until(lambda: daemon_gone(mnt), 10, "the killed daemon gone")
    for pre in keys["ExecStartPre"]:
        run(subst(shlex.split(pre.lstrip("-"))), check=not pre.startswith("-"))
    assert not mounted(mnt)
    daemon = subprocess.Popen([DOCKFS_BIN, *subst(argv[1:])], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: mounted(mnt) or daemon.poll() is not None, 10, "the mount")
        check_mounted_and_unmount(mnt, lambda: run(subst(shlex.split(stop))))
        assert daemon.wait(timeout=15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        if mounted(mnt):
            run(["fusermount3", "-uz", mnt], check=False)


def test_version_names_the_libraries():
    out = run([DOCKFS_BIN, "--version"]).stdout
    lines = out.splitlines()
    assert re.fullmatch(r"dockfs \d+\.\d+\.\d+", lines[0]), lines[0]
    libs = {ln.split()[0]: ln.split(None, 1)[1] for ln in lines[1:]}
    assert set(libs) == {"libfuse", "libcurl", "jansson", "yajl", "sqlite", "libsodium",
                         "openssl", "libssh2"}, libs
    for name, ver in libs.items():
        assert re.search(r"\d+\.\d+", ver), (name, ver)
    assert run([DOCKFS_BIN, "-V"]).stdout == out
    # the same with a mount point and options around it: nothing mounted
    assert run([DOCKFS_BIN, "/nonexistent", "--version", "-o", "db=/x"]).stdout == out


def test_too_many_arguments(workdir):
    r = run([DOCKFS_BIN, "a", "b", "c"], check=False)
    assert r.returncode == 1 and "too many arguments" in r.stderr
