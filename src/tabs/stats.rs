//! The stats tab: every section of `net/netstat` (`TcpExt`, `IpExt`,
//! `MPTcpExt`, and whatever the kernel prints besides), each as a table of
//! counter, value and change since the previous tick.
//!
//! `TcpExt` alone has 120+ counters, most of them zero, so zero counters
//! are hidden unless `zeros` is on, and `changed` keeps only those that
//! moved in the last tick — the view `nstat` gives.

use super::changes::{
    Change, CounterLine, TableKey, bad_line_notes, changes_line, counter_block, file_text, text_of,
};
use super::{Tab, ViewContext};
use crate::parse::counters::{CounterFile, CounterSection, parse_pairs};
use crate::render::{Block, Family, MetricKind, Problem, Screen, Value};
use crate::snapshot::Snapshot;

const NETSTAT: &str = "netstat";

/// Every counter of `net/netstat`.
pub static NETSTAT_COUNTERS: Family = Family {
    name: "netmonitor_netstat",
    kind: MetricKind::Counter,
    help: "Extended counters of the namespace (net/netstat), by section and counter",
};

/// The tab's screen, narrowed by the `filter` (see [`super::name_filter`]).
pub fn view(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut screen = unfiltered(ctx, now, previous);
    super::name_filter::apply(&mut screen, ctx.view.filter.as_ref(), &[]);
    screen
}

fn unfiltered(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut status = ctx.namespace_status(Tab::Stats, now);
    status.push(changes_line(now, previous));
    let text =
        match file_text(now, NETSTAT).or_explain(None, "this namespace has no net/netstat file") {
            Ok(text) => text,
            Err(line) => {
                return Screen {
                    status,
                    blocks: vec![Block::Text(vec![line])],
                    ..Screen::default()
                };
            }
        };
    let file = parse_pairs(text);
    let before = previous.map(|p| text_of(Some(p), NETSTAT).map(parse_pairs));
    let mut blocks: Vec<Block> = file
        .sections
        .iter()
        .map(|section| {
            let lines = counter_lines(section, before.as_ref().map(Option::as_ref));
            counter_block(
                TableKey::section(section.kind.as_str()),
                format!("{} (net/{NETSTAT})", section.kind.as_str()),
                lines,
                ctx.counters,
                previous.is_some(),
            )
        })
        .collect();
    if file.sections.is_empty() {
        blocks.push(Block::Text(vec!["net/netstat lists no counters".into()]));
    }
    let problems = bad_line_notes(NETSTAT, &file.bad_lines);
    if !problems.is_empty() {
        blocks.push(Block::Text(problems));
    }
    Screen {
        status,
        blocks,
        problems: Problem::lines(NETSTAT, &file.bad_lines),
        ..Screen::default()
    }
}

/// The lines of one section: every counter with its change. `before` is
/// `None` without a previous tick, `Some(None)` when that tick could not
/// read the file.
pub fn counter_lines(
    section: &CounterSection,
    before: Option<Option<&CounterFile>>,
) -> Vec<CounterLine> {
    let prefix = section.kind.as_str();
    section
        .counters
        .iter()
        .map(|(name, value)| {
            let old = before.map(|file| file.and_then(|f| f.get(prefix, name)));
            let change = match value.as_u64() {
                Some(now) => Change::counter(old.map(|o| o.and_then(|v| v.as_u64())), now),
                // A negative value is not a counter: only say if it changed.
                None => Change::setting(old.map(|o| o.map(|v| v.as_i128())), value.as_i128()),
            };
            let (number, metric) = match value.as_u64() {
                Some(n) => (Value::UInt(n), Some(&NETSTAT_COUNTERS)),
                None => (Value::signed(value.as_i128()), None),
            };
            CounterLine {
                name: name.clone(),
                value: value.to_string(),
                number,
                metric,
                change,
                is_zero: value.as_u64() == Some(0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;

    use super::*;
    use crate::tabs::CounterDisplay;
    use crate::tabs::testing::{bump_pairs, failed, ok, show, snapshot};

    const NETSTAT_618: &str = include_str!("../../testdata/files/netstat-6.18");
    const NETSTAT_BROKEN: &str = include_str!("../../testdata/files/netstat-broken-pairs");

    const ZEROS: CounterDisplay = CounterDisplay {
        zeros: true,
        changed_only: false,
    };
    const CHANGED: CounterDisplay = CounterDisplay {
        zeros: false,
        changed_only: true,
    };

    fn pair() -> (Snapshot, Snapshot) {
        let before = snapshot(0, vec![ok(NETSTAT, NETSTAT_618)]);
        let later = bump_pairs(
            NETSTAT_618,
            &[
                ("TcpExt", "TCPPureAcks", 4),
                ("TcpExt", "ListenOverflows", 2),
                ("IpExt", "InOctets", 1500),
                ("MPTcpExt", "MPCapableSYNRX", 1),
            ],
        );
        (before, snapshot(2, vec![ok(NETSTAT, &later)]))
    }

    #[test]
    fn first_display_hides_zero_counters() {
        let now = snapshot(0, vec![ok(NETSTAT, NETSTAT_618)]);
        let text = show(Tab::Stats, CounterDisplay::default(), &now, None);
        assert!(
            text.contains("zero counters hidden (type zeros to show them)"),
            "{text}"
        );
        assert!(!text.contains("TCPAbortOnMemory"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn changes_since_the_previous_tick() {
        let (before, now) = pair();
        let text = show(Tab::Stats, CounterDisplay::default(), &now, Some(&before));
        assert!(text.contains("+1500"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn zeros_shows_every_counter() {
        let (before, now) = pair();
        let text = show(Tab::Stats, ZEROS, &now, Some(&before));
        assert!(text.contains("TCPAbortOnMemory"), "{text}");
        assert!(!text.contains("hidden"), "{text}");
        let total: usize = parse_pairs(NETSTAT_618)
            .sections
            .iter()
            .map(|s| s.counters.len())
            .sum();
        let rows = text.lines().filter(|l| l.contains('┆')).count();
        // Every counter plus one header row per section.
        assert_eq!(rows, total + 3);
    }

    #[test]
    fn changed_shows_only_what_moved() {
        let (before, now) = pair();
        let text = show(Tab::Stats, CHANGED, &now, Some(&before));
        insta::assert_snapshot!(text);
        assert_eq!(
            counter_row(&text, "ListenOverflows"),
            Some(vec!["ListenOverflows", "2", "+2"]),
            "{text}"
        );
        // The value now (6 before, 4 more), not the value before.
        assert_eq!(
            counter_row(&text, "TCPPureAcks"),
            Some(vec!["TCPPureAcks", "10", "+4"]),
            "{text}"
        );
        assert_eq!(
            counter_row(&text, "TW"),
            None,
            "an unchanged non-zero counter: {text}"
        );
    }

    /// The cells of the table row whose first cell is `name`, trimmed.
    fn counter_row<'a>(text: &'a str, name: &str) -> Option<Vec<&'a str>> {
        text.lines()
            .filter_map(|l| l.strip_prefix('│')?.strip_suffix('│'))
            .map(|l| l.split('┆').map(str::trim).collect::<Vec<_>>())
            .find(|cells| cells.first() == Some(&name))
    }

    #[test]
    fn broken_pairs_are_reported_under_the_sections_that_survive() {
        let now = snapshot(0, vec![ok(NETSTAT, NETSTAT_BROKEN)]);
        let text = show(Tab::Stats, ZEROS, &now, None);
        assert!(
            text.contains("8 lines of netstat could not be parsed"),
            "{text}"
        );
        assert!(text.contains("Future (net/netstat)"), "{text}");
    }

    #[test]
    fn unreadable_or_empty_files() {
        let denied = snapshot(0, vec![failed(NETSTAT, ErrorKind::PermissionDenied)]);
        let text = show(Tab::Stats, ZEROS, &denied, None);
        assert!(text.contains("cannot read /proc/4242/net/netstat (permission denied)"));
        let empty = snapshot(0, vec![ok(NETSTAT, "")]);
        assert!(show(Tab::Stats, ZEROS, &empty, None).contains("lists no counters"));
    }

    #[test]
    fn a_counter_going_backwards_reads_reset() {
        let before = snapshot(0, vec![ok(NETSTAT, "TcpExt: A B\nTcpExt: 10 -1\n")]);
        let now = snapshot(2, vec![ok(NETSTAT, "TcpExt: A B\nTcpExt: 3 -2\n")]);
        let text = show(Tab::Stats, ZEROS, &now, Some(&before));
        assert!(text.contains("reset"), "{text}");
        assert!(
            text.contains("changed"),
            "a negative value is no counter: {text}"
        );
        assert!(!text.contains("+18446744073709551609"), "{text}");
    }
}
