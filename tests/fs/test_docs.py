"""The man pages and examples tell the truth about this build.

- every option `dockfs --help` prints is in dockfs(1);
- both pages render without a groff warning;
- every path pattern of dockfs(5)'s SYNOPSIS exists in a live mount over the
  fleet, and every path of that mount matches a pattern (nothing undocumented);
- every script in examples/ runs against the fleet.

The expectations come from the man pages' own text, so that a change made to
the code and the man page together (the collections' ctl and error becoming
.ctl and .error, say) needs no change here."""
import os
import re
import stat

import pytest

from conftest import (DOCKFS_BIN, IMAGE, ROOT, read_text, run, unique, wait_until,
                      write_once)

MAN1 = os.path.join(ROOT, "man", "dockfs.1")
MAN5 = os.path.join(ROOT, "man", "dockfs.5")
EXAMPLES = os.path.join(ROOT, "examples")

# A name found but not listed (logs@OPTS): what a placeholder stands for.
EXAMPLE_VALUES = {"OPTS": "tail=1"}


def roff_text(path):
    """The man page as text: escapes and font changes gone, quotes dropped."""
    text = open(path).read()
    text = re.sub(r"\\f[BIRP]", "", text)
    text = text.replace("\\-", "-").replace("\\e", "\\").replace("\\(aq", "'")
    return text.replace('"', "")


# ---- dockfs(1) and --help -----------------------------------------------------

def help_options():
    """Every option `dockfs --help` names: long options, -X flags and the
    names of -o options."""
    out = run([DOCKFS_BIN, "--help"]).stdout
    opts = set()
    for line in out.splitlines():
        if not line.startswith("    -"):
            continue
        spec = line.strip().split("  ")[0]   # the option column
        opts.update(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b", spec))
        opts.update("-o " + o for o in re.findall(r"-o ([a-z_]+)", spec))
    opts.discard("-o")
    return opts


def test_help_options_are_in_dockfs1():
    opts = help_options()
    assert {"--db", "--host", "--import-docker", "-o db", "-o host", "-o private",
            "--version", "-f"} <= opts, opts
    man = roff_text(MAN1)
    missing = sorted(o for o in opts
                     if not re.search(re.escape(o) + r"(?![a-z_-])", man))
    assert not missing, f"in dockfs --help but not in dockfs(1): {missing}"


def test_dockfs1_claims_nothing_this_build_lacks():
    man = roff_text(MAN1)
    for stale in ("not part of it yet", "does not carry", "not carried",
                  "transport not available in this build"):
        assert stale not in man, stale
    # the HTTP bridge does not exist: mentioned only as absent
    for line in man.splitlines():
        if "bridge" in line.lower() and not line.startswith(".\\\""):
            assert "no HTTP bridge" in line or "not" in line, line


def test_man_pages_render_without_warnings():
    """groff -ww knows every request, escape and character the pages use;
    no control byte hides in them (a form feed where \\fR was meant once
    rendered as nothing, and groff's utf8 device does not warn of it)."""
    for page in (MAN1, MAN5):
        p = run(["groff", "-man", "-ww", "-z", "-Tutf8", page], check=False)
        assert p.returncode == 0 and not p.stderr, f"{page}: {p.stderr}"
        with open(page, "rb") as f:
            for n, line in enumerate(f, 1):
                bad = [b for b in line.rstrip(b"\n") if b < 0x20 and b != 0x09]
                assert not bad, f"{page}:{n}: control bytes {bad}"


# ---- dockfs(5)'s tree against a live mount ------------------------------------

def synopsis_patterns():
    """{pattern: is_dir} from dockfs(5)'s SYNOPSIS, relative to M/."""
    text = open(MAN5).read()
    block = text.split(".SH SYNOPSIS\n.EX\n", 1)[1].split("\n.EE", 1)[0]
    block = block.replace("\\-", "-")
    pats, cur = {}, None
    for line in block.splitlines():
        words = line.split()
        if not words:
            continue
        if line.startswith("M/"):
            head, words = words[0], words[1:]
            if "->" in words:            # a symbolic link and its target
                words = []
            if head.endswith("/"):
                cur = head[2:-1]
                pats[cur] = True
            else:
                cur = None
                pats[head[2:]] = False
        for w in words:
            assert cur is not None, f"entries without a directory: {line!r}"
            pats[f"{cur}/{w.rstrip('/')}"] = w.endswith("/")
    for p in list(pats):                 # every ancestor is a directory
        parts = p.split("/")
        for i in range(1, len(parts)):
            pats.setdefault("/".join(parts[:i]), True)
    return pats


def pattern_re(pattern):
    segs = []
    for seg in pattern.split("/"):
        segs.append(re.sub(r"[A-Z][A-Z0-9_]*", "[^/]+", re.escape(seg)))
    return re.compile("/".join(segs) + r"\Z")


def walk(root):
    """{relative path: is_dir} of everything listed under root (links not
    followed); what vanishes during the walk is skipped."""
    seen = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            seen[os.path.relpath(p, root)] = stat.S_ISDIR(st.st_mode)
    return seen


@pytest.fixture
def populated(mount, solo, mgr, cleanup):
    """Something behind every pattern: a labelled container and a volume on
    solo, a user with a level, a service with a task, a secret, a config
    and a node label on the swarm."""
    tag = unique("docs")
    made = {"services": [], "secrets": [], "configs": [], "label": None, "user": None}
    name = cleanup.container(solo, tag)
    solo.docker("run", "-d", "--name", name, "--label", f"dockfs.docs={tag}", IMAGE,
                "sleep", "600")
    cleanup.volume(solo, tag)
    solo.docker("volume", "create", tag)
    try:
        mgr.docker("service", "create", "-d", "--name", tag, IMAGE, "sleep", "600")
        made["services"].append(tag)
        mgr.docker("secret", "create", tag, "-", input="s3cret")
        made["secrets"].append(tag)
        mgr.docker("config", "create", tag, "-", input="cfg")
        made["configs"].append(tag)
        mgr.docker("node", "update", "--label-add", f"dockfs.docs={tag}", "wrk")
        made["label"] = "dockfs.docs"
        os.mkdir(mount.p("users", tag))
        made["user"] = tag
        write_once(mount.p("users", tag, "permissions", "solo"), "viewer\n")
        wait_until(lambda: name in os.listdir(mount.p("hosts", "solo", "containers")), 10,
                   "the container listed")
        wait_until(lambda: tag in os.listdir(mount.p("hosts", "solo", "volumes")), 10,
                   "the volume listed")

        def service_task():
            # a task with its container (tasks/SLOT/container): the task is
            # listed before a node has made the container
            for s in os.listdir(mount.p("swarms")):
                t = mount.p("swarms", s, "services", tag, "tasks")
                if os.path.isdir(t) and any(os.path.lexists(os.path.join(t, slot, "container"))
                                            for slot in os.listdir(t)):
                    return s
            return None
        sid = wait_until(service_task, 40, "the service's task and its container listed")
        sw = mount.p("swarms", sid)
        wait_until(lambda: any(os.listdir(os.path.join(sw, "nodes", n, "tasks"))
                               for n in os.listdir(os.path.join(sw, "nodes"))), 20,
                   "a node's task link")
        wait_until(lambda: "dockfs.docs" in os.listdir(os.path.join(sw, "nodes", "wrk",
                                                                     "labels")), 20,
                   "the node label")
        for kind in ("secrets", "configs"):
            wait_until(lambda k=kind: tag in os.listdir(os.path.join(sw, k)), 20,
                       f"the {kind[:-1]} listed")
        # a stack: its directory, compose.yml, status and a service link
        stack = os.path.join(sw, "stacks", tag)
        os.mkdir(stack)
        made["stack"] = stack
        write_once(os.path.join(stack, "compose.yml"),
                   f"services:\n  app:\n    image: {IMAGE}\n    command: sleep 600\n")
        wait_until(lambda: os.listdir(os.path.join(stack, "services")), 20,
                   "the stack's service link")
        yield mount
    finally:
        if made.get("stack"):
            try:
                os.rmdir(made["stack"])
            except OSError:
                mgr.docker("stack", "rm", tag, check=False)
        if made["user"]:
            for f in os.listdir(mount.p("users", tag, "permissions")):
                if f != "error" and not f.startswith("."):
                    os.unlink(mount.p("users", tag, "permissions", f))
            os.rmdir(mount.p("users", tag))
        if made["label"]:
            mgr.docker("node", "update", "--label-rm", made["label"], "wrk", check=False)
        for s in made["services"]:
            mgr.docker("service", "rm", s, check=False)
        for s in made["secrets"]:
            mgr.docker("secret", "rm", s, check=False)
        for c in made["configs"]:
            mgr.docker("config", "rm", c, check=False)


def test_dockfs5_tree_is_the_mount(populated):
    m = populated
    pats = synopsis_patterns()
    assert len(pats) > 50, sorted(pats)
    compiled = [(p, pattern_re(p), d) for p, d in pats.items()]
    seen = walk(m.path)

    undocumented, matched = [], set()
    for path, is_dir in sorted(seen.items()):
        hits = [p for p, rx, d in compiled if rx.match(path) and d == is_dir]
        if not hits:
            undocumented.append(f"{path}{'/' if is_dir else ''}")
        matched.update(hits)
    assert not undocumented, \
        f"in the mount but not in dockfs(5)'s SYNOPSIS: {undocumented[:40]}"

    missing = []
    for p, rx, d in compiled:
        if p in matched:
            continue
        # found but not listed (logs@OPTS, logs.follow): look it up in an
        # instance of its directory
        parent, _, last = p.rpartition("/")
        prx = pattern_re(parent) if parent else None
        dirs = [q for q, isd in seen.items() if isd and prx and prx.match(q)]
        for ph, val in EXAMPLE_VALUES.items():
            last = last.replace(ph, val)
        found = not re.search(r"[A-Z]{2,}", last) and any(
            os.path.lexists(m.p(q, last)) for q in dirs)
        if not found:
            missing.append(p)
    assert not missing, f"in dockfs(5)'s SYNOPSIS but not in the mount: {missing}"


# ---- examples/ ------------------------------------------------------------------

def example_scripts():
    return sorted(n for n in os.listdir(EXAMPLES)
                  if os.access(os.path.join(EXAMPLES, n), os.X_OK)
                  and os.path.isfile(os.path.join(EXAMPLES, n)))


def test_every_example_runs(mount, solo, cleanup):
    """Each script of examples/ against the session mount over the fleet,
    with arguments that touch only this test's containers.  A script
    without an entry here fails the test: add how CI runs it."""
    tag = unique("ex")
    label = f"dockfs.ex={tag}"
    up = cleanup.container(solo, tag)
    solo.docker("run", "-d", "--name", up, "--label", label, IMAGE, "sh", "-c",
                f"echo {tag}-hello; sleep 600")
    done = cleanup.container(solo, tag + "x")
    solo.docker("run", "--name", done, "--label", label, IMAGE, "true")
    for n in (up, done):
        wait_until(lambda n=n: n in os.listdir(mount.p("hosts", "solo", "containers")), 10,
                   f"{n} listed")
    wait_until(lambda: read_text(mount.p("hosts", "solo", "containers", done, "state"))
               == "exited\n", 10, f"{done} exited")
    runs = {
        # script: (arguments, exit statuses it may end with, text it prints)
        # deploys for real in test_stacks.py (test_example_deploy_stack_...); here
        # only that it runs and refuses a swarm that is not there
        "deploy-stack.sh": (["-t", "1", "no-such-swarm", tag, EXAMPLES], {2}, ""),
        "exited-everywhere.sh": ([], {0, 1}, done),
        "find-by-label.sh": ([label], {0}, up),
        "fleet-health.sh": ([], {0}, "solo"),
        "grep-logs.sh": ([f"{tag}-hello"], {0}, up),
        "image-spread.sh": ([], {0}, "busybox"),
        "poll-state.py": (["solo", done, "exited"], {0}, "exited"),
        "restart-exited.sh": (["-l", "dockfs.ex=none-" + tag], {0}, ""),
        "stop-by-label.sh": (["dockfs.ex=none-" + tag], {0}, ""),
        "wait-for-exit.sh": (["-t", "5", "solo", done], {0}, "exited"),
        "who-did-what.sh": (["1"], {0}, "TIME"),
    }
    scripts = example_scripts()
    assert not set(scripts) - set(runs), \
        f"examples/ without a CI run in test_docs.py: {sorted(set(scripts) - set(runs))}"
    for name in scripts:
        args, ok, needle = runs[name]
        r = run([os.path.join(EXAMPLES, name), *args], timeout=90, check=False,
                env=dict(os.environ, DOCKFS=mount.path))
        assert r.returncode in ok, (name, r.returncode, r.stdout[-2000:], r.stderr[-2000:])
        assert needle in r.stdout, (name, r.stdout[-2000:])
