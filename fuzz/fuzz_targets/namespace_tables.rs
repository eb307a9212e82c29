//! Any bytes into the `arp`, `stat/arp_cache`, `route` and `ipv6_route`
//! parsers: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netmonitor::parse::Endian;
use netmonitor::parse::arp::{parse_arp_table, parse_neigh_cache_stats};
use netmonitor::parse::decode_bytes;
use netmonitor::parse::route::{parse_ipv6_route_table, parse_route_table};

fuzz_target!(|data: &[u8]| {
    let text = decode_bytes(data.to_vec());
    for entry in parse_arp_table(&text).rows {
        let _ = entry.flags.words();
        let _ = entry.hw_type_name();
    }
    let _ = parse_neigh_cache_stats(&text);
    for route in parse_route_table(&text, Endian::Little).rows {
        let _ = route.destination_display();
        let _ = route.flags.letters();
    }
    for route in parse_ipv6_route_table(&text).rows {
        let _ = route.destination_display();
        let _ = route.flags.words();
    }
});
