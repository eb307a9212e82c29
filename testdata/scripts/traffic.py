"""Traffic generator for testdata/scripts/capture_counters.sh. Runs INSIDE a private network
namespace; talks only to its own loopback and to the veth peer namespace."""
import socket
import struct
import sys
import time

PEER4, PEER6 = sys.argv[1], sys.argv[2]


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def icmp(kind: int, code: int = 0, payload: bytes = b"netmonitor") -> bytes:
    head = struct.pack("!BBHHH", kind, code, 0, 0x4E4D, 1)
    return struct.pack("!BBHHH", kind, code, csum(head + payload), 0x4E4D, 1) + payload


# ICMP: many distinct types over loopback, so IcmpMsg needs more than one
# name/value pair (at most 16 entries per pair); echo requests to the peer.
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for kind in list(range(0, 19)) + [30, 40, 42]:
    raw.sendto(icmp(kind), ("127.0.0.1", 0))
for _ in range(3):
    raw.sendto(icmp(8), (PEER4, 0))
time.sleep(0.2)

# ICMPv6 echo requests (the kernel fills in the checksum).
raw6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
for dest in ("::1", PEER6):
    for _ in range(2):
        raw6.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x4E4D, 1) + b"nm", (dest, 0))
time.sleep(0.2)

# UDP: a datagram that is received, and one to a closed port (NoPorts, ICMP 3).
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    rx = socket.socket(fam, socket.SOCK_DGRAM)
    rx.bind((host, 0))
    tx = socket.socket(fam, socket.SOCK_DGRAM)
    for _ in range(5):
        tx.sendto(b"x" * 100, rx.getsockname())
        rx.recv(200)
    tx.sendto(b"closed", (host, 9))
    rx.close()
    tx.close()

# TCP: one connection with some data, and one refused (RST).
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.bind((host, 0))
    ls.listen()
    c = socket.create_connection(ls.getsockname()[:2])
    s, _ = ls.accept()
    c.sendall(b"y" * 50000)
    got = 0
    while got < 50000:
        got += len(s.recv(65536))
    c.close()
    s.close()
    ls.close()
    try:
        socket.create_connection((host, 9), timeout=1)
    except OSError:
        pass
time.sleep(0.3)
