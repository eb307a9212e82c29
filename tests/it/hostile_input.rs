//! Hostile stdin against a captured `/proc` tree: one line of 30 MB, binary
//! garbage, `set` with every kind of bad value, and 5 000 commands piped at
//! once. Each bad line gets exactly one answer on stderr, in order, nothing
//! panics, the session ends with status 0 at end of input, and netmonitor's
//! peak memory (`VmHWM`, read while it still runs) stays bounded — the
//! over-long line is discarded as it arrives, and lines wait in a bounded
//! channel rather than piling up.

use std::time::Duration;

use crate::support::{LiveSession, terminal_hazard, testdata};

const PID: &str = "15837";
const SLOW: Duration = Duration::from_secs(60);

fn root() -> String {
    testdata()
        .join("proc/tcp-live")
        .to_string_lossy()
        .into_owned()
}

/// `set` lines that must each be refused with one line naming the range.
const BAD_SET: [&[u8]; 26] = [
    b"set 0",
    b"set 0.4",
    b"set 0.4999",
    b"set 3600.001",
    b"set 3601",
    b"set -1",
    b"set +1",
    b"set 1e3",
    b"set inf",
    b"set NaN",
    b"set 0x10",
    b"set 1.2.3",
    b"set .",
    b"set 1,5",
    b"set 2s",
    b"set 99999999999999999999999999999999",
    b"set 0.00000000000000000000000000000000000001",
    b"set \xef\xbc\x95",
    b"set \xff",
    b"set \x1b[2J",
    b"set 1 2",
    b"set 00000000000000000000000000000000000003601",
    b"set 3600.0000000001",
    b"set -0",
    b"set 1_000",
    b"set \x00",
];

/// Deterministic bytes that are not UTF-8 at all in places (xorshift).
fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn hostile_stdin_is_answered_line_by_line_in_bounded_memory() {
    let mut input: Vec<u8> = Vec::new();
    // Expected stderr lines, by what each must contain.
    let mut expected: Vec<String> = Vec::new();

    // One 30 MB line.
    const HUGE: usize = 30 * 1024 * 1024;
    input.extend(std::iter::repeat_n(b'A', HUGE));
    input.push(b'\n');
    expected.push(format!("line of {HUGE} bytes ignored"));

    // Binary garbage: 200 lines of random bytes (newlines removed), each
    // starting with a byte that is not UTF-8, so each is an unknown word.
    for n in 0..200 {
        let mut line = vec![0x80];
        line.extend(
            garbage(1 + n * 7 % 300, n as u64 + 1)
                .into_iter()
                .filter(|&b| b != b'\n'),
        );
        input.extend_from_slice(&line);
        input.push(b'\n');
        expected.push("unknown command".into());
    }

    // Every bad value of `set`, and `set` alone.
    for line in BAD_SET {
        input.extend_from_slice(line);
        input.push(b'\n');
        expected.push("0.5 to 3600".into());
    }
    input.extend_from_slice(b"set\n");
    expected.push("set needs a number of seconds".into());

    // 5 000 commands at once, valid and not.
    for n in 0..5_000 {
        let (line, error) = match n % 10 {
            0 => ("tcp".to_string(), None),
            1 => (format!("tcpp{n}"), Some("unknown command")),
            2 => ("set abc".into(), Some("0.5 to 3600")),
            3 => ("scope everywhere".into(), Some("scope takes one of")),
            4 => ("zeros please".into(), Some("takes no arguments")),
            5 => (format!("filter {n}"), None),
            6 => ("filter".into(), None),
            7 => ("scope all".into(), None),
            8 => ("udp extra".into(), Some("takes no arguments")),
            _ => ("".into(), None),
        };
        input.extend_from_slice(line.as_bytes());
        input.extend_from_slice(if n % 2 == 0 { b"\n" } else { b"\r\n" });
        if let Some(error) = error {
            expected.push(error.into());
        }
    }
    // A last valid interval, so ticks stop mattering.
    input.extend_from_slice(b"set 3600\n");

    let mut session = LiveSession::start(&["--proc-root", &root(), "-i", "3600", PID]);
    let writer = {
        let mut stdin = session.child.stdin.take().expect("stdin");
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(&input);
            // Keep stdin open: the peak is read while netmonitor runs.
            stdin
        })
    };
    let count = expected.len();
    session.wait_for_errors("every bad line answered", SLOW, |err| {
        err.lines().count() >= count
    });
    session.wait_for("the last answer", SLOW, |out| {
        out.trim_end().ends_with("refresh interval set to 3600 s")
    });
    let peak = session.peak_rss_kib().expect("netmonitor still runs");
    drop(writer.join().expect("the writer finished"));
    let (code, out, err) = session.wait_exit(SLOW);
    assert_eq!(code, Some(0), "{err}");
    assert!(terminal_hazard(&session.error_bytes()).is_none(), "{err}");
    assert!(terminal_hazard(&session.output_bytes()).is_none());
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), count, "one answer per bad line");
    for (n, (line, want)) in lines.iter().zip(&expected).enumerate() {
        assert!(
            line.starts_with("error: ") && line.contains(want.as_str()),
            "answer {n}: {line:?} should say {want:?}"
        );
    }
    assert!(!err.contains("panicked"));
    // Of every ten lines, `tcp`, both filters, `scope all` and the empty
    // line each print the tab.
    assert_eq!(out.matches("│ tcp · pid 15837").count(), 2_500, "screens");
    eprintln!("peak RSS with hostile stdin: {peak} KiB");
    // Keeping the 30 MB line would alone exceed this.
    assert!(peak < 24 * 1024, "peak RSS {peak} KiB");
}
