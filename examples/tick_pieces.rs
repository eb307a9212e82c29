//! Times the pieces of one live tick separately, for `bench/flows_tick.sh`:
//! the sock_diag dump of the process's namespace, the listing of its `fd/`
//! links, the reading of `net/tcp` + `net/tcp6` (what the tcp tab reads),
//! and the two ways of reading only the process's connections (a dump that
//! keeps them, or one lookup each). Usage: `tick_pieces PID [ROUNDS]`;
//! prints two lines per round.

use std::process::ExitCode;
use std::time::Instant;

use netmonitor::diag::{Netlink, SockDiag, SocketName};
use netmonitor::source::ProcSource;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(pid) = args.next().and_then(|p| p.parse::<u32>().ok()) else {
        eprintln!("usage: tick_pieces PID [ROUNDS]");
        return ExitCode::from(2);
    };
    let rounds = args.next().and_then(|r| r.parse().ok()).unwrap_or(3);
    let source = ProcSource::new("/proc");
    let process = match source.open_process(pid) {
        Ok(process) => process,
        Err(e) => {
            eprintln!("tick_pieces: {e}");
            return ExitCode::FAILURE;
        }
    };
    for _ in 0..rounds {
        let start = Instant::now();
        let dump = Netlink
            .connections(&source.view_dir(&process), None)
            .map(|(dump, _)| dump);
        let dumped = start.elapsed();
        let start = Instant::now();
        let fd = source.socket_inodes(&process);
        let listed = start.elapsed();
        let start = Instant::now();
        let tables: usize = ["tcp", "tcp6"]
            .iter()
            .filter_map(|name| source.read_net(&process, name).ok())
            .map(|text| text.len())
            .sum();
        let read = start.elapsed();
        match (dump, fd) {
            (Ok(dump), Ok(fd)) => println!(
                "  dump of {} connections {:.0} ms; fd/ with {} sockets {:.0} ms; net/tcp + tcp6 ({} bytes) {:.0} ms",
                dump.flows.len(),
                dumped.as_secs_f64() * 1000.0,
                fd.inodes.len(),
                listed.as_secs_f64() * 1000.0,
                tables,
                read.as_secs_f64() * 1000.0
            ),
            (Err(e), _) => println!("  dump failed: {e}"),
            (_, Err(e)) => println!("  fd/ failed: {e}"),
        }
        let Ok(fd) = source.socket_inodes(&process) else {
            continue;
        };
        let start = Instant::now();
        let own = Netlink
            .connections(&source.view_dir(&process), Some(&fd.inodes))
            .map(|(dump, _)| dump);
        let kept = start.elapsed();
        let Ok(own) = own else {
            continue;
        };
        let start = Instant::now();
        let wanted: Vec<SocketName> = own.flows.iter().map(SocketName::from).collect();
        let mut answered = 0;
        let looked_up =
            Netlink.look_up(&source.view_dir(&process), &wanted, &mut |_| answered += 1);
        let each = start.elapsed();
        println!(
            "  the process's {} connections: dump keeping them {:.0} ms; looked up one by one {:.0} ms ({} answered)",
            own.flows.len(),
            kept.as_secs_f64() * 1000.0,
            each.as_secs_f64() * 1000.0,
            if looked_up.is_ok() { answered } else { 0 }
        );
    }
    ExitCode::SUCCESS
}
