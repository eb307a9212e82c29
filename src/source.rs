//! The filesystem: the one module that reads below the proc root.
//!
//! A [`ProcSource`] knows a root directory — `/proc`, or a captured tree
//! given with `--proc-root` — and reads, for one process: its identity and
//! liveness (`stat`, `cmdline`, `ns/net`), the socket inodes among its
//! `fd/` links, every process's `fd/` when owners are shown, and the files
//! of its network namespace (`net/*`), whole or streamed in blocks of
//! whole lines. What a tick reads and on which threads is decided by
//! [`crate::plan`] and carried out by [`crate::tick`].
//!
//! Reads go through a "view directory": `/proc/<pid>/net` and `fd/`
//! follow the thread-group leader, so when it has exited while other
//! threads run, `/proc/<pid>/task/<tid>/` of a live thread is read
//! instead ([`ProcSource::view_dir`]).
//!
//! Every read below the root is reported to an optional [`Recorder`], so
//! that `--capture` ([`crate::capture`]) holds exactly what was read.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{ProcessError, ReadError};
use crate::parse::decode_bytes;
use crate::parse::process::{ProcStat, format_cmdline, parse_stat, proc_hidepid, socket_inode};
use crate::plan::Origin;
use crate::snapshot::{FdSockets, Process, ProcessScan, ScannedProcess};

/// Where `/proc` is, and how to read it.
#[derive(Debug, Clone)]
pub struct ProcSource {
    root: PathBuf,
    /// Sees every successful read when a capture is being made.
    recorder: Option<Arc<Recorder>>,
}

/// One thing read below the root, by its path relative to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// A file and its bytes, as read.
    File(PathBuf, Vec<u8>),
    /// A symbolic link and its target.
    Link(PathBuf, PathBuf),
    /// A directory and the names it held.
    Dir(PathBuf, Vec<OsString>),
}

/// Collects what a [`ProcSource`] reads, from any thread, until taken.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    seen: Mutex<Vec<Recorded>>,
}

impl Recorder {
    fn push(&self, item: Recorded) {
        // A poisoned lock only means another reader panicked; the list is
        // still a list.
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.push(item);
    }

    /// Everything recorded since the last call, in the order it was read.
    pub(crate) fn take(&self) -> Vec<Recorded> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *seen)
    }
}

/// What a liveness check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Liveness {
    Alive,
    /// The process is gone (or only its zombie is left).
    Exited,
    /// The pid now belongs to another process.
    Replaced,
}

/// A process found by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedProcess {
    pub pid: u32,
    /// Owner of its `/proc` directory (its real user), when readable.
    pub uid: Option<u32>,
    /// Arguments joined with spaces (untrusted).
    pub cmdline: String,
}

/// Whole lines of a file being read, decoded like [`read_text`].
#[derive(Debug)]
pub(crate) struct Block {
    /// Whether the block starts the file.
    pub first: bool,
    pub text: String,
}

/// How many bytes of whole lines [`ProcSource::stream_text`] collects
/// before handing them over, and the least it asks for at a time (while a
/// line longer than a block is pending). The kernel hands out socket
/// tables a page at a time whatever is asked; asking for what fills the
/// block keeps reads that return a page's remainder to one per block.
const STREAM_BLOCK: usize = 128 * 1024;
const STREAM_READ: usize = 16 * 1024;

impl ProcSource {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ProcSource {
            root: root.into(),
            recorder: None,
        }
    }

    /// The same source, recording every read into `recorder`.
    pub(crate) fn recording(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// `path` relative to the root, when it is below it.
    fn relative(&self, path: &Path) -> Option<PathBuf> {
        path.strip_prefix(&self.root).ok().map(Path::to_path_buf)
    }

    /// Reads a whole file (see [`read_text`]), recording its bytes.
    pub(crate) fn read_text(&self, path: &Path) -> Result<String, ReadError> {
        let bytes = read_bytes(path)?;
        if let (Some(recorder), Some(relative)) = (&self.recorder, self.relative(path)) {
            recorder.push(Recorded::File(relative, bytes.clone()));
        }
        Ok(decode_bytes(bytes))
    }

    /// Reads a whole file in blocks of whole lines (the last one may lack
    /// its newline), handing each to `on_block` as soon as it is complete,
    /// decoded like [`read_text`]; records the bytes like
    /// [`ProcSource::read_text`].
    pub(crate) fn stream_text(
        &self,
        path: &Path,
        mut on_block: impl FnMut(Block),
    ) -> Result<(), ReadError> {
        let fail = |e| ReadError::new(path, e);
        let mut file = fs::File::open(path).map_err(fail)?;
        let recording = self.recorder.is_some() && self.relative(path).is_some();
        let mut recorded = Vec::new();
        let mut pending: Vec<u8> = Vec::with_capacity(STREAM_BLOCK + STREAM_READ);
        let mut first = true;
        loop {
            let wanted = STREAM_BLOCK.saturating_sub(pending.len()).max(STREAM_READ);
            let read = (&mut file)
                .take(wanted as u64)
                .read_to_end(&mut pending)
                .map_err(fail)?;
            let at_end = read == 0;
            if pending.len() < STREAM_BLOCK && !at_end {
                continue;
            }
            // Hand over whole lines; a line longer than a block waits for
            // its end.
            let cut = if at_end {
                pending.len()
            } else {
                match pending.iter().rposition(|&b| b == b'\n') {
                    Some(newline) => newline + 1,
                    None => continue,
                }
            };
            if cut > 0 {
                let mut rest = Vec::with_capacity(STREAM_BLOCK + STREAM_READ);
                rest.extend_from_slice(&pending[cut..]);
                pending.truncate(cut);
                let whole = std::mem::replace(&mut pending, rest);
                if recording {
                    recorded.extend_from_slice(&whole);
                }
                on_block(Block {
                    first,
                    text: decode_bytes(whole),
                });
                first = false;
            }
            if at_end {
                break;
            }
        }
        if let (Some(recorder), Some(relative)) = (&self.recorder, self.relative(path)) {
            recorder.push(Recorded::File(relative, recorded));
        }
        Ok(())
    }

    /// The target of a symbolic link, recorded.
    pub(crate) fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        let target = fs::read_link(path)?;
        if let (Some(recorder), Some(relative)) = (&self.recorder, self.relative(path)) {
            recorder.push(Recorded::Link(relative, target.clone()));
        }
        Ok(target)
    }

    /// The target of link `name` in directory `dir`, open as `opened`,
    /// recorded.
    fn read_link_at(&self, opened: &fs::File, dir: &Path, name: &OsStr) -> io::Result<PathBuf> {
        let target = PathBuf::from(nix::fcntl::readlinkat(opened, name).map_err(io::Error::from)?);
        if let Some(recorder) = &self.recorder {
            if let Some(relative) = self.relative(dir) {
                recorder.push(Recorded::Link(relative.join(name), target.clone()));
            }
        }
        Ok(target)
    }

    /// The entries of a directory as (name, path), recorded. Entries that
    /// vanish while the directory is listed are skipped.
    pub(crate) fn read_dir(&self, dir: &Path) -> io::Result<Vec<(OsString, PathBuf)>> {
        let entries: Vec<(OsString, PathBuf)> = fs::read_dir(dir)?
            .flatten()
            .map(|e| (e.file_name(), e.path()))
            .collect();
        if let (Some(recorder), Some(relative)) = (&self.recorder, self.relative(dir)) {
            recorder.push(Recorded::Dir(
                relative,
                entries.iter().map(|(name, _)| name.clone()).collect(),
            ));
        }
        Ok(entries)
    }

    /// Whether `net/<name>` of the process exists (what a captured tree
    /// holds).
    pub(crate) fn holds_net(&self, process: &Process, name: &str) -> bool {
        self.net_path(process, name).exists()
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// True when the root is the live kernel's `/proc` (not a capture).
    fn is_live(&self) -> bool {
        self.root == Path::new("/proc")
    }

    /// Where this source's data comes from, for planning a tick.
    pub(crate) fn origin(&self) -> Origin {
        match (self.is_live(), self.recorder.is_some()) {
            (false, _) => Origin::Captured,
            (true, false) => Origin::Live,
            (true, true) => Origin::LiveRecorded,
        }
    }

    fn pid_dir(&self, pid: u32) -> PathBuf {
        self.root.join(pid.to_string())
    }

    /// The directory through which `net/` and `fd/` of `process` are read.
    pub fn view_dir(&self, process: &Process) -> PathBuf {
        let dir = self.pid_dir(process.pid);
        match process.via_thread {
            Some(tid) => dir.join("task").join(tid.to_string()),
            None => dir,
        }
    }

    fn read_stat(&self, dir: &Path) -> Result<ProcStat, ReadError> {
        let path = dir.join("stat");
        let text = self.read_text(&path)?;
        parse_stat(&text)
            .map_err(|why| ReadError::new(path, io::Error::new(io::ErrorKind::InvalidData, why)))
    }

    /// Identifies `pid` and decides how to read it. Zombies and kernel
    /// threads are refused with their own message; a process whose main
    /// thread exited is read through one of its live threads.
    pub fn open_process(&self, pid: u32) -> Result<Process, ProcessError> {
        let dir = self.pid_dir(pid);
        let stat = match self.read_stat(&dir) {
            Ok(stat) => stat,
            Err(e) if e.is_not_found() => {
                return Err(match self.hidepid() {
                    Some(hidepid) if hidepid != "0" && hidepid != "off" => {
                        ProcessError::NotFoundOrHidden { pid, hidepid }
                    }
                    _ => ProcessError::NoSuchProcess { pid },
                });
            }
            Err(e) => {
                return Err(ProcessError::Unreadable {
                    pid,
                    detail: e.to_string(),
                });
            }
        };
        if stat.is_kernel_thread() {
            return Err(ProcessError::KernelThread {
                pid,
                name: stat.comm,
            });
        }
        let via_thread = if stat.is_zombie() {
            match self.live_thread(pid) {
                Some(tid) => Some(tid),
                None => {
                    return Err(ProcessError::Zombie {
                        pid,
                        name: stat.comm,
                        parent: stat.ppid,
                    });
                }
            }
        } else {
            None
        };
        let cmdline = self
            .read_text(&dir.join("cmdline"))
            .map(|raw| format_cmdline(&raw))
            .unwrap_or_default();
        let mut process = Process {
            pid,
            name: stat.comm,
            cmdline,
            start_time: stat.start_time,
            parent: stat.ppid,
            netns: None,
            netns_error: None,
            via_thread,
        };
        match self.netns_of(&process) {
            Ok(netns) => process.netns = Some(netns),
            Err(e) => process.netns_error = Some(e.to_string()),
        }
        Ok(process)
    }

    /// The `hidepid=` option of the proc mount netmonitor reads, when live.
    fn hidepid(&self) -> Option<String> {
        if !self.is_live() {
            return None;
        }
        let mountinfo = read_text(&self.root.join("self/mountinfo")).ok()?;
        proc_hidepid(&mountinfo, "/proc")
    }

    /// A thread of `pid` other than the leader that has not exited.
    fn live_thread(&self, pid: u32) -> Option<u32> {
        let entries = self.read_dir(&self.pid_dir(pid).join("task")).ok()?;
        let mut tids: Vec<u32> = entries
            .iter()
            .filter_map(|(name, _)| name.to_str()?.parse().ok())
            .filter(|&tid| tid != pid)
            .collect();
        tids.sort_unstable();
        tids.into_iter().find(|&tid| {
            let dir = self.pid_dir(pid).join("task").join(tid.to_string());
            self.read_stat(&dir).is_ok_and(|s| !s.is_zombie())
        })
    }

    fn netns_of(&self, process: &Process) -> Result<String, ReadError> {
        let path = self.view_dir(process).join("ns/net");
        let link = self.read_link(&path).map_err(|e| ReadError::new(path, e))?;
        Ok(link.to_string_lossy().into_owned())
    }

    /// Whether `process` is still running, and still the same process.
    /// Re-picks the live thread when the main thread has exited meanwhile.
    pub(crate) fn check(&self, process: &mut Process) -> Liveness {
        let stat = match self.read_stat(&self.pid_dir(process.pid)) {
            Ok(stat) => stat,
            Err(_) => return Liveness::Exited,
        };
        if stat.start_time != process.start_time {
            return Liveness::Replaced;
        }
        if stat.is_zombie() {
            match self.live_thread(process.pid) {
                Some(tid) => process.via_thread = Some(tid),
                None => return Liveness::Exited,
            }
        }
        Liveness::Alive
    }

    /// Reads `net/<name>` of the process's network namespace, whole.
    pub fn read_net(&self, process: &Process, name: &str) -> Result<String, ReadError> {
        self.read_text(&self.net_path(process, name))
    }

    /// The path of `net/<name>` of the process's network namespace.
    pub(crate) fn net_path(&self, process: &Process, name: &str) -> PathBuf {
        self.view_dir(process).join("net").join(name)
    }

    /// The socket inodes among the `fd/` links of the process and of any
    /// thread that does not share its descriptor table, and the threads
    /// that live in another network namespace than the process's.
    pub fn socket_inodes(&self, process: &Process) -> Result<FdSockets, ReadError> {
        let mut found = FdSockets::default();
        let view = self.view_dir(process);
        self.collect_fd_sockets(&view.join("fd"), &mut found)?;
        let task_dir = self.pid_dir(process.pid).join("task");
        let Ok(tasks) = self.read_dir(&task_dir) else {
            return Ok(found);
        };
        let reference = process.via_thread.unwrap_or(process.pid);
        for (name, path) in tasks {
            let Some(tid) = name.to_str().and_then(|t| t.parse::<u32>().ok()) else {
                continue;
            };
            if tid == reference {
                continue;
            }
            if let Some(ours) = &process.netns {
                // A thread that exited meanwhile has no link: it is nowhere.
                if let Ok(link) = self.read_link(&path.join("ns/net")) {
                    let theirs = link.to_string_lossy();
                    if theirs != ours.as_str() {
                        found.threads_elsewhere.push((tid, theirs.into_owned()));
                    }
                }
            }
            if self.is_live() && shares_fd_table(reference, tid) {
                continue;
            }
            // A thread that exited meanwhile, or one we may not read, adds
            // nothing; it is not an error for the whole process.
            let _ = self.collect_fd_sockets(&path.join("fd"), &mut found);
        }
        found.threads_elsewhere.sort_unstable();
        Ok(found)
    }

    /// Walks every pid directory of the root: name, parent and network
    /// namespace of each process, and the socket inodes in `fd/` of those
    /// in namespace `netns` (all processes when `netns` is unknown).
    /// Processes that vanish during the walk are skipped; kernel threads
    /// hold no sockets and are left out. Threads with a descriptor table of
    /// their own are not read here (only the monitored process's are, by
    /// [`ProcSource::socket_inodes`]).
    pub(crate) fn scan_processes(&self, netns: Option<&str>) -> Result<ProcessScan, ReadError> {
        let entries = self
            .read_dir(&self.root)
            .map_err(|e| ReadError::new(&self.root, e))?;
        let mut scan = ProcessScan::default();
        for (name, dir) in entries {
            let Some(pid) = name.to_str().and_then(|name| name.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = self.read_stat(&dir) else {
                continue;
            };
            if stat.is_kernel_thread() {
                continue;
            }
            let their_netns = self
                .read_link(&dir.join("ns/net"))
                .ok()
                .map(|link| link.to_string_lossy().into_owned());
            let same_netns = match (netns, their_netns.as_deref()) {
                (Some(ours), Some(theirs)) => ours == theirs,
                _ => true,
            };
            let (sockets, unreadable) = if same_netns {
                let mut found = FdSockets::default();
                match self.collect_fd_sockets(&dir.join("fd"), &mut found) {
                    Ok(()) => (Some(found.inodes.into_iter().collect()), None),
                    // Exited meanwhile: not a process any more.
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => (None, Some(crate::error::describe_io(&e.source))),
                }
            } else {
                (None, None)
            };
            scan.processes.push(ScannedProcess {
                pid,
                parent: u32::try_from(stat.ppid).unwrap_or(0),
                name: stat.comm,
                same_netns,
                sockets,
                unreadable,
            });
        }
        scan.processes.sort_by_key(|p| p.pid);
        Ok(scan)
    }

    /// The processes whose name (`comm`) is exactly `name`, as `pgrep -x`
    /// finds them, in pid order; netmonitor itself is left out. Processes
    /// that vanish during the walk are skipped.
    pub(crate) fn find_by_name(&self, name: &str) -> Result<Vec<NamedProcess>, ReadError> {
        let entries = self
            .read_dir(&self.root)
            .map_err(|e| ReadError::new(&self.root, e))?;
        let mut found = Vec::new();
        for (entry, dir) in entries {
            let Some(pid) = entry.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if self.is_live() && pid == std::process::id() {
                continue;
            }
            let Ok(stat) = self.read_stat(&dir) else {
                continue;
            };
            if stat.comm != name {
                continue;
            }
            use std::os::unix::fs::MetadataExt;
            found.push(NamedProcess {
                pid,
                uid: fs::metadata(&dir).ok().map(|m| m.uid()),
                cmdline: self
                    .read_text(&dir.join("cmdline"))
                    .map(|raw| format_cmdline(&raw))
                    .unwrap_or_default(),
            });
        }
        found.sort_by_key(|p| p.pid);
        Ok(found)
    }

    /// Reads a file below the root that is not per-process.
    pub(crate) fn read_global(&self, relative: &str) -> Result<String, ReadError> {
        self.read_text(&self.root.join(relative))
    }

    fn collect_fd_sockets(&self, dir: &Path, found: &mut FdSockets) -> Result<(), ReadError> {
        let entries = self.read_dir(dir).map_err(|e| ReadError::new(dir, e))?;
        // Links are read relative to the open directory: the kernel then
        // looks up one name per link, not the four of a full path.
        let opened = fs::File::open(dir).map_err(|e| ReadError::new(dir, e))?;
        for (name, _) in entries {
            found.descriptors += 1;
            // Descriptors close while we list them: skip what vanished. A
            // link that cannot be read (no right to, e.g. without
            // CAP_SYS_PTRACE over a more privileged process) makes the
            // whole listing unknown: an empty set would claim "no sockets".
            let target = match self.read_link_at(&opened, dir, &name) {
                Ok(target) => target,
                Err(e) => {
                    let error = ReadError::new(dir.join(&name), e);
                    if error.is_not_found() {
                        continue;
                    }
                    return Err(error);
                }
            };
            if let Some(inode) = target.to_str().and_then(socket_inode) {
                found.inodes.insert(inode);
            }
        }
        Ok(())
    }
}

/// Whether two threads of the live system share one descriptor table
/// (`kcmp(KCMP_FILES)`); when the kernel cannot tell, they are assumed not
/// to, so the thread's own `fd/` is read too.
fn shares_fd_table(a: u32, b: u32) -> bool {
    const KCMP_FILES: nix::libc::c_int = 2;
    // SAFETY: kcmp takes five integer arguments and reads no memory of ours.
    let result = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_kcmp,
            a as nix::libc::pid_t,
            b as nix::libc::pid_t,
            KCMP_FILES,
            0 as nix::libc::c_ulong,
            0 as nix::libc::c_ulong,
        )
    };
    result == 0
}

/// Reads a whole file. `/proc` files report size 0 and hand out data in
/// page-sized pieces, so this reads until end of file. Bytes that are not
/// UTF-8 (interface names may hold any byte) become `\xNN` text, so parsers
/// work on `&str` and nothing is lost silently.
pub(crate) fn read_text(path: &Path) -> Result<String, ReadError> {
    read_bytes(path).map(decode_bytes)
}

/// Reads a whole file as bytes.
fn read_bytes(path: &Path) -> Result<Vec<u8>, ReadError> {
    let mut file = fs::File::open(path).map_err(|e| ReadError::new(path, e))?;
    let mut bytes = Vec::with_capacity(64 * 1024);
    file.read_to_end(&mut bytes)
        .map_err(|e| ReadError::new(path, e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_files_arrive_in_blocks_of_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table");
        // Many short lines, one line longer than a block, a byte that is
        // not UTF-8, and no newline at the very end.
        let mut bytes = Vec::new();
        for n in 0..20_000 {
            bytes.extend_from_slice(format!("{n:>6}: a row of the table\n").as_bytes());
        }
        bytes.extend(std::iter::repeat_n(b'x', STREAM_BLOCK * 2));
        bytes.extend_from_slice(b"\nend \xff of table");
        std::fs::write(&path, &bytes).unwrap();
        let recorder = Arc::new(Recorder::default());
        let source = ProcSource::new(dir.path()).recording(Arc::clone(&recorder));
        let mut blocks = Vec::new();
        source
            .stream_text(&path, |block| blocks.push(block))
            .unwrap();
        assert!(blocks.len() > 3, "{} blocks", blocks.len());
        assert!(blocks[0].first && blocks[1..].iter().all(|b| !b.first));
        let (last, whole_lines) = blocks.split_last().unwrap();
        assert!(whole_lines.iter().all(|b| b.text.ends_with('\n')));
        assert!(last.text.ends_with("end \\xff of table"), "{}", last.text);
        let joined: String = blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(joined, decode_bytes(bytes.clone()));
        // A capture sees the file's bytes, as with a whole read.
        assert_eq!(
            recorder.take(),
            vec![Recorded::File(PathBuf::from("table"), bytes)]
        );
        let missing = source.stream_text(&dir.path().join("gone"), |_| {});
        assert!(missing.is_err_and(|e| e.is_not_found()));
    }
}
