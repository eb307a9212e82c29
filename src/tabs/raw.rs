//! The raw tab: raw IP sockets from `net/raw` and `net/raw6`, compared
//! against `ss -wanp`.
//!
//! In these tables the local "port" is the IP protocol the socket was
//! opened for (`inet_num`), and the peer "port" is always 0, so the tab
//! shows addresses without ports and a Protocol column with the number and
//! its name (`1 icmp`, `58 ipv6-icmp`, `255 raw`). The number must not be
//! looked up as a service port.

use super::sockets::{
    Socket, SocketSet, SocketTab, datagram_state, datagram_summary, drops, host, host_cell,
    socket_screen, user_cell,
};
use super::{Before, Tab, ViewContext};
use crate::render::{Cell, Column, Emphasis, Screen, Value};
use crate::snapshot::Snapshot;

/// The tables this tab displays.
pub const TABLES: [&str; 2] = ["raw", "raw6"];

pub(super) static SPEC: SocketTab = SocketTab {
    tab: Tab::Raw,
    kind: "raw",
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
        Column::new("Protocol", "ip_protocol"),
        Column::new("Peer Address", "peer_ip").importance(7),
        Column::new("Drops", "drops").numeric().importance(2),
        Column::new("User", "user").importance(1),
        Column::new("Inode", "inode").numeric().importance(0),
    ],
    rank: |_| 0,
    cells,
    emphasis: |_| Emphasis::None,
    describe,
    summary: |rows| datagram_summary("raw", rows),
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
    let number = e.local.port();
    let name = protocol(number);
    let protocol_name = name
        .split_once(' ')
        .map_or(Value::Null, |(_, n)| Value::Str(n.into()));
    vec![
        Cell::text(socket.table),
        Cell::text(datagram_state(e)),
        Cell::uint(e.rx_queue.into()),
        Cell::uint(e.tx_queue.into()),
        host_cell(&e.local.ip(), false),
        Cell::new(name, Value::UInt(number.into())).with("ip_protocol_name", protocol_name),
        host_cell(&e.remote.ip(), true),
        drops(e),
        user_cell(ctx, e.uid),
        Cell::uint(e.inode),
    ]
}

/// `raw 0.0.0.0 1 icmp → * UNCONN`.
fn describe(socket: &Socket) -> String {
    let e = &socket.entry;
    format!(
        "{} {} {} → {} {}",
        socket.table,
        host(&e.local.ip(), false),
        protocol(e.local.port()),
        host(&e.remote.ip(), true),
        datagram_state(e)
    )
}

/// An IP protocol number with its name as in `/etc/protocols` (IANA):
/// `1 icmp`, `58 ipv6-icmp`; the number alone when it has no common name.
pub fn protocol(number: u16) -> String {
    let name = match number {
        0 => "ip",
        1 => "icmp",
        2 => "igmp",
        4 => "ipencap",
        6 => "tcp",
        8 => "egp",
        17 => "udp",
        41 => "ipv6",
        43 => "ipv6-route",
        44 => "ipv6-frag",
        46 => "rsvp",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "ipv6-icmp",
        59 => "ipv6-nonxt",
        60 => "ipv6-opts",
        89 => "ospf",
        94 => "ipip",
        103 => "pim",
        108 => "ipcomp",
        112 => "vrrp",
        115 => "l2tp",
        132 => "sctp",
        136 => "udplite",
        137 => "mpls-in-ip",
        143 => "ethernet",
        253 | 254 => "experimental",
        255 => "raw",
        _ => return number.to_string(),
    };
    format!("{number} {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_by_number_and_name() {
        assert_eq!(protocol(1), "1 icmp");
        assert_eq!(protocol(58), "58 ipv6-icmp");
        assert_eq!(protocol(255), "255 raw");
        assert_eq!(protocol(253), "253 experimental");
        assert_eq!(protocol(200), "200");
        assert_eq!(protocol(u16::MAX), "65535");
    }
}
