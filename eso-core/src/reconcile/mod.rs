//! The reconcile flows (ExternalSecret pull, PushSecret push) and the markers they write.

pub mod hash;
