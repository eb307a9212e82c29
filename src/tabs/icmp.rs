//! The icmp tab: the process's ping sockets, and the namespace's ICMP
//! messages by type.
//!
//! Ping sockets (`socket(AF_INET*, SOCK_DGRAM, IPPROTO_ICMP*)`, what an
//! unprivileged `ping` uses) are listed in `net/icmp` and `net/icmp6`,
//! where the local "port" is the ICMP echo identifier; the tab shows it as
//! such. Raw ICMP sockets are not here: they are in the raw tab.
//!
//! The counters come from `net/snmp` (`Icmp` totals, and `IcmpMsg` with one
//! `InType<N>`/`OutType<N>` per message type seen) and `net/snmp6`
//! (`Icmp6*`, `Icmp6InType<N>`/`Icmp6OutType<N>`). They count every
//! message of the network namespace, not only the process's, so scope and
//! filter do not apply to them. `IcmpMsg` is absent until a first message
//! is counted, and lists only non-zero types, so a type missing from a
//! reading counts as 0 and the table says "no ICMP messages yet" rather
//! than failing. Changes since the previous tick use the one delta helper
//! of the counter parsers; a counter that went backwards shows `reset`.

use std::collections::BTreeMap;

use super::changes::bad_line_notes;
use super::sockets::{
    Socket, SocketSet, SocketTab, datagram_state, datagram_summary, drops, host, host_cell,
    socket_screen, user_cell,
};
use super::{Before, Tab, ViewContext};
use crate::parse::LineError;
use crate::parse::counters::{counter_delta, parse_pairs, parse_snmp6};
use crate::render::{
    Block, Cell, Column, Emphasis, Fact, Family as MetricFamily, MetricKind, Problem, Row, Screen,
    TableBlock, Value,
};
use crate::snapshot::Snapshot;

/// The tables this tab displays.
pub const TABLES: [&str; 2] = ["icmp", "icmp6"];

/// The ping-socket tables and the two counter files.
pub const NET_FILES: [&str; 4] = [TABLES[0], TABLES[1], "snmp", "snmp6"];

pub(super) static SPEC: SocketTab = SocketTab {
    tab: Tab::Icmp,
    kind: "ping",
    tables: &TABLES,
    columns: &[
        Column::new("Proto", "protocol").importance(4),
        Column::new("State", "state").importance(3),
        Column::new("Recv-Q", "recv_q_bytes")
            .numeric()
            .importance(6),
        Column::new("Send-Q", "send_q_bytes")
            .numeric()
            .importance(5),
        Column::new("Local Address", "local_ip"),
        Column::new("Echo ID", "echo_id").numeric().importance(7),
        Column::new("Peer Address", "peer_ip"),
        Column::new("Drops", "drops").numeric().importance(2),
        Column::new("User", "user").importance(1),
        Column::new("Inode", "inode").numeric().importance(0),
    ],
    rank: |_| 0,
    cells,
    emphasis: |_| Emphasis::None,
    describe,
    summary: |rows| datagram_summary("ping", rows),
    legend: &[],
};

/// The tab's screen from this tick and the one before (as its view left
/// it); also returns this tick's socket set for the next one.
pub fn view(
    ctx: &ViewContext<'_>,
    now: &Snapshot,
    before: Option<Before<'_>>,
) -> (Screen, SocketSet) {
    let previous = before.map(|b| b.snapshot);
    let (mut screen, set) = socket_screen(&SPEC, ctx, now, before);
    for family in [Family::V4, Family::V6] {
        let (block, facts, problems) = counter_block(family, ctx.netns(), now, previous);
        screen.blocks.push(block);
        screen.facts.extend(facts);
        screen.problems.extend(problems);
    }
    (screen, set)
}

fn cells(ctx: &ViewContext<'_>, socket: &Socket) -> Vec<Cell> {
    let e = &socket.entry;
    vec![
        Cell::text(socket.table),
        Cell::text(datagram_state(e)),
        Cell::uint(e.rx_queue.into()),
        Cell::uint(e.tx_queue.into()),
        host_cell(&e.local.ip(), false),
        Cell::uint(e.local.port().into()),
        host_cell(&e.remote.ip(), true),
        drops(e),
        user_cell(ctx, e.uid),
        Cell::uint(e.inode),
    ]
}

/// `icmp 127.0.0.1 id 15266 → 127.0.0.1 ESTAB`.
fn describe(socket: &Socket) -> String {
    let e = &socket.entry;
    format!(
        "{} {} id {} → {} {}",
        socket.table,
        host(&e.local.ip(), false),
        e.local.port(),
        host(&e.remote.ip(), true),
        datagram_state(e)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn file(self) -> &'static str {
        match self {
            Family::V4 => "snmp",
            Family::V6 => "snmp6",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Family::V4 => "ICMP",
            Family::V6 => "ICMPv6",
        }
    }

    /// The value of the `family` metric label, and the table's key.
    fn key(self) -> (&'static str, &'static str) {
        match self {
            Family::V4 => ("ipv4", "icmp_messages"),
            Family::V6 => ("ipv6", "icmpv6_messages"),
        }
    }
}

static RECEIVED: MetricFamily = MetricFamily {
    name: "netmonitor_icmp_received_messages",
    kind: MetricKind::Counter,
    help: "ICMP messages received by the namespace, by family and type",
};
static SENT: MetricFamily = MetricFamily {
    name: "netmonitor_icmp_sent_messages",
    kind: MetricKind::Counter,
    help: "ICMP messages sent by the namespace, by family and type",
};
static TOTALS: MetricFamily = MetricFamily {
    name: "netmonitor_icmp_messages",
    kind: MetricKind::Counter,
    help: "ICMP totals of the namespace (net/snmp Icmp, net/snmp6 Icmp6), by family and counter",
};

/// One reading of a family's ICMP counters.
#[derive(Debug, Default)]
struct Reading {
    /// Message type → (received, sent); types never seen are absent.
    by_type: BTreeMap<u8, (u64, u64)>,
    /// The named totals (`InMsgs`, `OutErrors` …) in file order.
    totals: Vec<(String, u64)>,
    bad_lines: Vec<LineError>,
}

/// The totals worth a line; the other named counters repeat the types.
const V4_TOTALS: [&str; 7] = [
    "InMsgs",
    "InErrors",
    "InCsumErrors",
    "OutMsgs",
    "OutErrors",
    "OutRateLimitGlobal",
    "OutRateLimitHost",
];
const V6_TOTALS: [&str; 6] = [
    "Icmp6InMsgs",
    "Icmp6InErrors",
    "Icmp6InCsumErrors",
    "Icmp6OutMsgs",
    "Icmp6OutErrors",
    "Icmp6OutRateLimitHost",
];

/// `InType3` → (true, 3), `OutType8` → (false, 8).
fn message_type(name: &str) -> Option<(bool, u8)> {
    if let Some(n) = name.strip_prefix("InType") {
        return n.parse().ok().map(|n| (true, n));
    }
    name.strip_prefix("OutType")
        .and_then(|n| n.parse().ok())
        .map(|n| (false, n))
}

fn add_type(by_type: &mut BTreeMap<u8, (u64, u64)>, incoming: bool, number: u8, value: u64) {
    let slot = by_type.entry(number).or_default();
    if incoming {
        slot.0 = value;
    } else {
        slot.1 = value;
    }
}

fn read(family: Family, text: &str) -> Reading {
    let mut reading = Reading::default();
    match family {
        Family::V4 => {
            let file = parse_pairs(text);
            if let Some(section) = file.section("IcmpMsg") {
                for (name, value) in &section.counters {
                    if let (Some((incoming, number)), Some(value)) =
                        (message_type(name), value.as_u64())
                    {
                        add_type(&mut reading.by_type, incoming, number, value);
                    }
                }
            }
            for name in V4_TOTALS {
                if let Some(value) = file.get_u64("Icmp", name) {
                    reading.totals.push((name.to_string(), value));
                }
            }
            reading.bad_lines = file.bad_lines;
        }
        Family::V6 => {
            let file = parse_snmp6(text);
            for (name, value) in &file.counters {
                if let Some((incoming, number)) = name.strip_prefix("Icmp6").and_then(message_type)
                {
                    add_type(&mut reading.by_type, incoming, number, *value);
                }
            }
            for name in V6_TOTALS {
                if let Some(value) = file.get(name) {
                    reading.totals.push((name.to_string(), value));
                }
            }
            reading.bad_lines = file.bad_lines;
        }
    }
    reading
}

/// The reading of `family` in `snapshot`, or why there is none.
fn reading_of(family: Family, snapshot: &Snapshot) -> Result<Reading, String> {
    match snapshot.file(family.file()) {
        Some(Ok(text)) => Ok(read(family, text)),
        Some(Err(e)) if e.is_not_found() => Err(match family {
            Family::V4 => format!("{}: no net/snmp in this namespace", family.label()),
            Family::V6 => format!("{}: no net/snmp6 (IPv6 is disabled)", family.label()),
        }),
        Some(Err(e)) => Err(format!("{}: {e}", family.label())),
        None => Err(format!(
            "{}: net/{} was not read",
            family.label(),
            family.file()
        )),
    }
}

/// `+3`, `0`, or `reset` when the counter went backwards.
fn change(previous: u64, current: u64) -> String {
    change_cell(previous, current).text.into()
}

/// [`change`] as a cell: the delta, or null after a reset.
fn change_cell(previous: u64, current: u64) -> Cell {
    match counter_delta(previous, current) {
        Some(0) => Cell::new("0", Value::UInt(0)),
        Some(d) => Cell::new(format!("+{d}"), Value::UInt(d)),
        None => Cell::null("reset"),
    }
}

/// The block of one family's counters, its totals as facts, and its
/// problems.
fn counter_block(
    family: Family,
    netns: &str,
    now: &Snapshot,
    previous: Option<&Snapshot>,
) -> (Block, Vec<Fact>, Vec<Problem>) {
    let title = format!(
        "{} messages by type in {netns} (whole namespace)",
        family.label()
    );
    let (family_label, key) = family.key();
    let reading = match reading_of(family, now) {
        Ok(reading) => reading,
        Err(why) => return (Block::Text(vec![title, why]), Vec::new(), Vec::new()),
    };
    let problems = Problem::lines(family.file(), &reading.bad_lines);
    let facts: Vec<Fact> = reading
        .totals
        .iter()
        .map(|(name, value)| {
            Fact::new("icmp_totals", Value::UInt(*value))
                .label("family", family_label)
                .label("counter", name.as_str())
                .metric(&TOTALS)
        })
        .collect();
    let before = previous.and_then(|p| reading_of(family, p).ok());

    let mut notes = Vec::new();
    if reading.by_type.is_empty() {
        notes.push(format!("no {} messages yet", family.label()));
    }
    if !reading.totals.is_empty() {
        let parts: Vec<String> = reading
            .totals
            .iter()
            .map(|(name, value)| {
                let previous = before
                    .as_ref()
                    .and_then(|b| b.totals.iter().find(|(n, _)| n == name))
                    .map(|(_, v)| *v);
                match previous.map(|p| change(p, *value)) {
                    Some(delta) if delta != "0" => format!("{name} {value} ({delta})"),
                    _ => format!("{name} {value}"),
                }
            })
            .collect();
        notes.push(format!("totals: {}", parts.join(", ")));
    }
    notes.extend(bad_line_notes(family.file(), &reading.bad_lines));
    if reading.by_type.is_empty() {
        let mut lines = vec![title];
        lines.extend(notes);
        return (Block::Text(lines), facts, problems);
    }

    let mut columns = vec![
        Column::new("Type", "type").label("type"),
        Column::new("In", "received").numeric(),
    ];
    if before.is_some() {
        columns.push(Column::new("In Δ", "received_change").numeric());
    }
    columns.push(Column::new("Out", "sent").numeric());
    if before.is_some() {
        columns.push(Column::new("Out Δ", "sent_change").numeric());
    }
    let rows = reading
        .by_type
        .iter()
        .map(|(&number, &(received, sent))| {
            let name = type_name(family, number);
            let type_name = name
                .rsplit_once(" (")
                .map_or(Value::Null, |(n, _)| Value::Str(n.into()));
            let mut cells = vec![
                Cell::new(name, Value::UInt(number.into())).with("type_name", type_name),
                Cell::uint(received).metric(&RECEIVED),
            ];
            let mut changed = false;
            let earlier = before.as_ref().map(|b| {
                // A type absent from the previous reading had count 0.
                b.by_type.get(&number).copied().unwrap_or_default()
            });
            if let Some((was_in, _)) = earlier {
                cells.push(change_cell(was_in, received));
                changed |= received != was_in;
            }
            cells.push(Cell::uint(sent).metric(&SENT));
            if let Some((_, was_out)) = earlier {
                cells.push(change_cell(was_out, sent));
                changed |= sent != was_out;
            }
            Row {
                cells,
                emphasis: if changed {
                    Emphasis::Highlight
                } else {
                    Emphasis::None
                },
                total: false,
            }
        })
        .collect();
    let block = Block::Table(TableBlock {
        key: key.into(),
        title: Some(title),
        columns,
        rows,
        notes,
        facts: Vec::new(),
        problems: problems.clone(),
        labels: vec![("family", family_label.into())],
        unbuilt_rows: 0,
        later_rows: 0,
    });
    (block, facts, Vec::new())
}

/// `destination unreachable (3)`; `type 77` for numbers without a name.
fn type_name(family: Family, number: u8) -> String {
    let name = match family {
        Family::V4 => match number {
            0 => "echo reply",
            3 => "destination unreachable",
            4 => "source quench",
            5 => "redirect",
            6 => "alternate host address",
            8 => "echo request",
            9 => "router advertisement",
            10 => "router solicitation",
            11 => "time exceeded",
            12 => "parameter problem",
            13 => "timestamp request",
            14 => "timestamp reply",
            15 => "information request",
            16 => "information reply",
            17 => "address mask request",
            18 => "address mask reply",
            30 => "traceroute",
            40 => "photuris",
            42 => "extended echo request",
            43 => "extended echo reply",
            _ => "",
        },
        Family::V6 => match number {
            1 => "destination unreachable",
            2 => "packet too big",
            3 => "time exceeded",
            4 => "parameter problem",
            128 => "echo request",
            129 => "echo reply",
            130 => "multicast listener query",
            131 => "multicast listener report",
            132 => "multicast listener done",
            133 => "router solicitation",
            134 => "router advertisement",
            135 => "neighbor solicitation",
            136 => "neighbor advertisement",
            137 => "redirect",
            138 => "router renumbering",
            139 => "node information query",
            140 => "node information response",
            141 => "inverse neighbor solicitation",
            142 => "inverse neighbor advertisement",
            143 => "multicast listener report v2",
            144 => "home agent address discovery request",
            145 => "home agent address discovery reply",
            146 => "mobile prefix solicitation",
            147 => "mobile prefix advertisement",
            151 => "multicast router advertisement",
            152 => "multicast router solicitation",
            153 => "multicast router termination",
            160 => "extended echo request",
            161 => "extended echo reply",
            _ => "",
        },
    };
    if name.is_empty() {
        format!("type {number}")
    } else {
        format!("{name} ({number})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_types_by_name() {
        assert_eq!(message_type("InType3"), Some((true, 3)));
        assert_eq!(message_type("OutType255"), Some((false, 255)));
        assert_eq!(message_type("OutType256"), None);
        assert_eq!(message_type("InMsgs"), None);
        assert_eq!(message_type("InType"), None);
        assert_eq!(type_name(Family::V4, 3), "destination unreachable (3)");
        assert_eq!(type_name(Family::V6, 128), "echo request (128)");
        assert_eq!(type_name(Family::V4, 77), "type 77");
    }

    #[test]
    fn changes_never_go_negative() {
        assert_eq!(change(5, 8), "+3");
        assert_eq!(change(5, 5), "0");
        assert_eq!(change(8, 5), "reset");
        assert_eq!(change(0, u64::MAX), format!("+{}", u64::MAX));
    }

    #[test]
    fn split_icmpmsg_pairs_are_merged_by_type() {
        let reading = read(
            Family::V4,
            include_str!("../../testdata/files/snmp-4.x-icmpmsg-2pairs"),
        );
        // Types 0 3 4 5 8 11 12 13 17 in, 0 3 4 8 11 12 13 14 17 out.
        assert_eq!(
            reading.by_type.keys().copied().collect::<Vec<_>>(),
            vec![0, 3, 4, 5, 8, 11, 12, 13, 14, 17]
        );
        assert_eq!(reading.by_type[&3], (41, 40));
        assert_eq!(reading.by_type[&5], (1, 0));
        // OutType14 and OutType17 come from the second pair.
        assert_eq!(reading.by_type[&14], (0, 1));
        assert_eq!(reading.by_type[&17], (1, 1));
        assert_eq!(reading.totals.first(), Some(&("InMsgs".to_string(), 63)));
        assert!(reading.bad_lines.is_empty());
    }

    #[test]
    fn missing_icmpmsg_means_no_types() {
        let reading = read(
            Family::V4,
            include_str!("../../testdata/files/snmp-3.x-no-icmpmsg"),
        );
        assert!(reading.by_type.is_empty());
        assert!(!reading.totals.is_empty());
    }

    #[test]
    fn icmp6_types_from_snmp6() {
        let reading = read(Family::V6, include_str!("../../testdata/files/snmp6-6.18"));
        assert_eq!(reading.by_type[&128], (2, 4));
        assert_eq!(reading.by_type[&135], (0, 2));
        assert_eq!(
            reading.totals.first(),
            Some(&("Icmp6InMsgs".to_string(), 8))
        );
    }
}
