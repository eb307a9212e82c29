//! The analysis tab: "is something wrong with this process's networking?"
//! in one screen. The `net/snmp` tables (Ip, Icmp, IcmpMsg, Tcp, Udp,
//! UdpLite and any other section) with values and changes, packet
//! statistics per CPU from `net/softnet_stat`, then the findings — rules
//! over the changes since the previous tick (see [`super::findings`]).
//!
//! A few `snmp` values are settings, not counters, and read as such:
//! `Ip Forwarding` as enabled/disabled, `Tcp RtoAlgorithm` by name,
//! `RtoMin`/`RtoMax` in ms, `Tcp MaxConn -1` as "no limit"; `Tcp CurrEstab`
//! is a gauge whose change may be negative. The `zeros` and `changed`
//! toggles filter the counter tables as in the stats tab.

use super::changes::{
    Change, CounterLine, FileText, TableKey, bad_line_notes, changes_line, counter_block, elapsed,
    file_text,
};
use super::findings::{Readings, Rule, SoftnetDelta, THRESHOLDS, evaluate, softnet_deltas};
use super::{Tab, ViewContext};
use crate::parse::counters::{CounterFile, CounterSection, CounterValue};
use crate::parse::softnet::SoftnetRow;
use crate::render::{
    Block, Cell, Column, Emphasis, Family, Item, ListBlock, MetricKind, Problem, Row, Screen,
    TableBlock, Value, human_seconds, snake_case,
};
use crate::snapshot::Snapshot;

use super::changes::round_centis;

const SNMP: &str = "snmp";
const SOFTNET: &str = "softnet_stat";

static SNMP_COUNTERS: Family = Family {
    name: "netmonitor_snmp",
    kind: MetricKind::Counter,
    help: "SNMP counters of the namespace (net/snmp), by section and counter",
};
static SNMP_VALUES: Family = Family {
    name: "netmonitor_snmp_value",
    kind: MetricKind::Gauge,
    help: "SNMP gauges and settings of the namespace (net/snmp: Tcp CurrEstab, RtoMin …)",
};
/// A counter column of the softnet table: its heading, metric, where its
/// value and change come from.
struct SoftnetCounter {
    column: Column,
    family: Family,
    value: fn(&SoftnetRow) -> Option<u32>,
    change: fn(&SoftnetDelta) -> Option<u64>,
    /// Printed only by some kernels: the column is shown when a row has it.
    optional: bool,
    /// A change here is trouble and highlights the row.
    trouble: bool,
}

/// The counter columns of the softnet table, in order (the CPU column
/// before them, the backlog gauge after).
static SOFTNET_COUNTERS: [SoftnetCounter; 6] = [
    SoftnetCounter {
        column: Column::new("Processed", "processed")
            .numeric()
            .importance(6),
        family: Family {
            name: "netmonitor_softnet_processed_packets",
            kind: MetricKind::Counter,
            help: "Packets processed per CPU (net/softnet_stat, whole machine)",
        },
        value: |r| Some(r.processed),
        change: |d| Some(d.processed),
        optional: false,
        trouble: false,
    },
    SoftnetCounter {
        column: Column::new("Dropped", "dropped").numeric().importance(8),
        family: Family {
            name: "netmonitor_softnet_dropped_packets",
            kind: MetricKind::Counter,
            help: "Packets dropped per CPU because the backlog was full (net/softnet_stat)",
        },
        value: |r| Some(r.dropped),
        change: |d| Some(d.dropped),
        optional: false,
        trouble: true,
    },
    SoftnetCounter {
        column: Column::new("Time squeezes", "time_squeezes")
            .numeric()
            .importance(7),
        family: Family {
            name: "netmonitor_softnet_time_squeezes",
            kind: MetricKind::Counter,
            help: "Times the packet budget ran out with work left, per CPU (net/softnet_stat)",
        },
        value: |r| Some(r.time_squeeze),
        change: |d| Some(d.time_squeeze),
        optional: false,
        trouble: true,
    },
    SoftnetCounter {
        column: Column::new("CPU collisions", "cpu_collisions")
            .numeric()
            .importance(1),
        family: Family {
            name: "netmonitor_softnet_cpu_collisions",
            kind: MetricKind::Counter,
            help: "Transmit lock collisions per CPU (net/softnet_stat)",
        },
        value: |r| Some(r.cpu_collision),
        change: |d| Some(d.cpu_collision),
        optional: false,
        trouble: false,
    },
    SoftnetCounter {
        column: Column::new("Received RPS", "received_rps")
            .numeric()
            .importance(3),
        family: Family {
            name: "netmonitor_softnet_received_rps",
            kind: MetricKind::Counter,
            help: "Packets steered to the CPU by RPS (net/softnet_stat)",
        },
        value: |r| r.received_rps,
        change: |d| d.received_rps,
        optional: true,
        trouble: false,
    },
    SoftnetCounter {
        column: Column::new("Flow limit", "flow_limit_count")
            .numeric()
            .importance(5),
        family: Family {
            name: "netmonitor_softnet_flow_limit_count",
            kind: MetricKind::Counter,
            help: "Packets dropped by the flow limit per CPU (net/softnet_stat)",
        },
        value: |r| r.flow_limit_count,
        change: |d| d.flow_limit_count,
        optional: true,
        trouble: true,
    },
];
static SOFTNET_BACKLOG: Family = Family {
    name: "netmonitor_softnet_backlog_packets",
    kind: MetricKind::Gauge,
    help: "Packets waiting in the CPU's backlog queue (net/softnet_stat)",
};

/// The tab's screen, narrowed by the `filter` (see [`super::name_filter`]).
pub fn view(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut screen = unfiltered(ctx, now, previous);
    super::name_filter::apply(&mut screen, ctx.view.filter.as_ref(), &[]);
    screen
}

fn unfiltered(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut status = ctx.namespace_status(Tab::Analysis, now);
    status.push(changes_line(now, previous));
    let readings = Readings::of(now);
    let before = previous.map(Readings::of);
    let mut blocks = Vec::new();
    let mut problems = Vec::new();

    match (&readings.snmp, file_text(now, SNMP)) {
        (Some(file), _) => {
            for section in &file.sections {
                let lines = snmp_lines(section, Earlier::of(before.as_ref(), |b| b.snmp.as_ref()));
                blocks.push(counter_block(
                    TableKey::section(section.kind.as_str()),
                    format!("{} (net/{SNMP})", section.kind.as_str()),
                    lines,
                    ctx.counters,
                    previous.is_some(),
                ));
            }
            let notes = bad_line_notes(SNMP, &file.bad_lines);
            if !notes.is_empty() {
                blocks.push(Block::Text(notes));
            }
            problems.extend(Problem::lines(SNMP, &file.bad_lines));
        }
        (None, FileText::Unreadable(why)) => blocks.push(Block::Text(vec![why])),
        (None, _) => blocks.push(Block::Text(vec![
            "this namespace has no net/snmp file".into(),
        ])),
    }

    blocks.push(match (&readings.softnet, file_text(now, SOFTNET)) {
        (Some(parsed), _) => {
            let old = Earlier::of(before.as_ref(), |b| {
                b.softnet.as_ref().map(|p| p.rows.as_slice())
            });
            let mut table = softnet_table(&parsed.rows, old);
            table
                .notes
                .extend(bad_line_notes(SOFTNET, &parsed.bad_lines));
            table.problems = Problem::lines(SOFTNET, &parsed.bad_lines);
            Block::Table(table)
        }
        (None, FileText::Unreadable(why)) => {
            Block::Text(vec![format!("Packet stats per CPU: {why}")])
        }
        (None, _) => Block::Text(vec![
            "Packet stats per CPU: no net/softnet_stat file".into(),
        ]),
    });

    blocks.push(Block::List(findings_block(
        now,
        previous,
        &readings,
        before.as_ref(),
    )));
    Screen {
        status,
        blocks,
        problems,
        ..Screen::default()
    }
}

/// What the previous tick read of a file a table compares with.
#[derive(Debug, Clone, Copy)]
enum Earlier<T> {
    /// There is no previous tick: no changes yet.
    FirstReading,
    /// The previous tick could not read the file: everything is new.
    Unread,
    Read(T),
}

impl<T> Earlier<T> {
    /// What `before` (the previous tick's readings, if any) had, by `get`.
    fn of<'r, R>(before: Option<&'r R>, get: impl FnOnce(&'r R) -> Option<T>) -> Earlier<T> {
        match before.map(get) {
            None => Earlier::FirstReading,
            Some(None) => Earlier::Unread,
            Some(Some(read)) => Earlier::Read(read),
        }
    }
}

/// How a `snmp` value is read.
enum Kind {
    Counter,
    /// A current value (`Tcp CurrEstab`): its change may be negative.
    Gauge,
    /// A configuration value: shown, changes only reported as `changed`.
    Setting,
}

fn kind_of(prefix: &str, name: &str) -> Kind {
    match (prefix, name) {
        ("Ip", "Forwarding" | "DefaultTTL")
        | ("Tcp", "RtoAlgorithm" | "RtoMin" | "RtoMax" | "MaxConn") => Kind::Setting,
        ("Tcp", "CurrEstab") => Kind::Gauge,
        _ => Kind::Counter,
    }
}

/// The value as a person reads it: `enabled`, `other (1)`, `200 ms`,
/// `no limit`, or the number.
pub fn snmp_value(prefix: &str, name: &str, value: CounterValue) -> String {
    let n = value.as_i128();
    match (prefix, name) {
        ("Ip", "Forwarding") => match n {
            1 => "enabled".into(),
            2 => "disabled".into(),
            _ => value.to_string(),
        },
        ("Tcp", "RtoAlgorithm") => {
            // RFC 2012 tcpRtoAlgorithm; Linux reports other(1).
            let name = match n {
                1 => "other",
                2 => "constant",
                3 => "rsre",
                4 => "vanj",
                5 => "rfc2988",
                _ => return value.to_string(),
            };
            format!("{name} ({n})")
        }
        ("Tcp", "RtoMin" | "RtoMax") => format!("{value} ms"),
        ("Tcp", "MaxConn") if n == -1 => "no limit".into(),
        _ => value.to_string(),
    }
}

/// The lines of one `snmp` section, with changes from `before`.
fn snmp_lines(section: &CounterSection, before: Earlier<&CounterFile>) -> Vec<CounterLine> {
    let prefix = section.kind.as_str();
    section
        .counters
        .iter()
        .map(|(name, value)| {
            // `None` without a previous tick, `Some(None)` when that tick
            // did not have the counter (what `Change` takes).
            let old = match before {
                Earlier::FirstReading => None,
                Earlier::Unread => Some(None),
                // IcmpMsg lists only types seen so far: a type missing from
                // a reading that had the file was zero then.
                Earlier::Read(file) => Some(
                    file.get(prefix, name)
                        .or((prefix == "IcmpMsg").then_some(CounterValue::Unsigned(0))),
                ),
            };
            let (change, is_zero) = match kind_of(prefix, name) {
                Kind::Setting => (
                    Change::setting(old.map(|o| o.map(CounterValue::as_i128)), value.as_i128()),
                    false,
                ),
                Kind::Gauge => (
                    Change::gauge(old.map(|o| o.map(CounterValue::as_i128)), value.as_i128()),
                    value.as_i128() == 0,
                ),
                Kind::Counter => match value.as_u64() {
                    Some(now) => (
                        Change::counter(old.map(|o| o.and_then(CounterValue::as_u64)), now),
                        now == 0,
                    ),
                    None => (
                        Change::setting(old.map(|o| o.map(CounterValue::as_i128)), value.as_i128()),
                        false,
                    ),
                },
            };
            let (number, metric) = match kind_of(prefix, name) {
                Kind::Counter => match value.as_u64() {
                    Some(n) => (Value::UInt(n), Some(&SNMP_COUNTERS)),
                    None => (Value::signed(value.as_i128()), Some(&SNMP_VALUES)),
                },
                Kind::Gauge | Kind::Setting => (Value::signed(value.as_i128()), Some(&SNMP_VALUES)),
            };
            CounterLine {
                name: name.clone(),
                value: snmp_value(prefix, name, *value),
                number,
                metric,
                change,
                is_zero,
            }
        })
        .collect()
}

/// How the rows of softnet_stat compare with the previous reading.
enum SoftnetChanges {
    /// No previous tick: change cells are blank.
    FirstReading,
    /// The previous tick had no rows to pair with these: every change is
    /// `new`.
    Unpaired,
    /// Each row's change, or `None` for a CPU the previous reading lacked.
    Paired(Vec<Option<SoftnetDelta>>),
}

impl SoftnetChanges {
    /// The change of `counter` on row `index`.
    fn of(&self, index: usize, counter: &SoftnetCounter) -> Change {
        match self {
            SoftnetChanges::FirstReading => Change::FirstReading,
            SoftnetChanges::Unpaired => Change::New,
            SoftnetChanges::Paired(list) => match list.get(index).copied().flatten() {
                Some(delta) => (counter.change)(&delta).map_or(Change::New, Change::By),
                None => Change::New,
            },
        }
    }
}

/// "Packet stats per CPU": one row per CPU with changes in parentheses, a
/// total row, and only the columns this kernel prints.
fn softnet_table(rows: &[SoftnetRow], before: Earlier<&[SoftnetRow]>) -> TableBlock {
    let shown: Vec<&SoftnetCounter> = SOFTNET_COUNTERS
        .iter()
        .filter(|c| !c.optional || rows.iter().any(|r| (c.value)(r).is_some()))
        .collect();
    let backlog = rows.iter().any(|r| r.backlog_len.is_some());
    let mut columns = vec![Column::new("CPU", "cpu").label("cpu")];
    columns.extend(shown.iter().map(|c| c.column.clone()));
    if backlog {
        columns.push(Column::new("Backlog", "backlog").numeric().importance(4));
    }

    let mut notes = vec!["counted for the whole machine, not per namespace".to_string()];
    let changes = match before {
        Earlier::FirstReading => SoftnetChanges::FirstReading,
        Earlier::Unread => SoftnetChanges::Unpaired,
        Earlier::Read(old) => match softnet_deltas(rows, old) {
            Some(paired) => SoftnetChanges::Paired(paired),
            None => {
                notes.push(
                    "CPUs went on- or offline since the previous tick: changes start again at \
                     the next refresh"
                        .into(),
                );
                SoftnetChanges::Unpaired
            }
        },
    };
    if rows.iter().any(|r| r.cpu.is_none()) {
        notes.push(
            "this kernel prints no CPU column: CPU numbers are row positions, right only while no \
             CPU is offline"
                .into(),
        );
    }

    /// A shown column's sum over CPUs, and of its changes (`None` once a
    /// row had no number to add).
    struct Total {
        value: u64,
        change: Option<u64>,
    }
    let mut totals: Vec<Total> = shown
        .iter()
        .map(|_| Total {
            value: 0,
            change: Some(0),
        })
        .collect();
    let mut table_rows = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let mut cells = vec![Cell::uint(row.cpu_id().into())];
        let mut trouble = false;
        for counter in &SOFTNET_COUNTERS {
            let change = changes.of(index, counter);
            if counter.trouble && change.amount().unwrap_or(0) > 0 {
                trouble = true;
            }
        }
        for (counter, total) in shown.iter().zip(&mut totals) {
            let value = (counter.value)(row);
            let change = changes.of(index, counter);
            total.value = total.value.saturating_add(u64::from(value.unwrap_or(0)));
            total.change = match (total.change, change.amount()) {
                (Some(sum), Some(delta)) => Some(sum.saturating_add(delta)),
                _ => None,
            };
            cells.push(match value {
                Some(v) => change
                    .value_cell(u64::from(v), "change")
                    .metric(&counter.family),
                None => Cell::null("-").with("change", Value::Null),
            });
        }
        if backlog {
            cells.push(row.backlog_len.map_or_else(
                || Cell::null("-"),
                |v| Cell::uint(v.into()).metric(&SOFTNET_BACKLOG),
            ));
        }
        table_rows.push(Row {
            cells,
            emphasis: if trouble {
                Emphasis::Highlight
            } else {
                Emphasis::None
            },
            total: false,
        });
    }
    let mut total = vec![Cell::new("all", Value::Null)];
    for sum in &totals {
        let change = match (&changes, sum.change) {
            (SoftnetChanges::FirstReading, _) => Change::FirstReading,
            (_, Some(delta)) => Change::By(delta),
            (_, None) => Change::New,
        };
        total.push(change.value_cell(sum.value, "change"));
    }
    if backlog {
        let sum = rows
            .iter()
            .map(|r| u64::from(r.backlog_len.unwrap_or(0)))
            .fold(0u64, u64::saturating_add);
        total.push(Cell::uint(sum));
    }
    table_rows.push(Row {
        total: true,
        ..Row::new(total)
    });
    TableBlock {
        key: "softnet".into(),
        title: Some(format!(
            "Packet stats per CPU (net/{SOFTNET}; changes in parentheses)"
        )),
        columns,
        rows: table_rows,
        notes,
        ..TableBlock::default()
    }
}

/// The Findings block: one item per finding, and lines saying that all
/// was quiet or what could not be checked.
fn findings_block(
    now: &Snapshot,
    previous: Option<&Snapshot>,
    readings: &Readings,
    before: Option<&Readings>,
) -> ListBlock {
    let block = |title: String, items: Vec<Item>, notes: Vec<String>| ListBlock {
        key: "findings",
        title,
        marker: "  ! ",
        items,
        notes,
    };
    let (Some(previous), Some(before)) = (previous, before) else {
        return block(
            "Findings".into(),
            Vec::new(),
            vec!["  findings appear from the next refresh (they compare two readings)".into()],
        );
    };
    let Some(span) = elapsed(now, previous) else {
        return block(
            "Findings".into(),
            Vec::new(),
            vec!["  the two readings were taken at the same instant: nothing to compare".into()],
        );
    };
    let seconds = human_seconds(round_centis(span));
    let evaluation = evaluate(readings, before, span, &THRESHOLDS);
    let items: Vec<Item> = evaluation
        .findings
        .iter()
        .map(|f| Item {
            text: f.text.clone(),
            fields: vec![("rule", Value::Str(snake_case(f.rule.name()).into()))],
        })
        .collect();
    let mut lines = Vec::new();
    if evaluation.findings.is_empty() {
        lines.push(format!("  No anomalies in the last {seconds}"));
    }
    // Outside the host namespace the ARP rule can never run: say why once
    // rather than listing it as missing data.
    let host_only = file_text(now, "stat/arp_cache") == FileText::Missing;
    let names: Vec<&str> = evaluation
        .unchecked
        .iter()
        .filter(|r| !(host_only && **r == Rule::ArpResolutionFailures))
        .map(|r| r.name())
        .collect();
    if !names.is_empty() {
        lines.push(format!(
            "  not checked (counters missing from a reading): {}",
            names.join(", ")
        ));
    }
    if host_only {
        lines.push(
            "  ARP resolution failures not checked: ARP cache statistics are only available in the \
             host namespace"
                .into(),
        );
    }
    block(format!("Findings (last {seconds})"), items, lines)
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;

    use super::*;
    use crate::tabs::CounterDisplay;
    use crate::tabs::testing::{bump_pairs, dev_text, failed, ok, show, snapshot, softnet_text};

    const SNMP_618: &str = include_str!("../../testdata/files/snmp-6.18");
    const SNMP_3X: &str = include_str!("../../testdata/files/snmp-3.x-no-icmpmsg");
    const NETSTAT_618: &str = include_str!("../../testdata/files/netstat-6.18");
    const SOFTNET_618: &str = include_str!("../../testdata/files/softnet_stat-6.18-15col");
    const SOFTNET_11: &str = include_str!("../../testdata/files/softnet_stat-4.19-11col");
    const DEV_618: &str = include_str!("../../testdata/files/dev-6.18");
    const CACHE_618: &str = include_str!("../../testdata/files/arp_cache-6.18");

    fn analysis(display: CounterDisplay, now: &Snapshot, previous: Option<&Snapshot>) -> String {
        show(Tab::Analysis, display, now, previous)
    }

    /// A namespace other than the host's: no stat/arp_cache.
    fn files(
        snmp: &str,
        netstat: &str,
        softnet: &str,
        dev: &str,
    ) -> Vec<(&'static str, Result<String, crate::error::ReadError>)> {
        vec![
            ok(SNMP, snmp),
            ok(SOFTNET, softnet),
            ok("netstat", netstat),
            ok("dev", dev),
            failed("stat/arp_cache", ErrorKind::NotFound),
        ]
    }

    #[test]
    fn first_display_of_the_captured_files() {
        let now = snapshot(0, files(SNMP_618, NETSTAT_618, SOFTNET_618, DEV_618));
        let text = analysis(CounterDisplay::default(), &now, None);
        assert!(
            text.lines()
                .any(|l| l.contains("Forwarding") && l.contains("disabled")),
            "{text}"
        );
        assert!(text.contains("no limit"), "{text}");
        assert!(
            text.contains("findings appear from the next refresh"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn a_quiet_tick() {
        let before = snapshot(0, files(SNMP_618, NETSTAT_618, SOFTNET_618, DEV_618));
        let snmp = bump_pairs(SNMP_618, &[("Ip", "InReceives", 3), ("Tcp", "InSegs", 3)]);
        let now = snapshot(2, files(&snmp, NETSTAT_618, SOFTNET_618, DEV_618));
        let text = analysis(CounterDisplay::default(), &now, Some(&before));
        assert!(text.contains("No anomalies in the last 2 s"), "{text}");
        assert!(
            text.contains("ARP resolution failures not checked: ARP cache statistics are only available in the host namespace"),
            "{text}"
        );
        assert!(!text.contains("counters missing"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn a_troubled_tick_names_its_problems() {
        let snmp = bump_pairs(
            SNMP_618,
            &[
                ("Tcp", "OutSegs", 1000),
                ("Tcp", "RetransSegs", 80),
                ("Tcp", "CurrEstab", 3),
                ("Udp", "NoPorts", 50),
                ("Udp", "RcvbufErrors", 9),
                ("Ip", "ReasmFails", 1),
                ("Icmp", "InDestUnreachs", 30),
                ("IcmpMsg", "InType3", 30),
            ],
        );
        let netstat = bump_pairs(
            NETSTAT_618,
            &[
                ("TcpExt", "ListenOverflows", 4),
                ("TcpExt", "ListenDrops", 4),
                ("TcpExt", "SyncookiesSent", 20),
                ("TcpExt", "TCPAbortOnMemory", 1),
            ],
        );
        let softnet = SOFTNET_618.replacen(
            "00000010 00000000 00000000",
            "00000020 00000007 00000009",
            1,
        );
        let mut dev_counters = [0u64; 16];
        dev_counters[3] = 2;
        // The captured file plus one more device, without a second header.
        let with_eth9 = |counters: [u64; 16]| -> String {
            let extra: String = dev_text(&[("eth9", counters)])
                .lines()
                .skip(2)
                .map(|l| format!("{l}\n"))
                .collect();
            format!("{DEV_618}{extra}")
        };
        let dev = with_eth9(dev_counters);
        let before_dev = with_eth9([0; 16]);
        let mut before_files = files(SNMP_618, NETSTAT_618, SOFTNET_618, &before_dev);
        before_files[4] = ok("stat/arp_cache", CACHE_618);
        let before = snapshot(0, before_files);
        let cache = CACHE_618.replacen(
            "00000000   00000000         00000000         00000012",
            "00000003   00000000         00000000         00000012",
            1,
        );
        let mut now_files = files(&snmp, &netstat, &softnet, &dev);
        now_files[4] = ok("stat/arp_cache", &cache);
        let now = snapshot(2, now_files);
        let text = analysis(CounterDisplay::default(), &now, Some(&before));
        for rule in [
            "TCP retransmissions at 8.0%",
            "Listen queue overflows",
            "SYN cookies sent",
            "TCP connections aborted for lack of memory",
            "UDP datagrams dropped",
            "UDP datagrams to closed ports: 50",
            "Receive backlog drops",
            "Receive processing squeezed",
            "IP reassembly failures",
            "Burst of ICMP destination unreachable: 30",
            "ARP resolution failures: ",
            "Interface eth9: errors or drops",
        ] {
            assert!(text.contains(rule), "missing {rule}: {text}");
        }
        assert!(!text.contains("No anomalies"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn an_old_kernel_with_every_counter_shown() {
        let zeros = CounterDisplay {
            zeros: true,
            changed_only: false,
        };
        let now = snapshot(0, files(SNMP_3X, "", SOFTNET_11, DEV_618));
        let text = analysis(zeros, &now, None);
        assert!(text.contains("CPU numbers are row positions"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn changed_keeps_only_what_moved() {
        let changed = CounterDisplay {
            zeros: false,
            changed_only: true,
        };
        let before = snapshot(0, files(SNMP_618, NETSTAT_618, SOFTNET_618, DEV_618));
        let snmp = bump_pairs(SNMP_618, &[("Udp", "InDatagrams", 2)]);
        let now = snapshot(2, files(&snmp, NETSTAT_618, SOFTNET_618, DEV_618));
        let text = analysis(changed, &now, Some(&before));
        assert!(text.contains("InDatagrams"), "{text}");
        assert!(!text.contains("OutDatagrams"), "{text}");
        assert!(
            !text.contains("RtoAlgorithm"),
            "an unchanged setting: {text}"
        );
    }

    #[test]
    fn unreadable_files_are_named_and_the_rest_survives() {
        let now = snapshot(
            0,
            vec![
                failed(SNMP, ErrorKind::PermissionDenied),
                ok(SOFTNET, SOFTNET_618),
            ],
        );
        let text = analysis(CounterDisplay::default(), &now, None);
        assert!(
            text.contains("cannot read /proc/4242/net/snmp (permission denied)"),
            "{text}"
        );
        assert!(text.contains("Packet stats per CPU"), "{text}");
    }

    #[test]
    fn settings_read_as_words() {
        let v = |n: i64| {
            if n < 0 {
                CounterValue::Negative(n)
            } else {
                CounterValue::Unsigned(n.unsigned_abs())
            }
        };
        assert_eq!(snmp_value("Ip", "Forwarding", v(1)), "enabled");
        assert_eq!(snmp_value("Ip", "Forwarding", v(2)), "disabled");
        assert_eq!(snmp_value("Ip", "Forwarding", v(7)), "7");
        assert_eq!(snmp_value("Tcp", "RtoAlgorithm", v(1)), "other (1)");
        assert_eq!(snmp_value("Tcp", "RtoAlgorithm", v(9)), "9");
        assert_eq!(snmp_value("Tcp", "RtoMin", v(200)), "200 ms");
        assert_eq!(snmp_value("Tcp", "MaxConn", v(-1)), "no limit");
        assert_eq!(snmp_value("Tcp", "MaxConn", v(-2)), "-2");
        assert_eq!(snmp_value("Udp", "NoPorts", v(3)), "3");
    }

    #[test]
    fn softnet_columns_follow_the_kernel() {
        // 9 columns: no RPS, flow limit or backlog columns.
        let nine = softnet_text(&[vec![5, 1, 0, 0, 0, 0, 0, 0, 0]]);
        let rows = crate::parse::softnet::parse_softnet(&nine).rows;
        let table = softnet_table(&rows, Earlier::FirstReading);
        let titles: Vec<&str> = table.columns.iter().map(|c| c.title.as_ref()).collect();
        assert_eq!(
            titles,
            [
                "CPU",
                "Processed",
                "Dropped",
                "Time squeezes",
                "CPU collisions"
            ]
        );
        let rows15 = crate::parse::softnet::parse_softnet(SOFTNET_618).rows;
        assert_eq!(
            softnet_table(&rows15, Earlier::FirstReading).columns.len(),
            8
        );
    }
}
