#!/bin/sh
# Makes testdata/proc/all-tabs-<kernel>: a capture written by netmonitor's
# own --capture of a process in a private network namespace, after a piped
# session showed every tab. The namespace is joined to a second one by a
# veth pair (addresses, a permanent neighbour, IPv4 and IPv6 routes, pings
# across it); the process holds TCP (listening and connected), UDP, raw and
# ping sockets on loopback. Everything stays inside the two namespaces,
# which are always deleted. Needs root and a built netmonitor
# (NETMONITOR=path, default target/debug/netmonitor).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${NETMONITOR:-$repo/target/debug/netmonitor}
kver=$(uname -r | cut -d. -f1,2)
out="$repo/testdata/proc/all-tabs-$kver"
a="nm-cap-a-$$"
b="nm-cap-b-$$"
holder=""
cleanup() {
    [ -n "$holder" ] && kill "$holder" 2>/dev/null || true
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

ip netns add "$a"
ip netns add "$b"
ip -n "$a" link set lo up
ip -n "$b" link set lo up
ip -n "$a" link add nmva type veth peer name nmvb netns "$b"
ip -n "$a" addr add 10.250.0.1/24 dev nmva
ip -n "$b" addr add 10.250.0.2/24 dev nmvb
ip -n "$a" addr add fd00:250::1/64 dev nmva nodad
ip -n "$b" addr add fd00:250::2/64 dev nmvb nodad
ip -n "$a" link set nmva up
ip -n "$b" link set nmvb up
ip -n "$a" neigh add 10.250.0.3 lladdr 02:00:00:00:00:33 dev nmva nud permanent
ip -n "$a" route add 10.251.0.0/24 via 10.250.0.2
ip -n "$a" -6 route add fd00:251::/64 via fd00:250::2
ip netns exec "$a" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
sleep 1
ip netns exec "$a" python3 "$here/traffic.py" 10.250.0.2 fd00:250::2 >/dev/null

ip netns exec "$a" python3 -c '
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 5501)); l.listen(8)
c = socket.create_connection(("127.0.0.1", 5501)); s, _ = l.accept()
c.sendall(b"x" * 100)
l6 = socket.socket(socket.AF_INET6); l6.bind(("::1", 5502)); l6.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 5503))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::1", 5504))
u6.connect(("::1", 5503))
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
p = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
p.connect(("127.0.0.1", 0))
un = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print("ready", flush=True)
time.sleep(600)
' >/dev/null &
holder=$!
sleep 1
pid=$(ip netns pids "$a" | head -n1)

rm -rf "$out"
printf 'tcp\nudp\nraw\nicmp\narp\ntraffic\nrouting\nstats\nanalysis\n' |
    "$bin" --capture "$out" "$pid" >/dev/null
echo "captured pid $pid into $out"
