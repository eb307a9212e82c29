//! View-level tests of the socket tabs (tcp, udp, raw, icmp): hand-made
//! snapshots — file texts in the kernel's format, `fd/` inodes and a
//! process scan — rendered at a fixed width with no colour. No I/O and no
//! root needed: these pin scope, owners, filter, new/closed marks, the
//! count of other sockets and the ICMP counters.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::TimeZone;
use netmonitor::parse::Endian;
use netmonitor::render::{Block, Emphasis, RenderOptions, Screen, render};
use netmonitor::snapshot::{FdSockets, Process, ProcessScan, ScannedProcess, Snapshot};
use netmonitor::tabs::{Filter, Scope, Tab, ViewContext, ViewSettings, view};

const PID: u32 = 4242;

const UDP_HEADER: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
const V6_HEADER: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
const RAW_HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
const TCP_HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

/// `net/udp`: the process's bound socket (uid 1000, 832 bytes queued, 3
/// drops), a neighbour's connected socket, a child's DNS socket, and one
/// nobody visible holds.
fn udp() -> String {
    [
        UDP_HEADER,
        " 6794: 0100007F:14E9 00000000:0000 07 00000000:00000340 00:00000000 00000000  1000        0 8505 2 000000006987b778 3",
        "11335: 0100007F:9C40 0100007F:14E9 01 00000000:00000000 00:00000000 00000000     0        0 8506 2 00000000eb18b3fd 0",
        "  100: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9000 2 0000000000000000 0",
        "  101: 00000000:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9100 2 0000000000000000 0",
    ]
    .join("\n")
}

/// `net/udp6` as printed before 2.6.27: no `drops` column.
fn udp6() -> String {
    format!(
        "{V6_HEADER}\n 6795: 00000000000000000000000001000000:1388 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 8507 2 00000000f06c6cf5\n"
    )
}

fn tcp() -> String {
    [
        TCP_HEADER,
        "   0: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7003 1 0000000000000000 100 0 0 10 0",
        "   1: 0100007F:0050 0100007F:DEFC 06 00000000:00000000 03:00001752 00000000     0        0 0 3 00000000892b9a29",
    ]
    .join("\n")
}

fn raw() -> String {
    [
        RAW_HEADER,
        " 109: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 8510 2 00000000c412da59 0",
        " 115: 00000000:00FD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 8511 2 00000000bfe90017 0",
        " 116: 0100007F:00FF 0100007F:0000 01 00000000:00000000 00:00000000 00000000     0        0 8513 2 00000000bfe90017 12",
    ]
    .join("\n")
}

fn raw6() -> String {
    format!(
        "{V6_HEADER}\n  132: 00000000000000000000000000000000:003A 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 8512 2 00000000f8faf7dc 0\n"
    )
}

fn icmp() -> String {
    format!(
        "{RAW_HEADER}\n    3: 0100007F:3BA2 0100007F:0000 01 00000000:00000000 00:00000000 00000000  1000        0 8520 2 000000009a38cff3 0\n"
    )
}

fn icmp6() -> String {
    format!(
        "{V6_HEADER}\n    4: 00000000000000000000000001000000:3BA3 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 8521 2 0000000069b38a9a 0\n"
    )
}

const UNIX: &str = "Num       RefCount Protocol Flags    Type St Inode Path\n\
00000000a95aecfc: 00000002 00000000 00010000 0001 01 7001 /run/demo.sock\n\
00000000a95aecfd: 00000003 00000000 00000000 0001 03 7005 /run/a\n\
b.sock\n";
const NETLINK: &str = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n\
000000008fd1e68f 0   4242       00000000 0        0        0     2        0        7002    \n";
const PACKET: &str = "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n";

/// The process's sockets: two UDP, one raw ICMP, two ping, one unix
/// (plus one whose path spans two lines), one netlink, one TCP listener
/// and one socket no table lists.
fn own_fd() -> FdSockets {
    FdSockets::of([8505, 8507, 8510, 8520, 8521, 7001, 7005, 7002, 7003, 7004])
}

fn scanned(pid: u32, parent: u32, name: &str, same_netns: bool, sockets: &[u64]) -> ScannedProcess {
    ScannedProcess {
        pid,
        parent,
        name: name.into(),
        same_netns,
        sockets: same_netns.then(|| sockets.iter().copied().collect::<BTreeSet<u64>>()),
        unreadable: None,
    }
}

/// The process (4242), its child 4243 sharing one socket and holding the
/// DNS one, an unrelated neighbour 4300, a grandchild 4400 in another
/// namespace, and a process whose `fd/` cannot be read.
fn scan() -> ProcessScan {
    let mut locked = scanned(4500, 1, "locked", true, &[]);
    locked.sockets = None;
    locked.unreadable = Some("permission denied".into());
    ProcessScan {
        processes: vec![
            scanned(1, 0, "init", true, &[]),
            scanned(
                PID,
                1,
                "resolver",
                true,
                &[8505, 8507, 8510, 8520, 8521, 7001, 7005, 7002, 7003],
            ),
            scanned(4243, PID, "worker", true, &[8505, 9000]),
            scanned(4300, 1, "other", true, &[8506, 8511, 8512]),
            scanned(4400, 4243, "jailed", false, &[]),
            locked,
        ],
    }
}

fn snapshot(files: Vec<(&'static str, String)>, scope: Scope) -> Snapshot {
    let mut snapshot = Snapshot::of_texts(files);
    snapshot.taken_at = chrono::Local
        .with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
        .single()
        .expect("a plain local time");
    snapshot.fd = Some(Ok(own_fd()));
    if scope.needs_owners() {
        snapshot.processes = Some(Ok(scan()));
    }
    snapshot
}

fn all_files() -> Vec<(&'static str, String)> {
    vec![
        ("tcp", tcp()),
        ("udp", udp()),
        ("udp6", udp6()),
        ("raw", raw()),
        ("raw6", raw6()),
        ("icmp", icmp()),
        ("icmp6", icmp6()),
        ("unix", UNIX.into()),
        ("netlink", NETLINK.into()),
        ("packet", PACKET.into()),
    ]
}

fn process() -> Process {
    Process {
        pid: PID,
        name: "resolver".into(),
        cmdline: "resolver --serve".into(),
        start_time: 1,
        parent: 1,
        netns: Some("net:[4026532000]".into()),
        netns_error: None,
        via_thread: None,
    }
}

fn users() -> HashMap<u32, String> {
    HashMap::from([(0, "root".to_string()), (1000, "alice".to_string())])
}

fn screen(
    tab: Tab,
    settings: &ViewSettings,
    now: &Snapshot,
    previous: Option<&Snapshot>,
) -> Screen {
    let process = process();
    let users = users();
    view(tab, &context(&process, &users, settings), now, previous)
}

/// The view settings of the tests: 2 s, names, 100 ticks a second.
fn context<'a>(
    process: &'a Process,
    users: &'a HashMap<u32, String>,
    settings: &'a ViewSettings,
) -> ViewContext<'a> {
    ViewContext {
        process,
        interval: Duration::from_secs(2),
        users,
        numeric: false,
        endian: Endian::Little,
        clock_ticks: 100,
        counters: Default::default(),
        view: settings,
        earlier: None,
        totals: None,
        replay: None,
        rows_shown: None,
        rows_later: false,
    }
}

fn text(screen: &Screen) -> String {
    render(
        screen,
        &RenderOptions {
            width: Some(140),
            colour: false,
            max_rows: None,
        },
    )
}

fn scope(scope: Scope) -> ViewSettings {
    ViewSettings {
        scope,
        filter: None,
    }
}

fn filtered(text: &str) -> ViewSettings {
    ViewSettings {
        scope: Scope::Own,
        filter: Filter::new(text),
    }
}

fn rows(screen: &Screen) -> Vec<Vec<String>> {
    match screen.blocks.first() {
        Some(Block::Table(table)) => table
            .rows
            .iter()
            .map(|r| r.cells.iter().map(|c| c.text.to_string()).collect())
            .collect(),
        _ => Vec::new(),
    }
}

fn column(screen: &Screen, name: &str) -> Vec<String> {
    let Some(Block::Table(table)) = screen.blocks.first() else {
        return Vec::new();
    };
    let Some(index) = table.columns.iter().position(|c| c.title == name) else {
        return Vec::new();
    };
    table
        .rows
        .iter()
        .map(|r| r.cells[index].text.to_string())
        .collect()
}

fn notes(screen: &Screen) -> Vec<String> {
    match screen.blocks.first() {
        Some(Block::Table(table)) => table.notes.clone(),
        _ => Vec::new(),
    }
}

#[test]
fn udp_own_scope() {
    let now = snapshot(all_files(), Scope::Own);
    let screen = screen(Tab::Udp, &scope(Scope::Own), &now, None);
    assert_eq!(column(&screen, "Inode"), vec!["8505", "8507"]);
    assert_eq!(column(&screen, "Drops"), vec!["3", "-"]);
    assert_eq!(column(&screen, "Recv-Q"), vec!["832", "0"]);
    assert_eq!(column(&screen, "User"), vec!["alice", "root"]);
    assert!(column(&screen, "Owner").is_empty(), "no Owner in scope own");
    assert!(
        screen.status[1].starts_with(
            "scope own · the process's own sockets: 2 of 5 UDP sockets in net:[4026532000]"
        ),
        "{:?}",
        screen.status
    );
    assert!(notes(&screen).contains(
        &"8 other sockets not in these tables: 1 tcp, 1 raw, 2 icmp, 2 unix, 1 netlink, 1 in no table (unbound, bound-only TCP, another namespace or family)".to_string()
    ));
    insta::assert_snapshot!("udp_own", text(&screen));
}

#[test]
fn udp_all_scope_names_every_owner() {
    let now = snapshot(all_files(), Scope::All);
    let screen = screen(Tab::Udp, &scope(Scope::All), &now, None);
    assert_eq!(
        column(&screen, "Inode"),
        vec!["9000", "9100", "8505", "8506", "8507"]
    );
    assert_eq!(
        column(&screen, "Owner"),
        vec![
            "4243/worker",
            "?",
            "4242/resolver, 4243/worker",
            "4300/other",
            "4242/resolver"
        ]
    );
    assert_eq!(
        screen.status[1],
        "scope all · every UDP socket in net:[4026532000]: 5, with owners"
    );
    let notes = notes(&screen);
    assert!(notes.iter().any(|n| n.starts_with("Owner ?:")), "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("cannot read fd/ of 1 process: 4500/locked (permission denied)")),
        "{notes:?}"
    );
    insta::assert_snapshot!("udp_all", text(&screen));
}

#[test]
fn udp_tree_scope_adds_descendants() {
    let now = snapshot(all_files(), Scope::Tree);
    let screen = screen(Tab::Udp, &scope(Scope::Tree), &now, None);
    assert_eq!(column(&screen, "Inode"), vec!["9000", "8505", "8507"]);
    assert_eq!(
        column(&screen, "Owner"),
        vec!["4243/worker", "4242/resolver, 4243/worker", "4242/resolver"]
    );
    assert!(
        screen.status[1].starts_with(
            "scope tree · sockets of pid 4242 and its 2 descendants: 3 of 5 UDP sockets"
        ),
        "{:?}",
        screen.status
    );
    assert!(
        notes(&screen)
            .iter()
            .any(|n| n.contains("another network namespace") && n.contains("4400/jailed")),
        "{:?}",
        notes(&screen)
    );
    insta::assert_snapshot!("udp_tree", text(&screen));
}

#[test]
fn tcp_all_scope_marks_inode_zero_with_a_dash() {
    let now = snapshot(all_files(), Scope::All);
    let screen = screen(Tab::Tcp, &scope(Scope::All), &now, None);
    assert_eq!(column(&screen, "State"), vec!["LISTEN", "TIME-WAIT"]);
    assert_eq!(column(&screen, "Owner"), vec!["4242/resolver", "-"]);
    insta::assert_snapshot!("tcp_all", text(&screen));
}

#[test]
fn raw_protocols_by_number_and_name() {
    let now = snapshot(all_files(), Scope::All);
    let screen = screen(Tab::Raw, &scope(Scope::All), &now, None);
    assert_eq!(
        column(&screen, "Protocol"),
        vec!["1 icmp", "253 experimental", "255 raw", "58 ipv6-icmp"]
    );
    assert_eq!(
        column(&screen, "Peer Address"),
        vec!["*", "*", "127.0.0.1", "*"]
    );
    assert_eq!(
        column(&screen, "State"),
        vec!["UNCONN", "UNCONN", "ESTAB", "UNCONN"]
    );
    assert_eq!(column(&screen, "Drops"), vec!["0", "0", "12", "0"]);
    insta::assert_snapshot!("raw_all", text(&screen));
    let own = screen_own(Tab::Raw);
    assert_eq!(column(&own, "Inode"), vec!["8510"]);
}

fn screen_own(tab: Tab) -> Screen {
    let now = snapshot(all_files(), Scope::Own);
    screen(tab, &scope(Scope::Own), &now, None)
}

fn snmp(icmpmsg: &str, in_msgs: u64) -> String {
    format!(
        "Ip: Forwarding DefaultTTL\nIp: 2 64\n\
Icmp: InMsgs InErrors InCsumErrors InDestUnreachs OutMsgs OutErrors\n\
Icmp: {in_msgs} 0 0 2 4 0\n{icmpmsg}\
Udp: InDatagrams NoPorts\nUdp: 33 0\n"
    )
}

const SNMP6: &str = "Ip6InReceives                   \t1\n\
Icmp6InMsgs                     \t3\n\
Icmp6OutMsgs                    \t2\n\
Icmp6InType128                  \t2\n\
Icmp6InType129                  \t1\n\
Icmp6OutType128                 \t1\n\
Icmp6OutType129                 \t1\n\
Udp6InDatagrams                 \t0\n";

#[test]
fn icmp_ping_sockets_and_counters_with_changes() {
    let mut files = all_files();
    files.push((
        "snmp",
        snmp(
            "IcmpMsg: InType0 InType3\nIcmpMsg: 3 2\nIcmpMsg: OutType8\nIcmpMsg: 4\n",
            5,
        ),
    ));
    files.push(("snmp6", SNMP6.into()));
    let before = snapshot(files.clone(), Scope::Own);
    files.retain(|(name, _)| *name != "snmp");
    files.push((
        "snmp",
        snmp(
            "IcmpMsg: InType0 InType3 InType11\nIcmpMsg: 5 2 1\nIcmpMsg: OutType8\nIcmpMsg: 6\n",
            8,
        ),
    ));
    let now = snapshot(files, Scope::Own);
    let screen = screen(Tab::Icmp, &scope(Scope::Own), &now, Some(&before));
    assert_eq!(column(&screen, "Echo ID"), vec!["15266", "15267"]);
    assert_eq!(column(&screen, "Local Address"), vec!["127.0.0.1", "::1"]);
    assert_eq!(column(&screen, "Peer Address"), vec!["127.0.0.1", "*"]);
    let Some(Block::Table(v4)) = screen.blocks.get(1) else {
        panic!("an IPv4 counter table: {:?}", screen.blocks);
    };
    let cells: Vec<Vec<&str>> = v4.rows.iter().map(|r| r.texts()).collect();
    assert_eq!(
        cells,
        vec![
            vec!["echo reply (0)", "5", "+2", "0", "0"],
            vec!["destination unreachable (3)", "2", "0", "0", "0"],
            vec!["echo request (8)", "0", "0", "6", "+2"],
            vec!["time exceeded (11)", "1", "+1", "0", "0"],
        ]
    );
    let emphasis: Vec<Emphasis> = v4.rows.iter().map(|r| r.emphasis).collect();
    assert_eq!(
        emphasis,
        vec![
            Emphasis::Highlight,
            Emphasis::None,
            Emphasis::Highlight,
            Emphasis::Highlight
        ]
    );
    assert!(v4.notes[0].starts_with("totals: InMsgs 8 (+3), InErrors 0"));
    insta::assert_snapshot!("icmp_changes", text(&screen));
}

#[test]
fn icmp_without_icmpmsg_says_no_messages_yet() {
    let mut files = all_files();
    files.push(("snmp", snmp("", 0)));
    let mut now = snapshot(files, Scope::Own);
    // No snmp6: IPv6 disabled.
    now.tables.push((
        "snmp6",
        Err(netmonitor::error::ReadError::new(
            "/proc/4242/net/snmp6",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )),
    ));
    let screen = screen(Tab::Icmp, &scope(Scope::Own), &now, None);
    let texts: Vec<&Vec<String>> = screen
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Text(lines) => Some(lines),
            Block::Table(_) | Block::List(_) => None,
        })
        .collect();
    assert_eq!(texts.len(), 2, "{:?}", screen.blocks);
    assert_eq!(texts[0][1], "no ICMP messages yet");
    assert_eq!(texts[1][1], "ICMPv6: no net/snmp6 (IPv6 is disabled)");
    insta::assert_snapshot!("icmp_quiet", text(&screen));
}

#[test]
fn filter_keeps_matching_rows_in_any_column() {
    let now = snapshot(all_files(), Scope::All);
    let settings = ViewSettings {
        scope: Scope::All,
        filter: Filter::new("WORKER"),
    };
    let screen = screen(Tab::Udp, &settings, &now, None);
    assert_eq!(column(&screen, "Inode"), vec!["9000", "8505"]);
    assert_eq!(screen.status[2], "filter 'WORKER': 2 of 5 rows");
    // Every socket tab applies it.
    let screen_udp6 = screen_with(Tab::Udp, filtered("udp6"));
    assert_eq!(column(&screen_udp6, "Inode"), vec!["8507"]);
    let raw = screen_with(Tab::Raw, filtered("icmp"));
    assert_eq!(column(&raw, "Inode"), vec!["8510"]);
    let tcp = screen_with(Tab::Tcp, filtered("nothing like this"));
    assert!(rows(&tcp).is_empty());
    assert!(text(&tcp).contains("(none)"));
    assert_eq!(tcp.status[2], "filter 'nothing like this': 0 of 1 row");
    insta::assert_snapshot!("udp_filtered", text(&screen));
}

fn screen_with(tab: Tab, settings: ViewSettings) -> Screen {
    let now = snapshot(all_files(), settings.scope);
    screen(tab, &settings, &now, None)
}

/// The previous tick had 8505 and a connected socket 8530; now 8530 is
/// gone and 8531 appeared.
fn ticks() -> (Snapshot, Snapshot) {
    let closed = "  200: 0100007F:1389 0100007F:138A 01 00000000:00000000 00:00000000 00000000     0        0 8530 2 0000000000000000 0";
    let opened = "  201: 0100007F:138B 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 8531 2 0000000000000000 0";
    let mut before_files = all_files();
    before_files.retain(|(n, _)| *n != "udp");
    before_files.push(("udp", format!("{}\n{closed}\n", udp())));
    let mut before = snapshot(before_files, Scope::Own);
    before.fd = Some(Ok(FdSockets::of([8505, 8507, 8530])));
    let mut now_files = all_files();
    now_files.retain(|(n, _)| *n != "udp");
    now_files.push(("udp", format!("{}\n{opened}\n", udp())));
    let mut now = snapshot(now_files, Scope::Own);
    now.fd = Some(Ok(FdSockets::of([8505, 8507, 8531])));
    (before, now)
}

#[test]
fn new_rows_are_marked_and_closed_ones_listed() {
    let (before, now) = ticks();
    let screen = screen(Tab::Udp, &scope(Scope::Own), &now, Some(&before));
    let rows = rows(&screen);
    let marks: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[9].as_str()))
        .collect();
    assert_eq!(marks, vec![("+", "8531"), ("", "8505"), ("", "8507")]);
    let Some(Block::Table(table)) = screen.blocks.first() else {
        panic!("a table");
    };
    assert_eq!(table.rows[0].emphasis, Emphasis::Highlight);
    assert_eq!(table.rows[1].emphasis, Emphasis::None);
    assert!(
        table
            .notes
            .contains(&"closed: udp 127.0.0.1:5001 → 127.0.0.1:5002 ESTAB".to_string()),
        "{:?}",
        table.notes
    );
    insta::assert_snapshot!("udp_changes", text(&screen));
}

#[test]
fn filter_applies_to_the_closed_line() {
    let (before, now) = ticks();
    let screen = screen(Tab::Udp, &filtered("5353"), &now, Some(&before));
    assert!(!notes(&screen).iter().any(|n| n.starts_with("closed:")));
    let screen = self::screen(Tab::Udp, &filtered("5002"), &now, Some(&before));
    assert!(rows(&screen).is_empty());
    assert!(notes(&screen).iter().any(|n| n.starts_with("closed:")));
}

#[test]
fn changing_scope_does_not_mark_rows_new() {
    // The previous tick was in scope own; now scope all shows sockets that
    // existed then but were not shown: they are not new.
    let before = snapshot(all_files(), Scope::Own);
    let now = snapshot(all_files(), Scope::All);
    let screen = screen(Tab::Udp, &scope(Scope::All), &now, Some(&before));
    assert!(rows(&screen).iter().all(|r| r[0].is_empty()));
    assert!(!notes(&screen).iter().any(|n| n.starts_with("closed:")));
}

#[test]
fn unreadable_fd_falls_back_to_the_namespace_and_says_why() {
    let mut now = snapshot(all_files(), Scope::Own);
    now.fd = Some(Err(netmonitor::error::ReadError::new(
        "/proc/4242/fd",
        std::io::Error::from(std::io::ErrorKind::PermissionDenied),
    )));
    let screen = screen(Tab::Udp, &scope(Scope::Own), &now, None);
    assert_eq!(rows(&screen).len(), 5);
    assert_eq!(
        screen.status[1],
        "scope own, fallback: cannot read /proc/4242/fd (permission denied): showing every socket in its network namespace (net:[4026532000])"
    );
}

#[test]
fn bad_lines_are_counted_not_fatal() {
    let mut files = all_files();
    files.retain(|(n, _)| *n != "udp");
    files.push(("udp", format!("{}\n  300: zzz\n  301: 0100007F\n", udp())));
    let now = snapshot(files, Scope::Own);
    let screen = screen(Tab::Udp, &scope(Scope::Own), &now, None);
    assert_eq!(column(&screen, "Inode"), vec!["8505", "8507"]);
    let notes = notes(&screen);
    assert!(
        notes.contains(&"2 lines could not be parsed and are left out:".to_string()),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("  udp line 6:")),
        "{notes:?}"
    );
}

#[test]
fn hostile_owner_names_are_escaped() {
    let mut now = snapshot(all_files(), Scope::All);
    if let Some(Ok(scan)) = now.processes.as_mut() {
        for p in &mut scan.processes {
            if p.pid == 4300 {
                p.name = "evil\x1b[2J\nname".into();
            }
        }
    }
    let screen = screen(Tab::Udp, &scope(Scope::All), &now, None);
    let out = text(&screen);
    assert!(!out.contains('\x1b'));
    assert!(out.contains("4300/evil\\x1b[2J\\x0aname"), "{out}");
}

#[test]
fn row_cap_counts_hidden_rows_with_marks_column() {
    let (before, now) = ticks();
    let screen = screen(Tab::Udp, &scope(Scope::Own), &now, Some(&before));
    let out = render(
        &screen,
        &RenderOptions {
            width: Some(140),
            colour: false,
            max_rows: Some(1),
        },
    );
    assert!(out.contains("… 2 more rows"), "{out}");
    assert!(out.contains("closed: udp"), "{out}");
}

#[test]
fn new_rows_are_coloured_on_a_terminal() {
    let (before, now) = ticks();
    let screen = screen(Tab::Udp, &scope(Scope::Own), &now, Some(&before));
    let out = render(
        &screen,
        &RenderOptions {
            width: Some(140),
            colour: true,
            max_rows: None,
        },
    );
    // Green (comfy-table's Color::Green is SGR 32 or 38;5;10) only on the
    // new row.
    let coloured: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("\x1b[38;5;10m") || l.contains("\x1b[32m"))
        .collect();
    assert_eq!(coloured.len(), 1, "{out}");
    assert!(coloured[0].contains("8531"));
}

/// The real 6.18 captures of `testdata/files` (see
/// `datagram-6.18.manifest`): every socket belongs to the process except
/// `u4_nobody` (inode 15328), held by a child.
fn captured() -> Snapshot {
    let read = |name: &str| {
        std::fs::read_to_string(support_dir().join("files").join(format!("{name}-6.18")))
            .expect("captured file")
    };
    let files = [
        "udp", "udp6", "udplite", "udplite6", "raw", "raw6", "icmp", "icmp6",
    ]
    .into_iter()
    .map(|name| (name, read(name)))
    .collect();
    let mut snapshot = snapshot(files, Scope::Own);
    snapshot.fd = Some(Ok(FdSockets::of(
        (15323..=15342).filter(|&inode| inode != 15328 && inode != 15327),
    )));
    snapshot
}

fn support_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

#[test]
fn captured_datagram_tables_render_in_each_tab() {
    let now = captured();
    let udp = screen(Tab::Udp, &scope(Scope::Own), &now, None);
    let mut inodes = column(&udp, "Inode");
    inodes.sort();
    assert_eq!(
        inodes,
        vec![
            "15323", "15324", "15325", "15326", "15329", "15330", "15331", "15332", "15333",
            "15334"
        ]
    );
    let row = |screen: &Screen, inode: &str| -> Vec<String> {
        rows(screen)
            .into_iter()
            .find(|r| r.last().is_some_and(|c| c == inode))
            .unwrap_or_else(|| panic!("no row {inode}"))
    };
    // u4_flooded: memory queued and datagrams dropped.
    let flooded = row(&udp, "15325");
    assert_ne!(flooded[3], "0", "{flooded:?}");
    assert_ne!(flooded[7], "0", "{flooded:?}");
    assert_eq!(row(&udp, "15326")[2], "ESTAB");
    assert_eq!(row(&udp, "15332")[5], "[::ffff:127.0.0.1]:40014");
    assert_eq!(row(&udp, "15332")[6], "[::ffff:127.0.0.1]:40002");
    assert_eq!(row(&udp, "15333")[1], "udplite");
    assert_eq!(row(&udp, "15334")[5], "[::1]:40022");
    insta::assert_snapshot!("captured_udp", text(&udp));

    let raw = screen(Tab::Raw, &scope(Scope::Own), &now, None);
    assert_eq!(row(&raw, "15335")[6], "1 icmp");
    assert_eq!(row(&raw, "15336")[6], "255 raw");
    let r253 = row(&raw, "15337");
    assert_eq!(
        (&r253[2][..], &r253[5][..], &r253[6][..], &r253[7][..]),
        ("ESTAB", "198.51.100.1", "253 experimental", "198.51.100.2")
    );
    assert_eq!(row(&raw, "15338")[6], "58 ipv6-icmp");
    assert_eq!(row(&raw, "15339")[5], "2001:db8:1::1");
    insta::assert_snapshot!("captured_raw", text(&raw));

    let icmp = screen(Tab::Icmp, &scope(Scope::Own), &now, None);
    assert_eq!(row(&icmp, "15340")[6], "4660");
    assert_eq!(row(&icmp, "15341")[6], "8738");
    assert_eq!(row(&icmp, "15342")[6], "17185");
    assert_eq!(row(&icmp, "15340")[7], "127.0.0.1");
    assert_eq!(row(&icmp, "15341")[7], "*");
    insta::assert_snapshot!("captured_icmp", text(&icmp));
}

/// Text output of every row leaves the rows to the renderer
/// (`text_with`), which reuses the lines of rows unchanged since the last
/// refresh: at the first tick and at the next (with rows new, gone and
/// kept) the text is exactly that of the rows built by the view, in every
/// socket tab and in the scopes with and without the Owner column.
#[test]
fn rows_left_to_the_renderer_print_as_rows_built_by_the_view() {
    use netmonitor::render::LineCache;
    use netmonitor::tabs::{Before, text_with, view_with};
    let process = process();
    let users = users();
    for tab in [Tab::Tcp, Tab::Udp, Tab::Raw, Tab::Icmp] {
        for scope in [Scope::Own, Scope::All] {
            let settings = ViewSettings {
                scope,
                filter: None,
            };
            let ctx = context(&process, &users, &settings);
            let (mut before, mut now) = ticks();
            if scope.needs_owners() {
                before.processes = Some(Ok(scan()));
                now.processes = Some(Ok(scan()));
            }
            let mut lines = LineCache::default();
            let options = RenderOptions::plain();
            let (first, sockets) = text_with(tab, &ctx, &before, None, &options, &mut lines);
            let (eager, _) = view_with(tab, &ctx, &before, None);
            assert_eq!(first, render(&eager, &options), "{tab:?} {scope:?}");
            lines.keep(first);
            let rows = sockets.as_ref().map_or(0, |set| set.sockets.len());
            assert_eq!(lines.len(), rows, "{tab:?} {scope:?}: a line kept a row");
            let kept = Before {
                snapshot: &before,
                sockets: sockets.as_ref(),
            };
            let (second, sockets) = text_with(tab, &ctx, &now, Some(kept), &options, &mut lines);
            let (eager, _) = view_with(tab, &ctx, &now, Some(kept));
            assert_eq!(second, render(&eager, &options), "{tab:?} {scope:?}");
            if tab == Tab::Udp {
                assert!(second.contains("│ + ┆"), "{second}");
            }
            // The same sockets again: the rows new at the last refresh are
            // not any more.
            lines.keep(second);
            let kept = Before {
                snapshot: &now,
                sockets: sockets.as_ref(),
            };
            let (third, _) = text_with(tab, &ctx, &now, Some(kept), &options, &mut lines);
            let (eager, _) = view_with(tab, &ctx, &now, Some(kept));
            assert_eq!(third, render(&eager, &options), "{tab:?} {scope:?}");
            assert!(!third.contains("│ + ┆"), "{third}");
        }
    }
}
