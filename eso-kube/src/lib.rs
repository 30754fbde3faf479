#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "admission")]
#[cfg_attr(docsrs, doc(cfg(feature = "admission")))]
pub mod admission;
#[cfg(feature = "operator")]
mod catalog;
mod cluster;
mod convert;
pub mod error;
pub mod generator_state;
mod known_secrets;
#[cfg(feature = "operator")]
#[cfg_attr(docsrs, doc(cfg(feature = "operator")))]
pub mod operator;
mod rollout;
pub mod status;
mod workloads;

#[cfg(feature = "operator")]
#[cfg_attr(docsrs, doc(cfg(feature = "operator")))]
pub use catalog::{FetchedGenerators, ReflectorCatalog};
pub use cluster::{DEFAULT_FIELD_MANAGER, KubeCluster};
pub use eso_core::cluster::{secret_from_kube, secret_to_kube};
pub use rollout::{RESTARTED_AT_ANNOTATION, rollout_restart};
pub use workloads::{KubeWorkloads, WORKLOADS_FIELD_MANAGER};
