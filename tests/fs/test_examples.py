"""The operator scripts of examples/ that act through the mount:
stop-by-label.sh, restart-exited.sh (run with a label filter, so that only
this test's containers are touched) and who-did-what.sh."""
import os
import shutil
import tempfile
import time

import pytest

from conftest import IMAGE, ROOT, read_text, run, unique, wait_listed_in, wait_until

EXAMPLES = os.path.join(ROOT, "examples")
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.1; done"


def script(name, *args, mount, timeout=60, env_extra=None, user=None):
    env = dict(os.environ, DOCKFS=mount.path)
    env.update(env_extra or {})
    argv = [os.path.join(EXAMPLES, name), *args]
    if user:
        argv = user.argv("env", f"DOCKFS={mount.path}", *argv)
    return run(argv, timeout=timeout, check=False, env=env)


def test_shellcheck_clean():
    names = sorted(n for n in os.listdir(EXAMPLES) if n.endswith(".sh"))
    assert {"stop-by-label.sh", "restart-exited.sh", "who-did-what.sh"} <= set(names)
    r = run(["shellcheck", *[os.path.join(EXAMPLES, n) for n in names]], timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    for n in names:
        assert os.access(os.path.join(EXAMPLES, n), os.X_OK), f"{n} is not executable"


def labelled(engine, cleanup, label, running=True):
    name = cleanup.container(engine, unique())
    args = ["--label", label] if label else []
    if running:
        engine.docker("run", "-d", "--name", name, *args, IMAGE, "sh", "-c", LOOP)
    else:
        engine.docker("run", "--name", name, *args, IMAGE, "true")
    return name


def wait_state_in(mount, engine, name, word):
    """Until the mount shows the container in state word.  The mount learns
    of a start or an exit from the engine's events, after `docker run`
    returned: until then a script rightly takes it for what it was."""
    state = mount.p("hosts", engine.name, "containers", name, "state")

    def shown():
        try:
            return read_text(state) == word + "\n"
        except FileNotFoundError:
            return False
    wait_until(shown, 15, f"{name} {word} in the mount")


def test_stop_by_label(mount, solo, mgr, cleanup):
    value = unique("v")
    a = labelled(solo, cleanup, f"dockfs.example={value}")
    b = labelled(solo, cleanup, f"dockfs.example={value}")
    c = labelled(mgr, cleanup, f"dockfs.example={value}")
    other = labelled(solo, cleanup, "dockfs.example=other")
    bare = labelled(solo, cleanup, None)
    stopped_already = labelled(solo, cleanup, f"dockfs.example={value}", running=False)
    for e, n in ((solo, a), (solo, b), (mgr, c), (solo, other)):
        wait_state_in(mount, e, n, "running")
    wait_state_in(mount, solo, stopped_already, "exited")
    r = script("stop-by-label.sh", f"dockfs.example={value}", mount=mount)
    assert r.returncode == 0, r.stderr
    assert set(r.stdout.split()) == {f"solo:{a}", f"solo:{b}", f"mgr:{c}"}
    for e, n in ((solo, a), (solo, b), (mgr, c)):
        assert e.inspect(n, "{{.State.Status}}") == "exited"
    for n in (other, bare):
        assert solo.inspect(n, "{{.State.Status}}") == "running"
    # nothing left to stop: succeeds, prints nothing
    r = script("stop-by-label.sh", f"dockfs.example={value}", mount=mount)
    assert (r.returncode, r.stdout) == (0, "")


def test_stop_by_label_reports_refusal(mount, solo, people, cleanup):
    value = unique("v")
    a = labelled(solo, cleanup, f"dockfs.example={value}")
    wait_state_in(mount, solo, a, "running")
    r = script("stop-by-label.sh", f"dockfs.example={value}", mount=mount, user=people["viewer"])
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Permission denied" in r.stderr and a in r.stderr, r.stderr
    assert solo.inspect(a, "{{.State.Status}}") == "running"


@pytest.mark.parametrize("args", [[], ["novalue"], ["=x"], ["a=b", "/mnt", "extra"]])
def test_stop_by_label_usage(mount, args):
    r = script("stop-by-label.sh", *args, mount=mount)
    assert r.returncode == 2 and "usage:" in r.stderr


def test_restart_exited_with_label(mount, solo, wrk, cleanup):
    value = unique("v")
    a = labelled(solo, cleanup, f"dockfs.example={value}", running=False)
    b = labelled(wrk, cleanup, f"dockfs.example={value}", running=False)
    for e, n in ((solo, a), (wrk, b)):
        assert e.inspect(n, "{{.State.Status}}") == "exited"
    running = labelled(solo, cleanup, f"dockfs.example={value}")
    other = labelled(solo, cleanup, "dockfs.example=other", running=False)
    for e, n in ((solo, a), (wrk, b), (solo, other)):
        wait_state_in(mount, e, n, "exited")
    wait_state_in(mount, solo, running, "running")
    started = {n: e.inspect(n, "{{.State.StartedAt}}") for e, n in
               ((solo, a), (wrk, b), (solo, running), (solo, other))}
    r = script("restart-exited.sh", "-l", f"dockfs.example={value}", mount=mount)
    assert r.returncode == 0, r.stderr
    assert {line.split("\t")[0] for line in r.stdout.splitlines()} == {f"solo:{a}", f"wrk:{b}"}
    for e, n in ((solo, a), (wrk, b)):
        assert e.inspect(n, "{{.State.StartedAt}}") != started[n], f"{n} was not restarted"
    assert solo.inspect(running, "{{.State.StartedAt}}") == started[running]
    assert solo.inspect(other, "{{.State.StartedAt}}") == started[other]


@pytest.mark.parametrize("args", [["-l"], ["-l", "novalue"], ["/a", "/b"]])
def test_restart_exited_usage(mount, args):
    r = script("restart-exited.sh", *args, mount=mount)
    assert r.returncode == 2 and "usage:" in r.stderr


def test_who_did_what(mount, solo, cleanup):
    name = labelled(solo, cleanup, None)
    wait_listed_in(mount, "solo", "containers", name)
    with open(mount.p("hosts", "solo", "containers", name, "ctl"), "w") as f:
        f.write("pause\n")
    r = script("who-did-what.sh", mount=mount)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["TIME", "USER", "HOST", "ACTION", "RESOURCE", "OUTCOME", "ERROR"]
    # other modules act meanwhile: our row is the one naming our container
    cid = solo.inspect(name, "{{.Id}}")
    ours = [line.split() for line in lines[1:]
            if line.split()[4].split(":", 1)[-1] in (name, cid, cid[:12])]
    assert ours and ours[-1][2:4] == ["solo", "pause"] and "ok" in ours[-1], lines
    # the same table without jq (python3 instead)
    bindir = tempfile.mkdtemp(prefix="nojq.")
    try:
        os.symlink("/usr/bin/python3", os.path.join(bindir, "python3"))
        r2 = run(["/bin/bash", os.path.join(EXAMPLES, "who-did-what.sh"), "1", mount.path],
                 timeout=60, check=False, env={"PATH": bindir})
    finally:
        shutil.rmtree(bindir)
    assert r2.returncode == 0, r2.stderr
    # The same lines: other modules' rows may have come since (at the end)
    # and pushed the oldest out of M/audit's newest 10000 (at the start).
    a, b = r.stdout.splitlines(), r2.stdout.splitlines()
    assert a[0] == b[0], (a[0], b[0])
    a, b = a[1:], b[1:]
    assert any(b[:len(a) - d] == a[d:] for d in range(len(a))), (a[-5:], b[-5:])
    # a window of 0 hours, a second after the last action: just the header
    time.sleep(1.1)
    r = script("who-did-what.sh", "0", mount=mount)
    assert r.returncode == 0 and len(r.stdout.splitlines()) <= 2


@pytest.mark.parametrize("args", [["x"], ["-1"], ["1", "/a", "b"]])
def test_who_did_what_usage(mount, args):
    r = script("who-did-what.sh", *args, mount=mount)
    assert r.returncode == 2 and "usage:" in r.stderr
