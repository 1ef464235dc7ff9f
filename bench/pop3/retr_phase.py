#!/usr/bin/env python3
"""Logs in to a POP3 server in plaintext, then RETRs 2..N one at a time
(send, read the whole answer, send the next), with callgrind's counters
zeroed before that phase and dumped after it, so the dump holds the
server's work for those RETRs alone.

usage: retr_phase.py PORT SERVER_PID USER PASSWORD [N]   (N: 1000)
"""
import socket
import subprocess
import sys
import time

port, pid, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
n = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
s = socket.create_connection(("127.0.0.1", port), timeout=120)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = s.makefile("rb", buffering=65536)


def cmd(c, multi=False):
    s.sendall(c.encode() + b"\r\n")
    line = f.readline()
    assert line.startswith(b"+OK"), (c, line)
    total = 0
    while multi:
        line = f.readline()
        if line == b".\r\n":
            break
        total += len(line)
    return total


assert f.readline().startswith(b"+OK")
cmd("USER " + user)
cmd("PASS " + password)
cmd("STAT")
cmd("LIST", True)
cmd("UIDL", True)
cmd("RETR 1", True)  # warm: first read-ahead, caches
subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
t0 = time.time()
octets = sum(cmd(f"RETR {i}", True) for i in range(2, n + 1))
dt = time.time() - t0
subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
cmd("QUIT")
print(f"{n - 1} RETRs, {octets} octets, {dt:.3f} s under callgrind")
