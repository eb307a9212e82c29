//! Every tab rendered at 80 and 60 columns from the captured tree of
//! `testdata/proc/all-tabs-6.18`: no value is broken over lines, no line
//! is wider than the terminal, and what does not fit is named.

use std::collections::HashMap;
use std::path::Path;

use super::testing::{context, snapshot};
use super::{CounterDisplay, Tab, ViewContext, view};
use crate::render::{Block, RenderOptions, Screen, render, sanitize};
use crate::snapshot::{FdSockets, Snapshot};

/// Checks `screen` rendered at `width`: every line fits (a word of free
/// text longer than the line aside), and every table row is one line
/// holding each of its cells whole, save the columns named as left out —
/// only ever columns that have an importance.
pub fn assert_fits(screen: &Screen, width: u16) {
    use unicode_width::UnicodeWidthStr;
    let options = RenderOptions {
        width: Some(width),
        colour: false,
        max_rows: None,
    };
    let text = render(screen, &options);
    for line in text.lines() {
        let too_wide = line.width() > usize::from(width);
        let one_word = !line.trim().contains(' ');
        assert!(!too_wide || one_word, "wider than {width}:\n{line}\n{text}");
    }
    // The rendered boxes after the status box, with the lines under each.
    let lines: Vec<&str> = text.lines().collect();
    let mut boxes = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        if lines[at].starts_with('┌') {
            let end = (at..lines.len())
                .find(|&i| lines[i].starts_with('└'))
                .expect("a closed box");
            let mut under = String::new();
            if lines
                .get(end + 1)
                .is_some_and(|l| l.starts_with("left out to fit"))
            {
                for line in &lines[end + 1..] {
                    under.push_str(line);
                    under.push(' ');
                    if under.contains("shows them)") {
                        break;
                    }
                }
            }
            boxes.push((&lines[at..=end], under));
            at = end;
        }
        at += 1;
    }
    let tables: Vec<_> = screen
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(boxes.len(), tables.len() + 1, "{text}");
    for (table, (drawn, under)) in tables.iter().zip(&boxes[1..]) {
        let left_out: Vec<usize> = (0..table.columns.len())
            .filter(|&i| {
                let column = &table.columns[i];
                let name = if column.title.is_empty() {
                    &column.key
                } else {
                    &column.title
                };
                under.contains(&format!(" {name},")) || under.contains(&format!(" {name} ("))
            })
            .collect();
        for &i in &left_out {
            assert!(
                table.columns[i].importance.is_some(),
                "an essential column was left out: {:?}\n{text}",
                table.columns[i].title
            );
        }
        let body: Vec<Vec<&str>> = drawn
            .iter()
            .skip_while(|l| !l.starts_with('╞'))
            .skip(1)
            .filter(|l| l.starts_with('│'))
            .map(|l| {
                l.trim_matches('│')
                    .split('┆')
                    .map(|c| {
                        c.strip_prefix(' ')
                            .unwrap_or(c)
                            .strip_suffix(' ')
                            .unwrap_or(c)
                            .trim()
                    })
                    .collect()
            })
            .collect();
        if table.rows.is_empty() {
            continue;
        }
        assert_eq!(
            body.len(),
            table.rows.len(),
            "a row took more than one line:\n{text}"
        );
        for (row, shown) in table.rows.iter().zip(&body) {
            let expected: Vec<(bool, String)> = row
                .cells
                .iter()
                .enumerate()
                .filter(|(i, _)| !left_out.contains(i))
                .map(|(i, c)| {
                    let shortens = table.columns.get(i).is_some_and(|c| c.shortens);
                    (shortens, sanitize(&c.text).trim().to_string())
                })
                .collect();
            assert_eq!(expected.len(), shown.len(), "{shown:?}\n{text}");
            for ((shortens, whole), got) in expected.iter().zip(shown) {
                let cut = got.strip_suffix('…').filter(|_| *shortens);
                match cut {
                    Some(start) => assert!(whole.starts_with(start), "{whole:?} vs {got:?}"),
                    None => assert_eq!(whole, got, "a cell was broken or changed:\n{text}"),
                }
            }
        }
    }
}

const TREE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/proc/all-tabs-6.18/9898"
);

/// Every `net/` file of the captured tree and its process's sockets.
fn captured(seconds: u64) -> Snapshot {
    let names: [&'static str; 20] = [
        "arp",
        "tcp",
        "tcp6",
        "udp",
        "udp6",
        "udplite",
        "udplite6",
        "raw",
        "raw6",
        "icmp",
        "icmp6",
        "unix",
        "packet",
        "netlink",
        "route",
        "ipv6_route",
        "dev",
        "netstat",
        "snmp",
        "snmp6",
    ];
    let mut files: Vec<_> = names
        .iter()
        .map(|&name| {
            let path = Path::new(TREE).join("net").join(name);
            (
                name,
                Ok(std::fs::read_to_string(path).expect("a captured file")),
            )
        })
        .collect();
    files.push(super::testing::ok(
        "softnet_stat",
        &std::fs::read_to_string(Path::new(TREE).join("net/softnet_stat")).expect("softnet"),
    ));
    let mut snapshot = snapshot(seconds, files);
    let inodes = std::fs::read_dir(Path::new(TREE).join("fd"))
        .expect("fd/")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            target
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        });
    snapshot.fd = Some(Ok(FdSockets::of(inodes)));
    snapshot
}

#[test]
fn every_tab_fits_80_and_60_columns_without_breaking_a_value() {
    let users: HashMap<u32, String> = [(0, "root".to_string())].into_iter().collect();
    let before = captured(0);
    let now = captured(2);
    for display in [
        CounterDisplay::default(),
        CounterDisplay {
            zeros: true,
            changed_only: false,
        },
    ] {
        let ctx = ViewContext {
            users: &users,
            ..context(display)
        };
        for tab in Tab::ALL {
            for previous in [None, Some(&before)] {
                let screen = view(tab, &ctx, &now, previous);
                for width in [80, 60] {
                    assert_fits(&screen, width);
                }
            }
        }
    }
}

#[test]
fn narrow_tables_name_what_they_leave_out_and_wide_output_keeps_it() {
    let users: HashMap<u32, String> = [(0, "root".to_string())].into_iter().collect();
    let ctx = ViewContext {
        users: &users,
        ..context(CounterDisplay::default())
    };
    let now = captured(0);
    let tcp = view(Tab::Tcp, &ctx, &now, None);
    let narrow = |width: u16| {
        render(
            &tcp,
            &RenderOptions {
                width: Some(width),
                colour: false,
                max_rows: None,
            },
        )
    };
    let at60 = narrow(60);
    assert!(
        at60.contains("left out to fit 60 columns: Send-Q, Timer, Retrans, User,\nInode"),
        "{at60}"
    );
    for whole in ["127.0.0.1:42344", "[::1]:5502", "LISTEN", "ESTAB"] {
        assert!(at60.contains(whole), "{whole} broken:\n{at60}");
    }
    let at80 = narrow(80);
    assert!(
        at80.contains("left out to fit 80 columns: Timer, Retrans, Inode"),
        "{at80}"
    );
    assert!(at80.contains("┆ root │"), "{at80}");
    // A pipe or a file: every column, no such line.
    let plain = render(&tcp, &RenderOptions::plain());
    assert!(!plain.contains("left out"), "{plain}");
    assert!(plain.contains("1849610"), "{plain}");
    insta::assert_snapshot!(at60);
}
