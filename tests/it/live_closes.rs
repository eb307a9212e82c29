//! Live tests of connections shorter than a refresh: a server in a
//! private network namespace gets hundreds of short connections of known
//! sizes, and the close subscription plus the ledger, driven through the
//! library as a tick would (a reader thread, a refresh every 250 ms from
//! the process's `fd/`, its dump and its listeners), must count exactly
//! those bytes — or, in a burst the buffer cannot hold, say how many
//! events were lost. They need root (to make namespaces) and skip
//! without it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netmonitor::closes::{CloseReader, CloseSubscription, Delivery, WANTED_BUFFER};
use netmonitor::diag::{Netlink, SockDiag};
use netmonitor::ledger::{Ledger, Listener, LowerBound, Refresh};
use rustc_hash::FxHashSet;

use crate::support::{Holder, Netns, root_or_skip};

/// A threaded server. `argv`: family (4, 6, or 46 for `::` taking IPv4
/// peers too), mode (`recv`: read to EOF, then close; `send`: send the
/// i-th accepted connection `size(i)` bytes, then close), and for the
/// burst mode `burst K`: accept K connections, then read each to EOF and
/// close them all at once. Prints `ready <port>`.
const SERVER: &str = r#"
import socket, sys, threading, time
family, mode = sys.argv[1], sys.argv[2]
def size(i):
    return 500 + (i * 7919) % 3000
if family == "4":
    l = socket.socket(socket.AF_INET); l.bind(("127.0.0.1", 0))
else:
    l = socket.socket(socket.AF_INET6)
    l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if family == "46" else 1)
    l.bind(("::" if family == "46" else "::1", 0))
l.listen(4096)
print("ready", l.getsockname()[1], flush=True)
def receive(a):
    while a.recv(65536):
        pass
    a.close()
def send(a, n):
    a.sendall(b"s" * n)
    a.close()
if mode == "burst":
    held = [l.accept()[0] for _ in range(int(sys.argv[3]))]
    for a in held:
        while a.recv(65536):
            pass
    for a in held:
        a.close()
    time.sleep(600)
i = 0
while True:
    a, _ = l.accept()
    if mode == "recv":
        threading.Thread(target=receive, args=(a,)).start()
    else:
        threading.Thread(target=send, args=(a, size(i))).start()
    i += 1
"#;

/// The client: `argv` hosts (comma-separated, taken in turn), port, mode, count, rate. Opens `count`
/// connections at `rate` per second; in `recv` mode sends each `size(i)`
/// bytes, in `send` mode reads each to EOF; every 25th is held 0.4 s
/// before it closes (so that a refresh sees it alive). Prints `ready`
/// first and exits when all are closed.
const CLIENT: &str = r#"
import socket, sys, threading, time
hosts, port, mode, count, rate = sys.argv[1].split(","), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
def size(i):
    return 500 + (i * 7919) % 3000
print("ready", flush=True)
threads = []
def one(i, hold):
    c = socket.create_connection((hosts[i % len(hosts)], port))
    if mode == "recv":
        c.sendall(b"c" * size(i))
        if hold:
            time.sleep(0.4)
    else:
        if hold:
            time.sleep(0.4)
        while c.recv(65536):
            pass
    c.close()
start = time.monotonic()
for i in range(count):
    if i % 25 == 0 or mode == "send":
        t = threading.Thread(target=one, args=(i, i % 25 == 0)); t.start(); threads.append(t)
    else:
        one(i, False)
    pause = start + (i + 1) / rate - time.monotonic()
    if pause > 0:
        time.sleep(pause)
for t in threads:
    t.join()
"#;

/// `size(i)` of the scripts, summed over `count` connections.
fn expected_bytes(count: u64) -> u64 {
    (0..count).map(|i| 500 + (i * 7919) % 3000).sum()
}

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

fn port_of(server: &Holder) -> String {
    server
        .ready
        .strip_prefix("ready ")
        .expect("server prints its port")
        .to_string()
}

/// The session's side: a reader thread feeding the ledger, and refreshes
/// as a tick would make them.
struct Watch {
    pid: u32,
    view_dir: PathBuf,
    ledger: Arc<Mutex<Ledger>>,
    reader: Option<CloseReader>,
}

impl Watch {
    fn start(pid: u32, buffer: usize) -> Watch {
        let view_dir = PathBuf::from(format!("/proc/{pid}"));
        let subscription = CloseSubscription::open(&view_dir, buffer).expect("subscribes");
        let ledger = Arc::new(Mutex::new(Ledger::new()));
        let fed = Arc::clone(&ledger);
        let reader = subscription
            .spawn_reader(move |delivery| {
                let mut ledger = fed.lock().unwrap();
                match delivery {
                    Delivery::Closed(events) => {
                        for event in events {
                            ledger.record_close(event);
                        }
                    }
                    Delivery::Overflowed { lost } => ledger.record_overflow(lost, Instant::now()),
                    Delivery::Failed(why) => panic!("the subscription failed: {why}"),
                }
            })
            .expect("reader starts");
        Watch {
            pid,
            view_dir,
            ledger,
            reader: Some(reader),
        }
    }

    /// The process's socket inodes, from its `fd/` links.
    fn inodes(&self) -> FxHashSet<u64> {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .expect("fd/ is readable")
            .filter_map(|entry| {
                let link = std::fs::read_link(entry.ok()?.path()).ok()?;
                let link = link.to_str()?;
                link.strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .parse()
                    .ok()
            })
            .collect()
    }

    fn refresh(&self) -> Refresh {
        let inodes = self.inodes();
        let (dump, _) = Netlink
            .connections(&self.view_dir, Some(&inodes))
            .expect("dump");
        let mut listeners = Vec::new();
        Netlink
            .sockets(&self.view_dir, &mut |socket| {
                if socket.state == 10 && inodes.contains(&u64::from(socket.inode)) {
                    listeners.push(Listener {
                        local: socket.local,
                        shared_with: Vec::new(),
                    });
                }
            })
            .expect("listeners");
        self.ledger
            .lock()
            .unwrap()
            .refresh(&dump.flows, &listeners, Instant::now())
    }

    /// Refreshes every 250 ms while `client` runs, checking the totals
    /// never drop; then until `done` holds (at most 10 s more).
    fn follow(&self, client: &mut Holder, done: impl Fn(&Refresh) -> bool) -> Refresh {
        let mut last = self.refresh();
        let deadline = Instant::now() + Duration::from_secs(120);
        while client.child.try_wait().expect("client status").is_none() {
            assert!(Instant::now() < deadline, "the client did not finish");
            std::thread::sleep(Duration::from_millis(250));
            let now = self.refresh();
            assert!(
                now.totals.sent >= last.totals.sent && now.totals.received >= last.totals.received,
                "totals dropped: {:?} after {:?}",
                now.totals,
                last.totals
            );
            last = now;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(&last) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(250));
            last = self.refresh();
        }
        last
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.stop();
        }
    }
}

const CONNECTIONS: u64 = 300;
const RATE: &str = "100";

/// A server receiving [`CONNECTIONS`] short uploads: the ledger's received
/// total is exactly what the client sent; the client's ends are closes
/// of the namespace nobody claims, with the same bytes.
fn server_receiving(family: &str, hosts: &str) {
    let ns = Netns::new("closes");
    let server = python(&ns, SERVER, &[family, "recv"]);
    let watch = Watch::start(server.pid(), WANTED_BUFFER);
    watch.refresh();
    let count = CONNECTIONS.to_string();
    let mut client = python(
        &ns,
        CLIENT,
        &[hosts, &port_of(&server), "recv", &count, RATE],
    );
    let expected = expected_bytes(CONNECTIONS);
    let end = watch.follow(&mut client, |r| {
        r.counters.attributed_closes >= CONNECTIONS && r.awaiting_event == 0
    });
    let counters = end.counters;
    assert_eq!(
        (counters.overflows, counters.lost_events),
        (0, 0),
        "{counters:?}"
    );
    assert_eq!(end.totals.received, expected, "{end:?}");
    assert_eq!(end.totals.sent, 0);
    assert_eq!(counters.attributed_closes, CONNECTIONS, "{counters:?}");
    assert!(
        counters.accepted_closes < CONNECTIONS,
        "some were seen alive: {counters:?}"
    );
    assert!(counters.accepted_closes > CONNECTIONS / 2, "{counters:?}");
    assert_eq!(
        counters.unattributed_closes, CONNECTIONS,
        "the client's ends"
    );
    assert_eq!(counters.unattributed_bytes, expected);
    assert_eq!(end.lower_bound_since, None);
}

#[test]
fn a_server_receiving_short_ipv4_connections_counts_every_byte() {
    if !root_or_skip("a_server_receiving_short_ipv4_connections_counts_every_byte") {
        return;
    }
    server_receiving("4", "127.0.0.1");
}

#[test]
fn a_server_receiving_short_ipv6_and_mapped_connections_counts_every_byte() {
    if !root_or_skip("a_server_receiving_short_ipv6_and_mapped_connections_counts_every_byte") {
        return;
    }
    // `::` taking IPv4 peers too: every other connection is IPv4-mapped.
    server_receiving("46", "::1,127.0.0.1");
}

#[test]
fn a_server_sending_over_short_connections_counts_every_byte() {
    if !root_or_skip("a_server_sending_over_short_connections_counts_every_byte") {
        return;
    }
    let ns = Netns::new("closes");
    let server = python(&ns, SERVER, &["6", "send"]);
    let watch = Watch::start(server.pid(), WANTED_BUFFER);
    watch.refresh();
    let count = CONNECTIONS.to_string();
    let mut client = python(
        &ns,
        CLIENT,
        &["::1", &port_of(&server), "send", &count, RATE],
    );
    let end = watch.follow(&mut client, |r| {
        r.counters.attributed_closes >= CONNECTIONS && r.awaiting_event == 0
    });
    assert_eq!(end.counters.lost_events, 0, "{:?}", end.counters);
    assert_eq!(end.totals.sent, expected_bytes(CONNECTIONS), "{end:?}");
    assert_eq!(end.totals.received, 0, "the client's FIN is no payload");
    assert_eq!(end.counters.attributed_closes, CONNECTIONS);
    assert_eq!(end.counters.unattributed_closes, CONNECTIONS);
}

/// The burst's server connections and their uploads (100 bytes each).
const BURST: u64 = 3000;

/// A client that opens `argv[3]` connections as fast as it can, sends
/// 100 bytes on each and closes it.
const BURSTER: &str = r#"
import socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print("ready", flush=True)
for i in range(count):
    c = socket.create_connection((host, port))
    c.sendall(b"b" * 100)
    c.close()
"#;

fn burst(buffer: usize, hold_reader: Duration) -> (Refresh, Instant) {
    let ns = Netns::new("burst");
    let count = BURST.to_string();
    let server = python(&ns, SERVER, &["4", "burst", &count]);
    let watch = Watch::start(server.pid(), buffer);
    watch.refresh();
    let started = Instant::now();
    let mut client = python(&ns, BURSTER, &["127.0.0.1", &port_of(&server), &count]);
    {
        // The reader blocks on the ledger while this holds it.
        let _held = watch.ledger.lock().unwrap();
        std::thread::sleep(hold_reader);
    }
    let end = watch.follow(&mut client, |r| {
        let c = r.counters;
        c.attributed_closes + c.unattributed_closes + c.lost_events >= 2 * BURST
    });
    (end, started)
}

#[test]
fn a_burst_of_closes_is_counted_exactly_or_its_losses_are() {
    if !root_or_skip("a_burst_of_closes_is_counted_exactly_or_its_losses_are") {
        return;
    }
    let (end, _) = burst(WANTED_BUFFER, Duration::ZERO);
    let c = end.counters;
    // Every close was received or is counted lost (the server's and the
    // client's ends), never guessed.
    assert_eq!(
        c.attributed_closes + c.unattributed_closes + c.lost_events,
        2 * BURST,
        "{c:?}"
    );
    if c.lost_events == 0 {
        assert_eq!(end.totals.received, 100 * BURST, "{end:?}");
        assert_eq!(c.attributed_closes, BURST);
        assert_eq!(end.lower_bound_since, None);
    } else {
        assert!(end.totals.received < 100 * BURST);
        assert!(end.lower_bound_since.is_some());
    }
}

#[test]
fn an_overflowing_burst_counts_each_lost_event_and_says_the_totals_are_a_lower_bound() {
    if !root_or_skip(
        "an_overflowing_burst_counts_each_lost_event_and_says_the_totals_are_a_lower_bound",
    ) {
        return;
    }
    // The smallest buffer the kernel allows, and a reader kept waiting.
    let (end, started) = burst(1, Duration::from_secs(3));
    let c = end.counters;
    assert!(c.overflows > 0 && c.lost_events > 0, "{c:?}");
    assert_eq!(c.uncounted_overflows, 0, "SO_MEMINFO counts the drops");
    assert_eq!(
        c.attributed_closes + c.unattributed_closes + c.lost_events,
        2 * BURST,
        "{c:?}"
    );
    // Connections seen alive whose event was lost keep their last-seen
    // counters (until settled); the others count their final ones.
    assert!(end.totals.received >= 100 * c.attributed_closes, "{end:?}");
    assert!(
        end.totals.received <= 100 * (c.attributed_closes + end.awaiting_event as u64),
        "{end:?}"
    );
    assert!(end.totals.received < 100 * BURST);
    assert!(matches!(
        end.lower_bound_since,
        Some((since, LowerBound::LostEvents)) if since >= started
    ));
}
