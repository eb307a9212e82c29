//! Terminal safety end to end, on a live namespace whose names were chosen
//! by an attacker: interfaces named with ESC, BEL, DEL, a lone 0x9b byte,
//! invalid UTF-8 and a UTF-8-encoded C1 control; a process that renamed
//! itself (`prctl(PR_SET_NAME)`) to an OSC title sequence with a newline,
//! a `)` that imitates the end of the name in `stat`, and a bidi override;
//! and an abstract unix socket whose name holds newlines, escapes and text
//! imitating the start of a `net/unix` record.
//!
//! Every tab is run (`--once`, in scope own and all, and in a piped session
//! with `scope all`, a filter and real ticks) and the raw bytes of stdout
//! and stderr are checked: no control character other than newline and
//! tab, no C1 control, no invalid UTF-8 — so nothing of the data can drive
//! the terminal — and each table has exactly the rows the namespace holds,
//! so no embedded newline forged a row.
//!
//! They need root (network namespaces) and skip with a message otherwise.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;
use std::time::Duration;

use netmonitor::tabs::Tab;

use crate::support::{
    Holder, LiveSession, Netns, root_or_skip, screens, table_rows, terminal_hazard,
};

const QUICK: Duration = Duration::from_secs(20);

/// Interface names (at most 15 bytes; the kernel refuses only `/`, `:` and
/// blanks) as raw bytes, each with the text netmonitor must print for it.
/// Pairs 0–1 and 2–3 are the two ends of a veth.
const INTERFACES: [(&[u8], &str); 4] = [
    (b"e\x1b[31mx", "e\\x1b[31mx"),
    (b"b\x07d\x7f\x9b", "b\\x07d\\x7f\\x9b"),
    (b"\xff\xfei", "\\xff\\xfei"),
    (b"c\xc2\x9bm", "c\\x9bm"),
];

/// The process name: an OSC "set title" sequence, a newline, a `)` and a
/// state-like letter after it, a lone 0x9b and a right-to-left override
/// (14 bytes; `comm` holds 15).
const NAME_ESCAPED: &str = "\\x1b]0;x\\x07\\x0a)\\x9b Z\\u{202e}";

/// The target: renames itself, then holds a TCP listener with one
/// connection to itself (3 sockets), a bound UDP socket, a raw ICMP socket,
/// a ping socket and an abstract unix socket with a hostile name.
const TARGET: &str = r#"
import ctypes, socket as S, time
name = b"\x1b]0;x\x07\n)\x9b Z\xe2\x80\xae"
assert ctypes.CDLL(None).prctl(15, ctypes.c_char_p(name), 0, 0, 0) == 0
l = S.socket(); l.bind(("127.0.0.1", 7300)); l.listen(8)
c = S.create_connection(("127.0.0.1", 7300)); a, _ = l.accept()
u = S.socket(S.AF_INET, S.SOCK_DGRAM); u.bind(("127.0.0.1", 7301))
r = S.socket(S.AF_INET, S.SOCK_RAW, S.IPPROTO_ICMP)
p = S.socket(S.AF_INET, S.SOCK_DGRAM, S.IPPROTO_ICMP); p.bind(("127.0.0.1", 0))
x = S.socket(S.AF_UNIX, S.SOCK_STREAM)
x.bind(b"\0nm\n0000000000000000: 00000002 \x1b]0;evil\x07\n\x1b[2J\x9b\r"); x.listen(1)
print("ready", flush=True)
time.sleep(600)
"#;

/// A namespace with the hostile interfaces, a neighbour and routes on
/// them, and the target process.
struct Hostile {
    target: Holder,
    // Dropped last: removing the namespace removes the interfaces.
    _ns: Netns,
}

impl Hostile {
    fn new(tag: &str) -> Hostile {
        let ns = Netns::new(tag);
        let ip = |args: &[&[u8]]| {
            let output = Command::new("ip")
                .args(["netns", "exec", &ns.name, "ip"])
                .args(args.iter().map(|a| OsStr::from_bytes(a)))
                .output()
                .expect("ip runs");
            assert!(
                output.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        for pair in INTERFACES.chunks(2) {
            ip(&[
                b"link", b"add", pair[0].0, b"type", b"veth", b"peer", b"name", pair[1].0,
            ]);
        }
        for (name, _) in INTERFACES {
            ip(&[b"link", b"set", name, b"up"]);
        }
        ip(&[b"addr", b"add", b"10.77.0.1/24", b"dev", INTERFACES[0].0]);
        ip(&[b"addr", b"add", b"10.77.1.1/24", b"dev", INTERFACES[3].0]);
        ip(&[
            b"neigh",
            b"add",
            b"10.77.0.9",
            b"lladdr",
            b"02:00:00:00:00:09",
            b"dev",
            INTERFACES[0].0,
            b"nud",
            b"permanent",
        ]);
        ns.exec_ok(&["sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"]);
        let target = ns.spawn_python(TARGET);
        Hostile { target, _ns: ns }
    }

    fn pid(&self) -> String {
        self.target.pid().to_string()
    }
}

fn assert_safe(what: &str, bytes: &[u8]) {
    if let Some(hazard) = terminal_hazard(bytes) {
        panic!("{what}: {hazard}");
    }
}

/// The data rows of the `n`-th table of a rendered screen.
fn nth_table(text: &str, n: usize) -> Vec<Vec<String>> {
    let tables: Vec<String> = text
        .split('└')
        .filter(|t| t.contains('╞'))
        .map(str::to_string)
        .collect();
    tables.get(n).map(|t| table_rows(t)).unwrap_or_default()
}

/// The rows every tab must show for the hostile namespace: no more (a
/// forged row) and no fewer.
fn check_rows(tab: Tab, all: bool, text: &str, pid: &str) {
    let owner = format!("{pid}/{NAME_ESCAPED}");
    let first = nth_table(text, 0);
    let column = |rows: &[Vec<String>], index: usize| -> Vec<String> {
        let mut cells: Vec<String> = rows.iter().map(|r| r[index].clone()).collect();
        cells.sort();
        cells
    };
    let sorted = |names: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    match tab {
        Tab::Tcp | Tab::Udp | Tab::Raw | Tab::Icmp => {
            let expected = if tab == Tab::Tcp { 3 } else { 1 };
            assert_eq!(first.len(), expected, "{tab:?}: {text}");
            if all {
                assert!(
                    first.iter().all(|r| r.last() == Some(&owner)),
                    "{tab:?} owners: {text}"
                );
            }
            if tab == Tab::Tcp {
                // The unix socket is counted once, whatever its name holds.
                assert!(
                    text.contains(
                        "4 other sockets not in these tables: 1 udp, 1 raw, 1 icmp, 1 unix"
                    ),
                    "{text}"
                );
            }
        }
        Tab::Flows => {
            // The connection's two ends and the total.
            assert_eq!(column(&first, 0).len(), 3, "{text}");
            assert_eq!(first[2][0], "total", "{text}");
        }
        Tab::Traffic => {
            let mut names: Vec<&str> = INTERFACES.iter().map(|(_, e)| *e).collect();
            names.extend(["lo", "total"]);
            assert_eq!(column(&first, 0), sorted(&names), "{text}");
            assert_eq!(column(&nth_table(text, 1), 0), sorted(&names), "{text}");
        }
        Tab::Routing => {
            assert_eq!(
                column(&first, 7),
                sorted(&[INTERFACES[0].1, INTERFACES[3].1]),
                "IPv4 routes: {text}"
            );
            let v6 = nth_table(text, 1);
            for (_, escaped) in INTERFACES {
                let link_local = v6
                    .iter()
                    .filter(|r| r[0] == "fe80::/64" && r[7] == escaped)
                    .count();
                assert_eq!(link_local, 1, "{escaped}: {text}");
            }
        }
        Tab::Arp => {
            assert_eq!(first.len(), 1, "{text}");
            assert_eq!(first[0][5], INTERFACES[0].1, "{text}");
        }
        Tab::Stats | Tab::Analysis => {
            assert!(!first.is_empty(), "{text}");
        }
    }
}

#[test]
fn every_tab_once_escapes_hostile_names_and_forges_no_rows() {
    if !root_or_skip("every_tab_once_escapes_hostile_names_and_forges_no_rows") {
        return;
    }
    let hostile = Hostile::new("esc");
    let pid = hostile.pid();
    for tab in Tab::ALL {
        for all in [false, true] {
            let mut args = vec!["--once", "--tab", tab.name()];
            if all {
                args.push("--all");
            }
            args.push(&pid);
            let out = Command::new(env!("CARGO_BIN_EXE_netmonitor"))
                .args(&args)
                .output()
                .expect("netmonitor runs");
            let what = format!("{} --all={all}", tab.name());
            assert_safe(&format!("stdout of {what}"), &out.stdout);
            assert_safe(&format!("stderr of {what}"), &out.stderr);
            assert_eq!(out.status.code(), Some(0), "{what}");
            assert!(out.stderr.is_empty(), "{what}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains(&format!("pid {pid} ({NAME_ESCAPED})")),
                "{what}: {text}"
            );
            check_rows(tab, all, &text, &pid);
        }
    }
}

#[test]
fn a_piped_session_in_scope_all_with_a_filter_stays_escaped_to_the_end() {
    if !root_or_skip("a_piped_session_in_scope_all_with_a_filter_stays_escaped_to_the_end") {
        return;
    }
    let mut hostile = Hostile::new("escs");
    let pid = hostile.pid();
    let mut session = LiveSession::start(&["-i", "0.5", &pid]);
    session.send("scope all\n");
    // A filter typed with a raw ESC: it matches the raw name, and its echo
    // is escaped.
    session.send_bytes(b"filter \x1b]0;x\n");
    for tab in Tab::ALL {
        let headline = format!("{} · pid {pid}", tab.name());
        session.send(&format!("{}\n", tab.name()));
        // The answer to the line and at least one tick after it.
        session.wait_for(&format!("two screens of {}", tab.name()), QUICK, |out| {
            out.matches(&headline).count() >= 2
        });
    }
    session.send("filter listen\ntcp\n");
    session.wait_for("the tcp tab filtered by state", QUICK, |out| {
        out.contains("filter 'listen': 1 of 3 rows")
    });
    let text = session.output();
    assert!(
        text.contains("filter: rows containing '\\x1b]0;x'"),
        "{text}"
    );
    assert!(text.contains("filter '\\x1b]0;x': 3 of 3 rows"), "{text}");
    hostile.target.child.kill().expect("kill the target");
    hostile.target.child.wait().expect("reap the target");
    let (code, text, _) = session.wait_exit(QUICK);
    assert_safe("stdout of the session", &session.output_bytes());
    assert_safe("stderr of the session", &session.error_bytes());
    assert_eq!(code, Some(0));
    assert!(session.errors().is_empty(), "{}", session.errors());
    assert!(
        text.trim_end()
            .ends_with(&format!("process {pid} ({NAME_ESCAPED}) exited")),
        "{text}"
    );
    // Every tcp screen, filtered or not, has whole rows.
    let tcp_screens: Vec<&str> = screens(&text)
        .into_iter()
        .filter(|s| s.contains("│ tcp · pid"))
        .collect();
    assert!(tcp_screens.len() >= 3, "{text}");
    for screen in tcp_screens {
        let rows = nth_table(screen, 0);
        assert!(rows.len() == 3 || rows.len() == 1, "{screen}");
        for row in rows {
            // From the second screen on, a `+` column comes first.
            let inode = &row[row.len() - 2];
            assert!(inode.parse::<u64>().is_ok(), "forged row {row:?}");
            assert_eq!(
                row[row.len() - 1],
                format!("{pid}/{NAME_ESCAPED}"),
                "{screen}"
            );
        }
    }
}
