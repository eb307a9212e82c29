#!/usr/bin/env python3
"""Times netmonitor against ss, netstat and lsof on the same sockets.

Run as root from the repository root, after `cargo build --release`:

    python3 bench/compare.py [--sockets 100000] [--own 20000] [--runs 9]

It builds a private network namespace, starts one process (the target)
holding about OWN TCP sockets (both ends of OWN/2 loopback connections) and
helper processes holding the rest, so the namespace has about SOCKETS TCP
sockets. Then it times, one after the other, each command RUNS times and
prints the median wall time, the ratio to the floor, and the peak memory:

  floor        cat /proc/PID/net/tcp /proc/PID/net/tcp6 (+ ls -l /proc/PID/fd)
  netmonitor   netmonitor --once --tab tcp PID (sockets over sock_diag)
  netmonitor   the same with --tcp-source proc (sockets from net/tcp{,6})
  ss           ss -tanp
  netstat      netstat -tanp
  lsof         lsof -nP -a -p PID -i

Every command runs inside the namespace through the same `nsenter --net`,
with output to /dev/null. Everything is torn down at the end, even on error.
Traffic stays on the namespace's loopback.
"""
import argparse
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

HOLDER = r"""
import os, resource, socket, sys, time
count = int(sys.argv[1]); ports = [int(p) for p in sys.argv[2].split(",")]
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
listeners = []
for port in ports:
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port)); l.listen(4096); listeners.append(l)
held = []
for n in range(count):
    c = socket.create_connection(("127.0.0.1", ports[n % len(ports)]))
    s, _ = listeners[n % len(ports)].accept()
    held += [c, s]
print("ready", len(held) + len(listeners), flush=True)
time.sleep(3600)
"""


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def timed(argv, runs):
    """Median wall seconds and peak RSS (KiB) of `runs` runs of argv."""
    times, peak = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        times.append(time.perf_counter() - start)
        peak = max(peak, usage.ru_maxrss)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{argv[0]} failed: {argv}")
    return statistics.median(times), peak


@contextlib.contextmanager
def socket_namespace(sockets, own):
    """A private network namespace holding about `sockets` TCP sockets on
    its loopback, `own` of them in one target process (helpers hold the
    rest). Yields (the `nsenter` prefix that runs a command inside, the
    target's pid); kills every holder and deletes the namespace on exit,
    even on error."""
    ns = f"nm-bench-{os.getpid()}"
    holders = []
    sh("ip", "netns", "add", ns)
    try:
        enter = ["nsenter", f"--net=/var/run/netns/{ns}"]
        sh(*enter, "ip", "link", "set", "lo", "up")
        sh(*enter, "sysctl", "-qw", "net.ipv4.ip_local_port_range=30000 65000")
        per_holder = (own - 16) // 2
        remaining = sockets
        port = 20000
        first = True
        while remaining > 0:
            pairs = per_holder if first else min(per_holder, max(1, (remaining - 8) // 2))
            ports = ",".join(str(port + i) for i in range(4))
            port += 4
            proc = subprocess.Popen(
                enter + ["python3", "-c", HOLDER, str(pairs), ports],
                stdout=subprocess.PIPE, text=True)
            holders.append(proc)
            line = proc.stdout.readline().split()
            if not line or line[0] != "ready":
                raise SystemExit("a socket holder failed to start")
            remaining -= int(line[1])
            first = False
        pid = holders[0].pid
        total = sum(1 for _ in open(f"/proc/{pid}/net/tcp")) - 1
        held = len(os.listdir(f"/proc/{pid}/fd"))
        print(f"namespace {ns}: {total} TCP sockets; target pid {pid} holds {held} descriptors",
              flush=True)
        yield enter, pid
    finally:
        for proc in holders:
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "netns", "del", ns])


def needs_root_and(*tools):
    if os.geteuid() != 0:
        raise SystemExit("run as root: it creates a network namespace")
    for tool in tools:
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=100_000)
    ap.add_argument("--own", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--binary", action="append",
                    help="netmonitor binary (repeat to compare builds side by side; "
                         "default target/release/netmonitor)")
    ap.add_argument("--hold", type=float, default=0,
                    help="keep the namespace this many seconds after setting it up, "
                         "without timing (for profiling by hand)")
    args = ap.parse_args()
    needs_root_and("ss", "netstat", "lsof", "nsenter", "ip")
    with socket_namespace(args.sockets, args.own) as (enter, pid):
        if args.hold:
            time.sleep(args.hold)
            return
        print(f"{args.runs} runs each, median wall time; machine: {os.cpu_count()} CPUs, "
              f"kernel {os.uname().release}, {time.strftime('%Y-%m-%d')}\n")
        cat = timed(enter + ["cat", f"/proc/{pid}/net/tcp", f"/proc/{pid}/net/tcp6"], args.runs)
        ls = timed(enter + ["ls", "-l", f"/proc/{pid}/fd"], args.runs)
        floor = cat[0] + ls[0]
        rows = [("floor (cat tables + ls -l fd)", floor, max(cat[1], ls[1])),
                ("  of which cat tables", cat[0], cat[1]),
                ("  of which ls -l fd", ls[0], ls[1])]
        binaries = args.binary or ["target/release/netmonitor"]
        ours_first = []
        for binary in binaries:
            label = "" if len(binaries) == 1 else f" [{binary}]"
            ours_first += [
                (f"netmonitor --once --tab tcp{label}", [binary, "--once", "--tab", "tcp", str(pid)]),
                ("  the same, --tcp-source proc",
                 [binary, "--once", "--tab", "tcp", "--tcp-source", "proc", str(pid)]),
            ]
        for name, argv in ours_first + [
            ("ss -tanp", ["ss", "-tanp"]),
            ("netstat -tanp", ["netstat", "-tanp"]),
            ("lsof -nP -a -p PID -i", ["lsof", "-nP", "-a", "-p", str(pid), "-i"]),
        ]:
            median, peak = timed(enter + argv, args.runs)
            rows.append((name, median, peak))
        width = max(34, *(len(name) for name, _, _ in rows))
        print(f"{'command':{width}} {'median':>10} {'× floor':>8} {'peak RSS':>10}")
        for name, median, peak in rows:
            print(f"{name:{width}} {median * 1000:8.1f} ms {median / floor:8.3f} {peak / 1024:7.1f} MiB")
        ours = rows[3][1]
        print()
        for name, median, _ in rows[3 + len(ours_first):]:
            print(f"netmonitor is {median / ours:.1f}× faster than {name}")


if __name__ == "__main__":
    main()
