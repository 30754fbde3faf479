#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
mod duration;
mod error;
mod secret;
pub mod strategy;
pub mod template;

pub use duration::{DurationParseError, GoDuration};
pub use error::{BoxError, Error, Result};
pub use secret::{SecretMap, SecretValue};
