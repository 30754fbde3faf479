//! A small HTTP/1.1 server on 127.0.0.1 for the webhook tests (plain or TLS with a CA made
//! for the test), answering through a handler and recording what it received.

#![allow(dead_code)] // each test file uses part of it

use std::sync::{Arc, Mutex};
use std::time::Duration;

use eso_core::template::{Template, Value};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// One request the server received.
#[derive(Clone, Debug, Default)]
pub(crate) struct Seen {
    /// `GET /path?query`.
    pub(crate) line: String,
    /// Header lines, lower-cased names.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: String,
}

impl Seen {
    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The answer to one request.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) delay: Duration,
}

impl Reply {
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A running server.
pub(crate) struct Server {
    /// `http://127.0.0.1:PORT` or `https://localhost:PORT`.
    pub(crate) base: String,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
    /// The CA (PEM) that signed the server certificate, for TLS servers.
    pub(crate) ca_pem: Option<String>,
}

impl Server {
    /// Every request received so far.
    pub(crate) fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Starts a plain HTTP server.
pub(crate) async fn serve(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
    start(Arc::new(handler), None).await
}

/// Starts an HTTPS server whose certificate (for `localhost` and 127.0.0.1) a CA made for
/// this server signed.
pub(crate) async fn serve_tls(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
    let (ca, cert, key) = make_certs();
    let config = tls_config(&cert, &key);
    let mut s = start(Arc::new(handler), Some(config)).await;
    s.ca_pem = Some(ca);
    s
}

async fn start(handler: Arc<Handler>, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let acceptor = tls.clone().map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (handler, log, acceptor) =
                (Arc::clone(&handler), Arc::clone(&log), acceptor.clone());
            tokio::spawn(async move {
                match acceptor {
                    Some(a) => {
                        if let Ok(s) = a.accept(sock).await {
                            answer(s, &*handler, &log).await;
                        }
                    }
                    None => answer(sock, &*handler, &log).await,
                }
            });
        }
    });
    let base = match tls {
        Some(_) => format!("https://localhost:{port}"),
        None => format!("http://127.0.0.1:{port}"),
    };
    Server {
        base,
        seen,
        ca_pem: None,
    }
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    mut sock: S,
    handler: &Handler,
    log: &Mutex<Vec<Seen>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head, body_start) = loop {
        let Ok(n) = sock.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8_lossy(&buf[..p]).into_owned(), p + 4);
        }
    };
    let mut lines = head.lines();
    let line = lines
        .next()
        .unwrap_or_default()
        .trim_end_matches(" HTTP/1.1")
        .to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < body_start + len {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let seen = Seen {
        line,
        headers,
        body: String::from_utf8_lossy(&buf[body_start..]).into_owned(),
    };
    let reply = handler(&seen);
    log.lock().unwrap().push(seen);
    tokio::time::sleep(reply.delay).await;
    let resp = format!(
        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        reply.status,
        reply.body.len(),
        reply.body
    );
    let _ = sock.write_all(resp.as_bytes()).await;
    let _ = sock.shutdown().await;
}

/// A CA, and a certificate plus key for `localhost` / 127.0.0.1 signed by it (PEM), made with
/// the template engine's `genCA` and `genSignedCert`.
fn make_certs() -> (String, String, String) {
    let src = r#"{{ $ca := genCA "webhook-test-ca" 1 }}{{ $c := genSignedCert "localhost" (list "127.0.0.1") (list "localhost") 1 $ca }}{{ $ca.Cert }}@@{{ $c.Cert }}@@{{ $c.Key }}"#;
    let out = Template::parse("certs", src)
        .unwrap()
        .render(&Value::string_map(Default::default()))
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    let mut parts = out.split("@@").map(str::to_owned);
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

fn tls_config(cert: &str, key: &str) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(config)
}
