//! The traffic tab: one row per interface of the namespace from `net/dev`,
//! with byte and packet rates since the previous tick and every error and
//! drop counter with its change, plus a total row.
//!
//! Two tables rather than one of 21 columns: throughput (what `ip -s link`
//! and `ifstat` answer) and the error counters (what explains loss). A
//! counter that went backwards — an interface re-created with the same
//! name, a 32-bit wrap on an old kernel — reads `reset`, never a huge rate.

use std::time::Duration;

use super::changes::{Change, FileText, bad_line_notes, changes_line, elapsed, file_text, text_of};
use super::{Tab, ViewContext};
use crate::parse::dev::{DevCounters, parse_dev};
use crate::render::{Block, Emphasis, Row, Screen, TableBlock, human_bytes};
use crate::source::Snapshot;

const DEV: &str = "dev";

type Getter = fn(&DevCounters) -> u64;

/// The throughput counters: (header of the total, header of the rate,
/// counter, whether it counts bytes).
const THROUGHPUT: [(&str, &str, Getter, bool); 4] = [
    ("RX bytes", "RX rate", |d| d.rx_bytes, true),
    ("RX packets", "RX pkt/s", |d| d.rx_packets, false),
    ("TX bytes", "TX rate", |d| d.tx_bytes, true),
    ("TX packets", "TX pkt/s", |d| d.tx_packets, false),
];

/// The other counters of `net/dev`, in file order.
const OTHER: [(&str, Getter); 12] = [
    ("RX errs", |d| d.rx_errs),
    ("RX drop", |d| d.rx_drop),
    ("RX fifo", |d| d.rx_fifo),
    ("RX frame", |d| d.rx_frame),
    ("RX compr", |d| d.rx_compressed),
    ("RX mcast", |d| d.rx_multicast),
    ("TX errs", |d| d.tx_errs),
    ("TX drop", |d| d.tx_drop),
    ("TX fifo", |d| d.tx_fifo),
    ("TX colls", |d| d.tx_colls),
    ("TX carrier", |d| d.tx_carrier),
    ("TX compr", |d| d.tx_compressed),
];

pub fn view(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut status = ctx.namespace_status(Tab::Traffic, now);
    status.push(changes_line(now, previous));
    let text = match file_text(now, DEV) {
        FileText::Text(text) => text,
        FileText::Missing => {
            return Screen {
                status,
                blocks: vec![Block::Text(vec![
                    "this namespace has no net/dev file".into(),
                ])],
            };
        }
        FileText::Unreadable(why) => {
            return Screen {
                status,
                blocks: vec![Block::Text(vec![why])],
            };
        }
    };
    let parsed = parse_dev(text);
    let devices = unique(parsed.rows);
    let before: Option<Vec<DevCounters>> = previous
        .map(|p| text_of(Some(p), DEV).map_or_else(Vec::new, |t| unique(parse_dev(t).rows)));
    let span = previous.and_then(|p| elapsed(now, p));
    let changes = interface_changes(&devices, before.as_deref());

    let mut notes = bad_line_notes(DEV, &parsed.bad_lines);
    if previous.is_some()
        && changes
            .iter()
            .flatten()
            .any(|c| matches!(c, Change::New | Change::Reset))
    {
        notes.push("new and reset interfaces are left out of the total's rates".into());
    }
    Screen {
        status,
        blocks: vec![
            Block::Table(throughput_table(
                &devices,
                &changes,
                previous.is_some(),
                span,
                notes,
            )),
            Block::Table(other_table(&devices, &changes, previous.is_some())),
        ],
    }
}

/// Devices by name, first occurrence kept (a dump refilled while devices
/// changed can repeat a line).
fn unique(devices: Vec<DevCounters>) -> Vec<DevCounters> {
    let mut seen = std::collections::HashSet::new();
    devices
        .into_iter()
        .filter(|d| seen.insert(d.name.clone()))
        .collect()
}

/// For each device, the change of every counter: the four throughput
/// counters first, then [`OTHER`].
fn interface_changes(devices: &[DevCounters], before: Option<&[DevCounters]>) -> Vec<Vec<Change>> {
    let getters: Vec<Getter> = THROUGHPUT
        .iter()
        .map(|t| t.2)
        .chain(OTHER.iter().map(|o| o.1))
        .collect();
    devices
        .iter()
        .map(|device| {
            let old = before.map(|list| list.iter().find(|d| d.name == device.name));
            getters
                .iter()
                .map(|get| Change::counter(old.map(|o| o.map(get)), get(device)))
                .collect()
        })
        .collect()
}

/// The total's change of counter `index`: the sum of what grew on the
/// interfaces present in both readings.
fn total_change(changes: &[Vec<Change>], index: usize, has_previous: bool) -> Change {
    if !has_previous {
        return Change::FirstReading;
    }
    Change::By(
        changes
            .iter()
            .filter_map(|c| c.get(index).and_then(|x| x.amount()))
            .fold(0u64, u64::saturating_add),
    )
}

fn sum(devices: &[DevCounters], get: Getter) -> u64 {
    devices.iter().map(get).fold(0u64, u64::saturating_add)
}

fn throughput_table(
    devices: &[DevCounters],
    changes: &[Vec<Change>],
    has_previous: bool,
    span: Option<Duration>,
    notes: Vec<String>,
) -> TableBlock {
    let mut header = vec!["Interface".to_string()];
    for (total, rate, _, _) in THROUGHPUT {
        header.push(total.into());
        header.push(rate.into());
    }
    let cells = |values: Vec<u64>, changes: Vec<Change>| -> Vec<String> {
        THROUGHPUT
            .iter()
            .zip(values.into_iter().zip(changes))
            .flat_map(|((_, _, _, bytes), (value, change))| {
                if *bytes {
                    [human_bytes(value), change.byte_rate(span)]
                } else {
                    [value.to_string(), change.count_rate(span)]
                }
            })
            .collect()
    };
    let mut rows: Vec<Row> = devices
        .iter()
        .zip(changes)
        .map(|(device, change)| {
            let mut row = vec![device.name.clone()];
            row.extend(cells(
                THROUGHPUT.iter().map(|t| (t.2)(device)).collect(),
                change.iter().take(THROUGHPUT.len()).copied().collect(),
            ));
            Row {
                cells: row,
                emphasis: if change.iter().take(THROUGHPUT.len()).any(|c| c.moved()) {
                    Emphasis::Highlight
                } else {
                    Emphasis::None
                },
            }
        })
        .collect();
    let mut total = vec!["total".to_string()];
    total.extend(cells(
        THROUGHPUT.iter().map(|t| sum(devices, t.2)).collect(),
        (0..THROUGHPUT.len())
            .map(|i| total_change(changes, i, has_previous))
            .collect(),
    ));
    rows.push(Row::new(total));
    TableBlock {
        title: Some("Throughput (net/dev)".into()),
        header,
        numeric_columns: (1..=2 * THROUGHPUT.len()).collect(),
        rows,
        notes,
    }
}

fn other_table(devices: &[DevCounters], changes: &[Vec<Change>], has_previous: bool) -> TableBlock {
    let offset = THROUGHPUT.len();
    let mut header = vec!["Interface".to_string()];
    header.extend(OTHER.iter().map(|(name, _)| name.to_string()));
    let mut rows: Vec<Row> = devices
        .iter()
        .zip(changes)
        .map(|(device, change)| {
            let mut cells = vec![device.name.clone()];
            cells.extend(OTHER.iter().enumerate().map(|(i, (_, get))| {
                let c = change
                    .get(offset + i)
                    .copied()
                    .unwrap_or(Change::FirstReading);
                c.with_value(get(device).to_string())
            }));
            let trouble = OTHER
                .iter()
                .enumerate()
                .filter(|(_, (name, _))| !name.ends_with("mcast") && !name.ends_with("compr"))
                .any(|(i, _)| {
                    change
                        .get(offset + i)
                        .is_some_and(|c| c.amount().unwrap_or(0) > 0)
                });
            Row {
                cells,
                emphasis: if trouble {
                    Emphasis::Highlight
                } else {
                    Emphasis::None
                },
            }
        })
        .collect();
    let mut total = vec!["total".to_string()];
    total.extend(OTHER.iter().enumerate().map(|(i, (_, get))| {
        total_change(changes, offset + i, has_previous).with_value(sum(devices, *get).to_string())
    }));
    rows.push(Row::new(total));
    TableBlock {
        title: Some("Errors, drops and other counters (net/dev; changes in parentheses)".into()),
        header,
        numeric_columns: (1..=OTHER.len()).collect(),
        rows,
        notes: vec![
            "errs: errors of any kind · drop: dropped by the kernel (RX includes missed) · fifo: \
             ring overruns · frame: framing/CRC/length errors · colls: collisions · carrier: \
             carrier/link errors"
                .into(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;

    use super::*;
    use crate::tabs::CounterDisplay;
    use crate::tabs::testing::{dev_text, failed, ok, show, snapshot};

    const DEV_618: &str = include_str!("../../testdata/files/dev-6.18");
    const DEV_OLD: &str = include_str!("../../testdata/files/dev-2.6-no-blank-after-colon");

    fn traffic(now: &Snapshot, previous: Option<&Snapshot>) -> String {
        show(Tab::Traffic, CounterDisplay::default(), now, previous)
    }

    fn counters(rx_bytes: u64, rx_packets: u64, tx_bytes: u64, tx_packets: u64) -> [u64; 16] {
        let mut c = [0; 16];
        c[0] = rx_bytes;
        c[1] = rx_packets;
        c[8] = tx_bytes;
        c[9] = tx_packets;
        c
    }

    #[test]
    fn first_display_says_rates_come_next() {
        let now = snapshot(0, vec![ok(DEV, DEV_618)]);
        let text = traffic(&now, None);
        assert!(text.contains("changes and rates appear from the next refresh"));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn rates_over_two_seconds_and_a_reset_interface() {
        let mut eth = counters(1_000_000, 1000, 50_000, 500);
        let before = snapshot(
            0,
            vec![ok(
                DEV,
                &dev_text(&[
                    ("lo", counters(100, 1, 100, 1)),
                    ("eth0", eth),
                    ("veth9", counters(9_000_000, 9000, 0, 0)),
                ]),
            )],
        );
        eth[0] += 3 * 1024 * 1024; // 1.5 MiB/s
        eth[1] += 2000; // 1000/s
        eth[8] += 4096; // 2 KiB/s
        eth[9] += 5;
        eth[3] += 7; // rx drop
        eth[10] += 1; // tx errs
        let now = snapshot(
            2,
            vec![ok(
                DEV,
                &dev_text(&[
                    ("lo", counters(100, 1, 100, 1)),
                    ("eth0", eth),
                    // Re-created: its counters started again.
                    ("veth9", counters(10, 1, 0, 0)),
                    ("new0", counters(5, 1, 0, 0)),
                ]),
            )],
        );
        let text = traffic(&now, Some(&before));
        assert!(text.contains("1.5 MiB/s"), "{text}");
        assert!(text.contains("1000.0/s"), "{text}");
        assert!(text.contains("reset"), "{text}");
        assert!(!text.contains("EiB"), "no absurd rate: {text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn old_kernel_lines_and_bad_lines() {
        let now = snapshot(0, vec![ok(DEV, DEV_OLD)]);
        let text = traffic(&now, None);
        assert!(text.contains("could not be parsed"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let now = snapshot(0, vec![failed(DEV, ErrorKind::PermissionDenied)]);
        let text = traffic(&now, None);
        assert!(text.contains("cannot read /proc/4242/net/dev (permission denied)"));
        let gone = snapshot(0, vec![failed(DEV, ErrorKind::NotFound)]);
        assert!(traffic(&gone, None).contains("no net/dev file"));
    }

    #[test]
    fn huge_counters_never_overflow_the_total() {
        let max = [u64::MAX; 16];
        let before = snapshot(0, vec![ok(DEV, &dev_text(&[("a", max), ("b", max)]))]);
        let now = snapshot(1, vec![ok(DEV, &dev_text(&[("a", max), ("b", max)]))]);
        let text = traffic(&now, Some(&before));
        assert!(text.contains("16.0 EiB"), "{text}");
        assert!(text.contains("0 B/s"), "{text}");
    }
}
