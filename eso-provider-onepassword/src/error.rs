//! The crate's private error enum, mapped into [`eso_core::Error`].

use eso_core::provider::{error_for_status, transport_error};

/// What can go wrong talking to a Connect server.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// An HTTP answer other than 2xx, with Connect's own message (it never quotes values).
    #[error("{op}: HTTP {status}: {message}")]
    Status {
        op: String,
        key: String,
        status: u16,
        message: String,
    },
    /// No HTTP answer (connection, TLS, timeout).
    #[error("{op}")]
    Transport {
        op: String,
        #[source]
        source: reqwest::Error,
    },
    /// An answer that is not what Connect sends.
    #[error("{op}: unexpected answer: {why}")]
    Decode { op: String, why: String },
}

impl From<Error> for eso_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Status {
                op,
                key,
                status,
                message,
            } => error_for_status(
                status,
                &key,
                format!("1password {op}: HTTP {status}: {message}"),
            ),
            Error::Transport { op, source } => {
                transport_error(&format!("1password {op}"), &source.without_url())
            }
            Error::Decode { op, why } => {
                Self::generic(format!("1password {op}: unexpected answer: {why}"))
            }
        }
    }
}
