//! The session as a pure state machine: the spec's states (START, NO_PID,
//! INVALID_PID, FAIL_EXIT, NO_SELECTION, REFRESHING, TAB_SELECTED,
//! TERMINATED), the events that move between them, and [`step`], which has
//! no I/O and returns the next state with the [`Effect`]s the driver
//! (`repl`) performs. A session also holds what the user changes at the
//! prompt (interval, counter display, scope and filter). The diagram and the
//! transitions beyond the spec's are in docs/design.md.

use crate::command::{Command, CommandError};
use crate::vocab::{CounterDisplay, RowCap, Tab, ViewSettings};
use crate::vocab::{Interval, Toggle};

/// Exit statuses, documented in `--help` and the README.
pub mod exit {
    /// The session ended normally (Ctrl+D, end of input, `quit`, or the
    /// monitored process exited).
    pub const OK: i32 = 0;
    /// The process does not exist or cannot be monitored, or output failed.
    pub const FAILURE: i32 = 1;
    /// Usage error: missing or malformed arguments.
    pub const USAGE: i32 = 2;
}

/// The states of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Start,
    NoPid,
    InvalidPid,
    FailExit,
    NoSelection,
    TabSelected(Tab),
    Refreshing(Tab),
    Terminated,
}

impl State {
    /// The tab on screen, if any.
    pub fn tab(self) -> Option<Tab> {
        match self {
            State::TabSelected(tab) | State::Refreshing(tab) => Some(tab),
            _ => None,
        }
    }

    fn is_running(self) -> bool {
        matches!(
            self,
            State::NoSelection | State::TabSelected(_) | State::Refreshing(_)
        )
    }
}

/// What can happen to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The command line named no pid.
    PidMissing,
    /// The command line's pid is malformed.
    PidInvalid,
    /// The driver has reported a usage error.
    UsageReported,
    /// The pid names a process that can be monitored.
    PidAccepted,
    /// A line of input, parsed.
    Line(Result<Command, CommandError>),
    /// The refresh interval passed.
    Tick,
    /// Ctrl+D, or the end of piped input.
    EndOfInput,
    /// Ctrl+C on an empty line.
    Interrupted,
    /// The process exited or its pid was reused; the message says which.
    ProcessGone(String),
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Read a snapshot and print this tab.
    Show(Tab),
    /// Print an informational line.
    Say(String),
    /// Print a one-line error; the session goes on.
    Complain(String),
    /// Print this tab again from the snapshots already read (a display
    /// setting changed; reading anew would shorten the change window).
    Redraw(Tab),
    /// Print the command help.
    Help,
    /// Restart the refresh timer: the next tick comes one interval from
    /// now (a tab was selected, or the interval changed). A tick that was
    /// already due is not printed.
    RestartTimer,
    /// End the program with this status.
    Exit(i32),
}

/// A session: its state and settings. [`step`] consumes one and returns
/// the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub state: State,
    pub interval: Interval,
    /// How the counter tables are filtered (`zeros`, `changed`).
    pub counters: CounterDisplay,
    /// Scope and filter of the socket tabs.
    pub view: ViewSettings,
    /// How many rows of each table are printed (`rows`).
    pub rows: RowCap,
}

impl Session {
    /// What the views of this session read besides the snapshots.
    pub(crate) fn view_context<'a>(
        &'a self,
        process: &'a crate::snapshot::Process,
        settings: &'a crate::tabs::Settings,
    ) -> crate::tabs::ViewContext<'a> {
        crate::tabs::ViewContext {
            process,
            interval: self.interval.duration(),
            users: &settings.users,
            numeric: settings.numeric,
            endian: settings.endian,
            clock_ticks: settings.clock_ticks,
            counters: self.counters,
            view: &self.view,
            earlier: None,
            totals: None,
            replay: None,
            rows_shown: None,
            rows_later: false,
        }
    }

    pub fn new(interval: Interval) -> Self {
        Session {
            state: State::Start,
            interval,
            counters: CounterDisplay::default(),
            view: ViewSettings::default(),
            rows: RowCap::default(),
        }
    }
}

/// The one-line answer to a toggle, saying what is shown now.
fn toggle_message(counters: CounterDisplay, toggle: Toggle) -> String {
    let what = match (toggle, counters.zeros, counters.changed_only) {
        (Toggle::Zeros, true, _) => "zero counters shown",
        (Toggle::Zeros, false, _) => "zero counters hidden",
        (Toggle::Changed, _, true) => "only counters that changed in the last tick shown",
        (Toggle::Changed, _, false) => "counters shown whether they changed or not",
    };
    format!("stats and analysis: {what}")
}

/// The transition function.
pub fn step(session: Session, event: Event) -> (Session, Vec<Effect>) {
    let Session {
        state,
        interval,
        counters,
        view,
        rows,
    } = session;
    let to = |state: State| Session {
        state,
        interval,
        counters,
        view: view.clone(),
        rows,
    };
    // The socket tabs' view settings changed: same state, new settings, and
    // the tab on screen printed again with `effect`.
    let with_view = |view: ViewSettings, message: String, effect: fn(Tab) -> Effect| {
        let mut effects = vec![Effect::Say(message)];
        effects.extend(state.tab().map(effect));
        (
            Session {
                state,
                interval,
                counters,
                view,
                rows,
            },
            effects,
        )
    };
    match (state, event) {
        (State::Start, Event::PidMissing) => (to(State::NoPid), vec![]),
        (State::Start, Event::PidInvalid) => (to(State::InvalidPid), vec![]),
        (State::NoPid | State::InvalidPid, Event::UsageReported) => {
            (to(State::FailExit), vec![Effect::Exit(exit::USAGE)])
        }
        (State::Start, Event::PidAccepted) => (to(State::NoSelection), vec![]),

        (state, Event::Line(Ok(command))) if state.is_running() => match command {
            // The tab is printed now and refreshed one interval later: the
            // timer starts again, so a tick of the tab left never follows.
            Command::Show(tab) => (
                to(State::TabSelected(tab)),
                vec![Effect::Show(tab), Effect::RestartTimer],
            ),
            Command::Set(new) => (
                Session {
                    state,
                    interval: new,
                    counters,
                    view: view.clone(),
                    rows,
                },
                vec![
                    Effect::Say(format!("refresh interval set to {new}")),
                    Effect::RestartTimer,
                ],
            ),
            Command::Help => (to(state), vec![Effect::Help]),
            Command::Refresh => {
                let effects = state.tab().map(Effect::Show).into_iter().collect();
                (to(state), effects)
            }
            Command::Quit => (to(State::Terminated), vec![Effect::Exit(exit::OK)]),
            Command::Toggle(toggle) => {
                let counters = counters.toggled(toggle);
                let mut effects = vec![Effect::Say(toggle_message(counters, toggle))];
                if let Some(tab) = state.tab().filter(|t| t.uses_counter_display()) {
                    effects.push(Effect::Redraw(tab));
                }
                (
                    Session {
                        state,
                        interval,
                        counters,
                        view: view.clone(),
                        rows,
                    },
                    effects,
                )
            }
            // The row cap only changes what is printed: the tick on screen
            // is drawn again.
            Command::Rows(rows) => (
                Session {
                    state,
                    interval,
                    counters,
                    view: view.clone(),
                    rows,
                },
                std::iter::once(Effect::Say(format!("rows: {}", rows.describe())))
                    .chain(state.tab().map(Effect::Redraw))
                    .collect(),
            ),
            // A new scope may need owners the last snapshot did not read:
            // read anew.
            Command::Scope(scope) => with_view(
                ViewSettings {
                    scope,
                    ..view.clone()
                },
                format!("scope {}: {}", scope.name(), scope.describe()),
                Effect::Show,
            ),
            // A filter only changes what is displayed: draw the snapshots
            // already read again, so the change marks stay.
            Command::Filter(filter) => {
                let message = match &filter {
                    Some(f) => format!("filter: rows containing '{}'", f.text()),
                    None => "filter cleared: all rows".to_string(),
                };
                with_view(
                    ViewSettings {
                        filter,
                        ..view.clone()
                    },
                    message,
                    Effect::Redraw,
                )
            }
        },
        (state, Event::Line(Err(error))) if state.is_running() => {
            (to(state), vec![Effect::Complain(error.to_string())])
        }
        (State::NoSelection, Event::Tick) => (
            to(State::Refreshing(Tab::DEFAULT)),
            vec![Effect::Show(Tab::DEFAULT)],
        ),
        (State::Refreshing(tab) | State::TabSelected(tab), Event::Tick) => {
            (to(state), vec![Effect::Show(tab)])
        }
        (state, Event::EndOfInput | Event::Interrupted) if state.is_running() => {
            (to(State::Terminated), vec![Effect::Exit(exit::OK)])
        }
        (state, Event::ProcessGone(message)) if state.is_running() => (
            to(State::Terminated),
            vec![Effect::Say(message), Effect::Exit(exit::OK)],
        ),
        // Anything else changes nothing: events after the end, or events
        // that cannot happen in a state (a tick before the pid is known).
        (state, _) => (to(state), vec![]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabs::{Filter, Scope};
    use std::time::Duration;

    fn session(state: State) -> Session {
        Session {
            state,
            ..Session::new(Interval::DEFAULT)
        }
    }

    fn line(text: &str) -> Event {
        Event::Line(Command::parse(text))
    }

    #[test]
    fn start_without_pid_fails_with_usage_status() {
        let (s, effects) = step(session(State::Start), Event::PidMissing);
        assert_eq!(s.state, State::NoPid);
        assert!(effects.is_empty());
        let (s, effects) = step(s, Event::UsageReported);
        assert_eq!(s.state, State::FailExit);
        assert_eq!(effects, vec![Effect::Exit(exit::USAGE)]);
    }

    #[test]
    fn start_with_invalid_pid_fails_with_usage_status() {
        let (s, _) = step(session(State::Start), Event::PidInvalid);
        assert_eq!(s.state, State::InvalidPid);
        let (s, effects) = step(s, Event::UsageReported);
        assert_eq!(s.state, State::FailExit);
        assert_eq!(effects, vec![Effect::Exit(exit::USAGE)]);
    }

    #[test]
    fn start_with_valid_pid_waits_for_a_selection() {
        let (s, effects) = step(session(State::Start), Event::PidAccepted);
        assert_eq!(s.state, State::NoSelection);
        assert!(effects.is_empty());
    }

    #[test]
    fn no_selection_to_tab_selected() {
        let (s, effects) = step(session(State::NoSelection), line("tcp"));
        assert_eq!(s.state, State::TabSelected(Tab::Tcp));
        assert_eq!(effects, vec![Effect::Show(Tab::Tcp), Effect::RestartTimer]);
    }

    #[test]
    fn no_selection_to_refreshing_default_tab_after_one_interval() {
        let (s, effects) = step(session(State::NoSelection), Event::Tick);
        assert_eq!(s.state, State::Refreshing(Tab::DEFAULT));
        assert_eq!(effects, vec![Effect::Show(Tab::Tcp)]);
        let (s, effects) = step(s, Event::Tick);
        assert_eq!(s.state, State::Refreshing(Tab::Tcp));
        assert_eq!(effects, vec![Effect::Show(Tab::Tcp)]);
    }

    #[test]
    fn refreshing_to_tab_selected() {
        let (s, effects) = step(session(State::Refreshing(Tab::Tcp)), line("tcp"));
        assert_eq!(s.state, State::TabSelected(Tab::Tcp));
        assert_eq!(effects, vec![Effect::Show(Tab::Tcp), Effect::RestartTimer]);
    }

    #[test]
    fn tab_selected_to_another_tab_restarts_the_timer() {
        let (s, effects) = step(session(State::TabSelected(Tab::Tcp)), line("udp"));
        assert_eq!(s.state, State::TabSelected(Tab::Udp));
        assert_eq!(effects, vec![Effect::Show(Tab::Udp), Effect::RestartTimer]);
        // The next tick shows the tab chosen, never the one left.
        let (s, effects) = step(s, Event::Tick);
        assert_eq!(s.state, State::TabSelected(Tab::Udp));
        assert_eq!(effects, vec![Effect::Show(Tab::Udp)]);
    }

    #[test]
    fn rows_sets_the_cap_and_redraws_the_tab_on_screen() {
        let (s, effects) = step(session(State::TabSelected(Tab::Udp)), line("rows 200"));
        assert_eq!(s.state, State::TabSelected(Tab::Udp));
        assert_eq!(s.rows, RowCap::Limit(200));
        assert_eq!(
            effects,
            vec![
                Effect::Say("rows: tables show at most 200 rows".into()),
                Effect::Redraw(Tab::Udp)
            ]
        );
        let (s, effects) = step(s, line("rows all"));
        assert_eq!(s.rows, RowCap::All);
        assert_eq!(
            effects,
            vec![
                Effect::Say("rows: tables show every row".into()),
                Effect::Redraw(Tab::Udp)
            ]
        );
        let (s, _) = step(s, line("rows fit"));
        assert_eq!(s.rows, RowCap::Fit);
    }

    #[test]
    fn rows_without_a_tab_only_confirms_and_survives_changes() {
        let (s, effects) = step(session(State::NoSelection), line("rows 7"));
        assert_eq!(s.state, State::NoSelection);
        assert_eq!(
            effects,
            vec![Effect::Say("rows: tables show at most 7 rows".into())]
        );
        let (s, _) = step(s, Event::Tick);
        let (s, _) = step(s, line("arp"));
        let (s, _) = step(s, line("set 3"));
        assert_eq!(s.rows, RowCap::Limit(7));
        let before = s.clone();
        let (s, effects) = step(s, line("rows 0"));
        assert_eq!(s, before);
        assert!(matches!(effects.as_slice(), [Effect::Complain(_)]));
    }

    #[test]
    fn tab_selected_to_terminated_on_ctrl_d() {
        let (s, effects) = step(session(State::TabSelected(Tab::Tcp)), Event::EndOfInput);
        assert_eq!(s.state, State::Terminated);
        assert_eq!(effects, vec![Effect::Exit(exit::OK)]);
    }

    #[test]
    fn tab_selected_reprints_on_every_tick() {
        let (s, effects) = step(session(State::TabSelected(Tab::Tcp)), Event::Tick);
        assert_eq!(s.state, State::TabSelected(Tab::Tcp));
        assert_eq!(effects, vec![Effect::Show(Tab::Tcp)]);
    }

    #[test]
    fn every_running_state_can_end() {
        for state in [
            State::NoSelection,
            State::Refreshing(Tab::Tcp),
            State::TabSelected(Tab::Tcp),
        ] {
            for event in [Event::EndOfInput, Event::Interrupted, line("quit")] {
                let (s, effects) = step(session(state), event);
                assert_eq!(s.state, State::Terminated);
                assert_eq!(effects, vec![Effect::Exit(exit::OK)]);
            }
            let (s, effects) = step(session(state), Event::ProcessGone("gone".into()));
            assert_eq!(s.state, State::Terminated);
            assert_eq!(
                effects,
                vec![Effect::Say("gone".into()), Effect::Exit(exit::OK)]
            );
        }
    }

    #[test]
    fn set_changes_the_interval_and_keeps_the_state() {
        let (s, effects) = step(session(State::TabSelected(Tab::Tcp)), line("set 6"));
        assert_eq!(s.state, State::TabSelected(Tab::Tcp));
        assert_eq!(s.interval.duration(), Duration::from_secs(6));
        assert_eq!(
            effects,
            vec![
                Effect::Say("refresh interval set to 6 s".into()),
                Effect::RestartTimer
            ]
        );
    }

    #[test]
    fn bad_input_complains_and_changes_nothing() {
        for text in ["set 0", "set abc", "bogus", "tcp extra"] {
            let before = session(State::TabSelected(Tab::Tcp));
            let (s, effects) = step(before.clone(), line(text));
            assert_eq!(s, before);
            assert!(
                matches!(effects.as_slice(), [Effect::Complain(_)]),
                "{text}"
            );
        }
    }

    #[test]
    fn empty_line_reprints_the_current_tab_only() {
        let (_, effects) = step(session(State::TabSelected(Tab::Tcp)), line(""));
        assert_eq!(effects, vec![Effect::Show(Tab::Tcp)]);
        let (s, effects) = step(session(State::NoSelection), line(""));
        assert_eq!(s.state, State::NoSelection);
        assert!(effects.is_empty());
    }

    #[test]
    fn zeros_toggles_and_redraws_a_counter_tab() {
        let (s, effects) = step(session(State::TabSelected(Tab::Stats)), line("zeros"));
        assert_eq!(s.state, State::TabSelected(Tab::Stats));
        assert!(s.counters.zeros);
        assert!(!s.counters.changed_only);
        assert_eq!(
            effects,
            vec![
                Effect::Say("stats and analysis: zero counters shown".into()),
                Effect::Redraw(Tab::Stats)
            ]
        );
        let (s, effects) = step(s, line("zeros"));
        assert!(!s.counters.zeros);
        assert_eq!(
            effects,
            vec![
                Effect::Say("stats and analysis: zero counters hidden".into()),
                Effect::Redraw(Tab::Stats)
            ]
        );
    }

    #[test]
    fn changed_toggles_and_redraws_a_counter_tab() {
        let (s, effects) = step(session(State::Refreshing(Tab::Analysis)), line("changed"));
        assert_eq!(s.state, State::Refreshing(Tab::Analysis));
        assert!(s.counters.changed_only);
        assert!(!s.counters.zeros);
        assert_eq!(
            effects,
            vec![
                Effect::Say(
                    "stats and analysis: only counters that changed in the last tick shown".into()
                ),
                Effect::Redraw(Tab::Analysis)
            ]
        );
        let (s, _) = step(s, line("changed"));
        assert!(!s.counters.changed_only);
    }

    #[test]
    fn toggles_elsewhere_only_answer() {
        for state in [State::NoSelection, State::TabSelected(Tab::Tcp)] {
            let (s, effects) = step(session(state), line("changed"));
            assert_eq!(s.state, state);
            assert!(s.counters.changed_only);
            assert!(
                matches!(effects.as_slice(), [Effect::Say(_)]),
                "{effects:?}"
            );
        }
    }

    #[test]
    fn toggles_survive_set_and_tab_changes() {
        let (s, _) = step(session(State::TabSelected(Tab::Stats)), line("zeros"));
        let (s, _) = step(s, line("set 5"));
        let (s, _) = step(s, line("analysis"));
        let (s, _) = step(s, Event::Tick);
        assert!(s.counters.zeros);
        assert_eq!(s.state, State::TabSelected(Tab::Analysis));
    }

    #[test]
    fn scope_changes_keep_the_state_and_reprint_the_tab() {
        for (text, scope) in [
            ("scope all", Scope::All),
            ("scope tree", Scope::Tree),
            ("scope own", Scope::Own),
        ] {
            let before = Session {
                view: ViewSettings {
                    filter: Filter::new("x"),
                    ..ViewSettings::default()
                },
                ..session(State::TabSelected(Tab::Udp))
            };
            let (s, effects) = step(before, line(text));
            assert_eq!(s.state, State::TabSelected(Tab::Udp));
            assert_eq!(s.view.scope, scope);
            assert_eq!(s.view.filter, Filter::new("x"), "filter kept");
            assert_eq!(
                effects,
                vec![
                    Effect::Say(format!("scope {}: {}", scope.name(), scope.describe())),
                    Effect::Show(Tab::Udp)
                ]
            );
        }
    }

    #[test]
    fn scope_without_a_tab_on_screen_only_confirms() {
        let (s, effects) = step(session(State::NoSelection), line("scope all"));
        assert_eq!(s.state, State::NoSelection);
        assert_eq!(s.view.scope, Scope::All);
        assert!(matches!(effects.as_slice(), [Effect::Say(_)]));
    }

    #[test]
    fn filter_is_set_and_cleared() {
        let (s, effects) = step(session(State::Refreshing(Tab::Tcp)), line("filter 127.0"));
        assert_eq!(s.state, State::Refreshing(Tab::Tcp));
        assert_eq!(s.view.filter, Filter::new("127.0"));
        assert_eq!(s.view.scope, Scope::Own, "scope kept");
        assert_eq!(
            effects,
            vec![
                Effect::Say("filter: rows containing '127.0'".into()),
                Effect::Redraw(Tab::Tcp)
            ]
        );
        let (s, effects) = step(s, line("filter"));
        assert_eq!(s.view.filter, None);
        assert_eq!(
            effects,
            vec![
                Effect::Say("filter cleared: all rows".into()),
                Effect::Redraw(Tab::Tcp)
            ]
        );
    }

    #[test]
    fn bad_scope_complains_and_keeps_settings() {
        let before = session(State::TabSelected(Tab::Raw));
        let (s, effects) = step(before.clone(), line("scope nowhere"));
        assert_eq!(s, before);
        assert!(matches!(effects.as_slice(), [Effect::Complain(_)]));
    }

    #[test]
    fn view_settings_survive_ticks_and_tab_changes() {
        let mut s = session(State::TabSelected(Tab::Tcp));
        s.view.scope = Scope::All;
        s.view.filter = Filter::new("x");
        let expected = s.view.clone();
        let (s, _) = step(s, Event::Tick);
        let (s, _) = step(s, line("icmp"));
        let (s, _) = step(s, line("set 3"));
        assert_eq!(s.state, State::TabSelected(Tab::Icmp));
        assert_eq!(s.view, expected);
    }

    #[test]
    fn nothing_happens_after_the_end() {
        for event in [Event::Tick, line("tcp"), Event::EndOfInput] {
            let (s, effects) = step(session(State::Terminated), event);
            assert_eq!(s.state, State::Terminated);
            assert!(effects.is_empty());
        }
        let (s, effects) = step(session(State::Start), Event::Tick);
        assert_eq!(s.state, State::Start);
        assert!(effects.is_empty());
    }
}
