//! Findings: rules over the changes between two ticks that name a likely
//! problem in one line, with the counters behind it. The analysis tab
//! prints them under its tables.
//!
//! Rules look only at what happened between the two readings — a host
//! that dropped packets last week is not flagged today. Every threshold is
//! in [`THRESHOLDS`] (documented field by field, and in
//! `docs/tabs-namespace.md`); a rule whose counters are missing from either
//! reading is reported as not checked rather than silently passing.
//!
//! Deltas come from [`crate::parse::counters`]: a counter that went
//! backwards gives no delta, so a reset never fires a rule.

use std::fmt::Write as _;
use std::time::Duration;

use super::changes::{FileText, file_text, per_second, round_centis};
use crate::parse::Parsed;
use crate::parse::arp::{NeighCacheCounters, parse_neigh_cache_stats};
use crate::parse::counters::{CounterFile, counter_delta, parse_pairs, wrapping_delta_u32};
use crate::parse::dev::{DevCounters, parse_dev};
use crate::parse::softnet::{SoftnetRow, parse_softnet};
use crate::render::human_seconds;
use crate::snapshot::Snapshot;

/// The thresholds of every rule. A rule fires when the change over one
/// tick reaches its threshold ("at least").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// TCP retransmissions: `Tcp RetransSegs` as a percentage of
    /// `Tcp OutSegs` sent in the same tick …
    pub tcp_retrans_percent: f64,
    /// … judged only when at least this many segments were sent (a few
    /// retransmits of an idle connection are not a rate).
    pub tcp_retrans_min_segments: u64,
    /// `TcpExt ListenOverflows` + `ListenDrops`: connections lost because
    /// an accept queue was full.
    pub listen_drops: u64,
    /// `TcpExt SyncookiesSent`: a SYN queue overflowed.
    pub syncookies_sent: u64,
    /// `TcpExt TCPAbortOnMemory`: connections killed for lack of memory.
    pub tcp_abort_on_memory: u64,
    /// `Udp RcvbufErrors` + `SndbufErrors`: datagrams lost to full socket
    /// buffers.
    pub udp_buffer_errors: u64,
    /// `Udp NoPorts`: datagrams to closed ports, per second … (a few are
    /// normal: late DNS answers)
    pub udp_no_ports_per_second: f64,
    /// … and at least this many in the tick.
    pub udp_no_ports_min: u64,
    /// softnet `dropped` + `flow_limit_count`, all CPUs: packets dropped
    /// because a CPU's input backlog was full.
    pub softnet_drops: u64,
    /// softnet `time_squeeze`, all CPUs: the receive softirq ran out of
    /// budget or time with packets left.
    pub softnet_time_squeezes: u64,
    /// `Ip ReasmFails`: fragmented datagrams that could not be rebuilt.
    pub ip_reassembly_failures: u64,
    /// `Icmp InDestUnreachs` per second … (a burst: something refuses or
    /// cannot route what this namespace sends)
    pub icmp_unreachable_per_second: f64,
    /// … and at least this many in the tick.
    pub icmp_unreachable_min: u64,
    /// `stat/arp_cache res_failed` (all namespaces): neighbours that did
    /// not answer ARP.
    pub arp_resolution_failures: u64,
    /// Per interface, `net/dev` RX/TX errs + drop.
    pub interface_errors: u64,
}

/// The thresholds in use. One place, so the docs and the tests agree.
pub const THRESHOLDS: Thresholds = Thresholds {
    tcp_retrans_percent: 2.0,
    tcp_retrans_min_segments: 100,
    listen_drops: 1,
    syncookies_sent: 1,
    tcp_abort_on_memory: 1,
    udp_buffer_errors: 1,
    udp_no_ports_per_second: 5.0,
    udp_no_ports_min: 5,
    softnet_drops: 1,
    softnet_time_squeezes: 5,
    ip_reassembly_failures: 1,
    icmp_unreachable_per_second: 5.0,
    icmp_unreachable_min: 5,
    arp_resolution_failures: 1,
    interface_errors: 1,
};

/// Every rule, for "not checked" lines and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    TcpRetransmissions,
    ListenOverflows,
    SynCookies,
    TcpMemoryAborts,
    UdpBufferErrors,
    UdpClosedPorts,
    SoftnetDrops,
    SoftnetTimeSqueezes,
    IpReassemblyFailures,
    IcmpUnreachableBurst,
    ArpResolutionFailures,
    InterfaceErrors,
}

impl Rule {
    pub const ALL: [Rule; 12] = [
        Rule::TcpRetransmissions,
        Rule::ListenOverflows,
        Rule::SynCookies,
        Rule::TcpMemoryAborts,
        Rule::UdpBufferErrors,
        Rule::UdpClosedPorts,
        Rule::SoftnetDrops,
        Rule::SoftnetTimeSqueezes,
        Rule::IpReassemblyFailures,
        Rule::IcmpUnreachableBurst,
        Rule::ArpResolutionFailures,
        Rule::InterfaceErrors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::TcpRetransmissions => "TCP retransmissions",
            Rule::ListenOverflows => "listen queue overflows",
            Rule::SynCookies => "SYN cookies",
            Rule::TcpMemoryAborts => "TCP aborts on memory",
            Rule::UdpBufferErrors => "UDP buffer errors",
            Rule::UdpClosedPorts => "UDP to closed ports",
            Rule::SoftnetDrops => "backlog drops",
            Rule::SoftnetTimeSqueezes => "time squeezes",
            Rule::IpReassemblyFailures => "IP reassembly failures",
            Rule::IcmpUnreachableBurst => "ICMP unreachable bursts",
            Rule::ArpResolutionFailures => "ARP resolution failures",
            Rule::InterfaceErrors => "interface errors",
        }
    }
}

/// One finding: which rule, and the line that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub text: String,
}

/// The files of one tick that the rules read, parsed once.
#[derive(Debug, Clone, Default)]
pub struct Readings {
    pub snmp: Option<CounterFile>,
    pub netstat: Option<CounterFile>,
    pub softnet: Option<Parsed<SoftnetRow>>,
    /// Summed over CPUs; `None` outside the host namespace.
    pub arp_cache: Option<NeighCacheCounters>,
    pub dev: Option<Parsed<DevCounters>>,
}

impl Readings {
    /// Parses what `snapshot` read; files it could not read are `None`.
    pub fn of(snapshot: &Snapshot) -> Readings {
        let text = |name: &str| match file_text(snapshot, name) {
            FileText::Text(text) => Some(text),
            _ => None,
        };
        Readings {
            snmp: text("snmp").map(parse_pairs),
            netstat: text("netstat").map(parse_pairs),
            softnet: text("softnet_stat").map(parse_softnet),
            arp_cache: text("stat/arp_cache")
                .and_then(|t| parse_neigh_cache_stats(t).ok())
                .map(|s| s.total),
            dev: text("dev").map(parse_dev),
        }
    }

    fn delta(
        file: Option<&CounterFile>,
        before: Option<&CounterFile>,
        key: (&str, &str),
    ) -> Option<u64> {
        let (prefix, name) = key;
        counter_delta(before?.get_u64(prefix, name)?, file?.get_u64(prefix, name)?)
    }

    fn snmp_delta(&self, before: &Readings, prefix: &str, name: &str) -> Option<u64> {
        Readings::delta(self.snmp.as_ref(), before.snmp.as_ref(), (prefix, name))
    }

    fn netstat_delta(&self, before: &Readings, name: &str) -> Option<u64> {
        Readings::delta(
            self.netstat.as_ref(),
            before.netstat.as_ref(),
            ("TcpExt", name),
        )
    }
}

/// How one CPU's softnet counters moved (32-bit wrapping deltas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftnetDelta {
    pub cpu: u32,
    pub processed: u64,
    pub dropped: u64,
    pub time_squeeze: u64,
    pub cpu_collision: u64,
    pub received_rps: Option<u64>,
    pub flow_limit_count: Option<u64>,
}

/// Pairs the rows of two `softnet_stat` readings by CPU and returns each
/// CPU's changes, or `None` when rows cannot be paired: without the CPU
/// column (kernels before 5.10) rows are matched by position, which is
/// only safe while the number of online CPUs stays the same.
pub fn softnet_deltas(
    now: &[SoftnetRow],
    before: &[SoftnetRow],
) -> Option<Vec<Option<SoftnetDelta>>> {
    let has_cpu_column = |rows: &[SoftnetRow]| rows.iter().all(|r| r.cpu.is_some());
    if !(has_cpu_column(now) && has_cpu_column(before)) && now.len() != before.len() {
        return None;
    }
    let both = |a: Option<u32>, b: Option<u32>| Some(wrapping_delta_u32(a?, b?));
    Some(
        now.iter()
            .map(|row| {
                let old = before.iter().find(|b| b.cpu_id() == row.cpu_id())?;
                Some(SoftnetDelta {
                    cpu: row.cpu_id(),
                    processed: wrapping_delta_u32(old.processed, row.processed),
                    dropped: wrapping_delta_u32(old.dropped, row.dropped),
                    time_squeeze: wrapping_delta_u32(old.time_squeeze, row.time_squeeze),
                    cpu_collision: wrapping_delta_u32(old.cpu_collision, row.cpu_collision),
                    received_rps: both(old.received_rps, row.received_rps),
                    flow_limit_count: both(old.flow_limit_count, row.flow_limit_count),
                })
            })
            .collect(),
    )
}

/// What the rules found, and which rules could not be evaluated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub unchecked: Vec<Rule>,
}

/// Runs every rule over the changes from `before` to `now`, `span` apart.
pub fn evaluate(now: &Readings, before: &Readings, span: Duration, t: &Thresholds) -> Evaluation {
    let window = Window {
        now,
        before,
        span,
        seconds: human_seconds(round_centis(span)),
        t,
    };
    let mut out = Evaluation::default();
    for rule in Rule::ALL {
        match window.check(rule) {
            Outcome::NotChecked => out.unchecked.push(rule),
            Outcome::Checked(lines) => out
                .findings
                .extend(lines.into_iter().map(|text| Finding { rule, text })),
        }
    }
    out
}

/// What one rule made of two readings.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// A counter it needs is missing from a reading.
    NotChecked,
    /// It ran: the lines it found (none when all was quiet).
    Checked(Vec<String>),
}

impl Outcome {
    const QUIET: Outcome = Outcome::Checked(Vec::new());

    /// One line when `fired`, none otherwise.
    fn fired_if(fired: bool, line: impl FnOnce() -> String) -> Outcome {
        Outcome::Checked(if fired { vec![line()] } else { Vec::new() })
    }
}

/// The two readings the rules compare, how far apart they are, and the
/// thresholds.
struct Window<'a> {
    now: &'a Readings,
    before: &'a Readings,
    span: Duration,
    /// `span` as shown (`2 s`).
    seconds: String,
    t: &'a Thresholds,
}

impl Window<'_> {
    fn check(&self, rule: Rule) -> Outcome {
        match rule {
            Rule::TcpRetransmissions => self.tcp_retransmissions(),
            Rule::ListenOverflows => self.listen_overflows(),
            Rule::SynCookies => self.syn_cookies(),
            Rule::TcpMemoryAborts => self.tcp_memory_aborts(),
            Rule::UdpBufferErrors => self.udp_buffer_errors(),
            Rule::UdpClosedPorts => self.udp_closed_ports(),
            Rule::SoftnetDrops => self.softnet_drops(),
            Rule::SoftnetTimeSqueezes => self.softnet_time_squeezes(),
            Rule::IpReassemblyFailures => self.ip_reassembly_failures(),
            Rule::IcmpUnreachableBurst => self.icmp_unreachable_burst(),
            Rule::ArpResolutionFailures => self.arp_resolution_failures(),
            Rule::InterfaceErrors => self.interface_errors(),
        }
    }

    fn snmp(&self, prefix: &str, name: &str) -> Option<u64> {
        self.now.snmp_delta(self.before, prefix, name)
    }

    fn netstat(&self, name: &str) -> Option<u64> {
        self.now.netstat_delta(self.before, name)
    }

    /// `Tcp RetransSegs` as a share of `OutSegs`.
    fn tcp_retransmissions(&self) -> Outcome {
        let t = self.t;
        let (Some(retrans), Some(out_segs)) =
            (self.snmp("Tcp", "RetransSegs"), self.snmp("Tcp", "OutSegs"))
        else {
            return Outcome::NotChecked;
        };
        if out_segs < t.tcp_retrans_min_segments || out_segs == 0 {
            return Outcome::QUIET;
        }
        let percent = retrans as f64 * 100.0 / out_segs as f64;
        Outcome::fired_if(percent > t.tcp_retrans_percent, || {
            format!(
                "TCP retransmissions at {percent:.1}% of segments sent (over {}%): \
                 packet loss or congestion on some path — Tcp RetransSegs +{retrans}, \
                 OutSegs +{out_segs}",
                t.tcp_retrans_percent
            )
        })
    }

    /// `TcpExt ListenOverflows` + `ListenDrops`.
    fn listen_overflows(&self) -> Outcome {
        let (overflows, drops) = (self.netstat("ListenOverflows"), self.netstat("ListenDrops"));
        if overflows.is_none() && drops.is_none() {
            return Outcome::NotChecked;
        }
        let total = overflows.unwrap_or(0).saturating_add(drops.unwrap_or(0));
        Outcome::fired_if(total >= self.t.listen_drops, || {
            format!(
                "Listen queue overflows: connections dropped because an application did not \
                 accept() them fast enough — TcpExt {}",
                moved_list(&[("ListenOverflows", overflows), ("ListenDrops", drops)])
            )
        })
    }

    /// `TcpExt SyncookiesSent`.
    fn syn_cookies(&self) -> Outcome {
        let Some(sent) = self.netstat("SyncookiesSent") else {
            return Outcome::NotChecked;
        };
        Outcome::fired_if(sent >= self.t.syncookies_sent, || {
            format!(
                "SYN cookies sent: a listener's SYN queue overflowed (possible SYN flood) — TcpExt \
                 {}",
                moved_list(&[
                    ("SyncookiesSent", Some(sent)),
                    ("SyncookiesRecv", self.netstat("SyncookiesRecv")),
                    ("SyncookiesFailed", self.netstat("SyncookiesFailed")),
                ])
            )
        })
    }

    /// `TcpExt TCPAbortOnMemory`.
    fn tcp_memory_aborts(&self) -> Outcome {
        let Some(n) = self.netstat("TCPAbortOnMemory") else {
            return Outcome::NotChecked;
        };
        Outcome::fired_if(n >= self.t.tcp_abort_on_memory, || {
            format!(
                "TCP connections aborted for lack of memory (net.ipv4.tcp_mem exhausted) — TcpExt \
                 TCPAbortOnMemory +{n}"
            )
        })
    }

    /// `Udp RcvbufErrors` + `SndbufErrors`.
    fn udp_buffer_errors(&self) -> Outcome {
        let (rcv, snd) = (
            self.snmp("Udp", "RcvbufErrors"),
            self.snmp("Udp", "SndbufErrors"),
        );
        if rcv.is_none() && snd.is_none() {
            return Outcome::NotChecked;
        }
        let total = rcv.unwrap_or(0).saturating_add(snd.unwrap_or(0));
        Outcome::fired_if(total >= self.t.udp_buffer_errors, || {
            let which = match (rcv.unwrap_or(0) > 0, snd.unwrap_or(0) > 0) {
                (true, true) => "receive and send buffers",
                (false, true) => "send buffer",
                _ => "receive buffer",
            };
            format!(
                "UDP datagrams dropped: a socket's {which} was full — Udp {}",
                moved_list(&[("RcvbufErrors", rcv), ("SndbufErrors", snd)])
            )
        })
    }

    /// `Udp NoPorts`, as a count and a rate.
    fn udp_closed_ports(&self) -> Outcome {
        let Some(n) = self.snmp("Udp", "NoPorts") else {
            return Outcome::NotChecked;
        };
        let rate = per_second(n, self.span);
        let t = self.t;
        Outcome::fired_if(
            n >= t.udp_no_ports_min && rate >= t.udp_no_ports_per_second,
            || {
                format!(
                    "UDP datagrams to closed ports: {n} in {} ({rate:.1}/s), answered with \
                     ICMP port unreachable — Udp NoPorts +{n}",
                    self.seconds
                )
            },
        )
    }

    /// The softnet changes of the CPUs present in both readings; `None`
    /// when a reading is missing or its rows cannot be paired.
    fn softnet(&self) -> Option<SoftnetChanges> {
        let (Some(now), Some(before)) = (&self.now.softnet, &self.before.softnet) else {
            return None;
        };
        let deltas = softnet_deltas(&now.rows, &before.rows)?;
        Some(SoftnetChanges(deltas.into_iter().flatten().collect()))
    }

    /// softnet `dropped` + `flow_limit_count`, all CPUs.
    fn softnet_drops(&self) -> Outcome {
        let Some(changes) = self.softnet() else {
            return Outcome::NotChecked;
        };
        let dropped = changes.sum(|d| d.dropped);
        let limited = changes.sum(|d| d.flow_limit_count.unwrap_or(0));
        Outcome::fired_if(
            dropped.total.saturating_add(limited.total) >= self.t.softnet_drops,
            || {
                let mut text = String::from(
                    "Receive backlog drops: packets dropped before any socket saw them \
                 (net.core.netdev_max_backlog, flow limit) — softnet_stat",
                );
                if dropped.total > 0 {
                    let _ = write!(text, " dropped +{} ({})", dropped.total, dropped.cpus);
                }
                if limited.total > 0 {
                    let _ = write!(
                        text,
                        " flow_limit_count +{} ({})",
                        limited.total, limited.cpus
                    );
                }
                text
            },
        )
    }

    /// softnet `time_squeeze`, all CPUs.
    fn softnet_time_squeezes(&self) -> Outcome {
        let Some(changes) = self.softnet() else {
            return Outcome::NotChecked;
        };
        let squeezed = changes.sum(|d| d.time_squeeze);
        Outcome::fired_if(squeezed.total >= self.t.softnet_time_squeezes, || {
            format!(
                "Receive processing squeezed: the softirq ran out of budget or time with \
                 packets left (net.core.netdev_budget) — softnet_stat time_squeeze \
                 +{} ({})",
                squeezed.total, squeezed.cpus
            )
        })
    }

    /// `Ip ReasmFails`.
    fn ip_reassembly_failures(&self) -> Outcome {
        let Some(n) = self.snmp("Ip", "ReasmFails") else {
            return Outcome::NotChecked;
        };
        Outcome::fired_if(n >= self.t.ip_reassembly_failures, || {
            format!(
                "IP reassembly failures: fragmented datagrams could not be rebuilt (fragments lost \
                 or timed out) — Ip {}",
                moved_list(&[
                    ("ReasmFails", Some(n)),
                    ("ReasmTimeout", self.snmp("Ip", "ReasmTimeout")),
                ])
            )
        })
    }

    /// `Icmp InDestUnreachs` (`IcmpMsg InType3` when absent), as a count
    /// and a rate.
    fn icmp_unreachable_burst(&self) -> Outcome {
        let (now, before) = (self.now, self.before);
        let unreachable = self
            .snmp("Icmp", "InDestUnreachs")
            .map(|n| (n, "Icmp InDestUnreachs"))
            .or_else(|| {
                // A quiet host has no IcmpMsg section yet: a missing InType3
                // on the earlier reading means zero.
                let current = now.snmp.as_ref()?.get_u64("IcmpMsg", "InType3")?;
                let earlier = before.snmp.as_ref()?;
                let earlier = earlier.get_u64("IcmpMsg", "InType3").unwrap_or(0);
                counter_delta(earlier, current).map(|n| (n, "IcmpMsg InType3"))
            });
        let Some((n, counter)) = unreachable else {
            return if now.snmp.is_none() || before.snmp.is_none() {
                Outcome::NotChecked
            } else {
                Outcome::QUIET
            };
        };
        let rate = per_second(n, self.span);
        let t = self.t;
        Outcome::fired_if(
            n >= t.icmp_unreachable_min && rate >= t.icmp_unreachable_per_second,
            || {
                format!(
                    "Burst of ICMP destination unreachable: {n} received in {} \
                     ({rate:.1}/s): peers refuse or cannot route what is sent — {counter} +{n}",
                    self.seconds
                )
            },
        )
    }

    /// `stat/arp_cache res_failed`, all namespaces.
    fn arp_resolution_failures(&self) -> Outcome {
        let (Some(a), Some(b)) = (&self.now.arp_cache, &self.before.arp_cache) else {
            return Outcome::NotChecked;
        };
        let Some(n) = counter_delta(b.res_failed, a.res_failed) else {
            return Outcome::QUIET;
        };
        Outcome::fired_if(n >= self.t.arp_resolution_failures, || {
            format!(
                "ARP resolution failures: neighbours did not answer (all namespaces) — \
                 stat/arp_cache {}",
                moved_list(&[
                    ("res_failed", Some(n)),
                    (
                        "unresolved_discards",
                        counter_delta(b.unresolved_discards, a.unresolved_discards)
                    ),
                ])
            )
        })
    }

    /// Per interface, `net/dev` RX/TX errs + drop: one line per interface.
    fn interface_errors(&self) -> Outcome {
        let (Some(a), Some(b)) = (&self.now.dev, &self.before.dev) else {
            return Outcome::NotChecked;
        };
        let mut lines = Vec::new();
        for device in &a.rows {
            let Some(old) = b.rows.iter().find(|d| d.name == device.name) else {
                continue;
            };
            let counters = [
                ("rx errs", counter_delta(old.rx_errs, device.rx_errs)),
                ("rx drop", counter_delta(old.rx_drop, device.rx_drop)),
                ("tx errs", counter_delta(old.tx_errs, device.tx_errs)),
                ("tx drop", counter_delta(old.tx_drop, device.tx_drop)),
            ];
            let total = counters
                .iter()
                .filter_map(|(_, d)| *d)
                .fold(0u64, u64::saturating_add);
            if total >= self.t.interface_errors {
                lines.push(format!(
                    "Interface {}: errors or drops — dev {}",
                    device.name,
                    moved_list(&counters)
                ));
            }
        }
        Outcome::Checked(lines)
    }
}

/// The softnet changes of every CPU present in both readings.
struct SoftnetChanges(Vec<SoftnetDelta>);

/// One softnet counter summed over CPUs, and the CPUs where it moved.
struct CpuSum {
    total: u64,
    /// `CPU 0 +3, CPU 2 +1`.
    cpus: String,
}

impl SoftnetChanges {
    fn sum(&self, get: impl Fn(&SoftnetDelta) -> u64) -> CpuSum {
        let total = self.0.iter().map(&get).fold(0u64, u64::saturating_add);
        let cpus: Vec<String> = self
            .0
            .iter()
            .filter(|d| get(d) > 0)
            .map(|d| format!("CPU {} +{}", d.cpu, get(d)))
            .collect();
        CpuSum {
            total,
            cpus: cpus.join(", "),
        }
    }
}

/// `A +3, B +1` for the counters that moved (all of them when none did).
fn moved_list(counters: &[(&str, Option<u64>)]) -> String {
    let moved: Vec<String> = counters
        .iter()
        .filter_map(|(name, delta)| delta.filter(|d| *d > 0).map(|d| format!("{name} +{d}")))
        .collect();
    if moved.is_empty() {
        counters
            .iter()
            .map(|(name, delta)| match delta {
                Some(d) => format!("{name} +{d}"),
                None => format!("{name} ?"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        moved.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabs::testing::{dev_text, ok, snapshot, softnet_text};

    type Files = Vec<(&'static str, Result<String, crate::error::ReadError>)>;

    /// Evaluates the rules between two snapshots `seconds` apart.
    fn evaluate_files(before: Files, after: Files, seconds: u64) -> Evaluation {
        let before = snapshot(0, before);
        let after = snapshot(seconds, after);
        evaluate(
            &Readings::of(&after),
            &Readings::of(&before),
            Duration::from_secs(seconds),
            &THRESHOLDS,
        )
    }

    fn fired(evaluation: &Evaluation, rule: Rule) -> Vec<String> {
        evaluation
            .findings
            .iter()
            .filter(|f| f.rule == rule)
            .map(|f| f.text.clone())
            .collect()
    }

    /// Asserts that `rule` fires once between `before` and `after` texts of
    /// `file` (and that the line names `counters`), and does not fire for
    /// `quiet_after`.
    fn check(
        rule: Rule,
        file: &'static str,
        before: &str,
        after: &str,
        quiet_after: &str,
        counters: &[&str],
    ) {
        let e = evaluate_files(vec![ok(file, before)], vec![ok(file, after)], 2);
        let lines = fired(&e, rule);
        assert_eq!(lines.len(), 1, "{rule:?} should fire: {e:?}");
        for counter in counters {
            assert!(
                lines[0].contains(counter),
                "{rule:?}: {} lacks {counter}",
                lines[0]
            );
        }
        assert!(!e.unchecked.contains(&rule));
        let e = evaluate_files(vec![ok(file, before)], vec![ok(file, quiet_after)], 2);
        assert!(
            fired(&e, rule).is_empty(),
            "{rule:?} should not fire: {e:?}"
        );
        assert!(!e.unchecked.contains(&rule));
    }

    #[test]
    fn tcp_retransmissions_above_the_share() {
        let before = "Tcp: RetransSegs OutSegs\nTcp: 0 1000\n";
        // 10 of 200 segments (5%) fire; 2 of 200 (1%) do not.
        check(
            Rule::TcpRetransmissions,
            "snmp",
            before,
            "Tcp: RetransSegs OutSegs\nTcp: 10 1200\n",
            "Tcp: RetransSegs OutSegs\nTcp: 2 1200\n",
            &["5.0%", "RetransSegs +10", "OutSegs +200"],
        );
        // Half of 10 segments is not a rate yet.
        let e = evaluate_files(
            vec![ok("snmp", before)],
            vec![ok("snmp", "Tcp: RetransSegs OutSegs\nTcp: 5 1010\n")],
            2,
        );
        assert!(fired(&e, Rule::TcpRetransmissions).is_empty());
    }

    #[test]
    fn listen_queue_overflows() {
        check(
            Rule::ListenOverflows,
            "netstat",
            "TcpExt: ListenOverflows ListenDrops\nTcpExt: 7 7\n",
            "TcpExt: ListenOverflows ListenDrops\nTcpExt: 10 10\n",
            "TcpExt: ListenOverflows ListenDrops\nTcpExt: 7 7\n",
            &["ListenOverflows +3", "ListenDrops +3"],
        );
    }

    #[test]
    fn syn_cookies_sent() {
        let names = "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed\n";
        check(
            Rule::SynCookies,
            "netstat",
            &format!("{names}TcpExt: 0 0 0\n"),
            &format!("{names}TcpExt: 12 1 0\n"),
            &format!("{names}TcpExt: 0 5 0\n"),
            &["SyncookiesSent +12", "SyncookiesRecv +1", "SYN flood"],
        );
    }

    #[test]
    fn tcp_aborts_on_memory() {
        check(
            Rule::TcpMemoryAborts,
            "netstat",
            "TcpExt: TCPAbortOnMemory\nTcpExt: 4\n",
            "TcpExt: TCPAbortOnMemory\nTcpExt: 5\n",
            "TcpExt: TCPAbortOnMemory\nTcpExt: 4\n",
            &["TCPAbortOnMemory +1"],
        );
    }

    #[test]
    fn udp_buffer_errors() {
        let names = "Udp: RcvbufErrors SndbufErrors\n";
        check(
            Rule::UdpBufferErrors,
            "snmp",
            &format!("{names}Udp: 0 0\n"),
            &format!("{names}Udp: 5 0\n"),
            &format!("{names}Udp: 0 0\n"),
            &["receive buffer", "RcvbufErrors +5"],
        );
        let e = evaluate_files(
            vec![ok("snmp", &format!("{names}Udp: 0 0\n"))],
            vec![ok("snmp", &format!("{names}Udp: 0 2\n"))],
            2,
        );
        assert!(fired(&e, Rule::UdpBufferErrors)[0].contains("send buffer was full"));
    }

    #[test]
    fn udp_datagrams_to_closed_ports() {
        check(
            Rule::UdpClosedPorts,
            "snmp",
            "Udp: NoPorts\nUdp: 100\n",
            "Udp: NoPorts\nUdp: 120\n",
            "Udp: NoPorts\nUdp: 104\n",
            &["20 in 2 s (10.0/s)", "NoPorts +20"],
        );
        // 30 over a minute is half a datagram per second: not a burst.
        let e = evaluate_files(
            vec![ok("snmp", "Udp: NoPorts\nUdp: 0\n")],
            vec![ok("snmp", "Udp: NoPorts\nUdp: 30\n")],
            60,
        );
        assert!(fired(&e, Rule::UdpClosedPorts).is_empty());
    }

    /// A 13-column softnet row of CPU `cpu`.
    fn softnet_row(cpu: u32, processed: u32, dropped: u32, squeezed: u32) -> Vec<u32> {
        let mut row = vec![0; 13];
        row[0] = processed;
        row[1] = dropped;
        row[2] = squeezed;
        row[12] = cpu;
        row
    }

    #[test]
    fn softnet_drops_count_across_the_32_bit_wrap() {
        let before = softnet_text(&[softnet_row(0, 10, 0, 0), softnet_row(1, 10, u32::MAX, 0)]);
        check(
            Rule::SoftnetDrops,
            "softnet_stat",
            &before,
            &softnet_text(&[softnet_row(0, 50, 0, 0), softnet_row(1, 90, 2, 0)]),
            &softnet_text(&[softnet_row(0, 50, 0, 0), softnet_row(1, 90, u32::MAX, 0)]),
            &["dropped +3", "CPU 1 +3"],
        );
    }

    #[test]
    fn softnet_time_squeezes() {
        let before = softnet_text(&[softnet_row(0, 10, 0, 100), softnet_row(1, 10, 0, 0)]);
        check(
            Rule::SoftnetTimeSqueezes,
            "softnet_stat",
            &before,
            &softnet_text(&[softnet_row(0, 10, 0, 110), softnet_row(1, 10, 0, 0)]),
            &softnet_text(&[softnet_row(0, 10, 0, 102), softnet_row(1, 10, 0, 0)]),
            &["time_squeeze +10", "CPU 0 +10"],
        );
    }

    #[test]
    fn softnet_rows_that_cannot_be_paired_are_not_checked() {
        // 11 columns (no CPU column) and a CPU gone offline.
        let row = |v: u32| vec![v, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let e = evaluate_files(
            vec![ok("softnet_stat", &softnet_text(&[row(1), row(2)]))],
            vec![ok("softnet_stat", &softnet_text(&[row(9)]))],
            2,
        );
        assert!(e.unchecked.contains(&Rule::SoftnetDrops));
        assert!(e.unchecked.contains(&Rule::SoftnetTimeSqueezes));
    }

    #[test]
    fn ip_reassembly_failures() {
        let names = "Ip: ReasmFails ReasmTimeout\n";
        check(
            Rule::IpReassemblyFailures,
            "snmp",
            &format!("{names}Ip: 0 0\n"),
            &format!("{names}Ip: 2 1\n"),
            &format!("{names}Ip: 0 0\n"),
            &["ReasmFails +2", "ReasmTimeout +1"],
        );
    }

    #[test]
    fn icmp_unreachable_bursts() {
        check(
            Rule::IcmpUnreachableBurst,
            "snmp",
            "Icmp: InDestUnreachs\nIcmp: 5\n",
            "Icmp: InDestUnreachs\nIcmp: 45\n",
            "Icmp: InDestUnreachs\nIcmp: 8\n",
            &["40 received in 2 s (20.0/s)", "Icmp InDestUnreachs +40"],
        );
        // Without an Icmp section, IcmpMsg InType3 (absent while zero).
        let e = evaluate_files(
            vec![ok("snmp", "Udp: NoPorts\nUdp: 0\n")],
            vec![ok(
                "snmp",
                "Udp: NoPorts\nUdp: 0\nIcmpMsg: InType3\nIcmpMsg: 30\n",
            )],
            2,
        );
        assert!(fired(&e, Rule::IcmpUnreachableBurst)[0].contains("IcmpMsg InType3 +30"));
    }

    #[test]
    fn arp_resolution_failures() {
        let names = "entries allocs destroys hash_grows lookups hits res_failed rcv_probes_mcast rcv_probes_ucast periodic_gc_runs forced_gc_runs unresolved_discards\n";
        let row = |failed: u32, discards: u32| {
            format!(
                "00000002 00000001 00000000 00000000 00000004 00000000 {failed:08x} 00000000 00000000 00000000 00000000 {discards:08x}\n"
            )
        };
        check(
            Rule::ArpResolutionFailures,
            "stat/arp_cache",
            &format!("{names}{}{}", row(1, 0), row(0, 0)),
            &format!("{names}{}{}", row(2, 4), row(1, 0)),
            &format!("{names}{}{}", row(1, 0), row(0, 0)),
            &["res_failed +2", "unresolved_discards +4"],
        );
    }

    #[test]
    fn interface_errors_and_drops() {
        let mut quiet = [0u64; 16];
        quiet[0] = 1000;
        let mut busy = quiet;
        busy[0] = 5000; // more bytes alone is no finding
        let mut dropping = busy;
        dropping[3] = 5; // rx drop
        dropping[10] = 1; // tx errs
        check(
            Rule::InterfaceErrors,
            "dev",
            &dev_text(&[("lo", quiet), ("eth0", quiet)]),
            &dev_text(&[("lo", busy), ("eth0", dropping)]),
            &dev_text(&[("lo", busy), ("eth0", busy)]),
            &["Interface eth0", "rx drop +5", "tx errs +1"],
        );
    }

    #[test]
    fn counters_going_backwards_fire_nothing() {
        let e = evaluate_files(
            vec![ok(
                "netstat",
                "TcpExt: ListenOverflows ListenDrops SyncookiesSent TCPAbortOnMemory\nTcpExt: 9 9 9 9\n",
            )],
            vec![ok(
                "netstat",
                "TcpExt: ListenOverflows ListenDrops SyncookiesSent TCPAbortOnMemory\nTcpExt: 0 0 0 0\n",
            )],
            2,
        );
        assert!(e.findings.is_empty(), "{e:?}");
    }

    #[test]
    fn missing_inputs_are_not_checked_rather_than_quiet() {
        let e = evaluate_files(vec![], vec![], 2);
        assert!(e.findings.is_empty());
        assert_eq!(e.unchecked, Rule::ALL.to_vec());
    }

    #[test]
    fn every_rule_is_documented() {
        let docs = include_str!("../../docs/tabs-namespace.md").to_lowercase();
        for rule in Rule::ALL {
            let name = rule.name().to_lowercase();
            assert!(docs.contains(&name), "{name} is not in the docs");
        }
    }

    #[test]
    fn the_thresholds_are_sane() {
        let t = THRESHOLDS;
        assert!(t.tcp_retrans_percent > 0.0 && t.tcp_retrans_percent < 100.0);
        for minimum in [
            t.tcp_retrans_min_segments,
            t.listen_drops,
            t.syncookies_sent,
            t.tcp_abort_on_memory,
            t.udp_buffer_errors,
            t.udp_no_ports_min,
            t.softnet_drops,
            t.softnet_time_squeezes,
            t.ip_reassembly_failures,
            t.icmp_unreachable_min,
            t.arp_resolution_failures,
            t.interface_errors,
        ] {
            // A zero threshold would fire on every quiet tick.
            assert!(minimum >= 1);
        }
    }
}
