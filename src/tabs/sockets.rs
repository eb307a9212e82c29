//! What every socket tab (tcp, udp, raw, icmp) shares, so that they agree
//! to the letter: parsing their tables out of a snapshot, removing the
//! duplicates a multi-read dump can produce, deciding whose sockets are
//! shown (scope own / tree / all) and who owns each one, ordering rows,
//! formatting addresses, the `filter`, the `+` marks of new rows and the
//! line of what closed, the count of the process's sockets that no
//! displayed table lists, parse-problem reporting, and the status lines.
//!
//! A tab describes only what differs — its tables, columns and summary —
//! in a [`SocketTab`], and [`socket_screen`] builds the screen. Escaping is
//! not done here: every string goes through `render`.
//!
//! Changes between ticks are computed on whole tables, not on the rows in
//! scope: a row is new when its socket was in no table of the previous
//! tick, and closed when it was in scope then and is in no table now. So
//! switching scope or filter never makes rows look new or closed.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use compact_str::{ToCompactString, format_compact};
use rayon::iter::Either;
use rayon::prelude::*;
use rustc_hash::FxHashSet;

use super::{Before, Scope, Tab, ViewContext};
use crate::error::ReadError;
use crate::parse::inet_diag::InetDiagMsg;
use crate::parse::other_sockets::{parse_inode_column, parse_unix_inodes};
use crate::parse::sockets::{
    SocketEntry, parse_socket_inodes, parse_socket_line, socket_line_inode,
};
use crate::parse::{LineError, Parsed};
use crate::render::{
    Block, Cell, Column, Emphasis, Fact, Family, MetricKind, Problem, Row, Screen, TableBlock,
    Value, plural,
};
use crate::snapshot::{FdSockets, ProcessScan, Snapshot};

/// The files a socket tab reads each tick: every IP socket table plus the
/// tables used only to name the process's other sockets.
pub const SOCKET_FILES: [&str; 13] = [
    "tcp", "tcp6", "udp", "udp6", "udplite", "udplite6", "raw", "raw6", "icmp", "icmp6", "unix",
    "netlink", "packet",
];

/// How many parse problems are spelled out before the rest are counted.
const PROBLEMS_SHOWN: usize = 3;
/// How many closed sockets the closed line names before counting the rest.
const CLOSED_SHOWN: usize = 5;
/// How many processes a note names before counting the rest.
const PIDS_SHOWN: usize = 3;

/// One socket and the table it came from (`tcp`, `udp6` …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub table: &'static str,
    pub entry: SocketEntry,
}

/// What identifies one socket across ticks: its table and inode, or for
/// inode-less rows (TIME_WAIT, requests) its addresses and state.
/// Sets of keys are kept as 64-bit [`SocketKey::fingerprint`]s: a namespace
/// can hold 100 000 sockets, and two keys sharing a fingerprint (odds about
/// 1 in 10^9 there) would only hide one `+` mark.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SocketKey {
    table: &'static str,
    inode: u64,
    local: SocketAddr,
    remote: SocketAddr,
    state: u8,
}

impl Socket {
    pub fn key(&self) -> SocketKey {
        let e = &self.entry;
        SocketKey::of_row(self.table, e.inode, e.local, e.remote, e.state)
    }
}

impl SocketKey {
    /// The key of a row of `table`: its inode, or for an inode-less row
    /// its addresses and state.
    pub fn of_row(
        table: &'static str,
        inode: u64,
        local: SocketAddr,
        remote: SocketAddr,
        state: u8,
    ) -> SocketKey {
        if inode != 0 {
            return SocketKey::of_inode(table, inode);
        }
        SocketKey {
            table,
            inode,
            local,
            remote,
            state,
        }
    }

    /// The key of a socket that has an inode (not 0).
    pub fn of_inode(table: &'static str, inode: u64) -> SocketKey {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        SocketKey {
            table,
            inode,
            local: unspecified,
            remote: unspecified,
            state: 0,
        }
    }

    /// A stable 64-bit digest of the key (FxHash, fast; two keys that
    /// differ only in their inode never share a digest).
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = rustc_hash::FxHasher::default();
        self.hash(&mut hasher);
        hasher.finish()
    }
}

/// A process holding a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    pub name: String,
}

/// Whose sockets a socket tab shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Only the process's own (inode among its `fd/` links).
    Own,
    /// The process's and its descendants' (how many descendants).
    Tree { descendants: usize },
    /// Every socket of the namespace.
    All,
    /// `fd/` could not be read: every socket of the namespace, and why.
    NamespaceFallback(String),
}

/// The rows of a socket tab for one tick.
#[derive(Debug, Clone)]
pub struct SocketSet {
    /// The sockets in scope, ordered.
    pub sockets: Vec<Socket>,
    pub ownership: Ownership,
    /// Sockets listed in these tables for the whole namespace.
    pub namespace_total: usize,
    /// Fingerprints of the sockets of these tables (the whole namespace)
    /// that were read; with [`Self::left_out`], all of them, for changes
    /// (see [`SocketSet::lists`]).
    pub keys: FxHashSet<u64>,
    /// Fingerprints of the rows left out while the tables were read
    /// ([`crate::snapshot::Table::left_out`]), per table, shared with the
    /// snapshot.
    pub left_out: Vec<Arc<FxHashSet<u64>>>,
    /// How long before this tick the rows left out were counted, when not
    /// by this tick ([`crate::snapshot::Table::others_counted_at`]).
    pub others_counted_before: Option<Duration>,
    /// Inode → the processes holding it, when the scope shows owners and
    /// the processes could be listed.
    pub owners: Option<HashMap<u64, Vec<Owner>>>,
    /// Sockets held in scope that these tables do not list, by kind
    /// (`unix`, `tcp` …), in a fixed order.
    pub other: Vec<(&'static str, usize)>,
    /// Facts about the scope worth a line (unreadable processes,
    /// descendants in another namespace).
    pub notes: Vec<String>,
    /// Lines that did not parse and files that could not be read, each one
    /// line of text for under the table.
    pub problems: Vec<String>,
    /// The same problems, typed.
    pub typed_problems: Vec<Problem>,
}

/// Collected problems of the files one tick read.
#[derive(Default)]
struct Problems {
    unreadable: Vec<String>,
    bad_lines: Vec<(&'static str, LineError)>,
}

impl Problems {
    /// The text of `net/<name>`, if it was read; a missing file (kernel
    /// without IPv6 or UDP-Lite) is not a problem.
    fn text<'s>(&mut self, snapshot: &'s Snapshot, name: &str) -> Option<&'s str> {
        match snapshot.file(name)? {
            Ok(text) => Some(text),
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                self.unreadable.push(e.to_string());
                None
            }
        }
    }

    fn add<T>(&mut self, name: &'static str, parsed: Parsed<T>) -> Vec<T> {
        self.bad_lines
            .extend(parsed.bad_lines.into_iter().map(|e| (name, e)));
        parsed.rows
    }

    /// The bad lines, typed (unreadable files are reported for every tab
    /// by [`crate::tabs::view`]).
    fn typed(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for (table, error) in &self.bad_lines {
            out.extend(Problem::lines(table, std::slice::from_ref(error)));
        }
        out
    }

    fn lines(self) -> Vec<String> {
        let mut out = self.unreadable;
        let bad = self.bad_lines;
        if !bad.is_empty() {
            out.push(format!(
                "{} {} could not be parsed and {} left out:",
                bad.len(),
                plural(bad.len(), "line", "lines"),
                plural(bad.len(), "is", "are"),
            ));
            for (table, error) in bad.iter().take(PROBLEMS_SHOWN) {
                out.push(format!("  {table} {error}"));
            }
            if bad.len() > PROBLEMS_SHOWN {
                out.push(format!("  … and {} more", bad.len() - PROBLEMS_SHOWN));
            }
        }
        out
    }
}

/// Parses `tables` from `snapshot`, de-duplicates, keeps the sockets the
/// scope of `ctx` shows (all of them when the process's `fd/` is
/// unreadable) and orders them with `rank` first (lower first), then by
/// local and peer address.
pub fn collect(
    snapshot: &Snapshot,
    tables: &[&'static str],
    ctx: &ViewContext<'_>,
    rank: impl Fn(&SocketEntry) -> u8 + Sync,
) -> SocketSet {
    let mut problems = Problems::default();
    let scope = ctx.view.scope;
    let mut notes = Vec::new();

    let scan = match &snapshot.processes {
        Some(Ok(scan)) if scope.needs_owners() => Some(scan),
        Some(Err(e)) if scope.needs_owners() => {
            notes.push(format!("{e}: owners unknown"));
            None
        }
        None if scope.needs_owners() => {
            notes.push("processes were not scanned: owners unknown".into());
            None
        }
        _ => None,
    };
    if let Some(scan) = scan {
        notes.extend(unreadable_note(scan));
    }
    let (ownership, held) = held_sockets(snapshot, scan, ctx, &mut notes);
    if let Some(why) = snapshot.failed_dump() {
        notes.push(format!(
            "TCP sockets read from net/tcp and net/tcp6 instead: {why}"
        ));
    }

    // One pass over the tables: every distinct row is counted and its key
    // remembered (for changes), but only rows in scope are kept, so a
    // namespace of 100 000 sockets costs little memory when the process
    // holds a few of them.
    let keep_all = !matches!(ownership, Ownership::Own | Ownership::Tree { .. });
    // Rows a sieve dropped while reading count too (they are not in the
    // text, so the two sets do not overlap).
    let mut keys: FxHashSet<u64> = FxHashSet::default();
    let mut listed_held: FxHashSet<u64> = FxHashSet::with_capacity_and_hasher(
        held.as_ref().map_or(0, |h| h.len()),
        Default::default(),
    );
    // In scope own or tree at most one row per held inode (plus the few
    // inode-less ones) is kept: reserve that, not a doubling's slack.
    let mut sockets: Vec<Socket> = match (&held, keep_all) {
        (Some(held), false) => Vec::with_capacity(held.len()),
        _ => Vec::new(),
    };
    // In scope own or tree most rows belong to other processes: for those
    // only the key counts, and the inode gives it.
    let theirs = |table: &'static str, inode: u64| match (keep_all, &held) {
        (false, Some(held)) if inode != 0 && !held.contains(&inode) => Some(TableLine::Theirs(
            SocketKey::of_inode(table, inode).fingerprint(),
        )),
        _ => None,
    };
    let socket_line = |table: &'static str, entry: SocketEntry| {
        let socket = Socket { table, entry };
        let fingerprint = socket.key().fingerprint();
        TableLine::Socket(socket, fingerprint)
    };
    let mut left_out = Vec::new();
    let mut others_counted_before = None;
    for &table in tables {
        if let Some(Ok(read)) = snapshot.table(table) {
            left_out.extend(read.left_out().cloned());
            if let Some(at) = read.others_counted_at() {
                others_counted_before = Some(snapshot.instant.saturating_duration_since(at));
            }
        }
        // A line of text is decoded on its own, on every core; what
        // depends on the rows before it (duplicates) is decided after, in
        // order. A row from sock_diag is cheap to turn into a line: as it
        // is taken, with no vector of lines in between.
        let decided = if let Some(dumped) = snapshot.dumped(table) {
            Either::Left(dumped.iter().enumerate().map(|(slot, header)| {
                theirs(table, header.inode.into()).unwrap_or_else(|| {
                    socket_line(table, header.socket_entry(slot as u64, ctx.clock_ticks))
                })
            }))
        } else {
            let Some(text) = problems.text(snapshot, table) else {
                continue;
            };
            let lines: Vec<(usize, &str)> = text
                .lines()
                .enumerate()
                .skip(1)
                .map(|(index, line)| (index, line.trim_end()))
                .filter(|(_, line)| !line.is_empty())
                .collect();
            let decoded = lines
                .par_iter()
                .map(|&(index, line)| {
                    // The inode column, without decoding the rest.
                    if let Some(other) = socket_line_inode(line).and_then(|i| theirs(table, i)) {
                        return other;
                    }
                    match parse_socket_line(line, ctx.endian) {
                        Ok(entry) => socket_line(table, entry),
                        Err(reason) => TableLine::Bad(LineError {
                            line: index + 1,
                            reason,
                        }),
                    }
                })
                .collect::<Vec<TableLine>>();
            Either::Right(decoded.into_iter())
        };
        for line in decided {
            let (socket, fingerprint) = match line {
                TableLine::Theirs(fingerprint) => {
                    keys.insert(fingerprint);
                    continue;
                }
                TableLine::Bad(error) => {
                    problems.bad_lines.push((table, error));
                    continue;
                }
                TableLine::Socket(socket, fingerprint) => (socket, fingerprint),
            };
            if !keys.insert(fingerprint) {
                continue;
            }
            let inode = socket.entry.inode;
            let in_held = inode != 0 && held.as_ref().is_some_and(|h| h.contains(&inode));
            if in_held {
                listed_held.insert(inode);
            }
            if keep_all || in_held {
                sockets.push(socket);
            }
        }
    }
    let namespace_total = keys.len() + left_out.iter().map(|set| set.len()).sum::<usize>();

    let owners = scan.map(|scan| owners_by_inode(scan, ctx, snapshot.fd.as_ref()));

    let other = match &held {
        Some(held) => {
            let unexplained: Vec<u64> = held
                .iter()
                .copied()
                .filter(|inode| !listed_held.contains(inode))
                .collect();
            classify(&unexplained, snapshot, tables, &mut problems)
        }
        None => Vec::new(),
    };

    sockets.par_sort_by(|a, b| {
        (
            rank(&a.entry),
            a.entry.local.ip(),
            a.entry.local.port(),
            a.entry.remote,
            a.entry.inode,
        )
            .cmp(&(
                rank(&b.entry),
                b.entry.local.ip(),
                b.entry.local.port(),
                b.entry.remote,
                b.entry.inode,
            ))
    });
    SocketSet {
        sockets,
        ownership,
        namespace_total,
        keys,
        left_out,
        others_counted_before,
        owners,
        other,
        notes,
        typed_problems: problems.typed(),
        problems: problems.lines(),
    }
}

/// One data line of a socket table, decoded on its own.
enum TableLine {
    /// A row of a socket no process in scope holds: its key fingerprint.
    Theirs(u64),
    /// A socket and its key fingerprint.
    Socket(Socket, u64),
    Bad(LineError),
}

/// Whether a socket with `inode` is among `inodes`. Inode 0 (TIME_WAIT,
/// request and orphaned sockets) belongs to no process.
pub fn is_own(inodes: &FxHashSet<u64>, inode: u64) -> bool {
    inode != 0 && inodes.contains(&inode)
}

/// Whose sockets are shown, and the socket inodes of the processes in
/// scope (`None` when every socket of the tables is shown because the
/// process's `fd/` is unreadable). Facts worth a status line go to `notes`.
pub fn held_sockets(
    snapshot: &Snapshot,
    scan: Option<&ProcessScan>,
    ctx: &ViewContext<'_>,
    notes: &mut Vec<String>,
) -> (Ownership, Option<FxHashSet<u64>>) {
    let fd: Result<&FdSockets, String> = match &snapshot.fd {
        Some(Ok(fd)) => Ok(fd),
        Some(Err(e)) => Err(fallback_reason(e)),
        None => Err("showing every socket in the network namespace".into()),
    };
    match (ctx.view.scope, fd) {
        (Scope::All, fd) => {
            // Every socket is shown; `held` still says which sockets of the
            // namespace's processes are not in these tables.
            let mut held = fd.map(|fd| fd.inodes.clone()).unwrap_or_default();
            if let Some(scan) = scan {
                for process in scan.processes.iter().filter(|p| p.same_netns) {
                    held.extend(process.sockets.iter().flatten());
                }
            }
            (Ownership::All, Some(held))
        }
        (_, Err(why)) => (Ownership::NamespaceFallback(why), None),
        (Scope::Own, Ok(fd)) => (Ownership::Own, Some(fd.inodes.clone())),
        (Scope::Tree, Ok(fd)) => {
            let mut held = fd.inodes.clone();
            let mut descendants = 0;
            if let Some(scan) = scan {
                let tree = descendants_of(scan, ctx.process.pid);
                descendants = tree.len();
                let mut elsewhere = Vec::new();
                for process in tree {
                    if !process.same_netns {
                        elsewhere.push(format!("{}/{}", process.pid, process.name));
                    }
                    held.extend(process.sockets.iter().flatten());
                }
                if !elsewhere.is_empty() {
                    notes.push(format!(
                        "{} in another network namespace (its sockets are in that namespace's tables): {}",
                        plural(elsewhere.len(), "descendant", "descendants"),
                        name_some(&elsewhere),
                    ));
                }
            }
            (Ownership::Tree { descendants }, Some(held))
        }
    }
}

/// The sieve of scope own, applied while a table is read (see
/// [`crate::tick`]): appends to `kept` the lines of `block` (whole lines of
/// `table`; `first` when it starts the file) that the process holds, or
/// that have no inode (they belong to no process and are told apart by
/// their addresses); other rows leave an empty line, so line numbers stay
/// true, and the fingerprints of their keys go to `dropped`, so totals and
/// changes still count them. A big namespace's table is never held whole.
pub(crate) fn sift_block(
    table: &'static str,
    block: &str,
    first: bool,
    inodes: &FxHashSet<u64>,
    kept: &mut String,
    dropped: &mut FxHashSet<u64>,
) {
    for (index, line) in block.lines().enumerate() {
        let header = first && index == 0;
        let drop = match socket_line_inode(line.trim_end()) {
            Some(inode) if !header => left_out(table, inode, inodes),
            _ => None,
        };
        match drop {
            Some(fingerprint) => {
                dropped.insert(fingerprint);
            }
            None => kept.push_str(line),
        }
        kept.push('\n');
    }
}

/// For a socket of `table` with `inode` (read as text or over
/// sock_diag): `None` to keep it, or the fingerprint to count it by when
/// the sieve of scope own leaves it out.
pub(crate) fn left_out(table: &'static str, inode: u64, inodes: &FxHashSet<u64>) -> Option<u64> {
    (inode != 0 && !inodes.contains(&inode))
        .then(|| SocketKey::of_inode(table, inode).fingerprint())
}

/// For a socket of a sock_diag dump of `table`: `None` to keep it (the
/// process holds it: its inode is among `inodes`), or the fingerprint of
/// its key to count it by. Unlike the text's sieve ([`left_out`]) the
/// inode-less rows (TIME_WAIT, requests) are left out too: their
/// addresses are already decoded, and they are no process's.
pub(crate) fn left_out_of_dump(
    table: &'static str,
    header: &InetDiagMsg,
    inodes: &FxHashSet<u64>,
) -> Option<u64> {
    let inode = u64::from(header.inode);
    let key = SocketKey::of_row(table, inode, header.local, header.remote, header.state);
    (!is_own(inodes, inode)).then(|| key.fingerprint())
}

/// The socket tables a tab does not display: read only when a socket held
/// in scope is listed in none of the displayed ones, to name its kind.
pub fn other_tables(displayed: &[&'static str]) -> Vec<&'static str> {
    SOCKET_FILES
        .into_iter()
        .filter(|table| !displayed.contains(table))
        .collect()
}

/// Whether some socket held by the process (or, when the snapshot scanned
/// processes, by any of them) is missing from the `displayed` tables of
/// `snapshot`, so that [`other_tables`] must be read to say what it is.
pub fn needs_other_tables(snapshot: &Snapshot, displayed: &[&'static str]) -> bool {
    let mut held: FxHashSet<u64> = match &snapshot.fd {
        Some(Ok(fd)) => fd.inodes.clone(),
        _ => FxHashSet::default(),
    };
    if let Some(Ok(scan)) = &snapshot.processes {
        for process in scan.processes.iter().filter(|p| p.same_netns) {
            held.extend(process.sockets.iter().flatten());
        }
    }
    for table in displayed {
        if held.is_empty() {
            return false;
        }
        if let Some(dumped) = snapshot.dumped(table) {
            for header in dumped {
                held.remove(&u64::from(header.inode));
            }
        } else if let Some(Ok(text)) = snapshot.file(table) {
            // Only the inode column, on every core (the header has none).
            let listed: Vec<u64> = text
                .par_lines()
                .filter_map(|line| socket_line_inode(line.trim_end()))
                .collect();
            for inode in listed {
                held.remove(&inode);
            }
        }
    }
    !held.is_empty()
}

fn fallback_reason(error: &ReadError) -> String {
    format!("{error}: showing every socket in its network namespace")
}

/// `a, b, c` or `a, b, c and 4 more`.
fn name_some(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(PIDS_SHOWN).map(String::as_str).collect();
    let mut text = shown.join(", ");
    if items.len() > PIDS_SHOWN {
        text.push_str(&format!(" and {} more", items.len() - PIDS_SHOWN));
    }
    text
}

/// A note on processes of the namespace whose `fd/` could not be read.
fn unreadable_note(scan: &ProcessScan) -> Option<String> {
    let unreadable: Vec<String> = scan
        .processes
        .iter()
        .filter(|p| p.same_netns)
        .filter_map(|p| {
            p.unreadable
                .as_ref()
                .map(|why| format!("{}/{} ({why})", p.pid, p.name))
        })
        .collect();
    (!unreadable.is_empty()).then(|| {
        format!(
            "owners may be missing (shown as ?): cannot read fd/ of {} {}: {}",
            unreadable.len(),
            plural(unreadable.len(), "process", "processes"),
            name_some(&unreadable),
        )
    })
}

/// The descendants of `pid` (children, their children …), in pid order.
fn descendants_of(scan: &ProcessScan, pid: u32) -> Vec<&crate::snapshot::ScannedProcess> {
    let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
    for (index, process) in scan.processes.iter().enumerate() {
        children.entry(process.parent).or_default().push(index);
    }
    let mut found = Vec::new();
    let mut visited = HashSet::from([pid]);
    let mut queue = VecDeque::from([pid]);
    while let Some(parent) = queue.pop_front() {
        for &index in children.get(&parent).into_iter().flatten() {
            let process = &scan.processes[index];
            // `visited` guards against a loop in odd captured data.
            if visited.insert(process.pid) {
                found.push(process);
                queue.push_back(process.pid);
            }
        }
    }
    found.sort_by_key(|p| p.pid);
    found
}

/// Inode → holders, from the scan plus the monitored process's own `fd/`
/// (which also covers threads with their own descriptor table).
fn owners_by_inode(
    scan: &ProcessScan,
    ctx: &ViewContext<'_>,
    fd: Option<&Result<FdSockets, ReadError>>,
) -> HashMap<u64, Vec<Owner>> {
    let mut owners: HashMap<u64, Vec<Owner>> = HashMap::new();
    for process in &scan.processes {
        for &inode in process.sockets.iter().flatten() {
            owners.entry(inode).or_default().push(Owner {
                pid: process.pid,
                name: process.name.clone(),
            });
        }
    }
    if let Some(Ok(fd)) = fd {
        for &inode in &fd.inodes {
            let holders = owners.entry(inode).or_default();
            if !holders.iter().any(|o| o.pid == ctx.process.pid) {
                holders.push(Owner {
                    pid: ctx.process.pid,
                    name: ctx.process.name.clone(),
                });
            }
        }
    }
    for holders in owners.values_mut() {
        holders.sort_by_key(|o| o.pid);
        holders.dedup_by_key(|o| o.pid);
    }
    owners
}

/// The kinds of sockets, in the order the "other sockets" line lists them.
const KINDS: [&str; 8] = [
    "tcp", "udp", "raw", "icmp", "unix", "netlink", "packet", "unlisted",
];

/// Which tab (or non-IP table) lists a table's sockets.
fn kind_of_table(table: &str) -> &'static str {
    match table {
        "tcp" | "tcp6" => "tcp",
        "udp" | "udp6" | "udplite" | "udplite6" => "udp",
        "raw" | "raw6" => "raw",
        "icmp" | "icmp6" => "icmp",
        "unix" => "unix",
        "netlink" => "netlink",
        "packet" => "packet",
        _ => "unlisted",
    }
}

/// Counts `inodes` (held in scope but not in the displayed tables) by the
/// table that lists them; those in no table are `unlisted`.
fn classify(
    inodes: &[u64],
    snapshot: &Snapshot,
    displayed: &[&'static str],
    problems: &mut Problems,
) -> Vec<(&'static str, usize)> {
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut kind_of: HashMap<u64, &'static str> = HashMap::new();
    for table in SOCKET_FILES {
        if displayed.contains(&table) {
            continue;
        }
        let Some(text) = problems.text(snapshot, table) else {
            continue;
        };
        let listed: Vec<u64> = match table {
            "unix" => problems.add(table, parse_unix_inodes(text)),
            "netlink" | "packet" => problems.add(table, parse_inode_column(text)),
            _ => problems.add(table, parse_socket_inodes(text)),
        };
        for inode in listed.into_iter().filter(|&i| i != 0) {
            kind_of.entry(inode).or_insert(kind_of_table(table));
        }
    }
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for inode in inodes {
        let kind = kind_of.get(inode).copied().unwrap_or("unlisted");
        let order = KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len());
        *counts.entry(order).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(order, count)| (KINDS.get(order).copied().unwrap_or("unlisted"), count))
        .collect()
}

impl SocketSet {
    /// Whether these tables list the socket of key `fingerprint`.
    pub fn lists(&self, fingerprint: u64) -> bool {
        self.keys.contains(&fingerprint)
            || self.left_out.iter().any(|set| set.contains(&fingerprint))
    }

    /// The status line saying whose sockets are shown. `kind` names them
    /// (`TCP`, `UDP` …).
    pub fn scope_line(&self, kind: &str, pid: u32, requested: Scope, netns: &str) -> String {
        let total = self.namespace_total;
        let shown = self.sockets.len();
        match &self.ownership {
            Ownership::Own => format!(
                "scope own · the process's own sockets: {shown} of {total} {kind} sockets in {netns}{}",
                self.others_counted_before
                    .map_or(String::new(), |before| format!(
                        " (the others as counted {:.0} s ago)",
                        before.as_secs_f64()
                    ))
            ),
            Ownership::Tree { descendants } => format!(
                "scope tree · sockets of pid {pid} and its {descendants} {}: {shown} of {total} {kind} sockets in {netns}",
                plural(*descendants, "descendant", "descendants"),
            ),
            Ownership::All => {
                format!("scope all · every {kind} socket in {netns}: {total}, with owners")
            }
            Ownership::NamespaceFallback(why) => {
                format!("scope {}, fallback: {why} ({netns})", requested.name())
            }
        }
    }

    /// `3 other sockets not in these tables: 2 unix, 1 netlink`, when the
    /// scope holds any.
    pub fn other_line(&self) -> Option<String> {
        let total: usize = self.other.iter().map(|(_, n)| n).sum();
        if total == 0 {
            return None;
        }
        let parts: Vec<String> = self
            .other
            .iter()
            .map(|(kind, n)| match *kind {
                "unlisted" => format!(
                    "{n} in no table (unbound, bound-only TCP, another namespace or family)"
                ),
                _ => format!("{n} {kind}"),
            })
            .collect();
        Some(format!(
            "{total} other {} not in these tables: {}",
            plural(total, "socket", "sockets"),
            parts.join(", ")
        ))
    }

    /// The Owner cell of `socket`: `pid/name` of each holder, `-` for
    /// inode 0 (TIME_WAIT, orphaned, kernel), `?` when no holder was found.
    /// Its value is the list of holders' pids.
    pub fn owner_cell(&self, socket: &Socket) -> Cell {
        if socket.entry.inode == 0 {
            return Cell::null("-");
        }
        match self
            .owners
            .as_ref()
            .and_then(|o| o.get(&socket.entry.inode))
        {
            Some(holders) if !holders.is_empty() => Cell::text(
                holders
                    .iter()
                    .map(|o| format!("{}/{}", o.pid, o.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            _ => Cell::null("?"),
        }
    }

    /// The status as facts: scope, whose sockets, how many.
    pub fn facts(&self, requested: Scope, filter: Option<&str>) -> Vec<Fact> {
        let (ownership, fallback) = match &self.ownership {
            Ownership::Own => ("own", None),
            Ownership::Tree { .. } => ("tree", None),
            Ownership::All => ("all", None),
            Ownership::NamespaceFallback(why) => ("namespace_fallback", Some(why.clone())),
        };
        let mut facts = vec![
            Fact::new("scope", Value::Str(requested.name().into())),
            Fact::new("ownership", Value::Str(ownership.into())),
            Fact::new(
                "fallback_reason",
                fallback.map_or(Value::Null, |f| Value::Str(f.into())),
            ),
            Fact::new(
                "namespace_sockets",
                Value::UInt(self.namespace_total as u64),
            ),
            Fact::new("scope_sockets", Value::UInt(self.sockets.len() as u64)),
            Fact::new(
                "namespace_counted_seconds_ago",
                self.others_counted_before
                    .map_or(Value::Null, |before| Value::float(before.as_secs_f64())),
            ),
            Fact::new(
                "filter",
                filter.map_or(Value::Null, |f| Value::Str(f.into())),
            ),
        ];
        if let Ownership::Tree { descendants } = self.ownership {
            facts.push(Fact::new("descendants", Value::UInt(descendants as u64)));
        }
        facts.extend(self.other.iter().map(|(kind, n)| {
            Fact::new("other_sockets", Value::UInt(*n as u64)).label("kind", *kind)
        }));
        facts
    }
}

/// What a socket tab adds to the shared layout.
pub struct SocketTab {
    pub tab: Tab,
    /// How the status line names the sockets (`TCP`, `UDP`, `ping` …).
    pub kind: &'static str,
    /// The tables whose rows are displayed.
    pub tables: &'static [&'static str],
    pub columns: &'static [Column],
    /// Row order before addresses (lower first).
    pub rank: fn(&SocketEntry) -> u8,
    /// The cells of one row, matching `columns`: a function of the socket,
    /// its user's name and `clock_ticks` alone, which
    /// [`SocketRows`]' digest stands for.
    pub cells: fn(&ViewContext<'_>, &Socket) -> Vec<Cell>,
    /// Colour of a row that is not new.
    pub emphasis: fn(&Socket) -> Emphasis,
    /// One socket in the closed line (`127.0.0.1:5501 → * ESTAB`).
    pub describe: fn(&Socket) -> String,
    /// The line under the table for the rows shown.
    pub summary: fn(&[&Socket]) -> String,
    /// Fixed lines after the summary that explain a column.
    pub legend: &'static [&'static str],
}

/// Builds a socket tab's screen: status box, the table (Owner column in
/// scope all/tree, `+` column for rows new since the previous tick) and the lines
/// under it.
/// Also returns the tick's socket set, which the next tick's view takes
/// as its `previous` instead of parsing this snapshot again.
pub fn socket_screen(
    spec: &SocketTab,
    ctx: &ViewContext<'_>,
    now: &Snapshot,
    previous: Option<Before<'_>>,
) -> (Screen, SocketSet) {
    let set = collect(now, spec.tables, ctx, spec.rank);
    let parsed;
    let before: Option<&SocketSet> = match previous {
        Some(Before {
            sockets: Some(sockets),
            ..
        }) => Some(sockets),
        Some(Before { snapshot, .. }) => {
            parsed = collect(snapshot, spec.tables, ctx, spec.rank);
            Some(&parsed)
        }
        None => None,
    };
    let filter = ctx.view.filter.as_ref();
    let source = SocketRows::new(spec, ctx, &set, before);
    let with_owner = source.with_owner;
    let matches = |cells: &[Cell]| {
        filter.is_none_or(|f| f.matches(&cells.iter().map(|c| &c.text).collect::<Vec<_>>()))
    };

    // The `+` column is there from the first tick, so the layout does not
    // shift on the second; with nothing before, whether a row is new is not
    // known (null in JSON).
    let mut columns: Vec<Column> = vec![Column::new("", "new")];
    columns.extend(spec.columns.iter().cloned());
    if with_owner {
        columns.push(Column::new("Owner", "owners").importance(4));
    }

    // Text output of every row leaves the rows to the renderer, which
    // builds them from [`SocketRows`] as it prints them; that needs the
    // set before as the caller has it (not parsed again here).
    let later = ctx.rows_later
        && filter.is_none()
        && ctx.rows_shown.is_none()
        && previous.is_none_or(|p| p.sockets.is_some())
        && !set.sockets.is_empty();
    // Otherwise rows are built on every core, straight into one vector in
    // the order of the sockets; rows the filter hides are dropped after.
    // Without a filter, rows past what the display shows are not built at
    // all.
    let build = match (ctx.rows_shown, filter) {
        _ if later => 0,
        (Some(cap), None) => cap.min(set.sockets.len()),
        _ => set.sockets.len(),
    };
    let built: Vec<Option<Row>> = set.sockets[..build]
        .par_iter()
        .map(|socket| Some(source.of(socket)).filter(|row| matches(&row.cells[1..])))
        .collect();
    let shown: Vec<&Socket> = match filter {
        Some(_) => set
            .sockets
            .iter()
            .zip(&built)
            .filter_map(|(socket, row)| row.as_ref().map(|_| socket))
            .collect(),
        None => set.sockets.iter().collect(),
    };
    let later_rows = if later { set.sockets.len() } else { 0 };
    let unbuilt_rows = set.sockets.len() - build - later_rows;
    // In place: an optional row is as big as a row.
    let rows: Vec<Row> = built.into_iter().flatten().collect();
    let unknown_owner = with_owner && shown.iter().any(|s| set.owner_cell(s).text == "?");

    let mut status = vec![
        ctx.headline(spec.tab, now),
        set.scope_line(spec.kind, ctx.process.pid, ctx.view.scope, ctx.netns()),
    ];
    if let Some(f) = filter {
        status.push(format!(
            "filter '{}': {} of {} {}",
            f.text(),
            shown.len(),
            set.sockets.len(),
            plural(set.sockets.len(), "row", "rows")
        ));
    }
    status.extend(ctx.process_notes());
    status.extend(ctx.netns_note());
    status.extend(super::thread_notes(now));

    let mut notes = vec![(spec.summary)(&shown)];
    notes.extend(spec.legend.iter().map(|l| l.to_string()));
    if let Some(before) = before {
        let closed: Vec<String> = before
            .sockets
            .iter()
            .filter(|s| !set.lists(s.key().fingerprint()))
            .filter(|s| matches(&source.cells(before, s)))
            .map(|s| (spec.describe)(s))
            .collect();
        if !closed.is_empty() {
            let mut line = format!(
                "closed: {}",
                closed[..closed.len().min(CLOSED_SHOWN)].join("; ")
            );
            if closed.len() > CLOSED_SHOWN {
                line.push_str(&format!("; … and {} more", closed.len() - CLOSED_SHOWN));
            }
            notes.push(line);
        }
    }
    notes.extend(set.other_line());
    if unknown_owner {
        notes.push(
            "Owner ?: no visible process holds it (another PID namespace, hidepid, an unreadable fd/, or the kernel)"
                .into(),
        );
    }
    notes.extend(set.notes.iter().cloned());
    notes.extend(set.problems.iter().cloned());

    let screen = Screen {
        status,
        facts: set.facts(ctx.view.scope, filter.map(|f| f.text())),
        blocks: vec![Block::Table(TableBlock {
            key: "sockets".into(),
            title: None,
            columns,
            rows,
            notes,
            facts: socket_facts(&shown),
            problems: set.typed_problems.clone(),
            labels: Vec::new(),
            unbuilt_rows,
            later_rows,
        })],
        problems: Vec::new(),
    };
    (screen, set)
}

/// The rows of a socket tab's table, built one at a time: by the view
/// itself, or by the renderer as it prints them when the view leaves
/// them to it ([`crate::render::RowSource`]).
pub struct SocketRows<'a> {
    pub spec: &'a SocketTab,
    pub ctx: &'a ViewContext<'a>,
    pub set: &'a SocketSet,
    /// The set of the tick before, whose sockets are not new.
    pub before: Option<&'a SocketSet>,
    /// With the Owner column (scopes all and tree).
    pub with_owner: bool,
}

impl<'a> SocketRows<'a> {
    pub fn new(
        spec: &'a SocketTab,
        ctx: &'a ViewContext<'a>,
        set: &'a SocketSet,
        before: Option<&'a SocketSet>,
    ) -> SocketRows<'a> {
        SocketRows {
            spec,
            ctx,
            set,
            before,
            with_owner: ctx.view.scope.needs_owners(),
        }
    }

    /// The row of `socket` (one of `self.set`'s): the `+` cell, then the
    /// tab's cells, then the owners.
    pub fn of(&self, socket: &Socket) -> Row {
        let new = self.is_new(socket);
        let mut cells = Vec::with_capacity(self.spec.columns.len() + 2);
        cells.push(match new {
            Some(new) => Cell::new(if new { "+" } else { "" }, Value::Bool(new)),
            None => Cell::new("", Value::Null),
        });
        cells.extend(self.cells(self.set, socket));
        Row {
            cells,
            emphasis: if new == Some(true) {
                Emphasis::Highlight
            } else {
                (self.spec.emphasis)(socket)
            },
            total: false,
        }
    }

    /// The tab's cells of `socket` of `set`, and its owners when shown.
    fn cells(&self, set: &SocketSet, socket: &Socket) -> Vec<Cell> {
        let mut cells = (self.spec.cells)(self.ctx, socket);
        if self.with_owner {
            // Exact growth: a doubled vector per row adds up on big tables.
            cells.reserve_exact(1);
            cells.push(set.owner_cell(socket));
        }
        cells
    }

    /// Whether `socket` is new since the tick before; `None` without one.
    fn is_new(&self, socket: &Socket) -> Option<bool> {
        self.before
            .map(|before| !before.lists(socket.key().fingerprint()))
    }
}

impl crate::render::RowSource for SocketRows<'_> {
    fn len(&self) -> usize {
        self.set.sockets.len()
    }

    fn row(&self, index: usize) -> Row {
        self.of(&self.set.sockets[index])
    }

    /// Everything a row is made of: the tab, the socket's line, whether it
    /// is new, its user's name, its owners and the clock the timers are
    /// counted in (the tabs' `cells` read nothing else, see
    /// [`SocketTab::cells`]).
    fn digest(&self, index: usize) -> u64 {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let socket = &self.set.sockets[index];
        let mut hasher = DefaultHasher::new();
        self.spec.tab.hash(&mut hasher);
        socket.table.hash(&mut hasher);
        hash_shown(&socket.entry, &mut hasher);
        // Not new and not known to be new print alike.
        (self.is_new(socket) == Some(true)).hash(&mut hasher);
        self.ctx.user(socket.entry.uid).hash(&mut hasher);
        self.ctx.clock_ticks.hash(&mut hasher);
        if self.with_owner {
            let holders = self
                .set
                .owners
                .as_ref()
                .and_then(|o| o.get(&socket.entry.inode));
            for owner in holders.into_iter().flatten() {
                owner.pid.hash(&mut hasher);
                owner.name.hash(&mut hasher);
            }
        }
        hasher.finish()
    }
}

/// Feeds `hasher` every field of `entry` a socket tab's cells read: all
/// but the row number (`sl`, which shifts whenever the namespace's sockets
/// do), the reference count and the values of the TCP details (only
/// whether the line has them shows, in the timer's kind).
fn hash_shown(entry: &SocketEntry, hasher: &mut impl std::hash::Hasher) {
    use std::hash::Hash;
    let SocketEntry {
        slot: _,
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
        refcount: _,
        tcp,
        drops,
    } = entry;
    (local, remote, state, tx_queue, rx_queue, timer, timer_ticks).hash(hasher);
    (retransmits, uid, probes, inode, tcp.is_some(), drops).hash(hasher);
}

/// Sockets shown by a socket tab, by table and state.
pub static SOCKETS: Family = Family {
    name: "netmonitor_sockets",
    kind: MetricKind::Gauge,
    help: "Sockets the tab shows (the process's own in scope own), by table and state",
};

/// The summary under a socket table as facts: how many rows, and how many
/// of each table and state (`sockets{protocol="tcp6",state="LISTEN"}`).
fn socket_facts(shown: &[&Socket]) -> Vec<Fact> {
    let mut counts: BTreeMap<(&'static str, Cow<'static, str>), u64> = BTreeMap::new();
    for socket in shown {
        *counts
            .entry((socket.table, datagram_state(&socket.entry)))
            .or_default() += 1;
    }
    let mut facts = vec![Fact::new("rows", Value::UInt(shown.len() as u64))];
    facts.extend(counts.into_iter().map(|((table, state), n)| {
        Fact::new("sockets", Value::UInt(n))
            .label("protocol", table)
            .label("state", state)
            .metric(&SOCKETS)
    }));
    facts
}

/// An endpoint as users write it: `127.0.0.1:5501`, `[::1]:5502`. A peer
/// that is not connected (unspecified address, port 0) is `*`.
pub fn endpoint(addr: &SocketAddr, is_peer: bool) -> String {
    if is_peer && addr.ip().is_unspecified() && addr.port() == 0 {
        return "*".into();
    }
    addr.to_string()
}

/// [`endpoint`] as a cell: the address as a string, null for `*`; the
/// address and port also apart (`local_ip`, `local_port` …).
pub fn endpoint_cell(
    addr: &SocketAddr,
    is_peer: bool,
    ip_key: &'static str,
    port_key: &'static str,
) -> Cell {
    if is_peer && addr.ip().is_unspecified() && addr.port() == 0 {
        return Cell::null("*")
            .with(ip_key, Value::Null)
            .with(port_key, Value::Null);
    }
    // Formatted once, straight into inline text (no allocation), and
    // written the way `SocketAddr` displays.
    let ip = addr.ip().to_compact_string();
    let text = match addr {
        SocketAddr::V4(_) => format_compact!("{ip}:{}", addr.port()),
        SocketAddr::V6(_) => format_compact!("[{ip}]:{}", addr.port()),
    };
    Cell::text(text)
        .with(ip_key, Value::Str(ip))
        .with(port_key, Value::UInt(u64::from(addr.port())))
}

/// [`host`] as a cell: the address as a string, null for `*`.
pub fn host_cell(ip: &IpAddr, is_peer: bool) -> Cell {
    let text = host(ip, is_peer);
    if text == "*" {
        Cell::null(text)
    } else {
        Cell::text(text)
    }
}

/// The User cell: the name (or uid with `--numeric`) shown, the uid kept.
pub fn user_cell(ctx: &ViewContext<'_>, uid: u32) -> Cell {
    Cell::text(ctx.user(uid)).with("uid", Value::UInt(u64::from(uid)))
}

/// An address without its port (raw and ping sockets, whose "port" is a
/// protocol or an echo id): `127.0.0.1`, `::1`; an unconnected peer is `*`.
pub fn host(ip: &IpAddr, is_peer: bool) -> String {
    if is_peer && ip.is_unspecified() {
        return "*".into();
    }
    ip.to_string()
}

/// The state of a datagram socket (udp, raw, ping) as `ss` prints it:
/// `UNCONN` (07) or `ESTAB` (01, after `connect()`).
pub fn datagram_state(entry: &SocketEntry) -> Cow<'static, str> {
    crate::parse::sockets::TcpState::from_code(entry.state).name()
}

/// `3 UDP sockets: 2 UNCONN, 1 ESTAB` for datagram rows, listing states in
/// the order of first appearance.
pub fn datagram_summary(kind: &str, rows: &[&Socket]) -> String {
    if rows.is_empty() {
        return format!("0 {kind} sockets");
    }
    let mut states: Vec<(Cow<'static, str>, usize)> = Vec::new();
    for socket in rows {
        let state = datagram_state(&socket.entry);
        match states.iter_mut().find(|(s, _)| *s == state) {
            Some((_, n)) => *n += 1,
            None => states.push((state, 1)),
        }
    }
    let parts: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
    format!(
        "{} {kind} {}: {}",
        rows.len(),
        plural(rows.len(), "socket", "sockets"),
        parts.join(", ")
    )
}

/// The `drops` column, `-` (null) where the kernel does not print it.
pub fn drops(entry: &SocketEntry) -> Cell {
    entry
        .drops
        .map_or_else(|| Cell::null("-"), |d| Cell::uint(d.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sifts `text` as blocks cut after each of `cuts` (byte offsets just
    /// past a newline), the way a tick sifts a table while reading it.
    fn sift_in_blocks(text: &str, cuts: &[usize], fd: &FdSockets) -> (String, FxHashSet<u64>) {
        let mut kept = String::new();
        let mut dropped = FxHashSet::default();
        let mut start = 0;
        for &end in cuts.iter().chain([&text.len()]) {
            let block = &text[start..end];
            sift_block(
                "tcp",
                block,
                start == 0,
                &fd.inodes,
                &mut kept,
                &mut dropped,
            );
            start = end;
        }
        (kept, dropped)
    }

    fn digest(entry: &SocketEntry) -> u64 {
        let mut hasher = std::hash::DefaultHasher::new();
        hash_shown(entry, &mut hasher);
        std::hash::Hasher::finish(&hasher)
    }

    /// A row's digest leaves out only what no socket tab shows: entries
    /// that differ there alone make the same cells in every tab, and a
    /// change of anything shown changes the digest.
    #[test]
    fn a_row_digest_covers_everything_the_socket_tabs_show() {
        let text = include_str!("../../testdata/files/tcp-6.18-kinds");
        let ctx = crate::tabs::testing::context(crate::tabs::CounterDisplay::default());
        let specs = [
            &crate::tabs::tcp::SPEC,
            &crate::tabs::udp::SPEC,
            &crate::tabs::raw::SPEC,
            &crate::tabs::icmp::SPEC,
        ];
        let entries: Vec<SocketEntry> = text
            .lines()
            .skip(1)
            .filter_map(|line| {
                parse_socket_line(line.trim_end(), crate::parse::Endian::Little).ok()
            })
            .collect();
        assert!(entries.len() > 3);
        for entry in entries {
            let mut unshown = entry.clone();
            unshown.slot += 7;
            unshown.refcount = Some(unshown.refcount.unwrap_or(0) + 1);
            if let Some(tcp) = &mut unshown.tcp {
                tcp.rto += 1;
                tcp.cwnd += 1;
                tcp.ssthresh -= 1;
            }
            assert_eq!(digest(&entry), digest(&unshown));
            for spec in specs {
                let cells = |entry: &SocketEntry| {
                    let socket = Socket {
                        table: "tcp",
                        entry: entry.clone(),
                    };
                    (spec.cells)(&ctx, &socket)
                };
                assert_eq!(cells(&entry), cells(&unshown), "{}", spec.kind);
            }
            let changes: [fn(&mut SocketEntry); 10] = [
                |e| e.state ^= 1,
                |e| e.tx_queue += 1,
                |e| e.rx_queue += 1,
                |e| e.timer = (e.timer + 1) % 5,
                |e| e.timer_ticks += 1,
                |e| e.retransmits += 1,
                |e| e.uid += 1,
                |e| e.inode += 1,
                |e| e.local.set_port(e.local.port() ^ 1),
                |e| e.remote.set_port(e.remote.port() ^ 1),
            ];
            for change in changes {
                let mut changed = entry.clone();
                change(&mut changed);
                assert_ne!(digest(&entry), digest(&changed), "{changed:?}");
            }
        }
    }

    #[test]
    fn own_rows_keep_the_process_rows_and_inode_less_ones_in_any_blocks() {
        let text = include_str!("../../testdata/files/tcp-6.18-kinds");
        // 8493 and 848717 are the process's; 8495 is another process's;
        // inode 0 (a connection being closed) belongs to nobody.
        let fd = FdSockets::of([8493, 848717]);
        let (whole, dropped) = sift_in_blocks(text, &[], &fd);
        assert_eq!(
            whole.lines().count(),
            text.lines().count(),
            "line numbers kept"
        );
        assert!(whole.starts_with("  sl  local_address"), "{whole}");
        assert!(
            whole.contains(" 8493 ") && whole.contains(" 848717 "),
            "{whole}"
        );
        assert!(!whole.contains(" 8495 "), "{whole}");
        assert!(whole.contains(" 0 1 00000000bd70126e"), "{whole}");
        assert!(dropped.contains(&SocketKey::of_inode("tcp", 8495).fingerprint()));
        // Cut after every line in turn: the same result.
        let ends: Vec<usize> = text.match_indices('\n').map(|(at, _)| at + 1).collect();
        for &cut in &ends {
            assert_eq!(
                sift_in_blocks(text, &[cut], &fd),
                (whole.clone(), dropped.clone())
            );
        }
        assert_eq!(sift_in_blocks(text, &ends, &fd), (whole, dropped));
    }

    mod sifting_properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any text — rows, garbage, invalid inodes, `\r\n` — sifts the
            /// same however it is cut into blocks of whole lines, and keeps
            /// one line per line.
            #[test]
            fn sifting_does_not_depend_on_where_blocks_end(
                lines in prop::collection::vec(
                    prop_oneof![
                        "[ -~]{0,40}",
                        (0u64..6).prop_map(|inode| format!(
                            "   0: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 {inode} 1 0000000000000000 100 0 0 10 0"
                        )),
                        Just("   1: 0100007F:0050 0100007F:9000 01 00000000:00000000 00:00000000 00000000     0        0 3 1\r".to_string()),
                    ],
                    0..40,
                ),
                cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
            ) {
                let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                let ends: Vec<usize> = text.match_indices('\n').map(|(at, _)| at + 1).collect();
                let mut chosen: Vec<usize> = if ends.is_empty() {
                    Vec::new()
                } else {
                    cuts.iter().map(|i| ends[i.index(ends.len())]).collect()
                };
                chosen.sort_unstable();
                chosen.dedup();
                let fd = FdSockets::of([1, 3]);
                let whole = sift_in_blocks(&text, &[], &fd);
                prop_assert_eq!(whole.0.lines().count(), text.lines().count());
                prop_assert_eq!(sift_in_blocks(&text, &chosen, &fd), whole);
            }
        }
    }

    #[test]
    fn endpoints_print_like_ss() {
        assert_eq!(
            endpoint(&"127.0.0.1:5501".parse().unwrap(), false),
            "127.0.0.1:5501"
        );
        assert_eq!(
            endpoint(&"[::1]:5502".parse().unwrap(), false),
            "[::1]:5502"
        );
        assert_eq!(
            endpoint(&"[::ffff:10.0.0.1]:80".parse().unwrap(), true),
            "[::ffff:10.0.0.1]:80"
        );
        assert_eq!(endpoint(&"0.0.0.0:0".parse().unwrap(), true), "*");
        assert_eq!(endpoint(&"[::]:0".parse().unwrap(), true), "*");
        assert_eq!(endpoint(&"0.0.0.0:0".parse().unwrap(), false), "0.0.0.0:0");
        assert_eq!(host(&"::".parse().unwrap(), true), "*");
        assert_eq!(host(&"::".parse().unwrap(), false), "::");
        assert_eq!(host(&"::1".parse().unwrap(), true), "::1");
    }

    #[test]
    fn descendants_follow_parents_and_survive_loops() {
        use crate::snapshot::ScannedProcess;
        let p = |pid, parent| ScannedProcess {
            pid,
            parent,
            name: format!("p{pid}"),
            same_netns: true,
            sockets: None,
            unreadable: None,
        };
        let scan = ProcessScan {
            processes: vec![
                p(1, 0),
                p(10, 1),
                p(11, 10),
                p(12, 11),
                p(20, 1),
                p(30, 31),
                p(31, 30),
            ],
        };
        let pids = |root| {
            descendants_of(&scan, root)
                .iter()
                .map(|p| p.pid)
                .collect::<Vec<_>>()
        };
        assert_eq!(pids(10), vec![11, 12]);
        assert_eq!(pids(1), vec![10, 11, 12, 20]);
        assert_eq!(pids(12), Vec::<u32>::new());
        assert_eq!(pids(30), vec![31]);
    }

    #[test]
    fn table_kinds() {
        assert_eq!(kind_of_table("udplite6"), "udp");
        assert_eq!(kind_of_table("icmp6"), "icmp");
        assert_eq!(kind_of_table("netlink"), "netlink");
        assert_eq!(kind_of_table("sctp"), "unlisted");
    }
}
