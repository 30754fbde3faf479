//! A secret value planted in every input that can carry one (the data file of
//! `esoctl template`, a Secret in a manifest, a state file), broken in every way that makes
//! a parser complain: the error names the file (and line and column where it can) and the
//! value never reaches stdout or stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CANARY: &str = "c4n4ry-Pw9xQ";
/// Base64 of a value with the canary in it, for `data:` fields.
const CANARY_B64: &str = "YzRuNHJ5LVB3OXhR";

fn esoctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esoctl"))
        .args(args)
        .output()
        .expect("run esoctl")
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let d = std::env::temp_dir().join(format!("esoctl-canary-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }
    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Fails unless the run failed cleanly, named `file` and kept the canary to itself.
fn assert_clean_failure(what: &str, out: &Output, file: &Path) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{what}: should fail: {stdout} {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what} panicked: {stderr}");
    assert!(
        !stderr.contains("symbol 33") && !stdout.contains("symbol 33"),
        "{what} named a byte of the value: {stderr}"
    );
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains(CANARY) && !text.contains("Pw9xQ") && !text.contains(CANARY_B64),
            "{what} leaked the secret: stdout={stdout} stderr={stderr}"
        );
    }
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        stderr.contains(name) || stdout.contains(name),
        "{what}: the error should name {name}: stdout={stdout} stderr={stderr}"
    );
}

/// Ways to break a YAML document around a secret value.
fn broken_yaml(key_line: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "unclosed quote",
            format!("{key_line} \"{CANARY}\n  other: x\n"),
        ),
        (
            "bad indentation",
            format!("{key_line} {CANARY}\n   other: {CANARY}\n"),
        ),
        ("unclosed flow", format!("{key_line} [{CANARY}, \n")),
        ("tab indentation", format!("{key_line}\n\t{CANARY}: 1\n")),
        (
            "mapping in scalar",
            format!("{key_line} {CANARY}: {CANARY}: x\n"),
        ),
        ("stray quote", format!("{key_line} '{CANARY}''x\n")),
        ("unknown anchor", format!("{key_line} *{CANARY}\n")),
    ]
}

const OBJECT: &str = "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: t, namespace: default}\n\
spec:\n  target:\n    template:\n      engineVersion: v2\n      templateFrom: [{secret: {name: tf, items: [{key: t}]}}]\n      \
data: {out: \"{{ .password }}\"}\n";

fn template_run(object: &str, data: &str, from_secret: &str) -> Output {
    esoctl(&[
        "template",
        "--source-templated-object",
        object,
        "--source-secret-data-file",
        data,
        "--template-from-secret",
        from_secret,
    ])
}

#[test]
fn template_secret_inputs_errors_never_echo_them() {
    let dir = Dir::new("template");
    let object = dir.write("object.yaml", OBJECT);
    let good_data = dir.write("good-data.yaml", "password: aGk=\n");
    let good_secret = dir.write("good-secret.yaml", "data:\n  t: aGk=\n");
    let mut cases = broken_yaml("password:");
    cases.push(("not base64", format!("password: \"{CANARY}!!\"\n")));
    cases.push(("not a string", format!("password: [\"{CANARY}\"]\n")));
    for (what, text) in &cases {
        // The data file...
        let data = dir.write("data.yaml", text);
        let out = template_run(&object, &data, &good_secret);
        assert_clean_failure(&format!("data file: {what}"), &out, Path::new(&data));
        // ... and the templateFrom Secret.
        let secret = dir.write(
            "from-secret.yaml",
            &format!("data:\n  {}", text.replace('\n', "\n  ")),
        );
        let out = template_run(&object, &good_data, &secret);
        assert_clean_failure(
            &format!("templateFrom secret: {what}"),
            &out,
            Path::new(&secret),
        );
    }
    // A line and column are given for syntax errors.
    let data = dir.write("data.yaml", &format!("password: \"{CANARY}\n"));
    let out = template_run(&object, &data, &good_secret);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line "), "{stderr}");
}

const STORE: &str = "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: mem, namespace: default}\nspec:\n  provider:\n    fake:\n      data: []\n---\n";

#[test]
fn secrets_in_manifests_never_echo_their_data() {
    let dir = Dir::new("manifests");
    let head = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: default}\n";
    let mut cases = broken_yaml("stringData:\n  password:");
    cases.push((
        "data not base64",
        format!("data:\n  password: \"{CANARY}!!\"\n"),
    ));
    cases.push((
        "data not a string",
        format!("data:\n  password: {{nested: {CANARY_B64}}}\n"),
    ));
    cases.push((
        "stringData not a map",
        format!("stringData: [\"{CANARY}\"]\n"),
    ));
    let syntax_errors = cases.len() - 3;
    for (i, (what, body)) in cases.into_iter().enumerate() {
        let file = dir.write("secret.yaml", &format!("{STORE}{head}{body}"));
        let out = esoctl(&["reconcile", "-f", &file]);
        assert_clean_failure(&format!("reconcile ({what})"), &out, Path::new(&file));
        // `validate` checks ESO's kinds only; it still has to parse the YAML around them.
        if i < syntax_errors {
            let out = esoctl(&["validate", &file]);
            assert_clean_failure(&format!("validate ({what})"), &out, Path::new(&file));
        }
    }
}

#[test]
fn a_broken_state_file_never_echoes_it() {
    let dir = Dir::new("state");
    let manifests = dir.write("m.yaml", STORE);
    let state = dir.0.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let file = state.join("state.json");
    for text in [
        format!(r#"{{"version": 1, "stores": {{"default/mem": {{"secrets": [{{"key": "{CANARY}"#),
        format!(r#"{{"version": "{CANARY}"}}"#),
        format!(r#"{{"version": 1, "objects": "{CANARY}"]"#),
    ] {
        std::fs::write(&file, &text).unwrap();
        let out = esoctl(&[
            "reconcile",
            "-f",
            &manifests,
            "--state",
            state.to_str().unwrap(),
        ]);
        assert_clean_failure("state file", &out, &file);
    }
}
