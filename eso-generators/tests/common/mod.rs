//! What the token generators' tests share.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use eso_core::SecretValue;
use eso_core::cluster::MemoryCluster;
use eso_core::provider::{RemoteRef, StoreContext, StoreIdentity, StoreScope};
use eso_core::reconcile::Reconciler;

/// The value a PushSecret wrote to `key` of the in-memory store `app/mirror` of `r`.
pub async fn pushed_to_mirror(r: &Reconciler, key: &str) -> SecretValue {
    let stored = r.catalog().secret_store("app", "mirror").unwrap();
    let id = StoreIdentity::new(StoreScope::Namespaced, "app", "mirror");
    let cluster: eso_core::cluster::DynCluster = Arc::new(MemoryCluster::new());
    let store = r
        .providers()
        .provider(&StoreContext::new(
            &id,
            &stored.spec.provider,
            "app",
            &cluster,
        ))
        .await
        .unwrap();
    store.get_secret(&RemoteRef::new(key)).await.unwrap()
}
