//! The process's TCP byte totals over a session, connections shorter than
//! a refresh included: the [`Ledger`] fed by the session-long close-event
//! subscription ([`crate::closes`], reached through the kernel seam) and
//! refreshed with each tick's reading of the process's connections and
//! listeners. Drivers hold one [`Accounting`] per session; views read what
//! its refresh returned ([`TcpTotals`]). Rules and races: docs/flows.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::closes::{CloseReader, Delivery};
use crate::diag::SockDiag;
use crate::ledger::{Ledger, Listener, Refresh};
use crate::plan::Origin;
use crate::snapshot::{Snapshot, TcpFlow};
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

/// The totals of one tick as a capture keeps them, so that a replay shows
/// what the session showed (a captured tree has no kernel to ask).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecordedTotals {
    /// The capture's tick (1 for the first).
    pub tick: u64,
    #[serde(flatten)]
    pub totals: TotalsRecord,
}

/// [`TcpTotals`] in a form that can be written down.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "closes", rename_all = "snake_case")]
pub enum TotalsRecord {
    Counted {
        refresh: Box<Refresh>,
        /// Since how many seconds before the tick the totals were a lower
        /// bound, and why.
        lower_bound: Option<(f64, crate::ledger::LowerBound)>,
    },
    Unavailable {
        why: String,
    },
}

impl TotalsRecord {
    /// `totals` as taken at `at`.
    pub fn of(totals: &TcpTotals, at: Instant) -> TotalsRecord {
        match totals {
            TcpTotals::Counted(refresh) => TotalsRecord::Counted {
                lower_bound: refresh
                    .lower_bound_since
                    .map(|(since, why)| (at.saturating_duration_since(since).as_secs_f64(), why)),
                refresh: refresh.clone(),
            },
            TcpTotals::Unavailable(why) => TotalsRecord::Unavailable { why: why.clone() },
        }
    }

    /// The totals again, for a tick replayed at `at`.
    fn replayed(&self, at: Instant) -> TcpTotals {
        match self {
            TotalsRecord::Counted {
                refresh,
                lower_bound,
            } => {
                let mut refresh = refresh.clone();
                refresh.lower_bound_since = lower_bound.and_then(|(seconds, why)| {
                    Some((
                        at.checked_sub(Duration::try_from_secs_f64(seconds).ok()?)?,
                        why,
                    ))
                });
                TcpTotals::Counted(refresh)
            }
            TotalsRecord::Unavailable { why } => TcpTotals::Unavailable(why.clone()),
        }
    }
}

/// A close-event subscription of one network namespace and the ledgers
/// it feeds: each event is received and decoded once, however many
/// watched processes of the namespace account with it (the exporter
/// watches dozens). It lives as long as an [`Accounting`] follows it.
pub(crate) struct Closes {
    members: Arc<Mutex<Vec<Weak<Mutex<Ledger>>>>>,
    /// Keeps the subscription's thread alive; dropped with the last
    /// accounting that follows it.
    _reader: Option<CloseReader>,
    /// Why closes cannot be followed, when they cannot.
    unavailable: Option<String>,
}

impl Closes {
    /// Subscribes to the closes of the namespace of the process whose view
    /// directory is `view_dir` (a captured tree has none to follow).
    pub(crate) fn subscribe(
        kernel: &dyn SockDiag,
        view_dir: &std::path::Path,
        origin: Origin,
    ) -> Arc<Closes> {
        let members: Arc<Mutex<Vec<Weak<Mutex<Ledger>>>>> = Arc::default();
        let (reader, unavailable) = match origin {
            Origin::Captured => (None, Some("a captured tree has no close events".into())),
            Origin::Live | Origin::LiveRecorded => {
                let fed = Arc::clone(&members);
                let on = Box::new(move |delivery: Delivery<'_>| {
                    let mut members = fed.lock().unwrap_or_else(PoisonError::into_inner);
                    members.retain(|ledger| ledger.strong_count() > 0);
                    for ledger in members.iter().filter_map(Weak::upgrade) {
                        feed(
                            &mut ledger.lock().unwrap_or_else(PoisonError::into_inner),
                            &delivery,
                        );
                    }
                });
                match kernel.subscribe_closes(view_dir, on) {
                    Ok(reader) => (Some(reader), None),
                    Err(why) => (None, Some(why.to_string())),
                }
            }
        };
        Arc::new(Closes {
            members,
            _reader: reader,
            unavailable,
        })
    }
}

/// Hands one delivery of the close subscription to `ledger`.
fn feed(ledger: &mut Ledger, delivery: &Delivery<'_>) {
    match delivery {
        Delivery::Closed(events) => {
            for event in *events {
                ledger.record_close(event);
            }
        }
        Delivery::Overflowed { lost } => ledger.record_overflow(*lost, Instant::now()),
        Delivery::Failed(_) => ledger.unsubscribed(Instant::now()),
    }
}

/// One session's accounting (or one watched process's, in the exporter).
pub(crate) struct Accounting {
    ledger: Arc<Mutex<Ledger>>,
    /// The subscription that feeds the ledger, kept alive with it.
    closes: Arc<Closes>,
    /// Socket inode → the other processes holding it, for the process's
    /// listeners, from the last owner scan.
    listener_owners: HashMap<u64, Vec<u32>>,
    /// When owners were last scanned, how many closes had been accepted
    /// on the process's listeners then, and whether the process listens.
    scanned_at: Option<Instant>,
    accepted_at_scan: u64,
    listens: bool,
    /// A replay: the totals its capture recorded, by tick, and how many
    /// ticks were replayed so far.
    replay: Option<(Vec<RecordedTotals>, u64)>,
}

impl Accounting {
    /// Subscribes to the closes of the namespace of the process whose view
    /// directory is `view_dir`. A captured tree has none to follow: the
    /// totals it `recorded`, if any, are replayed tick by tick.
    pub(crate) fn start(
        kernel: &dyn SockDiag,
        view_dir: &std::path::Path,
        origin: Origin,
        recorded: Vec<RecordedTotals>,
    ) -> Self {
        Accounting::following(
            Closes::subscribe(kernel, view_dir, origin),
            origin,
            recorded,
        )
    }

    /// An accounting fed by `closes`, which other processes of the same
    /// namespace may follow too.
    pub(crate) fn following(
        closes: Arc<Closes>,
        origin: Origin,
        recorded: Vec<RecordedTotals>,
    ) -> Self {
        let mut ledger = Ledger::new();
        if origin != Origin::Captured {
            ledger.await_owner_scan();
        }
        let ledger = Arc::new(Mutex::new(ledger));
        closes
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::downgrade(&ledger));
        Accounting {
            ledger,
            closes,
            listener_owners: HashMap::new(),
            scanned_at: None,
            accepted_at_scan: 0,
            listens: false,
            replay: (origin == Origin::Captured && !recorded.is_empty()).then_some((recorded, 0)),
        }
    }

    /// Whether the next tick should scan every process's `fd/`, to tell
    /// who else holds the process's listeners: only when connections
    /// accepted on them closed — first when the first do (they wait for
    /// it, uncounted: [`Ledger::await_owner_scan`]), then every
    /// [`OWNER_SCAN_EVERY`] while more do. On a namespace of 100 000
    /// sockets a scan costs as much as a tick.
    pub(crate) fn wants_owner_scan(&self, now: Instant) -> bool {
        if self.closes.unavailable.is_some() || !self.listens {
            return false;
        }
        let ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        match self.scanned_at {
            None => ledger.awaiting_owners() > 0,
            Some(at) => {
                ledger.accepted_closes() > self.accepted_at_scan
                    && now.saturating_duration_since(at) >= OWNER_SCAN_EVERY
            }
        }
    }

    /// Takes this tick's reading into the ledger; `None` when the tick
    /// read no connections (nothing to count yet, or a captured tree).
    pub(crate) fn refresh(&mut self, snapshot: &Snapshot, pid: u32) -> Option<TcpTotals> {
        if let Some((recorded, replayed)) = &mut self.replay {
            *replayed += 1;
            // The tick's own totals, or the last ones once past the end.
            let entry = recorded
                .iter()
                .rev()
                .find(|r| r.tick <= *replayed)
                .or(recorded.first())?;
            return Some(entry.totals.replayed(snapshot.instant));
        }
        let Some(Ok(dump)) = &snapshot.flows else {
            return None;
        };
        if let Some(why) = &self.closes.unavailable {
            return Some(TcpTotals::Unavailable(why.clone()));
        }
        // Without the process's socket inodes nothing is known to be its.
        let Some(Ok(fd)) = &snapshot.fd else {
            return None;
        };
        let own: Vec<&TcpFlow> = dump
            .flows
            .iter()
            .filter(|f| is_own(&fd.inodes, f.inode))
            .collect();
        let listening: Vec<(u64, SocketAddr)> = match &snapshot.listeners {
            Some(Ok(all)) => all.iter().map(|l| (u64::from(l.inode), l.local)).collect(),
            _ => Vec::new(),
        };
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(Ok(scan)) = &snapshot.processes {
            self.scanned_at = Some(snapshot.instant);
            ledger.owners_scanned();
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
        let refresh = ledger.refresh(own, &listeners, snapshot.instant);
        if self.scanned_at == Some(snapshot.instant) {
            // What waited for this scan is counted now, not after it.
            self.accepted_at_scan = ledger.accepted_closes();
        }
        Some(TcpTotals::Counted(Box::new(refresh)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::LowerBound;

    /// A refresh as a session took it, written into a capture's manifest
    /// and read back, replays to the same totals (the lower bound as long
    /// before the replayed tick as before the recorded one).
    #[test]
    fn recorded_totals_replay_to_the_same_totals() {
        let taken = Instant::now();
        let mut ledger = Ledger::new();
        ledger.record_overflow(Some(7), taken);
        let refresh = ledger.refresh(&[], &[], taken + Duration::from_secs(3));
        assert!(refresh.lower_bound_since.is_some());
        let recorded = RecordedTotals {
            tick: 4,
            totals: TotalsRecord::of(
                &TcpTotals::Counted(Box::new(refresh.clone())),
                taken + Duration::from_secs(3),
            ),
        };
        let text = serde_json::to_string(&vec![recorded]).unwrap();
        let read: Vec<RecordedTotals> = serde_json::from_str(&text).unwrap();
        let replayed_at = Instant::now() + Duration::from_secs(100);
        let TcpTotals::Counted(replayed) = read[0].totals.replayed(replayed_at) else {
            panic!("counted");
        };
        let (since, why) = replayed.lower_bound_since.expect("a lower bound");
        assert_eq!(why, LowerBound::LostEvents);
        let before = replayed_at.duration_since(since).as_secs_f64();
        assert!((before - 3.0).abs() < 0.01, "{before}");
        assert_eq!(
            Refresh {
                lower_bound_since: refresh.lower_bound_since,
                ..*replayed
            },
            refresh
        );
        assert_eq!(replayed.counters.lost_events, 7);
    }

    /// What a subscription hands its deliveries to.
    type OnDelivery = Box<dyn FnMut(Delivery<'_>) + Send>;

    /// A kernel that only takes subscriptions, keeping their callbacks.
    #[derive(Default)]
    struct Subscriptions {
        taken: Mutex<Vec<OnDelivery>>,
    }

    impl SockDiag for Subscriptions {
        fn connections(
            &self,
            _: &std::path::Path,
            _: Option<&rustc_hash::FxHashSet<u64>>,
        ) -> Result<(crate::snapshot::FlowDump, usize), crate::error::DiagError> {
            unreachable!("only subscriptions are asked for")
        }
        fn look_up(
            &self,
            _: &std::path::Path,
            _: &[crate::diag::SocketName],
            _: &mut (dyn FnMut(crate::diag::Found) + Send),
        ) -> Result<crate::snapshot::DumpPlace, crate::error::DiagError> {
            unreachable!("only subscriptions are asked for")
        }
        fn neighbours(
            &self,
            _: &std::path::Path,
        ) -> Result<Vec<crate::neighbours::Neighbour>, crate::error::DiagError> {
            unreachable!("only subscriptions are asked for")
        }
        fn listeners(
            &self,
            _: &std::path::Path,
        ) -> Result<Vec<crate::parse::inet_diag::InetDiagMsg>, crate::error::DiagError> {
            unreachable!("only subscriptions are asked for")
        }
        fn subscribe_closes(
            &self,
            _: &std::path::Path,
            on: Box<dyn FnMut(Delivery<'_>) + Send>,
        ) -> Result<CloseReader, crate::error::DiagError> {
            self.taken.lock().unwrap().push(on);
            Ok(CloseReader::without_thread())
        }
        fn sockets(
            &self,
            _: &std::path::Path,
            _: &mut (dyn FnMut(crate::parse::inet_diag::InetDiagMsg) + Send),
        ) -> Result<crate::snapshot::DumpPlace, crate::error::DiagError> {
            unreachable!("only subscriptions are asked for")
        }
    }

    fn lost_events(accounting: &Accounting) -> u64 {
        let mut ledger = accounting.ledger.lock().unwrap();
        ledger.refresh([], &[], Instant::now()).counters.lost_events
    }

    /// Accountings that follow one subscription each get every delivery;
    /// one that ends is no longer fed, and the subscription is taken once.
    #[test]
    fn one_subscription_feeds_every_ledger_that_follows_it() {
        let kernel = Subscriptions::default();
        let closes = Closes::subscribe(&kernel, std::path::Path::new("/nowhere"), Origin::Live);
        let first = Accounting::following(Arc::clone(&closes), Origin::Live, Vec::new());
        let second = Accounting::following(Arc::clone(&closes), Origin::Live, Vec::new());
        assert_eq!(kernel.taken.lock().unwrap().len(), 1);
        let deliver = |delivery| (kernel.taken.lock().unwrap()[0])(delivery);
        deliver(Delivery::Overflowed { lost: Some(3) });
        assert_eq!((lost_events(&first), lost_events(&second)), (3, 3));
        drop(second);
        deliver(Delivery::Overflowed { lost: Some(4) });
        assert_eq!(lost_events(&first), 7);
        assert_eq!(
            closes.members.lock().unwrap().len(),
            1,
            "the ended one is let go"
        );
        // Without a subscription every follower says why.
        let captured =
            Closes::subscribe(&kernel, std::path::Path::new("/nowhere"), Origin::Captured);
        let replay = Accounting::following(captured, Origin::Captured, Vec::new());
        assert!(replay.closes.unavailable.is_some());
        assert_eq!(kernel.taken.lock().unwrap().len(), 1);
    }

    /// A replay shows the recorded totals tick by tick, then stays on the
    /// last; a live kernel is never asked.
    #[test]
    fn a_replay_steps_through_the_recorded_ticks() {
        let kernel = Subscriptions::default();
        let unavailable = |tick, why: &str| RecordedTotals {
            tick,
            totals: TotalsRecord::Unavailable { why: why.into() },
        };
        let mut accounting = Accounting::start(
            &kernel,
            std::path::Path::new("/nowhere"),
            Origin::Captured,
            vec![unavailable(2, "second"), unavailable(3, "third")],
        );
        let snapshot = Snapshot::of_texts(Vec::new());
        let why = |totals: Option<TcpTotals>| match totals {
            Some(TcpTotals::Unavailable(why)) => why,
            other => panic!("{other:?}"),
        };
        // Tick 1 was recorded without totals: the first recorded stands in.
        assert_eq!(why(accounting.refresh(&snapshot, 1)), "second");
        assert_eq!(why(accounting.refresh(&snapshot, 1)), "second");
        assert_eq!(why(accounting.refresh(&snapshot, 1)), "third");
        assert_eq!(why(accounting.refresh(&snapshot, 1)), "third");
        assert!(kernel.taken.lock().unwrap().is_empty(), "no subscription");
    }
}
