//! Any bytes as `/proc/<pid>/stat`, a `fd/` link target or `cmdline`:
//! never a panic; a parsed `stat` keeps its name whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netmonitor::parse::decode_bytes;
use netmonitor::parse::process::{format_cmdline, parse_stat, socket_inode};

fuzz_target!(|data: &[u8]| {
    let text = decode_bytes(data.to_vec());
    if let Ok(stat) = parse_stat(&text) {
        assert!(text.contains(&format!("({})", stat.comm)));
    }
    if let Some(inode) = socket_inode(&text) {
        assert_eq!(text, format!("socket:[{inode}]"));
    }
    let _ = format_cmdline(&text);
});
