//! `net/softnet_stat`: per-CPU counters of the receive path (backlog drops,
//! time squeezes), which explain packet loss that no socket shows.
//!
//! What is tricky:
//! * no header, no names: one row of `%08x` columns per **online** CPU, and
//!   the column count grew with the kernel (9 before 2.6.36, 10, 11 since
//!   3.11, 13 since 5.10, 15 since 6.4); more may come, so extra columns are
//!   accepted and ignored;
//! * only rows with 13 or more columns say which CPU they belong to; before
//!   that the row number is the CPU id only while no CPU is offline;
//! * the file is the same in every network namespace;
//! * every value is 32 bits and wraps; changes go through
//!   [`crate::parse::counters::wrapping_delta_u32`], which counts across the
//!   wrap (these counters are never reset while the machine runs).

use nom::Parser;
use nom::multi::many0;
use nom::sequence::preceded;

use super::{PResult, Parsed, blanks, expect, hex_u32, opt_blanks, parse_line, parse_lines};

/// One row (one online CPU) of `softnet_stat`. Optional fields are `Some`
/// when the kernel printed their column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SoftnetRow {
    /// 0-based position of the row among the data lines of the file.
    pub row: usize,
    /// Packets handled by the receive path on this CPU.
    pub processed: u32,
    /// Packets dropped because the backlog was full.
    pub dropped: u32,
    /// Times `net_rx_action` stopped with work left.
    pub time_squeeze: u32,
    /// TX lock collisions; always 0 since 4.x.
    pub cpu_collision: u32,
    /// Column 10 (2.6.36+): RPS/RFS kicks received.
    pub received_rps: Option<u32>,
    /// Column 11 (3.11+): packets dropped by the flow limit.
    pub flow_limit_count: Option<u32>,
    /// Column 12 (5.10+): backlog length, a gauge.
    pub backlog_len: Option<u32>,
    /// Column 13 (5.10+): the CPU this row belongs to.
    pub cpu: Option<u32>,
    /// Column 14 (6.4+): input queue length, a gauge.
    pub input_qlen: Option<u32>,
    /// Column 15 (6.4+): process queue length, a gauge.
    pub process_qlen: Option<u32>,
}

impl SoftnetRow {
    /// The CPU id: column 13 when printed, else the row number — which is
    /// right only while no CPU is offline (rows list online CPUs only).
    pub fn cpu_id(&self) -> u32 {
        self.cpu
            .unwrap_or_else(|| u32::try_from(self.row).unwrap_or(u32::MAX))
    }
}

/// Parses the whole of `softnet_stat`. Rows with fewer than 9 columns (or
/// a column that is not hex) are reported and skipped; columns after the
/// 15th must be hex but are ignored; a skipped row still counts for
/// the row numbers of the rows after it.
pub fn parse_softnet(text: &str) -> Parsed<SoftnetRow> {
    let mut row = 0;
    parse_lines(text, 0, |line| {
        let parsed = parse_softnet_line(line, row);
        row = row.saturating_add(1);
        parsed
    })
}

/// Parses one row; `row` is its 0-based position among the data lines.
pub fn parse_softnet_line(line: &str, row: usize) -> Result<SoftnetRow, String> {
    parse_line(|i| softnet_line(i, row), line)
}

/// Columns with a meaning netmonitor knows; later ones are ignored.
const KNOWN_COLUMNS: usize = 15;

fn softnet_line(input: &str, row: usize) -> PResult<'_, SoftnetRow> {
    let (i, _) = opt_blanks(input)?;
    let (i, first) = expect("a hex column", hex_u32).parse(i)?;
    let (i, more) = many0(preceded(blanks, expect("a hex column", hex_u32))).parse(i)?;
    let mut columns = vec![first];
    columns.extend(more.into_iter().take(KNOWN_COLUMNS - 1));
    if columns.len() < 9 {
        return Err(nom::Err::Error(super::FieldError {
            input: i,
            expected: "at least 9 hex columns",
        }));
    }
    // 1-based column `n`, if printed.
    let col = |n: usize| columns.get(n - 1).copied();
    Ok((
        i,
        SoftnetRow {
            row,
            processed: first,
            dropped: col(2).unwrap_or(0),
            time_squeeze: col(3).unwrap_or(0),
            cpu_collision: col(9).unwrap_or(0),
            received_rps: col(10),
            flow_limit_count: col(11),
            backlog_len: col(12),
            cpu: col(13),
            input_qlen: col(14),
            process_qlen: col(15),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::table_text::{Line, check_table, join, lines};
    use proptest::prelude::*;

    const S_618: &str = include_str!("../../testdata/files/softnet_stat-6.18-15col");
    const S_9: &str = include_str!("../../testdata/files/softnet_stat-2.6.32-9col");
    const S_10: &str = include_str!("../../testdata/files/softnet_stat-3.10-10col");
    const S_11: &str = include_str!("../../testdata/files/softnet_stat-4.19-11col");
    const S_13: &str = include_str!("../../testdata/files/softnet_stat-5.15-13col-cpu2-offline");
    const S_ODD: &str = include_str!("../../testdata/files/softnet_stat-mixed-case-extra-cols");
    const GARBAGE: &str = include_str!("../../testdata/files/garbage");

    #[test]
    fn real_618_has_15_columns() {
        let p = parse_softnet(S_618);
        assert_eq!(p.bad_lines, vec![]);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].processed, 0x10);
        assert_eq!(p.rows[1].processed, 0x983);
        assert_eq!(p.rows[1].cpu, Some(1));
        assert_eq!(p.rows[1].cpu_id(), 1);
        assert_eq!(p.rows[0].cpu_id(), 0);
        assert_eq!(p.rows[1].input_qlen, Some(0));
        assert_eq!(p.rows[1].process_qlen, Some(0));
    }

    #[test]
    fn nine_columns() {
        let p = parse_softnet(S_9);
        assert_eq!(p.bad_lines, vec![]);
        let r = p.rows[1];
        assert_eq!(
            (r.processed, r.dropped, r.time_squeeze, r.cpu_collision),
            (0x0001_e240, 0x12, 0x3a, 0x7)
        );
        assert_eq!(r.received_rps, None);
        assert_eq!(r.cpu, None);
        assert_eq!(r.cpu_id(), 1);
    }

    #[test]
    fn ten_and_eleven_columns() {
        let p = parse_softnet(S_10);
        assert_eq!(p.bad_lines, vec![]);
        assert_eq!(p.rows.len(), 4);
        assert_eq!(p.rows[3].received_rps, Some(0x2b));
        assert_eq!(p.rows[3].flow_limit_count, None);
        assert_eq!(p.rows[3].cpu_id(), 3);
        let p = parse_softnet(S_11);
        assert_eq!(p.bad_lines, vec![]);
        assert_eq!(p.rows[0].flow_limit_count, Some(0x5));
        assert_eq!(p.rows[0].dropped, 0xffff_ffff);
        assert_eq!(p.rows[0].backlog_len, None);
    }

    #[test]
    fn thirteen_columns_name_the_cpu_even_with_one_offline() {
        let p = parse_softnet(S_13);
        assert_eq!(p.bad_lines, vec![]);
        let cpus: Vec<u32> = p.rows.iter().map(SoftnetRow::cpu_id).collect();
        assert_eq!(cpus, [0, 1, 3]);
        assert_eq!(p.rows[2].row, 2);
        assert_eq!(p.rows[2].backlog_len, Some(0x4));
        assert_eq!(p.rows[2].input_qlen, None);
    }

    #[test]
    fn mixed_case_extra_columns_and_bad_rows() {
        let p = parse_softnet(S_ODD);
        let lines: Vec<usize> = p.bad_lines.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4], "{:?}", p.bad_lines);
        assert_eq!(p.rows.len(), 2);
        // Upper-case hex, 17 columns: the two extras are ignored.
        assert_eq!(p.rows[0].processed, 0xABCD_EF01);
        assert_eq!(p.rows[0].process_qlen, Some(0xF));
        // A bad row still counts for the positions after it.
        assert_eq!(p.rows[1].row, 2);
        assert_eq!(p.rows[1].cpu_id(), 2);
        assert!(p.bad_lines[0].reason.contains("at least 9 hex columns"));
    }

    #[test]
    fn garbage_and_short_rows() {
        let p = parse_softnet(GARBAGE);
        assert!(p.rows.is_empty());
        assert_eq!(p.bad_lines.len(), 15);
        assert!(parse_softnet_line("0 0 0 0 0 0 0 0", 0).is_err());
        assert!(parse_softnet_line("0 0 0 0 0 0 0 0 100000000", 0).is_err());
        assert!(parse_softnet_line("0 0 0 0 0 0 0 0 0", 0).is_ok());
        assert_eq!(
            parse_softnet_line("0 0 0 0 0 0 0 0 0", usize::MAX).map(|r| r.cpu_id()),
            Ok(u32::MAX)
        );
    }

    /// A row as `softnet_seq_show` prints it, with `n` columns (4–8 are 0).
    fn kernel_line(r: &SoftnetRow, n: usize) -> String {
        let cols = [
            Some(r.processed),
            Some(r.dropped),
            Some(r.time_squeeze),
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            Some(r.cpu_collision),
            r.received_rps,
            r.flow_limit_count,
            r.backlog_len,
            r.cpu,
            r.input_qlen,
            r.process_qlen,
        ];
        let words: Vec<String> = cols
            .iter()
            .take(n)
            .map(|c| format!("{:08x}", c.unwrap_or(0)))
            .collect();
        words.join(" ")
    }

    fn any_row() -> impl Strategy<Value = (SoftnetRow, usize)> {
        (
            prop_oneof![Just(9usize), Just(10), Just(11), Just(13), Just(15)],
            proptest::array::uniform11(any::<u32>()),
            0usize..4096,
        )
            .prop_map(|(n, c, row)| {
                let opt = |col: usize, v: u32| (n >= col).then_some(v);
                let row = SoftnetRow {
                    row,
                    processed: c[0],
                    dropped: c[1],
                    time_squeeze: c[2],
                    cpu_collision: c[3],
                    received_rps: opt(10, c[4]),
                    flow_limit_count: opt(11, c[5]),
                    backlog_len: opt(12, c[6]),
                    cpu: opt(13, c[7]),
                    input_qlen: opt(14, c[8]),
                    process_qlen: opt(15, c[9]),
                };
                (row, n)
            })
    }

    proptest! {
        #[test]
        fn files_of_kernel_rows_and_garbage_parse_line_by_line(
            body in lines(any_row().prop_map(|(r, n)| { let l = kernel_line(&r, n); (r, l) }), 40),
            crlf in any::<bool>(),
            last_end in any::<bool>(),
        ) {
            // A row's number is its place among the non-blank lines, bad ones
            // included.
            let mut row = 0;
            let body: Vec<Line<SoftnetRow>> = body
                .into_iter()
                .map(|line| {
                    let blank = line.text().trim().is_empty();
                    let line = match line {
                        Line::Kernel(r, l) => Line::Kernel(SoftnetRow { row, ..r }, l),
                        other => other,
                    };
                    row += usize::from(!blank);
                    line
                })
                .collect();
            let parsed = parse_softnet(&join(&[], &body, crlf, last_end));
            for r in &parsed.rows {
                let _ = r.cpu_id();
            }
            let mut row = 0;
            check_table(&parsed, 0, &body, |l| {
                row += 1;
                parse_softnet_line(l, row - 1)
            })?;
        }

        #[test]
        fn kernel_rows_parse_back((r, n) in any_row()) {
            let line = kernel_line(&r, n);
            prop_assert_eq!(parse_softnet_line(&line, r.row), Ok(r));
            prop_assert_eq!(parse_softnet_line(&line.to_uppercase(), r.row), Ok(r));
        }
    }
}
