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
    Socket, SocketTab, datagram_state, datagram_summary, drops, endpoint, socket_screen,
};
use super::{Tab, ViewContext};
use crate::render::{Emphasis, Screen};
use crate::source::Snapshot;

/// The tables this tab displays.
pub const TABLES: [&str; 4] = ["udp", "udp6", "udplite", "udplite6"];

const SPEC: SocketTab = SocketTab {
    tab: Tab::Udp,
    kind: "UDP",
    tables: &TABLES,
    header: &[
        "Proto",
        "State",
        "Recv-Q",
        "Send-Q",
        "Local Address:Port",
        "Peer Address:Port",
        "Drops",
        "User",
        "Inode",
    ],
    numeric: &[2, 3, 6, 8],
    rank: |_| 0,
    cells,
    emphasis: |_| Emphasis::None,
    describe,
    summary: |rows| datagram_summary("UDP", rows),
    legend: &[QUEUE_NOTE],
};

/// Said under the table, because the numbers invite the wrong reading.
pub const QUEUE_NOTE: &str = "Recv-Q/Send-Q: memory charged to the socket in bytes (with per-datagram overhead), not payload";

pub fn view(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    socket_screen(&SPEC, ctx, now, previous)
}

fn cells(ctx: &ViewContext<'_>, socket: &Socket) -> Vec<String> {
    let e = &socket.entry;
    vec![
        socket.table.to_string(),
        datagram_state(e),
        e.rx_queue.to_string(),
        e.tx_queue.to_string(),
        endpoint(&e.local, false),
        endpoint(&e.remote, true),
        drops(e),
        ctx.user(e.uid),
        e.inode.to_string(),
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
