//! Any bytes into the socket-table parser: never a panic, and every record
//! it returns has a row number, a state byte, ports, addresses and an address
//! family that agree with what its line said (read here from the line's
//! columns, without the parser). The same bytes as a sock_diag socket header
//! (the tcp tab's other source): parsed only when long enough and of an IP
//! family, laid out again it parses back to itself, and its row never
//! panics whatever the clock rate; the `tcp_info` counters after it are
//! found only in an answer long enough to hold a header and an attribute.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use netmonitor::parse::Endian;
use netmonitor::parse::decode_bytes;
use netmonitor::parse::inet_diag::{
    AF_INET, AF_INET6, INET_DIAG_MSG_LEN, parse_inet_diag_msg, tcp_counters,
};
use netmonitor::parse::sockets::{SocketEntry, parse_socket_table};

/// `ADDR:PORT` as the kernel prints it: 8 hex digits for IPv4, 32 for IPv6,
/// each 32-bit word in the producer's byte order; the port in network order.
fn address_of(column: &str, endian: Endian) -> SocketAddr {
    let (addr, port) = column.rsplit_once(':').expect("a column with ':'");
    let port = u16::from_str_radix(port, 16).expect("a hex port");
    let word = |i: usize| {
        let word = u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16).expect("hex words");
        endian.bytes(word)
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0))),
        32 => {
            let mut octets = [0u8; 16];
            for i in 0..4 {
                octets[i * 4..i * 4 + 4].copy_from_slice(&word(i));
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        n => panic!("a row from an address of {n} hex digits: {column:?}"),
    };
    SocketAddr::new(ip, port)
}

/// The row's line says the same slot, addresses (so family and ports) and
/// state as the row.
fn check_row(row: &SocketEntry, line: &str, endian: Endian) {
    let columns: Vec<&str> = line.split([' ', '\t']).filter(|c| !c.is_empty()).collect();
    assert!(columns.len() >= 4, "{line:?}");
    let slot = columns[0].strip_suffix(':').expect("'sl:'");
    assert_eq!(slot.parse::<u64>().ok(), Some(row.slot), "{line:?}");
    assert_eq!(address_of(columns[1], endian), row.local, "{line:?}");
    assert_eq!(address_of(columns[2], endian), row.remote, "{line:?}");
    assert_eq!(row.local.is_ipv6(), row.remote.is_ipv6());
    assert_eq!(
        u8::from_str_radix(columns[3], 16).ok(),
        Some(row.state),
        "{line:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    match parse_inet_diag_msg(data) {
        Ok(header) => {
            assert!(data.len() >= INET_DIAG_MSG_LEN);
            assert!(header.family == AF_INET || header.family == AF_INET6);
            assert_eq!(parse_inet_diag_msg(&header.to_bytes()), Ok(header));
            for ticks in [0, 100, u64::from(u32::MAX)] {
                let _ = header.socket_entry(0, ticks);
            }
        }
        Err(_) => {
            assert!(data.len() < INET_DIAG_MSG_LEN || (data[0] != AF_INET && data[0] != AF_INET6))
        }
    }
    if tcp_counters(data).is_some() {
        // A header, an attribute header and a tcp_info with byte counters.
        assert!(data.len() >= INET_DIAG_MSG_LEN + 4 + 136);
    }
    let text = decode_bytes(data.to_vec());
    for endian in [Endian::Little, Endian::Big] {
        let parsed = parse_socket_table(&text, endian);
        let lines = text.lines().count();
        assert!(parsed.rows.len() + parsed.bad_lines.len() <= lines);
        for bad in &parsed.bad_lines {
            assert!(bad.line >= 2 && bad.line <= lines);
        }
        // The rows come from the non-blank lines after the header that are
        // not bad, in order.
        let good: Vec<&str> = text
            .lines()
            .enumerate()
            .skip(1)
            .filter(|(i, l)| {
                !l.trim().is_empty() && !parsed.bad_lines.iter().any(|b| b.line == i + 1)
            })
            .map(|(_, l)| l)
            .collect();
        assert_eq!(good.len(), parsed.rows.len());
        for (row, line) in parsed.rows.iter().zip(good) {
            check_row(row, line, endian);
            assert!(row.timer_ticks < 1 << 31);
        }
    }
});
