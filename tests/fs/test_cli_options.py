"""The docker CLI's options, with the CLI's meaning, tested differentially.

For each option of `docker run`/`docker create` (one test per option, and a
few combinations), the real docker CLI makes a container with
`docker -H <solo> create ARGS IMAGE CMD`, dockfs makes one from
`create ARGS IMAGE CMD` written to hosts/solo/containers' control file, on
the same engine, and the two containers' Config and HostConfig (and their
network endpoints) as the engine reports them must be equal once normalized.
Each case must also differ from a container made without the option: an
option dockfs dropped would fail here.

The same for `docker service create ARGS` against the ServiceSpec the swarm
keeps for a `create ARGS` written to swarms/<s>/services' control file.

What the normalization removes is listed below, each with its reason; the
engine's own values (ids, names, timestamps) are not in Config/HostConfig
except the default hostname (the container's short id).
"""
import errno
import json
import os
import random
import shlex

import pytest

from conftest import IMAGE, unique, wait_until, write_once

# The collection's control and error files (issue 16: they become dot-files).
COLL_CTL = ".ctl"
COLL_ERR = ".error"

CMD = "sleep 600"

# ---- normalization ---------------------------------------------------------------

# Config fields the CLI sets for its own attached session: `docker create`
# attaches stdout and stderr (stdin and StdinOnce with -i) for a later
# `docker start -a`.  A run through dockfs is never attached, as with
# `docker run -d`, which sends them false.
CLI_SESSION_FIELDS = ("AttachStdin", "AttachStdout", "AttachStderr", "StdinOnce")


def zero(v):
    # The Engine API decodes an absent field as its zero value; the CLI
    # sends [] and {} and 0 and false where dockfs sends nothing.
    return v is None or v is False or (type(v) in (int, float) and v == 0) or \
        v in ("", [], {})


# Objects whose keys are the data and whose values may be {}: a port, a
# path or a service mode ("Global": {}) is kept although its value is empty.
SETS = ("ExposedPorts", "Volumes", "Mode")


def drop_zero(v, is_set=False):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            x = drop_zero(x, k in SETS)
            if is_set or not zero(x):
                out[k] = x
        return out
    if isinstance(v, list):
        return [drop_zero(x) for x in v]
    return v


def container_view(j):
    """What is compared of a container's inspect."""
    cfg = dict(j["Config"])
    for k in CLI_SESSION_FIELDS:
        cfg.pop(k, None)
    # The engine names a container's host after its short id unless told.
    if cfg.get("Hostname") == j["Id"][:12]:
        cfg["Hostname"] = "<id>"
    # The docker CLI (28.2) sends -e variables in an order of its own (seen
    # rotated from one run to the next); the engine's merge keeps it.  The
    # cases here never set a variable twice, so the order carries nothing.
    cfg["Env"] = sorted(cfg.get("Env") or [])
    hc = dict(j["HostConfig"])
    # The CLI sends its flag's default, "no"; the engine reads "" as no.
    rp = dict(hc.get("RestartPolicy") or {})
    if rp.get("Name") == "":
        rp["Name"] = "no"
    hc["RestartPolicy"] = rp
    nets = {}
    for name, ep in (j["NetworkSettings"]["Networks"] or {}).items():
        # The engine adds the container's short id to its aliases.
        aliases = [a for a in ep.get("Aliases") or [] if a != j["Id"][:12]]
        nets[name] = {"Aliases": sorted(aliases), "IPAMConfig": ep.get("IPAMConfig")}
    return drop_zero({"Config": cfg, "HostConfig": hc, "Networks": nets})


def service_view(svc):
    spec = json.loads(json.dumps(svc["Spec"]))
    spec.pop("Name", None)
    tt = spec.get("TaskTemplate", {})
    cs = tt.get("ContainerSpec", {})
    # The CLI always sends Init false when --init is absent; dockfs leaves it
    # unset.  Both mean no init on engines without a default-init setting
    # (the fleet's): dropped with the other zero values.
    # The CLI sorts networks by the id it resolved; dockfs sends them in the
    # order written and the engine resolves the names to ids.
    if tt.get("Networks"):
        tt["Networks"] = sorted(tt["Networks"], key=lambda n: n["Target"])
    # The image: the CLI asks the engine to pin the digest from a registry;
    # there is none on the fleet, so both keep the reference as written.
    assert cs.get("Image") == IMAGE, cs.get("Image")
    return drop_zero(spec)


def diff(a, b, path=""):
    """Lines naming where a and b differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += diff(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{path}.{k}")
        return out
    return [] if a == b else [f"{path}: docker CLI {json.dumps(a)}, dockfs {json.dumps(b)}"]


# ---- containers ------------------------------------------------------------------

# Each option as a docker user writes it; {net}, {ip}, {vol} are the module's
# network, an address in it, and a volume.
RUN_OPTIONS = {
    "rm": "--rm",
    "interactive": "-i",
    "tty": "-t",
    "it": "-it",
    "dit": "-dit",
    "memory": "-m 512m",
    "memory-long": "--memory=1g",
    "memory-swap": "-m 256m --memory-swap 1g",
    "memory-swap-unlimited": "-m 256m --memory-swap -1",
    "memory-reservation": "--memory-reservation 64m",
    "memory-swappiness": "--memory-swappiness 10",
    "cpus": "--cpus 1.5",
    "cpu-shares": "--cpu-shares 512",
    "cpu-shares-short": "-c 256",
    "cpu-period-quota": "--cpu-period 100000 --cpu-quota 50000",
    "cpuset": "--cpuset-cpus 0 --cpuset-mems 0",
    "pids-limit": "--pids-limit 100",
    "restart": "--restart on-failure:3",
    "restart-unless-stopped": "--restart unless-stopped",
    "health-cmd": "--health-cmd 'wget -q -O- localhost'",
    "health-all": "--health-cmd true --health-interval 1m30s --health-timeout 5s "
                  "--health-retries 3 --health-start-period 1.5s",
    "health-interval": "--health-interval 500ms",
    "no-healthcheck": "--no-healthcheck",
    "log-driver": "--log-driver local",
    "log-opt": "--log-driver json-file --log-opt max-size=1m --log-opt max-file=2",
    "add-host": "--add-host db:10.0.0.2 --add-host gw:host-gateway",
    "dns": "--dns 1.1.1.1 --dns 8.8.8.8",
    "dns-option": "--dns-option ndots:2",
    "dns-search": "--dns-search example.org",
    "ulimit": "--ulimit nofile=1024:2048 --ulimit nproc=100",
    "stop-signal": "--stop-signal SIGINT",
    "stop-timeout": "--stop-timeout 5",
    "read-only": "--read-only",
    "tmpfs": "--tmpfs /run:rw,size=64m --tmpfs /cache",
    "init": "--init",
    "publish-all": "-P --expose 80",
    "expose": "--expose 80 --expose 7000-7002/udp",
    "publish": "-p 18080:80 -p 127.0.0.1:18081:81/udp",
    "publish-range": "-p 18090-18091:90-91",
    "publish-container-port": "-p 82",
    "network": "--network {net}",
    "network-alias": "--network {net} --network-alias db --network-alias cache",
    "ip": "--network {net} --ip {ip}",
    "shm-size": "--shm-size 128m",
    "cap-drop": "--cap-drop NET_RAW --cap-drop MKNOD",
    "group-add": "--group-add 123",
    "domainname": "--domainname example.org",
    "hostname": "-h web",
    "env": "-e A=1 --env 'B=two words'",
    "label": "-l a=1 --label b",
    "workdir": "-w /tmp",
    "user": "-u 1000:1000",
    "entrypoint": "--entrypoint /bin/sh",
    "volume-named": "-v {vol}:/data:ro",
    "volume-anonymous": "-v /anon",
    "mount-volume": "--mount type=volume,source={vol},target=/v,volume-nocopy",
    "mount-tmpfs": "--mount type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770",
    "privileged": "--privileged",
    "cap-add": "--cap-add SYS_ADMIN",
    "device": "--device /dev/fuse",
    "pid": "--pid host",
    "security-opt": "--security-opt no-new-privileges",
    "sysctl": "--sysctl net.ipv4.ip_forward=1",
    "oom-score-adj": "--oom-score-adj 100",
}

# Options whose effect does not show in Config or HostConfig: compared, but
# not required to differ from a plain create.
NO_VISIBLE_EFFECT = {
    "detach": "-d",                 # runs are always detached
    "pull-never": "--pull never",   # neither side pulls
    "pull-missing": "--pull missing",  # the image is there: neither side pulls
}

RUN_COMBINATIONS = {
    "web": "-d --restart always -p 18100:80 -e MODE=prod -l app=web -m 256m --cpus 0.5 "
           "--health-cmd 'wget -q -O- localhost' --health-interval 10s --log-driver json-file "
           "--log-opt max-size=10m",
    "hardened": "--read-only --tmpfs /tmp --cap-drop ALL --pids-limit 50 --init "
                "--stop-signal SIGTERM --stop-timeout 20 -u 65534 --ulimit nofile=64",
    "networked": "--network {net} --network-alias api --ip {ip} --dns 9.9.9.9 "
                 "--dns-search svc.local --add-host db:10.0.0.5 --domainname svc.local -h api",
    "interactive-tty": "-dit --rm -w /srv",
}


@pytest.fixture(scope="module")
def solo_net(solo, module_cleanup):
    """A user-defined network with a subnet of its own (--ip needs one)."""
    for _ in range(5):
        third = random.randrange(0, 255)
        second = random.randrange(200, 250)
        name = unique("cliopt-net")
        r = solo.docker("network", "create", "--subnet", f"10.{second}.{third}.0/24", name,
                        check=False)
        if r.returncode == 0:
            module_cleanup.network(solo, name)
            return {"net": name, "ip": f"10.{second}.{third}.77"}
    pytest.fail(f"no free subnet for a test network: {r.stderr}")


@pytest.fixture(scope="module")
def solo_vol(solo, module_cleanup):
    name = module_cleanup.volume(solo, unique("cliopt-vol"))
    solo.docker("volume", "create", name)
    return name


def ctl(mount, host="solo"):
    return mount.p("hosts", host, "containers", COLL_CTL)


def error_of(mount, host="solo"):
    with open(mount.p("hosts", host, "containers", COLL_ERR)) as f:
        return f.read().strip()


def inspect(engine, name):
    return json.loads(engine.out("inspect", "--type", "container", name))[0]


def fill(args, solo_net, solo_vol):
    return args.format(net=solo_net["net"], ip=solo_net["ip"], vol=solo_vol)


def cli_words(args):
    """args for `docker create`: -d is `docker run`'s (a create is always
    detached, as every run through dockfs is), so it is left out there."""
    words = []
    for w in split(args):
        if w == "-d":
            continue
        if w.startswith("-d") and not w.startswith("--") and w[1:].isalpha():
            w = "-" + w[2:]
        words.append(w)
    return words


def made_by_cli(solo, cleanup, args):
    n = cleanup.container(solo, unique("cli"))
    solo.docker("create", "--name", n, *cli_words(args), IMAGE, *CMD.split())
    return container_view(inspect(solo, n))


def split(args):
    return shlex.split(args)


def made_by_dockfs(mount, solo, cleanup, args, writer=None):
    n = cleanup.container(solo, unique("dfs"))
    line = f"create --name {n} {args} {IMAGE} {CMD}\n"
    if writer is None:
        try:
            write_once(ctl(mount), line)
        except OSError as e:
            raise AssertionError(f"dockfs refused [{line.strip()}]: {e}: "
                                 f"{error_of(mount)}") from None
    else:
        writer.write(ctl(mount), line).expect_ok(line)
    return container_view(inspect(solo, n))


@pytest.fixture(scope="module")
def plain(solo, module_cleanup):
    """A container made by the CLI without options: what an option changes."""
    n = module_cleanup.container(solo, unique("cli-plain"))
    solo.docker("create", "--name", n, IMAGE, *CMD.split())
    return container_view(inspect(solo, n))


def compare_run(mount, solo, cleanup, args, plain, *, visible=True, writer=None):
    want = made_by_cli(solo, cleanup, args)
    got = made_by_dockfs(mount, solo, cleanup, args, writer)
    if visible:
        assert want != plain, f"{args}: the docker CLI's container shows no effect of it"
    d = diff(want, got)
    assert not d, f"create {args}: dockfs differs from the docker CLI:\n  " + "\n  ".join(d)


@pytest.mark.parametrize("option", sorted(RUN_OPTIONS))
def test_run_option(mount, solo, cleanup, plain, solo_net, solo_vol, option):
    compare_run(mount, solo, cleanup, fill(RUN_OPTIONS[option], solo_net, solo_vol), plain)


@pytest.mark.parametrize("option", sorted(NO_VISIBLE_EFFECT))
def test_run_option_without_visible_effect(mount, solo, cleanup, plain, option):
    compare_run(mount, solo, cleanup, NO_VISIBLE_EFFECT[option], plain, visible=False)


@pytest.mark.parametrize("combo", sorted(RUN_COMBINATIONS))
def test_run_combination(mount, solo, cleanup, plain, solo_net, solo_vol, combo):
    compare_run(mount, solo, cleanup, fill(RUN_COMBINATIONS[combo], solo_net, solo_vol), plain)


# ---- refusals --------------------------------------------------------------------

@pytest.mark.parametrize("args,names", [
    ("--frobnicate", "--frobnicate"),
    ("-x", "-x"),
    ("--env-file /etc/passwd", "never reads the writer's files"),
    ("--label-file /etc/passwd", "never reads the writer's files"),
    ("--cidfile /tmp/x", "--cidfile"),
    ("--pull always", "pulls nothing"),
    ("-e HOME", "KEY=VALUE"),
    ("--rm --restart always", "--restart and --rm"),
    ("--network-alias db", "user-defined networks"),
])
def test_run_refused_naming_why(mount, solo, args, names):
    n = unique("dfs")
    with pytest.raises(OSError) as e:
        write_once(ctl(mount), f"create --name {n} {args} {IMAGE} {CMD}\n")
    assert e.value.errno == errno.EINVAL
    assert names in error_of(mount)
    assert not solo.exists(n)


# ---- as an operator: the allowlist lets the safe options through ------------------

OPERATOR_LINES = {
    "limits": "-d --rm -m 256m --memory-swap 512m --cpus 0.5 --pids-limit 50 --shm-size 32m "
              "--ulimit nofile=64:128",
    "health-logs": "--health-cmd true --health-interval 5s --health-retries 2 "
                   "--log-driver local --log-opt max-size=1m --restart on-failure:2",
    "network": "--network {net} --network-alias op --ip {ip} --dns 1.1.1.1 "
               "--add-host db:10.0.0.9 -p 18200:80 -P --expose 81",
    "filesystem": "--read-only --tmpfs /run:size=1m -v {vol}:/data --init --cap-drop NET_RAW "
                  "--stop-signal SIGINT --stop-timeout 3 --group-add 12",
}


@pytest.mark.parametrize("case", sorted(OPERATOR_LINES))
def test_operator_options(mount, solo, people, cleanup, plain, solo_net, solo_vol, case):
    compare_run(mount, solo, cleanup, fill(OPERATOR_LINES[case], solo_net, solo_vol), plain,
                writer=people["operator"])


@pytest.mark.parametrize("args", [
    "--log-driver syslog --log-opt syslog-address=udp://127.0.0.1:514",
    "--oom-score-adj -500",
    "--sysctl net.ipv4.ip_forward=1",
    "--cap-add NET_ADMIN",
])
def test_operator_admin_options_refused(mount, solo, people, args):
    n = unique("dfs")
    people["operator"].write(ctl(mount), f"create --name {n} {args} {IMAGE} {CMD}\n") \
        .expect_errno(errno.EACCES, args)
    assert not solo.exists(n)


# ---- services --------------------------------------------------------------------

SERVICE_OPTIONS = {
    "replicas": "--replicas 2",
    "mode-global": "--mode global",
    "mode-replicated-job": "--mode replicated-job --replicas 0",
    "env": "-e A=1 --env B=2 -e A=3",
    "label": "-l a=1 --label b",
    "container-label": "--container-label c=1",
    "constraint": "--constraint node.role==manager",
    "placement-pref": "--placement-pref spread=node.labels.dc",
    "replicas-max-per-node": "--replicas-max-per-node 1",
    "publish": "-p 18300:80",
    "publish-long": "--publish published=18301,target=81,protocol=udp,mode=host",
    "network": "--network {ovl}",
    "network-alias": "--network name={ovl},alias=a1",
    "endpoint-mode": "--endpoint-mode dnsrr",
    "mount": "--mount type=volume,source=svcvol,target=/v,volume-label=k=v",
    "mount-tmpfs": "--mount type=tmpfs,target=/t,tmpfs-size=1m",
    "secret": "--secret {secret}",
    "secret-long": "--secret source={secret},target=pw,uid=10,gid=20,mode=0400",
    "config": "--config source={config},target=/etc/c",
    "update-parallelism": "--update-parallelism 3",
    "update-delay": "--update-delay 1m30s",
    "update-monitor": "--update-monitor 2s",
    "update-failure-action": "--update-failure-action rollback",
    "update-max-failure-ratio": "--update-max-failure-ratio 0.5",
    "update-order": "--update-order start-first",
    "rollback-parallelism": "--rollback-parallelism 0",
    "rollback-delay": "--rollback-delay 3s",
    "rollback-monitor": "--rollback-monitor 4s",
    "rollback-failure-action": "--rollback-failure-action continue",
    "rollback-max-failure-ratio": "--rollback-max-failure-ratio 0.25",
    "rollback-order": "--rollback-order start-first",
    "restart-condition": "--restart-condition on-failure",
    "restart-delay": "--restart-delay 2s",
    "restart-max-attempts": "--restart-max-attempts 4",
    "restart-window": "--restart-window 1m",
    "limit-cpu": "--limit-cpu 0.5",
    "limit-memory": "--limit-memory 64m",
    "limit-pids": "--limit-pids 20",
    "reserve-cpu": "--reserve-cpu 0.1",
    "reserve-memory": "--reserve-memory 16m",
    "health-cmd": "--health-cmd true",
    "health-all": "--health-cmd 'true' --health-interval 5s --health-timeout 2s "
                  "--health-retries 3 --health-start-period 10s",
    "no-healthcheck": "--no-healthcheck",
    "stop-grace-period": "--stop-grace-period 30s",
    "stop-signal": "--stop-signal SIGINT",
    "dns": "--dns 1.1.1.1",
    "dns-option": "--dns-option ndots:2",
    "dns-search": "--dns-search example.org",
    "host": "--host db:10.0.0.2",
    "hostname": "--hostname web",
    "init": "--init",
    "read-only": "--read-only",
    "user": "-u 1000",
    "workdir": "-w /tmp",
    "group": "--group 123",
    "entrypoint": "--entrypoint 'sh -c'",
    "tty": "-t",
    "log-driver": "--log-driver local",
    "log-opt": "--log-driver json-file --log-opt max-size=1m",
    "cap-drop": "--cap-drop net_raw",
    "cap-add": "--cap-add SYS_ADMIN",
    "ulimit": "--ulimit nofile=100:200",
    "sysctl": "--sysctl net.ipv4.ip_forward=1",
}

SERVICE_COMBINATIONS = {
    "web": "--replicas 2 -p 18310:80 -e MODE=prod -l app=web --update-parallelism 1 "
           "--update-delay 10s --restart-condition on-failure --limit-memory 64m "
           "--health-cmd true --health-interval 5s --network {ovl}",
    "hardened": "--read-only --init --cap-drop ALL -u 65534 --stop-grace-period 5s "
                "--ulimit nofile=64 --limit-pids 30 --mount type=tmpfs,target=/tmp",
}


@pytest.fixture(scope="module")
def swarm_dir(mount, mgr):
    sid = mgr.out("info", "--format", "{{.Swarm.Cluster.ID}}")
    return wait_until(lambda: next((mount.p("swarms", n) for n in os.listdir(mount.p("swarms"))
                                    if open(mount.p("swarms", n, "id")).read().strip() == sid),
                                   None), 15, "the fleet swarm under M/swarms")


@pytest.fixture(scope="module")
def swarm_refs(mgr, swarm_dir):
    """An overlay network, a secret and a config on the swarm, known to the
    mount (it finds a service's secrets and configs by name in its model)."""
    ovl, secret, config = unique("cliopt-ovl"), unique("cliopt-sec"), unique("cliopt-cfg")
    mgr.docker("network", "create", "-d", "overlay", ovl)
    mgr.docker("secret", "create", secret, "-", input="pw")
    mgr.docker("config", "create", config, "-", input="cfg")
    for kind, name in (("secrets", secret), ("configs", config)):
        wait_until(lambda: name in os.listdir(os.path.join(swarm_dir, kind)), 15,
                   f"{name} in {kind}/")
    yield {"ovl": ovl, "secret": secret, "config": config}
    mgr.docker("secret", "rm", secret, check=False)
    mgr.docker("config", "rm", config, check=False)
    wait_until(lambda: mgr.docker("network", "rm", ovl, check=False).returncode == 0 or
               ovl not in mgr.network_names(), 30, f"network {ovl} removed")


@pytest.fixture
def services(mgr):
    made = []
    yield made
    for name in made:
        mgr.docker("service", "rm", name, check=False)


def spec_of(mgr, name):
    return service_view(json.loads(mgr.out("service", "inspect", name))[0])


def compare_service(mount, mgr, swarm_dir, services, args, plain_spec=None):
    a, b = unique("cli"), unique("dfs")
    services += [a, b]
    # -d: do not wait for the tasks; --no-resolve-image: there is no registry
    # to pin a digest from (the spec is the same without the query).
    mgr.docker("service", "create", "-d", "--no-resolve-image", "--name", a, *split(args),
               IMAGE, *CMD.split())
    want = spec_of(mgr, a)
    # A published ingress port is the swarm's to give once: the docker CLI's
    # service goes before dockfs makes the same.
    mgr.docker("service", "rm", a)
    line = f"create --name {b} {args} {IMAGE} {CMD}\n"

    def made():
        try:
            return write_once(os.path.join(swarm_dir, "services", COLL_CTL), line)
        except OSError as e:
            with open(os.path.join(swarm_dir, "services", COLL_ERR)) as f:
                why = f.read()
            if "already in use" in why:
                return None
            raise AssertionError(f"dockfs refused [{line.strip()}]: {e}: {why}") from None
    wait_until(made, 20, f"service create {args} through dockfs", interval=0.5)
    got = spec_of(mgr, b)
    if plain_spec is not None:
        assert want != plain_spec, f"{args}: the docker CLI's service shows no effect of it"
    d = diff(want, got)
    assert not d, f"service create {args}: dockfs differs from the docker CLI:\n  " + \
        "\n  ".join(d)


@pytest.fixture(scope="module")
def plain_service(mgr):
    n = unique("cli-plain")
    mgr.docker("service", "create", "-d", "--no-resolve-image", "--replicas", "0", "--name", n,
               IMAGE, *CMD.split())
    yield spec_of(mgr, n)
    mgr.docker("service", "rm", n, check=False)


@pytest.mark.parametrize("option", sorted(SERVICE_OPTIONS))
def test_service_option(mount, mgr, swarm_dir, swarm_refs, services, plain_service, option):
    args = SERVICE_OPTIONS[option].format(**swarm_refs)
    # no tasks where the option is not about them: the swarm stays quiet
    if "--replicas" not in args and "--mode" not in args:
        args = "--replicas 0 " + args
    compare_service(mount, mgr, swarm_dir, services, args, plain_service)


@pytest.mark.parametrize("combo", sorted(SERVICE_COMBINATIONS))
def test_service_combination(mount, mgr, swarm_dir, swarm_refs, services, plain_service, combo):
    compare_service(mount, mgr, swarm_dir, services,
                    SERVICE_COMBINATIONS[combo].format(**swarm_refs), plain_service)


@pytest.mark.parametrize("args,names", [
    ("--frobnicate", "--frobnicate"),
    ("--env-file /etc/passwd", "never reads the writer's files"),
    ("--with-registry-auth", "registry credentials"),
    ("--mode global --replicas 2", "replicas can only be used"),
])
def test_service_refused_naming_why(mount, mgr, swarm_dir, args, names):
    n = unique("dfs")
    with pytest.raises(OSError) as e:
        write_once(os.path.join(swarm_dir, "services", COLL_CTL),
                   f"create --name {n} {args} {IMAGE} {CMD}\n")
    assert e.value.errno == errno.EINVAL
    with open(os.path.join(swarm_dir, "services", COLL_ERR)) as f:
        assert names in f.read()
    assert mgr.docker("service", "inspect", n, check=False).returncode != 0
