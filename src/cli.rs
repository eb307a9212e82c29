//! The command line: clap's definition, and the PID rules.
//!
//! A PID is plain decimal from 1 to the kernel's hard limit (2^22,
//! `PID_MAX_LIMIT`); anything else is a usage error (exit status 2) told in
//! one line, which is the spec's START → INVALID_PID → FAIL_EXIT. Instead
//! of a PID, `--name` picks the process by its exact name.
//!
//! Shell completions and the man page are generated from this definition
//! (hidden `--generate-completions SHELL` and `--generate-man`), so they
//! can never disagree with `--help`.

use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches, Parser};

use crate::command::parse_interval_arg;
use crate::vocab::{Interval, TcpSource};
use crate::vocab::{Scope, Tab};

/// The largest pid any Linux kernel hands out (`PID_MAX_LIMIT` on 64-bit).
pub const PID_MAX_LIMIT: u32 = 4_194_304;

/// What `--help` says after the options: the prompt's tabs and commands
/// (from the one table in [`crate::vocab`]), scripts, exit statuses.
pub(crate) fn after_help() -> String {
    format!(
        "At the prompt (Ctrl+D or the end of piped input ends the session):\n{}\n{}",
        crate::vocab::help_text(),
        "\
Scripts: --json or --format openmetrics print one tick and exit (or --count N ticks, one \
document each, --interval apart); --capture DIR saves what was read for --proc-root DIR.

Prometheus: --listen [ADDR:]PORT serves GET /metrics for the PIDs and --names given (repeatable, \
looked up at every refresh) until SIGTERM or SIGINT (status 0); see docs/exporter.md.

Shell completions: --generate-completions SHELL (bash, zsh, fish, elvish, powershell) prints \
the script; --generate-man prints the man page (roff).

Exit status:
  0  the session ended (Ctrl+D, end of input, quit, or the process exited)
  1  the process does not exist or cannot be monitored, no process has the --name, or output \
(or the capture) failed
  2  usage error (missing or malformed PID or option; --name matching several processes)"
    )
}

/// The command line's definition, with [`after_help`].
pub(crate) fn command() -> clap::Command {
    Cli::command().after_help(after_help())
}

/// The process's arguments, parsed.
pub(crate) fn parse() -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches()?;
    let cli = Cli::from_arg_matches(&matches)?;
    cli.check()?;
    Ok(cli)
}

/// What a run prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables, as at the prompt
    Text,
    /// One JSON document per tick (docs/json.md)
    Json,
    /// OpenMetrics text exposition per tick (docs/openmetrics.md)
    Openmetrics,
}

/// Watch what one Linux process does on the network, read from /proc.
#[derive(Debug, Parser)]
#[command(
    name = "netmonitor",
    version,
    about,
    override_usage = "netmonitor [OPTIONS] <PID>\n       netmonitor [OPTIONS] --name <NAME>"
)]
pub struct Cli {
    /// The process to watch (decimal process id)
    #[arg(
        value_parser = parse_pid,
        allow_negative_numbers = true,
        required_unless_present_any = ["names", "generate_completions", "generate_man"],
    )]
    pub pid: Option<u32>,

    /// More processes to watch, with --listen
    #[arg(value_parser = parse_pid, value_name = "MORE_PIDS", requires = "listen", hide_short_help = true)]
    pub more_pids: Vec<u32>,

    /// Watch the process with this exact name instead of a PID (as `pgrep -x`); with --listen, repeatable and combinable with PIDs
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,

    /// Serve Prometheus metrics of the PIDs and --name processes on [ADDR:]PORT (a bare port binds 127.0.0.1) until SIGTERM or SIGINT (docs/exporter.md)
    #[arg(long, value_name = "[ADDR:]PORT", value_parser = parse_listen, conflicts_with_all = ["once", "count", "json", "capture", "tab", "all", "children"])]
    pub listen: Option<std::net::SocketAddr>,

    /// With --listen: also export one series per TCP connection (many series on a busy process)
    #[arg(long, requires = "listen")]
    pub per_connection: bool,

    /// Refresh interval in seconds, 0.5 to 3600
    #[arg(short, long, value_name = "SECONDS", default_value = "2", value_parser = parse_interval_arg)]
    pub interval: Interval,

    /// Tab to show at start (without it, tcp appears after one interval)
    #[arg(short, long, value_parser = parse_tab)]
    pub tab: Option<Tab>,

    /// Print the tab once (tcp unless --tab is given) and exit, without a prompt
    #[arg(long)]
    pub once: bool,

    /// Print N ticks, --interval apart, and exit, without a prompt
    #[arg(long, value_name = "N", conflicts_with = "once", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Output of --once and --count: text, json or openmetrics
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "text",
        hide_possible_values = true
    )]
    pub format: Format,

    /// Same as --format json (implies --once unless --count is given)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Save every file read into DIR as a /proc-shaped tree, for --proc-root DIR
    #[arg(long, value_name = "DIR")]
    pub capture: Option<PathBuf>,

    /// Read everything below DIR instead of /proc (a captured tree)
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    pub proc_root: PathBuf,

    /// Where the tcp tab reads TCP sockets: netlink (sock_diag, the default; /proc when it fails) or proc. A capture or --proc-root always reads /proc files
    #[arg(long, value_enum, value_name = "SOURCE", default_value = "netlink")]
    pub tcp_source: TcpSource,

    /// Show user ids instead of user names
    #[arg(short, long)]
    pub numeric: bool,

    /// Socket tabs show every socket of the network namespace, with owners (`scope all`)
    #[arg(long, conflicts_with = "children")]
    pub all: bool,

    /// Socket tabs add the sockets of the process's descendants, with owners (`scope tree`)
    #[arg(long)]
    pub children: bool,

    /// Print the completion script for SHELL and exit
    #[arg(long, value_name = "SHELL", hide = true, exclusive = true)]
    pub generate_completions: Option<clap_complete::Shell>,

    /// Print the man page (roff) and exit
    #[arg(long, hide = true, exclusive = true)]
    pub generate_man: bool,
}

/// How a run that is not a prompt session prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMode {
    pub format: Format,
    /// How many ticks.
    pub count: u64,
    /// Given as `--once` (or implied): one tick, JSON pretty-printed.
    pub once: bool,
}

impl Cli {
    /// Rules clap cannot state: without `--listen`, one process, by PID
    /// or by one `--name`.
    fn check(&self) -> Result<(), clap::Error> {
        if self.listen.is_some() {
            return Ok(());
        }
        let conflict = |message: &str| Err(command().error(ErrorKind::ArgumentConflict, message));
        if self.pid.is_some() && !self.names.is_empty() {
            return conflict(
                "the argument '--name <NAME>' cannot be used with '[PID]' (except with --listen)",
            );
        }
        if self.names.len() > 1 {
            return conflict(
                "the argument '--name <NAME>' cannot be used multiple times (except with --listen)",
            );
        }
        Ok(())
    }

    /// The one `--name` of a run without `--listen`.
    pub fn name(&self) -> Option<&str> {
        self.names.first().map(String::as_str)
    }

    /// The output format, `--json` included.
    pub fn output_format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }

    /// Whether this run prints ticks without a prompt, and how: `--once`,
    /// `--count N`, or a machine format (which implies `--once`).
    pub fn batch(&self) -> Option<BatchMode> {
        let format = self.output_format();
        match (self.once, self.count) {
            (_, Some(count)) => Some(BatchMode {
                format,
                count,
                once: false,
            }),
            (true, None) => Some(BatchMode {
                format,
                count: 1,
                once: true,
            }),
            (false, None) if format != Format::Text => Some(BatchMode {
                format,
                count: 1,
                once: true,
            }),
            (false, None) => None,
        }
    }

    /// The scope the session starts with.
    pub fn scope(&self) -> Scope {
        match (self.all, self.children) {
            (true, _) => Scope::All,
            (false, true) => Scope::Tree,
            (false, false) => Scope::Own,
        }
    }
}

/// Validates a PID argument.
pub fn parse_pid(text: &str) -> Result<u32, String> {
    let invalid = || format!("expected a decimal process id from 1 to {PID_MAX_LIMIT}");
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match text.parse::<u64>() {
        Ok(pid) if (1..=u64::from(PID_MAX_LIMIT)).contains(&pid) => Ok(pid as u32),
        _ => Err(invalid()),
    }
}

/// `--listen [ADDR:]PORT`: a bare port is loopback only; any other
/// address must be written out (`0.0.0.0:9184`, `[::]:9184`).
pub fn parse_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::{Ipv4Addr, SocketAddr};
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u16>()
            .map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .map_err(|_| "expected a port from 0 to 65535".to_string());
    }
    text.parse::<SocketAddr>().map_err(|_| {
        "expected PORT, IPv4:PORT or [IPv6]:PORT (an address, not a host name)".to_string()
    })
}

fn parse_tab(text: &str) -> Result<Tab, String> {
    Tab::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = Tab::ALL.iter().map(|t| t.name()).collect();
        format!("expected one of: {}", names.join(", "))
    })
}

/// How the command line failed, in the session's terms.
#[derive(Debug, PartialEq, Eq)]
pub enum PidProblem {
    Missing,
    Invalid { given: String, why: String },
}

/// Recognises the clap errors that concern the PID, so that main can drive
/// the state machine and print one line; other errors are clap's to print.
pub fn pid_problem(error: &clap::Error) -> Option<PidProblem> {
    // clap writes the PID as `[PID]` (it is optional: `--name` may
    // replace it) or `<PID>`.
    let is_pid = |name: &str| name == "<PID>" || name == "[PID]";
    let names_pid = |value: Option<&ContextValue>| match value {
        Some(ContextValue::String(name)) => is_pid(name),
        Some(ContextValue::Strings(names)) => names.iter().any(|n| is_pid(n)),
        _ => false,
    };
    match error.kind() {
        ErrorKind::MissingRequiredArgument if names_pid(error.get(ContextKind::InvalidArg)) => {
            Some(PidProblem::Missing)
        }
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
            if names_pid(error.get(ContextKind::InvalidArg)) =>
        {
            let given = match error.get(ContextKind::InvalidValue) {
                Some(ContextValue::String(value)) => value.clone(),
                _ => String::new(),
            };
            Some(PidProblem::Invalid {
                given,
                why: format!("expected a decimal process id from 1 to {PID_MAX_LIMIT}"),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn pids() {
        assert_eq!(parse_pid("1"), Ok(1));
        assert_eq!(parse_pid("4194304"), Ok(PID_MAX_LIMIT));
        for bad in [
            "",
            "0",
            "-5",
            "+1",
            "0x10",
            "abc",
            "self",
            "1/task/1",
            "4194305",
            " 1",
            "1 ",
            "99999999999999999999999",
        ] {
            assert!(parse_pid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn help_names_every_tab() {
        for tab in Tab::ALL {
            assert!(
                after_help().contains(&format!(" {}", tab.name())),
                "--help does not list {}",
                tab.name()
            );
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen("9184").map(|a| a.to_string()),
            Ok("127.0.0.1:9184".into())
        );
        assert_eq!(
            parse_listen("0.0.0.0:9184").map(|a| a.to_string()),
            Ok("0.0.0.0:9184".into())
        );
        assert_eq!(
            parse_listen("[::1]:80").map(|a| a.to_string()),
            Ok("[::1]:80".into())
        );
        for bad in [
            "",
            "65536",
            "localhost:9184",
            ":9184",
            "9184:",
            "1.2.3.4",
            "-1",
        ] {
            assert!(parse_listen(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn several_processes_only_with_listen() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).and_then(|c| c.check().map(|()| c));
        let cli = parse(&[
            "netmonitor",
            "--listen",
            "9184",
            "1",
            "2",
            "--name",
            "a",
            "--name",
            "b",
        ])
        .unwrap();
        assert_eq!((cli.pid, cli.more_pids.as_slice()), (Some(1), &[2][..]));
        assert_eq!(cli.names, ["a", "b"]);
        assert!(parse(&["netmonitor", "1", "2"]).is_err());
        assert!(parse(&["netmonitor", "--name", "a", "--name", "b"]).is_err());
        assert!(parse(&["netmonitor", "--name", "a", "1"]).is_err());
        assert!(parse(&["netmonitor", "--per-connection", "1"]).is_err());
        assert!(parse(&["netmonitor", "--listen", "9184", "--once", "1"]).is_err());
        assert_eq!(
            parse(&["netmonitor", "--name", "a"]).unwrap().name(),
            Some("a")
        );
    }

    #[test]
    fn scope_options() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|c| c.scope());
        assert_eq!(parse(&["netmonitor", "1"]).ok(), Some(Scope::Own));
        assert_eq!(parse(&["netmonitor", "--all", "1"]).ok(), Some(Scope::All));
        assert_eq!(
            parse(&["netmonitor", "--children", "1"]).ok(),
            Some(Scope::Tree)
        );
        assert!(parse(&["netmonitor", "--all", "--children", "1"]).is_err());
    }

    #[test]
    fn pid_errors_are_recognised() {
        let missing = Cli::try_parse_from(["netmonitor"]).unwrap_err();
        assert_eq!(pid_problem(&missing), Some(PidProblem::Missing));
        for bad in ["abc", "-5", "0", ""] {
            let invalid = Cli::try_parse_from(["netmonitor", bad]).unwrap_err();
            assert!(
                matches!(pid_problem(&invalid), Some(PidProblem::Invalid { .. })),
                "{bad:?}: {invalid}"
            );
        }
        let other = Cli::try_parse_from(["netmonitor", "--bogus", "1"]).unwrap_err();
        assert_eq!(pid_problem(&other), None);
    }
}
