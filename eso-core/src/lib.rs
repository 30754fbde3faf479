#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
pub mod cluster;
mod duration;
mod error;
pub mod generator;
pub mod pem;
pub mod provider;
pub mod reconcile;
mod secret;
pub mod strategy;
pub mod template;
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod yaml11;

pub use duration::{DurationParseError, GoDuration};
pub use error::{BoxError, Error, Result};
pub use secret::{SecretMap, SecretValue};

/// The workspace README's quickstart, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct WorkspaceReadmeDoctests;
