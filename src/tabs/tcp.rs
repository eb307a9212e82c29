//! The tcp tab: the process's TCP sockets from `net/tcp` and `net/tcp6`,
//! with the columns a sysadmin compares against `ss -tanpo`.

use std::collections::BTreeMap;

use compact_str::CompactString;

use super::sockets::{
    Socket, SocketSet, SocketTab, endpoint, endpoint_cell, socket_screen, user_cell,
};
use super::{Before, Tab, ViewContext};
use crate::parse::sockets::{SocketEntry, TcpLineKind, TcpState};
use crate::render::{Cell, Column, Emphasis, Screen, Value};
use crate::snapshot::Snapshot;

/// The tables this tab displays (read as text, or as rows over sock_diag).
pub const TABLES: [&str; 2] = crate::parse::inet_diag::TABLES;

pub(super) static SPEC: SocketTab = SocketTab {
    tab: Tab::Tcp,
    kind: "TCP",
    tables: &TABLES,
    columns: &[
        Column::new("State", "state"),
        Column::new("Recv-Q", "recv_q").numeric().importance(6),
        Column::new("Send-Q", "send_q").numeric().importance(5),
        Column::new("Local Address:Port", "local_address"),
        Column::new("Peer Address:Port", "peer_address"),
        Column::new("Timer", "timer").importance(2),
        Column::new("Retrans", "retransmits")
            .numeric()
            .importance(1),
        Column::new("User", "user").importance(3),
        Column::new("Inode", "inode").numeric().importance(0),
    ],
    rank: |e| u8::from(TcpState::from_code(e.state) != TcpState::Listen),
    cells,
    emphasis,
    describe,
    summary: |rows| {
        let mut by_state: BTreeMap<TcpState, usize> = BTreeMap::new();
        for socket in rows {
            *by_state
                .entry(TcpState::from_code(socket.entry.state))
                .or_default() += 1;
        }
        summary(rows.len(), &by_state)
    },
    legend: &[],
};

/// The tab's screen from this tick and the one before (as its view left
/// it); also returns this tick's socket set for the next one.
pub fn view(
    ctx: &ViewContext<'_>,
    now: &Snapshot,
    previous: Option<Before<'_>>,
) -> (Screen, SocketSet) {
    socket_screen(&SPEC, ctx, now, previous)
}

fn cells(ctx: &ViewContext<'_>, socket: &Socket) -> Vec<Cell> {
    let e = &socket.entry;
    vec![
        Cell::text(TcpState::from_code(e.state).name())
            .with("protocol", Value::Str(socket.table.into())),
        Cell::uint(e.rx_queue.into()),
        Cell::uint(e.tx_queue.into()),
        endpoint_cell(&e.local, false, "local_ip", "local_port"),
        endpoint_cell(&e.remote, true, "peer_ip", "peer_port"),
        timer_cell(e, ctx.clock_ticks),
        Cell::uint(e.retransmits.into()),
        user_cell(ctx, e.uid),
        Cell::uint(e.inode),
    ]
}

/// The Timer cell: [`timer`] shown, its kind as the value and the time
/// left in seconds apart (both null when no timer runs).
fn timer_cell(entry: &SocketEntry, clock_ticks: u64) -> Cell {
    let text = timer(entry, clock_ticks);
    match text.split_once(' ') {
        Some((kind, _)) => {
            let kind = CompactString::from(kind);
            let seconds = entry.timer_ticks as f64 / clock_ticks.max(1) as f64;
            Cell::new(text, Value::Str(kind)).with("timer_seconds", Value::float(seconds))
        }
        None => Cell::null(text).with("timer_seconds", Value::Null),
    }
}

/// Sockets on their way out are dimmed (new rows are highlighted by the
/// shared code).
fn emphasis(socket: &Socket) -> Emphasis {
    match TcpState::from_code(socket.entry.state) {
        TcpState::TimeWait
        | TcpState::Close
        | TcpState::CloseWait
        | TcpState::LastAck
        | TcpState::FinWait1
        | TcpState::FinWait2
        | TcpState::Closing => Emphasis::Dim,
        _ => Emphasis::None,
    }
}

/// `127.0.0.1:5501 → 127.0.0.1:40212 ESTAB`.
fn describe(socket: &Socket) -> String {
    let e = &socket.entry;
    format!(
        "{} → {} {}",
        endpoint(&e.local, false),
        endpoint(&e.remote, true),
        TcpState::from_code(e.state).name()
    )
}

/// `3 TCP sockets: 1 LISTEN, 2 ESTAB`.
fn summary(total: usize, by_state: &BTreeMap<TcpState, usize>) -> String {
    let noun = if total == 1 { "socket" } else { "sockets" };
    if total == 0 {
        return "0 TCP sockets".into();
    }
    let mut states: Vec<(TcpState, usize)> = by_state.iter().map(|(s, n)| (*s, *n)).collect();
    // Listeners first, as in the table; then the rest in state order.
    states.sort_by_key(|(s, _)| (*s != TcpState::Listen, *s));
    let parts: Vec<String> = states
        .iter()
        .map(|(state, count)| format!("{count} {}", state.name()))
        .collect();
    format!("{total} TCP {noun}: {}", parts.join(", "))
}

/// The pending timer and the time until it fires: `retrans 0.20s`,
/// `keepalive 7199.00s`, `timewait 59.70s`, `-` when none.
fn timer(entry: &SocketEntry, clock_ticks: u64) -> CompactString {
    let kind = match entry.timer {
        0 => return CompactString::const_new("-"),
        1 if entry.tcp_line_kind() == TcpLineKind::Request => "syn-ack",
        1 => "retrans",
        2 => "keepalive",
        3 => "timewait",
        4 => "probe",
        _ => "other",
    };
    let ticks = clock_ticks.max(1);
    let seconds = entry.timer_ticks / ticks;
    let hundredths = (entry.timer_ticks % ticks) * 100 / ticks;
    compact_str::format_compact!("{kind} {seconds}.{hundredths:02}s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Endian;
    use crate::parse::sockets::parse_socket_line;

    #[test]
    fn timers_read_in_seconds() {
        let tw = parse_socket_line(
            "   5: 0100007F:DEFC 0100007F:15B5 06 00000000:00000000 03:00001752 00000000     0        0 0 3 00000000892b9a29",
            Endian::Little,
        )
        .unwrap();
        assert_eq!(timer(&tw, 100), "timewait 59.70s");
        let req = parse_socket_line(
            "   7: 0100007F:1770 0100007F:BF78 03 00000000:00000000 01:0000000A 00000000     0        0 0 0 000000002b036a57",
            Endian::Little,
        )
        .unwrap();
        assert_eq!(timer(&req, 100), "syn-ack 0.10s");
    }

    /// The captured namespace of `testdata/proc/tcp-live`, with the
    /// process owning every socket but the IPv6 listener (inode 22855).
    fn captured_snapshot() -> Snapshot {
        use crate::snapshot::FdSockets;
        use chrono::TimeZone;
        let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/proc/tcp-live/15837");
        let read = |name: &str| std::fs::read_to_string(format!("{tree}/net/{name}")).unwrap();
        let inodes = [
            22851, 22852, 22853, 22854, 22856, 22857, 22858, 22859, 22868, 22869, 22870, 22871,
            22872,
        ];
        Snapshot {
            taken_at: chrono::Local
                .with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
                .unwrap(),
            instant: std::time::Instant::now(),
            tables: Snapshot::texts(vec![("tcp", Ok(read("tcp"))), ("tcp6", Ok(read("tcp6")))]),
            fd: Some(Ok(FdSockets {
                inodes: inodes.into_iter().collect(),
                descriptors: 20,
                ..FdSockets::default()
            })),
            processes: None,
            flows: None,
            listeners: None,
            neighbours: None,
        }
    }

    /// Runs `f` with the view context of the captured process (pid 15837).
    fn with_captured_process<R>(f: impl FnOnce(&ViewContext<'_>) -> R) -> R {
        use crate::snapshot::Process;
        let process = Process {
            pid: 15837,
            name: "python3".into(),
            cmdline: "python3 capture_tcp_tree.py".into(),
            start_time: 1,
            parent: 1,
            netns: Some("net:[4026532177]".into()),
            netns_error: None,
            via_thread: None,
        };
        let users: std::collections::HashMap<u32, String> =
            [(0, "root".to_string())].into_iter().collect();
        let ctx = ViewContext {
            process: &process,
            interval: std::time::Duration::from_secs(2),
            users: &users,
            numeric: false,
            endian: Endian::Little,
            clock_ticks: 100,
            view: &crate::tabs::ViewSettings::default(),
            counters: Default::default(),
            earlier: None,
            totals: None,
            replay: None,
            rows_shown: None,
            rows_later: false,
        };
        f(&ctx)
    }

    #[test]
    fn tcp_tab_rendered_at_a_fixed_width() {
        use crate::render::{RenderOptions, render};
        let screen = with_captured_process(|ctx| view(ctx, &captured_snapshot(), None).0);
        let options = RenderOptions {
            width: Some(110),
            colour: false,
            max_rows: Some(10),
        };
        insta::assert_snapshot!(render(&screen, &options));
    }

    #[test]
    fn dropping_other_processes_rows_changes_nothing_shown() {
        use crate::render::{RenderOptions, render};
        use crate::tabs::testing::sifted_own;
        let reduced = || sifted_own(captured_snapshot(), &TABLES);
        let options = RenderOptions::plain();
        // One tick, and two ticks (changes between them).
        let shown = |now: Snapshot, before: Option<Snapshot>| {
            with_captured_process(|ctx| {
                render(
                    &view(ctx, &now, before.as_ref().map(Before::of)).0,
                    &options,
                )
            })
        };
        let full = shown(captured_snapshot(), None);
        assert_eq!(shown(reduced(), None), full);
        let full = shown(captured_snapshot(), Some(captured_snapshot()));
        assert_eq!(shown(reduced(), Some(reduced())), full);
        assert!(full.contains("own sockets: 13 of 19"), "{full}");
        // What was dropped: the rows of inodes the process does not hold
        // (the IPv6 listener 22855); inode-less rows are kept.
        let snapshot = reduced();
        let left_out: usize = ["tcp", "tcp6"]
            .iter()
            .filter_map(|t| snapshot.table(t)?.ok()?.left_out().map(|set| set.len()))
            .sum();
        assert_eq!(left_out, 1);
        let tcp6 = match snapshot.file("tcp6") {
            Some(Ok(text)) => text.to_string(),
            _ => String::new(),
        };
        assert!(!tcp6.contains(" 22855 "), "{tcp6}");
        assert_eq!(tcp6.lines().count(), 5, "line numbers are kept");
    }

    #[test]
    fn rows_past_the_display_cap_are_not_built_and_the_screen_is_the_same() {
        use crate::render::{RenderOptions, render};
        let options = RenderOptions {
            width: None,
            colour: false,
            max_rows: Some(3),
        };
        let screen = |rows_shown| {
            with_captured_process(|ctx| {
                let ctx = ViewContext {
                    rows_shown,
                    ..ctx.clone()
                };
                view(&ctx, &captured_snapshot(), None).0
            })
        };
        let capped = screen(Some(3));
        let crate::render::Block::Table(table) = &capped.blocks[0] else {
            panic!("a table");
        };
        assert_eq!(table.rows.len(), 3, "only the rows shown are built");
        assert_eq!(table.unbuilt_rows, 10);
        let text = render(&capped, &options);
        assert_eq!(text, render(&screen(None), &options));
        assert!(text.contains("… 10 more rows"), "{text}");
    }

    #[test]
    fn summary_lists_listeners_first() {
        let mut states = BTreeMap::new();
        states.insert(TcpState::Established, 2);
        states.insert(TcpState::Listen, 1);
        assert_eq!(summary(3, &states), "3 TCP sockets: 1 LISTEN, 2 ESTAB");
        assert_eq!(summary(0, &BTreeMap::new()), "0 TCP sockets");
    }
}
