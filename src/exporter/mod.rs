//! `netmonitor --listen [ADDR:]PORT`: a Prometheus exporter of what the
//! given processes (PIDs, and processes found by `--name` at every
//! refresh) do on the network. docs/exporter.md is the user's guide.
//!
//! Three threads:
//!
//! * the main thread binds the port, starts the others and waits for
//!   SIGTERM or SIGINT (signal-hook), then stops the server and returns
//!   status 0;
//! * the refresh thread ([`Watcher::refresh`]) takes the ticks of every
//!   watched process, every `--interval`, through the same pipeline as the
//!   prompt (`plan` → `tick` → `tabs::view_with`), gathers their metric
//!   samples into an [`metrics::Exposition`], writes it in both text
//!   formats and publishes it;
//! * the HTTP thread ([`http`]) answers scrapes with the last published
//!   exposition. A scrape never waits on `/proc` or netlink, and a refresh
//!   never waits on a scrape: they share one `Arc` behind a mutex held for
//!   the time of a pointer copy.
//!
//! What a refresh reads, per network namespace (once, whatever the number
//! of watched processes in it): one tick of the tcp tab in scope all —
//! the TCP tables over sock_diag, widened to every inet socket table and
//! the counter files (`dev`, `snmp`, `netstat` …), the TCP listeners, every
//! TCP connection with its counters (one dump, not one per process), and
//! every process's `fd/` when a ledger wants to know who shares its
//! listeners. The counter files are viewed as the traffic, stats and
//! analysis tabs, of which a few counters are kept. Then, per process, its
//! `fd/` and its own connections (picked from the dump by inode), put into
//! that namespace snapshot and
//! viewed as the tcp, udp, raw and icmp tabs in scope own (sockets by
//! protocol and state) — and as the flows tab with `--per-connection`.
//! Its [`Accounting`] (a ledger, fed by the close-event subscription
//! its namespace's processes share) gives the TCP totals. What a process leaves for the next refresh is its
//! accounting and its own connections (the base of its rate);
//! both go with the process. The namespace's tables are dropped at the
//! end of each refresh.

mod http;
mod metrics;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::accounting::{Accounting, Closes};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::DiagError;
use crate::render::{Family, MetricKind, Screen, Value, sanitize};
use crate::report::screen_samples;
use crate::session::exit;
use crate::snapshot::{FlowDump, OwnConnections, Process, Snapshot};
use crate::source::{Liveness, ProcSource};
use crate::tabs::{CounterDisplay, Settings, Tab, ViewContext, ViewSettings, view_with};

use http::{Published, Rendered, Server};
use metrics::{Exposition, Number};

/// What `--listen` was given.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub listen: SocketAddr,
    /// PIDs given on the command line, each watched while it lives.
    pub pids: Vec<u32>,
    /// `--name`s, resolved again at every refresh.
    pub names: Vec<String>,
    pub interval: Duration,
    pub per_connection: bool,
}

/// Runs the exporter until SIGTERM or SIGINT; returns the exit status.
pub(crate) fn run(config: Config, source: ProcSource, settings: Settings) -> i32 {
    use signal_hook::consts::{SIGINT, SIGTERM};
    // Before anything else, so that a signal during start-up is not lost.
    let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("netmonitor: cannot handle signals: {e}");
            return exit::FAILURE;
        }
    };
    let listener = match std::net::TcpListener::bind(config.listen) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("netmonitor: cannot listen on {}: {e}", config.listen);
            return exit::FAILURE;
        }
    };
    let address = listener.local_addr().unwrap_or(config.listen);
    let published = Arc::new(Published::default());
    let server = match Server::start(listener, Arc::clone(&published)) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("netmonitor: cannot serve on {address}: {e}");
            return exit::FAILURE;
        }
    };
    eprintln!(
        "netmonitor: serving {} (refresh every {} s)",
        http::url(address),
        config.interval.as_secs_f64()
    );
    let (stop, stopped) = mpsc::channel::<()>();
    let interval = config.interval;
    let mut watcher = Watcher::new(config, source, settings);
    let refresher = std::thread::Builder::new()
        .name("refresh".into())
        .spawn(move || {
            loop {
                let started = Instant::now();
                let rendered = watcher.refresh();
                published.publish(rendered);
                crate::memory::release_freed();
                let wait = (started + interval).saturating_duration_since(Instant::now());
                match stopped.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        });
    let refresher = match refresher {
        Ok(thread) => thread,
        Err(e) => {
            eprintln!("netmonitor: cannot start refreshing: {e}");
            server.stop();
            return exit::FAILURE;
        }
    };
    let signal = signals.forever().next();
    drop(stop);
    server.stop();
    // A refresh under way ends with its tick; do not wait long for one on
    // a huge namespace: the process ends anyway.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !refresher.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let name = match signal {
        Some(SIGTERM) => "SIGTERM",
        _ => "SIGINT",
    };
    eprintln!("netmonitor: stopped ({name})");
    exit::OK
}

/// One watched process and what its next refresh builds on.
struct Watched {
    process: Process,
    /// Given as a PID (reported as gone when it exits), not only found by
    /// name.
    given: bool,
    accounting: Accounting,
    /// The last tick, slimmed to the process's own connections.
    earlier: Option<Snapshot>,
}

/// The refresh thread's state.
pub(crate) struct Watcher {
    source: ProcSource,
    settings: Settings,
    config: Config,
    watched: BTreeMap<u32, Watched>,
    /// PIDs given on the command line that exited (or never could be
    /// watched), with their last name.
    gone: BTreeMap<u32, String>,
    refreshes: u64,
    problems: u64,
    /// Problems already printed on stderr (each once; bounded).
    told: HashSet<String>,
    /// Each namespace's close-event subscription, shared by the watched
    /// processes in it (it ends with the last of them).
    closes: HashMap<String, Weak<Closes>>,
}

/// The inet socket tables besides tcp's, read with it each refresh.
const MORE_TABLES: [&str; 8] = [
    "udp", "udp6", "udplite", "udplite6", "raw", "raw6", "icmp", "icmp6",
];
/// How many distinct problems are remembered as already printed.
const TOLD_AT_MOST: usize = 256;

impl Watcher {
    pub(crate) fn new(config: Config, source: ProcSource, settings: Settings) -> Watcher {
        Watcher {
            source,
            settings,
            config,
            watched: BTreeMap::new(),
            gone: BTreeMap::new(),
            refreshes: 0,
            problems: 0,
            told: HashSet::new(),
            closes: HashMap::new(),
        }
    }

    /// Prints a problem on stderr the first time it is seen, and counts it.
    fn problem(&mut self, message: String) {
        self.problems += 1;
        if self.told.len() >= TOLD_AT_MOST {
            self.told.clear();
        }
        if self.told.insert(message.clone()) {
            eprintln!("netmonitor: {}", sanitize(&message));
        }
    }

    /// Which processes to watch now: those still alive, the PIDs given,
    /// and whatever has each `--name` now.
    fn resolve(&mut self) {
        let mut ended = Vec::new();
        for (&pid, watched) in &mut self.watched {
            match self.source.check(&mut watched.process) {
                Liveness::Alive => {}
                Liveness::Exited | Liveness::Replaced => ended.push(pid),
            }
        }
        for pid in ended {
            if let Some(watched) = self.watched.remove(&pid) {
                if watched.given {
                    self.gone.insert(pid, watched.process.name);
                }
            }
        }
        for pid in self.config.pids.clone() {
            if let Some(watched) = self.watched.get_mut(&pid) {
                watched.given = true;
                continue;
            }
            if self.gone.contains_key(&pid) {
                continue;
            }
            match self.source.open_process(pid) {
                Ok(process) => self.watch(process, true),
                Err(e) => {
                    self.problem(format!("not watching {pid}: {e}"));
                    self.gone.insert(pid, String::new());
                }
            }
        }
        let mut matched = BTreeSet::new();
        for name in self.config.names.clone() {
            match self.source.find_by_name(&name) {
                Ok(found) => matched.extend(found.iter().map(|p| p.pid)),
                Err(e) => self.problem(format!("cannot look for '{name}': {e}")),
            }
        }
        // Processes found by a name they no longer have.
        self.watched
            .retain(|pid, watched| watched.given || matched.contains(pid));
        for pid in matched {
            if self.watched.contains_key(&pid) {
                continue;
            }
            match self.source.open_process(pid) {
                Ok(process) => {
                    // A new process under a given PID that had exited.
                    self.gone.remove(&pid);
                    self.watch(process, false);
                }
                // It exited since it was found: the next refresh will tell.
                Err(crate::error::ProcessError::NoSuchProcess { .. }) => {}
                Err(e) => self.problem(format!("not watching {pid}: {e}")),
            }
        }
    }

    fn watch(&mut self, process: Process, given: bool) {
        let origin = self.source.origin();
        // One subscription per namespace: every process of it would
        // otherwise receive and decode every close of the namespace.
        self.closes.retain(|_, closes| closes.strong_count() > 0);
        let netns = netns_label(&process);
        let closes = match self.closes.get(&netns).and_then(Weak::upgrade) {
            Some(closes) => closes,
            None => {
                let view_dir = self.source.view_dir(&process);
                let closes = Closes::subscribe(&crate::diag::Netlink, &view_dir, origin);
                self.closes.insert(netns, Arc::downgrade(&closes));
                closes
            }
        };
        // A replay's recorded totals are one process's: not exported.
        let accounting = Accounting::following(closes, origin, Vec::new());
        self.watched.insert(
            process.pid,
            Watched {
                process,
                given,
                accounting,
                earlier: None,
            },
        );
    }

    /// One refresh: every process and namespace read, written in both
    /// formats.
    pub(crate) fn refresh(&mut self) -> Rendered {
        let started = Instant::now();
        self.refreshes += 1;
        self.resolve();
        let mut exposition = Exposition::default();
        let mut namespaces: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (pid, watched) in &self.watched {
            namespaces
                .entry(netns_label(&watched.process))
                .or_default()
                .push(*pid);
        }
        for (netns, pids) in namespaces {
            self.refresh_namespace(&netns, &pids, &mut exposition);
        }
        for (pid, name) in &self.gone {
            exposition.add(
                &UP,
                &[("pid", &pid.to_string()), ("name", name)],
                Number::UInt(0),
            );
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        exposition.add(&WATCHED, &[], Number::UInt(self.watched.len() as u64));
        exposition.add(&REFRESHES, &[], Number::UInt(self.refreshes));
        exposition.add(&PROBLEMS, &[], Number::UInt(self.problems));
        exposition.add(
            &LAST_REFRESH,
            &[],
            Number::Float(now.as_millis() as f64 / 1000.0),
        );
        exposition.add(
            &DURATION,
            &[],
            Number::Float(started.elapsed().as_secs_f64()),
        );
        Rendered {
            openmetrics: Bytes::from(exposition.openmetrics()),
            classic: Bytes::from(exposition.classic()),
        }
    }

    /// The settings of every view: all counters, scope own, no filter.
    fn context<'a>(&'a self, process: &'a Process, view: &'a ViewSettings) -> ViewContext<'a> {
        ViewContext {
            process,
            interval: self.config.interval,
            users: &self.settings.users,
            numeric: self.settings.numeric,
            endian: self.settings.endian,
            clock_ticks: self.settings.clock_ticks,
            counters: CounterDisplay {
                zeros: true,
                changed_only: false,
            },
            view,
            earlier: None,
            totals: None,
            replay: None,
            rows_shown: None,
            rows_later: false,
        }
    }

    /// One namespace: its tables read once, through its first process
    /// (every inet socket table, whole, the TCP ones over sock_diag where
    /// they can be; its listeners and connections; the counter files;
    /// every process's `fd/` when a ledger wants to know who shares its
    /// listeners), then each process's `fd/` and own connections in turn,
    /// viewed against those tables.
    fn refresh_namespace(&mut self, netns: &str, pids: &[u32], exposition: &mut Exposition) {
        let Some(lead) = pids.first().and_then(|pid| self.watched.get(pid)) else {
            return;
        };
        let origin = self.source.origin();
        let now = Instant::now();
        // (A captured tree has no closes and no scan: namespace_plan.)
        let scan = pids.iter().any(|pid| {
            self.watched
                .get(pid)
                .is_some_and(|w| w.accounting.wants_owner_scan(now))
        });
        let more: Vec<&'static str> = MORE_TABLES
            .iter()
            .chain(Tab::Analysis.net_files())
            .copied()
            .collect();
        let plan = crate::plan::namespace_plan(origin, self.settings.tcp_source, scan, &more);
        let mut snapshot =
            crate::tick::execute(&self.source, &crate::diag::Netlink, &lead.process, &plan);
        let connections = snapshot.flows.take().map(NamespaceConnections::of);

        let view = ViewSettings::default();
        let mut seen = BTreeSet::new();
        {
            let ctx = self.context(&lead.process, &view);
            for tab in [Tab::Traffic, Tab::Stats, Tab::Analysis] {
                let (screen, _) = view_with(tab, &ctx, &snapshot, None);
                collect_problems(&screen, &mut seen);
                for (family, extra, value) in screen_samples(&screen) {
                    if kept_for_namespace(family, &extra) {
                        add_labelled(exposition, family, &[("netns", netns)], &extra, value);
                    }
                }
            }
        }
        if let Some(Err(e)) = &snapshot.listeners {
            seen.insert(format!("TCP listeners: {e}"));
        }
        for problem in seen {
            self.problem(format!("{netns}: {problem}"));
        }
        for pid in pids {
            self.refresh_process(*pid, &mut snapshot, connections.as_ref(), exposition);
        }
    }

    /// One process, against its namespace's `snapshot` (whose `fd` and
    /// `flows` it fills in for itself, and leaves empty).
    fn refresh_process(
        &mut self,
        pid: u32,
        snapshot: &mut Snapshot,
        connections: Option<&NamespaceConnections>,
        exposition: &mut Exposition,
    ) {
        let Some(mut watched) = self.watched.remove(&pid) else {
            return;
        };
        let earlier = watched.earlier.take();
        let fd = self.source.socket_inodes(&watched.process);
        snapshot.flows = match (&fd, connections) {
            (Ok(fd), Some(connections)) => Some(connections.own(&fd.inodes)),
            // Without fd/ nothing is known to be the process's; a captured
            // tree has no connections.
            _ => None,
        };
        snapshot.fd = Some(fd);
        snapshot.taken_at = chrono::Local::now();
        snapshot.instant = Instant::now();
        let totals = watched.accounting.refresh(snapshot, pid);

        let mut problems = Vec::new();
        if let Some(Err(e)) = &snapshot.fd {
            problems.push(format!("pid {pid}: {e}"));
        }
        if let Some(Err(e)) = &snapshot.flows {
            problems.push(format!("pid {pid}: TCP connections: {e}"));
        }
        if let Some(crate::accounting::TcpTotals::Unavailable(why)) = &totals {
            problems.push(format!("pid {pid}: closed connections not counted: {why}"));
        }
        let pid_text = pid.to_string();
        let process = &watched.process;
        let labels = [("pid", pid_text.as_str()), ("name", process.name.as_str())];
        exposition.add(&UP, &labels, Number::UInt(1));
        exposition.add(
            &INFO,
            &[
                ("pid", &pid_text),
                ("name", &process.name),
                ("netns", &netns_label(process)),
            ],
            Number::UInt(1),
        );
        let view = ViewSettings::default();
        let ctx = ViewContext {
            earlier: earlier.as_ref(),
            totals: totals.as_ref(),
            ..self.context(process, &view)
        };
        let mut seen = BTreeSet::new();
        for tab in [Tab::Tcp, Tab::Udp, Tab::Raw, Tab::Icmp] {
            let (screen, _) = view_with(tab, &ctx, snapshot, None);
            collect_problems(&screen, &mut seen);
            for (family, extra, value) in screen_samples(&screen) {
                let family = if family.name == crate::tabs::sockets::SOCKETS.name {
                    &PROCESS_SOCKETS
                } else if tab == Tab::Tcp && family.name.starts_with("netmonitor_process_tcp_") {
                    family
                } else {
                    continue;
                };
                add_labelled(exposition, family, &labels, &extra, value);
            }
            if tab == Tab::Tcp {
                for fact in &screen.facts {
                    let family = match fact.key {
                        "tcp_sent_bytes_per_second" => &SENT_RATE,
                        "tcp_received_bytes_per_second" => &RECEIVED_RATE,
                        _ => continue,
                    };
                    if let Value::Float(rate) = fact.value {
                        exposition.add(family, &labels, Number::Float(rate));
                    }
                }
            }
        }
        if self.config.per_connection {
            let (screen, _) = view_with(Tab::Flows, &ctx, snapshot, None);
            collect_problems(&screen, &mut seen);
            for (family, extra, value) in screen_samples(&screen) {
                if family.name.starts_with("netmonitor_connection_") {
                    add_labelled(exposition, family, &labels, &extra, value);
                }
            }
        }
        problems.extend(seen);
        // What the next refresh builds on: the process's own connections.
        watched.earlier = Some(Snapshot {
            taken_at: snapshot.taken_at,
            instant: snapshot.instant,
            tables: Vec::new(),
            fd: None,
            processes: None,
            flows: snapshot.flows.take(),
            listeners: None,
            neighbours: None,
        });
        snapshot.fd = None;
        self.watched.insert(pid, watched);
        for problem in problems {
            self.problem(problem);
        }
    }
}

/// One dump of a namespace's connections, indexed by socket inode.
struct NamespaceConnections {
    dump: Result<FlowDump, String>,
    by_inode: FxHashMap<u64, usize>,
    dumped_at: Instant,
}

impl NamespaceConnections {
    fn of(dump: Result<FlowDump, DiagError>) -> NamespaceConnections {
        let by_inode = match &dump {
            Ok(dump) => dump
                .flows
                .iter()
                .enumerate()
                .filter(|(_, f)| f.inode != 0)
                .map(|(n, f)| (f.inode, n))
                .collect(),
            Err(_) => FxHashMap::default(),
        };
        NamespaceConnections {
            dump: dump.map_err(|e| e.to_string()),
            by_inode,
            dumped_at: Instant::now(),
        }
    }

    /// The connections among `inodes`, as a reading of the process's own.
    fn own(&self, inodes: &FxHashSet<u64>) -> Result<FlowDump, DiagError> {
        let dump = self.dump.as_ref().map_err(DiagError::netlink)?;
        let mut flows = Vec::new();
        let mut others = FxHashSet::default();
        for inode in inodes {
            match self.by_inode.get(inode) {
                Some(&n) => flows.push(dump.flows[n].clone()),
                None => {
                    others.insert(*inode);
                }
            }
        }
        Ok(FlowDump {
            flows,
            place: dump.place.clone(),
            own: Some(OwnConnections {
                others,
                dumped_at: self.dumped_at,
                in_namespace: dump.flows.len(),
            }),
        })
    }
}

/// The `netns` label of a process: `net:[…]`, or which process's unknown
/// namespace it is.
fn netns_label(process: &Process) -> String {
    process
        .netns
        .clone()
        .unwrap_or_else(|| format!("unknown (pid {})", process.pid))
}

/// Adds a screen's sample under `family` with `first` labels before its own.
fn add_labelled(
    exposition: &mut Exposition,
    family: &'static Family,
    first: &[(&str, &str)],
    extra: &[(String, String)],
    value: String,
) {
    let mut labels: Vec<(&str, &str)> = first.to_vec();
    labels.extend(
        extra
            .iter()
            .filter(|(name, _)| !first.iter().any(|(n, _)| n == name))
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );
    exposition.add_written(family, &labels, value);
}

/// The problems of a screen as lines (`net/tcp line 3: …`), each once.
fn collect_problems(screen: &Screen, into: &mut BTreeSet<String>) {
    for problem in &screen.problems {
        let at = problem
            .line
            .map(|line| format!(" line {line}"))
            .unwrap_or_default();
        into.insert(format!("{}{at}: {}", problem.file, problem.message));
    }
}

/// The interface counters an on-call engineer reads first.
const INTERFACE_FAMILIES: [&str; 8] = [
    "netmonitor_interface_receive_bytes",
    "netmonitor_interface_receive_packets",
    "netmonitor_interface_transmit_bytes",
    "netmonitor_interface_transmit_packets",
    "netmonitor_interface_receive_errors",
    "netmonitor_interface_receive_drops",
    "netmonitor_interface_transmit_errors",
    "netmonitor_interface_transmit_drops",
];

/// `(section, counter)` of `net/snmp` and `net/netstat` that are exported:
/// retransmissions, resets, listen queue overflows, UDP receive errors.
const COUNTERS: [(&str, &str); 19] = [
    ("Tcp", "ActiveOpens"),
    ("Tcp", "PassiveOpens"),
    ("Tcp", "AttemptFails"),
    ("Tcp", "EstabResets"),
    ("Tcp", "InSegs"),
    ("Tcp", "OutSegs"),
    ("Tcp", "RetransSegs"),
    ("Tcp", "InErrs"),
    ("Tcp", "OutRsts"),
    ("Tcp", "CurrEstab"),
    ("Udp", "InDatagrams"),
    ("Udp", "NoPorts"),
    ("Udp", "InErrors"),
    ("Udp", "RcvbufErrors"),
    ("Udp", "SndbufErrors"),
    ("TcpExt", "ListenOverflows"),
    ("TcpExt", "ListenDrops"),
    ("TcpExt", "TCPSynRetrans"),
    ("TcpExt", "TCPTimeouts"),
];

fn kept_for_namespace(family: &Family, labels: &[(String, String)]) -> bool {
    if INTERFACE_FAMILIES.contains(&family.name) {
        return true;
    }
    if !matches!(
        family.name,
        "netmonitor_snmp" | "netmonitor_snmp_value" | "netmonitor_netstat"
    ) {
        return false;
    }
    let label = |name: &str| {
        labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    match (label("section"), label("counter")) {
        (Some(section), Some(counter)) => COUNTERS.contains(&(section, counter)),
        _ => false,
    }
}

static UP: Family = Family {
    name: "netmonitor_process_up",
    kind: MetricKind::Gauge,
    help: "1 while the process is watched; 0 once a PID given on the command line has exited (a process found by --name that exits is dropped instead)",
};
static INFO: Family = Family {
    name: "netmonitor_process_info",
    kind: MetricKind::Gauge,
    help: "The watched process's network namespace (value 1), to join process and namespace series",
};
static PROCESS_SOCKETS: Family = Family {
    name: "netmonitor_process_sockets",
    kind: MetricKind::Gauge,
    help: "Sockets the process holds, by table (tcp, tcp6, udp, udp6, udplite, udplite6, raw, raw6, icmp, icmp6) and state",
};
static SENT_RATE: Family = Family {
    name: "netmonitor_process_tcp_sent_bytes_per_second",
    kind: MetricKind::Gauge,
    help: "TCP payload bytes per second the process sent since the previous refresh, as the status box shows it (prefer rate() of the _total counter)",
};
static RECEIVED_RATE: Family = Family {
    name: "netmonitor_process_tcp_received_bytes_per_second",
    kind: MetricKind::Gauge,
    help: "TCP payload bytes per second the process received since the previous refresh, as the status box shows it (prefer rate() of the _total counter)",
};
static WATCHED: Family = Family {
    name: "netmonitor_exporter_watched_processes",
    kind: MetricKind::Gauge,
    help: "Processes watched at the last refresh",
};
static REFRESHES: Family = Family {
    name: "netmonitor_exporter_refreshes",
    kind: MetricKind::Counter,
    help: "Refreshes completed since the exporter started",
};
static PROBLEMS: Family = Family {
    name: "netmonitor_exporter_read_problems",
    kind: MetricKind::Counter,
    help: "Problems met while reading (unreadable files or fd/, failed netlink requests, unparsable lines, processes that could not be watched), counted at each refresh they occur; stderr says what they are, each once",
};
static LAST_REFRESH: Family = Family {
    name: "netmonitor_exporter_last_refresh_timestamp_seconds",
    kind: MetricKind::Gauge,
    help: "When the refresh served was completed (Unix time)",
};
static DURATION: Family = Family {
    name: "netmonitor_exporter_refresh_duration_seconds",
    kind: MetricKind::Gauge,
    help: "How long the refresh served took (reading every process and namespace)",
};

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;
    use crate::parse::Endian;
    use crate::users::NameService;

    const CAPTURE: &str = "testdata/proc/all-tabs-6.18";

    /// The capture with its process 9898 also as 9899 (same namespace),
    /// and `comm` of 9899 set to `name`.
    fn two_processes(name: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(CAPTURE);
        let copied = Command::new("cp")
            .arg("-a")
            .arg(root.join("."))
            .arg(dir.path())
            .status()
            .expect("cp runs");
        assert!(copied.success());
        let copied = Command::new("cp")
            .arg("-a")
            .arg(dir.path().join("9898"))
            .arg(dir.path().join("9899"))
            .status()
            .expect("cp runs");
        assert!(copied.success());
        let stat = dir.path().join("9899/stat");
        let text = std::fs::read_to_string(&stat).expect("stat");
        let text = text
            .replacen("9898 (python3)", &format!("9899 ({name})"), 1)
            .to_string();
        std::fs::write(&stat, text).expect("stat written");
        dir
    }

    fn watcher(root: &Path, pids: Vec<u32>, names: Vec<String>) -> Watcher {
        Watcher::new(
            Config {
                listen: "127.0.0.1:0".parse().expect("address"),
                pids,
                names,
                interval: Duration::from_secs(2),
                per_connection: false,
            },
            ProcSource::new(root),
            Settings {
                numeric: true,
                endian: Endian::Little,
                clock_ticks: 100,
                users: NameService::default(),
                tcp_source: crate::vocab::TcpSource::Proc,
                replay_totals: Vec::new(),
                replay: None,
            },
        )
    }

    fn samples(rendered: &Rendered) -> Vec<String> {
        String::from_utf8_lossy(&rendered.openmetrics)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(String::from)
            .collect()
    }

    #[test]
    fn processes_by_pid_and_by_name_share_one_set_of_namespace_series() {
        let hostile = "py\"th\\on";
        let tree = two_processes(hostile);
        let mut watcher = watcher(tree.path(), vec![9898, 4242], vec![hostile.into()]);
        let rendered = watcher.refresh();
        let text = String::from_utf8_lossy(&rendered.openmetrics).into_owned();
        let lines = samples(&rendered);
        assert!(
            lines.contains(&"netmonitor_process_up{pid=\"9898\",name=\"python3\"} 1".into()),
            "{text}"
        );
        assert!(
            lines.contains(&"netmonitor_process_up{pid=\"9899\",name=\"py\\\"th\\\\on\"} 1".into()),
            "the name is escaped: {text}"
        );
        // The PID that never existed is gone, not an error.
        assert!(
            lines.contains(&"netmonitor_process_up{pid=\"4242\",name=\"\"} 0".into()),
            "{text}"
        );
        // Sockets of each process, from the captured tables.
        for pid in ["9898", "9899"] {
            assert!(
                lines.iter().any(|l| l
                    .starts_with(&format!("netmonitor_process_sockets{{pid=\"{pid}\","))
                    && l.contains("protocol=\"tcp\",state=\"LISTEN\"")),
                "{pid}: {text}"
            );
        }
        // The namespace's series once, not once per process.
        let lo: Vec<&String> = lines
            .iter()
            .filter(|l| {
                l.starts_with("netmonitor_interface_receive_bytes_total{") && l.contains("\"lo\"")
            })
            .collect();
        assert_eq!(lo.len(), 1, "{text}");
        assert!(lo[0].starts_with("netmonitor_interface_receive_bytes_total{netns=\"net:["));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("netmonitor_snmp_total{") && l.contains("RetransSegs")),
            "{text}"
        );
        assert!(
            !lines
                .iter()
                .any(|l| l.contains("counter=\"InAddrMaskReps\"")),
            "only the chosen counters: {text}"
        );
        assert!(lines.contains(&"netmonitor_exporter_watched_processes 2".into()));
        assert!(lines.contains(&"netmonitor_exporter_refreshes_total 1".into()));
        assert!(text.ends_with("# EOF\n"));
        openmetrics_parser::openmetrics::parse_openmetrics(&text)
            .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        openmetrics_parser::prometheus::parse_prometheus(&String::from_utf8_lossy(
            &rendered.classic,
        ))
        .unwrap_or_else(|e| panic!("{e:?}"));

        // 9899 renamed: it is dropped (found by name only); 9898 exits: gone.
        let stat = tree.path().join("9899/stat");
        let renamed = std::fs::read_to_string(&stat)
            .expect("stat")
            .replacen(hostile, "other", 1);
        std::fs::write(&stat, renamed).expect("stat written");
        std::fs::remove_dir_all(tree.path().join("9898")).expect("removed");
        let lines = samples(&watcher.refresh());
        assert!(
            lines.contains(&"netmonitor_process_up{pid=\"9898\",name=\"python3\"} 0".into()),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("pid=\"9899\"")),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.starts_with("netmonitor_interface_")),
            "no process left in the namespace: {lines:?}"
        );
        assert!(lines.contains(&"netmonitor_exporter_watched_processes 0".into()));
    }
}
