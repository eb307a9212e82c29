//! The command line: PID rules, exit statuses, and the process states that
//! get their own message (START → NO_PID / INVALID_PID → FAIL_EXIT).

use std::time::Duration;

use crate::support::{run, stderr_of, stdout_of, testdata};

const QUICK: Duration = Duration::from_secs(10);

#[test]
fn missing_pid_is_a_one_line_usage_error() {
    let out = run(&[], b"", QUICK);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no PID given"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn malformed_pids_are_one_line_usage_errors() {
    for bad in [
        "",
        "0",
        "-5",
        "+1",
        "0x10",
        "abc",
        "self",
        "1/task/1",
        "4194305",
        "99999999999999999999999",
    ] {
        let out = run(&[bad], b"", QUICK);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = stderr_of(&out);
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
        assert!(err.starts_with("error: invalid PID"), "{bad:?}: {err}");
    }
}

#[test]
fn other_usage_errors_are_clap_style_with_status_2() {
    let out = run(&["--interval", "0", "1"], b"", QUICK);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("0.5 to 3600"));
    let out = run(&["--tab", "nope", "1"], b"", QUICK);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("tcp"));
}

#[test]
fn help_and_version() {
    let out = run(&["--help"], b"", QUICK);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout_of(&out);
    for expected in [
        "--interval",
        "--tab",
        "--once",
        "--proc-root",
        "Exit status",
        "usage error",
    ] {
        assert!(help.contains(expected), "{expected} missing from --help");
    }
    let out = run(&["--version"], b"", QUICK);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout_of(&out).starts_with("netmonitor "));
}

#[test]
fn a_pid_with_no_process_exits_1() {
    let root = testdata().join("proc/tcp-live");
    let out = run(&["--proc-root", root.to_str().unwrap(), "123"], b"", QUICK);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr_of(&out).trim(), "netmonitor: no such process: 123");
}

#[test]
fn kernel_threads_and_zombies_get_their_own_message() {
    let root = testdata().join("proc/kthread");
    let out = run(&["--proc-root", root.to_str().unwrap(), "2"], b"", QUICK);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("pid 2 (kthreadd) is a kernel thread"));

    let root = testdata().join("proc/zombie");
    let out = run(&["--proc-root", root.to_str().unwrap(), "77"], b"", QUICK);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("process 77 (worker) is a zombie"), "{err}");
    assert!(err.contains("pid 70"), "{err}");
}

#[test]
fn a_process_whose_main_thread_exited_is_read_through_a_live_thread() {
    let root = testdata().join("proc/leader-exited");
    let out = run(
        &["--proc-root", root.to_str().unwrap(), "--once", "300"],
        b"",
        QUICK,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains("the main thread has exited: reading through thread 301"),
        "{text}"
    );
    assert!(text.contains("own sockets: 2 of"), "{text}");
    assert!(
        text.contains("127.0.0.1:5555") && text.contains("[::]:5557"),
        "{text}"
    );
}
