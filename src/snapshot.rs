//! What one tick read, as plain data the views can trust: who the process
//! is, the `net/` tables (each saying how it was obtained), its socket
//! inodes, the owner scan and the TCP connections with their counters.
//!
//! Views never need to know how a tick was made cheaper: a table read
//! whole, one whose other processes' rows were left out while it was read
//! (their key fingerprints kept, so totals and changes still count them),
//! and one whose rows came from a sock_diag dump all answer the same
//! questions ([`Table::text`], [`Table::dumped`], [`Table::left_out`]).
//! See docs/design.md for how a tick is planned and executed.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::FxHashSet;

use crate::error::{DiagError, ReadError};
use crate::neighbours::Neighbour;
use crate::parse::inet_diag::InetDiagMsg;

/// What one tick read.
#[derive(Debug)]
pub struct Snapshot {
    pub taken_at: chrono::DateTime<chrono::Local>,
    pub instant: Instant,
    /// `net/<name>` → its rows, or why they could not be had.
    pub tables: Tables,
    /// The process's socket inodes, when the tab shows sockets.
    pub fd: Option<Result<FdSockets, ReadError>>,
    /// Every process of the system with, for those in the same network
    /// namespace, its socket inodes; read only when owners are shown.
    pub processes: Option<Result<ProcessScan, ReadError>>,
    /// TCP connections with their kernel counters; `None` when reading a
    /// captured tree (no kernel to ask) or when the tick did not ask.
    pub flows: Option<Result<FlowDump, DiagError>>,
    /// The namespace's listening TCP sockets, read with the connections
    /// (they tell which closed connections the process accepted).
    pub listeners: Option<Result<Vec<InetDiagMsg>, DiagError>>,
    /// The neighbours over rtnetlink (arp tab, live only).
    pub neighbours: Option<Result<Vec<Neighbour>, DiagError>>,
}

/// The `net/` tables of a tick, by name.
pub type Tables = Vec<(&'static str, Result<Table, ReadError>)>;

/// The rows of one `net/` table, and how they were obtained.
#[derive(Debug)]
pub enum Table {
    /// The file's text, read whole.
    Text(String),
    /// The file's text without the rows of sockets no process in scope
    /// holds, left out while it was read (their lines are empty, so line
    /// numbers stay true); `left_out` holds their key fingerprints (shared
    /// with the socket set the view keeps for the next tick).
    Sifted {
        text: String,
        left_out: Arc<FxHashSet<u64>>,
    },
    /// The table's sockets from a sock_diag dump (tcp, tcp6), in the
    /// kernel's order, with those left out as for [`Table::Sifted`] (in
    /// scope own, every socket the process does not hold, inode-less
    /// ones included).
    Dumped {
        rows: Vec<InetDiagMsg>,
        left_out: Arc<FxHashSet<u64>>,
    },
    /// The process's own sockets of the table, each looked up by its
    /// cookie because it held the same sockets as at the tick before
    /// (scope own): the namespace was not dumped again, so the others are
    /// those the dump at `dumped_at` left out.
    LookedUp {
        rows: Vec<InetDiagMsg>,
        left_out: Arc<FxHashSet<u64>>,
        dumped_at: Instant,
    },
    /// The file's text, read whole because the dump asked for failed.
    TextAfterFailedDump { text: String, why: Arc<DiagError> },
}

impl Table {
    /// The table's text, when it was read as text.
    pub fn text(&self) -> Option<&str> {
        match self {
            Table::Text(text)
            | Table::Sifted { text, .. }
            | Table::TextAfterFailedDump { text, .. } => Some(text),
            Table::Dumped { .. } | Table::LookedUp { .. } => None,
        }
    }

    /// The table's sockets, when they came over sock_diag (a dump or
    /// lookups).
    pub fn dumped(&self) -> Option<&[InetDiagMsg]> {
        match self {
            Table::Dumped { rows, .. } | Table::LookedUp { rows, .. } => Some(rows),
            _ => None,
        }
    }

    /// Key fingerprints of the rows left out while the table was read.
    pub fn left_out(&self) -> Option<&Arc<FxHashSet<u64>>> {
        match self {
            Table::Sifted { left_out, .. }
            | Table::Dumped { left_out, .. }
            | Table::LookedUp { left_out, .. } => Some(left_out),
            _ => None,
        }
    }

    /// When the rows left out were counted, if not by this tick (the
    /// process's sockets were looked up instead of dumping the namespace).
    pub fn others_counted_at(&self) -> Option<Instant> {
        match self {
            Table::LookedUp { dumped_at, .. } => Some(*dumped_at),
            _ => None,
        }
    }
}

impl Snapshot {
    /// A snapshot of the given texts taken now, with nothing else (tests
    /// add [`Snapshot::fd`] and [`Snapshot::processes`]).
    pub fn of_texts(files: Vec<(&'static str, String)>) -> Snapshot {
        Snapshot {
            taken_at: chrono::Local::now(),
            instant: Instant::now(),
            tables: files
                .into_iter()
                .map(|(name, text)| (name, Ok(Table::Text(text))))
                .collect(),
            fd: None,
            processes: None,
            flows: None,
            listeners: None,
            neighbours: None,
        }
    }

    /// Texts (or read errors) as tables read whole.
    pub fn texts(files: Vec<(&'static str, Result<String, ReadError>)>) -> Tables {
        files
            .into_iter()
            .map(|(name, text)| (name, text.map(Table::Text)))
            .collect()
    }

    /// `net/<name>`, if this tick read it.
    pub fn table(&self, name: &str) -> Option<Result<&Table, &ReadError>> {
        self.tables
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, result)| result.as_ref())
    }

    /// The text of `net/<name>`, if this tick read it as text (or why it
    /// could not be read).
    pub fn file(&self, name: &str) -> Option<Result<&str, &ReadError>> {
        match self.table(name)? {
            Ok(table) => table.text().map(Ok),
            Err(e) => Some(Err(e)),
        }
    }

    /// The sockets of `net/<name>`, if this tick read them over sock_diag.
    pub fn dumped(&self, name: &str) -> Option<&[InetDiagMsg]> {
        self.table(name)?.ok()?.dumped()
    }

    /// Why a dump asked for the socket tables failed, when it did (the
    /// tables were then read as text).
    pub fn failed_dump(&self) -> Option<&DiagError> {
        self.tables.iter().find_map(|(_, table)| match table {
            Ok(Table::TextAfterFailedDump { why, .. }) => Some(why.as_ref()),
            _ => None,
        })
    }
}

/// Who the monitored process is, as read at the start of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    /// `comm` (untrusted: set by the process itself).
    pub name: String,
    /// Arguments joined with spaces (untrusted).
    pub cmdline: String,
    /// Start time in clock ticks after boot: pid + start time identify one
    /// process across pid reuse.
    pub start_time: u64,
    pub parent: i64,
    /// `net:[4026531840]`, the target of `ns/net`, when readable.
    pub netns: Option<String>,
    /// Why `ns/net` could not be read (`cannot read /proc/1/ns/net
    /// (permission denied)`), when `netns` is `None` for that reason.
    pub netns_error: Option<String>,
    /// The live thread read instead of an exited main thread.
    pub via_thread: Option<u32>,
}

/// The socket inodes among a process's open file descriptors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FdSockets {
    pub inodes: FxHashSet<u64>,
    /// How many descriptors were seen in all.
    pub descriptors: usize,
    /// Threads (tid, `net:[…]`) that moved to another network namespace
    /// with `setns()`: the process's tables (`net/`, which follows the
    /// main thread) do not list the sockets they open there.
    pub threads_elsewhere: Vec<(u32, String)>,
}

impl FdSockets {
    /// The sockets of the given inodes (tests and fixtures).
    pub fn of(inodes: impl IntoIterator<Item = u64>) -> FdSockets {
        let inodes: FxHashSet<u64> = inodes.into_iter().collect();
        FdSockets {
            descriptors: inodes.len(),
            inodes,
            threads_elsewhere: Vec::new(),
        }
    }
}

/// Every process found by one walk of the proc root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessScan {
    pub processes: Vec<ScannedProcess>,
}

/// One process seen while walking the proc root for socket owners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedProcess {
    pub pid: u32,
    /// Parent pid (0 for the roots of the process tree).
    pub parent: u32,
    /// `comm` (untrusted).
    pub name: String,
    /// Whether it is in the monitored process's network namespace (true
    /// when either namespace is unknown: socket inodes are unique across
    /// namespaces, so matching by inode stays correct).
    pub same_netns: bool,
    /// Its socket inodes (sorted): `None` when it is in another namespace
    /// (not read) or its `fd/` could not be read.
    pub sockets: Option<BTreeSet<u64>>,
    /// Why `fd/` could not be read, for a process in the same namespace.
    pub unreadable: Option<String>,
}

/// One TCP connection as the kernel counts it (`tcp_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpFlow {
    /// Socket inode, as in the `socket:[N]` links of `fd/`.
    pub inode: u64,
    pub uid: u32,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    /// The interface the socket is bound to (0 for none) and the kernel's
    /// cookie of the socket: with the addresses, what names this very
    /// socket to a later lookup.
    pub interface: u32,
    pub cookie: [u8; 8],
    /// TCP state code (`1` ESTABLISHED …), as in `net/tcp`.
    pub state: u8,
    /// Payload bytes the peer acknowledged (`tcpi_bytes_acked`).
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

#[cfg(test)]
impl TcpFlow {
    /// An established loopback connection to port 6000 with socket `inode`
    /// (also its cookie) that sent `sent` bytes (tests).
    pub(crate) fn sample(inode: u64, sent: u64) -> TcpFlow {
        TcpFlow {
            inode,
            uid: 0,
            local: SocketAddr::from(([127, 0, 0, 1], 6000)),
            peer: SocketAddr::from(([127, 0, 0, 1], 40000 + (inode % 1000) as u16)),
            interface: 0,
            cookie: inode.to_le_bytes(),
            state: 1,
            bytes_acked: sent,
            bytes_received: 0,
            bytes_sent: sent,
            bytes_retrans: 0,
            rtt_us: 0,
            rttvar_us: 0,
            snd_cwnd: 10,
            retrans: 0,
            total_retrans: 0,
            delivery_rate: 0,
        }
    }
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

/// One tick's TCP connections that have `tcp_info` (listeners, TIME_WAIT
/// and request sockets are not asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDump {
    pub flows: Vec<TcpFlow>,
    pub place: DumpPlace,
    /// For the process's own connections: what the next tick needs to ask
    /// for them one by one.
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

impl OwnConnections {
    /// What a reading of `connections` knew, the process holding `own`
    /// (its socket inodes): which of them were no connection.
    pub fn of(
        own: &FxHashSet<u64>,
        connections: &[TcpFlow],
        dumped_at: Instant,
        in_namespace: usize,
    ) -> OwnConnections {
        let connections: FxHashSet<u64> = connections.iter().map(|f| f.inode).collect();
        OwnConnections {
            others: own
                .iter()
                .copied()
                .filter(|inode| !connections.contains(inode))
                .collect(),
            dumped_at,
            in_namespace,
        }
    }
}
