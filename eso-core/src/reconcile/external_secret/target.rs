//! Writing the target Secret of an ExternalSecret: render, mark, create or update.

use super::{ES_API_VERSION, TargetAction};
use crate::api::{EsoResource, ExternalSecret, ExternalSecretCreationPolicy};
use crate::cluster::{KubeSecret, LabelQuery, OwnerRef};
use crate::reconcile::hash::{data_hash, string_hash};
use crate::reconcile::{ANNOTATION_DATA_HASH, LABEL_CREATED_BY, LABEL_MANAGED, Reconciler};
use crate::{Error, SecretMap, template};

impl Reconciler {
    /// Renders and writes the target; errors carry the ESO condition message and whether to retry.
    pub(super) async fn write_target(
        &self,
        es: &ExternalSecret,
        ns: &str,
        name: &str,
        existing: Option<KubeSecret>,
        data: SecretMap,
    ) -> std::result::Result<TargetAction, WriteError> {
        let creation = es.spec.target.creation_policy;
        if creation == ExternalSecretCreationPolicy::None {
            return Ok(TargetAction::NotWritten);
        }
        if creation == ExternalSecretCreationPolicy::Merge && existing.is_none() {
            return Ok(TargetAction::NotWritten);
        }
        check_not_taken(es, ns, name, existing.as_ref())?;
        let manager = crate::reconcile::field_manager(es.name());
        let mut secret = self
            .render_target(es, ns, name, existing.as_ref(), &manager, data)
            .await?;
        let owner_hash = mark_target(es, ns, &mut secret);
        if creation == ExternalSecretCreationPolicy::Owner && target_may_have_moved(es, name) {
            self.delete_moved_targets(ns, name, owner_hash).await?;
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
                let data_changed = old.data != secret.data;
                secret.field_manager = manager;
                self.cluster()
                    .update_secret(secret)
                    .await
                    .map_err(|e| ("could not update secret", e, true))?;
                Ok(if data_changed {
                    TargetAction::Updated
                } else {
                    TargetAction::Relabelled
                })
            }
        }
    }

    /// The target Secret with `data` rendered through the template onto what it holds now
    /// (less what this ExternalSecret's field manager wrote last time), before the markers.
    async fn render_target(
        &self,
        es: &ExternalSecret,
        ns: &str,
        name: &str,
        existing: Option<&KubeSecret>,
        manager: &str,
        data: SecretMap,
    ) -> std::result::Result<KubeSecret, WriteError> {
        let merge_existing = matches!(
            es.spec.target.creation_policy,
            ExternalSecretCreationPolicy::Merge | ExternalSecretCreationPolicy::CreateOrMerge
        );
        let mut base = existing
            .cloned()
            .unwrap_or_else(|| KubeSecret::new(ns, name));
        // What this ExternalSecret's field manager wrote last time goes before rendering, so a
        // key, label or annotation it no longer renders leaves the Secret (ESO does this for
        // a new or mutable target).
        if (existing.is_none() || !es.spec.target.immutable)
            && let Some(mine) = base.managed_fields.get(manager).cloned()
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
            None => {
                target.data.extend(data);
                // Without a template ESO copies the ExternalSecret's own labels and
                // annotations to the target (its `setMetadata`).
                let meta = &es.metadata;
                target
                    .labels
                    .extend(meta.labels.clone().unwrap_or_default());
                target
                    .annotations
                    .extend(meta.annotations.clone().unwrap_or_default());
            }
        }
        let mut secret = base.clone();
        secret.type_ = target.type_.unwrap_or_else(|| "Opaque".to_owned());
        secret.data = target.data;
        secret.labels = target.labels;
        secret.annotations = target.annotations;
        secret.immutable = es.spec.target.immutable || base.immutable;
        Ok(secret)
    }

    /// A renamed target leaves a Secret behind: deletes the ones this ExternalSecret created
    /// (labelled with `owner_hash`) other than `name`.
    async fn delete_moved_targets(
        &self,
        ns: &str,
        name: &str,
        owner_hash: String,
    ) -> std::result::Result<(), WriteError> {
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
        Ok(())
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

/// A failed write of the target: ESO's condition message, the error, and whether to retry.
type WriteError = (&'static str, Error, bool);

/// Ownership: a Secret controlled by another ExternalSecret is never taken over.
fn check_not_taken(
    es: &ExternalSecret,
    ns: &str,
    name: &str,
    existing: Option<&KubeSecret>,
) -> std::result::Result<(), WriteError> {
    if let Some(owner) = existing.and_then(|s| s.owner_references.iter().find(|o| o.controller))
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
    Ok(())
}

/// Puts ESO's markers on the rendered target: the managed label, the controller reference
/// and `created-by` label of creationPolicy Owner, and the data hash. Returns the
/// `created-by` value of `es`.
fn mark_target(es: &ExternalSecret, ns: &str, secret: &mut KubeSecret) -> String {
    secret
        .labels
        .insert(LABEL_MANAGED.to_owned(), "true".to_owned());
    let owner_hash = string_hash(&format!("{ns}/{}", es.name()));
    secret
        .owner_references
        .retain(|o| !(o.controller && o.kind == "ExternalSecret" && o.name == es.name()));
    if es.spec.target.creation_policy == ExternalSecretCreationPolicy::Owner {
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
    owner_hash
}
