//! The JSON of every tab on the captured trees, pinned: a change in what
//! a tab computes or how it reads a snapshot shows here as a diff of the
//! documents (insta snapshots in `tests/it/snapshots/`). Written before
//! the tick pipeline was split into plan, execution and snapshot, so that
//! the split could be shown to change no byte of any tab's output.
//!
//! Only the wall clock is masked (`time`, `timestamp`, the `HH:MM:SS` of
//! status lines); everything else, rates between the two ticks included,
//! is compared to the letter.

use std::time::Duration;

use serde_json::Value as Json;

use crate::support::{run, stderr_of, stdout_of, testdata};

const TABS: [&str; 10] = [
    "tcp", "flows", "udp", "raw", "icmp", "arp", "traffic", "routing", "stats", "analysis",
];
const SOCKET_TABS: [&str; 5] = ["tcp", "flows", "udp", "raw", "icmp"];

/// Two ticks of `tab` as NDJSON on the capture `tree` (pid `pid`), with
/// `extra` options, each document with its clock masked and pretty-printed.
fn documents(tree: &str, pid: &str, tab: &str, extra: &[&str]) -> String {
    let root = testdata().join("proc").join(tree).display().to_string();
    let mut args = vec![
        "--proc-root",
        root.as_str(),
        "--json",
        "--count",
        "2",
        "--interval",
        "0.5",
        "--tab",
        tab,
    ];
    args.extend_from_slice(extra);
    args.push(pid);
    let output = run(&args, b"", Duration::from_secs(30));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{tree} {tab} {extra:?}: {}",
        stderr_of(&output)
    );
    let text = stdout_of(&output);
    let masked: Vec<String> = text
        .lines()
        .map(|line| {
            let mut doc: Json =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{tab}: {e}\n{line}"));
            mask_clock(&mut doc);
            serde_json::to_string_pretty(&doc).unwrap()
        })
        .collect();
    assert_eq!(masked.len(), 2, "{tree} {tab}: {text}");
    masked.join("\n")
}

/// Replaces what the wall clock decides: the document's time fields and
/// `HH:MM:SS` in any string (status lines carry the time of the tick).
fn mask_clock(doc: &mut Json) {
    if let Some(object) = doc.as_object_mut() {
        for key in ["time", "timestamp", "elapsed_seconds"] {
            if object.contains_key(key) {
                object.insert(key.into(), Json::String("[clock]".into()));
            }
        }
    }
    mask_times(doc);
}

fn mask_times(value: &mut Json) {
    match value {
        Json::String(text) => *text = without_clock(text),
        Json::Array(items) => items.iter_mut().for_each(mask_times),
        Json::Object(map) => map.values_mut().for_each(mask_times),
        _ => {}
    }
}

/// `text` with every `HH:MM:SS` written as `[hh:mm:ss]`, and the
/// measured time between the ticks (`over the last 0.51 s`) as
/// `[elapsed]`: a loaded machine stretches it.
fn without_clock(text: &str) -> String {
    // `last 0.51 s` (the measured time between the ticks) anywhere.
    let mut masked = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("last ") {
        let (head, tail) = rest.split_at(at + "last ".len());
        masked.push_str(head);
        let number = tail
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(tail.len());
        if number > 0 && tail[number..].starts_with(" s") {
            masked.push_str("[elapsed]");
            rest = &tail[number + " s".len()..];
        } else {
            rest = tail;
        }
    }
    masked.push_str(rest);
    let text = masked.as_str();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while index < text.len() {
        let clock = bytes.len() >= index + 8
            && [0, 1, 3, 4, 6, 7]
                .iter()
                .all(|&k| bytes[index + k].is_ascii_digit())
            && bytes[index + 2] == b':'
            && bytes[index + 5] == b':';
        if clock {
            out.push_str("[hh:mm:ss]");
            index += 8;
        } else {
            let c = text[index..].chars().next().unwrap_or_default();
            out.push(c);
            index += c.len_utf8().max(1);
        }
    }
    out
}

#[test]
fn the_clock_mask_hides_times_and_nothing_else() {
    assert_eq!(
        without_clock("tcp · 12:34:56 · 1:2:3 · 99:99:9x"),
        "tcp · [hh:mm:ss] · 1:2:3 · 99:99:9x"
    );
    assert_eq!(
        without_clock("changes and rates over the last 0.51 s"),
        "changes and rates over the last [elapsed]"
    );
    assert_eq!(
        without_clock("Findings (last 0.5 s) · no anomalies in the last 2 s · the last word"),
        "Findings (last [elapsed]) · no anomalies in the last [elapsed] · the last word"
    );
}

#[test]
fn json_of_every_tab_on_the_all_tabs_capture() {
    for tab in TABS {
        insta::assert_snapshot!(
            format!("all_tabs_{tab}"),
            documents("all-tabs-6.18", "9898", tab, &[])
        );
    }
    for tab in SOCKET_TABS {
        insta::assert_snapshot!(
            format!("all_tabs_{tab}_scope_all"),
            documents("all-tabs-6.18", "9898", tab, &["--all"])
        );
    }
}

#[test]
fn json_of_the_socket_tabs_on_the_tcp_capture() {
    for tab in SOCKET_TABS {
        for (name, extra) in [("own", &[][..]), ("all", &["--all"][..])] {
            insta::assert_snapshot!(
                format!("tcp_live_{tab}_{name}"),
                documents("tcp-live", "15837", tab, extra)
            );
        }
    }
}
