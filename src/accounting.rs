//! The process's TCP byte totals over a session, connections shorter than
//! a refresh included: the [`Ledger`] fed by the session-long close-event
//! subscription ([`crate::closes`], reached through the kernel seam) and
//! refreshed with each tick's reading of the process's connections and
//! listeners. Drivers hold one [`Accounting`] per session; views read what
//! its refresh returned ([`TcpTotals`]). Rules and races: docs/flows.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::closes::{CloseReader, Delivery};
use crate::diag::SockDiag;
use crate::ledger::{Ledger, Listener, Refresh};
use crate::plan::Origin;
use crate::snapshot::Snapshot;
use crate::tabs::sockets::is_own;

/// How often the owners of the process's listeners are looked up again
/// (a scan of every process's `fd/`).
const OWNER_SCAN_EVERY: Duration = Duration::from_secs(10);

/// What the views show of the totals.
#[derive(Debug, Clone)]
pub enum TcpTotals {
    /// Every connection of the process counted, closed ones included.
    Counted(Box<Refresh>),
    /// Closes cannot be followed (why); rates count the connections alive
    /// at both refreshes, as before.
    Unavailable(String),
}

/// One session's accounting.
pub(crate) struct Accounting {
    ledger: Arc<Mutex<Ledger>>,
    /// Keeps the subscription's thread alive; dropped with the session.
    _reader: Option<CloseReader>,
    unavailable: Option<String>,
    /// Socket inode → the other processes holding it, for the process's
    /// listeners, from the last owner scan.
    listener_owners: HashMap<u64, Vec<u32>>,
    /// When owners were last scanned, and whether the process listens.
    scanned_at: Option<Instant>,
    listens: bool,
}

impl Accounting {
    /// Subscribes to the closes of the namespace of the process whose view
    /// directory is `view_dir`; a captured tree has none to follow.
    pub(crate) fn start(kernel: &dyn SockDiag, view_dir: &std::path::Path, origin: Origin) -> Self {
        let ledger = Arc::new(Mutex::new(Ledger::new()));
        let (reader, unavailable) = match origin {
            Origin::Captured => (None, Some("a captured tree has no close events".into())),
            Origin::Live | Origin::LiveRecorded => {
                let fed = Arc::clone(&ledger);
                let on = Box::new(move |delivery: Delivery<'_>| {
                    let mut ledger = fed.lock().unwrap_or_else(PoisonError::into_inner);
                    match delivery {
                        Delivery::Closed(events) => {
                            for event in events {
                                ledger.record_close(event);
                            }
                        }
                        Delivery::Overflowed { lost } => {
                            ledger.record_overflow(lost, Instant::now())
                        }
                        Delivery::Failed(_) => ledger.unsubscribed(Instant::now()),
                    }
                });
                match kernel.subscribe_closes(view_dir, on) {
                    Ok(reader) => (Some(reader), None),
                    Err(why) => (None, Some(why.to_string())),
                }
            }
        };
        Accounting {
            ledger,
            _reader: reader,
            unavailable,
            listener_owners: HashMap::new(),
            scanned_at: None,
            listens: false,
        }
    }

    /// Whether the next tick should scan every process's `fd/`, to tell
    /// who else holds the process's listeners.
    pub(crate) fn wants_owner_scan(&self, now: Instant) -> bool {
        self.unavailable.is_none()
            && self.listens
            && self
                .scanned_at
                .is_none_or(|at| now.saturating_duration_since(at) >= OWNER_SCAN_EVERY)
    }

    /// Takes this tick's reading into the ledger; `None` when the tick
    /// read no connections (nothing to count yet, or a captured tree).
    pub(crate) fn refresh(&mut self, snapshot: &Snapshot, pid: u32) -> Option<TcpTotals> {
        let Some(Ok(dump)) = &snapshot.flows else {
            return None;
        };
        if let Some(why) = &self.unavailable {
            return Some(TcpTotals::Unavailable(why.clone()));
        }
        // Without the process's socket inodes nothing is known to be its.
        let Some(Ok(fd)) = &snapshot.fd else {
            return None;
        };
        let own: Vec<_> = dump
            .flows
            .iter()
            .filter(|f| is_own(&fd.inodes, f.inode))
            .cloned()
            .collect();
        let listening: Vec<(u64, SocketAddr)> = match &snapshot.listeners {
            Some(Ok(all)) => all.iter().map(|l| (u64::from(l.inode), l.local)).collect(),
            _ => Vec::new(),
        };
        if let Some(Ok(scan)) = &snapshot.processes {
            self.scanned_at = Some(snapshot.instant);
            self.listener_owners.clear();
            for process in scan.processes.iter().filter(|p| p.pid != pid) {
                for &(inode, _) in &listening {
                    if process.sockets.as_ref().is_some_and(|s| s.contains(&inode)) {
                        self.listener_owners
                            .entry(inode)
                            .or_default()
                            .push(process.pid);
                    }
                }
            }
        }
        let listeners: Vec<Listener> = listening
            .iter()
            .filter(|(inode, _)| is_own(&fd.inodes, *inode))
            .map(|&(inode, local)| {
                // Other holders of this very socket (a forked worker), and
                // of other sockets on the same address (SO_REUSEPORT).
                let mut shared_with: Vec<u32> = self
                    .listener_owners
                    .get(&inode)
                    .cloned()
                    .unwrap_or_default();
                for (other, _) in listening
                    .iter()
                    .filter(|(other, at)| *at == local && !is_own(&fd.inodes, *other))
                {
                    shared_with.extend(self.listener_owners.get(other).into_iter().flatten());
                }
                shared_with.sort_unstable();
                shared_with.dedup();
                Listener { local, shared_with }
            })
            .collect();
        self.listens = !listeners.is_empty();
        let refresh = self
            .ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .refresh(&own, &listeners, snapshot.instant);
        Some(TcpTotals::Counted(Box::new(refresh)))
    }
}
