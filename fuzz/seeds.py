#!/usr/bin/env python3
"""Makes fuzz/corpus/<harness>/ from the tests: the inputs the unit tests
(tests/unit/*.c) and the filesystem tests (tests/fs/*.py) write, each as
one seed file named by its hash.  Run it again after adding tests:

    python3 fuzz/seeds.py
"""
import ast
import hashlib
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
LIT = r'"(?:[^"\\\n]|\\.)*"'


def c_strings(text, call):
    """The first argument (adjacent C string literals joined) of each
    call(...), or call(KIND, ...) with KIND kept as the second item."""
    out = []
    pat = re.compile(call + r'\(\s*(?:([A-Z_]+)\s*,\s*)?((?:' + LIT + r'\s*)+)')
    for m in pat.finditer(text):
        lits = re.findall(LIT, m.group(2))
        s = "".join(ast.literal_eval(l) for l in lits)
        out.append((m.group(1), s.encode()))
    return out


def py_writes(text):
    """Strings written to ctl files by the pytest modules (f-strings are
    taken with their {...} left as they are: still shaped like a line)."""
    out = []
    for m in re.finditer(r'(?:create|write_once)\([^,]+,\s*f?"([^"\n]*)"', text):
        out.append(m.group(1).replace("\\n", "\n").encode())
    return out


def save(harness, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def read(rel):
    with open(os.path.join(ROOT, rel), errors="replace") as f:
        return f.read()


def main():
    unit = read("tests/unit/test_cmdline.c")
    for _, s in c_strings(unit, r"\b(?:split_is|spec_is|svc_is|split_bad|spec_bad|svc_bad)"):
        save("cmdline", b"create " + s + b"\n")
        save("text", s)
    for name in os.listdir(os.path.join(ROOT, "tests", "fs")):
        if name.endswith(".py"):
            for s in py_writes(read(os.path.join("tests", "fs", name))):
                save("cmdline", s)
                save("text", s)
    kinds = {"C": 0, "S": 1, "ALLOW_CONTAINER": 0, "ALLOW_SERVICE": 1, "ALLOW_NETWORK": 2,
             "ALLOW_VOLUME": 3}
    for kind, s in c_strings(read("tests/unit/test_allowlist.c"), r"\b(?:sends|refused)"):
        if kind in kinds:
            save("allowlist", bytes([kinds[kind]]) + s)
    for _, s in c_strings(read("tests/unit/test_container_list.c"),
                          r"(?:static const char \*\w+ =|parse_in_pieces)"):
        save("container_list", b"\x07" + s)
    for _, s in c_strings(read("tests/unit/test_names.c"), r"\b\w+"):
        if 0 < len(s) < 300:
            save("names", s)
    for _, s in c_strings(read("tests/unit/test_docker_path.c"), r"\b\w+"):
        if 0 < len(s) < 300:
            save("names", s)
    for url in ("unix:///var/run/docker.sock", "tcp://10.0.0.2:2376", "ssh://me@h",
                "ssh://me@[::1]:2222/run/docker.sock", "ssh://u@h:22", "tcp://h",
                "unix://rel", '{"message":"No such container: x"}',
                "<html><body>404 page not found</body></html>\n", ""):
        save("url", url.encode())


if __name__ == "__main__":
    main()
