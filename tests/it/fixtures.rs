//! The socket-table parser on real captured `tcp`/`tcp6` files.

use std::net::SocketAddr;

use netmonitor::parse::Endian;
use netmonitor::parse::sockets::{TcpLineKind, TcpState, parse_socket_table};

use crate::support::testdata;

fn read(path: &str) -> String {
    std::fs::read_to_string(testdata().join(path)).expect("fixture exists")
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("valid address")
}

#[test]
fn every_line_kind_of_a_real_tcp_file_parses() {
    let parsed = parse_socket_table(&read("files/tcp-6.18-kinds"), Endian::Little);
    assert!(parsed.bad_lines.is_empty(), "{:?}", parsed.bad_lines);
    let kinds: Vec<TcpLineKind> = parsed.rows.iter().map(|e| e.tcp_line_kind()).collect();
    use TcpLineKind::*;
    assert_eq!(
        kinds,
        vec![Full, Full, Full, Full, TimeWait, TimeWait, Request, Full]
    );
    let listener = &parsed.rows[0];
    assert_eq!(listener.local, addr("127.0.0.1:5555"));
    assert_eq!(TcpState::from_code(listener.state), TcpState::Listen);
    assert_eq!(listener.rx_queue, 1, "accept queue length");
    assert_eq!(parsed.rows[1].rx_queue, 1000, "unread bytes");
    assert_eq!(parsed.rows[2].inode, 0, "un-accepted child");
    assert_eq!(
        TcpState::from_code(parsed.rows[4].state),
        TcpState::TimeWait
    );
    assert_eq!(
        TcpState::from_code(parsed.rows[5].state),
        TcpState::FinWait2
    );
    let five_digit = &parsed.rows[7];
    assert_eq!(five_digit.slot, 10000);
    assert_eq!(five_digit.uid, 1000);
    assert_eq!(five_digit.retransmits, 2);
    assert_eq!(five_digit.tcp.map(|t| t.ssthresh), Some(5));
}

#[test]
fn captured_namespace_tables() {
    let tcp = parse_socket_table(&read("proc/tcp-live/15837/net/tcp"), Endian::Little);
    assert!(tcp.bad_lines.is_empty(), "{:?}", tcp.bad_lines);
    assert_eq!(tcp.rows.len(), 15);
    let tcp6 = parse_socket_table(&read("proc/tcp-live/15837/net/tcp6"), Endian::Little);
    assert!(tcp6.bad_lines.is_empty(), "{:?}", tcp6.bad_lines);
    assert_eq!(tcp6.rows.len(), 4);
    assert_eq!(tcp6.rows[0].local, addr("[::]:5557"));
    assert_eq!(tcp6.rows[1].local, addr("[::ffff:127.0.0.1]:5557"));
    assert_eq!(tcp6.rows[2].local, addr("[::1]:5557"));
    let syn_sent: Vec<_> = tcp
        .rows
        .iter()
        .filter(|e| TcpState::from_code(e.state) == TcpState::SynSent)
        .collect();
    assert_eq!(syn_sent.len(), 2);
    assert!(syn_sent.iter().all(|e| e.timer == 1 && e.tx_queue == 1));
}

#[test]
fn truncated_and_garbled_files_keep_the_good_lines() {
    let text = read("files/tcp-6.18-kinds");
    // Cut at every byte boundary of the last line: never a panic, and all
    // complete earlier lines survive.
    let last_start = text.trim_end().rfind('\n').expect("several lines") + 1;
    for cut in last_start..text.len() {
        if !text.is_char_boundary(cut) {
            continue;
        }
        let parsed = parse_socket_table(&text[..cut], Endian::Little);
        assert!(parsed.rows.len() >= 7, "cut at {cut}");
        assert!(parsed.bad_lines.len() <= 1);
    }
    let garbled = text.replace("0100007F:1770", "01000\u{1b}7F:1770");
    let parsed = parse_socket_table(&garbled, Endian::Little);
    assert_eq!(parsed.rows.len(), 7);
    assert_eq!(parsed.bad_lines.len(), 1);
    assert_eq!(parsed.bad_lines[0].line, 8);
}
