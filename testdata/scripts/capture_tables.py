#!/usr/bin/env python3
"""Opens the datagram sockets that the table fixtures show, inside the
namespace this script runs in, writes a manifest (one line per socket:
name, table, inode, what it is), then waits until it is killed.

Run by testdata/scripts/capture_tables.sh; never on its own. All traffic stays on
loopback and on the veth pair between the script's own namespaces.
"""
import ctypes
import os
import signal
import socket
import struct
import sys
import time

manifest_path, ready_path, pid_path = sys.argv[1:4]
socks = {}
lines = []


def keep(name, table, s, what):
    socks[name] = s
    lines.append(f"{name} {table} inode={os.fstat(s.fileno()).st_ino} {what}")



# --- UDP, IPv4 ---------------------------------------------------------
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.1", 40001))
keep("u4_bound", "udp", s, "bound 198.51.100.1:40001, unconnected")
# Traffic to the peer namespace resolves ARP for 198.51.100.2 (port 9: no
# listener there, the peer answers with port unreachable).
s.sendto(b"arp", ("198.51.100.2", 9))

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40002))
keep("u4_any", "udp", s, "bound 0.0.0.0:40002, unconnected")

recv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
recv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
recv.bind(("127.0.0.1", 40003))
keep("u4_flooded", "udp", recv, "bound 127.0.0.1:40003, tiny SO_RCVBUF, never read: rx_queue>0, drops>0")

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 40004))
s.connect(("127.0.0.1", 40003))
keep("u4_conn", "udp", s, "127.0.0.1:40004 connected to 127.0.0.1:40003 (st 01), sent 200x1000 bytes")
for _ in range(200):
    s.send(b"x" * 1000)

# A socket owned by uid 65534: a child drops privileges first.
r, w = os.pipe()
child = os.fork()
if child == 0:
    libc = ctypes.CDLL(None)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setgid(65534)
    os.setuid(65534)
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.bind(("0.0.0.0", 40005))
    os.write(w, str(os.fstat(c.fileno()).st_ino).encode())
    os.close(w)
    while True:
        time.sleep(60)
os.close(w)
child_inode = os.read(r, 64).decode()
lines.append(f"u4_nobody udp inode={child_inode} bound 0.0.0.0:40005 by uid 65534 (child pid {child})")

# --- UDP, IPv6 ---------------------------------------------------------
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("2001:db8:1::1", 40011))
keep("u6_bound", "udp6", s, "bound [2001:db8:1::1]:40011, unconnected")

peer = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
peer.bind(("::1", 40013))
keep("u6_peer", "udp6", peer, "bound [::1]:40013, holds one unread 5-byte datagram")

s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::1", 40012))
s.connect(("::1", 40013))
s.send(b"hello")
keep("u6_conn", "udp6", s, "[::1]:40012 connected to [::1]:40013 (st 01)")

s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 40014))
s.connect(("::ffff:127.0.0.1", 40002))
keep("u6_mapped", "udp6", s, "dual-stack [::ffff:127.0.0.1]:40014 connected to [::ffff:127.0.0.1]:40002")

# --- UDP-Lite (optional upstream) --------------------------------------
for family, table, addr, port in (
    (socket.AF_INET, "udplite", "127.0.0.1", 40021),
    (socket.AF_INET6, "udplite6", "::1", 40022),
):
    try:
        s = socket.socket(family, socket.SOCK_DGRAM, 136)
        s.bind((addr, port))
        keep(f"{table}_bound", table, s, f"bound {addr} port {port}")
    except OSError as e:
        lines.append(f"{table}_bound {table} not available: {e}")

# --- raw ---------------------------------------------------------------
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
keep("r4_icmp", "raw", s, "SOCK_RAW IPPROTO_ICMP, unbound: local port 0001")
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 255)
keep("r4_raw", "raw", s, "SOCK_RAW IPPROTO_RAW: local port 00FF")
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
s.bind(("198.51.100.1", 0))
s.connect(("198.51.100.2", 0))
keep("r4_253", "raw", s, "SOCK_RAW 253, bound 198.51.100.1, connected to 198.51.100.2 (st 01)")
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
keep("r6_icmp", "raw6", s, "SOCK_RAW IPPROTO_ICMPV6, unbound: local port 003A")
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 253)
s.bind(("2001:db8:1::1", 0))
keep("r6_253", "raw6", s, "SOCK_RAW 253 bound 2001:db8:1::1: local port 00FD")

# --- ping sockets (net.ipv4.ping_group_range set by the caller) --------
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
s.bind(("127.0.0.1", 0x1234))
s.connect(("127.0.0.1", 0))
body = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"ping"
s.send(body)
keep("p4_conn", "icmp", s, "ping socket id 0x1234 bound+connected 127.0.0.1, one echo sent (reply unread)")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
s.bind(("0.0.0.0", 0x2222))
keep("p4_any", "icmp", s, "ping socket id 0x2222 bound 0.0.0.0, unconnected")
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)
s.bind(("::1", 0x4321))
s.connect(("::1", 0))
s.send(struct.pack("!BBHHH", 128, 0, 0, 0x4321, 1) + b"ping")
keep("p6_conn", "icmp6", s, "ping6 socket id 0x4321 bound+connected ::1, one echo sent (reply unread)")

time.sleep(0.5)  # let loopback deliveries land in the receive queues
with open(manifest_path, "w") as f:
    f.write("\n".join(lines) + "\n")
with open(pid_path, "w") as f:
    f.write(f"{child}\n")
with open(ready_path, "w") as f:
    f.write("ready\n")
while True:
    time.sleep(60)
