//! The workspace README's embedding story is not compiled there (eso-core runs that README's
//! doctests and cannot see this crate); this crate's README holds the same program as a
//! compiled doctest, and this test keeps the two the same.

fn block_after(text: &str, heading: &str, fence: &str) -> Vec<String> {
    let rest = &text[text
        .find(heading)
        .unwrap_or_else(|| panic!("{heading} not found"))..];
    let start = rest.find(fence).unwrap() + fence.len();
    let body = &rest[start..];
    let end = body.find("\n```").unwrap();
    body[..end]
        .lines()
        .map(|l| l.trim().trim_start_matches("// ").to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn workspace_readme_embedding_matches_the_compiled_one() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let Ok(workspace) = std::fs::read_to_string(format!("{dir}/../README.md")) else {
        return; // packaged crate: no workspace README
    };
    let ours = std::fs::read_to_string(format!("{dir}/README.md")).unwrap();
    let theirs = block_after(&workspace, "## Embedding in a kube-rs operator", "```rs\n");
    let compiled = block_after(&ours, "## An operator in a few lines", "```rust,no_run\n");
    assert_eq!(theirs, compiled);
    assert!(theirs.len() < 30);
}
