//! The API calls of the two services on their SDK clients.

pub(crate) mod parameter_store;
pub(crate) mod secrets_manager;
