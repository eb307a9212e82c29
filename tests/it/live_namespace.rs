//! Live tests of the namespace tabs (arp, traffic, routing, stats,
//! analysis): two private namespaces joined by a veth pair, a static
//! neighbour, IPv4 and IPv6 routes, and pings across the veth — traffic
//! only between the test's own namespaces. They need root and skip
//! without it; the namespaces (and everything in them) are removed when
//! the guards drop, whatever happens.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::{LiveSession, Netns, root_or_skip, run, stderr_of, stdout_of, table_rows};

const QUICK: Duration = Duration::from_secs(15);

/// A process to monitor in namespace A: it only waits.
const SLEEPER: &str = "import time\nprint('ready', flush=True)\ntime.sleep(120)\n";

/// `python3 -c PING ADDRESS COUNT`: ICMP echo over a raw socket (no ping
/// binary needed); exits 0 when every echo was answered.
const PING: &str = r#"
import socket, struct, sys, time, os
dst, count = sys.argv[1], int(sys.argv[2])
v6 = ":" in dst
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
ident = os.getpid() & 0xffff
def checksum(b):
    if len(b) % 2:
        b += b"\0"
    total = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    total = (total >> 16) + (total & 0xffff)
    total += total >> 16
    return ~total & 0xffff
answered = 0
for seq in range(count):
    payload = b"netmonitor-live-test" * 10
    header = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, ident, seq)
    if not v6:
        header = struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq)
    s.sendto(header + payload, (dst, 0))
    deadline = time.time() + 2
    while time.time() < deadline:
        try:
            data = s.recv(65535)
        except socket.timeout:
            break
        icmp = data if v6 else data[(data[0] & 0x0f) * 4:]
        kind, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
        if kind == (129 if v6 else 0) and rid == ident and rseq == seq:
            answered += 1
            break
    time.sleep(0.05)
print(answered)
sys.exit(0 if answered == count else 1)
"#;

/// Namespace A (monitored) and B joined by `nmva` — `nmvb`:
/// 10.250.0.1/24 and fd00:250::1/64 on A's end, .2 and ::2 on B's; a
/// permanent neighbour 10.250.0.3 and routes to 10.251.0.0/24 and
/// fd00:251::/64 via B in A.
struct Pair {
    a: Netns,
    b: Netns,
}

fn pair(tag: &str) -> Pair {
    let a = Netns::new(&format!("{tag}a"));
    let b = Netns::new(&format!("{tag}b"));
    a.veth_to(&b, "nmva", "nmvb");
    a.exec_ok(&["ip", "addr", "add", "10.250.0.1/24", "dev", "nmva"]);
    b.exec_ok(&["ip", "addr", "add", "10.250.0.2/24", "dev", "nmvb"]);
    a.exec_ok(&[
        "ip",
        "-6",
        "addr",
        "add",
        "fd00:250::1/64",
        "dev",
        "nmva",
        "nodad",
    ]);
    b.exec_ok(&[
        "ip",
        "-6",
        "addr",
        "add",
        "fd00:250::2/64",
        "dev",
        "nmvb",
        "nodad",
    ]);
    a.exec_ok(&[
        "ip",
        "neigh",
        "add",
        "10.250.0.3",
        "lladdr",
        "02:00:00:00:00:33",
        "dev",
        "nmva",
        "nud",
        "permanent",
    ]);
    a.exec_ok(&["ip", "route", "add", "10.251.0.0/24", "via", "10.250.0.2"]);
    a.exec_ok(&[
        "ip",
        "-6",
        "route",
        "add",
        "fd00:251::/64",
        "via",
        "fd00:250::2",
    ]);
    Pair { a, b }
}

impl Pair {
    /// Pings B from A over IPv4 and IPv6; asserts every echo came back.
    fn ping(&self, count: u32) {
        let count = count.to_string();
        self.a
            .exec_ok(&["python3", "-c", PING, "10.250.0.2", &count]);
        self.a
            .exec_ok(&["python3", "-c", PING, "fd00:250::2", &count]);
    }
}

/// The rows of the tables in `text` with exactly `cells` cells.
fn rows_of(text: &str, cells: usize) -> Vec<Vec<String>> {
    table_rows(text)
        .into_iter()
        .filter(|r| r.len() == cells)
        .collect()
}

/// The text after the last status box of tab `tab`.
fn last_screen<'a>(text: &'a str, tab: &str) -> &'a str {
    let marker = format!("│ {tab} · pid");
    text.rfind(&marker).map_or("", |at| &text[at..])
}

#[test]
fn arp_and_routing_show_exactly_the_namespaces_entries() {
    if !root_or_skip("arp_and_routing_show_exactly_the_namespaces_entries") {
        return;
    }
    let pair = pair("ar");
    let holder = pair.a.spawn_python(SLEEPER);
    let pid = holder.pid().to_string();
    pair.ping(3);

    let out = run(&["--once", "--tab", "arp", &pid], b"", QUICK);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(text.contains("namespace-wide · net:["), "{text}");
    let neighbours: BTreeSet<(String, String, String)> = rows_of(&text, 6)
        .into_iter()
        .map(|r| (r[0].clone(), r[2].clone(), r[5].clone()))
        .collect();
    let expected: BTreeSet<(String, String, String)> = [
        ("10.250.0.2", "complete", "nmva"),
        ("10.250.0.3", "complete,permanent", "nmva"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(neighbours, expected, "{text}");
    assert!(text.contains("02:00:00:00:00:33"), "{text}");
    // The statistics file is only in the host namespace.
    assert!(
        text.contains("ARP cache statistics are only available in the host namespace"),
        "{text}"
    );

    let out = run(&["--once", "--tab", "routing", &pid], b"", QUICK);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let ipv4: BTreeSet<(String, String, String, String)> = rows_of(&text, 8)
        .into_iter()
        .filter(|r| r[0].contains('.') || r[0] == "default" && r[1].contains('.'))
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone(), r[7].clone()))
        .collect();
    let expected: BTreeSet<(String, String, String, String)> = [
        ("10.250.0.0/24", "-", "U", "nmva"),
        ("10.251.0.0/24", "10.250.0.2", "UG", "nmva"),
    ]
    .iter()
    .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
    .collect();
    assert_eq!(ipv4, expected, "{text}");
    // IPv6: leaving out what the kernel adds by itself (local, multicast,
    // link-local routes and the null entries), exactly the two routes.
    let ipv6: BTreeSet<(String, String, String)> = rows_of(&text, 8)
        .into_iter()
        .filter(|r| r[0].contains(':') || r[0] == "default")
        .filter(|r| !r[6].contains("local") && !r[6].contains("reject"))
        .filter(|r| !r[0].starts_with("ff00:") && !r[0].starts_with("fe80:"))
        .map(|r| (r[0].clone(), r[2].clone(), r[7].clone()))
        .collect();
    let expected: BTreeSet<(String, String, String)> = [
        ("fd00:250::/64", "-", "nmva"),
        ("fd00:251::/64", "fd00:250::2", "nmva"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(ipv6, expected, "{text}");
    drop(pair.b);
}

/// The (RX rate, TX rate) cells of interface `name` in every throughput
/// table of `text`, in order.
fn rates(text: &str, name: &str) -> Vec<(String, String)> {
    rows_of(text, 9)
        .into_iter()
        .filter(|r| r[0] == name)
        .map(|r| (r[2].clone(), r[6].clone()))
        .collect()
}

#[test]
fn traffic_rates_move_when_packets_flow_between_two_ticks() {
    if !root_or_skip("traffic_rates_move_when_packets_flow_between_two_ticks") {
        return;
    }
    let pair = pair("tr");
    let holder = pair.a.spawn_python(SLEEPER);
    let pid = holder.pid().to_string();
    let mut session = LiveSession::start(&["-i", "0.5", &pid]);
    session.send("traffic\n");
    session.wait_for("two traffic screens", QUICK, |out| {
        out.matches("│ traffic · pid").count() >= 2
    });
    let first = session.output();
    assert!(
        first.contains("changes and rates appear from the next refresh"),
        "{first}"
    );
    let interfaces: BTreeSet<String> = rows_of(last_screen(&first, "traffic"), 9)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let expected: BTreeSet<String> = ["lo", "nmva", "total"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(interfaces, expected, "{first}");

    pair.ping(20);
    session.wait_for("a non-zero rate on the veth", QUICK, |out| {
        rates(out, "nmva").iter().any(|(rx, tx)| {
            rx.ends_with("B/s") && rx != "0 B/s" && tx.ends_with("B/s") && tx != "0 B/s"
        })
    });
    let (code, out, errors) = session.finish(QUICK);
    assert_eq!(code, Some(0), "{errors}");
    // Quiet interfaces stay at zero and nothing reads as a reset.
    assert!(
        rates(&out, "lo")
            .iter()
            .skip(1)
            .all(|(rx, tx)| rx == "0 B/s" && tx == "0 B/s"),
        "{out}"
    );
    assert!(!out.contains("reset"), "{out}");
}

/// Counters whose Change cell shows growth in any screen of `text` after
/// byte `from` (screens come every 0.5 s: the one that saw the traffic
/// may already be followed by a quiet one).
fn moved_counters(text: &str, from: usize) -> BTreeSet<String> {
    rows_of(text.get(from..).unwrap_or(""), 3)
        .into_iter()
        .filter(|r| r[2].starts_with('+'))
        .map(|r| r[0].clone())
        .collect()
}

#[test]
fn stats_and_analysis_show_counters_that_moved_and_the_toggles_work() {
    if !root_or_skip("stats_and_analysis_show_counters_that_moved_and_the_toggles_work") {
        return;
    }
    let pair = pair("st");
    let holder = pair.a.spawn_python(SLEEPER);
    let pid = holder.pid().to_string();
    let mut session = LiveSession::start(&["-i", "0.5", &pid]);

    session.send("stats\n");
    session.wait_for("the stats tab", QUICK, |out| out.contains("│ stats · pid"));
    let from = session.output().len();
    pair.ping(10);
    session.wait_for("IpExt octets that moved", QUICK, |out| {
        let moved = moved_counters(out, from);
        moved.contains("InOctets") && moved.contains("OutOctets")
    });
    // zeros shows the zero counters at once, from the snapshots already read.
    let before = session.output().len();
    session.send("zeros\n");
    session.wait_for("zero counters shown", QUICK, |out| {
        out.get(before..).is_some_and(|new| {
            new.contains("stats and analysis: zero counters shown")
                && new.contains("TCPAbortOnMemory")
        })
    });

    session.send("zeros\nchanged\nanalysis\n");
    session.wait_for("the analysis tab", QUICK, |out| {
        out.contains("│ analysis · pid")
    });
    let from = session.output().len();
    pair.ping(10);
    session.wait_for("ICMP counters that moved", QUICK, |out| {
        let moved = moved_counters(out, from);
        moved.contains("OutEchos") && moved.contains("InEchoReps") && moved.contains("InReceives")
    });
    let (code, out, errors) = session.finish(QUICK);
    assert_eq!(code, Some(0), "{errors}");
    assert!(
        out.contains("stats and analysis: only counters that changed in the last tick shown"),
        "{out}"
    );
    let analysis = last_screen(&out, "analysis");
    assert!(analysis.contains("Packet stats per CPU"), "{analysis}");
    assert!(analysis.contains("Findings (last"), "{analysis}");
    // With `changed` on, settings that did not change are hidden.
    assert!(!analysis.contains("RtoAlgorithm"), "{analysis}");
}
