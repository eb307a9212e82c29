//! User names come from the system's name service, not from parsing
//! `/etc/passwd`: a user that only systemd's userdb knows (as a user of
//! LDAP or sssd would be) is shown by name in the User column, and by
//! number with `-n`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{root_or_skip, run, stdout_of};

/// A user record in `/run/userdb` (read by nss-systemd), removed when
/// dropped, and a process of that user listening on loopback.
struct DirectoryUser {
    files: Vec<PathBuf>,
    child: Option<Child>,
}

impl Drop for DirectoryUser {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
    }
}

#[test]
fn users_unknown_to_etc_passwd_are_named_by_the_name_service() {
    if !root_or_skip("users_unknown_to_etc_passwd_are_named_by_the_name_service") {
        return;
    }
    let uid = 61_000 + std::process::id() % 1000;
    let name = format!("nmdir{uid}");
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    assert!(!passwd.contains(&name) && !passwd.contains(&format!(":{uid}:")));
    let dir = PathBuf::from("/run/userdb");
    if std::fs::create_dir_all(&dir).is_err() {
        eprintln!("skipping: cannot create /run/userdb");
        return;
    }
    let record = dir.join(format!("{name}.user"));
    let by_uid = dir.join(format!("{uid}.user"));
    let mut user = DirectoryUser {
        files: vec![record.clone(), by_uid.clone()],
        child: None,
    };
    std::fs::write(
        &record,
        format!(
            r#"{{"userName":"{name}","uid":{uid},"gid":{uid},"homeDirectory":"/","shell":"/bin/false","disposition":"regular"}}"#
        ),
    )
    .expect("a userdb record");
    std::os::unix::fs::symlink(&record, &by_uid).expect("the by-uid link");
    let known = Command::new("getent")
        .args(["passwd", &uid.to_string()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).starts_with(&format!("{name}:")))
        .unwrap_or(false);
    if !known {
        eprintln!(
            "skipping: this system's name service does not read /run/userdb (no nss-systemd)"
        );
        return;
    }
    let mut child = Command::new("setpriv")
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            "import socket,time\ns=socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\nprint('ready', flush=True); time.sleep(60)",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("setpriv runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the child says ready");
    assert_eq!(line.trim(), "ready");
    let pid = child.id().to_string();
    user.child = Some(child);

    let named = stdout_of(&run(
        &["--once", "-t", "tcp", &pid],
        b"",
        Duration::from_secs(20),
    ));
    assert!(
        named
            .lines()
            .any(|l| l.contains("LISTEN") && l.contains(&name)),
        "{named}"
    );
    let numeric = stdout_of(&run(
        &["--once", "-n", "-t", "tcp", &pid],
        b"",
        Duration::from_secs(20),
    ));
    assert!(
        numeric
            .lines()
            .any(|l| l.contains("LISTEN") && l.contains(&format!(" {uid} "))),
        "{numeric}"
    );
    assert!(!numeric.contains(&name), "{numeric}");
    drop(user);
}
