#!/usr/bin/env python3
"""poll-state.py - follows a container's state with poll(2), no busy loop.

usage: poll-state.py HOST NAME [UNTIL...]
  Uses the mount at $DOCKFS, else /mnt/dockfs.  Prints the state now and a
  line at every change; with UNTIL (e.g. `exited dead`), stops once the state
  is one of them.

dockfs files answer poll() like cgroup.events: POLLIN at once (a file is
always readable), POLLPRI|POLLERR once the content differs from what this
open file read.  So: read, poll for POLLPRI, then open again (or seek to 0
and read: an open file keeps the snapshot it took at open).
"""
import os
import select
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().split("\n\n")[1])
    host, name, until = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    path = os.path.join(os.environ.get("DOCKFS", "/mnt/dockfs"), "hosts", host,
                        "containers", name, "state")
    while True:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            print(f"{host}:{name} removed", flush=True)
            return 1
        try:
            state = os.read(fd, 4096).decode().strip()
            print(f"{time.strftime('%H:%M:%S')} {host}:{name} {state}", flush=True)
            if state in until:
                return 0
            p = select.poll()
            p.register(fd, select.POLLPRI)   # POLLERR and POLLHUP come anyway
            p.poll()                         # until the content changes
        finally:
            os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
