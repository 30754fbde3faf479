//! [`KnownSecrets`]: which Secrets exist, by namespace and name, as the operator's metadata
//! watch of Secrets reports them, so a new ExternalSecret's target is created without
//! first asking the API server whether it exists.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The names of the Secrets that exist, fed by a watch (only names: no labels, no data).
///
/// It answers "known absent" only once the watch's first listing is complete; until then,
/// every read goes to the API server. A watch that fails resumes from where it was (or lists
/// again), so what it missed comes back as events. The cluster records its own
/// creates and deletes at once, so a pass right after a write does not wait for the watch.
#[derive(Clone, Debug, Default)]
pub(crate) struct KnownSecrets {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    names: Mutex<Names>,
    listed: AtomicBool,
}

#[derive(Debug, Default)]
struct Names {
    current: HashSet<String>,
    /// The listing in progress (a watch start or restart), swapped in when it completes.
    listing: Option<HashSet<String>>,
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

impl KnownSecrets {
    fn names(&self) -> std::sync::MutexGuard<'_, Names> {
        self.inner
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// True when the Secret is known not to exist (the listing is complete and no watch
    /// event nor write of ours has seen it since).
    pub(crate) fn absent(&self, namespace: &str, name: &str) -> bool {
        self.inner.listed.load(Ordering::Acquire)
            && !self.names().current.contains(&key(namespace, name))
    }

    /// The Secret exists (a watch event, or a create of ours).
    pub(crate) fn insert(&self, namespace: &str, name: &str) {
        let k = key(namespace, name);
        let mut names = self.names();
        if let Some(l) = names.listing.as_mut() {
            l.insert(k.clone());
        }
        names.current.insert(k);
    }

    /// The Secret is gone.
    pub(crate) fn remove(&self, namespace: &str, name: &str) {
        let k = key(namespace, name);
        let mut names = self.names();
        if let Some(l) = names.listing.as_mut() {
            l.remove(&k);
        }
        names.current.remove(&k);
    }

    /// A listing starts: the names it brings replace the current ones when it completes.
    #[cfg(any(test, feature = "operator"))]
    pub(crate) fn listing_started(&self) {
        self.names().listing = Some(HashSet::new());
    }

    /// The listing is complete: from now on, what is not in it is known absent.
    #[cfg(any(test, feature = "operator"))]
    pub(crate) fn listing_done(&self) {
        let mut names = self.names();
        if let Some(l) = names.listing.take() {
            names.current = l;
        }
        drop(names);
        self.inner.listed.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_absent_before_the_first_listing_completes() {
        let k = KnownSecrets::default();
        assert!(!k.absent("a", "x"));
        k.listing_started();
        k.insert("a", "y");
        assert!(!k.absent("a", "x"));
        k.listing_done();
        assert!(k.absent("a", "x"));
        assert!(!k.absent("a", "y"));
    }

    #[test]
    fn writes_and_events_between_listings_count() {
        let k = KnownSecrets::default();
        k.listing_started();
        k.listing_done();
        k.insert("a", "x");
        assert!(!k.absent("a", "x"));
        k.remove("a", "x");
        assert!(k.absent("a", "x"));
        // A relisting: a create of ours during it survives the swap.
        k.insert("a", "old");
        k.listing_started();
        k.insert("a", "ours");
        k.listing_done();
        assert!(!k.absent("a", "ours"));
        assert!(k.absent("a", "old"), "gone from the new listing");
    }
}
