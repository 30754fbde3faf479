//! [`FaultProxy`]: a loopback TCP proxy that fails the first connections, for testing how a
//! provider behaves when its backend drops connections (e.g. that it honours `retrySettings`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// At most this many connections are forwarded at once; more are closed at once.
const MAX_FORWARDED: usize = 64;

/// A TCP proxy on `127.0.0.1` in front of an upstream `host:port`: it closes the first
/// `fail_first` connections it accepts at once, without reading from them (the client sees
/// the connection closed or reset), and forwards every later one byte for byte, so it works
/// for plain HTTP and TLS alike. It counts the connections it accepts.
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
/// use eso_core::testing::FaultProxy;
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
/// # });
/// ```
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
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
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(serve(
            listener,
            upstream.to_owned(),
            fail_first,
            Arc::clone(&connections),
        ));
        Ok(Self {
            addr,
            connections,
            task,
        })
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
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Dropping the task drops its JoinSet, which aborts every forwarding task.
        self.task.abort();
    }
}

async fn serve(
    listener: TcpListener,
    upstream: String,
    fail_first: usize,
    connections: Arc<AtomicUsize>,
) {
    let upstream: Arc<str> = upstream.into();
    let mut forwarding = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    let n = connections.fetch_add(1, Ordering::SeqCst);
                    if n < fail_first || forwarding.len() >= MAX_FORWARDED {
                        drop(client);
                    } else {
                        forwarding.spawn(forward(client, Arc::clone(&upstream)));
                    }
                }
                // E.g. out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = forwarding.join_next(), if !forwarding.is_empty() => {}
        }
    }
}

/// Copies bytes both ways until either side closes or fails.
async fn forward(mut client: TcpStream, upstream: Arc<str>) {
    let Ok(mut server) = TcpStream::connect(&*upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
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
}
