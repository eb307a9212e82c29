//! Multi-line text for the parsers' property tests.
//!
//! A table parser skips its header and reads the rest line by line, so text
//! without a newline tests little more than the header skip. These
//! strategies build tables: lines printed the way the kernel prints a
//! record, the same lines cut short or with a few characters changed,
//! arbitrary text and blank lines, in any order, joined by `\n` or `\r\n`.
//! [`check_table`] then says what the table parser must return for them.

use super::Parsed;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use std::fmt::Debug;

/// One line of a generated table.
#[derive(Debug, Clone)]
pub(crate) enum Line<T> {
    /// `T` printed the way the kernel prints it.
    Kernel(T, String),
    /// Anything else: garbage, a mangled kernel line, blanks.
    Other(String),
}

impl<T> Line<T> {
    pub(crate) fn text(&self) -> &str {
        match self {
            Line::Kernel(_, text) | Line::Other(text) => text,
        }
    }
}

/// Text that is not a kernel line (no newline, no control character).
pub(crate) fn garbage() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        4 => "\\PC{0,120}",
        2 => "[0-9A-Fa-fx:. \t*|-]{0,120}",
        1 => "[ \t]{0,4}",
    ]
}

/// `line` cut at some character, or with a short run of characters put in
/// at some place: often still close enough to mislead a parser.
fn mangle(line: &str, at: Index, cut: bool, junk: &str) -> String {
    let bounds: Vec<usize> = line
        .char_indices()
        .map(|(i, _)| i)
        .chain([line.len()])
        .collect();
    let at = bounds[at.index(bounds.len())];
    if cut {
        line[..at].to_string()
    } else {
        format!("{}{junk}{}", &line[..at], &line[at..])
    }
}

/// Between 0 and `max` lines: kernel lines from `kernel`, mangled ones,
/// garbage and blanks.
pub(crate) fn lines<T, S>(kernel: S, max: usize) -> impl Strategy<Value = Vec<Line<T>>>
where
    T: Debug + Clone + 'static,
    S: Strategy<Value = (T, String)> + 'static,
{
    let kernel = kernel.boxed();
    let exact = kernel.clone().prop_map(|(t, s)| Line::Kernel(t, s));
    let mangled = (kernel, any::<Index>(), any::<bool>(), "\\PC{1,3}")
        .prop_map(|((_, s), at, cut, junk)| Line::Other(mangle(&s, at, cut, &junk)));
    let other = garbage().prop_map(Line::Other);
    proptest::collection::vec(prop_oneof![3 => exact, 2 => mangled, 2 => other], 0..max)
}

/// The whole file: `header` lines, then `lines`, joined by `\n` (or
/// `\r\n`), with or without a final line end.
pub(crate) fn join<T>(header: &[String], lines: &[Line<T>], crlf: bool, last_end: bool) -> String {
    let end = if crlf { "\r\n" } else { "\n" };
    let mut text = header
        .iter()
        .map(String::as_str)
        .chain(lines.iter().map(Line::text))
        .collect::<Vec<_>>()
        .join(end);
    if last_end {
        text.push_str(end);
    }
    text
}

/// What a table parser owes for `lines` after `header_lines` header lines:
/// every kernel line back as its record and every other non-blank line
/// parsed alone by `parse_one` (a row if it parses, else a bad line with its
/// 1-based number), all in order, and nothing else.
pub(crate) fn check_table<T: Debug + Clone + PartialEq>(
    parsed: &Parsed<T>,
    header_lines: usize,
    lines: &[Line<T>],
    mut parse_one: impl FnMut(&str) -> Result<T, String>,
) -> Result<(), TestCaseError> {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let text = line.text().trim_end();
        if text.trim_start().is_empty() {
            continue;
        }
        let one = parse_one(text);
        match (line, one) {
            (Line::Kernel(record, _), one) => {
                prop_assert_eq!(one, Ok(record.clone()), "kernel line {:?}", text);
                rows.push(record.clone());
            }
            (Line::Other(_), Ok(record)) => rows.push(record),
            (Line::Other(_), Err(_)) => bad.push(header_lines + index + 1),
        }
    }
    prop_assert_eq!(&parsed.rows, &rows);
    let got: Vec<usize> = parsed.bad_lines.iter().map(|b| b.line).collect();
    prop_assert_eq!(got, bad);
    prop_assert!(parsed.bad_lines.iter().all(|b| !b.reason.is_empty()));
    Ok(())
}
