//! What a line typed at the prompt (or piped on stdin) means.
//!
//! Parsing is pure and total: any string, however long or odd, becomes a
//! [`Command`] or a one-line [`CommandError`] that the session prints
//! before going on. `set` and `--interval` share one interval parser
//! ([`Interval::parse`]).

use thiserror::Error;

use crate::vocab::{Filter, Interval, IntervalError, RowCap, Scope, Tab, Toggle, command_words};

/// Parses `--interval` for clap.
pub fn parse_interval_arg(text: &str) -> Result<Interval, String> {
    Interval::parse(text).map_err(|e| e.to_string())
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Show a tab (and keep refreshing it).
    Show(Tab),
    /// Change the refresh interval.
    Set(Interval),
    Help,
    Quit,
    /// An empty line: reprint the current tab now.
    Refresh,
    /// Change whose sockets the socket tabs show.
    Scope(Scope),
    /// Keep only rows containing this text; `None` clears the filter.
    Filter(Option<Filter>),
    /// Flip one way of filtering the counter tables (stats, analysis).
    Toggle(Toggle),
    /// How many rows of each table are printed.
    Rows(RowCap),
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    #[error("unknown command '{word}'{} — try help", suggestion.map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    Unknown {
        word: String,
        suggestion: Option<&'static str>,
    },
    #[error("'{0}' takes no arguments")]
    UnexpectedArgument(&'static str),
    #[error("set needs a number of seconds from 0.5 to 3600, such as 'set 5'")]
    MissingInterval,
    #[error(transparent)]
    Interval(#[from] IntervalError),
    #[error("scope takes one of: own, all, tree (such as 'scope all')")]
    BadScope,
    #[error("rows takes a number of rows from 1 to 1000000, 'all' or 'fit' (such as 'rows 200')")]
    BadRows,
}

impl Command {
    /// Parses one line. Surrounding blanks are ignored; words are
    /// case-insensitive.
    pub fn parse(line: &str) -> Result<Command, CommandError> {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else {
            return Ok(Command::Refresh);
        };
        let rest: Vec<&str> = words.collect();
        let keyword = first.to_ascii_lowercase();
        let no_arguments = |name: &'static str, command: Command| {
            if rest.is_empty() {
                Ok(command)
            } else {
                Err(CommandError::UnexpectedArgument(name))
            }
        };
        if let Some(tab) = Tab::from_name(&keyword) {
            return no_arguments(tab.name(), Command::Show(tab));
        }
        match keyword.as_str() {
            "set" => match rest.as_slice() {
                [] => Err(CommandError::MissingInterval),
                [value] => Ok(Command::Set(Interval::parse(value)?)),
                _ => Err(IntervalError(rest.join(" ").chars().take(40).collect()).into()),
            },
            "scope" => match rest.as_slice() {
                [word] => Scope::from_name(word)
                    .map(Command::Scope)
                    .ok_or(CommandError::BadScope),
                _ => Err(CommandError::BadScope),
            },
            "rows" => match rest.as_slice() {
                [word] => RowCap::parse(word)
                    .map(Command::Rows)
                    .ok_or(CommandError::BadRows),
                _ => Err(CommandError::BadRows),
            },
            // The filter is the rest of the line as typed (inner blanks
            // kept), not the split words.
            "filter" => Ok(Command::Filter(Filter::new(after_first_word(line)))),
            "zeros" => no_arguments("zeros", Command::Toggle(Toggle::Zeros)),
            "changed" => no_arguments("changed", Command::Toggle(Toggle::Changed)),
            "help" | "?" => no_arguments("help", Command::Help),
            "quit" | "exit" | "q" => no_arguments("quit", Command::Quit),
            _ => Err(CommandError::Unknown {
                word: first.chars().take(40).collect(),
                suggestion: suggest(&keyword),
            }),
        }
    }
}

/// `line` without its first word and the blanks around it.
fn after_first_word(line: &str) -> &str {
    let line = line.trim_start();
    let end = line.find(char::is_whitespace).unwrap_or(line.len());
    line[end..].trim()
}

/// The known word closest to `word`, if one is close enough to be a typo.
fn suggest(word: &str) -> Option<&'static str> {
    command_words()
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(word, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2 && *distance < candidate.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> Option<u128> {
        Interval::parse(text).ok().map(|i| i.duration().as_millis())
    }

    #[test]
    fn intervals_in_range() {
        assert_eq!(ms("2"), Some(2000));
        assert_eq!(ms("0.5"), Some(500));
        assert_eq!(ms(".5"), Some(500));
        assert_eq!(ms("6."), Some(6000));
        assert_eq!(ms("3600"), Some(3_600_000));
        assert_eq!(ms("3600.000"), Some(3_600_000));
        assert_eq!(ms("00012.250"), Some(12_250));
        assert_eq!(ms(" 1.5 "), Some(1500));
    }

    #[test]
    fn intervals_refused() {
        for bad in [
            "",
            ".",
            "0",
            "0.4999",
            "-1",
            "+1",
            "abc",
            "inf",
            "NaN",
            "1e20",
            "1e2",
            "0x10",
            "3600.001",
            "3601",
            "18446744073709551615",
            "99999999999999999999999",
            "1..2",
            "1 2",
            "١",
            "2s",
        ] {
            assert_eq!(ms(bad), None, "{bad:?}");
        }
        let message = Interval::parse("abc").unwrap_err().to_string();
        assert!(message.contains("0.5 to 3600"), "{message}");
    }

    #[test]
    fn commands() {
        assert_eq!(Command::parse("tcp"), Ok(Command::Show(Tab::Tcp)));
        assert_eq!(Command::parse("  TCP \r"), Ok(Command::Show(Tab::Tcp)));
        assert_eq!(
            Command::parse("set 6"),
            Ok(Command::Set(Interval::parse("6").unwrap()))
        );
        assert_eq!(Command::parse(""), Ok(Command::Refresh));
        assert_eq!(Command::parse("   "), Ok(Command::Refresh));
        assert_eq!(Command::parse("help"), Ok(Command::Help));
        assert_eq!(Command::parse("exit"), Ok(Command::Quit));
        assert_eq!(Command::parse("set"), Err(CommandError::MissingInterval));
        assert!(matches!(
            Command::parse("set 0"),
            Err(CommandError::Interval(_))
        ));
        assert!(matches!(
            Command::parse("set 1 2"),
            Err(CommandError::Interval(_))
        ));
        assert_eq!(
            Command::parse("tcp now"),
            Err(CommandError::UnexpectedArgument("tcp"))
        );
    }

    #[test]
    fn scope_commands() {
        assert_eq!(Command::parse("scope all"), Ok(Command::Scope(Scope::All)));
        assert_eq!(
            Command::parse(" SCOPE Tree "),
            Ok(Command::Scope(Scope::Tree))
        );
        assert_eq!(Command::parse("scope own"), Ok(Command::Scope(Scope::Own)));
        for bad in ["scope", "scope everything", "scope all own"] {
            assert_eq!(Command::parse(bad), Err(CommandError::BadScope), "{bad}");
        }
    }

    #[test]
    fn rows_commands() {
        assert_eq!(
            Command::parse("rows 200"),
            Ok(Command::Rows(RowCap::Limit(200)))
        );
        assert_eq!(Command::parse(" ROWS All "), Ok(Command::Rows(RowCap::All)));
        assert_eq!(Command::parse("rows fit"), Ok(Command::Rows(RowCap::Fit)));
        assert_eq!(
            Command::parse("rows 1"),
            Ok(Command::Rows(RowCap::Limit(1)))
        );
        assert_eq!(
            Command::parse("rows 0001000000"),
            Err(CommandError::BadRows),
            "more than 7 digits"
        );
        assert_eq!(
            Command::parse("rows 1000000"),
            Ok(Command::Rows(RowCap::Limit(1_000_000)))
        );
        for bad in [
            "rows",
            "rows 0",
            "rows -1",
            "rows +5",
            "rows 1000001",
            "rows 99999999999999999999",
            "rows 1.5",
            "rows everything",
            "rows 5 6",
            "rows ١",
        ] {
            assert_eq!(Command::parse(bad), Err(CommandError::BadRows), "{bad}");
        }
        let err = Command::parse("rowz").unwrap_err().to_string();
        assert!(err.contains("did you mean 'rows'"), "{err}");
    }

    #[test]
    fn filter_commands_keep_the_text_as_typed() {
        assert_eq!(
            Command::parse("filter 127.0.0.1"),
            Ok(Command::Filter(Filter::new("127.0.0.1")))
        );
        let Ok(Command::Filter(Some(filter))) = Command::parse("  Filter   two  words ") else {
            panic!("filter with text");
        };
        assert_eq!(filter.text(), "two  words");
        assert_eq!(Command::parse("filter"), Ok(Command::Filter(None)));
        assert_eq!(Command::parse("filter   "), Ok(Command::Filter(None)));
        assert_eq!(
            Command::parse("filter\ttab"),
            Ok(Command::Filter(Filter::new("tab")))
        );
    }

    #[test]
    fn counter_toggles() {
        assert_eq!(Command::parse("zeros"), Ok(Command::Toggle(Toggle::Zeros)));
        assert_eq!(
            Command::parse(" CHANGED\r"),
            Ok(Command::Toggle(Toggle::Changed))
        );
        assert_eq!(
            Command::parse("zeros on"),
            Err(CommandError::UnexpectedArgument("zeros"))
        );
        assert_eq!(
            Command::parse("changed 1"),
            Err(CommandError::UnexpectedArgument("changed"))
        );
        let err = Command::parse("zero").unwrap_err().to_string();
        assert!(err.contains("did you mean 'zeros'"), "{err}");
        assert!(command_words().contains(&"changed"));
    }

    #[test]
    fn unknown_commands_suggest_a_close_match() {
        let err = Command::parse("tpc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown command 'tpc' (did you mean 'tcp'?) — try help"
        );
        let err = Command::parse("foo").unwrap_err();
        assert_eq!(err.to_string(), "unknown command 'foo' — try help");
        let long = "x".repeat(10_000);
        let err = Command::parse(&long).unwrap_err().to_string();
        assert!(err.len() < 120);
    }
}
