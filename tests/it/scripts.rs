//! Output for scripts: JSON and OpenMetrics of every tab (checked by
//! parsing, not by eye), `--count` NDJSON with rates, `--capture` of a
//! live namespace process replayed with `--proc-root`, `--name`, and the
//! generated completions and man page.
//!
//! The fixture `testdata/proc/all-tabs-6.18` was written by netmonitor's
//! own `--capture` (see `testdata/scripts/capture_all_tabs.sh`).

use std::collections::BTreeSet;
use std::time::Duration;

use openmetrics_parser::{MetricNumber, OpenMetricsType, OpenMetricsValue};
use serde_json::Value as Json;

use crate::support::{Netns, copy_tree, root_or_skip, run, stderr_of, stdout_of, testdata};

const QUICK: Duration = Duration::from_secs(20);
const TABS: [&str; 9] = [
    "tcp", "udp", "raw", "icmp", "arp", "traffic", "routing", "stats", "analysis",
];
const CAPTURE: &str = "proc/all-tabs-6.18";
const PID: &str = "9898";

fn capture_root() -> String {
    testdata().join(CAPTURE).display().to_string()
}

/// Runs netmonitor on the captured tree; asserts success.
fn replay(args: &[&str]) -> String {
    let root = capture_root();
    let mut all = vec!["--proc-root", root.as_str()];
    all.extend_from_slice(args);
    all.push(PID);
    let output = run(&all, b"", QUICK);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {}",
        stderr_of(&output)
    );
    stdout_of(&output)
}

fn is_snake(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks the layout every document shares and every key's spelling;
/// returns the document.
fn check_document(text: &str, tab: &str) -> Json {
    let doc: Json = serde_json::from_str(text).unwrap_or_else(|e| panic!("{tab}: {e}\n{text}"));
    assert_eq!(doc["schema"], 1, "{tab}");
    assert_eq!(doc["tab"], tab);
    assert!(doc["tick"].is_u64());
    assert!(
        doc["time"].is_string() && doc["timestamp"].is_f64(),
        "{tab}"
    );
    assert!(doc["interval_seconds"].is_f64());
    let status = &doc["status"];
    assert_eq!(status["pid"], 9898, "{tab}");
    assert_eq!(status["name"], "python3");
    assert!(
        status["netns"]
            .as_str()
            .is_some_and(|n| n.starts_with("net:["))
    );
    assert!(status["scope"].is_string(), "{tab}: {status}");
    assert!(doc["status_lines"].is_array() && doc["messages"].is_array());
    let problems = doc["problems"].as_array().expect("problems");
    for p in problems {
        assert!(p["file"].is_string() && p["message"].is_string(), "{p}");
    }
    let tables = doc["tables"].as_object().expect("tables");
    assert!(!tables.is_empty(), "{tab}: no table");
    for (key, table) in tables {
        assert!(is_snake(key), "{tab}: table key {key}");
        let columns: Vec<&str> = table["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c["key"].as_str().expect("column key"))
            .collect();
        for row in table["rows"].as_array().expect("rows") {
            let row = row.as_object().expect("row object");
            for column in &columns {
                assert!(
                    row.contains_key(*column),
                    "{tab}.{key}: no {column} in {row:?}"
                );
            }
            for field in row.keys() {
                assert!(is_snake(field), "{tab}.{key}: field {field}");
            }
        }
        assert!(table["notes"].is_array() && table["summary"].is_object());
    }
    doc
}

fn rows<'a>(doc: &'a Json, table: &str) -> &'a Vec<Json> {
    doc["tables"][table]["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no table {table}: {}", doc["tables"]))
}

#[test]
fn json_of_every_tab_has_stable_keys_and_typed_values() {
    for tab in TABS {
        let doc = check_document(&replay(&["--json", "--tab", tab]), tab);
        match tab {
            "tcp" => {
                let rows = rows(&doc, "sockets");
                assert_eq!(rows.len(), 4);
                for row in rows {
                    assert!(row["local_address"].is_string() && row["local_ip"].is_string());
                    assert!(row["local_port"].is_u64() && row["inode"].is_u64());
                    assert!(row["recv_q"].is_u64() && row["uid"].is_u64());
                    assert!(row["state"].is_string());
                }
                assert!(rows.iter().any(|r| r["recv_q"] == 100));
                assert!(rows.iter().any(|r| r["peer_address"].is_null()));
                assert_eq!(doc["status"]["ownership"], "own");
                assert_eq!(doc["status"]["scope_sockets"], 4);
            }
            "udp" => {
                let rows = rows(&doc, "sockets");
                assert!(rows.iter().any(|r| r["peer_address"] == "[::1]:5503"));
                assert!(rows.iter().all(|r| r["drops"].is_u64()));
            }
            "raw" => {
                let row = &rows(&doc, "sockets")[0];
                assert_eq!(row["ip_protocol"], 1);
                assert_eq!(row["ip_protocol_name"], "icmp");
            }
            "icmp" => {
                assert!(rows(&doc, "sockets")[0]["echo_id"].is_u64());
                let types = rows(&doc, "icmp_messages");
                assert!(
                    types
                        .iter()
                        .all(|r| r["type"].is_u64() && r["received"].is_u64())
                );
                assert!(doc["status"]["icmp_totals"].is_array());
            }
            "arp" => {
                let rows = rows(&doc, "neighbours");
                assert!(rows.iter().any(|r| r["ip"] == "10.250.0.3"
                    && r["hw_address"] == "02:00:00:00:00:33"
                    && r["device"] == "nmva"));
                // A private namespace has no ARP cache statistics: said, not failed.
                assert!(doc["messages"].to_string().contains("host namespace"));
            }
            "traffic" => {
                let rows = rows(&doc, "throughput");
                let names: BTreeSet<&str> = rows
                    .iter()
                    .filter_map(|r| r["interface"].as_str())
                    .collect();
                assert_eq!(names, BTreeSet::from(["lo", "nmva"]));
                for row in rows {
                    assert!(row["rx_bytes"].is_u64() && row["tx_packets"].is_u64());
                    // The first tick has no rate yet.
                    assert!(row["rx_bytes_per_second"].is_null());
                }
                let total = &doc["tables"]["throughput"]["total"];
                assert!(total["interface"].is_null() && total["rx_bytes"].is_u64());
                let errors = rows_of_errors(&doc);
                assert!(errors.iter().all(|r| r["rx_errors"].is_u64()));
            }
            "routing" => {
                let v4 = rows(&doc, "ipv4_routes");
                assert!(v4.iter().any(|r| r["destination"] == "10.251.0.0/24"
                    && r["gateway"] == "10.250.0.2"
                    && r["metric"].is_u64()));
                let v6 = rows(&doc, "ipv6_routes");
                assert!(v6.iter().any(|r| r["destination"] == "fd00:251::/64"));
            }
            "stats" => {
                let ext = rows(&doc, "tcp_ext");
                assert!(ext.len() > 100, "machine output keeps zero counters");
                assert!(
                    ext.iter()
                        .all(|r| r["counter"].is_string() && r["value"].is_u64())
                );
                assert!(ext.iter().all(|r| r["change_status"] == "first_reading"));
            }
            "analysis" => {
                for section in ["ip", "icmp", "tcp", "udp"] {
                    assert!(!rows(&doc, section).is_empty(), "{section}");
                }
                let cpus = rows(&doc, "softnet");
                assert!(
                    cpus.iter()
                        .all(|r| r["cpu"].is_u64() && r["processed"].is_u64())
                );
                assert!(doc["lists"]["findings"]["items"].is_array());
            }
            _ => unreachable!(),
        }
    }
}

fn rows_of_errors(doc: &Json) -> &Vec<Json> {
    rows(doc, "errors")
}

#[test]
fn count_prints_one_document_per_line_with_changes_and_rates() {
    let text = replay(&["--json", "--count", "2", "-i", "0.5", "--tab", "traffic"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let first = check_document(lines[0], "traffic");
    let second = check_document(lines[1], "traffic");
    assert_eq!(first["tick"], 1);
    assert_eq!(second["tick"], 2);
    assert!(first["elapsed_seconds"].is_null());
    let elapsed = second["elapsed_seconds"].as_f64().expect("elapsed");
    assert!((0.4..3.0).contains(&elapsed), "{elapsed}");
    // A replayed tree does not move: rates are numbers, and zero.
    for row in rows(&second, "throughput") {
        assert_eq!(row["rx_bytes_per_second"].as_f64(), Some(0.0), "{row}");
    }
    for row in rows(&second, "errors") {
        assert_eq!(row["rx_errors_change"], 0, "{row}");
    }
    let stats = replay(&["--json", "--count", "2", "-i", "0.5", "--tab", "stats"]);
    let second: Json = serde_json::from_str(stats.lines().nth(1).expect("two lines")).unwrap();
    assert!(
        rows(&second, "tcp_ext")
            .iter()
            .all(|r| r["change"] == 0 && r["change_status"] == "counted")
    );
}

/// The families of an exposition, parsed by a real OpenMetrics parser.
fn parse_metrics(
    text: &str,
) -> openmetrics_parser::MetricsExposition<OpenMetricsType, OpenMetricsValue> {
    openmetrics_parser::openmetrics::parse_openmetrics(text)
        .unwrap_or_else(|e| panic!("not OpenMetrics: {e:?}\n{text}"))
}

fn sample_value(value: &OpenMetricsValue) -> f64 {
    let number = match value {
        OpenMetricsValue::Counter(c) => &c.value,
        OpenMetricsValue::Gauge(n) | OpenMetricsValue::Unknown(n) => n,
        other => panic!("unexpected value {other:?}"),
    };
    match number {
        MetricNumber::Int(i) => *i as f64,
        MetricNumber::Float(f) => *f,
    }
}

#[test]
fn openmetrics_of_every_tab_parses() {
    let mut seen = BTreeSet::new();
    for tab in TABS {
        let text = replay(&["--format", "openmetrics", "--tab", tab]);
        assert!(text.ends_with("# EOF\n"), "{tab}");
        let exposition = parse_metrics(&text);
        let info = &exposition.families["netmonitor_info"];
        assert_eq!(info.family_type, OpenMetricsType::Gauge);
        for name in exposition.families.keys() {
            assert!(name.starts_with("netmonitor_"), "{name}");
            assert!(
                seen.insert(name.clone())
                    || name == "netmonitor_info"
                    || name == "netmonitor_sockets",
                "{name} comes from two tabs"
            );
        }
        if tab == "traffic" {
            let bytes = &exposition.families["netmonitor_interface_receive_bytes"];
            assert_eq!(bytes.family_type, OpenMetricsType::Counter);
            let interfaces: BTreeSet<String> = bytes
                .iter_samples()
                .map(|s| {
                    s.get_labelset()
                        .unwrap()
                        .get_label_value("interface")
                        .unwrap()
                        .to_string()
                })
                .collect();
            assert_eq!(interfaces, BTreeSet::from(["lo".into(), "nmva".into()]));
            assert!(
                !text.contains("interface=\"total\""),
                "totals are no samples"
            );
        }
        if tab == "tcp" {
            let sockets = &exposition.families["netmonitor_sockets"];
            let total: f64 = sockets.iter_samples().map(|s| sample_value(&s.value)).sum();
            assert_eq!(total, 4.0);
        }
    }
    for expected in [
        "netmonitor_snmp",
        "netmonitor_netstat",
        "netmonitor_softnet_processed_packets",
        "netmonitor_arp_neighbours",
        "netmonitor_icmp_received_messages",
        "netmonitor_interface_receive_errors",
    ] {
        assert!(seen.contains(expected), "{expected} missing: {seen:?}");
    }
}

#[test]
fn openmetrics_escapes_hostile_label_values() {
    let tree = copy_tree(CAPTURE);
    let dev = tree.path().join(PID).join("net/dev");
    let text = std::fs::read_to_string(&dev).unwrap();
    std::fs::write(&dev, text.replace("  nmva:", "ev\"i\\l:")).unwrap();
    let root = tree.path().display().to_string();
    let output = run(
        &[
            "--proc-root",
            &root,
            "--format",
            "openmetrics",
            "--tab",
            "traffic",
            PID,
        ],
        b"",
        QUICK,
    );
    let text = stdout_of(&output);
    assert!(text.contains(r#"interface="ev\"i\\l""#), "{text}");
    let exposition = parse_metrics(&text);
    let found = exposition.families["netmonitor_interface_receive_bytes"]
        .iter_samples()
        .any(|s| s.get_labelset().unwrap().get_label_value("interface") == Some("ev\"i\\l"));
    assert!(found, "the parser reads the name back");
}

#[test]
fn name_picks_one_process_lists_several_and_says_when_none() {
    let root = capture_root();
    let one = run(
        &["--proc-root", &root, "--name", "python3", "--json"],
        b"",
        QUICK,
    );
    assert_eq!(one.status.code(), Some(0), "{}", stderr_of(&one));
    let doc: Json = serde_json::from_str(&stdout_of(&one)).unwrap();
    assert_eq!(doc["status"]["pid"], 9898);

    let tree = copy_tree(CAPTURE);
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(tree.path().join(PID))
        .arg(tree.path().join("9899"))
        .status()
        .unwrap();
    assert!(status.success());
    let root = tree.path().display().to_string();
    let several = run(&["--proc-root", &root, "--name", "python3"], b"", QUICK);
    assert_eq!(several.status.code(), Some(2));
    let err = stderr_of(&several);
    assert!(err.contains("2 processes are named 'python3'"), "{err}");
    assert!(
        err.contains("9898") && err.contains("9899") && err.contains("COMMAND"),
        "{err}"
    );
    assert!(
        err.contains("python3 -c"),
        "command lines are listed: {err}"
    );

    let none = run(&["--proc-root", &root, "--name", "nginx"], b"", QUICK);
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr_of(&none).contains("no process named 'nginx'"));

    let both = run(&["--name", "x", "1"], b"", QUICK);
    assert_eq!(both.status.code(), Some(2));
    assert!(stderr_of(&both).contains("cannot be used with"));
}

#[test]
fn completions_and_man_page_name_the_options() {
    for shell in ["bash", "zsh", "fish"] {
        let output = run(&["--generate-completions", shell], b"", QUICK);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let text = stdout_of(&output);
        for option in ["capture", "json", "name", "count", "proc-root"] {
            assert!(text.contains(option), "{shell} lacks {option}");
        }
    }
    let man = run(&["--generate-man"], b"", QUICK);
    assert_eq!(man.status.code(), Some(0));
    let text = stdout_of(&man);
    assert!(
        text.starts_with(".ie") || text.contains(".TH netmonitor"),
        "{text}"
    );
    assert!(text.contains("capture") && text.contains("openmetrics"));
    let bad = run(&["--generate-completions", "tcsh"], b"", QUICK);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn capture_refuses_a_directory_with_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep"), "x").unwrap();
    let root = capture_root();
    let target = dir.path().display().to_string();
    let output = run(
        &["--proc-root", &root, "--capture", &target, "--once", PID],
        b"",
        QUICK,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr_of(&output).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep")).unwrap(),
        "x"
    );
}

/// A JSON document without what changes from run to run (times).
fn timeless(text: &str) -> Json {
    let mut doc: Json = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let object = doc.as_object_mut().unwrap();
    object.remove("time");
    object.remove("timestamp");
    object.remove("status_lines");
    doc
}

/// A process in a private namespace with TCP, UDP and unix sockets.
const HOLDER: &str = r#"
import socket, time
l = socket.socket(); l.bind(("127.0.0.1", 7001)); l.listen(4)
c = socket.create_connection(("127.0.0.1", 7001)); s, _ = l.accept()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", 7002))
x = socket.socket(socket.AF_UNIX)
print("ready", flush=True)
time.sleep(120)
"#;

#[test]
fn a_live_capture_replays_to_the_same_output() {
    if !root_or_skip("a_live_capture_replays_to_the_same_output") {
        return;
    }
    let ns = Netns::new("cap");
    let holder = ns.spawn_python(HOLDER);
    let pid = holder.pid().to_string();
    let dir = tempfile::tempdir().unwrap();
    for (tab, extra) in [
        ("tcp", None),
        ("udp", Some("--all")),
        ("traffic", None),
        ("analysis", None),
    ] {
        let capture = dir.path().join(tab);
        let capture_arg = capture.display().to_string();
        let mut args = vec!["--json", "--tab", tab, "--capture", &capture_arg];
        args.extend(extra);
        args.push(&pid);
        let live = run(&args, b"", QUICK);
        assert_eq!(live.status.code(), Some(0), "{tab}: {}", stderr_of(&live));

        let mut args = vec!["--json", "--tab", tab, "--proc-root", &capture_arg];
        args.extend(extra);
        args.push(&pid);
        let replayed = run(&args, b"", QUICK);
        assert_eq!(
            replayed.status.code(),
            Some(0),
            "{tab}: {}",
            stderr_of(&replayed)
        );
        // A capture holds what could be read: a process whose fd/ links
        // the live run could not read (this machine's pid 1) is in no
        // capture, so the live run's note about it has no replay twin.
        let mut live_doc = timeless(&stdout_of(&live));
        if let Some(notes) = live_doc
            .pointer_mut("/tables/sockets/notes")
            .and_then(Json::as_array_mut)
        {
            notes.retain(|n| {
                !n.as_str()
                    .is_some_and(|n| n.starts_with("owners may be missing"))
            });
        }
        assert_eq!(
            live_doc,
            timeless(&stdout_of(&replayed)),
            "{tab}: the replay differs from the live run"
        );

        let manifest: Json = serde_json::from_str(
            &std::fs::read_to_string(capture.join("netmonitor-capture.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(manifest["pid"].as_u64(), Some(u64::from(holder.pid())));
        assert!(manifest["kernel"].as_str().is_some_and(|k| !k.is_empty()));
        assert!(manifest["byte_order"] == "little" || manifest["byte_order"] == "big");
        if !matches!(tab, "tcp" | "udp") {
            // Namespace-wide tabs do not read fd/.
            assert!(!capture.join(&pid).join("fd").exists(), "{tab}");
            continue;
        }
        // fd links are symlinks, socket inodes as the kernel names them.
        let links: Vec<String> = std::fs::read_dir(capture.join(&pid).join("fd"))
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .map(|t| t.display().to_string())
            .collect();
        assert!(
            links.iter().filter(|t| t.starts_with("socket:[")).count() >= 4,
            "{links:?}"
        );
    }
    // The tcp capture has the process's own sockets and nothing else's.
    let doc = timeless(&stdout_of(&run(
        &[
            "--json",
            "--proc-root",
            &dir.path().join("tcp").display().to_string(),
            &pid,
        ],
        b"",
        QUICK,
    )));
    assert_eq!(rows(&doc, "sockets").len(), 3, "{doc}");
    // Scope all scanned every process: their stat and ns/net are captured.
    let all = dir.path().join("udp");
    let pids = std::fs::read_dir(&all)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .count();
    assert!(pids > 1, "the owner scan was captured");
}

/// A server in a private namespace that reads each connection to its end.
const READER: &str = r#"
import socket, threading
l = socket.socket(); l.bind(("127.0.0.1", 7003)); l.listen(64)
def serve(a):
    while a.recv(65536):
        pass
    a.close()
print("ready", flush=True)
while True:
    threading.Thread(target=serve, args=(l.accept()[0],)).start()
"#;

/// Sends 60 connections of 10 000 bytes, 20 a second.
const SENDER: &str = r#"
import socket, time
print("ready", flush=True)
for i in range(60):
    s = socket.create_connection(("127.0.0.1", 7003)); s.sendall(b"x" * 10000); s.close()
    time.sleep(0.05)
time.sleep(600)
"#;

/// The process's TCP totals in each document of a `--count` run.
fn totals_of(text: &str) -> Vec<Json> {
    text.lines()
        .map(|line| {
            let doc: Json = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let status = &doc["status"];
            serde_json::json!([
                status["tcp_sent_bytes_total"],
                status["tcp_received_bytes_total"],
                status["tcp_closed_connections_total"],
                status["tcp_unattributed_closed_connections_total"],
                status["tcp_unattributed_closed_bytes_total"],
                status["tcp_lost_close_events_total"],
            ])
        })
        .collect()
}

/// A capture keeps the process's TCP totals of every tick (the close
/// events a replay cannot ask for): the replay shows the same totals,
/// tick by tick.
#[test]
fn a_capture_keeps_the_tcp_totals_and_the_replay_shows_them() {
    if !root_or_skip("a_capture_keeps_the_tcp_totals_and_the_replay_shows_them") {
        return;
    }
    let ns = Netns::new("captotals");
    let server = ns.spawn_python(READER);
    let pid = server.pid().to_string();
    let _sender = ns.spawn_python(SENDER);
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("cap").display().to_string();
    let count = [
        "--json",
        "--count",
        "4",
        "--interval",
        "1",
        "--tab",
        "flows",
    ];
    let mut args = count.to_vec();
    args.extend(["--capture", &capture, &pid]);
    let live = run(&args, b"", QUICK);
    assert_eq!(live.status.code(), Some(0), "{}", stderr_of(&live));
    let live = totals_of(&stdout_of(&live));
    assert_eq!(live.len(), 4);
    // Bytes moved while the capture ran.
    assert!(
        live[3][1].as_u64().is_some_and(|received| received > 0),
        "{live:?}"
    );
    let mut args = count.to_vec();
    args.extend(["--proc-root", &capture, &pid]);
    let replayed = run(&args, b"", QUICK);
    assert_eq!(replayed.status.code(), Some(0), "{}", stderr_of(&replayed));
    assert_eq!(totals_of(&stdout_of(&replayed)), live);
}
