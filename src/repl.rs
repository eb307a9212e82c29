//! The thin driver around the session: it turns keystrokes, piped lines and
//! timer ticks into [`Event`]s, feeds them to [`step`], and performs the
//! [`Effect`]s — reading a snapshot, rendering, printing, exiting.
//!
//! Input always arrives from a dedicated thread over a bounded channel, so
//! the main thread can wait for "the next line or the next tick, whichever
//! comes first":
//! * on a terminal (stdin and stdout both TTYs) that thread runs rustyline
//!   with completion and history, and refreshes are printed through
//!   rustyline's external printer so they never garble a half-typed line;
//!   after each line it waits until the main thread has answered it, so the
//!   next prompt comes after the output;
//! * otherwise it reads raw bytes line by line, so piped input behaves like
//!   typing: non-UTF-8 bytes, `\r\n`, a last line without newline and
//!   over-long lines are all handled, and end of input ends the session.

use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread;
use std::time::Instant;

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, ConditionalEventHandler, Editor, Event as KeyEvent, EventContext, EventHandler,
    ExternalPrinter, Helper, KeyEvent as Key, Movement, RepeatCount,
};

use crate::capture::Capture;
use crate::cli::TcpSource;
use crate::command::{Command, command_words};
use crate::parse::Endian;
use crate::render::{RenderOptions, render, sanitize};
use crate::session::{Effect, Event, Session, exit, step};
use crate::source::{Flows, Liveness, ProcSource, Process, Request, Sift, Snapshot};
use crate::tabs::sockets::OwnRows;
use crate::tabs::{Scope, Tab, ViewContext, view};

/// Longest input line kept; longer lines are answered with an error and
/// their bytes discarded as they arrive (memory stays bounded).
pub const MAX_LINE_BYTES: usize = 4096;

/// Settings of a session that do not change while it runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub numeric: bool,
    pub endian: Endian,
    pub clock_ticks: u64,
    pub users: crate::users::NameService,
    pub tcp_source: TcpSource,
}

/// What the input thread reports.
#[derive(Debug)]
enum Incoming {
    Line(String),
    TooLong(usize),
    EndOfInput,
    Interrupted,
    Failed(String),
}

/// Where output goes.
enum Output {
    /// A terminal with rustyline running: refreshes go through its printer.
    Terminal {
        printer: Box<dyn ExternalPrinter + Send>,
        saved_mode: Option<nix::sys::termios::Termios>,
    },
    /// Anything else: plain writes.
    Plain(io::Stdout),
}

/// Why output stopped.
enum OutputError {
    /// The reader went away (`| head`): end quietly.
    Closed,
    Failed(io::Error),
}

impl Output {
    fn write(&mut self, text: &str) -> Result<(), OutputError> {
        match self {
            Output::Terminal { printer, .. } => printer
                .print(text.to_string())
                .map_err(|e| OutputError::Failed(io::Error::other(e.to_string()))),
            Output::Plain(stdout) => {
                let mut lock = stdout.lock();
                lock.write_all(text.as_bytes())
                    .and_then(|_| lock.flush())
                    .map_err(|e| {
                        if e.kind() == io::ErrorKind::BrokenPipe {
                            OutputError::Closed
                        } else {
                            OutputError::Failed(e)
                        }
                    })
            }
        }
    }

    /// Puts the terminal back the way it was (the input thread may be
    /// blocked in raw mode when the process exits on its own).
    fn restore_terminal(&self) {
        if let Output::Terminal {
            saved_mode: Some(mode),
            ..
        } = self
        {
            let _ =
                nix::sys::termios::tcsetattr(io::stdin(), nix::sys::termios::SetArg::TCSANOW, mode);
        }
    }
}

/// The running session and everything it needs.
pub struct Driver {
    source: ProcSource,
    process: Process,
    settings: Settings,
    session: Session,
    /// The last screen's tab and snapshots, for changes and rates and for
    /// redrawing it when a display setting changes.
    shown: Option<Shown>,
    render_options: RenderOptions,
    output: Output,
    /// `--capture`: written after every snapshot until it fails.
    capture: Option<Capture>,
}

/// What the last printed screen was made of.
struct Shown {
    tab: Tab,
    snapshot: Snapshot,
    /// The snapshot shown before it, of any tab.
    before: Option<Snapshot>,
    /// Whether `before` is of the same tab (and so the base of changes).
    same_tab: bool,
}

/// Reads what `tab` needs; the scan of every process's `fd/` happens only
/// when the scope shows owners, and the socket tables a socket tab does not
/// display only when some socket in scope is in none of its own.
/// `with_flows`: read the process's TCP connections over sock_diag even
/// when the tab is not flows (a session's status boxes show the TCP rate
/// between two ticks; a single `--once` print has no second tick), and
/// `earlier` is the snapshot before, whose reading of them may let this one
/// look them up one by one instead of dumping the namespace.
pub(crate) fn take_snapshot(
    source: &ProcSource,
    process: &Process,
    settings: &Settings,
    session: &Session,
    tab: Tab,
    with_flows: bool,
    earlier: Option<&Snapshot>,
) -> Snapshot {
    let own = tab.shows_own_sockets();
    let displayed = tab.socket_tables();
    // In scope own, other processes' rows leave the displayed tables while
    // they are read.
    let sieve = displayed
        .filter(|_| session.view.scope == Scope::Own)
        .map(|tables| Sift {
            sieve: &OwnRows,
            tables,
        });
    let mut snapshot = source.snapshot(
        process,
        &Request {
            files: tab.net_files(),
            with_fd: own,
            with_owners: own && session.view.scope.needs_owners(),
            // The flows tab reads what its scope shows; other tabs need only
            // the process's own connections, for the status box's TCP rate.
            flows: match (tab, with_flows) {
                (Tab::Flows, _) if session.view.scope == Scope::Own => Flows::OwnShown,
                (Tab::Flows, _) => Flows::All,
                (_, true) => Flows::Own(
                    earlier
                        .and_then(|s| s.flows.as_ref())
                        .and_then(|f| f.as_ref().ok()),
                ),
                (_, false) => Flows::Skip,
            },
            sieve,
            tcp_over_netlink: settings.tcp_source == TcpSource::Netlink,
        },
    );
    // PROVISIONAL (to re-home with the snapshot plan): the arp tab's
    // neighbours over rtnetlink, live only, as one text entry.
    if tab == Tab::Arp && source.root() == std::path::Path::new("/proc") {
        let view_dir = source.view_dir(process);
        snapshot
            .files
            .push(crate::neighbours::snapshot_entry(&view_dir));
    }
    if let Some(displayed) = displayed {
        if crate::tabs::sockets::needs_other_tables(&snapshot, displayed) {
            source.read_more(
                &mut snapshot,
                process,
                &crate::tabs::sockets::other_tables(displayed),
            );
        }
    }
    snapshot
}

pub(crate) fn view_context<'a>(
    process: &'a Process,
    settings: &'a Settings,
    session: &'a Session,
) -> ViewContext<'a> {
    ViewContext {
        process,
        interval: session.interval.duration(),
        users: &settings.users,
        numeric: settings.numeric,
        endian: settings.endian,
        clock_ticks: settings.clock_ticks,
        counters: session.counters,
        view: &session.view,
        earlier: None,
    }
}

/// Runs an interactive or piped session until it ends; returns the exit
/// status. `session` must be in NO_SELECTION; `start_tab` is `--tab`.
pub fn run(
    source: ProcSource,
    process: Process,
    settings: Settings,
    session: Session,
    start_tab: Option<Tab>,
    capture: Option<Capture>,
) -> i32 {
    let interactive = io::stdin().is_terminal() && io::stdout().is_terminal();
    let (tx, rx) = mpsc::sync_channel::<Incoming>(64);
    let (ack_tx, ack_rx) = mpsc::sync_channel::<()>(1);
    let output = if interactive {
        let saved_mode = nix::sys::termios::tcgetattr(io::stdin()).ok();
        match start_editor(tx, ack_rx) {
            Ok(printer) => Output::Terminal {
                printer,
                saved_mode,
            },
            Err(e) => {
                eprintln!("netmonitor: cannot start the prompt: {e}");
                return exit::FAILURE;
            }
        }
    } else {
        thread::spawn(move || read_lines(io::stdin().lock(), tx));
        Output::Plain(io::stdout())
    };
    let render_options = if interactive {
        terminal_render_options()
    } else {
        RenderOptions::plain()
    };
    let mut driver = Driver {
        source,
        process,
        settings,
        session,
        shown: None,
        render_options,
        output,
        capture,
    };
    if interactive {
        let banner = banner(&driver.process, driver.session.interval);
        if let Some(code) = driver.print(&banner) {
            return code;
        }
    }
    driver.event_loop(rx, if interactive { Some(ack_tx) } else { None }, start_tab)
}

impl Driver {
    fn event_loop(
        &mut self,
        rx: Receiver<Incoming>,
        ack: Option<SyncSender<()>>,
        start_tab: Option<Tab>,
    ) -> i32 {
        if let Some(tab) = start_tab {
            if let Some(code) = self.handle(Event::Line(Ok(Command::Show(tab)))) {
                return code;
            }
        }
        let mut next_tick = Instant::now() + self.session.interval.duration();
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            let (event, answered) = match rx.recv_timeout(wait) {
                Ok(Incoming::Line(line)) => (Event::Line(Command::parse(&line)), true),
                Ok(Incoming::TooLong(bytes)) => {
                    eprintln!(
                        "error: line of {bytes} bytes ignored: commands are at most {MAX_LINE_BYTES} bytes"
                    );
                    continue;
                }
                Ok(Incoming::EndOfInput) => (Event::EndOfInput, false),
                Ok(Incoming::Interrupted) => (Event::Interrupted, false),
                Ok(Incoming::Failed(why)) => {
                    eprintln!("netmonitor: cannot read input: {why}");
                    (Event::EndOfInput, false)
                }
                Err(RecvTimeoutError::Disconnected) => (Event::EndOfInput, false),
                Err(RecvTimeoutError::Timeout) => {
                    next_tick = Instant::now() + self.session.interval.duration();
                    (Event::Tick, false)
                }
            };
            if matches!(event, Event::Tick) {
                if let Some(code) = self.check_process() {
                    return code;
                }
            }
            let restart = self.session.interval;
            if let Some(code) = self.handle(event) {
                return code;
            }
            if self.session.interval != restart {
                next_tick = Instant::now() + self.session.interval.duration();
            }
            if answered {
                if let Some(ack) = &ack {
                    let _ = ack.send(());
                }
            }
        }
    }

    /// Feeds one event to the state machine and performs its effects;
    /// returns an exit status when the session is over.
    fn handle(&mut self, event: Event) -> Option<i32> {
        let (session, effects) = step(self.session.clone(), event);
        self.session = session;
        for effect in effects {
            match effect {
                Effect::Show(tab) => {
                    if let Some(code) = self.check_process() {
                        return Some(code);
                    }
                    // A blank line after each screen keeps refreshes apart.
                    let screen = self.show(tab) + "\n";
                    if let Some(code) = self.print(&screen) {
                        return Some(code);
                    }
                }
                Effect::Redraw(tab) => {
                    let screen = self.redraw(tab) + "\n";
                    if let Some(code) = self.print(&screen) {
                        return Some(code);
                    }
                }
                Effect::Say(message) => {
                    if let Some(code) = self.print(&format!("{}\n", sanitize(&message))) {
                        return Some(code);
                    }
                }
                Effect::Complain(message) => eprintln!("error: {}", sanitize(&message)),
                Effect::Help => {
                    if let Some(code) = self.print(&help_text()) {
                        return Some(code);
                    }
                }
                Effect::RestartTimer => {}
                Effect::Exit(code) => {
                    self.output.restore_terminal();
                    return Some(code);
                }
            }
        }
        None
    }

    /// Ends the session when the process has exited or its pid was reused.
    fn check_process(&mut self) -> Option<i32> {
        let gone = match self.source.check(&mut self.process) {
            Liveness::Alive => return None,
            Liveness::Exited => format!(
                "process {} ({}) exited",
                self.process.pid, self.process.name
            ),
            Liveness::Replaced => format!(
                "process {} ({}) exited; its pid now belongs to another process",
                self.process.pid, self.process.name
            ),
        };
        // The input thread may sit in raw mode: give the terminal back and
        // start a fresh line before the last message.
        self.output.restore_terminal();
        if matches!(self.output, Output::Terminal { .. }) {
            println!();
        }
        let (session, effects) = step(self.session.clone(), Event::ProcessGone(gone));
        self.session = session;
        let mut code = exit::OK;
        for effect in effects {
            match effect {
                Effect::Say(message) => {
                    let mut stdout = io::stdout().lock();
                    let _ = writeln!(stdout, "{}", sanitize(&message));
                    let _ = stdout.flush();
                }
                Effect::Exit(status) => code = status,
                _ => {}
            }
        }
        Some(code)
    }

    /// Reads a snapshot for `tab` and renders it against the previous one.
    fn show(&mut self, tab: Tab) -> String {
        let earlier = self.shown.as_ref().map(|shown| &shown.snapshot);
        let snapshot = take_snapshot(
            &self.source,
            &self.process,
            &self.settings,
            &self.session,
            tab,
            true,
            earlier,
        );
        if let Some(capture) = self.capture.as_mut() {
            if let Err(e) = capture.write_tick(&self.source, &self.process) {
                // The session goes on; the capture stops, said once.
                eprintln!("netmonitor: {}; capture stopped", sanitize(&e.to_string()));
                self.capture = None;
            }
        }
        // The last snapshot shown, of whatever tab: the base of changes
        // when it is of this tab, and of the status box's TCP rate always.
        let (before, same_tab) = match self.shown.take() {
            Some(shown) => (Some(shown.snapshot), shown.tab == tab),
            None => (None, false),
        };
        self.shown = Some(Shown {
            tab,
            snapshot,
            before,
            same_tab,
        });
        self.redraw(tab)
    }

    /// Renders the last snapshots of `tab` again (a display setting
    /// changed); reads a snapshot only when `tab` was not the last shown.
    fn redraw(&mut self, tab: Tab) -> String {
        match &self.shown {
            Some(shown) if shown.tab == tab => {
                let ctx = ViewContext {
                    earlier: shown.before.as_ref(),
                    ..view_context(&self.process, &self.settings, &self.session)
                };
                let previous = shown.before.as_ref().filter(|_| shown.same_tab);
                let screen = view(tab, &ctx, &shown.snapshot, previous);
                render(&screen, &self.render_options)
            }
            _ => self.show(tab),
        }
    }

    /// Prints; returns an exit status when output is no longer possible.
    fn print(&mut self, text: &str) -> Option<i32> {
        match self.output.write(text) {
            Ok(()) => None,
            Err(OutputError::Closed) => Some(exit::OK),
            Err(OutputError::Failed(e)) => {
                self.output.restore_terminal();
                eprintln!("netmonitor: cannot write output: {e}");
                Some(exit::FAILURE)
            }
        }
    }
}

/// What a terminal session prints first: who is watched, the commands and
/// tabs. Name, command line and namespace come from the system (a captured
/// tree may hold anything), so each is escaped.
fn banner(process: &Process, interval: crate::command::Interval) -> String {
    let mut text = format!(
        "netmonitor · pid {} ({}) · {}\n",
        process.pid,
        sanitize(&process.name),
        sanitize(
            process
                .netns
                .as_deref()
                .unwrap_or("network namespace unknown")
        )
    );
    if !process.cmdline.is_empty() {
        text.push_str(&format!("command: {}\n", sanitize(&process.cmdline)));
    }
    text.push_str(&help_text());
    text.push_str(&format!(
        "No tab selected: {} appears after {interval}.\n",
        Tab::DEFAULT.name(),
    ));
    text
}

/// The commands and tabs, for the banner and `help`.
pub fn help_text() -> String {
    let mut text = String::from("Tabs:\n");
    for tab in Tab::ALL {
        text.push_str(&format!("  {:<9} {}\n", tab.name(), tab.summary()));
    }
    text.push_str(
        "Commands:\n  set SECONDS  refresh interval, 0.5 to 3600\n  scope own    socket tabs show the process's own sockets (default)\n  scope all    every socket of the network namespace, with owners (--all)\n  scope tree   the process's and its descendants' sockets, with owners (--children)\n  filter TEXT  keep rows containing TEXT, any case: sockets (any column); interfaces, neighbours, routes, counters\n  filter       clear the filter\n  zeros        show or hide zero counters (stats, analysis)\n  changed      show only counters that changed in the last tick, or all\n  help         this list\n  quit         end (also Ctrl+D; Ctrl+C on an empty line)\n  (empty line) reprint now\n",
    );
    text
}

pub(crate) fn terminal_render_options() -> RenderOptions {
    let size = terminal_size::terminal_size();
    let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    RenderOptions {
        width: size.map(|(w, _)| w.0),
        colour,
        // Room for the status box, headers, notes and the prompt.
        max_rows: size.map(|(_, h)| usize::from(h.0).saturating_sub(12).max(5)),
    }
}

/// Reads lines of raw bytes from `input` and sends them until end of input.
fn read_lines(mut input: impl BufRead, tx: SyncSender<Incoming>) {
    let mut line: Vec<u8> = Vec::new();
    let mut overflow = 0usize;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.send(Incoming::Failed(e.to_string()));
                return;
            }
        };
        if chunk.is_empty() {
            if overflow > 0 {
                let _ = tx.send(Incoming::TooLong(overflow));
            } else if !line.is_empty() {
                let _ = tx.send(Incoming::Line(decode_line(&line)));
            }
            let _ = tx.send(Incoming::EndOfInput);
            return;
        }
        let (taken, complete) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (chunk.len(), false),
        };
        let data = &chunk[..if complete { taken - 1 } else { taken }];
        if overflow > 0 || line.len() + data.len() > MAX_LINE_BYTES {
            overflow += line.len() + data.len();
            line.clear();
        } else {
            line.extend_from_slice(data);
        }
        input.consume(taken);
        if complete {
            let message = if overflow > 0 {
                Incoming::TooLong(std::mem::take(&mut overflow))
            } else {
                Incoming::Line(decode_line(&line))
            };
            line.clear();
            if tx.send(message).is_err() {
                return;
            }
        }
    }
}

/// A line of input as text: a trailing `\r` dropped, invalid UTF-8
/// replaced (commands are ASCII; the replacement shows in the error).
fn decode_line(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// Tab completion of command words.
struct PromptHelper;

impl Completer for PromptHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = line.get(..pos).unwrap_or(line);
        if let Some((first, rest)) = before.trim_start().split_once(char::is_whitespace) {
            // `scope <Tab>` completes own/all/tree; other arguments are free.
            let rest = rest.trim_start();
            if !first.eq_ignore_ascii_case("scope") || rest.contains(char::is_whitespace) {
                return Ok((pos, Vec::new()));
            }
            let word = rest.to_ascii_lowercase();
            let candidates = Scope::ALL
                .iter()
                .map(|s| s.name())
                .filter(|name| name.starts_with(&word))
                .map(|name| Pair {
                    display: name.to_string(),
                    replacement: name.to_string(),
                })
                .collect();
            return Ok((pos.saturating_sub(rest.len()), candidates));
        }
        let word = before.to_ascii_lowercase();
        let candidates = command_words()
            .into_iter()
            .filter(|w| w.starts_with(&word))
            .map(|w| Pair {
                display: w.to_string(),
                replacement: w.to_string(),
            })
            .collect();
        Ok((0, candidates))
    }
}

impl Hinter for PromptHelper {
    type Hint = String;
}
impl Highlighter for PromptHelper {}
impl Validator for PromptHelper {}
impl Helper for PromptHelper {}

/// Ctrl+C: clear a half-typed line; on an empty line, end the session.
struct CtrlC;

impl ConditionalEventHandler for CtrlC {
    fn handle(
        &self,
        _event: &KeyEvent,
        _n: RepeatCount,
        _positive: bool,
        ctx: &EventContext<'_>,
    ) -> Option<Cmd> {
        if ctx.line().is_empty() {
            Some(Cmd::Interrupt)
        } else {
            Some(Cmd::Kill(Movement::WholeLine))
        }
    }
}

/// Starts rustyline on its own thread; returns the printer for refreshes.
fn start_editor(
    tx: SyncSender<Incoming>,
    ack: Receiver<()>,
) -> Result<Box<dyn ExternalPrinter + Send>, ReadlineError> {
    let mut editor: Editor<PromptHelper, DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(PromptHelper));
    editor.bind_sequence(Key::ctrl('C'), EventHandler::Conditional(Box::new(CtrlC)));
    let printer = editor.create_external_printer()?;
    thread::spawn(move || {
        loop {
            let message = match editor.readline("netmonitor> ") {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    Incoming::Line(line)
                }
                Err(ReadlineError::Eof) => Incoming::EndOfInput,
                Err(ReadlineError::Interrupted) => Incoming::Interrupted,
                Err(e) => Incoming::Failed(e.to_string()),
            };
            let is_line = matches!(message, Incoming::Line(_));
            if tx.send(message).is_err() || !is_line {
                return;
            }
            // Wait until the main thread has printed its answer.
            if ack.recv().is_err() {
                return;
            }
        }
    });
    Ok(Box::new(printer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(input: &[u8]) -> Vec<String> {
        let (tx, rx) = mpsc::sync_channel(1024);
        read_lines(input, tx);
        rx.into_iter()
            .map(|i| match i {
                Incoming::Line(l) => format!("line:{l}"),
                Incoming::TooLong(n) => format!("too long:{n}"),
                Incoming::EndOfInput => "eof".into(),
                Incoming::Interrupted => "int".into(),
                Incoming::Failed(e) => format!("failed:{e}"),
            })
            .collect()
    }

    fn completions(line: &str) -> (usize, Vec<String>) {
        let history = DefaultHistory::new();
        let ctx = rustyline::Context::new(&history);
        let (start, pairs) = PromptHelper
            .complete(line, line.len(), &ctx)
            .expect("completion never fails");
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn completion_of_commands_tabs_and_scopes() {
        assert_eq!(completions("sc"), (0, vec!["scope".to_string()]));
        assert_eq!(completions("u"), (0, vec!["udp".to_string()]));
        assert_eq!(completions("fil"), (0, vec!["filter".to_string()]));
        assert_eq!(completions("scope a"), (6, vec!["all".to_string()]));
        assert_eq!(
            completions("SCOPE  "),
            (
                7,
                vec!["own".to_string(), "all".to_string(), "tree".to_string()]
            )
        );
        assert_eq!(completions("scope all x"), (11, vec![]));
        assert_eq!(completions("filter a"), (8, vec![]));
    }

    #[test]
    fn the_banner_escapes_name_command_line_and_namespace() {
        let process = Process {
            pid: 7,
            name: "\x1b]0;x\x07\n".into(),
            cmdline: "sh -c \x1b[2J\u{9b}".into(),
            start_time: 1,
            parent: 1,
            netns: Some("net:[1]\x1b[31m\r".into()),
            netns_error: None,
            via_thread: None,
        };
        let text = banner(&process, crate::command::Interval::DEFAULT);
        assert!(
            text.starts_with("netmonitor · pid 7 (\\x1b]0;x\\x07\\x0a) · net:[1]\\x1b[31m\\x0d\n"),
            "{text}"
        );
        assert!(text.contains("command: sh -c \\x1b[2J\\x9b\n"), "{text}");
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && (c.is_control() || ('\u{80}'..='\u{9f}').contains(&c))),
            "{text}"
        );
    }

    #[test]
    fn piped_lines_crlf_and_missing_final_newline() {
        assert_eq!(
            lines_of(b"tcp\r\nset 6\nhelp"),
            vec!["line:tcp", "line:set 6", "line:help", "eof"]
        );
        assert_eq!(lines_of(b""), vec!["eof"]);
        assert_eq!(lines_of(b"\n"), vec!["line:", "eof"]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(
            lines_of(b"tc\xffp\nudp\n"),
            vec!["line:tc\u{fffd}p", "line:udp", "eof"]
        );
    }

    #[test]
    fn overlong_lines_are_reported_and_skipped() {
        let mut input = vec![b'x'; MAX_LINE_BYTES * 3];
        input.extend_from_slice(b"\ntcp\n");
        let got = lines_of(&input);
        assert_eq!(
            got,
            vec![
                format!("too long:{}", MAX_LINE_BYTES * 3),
                "line:tcp".into(),
                "eof".into()
            ]
        );
    }
}
