//! `toYaml` / esoctl output against `sigs.k8s.io/yaml` v1.6.0 (yaml.v2). Every expected text
//! below was produced by real Go: a harness outside the repository that reads each JSON input
//! and prints `yaml.Marshal` of it (Go 1.26, sigs.k8s.io/yaml v1.6.0, ESO v2.9.0's pin).

use crate::template::value::Value;

/// (JSON input, Go's `yaml.Marshal` output)
const CASES: &[(&str, &str)] = &[
    ("\"abc\"", "abc\n"),
    ("\"\"", "\"\"\n"),
    ("\"true\"", "\"true\"\n"),
    ("\"123\"", "\"123\"\n"),
    ("\"yes\"", "\"yes\"\n"),
    ("\"2024-01-02\"", "\"2024-01-02\"\n"),
    ("\"1:20\"", "\"1:20\"\n"),
    ("\"0x1F\"", "\"0x1F\"\n"),
    ("\"a: b\"", "'a: b'\n"),
    ("\"- x\"", "'- x'\n"),
    ("\"x\\n\"", "|\n  x\n"),
    ("\"x\\n\\n\"", "|+\n  x\n\n"),
    ("\"  lead\\nx\"", "|2-\n    lead\n  x\n"),
    ("\"a\\tb\"", "\"a\\tb\"\n"),
    ("\"a\\tb\\nc\"", "\"a\\tb\\nc\"\n"),
    ("\"a \\nb\"", "\"a \\nb\"\n"),
    ("\"emoji \\ud83d\\ude00\"", "\"emoji \\U0001F600\"\n"),
    ("\"zw\\u200bsp\"", "zw\u{200b}sp\n"),
    ("\"nb\\u00a0sp\"", "nb\u{a0}sp\n"),
    (
        "\"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\"",
        "word word word word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word\n",
    ),
    (
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
    ),
    (
        "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yyyyyyyyyy\"",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yyyyyyyyyy\n",
    ),
    ("{\"a\": \"x\\n\\n\"}", "a: |+\n  x\n\n"),
    (
        "{\"k\": \"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word\"}",
        "k: word word word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word\n",
    ),
    (
        "{\"key10\": 1, \"key2\": 2, \"a_b\": 3, \"aB\": 4, \"a-b\": 5, \"A\": 6, \"1\": 7}",
        "\"1\": 7\nA: 6\na-b: 5\na_b: 3\naB: 4\nkey2: 2\nkey10: 1\n",
    ),
    (
        "{\"l\": [], \"m\": {}, \"n\": null, \"f\": 1.5, \"g\": 1e+21, \"h\": 1e+20, \"i\": 1500000.5, \"j\": 1000000, \"neg\": -0.0}",
        "f: 1.5\ng: 1e+21\nh: 1e+20\ni: 1.5000005e+06\nj: 1000000\nl: []\nm: {}\n\"n\": null\nneg: 0\n",
    ),
    (
        "[{\"a\": 1, \"b\": [1, 2]}, [1, [2]], \"s\"]",
        "- a: 1\n  b:\n  - 1\n  - 2\n- - 1\n  - - 2\n- s\n",
    ),
    (
        "{\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\": \"v\"}",
        "? kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\n: v\n",
    ),
    ("{\"multi\\nkey\": \"v\"}", "? |-\n  multi\n  key\n: v\n"),
    ("{\"\": \"\"}", "\"\": \"\"\n"),
    (
        "{\"q\": \"it's\", \"r\": \"#x\", \"s\": \"a #b\", \"t\": \"a: b\", \"u\": \"x:\", \"v\": \"@at\", \"w\": \"-\", \"x\": \"- y\", \"y\": \"?q\", \"z\": \"a,b\"}",
        "q: it's\nr: '#x'\ns: 'a #b'\nt: 'a: b'\nu: 'x:'\nv: '@at'\nw: '-'\nx: '- y'\n\"y\": ?q\nz: a,b\n",
    ),
    (
        "{\"d\": \"\\\"word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word \\\"\"}",
        "d: '\"word word word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word \"'\n",
    ),
    (
        "{\"e\": \"tab\\there word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word \"}",
        "e: \"tab\\there word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word word word \"\n",
    ),
    ("{\"ls\": \"a\\u2028b\"}", "ls: 'a\u{2028}  b'\n"),
    ("{\"cr\": \"a\\rb\"}", "cr: \"a\\rb\"\n"),
    (
        "{\"lit\": \"line1\\nline2\\n\"}",
        "lit: |\n  line1\n  line2\n",
    ),
    ("{\"lit2\": \" sp\\nx\"}", "lit2: |2-\n   sp\n  x\n"),
    (
        "{\"data\": {\"k\": \"dGVzdA==\"}, \"metadata\": {}}",
        "data:\n  k: dGVzdA==\nmetadata: {}\n",
    ),
    ("\"012\"", "\"012\"\n"),
    ("\"+1\"", "\"+1\"\n"),
    ("\".5\"", "\".5\"\n"),
    ("\"1e3\"", "\"1e3\"\n"),
    ("\"1_000\"", "\"1_000\"\n"),
    ("\"~\"", "\"~\"\n"),
    ("\"null\"", "\"null\"\n"),
    ("\"Off\"", "\"Off\"\n"),
    ("\"<<\"", "<<\n"),
    ("\"=\"", "=\n"),
    ("\"0o17\"", "\"0o17\"\n"),
    ("\"1.\"", "\"1.\"\n"),
    ("\"-.inf\"", "\"-.inf\"\n"),
];

#[test]
fn matches_go_sigs_yaml() {
    let mut failures = Vec::new();
    for (input, want) in CASES {
        let json: serde_json::Value = serde_json::from_str(input).unwrap_or_default();
        let got = super::marshal(&Value::from(&json)).unwrap_or_default();
        if got != *want {
            failures.push(format!("{input}\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
