//! The arp tab: the namespace's IPv4 neighbour table (`net/arp`), its
//! IPv6 neighbours (what `ip -6 neigh` shows: no `/proc` file has them, so
//! a live snapshot asks the kernel over rtnetlink, see
//! [`crate::neighbours`]) and the ARP cache statistics
//! (`net/stat/arp_cache`) with their change since the previous tick.
//!
//! `net/arp` prints `0x0` for incomplete and failed neighbours alike; when
//! the rtnetlink reading is there, a neighbour the kernel marks FAILED
//! reads `failed`, as `ip neigh` says.
//!
//! The neighbour table answers "does this host know the MAC of its
//! gateway/peer?"; the cache statistics answer "are resolutions failing or
//! the table overflowing?". The statistics file exists only in the initial
//! network namespace (and counts every namespace together), so elsewhere
//! the tab says so instead of failing.

use super::changes::{Change, bad_line_notes, changes_line, file_text, text_of};
use super::{Tab, ViewContext};
use crate::neighbours::Neighbour;
use crate::parse::arp::{ArpEntry, NeighCacheCounters, parse_arp_table, parse_neigh_cache_stats};
use crate::render::{
    Block, Cell, Column, Emphasis, Fact, Family, MetricKind, Problem, Row, Screen, TableBlock,
    Value, plural,
};
use crate::snapshot::Snapshot;

const ARP: &str = "arp";
const ARP_CACHE: &str = "stat/arp_cache";

/// What is shown where `stat/arp_cache` does not exist.
pub const HOST_ONLY: &str = "ARP cache statistics are only available in the host namespace";

static NEIGHBOURS: Family = Family {
    name: "netmonitor_arp_neighbours",
    kind: MetricKind::Gauge,
    help: "Entries of the namespace's neighbour table (net/arp), by state",
};
static CACHE_COUNTERS: Family = Family {
    name: "netmonitor_arp_cache",
    kind: MetricKind::Counter,
    help: "ARP cache statistics of the host, all namespaces together (net/stat/arp_cache)",
};
static CACHE_ENTRIES: Family = Family {
    name: "netmonitor_arp_cache_entries",
    kind: MetricKind::Gauge,
    help: "Neighbour entries in the host's ARP table (net/stat/arp_cache)",
};

/// The tab's screen, narrowed by the `filter` (see [`super::name_filter`]).
pub fn view(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut screen = unfiltered(ctx, now, previous);
    super::name_filter::apply(
        &mut screen,
        ctx.view.filter.as_ref(),
        &[
            ("neighbours", "neighbours"),
            ("ipv6_neighbours", "neighbours"),
        ],
    );
    screen
}

fn unfiltered(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut status = ctx.namespace_status(Tab::Arp, now);
    status.push(changes_line(now, previous));
    let netlink = Netlink::of(now);
    Screen {
        status,
        blocks: vec![
            neighbours(now, &netlink),
            ipv6_neighbours(&netlink),
            cache_statistics(now, previous),
        ],
        ..Screen::default()
    }
}

const NEIGHBOUR_COLUMNS: [Column; 6] = [
    Column::new("IP address", "ip"),
    Column::new("HW type", "hw_type").importance(2),
    Column::new("Flags", "flags"),
    Column::new("HW address", "hw_address").importance(5),
    Column::new("Mask", "mask").importance(0),
    Column::new("Device", "device"),
];

/// What the snapshot holds of the rtnetlink neighbour dump.
enum Netlink {
    /// Not asked: a captured tree has no kernel to ask.
    NotAsked,
    Failed(String),
    Read(Vec<Neighbour>),
}

impl Netlink {
    fn of(now: &Snapshot) -> Netlink {
        match &now.neighbours {
            None => Netlink::NotAsked,
            Some(Err(e)) => Netlink::Failed(e.to_string()),
            Some(Ok(neighbours)) => Netlink::Read(neighbours.clone()),
        }
    }

    /// Whether the kernel marks `entry` FAILED.
    fn failed(&self, entry: &ArpEntry) -> bool {
        let Netlink::Read(all) = self else {
            return false;
        };
        all.iter().any(|n| {
            n.address == std::net::IpAddr::V4(entry.ip)
                && n.device == entry.device
                && n.state & NUD_FAILED != 0
        })
    }
}

const NUD_FAILED: u16 = 0x20;

fn neighbours(now: &Snapshot, netlink: &Netlink) -> Block {
    let text = match file_text(now, ARP).or_explain(
        Some("Neighbours"),
        "Neighbours: this namespace has no net/arp file",
    ) {
        Ok(text) => text,
        Err(line) => return Block::Text(vec![line]),
    };
    let parsed = parse_arp_table(text);
    let mut entries = parsed.rows;
    // The kernel lists neighbours in hash order, which changes between
    // reads: sort so a refresh does not shuffle rows. Proxy entries last,
    // as the kernel prints them.
    entries.sort_by(|a, b| {
        (a.flags.is_proxy(), a.ip, &a.device).cmp(&(b.flags.is_proxy(), b.ip, &b.device))
    });
    let failed: Vec<bool> = entries.iter().map(|e| netlink.failed(e)).collect();
    let rows = entries
        .iter()
        .zip(&failed)
        .map(|(entry, &failed)| neighbour_row(entry, failed))
        .collect();
    let mut notes = vec![neighbour_summary(&entries, &failed)];
    notes.extend(bad_line_notes(ARP, &parsed.bad_lines));
    let mut facts = vec![Fact::new("rows", Value::UInt(entries.len() as u64))];
    facts.extend(
        neighbour_counts(&entries, &failed)
            .into_iter()
            .map(|(n, kind)| {
                Fact::new("neighbours", Value::UInt(n as u64))
                    .label("state", kind)
                    .metric(&NEIGHBOURS)
            }),
    );
    Block::Table(TableBlock {
        key: "neighbours".into(),
        title: Some("Neighbours (net/arp)".into()),
        columns: NEIGHBOUR_COLUMNS.to_vec(),
        rows,
        notes,
        facts,
        problems: Problem::lines(ARP, &parsed.bad_lines),
        labels: Vec::new(),
        unbuilt_rows: 0,
        later_rows: 0,
    })
}

/// A row of `net/arp`; `failed` when rtnetlink says the kernel gave up
/// resolving it (the file prints such an entry as incomplete).
fn neighbour_row(entry: &ArpEntry, failed: bool) -> Row {
    // A proxy entry without a device has HW type 0, which is not NET/ROM.
    let hw_type = match (entry.device(), entry.hw_type_name()) {
        (None, _) if entry.hw_type == 0 => "-".to_string(),
        (_, Some(name)) => name.to_string(),
        (_, None) => format!("{:#x}", entry.hw_type),
    };
    let hw_address = if entry.hw_address.is_empty() {
        "-".to_string()
    } else {
        entry.hw_address.clone()
    };
    let text_or_null = |text: String| {
        if text == "-" {
            Cell::null(text)
        } else {
            Cell::text(text)
        }
    };
    Row {
        cells: vec![
            Cell::text(entry.ip.to_string()),
            text_or_null(hw_type),
            Cell::text(if failed && !entry.flags.is_complete() {
                entry.flags.to_string().replacen("incomplete", "failed", 1)
            } else {
                entry.flags.to_string()
            }),
            text_or_null(hw_address),
            Cell::text(entry.mask.clone()),
            Cell::text(entry.device.clone()),
        ],
        emphasis: if entry.flags.is_complete() || entry.flags.is_proxy() {
            Emphasis::None
        } else {
            Emphasis::Dim
        },
        total: false,
    }
}

/// `9 entries: 2 complete, 3 permanent, 2 incomplete, 2 proxy`.
fn neighbour_summary(entries: &[ArpEntry], failed: &[bool]) -> String {
    let parts: Vec<String> = neighbour_counts(entries, failed)
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, word)| format!("{n} {word}"))
        .collect();
    let total = entries.len();
    if parts.is_empty() {
        return "0 entries".into();
    }
    format!(
        "{total} {}: {}",
        plural(total, "entry", "entries"),
        parts.join(", ")
    )
}

/// How many entries of each kind, zeros included (`failed` only when
/// some entry is: `net/arp` alone cannot tell).
fn neighbour_counts(entries: &[ArpEntry], failed: &[bool]) -> Vec<(usize, &'static str)> {
    let mut counts = vec![
        (0usize, "complete"),
        (0, "permanent"),
        (0, "incomplete"),
        (0, "proxy"),
        (0, "failed"),
    ];
    for (entry, &failed) in entries.iter().zip(failed) {
        let kind = if entry.flags.is_proxy() {
            3
        } else if entry.flags.is_permanent() {
            1
        } else if entry.flags.is_complete() {
            0
        } else if failed {
            4
        } else {
            2
        };
        counts[kind].0 += 1;
    }
    if counts[4].0 == 0 {
        counts.pop();
    }
    counts
}

const IPV6_COLUMNS: [Column; 5] = [
    Column::new("IPv6 address", "ip"),
    Column::new("HW address", "hw_address").importance(5),
    Column::new("State", "state"),
    Column::new("Router", "router").importance(1),
    Column::new("Device", "device"),
];

/// The IPv6 neighbours, as `ip -6 neigh` lists them.
fn ipv6_neighbours(netlink: &Netlink) -> Block {
    let all = match netlink {
        Netlink::NotAsked => {
            return Block::Text(vec![
                "IPv6 neighbours: read over rtnetlink from a live system only (a captured tree \
                 has none)"
                    .into(),
            ]);
        }
        Netlink::Failed(why) => return Block::Text(vec![format!("IPv6 neighbours: {why}")]),
        Netlink::Read(all) => all,
    };
    let mut entries: Vec<&Neighbour> = all.iter().filter(|n| n.address.is_ipv6()).collect();
    entries.sort_by(|a, b| (a.address, &a.device).cmp(&(b.address, &b.device)));
    let rows = entries
        .iter()
        .map(|n| Row {
            cells: vec![
                Cell::text(n.address.to_string()),
                match n.lladdr_text().as_str() {
                    "-" => Cell::null("-"),
                    text => Cell::text(text),
                },
                Cell::text(n.state_name()),
                Cell::new(if n.router { "router" } else { "" }, Value::Bool(n.router)),
                Cell::text(n.device.clone()),
            ],
            emphasis: if n.state & (NUD_FAILED | 0x01) != 0 {
                Emphasis::Dim
            } else {
                Emphasis::None
            },
            total: false,
        })
        .collect();
    let mut by_state: Vec<(String, usize)> = Vec::new();
    for n in &entries {
        let state = n.state_name();
        match by_state.iter_mut().find(|(s, _)| *s == state) {
            Some(entry) => entry.1 += 1,
            None => by_state.push((state, 1)),
        }
    }
    let total = entries.len();
    let summary = if total == 0 {
        "0 entries".to_string()
    } else {
        let parts: Vec<String> = by_state.iter().map(|(s, n)| format!("{n} {s}")).collect();
        format!(
            "{total} {}: {}",
            plural(total, "entry", "entries"),
            parts.join(", ")
        )
    };
    Block::Table(TableBlock {
        key: "ipv6_neighbours".into(),
        title: Some("IPv6 neighbours (rtnetlink, as ip -6 neigh)".into()),
        columns: IPV6_COLUMNS.to_vec(),
        rows,
        notes: vec![summary],
        facts: vec![Fact::new("rows", Value::UInt(total as u64))],
        ..TableBlock::default()
    })
}

/// One counter of the cache statistics: the column name, what it means,
/// and whether it is a gauge (current value) rather than a counter.
struct CacheCounter {
    name: String,
    meaning: &'static str,
    value: u64,
    gauge: bool,
}

/// The counters of a total in display order; `table_fulls` and unknown
/// columns only when the kernel printed them.
fn cache_counters(c: &NeighCacheCounters) -> Vec<CacheCounter> {
    let known = [
        (
            "entries",
            "neighbour entries now (whole table)",
            c.entries,
            true,
        ),
        ("allocs", "entries allocated", c.allocs, false),
        ("destroys", "entries freed", c.destroys, false),
        ("hash_grows", "hash table resizes", c.hash_grows, false),
        ("lookups", "lookups", c.lookups, false),
        ("hits", "lookups that found an entry", c.hits, false),
        ("res_failed", "failed resolutions", c.res_failed, false),
        (
            "rcv_probes_mcast",
            "broadcast probes received",
            c.rcv_probes_mcast,
            false,
        ),
        (
            "rcv_probes_ucast",
            "unicast probes received",
            c.rcv_probes_ucast,
            false,
        ),
        (
            "periodic_gc_runs",
            "periodic GC runs",
            c.periodic_gc_runs,
            false,
        ),
        (
            "forced_gc_runs",
            "forced GC runs (table near full)",
            c.forced_gc_runs,
            false,
        ),
        (
            "unresolved_discards",
            "packets dropped waiting for resolution",
            c.unresolved_discards,
            false,
        ),
    ];
    let mut out: Vec<CacheCounter> = known
        .into_iter()
        .map(|(name, meaning, value, gauge)| CacheCounter {
            name: name.to_string(),
            meaning,
            value,
            gauge,
        })
        .collect();
    if let Some(value) = c.table_fulls {
        out.push(CacheCounter {
            name: "table_fulls".into(),
            meaning: "table full, nothing could be freed",
            value,
            gauge: false,
        });
    }
    out.extend(c.other.iter().map(|(name, value)| CacheCounter {
        name: name.clone(),
        meaning: "",
        value: *value,
        gauge: false,
    }));
    out
}

fn cache_statistics(now: &Snapshot, previous: Option<&Snapshot>) -> Block {
    let text = match file_text(now, ARP_CACHE).or_explain(Some("ARP cache statistics"), HOST_ONLY) {
        Ok(text) => text,
        Err(line) => return Block::Text(vec![line]),
    };
    let stats = match parse_neigh_cache_stats(text) {
        Ok(stats) => stats,
        Err(e) => {
            return Block::Text(vec![format!(
                "ARP cache statistics: {ARP_CACHE} could not be parsed ({e})"
            )]);
        }
    };
    // The previous totals, when that tick read the file and it parsed.
    let before: Option<Option<Vec<CacheCounter>>> = previous.map(|p| {
        text_of(Some(p), ARP_CACHE)
            .and_then(|t| parse_neigh_cache_stats(t).ok())
            .map(|s| cache_counters(&s.total))
    });
    let rows = cache_counters(&stats.total)
        .into_iter()
        .map(|counter| {
            let previous_value = before.as_ref().map(|b| {
                b.as_ref()
                    .and_then(|list| list.iter().find(|c| c.name == counter.name))
                    .map(|c| c.value)
            });
            let change = if counter.gauge {
                Change::gauge(
                    previous_value.map(|v| v.map(i128::from)),
                    i128::from(counter.value),
                )
            } else {
                Change::counter(previous_value, counter.value)
            };
            let family = if counter.gauge {
                &CACHE_ENTRIES
            } else {
                &CACHE_COUNTERS
            };
            Row {
                cells: vec![
                    Cell::text(counter.name),
                    Cell::uint(counter.value).metric(family),
                    change.typed_cell("change_status"),
                    Cell::text(counter.meaning),
                ],
                emphasis: if change.moved() {
                    Emphasis::Highlight
                } else {
                    Emphasis::None
                },
                total: false,
            }
        })
        .collect();
    let cpus = stats.per_cpu.len();
    let mut notes = vec![
        "counted for all network namespaces together; entries is the host table's size".into(),
    ];
    notes.extend(bad_line_notes(ARP_CACHE, &stats.bad_lines));
    Block::Table(TableBlock {
        key: "cache_statistics".into(),
        title: Some(format!(
            "ARP cache statistics (net/{ARP_CACHE}, summed over {cpus} {})",
            plural(cpus, "CPU", "CPUs")
        )),
        columns: vec![
            Column::new("Counter", "counter").label("counter"),
            Column::new("Value", "value").numeric(),
            Column::new("Change", "change").numeric().importance(5),
            Column::new("Meaning", "meaning").shortens(),
        ],
        rows,
        notes,
        facts: vec![Fact::new("cpus", Value::UInt(cpus as u64))],
        problems: Problem::lines(ARP_CACHE, &stats.bad_lines),
        labels: Vec::new(),
        unbuilt_rows: 0,
        later_rows: 0,
    })
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;

    use super::*;
    use crate::tabs::CounterDisplay;
    use crate::tabs::testing::{failed, ok, show, snapshot};

    const ARP_618: &str = include_str!("../../testdata/files/arp-6.18");
    const CACHE_618: &str = include_str!("../../testdata/files/arp_cache-6.18");
    const CACHE_OLD: &str = include_str!("../../testdata/files/arp_cache-old-spacing");

    fn arp(now: &Snapshot, previous: Option<&Snapshot>) -> String {
        show(Tab::Arp, CounterDisplay::default(), now, previous)
    }

    #[test]
    fn first_display_of_the_captured_tables() {
        let now = snapshot(0, vec![ok(ARP, ARP_618), ok(ARP_CACHE, CACHE_618)]);
        insta::assert_snapshot!(arp(&now, None));
    }

    #[test]
    fn cache_changes_since_the_previous_tick() {
        let before = snapshot(0, vec![ok(ARP, ARP_618), ok(ARP_CACHE, CACHE_618)]);
        // Two failed resolutions and a new entry on CPU 1; lookups wrapped
        // back (a reset) on CPU 0.
        let later = CACHE_618
            .replace(
                "0000000c 0000000e 00000008 00000000   0000001f 00000004 00000000",
                "0000000d 0000000f 00000008 00000000   00000021 00000004 00000002",
            )
            .replace(
                "0000000c 00000011 0000000b 00000001   0000001e",
                "0000000d 00000011 0000000b 00000001   00000000",
            );
        let now = snapshot(2, vec![ok(ARP, ARP_618), ok(ARP_CACHE, &later)]);
        let text = arp(&now, Some(&before));
        assert!(
            text.contains("changes and rates over the last 2 s"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn outside_the_host_namespace_the_statistics_are_explained() {
        let now = snapshot(
            0,
            vec![ok(ARP, ARP_618), failed(ARP_CACHE, ErrorKind::NotFound)],
        );
        let text = arp(&now, None);
        assert!(text.contains(HOST_ONLY), "{text}");
        assert!(text.contains("namespace-wide · net:[4026532281]"), "{text}");
        assert!(text.contains("198.51.100.78"), "{text}");
    }

    #[test]
    fn an_unreadable_table_is_named_and_the_rest_survives() {
        let now = snapshot(
            0,
            vec![
                failed(ARP, ErrorKind::PermissionDenied),
                ok(ARP_CACHE, CACHE_OLD),
            ],
        );
        let text = arp(&now, None);
        insta::assert_snapshot!(text);
        assert!(text.contains("cannot read /proc/4242/net/arp (permission denied)"));
        assert!(text.contains("summed over 4 CPUs"), "{text}");
    }

    #[test]
    fn damaged_files_keep_their_good_lines() {
        let arp_bad = format!("{ARP_618}garbage line\n192.0.2.9 0x1 0x2\n");
        let now = snapshot(
            0,
            vec![ok(ARP, &arp_bad), ok(ARP_CACHE, "entries allocs\n1 2\n")],
        );
        let text = arp(&now, None);
        assert!(
            text.contains("2 lines of arp could not be parsed"),
            "{text}"
        );
        assert!(text.contains("198.51.100.2 "), "{text}");
        assert!(
            text.contains("ARP cache statistics: stat/arp_cache could not be parsed"),
            "{text}"
        );
    }

    #[test]
    fn hostile_device_names_stay_in_their_cell() {
        let line =
            "192.0.2.7        0x1         0x2         02:00:00:00:00:07     *        ev\x1b[2Jil\n";
        let now = snapshot(
            0,
            vec![
                ok(
                    ARP,
                    &format!("{}\n{line}", ARP_618.lines().next().unwrap_or("")),
                ),
                failed(ARP_CACHE, ErrorKind::NotFound),
            ],
        );
        let text = arp(&now, None);
        assert!(!text.contains('\x1b'));
        assert!(text.contains("ev\\x1b[2Jil"), "{text}");
    }

    #[test]
    fn summary_counts_each_kind() {
        let entries = parse_arp_table(ARP_618).rows;
        let none_failed = vec![false; entries.len()];
        assert_eq!(
            neighbour_summary(&entries, &none_failed),
            "9 entries: 2 complete, 3 permanent, 2 incomplete, 2 proxy"
        );
        assert_eq!(neighbour_summary(&[], &[]), "0 entries");
        // rtnetlink says one of the incomplete ones failed.
        let first_incomplete = entries
            .iter()
            .position(|e| !e.flags.is_complete() && !e.flags.is_proxy())
            .unwrap();
        let mut one_failed = none_failed;
        one_failed[first_incomplete] = true;
        assert_eq!(
            neighbour_summary(&entries, &one_failed),
            "9 entries: 2 complete, 3 permanent, 1 incomplete, 2 proxy, 1 failed"
        );
    }

    #[test]
    fn rtnetlink_neighbours_give_ipv6_rows_and_failed_ipv4_ones() {
        let entry = |lines: &str| -> Vec<Neighbour> {
            lines
                .lines()
                .filter_map(crate::neighbours::parse_line)
                .collect()
        };
        let arp_text = "IP address       HW type     Flags       HW address            Mask     Device\n\
                        10.9.0.5         0x1         0x0         00:00:00:00:00:00     *        v0\n\
                        10.9.0.7         0x1         0x0         00:00:00:00:00:00     *        v0\n";
        let mut now = snapshot(
            0,
            vec![ok(ARP, arp_text), failed(ARP_CACHE, ErrorKind::NotFound)],
        );
        now.neighbours = Some(Ok(entry(
            "10.9.0.5\tv0\t-\t20\t0\n\
             10.9.0.7\tv0\t-\t1\t0\n\
             fd00::3\tv0\t-\t20\t0\n\
             fd00::2\tv0\t02:00:00:00:00:02\t80\t1\n",
        )));
        let text = arp(&now, None);
        let line = |ip: &str| {
            text.lines()
                .find(|l| l.contains(&format!(" {ip} ")))
                .unwrap_or_else(|| panic!("{ip}: {text}"))
                .to_string()
        };
        assert!(line("10.9.0.5").contains(" failed "), "{text}");
        assert!(line("10.9.0.7").contains(" incomplete "), "{text}");
        assert!(text.contains("2 entries: 1 incomplete, 1 failed"), "{text}");
        assert!(
            text.contains("IPv6 neighbours (rtnetlink, as ip -6 neigh)"),
            "{text}"
        );
        let v6 = line("fd00::2");
        assert!(
            v6.contains("02:00:00:00:00:02") && v6.contains("router") && v6.contains("PERMANENT"),
            "{v6}"
        );
        assert!(line("fd00::3").contains("FAILED"), "{text}");
        assert!(
            text.contains("2 entries: 1 PERMANENT, 1 FAILED")
                || text.contains("2 entries: 1 FAILED, 1 PERMANENT"),
            "{text}"
        );
        // Without the entry (a captured tree), the tab says why.
        let captured = snapshot(0, vec![ok(ARP, arp_text)]);
        let text = arp(&captured, None);
        assert!(
            text.contains("IPv6 neighbours: read over rtnetlink from a live system only"),
            "{text}"
        );
        assert!(line_free(&text, "failed"), "{text}");
    }

    fn line_free(text: &str, word: &str) -> bool {
        text.lines().all(|l| !l.contains(&format!(" {word} ")))
    }
}
