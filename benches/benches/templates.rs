//! Template engine: parse + render of fresh text (what ESO does on every reconcile), and
//! render of an already parsed template, for each case of `../shared/bench/templates.json`.
//!
//! The data map is converted to a template value once per case, outside the timed loop, as
//! ESO builds its `map[string]string` once per reconcile and then parses and executes every
//! template over it; the Go side-by-side figures are taken the same way (map built first).

use criterion::{Criterion, criterion_group, criterion_main};
use eso_benches::template_cases;
use eso_core::template::{Template, Value};

fn templates(c: &mut Criterion) {
    let cases = template_cases().unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("template");
    for case in &cases {
        let data = Value::string_map(
            case.data
                .iter()
                .map(|(k, v)| (k.as_str().into(), Value::bytes(v.expose())))
                .collect(),
        );
        group.bench_function(format!("{}/parse+render", case.name), |b| {
            b.iter(|| {
                for (key, src) in &case.templates {
                    let t = Template::parse(key, src).unwrap_or_else(|e| panic!("{e}"));
                    std::hint::black_box(t.render(&data).unwrap_or_else(|e| panic!("{e}")));
                }
            });
        });
        let parsed: Vec<Template> = case
            .templates
            .iter()
            .map(|(k, s)| Template::parse(k, s).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        group.bench_function(format!("{}/render", case.name), |b| {
            b.iter(|| {
                for t in &parsed {
                    std::hint::black_box(t.render(&data).unwrap_or_else(|e| panic!("{e}")));
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, templates);
criterion_main!(benches);
