//! The udp tab: UDP and UDP-Lite sockets from `net/udp`, `net/udp6`,
//! `net/udplite` and `net/udplite6`, with the columns a sysadmin compares
//! against `ss -uanp`.
//!
//! Two things differ from TCP and are easy to misread: the `sl` column of
//! these files is a hash bucket, not a row number (it is not shown), and the
//! queues are the memory charged to the socket — bytes including
//! per-datagram overhead — not payload bytes: one 5-byte datagram shows as
//! hundreds of bytes in Recv-Q. A note under the table says so.

use super::sockets::{
    Socket, SocketSet, SocketTab, datagram_state, datagram_summary, drops, endpoint, endpoint_cell,
    socket_screen, user_cell,
};
use super::{Before, Tab, ViewContext};
use crate::render::{Cell, Column, Emphasis, Screen};
use crate::snapshot::Snapshot;

/// The tables this tab displays.
pub const TABLES: [&str; 4] = ["udp", "udp6", "udplite", "udplite6"];

pub(super) static SPEC: SocketTab = SocketTab {
    tab: Tab::Udp,
    kind: "UDP",
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
        Column::new("Local Address:Port", "local_address"),
        Column::new("Peer Address:Port", "peer_address"),
        Column::new("Drops", "drops").numeric().importance(2),
        Column::new("User", "user").importance(1),
        Column::new("Inode", "inode").numeric().importance(0),
    ],
    rank: |_| 0,
    cells,
    emphasis: |_| Emphasis::None,
    describe,
    summary: |rows| datagram_summary("UDP", rows),
    legend: &[QUEUE_NOTE],
};

/// Said under the table, because the numbers invite the wrong reading.
pub const QUEUE_NOTE: &str = "Recv-Q/Send-Q: memory charged to the socket in bytes (with per-datagram overhead), not payload";

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
        Cell::text(socket.table),
        Cell::text(datagram_state(e)),
        Cell::uint(e.rx_queue.into()),
        Cell::uint(e.tx_queue.into()),
        endpoint_cell(&e.local, false, "local_ip", "local_port"),
        endpoint_cell(&e.remote, true, "peer_ip", "peer_port"),
        drops(e),
        user_cell(ctx, e.uid),
        Cell::uint(e.inode),
    ]
}

/// `udp6 [::1]:5000 → * UNCONN`.
fn describe(socket: &Socket) -> String {
    let e = &socket.entry;
    format!(
        "{} {} → {} {}",
        socket.table,
        endpoint(&e.local, false),
        endpoint(&e.remote, true),
        datagram_state(e)
    )
}
