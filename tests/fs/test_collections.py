"""A collection lists exactly its objects (issue 16): `ls` of containers/,
networks/, volumes/, services/, secrets/, configs/, nodes/ and hosts/ is the
engine's own list, the collection's files are dot-files (.ctl, .error) that
`ls` skips, and an object called ctl or error is listed and read like any
other.
"""
import os
import subprocess

from conftest import IMAGE, ENGINES, bracketed, eventually, read_text, unique, wait_listed_in, write_once


def ls(path):
    """What ls(1) shows: names without a leading dot, sorted."""
    out = subprocess.run(["ls", "-1", path], capture_output=True, text=True, check=True).stdout
    return sorted(out.split())


def engine_list(engine, *args):
    return sorted(engine.out(*args).split())


def agree(path, engine, args, also=()):
    """ls path is the engine's list (within a while, and between the lists
    taken before and after it: the engines are shared with other modules);
    each object is listed once more with each suffix of
    `also` (secrets/ and configs/ hold NAME and NAME.json)."""
    def listing():
        names = ls(path)
        assert len(names) == len(set(names)), f"ls {path} lists a name twice: {names}"
        return names

    def engines():
        return [n + sfx for n in engine_list(engine, *args) for sfx in ("", *also)]
    eventually(lambda: bracketed(listing, engines, f"ls {path}"), 5)


def test_hosts_lists_only_hosts(mount):
    names = os.listdir(mount.p("hosts"))
    assert set(ENGINES) <= set(names)
    assert [n for n in names if n.startswith(".")] == [".error"]


def test_ls_is_the_engines_list(mount, fleet):
    for name, engine in fleet.items():
        h = mount.p("hosts", name)
        checks = {
            "containers": ("ps", "-a", "--format", "{{.Names}}"),
            "networks": ("network", "ls", "--format", "{{.Name}}"),
            "volumes": ("volume", "ls", "--format", "{{.Name}}"),
        }
        for coll, args in checks.items():
            agree(os.path.join(h, coll), engine, args)
            assert ".ctl" in os.listdir(os.path.join(h, coll))


def test_swarm_collections(mount, mgr):
    swarms = ls(mount.p("swarms"))
    assert len(swarms) == 1, swarms
    s = mount.p("swarms", swarms[0])
    checks = {
        "services": ("service", "ls", "--format", "{{.Name}}"),
        "secrets": ("secret", "ls", "--format", "{{.Name}}"),
        "configs": ("config", "ls", "--format", "{{.Name}}"),
        "nodes": ("node", "ls", "--format", "{{.Hostname}}"),
    }
    for coll, args in checks.items():
        agree(os.path.join(s, coll), mgr, args,
              also=(".json",) if coll in ("secrets", "configs") else ())


def test_objects_named_like_the_control_files(mount, solo, cleanup):
    """Docker names begin with a letter or digit: ctl and error are names
    like any other, and the dot-files cannot be shadowed."""
    for name in ("ctl", "error"):
        c = cleanup.container(solo, name)
        solo.docker("rm", "-f", name, check=False)
        solo.docker("create", "--name", name, "--label", "dockfs.test=1", IMAGE, "true")
        n = cleanup.network(solo, name)
        solo.docker("network", "rm", name, check=False)
        solo.docker("network", "create", n)
        v = cleanup.volume(solo, name)
        solo.docker("volume", "rm", "-f", name, check=False)
        solo.docker("volume", "create", v)
        for coll in ("containers", "networks", "volumes"):
            wait_listed_in(mount, "solo", coll, name)
            assert name in ls(mount.p("hosts", "solo", coll))
            assert os.path.isdir(mount.p("hosts", "solo", coll, name))
        assert read_text(mount.p("hosts", "solo", "containers", c, "state")) == "created\n"
        assert read_text(mount.p("hosts", "solo", "containers", c, "labels", "dockfs.test")) \
            == "1\n"
        assert read_text(mount.p("hosts", "solo", "networks", n, "name")) == f"{name}\n"
    # the collection's own files still act
    other = cleanup.container(solo, unique())
    write_once(mount.p("hosts", "solo", "containers", ".ctl"),
               f"create --name {other} {IMAGE} true\n")
    assert solo.exists(other)
    assert read_text(mount.p("hosts", "solo", "containers", ".ctl")).startswith("create")
