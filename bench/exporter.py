#!/usr/bin/env python3
"""What `netmonitor --listen` costs: CPU per refresh and peak RSS watching
PROCESSES processes in a namespace of about SOCKETS TCP sockets, and the
latency of scrapes (p50, p99) while it refreshes.

Run as root from the repository root, after `cargo build --release`:

    python3 bench/exporter.py [--sockets 10000] [--processes 50]
        [--interval 2] [--refreshes 10] [--scrapers 8] [--binary target/release/netmonitor]

It builds the namespace of bench/compare.py (about SOCKETS sockets held
by helper processes), starts PROCESSES small servers in it, each named
`nmbench` and holding a listener and 4 connections, plus a client that
opens and closes short connections to one of them (about 20 a second:
the close subscriptions have work). netmonitor runs inside the namespace
with `--listen 127.0.0.1:0 --name nmbench`; after a warm-up refresh it
measures:

  refresh   CPU (user + system of the exporter, all threads) over
            REFRESHES refreshes, divided by their number; the exporter's
            own `netmonitor_exporter_refresh_duration_seconds` (median)
  memory    peak RSS (VmHWM) at the end
  scrapes   SCRAPERS threads scraping back to back (a new connection each,
            OpenMetrics asked) during those refreshes: p50, p99, max

Everything is torn down at the end, even on error.
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import needs_root_and, socket_namespace  # noqa: E402

SERVER = r"""
import ctypes, socket, threading, time
ctypes.CDLL(None).prctl(15, b"nmbench", 0, 0, 0)
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(512)
held = []
for _ in range(4):
    c = socket.create_connection(l.getsockname()); s, _ = l.accept(); held += [c, s]
print("ready", l.getsockname()[1], flush=True)
def serve(a):
    while a.recv(65536):
        pass
    a.close()
while True:
    a, _ = l.accept()
    threading.Thread(target=serve, args=(a,), daemon=True).start()
"""

CHURN = r"""
import socket, sys, time
port, rate = int(sys.argv[1]), float(sys.argv[2])
while True:
    c = socket.create_connection(("127.0.0.1", port)); c.sendall(b"x" * 1000); c.close()
    time.sleep(1 / rate)
"""


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def metric(text, name):
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=10_000)
    ap.add_argument("--processes", type=int, default=50)
    ap.add_argument("--interval", type=float, default=2)
    ap.add_argument("--refreshes", type=int, default=10)
    ap.add_argument("--scrapers", type=int, default=8)
    ap.add_argument("--binary", default="target/release/netmonitor")
    ap.add_argument("--hold", type=float, default=0,
                    help="after the warm-up, print the exporter's pid and wait this many seconds "
                         "instead of measuring (for profiling by hand)")
    args = ap.parse_args()
    needs_root_and("nsenter", "ip", "python3")
    with socket_namespace(args.sockets, 400) as (enter, _):
        children = []
        try:
            ports = []
            for _ in range(args.processes):
                p = subprocess.Popen(enter + ["python3", "-c", SERVER],
                                     stdout=subprocess.PIPE, text=True)
                children.append(p)
                ports.append(int(p.stdout.readline().split()[1]))
            children.append(subprocess.Popen(enter + ["python3", "-c", CHURN, str(ports[0]), "20"]))
            # The exporter and the scrapers run outside the namespace (the
            # exporter enters it to ask sock_diag), so that the scrapes'
            # connections are not among the namespace's.
            exporter = subprocess.Popen(
                [args.binary, "--listen", "127.0.0.1:0", "--interval", str(args.interval),
                         "--name", "nmbench"],
                stderr=subprocess.PIPE, text=True)
            children.append(exporter)
            line = exporter.stderr.readline()
            host, port = re.search(r"http://([\d.]+):(\d+)/", line).groups()
            print(f"{args.processes} processes named nmbench, exporter pid {exporter.pid}, "
                  f"interval {args.interval} s; machine: {os.cpu_count()} CPUs, "
                  f"kernel {os.uname().release}, {time.strftime('%Y-%m-%d')}", flush=True)
            run_scrapers(enter, host, int(port), exporter.pid, children[0].pid, args)
        finally:
            for p in reversed(children):
                p.kill()
                p.wait()


def run_scrapers(enter, host, port, pid, target, args):
    # Scrapes run in a helper process; it prints latencies.
    helper = r"""
import socket, sys, threading, time, re
host, port, threads, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
def scrape():
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
if seconds == 0:
    sys.stdout.write(scrape().decode()); sys.exit()
lat = []
lock = threading.Lock()
end = time.monotonic() + seconds
def loop():
    while time.monotonic() < end:
        t = time.perf_counter(); body = scrape(); d = time.perf_counter() - t
        assert body.startswith(b"HTTP/1.1 200") and body.endswith(b"# EOF\n"), body[:200]
        with lock:
            lat.append(d)
ts = [threading.Thread(target=loop) for _ in range(threads)]
[t.start() for t in ts]; [t.join() for t in ts]
print(" ".join(f"{x:.6f}" for x in lat))
"""
    def once():
        return subprocess.run(["python3", "-c", helper, host, str(port), "1", "0"],
                              capture_output=True, text=True, check=True).stdout

    deadline = time.monotonic() + 120
    while True:
        text = once()
        watched = metric(text, "netmonitor_exporter_watched_processes")
        if watched == args.processes and (metric(text, "netmonitor_exporter_refreshes_total") or 0) >= 2:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"the exporter never watched {args.processes} processes: {watched}")
        time.sleep(0.5)
    if args.hold:
        print(f"exporter pid {pid}: holding {args.hold} s", flush=True)
        time.sleep(args.hold)
        return
    seconds = args.refreshes * args.interval
    # Refreshes alone (one scrape before and one after).
    idle_refreshes = metric(text, "netmonitor_exporter_refreshes_total")
    idle_cpu = cpu_seconds(pid)
    time.sleep(seconds)
    idle_cpu = cpu_seconds(pid) - idle_cpu
    text = once()
    idle_refreshes = metric(text, "netmonitor_exporter_refreshes_total") - idle_refreshes
    # Refreshes with scrapers hammering the server.
    start_refreshes = metric(text, "netmonitor_exporter_refreshes_total")
    start_cpu = cpu_seconds(pid)
    out = subprocess.run(["python3", "-c", helper, host, str(port), str(args.scrapers),
                                  str(seconds)], capture_output=True, text=True, check=True).stdout
    end_cpu = cpu_seconds(pid)
    text = once()
    refreshes = metric(text, "netmonitor_exporter_refreshes_total") - start_refreshes
    lat = sorted(float(x) for x in out.split())
    samples = sum(1 for l in text.splitlines() if l and not l.startswith("#"))
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    tcp = sum(1 for _ in open(f"/proc/{target}/net/tcp")) - 1
    print(f"namespace: {tcp} IPv4 TCP sockets; exposition: {samples} samples, {len(text)} bytes")
    print(f"refreshes measured: {refreshes:.0f} (scrapes meanwhile: {len(lat)} by {args.scrapers} threads)")
    print(f"exporter CPU per refresh: {idle_cpu / max(idle_refreshes, 1) * 1000:.0f} ms "
          f"({idle_refreshes:.0f} refreshes, no scrapes); with the scrapes: "
          f"{(end_cpu - start_cpu) / max(refreshes, 1) * 1000:.0f} ms per refresh; last refresh took "
          f"{metric(text, 'netmonitor_exporter_refresh_duration_seconds') * 1000:.0f} ms")
    print(f"peak RSS: {peak_rss_kib(pid) / 1024:.1f} MiB")
    print(f"scrape latency: p50 {p(0.5):.2f} ms, p99 {p(0.99):.2f} ms, max {lat[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
