//! Any bytes into the counter parsers (`snmp`/`netstat` pairs, `snmp6`,
//! `softnet_stat`, `dev`): never a panic; deltas never overflow.
//! The bytes up to the first NUL are a first reading, the rest a second one
//! (of any of those files): for every counter both readings hold, the delta
//! added to the first reading gives the second, or there is no delta because
//! the counter went backwards; `softnet_stat`'s 32-bit counters wrap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netmonitor::parse::counters::{
    counter_delta, parse_pairs, parse_snmp6, value_delta, wrapping_delta_u32,
};
use netmonitor::parse::decode_bytes;
use netmonitor::parse::dev::{DevCounters, parse_dev};
use netmonitor::parse::softnet::{SoftnetRow, parse_softnet};

/// `counter_delta(previous, current)` is exact, or absent because the
/// counter went backwards.
fn check_delta(previous: u64, current: u64) {
    match counter_delta(previous, current) {
        Some(d) => assert_eq!(previous.checked_add(d), Some(current)),
        None => assert!(current < previous),
    }
}

fn dev_columns(d: &DevCounters) -> [u64; 16] {
    [
        d.rx_bytes,
        d.rx_packets,
        d.rx_errs,
        d.rx_drop,
        d.rx_fifo,
        d.rx_frame,
        d.rx_compressed,
        d.rx_multicast,
        d.tx_bytes,
        d.tx_packets,
        d.tx_errs,
        d.tx_drop,
        d.tx_fifo,
        d.tx_colls,
        d.tx_carrier,
        d.tx_compressed,
    ]
}

fn softnet_columns(r: &SoftnetRow) -> [Option<u32>; 4] {
    [
        Some(r.processed),
        Some(r.dropped),
        Some(r.time_squeeze),
        r.received_rps,
    ]
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let first = decode_bytes(data[..split].to_vec());
    let second = decode_bytes(data.get(split + 1..).unwrap_or_default().to_vec());

    let (a, b) = (parse_pairs(&first), parse_pairs(&second));
    for section in &a.sections {
        for (name, before) in &section.counters {
            if let Some(after) = b.get(section.kind.as_str(), name) {
                match (before.as_u64(), after.as_u64()) {
                    (Some(x), Some(y)) => {
                        check_delta(x, y);
                        assert_eq!(value_delta(*before, after), counter_delta(x, y));
                    }
                    // A negative value is no counter.
                    _ => assert_eq!(value_delta(*before, after), None),
                }
            }
        }
    }

    let (a, b) = (parse_snmp6(&first), parse_snmp6(&second));
    for (name, before) in &a.counters {
        if let Some(after) = b.get(name) {
            check_delta(*before, after);
        }
    }

    let (a, b) = (parse_dev(&first), parse_dev(&second));
    for before in &a.rows {
        for after in b.rows.iter().filter(|r| r.name == before.name) {
            for (x, y) in dev_columns(before).into_iter().zip(dev_columns(after)) {
                check_delta(x, y);
            }
        }
    }

    let (a, b) = (parse_softnet(&first), parse_softnet(&second));
    for (before, after) in a.rows.iter().zip(&b.rows) {
        for (x, y) in softnet_columns(before)
            .into_iter()
            .zip(softnet_columns(after))
        {
            if let (Some(x), Some(y)) = (x, y) {
                let d = wrapping_delta_u32(x, y);
                assert!(d < 1 << 32);
                assert_eq!(x.wrapping_add(d as u32), y);
            }
        }
    }
});
