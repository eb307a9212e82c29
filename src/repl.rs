//! The thin driver around the session: it turns keystrokes, piped lines and
//! timer ticks into [`Event`]s, feeds them to [`step`], and performs the
//! [`Effect`]s — reading a snapshot, rendering, printing, exiting.
//!
//! Input always arrives from a dedicated thread over a bounded channel, so
//! the main thread can wait for "the next line or the next tick, whichever
//! comes first":
//! * on a terminal (stdin and stdout both TTYs) the banner ends with "Press
//!   any key to start" and waits for one key (not taken as input); then that
//!   thread runs rustyline with completion and history, and everything is
//!   printed through rustyline's external printer so it never garbles a
//!   half-typed line. That printer queues text while rustyline edits and
//!   writes it directly otherwise, and rustyline prefers keys to queued
//!   text: a line can be accepted with text still queued, which it prints
//!   at the next prompt. So the main thread prints only while rustyline
//!   edits ([`Gate`]): everything then goes through the one queue, in order;
//! * otherwise it reads raw bytes line by line, so piped input behaves like
//!   typing: non-UTF-8 bytes, `\r\n`, a last line without newline and
//!   over-long lines are all handled, and end of input ends the session.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{
    Cmd, ConditionalEventHandler, Editor, Event as KeyEvent, EventContext, EventHandler,
    ExternalPrinter, Helper, KeyEvent as Key, Movement, Prompt, RepeatCount,
};

use crate::accounting::{Accounting, TcpTotals};
use crate::capture::Capture;
use crate::command::Command;
use crate::render::{LineCache, RenderOptions, sanitize};
use crate::session::{Effect, Event, Session, exit, step};
use crate::snapshot::Process;
use crate::source::{Liveness, ProcSource};
use crate::tabs::{ReplayTick, Settings, Tab, ViewContext, Viewed, text_with};
use crate::vocab::{Interval, Scope, command_words, help_text};

/// Longest input line kept; longer lines are answered with an error and
/// their bytes discarded as they arrive (memory stays bounded).
pub const MAX_LINE_BYTES: usize = 4096;

/// Lines the input thread may send ahead of the main thread.
const INPUT_QUEUE: usize = 64;

/// What the input thread reports.
#[derive(Debug)]
enum Incoming {
    Line(String),
    TooLong(usize),
    EndOfInput,
    Interrupted,
    Failed(String),
}

/// What the input thread is doing, as far as printing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// rustyline edits a line (raw mode): the printer queues text and
    /// rustyline prints it above the prompt, in order.
    Editing,
    /// A line was accepted (or input is ending) and the next prompt has not
    /// been drawn: text printed now would overtake text still queued.
    Answering,
    /// The input thread has stopped: the printer writes directly.
    Ended,
}

/// Shared by the input thread and the main thread so that the main thread
/// prints only while rustyline edits (or after it has stopped). rustyline
/// enters [`Phase::Editing`] when it draws the prompt ([`GatedPrompt`]),
/// and leaves it, still in raw mode, in the hooks it calls before it
/// returns a line or ends: the validator (Enter), Ctrl+C on an empty line
/// and Ctrl+D. A hook waits for a print in progress, so text handed to the
/// printer under the lock is always queued.
struct Gate {
    phase: Mutex<Phase>,
    changed: Condvar,
    /// Ctrl+D ended the line (reported as end of input, not Ctrl+C).
    end_of_input: AtomicBool,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            phase: Mutex::new(Phase::Answering),
            changed: Condvar::new(),
            end_of_input: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set(&self, phase: Phase) {
        let mut current = self.lock();
        if *current != Phase::Ended {
            *current = phase;
        }
        drop(current);
        self.changed.notify_all();
    }

    /// The lock, once rustyline edits or input has ended; `None` when that
    /// did not happen within `wait`.
    fn open(&self, wait: Duration) -> Option<MutexGuard<'_, Phase>> {
        let guard = self.lock();
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, wait, |phase| *phase == Phase::Answering)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (*guard != Phase::Answering).then_some(guard)
    }
}

/// The prompt text; the first time rustyline asks for it in a call to
/// `readline` (raw mode is on by then), the gate opens.
struct GatedPrompt<'a> {
    gate: &'a Gate,
    told: Cell<bool>,
}

impl Prompt for GatedPrompt<'_> {
    fn raw(&self) -> &str {
        if !self.told.replace(true) {
            self.gate.set(Phase::Editing);
        }
        "netmonitor> "
    }
}

/// Where output goes.
enum Output {
    /// A terminal with rustyline running: everything goes through its
    /// printer, while the gate is open.
    Terminal {
        printer: Box<dyn ExternalPrinter + Send>,
        gate: Arc<Gate>,
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
    /// Writes `text`; on a terminal the gate must be open (see
    /// [`Driver::print`]).
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
    /// Whether output is a terminal: its size is read at each print.
    interactive: bool,
    output: Output,
    /// What the input thread sent.
    rx: Receiver<Incoming>,
    /// Input taken from the channel but not yet handled: read ahead to see
    /// whether a selection waits (a tick is then not printed), or to keep
    /// the input thread going while the main thread waits to print.
    pending: VecDeque<Incoming>,
    /// `--capture`: written after every snapshot until it fails.
    capture: Option<Capture>,
    /// The lines of the last big table printed in full, for the rows that
    /// have not changed at the next refresh.
    lines: LineCache,
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
    let (tx, rx) = mpsc::sync_channel::<Incoming>(INPUT_QUEUE);
    let mut process = process;
    let output = if interactive {
        let saved_mode = nix::sys::termios::tcgetattr(io::stdin()).ok();
        // The banner, and the key that starts the session, come before the
        // prompt exists.
        let wait = start_tab.is_none();
        let mut stdout = io::stdout().lock();
        let shown = stdout
            .write_all(banner(&process, session.interval, start_tab).as_bytes())
            .and_then(|_| stdout.flush());
        drop(stdout);
        if let Err(e) = shown {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return exit::OK;
            }
            eprintln!("netmonitor: cannot write output: {e}");
            return exit::FAILURE;
        }
        if wait {
            if let Some(code) = wait_for_a_key(&source, &mut process, saved_mode.as_ref()) {
                return code;
            }
        }
        let gate = Arc::new(Gate::new());
        match start_editor(tx, Arc::clone(&gate)) {
            Ok(printer) => Output::Terminal {
                printer,
                gate,
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
        interactive,
        output,
        rx,
        pending: VecDeque::new(),
        capture,
        lines: LineCache::default(),
    };
    driver.event_loop(start_tab)
}

impl Driver {
    fn event_loop(&mut self, start_tab: Option<Tab>) -> i32 {
        if let Some(tab) = start_tab {
            if let Some(code) = self.handle(Event::Line(Ok(Command::Show(tab))), false) {
                return code;
            }
        }
        let mut next_tick = Instant::now() + self.session.interval.duration();
        loop {
            if std::mem::take(&mut self.restart_timer) {
                next_tick = Instant::now() + self.session.interval.duration();
            }
            let wait = next_tick.saturating_duration_since(Instant::now());
            let incoming = match self.pending.pop_front() {
                Some(incoming) => Ok(incoming),
                None => self.rx.recv_timeout(wait),
            };
            let event = match incoming {
                Ok(Incoming::Line(line)) => Event::Line(Command::parse(&line)),
                Ok(Incoming::TooLong(bytes)) => {
                    let message = format!(
                        "line of {bytes} bytes ignored: commands are at most {MAX_LINE_BYTES} bytes"
                    );
                    if let Some(code) = self.complain(&message) {
                        return code;
                    }
                    continue;
                }
                Ok(Incoming::EndOfInput) => Event::EndOfInput,
                Ok(Incoming::Interrupted) => Event::Interrupted,
                Ok(Incoming::Failed(why)) => {
                    self.output.restore_terminal();
                    eprintln!("netmonitor: cannot read input: {why}");
                    Event::EndOfInput
                }
                Err(RecvTimeoutError::Disconnected) => Event::EndOfInput,
                Err(RecvTimeoutError::Timeout) => {
                    next_tick = Instant::now() + self.session.interval.duration();
                    Event::Tick
                }
            };
            let tick = matches!(event, Event::Tick);
            if tick {
                if let Some(code) = self.check_process() {
                    return code;
                }
            }
            if let Some(code) = self.handle(event, tick) {
                return code;
            }
        }
    }

    /// Moves what the input thread has sent so far into `pending`, until
    /// `pending` holds `limit` items.
    fn read_ahead(&mut self, limit: usize) {
        while self.pending.len() < limit {
            match self.rx.try_recv() {
                Ok(incoming) => self.pending.push_back(incoming),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    // Said once: the loop ends the session on it.
                    if !matches!(self.pending.back(), Some(Incoming::EndOfInput)) {
                        self.pending.push_back(Incoming::EndOfInput);
                    }
                    return;
                }
            }
        }
    }

    /// Whether a line that selects a tab waits to be handled: a refresh of
    /// the tab on screen must then not be printed (it would be the newest
    /// table of a tab the user has left).
    fn selection_waits(&mut self) -> bool {
        // As much as the channel holds: memory stays bounded.
        self.read_ahead(INPUT_QUEUE);
        self.pending.iter().any(|incoming| match incoming {
            Incoming::Line(line) => matches!(Command::parse(line), Ok(Command::Show(_))),
            _ => false,
        })
    }

    /// Feeds one event to the state machine and performs its effects;
    /// returns an exit status when the session is over. `tick`: the event
    /// is a tick, whose screen is dropped when a selection waits.
    fn handle(&mut self, event: Event, tick: bool) -> Option<i32> {
        let (session, effects) = step(self.session.clone(), event);
        self.session = session;
        for effect in effects {
            match effect {
                Effect::Show(tab) => {
                    if tick && self.selection_waits() {
                        continue;
                    }
                    if let Some(code) = self.check_process() {
                        return Some(code);
                    }
                    // A blank line after each screen keeps refreshes apart.
                    let screen = self.show(tab) + "\n";
                    let printed = if tick {
                        self.print_unless_selection_waits(&screen)
                    } else {
                        self.print(&screen)
                    };
                    self.lines.keep(screen);
                    // The session waits for the next refresh now.
                    crate::memory::release_freed();
                    if let Some(code) = printed {
                        return Some(code);
                    }
                }
                Effect::Redraw(tab) => {
                    let screen = self.redraw(tab) + "\n";
                    let printed = self.print(&screen);
                    self.lines.keep(screen);
                    if let Some(code) = printed {
                        return Some(code);
                    }
                }
                Effect::Say(message) => {
                    if let Some(code) = self.print(&format!("{}\n", sanitize(&message))) {
                        return Some(code);
                    }
                }
                Effect::Complain(message) => {
                    if let Some(code) = self.complain(&message) {
                        return Some(code);
                    }
                }
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
        let liveness = self.source.check(&mut self.process);
        let gone = gone_message(&self.process, liveness)?;
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
        self.ticks_taken += 1;
        // The tick on screen becomes the one before once this one is
        // taken; the one before it is of no more use, and the tick on
        // screen needs no more than what settles.
        self.before = None;
        if let Some(shown) = self.shown.as_mut() {
            shown.settle();
        }
        let mut tick = crate::tick::take_viewed(
            &self.source,
            &self.process,
            &self.settings,
            tab,
            self.session.view.scope,
            self.shown.as_ref(),
            Some(&mut self.accounting),
            self.ticks_taken,
        );
        if let Some(capture) = self.capture.as_mut() {
            if let Err(e) = capture.write_tick(&self.source, &self.process, tick.totals.as_ref()) {
                // The session goes on; the capture stops, said once.
                eprintln!("netmonitor: {}; capture stopped", sanitize(&e.to_string()));
                self.capture = None;
            }
        }
        // The tick on screen becomes the one before: the base of changes
        // when it is of this tab, and of the status box's TCP rate always.
        self.before = self.shown.take();
        let (text, sockets) = self.render(
            tab,
            &tick.snapshot,
            tick.totals.as_ref(),
            tick.replay.as_ref(),
        );
        tick.sockets = sockets;
        self.shown = Some(tick);
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
        &mut self,
        tab: Tab,
        snapshot: &crate::snapshot::Snapshot,
        totals: Option<&TcpTotals>,
        replay: Option<&ReplayTick>,
    ) -> (String, Option<crate::tabs::sockets::SocketSet>) {
        let options = self.render_options();
        let ctx = ViewContext {
            earlier: self.before.as_ref().map(|before| &before.snapshot),
            totals,
            replay,
            rows_shown: options.max_rows,
            ..self.session.view_context(&self.process, &self.settings)
        };
        let previous = self
            .before
            .as_ref()
            .filter(|before| before.tab == tab)
            .map(Viewed::before);
        text_with(tab, &ctx, snapshot, previous, &options, &mut self.lines)
    }

    /// How to render now: on a terminal its size at this moment, and the
    /// row cap the user chose (`rows`).
    fn render_options(&self) -> RenderOptions {
        let options = if self.interactive {
            RenderOptions::terminal()
        } else {
            RenderOptions::plain()
        };
        RenderOptions {
            max_rows: self.session.rows.rows(options.max_rows),
            ..options
        }
    }

    /// Prints; returns an exit status when output is no longer possible.
    fn print(&mut self, text: &str) -> Option<i32> {
        self.print_if(text, false)
    }

    /// Prints a tick's screen unless a selection waits to be handled.
    fn print_unless_selection_waits(&mut self, text: &str) -> Option<i32> {
        self.print_if(text, true)
    }

    /// An error line: on a terminal through the printer (it would garble
    /// the prompt otherwise, and stays in order), else on stderr.
    fn complain(&mut self, message: &str) -> Option<i32> {
        if matches!(self.output, Output::Terminal { .. }) {
            self.print(&format!("error: {}\n", sanitize(message)))
        } else {
            eprintln!("error: {}", sanitize(message));
            None
        }
    }

    fn print_if(&mut self, text: &str, unless_selection_waits: bool) -> Option<i32> {
        let written = match &mut self.output {
            Output::Terminal { gate, .. } => {
                let gate = Arc::clone(gate);
                // Wait until rustyline edits again; meanwhile keep reading
                // input, so that the input thread is never blocked on a
                // full channel.
                let guard = loop {
                    if let Some(guard) = gate.open(Duration::from_millis(50)) {
                        break guard;
                    }
                    // Typed lines, so no limit: a full channel would keep
                    // rustyline from drawing the prompt that opens the gate.
                    self.read_ahead(usize::MAX);
                };
                // A line accepted before the prompt came back is in the
                // channel by now.
                if unless_selection_waits && self.selection_waits() {
                    return None;
                }
                let written = self.output.write(text);
                drop(guard);
                written
            }
            Output::Plain(_) => {
                if unless_selection_waits && self.selection_waits() {
                    return None;
                }
                self.output.write(text)
            }
        };
        match written {
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

/// The message for a process that is no longer the one watched.
fn gone_message(process: &Process, liveness: Liveness) -> Option<String> {
    match liveness {
        Liveness::Alive => None,
        Liveness::Exited => Some(format!("process {} ({}) exited", process.pid, process.name)),
        Liveness::Replaced => Some(format!(
            "process {} ({}) exited; its pid now belongs to another process",
            process.pid, process.name
        )),
    }
}

/// Puts the terminal in a mode where one key can be read as it is pressed
/// (no echo, no line editing, Ctrl+C and Ctrl+D as bytes); the mode saved
/// at start comes back when it is dropped.
struct KeyMode<'a> {
    saved: &'a nix::sys::termios::Termios,
}

impl<'a> KeyMode<'a> {
    fn enter(saved: &'a nix::sys::termios::Termios) -> Option<KeyMode<'a>> {
        use nix::sys::termios::{LocalFlags, SetArg, SpecialCharacterIndices, tcsetattr};
        let mut mode = saved.clone();
        mode.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG | LocalFlags::IEXTEN);
        mode.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        mode.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        tcsetattr(io::stdin(), SetArg::TCSANOW, &mode).ok()?;
        Some(KeyMode { saved })
    }
}

impl Drop for KeyMode<'_> {
    fn drop(&mut self) {
        let _ = nix::sys::termios::tcsetattr(
            io::stdin(),
            nix::sys::termios::SetArg::TCSANOW,
            self.saved,
        );
    }
}

/// Whether stdin has bytes to read within `wait`.
fn readable_within(wait: Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let stdin = io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
    matches!(poll(&mut fds, timeout), Ok(n) if n > 0)
}

/// Waits for the key that starts a terminal session and swallows it (an
/// escape sequence whole). Returns an exit status when the session ends
/// instead: Ctrl+C, Ctrl+D, the terminal going away, or the process
/// exiting meanwhile.
fn wait_for_a_key(
    source: &ProcSource,
    process: &mut Process,
    saved: Option<&nix::sys::termios::Termios>,
) -> Option<i32> {
    let mode = KeyMode::enter(saved?)?;
    let end = |message: Option<String>| {
        let mut stdout = io::stdout().lock();
        let _ = writeln!(stdout);
        if let Some(message) = message {
            let _ = writeln!(stdout, "{}", sanitize(&message));
        }
        let _ = stdout.flush();
        Some(exit::OK)
    };
    let mut stdin = io::stdin().lock();
    let mut key = [0u8; 64];
    loop {
        if !readable_within(Duration::from_millis(250)) {
            let liveness = source.check(process);
            if let Some(message) = gone_message(process, liveness) {
                drop(mode);
                return end(Some(message));
            }
            continue;
        }
        let read = match stdin.read(&mut key) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        // The rest of an escape sequence (arrow and function keys) comes
        // with it or right after: it is part of the same key.
        if key.first() == Some(&0x1b) {
            let mut rest = [0u8; 64];
            while readable_within(Duration::from_millis(30)) {
                match stdin.read(&mut rest) {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }
        drop(mode);
        return match key.get(..read) {
            // The terminal went away, Ctrl+C or Ctrl+D.
            None | Some([]) | Some([0x03, ..]) | Some([0x04, ..]) => end(None),
            Some(_) => {
                let mut stdout = io::stdout().lock();
                let _ = writeln!(stdout);
                let _ = stdout.flush();
                None
            }
        };
    }
}

/// What a terminal session prints first: who is watched, the commands and
/// tabs, and, without `--tab`, when the default tab comes and that a key
/// starts the session. Name, command line and namespace come from the
/// system (a captured tree may hold anything), so each is escaped.
fn banner(process: &Process, interval: Interval, start_tab: Option<Tab>) -> String {
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
    match start_tab {
        Some(tab) => text.push_str(&format!(
            "Showing {}, refreshed every {interval}.\n",
            tab.name()
        )),
        None => text.push_str(&format!(
            "No tab selected: {} appears {interval} after the start.\nPress any key to start",
            Tab::DEFAULT.name(),
        )),
    }
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

/// Tab completion of command words; the validator tells the gate that a
/// line is being accepted.
#[derive(Default)]
struct PromptHelper {
    gate: Option<Arc<Gate>>,
}

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
            // `scope <Tab>` completes own/all/tree, `rows <Tab>` all/fit;
            // other arguments are free.
            let rest = rest.trim_start();
            let words: Vec<&str> = if first.eq_ignore_ascii_case("scope") {
                Scope::ALL.iter().map(|s| s.name()).collect()
            } else if first.eq_ignore_ascii_case("rows") {
                vec!["all", "fit"]
            } else {
                Vec::new()
            };
            if words.is_empty() || rest.contains(char::is_whitespace) {
                return Ok((pos, Vec::new()));
            }
            let word = rest.to_ascii_lowercase();
            let candidates = words
                .into_iter()
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
impl Helper for PromptHelper {}

impl Validator for PromptHelper {
    /// Called on Enter, in raw mode, before rustyline returns the line.
    fn validate(&self, _ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        if let Some(gate) = &self.gate {
            gate.set(Phase::Answering);
        }
        Ok(ValidationResult::Valid(None))
    }
}

/// Ctrl+C: clear a half-typed line; on an empty line, end the session.
struct CtrlC {
    gate: Arc<Gate>,
}

impl ConditionalEventHandler for CtrlC {
    fn handle(
        &self,
        _event: &KeyEvent,
        _n: RepeatCount,
        _positive: bool,
        ctx: &EventContext<'_>,
    ) -> Option<Cmd> {
        if ctx.line().is_empty() {
            self.gate.set(Phase::Answering);
            Some(Cmd::Interrupt)
        } else {
            Some(Cmd::Kill(Movement::WholeLine))
        }
    }
}

/// Ctrl+D: end the session, whatever is typed (rustyline alone ends only
/// on an empty line and deletes a character otherwise).
struct CtrlD {
    gate: Arc<Gate>,
}

impl ConditionalEventHandler for CtrlD {
    fn handle(
        &self,
        _event: &KeyEvent,
        _n: RepeatCount,
        _positive: bool,
        _ctx: &EventContext<'_>,
    ) -> Option<Cmd> {
        self.gate.end_of_input.store(true, Ordering::SeqCst);
        self.gate.set(Phase::Answering);
        Some(Cmd::Interrupt)
    }
}

/// Starts rustyline on its own thread; returns the printer for refreshes.
/// The thread reads lines until input ends, without waiting for answers:
/// the next prompt is drawn at once and answers are printed above it.
fn start_editor(
    tx: SyncSender<Incoming>,
    gate: Arc<Gate>,
) -> Result<Box<dyn ExternalPrinter + Send>, ReadlineError> {
    let mut editor: Editor<PromptHelper, DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(PromptHelper {
        gate: Some(Arc::clone(&gate)),
    }));
    editor.bind_sequence(
        Key::ctrl('C'),
        EventHandler::Conditional(Box::new(CtrlC {
            gate: Arc::clone(&gate),
        })),
    );
    editor.bind_sequence(
        Key::ctrl('D'),
        EventHandler::Conditional(Box::new(CtrlD {
            gate: Arc::clone(&gate),
        })),
    );
    let printer = editor.create_external_printer()?;
    thread::spawn(move || {
        loop {
            let prompt = GatedPrompt {
                gate: &gate,
                told: Cell::new(false),
            };
            let message = match editor.readline(&prompt) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    Incoming::Line(line)
                }
                Err(ReadlineError::Interrupted) if gate.end_of_input.load(Ordering::SeqCst) => {
                    Incoming::EndOfInput
                }
                Err(ReadlineError::Eof) => Incoming::EndOfInput,
                Err(ReadlineError::Interrupted) => Incoming::Interrupted,
                Err(e) => Incoming::Failed(e.to_string()),
            };
            let is_line = matches!(message, Incoming::Line(_));
            if !is_line {
                // rustyline has left raw mode and will not run again.
                gate.set(Phase::Ended);
            }
            if tx.send(message).is_err() || !is_line {
                gate.set(Phase::Ended);
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
        let (start, pairs) = PromptHelper::default()
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
        assert_eq!(completions("row"), (0, vec!["rows".to_string()]));
        assert_eq!(completions("rows a"), (5, vec!["all".to_string()]));
        assert_eq!(
            completions("rows "),
            (5, vec!["all".to_string(), "fit".to_string()])
        );
        assert_eq!(completions("rows 2"), (5, vec![]));
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
        let text = banner(&process, Interval::DEFAULT, None);
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
    fn the_gate_opens_while_rustyline_edits_and_after_it_ended() {
        let gate = Gate::new();
        assert!(gate.open(Duration::ZERO).is_none(), "closed until a prompt");
        // The prompt is drawn: opens once per readline.
        let prompt = GatedPrompt {
            gate: &gate,
            told: Cell::new(false),
        };
        assert_eq!(prompt.raw(), "netmonitor> ");
        assert!(gate.open(Duration::ZERO).is_some());
        // Enter: closed, and drawing the accepted line again does not open it.
        gate.set(Phase::Answering);
        assert_eq!(prompt.raw(), "netmonitor> ");
        assert!(gate.open(Duration::ZERO).is_none());
        // Input ended: open for good.
        gate.set(Phase::Ended);
        gate.set(Phase::Answering);
        assert_eq!(*gate.open(Duration::ZERO).expect("open"), Phase::Ended);
    }

    #[test]
    fn the_banner_waits_for_a_key_only_without_a_tab() {
        let process = Process {
            pid: 7,
            name: "x".into(),
            cmdline: String::new(),
            start_time: 1,
            parent: 1,
            netns: None,
            netns_error: None,
            via_thread: None,
        };
        let waiting = banner(&process, Interval::DEFAULT, None);
        assert!(
            waiting.ends_with(
                "No tab selected: tcp appears 2 s after the start.\nPress any key to start"
            ),
            "{waiting}"
        );
        let given = banner(&process, Interval::DEFAULT, Some(Tab::Traffic));
        assert!(
            given.ends_with("Showing traffic, refreshed every 2 s.\n"),
            "{given}"
        );
        assert!(!given.contains("No tab selected") && !given.contains("Press any key"));
        assert!(waiting.contains("rows N") && waiting.contains("Ctrl+D, whatever is typed"));
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
