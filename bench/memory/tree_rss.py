#!/usr/bin/env python3
"""Sum of RSS (KiB) over the process trees rooted at the given pids."""
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
    total, todo, seen = 0, [int(p) for p in sys.argv[1:]], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(kids.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    print(total)


if __name__ == "__main__":
    main()
