//! The AWS Systems Manager Parameter Store API calls of [`AwsParameterStore`].

use std::collections::{BTreeMap, HashMap};

use aws_sdk_ssm::types::{
    ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging, Tag,
};
use eso_core::provider::FindRef;
use eso_core::{Error, Result, SecretValue};

use crate::error::{same, sdk_error};
use crate::push::{self, ParameterStoreMetadata};

use crate::provider::parameter_store::{AwsParameterStore, BATCH_SIZE};

impl AwsParameterStore {
    pub(crate) async fn raw(&self, name: &str) -> Result<Option<SecretValue>> {
        match self
            .inner
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .parameter()
                .and_then(|p| p.value())
                .map(SecretValue::from)),
            Err(e) => match sdk_error("GetParameter", name, e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    pub(crate) async fn tags(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let out = self
            .inner
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .map_err(|e| sdk_error("ListTagsForResource", name, e))?;
        Ok(out
            .tag_list()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    /// `GetParameters` in batches of [`BATCH_SIZE`]; every name gets a result.
    pub(crate) async fn read_many(&self, names: &[String]) -> HashMap<String, Result<SecretValue>> {
        let mut out = HashMap::new();
        for chunk in names.chunks(BATCH_SIZE) {
            match self
                .inner
                .client
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .with_decryption(true)
                .send()
                .await
            {
                Ok(res) => {
                    for p in res.parameters() {
                        if let (Some(name), Some(value)) = (p.name(), p.value())
                            && chunk.iter().any(|n| n == name)
                        {
                            out.insert(name.to_owned(), Ok(SecretValue::from(value)));
                        }
                    }
                    for n in chunk {
                        out.entry(n.clone())
                            .or_insert_with(|| Err(Error::not_found(n)));
                    }
                }
                Err(e) => {
                    let e = sdk_error("GetParameters", &chunk.join(","), e);
                    for n in chunk {
                        out.insert(n.clone(), Err(same(&e, n)));
                    }
                }
            }
        }
        out
    }

    /// Names matching `find`, through DescribeParameters (tags and path filters server-side).
    pub(crate) async fn describe_names(&self, find: &FindRef) -> Result<Vec<String>> {
        let mut filters = Vec::new();
        if let Some(p) = find.path.as_deref().filter(|p| p.starts_with('/')) {
            filters.push(
                ParameterStringFilter::builder()
                    .key("Path")
                    .option("Recursive")
                    .values(p)
                    .build()
                    .map_err(|e| Error::generic(e.to_string()))?,
            );
        }
        for (k, v) in &find.tags {
            filters.push(
                ParameterStringFilter::builder()
                    .key(format!("tag:{k}"))
                    .option("Equals")
                    .values(v)
                    .build()
                    .map_err(|e| Error::generic(e.to_string()))?,
            );
        }
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .inner
                .client
                .describe_parameters()
                .set_parameter_filters((!filters.is_empty()).then(|| filters.clone()))
                .max_results(50)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeParameters", "", e))?;
            for p in out.parameters() {
                if let Some(n) = p.name() {
                    names.push(n.to_owned());
                }
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(names)
    }

    pub(crate) async fn put(
        &self,
        name: &str,
        value: &SecretValue,
        meta: &ParameterStoreMetadata,
        overwrite: bool,
    ) -> Result<()> {
        let s = value
            .expose_str()
            .ok_or_else(|| Error::Conversion("a parameter value must be valid UTF-8".into()))?;
        let type_name = meta.secret_type.as_deref().unwrap_or("String");
        let kind = ParameterType::from(type_name);
        if !matches!(type_name, "String" | "StringList" | "SecureString") {
            return Err(Error::invalid_config(
                "metadata.spec.secretType",
                "must be String, StringList or SecureString",
            ));
        }
        let mut req = self
            .inner
            .client
            .put_parameter()
            .name(name)
            .value(s)
            .overwrite(overwrite)
            .description(
                meta.description
                    .clone()
                    .unwrap_or_else(push::default_description),
            );
        if kind == ParameterType::SecureString {
            req = req.key_id(
                meta.kms_key_id
                    .clone()
                    .unwrap_or_else(|| "alias/aws/ssm".to_owned()),
            );
        }
        req = req.r#type(kind);
        if let Some(tier) = &meta.tier {
            if let Some(t) = tier.kind.as_deref() {
                req = req.tier(ParameterTier::from(t));
            }
            if let Some(p) = &tier.policies {
                req = req.policies(match p {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            }
        }
        if !overwrite {
            let tags = push::wanted_tags(&meta.tags)?
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::generic(e.to_string()))?;
            req = req.set_tags(Some(tags));
        }
        req.send()
            .await
            .map_err(|e| sdk_error("PutParameter", name, e))?;
        Ok(())
    }

    pub(crate) async fn sync_tags(
        &self,
        name: &str,
        current: &BTreeMap<String, String>,
        meta: &ParameterStoreMetadata,
    ) -> Result<()> {
        let wanted = push::wanted_tags(&meta.tags)?;
        let stale: Vec<String> = current
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        if !stale.is_empty() {
            self.inner
                .client
                .remove_tags_from_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(name)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| sdk_error("RemoveTagsFromResource", name, e))?;
        }
        let changed = wanted
            .iter()
            .filter(|(k, v)| current.get(*k) != Some(v))
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::generic(e.to_string()))?;
        if !changed.is_empty() {
            self.inner
                .client
                .add_tags_to_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(name)
                .set_tags(Some(changed))
                .send()
                .await
                .map_err(|e| sdk_error("AddTagsToResource", name, e))?;
        }
        Ok(())
    }
}
