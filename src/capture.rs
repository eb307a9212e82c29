//! `--capture DIR`: writes what a session read into DIR as a tree shaped
//! like `/proc` (files, `fd/N` and `ns/net` links, directories) with a
//! manifest, so that `netmonitor --proc-root DIR <PID>` replays it.
//!
//! It only writes, below DIR: [`crate::source`] reports each read to a
//! [`Recorder`], so a capture holds exactly what was read and nothing else.
//! How a capture grows over a session: docs/design.md.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, symlink};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::accounting::{RecordedTotals, TcpTotals, TotalsRecord};
use crate::parse::Endian;
use crate::snapshot::Process;
use crate::source::{ProcSource, Recorded, Recorder};

/// The manifest's file name, in the capture's root.
pub const MANIFEST: &str = "netmonitor-capture.json";

/// What a capture says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `netmonitor-capture`.
    pub format: String,
    /// Layout version of the capture (1).
    pub version: u32,
    /// The netmonitor version that wrote it.
    pub netmonitor: String,
    /// `uname -r` of the captured machine (`sys/kernel/osrelease`), when
    /// it could be read.
    pub kernel: Option<String>,
    /// The monitored process.
    pub pid: u32,
    pub name: String,
    /// Byte order of the captured machine: `little` or `big`.
    pub byte_order: String,
    /// Kernel clock ticks per second (`USER_HZ`) of the captured machine.
    pub clock_ticks: u64,
    /// The proc root that was read.
    pub source_root: String,
    /// First and last tick written (RFC 3339, local time).
    pub first_tick: String,
    pub last_tick: String,
    /// How many ticks went into it.
    pub ticks: u64,
    /// The process's TCP totals at each tick (the last
    /// [`MAX_RECORDED_TOTALS`]), for a replay to show.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_totals: Vec<RecordedTotals>,
    /// When each tick was taken (RFC 3339; the first
    /// [`MAX_RECORDED_TOTALS`]), so that a replay follows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tick_times: Vec<String>,
}

/// How many ticks' totals a manifest keeps (about 1 KiB each).
const MAX_RECORDED_TOTALS: usize = 4096;

impl Manifest {
    /// The byte order, when it names one.
    pub fn endian(&self) -> Option<Endian> {
        match self.byte_order.as_str() {
            "little" => Some(Endian::Little),
            "big" => Some(Endian::Big),
            _ => None,
        }
    }
}

/// The manifest of the capture at `root`, if it is one. A manifest that
/// cannot be parsed is an error: replaying with wrong facts would show
/// wrong addresses.
pub fn read_manifest(root: &Path) -> Result<Option<Manifest>, String> {
    let path = root.join(MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        format!(
            "{} is not a netmonitor capture manifest: {e}",
            path.display()
        )
    })
}

/// One entry of the captured tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File(Vec<u8>),
    Link(PathBuf),
    Dir,
}

/// A capture being written.
#[derive(Debug)]
pub struct Capture {
    dir: PathBuf,
    recorder: Arc<Recorder>,
    /// Everything the tree should hold now.
    held: BTreeMap<PathBuf, Entry>,
    /// What is on disk.
    written: BTreeMap<PathBuf, Entry>,
    manifest: Option<Manifest>,
    endian: Endian,
    clock_ticks: u64,
}

/// Why a capture could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the capture in {}: {why}", dir.display())]
pub struct CaptureError {
    pub dir: PathBuf,
    pub why: String,
}

impl Capture {
    /// Starts a capture in `dir`, which must not exist or be empty (a
    /// capture never writes over other files). It is created readable by
    /// its owner only: command lines and open files are private.
    pub fn create(dir: &Path, endian: Endian, clock_ticks: u64) -> Result<Capture, CaptureError> {
        let error = |why: String| CaptureError {
            dir: dir.to_path_buf(),
            why,
        };
        match fs::read_dir(dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(error("the directory is not empty".into()));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| error(e.to_string()))?,
            Err(e) => return Err(error(e.to_string())),
        }
        Ok(Capture {
            dir: dir.to_path_buf(),
            recorder: Arc::new(Recorder::default()),
            held: BTreeMap::new(),
            written: BTreeMap::new(),
            manifest: None,
            endian,
            clock_ticks,
        })
    }

    /// The recorder to give the [`ProcSource`] whose reads are captured.
    pub fn recorder(&self) -> Arc<Recorder> {
        Arc::clone(&self.recorder)
    }

    /// Takes in what was read since the last call and brings the tree on
    /// disk up to date, with the manifest.
    pub fn write_tick(
        &mut self,
        source: &ProcSource,
        process: &Process,
        totals: Option<&TcpTotals>,
    ) -> Result<(), CaptureError> {
        let dir = self.dir.clone();
        let error = |why: String| CaptureError {
            dir: dir.clone(),
            why,
        };
        let now = chrono::Local::now().to_rfc3339();
        let mut manifest = match self.manifest.take() {
            Some(mut manifest) => {
                manifest.last_tick = now;
                manifest.ticks += 1;
                manifest
            }
            None => Manifest {
                format: "netmonitor-capture".into(),
                version: 1,
                netmonitor: env!("CARGO_PKG_VERSION").into(),
                // Read through the source, so the tree holds it too and a
                // capture of a replay keeps the original kernel.
                kernel: source
                    .read_global("sys/kernel/osrelease")
                    .ok()
                    .map(|k| k.trim().to_string()),
                pid: process.pid,
                name: process.name.clone(),
                byte_order: match self.endian {
                    Endian::Little => "little".into(),
                    Endian::Big => "big".into(),
                },
                clock_ticks: self.clock_ticks,
                source_root: source.root().display().to_string(),
                first_tick: now.clone(),
                last_tick: now,
                ticks: 1,
                tcp_totals: Vec::new(),
                tick_times: Vec::new(),
            },
        };
        if manifest.tick_times.len() < MAX_RECORDED_TOTALS {
            manifest.tick_times.push(manifest.last_tick.clone());
        }
        if let Some(totals) = totals {
            manifest.tcp_totals.push(RecordedTotals {
                tick: manifest.ticks,
                totals: TotalsRecord::of(totals, std::time::Instant::now()),
            });
            let excess = manifest
                .tcp_totals
                .len()
                .saturating_sub(MAX_RECORDED_TOTALS);
            manifest.tcp_totals.drain(..excess);
        }
        for item in self.recorder.take() {
            self.merge(item);
        }
        self.sync().map_err(|e| error(e.to_string()))?;
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| error(e.to_string()))?;
        fs::write(self.dir.join(MANIFEST), text + "\n").map_err(|e| error(e.to_string()))?;
        self.manifest = Some(manifest);
        Ok(())
    }

    fn merge(&mut self, item: Recorded) {
        match item {
            Recorded::File(path, bytes) if safe(&path) => {
                self.held.insert(path, Entry::File(bytes));
            }
            Recorded::Link(path, target) if safe(&path) => {
                self.held.insert(path, Entry::Link(target));
            }
            Recorded::Dir(path, names) if safe(&path) => {
                self.forget_unlisted(&path, &names);
                if !path.as_os_str().is_empty() {
                    self.held.insert(path, Entry::Dir);
                }
            }
            // A path that is not plainly below the root: never written.
            _ => {}
        }
    }

    /// Drops what is held below `dir` under a name `dir` no longer lists.
    fn forget_unlisted(&mut self, dir: &Path, names: &[OsString]) {
        self.held.retain(|path, _| match path.strip_prefix(dir) {
            Ok(rest) => match rest.components().next() {
                Some(Component::Normal(first)) => names.iter().any(|n| n == first),
                _ => true,
            },
            Err(_) => true,
        });
    }

    /// Writes what changed and removes what is no longer held.
    fn sync(&mut self) -> io::Result<()> {
        let gone: Vec<PathBuf> = self
            .written
            .keys()
            .filter(|p| !self.held.contains_key(*p))
            .cloned()
            .collect();
        // Deepest first, so directories are empty when their turn comes.
        for path in gone.iter().rev() {
            let full = self.dir.join(path);
            let removed = match self.written.get(path) {
                Some(Entry::Dir) => fs::remove_dir_all(&full),
                _ => fs::remove_file(&full),
            };
            match removed {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        for (path, entry) in &self.held {
            if self.written.get(path) == Some(entry) {
                continue;
            }
            let full = self.dir.join(path);
            if let Some(parent) = full.parent() {
                fs::create_dir_all(parent)?;
            }
            match entry {
                Entry::Dir => fs::create_dir_all(&full)?,
                Entry::File(bytes) => {
                    remove_link(&full)?;
                    fs::write(&full, bytes)?;
                }
                Entry::Link(target) => {
                    remove_link(&full)?;
                    if full.is_file() {
                        fs::remove_file(&full)?;
                    }
                    symlink(target, &full)?;
                }
            }
        }
        self.written = self.held.clone();
        Ok(())
    }
}

/// Removes `path` when it is a symbolic link, so that writing there never
/// follows one.
fn remove_link(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::remove_file(path),
        _ => Ok(()),
    }
}

/// Whether a recorded path is plainly below the root (no `..`, not
/// absolute).
fn safe(path: &Path) -> bool {
    path.components().all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(dir: &Path) -> Capture {
        Capture::create(dir, Endian::Little, 100).unwrap()
    }

    #[test]
    fn a_directory_listed_again_loses_what_closed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cap");
        let mut cap = capture(&dir);
        cap.merge(Recorded::Dir("1/fd".into(), vec!["3".into(), "4".into()]));
        cap.merge(Recorded::Link("1/fd/3".into(), "socket:[10]".into()));
        cap.merge(Recorded::Link("1/fd/4".into(), "socket:[11]".into()));
        cap.merge(Recorded::File("1/net/tcp".into(), b"x".to_vec()));
        cap.sync().unwrap();
        assert_eq!(
            fs::read_link(dir.join("1/fd/4")).unwrap(),
            Path::new("socket:[11]")
        );
        cap.merge(Recorded::Dir("1/fd".into(), vec!["3".into()]));
        cap.merge(Recorded::Link("1/fd/3".into(), "socket:[12]".into()));
        cap.sync().unwrap();
        assert!(fs::symlink_metadata(dir.join("1/fd/4")).is_err());
        assert_eq!(
            fs::read_link(dir.join("1/fd/3")).unwrap(),
            Path::new("socket:[12]")
        );
        assert_eq!(fs::read(dir.join("1/net/tcp")).unwrap(), b"x");
    }

    #[test]
    fn empty_directories_exist_and_unsafe_paths_are_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cap");
        let mut cap = capture(&dir);
        cap.merge(Recorded::Dir("7/fd".into(), vec![]));
        cap.merge(Recorded::File("../escape".into(), b"x".to_vec()));
        // Joined to the capture directory, an absolute path replaces it.
        let absolute = tmp.path().join("absolute");
        cap.merge(Recorded::File(absolute.clone(), b"x".to_vec()));
        cap.merge(Recorded::Link("7/fd/../../up".into(), "socket:[1]".into()));
        cap.sync().unwrap();
        assert!(dir.join("7/fd").is_dir());
        assert!(!tmp.path().join("escape").exists());
        assert!(!absolute.exists());
        assert!(fs::symlink_metadata(tmp.path().join("up")).is_err());
        assert!(fs::symlink_metadata(dir.join("up")).is_err());
    }

    #[test]
    fn only_an_empty_or_new_directory_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("precious"), "x").unwrap();
        let err = Capture::create(tmp.path(), Endian::Little, 100).unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(Capture::create(&empty, Endian::Little, 100).is_ok());
    }

    #[test]
    fn manifests_round_trip_and_bad_ones_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(read_manifest(tmp.path()), Ok(None));
        fs::write(tmp.path().join(MANIFEST), "{").unwrap();
        assert!(read_manifest(tmp.path()).is_err());

        // A capture of a big-endian machine at 250 ticks per second, whose
        // kernel version is read (and recorded) through the source.
        let proc_root = tmp.path().join("proc");
        fs::create_dir_all(proc_root.join("sys/kernel")).unwrap();
        fs::write(proc_root.join("sys/kernel/osrelease"), "6.18.0-test\n").unwrap();
        let dir = tmp.path().join("cap");
        let mut cap = Capture::create(&dir, Endian::Big, 250).unwrap();
        let source = ProcSource::new(&proc_root).recording(cap.recorder());
        let process = Process {
            pid: 77,
            name: "srv".into(),
            cmdline: "srv --flag".into(),
            start_time: 1,
            parent: 1,
            netns: None,
            netns_error: None,
            via_thread: None,
        };
        cap.write_tick(&source, &process, None).unwrap();
        let first = read_manifest(&dir).unwrap().expect("a manifest");
        assert_eq!(first.format, "netmonitor-capture");
        assert_eq!(first.version, 1);
        assert_eq!(first.netmonitor, env!("CARGO_PKG_VERSION"));
        assert_eq!(first.kernel.as_deref(), Some("6.18.0-test"));
        assert_eq!((first.pid, first.name.as_str()), (77, "srv"));
        assert_eq!(first.endian(), Some(Endian::Big));
        assert_eq!(first.clock_ticks, 250);
        assert_eq!(first.source_root, proc_root.display().to_string());
        assert_eq!(first.ticks, 1);
        assert_eq!(first.first_tick, first.last_tick);
        assert_eq!(
            fs::read(dir.join("sys/kernel/osrelease")).unwrap(),
            b"6.18.0-test\n"
        );

        // The second tick's totals are kept for a replay.
        let totals = TcpTotals::Unavailable("no subscription".into());
        cap.write_tick(&source, &process, Some(&totals)).unwrap();
        let second = read_manifest(&dir).unwrap().expect("a manifest");
        assert_eq!(second.ticks, 2);
        assert_eq!(
            second.tcp_totals,
            vec![RecordedTotals {
                tick: 2,
                totals: TotalsRecord::Unavailable {
                    why: "no subscription".into()
                }
            }]
        );
        assert!(first.tcp_totals.is_empty());
        assert_eq!(second.first_tick, first.first_tick);
        assert!(
            chrono::DateTime::parse_from_rfc3339(&second.last_tick).unwrap()
                >= chrono::DateTime::parse_from_rfc3339(&first.first_tick).unwrap()
        );
        assert_eq!(
            Manifest {
                ticks: 1,
                last_tick: first.last_tick.clone(),
                tcp_totals: Vec::new(),
                tick_times: first.tick_times.clone(),
                ..second
            },
            first
        );
    }
}
