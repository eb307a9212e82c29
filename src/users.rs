//! User names for uids, asked of the system's name service
//! (`getpwuid_r`, as `ps` and `ss` do), so users from LDAP, sssd, NIS or
//! systemd's userdb get their names, not only those in `/etc/passwd`.
//!
//! Views ask for the uids they show through [`UserNames`]; the
//! [`NameService`] asks the system once per uid and remembers the answer
//! (a missing user too), holding at most [`NameService::CAPACITY`] names:
//! when full it starts over, so memory stays bounded whatever the number
//! of uids seen. Tests give a fixed table instead (a `HashMap`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// Where a view finds the name of a uid.
pub trait UserNames: fmt::Debug + Sync {
    /// The name of `uid`, or `None` when the system knows none.
    fn name(&self, uid: u32) -> Option<String>;
}

/// A fixed table (tests, fixtures).
impl UserNames for HashMap<u32, String> {
    fn name(&self, uid: u32) -> Option<String> {
        self.get(&uid).cloned()
    }
}

/// How a [`NameService`] asks about one uid.
pub type Lookup = fn(u32) -> Option<String>;

/// The system's name service, cached per uid.
#[derive(Clone)]
pub struct NameService {
    lookup: Lookup,
    cache: Arc<Mutex<HashMap<u32, Option<String>>>>,
}

impl fmt::Debug for NameService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self.cache.lock().map_or(0, |c| c.len());
        f.debug_struct("NameService")
            .field("cached", &cached)
            .finish()
    }
}

impl Default for NameService {
    fn default() -> Self {
        NameService::with_lookup(system_lookup)
    }
}

impl NameService {
    /// Names remembered at most; a process's sockets rarely belong to more
    /// than a handful of users, `scope all` on a big host to hundreds.
    pub const CAPACITY: usize = 1024;

    /// A name service asking `lookup` (the system's by default).
    pub fn with_lookup(lookup: Lookup) -> NameService {
        NameService {
            lookup,
            cache: Arc::default(),
        }
    }

    /// How many uids are remembered now.
    pub fn cached(&self) -> usize {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl UserNames for NameService {
    fn name(&self, uid: u32) -> Option<String> {
        if let Some(known) = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&uid)
        {
            return known.clone();
        }
        // Asked without the lock held: a slow directory server delays
        // this lookup only.
        let name = (self.lookup)(uid);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= Self::CAPACITY {
            cache.clear();
        }
        cache.insert(uid, name.clone());
        name
    }
}

/// `getpwuid_r` through nix; an error of the name service counts as no
/// name (the uid is shown as a number).
fn system_lookup(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|user| user.name)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static ASKED: AtomicUsize = AtomicUsize::new(0);

    fn counting(uid: u32) -> Option<String> {
        ASKED.fetch_add(1, Ordering::SeqCst);
        (uid < 5000).then(|| format!("user{uid}"))
    }

    #[test]
    fn each_uid_is_asked_once_and_the_cache_stays_bounded() {
        let names = NameService::with_lookup(counting);
        let start = ASKED.load(Ordering::SeqCst);
        assert_eq!(names.name(7).as_deref(), Some("user7"));
        assert_eq!(names.name(7).as_deref(), Some("user7"));
        // An unknown uid is remembered as unknown, not asked every tick.
        assert_eq!(names.name(9000), None);
        assert_eq!(names.name(9000), None);
        assert_eq!(ASKED.load(Ordering::SeqCst) - start, 2);
        for uid in 0..(NameService::CAPACITY as u32 * 3) {
            names.name(uid);
        }
        assert!(names.cached() <= NameService::CAPACITY);
    }

    #[test]
    fn the_system_knows_root() {
        // Whatever the name service (files, sssd, systemd), uid 0 is root.
        assert_eq!(NameService::default().name(0).as_deref(), Some("root"));
        assert_eq!(NameService::default().name(u32::MAX - 7), None);
    }
}
