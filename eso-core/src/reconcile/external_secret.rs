//! The ExternalSecret flow: fetch, decode, convert, rewrite, template, write the target Secret.

use std::time::Duration;

use super::conditions::set_condition;
use super::generator_state::{Generated, consumer_ref};
use super::hash::{data_hash, resource_version, string_hash};
use super::outcome::{FlowError, Outcome};
use super::{ANNOTATION_DATA_HASH, LABEL_CREATED_BY, LABEL_MANAGED, Pass, Reconciler, with_jitter};
use crate::api::{
    EsoResource, ExternalSecret, ExternalSecretCreationPolicy, ExternalSecretDataRemoteRef,
    ExternalSecretDeletionPolicy, ExternalSecretMetadataPolicy, ExternalSecretRefreshPolicy,
    ExternalSecretStatus, ExternalSecretTemplate, SecretStoreKind, SecretStoreRef, is_secret_key,
};
use crate::cluster::{KubeSecret, LabelQuery, OwnerRef};
use crate::provider::{DynProvider, FindRef, MetadataPolicy, RemoteRef, StoreContext, StoreScope};
use crate::{Error, Result, SecretMap, strategy, template};

const ES_API_VERSION: &str = "external-secrets.io/v1";

/// How soon an ExternalSecret whose reconcile failed with a temporary error (a rate limit, an
/// outage, a conflict) is tried again.
pub const TEMPORARY_REQUEUE: Duration = Duration::from_secs(5);

/// What happened to the target Secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetAction {
    /// The Secret was created.
    Created,
    /// The Secret was updated.
    Updated,
    /// The Secret already had the wanted content.
    Unchanged,
    /// The Secret was deleted (deletionPolicy Delete with no data).
    Deleted,
    /// Nothing was fetched: the object did not need a refresh.
    Skipped,
    /// Nothing was written (creationPolicy None, Merge without a target, Retain, or an error).
    NotWritten,
}

/// The result of reconciling one ExternalSecret: its status, the error (if the reconcile
/// failed; also in the `Ready` condition) and what happened to the target Secret.
pub type ExternalSecretOutcome = Outcome<ExternalSecretStatus, TargetAction>;

fn rfc3339(now: jiff::Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(super) fn remote_ref(r: &ExternalSecretDataRemoteRef) -> RemoteRef {
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
        let store = super::catalog::resolve_store(
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

    pub(crate) fn generators_registry(&self) -> &crate::generator::GeneratorRegistry {
        &self.generators
    }

    /// Computes the data of an ExternalSecret: every `dataFrom` entry in order (later wins),
    /// then every `data` entry. Missing remote secrets are skipped unless deletionPolicy is
    /// Retain (ESO's rule); any other error fails the whole computation.
    async fn fetch_data(
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
            let ops = entry.rewrite.as_deref().unwrap_or_default();
            let gen_ref = entry
                .source_ref
                .as_ref()
                .and_then(|s| s.generator_ref.as_ref());
            let fetched = if let Some(g) = gen_ref {
                let data = self
                    .generate(g, ns, &i.to_string(), generated)
                    .await
                    .map_err(|e| e.context(format!("{path}: error using generator")))?;
                strategy::rewrite(ops, data)?
            } else {
                let store_ref = entry
                    .source_ref
                    .as_ref()
                    .and_then(|s| s.store_ref.as_ref())
                    .unwrap_or(&default_ref);
                let (store, provider) = self.store_provider(store_ref, ns, &path).await?;
                let provider = pass.provider(&store, ns, provider);
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
                    Err(e) if e.is_not_found() && !retain => continue,
                    Err(e) => return Err(e.context(&path)),
                };
                let data = strategy::rewrite(ops, data)?;
                let data = if ops.is_empty() {
                    strategy::convert_keys(conv, data)?
                } else {
                    data
                };
                strategy::decode_map(dec, data).map_err(|e| {
                    Error::Conversion(format!(
                        "{path}: error applying decoding strategy {dec:?} to data: {e}"
                    ))
                })?
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
            let r = remote_ref(&entry.remote_ref);
            let value = match provider.get_secret(&r).await {
                Ok(v) => v,
                Err(e) if e.is_not_found() && !retain => continue,
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
            out.extend(one);
        }
        Ok(out)
    }

    /// Reconciles one ExternalSecret at time `now`: decides whether a refresh is due, fetches,
    /// renders and writes the target Secret, and returns the new status.
    pub async fn reconcile_external_secret(
        &self,
        es: &ExternalSecret,
        pass: &Pass,
        now: jiff::Timestamp,
    ) -> ExternalSecretOutcome {
        let mut status = es.status.clone().unwrap_or_default();
        let ns = es.namespace().unwrap_or("default").to_owned();
        let target_name = es
            .spec
            .target
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| es.name().to_owned());
        let now_s = rfc3339(now);
        let interval = es.spec.refresh_interval.to_std().unwrap_or_default();
        let labels = es.metadata.labels.clone().unwrap_or_default();
        let annotations = es.metadata.annotations.clone().unwrap_or_default();
        let rv = resource_version(es.metadata.generation.unwrap_or(0), &labels, &annotations);
        let requeue =
            (!interval.is_zero()).then(|| with_jitter(interval, &format!("{ns}/{}", es.name())));

        // Generic targets (`target.manifest`) write arbitrary objects; like ESO without
        // `--unsafe-allow-generic-targets`, they are refused, and not retried.
        if es.spec.target.manifest.is_some() {
            let e = Error::invalid_config(
                "spec.target.manifest",
                "generic targets are disabled: eso-rs only writes Secrets",
            );
            return self.failed(status, "invalid generic target", e, &now_s, None);
        }
        // A target the flow creates may be known absent without a request (new objects);
        // Merge and None write into an existing Secret only: always asked.
        let existing = match es.spec.target.creation_policy {
            ExternalSecretCreationPolicy::Owner | ExternalSecretCreationPolicy::Orphan => {
                self.cluster().get_target_secret(&ns, &target_name).await
            }
            _ => self.cluster().get_secret(&ns, &target_name).await,
        };
        let existing = match existing {
            Ok(s) => s,
            Err(e) => {
                return self.failed(status, "could not get target secret", e, &now_s, requeue);
            }
        };
        if !self.should_refresh(es, &status, &rv, now, interval)
            && self.is_secret_valid(es, existing.as_ref())
        {
            let remaining = status
                .refresh_time
                .as_deref()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .and_then(|t| {
                    (t + jiff::SignedDuration::try_from(interval).ok()?)
                        .duration_since(now)
                        .try_into()
                        .ok()
                })
                .filter(|d: &Duration| !d.is_zero())
                .or_else(|| super::sync_window::blocked_requeue(es, now));
            return ExternalSecretOutcome::new(
                status,
                remaining.or(requeue).filter(|_| !interval.is_zero()),
                TargetAction::Skipped,
            );
        }

        let consumer = consumer_ref(
            "ExternalSecret",
            ES_API_VERSION,
            es.name(),
            es.metadata.uid.as_deref().unwrap_or_default(),
        );
        let mut generated = Generated::default();
        let data = match self.fetch_data(es, &ns, pass, &mut generated).await {
            Ok(d) => d,
            Err(e) => {
                self.rollback_generated(&consumer, &ns, generated, now)
                    .await;
                return self.failed(
                    status,
                    "could not get secret data from provider",
                    e,
                    &now_s,
                    requeue,
                );
            }
        };
        let creation = es.spec.target.creation_policy;
        if data.is_empty() {
            match es.spec.target.deletion_policy {
                ExternalSecretDeletionPolicy::Delete => {
                    if creation != ExternalSecretCreationPolicy::Owner {
                        let e = Error::invalid_config(
                            "spec.target.deletionPolicy",
                            format!(
                                "unable to delete secret {target_name}: creationPolicy={creation:?} is not Owner"
                            ),
                        );
                        self.rollback_generated(&consumer, &ns, generated, now)
                            .await;
                        return self.failed(status, "could not delete secret", e, &now_s, None);
                    }
                    if existing.is_some()
                        && let Err(e) = self.cluster().delete_secret(&ns, &target_name).await
                    {
                        self.rollback_generated(&consumer, &ns, generated, now)
                            .await;
                        return self.failed(status, "could not delete secret", e, &now_s, requeue);
                    }
                    self.commit_generated(&consumer, &ns, generated, now).await;
                    set_condition(
                        &mut status.conditions,
                        "Ready",
                        true,
                        "SecretDeleted",
                        "secret deleted due to DeletionPolicy=Delete",
                        &now_s,
                    );
                    status.refresh_time = Some(now_s);
                    status.synced_resource_version = Some(rv);
                    return ExternalSecretOutcome::new(status, requeue, TargetAction::Deleted);
                }
                ExternalSecretDeletionPolicy::Retain => {
                    set_condition(
                        &mut status.conditions,
                        "Ready",
                        true,
                        "SecretSynced",
                        "secret retained due to DeletionPolicy=Retain",
                        &now_s,
                    );
                    self.commit_generated(&consumer, &ns, generated, now).await;
                    status.refresh_time = Some(now_s);
                    status.synced_resource_version = Some(rv);
                    return ExternalSecretOutcome::new(status, requeue, TargetAction::NotWritten);
                }
                _ => {}
            }
        }

        match self
            .write_target(es, &ns, &target_name, existing, data)
            .await
        {
            Ok(action) => {
                self.commit_generated(&consumer, &ns, generated, now).await;
                let (reason, msg) = if action == TargetAction::NotWritten
                    && creation == ExternalSecretCreationPolicy::Merge
                {
                    (
                        "SecretMissing",
                        "secret will not be created due to CreationPolicy=Merge",
                    )
                } else {
                    ("SecretSynced", "secret synced")
                };
                set_condition(&mut status.conditions, "Ready", true, reason, msg, &now_s);
                status.refresh_time = Some(now_s);
                status.synced_resource_version = Some(rv);
                if creation != ExternalSecretCreationPolicy::None {
                    status.binding = Some(k8s_openapi::api::core::v1::LocalObjectReference {
                        name: target_name,
                    });
                }
                ExternalSecretOutcome::new(status, requeue, action)
            }
            Err((msg, e, retry)) => {
                self.rollback_generated(&consumer, &ns, generated, now)
                    .await;
                self.failed(status, msg, e, &now_s, if retry { requeue } else { None })
            }
        }
    }

    fn failed(
        &self,
        mut status: ExternalSecretStatus,
        msg: &str,
        e: Error,
        now: &str,
        requeue: Option<Duration>,
    ) -> ExternalSecretOutcome {
        // ESO's message, then the error itself, so its kind (rate limited, unavailable,
        // not found...) shows in the status and not only in the logs.
        set_condition(
            &mut status.conditions,
            "Ready",
            false,
            "SecretSyncedError",
            &format!("{msg}: {e}"),
            now,
        );
        let retry = if e.is_temporary() {
            Some(TEMPORARY_REQUEUE)
        } else {
            requeue
        };
        let mut out = ExternalSecretOutcome::new(status, retry, TargetAction::NotWritten);
        out.errors.push(FlowError::object(e));
        out
    }

    pub(super) fn should_refresh(
        &self,
        es: &ExternalSecret,
        status: &ExternalSecretStatus,
        rv: &str,
        now: jiff::Timestamp,
        interval: Duration,
    ) -> bool {
        let synced = status.synced_resource_version.as_deref();
        match es.spec.refresh_policy {
            Some(ExternalSecretRefreshPolicy::CreatedOnce) => return synced.is_none(),
            Some(ExternalSecretRefreshPolicy::OnChange) => return synced != Some(rv),
            _ => {}
        }
        if interval.is_zero() && synced.is_some() {
            return false;
        }
        if synced != Some(rv) {
            return true;
        }
        let Some(last) = status
            .refresh_time
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        else {
            return true;
        };
        if last > now {
            return true;
        }
        match jiff::SignedDuration::try_from(interval) {
            Ok(d) => last + d <= now && super::sync_window::periodic_refresh_allowed(es, now),
            Err(_) => false,
        }
    }

    pub(super) fn is_secret_valid(&self, es: &ExternalSecret, secret: Option<&KubeSecret>) -> bool {
        if es.spec.target.creation_policy == ExternalSecretCreationPolicy::Orphan {
            return true;
        }
        let Some(s) = secret else { return false };
        s.labels.get(LABEL_MANAGED).map(String::as_str) == Some("true")
            && s.annotations.get(ANNOTATION_DATA_HASH) == Some(&data_hash(&s.data))
    }

    /// The ConfigMaps and Secrets a template's `templateFrom` names, read from `ns`. A
    /// missing object is an error naming the field (`<field>.templateFrom[i].configMap`), in
    /// both flows, as in ESO.
    pub(super) async fn template_sources(
        &self,
        t: &ExternalSecretTemplate,
        ns: &str,
        field: &str,
    ) -> Result<template::TemplateSources> {
        let mut sources = template::TemplateSources::default();
        for (i, tf) in t.template_from.iter().flatten().enumerate() {
            if let Some(cm) = &tf.config_map {
                let found = self
                    .cluster()
                    .get_config_map(ns, &cm.name)
                    .await?
                    .ok_or_else(|| {
                        Error::invalid_config(
                            format!("{field}.templateFrom[{i}].configMap"),
                            format!("ConfigMap {ns}/{} not found", cm.name),
                        )
                    })?;
                sources.config_maps.insert(cm.name.clone(), found.data);
            }
            if let Some(sec) = &tf.secret {
                let found = self
                    .cluster()
                    .get_secret(ns, &sec.name)
                    .await?
                    .ok_or_else(|| {
                        Error::invalid_config(
                            format!("{field}.templateFrom[{i}].secret"),
                            format!("Secret {ns}/{} not found", sec.name),
                        )
                    })?;
                sources.secrets.insert(sec.name.clone(), found.data);
            }
        }
        Ok(sources)
    }

    /// Renders and writes the target; errors carry the ESO condition message and whether to retry.
    async fn write_target(
        &self,
        es: &ExternalSecret,
        ns: &str,
        name: &str,
        existing: Option<KubeSecret>,
        data: SecretMap,
    ) -> std::result::Result<TargetAction, (&'static str, Error, bool)> {
        let creation = es.spec.target.creation_policy;
        if creation == ExternalSecretCreationPolicy::None {
            return Ok(TargetAction::NotWritten);
        }
        if creation == ExternalSecretCreationPolicy::Merge && existing.is_none() {
            return Ok(TargetAction::NotWritten);
        }
        // Ownership: a Secret controlled by another ExternalSecret is never taken over.
        if let Some(owner) = existing
            .as_ref()
            .and_then(|s| s.owner_references.iter().find(|o| o.controller))
            && owner.kind == "ExternalSecret"
            && owner.api_version.starts_with("external-secrets.io/")
            && owner.name != es.name()
        {
            return Err((
                "target is owned by another ExternalSecret",
                Error::PermissionDenied {
                    message: format!(
                        "secret {ns}/{name} is owned by ExternalSecret {}",
                        owner.name
                    ),
                },
                false,
            ));
        }
        let merge_existing = matches!(
            creation,
            ExternalSecretCreationPolicy::Merge | ExternalSecretCreationPolicy::CreateOrMerge
        );
        let manager = super::field_manager(es.name());
        let mut base = existing
            .clone()
            .unwrap_or_else(|| KubeSecret::new(ns, name));
        // What this ExternalSecret's field manager wrote last time goes before rendering, so a
        // key, label or annotation it no longer renders leaves the Secret (ESO does this for
        // a new or mutable target).
        if (existing.is_none() || !es.spec.target.immutable)
            && let Some(mine) = base.managed_fields.get(&manager).cloned()
        {
            base.data.retain(|k, _| !mine.data.contains(k));
            base.labels.retain(|k, _| !mine.labels.contains(k));
            base.annotations
                .retain(|k, _| !mine.annotations.contains(k));
        }
        let mut target = template::TargetSecret {
            type_: Some(base.type_.clone()).filter(|t| !t.is_empty()),
            data: if merge_existing {
                base.data.clone()
            } else {
                SecretMap::new()
            },
            labels: base.labels.clone(),
            annotations: base.annotations.clone(),
            finalizers: Vec::new(),
        };
        match &es.spec.target.template {
            Some(t) => {
                let sources = self
                    .template_sources(t, ns, "spec.target.template")
                    .await
                    .map_err(|e| ("could not apply template", e, true))?;
                template::apply(t, &data, &sources, &mut target)
                    .map_err(|e| ("could not apply template", e, false))?;
            }
            None => target.data.extend(data),
        }
        let mut secret = base.clone();
        secret.type_ = target.type_.unwrap_or_else(|| "Opaque".to_owned());
        secret.data = target.data;
        secret.labels = target.labels;
        secret.annotations = target.annotations;
        secret.immutable = es.spec.target.immutable || base.immutable;
        // Markers and ownership, as ESO writes them.
        secret
            .labels
            .insert(LABEL_MANAGED.to_owned(), "true".to_owned());
        let owner_hash = string_hash(&format!("{ns}/{}", es.name()));
        secret
            .owner_references
            .retain(|o| !(o.controller && o.kind == "ExternalSecret" && o.name == es.name()));
        if creation == ExternalSecretCreationPolicy::Owner {
            let uid = es.metadata.uid.clone().unwrap_or_default();
            secret.owner_references.push(OwnerRef::controller(
                ES_API_VERSION,
                "ExternalSecret",
                es.name(),
                uid,
            ));
            secret
                .labels
                .insert(LABEL_CREATED_BY.to_owned(), owner_hash.clone());
        } else if secret.labels.get(LABEL_CREATED_BY) == Some(&owner_hash) {
            secret.labels.remove(LABEL_CREATED_BY);
        }
        secret
            .annotations
            .insert(ANNOTATION_DATA_HASH.to_owned(), data_hash(&secret.data));

        if creation == ExternalSecretCreationPolicy::Owner && target_may_have_moved(es, name) {
            // A renamed target leaves a Secret behind: delete the ones this ES created.
            let mut q = LabelQuery::default();
            q.match_labels
                .insert(LABEL_CREATED_BY.to_owned(), owner_hash);
            let stale = self
                .cluster()
                .list_secrets(ns, &q)
                .await
                .map_err(|e| ("could not delete orphaned secrets", e, true))?;
            for s in stale.iter().filter(|s| s.name != name) {
                self.cluster()
                    .delete_secret(ns, &s.name)
                    .await
                    .map_err(|e| ("could not delete orphaned secrets", e, true))?;
            }
        }
        match existing {
            None => {
                secret.field_manager = manager;
                self.cluster()
                    .create_secret(secret)
                    .await
                    .map_err(|e| ("could not update secret", e, true))?;
                Ok(TargetAction::Created)
            }
            Some(old) if old == secret => Ok(TargetAction::Unchanged),
            Some(old) => {
                if old.immutable && old.data != secret.data {
                    return Err((
                        "could not update secret, target is immutable",
                        Error::invalid_config(
                            "spec.target.immutable",
                            format!("secret {ns}/{name} is immutable"),
                        ),
                        false,
                    ));
                }
                secret.field_manager = manager;
                self.cluster()
                    .update_secret(secret)
                    .await
                    .map_err(|e| ("could not update secret", e, true))?;
                Ok(TargetAction::Updated)
            }
        }
    }

    /// Handles deletion of an ExternalSecret: with `deletionPolicy: Delete` the target Secret
    /// is deleted if this ExternalSecret controls it. The outcome's `detail` says whether it
    /// was ([`TargetAction::Deleted`]); on an error, keep the finalizer and retry. The
    /// generator states of the ExternalSecret are cleaned up (their generator's cleanup: a
    /// VaultDynamicSecret lease is revoked) and deleted first.
    pub async fn delete_external_secret(
        &self,
        es: &ExternalSecret,
        _now: jiff::Timestamp,
    ) -> ExternalSecretOutcome {
        let status = es.status.clone().unwrap_or_default();
        let ns = es.namespace().unwrap_or("default");
        let released = self
            .release_consumer_states("ExternalSecret", ns, es.name())
            .await;
        match released.and(self.delete_target(es).await) {
            Ok(true) => ExternalSecretOutcome::new(status, None, TargetAction::Deleted),
            Ok(false) => ExternalSecretOutcome::new(status, None, TargetAction::NotWritten),
            Err(e) => {
                let mut out = ExternalSecretOutcome::new(
                    status,
                    Some(TEMPORARY_REQUEUE),
                    TargetAction::NotWritten,
                );
                out.errors.push(FlowError::object(e));
                out
            }
        }
    }

    /// Deletes the target of `es` when its deletion policy says so and `es` controls it.
    async fn delete_target(&self, es: &ExternalSecret) -> Result<bool> {
        if es.spec.target.deletion_policy != ExternalSecretDeletionPolicy::Delete {
            return Ok(false);
        }
        let ns = es.namespace().unwrap_or("default");
        let name = es
            .spec
            .target
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| es.name().to_owned());
        let Some(s) = self.cluster().get_secret(ns, &name).await? else {
            return Ok(false);
        };
        let controlled = s
            .owner_references
            .iter()
            .any(|o| o.controller && o.kind == "ExternalSecret" && o.name == es.name());
        if controlled {
            self.cluster().delete_secret(ns, &name).await?;
        }
        Ok(controlled)
    }
}

/// True when `es` may have written its target under another name than `name` before: its
/// `status.binding` names another Secret, or it was synced before without recording one. A
/// never-synced object, or one bound to `name`, has no orphan to look for, so the flow makes
/// no LIST of Secrets for it (one per reconcile would grow with the namespace's Secrets).
fn target_may_have_moved(es: &ExternalSecret, name: &str) -> bool {
    let Some(status) = es.status.as_ref() else {
        return false;
    };
    match status.binding.as_ref().map(|b| b.name.as_str()) {
        Some(bound) if !bound.is_empty() => bound != name,
        _ => status.synced_resource_version.is_some(),
    }
}

#[cfg(test)]
#[allow(dead_code)]
fn assert_send(r: &Reconciler, es: &ExternalSecret, p: &Pass) {
    fn is_send<T: Send>(_: T) {}
    is_send(r.reconcile_external_secret(es, p, jiff::Timestamp::UNIX_EPOCH));
}
