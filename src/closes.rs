//! TCP sockets as the kernel destroys them: a sock_diag socket subscribed
//! to the destroy groups receives one message per TCP socket of its
//! network namespace when it is freed, with its final `tcp_info`. That is
//! how connections shorter than a refresh are counted at all.
//!
//! [`parse_close_event`] decodes one such message (pure);
//! [`CloseSubscription`] is the I/O edge: opened in the process's
//! namespace (through [`crate::diag::in_namespace_of`]), then read by one
//! long-lived thread ([`CloseSubscription::spawn_reader`]) so that a burst
//! never waits for a refresh. The rules for who a closed socket belongs to
//! live in [`crate::ledger`]; the why of both, and what the kernel does not
//! say (the peer's FIN), is in `docs/flows.md`.
//!
//! Public for the live tests and the benchmark (`examples/closes_bench.rs`).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use netlink_packet_core::{NetlinkBuffer, Parseable};
use netlink_packet_sock_diag::SOCK_DIAG_BY_FAMILY;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::InetResponse;
use netlink_packet_sock_diag::inet::nlas::Nla;
use netlink_sys::protocols::NETLINK_SOCK_DIAG;
use netlink_sys::{Socket, SocketAddr as NetlinkAddr};
use nix::sys::socket::{getsockopt, setsockopt, sockopt};
use nix::sys::time::TimeVal;

use crate::diag::in_namespace_of;
use crate::error::DiagError;
use crate::snapshot::DumpPlace;

/// `SKNLGRP_INET_TCP_DESTROY` (1) and `SKNLGRP_INET6_TCP_DESTROY` (3) as
/// the bind mask of a netlink socket (bit `group - 1`).
const DESTROY_GROUPS: u32 = (1 << 0) | (1 << 2);

/// One TCP socket the kernel destroyed, with its final counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedSocket {
    /// The kernel's socket cookie, as [`crate::snapshot::TcpFlow::cookie`]:
    /// what ties the event to a connection seen alive.
    pub cookie: [u8; 8],
    /// `AF_INET` or `AF_INET6` (an IPv4 peer of an IPv6 socket has an
    /// IPv4-mapped address here, as in the dumps).
    pub family: u8,
    pub local: SocketAddr,
    /// Port 0 for a listener, and for a connection aborted with
    /// `SO_LINGER` 0 (the kernel clears the peer and the counters then).
    pub peer: SocketAddr,
    pub interface: u32,
    /// Always CLOSE (7) when the kernel destroys a socket.
    pub state: u8,
    /// `tcpi_bytes_sent`: payload put on the wire, retransmissions included.
    pub bytes_sent: u64,
    pub bytes_retrans: u64,
    /// `tcpi_bytes_received`: payload received in order, plus one for the
    /// peer's FIN when it reached this socket.
    pub bytes_received: u64,
    pub bytes_acked: u64,
    /// Smoothed round-trip time, microseconds.
    pub rtt_us: u32,
    /// Segments retransmitted over the connection's life.
    pub total_retrans: u32,
    /// `INET_DIAG_SHUTDOWN` when the kernel sent it (6.18 does not).
    pub shutdown: Option<u8>,
}

impl ClosedSocket {
    /// Payload bytes sent, each once: as [`crate::tabs::flows::sent_bytes`].
    pub fn sent_payload(&self) -> u64 {
        self.bytes_sent.saturating_sub(self.bytes_retrans)
    }

    /// Payload bytes received: `tcpi_bytes_received` less one, always
    /// (never below 0). The event cannot say whether the peer's FIN was
    /// counted; this is exact whenever it was — every connection the peer
    /// closed first, simultaneous closes, and those whose peer answered
    /// the process's FIN with its own within the delayed-ACK time — and one
    /// byte short otherwise (see `docs/flows.md`, "Connections that closed").
    pub fn received_payload(&self) -> u64 {
        self.bytes_received.saturating_sub(1)
    }

    /// Whether the socket had a peer: listeners, and connections aborted
    /// with `SO_LINGER` 0, have none by the time they are destroyed.
    pub fn is_connection(&self) -> bool {
        self.peer.port() != 0
    }
}

/// Why a message is no close event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseEventError {
    #[error("not a netlink message: {0}")]
    Truncated(String),
    #[error("netlink message of type {0}, not SOCK_DIAG_BY_FAMILY")]
    WrongType(u16),
    #[error("cannot decode the socket: {0}")]
    Undecodable(String),
    #[error("address family {0} is neither IPv4 nor IPv6")]
    WrongFamily(u8),
    #[error("protocol {0} is not TCP")]
    NotTcp(u8),
    #[error("the event has no tcp_info")]
    NoCounters,
}

/// Decodes one netlink message (`bytes` starts with its header; anything
/// after the length the header gives is ignored) of a destroy group.
pub fn parse_close_event(bytes: &[u8]) -> Result<ClosedSocket, CloseEventError> {
    let message =
        NetlinkBuffer::new_checked(bytes).map_err(|e| CloseEventError::Truncated(e.to_string()))?;
    if message.message_type() != SOCK_DIAG_BY_FAMILY {
        return Err(CloseEventError::WrongType(message.message_type()));
    }
    // The family decides how the crate reads the addresses; check it first
    // so that an odd one is named as such.
    let payload = message.payload();
    if let Some(&family) = payload.first() {
        if family != AF_INET && family != AF_INET6 {
            return Err(CloseEventError::WrongFamily(family));
        }
    }
    let response =
        InetResponse::parse(payload).map_err(|e| CloseEventError::Undecodable(e.to_string()))?;
    let mut info = None;
    let mut shutdown = None;
    for nla in &response.nlas {
        match nla {
            Nla::TcpInfo(found) => info = Some(found),
            Nla::Shutdown(how) => shutdown = Some(*how),
            Nla::Protocol(protocol) if *protocol != IPPROTO_TCP => {
                return Err(CloseEventError::NotTcp(*protocol));
            }
            _ => {}
        }
    }
    let info = info.ok_or(CloseEventError::NoCounters)?;
    let header = &response.header;
    let id = &header.socket_id;
    Ok(ClosedSocket {
        cookie: id.cookie,
        family: header.family,
        local: SocketAddr::new(id.source_address, id.source_port),
        peer: SocketAddr::new(id.destination_address, id.destination_port),
        interface: id.interface_id,
        state: header.state,
        bytes_sent: info.bytes_sent,
        bytes_retrans: info.bytes_retrans,
        bytes_received: info.bytes_received,
        bytes_acked: info.bytes_acked,
        rtt_us: info.rtt,
        total_retrans: info.total_retrans,
        shutdown,
    })
}

/// The receive buffer asked for: a burst of tens of thousands of closes
/// (about 400 bytes each in the buffer's accounting) must fit while the
/// reader thread waits for a CPU.
pub const WANTED_BUFFER: usize = 32 << 20;

/// How long one [`CloseSubscription::receive`] waits: the reader thread
/// looks at its stop flag this often.
pub const RECEIVE_TIMEOUT: Duration = Duration::from_millis(100);

/// The most messages one [`CloseSubscription::receive`] hands over.
const BATCH: usize = 256;

/// A datagram of the destroy groups holds one message of a few hundred
/// bytes; this never truncates one.
const DATAGRAM: usize = 16 * 1024;

/// How the receive buffer was sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferGrant {
    /// What `SO_RCVBUF` reads back (the kernel's doubled figure).
    pub bytes: usize,
    /// Whether `SO_RCVBUFFORCE` was permitted (else `SO_RCVBUF`, capped by
    /// `net.core.rmem_max`).
    pub forced: bool,
}

/// What a subscription has met so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriptionStats {
    pub events: u64,
    /// Times `recv` said ENOBUFS: the buffer overflowed and messages were
    /// dropped (while it stays congested, the kernel drops more without
    /// saying so again: [`SubscriptionStats::lost`] counts them all).
    pub overflows: u64,
    /// Messages the kernel dropped, from the socket's drop counter
    /// (`SO_MEMINFO`); `None` when that could not be read.
    pub lost: Option<u64>,
    /// Messages that were no close event (see [`CloseEventError`]).
    pub undecodable: u64,
}

/// What one [`CloseSubscription::receive`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// This many events were appended.
    Closed(usize),
    /// The buffer had overflowed: `lost` messages are gone since the last
    /// report (`None`: ENOBUFS, but the drop counter cannot be read).
    Overflowed { lost: Option<u64> },
    /// Nothing within [`RECEIVE_TIMEOUT`].
    Idle,
}

/// A sock_diag socket of one network namespace, subscribed to the TCP
/// destroy groups.
pub struct CloseSubscription {
    socket: Socket,
    buffer: Vec<u8>,
    grant: BufferGrant,
    place: DumpPlace,
    stats: SubscriptionStats,
    /// The socket's drop counter when last read.
    drops: Option<u32>,
    /// A loss read along with events, reported by the next receive.
    pending_loss: Option<Option<u64>>,
}

impl CloseSubscription {
    /// Subscribes in the network namespace of the process whose view
    /// directory is `view_dir` (as the sock_diag dumps), asking for a
    /// receive buffer of `wanted` bytes.
    pub fn open(view_dir: &Path, wanted: usize) -> Result<CloseSubscription, DiagError> {
        let (socket, place) = in_namespace_of(view_dir, |_| subscribed_socket())?;
        let grant = size_buffer(&socket, wanted);
        let netlink = |errno: nix::errno::Errno| DiagError::Netlink(errno.into());
        let timeout = TimeVal::new(0, RECEIVE_TIMEOUT.as_micros() as _);
        setsockopt(&socket, sockopt::ReceiveTimeout, &timeout).map_err(netlink)?;
        let drops = dropped(&socket);
        Ok(CloseSubscription {
            socket,
            buffer: vec![0; DATAGRAM],
            grant,
            place,
            stats: SubscriptionStats {
                lost: drops.map(|_| 0),
                ..SubscriptionStats::default()
            },
            drops,
            pending_loss: None,
        })
    }

    pub fn grant(&self) -> BufferGrant {
        self.grant
    }

    pub fn place(&self) -> &DumpPlace {
        &self.place
    }

    pub fn stats(&self) -> SubscriptionStats {
        self.stats
    }

    /// Waits up to [`RECEIVE_TIMEOUT`] for events and appends them to
    /// `out` (then takes, without waiting, what else is queued, up to a
    /// batch). Losses are read from the socket's drop counter at every
    /// call — a congested netlink socket drops messages without a second
    /// ENOBUFS — and reported on their own, before the next events.
    pub fn receive(&mut self, out: &mut Vec<ClosedSocket>) -> Result<Receipt, DiagError> {
        if let Some(lost) = self.pending_loss.take() {
            return Ok(Receipt::Overflowed { lost });
        }
        let mut got = 0;
        let mut overflowed = false;
        // Bounded: an ENOBUFS is followed by data or EAGAIN, but a busy
        // namespace could alternate them.
        for _ in 0..BATCH * 2 {
            if got >= BATCH {
                break;
            }
            let flags = if got == 0 && !overflowed {
                0
            } else {
                nix::libc::MSG_DONTWAIT
            };
            let size = {
                let mut space = &mut self.buffer[..];
                match self.socket.recv(&mut space, flags) {
                    Ok(size) => size,
                    Err(e) => match e.raw_os_error() {
                        Some(nix::libc::EINTR) => continue,
                        Some(nix::libc::EAGAIN) => break,
                        Some(nix::libc::ENOBUFS) => {
                            self.stats.overflows += 1;
                            overflowed = true;
                            continue;
                        }
                        _ => return Err(DiagError::Netlink(e)),
                    },
                }
            };
            let datagram = &self.buffer[..size.min(self.buffer.len())];
            for message in messages(datagram) {
                match parse_close_event(message) {
                    Ok(event) => {
                        out.push(event);
                        got += 1;
                    }
                    Err(_) => self.stats.undecodable += 1,
                }
            }
        }
        self.stats.events += got as u64;
        let loss = match self.count_lost() {
            Some(0) if !overflowed => None,
            None if !overflowed => None,
            lost => Some(lost),
        };
        Ok(match loss {
            None if got == 0 => Receipt::Idle,
            None => Receipt::Closed(got),
            Some(lost) if got == 0 => Receipt::Overflowed { lost },
            Some(lost) => {
                self.pending_loss = Some(lost);
                Receipt::Closed(got)
            }
        })
    }

    /// Messages dropped since the last reading of the drop counter.
    fn count_lost(&mut self) -> Option<u64> {
        let now = dropped(&self.socket)?;
        let before = self.drops.replace(now)?;
        let lost = u64::from(now.wrapping_sub(before));
        self.stats.lost = Some(self.stats.lost.unwrap_or(0) + lost);
        Some(lost)
    }

    /// Moves the subscription to a thread of its own that hands every
    /// receipt to `on` until the returned [`CloseReader`] is stopped or
    /// dropped (within [`RECEIVE_TIMEOUT`]), or receiving fails.
    pub fn spawn_reader(
        mut self,
        mut on: impl FnMut(Delivery<'_>) + Send + 'static,
    ) -> io::Result<CloseReader> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("tcp-closes".into())
            .spawn(move || {
                let mut events = Vec::with_capacity(BATCH);
                while !stopping.load(Ordering::Relaxed) {
                    events.clear();
                    match self.receive(&mut events) {
                        Ok(Receipt::Closed(_)) => on(Delivery::Closed(&events)),
                        Ok(Receipt::Overflowed { lost }) => on(Delivery::Overflowed { lost }),
                        Ok(Receipt::Idle) => {}
                        Err(why) => {
                            on(Delivery::Failed(&why));
                            return Err(why);
                        }
                    }
                }
                Ok(self.stats)
            })?;
        Ok(CloseReader {
            stop,
            thread: Some(thread),
        })
    }
}

/// What the reader thread hands over.
#[derive(Debug)]
pub enum Delivery<'a> {
    Closed(&'a [ClosedSocket]),
    Overflowed {
        lost: Option<u64>,
    },
    /// Receiving failed; the thread ends.
    Failed(&'a DiagError),
}

/// The thread reading a [`CloseSubscription`]; stops it when dropped.
pub struct CloseReader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<SubscriptionStats, DiagError>>>,
}

impl CloseReader {
    /// Stops the thread and returns what the subscription met.
    pub fn stop(mut self) -> Result<SubscriptionStats, DiagError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<SubscriptionStats, DiagError> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(DiagError::netlink("the reader thread failed"))),
            None => Err(DiagError::netlink("the reader was stopped already")),
        }
    }
}

#[cfg(test)]
impl CloseReader {
    /// A reader without a thread, for fake kernels.
    pub(crate) fn without_thread() -> CloseReader {
        CloseReader {
            stop: Arc::default(),
            thread: None,
        }
    }
}

impl Drop for CloseReader {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.finish();
        }
    }
}

/// A sock_diag socket of this thread's namespace bound to the destroy
/// groups.
fn subscribed_socket() -> Result<Socket, DiagError> {
    let netlink = DiagError::Netlink;
    let mut socket = Socket::new(NETLINK_SOCK_DIAG).map_err(netlink)?;
    socket
        .bind(&NetlinkAddr::new(0, DESTROY_GROUPS))
        .map_err(netlink)?;
    Ok(socket)
}

/// Asks for `wanted` bytes of receive buffer: forced past
/// `net.core.rmem_max` where permitted (CAP_NET_ADMIN), else as much as
/// that allows.
fn size_buffer(socket: &Socket, wanted: usize) -> BufferGrant {
    let forced = setsockopt(socket, sockopt::RcvBufForce, &wanted).is_ok();
    if !forced {
        let _ = setsockopt(socket, sockopt::RcvBuf, &wanted);
    }
    BufferGrant {
        bytes: getsockopt(socket, sockopt::RcvBuf).unwrap_or(0),
        forced,
    }
}

/// The socket's drop counter (`SK_MEMINFO_DROPS` of `SO_MEMINFO`).
fn dropped(socket: &Socket) -> Option<u32> {
    const SK_MEMINFO_VARS: usize = 9;
    const SK_MEMINFO_DROPS: usize = 8;
    let mut info = [0u32; SK_MEMINFO_VARS];
    let mut length = std::mem::size_of_val(&info) as nix::libc::socklen_t;
    // SAFETY: the kernel writes at most `length` bytes into `info`, which
    // is that long, and stores the length it wrote.
    let result = unsafe {
        nix::libc::getsockopt(
            socket.as_raw_fd(),
            nix::libc::SOL_SOCKET,
            nix::libc::SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut length,
        )
    };
    (result == 0 && length as usize > SK_MEMINFO_DROPS * 4).then(|| info[SK_MEMINFO_DROPS])
}

/// The netlink messages of one datagram, each whole; a malformed tail is
/// handed over as it is, for [`parse_close_event`] to refuse.
fn messages(mut datagram: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if datagram.is_empty() {
            return None;
        }
        let length = match datagram.get(..4) {
            Some(bytes) => u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize,
            None => 0,
        };
        // Messages are 4-byte aligned.
        let step = length.div_ceil(4) * 4;
        if length < 16 || step > datagram.len() {
            let rest = datagram;
            datagram = &[];
            return Some(rest);
        }
        let (message, after) = datagram.split_at(step);
        datagram = after;
        Some(&message[..length])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    /// `tcp_info` as kernel 6.18 sends it (280 bytes), with the counters
    /// this module reads at their offsets of `struct tcp_info`.
    fn tcp_info(sent: u64, retrans: u64, received: u64, acked: u64) -> Vec<u8> {
        let mut info = vec![0u8; 280];
        info[0] = 7; // CLOSE
        info[68..72].copy_from_slice(&350u32.to_ne_bytes()); // rtt
        info[100..104].copy_from_slice(&2u32.to_ne_bytes()); // total_retrans
        info[120..128].copy_from_slice(&acked.to_ne_bytes());
        info[128..136].copy_from_slice(&received.to_ne_bytes());
        info[200..208].copy_from_slice(&sent.to_ne_bytes());
        info[208..216].copy_from_slice(&retrans.to_ne_bytes());
        info
    }

    fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut out = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
        out.extend(kind.to_ne_bytes());
        out.extend(value);
        out.resize(out.len().div_ceil(4) * 4, 0);
        out
    }

    /// A destroy message as the kernel builds it: `inet_diag_msg` (uid
    /// and inode 0), then PROTOCOL and INFO.
    fn event(local: SocketAddr, peer: SocketAddr, cookie: u64, attributes: &[Vec<u8>]) -> Vec<u8> {
        let family = if local.is_ipv4() { AF_INET } else { AF_INET6 };
        let mut body = vec![family, 7, 0, 0];
        body.extend(local.port().to_be_bytes());
        body.extend(peer.port().to_be_bytes());
        for ip in [local.ip(), peer.ip()] {
            let mut address = [0u8; 16];
            match ip {
                IpAddr::V4(v4) => address[..4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) => address = v6.octets(),
            }
            body.extend(address);
        }
        body.extend(3u32.to_ne_bytes()); // interface
        body.extend(cookie.to_ne_bytes());
        body.extend([0u8; 20]); // expires, queues, uid, inode
        assert_eq!(body.len(), 72);
        for a in attributes {
            body.extend(a);
        }
        let mut message = ((16 + body.len()) as u32).to_ne_bytes().to_vec();
        message.extend(SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        message.extend([0u8; 10]); // flags, sequence, port
        message.extend(body);
        message
    }

    fn standard(local: &str, peer: &str) -> Vec<u8> {
        event(
            local.parse().unwrap(),
            peer.parse().unwrap(),
            0x1122_3344_5566_7788,
            &[
                attribute(10, &[IPPROTO_TCP]),
                attribute(2, &tcp_info(1500, 100, 1001, 1401)),
            ],
        )
    }

    #[test]
    fn an_ipv4_event_gives_addresses_cookie_and_final_counters() {
        let closed = parse_close_event(&standard("10.0.0.1:80", "10.0.0.2:40000")).unwrap();
        assert_eq!(closed.local, "10.0.0.1:80".parse().unwrap());
        assert_eq!(closed.peer, "10.0.0.2:40000".parse().unwrap());
        assert_eq!(closed.family, AF_INET);
        assert_eq!(closed.cookie, 0x1122_3344_5566_7788u64.to_ne_bytes());
        assert_eq!(closed.interface, 3);
        assert_eq!(closed.state, 7);
        assert_eq!(
            (closed.bytes_sent, closed.bytes_retrans),
            (1500, 100),
            "{closed:?}"
        );
        assert_eq!((closed.bytes_received, closed.bytes_acked), (1001, 1401));
        assert_eq!((closed.rtt_us, closed.total_retrans), (350, 2));
        assert_eq!(closed.shutdown, None);
        assert_eq!(closed.sent_payload(), 1400, "retransmissions once");
        assert_eq!(closed.received_payload(), 1000, "the FIN is no payload");
        assert!(closed.is_connection());
    }

    #[test]
    fn ipv6_and_ipv4_mapped_addresses_stay_as_the_dumps_write_them() {
        let v6 = parse_close_event(&standard("[fd00::1]:443", "[fd00::2]:50000")).unwrap();
        assert_eq!(v6.family, AF_INET6);
        assert_eq!(v6.local.ip(), "fd00::1".parse::<IpAddr>().unwrap());
        assert_eq!(v6.peer.port(), 50000);
        let mapped = parse_close_event(&standard(
            "[::ffff:127.0.0.1]:8080",
            "[::ffff:127.0.0.1]:41000",
        ))
        .unwrap();
        assert_eq!(mapped.family, AF_INET6);
        assert_eq!(
            mapped.local.ip(),
            IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped())
        );
    }

    #[test]
    fn a_shutdown_attribute_is_kept_when_a_kernel_sends_it() {
        let bytes = event(
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
            1,
            &[attribute(8, &[3]), attribute(2, &tcp_info(0, 0, 0, 0))],
        );
        assert_eq!(parse_close_event(&bytes).unwrap().shutdown, Some(3));
    }

    #[test]
    fn a_listener_or_an_aborted_connection_has_no_peer_and_nothing_received() {
        let bytes = event(
            "0.0.0.0:80".parse().unwrap(),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            9,
            &[attribute(2, &tcp_info(0, 0, 0, 0))],
        );
        let closed = parse_close_event(&bytes).unwrap();
        assert!(!closed.is_connection());
        assert_eq!(closed.received_payload(), 0, "never below zero");
    }

    #[test]
    fn odd_messages_are_refused_with_their_reason() {
        let no_info = event(
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
            1,
            &[attribute(10, &[IPPROTO_TCP])],
        );
        assert_eq!(
            parse_close_event(&no_info),
            Err(CloseEventError::NoCounters)
        );

        let whole = standard("127.0.0.1:1", "127.0.0.1:2");
        assert!(matches!(
            parse_close_event(&whole[..10]),
            Err(CloseEventError::Truncated(_))
        ));
        // The header claims more than there is.
        assert!(matches!(
            parse_close_event(&whole[..whole.len() - 8]),
            Err(CloseEventError::Truncated(_))
        ));
        // A header that fits, with the socket cut short.
        let mut short = whole[..16 + 40].to_vec();
        short[..4].copy_from_slice(&56u32.to_ne_bytes());
        assert!(matches!(
            parse_close_event(&short),
            Err(CloseEventError::Undecodable(_))
        ));
        // tcp_info shorter than the crate knows (an old kernel's).
        let old = event(
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
            1,
            &[attribute(2, &tcp_info(0, 0, 0, 0)[..104])],
        );
        assert!(matches!(
            parse_close_event(&old),
            Err(CloseEventError::Undecodable(_))
        ));

        let mut error = whole.clone();
        error[4..6].copy_from_slice(&2u16.to_ne_bytes()); // NLMSG_ERROR
        assert_eq!(
            parse_close_event(&error),
            Err(CloseEventError::WrongType(2))
        );
        let mut unix = whole.clone();
        unix[16] = 1; // AF_UNIX
        assert_eq!(
            parse_close_event(&unix),
            Err(CloseEventError::WrongFamily(1))
        );
        let udp = event(
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
            1,
            &[attribute(10, &[17]), attribute(2, &tcp_info(0, 0, 0, 0))],
        );
        assert_eq!(parse_close_event(&udp), Err(CloseEventError::NotTcp(17)));
    }

    #[test]
    fn a_datagram_is_cut_into_whole_messages() {
        let first = standard("127.0.0.1:1", "127.0.0.1:2");
        let second = standard("[::1]:3", "[::1]:4");
        let mut datagram = first.clone();
        datagram.extend(&second);
        datagram.extend([1, 2, 3]); // a tail too short for a header
        let cut: Vec<&[u8]> = messages(&datagram).collect();
        assert_eq!(cut, [&first[..], &second[..], &[1, 2, 3][..]]);
        assert!(parse_close_event(cut[2]).is_err());
        assert_eq!(messages(&[]).count(), 0);
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_close_event(&bytes);
            for message in messages(&bytes) {
                let _ = parse_close_event(message);
            }
        }

        /// Past the netlink header, where random bytes rarely get: any
        /// socket header and attributes.
        #[test]
        fn any_payload_of_a_sock_diag_message_decodes_or_is_refused(
            family in prop_oneof![Just(AF_INET), Just(AF_INET6), any::<u8>()],
            body in proptest::collection::vec(any::<u8>(), 0..500),
        ) {
            let mut message = ((17 + body.len()) as u32).to_ne_bytes().to_vec();
            message.extend(SOCK_DIAG_BY_FAMILY.to_ne_bytes());
            message.extend([0u8; 10]);
            message.push(family);
            message.extend(&body);
            let _ = parse_close_event(&message);
        }

        #[test]
        fn any_counters_and_addresses_come_back(
            local in any::<(u32, u16)>(), peer in any::<([u8; 16], u16)>(), cookie in any::<u64>(),
            sent in any::<u64>(), retrans in any::<u64>(), received in any::<u64>(),
        ) {
            let local = SocketAddr::new(IpAddr::V6(Ipv6Addr::from(u128::from(local.0))), local.1);
            let peer = SocketAddr::new(IpAddr::V6(Ipv6Addr::from(peer.0)), peer.1);
            let bytes = event(local, peer, cookie, &[attribute(2, &tcp_info(sent, retrans, received, 0))]);
            let closed = parse_close_event(&bytes).unwrap();
            prop_assert_eq!((closed.local, closed.peer), (local, peer));
            prop_assert_eq!(closed.cookie, cookie.to_ne_bytes());
            prop_assert_eq!(closed.sent_payload(), sent.saturating_sub(retrans));
            prop_assert_eq!(closed.received_payload(), received.saturating_sub(1));
        }
    }

    #[test]
    fn a_subscription_sees_a_connection_of_its_namespace_close() {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        // The test's own namespace: subscribing needs no privilege.
        let mut subscription =
            CloseSubscription::open(Path::new("/proc/thread-self"), 1 << 20).unwrap();
        assert!(subscription.grant().bytes > 0);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let server_end = server.local_addr().unwrap();
        let client_end = client.local_addr().unwrap();
        client.write_all(&[5; 777]).unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).unwrap();
        drop(server);
        drop(client);
        let mut events = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline
            && !events
                .iter()
                .any(|e: &ClosedSocket| e.local == server_end && e.peer == client_end)
        {
            subscription.receive(&mut events).unwrap();
        }
        let closed = events
            .iter()
            .find(|e| e.local == server_end && e.peer == client_end)
            .expect("the server end's close is seen");
        assert_eq!(closed.received_payload(), 777);
        assert_eq!(subscription.stats().overflows, 0);
    }
}
