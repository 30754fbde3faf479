//! The shared provider conformance suite.
//!
//! [`run_conformance`] drives one [`Provider`] through the contract documented on the trait:
//! validate, push (whole value, property merge, idempotency), get (whole value, exact-key
//! property, JSON-path property, versions, metadata), `NotFound` semantics, `get_secret_map`,
//! find by name regexp / path / tags, `secret_exists`, ownership (a foreign secret is
//! neither overwritten nor deleted: [`Error::NotManaged`], value unchanged) and delete
//! (property delete, missing = ok). Checks that need a capability the provider does not declare are
//! skipped and listed as such in the report.
//!
//! The suite seeds its data through `push_secret`, under a key prefix you choose (use
//! [`unique_prefix`] so concurrent runs against one backend do not collide), and deletes what
//! it wrote at the end. It does not stop at the first failed check: it runs them all and
//! returns a [`ConformanceReport`]; [`ConformanceReport::assert_passed`] panics with the list
//! of failed checks, which is the intended use in a `#[test]`.
//!
//! Failure messages may quote the suite's own fixture values (synthetic, never real secrets);
//! they never print values the suite did not write itself unless they are short UTF-8 text.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::provider::{
    Capabilities, FindRef, MANAGED_BY_TAG, MANAGED_BY_VALUE, MetadataPolicy, Provider, PushRef,
    PushValue, RemoteRef,
};
use crate::{Error, SecretMap, SecretValue};

/// What the suite may assume about the provider under test, and where it writes.
///
/// # Example
///
/// ```
/// use eso_core::testing::conformance::{ConformanceOptions, unique_prefix};
///
/// let opts = ConformanceOptions::new(unique_prefix("conformance"))
///     .with_versions("1", "2")
///     .with_unowned_key("legacy/not-ours");
/// assert!(opts.prefix().starts_with("conformance-"));
/// ```
#[derive(Clone, Debug)]
pub struct ConformanceOptions {
    prefix: String,
    versions: Option<(String, String)>,
    unowned_key: Option<String>,
    marker: (String, String),
    find_by_tags: bool,
    separator: String,
    flat: bool,
}

impl ConformanceOptions {
    /// Options writing every key under `prefix/` (no trailing slash needed).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into().trim_end_matches('/').to_owned(),
            versions: None,
            unowned_key: None,
            marker: (MANAGED_BY_TAG.to_owned(), MANAGED_BY_VALUE.to_owned()),
            find_by_tags: true,
            separator: "/".to_owned(),
            flat: false,
        }
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Enables the version checks: `first` and `second` are the names the backend gives the
    /// first and second version of a new secret (`"1"`, `"2"` for Vault KV v2 and `InMemory`).
    #[must_use]
    pub fn with_versions(mut self, first: impl Into<String>, second: impl Into<String>) -> Self {
        self.versions = Some((first.into(), second.into()));
        self
    }

    /// Enables the ownership checks: `key` names an existing secret that was written without
    /// the provider's ownership marker (seed it through the backend's own API). Every push
    /// to it (whole value or a property) and every delete of it (whole or a property) must
    /// fail with [`Error::NotManaged`], and its value must read the same afterwards; any
    /// other answer fails the run.
    #[must_use]
    pub fn with_unowned_key(mut self, key: impl Into<String>) -> Self {
        self.unowned_key = Some(key.into());
        self
    }

    /// The tag (metadata entry) pushes set to mark ownership; default
    /// `managed-by: external-secrets`. Used by the metadata and find-by-tags checks.
    #[must_use]
    pub fn with_marker_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.marker = (key.into(), value.into());
        self
    }

    /// Joins the prefix and the suite's key names with `separator` instead of `/` (for
    /// backends whose names cannot hold a slash, such as Kubernetes Secrets: `-`).
    #[must_use]
    pub fn with_separator(mut self, separator: impl Into<String>) -> Self {
        self.separator = separator.into();
        self
    }

    /// For backends whose secrets are flat maps of strings (Kubernetes Secrets): the fixture
    /// document's nested object is pushed as a JSON string, and reads of it (whole value or
    /// JSON path) expect what such a backend gives back.
    #[must_use]
    pub fn with_flat_values(mut self) -> Self {
        self.flat = true;
        self
    }

    /// Skips the find-by-tags check even if the provider declares it (e.g. a backend whose
    /// pushes do not set searchable tags).
    #[must_use]
    pub fn without_find_by_tags(mut self) -> Self {
        self.find_by_tags = false;
        self
    }
}

/// A prefix unique to this process and call: `base-<unix nanos>-<counter>`.
pub fn unique_prefix(base: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{base}-{nanos}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The outcome of a conformance run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConformanceReport {
    /// Names of the checks that passed.
    pub passed: Vec<String>,
    /// Checks that did not run, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Checks that failed, with what went wrong.
    pub failed: Vec<(String, String)>,
}

impl ConformanceReport {
    /// True when no check failed.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty()
    }

    /// Panics with the list of failed checks, if any (for use in tests).
    ///
    /// # Panics
    ///
    /// When at least one check failed; the message names every failed check.
    #[track_caller]
    pub fn assert_passed(&self) {
        assert!(self.is_success(), "provider conformance failed:\n{self}");
    }
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed.len(),
            self.failed.len(),
            self.skipped.len()
        )?;
        for (name, why) in &self.failed {
            writeln!(f, "  FAILED  {name}: {why}")?;
        }
        for (name, why) in &self.skipped {
            writeln!(f, "  skipped {name}: {why}")?;
        }
        Ok(())
    }
}

type Check = Result<(), String>;

struct Run<'a> {
    p: &'a dyn Provider,
    caps: Capabilities,
    report: ConformanceReport,
}

impl Run<'_> {
    async fn check(&mut self, name: &str, f: impl Future<Output = Check>) {
        match f.await {
            Ok(()) => self.report.passed.push(name.to_owned()),
            Err(e) => self.report.failed.push((name.to_owned(), e)),
        }
    }

    fn skip(&mut self, name: &str, why: &str) {
        self.report.skipped.push((name.to_owned(), why.to_owned()));
    }
}

fn show(v: &[u8]) -> String {
    match std::str::from_utf8(v) {
        Ok(s) if s.len() <= 200 => format!("{s:?}"),
        _ => format!("<{} bytes>", v.len()),
    }
}

fn err(ctx: &str, e: &Error) -> String {
    format!("{ctx}: unexpected error: {e}")
}

async fn get_bytes(p: &dyn Provider, r: &RemoteRef) -> Result<Vec<u8>, String> {
    p.get_secret(r)
        .await
        .map(|v| v.expose().to_vec())
        .map_err(|e| err(&format!("get_secret({r})"), &e))
}

async fn expect_value(p: &dyn Provider, r: &RemoteRef, want: &str) -> Check {
    let got = get_bytes(p, r).await?;
    if got == want.as_bytes() {
        Ok(())
    } else {
        Err(format!(
            "get_secret({r}): expected {want:?}, got {}",
            show(&got)
        ))
    }
}

async fn expect_json(p: &dyn Provider, r: &RemoteRef, want: &Value) -> Check {
    let got = get_bytes(p, r).await?;
    json_eq(&format!("get_secret({r})"), &got, want)
}

fn json_eq(ctx: &str, got: &[u8], want: &Value) -> Check {
    match serde_json::from_slice::<Value>(got) {
        Ok(v) if &v == want => Ok(()),
        Ok(_) => Err(format!("{ctx}: expected JSON {want}, got {}", show(got))),
        Err(_) => Err(format!(
            "{ctx}: expected JSON {want}, got non-JSON {}",
            show(got)
        )),
    }
}

async fn expect_not_found(p: &dyn Provider, r: &RemoteRef) -> Check {
    match p.get_secret(r).await {
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(format!(
            "get_secret({r}): expected NotFound, got error: {e}"
        )),
        Ok(v) => Err(format!(
            "get_secret({r}): expected NotFound, got a value {}",
            show(v.expose())
        )),
    }
}

async fn expect_exists(p: &dyn Provider, r: &PushRef, want: bool) -> Check {
    match p.secret_exists(r).await {
        Ok(got) if got == want => Ok(()),
        Ok(got) => Err(format!(
            "secret_exists({}{}): expected {want}, got {got}",
            r.remote_key,
            r.property().map(|p| format!("#{p}")).unwrap_or_default()
        )),
        Err(e) => Err(err(&format!("secret_exists({})", r.remote_key), &e)),
    }
}

async fn push(p: &dyn Provider, value: PushValue, r: &PushRef) -> Check {
    p.push_secret(&value, r)
        .await
        .map_err(|e| err(&format!("push_secret({})", r.remote_key), &e))
}

/// Runs every check the provider's capabilities allow, and returns the report.
///
/// The provider must be writable for the read checks to run (the suite seeds its fixtures by
/// pushing them); for a read-only provider only `validate` and the `NotFound` checks run.
pub async fn run_conformance(
    provider: &dyn Provider,
    opts: &ConformanceOptions,
) -> ConformanceReport {
    let caps = provider.capabilities();
    let mut run = Run {
        p: provider,
        caps,
        report: ConformanceReport::default(),
    };
    let p = provider;
    let sep = &opts.separator;
    let keys = Keys {
        doc: format!("{}{sep}doc", opts.prefix),
        map: format!("{}{sep}map", opts.prefix),
        missing: format!("{}{sep}missing", opts.prefix),
    };
    let nested = json!({"k": "v", "list": ["a", "b"]});
    let doc = if opts.flat {
        json!({"user": "u1", "nested": nested.to_string(), "dot.key": "d"})
    } else {
        json!({"user": "u1", "nested": nested, "dot.key": "d"})
    };

    run.check("validate", async {
        p.validate()
            .await
            .map(|_| ())
            .map_err(|e| err("validate", &e))
    })
    .await;

    if run.caps.get {
        run.check(
            "get: missing secret is NotFound",
            expect_not_found(p, &RemoteRef::new(&keys.missing)),
        )
        .await;
    }
    if run.caps.get_map {
        run.check("get_secret_map: missing secret is NotFound", async {
            match p.get_secret_map(&RemoteRef::new(&keys.missing)).await {
                Err(e) if e.is_not_found() => Ok(()),
                Err(e) => Err(format!("expected NotFound, got error: {e}")),
                Ok(m) => Err(format!("expected NotFound, got {} keys", m.len())),
            }
        })
        .await;
    }

    if !run.caps.push {
        run.skip(
            "push, read-back, find, exists, delete",
            "the provider does not declare push; the suite seeds its fixtures by pushing",
        );
        return run.report;
    }

    check_pushes(&mut run, opts, &keys, &doc).await;
    check_find(&mut run, opts, &keys.doc, &keys.map).await;
    match &opts.unowned_key {
        Some(unowned) => check_ownership(&mut run, unowned).await,
        None => run.skip("ownership", "no unowned key in the options"),
    }
    check_deletes(&mut run, &keys).await;
    run.report
}

/// The keys one run writes and reads.
struct Keys {
    doc: String,
    map: String,
    missing: String,
}

/// Pushes the fixtures and reads them back: whole values, properties, versions, maps,
/// `secret_exists` and metadata.
async fn check_pushes(run: &mut Run<'_>, opts: &ConformanceOptions, keys: &Keys, doc: &Value) {
    let p = run.p;
    let versions = run.caps.versions;
    let get_map = run.caps.get_map;
    run.check(
        "push: whole JSON value",
        push(
            p,
            PushValue::Single(SecretValue::from(doc.to_string())),
            &PushRef::new(&keys.doc),
        ),
    )
    .await;
    check_reads(run, &keys.doc, doc).await;

    run.check("push: same value again is a no-op", async {
        push(
            p,
            PushValue::Single(SecretValue::from(doc.to_string())),
            &PushRef::new(&keys.doc),
        )
        .await?;
        expect_json(p, &RemoteRef::new(&keys.doc), doc).await?;
        if versions && let Some((_, second)) = &opts.versions {
            expect_not_found(p, &RemoteRef::new(&keys.doc).with_version(second))
                .await
                .map_err(|e| format!("an identical push created a new version: {e}"))?;
        }
        Ok(())
    })
    .await;

    run.check("push: property merges into the existing value", async {
        let r = PushRef::new(&keys.doc).with_property("pass");
        push(p, PushValue::Single(SecretValue::from("p2")), &r).await?;
        expect_value(p, &RemoteRef::new(&keys.doc).with_property("pass"), "p2").await?;
        expect_value(p, &RemoteRef::new(&keys.doc).with_property("user"), "u1").await?;
        expect_value(p, &RemoteRef::new(&keys.doc).with_property("nested.k"), "v").await?;
        let r = PushRef::new(&keys.doc).with_property("user");
        push(p, PushValue::Single(SecretValue::from("u2")), &r).await?;
        push(p, PushValue::Single(SecretValue::from("u2")), &r).await?;
        expect_value(p, &RemoteRef::new(&keys.doc).with_property("user"), "u2").await?;
        expect_value(p, &RemoteRef::new(&keys.doc).with_property("pass"), "p2").await
    })
    .await;

    match (&opts.versions, run.caps.versions) {
        (Some((first, _)), true) => {
            run.check("get: older version", async {
                let r = RemoteRef::new(&keys.doc).with_version(first);
                expect_json(p, &r, doc).await?;
                expect_value(p, &r.clone().with_property("user"), "u1").await
            })
            .await;
        }
        (None, true) => run.skip("get: older version", "no version names in the options"),
        (_, false) => run.skip("get: older version", "provider does not declare versions"),
    }

    let map: SecretMap = [("alpha", "1"), ("beta", "two")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), SecretValue::from(v)))
        .collect();
    run.check("push: whole Secret (map) and get_secret_map", async {
        push(p, PushValue::Map(map.clone()), &PushRef::new(&keys.map)).await?;
        if get_map {
            let got = p
                .get_secret_map(&RemoteRef::new(&keys.map))
                .await
                .map_err(|e| err("get_secret_map", &e))?;
            if got != map {
                return Err(format!(
                    "get_secret_map({}): expected keys {:?}, got keys {:?} (or other values)",
                    keys.map,
                    map.keys().collect::<Vec<_>>(),
                    got.keys().collect::<Vec<_>>()
                ));
            }
        }
        Ok(())
    })
    .await;

    run.check("secret_exists", async {
        expect_exists(p, &PushRef::new(&keys.doc), true).await?;
        expect_exists(p, &PushRef::new(&keys.doc).with_property("pass"), true).await?;
        expect_exists(p, &PushRef::new(&keys.doc).with_property("nope"), false).await?;
        expect_exists(p, &PushRef::new(&keys.missing), false).await
    })
    .await;

    if run.caps.metadata {
        run.check("get: metadata carries the ownership marker", async {
            let r = RemoteRef::new(&keys.doc)
                .with_metadata_policy(MetadataPolicy::Fetch)
                .with_property(&opts.marker.0);
            expect_value(p, &r, &opts.marker.1).await
        })
        .await;
    } else {
        run.skip(
            "get: metadata carries the ownership marker",
            "provider does not declare metadata",
        );
    }
}

/// Deletes a property, the whole secret (twice) and a missing one, then cleans up.
async fn check_deletes(run: &mut Run<'_>, keys: &Keys) {
    let p = run.p;
    run.check("delete: property only", async {
        p.delete_secret(&PushRef::new(&keys.doc).with_property("pass"))
            .await
            .map_err(|e| err("delete_secret", &e))?;
        expect_exists(p, &PushRef::new(&keys.doc).with_property("pass"), false).await?;
        expect_value(p, &RemoteRef::new(&keys.doc).with_property("user"), "u2").await
    })
    .await;

    run.check(
        "delete: whole secret, then again, then a missing one",
        async {
            p.delete_secret(&PushRef::new(&keys.doc))
                .await
                .map_err(|e| err("delete_secret", &e))?;
            expect_exists(p, &PushRef::new(&keys.doc), false).await?;
            expect_not_found(p, &RemoteRef::new(&keys.doc)).await?;
            p.delete_secret(&PushRef::new(&keys.doc))
                .await
                .map_err(|e| err("second delete_secret", &e))?;
            p.delete_secret(&PushRef::new(&keys.missing))
                .await
                .map_err(|e| err("delete_secret of a missing secret", &e))
        },
    )
    .await;

    // Cleanup; failures here are reported as their own check.
    run.check("cleanup", async {
        p.delete_secret(&PushRef::new(&keys.map))
            .await
            .map_err(|e| err("delete_secret", &e))?;
        expect_exists(p, &PushRef::new(&keys.map), false).await
    })
    .await;
}

/// A foreign secret (no ownership marker) is neither overwritten nor deleted: every push and
/// delete of it answers [`Error::NotManaged`], and its value stays what it was.
async fn check_ownership(run: &mut Run<'_>, unowned: &str) {
    let p = run.p;
    let before = match get_bytes(p, &RemoteRef::new(unowned)).await {
        Ok(v) => v,
        Err(e) => {
            run.report
                .failed
                .push(("ownership: read the unowned secret".to_owned(), e));
            return;
        }
    };
    let whole = PushRef::new(unowned);
    let property = PushRef::new(unowned).with_property("eso-conformance");
    run.check(
        "push: refuses a secret it does not own (NotManaged)",
        async {
            for r in [&whole, &property] {
                let got = p
                    .push_secret(&PushValue::Single(SecretValue::from("x")), r)
                    .await;
                expect_not_managed("push_secret", r, got)?;
            }
            expect_unchanged(p, unowned, &before).await
        },
    )
    .await;
    run.check(
        "delete: refuses a secret it does not own (NotManaged)",
        async {
            for r in [&property, &whole] {
                expect_not_managed("delete_secret", r, p.delete_secret(r).await)?;
            }
            expect_unchanged(p, unowned, &before).await
        },
    )
    .await;
}

fn expect_not_managed(op: &str, r: &PushRef, got: crate::Result<()>) -> Check {
    let at = format!(
        "{op}({}{}) of a secret without the ownership marker",
        r.remote_key,
        r.property().map(|p| format!("#{p}")).unwrap_or_default()
    );
    match got {
        Err(Error::NotManaged { .. }) => Ok(()),
        Err(e) => Err(format!("{at}: expected NotManaged, got error: {e}")),
        Ok(()) => Err(format!("{at}: expected NotManaged, got Ok")),
    }
}

async fn expect_unchanged(p: &dyn Provider, key: &str, before: &[u8]) -> Check {
    let now = get_bytes(p, &RemoteRef::new(key)).await?;
    if now == before {
        Ok(())
    } else {
        Err(format!(
            "the unowned secret {key:?} changed: was {}, now {}",
            show(before),
            show(&now)
        ))
    }
}

async fn check_reads(run: &mut Run<'_>, key: &str, doc: &Value) {
    let p = run.p;
    run.check(
        "get: whole value",
        expect_json(p, &RemoteRef::new(key), doc),
    )
    .await;
    run.check(
        "get: property by exact key (before JSON path)",
        expect_value(p, &RemoteRef::new(key).with_property("dot.key"), "d"),
    )
    .await;
    run.check("get: property by JSON path", async {
        expect_value(p, &RemoteRef::new(key).with_property("nested.k"), "v").await?;
        expect_value(p, &RemoteRef::new(key).with_property("nested.list.1"), "b").await?;
        expect_json(
            p,
            &RemoteRef::new(key).with_property("nested"),
            &json!({"k": "v", "list": ["a", "b"]}),
        )
        .await
    })
    .await;
    run.check(
        "get: missing property is NotFound",
        expect_not_found(p, &RemoteRef::new(key).with_property("no-such-property")),
    )
    .await;
    if run.caps.get_map {
        run.check("get_secret_map: top-level keys", async {
            let m = p
                .get_secret_map(&RemoteRef::new(key))
                .await
                .map_err(|e| err("get_secret_map", &e))?;
            let keys: Vec<_> = m.keys().map(String::as_str).collect();
            if keys != ["dot.key", "nested", "user"] {
                return Err(format!("unexpected keys {keys:?}"));
            }
            if m["user"].expose() != b"u1" {
                return Err("value of `user` differs".to_owned());
            }
            json_eq(
                "map value `nested`",
                m["nested"].expose(),
                &json!({"k": "v", "list": ["a", "b"]}),
            )
        })
        .await;
        run.check("get_secret_map: of a property", async {
            let m = p
                .get_secret_map(&RemoteRef::new(key).with_property("nested"))
                .await
                .map_err(|e| err("get_secret_map", &e))?;
            if m.get("k").map(SecretValue::expose) == Some(b"v".as_slice()) && m.len() == 2 {
                Ok(())
            } else {
                Err(format!(
                    "unexpected keys {:?}",
                    m.keys().collect::<Vec<_>>()
                ))
            }
        })
        .await;
    }
}

fn check_found(
    what: &str,
    got: &SecretMap,
    expected: &BTreeMap<String, Value>,
    prefix: &str,
) -> Check {
    for (k, want) in expected {
        let v = got
            .get(k)
            .ok_or_else(|| format!("{what}: key {k:?} missing; got {:?}", got.keys()))?;
        json_eq(&format!("{what}: value of {k:?}"), v.expose(), want)?;
    }
    if let Some(stray) = got.keys().find(|k| !k.starts_with(prefix)) {
        return Err(format!("{what}: key {stray:?} is outside {prefix:?}"));
    }
    Ok(())
}

async fn check_find(run: &mut Run<'_>, opts: &ConformanceOptions, doc_key: &str, map_key: &str) {
    let p = run.p;
    let mut expected = BTreeMap::new();
    let doc = match p.get_secret(&RemoteRef::new(doc_key)).await {
        Ok(v) => serde_json::from_slice::<Value>(v.expose()).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    expected.insert(doc_key.to_owned(), doc);
    expected.insert(map_key.to_owned(), json!({"alpha": "1", "beta": "two"}));
    let prefix = format!("{}{}", opts.prefix, opts.separator);

    if run.caps.find_by_name {
        run.check("find: by name regexp", async {
            let re = format!("^{}", regex::escape(&prefix));
            let find = FindRef::default()
                .with_name_regexp(&re)
                .map_err(|e| err("regexp", &e))?;
            let got = p
                .get_all_secrets(&find)
                .await
                .map_err(|e| err("get_all_secrets", &e))?;
            check_found("find by name", &got, &expected, &prefix)
        })
        .await;
        run.check("find: by path", async {
            let find = FindRef::default().with_path(&opts.prefix);
            let got = p
                .get_all_secrets(&find)
                .await
                .map_err(|e| err("get_all_secrets", &e))?;
            check_found("find by path", &got, &expected, &prefix)?;
            let find = FindRef::default()
                .with_path(&opts.prefix)
                .with_name_regexp(&format!("{}map$", regex::escape(&opts.separator)))
                .map_err(|e| err("regexp", &e))?;
            let got = p
                .get_all_secrets(&find)
                .await
                .map_err(|e| err("get_all_secrets", &e))?;
            if got.keys().collect::<Vec<_>>() == [map_key] {
                Ok(())
            } else {
                Err(format!(
                    "find by path and name: expected only {map_key:?}, got {:?}",
                    got.keys().collect::<Vec<_>>()
                ))
            }
        })
        .await;
    } else {
        run.skip(
            "find: by name and path",
            "provider does not declare find_by_name",
        );
    }
    if run.caps.find_by_tags && opts.find_by_tags {
        run.check("find: by tags", async {
            let find = FindRef::default()
                .with_path(&opts.prefix)
                .with_tag(&opts.marker.0, &opts.marker.1);
            let got = p
                .get_all_secrets(&find)
                .await
                .map_err(|e| err("get_all_secrets", &e))?;
            check_found("find by tags", &got, &expected, &prefix)?;
            if let Some(unowned) = &opts.unowned_key
                && got.contains_key(unowned)
            {
                return Err(format!("find by tags returned the unowned {unowned:?}"));
            }
            let find = FindRef::default()
                .with_path(&opts.prefix)
                .with_tag(&opts.marker.0, "someone-else");
            let got = p
                .get_all_secrets(&find)
                .await
                .map_err(|e| err("get_all_secrets", &e))?;
            if got.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "find by a tag nobody has returned {:?}",
                    got.keys().collect::<Vec<_>>()
                ))
            }
        })
        .await;
    } else {
        run.skip(
            "find: by tags",
            "provider does not declare find_by_tags (or disabled)",
        );
    }
}
