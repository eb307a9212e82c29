//! The exporter's exposition: samples gathered during one refresh, written
//! once in both text formats Prometheus reads, so that a scrape only picks
//! the right bytes.
//!
//! * OpenMetrics 1.0 (`application/openmetrics-text; version=1.0.0`):
//!   `# TYPE name counter`, samples `name_total`, `# EOF` at the end.
//! * The classic Prometheus text format (`text/plain; version=0.0.4`):
//!   the family is named as its samples (`name_total`), no `# EOF`.
//!
//! Both store the same series (`netmonitor_process_tcp_received_bytes_total`
//! …). Label values are escaped the way both formats require (`\\`, `\"`,
//! `\n`): process names, interface names and addresses are chosen by
//! others. Why this encoder and not the `prometheus-client` crate:
//! docs/exporter.md.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::render::{Family, MetricKind};
use crate::report::{escape_help, escape_label, number};

/// Families in order of first appearance; in each, one value per label
/// set (the first given), ordered by labels so the output is stable.
#[derive(Default)]
pub(crate) struct Exposition {
    families: Vec<(&'static Family, BTreeMap<String, String>)>,
    index: HashMap<&'static str, usize>,
}

/// A sample's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    UInt(u64),
    Float(f64),
}

impl Number {
    fn write(self) -> String {
        match self {
            Number::UInt(n) => n.to_string(),
            Number::Float(x) => number(x),
        }
    }
}

impl Exposition {
    /// Adds one sample of `family`.
    pub(crate) fn add(&mut self, family: &'static Family, labels: &[(&str, &str)], value: Number) {
        self.add_written(family, labels, value.write());
    }

    /// Adds one sample whose value is already written as a number.
    pub(crate) fn add_written(
        &mut self,
        family: &'static Family,
        labels: &[(&str, &str)],
        value: String,
    ) {
        let at = *self.index.entry(family.name).or_insert_with(|| {
            self.families.push((family, BTreeMap::new()));
            self.families.len() - 1
        });
        self.families[at]
            .1
            .entry(label_set(labels))
            .or_insert(value);
    }

    /// How many samples it holds.
    pub(crate) fn len(&self) -> usize {
        self.families.iter().map(|(_, s)| s.len()).sum()
    }

    /// The OpenMetrics text, ending with `# EOF`.
    pub(crate) fn openmetrics(&self) -> String {
        let mut out = String::with_capacity(self.len() * 96 + 64);
        for (family, samples) in &self.families {
            let (kind, suffix) = kind_and_suffix(family.kind);
            let _ = writeln!(out, "# TYPE {} {kind}", family.name);
            let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
            for (labels, value) in samples {
                let _ = writeln!(out, "{}{suffix}{labels} {value}", family.name);
            }
        }
        out.push_str("# EOF\n");
        out
    }

    /// The classic Prometheus text format (version 0.0.4).
    pub(crate) fn classic(&self) -> String {
        let mut out = String::with_capacity(self.len() * 96);
        for (family, samples) in &self.families {
            let (kind, suffix) = kind_and_suffix(family.kind);
            let _ = writeln!(
                out,
                "# HELP {}{suffix} {}",
                family.name,
                escape_help(family.help)
            );
            let _ = writeln!(out, "# TYPE {}{suffix} {kind}", family.name);
            for (labels, value) in samples {
                let _ = writeln!(out, "{}{suffix}{labels} {value}", family.name);
            }
        }
        out
    }
}

fn kind_and_suffix(kind: MetricKind) -> (&'static str, &'static str) {
    match kind {
        MetricKind::Counter => ("counter", "_total"),
        MetricKind::Gauge => ("gauge", ""),
    }
}

/// `{a="x",b="y"}`, values escaped; empty without labels.
fn label_set(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut out = String::from("{");
    for (n, (name, value)) in labels.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"{}\"", escape_label(value));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    static BYTES: Family = Family {
        name: "t_bytes",
        kind: MetricKind::Counter,
        help: "Bytes\nwith \\ a newline",
    };
    static UP: Family = Family {
        name: "t_up",
        kind: MetricKind::Gauge,
        help: "Up",
    };

    fn sample() -> Exposition {
        let mut e = Exposition::default();
        e.add(
            &BYTES,
            &[("pid", "2"), ("name", "b")],
            Number::UInt(u64::MAX),
        );
        e.add(&UP, &[], Number::Float(0.5));
        e.add(
            &BYTES,
            &[("pid", "1"), ("name", "a\"\\\n}")],
            Number::UInt(7),
        );
        // A repeated label set keeps the first value.
        e.add(
            &BYTES,
            &[("pid", "1"), ("name", "a\"\\\n}")],
            Number::UInt(9),
        );
        e
    }

    #[test]
    fn openmetrics_groups_families_escapes_and_ends_with_eof() {
        assert_eq!(
            sample().openmetrics(),
            "# TYPE t_bytes counter\n\
             # HELP t_bytes Bytes\\nwith \\\\ a newline\n\
             t_bytes_total{pid=\"1\",name=\"a\\\"\\\\\\n}\"} 7\n\
             t_bytes_total{pid=\"2\",name=\"b\"} 18446744073709551615\n\
             # TYPE t_up gauge\n\
             # HELP t_up Up\n\
             t_up 0.5\n\
             # EOF\n"
        );
        assert_eq!(sample().len(), 3);
    }

    #[test]
    fn classic_names_counter_families_as_their_samples() {
        let text = sample().classic();
        assert!(text.starts_with("# HELP t_bytes_total Bytes"), "{text}");
        assert!(text.contains("# TYPE t_bytes_total counter\n"), "{text}");
        assert!(text.contains("# TYPE t_up gauge\nt_up 0.5\n"), "{text}");
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn both_formats_parse() {
        let text = sample().openmetrics();
        let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&text);
        assert!(parsed.is_ok(), "{parsed:?}\n{text}");
        let classic = sample().classic();
        let parsed = openmetrics_parser::prometheus::parse_prometheus(&classic);
        assert!(parsed.is_ok(), "{parsed:?}\n{classic}");
    }
}
