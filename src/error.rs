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
