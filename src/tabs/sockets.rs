//! What every socket tab shares: parsing its tables out of a snapshot,
//! removing the duplicates a multi-read dump can produce, keeping the
//! process's own sockets, ordering rows, formatting addresses, and the
//! status line that says whose sockets are shown.

use std::collections::HashSet;
use std::net::SocketAddr;

use crate::parse::sockets::{SocketEntry, parse_socket_table};
use crate::parse::{Endian, LineError};
use crate::source::Snapshot;

/// One socket and the table it came from (`tcp`, `udp6` …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub table: &'static str,
    pub entry: SocketEntry,
}

/// Whose sockets a socket tab shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Only the process's own (inode among its `fd/` links).
    Own,
    /// `fd/` could not be read: every socket of the namespace, and why.
    NamespaceFallback(String),
}

/// The rows of a socket tab for one tick.
#[derive(Debug, Clone)]
pub struct SocketSet {
    pub sockets: Vec<Socket>,
    pub ownership: Ownership,
    /// Sockets listed in these tables for the whole namespace.
    pub namespace_total: usize,
    /// Lines that did not parse and files that could not be read, each one
    /// line of text for under the table.
    pub problems: Vec<String>,
}

/// How many parse problems are spelled out before the rest are counted.
const PROBLEMS_SHOWN: usize = 3;

/// Parses `tables` from `snapshot`, de-duplicates, keeps the process's own
/// sockets (or all, when its `fd/` is unreadable) and orders them with
/// `rank` first (lower first), then by local and peer address.
pub fn collect(
    snapshot: &Snapshot,
    tables: &[&'static str],
    endian: Endian,
    rank: impl Fn(&SocketEntry) -> u8,
) -> SocketSet {
    let mut problems = Vec::new();
    let mut bad_lines: Vec<(&str, LineError)> = Vec::new();
    let mut seen = HashSet::new();
    let mut all = Vec::new();
    for &table in tables {
        match snapshot.file(table) {
            None => {}
            Some(Err(e)) if e.is_not_found() => {}
            Some(Err(e)) => problems.push(e.to_string()),
            Some(Ok(text)) => {
                let parsed = parse_socket_table(text, endian);
                bad_lines.extend(parsed.bad_lines.into_iter().map(|e| (table, e)));
                for entry in parsed.rows {
                    if seen.insert(dedup_key(&entry)) {
                        all.push(Socket { table, entry });
                    }
                }
            }
        }
    }
    if !bad_lines.is_empty() {
        problems.push(format!(
            "{} {} could not be parsed and {} left out:",
            bad_lines.len(),
            if bad_lines.len() == 1 {
                "line"
            } else {
                "lines"
            },
            if bad_lines.len() == 1 { "is" } else { "are" },
        ));
        for (table, error) in bad_lines.iter().take(PROBLEMS_SHOWN) {
            problems.push(format!("  {table} {error}"));
        }
        if bad_lines.len() > PROBLEMS_SHOWN {
            problems.push(format!("  … and {} more", bad_lines.len() - PROBLEMS_SHOWN));
        }
    }
    let namespace_total = all.len();
    let (own, ownership) = ownership(snapshot);
    let mut sockets: Vec<Socket> = match own {
        Some(inodes) => all
            .into_iter()
            .filter(|s| is_own(inodes, s.entry.inode))
            .collect(),
        None => all,
    };
    sockets.sort_by(|a, b| {
        (
            rank(&a.entry),
            a.entry.local.ip(),
            a.entry.local.port(),
            a.entry.remote,
        )
            .cmp(&(
                rank(&b.entry),
                b.entry.local.ip(),
                b.entry.local.port(),
                b.entry.remote,
            ))
    });
    SocketSet {
        sockets,
        ownership,
        namespace_total,
        problems,
    }
}

/// Whose sockets a snapshot lets a tab show: the process's socket inodes
/// when its `fd/` was read, or none (show the whole namespace) and why.
pub fn ownership(snapshot: &Snapshot) -> (Option<&HashSet<u64>>, Ownership) {
    match &snapshot.fd {
        Some(Ok(fd)) => (Some(&fd.inodes), Ownership::Own),
        Some(Err(e)) => (
            None,
            Ownership::NamespaceFallback(format!(
                "{e}: showing every socket in its network namespace"
            )),
        ),
        None => (
            None,
            Ownership::NamespaceFallback("showing every socket in the network namespace".into()),
        ),
    }
}

/// Whether a socket with `inode` is among the process's own. Inode 0
/// (TIME_WAIT, request and orphaned sockets) belongs to no process.
pub fn is_own(inodes: &HashSet<u64>, inode: u64) -> bool {
    inode != 0 && inodes.contains(&inode)
}

/// Rows repeated by a dump that was refilled while the table changed share
/// an inode; inode-less rows (TIME_WAIT, requests) share their addresses.
fn dedup_key(entry: &SocketEntry) -> (u64, SocketAddr, SocketAddr, u8) {
    if entry.inode != 0 {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        (entry.inode, unspecified, unspecified, 0)
    } else {
        (0, entry.local, entry.remote, entry.state)
    }
}

impl SocketSet {
    /// The status line saying whose sockets are shown. `kind` names them
    /// (`TCP`, `UDP` …).
    pub fn scope_line(&self, kind: &str, netns: &str) -> String {
        match &self.ownership {
            Ownership::Own => format!(
                "own sockets: {} of {} {kind} sockets in {netns}",
                self.sockets.len(),
                self.namespace_total
            ),
            Ownership::NamespaceFallback(why) => format!("{why} ({netns})"),
        }
    }
}

/// An endpoint as users write it: `127.0.0.1:5501`, `[::1]:5502`. A peer
/// that is not connected (unspecified address, port 0) is `*`.
pub fn endpoint(addr: &SocketAddr, is_peer: bool) -> String {
    if is_peer && addr.ip().is_unspecified() && addr.port() == 0 {
        return "*".into();
    }
    addr.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
