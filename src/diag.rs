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
//! Everything returned is plain data ([`TcpFlow`]); kernel structures are
//! decoded by `netlink-packet-sock-diag` (with its `rich_nlas` feature for
//! `tcp_info`), never by hand here. A dump asked for only some sockets
//! (the process's own, for the TCP rate of every status box) still gets
//! every connection of the namespace from the kernel, which cannot filter
//! by inode, but decodes only the fixed header of the others: on a
//! namespace of 100 000 connections that spares most of the work and the
//! memory of a tick.

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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
use nix::sched::{CloneFlags, setns};
use nix::sys::stat::fstat;
use rustc_hash::FxHashSet;

/// One TCP connection as the kernel counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpFlow {
    /// Socket inode, as in the `socket:[N]` links of `fd/`.
    pub inode: u64,
    pub uid: u32,
    pub local: SocketAddr,
    pub peer: SocketAddr,
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
}

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
/// [`crate::source::ProcSource::view_dir`]) is `view_dir`. Runs here when
/// that is netmonitor's own namespace, otherwise on a helper thread that
/// enters it. With `only`, keeps just the connections of those inodes.
pub fn dump_tcp(view_dir: &Path, only: Option<&FxHashSet<u64>>) -> Result<FlowDump, DiagError> {
    let target_ns = view_dir.join("ns/net");
    let target_ns = target_ns.as_path();
    let target = match File::open(target_ns) {
        Ok(file) => file,
        Err(e) if matches!(e.kind(), io::ErrorKind::PermissionDenied) => {
            let why = format!("cannot read {} ({})", target_ns.display(), describe_io(&e));
            return dump_if_listed(&view_dir.join("net/netlink"), why, only);
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
        return Ok(FlowDump {
            flows: dump_here(only)?,
            place: DumpPlace::SameNamespace,
        });
    }
    let flows = std::thread::scope(|scope| {
        scope
            .spawn(|| {
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
                dump_here(only)
            })
            .join()
            .unwrap_or_else(|_| Err(DiagError::Netlink("the helper thread failed".into())))
    })?;
    Ok(FlowDump {
        flows,
        place: DumpPlace::Entered,
    })
}

/// Dumps netmonitor's own namespace when the process's `net/netlink`
/// table shows that it is the process's too; `why` says why that had to
/// be checked this way.
fn dump_if_listed(
    netlink_table: &Path,
    why: String,
    only: Option<&FxHashSet<u64>>,
) -> Result<FlowDump, DiagError> {
    let socket = open_diag_socket()?;
    let inode = fstat(&socket)
        .map_err(|errno| DiagError::Netlink(describe_io(&io::Error::from(errno))))?
        .st_ino;
    let listed =
        std::fs::read_to_string(netlink_table).is_ok_and(|table| lists_inode(&table, inode));
    if !listed {
        return Err(DiagError::OtherNamespace { why });
    }
    Ok(FlowDump {
        flows: dump_with(&socket, only)?,
        place: DumpPlace::SameByNetlinkTable(why),
    })
}

/// Whether a `net/netlink` table lists a socket with `inode` (its last
/// column). A pure helper for [`dump_if_listed`]: one column of a small
/// table does not warrant a parser module.
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

/// Dumps IPv4 and IPv6 TCP connections of the calling thread's namespace.
fn dump_here(only: Option<&FxHashSet<u64>>) -> Result<Vec<TcpFlow>, DiagError> {
    dump_with(&open_diag_socket()?, only)
}

fn dump_with(socket: &Socket, only: Option<&FxHashSet<u64>>) -> Result<Vec<TcpFlow>, DiagError> {
    let netlink = |e: io::Error| DiagError::Netlink(describe_io(&e));
    let mut flows = Vec::new();
    for (sequence, family) in [(1, AF_INET), (2, AF_INET6)] {
        request(socket, sequence, family).map_err(netlink)?;
        receive(socket, sequence, only, &mut flows)?;
    }
    Ok(flows)
}

/// States whose sockets carry `tcp_info` and data: everything but
/// listeners and the mini-sockets (TIME_WAIT, SYN_RECV request sockets).
fn connection_states() -> StateFlags {
    StateFlags::all() - StateFlags::LISTEN - StateFlags::TIME_WAIT - StateFlags::SYN_RECV
}

fn request(socket: &Socket, sequence: u32, family: u8) -> io::Result<()> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = sequence;
    let socket_id = if family == AF_INET {
        SocketId::new_v4()
    } else {
        SocketId::new_v6()
    };
    let mut packet = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions: ExtensionFlags::INFO,
            states: connection_states(),
            socket_id,
        })
        .into(),
    );
    packet.finalize();
    // `serialize` needs a buffer of exactly `buffer_len` bytes.
    let mut bytes = vec![0; packet.buffer_len()];
    packet.serialize(&mut bytes);
    socket.send(&bytes, 0)?;
    Ok(())
}

/// Netlink dump parts are at most 32 KiB; twice that never truncates.
const RECEIVE_BUFFER: usize = 64 * 1024;

/// Reads the answers to request `sequence` until the kernel says done;
/// with `only`, the connections of other inodes are skipped after their
/// fixed header.
fn receive(
    socket: &Socket,
    sequence: u32,
    only: Option<&FxHashSet<u64>>,
    flows: &mut Vec<TcpFlow>,
) -> Result<(), DiagError> {
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    loop {
        let size = {
            let mut space = &mut buffer[..];
            socket
                .recv(&mut space, 0)
                .map_err(|e| DiagError::Netlink(describe_io(&e)))?
        };
        if size > buffer.len() {
            return Err(DiagError::Netlink(format!(
                "a message of {size} bytes did not fit the {RECEIVE_BUFFER}-byte buffer"
            )));
        }
        let mut offset = 0;
        while offset < size {
            let bytes = &buffer[offset..size];
            if let Some(only) = only {
                if let Some(length) = skippable(bytes, sequence, only)? {
                    offset += length;
                    continue;
                }
            }
            let message = NetlinkMessage::<SockDiagMessage>::deserialize(bytes)
                .map_err(|e| DiagError::Netlink(format!("cannot decode an answer: {e}")))?;
            let length = message.header.length as usize;
            if length == 0 {
                break;
            }
            offset += length;
            if message.header.sequence_number != sequence {
                continue;
            }
            match message.payload {
                NetlinkPayload::Done(_) => return Ok(()),
                NetlinkPayload::Error(error) => {
                    return Err(DiagError::Netlink(describe_io(&error.to_io())));
                }
                NetlinkPayload::Overrun(_) => {
                    return Err(DiagError::Netlink("the kernel's answer overran".into()));
                }
                NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                    if let Some(flow) = flow_of(&response) {
                        flows.push(flow);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The length of the message at the start of `bytes` when it is a
/// connection of request `sequence` whose inode is not among `only`.
fn skippable(
    bytes: &[u8],
    sequence: u32,
    only: &FxHashSet<u64>,
) -> Result<Option<usize>, DiagError> {
    let undecodable = |e: netlink_packet_core::DecodeError| {
        DiagError::Netlink(format!("cannot decode an answer: {e}"))
    };
    let message = NetlinkBuffer::new_checked(bytes).map_err(undecodable)?;
    if message.message_type() != SOCK_DIAG_BY_FAMILY || message.sequence_number() != sequence {
        return Ok(None);
    }
    let header = InetResponseHeader::parse(message.payload()).map_err(undecodable)?;
    let length = message.length() as usize;
    Ok((length > 0 && !only.contains(&u64::from(header.inode))).then_some(length))
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
}
