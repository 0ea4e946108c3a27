"""Programs that trust st_size: tar stores exactly the size stat gave, so a
live file (inspect.json, logs, stats.json) must show its size before its
first open too (issue 15, dockfs(5) SIZES)."""
import calendar
import os
import tarfile
import time

from conftest import IMAGE, objects, run, unique, wait_until

# content that moves with the clock or the engine's sampling
TIME_VARYING = {"status", "stats.json", "logs"}


def test_tar_of_a_fresh_container(mount, solo, cleanup, workdir):
    name = cleanup.container(solo, unique("tar"))
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c", "echo hello; sleep 600")
    base = mount.p("hosts", "solo", "containers")
    wait_until(lambda: name in objects(base), 5, f"{name} listed")
    # The list shows a container before its inspect tells its start time,
    # which then becomes the directory's mtime: tar would rightly say the
    # directory changed as it read it.  Wait for that, by stat alone.
    started = calendar.timegm(time.strptime(
        solo.inspect(name, "{{.State.StartedAt}}")[:19], "%Y-%m-%dT%H:%M:%S"))
    wait_until(lambda: os.stat(os.path.join(base, name)).st_mtime >= started, 10,
               f"{name}'s mtime is its start")
    # `status` moves with the clock, and its length with it ("Up Less than a
    # second", "Up 1 second", "Up 2 seconds"): tar fails on a file that
    # shrinks or grows as it reads.  From 2 to 9 seconds up it keeps its
    # length ("Up N seconds").
    time.sleep(max(0.0, started + 3.2 - time.time()))  # started: whole seconds
    # never opened through the mount before tar stats it
    out = os.path.join(workdir, unique("tar") + ".tar")
    run(["tar", "cf", out, "-C", base, name], timeout=60)
    with tarfile.open(out) as tf:
        members = {m.name: m for m in tf.getmembers() if m.isfile()}
        assert f"{name}/inspect.json" in members, sorted(members)
        for path, m in sorted(members.items()):
            data = tf.extractfile(m).read()
            now = open(os.path.join(base, path), "rb").read()
            if os.path.basename(path) in TIME_VARYING:
                assert (len(data) == 0) == (len(now) == 0), \
                    f"{path}: tar stored {len(data)} bytes, cat reads {len(now)}"
            else:
                assert data == now, f"{path}: tar stored {data[:80]!r}..., cat reads {now[:80]!r}..."
    # and stat agrees with a read, for a file never read before
    other = cleanup.container(solo, unique("tar"))
    solo.docker("create", "--name", other, IMAGE, "true")
    wait_until(lambda: other in objects(base), 5, f"{other} listed")
    p = os.path.join(base, other, "inspect.json")
    size = os.stat(p).st_size
    assert size > 0 and size == len(open(p, "rb").read())
