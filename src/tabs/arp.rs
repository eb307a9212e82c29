//! The arp tab: the namespace's IPv4 neighbour table (`net/arp`) and the
//! ARP cache statistics (`net/stat/arp_cache`) with their change since the
//! previous tick.
//!
//! The neighbour table answers "does this host know the MAC of its
//! gateway/peer?"; the cache statistics answer "are resolutions failing or
//! the table overflowing?". The statistics file exists only in the initial
//! network namespace (and counts every namespace together), so elsewhere
//! the tab says so instead of failing.

use super::changes::{Change, bad_line_notes, changes_line, file_text, text_of};
use super::{Tab, ViewContext};
use crate::parse::arp::{ArpEntry, NeighCacheCounters, parse_arp_table, parse_neigh_cache_stats};
use crate::render::{
    Block, Cell, Column, Emphasis, Fact, Family, MetricKind, Problem, Row, Screen, TableBlock,
    Value, plural,
};
use crate::source::Snapshot;

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
        &[("neighbours", "neighbours")],
    );
    screen
}

fn unfiltered(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut status = ctx.namespace_status(Tab::Arp, now);
    status.push(changes_line(now, previous));
    Screen {
        status,
        blocks: vec![neighbours(now), cache_statistics(now, previous)],
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

fn neighbours(now: &Snapshot) -> Block {
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
    let rows = entries.iter().map(neighbour_row).collect();
    let mut notes = vec![neighbour_summary(&entries)];
    notes.extend(bad_line_notes(ARP, &parsed.bad_lines));
    let mut facts = vec![Fact::new("rows", Value::UInt(entries.len() as u64))];
    facts.extend(neighbour_counts(&entries).into_iter().map(|(n, kind)| {
        Fact::new("neighbours", Value::UInt(n as u64))
            .label("state", kind)
            .metric(&NEIGHBOURS)
    }));
    Block::Table(TableBlock {
        key: "neighbours".into(),
        title: Some("Neighbours (net/arp)".into()),
        columns: NEIGHBOUR_COLUMNS.to_vec(),
        rows,
        notes,
        facts,
        problems: Problem::lines(ARP, &parsed.bad_lines),
        labels: Vec::new(),
    })
}

fn neighbour_row(entry: &ArpEntry) -> Row {
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
            Cell::text(entry.flags.to_string()),
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
fn neighbour_summary(entries: &[ArpEntry]) -> String {
    let parts: Vec<String> = neighbour_counts(entries)
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

/// How many entries of each kind, zeros included.
fn neighbour_counts(entries: &[ArpEntry]) -> [(usize, &'static str); 4] {
    let mut counts = [
        (0usize, "complete"),
        (0, "permanent"),
        (0, "incomplete"),
        (0, "proxy"),
    ];
    for entry in entries {
        let kind = if entry.flags.is_proxy() {
            3
        } else if entry.flags.is_permanent() {
            1
        } else if entry.flags.is_complete() {
            0
        } else {
            2
        };
        counts[kind].0 += 1;
    }
    counts
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
        assert_eq!(
            neighbour_summary(&entries),
            "9 entries: 2 complete, 3 permanent, 2 incomplete, 2 proxy"
        );
        assert_eq!(neighbour_summary(&[]), "0 entries");
    }
}
