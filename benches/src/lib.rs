//! Shared inputs of the eso-rs benchmarks (the corpus in `../shared/bench`).

use std::path::PathBuf;

use eso_core::SecretMap;

/// One template case of `../shared/bench/templates.json`.
#[derive(Debug)]
pub struct TemplateCase {
    /// Case name.
    pub name: String,
    /// Template text per target key.
    pub templates: Vec<(String, String)>,
    /// Input secret data.
    pub data: SecretMap,
    /// ESO's output per target key.
    pub expected: Vec<(String, String)>,
}

/// The directory of the shared benchmark corpus (`ESO_BENCH_DIR` overrides it).
pub fn corpus_dir() -> PathBuf {
    eso_core::testing::bench_dir()
}

fn pairs(v: &serde_json::Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Loads the template cases.
pub fn template_cases() -> Result<Vec<TemplateCase>, String> {
    let path = corpus_dir().join("templates.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let cases = doc["cases"]
        .as_array()
        .ok_or_else(|| format!("{}: no cases", path.display()))?;
    Ok(cases
        .iter()
        .map(|c| TemplateCase {
            name: c["name"].as_str().unwrap_or_default().to_owned(),
            templates: pairs(&c["templates"]),
            data: pairs(&c["data"])
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect(),
            expected: pairs(&c["expected"]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use eso_core::template::Template;

    use super::*;

    /// The benched templates produce exactly ESO's output.
    #[test]
    fn bench_cases_render_like_eso() {
        if eso_core::testing::bench_file("templates.json").is_none() {
            return;
        }
        let cases = template_cases().unwrap();
        assert_eq!(cases.len(), 5);
        for case in &cases {
            for ((key, src), (ekey, want)) in case.templates.iter().zip(&case.expected) {
                assert_eq!(key, ekey);
                let t = Template::parse(key, src).unwrap();
                let out = t.render_secret_map(&case.data).unwrap();
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    *want,
                    "{}/{key}",
                    case.name
                );
            }
        }
    }
}
