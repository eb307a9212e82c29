//! Live proof of issue #13 through the built binary: every byte a process
//! moves over TCP is in its totals, connections shorter than a refresh
//! included. A server (or a client) in a private network namespace moves
//! a known number of bytes over hundreds of short loopback connections
//! while `netmonitor --json --count N --interval 1 PID` runs; the status
//! facts `tcp_*_total` of the last document must match those bytes
//! exactly, or, for a burst the kernel's buffer cannot hold, count the
//! lost events and say the totals are a lower bound. They need root (to
//! make namespaces) and skip without it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Netns, root_or_skip};

/// A threaded server. `argv`: family (`4`; `6`; `46`: `::` taking IPv4
/// peers too), mode, and for `burst` a count K.
/// * `recv`: reads each accepted connection to EOF, then closes it;
/// * `send`: sends the i-th accepted connection `size(i)` bytes, closes;
/// * `shared`: forks a worker after `listen`; parent and worker both
///   accept on the one listener, as `recv`, each appending its pid to the
///   file `argv[3]` for each connection it accepts;
/// * `burst`: accepts K connections, reads each to EOF, then closes them
///   all at once.
///
/// Prints `ready <port> <worker pid or 0>`, then serves until killed.
const SERVER: &str = r#"
import os, socket, sys, threading, time
family, mode = sys.argv[1], sys.argv[2]
def size(i):
    return 500 + (i * 7919) % 3000
if family == "4":
    l = socket.socket(socket.AF_INET); l.bind(("127.0.0.1", 0))
else:
    l = socket.socket(socket.AF_INET6)
    l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if family == "46" else 1)
    l.bind(("::" if family == "46" else "::1", 0))
l.listen(4096)
worker = 0
if mode == "shared":
    mode = "recv"
    worker = os.fork()
if worker != 0 or sys.argv[2] != "shared":
    print("ready", l.getsockname()[1], worker, flush=True)
def receive(a):
    while a.recv(65536):
        pass
    a.close()
def send(a, n):
    a.sendall(b"s" * n)
    a.close()
if mode == "burst":
    held = [l.accept()[0] for _ in range(int(sys.argv[3]))]
    for a in held:
        while a.recv(65536):
            pass
    for a in held:
        a.close()
    time.sleep(600)
log = open(sys.argv[3], "a") if sys.argv[2] == "shared" else None
i = 0
while True:
    a, _ = l.accept()
    if log:
        log.write(f"{os.getpid()}\n"); log.flush()
    if mode == "recv":
        threading.Thread(target=receive, args=(a,)).start()
    else:
        threading.Thread(target=send, args=(a, size(i))).start()
    i += 1
"#;

/// The client. `argv`: hosts (comma-separated, taken in turn), port,
/// mode, count, rate (connections per second), `hold_every`, `hold`
/// (seconds). Waits for a line on stdin, then opens `count` connections
/// at `rate`. In `recv` mode it sends the i-th `size(i)` bytes and closes;
/// in `send` mode it reads to EOF and closes. Every `hold_every`-th
/// connection (0: none) is held `hold` seconds: in `recv` mode between
/// the first half of its bytes and the rest, so a refresh sees it alive
/// with part of them. Prints `ready` first and `done` once every
/// connection is closed, then stays alive (it may be the watched one).
const CLIENT: &str = r#"
import socket, sys, threading, time
hosts, port, mode = sys.argv[1].split(","), int(sys.argv[2]), sys.argv[3]
count, rate, hold_every, hold = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
def size(i):
    return 500 + (i * 7919) % 3000
print("ready", flush=True)
sys.stdin.readline()
threads = []
def one(i, held):
    c = socket.create_connection((hosts[i % len(hosts)], port))
    if mode == "recv":
        n = size(i)
        if held:
            c.sendall(b"c" * (n // 2))
            time.sleep(hold)
            c.sendall(b"c" * (n - n // 2))
        else:
            c.sendall(b"c" * n)
    else:
        if held:
            time.sleep(hold)
        while c.recv(65536):
            pass
    c.close()
start = time.monotonic()
for i in range(count):
    held = hold_every > 0 and i % hold_every == 0
    if held or mode == "send":
        t = threading.Thread(target=one, args=(i, held)); t.start(); threads.append(t)
    else:
        one(i, False)
    pause = start + (i + 1) / rate - time.monotonic()
    if pause > 0:
        time.sleep(pause)
for t in threads:
    t.join()
print("done", round(count / (time.monotonic() - start)), flush=True)
time.sleep(600)
"#;

/// Opens `argv[3]` connections as fast as it can after a line on stdin,
/// sends 100 bytes on each and closes it. Prints `ready`, then `done`.
const BURSTER: &str = r#"
import socket, sys, time
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
for i in range(count):
    c = socket.create_connection((host, port))
    c.sendall(b"b" * 100)
    c.close()
print("done", flush=True)
time.sleep(600)
"#;

/// `size(i)` of the scripts, summed over `count` connections.
fn expected_bytes(count: u64) -> u64 {
    (0..count).map(|i| 500 + (i * 7919) % 3000).sum()
}

/// Short connections per run, and their pace (connections per second).
const CONNECTIONS: u64 = 240;
const RATE: &str = "80";

/// How long to wait for a line or a document.
const PATIENCE: Duration = Duration::from_secs(60);

/// Reads `pipe` line by line into a channel, on a thread that ends with it.
fn lines_of(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A python3 child in a namespace, its stdin and its stdout lines; killed
/// when dropped.
struct Python {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// The words of its first line (`ready …`).
    ready: Vec<String>,
}

impl Python {
    fn start(ns: &Netns, script: &str, args: &[&str]) -> Python {
        let argv: Vec<String> = std::iter::once("x")
            .chain(args.iter().copied())
            .map(|a| format!("{a:?}"))
            .collect();
        let code = format!("import sys; sys.argv = [{}]\n{script}", argv.join(", "));
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "python3", "-c", &code])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let stdin = child.stdin.take();
        let lines = lines_of(child.stdout.take().expect("piped stdout"));
        let mut python = Python {
            child,
            stdin,
            lines,
            ready: Vec::new(),
        };
        let first = python.line("ready");
        python.ready = first.split_whitespace().map(String::from).collect();
        assert_eq!(python.ready[0], "ready", "{first}");
        python
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line it prints, which must start with `what`.
    fn line(&mut self, what: &str) -> String {
        let line = self
            .lines
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|e| panic!("no `{what}` line from python3: {e}"));
        assert!(line.starts_with(what), "expected `{what}`, got {line:?}");
        line
    }

    /// Lets a client start (it waits for a line on stdin).
    fn go(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(b"go\n").expect("write to python3");
        stdin.flush().expect("flush");
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `netmonitor` and the documents it printed so far; killed
/// when dropped.
struct Monitor {
    child: Child,
    lines: Receiver<String>,
    docs: Vec<Value>,
}

impl Monitor {
    /// `netmonitor --json --count 120 --interval 1 --tab TAB PID`.
    fn json(tab: &str, pid: u32) -> Monitor {
        Monitor::start(&[
            "--json",
            "--count",
            "120",
            "--interval",
            "1",
            "--tab",
            tab,
            &pid.to_string(),
        ])
    }

    fn start(args: &[&str]) -> Monitor {
        let mut child = Command::new(env!("CARGO_BIN_EXE_netmonitor"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("netmonitor starts");
        let lines = lines_of(child.stdout.take().expect("piped stdout"));
        Monitor {
            child,
            lines,
            docs: Vec::new(),
        }
    }

    /// Waits for the next document.
    fn next(&mut self) -> &Value {
        let line = match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!("no document for {PATIENCE:?}"),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().ok();
                panic!(
                    "netmonitor ended ({status:?}) after {} documents",
                    self.docs.len()
                )
            }
        };
        let doc = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not one JSON document ({e}): {line}"));
        self.docs.push(doc);
        self.docs.last().expect("just pushed")
    }

    /// Reads documents until one satisfies `done` or `within` passed (on
    /// a broken build the counts never get there: the caller's asserts
    /// then say how far they got); returns the last one.
    fn until(&mut self, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let doc = self.next().clone();
            if done(&doc) || Instant::now() >= deadline {
                return doc;
            }
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A status fact of a document, as a number.
fn fact(doc: &Value, key: &str) -> u64 {
    doc["status"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("no status fact {key}: {}", doc["status"]))
}

/// The `tcp_*_total` facts of a document, for messages.
fn totals(doc: &Value) -> String {
    let status = &doc["status"];
    let mut out = String::new();
    if let Some(map) = status.as_object() {
        for (key, value) in map.iter().filter(|(k, _)| k.starts_with("tcp_")) {
            out.push_str(&format!("{key}={value} "));
        }
    }
    format!(
        "tick {}: {out}; status lines {}",
        doc["tick"], doc["status_lines"]
    )
}

/// Every close of the namespace seen, either way.
fn closes_seen(doc: &Value) -> u64 {
    fact(doc, "tcp_closed_connections_total")
        + fact(doc, "tcp_unattributed_closed_connections_total")
        + fact(doc, "tcp_lost_close_events_total")
}

/// The totals never go down from one document to the next.
fn assert_totals_only_grow(docs: &[Value]) {
    for pair in docs.windows(2) {
        for key in ["tcp_sent_bytes_total", "tcp_received_bytes_total"] {
            assert!(
                fact(&pair[1], key) >= fact(&pair[0], key),
                "{key} went down: {} then {}",
                totals(&pair[0]),
                totals(&pair[1])
            );
        }
    }
}

/// The notes of every `closed` block of the documents.
fn closed_notes(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .filter_map(|d| d["tables"]["closed"]["notes"].as_array())
        .flatten()
        .filter_map(|n| n.as_str().map(String::from))
        .collect()
}

/// The rows of every `closed` block of the documents.
fn closed_rows(docs: &[Value]) -> Vec<Value> {
    docs.iter()
        .filter_map(|d| d["tables"]["closed"]["rows"].as_array())
        .flatten()
        .cloned()
        .collect()
}

/// Starts a client, once the session's first document is out (the
/// subscription is then open), and waits until it says `done`; returns
/// that line (the CLIENT's says the pace it kept, for messages).
fn run_client(monitor: &mut Monitor, client: &mut Python) -> String {
    monitor.next();
    client.go();
    client.line("done")
}

/// A server receiving [`CONNECTIONS`] short uploads, some held across a
/// refresh: its received total is exactly what the clients sent, each
/// connection is its, and the clients' ends are the namespace's
/// unattributed closes, with the same bytes.
fn server_receiving(family: &str, hosts: &str) {
    let ns = Netns::new("bytes");
    let server = Python::start(&ns, SERVER, &[family, "recv"]);
    let count = CONNECTIONS.to_string();
    let mut client = Python::start(
        &ns,
        CLIENT,
        &[hosts, &server.ready[1], "recv", &count, RATE, "25", "1.5"],
    );
    let mut monitor = Monitor::json("flows", server.pid());
    let done = run_client(&mut monitor, &mut client);
    let end = monitor.until(Duration::from_secs(30), |d| {
        closes_seen(d) >= 2 * CONNECTIONS
    });
    let expected = expected_bytes(CONNECTIONS);
    let all = format!("client {done:?}; {}", totals(&end));
    assert_eq!(fact(&end, "tcp_lost_close_events_total"), 0, "{all}");
    assert_eq!(fact(&end, "tcp_received_bytes_total"), expected, "{all}");
    assert_eq!(fact(&end, "tcp_sent_bytes_total"), 0, "{all}");
    assert_eq!(
        fact(&end, "tcp_closed_connections_total"),
        CONNECTIONS,
        "{all}"
    );
    assert_eq!(
        fact(&end, "tcp_unattributed_closed_connections_total"),
        CONNECTIONS,
        "the clients' ends: {all}"
    );
    assert_eq!(
        fact(&end, "tcp_unattributed_closed_bytes_total"),
        expected,
        "{all}"
    );
    assert_totals_only_grow(&monitor.docs);
    // The flows tab's total line is the session's.
    let total = &end["tables"]["connections"]["total"];
    assert_eq!(total["local_address"], Value::Null);
    assert_eq!(total["received_bytes"].as_u64(), Some(expected), "{total}");
    // What closed was listed with its peers, accepted on the listener.
    let rows = closed_rows(&monitor.docs);
    assert!(
        rows.iter()
            .any(|r| r["attribution"] == "accepted on its listener"),
        "{rows:?}"
    );
    let session = format!(
        "over the session: {CONNECTIONS} of the process's connections closed; {CONNECTIONS} others of the namespace closed unattributed"
    );
    assert!(
        closed_notes(std::slice::from_ref(&end))
            .iter()
            .any(|n| n.starts_with(&session)),
        "{:?}",
        closed_notes(std::slice::from_ref(&end))
    );
}

#[test]
fn a_server_receiving_short_ipv4_connections_counts_every_byte() {
    if !root_or_skip("a_server_receiving_short_ipv4_connections_counts_every_byte") {
        return;
    }
    server_receiving("4", "127.0.0.1");
}

#[test]
fn a_server_receiving_short_ipv6_and_mapped_connections_counts_every_byte() {
    if !root_or_skip("a_server_receiving_short_ipv6_and_mapped_connections_counts_every_byte") {
        return;
    }
    // `::` taking IPv4 peers too: every other connection is IPv4-mapped.
    server_receiving("46", "::1,127.0.0.1");
}

/// The same server sending, watched on the arp tab: the totals are status
/// facts of every tab.
#[test]
fn a_server_sending_over_short_connections_counts_every_byte_on_any_tab() {
    if !root_or_skip("a_server_sending_over_short_connections_counts_every_byte_on_any_tab") {
        return;
    }
    let ns = Netns::new("bytes");
    let server = Python::start(&ns, SERVER, &["6", "send"]);
    let count = CONNECTIONS.to_string();
    let mut client = Python::start(
        &ns,
        CLIENT,
        &["::1", &server.ready[1], "send", &count, RATE, "25", "1.5"],
    );
    let mut monitor = Monitor::json("arp", server.pid());
    let done = run_client(&mut monitor, &mut client);
    let end = monitor.until(Duration::from_secs(30), |d| {
        closes_seen(d) >= 2 * CONNECTIONS
    });
    let expected = expected_bytes(CONNECTIONS);
    let all = format!("client {done:?}; {}", totals(&end));
    assert_eq!(end["tab"], "arp");
    assert_eq!(fact(&end, "tcp_lost_close_events_total"), 0, "{all}");
    assert_eq!(fact(&end, "tcp_sent_bytes_total"), expected, "{all}");
    assert_eq!(
        fact(&end, "tcp_received_bytes_total"),
        0,
        "the clients' FINs are no payload: {all}"
    );
    assert_eq!(
        fact(&end, "tcp_closed_connections_total"),
        CONNECTIONS,
        "{all}"
    );
    assert_eq!(
        fact(&end, "tcp_unattributed_closed_connections_total"),
        CONNECTIONS,
        "{all}"
    );
    assert_eq!(
        fact(&end, "tcp_unattributed_closed_bytes_total"),
        expected,
        "{all}"
    );
    assert_totals_only_grow(&monitor.docs);
}

/// Watching the client instead: its totals hold its own bytes (those of
/// the connections a refresh saw; the others nothing links to it) and
/// none of the server's; what it could not see is unattributed, so its
/// sent total and the unattributed bytes add up to both ends' bytes.
#[test]
fn a_client_counts_its_own_bytes_and_the_rest_is_unattributed() {
    if !root_or_skip("a_client_counts_its_own_bytes_and_the_rest_is_unattributed") {
        return;
    }
    let ns = Netns::new("bytes");
    let server = Python::start(&ns, SERVER, &["4", "recv"]);
    let count = CONNECTIONS.to_string();
    // Every 10th connection held 3 s: refreshes see those alive.
    let mut client = Python::start(
        &ns,
        CLIENT,
        &[
            "127.0.0.1",
            &server.ready[1],
            "recv",
            &count,
            RATE,
            "10",
            "3",
        ],
    );
    let mut monitor = Monitor::json("flows", client.pid());
    let done = run_client(&mut monitor, &mut client);
    let end = monitor.until(Duration::from_secs(30), |d| {
        closes_seen(d) >= 2 * CONNECTIONS
    });
    let expected = expected_bytes(CONNECTIONS);
    let held: u64 = (0..CONNECTIONS)
        .filter(|i| i % 10 == 0)
        .map(|i| 500 + (i * 7919) % 3000)
        .sum();
    let all = format!("client {done:?}; {}", totals(&end));
    assert_eq!(fact(&end, "tcp_lost_close_events_total"), 0, "{all}");
    // The server's ends received every byte: none of that is the client's.
    assert_eq!(
        fact(&end, "tcp_received_bytes_total"),
        0,
        "the server's bytes are not the client's: {all}"
    );
    let sent = fact(&end, "tcp_sent_bytes_total");
    let closed = fact(&end, "tcp_closed_connections_total");
    assert!(
        (CONNECTIONS / 10..CONNECTIONS).contains(&closed),
        "the held ones (and maybe a few short ones) were seen: {all}"
    );
    assert!(sent >= held && sent < expected, "{all}");
    // Every close is the client's or unattributed; the server's ends and
    // the client's unseen ones are the latter.
    assert_eq!(
        closed + fact(&end, "tcp_unattributed_closed_connections_total"),
        2 * CONNECTIONS,
        "{all}"
    );
    assert_eq!(
        sent + fact(&end, "tcp_unattributed_closed_bytes_total"),
        2 * expected,
        "{all}"
    );
    assert_totals_only_grow(&monitor.docs);
}

/// A listener shared by a parent and the worker it forked, both
/// accepting: the parent's totals count every connection accepted on it
/// (the kernel cannot say which holder served one), and the flows tab
/// says with whom it is shared.
#[test]
fn closes_on_a_listener_shared_with_a_worker_are_counted_and_name_it() {
    if !root_or_skip("closes_on_a_listener_shared_with_a_worker_are_counted_and_name_it") {
        return;
    }
    let ns = Netns::new("bytes");
    let log = tempfile::NamedTempFile::new().expect("a temporary file");
    let log_path = log.path().to_str().expect("a UTF-8 path");
    let server = Python::start(&ns, SERVER, &["4", "shared", log_path]);
    let worker: u32 = server.ready[2].parse().expect("the worker's pid");
    assert_ne!(worker, 0);
    let count = CONNECTIONS.to_string();
    let mut client = Python::start(
        &ns,
        CLIENT,
        &[
            "127.0.0.1",
            &server.ready[1],
            "recv",
            &count,
            RATE,
            "0",
            "0",
        ],
    );
    let mut monitor = Monitor::json("flows", server.pid());
    // The second tick looks up who else holds the listener.
    monitor.next();
    let done = run_client(&mut monitor, &mut client);
    let end = monitor.until(Duration::from_secs(30), |d| {
        closes_seen(d) >= 2 * CONNECTIONS
    });
    let expected = expected_bytes(CONNECTIONS);
    let all = format!("client {done:?}; {}", totals(&end));
    assert_eq!(fact(&end, "tcp_lost_close_events_total"), 0, "{all}");
    assert_eq!(
        fact(&end, "tcp_closed_connections_total"),
        CONNECTIONS,
        "{all}"
    );
    assert_eq!(fact(&end, "tcp_received_bytes_total"), expected, "{all}");
    assert_eq!(
        fact(&end, "tcp_unattributed_closed_connections_total"),
        CONNECTIONS,
        "{all}"
    );
    let listener = format!(
        "listener 127.0.0.1:{} is shared with pid {worker}: ",
        server.ready[1]
    );
    // The tally of the listener is the session's: every connection was
    // accepted after the owners were looked up.
    let notes = closed_notes(std::slice::from_ref(&end));
    let shared: Vec<u64> = notes
        .iter()
        .filter_map(|n| n.strip_prefix(&listener))
        .map(|rest| {
            rest.split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .expect("a count of connections")
        })
        .collect();
    assert_eq!(shared, [CONNECTIONS], "{notes:#?}");
    // Both holders served some: the worker's bytes are in the parent's
    // totals.
    let served = std::fs::read_to_string(log.path()).expect("the accept log");
    let by_worker = served.lines().filter(|l| *l == worker.to_string()).count();
    assert_eq!(served.lines().count() as u64, CONNECTIONS, "{served}");
    assert!(by_worker > 0, "the worker accepted none");
    let rows = closed_rows(&monitor.docs);
    let with_worker = format!("accepted on a listener shared with pid {worker}");
    assert!(
        rows.iter()
            .any(|r| r["attribution"] == with_worker.as_str()),
        "{rows:#?}"
    );
}

/// Connections alive at one refresh (half their bytes sent) and closed
/// before the next (the rest sent): counted once, with their last bytes.
#[test]
fn a_connection_seen_alive_then_closed_is_counted_once_with_its_last_bytes() {
    if !root_or_skip("a_connection_seen_alive_then_closed_is_counted_once_with_its_last_bytes") {
        return;
    }
    let ns = Netns::new("bytes");
    let server = Python::start(&ns, SERVER, &["4", "recv"]);
    // 20 connections, 4 a second, each held 2.5 s between its halves.
    let connections = 20;
    let count = connections.to_string();
    let mut client = Python::start(
        &ns,
        CLIENT,
        &[
            "127.0.0.1",
            &server.ready[1],
            "recv",
            &count,
            "4",
            "1",
            "2.5",
        ],
    );
    let mut monitor = Monitor::json("flows", server.pid());
    let done = run_client(&mut monitor, &mut client);
    let end = monitor.until(Duration::from_secs(30), |d| {
        closes_seen(d) >= 2 * connections
    });
    let expected = expected_bytes(connections);
    let all = format!("client {done:?}; {}", totals(&end));
    assert_eq!(fact(&end, "tcp_lost_close_events_total"), 0, "{all}");
    assert_eq!(fact(&end, "tcp_received_bytes_total"), expected, "{all}");
    assert_eq!(
        fact(&end, "tcp_closed_connections_total"),
        connections,
        "{all}"
    );
    assert_totals_only_grow(&monitor.docs);
    // Refreshes saw them alive, with half their bytes.
    let seen = closed_rows(&monitor.docs)
        .iter()
        .filter(|r| r["attribution"] == "seen alive")
        .count();
    assert!(seen > 0, "{:#?}", closed_rows(&monitor.docs));
    let halves = monitor.docs.iter().any(|d| {
        d["tables"]["connections"]["rows"]
            .as_array()
            .is_some_and(|rows| {
                rows.iter().any(|r| {
                    let got = r["received_bytes"].as_u64().unwrap_or(0);
                    (0..connections).any(|i| got == (500 + (i * 7919) % 3000) / 2)
                })
            })
    });
    assert!(halves, "no refresh saw a connection with half its bytes");
}

/// Thousands of connections closed within a second: the totals are
/// exact, or the lost events are counted and the status says since when
/// the totals are a lower bound.
#[test]
fn a_burst_of_closes_is_exact_or_says_the_totals_are_a_lower_bound() {
    if !root_or_skip("a_burst_of_closes_is_exact_or_says_the_totals_are_a_lower_bound") {
        return;
    }
    const BURST: u64 = 3000;
    let ns = Netns::new("burst");
    let count = BURST.to_string();
    let server = Python::start(&ns, SERVER, &["4", "burst", &count]);
    let mut client = Python::start(&ns, BURSTER, &["127.0.0.1", &server.ready[1], &count]);
    let mut monitor = Monitor::json("flows", server.pid());
    let done = run_client(&mut monitor, &mut client);
    let end = monitor.until(Duration::from_secs(40), |d| closes_seen(d) >= 2 * BURST);
    let all = format!("client {done:?}; {}", totals(&end));
    assert_eq!(
        closes_seen(&end),
        2 * BURST,
        "every close received or counted lost: {all}"
    );
    // Which branch ran (seen with `--nocapture`).
    eprintln!("burst of {BURST}: {all}");
    let lost = fact(&end, "tcp_lost_close_events_total");
    let received = fact(&end, "tcp_received_bytes_total");
    let lower_bound = end["status_lines"]
        .as_array()
        .expect("status lines")
        .iter()
        .filter_map(Value::as_str)
        .any(|line| line.starts_with("TCP totals are a lower bound since"));
    if lost == 0 {
        assert_eq!(received, 100 * BURST, "{all}");
        assert_eq!(fact(&end, "tcp_closed_connections_total"), BURST, "{all}");
        assert!(!lower_bound, "{all}");
    } else {
        assert!(received < 100 * BURST, "{all}");
        assert!(lower_bound, "{all}");
    }
}

/// OpenMetrics: the second exposition's received counter holds the bytes
/// of connections that opened and closed between the two ticks.
#[test]
fn openmetrics_counts_the_bytes_of_connections_closed_between_two_ticks() {
    if !root_or_skip("openmetrics_counts_the_bytes_of_connections_closed_between_two_ticks") {
        return;
    }
    let ns = Netns::new("bytes");
    let server = Python::start(&ns, SERVER, &["4", "recv"]);
    let connections = 20;
    let count = connections.to_string();
    let mut client = Python::start(
        &ns,
        CLIENT,
        &[
            "127.0.0.1",
            &server.ready[1],
            "recv",
            &count,
            "200",
            "0",
            "0",
        ],
    );
    // Three seconds between the ticks: room for 20 connections at 200/s
    // on a loaded machine.
    let mut monitor = Monitor::start(&[
        "--format",
        "openmetrics",
        "--count",
        "2",
        "--interval",
        "3",
        "--tab",
        "arp",
        &server.pid().to_string(),
    ]);
    let mut expositions = vec![String::new()];
    let mut started = false;
    loop {
        let line = match monitor.lines.recv_timeout(PATIENCE) {
            Ok(line) => line,
            Err(RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("no exposition: {e}"),
        };
        let eof = line == "# EOF";
        expositions.last_mut().expect("one").push_str(&line);
        expositions.last_mut().expect("one").push('\n');
        if eof {
            if !started {
                client.go();
                client.line("done");
                started = true;
            }
            expositions.push(String::new());
        }
    }
    let status = monitor.child.wait().expect("netmonitor ends");
    assert!(status.success(), "{status:?}");
    expositions.retain(|e| !e.is_empty());
    assert_eq!(expositions.len(), 2, "{expositions:#?}");
    let counter = |text: &str, name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
    };
    let received = "netmonitor_process_tcp_received_bytes_total";
    assert!(
        expositions[1].contains("# TYPE netmonitor_process_tcp_received_bytes counter"),
        "{}",
        expositions[1]
    );
    assert_eq!(
        counter(&expositions[0], received),
        Some(0),
        "{}",
        expositions[0]
    );
    assert_eq!(
        counter(&expositions[1], received),
        Some(expected_bytes(connections)),
        "{}",
        expositions[1]
    );
    assert_eq!(
        counter(
            &expositions[1],
            "netmonitor_process_tcp_closed_connections_total"
        ),
        Some(connections),
        "{}",
        expositions[1]
    );
}
