//! The listeners that eso-rs's test servers (`tools/*-test-server`) share: a TLS configuration
//! from the PEM files the backend scripts generate per instance, and the loop that accepts
//! connections (HTTPS, or plain HTTP for stand-ins of link-local cloud services) and hands
//! each request to the server's handler over HTTP/1.1.
//!
//! # Example
//!
//! ```no_run
//! use http_body_util::Full;
//! use hyper::body::Bytes;
//! use hyper::Response;
//!
//! # async fn run() -> Result<(), String> {
//! let acceptor = test_server_http::acceptor("server.crt", "server.key")?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
//!     .await
//!     .map_err(|e| e.to_string())?;
//! test_server_http::serve(listener, Some(acceptor), |_req| async {
//!     Response::new(Full::new(Bytes::from_static(b"{}")))
//! })
//! .await
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::rt::{Read, Write};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A TLS acceptor serving the certificate chain in the PEM file `cert` with the key in the
/// PEM file `key` (HTTP/1.1 by ALPN). The error names the file or step that failed.
pub fn acceptor(cert: &str, key: &str) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect)
        .map_err(|e| format!("{cert}: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("protocol versions: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate: {e}"))?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(tls)))
}

/// Accepts connections on `listener` for ever, each on a task of its own, and hands every
/// request to `handle`: over TLS with `tls` (a failed handshake drops that connection only),
/// plain HTTP without (the stand-ins of cloud services that are plain HTTP at a link-local
/// address).
pub async fn serve<H, F>(listener: TcpListener, tls: Option<TlsAcceptor>, handle: H) -> !
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (tls, handle) = (tls.clone(), handle.clone());
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        connection(TokioIo::new(stream), handle).await;
                    }
                }
                None => connection(TokioIo::new(tcp), handle).await,
            }
        });
    }
}

/// Serves the requests of one connection until it closes.
async fn connection<I, H, F>(io: I, handle: H)
where
    I: Read + Write + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Send + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let svc = service_fn(move |req| {
        let response = handle(req);
        async move { Ok::<_, Infallible>(response.await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, svc)
        .await;
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn plain_http_requests_reach_the_handler() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, None, |req: Request<Incoming>| async move {
            Response::new(Full::new(Bytes::from(format!("you asked {}", req.uri()))))
        }));
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET /latest/api HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("you asked /latest/api"), "{answer}");
    }

    #[test]
    fn a_missing_certificate_file_is_named() {
        let Err(e) = acceptor("/nonexistent/server.crt", "/nonexistent/server.key") else {
            panic!("an acceptor without certificate files");
        };
        assert!(e.starts_with("/nonexistent/server.crt: "), "{e}");
    }
}
