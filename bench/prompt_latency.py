#!/usr/bin/env python3
"""Measures how long a keystroke takes to echo at netmonitor's prompt while
the tcp tab refreshes on a big namespace.

Run as root from the repository root, after `cargo build --release`:

    python3 bench/prompt_latency.py [--sockets 100000] [--own 20000] [--seconds 12]

It builds the namespace of bench/compare.py (about SOCKETS TCP sockets, OWN
of them held by the target process), starts `netmonitor -i 1 PID` on a
pseudo-terminal of 50 x 200 characters, selects the tcp tab, and then types
one character every 37 ms (a period prime to the refresh interval, so the
keystrokes fall at every phase of a tick) for SECONDS seconds. Each
character is a different letter that no table prints (Greek and Cyrillic),
so its echo is told apart from the redraws of the line after a refresh.
It prints the median, 99th percentile and worst echo time of all
keystrokes, and the worst of those typed in the half second before a
screen arrived, while that tick was being read and drawn.

For comparison it measures the same with netmonitor idle (a process with
no sockets), which is the latency of the pseudo-terminal itself.
"""
import argparse
import fcntl
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import needs_root_and, socket_namespace  # noqa: E402

LETTERS = [chr(c) for c in range(0x3B1, 0x3C9 + 1)] + [chr(c) for c in range(0x430, 0x44F + 1)]
STATUS = "│ tcp · pid".encode()


def session(argv, seconds):
    """(seconds after start each key was typed, its echo latency) for keys
    typed into `argv` on a pty, and the times screens arrived."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True,
                             env=dict(os.environ, TERM="xterm", NO_COLOR="1"))
    os.close(slave)
    out = bytearray()
    screens = []
    start = time.monotonic()

    def pump(timeout):
        ready, _, _ = select.select([master], [], [], timeout)
        if ready:
            try:
                before = out.count(STATUS)
                out.extend(os.read(master, 1 << 20))
                screens.extend([time.monotonic() - start] * (out.count(STATUS) - before))
            except OSError:
                pass

    def wait_for(pattern, mark, limit):
        began = time.monotonic()
        while pattern not in out[mark:] and time.monotonic() - began < limit:
            pump(0.01)
        return pattern in out[mark:]

    if not wait_for(b"> ", 0, 10):
        raise SystemExit(f"no prompt: {bytes(out)[-400:]!r}")
    os.write(master, b"tcp\r")
    if not wait_for(STATUS, 0, 30):
        raise SystemExit(f"no tcp screen: {bytes(out)[-400:]!r}")
    keys = []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        if n and n % len(LETTERS) == 0:
            # A fresh line, so the letters stay unique on it.
            os.write(master, b"\x15")
            time.sleep(0.05)
        letter = LETTERS[n % len(LETTERS)].encode()
        n += 1
        pump(0)
        mark = len(out)
        sent = time.monotonic()
        os.write(master, letter)
        while letter not in out[mark:] and time.monotonic() - sent < 5:
            pump(0.002)
        latency = time.monotonic() - sent
        keys.append((sent - start, latency))
        while time.monotonic() < sent + 0.037:
            pump(max(0.0, sent + 0.037 - time.monotonic()))
    os.write(master, b"\x15\x04")
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    os.close(master)
    return keys, screens


def report(name, keys, screens):
    latencies = sorted(latency for _, latency in keys)
    in_tick = [latency for sent, latency in keys
               if any(0 <= at - sent <= 0.5 for at in screens)]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{name}: {len(latencies)} keys, {len(screens)} screens; echo median "
          f"{statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"worst {latencies[-1] * 1000:.1f} ms; worst of the {len(in_tick)} typed in the "
          f"0.5 s before a screen {max(in_tick, default=0) * 1000:.1f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=100_000)
    ap.add_argument("--own", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=12)
    ap.add_argument("--binary", default="target/release/netmonitor")
    args = ap.parse_args()
    needs_root_and("nsenter", "ip")
    idle = subprocess.Popen(["sleep", "600"])
    try:
        report("idle process, no sockets (tcp, -i 1)",
               *session([args.binary, "-i", "1", str(idle.pid)], args.seconds))
    finally:
        idle.kill()
        idle.wait()
    with socket_namespace(args.sockets, args.own) as (enter, pid):
        report(f"target of {args.sockets} sockets (tcp, -i 1)",
               *session(enter + [args.binary, "-i", "1", str(pid)], args.seconds))


if __name__ == "__main__":
    main()
