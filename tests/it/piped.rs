//! Scripted stdin against a captured `/proc` tree: piped input behaves
//! like typing, ticks fire while waiting, and the session ends on end of
//! input, on a closed pipe, and when the process goes away.

use std::time::Duration;

use crate::support::{
    LiveSession, copy_tree, replace_file, run, stderr_of, stdout_of, table_rows, testdata,
};

const PID: &str = "15837";
const QUICK: Duration = Duration::from_secs(10);

fn root() -> String {
    testdata()
        .join("proc/tcp-live")
        .to_string_lossy()
        .into_owned()
}

/// Inodes of the process's sockets: the `socket:[N]` links in its `fd/`.
const OWN_INODES: [&str; 14] = [
    "22851", "22852", "22853", "22854", "22855", "22856", "22857", "22858", "22859", "22868",
    "22869", "22870", "22871", "22872",
];

#[test]
fn tab_then_set_prints_at_once_confirms_and_exits_on_end_of_input() {
    // A 30 s interval: only the typed line can have printed the tab, and
    // the session must end at end of input rather than wait for a tick.
    let out = run(
        &["--proc-root", &root(), "-i", "30", PID],
        b"tcp\nset 6\n",
        QUICK,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains("tcp · pid 15837 (python3) · refresh every 30 s"),
        "{text}"
    );
    let netns = std::fs::read_link(testdata().join("proc/tcp-live/15837/ns/net")).unwrap();
    let scope = format!("own sockets: 14 of 19 TCP sockets in {}", netns.display());
    assert!(text.contains(&scope), "{text}");
    assert!(
        text.trim_end().ends_with("refresh interval set to 6 s"),
        "{text}"
    );
    assert!(stderr_of(&out).is_empty());
}

#[test]
fn exactly_the_processs_own_sockets_are_listed() {
    let out = run(&["--proc-root", &root(), "--once", PID], b"", QUICK);
    let text = stdout_of(&out);
    let rows = table_rows(&text);
    let mut inodes: Vec<&str> = rows.iter().map(|r| r[9].as_str()).collect();
    inodes.sort_unstable();
    assert_eq!(inodes, OWN_INODES, "{text}");
    // Listeners first, then by local address.
    let states: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    let first_other = states.iter().position(|s| *s != "LISTEN").unwrap();
    assert!(
        states[first_other..].iter().all(|s| *s != "LISTEN"),
        "{states:?}"
    );
    assert!(
        text.contains("14 TCP sockets: 3 LISTEN, 7 ESTAB, 2 SYN-SENT, 2 CLOSE-WAIT"),
        "{text}"
    );
    let unread = rows
        .iter()
        .find(|r| r[4] == "127.0.0.1:5555" && r[5] == "127.0.0.1:56086")
        .expect("the connection with unread bytes");
    assert_eq!(unread[2], "1000", "Recv-Q");
    let syn_sent = rows
        .iter()
        .find(|r| r[1] == "SYN-SENT")
        .expect("a SYN-SENT row");
    assert!(syn_sent[6].starts_with("retrans "), "{syn_sent:?}");
    assert!(rows.iter().any(|r| r[4] == "[::ffff:127.0.0.1]:5557"));
    assert!(rows.iter().any(|r| r[4] == "[::]:5557" && r[5] == "*"));
}

#[test]
fn a_socket_whose_fd_is_closed_is_not_listed() {
    let tree = copy_tree("proc/tcp-live");
    for fd in ["3", "7"] {
        std::fs::remove_file(tree.path().join(PID).join("fd").join(fd)).unwrap();
    }
    let out = run(
        &["--proc-root", tree.path().to_str().unwrap(), "--once", PID],
        b"",
        QUICK,
    );
    let text = stdout_of(&out);
    let rows = table_rows(&text);
    assert_eq!(rows.len(), 12, "{text}");
    assert!(!rows.iter().any(|r| r[9] == "22851" || r[9] == "22855"));
    assert!(text.contains("own sockets: 12 of 19"), "{text}");
}

#[test]
fn unreadable_fd_shows_the_namespace_and_says_why() {
    let tree = copy_tree("proc/tcp-live");
    std::fs::remove_dir_all(tree.path().join(PID).join("fd")).unwrap();
    let out = run(
        &["--proc-root", tree.path().to_str().unwrap(), "--once", PID],
        b"",
        QUICK,
    );
    let text = stdout_of(&out);
    assert!(
        text.contains("/fd (not found): showing every socket in its network namespace"),
        "{text}"
    );
    assert_eq!(table_rows(&text).len(), 19, "{text}");
}

#[test]
fn garbage_input_is_answered_line_by_line_and_the_session_goes_on() {
    let mut input = Vec::new();
    input.extend_from_slice(b"\xff\xfe\x00\n");
    input.extend_from_slice(b"tpc\r\n");
    input.extend_from_slice(b"set abc\n");
    input.extend_from_slice(b"set 1e20\n");
    input.extend_from_slice(b"set 18446744073709551615\n");
    input.extend(std::iter::repeat_n(b'x', 100_000));
    input.extend_from_slice(b"\n");
    input.extend_from_slice(b"\x1b[2J\n");
    input.extend_from_slice(b"tcp"); // last line without newline
    let out = run(&["--proc-root", &root(), "-i", "30", PID], &input, QUICK);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr_of(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 7, "{err}");
    assert!(lines.iter().all(|l| l.starts_with("error: ")), "{err}");
    // Invalid UTF-8 shown as replacement characters, the NUL escaped.
    assert!(
        lines[0].starts_with("error: unknown command '\u{fffd}\u{fffd}\\x00'"),
        "{err}"
    );
    assert!(
        lines[1].contains("unknown command 'tpc' (did you mean 'tcp'?)"),
        "{err}"
    );
    for (line, value) in [(2, "abc"), (3, "1e20"), (4, "18446744073709551615")] {
        assert!(
            lines[line].contains(&format!("invalid interval '{value}'"))
                && lines[line].contains("0.5 to 3600"),
            "{err}"
        );
    }
    assert!(lines[5].contains("line of 100000 bytes ignored"), "{err}");
    assert!(lines[6].contains("\\x1b[2J"), "escaped: {err}");
    assert!(!err.contains('\u{1b}'));
    assert!(stdout_of(&out).contains("tcp · pid 15837"));
}

#[test]
fn no_selection_shows_tcp_after_one_interval_and_ticks_keep_coming() {
    let mut session = LiveSession::start(&["--proc-root", &root(), "-i", "0.5", PID]);
    session.wait_for("the default tab", QUICK, |out| {
        out.matches("tcp · pid 15837").count() >= 2
    });
    session.send("set 0.5\n");
    let (code, out, _) = session.finish(QUICK);
    assert_eq!(code, Some(0));
    assert!(out.contains("refresh interval set to 0.5 s"));
}

#[test]
fn the_session_ends_when_the_process_exits() {
    let tree = copy_tree("proc/tcp-live");
    let mut session = LiveSession::start(&[
        "--proc-root",
        tree.path().to_str().unwrap(),
        "-i",
        "0.5",
        PID,
    ]);
    session.send("tcp\n");
    session.wait_for("the tab", QUICK, |out| out.contains("tcp · pid"));
    std::fs::remove_dir_all(tree.path().join(PID)).unwrap();
    let (code, out, _) = session.wait_exit(QUICK);
    assert_eq!(code, Some(0));
    assert!(
        out.trim_end().ends_with("process 15837 (python3) exited"),
        "{out}"
    );
}

#[test]
fn the_session_ends_when_the_pid_is_reused() {
    let tree = copy_tree("proc/tcp-live");
    let stat_path = tree.path().join(PID).join("stat");
    let mut session = LiveSession::start(&[
        "--proc-root",
        tree.path().to_str().unwrap(),
        "-i",
        "0.5",
        PID,
    ]);
    session.send("tcp\n");
    session.wait_for("the tab", QUICK, |out| out.contains("tcp · pid"));
    // Same pid, another start time: another process.
    let stat = std::fs::read_to_string(&stat_path).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let start_time = fields[19];
    let replaced = stat.replacen(&format!(" {start_time} "), " 1 ", 1);
    assert_ne!(stat, replaced);
    replace_file(&stat_path, replaced);
    let (code, out, _) = session.wait_exit(QUICK);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("its pid now belongs to another process"),
        "{out}"
    );
}

#[test]
fn a_closed_output_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_netmonitor"))
        .args(["--proc-root", &root(), "-i", "0.5", PID])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"tcp\n").unwrap();
    // Read one line, then close our end, like `| head -1` does.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with('┌'), "{first}");
    // The next tick writes into the closed pipe and ends the session.
    let deadline = std::time::Instant::now() + QUICK;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "did not end");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut errors).unwrap();
    assert_eq!(status.code(), Some(0), "{errors}");
    assert!(errors.is_empty(), "{errors}");
    drop(stdin);
}

#[test]
fn a_full_disk_is_reported_with_status_1() {
    use std::process::{Command, Stdio};
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let once = Command::new(env!("CARGO_BIN_EXE_netmonitor"))
        .args(["--proc-root", &root(), "--once", PID])
        .stdout(full())
        .output()
        .unwrap();
    assert_eq!(once.status.code(), Some(1));
    assert!(stderr_of(&once).contains("cannot write output: No space left on device"));

    let mut session = Command::new(env!("CARGO_BIN_EXE_netmonitor"))
        .args(["--proc-root", &root(), PID])
        .stdin(Stdio::piped())
        .stdout(full())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut session.stdin.take().unwrap(), b"tcp\n").unwrap();
    let out = session.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("cannot write output: No space left on device"));
}

#[test]
fn rows_caps_the_tables_and_rows_all_shows_every_row_again() {
    let out = run(
        &["--proc-root", &root(), "-i", "30", PID],
        b"rows 3\ntcp\nrows all\nrows 0\n",
        QUICK,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.starts_with("rows: tables show at most 3 rows\n"),
        "{text}"
    );
    let (capped, all) = text
        .split_once("rows: tables show every row\n")
        .expect("the rows all confirmation");
    assert_eq!(table_rows(capped).len(), 3, "{capped}");
    assert!(
        capped.contains("… 11 more rows (`rows all` or `rows N` shows more"),
        "{capped}"
    );
    // `rows all` draws the same tick again, every row.
    assert_eq!(table_rows(all).len(), 14, "{all}");
    assert!(!all.contains("more rows"), "{all}");
    assert!(
        stderr_of(&out).contains("error: rows takes a number of rows from 1 to 1000000"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn the_new_row_column_is_there_from_the_first_print() {
    let out = run(&["--proc-root", &root(), "-i", "0.5", PID], b"tcp\n", QUICK);
    let text = stdout_of(&out);
    let header = |screen: &str| {
        screen
            .lines()
            .find(|l| l.contains("State"))
            .map(str::to_string)
            .unwrap_or_default()
    };
    let first = header(&text);
    assert!(first.starts_with("│   ┆ State "), "{text}");
    let rows = table_rows(&text);
    assert!(rows.iter().all(|r| r[0].is_empty()), "{text}");
}
