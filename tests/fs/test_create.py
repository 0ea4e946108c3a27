"""Creating containers: M/hosts/H/containers/.ctl takes
`create [OPTIONS] IMAGE [COMMAND [ARG...]]`, `run ...` (create + start) or a
JSON create body with a top-level "Name".

Lines are split into words as a shell does (blanks, '...', "...", backslash)
and never run through a shell.  What the engine made is checked with docker
inspect; refused lines must leave nothing behind (docker ps -a, and no
`create` event in the engine's event log).
"""
import errno
import json
import os
import secrets
import time

import pytest

from conftest import (ENGINES, IMAGE, error_text, exec_rw, raises_errno, read_text, split_exit,
                      unique, wait_until, write_once)


def cctl(mount, host):
    return mount.p("hosts", host, "containers", ".ctl")


def create(mount, host, line):
    return write_once(cctl(mount, host), line)


def inspect(engine, name):
    return json.loads(engine.out("inspect", "--type", "container", name))[0]


def listed(mount, host, name):
    return name in os.listdir(mount.p("hosts", host, "containers"))


def assert_nothing_made(engine, name, since):
    assert not engine.exists(name), f"a container {name} was made"
    assert engine.created_events(since, name) == 0, f"the engine saw a create of {name}"


# ---- the options ----------------------------------------------------------------

def test_create_with_options(mount, solo, cleanup):
    n = cleanup.container(solo, unique())
    line = (f"create --name {n} -e A=1 -e 'B=two words' --env C=x -l app=t "
            f"--label 'tier=back end' --restart unless-stopped -w /tmp -u 1234 -h hname "
            f"{IMAGE} sh -c 'echo \"a b\"; exit 0'\n")
    assert create(mount, "solo", line) == len(line.encode())
    # the write returned: the container exists and is listed
    assert listed(mount, "solo", n)
    j = inspect(solo, n)
    assert j["Name"] == "/" + n
    assert j["Config"]["Image"] == IMAGE
    assert {"A=1", "B=two words", "C=x"} <= set(j["Config"]["Env"])
    assert j["Config"]["Labels"] == {"app": "t", "tier": "back end"}
    assert j["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert j["Config"]["Cmd"] == ["sh", "-c", 'echo "a b"; exit 0']
    assert j["Config"]["WorkingDir"] == "/tmp"
    assert j["Config"]["User"] == "1234"
    assert j["Config"]["Hostname"] == "hname"
    assert j["State"]["Status"] == "created"
    d = mount.p("hosts", "solo", "containers", n)
    assert read_text(os.path.join(d, "state")) == "created\n"
    assert read_text(os.path.join(d, "image")) == IMAGE + "\n"
    assert read_text(os.path.join(d, "labels", "tier")) == "back end\n"
    assert error_text(mount.p("hosts", "solo", "containers")) == ""


def test_words_split_like_a_shell_never_run_by_one(mount, solo, cleanup):
    n = cleanup.container(solo, unique())
    proof = f"/tmp/dockfs-pwned-{secrets.token_hex(4)}"
    line = (f"create --name {n} {IMAGE} echo $HOME `id` ; touch {proof} | cat > /x "
            "'a  b' \"c d\" e\\ f \"g\\\"h\" 'i\"j' \"$PATH\" ''\n")
    create(mount, "solo", line)
    assert inspect(solo, n)["Config"]["Cmd"] == [
        "echo", "$HOME", "`id`", ";", "touch", proof, "|", "cat", ">", "/x",
        "a  b", "c d", "e f", 'g"h', 'i"j', "$PATH", ""]
    assert not os.path.exists(proof)


@pytest.mark.parametrize("policy,name,retries", [
    ("no", "no", 0), ("always", "always", 0), ("unless-stopped", "unless-stopped", 0),
    ("on-failure", "on-failure", 0), ("on-failure:3", "on-failure", 3)])
def test_restart_policies(mount, solo, cleanup, policy, name, retries):
    n = cleanup.container(solo, unique())
    create(mount, "solo", f"create --restart {policy} --name {n} {IMAGE} true\n")
    rp = inspect(solo, n)["HostConfig"]["RestartPolicy"]
    assert rp["Name"] == name and rp["MaximumRetryCount"] == retries, rp


def test_ports(mount, solo, cleanup):
    n = cleanup.container(solo, unique())
    create(mount, "solo", f"create --name {n} -p 18080:80 -p 127.0.0.1:18081:81/udp "
                          f"--publish 18082:82/tcp {IMAGE} true\n")
    pb = inspect(solo, n)["HostConfig"]["PortBindings"]
    assert set(pb) == {"80/tcp", "81/udp", "82/tcp"}, pb
    assert pb["80/tcp"][0]["HostPort"] == "18080" and pb["80/tcp"][0]["HostIp"] in ("", "0.0.0.0")
    assert pb["81/udp"][0] == {"HostIp": "127.0.0.1", "HostPort": "18081"}
    assert pb["82/tcp"][0]["HostPort"] == "18082"
    assert {"80/tcp", "81/udp", "82/tcp"} <= set(inspect(solo, n)["Config"]["ExposedPorts"])


def test_entrypoint_tty_network_volumes(mount, solo, cleanup):
    net = cleanup.network(solo, unique("net"))
    v1, v2, v3 = (cleanup.volume(solo, unique("vol")) for _ in range(3))
    n = cleanup.container(solo, unique())
    solo.docker("network", "create", net)
    create(mount, "solo", f"create --name {n} --entrypoint /bin/echo -t --network {net} "
                          f"-v {v1}:/data --volume {v2}:/ro:ro "
                          f"--mount type=volume,source={v3},target=/m,readonly "
                          f"{IMAGE} hello world\n")
    j = inspect(solo, n)
    assert j["Config"]["Entrypoint"] == ["/bin/echo"]
    assert j["Config"]["Cmd"] == ["hello", "world"]
    assert j["Config"]["Tty"] is True
    assert j["HostConfig"]["NetworkMode"] == net
    assert sorted(j["HostConfig"]["Binds"]) == sorted([f"{v1}:/data", f"{v2}:/ro:ro"])
    mounts = j["HostConfig"]["Mounts"]
    assert len(mounts) == 1
    m = mounts[0]
    assert (m["Type"], m["Source"], m["Target"], m.get("ReadOnly")) == ("volume", v3, "/m", True)


def test_admin_only_options_as_root(mount, solo, cleanup):
    """root is a global admin: every option is allowed to it."""
    n = cleanup.container(solo, unique())
    create(mount, "solo", f"create --name {n} --privileged --cap-add NET_ADMIN "
                          f"--device /dev/null --pid host --ipc host --uts host "
                          f"--security-opt no-new-privileges -v /etc:/hostetc:ro "
                          f"--mount type=bind,source=/tmp,target=/x,readonly {IMAGE} true\n")
    h = inspect(solo, n)["HostConfig"]
    assert h["Privileged"] is True
    assert h["CapAdd"] in (["NET_ADMIN"], ["CAP_NET_ADMIN"]), h["CapAdd"]
    assert [d["PathOnHost"] for d in h["Devices"]] == ["/dev/null"]
    assert (h["PidMode"], h["IpcMode"], h["UTSMode"]) == ("host", "host", "host")
    # (the engine adds label=disable to a privileged container's)
    assert "no-new-privileges" in h["SecurityOpt"], h["SecurityOpt"]
    assert h["Binds"] == ["/etc:/hostetc:ro"]
    assert [(m["Type"], m["Source"], m["Target"]) for m in h["Mounts"]] == [("bind", "/tmp", "/x")]


def test_network_host_as_root(mount, solo, cleanup):
    n = cleanup.container(solo, unique())
    create(mount, "solo", f"create --name {n} --network host {IMAGE} true")
    assert inspect(solo, n)["HostConfig"]["NetworkMode"] == "host"


def test_run_starts(mount, solo, cleanup):
    n = cleanup.container(solo, unique())
    create(mount, "solo", f"run --name {n} {IMAGE} sh -c 'echo ran; exec sleep 600'\n")
    assert read_text(mount.p("hosts", "solo", "containers", n, "state")) == "running\n"
    assert inspect(solo, n)["State"]["Running"] is True
    wait_until(lambda: "ran" in solo.docker("logs", n).stdout, 3, "the first line")


def test_json_body(mount, solo, cleanup):
    n = cleanup.container(solo, unique())
    body = {"Name": n, "Image": IMAGE, "Cmd": ["sh", "-c", "echo json"], "Env": ["J=1"],
            "Labels": {"src": "json"}, "WorkingDir": "/tmp",
            "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}}
    create(mount, "solo", json.dumps(body) + "\n")
    assert listed(mount, "solo", n)
    j = inspect(solo, n)
    assert j["Config"]["Cmd"] == ["sh", "-c", "echo json"]
    assert "J=1" in j["Config"]["Env"]
    assert j["Config"]["Labels"] == {"src": "json"}
    assert j["Config"]["WorkingDir"] == "/tmp"
    assert j["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert j["State"]["Status"] == "created"


def test_json_body_pretty_printed(mount, solo, cleanup):
    """A JSON body may span lines (as `cat spec.json > ctl` writes it)."""
    n = cleanup.container(solo, unique())
    body = {"Name": n, "Image": IMAGE, "Cmd": ["true"]}
    create(mount, "solo", json.dumps(body, indent=2) + "\n")
    assert inspect(solo, n)["Config"]["Cmd"] == ["true"]


# ---- refusals -------------------------------------------------------------------

def test_name_taken_eexist(mount, solo, cleanup):
    n = cleanup.container(solo, unique())
    solo.docker("create", "--name", n, IMAGE, "true")
    cid = solo.inspect(n, "{{.Id}}")
    d = mount.p("hosts", "solo", "containers")
    raises_errno(errno.EEXIST, create, mount, "solo", f"create --name {n} {IMAGE} sleep 1\n")
    assert solo.inspect(n, "{{.Id}}") == cid
    assert solo.inspect(n, "{{json .Config.Cmd}}") == '["true"]'
    assert "already in use" in error_text(d).lower()
    # the same caller's next success empties its error file
    other = cleanup.container(solo, unique())
    create(mount, "solo", f"create --name {other} {IMAGE} true\n")
    assert error_text(d) == ""


def test_run_name_taken_eexist(mount, solo, cleanup):
    n = cleanup.container(solo, unique())
    solo.docker("create", "--name", n, IMAGE, "true")
    raises_errno(errno.EEXIST, create, mount, "solo", f"run --name {n} {IMAGE} true\n")
    assert solo.inspect(n, "{{.State.Status}}") == "created"


def test_unknown_image_enoent(mount, solo):
    n = unique()
    since = time.time() - 1
    raises_errno(errno.ENOENT, create, mount, "solo",
                 f"create --name {n} no-such-image-{secrets.token_hex(4)}:1 true\n")
    assert_nothing_made(solo, n, since)


BAD_LINES = [
    "create --frobnicate {image} true",
    "create --name {name} --frobnicate {image} true",
    "frob --name {name} {image} true",
    "create --name {name}",                       # no image
    "create --name",                              # option without its value
    "create --name {name} {image} 'unterminated",
    "create --name {name} {image} \"unterminated",
    "create --name {name} {image} trailing\\",
    "create --name {name} --restart sometimes {image} true",
    "create --name {name} --restart on-failure:x {image} true",
    "create --name {name} -p notaport {image} true",
    "create --name {name} -p 1:2:3:4 {image} true",
    "create --name {name} --mount type=volume {image} true",   # no target
    "create --name {name} -v {image}",
    "{{\"Name\": \"{name}\", ",                    # broken JSON
    "[\"{name}\"]",                               # JSON, not an object
    "",
    "create --name {name} {image} true\x00",
]


@pytest.mark.parametrize("line", BAD_LINES)
def test_bad_line_einval_nothing_made(mount, solo, line):
    n = unique()
    since = time.time() - 1
    text = line.format(name=n, image=IMAGE) + "\n"
    raises_errno(errno.EINVAL, create, mount, "solo", text)
    assert_nothing_made(solo, n, since)


def test_create_on_unreachable_host_fails_fast(mount):
    """A host whose engine cannot be reached: EHOSTDOWN at once, no hang."""
    h = unique("down")
    os.mkdir(mount.p("hosts", h))
    try:
        write_once(mount.p("hosts", h, "url"), f"unix:///nonexistent/{h}.sock\n")
        t0 = time.monotonic()
        raises_errno(errno.EHOSTDOWN, create, mount, h, f"create --name x {IMAGE} true\n")
        assert time.monotonic() - t0 < 5
    finally:
        os.rmdir(mount.p("hosts", h))


def test_containers_error_file(mount):
    for h in ENGINES:
        p = mount.p("hosts", h, "containers", ".error")
        assert os.path.isfile(p)
        read_text(p)


# ---- on each host: create + start + exec + logs ---------------------------------

@pytest.mark.parametrize("host", ENGINES)
def test_run_exec_logs_on_each_host(mount, fleet, cleanup, host):
    engine = fleet[host]
    n = cleanup.container(engine, unique())
    tag = secrets.token_hex(3)
    create(mount, host, f"create --name {n} -l dockfs.test=each {IMAGE} "
                        f"sh -c 'echo out-{tag}; echo err-{tag} >&2; exec sleep 600'\n")
    d = mount.p("hosts", host, "containers", n)
    assert read_text(os.path.join(d, "state")) == "created\n"
    write_once(os.path.join(d, "ctl"), "start\n")
    assert read_text(os.path.join(d, "state")) == "running\n"
    assert inspect(engine, n)["State"]["Running"] is True

    out, code = split_exit(exec_rw(os.path.join(d, "exec"), f"echo exec-{tag}"))
    assert (out, code) == (f"exec-{tag}\n", 0)
    out, code = split_exit(exec_rw(os.path.join(d, "exec"), "cat /etc/hostname"))
    assert code == 0 and out.strip() == inspect(engine, n)["Config"]["Hostname"]

    def logged():
        logs = read_text(os.path.join(d, "logs"))
        return f"out-{tag}\n" in logs and f"err-{tag}\n" in logs
    wait_until(logged, 3, f"out-{tag} and err-{tag} in {host}'s logs")
    write_once(os.path.join(d, "ctl"), "rm force\n")
    assert not engine.exists(n)
