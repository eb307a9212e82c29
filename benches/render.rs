//! Laying out a socket table printed in full: 20 000 rows built by a view
//! and rendered, against the same rows left to the renderer — at a first
//! print (every row built and laid out) and at a refresh where none
//! changed (every line copied from the last text).
//!
//! Run with `cargo bench --bench render`; docs/performance.md has figures.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use netmonitor::render::{
    Block, Cell, Column, LineCache, RenderOptions, Row, RowSource, Screen, TableBlock, render,
    render_with,
};

const ROWS: usize = 20_000;

/// The rows of a tcp tab: a mark, state, queues, two endpoints, timer,
/// retransmits, user and inode.
fn rows() -> Vec<Row> {
    (0..ROWS)
        .map(|n| {
            Row::new(vec![
                Cell::text(""),
                Cell::text("ESTAB"),
                Cell::uint(0),
                Cell::uint((n % 7) as u64),
                Cell::text(format!("127.0.0.1:{}", 20_000 + n % 16)),
                Cell::text(format!("127.0.0.1:{}", 30_000 + n)),
                Cell::text("-"),
                Cell::uint(0),
                Cell::text("root"),
                Cell::uint(1_000_000 + n as u64),
            ])
        })
        .collect()
}

fn columns() -> Vec<Column> {
    vec![
        Column::new("", "new"),
        Column::new("State", "state"),
        Column::new("Recv-Q", "recv_q").numeric(),
        Column::new("Send-Q", "send_q").numeric(),
        Column::new("Local Address:Port", "local_address"),
        Column::new("Peer Address:Port", "peer_address"),
        Column::new("Timer", "timer"),
        Column::new("Retrans", "retransmits").numeric(),
        Column::new("User", "user"),
        Column::new("Inode", "inode").numeric(),
    ]
}

fn screen(rows: Vec<Row>, later_rows: usize) -> Screen {
    Screen {
        status: vec!["tcp · pid 1 (server)".into()],
        blocks: vec![Block::Table(TableBlock {
            key: "sockets".into(),
            columns: columns(),
            rows,
            later_rows,
            ..TableBlock::default()
        })],
        ..Screen::default()
    }
}

/// Rows a view would build on demand: here, copies of built ones.
struct Rows(Vec<Row>);

impl RowSource for Rows {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn row(&self, index: usize) -> Row {
        self.0[index].clone()
    }

    fn digest(&self, index: usize) -> u64 {
        let mut hasher = DefaultHasher::new();
        for cell in &self.0[index].cells {
            cell.text.hash(&mut hasher);
        }
        hasher.finish()
    }
}

fn layout(c: &mut Criterion) {
    let options = RenderOptions::plain();
    let later = screen(Vec::new(), ROWS);
    let source = Rows(rows());
    let mut group = c.benchmark_group("tcp table of 20 000 rows, printed in full");
    group.sample_size(20);
    // Both build the rows (here by copying them), as a view would.
    group.bench_function("rows built by the view", |b| {
        b.iter(|| render(black_box(&screen(source.0.clone(), 0)), &options))
    });
    group.bench_function("rows built by the renderer, first print", |b| {
        b.iter(|| {
            let mut lines = LineCache::default();
            render_with(black_box(&later), &options, Some((&source, &mut lines)))
        })
    });
    let mut lines = LineCache::default();
    let first = render_with(&later, &options, Some((&source, &mut lines)));
    lines.keep(first);
    group.bench_function(
        "rows built by the renderer, refresh with none changed",
        |b| {
            b.iter(|| {
                let text = render_with(black_box(&later), &options, Some((&source, &mut lines)));
                lines.keep(text);
            })
        },
    );
    group.finish();
}

criterion_group!(benches, layout);
criterion_main!(benches);
