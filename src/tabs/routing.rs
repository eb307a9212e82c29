//! The routing tab: the namespace's IPv4 main table (`net/route`) and every
//! IPv6 route (`net/ipv6_route`), decoded — `default` for 0.0.0.0/0 and
//! ::/0, prefixes instead of masks, flags as `route -n` letters.
//!
//! Routes have no counters worth a change column, so this tab reads no
//! previous tick. An empty file (a fresh namespace whose `lo` is down has
//! no IPv4 route at all) is an empty table, not an error.

use super::changes::{bad_line_notes, file_text};
use super::{Tab, ViewContext};
use crate::parse::Endian;
use crate::parse::route::{Ipv4Route, Ipv6Route, parse_ipv6_route_table, parse_route_table};
use crate::render::{
    Block, Cell, Column, Emphasis, Problem, Row, Screen, TableBlock, Value, plural,
};
use crate::snapshot::Snapshot;

const ROUTE: &str = "route";
const IPV6_ROUTE: &str = "ipv6_route";

/// The tab's screen, narrowed by the `filter` (see [`super::name_filter`]).
pub fn view(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut screen = unfiltered(ctx, now, previous);
    super::name_filter::apply(
        &mut screen,
        ctx.view.filter.as_ref(),
        &[("ipv4_routes", "routes"), ("ipv6_routes", "routes")],
    );
    screen
}

fn unfiltered(ctx: &ViewContext<'_>, now: &Snapshot, _previous: Option<&Snapshot>) -> Screen {
    Screen {
        status: ctx.namespace_status(Tab::Routing, now),
        blocks: vec![ipv4(now, ctx.endian), ipv6(now)],
        ..Screen::default()
    }
}

fn ipv4(now: &Snapshot, endian: Endian) -> Block {
    let text = match file_text(now, ROUTE).or_explain(
        Some("IPv4 routes"),
        "IPv4 routes: this namespace has no net/route file",
    ) {
        Ok(text) => text,
        Err(line) => return Block::Text(vec![line]),
    };
    let parsed = parse_route_table(text, endian);
    let mut notes = vec![
        format!(
            "{} {} in the main table · flags: U up, G gateway, H host, ! reject (unreachable or prohibit)",
            parsed.rows.len(),
            plural(parsed.rows.len(), "route", "routes")
        ),
        "MTU is the advertised MSS + 40 (0: not set)".into(),
    ];
    notes.extend(bad_line_notes(ROUTE, &parsed.bad_lines));
    Block::Table(TableBlock {
        key: "ipv4_routes".into(),
        title: Some("IPv4 routes (net/route)".into()),
        columns: vec![
            Column::new("Destination", "destination"),
            Column::new("Gateway", "gateway"),
            Column::new("Flags", "flags").importance(6),
            Column::new("Metric", "metric").numeric().importance(5),
            Column::new("MTU", "mtu").numeric().importance(1),
            Column::new("Window", "window").numeric().importance(0),
            Column::new("IRTT", "irtt").numeric().importance(0),
            Column::new("Interface", "interface"),
        ],
        rows: parsed.rows.iter().map(ipv4_row).collect(),
        notes,
        problems: Problem::lines(ROUTE, &parsed.bad_lines),
        ..TableBlock::default()
    })
}

fn ipv4_row(route: &Ipv4Route) -> Row {
    let gateway = if route.has_gateway() || !route.gateway.is_unspecified() {
        route.gateway.to_string()
    } else {
        "-".to_string()
    };
    let mut flags = route.flags.letters();
    let unknown = route.flags.unknown_bits();
    if unknown != 0 {
        flags.push_str(&format!(" {unknown:#x}"));
    }
    Row {
        cells: vec![
            Cell::text(route.destination_display()),
            text_or_null(gateway, "-"),
            Cell::text(flags),
            Cell::uint(route.metric.into()),
            Cell::uint(route.mtu.into()),
            Cell::uint(route.window.into()),
            Cell::uint(route.irtt.into()),
            text_or_null(route.iface.clone().unwrap_or_else(|| "*".into()), "*"),
        ],
        emphasis: if route.flags.contains(crate::parse::route::rtf::REJECT) {
            Emphasis::Dim
        } else {
            Emphasis::None
        },
        total: false,
    }
}

/// A text cell, or a null one when it shows `none` (`-`, `*`).
fn text_or_null(text: String, none: &str) -> Cell {
    if text == none {
        Cell::new(text, Value::Null)
    } else {
        Cell::text(text)
    }
}

fn ipv6(now: &Snapshot) -> Block {
    let text = match file_text(now, IPV6_ROUTE).or_explain(
        Some("IPv6 routes"),
        "IPv6 routes: no net/ipv6_route file (IPv6 is disabled)",
    ) {
        Ok(text) => text,
        Err(line) => return Block::Text(vec![line]),
    };
    let parsed = parse_ipv6_route_table(text);
    // The kernel prints its null route once per routing table: show it
    // once, and say what it is.
    let null_routes = parsed.rows.iter().filter(|r| is_null_route(r)).count();
    let mut seen_null = false;
    let routes: Vec<&Ipv6Route> = parsed
        .rows
        .iter()
        .filter(|r| !is_null_route(r) || !std::mem::replace(&mut seen_null, true))
        .collect();
    let mut notes = vec![format!(
        "{} {} in all tables (local and multicast routes included)",
        routes.len(),
        plural(routes.len(), "route", "routes")
    )];
    if null_routes > 0 {
        notes.push(format!(
            "default … reject lo 4294967295 is the kernel's IPv6 null route: where a lookup ends \
             when no route matches (it rejects the packet); the file lists it once per routing \
             table ({null_routes} here), shown once"
        ));
    }
    notes.extend(bad_line_notes(IPV6_ROUTE, &parsed.bad_lines));
    Block::Table(TableBlock {
        key: "ipv6_routes".into(),
        title: Some("IPv6 routes (net/ipv6_route)".into()),
        columns: vec![
            Column::new("Destination", "destination"),
            Column::new("Source", "source").importance(2),
            Column::new("Next hop", "next_hop"),
            Column::new("Metric", "metric").numeric().importance(5),
            Column::new("Ref", "refcnt").numeric().importance(0),
            Column::new("Use", "use").numeric().importance(0),
            Column::new("Flags", "flags").importance(4),
            Column::new("Interface", "interface"),
        ],
        rows: routes.into_iter().map(ipv6_row).collect(),
        notes,
        problems: Problem::lines(IPV6_ROUTE, &parsed.bad_lines),
        ..TableBlock::default()
    })
}

/// The kernel's null entry (`ip6_null_entry`): `::/0`, no next hop,
/// reject, metric 0xffffffff, on `lo`.
fn is_null_route(route: &Ipv6Route) -> bool {
    route.destination_prefix_len == 0
        && route.destination.is_unspecified()
        && route.next_hop.is_unspecified()
        && route.metric == u32::MAX
        && route.flags.contains(crate::parse::route::rtf::REJECT)
        && route.device.as_deref() == Some("lo")
}

fn ipv6_row(route: &Ipv6Route) -> Row {
    let source = if route.source_prefix_len == 0 && route.source.is_unspecified() {
        "-".to_string()
    } else {
        format!("{}/{}", route.source, route.source_prefix_len)
    };
    let next_hop = if route.has_gateway() || !route.next_hop.is_unspecified() {
        route.next_hop.to_string()
    } else {
        "-".to_string()
    };
    // Words rather than letters: many IPv6 bits (local, anycast, pcpu,
    // the router preference) have no letter in `route -6`.
    let mut words: Vec<String> = route.flags.words().iter().map(|w| w.to_string()).collect();
    let unknown = route.flags.unknown_bits();
    if unknown != 0 {
        words.push(format!("{unknown:#x}"));
    }
    let flags = words.join(",");
    Row {
        cells: vec![
            Cell::text(route.destination_display())
                .with("null_route", Value::Bool(is_null_route(route))),
            text_or_null(source, "-"),
            text_or_null(next_hop, "-"),
            Cell::uint(route.metric.into()),
            Cell::uint(route.refcnt.into()),
            Cell::uint(route.uses.into()),
            Cell::text(flags),
            text_or_null(route.device.clone().unwrap_or_else(|| "-".into()), "-"),
        ],
        emphasis: if route.flags.contains(crate::parse::route::rtf::REJECT) {
            Emphasis::Dim
        } else {
            Emphasis::None
        },
        total: false,
    }
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;

    use super::*;
    use crate::tabs::CounterDisplay;
    use crate::tabs::testing::{failed, ok, show, snapshot};

    const ROUTE_618: &str = include_str!("../../testdata/files/route-6.18");
    const IPV6_618: &str = include_str!("../../testdata/files/ipv6_route-6.18");
    const ROUTE_ODD: &str = include_str!("../../testdata/files/route-handmade-oddities");

    fn routing(now: &Snapshot) -> String {
        show(Tab::Routing, CounterDisplay::default(), now, None)
    }

    #[test]
    fn captured_tables() {
        let now = snapshot(0, vec![ok(ROUTE, ROUTE_618), ok(IPV6_ROUTE, IPV6_618)]);
        let text = routing(&now);
        // Host-order hex in route, network order in ipv6_route.
        assert!(text.contains("203.0.113.0/24"), "{text}");
        assert!(text.contains("2001:db8:1::2"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn the_null_route_is_shown_once_and_explained() {
        let now = snapshot(0, vec![ok(ROUTE, ROUTE_618), ok(IPV6_ROUTE, IPV6_618)]);
        let text = routing(&now);
        let nulls = text
            .lines()
            .filter(|l| l.starts_with('│') && l.contains("default") && l.contains("4294967295"))
            .count();
        assert_eq!(nulls, 1, "{text}");
        assert!(
            text.contains("is the kernel's IPv6 null route")
                && text.contains("(2 here), shown once"),
            "{text}"
        );
        let screen = super::view(
            &crate::tabs::testing::context(CounterDisplay::default()),
            &now,
            None,
        );
        let Some(crate::render::Block::Table(v6)) = screen.blocks.get(1) else {
            panic!("{:?}", screen.blocks);
        };
        let flagged = v6
            .rows
            .iter()
            .filter(|r| {
                r.cells[0]
                    .extra
                    .contains(&("null_route", Value::Bool(true)))
            })
            .count();
        assert_eq!(flagged, 1);
        // A route to everywhere that rejects on another device is a route.
        let elsewhere = IPV6_618.replace("00200200       lo", "00200200     eth9");
        let text = routing(&snapshot(
            0,
            vec![ok(ROUTE, ROUTE_618), ok(IPV6_ROUTE, &elsewhere)],
        ));
        assert!(!text.contains("null route"), "{text}");
    }

    #[test]
    fn a_fresh_namespace_has_empty_tables_not_errors() {
        // What a new namespace with `lo` down shows: no IPv4 line at all
        // (not even the header) and only the null entry in IPv6.
        let null = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
        let now = snapshot(0, vec![ok(ROUTE, ""), ok(IPV6_ROUTE, null)]);
        let text = routing(&now);
        assert!(!text.contains("cannot"), "{text}");
        assert!(!text.contains("parsed"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn odd_masks_and_missing_ipv6() {
        let now = snapshot(
            0,
            vec![
                ok(ROUTE, ROUTE_ODD),
                failed(IPV6_ROUTE, ErrorKind::NotFound),
            ],
        );
        let text = routing(&now);
        assert!(text.contains("IPv6 is disabled"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn an_unreadable_file_leaves_the_other() {
        let now = snapshot(
            0,
            vec![
                failed(ROUTE, ErrorKind::PermissionDenied),
                ok(IPV6_ROUTE, IPV6_618),
            ],
        );
        let text = routing(&now);
        assert!(
            text.contains("IPv4 routes: cannot read /proc/4242/net/route (permission denied)"),
            "{text}"
        );
        assert!(text.contains("IPv6 routes (net/ipv6_route)"), "{text}");
    }
}
