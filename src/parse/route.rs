//! The routing tables `net/route` (IPv4, main table only) and
//! `net/ipv6_route` (IPv6, every table).
//!
//! They tell which interface and next hop a process's traffic takes, so the
//! Routes tab can explain where a connection goes. The two files share
//! nothing but purpose, and each has its traps:
//!
//! * `route` has a TAB-separated header with an **empty field** (double TAB
//!   after `Mask`) and pads every line with spaces to 127 bytes, so lines
//!   are split on runs of blanks, never on single TABs. Addresses and the
//!   mask are `%08X` of the network-order bytes read as a **native** `u32`:
//!   decoding needs the producer's [`Endian`], like the socket tables.
//!   `Metric` was printed with `%d` on older kernels and `%u` on 6.x (a
//!   metric of 4294967295 appears as `-1` or as itself); `MTU` is the
//!   advertised MSS + 40, printed `%d`. Both read as wrapping `u32`.
//!   Routes without a device (unreachable, prohibit, blackhole) show `*`.
//! * `ipv6_route` has no header. Addresses are `%pi6`: 32 hex digits in
//!   **network** order (no byte swap). The device is `%8s`, so an empty
//!   name is eight blanks and the line has nine fields instead of ten.
//!   Prefix lengths are hex (`40` = 64).
//!
//! Flag words follow `include/uapi/linux/route.h` and `ipv6_route.h`;
//! letters follow net-tools `route -n` / `route -6 -n`.

use std::net::{Ipv4Addr, Ipv6Addr};

use nom::Parser;
use nom::bytes::complete::take_while_m_n;
use nom::multi::many0;
use nom::sequence::preceded;

use super::{
    Endian, FieldError, PResult, Parsed, blanks, dec_u32_wrapping, expect, hex_u32, opt_blanks,
    parse_line, parse_lines, token,
};

/// `RTF_*` bits shared by both families (`include/uapi/linux/route.h`).
pub mod rtf {
    pub const UP: u32 = 0x0001;
    pub const GATEWAY: u32 = 0x0002;
    pub const HOST: u32 = 0x0004;
    pub const REINSTATE: u32 = 0x0008;
    pub const DYNAMIC: u32 = 0x0010;
    pub const MODIFIED: u32 = 0x0020;
    pub const MTU: u32 = 0x0040;
    pub const WINDOW: u32 = 0x0080;
    pub const IRTT: u32 = 0x0100;
    pub const REJECT: u32 = 0x0200;
    // IPv6 only (`include/uapi/linux/ipv6_route.h`).
    pub const DEFAULT: u32 = 0x0001_0000;
    pub const ALLONLINK: u32 = 0x0002_0000;
    pub const ADDRCONF: u32 = 0x0004_0000;
    pub const PREFIX_RT: u32 = 0x0008_0000;
    pub const ANYCAST: u32 = 0x0010_0000;
    pub const NONEXTHOP: u32 = 0x0020_0000;
    pub const EXPIRES: u32 = 0x0040_0000;
    pub const ROUTEINFO: u32 = 0x0080_0000;
    pub const CACHE: u32 = 0x0100_0000;
    pub const FLOW: u32 = 0x0200_0000;
    pub const POLICY: u32 = 0x0400_0000;
    /// Two bits of router preference (RFC 4191) at `<< 27`.
    pub const PREF_MASK: u32 = 0x1800_0000;
    pub const PCPU: u32 = 0x4000_0000;
    pub const LOCAL: u32 = 0x8000_0000;
}

const V4_WORDS: [(u32, &str); 10] = [
    (rtf::UP, "up"),
    (rtf::GATEWAY, "gateway"),
    (rtf::HOST, "host"),
    (rtf::REINSTATE, "reinstate"),
    (rtf::DYNAMIC, "dynamic"),
    (rtf::MODIFIED, "modified"),
    (rtf::MTU, "mtu"),
    (rtf::WINDOW, "window"),
    (rtf::IRTT, "irtt"),
    (rtf::REJECT, "reject"),
];

const V6_WORDS: [(u32, &str); 19] = [
    (rtf::UP, "up"),
    (rtf::GATEWAY, "gateway"),
    (rtf::HOST, "host"),
    (rtf::DYNAMIC, "dynamic"),
    (rtf::MODIFIED, "modified"),
    (rtf::REJECT, "reject"),
    (rtf::DEFAULT, "default"),
    (rtf::ALLONLINK, "allonlink"),
    (rtf::ADDRCONF, "addrconf"),
    (rtf::PREFIX_RT, "prefix_rt"),
    (rtf::ANYCAST, "anycast"),
    (rtf::NONEXTHOP, "nonexthop"),
    (rtf::EXPIRES, "expires"),
    (rtf::ROUTEINFO, "routeinfo"),
    (rtf::CACHE, "cache"),
    (rtf::FLOW, "flow"),
    (rtf::POLICY, "policy"),
    // The preference bits (between POLICY and PCPU) get their own word,
    // see `Ipv6RouteFlags::words`.
    (rtf::PCPU, "pcpu"),
    (rtf::LOCAL, "local"),
];

fn words_of(bits: u32, table: &[(u32, &'static str)]) -> Vec<&'static str> {
    table
        .iter()
        .filter(|(bit, _)| bits & bit == *bit)
        .map(|(_, word)| *word)
        .collect()
}

fn unknown_of(bits: u32, table: &[(u32, &'static str)]) -> u32 {
    table.iter().fold(bits, |rest, (bit, _)| rest & !bit)
}

/// Flags of an IPv4 route (`RTF_*`; see [`rtf`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RouteFlags(pub u32);

impl RouteFlags {
    /// Whether every bit of `bits` is set.
    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }

    /// Letters as `route -n` prints them: `U`, `G`, then `!` **replaces**
    /// both for a reject route, then `H`, `R`, `D`, `M`.
    pub fn letters(self) -> String {
        let mut out = String::new();
        if self.contains(rtf::UP) {
            out.push('U');
        }
        if self.contains(rtf::GATEWAY) {
            out.push('G');
        }
        if self.contains(rtf::REJECT) {
            out = "!".to_string();
        }
        for (bit, letter) in [
            (rtf::HOST, 'H'),
            (rtf::REINSTATE, 'R'),
            (rtf::DYNAMIC, 'D'),
            (rtf::MODIFIED, 'M'),
        ] {
            if self.contains(bit) {
                out.push(letter);
            }
        }
        out
    }

    /// Every known bit as a word, lowest first.
    pub fn words(self) -> Vec<&'static str> {
        words_of(self.0, &V4_WORDS)
    }

    /// Bits with no name in [`RouteFlags::words`].
    pub fn unknown_bits(self) -> u32 {
        unknown_of(self.0, &V4_WORDS)
    }
}

/// One line of `net/route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Route {
    /// Output device; `None` when printed as `*` (no device: unreachable,
    /// prohibit, blackhole).
    pub iface: Option<String>,
    pub destination: Ipv4Addr,
    /// `0.0.0.0` when there is no IPv4 next hop.
    pub gateway: Ipv4Addr,
    pub flags: RouteFlags,
    /// Always 0 on current kernels.
    pub refcnt: u32,
    /// Always 0 on current kernels.
    pub uses: u32,
    pub metric: u32,
    /// The mask as printed; see [`Ipv4Route::prefix_len`].
    pub mask: Ipv4Addr,
    /// Advertised MSS + 40, or 0 (not the route's `mtu` metric).
    pub mtu: u32,
    pub window: u32,
    /// Initial RTT metric (ms).
    pub irtt: u32,
}

impl Ipv4Route {
    /// Prefix length of the mask; `None` for a non-contiguous mask.
    pub fn prefix_len(&self) -> Option<u8> {
        prefix_len_of_mask(self.mask)
    }

    /// `default` for 0.0.0.0/0, else `addr/len`, or `addr/mask` when the
    /// mask is not contiguous.
    pub fn destination_display(&self) -> String {
        match self.prefix_len() {
            Some(0) if self.destination.is_unspecified() => "default".to_string(),
            Some(len) => format!("{}/{len}", self.destination),
            None => format!("{}/{}", self.destination, self.mask),
        }
    }

    /// Whether traffic goes through a next hop (the `G` flag).
    pub fn has_gateway(&self) -> bool {
        self.flags.contains(rtf::GATEWAY)
    }
}

/// Number of leading one bits of a contiguous netmask; `None` when the
/// mask has holes (`255.0.255.0`).
pub fn prefix_len_of_mask(mask: Ipv4Addr) -> Option<u8> {
    let bits = u32::from(mask);
    let ones = bits.leading_ones();
    // Contiguous: all ones first, then only zeros.
    if bits.checked_shl(ones).unwrap_or(0) == 0 {
        u8::try_from(ones).ok()
    } else {
        None
    }
}

/// Parses the whole `net/route` file (first line is the header). `endian`
/// is the byte order of the host that produced the file.
pub fn parse_route_table(text: &str, endian: Endian) -> Parsed<Ipv4Route> {
    parse_lines(text, 1, |line| parse_route_line(line, endian))
}

/// Parses one data line of `net/route`.
pub fn parse_route_line(line: &str, endian: Endian) -> Result<Ipv4Route, String> {
    parse_line(|i| route_line(i, endian), line)
}

fn route_line(input: &str, endian: Endian) -> PResult<'_, Ipv4Route> {
    let ipv4 = |i| {
        let (rest, word) = hex_u32(i)?;
        Ok((rest, Ipv4Addr::from(endian.bytes(word))))
    };
    let (i, _) = opt_blanks(input)?;
    let (i, iface) = expect("an interface name or '*'", token).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, destination) = expect("a hex destination", ipv4).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, gateway) = expect("a hex gateway", ipv4).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, flags) = expect("hex flags", hex_u32).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, refcnt) = expect("a RefCnt", dec_u32_wrapping).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, uses) = expect("a Use count", dec_u32_wrapping).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, metric) = expect("a metric", dec_u32_wrapping).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, mask) = expect("a hex mask", ipv4).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, mtu) = expect("an MTU", dec_u32_wrapping).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, window) = expect("a window", dec_u32_wrapping).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, irtt) = expect("an IRTT", dec_u32_wrapping).parse(i)?;
    Ok((
        i,
        Ipv4Route {
            iface: (iface != "*").then(|| iface.to_string()),
            destination,
            gateway,
            flags: RouteFlags(flags),
            refcnt,
            uses,
            metric,
            mask,
            mtu,
            window,
            irtt,
        },
    ))
}

/// Router preference of an IPv6 route (RFC 4191, two bits of the flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouterPreference {
    Medium,
    High,
    /// The reserved value 2.
    Invalid,
    Low,
}

impl RouterPreference {
    pub fn name(self) -> &'static str {
        match self {
            RouterPreference::Medium => "medium",
            RouterPreference::High => "high",
            RouterPreference::Invalid => "invalid",
            RouterPreference::Low => "low",
        }
    }
}

/// Flags of an IPv6 route (`RTF_*`; see [`rtf`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ipv6RouteFlags(pub u32);

impl Ipv6RouteFlags {
    /// Whether every bit of `bits` is set.
    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }

    /// The router preference bits (medium when none are set).
    pub fn preference(self) -> RouterPreference {
        match (self.0 & rtf::PREF_MASK) >> 27 {
            0 => RouterPreference::Medium,
            1 => RouterPreference::High,
            2 => RouterPreference::Invalid,
            _ => RouterPreference::Low,
        }
    }

    /// Letters as net-tools `route -6 -n` prints them:
    /// `U ! G H D A C a e m n f`.
    pub fn letters(self) -> String {
        [
            (rtf::UP, 'U'),
            (rtf::REJECT, '!'),
            (rtf::GATEWAY, 'G'),
            (rtf::HOST, 'H'),
            (rtf::DEFAULT, 'D'),
            (rtf::ADDRCONF, 'A'),
            (rtf::CACHE, 'C'),
            (rtf::ALLONLINK, 'a'),
            (rtf::EXPIRES, 'e'),
            (rtf::MODIFIED, 'm'),
            (rtf::NONEXTHOP, 'n'),
            (rtf::FLOW, 'f'),
        ]
        .iter()
        .filter(|(bit, _)| self.contains(*bit))
        .map(|(_, letter)| *letter)
        .collect()
    }

    /// Every known bit as a word, lowest first; a preference other than
    /// medium adds `pref-high`, `pref-low` or `pref-invalid`.
    pub fn words(self) -> Vec<&'static str> {
        let mut words = words_of(self.0, &V6_WORDS);
        let pref = match self.preference() {
            RouterPreference::Medium => None,
            RouterPreference::High => Some("pref-high"),
            RouterPreference::Invalid => Some("pref-invalid"),
            RouterPreference::Low => Some("pref-low"),
        };
        if let Some(pref) = pref {
            // Keep bit order: preference sits between POLICY and PCPU.
            let at = words
                .iter()
                .position(|w| *w == "pcpu" || *w == "local")
                .unwrap_or(words.len());
            words.insert(at, pref);
        }
        words
    }

    /// Bits with no name in [`Ipv6RouteFlags::words`].
    pub fn unknown_bits(self) -> u32 {
        unknown_of(self.0, &V6_WORDS) & !rtf::PREF_MASK
    }
}

/// One line of `net/ipv6_route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Route {
    pub destination: Ipv6Addr,
    pub destination_prefix_len: u8,
    /// Source prefix; `::/0` unless the kernel has subtrees.
    pub source: Ipv6Addr,
    pub source_prefix_len: u8,
    /// `::` when there is no next hop.
    pub next_hop: Ipv6Addr,
    /// `ffffffff` on the per-table null entry.
    pub metric: u32,
    pub refcnt: u32,
    /// Always 0 since 4.18.
    pub uses: u32,
    pub flags: Ipv6RouteFlags,
    /// `None` when the device field is empty (blank padding only).
    pub device: Option<String>,
}

impl Ipv6Route {
    /// `default` for ::/0, else `addr/len`.
    pub fn destination_display(&self) -> String {
        if self.destination_prefix_len == 0 && self.destination.is_unspecified() {
            "default".to_string()
        } else {
            format!("{}/{}", self.destination, self.destination_prefix_len)
        }
    }

    /// Whether traffic goes through a next hop (the `G` flag).
    pub fn has_gateway(&self) -> bool {
        self.flags.contains(rtf::GATEWAY)
    }
}

/// Parses the whole `net/ipv6_route` file (no header).
pub fn parse_ipv6_route_table(text: &str) -> Parsed<Ipv6Route> {
    parse_lines(text, 0, parse_ipv6_route_line)
}

/// Parses one line of `net/ipv6_route`.
pub fn parse_ipv6_route_line(line: &str) -> Result<Ipv6Route, String> {
    parse_line(ipv6_route_line, line)
}

fn ipv6_route_line(input: &str) -> PResult<'_, Ipv6Route> {
    let (i, _) = opt_blanks(input)?;
    let (i, destination) = expect("a 32-digit destination", ipv6_network_order).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, destination_prefix_len) = expect("a hex prefix length", prefix_len_hex).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, source) = expect("a 32-digit source", ipv6_network_order).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, source_prefix_len) = expect("a hex source prefix length", prefix_len_hex).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, next_hop) = expect("a 32-digit next hop", ipv6_network_order).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, metric) = expect("a hex metric", hex_u32).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, refcnt) = expect("a hex refcnt", hex_u32).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, uses) = expect("a hex use count", hex_u32).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, flags) = expect("hex flags", hex_u32).parse(i)?;
    let (i, devices) = many0(preceded(blanks, token)).parse(i)?;
    let device = match devices.as_slice() {
        [] => None,
        [device] => Some(device.to_string()),
        _ => {
            return Err(nom::Err::Error(FieldError {
                input: i,
                expected: "at most one device name",
            }));
        }
    };
    Ok((
        i,
        Ipv6Route {
            destination,
            destination_prefix_len,
            source,
            source_prefix_len,
            next_hop,
            metric,
            refcnt,
            uses,
            flags: Ipv6RouteFlags(flags),
            device,
        },
    ))
}

/// `%pi6`: exactly 32 hex digits, network (big-endian) order.
fn ipv6_network_order(input: &str) -> PResult<'_, Ipv6Addr> {
    let (rest, digits) = take_while_m_n(32, 32, |c: char| c.is_ascii_hexdigit()).parse(input)?;
    if rest.starts_with(|c: char| c.is_ascii_hexdigit()) {
        return Err(nom::Err::Error(FieldError {
            input,
            expected: "exactly 32 hex digits",
        }));
    }
    let value = u128::from_str_radix(digits, 16).map_err(|_| {
        nom::Err::Error(FieldError {
            input,
            expected: "a 128-bit hex address",
        })
    })?;
    Ok((rest, Ipv6Addr::from(value)))
}

fn prefix_len_hex(input: &str) -> PResult<'_, u8> {
    let (rest, value) = hex_u32(input)?;
    match u8::try_from(value) {
        Ok(len) if len <= 128 => Ok((rest, len)),
        _ => Err(nom::Err::Error(FieldError {
            input,
            expected: "a prefix length up to 128 (0x80)",
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::table_text::{check_table, garbage, join, lines};
    use proptest::prelude::*;

    const ROUTE_618: &str = include_str!("../../testdata/files/route-6.18");
    const ROUTE_ODD: &str = include_str!("../../testdata/files/route-handmade-oddities");
    const ROUTE_BE: &str = include_str!("../../testdata/files/route-bigendian-handmade");
    const ROUTE_TRUNCATED: &str = include_str!("../../testdata/files/route-truncated");
    const ROUTE_GARBAGE: &str = include_str!("../../testdata/files/route-garbage");
    const V6_618: &str = include_str!("../../testdata/files/ipv6_route-6.18");
    const V6_EMPTY_DEV: &str =
        include_str!("../../testdata/files/ipv6_route-handmade-empty-device");
    const V6_GARBAGE: &str = include_str!("../../testdata/files/ipv6_route-garbage");
    const V6_TRUNCATED: &str = include_str!("../../testdata/files/ipv6_route-truncated");

    fn v4(rows: &[Ipv4Route], dest: &str) -> Ipv4Route {
        rows.iter()
            .find(|r| r.destination_display() == dest)
            .unwrap_or_else(|| panic!("no route {dest}"))
            .clone()
    }

    fn v6(rows: &[Ipv6Route], dest: &str, device: &str) -> Ipv6Route {
        rows.iter()
            .find(|r| r.destination_display() == dest && r.device.as_deref() == Some(device))
            .unwrap_or_else(|| panic!("no route {dest} dev {device}"))
            .clone()
    }

    #[test]
    fn real_ipv4_routes_of_the_capture_namespace() {
        let parsed = parse_route_table(ROUTE_618, Endian::Little);
        assert_eq!(parsed.bad_lines, vec![]);
        let rows = &parsed.rows;
        assert_eq!(rows.len(), 12);
        let gw: Ipv4Addr = "198.51.100.2".parse().unwrap();

        let default = v4(rows, "default");
        assert_eq!(default.iface.as_deref(), Some("nmtbl-longname0"));
        assert_eq!(default.gateway, gw);
        assert_eq!(default.prefix_len(), Some(0));
        assert_eq!(default.flags.letters(), "UG");
        assert!(default.has_gateway());

        let via = v4(rows, "203.0.113.0/24");
        assert_eq!((via.gateway, via.metric), (gw, 5));
        assert_eq!(via.flags.words(), ["up", "gateway"]);

        let host_via = v4(rows, "192.0.2.55/32");
        assert_eq!(host_via.flags.letters(), "UGH");
        assert_eq!(host_via.mask, Ipv4Addr::BROADCAST);
        let host = v4(rows, "192.0.2.56/32");
        assert_eq!(host.flags.letters(), "UH");
        assert_eq!(host.gateway, Ipv4Addr::UNSPECIFIED);

        let connected = v4(rows, "198.51.100.0/24");
        assert_eq!(connected.flags, RouteFlags(0x0001));
        assert_eq!(connected.metric, 0);

        // unreachable and prohibit are REJECT without device; blackhole is not.
        for dest in ["10.66.0.0/16", "10.67.0.0/16"] {
            let reject = v4(rows, dest);
            assert_eq!(reject.iface, None);
            assert_eq!(reject.flags.letters(), "!");
            assert_eq!(reject.flags.words(), ["up", "reject"]);
        }
        let blackhole = v4(rows, "10.77.0.0/16");
        assert_eq!(blackhole.iface, None);
        assert_eq!(blackhole.flags.letters(), "U");

        // 6.18 prints the metric unsigned.
        let worst = v4(rows, "10.111.0.0/16");
        assert_eq!(worst.metric, u32::MAX);
        assert_eq!(worst.iface.as_deref(), Some("vëth-ü"));
        // advmss 1400 window 65535 rtt 50ms.
        let tuned = v4(rows, "10.112.0.0/16");
        assert_eq!((tuned.mtu, tuned.window, tuned.irtt), (1440, 65535, 50));

        assert_eq!(v4(rows, "10.9.9.0/24").iface.as_deref(), Some("nmtun0"));
        // Only the main table: the table-100 route is not listed.
        assert!(!rows.iter().any(|r| r.destination.octets()[1] == 200));
        assert!(rows.iter().all(|r| r.refcnt == 0 && r.uses == 0));
    }

    #[test]
    fn hand_made_oddities_and_big_endian() {
        let parsed = parse_route_table(ROUTE_ODD, Endian::Little);
        assert_eq!(parsed.bad_lines, vec![]);
        let [holes, negative, lower] = parsed.rows.as_slice() else {
            panic!("expected three rows");
        };
        assert_eq!(holes.mask, Ipv4Addr::new(255, 0, 255, 0));
        assert_eq!(holes.prefix_len(), None);
        assert_eq!(holes.destination_display(), "10.0.0.0/255.0.255.0");
        // Older kernels printed the metric with %d.
        assert_eq!(negative.metric, u32::MAX);
        assert_eq!(negative.mtu, 1500);
        assert_eq!(negative.gateway, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(lower.destination, Ipv4Addr::new(10, 2, 0, 0));
        assert_eq!(lower.prefix_len(), None);

        let parsed = parse_route_table(ROUTE_BE, Endian::Big);
        assert_eq!(parsed.bad_lines, vec![]);
        assert_eq!(parsed.rows[0].destination_display(), "default");
        assert_eq!(parsed.rows[0].gateway, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(parsed.rows[0].metric, 100);
        assert_eq!(parsed.rows[1].destination_display(), "192.0.2.0/24");
    }

    #[test]
    fn prefix_lengths() {
        assert_eq!(prefix_len_of_mask(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
        assert_eq!(
            prefix_len_of_mask(Ipv4Addr::new(255, 255, 255, 255)),
            Some(32)
        );
        assert_eq!(
            prefix_len_of_mask(Ipv4Addr::new(255, 255, 254, 0)),
            Some(23)
        );
        assert_eq!(prefix_len_of_mask(Ipv4Addr::new(255, 255, 255, 1)), None);
        assert_eq!(prefix_len_of_mask(Ipv4Addr::new(0, 0, 0, 255)), None);
    }

    #[test]
    fn truncated_garbage_and_empty_route_files() {
        let parsed = parse_route_table(ROUTE_TRUNCATED, Endian::Little);
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.bad_lines.len(), 1);
        assert_eq!(parsed.bad_lines[0].line, 4);

        let parsed = parse_route_table(ROUTE_GARBAGE, Endian::Little);
        assert_eq!(parsed.rows, vec![]);
        let bad: Vec<usize> = parsed.bad_lines.iter().map(|b| b.line).collect();
        assert_eq!(bad, [2, 3, 4, 5, 6, 7]);
        assert!(parsed.bad_lines[4].reason.contains("extra"));

        assert_eq!(parse_route_table("", Endian::Little), Parsed::default());
        let header = ROUTE_618.lines().next().unwrap();
        assert_eq!(parse_route_table(header, Endian::Little), Parsed::default());
        assert_eq!(parse_ipv6_route_table(""), Parsed::default());
    }

    #[test]
    fn real_ipv6_routes_of_the_capture_namespace() {
        let parsed = parse_ipv6_route_table(V6_618);
        assert_eq!(parsed.bad_lines, vec![]);
        let rows = &parsed.rows;
        assert_eq!(rows.len(), 21);
        let dev = "nmtbl-longname0";
        let gw: Ipv6Addr = "2001:db8:1::2".parse().unwrap();

        let default = v6(rows, "default", dev);
        assert_eq!(default.next_hop, gw);
        assert_eq!(default.metric, 1024);
        assert_eq!(default.flags.letters(), "UG");
        assert!(default.has_gateway());

        let connected = v6(rows, "2001:db8:1::/64", dev);
        assert_eq!(connected.metric, 256);
        assert_eq!(connected.refcnt, 5);
        assert_eq!(connected.next_hop, Ipv6Addr::UNSPECIFIED);
        assert_eq!(connected.source_prefix_len, 0);

        let via = v6(rows, "2001:db8:5::/48", dev);
        assert_eq!((via.next_hop, via.metric), (gw, 256));
        // A /128 via a gateway carries no HOST flag in 6.18.
        let host = v6(rows, "2001:db8:55::1/128", dev);
        assert_eq!(host.flags.0, 0x3);

        let expires = v6(rows, "2001:db8:7::/64", dev);
        assert_eq!(expires.flags.words(), ["up", "expires"]);
        assert_eq!(expires.flags.letters(), "Ue");
        let high = v6(rows, "2001:db8:9::/64", dev);
        assert_eq!(high.flags.preference(), RouterPreference::High);
        assert_eq!(high.flags.words(), ["up", "pref-high"]);
        let low = v6(rows, "2001:db8:a::/64", dev);
        assert_eq!(low.flags.preference(), RouterPreference::Low);
        assert_eq!(low.flags.unknown_bits(), 0);

        // unreachable, blackhole and prohibit all read REJECT|NONEXTHOP on lo.
        for dest in [
            "2001:db8:dead::/48",
            "2001:db8:beef::/48",
            "2001:db8:f00d::/48",
        ] {
            let reject = v6(rows, dest, "lo");
            assert_eq!(reject.flags.words(), ["reject", "nonexthop"]);
            assert_eq!(reject.flags.letters(), "!n");
        }
        let local = v6(rows, "2001:db8:1::1/128", dev);
        assert_eq!(local.flags.words(), ["up", "nonexthop", "local"]);
        assert_eq!(local.metric, 0);
        assert_eq!(v6(rows, "::1/128", "lo").flags.0, 0x8020_0001);

        // The per-table null entries (main and table 100).
        let nulls = rows.iter().filter(|r| r.metric == u32::MAX).count();
        assert_eq!(nulls, 2);
        // Every table is listed, so the table-100 route is here.
        assert_eq!(v6(rows, "2001:db8:200::/48", dev).metric, 1024);
        assert_eq!(v6(rows, "ff00::/8", "vëth-ü").refcnt, 2);
        assert_eq!(v6(rows, "fe80::/64", "nmtbl-c0").metric, 256);
    }

    #[test]
    fn ipv6_empty_device_upper_case_and_source_prefix() {
        let parsed = parse_ipv6_route_table(V6_EMPTY_DEV);
        assert_eq!(parsed.bad_lines, vec![]);
        let [no_dev, upper, sourced] = parsed.rows.as_slice() else {
            panic!("expected three rows");
        };
        assert_eq!(no_dev.device, None);
        assert_eq!(no_dev.destination_display(), "2001:db8::/64");
        assert_eq!(upper.destination_display(), "2001:db8:1::/64");
        assert_eq!(upper.next_hop, "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(sourced.source, "2001:db8:f::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(sourced.source_prefix_len, 56);
        assert_eq!(sourced.uses, 2);
        assert_eq!(sourced.flags.words(), ["up", "gateway", "default"]);
        assert_eq!(sourced.flags.letters(), "UGD");
    }

    #[test]
    fn ipv6_garbage_and_truncated() {
        let parsed = parse_ipv6_route_table(V6_GARBAGE);
        assert_eq!(parsed.rows.len(), 1);
        let bad: Vec<usize> = parsed.bad_lines.iter().map(|b| b.line).collect();
        assert_eq!(bad, [2, 3, 4, 5, 6, 7, 8]);
        assert!(parsed.bad_lines[3].reason.contains("prefix length"));

        let parsed = parse_ipv6_route_table(V6_TRUNCATED);
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.bad_lines.len(), 1);
    }

    /// Formats a route the way `fib_route_seq_show` does (metric `%u` as in
    /// 6.x, or `%d` as older kernels), padded to 127 bytes.
    fn kernel_v4_line(r: &Ipv4Route, endian: Endian, signed_metric: bool) -> String {
        let word = |a: Ipv4Addr| match endian {
            Endian::Little => u32::from_le_bytes(a.octets()),
            Endian::Big => u32::from_be_bytes(a.octets()),
        };
        let metric = if signed_metric {
            (r.metric as i32).to_string()
        } else {
            r.metric.to_string()
        };
        let line = format!(
            "{}\t{:08X}\t{:08X}\t{:04X}\t{}\t{}\t{}\t{:08X}\t{}\t{}\t{}",
            r.iface.as_deref().unwrap_or("*"),
            word(r.destination),
            word(r.gateway),
            r.flags.0,
            r.refcnt as i32,
            r.uses,
            metric,
            word(r.mask),
            r.mtu as i32,
            r.window,
            r.irtt
        );
        format!("{line:<127}")
    }

    fn kernel_v6_line(r: &Ipv6Route) -> String {
        format!(
            "{:032x} {:02x} {:032x} {:02x} {:032x} {:08x} {:08x} {:08x} {:08x} {:>8}",
            u128::from(r.destination),
            r.destination_prefix_len,
            u128::from(r.source),
            r.source_prefix_len,
            u128::from(r.next_hop),
            r.metric,
            r.refcnt,
            r.uses,
            r.flags.0,
            r.device.as_deref().unwrap_or("")
        )
    }

    fn device() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[^\\s:/]{1,15}".prop_filter("'*' means none", |d| d != "*"))
    }

    fn v4_route() -> impl Strategy<Value = Ipv4Route> {
        (
            device(),
            any::<[u32; 3]>(),
            any::<u16>(),
            any::<[u32; 6]>(),
            any::<u32>(),
        )
            .prop_map(|(iface, [dst, gw, mask], flags, n, uses)| Ipv4Route {
                iface,
                destination: Ipv4Addr::from(dst),
                gateway: Ipv4Addr::from(gw),
                flags: RouteFlags(u32::from(flags)),
                refcnt: n[0],
                uses,
                metric: n[1],
                mask: Ipv4Addr::from(mask),
                mtu: n[2],
                window: n[3],
                irtt: n[4],
            })
    }

    fn v6_route() -> impl Strategy<Value = Ipv6Route> {
        (
            any::<[u128; 3]>(),
            0u8..=128,
            0u8..=128,
            any::<[u32; 4]>(),
            device(),
        )
            .prop_map(|(a, dplen, splen, n, device)| Ipv6Route {
                destination: Ipv6Addr::from(a[0]),
                destination_prefix_len: dplen,
                source: Ipv6Addr::from(a[1]),
                source_prefix_len: splen,
                next_hop: Ipv6Addr::from(a[2]),
                metric: n[0],
                refcnt: n[1],
                uses: n[2],
                flags: Ipv6RouteFlags(n[3]),
                device,
            })
    }

    proptest! {
        #[test]
        fn v4_tables_of_kernel_lines_and_garbage_parse_line_by_line(
            header in garbage(),
            (big, body) in any::<bool>().prop_flat_map(|big| {
                let endian = if big { Endian::Big } else { Endian::Little };
                let kernel = (v4_route(), any::<bool>())
                    .prop_map(move |(r, signed)| { let l = kernel_v4_line(&r, endian, signed); (r, l) });
                (Just(big), lines(kernel, 40))
            }),
            crlf in any::<bool>(),
            last_end in any::<bool>(),
        ) {
            let endian = if big { Endian::Big } else { Endian::Little };
            let text = join(&[header], &body, crlf, last_end);
            check_table(&parse_route_table(&text, endian), 1, &body, |l| parse_route_line(l, endian))?;
        }

        #[test]
        fn v6_tables_of_kernel_lines_and_garbage_parse_line_by_line(
            body in lines(v6_route().prop_map(|r| { let l = kernel_v6_line(&r); (r, l) }), 40),
            crlf in any::<bool>(),
            last_end in any::<bool>(),
        ) {
            let text = join(&[], &body, crlf, last_end);
            check_table(&parse_ipv6_route_table(&text), 0, &body, parse_ipv6_route_line)?;
        }

        #[test]
        fn route_like_text_never_panics(text in "[0-9a-fA-F*\\- \t\n]{0,400}") {
            let _ = parse_route_table(&text, Endian::Little);
            let _ = parse_ipv6_route_table(&text);
        }

        #[test]
        fn kernel_formatted_v4_route_parses_back(
            r in v4_route(),
            big in any::<bool>(),
            signed in any::<bool>(),
        ) {
            let endian = if big { Endian::Big } else { Endian::Little };
            let text = format!("header\n{}\n", kernel_v4_line(&r, endian, signed));
            let parsed = parse_route_table(&text, endian);
            prop_assert_eq!(parsed.bad_lines, vec![]);
            prop_assert_eq!(parsed.rows, vec![r]);
        }

        #[test]
        fn kernel_formatted_v6_route_parses_back(r in v6_route()) {
            let text = format!("{}\n", kernel_v6_line(&r));
            let parsed = parse_ipv6_route_table(&text);
            prop_assert_eq!(parsed.bad_lines, vec![]);
            prop_assert_eq!(parsed.rows, vec![r]);
        }

        #[test]
        fn flag_words_never_panic_and_cover_known_bits(bits in any::<u32>()) {
            let v4 = RouteFlags(bits);
            let _ = (v4.letters(), v4.words());
            let v6 = Ipv6RouteFlags(bits);
            let _ = (v6.letters(), v6.words(), v6.preference());
            prop_assert_eq!(v6.unknown_bits() & (rtf::UP | rtf::LOCAL | rtf::PREF_MASK), 0);
        }
    }
}
