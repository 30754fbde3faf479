//! One project's secrets: environments, folders, shared secrets with versions, and
//! Infisical's secret references (`${KEY}`, `${env.folder.KEY}`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::ApiError;

/// How deep references are followed (Infisical stops at a small depth too).
const MAX_REFERENCE_DEPTH: usize = 5;

/// One stored secret.
#[derive(Debug, Clone)]
struct Secret {
    id: u64,
    value: String,
    version: u64,
    created: String,
    updated: String,
}

/// The current time as Infisical writes it (`2026-01-02T03:04:05.000Z`).
fn now_iso() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (days, rem) = (secs / 86400, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A project.
#[derive(Debug)]
pub(crate) struct Project {
    pub(crate) id: String,
    pub(crate) slug: String,
    environments: BTreeSet<String>,
    /// `(environment, folder path)` of every folder (the root `/` of each environment too).
    folders: BTreeSet<(String, String)>,
    /// `(environment, folder path, key)` -> secret.
    secrets: BTreeMap<(String, String, String), Secret>,
    next_id: u64,
}

/// Normalises a folder path: leading `/`, no trailing `/`, no empty segments.
pub(crate) fn norm(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", segs.join("/"))
}

impl Project {
    /// A project with `environments`, each with its root folder.
    pub(crate) fn new(id: &str, slug: &str, environments: &[String]) -> Self {
        Self {
            id: id.to_owned(),
            slug: slug.to_owned(),
            environments: environments.iter().cloned().collect(),
            folders: environments
                .iter()
                .map(|e| (e.clone(), "/".to_owned()))
                .collect(),
            secrets: BTreeMap::new(),
            next_id: 0,
        }
    }

    fn env(&self, env: &str) -> Result<(), ApiError> {
        if self.environments.contains(env) {
            Ok(())
        } else {
            Err(ApiError::not_found(&format!(
                "Environment with slug '{env}' in project with ID {} not found",
                self.id
            )))
        }
    }

    fn folder(&self, env: &str, path: &str) -> Result<String, ApiError> {
        self.env(env)?;
        let path = norm(path);
        if self.folders.contains(&(env.to_owned(), path.clone())) {
            Ok(path)
        } else {
            Err(ApiError::not_found(&format!(
                "Folder with path '{path}' in environment with slug '{env}' not found"
            )))
        }
    }

    /// `POST /api/v1/folders`: creates `name` under `path` (parents must exist).
    pub(crate) fn create_folder(
        &mut self,
        env: &str,
        path: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        let parent = self.folder(env, path)?;
        if name.is_empty() || name.contains('/') {
            return Err(ApiError::bad_request("Invalid folder name"));
        }
        let full = norm(&format!("{parent}/{name}"));
        self.folders.insert((env.to_owned(), full));
        self.next_id += 1;
        Ok(
            json!({"folder": {"id": format!("fld-{}", self.next_id), "name": name,
            "environment": env, "parentId": null}}),
        )
    }

    fn render(&self, env: &str, path: &str, key: &str, s: &Secret, value: String) -> Value {
        json!({
            "id": format!("sec-{}", s.id), "_id": format!("sec-{}", s.id),
            "workspace": self.id, "environment": env, "version": s.version,
            "type": "shared", "secretKey": key, "secretValue": value,
            "secretComment": "", "secretPath": path, "tags": [], "secretMetadata": [],
            "secretValueHidden": false, "skipMultilineEncoding": true,
            "createdAt": s.created, "updatedAt": s.updated,
        })
    }

    /// Infisical's reference expansion of `value` read at `env` / `path`.
    fn expand(&self, env: &str, path: &str, value: &str, depth: usize) -> Result<String, ApiError> {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let reference = after[..end].trim();
            let parts: Vec<&str> = reference.split('.').collect();
            let (renv, rpath, rkey) = match parts.as_slice() {
                [key] => (env.to_owned(), path.to_owned(), (*key).to_owned()),
                [e, folders @ .., key] => {
                    ((*e).to_owned(), norm(&folders.join("/")), (*key).to_owned())
                }
                [] => unreachable_reference()?,
            };
            let target = self
                .secrets
                .get(&(renv.clone(), rpath.clone(), rkey.clone()))
                .ok_or_else(|| {
                    ApiError::not_found(&format!(
                        "Secret reference '{reference}' not found: no secret {rkey} in environment {renv} at {rpath}"
                    ))
                })?;
            if depth >= MAX_REFERENCE_DEPTH {
                return Err(ApiError::bad_request("Secret reference depth exceeded"));
            }
            out.push_str(&self.expand(&renv, &rpath, &target.value, depth + 1)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn value_of(
        &self,
        env: &str,
        path: &str,
        s: &Secret,
        expand: bool,
    ) -> Result<String, ApiError> {
        if expand {
            self.expand(env, path, &s.value, 0)
        } else {
            Ok(s.value.clone())
        }
    }

    /// `GET /api/v3/secrets/raw`: the secrets of a folder (and below it when `recursive`).
    pub(crate) fn list(
        &self,
        env: &str,
        path: &str,
        recursive: bool,
        expand: bool,
    ) -> Result<Value, ApiError> {
        let base = self.folder(env, path)?;
        let mut out = Vec::new();
        for ((e, p, k), s) in &self.secrets {
            let below = base == "/" || p == &base || p.starts_with(&format!("{base}/"));
            if e != env || !(p == &base || (recursive && below)) {
                continue;
            }
            let value = self.value_of(e, p, s, expand)?;
            out.push(self.render(e, p, k, s, value));
        }
        Ok(json!({"secrets": out, "imports": []}))
    }

    /// `GET /api/v3/secrets/raw/{key}`.
    pub(crate) fn get(
        &self,
        env: &str,
        path: &str,
        key: &str,
        expand: bool,
    ) -> Result<Value, ApiError> {
        let path = self.folder(env, path)?;
        let s = self
            .secrets
            .get(&(env.to_owned(), path.clone(), key.to_owned()))
            .ok_or_else(|| ApiError::not_found(&format!("Secret with name '{key}' not found")))?;
        let value = self.value_of(env, &path, s, expand)?;
        Ok(json!({"secret": self.render(env, &path, key, s, value)}))
    }

    /// `POST /api/v3/secrets/raw/{key}`.
    pub(crate) fn create(
        &mut self,
        env: &str,
        path: &str,
        key: &str,
        value: &str,
    ) -> Result<Value, ApiError> {
        let path = self.folder(env, path)?;
        let k = (env.to_owned(), path.clone(), key.to_owned());
        if self.secrets.contains_key(&k) {
            return Err(ApiError::bad_request(&format!(
                "Secret already exist: {key}"
            )));
        }
        self.next_id += 1;
        let now = now_iso();
        let s = Secret {
            id: self.next_id,
            value: value.to_owned(),
            version: 1,
            created: now.clone(),
            updated: now,
        };
        let out = self.render(env, &path, key, &s, s.value.clone());
        self.secrets.insert(k, s);
        Ok(json!({"secret": out}))
    }

    /// `PATCH /api/v3/secrets/raw/{key}`.
    pub(crate) fn update(
        &mut self,
        env: &str,
        path: &str,
        key: &str,
        value: &str,
    ) -> Result<Value, ApiError> {
        let path = self.folder(env, path)?;
        let s = self
            .secrets
            .get_mut(&(env.to_owned(), path.clone(), key.to_owned()))
            .ok_or_else(|| ApiError::not_found(&format!("Secret not found: {key}")))?;
        s.value = value.to_owned();
        s.version += 1;
        s.updated = now_iso();
        let s = s.clone();
        Ok(json!({"secret": self.render(env, &path, key, &s, s.value.clone())}))
    }

    /// `DELETE /api/v3/secrets/raw/{key}`.
    pub(crate) fn delete(&mut self, env: &str, path: &str, key: &str) -> Result<Value, ApiError> {
        let path = self.folder(env, path)?;
        let s = self
            .secrets
            .remove(&(env.to_owned(), path.clone(), key.to_owned()))
            .ok_or_else(|| ApiError::not_found(&format!("Secret not found: {key}")))?;
        Ok(json!({"secret": self.render(env, &path, key, &s, s.value.clone())}))
    }
}

fn unreachable_reference() -> Result<(String, String, String), ApiError> {
    Err(ApiError::bad_request("Empty secret reference"))
}
