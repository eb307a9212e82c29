//! Parser throughput on large generated tables, shaped like what the kernel
//! prints: 100 000-line `tcp` and `tcp6`, and a long `netstat`.
//!
//! Run with `cargo bench --bench parsers`; criterion reports bytes/s.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netmonitor::parse::Endian;
use netmonitor::parse::counters::parse_pairs;
use netmonitor::parse::sockets::parse_socket_table;

const ROWS: u32 = 100_000;

/// A `tcp` table: a header and `ROWS` established sockets on 127.0.0.1,
/// padded to 149 characters per line as the kernel pads it.
fn tcp_table() -> String {
    let mut text = format!(
        "{:<149}\n",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
    );
    for n in 0..ROWS {
        let line = format!(
            "{:4}: 0100007F:{:04X} 0100007F:{:04X} 01 00000000:00000000 00:00000000 00000000     0        0 {} 1 00000000{:08x} 20 4 30 10 -1",
            n,
            5000 + n % 1000,
            10_000 + n % 50_000,
            100_000 + n,
            n.wrapping_mul(2_654_435_761)
        );
        text.push_str(&format!("{line:<149}\n"));
    }
    text
}

/// A `tcp6` table (not padded), IPv6 loopback and IPv4-mapped addresses.
fn tcp6_table() -> String {
    let mut text = String::from(
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
    );
    for n in 0..ROWS {
        let addr = if n % 2 == 0 {
            "00000000000000000000000001000000"
        } else {
            "0000000000000000FFFF00000100007F"
        };
        text.push_str(&format!(
            "{:4}: {addr}:{:04X} {addr}:{:04X} 01 00000000:00000000 00:00000000 00000000     0        0 {} 1 00000000{:08x} 20 4 30 10 -1\n",
            n,
            5000 + n % 1000,
            10_000 + n % 50_000,
            200_000 + n,
            n.wrapping_mul(2_654_435_761)
        ));
    }
    text
}

/// A `netstat` file with a `TcpExt` section of 1 000 counters and an
/// `IpExt` section.
fn netstat_file() -> String {
    let names: Vec<String> = (0..1000).map(|n| format!("Counter{n}")).collect();
    let values: Vec<String> = (0..1000u64).map(|n| (n * 7919).to_string()).collect();
    format!(
        "TcpExt: {}\nTcpExt: {}\nIpExt: InNoRoutes InOctets OutOctets\nIpExt: 0 9817435 37910\n",
        names.join(" "),
        values.join(" ")
    )
}

fn socket_tables(c: &mut Criterion) {
    let mut group = c.benchmark_group("socket tables");
    for (name, text) in [
        ("tcp 100k lines", tcp_table()),
        ("tcp6 100k lines", tcp6_table()),
    ] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let parsed = parse_socket_table(black_box(&text), Endian::Little);
                assert_eq!(parsed.rows.len(), ROWS as usize);
                parsed
            })
        });
    }
    group.finish();
}

fn counters(c: &mut Criterion) {
    let text = netstat_file();
    let mut group = c.benchmark_group("counters");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("netstat 1000 counters", |b| {
        b.iter(|| parse_pairs(black_box(&text)))
    });
    group.finish();
}

criterion_group!(benches, socket_tables, counters);
criterion_main!(benches);
