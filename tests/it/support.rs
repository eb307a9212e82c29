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

/// True when running as root. Live tests need root for `ip netns`; they
/// print why they skip otherwise (CI runs as root, so there they run).
pub fn root_or_skip(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        eprintln!("skipping {test}: needs root to create network namespaces");
    }
    root
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
    output: std::sync::Arc<std::sync::Mutex<String>>,
    errors: std::sync::Arc<std::sync::Mutex<String>>,
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
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let errors = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        collect(child.stdout.take().expect("stdout"), output.clone());
        collect(child.stderr.take().expect("stderr"), errors.clone());
        LiveSession {
            child,
            output,
            errors,
        }
    }

    pub fn send(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(line.as_bytes())
            .expect("write to netmonitor");
        stdin.flush().expect("flush");
    }

    pub fn output(&self) -> String {
        self.output.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn errors(&self) -> String {
        self.errors.lock().map(|s| s.clone()).unwrap_or_default()
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
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
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
    into: std::sync::Arc<std::sync::Mutex<String>>,
) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            if let Ok(mut text) = into.lock() {
                text.push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        }
    });
}

/// Copies a fixture tree into a temporary directory (symlinks kept as
/// symlinks) so a test can change it while netmonitor reads it.
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
