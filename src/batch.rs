//! Runs without a prompt: `--once` and `--count N` print N ticks of one
//! tab, `--interval` apart, as text tables, JSON documents (one per line
//! with `--count`) or OpenMetrics expositions, then exit.
//!
//! Each tick reads a snapshot, writes the capture when `--capture` is on,
//! builds the tab's screen against the previous tick (so changes and rates
//! appear from the second tick) and renders it in the chosen format — the
//! same screen the prompt shows, through [`crate::report`] for the machine
//! formats. The process exiting ends the run early with status 0, like a
//! session.

use std::io::{self, IsTerminal, Write};
use std::time::Instant;

use crate::capture::Capture;
use crate::cli::{BatchMode, Format};
use crate::render::{RenderOptions, render, sanitize};
use crate::repl::{Settings, take_snapshot, terminal_render_options, view_context};
use crate::report::{Tick, json_document, openmetrics};
use crate::session::{Session, exit};
use crate::source::{Liveness, ProcSource, Process, Snapshot};
use crate::tabs::{CounterDisplay, Tab, ViewContext, view};

/// Prints `mode.count` ticks of `tab` to stdout; returns the exit status.
pub fn run(
    source: &ProcSource,
    mut process: Process,
    settings: &Settings,
    mut session: Session,
    tab: Tab,
    mode: BatchMode,
    mut capture: Option<Capture>,
) -> i32 {
    if mode.format != Format::Text {
        // Machine output lists every counter: a series that comes and goes
        // with its value would break rates and scripts.
        session.counters = CounterDisplay {
            zeros: true,
            changed_only: false,
        };
    }
    let interval = session.interval.duration();
    let start = Instant::now();
    let mut previous: Option<Snapshot> = None;
    let mut stdout = io::stdout().lock();
    for number in 1..=mode.count {
        if number > 1 {
            // Ticks keep their pace whatever a tick costs.
            let due =
                start + interval.saturating_mul(u32::try_from(number - 1).unwrap_or(u32::MAX));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            match source.check(&mut process) {
                Liveness::Alive => {}
                Liveness::Exited | Liveness::Replaced => {
                    eprintln!(
                        "netmonitor: process {} ({}) exited",
                        process.pid,
                        sanitize(&process.name)
                    );
                    return exit::OK;
                }
            }
        }
        // The sock_diag dump of every tick gives the status box its TCP
        // rate; a single print has no second tick to compare with.
        let snapshot = take_snapshot(
            source,
            &process,
            settings,
            &session,
            tab,
            mode.count > 1,
            previous.as_ref(),
        );
        if let Some(capture) = capture.as_mut() {
            if let Err(e) = capture.write_tick(source, &process) {
                eprintln!("netmonitor: {}", sanitize(&e.to_string()));
                return exit::FAILURE;
            }
        }
        let ctx = ViewContext {
            earlier: previous.as_ref(),
            ..view_context(&process, settings, &session)
        };
        let screen = view(tab, &ctx, &snapshot, previous.as_ref());
        let tick = Tick {
            tab,
            number,
            process: &process,
            taken_at: snapshot.taken_at,
            elapsed: previous
                .as_ref()
                .and_then(|p| snapshot.instant.checked_duration_since(p.instant))
                .map(|d| d.as_secs_f64()),
            interval_seconds: interval.as_secs_f64(),
        };
        // Keep this tick's files only when another tick follows: the text of
        // a big table (15 MB for 100 000 sockets) is not needed to render.
        let previous_for_next = (number < mode.count).then_some(snapshot);
        let text = match mode.format {
            Format::Text => {
                let mut text = render(&screen, &text_options());
                if number < mode.count {
                    text.push('\n');
                }
                text
            }
            Format::Json => {
                let document = json_document(&screen, &tick);
                let text = if mode.once {
                    serde_json::to_string_pretty(&document)
                } else {
                    serde_json::to_string(&document)
                };
                text.unwrap_or_default() + "\n"
            }
            Format::Openmetrics => openmetrics(&screen, &tick),
        };
        match stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush())
        {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return exit::OK,
            Err(e) => {
                eprintln!("netmonitor: cannot write output: {e}");
                return exit::FAILURE;
            }
        }
        previous = previous_for_next;
    }
    exit::OK
}

/// Every row; on a terminal with its width and colour (unless `NO_COLOR`),
/// otherwise plain text.
fn text_options() -> RenderOptions {
    if io::stdout().is_terminal() {
        RenderOptions {
            max_rows: None,
            ..terminal_render_options()
        }
    } else {
        RenderOptions::plain()
    }
}
