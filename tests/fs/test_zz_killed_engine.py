"""One engine killed (SIGKILL of its dockerd and containerd) and started again,
mid-action (a `stop 30` waiting on a container that ignores TERM),
mid-event-stream (the container dies with its engine), and the swarm's
worker killed mid-scale.

Runs last (the name sorts last): it takes solo away for a while.  solo is
started again in any case (finally), and the mount must then find it by
itself, without a remount or a write to ctl.
"""
import errno
import os
import subprocess
import threading
import time

from conftest import (objects, FLEET, HEALTH_INTERVAL, IMAGE, first_line, read_text, run, unique,
                      wait_until)
from test_inotify import Watch
from test_zz_faults import (CATCH_UP, CONVERGE, engine_service, model_equals_engine,
                            other_host_fast, scaled_service, service_equals_engine, write_errno)

UNHEALTHY_WITHIN = HEALTH_INTERVAL + 4     # 5 s
FAST = 1.0          # another host answers within this while solo is down
FAIL_FAST = 2.0     # a live read of solo fails within this
HEALTHY_AGAIN = 15  # solo healthy again after it answers
APPEAR = 5.0         # the issue: the model equals the engine within 5 s


def fleet_kill(engine):
    run([FLEET, "kill", engine], timeout=30)


def fleet_start(engine):
    run([FLEET, "start", engine], timeout=120)


def restart_stopped(engine, ids):
    """Starts again those of ids (running before the kill) that the engine's
    restart left stopped: the fleet is left as it was found."""
    running = set(engine.out("ps", "--no-trunc", "--format", "{{.ID}}").split())
    existing = engine.container_ids()
    for cid in sorted((ids & existing) - running):
        engine.docker("start", cid, check=False)


def test_killed_engine(mount, solo, mgr, cleanup):
    running_before = set(solo.out("ps", "--no-trunc", "--format", "{{.ID}}").split())
    before = cleanup.container(solo, unique())
    solo.docker("run", "--name", before, IMAGE, "sh", "-c", "echo before-kill")
    base = mount.p("hosts", "solo", "containers")
    wait_until(lambda: before in os.listdir(base), APPEAR, f"{before} listed")
    # The model must have seen it exit before the engine goes away, or its
    # last known state is (rightly) still "running".
    wait_until(lambda: read_text(os.path.join(base, before, "state")) == "exited\n", 2,
               f"{before} exited")
    # ignores TERM: a `stop 30` of it waits for the engine's 30 s
    trapper = cleanup.container(solo, unique("trap"))
    solo.docker("run", "-d", "--name", trapper, IMAGE, "sh", "-c",
                "trap '' TERM; while :; do sleep 1; done")
    tstate = os.path.join(base, trapper, "state")
    wait_until(lambda: trapper in os.listdir(base) and read_text(tstate) == "running\n", 5,
               f"{trapper} running")
    cached = objects(base)
    mgr_names = objects(mount.p("hosts", "mgr", "containers"))
    w = Watch([os.path.join(base, trapper)], recursive=False)

    killed = False
    try:
        stopping = {}
        th = threading.Thread(daemon=True, target=lambda: stopping.update(
            r=write_errno(os.path.join(base, trapper, "ctl"), "stop 30\n")))
        th.start()
        time.sleep(1)
        fleet_kill("solo")
        killed = True
        # the action in flight fails when its engine goes, not at its deadline
        th.join(10)
        assert "r" in stopping, "`stop 30` still waiting 10 s after its engine was killed"
        err, took = stopping["r"]
        assert err in (errno.EHOSTDOWN, errno.EIO), os.strerror(err) if err else "succeeded"
        assert read_text(os.path.join(base, trapper, "error")).strip()
        assert not solo.answers(), "solo still answers after `fleet kill solo`"
        t0 = time.monotonic()
        status = mount.p("hosts", "solo", "status")
        wait_until(lambda: first_line(status) == "unhealthy", UNHEALTHY_WITHIN,
                   "solo unhealthy")
        lines = read_text(status).splitlines()
        assert len(lines) == 2 and lines[1].strip(), f"no error line in status: {lines}"
        assert time.monotonic() - t0 <= UNHEALTHY_WITHIN

        # the other hosts are not held up
        t = time.monotonic()
        names = objects(mount.p("hosts", "mgr", "containers"))
        assert time.monotonic() - t < FAST
        t = time.monotonic()
        r = subprocess.run(["ls", mount.p("hosts", "mgr", "containers")],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and time.monotonic() - t < FAST, r.stderr
        assert names == mgr_names or names == set(mgr.container_names())
        assert first_line(mount.p("hosts", "mgr", "status")) == "healthy"

        # solo's last known state stays readable
        assert objects(base) == cached
        assert read_text(os.path.join(base, before, "state")) == "exited\n"

        # a live read fails fast, with an errno that says why
        for f in ("logs", "inspect.json"):
            t = time.monotonic()
            try:
                read_text(os.path.join(base, before, f))
            except OSError as e:
                assert e.errno in (errno.EHOSTDOWN, errno.ETIMEDOUT), (f, e)
            else:
                raise AssertionError(f"reading {f} of a container of a dead engine succeeded")
            assert time.monotonic() - t < FAIL_FAST, f"{f}: failed only after " \
                f"{time.monotonic() - t:.1f}s"
        # still unhealthy (no flapping while it is away)
        assert first_line(status) == "unhealthy"

        fleet_start("solo")
        killed = False
        assert solo.answers()
        wait_until(lambda: first_line(status) == "healthy", HEALTHY_AGAIN, "solo healthy again")
        assert read_text(status) == "healthy\n"

        after = cleanup.container(solo, unique())
        solo.docker("create", "--name", after, IMAGE, "true")
        t = time.monotonic()
        wait_until(lambda: after in os.listdir(base), APPEAR, f"{after} listed after restart")
        assert time.monotonic() - t <= APPEAR
        assert "before-kill" in read_text(os.path.join(base, before, "logs"))

        def same():
            return objects(base) == solo.container_names()
        wait_until(same, APPEAR, "solo's listing to equal docker ps -a after the restart")
        # what died with the engine: its state, and the notice of it
        wait_until(lambda: model_equals_engine(mount, "solo", solo), 5,
                   "solo's containers and states to equal the engine's", interval=0.1)
        assert read_text(tstate) == "exited\n"
        w.wait(tstate, {"ATTRIB", "MODIFY"}, since=t0)
    finally:
        w.stop()
        if killed or not solo.answers():
            fleet_start("solo")
        restart_stopped(solo, running_before)


def test_worker_killed_mid_scale(mount, mgr, wrk, scaled_service):
    """The worker killed while a service scales up through the manager: the
    scale succeeds (the manager's business), the other hosts answer, the
    swarm puts the tasks somewhere; once the worker is back, `running`
    follows the engine and inotify told of it."""
    name, d = scaled_service
    running_before = set(wrk.out("ps", "--no-trunc", "--format", "{{.ID}}").split())
    w = Watch([d], recursive=False)
    killed = False
    try:
        err, took = write_errno(os.path.join(d, "replicas"), "4\n")
        assert err == 0 and took <= 30, (os.strerror(err) if err else "ok", took)
        fleet_kill("wrk")
        killed = True
        mark = time.monotonic()
        other_host_fast(mount, "solo")
        other_host_fast(mount, "mgr")
        assert first_line(os.path.join(d, "replicas")) == "4"
        fleet_start("wrk")
        killed = False
        wait_until(lambda: engine_service(mgr, name)[1] == "4/4", CONVERGE,
                   f"{name}'s four tasks running with the worker back")
        wait_until(lambda: service_equals_engine(d, mgr, name), CATCH_UP,
                   "the service's files equal the engine", interval=0.1)
        w.wait(os.path.join(d, "running"), {"MODIFY", "ATTRIB"}, since=mark)
    finally:
        w.stop()
        if killed or not wrk.answers():
            fleet_start("wrk")
        restart_stopped(wrk, running_before)
