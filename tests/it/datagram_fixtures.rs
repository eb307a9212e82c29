//! The datagram socket tables (`udp*`, `udplite*`, `raw*`, `icmp*`) captured
//! on Linux 6.18 by `testdata/scripts/capture_tables.sh`, read through the one socket
//! parser. Every socket asserted here was opened by that script (see
//! `testdata/files/datagram-6.18.manifest` for the list and the inodes), so
//! these tests pin real kernel output, not guesses: the protocol number in
//! the raw "port", the echo identifier in the icmp "port", `drops`, queues
//! and v4-mapped IPv6 addresses.

use std::net::SocketAddr;

use netmonitor::parse::Endian;
use netmonitor::parse::sockets::{SocketEntry, parse_socket_table};

const UDP: &str = include_str!("../../testdata/files/udp-6.18");
const UDP6: &str = include_str!("../../testdata/files/udp6-6.18");
const UDPLITE: &str = include_str!("../../testdata/files/udplite-6.18");
const UDPLITE6: &str = include_str!("../../testdata/files/udplite6-6.18");
const RAW: &str = include_str!("../../testdata/files/raw-6.18");
const RAW6: &str = include_str!("../../testdata/files/raw6-6.18");
const ICMP: &str = include_str!("../../testdata/files/icmp-6.18");
const ICMP6: &str = include_str!("../../testdata/files/icmp6-6.18");
const MANIFEST: &str = include_str!("../../testdata/files/datagram-6.18.manifest");
const UDP_OLD: &str = include_str!("../../testdata/files/udp-old-nodrops");
const UDP_NEGATIVE: &str = include_str!("../../testdata/files/udp-negative-drops");
const UDP_TRUNCATED: &str = include_str!("../../testdata/files/udp-truncated");

const CLOSE: u8 = 0x07;
const ESTABLISHED: u8 = 0x01;

/// Parses a table that must have no bad line.
fn table(text: &str) -> Vec<SocketEntry> {
    let parsed = parse_socket_table(text, Endian::Little);
    assert_eq!(parsed.bad_lines, vec![]);
    parsed.rows
}

fn by_inode(rows: &[SocketEntry], inode: u64) -> &SocketEntry {
    rows.iter()
        .find(|e| e.inode == inode)
        .unwrap_or_else(|| panic!("no socket with inode {inode}"))
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn every_socket_of_the_manifest_is_in_its_table() {
    let mut checked = 0;
    for line in MANIFEST.lines() {
        let mut words = line.split(' ');
        let (Some(name), Some(file), Some(inode)) = (words.next(), words.next(), words.next())
        else {
            panic!("bad manifest line {line:?}");
        };
        let Some(inode) = inode.strip_prefix("inode=") else {
            continue; // a table the kernel did not offer
        };
        let text = match file {
            "udp" => UDP,
            "udp6" => UDP6,
            "udplite" => UDPLITE,
            "udplite6" => UDPLITE6,
            "raw" => RAW,
            "raw6" => RAW6,
            "icmp" => ICMP,
            "icmp6" => ICMP6,
            other => panic!("unknown table {other}"),
        };
        let inode: u64 = inode.parse().unwrap();
        let rows = table(text);
        assert!(
            rows.iter().any(|e| e.inode == inode),
            "{name} not in {file}"
        );
        checked += 1;
    }
    assert_eq!(checked, 19);
}

#[test]
fn udp_v4_sockets() {
    let rows = table(UDP);
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|e| !e.is_ipv6() && e.refcount == Some(2)));

    let bound = by_inode(&rows, 15323);
    assert_eq!(bound.local, addr("198.51.100.1:40001"));
    assert_eq!(bound.remote, addr("0.0.0.0:0"));
    assert_eq!(bound.state, CLOSE);
    assert_eq!(bound.slot, 332);
    assert_eq!(bound.drops, Some(0));

    assert_eq!(by_inode(&rows, 15324).local, addr("0.0.0.0:40002"));

    // Tiny receive buffer, 200 datagrams of 1000 bytes, never read.
    let flooded = by_inode(&rows, 15325);
    assert_eq!(flooded.local, addr("127.0.0.1:40003"));
    assert_eq!(flooded.rx_queue, 0x900);
    assert_eq!(flooded.drops, Some(199));

    let connected = by_inode(&rows, 15326);
    assert_eq!(connected.local, addr("127.0.0.1:40004"));
    assert_eq!(connected.remote, addr("127.0.0.1:40003"));
    assert_eq!(connected.state, ESTABLISHED);
    assert_eq!((connected.tx_queue, connected.rx_queue), (0, 0));

    let nobody = by_inode(&rows, 15328);
    assert_eq!(nobody.uid, 65534);
    assert_eq!(nobody.local, addr("0.0.0.0:40005"));
    assert!(rows.iter().filter(|e| e.inode != 15328).all(|e| e.uid == 0));
    // Datagram timers are always idle.
    assert!(
        rows.iter()
            .all(|e| e.timer == 0 && e.timer_ticks == 0 && e.tcp.is_none())
    );
}

#[test]
fn udp_v6_sockets_including_v4_mapped() {
    let rows = table(UDP6);
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(SocketEntry::is_ipv6));

    let bound = by_inode(&rows, 15329);
    assert_eq!(bound.local, addr("[2001:db8:1::1]:40011"));
    assert_eq!(bound.remote, addr("[::]:0"));
    assert_eq!(bound.state, CLOSE);

    let connected = by_inode(&rows, 15331);
    assert_eq!(connected.local, addr("[::1]:40012"));
    assert_eq!(connected.remote, addr("[::1]:40013"));
    assert_eq!(connected.state, ESTABLISHED);

    // One unread 5-byte datagram is charged as 0x340 bytes of memory.
    let peer = by_inode(&rows, 15330);
    assert_eq!(peer.local, addr("[::1]:40013"));
    assert_eq!(peer.rx_queue, 0x340);

    let mapped = by_inode(&rows, 15332);
    assert_eq!(mapped.local, addr("[::ffff:127.0.0.1]:40014"));
    assert_eq!(mapped.remote, addr("[::ffff:127.0.0.1]:40002"));
    assert_eq!(mapped.state, ESTABLISHED);
}

#[test]
fn udplite_tables() {
    let rows = table(UDPLITE);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].local, addr("127.0.0.1:40021"));
    assert_eq!(rows[0].inode, 15333);
    let rows = table(UDPLITE6);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].local, addr("[::1]:40022"));
    assert_eq!(rows[0].inode, 15334);
}

#[test]
fn raw_sockets_carry_the_protocol_in_the_port() {
    let rows = table(RAW);
    assert_eq!(rows.len(), 3);
    let icmp = by_inode(&rows, 15335);
    assert_eq!(icmp.local, addr("0.0.0.0:1"));
    // The raw ICMP socket got copies of the ping traffic on loopback.
    assert_eq!(icmp.rx_queue, 0x680);
    assert_eq!(by_inode(&rows, 15336).local, addr("0.0.0.0:255"));
    let connected = by_inode(&rows, 15337);
    assert_eq!(connected.local, addr("198.51.100.1:253"));
    assert_eq!(connected.remote, addr("198.51.100.2:0"));
    assert_eq!(connected.state, ESTABLISHED);
    assert!(
        rows.iter()
            .all(|e| e.remote.port() == 0 && e.drops == Some(0))
    );

    let rows = table(RAW6);
    assert_eq!(rows.len(), 2);
    assert_eq!(by_inode(&rows, 15338).local, addr("[::]:58"));
    assert_eq!(by_inode(&rows, 15339).local, addr("[2001:db8:1::1]:253"));
}

#[test]
fn ping_sockets_carry_the_echo_identifier_in_the_port() {
    let rows = table(ICMP);
    assert_eq!(rows.len(), 2);
    let unconnected = by_inode(&rows, 15341);
    assert_eq!(unconnected.local, addr("0.0.0.0:8738")); // 0x2222
    assert_eq!(unconnected.state, CLOSE);
    let connected = by_inode(&rows, 15340);
    assert_eq!(connected.local, addr("127.0.0.1:4660")); // 0x1234
    assert_eq!(connected.remote, addr("127.0.0.1:0"));
    assert_eq!(connected.state, ESTABLISHED);
    assert_eq!(connected.rx_queue, 0x340); // the unread echo reply

    let rows = table(ICMP6);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].local, addr("[::1]:17185")); // 0x4321
    assert_eq!(rows[0].remote, addr("[::1]:0"));
    assert_eq!(rows[0].inode, 15342);
}

#[test]
fn old_udp_without_drops_column() {
    let rows = table(UDP_OLD);
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|e| e.drops.is_none() && e.refcount == Some(2))
    );
    assert_eq!(rows[0].local, addr("127.0.0.1:53"));
    assert_eq!(rows[1].local, addr("0.0.0.0:68"));
}

#[test]
fn negative_drops_from_old_kernels_wrap_to_u32() {
    let rows = table(UDP_NEGATIVE);
    assert_eq!(rows[0].drops, Some(0x8000_0000));
    assert_eq!(rows[0].uid, 101);
    assert_eq!(rows[1].drops, Some(0x7fff_ffff));
    assert_eq!(rows[2].drops, Some(u32::MAX));
}

#[test]
fn truncated_udp_keeps_the_complete_lines() {
    let parsed = parse_socket_table(UDP_TRUNCATED, Endian::Little);
    assert_eq!(parsed.rows.len(), 2);
    assert_eq!(parsed.bad_lines.len(), 1);
    assert_eq!(parsed.bad_lines[0].line, 4);
}

#[test]
fn reading_with_the_wrong_byte_order_gives_other_addresses() {
    // Not an error (any word is a valid address), which is why the producer's
    // byte order must be recorded with a capture.
    let parsed = parse_socket_table(UDP, Endian::Big);
    assert_eq!(parsed.bad_lines, vec![]);
    let bound = by_inode(&parsed.rows, 15323);
    assert_eq!(bound.local, addr("1.100.51.198:40001"));
}
