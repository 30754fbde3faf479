//! The operator examples of eso-rs (`operator`, `operator_scale_load`, `soak`) live in this
//! package's `[[example]]` targets, apart from the in-memory ones, so that the README's first
//! command (`cargo run --example quickstart`) builds no kube client and no provider crate.
