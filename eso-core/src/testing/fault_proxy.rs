//! [`FaultProxy`]: a loopback TCP proxy between a provider and its real backend that injects
//! faults: closed connections, added latency, connections reset in the middle of a response,
//! a backend that accepts and never answers, and HTTP error answers (5xx, 429). For testing
//! what a provider and the flows do when the backend misbehaves (`retrySettings`, timeouts,
//! status messages, nothing half-written).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// At most this many connections are forwarded at once; more are closed at once.
const MAX_FORWARDED: usize = 64;

/// What the proxy does to a connection it accepts. Set with [`FaultProxy::set_fault`]; it
/// applies to connections accepted from then on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Forward byte for byte (plain HTTP and TLS alike).
    Forward,
    /// Close the connection at once without reading from it (a backend that is down or
    /// restarting: the client sees the connection closed or reset).
    Close,
    /// Forward, holding every chunk of the answer back for this long.
    Latency(Duration),
    /// Forward the request and the first `after` bytes of the answer, then reset the
    /// connection (a backend dying mid-response).
    ResetAfter(usize),
    /// Accept and read, never answer, never close (a hung backend: only the client's
    /// timeout ends it).
    Blackhole,
    /// Answer every request on the connection with this HTTP status and a small JSON body
    /// itself, never reaching the backend (plain HTTP only). With `retry_after`, a
    /// `Retry-After` header in seconds (throttling).
    HttpStatus {
        /// The status code, e.g. 503 or 429.
        status: u16,
        /// `Retry-After` in seconds.
        retry_after: Option<u32>,
    },
}

/// A TCP proxy on `127.0.0.1` in front of an upstream `host:port`. [`FaultProxy::start`] closes
/// the first `fail_first` connections it accepts ([`Fault::Close`]) and forwards every later
/// one; [`FaultProxy::set_fault`] switches what happens to the connections that follow. It
/// counts the connections it accepts.
///
/// The proxy runs on the current tokio runtime and stops when dropped: the listener and every
/// forwarded connection are closed. I/O errors only end the connection they happened on. At
/// most 64 connections are forwarded at once; further ones are closed until one ends.
///
/// # Example
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use tokio::net::{TcpListener, TcpStream};
/// use eso_core::testing::{Fault, FaultProxy};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // An upstream that greets every connection.
/// let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let upstream_addr = upstream.local_addr().unwrap().to_string();
/// tokio::spawn(async move {
///     while let Ok((mut s, _)) = upstream.accept().await {
///         let _ = s.write_all(b"hello").await;
///     }
/// });
///
/// let proxy = FaultProxy::start(&upstream_addr, 1).await.unwrap();
/// // The first connection is closed without an answer ...
/// let mut first = TcpStream::connect(proxy.addr()).await.unwrap();
/// let mut buf = Vec::new();
/// let _ = first.read_to_end(&mut buf).await;
/// assert!(buf.is_empty());
/// // ... the second reaches the upstream.
/// let mut second = TcpStream::connect(proxy.addr()).await.unwrap();
/// let mut hello = [0; 5];
/// second.read_exact(&mut hello).await.unwrap();
/// assert_eq!(&hello, b"hello");
/// assert_eq!(proxy.connections(), 2);
///
/// // From now on the proxy answers HTTP requests with 503 itself.
/// proxy.set_fault(Fault::HttpStatus { status: 503, retry_after: None });
/// let mut third = TcpStream::connect(proxy.addr()).await.unwrap();
/// third.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
/// let mut head = [0; 12];
/// third.read_exact(&mut head).await.unwrap();
/// assert_eq!(&head, b"HTTP/1.1 503");
/// # });
/// ```
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    connections: AtomicUsize,
    fail_first: usize,
    fault: Mutex<Fault>,
    /// Bumped by every `set_fault`: the serving task then closes the open connections.
    changed: tokio::sync::Notify,
}

impl Shared {
    fn fault_for(&self, n: usize) -> Fault {
        if n < self.fail_first {
            return Fault::Close;
        }
        self.fault
            .lock()
            .map(|f| f.clone())
            .unwrap_or(Fault::Forward)
    }
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`host:port`), closing the
    /// first `fail_first` connections.
    ///
    /// Fails if the listener cannot be bound; an unreachable upstream only shows as closed
    /// connections. Must be called within a tokio runtime.
    pub async fn start(upstream: &str, fail_first: usize) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), upstream, fail_first).await
    }

    /// Like [`FaultProxy::start`], listening on `listen` (e.g. an address a client was given
    /// before anything answered there, to bring a server "up" at that address).
    pub async fn start_on(
        listen: SocketAddr,
        upstream: &str,
        fail_first: usize,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            connections: AtomicUsize::new(0),
            fail_first,
            fault: Mutex::new(Fault::Forward),
            changed: tokio::sync::Notify::new(),
        });
        let task = tokio::spawn(serve(listener, upstream.to_owned(), Arc::clone(&shared)));
        Ok(Self { addr, shared, task })
    }

    /// What happens to the connections accepted from now on (after the first `fail_first`).
    /// The connections open at that moment are closed, as a restarting backend would close
    /// them, so a client's pooled connection cannot dodge the new fault.
    pub fn set_fault(&self, fault: Fault) {
        if let Ok(mut f) = self.shared.fault.lock() {
            *f = fault;
        }
        self.shared.changed.notify_one();
    }

    /// The proxy's address (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `scheme://127.0.0.1:<port>`, e.g. for a store's server URL.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    /// The connections accepted so far, failed ones included.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Dropping the task drops its JoinSet, which aborts every forwarding task.
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, upstream: String, shared: Arc<Shared>) {
    let upstream: Arc<str> = upstream.into();
    let mut forwarding = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    let n = shared.connections.fetch_add(1, Ordering::SeqCst);
                    let fault = shared.fault_for(n);
                    if fault == Fault::Close || forwarding.len() >= MAX_FORWARDED {
                        drop(client);
                    } else {
                        forwarding.spawn(handle(client, Arc::clone(&upstream), fault));
                    }
                }
                // E.g. out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = forwarding.join_next(), if !forwarding.is_empty() => {}
            () = shared.changed.notified() => forwarding.abort_all(),
        }
    }
}

async fn handle(client: TcpStream, upstream: Arc<str>, fault: Fault) {
    let _ = client.set_nodelay(true);
    match fault {
        Fault::Forward | Fault::Close => forward(client, &upstream).await,
        Fault::Latency(delay) => forward_slowly(client, &upstream, delay, None).await,
        Fault::ResetAfter(bytes) => {
            forward_slowly(client, &upstream, Duration::ZERO, Some(bytes)).await
        }
        Fault::Blackhole => {
            let mut client = client;
            let mut sink = [0u8; 4096];
            // Read until the client gives up; never answer.
            while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Fault::HttpStatus {
            status,
            retry_after,
        } => answer_http(client, status, retry_after).await,
    }
}

/// Copies bytes both ways until either side closes or fails.
async fn forward(mut client: TcpStream, upstream: &str) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// Forwards the request as is and the answer chunk by chunk, each held back by `delay`;
/// with `reset_after`, the connection is reset (RST, not FIN) once that many answer bytes
/// went through.
async fn forward_slowly(
    client: TcpStream,
    upstream: &str,
    delay: Duration,
    reset_after: Option<usize>,
) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let (mut client_r, mut client_w) = client.into_split();
    let (mut server_r, mut server_w) = server.into_split();
    let upstream_copy = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_r, &mut server_w).await;
        let _ = server_w.shutdown().await;
        client_r
    });
    let mut passed = 0usize;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match server_r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let n = match reset_after {
            Some(limit) => n.min(limit.saturating_sub(passed)),
            None => n,
        };
        if client_w.write_all(&buf[..n]).await.is_err() {
            break;
        }
        passed += n;
        if reset_after.is_some_and(|limit| passed >= limit) {
            // Reunite the halves and close with SO_LINGER 0: the client sees a reset.
            upstream_copy.abort();
            if let Ok(Ok(client_r)) =
                tokio::time::timeout(Duration::from_secs(1), upstream_copy).await
                && let Ok(stream) = client_r.reunite(client_w)
            {
                // Deprecated because a non-zero linger blocks the dropping thread; a zero
                // linger never blocks: the kernel sends RST and discards the socket at once.
                #[allow(deprecated)]
                let _ = stream.set_linger(Some(Duration::ZERO));
                drop(stream);
            }
            return;
        }
    }
    let _ = client_w.shutdown().await;
}

/// Answers each HTTP/1.1 request on the connection with `status` (the request's body, if
/// any, is read by its Content-Length).
async fn answer_http(mut client: TcpStream, status: u16, retry_after: Option<u32>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // Read one request head.
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            match client.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let body_len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < head_end + body_len {
            match client.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + body_len);
        let reason = match status {
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Gateway Timeout",
            _ => "Fault",
        };
        let body = format!(r#"{{"errors":["injected fault: {status} {reason}"]}}"#);
        let retry = retry_after.map_or(String::new(), |s| format!("Retry-After: {s}\r\n"));
        let answer = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{retry}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if client.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// An echo server on a free loopback port; returns its address.
    async fn echo() -> (String, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        (addr, task)
    }

    async fn round_trip(addr: SocketAddr, msg: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(msg).await?;
        s.shutdown().await?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn fault_proxy_fails_the_first_connections_then_forwards() {
        let (upstream, _echo) = echo().await;
        let proxy = FaultProxy::start(&upstream, 2).await.unwrap();
        for _ in 0..2 {
            // Closed without an echo (an error, or end of stream at once).
            let out = round_trip(proxy.addr(), b"lost").await.unwrap_or_default();
            assert!(out.is_empty(), "{out:?}");
        }
        for i in 0..3 {
            let msg = format!("message {i}").repeat(1000);
            assert_eq!(
                round_trip(proxy.addr(), msg.as_bytes()).await.unwrap(),
                msg.as_bytes()
            );
        }
        assert_eq!(proxy.connections(), 5);
        assert!(proxy.url("http").starts_with("http://127.0.0.1:"));
    }

    #[tokio::test]
    async fn fault_proxy_with_nothing_to_fail_forwards_everything() {
        let (upstream, _echo) = echo().await;
        let proxy = FaultProxy::start(&upstream, 0).await.unwrap();
        assert_eq!(round_trip(proxy.addr(), b"hi").await.unwrap(), b"hi");
        assert_eq!(proxy.connections(), 1);
    }

    #[tokio::test]
    async fn fault_proxy_survives_an_unreachable_upstream() {
        // A port nobody listens on.
        let free = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = free.local_addr().unwrap().to_string();
        drop(free);
        let proxy = FaultProxy::start(&dead, 0).await.unwrap();
        for _ in 0..3 {
            let out = round_trip(proxy.addr(), b"x").await.unwrap_or_default();
            assert!(out.is_empty());
        }
        assert_eq!(proxy.connections(), 3);
    }

    #[tokio::test]
    async fn fault_proxy_stops_when_dropped() {
        let (upstream, _echo) = echo().await;
        let proxy = FaultProxy::start(&upstream, 0).await.unwrap();
        let addr = proxy.addr();
        // A connection in flight when the proxy goes away is closed too.
        let mut open = TcpStream::connect(addr).await.unwrap();
        open.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        open.read_exact(&mut buf).await.unwrap();
        drop(proxy);
        let mut rest = Vec::new();
        let _ = open.read_to_end(&mut rest).await;
        assert!(rest.is_empty());
        // The listener went with the proxy's task, before the forwarded connection did.
        assert!(TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn fault_proxy_resets_mid_answer_and_answers_http_errors() {
        // An upstream that sends 100 bytes.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut b = [0; 2];
                    let _ = s.read(&mut b).await;
                    let _ = s.write_all(&[b'x'; 100]).await;
                });
            }
        });
        let proxy = FaultProxy::start(&upstream, 0).await.unwrap();
        proxy.set_fault(Fault::ResetAfter(10));
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        s.write_all(b"go").await.unwrap();
        let mut got = Vec::new();
        let mut chunk = [0; 64];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
        assert_eq!(got.len(), 10, "the answer stops after 10 bytes");

        proxy.set_fault(Fault::Latency(Duration::from_millis(1)));
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        s.write_all(b"go").await.unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).await.unwrap();
        assert_eq!(all.len(), 100, "latency delays, loses nothing");

        proxy.set_fault(Fault::HttpStatus {
            status: 429,
            retry_after: Some(3),
        });
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        for _ in 0..2 {
            s.write_all(b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
                .await
                .unwrap();
            // Read one whole answer (its JSON body ends with `]}`).
            let mut answer = Vec::new();
            let mut chunk = [0; 256];
            while !answer.ends_with(b"]}") {
                let n = s.read(&mut chunk).await.unwrap();
                assert!(n > 0, "closed early: {answer:?}");
                answer.extend_from_slice(&chunk[..n]);
            }
            let text = String::from_utf8_lossy(&answer);
            assert!(text.starts_with("HTTP/1.1 429 Too Many Requests"), "{text}");
            assert!(text.contains("Retry-After: 3"), "{text}");
        }
        assert_eq!(proxy.connections(), 3);
    }
}
