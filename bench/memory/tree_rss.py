#!/usr/bin/env python3
"""Sum of RSS (KiB) over the process trees rooted at the given pids.
With --anon first, the anonymous part only (RssAnon: heap, stacks; not
the mapped database or shared libraries)."""
import os
import sys
from collections import defaultdict


def main():
    kids = defaultdict(list)
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    s = f.read()
                kids[int(s[s.rindex(")") + 2:].split()[1])].append(int(d))
            except (OSError, ValueError):
                pass
    args = sys.argv[1:]
    field = "VmRSS:"
    if args and args[0] == "--anon":
        field, args = "RssAnon:", args[1:]
    total, todo, seen = 0, [int(p) for p in args], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(kids.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith(field):
                        total += int(line.split()[1])
        except OSError:
            pass
    print(total)


if __name__ == "__main__":
    main()
