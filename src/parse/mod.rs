//! Pure parsers for the text files under `/proc/<pid>/net` and the few
//! per-process files netmonitor needs: each takes the whole text of one file
//! as `&str` and returns typed records. This module holds what every format
//! shares — the error that names what was expected, numbers, and the line
//! loop that reports a malformed line in [`Parsed::bad_lines`] and keeps the
//! rest of the table. Conventions: docs/parsers.md.

pub mod arp;
pub mod counters;
pub mod dev;
pub mod inet_diag;
pub mod other_sockets;
pub mod process;
pub mod route;
pub mod sockets;
pub mod softnet;
#[cfg(test)]
mod table_text;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while_m_n, take_while1};
use nom::character::complete::{char, digit1, space0, space1};
use nom::combinator::{opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

/// Byte order of the host that produced a file.
///
/// Socket tables print each IPv4 address (and each 32-bit word of an IPv6
/// address) as the host's native `u32` of the network-order bytes, so
/// decoding depends on the producer. It is a parameter, never a hidden
/// `cfg`, so fixtures captured anywhere parse the same everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    /// The byte order of the machine netmonitor runs on.
    pub fn native() -> Self {
        if cfg!(target_endian = "big") {
            Endian::Big
        } else {
            Endian::Little
        }
    }

    /// The four bytes of `word` in the order the producing host kept them in
    /// memory.
    pub fn bytes(self, word: u32) -> [u8; 4] {
        match self {
            Endian::Little => word.to_le_bytes(),
            Endian::Big => word.to_be_bytes(),
        }
    }
}

/// The error of one field of one line: what was expected, and the text where
/// it was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError<'a> {
    pub input: &'a str,
    pub expected: &'static str,
}

impl<'a> ParseError<&'a str> for FieldError<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        FieldError {
            input,
            expected: "a valid field",
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result type of every line-level parser in this crate.
pub type PResult<'a, T> = IResult<&'a str, T, FieldError<'a>>;

/// Wraps a parser so that its failure says which field was expected.
pub fn expect<'a, O, P>(
    expected: &'static str,
    mut parser: P,
) -> impl Parser<&'a str, Output = O, Error = FieldError<'a>>
where
    P: Parser<&'a str, Output = O, Error = FieldError<'a>>,
{
    move |input: &'a str| {
        parser
            .parse(input)
            .map_err(|e| e.map(|_| FieldError { input, expected }))
    }
}

/// A line that could not be parsed: its 1-based number in the file and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// The records of a line-oriented file plus the lines that were skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    pub rows: Vec<T>,
    pub bad_lines: Vec<LineError>,
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Parsed {
            rows: Vec::new(),
            bad_lines: Vec::new(),
        }
    }
}

/// Blanks between columns: one or more spaces or TABs.
pub fn blanks(input: &str) -> PResult<'_, &str> {
    space1(input)
}

/// Optional leading blanks (right-aligned first columns).
pub fn opt_blanks(input: &str) -> PResult<'_, &str> {
    space0(input)
}

fn is_hex(c: char) -> bool {
    c.is_ascii_hexdigit()
}

/// 1 to 8 hex digits as a `u32` (either case).
pub fn hex_u32(input: &str) -> PResult<'_, u32> {
    let (rest, digits) = take_while_m_n(1, 8, is_hex).parse(input)?;
    if rest.starts_with(is_hex) {
        return Err(nom::Err::Error(FieldError {
            input,
            expected: "at most 8 hex digits",
        }));
    }
    // Cannot fail: 1..=8 hex digits always fit.
    let value = u32::from_str_radix(digits, 16).map_err(|_| {
        nom::Err::Error(FieldError {
            input,
            expected: "a 32-bit hex number",
        })
    })?;
    Ok((rest, value))
}

/// 1 to 16 hex digits as a `u64` (either case).
pub fn hex_u64(input: &str) -> PResult<'_, u64> {
    let (rest, digits) = take_while_m_n(1, 16, is_hex).parse(input)?;
    if rest.starts_with(is_hex) {
        return Err(nom::Err::Error(FieldError {
            input,
            expected: "at most 16 hex digits",
        }));
    }
    let value = u64::from_str_radix(digits, 16).map_err(|_| {
        nom::Err::Error(FieldError {
            input,
            expected: "a 64-bit hex number",
        })
    })?;
    Ok((rest, value))
}

/// An unsigned decimal that fits in a `u64`.
pub fn dec_u64(input: &str) -> PResult<'_, u64> {
    let (rest, digits) = digit1(input)?;
    let value = digits.parse::<u64>().map_err(|_| {
        nom::Err::Error(FieldError {
            input,
            expected: "a decimal number below 2^64",
        })
    })?;
    Ok((rest, value))
}

/// A signed decimal that fits in an `i64`.
pub fn dec_i64(input: &str) -> PResult<'_, i64> {
    let (rest, text) = recognize((opt(alt((char('-'), char('+')))), digit1)).parse(input)?;
    let value = text.parse::<i64>().map_err(|_| {
        nom::Err::Error(FieldError {
            input,
            expected: "a signed decimal number",
        })
    })?;
    Ok((rest, value))
}

/// A decimal printed from a 32-bit kernel value with `%d` or `%u` (the
/// choice changed between versions for several columns): accepts
/// -2^31 ..= 2^32-1 and wraps negatives to the `u32` the kernel stored
/// (`-1` is `u32::MAX`).
pub fn dec_u32_wrapping(input: &str) -> PResult<'_, u32> {
    let (rest, value) = dec_i64(input)?;
    match wrap_u32(value) {
        Some(value) => Ok((rest, value)),
        None => Err(nom::Err::Error(FieldError {
            input,
            expected: "a 32-bit decimal (-2147483648 to 4294967295)",
        })),
    }
}

/// A 32-bit column read as a signed number: negative values (printed with
/// `%d` by older kernels) become the `u32` the kernel stored; values outside
/// -2^31..2^32 are `None`.
pub fn wrap_u32(value: i64) -> Option<u32> {
    if value < 0 {
        i32::try_from(value).ok().map(|v| v as u32)
    } else {
        u32::try_from(value).ok()
    }
}

/// One blank-separated token: a run of anything but space and TAB.
pub fn token(input: &str) -> PResult<'_, &str> {
    take_while1(|c: char| c != ' ' && c != '\t').parse(input)
}

/// A label ended by a colon (`eth0:`, `Tcp:`, `TCP:`): one or more bytes
/// that are neither blank nor `:`, then the `:`. Returns the label without
/// the colon; what follows the colon (a blank or not) is left to the caller.
pub fn colon_label(input: &str) -> PResult<'_, &str> {
    let (rest, label) = take_while1(|c: char| c != ':' && c != ' ' && c != '\t').parse(input)?;
    let (rest, _) = char(':').parse(rest)?;
    Ok((rest, label))
}

/// Runs `parser` over one whole line (end already trimmed): it must consume
/// everything. Returns the record, or a one-line reason naming the field.
pub fn parse_line<'a, O, P>(mut parser: P, line: &'a str) -> Result<O, String>
where
    P: Parser<&'a str, Output = O, Error = FieldError<'a>>,
{
    match parser.parse(line) {
        Ok(("", value)) => Ok(value),
        Ok((rest, _)) => Err(format!("unexpected text {}", quote_excerpt(rest))),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            if e.input.is_empty() {
                Err(format!("line ends where {} was expected", e.expected))
            } else {
                Err(format!(
                    "expected {} at {}",
                    e.expected,
                    quote_excerpt(e.input)
                ))
            }
        }
        Err(nom::Err::Incomplete(_)) => Err("line is incomplete".to_string()),
    }
}

/// The first few characters of `text`, quoted, for error messages. The caller
/// escapes control bytes when printing.
fn quote_excerpt(text: &str) -> String {
    const MAX: usize = 24;
    let mut excerpt: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        excerpt.push('…');
    }
    format!("'{excerpt}'")
}

/// Parses every non-blank line after the first `header_lines` lines with
/// `parse_one`, collecting records and skipping (but reporting) bad lines.
/// Line ends are trimmed first; blank lines are ignored.
pub fn parse_lines<T>(
    text: &str,
    header_lines: usize,
    mut parse_one: impl FnMut(&str) -> Result<T, String>,
) -> Parsed<T> {
    let mut parsed = Parsed::default();
    for (index, raw) in text.lines().enumerate() {
        if index < header_lines {
            continue;
        }
        let line = raw.trim_end();
        if line.trim_start().is_empty() {
            continue;
        }
        match parse_one(line) {
            Ok(row) => parsed.rows.push(row),
            Err(reason) => parsed.bad_lines.push(LineError {
                line: index + 1,
                reason,
            }),
        }
    }
    parsed
}

/// Matches an exact keyword (used for header checks and `0x` prefixes).
pub fn keyword<'a>(
    word: &'static str,
) -> impl Parser<&'a str, Output = &'a str, Error = FieldError<'a>> {
    expect(word, tag(word))
}

/// UTF-8 text of `bytes`, with each invalid byte written as `\xNN`: files
/// are read as bytes (interface names may hold any byte), parsers work on
/// `&str`, and nothing is lost silently.
pub fn decode_bytes(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let bytes = e.into_bytes();
            let mut text = String::with_capacity(bytes.len() + 16);
            for chunk in bytes.utf8_chunks() {
                text.push_str(chunk.valid());
                for byte in chunk.invalid() {
                    text.push_str(&format!("\\x{byte:02x}"));
                }
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn invalid_utf8_is_kept_visibly() {
        assert_eq!(super::decode_bytes(b"eth\xff0".to_vec()), "eth\\xff0");
        assert_eq!(super::decode_bytes("é".as_bytes().to_vec()), "é");
    }

    use super::*;

    #[test]
    fn hex_numbers_accept_both_cases_and_reject_overlong() {
        assert_eq!(hex_u32("0100007F rest"), Ok((" rest", 0x0100_007F)));
        assert_eq!(hex_u32("ff"), Ok(("", 0xff)));
        assert!(hex_u32("123456789").is_err());
        assert_eq!(hex_u64("FFFFFFFFFFFFF000"), Ok(("", 0xFFFF_FFFF_FFFF_F000)));
        assert!(hex_u64("1FFFFFFFFFFFFFFFF").is_err());
        assert!(hex_u32("xyz").is_err());
    }

    #[test]
    fn decimals_reject_overflow() {
        assert_eq!(dec_u64("18446744073709551615"), Ok(("", u64::MAX)));
        assert!(dec_u64("18446744073709551616").is_err());
        assert_eq!(dec_i64("-1 x"), Ok((" x", -1)));
    }

    #[test]
    fn parse_line_names_the_expected_field() {
        let err = parse_line(expect("an inode", dec_u64), "abc").unwrap_err();
        assert_eq!(err, "expected an inode at 'abc'");
        let err = parse_line(expect("an inode", dec_u64), "12 junk").unwrap_err();
        assert_eq!(err, "unexpected text ' junk'");
        let err = parse_line(expect("an inode", dec_u64), "").unwrap_err();
        assert_eq!(err, "line ends where an inode was expected");
    }

    #[test]
    fn parse_lines_keeps_good_rows_and_reports_bad_ones() {
        let text = "header\n1   \n\nx\n3\n";
        let parsed = parse_lines(text, 1, |l| parse_line(dec_u64, l));
        assert_eq!(parsed.rows, vec![1, 3]);
        assert_eq!(parsed.bad_lines.len(), 1);
        assert_eq!(parsed.bad_lines[0].line, 4);
    }

    #[test]
    fn colon_label_stops_at_the_first_colon() {
        assert_eq!(colon_label("eth0:123"), Ok(("123", "eth0")));
        assert_eq!(colon_label("Tcp: 1"), Ok((" 1", "Tcp")));
        assert_eq!(colon_label("düm0: 1"), Ok((" 1", "düm0")));
        assert!(colon_label(": 1").is_err());
        assert!(colon_label("eth0 :1").is_err());
    }

    #[test]
    fn endian_orders_bytes_as_the_producer_did() {
        assert_eq!(Endian::Little.bytes(0x0100_007F), [127, 0, 0, 1]);
        assert_eq!(Endian::Big.bytes(0x7F00_0001), [127, 0, 0, 1]);
    }

    #[test]
    fn dec_u32_wrapping_accepts_both_printf_forms() {
        assert_eq!(dec_u32_wrapping("4294967295"), Ok(("", u32::MAX)));
        assert_eq!(dec_u32_wrapping("-1 x"), Ok((" x", u32::MAX)));
        assert_eq!(dec_u32_wrapping("-2147483648"), Ok(("", 0x8000_0000)));
        assert!(dec_u32_wrapping("4294967296").is_err());
        assert!(dec_u32_wrapping("-2147483649").is_err());
        assert!(dec_u32_wrapping("99999999999999999999").is_err());
    }
}
