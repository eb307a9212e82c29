//! Helpers shared by the end-to-end tests: running the built binary with
//! piped stdin, and private network namespaces with socket-holding child
//! processes that are always cleaned up, even when a test fails.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The repository's `testdata/` directory.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Runs netmonitor with `args`, feeding `stdin`, and waits at most
/// `timeout` for it to finish.
pub fn run(args: &[&str], stdin: &[u8], timeout: Duration) -> Output {
    assert_cmd::Command::cargo_bin("netmonitor")
        .expect("binary built")
        .args(args)
        .env_remove("NO_COLOR")
        .write_stdin(stdin.to_vec())
        .timeout(timeout)
        .output()
        .expect("netmonitor runs")
}

pub fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Set (to anything but `0` or empty) when every live test must run:
/// `.ci/run` sets it, so a skip there is a failure, not a silent "ok".
pub const REQUIRE_LIVE: &str = "NETMONITOR_REQUIRE_LIVE";

fn live_required() -> bool {
    std::env::var_os(REQUIRE_LIVE).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Says that `test` does not run and why. The line goes straight to the
/// terminal: libtest hides what a passing test prints with `eprintln!`, so
/// a skip would otherwise look like any "ok". With
/// [`REQUIRE_LIVE`] set, a skip fails the test.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    assert!(
        !live_required(),
        "{test} cannot run ({why}) and {REQUIRE_LIVE} is set"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// True when running as root. Live tests need root for `ip netns`;
/// otherwise they [`skip`].
pub fn root_or_skip(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        skip(test, "needs root to create network namespaces");
    }
    root
}

/// True when every program of `tools` runs (`--version` or `-V`, as
/// given); otherwise `test` [`skip`]s, naming `package`.
pub fn tools_or_skip(test: &str, tools: &[[&str; 2]], package: &str) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|[tool, flag]| Command::new(tool).arg(flag).output().is_err())
        .map(|[tool, _]| *tool)
        .collect();
    if !missing.is_empty() {
        skip(
            test,
            &format!("{} ({package}) is not installed", missing.join(", ")),
        );
    }
    missing.is_empty()
}

/// A private network namespace with `lo` up, deleted (with every process
/// in it) when dropped.
pub struct Netns {
    pub name: String,
}

static NEXT_NS: AtomicUsize = AtomicUsize::new(0);

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!(
            "nm-{tag}-{}-{}",
            std::process::id(),
            NEXT_NS.fetch_add(1, Ordering::SeqCst)
        );
        let ns = Netns { name };
        ns.ip(&["netns", "add", &ns.name]);
        ns.exec_ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    fn ip(&self, args: &[&str]) {
        let status = Command::new("ip").args(args).status().expect("ip runs");
        assert!(status.success(), "ip {args:?} failed");
    }

    /// Runs a command inside the namespace and asserts it succeeds.
    pub fn exec_ok(&self, command: &[&str]) -> String {
        let output = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(command)
            .output()
            .expect("ip netns exec runs");
        assert!(
            output.status.success(),
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Starts `python3 -c script` in the namespace and waits for its first
    /// output line (the script prints one when its sockets are open).
    pub fn spawn_python(&self, script: &str) -> Holder {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name, "python3", "-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let mut ready = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        let mut reader = BufReader::new(stdout);
        reader
            .read_line(&mut ready)
            .expect("child reports readiness");
        let holder = Holder {
            child,
            ready: ready.trim().to_string(),
            _stdout: reader,
        };
        assert!(!holder.ready.is_empty(), "child exited before it was ready");
        holder
    }
}

impl Netns {
    /// Joins this namespace to `other` with a veth pair (`here` in this
    /// one, `there` in the other), both ends up. The pair goes away with
    /// the namespaces.
    pub fn veth_to(&self, other: &Netns, here: &str, there: &str) {
        self.exec_ok(&[
            "ip",
            "link",
            "add",
            here,
            "type",
            "veth",
            "peer",
            "name",
            there,
            "netns",
            &other.name,
        ]);
        self.exec_ok(&["ip", "link", "set", here, "up"]);
        other.exec_ok(&["ip", "link", "set", there, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A process holding sockets; killed when dropped.
pub struct Holder {
    pub child: Child,
    /// The line the child printed when ready.
    pub ready: String,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Holder {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The data rows of every table in rendered output, as trimmed cells.
pub fn table_rows(text: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        // A header row is the one followed by the `╞═══` separator.
        .filter(|(n, line)| {
            line.starts_with('│')
                && line.contains('┆')
                && !lines.get(n + 1).is_some_and(|next| next.starts_with('╞'))
        })
        .map(|(_, line)| line)
        .map(|line| {
            line.trim_matches('│')
                .split('┆')
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect()
}

/// A running session with piped stdin and stdout, for tests that need the
/// program to keep waiting for input while ticks fire.
pub struct LiveSession {
    pub child: Child,
    /// Raw bytes: a multi-byte character split between two reads stays
    /// whole, and tests can check exactly what reached the terminal.
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    errors: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    /// The threads copying stdout and stderr; they end when the pipes close.
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl LiveSession {
    pub fn start(args: &[&str]) -> LiveSession {
        let mut child = Command::new(env!("CARGO_BIN_EXE_netmonitor"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("netmonitor starts");
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().expect("stdout"), output.clone()),
            collect(child.stderr.take().expect("stderr"), errors.clone()),
        ];
        LiveSession {
            child,
            output,
            errors,
            readers,
        }
    }

    pub fn send(&mut self, line: &str) {
        self.send_bytes(line.as_bytes());
    }

    /// Writes raw bytes (not necessarily UTF-8) to netmonitor's stdin.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write to netmonitor");
        stdin.flush().expect("flush");
    }

    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output_bytes()).into_owned()
    }

    pub fn errors(&self) -> String {
        String::from_utf8_lossy(&self.error_bytes()).into_owned()
    }

    /// Everything written to stdout so far, as raw bytes.
    pub fn output_bytes(&self) -> Vec<u8> {
        self.output.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Everything written to stderr so far, as raw bytes.
    pub fn error_bytes(&self) -> Vec<u8> {
        self.errors.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The peak resident memory of netmonitor so far (`VmHWM` of
    /// `/proc/<pid>/status`, in KiB); `None` once it has exited.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_kib(self.child.id())
    }

    /// Waits until `done(stderr)` holds; panics with both streams after
    /// `timeout`.
    pub fn wait_for_errors(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if done(&self.errors()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "timed out waiting for {what}; errors:\n{}\noutput:\n{}",
            self.errors(),
            self.output()
        );
    }

    /// Waits until `done(output)` holds; panics with the output after
    /// `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if done(&self.output()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "timed out waiting for {what}; output:\n{}\nerrors:\n{}",
            self.output(),
            self.errors()
        );
    }

    /// Closes stdin (end of input) and waits for the exit status.
    pub fn finish(mut self, timeout: Duration) -> (Option<i32>, String, String) {
        drop(self.child.stdin.take());
        self.wait_exit(timeout)
    }

    /// Waits for the program to end on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> (Option<i32>, String, String) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader threads drain the pipes (they end at end
                // of file: netmonitor starts no processes that could hold
                // them open).
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return (status.code(), self.output(), self.errors());
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "netmonitor did not exit; output:\n{}\nerrors:\n{}",
                    self.output(),
                    self.errors()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for LiveSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(
    mut pipe: impl std::io::Read + Send + 'static,
    into: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            if let Ok(mut bytes) = into.lock() {
                bytes.extend_from_slice(&buffer[..n]);
            }
        }
    })
}

/// `VmHWM` (peak resident set) of a running process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Where `bytes` could act on a terminal: the first invalid UTF-8
/// sequence, or control character other than newline and tab (C0, DEL,
/// C1 — U+0080–U+009F decoded from valid UTF-8 —, and the bidirectional
/// overrides `sanitize` escapes), with its offset and surroundings.
/// Box-drawing characters, whose UTF-8 holds bytes 0x80–0x9f, are fine.
pub fn terminal_hazard(bytes: &[u8]) -> Option<String> {
    let context = |at: usize| {
        let from = at.saturating_sub(60);
        let to = (at + 60).min(bytes.len());
        String::from_utf8_lossy(&bytes[from..to]).into_owned()
    };
    let mut offset = 0;
    for chunk in bytes.utf8_chunks() {
        for (index, c) in chunk.valid().char_indices() {
            let code = u32::from(c);
            let hazard = (code < 0x20 && c != '\n' && c != '\t')
                || (0x7f..=0x9f).contains(&code)
                || (0x202a..=0x202e).contains(&code)
                || (0x2066..=0x2069).contains(&code);
            if hazard {
                let at = offset + index;
                return Some(format!("U+{code:04X} at byte {at}: {:?}", context(at)));
            }
        }
        offset += chunk.valid().len();
        if !chunk.invalid().is_empty() {
            return Some(format!(
                "invalid UTF-8 {:02x?} at byte {offset}: {:?}",
                chunk.invalid(),
                context(offset)
            ));
        }
        offset += chunk.invalid().len();
    }
    None
}

/// Copies a fixture tree into a temporary directory (symlinks kept as
/// symlinks) so a test can change it while netmonitor reads it.
/// Replaces the file at `path` with `contents` at once: written beside it,
/// then renamed over it, so a reader sees the old file or the new one,
/// never a truncated or half-written one.
pub fn replace_file(path: &std::path::Path, contents: impl AsRef<[u8]>) {
    let mut new = path.as_os_str().to_owned();
    new.push(".new");
    std::fs::write(&new, contents).expect("write the new file");
    std::fs::rename(&new, path).expect("rename it into place");
}

pub fn copy_tree(relative: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let status = Command::new("cp")
        .arg("-a")
        .arg(testdata().join(relative).join("."))
        .arg(dir.path())
        .status()
        .expect("cp runs");
    assert!(status.success());
    dir
}

/// The screens of a session's output: each starts with the top border of
/// a status box whose first line is a tab's headline.
pub fn screens(text: &str) -> Vec<&str> {
    let mut starts = Vec::new();
    let mut offset = 0;
    let mut previous: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        if let Some(start) = previous.take() {
            if line.starts_with("│ ") && line.contains(" · pid ") {
                starts.push(start);
            }
        }
        if line.starts_with('┌') {
            previous = Some(offset);
        }
        offset += line.len();
    }
    starts.push(text.len());
    starts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
}
