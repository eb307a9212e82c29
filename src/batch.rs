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

use crate::accounting::Accounting;
use crate::capture::Capture;
use crate::cli::{BatchMode, Format};
use crate::render::{LineCache, RenderOptions, sanitize};
use crate::report::{Tick, json_document, openmetrics};
use crate::session::{Session, exit};
use crate::snapshot::Process;
use crate::source::{Liveness, ProcSource};
use crate::tabs::{CounterDisplay, Settings, Tab, ViewContext, Viewed, text_with, view_with};

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
    let mut previous: Option<Viewed> = None;
    // A single print has no second tick to compare with: nothing to count.
    let mut accounting = (mode.count > 1).then(|| {
        Accounting::start(
            &crate::diag::Netlink,
            &source.view_dir(&process),
            source.origin(),
            settings.replay_totals.clone(),
        )
    });
    let mut stdout = io::stdout().lock();
    // The lines of the last tick's big table, for its unchanged rows.
    let mut lines = LineCache::default();
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
        let mut taken = crate::tick::take_viewed(
            source,
            &process,
            settings,
            tab,
            session.view.scope,
            previous.as_ref(),
            accounting.as_mut(),
            number,
        );
        if let Some(capture) = capture.as_mut() {
            if let Err(e) = capture.write_tick(source, &process, taken.totals.as_ref()) {
                eprintln!("netmonitor: {}", sanitize(&e.to_string()));
                return exit::FAILURE;
            }
        }
        let ctx = ViewContext {
            earlier: previous.as_ref().map(|p| &p.snapshot),
            totals: taken.totals.as_ref(),
            replay: taken.replay.as_ref(),
            ..session.view_context(&process, settings)
        };
        let before = previous.as_ref().map(Viewed::before);
        let (text, sockets) = match mode.format {
            Format::Text => {
                let (mut text, sockets) = text_with(
                    tab,
                    &ctx,
                    &taken.snapshot,
                    before,
                    &text_options(),
                    &mut lines,
                );
                if number < mode.count {
                    text.push('\n');
                }
                (text, sockets)
            }
            Format::Json | Format::Openmetrics => {
                let (screen, sockets) = view_with(tab, &ctx, &taken.snapshot, before);
                let tick = Tick {
                    tab,
                    number,
                    process: &process,
                    taken_at: taken.snapshot.taken_at,
                    elapsed: previous
                        .as_ref()
                        .and_then(|p| {
                            taken
                                .snapshot
                                .instant
                                .checked_duration_since(p.snapshot.instant)
                        })
                        .map(|d| d.as_secs_f64()),
                    interval_seconds: interval.as_secs_f64(),
                };
                let text = if mode.format == Format::Json {
                    let document = json_document(&screen, &tick);
                    let text = if mode.once {
                        serde_json::to_string_pretty(&document)
                    } else {
                        serde_json::to_string(&document)
                    };
                    text.unwrap_or_default() + "\n"
                } else {
                    openmetrics(&screen, &tick)
                };
                (text, sockets)
            }
        };
        // Keep this tick only when another tick follows, without the text
        // its socket set was parsed from.
        let previous_for_next = (number < mode.count).then(|| {
            taken.sockets = sockets;
            taken.settle();
            taken
        });
        let written = stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush());
        lines.keep(text);
        match written {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return exit::OK,
            Err(e) => {
                eprintln!("netmonitor: cannot write output: {e}");
                return exit::FAILURE;
            }
        }
        previous = previous_for_next;
        if number < mode.count {
            // Only waiting for the next tick now.
            crate::memory::release_freed();
        }
    }
    exit::OK
}

/// Every row; on a terminal with its width and colour (unless `NO_COLOR`),
/// otherwise plain text.
fn text_options() -> RenderOptions {
    if io::stdout().is_terminal() {
        RenderOptions {
            max_rows: None,
            ..RenderOptions::terminal()
        }
    } else {
        RenderOptions::plain()
    }
}
