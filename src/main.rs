//! Entry point: arguments → the session's start transitions → a session (or
//! one `--once` print) → exit status. A closed output pipe is a normal end.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use netmonitor::cli::{Cli, PidProblem, pid_problem};
use netmonitor::parse::Endian;
use netmonitor::parse::process::parse_passwd;
use netmonitor::render::sanitize;
use netmonitor::repl::{self, Settings, render_once};
use netmonitor::session::{Event, Session, exit, step};
use netmonitor::source::{ProcSource, read_passwd};
use netmonitor::tabs::Tab;

fn main() -> ExitCode {
    ExitCode::from(run() as u8)
}

fn run() -> i32 {
    let start = Session::new(netmonitor::command::Interval::DEFAULT);
    let cli = match Cli::try_parse() {
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
                    netmonitor::session::Effect::Exit(code) => Some(*code),
                    _ => None,
                })
                .unwrap_or(exit::USAGE);
        }
    };

    let source = ProcSource::new(&cli.proc_root);
    let process = match source.open_process(cli.pid) {
        Ok(process) => process,
        Err(error) => {
            eprintln!("netmonitor: {}", sanitize(&error.to_string()));
            return exit::FAILURE;
        }
    };
    let settings = Settings {
        numeric: cli.numeric,
        endian: Endian::native(),
        clock_ticks: clock_ticks(),
        users: read_passwd().map(|t| parse_passwd(&t)).unwrap_or_default(),
    };
    let mut session = Session {
        interval: cli.interval,
        ..start
    };
    session.view.scope = cli.scope();
    let (session, _) = step(session, Event::PidAccepted);

    if cli.once {
        let tab = cli.tab.unwrap_or(Tab::DEFAULT);
        let text = render_once(&source, &process, &settings, &session, tab);
        let mut stdout = io::stdout().lock();
        return match stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush())
        {
            Ok(()) => exit::OK,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::OK,
            Err(e) => {
                eprintln!("netmonitor: cannot write output: {e}");
                exit::FAILURE
            }
        };
    }
    repl::run(source, process, settings, session, cli.tab)
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
