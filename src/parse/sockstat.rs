//! `net/sockstat` and `net/sockstat6`: how many sockets of each protocol
//! exist (and how much memory they hold), for the summary of a namespace.
//!
//! Each line is `PROTO: key value key value …`. Keys were added over time
//! (`UDPLITE`, `tw`), so they are kept by name. Units differ by key and are
//! not marked: `mem` is in pages, `FRAG memory` in bytes; some values are
//! per namespace (`inuse`, `tw`), others system-wide (`alloc`, `orphan`,
//! `mem`). This parser only keeps the numbers; callers know the units.

use nom::Parser;
use nom::multi::many0;
use nom::sequence::preceded;

use super::{
    PResult, Parsed, blanks, colon_label, dec_u64, expect, opt_blanks, parse_line, parse_lines,
    token,
};

/// One line of `sockstat`/`sockstat6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockstatLine {
    /// `sockets`, `TCP`, `UDP`, `TCP6`, `FRAG6`, …
    pub protocol: String,
    /// The key/value pairs in file order.
    pub values: Vec<(String, u64)>,
}

/// A parsed `sockstat` or `sockstat6`: one entry per line, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sockstat {
    pub protocols: Vec<SockstatLine>,
    pub bad_lines: Vec<super::LineError>,
}

impl Sockstat {
    /// The value of `key` on the line of `protocol`, e.g. `get("TCP", "tw")`.
    pub fn get(&self, protocol: &str, key: &str) -> Option<u64> {
        self.protocols
            .iter()
            .find(|p| p.protocol == protocol)?
            .values
            .iter()
            .find(|(k, _)| k == key)
            .map(|&(_, v)| v)
    }
}

/// Parses `sockstat` or `sockstat6`; bad lines are reported and skipped.
pub fn parse_sockstat(text: &str) -> Sockstat {
    let Parsed { rows, bad_lines } = parse_lines(text, 0, |line| parse_line(sockstat_line, line));
    Sockstat {
        protocols: rows,
        bad_lines,
    }
}

fn sockstat_line(input: &str) -> PResult<'_, SockstatLine> {
    let (i, _) = opt_blanks(input)?;
    let (i, protocol) = expect("a protocol name and ':'", colon_label).parse(i)?;
    let (i, values) = many0((
        preceded(blanks, expect("a key", token)),
        preceded(blanks, expect("a decimal value", dec_u64)),
    ))
    .parse(i)?;
    Ok((
        i,
        SockstatLine {
            protocol: protocol.to_string(),
            values: values
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::table_text::{check_table, join, lines};
    use proptest::prelude::*;

    const SOCKSTAT_618: &str = include_str!("../../testdata/files/sockstat-6.18");
    const SOCKSTAT6_618: &str = include_str!("../../testdata/files/sockstat6-6.18");
    const GARBAGE: &str = include_str!("../../testdata/files/garbage");

    #[test]
    fn real_sockstat_618() {
        let s = parse_sockstat(SOCKSTAT_618);
        assert_eq!(s.bad_lines, vec![]);
        let names: Vec<&str> = s.protocols.iter().map(|p| p.protocol.as_str()).collect();
        assert_eq!(names, ["sockets", "TCP", "UDP", "UDPLITE", "RAW", "FRAG"]);
        // The capture's two TCP connections had just closed.
        assert_eq!(s.get("TCP", "tw"), Some(2));
        assert_eq!(s.get("TCP", "mem"), Some(107));
        assert_eq!(s.get("sockets", "used"), Some(0));
        assert_eq!(s.get("FRAG", "memory"), Some(0));
        assert_eq!(s.get("TCP", "nope"), None);
        assert_eq!(s.get("SCTP", "inuse"), None);
    }

    #[test]
    fn real_sockstat6_618() {
        let s = parse_sockstat(SOCKSTAT6_618);
        assert_eq!(s.bad_lines, vec![]);
        assert_eq!(s.protocols.len(), 5);
        assert_eq!(s.get("TCP6", "inuse"), Some(0));
        assert_eq!(s.get("FRAG6", "memory"), Some(0));
    }

    #[test]
    fn odd_lines() {
        let s =
            parse_sockstat("TCP: inuse 1 orphan\nUDP:\nRAW: inuse -1\nFRAG: inuse 2 memory 4096\n");
        let lines: Vec<usize> = s.bad_lines.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 3]);
        assert_eq!(s.protocols[0].values, vec![]);
        assert_eq!(s.get("FRAG", "memory"), Some(4096));
        let g = parse_sockstat(GARBAGE);
        assert!(g.protocols.is_empty(), "{:?}", g.protocols);
    }

    proptest! {
        #[test]
        fn files_of_kernel_lines_and_garbage_parse_line_by_line(
            body in lines(
                (
                    "[A-Za-z0-9]{1,10}",
                    proptest::collection::vec(("[a-z]{1,8}", any::<u64>()), 0..6),
                )
                    .prop_map(|(protocol, values)| {
                        let pairs: String = values.iter().map(|(k, v)| format!(" {k} {v}")).collect();
                        let l = format!("{protocol}:{pairs}");
                        (SockstatLine { protocol, values }, l)
                    }),
                30,
            ),
            crlf in any::<bool>(),
            last_end in any::<bool>(),
        ) {
            let s = parse_sockstat(&join(&[], &body, crlf, last_end));
            let parsed = Parsed { rows: s.protocols, bad_lines: s.bad_lines };
            check_table(&parsed, 0, &body, |l| parse_line(sockstat_line, l))?;
        }

        #[test]
        fn lines_parse_back(
            protocol in "[A-Za-z0-9]{1,10}",
            values in proptest::collection::vec(("[a-z]{1,8}", any::<u64>()), 0..6),
        ) {
            let pairs: String = values.iter().map(|(k, v)| format!(" {k} {v}")).collect();
            let s = parse_sockstat(&format!("{protocol}:{pairs}\n"));
            prop_assert_eq!(s.protocols, vec![SockstatLine { protocol, values }]);
        }
    }
}
