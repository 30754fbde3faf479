//! [`Limits`]: the bounds of one render.

/// Bounds for one render, so a hostile template cannot exhaust the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum bytes of output (and of any single string value built by a function).
    pub max_output: usize,
    /// Maximum nesting of `{{template}}` / `{{block}}` calls.
    pub max_depth: usize,
    /// Maximum evaluation steps (nodes walked, commands run, loop iterations).
    pub max_steps: u64,
    /// Maximum number of elements in a list built by a function (`until`, `seq`, `split` ...).
    pub max_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_output: 4 << 20,
            max_depth: 64,
            max_steps: 2_000_000,
            max_items: 100_000,
        }
    }
}
