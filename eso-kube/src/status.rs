//! Reaching an ESO object's `Api` whatever its scope, and patching its status (what a host
//! does with every flow outcome).

use std::fmt;

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, PushSecret,
    SecretStore,
};
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::map_error;

/// An ESO object a host reconciles: a kube resource that knows the [`Api`] it lives in
/// (namespaced or cluster-wide), which kube's scope types cannot tell a generic function.
///
/// Implemented for the six ESO kinds; implement it for a kind of your own to use
/// [`patch_status`] on it.
///
/// # Example
///
/// ```no_run
/// use eso_core::api::ExternalSecret;
/// use eso_kube::status::EsoObject;
///
/// # async fn run(client: kube::Client, es: ExternalSecret) -> Result<(), kube::Error> {
/// let fresh = ExternalSecret::api(&client, &es).get("db").await?;
/// # let _ = fresh; Ok(()) }
/// ```
pub trait EsoObject:
    Resource<DynamicType = ()>
    + Clone
    + DeserializeOwned
    + Serialize
    + fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// The `Api` that `obj` lives in.
    fn api(client: &kube::Client, obj: &Self) -> Api<Self>;
}

macro_rules! eso_object {
    (namespaced: $($k:ty),*; cluster: $($c:ty),*) => {
        $(impl EsoObject for $k {
            fn api(client: &kube::Client, obj: &Self) -> Api<Self> {
                Api::namespaced(client.clone(), &obj.namespace().unwrap_or_default())
            }
        })*
        $(impl EsoObject for $c {
            fn api(client: &kube::Client, _: &Self) -> Api<Self> {
                Api::all(client.clone())
            }
        })*
    };
}

eso_object!(namespaced: ExternalSecret, PushSecret, SecretStore;
            cluster: ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore);

/// `Kind/namespace/name` (`Kind//name` for a cluster-wide object): the key of an object in
/// logs and in the operator's back-off.
///
/// # Example
///
/// ```
/// use eso_core::api::{ExternalSecret, ExternalSecretSpec};
///
/// let mut es = ExternalSecret::new("db", ExternalSecretSpec::default());
/// es.metadata.namespace = Some("team-a".into());
/// assert_eq!(eso_kube::status::object_key(&es), "ExternalSecret/team-a/db");
/// ```
pub fn object_key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

/// Writes `status` onto `obj` through the status subresource (a JSON merge patch of
/// `{"status": ..}`), as every flow's outcome asks the host to.
///
/// # Example
///
/// ```no_run
/// use eso_core::api::{ExternalSecret, ExternalSecretStatus};
///
/// # async fn run(client: kube::Client, es: ExternalSecret) -> eso_core::Result<()> {
/// eso_kube::status::patch_status(&client, &es, &ExternalSecretStatus::default()).await?;
/// # Ok(()) }
/// ```
pub async fn patch_status<K: EsoObject, S: Serialize + Sync>(
    client: &kube::Client,
    obj: &K,
    status: &S,
) -> eso_core::Result<()> {
    let patch = serde_json::json!({ "status": status });
    K::api(client, obj)
        .patch_status(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map(|_| ())
        .map_err(|e| map_error(&format!("patch status of {}", object_key(obj)), e))
}
