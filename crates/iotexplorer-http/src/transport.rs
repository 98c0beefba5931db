//! The wire: hyper 1 connections over rustls (ring), kept in [`Pool`], through a proxy when
//! configured, with a connect deadline, a whole-request deadline and a cap on response
//! size.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::error::{BoxError, Error};
use crate::pool::{Http2Sender, Lease, Origin, Pool, Sender, Streams};
use crate::proxy::{Proxy, ProxyMatcher};

/// What the transport is built from.
#[derive(Clone, Debug)]
pub(crate) struct TransportConfig {
    pub(crate) connect_timeout: Duration,
    pub(crate) proxy: Proxy,
    pub(crate) builtin_roots: bool,
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
}

/// What makes a connection: TCP (through a proxy when one applies), then TLS for https,
/// all within the connect deadline.
type Connector = TimeoutConnector<HttpsConnector<ProxyConnector>>;

/// Pooled connections and the means to make more, cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    connector: Connector,
    pool: Arc<Pool>,
    proxy: Option<ProxyMatcher>,
}

/// Why an exchange failed, before the client adds the action.
#[derive(Debug)]
pub(crate) enum TransportError {
    /// Nothing was sent.
    Connect {
        timed_out: bool,
        message: String,
        source: BoxError,
    },
    /// An HTTP/2 server refused the request before processing it (RFC 9113, 8.7): sent
    /// perhaps, but certainly not run.
    Unprocessed { message: String, source: BoxError },
    /// The request may have been sent.
    AfterSend {
        timed_out: bool,
        message: String,
        source: Option<BoxError>,
    },
    /// The body exceeded the cap.
    TooLarge,
}

impl Transport {
    pub(crate) fn new(config: &TransportConfig) -> Result<Self, Error> {
        let tls = tls_config(config)?;
        let mut http = HttpConnector::new();
        // The https layer above hands https URIs down to this connector.
        http.enforce_http(false);
        http.set_nodelay(true);
        let proxy = config.proxy.matcher()?;
        let proxied = ProxyConnector {
            direct: http,
            proxy: proxy.clone(),
        };
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(proxied);
        let connector = TimeoutConnector {
            inner: https,
            timeout: config.connect_timeout,
        };
        Ok(Self {
            connector,
            pool: Arc::default(),
            proxy,
        })
    }

    /// The `Proxy-Authorization` a plain-http request to `target` must carry, if any.
    pub(crate) fn proxy_authorization(&self, target: &Uri) -> Option<http::HeaderValue> {
        self.proxy
            .as_ref()
            .and_then(|proxy| proxy.forward_authorization(target))
    }

    /// Sends `request` and reads the whole answer within `timeout`, keeping at most
    /// `max_body` bytes of body.
    pub(crate) async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        timeout: Duration,
        max_body: usize,
    ) -> Result<(StatusCode, http::HeaderMap, Bytes), TransportError> {
        // Tells, when the deadline runs out, whether a connection was ever handed to the
        // request: without one, nothing was sent.
        let handed = AtomicBool::new(false);
        match tokio::time::timeout(timeout, self.exchange_inner(request, max_body, &handed)).await {
            Ok(result) => result,
            Err(_) if !handed.load(Ordering::Relaxed) => Err(TransportError::Connect {
                timed_out: true,
                message: format!("no connection within {timeout:?}"),
                source: Box::new(ConnectTimeout(timeout)),
            }),
            Err(_) => Err(TransportError::AfterSend {
                timed_out: true,
                message: format!("no complete answer within {timeout:?}"),
                source: None,
            }),
        }
    }

    async fn exchange_inner(
        &self,
        request: Request<Full<Bytes>>,
        max_body: usize,
        handed: &AtomicBool,
    ) -> Result<(StatusCode, http::HeaderMap, Bytes), TransportError> {
        let target = request.uri().clone();
        let origin = Origin::of(&target).ok_or_else(|| {
            let message = format!("{target} is not an absolute URL");
            TransportError::Connect {
                timed_out: false,
                source: message.clone().into(),
                message,
            }
        })?;
        let mut lease = match self.pool.checkout(&origin) {
            Some(lease) => lease,
            None => Box::pin(self.connect(&target)).await?,
        };
        handed.store(true, Ordering::Relaxed);
        let response = match send(&mut lease, request).await {
            Ok(response) => response,
            // The connection closed while it sat in the pool, before the request was
            // written: nothing was sent, so it goes on a new connection.
            Err(Failed::Unsent(mut request, _)) if lease.reused => {
                handed.store(false, Ordering::Relaxed);
                *request.uri_mut() = target.clone();
                lease = Box::pin(self.connect(&target)).await?;
                handed.store(true, Ordering::Relaxed);
                send(&mut lease, *request)
                    .await
                    .map_err(|failed| self.failed(&origin, &lease, failed))?
            }
            Err(failed) => return Err(self.failed(&origin, &lease, failed)),
        };
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, max_body)
            .collect()
            .await
            .map_err(|err| {
                if err.downcast_ref::<LengthLimitError>().is_some() {
                    TransportError::TooLarge
                } else {
                    TransportError::AfterSend {
                        timed_out: false,
                        message: format!("reading the answer: {}", chain_message(&*err)),
                        source: Some(err),
                    }
                }
            })?
            .to_bytes();
        // The answer is read whole: the connection is free for the next exchange.
        self.pool.check_in(origin, lease.sender, lease.forwarding);
        Ok((parts.status, parts.headers, body))
    }

    /// The error of an exchange that got no answer on `lease`. A connection whose server
    /// is closing it (a `GOAWAY` that left the request out) is not handed to another call;
    /// one whose server refused only this stream is, as after an answer.
    fn failed(&self, origin: &Origin, lease: &Lease, failed: Failed) -> TransportError {
        if let Sender::Http2(shared) = &lease.sender {
            match failed.refusal() {
                Some(Refusal::Connection) => self.pool.forget_http2(origin, &shared.streams),
                Some(Refusal::Stream) => self.pool.check_in(
                    origin.clone(),
                    Sender::Http2(shared.clone()),
                    lease.forwarding,
                ),
                None => {}
            }
        }
        failed.into_error()
    }

    /// Opens a new connection to `origin` for `target`. An HTTP/2 one is shared once its
    /// first answer is read (see [`Transport::exchange`]): by then its server's SETTINGS,
    /// which come before any answer, were read, and with them its limit of streams, which
    /// h2 would otherwise take to be 100. Called boxed: its future is large and seldom
    /// needed.
    async fn connect(&self, target: &Uri) -> Result<Lease, TransportError> {
        let failed = |err: BoxError| TransportError::Connect {
            timed_out: has_source::<ConnectTimeout>(&*err),
            message: chain_message(&*err),
            source: err,
        };
        let mut connector = self.connector.clone();
        std::future::poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(failed)?;
        let io = connector.call(target.clone()).await.map_err(failed)?;
        let connected = io.connected();
        let forwarding = connected.is_proxied();
        if connected.is_negotiated_h2() {
            let (sender, connection) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(io)
                .await
                .map_err(|err| failed(Box::new(err)))?;
            // Its task polls it; the pool asks it, before sharing it with another
            // exchange, how many streams its server allows now. (hyper runs the h2
            // connection in a task of its own, so only a live question is up to date.)
            let connection = Arc::new(Mutex::new(Box::pin(connection)));
            let asked = Arc::downgrade(&connection);
            drive(std::future::poll_fn(move |cx| {
                lock(&connection).as_mut().poll(cx)
            }));
            let streams = Streams::new(move || {
                asked
                    .upgrade()
                    .map_or(0, |connection| lock(&connection).current_max_send_streams())
            });
            let shared = Http2Sender { sender, streams };
            let stream = shared.streams.open();
            return Ok(Lease {
                sender: Sender::Http2(shared),
                forwarding,
                reused: false,
                _stream: Some(stream),
            });
        }
        let (sender, connection) = http1::handshake(io)
            .await
            .map_err(|err| failed(Box::new(err)))?;
        drive(connection);
        Ok(Lease {
            sender: Sender::Http1(sender),
            forwarding,
            reused: false,
            _stream: None,
        })
    }
}

/// Why a request did not get its answer's head on a connection.
enum Failed {
    /// The connection gave it back unwritten: nothing was sent.
    Unsent(Box<Request<Full<Bytes>>>, hyper::Error),
    /// It may have been written.
    Sent(hyper::Error),
}

/// How an HTTP/2 server said it did not process a stream (RFC 9113, 8.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// `RST_STREAM` with `REFUSED_STREAM`: this stream only; the connection stays usable.
    Stream,
    /// A `GOAWAY` whose last processed stream is below this one, or that came before it
    /// was opened: the connection is closing.
    Connection,
}

impl Failed {
    /// The server's refusal of a request it did not process, if that is what this is.
    fn refusal(&self) -> Option<Refusal> {
        let Self::Sent(error) = self else {
            return None;
        };
        // h2 gives a stream the peer's GOAWAY only when the stream is above the GOAWAY's
        // last stream (or was opened after it); a stream the server may have processed
        // gets a broken pipe when the connection ends.
        let h2 = find_source::<h2::Error>(error)?;
        if !h2.is_remote() {
            None
        } else if h2.is_go_away() {
            Some(Refusal::Connection)
        } else {
            (h2.reason() == Some(h2::Reason::REFUSED_STREAM)).then_some(Refusal::Stream)
        }
    }

    fn into_error(self) -> TransportError {
        let refused = self.refusal().is_some();
        match self {
            Self::Unsent(_, error) => TransportError::Connect {
                timed_out: false,
                message: chain_message(&error),
                source: Box::new(error),
            },
            Self::Sent(error) if refused => TransportError::Unprocessed {
                message: chain_message(&error),
                source: Box::new(error),
            },
            Self::Sent(error) => TransportError::AfterSend {
                timed_out: false,
                message: chain_message(&error),
                source: Some(Box::new(error)),
            },
        }
    }
}

/// Sends `request` on the connection `lease` holds, in the form that connection takes.
async fn send(
    lease: &mut Lease,
    mut request: Request<Full<Bytes>>,
) -> Result<Response<Incoming>, Failed> {
    let sent = match &mut lease.sender {
        Sender::Http1(sender) => {
            if !lease.forwarding {
                origin_form(request.uri_mut());
            }
            sender.try_send_request(request).await
        }
        Sender::Http2(shared) => shared.sender.try_send_request(request).await,
    };
    sent.map_err(|mut failed| match failed.take_message() {
        Some(unsent) => Failed::Unsent(Box::new(unsent), failed.into_error()),
        None => Failed::Sent(failed.into_error()),
    })
}

/// Runs a connection's task until the connection closes.
fn drive<F>(connection: F)
where
    F: Future<Output = Result<(), hyper::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        // The exchange on it, if any, gets the error itself.
        #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
        if let Err(error) = connection.await {
            #[cfg(feature = "tracing")]
            tracing::debug!(%error, "a connection to the service ended with an error");
        }
    });
}

/// Locks `mutex`. A panic while it is held (an HTTP/2 connection's poll) ends that
/// connection's task, and the pool only reads through it: it is safe to use after one.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Leaves only the path and query of `uri`, as a request straight to the server has it.
fn origin_form(uri: &mut Uri) {
    *uri = uri
        .path_and_query()
        .map_or_else(|| Uri::from_static("/"), |path| Uri::from(path.clone()));
}

fn tls_config(config: &TransportConfig) -> Result<rustls::ClientConfig, Error> {
    let mut roots = RootCertStore::empty();
    if config.builtin_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        #[cfg(feature = "native-roots")]
        roots.extend(system_roots().roots.iter().cloned());
    }
    for cert in &config.extra_roots {
        roots
            .add(cert.clone())
            .map_err(|err| Error::Config(format!("unusable root certificate: {err}")))?;
    }
    if roots.is_empty() {
        return Err(Error::Config("no root certificates to trust".to_owned()));
    }
    // The provider is passed explicitly rather than relying on a process-wide default.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::Config(format!("TLS: {err}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The system's root certificates, read and parsed once per process: reading them parses
/// every certificate file of the system's store (hundreds), which each client built would
/// otherwise do again. Unreadable or unusable ones are skipped; the bundled roots remain.
#[cfg(feature = "native-roots")]
fn system_roots() -> &'static RootCertStore {
    static ROOTS: std::sync::OnceLock<RootCertStore> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        #[cfg(test)]
        tests::SYSTEM_ROOT_READS.fetch_add(1, Ordering::SeqCst);
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        roots
    })
}

/// An error and its causes, joined, for a message.
pub(crate) fn chain_message(err: &(dyn StdError + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

fn has_source<T: StdError + 'static>(err: &(dyn StdError + 'static)) -> bool {
    find_source::<T>(err).is_some()
}

/// The first error of type `T` in `err`'s chain, `err` included.
fn find_source<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

/// The connect deadline ran out (TCP, proxy tunnel and TLS handshake together).
#[derive(Debug)]
pub(crate) struct ConnectTimeout(Duration);

impl fmt::Display for ConnectTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connect timeout after {:?}", self.0)
    }
}

impl StdError for ConnectTimeout {}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// Puts one deadline around the whole connection set-up.
#[derive(Clone, Debug)]
pub(crate) struct TimeoutConnector<C> {
    inner: C,
    timeout: Duration,
}

impl<C> Service<Uri> for TimeoutConnector<C>
where
    C: Service<Uri> + Send,
    C::Future: Send + 'static,
    C::Response: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = BoxFuture<C::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, target: Uri) -> Self::Future {
        let connecting = self.inner.call(target);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(Box::new(ConnectTimeout(timeout)) as BoxError),
            }
        })
    }
}

/// Connects directly, through a `CONNECT` tunnel, or to a forwarding proxy.
#[derive(Clone, Debug)]
pub(crate) struct ProxyConnector {
    direct: HttpConnector,
    proxy: Option<ProxyMatcher>,
}

impl Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = BoxFuture<ProxyStream>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, target: Uri) -> Self::Future {
        let intercept = self
            .proxy
            .as_ref()
            .and_then(|proxy| proxy.intercept(&target));
        let mut direct = self.direct.clone();
        Box::pin(async move {
            let Some(intercept) = intercept else {
                let io = direct.call(target).await?;
                return Ok(ProxyStream {
                    io,
                    forwarding: false,
                });
            };
            if target.scheme_str() == Some("https") {
                let mut tunnel = Tunnel::new(intercept.uri().clone(), direct);
                if let Some(auth) = intercept.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let io = tunnel.call(target).await?;
                Ok(ProxyStream {
                    io,
                    forwarding: false,
                })
            } else {
                let io = direct.call(intercept.uri().clone()).await?;
                Ok(ProxyStream {
                    io,
                    forwarding: true,
                })
            }
        })
    }
}

/// A TCP stream that knows whether requests on it go in absolute form to a proxy.
#[derive(Debug)]
pub(crate) struct ProxyStream {
    io: TokioIo<TcpStream>,
    forwarding: bool,
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        let connected = self.io.connected();
        if self.forwarding {
            connected.proxy(true)
        } else {
            connected
        }
    }
}

impl Read for ProxyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for ProxyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

#[cfg(all(test, feature = "native-roots"))]
mod tests {
    use super::*;

    use std::sync::atomic::AtomicUsize;

    /// How often the system's store was read.
    pub(super) static SYSTEM_ROOT_READS: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn the_system_roots_are_read_once_per_process() {
        let config = TransportConfig {
            connect_timeout: Duration::from_secs(1),
            proxy: Proxy::none(),
            builtin_roots: true,
            extra_roots: Vec::new(),
        };
        for _ in 0..3 {
            Transport::new(&config).expect("a transport");
        }
        assert_eq!(SYSTEM_ROOT_READS.load(Ordering::SeqCst), 1);
    }
}
