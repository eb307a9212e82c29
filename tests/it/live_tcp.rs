//! Live tests in private network namespaces: sockets opened by a child
//! process, checked against what netmonitor and `ss` report, and the
//! process lifecycle (exit mid-session, zombie, exited main thread,
//! another user's process). They need root and skip without it.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use crate::support::{
    LiveSession, Netns, root_or_skip, run, screens, stderr_of, stdout_of, table_rows, tools_or_skip,
};

const QUICK: Duration = Duration::from_secs(15);

/// Opens an IPv4 listener with one accepted connection, a connection from
/// itself to that listener, and an IPv6 listener; prints "ready".
const CHILD: &str = r#"
import socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 7001)); l.listen(8)
c = socket.create_connection(("127.0.0.1", 7001)); a, _ = l.accept()
l6 = socket.socket(socket.AF_INET6); l6.bind(("::1", 7002)); l6.listen(8)
print("ready", flush=True)
time.sleep(120)
"#;

/// A neighbour in the same namespace with its own listener and a
/// connection to the child's listener.
const NEIGHBOUR: &str = r#"
import socket, time
l = socket.socket(); l.bind(("127.0.0.1", 7003)); l.listen(8)
c = socket.create_connection(("127.0.0.1", 7001))
print("ready", flush=True)
time.sleep(120)
"#;

/// (state, local, peer) of each row netmonitor prints.
fn netmonitor_rows(text: &str) -> BTreeSet<(String, String, String)> {
    table_rows(text)
        .into_iter()
        .map(|r| (r[1].clone(), r[4].clone(), r[5].clone()))
        .collect()
}

/// (state, local, peer) of the sockets `ss -tanp` attributes to `pid`,
/// with ss's unconnected peers (`0.0.0.0:*`, `[::]:*`) written as `*`.
fn ss_rows(ns: &Netns, pid: u32) -> BTreeSet<(String, String, String)> {
    let text = ns.exec_ok(&["ss", "-tanpH"]);
    let owner = format!("pid={pid},");
    text.lines()
        .filter(|line| line.contains(&owner))
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let peer = if f[4].ends_with(":*") {
                "*".to_string()
            } else {
                f[4].to_string()
            };
            (f[0].to_string(), f[3].to_string(), peer)
        })
        .collect()
}

#[test]
fn tcp_tab_lists_exactly_the_childs_sockets_like_ss() {
    if !root_or_skip("tcp_tab_lists_exactly_the_childs_sockets_like_ss") {
        return;
    }
    let ns = Netns::new("tcp");
    let child = ns.spawn_python(CHILD);
    let _neighbour = ns.spawn_python(NEIGHBOUR);
    let pid = child.pid().to_string();
    let out = run(&["--once", "--tab", "tcp", &pid], b"", QUICK);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let ours = netmonitor_rows(&text);
    let expected_locals: BTreeSet<&str> = ["127.0.0.1:7001", "[::1]:7002"].into();
    assert!(
        ours.iter().all(|(_, local, peer)| {
            expected_locals.contains(local.as_str()) || peer == "127.0.0.1:7001"
        }),
        "{text}"
    );
    assert_eq!(ours.len(), 4, "{text}");
    assert!(
        !text.contains("7003"),
        "the neighbour's listener leaked in: {text}"
    );
    assert_eq!(
        ours,
        ss_rows(&ns, child.pid()),
        "netmonitor and ss disagree:\n{text}"
    );
    assert!(text.contains("own sockets: 4 of 7 TCP sockets"), "{text}");
}

#[test]
fn the_session_ends_on_its_own_when_the_process_exits() {
    if !root_or_skip("the_session_ends_on_its_own_when_the_process_exits") {
        return;
    }
    let ns = Netns::new("exit");
    let mut child = ns.spawn_python(CHILD);
    let pid = child.pid().to_string();
    let mut session = LiveSession::start(&["-i", "0.5", &pid]);
    session.send("tcp\n");
    session.wait_for("the tab", QUICK, |out| out.contains("127.0.0.1:7001"));
    child.child.kill().unwrap();
    child.child.wait().unwrap();
    let (code, out, _) = session.wait_exit(QUICK);
    assert_eq!(code, Some(0));
    assert!(
        out.trim_end()
            .ends_with(&format!("process {pid} (python3) exited")),
        "{out}"
    );
}

#[test]
fn a_zombie_gets_its_own_message() {
    if !root_or_skip("a_zombie_gets_its_own_message") {
        return;
    }
    let ns = Netns::new("zombie");
    let parent = ns.spawn_python(
        "import os, time\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nprint(pid, flush=True)\ntime.sleep(120)\n",
    );
    let zombie = parent.ready.clone();
    // Wait until the child has exited (state Z).
    for _ in 0..100 {
        let stat = std::fs::read_to_string(format!("/proc/{zombie}/stat")).unwrap_or_default();
        if stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = run(&[&zombie], b"", QUICK);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("process {zombie} (python3) is a zombie")),
        "{err}"
    );
    assert!(err.contains(&format!("pid {}", parent.pid())), "{err}");
}

#[test]
fn a_process_whose_main_thread_exited_still_shows_its_sockets() {
    if !root_or_skip("a_process_whose_main_thread_exited_still_shows_its_sockets") {
        return;
    }
    let ns = Netns::new("leader");
    let holder = ns.spawn_python(
        r#"
import ctypes, socket, threading, time
def serve():
    l = socket.socket(); l.bind(("127.0.0.1", 7010)); l.listen(1)
    print("ready", flush=True)
    time.sleep(120)
threading.Thread(target=serve).start()
time.sleep(0.5)
ctypes.CDLL(None).pthread_exit(None)
"#,
    );
    let pid = holder.pid();
    // Wait for the leader to become a zombie while the thread lives.
    for _ in 0..100 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = run(&["--once", &pid.to_string()], b"", QUICK);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains("the main thread has exited: reading through thread"),
        "{text}"
    );
    assert!(text.contains("127.0.0.1:7010"), "{text}");
}

#[test]
fn another_users_process_shows_the_namespace_and_says_why() {
    if !root_or_skip("another_users_process_shows_the_namespace_and_says_why") {
        return;
    }
    if !tools_or_skip(
        "another_users_process_shows_the_namespace_and_says_why",
        &[["setpriv", "--version"]],
        "util-linux",
    ) {
        return;
    }
    let ns = Netns::new("perm");
    let child = ns.spawn_python(CHILD);
    let pid = child.pid().to_string();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_netmonitor"))
        .args(["--once", &pid])
        .output()
        .expect("setpriv runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("cannot read /proc/{pid}/fd (permission denied): showing every socket in its network namespace")),
        "{text}"
    );
    assert!(
        text.contains("127.0.0.1:7001") && text.contains("[::1]:7002"),
        "{text}"
    );
}

#[test]
fn hidepid_says_not_found_or_hidden() {
    if !root_or_skip("hidepid_says_not_found_or_hidden") {
        return;
    }
    if !tools_or_skip(
        "hidepid_says_not_found_or_hidden",
        &[["setpriv", "--version"], ["unshare", "--version"]],
        "util-linux",
    ) {
        return;
    }
    let mut target = Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("sleep starts");
    let script = format!(
        "mount -t proc -o hidepid=2 proc /proc && exec setpriv --reuid=65534 --regid=65534 --clear-groups {} --once {}",
        env!("CARGO_BIN_EXE_netmonitor"),
        target.id()
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare runs");
    let _ = target.kill();
    let _ = target.wait();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "no such process, or hidden from you: {}",
            target.id()
        )),
        "{err}"
    );
    assert!(
        err.contains("hidepid=invisible") || err.contains("hidepid=2"),
        "{err}"
    );
}

/// Holds a listener and one connection to it (three sockets); opens a
/// second connection once the file TRIGGER exists.
const GROWING: &str = r#"
import os, socket, time
l = socket.socket(); l.bind(("127.0.0.1", 7011)); l.listen(8)
c = socket.create_connection(("127.0.0.1", 7011)); a, _ = l.accept()
print("ready", flush=True)
while not os.path.exists("TRIGGER"):
    time.sleep(0.05)
c2 = socket.create_connection(("127.0.0.1", 7011)); a2, _ = l.accept()
time.sleep(120)
"#;

/// A neighbour holding 1 200 sockets (600 loopback connections), so that
/// the namespace is big enough for lookups (a small one is dumped at
/// every refresh).
const CROWD: &str = r#"
import resource, socket, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
l = socket.socket(); l.bind(("127.0.0.1", 7012)); l.listen(1024)
held = []
for _ in range(600):
    held.append(socket.create_connection(("127.0.0.1", 7012)))
    held.append(l.accept()[0])
print("ready", flush=True)
time.sleep(120)
"#;

/// While the process holds the same sockets, a refresh looks each one up
/// and says the namespace's other sockets were counted earlier; a new
/// connection makes the next refresh dump the namespace (its rows marked
/// new), and the one after looks them up again.
#[test]
fn a_refresh_looks_up_the_same_sockets_and_dumps_when_one_is_new() {
    if !root_or_skip("a_refresh_looks_up_the_same_sockets_and_dumps_when_one_is_new") {
        return;
    }
    let ns = Netns::new("lookup");
    let dir = tempfile::tempdir().unwrap();
    let trigger = dir.path().join("connect");
    let _crowd = ns.spawn_python(CROWD);
    let child = ns.spawn_python(&GROWING.replace("TRIGGER", trigger.to_str().unwrap()));
    let pid = child.pid().to_string();
    let session = LiveSession::start(&["--interval", "1", "--tab", "tcp", &pid]);
    let looked_up = "(the others as counted";
    session.wait_for("a refresh that looked the sockets up", QUICK, |out| {
        screens(out).iter().any(|s| s.contains(looked_up))
    });
    let shown_before = screens(&session.output()).len();
    std::fs::write(&trigger, b"").unwrap();
    session.wait_for(
        "a refresh after the new connection, looked up",
        QUICK,
        |out| {
            screens(out)
                .iter()
                .any(|s| s.contains("own sockets: 5 of 1206") && s.contains(looked_up))
        },
    );
    let (code, out, err) = session.finish(QUICK);
    assert_eq!(code, Some(0), "{err}");
    let screens = screens(&out);
    let first = screens
        .iter()
        .position(|s| s.contains("own sockets: 5 of 1206"))
        .expect("the new connection's screen");
    // It is the first or second refresh after the connection was made
    // (one may have been on its way), not the next periodic dump.
    assert!(first <= shown_before + 1, "{first} {shown_before}:\n{out}");
    // Before it, three sockets throughout; the first screen dumped.
    assert!(
        screens[..first]
            .iter()
            .all(|s| s.contains("own sockets: 3 of 1204"))
    );
    assert!(!screens[0].contains(looked_up), "{}", screens[0]);
    // The screen that saw the new sockets dumped the namespace, and marks
    // exactly the two new ends as new.
    let grown = screens[first];
    assert!(!grown.contains(looked_up), "{grown}");
    let new_rows: Vec<Vec<String>> = table_rows(grown)
        .into_iter()
        .filter(|row| row[0] == "+")
        .collect();
    assert_eq!(new_rows.len(), 2, "{grown}");
    // Looked-up screens show the same rows a dump shows, none new.
    let later = screens[first + 1..]
        .iter()
        .find(|s| s.contains(looked_up))
        .expect("a looked-up screen after the new connection");
    let rows = |screen: &str| {
        let mut rows: Vec<Vec<String>> = table_rows(screen)
            .into_iter()
            .map(|row| row[1..].to_vec())
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(rows(later), rows(grown), "{later}");
    assert!(
        table_rows(later).iter().all(|row| row[0].is_empty()),
        "{later}"
    );
}
