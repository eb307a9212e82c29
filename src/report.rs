//! Machine-readable output of a screen: one JSON document per tick and the
//! OpenMetrics text exposition.
//!
//! Both read the same [`Screen`] the text renderer draws, using the keys,
//! typed values, facts and metric families the tabs set next to their
//! display text (see [`crate::render`]). There is no second per-tab model:
//! a column added to a tab appears in the table, in JSON and (when its
//! cells name a metric family) in OpenMetrics at once. The schema is
//! documented in `docs/json.md` and `docs/openmetrics.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value as Json, json};

use crate::render::{Block, Fact, Family, MetricKind, Screen, TableBlock, Value};
use crate::snapshot::Process;
use crate::tabs::Tab;

/// Version of the JSON document layout; bumped when a field changes
/// meaning or disappears (new fields do not bump it).
pub const SCHEMA_VERSION: u64 = 1;

/// What the driver knows about a tick besides the screen.
#[derive(Debug, Clone)]
pub struct Tick<'a> {
    pub tab: Tab,
    /// 1 for the first tick of the run.
    pub number: u64,
    pub process: &'a Process,
    pub taken_at: chrono::DateTime<chrono::Local>,
    /// Seconds since the previous tick's snapshot, when there was one.
    pub elapsed: Option<f64>,
    pub interval_seconds: f64,
}

/// A typed value as JSON; [`Value::Text`] is the display text.
fn json_value(value: &Value, text: &str) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Text => Json::String(text.to_string()),
        Value::Str(s) => Json::String(s.to_string()),
        Value::Bool(b) => Json::Bool(*b),
        Value::UInt(n) => json!(n),
        Value::Int(n) => json!(n),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
    }
}

/// Facts as an object: a fact without labels is `key: value`; facts with
/// labels are `key: [{label: …, "value": v}, …]`.
fn facts_json(facts: &[Fact], into: &mut Map<String, Json>) {
    for fact in facts {
        let value = json_value(&fact.value, "");
        if fact.labels.is_empty() {
            into.insert(fact.key.to_string(), value);
            continue;
        }
        let mut entry = Map::new();
        for (name, label) in &fact.labels {
            entry.insert((*name).to_string(), Json::String(label.clone()));
        }
        entry.insert("value".into(), value);
        // A labelled fact under a key already used for a plain one keeps
        // the plain one.
        if let Json::Array(list) = into
            .entry(fact.key.to_string())
            .or_insert_with(|| Json::Array(Vec::new()))
        {
            list.push(Json::Object(entry));
        }
    }
}

fn table_json(table: &TableBlock) -> Json {
    let columns: Vec<Json> = table
        .columns
        .iter()
        .map(|c| json!({"key": c.key, "title": c.title}))
        .collect();
    let mut rows = Vec::new();
    let mut totals = Vec::new();
    for row in &table.rows {
        let mut object = Map::new();
        for (column, cell) in table.columns.iter().zip(&row.cells) {
            object.insert(column.key.to_string(), json_value(&cell.value, &cell.text));
            for (key, value) in &cell.extra {
                object.insert((*key).to_string(), json_value(value, &cell.text));
            }
        }
        if row.total {
            totals.push(Json::Object(object));
        } else {
            rows.push(Json::Object(object));
        }
    }
    let mut summary = Map::new();
    facts_json(&table.facts, &mut summary);
    let mut out = Map::new();
    out.insert("title".into(), json!(table.title));
    out.insert("columns".into(), Json::Array(columns));
    out.insert("rows".into(), Json::Array(rows));
    out.insert(
        "total".into(),
        totals.into_iter().next().unwrap_or(Json::Null),
    );
    out.insert("summary".into(), Json::Object(summary));
    out.insert("notes".into(), json!(table.notes));
    Json::Object(out)
}

/// A key not yet in `map`: `key`, else `key_2`, `key_3` …
fn free_key(map: &Map<String, Json>, key: &str) -> String {
    let key = if key.is_empty() { "table" } else { key };
    if !map.contains_key(key) {
        return key.to_string();
    }
    (2..)
        .map(|n| format!("{key}_{n}"))
        .find(|k| !map.contains_key(k))
        .unwrap_or_default()
}

/// The JSON document of one tick.
pub fn json_document(screen: &Screen, tick: &Tick<'_>) -> Json {
    let process = tick.process;
    let mut status = Map::new();
    status.insert("pid".into(), json!(process.pid));
    status.insert("name".into(), json!(process.name));
    status.insert("cmdline".into(), json!(process.cmdline));
    status.insert("netns".into(), json!(process.netns));
    status.insert("via_thread".into(), json!(process.via_thread));
    if !tick.tab.shows_own_sockets() {
        status.insert("scope".into(), json!("namespace"));
    }
    facts_json(&screen.facts, &mut status);

    let mut tables = Map::new();
    let mut lists = Map::new();
    let mut messages = Vec::new();
    let mut problems = Vec::new();
    for problem in &screen.problems {
        problems.push(json!({
            "file": problem.file, "line": problem.line, "message": problem.message, "table": null
        }));
    }
    for block in &screen.blocks {
        match block {
            Block::Table(table) => {
                let key = free_key(&tables, &table.key);
                for problem in &table.problems {
                    problems.push(json!({
                        "file": problem.file, "line": problem.line,
                        "message": problem.message, "table": key
                    }));
                }
                tables.insert(key, table_json(table));
            }
            Block::List(list) => {
                let items: Vec<Json> = list
                    .items
                    .iter()
                    .map(|item| {
                        let mut object = Map::new();
                        for (key, value) in &item.fields {
                            object.insert((*key).to_string(), json_value(value, &item.text));
                        }
                        object.insert("text".into(), json!(item.text));
                        Json::Object(object)
                    })
                    .collect();
                let key = free_key(&lists, list.key);
                lists.insert(
                    key,
                    json!({
                        "title": list.title,
                        "items": items,
                        "notes": list.notes.iter().map(|l| l.trim()).collect::<Vec<_>>(),
                    }),
                );
            }
            Block::Text(lines) => messages.extend(lines.iter().cloned()),
        }
    }

    let mut doc = Map::new();
    doc.insert("schema".into(), json!(SCHEMA_VERSION));
    doc.insert("tab".into(), json!(tick.tab.name()));
    doc.insert("tick".into(), json!(tick.number));
    doc.insert("time".into(), json!(tick.taken_at.to_rfc3339()));
    doc.insert(
        "timestamp".into(),
        json!(tick.taken_at.timestamp_millis() as f64 / 1000.0),
    );
    doc.insert(
        "elapsed_seconds".into(),
        tick.elapsed
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number),
    );
    doc.insert("interval_seconds".into(), json!(tick.interval_seconds));
    doc.insert("status".into(), Json::Object(status));
    doc.insert("status_lines".into(), json!(screen.status));
    doc.insert("tables".into(), Json::Object(tables));
    doc.insert("lists".into(), Json::Object(lists));
    doc.insert("messages".into(), json!(messages));
    doc.insert("problems".into(), Json::Array(problems));
    Json::Object(doc)
}

/// One sample of a metric family.
struct Sample {
    labels: Vec<(String, String)>,
    /// The value as written (integers exactly, not through `f64`).
    value: String,
}

/// Families in order of first appearance, each with its samples.
#[derive(Default)]
struct Exposition {
    families: Vec<(&'static Family, Vec<Sample>)>,
}

impl Exposition {
    fn add(&mut self, family: &'static Family, labels: Vec<(String, String)>, value: String) {
        let index = match self
            .families
            .iter()
            .position(|(f, _)| f.name == family.name)
        {
            Some(index) => index,
            None => {
                self.families.push((family, Vec::new()));
                self.families.len() - 1
            }
        };
        let samples = &mut self.families[index].1;
        // One sample per label set: a repeated one (two interfaces of the
        // same name in one reading) keeps the first.
        if !samples.iter().any(|s| s.labels == labels) {
            samples.push(Sample { labels, value });
        }
    }
}

/// The label value of a cell: its string value, its number, or its text.
fn label_value(value: &Value, text: &str) -> String {
    match value {
        Value::Str(s) => s.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Int(n) => n.to_string(),
        _ => text.to_string(),
    }
}

fn collect_table(exposition: &mut Exposition, table: &TableBlock) {
    let base: Vec<(String, String)> = table
        .labels
        .iter()
        .map(|(n, v)| ((*n).to_string(), v.clone()))
        .collect();
    for row in table.rows.iter().filter(|r| !r.total) {
        let mut labels = base.clone();
        for (column, cell) in table.columns.iter().zip(&row.cells) {
            if let Some(name) = column.label {
                labels.push((name.to_string(), label_value(&cell.value, &cell.text)));
            }
        }
        for cell in &row.cells {
            if let (Some(family), Some(value)) = (cell.metric, metric_value(&cell.value)) {
                exposition.add(family, labels.clone(), value);
            }
        }
    }
    collect_facts(exposition, &table.facts, &base);
}

fn collect_facts(exposition: &mut Exposition, facts: &[Fact], base: &[(String, String)]) {
    for fact in facts {
        if let (Some(family), Some(value)) = (fact.metric, metric_value(&fact.value)) {
            let mut labels = base.to_vec();
            labels.extend(
                fact.labels
                    .iter()
                    .map(|(n, v)| ((*n).to_string(), v.clone())),
            );
            exposition.add(family, labels, value);
        }
    }
}

/// `netmonitor_info`: the process and tab of the exposition, value 1.
static INFO: Family = Family {
    name: "netmonitor_info",
    kind: MetricKind::Gauge,
    help: "The monitored process and tab (value 1)",
};

/// Escapes a label value as OpenMetrics requires: backslash, double quote
/// and newline.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A value as an OpenMetrics number, when it is one.
fn metric_value(value: &Value) -> Option<String> {
    match value {
        Value::UInt(n) => Some(n.to_string()),
        Value::Int(n) => Some(n.to_string()),
        Value::Float(x) => Some(number(*x)),
        _ => None,
    }
}

/// A float as OpenMetrics writes it (integers without a fraction).
pub(crate) fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if value.fract() == 0.0 && value.abs() < 9.007_199_254_740_992e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// One sample of a screen's metrics: its family, its labels (the table's
/// and the row's, in order) and its value as written.
pub(crate) type ScreenSample = (&'static Family, Vec<(String, String)>, String);

/// The metric samples of `screen` (facts, then table rows), each label set
/// once per family, as [`openmetrics`] writes them: for encoders that add
/// labels of their own (the exporter, `crate::exporter`).
pub(crate) fn screen_samples(screen: &Screen) -> Vec<ScreenSample> {
    let mut exposition = Exposition::default();
    collect_facts(&mut exposition, &screen.facts, &[]);
    for block in &screen.blocks {
        if let Block::Table(table) = block {
            collect_table(&mut exposition, table);
        }
    }
    exposition
        .families
        .into_iter()
        .flat_map(|(family, samples)| {
            samples
                .into_iter()
                .map(move |sample| (family, sample.labels, sample.value))
        })
        .collect()
}

/// The OpenMetrics exposition of one tick, ending with `# EOF`.
pub fn openmetrics(screen: &Screen, tick: &Tick<'_>) -> String {
    let mut exposition = Exposition::default();
    let process = tick.process;
    exposition.add(
        &INFO,
        vec![
            ("pid".into(), process.pid.to_string()),
            ("name".into(), process.name.clone()),
            ("netns".into(), process.netns.clone().unwrap_or_default()),
            ("tab".into(), tick.tab.name().into()),
        ],
        "1".into(),
    );
    collect_facts(&mut exposition, &screen.facts, &[]);
    for block in &screen.blocks {
        if let Block::Table(table) = block {
            collect_table(&mut exposition, table);
        }
    }

    let mut out = String::new();
    for (family, samples) in &exposition.families {
        let (kind, suffix) = match family.kind {
            MetricKind::Counter => ("counter", "_total"),
            MetricKind::Gauge => ("gauge", ""),
        };
        let _ = writeln!(out, "# TYPE {} {kind}", family.name);
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
        // Label sets must be unique within a family; ordering them makes
        // the output stable.
        let mut sorted: BTreeMap<String, &str> = BTreeMap::new();
        for sample in samples {
            let labels: Vec<String> = sample
                .labels
                .iter()
                .map(|(n, v)| format!("{n}=\"{}\"", escape_label(v)))
                .collect();
            let labels = if labels.is_empty() {
                String::new()
            } else {
                format!("{{{}}}", labels.join(","))
            };
            sorted.entry(labels).or_insert(&sample.value);
        }
        for (labels, value) in sorted {
            let _ = writeln!(out, "{}{suffix}{labels} {value}", family.name);
        }
    }
    out.push_str("# EOF\n");
    out
}

/// HELP text escapes backslash and newline.
pub(crate) fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_label("düm0"), "düm0");
    }

    #[test]
    fn numbers_read_as_openmetrics_writes_them() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1.5), "1.5");
        assert_eq!(
            metric_value(&Value::UInt(u64::MAX)).unwrap(),
            "18446744073709551615"
        );
        assert_eq!(metric_value(&Value::Text), None);
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }
}
