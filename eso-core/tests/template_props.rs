//! Property tests: arbitrary template text and data never panic the parser or the evaluator.

use eso_core::template::{Limits, Template, Value};
use proptest::prelude::*;

fn data(pairs: Vec<(String, String)>) -> Value {
    Value::string_map(
        pairs
            .into_iter()
            .map(|(k, v)| (k.into(), Value::string(v)))
            .collect(),
    )
}

fn small_limits() -> Limits {
    Limits {
        max_output: 1 << 16,
        max_depth: 16,
        max_steps: 20_000,
        max_items: 1_000,
    }
}

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    " ",
    ".",
    ".foo",
    "$",
    "$x",
    ":=",
    "=",
    "|",
    "(",
    ")",
    "\"a\"",
    "`b`",
    "1",
    "-2",
    "1.5",
    "0x1F",
    "'c'",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "nil",
    "true",
    "and",
    "or",
    "not",
    "len",
    "index",
    "print",
    "printf",
    "\"%v %d %s\"",
    "eq",
    "lt",
    "upper",
    "b64dec",
    "toJson",
    "fromJson",
    "toYaml",
    "fromYaml",
    "list",
    "dict",
    "repeat",
    "until",
    "seq",
    "split",
    "join",
    "default",
    "/*",
    "*/",
    ",",
    "\n",
    "{{/* c */}}",
    "filterPEM",
    "certSANs",
    "slice",
    "dig",
    "first",
    "rest",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_text_never_panics(src in "\\PC{0,80}", k in "[a-z]{1,5}", v in "\\PC{0,10}") {
        if let Ok(t) = Template::parse("p", &src) {
            let _ = t.with_limits(small_limits()).render(&data(vec![(k, v)]));
        }
    }

    #[test]
    fn random_token_soup_never_panics(idx in proptest::collection::vec(0..PIECES.len(), 0..40)) {
        let src: String = idx.iter().map(|i| PIECES[*i]).collect::<Vec<_>>().join(" ");
        if let Ok(t) = Template::parse("p", &src) {
            let _ = t.with_limits(small_limits()).render(&data(vec![("foo".into(), "bar".into())]));
        }
    }
}
