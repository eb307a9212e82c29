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

use compact_str::{CompactString, ToCompactString};
use rayon::prelude::*;
use std::fmt::Write as _;
use thin_vec::ThinVec;

mod later;

pub use later::{LineCache, RowSource};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{
    Attribute, Cell as TableCell, CellAlignment, Color, ColumnConstraint, ContentArrangement,
    Table, Width,
};

/// Everything one tab shows for one tick.
///
/// The model carries two readings of every item: the text a person sees
/// and a typed value with a stable snake_case key for scripts. The text
/// renderer here uses the first; [`crate::report`] turns the second into
/// JSON and OpenMetrics. Tabs set both where they format a value, so there
/// is one path from what a tab computes to every output.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Screen {
    /// Lines of the boxed status header.
    pub status: Vec<String>,
    /// Machine-readable facts of the status (scope, fallback, totals).
    pub facts: Vec<Fact>,
    pub blocks: Vec<Block>,
    /// Problems that belong to no table (a file of counters with broken
    /// lines); their text is in a [`Block::Text`] too.
    pub problems: Vec<Problem>,
}

/// A part of a screen, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Table(TableBlock),
    /// Free text (a heading, an explanation), one entry per line: each line
    /// is escaped on its own, so a newline inside an entry cannot start a
    /// forged line.
    Text(Vec<String>),
    /// A titled list of items, each one line marked with `marker`
    /// (findings), with lines after it.
    List(ListBlock),
}

/// One table with its heading and the notes printed under it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableBlock {
    /// Stable snake_case name of the table in machine output.
    pub key: Cow<'static, str>,
    pub title: Option<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// Lines under the table: summaries, parse problems, hints.
    pub notes: Vec<String>,
    /// Machine-readable summary of the rows (sockets by state …).
    pub facts: Vec<Fact>,
    /// Lines that could not be parsed, files that could not be read; also
    /// told in `notes`.
    pub problems: Vec<Problem>,
    /// Labels added to every metric of the table (`section="TcpExt"`).
    pub labels: Vec<(&'static str, String)>,
    /// Rows after `rows` that the view did not build because the display
    /// cap would hide them anyway ([`crate::tabs::ViewContext::rows_shown`]).
    pub unbuilt_rows: usize,
    /// Rows the view left to the [`RowSource`] it gives the renderer
    /// ([`render_with`]), which builds them a piece at a time as it prints
    /// them ([`crate::tabs::ViewContext::rows_later`]); `rows` is then
    /// empty. Only text output asks for them.
    pub later_rows: usize,
}

/// A column: its heading, its machine key, and how it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub title: Cow<'static, str>,
    /// snake_case key of this column's values in machine output.
    pub key: Cow<'static, str>,
    /// Right-aligned (numbers).
    pub numeric: bool,
    /// When set, this column's text is a label of the row's metrics
    /// (`interface`, `cpu`, `counter`).
    pub label: Option<&'static str>,
    /// How much the column matters when a table is wider than the
    /// terminal: `None` is never left out; otherwise columns of lower
    /// importance are left out first (of equal importance, the one further
    /// right). See [`Column::importance`].
    pub importance: Option<u8>,
    /// Free text (an explanation) that may be cut short with `…` to fit a
    /// narrow terminal; addresses, numbers, states and names never are.
    pub shortens: bool,
}

impl Column {
    pub const fn new(title: &'static str, key: &'static str) -> Column {
        Column {
            title: Cow::Borrowed(title),
            key: Cow::Borrowed(key),
            numeric: false,
            label: None,
            importance: None,
            shortens: false,
        }
    }

    /// The same column, left out of a table too wide for the terminal
    /// before any column of higher importance (and before any column
    /// without one, which always stays).
    pub const fn importance(mut self, importance: u8) -> Column {
        self.importance = Some(importance);
        self
    }

    /// The same column, cut short with `…` when a table is still too wide
    /// once every column that may go has gone.
    pub const fn shortens(mut self) -> Column {
        self.shortens = true;
        self
    }

    /// The same column, right-aligned.
    pub const fn numeric(mut self) -> Column {
        self.numeric = true;
        self
    }

    /// The same column, naming the row's metrics by label `name`.
    pub const fn label(mut self, name: &'static str) -> Column {
        self.label = Some(name);
        self
    }
}

/// One table row; `emphasis` asks for colour on a terminal.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub emphasis: Emphasis,
    /// A total over the other rows (machine output keeps it apart, and
    /// metrics leave it out: a sum is the scraper's job).
    pub total: bool,
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
    pub fn new(cells: Vec<Cell>) -> Self {
        Row {
            cells,
            emphasis: Emphasis::None,
            total: false,
        }
    }

    /// The display texts of the cells.
    pub fn texts(&self) -> Vec<&str> {
        self.cells.iter().map(|c| c.text.as_str()).collect()
    }
}

/// One cell: what is shown, what it means, and more values that belong to
/// it (a change, a timer's kind).
///
/// Texts and string values are [`CompactString`]s: most cells hold a few
/// characters (`0`, `ESTAB`, an address), which it keeps inline instead of
/// in a heap allocation of their own — a table of 20 000 sockets has
/// 200 000 cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cell {
    pub text: CompactString,
    /// The value under the column's key.
    pub value: Value,
    /// More keyed values of the same cell (`rx_errors_change`); a thin
    /// vector, one pointer wide while empty, as most are.
    pub extra: ThinVec<(&'static str, Value)>,
    /// The metric family this cell's value is a sample of.
    pub metric: Option<&'static Family>,
}

impl Cell {
    /// A cell whose value is a string: its text.
    pub fn text(text: impl Into<CompactString>) -> Cell {
        Cell {
            text: text.into(),
            value: Value::Text,
            ..Cell::default()
        }
    }

    /// A cell showing `text` whose value is `value`.
    pub fn new(text: impl Into<CompactString>, value: Value) -> Cell {
        Cell {
            text: text.into(),
            value,
            ..Cell::default()
        }
    }

    /// A whole number shown as such.
    pub fn uint(n: u64) -> Cell {
        Cell::new(n.to_compact_string(), Value::UInt(n))
    }

    /// A byte count shown in binary units (`1.5 KiB`), its value in bytes.
    pub fn bytes(n: u64) -> Cell {
        Cell::new(human_bytes(n), Value::UInt(n))
    }

    /// Shown as `text`, with no value (`-`, blank, `*`).
    pub fn null(text: impl Into<CompactString>) -> Cell {
        Cell::new(text, Value::Null)
    }

    /// Adds a keyed value.
    pub fn with(mut self, key: &'static str, value: Value) -> Cell {
        // Exact growth: a table of 20 000 sockets holds some 80 000 of
        // these short lists, and the default first capacity of four would
        // triple their memory.
        self.extra.reserve_exact(1);
        self.extra.push((key, value));
        self
    }

    /// Makes the value a sample of `family` in OpenMetrics output.
    pub fn metric(mut self, family: &'static Family) -> Cell {
        self.metric = Some(family);
        self
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::text(text)
    }
}

/// A typed value for machine output.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Nothing to report (not connected, not yet known).
    #[default]
    Null,
    /// The value is the cell's display text, as a string (names,
    /// addresses): not stored twice.
    Text,
    /// A string other than the display text.
    Str(CompactString),
    Bool(bool),
    UInt(u64),
    Int(i64),
    Float(f64),
}

impl Value {
    /// A signed change, clamped to the range of `i64`.
    pub fn signed(n: i128) -> Value {
        Value::Int(i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX }))
    }

    /// A float, or null when it is not finite (JSON has no NaN).
    pub fn float(x: f64) -> Value {
        if x.is_finite() {
            Value::Float(x)
        } else {
            Value::Null
        }
    }
}

/// A named fact of a table or a screen, with labels when it is one of a
/// kind (`sockets{state="LISTEN"}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub key: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: Value,
    pub metric: Option<&'static Family>,
}

impl Fact {
    pub fn new(key: &'static str, value: Value) -> Fact {
        Fact {
            key,
            labels: Vec::new(),
            value,
            metric: None,
        }
    }

    pub fn label(mut self, name: &'static str, value: impl Into<String>) -> Fact {
        self.labels.push((name, value.into()));
        self
    }

    pub fn metric(mut self, family: &'static Family) -> Fact {
        self.metric = Some(family);
        self
    }
}

/// An OpenMetrics metric family: name (without `_total`), type and help.
#[derive(Debug, PartialEq, Eq)]
pub struct Family {
    pub name: &'static str,
    pub kind: MetricKind,
    pub help: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
}

/// A titled list (findings): `marker` before each item.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListBlock {
    pub key: &'static str,
    pub title: String,
    pub marker: &'static str,
    pub items: Vec<Item>,
    /// Lines after the items.
    pub notes: Vec<String>,
}

/// One item of a list: its line and its keyed values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Item {
    pub text: String,
    pub fields: Vec<(&'static str, Value)>,
}

/// Something that could not be read or parsed: which file, which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `net/tcp`, or a path.
    pub file: String,
    /// 1-based, for a line that did not parse; `None` for the whole file.
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    /// The problems of the bad lines of `net/<file>`.
    pub fn lines(file: &str, bad: &[crate::parse::LineError]) -> Vec<Problem> {
        bad.iter()
            .map(|e| Problem {
                file: format!("net/{file}"),
                line: Some(e.line),
                message: e.reason.clone(),
            })
            .collect()
    }

    /// A file that could not be read (or parsed as a whole).
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            line: None,
            message: message.into(),
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

    /// A terminal's: its width and height now (read at each call, so a
    /// resized terminal is followed), colour unless `NO_COLOR`.
    pub fn terminal() -> Self {
        let size = terminal_size::terminal_size();
        let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        RenderOptions {
            width: size.map(|(w, _)| w.0),
            colour,
            // Room for the status box, headers, notes and the prompt.
            max_rows: size.map(|(_, h)| usize::from(h.0).saturating_sub(12).max(5)),
        }
    }
}

/// Renders a whole screen: status box, then each block, separated by blank
/// lines. The result ends with a newline.
pub fn render(screen: &Screen, options: &RenderOptions) -> String {
    render_with(screen, options, None)
}

/// [`render`], with the rows of the table that has [`TableBlock::later_rows`]
/// built by `later`'s source, reusing and then keeping the lines of its
/// cache.
pub fn render_with(
    screen: &Screen,
    options: &RenderOptions,
    mut later: Option<(&dyn RowSource, &mut LineCache)>,
) -> String {
    let mut out = String::new();
    let mut status = new_table(options);
    let status_lines: Vec<Cow<'_, str>> = screen.status.iter().map(|l| sanitize(l)).collect();
    status.add_row(vec![TableCell::new(status_lines.join("\n"))]);
    let _ = writeln!(out, "{status}");
    for block in &screen.blocks {
        out.push('\n');
        match block {
            Block::Text(lines) => {
                for line in lines {
                    write_line(&mut out, "", &sanitize(line), options.width);
                }
            }
            Block::Table(table) => render_table(&mut out, table, options, later.as_mut()),
            Block::List(list) => {
                write_line(&mut out, "", &sanitize(&list.title), options.width);
                for item in &list.items {
                    write_line(&mut out, list.marker, &sanitize(&item.text), options.width);
                }
                for line in &list.notes {
                    write_line(&mut out, "", &sanitize(line), options.width);
                }
            }
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

fn render_table(
    out: &mut String,
    block: &TableBlock,
    options: &RenderOptions,
    later: Option<&mut (&dyn RowSource, &mut LineCache)>,
) {
    if let Some(title) = &block.title {
        write_line(out, "", &sanitize(title), options.width);
    }
    // Rows left to a source that was not given are not printed: they are
    // counted with the hidden ones rather than lost without a word.
    let (fitted, unprinted) = match later {
        Some((source, cache)) if block.later_rows > 0 => {
            later::lay_out(out, block, options, *source, cache);
            (None, 0)
        }
        _ => (render_rows(out, block, options), block.later_rows),
    };
    let hidden = block.rows.len() - shown_rows(block, options) + block.unbuilt_rows + unprinted;
    if hidden > 0 {
        let _ = writeln!(
            out,
            "… {hidden} more {} (`rows all` or `rows N` shows more; `--once` prints all)",
            plural(hidden, "row", "rows")
        );
    }
    if let Some(fitted) = fitted.filter(|f| !f.left_out.is_empty()) {
        let names: Vec<Cow<'_, str>> = fitted
            .left_out
            .iter()
            .map(|&index| {
                let column = &block.columns[index];
                sanitize(if column.title.is_empty() {
                    &column.key
                } else {
                    &column.title
                })
            })
            .collect();
        let line = format!(
            "left out to fit {} columns: {} (a wider terminal, or --once into a file, shows them)",
            options.width.unwrap_or_default(),
            names.join(", ")
        );
        write_line(out, "", &line, options.width);
    }
    for note in &block.notes {
        write_line(out, "", &sanitize(note), options.width);
    }
}

/// How many of the built rows of `block` are shown.
fn shown_rows(block: &TableBlock, options: &RenderOptions) -> usize {
    options
        .max_rows
        .map_or(block.rows.len(), |cap| cap.min(block.rows.len()))
}

/// Writes the frame and built rows of `block`; returns the columns left
/// out to fit the width, if any.
fn render_rows(out: &mut String, block: &TableBlock, options: &RenderOptions) -> Option<Fitted> {
    let rows = &block.rows[..shown_rows(block, options)];
    let none = block.rows.is_empty() && block.later_rows == 0;
    let fitted = options
        .width
        .and_then(|width| Fitted::of(block, rows, width));
    if let Some(fitted) = &fitted {
        let table = fitted_table(block, rows, options, fitted);
        let _ = writeln!(out, "{table}");
    } else if rows.len() <= PIECE_ROWS || options.width.is_some() {
        let table = comfy_table(block, rows, true, none, options, None);
        let _ = writeln!(out, "{table}");
    } else {
        let widths = content_widths(block, rows);
        let pieces: Vec<&[Row]> = rows.chunks(PIECE_ROWS).collect();
        let last = pieces.len() - 1;
        // Pieces are laid out a round at a time, one per core: the text is
        // the same, it comes sooner, and only one round's texts are held.
        let cores = rayon::current_num_threads().max(1);
        for (round, group) in pieces.chunks(cores).enumerate() {
            let texts: Vec<String> = group
                .par_iter()
                .enumerate()
                .map(|(offset, piece)| {
                    let index = round * cores + offset;
                    comfy_table(block, piece, index == 0, none, options, Some(&widths)).to_string()
                })
                .collect();
            for (offset, text) in texts.iter().enumerate() {
                let index = round * cores + offset;
                if index == 0 {
                    // The pieces are about as long as the first one.
                    out.reserve(text.len() * pieces.len());
                }
                // Pieces join where one's bottom border and the next one's
                // top border would be.
                let mut text = text.as_str();
                if index > 0 {
                    text = text.split_once('\n').map_or("", |(_, rest)| rest);
                }
                if index < last {
                    text = text.rsplit_once('\n').map_or("", |(kept, _)| kept);
                }
                if !text.is_empty() {
                    out.push_str(text);
                    out.push('\n');
                }
            }
        }
    }
    fitted
}

/// Writes `text` after `marker`, broken at spaces into lines of at most
/// `width` columns when a width is given (continuation lines indented
/// like the text); a word longer than a line is never broken.
fn write_line(out: &mut String, marker: &str, text: &str, width: Option<u16>) {
    let limit = width.map_or(usize::MAX, usize::from);
    let indent = display_width(marker);
    let lead = text.len() - text.trim_start_matches(' ').len();
    if indent + display_width(text) <= limit {
        let _ = writeln!(out, "{marker}{text}");
        return;
    }
    out.push_str(marker);
    let mut used = indent;
    let mut first = true;
    for word in text.split(' ') {
        let w = display_width(word);
        if !first && used + 1 + w > limit {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent + lead));
            used = indent + lead;
            first = true;
        }
        if !first {
            out.push(' ');
            used += 1;
        }
        out.push_str(word);
        used += w;
        first = false;
    }
    out.push('\n');
}

/// The display width of `text` (already escaped), as comfy-table measures it.
fn display_width(text: &str) -> usize {
    use unicode_width::UnicodeWidthStr;
    // Printable ASCII is one column a byte.
    if text.is_ascii() {
        text.len()
    } else {
        text.width()
    }
}

/// The display width of `title`'s longest word: the narrowest its header
/// can be when its words go on lines of their own.
fn longest_word(title: &str) -> usize {
    sanitize(title)
        .split(' ')
        .map(display_width)
        .max()
        .unwrap_or(0)
}

/// The width of a table whose columns hold `widths` of text: each column
/// has a blank on either side and a border after it, plus the left border.
fn table_width(widths: impl Iterator<Item = usize>) -> usize {
    widths.map(|w| w + 3).sum::<usize>() + 1
}

/// Below this width a column of free text is not shortened further.
const SHORTEST: usize = 12;

/// How a table too wide for the terminal is made to fit: which columns it
/// keeps, at what width, and which it leaves out. Cells are never broken
/// over lines: a column is as wide as its widest cell (a header may take
/// several lines, one word each), so what does not fit is left out in
/// order of importance, then free text is cut short with `…`. When even
/// that is not enough (two long IPv6 addresses at 60 columns), the table
/// is wider than the terminal rather than breaking an address.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fitted {
    /// Kept columns, in order, with the width of their text.
    kept: Vec<(usize, usize)>,
    /// Indices of the columns left out, in table order.
    left_out: Vec<usize>,
}

impl Fitted {
    /// `None` when the table fits `width` as it is (it is then laid out as
    /// on a wide terminal).
    fn of(block: &TableBlock, rows: &[Row], width: u16) -> Option<Fitted> {
        let width = usize::from(width);
        let count = block.columns.len();
        if count == 0 {
            return None;
        }
        let mut cells = cell_widths(count, rows);
        if rows.is_empty() {
            cells[0] = cells[0].max("(none)".len());
        }
        let whole = block
            .columns
            .iter()
            .zip(&cells)
            .map(|(c, &w)| w.max(display_width(&sanitize(&c.title))));
        if table_width(whole) <= width {
            return None;
        }
        let mut widths: Vec<usize> = block
            .columns
            .iter()
            .zip(&cells)
            .map(|(c, &w)| w.max(longest_word(&c.title)))
            .collect();
        let mut kept = vec![true; count];
        let total = |kept: &[bool], widths: &[usize]| {
            table_width(
                widths
                    .iter()
                    .zip(kept)
                    .filter(|(_, k)| **k)
                    .map(|(w, _)| *w),
            )
        };
        // Least important first; of equal importance, rightmost first.
        let mut candidates: Vec<(u8, usize)> = block
            .columns
            .iter()
            .enumerate()
            .filter_map(|(index, c)| c.importance.map(|i| (i, index)))
            .collect();
        candidates.sort_by_key(|&(importance, index)| (importance, std::cmp::Reverse(index)));
        for (_, index) in candidates {
            if total(&kept, &widths) <= width {
                break;
            }
            kept[index] = false;
        }
        let mut excess = total(&kept, &widths).saturating_sub(width);
        for index in (0..count).rev() {
            let column = &block.columns[index];
            if excess == 0 || !kept[index] || !column.shortens {
                continue;
            }
            let floor = SHORTEST.max(longest_word(&column.title));
            let cut = excess.min(widths[index].saturating_sub(floor));
            widths[index] -= cut;
            excess -= cut;
        }
        Some(Fitted {
            kept: (0..count)
                .filter(|&i| kept[i])
                .map(|i| (i, widths[i]))
                .collect(),
            left_out: (0..count).filter(|&i| !kept[i]).collect(),
        })
    }
}

/// The widest cell of each of the first `count` columns.
fn cell_widths(count: usize, rows: &[Row]) -> Vec<usize> {
    let mut widest = vec![0usize; count];
    for row in rows {
        for (w, cell) in widest.iter_mut().zip(&row.cells) {
            *w = (*w).max(display_width(&sanitize(&cell.text)));
        }
    }
    widest
}

/// `title`'s words on lines of at most `width` columns.
fn wrap_title(title: &str, width: usize) -> String {
    let mut out = String::new();
    write_line(&mut out, "", title, u16::try_from(width).ok());
    out.truncate(out.trim_end_matches('\n').len());
    out
}

/// `text` cut to `width` columns, ending in `…` when cut.
fn shorten(text: &str, width: usize) -> Cow<'_, str> {
    use unicode_width::UnicodeWidthChar;
    if display_width(text) <= width {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(width + 3);
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    Cow::Owned(out)
}

/// A comfy-table of the kept columns of `fitted`, laid out as given: no
/// cell is wrapped (headers are, between words).
fn fitted_table(
    block: &TableBlock,
    rows: &[Row],
    options: &RenderOptions,
    fitted: &Fitted,
) -> Table {
    let mut table = new_table(&RenderOptions {
        width: None,
        ..*options
    });
    let header: Vec<TableCell> = fitted
        .kept
        .iter()
        .map(|&(index, width)| {
            let cell = TableCell::new(wrap_title(&sanitize(&block.columns[index].title), width));
            if options.colour {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        })
        .collect();
    table.set_header(header);
    for row in rows {
        let cells: Vec<TableCell> = fitted
            .kept
            .iter()
            .map(|&(index, width)| {
                let column = &block.columns[index];
                let text = row.cells.get(index).map_or("", |c| c.text.as_str());
                let text = sanitize(text);
                let text = if column.shortens {
                    shorten(&text, width).into_owned()
                } else {
                    text.into_owned()
                };
                let mut cell = TableCell::new(text);
                if column.numeric {
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
    if rows.is_empty() {
        let mut cells = vec![TableCell::new("(none)")];
        cells.extend((1..fitted.kept.len()).map(|_| TableCell::new("")));
        table.add_row(cells);
    }
    table
}

/// The display width of the widest cell of each column (header included),
/// as comfy-table measures it.
fn content_widths(block: &TableBlock, rows: &[Row]) -> Vec<u16> {
    use unicode_width::UnicodeWidthStr;
    let columns = rows
        .iter()
        .map(|r| r.cells.len())
        .chain([block.columns.len()])
        .max()
        .unwrap_or(0);
    let width_of = |text: &str| {
        let shown = sanitize(text);
        // Printable ASCII is one column a byte.
        if shown.is_ascii() {
            shown.len()
        } else {
            shown.width()
        }
    };
    let merge = |mut widest: Vec<usize>, other: Vec<usize>| {
        for (w, o) in widest.iter_mut().zip(other) {
            *w = (*w).max(o);
        }
        widest
    };
    // Measured on every core, a share of the rows each.
    let widths = rows
        .par_iter()
        .fold(
            || vec![0usize; columns],
            |mut widest, row| {
                for (w, cell) in widest.iter_mut().zip(&row.cells) {
                    *w = (*w).max(width_of(&cell.text));
                }
                widest
            },
        )
        .reduce(|| vec![0usize; columns], merge);
    let header = block.columns.iter().map(|c| width_of(&c.title)).collect();
    let widths = merge(widths, header);
    widths
        .into_iter()
        .map(|w| u16::try_from(w).unwrap_or(u16::MAX))
        .collect()
}

/// What laying out a row needs: its texts and its emphasis.
trait ShownRow {
    fn texts(&self) -> impl Iterator<Item = &str>;
    fn emphasis(&self) -> Emphasis;
}

impl ShownRow for Row {
    fn texts(&self) -> impl Iterator<Item = &str> {
        self.cells.iter().map(|c| c.text.as_str())
    }

    fn emphasis(&self) -> Emphasis {
        self.emphasis
    }
}

impl<T: ShownRow> ShownRow for &T {
    fn texts(&self) -> impl Iterator<Item = &str> {
        (**self).texts()
    }

    fn emphasis(&self) -> Emphasis {
        (**self).emphasis()
    }
}

/// A comfy-table of `rows` (with the header when `with_header`, and a
/// `(none)` row when `none`: the table has no rows at all), its columns
/// fixed to `widths` when given.
fn comfy_table(
    block: &TableBlock,
    rows: &[impl ShownRow],
    with_header: bool,
    none: bool,
    options: &RenderOptions,
    widths: Option<&[u16]>,
) -> Table {
    let mut table = new_table(options);
    if with_header {
        let header: Vec<TableCell> = block
            .columns
            .iter()
            .map(|c| {
                let cell = TableCell::new(sanitize(&c.title));
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
        let emphasis = row.emphasis();
        let cells: Vec<TableCell> = row
            .texts()
            .enumerate()
            .map(|(index, text)| {
                let mut cell = TableCell::new(sanitize(text));
                if block.columns.get(index).is_some_and(|c| c.numeric) {
                    cell = cell.set_alignment(CellAlignment::Right);
                }
                if options.colour {
                    cell = match emphasis {
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
    if none {
        let columns = block.columns.len().max(1);
        let mut cells = vec![TableCell::new("(none)")];
        cells.extend((1..columns).map(|_| TableCell::new("")));
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
    // Printable ASCII, by far the most common, is checked a byte at a time.
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) || !text.chars().any(needs_escape) {
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

/// A name as a snake_case key: `TcpExt` → `tcp_ext`, `MPTcpExt` →
/// `mp_tcp_ext`, `RX bytes` → `rx_bytes`. Anything but ASCII letters and
/// digits separates words.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            continue;
        }
        if c.is_ascii_uppercase() && i > 0 && !out.is_empty() && !out.ends_with('_') {
            let previous = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
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
pub use crate::vocab::human_seconds;

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
    fn snake_case_keys() {
        assert_eq!(snake_case("TcpExt"), "tcp_ext");
        assert_eq!(snake_case("MPTcpExt"), "mp_tcp_ext");
        assert_eq!(snake_case("IcmpMsg"), "icmp_msg");
        assert_eq!(snake_case("UdpLite"), "udp_lite");
        assert_eq!(snake_case("Ip"), "ip");
        assert_eq!(snake_case("RX bytes"), "rx_bytes");
        assert_eq!(snake_case("TCPPureAcks"), "tcp_pure_acks");
        assert_eq!(snake_case("Icmp6InType3"), "icmp6_in_type3");
        assert_eq!(snake_case("--x--"), "x");
        assert_eq!(snake_case(""), "");
    }

    #[test]
    fn rates_and_grouped_counts() {
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

    #[test]
    fn units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
        assert_eq!(human_seconds(2.0), "2 s");
        assert_eq!(human_seconds(0.5), "0.5 s");
        assert_eq!(human_seconds(59.75), "59.75 s");
    }

    fn sample(rows: usize) -> Screen {
        Screen {
            status: vec!["tcp · pid 1 (x)".into()],
            blocks: vec![Block::Table(TableBlock {
                columns: vec![Column::new("A", "a"), Column::new("B", "b").numeric()],
                rows: (0..rows)
                    .map(|n| Row::new(vec![Cell::text(format!("r{n}")), Cell::uint(n as u64)]))
                    .collect(),
                notes: vec!["note".into()],
                ..TableBlock::default()
            })],
            ..Screen::default()
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
                    Cell::text(format!("r{n}")),
                    Cell::text("界".repeat(n % 7)),
                    Cell::uint((n * 7919 % 100_003) as u64),
                    Cell::text(if n == 1_700 { "a\x1bb" } else { "" }),
                ])
            })
            .collect();
        let block = TableBlock {
            key: "big".into(),
            title: Some("big".into()),
            columns: vec![
                Column::new("Name", "name"),
                Column::new("Wide", "wide"),
                Column::new("N", "n").numeric(),
                Column::new("Odd", "odd"),
            ],
            rows,
            notes: vec!["end".into()],
            ..TableBlock::default()
        };
        let mut in_pieces = String::new();
        render_table(&mut in_pieces, &block, &RenderOptions::plain(), None);
        let mut whole = String::new();
        let table = comfy_table(
            &block,
            &block.rows,
            true,
            false,
            &RenderOptions::plain(),
            None,
        );
        whole.push_str("big\n");
        let _ = writeln!(whole, "{table}");
        whole.push_str("end\n");
        assert_eq!(in_pieces, whole);
        assert_eq!(in_pieces.lines().count(), 2_345 + 6);
    }

    /// A table of `widths` wide cells under columns `A`… with the given
    /// importances.
    fn ranked(importances: &[Option<u8>], cell: &str) -> TableBlock {
        const TITLES: [&str; 5] = ["A", "B", "C", "D", "E"];
        TableBlock {
            columns: importances
                .iter()
                .enumerate()
                .map(|(i, rank)| {
                    let column = Column::new(TITLES[i], TITLES[i]);
                    match rank {
                        Some(rank) => column.importance(*rank),
                        None => column,
                    }
                })
                .collect(),
            rows: vec![Row::new(
                (0..importances.len())
                    .map(|i| Cell::text(format!("{i}{cell}")))
                    .collect(),
            )],
            ..TableBlock::default()
        }
    }

    fn at(block: &TableBlock, width: u16) -> String {
        let mut out = String::new();
        let options = RenderOptions {
            width: Some(width),
            ..RenderOptions::plain()
        };
        render_table(&mut out, block, &options, None);
        out
    }

    #[test]
    fn columns_go_least_important_first_and_the_rightmost_of_equals() {
        // Each column is 14 wide with its borders: five are 71.
        let block = ranked(&[None, Some(2), Some(1), None, Some(1)], "-123456789");
        assert!(!at(&block, 71).contains("left out"));
        let text = at(&block, 70);
        assert!(text.contains("left out to fit 70 columns: E ("), "{text}");
        let text = at(&block, 40);
        assert!(
            text.contains("left out to fit 40 columns: B, C, E ("),
            "{text}"
        );
        assert!(text.contains("│ 0-123456789 ┆ 3-123456789 │"), "{text}");
        // Essential columns stay even when they do not fit: the table is
        // wider than asked rather than a value broken.
        let text = at(&block, 20);
        assert!(text.contains("│ 0-123456789 ┆ 3-123456789 │"), "{text}");
    }

    #[test]
    fn headers_wrap_between_words_and_free_text_is_cut_short() {
        let mut block = ranked(&[None, None], "");
        block.columns[0].title = "Local Address:Port".into();
        block.columns[1] = Column::new("Meaning", "meaning").shortens();
        block.rows[0].cells[1] = Cell::text("a long explanation of what this counter counts");
        let text = at(&block, 31);
        assert!(text.contains("│ Local        ┆ Meaning      │"), "{text}");
        assert!(text.contains("│ Address:Port ┆              │"), "{text}");
        assert!(text.contains("┆ a long expl… │"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 31), "{text}");
    }

    #[test]
    fn free_text_wraps_between_words_at_the_width() {
        let mut out = String::new();
        write_line(&mut out, "  ! ", "one two three four", Some(12));
        assert_eq!(out, "  ! one two\n    three\n    four\n");
        let mut out = String::new();
        write_line(&mut out, "", "an-unbreakable-word x", Some(8));
        assert_eq!(out, "an-unbreakable-word\nx\n");
    }

    #[test]
    fn empty_table_says_none() {
        let text = render(&sample(0), &RenderOptions::plain());
        assert!(text.contains("(none)"));
    }
}
