//! Every byte the process moved over TCP in a session, short connections
//! included: the live connections of each refresh's dump plus the final
//! counters of every connection of the process that closed, from the
//! kernel's destroy events ([`crate::closes`]).
//!
//! Pure: no I/O, no threads, time passed in. The reader thread calls
//! [`Ledger::record_close`] (under a lock) as events come; each refresh
//! calls [`Ledger::refresh`] with the process's connections of its dump and
//! the listeners it holds, and gets the totals, which only grow. Who a
//! closed socket belongs to, the races between dumps and events, and what
//! is remembered for how long are described in `docs/flows.md`
//! ("Connections that closed").
//!
//! Memory follows the connections alive now: a connection is remembered
//! while alive, for [`SETTLE_AFTER`] once it left the dump, and its cookie
//! for two refreshes after its event (at most [`RECENT_CAP`] per refresh)
//! or [`SETTLED_MEMORY`] after it was settled without one (at most
//! [`SETTLED_CAP`]); everything else is sums.
//!
//! Public for the live tests and the benchmark (`examples/closes_bench.rs`).

use std::net::{IpAddr, SocketAddr};
use std::ops::{Add, AddAssign};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::closes::ClosedSocket;
use crate::snapshot::TcpFlow;
use crate::tabs::flows::{received_bytes, sent_bytes};

/// The kernel's socket cookie.
pub type Cookie = [u8; 8];

/// How long a connection that left the dump waits for its close event
/// before its last-seen counters are taken as final (an orphaned socket
/// retransmitting its FIN to a silent peer can outlive this; one handed
/// to another process can live on indefinitely).
pub const SETTLE_AFTER: Duration = Duration::from_secs(30);

/// How long a settled connection's cookie is kept, so that its late event
/// corrects the counters instead of being counted again.
pub const SETTLED_MEMORY: Duration = Duration::from_secs(600);
pub const SETTLED_CAP: usize = 8192;

/// The most close events remembered per refresh interval (for the races
/// with a dump taken before them).
pub const RECENT_CAP: usize = 1 << 16;

/// How many of the biggest closed connections each refresh names.
pub const BIGGEST: usize = 5;

/// Payload bytes, as the flows tab counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bytes {
    pub sent: u64,
    pub received: u64,
}

impl Bytes {
    pub fn total(self) -> u64 {
        self.sent.saturating_add(self.received)
    }

    fn max(self, other: Bytes) -> Bytes {
        Bytes {
            sent: self.sent.max(other.sent),
            received: self.received.max(other.received),
        }
    }

    fn saturating_sub(self, other: Bytes) -> Bytes {
        Bytes {
            sent: self.sent.saturating_sub(other.sent),
            received: self.received.saturating_sub(other.received),
        }
    }

    fn of_flow(flow: &TcpFlow) -> Bytes {
        Bytes {
            sent: sent_bytes(flow),
            received: received_bytes(flow),
        }
    }

    fn of_event(event: &ClosedSocket) -> Bytes {
        Bytes {
            sent: event.sent_payload(),
            received: event.received_payload(),
        }
    }
}

impl Add for Bytes {
    type Output = Bytes;
    fn add(self, other: Bytes) -> Bytes {
        Bytes {
            sent: self.sent.saturating_add(other.sent),
            received: self.received.saturating_add(other.received),
        }
    }
}

impl AddAssign for Bytes {
    fn add_assign(&mut self, other: Bytes) {
        *self = *self + other;
    }
}

/// A listening socket the process holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// Its local address; `0.0.0.0` or `::` accepts on every address of
    /// the port (`::` also IPv4 peers, as IPv4-mapped addresses).
    pub local: SocketAddr,
    /// Other processes that hold this socket too (pre-forked workers), or
    /// a listener of their own on the same address (`SO_REUSEPORT`): a
    /// connection accepted here may be theirs.
    pub shared_with: Vec<u32>,
}

/// How a closed connection was found to be the process's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Attribution {
    /// Seen alive in a dump as one of its connections.
    Seen,
    /// Never seen; accepted on one of its listeners (shared with these
    /// processes, when any).
    Accepted { shared_with: Vec<u32> },
    /// Left the dump and no event came within [`SETTLE_AFTER`]: its
    /// last-seen counters.
    Settled,
}

/// One connection of the process that closed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Closed {
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub bytes: Bytes,
    pub how: Attribution,
}

/// The process's connections that closed since the last refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SinceLast {
    pub closes: u64,
    pub bytes: Bytes,
    /// The [`BIGGEST`] largest by bytes sent and received, largest first.
    pub biggest: Vec<Closed>,
}

impl SinceLast {
    fn add(&mut self, closed: Closed) {
        self.closes += 1;
        self.bytes += closed.bytes;
        let size = closed.bytes.total();
        if self.biggest.len() == BIGGEST
            && self
                .biggest
                .last()
                .is_some_and(|least| least.bytes.total() >= size)
        {
            return;
        }
        let at = self
            .biggest
            .iter()
            .position(|c| c.bytes.total() < size)
            .unwrap_or(self.biggest.len());
        self.biggest.insert(at, closed);
        self.biggest.truncate(BIGGEST);
    }
}

/// Counts over the session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    /// Connections of the process that closed (seen, accepted or settled).
    pub attributed_closes: u64,
    /// Of those, accepted on a listener and never seen alive.
    pub accepted_closes: u64,
    /// Of those, on a listener other processes hold too.
    pub shared_closes: u64,
    /// Closed connections of the namespace nobody could say were the
    /// process's, and their payload bytes (sent plus received).
    pub unattributed_closes: u64,
    pub unattributed_bytes: u64,
    /// Events of sockets without a peer (listeners, connections aborted
    /// with `SO_LINGER` 0 and never seen).
    pub not_connections: u64,
    /// Times the subscription's buffer overflowed, the events known lost,
    /// and overflows whose losses could not be counted.
    pub overflows: u64,
    pub lost_events: u64,
    pub uncounted_overflows: u64,
    /// Connections settled with their last-seen counters, and events that
    /// came for one afterwards (their counters then replaced those).
    pub settled_without_event: u64,
    pub late_events: u64,
    /// Events for a cookie already closed (ignored).
    pub duplicate_events: u64,
    /// Events not remembered because [`RECENT_CAP`] was reached: a dump
    /// taken before one of them could count that connection again.
    pub forgotten_events: u64,
}

/// Why the totals may be short of what the process moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LowerBound {
    /// No subscription: connections shorter than a refresh are missed.
    NoSubscription,
    /// The subscription's buffer overflowed: events were lost.
    LostEvents,
    /// A connection was settled with its last-seen counters.
    Settled,
}

/// Bytes per second between two refreshes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rates {
    pub sent: f64,
    pub received: f64,
}

/// A listener other processes share, and what closed on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SharedListener {
    pub local: SocketAddr,
    pub shared_with: Vec<u32>,
    pub closes: u64,
    pub bytes: Bytes,
}

/// What a refresh learns.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Refresh {
    /// Payload bytes over the session: live connections' lifetime
    /// counters plus those of every connection of the process that closed.
    /// Never smaller than the last refresh's.
    pub totals: Bytes,
    /// Of the totals, what the connections alive now (and those waiting
    /// for their event) account for.
    pub live: Bytes,
    /// The difference of the totals since the last refresh, per second
    /// (none at the first, or when no time passed).
    pub rates: Option<Rates>,
    pub since_last: SinceLast,
    pub counters: Counters,
    /// Since when, and first why, the totals are only a lower bound.
    #[serde(skip)]
    pub lower_bound_since: Option<(Instant, LowerBound)>,
    /// The process's listeners that others share, with what closed on
    /// them over the session.
    pub shared: Vec<SharedListener>,
    /// Connections alive, and gone from the dump but waiting for their
    /// event.
    pub connections: usize,
    pub awaiting_event: usize,
}

/// A connection of the process as last seen.
#[derive(Debug, Clone, Copy)]
struct Seen {
    local: SocketAddr,
    peer: SocketAddr,
    bytes: Bytes,
}

#[derive(Debug, Clone, Copy)]
struct Vanished {
    seen: Seen,
    since: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Settled {
    bytes: Bytes,
    at: Instant,
}

/// A close event of the last two refresh intervals.
#[derive(Debug, Clone, Copy)]
struct Recent {
    attributed: bool,
    bytes: Bytes,
    local: SocketAddr,
    peer: SocketAddr,
}

/// A connection accepted on one of the process's listeners that closed
/// before anyone looked for the listener's other holders: counted once
/// they are known (see [`Ledger::await_owner_scan`]).
#[derive(Debug, Clone, Copy)]
struct Unlabelled {
    local: SocketAddr,
    peer: SocketAddr,
    bytes: Bytes,
}

/// The per-process accounting of one session.
#[derive(Debug)]
pub struct Ledger {
    live: FxHashMap<Cookie, Seen>,
    vanished: FxHashMap<Cookie, Vanished>,
    settled: FxHashMap<Cookie, Settled>,
    /// Events since the last refresh, and in the interval before.
    recent: FxHashMap<Cookie, Recent>,
    recent_before: FxHashMap<Cookie, Recent>,
    listeners: Vec<Listener>,
    shared: Vec<SharedListener>,
    /// Final (or settled) counters of the process's closed connections.
    closed: Bytes,
    since: SinceLast,
    counters: Counters,
    lower_bound_since: Option<(Instant, LowerBound)>,
    subscribed: bool,
    previous: Option<(Instant, Bytes)>,
    /// Whether the listeners' other holders were looked for yet; until
    /// then connections accepted on them wait (those of this refresh
    /// interval, and of the one before), at most [`RECENT_CAP`].
    owners_scanned: bool,
    unlabelled: Vec<Unlabelled>,
    unlabelled_before: Vec<Unlabelled>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new()
    }
}

impl Ledger {
    /// A ledger whose close events come from a subscription.
    pub fn new() -> Ledger {
        Ledger {
            live: FxHashMap::default(),
            vanished: FxHashMap::default(),
            settled: FxHashMap::default(),
            recent: FxHashMap::default(),
            recent_before: FxHashMap::default(),
            listeners: Vec::new(),
            shared: Vec::new(),
            closed: Bytes::default(),
            since: SinceLast::default(),
            counters: Counters::default(),
            lower_bound_since: None,
            subscribed: true,
            previous: None,
            owners_scanned: true,
            unlabelled: Vec::new(),
            unlabelled_before: Vec::new(),
        }
    }

    /// The listeners' other holders are not known yet: a connection
    /// accepted on a listener that closes waits, uncounted, for the next
    /// refresh after [`Ledger::owners_scanned`] (at most the refresh after
    /// next), so that it is told whether others may have served it. A
    /// ledger starts with the listeners' holders as its refreshes give
    /// them.
    pub fn await_owner_scan(&mut self) {
        self.owners_scanned = false;
    }

    /// The listeners' other holders are known from now on (the listeners
    /// of the next refresh say who they are).
    pub fn owners_scanned(&mut self) {
        self.owners_scanned = true;
    }

    /// How many closed connections wait for the listeners' holders.
    pub fn awaiting_owners(&self) -> usize {
        self.unlabelled.len() + self.unlabelled_before.len()
    }

    /// How many closed connections were counted as accepted on the
    /// process's listeners so far.
    pub fn accepted_closes(&self) -> u64 {
        self.counters.accepted_closes
    }

    /// There is no subscription (any more) from `now`: connections that
    /// leave the dump are settled at once, and the totals are a lower bound.
    pub fn unsubscribed(&mut self, now: Instant) {
        self.subscribed = false;
        self.lower_bound(now, LowerBound::NoSubscription);
    }

    /// The subscription overflowed; `lost` events are gone (`None`: how
    /// many is unknown).
    pub fn record_overflow(&mut self, lost: Option<u64>, now: Instant) {
        self.counters.overflows += 1;
        match lost {
            Some(lost) => self.counters.lost_events += lost,
            None => self.counters.uncounted_overflows += 1,
        }
        self.lower_bound(now, LowerBound::LostEvents);
    }

    fn lower_bound(&mut self, now: Instant, why: LowerBound) {
        self.lower_bound_since.get_or_insert((now, why));
    }

    /// Accounts for one destroyed TCP socket of the namespace.
    pub fn record_close(&mut self, event: &ClosedSocket) {
        let cookie = event.cookie;
        if self.recent.contains_key(&cookie) || self.recent_before.contains_key(&cookie) {
            self.counters.duplicate_events += 1;
            return;
        }
        let last = Bytes::of_event(event);
        let seen = match self.live.remove(&cookie) {
            Some(seen) => Some(seen),
            None => self.vanished.remove(&cookie).map(|v| v.seen),
        };
        if let Some(seen) = seen {
            // Counters only grow; an abort (`SO_LINGER` 0) zeroes them.
            let bytes = last.max(seen.bytes);
            self.closed += bytes;
            self.counters.attributed_closes += 1;
            self.since.add(Closed {
                local: seen.local,
                peer: seen.peer,
                bytes,
                how: Attribution::Seen,
            });
            self.remember(cookie, true, bytes, event);
            return;
        }
        if let Some(settled) = self.settled.remove(&cookie) {
            let bytes = last.max(settled.bytes);
            self.closed += bytes.saturating_sub(settled.bytes);
            self.counters.late_events += 1;
            self.remember(cookie, true, bytes, event);
            return;
        }
        if !event.is_connection() {
            self.counters.not_connections += 1;
            return;
        }
        let listener = listener_for(&self.listeners, event.local).cloned();
        let attributed = listener.is_some();
        match listener {
            Some(listener) => self.accept_when_labelled(&listener, event.local, event.peer, last),
            None => {
                self.counters.unattributed_closes += 1;
                self.counters.unattributed_bytes += last.total();
            }
        }
        self.remember(cookie, attributed, last, event);
    }

    /// Counts a connection accepted on `listener` that closed.
    fn accepted(&mut self, listener: &Listener, local: SocketAddr, peer: SocketAddr, bytes: Bytes) {
        self.closed += bytes;
        self.counters.attributed_closes += 1;
        self.counters.accepted_closes += 1;
        if !listener.shared_with.is_empty() {
            self.counters.shared_closes += 1;
            self.tally_shared(listener, bytes);
        }
        self.since.add(Closed {
            local,
            peer,
            bytes,
            how: Attribution::Accepted {
                shared_with: listener.shared_with.clone(),
            },
        });
    }

    /// Takes an unclaimed close as the process's after all.
    fn unclaimed_was_ours(&mut self, event: Bytes) {
        self.counters.unattributed_closes = self.counters.unattributed_closes.saturating_sub(1);
        self.counters.unattributed_bytes = self
            .counters
            .unattributed_bytes
            .saturating_sub(event.total());
    }

    fn remember(&mut self, cookie: Cookie, attributed: bool, bytes: Bytes, event: &ClosedSocket) {
        if self.recent.len() >= RECENT_CAP {
            self.counters.forgotten_events += 1;
            return;
        }
        self.recent.insert(
            cookie,
            Recent {
                attributed,
                bytes,
                local: event.local,
                peer: event.peer,
            },
        );
    }

    fn tally_shared(&mut self, listener: &Listener, bytes: Bytes) {
        match self.shared.iter_mut().find(|s| s.local == listener.local) {
            Some(tally) => {
                tally.closes += 1;
                tally.bytes += bytes;
                tally.shared_with.clone_from(&listener.shared_with);
            }
            None => self.shared.push(SharedListener {
                local: listener.local,
                shared_with: listener.shared_with.clone(),
                closes: 1,
                bytes,
            }),
        }
    }

    /// Takes a refresh: `own` are the process's connections in a dump that
    /// began after the refresh before the last one, `listeners` its
    /// listening sockets then, `now` the time of the dump.
    pub fn refresh<'f>(
        &mut self,
        own: impl IntoIterator<Item = &'f TcpFlow>,
        listeners: &[Listener],
        now: Instant,
    ) -> Refresh {
        let own = own.into_iter();
        let mut live = FxHashMap::with_capacity_and_hasher(own.size_hint().0, Default::default());
        for flow in own {
            if live.contains_key(&flow.cookie) {
                continue;
            }
            let bytes = Bytes::of_flow(flow);
            if self.closed_recently(flow, bytes) {
                continue;
            }
            let mut seen = Seen {
                local: flow.local,
                peer: flow.peer,
                bytes,
            };
            if let Some(before) = self.live.remove(&flow.cookie) {
                seen.bytes = seen.bytes.max(before.bytes);
            } else if let Some(gone) = self.vanished.remove(&flow.cookie) {
                seen.bytes = seen.bytes.max(gone.seen.bytes);
            } else if let Some(settled) = self.settled.remove(&flow.cookie) {
                // Settled too soon: alive after all.
                self.closed = self.closed.saturating_sub(settled.bytes);
                seen.bytes = seen.bytes.max(settled.bytes);
            }
            live.insert(flow.cookie, seen);
        }
        for (cookie, seen) in std::mem::replace(&mut self.live, live) {
            self.vanished.insert(cookie, Vanished { seen, since: now });
        }
        self.settle(now);
        self.listeners = listeners.to_vec();
        self.claim_accepted();
        self.label_waiting();
        self.shared
            .retain(|tally| listeners.iter().any(|l| l.local == tally.local));

        let live = self
            .live
            .values()
            .map(|s| s.bytes)
            .chain(self.vanished.values().map(|v| v.seen.bytes))
            .fold(Bytes::default(), Add::add);
        let totals = self.closed + live;
        let rates = self.previous.and_then(|(then, before)| {
            let seconds = now.checked_duration_since(then)?.as_secs_f64();
            (seconds > 0.0).then(|| Rates {
                sent: totals.sent.saturating_sub(before.sent) as f64 / seconds,
                received: totals.received.saturating_sub(before.received) as f64 / seconds,
            })
        });
        self.previous = Some((now, totals));
        self.recent_before = std::mem::take(&mut self.recent);
        Refresh {
            totals,
            live,
            rates,
            since_last: std::mem::take(&mut self.since),
            counters: self.counters,
            lower_bound_since: self.lower_bound_since,
            shared: self.shared.clone(),
            connections: self.live.len(),
            awaiting_event: self.vanished.len(),
        }
    }

    /// Whether `flow` (listed by a dump) is a connection whose close event
    /// came already: the final counters stand and the dump's are ignored.
    /// An event nobody claimed is the process's after all.
    fn closed_recently(&mut self, flow: &TcpFlow, listed: Bytes) -> bool {
        let recent = match self.recent.get_mut(&flow.cookie) {
            Some(recent) => recent,
            None => match self.recent_before.get_mut(&flow.cookie) {
                Some(recent) => recent,
                None => return false,
            },
        };
        if !recent.attributed {
            recent.attributed = true;
            let event = recent.bytes;
            let bytes = event.max(listed);
            self.unclaimed_was_ours(event);
            self.counters.attributed_closes += 1;
            self.closed += bytes;
            self.since.add(Closed {
                local: flow.local,
                peer: flow.peer,
                bytes,
                how: Attribution::Seen,
            });
        }
        true
    }

    /// Closes since the last refresh that nobody claimed, on a listener the
    /// process holds now (opened after the last refresh): accepted there.
    fn claim_accepted(&mut self) {
        let mut claimed = Vec::new();
        for recent in self.recent.values_mut() {
            if recent.attributed || recent.peer.port() == 0 {
                continue;
            }
            if let Some(listener) = listener_for(&self.listeners, recent.local) {
                recent.attributed = true;
                claimed.push((listener.clone(), *recent));
            }
        }
        for (listener, recent) in claimed {
            self.unclaimed_was_ours(recent.bytes);
            self.accept_when_labelled(&listener, recent.local, recent.peer, recent.bytes);
        }
    }

    /// Counts a connection accepted on `listener` that closed, or keeps it
    /// for later while the listeners' other holders are unknown.
    fn accept_when_labelled(
        &mut self,
        listener: &Listener,
        local: SocketAddr,
        peer: SocketAddr,
        bytes: Bytes,
    ) {
        if self.owners_scanned || self.awaiting_owners() >= RECENT_CAP {
            self.accepted(listener, local, peer, bytes);
        } else {
            self.unlabelled.push(Unlabelled { local, peer, bytes });
        }
    }

    /// Counts the accepted connections that waited for the listeners'
    /// holders: all once they are known, otherwise those that waited a
    /// whole refresh interval already (with what is known of them).
    fn label_waiting(&mut self) {
        let due = if self.owners_scanned {
            let mut due = std::mem::take(&mut self.unlabelled_before);
            due.append(&mut self.unlabelled);
            due
        } else {
            std::mem::replace(
                &mut self.unlabelled_before,
                std::mem::take(&mut self.unlabelled),
            )
        };
        for waiting in due {
            let listener = listener_for(&self.listeners, waiting.local)
                .cloned()
                .unwrap_or(Listener {
                    local: waiting.local,
                    shared_with: Vec::new(),
                });
            self.accepted(&listener, waiting.local, waiting.peer, waiting.bytes);
        }
    }

    /// Takes the last-seen counters of connections whose event did not
    /// come in time (at once without a subscription) as final.
    fn settle(&mut self, now: Instant) {
        self.settled
            .retain(|_, s| now.saturating_duration_since(s.at) < SETTLED_MEMORY);
        let subscribed = self.subscribed;
        let due: Vec<Cookie> = self
            .vanished
            .iter()
            .filter(|(_, v)| !subscribed || now.saturating_duration_since(v.since) >= SETTLE_AFTER)
            .map(|(cookie, _)| *cookie)
            .collect();
        for cookie in due {
            let Some(gone) = self.vanished.remove(&cookie) else {
                continue;
            };
            let bytes = gone.seen.bytes;
            self.closed += bytes;
            self.counters.attributed_closes += 1;
            self.counters.settled_without_event += 1;
            self.since.add(Closed {
                local: gone.seen.local,
                peer: gone.seen.peer,
                bytes,
                how: Attribution::Settled,
            });
            if self.settled.len() < SETTLED_CAP {
                self.settled.insert(cookie, Settled { bytes, at: now });
            }
            if subscribed {
                self.lower_bound(now, LowerBound::Settled);
            }
        }
    }
}

/// The listener among `listeners` that accepts connections to `local`:
/// one bound to that very address first, else one bound to the wildcard
/// of its family and port.
fn listener_for(listeners: &[Listener], local: SocketAddr) -> Option<&Listener> {
    let same_port = || {
        listeners
            .iter()
            .filter(move |l| l.local.port() == local.port())
    };
    same_port()
        .find(|l| l.local.ip() == local.ip())
        .or_else(|| {
            same_port().find(|l| match (l.local.ip(), local.ip()) {
                (IpAddr::V4(any), IpAddr::V4(_)) => any.is_unspecified(),
                (IpAddr::V6(any), IpAddr::V6(_)) => any.is_unspecified(),
                _ => false,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ESTABLISHED: u8 = 1;
    const CLOSE_WAIT: u8 = 8;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    /// An established connection between `local` and `peer` that sent
    /// `sent` payload bytes (and its FIN was acknowledged) and received
    /// `received`.
    fn flow(cookie: u64, local: &str, peer: &str, sent: u64, received: u64) -> TcpFlow {
        TcpFlow {
            local: addr(local),
            peer: addr(peer),
            cookie: cookie.to_ne_bytes(),
            state: ESTABLISHED,
            bytes_acked: sent + 1,
            bytes_received: received,
            ..TcpFlow::sample(cookie, sent)
        }
    }

    /// The destroy event of a connection that sent `sent` and received
    /// `received` payload bytes and the peer's FIN.
    fn closed(cookie: u64, local: &str, peer: &str, sent: u64, received: u64) -> ClosedSocket {
        ClosedSocket {
            cookie: cookie.to_ne_bytes(),
            family: if addr(local).is_ipv4() { 2 } else { 10 },
            local: addr(local),
            peer: addr(peer),
            interface: 0,
            state: 7,
            bytes_sent: sent,
            bytes_retrans: 0,
            bytes_received: received + 1,
            bytes_acked: sent + 2,
            rtt_us: 0,
            total_retrans: 0,
            shutdown: None,
        }
    }

    fn bytes(sent: u64, received: u64) -> Bytes {
        Bytes { sent, received }
    }

    fn listener(local: &str, shared_with: &[u32]) -> Listener {
        Listener {
            local: addr(local),
            shared_with: shared_with.to_vec(),
        }
    }

    const HERE: &str = "10.0.0.1:80";
    const THERE: &str = "10.0.0.2:40000";

    #[test]
    fn a_connection_seen_alive_then_closed_counts_its_final_counters_once() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        let first = ledger.refresh(&[flow(1, HERE, THERE, 100, 200)], &[], t);
        assert_eq!(first.totals, bytes(100, 200));
        assert_eq!(first.connections, 1);
        assert_eq!(first.rates, None);
        ledger.record_close(&closed(1, HERE, THERE, 150, 300));
        let second = ledger.refresh(&[], &[], t + Duration::from_secs(1));
        assert_eq!(
            second.totals,
            bytes(150, 300),
            "final counters, the FIN left out"
        );
        assert_eq!(second.live, bytes(0, 0));
        assert_eq!(
            second.rates,
            Some(Rates {
                sent: 50.0,
                received: 100.0
            })
        );
        assert_eq!(second.since_last.closes, 1);
        assert_eq!(second.since_last.bytes, bytes(150, 300));
        assert_eq!(second.since_last.biggest[0].how, Attribution::Seen);
        assert_eq!(second.since_last.biggest[0].peer, addr(THERE));
        assert_eq!(second.counters.attributed_closes, 1);
        assert_eq!(second.counters.accepted_closes, 0);
        assert_eq!(second.lower_bound_since, None);
        let third = ledger.refresh(&[], &[], t + Duration::from_secs(2));
        assert_eq!(third.totals, bytes(150, 300));
        assert_eq!(
            third.since_last,
            SinceLast::default(),
            "what closed is told once"
        );
        assert_eq!(
            third.rates,
            Some(Rates {
                sent: 0.0,
                received: 0.0
            })
        );
    }

    #[test]
    fn a_connection_gone_from_the_dump_keeps_its_counters_until_its_event() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        ledger.refresh(&[flow(1, HERE, THERE, 100, 200)], &[], t);
        let gone = ledger.refresh(&[], &[], t + Duration::from_secs(1));
        assert_eq!(gone.totals, bytes(100, 200), "the total never drops");
        assert_eq!(gone.awaiting_event, 1);
        assert_eq!(
            gone.since_last.closes, 0,
            "not closed as far as anyone knows"
        );
        ledger.record_close(&closed(1, HERE, THERE, 180, 260));
        let closed_now = ledger.refresh(&[], &[], t + Duration::from_secs(2));
        assert_eq!(closed_now.totals, bytes(180, 260));
        assert_eq!(closed_now.awaiting_event, 0);
        assert_eq!(closed_now.since_last.closes, 1);
        assert_eq!(closed_now.lower_bound_since, None);
    }

    #[test]
    fn without_an_event_a_connection_is_settled_after_a_while_as_a_lower_bound() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        ledger.refresh(&[flow(1, HERE, THERE, 100, 200)], &[], t);
        let left = t + Duration::from_secs(1);
        ledger.refresh(&[], &[], left);
        let waiting = ledger.refresh(&[], &[], left + SETTLE_AFTER - Duration::from_millis(1));
        assert_eq!(
            (waiting.awaiting_event, waiting.counters.attributed_closes),
            (1, 0)
        );
        let at = left + SETTLE_AFTER;
        let settled = ledger.refresh(&[], &[], at);
        assert_eq!(settled.totals, bytes(100, 200));
        assert_eq!(settled.awaiting_event, 0);
        assert_eq!(settled.counters.settled_without_event, 1);
        assert_eq!(settled.counters.attributed_closes, 1);
        assert_eq!(settled.since_last.biggest[0].how, Attribution::Settled);
        assert_eq!(settled.lower_bound_since, Some((at, LowerBound::Settled)));
        // Its event after all: the final counters replace the last seen,
        // nothing is counted twice.
        ledger.record_close(&closed(1, HERE, THERE, 130, 250));
        let late = ledger.refresh(&[], &[], at + Duration::from_secs(1));
        assert_eq!(late.totals, bytes(130, 250));
        assert_eq!(late.counters.late_events, 1);
        assert_eq!(late.counters.attributed_closes, 1);
        assert_eq!(late.since_last.closes, 0);
    }

    #[test]
    fn a_settled_connection_listed_again_is_alive_and_the_total_holds() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        ledger.refresh(&[flow(1, HERE, THERE, 100, 200)], &[], t);
        ledger.refresh(&[], &[], t);
        let settled = ledger.refresh(&[], &[], t + SETTLE_AFTER);
        assert_eq!(settled.totals, bytes(100, 200));
        let back = ledger.refresh(&[flow(1, HERE, THERE, 90, 400)], &[], t + SETTLE_AFTER);
        assert_eq!(back.totals, bytes(100, 400));
        assert_eq!(back.connections, 1);
    }

    #[test]
    fn without_a_subscription_a_connection_gone_from_the_dump_is_settled_at_once() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        ledger.unsubscribed(t);
        ledger.refresh(&[flow(1, HERE, THERE, 100, 200)], &[], t);
        let gone = ledger.refresh(&[], &[], t + Duration::from_secs(1));
        assert_eq!(gone.totals, bytes(100, 200));
        assert_eq!(gone.awaiting_event, 0);
        assert_eq!(gone.counters.settled_without_event, 1);
        assert_eq!(
            gone.lower_bound_since,
            Some((t, LowerBound::NoSubscription))
        );
    }

    #[test]
    fn an_event_before_a_dump_that_still_lists_the_connection_wins() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        ledger.refresh(&[flow(1, HERE, THERE, 100, 200)], &[], t);
        ledger.record_close(&closed(1, HERE, THERE, 150, 300));
        // The dump was taken before the close; its counters are older.
        let stale = ledger.refresh(
            &[flow(1, HERE, THERE, 120, 250)],
            &[],
            t + Duration::from_secs(1),
        );
        assert_eq!(stale.totals, bytes(150, 300));
        assert_eq!(stale.connections, 0);
        let after = ledger.refresh(&[], &[], t + Duration::from_secs(2));
        assert_eq!(after.totals, bytes(150, 300));
        assert_eq!(after.awaiting_event, 0);
        assert_eq!(after.counters.attributed_closes, 1);
    }

    #[test]
    fn an_accepted_connection_whose_event_came_first_is_not_added_again() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        let listeners = [listener("0.0.0.0:80", &[])];
        ledger.refresh(&[], &listeners, t);
        ledger.record_close(&closed(7, HERE, THERE, 10, 5000));
        let stale = ledger.refresh(
            &[flow(7, HERE, THERE, 10, 4000)],
            &listeners,
            t + Duration::from_secs(1),
        );
        assert_eq!(stale.totals, bytes(10, 5000));
        assert_eq!(stale.connections, 0);
        assert_eq!(stale.counters.accepted_closes, 1);
        assert_eq!(
            stale.since_last.biggest[0].how,
            Attribution::Accepted {
                shared_with: vec![]
            }
        );
        let after = ledger.refresh(&[], &listeners, t + Duration::from_secs(2));
        assert_eq!(after.totals, bytes(10, 5000));
        assert_eq!(after.awaiting_event, 0);
    }

    #[test]
    fn a_connection_nobody_claims_is_counted_for_the_namespace_only() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        ledger.refresh(&[], &[listener("0.0.0.0:80", &[])], t);
        ledger.record_close(&closed(3, "10.0.0.1:45000", "10.0.0.9:443", 300, 700));
        let refresh = ledger.refresh(&[], &[], t + Duration::from_secs(1));
        assert_eq!(refresh.totals, bytes(0, 0));
        assert_eq!(refresh.counters.unattributed_closes, 1);
        assert_eq!(refresh.counters.unattributed_bytes, 1000);
        assert_eq!(refresh.counters.attributed_closes, 0);
        assert_eq!(refresh.since_last.closes, 0);
    }

    #[test]
    fn an_unclaimed_close_a_later_dump_shows_was_the_process_becomes_its() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        ledger.refresh(&[], &[], t);
        // An outgoing connection made and closed between two refreshes,
        // listed by a dump taken before its close.
        ledger.record_close(&closed(4, "10.0.0.1:45000", "10.0.0.9:443", 300, 700));
        let refresh = ledger.refresh(
            &[flow(4, "10.0.0.1:45000", "10.0.0.9:443", 200, 600)],
            &[],
            t + Duration::from_secs(1),
        );
        assert_eq!(refresh.totals, bytes(300, 700));
        assert_eq!(refresh.counters.unattributed_closes, 0);
        assert_eq!(refresh.counters.unattributed_bytes, 0);
        assert_eq!(refresh.counters.attributed_closes, 1);
        assert_eq!(refresh.since_last.closes, 1);
        assert_eq!(refresh.connections, 0);
        let again = ledger.refresh(
            &[flow(4, "10.0.0.1:45000", "10.0.0.9:443", 200, 600)],
            &[],
            t + Duration::from_secs(2),
        );
        assert_eq!(again.totals, bytes(300, 700), "still once");
    }

    #[test]
    fn closes_on_a_listener_first_listed_at_the_next_refresh_are_claimed_then() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        ledger.refresh(&[], &[], t);
        // A listener opened after that refresh accepted and closed this.
        ledger.record_close(&closed(6, HERE, THERE, 40, 60));
        ledger.record_close(&closed(8, "10.0.0.1:45000", THERE, 1, 1));
        let refresh = ledger.refresh(
            &[],
            &[listener("0.0.0.0:80", &[12])],
            t + Duration::from_secs(1),
        );
        assert_eq!(refresh.totals, bytes(40, 60));
        assert_eq!(refresh.counters.accepted_closes, 1);
        assert_eq!(refresh.counters.shared_closes, 1);
        assert_eq!(
            (
                refresh.counters.unattributed_closes,
                refresh.counters.unattributed_bytes
            ),
            (1, 2)
        );
        assert_eq!(refresh.since_last.closes, 1);
        // Only events since the last refresh are claimed so.
        let later = ledger.refresh(
            &[],
            &[listener("0.0.0.0:45000", &[])],
            t + Duration::from_secs(2),
        );
        assert_eq!(later.totals, bytes(40, 60));
        assert_eq!(later.counters.unattributed_closes, 1);
    }

    #[test]
    fn listeners_match_their_address_or_any_address_of_their_family() {
        let listeners = [
            listener("0.0.0.0:80", &[]),
            listener("127.0.0.1:80", &[9]),
            listener("[::]:443", &[]),
            listener("[fd00::1]:8080", &[]),
        ];
        let found = |local: &str| listener_for(&listeners, addr(local)).map(|l| l.local);
        assert_eq!(
            found("127.0.0.1:80"),
            Some(addr("127.0.0.1:80")),
            "the very address first"
        );
        assert_eq!(found("10.1.2.3:80"), Some(addr("0.0.0.0:80")));
        assert_eq!(found("10.1.2.3:81"), None);
        assert_eq!(found("[fd00::5]:443"), Some(addr("[::]:443")));
        assert_eq!(
            found("[::ffff:10.1.2.3]:443"),
            Some(addr("[::]:443")),
            "a dual-stack listener accepts IPv4 peers as mapped addresses"
        );
        assert_eq!(
            found("10.1.2.3:443"),
            None,
            "IPv4 sockets are never accepted on ::"
        );
        assert_eq!(
            found("[::ffff:10.1.2.3]:80"),
            None,
            "nor IPv6 ones on 0.0.0.0"
        );
        assert_eq!(found("[fd00::1]:8080"), Some(addr("[fd00::1]:8080")));
        assert_eq!(found("[fd00::2]:8080"), None);
    }

    /// While nobody has looked for the listeners' other holders, a
    /// connection accepted on one waits: counted at the refresh after
    /// the owner scan, with whom the listener is shared; without a scan,
    /// a refresh later, as the process's alone.
    #[test]
    fn accepted_closes_wait_for_the_owner_scan() {
        let t = Instant::now();
        let second = |n: u64| t + Duration::from_secs(n);
        let mut ledger = Ledger::new();
        ledger.await_owner_scan();
        ledger.refresh(&[], &[listener("0.0.0.0:8080", &[])], t);
        ledger.record_close(&closed(1, "127.0.0.1:8080", "127.0.0.1:5000", 10, 20));
        assert_eq!(ledger.awaiting_owners(), 1);
        assert_eq!(ledger.accepted_closes(), 0);

        // The scan found a forked worker holding the listener.
        ledger.owners_scanned();
        let scanned = [listener("0.0.0.0:8080", &[301])];
        let refresh = ledger.refresh(&[], &scanned, second(1));
        assert_eq!(ledger.awaiting_owners(), 0);
        assert_eq!(refresh.totals, bytes(10, 20));
        assert_eq!(refresh.counters.shared_closes, 1);
        assert_eq!(
            refresh.since_last.biggest[0].how,
            Attribution::Accepted {
                shared_with: vec![301]
            }
        );
        // Once known, later closes are counted as they come.
        ledger.record_close(&closed(2, "127.0.0.1:8080", "127.0.0.1:5001", 1, 2));
        assert_eq!(ledger.awaiting_owners(), 0);
        assert_eq!(ledger.accepted_closes(), 2);

        // No scan came: counted a refresh later, the listener's holders
        // unknown.
        let mut unscanned = Ledger::new();
        unscanned.await_owner_scan();
        let listeners = [listener("0.0.0.0:8080", &[])];
        unscanned.refresh(&[], &listeners, t);
        unscanned.record_close(&closed(1, "127.0.0.1:8080", "127.0.0.1:5000", 10, 20));
        let waited = unscanned.refresh(&[], &listeners, second(1));
        assert_eq!(waited.totals, bytes(0, 0));
        assert_eq!(unscanned.awaiting_owners(), 1);
        let counted = unscanned.refresh(&[], &listeners, second(2));
        assert_eq!(counted.totals, bytes(10, 20));
        assert_eq!(counted.counters.accepted_closes, 1);
        assert_eq!(unscanned.awaiting_owners(), 0);
    }

    #[test]
    fn closes_on_a_shared_listener_are_the_process_and_say_with_whom() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        let listeners = [
            listener("[::]:8080", &[301, 302]),
            listener("0.0.0.0:9090", &[]),
        ];
        ledger.refresh(&[], &listeners, t);
        ledger.record_close(&closed(
            1,
            "[::ffff:127.0.0.1]:8080",
            "[::ffff:127.0.0.1]:5000",
            10,
            20,
        ));
        ledger.record_close(&closed(2, "[::1]:8080", "[::1]:5001", 1, 2));
        ledger.record_close(&closed(3, "127.0.0.1:9090", "127.0.0.1:5002", 100, 200));
        let refresh = ledger.refresh(&[], &listeners, t + Duration::from_secs(1));
        assert_eq!(refresh.totals, bytes(111, 222));
        assert_eq!(refresh.counters.accepted_closes, 3);
        assert_eq!(refresh.counters.shared_closes, 2);
        assert_eq!(
            refresh.shared,
            [SharedListener {
                local: addr("[::]:8080"),
                shared_with: vec![301, 302],
                closes: 2,
                bytes: bytes(11, 22),
            }]
        );
        let biggest = &refresh.since_last.biggest;
        assert_eq!(
            biggest[0].how,
            Attribution::Accepted {
                shared_with: vec![]
            }
        );
        assert_eq!(
            biggest[1].how,
            Attribution::Accepted {
                shared_with: vec![301, 302]
            }
        );
        // The listener closed: its tally goes, its bytes stay.
        let later = ledger.refresh(&[], &listeners[1..], t + Duration::from_secs(2));
        assert!(later.shared.is_empty());
        assert_eq!(later.totals, bytes(111, 222));
    }

    #[test]
    fn sockets_without_a_peer_carry_nothing_but_a_seen_one_keeps_its_counters() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        let listeners = [listener("0.0.0.0:80", &[])];
        ledger.refresh(&[flow(5, HERE, THERE, 100, 200)], &listeners, t);
        // The listener itself closing.
        ledger.record_close(&closed(9, "0.0.0.0:80", "0.0.0.0:0", 0, 0));
        // A connection aborted with SO_LINGER 0: peer and counters cleared.
        let mut aborted = closed(5, HERE, "0.0.0.0:0", 0, 0);
        aborted.bytes_received = 0;
        ledger.record_close(&aborted);
        let refresh = ledger.refresh(&[], &listeners, t + Duration::from_secs(1));
        assert_eq!(
            refresh.totals,
            bytes(100, 200),
            "the last seen counters stand"
        );
        assert_eq!(refresh.counters.not_connections, 1);
        assert_eq!(refresh.counters.attributed_closes, 1);
        assert_eq!(refresh.counters.accepted_closes, 0);
    }

    #[test]
    fn the_peer_fin_is_no_payload_alive_or_closed() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        let mut waiting = flow(1, HERE, THERE, 0, 1001);
        waiting.state = CLOSE_WAIT;
        assert_eq!(ledger.refresh(&[waiting], &[], t).totals, bytes(0, 1000));
        ledger.record_close(&closed(1, HERE, THERE, 0, 1000));
        assert_eq!(ledger.refresh(&[], &[], t).totals, bytes(0, 1000));
    }

    #[test]
    fn overflows_make_the_totals_a_lower_bound_and_are_counted() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        ledger.record_overflow(Some(40), t);
        ledger.record_overflow(None, t + Duration::from_secs(1));
        let refresh = ledger.refresh(&[], &[], t + Duration::from_secs(2));
        assert_eq!(refresh.counters.overflows, 2);
        assert_eq!(refresh.counters.lost_events, 40);
        assert_eq!(refresh.counters.uncounted_overflows, 1);
        assert_eq!(refresh.lower_bound_since, Some((t, LowerBound::LostEvents)));
    }

    #[test]
    fn a_repeated_event_is_counted_once() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        let listeners = [listener("0.0.0.0:80", &[])];
        ledger.refresh(&[], &listeners, t);
        ledger.record_close(&closed(1, HERE, THERE, 10, 10));
        ledger.record_close(&closed(1, HERE, THERE, 10, 10));
        let refresh = ledger.refresh(&[], &listeners, t);
        assert_eq!(refresh.totals, bytes(10, 10));
        assert_eq!(refresh.counters.duplicate_events, 1);
    }

    #[test]
    fn the_biggest_closes_are_few_and_largest_first() {
        let mut since = SinceLast::default();
        for size in [5, 50, 1, 500, 7, 70, 3, 700] {
            since.add(Closed {
                local: addr(HERE),
                peer: addr(THERE),
                bytes: bytes(size, 0),
                how: Attribution::Seen,
            });
        }
        let sizes: Vec<u64> = since.biggest.iter().map(|c| c.bytes.sent).collect();
        assert_eq!(sizes, [700, 500, 70, 50, 7]);
        assert_eq!(since.closes, 8);
        assert_eq!(since.bytes.sent, 1336);
    }

    #[test]
    fn memory_follows_the_connections_alive_not_those_ever_seen() {
        let t = Instant::now();
        let mut ledger = Ledger::new();
        let listeners = [listener("0.0.0.0:80", &[])];
        for round in 0..50u64 {
            let now = t + Duration::from_secs(round);
            let alive: Vec<TcpFlow> = (0..10)
                .map(|n| flow(round * 1000 + n, HERE, THERE, 1, 1))
                .collect();
            ledger.refresh(&alive, &listeners, now);
            for n in 0..10 {
                ledger.record_close(&closed(round * 1000 + n, HERE, THERE, 1, 1));
            }
            for n in 100..300 {
                ledger.record_close(&closed(round * 1000 + n, HERE, THERE, 1, 1));
            }
        }
        let last = ledger.refresh(&[], &listeners, t + Duration::from_secs(60));
        assert_eq!(last.totals, bytes(50 * 210, 50 * 210));
        assert!(ledger.live.is_empty() && ledger.vanished.is_empty());
        assert!(ledger.settled.is_empty());
        assert!(ledger.recent.is_empty());
        assert_eq!(ledger.recent_before.len(), 210, "one interval's events");
    }

    /// A simulated namespace: the process's connections (made or
    /// accepted), others', their closes queued as events.
    #[derive(Debug, Clone)]
    enum Step {
        Open {
            accepted: bool,
            ours: bool,
        },
        Grow {
            which: usize,
            sent: u16,
            received: u16,
        },
        Close {
            which: usize,
        },
        Deliver,
        /// Dump, close a connection of it (`closing`, its event first in
        /// line), let `late` events through, then refresh with the dump.
        Refresh {
            late: u8,
            closing: Option<usize>,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (any::<bool>(), any::<bool>())
                .prop_map(|(accepted, ours)| Step::Open { accepted, ours }),
            (any::<usize>(), any::<u16>(), any::<u16>()).prop_map(|(which, sent, received)| {
                Step::Grow {
                    which,
                    sent,
                    received,
                }
            }),
            any::<usize>().prop_map(|which| Step::Close { which }),
            Just(Step::Deliver),
            (0u8..4, proptest::option::of(any::<usize>()))
                .prop_map(|(late, closing)| Step::Refresh { late, closing }),
        ]
    }

    struct Connection {
        cookie: u64,
        local: &'static str,
        peer: String,
        ours: bool,
        accepted: bool,
        sent: u64,
        received: u64,
        alive: bool,
        listed: bool,
    }

    impl Connection {
        fn flow(&self) -> TcpFlow {
            flow(
                self.cookie,
                self.local,
                &self.peer,
                self.sent,
                self.received,
            )
        }
        fn event(&self) -> ClosedSocket {
            closed(
                self.cookie,
                self.local,
                &self.peer,
                self.sent,
                self.received,
            )
        }
        /// Whether the ledger can know it is the process's.
        fn attributable(&self) -> bool {
            self.ours && (self.accepted || self.listed)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn totals_never_drop_and_end_as_the_true_sum(steps in proptest::collection::vec(step(), 0..120)) {
            let t = Instant::now();
            let listeners = [listener("0.0.0.0:80", &[])];
            let mut ledger = Ledger::new();
            let mut connections: Vec<Connection> = Vec::new();
            let mut queued: std::collections::VecDeque<ClosedSocket> = Default::default();
            let mut before = Bytes::default();
            let mut clock = 0u64;
            let mut refresh = |ledger: &mut Ledger, connections: &mut Vec<Connection>, queued: &mut std::collections::VecDeque<ClosedSocket>, late: u8, closing: Option<usize>| {
                let dump: Vec<TcpFlow> = connections.iter_mut()
                    .filter(|c| c.alive && c.ours)
                    .map(|c| { c.listed = true; c.flow() })
                    .collect();
                if let Some(which) = closing {
                    let alive: Vec<usize> = (0..connections.len()).filter(|&i| connections[i].alive).collect();
                    if let Some(&i) = alive.get(which % alive.len().max(1)) {
                        connections[i].alive = false;
                        queued.push_front(connections[i].event());
                    }
                }
                for _ in 0..late {
                    if let Some(event) = queued.pop_front() {
                        ledger.record_close(&event);
                    }
                }
                clock += 1;
                ledger.refresh(&dump, &listeners, t + Duration::from_millis(clock))
            };
            for step in steps {
                match step {
                    Step::Open { accepted, ours } => {
                        let n = connections.len() as u64;
                        connections.push(Connection {
                            cookie: n + 1,
                            local: if accepted && ours { "10.0.0.1:80" } else { "10.0.0.1:45000" },
                            peer: format!("10.0.0.2:{}", 1000 + n),
                            ours,
                            accepted: accepted && ours,
                            sent: 0,
                            received: 0,
                            alive: true,
                            listed: false,
                        });
                    }
                    Step::Grow { which, sent, received } => {
                        let alive: Vec<usize> = (0..connections.len()).filter(|&i| connections[i].alive).collect();
                        if let Some(&i) = alive.get(which % alive.len().max(1)) {
                            connections[i].sent += u64::from(sent);
                            connections[i].received += u64::from(received);
                        }
                    }
                    Step::Close { which } => {
                        let alive: Vec<usize> = (0..connections.len()).filter(|&i| connections[i].alive).collect();
                        if let Some(&i) = alive.get(which % alive.len().max(1)) {
                            connections[i].alive = false;
                            queued.push_back(connections[i].event());
                        }
                    }
                    Step::Deliver => {
                        if let Some(event) = queued.pop_front() {
                            ledger.record_close(&event);
                        }
                    }
                    Step::Refresh { late, closing } => {
                        let now = refresh(&mut ledger, &mut connections, &mut queued, late, closing);
                        prop_assert!(now.totals.sent >= before.sent && now.totals.received >= before.received,
                            "{:?} after {:?}", now.totals, before);
                        before = now.totals;
                    }
                }
            }
            for c in connections.iter_mut().filter(|c| c.alive) {
                c.alive = false;
                queued.push_back(c.event());
            }
            let end = refresh(&mut ledger, &mut connections, &mut queued, u8::MAX, None);
            while let Some(event) = queued.pop_front() {
                ledger.record_close(&event);
            }
            let end = {
                prop_assert!(end.totals.sent >= before.sent && end.totals.received >= before.received);
                refresh(&mut ledger, &mut connections, &mut queued, 0, None)
            };
            let truth = connections.iter().filter(|c| c.attributable())
                .fold(Bytes::default(), |sum, c| sum + bytes(c.sent, c.received));
            let claimed = connections.iter().filter(|c| c.attributable()).count() as u64;
            prop_assert_eq!(end.totals, truth);
            prop_assert_eq!(end.awaiting_event, 0);
            prop_assert_eq!(end.counters.attributed_closes, claimed);
            prop_assert_eq!(end.counters.unattributed_closes, connections.len() as u64 - claimed);
            let unclaimed = connections.iter().filter(|c| !c.attributable())
                .map(|c| c.sent + c.received).sum::<u64>();
            prop_assert_eq!(end.counters.unattributed_bytes, unclaimed);
        }
    }
}
