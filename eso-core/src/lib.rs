#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
pub mod cluster;
mod duration;
mod error;
pub mod generator;
pub mod provider;
mod secret;

pub use duration::{DurationParseError, GoDuration};
pub use error::{BoxError, Error, Result};
pub use secret::{SecretMap, SecretValue};
