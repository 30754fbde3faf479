//! Plain-HTTP listeners for the endpoints (`:8080` style addresses mean every interface, as
//! in Go).

use std::net::SocketAddr;

use anyhow::Context as _;

/// `:8080` (Go's "every interface") as `0.0.0.0:8080`; other addresses unchanged.
pub(crate) fn listen_address(addr: &str) -> String {
    if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_owned()
    }
}

/// Serves `router` on `addr` in the background; returns the bound address.
pub(crate) async fn serve(addr: &str, router: axum::Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen_address(addr))
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, %bound, "an HTTP listener stopped");
        }
    });
    Ok(bound)
}
