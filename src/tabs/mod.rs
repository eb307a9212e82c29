//! The tabs: which files each one needs and how it turns one snapshot (and
//! the previous one, for changes and rates) into a [`Screen`].
//!
//! Views are pure: they get the parsed context and the raw texts of a
//! [`Snapshot`], never a path. The list of tabs, their names and one-line
//! summaries live here only; the prompt's parser, completion and help all
//! read them from [`Tab::ALL`]. The settings the user changes at the
//! prompt (counter display; the socket tabs' scope and filter) are defined
//! here too, because views read them and the session only stores them.

pub(crate) mod analysis;
pub(crate) mod arp;
pub(crate) mod changes;
pub(crate) mod findings;
pub(crate) mod flows;
pub(crate) mod icmp;
mod name_filter;
#[cfg(test)]
mod narrow;
pub(crate) mod raw;
pub(crate) mod routing;
pub(crate) mod sockets;
pub(crate) mod stats;
pub(crate) mod tcp;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod traffic;
pub(crate) mod udp;

use std::time::Duration;

use compact_str::{CompactString, ToCompactString};

use crate::vocab::TcpSource;
pub use crate::vocab::{CounterDisplay, Filter, Scope, Tab, ViewSettings};

use crate::accounting::TcpTotals;
use crate::parse::Endian;
use crate::render::{
    Fact, Family, LineCache, MetricKind, Problem, RenderOptions, Screen, Value, human_rate,
    human_seconds, render, render_with,
};
use crate::snapshot::{Process, Snapshot, Table};
use sockets::SocketSet;

impl Tab {
    /// The files under `net/` this tab reads each tick. Socket tabs read
    /// every socket table, not only the ones they display, so that the
    /// process's other sockets can be told apart (`2 unix, 1 tcp`).
    /// `softnet_stat` and `stat/arp_cache` are not per namespace, but
    /// `/proc/<pid>/net/` shows them too (the latter only in the initial
    /// namespace).
    pub fn net_files(self) -> &'static [&'static str] {
        match self {
            Tab::Tcp => &tcp::TABLES,
            Tab::Udp => &udp::TABLES,
            Tab::Raw => &raw::TABLES,
            Tab::Icmp => &icmp::NET_FILES,
            Tab::Arp => &["arp", "stat/arp_cache"],
            Tab::Traffic => &["dev"],
            Tab::Routing => &["route", "ipv6_route"],
            Tab::Stats => &["netstat"],
            Tab::Analysis => &["snmp", "softnet_stat", "netstat", "dev", "stat/arp_cache"],
            // Its records come from the sock_diag dump, not from files.
            Tab::Flows => &[],
        }
    }

    /// The socket tables a socket tab displays (`None` for the others).
    /// The remaining socket tables are read only when needed, see
    /// [`sockets::needs_other_tables`].
    pub fn socket_tables(self) -> Option<&'static [&'static str]> {
        match self {
            Tab::Tcp => Some(&tcp::TABLES),
            Tab::Udp => Some(&udp::TABLES),
            Tab::Raw => Some(&raw::TABLES),
            Tab::Icmp => Some(&icmp::TABLES),
            _ => None,
        }
    }
}

/// Settings of a run that do not change while it runs (from the command
/// line and, for a replay, the capture's manifest).
#[derive(Debug, Clone)]
pub struct Settings {
    pub numeric: bool,
    pub endian: Endian,
    pub clock_ticks: u64,
    pub users: crate::users::NameService,
    pub tcp_source: TcpSource,
    /// A replay's recorded TCP totals, by tick (empty otherwise).
    pub replay_totals: Vec<crate::accounting::RecordedTotals>,
    /// What a replayed capture holds (`None` on a live system).
    pub replay: Option<Replay>,
}

/// Everything a view needs besides the snapshots.
#[derive(Debug, Clone)]
pub struct ViewContext<'a> {
    pub process: &'a Process,
    pub interval: Duration,
    /// uid → user name (the system's name service, cached); unknown
    /// uids are shown as numbers.
    pub users: &'a dyn crate::users::UserNames,
    /// Show uids instead of names.
    pub numeric: bool,
    /// Byte order of the host that produced the files.
    pub endian: Endian,
    /// Kernel clock ticks per second (`USER_HZ`) for timer columns.
    pub clock_ticks: u64,
    /// Filters of the counter tables (stats, analysis).
    pub counters: CounterDisplay,
    /// Scope and filter of the socket tabs.
    pub view: &'a ViewSettings,
    /// The snapshot shown before this one, whatever its tab: the base of
    /// the TCP rate in every status box (every live snapshot carries a
    /// connection dump).
    pub earlier: Option<&'a Snapshot>,
    /// The process's TCP totals over the session, closed connections
    /// included, when this tick took them ([`crate::accounting`]).
    pub totals: Option<&'a TcpTotals>,
    /// The tick of a capture being replayed (`--proc-root` of a capture).
    pub replay: Option<&'a ReplayTick>,
    /// How many rows of a table the display shows (a terminal's height):
    /// a view may leave the rest unbuilt. `None`: every row (machine
    /// output, `--once`, pipes).
    pub rows_shown: Option<usize>,
    /// Text output of every row: a socket tab leaves its rows to the
    /// renderer, which builds them from [`sockets::SocketRows`] a piece at
    /// a time as it prints them ([`crate::render::render_with`]).
    pub rows_later: bool,
}

impl ViewContext<'_> {
    /// The first line of every status box: tab, process, interval, time,
    /// and — once two live snapshots exist and the process's `fd/` can be
    /// read — its TCP send and receive rate since the earlier one.
    pub fn headline(&self, tab: Tab, snapshot: &Snapshot) -> String {
        let time = match self.replay {
            Some(replay) if replay.ticks == 0 => "replay".to_string(),
            Some(replay) => format!("replay, captured {}", replay.taken_at),
            None => snapshot.taken_at.format("%H:%M:%S").to_string(),
        };
        let mut line = format!(
            "{} · pid {} ({}) · refresh every {} · {time}",
            tab.name(),
            self.process.pid,
            self.process.name,
            human_seconds(self.interval.as_secs_f64()),
        );
        if let Some(rates) = self.tcp_rates(snapshot) {
            line.push_str(&format!(
                " · TCP sent {}, received {}",
                human_rate(rates.sent),
                human_rate(rates.received)
            ));
        }
        line
    }

    /// The process's TCP send and receive rates since the last refresh:
    /// from its totals (closed connections included) when the session
    /// follows closes, otherwise from the connections alive at both.
    pub fn tcp_rates(&self, snapshot: &Snapshot) -> Option<flows::Rates> {
        match self.totals {
            Some(TcpTotals::Counted(refresh)) => refresh.rates.map(|r| flows::Rates {
                sent: r.sent,
                received: r.received,
            }),
            _ => flows::process_rates(snapshot, self.earlier),
        }
    }

    /// The network namespace, as `net:[…]` or a note that it is unknown.
    pub fn netns(&self) -> &str {
        self.process.netns.as_deref().unwrap_or("net:[unknown]")
    }

    /// The status box of a tab that shows namespace-wide tables rather than
    /// the process's own sockets: headline, `namespace-wide · net:[…]`, and
    /// the process notes.
    pub fn namespace_status(&self, tab: Tab, snapshot: &Snapshot) -> Vec<String> {
        let mut status = vec![
            self.headline(tab, snapshot),
            format!("namespace-wide · {}", self.netns()),
        ];
        status.extend(self.process_notes());
        status.extend(self.netns_note());
        status
    }

    /// Why the namespace is `net:[unknown]`, when `ns/net` could not be
    /// read (another user's process): the tables are right all the same,
    /// since `/proc/<pid>/net` shows the process's namespace to anyone.
    pub fn netns_note(&self) -> Option<String> {
        match (&self.process.netns, &self.process.netns_error) {
            (None, Some(why)) => Some(format!(
                "net:[unknown]: {why}; the tables are still those of the process's namespace (its net/ is readable)"
            )),
            _ => None,
        }
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
    pub fn user(&self, uid: u32) -> CompactString {
        // With `-n` the name service is not asked at all.
        match (!self.numeric).then(|| self.users.name(uid)).flatten() {
            Some(name) => CompactString::from(name),
            None => uid.to_compact_string(),
        }
    }
}

/// A status line naming the process's threads that moved to another
/// network namespace (`setns()`), whose sockets opened there are in that
/// namespace's tables, not in the ones shown.
pub fn thread_notes(snapshot: &Snapshot) -> Option<String> {
    let Some(Ok(fd)) = &snapshot.fd else {
        return None;
    };
    let elsewhere = &fd.threads_elsewhere;
    if elsewhere.is_empty() {
        return None;
    }
    const SHOWN: usize = 3;
    let mut named: Vec<String> = elsewhere
        .iter()
        .take(SHOWN)
        .map(|(tid, netns)| format!("{tid} in {netns}"))
        .collect();
    if elsewhere.len() > SHOWN {
        named.push(format!("{} more", elsewhere.len() - SHOWN));
    }
    Some(format!(
        "{} {} in another network namespace: {} — sockets opened there are not in these tables (they count as \"in no table\")",
        elsewhere.len(),
        crate::render::plural(elsewhere.len(), "thread", "threads"),
        named.join(", ")
    ))
}

/// What a replayed capture holds, from its manifest and tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    pub ticks: u64,
    /// When each tick was taken (RFC 3339), as far as recorded.
    pub tick_times: Vec<String>,
    pub first_tick: String,
    pub last_tick: String,
    /// The tabs whose files the capture holds.
    pub captured: Vec<Tab>,
}

impl Replay {
    /// The `tick`-th tick of the replay (1 for the first): the capture's
    /// own time for it, its last once past the end.
    pub fn tick(&self, tick: u64) -> ReplayTick {
        let index = usize::try_from(tick.saturating_sub(1)).unwrap_or(usize::MAX);
        let at = self
            .tick_times
            .get(index)
            .or_else(|| (tick >= self.ticks).then_some(&self.last_tick))
            .or(self.tick_times.last())
            .unwrap_or(&self.first_tick);
        let time = |rfc: &str, format: &str| {
            chrono::DateTime::parse_from_rfc3339(rfc)
                .map(|t| t.format(format).to_string())
                .unwrap_or_else(|_| "an unknown time".into())
        };
        ReplayTick {
            tick,
            ticks: self.ticks,
            taken_at: time(at, "%H:%M:%S"),
            first: time(&self.first_tick, "%Y-%m-%d %H:%M:%S"),
            last: time(&self.last_tick, "%H:%M:%S"),
            captured: self.captured.clone(),
        }
    }
}

/// Which tick of a capture a replay shows, for its status box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayTick {
    /// The replayed tick (1 for the first) and the capture's tick count.
    pub tick: u64,
    pub ticks: u64,
    /// When the capture took this tick (`HH:MM:SS`; the last tick's time
    /// once past the capture's end).
    pub taken_at: String,
    /// When the capture started and ended (`YYYY-MM-DD HH:MM:SS`).
    pub first: String,
    pub last: String,
    /// The tabs whose files the capture holds.
    pub captured: Vec<Tab>,
}

impl ReplayTick {
    /// The status line that says what is replayed.
    pub fn line(&self) -> String {
        if self.ticks == 0 {
            return "replay of a /proc tree without a capture manifest: nothing here is live"
                .into();
        }
        format!(
            "replay of a capture taken {} – {} ({} {}), tick {} of {}: nothing here is live; files are as the capture last read them",
            self.first,
            self.last,
            self.ticks,
            crate::render::plural(self.ticks as usize, "tick", "ticks"),
            self.tick.min(self.ticks),
            self.ticks
        )
    }
}

/// The tick shown before this one, as a view uses it: its snapshot (for
/// counter changes and rates) and, when a socket tab's view kept it, its
/// parsed socket set (so it is not parsed again).
#[derive(Debug, Clone, Copy)]
pub struct Before<'a> {
    pub snapshot: &'a Snapshot,
    pub sockets: Option<&'a SocketSet>,
}

impl<'a> Before<'a> {
    /// A snapshot with nothing parsed yet.
    pub fn of(snapshot: &'a Snapshot) -> Before<'a> {
        Before {
            snapshot,
            sockets: None,
        }
    }
}

/// A tick as a view left it: what the next tick of the same tab builds
/// on, and what a redraw renders again.
#[derive(Debug)]
pub struct Viewed {
    pub tab: Tab,
    pub snapshot: Snapshot,
    /// The socket set a socket tab parsed from `snapshot`.
    pub sockets: Option<SocketSet>,
    /// The process's TCP totals as this tick took them.
    pub totals: Option<TcpTotals>,
    /// Which tick of a capture it replays.
    pub replay: Option<ReplayTick>,
}

impl Viewed {
    /// As the next view takes it.
    pub fn before(&self) -> Before<'_> {
        Before {
            snapshot: &self.snapshot,
            sockets: self.sockets.as_ref(),
        }
    }

    /// Drops the tables its socket set was parsed from: once a newer tick
    /// is on screen nothing reads them again, and on a big namespace they
    /// are the bulk of what a session holds. The process's own TCP rows
    /// read over sock_diag stay (a few per socket it holds): the next tick
    /// may look them up instead of dumping the namespace
    /// ([`crate::plan::KnownRows`]).
    pub fn settle(&mut self) {
        let Some(parsed) = self.tab.socket_tables().filter(|_| self.sockets.is_some()) else {
            return;
        };
        let keep_rows = crate::plan::KnownRows::of(&self.snapshot).is_some();
        self.snapshot.tables.retain(|(name, table)| {
            !parsed.contains(name)
                || keep_rows && matches!(table, Ok(Table::Dumped { .. } | Table::LookedUp { .. }))
        });
    }
}

/// Builds the screen of `tab` from this tick and the previous one.
pub fn view(
    tab: Tab,
    ctx: &ViewContext<'_>,
    now: &Snapshot,
    previous: Option<&Snapshot>,
) -> Screen {
    view_with(tab, ctx, now, previous.map(Before::of)).0
}

/// [`view_with`] rendered as text. When every row is printed (no width,
/// no row cap), a socket tab leaves its rows to the renderer, which builds
/// them a piece at a time as it prints them and reuses the lines `cache`
/// kept of rows unchanged since the last refresh.
pub fn text_with(
    tab: Tab,
    ctx: &ViewContext<'_>,
    now: &Snapshot,
    before: Option<Before<'_>>,
    options: &RenderOptions,
    cache: &mut LineCache,
) -> (String, Option<SocketSet>) {
    let ctx = ViewContext {
        rows_later: options.width.is_none() && options.max_rows.is_none(),
        ..ctx.clone()
    };
    let (screen, sockets) = view_with(tab, &ctx, now, before);
    let text = match (socket_tab(tab), &sockets) {
        (Some(spec), Some(set)) => {
            let source = sockets::SocketRows::new(spec, &ctx, set, before.and_then(|b| b.sockets));
            render_with(&screen, options, Some((&source, cache)))
        }
        _ => render(&screen, options),
    };
    (text, sockets)
}

/// The layout of a socket tab.
fn socket_tab(tab: Tab) -> Option<&'static sockets::SocketTab> {
    match tab {
        Tab::Tcp => Some(&tcp::SPEC),
        Tab::Udp => Some(&udp::SPEC),
        Tab::Raw => Some(&raw::SPEC),
        Tab::Icmp => Some(&icmp::SPEC),
        Tab::Arp | Tab::Traffic | Tab::Routing | Tab::Stats | Tab::Analysis | Tab::Flows => None,
    }
}

/// [`view`], given the previous tick as its view left it; also returns
/// the socket set a socket tab parsed, for the next tick.
pub fn view_with(
    tab: Tab,
    ctx: &ViewContext<'_>,
    now: &Snapshot,
    before: Option<Before<'_>>,
) -> (Screen, Option<SocketSet>) {
    if let Some(replay) = ctx.replay {
        if let Some(screen) = not_in_capture(tab, ctx, now, replay) {
            return (screen, None);
        }
    }
    let previous = before.map(|b| b.snapshot);
    let kept = |(screen, set): (Screen, SocketSet)| (screen, Some(set));
    let (mut screen, sockets) = match tab {
        Tab::Tcp => kept(tcp::view(ctx, now, before)),
        Tab::Udp => kept(udp::view(ctx, now, before)),
        Tab::Raw => kept(raw::view(ctx, now, before)),
        Tab::Icmp => kept(icmp::view(ctx, now, before)),
        Tab::Arp => (arp::view(ctx, now, previous), None),
        Tab::Traffic => (traffic::view(ctx, now, previous), None),
        Tab::Routing => (routing::view(ctx, now, previous), None),
        Tab::Stats => (stats::view(ctx, now, previous), None),
        Tab::Analysis => (analysis::view(ctx, now, previous), None),
        Tab::Flows => (flows::view(ctx, now, previous), None),
    };
    // Files that exist but could not be read, for every tab alike (a file
    // that is missing only means the kernel or namespace lacks it).
    let unreadable = now.tables.iter().filter_map(|(name, result)| match result {
        Err(e) if !e.is_not_found() => Some(Problem::file(format!("net/{name}"), e.to_string())),
        _ => None,
    });
    screen.problems.splice(0..0, unreadable);
    screen.status.extend(ctx.replay.map(ReplayTick::line));
    screen.status.extend(totals_notes(ctx.totals, now));
    screen.facts.extend(totals_facts(ctx.totals));
    // The process's TCP rate of the status box, for machine output too.
    if let Some(rates) = ctx.tcp_rates(now) {
        screen.facts.push(Fact::new(
            "tcp_sent_bytes_per_second",
            Value::float(rates.sent),
        ));
        screen.facts.push(Fact::new(
            "tcp_received_bytes_per_second",
            Value::float(rates.received),
        ));
    }
    (screen, sockets)
}

/// The screen of a tab none of whose files a replayed capture holds: it
/// says so and which tabs the capture has, instead of tables that would
/// look empty.
fn not_in_capture(
    tab: Tab,
    ctx: &ViewContext<'_>,
    now: &Snapshot,
    replay: &ReplayTick,
) -> Option<Screen> {
    let files = tab.net_files();
    if files.is_empty() || replay.captured.contains(&tab) {
        return None;
    }
    let captured: Vec<&str> = replay.captured.iter().map(|t| t.name()).collect();
    Some(Screen {
        status: vec![
            ctx.headline(tab, now),
            replay.line(),
            format!(
                "{} is not in this capture (it holds no {}); captured: {}",
                tab.name(),
                files
                    .iter()
                    .map(|f| format!("net/{f}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if captured.is_empty() {
                    "nothing of the process's network".to_string()
                } else {
                    captured.join(", ")
                }
            ),
        ],
        ..Screen::default()
    })
}

/// The process's TCP totals as facts (JSON status facts, OpenMetrics
/// counters), when the session follows closes.
fn totals_facts(totals: Option<&TcpTotals>) -> Vec<Fact> {
    let Some(TcpTotals::Counted(refresh)) = totals else {
        return Vec::new();
    };
    let counters = &refresh.counters;
    [
        ("tcp_sent_bytes_total", refresh.totals.sent, &SENT_TOTAL),
        (
            "tcp_received_bytes_total",
            refresh.totals.received,
            &RECEIVED_TOTAL,
        ),
        (
            "tcp_closed_connections_total",
            counters.attributed_closes,
            &CLOSED_TOTAL,
        ),
        (
            "tcp_unattributed_closed_connections_total",
            counters.unattributed_closes,
            &UNATTRIBUTED_TOTAL,
        ),
        (
            "tcp_unattributed_closed_bytes_total",
            counters.unattributed_bytes,
            &UNATTRIBUTED_BYTES_TOTAL,
        ),
        (
            "tcp_lost_close_events_total",
            counters.lost_events,
            &LOST_TOTAL,
        ),
    ]
    .into_iter()
    .map(|(key, value, family)| Fact::new(key, Value::UInt(value)).metric(family))
    .collect()
}

/// Status lines about the totals: closes not followed (and why), or
/// since when they are only a lower bound.
fn totals_notes(totals: Option<&TcpTotals>, now: &Snapshot) -> Vec<String> {
    match totals {
        Some(TcpTotals::Unavailable(why)) => vec![format!(
            "TCP connections that close between refreshes are not counted: {why}"
        )],
        Some(TcpTotals::Counted(refresh)) => {
            let Some((since, why)) = refresh.lower_bound_since else {
                return Vec::new();
            };
            let ago = now.instant.saturating_duration_since(since);
            let at = now.taken_at - chrono::Duration::from_std(ago).unwrap_or_default();
            let why = match why {
                crate::ledger::LowerBound::NoSubscription => {
                    "the close-event subscription stopped".to_string()
                }
                crate::ledger::LowerBound::LostEvents => format!(
                    "{} close events lost (a burst overflowed the receive buffer)",
                    refresh.counters.lost_events
                ),
                crate::ledger::LowerBound::Settled => {
                    "a connection's close event never came; its last counters were taken".into()
                }
            };
            vec![format!(
                "TCP totals are a lower bound since {}: {why}",
                at.format("%H:%M:%S")
            )]
        }
        None => Vec::new(),
    }
}

static SENT_TOTAL: Family = Family {
    name: "netmonitor_process_tcp_sent_bytes",
    kind: MetricKind::Counter,
    help: "TCP payload bytes the process sent during the session, closed connections included (tcp_info; retransmissions once)",
};
static RECEIVED_TOTAL: Family = Family {
    name: "netmonitor_process_tcp_received_bytes",
    kind: MetricKind::Counter,
    help: "TCP payload bytes the process received during the session, closed connections included (tcp_info; the peer's FIN not counted)",
};
static CLOSED_TOTAL: Family = Family {
    name: "netmonitor_process_tcp_closed_connections",
    kind: MetricKind::Counter,
    help: "TCP connections of the process that closed during the session",
};
static UNATTRIBUTED_TOTAL: Family = Family {
    name: "netmonitor_process_tcp_unattributed_closed_connections",
    kind: MetricKind::Counter,
    help: "TCP connections of the network namespace that closed without being attributable to the process",
};
static UNATTRIBUTED_BYTES_TOTAL: Family = Family {
    name: "netmonitor_process_tcp_unattributed_closed_bytes",
    kind: MetricKind::Counter,
    help: "Payload bytes (sent + received) of the unattributed closed connections of the namespace",
};
static LOST_TOTAL: Family = Family {
    name: "netmonitor_process_tcp_lost_close_events",
    kind: MetricKind::Counter,
    help: "Close events the kernel dropped because the subscription's buffer overflowed",
};

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::testing::{ok, show, snapshot};
    use super::*;
    use crate::snapshot::FdSockets;

    const NAMESPACE_TABS: [Tab; 5] = [
        Tab::Arp,
        Tab::Traffic,
        Tab::Routing,
        Tab::Stats,
        Tab::Analysis,
    ];

    #[test]
    fn namespace_tabs_read_no_fd_and_say_so() {
        for tab in NAMESPACE_TABS {
            assert!(!tab.shows_own_sockets(), "{tab:?}");
            let now = snapshot(0, vec![]);
            let text = show(tab, CounterDisplay::default(), &now, None);
            assert!(
                text.contains("namespace-wide · net:[4026532281]"),
                "{tab:?}: {text}"
            );
        }
        assert!(
            Tab::ALL
                .iter()
                .all(|t| Tab::from_name(t.name()) == Some(*t))
        );
    }

    #[test]
    fn hostile_interface_names_are_escaped_everywhere() {
        let dev = |bytes: u64| {
            format!("h1\nh2\nev\x1b]0;x\x07il: {bytes} 1 0 {bytes} 0 0 0 0 {bytes} 1 0 0 0 0 0 0\n")
        };
        let before = snapshot(0, vec![ok("dev", &dev(1))]);
        let now = snapshot(2, vec![ok("dev", &dev(9))]);
        for tab in [Tab::Traffic, Tab::Analysis] {
            let text = show(tab, CounterDisplay::default(), &now, Some(&before));
            assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
            assert!(text.contains("ev\\x1b]0;x\\x07il"), "{tab:?}: {text}");
        }
    }

    #[test]
    fn an_unreadable_namespace_link_is_explained_where_it_shows() {
        let process = Process {
            netns: None,
            netns_error: Some("cannot read /proc/4242/ns/net (permission denied)".into()),
            ..super::testing::context(CounterDisplay::default())
                .process
                .clone()
        };
        let ctx = ViewContext {
            process: &process,
            ..super::testing::context(CounterDisplay::default())
        };
        let now = snapshot(0, vec![ok("tcp", ""), ok("dev", "")]);
        for tab in [Tab::Tcp, Tab::Traffic] {
            let screen = view(tab, &ctx, &now, None);
            assert!(
                screen.status.iter().any(|l| l
                    == "net:[unknown]: cannot read /proc/4242/ns/net (permission denied); the tables are still those of the process's namespace (its net/ is readable)"),
                "{tab:?}: {:?}",
                screen.status
            );
        }
        // Known namespace: no such line.
        let known = view(
            Tab::Tcp,
            &super::testing::context(CounterDisplay::default()),
            &now,
            None,
        );
        assert!(!known.status.iter().any(|l| l.contains("unknown")));
    }

    #[test]
    fn threads_in_another_namespace_are_named_in_the_status() {
        let mut now = snapshot(0, vec![ok("tcp", "")]);
        assert_eq!(thread_notes(&now), None);
        let mut fd = FdSockets::of([1]);
        now.fd = Some(Ok(fd.clone()));
        assert_eq!(thread_notes(&now), None);
        fd.threads_elsewhere = vec![(11, "net:[1]".into())];
        now.fd = Some(Ok(fd.clone()));
        let screen = view(
            Tab::Tcp,
            &super::testing::context(CounterDisplay::default()),
            &now,
            None,
        );
        assert!(
            screen.status.iter().any(|l| l.starts_with(
                "1 thread in another network namespace: 11 in net:[1] — sockets opened there"
            )),
            "{:?}",
            screen.status
        );
        fd.threads_elsewhere = (11..16).map(|t| (t, format!("net:[{t}]"))).collect();
        now.fd = Some(Ok(fd));
        assert!(
            thread_notes(&now).is_some_and(|l| l.starts_with(
                "5 threads in another network namespace: 11 in net:[11], 12 in net:[12], 13 in net:[13], 2 more —"
            )),
            "{:?}",
            thread_notes(&now)
        );
    }

    #[test]
    fn tab_names_round_trip() {
        for tab in Tab::ALL {
            assert_eq!(Tab::from_name(tab.name()), Some(tab));
            assert_eq!(Tab::from_name(&tab.name().to_uppercase()), Some(tab));
        }
        assert_eq!(Tab::from_name("udp6"), None);
    }

    #[test]
    fn scope_names_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(Scope::from_name(scope.name()), Some(scope));
        }
        assert_eq!(Scope::from_name("ALL"), Some(Scope::All));
        assert_eq!(Scope::from_name("everything"), None);
        assert!(!Scope::Own.needs_owners());
        assert!(Scope::Tree.needs_owners() && Scope::All.needs_owners());
    }

    #[test]
    fn filters_ignore_case_and_blank_text() {
        assert_eq!(Filter::new("   "), None);
        let filter = Filter::new(" UDP6 ").unwrap();
        assert_eq!(filter.text(), "UDP6");
        assert!(filter.matches(&["x", "udp6"]));
        assert!(filter.matches(&["[::1]:53 Udp6"]));
        assert!(!filter.matches(&["udp", "tcp6"]));
        let empty: [&str; 0] = [];
        assert!(!filter.matches(&empty));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn any_file_contents_render_without_panicking(
            a in "(?s).{0,300}",
            b in "[0-9a-f :\n.-]{0,300}",
            zeros in any::<bool>(),
            changed_only in any::<bool>(),
        ) {
            let display = CounterDisplay { zeros, changed_only };
            for tab in NAMESPACE_TABS {
                let files = |text: &str| -> Vec<(&'static str, Result<String, crate::error::ReadError>)> {
                    tab.net_files().iter().map(|name| ok(name, text)).collect()
                };
                let before = snapshot(0, files(&a));
                let now = snapshot(1, files(&b));
                let text = show(tab, display, &now, Some(&before));
                prop_assert!(text.contains("namespace-wide"));
                show(tab, display, &before, None);
            }
        }
    }
}
