//! The arp tab's neighbours in a private namespace against `ip neigh`:
//! its IPv6 table lists what `ip -6 neigh` lists (address, device,
//! link-layer address, router, state), and an IPv4 neighbour the kernel
//! marks FAILED — which `net/arp` prints as `0x0` like an incomplete one —
//! reads `failed`.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::{Netns, root_or_skip, run, stdout_of};

/// `(address, device, lladdr or "-", router, STATE)` of each line of
/// `ip neigh` output.
fn ip_neigh(text: &str) -> BTreeSet<(String, String, String, bool, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let after = |key: &str| {
                words
                    .iter()
                    .position(|w| *w == key)
                    .and_then(|i| words.get(i + 1))
                    .map_or("-".to_string(), |w| (*w).to_string())
            };
            (
                words[0].to_string(),
                after("dev"),
                after("lladdr"),
                words.contains(&"router"),
                words.last().expect("a state").to_string(),
            )
        })
        .collect()
}

#[test]
fn ipv6_neighbours_match_ip_neigh_and_failed_ones_say_so() {
    if !root_or_skip("ipv6_neighbours_match_ip_neigh_and_failed_ones_say_so") {
        return;
    }
    let ns = Netns::new("neigh");
    ns.exec_ok(&[
        "ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1",
    ]);
    ns.exec_ok(&["ip", "link", "set", "v0", "up"]);
    ns.exec_ok(&["ip", "link", "set", "v1", "up"]);
    for command in [
        "ip -6 neigh add fd00::2 lladdr 02:00:00:00:00:02 dev v0 nud permanent router",
        "ip -6 neigh add fd00::3 dev v0 nud failed",
        "ip -6 neigh add fd00::4 lladdr 02:00:00:00:00:04 dev v1 nud stale",
        "ip neigh add 10.9.0.5 dev v0 nud failed",
        "ip neigh add 10.9.0.6 lladdr 02:00:00:00:00:06 dev v0 nud permanent",
    ] {
        ns.exec_ok(&command.split(' ').collect::<Vec<_>>());
    }
    let holder = ns.spawn_python("import time\nprint('ready', flush=True)\ntime.sleep(60)");
    let pid = holder.pid().to_string();
    let json = stdout_of(&run(
        &["--json", "-t", "arp", &pid],
        b"",
        Duration::from_secs(20),
    ));
    let document: serde_json::Value = serde_json::from_str(&json).expect("a JSON document");
    let rows = |table: &str| {
        document["tables"][table]["rows"]
            .as_array()
            .unwrap_or_else(|| panic!("no {table} table: {json}"))
            .clone()
    };
    let shown: BTreeSet<(String, String, String, bool, String)> = rows("ipv6_neighbours")
        .iter()
        .map(|row| {
            (
                row["ip"].as_str().unwrap_or_default().to_string(),
                row["device"].as_str().unwrap_or_default().to_string(),
                row["hw_address"].as_str().unwrap_or("-").to_string(),
                row["router"].as_bool().unwrap_or_default(),
                row["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected = ip_neigh(&ns.exec_ok(&["ip", "-6", "neigh"]));
    assert_eq!(shown.len(), 3, "{json}");
    assert_eq!(shown, expected, "{json}");

    let ipv4 = rows("neighbours");
    let flags_of = |ip: &str| {
        ipv4.iter()
            .find(|r| r["ip"] == ip)
            .and_then(|r| r["flags"].as_str())
            .unwrap_or_else(|| panic!("{ip} missing: {json}"))
            .to_string()
    };
    assert_eq!(flags_of("10.9.0.5"), "failed");
    assert_eq!(flags_of("10.9.0.6"), "complete,permanent");
    assert!(ip_neigh(&ns.exec_ok(&["ip", "-4", "neigh"])).contains(&(
        "10.9.0.5".into(),
        "v0".into(),
        "-".into(),
        false,
        "FAILED".into()
    )));
    drop(holder);
}
