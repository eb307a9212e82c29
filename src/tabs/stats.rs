//! The stats tab: every section of `net/netstat` (`TcpExt`, `IpExt`,
//! `MPTcpExt`, and whatever the kernel prints besides), each as a table of
//! counter, value and change since the previous tick.
//!
//! `TcpExt` alone has 120+ counters, most of them zero, so zero counters
//! are hidden unless `zeros` is on, and `changed` keeps only those that
//! moved in the last tick — the view `nstat` gives.

use super::changes::{
    Change, CounterLine, FileText, bad_line_notes, changes_line, counter_block, file_text, text_of,
};
use super::{Tab, ViewContext};
use crate::parse::counters::{CounterFile, CounterSection, parse_pairs};
use crate::render::{Block, Screen};
use crate::source::Snapshot;

const NETSTAT: &str = "netstat";

pub fn view(ctx: &ViewContext<'_>, now: &Snapshot, previous: Option<&Snapshot>) -> Screen {
    let mut status = ctx.namespace_status(Tab::Stats, now);
    status.push(changes_line(now, previous));
    let text = match file_text(now, NETSTAT) {
        FileText::Text(text) => text,
        FileText::Missing => {
            return Screen {
                status,
                blocks: vec![Block::Text(vec![
                    "this namespace has no net/netstat file".into(),
                ])],
            };
        }
        FileText::Unreadable(why) => {
            return Screen {
                status,
                blocks: vec![Block::Text(vec![why])],
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
    Screen { status, blocks }
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
            CounterLine {
                name: name.clone(),
                value: value.to_string(),
                change,
                is_zero: value.as_u64() == Some(0),
            }
        })
        .collect()
}
