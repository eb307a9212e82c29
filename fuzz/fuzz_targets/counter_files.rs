//! Any bytes into the counter parsers (`snmp`/`netstat` pairs, `snmp6`,
//! `softnet_stat`, `dev`, `sockstat`): never a panic; deltas never overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netmonitor::parse::counters::{counter_delta, parse_pairs, parse_snmp6};
use netmonitor::parse::dev::parse_dev;
use netmonitor::parse::sockstat::parse_sockstat;
use netmonitor::parse::softnet::parse_softnet;
use netmonitor::parse::decode_bytes;

fuzz_target!(|data: &[u8]| {
    let text = decode_bytes(data.to_vec());
    let pairs = parse_pairs(&text);
    for section in &pairs.sections {
        for (_, value) in &section.counters {
            if let Some(v) = value.as_u64() {
                assert_eq!(counter_delta(v, v), Some(0));
            }
        }
    }
    let _ = parse_snmp6(&text);
    let _ = parse_softnet(&text);
    let _ = parse_dev(&text);
    let _ = parse_sockstat(&text);
});
