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
                      parse_rfc3339_ns, raises_errno, read_text, register_user, unique,
                      unregister_user, wait_listed_in, wait_until, write_once)

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

    op.write(mount.p("hosts", "solo", "containers", ".ctl"),
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
    ctl = mount.p("hosts", "solo", "containers", ".ctl")
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


# ---- every act and refusal, whole ------------------------------------------------

def fleet_swarm(mount, mgr):
    sid = mgr.out("info", "--format", "{{.Swarm.Cluster.ID}}")
    return wait_until(lambda: next((mount.p("swarms", n) for n in os.listdir(mount.p("swarms"))
                                    if read_text(mount.p("swarms", n, "id")).strip() == sid),
                                   None), 15, "the fleet swarm under M/swarms")


def test_refused_create_is_on_record(mount, mgr, unix_users):
    """open(O_CREAT) of a new name by a viewer, in a directory that makes
    files by writing (a swarm's secrets/ and configs/, a node's labels/):
    refused with EACCES before anything is written, and a `denied` row."""
    v = register_user(mount, unix_users.make("vcre"), {"mgr": "viewer"})
    try:
        swarm = fleet_swarm(mount, mgr)
        node = sorted(os.listdir(os.path.join(swarm, "nodes")))[0]
        names = {os.path.join(swarm, "secrets", unique("s")): "secrets",
                 os.path.join(swarm, "configs", unique("c")): "configs",
                 os.path.join(swarm, "nodes", node, "labels", unique("k")): "labels"}
        marker = audit_marker(mount)
        for path in names:
            v.act("open", path, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC) \
                .expect_errno(errno.EACCES, f"viewer creates {path}")
            # as the shell does it: `echo x > path`
            r = v.sh('echo x > "$1"', path)
            assert r.returncode != 0, r
        rows = [r for r in audit_rows(mount, marker) if r["uid"] == v.uid]
        for path in names:
            base = os.path.basename(path)
            mine = [r for r in rows if r["action"] == f"open {base}"]
            assert len(mine) == 2, (path, rows)
            for r in mine:
                assert (r["outcome"], r["host"]) == ("denied", "mgr"), r
                assert errno_matches(r["errno"], errno.EACCES), r
                assert r["resource_id"] == base, r
        # nothing was made
        assert not any(os.path.basename(p) in os.listdir(os.path.dirname(p)) for p in names)
    finally:
        unregister_user(mount, v)


def test_long_body_is_whole(mount, solo, cleanup):
    """A 60 KB create body whose dangerous fields come after a long label
    is in its row whole: PidMode and CapAdd are there to be seen."""
    name = cleanup.container(solo, unique("long"))
    pad = "p" * 60000
    body = json.dumps({"Name": name, "Image": IMAGE, "Cmd": ["true"], "Labels": {"pad": pad},
                       "HostConfig": {"PidMode": "host", "CapAdd": ["NET_ADMIN"]}})
    marker = audit_marker(mount)
    write_once(mount.p("hosts", "solo", "containers", ".ctl"), body + "\n")
    rows = [r for r in audit_rows(mount, marker) if r["uid"] == 0 and r["action"] == "create"]
    assert len(rows) == 1, rows
    d = rows[0]["details"]
    assert rows[0]["outcome"] == "ok", rows[0]["outcome"]
    assert pad in d
    assert "PidMode" in d and "NET_ADMIN" in d, d[-300:]
    assert d.index("PidMode") > d.index(pad)
    assert solo.inspect(name, "{{.HostConfig.PidMode}}") == "host"


def audit_bytes(mount):
    with open(mount.p("audit"), "rb") as f:
        return f.read()


def every_line_json(raw):
    """Each line of M/audit as read: strict UTF-8, one JSON object."""
    rows = []
    for line in raw.split(b"\n"):
        if line:
            rows.append(json.loads(line.decode("utf-8", errors="strict")))
    return rows


def test_invalid_utf8_rows_are_shown(mount, solo, cleanup):
    """Writes and names of any bytes (invalid UTF-8, controls) have their
    rows in M/audit, every line of which is valid JSON in valid UTF-8."""
    name = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", name, IMAGE, "sh", "-c", LOOP)
    wait_listed_in(mount, "solo", "containers", name)
    marker = audit_marker(mount)
    raises_errno(errno.EINVAL, write_once, cp(mount, name, "ctl"), b"stop \xff\xfe\x1b[2J\n")
    raises_errno(errno.EINVAL, write_once, cp(mount, name, "ctl"), b"kill \xc3\n")
    bad = unique("vol").encode() + b"\xff\xc0\xaf"
    with pytest.raises(OSError):
        os.mkdir(mount.p("hosts", "solo", "volumes").encode() + b"/" + bad)
    rows = [r for r in every_line_json(audit_bytes(mount)) if r["id"] > marker and r["uid"] == 0]
    details = [r["details"] for r in rows]
    assert any(d.startswith("stop \\xff\\xfe\\x1b[2J") for d in details), rows
    assert any(d.startswith("kill \\xc3") for d in details), rows
    mk = [r for r in rows if r["action"] == "mkdir"]
    assert mk and mk[0]["resource_id"] == bad[:-3].decode() + "\\xff\\xc0\\xaf", mk


def test_old_rows_of_any_bytes_are_shown(workdir, new_mount, solo):
    """Rows stored by older versions with bytes that are not UTF-8 (in the
    database: sqlite3 keeps them) are shown all the same."""
    import sqlite3
    db = os.path.join(workdir, unique("audit8") + ".db")
    m = new_mount(db, {"solo": solo.url})
    m.wait_healthy()
    m.stop_ok()
    con = sqlite3.connect(db)
    with con:
        for i in range(3):
            con.execute("INSERT INTO audit_logs (ts, username, uid, host_name, action,"
                        " resource_type, resource_id, details, outcome, errno) VALUES"
                        " (?, CAST(? AS TEXT), 0, 'solo', CAST(? AS TEXT), 'container',"
                        " CAST(? AS TEXT), CAST(? AS TEXT), 'ok', 0)",
                        (int(time.time() * 1000), b"ro\xffot", b"set \xfe", b"c\xc3" + bytes([i]),
                         b"x" * 2000 + b"\xff\x1bend"))
    con.close()
    m = new_mount(db, {})
    m.wait_healthy(["solo"])
    rows = every_line_json(audit_bytes(m))
    old = [r for r in rows if r["action"] == "set \\xfe"]
    assert len(old) == 3, rows[-5:]
    assert old[0]["details"] == "x" * 2000 + "\\xff\\x1bend"
    assert old[0]["user"] == "ro\\xffot"
    m.stop_ok()
