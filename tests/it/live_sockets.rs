//! Live tests of the socket tabs in private network namespaces: a child
//! process opens UDP (bound and connected, IPv4 and IPv6), raw (ICMP,
//! ICMPv6), ping and TCP sockets and forks a grandchild with a socket of
//! its own; a neighbour process holds its own sockets. The built binary
//! must list exactly the child's sockets in scope own, everyone's with the
//! right owners in scope all, the grandchild's with `--children`, and the
//! same tcp and udp rows as `ss` run in the same namespace.
//!
//! They need root (`ip netns`) and skip with a message otherwise; CI runs
//! as root. Each test has its own namespace (unique name), all traffic
//! stays on its loopback, and namespaces and processes are removed by Drop
//! guards even when an assertion fails.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{Netns, root_or_skip, stdout_of};

/// The child: every kind of socket and a grandchild with one UDP socket
/// (the child's sockets were opened before the fork, so the grandchild
/// holds them too). It reports `key=value` words on one line.
const CHILD: &str = r#"
import os, socket as S, sys, time
keep = []
def ino(x): return os.fstat(x.fileno()).st_ino
def udp(fam, host, peer=None):
    x = S.socket(fam, S.SOCK_DGRAM); x.bind((host, 0))
    if peer: x.connect(peer)
    keep.append(x); return x
u4 = udp(S.AF_INET, '127.0.0.1')
u4c = udp(S.AF_INET, '127.0.0.1', u4.getsockname()[:2])
u6 = udp(S.AF_INET6, '::1')
u6c = udp(S.AF_INET6, '::1', u6.getsockname()[:2])
u4c.send(b'hello')
r4 = S.socket(S.AF_INET, S.SOCK_RAW, S.IPPROTO_ICMP)
r6 = S.socket(S.AF_INET6, S.SOCK_RAW, S.IPPROTO_ICMPV6)
p4 = S.socket(S.AF_INET, S.SOCK_DGRAM, S.IPPROTO_ICMP); p4.bind(('127.0.0.1', 0))
p6 = S.socket(S.AF_INET6, S.SOCK_DGRAM, S.IPPROTO_ICMPV6); p6.bind(('::1', 0))
l = S.socket(); l.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1); l.bind(('127.0.0.1', 0)); l.listen()
c = S.create_connection(l.getsockname()); a, _ = l.accept(); c.send(b'abc')
c2 = S.create_connection(l.getsockname()); a2, _ = l.accept(); c2.close(); time.sleep(0.05); a2.close()
u = S.socket(S.AF_UNIX, S.SOCK_STREAM)
r, w = os.pipe()
child = os.fork()
if child == 0:
    g = udp(S.AF_INET, '127.0.0.1')
    os.write(w, str(ino(g)).encode()); time.sleep(3600); os._exit(0)
grand = os.read(r, 64).decode()
j = lambda xs: ','.join(str(ino(x)) for x in xs)
print(f"pid={os.getpid()} udp={j([u4, u4c, u6, u6c])} raw={j([r4, r6])} icmp={j([p4, p6])} "
      f"tcp={j([l, c, a])} child={child} child_udp={grand} echo4={p4.getsockname()[1]}",
      flush=True)
time.sleep(3600)
"#;

/// For the ticks test: a bound and a connected UDP socket; on each line of
/// stdin it closes the connected one and opens a new bound one.
const TICKS: &str = r#"
import os, socket as S, sys
def ino(x): return os.fstat(x.fileno()).st_ino
u = S.socket(S.AF_INET, S.SOCK_DGRAM); u.bind(('127.0.0.1', 0))
c = S.socket(S.AF_INET, S.SOCK_DGRAM); c.bind(('127.0.0.1', 0)); c.connect(u.getsockname())
print(f"pid={os.getpid()} closing={ino(c)} closing_port={c.getsockname()[1]}", flush=True)
keep = []
for line in sys.stdin:
    c.close()
    n = S.socket(S.AF_INET, S.SOCK_DGRAM); n.bind(('127.0.0.1', 0)); keep.append(n)
    print(f"opened={ino(n)}", flush=True)
"#;

/// The neighbour: its own UDP, raw, ping and TCP sockets in the same
/// namespace.
const NEIGHBOUR: &str = r#"
import os, socket as S, time
def ino(x): return os.fstat(x.fileno()).st_ino
u = S.socket(S.AF_INET, S.SOCK_DGRAM); u.bind(('127.0.0.1', 0))
r = S.socket(S.AF_INET, S.SOCK_RAW, S.IPPROTO_ICMP)
p = S.socket(S.AF_INET, S.SOCK_DGRAM, S.IPPROTO_ICMP); p.bind(('127.0.0.1', 0))
l = S.socket(); l.bind(('127.0.0.1', 0)); l.listen()
print(f"pid={os.getpid()} udp={ino(u)} raw={ino(r)} icmp={ino(p)} tcp={ino(l)}", flush=True)
time.sleep(3600)
"#;

/// A python process in a namespace; killed when dropped (the namespace
/// guard also kills whatever is left in it).
struct Python {
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// The words of its first line.
    facts: BTreeMap<String, String>,
}

impl Python {
    fn start(ns: &Netns, script: &str) -> Python {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "python3", "-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut python = Python {
            child,
            stdout,
            facts: BTreeMap::new(),
        };
        let line = python.line();
        python.facts = words(&line);
        assert!(
            python.facts.contains_key("pid"),
            "the script did not report its sockets: {line:?}"
        );
        python
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("reads the child");
        line
    }

    fn fact(&self, key: &str) -> &str {
        self.facts.get(key).map(String::as_str).unwrap_or("")
    }

    fn inodes(&self, key: &str) -> BTreeSet<String> {
        self.fact(key)
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills a process (by pid) when dropped, in case a test fails while it
/// runs.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.0.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

fn words(line: &str) -> BTreeMap<String, String> {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A namespace with loopback up and ping sockets allowed for everyone.
fn namespace(tag: &str) -> Netns {
    let ns = Netns::new(tag);
    ns.exec_ok(&[
        "sysctl",
        "-q",
        "-w",
        "net.ipv4.ping_group_range=0 2147483647",
    ]);
    ns
}

/// One table as printed: header and rows of cells.
#[derive(Debug, Clone)]
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn column(&self, name: &str) -> Vec<String> {
        let Some(index) = self.header.iter().position(|h| h == name) else {
            panic!("no column {name} in {:?}", self.header);
        };
        self.rows
            .iter()
            .map(|r| r.get(index).cloned().unwrap_or_default())
            .collect()
    }

    fn inodes(&self) -> BTreeSet<String> {
        self.column("Inode")
            .into_iter()
            .filter(|i| !i.is_empty())
            .collect()
    }

    fn cell(&self, row: &[String], name: &str) -> String {
        let index = self.header.iter().position(|h| h == name);
        index.and_then(|i| row.get(i).cloned()).unwrap_or_default()
    }

    fn row_of(&self, inode: &str) -> Option<&Vec<String>> {
        self.rows.iter().find(|r| self.cell(r, "Inode") == inode)
    }
}

/// Every table with a header in `out`, in order.
fn tables(out: &str) -> Vec<Table> {
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_start_matches('│')
            .trim_end_matches('│')
            .split('┆')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let mut found = Vec::new();
    let mut current: Option<Table> = None;
    let mut last_row: Option<Vec<String>> = None;
    for line in out.lines() {
        if line.starts_with('┌') {
            current = Some(Table {
                header: Vec::new(),
                rows: Vec::new(),
            });
            last_row = None;
        } else if line.starts_with('╞') {
            if let (Some(table), Some(header)) = (current.as_mut(), last_row.take()) {
                table.header = header;
            }
        } else if line.starts_with('│') && line.contains('┆') {
            if let Some(table) = current.as_mut() {
                if table.header.is_empty() {
                    last_row = Some(cells(line));
                } else {
                    table.rows.push(cells(line));
                }
            }
        } else if line.starts_with('└') {
            if let Some(table) = current.take() {
                if !table.header.is_empty() {
                    found.push(table);
                }
            }
        }
    }
    found
}

/// The socket tables (those with an Inode column) of `out`.
fn socket_tables(out: &str) -> Vec<Table> {
    tables(out)
        .into_iter()
        .filter(|t| t.header.iter().any(|h| h == "Inode"))
        .collect()
}

fn netmonitor(args: &[&str], stdin: &[u8]) -> String {
    let output = crate::support::run(args, stdin, Duration::from_secs(30));
    assert!(
        output.status.success(),
        "netmonitor {args:?} failed: {}",
        crate::support::stderr_of(&output)
    );
    stdout_of(&output)
}

fn once(tab: &str, pid: &str, extra: &[&str]) -> (Table, String) {
    let mut args = vec!["--once", "--tab", tab];
    args.extend_from_slice(extra);
    args.push(pid);
    let out = netmonitor(&args, b"");
    let table = socket_tables(&out)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no socket table in:\n{out}"));
    (table, out)
}

#[test]
fn scope_own_lists_exactly_the_childs_sockets() {
    if !root_or_skip("scope_own_lists_exactly_the_childs_sockets") {
        return;
    }
    let ns = namespace("t3-own");
    let child = Python::start(&ns, CHILD);
    let neighbour = Python::start(&ns, NEIGHBOUR);
    let pid = child.fact("pid");

    let (udp, out) = once("udp", pid, &[]);
    assert_eq!(udp.inodes(), child.inodes("udp"), "{out}");
    assert!(!udp.header.contains(&"Owner".to_string()));
    assert!(
        out.contains("scope own · the process's own sockets: 4 of"),
        "{out}"
    );
    // Bound and connected, IPv4 and IPv6, with the queued datagram's
    // memory.
    let mut states = udp.column("State");
    states.sort();
    assert_eq!(states, vec!["ESTAB", "ESTAB", "UNCONN", "UNCONN"]);
    assert_eq!(
        udp.column("Proto").iter().filter(|p| *p == "udp6").count(),
        2
    );
    assert!(
        udp.column("Recv-Q").iter().any(|q| q != "0"),
        "the datagram sent to the bound socket shows as memory: {out}"
    );
    // Other sockets of the child are counted, not dropped: tcp (3), raw
    // (2), icmp (2), unix (1 unbound: in no table).
    assert!(
        out.contains("other sockets not in these tables: 3 tcp, 2 raw, 2 icmp"),
        "{out}"
    );

    let (raw, out) = once("raw", pid, &[]);
    assert_eq!(raw.inodes(), child.inodes("raw"), "{out}");
    let mut protocols = raw.column("Protocol");
    protocols.sort();
    assert_eq!(protocols, vec!["1 icmp", "58 ipv6-icmp"]);

    let (icmp, out) = once("icmp", pid, &[]);
    assert_eq!(icmp.inodes(), child.inodes("icmp"), "{out}");
    assert!(
        icmp.column("Echo ID")
            .contains(&child.fact("echo4").to_string()),
        "{out}"
    );
    assert!(out.contains("ICMP messages by type"), "{out}");

    let (tcp, out) = once("tcp", pid, &[]);
    assert_eq!(tcp.inodes(), child.inodes("tcp"), "{out}");

    // Nothing of the neighbour or the grandchild.
    for tab in ["udp", "raw", "icmp", "tcp"] {
        let (table, out) = once(tab, pid, &[]);
        assert!(
            table.inodes().is_disjoint(&neighbour.inodes(tab)),
            "{tab}: {out}"
        );
        assert!(!table.inodes().contains(child.fact("child_udp")), "{out}");
    }
}

#[test]
fn scope_all_shows_both_processes_with_their_owners() {
    if !root_or_skip("scope_all_shows_both_processes_with_their_owners") {
        return;
    }
    let ns = namespace("t3-all");
    let child = Python::start(&ns, CHILD);
    let neighbour = Python::start(&ns, NEIGHBOUR);
    let pid = child.fact("pid");
    let grandchild = child.fact("child");
    let their = neighbour.fact("pid");

    // Piped like typing: the tab, then the scope change.
    let out = netmonitor(&[pid], b"udp\nscope all\n");
    let screens = socket_tables(&out);
    assert_eq!(screens.len(), 2, "{out}");
    assert!(!screens[0].header.contains(&"Owner".to_string()));
    let udp = &screens[1];
    assert!(
        out.contains("scope all · every UDP socket in net:["),
        "{out}"
    );
    let owner = |inode: &str| {
        udp.row_of(inode)
            .map(|r| udp.cell(r, "Owner"))
            .unwrap_or_else(|| panic!("no row for inode {inode}:\n{out}"))
    };
    // The child's sockets were opened before the fork: the grandchild
    // holds them too.
    for inode in child.inodes("udp") {
        assert_eq!(
            owner(&inode),
            format!("{pid}/python3, {grandchild}/python3"),
            "{out}"
        );
    }
    assert_eq!(owner(neighbour.fact("udp")), format!("{their}/python3"));
    assert_eq!(
        owner(child.fact("child_udp")),
        format!("{grandchild}/python3")
    );
    let expected: BTreeSet<String> = child
        .inodes("udp")
        .into_iter()
        .chain(neighbour.inodes("udp"))
        .chain([child.fact("child_udp").to_string()])
        .collect();
    assert_eq!(udp.inodes(), expected, "every UDP socket of the namespace");

    // The same with --all, for raw and icmp.
    for tab in ["raw", "icmp"] {
        let (table, out) = once(tab, pid, &["--all"]);
        let expected: BTreeSet<String> = child
            .inodes(tab)
            .union(&neighbour.inodes(tab))
            .cloned()
            .collect();
        assert_eq!(table.inodes(), expected, "{out}");
        let row = table.row_of(neighbour.fact(tab)).expect("neighbour row");
        assert_eq!(table.cell(row, "Owner"), format!("{their}/python3"));
    }

    // TIME_WAIT has no inode and no owner.
    let (tcp, out) = once("tcp", pid, &["--all"]);
    let time_wait: Vec<&Vec<String>> = tcp
        .rows
        .iter()
        .filter(|r| tcp.cell(r, "State") == "TIME-WAIT")
        .collect();
    assert_eq!(time_wait.len(), 1, "{out}");
    assert_eq!(tcp.cell(time_wait[0], "Owner"), "-");
    assert_eq!(tcp.cell(time_wait[0], "Inode"), "0");
}

#[test]
fn children_option_adds_the_descendants_sockets() {
    if !root_or_skip("children_option_adds_the_descendants_sockets") {
        return;
    }
    let ns = namespace("t3-tree");
    let child = Python::start(&ns, CHILD);
    let neighbour = Python::start(&ns, NEIGHBOUR);
    let pid = child.fact("pid");
    let grandchild = child.fact("child");

    let (udp, out) = once("udp", pid, &["--children"]);
    let mut expected = child.inodes("udp");
    expected.insert(child.fact("child_udp").to_string());
    assert_eq!(udp.inodes(), expected, "{out}");
    assert!(
        out.contains(&format!(
            "scope tree · sockets of pid {pid} and its 1 descendant: 5 of"
        )),
        "{out}"
    );
    let row = udp.row_of(child.fact("child_udp")).expect("grandchild row");
    assert_eq!(udp.cell(row, "Owner"), format!("{grandchild}/python3"));
    assert!(udp.inodes().is_disjoint(&neighbour.inodes("udp")));

    // `scope tree` typed at the prompt does the same; `scope own` returns.
    let out = netmonitor(&[pid], b"udp\nscope tree\nscope own\n");
    let screens = socket_tables(&out);
    assert_eq!(screens.len(), 3, "{out}");
    assert_eq!(screens[1].inodes(), expected);
    assert_eq!(screens[2].inodes(), child.inodes("udp"));
    assert!(!screens[2].header.contains(&"Owner".to_string()));
}

#[test]
fn new_and_closed_sockets_between_ticks() {
    if !root_or_skip("new_and_closed_sockets_between_ticks") {
        return;
    }
    let ns = namespace("t3-ticks");
    let mut child = Python::start(&ns, TICKS);
    let pid = child.fact("pid").to_string();
    let closing = child.fact("closing").to_string();
    let closing_port = child.fact("closing_port").to_string();

    let mut monitor = Command::new(env!("CARGO_BIN_EXE_netmonitor"))
        .args(["--interval", "0.5", "--tab", "udp", &pid])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("netmonitor starts");
    let _guard = KillOnDrop(monitor.id());
    let lines = monitor.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(lines).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut out = String::new();
    // Reads output until `done` holds for it (or 20 s pass).
    let mut read_until = |done: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&out) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    out.push_str(&line);
                    out.push('\n');
                }
                Err(_) => break,
            }
        }
        out.clone()
    };
    // Each screen ends its table with one summary line (`2 UDP sockets: …`).
    let screens_in = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(" UDP socket"))
            .count()
    };
    // Two screens before the change, so the change is seen between ticks.
    let seen = read_until(&|o| screens_in(o) >= 2);
    let stdin = child.child.stdin.as_mut().expect("piped stdin");
    stdin.write_all(b"change\n").expect("asks the child");
    stdin.flush().expect("flushes");
    let opened = words(&child.line())
        .get("opened")
        .cloned()
        .expect("the child reports the new socket");
    let before_change = screens_in(&seen);
    // Three more screens: the change is surely in one of them.
    read_until(&|o| screens_in(o) >= before_change + 3);
    drop(monitor.stdin.take());
    let out = read_until(&|_| false);
    let status = monitor.wait().expect("netmonitor ends");
    assert!(status.success(), "{out}");

    let screens = socket_tables(&out);
    assert!(screens.len() >= 3, "{out}");
    let marked: Vec<(String, String)> = screens
        .iter()
        .flat_map(|t| {
            t.rows
                .iter()
                .filter(|r| r.first().is_some_and(|m| m == "+"))
                .map(|r| (t.cell(r, "Inode"), t.cell(r, "State")))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        marked,
        vec![(opened.clone(), "UNCONN".to_string())],
        "{out}"
    );
    let closed: Vec<&str> = out.lines().filter(|l| l.starts_with("closed:")).collect();
    assert_eq!(closed.len(), 1, "{out}");
    assert!(
        closed[0].starts_with(&format!(
            "closed: udp 127.0.0.1:{closing_port} → 127.0.0.1:"
        )),
        "{out}"
    );
    assert!(closed[0].ends_with("ESTAB"), "{out}");
    let last = screens.last().expect("a last screen");
    assert!(last.inodes().contains(&opened));
    assert!(!last.inodes().contains(&closing));
}

/// `ss` rows as (state, recv-q, send-q, local, peer, owner pids).
fn ss_rows(ns: &Netns, flags: &str) -> BTreeSet<(String, String, String, String, String, String)> {
    let out = ns.exec_ok(&["ss", flags, "-H"]);
    out.lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 5 {
                return None;
            }
            let peer = if cols[4].ends_with(":*") {
                "*".to_string()
            } else {
                cols[4].to_string()
            };
            let users = cols[5..].join(" ");
            let mut pids: Vec<String> = users
                .split("pid=")
                .skip(1)
                .filter_map(|rest| rest.split(',').next())
                .map(str::to_string)
                .collect();
            pids.sort();
            pids.dedup();
            let send_q = if cols[0] == "LISTEN" { "-" } else { cols[2] };
            Some((
                cols[0].to_string(),
                cols[1].to_string(),
                send_q.to_string(),
                cols[3].to_string(),
                peer,
                if pids.is_empty() {
                    "-".to_string()
                } else {
                    pids.join(",")
                },
            ))
        })
        .collect()
}

/// The same tuple from a netmonitor table in scope all.
fn monitor_rows(table: &Table) -> BTreeSet<(String, String, String, String, String, String)> {
    table
        .rows
        .iter()
        .map(|r| {
            let state = table.cell(r, "State");
            let mut pids: Vec<String> = table
                .cell(r, "Owner")
                .split(", ")
                .filter_map(|o| o.split_once('/').map(|(pid, _)| pid.to_string()))
                .collect();
            pids.sort();
            let send_q = if state == "LISTEN" {
                "-".to_string()
            } else {
                table.cell(r, "Send-Q")
            };
            (
                state,
                table.cell(r, "Recv-Q"),
                send_q,
                table.cell(r, "Local Address:Port"),
                table.cell(r, "Peer Address:Port"),
                if pids.is_empty() {
                    "-".to_string()
                } else {
                    pids.join(",")
                },
            )
        })
        .collect()
}

#[test]
fn tcp_and_udp_tabs_agree_with_ss() {
    if !root_or_skip("tcp_and_udp_tabs_agree_with_ss") {
        return;
    }
    let ns = namespace("t3-ss");
    let child = Python::start(&ns, CHILD);
    let _neighbour = Python::start(&ns, NEIGHBOUR);
    let pid = child.fact("pid");
    for (tab, flags) in [("tcp", "-tanp"), ("udp", "-uanp")] {
        let expected = ss_rows(&ns, flags);
        let (table, out) = once(tab, pid, &["--all"]);
        let got = monitor_rows(&table);
        assert!(
            expected.len() >= 4,
            "ss saw too little to compare: {expected:?}"
        );
        assert_eq!(got, expected, "{tab} against ss {flags}:\n{out}");
    }
}
