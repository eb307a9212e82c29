//! The IPv4 neighbour table `net/arp` and the neighbour-cache counters
//! `net/stat/arp_cache` (same format as `net/stat/ndisc_cache`).
//!
//! They are the only text view of neighbour state (IPv6 neighbours have no
//! file), so the Neighbours tab depends on them. What is tricky:
//!
//! * `arp` prints the HW address with `%-17s`. A device with `addr_len` 0
//!   (tun, some tunnels) leaves it **blank**, so that line has five tokens,
//!   not six; the kernel also shows such a neighbour under `0.0.0.0` because
//!   point-to-point devices key every neighbour on the zero address.
//! * Proxy (published) entries come after the normal ones, have flags
//!   `0xc` and no `ATF_COM`, and their device may be `*` (no device), with
//!   HW type 0.
//! * Device names may hold any byte but blank, `:` and `/`; they are kept
//!   exactly as given (the caller decides how to show non-ASCII).
//! * `stat/arp_cache` has one row **per possible CPU** and no CPU column.
//!   Its header was re-spaced in 2021 and `table_fulls` was appended later,
//!   so columns are found by header name. `entries` is table-global and
//!   repeated on every row: a total takes it once, it is never summed.

use std::net::Ipv4Addr;

use nom::Parser;
use nom::multi::separated_list1;

use super::{
    FieldError, LineError, PResult, Parsed, blanks, expect, hex_u32, hex_u64, keyword, opt_blanks,
    parse_line, parse_lines, token,
};

/// One line of `net/arp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpEntry {
    pub ip: Ipv4Addr,
    /// `ARPHRD_*` type of the device (0 for a proxy entry without device).
    pub hw_type: u16,
    pub flags: ArpFlags,
    /// `aa:bb:…` in lower case (AX.25/NET/ROM callsigns as printed); empty
    /// when the device has no hardware address.
    pub hw_address: String,
    /// Always `*` on Linux; kept for completeness.
    pub mask: String,
    /// Device name as printed; `*` for a proxy entry without device.
    pub device: String,
}

impl ArpEntry {
    /// Name of [`ArpEntry::hw_type`], if known.
    pub fn hw_type_name(&self) -> Option<&'static str> {
        arphrd_name(self.hw_type)
    }

    /// The device, or `None` for a proxy entry shown with device `*`.
    pub fn device(&self) -> Option<&str> {
        (self.device != "*").then_some(self.device.as_str())
    }
}

/// Short name of an `ARPHRD_*` hardware type (`include/uapi/linux/if_arp.h`),
/// as `arp` and `ip link` print them.
pub fn arphrd_name(code: u16) -> Option<&'static str> {
    Some(match code {
        0 => "netrom",
        1 => "ether",
        2 => "eether",
        3 => "ax25",
        4 => "pronet",
        5 => "chaos",
        6 => "ieee802",
        7 => "arcnet",
        8 => "appletalk",
        15 => "dlci",
        19 => "atm",
        23 => "metricom",
        24 => "ieee1394",
        27 => "eui64",
        32 => "infiniband",
        256 => "slip",
        257 => "cslip",
        258 => "slip6",
        259 => "cslip6",
        260 => "rsrvd",
        264 => "adapt",
        270 => "rose",
        271 => "x25",
        272 => "hwx25",
        280 => "can",
        281 => "mctp",
        512 => "ppp",
        513 => "cisco",
        516 => "lapb",
        517 => "ddcmp",
        518 => "rawhdlc",
        519 => "rawip",
        768 => "tunnel",
        769 => "tunnel6",
        770 => "frad",
        771 => "skip",
        772 => "loopback",
        773 => "localtlk",
        774 => "fddi",
        775 => "bif",
        776 => "sit",
        777 => "ipddp",
        778 => "gre",
        779 => "pimreg",
        780 => "hippi",
        781 => "ash",
        782 => "econet",
        783 => "irda",
        784 => "fcpp",
        785 => "fcal",
        786 => "fcpl",
        787 => "fcfabric",
        800 => "ieee802_tr",
        801 => "ieee80211",
        802 => "ieee80211_prism",
        803 => "ieee80211_radiotap",
        804 => "ieee802154",
        805 => "ieee802154_monitor",
        820 => "phonet",
        821 => "phonet_pipe",
        822 => "caif",
        823 => "ip6gre",
        824 => "netlink",
        825 => "6lowpan",
        826 => "vsockmon",
        0xfffe => "none",
        0xffff => "void",
        _ => return None,
    })
}

/// The `ATF_*` flags of an ARP entry (`include/uapi/linux/if_arp.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ArpFlags(pub u32);

impl ArpFlags {
    /// `ATF_COM`: the HW address is known (any valid NUD state).
    pub const COMPLETE: u32 = 0x02;
    /// `ATF_PERM`: static entry.
    pub const PERMANENT: u32 = 0x04;
    /// `ATF_PUBL`: proxy ("published") entry.
    pub const PUBLISH: u32 = 0x08;
    /// `ATF_USETRAILERS` (obsolete).
    pub const USETRAILERS: u32 = 0x10;
    /// `ATF_NETMASK`: the entry covers a network (proxy ARP for a subnet).
    pub const NETMASK: u32 = 0x20;
    /// `ATF_DONTPUB`: do not answer for this entry.
    pub const DONTPUB: u32 = 0x40;

    const KNOWN: [(u32, &'static str); 6] = [
        (Self::COMPLETE, "complete"),
        (Self::PERMANENT, "permanent"),
        (Self::PUBLISH, "publish"),
        (Self::USETRAILERS, "usetrailers"),
        (Self::NETMASK, "netmask"),
        (Self::DONTPUB, "dontpub"),
    ];

    /// Whether every bit of `bits` is set.
    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }

    pub fn is_complete(self) -> bool {
        self.contains(Self::COMPLETE)
    }

    pub fn is_permanent(self) -> bool {
        self.contains(Self::PERMANENT)
    }

    /// A proxy entry (the kernel answers ARP for this address).
    pub fn is_proxy(self) -> bool {
        self.contains(Self::PUBLISH)
    }

    /// Bits this module has no name for.
    pub fn unknown_bits(self) -> u32 {
        Self::KNOWN
            .iter()
            .fold(self.0, |rest, (bit, _)| rest & !bit)
    }

    /// The flags as words, lowest bit first. An ordinary (not proxy) entry
    /// without `ATF_COM` reads `incomplete` (the kernel prints `0x0` for
    /// incomplete and failed neighbours alike). A proxy entry never has
    /// `ATF_COM`, so it is not called incomplete. Unknown bits are left to
    /// [`ArpFlags::unknown_bits`].
    pub fn words(self) -> Vec<&'static str> {
        let mut words = Vec::new();
        if !self.is_complete() && !self.is_proxy() {
            words.push("incomplete");
        }
        words.extend(
            Self::KNOWN
                .iter()
                .filter(|(bit, _)| self.contains(*bit))
                .map(|(_, word)| *word),
        );
        words
    }
}

impl std::fmt::Display for ArpFlags {
    /// Words joined by `,`, then any unknown bits as hex.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = self.words().join(",");
        let unknown = self.unknown_bits();
        if unknown != 0 {
            if !text.is_empty() {
                text.push(',');
            }
            text.push_str(&format!("{unknown:#x}"));
        }
        f.write_str(&text)
    }
}

/// Parses the whole `net/arp` file (the first line is the header).
pub fn parse_arp_table(text: &str) -> Parsed<ArpEntry> {
    parse_lines(text, 1, parse_arp_line)
}

/// Parses one data line of `net/arp`.
pub fn parse_arp_line(line: &str) -> Result<ArpEntry, String> {
    parse_line(arp_line, line)
}

fn arp_line(input: &str) -> PResult<'_, ArpEntry> {
    let (i, _) = opt_blanks(input)?;
    let (i, ip) = expect("an IPv4 address", dotted_quad).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, hw_type) = expect("a 0x-prefixed 16-bit HW type", prefixed_hex_u16).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, (_, flags)) = expect("0x-prefixed flags", (keyword("0x"), hex_u32)).parse(i)?;
    let (i, _) = blanks(i)?;
    let tail = i;
    let (i, rest) = separated_list1(blanks, token).parse(i)?;
    let (hw_address, mask, device) = match rest.as_slice() {
        [hw, mask, device] => (normalise_hw_address(hw), *mask, *device),
        // A device without HW address prints an empty `%-17s`.
        [mask, device] => (String::new(), *mask, *device),
        _ => {
            return Err(nom::Err::Error(FieldError {
                input: tail,
                expected: "HW address, mask and device (or mask and device)",
            }));
        }
    };
    Ok((
        i,
        ArpEntry {
            ip,
            hw_type,
            flags: ArpFlags(flags),
            hw_address,
            mask: mask.to_string(),
            device: device.to_string(),
        },
    ))
}

fn dotted_quad(input: &str) -> PResult<'_, Ipv4Addr> {
    let (rest, text) = token(input)?;
    let ip = text.parse::<Ipv4Addr>().map_err(|_| {
        nom::Err::Error(FieldError {
            input,
            expected: "an IPv4 address",
        })
    })?;
    Ok((rest, ip))
}

fn prefixed_hex_u16(input: &str) -> PResult<'_, u16> {
    let (rest, (_, value)) = (keyword("0x"), hex_u32).parse(input)?;
    let value = u16::try_from(value).map_err(|_| {
        nom::Err::Error(FieldError {
            input,
            expected: "a 16-bit HW type",
        })
    })?;
    Ok((rest, value))
}

/// Lower-cases hex-and-colon addresses; anything else (AX.25 callsigns) is
/// kept as printed.
fn normalise_hw_address(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
        text.to_ascii_lowercase()
    } else {
        text.to_string()
    }
}

/// Counters of one row of `stat/arp_cache` (one CPU), or their total.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NeighCacheCounters {
    /// Current entries of the whole table (not per CPU).
    pub entries: u64,
    pub allocs: u64,
    pub destroys: u64,
    pub hash_grows: u64,
    pub lookups: u64,
    pub hits: u64,
    pub res_failed: u64,
    pub rcv_probes_mcast: u64,
    pub rcv_probes_ucast: u64,
    pub periodic_gc_runs: u64,
    pub forced_gc_runs: u64,
    pub unresolved_discards: u64,
    /// Absent on kernels that predate the column.
    pub table_fulls: Option<u64>,
    /// Columns this parser does not know, by header name, in file order.
    pub other: Vec<(String, u64)>,
}

/// The parsed `stat/arp_cache` (or `stat/ndisc_cache`) file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NeighCacheStats {
    /// One row per possible CPU, in file order (CPU ids are not printed).
    pub per_cpu: Vec<NeighCacheCounters>,
    /// Per-CPU columns summed (saturating); `entries` taken from the first
    /// row (rows can differ slightly when the table changes during a read).
    pub total: NeighCacheCounters,
    pub bad_lines: Vec<LineError>,
}

/// The columns every kernel since 2.6 prints, in the order of the struct.
const REQUIRED: [&str; 12] = [
    "entries",
    "allocs",
    "destroys",
    "hash_grows",
    "lookups",
    "hits",
    "res_failed",
    "rcv_probes_mcast",
    "rcv_probes_ucast",
    "periodic_gc_runs",
    "forced_gc_runs",
    "unresolved_discards",
];

/// Parses `stat/arp_cache` or `stat/ndisc_cache`. An empty file is an empty
/// table; a header that lacks one of the long-standing columns (or repeats
/// one) is an error for the whole file, since no row could be read safely.
pub fn parse_neigh_cache_stats(text: &str) -> Result<NeighCacheStats, LineError> {
    let mut lines = text.lines();
    let Some(header) = lines.next().filter(|h| !h.trim().is_empty()) else {
        return Ok(NeighCacheStats::default());
    };
    let names: Vec<&str> = header.split_ascii_whitespace().collect();
    for (n, name) in names.iter().enumerate() {
        if names.get(..n).is_some_and(|seen| seen.contains(name)) {
            return Err(LineError {
                line: 1,
                reason: format!("column '{name}' appears twice in the header"),
            });
        }
    }
    if let Some(missing) = REQUIRED.iter().find(|r| !names.contains(r)) {
        return Err(LineError {
            line: 1,
            reason: format!("header has no '{missing}' column"),
        });
    }
    let parsed = parse_lines(text, 1, |line| {
        parse_line(|i| counter_row(i, names.len()), line).map(|values| counters(&names, &values))
    });
    let total = sum_rows(&parsed.rows);
    Ok(NeighCacheStats {
        per_cpu: parsed.rows,
        total,
        bad_lines: parsed.bad_lines,
    })
}

fn counter_row(input: &str, columns: usize) -> PResult<'_, Vec<u64>> {
    let (i, _) = opt_blanks(input)?;
    let (i, values) = separated_list1(blanks, expect("a hex counter", hex_u64)).parse(i)?;
    if values.len() != columns {
        return Err(nom::Err::Error(FieldError {
            input,
            expected: "as many counters as header columns",
        }));
    }
    Ok((i, values))
}

/// Builds a row from values in header order; `names` contains every
/// required column (checked by the caller).
fn counters(names: &[&str], values: &[u64]) -> NeighCacheCounters {
    let mut row = NeighCacheCounters::default();
    for (name, value) in names.iter().zip(values) {
        let value = *value;
        match *name {
            "entries" => row.entries = value,
            "allocs" => row.allocs = value,
            "destroys" => row.destroys = value,
            "hash_grows" => row.hash_grows = value,
            "lookups" => row.lookups = value,
            "hits" => row.hits = value,
            "res_failed" => row.res_failed = value,
            "rcv_probes_mcast" => row.rcv_probes_mcast = value,
            "rcv_probes_ucast" => row.rcv_probes_ucast = value,
            "periodic_gc_runs" => row.periodic_gc_runs = value,
            "forced_gc_runs" => row.forced_gc_runs = value,
            "unresolved_discards" => row.unresolved_discards = value,
            "table_fulls" => row.table_fulls = Some(value),
            other => row.other.push((other.to_string(), value)),
        }
    }
    row
}

fn sum_rows(rows: &[NeighCacheCounters]) -> NeighCacheCounters {
    let Some(first) = rows.first() else {
        return NeighCacheCounters::default();
    };
    let mut total = NeighCacheCounters {
        entries: first.entries,
        table_fulls: first.table_fulls.map(|_| 0),
        other: first.other.iter().map(|(n, _)| (n.clone(), 0)).collect(),
        ..NeighCacheCounters::default()
    };
    for row in rows {
        for (sum, value) in [
            (&mut total.allocs, row.allocs),
            (&mut total.destroys, row.destroys),
            (&mut total.hash_grows, row.hash_grows),
            (&mut total.lookups, row.lookups),
            (&mut total.hits, row.hits),
            (&mut total.res_failed, row.res_failed),
            (&mut total.rcv_probes_mcast, row.rcv_probes_mcast),
            (&mut total.rcv_probes_ucast, row.rcv_probes_ucast),
            (&mut total.periodic_gc_runs, row.periodic_gc_runs),
            (&mut total.forced_gc_runs, row.forced_gc_runs),
            (&mut total.unresolved_discards, row.unresolved_discards),
        ] {
            *sum = sum.saturating_add(value);
        }
        if let (Some(sum), Some(value)) = (total.table_fulls.as_mut(), row.table_fulls) {
            *sum = sum.saturating_add(value);
        }
        // Every row has the same columns in the same order (one header).
        for ((_, sum), (_, value)) in total.other.iter_mut().zip(&row.other) {
            *sum = sum.saturating_add(*value);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::table_text::{check_table, garbage, join, lines};
    use proptest::prelude::*;

    const ARP_618: &str = include_str!("../../testdata/files/arp-6.18");
    const ARP_EDGE: &str = include_str!("../../testdata/files/arp-handmade-edge");
    const ARP_TRUNCATED: &str = include_str!("../../testdata/files/arp-truncated");
    const CACHE_618: &str = include_str!("../../testdata/files/arp_cache-6.18");
    const CACHE_OLD: &str = include_str!("../../testdata/files/arp_cache-old-spacing");
    const CACHE_SATURATING: &str = include_str!("../../testdata/files/arp_cache-saturating");
    const CACHE_TRUNCATED: &str = include_str!("../../testdata/files/arp_cache-truncated");

    fn find<'a>(rows: &'a [ArpEntry], ip: &str) -> &'a ArpEntry {
        let ip: Ipv4Addr = ip.parse().unwrap();
        rows.iter().find(|e| e.ip == ip).unwrap()
    }

    #[test]
    fn real_arp_table_of_the_capture_namespace() {
        let parsed = parse_arp_table(ARP_618);
        assert_eq!(parsed.bad_lines, vec![]);
        assert_eq!(parsed.rows.len(), 9);

        // Learned by traffic to the veth peer.
        let peer = find(&parsed.rows, "198.51.100.2");
        assert_eq!(peer.hw_type, 1);
        assert_eq!(peer.hw_type_name(), Some("ether"));
        assert_eq!(peer.flags, ArpFlags(0x2));
        assert_eq!(peer.flags.words(), ["complete"]);
        assert_eq!(peer.hw_address, "02:00:00:00:0b:01");
        assert_eq!(peer.mask, "*");
        assert_eq!(peer.device, "nmtbl-longname0");
        assert_eq!(peer.device.len(), 15);

        let permanent = find(&parsed.rows, "198.51.100.10");
        assert_eq!(permanent.flags.words(), ["complete", "permanent"]);
        assert_eq!(permanent.hw_address, "02:00:00:00:00:10");
        // `nud stale` is still a valid state: complete.
        assert_eq!(find(&parsed.rows, "198.51.100.11").flags.0, 0x2);
        // `nud incomplete` and `nud failed` both print 0x0 and zeros.
        for ip in ["198.51.100.12", "198.51.100.13"] {
            let e = find(&parsed.rows, ip);
            assert_eq!(e.flags.words(), ["incomplete"]);
            assert_eq!(e.hw_address, "00:00:00:00:00:00");
        }
        // `nud noarp` entries are not listed at all.
        assert!(!parsed.rows.iter().any(|e| e.ip.octets()[3] == 14));

        // Non-ASCII device name kept as given.
        let utf8 = find(&parsed.rows, "10.0.0.8");
        assert_eq!(utf8.device, "vëth-ü");
        assert_eq!(utf8.flags.0, 0x6);

        // tun: addr_len 0, so a blank HW address (5 tokens), listed as 0.0.0.0.
        let tun = find(&parsed.rows, "0.0.0.0");
        assert_eq!(tun.hw_type, 0xfffe);
        assert_eq!(tun.hw_type_name(), Some("none"));
        assert_eq!(tun.hw_address, "");
        assert_eq!(tun.device, "nmtun0");
        assert!(tun.flags.is_permanent());

        // Proxy entries come last: one on a device, one without.
        let [.., proxy_dev, proxy_any] = parsed.rows.as_slice() else {
            panic!("too few rows");
        };
        assert_eq!(proxy_dev.ip, Ipv4Addr::new(198, 51, 100, 77));
        assert_eq!(proxy_dev.flags.words(), ["permanent", "publish"]);
        assert!(proxy_dev.flags.is_proxy());
        assert_eq!(proxy_dev.device(), Some("nmtbl-longname0"));
        assert_eq!(proxy_any.ip, Ipv4Addr::new(198, 51, 100, 78));
        assert_eq!(proxy_any.hw_type, 0);
        assert_eq!(proxy_any.device, "*");
        assert_eq!(proxy_any.device(), None);
        assert_eq!(proxy_any.flags.to_string(), "permanent,publish");
    }

    #[test]
    fn hand_made_edge_cases() {
        let parsed = parse_arp_table(ARP_EDGE);
        assert_eq!(parsed.rows.len(), 6);
        let upper = find(&parsed.rows, "10.1.2.3");
        assert_eq!(upper.hw_address, "02:ab:cd:ef:00:01");
        let blank = find(&parsed.rows, "10.1.2.4");
        assert_eq!(blank.hw_address, "");
        assert_eq!(blank.device, "ppp-averylong15");
        assert_eq!(blank.hw_type_name(), Some("ppp"));
        let ax25 = find(&parsed.rows, "10.1.2.5");
        assert_eq!(ax25.hw_address, "NOCALL-7");
        assert_eq!(ax25.hw_type_name(), Some("ax25"));
        // InfiniBand addresses are cut after 9 bytes by the kernel.
        assert_eq!(
            find(&parsed.rows, "10.1.2.6").hw_address,
            "80:00:00:48:fe:80:00:00:00"
        );
        let subnet = find(&parsed.rows, "10.1.2.0");
        assert_eq!(subnet.flags.words(), ["permanent", "publish", "netmask"]);
        let odd = find(&parsed.rows, "10.1.2.7");
        assert_eq!(odd.flags.words(), ["complete", "dontpub"]);
        assert_eq!(odd.device, "éth0");

        let bad: Vec<usize> = parsed.bad_lines.iter().map(|b| b.line).collect();
        assert_eq!(bad, [8, 9, 10, 11, 12]);
        assert!(
            parsed.bad_lines[1].reason.contains("HW type"),
            "{:?}",
            parsed.bad_lines
        );
        assert!(parsed.bad_lines[2].reason.contains("IPv4"));
        assert!(parsed.bad_lines[4].reason.contains("16-bit"));
    }

    #[test]
    fn truncated_and_empty_arp_files() {
        let parsed = parse_arp_table(ARP_TRUNCATED);
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.bad_lines.len(), 1);
        assert_eq!(parsed.bad_lines[0].line, 3);
        assert_eq!(parse_arp_table(""), Parsed::default());
        assert_eq!(
            parse_arp_table(ARP_618.lines().next().unwrap()),
            Parsed::default()
        );
    }

    #[test]
    fn unknown_flag_bits_are_shown_in_hex() {
        assert_eq!(ArpFlags(0x102).to_string(), "complete,0x100");
        assert_eq!(ArpFlags(0x100).to_string(), "incomplete,0x100");
        assert_eq!(ArpFlags(0).to_string(), "incomplete");
        assert_eq!(arphrd_name(0x304), Some("loopback"));
        assert_eq!(arphrd_name(6), Some("ieee802"));
        assert_eq!(arphrd_name(0x1234), None);
    }

    #[test]
    fn real_arp_cache_sums_per_cpu_but_not_entries() {
        let stats = parse_neigh_cache_stats(CACHE_618).unwrap();
        assert_eq!(stats.bad_lines, vec![]);
        assert_eq!(stats.per_cpu.len(), 2);
        assert_eq!(stats.per_cpu[0].allocs, 0x11);
        assert_eq!(stats.per_cpu[1].hits, 4);
        assert!(stats.per_cpu.iter().all(|r| r.entries == 12));
        let total = &stats.total;
        assert_eq!(total.entries, 12);
        assert_eq!(total.allocs, 0x11 + 0xe);
        assert_eq!(total.destroys, 0xb + 0x8);
        assert_eq!(total.hash_grows, 1);
        assert_eq!(total.lookups, 0x1e + 0x1f);
        assert_eq!(total.hits, 4);
        assert_eq!(total.periodic_gc_runs, 0x12);
        assert_eq!(total.table_fulls, Some(0));
        assert_eq!(total.other, vec![]);
    }

    #[test]
    fn old_header_spacing_without_table_fulls() {
        let stats = parse_neigh_cache_stats(CACHE_OLD).unwrap();
        assert_eq!(stats.bad_lines, vec![]);
        assert_eq!(stats.per_cpu.len(), 4);
        let total = &stats.total;
        assert_eq!(total.entries, 5);
        assert_eq!(total.allocs, 3 + 0xffff_ffff + 0x1_2345_6789);
        assert_eq!(total.lookups, 0x30);
        assert_eq!(total.hits, 0xc + 0x1a);
        assert_eq!(total.rcv_probes_ucast, 1);
        assert_eq!(total.periodic_gc_runs, 0x20);
        assert_eq!(total.unresolved_discards, 2);
        assert_eq!(total.table_fulls, None);
    }

    #[test]
    fn sums_saturate_instead_of_overflowing() {
        let stats = parse_neigh_cache_stats(CACHE_SATURATING).unwrap();
        assert_eq!(stats.total.allocs, u64::MAX);
        assert_eq!(stats.total.table_fulls, Some(3));
        assert_eq!(stats.total.entries, 3);
    }

    #[test]
    fn columns_are_found_by_name() {
        let text = "hits entries allocs destroys hash_grows lookups res_failed rcv_probes_mcast \
                    rcv_probes_ucast periodic_gc_runs forced_gc_runs unresolved_discards newer\n\
                    1 2 3 4 5 6 7 8 9 a b c d\n1 2 3 4 5 6 7 8 9 a b c d\n";
        let stats = parse_neigh_cache_stats(text).unwrap();
        assert_eq!(stats.total.hits, 2);
        assert_eq!(stats.total.entries, 2);
        assert_eq!(stats.total.allocs, 6);
        assert_eq!(stats.total.unresolved_discards, 0x18);
        assert_eq!(stats.total.other, vec![("newer".to_string(), 0x1a)]);
    }

    #[test]
    fn truncated_bad_and_empty_arp_cache() {
        let stats = parse_neigh_cache_stats(CACHE_TRUNCATED).unwrap();
        assert_eq!(stats.per_cpu.len(), 1);
        let bad: Vec<usize> = stats.bad_lines.iter().map(|b| b.line).collect();
        assert_eq!(bad, [3, 4]);
        assert_eq!(stats.total, stats.per_cpu[0]);

        assert_eq!(parse_neigh_cache_stats(""), Ok(NeighCacheStats::default()));
        let header_only = CACHE_618.lines().next().unwrap();
        let stats = parse_neigh_cache_stats(header_only).unwrap();
        assert_eq!(stats.per_cpu, vec![]);
        assert_eq!(stats.total, NeighCacheCounters::default());

        let err = parse_neigh_cache_stats("entries allocs\n1 2\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.reason.contains("destroys"), "{err}");
        let twice = format!("{header_only} hits\n");
        assert!(parse_neigh_cache_stats(&twice).is_err());
    }

    /// Formats an entry the way `arp_seq_show` does.
    fn kernel_line(e: &ArpEntry) -> String {
        format!(
            "{:<16} 0x{:<10x}0x{:<10x}{:<17}     {}        {}",
            e.ip.to_string(),
            e.hw_type,
            e.flags.0,
            e.hw_address,
            e.mask,
            e.device
        )
    }

    fn entry() -> impl Strategy<Value = ArpEntry> {
        (
            any::<u32>(),
            any::<u16>(),
            any::<u32>(),
            prop_oneof![
                Just(String::new()),
                proptest::collection::vec(any::<u8>(), 1..=9).prop_map(|b| b
                    .iter()
                    .map(|x| format!("{x:02x}"))
                    .collect::<Vec<_>>()
                    .join(":")),
            ],
            "[^\\s:/]{1,15}",
        )
            .prop_map(|(ip, hw_type, flags, hw_address, device)| ArpEntry {
                ip: Ipv4Addr::from(ip),
                hw_type,
                flags: ArpFlags(flags),
                hw_address,
                mask: "*".to_string(),
                device,
            })
    }

    proptest! {
        #[test]
        fn tables_of_kernel_lines_and_garbage_parse_line_by_line(
            header in garbage(),
            body in lines(entry().prop_map(|e| { let l = kernel_line(&e); (e, l) }), 40),
            crlf in any::<bool>(),
            last_end in any::<bool>(),
        ) {
            let text = join(&[header], &body, crlf, last_end);
            check_table(&parse_arp_table(&text), 1, &body, parse_arp_line)?;
            let _ = parse_neigh_cache_stats(&text);
        }

        #[test]
        fn arp_like_text_never_panics(text in "[0-9a-fx.: \t\n*]{0,300}") {
            let _ = parse_arp_table(&text);
            let _ = parse_neigh_cache_stats(&text);
        }

        #[test]
        fn kernel_formatted_entry_parses_back(e in entry()) {
            let line = kernel_line(&e);
            prop_assert_eq!(parse_arp_line(&line), Ok(e));
        }
    }
}
