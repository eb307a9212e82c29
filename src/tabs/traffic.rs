//! The traffic tab: one row per interface of the namespace from `net/dev`,
//! with byte and packet rates since the previous tick and every error and
//! drop counter with its change, plus a total row.
//!
//! Two tables rather than one of 21 columns: throughput (what `ip -s link`
//! and `ifstat` answer) and the error counters (what explains loss). A
//! counter that went backwards — an interface re-created with the same
//! name, a 32-bit wrap on an old kernel — reads `reset`, never a huge rate.

use std::time::Duration;

use super::changes::{Change, bad_line_notes, changes_line, elapsed, file_text, text_of};
use super::{Tab, ViewContext};
use crate::parse::dev::{DevCounters, parse_dev};
use crate::render::{
    Block, Cell, Column, Emphasis, Family, MetricKind, Problem, Row, Screen, TableBlock,
};
use crate::snapshot::Snapshot;

const DEV: &str = "dev";

type Getter = fn(&DevCounters) -> u64;

/// A counter of `net/dev` as the tab shows it.
struct Counter {
    /// Column of the value.
    column: Column,
    /// Key of its change (other counters) or its rate column (throughput).
    second: Column,
    /// The key of `second`.
    second_key: &'static str,
    get: Getter,
    /// Counts bytes (shown in binary units).
    bytes: bool,
    family: Family,
}

const fn counter(
    (title, key): (&'static str, &'static str),
    (second_title, second_key): (&'static str, &'static str),
    get: Getter,
    bytes: bool,
    (name, help): (&'static str, &'static str),
) -> Counter {
    Counter {
        column: Column::new(title, key).numeric(),
        second: Column::new(second_title, second_key).numeric(),
        second_key,
        get,
        bytes,
        family: Family {
            name,
            kind: MetricKind::Counter,
            help,
        },
    }
}

impl Counter {
    /// The importance of the value column and of its second column (see
    /// [`Column::importance`]; the order is in `docs/tabs-namespace.md`).
    const fn ranked(mut self, value: u8, second: u8) -> Counter {
        self.column.importance = Some(value);
        self.second.importance = Some(second);
        self
    }
}

/// The throughput counters, each with its rate column.
static THROUGHPUT: [Counter; 4] = [
    counter(
        ("RX bytes", "rx_bytes"),
        ("RX rate", "rx_bytes_per_second"),
        |d| d.rx_bytes,
        true,
        (
            "netmonitor_interface_receive_bytes",
            "Bytes received by the interface (net/dev)",
        ),
    )
    .ranked(6, 8),
    counter(
        ("RX packets", "rx_packets"),
        ("RX pkt/s", "rx_packets_per_second"),
        |d| d.rx_packets,
        false,
        (
            "netmonitor_interface_receive_packets",
            "Packets received by the interface (net/dev)",
        ),
    )
    .ranked(2, 4),
    counter(
        ("TX bytes", "tx_bytes"),
        ("TX rate", "tx_bytes_per_second"),
        |d| d.tx_bytes,
        true,
        (
            "netmonitor_interface_transmit_bytes",
            "Bytes sent by the interface (net/dev)",
        ),
    )
    .ranked(5, 7),
    counter(
        ("TX packets", "tx_packets"),
        ("TX pkt/s", "tx_packets_per_second"),
        |d| d.tx_packets,
        false,
        (
            "netmonitor_interface_transmit_packets",
            "Packets sent by the interface (net/dev)",
        ),
    )
    .ranked(1, 3),
];

/// The other counters of `net/dev`, in file order; the second column
/// names the key of the change (there is no column of its own).
static OTHER: [Counter; 12] = [
    counter(
        ("RX errs", "rx_errors"),
        ("", "rx_errors_change"),
        |d| d.rx_errs,
        false,
        (
            "netmonitor_interface_receive_errors",
            "Receive errors of any kind (net/dev)",
        ),
    )
    .ranked(9, 0),
    counter(
        ("RX drop", "rx_dropped"),
        ("", "rx_dropped_change"),
        |d| d.rx_drop,
        false,
        (
            "netmonitor_interface_receive_drops",
            "Received packets dropped by the kernel, missed included (net/dev)",
        ),
    )
    .ranked(9, 0),
    counter(
        ("RX fifo", "rx_fifo"),
        ("", "rx_fifo_change"),
        |d| d.rx_fifo,
        false,
        (
            "netmonitor_interface_receive_fifo_errors",
            "Receive ring overruns (net/dev)",
        ),
    )
    .ranked(4, 0),
    counter(
        ("RX frame", "rx_frame"),
        ("", "rx_frame_change"),
        |d| d.rx_frame,
        false,
        (
            "netmonitor_interface_receive_frame_errors",
            "Framing, CRC and length errors (net/dev)",
        ),
    )
    .ranked(5, 0),
    counter(
        ("RX compr", "rx_compressed"),
        ("", "rx_compressed_change"),
        |d| d.rx_compressed,
        false,
        (
            "netmonitor_interface_receive_compressed_packets",
            "Compressed packets received (net/dev)",
        ),
    )
    .ranked(1, 0),
    counter(
        ("RX mcast", "rx_multicast"),
        ("", "rx_multicast_change"),
        |d| d.rx_multicast,
        false,
        (
            "netmonitor_interface_receive_multicast_packets",
            "Multicast packets received (net/dev)",
        ),
    )
    .ranked(3, 0),
    counter(
        ("TX errs", "tx_errors"),
        ("", "tx_errors_change"),
        |d| d.tx_errs,
        false,
        (
            "netmonitor_interface_transmit_errors",
            "Transmit errors of any kind (net/dev)",
        ),
    )
    .ranked(9, 0),
    counter(
        ("TX drop", "tx_dropped"),
        ("", "tx_dropped_change"),
        |d| d.tx_drop,
        false,
        (
            "netmonitor_interface_transmit_drops",
            "Packets dropped before sending (net/dev)",
        ),
    )
    .ranked(9, 0),
    counter(
        ("TX fifo", "tx_fifo"),
        ("", "tx_fifo_change"),
        |d| d.tx_fifo,
        false,
        (
            "netmonitor_interface_transmit_fifo_errors",
            "Transmit ring errors (net/dev)",
        ),
    )
    .ranked(4, 0),
    counter(
        ("TX colls", "tx_collisions"),
        ("", "tx_collisions_change"),
        |d| d.tx_colls,
        false,
        (
            "netmonitor_interface_collisions",
            "Collisions detected while sending (net/dev)",
        ),
    )
    .ranked(2, 0),
    counter(
        ("TX carrier", "tx_carrier"),
        ("", "tx_carrier_change"),
        |d| d.tx_carrier,
        false,
        (
            "netmonitor_interface_transmit_carrier_errors",
            "Carrier and link errors while sending (net/dev)",
        ),
    )
    .ranked(5, 0),
    counter(
        ("TX compr", "tx_compressed"),
        ("", "tx_compressed_change"),
        |d| d.tx_compressed,
        false,
        (
            "netmonitor_interface_transmit_compressed_packets",
            "Compressed packets sent (net/dev)",
        ),
    )
    .ranked(1, 0),
];

const INTERFACE: Column = Column::new("Interface", "interface").label("interface");

/// The tab's screen, narrowed by the `filter` (see [`super::name_filter`]).
pub fn view(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut screen = unfiltered(ctx, now, previous);
    super::name_filter::apply(&mut screen, ctx.view.filter.as_ref(), &[]);
    screen
}

fn unfiltered(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut status = ctx.namespace_status(Tab::Traffic, now);
    status.push(changes_line(now, previous));
    let text = match file_text(now, DEV).or_explain(None, "this namespace has no net/dev file") {
        Ok(text) => text,
        Err(line) => {
            return Screen {
                status,
                blocks: vec![Block::Text(vec![line])],
                ..Screen::default()
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
    let mut throughput = throughput_table(&devices, &changes, previous.is_some(), span, notes);
    throughput.problems = Problem::lines(DEV, &parsed.bad_lines);
    Screen {
        status,
        blocks: vec![
            Block::Table(throughput),
            Block::Table(other_table(&devices, &changes, previous.is_some())),
        ],
        ..Screen::default()
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
        .chain(OTHER.iter())
        .map(|c| c.get)
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
    let mut columns = vec![INTERFACE];
    for counter in &THROUGHPUT {
        columns.push(counter.column.clone());
        columns.push(counter.second.clone());
    }
    // In a total row the values are sums, not samples of a metric.
    let cells = |values: Vec<u64>, changes: Vec<Change>, metric: bool| -> Vec<Cell> {
        THROUGHPUT
            .iter()
            .zip(values.into_iter().zip(changes))
            .flat_map(|(counter, (value, change))| {
                let (mut cell, rate) = if counter.bytes {
                    (Cell::bytes(value), change.byte_rate_cell(span))
                } else {
                    (Cell::uint(value), change.count_rate_cell(span))
                };
                if metric {
                    cell = cell.metric(&counter.family);
                }
                [cell, rate]
            })
            .collect()
    };
    let mut rows: Vec<Row> = devices
        .iter()
        .zip(changes)
        .map(|(device, change)| {
            let mut row = vec![Cell::text(device.name.clone())];
            row.extend(cells(
                THROUGHPUT.iter().map(|t| (t.get)(device)).collect(),
                change.iter().take(THROUGHPUT.len()).copied().collect(),
                true,
            ));
            Row {
                cells: row,
                emphasis: if change.iter().take(THROUGHPUT.len()).any(|c| c.moved()) {
                    Emphasis::Highlight
                } else {
                    Emphasis::None
                },
                total: false,
            }
        })
        .collect();
    let mut total = vec![Cell::null("total")];
    total.extend(cells(
        THROUGHPUT.iter().map(|t| sum(devices, t.get)).collect(),
        (0..THROUGHPUT.len())
            .map(|i| total_change(changes, i, has_previous))
            .collect(),
        false,
    ));
    rows.push(Row {
        total: true,
        ..Row::new(total)
    });
    TableBlock {
        key: "throughput".into(),
        title: Some("Throughput (net/dev)".into()),
        columns,
        rows,
        notes,
        ..TableBlock::default()
    }
}

fn other_table(devices: &[DevCounters], changes: &[Vec<Change>], has_previous: bool) -> TableBlock {
    let offset = THROUGHPUT.len();
    let mut columns = vec![INTERFACE];
    columns.extend(OTHER.iter().map(|c| c.column.clone()));
    let mut rows: Vec<Row> = devices
        .iter()
        .zip(changes)
        .map(|(device, change)| {
            let mut cells = vec![Cell::text(device.name.clone())];
            cells.extend(OTHER.iter().enumerate().map(|(i, counter)| {
                let c = change
                    .get(offset + i)
                    .copied()
                    .unwrap_or(Change::FirstReading);
                c.value_cell((counter.get)(device), counter.second_key)
                    .metric(&counter.family)
            }));
            let trouble = OTHER
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    !c.column.title.ends_with("mcast") && !c.column.title.ends_with("compr")
                })
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
                total: false,
            }
        })
        .collect();
    let mut total = vec![Cell::null("total")];
    total.extend(OTHER.iter().enumerate().map(|(i, counter)| {
        total_change(changes, offset + i, has_previous)
            .value_cell(sum(devices, counter.get), counter.second_key)
    }));
    rows.push(Row {
        total: true,
        ..Row::new(total)
    });
    TableBlock {
        key: "errors".into(),
        title: Some("Errors, drops and other counters (net/dev; changes in parentheses)".into()),
        columns,
        rows,
        facts: Vec::new(),
        problems: Vec::new(),
        labels: Vec::new(),
        notes: vec![
            "errs: errors of any kind · drop: dropped by the kernel (RX includes missed) · fifo: \
             ring overruns · frame: framing/CRC/length errors · colls: collisions · carrier: \
             carrier/link errors"
                .into(),
        ],
        unbuilt_rows: 0,
        later_rows: 0,
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
        // Sums a wrapping addition would print differently: 2^64 - 1 + 2^63
        // bytes wraps to 8.0 EiB, 2^64 - 1 + 5 packets to 4, two changes of
        // 2^63 to 0.
        const HALF: u64 = 1 << 63;
        let before = snapshot(
            0,
            vec![ok(
                DEV,
                &dev_text(&[
                    ("a", counters(u64::MAX - HALF, 0, u64::MAX, u64::MAX)),
                    ("b", counters(0, 0, 0, 0)),
                ]),
            )],
        );
        let now = snapshot(
            1,
            vec![ok(
                DEV,
                &dev_text(&[
                    ("a", counters(u64::MAX, 0, u64::MAX, u64::MAX)),
                    ("b", counters(HALF, 0, HALF, 5)),
                ]),
            )],
        );
        let text = traffic(&now, Some(&before));
        let total = text
            .lines()
            .filter_map(|l| l.strip_prefix('│')?.strip_suffix('│'))
            .map(|l| l.split('┆').map(str::trim).collect::<Vec<_>>())
            .find(|cells| cells.first() == Some(&"total"))
            .expect("a total row");
        // Interface, RX bytes, RX rate, RX packets, RX pkt/s, TX bytes,
        // TX rate, TX packets, TX pkt/s.
        assert_eq!(total[1], "16.0 EiB", "{text}");
        assert_eq!(total[2], "16.0 EiB/s", "{text}");
        assert_eq!(total[5], "16.0 EiB", "{text}");
        assert_eq!(total[6], "8.0 EiB/s", "{text}");
        assert_eq!(total[7], u64::MAX.to_string(), "{text}");
    }
}
