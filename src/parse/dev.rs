//! `net/dev`: per-interface receive and transmit counters of the namespace.
//!
//! Two header lines, then `name: 16 decimal counters` per device. What is
//! tricky:
//! * the name is right-aligned in 6 columns, so it may carry leading blanks,
//!   and names of 7–15 bytes start at column 0;
//! * older kernels printed `%6s:%8lu`, so a long byte counter touches the
//!   colon (`  eth0:123456789 …`): the name ends at the first `:` (device
//!   names cannot contain one), not at a blank;
//! * names may hold non-ASCII characters, so nothing assumes ASCII;
//! * counters are `u64` (32-bit and wrapping on old 32-bit kernels; deltas
//!   go through [`crate::parse::counters::counter_delta`]).

use nom::Parser;
use nom::multi::count;
use nom::sequence::preceded;

use super::{
    PResult, Parsed, blanks, colon_label, dec_u64, expect, opt_blanks, parse_line, parse_lines,
};

/// The counters of one device, named after the header of `net/dev`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevCounters {
    /// Device name (1–15 bytes, no blank, no `:`).
    pub name: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errs: u64,
    /// Dropped plus missed packets.
    pub rx_drop: u64,
    pub rx_fifo: u64,
    /// Length, overrun, CRC and frame errors together.
    pub rx_frame: u64,
    pub rx_compressed: u64,
    pub rx_multicast: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errs: u64,
    pub tx_drop: u64,
    pub tx_fifo: u64,
    pub tx_colls: u64,
    /// Carrier, aborted, window and heartbeat errors together.
    pub tx_carrier: u64,
    pub tx_compressed: u64,
}

/// Parses the whole of `net/dev`: the first two lines are the header; bad
/// lines are reported and skipped.
pub fn parse_dev(text: &str) -> Parsed<DevCounters> {
    parse_lines(text, 2, parse_dev_line)
}

/// Parses one device line of `net/dev`.
pub fn parse_dev_line(line: &str) -> Result<DevCounters, String> {
    parse_line(dev_line, line)
}

fn dev_line(input: &str) -> PResult<'_, DevCounters> {
    let (i, _) = opt_blanks(input)?;
    let (i, name) = expect("a device name and ':'", colon_label).parse(i)?;
    let (i, _) = opt_blanks(i)?;
    let (i, first) = expect("16 decimal counters", dec_u64).parse(i)?;
    let (i, rest) = count(expect("16 decimal counters", preceded(blanks, dec_u64)), 15).parse(i)?;
    let [
        rx_packets,
        rx_errs,
        rx_drop,
        rx_fifo,
        rx_frame,
        rx_compressed,
        rx_multicast,
        tx_bytes,
        tx_packets,
        tx_errs,
        tx_drop,
        tx_fifo,
        tx_colls,
        tx_carrier,
        tx_compressed,
    ] = <[u64; 15]>::try_from(rest).map_err(|_| {
        nom::Err::Error(super::FieldError {
            input,
            expected: "16 decimal counters",
        })
    })?;
    Ok((
        i,
        DevCounters {
            name: name.to_string(),
            rx_bytes: first,
            rx_packets,
            rx_errs,
            rx_drop,
            rx_fifo,
            rx_frame,
            rx_compressed,
            rx_multicast,
            tx_bytes,
            tx_packets,
            tx_errs,
            tx_drop,
            tx_fifo,
            tx_colls,
            tx_carrier,
            tx_compressed,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::table_text::{check_table, garbage, join, lines};
    use proptest::prelude::*;

    const DEV_618: &str = include_str!("../../testdata/files/dev-6.18");
    const DEV_OLD: &str = include_str!("../../testdata/files/dev-2.6-no-blank-after-colon");
    const DEV_TRUNCATED: &str = include_str!("../../testdata/files/dev-6.18-truncated");
    const GARBAGE: &str = include_str!("../../testdata/files/garbage");

    impl DevCounters {
        fn columns(&self) -> [u64; 16] {
            [
                self.rx_bytes,
                self.rx_packets,
                self.rx_errs,
                self.rx_drop,
                self.rx_fifo,
                self.rx_frame,
                self.rx_compressed,
                self.rx_multicast,
                self.tx_bytes,
                self.tx_packets,
                self.tx_errs,
                self.tx_drop,
                self.tx_fifo,
                self.tx_colls,
                self.tx_carrier,
                self.tx_compressed,
            ]
        }
    }

    /// The line as `dev_seq_show` prints it on current kernels.
    fn kernel_line(d: &DevCounters) -> String {
        let c = d.columns();
        format!(
            "{:>6}: {:>7} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}",
            d.name,
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            c[6],
            c[7],
            c[8],
            c[9],
            c[10],
            c[11],
            c[12],
            c[13],
            c[14],
            c[15]
        )
    }

    /// The line as kernels before 2.6.x printed it: no blank after the colon.
    fn old_kernel_line(d: &DevCounters) -> String {
        let c = d.columns();
        let tail: String = c[1..].iter().map(|v| format!(" {v:>7}")).collect();
        format!("{:>6}:{:>8}{tail}", d.name, c[0])
    }

    #[test]
    fn real_dev_618() {
        let p = parse_dev(DEV_618);
        assert_eq!(p.bad_lines, vec![]);
        let names: Vec<&str> = p.rows.iter().map(|d| d.name.as_str()).collect();
        // A 15-byte name and a non-ASCII one (5 bytes, so one leading blank).
        assert_eq!(names, ["lo", "nm-cnt-veth-15b", "düm0"]);
        assert_eq!(p.rows[0].rx_bytes, 104258);
        assert_eq!(p.rows[0].tx_packets, 66);
        let veth = &p.rows[1];
        assert_eq!((veth.rx_bytes, veth.rx_packets), (608, 9));
        assert_eq!((veth.tx_bytes, veth.tx_packets), (718, 10));
        assert_eq!(p.rows[2].rx_drop, 1);
        assert_eq!(p.rows[2].rx_bytes, 70);
    }

    #[test]
    fn old_format_without_blank_after_colon() {
        let p = parse_dev(DEV_OLD);
        let lines: Vec<usize> = p.bad_lines.iter().map(|e| e.line).collect();
        assert_eq!(lines, [6, 7, 8], "{:?}", p.bad_lines);
        let eth0 = &p.rows[1];
        assert_eq!(eth0.name, "eth0");
        assert_eq!(eth0.rx_bytes, 123456789);
        assert_eq!(eth0.rx_packets, 987654);
        assert_eq!(eth0.rx_multicast, 8);
        assert_eq!(eth0.tx_bytes, 4294967295);
        assert_eq!(eth0.tx_colls, 13);
        assert_eq!(eth0.tx_compressed, 16);
        let long = &p.rows[2];
        assert_eq!(long.name, "averylongifnam1");
        assert_eq!(long.rx_bytes, 1234567890);
        assert_eq!(p.rows.len(), 3);
    }

    #[test]
    fn truncated_dev_keeps_whole_lines() {
        let p = parse_dev(DEV_TRUNCATED);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.bad_lines.len(), 1);
        assert_eq!(p.bad_lines[0].line, 5);
        assert!(p.bad_lines[0].reason.contains("16 decimal counters"));
    }

    #[test]
    fn column_counts_are_checked() {
        let good = "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16";
        assert_eq!(parse_dev_line(good).unwrap().tx_compressed, 16);
        for bad in [
            "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",
            "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
            "  eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
            "  : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
            "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -16",
            "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 18446744073709551616",
        ] {
            assert!(parse_dev_line(bad).is_err(), "{bad}");
        }
        assert!(parse_dev(GARBAGE).rows.is_empty());
        assert_eq!(parse_dev(GARBAGE).bad_lines.len(), 13);
    }

    fn any_dev() -> impl Strategy<Value = DevCounters> {
        (
            "[^\\s:]{1,15}",
            proptest::array::uniform16(prop_oneof![any::<u64>(), 0u64..100_000]),
        )
            .prop_map(|(name, c)| DevCounters {
                name,
                rx_bytes: c[0],
                rx_packets: c[1],
                rx_errs: c[2],
                rx_drop: c[3],
                rx_fifo: c[4],
                rx_frame: c[5],
                rx_compressed: c[6],
                rx_multicast: c[7],
                tx_bytes: c[8],
                tx_packets: c[9],
                tx_errs: c[10],
                tx_drop: c[11],
                tx_fifo: c[12],
                tx_colls: c[13],
                tx_carrier: c[14],
                tx_compressed: c[15],
            })
    }

    proptest! {
        #[test]
        fn tables_of_kernel_lines_and_garbage_parse_line_by_line(
            header in proptest::collection::vec(garbage(), 2),
            body in lines(
                (any_dev(), any::<bool>()).prop_map(|(d, old)| {
                    let l = if old { old_kernel_line(&d) } else { kernel_line(&d) };
                    (d, l)
                }),
                40,
            ),
            crlf in any::<bool>(),
            last_end in any::<bool>(),
        ) {
            let text = join(&header, &body, crlf, last_end);
            check_table(&parse_dev(&text), 2, &body, parse_dev_line)?;
        }

        #[test]
        fn kernel_lines_parse_back(d in any_dev()) {
            prop_assert_eq!(parse_dev_line(&kernel_line(&d)), Ok(d.clone()));
            prop_assert_eq!(parse_dev_line(&old_kernel_line(&d)), Ok(d));
        }
    }
}
