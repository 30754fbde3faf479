//! Engine tests against Go's reference outputs.

use super::*;

fn data() -> Value {
    Value::string_map(
        [
            ("foo", "bar"),
            ("password", "s3cr3t"),
            ("best-pokemon", "pikachu"),
            ("empty", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), Value::str(v)))
        .collect(),
    )
}

fn run(tpl: &str) -> Result<String, TemplateError> {
    let t = Template::parse("t", tpl)?;
    t.render(&data())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[test]
fn basics() {
    assert_eq!(run("{{ .foo | upper }}").unwrap(), "BAR");
    assert_eq!(
        run("{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}").unwrap(),
        "best-pokemon=pikachu;empty=;foo=bar;password=s3cr3t;"
    );
    assert_eq!(run("a  {{- .foo -}}  \n b").unwrap(), "abarb");
    assert_eq!(
        run("{{ $x := .foo }}{{ $x }}{{ $x = \"re\" }}{{ $x }}").unwrap(),
        "barre"
    );
    assert_eq!(
        run("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}").unwrap(),
        "2"
    );
    assert_eq!(
        run("{{ if eq .foo \"x\" }}X{{ else if eq .foo \"bar\" }}BAR{{ else }}other{{ end }}")
            .unwrap(),
        "BAR"
    );
    assert_eq!(
        run("{{ with .empty }}has{{ else }}none{{ end }}|{{ with .foo }}{{ . }}{{ end }}").unwrap(),
        "none|bar"
    );
    assert_eq!(
        run("{{ eq .foo \"a\" \"bar\" }} {{ ne .foo \"bar\" }} {{ lt 1 2 }}").unwrap(),
        "true false true"
    );
    assert!(run("{{ eq 1 \"1\" }}").is_err());
    assert_eq!(
        run("{{ and 1 0 \"x\" }}|{{ or \"\" 0 \"y\" }}|{{ not .empty }}|{{ and .foo .password }}")
            .unwrap(),
        "0|y|true|s3cr3t"
    );
    assert_eq!(
        run("{{ if and false (index .nokey \"x\") }}y{{ else }}n{{ end }}").unwrap(),
        "n"
    );
    assert_eq!(run("[{{ index . \"nokey\" }}]").unwrap(), "[]");
    assert_eq!(
        run("{{ define \"t2\" }}<{{ . }}>{{ end }}{{ template \"t2\" .foo }}").unwrap(),
        "<bar>"
    );
    assert_eq!(
        run("{{ block \"b\" .foo }}[{{ . }}]{{ end }}").unwrap(),
        "[bar]"
    );
    assert_eq!(run("{{ range (list \"a\" \"b\" \"c\" \"d\") }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ if eq . \"c\" }}{{ break }}{{ end }}{{ . }}{{ end }}").unwrap(), "a");
    assert_eq!(run("{{ `a\"b\\n` }}").unwrap(), "a\"b\\n");
    assert_eq!(
        run("{{ 3 }} {{ 1.5 }} {{ 1e3 }} {{ 0x1F }} {{ -2 }} {{ 'a' }}").unwrap(),
        "3 1.5 1000 31 -2 97"
    );
    assert_eq!(
        run("{{ html \"<a>\" }} {{ js \"it's\" }} {{ urlquery \"a b&c\" }}").unwrap(),
        "&lt;a&gt; it\\'s a+b%26c"
    );
    assert_eq!(
        run("{{ print \"a\" 1 2 \"b\" \"c\" }}|{{ println \"x\" }}").unwrap(),
        "a1 2bc|x\n"
    );
    assert_eq!(
        run("{{ with .empty }}a{{ else with .foo }}b{{ end }}").unwrap(),
        "b"
    );
    assert_eq!(run("{{/* hi */}}ok").unwrap(), "ok");
    assert_eq!(run("{{ range 3 }}{{ . }}{{ end }}").unwrap(), "012");
    assert_eq!(
        run("{{ \"{ # no json # }\" | fromJson }}").unwrap(),
        "<no value>"
    );
}

#[test]
fn errors() {
    let e = run("{{ .nokey }}").unwrap_err();
    assert_eq!(
        e.message,
        "template: t:1:3: executing \"t\" at <.nokey>: map has no entry for key \"nokey\""
    );
    let e = run("{{ .best-pokemon }}").unwrap_err();
    assert!(
        e.message.contains("bad character U+002D '-'"),
        "{}",
        e.message
    );
    assert!(
        run("{{ .foo ")
            .unwrap_err()
            .message
            .contains("unclosed action")
    );
    assert!(
        run("{{ nosuchfunc .foo }}")
            .unwrap_err()
            .message
            .contains("function \"nosuchfunc\" not defined")
    );
    assert!(run("{{ .foo 1 }}").is_err());
    assert!(run("{{ env \"HOME\" }}").is_err());
    assert!(run("{{ #xx }}").unwrap_err().parse);
}

#[test]
fn limits() {
    let t = Template::parse(
        "t",
        "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}",
    )
    .unwrap();
    assert!(
        t.render(&data())
            .unwrap_err()
            .message
            .contains("maximum template depth")
    );
    let t = Template::parse("t", "{{ range 100000000 }}x{{ end }}").unwrap();
    assert!(t.render(&data()).is_err());
    let t = Template::parse(
        "t",
        "{{ $x := \"aaaaaaaaaaaaaaaa\" }}{{ range 40 }}{{ $x = print $x $x }}{{ end }}",
    )
    .unwrap();
    assert!(t.render(&data()).is_err());
    let deep = "(".repeat(500) + "1" + &")".repeat(500);
    assert!(Template::parse("t", &format!("{{{{ {deep} }}}}")).is_err());
}

#[test]
fn send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Template>();
}

/// Values Go templates read by field, and maps shared between variables. The expected
/// outputs are Go's: text/template with sprig v3.3.0 (Masterminds/semver v3), Go 1.26.
#[test]
fn structs_and_shared_maps_as_go() {
    let cases = [
        (
            r#"{{ $v := semver "1.2.3-beta.1+build.5" }}{{ $v.Major }}|{{ $v.Minor }}|{{ $v.Patch }}|{{ $v.Prerelease }}|{{ $v.Metadata }}|{{ $v.Original }}|{{ $v }}|{{ printf "%T" $v }}|{{ kindOf $v }}|{{ $v | toJson }}"#,
            r#"1|2|3|beta.1|build.5|1.2.3-beta.1+build.5|1.2.3-beta.1+build.5|*semver.Version|ptr|"1.2.3-beta.1+build.5""#,
        ),
        (
            r#"{{ $v := semver "v1" }}{{ $v.Major }}|{{ $v.Original }}|{{ $v }}|{{ $v.String }}"#,
            "1|v1|1.0.0|1.0.0",
        ),
        (
            r#"{{ $d := dict "a" "b" }}{{ $e := $d }}{{ $_ := set $e "k" "v" }}{{ $d }}"#,
            "map[a:b k:v]",
        ),
        (
            r#"{{ $d := dict "a" (dict "x" 1) }}{{ $e := $d.a }}{{ $_ := set $e "k" "v" }}{{ $d }}|{{ $f := deepCopy $d }}{{ $_ := set $f.a "z" 2 }}{{ $d }}|{{ $f }}"#,
            "map[a:map[k:v x:1]]|map[a:map[k:v x:1]]|map[a:map[k:v x:1 z:2]]",
        ),
    ];
    for (tpl, want) in cases {
        assert_eq!(
            run(tpl).unwrap_or_else(|e| panic!("{tpl}: {e}")),
            want,
            "{tpl}"
        );
    }
}

/// `dict` with constant keys (built from the parsed keys) and the general forms agree, as
/// Go has them: the later of two equal keys wins, a missing last value is empty, keys that
/// are not strings are printed, a piped value is the last argument.
#[test]
fn dict_forms_as_go() {
    let cases = [
        (
            r#"{{ dict "b" 1 "a" 2 "b" 3 | toJson }}"#,
            r#"{"a":2,"b":3}"#,
        ),
        (r#"{{ dict "a" 1 "b" }}"#, "map[a:1 b:]"),
        (r#"{{ dict "a" .foo 1 2 }}"#, "map[1:2 a:bar]"),
        (r#"{{ "v" | dict "k" }}"#, "map[k:v]"),
        (r#"{{ $k := "z" }}{{ dict $k 1 "a" 2 }}"#, "map[a:2 z:1]"),
        (r#"{{ (dict "x" (dict "y" .foo)).x.y }}"#, "bar"),
        (r#"{{ dict }}"#, "map[]"),
    ];
    for (tpl, want) in cases {
        assert_eq!(
            run(tpl).unwrap_or_else(|e| panic!("{tpl}: {e}")),
            want,
            "{tpl}"
        );
    }
    // A failing value fails the same way whatever the keys.
    let constant = run(r#"{{ dict "a" .nope }}"#).unwrap_err().to_string();
    let variable = run(r#"{{ $k := "a" }}{{ dict $k .nope }}"#)
        .unwrap_err()
        .to_string();
    assert!(
        constant.contains(r#"map has no entry for key "nope""#),
        "{constant}"
    );
    assert_eq!(
        constant
            .split_once("executing")
            .map(|(_, e)| e.split_once(':').map(|(_, m)| m.to_owned())),
        variable
            .split_once("executing")
            .map(|(_, e)| e.split_once(':').map(|(_, m)| m.to_owned())),
    );
}

/// sprig's `certificate` (Go: `sprig.certificate|struct|sprig.certificate|{"Cert":"---|{-----BEGIN CERTIFICATE-----\nM`).
#[test]
#[cfg(feature = "template-crypto")]
fn certificate_is_a_struct() {
    let out = run(r#"{{ $c := genCA "x" 1 }}{{ printf "%T" $c }}|{{ kindOf $c }}|{{ typeOf $c }}|{{ $c | toJson | substr 0 12 }}|{{ printf "%v" $c | substr 0 30 }}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out,
        "sprig.certificate|struct|sprig.certificate|{\"Cert\":\"---|{-----BEGIN CERTIFICATE-----\nM"
    );
}
