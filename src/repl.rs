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

use crate::accounting::{Accounting, TcpTotals};
use crate::capture::Capture;
use crate::command::Command;
use crate::plan::TickInputs;
use crate::render::{RenderOptions, render, sanitize};
use crate::session::{Effect, Event, Session, exit, step};
use crate::snapshot::Process;
use crate::source::{Liveness, ProcSource};
use crate::tabs::{ReplayTick, Settings, Tab, ViewContext, Viewed, view_with};
use crate::vocab::{Scope, command_words, help_text};

/// Longest input line kept; longer lines are answered with an error and
/// their bytes discarded as they arrive (memory stays bounded).
pub const MAX_LINE_BYTES: usize = 4096;

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
    /// The tick on screen, for redrawing it when a display setting changes
    /// and as the base of the next one's changes and rates.
    shown: Option<Viewed>,
    /// The tick shown before it, of any tab: the base of the changes and
    /// rates on screen.
    before: Option<Viewed>,
    /// The refresh timer restarts before the next wait (the state machine
    /// said so).
    restart_timer: bool,
    /// The process's TCP totals over the session.
    accounting: Accounting,
    /// Ticks taken so far (a replay follows its capture's ticks).
    ticks_taken: u64,
    render_options: RenderOptions,
    output: Output,
    /// `--capture`: written after every snapshot until it fails.
    capture: Option<Capture>,
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
        RenderOptions::terminal()
    } else {
        RenderOptions::plain()
    };
    let accounting = Accounting::start(
        &crate::diag::Netlink,
        &source.view_dir(&process),
        source.origin(),
        settings.replay_totals.clone(),
    );
    let mut driver = Driver {
        source,
        process,
        settings,
        session,
        shown: None,
        before: None,
        restart_timer: false,
        accounting,
        ticks_taken: 0,
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
            if let Some(code) = self.handle(event) {
                return code;
            }
            if std::mem::take(&mut self.restart_timer) {
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
                Effect::RestartTimer => self.restart_timer = true,
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
        let earlier = self
            .shown
            .as_ref()
            .and_then(|shown| shown.snapshot.flows.as_ref())
            .and_then(|flows| flows.as_ref().ok());
        let snapshot = crate::tick::take(
            &self.source,
            &self.process,
            &TickInputs {
                tab,
                scope: self.session.view.scope,
                origin: self.source.origin(),
                tcp_source: self.settings.tcp_source,
                with_rate: true,
                earlier,
                scan_listener_owners: self.accounting.wants_owner_scan(Instant::now()),
            },
        );
        let totals = self.accounting.refresh(&snapshot, self.process.pid);
        self.ticks_taken += 1;
        let replay = self
            .settings
            .replay
            .as_ref()
            .map(|r| r.tick(self.ticks_taken));
        if let Some(capture) = self.capture.as_mut() {
            if let Err(e) = capture.write_tick(&self.source, &self.process, totals.as_ref()) {
                // The session goes on; the capture stops, said once.
                eprintln!("netmonitor: {}; capture stopped", sanitize(&e.to_string()));
                self.capture = None;
            }
        }
        // The tick on screen becomes the one before: the base of changes
        // when it is of this tab, and of the status box's TCP rate always.
        self.before = self.shown.take().map(|mut shown| {
            shown.settle();
            shown
        });
        let (text, sockets) = self.render(tab, &snapshot, totals.as_ref(), replay.as_ref());
        self.shown = Some(Viewed {
            tab,
            snapshot,
            sockets,
            totals,
            replay,
        });
        text
    }

    /// Renders the tick on screen again (a display setting changed);
    /// reads a snapshot only when `tab` is not the one on screen.
    fn redraw(&mut self, tab: Tab) -> String {
        match self.shown.take() {
            Some(shown) if shown.tab == tab => {
                let (text, _) = self.render(
                    tab,
                    &shown.snapshot,
                    shown.totals.as_ref(),
                    shown.replay.as_ref(),
                );
                self.shown = Some(shown);
                text
            }
            other => {
                self.shown = other;
                self.show(tab)
            }
        }
    }

    /// `snapshot` of `tab` rendered against the tick before; also the
    /// socket set its view parsed.
    fn render(
        &self,
        tab: Tab,
        snapshot: &crate::snapshot::Snapshot,
        totals: Option<&TcpTotals>,
        replay: Option<&ReplayTick>,
    ) -> (String, Option<crate::tabs::sockets::SocketSet<'static>>) {
        let ctx = ViewContext {
            earlier: self.before.as_ref().map(|before| &before.snapshot),
            totals,
            replay,
            rows_shown: self.render_options.max_rows,
            ..self.session.view_context(&self.process, &self.settings)
        };
        let previous = self
            .before
            .as_ref()
            .filter(|before| before.tab == tab)
            .map(Viewed::before);
        let (screen, sockets) = view_with(tab, &ctx, snapshot, previous);
        (
            render(&screen, &self.render_options),
            sockets.map(crate::tabs::sockets::SocketSet::into_owned),
        )
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
fn banner(process: &Process, interval: crate::vocab::Interval) -> String {
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
        let text = banner(&process, crate::vocab::Interval::DEFAULT);
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
