//! How many TCP closes per second the close subscription (and the ledger
//! behind it) keeps up with, and what it costs; driven by
//! `bench/closes.py`, which runs both halves side by side.
//!
//! `closes_bench watch <pid> <port> <seconds>`: subscribes in the network
//! namespace of `pid`, feeds a ledger from a reader thread (listener
//! `0.0.0.0:<port>` as the process's), and after `seconds` prints one
//! JSON line: events received, events lost, overflows, the granted
//! buffer, CPU seconds (user, system) of this process.
//!
//! `closes_bench generate <port> <seconds> <clients>`: a listener on
//! 127.0.0.1:<port> that accepts and closes, and `clients` threads that
//! connect and close as fast as they can; prints `ready` once listening
//! and one JSON line at the end: connections made, seconds, CPU seconds.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netmonitor::closes::{CloseSubscription, Delivery, WANTED_BUFFER};
use netmonitor::ledger::{Ledger, Listener};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |i: usize| -> u64 {
        args.get(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| usage())
    };
    match args.get(1).map(String::as_str) {
        Some("watch") => watch(number(2), number(3) as u16, number(4)),
        Some("generate") => generate(number(2) as u16, number(3), number(4)),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: closes_bench watch <pid> <port> <seconds> | generate <port> <seconds> <clients>"
    );
    std::process::exit(2)
}

/// CPU seconds (user, system) of this process so far.
fn cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command (which may hold spaces): utime is the 14th
    // field of the line, the 12th after the closing parenthesis.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // USER_HZ is 100 on Linux.
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

fn watch(pid: u64, port: u16, seconds: u64) {
    let view_dir = PathBuf::from(format!("/proc/{pid}"));
    let subscription = CloseSubscription::open(&view_dir, WANTED_BUFFER).expect("subscribes");
    let grant = subscription.grant();
    let ledger = Arc::new(Mutex::new(Ledger::new()));
    let listeners = [Listener {
        local: ([0, 0, 0, 0], port).into(),
        shared_with: Vec::new(),
    }];
    ledger
        .lock()
        .unwrap()
        .refresh(&[], &listeners, Instant::now());
    let fed = Arc::clone(&ledger);
    let reader = subscription
        .spawn_reader(move |delivery| {
            let mut ledger = fed.lock().unwrap();
            match delivery {
                Delivery::Closed(events) => events.iter().for_each(|e| ledger.record_close(e)),
                Delivery::Overflowed { lost } => ledger.record_overflow(lost, Instant::now()),
                Delivery::Failed(why) => eprintln!("subscription failed: {why}"),
            }
        })
        .expect("reader starts");
    println!("ready");
    let start = cpu();
    let began = Instant::now();
    let end = began + Duration::from_secs(seconds);
    let mut refreshes = 0;
    while Instant::now() < end {
        std::thread::sleep(Duration::from_secs(1));
        ledger
            .lock()
            .unwrap()
            .refresh(&[], &listeners, Instant::now());
        refreshes += 1;
    }
    // Let the last events of the generator arrive: the kernel queues its
    // broadcasts to a workqueue, and a busy machine runs it late. Done
    // when nothing came for a second (at most 60 s).
    let closes = |ledger: &Mutex<Ledger>| {
        let c = ledger
            .lock()
            .unwrap()
            .refresh(&[], &listeners, Instant::now())
            .counters;
        c.attributed_closes + c.unattributed_closes + c.not_connections + c.lost_events
    };
    let stopped = Instant::now();
    let mut drained_at = stopped;
    let mut seen = closes(&ledger);
    while drained_at.elapsed() < Duration::from_secs(1)
        && stopped.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(100));
        let now = closes(&ledger);
        if now != seen {
            seen = now;
            drained_at = Instant::now();
        }
    }
    let stats = reader.stop().expect("reader ran");
    let last = ledger
        .lock()
        .unwrap()
        .refresh(&[], &listeners, Instant::now());
    let used = cpu();
    println!(
        "{{\"events\": {}, \"lost\": {}, \"overflows\": {}, \"undecodable\": {}, \"attributed\": {}, \"unattributed\": {}, \"buffer\": {}, \"forced\": {}, \"seconds\": {:.3}, \"user\": {:.2}, \"system\": {:.2}, \"refreshes\": {}, \"last_event_after_stop\": {:.2}}}",
        stats.events,
        stats.lost.map_or(-1, |l| l as i64),
        stats.overflows,
        stats.undecodable,
        last.counters.attributed_closes,
        last.counters.unattributed_closes,
        grant.bytes,
        grant.forced,
        began.elapsed().as_secs_f64(),
        used.0 - start.0,
        used.1 - start.1,
        refreshes,
        drained_at.duration_since(stopped).as_secs_f64(),
    );
}

fn generate(port: u16, seconds: u64, clients: u64) {
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("listens");
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            // Closed at once: the server closes first, so TIME_WAIT is on
            // its side and the clients' ports stay free.
            drop(stream);
        }
    });
    println!("ready");
    let start = cpu();
    let began = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let stop = Arc::clone(&stop);
            let made = Arc::clone(&made);
            std::thread::spawn(move || {
                let mut byte = [0u8; 1];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                        // Wait for the server's FIN: then both ends close.
                        let _ = stream.read(&mut byte);
                        made.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    let used = cpu();
    println!(
        "{{\"connections\": {}, \"seconds\": {:.3}, \"user\": {:.2}, \"system\": {:.2}}}",
        made.load(Ordering::Relaxed),
        began.elapsed().as_secs_f64(),
        used.0 - start.0,
        used.1 - start.1,
    );
}
