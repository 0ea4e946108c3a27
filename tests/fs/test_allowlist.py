"""The allowlist as a parser, against a real engine: what an operator writes
is never forwarded; dockfs writes the body it sends, references are looked
up on the engine, and reaching into a container that only an admin could
have made needs admin as well.  Users are real Unix users (conftest.people:
operator and hostadm on solo).
"""
import errno
import json
import os

from conftest import IMAGE, audit_marker, audit_rows, unique, wait_listed_in


def ctl(mount):
    return mount.p("hosts", "solo", "containers", ".ctl")


def error_of(user, d):
    name = ".error" if os.path.basename(d) == "containers" else "error"
    return user.read(os.path.join(d, name)).expect_ok().data


def made(solo, name):
    return json.loads(solo.out("inspect", name))[0]


def test_operator_network_by_id_of_host_refused(mount, solo, people, cleanup):
    host_id = solo.out("network", "inspect", "--format", "{{.Id}}", "host").strip()
    for ref in (host_id, host_id[:12]):
        n = cleanup.container(solo, unique())
        people["operator"].write(ctl(mount), f"create --name {n} --network {ref} {IMAGE} "
                                             "sleep 600\n").expect_errno(errno.EACCES, ref)
        assert not solo.exists(n)
        assert "driver host" in error_of(people["operator"], mount.p("hosts", "solo", "containers"))


def test_operator_network_by_id_sent_as_resolved(mount, solo, people, cleanup):
    net = cleanup.network(solo, unique("net"))
    solo.docker("network", "create", net)
    net_id = solo.out("network", "inspect", "--format", "{{.Id}}", net).strip()
    n = cleanup.container(solo, unique())
    people["operator"].write(ctl(mount), f"create --name {n} --network {net_id[:10]} {IMAGE} "
                                         "sleep 600\n").expect_ok("network by short id")
    j = made(solo, n)
    assert j["HostConfig"]["NetworkMode"] == net_id
    assert list(j["NetworkSettings"]["Networks"]) == [net]


def test_operator_volume_with_bind_options_refused(mount, solo, people, cleanup):
    vol = cleanup.volume(solo, unique("vol"))
    solo.docker("volume", "create", "--opt", "type=none", "--opt", "o=bind",
                "--opt", "device=/etc", vol)
    for how in (f"-v {vol}:/x", f"--mount type=volume,source={vol},target=/x"):
        n = cleanup.container(solo, unique())
        people["operator"].write(ctl(mount), f"create --name {n} {how} {IMAGE} true\n") \
            .expect_errno(errno.EACCES, how)
        assert not solo.exists(n)
        assert vol in error_of(people["operator"], mount.p("hosts", "solo", "containers"))
    # the host admin may
    n = cleanup.container(solo, unique())
    people["hostadm"].write(ctl(mount), f"create --name {n} -v {vol}:/x {IMAGE} true\n") \
        .expect_ok("admin")


def test_operator_body_with_the_clis_zero_values(mount, solo, people, cleanup):
    n = cleanup.container(solo, unique())
    body = {"Name": n, "Image": IMAGE, "Cmd": ["sleep", "600"], "Labels": {"k": "v"},
            "HostConfig": {"Privileged": False, "CapAdd": None, "PidMode": "",
                           "Devices": [], "RestartPolicy": {"Name": "no"}}}
    people["operator"].write(ctl(mount), json.dumps(body) + "\n").expect_ok("zero values")
    j = made(solo, n)
    assert j["Config"]["Labels"] == {"k": "v"}
    assert not j["HostConfig"]["Privileged"] and not j["HostConfig"]["CapAdd"]


def test_operator_unknown_or_misspelled_key_refused(mount, solo, people, cleanup):
    for key, want in (("image", errno.EINVAL), ("Imagé", errno.EACCES),
                      ("Hoſtconfig", errno.EACCES)):
        n = cleanup.container(solo, unique())
        body = json.dumps({"Name": n, "Image": IMAGE, key: {} if key != "image" else IMAGE},
                          ensure_ascii=False)
        people["operator"].write(ctl(mount), body + "\n").expect_errno(want, key)
        assert not solo.exists(n)
        assert key in error_of(people["operator"], mount.p("hosts", "solo", "containers"))


def test_operator_exec_into_rooted_container_refused(mount, solo, people, cleanup):
    """A shell in a privileged or host-bound container is root on the
    machine: an operator may not exec there, its admin may."""
    cases = {
        "privileged": ["--privileged"],
        "host-pid": ["--pid", "host"],
        "bind": ["-v", "/etc:/hostetc:ro"],
        "cap-add": ["--cap-add", "SYS_ADMIN"],
    }
    plain = cleanup.container(solo, unique())
    solo.docker("run", "-d", "--name", plain, IMAGE, "sleep", "600")
    names = {}
    for case, opts in cases.items():
        names[case] = cleanup.container(solo, unique())
        # made, not started: the judgement comes before the engine's (a
        # privileged container cannot start on this test machine)
        solo.docker("create", "--name", names[case], *opts, IMAGE, "sleep", "600")
    for n in [plain, *names.values()]:
        wait_listed_in(mount, "solo", "containers", n)
    path = mount.p("hosts", "solo", "containers", plain, "exec")
    people["operator"].write(path, "echo hi\n").expect_ok("plain container")
    for case, n in names.items():
        path = mount.p("hosts", "solo", "containers", n, "exec")
        people["operator"].write(path, "cat /proc/1/status\n").expect_errno(errno.EACCES, case)
        assert "needs admin" in error_of(people["operator"],
                                        mount.p("hosts", "solo", "containers", n))
        # the admin gets past the judgement to the engine (not running: EBUSY)
        people["hostadm"].write(path, "true\n").expect_errno(errno.EBUSY, f"admin, {case}")


def test_audit_records_the_body_sent(mount, solo, people, cleanup):
    """Below admin the row's details are the body dockfs wrote and sent, not
    the command line: what reached the engine is on record."""
    n = cleanup.container(solo, unique())
    marker = audit_marker(mount)
    people["operator"].write(ctl(mount), f"create --name {n} -e A=1 -l k=v {IMAGE} "
                                         "sleep 600\n").expect_ok()
    rows = [r for r in audit_rows(mount, marker) if r["resource_id"] == n]
    assert len(rows) == 1 and rows[0]["outcome"] == "ok", rows
    sent = json.loads(rows[0]["details"])
    assert sent["Image"] == IMAGE and sent["Env"] == ["A=1"] and sent["Labels"] == {"k": "v"}
    assert sent["Cmd"] == ["sleep", "600"] and "Name" not in sent
