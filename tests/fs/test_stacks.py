"""M/swarms/<s>/stacks/: compose applications through the mount, checked
against `docker stack deploy` on the fleet's swarm.  Each compose file here
is deployed by the docker CLI under one name and through dockfs under
another, and the swarm's specs of the two are compared, normalized: the
stack names mapped, network ids mapped to names, ForceUpdate and object ids
dropped.  Every stack made here is removed at the end."""
import errno
import json
import os
import shutil
import tempfile
import time
from urllib.parse import quote

import pytest

from conftest import (IMAGE, bounded, read_text, register_user, unique, wait_until,
                      write_once)

# A collection's own files (the rename of issue 16 turns them into dot-files).
COLL_ERR = ".error"


def one(path):
    return read_text(path).rstrip("\n")


@pytest.fixture(scope="module")
def swarm(mount, mgr):
    sid = mgr.out("info", "--format", "{{.Swarm.Cluster.ID}}")
    return wait_until(lambda: next((mount.p("swarms", n) for n in os.listdir(mount.p("swarms"))
                                    if one(mount.p("swarms", n, "id")) == sid), None),
                      15, "the fleet swarm under M/swarms")


@pytest.fixture
def stacks(mgr):
    """Names of stacks to remove at the end (by the CLI, whoever made them)."""
    made = []
    yield made
    for name in made:
        mgr.docker("stack", "rm", name, check=False, timeout=60)
    # the networks go once their tasks are gone; leave the swarm clean
    deadline = time.time() + 30
    while made and time.time() < deadline:
        left = [n for n in mgr.out("network", "ls", "--format", "{{.Name}}").split()
                if any(n.startswith(s + "_") for s in made)]
        if not left:
            break
        for n in left:
            mgr.docker("network", "rm", n, check=False)
        time.sleep(0.5)


def cli_deploy(mgr, name, compose, files=None, env=None, check=True, prune=False):
    """docker stack deploy -c compose name, from a directory holding files;
    env: the variables the CLI's environment has (dockfs reads them from
    the stack's .env)."""
    d = tempfile.mkdtemp(prefix="stack-cli-")
    try:
        with open(os.path.join(d, "compose.yml"), "w") as f:
            f.write(compose)
        for fn, data in (files or {}).items():
            with open(os.path.join(d, fn), "w") as f:
                f.write(data)
        e = dict(mgr.env)
        e.update(env or {})
        from conftest import run
        args = ["docker", "-H", mgr.url, "stack", "deploy", "--detach=true", "-c",
                os.path.join(d, "compose.yml")]
        if prune:
            args.append("--prune")
        return run(args + [name], timeout=120, check=check, env=e)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def fs_deploy(swarm, name, compose, files=None, env=None, mkdir=True):
    """The same through the mount: mkdir, the files copied in, then compose.yml."""
    d = os.path.join(swarm, "stacks", name)
    if mkdir:
        os.mkdir(d)
    if env:
        write_once(os.path.join(d, ".env"), "".join(f"{k}={v}\n" for k, v in env.items()),
                   os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    for fn, data in (files or {}).items():
        write_once(os.path.join(d, fn), data, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    bounded(lambda: write_once(os.path.join(d, "compose.yml"), compose,
                               os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 120, "deploy")
    return d


def api(mgr, path):
    status, body = mgr.api(path, timeout=30)
    assert status == 200, f"{path}: {status} {body}"
    return body


def label_filter(stack):
    return "?filters=" + quote(json.dumps({"label": [f"com.docker.stack.namespace={stack}"]}))


def normalize(obj, stack, net_names):
    """A stack's object as JSON text, comparable with another stack's."""
    text = json.dumps(obj, sort_keys=True)
    for nid, name in net_names.items():
        text = text.replace(f'"{nid}"', json.dumps(name))
    text = text.replace(stack, "STACK")  # unique names: nothing else holds it
    return text


def snapshot(mgr, stack):
    """What the swarm has of a stack, normalized: {kind: {name: json}}."""
    nets = api(mgr, "/networks")
    net_names = {n["Id"]: n["Name"] for n in nets}
    config_names = {c["ID"]: c["Spec"]["Name"] for c in api(mgr, "/configs")}
    out = {"services": {}, "networks": {}, "secrets": {}, "configs": {}}
    for s in api(mgr, "/services" + label_filter(stack)):
        spec = s["Spec"]
        spec["TaskTemplate"].pop("ForceUpdate", None)
        for ref in spec["TaskTemplate"]["ContainerSpec"].get("Secrets", []):
            ref.pop("SecretID", None)
        for ref in spec["TaskTemplate"]["ContainerSpec"].get("Configs", []):
            ref.pop("ConfigID", None)
        cred = (spec["TaskTemplate"]["ContainerSpec"].get("Privileges") or {}).get(
            "CredentialSpec") or {}
        if cred.get("Config"):      # a config's id: its name instead
            cred["Config"] = config_names.get(cred["Config"], cred["Config"])
        out["services"][spec["Name"].replace(stack, "STACK")] = json.loads(
            normalize(spec, stack, net_names))
    for n in nets:
        if (n.get("Labels") or {}).get("com.docker.stack.namespace") != stack:
            continue
        opts = {k: v for k, v in (n.get("Options") or {}).items()
                if k != "com.docker.network.driver.overlay.vxlanid_list"}
        keep = {"Name": n["Name"], "Driver": n["Driver"], "Scope": n["Scope"],
                "Options": opts, "Labels": n["Labels"], "Attachable": n["Attachable"],
                "Internal": n["Internal"], "IPAMDriver": n["IPAM"]["Driver"]}
        out["networks"][n["Name"].replace(stack, "STACK")] = json.loads(
            normalize(keep, stack, {}))
    for kind in ("secrets", "configs"):
        for o in api(mgr, f"/{kind}" + label_filter(stack)):
            out[kind][o["Spec"]["Name"].replace(stack, "STACK")] = json.loads(
                normalize(o["Spec"], stack, {}))
    return out


def assert_same(a, b):
    for kind in a:
        assert a[kind].keys() == b[kind].keys(), f"{kind}: {sorted(a[kind])} != {sorted(b[kind])}"
        for name in a[kind]:
            assert a[kind][name] == b[kind][name], \
                f"{kind} {name}:\nCLI:    {json.dumps(a[kind][name], sort_keys=True)}\n" \
                f"dockfs: {json.dumps(b[kind][name], sort_keys=True)}"


def both(mgr, swarm, stacks, compose, files=None, env=None):
    """Deploys compose both ways; returns (cli name, dockfs name)."""
    c, d = unique("sc"), unique("sd")
    stacks += [c, d]
    cli_deploy(mgr, c, compose, files, env)
    fs_deploy(swarm, d, compose, files, env)
    return c, d


def same_both_ways(mgr, c, d):
    a, b = snapshot(mgr, c), snapshot(mgr, d)
    assert a["services"], "the CLI deployed no service"
    assert_same(a, b)
    return a


SIMPLE = f"""
services:
  app:
    image: {IMAGE}
    command: sleep 3600
    deploy:
      replicas: 1
"""


def test_simple_deploy_matches_cli(mgr, swarm, stacks):
    c, d = both(mgr, swarm, stacks, SIMPLE)
    same_both_ways(mgr, c, d)
    sd = os.path.join(swarm, "stacks", d)
    assert d in os.listdir(os.path.join(swarm, "stacks"))
    assert c in os.listdir(os.path.join(swarm, "stacks")), "a CLI stack is listed too"
    assert os.readlink(os.path.join(sd, "services", "app")) == f"../../../services/{d}_app"
    assert os.path.isdir(os.path.join(sd, "services", "app"))
    assert sorted(os.listdir(os.path.join(sd, "services"))) == ["app"]
    # status names each service
    assert one(os.path.join(sd, "status")).split()[0] == "app"


def test_update_and_remove(mgr, swarm, stacks):
    c, d = both(mgr, swarm, stacks, SIMPLE)
    updated = SIMPLE.replace("replicas: 1", "replicas: 2").replace("sleep 3600", "sleep 3601")
    cli_deploy(mgr, c, updated)
    fs_deploy(swarm, d, updated, mkdir=False)
    snap = same_both_ways(mgr, c, d)
    assert snap["services"]["STACK_app"]["Mode"]["Replicated"]["Replicas"] == 2
    # rmdir is docker stack rm
    bounded(lambda: os.rmdir(os.path.join(swarm, "stacks", d)), 60, "rmdir")
    assert api(mgr, "/services" + label_filter(d)) == []
    try:
        wait_until(lambda: not os.path.exists(os.path.join(swarm, "stacks", d)), 15,
                   "the removed stack's directory to go")
    except AssertionError as e:
        left = {k: [o.get("Name") or o.get("Spec", {}).get("Name")
                    for o in api(mgr, f"/{k}" + label_filter(d))]
                for k in ("services", "networks", "secrets", "configs", "tasks")}
        raise AssertionError(f"{e}; what the engine still has of {d}: {left}; "
                             f"stacks/ lists {sorted(os.listdir(os.path.join(swarm, 'stacks')))}")


def test_removed_stack_goes_though_its_network_lingers(mgr, swarm, stacks):
    """The swarm forgets a removed overlay network at once, but the manager
    lists its node's copy until the task that used it has stopped: here 30 s,
    the stop grace period (sleep as pid 1 ignores SIGTERM).  The stack's
    directory goes with the swarm's objects, and the name deploys again."""
    d = unique("rg")
    stacks.append(d)
    lingering = f"""
services:
  app:
    image: {IMAGE}
    command: sleep 3600
    stop_grace_period: 30s
    deploy:
      placement: {{constraints: [node.role==manager]}}
"""
    sd = fs_deploy(swarm, d, lingering)
    tasks = "/tasks?filters=" + quote(json.dumps({"service": [f"{d}_app"]}))
    wait_until(lambda: any(t["Status"]["State"] == "running" for t in api(mgr, tasks)), 60,
               "the task to run on the manager")
    bounded(lambda: os.rmdir(sd), 60, "rmdir")
    assert api(mgr, "/services" + label_filter(d)) == []
    assert api(mgr, "/networks" + label_filter(d)), \
        "the manager lists its node's copy of the network while the task stops"
    wait_until(lambda: d not in os.listdir(os.path.join(swarm, "stacks")), 15,
               "the stack's directory to go (the network's copy lingers 30 s)")
    assert api(mgr, "/networks" + label_filter(d)), "the copy still lingers"
    fs_deploy(swarm, d, SIMPLE)
    assert [s["Spec"]["Name"] for s in api(mgr, "/services" + label_filter(d))] == [f"{d}_app"]
    assert os.path.isdir(os.path.join(sd, "services", "app"))


# Every field of the issue's list, anchors and merge keys, interpolation
# with defaults, secrets and configs from files, an external network, long
# and short port and volume syntax.  Published ports come from variables so
# that the two stacks do not take the same ones.
FULL = f"""
version: "3.8"
x-base: &base
  image: {IMAGE}
  stop_grace_period: ${{GRACE:-5s}}
  stop_signal: SIGTERM
  labels:
    tier: "${{TIER:-back}}"
x-deploy: &deploy
  replicas: 1
  restart_policy:
    condition: on-failure
    delay: 1s
    max_attempts: 3
    window: 10s
services:
  web:
    <<: *base
    command: ["sleep", "3600"]
    entrypoint: /bin/sh -c 'exec "$$0" "$$@"'
    environment:
      A: "1"
      B: ${{B_VALUE}}
      C:
    env_file: web.env
    hostname: web-host
    user: "0:0"
    working_dir: /tmp
    init: true
    tty: true
    read_only: false
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    sysctls:
      net.core.somaxconn: "1024"
    ulimits:
      nofile: {{soft: 1024, hard: 2048}}
      nproc: 512
    logging:
      driver: json-file
      options: {{max-size: 1m}}
    dns: [10.0.0.53]
    dns_search: [example.internal]
    extra_hosts: ["db.local:10.1.2.3", "cache.local=10.1.2.4"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 30s
      timeout: 5s
      retries: 2
      start_period: 1s
    ports:
      - "${{P1}}:80"
      - target: 81
        published: ${{P2}}
        protocol: udp
        mode: ingress
    volumes:
      - data:/data
      - type: volume
        source: cache
        target: /cache
        read_only: true
        volume:
          nocopy: true
      - /tmp:/hosttmp:ro
      - type: tmpfs
        target: /scratch
        tmpfs:
          size: 1048576
    networks:
      front:
        aliases: [www]
      outside:
    secrets:
      - db_pw
      - source: api_key
        target: key.txt
        mode: 0400
    configs:
      - app_conf
      - source: other_conf
        target: /etc/other.conf
    deploy:
      <<: *deploy
      labels: {{role: web}}
      endpoint_mode: vip
      placement:
        constraints: [node.role == manager]
        preferences: [{{spread: node.id}}]
        max_replicas_per_node: 1
      resources:
        limits: {{cpus: "0.25", memory: 64M}}
        reservations: {{cpus: "0.01", memory: 4M}}
      update_config: &upd
        parallelism: 1
        delay: 1s
        failure_action: rollback
        monitor: 2s
        max_failure_ratio: 0.5
        order: start-first
      rollback_config: *upd
  worker:
    <<: *base
    command: sleep 3600
    credential_spec:
      config: other_conf
    deploy:
      mode: global
      endpoint_mode: dnsrr
  job:
    image: {IMAGE}
    command: ["true"]
    credential_spec:
      file: spec.json
    deploy:
      mode: replicated-job
      replicas: 1
networks:
  front:
    driver: overlay
    attachable: true
    labels: {{net: front}}
  outside:
    external: true
    name: ${{EXTERNAL_NET}}
volumes:
  data:
    labels: [kind=data]
  cache:
    driver: local
secrets:
  db_pw:
    file: ./db_pw.txt
    labels: {{secret: one}}
  api_key:
    file: api_key.txt
configs:
  app_conf:
    file: ./app.conf
  other_conf:
    file: other.conf
    labels: {{conf: other}}
"""

FULL_FILES = {
    "web.env": "# from a file\nFROM_FILE=yes\nC=from-file\n",
    "db_pw.txt": "pw-1\n",
    "api_key.txt": "key-1\n",
    "app.conf": "setting=1\n",
    "other.conf": "other=2\n",
}


@pytest.fixture
def external_net(mgr):
    name = unique("ext")
    mgr.docker("network", "create", "-d", "overlay", "--attachable", name)
    yield name
    mgr.docker("network", "rm", name, check=False)


def env_for(external_net, base):
    return {"B_VALUE": "bee", "TIER": "front", "EXTERNAL_NET": external_net,
            "P1": str(base), "P2": str(base + 1)}


def unport(snap, base):
    """Published ports base, base+1 as P1, P2."""
    for spec in snap["services"].values():
        for p in spec.get("EndpointSpec", {}).get("Ports", []):
            if p.get("PublishedPort") in (base, base + 1):
                p["PublishedPort"] = f"P{p['PublishedPort'] - base + 1}"
    return snap


def full_both(mgr, swarm, stacks, external_net, compose=FULL):
    c, d = unique("fc"), unique("fd")
    stacks += [c, d]
    cbase, dbase = 30000 + os.getpid() % 1000 * 4, 31000 + os.getpid() % 1000 * 4
    cli_deploy(mgr, c, compose, FULL_FILES, env_for(external_net, cbase))
    fs_deploy(swarm, d, compose, FULL_FILES, env_for(external_net, dbase))
    return c, d, cbase, dbase


def test_full_file_matches_cli(mgr, swarm, stacks, external_net):
    c, d, cbase, dbase = full_both(mgr, swarm, stacks, external_net)
    a, b = unport(snapshot(mgr, c), cbase), unport(snapshot(mgr, d), dbase)
    assert sorted(a["services"]) == ["STACK_job", "STACK_web", "STACK_worker"]
    assert len(a["secrets"]) == 2 and len(a["configs"]) == 2
    assert_same(a, b)
    # the interpolated values are there (not only equal on both sides)
    web = b["services"]["STACK_web"]["TaskTemplate"]["ContainerSpec"]
    # C: with no value replaces the env_file's C=from-file, as the CLI does
    assert web["Env"] == ["A=1", "B=bee", "C", "FROM_FILE=yes"]
    assert web["Labels"]["tier"] == "front"
    # updated both ways: only what changed changes, the same on both sides
    changed = FULL.replace("replicas: 1\n  restart_policy", "replicas: 1\n  restart_policy") \
                  .replace('A: "1"', 'A: "2"').replace("memory: 64M", "memory: 32M")
    cli_deploy(mgr, c, changed, FULL_FILES, env_for(external_net, cbase))
    fs_deploy(swarm, d, changed, FULL_FILES, env_for(external_net, dbase), mkdir=False)
    a, b = unport(snapshot(mgr, c), cbase), unport(snapshot(mgr, d), dbase)
    assert "A=2" in b["services"]["STACK_web"]["TaskTemplate"]["ContainerSpec"]["Env"]
    assert_same(a, b)


def test_read_back_redeploys_unchanged(mgr, swarm, stacks, external_net):
    """A CLI stack's compose.yml, written back through dockfs, changes no
    spec (and no service's version moves but by the update itself)."""
    c = unique("rb")
    stacks.append(c)
    base = 32000 + os.getpid() % 1000 * 4
    cli_deploy(mgr, c, FULL, FULL_FILES, env_for(external_net, base))
    before = snapshot(mgr, c)
    # the mount's model follows the engine's events: until it has them all
    def listed():
        try:
            return sorted(os.listdir(os.path.join(swarm, "stacks", c, "services")))
        except OSError:
            return None
    wait_until(lambda: listed() == ["job", "web", "worker"], 20,
               "the CLI stack's services in the mount")
    text = read_text(os.path.join(swarm, "stacks", c, "compose.yml"))
    assert "services:" in text and "web:" in text
    # written back as it was read: no file needs copying (the secrets and
    # configs exist), nothing changes
    try:
        bounded(lambda: write_once(os.path.join(swarm, "stacks", c, "compose.yml"), text), 120,
                "redeploy")
    except OSError as e:
        raise AssertionError(f"{e}: {read_text(os.path.join(swarm, 'stacks', c, 'error'))}\n"
                             f"{text}") from None
    after = snapshot(mgr, c)
    assert_same(before, after)
    # and it reads back the same
    again = read_text(os.path.join(swarm, "stacks", c, "compose.yml"))
    assert again == text, f"first:\n{text}\nagain:\n{again}"


def test_refused_files_leave_swarm_unchanged(mgr, swarm, stacks):
    d = unique("rf")
    stacks.append(d)
    sd = os.path.join(swarm, "stacks", d)
    os.mkdir(sd)
    bad = {
        "unknown key": f"services: {{app: {{image: {IMAGE}, bogus: 1}}}}\n",
        "undefined network": f"services: {{app: {{image: {IMAGE}, networks: [nope]}}}}\n",
        "required variable": "services: {app: {image: \"${TAG:?set TAG}\"}}\n",
        "no image": "services: {app: {command: sleep 1}}\n",
        "forbidden": f"services: {{app: {{image: {IMAGE}, volumes_from: [x]}}}}\n",
        "two credential specs": f"services: {{app: {{image: {IMAGE}, credential_spec: "
                                f"{{file: a.json, registry: b}}}}}}\n",
        # valid service, then a network the CLI refuses: nothing is made
        "external missing": f"services: {{a: {{image: {IMAGE}}}, b: {{image: {IMAGE}, "
                            f"networks: [x]}}}}\nnetworks: {{x: {{external: true, "
                            f"name: {unique('none')}}}}}\n",
    }
    empty = read_text(os.path.join(sd, "compose.yml"))
    for what, text in bad.items():
        with pytest.raises(OSError) as e:
            bounded(lambda: write_once(os.path.join(sd, "compose.yml"), text), 60, what)
        assert e.value.errno == errno.EINVAL, what
        assert read_text(os.path.join(sd, "error")).strip(), what
        assert api(mgr, "/services" + label_filter(d)) == [], what
        assert api(mgr, "/networks" + label_filter(d)) == [], what
        # the directory is as it was too: the refused text is not kept
        assert read_text(os.path.join(sd, "compose.yml")) == empty, what
    # so a later deploy has nothing to deploy, and says so
    with pytest.raises(OSError) as e:
        write_once(os.path.join(sd, "ctl"), "deploy\n")
    assert e.value.errno == errno.EINVAL
    assert "no compose file" in read_text(os.path.join(sd, "error"))
    assert api(mgr, "/services" + label_filter(d)) == []
    # on a deployed stack, a refused file leaves the deployed one to read
    fs_deploy(swarm, d, SIMPLE, mkdir=False)
    deployed = read_text(os.path.join(sd, "compose.yml"))
    with pytest.raises(OSError) as e:
        bounded(lambda: write_once(os.path.join(sd, "compose.yml"), bad["unknown key"]), 60,
                "refused update")
    assert e.value.errno == errno.EINVAL
    assert read_text(os.path.join(sd, "compose.yml")) == deployed
    # the CLI refuses the same files
    for what, text in bad.items():
        assert cli_deploy(mgr, unique("rc"), text, check=False).returncode != 0, what


def test_engine_failure_midway_leaves_nothing(mgr, swarm, stacks):
    """The second service has a placement constraint the engine refuses
    (the CLI does not check them either): the network and the first service
    are made, then the engine says no; both go again and error says so."""
    d = unique("ef")
    stacks.append(d)
    compose = f"services:\n  a: {{image: {IMAGE}, command: sleep 3600}}\n" \
              f"  b:\n    image: {IMAGE}\n    deploy: {{placement: {{constraints: [nonsense]}}}}\n"
    sd = os.path.join(swarm, "stacks", d)
    os.mkdir(sd)
    with pytest.raises(OSError) as e:
        bounded(lambda: write_once(os.path.join(sd, "compose.yml"), compose), 60, "deploy")
    assert e.value.errno == errno.EIO     # the engine answers 500 for it
    msg = read_text(os.path.join(sd, "error"))
    assert "failed to create service" in msg and "removed again" in msg, msg
    assert f"service {d}_a" in msg and f"network {d}_default" in msg, msg
    assert "could not be removed" not in msg, msg
    assert api(mgr, "/services" + label_filter(d)) == []
    # The swarm forgets the network at once, but the node that ran a's task
    # lists its own copy until that container stops (sleep as pid 1 ignores
    # SIGTERM: the 10 s grace, then SIGKILL).
    wait_until(lambda: api(mgr, "/networks" + label_filter(d)) == [], 45,
               "the manager to stop listing the removed network")
    # the CLI refuses it too (and leaves behind whatever it made before b,
    # in its map's random order: nothing, or the network and a)
    c = unique("ec")
    stacks.append(c)
    assert cli_deploy(mgr, c, compose, check=False).returncode != 0


def test_deploy_reads_again_a_service_updated_elsewhere(mgr, swarm, stacks):
    """The version the deploy names may be older than the engine's (another
    client's update just now, or the swarm's updater recording its
    progress): the engine answers "update out of sequence", and the deploy
    reads the service again instead of failing."""
    d = unique("sq")
    stacks.append(d)
    sd = fs_deploy(swarm, d, f"services:\n  a:\n    image: {IMAGE}\n"
                             f"    command: ${{CMD:-sleep 3600}}\n")
    for n in range(1, 6):
        svc = api(mgr, f"/services/{d}_a")
        spec = svc["Spec"]
        spec.setdefault("Labels", {})["elsewhere"] = str(n)
        status, body = mgr.api(f"/services/{svc['ID']}/update?version={svc['Version']['Index']}",
                               "POST", timeout=30, body=spec)
        assert status == 200, body
        # at once, before the mount has seen that update
        bounded(lambda: write_once(os.path.join(sd, ".env"), f"CMD=sleep {3600 + n}\n",
                                   os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 60, "deploy")
        args = api(mgr, f"/services/{d}_a")["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"]
        assert args == ["sleep", str(3600 + n)], read_text(os.path.join(sd, "error"))


def test_engine_failure_midway_puts_back_updated_and_pruned(mgr, swarm, stacks):
    """A deploy that updated a, then met b's update refused by the engine:
    a gets its spec back; with --prune, c (left out of the file) was removed
    first and is made again, so the stack's services are as before (ids
    aside: c is a new service)."""
    d = unique("eu")
    stacks.append(d)
    three = f"services:\n  a:\n    image: {IMAGE}\n    command: ${{CMD:-sleep 3600}}\n" \
            f"  b:\n    image: {IMAGE}\n    command: sleep 3600\n" \
            f"    deploy: {{placement: {{constraints: ['${{WHERE:-node.role==manager}}']}}}}\n" \
            f"  c: {{image: {IMAGE}, command: sleep 3600}}\n"
    sd = fs_deploy(swarm, d, three)
    before = snapshot(mgr, d)
    assert sorted(before["services"]) == ["STACK_a", "STACK_b", "STACK_c"]
    # c leaves the file; a deploy without --prune keeps it, as the CLI does
    two = three[:three.index("  c:")]
    fs_deploy(swarm, d, two, mkdir=False)
    assert snapshot(mgr, d) == before
    # a .env deploys again: a changes, then b's constraint is nonsense
    with pytest.raises(OSError) as e:
        bounded(lambda: write_once(os.path.join(sd, ".env"), "CMD=sleep 3601\nWHERE=nonsense\n",
                                   os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 60, "deploy")
    assert e.value.errno == errno.EIO
    msg = read_text(os.path.join(sd, "error"))
    assert f"failed to update service {d}_b" in msg, msg
    assert "put back as it was before this deploy: service " + f"{d}_a" in msg, msg
    assert snapshot(mgr, d) == before
    # the .env stays (the next try's input); with --prune, c goes first
    with pytest.raises(OSError) as e:
        bounded(lambda: write_once(os.path.join(sd, "ctl"), "deploy --prune\n"), 60, "deploy")
    assert e.value.errno == errno.EIO
    msg = read_text(os.path.join(sd, "error"))
    assert f"failed to update service {d}_b" in msg, msg
    assert "put back as it was before this deploy" in msg and f"{d}_a" in msg \
        and f"{d}_c" in msg, msg
    assert snapshot(mgr, d) == before


def test_operator_allowlist(mount, mgr, swarm, stacks, unix_users):
    op = register_user(mount, unix_users.make("sop"), {"mgr": "operator"})
    adm = register_user(mount, unix_users.make("sad"), {"mgr": "admin"})
    for what, extra in (("bind mount", "volumes: [\"/:/host\"]"), ("privileged", "privileged: true")):
        name = unique("op")
        stacks.append(name)
        sd = os.path.join(swarm, "stacks", name)
        op.act("mkdir", sd).expect_ok(f"operator mkdir ({what})")
        text = f"services:\n  app:\n    image: {IMAGE}\n    command: sleep 3600\n    {extra}\n"
        op.create(os.path.join(sd, "compose.yml"), text).expect_errno(errno.EACCES, what)
        assert api(mgr, "/services" + label_filter(name)) == [], what
        assert api(mgr, "/networks" + label_filter(name)) == [], what
        adm.create(os.path.join(sd, "compose.yml"), text).expect_ok(f"admin {what}")
        assert len(api(mgr, "/services" + label_filter(name))) == 1
    # an operator's plain stack is deployed
    name = unique("op")
    stacks.append(name)
    sd = os.path.join(swarm, "stacks", name)
    op.act("mkdir", sd).expect_ok()
    op.create(os.path.join(sd, "compose.yml"), SIMPLE).expect_ok("operator plain stack")
    assert len(api(mgr, "/services" + label_filter(name))) == 1
    op.write(os.path.join(sd, "ctl"), "rm\n").expect_ok("operator rm")
    assert api(mgr, "/services" + label_filter(name)) == []


def test_inotify_for_stacks_made_elsewhere(mgr, swarm, stacks):
    from test_inotify import Watch
    name = unique("in")
    stacks.append(name)
    sdir = os.path.join(swarm, "stacks")
    os.listdir(sdir)        # the kernel knows the directory: it can be watched
    w = Watch([sdir], recursive=False)
    try:
        since = w.mark()
        cli_deploy(mgr, name, SIMPLE)
        w.wait(os.path.join(sdir, name), {"CREATE"}, since, timeout=15)
        # status changes as the task comes up
        st = os.path.join(sdir, name, "status")
        read_text(st)
        ws = Watch([st], recursive=False)
        try:
            since = ws.mark()
            mgr.docker("service", "scale", "-d", f"{name}_app=2")
            ws.wait(st, {"ATTRIB", "MODIFY"}, since, timeout=15)
        finally:
            ws.stop()
        since = w.mark()
        mgr.docker("stack", "rm", name)
        w.wait(os.path.join(sdir, name), {"DELETE"}, since, timeout=30)
    finally:
        w.stop()


def test_example_deploy_stack_copies_a_directory(mount, mgr, swarm, stacks):
    """examples/deploy-stack.sh: cp of a directory (.env, a secret file, the
    compose file) into the stack, deployed, waited for."""
    name = unique("ex")
    stacks.append(name)
    d = tempfile.mkdtemp(prefix="stack-ex-")
    try:
        with open(os.path.join(d, "compose.yml"), "w") as f:
            f.write(f"services:\n  app:\n    image: {IMAGE}\n    command: sleep ${{NAP}}\n"
                    f"    configs: [c]\nconfigs:\n  c:\n    file: ./c.txt\n")
        with open(os.path.join(d, ".env"), "w") as f:
            f.write("NAP=3333\n")
        with open(os.path.join(d, "c.txt"), "w") as f:
            f.write("x" * 100000)        # more than one write(2) of cp
        from conftest import run
        env = dict(os.environ, DOCKFS=mount.path)
        r = run([os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                              "deploy-stack.sh"), "-t", "60", os.path.basename(swarm), name, d],
                timeout=90, check=False, env=env)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("app 1/1 converged")
        spec = api(mgr, "/services" + label_filter(name))[0]["Spec"]
        assert spec["TaskTemplate"]["ContainerSpec"]["Args"] == ["sleep", "3333"]
        conf = api(mgr, "/configs" + label_filter(name))[0]["Spec"]
        import base64
        assert base64.b64decode(conf["Data"]) == b"x" * 100000
    finally:
        shutil.rmtree(d, ignore_errors=True)
