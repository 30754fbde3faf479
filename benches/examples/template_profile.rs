//! Renders the template cases of `../shared/bench/templates.json` a fixed number of times, for
//! instruction counts that repeat from run to run on a busy machine:
//!
//! ```text
//! cargo build --release -p eso-benches --example template_profile
//! valgrind --tool=callgrind target/release/examples/template_profile render dict-tojson 1000
//! ```
//!
//! usage: template_profile (render|parse+render) [CASE] [ITERATIONS]

use eso_benches::template_cases;
use eso_core::template::{Template, Value};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().map_or("render", String::as_str);
    let only = args.get(1).filter(|c| c.as_str() != "all");
    let n: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let cases = template_cases().unwrap_or_else(|e| panic!("{e}"));
    for case in cases.iter().filter(|c| only.is_none_or(|o| *o == c.name)) {
        let data = Value::string_map(
            case.data
                .iter()
                .map(|(k, v)| (k.as_str().into(), Value::bytes(v.expose())))
                .collect(),
        );
        let parsed: Vec<Template> = case
            .templates
            .iter()
            .map(|(k, s)| Template::parse(k, s).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let mut bytes = 0;
        for _ in 0..n {
            if what == "parse+render" {
                for (key, src) in &case.templates {
                    let t = Template::parse(key, src).unwrap_or_else(|e| panic!("{e}"));
                    bytes += t.render(&data).unwrap_or_else(|e| panic!("{e}")).len();
                }
            } else {
                for t in &parsed {
                    bytes += t.render(&data).unwrap_or_else(|e| panic!("{e}")).len();
                }
            }
        }
        println!("{} {what} x{n}: {bytes} bytes", case.name);
    }
}
