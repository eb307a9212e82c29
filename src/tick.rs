//! Carries out a [`Plan`]: reads what one tick needs, each piece on a
//! thread of its own, and hands back a [`Snapshot`].
//!
//! On a namespace with 100 000 sockets the kernel spends most of a tick
//! producing the socket tables, so everything else overlaps with that:
//! listing `fd/`, the owner scan, the connection reading, and the sifting
//! of the tables displayed in scope own, which starts on the blocks
//! already read as soon as `fd/` is listed (the whole table is then never
//! held). Threads that only keep books run at nice 10 so the readers,
//! which the tick waits for, keep a core. The filesystem is reached
//! through [`ProcSource`] and netlink through [`SockDiag`], so tests can
//! run a plan on fakes. Measured costs: docs/performance.md.

use std::io;
use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::Instant;

use rustc_hash::FxHashSet;

use crate::accounting::Accounting;
use crate::diag::{Found, Netlink, SockDiag, SocketName, is_connection};
use crate::error::{DiagError, ReadError};
use crate::parse::inet_diag::InetDiagMsg;
use crate::plan::{
    Connections, KnownRows, Plan, TCP_TABLES, TableRead, TickInputs, lookups, plan, row_lookups,
};
use crate::snapshot::{
    DumpPlace, FlowDump, OwnConnections, Process, Snapshot, Table, Tables, TcpFlow,
};
use crate::source::{Block, ProcSource};
use crate::tabs::sockets::{is_own, left_out_of_dump, needs_other_tables, sift_block};
use crate::tabs::{Settings, Viewed};
use crate::vocab::{Scope, Tab};

/// Where a thread waiting for the process's socket inodes gets them, once
/// `fd/` is listed (`None` when it cannot be).
type InodesLater = mpsc::Receiver<Option<FxHashSet<u64>>>;

/// Reads what one tick of `inputs.tab` needs, from the running kernel or
/// a captured tree.
pub(crate) fn take(source: &ProcSource, process: &Process, inputs: &TickInputs<'_>) -> Snapshot {
    execute(source, &Netlink, process, &plan(inputs))
}

/// One tick as both drivers take it: the reads of `tab` (the tick shown
/// before, `previous`, may let the process's connections be looked up
/// rather than dumped), the process's TCP totals taken into the session's
/// `accounting` (none for a single print, which has no rate either), and
/// for a replay which tick of the capture it is (`number`, 1 for the
/// first). The view adds the socket set.
#[allow(clippy::too_many_arguments)]
pub(crate) fn take_viewed(
    source: &ProcSource,
    process: &Process,
    settings: &Settings,
    tab: Tab,
    scope: Scope,
    previous: Option<&Viewed>,
    mut accounting: Option<&mut Accounting>,
    number: u64,
) -> Viewed {
    let snapshot = take(
        source,
        process,
        &TickInputs {
            tab,
            scope,
            origin: source.origin(),
            tcp_source: settings.tcp_source,
            with_rate: accounting.is_some(),
            earlier: previous
                .and_then(|p| p.snapshot.flows.as_ref())
                .and_then(|f| f.as_ref().ok()),
            scan_listener_owners: accounting
                .as_ref()
                .is_some_and(|a| a.wants_owner_scan(Instant::now())),
            earlier_rows: previous
                .filter(|p| p.tab == tab)
                .and_then(|p| KnownRows::of(&p.snapshot)),
        },
    );
    let totals = accounting
        .as_mut()
        .and_then(|a| a.refresh(&snapshot, process.pid));
    Viewed {
        tab,
        replay: settings.replay.as_ref().map(|r| r.tick(number)),
        snapshot,
        sockets: None,
        totals,
    }
}

/// Reads what `plan` asks for.
pub(crate) fn execute(
    source: &ProcSource,
    kernel: &dyn SockDiag,
    process: &Process,
    plan: &Plan<'_>,
) -> Snapshot {
    let view_dir = source.view_dir(process);
    let dumped: Vec<TableRead> = plan
        .tables
        .iter()
        .copied()
        .filter(|t| t.over_sock_diag)
        .collect();
    let read: Vec<TableRead> = plan
        .tables
        .iter()
        .copied()
        .filter(|t| !t.over_sock_diag)
        .collect();
    let sift_text = read.iter().any(|t| t.sifted);
    let sift_dump = !dumped.is_empty() && dumped.iter().all(|t| t.sifted);
    // The tcp tab in scope own reads the process's connections with its
    // rows: they are among them, and looked up by their cookies.
    let with_rows = sift_dump && matches!(plan.connections, Connections::Own(_));
    let own_connections = !with_rows
        && matches!(
            plan.connections,
            Connections::Own(_) | Connections::OwnShown
        );
    // The threads that wait for the process's socket inodes get them as
    // soon as `fd/` is listed.
    let (to_sifter, for_sifter) = mpsc::channel();
    let (to_table_dumper, for_table_dumper) = mpsc::channel();
    let (to_connections, for_connections) = mpsc::channel();
    let mut waiting = Vec::new();
    if sift_text {
        waiting.push(to_sifter);
    }
    if sift_dump {
        waiting.push(to_table_dumper);
    }
    if own_connections {
        waiting.push(to_connections);
    }
    let view_dir = view_dir.as_path();
    let (fd, processes, flows, listeners, neighbours, mut tables, dumped_tables) =
        std::thread::scope(|scope| {
            // Not deferred: it does the work of the table readers.
            let dumper = (!dumped.is_empty()).then(|| {
                scope.spawn(move || {
                    if sift_dump {
                        own_rows(
                            kernel,
                            view_dir,
                            plan.known_rows,
                            for_table_dumper,
                            with_rows,
                        )
                    } else {
                        let rows = dump_tables(kernel, view_dir, Sieve::None);
                        (rows.map(|rows| rows.tables), None)
                    }
                })
            });
            let fd = plan.fd.then(|| {
                scope.spawn(move || {
                    defer_to_readers();
                    let listed = source.socket_inodes(process);
                    for thread in waiting {
                        // A thread that is gone no longer needs them.
                        let _ = thread.send(listed.as_ref().ok().map(|fd| fd.inodes.clone()));
                    }
                    listed
                })
            });
            let processes = plan.owners.then(|| {
                scope.spawn(|| {
                    defer_to_readers();
                    source.scan_processes(process.netns.as_deref())
                })
            });
            let flows = (plan.connections != Connections::Skip && !with_rows).then(|| {
                scope.spawn(move || {
                    defer_to_readers();
                    read_connections(kernel, view_dir, plan.connections, for_connections)
                })
            });
            let listeners = plan.listeners.then(|| {
                scope.spawn(|| {
                    defer_to_readers();
                    kernel.listeners(view_dir)
                })
            });
            let neighbours = plan
                .neighbours
                .then(|| scope.spawn(|| kernel.neighbours(view_dir)));
            let tables = read_tables(scope, source, process, &read, for_sifter);
            let (dumped_tables, flows_with_rows) = match dumper.map(|dumper| dumper.join()) {
                Some(Ok((tables, flows))) => (Some(tables), flows),
                Some(Err(_)) => {
                    let failed = || DiagError::netlink("the dumping thread failed");
                    (Some(Err(failed())), with_rows.then(|| Err(failed())))
                }
                None => (None, None),
            };
            let fd = fd.map(|reader| joined(reader, &view_dir.join("fd")));
            let processes = processes.map(|reader| joined(reader, source.root()));
            let flows = flows
                .map(|reader| {
                    reader
                        .join()
                        .unwrap_or_else(|_| Err(DiagError::netlink("the dumping thread failed")))
                })
                .or(flows_with_rows);
            let neighbours = neighbours.map(|reader| {
                reader
                    .join()
                    .unwrap_or_else(|_| Err(DiagError::netlink("the neighbour thread failed")))
            });
            let listeners = listeners.map(|reader| {
                reader
                    .join()
                    .unwrap_or_else(|_| Err(DiagError::netlink("the listener thread failed")))
            });
            (
                fd,
                processes,
                flows,
                listeners,
                neighbours,
                tables,
                dumped_tables,
            )
        });
    match dumped_tables {
        Some(Ok(from_dump)) => tables.extend(from_dump),
        // The text has the same rows: read it whole (the views sort out
        // whose rows they are).
        Some(Err(why)) => {
            // One reason, told by both tables.
            let why = std::sync::Arc::new(why);
            let mut text = read_whole(source, process, &TCP_TABLES);
            for (_, table) in &mut text {
                if let Ok(Table::Text(read)) = table {
                    *table = Ok(Table::TextAfterFailedDump {
                        text: std::mem::take(read),
                        why: std::sync::Arc::clone(&why),
                    });
                }
            }
            tables.extend(text);
        }
        None => {}
    }
    // The tab's order, whatever came first.
    tables.sort_by_key(|(name, _)| plan.tables.iter().position(|t| t.name == *name));
    let mut snapshot = Snapshot {
        taken_at: chrono::Local::now(),
        instant: Instant::now(),
        tables,
        fd,
        processes,
        flows,
        listeners,
        neighbours,
    };
    if !plan.if_unexplained.is_empty() && needs_other_tables(&snapshot, plan.displayed) {
        let more = read_whole(source, process, &plan.if_unexplained);
        snapshot.tables.extend(more);
    }
    snapshot
}

/// The process's TCP connections as `connections` asks.
fn read_connections(
    kernel: &dyn SockDiag,
    view_dir: &Path,
    connections: Connections<'_>,
    inodes: InodesLater,
) -> Result<FlowDump, DiagError> {
    match connections {
        // Without the listing no connection is known to be the process's:
        // keep none.
        Connections::Own(earlier) => {
            let own = inodes.recv().ok().flatten().unwrap_or_default();
            own_connections(kernel, view_dir, &own, earlier)
        }
        Connections::OwnShown => match inodes.recv().ok().flatten() {
            Some(own) => own_connections(kernel, view_dir, &own, None),
            // The tab then shows the namespace, and says why.
            None => Ok(kernel.connections(view_dir, None)?.0),
        },
        Connections::All | Connections::Skip => Ok(kernel.connections(view_dir, None)?.0),
    }
}

/// The process's own connections (`own`: its socket inodes now). When
/// `earlier` (the last reading of them) accounts for every socket the
/// process holds and is recent, each connection is looked up by itself;
/// otherwise, or if a lookup fails, the namespace is dumped, keeping the
/// process's connections.
pub(crate) fn own_connections(
    kernel: &dyn SockDiag,
    view_dir: &Path,
    own: &FxHashSet<u64>,
    earlier: Option<&FlowDump>,
) -> Result<FlowDump, DiagError> {
    let now = Instant::now();
    if let Some((wanted, known)) = lookups(own, earlier, now) {
        let names: Vec<SocketName> = wanted.into_iter().map(SocketName::from).collect();
        if let Ok((flows, place)) = looked_up_connections(kernel, view_dir, &names) {
            return Ok(FlowDump {
                flows,
                place,
                own: Some(known),
            });
        }
    }
    let (mut dump, in_namespace) = kernel.connections(view_dir, Some(own))?;
    dump.own = Some(OwnConnections::of(own, &dump.flows, now, in_namespace));
    Ok(dump)
}

/// The connections among `names` that a lookup finds, with their
/// counters.
fn looked_up_connections(
    kernel: &dyn SockDiag,
    view_dir: &Path,
    names: &[SocketName],
) -> Result<(Vec<TcpFlow>, DumpPlace), DiagError> {
    let mut flows = Vec::with_capacity(names.len());
    let place = kernel.look_up(view_dir, names, &mut |found| flows.extend(found.flow))?;
    flows.shrink_to_fit();
    Ok((flows, place))
}

/// Where a dump of the TCP tables gets the process's socket inodes from,
/// to leave out the others' sockets (scope own).
enum Sieve {
    /// Keep every socket.
    None,
    /// From `fd/`'s listing, on its way: the sockets described before it
    /// arrives wait for it.
    Later(InodesLater),
    /// Already listed (`None`: it could not be; keep every socket).
    Known(Option<FxHashSet<u64>>),
}

/// What a dump of the TCP tables gave.
struct DumpedRows {
    tables: Tables,
    /// The process's socket inodes it sifted with, when it did.
    inodes: Option<FxHashSet<u64>>,
    /// How many connections the namespace has (every socket but listeners,
    /// TIME_WAIT and request sockets).
    connections: usize,
    place: DumpPlace,
}

/// The sockets of `net/tcp` and `net/tcp6` from one sock_diag dump, the
/// other processes' left out (their fingerprints kept) as `sieve` says.
fn dump_tables(
    kernel: &dyn SockDiag,
    view_dir: &Path,
    sieve: Sieve,
) -> Result<DumpedRows, DiagError> {
    let sifting = !matches!(sieve, Sieve::None);
    let mut sorter = RowSorter {
        inodes: None,
        rows: [Vec::new(), Vec::new()],
        left_out: [FxHashSet::default(), FxHashSet::default()],
        connections: 0,
    };
    let mut waiting = match sieve {
        Sieve::None => None,
        Sieve::Later(inodes) => Some((inodes, Vec::new())),
        Sieve::Known(inodes) => {
            sorter.inodes = inodes;
            None
        }
    };
    let place = kernel.sockets(view_dir, &mut |header| {
        if let Some((inodes, pending)) = &mut waiting {
            match inodes.try_recv() {
                Err(mpsc::TryRecvError::Empty) => {
                    pending.push(header);
                    return;
                }
                got => {
                    sorter.inodes = got.ok().flatten();
                    for earlier in std::mem::take(pending) {
                        sorter.take(earlier);
                    }
                    waiting = None;
                }
            }
        }
        sorter.take(header);
    })?;
    if let Some((inodes, pending)) = waiting {
        sorter.inodes = inodes.recv().ok().flatten();
        for header in pending {
            sorter.take(header);
        }
    }
    let RowSorter {
        inodes,
        rows,
        left_out,
        connections,
    } = sorter;
    let tables = TCP_TABLES
        .into_iter()
        .zip(rows.into_iter().zip(left_out))
        .map(|(name, (rows, left_out))| {
            let left_out = Arc::new(if sifting {
                left_out
            } else {
                Default::default()
            });
            (name, Ok(Table::Dumped { rows, left_out }))
        })
        .collect();
    Ok(DumpedRows {
        tables,
        inodes,
        connections,
        place,
    })
}

/// Puts each socket of a dump with its table, or among those left out.
struct RowSorter {
    /// The process's socket inodes (`None`: unknown, keep every socket).
    inodes: Option<FxHashSet<u64>>,
    rows: [Vec<InetDiagMsg>; 2],
    left_out: [FxHashSet<u64>; 2],
    connections: usize,
}

impl RowSorter {
    fn take(&mut self, header: InetDiagMsg) {
        let table = header.table();
        let index = usize::from(table != TCP_TABLES[0]);
        self.connections += usize::from(is_connection(header.state));
        if let Some(inodes) = &self.inodes {
            if let Some(fingerprint) = left_out_of_dump(table, &header, inodes) {
                self.left_out[index].insert(fingerprint);
                return;
            }
        }
        self.rows[index].push(header);
    }
}

/// The tcp tab's rows in scope own and, `with_connections`, the process's
/// connections with their counters. While the process holds the sockets
/// it held at the last tick (`known`), each is looked up by its cookie
/// and the namespace is not dumped ([`row_lookups`]); otherwise the
/// namespace is dumped, sifted with the inodes `fd/` lists, and the
/// connections among the rows are looked up (or dumped, when the process
/// holds most of the namespace's).
fn own_rows(
    kernel: &dyn SockDiag,
    view_dir: &Path,
    known: Option<KnownRows<'_>>,
    inodes: InodesLater,
    with_connections: bool,
) -> (
    Result<Tables, DiagError>,
    Option<Result<FlowDump, DiagError>>,
) {
    let started = Instant::now();
    let sieve = match known {
        Some(known) => {
            let own = inodes.recv().ok().flatten();
            if let Some(looked_up) = own
                .as_ref()
                .and_then(|own| look_up_rows(kernel, view_dir, own, &known, started))
            {
                let (tables, flows) = looked_up;
                return (Ok(tables), with_connections.then_some(Ok(flows)));
            }
            Sieve::Known(own)
        }
        None => Sieve::Later(inodes),
    };
    let dumped = match dump_tables(kernel, view_dir, sieve) {
        Ok(dumped) => dumped,
        Err(why) => {
            // Without the rows nothing says which connections are the
            // process's; a dump of them would fail the same way.
            let flows = with_connections.then(|| Err(DiagError::netlink(why.to_string())));
            return (Err(why), flows);
        }
    };
    let flows = with_connections.then(|| connections_of_rows(kernel, view_dir, &dumped, started));
    (Ok(dumped.tables), flows)
}

/// The process's sockets looked up one by one, as [`row_lookups`] allows:
/// the tables (the others as the last dump counted them) and the
/// connections. `None` (dump instead) when not allowed, when a lookup
/// fails, or when a socket was not found as it was (closed, or no longer
/// in a table).
fn look_up_rows(
    kernel: &dyn SockDiag,
    view_dir: &Path,
    own: &FxHashSet<u64>,
    known: &KnownRows<'_>,
    now: Instant,
) -> Option<(Tables, FlowDump)> {
    let wanted = row_lookups(own, known, now)?;
    // The answers come in the families they were asked in.
    let v4 = wanted.iter().filter(|name| name.local.is_ipv4()).count();
    let mut rows = [
        Vec::with_capacity(v4),
        Vec::with_capacity(wanted.len() - v4),
    ];
    let mut flows = Vec::with_capacity(wanted.len());
    let mut found = 0;
    let mut all_own = true;
    let place = kernel
        .look_up(view_dir, &wanted, &mut |Found { header, flow }| {
            found += 1;
            all_own &= is_own(own, u64::from(header.inode));
            rows[usize::from(header.table() != TCP_TABLES[0])].push(header);
            flows.extend(flow);
        })
        .ok()?;
    if found != wanted.len() || !all_own {
        return None;
    }
    flows.shrink_to_fit();
    let tables = TCP_TABLES
        .into_iter()
        .zip(rows.into_iter().zip(known.left_out))
        .map(|(name, (rows, left_out))| {
            let table = Table::LookedUp {
                rows,
                left_out: Arc::clone(left_out),
                dumped_at: known.dumped_at,
            };
            (name, Ok(table))
        })
        .collect();
    let in_namespace = known.connections.unwrap_or(flows.len());
    let dump = FlowDump {
        own: Some(OwnConnections::of(
            own,
            &flows,
            known.dumped_at,
            in_namespace,
        )),
        flows,
        place,
    };
    Some((tables, dump))
}

/// The process's connections with their counters, after a dump of the
/// namespace gave its rows (sifted with its socket inodes): each looked up
/// by its cookie, or when that would cost more than the dump (most of the
/// namespace's connections are the process's) or a lookup fails, dumped.
fn connections_of_rows(
    kernel: &dyn SockDiag,
    view_dir: &Path,
    dumped: &DumpedRows,
    dumped_at: Instant,
) -> Result<FlowDump, DiagError> {
    // Without `fd/` the rows are every socket, and none is known to be
    // the process's.
    let none = FxHashSet::default();
    let own = dumped.inodes.as_ref().unwrap_or(&none);
    let wanted: Vec<SocketName> = dumped
        .tables
        .iter()
        .filter_map(|(_, table)| table.as_ref().ok()?.dumped())
        .flatten()
        .filter(|row| is_connection(row.state) && is_own(own, u64::from(row.inode)))
        .map(SocketName::from)
        .collect();
    let looked_up = if wanted.is_empty() {
        Some((Vec::new(), dumped.place.clone()))
    } else if crate::plan::worth_looking_up(wanted.len(), dumped.connections) {
        looked_up_connections(kernel, view_dir, &wanted).ok()
    } else {
        None
    };
    let mut dump = match looked_up {
        Some((flows, place)) => FlowDump {
            flows,
            place,
            own: None,
        },
        None => kernel.connections(view_dir, Some(own))?.0,
    };
    dump.own = Some(OwnConnections::of(
        own,
        &dump.flows,
        dumped_at,
        dumped.connections,
    ));
    Ok(dump)
}

/// Reads the `net/` tables of `reads`, one thread each; those to sift are
/// streamed through one sifting thread, which starts once the process's
/// socket inodes arrive on `inodes`.
fn read_tables<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    source: &'scope ProcSource,
    process: &'scope Process,
    reads: &'scope [TableRead],
    inodes: InodesLater,
) -> Tables {
    let (sender, blocks) = mpsc::channel::<(usize, Block)>();
    let sifter = reads.iter().any(|t| t.sifted).then(|| {
        scope.spawn(move || {
            defer_to_readers();
            let inodes = inodes.recv().ok().flatten();
            let mut kept = vec![String::new(); reads.len()];
            let mut dropped = vec![FxHashSet::default(); reads.len()];
            for (index, block) in blocks {
                match &inodes {
                    Some(inodes) => sift_block(
                        reads[index].name,
                        &block.text,
                        block.first,
                        inodes,
                        &mut kept[index],
                        &mut dropped[index],
                    ),
                    // Without the listing nothing can be told apart: keep all.
                    None => kept[index].push_str(&block.text),
                }
            }
            (kept, dropped)
        })
    });
    let readers: Vec<_> = reads
        .iter()
        .enumerate()
        .map(|(index, read)| {
            let path = source.net_path(process, read.name);
            if read.sifted {
                let sender = sender.clone();
                scope.spawn(move || {
                    source
                        .stream_text(&path, |block| {
                            // The sifter only stops early by panicking.
                            let _ = sender.send((index, block));
                        })
                        .map(|()| None)
                })
            } else {
                scope.spawn(move || source.read_text(&path).map(Some))
            }
        })
        .collect();
    drop(sender);
    let results: Vec<_> = readers
        .into_iter()
        .zip(reads)
        .map(|(reader, read)| joined(reader, &source.net_path(process, read.name)))
        .collect();
    // The sifter only sorts lines and cannot fail; should it, the tables
    // it sifted are reported unreadable rather than empty.
    let mut sifted = sifter.and_then(|sifter| sifter.join().ok());
    results
        .into_iter()
        .zip(reads)
        .enumerate()
        .map(|(index, (result, read))| {
            let table = result.and_then(|whole| match (whole, sifted.as_mut()) {
                (Some(whole), _) => Ok(Table::Text(whole)),
                (None, Some((kept, dropped))) => Ok(Table::Sifted {
                    text: std::mem::take(&mut kept[index]),
                    left_out: Arc::new(std::mem::take(&mut dropped[index])),
                }),
                (None, None) => Err(ReadError::new(
                    source.net_path(process, read.name),
                    io::Error::other("the sifting thread failed"),
                )),
            });
            (read.name, table)
        })
        .collect()
}

/// `net/<name>` for each of `names`, whole, one thread each.
fn read_whole(source: &ProcSource, process: &Process, names: &[&'static str]) -> Tables {
    std::thread::scope(|scope| {
        let readers: Vec<_> = names
            .iter()
            .map(|&name| {
                let path = source.net_path(process, name);
                (name, scope.spawn(move || source.read_text(&path)))
            })
            .collect();
        readers
            .into_iter()
            .map(|(name, reader)| {
                let path = source.net_path(process, name);
                (name, joined(reader, &path).map(Table::Text))
            })
            .collect()
    })
}

/// The result of a reader thread; a thread that panicked (it cannot: the
/// readers only do I/O) is reported as an error of that path.
fn joined<T>(
    reader: std::thread::ScopedJoinHandle<'_, Result<T, ReadError>>,
    path: &Path,
) -> Result<T, ReadError> {
    reader.join().unwrap_or_else(|_| {
        Err(ReadError::new(
            path,
            io::Error::other("the reading thread failed"),
        ))
    })
}

/// Lowers the calling thread's priority (nice 10), so that when there are
/// fewer cores than threads, the threads reading tables — whose read is
/// what a tick waits for — keep a core to themselves. Lowering one's own
/// priority is always allowed; it lasts as long as the thread.
fn defer_to_readers() {
    let tid = nix::unistd::gettid().as_raw();
    // SAFETY: setpriority takes three integers and reads no memory of ours.
    // Should it fail, the thread simply keeps its priority.
    unsafe {
        nix::libc::setpriority(nix::libc::PRIO_PROCESS, tid as nix::libc::id_t, 10);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::neighbours::Neighbour;
    use crate::plan::{Origin, plan};
    use crate::snapshot::{DumpPlace, TcpFlow};
    use crate::vocab::{Scope, Tab, TcpSource};

    /// A kernel that answers from a script and remembers what it was asked.
    #[derive(Default)]
    struct FakeKernel {
        sockets: Vec<InetDiagMsg>,
        connections: Vec<TcpFlow>,
        refuse: bool,
        refuse_lookups: bool,
        asked: Mutex<Vec<&'static str>>,
    }

    impl FakeKernel {
        fn asked(&self) -> Vec<&'static str> {
            self.asked.lock().unwrap().clone()
        }

        /// What it was asked about connections, in order (listeners are
        /// read beside them, on another thread).
        fn asked_for_connections(&self) -> Vec<&'static str> {
            let asked = self.asked();
            asked.into_iter().filter(|a| *a != "listeners").collect()
        }

        fn refusal(&self) -> Result<(), DiagError> {
            if self.refuse {
                Err(DiagError::Netlink(io::Error::from_raw_os_error(
                    nix::libc::EACCES,
                )))
            } else {
                Ok(())
            }
        }
    }

    impl SockDiag for FakeKernel {
        fn connections(
            &self,
            _: &Path,
            only: Option<&FxHashSet<u64>>,
        ) -> Result<(FlowDump, usize), DiagError> {
            self.asked.lock().unwrap().push("connections");
            self.refusal()?;
            let flows = self
                .connections
                .iter()
                .filter(|f| only.is_none_or(|only| only.contains(&f.inode)))
                .cloned()
                .collect();
            let dump = FlowDump {
                flows,
                place: DumpPlace::SameNamespace,
                own: None,
            };
            Ok((dump, self.connections.len()))
        }

        fn look_up(
            &self,
            _: &Path,
            sockets: &[SocketName],
            on_found: &mut (dyn FnMut(Found) + Send),
        ) -> Result<DumpPlace, DiagError> {
            self.asked.lock().unwrap().push("look_up");
            self.refusal()?;
            if self.refuse_lookups {
                return Err(DiagError::netlink("no answer"));
            }
            sockets
                .iter()
                .filter_map(|wanted| {
                    let flow = self
                        .connections
                        .iter()
                        .find(|f| f.cookie == wanted.cookie)
                        .cloned();
                    let header = self
                        .sockets
                        .iter()
                        .find(|h| h.cookie == wanted.cookie)
                        .copied()
                        .or_else(|| flow.as_ref().map(header_of))?;
                    Some(Found { header, flow })
                })
                .for_each(on_found);
            Ok(DumpPlace::SameNamespace)
        }

        fn listeners(&self, _: &Path) -> Result<Vec<InetDiagMsg>, DiagError> {
            self.asked.lock().unwrap().push("listeners");
            self.refusal()?;
            Ok(self
                .sockets
                .iter()
                .filter(|s| s.state == 10)
                .copied()
                .collect())
        }

        fn subscribe_closes(
            &self,
            _: &Path,
            _: Box<dyn FnMut(crate::closes::Delivery<'_>) + Send>,
        ) -> Result<crate::closes::CloseReader, DiagError> {
            Err(DiagError::netlink("a fake kernel has no subscriptions"))
        }

        fn neighbours(&self, _: &Path) -> Result<Vec<Neighbour>, DiagError> {
            self.asked.lock().unwrap().push("neighbours");
            self.refusal()?;
            Ok(Vec::new())
        }

        fn sockets(
            &self,
            _: &Path,
            on_socket: &mut (dyn FnMut(InetDiagMsg) + Send),
        ) -> Result<DumpPlace, DiagError> {
            self.asked.lock().unwrap().push("sockets");
            self.refusal()?;
            for header in &self.sockets {
                on_socket(*header);
            }
            Ok(DumpPlace::SameNamespace)
        }
    }

    /// The captured tree of a process holding TCP sockets 22851 … 22872
    /// (its fd/ links are symlinks in the fixture).
    fn captured() -> (ProcSource, Process) {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/proc/tcp-live");
        let source = ProcSource::new(root);
        let process = source.open_process(15837).expect("the fixture process");
        (source, process)
    }

    fn header(inode: u32, local: &str, remote: &str, state: u8) -> InetDiagMsg {
        let local: std::net::SocketAddr = local.parse().unwrap();
        InetDiagMsg {
            family: if local.is_ipv4() { 2 } else { 10 },
            state,
            timer: 0,
            retransmits: 0,
            local,
            remote: remote.parse().unwrap(),
            interface: 0,
            cookie: u64::from(inode).to_le_bytes(),
            expires_ms: 0,
            rx_queue: 0,
            tx_queue: 0,
            uid: 0,
            inode,
        }
    }

    /// The fixed header of a connection known by its counters.
    fn header_of(flow: &TcpFlow) -> InetDiagMsg {
        InetDiagMsg {
            family: if flow.local.is_ipv4() { 2 } else { 10 },
            state: flow.state,
            timer: 0,
            retransmits: 0,
            local: flow.local,
            remote: flow.peer,
            interface: flow.interface,
            cookie: flow.cookie,
            expires_ms: 0,
            rx_queue: 0,
            tx_queue: 0,
            uid: flow.uid,
            inode: flow.inode as u32,
        }
    }

    fn live_plan(tab: Tab, scope: Scope, earlier: Option<&FlowDump>) -> Plan<'_> {
        plan(&crate::plan::TickInputs {
            earlier,
            ..live_inputs(tab, scope)
        })
    }

    #[test]
    fn the_tcp_tab_keeps_the_processs_dumped_sockets_and_counts_the_others() {
        let (source, process) = captured();
        let kernel = FakeKernel {
            sockets: vec![
                header(22851, "127.0.0.1:5555", "0.0.0.0:0", 10),
                header(99, "127.0.0.1:7000", "0.0.0.0:0", 10),
                header(99_999, "[::1]:5502", "[::]:0", 10),
                header(0, "127.0.0.1:5555", "127.0.0.1:40000", 6),
            ],
            ..FakeKernel::default()
        };
        let snapshot = execute(
            &source,
            &kernel,
            &process,
            &live_plan(Tab::Tcp, Scope::Own, None),
        );
        let tcp = snapshot.table("tcp").unwrap().unwrap();
        let kept: Vec<u32> = tcp.dumped().unwrap().iter().map(|h| h.inode).collect();
        // The process's listener stays; the neighbour's listener and the
        // inode-less TIME_WAIT (no process's) are only counted.
        assert_eq!(kept, [22851]);
        assert_eq!(tcp.left_out().map(|set| set.len()), Some(2));
        let tcp6 = snapshot.table("tcp6").unwrap().unwrap();
        assert!(tcp6.dumped().unwrap().is_empty());
        assert_eq!(tcp6.left_out().map(|set| set.len()), Some(1));
        assert!(snapshot.fd.as_ref().unwrap().is_ok());
        assert_eq!(
            kernel.asked().iter().filter(|a| **a == "sockets").count(),
            1
        );
        // In scope all nothing is left out.
        let all = execute(
            &source,
            &kernel,
            &process,
            &live_plan(Tab::Tcp, Scope::All, None),
        );
        let tcp = all.table("tcp").unwrap().unwrap();
        assert_eq!(tcp.dumped().unwrap().len(), 3);
        assert!(tcp.left_out().unwrap().is_empty());
    }

    /// The namespace of the captured process: its listener 22851 and
    /// connection 22870, a neighbour's listener and connection, a
    /// TIME_WAIT socket, and 1 000 more listeners (a namespace big enough
    /// for lookups: `plan::DUMP_BELOW`).
    fn namespace_with_a_connection() -> FakeKernel {
        let mut sockets = vec![
            header(22851, "127.0.0.1:5555", "0.0.0.0:0", 10),
            header(22870, "127.0.0.1:6000", "127.0.0.1:40870", 1),
            header(99, "127.0.0.1:7000", "0.0.0.0:0", 10),
            header(98, "127.0.0.1:7000", "127.0.0.1:40098", 1),
            header(0, "127.0.0.1:5555", "127.0.0.1:40000", 6),
        ];
        sockets.extend((0..1000).map(|i| {
            header(
                100_000 + i,
                &format!("127.0.0.1:{}", 20_000 + i),
                "0.0.0.0:0",
                10,
            )
        }));
        FakeKernel {
            sockets,
            connections: vec![TcpFlow::sample(22870, 100), TcpFlow::sample(98, 7)],
            ..FakeKernel::default()
        }
    }

    fn tcp_plan_after<'a>(known: Option<KnownRows<'a>>) -> Plan<'a> {
        plan(&crate::plan::TickInputs {
            earlier_rows: known,
            ..live_inputs(Tab::Tcp, Scope::Own)
        })
    }

    fn live_inputs(tab: Tab, scope: Scope) -> crate::plan::TickInputs<'static> {
        crate::plan::TickInputs {
            tab,
            scope,
            origin: Origin::Live,
            tcp_source: TcpSource::Netlink,
            with_rate: true,
            earlier: None,
            scan_listener_owners: false,
            earlier_rows: None,
        }
    }

    fn inodes_of(snapshot: &Snapshot, table: &str) -> Vec<u32> {
        let rows = snapshot.table(table).unwrap().unwrap().dumped().unwrap();
        rows.iter().map(|h| h.inode).collect()
    }

    #[test]
    fn the_tcp_tab_looks_up_the_sockets_it_knew_instead_of_dumping_the_namespace() {
        let (source, process) = captured();
        let kernel = namespace_with_a_connection();
        let first = execute(&source, &kernel, &process, &tcp_plan_after(None));
        // One dump for the rows; the connection among them is looked up
        // by its cookie for its counters, not dumped again.
        assert_eq!(kernel.asked_for_connections(), ["sockets", "look_up"]);
        assert_eq!(inodes_of(&first, "tcp"), [22851, 22870]);
        let flows = first.flows.as_ref().unwrap().as_ref().unwrap();
        assert_eq!(
            flows.flows.iter().map(|f| f.inode).collect::<Vec<_>>(),
            [22870]
        );
        let own = flows.own.as_ref().unwrap();
        assert_eq!(own.in_namespace, 2, "both connections of the namespace");
        assert!(own.others.contains(&22851));

        // The process holds the same sockets: each is looked up, the
        // namespace is not dumped, and the others are those counted then.
        let known = KnownRows::of(&first).expect("scope own rows over sock_diag");
        assert_eq!(known.namespace(), 1005);
        let second = execute(&source, &kernel, &process, &tcp_plan_after(Some(known)));
        assert_eq!(
            kernel.asked_for_connections(),
            ["sockets", "look_up", "look_up"]
        );
        let tcp = second.table("tcp").unwrap().unwrap();
        assert!(matches!(tcp, Table::LookedUp { .. }), "{tcp:?}");
        assert_eq!(inodes_of(&second, "tcp"), [22851, 22870]);
        assert!(std::sync::Arc::ptr_eq(
            tcp.left_out().unwrap(),
            first.table("tcp").unwrap().unwrap().left_out().unwrap()
        ));
        assert_eq!(tcp.others_counted_at(), Some(first.instant));
        let flows = second.flows.as_ref().unwrap().as_ref().unwrap();
        assert_eq!(flows.flows.len(), 1);
        assert_eq!(flows.flows[0].bytes_acked, 100);
        let own = flows.own.as_ref().unwrap();
        assert_eq!((own.in_namespace, own.dumped_at), (2, first.instant));
        // A tick built on a looked-up one knows as much.
        let known = KnownRows::of(&second).unwrap();
        assert_eq!(known.dumped_at, first.instant);
        assert_eq!(known.namespace(), 1005);

        // A socket that is no longer found as it was (here: gone from the
        // kernel while still listed in fd/): the namespace is dumped.
        let closed = FakeKernel {
            sockets: kernel.sockets[..1].to_vec(),
            ..FakeKernel::default()
        };
        let third = execute(&source, &closed, &process, &tcp_plan_after(Some(known)));
        assert_eq!(closed.asked_for_connections(), ["look_up", "sockets"]);
        assert!(matches!(third.table("tcp"), Some(Ok(Table::Dumped { .. }))));
        assert_eq!(inodes_of(&third, "tcp"), [22851]);
    }

    #[test]
    fn rows_of_every_socket_are_no_basis_for_lookups() {
        let (source, process) = captured();
        let kernel = namespace_with_a_connection();
        let all = execute(
            &source,
            &kernel,
            &process,
            &plan(&live_inputs(Tab::Tcp, Scope::All)),
        );
        assert_eq!(KnownRows::of(&all), None, "the neighbour's rows are there");
        // A tab other than tcp never looks its rows up.
        let own = execute(&source, &kernel, &process, &tcp_plan_after(None));
        let known = KnownRows::of(&own);
        assert!(known.is_some());
        let udp = plan(&crate::plan::TickInputs {
            earlier_rows: known,
            ..live_inputs(Tab::Udp, Scope::Own)
        });
        assert_eq!(udp.known_rows, None);
    }

    #[test]
    fn a_refused_dump_reads_the_files_and_says_why() {
        let (source, process) = captured();
        let kernel = FakeKernel {
            refuse: true,
            ..FakeKernel::default()
        };
        let snapshot = execute(
            &source,
            &kernel,
            &process,
            &live_plan(Tab::Tcp, Scope::Own, None),
        );
        for name in TCP_TABLES {
            match snapshot.table(name) {
                Some(Ok(Table::TextAfterFailedDump { text, why })) => {
                    assert!(text.contains(" 22851 ") || name == "tcp6", "{name}: {text}");
                    assert!(why.to_string().contains("permission denied"), "{why}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(snapshot.failed_dump().is_some());
        // The connections for the status box were asked for, and failed.
        assert!(matches!(snapshot.flows, Some(Err(_))));
    }

    #[test]
    fn own_connections_are_dumped_then_looked_up_and_dumped_again_when_a_lookup_fails() {
        let (source, process) = captured();
        // 22870 is one of the process's sockets; 5 is a neighbour's.
        let kernel = FakeKernel {
            connections: vec![TcpFlow::sample(22870, 100), TcpFlow::sample(5, 7)],
            ..FakeKernel::default()
        };
        let first = execute(
            &source,
            &kernel,
            &process,
            &live_plan(Tab::Stats, Scope::Own, None),
        );
        let dump = first.flows.unwrap().unwrap();
        assert_eq!(
            dump.flows.iter().map(|f| f.inode).collect::<Vec<_>>(),
            [22870]
        );
        let known = dump.own.clone().expect("what the next tick needs");
        assert_eq!(known.in_namespace, 2);
        assert!(
            known.others.contains(&22851),
            "its listener is no connection"
        );
        assert_eq!(kernel.asked_for_connections(), ["connections"]);

        // Every socket explained: looked up, not dumped.
        let second = execute(
            &source,
            &kernel,
            &process,
            &live_plan(Tab::Stats, Scope::Own, Some(&dump)),
        );
        assert_eq!(kernel.asked_for_connections(), ["connections", "look_up"]);
        assert_eq!(second.flows.unwrap().unwrap().flows.len(), 1);

        // A lookup that fails falls back to a dump.
        let failing = FakeKernel {
            connections: vec![TcpFlow::sample(22870, 100)],
            refuse_lookups: true,
            ..FakeKernel::default()
        };
        let third = execute(
            &source,
            &failing,
            &process,
            &live_plan(Tab::Stats, Scope::Own, Some(&dump)),
        );
        assert_eq!(failing.asked_for_connections(), ["look_up", "connections"]);
        assert_eq!(third.flows.unwrap().unwrap().flows.len(), 1);
    }

    #[test]
    fn the_flows_tab_in_scope_all_dumps_every_connection_and_a_capture_asks_nothing() {
        let (source, process) = captured();
        let kernel = FakeKernel {
            connections: vec![TcpFlow::sample(22870, 100), TcpFlow::sample(5, 7)],
            ..FakeKernel::default()
        };
        let all = execute(
            &source,
            &kernel,
            &process,
            &live_plan(Tab::Flows, Scope::All, None),
        );
        assert_eq!(all.flows.unwrap().unwrap().flows.len(), 2);
        let captured_plan = plan(&crate::plan::TickInputs {
            origin: Origin::Captured,
            ..live_inputs(Tab::Tcp, Scope::Own)
        });
        let quiet = FakeKernel::default();
        let snapshot = execute(&source, &quiet, &process, &captured_plan);
        assert!(quiet.asked().is_empty(), "{:?}", quiet.asked());
        assert!(snapshot.flows.is_none());
        assert!(matches!(
            snapshot.table("tcp"),
            Some(Ok(Table::Sifted { .. }))
        ));
    }
}
