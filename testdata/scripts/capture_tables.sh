#!/usr/bin/env bash
# Captures the real /proc/net fixtures used by src/parse/{arp,route}.rs and
# tests/datagram_fixtures.rs. Run as root on the kernel named by $KVER:
#
#   bash testdata/scripts/capture_tables.sh [KVER]      # default: 6.18
#
# Everything happens in two fresh network namespaces (A and B, joined by a
# veth pair); the only file read outside them is /proc/net/stat/arp_cache,
# which exists only in the initial namespace (read-only). Traffic stays on
# the veth pair and on A's loopback. Namespaces and processes are removed on
# exit, also on failure.
set -euo pipefail

KVER=${1:-6.18}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/files
A=nm-tbl-$$-a
B=nm-tbl-$$-b
WORK=$(mktemp -d)
PY_PID=
CHILD_PID=

cleanup() {
    set +e
    [ -n "$CHILD_PID" ] && kill "$CHILD_PID" 2>/dev/null
    [ -n "$PY_PID" ] && kill "$PY_PID" 2>/dev/null && wait "$PY_PID" 2>/dev/null
    # A proxy entry without a device is not freed with its namespace (6.18):
    # it lingers and shows up in a later namespace that reuses the memory.
    ip -n "$A" neigh del proxy 198.51.100.78 2>/dev/null
    ip netns del "$A" 2>/dev/null
    ip netns del "$B" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

a() { ip -n "$A" "$@"; }
b() { ip -n "$B" "$@"; }

ip netns add "$A"
ip netns add "$B"
a link set lo up
b link set lo up

# veth A <-> B; the A end has a 15-character name (the longest allowed).
a link add name nmtbl-longname0 address 02:00:00:00:0a:01 type veth \
    peer name nmtbl-b0 address 02:00:00:00:0b:01 netns "$B"
a addr add 198.51.100.1/24 dev nmtbl-longname0
a addr add 2001:db8:1::1/64 dev nmtbl-longname0 nodad
b addr add 198.51.100.2/24 dev nmtbl-b0
b addr add 2001:db8:1::2/64 dev nmtbl-b0 nodad
a link set nmtbl-longname0 up
b link set nmtbl-b0 up

# A second veth pair inside A whose end has a non-ASCII (UTF-8) name.
a link add name "vëth-ü" address 02:00:00:00:0c:01 type veth peer name nmtbl-c0
a addr add 10.0.0.1/24 dev "vëth-ü"
a link set "vëth-ü" up
a link set nmtbl-c0 up

# A tun device (ARPHRD_NONE, addr_len 0, no carrier).
a tuntap add mode tun name nmtun0
a addr add 10.9.9.1/24 dev nmtun0
a link set nmtun0 up

# Neighbours in A.
a neigh add 198.51.100.10 lladdr 02:00:00:00:00:10 dev nmtbl-longname0 nud permanent
a neigh add 198.51.100.11 lladdr 02:00:00:00:00:11 dev nmtbl-longname0 nud stale
a neigh add 198.51.100.12 dev nmtbl-longname0 nud incomplete
a neigh add 198.51.100.13 dev nmtbl-longname0 nud failed
a neigh add 198.51.100.14 lladdr 02:00:00:00:00:14 dev nmtbl-longname0 nud noarp
a neigh add 10.0.0.8 lladdr 02:00:00:00:00:08 dev "vëth-ü" nud permanent
a neigh add 10.9.9.9 dev nmtun0 nud permanent
a neigh add proxy 198.51.100.77 dev nmtbl-longname0
a neigh add proxy 198.51.100.78

# IPv4 routes in A (main table unless said otherwise).
a route add default via 198.51.100.2 dev nmtbl-longname0
a route add 203.0.113.0/24 via 198.51.100.2 metric 5
a route add 192.0.2.55/32 via 198.51.100.2
a route add 192.0.2.56/32 dev nmtbl-longname0
a route add unreachable 10.66.0.0/16
a route add prohibit 10.67.0.0/16
a route add blackhole 10.77.0.0/16
a route add 10.111.0.0/16 dev "vëth-ü" metric 4294967295
a route add 10.112.0.0/16 dev "vëth-ü" advmss 1400 window 65535 rtt 50ms
a route add 10.200.0.0/16 dev nmtbl-longname0 table 100

# IPv6 routes in A.
a -6 route add default via 2001:db8:1::2 dev nmtbl-longname0
a -6 route add 2001:db8:5::/48 via 2001:db8:1::2 metric 256
a -6 route add 2001:db8:55::1/128 via 2001:db8:1::2
a -6 route add unreachable 2001:db8:dead::/48
a -6 route add blackhole 2001:db8:beef::/48
a -6 route add prohibit 2001:db8:f00d::/48
a -6 route add 2001:db8:9::/64 dev nmtbl-longname0 pref high
a -6 route add 2001:db8:a::/64 dev nmtbl-longname0 pref low
a -6 route add 2001:db8:7::/64 dev nmtbl-longname0 expires 3600
a -6 route add 2001:db8:200::/48 dev nmtbl-longname0 table 100

# Ping sockets for every gid, in A only (the sysctl is per namespace).
ip netns exec "$A" sysctl -q -w net.ipv4.ping_group_range="0 2147483647"

ip netns exec "$A" python3 "$HERE/capture_tables.py" \
    "$WORK/manifest" "$WORK/ready" "$WORK/child" &
PY_PID=$!
for _ in $(seq 100); do
    [ -e "$WORK/ready" ] && break
    sleep 0.1
done
[ -e "$WORK/ready" ] || { echo "socket script did not become ready" >&2; exit 1; }
CHILD_PID=$(cat "$WORK/child")

for f in arp route ipv6_route udp udp6 udplite udplite6 raw raw6 icmp icmp6; do
    if ip netns exec "$A" test -e "/proc/net/$f"; then
        ip netns exec "$A" cat "/proc/net/$f" > "$OUT/$f-$KVER"
    fi
done
cat /proc/net/stat/arp_cache > "$OUT/arp_cache-$KVER"
cp "$WORK/manifest" "$OUT/datagram-$KVER.manifest"
echo "captured into $OUT"
