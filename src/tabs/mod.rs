//! The tabs: which files each one needs and how it turns one snapshot (and
//! the previous one, for changes and rates) into a [`Screen`].
//!
//! Views are pure: they get the parsed context and the raw texts of a
//! [`Snapshot`], never a path. The list of tabs, their names and one-line
//! summaries live here only; the prompt's parser, completion and help all
//! read them from [`Tab::ALL`].

pub mod flows;
pub mod sockets;
pub mod tcp;

use std::collections::HashMap;
use std::time::Duration;

use crate::parse::Endian;
use crate::render::{Screen, human_rate, human_seconds};
use crate::source::{Process, Snapshot};

/// A tab of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tab {
    Tcp,
    Flows,
}

impl Tab {
    /// Every tab, in the order help lists them.
    pub const ALL: [Tab; 2] = [Tab::Tcp, Tab::Flows];

    /// The tab shown when nothing was selected for one interval.
    pub const DEFAULT: Tab = Tab::Tcp;

    /// The name typed at the prompt.
    pub fn name(self) -> &'static str {
        match self {
            Tab::Tcp => "tcp",
            Tab::Flows => "flows",
        }
    }

    /// The tab called `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Tab> {
        Tab::ALL
            .into_iter()
            .find(|tab| tab.name().eq_ignore_ascii_case(name))
    }

    /// One line for the banner and `help`.
    pub fn summary(self) -> &'static str {
        match self {
            Tab::Tcp => "the process's TCP sockets (tcp, tcp6): state, queues, timers, peers",
            Tab::Flows => {
                "bytes/s sent and received per TCP connection, rtt, cwnd (kernel tcp_info; UDP has no byte counters)"
            }
        }
    }

    /// The files under `net/` this tab reads each tick.
    pub fn net_files(self) -> &'static [&'static str] {
        match self {
            Tab::Tcp => &["tcp", "tcp6"],
            // Its records come from the sock_diag dump every live snapshot
            // carries, not from files.
            Tab::Flows => &[],
        }
    }

    /// Whether the tab lists the process's own sockets (and so needs its
    /// `fd/` links), rather than namespace-wide tables.
    pub fn shows_own_sockets(self) -> bool {
        matches!(self, Tab::Tcp | Tab::Flows)
    }
}

/// Everything a view needs besides the snapshots.
#[derive(Debug, Clone)]
pub struct ViewContext<'a> {
    pub process: &'a Process,
    pub interval: Duration,
    /// uid → user name; unknown uids are shown as numbers.
    pub users: &'a HashMap<u32, String>,
    /// Show uids instead of names.
    pub numeric: bool,
    /// Byte order of the host that produced the files.
    pub endian: Endian,
    /// Kernel clock ticks per second (`USER_HZ`) for timer columns.
    pub clock_ticks: u64,
    /// The snapshot shown before this one, whatever its tab: the base of
    /// the TCP rate in every status box (every live snapshot carries a
    /// connection dump).
    pub earlier: Option<&'a Snapshot>,
}

impl ViewContext<'_> {
    /// The first line of every status box: tab, process, interval, time,
    /// and — once two live snapshots exist and the process's `fd/` can be
    /// read — its TCP send and receive rate since the earlier one.
    pub fn headline(&self, tab: Tab, snapshot: &Snapshot) -> String {
        let mut line = format!(
            "{} · pid {} ({}) · refresh every {} · {}",
            tab.name(),
            self.process.pid,
            self.process.name,
            human_seconds(self.interval.as_secs_f64()),
            snapshot.taken_at.format("%H:%M:%S"),
        );
        if let Some(rates) = flows::process_rates(snapshot, self.earlier) {
            line.push_str(&format!(
                " · TCP sent {}, received {}",
                human_rate(rates.sent),
                human_rate(rates.received)
            ));
        }
        line
    }

    /// The network namespace, as `net:[…]` or a note that it is unknown.
    pub fn netns(&self) -> &str {
        self.process.netns.as_deref().unwrap_or("net:[unknown]")
    }

    /// Extra status lines every tab shows when they apply.
    pub fn process_notes(&self) -> Vec<String> {
        match self.process.via_thread {
            Some(tid) => vec![format!(
                "the main thread has exited: reading through thread {tid}"
            )],
            None => Vec::new(),
        }
    }

    /// A uid as the User column shows it.
    pub fn user(&self, uid: u32) -> String {
        match (self.numeric, self.users.get(&uid)) {
            (false, Some(name)) => name.clone(),
            _ => uid.to_string(),
        }
    }
}

/// Builds the screen of `tab` from this tick and the previous one.
pub fn view(
    tab: Tab,
    ctx: &ViewContext<'_>,
    now: &Snapshot,
    previous: Option<&Snapshot>,
) -> Screen {
    match tab {
        Tab::Tcp => tcp::view(ctx, now, previous),
        Tab::Flows => flows::view(ctx, now, previous),
    }
}
