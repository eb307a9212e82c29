//! The socket tables: `tcp`, `tcp6`, `udp`, `udp6`, `udplite`, `udplite6`,
//! `raw`, `raw6`, `icmp`, `icmp6`.
//!
//! All of them print the same first ten columns with the same printf
//! formats (`sl`, addresses, state, queues, timer, retransmits, uid,
//! probes, inode), then a family-specific tail: TCP full sockets add
//! refcount, pointer and five congestion columns (TIME_WAIT and request
//! lines stop after the pointer); datagram tables add refcount, pointer and
//! `drops` (absent before 2.6.27). One parser therefore serves every table;
//! the address family is told apart by the width of the address.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use nom::Parser;
use nom::bytes::complete::take_while_m_n;
use nom::character::complete::char;
use nom::combinator::opt;
use nom::multi::many0;
use nom::sequence::preceded;

use super::{
    Endian, FieldError, PResult, Parsed, blanks, dec_i64, dec_u64, expect, hex_u32, hex_u64,
    opt_blanks, parse_line, parse_lines, token, wrap_u32,
};

/// One line of a socket table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketEntry {
    /// `sl`: a per-read row number (TCP) or a hash bucket (datagram tables).
    pub slot: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The raw state code (`st`): a TCP state, or 07/01 for datagram sockets.
    pub state: u8,
    pub tx_queue: u32,
    pub rx_queue: u32,
    /// `tr`: which timer is pending (0 none, 1 retransmit, 2 keepalive,
    /// 3 TIME_WAIT, 4 zero-window probe).
    pub timer: u8,
    /// `tm->when` in clock ticks (`USER_HZ`); expired timers printed as
    /// negative numbers by old kernels read as 0.
    pub timer_ticks: u64,
    pub retransmits: u32,
    pub uid: u32,
    /// The `timeout` column: outstanding window or keepalive probes.
    pub probes: i64,
    /// Socket inode; 0 when there is no `struct socket` (TIME_WAIT, request,
    /// orphaned, kernel sockets).
    pub inode: u64,
    pub refcount: Option<i64>,
    /// TCP full sockets only.
    pub tcp: Option<TcpDetails>,
    /// Datagram tables on kernels since 2.6.27.
    pub drops: Option<u32>,
}

/// The five unnamed columns of a full TCP socket line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpDetails {
    /// Retransmit timeout, clock ticks.
    pub rto: u64,
    /// Delayed-ACK timeout, clock ticks.
    pub ato: u64,
    pub quick_ack: u32,
    pub cwnd: u32,
    /// Slow-start threshold; -1 during initial slow start. For LISTEN, the
    /// Fast Open queue limit.
    pub ssthresh: i64,
}

/// Which kind of line a TCP table row is (told apart by token count and
/// timer code, not by state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpLineKind {
    Full,
    TimeWait,
    Request,
}

impl SocketEntry {
    pub fn tcp_line_kind(&self) -> TcpLineKind {
        match (self.tcp, self.timer) {
            (Some(_), _) => TcpLineKind::Full,
            (None, 3) => TcpLineKind::TimeWait,
            (None, 1) if self.state == 0x03 => TcpLineKind::Request,
            // 12-token line with another timer: treat as a full socket whose
            // tail the kernel did not print.
            _ => TcpLineKind::Full,
        }
    }

    pub fn is_ipv6(&self) -> bool {
        self.local.is_ipv6()
    }
}

/// Parses a whole socket table (first line is the header).
pub fn parse_socket_table(text: &str, endian: Endian) -> Parsed<SocketEntry> {
    parse_lines(text, 1, |line| parse_socket_line(line, endian))
}

/// Parses one data line of any socket table.
pub fn parse_socket_line(line: &str, endian: Endian) -> Result<SocketEntry, String> {
    parse_line(|i| socket_line(i, endian), line)
}

fn socket_line(input: &str, endian: Endian) -> PResult<'_, SocketEntry> {
    let (i, _) = opt_blanks(input)?;
    let (i, slot) = expect("the row number 'sl:'", dec_u64).parse(i)?;
    let (i, _) = expect("':' after sl", char(':')).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, local) = expect("a local address:port", |i| address_port(i, endian)).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, remote) = expect("a remote address:port", |i| address_port(i, endian)).parse(i)?;
    if local.is_ipv6() != remote.is_ipv6() {
        return Err(nom::Err::Error(FieldError {
            input,
            expected: "local and remote addresses of the same family",
        }));
    }
    let (i, _) = blanks(i)?;
    let (i, state) = expect("a 2-digit hex state", hex_byte).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, (tx_queue, _, rx_queue)) =
        expect("tx_queue:rx_queue", (hex_u32, char(':'), hex_u32)).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, (timer, _, when)) = expect("tr:tm->when", (hex_byte, char(':'), hex_u64)).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, retransmits) = expect("retrnsmt", hex_u32).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, uid) = expect("a uid", dec_u32).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, probes) = expect("the timeout column", dec_i64).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, inode) = expect("an inode", dec_u64).parse(i)?;
    // Optional tail: refcount and pointer, then family-specific columns.
    let (i, ref_and_pointer) =
        opt((preceded(blanks, dec_i64), preceded(blanks, token))).parse(i)?;
    let (i, tail) = many0(preceded(blanks, expect("a number", dec_i64))).parse(i)?;
    let (tcp, drops) = match (ref_and_pointer.is_some(), tail.as_slice()) {
        (_, []) => (None, None),
        (true, [drops]) => match wrap_u32(*drops) {
            Some(drops) => (None, Some(drops)),
            None => {
                return Err(nom::Err::Error(FieldError {
                    input,
                    expected: "a 32-bit drops count",
                }));
            }
        },
        (true, [rto, ato, qack, cwnd, ssthresh]) => (
            Some(TcpDetails {
                rto: non_negative(*rto, input, "a non-negative rto")?,
                ato: non_negative(*ato, input, "a non-negative ato")?,
                quick_ack: u32_of(*qack, input)?,
                cwnd: u32_of(*cwnd, input)?,
                ssthresh: *ssthresh,
            }),
            None,
        ),
        _ => {
            return Err(nom::Err::Error(FieldError {
                input,
                expected: "12, 13 or 17 columns",
            }));
        }
    };
    // Expired timers were printed as negative `long`s by old kernels (16 hex
    // digits on 64-bit, 8 on 32-bit); no real timer is 2^31 ticks away.
    let timer_ticks = if when >= 1 << 31 { 0 } else { when };
    Ok((
        i,
        SocketEntry {
            slot,
            local,
            remote,
            state,
            tx_queue,
            rx_queue,
            timer,
            timer_ticks,
            retransmits,
            uid,
            probes,
            inode,
            refcount: ref_and_pointer.map(|(r, _)| r),
            tcp,
            drops,
        },
    ))
}

fn non_negative<'a>(
    value: i64,
    input: &'a str,
    expected: &'static str,
) -> Result<u64, nom::Err<FieldError<'a>>> {
    u64::try_from(value).map_err(|_| nom::Err::Error(FieldError { input, expected }))
}

fn u32_of(value: i64, input: &str) -> Result<u32, nom::Err<FieldError<'_>>> {
    u32::try_from(value).map_err(|_| {
        nom::Err::Error(FieldError {
            input,
            expected: "a 32-bit unsigned number",
        })
    })
}

fn dec_u32(input: &str) -> PResult<'_, u32> {
    let (rest, value) = dec_u64(input)?;
    let value = u32::try_from(value).map_err(|_| {
        nom::Err::Error(FieldError {
            input,
            expected: "a 32-bit number",
        })
    })?;
    Ok((rest, value))
}

fn hex_byte(input: &str) -> PResult<'_, u8> {
    let (rest, value) = hex_u32(input)?;
    let value = u8::try_from(value).map_err(|_| {
        nom::Err::Error(FieldError {
            input,
            expected: "a one-byte hex code",
        })
    })?;
    Ok((rest, value))
}

/// Only the inode column of every data line of a socket table: a cheap
/// scan for telling which table lists a socket, without decoding the rest.
pub fn parse_socket_inodes(text: &str) -> Parsed<u64> {
    parse_lines(text, 1, |line| parse_line(inode_of_line, line))
}

/// The inode of one data line of a socket table, read without decoding the
/// other columns; `None` when the line does not reach a valid inode.
pub fn socket_line_inode(line: &str) -> Option<u64> {
    inode_of_line(line).ok().map(|(_, inode)| inode)
}

fn inode_of_line(input: &str) -> PResult<'_, u64> {
    let (mut i, _) = opt_blanks(input)?;
    // Nine columns before the inode (a loop rather than `count`, which
    // would allocate a vector per line).
    for _ in 0..9 {
        (i, _) = (expect("a socket table column", token), blanks).parse(i)?;
    }
    let (_rest, inode) = expect("an inode", dec_u64).parse(i)?;
    // The columns after the inode do not matter here.
    Ok(("", inode))
}

/// `XXXXXXXX:PPPP` (IPv4) or `XXXXXXXX×4:PPPP` (IPv6), words in the
/// producer's byte order, port in plain hex.
pub fn address_port(input: &str, endian: Endian) -> PResult<'_, SocketAddr> {
    let (rest, digits) = take_while_m_n(8, 32, |c: char| c.is_ascii_hexdigit()).parse(input)?;
    let ip = match digits.len() {
        8 => IpAddr::V4(Ipv4Addr::from(endian.bytes(word_at(digits, 0)))),
        32 => {
            let mut octets = [0u8; 16];
            for (n, chunk) in octets.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&endian.bytes(word_at(digits, n * 8)));
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => {
            return Err(nom::Err::Error(FieldError {
                input,
                expected: "8 or 32 hex digits",
            }));
        }
    };
    let (rest, _) = char(':').parse(rest)?;
    let (rest, port) = hex_u32(rest)?;
    let port = u16::try_from(port).map_err(|_| {
        nom::Err::Error(FieldError {
            input,
            expected: "a 16-bit port",
        })
    })?;
    Ok((rest, SocketAddr::new(ip, port)))
}

/// The 8 hex digits at `offset` as a `u32`; `digits` is known to be hex.
fn word_at(digits: &str, offset: usize) -> u32 {
    digits
        .get(offset..offset + 8)
        .and_then(|w| u32::from_str_radix(w, 16).ok())
        .unwrap_or(0)
}

/// TCP states as printed in `st` (`include/net/tcp_states.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TcpState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    NewSynRecv,
    BoundInactive,
    Unknown(u8),
}

impl TcpState {
    pub fn from_code(code: u8) -> Self {
        match code {
            0x01 => TcpState::Established,
            0x02 => TcpState::SynSent,
            0x03 => TcpState::SynRecv,
            0x04 => TcpState::FinWait1,
            0x05 => TcpState::FinWait2,
            0x06 => TcpState::TimeWait,
            0x07 => TcpState::Close,
            0x08 => TcpState::CloseWait,
            0x09 => TcpState::LastAck,
            0x0A => TcpState::Listen,
            0x0B => TcpState::Closing,
            0x0C => TcpState::NewSynRecv,
            0x0D => TcpState::BoundInactive,
            other => TcpState::Unknown(other),
        }
    }

    /// The name `ss` prints, so users can compare the two tools.
    pub fn name(self) -> Cow<'static, str> {
        match self {
            TcpState::Established => Cow::Borrowed("ESTAB"),
            TcpState::SynSent => Cow::Borrowed("SYN-SENT"),
            TcpState::SynRecv => Cow::Borrowed("SYN-RECV"),
            TcpState::FinWait1 => Cow::Borrowed("FIN-WAIT-1"),
            TcpState::FinWait2 => Cow::Borrowed("FIN-WAIT-2"),
            TcpState::TimeWait => Cow::Borrowed("TIME-WAIT"),
            TcpState::Close => Cow::Borrowed("UNCONN"),
            TcpState::CloseWait => Cow::Borrowed("CLOSE-WAIT"),
            TcpState::LastAck => Cow::Borrowed("LAST-ACK"),
            TcpState::Listen => Cow::Borrowed("LISTEN"),
            TcpState::Closing => Cow::Borrowed("CLOSING"),
            TcpState::NewSynRecv => Cow::Borrowed("NEW-SYN-RECV"),
            TcpState::BoundInactive => Cow::Borrowed("BOUND-INACTIVE"),
            TcpState::Unknown(code) => Cow::Owned(format!("UNKNOWN-{code:02X}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTEN: &str = "   2: 0100007F:15B3 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 8493 2 00000000cf79d647 100 0 0 10 0";

    #[test]
    fn full_tcp_line() {
        let e = parse_socket_line(LISTEN, Endian::Little).unwrap();
        assert_eq!(e.slot, 2);
        assert_eq!(e.local, "127.0.0.1:5555".parse().unwrap());
        assert_eq!(e.remote, "0.0.0.0:0".parse().unwrap());
        assert_eq!(TcpState::from_code(e.state), TcpState::Listen);
        assert_eq!((e.tx_queue, e.rx_queue), (0, 1));
        assert_eq!(e.inode, 8493);
        assert_eq!(e.refcount, Some(2));
        assert_eq!(
            e.tcp,
            Some(TcpDetails {
                rto: 100,
                ato: 0,
                quick_ack: 0,
                cwnd: 10,
                ssthresh: 0
            })
        );
        assert_eq!(e.tcp_line_kind(), TcpLineKind::Full);
    }

    #[test]
    fn time_wait_and_request_lines_have_12_tokens() {
        let tw = "   5: 0100007F:DEFC 0100007F:15B5 06 00000000:00000000 03:00001595 00000000     0        0 0 3 00000000892b9a29";
        let e = parse_socket_line(tw, Endian::Little).unwrap();
        assert_eq!(e.tcp_line_kind(), TcpLineKind::TimeWait);
        assert_eq!(e.timer_ticks, 0x1595);
        let fw2 = "   4: 0100007F:C20C 0100007F:17D4 05 00000000:00000000 03:00001752 00000000     0        0 0 3 000000002a48fffa";
        let e = parse_socket_line(fw2, Endian::Little).unwrap();
        assert_eq!(e.tcp_line_kind(), TcpLineKind::TimeWait);
        assert_eq!(TcpState::from_code(e.state), TcpState::FinWait2);
        let req = "   7: 0100007F:1770 0100007F:BF78 03 00000000:00000000 01:0000000A 00000000     0        0 0 0 000000002b036a57";
        let e = parse_socket_line(req, Endian::Little).unwrap();
        assert_eq!(e.tcp_line_kind(), TcpLineKind::Request);
    }

    #[test]
    fn ipv6_and_mapped_addresses() {
        let line = "   3: 0000000000000000FFFF00000100007F:15B5 0000000000000000FFFF00000100007F:B9D2 01 00000000:00000000 00:00000000 00000000     0        0 8504 1 000000001b83669d 20 0 0 10 -1";
        let e = parse_socket_line(line, Endian::Little).unwrap();
        assert_eq!(e.local, "[::ffff:127.0.0.1]:5557".parse().unwrap());
        let line = "   6: 00000000000000000000000001000000:1771 00000000000000000000000001000000:9110 03 00000000:00000000 01:0000000A 00000000     0        0 0 0 00000000dcd97ef9";
        let e = parse_socket_line(line, Endian::Little).unwrap();
        assert_eq!(e.local, "[::1]:6001".parse().unwrap());
        assert!(e.is_ipv6());
    }

    #[test]
    fn datagram_lines_with_and_without_drops() {
        let udp = " 6794: 00000000:14E9 00000000:0000 07 00000000:00000340 00:00000000 00000000     0        0 8505 2 000000006987b778 7";
        let e = parse_socket_line(udp, Endian::Little).unwrap();
        assert_eq!(e.drops, Some(7));
        assert_eq!(e.rx_queue, 0x340);
        let old = " 6794: 00000000:14E9 00000000:0000 07 00000000:00000340 00:00000000 00000000     0        0 8505 2 000000006987b778";
        assert_eq!(parse_socket_line(old, Endian::Little).unwrap().drops, None);
        let negative = " 6794: 00000000:14E9 00000000:0000 07 00000000:00000340 00:00000000 00000000     0        0 8505 2 000000006987b778 -2";
        assert_eq!(
            parse_socket_line(negative, Endian::Little).unwrap().drops,
            Some(u32::MAX - 1)
        );
    }

    #[test]
    fn out_of_range_drops_are_errors_not_truncated() {
        let base = " 6794: 00000000:14E9 00000000:0000 07 00000000:00000340 00:00000000 00000000     0        0 8505 2 000000006987b778";
        for bad in ["4294967297", "99999999999", "-2147483649"] {
            assert!(
                parse_socket_line(&format!("{base} {bad}"), Endian::Little).is_err(),
                "{bad}"
            );
        }
        let expired32 = "   0: 0100007F:0050 00000000:0000 01 00000000:00000000 01:FFFFF000 00000000     0        0 1 1 0 20 4 0 10 -1";
        assert_eq!(
            parse_socket_line(expired32, Endian::Little)
                .unwrap()
                .timer_ticks,
            0
        );
    }

    #[test]
    fn inode_scan_matches_the_full_parse() {
        let text = format!(
            "header\n{LISTEN}\n   5: 0100007F:DEFC 0100007F:15B5 06 00000000:00000000 03:00001595 00000000     0        0 0 3 00000000892b9a29\nbad line\n"
        );
        let inodes = parse_socket_inodes(&text);
        assert_eq!(inodes.rows, vec![8493, 0]);
        assert_eq!(inodes.bad_lines.len(), 1);
    }

    #[test]
    fn big_endian_producer() {
        let line = "   0: 7F000001:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0";
        let e = parse_socket_line(line, Endian::Big).unwrap();
        assert_eq!(e.local, "127.0.0.1:80".parse().unwrap());
    }

    #[test]
    fn expired_timer_printed_negative_reads_as_zero() {
        let line = "   0: 0100007F:0050 00000000:0000 01 00000000:00000000 01:FFFFFFFFFFFFF000 00000000     0        0 1 1 0 20 4 0 10 -1";
        assert_eq!(
            parse_socket_line(line, Endian::Little).unwrap().timer_ticks,
            0
        );
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        for bad in [
            "",
            "   2:",
            "   2: 0100007F:15B3",
            "   2: 0100007F:1FFFF 00000000:0000 0A 00000000:00000001 00:00000000 00000000 0 0 1",
            "   2: 0100007F:15B3 00000000000000000000000000000000:0000 0A 00000000:00000001 00:00000000 00000000 0 0 1",
            "   2: 0100007F:15B3 00000000:0000 0A 00000000:00000001 00:00000000 00000000 0 0 1 2 ptr 1 2",
            "   2: 0100007F:15B3 00000000:0000 1FF 00000000:00000001 00:00000000 00000000 0 0 1",
            "   2: 0100007F:15B3 00000000:0000 0A 00000000:00000001 00:00000000 00000000 99999999999 0 1",
        ] {
            assert!(parse_socket_line(bad, Endian::Little).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_line_does_not_lose_the_table() {
        let text = format!("  sl  local_address ...\n{LISTEN}\n   3: garbage\n{LISTEN}\n");
        let parsed = parse_socket_table(&text, Endian::Little);
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.bad_lines.len(), 1);
        assert_eq!(parsed.bad_lines[0].line, 3);
    }

    mod properties {
        use super::super::*;
        use crate::parse::table_text::{check_table, garbage, join, lines};
        use proptest::prelude::*;

        /// Formats an entry exactly as `tcp4_seq_show` / `udp4_format_sock`
        /// (and their IPv6 twins) print it on a host of byte order `endian`.
        fn kernel_line(e: &SocketEntry, endian: Endian, pointer: &str) -> String {
            let word = |bytes: [u8; 4]| match endian {
                Endian::Little => u32::from_le_bytes(bytes),
                Endian::Big => u32::from_be_bytes(bytes),
            };
            let addr = |a: &SocketAddr| match a.ip() {
                IpAddr::V4(ip) => format!("{:08X}:{:04X}", word(ip.octets()), a.port()),
                IpAddr::V6(ip) => {
                    let o = ip.octets();
                    let mut text = String::new();
                    for chunk in o.chunks_exact(4) {
                        text.push_str(&format!(
                            "{:08X}",
                            word([chunk[0], chunk[1], chunk[2], chunk[3]])
                        ));
                    }
                    format!("{text}:{:04X}", a.port())
                }
            };
            let mut line = format!(
                "{:4}: {} {} {:02X} {:08X}:{:08X} {:02X}:{:08X} {:08X} {:5} {:8} {}",
                e.slot,
                addr(&e.local),
                addr(&e.remote),
                e.state,
                e.tx_queue,
                e.rx_queue,
                e.timer,
                e.timer_ticks,
                e.retransmits,
                e.uid,
                e.probes,
                e.inode
            );
            if let Some(refcount) = e.refcount {
                line.push_str(&format!(" {refcount} {pointer}"));
            }
            if let Some(t) = e.tcp {
                line.push_str(&format!(
                    " {} {} {} {} {}",
                    t.rto, t.ato, t.quick_ack, t.cwnd, t.ssthresh
                ));
            }
            if let Some(drops) = e.drops {
                line.push_str(&format!(" {drops}"));
            }
            line
        }

        fn any_addr(v6: bool) -> BoxedStrategy<SocketAddr> {
            if v6 {
                (any::<[u8; 16]>(), any::<u16>())
                    .prop_map(|(o, p)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), p))
                    .boxed()
            } else {
                (any::<[u8; 4]>(), any::<u16>())
                    .prop_map(|(o, p)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(o)), p))
                    .boxed()
            }
        }

        fn any_entry() -> impl Strategy<Value = SocketEntry> {
            any::<bool>().prop_flat_map(|v6| {
                (
                    (0u64..100_000, any_addr(v6), any_addr(v6), any::<u8>()),
                    (
                        any::<u32>(),
                        any::<u32>(),
                        0u8..5,
                        0u64..(1 << 31),
                        any::<u32>(),
                    ),
                    (any::<u32>(), any::<i32>(), any::<u64>()),
                    (0u8..3, any::<i32>(), any::<u32>()),
                    (
                        0u64..1 << 40,
                        0u64..1 << 40,
                        any::<u32>(),
                        any::<u32>(),
                        any::<i32>(),
                    ),
                )
                    .prop_map(|(a, b, c, (tail, refcount, drops), t)| {
                        let (slot, local, remote, state) = a;
                        let (tx_queue, rx_queue, timer, timer_ticks, retransmits) = b;
                        let (uid, probes, inode) = c;
                        SocketEntry {
                            slot,
                            local,
                            remote,
                            state,
                            tx_queue,
                            rx_queue,
                            timer,
                            timer_ticks,
                            retransmits,
                            uid,
                            probes: i64::from(probes),
                            inode,
                            refcount: (tail > 0).then_some(i64::from(refcount)),
                            tcp: (tail == 1).then_some(TcpDetails {
                                rto: t.0,
                                ato: t.1,
                                quick_ack: t.2,
                                cwnd: t.3,
                                ssthresh: i64::from(t.4),
                            }),
                            drops: (tail == 2).then_some(drops),
                        }
                    })
            })
        }

        proptest! {
            #[test]
            fn kernel_formatted_lines_parse_back(
                entry in any_entry(),
                big in any::<bool>(),
                pointer in "[0-9a-f]{8}|[0-9a-f]{16}",
            ) {
                let endian = if big { Endian::Big } else { Endian::Little };
                let line = kernel_line(&entry, endian, &pointer);
                prop_assert_eq!(parse_socket_line(&line, endian), Ok(entry));
            }

            #[test]
            fn tables_of_kernel_lines_and_garbage_parse_line_by_line(
                header in garbage(),
                (big, body) in any::<bool>().prop_flat_map(|big| {
                    let endian = if big { Endian::Big } else { Endian::Little };
                    let kernel = (any_entry(), "[0-9a-f]{8}|[0-9a-f]{16}")
                        .prop_map(move |(e, p)| { let l = kernel_line(&e, endian, &p); (e, l) });
                    (Just(big), lines(kernel, 30))
                }),
                crlf in any::<bool>(),
                last_end in any::<bool>(),
                near in "[0-9A-Fa-f: -]{0,200}",
            ) {
                let endian = if big { Endian::Big } else { Endian::Little };
                let text = join(&[header], &body, crlf, last_end);
                check_table(&parse_socket_table(&text, endian), 1, &body, |l| parse_socket_line(l, endian))?;
                let inodes = parse_socket_inodes(&text);
                prop_assert!(inodes.rows.len() + inodes.bad_lines.len() <= body.len());
                let _ = parse_socket_line(&near, Endian::Big);
            }
        }
    }
}
