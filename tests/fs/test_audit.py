"""M/audit: JSON lines, one per acting write (allowed or refused), with
id, time, user, uid, host, action, resource_type, resource_id, details,
outcome (ok | denied | failed) and errno.  Global admins see every row,
others their own; rows outlive the mount (same --db)."""
import errno
import json
import os
import time

import pytest

from conftest import (AUDIT_KEYS, IMAGE, audit_marker, audit_rows, errno_matches, parse_audit,
                      parse_rfc3339_ns, raises_errno, read_text, unique, wait_listed_in,
                      write_once)

LOOP = "trap 'exit 0' TERM; while :; do sleep 0.1; done"


def cp(mount, name, *rest):
    return mount.p("hosts", "solo", "containers", name, *rest)


def check_row_shape(row):
    assert AUDIT_KEYS <= set(row), f"keys missing: {AUDIT_KEYS - set(row)} in {row}"
    assert isinstance(row["id"], int)
    assert row["outcome"] in ("ok", "denied", "failed"), row
    t = parse_rfc3339_ns(row["time"] if row["time"].endswith("Z")
                         else row["time"].replace("+00:00", "Z"))
    assert abs(t - time.time_ns()) < 24 * 3600 * 10**9, row["time"]
    return t


def test_scripted_sequence(mount, solo, people, cleanup):
    """create, start, a refused rm (running), stop, rename, rm force by the
    operator, and a stop the viewer may not do."""
    op, viewer = people["operator"], people["viewer"]
    n, n2 = cleanup.container(solo, unique()), cleanup.container(solo, unique())
    marker = audit_marker(mount)
    t0 = time.time_ns()

    op.write(mount.p("hosts", "solo", "containers", "ctl"),
             f"create --name {n} {IMAGE} sh -c \"{LOOP}\"\n").expect_ok("create")
    cid = solo.inspect(n, "{{.Id}}")
    op.write(cp(mount, n, "ctl"), "start\n").expect_ok("start")
    viewer.write(cp(mount, n, "ctl"), "stop\n").expect_errno(errno.EACCES, "viewer stop")
    op.write(cp(mount, n, "ctl"), "rm\n").expect_errno(errno.EBUSY, "rm of a running one")
    op.write(cp(mount, n, "ctl"), "stop\n").expect_ok("stop")
    op.write(cp(mount, n, "name"), n2 + "\n").expect_ok("rename")
    op.write(cp(mount, n2, "ctl"), "rm force\n").expect_ok("rm force")
    assert not solo.exists(n) and not solo.exists(n2)

    rows = audit_rows(mount, marker)
    mine = [r for r in rows if r["user"] == op.name]
    assert [r["action"] for r in mine] == ["create", "start", "rm", "stop", "set name", "rm"], \
        json.dumps(mine, indent=1)
    assert [r["outcome"] for r in mine] == ["ok", "ok", "failed", "ok", "ok", "ok"]
    assert [errno_matches(r["errno"], e) for r, e in
            zip(mine, [0, 0, errno.EBUSY, 0, 0, 0])] == [True] * 6, [r["errno"] for r in mine]
    ids = [r["id"] for r in mine]
    assert ids == sorted(ids) and len(set(ids)) == 6
    for r in mine:
        t = check_row_shape(r)
        assert t0 - 2 * 10**9 <= t <= time.time_ns() + 2 * 10**9, r["time"]
        assert r["uid"] == op.uid and r["host"] == "solo", r
        assert r["resource_type"] == "container", r
        assert r["resource_id"] in (n, n2, cid, cid[:12]), r

    theirs = [r for r in rows if r["user"] == viewer.name]
    assert len(theirs) == 1, theirs
    v = theirs[0]
    # refused at open(2), before the command is known: the row may name the
    # file instead of the command
    assert v["action"] in ("stop", "open ctl"), v
    assert (v["outcome"], v["host"], v["uid"]) == ("denied", "solo", viewer.uid), v
    assert errno_matches(v["errno"], errno.EACCES), v
    assert mine[1]["id"] < v["id"] < mine[2]["id"]

    # the operator sees its rows, and only its rows
    seen = [r for r in parse_audit(op.read(mount.p("audit")).expect_ok().data)
            if r["id"] > marker]
    assert [r["id"] for r in seen] == ids
    # the viewer sees its refused stop and nothing of the operator's
    seen = [r for r in parse_audit(viewer.read(mount.p("audit")).expect_ok().data)
            if r["id"] > marker]
    assert [r["id"] for r in seen] == [v["id"]]
    # a global admin sees them all
    seen = {r["id"] for r in parse_audit(people["gadmin"].read(mount.p("audit")).expect_ok().data)}
    assert set(ids) | {v["id"]} <= seen


def test_every_row_well_formed(mount, solo, cleanup):
    name = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c", LOOP)
    wait_listed_in(mount, "solo", "containers", name)
    write_once(cp(mount, name, "ctl"), "stop\n")
    text = read_text(mount.p("audit"))
    assert text.endswith("\n")
    rows = parse_audit(text)
    assert rows
    for r in rows:
        check_row_shape(r)
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_root_rows(mount, solo, cleanup):
    """root's own actions: user root, uid 0; a failure is outcome failed
    with its errno."""
    name = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c", LOOP)
    wait_listed_in(mount, "solo", "containers", name)
    marker = audit_marker(mount)
    raises_errno(errno.EBUSY, write_once, cp(mount, name, "ctl"), "rm\n")
    write_once(cp(mount, name, "ctl"), "pause\n")
    rows = [r for r in audit_rows(mount, marker) if r["uid"] == 0]
    assert [(r["action"], r["outcome"]) for r in rows] == [("rm", "failed"), ("pause", "ok")], rows
    assert errno_matches(rows[0]["errno"], errno.EBUSY)


def test_mkdir_rmdir_and_settings_rows(mount, solo, cleanup):
    v = cleanup.volume(solo, unique("vol"))
    net = cleanup.network(solo, unique("net"))
    marker = audit_marker(mount)
    os.mkdir(mount.p("hosts", "solo", "volumes", v))
    os.rmdir(mount.p("hosts", "solo", "volumes", v))
    os.mkdir(mount.p("hosts", "solo", "networks", net))
    netid = solo.out("network", "inspect", "--format", "{{.Id}}", net)
    os.rmdir(mount.p("hosts", "solo", "networks", net))
    old = read_text(mount.p("hosts", "solo", "description"))
    try:
        write_once(mount.p("hosts", "solo", "description"), "audited\n")
    finally:
        write_once(mount.p("hosts", "solo", "description"), old)
    rows = [r for r in audit_rows(mount, marker) if r["uid"] == 0]
    # a network is named by its name or its id
    got = [(r["action"], r["resource_type"], r["resource_id"].replace(netid, net))
           for r in rows[:4]]
    assert got == [("mkdir", "volume", v), ("rmdir", "volume", v),
                   ("mkdir", "network", net), ("rmdir", "network", net)], rows
    assert [r["action"] for r in rows[4:]] == ["set description", "set description"], rows
    assert all(r["host"] == "solo" and r["outcome"] == "ok" for r in rows), rows


def test_audit_is_read_only(mount):
    before = read_text(mount.p("audit"))
    raises_errno(errno.EACCES, os.open, mount.p("audit"), os.O_WRONLY | os.O_TRUNC)
    raises_errno(errno.EACCES, os.open, mount.p("audit"), os.O_WRONLY | os.O_APPEND)
    raises_errno((errno.EACCES, errno.EPERM, errno.ENOSYS), os.unlink, mount.p("audit"))
    after = read_text(mount.p("audit"))
    assert after.startswith(before)


def test_audit_listed_at_root(mount):
    assert {"hosts", "containers", "images", "users", "audit"} <= set(os.listdir(mount.path))


def test_rows_survive_remount(workdir, new_mount, solo, cleanup):
    db = os.path.join(workdir, unique("audit") + ".db")
    name = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c", LOOP)
    m = new_mount(db, {"solo": solo.url})
    m.wait_healthy()
    wait_listed_in(m, "solo", "containers", name)
    write_once(m.p("hosts", "solo", "containers", name, "ctl"), "stop\n")
    write_once(m.p("hosts", "solo", "containers", name, "ctl"), "start\n")
    before = parse_audit(read_text(m.p("audit")))
    assert [r["action"] for r in before][-2:] == ["stop", "start"]
    m.stop_ok()

    m = new_mount(db, {})
    m.wait_healthy(["solo"])
    after = parse_audit(read_text(m.p("audit")))
    assert after[:len(before)] == before
    # and new rows go on from there
    write_once(m.p("hosts", "solo", "containers", name, "ctl"), "stop\n")
    last = parse_audit(read_text(m.p("audit")))[-1]
    assert last["action"] == "stop" and last["id"] > before[-1]["id"]
    m.stop_ok()


@pytest.mark.parametrize("bad", [b"frobnicate\n", b"stop abc\n"])
def test_bad_command_audited_or_not_but_never_ok(mount, solo, cleanup, bad):
    """A refused bad command may be logged (failed, EINVAL) but never as ok."""
    name = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c", LOOP)
    wait_listed_in(mount, "solo", "containers", name)
    marker = audit_marker(mount)
    raises_errno(errno.EINVAL, write_once, cp(mount, name, "ctl"), bad)
    for r in audit_rows(mount, marker):
        if r["uid"] == 0 and r["host"] == "solo":
            assert r["outcome"] != "ok", r


def test_create_run_and_json_action_names(mount, solo, cleanup):
    a, b, c = (cleanup.container(solo, unique()) for _ in range(3))
    ctl = mount.p("hosts", "solo", "containers", "ctl")
    marker = audit_marker(mount)
    write_once(ctl, f"create --name {a} {IMAGE} true\n")
    write_once(ctl, f"run --name {b} {IMAGE} true\n")
    write_once(ctl, json.dumps({"Name": c, "Image": IMAGE, "Cmd": ["true"]}) + "\n")
    rows = [r for r in audit_rows(mount, marker) if r["uid"] == 0]
    assert [(r["action"], r["outcome"], r["resource_type"]) for r in rows] == \
        [("create", "ok", "container"), ("run", "ok", "container"),
         ("create", "ok", "container")], rows
    ids = {n: solo.inspect(n, "{{.Id}}") for n in (a, b, c)}
    for r, n in zip(rows, (a, b, c)):
        assert r["resource_id"] in (n, ids[n], ids[n][:12]), r
