"""The sources' imports point one way: down.

Every header of include/ has a layer; a source or header may include its
own layer's and lower ones', never a higher one's.  A new header fails
here until it is given a layer, so the question is asked when the file is
made.  (No engine needed.)"""
import glob
import os
import re

from conftest import ROOT

LAYERS = [
    ("base", "buf clock dirlist log map names text format cmdline allowlist compose "
             "private_file stream"),
    ("engine client, transports and store", "docker conn ssh store vault import access"),
    ("model", "model container_list swarm"),
    ("tree and subtrees", "tree audit objects swarms stacks events follow"),
    ("front ends", "fs loop notify"),
]
LAYER = {name: i for i, (_, names) in enumerate(LAYERS) for name in names.split()}
# Sources without a header of their own: the subtrees and the daemon.
SOURCE_LAYER = {name: LAYER["tree"] for name in
                "hosts containers nodes services secrets users permissions credentials "
                "fleet_view".split()}
SOURCE_LAYER["main"] = LAYER["fs"]


def includes(path):
    return re.findall(r'^#include "([a-z_]+)\.h"', open(path).read(), re.M)


def layer_of(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    if path.endswith(".c") and stem in SOURCE_LAYER:
        return SOURCE_LAYER[stem]
    assert stem in LAYER, f"{os.path.relpath(path, ROOT)} has no layer in test_layers.py"
    return LAYER[stem]


def test_every_file_has_a_layer():
    for path in glob.glob(os.path.join(ROOT, "include", "*.h")) + \
            glob.glob(os.path.join(ROOT, "src", "*.c")):
        layer_of(path)


def test_includes_point_down():
    wrong = []
    for path in sorted(glob.glob(os.path.join(ROOT, "include", "*.h")) +
                       glob.glob(os.path.join(ROOT, "src", "*.c"))):
        mine = layer_of(path)
        for h in includes(path):
            if LAYER.get(h, -1) > mine:
                wrong.append(f"{os.path.relpath(path, ROOT)} ({LAYERS[mine][0]}) includes "
                             f"{h}.h ({LAYERS[LAYER[h]][0]})")
    assert not wrong, "\n".join(wrong)
