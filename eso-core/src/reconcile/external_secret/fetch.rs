//! Reading the data of an ExternalSecret from its stores and generators.

use crate::api::{
    ExternalSecret, ExternalSecretData, ExternalSecretDataFromRemoteRef,
    ExternalSecretDataRemoteRef, ExternalSecretDeletionPolicy, ExternalSecretMetadataPolicy,
    SecretStoreKind, SecretStoreRef, is_secret_key,
};
use crate::cluster::LabelQuery;
use crate::provider::{DynProvider, FindRef, MetadataPolicy, RemoteRef, StoreContext, StoreScope};
use crate::reconcile::generator_state::Generated;
use crate::reconcile::{Pass, Reconciler};
use crate::{Error, Result, SecretMap, strategy};

pub(in crate::reconcile) fn remote_ref(r: &ExternalSecretDataRemoteRef) -> RemoteRef {
    let mut out = RemoteRef::new(r.key.clone());
    out.property = r.property.clone();
    out.version = r.version.clone();
    if r.metadata_policy == Some(ExternalSecretMetadataPolicy::Fetch) {
        out.metadata_policy = MetadataPolicy::Fetch;
    }
    out
}

impl Reconciler {
    /// Builds (or takes from the registry cache) the provider of a store, checking that a
    /// ClusterSecretStore admits `namespace`.
    pub(crate) async fn store_provider(
        &self,
        store_ref: &SecretStoreRef,
        namespace: &str,
        path: &str,
    ) -> Result<(crate::provider::StoreIdentity, DynProvider)> {
        let store = crate::reconcile::catalog::resolve_store(
            self.catalog(),
            store_ref.kind(),
            namespace,
            &store_ref.name,
        )
        .map_err(|e| match e {
            Error::InvalidConfig { message, .. } => Error::invalid_config(path, message),
            other => other,
        })?;
        if store_ref.kind() == SecretStoreKind::ClusterSecretStore {
            self.check_cluster_store_conditions(store.spec(), &store_ref.name, namespace)
                .await?;
        }
        let cred_ns = match store.identity.scope {
            StoreScope::Namespaced => store.identity.namespace.as_str(),
            _ => namespace,
        };
        let ctx = StoreContext::new(
            &store.identity,
            &store.spec().provider,
            cred_ns,
            self.cluster(),
        )
        .with_retry(store.retry())
        .with_origin(store.origin());
        let provider = self.providers().provider(&ctx).await?;
        Ok((store.identity.clone(), provider))
    }

    async fn check_cluster_store_conditions(
        &self,
        spec: &crate::api::SecretStoreSpec,
        name: &str,
        namespace: &str,
    ) -> Result<()> {
        let Some(conditions) = spec.conditions.as_ref().filter(|c| !c.is_empty()) else {
            return Ok(());
        };
        for c in conditions {
            if c.namespaces.iter().flatten().any(|n| n == namespace) {
                return Ok(());
            }
            for re in c.namespace_regexes.iter().flatten() {
                if regex::Regex::new(re).is_ok_and(|r| r.is_match(namespace)) {
                    return Ok(());
                }
            }
            if let Some(sel) = &c.namespace_selector {
                let q = LabelQuery::from_selector(sel, "spec.conditions.namespaceSelector")?;
                let namespaces = self.cluster().list_namespaces(&q).await?;
                if namespaces.iter().any(|n| n.name == namespace) {
                    return Ok(());
                }
            }
        }
        Err(Error::PermissionDenied {
            message: format!(
                "using cluster store {name:?} is not allowed from namespace {namespace:?}: denied by spec.conditions"
            ),
        })
    }

    /// Computes the data of an ExternalSecret: every `dataFrom` entry in order (later wins),
    /// then every `data` entry. Missing remote secrets are skipped unless deletionPolicy is
    /// Retain (ESO's rule); any other error fails the whole computation.
    pub(super) async fn fetch_data(
        &self,
        es: &ExternalSecret,
        ns: &str,
        pass: &Pass,
        generated: &mut Generated,
    ) -> Result<SecretMap> {
        let spec = &es.spec;
        let retain = spec.target.deletion_policy == ExternalSecretDeletionPolicy::Retain;
        let default_ref = spec.secret_store_ref.clone().unwrap_or_default();
        let mut out = SecretMap::new();
        for (i, entry) in spec.data_from.iter().flatten().enumerate() {
            let path = format!("spec.dataFrom[{i}]");
            let gen_ref = entry
                .source_ref
                .as_ref()
                .and_then(|s| s.generator_ref.as_ref());
            let fetched = if let Some(g) = gen_ref {
                let data = self
                    .generate(g, ns, &i.to_string(), generated)
                    .await
                    .map_err(|e| e.context(format!("{path}: error using generator")))?;
                strategy::rewrite(entry.rewrite.as_deref().unwrap_or_default(), data)?
            } else {
                let store_ref = entry
                    .source_ref
                    .as_ref()
                    .and_then(|s| s.store_ref.as_ref())
                    .unwrap_or(&default_ref);
                let (store, provider) = self.store_provider(store_ref, ns, &path).await?;
                let provider = pass.provider(&store, ns, provider);
                match fetch_data_from(&provider, entry, &path, retain).await? {
                    Some(data) => data,
                    None => continue,
                }
            };
            if let Some(bad) = fetched.keys().find(|k| !is_secret_key(k)) {
                return Err(Error::invalid_config(
                    path,
                    format!(
                        "invalid secret keys (TIP: use rewrite or conversionStrategy to change keys): key {bad:?}"
                    ),
                ));
            }
            out.extend(fetched);
        }
        for (i, entry) in spec.data.iter().flatten().enumerate() {
            let path = format!("spec.data[{i}]");
            let store_ref = entry
                .source_ref
                .as_ref()
                .and_then(|s| s.store_ref.as_ref())
                .unwrap_or(&default_ref);
            let (store, provider) = self.store_provider(store_ref, ns, &path).await?;
            let provider = pass.provider(&store, ns, provider);
            if let Some(one) = fetch_data_entry(&provider, entry, &path, retain).await? {
                out.extend(one);
            }
        }
        Ok(out)
    }
}

/// The data of one `dataFrom` entry read from a store (`extract` or `find`), after rewrite,
/// key conversion and decoding; `None` when the remote secret is missing and may be skipped.
async fn fetch_data_from(
    provider: &DynProvider,
    entry: &ExternalSecretDataFromRemoteRef,
    path: &str,
    retain: bool,
) -> Result<Option<SecretMap>> {
    let ops = entry.rewrite.as_deref().unwrap_or_default();
    let (raw, conv, dec) = if let Some(x) = &entry.extract {
        let r = remote_ref(x);
        let res = provider.get_secret_map(&r).await;
        (
            res,
            x.conversion_strategy.unwrap_or_default(),
            x.decoding_strategy.unwrap_or_default(),
        )
    } else if let Some(f) = &entry.find {
        let mut find = FindRef::default();
        find.path.clone_from(&f.path);
        if let Some(re) = f.name.as_ref().and_then(|n| n.regexp.as_deref()) {
            find = find.with_name_regexp(re).map_err(|_| {
                Error::invalid_config(
                    format!("{path}.find.name.regexp"),
                    "invalid regular expression",
                )
            })?;
        }
        find.tags = f.tags.clone().unwrap_or_default();
        let res = provider.get_all_secrets(&find).await;
        (
            res,
            f.conversion_strategy.unwrap_or_default(),
            f.decoding_strategy.unwrap_or_default(),
        )
    } else {
        return Err(Error::invalid_config(
            path,
            "needs extract, find or sourceRef.generatorRef",
        ));
    };
    let data = match raw {
        Ok(d) => d,
        Err(e) if e.is_not_found() && !retain => return Ok(None),
        Err(e) => return Err(e.context(path)),
    };
    let data = strategy::rewrite(ops, data)?;
    let data = if ops.is_empty() {
        strategy::convert_keys(conv, data)?
    } else {
        data
    };
    strategy::decode_map(dec, data).map(Some).map_err(|e| {
        Error::Conversion(format!(
            "{path}: error applying decoding strategy {dec:?} to data: {e}"
        ))
    })
}

/// The one key of a `data` entry, decoded; `None` when the remote secret is missing and may
/// be skipped.
async fn fetch_data_entry(
    provider: &DynProvider,
    entry: &ExternalSecretData,
    path: &str,
    retain: bool,
) -> Result<Option<SecretMap>> {
    let r = remote_ref(&entry.remote_ref);
    let value = match provider.get_secret(&r).await {
        Ok(v) => v,
        Err(e) if e.is_not_found() && !retain => return Ok(None),
        Err(e) => return Err(e.context(format!("{path}.remoteRef"))),
    };
    let dec = entry.remote_ref.decoding_strategy.unwrap_or_default();
    let bytes = strategy::decode(dec, value.expose()).map_err(|e| {
        Error::Conversion(format!(
            "{path}: error applying decoding strategy {dec:?} to data: {e}"
        ))
    })?;
    let mut one = SecretMap::new();
    one.insert(entry.secret_key.clone(), bytes.into());
    if let Some(p) = entry.remote_ref.null_byte_policy {
        strategy::check_null_bytes(p, &one)?;
    }
    Ok(Some(one))
}
