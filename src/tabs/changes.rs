//! What the namespace tabs (arp, traffic, routing, stats, analysis) share:
//! finding a file's text in a snapshot or saying why it is not there, the
//! time between two snapshots, how a change or a rate reads in a cell, and
//! the counter table that the `zeros` and `changed` toggles filter.
//!
//! The arithmetic of changes is not here: every delta comes from
//! [`crate::parse::counters`] (`counter_delta` for 64-bit counters,
//! `wrapping_delta_u32` for `softnet_stat`). This module only decides how
//! a change is shown, so that a counter going backwards reads `reset` in
//! every tab instead of a huge number.

use std::time::Duration;

use crate::parse::LineError;
use crate::parse::counters::counter_delta;
use crate::render::{
    Block, Cell, Column, Emphasis, Family, Row, TableBlock, Value, human_bytes, human_seconds,
    plural,
};
use crate::snapshot::Snapshot;

use super::CounterDisplay;

/// The text of one file of a snapshot, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileText<'a> {
    Text(&'a str),
    /// The file does not exist (not in this namespace, or not on this
    /// kernel).
    Missing,
    /// It exists but could not be read: the message says which file and why.
    Unreadable(String),
}

impl<'a> FileText<'a> {
    /// The text, or the one line a tab shows instead: `missing` when the
    /// file does not exist, otherwise why it could not be read, after
    /// `what: ` when `what` is given (`IPv4 routes: cannot read …`).
    pub fn or_explain(self, what: Option<&str>, missing: &str) -> Result<&'a str, String> {
        match self {
            FileText::Text(text) => Ok(text),
            FileText::Missing => Err(missing.to_string()),
            FileText::Unreadable(why) => Err(match what {
                Some(what) => format!("{what}: {why}"),
                None => why,
            }),
        }
    }
}

/// Looks up `net/<name>` in `snapshot`. A file the snapshot did not read
/// counts as missing.
pub fn file_text<'a>(snapshot: &'a Snapshot, name: &str) -> FileText<'a> {
    match snapshot.file(name) {
        Some(Ok(text)) => FileText::Text(text),
        Some(Err(e)) if e.is_not_found() => FileText::Missing,
        Some(Err(e)) => FileText::Unreadable(e.to_string()),
        None => FileText::Missing,
    }
}

/// The text of `net/<name>` of `snapshot` when it was read, for the
/// previous tick (where why it is missing does not matter).
pub fn text_of<'a>(snapshot: Option<&'a Snapshot>, name: &str) -> Option<&'a str> {
    match file_text(snapshot?, name) {
        FileText::Text(text) => Some(text),
        _ => None,
    }
}

/// The time from `previous` to `now`; `None` when it is not positive (no
/// rate can be computed then).
pub fn elapsed(now: &Snapshot, previous: &Snapshot) -> Option<Duration> {
    now.instant
        .checked_duration_since(previous.instant)
        .filter(|d| !d.is_zero())
}

/// The status line that says what the Change columns mean for this tick.
pub fn changes_line(now: &Snapshot, previous: Option<&Snapshot>) -> String {
    match previous.map(|p| elapsed(now, p)) {
        None => "changes and rates appear from the next refresh".into(),
        Some(Some(span)) => format!(
            "changes and rates over the last {}",
            human_seconds(round_centis(span))
        ),
        Some(None) => "changes since the previous reading (taken at the same instant)".into(),
    }
}

/// A duration in seconds, rounded to hundredths for display.
pub fn round_centis(span: Duration) -> f64 {
    (span.as_secs_f64() * 100.0).round() / 100.0
}

/// How a value moved since the previous tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// There is no previous tick of this tab yet.
    FirstReading,
    /// The previous tick did not have it (a new interface or counter).
    New,
    /// A counter went backwards (reset, or its namespace or interface was
    /// re-created): no number is shown.
    Reset,
    /// Not a counter and unchanged (a setting, a negative value).
    Steady,
    /// A setting whose value is different now.
    Altered,
    /// A counter grew by this much.
    By(u64),
    /// A gauge (current connections, queue lengths) moved by this much.
    Gauge(i128),
}

impl Change {
    /// The change of a 64-bit counter. `previous` is `None` without a
    /// previous tick and `Some(None)` when that tick did not have it.
    pub fn counter(previous: Option<Option<u64>>, current: u64) -> Change {
        match previous {
            None => Change::FirstReading,
            Some(None) => Change::New,
            Some(Some(before)) => match counter_delta(before, current) {
                Some(delta) => Change::By(delta),
                None => Change::Reset,
            },
        }
    }

    /// The change of a gauge, which may go down as well as up.
    pub fn gauge(previous: Option<Option<i128>>, current: i128) -> Change {
        match previous {
            None => Change::FirstReading,
            Some(None) => Change::New,
            Some(Some(before)) => Change::Gauge(current - before),
        }
    }

    /// Whether a setting changed.
    pub fn setting(previous: Option<Option<i128>>, current: i128) -> Change {
        match previous {
            None => Change::FirstReading,
            Some(None) => Change::New,
            Some(Some(before)) if before == current => Change::Steady,
            Some(Some(_)) => Change::Altered,
        }
    }

    /// Whether it moved in the last tick (what `changed` keeps).
    pub fn moved(self) -> bool {
        match self {
            Change::FirstReading | Change::Steady => false,
            Change::New | Change::Reset | Change::Altered => true,
            Change::By(delta) => delta > 0,
            Change::Gauge(delta) => delta != 0,
        }
    }

    /// How much a counter grew; `None` for anything else.
    pub fn amount(self) -> Option<u64> {
        match self {
            Change::By(delta) => Some(delta),
            _ => None,
        }
    }

    /// The Change cell: blank before the first change, `+5`, `0`, `-2`
    /// for a gauge, `new`, `reset`, `changed`.
    pub fn cell(self) -> String {
        match self {
            Change::FirstReading | Change::Steady => String::new(),
            Change::New => "new".into(),
            Change::Reset => "reset".into(),
            Change::Altered => "changed".into(),
            Change::By(0) | Change::Gauge(0) => "0".into(),
            Change::By(delta) => format!("+{delta}"),
            Change::Gauge(delta) if delta > 0 => format!("+{delta}"),
            Change::Gauge(delta) => delta.to_string(),
        }
    }

    /// `value` followed by the change when a counter grew or went back:
    /// `12 (+3)`, `7 (reset)`; just `value` otherwise (a new row says so
    /// elsewhere, and `(new)` in every cell would bury the numbers).
    pub fn with_value(self, value: impl Into<String>) -> String {
        let value = value.into();
        match self {
            Change::By(delta) if delta > 0 => format!("{value} (+{delta})"),
            Change::Reset => format!("{value} (reset)"),
            _ => value,
        }
    }

    /// The change as a number: the delta of a counter or a gauge, null
    /// when there is none to give (first reading, new, reset, a setting).
    pub fn value(self) -> Value {
        match self {
            Change::By(delta) => Value::UInt(delta),
            Change::Gauge(delta) => Value::signed(delta),
            _ => Value::Null,
        }
    }

    /// What kind of change it is, for machine output: `first_reading`,
    /// `new`, `reset`, `steady`, `changed` or `counted`.
    pub fn status(self) -> &'static str {
        match self {
            Change::FirstReading => "first_reading",
            Change::New => "new",
            Change::Reset => "reset",
            Change::Steady => "steady",
            Change::Altered => "changed",
            Change::By(_) | Change::Gauge(_) => "counted",
        }
    }

    /// The Change cell with its number and, under `status_key`, its kind.
    pub fn typed_cell(self, status_key: &'static str) -> Cell {
        Cell::new(self.cell(), self.value()).with(status_key, Value::Str(self.status().into()))
    }

    /// [`Change::with_value`] as a cell: `value` as the number, the change
    /// under `change_key`.
    pub fn value_cell(self, value: u64, change_key: &'static str) -> Cell {
        Cell::new(self.with_value(value.to_string()), Value::UInt(value))
            .with(change_key, self.value())
    }

    /// The rate per second of a counter's change, when there is one.
    pub fn rate(self, span: Option<Duration>) -> Value {
        match (self, span) {
            (Change::By(delta), Some(span)) => Value::float(per_second(delta, span)),
            _ => Value::Null,
        }
    }

    /// [`Change::byte_rate`] as a cell whose value is bytes per second.
    pub fn byte_rate_cell(self, span: Option<Duration>) -> Cell {
        Cell::new(self.byte_rate(span), self.rate(span))
    }

    /// [`Change::count_rate`] as a cell whose value is events per second.
    pub fn count_rate_cell(self, span: Option<Duration>) -> Cell {
        Cell::new(self.count_rate(span), self.rate(span))
    }

    /// A rate cell in bytes per second: `1.5 KiB/s`.
    pub fn byte_rate(self, span: Option<Duration>) -> String {
        self.rate_cell(span, |per_second| {
            format!("{}/s", human_bytes(rounded_u64(per_second)))
        })
    }

    /// A rate cell in events per second: `12.5/s`.
    pub fn count_rate(self, span: Option<Duration>) -> String {
        self.rate_cell(span, |per_second| format!("{per_second:.1}/s"))
    }

    fn rate_cell(self, span: Option<Duration>, show: impl Fn(f64) -> String) -> String {
        match (self, span) {
            (Change::By(delta), Some(span)) => show(per_second(delta, span)),
            (Change::By(_), None) => "-".into(),
            (Change::FirstReading, _) => String::new(),
            (other, _) => other.cell(),
        }
    }
}

/// `delta` events over `span`, per second (`span` is positive).
pub fn per_second(delta: u64, span: Duration) -> f64 {
    let seconds = span.as_secs_f64();
    if seconds > 0.0 {
        delta as f64 / seconds
    } else {
        0.0
    }
}

/// A non-negative float rounded to a `u64` (saturating at the ends).
fn rounded_u64(value: f64) -> u64 {
    // `as` saturates and maps NaN to 0: no overflow, no panic.
    value.round() as u64
}

/// One counter for [`counter_table`].
#[derive(Debug, Clone, PartialEq)]
pub struct CounterLine {
    pub name: String,
    /// The value as shown (`enabled`, `200 ms`, `no limit`, `1234`).
    pub value: String,
    /// The value as a number.
    pub number: Value,
    /// The metric family the value belongs to (counters and gauges).
    pub metric: Option<&'static Family>,
    pub change: Change,
    /// A counter at zero (hidden unless `zeros` is on). Settings are never
    /// zero in this sense.
    pub is_zero: bool,
}

/// What names a counter table in machine output: its key and the labels
/// of its metrics (`section="TcpExt"`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableKey {
    pub key: String,
    pub labels: Vec<(&'static str, String)>,
}

impl TableKey {
    /// The table of a `/proc` section (`TcpExt`): key `tcp_ext`, label
    /// `section="TcpExt"`.
    pub fn section(name: &str) -> TableKey {
        TableKey {
            key: crate::render::snake_case(name),
            labels: vec![("section", name.to_string())],
        }
    }
}

/// A table of counters (Counter, Value, Change), filtered by `display`:
/// zero counters hidden unless `zeros` is on, and with `changed` on only
/// counters that moved. Notes under the table say how many were hidden and
/// which command shows them.
#[cfg(test)]
pub fn counter_table(
    title: String,
    lines: Vec<CounterLine>,
    display: CounterDisplay,
    has_previous: bool,
) -> TableBlock {
    keyed_counter_table(TableKey::default(), title, lines, display, has_previous)
}

/// [`counter_table`] with its machine key and labels.
pub fn keyed_counter_table(
    key: TableKey,
    title: String,
    lines: Vec<CounterLine>,
    display: CounterDisplay,
    has_previous: bool,
) -> TableBlock {
    let mut hidden_zero = 0usize;
    let mut hidden_unchanged = 0usize;
    let mut rows = Vec::new();
    for line in lines {
        let moved = line.change.moved();
        if line.is_zero && !moved && !display.zeros {
            hidden_zero += 1;
            continue;
        }
        if display.changed_only && has_previous && !moved {
            hidden_unchanged += 1;
            continue;
        }
        let mut value = Cell::new(line.value, line.number);
        value.metric = line.metric;
        rows.push(Row {
            cells: vec![
                Cell::text(line.name),
                value,
                line.change.typed_cell("change_status"),
            ],
            emphasis: if moved {
                Emphasis::Highlight
            } else {
                Emphasis::None
            },
            total: false,
        });
    }
    let mut notes = Vec::new();
    if hidden_zero > 0 {
        notes.push(format!(
            "{hidden_zero} zero {} hidden (type zeros to show them)",
            plural(hidden_zero, "counter", "counters")
        ));
    }
    if hidden_unchanged > 0 {
        notes.push(format!(
            "{hidden_unchanged} unchanged {} hidden (type changed to show all)",
            plural(hidden_unchanged, "counter", "counters")
        ));
    }
    if display.changed_only && !has_previous {
        notes.push("changed: only counters that moved are shown from the next refresh".into());
    }
    TableBlock {
        key: key.key.into(),
        title: Some(title),
        columns: vec![
            Column::new("Counter", "counter").label("counter"),
            Column::new("Value", "value").numeric(),
            Column::new("Change", "change").numeric(),
        ],
        rows,
        notes,
        facts: Vec::new(),
        problems: Vec::new(),
        labels: key.labels,
        unbuilt_rows: 0,
        later_rows: 0,
    }
}

/// [`counter_table`] as a block; when the filters hid every counter, one
/// line instead of an empty table: `UdpLite (net/snmp): 9 zero counters
/// hidden (type zeros to show them)`.
pub fn counter_block(
    key: TableKey,
    title: String,
    lines: Vec<CounterLine>,
    display: CounterDisplay,
    has_previous: bool,
) -> Block {
    let had_lines = !lines.is_empty();
    let table = keyed_counter_table(key, title, lines, display, has_previous);
    if table.rows.is_empty() && had_lines {
        let title = table.title.unwrap_or_default();
        Block::Text(vec![format!("{title}: {}", table.notes.join("; "))])
    } else {
        Block::Table(table)
    }
}

/// How many unparsable lines are spelled out before the rest are counted.
const BAD_LINES_SHOWN: usize = 3;

/// Lines for under a table: which lines of `file` could not be parsed.
pub fn bad_line_notes(file: &str, bad: &[LineError]) -> Vec<String> {
    if bad.is_empty() {
        return Vec::new();
    }
    let mut notes = vec![format!(
        "{} {} of {file} could not be parsed and {} left out:",
        bad.len(),
        plural(bad.len(), "line", "lines"),
        plural(bad.len(), "is", "are"),
    )];
    notes.extend(
        bad.iter()
            .take(BAD_LINES_SHOWN)
            .map(|e| format!("  {file} {e}")),
    );
    if bad.len() > BAD_LINES_SHOWN {
        notes.push(format!("  … and {} more", bad.len() - BAD_LINES_SHOWN));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Row;

    #[test]
    fn counter_changes_read_plainly() {
        assert_eq!(Change::counter(None, 5), Change::FirstReading);
        assert_eq!(Change::counter(Some(None), 5), Change::New);
        assert_eq!(Change::counter(Some(Some(2)), 5), Change::By(3));
        assert_eq!(Change::counter(Some(Some(9)), 5), Change::Reset);
        assert_eq!(
            Change::counter(Some(Some(u64::MAX)), 0).cell(),
            "reset",
            "a counter going backwards never shows a huge number"
        );
        assert_eq!(Change::By(3).cell(), "+3");
        assert_eq!(Change::By(0).cell(), "0");
        assert_eq!(Change::FirstReading.cell(), "");
        assert_eq!(Change::gauge(Some(Some(5)), 3).cell(), "-2");
        assert_eq!(Change::gauge(Some(Some(3)), 5).cell(), "+2");
        assert_eq!(
            Change::gauge(Some(Some(i128::from(i64::MIN))), i128::from(u64::MAX)).cell(),
            "+27670116110564327423"
        );
        assert_eq!(Change::setting(Some(Some(1)), 1), Change::Steady);
        assert_eq!(Change::setting(Some(Some(1)), 2).cell(), "changed");
    }

    #[test]
    fn values_with_changes() {
        assert_eq!(Change::By(3).with_value("12"), "12 (+3)");
        assert_eq!(Change::By(0).with_value("12"), "12");
        assert_eq!(Change::Reset.with_value("7"), "7 (reset)");
        assert_eq!(Change::FirstReading.with_value("7"), "7");
        assert_eq!(Change::New.with_value("7"), "7");
    }

    #[test]
    fn rates() {
        let two = Some(Duration::from_secs(2));
        assert_eq!(Change::By(3072).byte_rate(two), "1.5 KiB/s");
        assert_eq!(Change::By(5).count_rate(two), "2.5/s");
        assert_eq!(
            Change::By(u64::MAX).byte_rate(Some(Duration::from_nanos(1))),
            "16.0 EiB/s"
        );
        assert_eq!(Change::Reset.byte_rate(two), "reset");
        assert_eq!(Change::New.count_rate(two), "new");
        assert_eq!(Change::FirstReading.count_rate(two), "");
        assert_eq!(Change::By(5).count_rate(None), "-");
        assert_eq!(per_second(5, Duration::ZERO), 0.0);
    }

    fn line(name: &str, value: u64, change: Change) -> CounterLine {
        CounterLine {
            name: name.into(),
            value: value.to_string(),
            number: Value::UInt(value),
            metric: None,
            change,
            is_zero: value == 0,
        }
    }

    fn names(table: &TableBlock) -> Vec<&str> {
        table
            .rows
            .iter()
            .map(|r: &Row| r.cells[0].text.as_str())
            .collect()
    }

    #[test]
    fn counter_table_filters() {
        let lines = vec![
            line("Zero", 0, Change::By(0)),
            line("Still", 4, Change::By(0)),
            line("Moved", 9, Change::By(2)),
            line("WasReset", 0, Change::Reset),
        ];
        let all = CounterDisplay::default();
        let t = counter_table("T".into(), lines.clone(), all, true);
        assert_eq!(names(&t), ["Still", "Moved", "WasReset"]);
        assert_eq!(t.notes, ["1 zero counter hidden (type zeros to show them)"]);
        let zeros = CounterDisplay { zeros: true, ..all };
        let t = counter_table("T".into(), lines.clone(), zeros, true);
        assert_eq!(names(&t), ["Zero", "Still", "Moved", "WasReset"]);
        assert!(t.notes.is_empty());
        let changed = CounterDisplay {
            changed_only: true,
            ..all
        };
        let t = counter_table("T".into(), lines.clone(), changed, true);
        assert_eq!(names(&t), ["Moved", "WasReset"]);
        assert_eq!(
            t.notes,
            [
                "1 zero counter hidden (type zeros to show them)",
                "1 unchanged counter hidden (type changed to show all)"
            ]
        );
        let first: Vec<CounterLine> = lines
            .into_iter()
            .map(|l| CounterLine {
                change: Change::FirstReading,
                ..l
            })
            .collect();
        let t = counter_table("T".into(), first, changed, false);
        assert_eq!(names(&t), ["Still", "Moved"]);
        assert!(t.notes[1].contains("from the next refresh"));
    }

    #[test]
    fn a_table_with_every_counter_hidden_is_one_line() {
        let lines = vec![line("A", 0, Change::By(0)), line("B", 0, Change::By(0))];
        let block = counter_block(
            TableKey::section("UdpLite"),
            "UdpLite (net/snmp)".into(),
            lines,
            CounterDisplay::default(),
            true,
        );
        assert_eq!(
            block,
            Block::Text(vec![
                "UdpLite (net/snmp): 2 zero counters hidden (type zeros to show them)".into()
            ])
        );
        let empty = counter_block(
            TableKey::default(),
            "S".into(),
            vec![],
            CounterDisplay::default(),
            true,
        );
        assert!(matches!(empty, Block::Table(t) if t.rows.is_empty()));
    }

    #[test]
    fn bad_lines_are_counted_past_three() {
        let bad: Vec<LineError> = (1..=5)
            .map(|line| LineError {
                line,
                reason: "x".into(),
            })
            .collect();
        let notes = bad_line_notes("dev", &bad);
        assert_eq!(notes.len(), 5);
        assert_eq!(
            notes[0],
            "5 lines of dev could not be parsed and are left out:"
        );
        assert_eq!(notes[4], "  … and 2 more");
        assert!(bad_line_notes("dev", &[]).is_empty());
    }
}
