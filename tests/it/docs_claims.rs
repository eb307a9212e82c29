//! What the README and `--help` promise about getting started holds:
//! `--help` names the completion and man page generators and they work,
//! the README's install line and its description of the sample capture
//! match the binary and the capture.

use std::time::Duration;

use crate::support::{run, stdout_of, testdata};

#[test]
fn help_names_the_completion_and_man_page_generators_and_they_work() {
    let help = stdout_of(&run(&["--help"], b"", Duration::from_secs(10)));
    assert!(help.contains("--generate-completions SHELL"), "{help}");
    assert!(help.contains("--generate-man"), "{help}");
    let bash = stdout_of(&run(
        &["--generate-completions", "bash"],
        b"",
        Duration::from_secs(10),
    ));
    assert!(
        bash.contains("complete") && bash.contains("netmonitor"),
        "{bash}"
    );
    let man = stdout_of(&run(&["--generate-man"], b"", Duration::from_secs(10)));
    assert!(man.starts_with(".ie") || man.contains(".TH"), "{man}");
}

#[test]
fn the_readme_says_how_to_install_and_how_many_ticks_the_sample_has() {
    let readme = include_str!("../../README.md");
    assert!(readme.contains("cargo install --locked --path ."));
    // `cargo run -q` prints nothing during the first build.
    assert!(!readme.contains("cargo run -q"));
    let manifest =
        std::fs::read_to_string(testdata().join("proc/all-tabs-6.18/netmonitor-capture.json"))
            .expect("the manifest");
    let ticks = manifest
        .split("\"ticks\":")
        .nth(1)
        .and_then(|rest| {
            rest.trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()
        })
        .expect("a tick count");
    assert!(
        readme.contains(&format!("over {ticks} ticks")),
        "README disagrees with the manifest's {ticks} ticks"
    );
}
