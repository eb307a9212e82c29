//! The flows tab: how many bytes per second each TCP connection of the
//! process sends and receives, from the kernel's own per-socket counters
//! (`tcp_info`, dumped by [`crate::diag`]), with its round-trip time,
//! congestion window, retransmissions and delivery rate.
//!
//! Rates are differences between two dumps divided by the time between
//! them; this file also holds the process-wide rate every status box shows
//! ([`process_rates`]), so all tabs share one definition. A connection that
//! was not in the earlier dump, or whose counters went backwards (its inode
//! was reused by a new socket), has no rate until the next refresh: its
//! counters cover an unknown stretch of time, and dividing them by one
//! interval would invent a burst.

use std::collections::HashMap;

use super::sockets::{Ownership, endpoint_cell, held_sockets, is_own};
use super::{Tab, ViewContext};
use crate::accounting::TcpTotals;
use crate::ledger::{Attribution, Refresh};
use crate::parse::sockets::TcpState;
use crate::render::{
    Block, Cell, Column, Emphasis, Fact, Family, MetricKind, Problem, Row, Screen, TableBlock,
    Value, grouped, human_rate,
};
use crate::snapshot::Snapshot;
use crate::snapshot::{DumpPlace, TcpFlow};

/// The columns; local and peer name each connection's metrics.
const COLUMNS: [Column; 11] = [
    Column::new("Local Address:Port", "local_address").label("local"),
    Column::new("Peer Address:Port", "peer_address").label("peer"),
    Column::new("State", "state"),
    Column::new("Sent/s", "sent_bytes_per_second")
        .numeric()
        .importance(9),
    Column::new("Recv/s", "received_bytes_per_second")
        .numeric()
        .importance(9),
    // The byte totals before the rtt: the total line's are the process's
    // over the session, closed connections included.
    Column::new("Sent (B)", "sent_bytes")
        .numeric()
        .importance(8),
    Column::new("Received (B)", "received_bytes")
        .numeric()
        .importance(8),
    Column::new("RTT ± var (ms)", "rtt_ms")
        .numeric()
        .importance(7),
    Column::new("Cwnd", "cwnd").numeric().importance(3),
    Column::new("Retrans", "retransmits")
        .numeric()
        .importance(4),
    Column::new("Delivery", "delivery_bytes_per_second")
        .numeric()
        .importance(2),
];

static SENT_BYTES: Family = Family {
    name: "netmonitor_connection_sent_bytes",
    kind: MetricKind::Counter,
    help: "Payload bytes a TCP connection of the process sent (tcp_info, retransmissions counted once)",
};
static RECEIVED_BYTES: Family = Family {
    name: "netmonitor_connection_received_bytes",
    kind: MetricKind::Counter,
    help: "Payload bytes a TCP connection of the process received in order (tcp_info)",
};
static RTT: Family = Family {
    name: "netmonitor_connection_rtt_milliseconds",
    kind: MetricKind::Gauge,
    help: "Smoothed round-trip time of a TCP connection of the process (tcp_info)",
};
static CWND: Family = Family {
    name: "netmonitor_connection_cwnd_segments",
    kind: MetricKind::Gauge,
    help: "Congestion window of a TCP connection of the process, in segments (tcp_info)",
};
static RETRANSMITS: Family = Family {
    name: "netmonitor_connection_retransmits",
    kind: MetricKind::Counter,
    help: "Segments a TCP connection of the process retransmitted over its life (tcp_info)",
};

/// Sending and receiving rates, bytes per second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub sent: f64,
    pub received: f64,
}

impl Rates {
    fn total(self) -> f64 {
        self.sent + self.received
    }
}

/// Payload bytes the connection sent, each byte once: `tcpi_bytes_sent`
/// less retransmitted bytes. (`tcpi_bytes_acked` would count the SYN and
/// FIN of an active opener as one byte each.)
pub fn sent_bytes(flow: &TcpFlow) -> u64 {
    flow.bytes_sent.saturating_sub(flow.bytes_retrans)
}

/// Payload bytes the connection received in order: `tcpi_bytes_received`,
/// less the one it counts for the peer's FIN once that has arrived (states
/// CLOSE-WAIT, LAST-ACK and CLOSING).
pub fn received_bytes(flow: &TcpFlow) -> u64 {
    let fin_received = matches!(
        TcpState::from_code(flow.state),
        TcpState::CloseWait | TcpState::LastAck | TcpState::Closing
    );
    flow.bytes_received.saturating_sub(u64::from(fin_received))
}

/// The earlier dump, indexed for rate computation.
/// The shortest time between two dumps that rates are computed over.
const MIN_RATE_WINDOW_SECONDS: f64 = 0.25;

struct Baseline<'a> {
    flows: HashMap<u64, &'a TcpFlow>,
    seconds: f64,
}

impl<'a> Baseline<'a> {
    /// The base for rates in `now`: the earlier snapshot's dump, when both
    /// dumps exist and time went forward between them.
    fn of(now: &Snapshot, earlier: Option<&'a Snapshot>) -> Option<Baseline<'a>> {
        let earlier = earlier?;
        let (Some(Ok(_)), Some(Ok(dump))) = (&now.flows, &earlier.flows) else {
            return None;
        };
        let seconds = now
            .instant
            .checked_duration_since(earlier.instant)?
            .as_secs_f64();
        // A window of a few milliseconds (a tab typed just after a refresh)
        // would show bursty traffic as 0 B/s or as a spike: wait for the
        // next refresh instead.
        if seconds < MIN_RATE_WINDOW_SECONDS {
            return None;
        }
        let flows = dump
            .flows
            .iter()
            .filter(|f| f.inode != 0)
            .map(|f| (f.inode, f))
            .collect();
        Some(Baseline { flows, seconds })
    }

    /// The connection's rates since the earlier dump; `None` for a
    /// connection that is new since then (absent, another socket under a
    /// reused inode, or counters that went backwards).
    fn rates(&self, flow: &TcpFlow) -> Option<Rates> {
        let before = self.flows.get(&flow.inode)?;
        if before.local != flow.local || before.peer != flow.peer {
            return None;
        }
        let sent = sent_bytes(flow).checked_sub(sent_bytes(before))?;
        let received = received_bytes(flow).checked_sub(received_bytes(before))?;
        Some(Rates {
            sent: sent as f64 / self.seconds,
            received: received as f64 / self.seconds,
        })
    }
}

/// The process's TCP rates since `earlier`, summed over its connections
/// present in both dumps: for the status box of every tab. `None` when
/// there is nothing honest to show (no earlier dump, no dump now, or the
/// process's `fd/` could not be read, so its connections are unknown).
pub fn process_rates(now: &Snapshot, earlier: Option<&Snapshot>) -> Option<Rates> {
    let baseline = Baseline::of(now, earlier)?;
    let Some(Ok(dump)) = &now.flows else {
        return None;
    };
    let Some(Ok(fd)) = &now.fd else {
        return None;
    };
    Some(
        dump.flows
            .iter()
            .filter(|f| is_own(&fd.inodes, f.inode))
            .filter_map(|f| baseline.rates(f))
            .fold(Rates::default(), |sum, r| Rates {
                sent: sum.sent + r.sent,
                received: sum.received + r.received,
            }),
    )
}

pub fn view(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut status = vec![ctx.headline(Tab::Flows, now)];
    let dump = match &now.flows {
        Some(Ok(dump)) => dump,
        Some(Err(error)) => {
            let mut lines = vec![format!("no connection counters: {error}")];
            lines.extend(error.remedy().map(String::from));
            return unavailable(ctx, status, lines);
        }
        None => {
            return unavailable(
                ctx,
                status,
                vec![
                    "no connection counters: they come from the running kernel over netlink (sock_diag), and a captured /proc tree (--proc-root) has none".into(),
                ],
            );
        }
    };

    let in_namespace: Vec<&TcpFlow> = dump.flows.iter().collect();
    let place_note = match &dump.place {
        DumpPlace::SameNamespace => None,
        DumpPlace::Entered => Some(
            "counters read inside the process's network namespace (entered on a helper thread)"
                .to_string(),
        ),
        DumpPlace::SameByNetlinkTable(why) => Some(format!(
            "{why}: its net/netlink lists netmonitor's socket, so it shares netmonitor's network namespace"
        )),
    };
    // A dump that kept only the process's connections counted the rest.
    let namespace_total = dump
        .own
        .as_ref()
        .map_or(in_namespace.len(), |own| own.in_namespace);
    let scan = match &now.processes {
        Some(Ok(scan)) if ctx.view.scope.needs_owners() => Some(scan),
        _ => None,
    };
    let mut scope_notes = Vec::new();
    let (owner, held) = held_sockets(now, scan, ctx, &mut scope_notes);
    let mine: Vec<&TcpFlow> = match (&owner, &held) {
        (Ownership::Own | Ownership::Tree { .. }, Some(inodes)) => in_namespace
            .into_iter()
            .filter(|f| is_own(inodes, f.inode))
            .collect(),
        _ => in_namespace,
    };
    status.push(match &owner {
        Ownership::Own => format!(
            "own connections: {} of {} TCP connections in {}",
            mine.len(),
            namespace_total,
            ctx.netns()
        ),
        Ownership::Tree { descendants } => format!(
            "connections of pid {} and its {descendants} {}: {} of {} TCP connections in {}",
            ctx.process.pid,
            crate::render::plural(*descendants, "descendant", "descendants"),
            mine.len(),
            namespace_total,
            ctx.netns()
        ),
        Ownership::All => format!("every TCP connection in {}: {}", ctx.netns(), mine.len()),
        Ownership::NamespaceFallback(why) => format!("{why} ({})", ctx.netns()),
    });
    status.extend(scope_notes);
    status.extend(place_note);
    status.extend(ctx.process_notes());
    status.extend(super::thread_notes(now));

    let baseline = Baseline::of(now, previous.or(ctx.earlier));
    let mut measured: Vec<(&TcpFlow, Option<Rates>)> = mine
        .into_iter()
        .map(|f| (f, baseline.as_ref().and_then(|b| b.rates(f))))
        .collect();
    measured.sort_by(|(fa, ra), (fb, rb)| {
        let rate = |r: &Option<Rates>| r.map_or(0.0, Rates::total);
        rate(rb)
            .total_cmp(&rate(ra))
            .then_with(|| volume(fb).cmp(&volume(fa)))
            .then_with(|| (fa.local, fa.peer).cmp(&(fb.local, fb.peer)))
    });

    let mut rows: Vec<Row> = measured
        .iter()
        .map(|(flow, rates)| connection_row(flow, *rates, baseline.is_some()))
        .collect();
    let fresh = measured.iter().filter(|(_, r)| r.is_none()).count();
    // In scope own the session's totals count the connections that
    // closed too: the total line is theirs.
    let session = match (ctx.totals, &owner) {
        (Some(TcpTotals::Counted(refresh)), Ownership::Own) => Some(refresh.as_ref()),
        _ => None,
    };
    match session {
        Some(refresh) => rows.push(session_total_row(&measured, refresh)),
        None if !measured.is_empty() => rows.push(total_row(&measured, baseline.is_some())),
        None => {}
    }

    let count = measured.len();
    let mut notes = vec![format!(
        "{count} TCP {}",
        if count == 1 {
            "connection"
        } else {
            "connections"
        }
    )];
    if baseline.is_none() {
        notes.push(
            "rates appear from the next refresh: they are measured between two refreshes".into(),
        );
    } else if fresh > 0 {
        notes.push(format!(
            "{fresh} new since the previous refresh (marked new): {} rates appear from the next refresh",
            if fresh == 1 { "its" } else { "their" }
        ));
    }
    notes.push(
        "Sent: payload bytes sent, retransmissions not counted twice; Received: payload bytes received in order. UDP has no byte counters in the kernel.".into(),
    );
    let mut blocks = vec![Block::Table(TableBlock {
        key: "connections".into(),
        title: None,
        columns: COLUMNS.to_vec(),
        rows,
        notes,
        facts: vec![Fact::new("connections", Value::UInt(count as u64))],
        ..TableBlock::default()
    })];
    blocks.extend(session.map(closed_block));
    Screen {
        status,
        blocks,
        ..Screen::default()
    }
}

/// The columns of the connections that closed.
const CLOSED_COLUMNS: [Column; 5] = [
    Column::new("Local Address:Port", "local_address"),
    Column::new("Peer Address:Port", "peer_address"),
    Column::new("Sent (B)", "sent_bytes").numeric(),
    Column::new("Received (B)", "received_bytes").numeric(),
    Column::new("Counted as", "attribution"),
];

/// How many closed connections are listed by name.
const CLOSED_SHOWN: usize = 5;

/// The process's connections that closed since the last refresh: how
/// many, their bytes, the biggest few with their peers.
fn closed_block(refresh: &Refresh) -> Block {
    let since = &refresh.since_last;
    let rows = since
        .biggest
        .iter()
        .take(CLOSED_SHOWN)
        .map(|closed| Row {
            cells: vec![
                endpoint_cell(&closed.local, false, "local_ip", "local_port"),
                endpoint_cell(&closed.peer, true, "peer_ip", "peer_port"),
                count_cell(closed.bytes.sent),
                count_cell(closed.bytes.received),
                Cell::text(match &closed.how {
                    Attribution::Seen => "seen alive".to_string(),
                    Attribution::Accepted { shared_with } if shared_with.is_empty() => {
                        "accepted on its listener".to_string()
                    }
                    Attribution::Accepted { shared_with } => format!(
                        "accepted on a listener shared with pid {}",
                        shared_with
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Attribution::Settled => "last counters (no close event)".to_string(),
                }),
            ],
            emphasis: Emphasis::None,
            total: false,
        })
        .collect();
    let mut notes = vec![format!(
        "{} {} closed since the last refresh: {} B sent, {} B received{}",
        since.closes,
        crate::render::plural(since.closes as usize, "connection", "connections"),
        grouped(since.bytes.sent),
        grouped(since.bytes.received),
        if since.closes as usize > CLOSED_SHOWN {
            format!(" (the {CLOSED_SHOWN} biggest shown)")
        } else {
            String::new()
        }
    )];
    let counters = &refresh.counters;
    notes.push(format!(
        "over the session: {} of the process's connections closed; {} others of the namespace closed unattributed ({} B), {} close events lost",
        counters.attributed_closes,
        counters.unattributed_closes,
        grouped(counters.unattributed_bytes),
        counters.lost_events
    ));
    for listener in &refresh.shared {
        notes.push(format!(
            "listener {} is shared with pid {}: {} connections accepted on it closed ({} B received) — any of its holders may have served them",
            listener.local,
            listener
                .shared_with
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            listener.closes,
            grouped(listener.bytes.received)
        ));
    }
    Block::Table(TableBlock {
        key: "closed".into(),
        title: Some("Closed since the last refresh".into()),
        columns: CLOSED_COLUMNS.to_vec(),
        rows,
        notes,
        facts: vec![
            Fact::new("closed_connections", Value::UInt(since.closes)),
            Fact::new("closed_sent_bytes", Value::UInt(since.bytes.sent)),
            Fact::new("closed_received_bytes", Value::UInt(since.bytes.received)),
        ],
        ..TableBlock::default()
    })
}

/// The total line of scope own when closes are followed: the process's
/// rates and byte totals over the session, closed connections included.
fn session_total_row(measured: &[(&TcpFlow, Option<Rates>)], refresh: &Refresh) -> Row {
    let mut row = total_row(measured, refresh.rates.is_some());
    if let Some(rates) = refresh.rates {
        row.cells[3] = rate_cell(rates.sent);
        row.cells[4] = rate_cell(rates.received);
    }
    row.cells[0] = Cell::null("total, closed included");
    row.cells[5] = count_cell(refresh.totals.sent);
    row.cells[6] = count_cell(refresh.totals.received);
    row
}

/// The screen when no counters can be shown: the status box and why.
fn unavailable(ctx: &ViewContext<'_>, mut status: Vec<String>, lines: Vec<String>) -> Screen {
    status.extend(ctx.process_notes());
    let problems = lines
        .iter()
        .map(|line| Problem::file("netlink sock_diag", line.clone()))
        .collect();
    Screen {
        status,
        blocks: vec![Block::Text(lines)],
        problems,
        ..Screen::default()
    }
}

/// Bytes moved both ways over the connection's life.
fn volume(flow: &TcpFlow) -> u64 {
    sent_bytes(flow).saturating_add(received_bytes(flow))
}

fn connection_row(flow: &TcpFlow, rates: Option<Rates>, measured: bool) -> Row {
    let state = TcpState::from_code(flow.state);
    let (sent, received) = match (rates, measured) {
        (Some(r), _) => (rate_cell(r.sent), rate_cell(r.received)),
        (None, true) => (Cell::null("new"), Cell::null("new")),
        (None, false) => (Cell::null("-"), Cell::null("-")),
    };
    Row {
        cells: vec![
            endpoint_cell(&flow.local, false, "local_ip", "local_port"),
            endpoint_cell(&flow.peer, true, "peer_ip", "peer_port"),
            Cell::text(state.name()),
            sent,
            received,
            count_cell(sent_bytes(flow)).metric(&SENT_BYTES),
            count_cell(received_bytes(flow)).metric(&RECEIVED_BYTES),
            Cell::new(
                format!("{} ± {}", millis(flow.rtt_us), millis(flow.rttvar_us)),
                Value::float(f64::from(flow.rtt_us) / 1000.0),
            )
            .with(
                "rtt_var_ms",
                Value::float(f64::from(flow.rttvar_us) / 1000.0),
            )
            .metric(&RTT),
            Cell::uint(flow.snd_cwnd.into()).metric(&CWND),
            Cell::new(
                format!("{}/{}", flow.retrans, flow.total_retrans),
                Value::UInt(flow.total_retrans.into()),
            )
            .with("retransmits_now", Value::UInt(flow.retrans.into()))
            .metric(&RETRANSMITS),
            rate_cell(flow.delivery_rate as f64),
        ],
        emphasis: match state {
            _ if measured && rates.is_none() => Emphasis::Highlight,
            TcpState::Established | TcpState::SynSent => Emphasis::None,
            _ => Emphasis::Dim,
        },
        total: false,
    }
}

/// A rate shown in binary units, its value in bytes per second.
fn rate_cell(bytes_per_second: f64) -> Cell {
    Cell::new(human_rate(bytes_per_second), Value::float(bytes_per_second))
}

/// An exact byte count shown with thousands separated.
fn count_cell(bytes: u64) -> Cell {
    Cell::new(grouped(bytes), Value::UInt(bytes))
}

/// The process's sums: rates of the connections measured, totals of all.
fn total_row(measured: &[(&TcpFlow, Option<Rates>)], have_rates: bool) -> Row {
    let rates = measured
        .iter()
        .filter_map(|(_, r)| *r)
        .fold(Rates::default(), |sum, r| Rates {
            sent: sum.sent + r.sent,
            received: sum.received + r.received,
        });
    let sum = |f: fn(&TcpFlow) -> u64| {
        measured
            .iter()
            .fold(0u64, |total, (flow, _)| total.saturating_add(f(flow)))
    };
    let retrans = measured
        .iter()
        .fold(0u64, |total, (flow, _)| total + u64::from(flow.retrans));
    let total_retrans = measured.iter().fold(0u64, |total, (flow, _)| {
        total + u64::from(flow.total_retrans)
    });
    let (sent, received) = if have_rates {
        (rate_cell(rates.sent), rate_cell(rates.received))
    } else {
        (Cell::null("-"), Cell::null("-"))
    };
    Row {
        cells: vec![
            Cell::null("total"),
            Cell::null(""),
            Cell::null(""),
            sent,
            received,
            count_cell(sum(sent_bytes)),
            count_cell(sum(received_bytes)),
            Cell::null(""),
            Cell::null(""),
            Cell::new(
                format!("{retrans}/{total_retrans}"),
                Value::UInt(total_retrans),
            )
            .with("retransmits_now", Value::UInt(retrans)),
            Cell::null(""),
        ],
        emphasis: Emphasis::None,
        total: true,
    }
}

/// Microseconds as milliseconds: `0.03`, `12.71`, `250.0`.
fn millis(us: u32) -> String {
    let ms = f64::from(us) / 1000.0;
    if ms < 100.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Endian;
    use crate::render::{RenderOptions, render};
    use crate::snapshot::FlowDump;
    use crate::snapshot::{FdSockets, Process};
    use chrono::TimeZone;
    use std::time::{Duration, Instant};

    fn flow(inode: u64, local: &str, peer: &str, sent: u64, received: u64) -> TcpFlow {
        TcpFlow {
            inode,
            uid: 0,
            local: local.parse().unwrap(),
            peer: peer.parse().unwrap(),
            interface: 0,
            cookie: inode.to_le_bytes(),
            state: 1,
            bytes_acked: sent.saturating_add(1),
            bytes_received: received,
            bytes_sent: sent,
            bytes_retrans: 0,
            rtt_us: 1250,
            rttvar_us: 400,
            snd_cwnd: 10,
            retrans: 0,
            total_retrans: 0,
            delivery_rate: 2_000_000,
        }
    }

    fn snapshot(at: Instant, flows: Vec<TcpFlow>, own: &[u64]) -> Snapshot {
        Snapshot {
            taken_at: chrono::Local
                .with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
                .unwrap(),
            instant: at,
            tables: Vec::new(),
            fd: Some(Ok(FdSockets {
                inodes: own.iter().copied().collect(),
                descriptors: own.len(),
                ..FdSockets::default()
            })),
            processes: None,
            flows: Some(Ok(FlowDump {
                flows,
                place: DumpPlace::SameNamespace,
                own: None,
            })),
            listeners: None,
            neighbours: None,
        }
    }

    static VIEW: crate::tabs::ViewSettings = crate::tabs::ViewSettings {
        scope: crate::tabs::Scope::Own,
        filter: None,
    };

    fn process() -> Process {
        Process {
            pid: 4242,
            name: "streamer".into(),
            cmdline: "streamer".into(),
            start_time: 1,
            parent: 1,
            netns: Some("net:[4026532177]".into()),
            netns_error: None,
            via_thread: None,
        }
    }

    fn context<'a>(
        process: &'a Process,
        users: &'a HashMap<u32, String>,
        earlier: Option<&'a Snapshot>,
    ) -> ViewContext<'a> {
        ViewContext {
            process,
            interval: Duration::from_secs(2),
            users,
            numeric: false,
            endian: Endian::Little,
            clock_ticks: 100,
            counters: Default::default(),
            view: &VIEW,
            earlier,
            totals: None,
            replay: None,
            rows_shown: None,
            rows_later: false,
        }
    }

    fn text(screen: &Screen) -> String {
        render(
            screen,
            &RenderOptions {
                width: Some(150),
                colour: false,
                max_rows: None,
            },
        )
    }

    /// Two ticks 2 s apart: a fast sender, a receiver, a connection opened
    /// between the ticks, one whose inode was reused (counters went
    /// backwards), one that closed, and a neighbour's connection.
    fn two_ticks() -> (Snapshot, Snapshot) {
        let t0 = Instant::now();
        let before = snapshot(
            t0,
            vec![
                flow(10, "127.0.0.1:40000", "127.0.0.1:5001", 1_000_000, 100),
                flow(11, "127.0.0.1:5001", "127.0.0.1:40001", 0, 50_000),
                flow(12, "[::1]:40002", "[::1]:443", 9_000_000, 9_000_000),
                flow(13, "127.0.0.1:40003", "127.0.0.1:80", 70, 80),
                flow(99, "127.0.0.1:7000", "127.0.0.1:7001", 0, 0),
            ],
            &[10, 11, 12, 13],
        );
        let after = snapshot(
            t0 + Duration::from_secs(2),
            vec![
                flow(10, "127.0.0.1:40000", "127.0.0.1:5001", 3_000_000, 100),
                flow(11, "127.0.0.1:5001", "127.0.0.1:40001", 0, 250_000),
                // Inode 12 reused by a new socket with small counters.
                flow(12, "[::1]:40002", "[::1]:443", 10, 20),
                flow(14, "127.0.0.1:40004", "127.0.0.1:8080", 5_000, 6_000),
                flow(99, "127.0.0.1:7000", "127.0.0.1:7001", 7_000_000, 0),
            ],
            &[10, 11, 12, 14],
        );
        (before, after)
    }

    #[test]
    fn rates_come_from_two_dumps_and_new_sockets_wait() {
        let (before, after) = two_ticks();
        let baseline = Baseline::of(&after, Some(&before)).unwrap();
        let rate = |inode: u64| {
            let f = after.flows.as_ref().unwrap().as_ref().unwrap();
            baseline.rates(f.flows.iter().find(|f| f.inode == inode).unwrap())
        };
        assert_eq!(
            rate(10),
            Some(Rates {
                sent: 1_000_000.0,
                received: 0.0
            })
        );
        assert_eq!(
            rate(11),
            Some(Rates {
                sent: 0.0,
                received: 100_000.0
            })
        );
        assert_eq!(rate(12), None, "counters went backwards: a new socket");
        assert_eq!(rate(14), None, "not in the earlier dump");
    }

    #[test]
    fn the_rate_needs_only_the_processs_connections() {
        // Other tabs dump only the process's own connections (the rest is
        // skipped undecoded): the status box's rate is the same.
        let (before, mut after) = two_ticks();
        let rates = process_rates(&after, Some(&before));
        assert!(rates.is_some());
        let own = match &after.fd {
            Some(Ok(fd)) => fd.inodes.clone(),
            _ => panic!("the ticks list fd/"),
        };
        if let Some(Ok(dump)) = after.flows.as_mut() {
            assert!(dump.flows.iter().any(|f| !own.contains(&f.inode)));
            dump.flows.retain(|f| own.contains(&f.inode));
        }
        assert_eq!(process_rates(&after, Some(&before)), rates);
    }

    #[test]
    fn no_rates_over_a_window_of_a_few_milliseconds() {
        let (before, _) = two_ticks();
        let soon = snapshot(
            before.instant + Duration::from_millis(30),
            vec![flow(
                10,
                "127.0.0.1:40000",
                "127.0.0.1:5001",
                1_000_000,
                100,
            )],
            &[10],
        );
        assert!(Baseline::of(&soon, Some(&before)).is_none());
        assert_eq!(process_rates(&soon, Some(&before)), None);
    }

    #[test]
    fn process_rate_sums_only_own_measured_connections() {
        let (before, after) = two_ticks();
        assert_eq!(
            process_rates(&after, Some(&before)),
            Some(Rates {
                sent: 1_000_000.0,
                received: 100_000.0
            })
        );
        assert_eq!(process_rates(&after, None), None);
        let mut unreadable = two_ticks().1;
        unreadable.fd = None;
        assert_eq!(process_rates(&unreadable, Some(&before)), None);
    }

    #[test]
    fn the_peers_fin_is_not_counted_as_a_received_byte() {
        let mut closing = flow(1, "127.0.0.1:1", "127.0.0.1:2", 0, 1001);
        closing.state = 8; // CLOSE-WAIT: the peer's FIN arrived
        assert_eq!(received_bytes(&closing), 1000);
        let open = flow(1, "127.0.0.1:1", "127.0.0.1:2", 0, 1000);
        assert_eq!(received_bytes(&open), 1000);
        // The FIN arriving between two ticks moves no payload.
        let t0 = Instant::now();
        let before = snapshot(t0, vec![open], &[1]);
        let after = snapshot(t0 + Duration::from_secs(1), vec![closing.clone()], &[1]);
        let baseline = Baseline::of(&after, Some(&before)).unwrap();
        assert_eq!(baseline.rates(&closing).map(|r| r.received), Some(0.0));
    }

    #[test]
    fn a_clock_that_did_not_move_gives_no_rates() {
        let (before, mut after) = two_ticks();
        after.instant = before.instant;
        assert!(Baseline::of(&after, Some(&before)).is_none());
    }

    #[test]
    fn flows_tab_rendered_at_a_fixed_width() {
        let (before, after) = two_ticks();
        let process = process();
        let users = HashMap::new();
        let ctx = context(&process, &users, Some(&before));
        let screen = view(&ctx, &after, Some(&before));
        let out = text(&screen);
        insta::assert_snapshot!(out);
        crate::tabs::narrow::assert_fits(&screen, 80);
        crate::tabs::narrow::assert_fits(&screen, 60);
        // Sorted by rate: the sender, then the receiver, then the rest by
        // bytes moved.
        let order: Vec<&str> = out
            .lines()
            .filter(|l| l.contains('┆'))
            .filter_map(|l| l.split('┆').next())
            .filter_map(|cell| cell.trim_start_matches('│').split_whitespace().next())
            .collect();
        assert_eq!(
            order,
            vec![
                "Local",
                "127.0.0.1:40000",
                "127.0.0.1:5001",
                "127.0.0.1:40004",
                "[::1]:40002",
                "total"
            ]
        );
        assert!(!out.contains("7000"), "a neighbour's connection leaked in");
        assert!(out.contains("TCP sent 976.6 KiB/s, received 97.7 KiB/s"));
    }

    #[test]
    fn first_display_says_when_rates_appear() {
        let (_, after) = two_ticks();
        let process = process();
        let users = HashMap::new();
        let ctx = context(&process, &users, None);
        let out = text(&view(&ctx, &after, None));
        insta::assert_snapshot!(out);
        assert!(out.contains("rates appear from the next refresh"));
        assert!(!out.contains("TCP sent"));
    }

    #[test]
    fn a_dump_of_the_processs_connections_counts_the_namespace_it_skipped() {
        let (_, mut after) = two_ticks();
        let process = process();
        let users = HashMap::new();
        let all = text(&view(&context(&process, &users, None), &after, None));
        assert!(
            all.contains("own connections: 4 of 5 TCP connections"),
            "{all}"
        );
        // What scope own reads: the process's 4 connections, and how many
        // the namespace had.
        if let Some(Ok(dump)) = after.flows.as_mut() {
            dump.flows.retain(|f| f.inode != 99);
            dump.own = Some(crate::snapshot::OwnConnections {
                others: Default::default(),
                dumped_at: Instant::now(),
                in_namespace: 100_000,
            });
        }
        let own = text(&view(&context(&process, &users, None), &after, None));
        assert!(
            own.contains("own connections: 4 of 100000 TCP connections"),
            "{own}"
        );
    }

    #[test]
    fn a_captured_tree_says_counters_need_the_running_kernel() {
        let (_, mut after) = two_ticks();
        after.flows = None;
        let process = process();
        let users = HashMap::new();
        let out = text(&view(&context(&process, &users, None), &after, None));
        assert!(
            out.contains("captured /proc tree (--proc-root) has none"),
            "{out}"
        );
    }

    #[test]
    fn a_refused_namespace_says_what_would_allow_it() {
        let (_, mut after) = two_ticks();
        after.flows = Some(Err(crate::error::DiagError::NotPermitted {
            path: "/proc/4242/ns/net".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        }));
        let process = process();
        let users = HashMap::new();
        let out = text(&view(&context(&process, &users, None), &after, None));
        assert!(
            out.contains(
                "cannot enter the network namespace of /proc/4242/ns/net (permission denied)"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "run as root or with CAP_SYS_ADMIN to read connections in another network namespace"
            ),
            "{out}"
        );
    }

    #[test]
    fn an_unreadable_fd_shows_the_namespace_and_says_why() {
        let (before, mut after) = two_ticks();
        after.fd = Some(Err(crate::error::ReadError::new(
            "/proc/4242/fd",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        )));
        if let Some(Ok(dump)) = &mut after.flows {
            dump.place = DumpPlace::SameByNetlinkTable(
                "cannot read /proc/4242/ns/net (permission denied)".into(),
            );
        }
        let process = process();
        let users = HashMap::new();
        let ctx = context(&process, &users, Some(&before));
        let out = text(&view(&ctx, &after, Some(&before)));
        assert!(
            out.contains("cannot read /proc/4242/fd (permission denied): showing every socket"),
            "{out}"
        );
        assert!(
            out.contains("cannot read /proc/4242/ns/net (permission denied): its net/netlink lists netmonitor's socket"),
            "{out}"
        );
        // The whole namespace, the neighbour's connection included, and
        // no process rate in the status box (its sockets are unknown).
        assert!(out.contains("127.0.0.1:7001"), "{out}");
        assert!(!out.contains("TCP sent"), "{out}");
    }

    #[test]
    fn another_namespace_that_cannot_be_entered_says_what_would_allow_it() {
        let (_, mut after) = two_ticks();
        after.flows = Some(Err(crate::error::DiagError::OtherNamespace {
            why: "cannot read /proc/4242/ns/net (permission denied)".into(),
        }));
        let process = process();
        let users = HashMap::new();
        let out = text(&view(&context(&process, &users, None), &after, None));
        assert!(
            out.contains("no connection counters: cannot read /proc/4242/ns/net (permission denied), and the process is not in netmonitor's network namespace"),
            "{out}"
        );
        assert!(out.contains("run as root"), "{out}");
        assert!(!out.contains('┆'), "no table expected: {out}");
    }

    #[test]
    fn sums_and_formats_do_not_overflow() {
        let mut huge = flow(1, "127.0.0.1:1", "127.0.0.1:2", u64::MAX, u64::MAX);
        huge.retrans = u32::MAX;
        huge.total_retrans = u32::MAX;
        huge.rtt_us = u32::MAX;
        let twin = TcpFlow {
            inode: 2,
            ..huge.clone()
        };
        let row = total_row(&[(&huge, None), (&twin, None)], false);
        assert_eq!(row.cells[5].text, grouped(u64::MAX));
        assert_eq!(
            row.cells[9].text,
            format!("{}/{}", 2 * u64::from(u32::MAX), 2 * u64::from(u32::MAX))
        );
        assert_eq!(millis(u32::MAX), "4294967.3");
        assert_eq!(millis(29), "0.03");
    }
}
