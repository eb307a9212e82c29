//! What the kernel answers over netlink (`NETLINK_SOCK_DIAG`, what `ss`
//! uses), behind one seam: the [`SockDiag`] trait, implemented for the
//! running kernel by [`Netlink`] and by fakes in tests.
//!
//! `/proc` has no byte counters for sockets: the kernel hands out each
//! TCP socket's `tcp_info` — to unprivileged users too — only through a
//! sock_diag dump, a socket conversation rather than a file read. A dump
//! describes the network namespace of the netlink socket that asks, so
//! this module also owns the one place where netmonitor deals with
//! namespaces: for a process in another namespace the netlink socket is
//! made on a short-lived helper thread that `setns()`es into its
//! `ns/net` first; the main thread never changes namespace. When `ns/net`
//! cannot be read, netmonitor's own namespace is used only if the
//! process's `net/netlink` lists the asking socket. The reasons and the
//! measured costs are in docs/flows.md and docs/performance.md.

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_packet_sock_diag::{SOCK_DIAG_BY_FAMILY, SockDiagMessage};
use netlink_sys::protocols::{NETLINK_ROUTE, NETLINK_SOCK_DIAG};
use netlink_sys::{Socket, SocketAddr as NetlinkAddr};
use nix::errno::Errno;
use nix::sched::{CloneFlags, setns};
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::stat::fstat;
use nix::sys::time::TimeVal;
use rustc_hash::FxHashSet;

use crate::closes::{CloseReader, CloseSubscription, Delivery, WANTED_BUFFER};
use crate::error::DiagError;
use crate::neighbours::Neighbour;
use crate::parse::inet_diag::{InetDiagMsg, parse_inet_diag_msg, tcp_counters};
use crate::snapshot::{DumpPlace, FlowDump, TcpFlow};

/// What a tick asks the kernel over sock_diag, in the network namespace
/// of the process whose `/proc` directory (or live thread's) is
/// `view_dir`.
pub trait SockDiag: Sync {
    /// The TCP connections that have `tcp_info` (all but listeners,
    /// TIME_WAIT and request sockets); with `only`, just those of these
    /// inodes are decoded. Also returns how many connections the
    /// namespace has.
    fn connections(
        &self,
        view_dir: &Path,
        only: Option<&FxHashSet<u64>>,
    ) -> Result<(FlowDump, usize), DiagError>;

    /// Each of `sockets` again, by its addresses, interface and cookie:
    /// the ones still open, as they are now (a connection with its
    /// counters), handed to `on_found` one by one. A socket that closed
    /// meanwhile (or whose 4-tuple a new socket took: the cookie differs)
    /// is left out.
    fn look_up(
        &self,
        view_dir: &Path,
        sockets: &[SocketName],
        on_found: &mut (dyn FnMut(Found) + Send),
    ) -> Result<DumpPlace, DiagError>;

    /// The neighbours of both families, as `ip neigh` lists them (over
    /// rtnetlink: no `/proc` file has the IPv6 ones).
    fn neighbours(&self, view_dir: &Path) -> Result<Vec<Neighbour>, DiagError>;

    /// The listening TCP sockets' fixed headers (the kernel walks only its
    /// listening table for them: cheap on any namespace).
    fn listeners(&self, view_dir: &Path) -> Result<Vec<InetDiagMsg>, DiagError>;

    /// A session-long subscription to the destruction of every TCP socket
    /// of the namespace, read on a thread of its own that hands each batch
    /// of events to `on`.
    fn subscribe_closes(
        &self,
        view_dir: &Path,
        on: Box<dyn FnMut(Delivery<'_>) + Send>,
    ) -> Result<CloseReader, DiagError>;

    /// Every TCP socket's fixed header — listeners, connections,
    /// TIME_WAIT and request sockets, what `net/tcp` and `net/tcp6` list —
    /// handed to `on_socket` as the kernel describes them.
    fn sockets(
        &self,
        view_dir: &Path,
        on_socket: &mut (dyn FnMut(InetDiagMsg) + Send),
    ) -> Result<DumpPlace, DiagError>;
}

/// What names one TCP socket to a lookup: its addresses, the interface
/// it is bound to and the kernel's cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketName {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub interface: u32,
    pub cookie: [u8; 8],
}

impl From<&TcpFlow> for SocketName {
    fn from(flow: &TcpFlow) -> Self {
        SocketName {
            local: flow.local,
            remote: flow.peer,
            interface: flow.interface,
            cookie: flow.cookie,
        }
    }
}

impl From<&InetDiagMsg> for SocketName {
    fn from(header: &InetDiagMsg) -> Self {
        SocketName {
            local: header.local,
            remote: header.remote,
            interface: header.interface,
            cookie: header.cookie,
        }
    }
}

/// One socket a lookup found: its fixed header, as a dump describes it,
/// and for a connection its counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub header: InetDiagMsg,
    pub flow: Option<TcpFlow>,
}

/// Whether a socket in TCP state `state` is a connection, which carries
/// `tcp_info` and data: every state but listeners and the mini-sockets
/// (TIME_WAIT, and SYN_RECV / NEW_SYN_RECV request sockets).
pub fn is_connection(state: u8) -> bool {
    !matches!(state, 3 | 6 | 10 | 12)
}

/// The running kernel.
pub struct Netlink;

impl SockDiag for Netlink {
    fn connections(
        &self,
        view_dir: &Path,
        only: Option<&FxHashSet<u64>>,
    ) -> Result<(FlowDump, usize), DiagError> {
        let ((flows, described), place) =
            in_namespace_of(view_dir, |socket| dump_connections(socket, only))?;
        let dump = FlowDump {
            flows,
            place,
            own: None,
        };
        Ok((dump, described))
    }

    fn look_up(
        &self,
        view_dir: &Path,
        sockets: &[SocketName],
        on_found: &mut (dyn FnMut(Found) + Send),
    ) -> Result<DumpPlace, DiagError> {
        let ((), place) = in_namespace_of(view_dir, |socket| look_up(socket, sockets, on_found))?;
        Ok(place)
    }

    fn neighbours(&self, view_dir: &Path) -> Result<Vec<Neighbour>, DiagError> {
        let (neighbours, _) = in_namespace_with(view_dir, NETLINK_ROUTE, |socket| {
            crate::neighbours::dump(socket)
                .map_err(|e| DiagError::Netlink(io::Error::other(e.to_string())))
        })?;
        Ok(neighbours)
    }

    fn listeners(&self, view_dir: &Path) -> Result<Vec<InetDiagMsg>, DiagError> {
        let (listeners, _) = in_namespace_of(view_dir, |socket| {
            let mut listeners = Vec::new();
            dump(
                socket,
                ExtensionFlags::empty(),
                StateFlags::LISTEN,
                |message| {
                    let header = parse_inet_diag_msg(message.payload()).map_err(|why| {
                        DiagError::netlink(format!("cannot decode an answer: {why}"))
                    })?;
                    listeners.push(header);
                    Ok(())
                },
            )?;
            Ok(listeners)
        })?;
        Ok(listeners)
    }

    fn subscribe_closes(
        &self,
        view_dir: &Path,
        on: Box<dyn FnMut(Delivery<'_>) + Send>,
    ) -> Result<CloseReader, DiagError> {
        CloseSubscription::open(view_dir, WANTED_BUFFER)?
            .spawn_reader(on)
            .map_err(DiagError::Netlink)
    }

    fn sockets(
        &self,
        view_dir: &Path,
        on_socket: &mut (dyn FnMut(InetDiagMsg) + Send),
    ) -> Result<DumpPlace, DiagError> {
        let ((), place) = in_namespace_of(view_dir, |socket| {
            dump(
                socket,
                ExtensionFlags::empty(),
                StateFlags::all(),
                |message| {
                    let header = parse_inet_diag_msg(message.payload()).map_err(|why| {
                        DiagError::netlink(format!("cannot decode an answer: {why}"))
                    })?;
                    on_socket(header);
                    Ok(())
                },
            )
        })?;
        Ok(place)
    }
}

/// netmonitor's own network namespace (of this thread, which never moves).
const OWN_NAMESPACE: &str = "/proc/thread-self/ns/net";

/// The address families a dump asks for, each with its request's
/// sequence number.
const FAMILIES: [(u32, u8); 2] = [(1, AF_INET), (2, AF_INET6)];

/// Runs `ask` with a sock_diag socket of the network namespace of the
/// process whose view directory is `view_dir`: here when that is
/// netmonitor's own namespace, otherwise on a helper thread that enters
/// it; when `ns/net` cannot be read, in netmonitor's own namespace only if
/// the process's `net/netlink` lists the asking socket.
pub(crate) fn in_namespace_of<T: Send>(
    view_dir: &Path,
    ask: impl FnOnce(&Socket) -> Result<T, DiagError> + Send,
) -> Result<(T, DumpPlace), DiagError> {
    in_namespace_with(view_dir, NETLINK_SOCK_DIAG, ask)
}

/// [`in_namespace_of`] with a netlink socket of `protocol`.
fn in_namespace_with<T: Send>(
    view_dir: &Path,
    protocol: isize,
    ask: impl FnOnce(&Socket) -> Result<T, DiagError> + Send,
) -> Result<(T, DumpPlace), DiagError> {
    let target_ns = view_dir.join("ns/net");
    let target_ns = target_ns.as_path();
    let target = match File::open(target_ns) {
        Ok(file) => file,
        Err(e) if matches!(e.kind(), io::ErrorKind::PermissionDenied) => {
            let why = crate::error::ReadError::new(target_ns, e).to_string();
            let socket = open_socket(protocol)?;
            if !listed_in(&view_dir.join("net/netlink"), &socket)? {
                return Err(DiagError::OtherNamespace { why });
            }
            return Ok((ask(&socket)?, DumpPlace::SameByNetlinkTable(why)));
        }
        Err(source) => {
            return Err(DiagError::Namespace {
                path: target_ns.to_path_buf(),
                source,
            });
        }
    };
    let same = match (target.metadata(), std::fs::metadata(OWN_NAMESPACE)) {
        (Ok(theirs), Ok(ours)) => theirs.dev() == ours.dev() && theirs.ino() == ours.ino(),
        _ => false,
    };
    if same {
        return Ok((ask(&open_socket(protocol)?)?, DumpPlace::SameNamespace));
    }
    let answer = std::thread::scope(|scope| {
        scope
            .spawn(move || {
                setns(&target, CloneFlags::CLONE_NEWNET).map_err(|errno| {
                    let path = target_ns.to_path_buf();
                    let source = io::Error::from(errno);
                    if matches!(errno, Errno::EPERM | Errno::EACCES) {
                        DiagError::NotPermitted { path, source }
                    } else {
                        DiagError::Namespace { path, source }
                    }
                })?;
                ask(&open_socket(protocol)?)
            })
            .join()
            .unwrap_or_else(|_| Err(DiagError::netlink("the helper thread failed")))
    })?;
    Ok((answer, DumpPlace::Entered))
}

/// Whether the process's `net/netlink` table lists `socket`: it is then
/// in netmonitor's own namespace, since a socket appears only in its own
/// namespace's table.
fn listed_in(netlink_table: &Path, socket: &Socket) -> Result<bool, DiagError> {
    let inode = fstat(socket)
        .map_err(|errno| DiagError::Netlink(errno.into()))?
        .st_ino;
    Ok(std::fs::read_to_string(netlink_table).is_ok_and(|table| lists_inode(&table, inode)))
}

/// Whether a `net/netlink` table lists a socket with `inode` (its last
/// column). One column of a small table does not warrant a parser module.
fn lists_inode(table: &str, inode: u64) -> bool {
    table
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().last()?.parse::<u64>().ok())
        .any(|listed| listed == inode)
}

/// A netlink socket of `protocol` in the calling thread's network
/// namespace.
fn open_socket(protocol: isize) -> Result<Socket, DiagError> {
    let mut socket = Socket::new(protocol)?;
    socket.bind_auto()?;
    socket.connect(&NetlinkAddr::new(0, 0))?;
    Ok(socket)
}

impl From<io::Error> for DiagError {
    fn from(source: io::Error) -> Self {
        DiagError::Netlink(source)
    }
}

/// Dumps the TCP connections of `socket`'s namespace, decoding only those
/// of `only` past their fixed header; also returns how many connections
/// the namespace has.
fn dump_connections(
    socket: &Socket,
    only: Option<&FxHashSet<u64>>,
) -> Result<(Vec<TcpFlow>, usize), DiagError> {
    let mut flows = Vec::new();
    let mut described = 0;
    dump(
        socket,
        ExtensionFlags::INFO,
        connection_states(),
        |message| {
            described += 1;
            let payload = message.payload();
            let Ok(header) = parse_inet_diag_msg(payload) else {
                return Err(DiagError::netlink(
                    "cannot decode an answer: a short header",
                ));
            };
            if only.is_some_and(|only| !only.contains(&u64::from(header.inode))) {
                return Ok(());
            }
            flows.extend(flow_of(&header, payload));
            Ok(())
        },
    )?;
    Ok((flows, described))
}

/// The states a dump of connections asks for: those [`is_connection`]
/// accepts.
fn connection_states() -> StateFlags {
    let bits = (0..u32::BITS as u8)
        .filter(|&state| is_connection(state))
        .fold(0u32, |bits, state| bits | 1 << state);
    StateFlags::from_bits_truncate(bits)
}

/// Dumps the TCP sockets in `states` of both address families with the
/// attributes `extensions`, handing each socket's message to `on_socket`.
/// A kernel without IPv6 has no handler for it: no IPv6 sockets, as it
/// has no `net/tcp6`.
fn dump(
    socket: &Socket,
    extensions: ExtensionFlags,
    states: StateFlags,
    mut on_socket: impl FnMut(NetlinkBuffer<&[u8]>) -> Result<(), DiagError>,
) -> Result<(), DiagError> {
    let mut datagrams = Datagrams::new(1, RECEIVE_BUFFER);
    for (sequence, family) in FAMILIES {
        let request = InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions: extensions.clone(),
            states: states.clone(),
            socket_id: if family == AF_INET {
                SocketId::new_v4()
            } else {
                SocketId::new_v6()
            },
        };
        socket.send(&encode(NLM_F_REQUEST | NLM_F_DUMP, sequence, request), 0)?;
        let outcome = receive(socket, &mut datagrams, |answer| match answer {
            Answer::Socket(seq, message) if seq == sequence => {
                on_socket(message)?;
                Ok(Receiving::More)
            }
            Answer::Done(seq) if seq == sequence => Ok(Receiving::Finished),
            Answer::Refused(seq, error) if seq == sequence => Err(error),
            _ => Ok(Receiving::More),
        });
        match outcome {
            Err(DiagError::Netlink(error))
                if family == AF_INET6 && error.raw_os_error() == Some(nix::libc::ENOENT) => {}
            other => other?,
        }
    }
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

/// One message of the kernel's answers, by the sequence number of the
/// request it answers.
enum Answer<'b> {
    /// A socket's description (`SOCK_DIAG_BY_FAMILY`).
    Socket(u32, NetlinkBuffer<&'b [u8]>),
    /// The end of a dump.
    Done(u32),
    /// The request was refused, with the kernel's error.
    Refused(u32, DiagError),
}

/// Whether to read on after an answer.
enum Receiving {
    More,
    Finished,
}

/// Reads the kernel's answers, one datagram at a time, and hands each
/// message to `on_answer` until it says finished. The one place that cuts
/// datagrams into messages and tells data from the end, a refusal or an
/// overrun.
fn receive(
    socket: &Socket,
    datagrams: &mut Datagrams,
    mut on_answer: impl FnMut(Answer<'_>) -> Result<Receiving, DiagError>,
) -> Result<(), DiagError> {
    loop {
        let mut rest = datagrams.next(socket)?;
        while !rest.is_empty() {
            let length = NetlinkBuffer::new_checked(rest)
                .map_err(undecodable)?
                .length() as usize;
            if length == 0 {
                break;
            }
            let (bytes, after) = rest.split_at(length.min(rest.len()));
            rest = after;
            let message = NetlinkBuffer::new_checked(bytes).map_err(undecodable)?;
            let sequence = message.sequence_number();
            let answer = if message.message_type() == SOCK_DIAG_BY_FAMILY {
                Answer::Socket(sequence, message)
            } else {
                match decode(bytes)?.payload {
                    NetlinkPayload::Done(_) => Answer::Done(sequence),
                    NetlinkPayload::Error(error) => {
                        Answer::Refused(sequence, DiagError::Netlink(error.to_io()))
                    }
                    NetlinkPayload::Overrun(_) => {
                        return Err(DiagError::netlink("the kernel's answer overran"));
                    }
                    _ => continue,
                }
            };
            if let Receiving::Finished = on_answer(answer)? {
                return Ok(());
            }
        }
    }
}

/// Room for the datagrams one receive call takes: a lookup's answers are
/// one datagram each, and taking all those queued at once (`recvmmsg`)
/// saves a system call per socket looked up.
struct Datagrams {
    buffer: Vec<u8>,
    /// Bytes a datagram may have.
    size: usize,
    /// The length of each datagram the last call took, and how many of
    /// them were handed out.
    taken: Vec<usize>,
    next: usize,
}

impl Datagrams {
    /// Room for `count` datagrams of up to `size` bytes.
    fn new(count: usize, size: usize) -> Datagrams {
        Datagrams {
            buffer: vec![0; count.max(1) * size],
            size,
            taken: Vec::with_capacity(count.max(1)),
            next: 0,
        }
    }

    /// The next datagram: one taken before, or, waiting for the first,
    /// all those queued that fit.
    fn next(&mut self, socket: &Socket) -> Result<&[u8], DiagError> {
        if self.next == self.taken.len() {
            self.take(socket)?;
        }
        let index = self.next;
        self.next += 1;
        let start = index * self.size;
        Ok(&self.buffer[start..start + self.taken[index]])
    }

    fn take(&mut self, socket: &Socket) -> Result<(), DiagError> {
        use std::os::fd::AsRawFd;
        let mut slices: Vec<nix::libc::iovec> = self
            .buffer
            .chunks_exact_mut(self.size)
            .map(|slot| nix::libc::iovec {
                iov_base: slot.as_mut_ptr().cast(),
                iov_len: slot.len(),
            })
            .collect();
        let mut headers: Vec<nix::libc::mmsghdr> = slices
            .iter_mut()
            .map(|slice| {
                // SAFETY: an all-zero mmsghdr is valid (null pointers, zero
                // lengths); the fields that matter are set below.
                let mut header: nix::libc::mmsghdr = unsafe { std::mem::zeroed() };
                header.msg_hdr.msg_iov = slice;
                header.msg_hdr.msg_iovlen = 1;
                header
            })
            .collect();
        let taken = loop {
            // SAFETY: `headers` holds `headers.len()` valid headers, each
            // pointing at one iovec of `slices`, which points into
            // `self.buffer`; all three outlive the call, and the kernel
            // writes only into the buffer and the headers.
            let taken = unsafe {
                nix::libc::recvmmsg(
                    socket.as_raw_fd(),
                    headers.as_mut_ptr(),
                    headers.len() as nix::libc::c_uint,
                    nix::libc::MSG_WAITFORONE,
                    std::ptr::null_mut(),
                )
            };
            match Errno::result(taken) {
                Ok(taken) => break taken as usize,
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(DiagError::Netlink(errno.into())),
            }
        };
        self.taken.clear();
        self.next = 0;
        for header in &headers[..taken] {
            if header.msg_hdr.msg_flags & nix::libc::MSG_TRUNC != 0 {
                return Err(DiagError::netlink(format!(
                    "an answer did not fit the {}-byte buffer",
                    self.size
                )));
            }
            self.taken.push(header.msg_len as usize);
        }
        Ok(())
    }
}

/// One whole netlink message of sock_diag, decoded.
fn decode(bytes: &[u8]) -> Result<NetlinkMessage<SockDiagMessage>, DiagError> {
    NetlinkMessage::<SockDiagMessage>::deserialize(bytes).map_err(undecodable)
}

fn undecodable(e: netlink_packet_core::DecodeError) -> DiagError {
    DiagError::netlink(format!("cannot decode an answer: {e}"))
}

/// How many single-socket requests go out before their answers are read:
/// the answers (with their buffers about 1 KiB each) must fit in the
/// socket's receive buffer, or the kernel drops them.
const LOOKUP_BATCH: usize = 32;

/// Room for one lookup's answer: a socket's description with its
/// `tcp_info` and a few more attributes, well under 1 KiB on 6.18.
const ANSWER_BUFFER: usize = 8 * 1024;

/// How long to wait for the answers of a batch before giving up (the
/// caller then dumps instead).
const LOOKUP_PATIENCE: Duration = Duration::from_secs(2);

/// Asks for each of `sockets` by itself; returns those still open.
fn look_up(
    socket: &Socket,
    sockets: &[SocketName],
    on_found: &mut (dyn FnMut(Found) + Send),
) -> Result<(), DiagError> {
    let patience = TimeVal::new(LOOKUP_PATIENCE.as_secs() as _, 0);
    setsockopt(socket, sockopt::ReceiveTimeout, &patience)
        .map_err(|errno| DiagError::Netlink(errno.into()))?;
    let mut datagrams = Datagrams::new(LOOKUP_BATCH, ANSWER_BUFFER);
    let mut sequence: u32 = 0;
    for batch in sockets.chunks(LOOKUP_BATCH) {
        let first = sequence.wrapping_add(1);
        let mut requests = Vec::new();
        for name in batch {
            sequence = sequence.wrapping_add(1);
            requests.extend(lookup_request(name, sequence));
        }
        socket.send(&requests, 0)?;
        let ours = first..=sequence;
        let mut answered = 0;
        receive(socket, &mut datagrams, |answer| {
            match answer {
                Answer::Socket(seq, message) if ours.contains(&seq) => {
                    on_found(found_in(message)?);
                    answered += 1;
                }
                // Gone, or its 4-tuple now names another socket.
                Answer::Refused(seq, DiagError::Netlink(error))
                    if ours.contains(&seq)
                        && matches!(
                            error.raw_os_error(),
                            Some(nix::libc::ENOENT | nix::libc::ESTALE)
                        ) =>
                {
                    answered += 1;
                }
                Answer::Refused(seq, error) if ours.contains(&seq) => return Err(error),
                _ => {}
            }
            Ok(if answered < batch.len() {
                Receiving::More
            } else {
                Receiving::Finished
            })
        })?;
    }
    Ok(())
}

/// A lookup's answer: the fixed header, and the counters of a connection
/// (the only answers whose attributes are decoded).
fn found_in(message: NetlinkBuffer<&[u8]>) -> Result<Found, DiagError> {
    let payload = message.payload();
    let header = parse_inet_diag_msg(payload)
        .map_err(|why| DiagError::netlink(format!("cannot decode an answer: {why}")))?;
    let flow = is_connection(header.state)
        .then(|| flow_of(&header, payload))
        .flatten();
    Ok(Found { header, flow })
}

/// The request for the one socket `name` names, as netlink bytes.
fn lookup_request(name: &SocketName, sequence: u32) -> Vec<u8> {
    let family = if name.local.is_ipv4() {
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
                source_port: name.local.port(),
                destination_port: name.remote.port(),
                source_address: name.local.ip(),
                destination_address: name.remote.ip(),
                interface_id: name.interface,
                cookie: name.cookie,
            },
        },
    )
}

/// A connection's record from its answer's header and `payload`, when
/// the kernel sent its `tcp_info`.
fn flow_of(header: &InetDiagMsg, payload: &[u8]) -> Option<TcpFlow> {
    let counters = tcp_counters(payload)?;
    Some(TcpFlow {
        inode: u64::from(header.inode),
        uid: header.uid,
        local: header.local,
        peer: header.remote,
        interface: header.interface,
        cookie: header.cookie,
        state: header.state,
        bytes_acked: counters.bytes_acked,
        bytes_received: counters.bytes_received,
        bytes_sent: counters.bytes_sent,
        bytes_retrans: counters.bytes_retrans,
        rtt_us: counters.rtt_us,
        rttvar_us: counters.rttvar_us,
        snd_cwnd: counters.snd_cwnd,
        retrans: counters.retrans,
        total_retrans: counters.total_retrans,
        delivery_rate: counters.delivery_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tick::own_connections;

    #[test]
    fn connection_states_leave_out_listeners_and_mini_sockets() {
        let states = connection_states();
        assert!(states.contains(StateFlags::ESTABLISHED | StateFlags::CLOSE_WAIT));
        assert!(
            !states.intersects(StateFlags::LISTEN | StateFlags::TIME_WAIT | StateFlags::SYN_RECV)
        );
        assert_eq!(
            states,
            StateFlags::all() - StateFlags::LISTEN - StateFlags::TIME_WAIT - StateFlags::SYN_RECV
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
            source: io::Error::from_raw_os_error(nix::libc::EPERM),
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
        assert_eq!(DiagError::netlink("x").remedy(), None);
    }

    fn set(inodes: &[u64]) -> FxHashSet<u64> {
        inodes.iter().copied().collect()
    }

    /// What a lookup of `names` in this namespace finds.
    fn found_by(here: &Path, names: &[SocketName]) -> Vec<Found> {
        let mut found = Vec::new();
        Netlink
            .look_up(here, names, &mut |f| found.push(f))
            .unwrap();
        found
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

        let first = own_connections(&Netlink, here, &own, None).unwrap();
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
        let second = own_connections(&Netlink, here, &own, Some(&first)).unwrap();
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
            let dumped = own_connections(&Netlink, here, &own6, None).unwrap();
            assert_eq!(dumped.flows.len(), ends.len(), "{:?}", dumped.flows);
            let names: Vec<SocketName> = dumped.flows.iter().map(SocketName::from).collect();
            let looked_up = found_by(here, &names);
            let mut found: Vec<u64> = looked_up
                .iter()
                .filter_map(|f| f.flow.as_ref())
                .map(|f| f.inode)
                .collect();
            found.sort_unstable();
            ends.sort_unstable();
            assert_eq!(found, ends);
        }

        // A cookie that names no socket: that one is left out.
        let mut stale = first.flows.clone();
        stale[0].cookie = [0xAB; 8];
        let names: Vec<SocketName> = stale.iter().map(SocketName::from).collect();
        let found = found_by(here, &names);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].header.inode as u64, stale[1].inode);
        assert_eq!(
            found[0].flow.as_ref().map(|f| f.inode),
            Some(stale[1].inode)
        );

        // A listener is found by its address and cookie too, as the
        // dump describes it, without counters.
        let mut listening = None;
        dump(
            &open_socket(NETLINK_SOCK_DIAG).unwrap(),
            ExtensionFlags::empty(),
            StateFlags::LISTEN,
            |message| {
                let header = parse_inet_diag_msg(message.payload()).unwrap();
                if u64::from(header.inode) == inode_of(&listener) {
                    listening = Some(header);
                }
                Ok(())
            },
        )
        .unwrap();
        let listening = listening.expect("the listener is dumped");
        let found = found_by(here, &[SocketName::from(&listening)]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].header, listening);
        assert_eq!(found[0].flow, None);
    }
}
