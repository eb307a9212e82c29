//! `filter TEXT` on the namespace tabs (arp, traffic, routing, stats,
//! analysis): keeps the interfaces, neighbours, routes and counters whose
//! name contains the text (any case), and says in the status box what it
//! matched. It works on the finished [`Screen`], after the tab computed
//! its changes on whole tables, so a filter never fakes a change.
//!
//! A table is filtered by its column labelled `counter` or `interface`
//! (the name of each row), or — for the tables a tab names, whose rows
//! have no single name (neighbours, routes) — by any cell. Other tables
//! (packets per CPU) and the findings are left whole, and the status line
//! says so.

use super::Filter;
use crate::render::{Block, Screen, TableBlock, plural};

/// What a filtered table's rows are, for the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Noun {
    Counters,
    Interfaces,
    Neighbours,
    Routes,
}

impl Noun {
    fn name(self, count: usize) -> &'static str {
        match self {
            Noun::Counters => plural(count, "counter", "counters"),
            Noun::Interfaces => plural(count, "interface", "interfaces"),
            Noun::Neighbours => plural(count, "neighbour", "neighbours"),
            Noun::Routes => plural(count, "route", "routes"),
        }
    }
}

/// How one table is matched: by the cells of one column, or by any cell.
enum MatchBy {
    Column(usize),
    AnyCell,
}

fn match_by(table: &TableBlock, whole_rows: &[(&str, &'static str)]) -> Option<(MatchBy, Noun)> {
    if let Some((_, noun)) = whole_rows.iter().find(|(key, _)| table.key == *key) {
        let noun = if *noun == "routes" {
            Noun::Routes
        } else {
            Noun::Neighbours
        };
        return Some((MatchBy::AnyCell, noun));
    }
    table
        .columns
        .iter()
        .enumerate()
        .find_map(|(index, column)| match column.label {
            Some("counter") => Some((MatchBy::Column(index), Noun::Counters)),
            Some("interface") => Some((MatchBy::Column(index), Noun::Interfaces)),
            _ => None,
        })
}

/// Applies `filter` to `screen`. `whole_rows` names the tables (by key)
/// whose rows are matched on any cell, with what their rows are
/// (`"neighbours"` or `"routes"`).
pub fn apply(screen: &mut Screen, filter: Option<&Filter>, whole_rows: &[(&str, &'static str)]) {
    let Some(filter) = filter else {
        return;
    };
    // (noun, matched, of) in order of first appearance.
    let mut tally: Vec<(Noun, usize, usize)> = Vec::new();
    let mut unfiltered: Vec<String> = Vec::new();
    for block in &mut screen.blocks {
        let Block::Table(table) = block else {
            if let Block::List(list) = block {
                unfiltered.push(list.title.to_lowercase());
            }
            continue;
        };
        let Some((by, noun)) = match_by(table, whole_rows) else {
            let title = table.title.as_deref().unwrap_or(&table.key);
            let title = title.split(" (").next().unwrap_or(title);
            unfiltered.push(title.to_lowercase());
            continue;
        };
        let before = table.rows.iter().filter(|r| !r.total).count();
        table.rows.retain(|row| {
            row.total
                || match by {
                    MatchBy::Column(index) => row
                        .cells
                        .get(index)
                        .is_some_and(|c| filter.matches(&[c.text.as_str()])),
                    MatchBy::AnyCell => filter.matches(&row.texts()),
                }
        });
        let kept = table.rows.iter().filter(|r| !r.total).count();
        match tally.iter_mut().find(|(n, _, _)| *n == noun) {
            Some(entry) => {
                entry.1 += kept;
                entry.2 += before;
            }
            None => tally.push((noun, kept, before)),
        }
        if kept == 0 && before > 0 {
            let title = table.title.clone().unwrap_or_default();
            *block = Block::Text(vec![format!(
                "{title}: no {} {} '{}'",
                noun.name(1),
                "contains",
                filter.text()
            )]);
        }
    }
    let counts: Vec<String> = tally
        .iter()
        .map(|&(noun, kept, of)| format!("{kept} of {of} {}", noun.name(of)))
        .collect();
    let mut line = format!(
        "filter '{}': {}",
        filter.text(),
        if counts.is_empty() {
            "nothing here to filter".to_string()
        } else {
            counts.join(", ")
        }
    );
    if !unfiltered.is_empty() && !counts.is_empty() {
        line.push_str(&format!(" ({} not filtered)", unfiltered.join(", ")));
    }
    screen.status.push(line);
}

#[cfg(test)]
mod tests {
    use super::super::testing::{context, ok, snapshot};
    use super::super::{CounterDisplay, Filter, Tab, ViewContext, ViewSettings, view};
    use crate::render::{RenderOptions, render};

    const SNMP: &str = include_str!("../../testdata/files/snmp-6.18");
    const NETSTAT: &str = include_str!("../../testdata/files/netstat-6.18");
    const DEV: &str = include_str!("../../testdata/files/dev-6.18");
    const ARP: &str = include_str!("../../testdata/files/arp-6.18");
    const ARP_CACHE: &str = include_str!("../../testdata/files/arp_cache-6.18");
    const ROUTE: &str = include_str!("../../testdata/files/route-6.18");
    const IPV6_ROUTE: &str = include_str!("../../testdata/files/ipv6_route-6.18");
    const SOFTNET: &str = include_str!("../../testdata/files/softnet_stat-6.18-15col");

    /// `tab` of the captured files with `filter`, as text.
    fn filtered(tab: Tab, filter: &str) -> String {
        let view_settings = ViewSettings {
            filter: Filter::new(filter),
            ..ViewSettings::default()
        };
        let ctx = ViewContext {
            view: &view_settings,
            ..context(CounterDisplay {
                zeros: true,
                changed_only: false,
            })
        };
        let files = || {
            vec![
                ok("snmp", SNMP),
                ok("netstat", NETSTAT),
                ok("dev", DEV),
                ok("arp", ARP),
                ok("stat/arp_cache", ARP_CACHE),
                ok("route", ROUTE),
                ok("ipv6_route", IPV6_ROUTE),
                ok("softnet_stat", SOFTNET),
            ]
        };
        let before = snapshot(0, files());
        let now = snapshot(2, files());
        render(
            &view(tab, &ctx, &now, Some(&before)),
            &RenderOptions::plain(),
        )
    }

    /// The first cells of the table rows of `text` (after its status box).
    fn first_cells(text: &str) -> Vec<String> {
        let body = text.split_once("└").map_or("", |(_, rest)| rest);
        body.lines()
            .filter(|l| l.starts_with('│'))
            .filter_map(|l| l.trim_start_matches('│').split('┆').next())
            .map(|c| c.trim().to_string())
            .collect()
    }

    #[test]
    fn stats_keeps_the_counters_whose_name_contains_the_text() {
        let text = filtered(Tab::Stats, "retrans");
        let names: Vec<String> = first_cells(&text)
            .into_iter()
            .filter(|c| c != "Counter")
            .collect();
        assert!(names.contains(&"TCPLostRetransmit".to_string()), "{text}");
        assert!(
            names.iter().all(|n| n.to_lowercase().contains("retrans")),
            "{names:?}"
        );
        let all = filtered(Tab::Stats, "e");
        let total = first_cells(&all).iter().filter(|c| *c != "Counter").count();
        assert!(
            text.contains(&format!("filter 'retrans': {} of ", names.len())),
            "{text}"
        );
        assert!(total > names.len());
        // A section with no match is one line, not an empty table.
        assert!(
            text.contains("IpExt (net/netstat): no counter contains 'retrans'"),
            "{text}"
        );
    }

    #[test]
    fn traffic_keeps_the_interfaces_whose_name_contains_the_text() {
        let text = filtered(Tab::Traffic, "LO");
        let names: Vec<String> = first_cells(&text)
            .into_iter()
            .filter(|c| c != "Interface")
            .collect();
        assert_eq!(names, ["lo", "total", "lo", "total"], "{text}");
        assert!(text.contains("filter 'LO': 2 of "), "{text}");
        assert!(text.contains("interfaces"), "{text}");
    }

    #[test]
    fn arp_keeps_matching_neighbours_and_cache_counters() {
        let text = filtered(Tab::Arp, "res_failed");
        assert!(text.contains("res_failed"), "{text}");
        assert!(!text.contains("allocs"), "{text}");
        assert!(
            text.contains("no neighbour contains 'res_failed'"),
            "{text}"
        );
        assert!(text.contains("filter 'res_failed': 0 of "), "{text}");
        assert!(text.contains(", 1 of "), "{text}");
    }

    #[test]
    fn routing_keeps_the_routes_with_a_matching_cell() {
        let everything = filtered(Tab::Routing, "");
        let text = filtered(Tab::Routing, "default");
        let rows = first_cells(&text);
        assert!(
            rows.iter()
                .filter(|c| *c != "Destination")
                .all(|c| c == "default"),
            "{text}"
        );
        assert!(rows.iter().any(|c| c == "default"), "{text}");
        assert!(first_cells(&everything).len() > rows.len());
        assert!(text.contains("filter 'default': "), "{text}");
        assert!(text.contains(" routes"), "{text}");
    }

    #[test]
    fn analysis_filters_counters_and_says_what_it_leaves_whole() {
        let text = filtered(Tab::Analysis, "RetransSegs");
        assert!(text.contains("RetransSegs"), "{text}");
        assert!(!text.contains("InSegs"), "{text}");
        assert!(
            text.contains("filter 'RetransSegs': 1 of ") && text.contains("not filtered"),
            "{text}"
        );
        assert!(text.contains("packet stats per cpu"), "{text}");
        // The per-CPU table stays whole.
        assert!(text.contains("│ all "), "{text}");
    }

    #[test]
    fn no_filter_changes_nothing() {
        let text = filtered(Tab::Stats, "");
        assert!(!text.contains("filter '"), "{text}");
    }
}
