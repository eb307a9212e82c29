//! The program: arguments → the session's start transitions → a session
//! (or a run of `--once`/`--count` ticks) → exit status. A closed output
//! pipe is a normal end. `src/main.rs` only calls [`main`].

use std::io::{self, Write};
use std::process::ExitCode;

use crate::capture::{Capture, read_manifest};
use crate::cli::{PidProblem, pid_problem};
use crate::parse::Endian;
use crate::render::sanitize;
use crate::repl;
use crate::session::{Event, Session, exit, step};
use crate::source::ProcSource;
use crate::tabs::{Replay, Settings};
use crate::users::{NameService, UserNames};
use crate::vocab::Tab;

/// Runs netmonitor with the process's arguments.
pub fn main() -> ExitCode {
    keep_big_allocations_mapped();
    ExitCode::from(run() as u8)
}

/// Fixes glibc's threshold above which an allocation gets its own mapping
/// at its starting 128 KiB. Left to itself glibc raises the threshold to
/// the size of each big block freed, so after a tick frees its dumped
/// sockets the next tick's big vectors come from the heaps, which hold on
/// to them (measured in docs/performance.md).
fn keep_big_allocations_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any
    // other thread exists. Should it fail, the default behaviour stays.
    unsafe {
        nix::libc::mallopt(nix::libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

fn run() -> i32 {
    let start = Session::new(crate::vocab::Interval::DEFAULT);
    let cli = match crate::cli::parse() {
        Ok(cli) => cli,
        Err(error) => {
            let (event, message) = match pid_problem(&error) {
                Some(PidProblem::Missing) => (
                    Event::PidMissing,
                    "error: no PID given (usage: netmonitor [OPTIONS] <PID>; see --help)"
                        .to_string(),
                ),
                Some(PidProblem::Invalid { given, why }) => (
                    Event::PidInvalid,
                    format!("error: invalid PID '{}': {why}", sanitize(&given)),
                ),
                // Help, version and other usage errors: clap's own output
                // and status (0 for help and version, 2 for errors).
                None => error.exit(),
            };
            let (failed, _) = step(start, event);
            eprintln!("{message}");
            let (_, effects) = step(failed, Event::UsageReported);
            return effects
                .iter()
                .find_map(|e| match e {
                    crate::session::Effect::Exit(code) => Some(*code),
                    _ => None,
                })
                .unwrap_or(exit::USAGE);
        }
    };
    if let Some(shell) = cli.generate_completions {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut crate::cli::command(), "netmonitor", &mut out);
        return write_out(&out);
    }
    if cli.generate_man {
        let mut out = Vec::new();
        return match clap_mangen::Man::new(crate::cli::command()).render(&mut out) {
            Ok(()) => write_out(&out),
            Err(e) => {
                eprintln!("netmonitor: cannot render the man page: {e}");
                exit::FAILURE
            }
        };
    }

    // A capture being replayed says how its machine read numbers.
    let manifest = match read_manifest(&cli.proc_root) {
        Ok(manifest) => manifest,
        Err(why) => {
            eprintln!("netmonitor: {}", sanitize(&why));
            return exit::FAILURE;
        }
    };
    let endian = manifest
        .as_ref()
        .and_then(|m| m.endian())
        .unwrap_or_else(Endian::native);
    let clock_ticks = manifest
        .as_ref()
        .map(|m| m.clock_ticks)
        .filter(|&t| t > 0)
        .unwrap_or_else(clock_ticks);
    let mut settings = Settings {
        numeric: cli.numeric,
        endian,
        clock_ticks,
        users: NameService::default(),
        tcp_source: cli.tcp_source,
        replay_totals: manifest
            .as_ref()
            .map(|m| m.tcp_totals.clone())
            .unwrap_or_default(),
        replay: None,
    };

    if let Some(listen) = cli.listen {
        let mut pids: Vec<u32> = cli
            .pid
            .into_iter()
            .chain(cli.more_pids.iter().copied())
            .collect();
        pids.sort_unstable();
        pids.dedup();
        return crate::exporter::run(
            crate::exporter::Config {
                listen,
                pids,
                names: cli.names.clone(),
                interval: cli.interval.duration(),
                per_connection: cli.per_connection,
            },
            ProcSource::new(&cli.proc_root),
            settings,
        );
    }
    let mut source = ProcSource::new(&cli.proc_root);
    let pid = match (cli.pid, cli.name()) {
        (Some(pid), _) => pid,
        (None, Some(name)) => match pick_by_name(&source, name, &settings) {
            Ok(pid) => pid,
            Err(code) => return code,
        },
        // clap requires one of them.
        (None, None) => return exit::USAGE,
    };
    let capture = match &cli.capture {
        Some(dir) => match Capture::create(dir, endian, clock_ticks) {
            Ok(capture) => {
                source = source.recording(capture.recorder());
                Some(capture)
            }
            Err(e) => {
                eprintln!("netmonitor: {}", sanitize(&e.to_string()));
                return exit::FAILURE;
            }
        },
        None => None,
    };
    let process = match source.open_process(pid) {
        Ok(process) => process,
        Err(error) => {
            eprintln!("netmonitor: {}", sanitize(&error.to_string()));
            return exit::FAILURE;
        }
    };
    // A capture's tree says what it holds, and when it was taken.
    if source.origin() == crate::plan::Origin::Captured {
        let (ticks, tick_times, first_tick, last_tick) = match manifest {
            Some(m) => (m.ticks, m.tick_times, m.first_tick, m.last_tick),
            // A tree without a manifest (made by hand): no times known.
            None => (0, Vec::new(), String::new(), String::new()),
        };
        settings.replay = Some(Replay {
            ticks,
            tick_times,
            first_tick,
            last_tick,
            captured: Tab::ALL
                .into_iter()
                .filter(|tab| {
                    tab.net_files()
                        .iter()
                        .any(|f| source.holds_net(&process, f))
                })
                .collect(),
        });
    }
    let mut session = Session {
        interval: cli.interval,
        ..start
    };
    session.view.scope = cli.scope();
    let (session, _) = step(session, Event::PidAccepted);

    match cli.batch() {
        Some(mode) => {
            let tab = cli.tab.unwrap_or(Tab::DEFAULT);
            crate::batch::run(&source, process, &settings, session, tab, mode, capture)
        }
        None => repl::run(source, process, settings, session, cli.tab, capture),
    }
}

/// The pid of the one process called `name`. None: status 1; several:
/// they are listed (pid, user, command line) and the status is 2, a usage
/// error the user resolves by giving a PID.
fn pick_by_name(source: &ProcSource, name: &str, settings: &Settings) -> Result<u32, i32> {
    let found = match source.find_by_name(name) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("netmonitor: {}", sanitize(&e.to_string()));
            return Err(exit::FAILURE);
        }
    };
    match found.as_slice() {
        [one] => Ok(one.pid),
        [] => {
            let mut message = format!("netmonitor: no process named '{}'", sanitize(name));
            if name.len() > 15 {
                message
                    .push_str(" (process names are at most 15 bytes: the kernel cuts longer ones)");
            }
            eprintln!("{message}");
            Err(exit::FAILURE)
        }
        several => {
            let mut text = format!(
                "netmonitor: {} processes are named '{}'; give one PID instead of --name:\n",
                several.len(),
                sanitize(name)
            );
            text.push_str(&format!("{:>8}  {:<12}  COMMAND\n", "PID", "USER"));
            for p in several {
                let user = match p.uid {
                    Some(uid) if !settings.numeric => {
                        settings.users.name(uid).unwrap_or_else(|| uid.to_string())
                    }
                    Some(uid) => uid.to_string(),
                    None => "?".into(),
                };
                let command = if p.cmdline.is_empty() {
                    format!("[{}]", name)
                } else {
                    p.cmdline.clone()
                };
                text.push_str(&format!(
                    "{:>8}  {:<12}  {}\n",
                    p.pid,
                    sanitize(&user),
                    sanitize(&command)
                ));
            }
            eprint!("{text}");
            Err(exit::USAGE)
        }
    }
}

/// Writes generated text to stdout; a closed pipe is fine.
fn write_out(bytes: &[u8]) -> i32 {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
        Ok(()) => exit::OK,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("netmonitor: cannot write output: {e}");
            exit::FAILURE
        }
    }
}

/// Kernel clock ticks per second (`USER_HZ`), 100 where it cannot be read.
fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}
