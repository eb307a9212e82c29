//! What a tick reads, decided before anything is read: a pure function
//! from the tab, the view settings, where the data comes from (a live
//! kernel, a live kernel being captured, or a captured tree) and what the
//! last tick learned, to a [`Plan`]. [`crate::tick`] carries a plan out.
//!
//! Keeping the decision apart from the doing lets every combination be
//! checked by a unit test without threads, root or a kernel. The reasons
//! behind each rule (why tables are sifted, why the tcp tab asks sock_diag,
//! when connections are looked up one by one) are in docs/design.md and
//! docs/performance.md.

use std::time::{Duration, Instant};

use std::sync::Arc;

use rustc_hash::FxHashSet;

use crate::diag::SocketName;
use crate::parse::inet_diag::InetDiagMsg;
use crate::snapshot::{FlowDump, OwnConnections, Snapshot, Table, TcpFlow};
use crate::vocab::{Scope, Tab, TcpSource};

/// Where a tick's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The running kernel's `/proc` and netlink.
    Live,
    /// The running kernel, every file read recorded for `--capture`: the
    /// socket tables are read as files, so that what is recorded replays.
    LiveRecorded,
    /// A captured tree (`--proc-root`): files only, no kernel to ask.
    Captured,
}

/// What the plan of one tick depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TickInputs<'a> {
    pub tab: Tab,
    pub scope: Scope,
    pub origin: Origin,
    pub tcp_source: TcpSource,
    /// Whether the status box's TCP rate is wanted: a session, or more
    /// than one `--count` print (a single print has no second tick).
    pub with_rate: bool,
    /// The last tick's reading of the process's connections, which may
    /// let this one look them up one by one instead of dumping.
    pub earlier: Option<&'a FlowDump>,
    /// Scan every process's `fd/` to learn who else holds the process's
    /// listeners ([`crate::accounting`] asks now and then).
    pub scan_listener_owners: bool,
    /// What the last tick of the tcp tab knew of the process's sockets,
    /// which may let this one look them up instead of dumping.
    pub earlier_rows: Option<KnownRows<'a>>,
}

/// What a tick of the tcp tab in scope own knew of the process's TCP
/// sockets, read over sock_diag: enough for the next one to look each of
/// them up by its cookie instead of dumping the namespace again, while the
/// process holds the same sockets ([`row_lookups`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KnownRows<'a> {
    /// The process's rows of `tcp` and `tcp6`.
    pub rows: [&'a [InetDiagMsg]; 2],
    /// The fingerprints of the other sockets of each table.
    pub left_out: [&'a Arc<FxHashSet<u64>>; 2],
    /// The process's socket inodes then.
    pub held: &'a FxHashSet<u64>,
    /// When the namespace was last dumped.
    pub dumped_at: Instant,
    /// How many connections the namespace had then, when known.
    pub connections: Option<usize>,
}

impl<'a> KnownRows<'a> {
    /// What `snapshot` knew, when it read the tcp tab's tables over
    /// sock_diag with only the process's sockets among the rows (scope
    /// own, or a process holding every socket).
    pub fn of(snapshot: &'a Snapshot) -> Option<KnownRows<'a>> {
        let held = &snapshot.fd.as_ref()?.as_ref().ok()?.inodes;
        let table = |name| match snapshot.table(name)?.ok()? {
            Table::Dumped { rows, left_out } => Some((rows, left_out, snapshot.instant)),
            Table::LookedUp {
                rows,
                left_out,
                dumped_at,
            } => Some((rows, left_out, *dumped_at)),
            _ => None,
        };
        let (v4, v4_others, dumped_at) = table(TCP_TABLES[0])?;
        let (v6, v6_others, _) = table(TCP_TABLES[1])?;
        let only_held = v4
            .iter()
            .chain(v6)
            .all(|row| held.contains(&u64::from(row.inode)));
        let connections = snapshot
            .flows
            .as_ref()
            .and_then(|f| f.as_ref().ok())
            .and_then(|f| f.own.as_ref())
            .map(|own| own.in_namespace);
        only_held.then_some(KnownRows {
            rows: [v4, v6],
            left_out: [v4_others, v6_others],
            held,
            dumped_at,
            connections,
        })
    }

    /// How many TCP sockets the namespace had at the last dump.
    pub fn namespace(&self) -> usize {
        self.rows.iter().map(|rows| rows.len()).sum::<usize>()
            + self.left_out.iter().map(|set| set.len()).sum::<usize>()
    }
}

/// The reads of one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan<'a> {
    /// `net/` tables, each read on a thread of its own.
    pub tables: Vec<TableRead>,
    /// List the process's `fd/` (its socket inodes).
    pub fd: bool,
    /// Scan every process's `fd/` for socket owners.
    pub owners: bool,
    pub connections: Connections<'a>,
    /// The namespace's TCP listeners, with the connections.
    pub listeners: bool,
    /// Ask for the neighbours over rtnetlink (the arp tab, live).
    pub neighbours: bool,
    /// The socket tables the tab displays (none for other tabs).
    pub displayed: &'static [&'static str],
    /// Socket tables read afterwards, whole, only when a socket held in
    /// scope is listed in none of `tables` (to say what kind it is).
    pub if_unexplained: Vec<&'static str>,
    /// The tcp tab's rows in scope own (over sock_diag): what the last
    /// tick knew of them, to look them up rather than dump while the
    /// process holds the same sockets ([`row_lookups`]).
    pub known_rows: Option<KnownRows<'a>>,
}

/// How one `net/` table is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableRead {
    pub name: &'static str,
    /// Its sockets come from a sock_diag dump instead of the file.
    pub over_sock_diag: bool,
    /// Rows of sockets the process does not hold are left out while the
    /// table is read (scope own), once `fd/` is listed.
    pub sifted: bool,
}

/// Whether a tick reads TCP connections with their counters, and which.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Connections<'a> {
    #[default]
    Skip,
    /// The process's own, for the status box's TCP rate: read once `fd/`
    /// is listed, looked up one by one while the last reading (given
    /// here) accounts for every socket the process holds ([`lookups`]).
    Own(Option<&'a FlowDump>),
    /// The process's own, for the flows tab in scope own: always dumped
    /// (so the count of the namespace's connections is current); every
    /// connection when `fd/` cannot be read.
    OwnShown,
    /// Every connection of the namespace (the flows tab in other scopes).
    All,
}

/// The reads of one tick of `inputs.tab`.
pub(crate) fn plan<'a>(inputs: &TickInputs<'a>) -> Plan<'a> {
    let tab = inputs.tab;
    let live = inputs.origin != Origin::Captured;
    let connections = match (tab, inputs.with_rate) {
        _ if !live => Connections::Skip,
        (Tab::Flows, _) if inputs.scope == Scope::Own => Connections::OwnShown,
        (Tab::Flows, _) => Connections::All,
        (_, true) => Connections::Own(inputs.earlier),
        (_, false) => Connections::Skip,
    };
    let own_sockets = tab.shows_own_sockets();
    // Owners are scanned for the socket tabs' scopes, and now and then to
    // tell who shares the process's listeners.
    let scan = own_sockets && inputs.scope.needs_owners() || (live && inputs.scan_listener_owners);
    let fd = own_sockets || connections != Connections::Skip;
    let displayed = tab.socket_tables().unwrap_or_default();
    // Both TCP tables or neither: the dump describes both families.
    let files = tab.net_files();
    let tcp_over_sock_diag = inputs.tcp_source == TcpSource::Netlink
        && inputs.origin == Origin::Live
        && TCP_TABLES.iter().all(|t| files.contains(t));
    let tables: Vec<TableRead> = files
        .iter()
        .map(|&name| TableRead {
            name,
            over_sock_diag: tcp_over_sock_diag && TCP_TABLES.contains(&name),
            sifted: fd && inputs.scope == Scope::Own && displayed.contains(&name),
        })
        .collect();
    let rows_sifted_over_sock_diag =
        tcp_over_sock_diag && tables.iter().filter(|t| t.over_sock_diag).all(|t| t.sifted);
    let known_rows = inputs
        .earlier_rows
        .filter(|_| tab == Tab::Tcp && rows_sifted_over_sock_diag);
    Plan {
        tables,
        fd,
        owners: scan,
        connections,
        listeners: connections != Connections::Skip,
        neighbours: tab == Tab::Arp && live,
        displayed,
        if_unexplained: if displayed.is_empty() {
            Vec::new()
        } else {
            crate::tabs::sockets::other_tables(displayed)
        },
        known_rows,
    }
}

/// The reads of one tick shared by every watched process of a namespace
/// (the exporter): the tcp tab's tables whole (over sock_diag where they
/// can be) and `more` tables read whole; the namespace's listeners and
/// every connection with its counters, in one dump that each process then
/// picks its own from (cheaper than one reading per process once there
/// are dozens: each walks the kernel's whole socket hash); and, when
/// `scan_owners`, every process's `fd/`. Each process's own `fd/` is
/// listed apart, so not here; unix, netlink and packet sockets are never
/// read.
pub(crate) fn namespace_plan(
    origin: Origin,
    tcp_source: TcpSource,
    scan_owners: bool,
    more: &[&'static str],
) -> Plan<'static> {
    let live = origin != Origin::Captured;
    let mut plan = plan(&TickInputs {
        tab: Tab::Tcp,
        scope: Scope::All,
        origin,
        tcp_source,
        with_rate: false,
        earlier: None,
        scan_listener_owners: false,
        earlier_rows: None,
    });
    for &name in more {
        if !plan.tables.iter().any(|t| t.name == name) {
            plan.tables.push(TableRead {
                name,
                over_sock_diag: false,
                sifted: false,
            });
        }
    }
    plan.fd = false;
    plan.owners = live && scan_owners;
    plan.connections = if live {
        Connections::All
    } else {
        Connections::Skip
    };
    plan.listeners = live;
    plan.if_unexplained.clear();
    plan
}

/// The tables a sock_diag dump of TCP sockets describes.
pub(crate) const TCP_TABLES: [&str; 2] = crate::parse::inet_diag::TABLES;

/// How long connections are looked up one by one before the namespace is
/// dumped again anyway: a socket that was not yet connected at the last
/// dump counts as "not a connection" until the next one.
pub(crate) const REDUMP_AFTER: Duration = Duration::from_secs(10);

/// A lookup costs about three times what a dump spends on a connection it
/// then skips (docs/performance.md): looking up more than a third of the
/// namespace's connections is slower than dumping them all — once there
/// are enough of them for it to matter.
const LOOKUP_COST: usize = 3;
const LOOKUP_ANYWAY: usize = 300;

/// A namespace with fewer TCP sockets is dumped at every tick of the tcp
/// tab: that costs about a millisecond, and keeps its count current.
pub(crate) const DUMP_BELOW: usize = 1000;

/// Whether looking up `wanted` sockets one by one costs less than dumping
/// a namespace of `in_namespace`.
pub(crate) fn worth_looking_up(wanted: usize, in_namespace: usize) -> bool {
    wanted.saturating_mul(LOOKUP_COST) <= in_namespace.max(LOOKUP_ANYWAY)
}

/// The sockets to look up for the tcp tab's rows, when the process holds
/// exactly the sockets it held at the last tick (`known`): none new, none
/// gone — a socket that came or went may be a connection the namespace's
/// dump must show, or no longer the process's. `None` (dump instead) when
/// they differ, the namespace is small ([`DUMP_BELOW`]), it was dumped
/// more than [`REDUMP_AFTER`] ago
/// (its other sockets are counted again, and a socket of the process that
/// was bound but not yet listening or connected is found), or the process
/// holds so much of the namespace that one dump is cheaper.
pub(crate) fn row_lookups(
    own: &FxHashSet<u64>,
    known: &KnownRows<'_>,
    now: Instant,
) -> Option<Vec<SocketName>> {
    if known.namespace() < DUMP_BELOW
        || now.saturating_duration_since(known.dumped_at) > REDUMP_AFTER
        || own != known.held
    {
        return None;
    }
    let rows = known.rows.iter().flat_map(|rows| rows.iter());
    let wanted: Vec<SocketName> = rows.map(SocketName::from).collect();
    if !worth_looking_up(wanted.len(), known.namespace()) {
        return None;
    }
    Some(wanted)
}

/// The connections to look up, and what to know afterwards, when
/// `earlier` explains every socket in `own` (the process's socket inodes
/// now): each is one of its connections or one it knew was none. `None`
/// (dump instead) when there is no such reading, a socket is new since,
/// the last dump is older than [`REDUMP_AFTER`], or the process holds so
/// many of the namespace's connections that one dump is cheaper.
pub(crate) fn lookups<'e>(
    own: &FxHashSet<u64>,
    earlier: Option<&'e FlowDump>,
    now: Instant,
) -> Option<(Vec<&'e TcpFlow>, OwnConnections)> {
    let earlier = earlier?;
    let known = earlier.own.as_ref()?;
    if now.saturating_duration_since(known.dumped_at) > REDUMP_AFTER {
        return None;
    }
    let connections: FxHashSet<u64> = earlier.flows.iter().map(|f| f.inode).collect();
    if own
        .iter()
        .any(|inode| !connections.contains(inode) && !known.others.contains(inode))
    {
        return None;
    }
    let wanted: Vec<&TcpFlow> = earlier
        .flows
        .iter()
        .filter(|f| own.contains(&f.inode))
        .collect();
    if !worth_looking_up(wanted.len(), known.in_namespace) {
        return None;
    }
    let others = known
        .others
        .iter()
        .copied()
        .filter(|inode| own.contains(inode))
        .collect();
    Some((
        wanted,
        OwnConnections {
            others,
            dumped_at: known.dumped_at,
            in_namespace: known.in_namespace,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::DumpPlace;

    const ORIGINS: [Origin; 3] = [Origin::Live, Origin::LiveRecorded, Origin::Captured];
    const SOURCES: [TcpSource; 2] = [TcpSource::Netlink, TcpSource::Proc];

    fn inputs(
        tab: Tab,
        scope: Scope,
        origin: Origin,
        tcp_source: TcpSource,
    ) -> TickInputs<'static> {
        TickInputs {
            tab,
            scope,
            origin,
            tcp_source,
            with_rate: true,
            earlier: None,
            scan_listener_owners: false,
            earlier_rows: None,
        }
    }

    /// Every tab × scope × origin × TCP source: the plan reads the tab's
    /// files, and each rule holds.
    #[test]
    fn every_combination_reads_what_its_tab_needs_and_no_more() {
        let rows = [row(1)];
        let none = Arc::new(FxHashSet::default());
        let held = set(&[1]);
        let known = KnownRows {
            rows: [&rows, &[]],
            left_out: [&none, &none],
            held: &held,
            dumped_at: Instant::now(),
            connections: None,
        };
        for tab in Tab::ALL {
            for scope in Scope::ALL {
                for origin in ORIGINS {
                    for source in SOURCES {
                        let case = format!("{tab:?} {scope:?} {origin:?} {source:?}");
                        let plan = plan(&TickInputs {
                            earlier_rows: Some(known),
                            ..inputs(tab, scope, origin, source)
                        });
                        // Rows looked up only where they come over
                        // sock_diag, sifted: the tcp tab in scope own, live.
                        assert_eq!(
                            plan.known_rows.is_some(),
                            tab == Tab::Tcp
                                && scope == Scope::Own
                                && origin == Origin::Live
                                && source == TcpSource::Netlink,
                            "{case}"
                        );
                        let names: Vec<&str> = plan.tables.iter().map(|t| t.name).collect();
                        assert_eq!(names, tab.net_files(), "{case}");
                        // fd/ for socket tabs and for any connection reading.
                        assert_eq!(
                            plan.fd,
                            tab.shows_own_sockets() || origin != Origin::Captured,
                            "{case}"
                        );
                        // Owners only where the scope shows them, on socket tabs.
                        assert_eq!(
                            plan.owners,
                            tab.shows_own_sockets() && scope != Scope::Own,
                            "{case}"
                        );
                        // A captured tree has no kernel to ask.
                        if origin == Origin::Captured {
                            assert_eq!(plan.connections, Connections::Skip, "{case}");
                        }
                        assert_eq!(
                            plan.neighbours,
                            tab == Tab::Arp && origin != Origin::Captured,
                            "{case}"
                        );
                        for table in &plan.tables {
                            // sock_diag rows only for tcp/tcp6, live, unrecorded,
                            // and when asked for.
                            assert_eq!(
                                table.over_sock_diag,
                                tab == Tab::Tcp
                                    && origin == Origin::Live
                                    && source == TcpSource::Netlink,
                                "{case} {}",
                                table.name
                            );
                            // Sifted: displayed tables in scope own only.
                            let displayed = tab.socket_tables().unwrap_or_default();
                            assert_eq!(
                                table.sifted,
                                scope == Scope::Own && displayed.contains(&table.name),
                                "{case} {}",
                                table.name
                            );
                        }
                        // The other socket tables wait until a socket is unexplained.
                        match tab.socket_tables() {
                            Some(displayed) => {
                                assert!(!plan.if_unexplained.is_empty(), "{case}");
                                assert!(
                                    plan.if_unexplained.iter().all(|t| !displayed.contains(t)
                                        && !plan.tables.iter().any(|r| r.name == *t)),
                                    "{case}"
                                );
                            }
                            None => assert!(plan.if_unexplained.is_empty(), "{case}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn connections_follow_the_tab_scope_and_rate() {
        let earlier = FlowDump {
            flows: Vec::new(),
            place: DumpPlace::SameNamespace,
            own: None,
        };
        let live = |tab, scope, with_rate, earlier| {
            plan(&TickInputs {
                with_rate,
                earlier,
                ..inputs(tab, scope, Origin::Live, TcpSource::Netlink)
            })
            .connections
        };
        assert_eq!(
            live(Tab::Flows, Scope::Own, false, None),
            Connections::OwnShown
        );
        assert_eq!(live(Tab::Flows, Scope::All, false, None), Connections::All);
        assert_eq!(live(Tab::Flows, Scope::Tree, true, None), Connections::All);
        assert_eq!(
            live(Tab::Arp, Scope::Own, true, Some(&earlier)),
            Connections::Own(Some(&earlier))
        );
        assert_eq!(live(Tab::Tcp, Scope::All, false, None), Connections::Skip);
        // A recorded live tick still reads connections.
        let recorded = plan(&inputs(
            Tab::Stats,
            Scope::Own,
            Origin::LiveRecorded,
            TcpSource::Netlink,
        ));
        assert_eq!(recorded.connections, Connections::Own(None));
        assert!(recorded.fd && !recorded.owners);
    }

    #[test]
    fn a_namespace_tab_without_a_rate_reads_files_only() {
        let plan = plan(&TickInputs {
            with_rate: false,
            ..inputs(Tab::Traffic, Scope::All, Origin::Live, TcpSource::Netlink)
        });
        assert_eq!(
            plan,
            Plan {
                tables: vec![TableRead {
                    name: "dev",
                    over_sock_diag: false,
                    sifted: false
                }],
                fd: false,
                owners: false,
                connections: Connections::Skip,
                listeners: false,
                neighbours: false,
                displayed: &[],
                if_unexplained: Vec::new(),
                known_rows: None,
            }
        );
    }

    #[test]
    fn a_namespace_tick_reads_every_table_whole_and_every_connection_once() {
        let more = ["udp", "dev", "tcp"];
        let live = namespace_plan(Origin::Live, TcpSource::Netlink, true, &more);
        let names: Vec<&str> = live.tables.iter().map(|t| t.name).collect();
        assert_eq!(names, ["tcp", "tcp6", "udp", "dev"]);
        assert!(live.tables.iter().all(|t| !t.sifted));
        assert!(live.tables[..2].iter().all(|t| t.over_sock_diag));
        assert!(!live.tables[2..].iter().any(|t| t.over_sock_diag));
        assert!(!live.fd && live.owners && live.listeners);
        assert_eq!(live.connections, Connections::All);
        assert!(live.if_unexplained.is_empty() && live.known_rows.is_none());
        let quiet = namespace_plan(Origin::Live, TcpSource::Proc, false, &more);
        assert!(!quiet.owners && !quiet.tables[0].over_sock_diag);
        // A captured tree: files only, nothing to ask a kernel.
        let captured = namespace_plan(Origin::Captured, TcpSource::Netlink, true, &more);
        assert!(!captured.owners && !captured.listeners);
        assert_eq!(captured.connections, Connections::Skip);
        assert!(captured.tables.iter().all(|t| !t.over_sock_diag));
    }

    fn own_reading(flows: &[u64], others: &[u64], dumped_at: Instant) -> FlowDump {
        FlowDump {
            flows: flows
                .iter()
                .map(|&inode| TcpFlow::sample(inode, 0))
                .collect(),
            place: DumpPlace::SameNamespace,
            own: Some(OwnConnections {
                others: others.iter().copied().collect(),
                dumped_at,
                in_namespace: 1000,
            }),
        }
    }

    fn set(inodes: &[u64]) -> FxHashSet<u64> {
        inodes.iter().copied().collect()
    }

    fn row(inode: u32) -> InetDiagMsg {
        InetDiagMsg {
            family: 2,
            state: 1,
            timer: 0,
            retransmits: 0,
            local: "127.0.0.1:80".parse().unwrap(),
            remote: format!("127.0.0.1:{}", 1000 + inode).parse().unwrap(),
            interface: 0,
            cookie: u64::from(inode).to_le_bytes(),
            expires_ms: 0,
            rx_queue: 0,
            tx_queue: 0,
            uid: 0,
            inode,
        }
    }

    #[test]
    fn rows_are_looked_up_only_while_the_process_holds_the_same_sockets() {
        let then = Instant::now();
        let soon = then + Duration::from_secs(2);
        let v4: Vec<InetDiagMsg> = (10..13).map(row).collect();
        let others = Arc::new((0..2000u64).collect::<FxHashSet<u64>>());
        let none = Arc::new(FxHashSet::default());
        let held = set(&[10, 11, 12, 20]);
        let known = KnownRows {
            rows: [&v4, &[]],
            left_out: [&others, &none],
            held: &held,
            dumped_at: then,
            connections: Some(1000),
        };
        assert_eq!(known.namespace(), 2003);
        // The same sockets (20 is in no TCP table): each row looked up.
        let wanted = row_lookups(&held, &known, soon).expect("lookups");
        assert_eq!(
            wanted.iter().map(|n| n.cookie).collect::<Vec<_>>(),
            v4.iter().map(|r| r.cookie).collect::<Vec<_>>()
        );
        // A socket more, or one fewer: dump.
        assert!(row_lookups(&set(&[10, 11, 12, 20, 30]), &known, soon).is_none());
        assert!(row_lookups(&set(&[10, 11, 12]), &known, soon).is_none());
        // The namespace last dumped too long ago: dump.
        let late = then + REDUMP_AFTER + Duration::from_secs(1);
        assert!(row_lookups(&held, &known, late).is_none());
        // A small namespace is dumped anyway: cheap, and its count current.
        let few = Arc::new((0..900u64).collect::<FxHashSet<u64>>());
        let small = KnownRows {
            left_out: [&few, &none],
            ..known
        };
        assert!(row_lookups(&held, &small, soon).is_none());
        // The process holds most of a namespace: one dump is cheaper.
        let many: Vec<InetDiagMsg> = (100..1100).map(row).collect();
        let crowd: FxHashSet<u64> = (100..1100).collect();
        let crowded = KnownRows {
            rows: [&many, &[]],
            left_out: [&none, &none],
            held: &crowd,
            ..known
        };
        assert!(row_lookups(&crowd, &crowded, soon).is_none());
    }

    #[test]
    fn connections_are_looked_up_only_while_the_last_dump_explains_every_socket() {
        let then = Instant::now();
        let soon = then + Duration::from_secs(2);
        let earlier = own_reading(&[10, 11], &[20], then);
        // Nothing to go on: dump.
        assert!(lookups(&set(&[10]), None, soon).is_none());
        let of_all = FlowDump {
            own: None,
            ..earlier.clone()
        };
        assert!(lookups(&set(&[10]), Some(&of_all), soon).is_none());
        // Every socket known: look up the connections still held.
        let (wanted, known) = lookups(&set(&[10, 11, 20]), Some(&earlier), soon).unwrap();
        assert_eq!(wanted.iter().map(|f| f.inode).collect::<Vec<_>>(), [10, 11]);
        assert_eq!(known.others, set(&[20]));
        assert_eq!(known.dumped_at, then, "a lookup is no dump");
        // One closed (its descriptor is gone), one other socket closed too.
        let (wanted, known) = lookups(&set(&[11]), Some(&earlier), soon).unwrap();
        assert_eq!(wanted.iter().map(|f| f.inode).collect::<Vec<_>>(), [11]);
        assert!(known.others.is_empty());
        // A socket the last dump did not see may be a new connection: dump.
        assert!(lookups(&set(&[10, 11, 20, 30]), Some(&earlier), soon).is_none());
        // Too long since the last dump: dump.
        let late = then + REDUMP_AFTER + Duration::from_secs(1);
        assert!(lookups(&set(&[10, 11, 20]), Some(&earlier), late).is_none());
        // The process holds most of the namespace's 1 000 connections: one
        // dump costs less than a lookup each.
        let many: Vec<u64> = (100..500).collect();
        let crowded = own_reading(&many, &[], then);
        assert!(lookups(&set(&many), Some(&crowded), soon).is_none());
        let fewer = &many[..300];
        assert!(lookups(&set(fewer), Some(&crowded), soon).is_some());
    }
}
