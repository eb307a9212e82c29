//! Turning views into text: the screen model every tab produces, the table
//! style, the row cap, units, and — in one place — the escaping of
//! untrusted strings.
//!
//! Every string that reaches the terminal passes through [`sanitize`] here:
//! interface names, process names, command lines and socket paths come from
//! the system and may hold control bytes that would drive the terminal, or
//! newlines that would forge rows. Tabs therefore build plain strings and
//! never escape anything themselves.

use std::borrow::Cow;
use std::fmt::Write as _;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{
    Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, Width,
};

/// Everything one tab shows for one tick.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Screen {
    /// Lines of the boxed status header.
    pub status: Vec<String>,
    pub blocks: Vec<Block>,
}

/// A part of a screen, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Table(TableBlock),
    /// Free text (a heading, an explanation), one entry per line: each line
    /// is escaped on its own, so a newline inside an entry cannot start a
    /// forged line.
    Text(Vec<String>),
}

/// One table with its heading and the notes printed under it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableBlock {
    pub title: Option<String>,
    pub header: Vec<String>,
    /// Indexes of columns whose cells are right-aligned (numbers).
    pub numeric_columns: Vec<usize>,
    pub rows: Vec<Row>,
    /// Lines under the table: summaries, parse problems, hints.
    pub notes: Vec<String>,
}

/// One table row; `emphasis` asks for colour on a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    pub cells: Vec<String>,
    pub emphasis: Emphasis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Emphasis {
    #[default]
    None,
    /// Something new or noteworthy.
    Highlight,
    /// Something going away (closing states).
    Dim,
}

impl Row {
    pub fn new(cells: Vec<String>) -> Self {
        Row {
            cells,
            emphasis: Emphasis::None,
        }
    }
}

/// How to render: inputs rather than globals, so tests render at a fixed
/// width with no colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Total width in columns; `None` lets tables take what they need.
    pub width: Option<u16>,
    pub colour: bool,
    /// At most this many rows per table; the rest are counted.
    pub max_rows: Option<usize>,
}

impl RenderOptions {
    /// Plain output: no width limit, no colour, every row (pipes, `--once`).
    pub fn plain() -> Self {
        RenderOptions {
            width: None,
            colour: false,
            max_rows: None,
        }
    }
}

/// Renders a whole screen: status box, then each block, separated by blank
/// lines. The result ends with a newline.
pub fn render(screen: &Screen, options: &RenderOptions) -> String {
    let mut out = String::new();
    let mut status = new_table(options);
    let status_lines: Vec<Cow<'_, str>> = screen.status.iter().map(|l| sanitize(l)).collect();
    status.add_row(vec![Cell::new(status_lines.join("\n"))]);
    let _ = writeln!(out, "{status}");
    for block in &screen.blocks {
        out.push('\n');
        match block {
            Block::Text(lines) => {
                for line in lines {
                    let _ = writeln!(out, "{}", sanitize(line));
                }
            }
            Block::Table(table) => render_table(&mut out, table, options),
        }
    }
    out
}

fn new_table(options: &RenderOptions) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    if options.colour {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    match options.width {
        Some(width) => {
            table.set_width(width);
            table.set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table
}

/// Above this many rows, a table without a width limit is laid out in
/// pieces of this many rows with column widths fixed in advance, so that
/// comfy-table never holds more than one piece: a process with 20 000
/// sockets prints in little memory, and the text is the same.
const PIECE_ROWS: usize = 1000;

fn render_table(out: &mut String, block: &TableBlock, options: &RenderOptions) {
    if let Some(title) = &block.title {
        let _ = writeln!(out, "{}", sanitize(title));
    }
    let shown = options
        .max_rows
        .map_or(block.rows.len(), |cap| cap.min(block.rows.len()));
    let rows = &block.rows[..shown];
    if rows.len() <= PIECE_ROWS || options.width.is_some() {
        let table = comfy_table(block, rows, true, options, None);
        let _ = writeln!(out, "{table}");
    } else {
        let widths = content_widths(block, rows);
        let pieces: Vec<&[Row]> = rows.chunks(PIECE_ROWS).collect();
        let last = pieces.len() - 1;
        for (index, piece) in pieces.into_iter().enumerate() {
            let text = comfy_table(block, piece, index == 0, options, Some(&widths)).to_string();
            let mut lines: Vec<&str> = text.lines().collect();
            // Pieces join where one's bottom border and the next one's top
            // border would be.
            if index > 0 && !lines.is_empty() {
                lines.remove(0);
            }
            if index < last {
                lines.pop();
            }
            for line in lines {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    let hidden = block.rows.len() - shown;
    if hidden > 0 {
        let _ = writeln!(
            out,
            "… {hidden} more {} (use `--once` or pipe the output to see all)",
            plural(hidden, "row", "rows")
        );
    }
    for note in &block.notes {
        let _ = writeln!(out, "{}", sanitize(note));
    }
}

/// The display width of the widest cell of each column (header included),
/// as comfy-table measures it.
fn content_widths(block: &TableBlock, rows: &[Row]) -> Vec<u16> {
    use unicode_width::UnicodeWidthStr;
    let columns = rows
        .iter()
        .map(|r| r.cells.len())
        .chain([block.header.len()])
        .max()
        .unwrap_or(0);
    let mut widths = vec![0usize; columns];
    let cells = rows
        .iter()
        .flat_map(|r| r.cells.iter().enumerate())
        .chain(block.header.iter().enumerate());
    for (index, text) in cells {
        widths[index] = widths[index].max(sanitize(text).width());
    }
    widths
        .into_iter()
        .map(|w| u16::try_from(w).unwrap_or(u16::MAX))
        .collect()
}

/// A comfy-table of `rows` (with the header when `with_header`), its
/// columns fixed to `widths` when given.
fn comfy_table(
    block: &TableBlock,
    rows: &[Row],
    with_header: bool,
    options: &RenderOptions,
    widths: Option<&[u16]>,
) -> Table {
    let mut table = new_table(options);
    if with_header {
        let header: Vec<Cell> = block
            .header
            .iter()
            .map(|h| {
                let cell = Cell::new(sanitize(h));
                if options.colour {
                    cell.add_attribute(Attribute::Bold)
                } else {
                    cell
                }
            })
            .collect();
        table.set_header(header);
    }
    for row in rows {
        let cells: Vec<Cell> = row
            .cells
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let mut cell = Cell::new(sanitize(text));
                if block.numeric_columns.contains(&index) {
                    cell = cell.set_alignment(CellAlignment::Right);
                }
                if options.colour {
                    cell = match row.emphasis {
                        Emphasis::None => cell,
                        Emphasis::Highlight => cell.fg(Color::Green),
                        Emphasis::Dim => cell.fg(Color::DarkGrey),
                    };
                }
                cell
            })
            .collect();
        table.add_row(cells);
    }
    if block.rows.is_empty() {
        let columns = block.header.len().max(1);
        let mut cells = vec![Cell::new("(none)")];
        cells.extend((1..columns).map(|_| Cell::new("")));
        table.add_row(cells);
    }
    if let Some(widths) = widths {
        let constraints = widths
            .iter()
            // A column's fixed width includes its padding of one on each side.
            .map(|w| ColumnConstraint::Absolute(Width::Fixed(w.saturating_add(2))));
        table.set_constraints(constraints);
    }
    table
}

/// Escapes every character that could act on a terminal or break a line:
/// C0 controls (incl. TAB and newline), DEL, C1 controls, and the Unicode
/// bidirectional overrides. They become visible `\xNN` / `\u{NNNN}` text.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            let code = c as u32;
            if code <= 0xff {
                let _ = write!(out, "\\x{code:02x}");
            } else {
                let _ = write!(out, "\\u{{{code:04x}}}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `word` or its plural for `count`.
pub fn plural(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 { one } else { many }
}

/// Bytes in binary units: `512 B`, `1.5 KiB`, `3.2 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A rate in bytes per second, in binary units: `0 B/s`, `1.5 KiB/s`.
/// Rates are measured, so they are never negative or not-a-number; such
/// input shows as `0 B/s` rather than as nonsense.
pub fn human_rate(bytes_per_second: f64) -> String {
    let rate = if bytes_per_second.is_finite() && bytes_per_second > 0.0 {
        bytes_per_second
    } else {
        0.0
    };
    if rate < 1024.0 {
        return format!("{rate:.0} B/s");
    }
    // Round through the integer formatter, which saturates for huge rates.
    format!("{}/s", human_bytes(rate.round() as u64))
}

/// An exact count with thousands separated: `2,097,152`.
pub fn grouped(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A duration in seconds for display: `2 s`, `0.5 s`, `59.7 s`.
pub fn human_seconds(seconds: f64) -> String {
    if seconds.fract() == 0.0 {
        format!("{seconds:.0} s")
    } else {
        let text = format!("{seconds:.2}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        format!("{text} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_escapes_every_control_byte() {
        assert_eq!(sanitize("eth0"), "eth0");
        assert_eq!(sanitize("e\x1b[31mx"), "e\\x1b[31mx");
        assert_eq!(sanitize("a\nb\tc\x07\x7f"), "a\\x0ab\\x09c\\x07\\x7f");
        assert_eq!(sanitize("\u{9b}31m"), "\\x9b31m");
        assert_eq!(sanitize("abc\u{202e}"), "abc\\u{202e}");
        assert_eq!(sanitize("naïve"), "naïve");
    }

    #[test]
    fn units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
        assert_eq!(human_seconds(2.0), "2 s");
        assert_eq!(human_seconds(0.5), "0.5 s");
        assert_eq!(human_seconds(59.75), "59.75 s");
        assert_eq!(human_rate(0.0), "0 B/s");
        assert_eq!(human_rate(1023.4), "1023 B/s");
        assert_eq!(human_rate(1536.0), "1.5 KiB/s");
        assert_eq!(human_rate(-5.0), "0 B/s");
        assert_eq!(human_rate(f64::NAN), "0 B/s");
        assert_eq!(human_rate(f64::INFINITY), "0 B/s");
        assert_eq!(human_rate(1e30), "16.0 EiB/s");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(2_097_152), "2,097,152");
        assert_eq!(grouped(u64::MAX), "18,446,744,073,709,551,615");
    }

    fn sample(rows: usize) -> Screen {
        Screen {
            status: vec!["tcp · pid 1 (x)".into()],
            blocks: vec![Block::Table(TableBlock {
                title: None,
                header: vec!["A".into(), "B".into()],
                numeric_columns: vec![1],
                rows: (0..rows)
                    .map(|n| Row::new(vec![format!("r{n}"), n.to_string()]))
                    .collect(),
                notes: vec!["note".into()],
            })],
        }
    }

    #[test]
    fn row_cap_counts_what_it_hides() {
        let options = RenderOptions {
            max_rows: Some(2),
            ..RenderOptions::plain()
        };
        let text = render(&sample(5), &options);
        assert!(text.contains("r1"));
        assert!(!text.contains("r2"));
        assert!(text.contains("… 3 more rows"));
        let all = render(&sample(5), &RenderOptions::plain());
        assert!(all.contains("r4") && !all.contains("more rows"));
    }

    #[test]
    fn plain_output_has_no_escape_sequences() {
        let mut screen = sample(1);
        screen.status.push("evil \x1b]0;title\x07 name".into());
        let text = render(&screen, &RenderOptions::plain());
        assert!(!text.contains('\x1b'));
        assert!(!text.contains('\x07'));
        assert!(text.contains("\\x1b]0;title\\x07"));
    }

    #[test]
    fn big_tables_print_in_pieces_exactly_as_in_one() {
        let rows: Vec<Row> = (0..2_345)
            .map(|n| {
                Row::new(vec![
                    format!("r{n}"),
                    "界".repeat(n % 7),
                    (n * 7919 % 100_003).to_string(),
                    if n == 1_700 {
                        "a\x1bb".into()
                    } else {
                        String::new()
                    },
                ])
            })
            .collect();
        let block = TableBlock {
            title: Some("big".into()),
            header: vec!["Name".into(), "Wide".into(), "N".into(), "Odd".into()],
            numeric_columns: vec![2],
            rows,
            notes: vec!["end".into()],
        };
        let mut in_pieces = String::new();
        render_table(&mut in_pieces, &block, &RenderOptions::plain());
        let mut whole = String::new();
        let table = comfy_table(&block, &block.rows, true, &RenderOptions::plain(), None);
        whole.push_str("big\n");
        let _ = writeln!(whole, "{table}");
        whole.push_str("end\n");
        assert_eq!(in_pieces, whole);
        assert_eq!(in_pieces.lines().count(), 2_345 + 6);
    }

    #[test]
    fn empty_table_says_none() {
        let text = render(&sample(0), &RenderOptions::plain());
        assert!(text.contains("(none)"));
    }
}
