//! KV engine paths, built the way ESO builds them.

use eso_core::api::VaultKvVersion;
use eso_core::{Error, Result};

/// The KV mount and version of a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// `spec.provider.vault.path`, if set.
    pub(crate) mount: Option<String>,
    pub(crate) v2: bool,
}

impl Layout {
    pub(crate) fn new(mount: Option<&str>, version: VaultKvVersion) -> Self {
        Self {
            mount: mount
                .map(|m| m.trim_matches('/').to_owned())
                .filter(|m| !m.is_empty()),
            v2: version == VaultKvVersion::V2,
        }
    }

    /// The API path of a secret's data (ESO's `buildPath`).
    ///
    /// With a mount, a leading `<mount>/` (and for v2 `data/`) is stripped from the key, then
    /// `<mount>/data/<key>` (v2) or `<mount>/<key>` (v1) is built. Without a mount, v2 inserts
    /// `data` after the first segment unless the key already contains `/data/`.
    pub(crate) fn data_path(&self, key: &str) -> String {
        let key = key.trim_start_matches('/');
        if let Some(mount) = &self.mount {
            let mut rest = key;
            if let Some(r) = key.strip_prefix(&format!("{mount}/")) {
                rest = r;
                if self.v2
                    && let Some(r) = rest.strip_prefix("data/")
                {
                    rest = r;
                }
            }
            return if self.v2 {
                format!("{mount}/data/{rest}")
            } else {
                format!("{mount}/{rest}")
            };
        }
        if self.v2 && !key.contains("/data/") {
            return match key.split_once('/') {
                Some((first, rest)) => format!("{first}/data/{rest}"),
                None => format!("{key}/data"),
            };
        }
        key.to_owned()
    }

    /// The API path of a v2 secret's metadata (for v1: the secret itself, which holds its
    /// `custom_metadata` inline).
    ///
    /// Without a mount, ESO refuses v2 metadata paths unless the key contains `data`; here the
    /// metadata path is derived from the data path instead, so `secret/app` works too.
    pub(crate) fn metadata_path(&self, key: &str) -> String {
        if !self.v2 {
            return self.data_path(key);
        }
        let data = self.data_path(key);
        match data.split_once("/data/") {
            Some((mount, rest)) => format!("{mount}/metadata/{rest}"),
            None => data
                .strip_suffix("/data")
                .map_or_else(|| data.clone(), |m| format!("{m}/metadata")),
        }
    }

    /// The path to LIST for a find under `prefix` (`""` for the whole mount).
    pub(crate) fn list_path(&self, prefix: &str, field: &str) -> Result<String> {
        let prefix = prefix.trim_matches('/');
        let Some(mount) = &self.mount else {
            return Err(Error::invalid_config(
                format!("{field}.path"),
                "finding secrets (dataFrom.find) needs the KV mount in path",
            ));
        };
        let base = if self.v2 {
            format!("{mount}/metadata")
        } else {
            mount.clone()
        };
        Ok(if prefix.is_empty() {
            format!("{base}/")
        } else {
            format!("{base}/{prefix}/")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(mount: Option<&str>) -> Layout {
        Layout::new(mount, VaultKvVersion::V2)
    }
    fn v1(mount: Option<&str>) -> Layout {
        Layout::new(mount, VaultKvVersion::V1)
    }

    #[test]
    fn build_path_as_eso() {
        // The cases documented on ESO's buildPath.
        assert_eq!(
            v2(Some("secret/path")).data_path("foo"),
            "secret/path/data/foo"
        );
        assert_eq!(v1(Some("secret/path")).data_path("foo"), "secret/path/foo");
        assert_eq!(
            v2(Some("secret/path")).data_path("secret/path/foo"),
            "secret/path/data/foo"
        );
        assert_eq!(
            v2(Some("secret/path")).data_path("secret/path/data/foo"),
            "secret/path/data/foo"
        );
        assert_eq!(
            v1(Some("secret/path")).data_path("secret/path/foo"),
            "secret/path/foo"
        );
        assert_eq!(
            v2(None).data_path("secret/path/foo"),
            "secret/data/path/foo"
        );
        assert_eq!(
            v2(None).data_path("secret/path/data/foo"),
            "secret/path/data/foo"
        );
        assert_eq!(v1(None).data_path("secret/path/foo"), "secret/path/foo");
        // Building twice is stable.
        let l = v2(Some("secret"));
        assert_eq!(l.data_path(&l.data_path("a/b")), "secret/data/a/b");
    }

    #[test]
    fn metadata_and_list_paths() {
        assert_eq!(
            v2(Some("secret")).metadata_path("a/b"),
            "secret/metadata/a/b"
        );
        assert_eq!(v2(None).metadata_path("secret/a"), "secret/metadata/a");
        assert_eq!(v1(Some("kv1")).metadata_path("a"), "kv1/a");
        assert_eq!(
            v2(Some("secret")).list_path("", "f").unwrap(),
            "secret/metadata/"
        );
        assert_eq!(
            v2(Some("secret")).list_path("team/", "f").unwrap(),
            "secret/metadata/team/"
        );
        assert_eq!(v1(Some("kv1")).list_path("team", "f").unwrap(), "kv1/team/");
        assert_eq!(
            v2(None)
                .list_path("x", "spec.provider.vault")
                .unwrap_err()
                .to_string(),
            "spec.provider.vault.path: finding secrets (dataFrom.find) needs the KV mount in path"
        );
    }
}
