//! A real terminal session under tmux: the banner waits for a key that is
//! not taken as input, the prompt appears, a tab refreshes while the prompt
//! waits, a half-typed line survives a refresh, Ctrl+D ends the session
//! with status 0 (whatever is typed) and the terminal is left sane, and so
//! does the watched process exiting while a line is half typed. Tables
//! follow the terminal's size; a tab left never prints after the tab
//! chosen, and a selection restarts the refresh timer.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::tools_or_skip;

static NEXT_SERVER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A private tmux server, killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        Tmux::start_sized(command, 150, 50)
    }

    fn start_sized(command: &str, columns: u16, rows: u16) -> Tmux {
        let tmux = Tmux {
            socket: format!(
                "nm-test-{}-{}",
                std::process::id(),
                NEXT_SERVER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            ),
        };
        let status = Command::new("tmux")
            .args([
                "-L",
                &tmux.socket,
                "-f",
                "/dev/null",
                "start-server",
                ";",
                "set-option",
                "-g",
                "history-limit",
                "100000",
                ";",
                "new-session",
                "-d",
                "-x",
                &columns.to_string(),
                "-y",
                &rows.to_string(),
                command,
            ])
            .env_remove("NO_COLOR")
            .status()
            .expect("tmux runs");
        assert!(status.success());
        tmux
    }

    fn keys(&self, keys: &[&str]) {
        self.tmux(&["send-keys"], keys);
    }

    /// Sends `text` as it is, in one write (a paste, or fast typing).
    fn literal(&self, text: &str) {
        self.tmux(&["send-keys", "-l"], &[text]);
    }

    fn resize(&self, columns: u16, rows: u16) {
        self.tmux(
            &["resize-window"],
            &["-x", &columns.to_string(), "-y", &rows.to_string()],
        );
    }

    fn tmux(&self, command: &[&str], args: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(command)
            .args(args)
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux {command:?} {args:?}");
    }

    /// The whole pane, scrollback included.
    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-J",
                "-S",
                "-10000",
            ])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn interactive_session_refreshes_keeps_typing_and_restores_the_terminal() {
    if !tools_or_skip(
        "interactive_session_refreshes_keeps_typing_and_restores_the_terminal",
        &[["tmux", "-V"]],
        "tmux",
    ) {
        return;
    }
    // Watch this test process itself: it is alive for the whole test.
    let command = format!(
        "{} -i 0.5 {}; echo EXITED:$?; stty -a; sleep 30",
        env!("CARGO_BIN_EXE_netmonitor"),
        std::process::id()
    );
    let tmux = Tmux::start(&command);
    let screen = tmux.wait_for("the banner", |s| s.contains("Press any key to start"));
    assert!(
        screen.contains("Tabs:") && screen.contains("Ctrl+D"),
        "{screen}"
    );
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("the prompt", |s| s.contains("netmonitor>"));
    assert_eq!(last_line(&screen), "netmonitor>", "the key is not input");

    tmux.keys(&["tcp", "Enter"]);
    tmux.wait_for("two refreshes after the selection", |s| {
        s.matches("tcp · pid").count() >= 3
    });

    // A half-typed command survives refreshes printed above it.
    tmux.keys(&["se"]);
    let seen = tmux.screen().matches("tcp · pid").count();
    tmux.wait_for("a refresh while typing", |s| {
        s.matches("tcp · pid").count() > seen
    });
    tmux.keys(&["t 1", "Enter"]);
    tmux.wait_for("the interval confirmation", |s| {
        s.contains("refresh interval set to 1 s")
    });

    tmux.keys(&["C-d"]);
    let screen = tmux.wait_for("the exit and stty", |s| {
        s.contains("EXITED:") && s.contains("icanon") && s.contains(" echo")
    });
    assert!(screen.contains("EXITED:0"), "{screen}");
    let after = screen.split("EXITED:0").nth(1).unwrap_or_default();
    assert!(
        after.contains(" icanon") && after.contains(" echo "),
        "terminal left in raw mode:\n{after}"
    );
    assert!(
        !after.contains("-icanon") && !after.contains(" -echo "),
        "{after}"
    );
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    if !tools_or_skip(
        "colour_on_a_terminal_unless_no_color",
        &[["tmux", "-V"]],
        "tmux",
    ) {
        return;
    }
    let run = |env: &str| {
        let command = format!(
            "{env} {} --once {}; echo DONE; sleep 30",
            env!("CARGO_BIN_EXE_netmonitor"),
            std::process::id()
        );
        let tmux = Tmux::start(&command);
        tmux.wait_for("the output", |s| s.contains("DONE"));
        let out = Command::new("tmux")
            .args([
                "-L",
                &tmux.socket,
                "capture-pane",
                "-p",
                "-e",
                "-S",
                "-1000",
            ])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = run("");
    assert!(
        coloured.contains("\u{1b}["),
        "no styling on a terminal:\n{coloured}"
    );
    let plain = run("NO_COLOR=1");
    assert!(plain.contains("tcp · pid"), "{plain}");
    assert!(!plain.contains("\u{1b}["), "NO_COLOR ignored:\n{plain}");
}

#[test]
fn the_process_exiting_ends_a_terminal_session_and_restores_the_terminal() {
    if !tools_or_skip(
        "the_process_exiting_ends_a_terminal_session_and_restores_the_terminal",
        &[["tmux", "-V"]],
        "tmux",
    ) {
        return;
    }
    // The watched process lives until the test has seen a half-typed line
    // at the prompt (raw mode), then it is ended. netmonitor starts once
    // the shell's child has become `sleep` (before, it is named after the
    // shell).
    let command = format!(
        "sleep 120 & P=$!; \
         until [ \"$(cat /proc/$P/comm)\" = sleep ]; do sleep 0.01; done; \
         echo PID:$P; {} -i 0.5 $P; echo EXITED:$?; stty -a; sleep 30",
        env!("CARGO_BIN_EXE_netmonitor"),
    );
    let tmux = Tmux::start(&command);
    let screen = tmux.wait_for("the banner", |s| s.contains("Press any key"));
    tmux.keys(&["Space"]);
    tmux.wait_for("the prompt", |s| s.contains("netmonitor>"));
    let pid = screen
        .split("PID:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the pid line")
        .to_string();
    tmux.keys(&["tcp", "Enter"]);
    tmux.wait_for("the tab", |s| s.contains("tcp · pid"));
    let refreshes = |s: &str| s.matches("tcp · pid").count();
    let prompt_holds_sco = |s: &str| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(str::trim_end)
            == Some("netmonitor> sco")
    };
    tmux.keys(&["sco"]);
    let seen = tmux.wait_for("the half-typed line", prompt_holds_sco);
    // It is still there below the next refresh.
    let before = refreshes(&seen);
    tmux.wait_for("the half-typed line after a refresh", |s| {
        refreshes(s) > before && prompt_holds_sco(s)
    });
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let screen = tmux.wait_for("the exit and stty", |s| {
        s.contains("EXITED:") && s.contains("icanon")
    });
    assert!(
        screen.contains(&format!("process {pid} (sleep) exited")),
        "{screen}"
    );
    assert!(screen.contains("EXITED:0"), "{screen}");
    let after = screen.split("EXITED:0").nth(1).unwrap_or_default();
    assert!(
        after.contains(" icanon") && after.contains(" echo "),
        "terminal left in raw mode:\n{after}"
    );
    assert!(
        !after.contains("-icanon") && !after.contains(" -echo "),
        "{after}"
    );
}

/// The last line of `screen` that is not blank, without trailing blanks.
fn last_line(screen: &str) -> &str {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::trim_end)
        .unwrap_or_default()
}

/// After the session: its status was 0 and the terminal is in cooked
/// mode with echo (`stty -a` ran after it).
fn assert_ended_cleanly(tmux: &Tmux) -> String {
    let screen = tmux.wait_for("the exit and stty", |s| {
        s.contains("EXITED:") && s.contains("icanon")
    });
    assert!(screen.contains("EXITED:0"), "{screen}");
    let after = screen.split("EXITED:0").nth(1).unwrap_or_default();
    assert!(
        after.contains(" icanon") && after.contains(" echo "),
        "terminal left in raw mode:\n{after}"
    );
    assert!(
        !after.contains("-icanon") && !after.contains(" -echo "),
        "{after}"
    );
    screen
}

fn tmux_or_skip(test: &str) -> bool {
    tools_or_skip(test, &[["tmux", "-V"]], "tmux")
}

/// netmonitor watching this test process, then its status and `stty -a`.
fn session_command(args: &str) -> String {
    format!(
        "{} {args} {}; echo EXITED:$?; stty -a; sleep 30",
        env!("CARGO_BIN_EXE_netmonitor"),
        std::process::id()
    )
}

#[test]
fn a_key_starts_the_session_and_the_default_tab_comes_one_interval_later() {
    if !tmux_or_skip("a_key_starts_the_session_and_the_default_tab_comes_one_interval_later") {
        return;
    }
    let tmux = Tmux::start(&session_command("-i 0.5"));
    let screen = tmux.wait_for("the banner", |s| s.contains("Press any key to start"));
    assert_eq!(last_line(&screen), "Press any key to start", "{screen}");
    // Nothing starts on its own: four intervals later, no tab, no prompt.
    std::thread::sleep(Duration::from_secs(2));
    let screen = tmux.screen();
    assert!(!screen.contains("tcp · pid"), "{screen}");
    assert!(!screen.contains("netmonitor>"), "{screen}");
    // An arrow key (an escape sequence) starts it and is not input.
    tmux.keys(&["Up"]);
    let started = Instant::now();
    tmux.wait_for("the default tab", |s| s.contains("tcp · pid"));
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "the default tab came {:?} after the key, not one interval",
        started.elapsed()
    );
    let screen = tmux.wait_for("the prompt below the tab", |s| {
        last_line(s) == "netmonitor>"
    });
    assert!(!screen.contains("error:"), "{screen}");
    tmux.keys(&["C-d"]);
    assert_ended_cleanly(&tmux);
}

#[test]
fn ctrl_d_and_ctrl_c_at_the_start_key_end_cleanly() {
    if !tmux_or_skip("ctrl_d_and_ctrl_c_at_the_start_key_end_cleanly") {
        return;
    }
    for key in ["C-d", "C-c"] {
        let tmux = Tmux::start(&session_command("-i 0.5"));
        tmux.wait_for("the banner", |s| s.contains("Press any key to start"));
        tmux.keys(&[key]);
        let screen = assert_ended_cleanly(&tmux);
        assert!(!screen.contains("tcp · pid"), "{key}: {screen}");
    }
}

#[test]
fn with_a_tab_given_the_session_starts_at_once_and_names_it() {
    if !tmux_or_skip("with_a_tab_given_the_session_starts_at_once_and_names_it") {
        return;
    }
    let tmux = Tmux::start(&session_command("-t traffic -i 30"));
    let screen = tmux.wait_for("the tab", |s| s.contains("traffic · pid"));
    assert!(!screen.contains("No tab selected"), "{screen}");
    assert!(!screen.contains("Press any key"), "{screen}");
    assert!(
        screen.contains("Showing traffic, refreshed every 30 s."),
        "{screen}"
    );
    tmux.wait_for("the prompt", |s| last_line(s) == "netmonitor>");
    tmux.keys(&["C-d"]);
    assert_ended_cleanly(&tmux);
}

#[test]
fn ctrl_d_ends_the_session_whatever_is_typed() {
    if !tmux_or_skip("ctrl_d_ends_the_session_whatever_is_typed") {
        return;
    }
    let tmux = Tmux::start(&session_command("-t tcp -i 30"));
    tmux.wait_for("the prompt", |s| last_line(s) == "netmonitor>");
    tmux.keys(&["sco"]);
    tmux.wait_for("the half-typed line", |s| last_line(s) == "netmonitor> sco");
    // In the middle of the line too.
    tmux.keys(&["Left", "C-d"]);
    assert_ended_cleanly(&tmux);
}

/// Lines of the last screen printed (from its status box to the next
/// prompt), which must have been printed after everything before it.
fn last_screen(screen: &str) -> Vec<&str> {
    let lines: Vec<&str> = screen.lines().collect();
    let top = lines
        .iter()
        .rposition(|l| l.contains(" · pid "))
        .expect("a screen");
    lines[top.saturating_sub(1)..]
        .iter()
        .copied()
        .take_while(|l| !l.starts_with("netmonitor>"))
        .collect()
}

#[test]
fn tables_follow_the_terminal_width_at_each_print() {
    if !tmux_or_skip("tables_follow_the_terminal_width_at_each_print") {
        return;
    }
    // The captured tree's tcp tab is about 125 columns wide.
    let root = crate::support::testdata().join("proc/tcp-live");
    let command = format!(
        "{} --proc-root {} -t tcp -i 0.5 15837; echo EXITED:$?; stty -a; sleep 30",
        env!("CARGO_BIN_EXE_netmonitor"),
        root.display()
    );
    let tmux = Tmux::start_sized(&command, 200, 50);
    let screen = tmux.wait_for("the tab", |s| s.contains("tcp · pid"));
    let widest = |lines: &[&str]| lines.iter().map(|l| l.trim_end().chars().count()).max();
    let wide = widest(&last_screen(&screen)).unwrap_or_default();
    assert!(wide > 110, "not the wide table at 200 columns:\n{screen}");
    assert!(screen.contains("22872"), "Inode shown at 200 columns");

    tmux.resize(80, 50);
    let seen = tmux.screen().matches("tcp · pid").count();
    // Two refreshes later, the newest screen fits 80 columns.
    let screen = tmux.wait_for("two refreshes after the resize", |s| {
        s.matches("tcp · pid").count() >= seen + 2
    });
    let narrow = last_screen(&screen);
    assert!(
        widest(&narrow).unwrap_or(usize::MAX) <= 80,
        "printed wider than the 80-column terminal:\n{}",
        narrow.join("\n")
    );
    assert!(
        narrow
            .iter()
            .any(|l| l.contains("left out to fit 80 columns")),
        "{}",
        narrow.join("\n")
    );

    // And back: the full table again.
    tmux.resize(200, 50);
    let seen = tmux.screen().matches("tcp · pid").count();
    let screen = tmux.wait_for("two refreshes after widening", |s| {
        s.matches("tcp · pid").count() >= seen + 2
    });
    let wide_again = last_screen(&screen);
    assert!(
        !wide_again.iter().any(|l| l.contains("left out to fit")),
        "{}",
        wide_again.join("\n")
    );
    tmux.keys(&["C-d"]);
    assert_ended_cleanly(&tmux);
}

/// The selections typed in `screen` in order, each with the tabs whose
/// screens were printed after it (up to the next selection).
fn prints_after_selections(screen: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    // A long typed line wraps: the tab name ends the first line after the
    // prompt that ends with one.
    let mut typing = false;
    for line in screen.lines() {
        if line.starts_with("netmonitor>") {
            typing = true;
        }
        let tab = line
            .strip_prefix("│ ")
            .and_then(|rest| rest.split_once(" · pid "))
            .map(|(tab, _)| tab.to_string());
        if let Some(tab) = tab {
            typing = false;
            if let Some((_, prints)) = out.last_mut() {
                prints.push(tab);
            }
            continue;
        }
        if typing {
            let word = line.trim_end().rsplit(' ').next().unwrap_or_default();
            if word == "tcp" || word == "udp" {
                out.push((word.to_string(), Vec::new()));
                typing = false;
            }
        }
    }
    out
}

#[test]
fn the_tab_left_never_prints_after_the_tab_chosen() {
    if !tmux_or_skip("the_tab_left_never_prints_after_the_tab_chosen") {
        return;
    }
    let tmux = Tmux::start_sized(&session_command("-t tcp -i 0.5"), 200, 50);
    tmux.wait_for("the prompt", |s| last_line(s) == "netmonitor>");
    // Each selection is typed as one burst behind thousands of blanks, as
    // a paste: rustyline spends a good part of an interval on its keys,
    // and a refresh due meanwhile is handed to it mid-line. Selections
    // start at many phases of the 0.5 s tick.
    let pad = " ".repeat(6000);
    let selections = 12;
    for k in 0..selections {
        let tab = if k % 2 == 0 { "udp" } else { "tcp" };
        let phase = Duration::from_millis(500 + (k as u64 * 43) % 500);
        std::thread::sleep(phase);
        let before = tmux.screen().matches(&format!("{tab} · pid")).count();
        tmux.literal(&format!("{pad}{tab}\r"));
        tmux.wait_for("the tab chosen", |s| {
            s.matches(&format!("{tab} · pid")).count() > before
        });
    }
    std::thread::sleep(Duration::from_millis(1200));
    let screen = tmux.screen();
    let seen = prints_after_selections(&screen);
    assert_eq!(seen.len(), selections, "{seen:?}");
    for (chosen, prints) in &seen {
        // A refresh handed over while the line was typed may still come
        // right after it; once the tab chosen is printed, only it is.
        let first = prints.iter().position(|t| t == chosen);
        let first = first.unwrap_or_else(|| panic!("{chosen} never printed: {seen:?}"));
        assert!(
            prints[first..].iter().all(|t| t == chosen),
            "after choosing {chosen}, the tab left printed again: {prints:?}\nall: {seen:?}"
        );
    }
    tmux.keys(&["C-d"]);
    assert_ended_cleanly(&tmux);
}

#[test]
fn a_selection_restarts_the_refresh_timer() {
    if !tmux_or_skip("a_selection_restarts_the_refresh_timer") {
        return;
    }
    let tmux = Tmux::start(&session_command("-t udp -i 2"));
    tmux.wait_for("the first tab", |s| s.contains("udp · pid"));
    // 1.5 s into the 2 s interval, choose tcp: it prints at once, and the
    // next refresh is 2 s after that, not 0.5 s.
    std::thread::sleep(Duration::from_millis(1500));
    tmux.keys(&["tcp", "Enter"]);
    tmux.wait_for("the tab chosen", |s| s.contains("tcp · pid"));
    let chosen = Instant::now();
    std::thread::sleep(Duration::from_millis(1000));
    let screen = tmux.screen();
    assert_eq!(
        screen.matches("tcp · pid").count(),
        1,
        "tcp printed again within {:?} of the selection:\n{screen}",
        chosen.elapsed()
    );
    let screen = tmux.wait_for("the refresh one interval later", |s| {
        s.matches("tcp · pid").count() == 2
    });
    assert!(
        chosen.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        chosen.elapsed()
    );
    let after = screen.split("netmonitor> tcp").nth(1).unwrap_or_default();
    assert!(!after.contains("udp · pid"), "{screen}");
    tmux.keys(&["C-d"]);
    assert_ended_cleanly(&tmux);
}

#[test]
fn the_process_exiting_before_the_start_key_ends_cleanly() {
    if !tmux_or_skip("the_process_exiting_before_the_start_key_ends_cleanly") {
        return;
    }
    let command = format!(
        "sleep 120 & P=$!; \
         until [ \"$(cat /proc/$P/comm)\" = sleep ]; do sleep 0.01; done; \
         echo PID:$P; {} -i 0.5 $P; echo EXITED:$?; stty -a; sleep 30",
        env!("CARGO_BIN_EXE_netmonitor"),
    );
    let tmux = Tmux::start(&command);
    let screen = tmux.wait_for("the banner", |s| s.contains("Press any key to start"));
    let pid = screen
        .split("PID:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the pid line")
        .to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let screen = assert_ended_cleanly(&tmux);
    assert!(
        screen.contains(&format!("process {pid} (sleep) exited")),
        "{screen}"
    );
    assert!(!screen.contains("netmonitor>"), "{screen}");
}
