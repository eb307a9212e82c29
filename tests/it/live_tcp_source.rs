//! The tcp tab reads a live system's TCP sockets over sock_diag by default
//! and from `/proc/PID/net/tcp{,6}` with `--tcp-source proc`: both must
//! give the same rows, the same totals and the same changes, on every kind
//! of row the tables hold (listeners, connections over IPv4, IPv6 and
//! IPv4-mapped addresses, queued bytes, keepalive timers, not-yet-accepted
//! connections and TIME_WAIT). And when sock_diag cannot be used, the tab
//! still shows the sockets, read from `/proc`, and says why.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Netns, root_or_skip, run, stderr_of, stdout_of};

/// Opens one socket of every kind in the namespace and keeps them.
const SOCKETS: &str = r#"
import socket, time
def listener(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(addr); s.listen(8); return s
keep = []
v4 = listener(socket.AF_INET, ("127.0.0.1", 0))
v6 = listener(socket.AF_INET6, ("::1", 0))
dual = listener(socket.AF_INET6, ("::", 0))
keep += [v4, v6, dual]
# TIME_WAIT: the side that closes first keeps it.
tw = socket.create_connection(("127.0.0.1", v4.getsockname()[1]))
peer, _ = v4.accept()
tw.close(); time.sleep(0.1); peer.close()
for lst, family, host in [(v4, socket.AF_INET, "127.0.0.1"), (v6, socket.AF_INET6, "::1"), (dual, socket.AF_INET, "127.0.0.1")]:
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect((host, lst.getsockname()[1]))
    a, _ = lst.accept()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c.sendall(b"x" * 1000)          # unread: a receive queue on `a`
    keep += [c, a]
# A connection the listener has not accepted yet (no inode, in its queue).
keep.append(socket.create_connection(("127.0.0.1", v4.getsockname()[1])))
print("ready", flush=True)
time.sleep(600)
"#;

/// The rows of the tcp table of `--json` output, each without its timer's
/// time left (it runs on between the two reads), keyed by inode and
/// addresses; and the status facts.
fn rows_and_status(output: &str) -> (BTreeMap<String, Value>, Value) {
    let document: Value = serde_json::from_str(output).expect("one JSON document");
    let mut rows = BTreeMap::new();
    for table in document["tables"].as_object().expect("tables").values() {
        for row in table["rows"].as_array().expect("rows") {
            let mut row = row.clone();
            let object = row.as_object_mut().expect("row object");
            object.remove("timer_seconds");
            object.remove("change_status");
            let key = format!(
                "{} {}:{} {}:{} {}",
                object["inode"],
                object["local_ip"],
                object["local_port"],
                object["peer_ip"],
                object["peer_port"],
                object["state"]
            );
            rows.insert(key, row);
        }
    }
    let mut status = document["status"].clone();
    if let Some(status) = status.as_object_mut() {
        status.remove("tcp_rate");
    }
    (rows, status)
}

fn tcp_json(pid: u32, source: &str, scope: &[&str]) -> String {
    let mut args = vec!["--json", "--tab", "tcp", "--tcp-source", source];
    args.extend_from_slice(scope);
    let pid = pid.to_string();
    args.push(&pid);
    let output = run(&args, b"", Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    stdout_of(&output)
}

#[test]
fn netlink_and_proc_give_the_same_rows_in_every_scope() {
    if !root_or_skip("netlink_and_proc_give_the_same_rows_in_every_scope") {
        return;
    }
    let ns = Netns::new("tcpsrc");
    let holder = ns.spawn_python(SOCKETS);
    let pid = holder.pid();
    for scope in [&[][..], &["--all"][..]] {
        // netmonitor runs in the test's namespace; it enters the holder's.
        let (netlink_rows, netlink_status) = rows_and_status(&tcp_json(pid, "netlink", scope));
        let (proc_rows, proc_status) = rows_and_status(&tcp_json(pid, "proc", scope));
        assert_eq!(netlink_rows, proc_rows, "scope {scope:?}");
        assert_eq!(netlink_status, proc_status, "scope {scope:?}");
        let states: Vec<&str> = netlink_rows
            .values()
            .filter_map(|row| row["state"].as_str())
            .collect();
        let expected = if scope.is_empty() {
            // 3 listeners, 6 accepted or connecting ends, the pending
            // client; the not-accepted end and TIME_WAIT have no inode.
            (3, 7, 0)
        } else {
            (3, 8, 1)
        };
        let count = |name: &str| states.iter().filter(|s| **s == name).count();
        assert_eq!(
            (count("LISTEN"), count("ESTAB"), count("TIME-WAIT")),
            expected,
            "scope {scope:?}: {states:?}"
        );
    }
    let (rows, _) = rows_and_status(&tcp_json(pid, "netlink", &[]));
    let queued: Vec<u64> = rows
        .values()
        .filter_map(|row| row["recv_q"].as_u64())
        .filter(|&q| q > 0)
        .collect();
    assert!(queued.contains(&1000), "receive queues: {queued:?}");
    assert!(
        rows.values()
            .any(|row| row["peer_ip"].as_str() == Some("::ffff:127.0.0.1")),
        "an IPv4-mapped peer: {rows:?}"
    );
    assert!(
        rows.values()
            .any(|row| row["timer"].as_str() == Some("keepalive")),
        "a keepalive timer: {rows:?}"
    );
}

/// An unprivileged user cannot enter another namespace to ask sock_diag:
/// the rows come from `/proc` (readable to all), with a line saying so.
#[test]
fn without_sock_diag_the_rows_come_from_proc_and_the_tab_says_why() {
    if !root_or_skip("without_sock_diag_the_rows_come_from_proc_and_the_tab_says_why") {
        return;
    }
    let ns = Netns::new("tcpsrc");
    let holder = ns.spawn_python(SOCKETS);
    let pid = holder.pid().to_string();
    let binary = env!("CARGO_BIN_EXE_netmonitor");
    let as_nobody = |source: &str| {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", binary])
            .args([
                "--once",
                "--tab",
                "tcp",
                "--all",
                "--tcp-source",
                source,
                &pid,
            ])
            .output()
            .expect("setpriv runs")
    };
    let netlink = as_nobody("netlink");
    let proc = as_nobody("proc");
    let netlink_text = String::from_utf8_lossy(&netlink.stdout);
    assert_eq!(netlink.status.code(), Some(0), "{netlink_text}");
    assert!(
        netlink_text.contains("TCP sockets read from net/tcp and net/tcp6 instead"),
        "{netlink_text}"
    );
    let rows = |text: &str| -> Vec<String> {
        let mut rows: Vec<String> = text
            .lines()
            .filter(|l| l.contains('┆') && (l.contains("LISTEN") || l.contains("ESTAB")))
            // The Timer cell without its time left, which runs on.
            .map(|line| {
                line.split('┆')
                    .map(|cell| cell.split_whitespace().next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        rows.sort();
        rows
    };
    let proc_text = String::from_utf8_lossy(&proc.stdout);
    assert_eq!(rows(&netlink_text), rows(&proc_text));
    assert_eq!(rows(&netlink_text).len(), 11, "{netlink_text}");
    assert!(!proc_text.contains("instead"), "{proc_text}");
}
