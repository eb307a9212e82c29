//! The inode column of `net/unix`, `net/netlink` and `net/packet`: enough
//! to say what kind of socket a process holds besides the ones the socket
//! tabs show. The column is found by its header name; a unix path holding a
//! newline continues on the next line, which is skipped (docs/parsers.md).

use nom::Parser;
use nom::bytes::complete::take_while_m_n;
use nom::character::complete::char;
use nom::multi::count;
use nom::sequence::{preceded, terminated};

use super::{
    FieldError, LineError, PResult, Parsed, blanks, dec_u64, expect, opt_blanks, parse_line, token,
};

/// The inodes listed in `net/unix` (0 for sockets without a file is kept:
/// callers only look up real inodes).
pub fn parse_unix_inodes(text: &str) -> Parsed<u64> {
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Parsed::default();
    };
    let Some(column) = inode_column(header) else {
        return header_problem(header);
    };
    let mut parsed = Parsed::default();
    for (index, raw) in lines {
        let line = raw.trim_end();
        if line.is_empty() || unix_record_start(line).is_err() {
            // A continuation of a path that held a newline.
            continue;
        }
        push(
            &mut parsed,
            index,
            parse_line(|i| nth_token(i, column), line),
        );
    }
    parsed
}

/// The inodes listed in `net/netlink` or `net/packet`.
pub fn parse_inode_column(text: &str) -> Parsed<u64> {
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Parsed::default();
    };
    let Some(column) = inode_column(header) else {
        return header_problem(header);
    };
    let mut parsed = Parsed::default();
    for (index, raw) in lines {
        let line = raw.trim_end();
        if line.trim_start().is_empty() {
            continue;
        }
        push(
            &mut parsed,
            index,
            parse_line(|i| nth_token(i, column), line),
        );
    }
    parsed
}

fn push(parsed: &mut Parsed<u64>, index: usize, result: Result<u64, String>) {
    match result {
        Ok(inode) => parsed.rows.push(inode),
        Err(reason) => parsed.bad_lines.push(LineError {
            line: index + 1,
            reason,
        }),
    }
}

fn header_problem(header: &str) -> Parsed<u64> {
    let excerpt: String = header.chars().take(24).collect();
    Parsed {
        rows: Vec::new(),
        bad_lines: vec![LineError {
            line: 1,
            reason: format!("no 'Inode' column in the header '{excerpt}'"),
        }],
    }
}

/// The 0-based position of `Inode` among the header's blank-separated
/// words.
fn inode_column(header: &str) -> Option<usize> {
    header.split_whitespace().position(|word| word == "Inode")
}

/// Token number `column` of a line, as an inode; the rest of the line is
/// ignored (trailing columns, a unix path).
fn nth_token(input: &str, column: usize) -> PResult<'_, u64> {
    let (i, _) = opt_blanks(input)?;
    let (i, _) = count(terminated(token, blanks), column).parse(i)?;
    let (i, inode) = expect("an inode number", dec_u64).parse(i)?;
    // The inode must be a whole token.
    match i.chars().next() {
        None | Some(' ' | '\t') => Ok(("", inode)),
        Some(_) => Err(nom::Err::Error(FieldError {
            input: i,
            expected: "a blank after the inode",
        })),
    }
}

/// `<pointer>: <refcount> ` — how every `unix` record starts.
fn unix_record_start(input: &str) -> PResult<'_, ()> {
    let (i, _) = take_while_m_n(1, 16, |c: char| c.is_ascii_hexdigit()).parse(input)?;
    let (i, _) = char(':').parse(i)?;
    let (i, _) = preceded(
        blanks,
        take_while_m_n(8, 8, |c: char| c.is_ascii_hexdigit()),
    )
    .parse(i)?;
    let (i, _) = blanks(i)?;
    Ok((i, ()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Real 6.18 output (format reference §5), one path holding a newline.
    const UNIX: &str = "Num       RefCount Protocol Flags    Type St Inode Path\n\
00000000a95aecfc: 00000002 00000000 00010000 0001 01 1051562 /run/demo.sock\n\
0000000019bd14ad: 00000002 00000000 00010000 0001 01 1051563 /run/with space.sock\n\
00000000da882c2e: 00000002 00000000 00010000 0001 01 1051564 /run/nl\n\
x.sock\n\
000000003e344cb6: 00000002 00000000 00000000 0005 01 1051570 rel.sock\n\
000000006ca23305: 00000003 00000000 00000000 0001 03  1078\n\
00000000862d647e: 00000003 00000000 00000000 0001 02     0 /run/demo.sock\n\
00000000bb070cef: 00000002 00000000 00000000 0002 01 1051569 @4749c\n";

    const NETLINK: &str = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n\
000000008fd1e68f 0   0          00000000 0        0        0     2        0        4       \n\
00000000e2b5f1a0 0   1234       00000551 0        0        0     2        0        52311   \n";

    const PACKET: &str = "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n\
000000001df6ee86 3      3    0003   0     1 0      0      8525  \n\
000000002b5d68df 3      2    0800   1     1 0      0      8526   7\n";

    #[test]
    fn unix_inodes_skip_path_continuations() {
        let parsed = parse_unix_inodes(UNIX);
        assert_eq!(
            parsed.rows,
            vec![1051562, 1051563, 1051564, 1051570, 1078, 0, 1051569]
        );
        assert!(parsed.bad_lines.is_empty());
    }

    #[test]
    fn unix_path_that_looks_like_numbers_is_not_an_inode() {
        let text = "Num       RefCount Protocol Flags    Type St Inode Path\n\
0000000000000000: 00000002 00000000 00010000 0001 01 77 /tmp/ 99 88\n";
        assert_eq!(parse_unix_inodes(text).rows, vec![77]);
    }

    #[test]
    fn netlink_and_packet_inodes_by_header_position() {
        let netlink = parse_inode_column(NETLINK);
        assert_eq!(netlink.rows, vec![4, 52311]);
        assert!(netlink.bad_lines.is_empty());
        // The second packet line has an extra trailing column (Drops).
        let packet = parse_inode_column(PACKET);
        assert_eq!(packet.rows, vec![8525, 8526]);
        assert!(packet.bad_lines.is_empty());
    }

    #[test]
    fn short_and_odd_lines_are_reported() {
        let text = "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode\n\
000000008fd1e68f 0 0 00000000 0 0 0 2 0\n\
000000008fd1e68f 0 0 00000000 0 0 0 2 0 12x\n\
000000008fd1e68f 0 0 00000000 0 0 0 2 0 12\n";
        let parsed = parse_inode_column(text);
        assert_eq!(parsed.rows, vec![12]);
        assert_eq!(
            parsed.bad_lines.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![2, 3]
        );
    }

    #[test]
    fn a_header_without_inode_is_one_problem() {
        let parsed = parse_inode_column("sk Eth Pid\n1 2 3\n");
        assert!(parsed.rows.is_empty());
        assert_eq!(parsed.bad_lines.len(), 1);
        assert!(parse_unix_inodes("").rows.is_empty());
        assert!(parse_inode_column("").bad_lines.is_empty());
    }

    proptest! {
        #[test]
        fn any_text_parses_or_reports(text in "(?s).{0,300}") {
            let _ = parse_unix_inodes(&text);
            let _ = parse_inode_column(&text);
        }

        #[test]
        fn printed_inodes_read_back(inodes in proptest::collection::vec(any::<u64>(), 0..20)) {
            let mut text = String::from("sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n");
            for inode in &inodes {
                text.push_str(&format!("000000001df6ee86 3      3    0003   0     1 0      0      {inode:<6}\n"));
            }
            let parsed = parse_inode_column(&text);
            prop_assert_eq!(parsed.rows, inodes);
        }
    }
}
