#!/bin/sh
# Captures the counter fixtures in testdata/files/ from the running kernel.
# Creates two private network namespaces joined by a veth pair, generates
# traffic only inside them (traffic.py), copies the files, and always deletes
# the namespaces. Needs root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/files"
kver=$(uname -r | cut -d. -f1,2)
a="nm-cnt-a-$$"
b="nm-cnt-b-$$"
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

ip netns add "$a"
ip netns add "$b"
ip -n "$a" link set lo up
ip -n "$b" link set lo up
# The veth end in $a has a 15-byte name (the maximum); an ifb device with a
# non-ASCII name shows that names are not only ASCII.
va=nm-cnt-veth-15b
ip -n "$a" link add "$va" type veth peer name nm-veth-b netns "$b"
ip -n "$a" link add "düm0" type ifb
ip -n "$a" addr add 10.99.0.1/24 dev "$va"
ip -n "$b" addr add 10.99.0.2/24 dev nm-veth-b
ip -n "$a" addr add fd00:99::1/64 dev "$va" nodad
ip -n "$b" addr add fd00:99::2/64 dev nm-veth-b nodad
ip -n "$a" link set "$va" up
ip -n "$a" link set "düm0" up
ip -n "$b" link set nm-veth-b up
sleep 1

ip netns exec "$a" python3 "$here/traffic.py" 10.99.0.2 fd00:99::2

n() { ip netns exec "$a" cat "/proc/net/$1"; }
n snmp >"$out/snmp-$kver"
n netstat >"$out/netstat-$kver"
n snmp6 >"$out/snmp6-$kver"
n dev_snmp6/$va >"$out/dev_snmp6-veth-$kver"
n dev >"$out/dev-$kver"
cols=$(head -n1 /proc/net/softnet_stat | wc -w)
cat /proc/net/softnet_stat >"$out/softnet_stat-$kver-${cols}col"
