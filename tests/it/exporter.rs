//! `netmonitor --listen`: the exporter end to end.
//!
//! * With the real Prometheus server (Debian's `prometheus` package,
//!   started here on a free loopback port, scraping every second into its
//!   own temporary storage): a process in a private namespace receives a
//!   known number of bytes over short connections, and Prometheus's query
//!   API returns its `netmonitor_process_tcp_received_bytes_total` grown
//!   by exactly that; restarted under the same name, the new pid's series
//!   appear and the old pid's end. `promtool check metrics` passes on a
//!   scrape. Needs root and the package; skips otherwise.
//! * Hostile clients (no root needed: the exporter watches this test
//!   process): a stalled connection while other scrapes answer, garbage,
//!   oversized and wrong requests answered with 4xx, 50 concurrent
//!   scrapes, content negotiation, and SIGTERM ending with status 0.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Holder, LiveSession, Netns, root_or_skip, tools_or_skip};

/// The answer to one raw request: status, head, body.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `raw` and reads until the server closes (or `timeout` passes).
fn exchange(address: SocketAddr, raw: &[u8], timeout: Duration) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(raw)?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no head in {bytes:?}")))?;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Answer {
        status,
        head,
        body: bytes[split + 4..].to_vec(),
    })
}

fn get(address: SocketAddr, path: &str, accept: Option<&str>) -> Answer {
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    let raw = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{accept}Connection: close\r\n\r\n");
    exchange(address, raw.as_bytes(), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// A running exporter and the address it serves.
struct Exporter {
    session: LiveSession,
    address: SocketAddr,
}

impl Exporter {
    fn start(args: &[&str]) -> Exporter {
        let mut all = vec!["--listen", "127.0.0.1:0", "--interval", "0.5"];
        all.extend_from_slice(args);
        let session = LiveSession::start(&all);
        session.wait_for_errors("the exporter to listen", Duration::from_secs(10), |e| {
            e.contains("/metrics")
        });
        let errors = session.errors();
        let address = errors
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split("/metrics").next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {errors}"));
        let exporter = Exporter { session, address };
        // Until the first refresh completes, /metrics answers 503.
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(exporter.address, "/metrics", None).status != 200 {
            assert!(Instant::now() < deadline, "no refresh completed");
            std::thread::sleep(Duration::from_millis(100));
        }
        exporter
    }

    /// SIGTERM, then the exit status.
    fn stop(self) -> Option<i32> {
        self.stop_with(nix::sys::signal::Signal::SIGTERM)
    }

    /// `signal`, then the exit status.
    fn stop_with(mut self, signal: nix::sys::signal::Signal) -> Option<i32> {
        let pid = nix::unistd::Pid::from_raw(self.session.child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal");
        self.session.wait_exit(Duration::from_secs(10)).0
    }
}

#[test]
fn hostile_clients_never_stop_scrapes() {
    let me = std::process::id().to_string();
    let exporter = Exporter::start(&[&me]);
    let address = exporter.address;

    // A client that connects and never sends its request, and one that
    // stops half-way through its head.
    let mut stalled = TcpStream::connect(address).expect("connects");
    let mut half = TcpStream::connect(address).expect("connects");
    half.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .expect("writes");
    let started = Instant::now();
    for _ in 0..20 {
        let asked = Instant::now();
        let answer = get(address, "/metrics", None);
        assert_eq!(answer.status, 200);
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "a scrape took {:?} while a client stalled",
            asked.elapsed()
        );
    }
    // Both are closed once the head timeout passes (5 s), not held for ever.
    for stream in [&mut stalled, &mut half] {
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(12),
            "a stalled client was held {waited:?}"
        );
        let text = String::from_utf8_lossy(&rest);
        assert!(
            rest.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }

    // Garbage and oversized requests: 4xx, and the server goes on.
    let long_header = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let many_headers = format!(
        "GET /metrics HTTP/1.1\r\n{}\r\n",
        (0..100)
            .map(|n| format!("X-{n}: y\r\n"))
            .collect::<String>()
    );
    let long_path = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "m".repeat(20_000));
    let cases: Vec<(&str, Vec<u8>, std::ops::RangeInclusive<u16>)> = vec![
        ("garbage", b"\x00\x01\x02 garbage\r\n\r\n".to_vec(), 400..=499),
        ("no version", b"GET /metrics\r\n\r\n".to_vec(), 400..=499),
        ("long header", long_header.into_bytes(), 400..=499),
        ("many headers", many_headers.into_bytes(), 400..=499),
        ("long path", long_path.into_bytes(), 400..=499),
        (
            "POST",
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
            405..=405,
        ),
        (
            "DELETE",
            b"DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            405..=405,
        ),
        (
            "unknown path",
            b"GET /debug/pprof HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            404..=404,
        ),
        (
            "GET with a body",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
                .to_vec(),
            413..=413,
        ),
    ];
    for (what, raw, expected) in cases {
        let answer = exchange(address, &raw, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            expected.contains(&answer.status),
            "{what}: {}\n{}",
            answer.status,
            answer.head
        );
        if answer.status == 405 {
            assert_eq!(answer.header("allow").as_deref(), Some("GET, HEAD"));
        }
    }

    // HEAD: the head of a scrape, no body.
    let head = exchange(
        address,
        b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .expect("HEAD");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    // 50 scrapes at once, each answered in full within its timeout.
    let scrapes: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let asked = Instant::now();
                let answer = get(address, "/metrics", Some("application/openmetrics-text"));
                (answer.status, answer.text(), asked.elapsed())
            })
        })
        .collect();
    for scrape in scrapes {
        let (status, text, took) = scrape.join().expect("scrape thread");
        assert_eq!(status, 200);
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(took < Duration::from_secs(2), "a scrape took {took:?}");
    }

    // Content negotiation as Prometheus does it.
    let prometheus_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let openmetrics = get(address, "/metrics", Some(prometheus_accept));
    assert_eq!(
        openmetrics.header("content-type").as_deref(),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let text = openmetrics.text();
    assert!(text.ends_with("# EOF\n"));
    assert!(
        text.contains(&format!("netmonitor_process_up{{pid=\"{me}\",")),
        "{text}"
    );
    openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    let classic = get(address, "/metrics", None);
    assert_eq!(
        classic.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(!classic.text().contains("# EOF"));
    assert!(
        classic
            .text()
            .contains("# TYPE netmonitor_process_tcp_received_bytes_total counter")
    );

    assert_eq!(exporter.stop(), Some(0), "SIGTERM ends with status 0");
}

#[test]
fn a_pid_that_exits_is_reported_gone_and_the_exporter_goes_on() {
    let mut child = Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("sleep starts");
    let pid = child.id().to_string();
    let me = std::process::id().to_string();
    let exporter = Exporter::start(&[&pid, &me]);
    let up = |text: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("netmonitor_process_up{{pid=\"{pid}\"")))
            .map(|l| l.rsplit(' ').next().unwrap_or_default().to_string())
    };
    assert_eq!(
        up(&get(exporter.address, "/metrics", None).text()).as_deref(),
        Some("1")
    );
    let _ = child.kill();
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = get(exporter.address, "/metrics", None).text();
        if up(&text).as_deref() == Some("0") {
            assert!(
                text.lines()
                    .any(|l| l.starts_with("netmonitor_process_up{pid=\"") && l.ends_with(" 1")),
                "the other process is still watched: {text}"
            );
            assert!(
                !text.contains(&format!("netmonitor_process_sockets{{pid=\"{pid}\"")),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never reported gone: {text}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(exporter.stop(), Some(0));
}

/// The series of an exposition (its sample lines).
fn samples_in(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

#[test]
fn per_connection_series_name_each_connection_and_end_with_it() {
    let me = std::process::id().to_string();
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let mut client = TcpStream::connect(listener.local_addr().expect("address")).expect("connects");
    let (mut server, _) = listener.accept().expect("accepts");
    client.write_all(&[7u8; 1234]).expect("writes");
    let mut got = vec![0u8; 1234];
    server.read_exact(&mut got).expect("reads");
    let local = client.local_addr().expect("address").to_string();
    let peer = listener.local_addr().expect("address").to_string();

    let series = format!("netmonitor_connection_sent_bytes_total{{pid=\"{me}\",name=\"");
    let this_one = |text: &str| {
        text.lines()
            .find(|l| {
                l.starts_with(&series) && l.contains(&format!("local=\"{local}\",peer=\"{peer}\""))
            })
            .map(String::from)
    };
    let plain = Exporter::start(&[&me]);
    let text = get(plain.address, "/metrics", None).text();
    assert!(!text.contains("netmonitor_connection_"), "{text}");
    assert_eq!(
        plain.stop_with(nix::sys::signal::Signal::SIGINT),
        Some(0),
        "SIGINT ends with status 0"
    );

    let exporter = Exporter::start(&["--per-connection", &me]);
    let text = get(exporter.address, "/metrics", None).text();
    let line = this_one(&text).unwrap_or_else(|| panic!("no series for {local} → {peer}: {text}"));
    assert!(line.ends_with(" 1234"), "{line}");
    drop((client, server));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = get(exporter.address, "/metrics", None).text();
        if this_one(&text).is_none() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed connection's series stayed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(exporter.stop(), Some(0));
}

/// A server that names itself (`comm`) and reads every connection to its
/// end. Prints `ready <port>`.
const SERVER: &str = r#"
import ctypes, socket, sys, threading
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
l = socket.socket(); l.bind(("127.0.0.1", int(sys.argv[2]))); l.listen(512)
print("ready", l.getsockname()[1], flush=True)
def receive(a):
    while a.recv(65536):
        pass
    a.close()
while True:
    a, _ = l.accept()
    threading.Thread(target=receive, args=(a,)).start()
"#;

/// `count` short connections, the i-th sending `500 + (i * 7919) % 3000`
/// bytes. Prints `ready` and exits when all are closed.
const CLIENT: &str = r#"
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
print("ready", flush=True)
for i in range(count):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"c" * (500 + (i * 7919) % 3000))
    c.close()
"#;

fn python(ns: &Netns, script: &str, args: &[&str]) -> Holder {
    let argv: Vec<String> = std::iter::once("x")
        .chain(args.iter().copied())
        .map(|a| format!("{a:?}"))
        .collect();
    ns.spawn_python(&format!(
        "import sys; sys.argv = [{}]\n{script}",
        argv.join(", ")
    ))
}

/// A Prometheus server on a free loopback port with its own storage,
/// killed when dropped.
struct Prometheus {
    child: Child,
    address: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: SocketAddr) -> Prometheus {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: netmonitor\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("config written");
        let address = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={address}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        let prometheus = Prometheus {
            child,
            address,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while exchange(
            address,
            b"GET /-/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            Duration::from_secs(2),
        )
        .map_or(true, |a| a.status != 200)
        {
            assert!(Instant::now() < deadline, "prometheus never got ready");
            std::thread::sleep(Duration::from_millis(200));
        }
        prometheus
    }

    /// The samples of an instant query: (labels, value).
    fn query(&self, promql: &str) -> Vec<(serde_json::Value, f64)> {
        let encoded: String = promql
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let raw = format!(
            "GET /api/v1/query?query={encoded} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        let answer = exchange(self.address, raw.as_bytes(), Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("query {promql}: {e}"));
        let json: serde_json::Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|e| panic!("{e}: {}", answer.text()));
        assert_eq!(json["status"], "success", "{json}");
        json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|sample| {
                let value = sample["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN);
                (sample["metric"].clone(), value)
            })
            .collect()
    }

    /// Polls `promql` until `done` holds for its samples.
    fn wait_for(
        &self,
        promql: &str,
        timeout: Duration,
        done: impl Fn(&[(serde_json::Value, f64)]) -> bool,
    ) -> Vec<(serde_json::Value, f64)> {
        let deadline = Instant::now() + timeout;
        loop {
            let samples = self.query(promql);
            if done(&samples) {
                return samples;
            }
            assert!(
                Instant::now() < deadline,
                "{promql}: still {samples:?} after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address with a port free at the time of asking.
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    listener.local_addr().expect("address")
}

#[test]
fn prometheus_sees_every_byte_and_the_restarted_process() {
    const TEST: &str = "prometheus_sees_every_byte_and_the_restarted_process";
    if !root_or_skip(TEST)
        || !tools_or_skip(
            TEST,
            &[["prometheus", "--version"], ["promtool", "--version"]],
            "prometheus",
        )
        || !tools_or_skip(TEST, &[["ip", "-V"]], "iproute2")
        || !tools_or_skip(TEST, &[["python3", "--version"]], "python3")
    {
        return;
    }
    let ns = Netns::new("exporter");
    let name = format!("nmx{}", std::process::id() % 1_000_000);
    let server = python(&ns, SERVER, &[&name, "0"]);
    let port = server.ready.trim_start_matches("ready ").to_string();
    let exporter = Exporter::start(&["--name", &name]);
    let prometheus = Prometheus::start(exporter.address);

    let pid = server.pid().to_string();
    let received =
        |pid: &str| format!("netmonitor_process_tcp_received_bytes_total{{pid=\"{pid}\"}}");
    let before =
        prometheus.wait_for(&received(&pid), Duration::from_secs(30), |s| s.len() == 1)[0].1;
    assert_eq!(
        prometheus.query(&received(&pid))[0].0["name"],
        serde_json::Value::String(name.clone())
    );

    let samples_before = samples_in(&get(exporter.address, "/metrics", None).text());
    const CONNECTIONS: u64 = 300;
    let expected: u64 = (0..CONNECTIONS).map(|i| 500 + (i * 7919) % 3000).sum();
    let client = python(&ns, CLIENT, &[&port, &CONNECTIONS.to_string()]);
    let mut client = client;
    let _ = client.child.wait();
    let samples = prometheus.wait_for(&received(&pid), Duration::from_secs(30), |s| {
        s.len() == 1 && s[0].1 >= before + expected as f64
    });
    // Exactly those bytes: wait a few more scrapes to see it does not grow.
    std::thread::sleep(Duration::from_secs(3));
    let after = prometheus.query(&received(&pid));
    assert_eq!(samples[0].1 - before, expected as f64);
    assert_eq!(after[0].1 - before, expected as f64, "{after:?}");
    let closed = prometheus.query(&format!(
        "netmonitor_process_tcp_closed_connections_total{{pid=\"{pid}\"}}"
    ));
    assert_eq!(closed.first().map(|s| s.1), Some(CONNECTIONS as f64));

    // 300 connections came and went: no series is left behind, and the
    // exporter stays small (debug build).
    assert_eq!(
        samples_in(&get(exporter.address, "/metrics", None).text()),
        samples_before
    );
    let peak = exporter.session.peak_rss_kib().expect("exporter running");
    eprintln!("exporter peak RSS: {peak} KiB");
    assert!(peak < 32 * 1024, "peak RSS {peak} KiB (15.6 MiB measured)");

    // promtool accepts a scrape.
    let scrape = get(exporter.address, "/metrics", None).body;
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(&scrape)
        .expect("scrape written");
    let checked = promtool.wait_with_output().expect("promtool ends");
    assert!(
        checked.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    // The service restarts: same name, new pid.
    drop(server);
    let restarted = python(&ns, SERVER, &[&name, "0"]);
    let new_pid = restarted.pid().to_string();
    assert_ne!(new_pid, pid);
    prometheus.wait_for(&received(&new_pid), Duration::from_secs(30), |s| {
        s.len() == 1
    });
    // The old pid's series end (Prometheus marks them stale).
    prometheus.wait_for(
        &format!("netmonitor_process_up{{pid=\"{pid}\"}}"),
        Duration::from_secs(30),
        |s| s.is_empty(),
    );
    let up = prometheus.query(&format!("netmonitor_process_up{{name=\"{name}\"}}"));
    assert_eq!(up.len(), 1, "{up:?}");
    assert_eq!(up[0].0["pid"], serde_json::Value::String(new_pid.clone()));

    drop(prometheus);
    assert_eq!(exporter.stop(), Some(0));
}

/// The value of the sample of `family` whose labels start with `pid`.
fn sample(text: &str, family: &str, pid: &str) -> Option<f64> {
    let start = format!("{family}{{pid=\"{pid}\"");
    text.lines()
        .find(|line| line.starts_with(&start))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

/// How many sock_diag sockets subscribed to multicast groups (the destroy
/// groups) in the namespace of `member` the process `holder` has open.
fn subscriptions_of(holder: u32, member: u32) -> usize {
    let inodes: BTreeSet<u64> = std::fs::read_dir(format!("/proc/{holder}/fd"))
        .expect("fd/ listed")
        .flatten()
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            target
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect();
    let table = std::fs::read_to_string(format!("/proc/{member}/net/netlink")).expect("netlink");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            f.len() >= 10
                && f[1] == "4"
                && f[3] != "00000000"
                && f[9].parse().is_ok_and(|inode: u64| inodes.contains(&inode))
        })
        .count()
}

/// Two processes of one namespace under one name: each counted exactly,
/// from one close subscription for the namespace, not one per process.
#[test]
fn processes_of_one_namespace_share_one_close_subscription() {
    const TEST: &str = "processes_of_one_namespace_share_one_close_subscription";
    if !root_or_skip(TEST)
        || !tools_or_skip(TEST, &[["ip", "-V"]], "iproute2")
        || !tools_or_skip(TEST, &[["python3", "--version"]], "python3")
    {
        return;
    }
    let ns = Netns::new("shared");
    let name = format!("nms{}", std::process::id() % 1_000_000);
    let servers = [
        python(&ns, SERVER, &[&name, "0"]),
        python(&ns, SERVER, &[&name, "0"]),
    ];
    let exporter = Exporter::start(&["--name", &name]);
    let pids: Vec<String> = servers.iter().map(|s| s.pid().to_string()).collect();
    let received = "netmonitor_process_tcp_received_bytes_total";
    let deadline = Instant::now() + Duration::from_secs(20);
    let before: Vec<f64> = loop {
        let text = get(exporter.address, "/metrics", None).text();
        let found: Vec<Option<f64>> = pids.iter().map(|p| sample(&text, received, p)).collect();
        if found.iter().all(Option::is_some) {
            break found.into_iter().flatten().collect();
        }
        assert!(Instant::now() < deadline, "both processes watched: {text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        subscriptions_of(exporter.session.child.id(), servers[0].pid()),
        1,
        "one subscription for the namespace"
    );
    let counts = [120u64, 80];
    let expected: Vec<f64> = counts
        .iter()
        .map(|&n| (0..n).map(|i| 500 + (i * 7919) % 3000).sum::<u64>() as f64)
        .collect();
    for (server, count) in servers.iter().zip(counts) {
        let port = server.ready.trim_start_matches("ready ").to_string();
        let mut client = python(&ns, CLIENT, &[&port, &count.to_string()]);
        let _ = client.child.wait();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = get(exporter.address, "/metrics", None).text();
        let grown: Vec<f64> = pids
            .iter()
            .zip(&before)
            .map(|(p, b)| sample(&text, received, p).unwrap_or(f64::NAN) - b)
            .collect();
        if grown == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "received {grown:?}, expected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(exporter.stop(), Some(0));
}
