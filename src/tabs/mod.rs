//! The tabs: which files each one needs and how it turns one snapshot (and
//! the previous one, for changes and rates) into a [`Screen`].
//!
//! Views are pure: they get the parsed context and the raw texts of a
//! [`Snapshot`], never a path. The list of tabs, their names and one-line
//! summaries live here only; the prompt's parser, completion and help all
//! read them from [`Tab::ALL`]. The settings the user changes at the
//! prompt (counter display; the socket tabs' scope and filter) are defined
//! here too, because views read them and the session only stores them.

pub mod analysis;
pub mod arp;
pub mod changes;
pub mod findings;
pub mod flows;
pub mod icmp;
mod name_filter;
#[cfg(test)]
mod narrow;
pub mod raw;
pub mod routing;
pub mod sockets;
pub mod stats;
pub mod tcp;
#[cfg(test)]
pub(crate) mod testing;
pub mod traffic;
pub mod udp;

use std::time::Duration;

use compact_str::{CompactString, ToCompactString};

use crate::command::Toggle;
use crate::parse::Endian;
use crate::render::{Fact, Problem, Screen, Value, human_rate, human_seconds};
use crate::source::{Process, Snapshot};

/// A tab of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tab {
    Tcp,
    Udp,
    Raw,
    Icmp,
    Arp,
    Traffic,
    Routing,
    Stats,
    Analysis,
    Flows,
}

impl Tab {
    /// Every tab, in the order help lists them.
    pub const ALL: [Tab; 10] = [
        Tab::Tcp,
        Tab::Flows,
        Tab::Udp,
        Tab::Raw,
        Tab::Icmp,
        Tab::Arp,
        Tab::Traffic,
        Tab::Routing,
        Tab::Stats,
        Tab::Analysis,
    ];

    /// The tab shown when nothing was selected for one interval.
    pub const DEFAULT: Tab = Tab::Tcp;

    /// The name typed at the prompt.
    pub fn name(self) -> &'static str {
        match self {
            Tab::Tcp => "tcp",
            Tab::Udp => "udp",
            Tab::Raw => "raw",
            Tab::Icmp => "icmp",
            Tab::Arp => "arp",
            Tab::Traffic => "traffic",
            Tab::Routing => "routing",
            Tab::Stats => "stats",
            Tab::Analysis => "analysis",
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
            Tab::Udp => {
                "UDP and UDP-Lite sockets (udp, udp6, udplite…); queues are memory, not payload"
            }
            Tab::Raw => "raw IP sockets (raw, raw6) with the IP protocol each one receives",
            Tab::Icmp => "ping sockets (icmp, icmp6) and the namespace's ICMP messages by type",
            Tab::Arp => "the namespace's neighbours (arp) and ARP cache statistics",
            Tab::Traffic => "bytes, packets, errors and rates per interface (dev)",
            Tab::Routing => "IPv4 and IPv6 routes of the namespace (route, ipv6_route)",
            Tab::Stats => "TCP and IP extended counters (netstat); zeros, changed filter them",
            Tab::Analysis => "IP/ICMP/TCP/UDP counters, packets per CPU, and findings",
            Tab::Flows => {
                "bytes/s sent and received per TCP connection, rtt, cwnd (kernel tcp_info; UDP has no byte counters)"
            }
        }
    }

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

    /// Whether the `zeros` and `changed` toggles change what the tab shows.
    pub fn uses_counter_display(self) -> bool {
        matches!(self, Tab::Stats | Tab::Analysis)
    }

    /// Whether the tab lists the process's own sockets (and so needs its
    /// `fd/` links), rather than namespace-wide tables.
    pub fn shows_own_sockets(self) -> bool {
        matches!(
            self,
            Tab::Tcp | Tab::Flows | Tab::Udp | Tab::Raw | Tab::Icmp
        )
    }
}

/// Whose sockets the socket tabs show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The process's own sockets (its `fd/` links).
    #[default]
    Own,
    /// The process's and its descendants' sockets, with owners.
    Tree,
    /// Every socket of the network namespace, with owners.
    All,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Own, Scope::All, Scope::Tree];

    /// The word typed after `scope`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Tree => "tree",
            Scope::All => "all",
        }
    }

    /// The scope called `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Scope> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.name().eq_ignore_ascii_case(name))
    }

    /// Whether rows carry an Owner column, which needs a scan of every
    /// process's `fd/` links.
    pub fn needs_owners(self) -> bool {
        self != Scope::Own
    }

    /// What the scope shows, for confirmations.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Own => "the process's own sockets",
            Scope::Tree => "the sockets of the process and its descendants, with owners",
            Scope::All => "every socket in the network namespace, with owners",
        }
    }
}

/// A row filter: rows are kept when any cell contains the text, ignoring
/// case. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    text: String,
    lowered: String,
}

impl Filter {
    /// A filter for `text` (surrounding blanks ignored); `None` for blank
    /// text.
    pub fn new(text: &str) -> Option<Filter> {
        let text = text.trim();
        (!text.is_empty()).then(|| Filter {
            text: text.to_string(),
            lowered: text.to_lowercase(),
        })
    }

    /// The text as typed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether any of `cells` contains the text, ignoring case.
    pub fn matches<S: AsRef<str>>(&self, cells: &[S]) -> bool {
        cells
            .iter()
            .any(|cell| cell.as_ref().to_lowercase().contains(&self.lowered))
    }
}

/// What the user chose to see, changed by `scope` and `filter` (and the
/// `--all`/`--children` options); held by the session, read by views.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ViewSettings {
    pub scope: Scope,
    pub filter: Option<Filter>,
}

/// How counter tables are filtered; flipped by the `zeros` and `changed`
/// commands and held by the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CounterDisplay {
    /// Show counters whose value is zero (hidden by default).
    pub zeros: bool,
    /// Show only counters that moved in the last tick (like `nstat`).
    pub changed_only: bool,
}

impl CounterDisplay {
    /// The setting with `toggle` flipped.
    pub fn toggled(self, toggle: Toggle) -> Self {
        match toggle {
            Toggle::Zeros => CounterDisplay {
                zeros: !self.zeros,
                ..self
            },
            Toggle::Changed => CounterDisplay {
                changed_only: !self.changed_only,
                ..self
            },
        }
    }
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

/// Builds the screen of `tab` from this tick and the previous one.
pub fn view(
    tab: Tab,
    ctx: &ViewContext<'_>,
    now: &Snapshot,
    previous: Option<&Snapshot>,
) -> Screen {
    let mut screen = match tab {
        Tab::Tcp => tcp::view(ctx, now, previous),
        Tab::Udp => udp::view(ctx, now, previous),
        Tab::Raw => raw::view(ctx, now, previous),
        Tab::Icmp => icmp::view(ctx, now, previous),
        Tab::Arp => arp::view(ctx, now, previous),
        Tab::Traffic => traffic::view(ctx, now, previous),
        Tab::Routing => routing::view(ctx, now, previous),
        Tab::Stats => stats::view(ctx, now, previous),
        Tab::Analysis => analysis::view(ctx, now, previous),
        Tab::Flows => flows::view(ctx, now, previous),
    };
    // Files that exist but could not be read, for every tab alike (a file
    // that is missing only means the kernel or namespace lacks it).
    let unreadable = now.files.iter().filter_map(|(name, result)| match result {
        Err(e) if !e.is_not_found() => Some(Problem::file(format!("net/{name}"), e.to_string())),
        _ => None,
    });
    screen.problems.splice(0..0, unreadable);
    // The process's TCP rate of the status box, for machine output too.
    if let Some(rates) = flows::process_rates(now, ctx.earlier) {
        screen.facts.push(Fact::new(
            "tcp_sent_bytes_per_second",
            Value::float(rates.sent),
        ));
        screen.facts.push(Fact::new(
            "tcp_received_bytes_per_second",
            Value::float(rates.received),
        ));
    }
    screen
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::testing::{ok, show, snapshot};
    use super::*;
    use crate::source::FdSockets;

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
