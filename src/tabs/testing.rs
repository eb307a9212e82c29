//! Test helpers for the tab views: snapshots built by hand from fixture
//! texts (fixed times, instants a set number of seconds apart), a fixed
//! process and view context, plain rendering at a fixed width, and small
//! editors that make a "later" file from a captured one.

use std::collections::HashMap;
use std::io;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use chrono::{Local, TimeZone};

use super::{CounterDisplay, Scope, Tab, ViewContext, ViewSettings, view};
use crate::error::ReadError;
use crate::parse::Endian;
use crate::render::{RenderOptions, render};
use crate::snapshot::{Process, Snapshot, Table};
use crate::tabs::sockets::sift_block;

/// Width every tab snapshot is rendered at.
pub const WIDTH: u16 = 150;

static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);
static USERS: LazyLock<HashMap<u32, String>> = LazyLock::new(HashMap::new);
static VIEW: ViewSettings = ViewSettings {
    scope: Scope::Own,
    filter: None,
};
static PROCESS: LazyLock<Process> = LazyLock::new(|| Process {
    pid: 4242,
    name: "server".into(),
    cmdline: "server --port 80".into(),
    start_time: 1,
    parent: 1,
    netns: Some("net:[4026532281]".into()),
    netns_error: None,
    via_thread: None,
});

/// A file of a snapshot: its text, or an error of `kind`.
pub fn ok(name: &'static str, text: &str) -> (&'static str, Result<String, ReadError>) {
    (name, Ok(text.to_string()))
}

pub fn failed(
    name: &'static str,
    kind: io::ErrorKind,
) -> (&'static str, Result<String, ReadError>) {
    (
        name,
        Err(ReadError::new(
            format!("/proc/4242/net/{name}"),
            io::Error::from(kind),
        )),
    )
}

/// A snapshot taken `seconds` after a fixed start (2025-01-02 03:04:05
/// local time), holding `files`.
pub fn snapshot(seconds: u64, files: Vec<(&'static str, Result<String, ReadError>)>) -> Snapshot {
    let start = Local
        .with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
        .single()
        .expect("a valid local time");
    let offset = i64::try_from(seconds).expect("small offset");
    Snapshot {
        taken_at: start + chrono::Duration::seconds(offset),
        instant: *BASE + Duration::from_secs(seconds),
        tables: Snapshot::texts(files),
        fd: None,
        processes: None,
        flows: None,
        listeners: None,
        neighbours: None,
    }
}

/// The fixed view context of the tests, with `counters` as the toggles.
pub fn context(counters: CounterDisplay) -> ViewContext<'static> {
    ViewContext {
        process: &PROCESS,
        interval: Duration::from_secs(2),
        users: &*USERS,
        numeric: false,
        endian: Endian::Little,
        clock_ticks: 100,
        counters,
        view: &VIEW,
        earlier: None,
        totals: None,
        replay: None,
        rows_shown: None,
        rows_later: false,
    }
}

/// `tab` rendered at [`WIDTH`] columns with no colour.
pub fn show(
    tab: Tab,
    counters: CounterDisplay,
    now: &Snapshot,
    previous: Option<&Snapshot>,
) -> String {
    let options = RenderOptions {
        width: Some(WIDTH),
        colour: false,
        max_rows: None,
    };
    render(&view(tab, &context(counters), now, previous), &options)
}

/// A copy of a `snmp`/`netstat` text with counters raised: each
/// `(prefix, name, by)` adds `by` to that counter's value.
pub fn bump_pairs(text: &str, bumps: &[(&str, &str, u64)]) -> String {
    let mut out = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut tokens: Vec<String> = line.split_whitespace().map(String::from).collect();
        let Some(prefix) = tokens.first().map(|p| p.trim_end_matches(':').to_string()) else {
            out.push(line.to_string());
            continue;
        };
        let is_values = tokens
            .get(1)
            .is_some_and(|t| t.starts_with(|c: char| c.is_ascii_digit() || c == '-'));
        if !is_values {
            names = tokens.clone();
            out.push(line.to_string());
            continue;
        }
        for (p, name, by) in bumps {
            if *p != prefix {
                continue;
            }
            if let Some(at) = names.iter().position(|n| n == name) {
                let value: u64 = tokens[at].parse().expect("a counter");
                tokens[at] = (value + by).to_string();
            }
        }
        out.push(tokens.join(" "));
    }
    out.join("\n") + "\n"
}

/// A `net/dev` text with one line per `(name, counters)`.
pub fn dev_text(devices: &[(&str, [u64; 16])]) -> String {
    let mut text = String::from(
        "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    for (name, c) in devices {
        text.push_str(&format!(
            "{name:>6}: {:7} {:7} {:4} {:4} {:4} {:5} {:10} {:9} {:8} {:7} {:4} {:4} {:4} {:5} {:7} {:10}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12],
            c[13], c[14], c[15]
        ));
    }
    text
}

/// A `softnet_stat` text: each row's columns as `%08x`.
pub fn softnet_text(rows: &[Vec<u32>]) -> String {
    rows.iter()
        .map(|row| {
            row.iter()
                .map(|v| format!("{v:08x}"))
                .collect::<Vec<_>>()
                .join(" ")
                + "\n"
        })
        .collect()
}

/// `snapshot` with its `tables` sifted whole by [`sift_block`], as a
/// live tick in scope own sifts them while reading.
pub fn sifted_own(mut snapshot: Snapshot, tables: &[&'static str]) -> Snapshot {
    let Some(Ok(fd)) = snapshot.fd.as_ref() else {
        return snapshot;
    };
    for (table, result) in snapshot.tables.iter_mut() {
        if let (true, Ok(Table::Text(text))) = (tables.contains(table), result.as_ref()) {
            let mut kept = String::new();
            let mut left_out = Default::default();
            sift_block(table, text, true, &fd.inodes, &mut kept, &mut left_out);
            *result = Ok(Table::Sifted {
                text: kept,
                left_out: std::sync::Arc::new(left_out),
            });
        }
    }
    snapshot
}
