//! The only module that touches the filesystem.
//!
//! A [`ProcSource`] knows a root directory — `/proc`, or a captured tree
//! given with `--proc-root` — and reads, for one process: its identity
//! (`stat`, `cmdline`, `ns/net`), the socket inodes among its `fd/` links,
//! and whole files of its network namespace (`net/*`). Everything it returns
//! is plain data for the pure parsers and views.
//!
//! Why reads go through a "view directory": `/proc/<pid>/net` and
//! `/proc/<pid>/fd` follow the thread-group leader. When the leader has
//! exited while other threads still run, both are empty or fail, and the
//! same data is reachable through `/proc/<pid>/task/<tid>/` of a live
//! thread. [`ProcSource::view_dir`] is whichever of the two works.
//!
//! Finding who owns a socket needs the `fd/` links of every process in the
//! network namespace ([`ProcSource::scan_processes`]). That walk is costly
//! on a busy host, so a snapshot does it only when asked (the `all` and
//! `tree` scopes).
//!
//! Why some files are not read whole: a namespace can hold 100 000
//! sockets, whose `net/tcp` is 15 MB that the kernel takes 0.2 s to
//! produce, while the process may hold a handful of them. A snapshot can
//! therefore stream chosen tables in blocks of whole lines to a
//! [`RowSieve`] (decided by the tabs: it is about which rows a view
//! needs), which sorts each block out on another thread as soon as the
//! process's socket inodes are known. The sieve's output is still text,
//! so parsers and views see a snapshot like any other.
//!
//! One table is not read at all on a live system: the tcp tab's rows come
//! from a sock_diag dump ([`Request::tcp_over_netlink`],
//! [`crate::diag::dump_sockets`]), on a thread of the snapshot like a
//! table reader, sifted by the same [`RowSieve`] rule. The kernel
//! describes 100 000 sockets in binary in about half the time it needs to
//! format them as `net/tcp`. A capture reads the files, so that what it
//! records replays.
//!
//! Every read below the root goes through [`ProcSource::read_text`],
//! [`ProcSource::stream_text`], [`ProcSource::read_link`] (or its
//! relative form for `fd/`) and [`ProcSource::read_dir`], so that a
//! [`Recorder`] (for `--capture`) can see exactly what the session read:
//! the bytes of each file, the target of each link, the names in each
//! directory. Writing them out is [`crate::capture`]'s job.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use rustc_hash::FxHashSet;

use crate::diag::{self, DiagError, FlowDump};
use crate::error::{ProcessError, ReadError};
use crate::parse::inet_diag::{self, InetDiagMsg};
use crate::parse::process::{ProcStat, format_cmdline, parse_stat, proc_hidepid, socket_inode};

/// Where `/proc` is, and how to read it.
#[derive(Debug, Clone)]
pub struct ProcSource {
    root: PathBuf,
    /// Sees every successful read when a capture is being made.
    recorder: Option<Arc<Recorder>>,
}

/// One thing read below the root, by its path relative to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A file and its bytes, as read.
    File(PathBuf, Vec<u8>),
    /// A symbolic link and its target.
    Link(PathBuf, PathBuf),
    /// A directory and the names it held.
    Dir(PathBuf, Vec<OsString>),
}

/// Collects what a [`ProcSource`] reads, from any thread, until taken.
#[derive(Debug, Default)]
pub struct Recorder {
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
    pub fn take(&self) -> Vec<Recorded> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *seen)
    }
}

/// What one tick read: the files a tab needs, taken together, and the
/// process's socket inodes when the tab shows sockets.
#[derive(Debug)]
pub struct Snapshot {
    pub taken_at: chrono::DateTime<chrono::Local>,
    pub instant: std::time::Instant,
    /// `net/<name>` → its text, or why it could not be read.
    pub files: Vec<(&'static str, Result<String, ReadError>)>,
    pub fd: Option<Result<FdSockets, ReadError>>,
    /// Every process of the system with, for those in the same network
    /// namespace, its socket inodes; read only when owners are shown.
    pub processes: Option<Result<ProcessScan, ReadError>>,
    /// The TCP connections of the process's namespace with their kernel
    /// counters ([`crate::diag`]); `None` when reading a captured tree,
    /// which has no kernel to ask.
    pub flows: Option<Result<FlowDump, DiagError>>,
    /// Key fingerprints of socket-table rows a [`RowSieve`] removed from
    /// `files` because no process in scope holds them: they still count in
    /// totals and changes, but their text is not kept.
    pub other_rows: FxHashSet<u64>,
    /// Socket tables read over sock_diag instead of as text (`tcp` and
    /// `tcp6`, see [`Request::tcp_over_netlink`]): the header the kernel
    /// sent for each socket, in its order. Sockets a sieve dropped are in
    /// `other_rows`, like rows it drops from text.
    pub dumped: Vec<(&'static str, Vec<InetDiagMsg>)>,
    /// Why tables asked for over sock_diag were read from `net/` instead.
    pub dump_failed: Option<DiagError>,
}

impl Snapshot {
    /// A snapshot of the given texts taken now, with no `fd/` data (tests
    /// and callers add [`Snapshot::fd`] and [`Snapshot::processes`]).
    pub fn of_texts(files: Vec<(&'static str, String)>) -> Snapshot {
        Snapshot {
            taken_at: chrono::Local::now(),
            instant: std::time::Instant::now(),
            files: files.into_iter().map(|(n, t)| (n, Ok(t))).collect(),
            fd: None,
            processes: None,
            flows: None,
            other_rows: Default::default(),
            dumped: Vec::new(),
            dump_failed: None,
        }
    }

    /// The text of `net/<name>`, if this snapshot read it.
    pub fn file(&self, name: &str) -> Option<&Result<String, ReadError>> {
        self.files.iter().find(|(n, _)| *n == name).map(|(_, r)| r)
    }

    /// The sockets of table `name`, if this snapshot read them over
    /// sock_diag.
    pub fn dumped(&self, name: &str) -> Option<&[InetDiagMsg]> {
        self.dumped
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, rows)| rows.as_slice())
    }
}

/// Who the monitored process is, as read at the start of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    /// `comm` (untrusted: set by the process itself).
    pub name: String,
    /// Arguments joined with spaces (untrusted).
    pub cmdline: String,
    /// Start time in clock ticks after boot: pid + start time identify one
    /// process across pid reuse.
    pub start_time: u64,
    pub parent: i64,
    /// `net:[4026531840]`, the target of `ns/net`, when readable.
    pub netns: Option<String>,
    /// Why `ns/net` could not be read (`cannot read /proc/1/ns/net
    /// (permission denied)`), when `netns` is `None` for that reason.
    pub netns_error: Option<String>,
    /// The live thread read instead of an exited main thread.
    pub via_thread: Option<u32>,
}

/// What a liveness check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    /// The process is gone (or only its zombie is left).
    Exited,
    /// The pid now belongs to another process.
    Replaced,
}

/// The socket inodes among a process's open file descriptors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FdSockets {
    pub inodes: FxHashSet<u64>,
    /// How many descriptors were seen in all.
    pub descriptors: usize,
    /// Threads (tid, `net:[…]`) that moved to another network namespace
    /// with `setns()`: the process's tables (`net/`, which follows the
    /// main thread) do not list the sockets they open there.
    pub threads_elsewhere: Vec<(u32, String)>,
}

impl FdSockets {
    /// The sockets of the given inodes (tests and fixtures).
    pub fn of(inodes: impl IntoIterator<Item = u64>) -> FdSockets {
        let inodes: FxHashSet<u64> = inodes.into_iter().collect();
        FdSockets {
            descriptors: inodes.len(),
            inodes,
            threads_elsewhere: Vec::new(),
        }
    }
}

/// One process seen while walking the proc root for socket owners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedProcess {
    pub pid: u32,
    /// Parent pid (0 for the roots of the process tree).
    pub parent: u32,
    /// `comm` (untrusted).
    pub name: String,
    /// Whether it is in the monitored process's network namespace (true
    /// when either namespace is unknown: socket inodes are unique across
    /// namespaces, so matching by inode stays correct).
    pub same_netns: bool,
    /// Its socket inodes (sorted): `None` when it is in another namespace
    /// (not read) or its `fd/` could not be read.
    pub sockets: Option<BTreeSet<u64>>,
    /// Why `fd/` could not be read, for a process in the same namespace.
    pub unreadable: Option<String>,
}

/// A process found by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedProcess {
    pub pid: u32,
    /// Owner of its `/proc` directory (its real user), when readable.
    pub uid: Option<u32>,
    /// Arguments joined with spaces (untrusted).
    pub cmdline: String,
}

/// What one tick reads: `net/<name>` for each of `files`; with `with_fd`
/// the process's socket inodes; with `with_owners` the socket inodes of
/// every process in its network namespace; with `flows` (live system
/// only) one sock_diag dump of the namespace's TCP connections, which also
/// needs the process's socket inodes; with `sieve` (and `with_fd`), the
/// rows of some tables sifted as they are read.
#[derive(Clone, Copy, Default)]
pub struct Request<'a> {
    pub files: &'a [&'static str],
    pub with_fd: bool,
    pub with_owners: bool,
    pub flows: Flows<'a>,
    pub sieve: Option<Sift<'a>>,
    /// Ask the kernel's socket diagnostics for the rows of `net/tcp` and
    /// `net/tcp6` instead of reading them, when `files` has both (live
    /// system, no capture).
    pub tcp_over_netlink: bool,
}

/// Whether a tick reads TCP connections over sock_diag, and which.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Flows<'a> {
    #[default]
    Skip,
    /// The process's own, for the TCP rate every status box shows: read
    /// once the `fd/` listing is done, and looked up one by one when the
    /// last reading of them (given here) still accounts for every socket
    /// the process holds ([`diag::own_connections`]).
    Own(Option<&'a FlowDump>),
    /// The process's own, for the flows tab in scope own: always dumped
    /// (so the count of the namespace's connections is current), keeping
    /// only them; every connection when `fd/` cannot be read.
    OwnShown,
    /// Every connection of the namespace (the flows tab in the other
    /// scopes).
    All,
}

/// Which tables go through which [`RowSieve`].
#[derive(Clone, Copy)]
pub struct Sift<'a> {
    pub sieve: &'a dyn RowSieve,
    pub tables: &'a [&'static str],
}

/// Decides which rows of a socket table a tick keeps, from the process's
/// socket inodes, while the table is still being read.
pub trait RowSieve: Sync {
    /// Appends to `kept` what to keep of `block` (whole lines of `table`;
    /// `first` when it starts the file), given the process's socket
    /// `inodes`, and adds to `dropped` a fingerprint of each row left out.
    fn sift(
        &self,
        table: &'static str,
        block: &str,
        first: bool,
        inodes: &FxHashSet<u64>,
        kept: &mut String,
        dropped: &mut FxHashSet<u64>,
    );

    /// For a row of `table` read as a record rather than text (over
    /// sock_diag): `None` to keep the socket with `inode`, or the
    /// fingerprint to count it by when it is left out.
    fn drops(&self, table: &'static str, inode: u64, inodes: &FxHashSet<u64>) -> Option<u64>;
}

/// Whole lines of a file being read, decoded like [`read_text`].
#[derive(Debug)]
pub struct Block {
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

/// Where a thread waiting for the process's socket inodes gets them, once
/// `fd/` is listed (`None` when it cannot be).
type InodesLater = mpsc::Receiver<Option<FxHashSet<u64>>>;

/// The files of a tick and the fingerprints of rows a sieve dropped.
type SiftedFiles = (
    Vec<(&'static str, Result<String, ReadError>)>,
    FxHashSet<u64>,
);

/// What a dump of TCP sockets gave: the sockets of each table, and the
/// fingerprints of those a sieve left out.
struct DumpedTables {
    rows: Vec<(&'static str, Vec<InetDiagMsg>)>,
    dropped: FxHashSet<u64>,
}

/// Puts each socket of a dump with its table, or among the dropped ones
/// when the sieve leaves it out.
struct RowSorter<'a> {
    sieve: Option<&'a dyn RowSieve>,
    /// The process's socket inodes (`None`: unknown, keep every socket).
    inodes: Option<FxHashSet<u64>>,
    tables: DumpedTables,
}

impl RowSorter<'_> {
    fn take(&mut self, header: InetDiagMsg) {
        let table = header.table();
        if let (Some(sieve), Some(inodes)) = (self.sieve, &self.inodes) {
            if let Some(fingerprint) = sieve.drops(table, u64::from(header.inode), inodes) {
                self.tables.dropped.insert(fingerprint);
                return;
            }
        }
        let index = usize::from(table != inet_diag::TABLES[0]);
        self.tables.rows[index].1.push(header);
    }
}

/// Every process found by one walk of the proc root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessScan {
    pub processes: Vec<ScannedProcess>,
}

impl ProcSource {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ProcSource {
            root: root.into(),
            recorder: None,
        }
    }

    /// The same source, recording every read into `recorder`.
    pub fn recording(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// `path` relative to the root, when it is below it.
    fn relative(&self, path: &Path) -> Option<PathBuf> {
        path.strip_prefix(&self.root).ok().map(Path::to_path_buf)
    }

    /// Reads a whole file (see [`read_text`]), recording its bytes.
    pub fn read_text(&self, path: &Path) -> Result<String, ReadError> {
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
    pub fn stream_text(
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
    pub fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
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
        if let (Some(recorder), Some(relative)) = (&self.recorder, self.relative(dir)) {
            recorder.push(Recorded::Link(relative.join(name), target.clone()));
        }
        Ok(target)
    }

    /// The entries of a directory as (name, path), recorded. Entries that
    /// vanish while the directory is listed are skipped.
    pub fn read_dir(&self, dir: &Path) -> io::Result<Vec<(OsString, PathBuf)>> {
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

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True when the root is the live kernel's `/proc` (not a capture).
    fn is_live(&self) -> bool {
        self.root == Path::new("/proc")
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
    pub fn check(&self, process: &mut Process) -> Liveness {
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
    fn net_path(&self, process: &Process, name: &str) -> PathBuf {
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

    /// Reads what one tick of a tab needs (see [`Request`]).
    ///
    /// The reads run concurrently, one thread each: on a namespace with
    /// 100 000 sockets the kernel spends most of a tick generating the
    /// tables, and listing `fd/`, the owner scan and the dump can overlap
    /// with it. Tables given to a [`RowSieve`] are read in blocks of whole
    /// lines, and one more thread sifts each block as it arrives once the
    /// `fd/` listing is done: that work then overlaps with the rest of the
    /// read instead of following it, and the whole table is never held.
    pub fn snapshot(&self, process: &Process, request: &Request<'_>) -> Snapshot {
        let flows = if self.is_live() {
            request.flows
        } else {
            Flows::Skip
        };
        let with_fd = request.with_fd || flows != Flows::Skip;
        let sieve = request.sieve.filter(|_| with_fd);
        // A capture records file reads, so it reads the tables as files.
        let tcp_over_netlink = request.tcp_over_netlink
            && self.is_live()
            && self.recorder.is_none()
            && inet_diag::TABLES.iter().all(|t| request.files.contains(t));
        let text_files: Vec<&'static str> = request
            .files
            .iter()
            .copied()
            .filter(|name| !tcp_over_netlink || !inet_diag::TABLES.contains(name))
            .collect();
        // Rows of the dumped tables are sifted like their text would be;
        // the text sieve runs only when it has a table to read.
        let dump_sieve = sieve
            .filter(|sift| inet_diag::TABLES.iter().all(|t| sift.tables.contains(t)))
            .map(|sift| sift.sieve);
        let sieve = sieve.filter(|sift| sift.tables.iter().any(|t| text_files.contains(t)));
        // The threads that wait for the process's socket inodes get them as
        // soon as `fd/` is listed (`None` when it cannot be).
        let (to_sifter, for_sifter) = mpsc::channel::<Option<FxHashSet<u64>>>();
        let (to_dumper, for_dumper) = mpsc::channel::<Option<FxHashSet<u64>>>();
        let (to_table_dumper, for_table_dumper) = mpsc::channel::<Option<FxHashSet<u64>>>();
        let mut waiting = Vec::new();
        if sieve.is_some() {
            waiting.push(to_sifter);
        }
        if tcp_over_netlink && dump_sieve.is_some() {
            waiting.push(to_table_dumper);
        }
        if matches!(flows, Flows::Own(_) | Flows::OwnShown) {
            waiting.push(to_dumper);
        }
        let text_files = text_files.as_slice();
        let (fd, processes, dump, files, other_rows, tables) = std::thread::scope(|scope| {
            // Not deferred: it does the work of the table readers.
            let tables = tcp_over_netlink.then(|| {
                scope.spawn(move || {
                    let sieve = dump_sieve.map(|sieve| (sieve, for_table_dumper));
                    self.dump_tcp_tables(process, sieve)
                })
            });
            let fd = with_fd.then(|| {
                scope.spawn(move || {
                    defer_to_readers();
                    let listed = self.socket_inodes(process);
                    for thread in waiting {
                        // A thread that is gone no longer needs them.
                        let _ = thread.send(listed.as_ref().ok().map(|fd| fd.inodes.clone()));
                    }
                    listed
                })
            });
            let processes = request.with_owners.then(|| {
                scope.spawn(|| {
                    defer_to_readers();
                    self.scan_processes(process.netns.as_deref())
                })
            });
            let dump = (flows != Flows::Skip).then(|| {
                scope.spawn(move || {
                    defer_to_readers();
                    let view_dir = self.view_dir(process);
                    match flows {
                        Flows::Own(earlier) => {
                            // Without the listing no connection is known to
                            // be the process's: keep none.
                            let own = for_dumper.recv().ok().flatten().unwrap_or_default();
                            diag::own_connections(&view_dir, &own, earlier)
                        }
                        Flows::OwnShown => match for_dumper.recv().ok().flatten() {
                            Some(own) => diag::own_connections(&view_dir, &own, None),
                            // The tab then shows the namespace, and says why.
                            None => diag::dump_tcp(&view_dir, None),
                        },
                        _ => diag::dump_tcp(&view_dir, None),
                    }
                })
            });
            let (files, other_rows) = match sieve {
                Some(sieve) => self.read_sifted(scope, process, text_files, sieve, for_sifter),
                None => (
                    self.read_net_files(process, text_files),
                    FxHashSet::default(),
                ),
            };
            let tables = tables.map(joined_dump);
            let fd = fd.map(|reader| joined(reader, &self.view_dir(process).join("fd")));
            let processes = processes.map(|reader| joined(reader, &self.root));
            let dump = dump.map(joined_dump);
            (fd, processes, dump, files, other_rows, tables)
        });
        let mut snapshot = Snapshot {
            taken_at: chrono::Local::now(),
            instant: std::time::Instant::now(),
            files,
            fd,
            processes,
            flows: dump,
            other_rows,
            dumped: Vec::new(),
            dump_failed: None,
        };
        match tables {
            Some(Ok(DumpedTables { rows, dropped })) => {
                snapshot.dumped = rows;
                snapshot.other_rows.extend(dropped);
            }
            // The text has the same rows: read it whole (the views sort
            // out whose rows they are).
            Some(Err(why)) => {
                self.read_more(&mut snapshot, process, &inet_diag::TABLES);
                snapshot.dump_failed = Some(why);
            }
            None => {}
        }
        snapshot
    }

    /// The sockets of `net/tcp` and `net/tcp6` from one sock_diag dump of
    /// the process's namespace. With a sieve, other processes' sockets are
    /// left out (their fingerprints kept) as soon as the process's socket
    /// inodes arrive; those described before wait until then.
    fn dump_tcp_tables(
        &self,
        process: &Process,
        sieve: Option<(&dyn RowSieve, InodesLater)>,
    ) -> Result<DumpedTables, DiagError> {
        let mut sorter = RowSorter {
            sieve: sieve.as_ref().map(|(sieve, _)| *sieve),
            inodes: None,
            tables: DumpedTables {
                rows: inet_diag::TABLES.map(|t| (t, Vec::new())).to_vec(),
                dropped: FxHashSet::default(),
            },
        };
        let mut waiting = sieve.map(|(_, inodes)| (inodes, Vec::new()));
        diag::dump_sockets(&self.view_dir(process), |header| {
            if let Some((inodes, pending)) = &mut waiting {
                match inodes.try_recv() {
                    Err(mpsc::TryRecvError::Empty) => {
                        pending.push(header);
                        return;
                    }
                    got => {
                        sorter.inodes = got.ok().flatten();
                        for earlier in std::mem::take(pending) {
                            sorter.take(earlier);
                        }
                        waiting = None;
                    }
                }
            }
            sorter.take(header);
        })?;
        if let Some((inodes, pending)) = waiting {
            sorter.inodes = inodes.recv().ok().flatten();
            for header in pending {
                sorter.take(header);
            }
        }
        Ok(sorter.tables)
    }

    /// Reads `files`, streaming the sieve's tables through `sieve` once
    /// the process's socket inodes arrive on `inodes`; returns the files
    /// and the fingerprints of the rows the sieve dropped.
    fn read_sifted<'scope>(
        &'scope self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        process: &'scope Process,
        files: &'scope [&'static str],
        sieve: Sift<'scope>,
        inodes: InodesLater,
    ) -> SiftedFiles {
        let (sender, blocks) = mpsc::channel::<(usize, Block)>();
        let sifter = scope.spawn(move || {
            defer_to_readers();
            let inodes = inodes.recv().ok().flatten();
            let mut kept = vec![String::new(); files.len()];
            let mut dropped = FxHashSet::default();
            for (index, block) in blocks {
                match &inodes {
                    Some(inodes) => sieve.sieve.sift(
                        files[index],
                        &block.text,
                        block.first,
                        inodes,
                        &mut kept[index],
                        &mut dropped,
                    ),
                    // Without the listing nothing can be told apart: keep all.
                    None => kept[index].push_str(&block.text),
                }
            }
            (kept, dropped)
        });
        let readers: Vec<_> = files
            .iter()
            .enumerate()
            .map(|(index, &name)| {
                let path = self.net_path(process, name);
                let reader = if sieve.tables.contains(&name) {
                    let sender = sender.clone();
                    scope.spawn(move || {
                        self.stream_text(&path, |block| {
                            // The sifter only stops early by panicking.
                            let _ = sender.send((index, block));
                        })
                        .map(|()| None)
                    })
                } else {
                    scope.spawn(move || self.read_text(&path).map(Some))
                };
                (name, reader)
            })
            .collect();
        drop(sender);
        let read: Vec<_> = readers
            .into_iter()
            .map(|(name, reader)| {
                let path = self.net_path(process, name);
                (name, joined(reader, &path))
            })
            .collect();
        // The sifter only sorts lines and cannot fail; should it, the tables
        // it sifted are reported unreadable rather than empty.
        let (mut kept, dropped) = match sifter.join() {
            Ok((kept, dropped)) => (Some(kept), dropped),
            Err(_) => (None, FxHashSet::default()),
        };
        let files = read
            .into_iter()
            .enumerate()
            .map(|(index, (name, result))| {
                let text = result.and_then(|whole| match (whole, kept.as_mut()) {
                    (Some(whole), _) => Ok(whole),
                    (None, Some(kept)) => Ok(std::mem::take(&mut kept[index])),
                    (None, None) => Err(ReadError::new(
                        self.net_path(process, name),
                        io::Error::other("the sifting thread failed"),
                    )),
                });
                (name, text)
            })
            .collect();
        (files, dropped)
    }

    /// Reads `files` more into `snapshot` (concurrently, like
    /// [`ProcSource::snapshot`]).
    pub fn read_more(&self, snapshot: &mut Snapshot, process: &Process, files: &[&'static str]) {
        let more = self.read_net_files(process, files);
        snapshot.files.extend(more);
    }

    /// `net/<name>` for each of `files`, one thread each.
    fn read_net_files(
        &self,
        process: &Process,
        files: &[&'static str],
    ) -> Vec<(&'static str, Result<String, ReadError>)> {
        std::thread::scope(|scope| {
            let readers: Vec<_> = files
                .iter()
                .map(|&name| (name, scope.spawn(move || self.read_net(process, name))))
                .collect();
            readers
                .into_iter()
                .map(|(name, reader)| {
                    let path = self.net_path(process, name);
                    (name, joined(reader, &path))
                })
                .collect()
        })
    }

    /// Walks every pid directory of the root: name, parent and network
    /// namespace of each process, and the socket inodes in `fd/` of those
    /// in namespace `netns` (all processes when `netns` is unknown).
    /// Processes that vanish during the walk are skipped; kernel threads
    /// hold no sockets and are left out. Threads with a descriptor table of
    /// their own are not read here (only the monitored process's are, by
    /// [`ProcSource::socket_inodes`]).
    pub fn scan_processes(&self, netns: Option<&str>) -> Result<ProcessScan, ReadError> {
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
    pub fn find_by_name(&self, name: &str) -> Result<Vec<NamedProcess>, ReadError> {
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

    /// Reads a file below the root that is not per-process (`/etc/passwd`
    /// is read from the real filesystem, see [`read_passwd`]).
    pub fn read_global(&self, relative: &str) -> Result<String, ReadError> {
        self.read_text(&self.root.join(relative))
    }

    fn collect_fd_sockets(&self, dir: &Path, found: &mut FdSockets) -> Result<(), ReadError> {
        let entries = self.read_dir(dir).map_err(|e| ReadError::new(dir, e))?;
        // Links are read relative to the open directory: the kernel then
        // looks up one name per link, not the four of a full path.
        let opened = fs::File::open(dir).map_err(|e| ReadError::new(dir, e))?;
        for (name, _) in entries {
            found.descriptors += 1;
            // Descriptors close while we list them: skip what vanished.
            let Ok(target) = self.read_link_at(&opened, dir, &name) else {
                continue;
            };
            if let Some(inode) = target.to_str().and_then(socket_inode) {
                found.inodes.insert(inode);
            }
        }
        Ok(())
    }
}

/// What a dumping thread returned; its failure becomes a [`DiagError`].
fn joined_dump<T>(
    dumper: std::thread::ScopedJoinHandle<'_, Result<T, DiagError>>,
) -> Result<T, DiagError> {
    dumper
        .join()
        .unwrap_or_else(|_| Err(DiagError::Netlink("the dumping thread failed".into())))
}

/// The result of a reader thread; a thread that panicked (it cannot: the
/// readers only do I/O) is reported as an error of that path.
fn joined<T>(
    reader: std::thread::ScopedJoinHandle<'_, Result<T, ReadError>>,
    path: &Path,
) -> Result<T, ReadError> {
    reader.join().unwrap_or_else(|_| {
        Err(ReadError::new(
            path,
            io::Error::other("the reading thread failed"),
        ))
    })
}

/// `/etc/passwd` of the machine netmonitor runs on, for user names.
pub fn read_passwd() -> Option<String> {
    read_text(Path::new("/etc/passwd")).ok()
}

/// Lowers the calling thread's priority (nice 10). A snapshot's
/// bookkeeping threads (listing `fd/`, sifting rows) call it so that, when
/// there are fewer cores than threads, the threads reading tables — whose
/// read is what a tick waits for — keep a core to themselves. Lowering
/// one's own priority is always allowed; it lasts as long as the thread.
fn defer_to_readers() {
    let tid = nix::unistd::gettid().as_raw();
    // SAFETY: setpriority takes three integers and reads no memory of ours.
    // Should it fail, the thread simply keeps its priority.
    unsafe {
        nix::libc::setpriority(nix::libc::PRIO_PROCESS, tid as nix::libc::id_t, 10);
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
pub fn read_text(path: &Path) -> Result<String, ReadError> {
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

/// UTF-8 text of `bytes`, with each invalid byte written as `\xNN`.
pub fn decode_bytes(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let bytes = e.into_bytes();
            let mut text = String::with_capacity(bytes.len() + 16);
            for chunk in bytes.utf8_chunks() {
                text.push_str(chunk.valid());
                for byte in chunk.invalid() {
                    text.push_str(&format!("\\x{byte:02x}"));
                }
            }
            text
        }
    }
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

    #[test]
    fn invalid_utf8_is_kept_visibly() {
        assert_eq!(decode_bytes(b"eth\xff0".to_vec()), "eth\\xff0");
        assert_eq!(decode_bytes("é".as_bytes().to_vec()), "é");
    }
}
