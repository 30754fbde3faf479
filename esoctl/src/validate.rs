//! `esoctl validate`: check ESO manifests against ESO's admission rules.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use eso_core::api::{FieldError, Manifest, parse_documents};

/// Arguments of `esoctl validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Files or directories (searched recursively for .yaml, .yml and .json files).
    #[arg(required = true, value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    output: Format,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// The result for one document (or one unreadable file, with `document: None`).
#[derive(Debug, serde::Serialize)]
struct Outcome {
    file: String,
    document: Option<usize>,
    kind: String,
    name: String,
    valid: bool,
    errors: Vec<FieldError>,
}

#[derive(Debug, serde::Serialize)]
struct Report {
    files: usize,
    documents: usize,
    eso_documents: usize,
    invalid: usize,
    results: Vec<Outcome>,
}

pub(crate) fn run(args: &Args) -> ExitCode {
    let mut files = Vec::new();
    let mut outcomes = Vec::new();
    let mut unreadable_paths = Vec::new();
    for p in &args.paths {
        crate::files::collect(p, true, &mut files, &mut unreadable_paths);
    }
    for (path, message) in unreadable_paths {
        outcomes.push(unreadable(&path, message));
    }
    let mut report = Report {
        files: files.len(),
        documents: 0,
        eso_documents: 0,
        invalid: 0,
        results: Vec::new(),
    };
    for file in &files {
        check_file(file, &mut report, &mut outcomes);
    }
    report.invalid = outcomes.iter().filter(|o| !o.valid).count();
    report.results = outcomes;
    match args.output {
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: cannot encode the report: {e}");
                return ExitCode::from(2);
            }
        },
        Format::Text => {
            for o in report.results.iter().filter(|o| !o.valid) {
                println!("{}", text_line(o));
            }
            eprintln!(
                "{} file(s), {} ESO document(s) checked, {} invalid",
                report.files, report.eso_documents, report.invalid
            );
        }
    }
    if report.invalid > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn text_line(o: &Outcome) -> String {
    let what = if o.kind.is_empty() {
        String::new()
    } else if o.name.is_empty() {
        format!("{}: ", o.kind)
    } else {
        format!("{}/{}: ", o.kind, o.name)
    };
    let doc = o
        .document
        .map_or_else(String::new, |d| format!("document {d}: "));
    let errors = o
        .errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    format!("{}: {doc}{what}{errors}", o.file)
}

fn unreadable(path: &Path, message: String) -> Outcome {
    Outcome {
        file: path.display().to_string(),
        document: None,
        kind: String::new(),
        name: String::new(),
        valid: false,
        errors: vec![FieldError::new("", message)],
    }
}

fn check_file(path: &Path, report: &mut Report, outcomes: &mut Vec<Outcome>) {
    let text = match crate::files::read_text(path) {
        Ok(t) => t,
        Err(message) => {
            outcomes.push(unreadable(path, message));
            return;
        }
    };
    let file = path.display().to_string();
    let docs = parse_documents(&text);
    if docs.is_empty() {
        return;
    }
    for (index, doc) in docs {
        report.documents += 1;
        let doc = match doc {
            Ok(d) => d,
            Err(e) => {
                report.eso_documents += 1;
                outcomes.push(Outcome {
                    file: file.clone(),
                    document: Some(index),
                    kind: String::new(),
                    name: String::new(),
                    valid: false,
                    errors: vec![FieldError::new(e.path, e.message)],
                });
                continue;
            }
        };
        let kind = doc.kind().to_owned();
        let name = doc.name().to_owned();
        let errors = match Manifest::from_value(doc.value) {
            Ok(m) if !m.is_eso() => continue,
            Ok(m) => match m.validate() {
                Ok(()) => Vec::new(),
                Err(errs) => errs.0,
            },
            Err(e) => vec![FieldError::new(e.path, e.message)],
        };
        report.eso_documents += 1;
        outcomes.push(Outcome {
            file: file.clone(),
            document: Some(index),
            kind,
            name,
            valid: errors.is_empty(),
            errors,
        });
    }
}
