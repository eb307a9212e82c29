//! The kernel's per-connection TCP counters, read over netlink
//! (`NETLINK_SOCK_DIAG`, what `ss -ti` uses): the second I/O module besides
//! [`crate::source`].
//!
//! Why it exists apart from `source.rs`: `/proc` has no byte counters for
//! sockets. The kernel keeps them in each TCP socket's `tcp_info` and hands
//! them out — to unprivileged users too — only through a sock_diag dump,
//! which is a socket conversation, not a file read. And a dump always
//! describes the network namespace of the netlink socket that asked, so
//! this module also owns the one place where netmonitor deals with
//! namespaces: when the monitored process lives in another network
//! namespace, the netlink socket is created on a short-lived helper thread
//! that first `setns()`es into `/proc/<pid>/ns/net`. The main thread never
//! changes namespace; the helper thread ends with the dump.
//!
//! When `ns/net` cannot be read at all (another user's process, for an
//! unprivileged user), nobody can say which namespace the process is in,
//! and the dump of netmonitor's own namespace is used only if the process's
//! `net/netlink` (readable by anyone) lists the very netlink socket that
//! asked: a socket is listed only in its own namespace's table, so that
//! proves the two namespaces are one.
//!
//! It also serves the tcp tab on a live system: [`dump_sockets`] hands
//! over the fixed header of every TCP socket of the namespace, which
//! [`crate::parse::inet_diag`] turns into the rows `net/tcp` would print,
//! at about half the kernel's cost of formatting that file.
//!
//! Everything returned is plain data ([`TcpFlow`], [`InetDiagMsg`]);
//! kernel structures are decoded by `netlink-packet-sock-diag` (with its
//! `rich_nlas` feature for `tcp_info`), except the bare socket header of
//! [`dump_sockets`]: the crate's decoding of it drops the TIME_WAIT timer
//! and the probe counts that `net/tcp` shows, so `parse/inet_diag.rs`
//! reads it. A dump asked for only some sockets
//! (the process's own, for the TCP rate of every status box) still gets
//! every connection of the namespace from the kernel, which cannot filter
//! by inode, but decodes only the fixed header of the others: on a
//! namespace of 100 000 connections that spares most of the work and the
//! memory of a tick. Better still, while the last such reading accounts
//! for every socket the process holds, the next one asks for each of its
//! connections alone, by addresses and socket cookie ([`own_connections`]),
//! and the kernel describes nothing else.

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    Parseable,
};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::nlas::{Nla, TcpInfo};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponse, InetResponseHeader, SocketId, StateFlags,
};
use netlink_packet_sock_diag::{SOCK_DIAG_BY_FAMILY, SockDiagMessage};
use netlink_sys::protocols::NETLINK_SOCK_DIAG;
use netlink_sys::{Socket, SocketAddr as NetlinkAddr};
use nix::errno::Errno;

use crate::error::describe_io;
use crate::parse::inet_diag::{InetDiagMsg, parse_inet_diag_msg};
use nix::sched::{CloneFlags, setns};
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::stat::fstat;
use nix::sys::time::TimeVal;
use rustc_hash::FxHashSet;

/// One TCP connection as the kernel counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpFlow {
    /// Socket inode, as in the `socket:[N]` links of `fd/`.
    pub inode: u64,
    pub uid: u32,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    /// The interface the socket is bound to (0 for none) and the kernel's
    /// cookie of the socket: with the addresses, what names this very
    /// socket to a later lookup ([`lookup_tcp`]).
    pub interface: u32,
    pub cookie: [u8; 8],
    /// TCP state code (`1` ESTABLISHED …), as in `net/tcp`.
    pub state: u8,
    /// Payload bytes the peer acknowledged (`tcpi_bytes_acked`): what the
    /// process sent and the peer got, each byte once.
    pub bytes_acked: u64,
    /// Payload bytes received in order (`tcpi_bytes_received`).
    pub bytes_received: u64,
    /// Payload bytes put on the wire, retransmissions included
    /// (`tcpi_bytes_sent`, kernel 4.19+; 0 before).
    pub bytes_sent: u64,
    /// Payload bytes retransmitted (`tcpi_bytes_retrans`).
    pub bytes_retrans: u64,
    /// Smoothed round-trip time and its mean deviation, in microseconds.
    pub rtt_us: u32,
    pub rttvar_us: u32,
    /// Congestion window, in segments.
    pub snd_cwnd: u32,
    /// Segments retransmitted and not yet acknowledged (`tcpi_retrans`).
    pub retrans: u32,
    /// Segments retransmitted over the connection's life.
    pub total_retrans: u32,
    /// The kernel's latest delivery-rate sample, bytes per second.
    pub delivery_rate: u64,
}

/// Where a dump was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpPlace {
    /// netmonitor's own network namespace is the process's.
    SameNamespace,
    /// The process's namespace, entered on a helper thread.
    Entered,
    /// `ns/net` of the process could not be read (holds why), but its
    /// `net/netlink` lists the dumping socket: netmonitor's own namespace
    /// is the process's.
    SameByNetlinkTable(String),
}

/// One tick's dump: every TCP connection of the namespace that has
/// `tcp_info` (listeners, TIME_WAIT and request sockets are not asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDump {
    pub flows: Vec<TcpFlow>,
    pub place: DumpPlace,
    /// For the process's own connections ([`own_connections`]): what the
    /// next tick needs to ask for them one by one.
    pub own: Option<OwnConnections>,
}

/// What a reading of the process's own connections knew besides them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnConnections {
    /// The process's socket inodes that were no TCP connection when the
    /// namespace was last dumped (listeners, UDP, unix sockets …).
    pub others: FxHashSet<u64>,
    /// When the namespace was last dumped.
    pub dumped_at: Instant,
    /// How many connections the namespace had then.
    pub in_namespace: usize,
}

/// How long connections are looked up one by one before the namespace is
/// dumped again anyway: a socket that was not yet connected at the last
/// dump counts as "not a connection" until the next one.
pub const REDUMP_AFTER: Duration = Duration::from_secs(10);

/// A lookup costs about three times what a dump spends on a connection it
/// then skips (2.7 µs against 0.9 µs at 100 000 connections, measured with
/// `examples/tick_pieces.rs`): looking up more than a third of the
/// namespace's connections is slower than dumping them all — once there
/// are enough of them for it to matter (below [`LOOKUP_ANYWAY`], either
/// way takes under a millisecond).
const LOOKUP_COST: usize = 3;
const LOOKUP_ANYWAY: usize = 300;

/// Why there is no dump.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiagError {
    /// Entering the process's namespace was refused.
    #[error("cannot enter the network namespace of {path} ({why})")]
    NotPermitted { path: PathBuf, why: String },
    /// The netlink conversation failed.
    #[error("the kernel's socket diagnostics (netlink sock_diag) failed: {0}")]
    Netlink(String),
    /// The namespace file is gone (the process exited) or unusable.
    #[error("cannot open {path} ({why})")]
    Namespace { path: PathBuf, why: String },
    /// `ns/net` could not be read (`why`) and the process's `net/netlink`
    /// does not list netmonitor's socket: it lives in another namespace,
    /// which only a privileged user may enter.
    #[error("{why}, and the process is not in netmonitor's network namespace")]
    OtherNamespace { why: String },
}

impl DiagError {
    /// What would allow the dump, when something would.
    pub fn remedy(&self) -> Option<&'static str> {
        match self {
            DiagError::NotPermitted { .. } => Some(
                "run as root or with CAP_SYS_ADMIN to read connections in another network namespace",
            ),
            DiagError::OtherNamespace { .. } => Some(
                "run as root (or with CAP_SYS_PTRACE to open its ns/net and CAP_SYS_ADMIN to enter it) to read connections in another network namespace",
            ),
            _ => None,
        }
    }
}

/// netmonitor's own network namespace (of this thread, which never moves).
const OWN_NAMESPACE: &str = "/proc/thread-self/ns/net";

/// Dumps the TCP connections of the network namespace of the process
/// whose `/proc` directory (or live thread's, see
/// [`crate::source::ProcSource::view_dir`]) is `view_dir`. With `only`,
/// keeps just the connections of those inodes.
pub fn dump_tcp(view_dir: &Path, only: Option<&FxHashSet<u64>>) -> Result<FlowDump, DiagError> {
    Ok(dump_counting(view_dir, only)?.0)
}

/// [`dump_tcp`], and how many connections the namespace has.
fn dump_counting(
    view_dir: &Path,
    only: Option<&FxHashSet<u64>>,
) -> Result<(FlowDump, usize), DiagError> {
    let ((flows, described), place) = in_namespace_of(view_dir, |socket| dump_with(socket, only))?;
    let dump = FlowDump {
        flows,
        place,
        own: None,
    };
    Ok((dump, described))
}

/// Asks the kernel for each of `flows` again, by its addresses,
/// interface and cookie, in the namespace of `view_dir`: the connections
/// still open, with their counters now. A socket that closed meanwhile
/// (or whose 4-tuple a new socket took: the cookie differs) is left out.
pub fn lookup_tcp(view_dir: &Path, flows: &[&TcpFlow]) -> Result<FlowDump, DiagError> {
    let (flows, place) = in_namespace_of(view_dir, |socket| look_up(socket, flows))?;
    Ok(FlowDump {
        flows,
        place,
        own: None,
    })
}

/// Every TCP socket of the namespace of `view_dir` — listeners,
/// connections, TIME_WAIT and request sockets, what `net/tcp` and
/// `net/tcp6` list — handed to `on_socket` one by one as the kernel
/// describes them. No attribute is asked for: the fixed header has all a
/// row of those tables shows, and leaving out `tcp_info` makes the kernel
/// spend about a fifth less per socket.
pub fn dump_sockets(
    view_dir: &Path,
    mut on_socket: impl FnMut(InetDiagMsg) + Send,
) -> Result<DumpPlace, DiagError> {
    let ((), place) = in_namespace_of(view_dir, |socket| {
        let netlink = |e: io::Error| DiagError::Netlink(describe_io(&e));
        let mut buffer = vec![0u8; RECEIVE_BUFFER];
        for (sequence, family) in [(1, AF_INET), (2, AF_INET6)] {
            request(
                socket,
                sequence,
                family,
                ExtensionFlags::empty(),
                StateFlags::all(),
            )
            .map_err(netlink)?;
            'answers: loop {
                for bytes in receive_messages(socket, &mut buffer)? {
                    let message = NetlinkBuffer::new_checked(bytes).map_err(undecodable)?;
                    if message.sequence_number() != sequence {
                        continue;
                    }
                    if message.message_type() == SOCK_DIAG_BY_FAMILY {
                        let header = parse_inet_diag_msg(message.payload()).map_err(|why| {
                            DiagError::Netlink(format!("cannot decode an answer: {why}"))
                        })?;
                        on_socket(header);
                        continue;
                    }
                    match decode(bytes)?.payload {
                        NetlinkPayload::Done(_) => break 'answers,
                        // A kernel without IPv6 has no handler for it:
                        // no sockets, as it has no net/tcp6.
                        NetlinkPayload::Error(error)
                            if family == AF_INET6
                                && error.to_io().raw_os_error() == Some(nix::libc::ENOENT) =>
                        {
                            break 'answers;
                        }
                        NetlinkPayload::Error(error) => {
                            return Err(DiagError::Netlink(describe_io(&error.to_io())));
                        }
                        NetlinkPayload::Overrun(_) => {
                            return Err(DiagError::Netlink("the kernel's answer overran".into()));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(place)
}

/// The process's own connections (`own`: its socket inodes now). When
/// `earlier` (the last reading of them) accounts for every socket the
/// process holds and is recent, each connection is looked up by itself —
/// a few microseconds each, where a dump makes the kernel describe every
/// connection of the namespace. Otherwise, or if a lookup fails, the
/// namespace is dumped, keeping the process's connections.
pub fn own_connections(
    view_dir: &Path,
    own: &FxHashSet<u64>,
    earlier: Option<&FlowDump>,
) -> Result<FlowDump, DiagError> {
    let now = Instant::now();
    if let Some((wanted, known)) = plan(own, earlier, now) {
        if let Ok(mut dump) = lookup_tcp(view_dir, &wanted) {
            dump.own = Some(known);
            return Ok(dump);
        }
    }
    let (mut dump, in_namespace) = dump_counting(view_dir, Some(own))?;
    let connections: FxHashSet<u64> = dump.flows.iter().map(|f| f.inode).collect();
    dump.own = Some(OwnConnections {
        others: own
            .iter()
            .copied()
            .filter(|inode| !connections.contains(inode))
            .collect(),
        dumped_at: now,
        in_namespace,
    });
    Ok(dump)
}

/// The connections to look up, and what to know afterwards, when
/// `earlier` explains every socket in `own`: each is one of its
/// connections or one it knew was none. `None` (dump instead) when there
/// is no such reading, a socket is new since, the last dump is older than
/// [`REDUMP_AFTER`], or the process holds so many of the namespace's
/// connections that one dump is cheaper.
pub fn plan<'e>(
    own: &FxHashSet<u64>,
    earlier: Option<&'e FlowDump>,
    now: Instant,
) -> Option<(Vec<&'e TcpFlow>, OwnConnections)> {
    let earlier = earlier?;
    let known = earlier.own.as_ref()?;
    if now.saturating_duration_since(known.dumped_at) > REDUMP_AFTER {
        return None;
    }
    let connections: FxHashSet<u64> = earlier.flows.iter().map(|f| f.inode).collect();
    if own
        .iter()
        .any(|inode| !connections.contains(inode) && !known.others.contains(inode))
    {
        return None;
    }
    let wanted: Vec<&TcpFlow> = earlier
        .flows
        .iter()
        .filter(|f| own.contains(&f.inode))
        .collect();
    if wanted.len().saturating_mul(LOOKUP_COST) > known.in_namespace.max(LOOKUP_ANYWAY) {
        return None;
    }
    let others = known
        .others
        .iter()
        .copied()
        .filter(|inode| own.contains(inode))
        .collect();
    Some((
        wanted,
        OwnConnections {
            others,
            dumped_at: known.dumped_at,
            in_namespace: known.in_namespace,
        },
    ))
}

/// Runs `ask` with a sock_diag socket of the network namespace of the
/// process whose view directory is `view_dir`: here when that is
/// netmonitor's own namespace, otherwise on a helper thread that enters
/// it; when `ns/net` cannot be read, in netmonitor's own namespace only if
/// the process's `net/netlink` lists the asking socket.
pub(crate) fn in_namespace_of<T: Send>(
    view_dir: &Path,
    ask: impl FnOnce(&Socket) -> Result<T, DiagError> + Send,
) -> Result<(T, DumpPlace), DiagError> {
    let target_ns = view_dir.join("ns/net");
    let target_ns = target_ns.as_path();
    let target = match File::open(target_ns) {
        Ok(file) => file,
        Err(e) if matches!(e.kind(), io::ErrorKind::PermissionDenied) => {
            let why = format!("cannot read {} ({})", target_ns.display(), describe_io(&e));
            let socket = open_diag_socket()?;
            if !listed_in(&view_dir.join("net/netlink"), &socket)? {
                return Err(DiagError::OtherNamespace { why });
            }
            return Ok((ask(&socket)?, DumpPlace::SameByNetlinkTable(why)));
        }
        Err(e) => {
            return Err(DiagError::Namespace {
                path: target_ns.to_path_buf(),
                why: describe_io(&e),
            });
        }
    };
    let same = match (target.metadata(), std::fs::metadata(OWN_NAMESPACE)) {
        (Ok(theirs), Ok(ours)) => theirs.dev() == ours.dev() && theirs.ino() == ours.ino(),
        _ => false,
    };
    if same {
        return Ok((ask(&open_diag_socket()?)?, DumpPlace::SameNamespace));
    }
    let answer = std::thread::scope(|scope| {
        scope
            .spawn(move || {
                setns(&target, CloneFlags::CLONE_NEWNET).map_err(|errno| {
                    let why = describe_io(&io::Error::from(errno));
                    if matches!(errno, Errno::EPERM | Errno::EACCES) {
                        DiagError::NotPermitted {
                            path: target_ns.to_path_buf(),
                            why,
                        }
                    } else {
                        DiagError::Namespace {
                            path: target_ns.to_path_buf(),
                            why,
                        }
                    }
                })?;
                ask(&open_diag_socket()?)
            })
            .join()
            .unwrap_or_else(|_| Err(DiagError::Netlink("the helper thread failed".into())))
    })?;
    Ok((answer, DumpPlace::Entered))
}

/// Whether the process's `net/netlink` table lists `socket`: it is then
/// in netmonitor's own namespace, since a socket appears only in its own
/// namespace's table.
fn listed_in(netlink_table: &Path, socket: &Socket) -> Result<bool, DiagError> {
    let inode = fstat(socket)
        .map_err(|errno| DiagError::Netlink(describe_io(&io::Error::from(errno))))?
        .st_ino;
    Ok(std::fs::read_to_string(netlink_table).is_ok_and(|table| lists_inode(&table, inode)))
}

/// Whether a `net/netlink` table lists a socket with `inode` (its last
/// column). A pure helper for [`listed_in`]: one column of a small table
/// does not warrant a parser module.
fn lists_inode(table: &str, inode: u64) -> bool {
    table
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().last()?.parse::<u64>().ok())
        .any(|listed| listed == inode)
}

/// A sock_diag socket of the calling thread's network namespace.
fn open_diag_socket() -> Result<Socket, DiagError> {
    let netlink = |e: io::Error| DiagError::Netlink(describe_io(&e));
    let mut socket = Socket::new(NETLINK_SOCK_DIAG).map_err(netlink)?;
    socket.bind_auto().map_err(netlink)?;
    socket.connect(&NetlinkAddr::new(0, 0)).map_err(netlink)?;
    Ok(socket)
}

/// Dumps IPv4 and IPv6 TCP connections of `socket`'s namespace; also
/// returns how many connections the namespace has.
fn dump_with(
    socket: &Socket,
    only: Option<&FxHashSet<u64>>,
) -> Result<(Vec<TcpFlow>, usize), DiagError> {
    let netlink = |e: io::Error| DiagError::Netlink(describe_io(&e));
    let mut flows = Vec::new();
    let mut described = 0;
    for (sequence, family) in [(1, AF_INET), (2, AF_INET6)] {
        request(
            socket,
            sequence,
            family,
            ExtensionFlags::INFO,
            connection_states(),
        )
        .map_err(netlink)?;
        described += receive(socket, sequence, only, &mut flows)?;
    }
    Ok((flows, described))
}

/// States whose sockets carry `tcp_info` and data: everything but
/// listeners and the mini-sockets (TIME_WAIT, SYN_RECV request sockets).
fn connection_states() -> StateFlags {
    StateFlags::all() - StateFlags::LISTEN - StateFlags::TIME_WAIT - StateFlags::SYN_RECV
}

/// Sends dump request `sequence` for the TCP sockets of `family` in
/// `states`, with the attributes `extensions`.
fn request(
    socket: &Socket,
    sequence: u32,
    family: u8,
    extensions: ExtensionFlags,
    states: StateFlags,
) -> io::Result<()> {
    let socket_id = if family == AF_INET {
        SocketId::new_v4()
    } else {
        SocketId::new_v6()
    };
    let bytes = encode(
        NLM_F_REQUEST | NLM_F_DUMP,
        sequence,
        InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions,
            states,
            socket_id,
        },
    );
    socket.send(&bytes, 0)?;
    Ok(())
}

/// `request` as a netlink message with `flags` and `sequence`, in bytes.
fn encode(flags: u16, sequence: u32, request: InetRequest) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = sequence;
    let mut packet = NetlinkMessage::new(header, SockDiagMessage::InetRequest(request).into());
    packet.finalize();
    // `serialize` needs a buffer of exactly `buffer_len` bytes.
    let mut bytes = vec![0; packet.buffer_len()];
    packet.serialize(&mut bytes);
    bytes
}

/// Netlink dump parts are at most 32 KiB; twice that never truncates.
const RECEIVE_BUFFER: usize = 64 * 1024;

/// Reads the answers to request `sequence` until the kernel says done;
/// with `only`, the connections of other inodes are skipped after their
/// fixed header. Returns how many connections the kernel described.
fn receive(
    socket: &Socket,
    sequence: u32,
    only: Option<&FxHashSet<u64>>,
    flows: &mut Vec<TcpFlow>,
) -> Result<usize, DiagError> {
    let mut described = 0;
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    loop {
        for bytes in receive_messages(socket, &mut buffer)? {
            if let Some(only) = only {
                if skippable(bytes, sequence, only)? {
                    described += 1;
                    continue;
                }
            }
            let message = decode(bytes)?;
            if message.header.sequence_number != sequence {
                continue;
            }
            match message.payload {
                NetlinkPayload::Done(_) => return Ok(described),
                NetlinkPayload::Error(error) => {
                    return Err(DiagError::Netlink(describe_io(&error.to_io())));
                }
                NetlinkPayload::Overrun(_) => {
                    return Err(DiagError::Netlink("the kernel's answer overran".into()));
                }
                NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                    described += 1;
                    if let Some(flow) = flow_of(&response) {
                        flows.push(flow);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Receives one datagram of answers into `buffer` and cuts it into its
/// netlink messages, each whole (header included).
fn receive_messages<'b>(socket: &Socket, buffer: &'b mut [u8]) -> Result<Vec<&'b [u8]>, DiagError> {
    let size = {
        let mut space = &mut buffer[..];
        socket
            .recv(&mut space, 0)
            .map_err(|e| DiagError::Netlink(describe_io(&e)))?
    };
    if size > buffer.len() {
        return Err(DiagError::Netlink(format!(
            "a message of {size} bytes did not fit the {}-byte buffer",
            buffer.len()
        )));
    }
    let mut messages = Vec::new();
    let mut rest = &buffer[..size];
    while !rest.is_empty() {
        let length = NetlinkBuffer::new_checked(rest)
            .map_err(undecodable)?
            .length() as usize;
        if length == 0 {
            break;
        }
        let (message, after) = rest.split_at(length.min(rest.len()));
        messages.push(message);
        rest = after;
    }
    Ok(messages)
}

/// One whole netlink message of sock_diag, decoded.
fn decode(bytes: &[u8]) -> Result<NetlinkMessage<SockDiagMessage>, DiagError> {
    NetlinkMessage::<SockDiagMessage>::deserialize(bytes).map_err(undecodable)
}

fn undecodable(e: netlink_packet_core::DecodeError) -> DiagError {
    DiagError::Netlink(format!("cannot decode an answer: {e}"))
}

/// Whether the message `bytes` is a connection of request `sequence`
/// whose inode is not among `only` (read from its fixed header alone).
fn skippable(bytes: &[u8], sequence: u32, only: &FxHashSet<u64>) -> Result<bool, DiagError> {
    let message = NetlinkBuffer::new_checked(bytes).map_err(undecodable)?;
    if message.message_type() != SOCK_DIAG_BY_FAMILY || message.sequence_number() != sequence {
        return Ok(false);
    }
    let header = InetResponseHeader::parse(message.payload()).map_err(undecodable)?;
    Ok(!only.contains(&u64::from(header.inode)))
}

/// How many single-socket requests go out before their answers are read:
/// the answers (with their buffers about 1 KiB each) must fit in the
/// socket's receive buffer, or the kernel drops them.
const LOOKUP_BATCH: usize = 32;

/// How long to wait for the answers of a batch before giving up (the
/// caller then dumps instead).
const LOOKUP_PATIENCE: Duration = Duration::from_secs(2);

/// Asks for each of `flows` by itself; returns those still open.
fn look_up(socket: &Socket, flows: &[&TcpFlow]) -> Result<Vec<TcpFlow>, DiagError> {
    let netlink = |e: io::Error| DiagError::Netlink(describe_io(&e));
    let patience = TimeVal::new(LOOKUP_PATIENCE.as_secs() as _, 0);
    setsockopt(socket, sockopt::ReceiveTimeout, &patience)
        .map_err(|errno| netlink(io::Error::from(errno)))?;
    let mut found = Vec::with_capacity(flows.len());
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    let mut sequence: u32 = 0;
    for batch in flows.chunks(LOOKUP_BATCH) {
        let first = sequence.wrapping_add(1);
        let mut requests = Vec::new();
        for flow in batch {
            sequence = sequence.wrapping_add(1);
            requests.extend(lookup_request(flow, sequence));
        }
        socket.send(&requests, 0).map_err(netlink)?;
        let mut answered = 0;
        while answered < batch.len() {
            for bytes in receive_messages(socket, &mut buffer)? {
                let message = decode(bytes)?;
                if !(first..=sequence).contains(&message.header.sequence_number) {
                    continue;
                }
                match message.payload {
                    NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                        found.extend(flow_of(&response));
                        answered += 1;
                    }
                    NetlinkPayload::Error(error) => {
                        // Gone, or its 4-tuple now names another socket.
                        let errno = error.to_io().raw_os_error();
                        if errno != Some(nix::libc::ENOENT) && errno != Some(nix::libc::ESTALE) {
                            return Err(DiagError::Netlink(describe_io(&error.to_io())));
                        }
                        answered += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(found)
}

/// The request for the one socket `flow` names, as netlink bytes.
fn lookup_request(flow: &TcpFlow, sequence: u32) -> Vec<u8> {
    let family = if flow.local.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    };
    encode(
        NLM_F_REQUEST,
        sequence,
        InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions: ExtensionFlags::INFO,
            states: StateFlags::all(),
            socket_id: SocketId {
                source_port: flow.local.port(),
                destination_port: flow.peer.port(),
                source_address: flow.local.ip(),
                destination_address: flow.peer.ip(),
                interface_id: flow.interface,
                cookie: flow.cookie,
            },
        },
    )
}

/// A connection's record, when the kernel sent its `tcp_info`.
fn flow_of(response: &InetResponse) -> Option<TcpFlow> {
    let info: &TcpInfo = response.nlas.iter().find_map(|nla| match nla {
        Nla::TcpInfo(info) => Some(info),
        _ => None,
    })?;
    let header = &response.header;
    let id = &header.socket_id;
    Some(TcpFlow {
        inode: u64::from(header.inode),
        uid: header.uid,
        local: SocketAddr::new(id.source_address, id.source_port),
        peer: SocketAddr::new(id.destination_address, id.destination_port),
        interface: id.interface_id,
        cookie: id.cookie,
        state: header.state,
        bytes_acked: info.bytes_acked,
        bytes_received: info.bytes_received,
        bytes_sent: info.bytes_sent,
        bytes_retrans: info.bytes_retrans,
        rtt_us: info.rtt,
        rttvar_us: info.rttvar,
        snd_cwnd: info.snd_cwnd,
        retrans: info.retrans,
        total_retrans: info.total_retrans,
        delivery_rate: info.delivery_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_states_leave_out_listeners_and_mini_sockets() {
        let states = connection_states();
        assert!(states.contains(StateFlags::ESTABLISHED | StateFlags::CLOSE_WAIT));
        assert!(
            !states.intersects(StateFlags::LISTEN | StateFlags::TIME_WAIT | StateFlags::SYN_RECV)
        );
    }

    #[test]
    fn the_netlink_table_is_searched_by_its_inode_column() {
        let table = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n\
0000000017f62136 0   0          00000000 0        0        0     2        0        4       \n\
000000009c1124de 4   1234       00000000 0        0        0     2        0        75541   \n";
        assert!(lists_inode(table, 75541));
        assert!(lists_inode(table, 4));
        assert!(!lists_inode(table, 7554));
        assert!(!lists_inode("", 4));
        assert!(!lists_inode("header only\ngarbage line x\n", 4));
    }

    #[test]
    fn refusals_name_what_would_allow_the_dump() {
        let refused = DiagError::NotPermitted {
            path: "/proc/7/ns/net".into(),
            why: "permission denied".into(),
        };
        assert_eq!(
            refused.to_string(),
            "cannot enter the network namespace of /proc/7/ns/net (permission denied)"
        );
        assert!(
            refused
                .remedy()
                .is_some_and(|r| r.contains("CAP_SYS_ADMIN"))
        );
        assert_eq!(DiagError::Netlink("x".into()).remedy(), None);
    }

    fn flow(inode: u64) -> TcpFlow {
        TcpFlow {
            inode,
            uid: 0,
            local: "127.0.0.1:5000".parse().unwrap(),
            peer: format!("127.0.0.1:{}", 40000 + inode).parse().unwrap(),
            interface: 0,
            cookie: inode.to_le_bytes(),
            state: 1,
            bytes_acked: 0,
            bytes_received: 0,
            bytes_sent: 0,
            bytes_retrans: 0,
            rtt_us: 0,
            rttvar_us: 0,
            snd_cwnd: 10,
            retrans: 0,
            total_retrans: 0,
            delivery_rate: 0,
        }
    }

    fn own_reading(flows: &[u64], others: &[u64], dumped_at: Instant) -> FlowDump {
        FlowDump {
            flows: flows.iter().map(|&inode| flow(inode)).collect(),
            place: DumpPlace::SameNamespace,
            own: Some(OwnConnections {
                others: others.iter().copied().collect(),
                dumped_at,
                in_namespace: 1000,
            }),
        }
    }

    fn set(inodes: &[u64]) -> FxHashSet<u64> {
        inodes.iter().copied().collect()
    }

    #[test]
    fn connections_are_looked_up_only_while_the_last_dump_explains_every_socket() {
        let then = Instant::now();
        let soon = then + Duration::from_secs(2);
        let earlier = own_reading(&[10, 11], &[20], then);
        // Nothing to go on: dump.
        assert!(plan(&set(&[10]), None, soon).is_none());
        let of_all = FlowDump {
            own: None,
            ..earlier.clone()
        };
        assert!(plan(&set(&[10]), Some(&of_all), soon).is_none());
        // Every socket known: look up the connections still held.
        let (wanted, known) = plan(&set(&[10, 11, 20]), Some(&earlier), soon).unwrap();
        assert_eq!(wanted.iter().map(|f| f.inode).collect::<Vec<_>>(), [10, 11]);
        assert_eq!(known.others, set(&[20]));
        assert_eq!(known.dumped_at, then, "a lookup is no dump");
        // One closed (its descriptor is gone), one other socket closed too.
        let (wanted, known) = plan(&set(&[11]), Some(&earlier), soon).unwrap();
        assert_eq!(wanted.iter().map(|f| f.inode).collect::<Vec<_>>(), [11]);
        assert!(known.others.is_empty());
        // A socket the last dump did not see may be a new connection: dump.
        assert!(plan(&set(&[10, 11, 20, 30]), Some(&earlier), soon).is_none());
        // Too long since the last dump: dump.
        let late = then + REDUMP_AFTER + Duration::from_secs(1);
        assert!(plan(&set(&[10, 11, 20]), Some(&earlier), late).is_none());
        // The process holds most of the namespace's 1 000 connections: one
        // dump costs less than a lookup each.
        let many: Vec<u64> = (100..500).collect();
        let crowded = own_reading(&many, &[], then);
        assert!(plan(&set(&many), Some(&crowded), soon).is_none());
        let fewer = &many[..300];
        assert!(plan(&set(fewer), Some(&crowded), soon).is_some());
    }

    /// The socket inode of an open descriptor.
    fn inode_of(fd: &impl std::os::fd::AsFd) -> u64 {
        fstat(fd).unwrap().st_ino
    }

    #[test]
    fn own_connections_are_dumped_then_looked_up_by_cookie() {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        // Runs in the test's own network namespace: sock_diag needs no
        // privilege there.
        let here = Path::new("/proc/thread-self");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let own = set(&[inode_of(&listener), inode_of(&client), inode_of(&server)]);

        let first = own_connections(here, &own, None).unwrap();
        let mut dumped: Vec<u64> = first.flows.iter().map(|f| f.inode).collect();
        dumped.sort_unstable();
        let mut connections = vec![inode_of(&client), inode_of(&server)];
        connections.sort_unstable();
        assert_eq!(dumped, connections, "both ends, not the listener");
        let known = first.own.clone().unwrap();
        assert_eq!(known.others, set(&[inode_of(&listener)]));

        client.write_all(&[7; 1000]).unwrap();
        let mut got = [0; 1000];
        server.read_exact(&mut got).unwrap();
        let second = own_connections(here, &own, Some(&first)).unwrap();
        assert_eq!(
            second.own.as_ref().unwrap().dumped_at,
            known.dumped_at,
            "looked up, not dumped again"
        );
        let server_now = second
            .flows
            .iter()
            .find(|f| f.inode == inode_of(&server))
            .expect("the server end is looked up");
        assert_eq!(server_now.bytes_received, 1000);
        assert_eq!(second.flows.len(), 2);

        // IPv6 (and an IPv4 peer on an IPv6 socket) where loopback has it.
        if let Ok(listener6) = TcpListener::bind("[::]:0") {
            let port = listener6.local_addr().unwrap().port();
            let native = TcpStream::connect(("::1", port)).ok();
            let mapped = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let mut ends = vec![inode_of(&mapped)];
            ends.extend(native.iter().map(inode_of));
            let mut accepted = Vec::new();
            for _ in 0..ends.len() {
                accepted.push(listener6.accept().unwrap().0);
            }
            ends.extend(accepted.iter().map(inode_of));
            let own6 = set(&ends);
            let dumped = own_connections(here, &own6, None).unwrap();
            assert_eq!(dumped.flows.len(), ends.len(), "{:?}", dumped.flows);
            let looked_up = lookup_tcp(here, &dumped.flows.iter().collect::<Vec<_>>()).unwrap();
            let mut found: Vec<u64> = looked_up.flows.iter().map(|f| f.inode).collect();
            found.sort_unstable();
            ends.sort_unstable();
            assert_eq!(found, ends);
        }

        // A cookie that names no socket: that one is left out.
        let mut stale = first.flows.clone();
        stale[0].cookie = [0xAB; 8];
        let found = lookup_tcp(here, &stale.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!(found.flows.len(), 1);
        assert_eq!(found.flows[0].inode, stale[1].inode);
    }
}
