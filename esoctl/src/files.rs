//! Finding and reading manifest files.

use std::path::{Path, PathBuf};

/// Files larger than this are refused before reading (a manifest file this big is a mistake).
pub(crate) const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Adds `path` to `files`: a file given explicitly is taken whatever its name; directories
/// are searched recursively (sorted) for `.yaml`, `.yml` and `.json` files. Paths that cannot
/// be read go to `errors` with the reason.
pub(crate) fn collect(
    path: &Path,
    explicit: bool,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<(PathBuf, String)>,
) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            errors.push((path.to_path_buf(), format!("cannot read: {e}")));
            return;
        }
    };
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                errors.push((path.to_path_buf(), format!("cannot list directory: {e}")));
                return;
            }
        };
        entries.sort();
        for e in entries {
            collect(&e, false, files, errors);
        }
    } else if explicit
        || path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
    {
        files.push(path.to_path_buf());
    }
}

/// Reads a UTF-8 text file of at most [`MAX_FILE_BYTES`].
pub(crate) fn read_text(path: &Path) -> Result<String, String> {
    if let Ok(m) = std::fs::metadata(path)
        && m.len() > MAX_FILE_BYTES
    {
        return Err(format!(
            "file is {} bytes, more than the {MAX_FILE_BYTES} accepted",
            m.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())
}
