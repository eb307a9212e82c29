//! Per-process files: `/proc/<pid>/stat`, `cmdline` and the targets of the
//! `fd/` links. They say who the monitored process is, whether it is still
//! the same process (start time), and which sockets are its own.

use nom::Parser;
use nom::bytes::complete::tag;
use nom::character::complete::{anychar, char};

use super::{FieldError, PResult, blanks, dec_i64, dec_u64, expect, parse_line, token};

/// Kernel thread flag in `stat` field 9 (`PF_KTHREAD`).
const PF_KTHREAD: u64 = 0x0020_0000;

/// The fields of `/proc/<pid>/stat` netmonitor uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u64,
    /// `comm`: up to 15 bytes set by the process itself; may contain `)`,
    /// spaces and control bytes.
    pub comm: String,
    /// Single-letter state: R, S, D, Z (zombie), T, t, X, I …
    pub state: char,
    pub ppid: i64,
    pub flags: u64,
    /// Field 22: start time in clock ticks after boot. Together with the pid
    /// it identifies one process across pid reuse.
    pub start_time: u64,
}

impl ProcStat {
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }

    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Parses `stat`. `comm` runs from the first `(` to the **last** `)`,
/// because the name itself may contain parentheses.
pub fn parse_stat(text: &str) -> Result<ProcStat, String> {
    let text = text.trim_end_matches('\n');
    let open = text.find('(').ok_or("no '(' before the process name")?;
    let close = text.rfind(')').ok_or("no ')' after the process name")?;
    if close < open {
        return Err("')' before '('".into());
    }
    let pid = parse_line(dec_u64, text[..open].trim_end())?;
    let comm = text[open + 1..close].to_string();
    let (state, ppid, flags, start_time) = parse_line(stat_tail, &text[close + 1..])?;
    Ok(ProcStat {
        pid,
        comm,
        state,
        ppid,
        flags,
        start_time,
    })
}

fn stat_tail(input: &str) -> PResult<'_, (char, i64, u64, u64)> {
    let (i, _) = blanks(input)?;
    let (i, state) = expect("a state letter", anychar).parse(i)?;
    let (i, _) = blanks(i)?;
    let (i, ppid) = expect("the parent pid", dec_i64).parse(i)?;
    // Fields 5..=8: pgrp, session, tty_nr, tpgid.
    let (i, _) = skip_tokens(i, 4)?;
    let (i, _) = blanks(i)?;
    let (i, flags) = expect("the flags field", dec_u64).parse(i)?;
    // Fields 10..=21: minflt … itrealvalue.
    let (i, _) = skip_tokens(i, 12)?;
    let (i, _) = blanks(i)?;
    let (_rest, start_time) = expect("the start time (field 22)", dec_u64).parse(i)?;
    // Everything after field 22 is ignored.
    Ok(("", (state, ppid, flags, start_time)))
}

fn skip_tokens(mut input: &str, count: usize) -> PResult<'_, ()> {
    for _ in 0..count {
        let (i, _) = blanks(input)?;
        let (i, _) = expect("another stat field", token).parse(i)?;
        input = i;
    }
    Ok((input, ()))
}

/// The inode of a `socket:[INODE]` link target, or `None` for anything else
/// (files, pipes, `anon_inode:…`).
pub fn socket_inode(link_target: &str) -> Option<u64> {
    let parse = |i| -> PResult<'_, u64> {
        let (i, _) = tag("socket:[").parse(i)?;
        let (i, inode) = dec_u64(i)?;
        let (i, _) = char::<&str, FieldError<'_>>(']').parse(i)?;
        Ok((i, inode))
    };
    match parse(link_target) {
        Ok(("", inode)) => Some(inode),
        _ => None,
    }
}

/// `cmdline` is NUL-separated arguments (with a trailing NUL); shows them
/// joined with spaces. Empty for kernel threads and zombies.
pub fn format_cmdline(raw: &str) -> String {
    raw.trim_end_matches('\0')
        .split('\0')
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `hidepid=` option of the procfs mounted at `mount_point`, from
/// `/proc/self/mountinfo` text (`… mount-point … - proc proc rw,hidepid=2`).
/// `None` when that mount has no such option (or is not found).
pub fn proc_hidepid(mountinfo: &str, mount_point: &str) -> Option<String> {
    mountinfo.lines().rev().find_map(|line| {
        let (fields, tail) = line.split_once(" - ")?;
        let point = fields.split(' ').nth(4)?;
        let mut tail = tail.split(' ');
        let fstype = tail.next()?;
        let _source = tail.next()?;
        let options = tail.next()?;
        if point != mount_point || fstype != "proc" {
            return None;
        }
        options
            .split(',')
            .find_map(|o| o.strip_prefix("hidepid="))
            .map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 150 0 0 0 3 1 0 0 20 0 1 0 98765 1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn stat_with_parentheses_in_the_name() {
        let s = parse_stat(STAT).unwrap();
        assert_eq!(s.pid, 1234);
        assert_eq!(s.comm, "my (odd) name");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 1);
        assert_eq!(s.flags, 4194560);
        assert_eq!(s.start_time, 98765);
        assert!(!s.is_kernel_thread());
        assert!(!s.is_zombie());
    }

    #[test]
    fn kernel_thread_and_zombie() {
        let kthread = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 0 0 0 0 0 0 0";
        assert!(parse_stat(kthread).unwrap().is_kernel_thread());
        let zombie = "77 (sh) Z 1 77 77 0 -1 4227084 0 0 0 0 0 0 0 0 20 0 1 0 555 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        let z = parse_stat(zombie).unwrap();
        assert!(z.is_zombie());
        assert_eq!(z.start_time, 555);
    }

    #[test]
    fn truncated_or_garbage_stat_is_an_error() {
        for bad in [
            "",
            "1234",
            "1234 (x",
            "1234 (x) S 1 2 3",
            "x (y) S 1 1 1 0 -1 0",
        ] {
            assert!(parse_stat(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode("socket:[8493]"), Some(8493));
        assert_eq!(socket_inode("socket:[]"), None);
        assert_eq!(socket_inode("pipe:[8493]"), None);
        assert_eq!(socket_inode("/tmp/socket:[1]"), None);
        assert_eq!(socket_inode("socket:[12]x"), None);
    }

    #[test]
    fn hidepid_from_mountinfo() {
        let info = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n\
                    35 22 0:30 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw\n\
                    90 22 0:50 / /proc rw,relatime - proc proc rw,hidepid=invisible\n";
        // The last mount on /proc is the one in effect.
        assert_eq!(proc_hidepid(info, "/proc").as_deref(), Some("invisible"));
        let plain = "22 1 0:21 / /proc rw shared:12 - proc proc rw\n";
        assert_eq!(proc_hidepid(plain, "/proc"), None);
        assert_eq!(proc_hidepid("garbage", "/proc"), None);
    }

    #[test]
    fn cmdline_joins_arguments() {
        assert_eq!(format_cmdline("nc\0-l\x00127.0.0.1\0"), "nc -l 127.0.0.1");
        assert_eq!(format_cmdline(""), "");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_text_never_panics(text in "(?s).{0,400}", point in "\\PC{0,20}") {
                let _ = parse_stat(&text);
                let _ = socket_inode(&text);
                let _ = format_cmdline(&text);
                let _ = proc_hidepid(&text, &point);
            }

            #[test]
            fn stat_round_trips_any_comm(
                // A name may hold any character, newlines and ')' too.
                comm in "(?s).{0,15}",
                state in "[RSDZTtXI]",
                ppid in 0i64..4_194_304,
                flags in any::<u32>(),
                start in any::<u64>(),
            ) {
                let line = format!(
                    "42 ({comm}) {state} {ppid} 1 1 0 -1 {flags} 0 0 0 0 0 0 0 0 20 0 1 0 {start} 0 0 1 2 3\n"
                );
                let stat = parse_stat(&line).unwrap();
                prop_assert_eq!(stat.comm, comm);
                prop_assert_eq!(stat.state.to_string(), state);
                prop_assert_eq!(stat.ppid, ppid);
                prop_assert_eq!(stat.flags, u64::from(flags));
                prop_assert_eq!(stat.start_time, start);
            }
        }
    }
}
