//! Every tab of the captured tree on a real terminal (tmux) 80 and 60
//! columns wide: each table row is one line whose cells are the cells
//! of the same row printed to a pipe (which keeps every column), whole;
//! the columns missing are the ones named under the table.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{run, stdout_of, testdata};

const TABS: [&str; 9] = [
    "tcp", "udp", "raw", "icmp", "arp", "traffic", "routing", "stats", "analysis",
];

/// The tables of a rendered screen after its status box: for each, its
/// header (first line of each column's heading), its rows as cells, and
/// the text of its "left out" line.
struct Drawn {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    left_out: String,
}

fn cells(line: &str) -> Vec<String> {
    line.trim_end()
        .trim_matches('│')
        .split('┆')
        .map(|c| c.trim().to_string())
        .collect()
}

fn tables(text: &str) -> Vec<Drawn> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut at = 0;
    let mut first = true;
    while at < lines.len() {
        if !lines[at].starts_with('┌') {
            at += 1;
            continue;
        }
        let end = (at..lines.len())
            .find(|&i| lines[i].starts_with('└'))
            .expect("a closed box");
        let body = &lines[at + 1..end];
        let split = body.iter().position(|l| l.starts_with('╞'));
        let mut left_out = String::new();
        if lines
            .get(end + 1)
            .is_some_and(|l| l.starts_with("left out to fit"))
        {
            for line in &lines[end + 1..] {
                left_out.push_str(line.trim_end());
                left_out.push(' ');
                if left_out.contains("shows them)") {
                    break;
                }
            }
        }
        if !first {
            let split = split.expect("a table with a header");
            out.push(Drawn {
                header: cells(body[0]),
                rows: body[split + 1..].iter().map(|l| cells(l)).collect(),
                left_out,
            });
        }
        first = false;
        at = end + 1;
    }
    out
}

/// `netmonitor --once -t TAB` of the captured tree, on a tmux pane
/// `width` columns wide.
fn on_terminal(tab: &str, width: u16) -> String {
    let socket = format!("nm-narrow-{}-{tab}-{width}", std::process::id());
    let tree = testdata().join("proc/all-tabs-6.18");
    let command = format!(
        "NO_COLOR=1 {} --proc-root {} --once -t {tab} 9898; echo DONE; sleep 30",
        env!("CARGO_BIN_EXE_netmonitor"),
        tree.display()
    );
    let width = width.to_string();
    let status = Command::new("tmux")
        .args([
            "-L",
            &socket,
            "new-session",
            "-d",
            "-x",
            &width,
            "-y",
            "200",
        ])
        .arg(&command)
        .status()
        .expect("tmux runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let screen = loop {
        let out = Command::new("tmux")
            .args(["-L", &socket, "capture-pane", "-p", "-S", "-1000"])
            .output()
            .expect("tmux capture-pane");
        let screen = String::from_utf8_lossy(&out.stdout).into_owned();
        if screen.contains("DONE") || Instant::now() > deadline {
            break screen;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = Command::new("tmux")
        .args(["-L", &socket, "kill-server"])
        .status();
    assert!(screen.contains("DONE"), "timed out:\n{screen}");
    screen
}

#[test]
fn every_tab_fits_80_and_60_columns_without_breaking_a_value() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipping: tmux is not installed");
        return;
    }
    let tree = testdata().join("proc/all-tabs-6.18");
    let tree = tree.to_str().expect("a UTF-8 path");
    for tab in TABS {
        let piped = run(
            &["--proc-root", tree, "--once", "-t", tab, "9898"],
            b"",
            Duration::from_secs(20),
        );
        let whole = tables(&stdout_of(&piped));
        assert!(!whole.is_empty(), "{tab}: no table");
        assert!(whole.iter().all(|t| t.left_out.is_empty()));
        for width in [80, 60] {
            let screen = on_terminal(tab, width);
            let narrow = tables(&screen);
            assert_eq!(narrow.len(), whole.len(), "{tab} at {width}:\n{screen}");
            for (full, drawn) in whole.iter().zip(&narrow) {
                // The columns named under the table are the ones missing.
                let named: Vec<&str> = drawn
                    .left_out
                    .split_once(" columns: ")
                    .and_then(|(_, rest)| rest.split_once(" (a wider"))
                    .map(|(names, _)| names.split(", ").collect())
                    .unwrap_or_default();
                let missing: Vec<&String> = full
                    .header
                    .iter()
                    .filter(|title| named.contains(&title.as_str()))
                    .collect();
                assert_eq!(missing.len(), named.len(), "{named:?}\n{screen}");
                let kept: Vec<usize> = (0..full.header.len())
                    .filter(|&i| !missing.contains(&&full.header[i]))
                    .collect();
                assert_eq!(
                    drawn.rows.len(),
                    full.rows.len(),
                    "{tab} at {width}: a row is not one line:\n{screen}"
                );
                for (row, got) in full.rows.iter().zip(&drawn.rows) {
                    let expected: Vec<&String> = kept.iter().map(|&i| &row[i]).collect();
                    let got: Vec<&String> = got.iter().collect();
                    assert_eq!(got, expected, "{tab} at {width}:\n{screen}");
                }
            }
        }
    }
}
