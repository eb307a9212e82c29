//! Errors that leave a module: where it happened (a path, a pid) and why, in
//! words a user can act on. Parse problems of single lines are not errors
//! here: they are counted and shown under their table (see
//! [`crate::parse::LineError`]).

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// A file or directory under the proc root that could not be read.
#[derive(Debug, Error)]
#[error("cannot read {} ({})", path.display(), describe_io(source))]
pub struct ReadError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl ReadError {
    pub fn new(path: impl Into<PathBuf>, source: io::Error) -> Self {
        ReadError {
            path: path.into(),
            source,
        }
    }

    pub fn is_not_found(&self) -> bool {
        // ESRCH shows up when a task dies while its directory is read.
        self.source.kind() == io::ErrorKind::NotFound
            || self.source.raw_os_error() == Some(nix::libc::ESRCH)
    }
}

/// A short lower-case description of an I/O error, without the
/// "(os error N)" suffix.
pub fn describe_io(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "not found".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = error.to_string();
            let text = match text.find(" (os error") {
                Some(cut) => &text[..cut],
                None => &text,
            };
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => "unknown error".into(),
            }
        }
    }
}

/// Why there are no TCP connections from the kernel's socket diagnostics.
#[derive(Debug, Error)]
pub enum DiagError {
    /// Entering the process's namespace was refused.
    #[error("cannot enter the network namespace of {} ({})", path.display(), describe_io(source))]
    NotPermitted {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The netlink conversation failed.
    #[error("the kernel's socket diagnostics (netlink sock_diag) failed: {}", describe_io(.0))]
    Netlink(#[source] io::Error),
    /// The namespace file is gone (the process exited) or unusable.
    #[error("cannot open {} ({})", path.display(), describe_io(source))]
    Namespace {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// `ns/net` could not be read (`why`) and the process's `net/netlink`
    /// does not list netmonitor's socket: it lives in another namespace,
    /// which only a privileged user may enter.
    #[error("{why}, and the process is not in netmonitor's network namespace")]
    OtherNamespace { why: String },
}

impl DiagError {
    /// A netlink failure that has no I/O error behind it (an answer that
    /// cannot be decoded, a helper thread that failed).
    pub fn netlink(what: impl Into<String>) -> DiagError {
        DiagError::Netlink(io::Error::other(what.into()))
    }

    /// What would allow the dump, when something would.
    pub fn remedy(&self) -> Option<&'static str> {
        match self {
            DiagError::NotPermitted { .. } => Some(
                "run as root or with CAP_SYS_ADMIN to read connections in another network namespace",
            ),
            DiagError::OtherNamespace { .. } => Some(
                "run as root (or with CAP_SYS_PTRACE to open its ns/net and CAP_SYS_ADMIN to enter it) to read connections in another network namespace",
            ),
            _ => None,
        }
    }
}

/// Why a session could not start (or had to stop) for the requested pid.
/// Each maps to exit status 1; names are escaped by the caller before
/// printing.
#[derive(Debug, Error)]
pub enum ProcessError {
    #[error("no such process: {pid}")]
    NoSuchProcess { pid: u32 },
    #[error(
        "no such process, or hidden from you: {pid} (/proc is mounted with hidepid={hidepid}; processes of other users are invisible)"
    )]
    NotFoundOrHidden { pid: u32, hidepid: String },
    #[error(
        "process {pid} ({name}) is a zombie: it has exited and holds no sockets (its parent, pid {parent}, has not reaped it yet)"
    )]
    Zombie { pid: u32, name: String, parent: i64 },
    #[error("pid {pid} ({name}) is a kernel thread: kernel threads have no sockets of their own")]
    KernelThread { pid: u32, name: String },
    #[error("cannot identify process {pid}: {detail}")]
    Unreadable { pid: u32, detail: String },
}
