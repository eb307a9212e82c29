//! The raw tab: raw IP sockets from `net/raw` and `net/raw6`, compared
//! against `ss -wanp`.
//!
//! In these tables the local "port" is the IP protocol the socket was
//! opened for (`inet_num`), and the peer "port" is always 0, so the tab
//! shows addresses without ports and a Protocol column with the number and
//! its name (`1 icmp`, `58 ipv6-icmp`, `255 raw`). The number must not be
//! looked up as a service port.

use super::sockets::{
    Socket, SocketTab, datagram_state, datagram_summary, drops, host, socket_screen,
};
use super::{Tab, ViewContext};
use crate::render::{Emphasis, Screen};
use crate::source::Snapshot;

/// The tables this tab displays.
pub const TABLES: [&str; 2] = ["raw", "raw6"];

const SPEC: SocketTab = SocketTab {
    tab: Tab::Raw,
    kind: "raw",
    tables: &TABLES,
    header: &[
        "Proto",
        "State",
        "Recv-Q",
        "Send-Q",
        "Local Address",
        "Protocol",
        "Peer Address",
        "Drops",
        "User",
        "Inode",
    ],
    numeric: &[2, 3, 7, 9],
    rank: |_| 0,
    cells,
    emphasis: |_| Emphasis::None,
    describe,
    summary: |rows| datagram_summary("raw", rows),
    legend: &[],
};

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
        host(&e.local.ip(), false),
        protocol(e.local.port()),
        host(&e.remote.ip(), true),
        drops(e),
        ctx.user(e.uid),
        e.inode.to_string(),
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
