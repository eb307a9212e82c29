//! A real terminal session under tmux: the banner and prompt appear, a tab
//! refreshes while the prompt waits, a half-typed line survives a refresh,
//! Ctrl+D ends the session with status 0 and the terminal is left sane, and
//! so does the watched process exiting while a line is half typed.

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
                "new-session",
                "-d",
                "-x",
                "150",
                "-y",
                "50",
                command,
            ])
            .env_remove("NO_COLOR")
            .status()
            .expect("tmux runs");
        assert!(status.success());
        tmux
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
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
    let screen = tmux.wait_for("the banner and prompt", |s| s.contains("netmonitor>"));
    assert!(
        screen.contains("Tabs:") && screen.contains("Ctrl+D"),
        "{screen}"
    );

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
    let screen = tmux.wait_for("the prompt", |s| s.contains("netmonitor>"));
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
