#!/usr/bin/env python3
"""What a refresh of a tcp-tab session costs, next to one cold print.

Run as root from the repository root, after `cargo build --release`:

    python3 bench/session_cost.py [--sockets 100000] [--own 20000]
        [--runs 5] [--prints 7] [--sessions 1] [--piped]
        [--binary target/release/netmonitor] [--binary OTHER ...]

It builds the namespace of bench/compare.py (about SOCKETS TCP sockets,
OWN of them held by the target) and, for each binary given, in one run
(the binaries taken in turn, so that a machine getting busier or quieter
weighs on each alike):

  cold      netmonitor --once --tab tcp PID, RUNS times: median CPU
            (user + system of the process and its threads) and peak RSS
  session   netmonitor --interval 2 --tab tcp PID until PRINTS screens are
            out, on a pseudo-terminal of 50 x 200 (what a user runs: the
            tables are cut to the terminal's height) and, with --piped,
            also with stdin and stdout pipes (every row printed, like a
            session redirected to a file): CPU of the whole session divided
            by the screens (the first, cold, tick included), and its peak
            RSS; SESSIONS times, the median shown with every figure

and prints the ratio session-per-refresh / cold. Output goes to a file
that is then dropped. Everything is torn down at the end, even on error.
"""
import argparse
import fcntl
import os
import pty
import select
import struct
import termios
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import needs_root_and, socket_namespace  # noqa: E402

HEADLINE = b"tcp \xc2\xb7 pid "

# Runs a command and writes its CPU seconds, peak RSS (KiB) and exit status
# to the file named first. Measured from a fresh small interpreter: Linux
# keeps a process's peak RSS across exec, so a command forked straight from
# this script (whose memory grows as it reads the sessions' output) would
# report this script's size when that is bigger than its own peak.
LAUNCHER = r"""
import os, sys
report, argv = sys.argv[1], sys.argv[2:]
child = os.fork()
if child == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(child, 0)
with open(report, "w") as out:
    out.write(f"{usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def launched(argv):
    """`argv` behind the launcher, and the file it reports to."""
    report = tempfile.NamedTemporaryFile(prefix="nm-usage-", delete=False)
    report.close()
    return [sys.executable, "-c", LAUNCHER, report.name] + argv, report.name


def cpu_and_peak(child, report):
    """Waits for `child` (started with `launched`); returns (CPU seconds,
    peak RSS KiB, status) of the command it ran."""
    child.wait()
    try:
        with open(report) as f:
            cpu, rss, status = f.read().split()
    finally:
        os.unlink(report)
    return float(cpu), int(rss), int(status)


def cold(enter, binary, pid, runs):
    cpus, peak = [], 0
    for _ in range(runs):
        argv, report = launched(enter + [binary, "--once", "--tab", "tcp", str(pid)])
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu, rss, status = cpu_and_peak(child, report)
        if status != 0:
            raise SystemExit(f"{binary} --once failed ({status})")
        cpus.append(cpu)
        peak = max(peak, rss)
    return statistics.median(cpus), peak


def session(enter, binary, pid, prints):
    with tempfile.TemporaryFile() as out:
        argv, report = launched(enter + [binary, "--interval", "2", "--tab", "tcp", str(pid)])
        child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 2.5 * prints + 30
        while time.monotonic() < deadline:
            time.sleep(0.2)
            out.seek(0)
            if out.read().count(HEADLINE) >= prints:
                break
        child.stdin.close()
        cpu, rss, status = cpu_and_peak(child, report)
        out.seek(0)
        shown = out.read().count(HEADLINE)
    if status != 0 or shown < prints:
        raise SystemExit(f"{binary} session failed ({status}, {shown} screens)")
    return cpu / shown, rss, shown


def terminal_session(enter, binary, pid, prints):
    """The session on a pseudo-terminal of 50 rows x 200 columns."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    argv, report = launched(enter + [binary, "--interval", "2", "--tab", "tcp", str(pid)])
    child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 2.5 * prints + 30
    while time.monotonic() < deadline and seen.count(HEADLINE) < prints:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                seen += os.read(master, 1 << 16)
            except OSError:
                break
    shown = seen.count(HEADLINE)
    os.write(master, b"\x04")  # Ctrl+D ends the session
    end = time.monotonic() + 10
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                if not os.read(master, 1 << 16):
                    break
            except OSError:
                break
        if child.poll() is not None:
            break
    cpu, rss, status = cpu_and_peak(child, report)
    os.close(master)
    if status != 0 or shown < prints:
        raise SystemExit(f"{binary} terminal session failed ({status}, {shown} screens)")
    return cpu / shown, rss, shown


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=100_000)
    ap.add_argument("--own", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--prints", type=int, default=7)
    ap.add_argument("--sessions", type=int, default=1,
                    help="sessions of each kind per binary (the median is shown)")
    ap.add_argument("--binary", action="append")
    ap.add_argument("--piped", action="store_true",
                    help="also time a piped session (every row printed)")
    args = ap.parse_args()
    binaries = args.binary or ["target/release/netmonitor"]
    kinds = [("terminal", terminal_session)]
    if args.piped:
        kinds.append(("piped", session))
    needs_root_and("nsenter", "ip")
    with socket_namespace(args.sockets, args.own) as (enter, pid):
        print(f"machine: {os.cpu_count()} CPUs, kernel {os.uname().release}, "
              f"{time.strftime('%Y-%m-%d')}; cold: median of {args.runs}; "
              f"session: {args.prints} screens at --interval 2, median of {args.sessions}; "
              f"binaries taken in turn\n")
        # In turns, so that a machine getting busier or quieter weighs on
        # every binary alike.
        colds = {binary: [] for binary in binaries}
        for _ in range(args.runs):
            for binary in binaries:
                colds[binary].append(cold(enter, binary, pid, 1))
        sessions = {(binary, kind): [] for binary in binaries for kind, _ in kinds}
        for _ in range(args.sessions):
            for binary in binaries:
                for kind, run in kinds:
                    per_refresh, rss, _ = run(enter, binary, pid, args.prints)
                    sessions[(binary, kind)].append((per_refresh, rss))
        print(f"{'binary':40} {'session':>8} {'cold CPU':>10} {'cold RSS':>9} "
              f"{'CPU/refresh':>12} {'session RSS':>12} {'ratio':>6}")
        for binary in binaries:
            cold_cpu = statistics.median(cpu for cpu, _ in colds[binary])
            cold_rss = max(rss for _, rss in colds[binary])
            for kind, _ in kinds:
                runs = sessions[(binary, kind)]
                per_refresh = statistics.median(cpu for cpu, _ in runs)
                session_rss = max(rss for _, rss in runs)
                each = ", ".join(f"{cpu * 1000:.0f}" for cpu, _ in runs)
                print(f"{binary:40} {kind:>8} {cold_cpu * 1000:7.0f} ms {cold_rss / 1024:5.1f} MiB "
                      f"{per_refresh * 1000:9.0f} ms {session_rss / 1024:8.1f} MiB "
                      f"{per_refresh / cold_cpu:6.2f}   ({each} ms)")


if __name__ == "__main__":
    main()
