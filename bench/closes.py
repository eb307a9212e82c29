#!/usr/bin/env python3
"""How many TCP closes per second the close subscription keeps up with.

Runs `examples/closes_bench.rs` twice side by side in a private network
namespace: `watch` (the subscription, its reader thread and a ledger, as a
session would run them) and `generate` (a listener that accepts and closes
and N client threads that connect and close in a loop, each connection
two destroy events). Prints, for each client count, the generator's
connection rate, the closes the watcher received and lost, and the
watcher's CPU per 1 000 closes, as a Markdown table.

Needs root (ip netns). Usage: bench/closes.py [seconds] [clients ...]
Both halves run under `nice -n 10`, as everything on a shared machine.
"""

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BINARY = os.path.join(TARGET, "release", "examples", "closes_bench")
PORT = 7070


def build():
    subprocess.run(
        ["nice", "-n", "10", "cargo", "build", "--locked", "--release", "--example", "closes_bench"],
        cwd=ROOT,
        check=True,
    )


def kworker_seconds():
    """CPU seconds of the kernel's worker threads so far (where the
    destroy broadcasts are built; other kernel work shows up too, and a
    worker that exits takes its time with it: an estimate)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1:stat.rfind(")")]
        if comm.startswith("kworker"):
            fields = stat[stat.rfind(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run(seconds, clients, watching=True):
    ns = f"nm-bench-closes-{os.getpid()}-{clients}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    holder = None
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        # A process of the namespace for the watcher to name it by.
        holder = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", str(seconds + 30)])
        time.sleep(0.2)
        watcher = None
        if watching:
            watcher = subprocess.Popen(
                ["nice", "-n", "10", BINARY, "watch", str(holder.pid), str(PORT), str(seconds + 1)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert watcher.stdout.readline().strip() == "ready"
        generator = subprocess.Popen(
            ["nice", "-n", "10", "ip", "netns", "exec", ns, BINARY, "generate", str(PORT),
             str(seconds), str(clients)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert generator.stdout.readline().strip() == "ready"
        kernel = kworker_seconds()
        made = json.loads(generator.stdout.readline())
        made["kworker"] = kworker_seconds() - kernel
        generator.wait()
        if watcher is None:
            return made, None
        seen = json.loads(watcher.stdout.readline())
        watcher.wait()
        return made, seen
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        subprocess.run(["ip", "netns", "del", ns])


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    counts = [int(c) for c in sys.argv[2:]] or [1, 2, 4]
    build()
    print(f"{time.strftime('%Y-%m-%d')}, {os.uname().release}, {os.cpu_count()} CPUs, {seconds} s each")
    print()
    print("| clients | generator conn/s | closes expected/s | closes received/s | lost | overflows "
          "| watcher CPU % | CPU ms per 1 000 closes | generator CPU % | kworker CPU % | buffer | last event after the watch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for clients in counts:
        # The generator alone: the kernel then queues no destroy
        # broadcasts at all, so the difference is what subscribing costs it.
        alone, _ = run(seconds, clients, watching=False)
        alone_rate = alone["connections"] / alone["seconds"]
        alone_cpu = (alone["user"] + alone["system"]) / alone["seconds"] * 100
        print(f"| {clients}, no subscription | {alone_rate:,.0f} | | | | | | | {alone_cpu:.0f} "
              f"| {alone['kworker'] / alone['seconds'] * 100:.0f} | | |")
        made, seen = run(seconds, clients)
        rate = made["connections"] / made["seconds"]
        received = seen["events"] / made["seconds"]
        cpu = seen["user"] + seen["system"]
        per_thousand = cpu / seen["events"] * 1e6 if seen["events"] else float("nan")
        generator_cpu = (made["user"] + made["system"]) / made["seconds"] * 100
        print(f"| {clients} | {rate:,.0f} | {2 * rate:,.0f} | {received:,.0f} | {seen['lost']} "
              f"| {seen['overflows']} | {cpu / seen['seconds'] * 100:.0f} | {per_thousand:.1f} "
              f"| {generator_cpu:.0f} | {made['kworker'] / made['seconds'] * 100:.0f} | {seen['buffer'] // (1 << 20)} MiB{' (forced)' if seen['forced'] else ''} "
              f"| {seen['last_event_after_stop']:.1f} s |")
        print(f"<!-- {clients}: {json.dumps(made)} {json.dumps(seen)} -->")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
