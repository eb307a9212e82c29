//! Live tests of the flows tab: a child process in a private network
//! namespace streams a known number of bytes over loopback at a known pace,
//! and the tab must count exactly those bytes and measure that pace. Also
//! what an unprivileged user sees, in the target's namespace and outside
//! it. They need root (to make namespaces) and skip without it.

use std::process::{Command, Output};
use std::time::Duration;

use crate::support::{LiveSession, Netns, root_or_skip, table_rows, tools_or_skip};

const QUICK: Duration = Duration::from_secs(15);

/// Bytes the streaming child sends, and its pace in bytes per second.
const STREAM_BYTES: u64 = 1_500_000;
const STREAM_RATE: f64 = 250_000.0;

/// A listener, a connection to it and its accepted end, all in one
/// process. Prints `ready <listener port>`, waits `argv[3]` seconds, then
/// sends `argv[1]` bytes in 16 KiB chunks paced to `argv[2]` bytes/s
/// (against absolute deadlines, so late wake-ups do not lower the pace),
/// while a thread reads everything on the accepted end. Then idles.
const STREAMER: &str = r#"
import socket, sys, threading, time
total, rate, delay = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
received = [0]
def drain():
    while True:
        data = a.recv(65536)
        if not data:
            return
        received[0] += len(data)
threading.Thread(target=drain, daemon=True).start()
print("ready", l.getsockname()[1], flush=True)
time.sleep(delay)
start = time.monotonic(); sent = 0
while sent < total:
    n = min(16384, total - sent)
    c.sendall(b"x" * n); sent += n
    pause = start + sent / rate - time.monotonic()
    if pause > 0:
        time.sleep(pause)
while received[0] < total:
    time.sleep(0.01)
time.sleep(120)
"#;

/// Starts the streamer in `ns`; returns it and its listener's port.
fn streamer(ns: &Netns, bytes: u64, rate: f64, delay: f64) -> (crate::support::Holder, String) {
    let script =
        format!("import sys; sys.argv = ['streamer', '{bytes}', '{rate}', '{delay}']\n{STREAMER}");
    let child = ns.spawn_python(&script);
    let port = child
        .ready
        .strip_prefix("ready ")
        .expect("streamer prints its port")
        .to_string();
    (child, port)
}

/// Runs netmonitor with `args` (which ask for `--json --count`), expects
/// status 0, and returns its documents, one per tick.
fn json_ticks(args: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_netmonitor"))
        .args(args)
        .output()
        .expect("netmonitor runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON document per line"))
        .collect()
}

/// One printed flows screen: its status box and its table rows.
struct FlowScreen {
    status: String,
    rows: Vec<Vec<String>>,
}

/// Splits a session's output into its flows screens.
fn flow_screens(output: &str) -> Vec<FlowScreen> {
    let mut screens: Vec<String> = Vec::new();
    for line in output.lines() {
        if line.starts_with("│ flows · pid") {
            screens.push(String::new());
        }
        if let Some(screen) = screens.last_mut() {
            screen.push_str(line);
            screen.push('\n');
        }
    }
    screens
        .into_iter()
        .map(|text| FlowScreen {
            status: text
                .lines()
                .take_while(|l| !l.starts_with('└'))
                .collect::<Vec<_>>()
                .join("\n"),
            rows: table_rows(&text),
        })
        .collect()
}

/// `2,097,152` → 2097152.
fn exact(cell: &str) -> Option<u64> {
    cell.replace(',', "").parse().ok()
}

/// `242.6 KiB/s` → bytes per second.
fn rate(cell: &str) -> Option<f64> {
    let (number, unit) = cell.strip_suffix("/s")?.split_once(' ')?;
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * scale)
}

/// The row whose peer is `peer` (columns: local, peer, state, sent/s,
/// recv/s, sent, received, …).
fn row_to<'a>(screen: &'a FlowScreen, peer: &str) -> Option<&'a Vec<String>> {
    screen
        .rows
        .iter()
        .find(|r| r.get(1).map(String::as_str) == Some(peer))
}

#[test]
fn flows_count_the_bytes_streamed_exactly_and_measure_their_pace() {
    if !root_or_skip("flows_count_the_bytes_streamed_exactly_and_measure_their_pace") {
        return;
    }
    let ns = Netns::new("flows");
    let (child, port) = streamer(&ns, STREAM_BYTES, STREAM_RATE, 2.0);
    let listener = format!("127.0.0.1:{port}");
    // netmonitor runs in the initial namespace: the dump must enter the
    // child's namespace to see its connections.
    let mut session = LiveSession::start(&["-i", "1", &child.pid().to_string()]);
    session.send("flows\n");
    let done = STREAM_BYTES.to_string();
    session.wait_for("the whole stream counted", Duration::from_secs(30), |out| {
        flow_screens(out).iter().any(|s| {
            row_to(s, &listener)
                .and_then(|r| r.get(5))
                .and_then(|c| exact(c))
                == done.parse().ok()
        })
    });
    let output = session.output();
    let screens = flow_screens(&output);
    let first = screens.first().expect("a flows screen");
    assert!(
        output.contains("rates appear from the next refresh"),
        "{output}"
    );
    assert!(
        first
            .status
            .contains("counters read inside the process's network namespace"),
        "{output}"
    );

    // Exact totals: the sender's Sent and the accepted end's Received.
    let last = screens.last().expect("a flows screen");
    let sender = row_to(last, &listener).expect("the sending connection");
    assert_eq!(exact(&sender[5]), Some(STREAM_BYTES), "{output}");
    let sender_local = sender[0].clone();
    let receiver = row_to(last, &sender_local).expect("the accepted end");
    assert_eq!(exact(&receiver[6]), Some(STREAM_BYTES), "{output}");
    let total = last
        .rows
        .iter()
        .find(|r| r[0].starts_with("total"))
        .expect("total row");
    assert_eq!(exact(&total[5]), Some(STREAM_BYTES), "{output}");
    assert_eq!(exact(&total[6]), Some(STREAM_BYTES), "{output}");

    // The pace, measured between two refreshes that both fell inside the
    // stream (the earlier one had seen bytes, the later one not all).
    let mut measured = Vec::new();
    for pair in screens.windows(2) {
        let sent = |s: &FlowScreen| row_to(s, &listener).and_then(|r| exact(&r[5]));
        let (Some(before), Some(after)) = (sent(&pair[0]), sent(&pair[1])) else {
            continue;
        };
        if before > 0 && after < STREAM_BYTES {
            let row = row_to(&pair[1], &listener).expect("sender row");
            measured.push(rate(&row[3]).expect("a rate in Sent/s"));
            let status_rate = pair[1].status.contains(" · TCP sent ");
            assert!(
                status_rate,
                "the status box lacks the process rate:\n{output}"
            );
        }
    }
    assert!(
        measured.len() >= 2,
        "too few refreshes inside the stream ({measured:?}):\n{output}"
    );
    // On a loaded machine a starved pacer falls behind for a moment and
    // catches up in a burst (its deadlines are absolute), so one interval
    // may read far off; over the run the pace holds. Each interval is only
    // bounded (no interval counts bytes four times over), the mean tightly.
    for value in &measured {
        assert!(
            (0.0..=STREAM_RATE * 4.0).contains(value),
            "measured {value} B/s, sent at {STREAM_RATE} B/s ({measured:?}):\n{output}"
        );
    }
    let mean = measured.iter().sum::<f64>() / measured.len() as f64;
    assert!(
        (mean - STREAM_RATE).abs() <= STREAM_RATE * 0.1,
        "measured {mean} B/s on average, sent at {STREAM_RATE} B/s ({measured:?}):\n{output}"
    );
    let (code, _, errors) = session.finish(QUICK);
    assert_eq!(code, Some(0), "{errors}");
}

/// Runs netmonitor as `nobody` (uid 65534), optionally inside `ns`.
fn as_nobody(test: &str, ns: Option<&Netns>, args: &[&str]) -> Option<Output> {
    if !tools_or_skip(test, &[["setpriv", "--version"]], "util-linux") {
        return None;
    }
    let mut command = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &ns.name, "setpriv"]);
            c
        }
        None => Command::new("setpriv"),
    };
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_netmonitor"))
        .args(args);
    Some(command.output().expect("setpriv runs"))
}

#[test]
fn unprivileged_in_the_same_namespace_reads_the_namespace_and_says_why() {
    if !root_or_skip("unprivileged_in_the_same_namespace_reads_the_namespace_and_says_why") {
        return;
    }
    let ns = Netns::new("flowsu");
    // Sends everything before it reports ready, then idles.
    let (child, port) = streamer(&ns, 123_456, 10_000_000.0, 0.0);
    let listener = format!("127.0.0.1:{port}");
    let pid = child.pid().to_string();
    // The stream is done once its accepted end has read everything.
    let mut output = None;
    for _ in 0..50 {
        let Some(out) = as_nobody(
            "unprivileged_in_the_same_namespace_reads_the_namespace_and_says_why",
            Some(&ns),
            &["--once", "--tab", "flows", &pid],
        ) else {
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let finished = flow_screens(&text)
            .first()
            .and_then(|s| row_to(s, &listener).cloned())
            .is_some_and(|r| exact(&r[5]) == Some(123_456));
        output = Some((out, text));
        if finished {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (out, text) = output.expect("netmonitor ran");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Neither fd/ nor ns/net of root's process is readable by nobody: the
    // tab shows the namespace's connections and says why, having checked
    // against the process's net/netlink that netmonitor's namespace is its own.
    assert!(
        text.contains(&format!(
            "cannot read /proc/{pid}/fd (permission denied): showing every socket in its network namespace"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "cannot read /proc/{pid}/ns/net (permission denied): its net/netlink lists netmonitor's socket, so it shares netmonitor's network namespace"
        )),
        "{text}"
    );
    let screen = flow_screens(&text).into_iter().next().expect("a screen");
    let sender = row_to(&screen, &listener).expect("the child's connection");
    assert_eq!(exact(&sender[5]), Some(123_456), "{text}");
    assert!(
        text.contains("rates appear from the next refresh"),
        "{text}"
    );
    // No rate in the status box: the process's own sockets are unknown.
    assert!(!screen.status.contains("TCP sent"), "{text}");
}

#[test]
fn unprivileged_outside_the_namespace_says_what_would_allow_it() {
    if !root_or_skip("unprivileged_outside_the_namespace_says_what_would_allow_it") {
        return;
    }
    let ns = Netns::new("flowso");
    let (child, _) = streamer(&ns, 1000, 1_000_000.0, 0.0);
    let pid = child.pid().to_string();
    let Some(out) = as_nobody(
        "unprivileged_outside_the_namespace_says_what_would_allow_it",
        None,
        &["--once", "--tab", "flows", &pid],
    ) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!(
            "no connection counters: cannot read /proc/{pid}/ns/net (permission denied), and the process is not in netmonitor's network namespace"
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "run as root (or with CAP_SYS_PTRACE to open its ns/net and CAP_SYS_ADMIN to enter it)"
        ),
        "{text}"
    );
    assert!(table_rows(&text).is_empty(), "no table expected: {text}");
}

/// The flows tab in `--json --count`: exact byte totals as numbers, no rate
/// on the first tick, then each row's rates equal to what its counters grew
/// by over the tick's `elapsed_seconds`, and the process's TCP rate in the
/// status equal to the sum of its rows'.
#[test]
fn flows_in_json_carry_exact_totals_and_rates() {
    if !root_or_skip("flows_in_json_carry_exact_totals_and_rates") {
        return;
    }
    let ns = Netns::new("flowjson");
    // 400 000 bytes at 200 000 B/s, starting at once: about 2 s of the
    // 5.5 s the ticks span.
    let (child, _) = streamer(&ns, 400_000, 200_000.0, 0.0);
    let pid = child.pid().to_string();
    let docs = json_ticks(&[
        "--json", "--count", "12", "-i", "0.5", "--tab", "flows", &pid,
    ]);
    assert_eq!(docs.len(), 12, "{docs:?}");
    let rows = |doc: &serde_json::Value| -> Vec<serde_json::Value> {
        doc["tables"]["connections"]["rows"]
            .as_array()
            .expect("a connections table")
            .clone()
    };
    let key = |row: &serde_json::Value| {
        assert!(row["local_address"].is_string(), "{row}");
        (row["local_address"].clone(), row["peer_address"].clone())
    };
    let number = |row: &serde_json::Value, key: &str| {
        row[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is a number: {row}"))
    };
    for row in rows(&docs[0]) {
        assert!(row["sent_bytes_per_second"].is_null(), "{row}");
    }
    let mut moving = 0;
    for pair in docs.windows(2) {
        let (before, now) = (&pair[0], &pair[1]);
        let elapsed = number(now, "elapsed_seconds");
        let mut sum = 0.0;
        for row in rows(now) {
            let old = rows(before)
                .into_iter()
                .find(|r| key(r) == key(&row))
                .unwrap_or_else(|| panic!("{row} was in the previous tick: {before}"));
            for (count, rate) in [
                ("sent_bytes", "sent_bytes_per_second"),
                ("received_bytes", "received_bytes_per_second"),
            ] {
                let grew = number(&row, count) - number(&old, count);
                let expected = grew / elapsed;
                let got = number(&row, rate);
                assert!(
                    (got - expected).abs() <= 1e-6 * expected.max(1.0),
                    "{rate} {got}, expected {grew} bytes / {elapsed} s: {now}"
                );
            }
            sum += number(&row, "sent_bytes_per_second");
            moving += usize::from(number(&row, "sent_bytes_per_second") > 0.0);
        }
        let status = number(&now["status"], "tcp_sent_bytes_per_second");
        assert!((status - sum).abs() <= 1e-6 * sum.max(1.0), "{now}");
    }
    assert!(moving > 0, "no tick saw the stream move: {docs:?}");

    let last = &docs[11];
    let mut sent: Vec<u64> = rows(last)
        .iter()
        .map(|r| r["sent_bytes"].as_u64().expect("sent_bytes is a number"))
        .collect();
    sent.sort_unstable();
    assert_eq!(sent, vec![0, 400_000], "{last}");
    // The stream has ended: the process's rate over the last tick is 0.
    assert_eq!(
        last["status"]["tcp_sent_bytes_per_second"].as_f64(),
        Some(0.0),
        "{last}"
    );
}

/// Every other tab's status box shows the process's TCP rate from a dump
/// that keeps only the process's connections: a busier neighbour in the
/// same namespace does not count, the process's own stream does.
#[test]
fn other_tabs_rate_only_the_processs_own_connections() {
    if !root_or_skip("other_tabs_rate_only_the_processs_own_connections") {
        return;
    }
    let ns = Netns::new("ownrate");
    // The target streams 250 000 B/s, a neighbour four times as much, both
    // for six seconds from now.
    let (target, _) = streamer(&ns, 1_500_000, 250_000.0, 0.0);
    let (_neighbour, _) = streamer(&ns, 6_000_000, 1_000_000.0, 0.0);
    std::thread::sleep(Duration::from_millis(500));
    let pid = target.pid().to_string();
    let docs = json_ticks(&["--json", "--count", "3", "-i", "1", "--tab", "tcp", &pid]);
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert!(
        docs[0]["status"]["tcp_sent_bytes_per_second"].is_null(),
        "no rate before a second tick: {}",
        docs[0]["status"]
    );
    for doc in &docs[1..] {
        let sent = doc["status"]["tcp_sent_bytes_per_second"]
            .as_f64()
            .unwrap_or_else(|| panic!("a rate from the second tick: {}", doc["status"]));
        assert!(
            (STREAM_RATE * 0.7..STREAM_RATE * 1.3).contains(&sent),
            "the process sends {STREAM_RATE} B/s, its neighbour 1 000 000; shown {sent}"
        );
    }
}

/// A child that holds a listener, waits `argv[1]` seconds, then connects
/// to it and streams at `argv[2]` bytes/s (paced against absolute
/// deadlines) for `argv[3]` seconds while a thread drains the other end.
const LATE_STREAMER: &str = r#"
import socket, sys, threading, time
delay, rate, seconds = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print("ready", flush=True)
time.sleep(delay)
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
def drain():
    while a.recv(65536):
        pass
threading.Thread(target=drain, daemon=True).start()
start = time.monotonic(); sent = 0
while time.monotonic() - start < seconds:
    c.sendall(b"x" * 16384); sent += 16384
    pause = start + sent / rate - time.monotonic()
    if pause > 0:
        time.sleep(pause)
time.sleep(120)
"#;

/// Between ticks the status box's rate looks the process's connections
/// up one by one; a connection opened after the first tick is a socket
/// that reading did not know, so the next tick dumps the namespace again
/// and the connection is counted from the tick after.
#[test]
fn a_connection_opened_mid_session_joins_the_rate() {
    if !root_or_skip("a_connection_opened_mid_session_joins_the_rate") {
        return;
    }
    let ns = Netns::new("laterate");
    let script =
        format!("import sys; sys.argv = ['late', '1.5', '{STREAM_RATE}', '8']\n{LATE_STREAMER}");
    let child = ns.spawn_python(&script);
    let pid = child.pid().to_string();
    let rates: Vec<Option<f64>> =
        json_ticks(&["--json", "--count", "5", "-i", "1", "--tab", "tcp", &pid])
            .iter()
            .map(|doc| doc["status"]["tcp_sent_bytes_per_second"].as_f64())
            .collect();
    assert_eq!(rates.len(), 5, "{rates:?}");
    // Ticks at 0, 1, 2, 3, 4 s; the connection opens at 1.5 s. The two
    // last ticks measure it whole.
    for rate in &rates[3..] {
        let sent = rate.unwrap_or_else(|| panic!("a rate at the last ticks: {rates:?}"));
        assert!(
            (STREAM_RATE * 0.7..STREAM_RATE * 1.3).contains(&sent),
            "the process sends {STREAM_RATE} B/s; rates by tick {rates:?}"
        );
    }
}
