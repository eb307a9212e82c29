//! The protocol statistics files — `snmp` and `netstat` (pairs of a name
//! line and a value line), `snmp6` and `dev_snmp6/<if>` (`name value`
//! lines) — and the two ways a counter's change is taken: [`counter_delta`]
//! (64-bit: a decrease is a reset) and [`wrapping_delta_u32`] (the 32-bit
//! `softnet_stat` counters wrap). Counters are kept by name, never by
//! position; what varies between kernels is in docs/parsers.md.

use std::fmt;

use nom::Parser;
use nom::character::complete::{char, digit1};
use nom::combinator::{opt, recognize};
use nom::multi::many0;
use nom::sequence::preceded;

use super::{
    FieldError, LineError, PResult, Parsed, blanks, colon_label, dec_u64, expect, opt_blanks,
    parse_line, parse_lines, token,
};

/// The value of one counter of `snmp`/`netstat`.
///
/// An enum rather than a wider integer so that the common case (an unsigned
/// counter) needs no conversion, and the rare signed value (`Tcp MaxConn`,
/// `-1` meaning "no limit") cannot be mistaken for a huge counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CounterValue {
    /// Zero or more: every counter, and gauges such as `Tcp CurrEstab`.
    Unsigned(u64),
    /// Below zero (`i64::MIN..=-1`); in practice only `Tcp MaxConn`.
    Negative(i64),
}

impl CounterValue {
    /// The value as an unsigned counter, `None` when it is negative.
    pub fn as_u64(self) -> Option<u64> {
        match self {
            CounterValue::Unsigned(v) => Some(v),
            CounterValue::Negative(_) => None,
        }
    }

    /// The value as a signed number; every value fits.
    pub fn as_i128(self) -> i128 {
        match self {
            CounterValue::Unsigned(v) => i128::from(v),
            CounterValue::Negative(v) => i128::from(v),
        }
    }
}

impl fmt::Display for CounterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CounterValue::Unsigned(v) => write!(f, "{v}"),
            CounterValue::Negative(v) => write!(f, "{v}"),
        }
    }
}

/// How much a counter grew between two readings, or `None` when it went
/// backwards (the namespace was recreated, the counter was reset or a
/// 32-bit counter wrapped): the caller shows a reset, never a huge number.
///
/// This and [`wrapping_delta_u32`] next to it are the only places where
/// counter deltas are computed.
pub fn counter_delta(previous: u64, current: u64) -> Option<u64> {
    current.checked_sub(previous)
}

/// How much a **32-bit wrapping** counter grew between two readings.
///
/// `softnet_stat` prints every column with `%08x` from `unsigned int`
/// fields: they wrap at 2^32 and are never reset while the machine runs
/// (the file is not per namespace). So, unlike [`counter_delta`], a smaller
/// second reading is a wrap, not a reset, and the change is the wrapping
/// difference. It is exact as long as fewer than 2^32 events happened
/// between the readings; the caller must compare readings of the same CPU.
pub fn wrapping_delta_u32(previous: u32, current: u32) -> u64 {
    u64::from(current.wrapping_sub(previous))
}

/// [`counter_delta`] for two readings of a `snmp`/`netstat` value; `None`
/// also when either reading is negative (such values are not counters).
pub fn value_delta(previous: CounterValue, current: CounterValue) -> Option<u64> {
    counter_delta(previous.as_u64()?, current.as_u64()?)
}

/// The sections of `snmp` and `netstat`, by their line prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionKind {
    Ip,
    Icmp,
    IcmpMsg,
    Tcp,
    Udp,
    UdpLite,
    TcpExt,
    IpExt,
    MPTcpExt,
    /// A prefix this version of netmonitor does not know, kept as printed.
    Other(String),
}

impl SectionKind {
    /// The section for a prefix as printed (without the colon).
    pub fn from_prefix(prefix: &str) -> Self {
        match prefix {
            "Ip" => SectionKind::Ip,
            "Icmp" => SectionKind::Icmp,
            "IcmpMsg" => SectionKind::IcmpMsg,
            "Tcp" => SectionKind::Tcp,
            "Udp" => SectionKind::Udp,
            "UdpLite" => SectionKind::UdpLite,
            "TcpExt" => SectionKind::TcpExt,
            "IpExt" => SectionKind::IpExt,
            "MPTcpExt" => SectionKind::MPTcpExt,
            other => SectionKind::Other(other.to_string()),
        }
    }

    /// The prefix as printed in the file (without the colon).
    pub fn as_str(&self) -> &str {
        match self {
            SectionKind::Ip => "Ip",
            SectionKind::Icmp => "Icmp",
            SectionKind::IcmpMsg => "IcmpMsg",
            SectionKind::Tcp => "Tcp",
            SectionKind::Udp => "Udp",
            SectionKind::UdpLite => "UdpLite",
            SectionKind::TcpExt => "TcpExt",
            SectionKind::IpExt => "IpExt",
            SectionKind::MPTcpExt => "MPTcpExt",
            SectionKind::Other(prefix) => prefix,
        }
    }
}

/// One section of a pair file: its counters in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSection {
    pub kind: SectionKind,
    pub counters: Vec<(String, CounterValue)>,
}

impl CounterSection {
    /// The value of the counter called `name` (the first one, should the
    /// name repeat).
    pub fn get(&self, name: &str) -> Option<CounterValue> {
        self.counters
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, value)| value)
    }
}

/// A parsed `snmp` or `netstat`: sections in the order of their first
/// appearance, and the pairs that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterFile {
    pub sections: Vec<CounterSection>,
    pub bad_lines: Vec<LineError>,
}

impl CounterFile {
    /// The section printed with `prefix` (`"Tcp"`, `"IcmpMsg"`, …).
    pub fn section(&self, prefix: &str) -> Option<&CounterSection> {
        self.sections.iter().find(|s| s.kind.as_str() == prefix)
    }

    /// The value of counter `name` in section `prefix`, e.g.
    /// `get("Tcp", "MaxConn")`.
    pub fn get(&self, prefix: &str, name: &str) -> Option<CounterValue> {
        self.section(prefix)?.get(name)
    }

    /// Like [`CounterFile::get`] for counters that cannot be negative.
    pub fn get_u64(&self, prefix: &str, name: &str) -> Option<u64> {
        self.get(prefix, name)?.as_u64()
    }

    fn add(&mut self, prefix: &str, counters: Vec<(String, CounterValue)>) {
        match self.sections.iter_mut().find(|s| s.kind.as_str() == prefix) {
            Some(section) => section.counters.extend(counters),
            None => self.sections.push(CounterSection {
                kind: SectionKind::from_prefix(prefix),
                counters,
            }),
        }
    }
}

/// One line of a pair file split into its prefix and tokens.
struct PairLine<'a> {
    number: usize,
    prefix: &'a str,
    tokens: Vec<&'a str>,
}

impl PairLine<'_> {
    /// A value line: it starts with a number. Counter names always start
    /// with a letter, so this tells a name line from a value line.
    fn is_values(&self) -> bool {
        self.tokens
            .first()
            .is_some_and(|t| parse_line(counter_value, t).is_ok())
    }
}

fn pair_line(input: &str) -> PResult<'_, (&str, Vec<&str>)> {
    let (i, _) = opt_blanks(input)?;
    let (i, prefix) = expect("a section prefix like 'Tcp:'", colon_label).parse(i)?;
    let (i, tokens) = many0(preceded(blanks, token)).parse(i)?;
    Ok((i, (prefix, tokens)))
}

/// A decimal counter value: any `u64`, or a negative number down to
/// `i64::MIN`.
pub fn counter_value(input: &str) -> PResult<'_, CounterValue> {
    let (rest, text) = recognize((opt(char('-')), digit1)).parse(input)?;
    let value = match text.strip_prefix('-') {
        None => text.parse::<u64>().ok().map(CounterValue::Unsigned),
        Some(_) => text.parse::<i64>().ok().map(|v| match u64::try_from(v) {
            Ok(zero) => CounterValue::Unsigned(zero),
            Err(_) => CounterValue::Negative(v),
        }),
    };
    match value {
        Some(value) => Ok((rest, value)),
        None => Err(nom::Err::Error(FieldError {
            input,
            expected: "a counter between -2^63 and 2^64-1",
        })),
    }
}

/// Parses `snmp` or `netstat` (any file of `Prefix: names` / `Prefix:
/// values` line pairs).
///
/// Consecutive (or repeated) pairs with the same prefix are merged into one
/// section. A broken pair is reported with the number of the line at fault;
/// when the second line of a would-be pair does not belong to it, only the
/// first line is dropped and pairing restarts at the second.
pub fn parse_pairs(text: &str) -> CounterFile {
    let mut file = CounterFile::default();
    // Unreadable lines stay in the list (as `Err(number)`, reported here) so
    // that a pair is never formed across them.
    let mut lines: Vec<Result<PairLine<'_>, usize>> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim_end();
        if line.trim_start().is_empty() {
            continue;
        }
        match parse_line(pair_line, line) {
            Ok((prefix, tokens)) => lines.push(Ok(PairLine {
                number,
                prefix,
                tokens,
            })),
            Err(reason) => {
                file.bad_lines.push(LineError {
                    line: number,
                    reason,
                });
                lines.push(Err(number));
            }
        }
    }

    let mut rest = lines.as_slice();
    while let Some((first, after)) = rest.split_first() {
        rest = after;
        let Ok(names) = first else {
            continue;
        };
        if names.is_values() {
            file.bad_lines.push(LineError {
                line: names.number,
                reason: format!("'{}:' values without a name line", names.prefix),
            });
            continue;
        }
        let values = match rest.split_first() {
            None => {
                file.bad_lines.push(LineError {
                    line: names.number,
                    reason: format!("'{}:' names without a value line", names.prefix),
                });
                break;
            }
            Some((Err(number), _)) => {
                file.bad_lines.push(LineError {
                    line: names.number,
                    reason: format!(
                        "'{}:' names not followed by its values (line {number} is unreadable)",
                        names.prefix
                    ),
                });
                continue;
            }
            Some((Ok(values), after)) => {
                let empty_pair = names.tokens.is_empty() && values.tokens.is_empty();
                if values.prefix != names.prefix || !(values.is_values() || empty_pair) {
                    file.bad_lines.push(LineError {
                        line: names.number,
                        reason: format!(
                            "'{}:' names not followed by its values (line {} is '{}:' {})",
                            names.prefix,
                            values.number,
                            values.prefix,
                            if values.is_values() {
                                "values"
                            } else {
                                "names"
                            }
                        ),
                    });
                    continue;
                }
                rest = after;
                values
            }
        };
        match pair_counters(names, values) {
            Ok(counters) => file.add(names.prefix, counters),
            Err(reason) => file.bad_lines.push(LineError {
                line: values.number,
                reason,
            }),
        }
    }
    file.bad_lines.sort_by_key(|e| e.line);
    file
}

fn pair_counters(
    names: &PairLine<'_>,
    values: &PairLine<'_>,
) -> Result<Vec<(String, CounterValue)>, String> {
    if names.tokens.len() != values.tokens.len() {
        return Err(format!(
            "'{}:' has {} names but {} values",
            names.prefix,
            names.tokens.len(),
            values.tokens.len()
        ));
    }
    names
        .tokens
        .iter()
        .zip(&values.tokens)
        .map(|(name, value)| {
            let value = parse_line(expect("a counter value", counter_value), value)?;
            Ok((name.to_string(), value))
        })
        .collect()
}

/// A file of one `name value` counter per line (`snmp6`, `dev_snmp6/<if>`),
/// in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedCounters {
    pub counters: Vec<(String, u64)>,
    pub bad_lines: Vec<LineError>,
}

impl NamedCounters {
    /// The value of the counter called `name`.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.counters
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, value)| value)
    }
}

/// Parses `snmp6` or `dev_snmp6/<if>` (`%-32s\t%lu` lines; the `ifIndex`
/// line of the latter is kept as a counter). Bad lines are reported and
/// skipped.
pub fn parse_snmp6(text: &str) -> NamedCounters {
    let Parsed { rows, bad_lines } = parse_lines(text, 0, |line| parse_line(snmp6_line, line));
    NamedCounters {
        counters: rows,
        bad_lines,
    }
}

fn snmp6_line(input: &str) -> PResult<'_, (String, u64)> {
    let (i, _) = opt_blanks(input)?;
    let (i, name) = expect("a counter name", token).parse(i)?;
    let (i, value) = expect("a blank and a decimal counter", preceded(blanks, dec_u64)).parse(i)?;
    Ok((i, (name.to_string(), value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::table_text::{check_table, garbage, join, lines};
    use proptest::prelude::*;

    const SNMP_618: &str = include_str!("../../testdata/files/snmp-6.18");
    const NETSTAT_618: &str = include_str!("../../testdata/files/netstat-6.18");
    const SNMP6_618: &str = include_str!("../../testdata/files/snmp6-6.18");
    const DEV_SNMP6_618: &str = include_str!("../../testdata/files/dev_snmp6-veth-6.18");
    const SNMP_4X: &str = include_str!("../../testdata/files/snmp-4.x-icmpmsg-2pairs");
    const SNMP_3X: &str = include_str!("../../testdata/files/snmp-3.x-no-icmpmsg");
    const SNMP_TRUNCATED: &str = include_str!("../../testdata/files/snmp-6.18-truncated");
    const NETSTAT_BROKEN: &str = include_str!("../../testdata/files/netstat-broken-pairs");
    const SNMP6_BAD: &str = include_str!("../../testdata/files/snmp6-bad-lines");
    const GARBAGE: &str = include_str!("../../testdata/files/garbage");

    fn u(v: u64) -> Option<CounterValue> {
        Some(CounterValue::Unsigned(v))
    }

    fn prefixes(file: &CounterFile) -> Vec<&str> {
        file.sections.iter().map(|s| s.kind.as_str()).collect()
    }

    #[test]
    fn real_snmp_618_merges_three_icmpmsg_pairs() {
        let f = parse_pairs(SNMP_618);
        assert_eq!(f.bad_lines, vec![]);
        assert_eq!(
            prefixes(&f),
            ["Ip", "Icmp", "IcmpMsg", "Tcp", "Udp", "UdpLite"]
        );
        let msg = f.section("IcmpMsg").unwrap();
        // 22 types sent over loopback: 22 InType + 22 OutType over 3 pairs.
        assert_eq!(msg.counters.len(), 44);
        assert_eq!(msg.kind, SectionKind::IcmpMsg);
        assert_eq!(f.get("IcmpMsg", "InType3"), u(2));
        assert_eq!(f.get("IcmpMsg", "InType0"), u(5));
        assert_eq!(f.get("IcmpMsg", "InType42"), u(1));
        assert_eq!(f.get("IcmpMsg", "OutType8"), u(4));
        assert_eq!(f.get("IcmpMsg", "OutType42"), u(1));
        assert_eq!(msg.counters.first().unwrap().0, "InType0");
        assert_eq!(msg.counters.last().unwrap().0, "OutType42");
        assert_eq!(f.get("Tcp", "MaxConn"), Some(CounterValue::Negative(-1)));
        assert_eq!(f.get_u64("Tcp", "MaxConn"), None);
        assert_eq!(f.get_u64("Tcp", "ActiveOpens"), Some(4));
        assert_eq!(f.get_u64("Tcp", "OutRsts"), Some(2));
        assert_eq!(f.get_u64("Udp", "NoPorts"), Some(1));
        assert_eq!(f.get_u64("Ip", "OutTransmits"), Some(46));
        assert_eq!(f.get_u64("Icmp", "OutRateLimitHost"), Some(0));
        assert_eq!(f.get_u64("Icmp", "OutAddrMaskReps"), Some(1));
        assert_eq!(f.get("Ip", "NoSuchCounter"), None);
        assert_eq!(f.get("Nope", "InReceives"), None);
    }

    #[test]
    fn real_netstat_618() {
        let f = parse_pairs(NETSTAT_618);
        assert_eq!(f.bad_lines, vec![]);
        assert_eq!(prefixes(&f), ["TcpExt", "IpExt", "MPTcpExt"]);
        assert_eq!(f.sections[2].kind, SectionKind::MPTcpExt);
        assert_eq!(f.get_u64("IpExt", "InOctets"), Some(52400));
        assert_eq!(f.get_u64("IpExt", "InNoECTPkts"), Some(46));
        assert_eq!(f.get_u64("TcpExt", "TW"), Some(2));
        assert_eq!(f.get_u64("TcpExt", "TCPPureAcks"), Some(6));
        assert_eq!(f.get_u64("TcpExt", "TCPDelivered"), Some(10));
        assert_eq!(f.get_u64("MPTcpExt", "MPCapableSYNRX"), Some(0));
        assert!(f.section("TcpExt").unwrap().counters.len() > 120);
    }

    #[test]
    fn old_snmp_with_icmpmsg_over_two_pairs() {
        let f = parse_pairs(SNMP_4X);
        assert_eq!(f.bad_lines, vec![]);
        let msg = f.section("IcmpMsg").unwrap();
        assert_eq!(msg.counters.len(), 18);
        assert_eq!(f.get_u64("IcmpMsg", "InType0"), Some(12));
        assert_eq!(f.get_u64("IcmpMsg", "OutType8"), Some(12));
        assert_eq!(f.get_u64("IcmpMsg", "OutType11"), Some(3));
        // No OutTransmits before 6.x; MaxConn is still -1.
        assert_eq!(f.get("Ip", "OutTransmits"), None);
        assert_eq!(f.get("Tcp", "MaxConn"), Some(CounterValue::Negative(-1)));
    }

    #[test]
    fn old_snmp_without_icmpmsg() {
        let f = parse_pairs(SNMP_3X);
        assert_eq!(f.bad_lines, vec![]);
        assert_eq!(prefixes(&f), ["Ip", "Icmp", "Tcp", "Udp", "UdpLite"]);
        assert!(f.section("IcmpMsg").is_none());
        assert_eq!(f.get("IcmpMsg", "InType3"), None);
        assert_eq!(f.get_u64("Udp", "InDatagrams"), Some(18446744073709551615));
        assert_eq!(f.get("Udp", "IgnoredMulti"), None);
        assert_eq!(f.get("Tcp", "MaxConn"), Some(CounterValue::Negative(-1)));
    }

    #[test]
    fn truncated_snmp_keeps_the_complete_pairs() {
        // The real capture cut in the middle of the Tcp value line.
        let f = parse_pairs(SNMP_TRUNCATED);
        assert_eq!(prefixes(&f), ["Ip", "Icmp", "IcmpMsg"]);
        assert_eq!(f.section("IcmpMsg").unwrap().counters.len(), 44);
        assert_eq!(f.bad_lines.len(), 1, "{:?}", f.bad_lines);
        assert_eq!(f.bad_lines[0].line, 12);
        assert!(f.bad_lines[0].reason.contains("15 names but 3 values"));
    }

    #[test]
    fn every_cut_of_the_real_file_keeps_the_pairs_before_it() {
        let full = parse_pairs(SNMP_618);
        for cut in (0..=SNMP_618.len()).filter(|&n| SNMP_618.is_char_boundary(n)) {
            let text = &SNMP_618[..cut];
            let f = parse_pairs(text);
            // Only the cut line and the one before it can be at fault.
            let last = text.lines().count();
            assert!(
                f.bad_lines.iter().all(|e| e.line + 1 >= last),
                "cut at {cut}: {:?}",
                f.bad_lines
            );
            for section in &f.sections {
                let whole = full.section(section.kind.as_str()).unwrap();
                // Every counter read has its name from the real file (a cut
                // inside the last number of a value line cannot be noticed).
                for (name, _) in &section.counters {
                    assert!(whole.get(name).is_some(), "cut at {cut}: {name}");
                }
            }
        }
    }

    #[test]
    fn broken_pairs_are_reported_and_the_rest_survives() {
        let f = parse_pairs(NETSTAT_BROKEN);
        let lines: Vec<usize> = f.bad_lines.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 9, 10, 14, 17], "{:#?}", f.bad_lines);
        assert_eq!(prefixes(&f), ["IpExt", "MPTcpExt", "Future"]);
        assert_eq!(f.get_u64("IpExt", "InOctets"), Some(1000));
        assert_eq!(f.get_u64("MPTcpExt", "MPCapableSYNRX"), Some(3));
        assert_eq!(f.sections[2].kind, SectionKind::Other("Future".to_string()));
        assert_eq!(f.get_u64("Future", "Gadgets"), Some(7));
        assert!(f.bad_lines[0].reason.contains("3 names but 4 values"));
        assert!(f.bad_lines[1].reason.contains("values without a name line"));
        assert!(f.bad_lines[2].reason.contains("names not followed"));
        assert!(f.bad_lines[4].reason.contains("expected a counter value"));
        assert!(f.bad_lines[7].reason.contains("names without a value line"));
    }

    #[test]
    fn garbage_is_reported_not_parsed() {
        let f = parse_pairs(GARBAGE);
        assert!(f.sections.is_empty(), "{:?}", f.sections);
        assert!(!f.bad_lines.is_empty());
        assert_eq!(parse_pairs(""), CounterFile::default());
    }

    #[test]
    fn pairs_map_by_name_in_any_order() {
        let f = parse_pairs("Udp: B A\nUdp: 2 1\nTcp: MaxConn\nTcp: -9223372036854775808\n");
        assert_eq!(f.get_u64("Udp", "A"), Some(1));
        assert_eq!(f.get_u64("Udp", "B"), Some(2));
        assert_eq!(
            f.get("Tcp", "MaxConn"),
            Some(CounterValue::Negative(i64::MIN))
        );
        let f = parse_pairs("Tcp: X Y\nTcp: -0 18446744073709551616\n");
        assert_eq!(f.bad_lines.len(), 1);
        assert_eq!(f.bad_lines[0].line, 2);
    }

    #[test]
    fn no_pair_is_formed_across_an_unreadable_line() {
        let f = parse_pairs("Tcp: A\n???\nTcp: 1\nUdp:\nUdp:\n");
        let lines: Vec<usize> = f.bad_lines.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 2, 3], "{:?}", f.bad_lines);
        assert!(f.bad_lines[0].reason.contains("line 2 is unreadable"));
        // An empty pair is an empty section, not an error.
        assert_eq!(prefixes(&f), ["Udp"]);
        assert!(f.sections[0].counters.is_empty());
    }

    #[test]
    fn counter_values() {
        assert_eq!(counter_value("-1"), Ok(("", CounterValue::Negative(-1))));
        assert_eq!(counter_value("-0"), Ok(("", CounterValue::Unsigned(0))));
        assert_eq!(
            counter_value("18446744073709551615 x"),
            Ok((" x", CounterValue::Unsigned(u64::MAX)))
        );
        assert!(counter_value("-9223372036854775809").is_err());
        assert!(counter_value("+1").is_err());
        assert!(counter_value("-").is_err());
        assert_eq!(CounterValue::Negative(-1).to_string(), "-1");
        assert_eq!(CounterValue::Negative(-1).as_i128(), -1);
        assert_eq!(
            CounterValue::Unsigned(u64::MAX).as_i128(),
            i128::from(u64::MAX)
        );
    }

    #[test]
    fn deltas_never_overflow_and_report_resets() {
        assert_eq!(counter_delta(5, 8), Some(3));
        assert_eq!(counter_delta(8, 8), Some(0));
        assert_eq!(counter_delta(8, 5), None);
        assert_eq!(counter_delta(0, u64::MAX), Some(u64::MAX));
        assert_eq!(counter_delta(u64::MAX, 0), None);
        let (a, b) = (CounterValue::Unsigned(1), CounterValue::Unsigned(4));
        assert_eq!(value_delta(a, b), Some(3));
        assert_eq!(value_delta(b, a), None);
        assert_eq!(value_delta(CounterValue::Negative(-1), b), None);
    }

    #[test]
    fn wrapping_deltas_count_across_the_wrap() {
        assert_eq!(wrapping_delta_u32(5, 8), 3);
        assert_eq!(wrapping_delta_u32(8, 8), 0);
        // 0xffff_fffe → 0x0000_0001 is three events, not a reset.
        assert_eq!(wrapping_delta_u32(u32::MAX - 1, 1), 3);
        assert_eq!(wrapping_delta_u32(u32::MAX, 0), 1);
        assert_eq!(wrapping_delta_u32(0, u32::MAX), u64::from(u32::MAX));
    }

    #[test]
    fn real_snmp6_618() {
        let f = parse_snmp6(SNMP6_618);
        assert_eq!(f.bad_lines, vec![]);
        assert_eq!(f.counters.len(), 96);
        assert_eq!(f.counters[0], ("Ip6InReceives".to_string(), 28));
        assert_eq!(f.get("Ip6InOctets"), Some(52312));
        assert_eq!(f.get("Icmp6InType129"), Some(4));
        assert_eq!(f.get("Icmp6OutType135"), Some(2));
        assert_eq!(f.get("Udp6NoPorts"), Some(1));
        assert_eq!(f.get("Icmp6InType3"), None);
    }

    #[test]
    fn real_dev_snmp6_keeps_ifindex() {
        let f = parse_snmp6(DEV_SNMP6_618);
        assert_eq!(f.bad_lines, vec![]);
        assert_eq!(f.counters[0], ("ifIndex".to_string(), 2));
        assert_eq!(f.get("Ip6InReceives"), Some(5));
    }

    #[test]
    fn snmp6_bad_lines_are_skipped() {
        let f = parse_snmp6(SNMP6_BAD);
        let lines: Vec<usize> = f.bad_lines.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 5, 6, 7]);
        assert_eq!(
            f.counters,
            [
                ("Ip6InReceives".to_string(), 28),
                ("Icmp6InType143Ext_A_Name_Longer_Than_32".to_string(), 3),
                ("Udp6InDatagrams".to_string(), 18446744073709551615),
            ]
        );
        assert!(parse_snmp6(GARBAGE).counters.is_empty());
    }

    fn kernel_pairs(sections: &[(String, Vec<(String, u64)>)]) -> String {
        let mut text = String::new();
        for (prefix, counters) in sections {
            let names: String = counters.iter().map(|(n, _)| format!(" {n}")).collect();
            let values: String = counters.iter().map(|(_, v)| format!(" {v}")).collect();
            text.push_str(&format!("{prefix}:{names}\n{prefix}:{values}\n"));
        }
        text
    }

    /// The sections a file of `sections` holds: merged by prefix, in order.
    #[allow(clippy::type_complexity)]
    fn merged(
        sections: &[(String, Vec<(String, u64)>)],
    ) -> Vec<(String, Vec<(String, CounterValue)>)> {
        let mut expected: Vec<(String, Vec<(String, CounterValue)>)> = Vec::new();
        for (prefix, counters) in sections {
            let counters = counters
                .iter()
                .map(|(n, v)| (n.clone(), CounterValue::Unsigned(*v)));
            match expected.iter_mut().find(|(p, _)| p == prefix) {
                Some((_, c)) => c.extend(counters),
                None => expected.push((prefix.clone(), counters.collect())),
            }
        }
        expected
    }

    proptest! {
        #[test]
        fn pairs_with_garbage_between_them_keep_every_pair(
            sections in proptest::collection::vec(
                (
                    "[A-Z][A-Za-z0-9]{0,8}",
                    proptest::collection::vec(("[A-Za-z][A-Za-z0-9]{0,12}", any::<u64>()), 1..20),
                ),
                0..6,
            ),
            // Lines no pair can be made of: no colon, or nothing before it.
            between in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof!["[^:\\pC]{0,80}", garbage().prop_map(|g| format!(":{g}"))],
                    0..3,
                ),
                7,
            ),
            crlf in any::<bool>(),
            last_end in any::<bool>(),
        ) {
            let mut lines: Vec<String> = Vec::new();
            let mut bad = Vec::new();
            let mut add_between = |lines: &mut Vec<String>, i: usize| {
                for g in &between[i] {
                    lines.push(g.clone());
                    if !g.trim().is_empty() {
                        bad.push(lines.len());
                    }
                }
            };
            for (i, (prefix, counters)) in sections.iter().enumerate() {
                add_between(&mut lines, i);
                let names: String = counters.iter().map(|(n, _)| format!(" {n}")).collect();
                let values: String = counters.iter().map(|(_, v)| format!(" {v}")).collect();
                lines.push(format!("{prefix}:{names}"));
                lines.push(format!("{prefix}:{values}"));
            }
            add_between(&mut lines, 6);
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = lines.join(end);
            if last_end {
                text.push_str(end);
            }
            let f = parse_pairs(&text);
            prop_assert_eq!(f.bad_lines.iter().map(|b| b.line).collect::<Vec<_>>(), bad);
            let got: Vec<(String, Vec<(String, CounterValue)>)> = f
                .sections
                .into_iter()
                .map(|s| (s.kind.as_str().to_string(), s.counters))
                .collect();
            prop_assert_eq!(got, merged(&sections));
        }

        #[test]
        fn any_pair_text_never_panics(
            body in lines(
                ("[A-Z][A-Za-z0-9]{0,8}", proptest::collection::vec("[A-Za-z0-9-]{1,12}", 0..20))
                    .prop_map(|(prefix, words)| ((), format!("{prefix}: {}", words.join(" ")))),
                40,
            ),
        ) {
            let text = join(&[], &body, false, true);
            let f = parse_pairs(&text);
            let mut numbers: Vec<usize> = f.bad_lines.iter().map(|b| b.line).collect();
            prop_assert!(numbers.iter().all(|&n| (1..=body.len()).contains(&n)));
            numbers.dedup();
            prop_assert!(numbers.is_sorted());
        }

        #[test]
        fn snmp6_files_of_kernel_lines_and_garbage_parse_line_by_line(
            body in lines(
                ("[A-Za-z][A-Za-z0-9]{0,40}", any::<u64>())
                    .prop_map(|(name, value)| { let l = format!("{name:<32}\t{value}"); ((name, value), l) }),
                40,
            ),
            crlf in any::<bool>(),
            last_end in any::<bool>(),
        ) {
            let f = parse_snmp6(&join(&[], &body, crlf, last_end));
            let parsed = Parsed { rows: f.counters, bad_lines: f.bad_lines };
            check_table(&parsed, 0, &body, |l| parse_line(snmp6_line, l))?;
        }

        #[test]
        fn pairs_like_the_kernel_prints_them_parse_back(
            sections in proptest::collection::vec(
                (
                    "[A-Z][A-Za-z0-9]{0,8}",
                    proptest::collection::vec(("[A-Za-z][A-Za-z0-9]{0,12}", any::<u64>()), 1..20),
                ),
                0..6,
            )
        ) {
            let f = parse_pairs(&kernel_pairs(&sections));
            prop_assert_eq!(&f.bad_lines, &vec![]);
            let expected = merged(&sections);
            let got: Vec<(String, Vec<(String, CounterValue)>)> = f
                .sections
                .into_iter()
                .map(|s| (s.kind.as_str().to_string(), s.counters))
                .collect();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn snmp6_lines_parse_back(name in "[A-Za-z][A-Za-z0-9]{0,40}", value in any::<u64>()) {
            let f = parse_snmp6(&format!("{name:<32}\t{value}\n"));
            prop_assert_eq!(f.counters, vec![(name, value)]);
        }

        #[test]
        fn wrapping_delta_plus_previous_is_current(a in any::<u32>(), b in any::<u32>()) {
            let d = u32::try_from(wrapping_delta_u32(a, b)).expect("fits in 32 bits");
            prop_assert_eq!(a.wrapping_add(d), b);
        }

        #[test]
        fn delta_plus_previous_is_current(a in any::<u64>(), b in any::<u64>()) {
            match counter_delta(a, b) {
                Some(d) => prop_assert_eq!(a.checked_add(d), Some(b)),
                None => prop_assert!(b < a),
            }
        }
    }
}
