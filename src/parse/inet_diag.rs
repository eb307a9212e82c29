//! `struct inet_diag_msg`: the fixed header sock_diag sends for every TCP
//! socket of a dump, and the row `net/tcp` or `net/tcp6` prints for the same
//! socket. Hand-written beside `netlink-packet-sock-diag` because the crate
//! drops what `net/tcp` shows of the timers (the TIME_WAIT time left, probe
//! counts), and the tcp tab must show one row whichever way it was read.
//! A pure function over bytes; a short or odd buffer is an error, never a
//! panic. Layout and reasons: docs/parsers.md.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use nom::bytes::complete::take;
use nom::number::Endianness;
use nom::number::complete::{be_u16, u8 as byte, u32 as word};
use nom::{IResult, Parser};

use super::sockets::{SocketEntry, TcpState};

/// `AF_INET` and `AF_INET6`, the families a TCP dump answers with.
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

/// The tables whose rows a TCP dump gives: IPv4 sockets, then IPv6 ones.
pub const TABLES: [&str; 2] = ["tcp", "tcp6"];

/// Size of the fixed header.
pub const INET_DIAG_MSG_LEN: usize = 72;

/// The fixed header of one socket of a sock_diag dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InetDiagMsg {
    pub family: u8,
    pub state: u8,
    /// Which timer is pending, with the codes of `net/tcp`'s `tr` column.
    pub timer: u8,
    /// Retransmits for a retransmit timer (SYN-ACKs for a request socket),
    /// probes sent for a keepalive or zero-window probe timer.
    pub retransmits: u8,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub interface: u32,
    pub cookie: [u8; 8],
    /// Time until the timer fires, milliseconds.
    pub expires_ms: u32,
    pub rx_queue: u32,
    /// Unacknowledged bytes; for a listener, the backlog limit.
    pub tx_queue: u32,
    pub uid: u32,
    pub inode: u32,
}

type BResult<'a, T> = IResult<&'a [u8], T>;

fn native_u32(input: &[u8]) -> BResult<'_, u32> {
    word(Endianness::Native).parse(input)
}

/// An address of the socket id: 16 bytes in network order, of which an
/// IPv4 socket uses the first four.
fn address(family: u8) -> impl Fn(&[u8]) -> BResult<'_, IpAddr> {
    move |input| {
        let (rest, bytes) = take(16usize).parse(input)?;
        let ip = if family == AF_INET {
            IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
        } else {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            IpAddr::V6(Ipv6Addr::from(octets))
        };
        Ok((rest, ip))
    }
}

fn header(input: &[u8]) -> BResult<'_, InetDiagMsg> {
    let (input, (family, state, timer, retransmits)) = (byte, byte, byte, byte).parse(input)?;
    if family != AF_INET && family != AF_INET6 {
        return Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::Verify,
        )));
    }
    let (input, (local_port, remote_port)) = (be_u16, be_u16).parse(input)?;
    let (input, (local_ip, remote_ip)) = (address(family), address(family)).parse(input)?;
    let (input, interface) = native_u32(input)?;
    let (input, cookie) = take(8usize).parse(input)?;
    let (input, (expires_ms, rx_queue, tx_queue, uid, inode)) =
        (native_u32, native_u32, native_u32, native_u32, native_u32).parse(input)?;
    let mut cookie_bytes = [0u8; 8];
    cookie_bytes.copy_from_slice(cookie);
    Ok((
        input,
        InetDiagMsg {
            family,
            state,
            timer,
            retransmits,
            local: SocketAddr::new(local_ip, local_port),
            remote: SocketAddr::new(remote_ip, remote_port),
            interface,
            cookie: cookie_bytes,
            expires_ms,
            rx_queue,
            tx_queue,
            uid,
            inode,
        },
    ))
}

/// Parses the fixed header at the start of `payload` (a sock_diag answer
/// without its netlink header); what follows it is ignored.
pub fn parse_inet_diag_msg(payload: &[u8]) -> Result<InetDiagMsg, String> {
    match header(payload) {
        Ok((_, msg)) => Ok(msg),
        Err(_) if payload.len() < INET_DIAG_MSG_LEN => Err(format!(
            "a socket header of {} bytes, shorter than {INET_DIAG_MSG_LEN}",
            payload.len()
        )),
        Err(_) => Err(format!(
            "a socket header of address family {}, neither IPv4 nor IPv6",
            payload[0]
        )),
    }
}

impl InetDiagMsg {
    /// The table that lists this socket: `tcp` or `tcp6`.
    pub fn table(&self) -> &'static str {
        if self.family == AF_INET {
            TABLES[0]
        } else {
            TABLES[1]
        }
    }

    /// The row `net/tcp` (or `tcp6`) prints for this socket, as far as
    /// the header tells it; `slot` numbers it, `clock_ticks` (`USER_HZ`)
    /// converts the timer to the ticks that file counts in.
    ///
    /// Where the two differ the row follows `net/tcp`: a listener's send
    /// queue is 0 (the header gives its backlog limit), and the one
    /// retransmit byte goes to `retransmits` for a retransmit timer and to
    /// `probes` for a keepalive or probe timer (the kernel resets the
    /// other counter when data is acknowledged, so it is 0 but in rare
    /// moments). What only the text has — reference count, kernel
    /// pointer, congestion columns — is absent.
    pub fn socket_entry(&self, slot: u64, clock_ticks: u64) -> SocketEntry {
        let (retransmits, probes) = match self.timer {
            2 | 4 => (0, i64::from(self.retransmits)),
            _ => (u32::from(self.retransmits), 0),
        };
        let tx_queue = if TcpState::from_code(self.state) == TcpState::Listen {
            0
        } else {
            self.tx_queue
        };
        SocketEntry {
            slot,
            local: self.local,
            remote: self.remote,
            state: self.state,
            tx_queue,
            rx_queue: self.rx_queue,
            timer: self.timer,
            timer_ticks: if self.timer == 0 {
                0
            } else {
                u64::from(self.expires_ms).saturating_mul(clock_ticks) / 1000
            },
            retransmits,
            uid: self.uid,
            probes,
            inode: u64::from(self.inode),
            refcount: None,
            tcp: None,
            drops: None,
        }
    }

    /// The header as the kernel lays it out (for tests and fuzzing).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(INET_DIAG_MSG_LEN);
        out.extend([self.family, self.state, self.timer, self.retransmits]);
        out.extend(self.local.port().to_be_bytes());
        out.extend(self.remote.port().to_be_bytes());
        for ip in [self.local.ip(), self.remote.ip()] {
            let mut field = [0u8; 16];
            match ip {
                IpAddr::V4(v4) => field[..4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) => field.copy_from_slice(&v6.octets()),
            }
            out.extend(field);
        }
        out.extend(self.interface.to_ne_bytes());
        out.extend(self.cookie);
        for value in [
            self.expires_ms,
            self.rx_queue,
            self.tx_queue,
            self.uid,
            self.inode,
        ] {
            out.extend(value.to_ne_bytes());
        }
        out
    }
}

/// `INET_DIAG_INFO`, the attribute that carries `struct tcp_info`.
const INET_DIAG_INFO: u16 = 2;

/// The bits of an attribute's type that name it (the others are flags).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// What netmonitor reads of a connection's `struct tcp_info`, at its
/// offsets in `include/uapi/linux/tcp.h`. Older kernels send a shorter
/// structure: a field past its end reads 0 (`bytes_sent` and
/// `bytes_retrans` came with Linux 4.19, `delivery_rate` with 4.9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpCounters {
    pub retrans: u32,
    pub rtt_us: u32,
    pub rttvar_us: u32,
    pub snd_cwnd: u32,
    pub total_retrans: u32,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub delivery_rate: u64,
    pub bytes_sent: u64,
    pub bytes_retrans: u64,
}

/// Where `tcpi_bytes_received` ends: a `tcp_info` shorter than this (before
/// Linux 4.1) has no byte counters to read.
const TCP_INFO_WITH_BYTES: usize = 136;

/// The `tcp_info` counters among the attributes that follow the fixed
/// header of `payload` (a sock_diag answer without its netlink header);
/// `None` when there is no `INET_DIAG_INFO` attribute, or one too short
/// to hold byte counters. Malformed attributes end the search.
pub fn tcp_counters(payload: &[u8]) -> Option<TcpCounters> {
    let mut rest = payload.get(INET_DIAG_MSG_LEN..)?;
    while rest.len() >= 4 {
        let length = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
        let value = rest.get(4..length)?;
        if kind == INET_DIAG_INFO {
            return counters_of(value);
        }
        rest = rest.get(length.next_multiple_of(4)..)?;
    }
    None
}

fn counters_of(info: &[u8]) -> Option<TcpCounters> {
    if info.len() < TCP_INFO_WITH_BYTES {
        return None;
    }
    let u32_at = |at: usize| {
        info.get(at..at + 4)
            .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |at: usize| {
        info.get(at..at + 8).map_or(0, |b| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(b);
            u64::from_ne_bytes(bytes)
        })
    };
    Some(TcpCounters {
        retrans: u32_at(36),
        rtt_us: u32_at(68),
        rttvar_us: u32_at(72),
        snd_cwnd: u32_at(80),
        total_retrans: u32_at(100),
        bytes_acked: u64_at(120),
        bytes_received: u64_at(128),
        delivery_rate: u64_at(160),
        bytes_sent: u64_at(200),
        bytes_retrans: u64_at(208),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Endian;
    use crate::parse::sockets::parse_socket_line;
    use proptest::prelude::*;

    fn msg(family: u8, local: &str, remote: &str) -> InetDiagMsg {
        InetDiagMsg {
            family,
            state: 1,
            timer: 0,
            retransmits: 0,
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            interface: 0,
            cookie: [1, 2, 3, 4, 5, 6, 7, 8],
            expires_ms: 0,
            rx_queue: 0,
            tx_queue: 0,
            uid: 1000,
            inode: 4242,
        }
    }

    /// An established socket as a little-endian kernel lays out its header.
    fn established() -> InetDiagMsg {
        let mut m = msg(AF_INET, "127.0.0.1:5501", "127.0.0.1:40212");
        (m.uid, m.inode, m.rx_queue) = (0, 31337, 5);
        m
    }

    #[test]
    fn the_layout_is_the_kernels() {
        let bytes = established().to_bytes();
        assert_eq!(&bytes[..8], &[2, 1, 0, 0, 0x15, 0x7d, 0x9d, 0x14]);
        assert_eq!(&bytes[8..12], &[127, 0, 0, 1]);
        assert_eq!(&bytes[24..28], &[127, 0, 0, 1]);
        assert_eq!(&bytes[44..52], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[68..72], &31337u32.to_ne_bytes());
    }

    #[test]
    fn the_row_is_the_one_net_tcp_prints() {
        // The same established socket, as /proc/net/tcp prints it.
        let text = parse_socket_line(
            "   0: 0100007F:157D 0100007F:9D14 01 00000000:00000005 00:00000000 00000000     0        0 31337 1 0000000000000000 20 4 30 10 -1",
            Endian::Little,
        )
        .unwrap();
        let entry = established().socket_entry(0, 100);
        assert_eq!(
            entry,
            SocketEntry {
                refcount: None,
                tcp: None,
                ..text
            }
        );
    }

    #[test]
    fn timers_convert_to_clock_ticks_and_probes_go_where_net_tcp_puts_them() {
        let mut tw = msg(AF_INET, "127.0.0.1:80", "127.0.0.1:5000");
        (tw.state, tw.timer, tw.expires_ms, tw.inode) = (6, 3, 59_700, 0);
        let entry = tw.socket_entry(3, 100);
        assert_eq!((entry.timer, entry.timer_ticks, entry.slot), (3, 5970, 3));

        let mut keepalive = msg(AF_INET6, "[::1]:80", "[::1]:5000");
        (keepalive.timer, keepalive.retransmits, keepalive.expires_ms) = (2, 3, 7_199_000);
        let entry = keepalive.socket_entry(0, 100);
        assert_eq!((entry.retransmits, entry.probes), (0, 3));
        assert_eq!(entry.timer_ticks, 719_900);

        let mut retrans = msg(AF_INET, "10.0.0.1:80", "10.0.0.2:5000");
        (retrans.timer, retrans.retransmits, retrans.expires_ms) = (1, 2, 205);
        let entry = retrans.socket_entry(0, 250);
        assert_eq!(
            (entry.retransmits, entry.probes, entry.timer_ticks),
            (2, 0, 51)
        );
    }

    #[test]
    fn a_listener_sends_nothing_whatever_its_backlog() {
        let mut listener = msg(AF_INET6, "[::]:22", "[::]:0");
        (listener.state, listener.rx_queue, listener.tx_queue) = (0x0A, 2, 4096);
        let entry = listener.socket_entry(0, 100);
        assert_eq!((entry.rx_queue, entry.tx_queue), (2, 0));
        assert_eq!(listener.table(), "tcp6");
    }

    #[test]
    fn short_or_foreign_headers_are_errors() {
        let bytes = established().to_bytes();
        assert!(
            parse_inet_diag_msg(&bytes[..71])
                .unwrap_err()
                .contains("71 bytes")
        );
        assert!(parse_inet_diag_msg(&[]).is_err());
        let mut unix = bytes;
        unix[0] = 1;
        assert!(parse_inet_diag_msg(&unix).unwrap_err().contains("family 1"));
    }

    fn any_msg() -> impl Strategy<Value = InetDiagMsg> {
        (
            any::<bool>(),
            any::<[u8; 4]>(),
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<(u16, u16, u32)>(),
            any::<[u8; 8]>(),
            any::<(u32, u32, u32, u32, u32)>(),
        )
            .prop_map(
                |(v4, [state, timer, retransmits, _], a, b, (p, q, interface), cookie, rest)| {
                    let (local, remote, family) = if v4 {
                        let ip = |x: [u8; 16]| IpAddr::from([x[0], x[1], x[2], x[3]]);
                        (ip(a), ip(b), AF_INET)
                    } else {
                        (IpAddr::from(a), IpAddr::from(b), AF_INET6)
                    };
                    let (expires_ms, rx_queue, tx_queue, uid, inode) = rest;
                    InetDiagMsg {
                        family,
                        state,
                        timer,
                        retransmits,
                        local: SocketAddr::new(local, p),
                        remote: SocketAddr::new(remote, q),
                        interface,
                        cookie,
                        expires_ms,
                        rx_queue,
                        tx_queue,
                        uid,
                        inode,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn headers_laid_out_like_the_kernel_parse_back(msg in any_msg(), tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = msg.to_bytes();
            prop_assert_eq!(bytes.len(), INET_DIAG_MSG_LEN);
            bytes.extend(tail);
            prop_assert_eq!(parse_inet_diag_msg(&bytes), Ok(msg));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..160), ticks in any::<u64>()) {
            if let Ok(msg) = parse_inet_diag_msg(&bytes) {
                let _ = msg.socket_entry(0, ticks);
            }
            let _ = tcp_counters(&bytes);
        }

        /// The counters read at their offsets are those the
        /// netlink-packet-sock-diag crate decodes from the same answer,
        /// whatever other attributes come before.
        #[test]
        fn tcp_counters_match_the_crates_decoding(
            msg in any_msg(),
            info in proptest::collection::vec(any::<u8>(), 232..=280),
            before in proptest::collection::vec(any::<u8>(), 0..9),
        ) {
            use netlink_packet_core::Parseable;
            use netlink_packet_sock_diag::inet::InetResponse;
            use netlink_packet_sock_diag::inet::nlas::Nla;
            let mut payload = msg.to_bytes();
            payload.extend(attribute(100, &before)); // one the kernel does not send
            payload.extend(attribute(INET_DIAG_INFO, &info));
            let ours = tcp_counters(&payload).expect("counters");
            let theirs = InetResponse::parse(payload.as_slice()).unwrap();
            let Some(Nla::TcpInfo(info)) = theirs.nlas.iter().find(|n| matches!(n, Nla::TcpInfo(_))) else {
                panic!("the crate found no tcp_info");
            };
            prop_assert_eq!(ours, TcpCounters {
                retrans: info.retrans,
                rtt_us: info.rtt,
                rttvar_us: info.rttvar,
                snd_cwnd: info.snd_cwnd,
                total_retrans: info.total_retrans,
                bytes_acked: info.bytes_acked,
                bytes_received: info.bytes_received,
                delivery_rate: info.delivery_rate,
                bytes_sent: info.bytes_sent,
                bytes_retrans: info.bytes_retrans,
            });
        }
    }

    fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut out = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
        out.extend(kind.to_ne_bytes());
        out.extend(value);
        out.resize(out.len().div_ceil(4) * 4, 0);
        out
    }

    #[test]
    fn older_kernels_tcp_info_reads_what_it_has() {
        let header = established().to_bytes();
        let mut info = vec![0u8; 280];
        info[128..136].copy_from_slice(&1001u64.to_ne_bytes());
        info[200..208].copy_from_slice(&1500u64.to_ne_bytes());
        let with = |len: usize| {
            let mut payload = header.clone();
            payload.extend(attribute(INET_DIAG_INFO, &info[..len]));
            tcp_counters(&payload)
        };
        let now = with(280).unwrap();
        assert_eq!((now.bytes_received, now.bytes_sent), (1001, 1500));
        // Before 4.19: no bytes_sent, the rest still read.
        let older = with(192).unwrap();
        assert_eq!((older.bytes_received, older.bytes_sent), (1001, 0));
        // Before 4.1: no byte counters at all.
        assert_eq!(with(104), None);
        // No INFO attribute, or a length running past the end.
        assert_eq!(tcp_counters(&header), None);
        let mut cut = header.clone();
        cut.extend(attribute(INET_DIAG_INFO, &info));
        cut.truncate(header.len() + 100);
        assert_eq!(tcp_counters(&cut), None);
    }
}
