"""Swarm membership through M/hosts/<h>/ctl on solo: init a swarm of its
own, leave it, join the fleet's swarm as a worker with the token read from
the tree, leave again, and remove its node; docker info confirms each step.
Runs last (other tests use solo); solo ends standalone whatever happens."""
import os

from conftest import eventually, read_text, wait_until, write_once

SOLO_ADDR = "10.213.7.13"
MGR_ADDR = "10.213.7.11"


def state(engine):
    return engine.out("info", "--format", "{{.Swarm.LocalNodeState}}")


def one(path):
    return read_text(path).rstrip("\n")


def _assert(cond):
    assert cond
    return True


def test_init_join_leave(mount, mgr, solo):
    ctl = mount.p("hosts", "solo", "ctl")
    assert state(solo) == "inactive"
    solo_node = None
    try:
        # init: solo becomes the manager of a new swarm, which appears
        write_once(ctl, f"swarm init --advertise-addr {SOLO_ADDR}\n")
        assert state(solo) == "active"
        sid = solo.out("info", "--format", "{{.Swarm.Cluster.ID}}")
        assert one(mount.p("hosts", "solo", "type")) == "swarm_manager"
        assert one(mount.p("swarms", sid[:12], "id")) == sid
        assert os.readlink(mount.p("hosts", "solo", "swarm")) == "../../swarms/" + sid[:12]
        write_once(ctl, "swarm leave force\n")
        assert state(solo) == "inactive"
        assert one(mount.p("hosts", "solo", "type")) == "standalone"
        assert sid[:12] not in os.listdir(mount.p("swarms"))

        # join the fleet's swarm as a worker with the token from the tree
        fleet = mgr.out("info", "--format", "{{.Swarm.Cluster.ID}}")[:12]
        token = one(mount.p("swarms", fleet, "join-token", "worker"))
        write_once(ctl, f"swarm join --token {token} --advertise-addr {SOLO_ADDR} "
                        f"{MGR_ADDR}:2377\n")
        assert state(solo) == "active"
        solo_node = solo.out("info", "--format", "{{.Swarm.NodeID}}")
        assert one(mount.p("hosts", "solo", "type")) == "swarm_worker"
        eventually(lambda: _assert("solo" in os.listdir(mount.p("swarms", fleet, "nodes"))),
                   10, 0.2)
        eventually(lambda: _assert(os.readlink(mount.p("hosts", "solo", "swarm")) ==
                                   "../../swarms/" + fleet), 10, 0.2)
        write_once(ctl, "swarm leave\n")
        assert state(solo) == "inactive"
        # the node stays, down, until removed: through its ctl (admin)
        node = mount.p("swarms", fleet, "nodes", "solo")
        eventually(lambda: _assert(one(os.path.join(node, "state")) == "down"), 30, 0.5)
        write_once(os.path.join(node, "ctl"), "rm\n")
        solo_node = None
        assert "solo" not in os.listdir(mount.p("swarms", fleet, "nodes"))
        assert "solo" not in mgr.out("node", "ls", "--format", "{{.Hostname}}").split()
    finally:
        if state(solo) != "inactive":
            solo.docker("swarm", "leave", "--force", check=False)
        if solo_node:
            wait_until(lambda: mgr.docker("node", "rm", "--force", solo_node,
                                          check=False).returncode == 0, 30, "node rm solo", 1)
    assert state(solo) == "inactive"
