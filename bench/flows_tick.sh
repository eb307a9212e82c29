#!/usr/bin/env bash
# Measures what one refresh costs netmonitor when the monitored process holds
# many TCP connections: CPU time (user + system) per tick of a piped session,
# for the flows tab and for the tcp tab (which pays for the same sock_diag
# dump: every tab's status box shows the process's TCP rate).
#
# Usage (as root, from the repository): bench/flows_tick.sh [PAIRS] [SECONDS]
# PAIRS loopback connections are made inside a private network namespace
# between two processes: a server holding the accepted ends and a client
# holding the connecting ends, which is the process measured. PAIRS 10000
# thus puts 20 000 connections in the namespace (the dump reads them all),
# 10 000 of them the client's (rows of the tab). Two processes because a
# descriptor limit of 20 000 (common, and this machine's hard limit) cannot
# hold 20 000 sockets in one. The namespace and both processes are removed
# on exit. Builds nothing: run `cargo build --release --bins --examples`
# first.
set -euo pipefail
pairs=${1:-10000}
seconds=${2:-10}
binary=${NETMONITOR:-target/release/netmonitor}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
[ -x "$binary" ] || { echo "no $binary: run cargo build --release" >&2; exit 1; }
ns="nm-bench-$$"
server=""
holder=""
cleanup() {
    [ -n "$holder" ] && kill "$holder" 2>/dev/null || true
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
limits='import resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))'
ip netns exec "$ns" python3 -c "$limits"'
import socket, sys, time
pairs = int(sys.argv[1])
l = socket.socket(); l.bind(("127.0.0.1", 5999)); l.listen(4096)
keep = [l.accept()[0] for _ in range(pairs)]
time.sleep(3600)
' "$pairs" &
server=$!
sleep 0.5
ready=$(mktemp)
ip netns exec "$ns" python3 -c "$limits"'
import socket, sys, time
keep = [socket.create_connection(("127.0.0.1", 5999)) for _ in range(int(sys.argv[1]))]
print("ready", flush=True)
time.sleep(3600)
' "$pairs" > "$ready" &
holder=$!
for _ in $(seq 600); do grep -q ready "$ready" && break; sleep 0.1; done
grep -q ready "$ready" || { echo "the client did not get ready" >&2; exit 1; }
rm -f "$ready"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "TCP connections in the namespace: $(ip netns exec "$ns" ss -tnH state established | wc -l); descriptors of the measured client (pid $holder): $(ls /proc/$holder/fd | wc -l)"
for tab in flows tcp; do
    out=$(mktemp)
    # A screen at once, then one per second until stdin closes.
    stats=$( { sleep "$seconds.5" | /usr/bin/time -f '%U %S %e %M' "$binary" -i 1 -t "$tab" "$holder" > "$out"; } 2>&1 )
    screens=$(grep -c "^│ $tab · pid" "$out" || true)
    bytes=$(wc -c < "$out")
    rm -f "$out"
    read -r user sys wall maxrss <<< "$stats"
    awk -v t="$tab" -v u="$user" -v s="$sys" -v n="$screens" -v b="$bytes" -v m="$maxrss" 'BEGIN {
        printf "%-5s %d screens, %.0f ms CPU per screen (user %.2f s, sys %.2f s), %.1f MB printed per screen, max RSS %d MB\n",
            t, n, 1000 * (u + s) / n, u, s, b / n / 1e6, m / 1024 }'
done
# What the pieces of a tick cost on their own (needs
# `cargo build --release --example tick_pieces`).
pieces=${TICK_PIECES:-target/release/examples/tick_pieces}
if [ -x "$pieces" ]; then
    echo "pieces of a tick, timed apart (wall clock):"
    "$pieces" "$holder" 3
fi
