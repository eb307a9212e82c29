//! The words every layer speaks — tabs, scopes, filters, counter toggles,
//! the refresh interval, where TCP sockets are read — and the table of
//! commands that the prompt's help, its completion and `--help` are all
//! made from. This module imports nothing of the project, so the modules
//! that use these words never need to import each other.

use std::fmt;
use std::time::Duration;

use thiserror::Error;

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

/// How many rows of each table a terminal session prints; set by `rows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowCap {
    /// As many as fit the terminal's height at each print (none on a pipe).
    #[default]
    Fit,
    /// At most this many (at least 1).
    Limit(u32),
    /// Every row.
    All,
}

impl RowCap {
    /// Largest number `rows N` accepts.
    pub const MAX: u32 = 1_000_000;

    /// Parses the argument of `rows`: a number from 1 to [`RowCap::MAX`],
    /// `all`, or `fit` (any case).
    pub fn parse(text: &str) -> Option<RowCap> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") {
            return Some(RowCap::All);
        }
        if text.eq_ignore_ascii_case("fit") {
            return Some(RowCap::Fit);
        }
        if text.is_empty() || text.len() > 7 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<u32>()
            .ok()
            .filter(|n| (1..=RowCap::MAX).contains(n))
            .map(RowCap::Limit)
    }

    /// The cap: `fit` is what the terminal's height allows (`fit`), `None`
    /// meaning every row.
    pub fn rows(self, fit: Option<usize>) -> Option<usize> {
        match self {
            RowCap::Fit => fit,
            RowCap::Limit(n) => Some(n as usize),
            RowCap::All => None,
        }
    }

    /// What the setting does, for the confirmation.
    pub fn describe(self) -> String {
        match self {
            RowCap::Fit => "tables are cut to fit the terminal's height".into(),
            RowCap::Limit(1) => "tables show at most 1 row".into(),
            RowCap::Limit(n) => format!("tables show at most {n} rows"),
            RowCap::All => "tables show every row".into(),
        }
    }
}

/// Smallest and largest refresh interval, in milliseconds.
const MIN_INTERVAL_MS: u64 = 500;
const MAX_INTERVAL_MS: u64 = 3_600_000;

/// A refresh interval within the allowed range (0.5 s to 3600 s), kept in
/// whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval(Duration);

impl Interval {
    pub const DEFAULT: Interval = Interval(Duration::from_secs(2));

    pub fn duration(self) -> Duration {
        self.0
    }

    /// Parses a plain decimal number of seconds: digits with at most one
    /// `.` (`2`, `0.5`, `.5`, `2.`). Signs, exponents, `inf`, `NaN`, hex and
    /// anything out of range are refused — without floating point, so
    /// nothing can overflow or round into range.
    pub fn parse(text: &str) -> Result<Interval, IntervalError> {
        let text = text.trim();
        let invalid = || IntervalError(text.chars().take(40).collect());
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty())
            || !digits_only(whole)
            || !digits_only(fraction)
        {
            return Err(invalid());
        }
        // Leading zeros do not change the value; more than 7 significant
        // whole digits are out of range anyway.
        let whole = whole.trim_start_matches('0');
        if whole.len() > 7 {
            return Err(invalid());
        }
        let whole_ms = if whole.is_empty() {
            0
        } else {
            whole.parse::<u64>().map_err(|_| invalid())? * 1000
        };
        // Milliseconds from the first three fraction digits; finer digits
        // only matter for deciding whether the value exceeds the maximum.
        let mut fraction_ms = 0u64;
        let mut finer_nonzero = false;
        for (position, digit) in fraction.bytes().enumerate() {
            let value = u64::from(digit - b'0');
            match position {
                0 => fraction_ms += value * 100,
                1 => fraction_ms += value * 10,
                2 => fraction_ms += value,
                _ => finer_nonzero |= value != 0,
            }
        }
        let ms = whole_ms + fraction_ms;
        if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&ms)
            || (ms == MAX_INTERVAL_MS && finer_nonzero)
        {
            return Err(invalid());
        }
        Ok(Interval(Duration::from_millis(ms)))
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&human_seconds(self.0.as_secs_f64()))
    }
}

/// A value that is not a valid interval; the message names the range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid interval '{0}': give a number of seconds from 0.5 to 3600, such as 2 or 0.5")]
pub struct IntervalError(pub String);

/// The counter-table toggles typed at the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toggle {
    /// `zeros`: show or hide counters whose value is zero.
    Zeros,
    /// `changed`: show only counters that moved in the last tick, or all.
    Changed,
}

/// Where the tcp tab reads the sockets of a live system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TcpSource {
    /// The kernel's socket diagnostics (netlink sock_diag, what ss uses):
    /// the same rows as /proc without the kernel formatting them as text
    #[default]
    Netlink,
    /// /proc/PID/net/tcp and tcp6 (what netstat reads)
    Proc,
}

/// Seconds as people write them: `2 s`, `0.5 s`, `1.25 s`.
pub fn human_seconds(seconds: f64) -> String {
    if seconds.fract() == 0.0 {
        format!("{seconds:.0} s")
    } else {
        let text = format!("{seconds:.2}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        format!("{text} s")
    }
}

/// One command of the prompt: what is typed, what it does, and the words
/// it is known by (for completion and "did you mean").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandHelp {
    pub usage: &'static str,
    pub summary: &'static str,
    pub words: &'static [&'static str],
}

/// The commands besides tab names, in the order help lists them. The
/// prompt's `help`, its completion and `--help` are all made from this.
pub const COMMANDS: [CommandHelp; 14] = [
    CommandHelp {
        usage: "set SECONDS",
        summary: "refresh interval, 0.5 to 3600",
        words: &["set"],
    },
    CommandHelp {
        usage: "scope own",
        summary: "socket tabs show the process's own sockets (default)",
        words: &["scope"],
    },
    CommandHelp {
        usage: "scope all",
        summary: "every socket of the network namespace, with owners (--all)",
        words: &[],
    },
    CommandHelp {
        usage: "scope tree",
        summary: "the process's and its descendants' sockets, with owners (--children)",
        words: &[],
    },
    CommandHelp {
        usage: "filter TEXT",
        summary: "keep rows containing TEXT, any case: sockets (any column); interfaces, neighbours, routes, counters",
        words: &["filter"],
    },
    CommandHelp {
        usage: "filter",
        summary: "clear the filter",
        words: &[],
    },
    CommandHelp {
        usage: "zeros",
        summary: "show or hide zero counters (stats, analysis)",
        words: &["zeros"],
    },
    CommandHelp {
        usage: "changed",
        summary: "show only counters that changed in the last tick, or all",
        words: &["changed"],
    },
    CommandHelp {
        usage: "rows N",
        summary: "print at most N rows of each table (1 to 1000000)",
        words: &["rows"],
    },
    CommandHelp {
        usage: "rows all",
        summary: "print every row",
        words: &[],
    },
    CommandHelp {
        usage: "rows fit",
        summary: "cut tables to the terminal's height (default)",
        words: &[],
    },
    CommandHelp {
        usage: "help",
        summary: "this list",
        words: &["help"],
    },
    CommandHelp {
        usage: "quit",
        summary: "end (also Ctrl+D, whatever is typed; Ctrl+C on an empty line)",
        words: &["quit", "exit"],
    },
    CommandHelp {
        usage: "(empty line)",
        summary: "reprint now",
        words: &[],
    },
];

/// Every word that means something at the prompt: tab names, then the
/// commands' words.
pub fn command_words() -> Vec<&'static str> {
    let mut words: Vec<&'static str> = Tab::ALL.iter().map(|t| t.name()).collect();
    words.extend(COMMANDS.iter().flat_map(|c| c.words.iter().copied()));
    words
}

/// The tabs and commands, one per line, as the prompt's `help` and the
/// banner list them.
pub fn help_text() -> String {
    let mut text = String::from("Tabs:\n");
    for tab in Tab::ALL {
        text.push_str(&format!("  {:<9} {}\n", tab.name(), tab.summary()));
    }
    text.push_str("Commands:\n");
    for command in COMMANDS {
        text.push_str(&format!("  {:<12} {}\n", command.usage, command.summary));
    }
    text
}
