//! Process faults not covered elsewhere: sockets that vanish between the
//! read of `fd/` and the read of the tables (a captured tree where `fd/`
//! lists sockets no table has, a tree changed between ticks, and a live
//! process that opens and closes connections in a tight loop), and a
//! thread that moved to another network namespace with `setns()`.
//!
//! The live ones need root and skip otherwise.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::support::{
    LiveSession, Netns, copy_tree, replace_file, root_or_skip, run, screens, stderr_of, stdout_of,
    table_rows,
};

const PID: &str = "15837";
const QUICK: Duration = Duration::from_secs(20);

/// Adds `fd/<n>` links to sockets that no table of the tree lists, as if
/// the process had closed them after `fd/` was read.
fn add_vanished_sockets(tree: &std::path::Path) {
    for (fd, inode) in [(90, 990_001), (91, 990_002)] {
        std::os::unix::fs::symlink(
            format!("socket:[{inode}]"),
            tree.join(PID).join("fd").join(fd.to_string()),
        )
        .expect("symlink");
    }
}

#[test]
fn sockets_in_fd_but_in_no_table_are_counted_not_invented() {
    let tree = copy_tree("proc/tcp-live");
    add_vanished_sockets(tree.path());
    let root = tree.path().to_str().expect("utf-8 path");
    for tab in ["tcp", "udp", "raw", "icmp"] {
        let out = run(
            &["--proc-root", root, "--once", "--tab", tab, PID],
            b"",
            QUICK,
        );
        assert_eq!(out.status.code(), Some(0), "{tab}: {}", stderr_of(&out));
        assert!(stderr_of(&out).is_empty(), "{tab}");
        let text = stdout_of(&out);
        let rows = table_rows(&text);
        if tab == "tcp" {
            // The 14 sockets the tables list; the two vanished ones are no
            // rows, but they are not dropped silently either.
            assert_eq!(rows.len(), 14, "{text}");
            assert!(!text.contains("99000"), "{text}");
            assert!(
                text.contains("2 other sockets not in these tables: 2 in no table"),
                "{text}"
            );
        } else {
            // This tree has no datagram tables: no row is made up, and the
            // replay says the tab is not in it (and what is).
            assert!(rows.is_empty(), "{tab}: {text}");
            assert!(
                text.contains(&format!("{tab} is not in this capture"))
                    && text.contains("captured: tcp"),
                "{tab}: {text}"
            );
        }
    }
}

#[test]
fn sockets_closing_between_ticks_become_closed_lines() {
    let tree = copy_tree("proc/tcp-live");
    let root = tree.path().to_str().expect("utf-8 path").to_string();
    let mut session = LiveSession::start(&["--proc-root", &root, "-i", "0.5", PID]);
    session.send("tcp\n");
    session.wait_for("the first screen", QUICK, |out| {
        out.contains("14 TCP sockets")
    });
    // Two of the process's sockets leave the table while `fd/` still lists
    // them (they are closing), and `fd/` lists two the tables never had.
    let tcp = tree.path().join(PID).join("net/tcp");
    let text = std::fs::read_to_string(&tcp).expect("tcp table");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains(" 22851 ") && !l.contains(" 22852 "))
        .collect();
    assert_eq!(kept.len() + 2, text.lines().count(), "both rows are in tcp");
    // Links first, then the table in one step: a tick in between sees the
    // old table with the new links (14 sockets), never 12 without them.
    add_vanished_sockets(tree.path());
    replace_file(&tcp, kept.join("\n") + "\n");
    session.wait_for("a screen after the change", QUICK, |out| {
        out.contains("12 TCP sockets")
    });
    let (code, out, err) = session.finish(QUICK);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    let screens = screens(&out);
    let changed = screens
        .iter()
        .position(|s| s.contains("12 TCP sockets"))
        .expect("a screen after the change");
    // The tick that saw them go says so once; every later one counts the
    // four sockets that `fd/` holds and no table lists.
    assert!(
        screens[changed].contains("closed: 127.0.0.1:"),
        "{}",
        screens[changed]
    );
    for screen in &screens[changed..] {
        assert_eq!(table_rows(screen).len(), 12, "{screen}");
        assert!(
            screen.contains("4 other sockets not in these tables: 4 in no table"),
            "{screen}"
        );
    }
}

/// Opens and closes loopback connections as fast as it can, forever; also
/// holds one listener so the tab always has a row.
const CHURN: &str = r#"
import socket as S, time
l = S.socket(); l.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 7600)); l.listen(1024)
print("ready", flush=True)
while True:
    pairs = []
    for _ in range(50):
        c = S.create_connection(("127.0.0.1", 7600)); a, _ = l.accept()
        pairs += [c, a]
    for s in pairs:
        s.close()
    time.sleep(0.005)
"#;

/// The rows of one screen are distinct sockets: by inode, or for
/// inode-less rows (TIME-WAIT) by state and addresses.
fn assert_unique_rows(screen: &str, inode_column_from_end: usize) {
    let rows = table_rows(screen);
    let mut seen = HashSet::new();
    for row in &rows {
        let inode = &row[row.len() - inode_column_from_end];
        assert!(inode.parse::<u64>().is_ok(), "malformed row {row:?}");
        let key = if inode == "0" {
            row.iter()
                .filter(|c| c.contains(':') || c.contains("-WAIT"))
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            inode.clone()
        };
        assert!(seen.insert(key), "duplicate row {row:?}:\n{screen}");
    }
}

#[test]
fn a_process_closing_sockets_in_a_loop_gives_sane_screens() {
    if !root_or_skip("a_process_closing_sockets_in_a_loop_gives_sane_screens") {
        return;
    }
    let ns = Netns::new("churn");
    ns.exec_ok(&["sysctl", "-qw", "net.ipv4.ip_local_port_range=20000 65000"]);
    let churn = ns.spawn_python(CHURN);
    let pid = churn.pid().to_string();
    // One-shot prints, each racing the loop.
    for n in 0..20 {
        let tab = ["tcp", "flows"][n % 2];
        let out = run(&["--once", "--tab", tab, &pid], b"", QUICK);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        assert!(stderr_of(&out).is_empty(), "{}", stderr_of(&out));
        let text = stdout_of(&out);
        if tab == "tcp" {
            assert!(text.contains("127.0.0.1:7600"), "{text}");
            assert_unique_rows(&text, 1);
        } else {
            // Connections only (no listener): as many rows as it counts,
            // plus the total row when there are any.
            let rows = table_rows(&text);
            let counted = rows
                .iter()
                .filter(|r| r[2] == "ESTAB" || r[2].contains('-'))
                .count();
            let said = format!("{counted} TCP connection");
            assert!(text.contains(&said), "{said}: {text}");
        }
    }
    // A session: ticks every 0.5 s in scope own, then all.
    let mut session = LiveSession::start(&["-i", "0.5", &pid]);
    session.send("tcp\n");
    let deadline = Instant::now() + Duration::from_secs(3);
    session.wait_for("ticks", QUICK, |out| {
        Instant::now() > deadline && out.matches("tcp · pid").count() >= 4
    });
    session.send("scope all\n");
    let seen = session.output().matches("tcp · pid").count();
    session.wait_for("ticks in scope all", QUICK, |out| {
        out.matches("tcp · pid").count() >= seen + 4
    });
    let (code, out, err) = session.finish(QUICK);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    let screens = screens(&out);
    assert!(screens.len() >= 8, "{out}");
    for screen in screens {
        // Owner is the last column in scope all, Inode the last before it.
        let from_end = if screen.contains("│ scope all ·") {
            2
        } else {
            1
        };
        assert_unique_rows(screen, from_end);
        assert!(screen.contains("127.0.0.1:7600"), "{screen}");
    }
}

/// The main thread holds a listener in the namespace it started in; a
/// second thread enters another namespace (`setns`) and opens a listener
/// there. Prints that thread's id.
const SPLIT: &str = r#"
import ctypes, os, socket as S, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
l = S.socket(); l.bind(("127.0.0.1", 7700)); l.listen(8)
def elsewhere():
    fd = os.open(sys.argv[1], os.O_RDONLY)
    assert libc.setns(fd, 0x40000000) == 0, ctypes.get_errno()
    s = S.socket(); s.bind(("127.0.0.1", 7701)); s.listen(8)
    print(threading.get_native_id(), flush=True)
    time.sleep(600)
threading.Thread(target=elsewhere, daemon=True).start()
time.sleep(600)
"#;

#[test]
fn a_thread_in_another_namespace_is_named_and_its_socket_not_misplaced() {
    if !root_or_skip("a_thread_in_another_namespace_is_named_and_its_socket_not_misplaced") {
        return;
    }
    let home = Netns::new("home");
    let away = Netns::new("away");
    let script = format!(
        "import sys; sys.argv = ['', '/run/netns/{}']\n{SPLIT}",
        away.name
    );
    let process = home.spawn_python(&script);
    let pid = process.pid().to_string();
    let tid = process.ready.clone();
    let away_id = std::fs::read_link(format!("/proc/{pid}/task/{tid}/ns/net"))
        .expect("the thread's namespace")
        .to_string_lossy()
        .into_owned();
    let home_id = std::fs::read_link(format!("/proc/{pid}/ns/net"))
        .expect("the process's namespace")
        .to_string_lossy()
        .into_owned();
    assert_ne!(away_id, home_id);
    let note = format!("1 thread in another network namespace: {tid} in {away_id}");
    for tab in ["tcp", "flows", "udp"] {
        let out = run(&["--once", "--tab", tab, &pid], b"", QUICK);
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        let text = stdout_of(&out);
        assert!(text.contains(&note), "{tab}: {text}");
        assert!(text.contains(&home_id), "{tab}: {text}");
        // The other namespace's listener is no row: the tables shown are
        // the home namespace's.
        assert!(!text.contains("7701"), "{tab}: {text}");
    }
    let out = run(&["--once", "--tab", "tcp", &pid], b"", QUICK);
    let text = stdout_of(&out);
    let rows = table_rows(&text);
    assert_eq!(rows.len(), 1, "{text}");
    assert_eq!(rows[0][4], "127.0.0.1:7700", "{text}");
    assert!(
        text.contains("1 other socket not in these tables: 1 in no table"),
        "{text}"
    );
}
