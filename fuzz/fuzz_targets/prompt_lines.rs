//! Any bytes as typed lines: parsing never panics, the session's step
//! never panics whatever it is fed, an accepted interval is in range, and
//! escaped text never carries a control character to the terminal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netmonitor::command::Command;
use netmonitor::render::sanitize;
use netmonitor::session::{Event, Session, step};
use netmonitor::vocab::Interval;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(interval) = Interval::parse(&text) {
        let ms = interval.duration().as_millis();
        assert!((500..=3_600_000).contains(&ms));
    }
    let mut session = Session::new(Interval::DEFAULT);
    (session, _) = step(session, Event::PidAccepted);
    for line in text.split('\n') {
        (session, _) = step(session, Event::Line(Command::parse(line)));
        (session, _) = step(session, Event::Tick);
    }
    let escaped = sanitize(&text);
    assert!(!escaped.chars().any(|c| c.is_control()));
});
