//! What `esoctl reconcile` prints and how it stops: the output format, the printing of the
//! resulting objects, and the failure that ends a run before anything is written.

use serde_json::{Value, json};

/// Output format.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Format {
    Yaml,
    Json,
}

/// A failure that stops the run before anything is written.
#[derive(Debug)]
pub(crate) struct Fatal(pub(crate) String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

/// Prints `items` as a `v1` List (JSON) or as YAML documents.
pub(crate) fn print_items(items: &[Value], format: Format) -> Result<(), Fatal> {
    match format {
        Format::Json => {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        Format::Yaml => {
            let mut out = String::new();
            for item in items {
                out.push_str("---\n");
                out.push_str(&serde_saphyr::to_string(item)?);
            }
            print!("{out}");
        }
    }
    Ok(())
}
