"""M/swarms: the fleet's 2-node swarm (mgr manager, wrk worker) through the
mount, checked against the docker CLI on mgr.  Every service, secret,
config, network and label made here is removed at the end."""
import errno
import json
import os
import time

import pytest

from conftest import (IMAGE, bounded, eventually, read_text, register_user, unique,
                      unregister_user, wait_until, write_once)

CONVERGE = 40        # seconds a swarm may take to converge


def lines(path):
    return [l for l in read_text(path).split("\n") if l]


def one(path):
    return read_text(path).rstrip("\n")


@pytest.fixture(scope="module")
def swarm(mount, mgr):
    """The path of the fleet swarm's directory."""
    sid = mgr.out("info", "--format", "{{.Swarm.Cluster.ID}}")
    d = wait_until(lambda: next((mount.p("swarms", n) for n in os.listdir(mount.p("swarms"))
                                 if one(mount.p("swarms", n, "id")) == sid), None),
                   15, "the fleet swarm under M/swarms")
    return d


@pytest.fixture
def services(mgr):
    """Names of services to remove at the end."""
    made = []
    yield made
    for name in made:
        mgr.docker("service", "rm", name, check=False)


def create(swarm, line):
    write_once(os.path.join(swarm, "services", ".ctl"), line + "\n")


def svc_json(mgr, name):
    return json.loads(mgr.out("service", "inspect", name))[0]


def running_nodes(mgr, name):
    out = mgr.out("service", "ps", name, "--filter", "desired-state=running",
                  "--format", "{{.Node}} {{.CurrentState}}")
    return [l.split()[0] for l in out.splitlines() if " Running" in l]


def test_discovery(mount, mgr, swarm):
    # one directory although mgr is its only manager and wrk its worker
    sid = mgr.out("info", "--format", "{{.Swarm.Cluster.ID}}")
    assert [one(mount.p("swarms", n, "id")) for n in os.listdir(mount.p("swarms"))].count(sid) == 1
    assert os.path.basename(swarm) == sid[:12]
    assert one(os.path.join(swarm, "leader")) == "mgr"
    assert lines(os.path.join(swarm, "managers")) == ["mgr"]
    info = json.loads(read_text(os.path.join(swarm, "info.json")))
    assert info["ID"] == sid and "JoinTokens" not in info
    assert one(mount.p("hosts", "wrk", "type")) == "swarm_worker"
    assert one(mount.p("hosts", "mgr", "type")) == "swarm_manager"
    for h in ("mgr", "wrk"):
        assert os.readlink(mount.p("hosts", h, "swarm")) == "../../swarms/" + os.path.basename(swarm)
        assert one(mount.p("hosts", h, "swarm", "id")) == sid
    assert not os.path.lexists(mount.p("hosts", "solo", "swarm"))


def test_nodes_match_docker(mgr, swarm):
    want = {}
    for l in mgr.out("node", "ls", "--format", "{{.Hostname}} {{.ID}} {{.Status}} "
                     "{{.Availability}} {{.ManagerStatus}}").splitlines():
        host, nid, status, avail, *ms = l.split()
        want[host] = (nid, status.lower(), avail.lower(), ms[0] if ms else "")
    nodes = os.path.join(swarm, "nodes")
    assert set(os.listdir(nodes)) == set(want)
    for host, (nid, status, avail, ms) in want.items():
        d = os.path.join(nodes, host)
        assert one(os.path.join(d, "id")) == nid
        assert one(os.path.join(d, "state")) == status
        assert one(os.path.join(d, "availability")) == avail
        assert one(os.path.join(d, "role")) == ("manager" if ms else "worker")
        assert one(os.path.join(d, "leader")) == ("true" if ms == "Leader" else "false")
        assert one(os.path.join(d, "engine")) == mgr.out("node", "inspect", nid, "--format",
                                                         "{{.Description.Engine.EngineVersion}}")
        assert json.loads(read_text(os.path.join(d, "inspect.json")))["ID"] == nid


def test_join_tokens(mgr, swarm):
    for kind in ("worker", "manager"):
        assert one(os.path.join(swarm, "join-token", kind)) == \
            mgr.out("swarm", "join-token", "-q", kind)
    old = one(os.path.join(swarm, "join-token", "worker"))
    write_once(os.path.join(swarm, "join-token", "worker"), "rotate\n")
    new = one(os.path.join(swarm, "join-token", "worker"))
    assert new != old and new == mgr.out("swarm", "join-token", "-q", "worker")


def test_service_create_and_spec(mgr, swarm, services):
    name = unique("svc")
    services.append(name)
    create(swarm, f"create --name {name} --replicas 2 -e A=1 -e B=two -l team=blue "
                  f"--container-label c=1 --constraint node.role!=nobody "
                  f"--update-parallelism 2 --update-delay 1s --restart-condition any "
                  f"{IMAGE} sleep 3600")
    d = os.path.join(swarm, "services", name)
    assert os.path.isdir(d)          # a read right after the write sees it
    ls = mgr.out("service", "ls", "--filter", f"name={name}", "--format",
                 "{{.Name}} {{.Mode}} {{.Image}}")
    assert ls == f"{name} replicated {IMAGE}"
    spec = svc_json(mgr, name)["Spec"]
    cs = spec["TaskTemplate"]["ContainerSpec"]
    assert cs["Image"] == IMAGE and cs["Args"] == ["sleep", "3600"]
    assert cs["Env"] == ["A=1", "B=two"] and cs["Labels"] == {"c": "1"}
    assert spec["Labels"] == {"team": "blue"}
    assert spec["Mode"]["Replicated"]["Replicas"] == 2
    assert spec["TaskTemplate"]["Placement"]["Constraints"] == ["node.role!=nobody"]
    assert spec["UpdateConfig"]["Parallelism"] == 2
    assert spec["UpdateConfig"]["Delay"] == 1000000000
    assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "any"
    assert one(os.path.join(d, "id")) == svc_json(mgr, name)["ID"]
    assert one(os.path.join(d, "image")) == IMAGE
    assert one(os.path.join(d, "mode")) == "replicated"
    assert one(os.path.join(d, "replicas")) == "2"
    assert lines(os.path.join(d, "env")) == ["A=1", "B=two"]
    assert json.loads(read_text(os.path.join(d, "spec.json"))) == \
        mgr.api(f"/services/{name}")[1]["Spec"]
    eventually(lambda: _assert(one(os.path.join(d, "running")) == "2/2"), CONVERGE, 0.2)
    # tasks: by slot, with node, state and a link to the container
    tasks = os.path.join(d, "tasks")
    eventually(lambda: _assert(sorted(os.listdir(tasks)) == ["1", "2"]), CONVERGE, 0.2)
    for slot in ("1", "2"):
        t = os.path.join(tasks, slot)
        eventually(lambda: _assert(one(os.path.join(t, "state")) == "running"), CONVERGE, 0.2)
        assert one(os.path.join(t, "desired")) == "running"
        node = one(os.path.join(t, "node"))
        assert node in ("mgr", "wrk")
        link = os.readlink(os.path.join(t, "container"))
        assert link.startswith(f"../../../../../../hosts/{node}/containers/")
        assert one(os.path.join(t, "container", "state")) == "running"
        assert f"{name}.{slot}" in os.listdir(os.path.join(swarm, "nodes", node, "tasks"))


def test_service_json_spec(mgr, swarm, services):
    name = unique("svj")
    services.append(name)
    spec = {"Name": name, "TaskTemplate": {"ContainerSpec": {"Image": IMAGE,
                                                             "Args": ["sleep", "3600"]}},
            "Mode": {"Replicated": {"Replicas": 1}}}
    write_once(os.path.join(swarm, "services", ".ctl"), json.dumps(spec))
    assert svc_json(mgr, name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"] == ["sleep", "3600"]
    with pytest.raises(OSError) as e:
        write_once(os.path.join(swarm, "services", ".ctl"), json.dumps(spec))
    assert e.value.errno == errno.EEXIST
    with pytest.raises(OSError) as e:
        write_once(os.path.join(swarm, "services", ".ctl"), "create --bogus x " + IMAGE)
    assert e.value.errno == errno.EINVAL
    assert "unknown option" in read_text(os.path.join(swarm, "services", ".error"))


def _assert(cond):
    assert cond
    return True


def test_scale_converges(mgr, swarm, services):
    name = unique("scl")
    services.append(name)
    create(swarm, f"create --name {name} --replicas 2 {IMAGE} sleep 3600")
    d = os.path.join(swarm, "services", name)
    for n in (2, 5, 1):
        write_once(os.path.join(d, "replicas"), f"{n}\n")
        assert one(os.path.join(d, "replicas")) == str(n)
        assert svc_json(mgr, name)["Spec"]["Mode"]["Replicated"]["Replicas"] == n
        eventually(lambda: _assert(one(os.path.join(d, "running")) == f"{n}/{n}"), CONVERGE, 0.2)
        ls = mgr.out("service", "ls", "--filter", f"name={name}", "--format", "{{.Replicas}}")
        assert ls.startswith(f"{n}/{n}")
    write_once(os.path.join(d, "ctl"), "scale 3\n")
    assert svc_json(mgr, name)["Spec"]["Mode"]["Replicated"]["Replicas"] == 3


def test_image_update_and_rollback(mgr, wrk, swarm, services):
    name = unique("upd")
    tag = f"busybox:{name}"
    for e in (mgr, wrk):
        e.docker("tag", IMAGE, tag)
    try:
        services.append(name)
        create(swarm, f"create --name {name} --replicas 2 --update-delay 0s {IMAGE} sleep 3600")
        d = os.path.join(swarm, "services", name)
        write_once(os.path.join(d, "image"), tag + "\n")
        assert one(os.path.join(d, "image")) == tag
        s = svc_json(mgr, name)
        assert s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == tag
        assert s["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Image"] == IMAGE
        eventually(lambda: _assert(svc_json(mgr, name).get("UpdateStatus", {}).get("State")
                                   in ("completed", None)), CONVERGE, 0.3)
        write_once(os.path.join(d, "ctl"), "rollback\n")
        s = svc_json(mgr, name)
        assert s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == IMAGE
        assert s["UpdateStatus"]["State"].startswith("rollback")
        assert one(os.path.join(d, "image")) == IMAGE
        eventually(lambda: _assert(svc_json(mgr, name)["UpdateStatus"]["State"] ==
                                   "rollback_completed"), CONVERGE, 0.3)
        # a forced redeploy bumps ForceUpdate
        write_once(os.path.join(d, "ctl"), "update --force\n")
        assert svc_json(mgr, name)["Spec"]["TaskTemplate"]["ForceUpdate"] == 1
        eventually(lambda: _assert(svc_json(mgr, name)["UpdateStatus"]["State"] ==
                                   "completed"), CONVERGE, 0.3)
    finally:
        mgr.docker("service", "rm", name, check=False)
        time.sleep(1)
        for e in (mgr, wrk):
            e.docker("rmi", tag, check=False)


def test_drain_moves_tasks(mgr, swarm, services):
    name = unique("drn")
    services.append(name)
    avail = os.path.join(swarm, "nodes", "wrk", "availability")
    create(swarm, f"create --name {name} --replicas 4 {IMAGE} sleep 3600")
    try:
        eventually(lambda: _assert(len(running_nodes(mgr, name)) == 4), CONVERGE, 0.3)
        write_once(avail, "drain\n")
        assert one(avail) == "drain"
        assert mgr.out("node", "inspect", "wrk", "--format", "{{.Spec.Availability}}") == "drain"
        eventually(lambda: _assert(running_nodes(mgr, name) == ["mgr"] * 4), CONVERGE, 0.3)
        eventually(lambda: _assert(not [t for t in os.listdir(
            os.path.join(swarm, "nodes", "wrk", "tasks")) if t.startswith(name)]), 10, 0.3)
    finally:
        write_once(avail, "active\n")
    assert mgr.out("node", "inspect", "wrk", "--format", "{{.Spec.Availability}}") == "active"
    with pytest.raises(OSError) as e:
        write_once(avail, "sideways\n")
    assert e.value.errno == errno.EINVAL


def test_promote_demote(mgr, mount, swarm):
    role = os.path.join(swarm, "nodes", "wrk", "role")
    try:
        write_once(role, "manager\n")
        assert one(role) == "manager"
        eventually(lambda: _assert(mgr.out("node", "inspect", "wrk", "--format",
                                           "{{.ManagerStatus.Reachability}}") == "reachable"),
                   CONVERGE, 0.3)
        eventually(lambda: _assert(lines(os.path.join(swarm, "managers")) == ["mgr", "wrk"]),
                   10, 0.2)
        eventually(lambda: _assert(one(mount.p("hosts", "wrk", "type")) == "swarm_manager"),
                   10, 0.2)
        # two managers, still one swarm directory
        sid = one(os.path.join(swarm, "id"))
        assert [one(mount.p("swarms", n, "id")) for n in os.listdir(mount.p("swarms"))].count(sid) == 1
    finally:
        eventually(lambda: write_once(role, "worker\n"), CONVERGE, 1)
    assert one(role) == "worker"
    assert mgr.out("node", "inspect", "wrk", "--format", "{{.Spec.Role}}") == "worker"
    eventually(lambda: _assert(one(mount.p("hosts", "wrk", "type")) == "swarm_worker"), 20, 0.2)


def test_node_labels(mgr, swarm):
    labels = os.path.join(swarm, "nodes", "wrk", "labels")
    key = unique("lbl")
    try:
        write_once(os.path.join(labels, key), "v1\n", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        assert key in os.listdir(labels)
        assert one(os.path.join(labels, key)) == "v1"
        assert json.loads(mgr.out("node", "inspect", "wrk", "--format",
                                  "{{json .Spec.Labels}}"))[key] == "v1"
        write_once(os.path.join(labels, key), "v2\n")
        assert json.loads(mgr.out("node", "inspect", "wrk", "--format",
                                  "{{json .Spec.Labels}}"))[key] == "v2"
        os.unlink(os.path.join(labels, key))
        assert key not in os.listdir(labels)
        assert key not in json.loads(mgr.out("node", "inspect", "wrk", "--format",
                                             "{{json .Spec.Labels}}"))
    finally:
        mgr.docker("node", "update", "--label-rm", key, "wrk", check=False)


def test_secrets(mgr, swarm):
    d = os.path.join(swarm, "secrets")
    name = unique("sec")
    try:
        with open(os.path.join(d, name), "w") as f:
            f.write("hunter2")
        assert name in os.listdir(d)
        assert name in mgr.out("secret", "ls", "--format", "{{.Name}}").split()
        with pytest.raises(OSError) as e:
            read_text(os.path.join(d, name))
        assert e.value.errno == errno.EACCES
        j = json.loads(read_text(os.path.join(d, name + ".json")))
        assert j["Spec"]["Name"] == name and "Data" not in j["Spec"]
        with pytest.raises(OSError) as e:
            write_once(os.path.join(d, name), "again")
        assert e.value.errno == errno.EEXIST
        os.unlink(os.path.join(d, name))
        assert name not in os.listdir(d)
        assert name not in mgr.out("secret", "ls", "--format", "{{.Name}}").split()
    finally:
        mgr.docker("secret", "rm", name, check=False)


def test_configs(mgr, swarm):
    d = os.path.join(swarm, "configs")
    name = unique("cfg")
    try:
        with open(os.path.join(d, name), "w") as f:
            f.write("key = value\n")
        assert read_text(os.path.join(d, name)) == "key = value\n"
        assert name in mgr.out("config", "ls", "--format", "{{.Name}}").split()
        assert json.loads(read_text(os.path.join(d, name + ".json")))["Spec"]["Name"] == name
        os.unlink(os.path.join(d, name))
        assert name not in os.listdir(d)
        assert name not in mgr.out("config", "ls", "--format", "{{.Name}}").split()
    finally:
        mgr.docker("config", "rm", name, check=False)


def test_service_with_secret_config_network_port(mgr, swarm, services):
    sname, cname, net, name = unique("sec"), unique("cfg"), unique("net"), unique("svs")
    try:
        write_once(os.path.join(swarm, "secrets", sname), "pw", os.O_WRONLY | os.O_CREAT)
        write_once(os.path.join(swarm, "configs", cname), "c", os.O_WRONLY | os.O_CREAT)
        os.mkdir(os.path.join(swarm, "networks", net))
        # The engine lists a swarm network's Driver from the state its
        # allocator records after the create (moby's BasicNetworkFromGRPC):
        # "" until then, and dockfs shows what the engine lists (seen once,
        # in a fresh-clone run on 2026-12-04).  The allocation is a network
        # update event, so the driver comes by itself.
        drv = os.path.join(swarm, "networks", net, "driver")
        if one(drv) != "overlay":
            listed = mgr.out("network", "ls", "--filter", f"name={net}", "--format",
                             "{{.Name}} {{.Driver}} {{.Scope}}")
            wait_until(lambda: one(drv) == "overlay", 5,
                       f"driver of {net} overlay (the engine lists {listed!r})")
        assert net in mgr.out("network", "ls", "--filter", "driver=overlay",
                              "--format", "{{.Name}}").split()
        services.append(name)
        create(swarm, f"create --name {name} --secret {sname} --config {cname},target=/c "
                      f"--network {net} -p 18080:80 {IMAGE} sleep 3600")
        cs = svc_json(mgr, name)["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert cs["Secrets"][0]["SecretName"] == sname
        assert cs["Configs"][0]["File"]["Name"] == "/c"
        # the engine allocates the published port after the create returns
        eventually(lambda: _assert(lines(os.path.join(swarm, "services", name, "ports"))
                                   == ["*:18080->80/tcp"]), 10)
        write_once(os.path.join(swarm, "services", name, "ctl"), "rm\n")
        assert name not in os.listdir(os.path.join(swarm, "services"))
        assert mgr.docker("service", "inspect", name, check=False).returncode != 0
    finally:
        mgr.docker("service", "rm", name, check=False)
        eventually(lambda: _assert(mgr.docker("network", "rm", net, check=False).returncode == 0
                                   or net not in mgr.network_names()), 20, 0.5)
        mgr.docker("secret", "rm", sname, check=False)
        mgr.docker("config", "rm", cname, check=False)
    # removed with the CLI: the mount learns it from the engine's events
    eventually(lambda: _assert(net not in os.listdir(os.path.join(swarm, "networks"))), 5, 0.1)


def test_network_rmdir(mgr, swarm):
    net = unique("net")
    try:
        os.mkdir(os.path.join(swarm, "networks", net))
        os.rmdir(os.path.join(swarm, "networks", net))
        assert net not in os.listdir(os.path.join(swarm, "networks"))
        assert net not in mgr.network_names()
    finally:
        mgr.docker("network", "rm", net, check=False)


@pytest.mark.parametrize("where", ["swarm", "manager"])
def test_network_rmdir_while_a_task_lets_go(mount, mgr, swarm, where):
    """The swarm forgets a removed network at once; the manager lists its
    node's copy until the task that used it has stopped (a 30 s stop grace
    period: sleep as pid 1 ignores SIGTERM).  networks/ follows the swarm,
    whether the network was removed there or in the manager's hosts/ entry."""
    net, name = unique("net"), unique("lng")
    try:
        os.mkdir(os.path.join(swarm, "networks", net))
        mgr.docker("service", "create", "-d", "--name", name, "--network", net,
                   "--stop-grace-period", "30s", "--constraint", "node.role==manager",
                   IMAGE, "sleep", "3600")
        wait_until(lambda: running_nodes(mgr, name), 60, f"{name}'s task to run")
        mgr.docker("service", "rm", name)
        if where == "swarm":
            os.rmdir(os.path.join(swarm, "networks", net))
        else:
            d = mount.p("hosts", "mgr", "networks")
            wait_until(lambda: net in os.listdir(d), 15, f"{net} in the manager's networks/")
            os.rmdir(os.path.join(d, net))
        assert net in mgr.network_names(), "the node's copy lingers while the task stops"
        wait_until(lambda: net not in os.listdir(os.path.join(swarm, "networks")), 15,
                   f"{net} gone from networks/ (the engine's copy lingers 30 s)")
        assert net in mgr.network_names(), "the copy still lingers"
    finally:
        mgr.docker("service", "rm", name, check=False)
        mgr.docker("network", "rm", net, check=False)


def test_cli_service_appears_within_a_second(mgr, swarm, services):
    name = unique("cli")
    services.append(name)
    mgr.docker("service", "create", "-d", "--name", name, IMAGE, "sleep", "3600")
    t0 = time.monotonic()
    wait_until(lambda: name in os.listdir(os.path.join(swarm, "services")), 1.0,
               "a CLI-made service under services/")
    assert time.monotonic() - t0 <= 1.0
    mgr.docker("service", "rm", name)
    wait_until(lambda: name not in os.listdir(os.path.join(swarm, "services")), 1.0,
               "a CLI-removed service gone from services/")


def test_service_logs(mgr, swarm, services):
    name = unique("log")
    services.append(name)
    create(swarm, f"create --name {name} --replicas 2 {IMAGE} "
                  f"sh -c 'echo hello-$(hostname); sleep 3600'")
    d = os.path.join(swarm, "services", name)

    def got():
        text = read_text(os.path.join(d, "logs"))
        ls = [l for l in text.splitlines() if "hello-" in l]
        assert len(ls) == 2, text
        return ls
    ls = eventually(got, CONVERGE, 0.5)
    for l in ls:
        prefix, _, msg = l.partition(" | ")
        svc_slot_task, _, node = prefix.partition("@")
        assert node in ("mgr", "wrk")
        parts = svc_slot_task.split(".")
        assert parts[0] == name and parts[1] in ("1", "2") and len(parts[2]) == 12
        assert msg.startswith("hello-")
    # followed: the lines so far, then blocks
    fd = os.open(os.path.join(d, "logs.follow"), os.O_RDONLY)
    try:
        data = bounded(lambda: os.read(fd, 65536), 15, "first read of logs.follow")
        assert b"hello-" in data and f"{name}.".encode() in data
    finally:
        os.close(fd)


def test_swarm_permissions(mount, mgr, swarm, services, unix_users):
    """Levels on the manager host are the levels on its swarm."""
    people = {lvl: register_user(mount, unix_users.make(lvl[:4]), {"mgr": lvl})
              for lvl in ("viewer", "operator", "admin")}
    name = unique("prm")
    services.append(name)
    try:
        create(swarm, f"create --name {name} {IMAGE} sleep 3600")
        d = os.path.join(swarm, "services", name)
        v, o, a = people["viewer"], people["operator"], people["admin"]
        assert v.read(os.path.join(d, "replicas")).expect_ok().get("data") is not None
        # viewer: every write refused
        for path, data in ((os.path.join(d, "replicas"), "2\n"),
                           (os.path.join(d, "image"), IMAGE + "\n"),
                           (os.path.join(d, "ctl"), "rm\n"),
                           (os.path.join(swarm, "services", ".ctl"),
                            f"create --name {name}x {IMAGE}\n"),
                           (os.path.join(swarm, "nodes", "wrk", "availability"), "active\n"),
                           (os.path.join(swarm, "nodes", "wrk", "role"), "worker\n")):
            v.write(path, data).expect_errno(errno.EACCES, f"viewer writes {path}")
        v.act("open", os.path.join(swarm, "secrets", unique("s")),
              flags=os.O_WRONLY | os.O_CREAT).expect_errno(errno.EACCES, "viewer secret")
        v.act("mkdir", os.path.join(swarm, "networks", unique("n"))).expect_errno(errno.EACCES)
        # operator: scale, update; not tokens, roles, node rm or membership
        o.write(os.path.join(d, "replicas"), "2\n").expect_ok("operator scales")
        assert svc_json(mgr, name)["Spec"]["Mode"]["Replicated"]["Replicas"] == 2
        o.write(os.path.join(d, "image"), IMAGE + "\n").expect_ok("operator updates")
        o.write(os.path.join(swarm, "nodes", "wrk", "role"), "worker\n") \
            .expect_errno(errno.EACCES, "operator role")
        o.write(os.path.join(swarm, "nodes", "wrk", "ctl"), "rm\n") \
            .expect_errno(errno.EACCES, "operator node rm")
        o.read(os.path.join(swarm, "join-token", "worker")).expect_errno(
            (errno.EACCES, errno.ENOENT), "operator token")
        o.write(mount.p("hosts", "mgr", "ctl"), "swarm leave\n") \
            .expect_errno(errno.EACCES, "operator membership")
        # the allowlist: an operator may not bind host paths through a service
        o.write(os.path.join(swarm, "services", ".ctl"),
                f"create --name {name}b --mount type=bind,source=/,target=/h {IMAGE}\n") \
            .expect_errno(errno.EACCES, "operator bind mount")
        spec = {"Name": name + "p", "TaskTemplate": {"ContainerSpec": {
            "Image": IMAGE, "CapabilityAdd": ["CAP_SYS_ADMIN"]}}}
        o.write(os.path.join(swarm, "services", ".ctl"), json.dumps(spec)) \
            .expect_errno(errno.EACCES, "operator CapabilityAdd")
        assert mgr.docker("service", "inspect", name + "b", check=False).returncode != 0
        assert mgr.docker("service", "inspect", name + "p", check=False).returncode != 0
        # admin: tokens
        a.read(os.path.join(swarm, "join-token", "worker")).expect_ok("admin token")
        # a user with no level on mgr does not see the swarm at all
        people["solo"] = register_user(mount, unix_users.make("solo"), {"solo": "viewer"})
        assert os.path.basename(swarm) not in people["solo"].listdir(mount.p("swarms")).data
        assert os.path.basename(swarm) in v.listdir(mount.p("swarms")).data
        people["solo"].listdir(swarm).expect_errno(errno.ENOENT)
    finally:
        for u in people.values():
            unregister_user(mount, u)
