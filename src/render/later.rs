//! Big tables whose rows the renderer builds itself, a piece at a time,
//! and the lines of the last one kept for the next refresh.
//!
//! Text output that shows every row of a process's 20 000 sockets would
//! otherwise build 200 000 cells (and their machine readings) before the
//! first line, and a piped session would lay out every row again at every
//! refresh although few changed. A view may instead hand the renderer a
//! [`RowSource`]: the renderer asks each row's digest, reuses the line of
//! a row it laid out last time when the digest and the column widths are
//! the same, and builds and lays out only the others, keeping just their
//! texts until the widths are known. The text is exactly what
//! [`super::render`] makes of the built rows (tested below).

use std::ops::Range;

use compact_str::CompactString;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::{
    Emphasis, PIECE_ROWS, RenderOptions, Row, ShownRow, TableBlock, comfy_table, display_width,
    sanitize,
};

/// Rows of a table that its view builds when the renderer asks for them
/// ([`TableBlock::later_rows`]).
pub trait RowSource: Sync {
    /// How many rows.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row `index`, built.
    fn row(&self, index: usize) -> Row;
    /// A digest of everything row `index` shows, cheaper than building it:
    /// two rows with equal digests print alike.
    fn digest(&self, index: usize) -> u64;
}

/// The row lines of the last table rendered from a [`RowSource`], by
/// digest, with what they were laid out for. Holds one table's lines: it
/// is replaced by every table rendered through it. The lines are not
/// copied: they are where they were printed, in the text the caller hands
/// back once printed ([`LineCache::keep`]).
#[derive(Debug, Default)]
pub struct LineCache {
    /// The table's columns and the colour setting the lines were laid
    /// out for.
    layout: u64,
    /// The column widths they were laid out at.
    widths: Vec<u16>,
    /// The text the lines are in, each with its newline.
    text: String,
    /// The lines are those of a render whose text was not handed back
    /// yet (they end before this offset): not to be used.
    awaiting: Option<usize>,
    lines: FxHashMap<u64, Line>,
    /// The display width of each cell of each line, `widths.len()` a line.
    cell_widths: Vec<u16>,
}

impl LineCache {
    /// Takes the text of the render that last used the cache (whatever
    /// was appended to it since): the next render copies the lines of the
    /// rows that have not changed from it. A text whose render did not use
    /// the cache is dropped.
    pub fn keep(&mut self, text: String) {
        if self.awaiting.is_some_and(|end| end <= text.len()) {
            self.text = text;
            self.awaiting = None;
        }
    }

    /// How many lines it holds, ready for the next render.
    pub fn len(&self) -> usize {
        if self.awaiting.is_some() {
            0
        } else {
            self.lines.len()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where a cached line is: its text, and its cells' widths.
#[derive(Debug, Clone, Copy)]
struct Line {
    text: (usize, usize),
    widths_at: usize,
}

/// A row of this render: the line kept from the last one, or the texts of
/// a row built now.
enum Slot {
    Kept { digest: u64, line: Line },
    Built { digest: u64, row: TextRow },
}

/// What laying a row out needs of it: its texts (escaped) and emphasis.
struct TextRow {
    texts: Vec<CompactString>,
    emphasis: Emphasis,
}

impl TextRow {
    fn of(row: Row) -> TextRow {
        // A vector of its own: collected in place, the texts would keep
        // the cells' allocation, nearly three times as big.
        let mut texts = Vec::with_capacity(row.cells.len());
        texts.extend(
            row.cells
                .into_iter()
                .map(|cell| match sanitize(&cell.text) {
                    std::borrow::Cow::Borrowed(_) => cell.text,
                    std::borrow::Cow::Owned(escaped) => CompactString::from(escaped),
                }),
        );
        TextRow {
            texts,
            emphasis: row.emphasis,
        }
    }

    /// The display width of each cell.
    fn widths(&self) -> impl Iterator<Item = u16> + '_ {
        self.texts
            .iter()
            .map(|text| u16::try_from(display_width(text)).unwrap_or(u16::MAX))
    }
}

impl ShownRow for TextRow {
    fn texts(&self) -> impl Iterator<Item = &str> {
        self.texts.iter().map(|t| t.as_str())
    }

    fn emphasis(&self) -> Emphasis {
        self.emphasis
    }
}

/// Writes the frame and rows of `block` (whose rows `source` builds) to
/// `out`, reusing and then replacing the lines in `cache`.
pub(super) fn lay_out(
    out: &mut String,
    block: &TableBlock,
    options: &RenderOptions,
    source: &dyn RowSource,
    cache: &mut LineCache,
) {
    let layout = layout_of(block, options);
    let reusable = cache.layout == layout && cache.awaiting.is_none();
    let count = source.len();
    let pieces = pieces(count);

    // Each row's digest, and the texts of those not kept, on every core.
    let mut slots: Vec<Vec<Slot>> = pieces
        .par_iter()
        .map(|piece| {
            piece
                .clone()
                .map(|index| {
                    let digest = source.digest(index);
                    match cache.lines.get(&digest).filter(|_| reusable) {
                        Some(&line) => Slot::Kept { digest, line },
                        None => Slot::Built {
                            digest,
                            row: TextRow::of(source.row(index)),
                        },
                    }
                })
                .collect()
        })
        .collect();

    let mut widths: Vec<u16> = block
        .columns
        .iter()
        .map(|c| u16::try_from(display_width(&sanitize(&c.title))).unwrap_or(u16::MAX))
        .collect();
    let mut widen = |cells: &mut dyn Iterator<Item = u16>| {
        for (index, cell) in cells.enumerate() {
            match widths.get_mut(index) {
                Some(w) => *w = (*w).max(cell),
                None => widths.push(cell),
            }
        }
    };
    for slot in slots.iter().flatten() {
        match slot {
            Slot::Kept { line, .. } => widen(
                &mut cache.cell_widths[line.widths_at..line.widths_at + cache.widths.len()]
                    .iter()
                    .copied(),
            ),
            Slot::Built { row, .. } => widen(&mut row.widths()),
        }
    }
    // Kept lines are laid out at the old widths: with other widths every
    // row is built again.
    if widths != cache.widths {
        slots
            .par_iter_mut()
            .zip(&pieces)
            .for_each(|(piece, indices)| {
                for (slot, index) in piece.iter_mut().zip(indices.clone()) {
                    if let Slot::Kept { digest, .. } = *slot {
                        *slot = Slot::Built {
                            digest,
                            row: TextRow::of(source.row(index)),
                        };
                    }
                }
            });
    }

    let (head, foot) = frame(block, options, &widths);
    out.push_str(&head);
    let mut next = LineCache {
        layout,
        widths: widths.clone(),
        cell_widths: Vec::with_capacity(count * widths.len()),
        ..LineCache::default()
    };
    next.lines.reserve(count);
    // Pieces are laid out a round at a time, one per core, so that only
    // one round's lines are held besides the output.
    let cores = rayon::current_num_threads().max(1);
    let mut reserved = false;
    for round in slots.chunks(cores) {
        let laid: Vec<Vec<String>> = round
            .par_iter()
            .map(|piece| lay_out_built(block, options, &widths, piece))
            .collect();
        for (piece, new_lines) in round.iter().zip(laid) {
            let mut new_lines = new_lines.into_iter();
            for slot in piece {
                let start = out.len();
                let at = next.cell_widths.len();
                let digest = match slot {
                    Slot::Kept { digest, line } => {
                        out.push_str(&cache.text[line.text.0..line.text.1]);
                        next.cell_widths.extend_from_slice(
                            &cache.cell_widths[line.widths_at..line.widths_at + widths.len()],
                        );
                        *digest
                    }
                    Slot::Built { digest, row } => {
                        let Some(text) = new_lines.next() else {
                            continue;
                        };
                        out.push_str(&text);
                        out.push('\n');
                        let mut cells = row.widths();
                        next.cell_widths
                            .extend((0..widths.len()).map(|_| cells.next().unwrap_or(0)));
                        *digest
                    }
                };
                if !reserved {
                    // Lines of plain text at fixed widths are all about as
                    // long: room for all of them at once, not by doublings.
                    out.reserve((out.len() - start) * count + foot.len());
                    reserved = true;
                }
                next.lines.insert(
                    digest,
                    Line {
                        text: (start, out.len()),
                        widths_at: at,
                    },
                );
            }
        }
    }
    out.push_str(&foot);
    // The lines are in the text being rendered: the cache holds them once
    // the caller hands that text back ([`LineCache::keep`]).
    next.awaiting = Some(out.len());
    *cache = next;
}

/// Rows laid out together: fewer than a table of built rows is laid out
/// in ([`PIECE_ROWS`]), as comfy-table's cells of a piece are the bulk of
/// what laying out holds.
const LATER_PIECE_ROWS: usize = PIECE_ROWS / 4;

/// The ranges of row indices laid out together.
fn pieces(count: usize) -> Vec<Range<usize>> {
    (0..count)
        .step_by(LATER_PIECE_ROWS)
        .map(|start| start..(start + LATER_PIECE_ROWS).min(count))
        .collect()
}

/// The lines of the built rows of `piece`, in order, laid out at `widths`.
fn lay_out_built(
    block: &TableBlock,
    options: &RenderOptions,
    widths: &[u16],
    piece: &[Slot],
) -> Vec<String> {
    let rows: Vec<&TextRow> = piece
        .iter()
        .filter_map(|slot| match slot {
            Slot::Built { row, .. } => Some(row),
            Slot::Kept { .. } => None,
        })
        .collect();
    if rows.is_empty() {
        return Vec::new();
    }
    let table = comfy_table(block, &rows, false, false, options, Some(widths)).to_string();
    // Between the piece's top and bottom borders, a line a row (texts are
    // escaped: no cell holds a newline).
    let mut lines: Vec<String> = table.lines().map(str::to_owned).collect();
    lines.pop();
    if !lines.is_empty() {
        lines.remove(0);
    }
    debug_assert_eq!(lines.len(), rows.len());
    lines
}

/// The table's lines above its rows (top border, header, separator) and
/// its bottom border, at `widths`.
fn frame(block: &TableBlock, options: &RenderOptions, widths: &[u16]) -> (String, String) {
    let blank = TextRow {
        texts: vec![CompactString::default(); widths.len()],
        emphasis: Emphasis::None,
    };
    let table = comfy_table(block, &[&blank], true, false, options, Some(widths)).to_string();
    let lines: Vec<&str> = table.lines().collect();
    let (above, below) = lines.split_at(lines.len().saturating_sub(2));
    let mut head = String::new();
    for line in above {
        head.push_str(line);
        head.push('\n');
    }
    let foot = below
        .last()
        .map_or(String::new(), |line| format!("{line}\n"));
    (head, foot)
}

/// A digest of what a row's line depends on besides its texts: the
/// columns (titles, alignment) and the colour setting.
fn layout_of(block: &TableBlock, options: &RenderOptions) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    for column in &block.columns {
        column.title.hash(&mut hasher);
        column.numeric.hash(&mut hasher);
    }
    options.colour.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use proptest::prelude::*;

    use super::*;
    use crate::render::{Block, Cell, Column, Screen, render, render_with};

    /// Rows given whole, built on demand and counted.
    struct Given {
        rows: Vec<Row>,
        built: AtomicUsize,
    }

    impl Given {
        fn new(rows: Vec<Row>) -> Given {
            Given {
                rows,
                built: AtomicUsize::new(0),
            }
        }

        fn built(&self) -> usize {
            self.built.load(Ordering::Relaxed)
        }
    }

    impl RowSource for Given {
        fn len(&self) -> usize {
            self.rows.len()
        }

        fn row(&self, index: usize) -> Row {
            self.built.fetch_add(1, Ordering::Relaxed);
            self.rows[index].clone()
        }

        fn digest(&self, index: usize) -> u64 {
            use std::hash::{DefaultHasher, Hash, Hasher};
            let row = &self.rows[index];
            let mut hasher = DefaultHasher::new();
            for cell in &row.cells {
                cell.text.hash(&mut hasher);
            }
            (row.emphasis as u8).hash(&mut hasher);
            hasher.finish()
        }
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::new("", "new"),
            Column::new("Name", "name"),
            Column::new("N", "n").numeric(),
            Column::new("Where", "where"),
        ]
    }

    fn row(mark: &str, name: &str, n: u64, place: &str, emphasis: Emphasis) -> Row {
        Row {
            cells: vec![
                Cell::text(mark),
                Cell::text(name),
                Cell::uint(n),
                Cell::text(place),
            ],
            emphasis,
            total: false,
        }
    }

    /// The screen of `rows`: built, or left to a source.
    fn screen(rows: Vec<Row>, later: bool) -> Screen {
        let count = rows.len();
        Screen {
            status: vec!["tcp · pid 1 (x)".into()],
            blocks: vec![
                Block::Text(vec!["above".into()]),
                Block::Table(TableBlock {
                    key: "sockets".into(),
                    title: Some("title".into()),
                    columns: columns(),
                    rows: if later { Vec::new() } else { rows },
                    notes: vec!["a note".into()],
                    later_rows: if later { count } else { 0 },
                    ..TableBlock::default()
                }),
            ],
            ..Screen::default()
        }
    }

    /// Renders `rows` through `cache` (handing the text back) and checks it
    /// against the rows built; returns how many rows the source built.
    fn through(rows: &[Row], options: &RenderOptions, cache: &mut LineCache) -> usize {
        let source = Given::new(rows.to_vec());
        let text = render_with(
            &screen(rows.to_vec(), true),
            options,
            Some((&source, cache)),
        );
        assert_eq!(text, render(&screen(rows.to_vec(), false), options));
        cache.keep(text);
        source.built()
    }

    fn rows(count: usize, salt: u64) -> Vec<Row> {
        (0..count)
            .map(|n| {
                let n = n as u64;
                row(
                    if n % 11 == salt % 11 { "+" } else { "" },
                    &format!("sock{n}"),
                    (n * 7919 + salt) % 1_000,
                    if n % 97 == 3 {
                        "a\x1bb 界"
                    } else {
                        "127.0.0.1:80"
                    },
                    if n % 11 == salt % 11 {
                        Emphasis::Highlight
                    } else {
                        Emphasis::None
                    },
                )
            })
            .collect()
    }

    #[test]
    fn unchanged_rows_are_neither_built_nor_laid_out_again() {
        let options = RenderOptions::plain();
        let mut cache = LineCache::default();
        let first = rows(2_345, 0);
        assert_eq!(through(&first, &options, &mut cache), 2_345);
        assert_eq!(cache.len(), 2_345);
        // The same rows: none is built.
        assert_eq!(through(&first, &options, &mut cache), 0);
        // One row changed, one gone, one new (no column wider): those two
        // are built.
        let mut next = first.clone();
        next[10] = row("", "sock10", 5, "127.0.0.1:80", Emphasis::Dim);
        next.remove(20);
        next.push(row("+", "sock9999", 1, "127.0.0.1:81", Emphasis::Highlight));
        assert_eq!(through(&next, &options, &mut cache), 2);
        // A row wider than its column: every row is laid out again.
        next[0] = row("", "a-much-longer-name-than-any", 1, "x", Emphasis::None);
        assert_eq!(through(&next, &options, &mut cache), next.len());
        // The widest row gone: the column narrows, every row again.
        next.remove(0);
        assert_eq!(through(&next, &options, &mut cache), next.len());
        // Colour lays lines out otherwise: every row again, then none.
        let colour = RenderOptions {
            colour: true,
            ..options
        };
        assert_eq!(through(&next, &colour, &mut cache), next.len());
        assert_eq!(through(&next, &colour, &mut cache), 0);
    }

    #[test]
    fn lines_are_not_used_before_their_text_is_handed_back() {
        let options = RenderOptions::plain();
        let mut cache = LineCache::default();
        let rows = rows(30, 1);
        let source = Given::new(rows.clone());
        let _ = render_with(
            &screen(rows.clone(), true),
            &options,
            Some((&source, &mut cache)),
        );
        assert!(cache.is_empty(), "awaiting its text");
        // Not handed back: the next render builds every row.
        assert_eq!(through(&rows, &options, &mut cache), 30);
        // A text too short for the lines is not taken.
        let source = Given::new(rows.clone());
        let _ = render_with(
            &screen(rows.clone(), true),
            &options,
            Some((&source, &mut cache)),
        );
        cache.keep("short".into());
        assert!(cache.is_empty());
    }

    #[test]
    fn rows_left_to_a_source_not_given_are_counted_not_lost() {
        let text = render(&screen(rows(30, 2), true), &RenderOptions::plain());
        assert!(text.contains("… 30 more rows"), "{text}");
    }

    fn any_row() -> impl Strategy<Value = Row> {
        (
            prop::sample::select(vec!["", "+"]),
            "[a-c界\x07]{0,6}",
            0u64..2_000,
            prop::sample::select(vec!["*", "[::1]:443", "10.0.0.1:80", "a\nb"]),
            prop::sample::select(vec![Emphasis::None, Emphasis::Highlight, Emphasis::Dim]),
        )
            .prop_map(|(mark, name, n, place, emphasis)| row(mark, &name, n, place, emphasis))
    }

    proptest! {
        /// Refresh after refresh, whatever changes, the text is that of the
        /// rows built, with and without colour.
        #[test]
        fn every_refresh_prints_as_the_rows_built(
            ticks in prop::collection::vec(prop::collection::vec(any_row(), 1..40), 1..5),
            colour in any::<bool>(),
        ) {
            let options = RenderOptions { colour, ..RenderOptions::plain() };
            let mut cache = LineCache::default();
            for rows in &ticks {
                through(rows, &options, &mut cache);
            }
        }
    }
}
