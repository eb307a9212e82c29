//! An unprivileged user (`setpriv` to nobody) watching a root process in
//! a private network namespace: every tab either shows what anyone may
//! read (the namespace's `net/` files are world-readable) or says exactly
//! what it cannot read and why — `fd/` and `ns/net` are the root process's
//! own — and none shows an empty table that would read as "nothing there".
//!
//! They need root (to make the namespace and drop to nobody) and skip
//! otherwise.

use std::process::Command;

use netmonitor::tabs::Tab;

use crate::support::{Netns, root_or_skip, table_rows, tools_or_skip};

/// A root process with TCP (a listener and one connection: 3 sockets),
/// UDP, raw and ping sockets.
const TARGET: &str = r#"
import socket as S, time
l = S.socket(); l.bind(("127.0.0.1", 7500)); l.listen(8)
c = S.create_connection(("127.0.0.1", 7500)); a, _ = l.accept()
u = S.socket(S.AF_INET, S.SOCK_DGRAM); u.bind(("127.0.0.1", 7501))
r = S.socket(S.AF_INET, S.SOCK_RAW, S.IPPROTO_ICMP)
p = S.socket(S.AF_INET, S.SOCK_DGRAM, S.IPPROTO_ICMP); p.bind(("127.0.0.1", 0))
print("ready", flush=True)
time.sleep(600)
"#;

fn as_nobody(args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_netmonitor"))
        .args(args)
        .output()
        .expect("setpriv runs")
}

#[test]
fn as_nobody_every_tab_works_or_says_what_it_cannot_read() {
    if !root_or_skip("as_nobody_every_tab_works_or_says_what_it_cannot_read") {
        return;
    }
    if !tools_or_skip(
        "as_nobody_every_tab_works_or_says_what_it_cannot_read",
        &[["setpriv", "--version"]],
        "util-linux",
    ) {
        return;
    }
    let ns = Netns::new("nobody");
    ns.exec_ok(&[
        "ip", "link", "add", "nm-a", "type", "veth", "peer", "name", "nm-b",
    ]);
    ns.exec_ok(&["ip", "link", "set", "nm-a", "up"]);
    ns.exec_ok(&["ip", "link", "set", "nm-b", "up"]);
    ns.exec_ok(&["ip", "addr", "add", "10.78.0.1/24", "dev", "nm-a"]);
    ns.exec_ok(&[
        "ip",
        "neigh",
        "add",
        "10.78.0.9",
        "lladdr",
        "02:00:00:00:00:09",
        "dev",
        "nm-a",
        "nud",
        "permanent",
    ]);
    ns.exec_ok(&["sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"]);
    let target = ns.spawn_python(TARGET);
    let pid = target.pid().to_string();
    let no_fd = format!(
        "scope own, fallback: cannot read /proc/{pid}/fd (permission denied): showing every socket in its network namespace"
    );
    let no_netns = format!(
        "net:[unknown]: cannot read /proc/{pid}/ns/net (permission denied); the tables are still those of the process's namespace"
    );
    for tab in Tab::ALL {
        let out = as_nobody(&["--once", "--tab", tab.name(), &pid]);
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}: {err}", tab.name());
        assert!(err.is_empty(), "{}: {err}", tab.name());
        let rows = table_rows(&text);
        let has = |needle: &str| {
            assert!(
                text.contains(needle),
                "{}: no {needle:?} in\n{text}",
                tab.name()
            );
        };
        // The namespace's files are world-readable: none is reported unread.
        assert!(
            !text.contains(&format!("cannot read /proc/{pid}/net")),
            "{}: {text}",
            tab.name()
        );
        match tab {
            Tab::Tcp | Tab::Udp | Tab::Raw | Tab::Icmp => {
                has(&no_fd);
                has(&no_netns);
                // Every socket of the namespace: the target's are all there.
                let sockets = match tab {
                    Tab::Tcp => rows.len(),
                    _ => rows.iter().filter(|r| r[1] == tab.name()).count(),
                };
                let expected = if tab == Tab::Tcp { 3 } else { 1 };
                assert_eq!(sockets, expected, "{}: {text}", tab.name());
                assert!(!text.contains("(none)"), "{}: {text}", tab.name());
            }
            Tab::Flows => has(&format!(
                "no connection counters: cannot read /proc/{pid}/ns/net (permission denied), and the process is not in netmonitor's network namespace"
            )),
            Tab::Arp => {
                has(&no_netns);
                assert!(
                    rows.iter().any(|r| r[0] == "10.78.0.9" && r[5] == "nm-a"),
                    "{text}"
                );
                has("ARP cache statistics are only available in the host namespace");
            }
            Tab::Traffic => {
                has(&no_netns);
                let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
                for name in ["lo", "nm-a", "nm-b", "total"] {
                    assert!(names.contains(&name), "{text}");
                }
            }
            Tab::Routing => {
                has(&no_netns);
                assert!(
                    rows.iter()
                        .any(|r| r[0] == "10.78.0.0/24" && r[7] == "nm-a"),
                    "{text}"
                );
            }
            Tab::Stats => {
                has(&no_netns);
                has("TcpExt (net/netstat)");
            }
            Tab::Analysis => {
                has(&no_netns);
                has("Ip (net/snmp)");
            }
        }
    }

    // Scope all: every socket, owners unknown and why.
    let out = as_nobody(&["--once", "--all", "--tab", "tcp", &pid]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    let rows = table_rows(&text);
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows.iter().all(|r| r[10] == "?"), "{text}");
    assert!(
        text.contains("owners may be missing (shown as ?): cannot read fd/ of"),
        "{text}"
    );
}

/// Root without CAP_SYS_PTRACE (the usual state inside a container)
/// watching a root process, which has every capability: `fd/` can be
/// listed but none of its links read. The socket tabs and the flows tab
/// then show the namespace with owners unknown and say why — not an empty
/// "0 of N" table.
#[test]
fn unreadable_fd_links_fall_back_to_the_namespace_and_say_why() {
    let test = "unreadable_fd_links_fall_back_to_the_namespace_and_say_why";
    if !root_or_skip(test) || !tools_or_skip(test, &[["setpriv", "--version"]], "util-linux") {
        return;
    }
    let ns = Netns::new("noptrace");
    let target = ns.spawn_python(
        r#"
import socket as S, time
l = S.socket(); l.bind(("127.0.0.1", 7500)); l.listen(8)
c = S.create_connection(("127.0.0.1", 7500)); a, _ = l.accept()
u = S.socket(S.AF_INET, S.SOCK_DGRAM); u.bind(("127.0.0.1", 7501))
print("ready", flush=True)
time.sleep(600)
"#,
    );
    let pid = target.pid().to_string();
    let without_ptrace = |tab: &str| {
        let output = Command::new("setpriv")
            .args(["--bounding-set=-sys_ptrace", "--inh-caps=-sys_ptrace"])
            .arg(env!("CARGO_BIN_EXE_netmonitor"))
            .args(["--json", "--once", "--tab", tab, pid.as_str()])
            .output()
            .expect("setpriv runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("a JSON document")
    };
    for tab in ["tcp", "udp"] {
        let doc = without_ptrace(tab);
        let status = &doc["status"];
        assert_eq!(status["ownership"], "namespace_fallback", "{tab}: {status}");
        let reason = status["fallback_reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains(&format!("cannot read /proc/{pid}/fd/"))
                && reason.contains("permission denied"),
            "{tab}: {reason}"
        );
        let text = doc.to_string();
        let port = if tab == "udp" { "7501" } else { "7500" };
        assert!(
            text.contains(port),
            "{tab}: the namespace's sockets are shown: {text}"
        );
    }
    // The flows dump follows the same rule: a process in netmonitor's own
    // namespace (entering another one would need CAP_SYS_PTRACE too).
    let mut here = Command::new("python3")
        .args([
            "-c",
            "import socket as S, time\nl = S.socket(); l.bind(('127.0.0.1', 0)); l.listen(8)\nc = S.create_connection(l.getsockname()); a, _ = l.accept()\nprint('ready', flush=True)\ntime.sleep(600)\n",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(here.stdout.as_mut().expect("stdout")),
        &mut line,
    )
    .expect("ready line");
    let output = Command::new("setpriv")
        .args(["--bounding-set=-sys_ptrace", "--inh-caps=-sys_ptrace"])
        .arg(env!("CARGO_BIN_EXE_netmonitor"))
        .args(["--json", "--once", "--tab", "flows", &here.id().to_string()])
        .output()
        .expect("setpriv runs");
    let _ = here.kill();
    let _ = here.wait();
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON document");
    let lines = doc["status_lines"].to_string();
    assert!(
        lines.contains(&format!("cannot read /proc/{}/fd/", here.id()))
            && lines.contains("permission denied"),
        "flows: {lines}"
    );
}
