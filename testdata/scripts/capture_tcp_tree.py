#!/usr/bin/env python3
"""Builds the --proc-root fixture tree testdata/proc/tcp-live from a real kernel.

Run as root; it works inside a private network namespace only:
    ip netns add nm-capture && ip netns exec nm-capture python3 capture_tcp_tree.py OUT
    ip netns del nm-capture

Inside the namespace it opens, on loopback: an IPv4 listener with an
un-accepted connection, an established pair with unread bytes, a dual-stack
IPv6 listener with an IPv4-mapped connection, an IPv6 pair, a TIME_WAIT, a
listener whose full accept queue leaves request (SYN_RECV) lines, and a
CLOSE_WAIT. It then copies net/tcp, net/tcp6 and this process's stat,
cmdline, ns/net and fd links into OUT/<pid>/, with fd links as symlinks.
"""
import os
import socket
import subprocess
import sys
import time

out = sys.argv[1]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
keep = []

# IPv4 listener; one connection accepted with 1000 unread bytes, one not accepted.
lst = socket.socket()
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind(("127.0.0.1", 5555))
lst.listen(8)
cli = socket.create_connection(("127.0.0.1", 5555))
srv, _ = lst.accept()
cli.send(b"x" * 1000)
pending = socket.create_connection(("127.0.0.1", 5555))
keep += [lst, cli, srv, pending]

# Dual-stack IPv6 listener reached over IPv4 (::ffff:127.0.0.1).
l6 = socket.socket(socket.AF_INET6)
l6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
l6.bind(("::", 5557))
l6.listen(8)
mapped = socket.create_connection(("127.0.0.1", 5557))
mapped_srv, _ = l6.accept()
keep += [l6, mapped, mapped_srv]

# IPv6 pair on ::1.
c6 = socket.create_connection(("::1", 5557))
s6, _ = l6.accept()
keep += [c6, s6]

# TIME_WAIT: the client closes first.
tw_c = socket.create_connection(("127.0.0.1", 5555))
tw_s, _ = lst.accept()
tw_c.close()
time.sleep(0.1)
tw_s.close()

# CLOSE_WAIT: the peer closed, we did not.
cw_c = socket.create_connection(("127.0.0.1", 5555))
cw_s, _ = lst.accept()
cw_c.close()
keep.append(cw_s)

# Request sockets: a listener with backlog 0 that never accepts; its queue
# fills and later handshakes stay in SYN_RECV.
busy = socket.socket()
busy.bind(("127.0.0.1", 6000))
busy.listen(0)
for _ in range(3):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", 6000))
    keep.append(s)
keep.append(busy)
time.sleep(0.5)

pid = os.getpid()
base = os.path.join(out, str(pid))
os.makedirs(os.path.join(base, "net"), exist_ok=True)
os.makedirs(os.path.join(base, "fd"), exist_ok=True)
os.makedirs(os.path.join(base, "ns"), exist_ok=True)
for name in ("tcp", "tcp6"):
    with open(f"/proc/self/net/{name}", "rb") as src:
        data = src.read()
    with open(os.path.join(base, "net", name), "wb") as dst:
        dst.write(data)
for name in ("stat", "cmdline"):
    with open(f"/proc/self/{name}", "rb") as src:
        data = src.read()
    with open(os.path.join(base, name), "wb") as dst:
        dst.write(data)
os.symlink(os.readlink("/proc/self/ns/net"), os.path.join(base, "ns", "net"))
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue
    os.symlink(target, os.path.join(base, "fd", fd))
print(pid)
