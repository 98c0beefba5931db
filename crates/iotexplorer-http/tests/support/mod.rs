//! Real servers on 127.0.0.1 for the integration tests: a scripted API server (plain or
//! TLS), a test certificate authority, and an HTTP proxy.

#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

pub mod raw_h2;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

pub const SECRET_ID: &str = "AKIDtest0123456789";
pub const SECRET_KEY: &str = "s3cr3t-key-never-shown";

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub query: String,
    pub version: Version,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub connection: usize,
}

impl Arrival {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Checks the TC3 signature as the service does, for `secret_key`.
    pub fn verify(&self, secret_key: &str) -> Result<(), String> {
        let mut headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        // HTTP/2 carries the host as :authority; the service sees it as Host.
        if self.header("host").is_none() {
            headers.push(("host", "missing"));
        }
        let request = tc3_sign::ReceivedRequest {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            body: &self.body,
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let service = self
            .header("authorization")
            .and_then(|a| a.split('/').nth(2))
            .unwrap_or("iotexplorer")
            .to_owned();
        tc3_sign::verify(
            &request,
            &tc3_sign::VerifyPolicy::new(&service, now),
            |id| {
                (id == SECRET_ID || id.starts_with("AKIDtmp")).then(|| {
                    let credentials = tc3_sign::Credentials::new(id, secret_key);
                    match self.header("x-tc-token") {
                        Some(token) => credentials.with_token(token),
                        None => credentials,
                    }
                })
            },
        )
        .map(|_| ())
        .map_err(|err| err.to_string())
    }
}

/// What the server answers.
#[derive(Clone, Debug)]
pub enum Reply {
    /// HTTP 200 with this body.
    Body(Bytes),
    /// Any status, content type and body.
    Status(u16, &'static str, Bytes),
    /// Waits, then answers.
    Delay(Duration, Box<Reply>),
    /// Closes the connection after reading the request, answering nothing.
    Drop,
}

/// `{"Response": {…fields, "RequestId"}}`.
pub fn ok(fields: Value) -> Reply {
    let mut response = fields;
    if let Some(object) = response.as_object_mut() {
        object
            .entry("RequestId")
            .or_insert_with(|| Value::from("req-ok"));
    }
    Reply::Body(Bytes::from(json!({ "Response": response }).to_string()))
}

/// `{"Response": {"Error": {…}, "RequestId"}}`.
pub fn api_error(code: &str, message: &str) -> Reply {
    Reply::Body(Bytes::from(
        json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req-err"}})
            .to_string(),
    ))
}

pub fn task_created() -> Reply {
    ok(json!({"TaskId": 1000696}))
}

type Script = dyn Fn(usize, &Arrival) -> Reply + Send + Sync;

/// A scripted HTTP server: the script gets the arrival's index (from 0) and the arrival.
pub struct TestServer {
    pub addr: SocketAddr,
    pub tls: bool,
    arrivals: Arc<Recorder>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TestServer {
    pub async fn start(script: impl Fn(usize, &Arrival) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_inner(Arc::new(script), None).await
    }

    pub async fn start_tls(
        script: impl Fn(usize, &Arrival) -> Reply + Send + Sync + 'static,
        tls: Arc<rustls::ServerConfig>,
    ) -> Self {
        Self::start_inner(Arc::new(script), Some(TlsAcceptor::from(tls))).await
    }

    /// Always answers the same.
    pub async fn always(reply: Reply) -> Self {
        Self::start(move |_, _| reply.clone()).await
    }

    /// Starts on a given address (to appear where connections failed before).
    pub async fn start_on(
        addr: SocketAddr,
        script: impl Fn(usize, &Arrival) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        Self::serve(listener, Arc::new(script), None)
    }

    async fn start_inner(script: Arc<Script>, tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, script, tls)
    }

    fn serve(listener: TcpListener, script: Arc<Script>, tls: Option<TlsAcceptor>) -> Self {
        let addr = listener.local_addr().unwrap();
        let arrivals = Arc::new(Recorder::default());
        let connections = Arc::new(AtomicUsize::new(0));
        let is_tls = tls.is_some();
        let task = {
            let arrivals = Arc::clone(&arrivals);
            let connections = Arc::clone(&connections);
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let connection = connections.fetch_add(1, Ordering::SeqCst);
                    let script = Arc::clone(&script);
                    let arrivals = Arc::clone(&arrivals);
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request: Request<Incoming>| {
                            let script = Arc::clone(&script);
                            let arrivals = Arc::clone(&arrivals);
                            async move { handle(request, connection, &*script, &arrivals).await }
                        });
                        let builder = auto::Builder::new(TokioExecutor::new());
                        match tls {
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(stream).await {
                                    let _ = builder
                                        .serve_connection(TokioIo::new(stream), service)
                                        .await;
                                }
                            }
                            None => {
                                let _ = builder
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                    });
                }
            })
        };
        Self {
            addr,
            tls: is_tls,
            arrivals,
            connections,
            task,
        }
    }

    pub fn url(&self) -> String {
        if self.tls {
            format!("https://{}", self.addr)
        } else {
            format!("http://{}", self.addr)
        }
    }

    pub fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.log.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.arrivals.count.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl TestServer {
    /// Counts arrivals without keeping them (for long benchmark runs).
    pub fn count_only(&self) {
        self.arrivals.count_only.store(true, Ordering::SeqCst);
    }
}

/// What a server saw.
#[derive(Default)]
struct Recorder {
    log: Mutex<Vec<Arrival>>,
    count: AtomicUsize,
    count_only: std::sync::atomic::AtomicBool,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    request: Request<Incoming>,
    connection: usize,
    script: &Script,
    arrivals: &Recorder,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    if parts.version == Version::HTTP_2
        && !headers.iter().any(|(n, _)| n == "host")
        && let Some(authority) = parts.uri.authority()
    {
        headers.push(("host".to_owned(), authority.as_str().to_owned()));
    }
    let arrival = Arrival {
        at: Instant::now(),
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        version: parts.version,
        headers,
        body,
        connection,
    };
    let index = {
        let index = arrivals.count.fetch_add(1, Ordering::SeqCst);
        if !arrivals.count_only.load(Ordering::SeqCst) {
            arrivals.log.lock().unwrap().push(arrival.clone());
        }
        index
    };
    let mut reply = script(index, &arrival);
    loop {
        match reply {
            Reply::Delay(delay, next) => {
                tokio::time::sleep(delay).await;
                reply = *next;
            }
            Reply::Drop => return Err(Dropped),
            Reply::Body(body) => {
                return Ok(Response::builder()
                    .header("content-type", "application/json")
                    .body(Full::new(body))
                    .unwrap());
            }
            Reply::Status(status, content_type, body) => {
                return Ok(Response::builder()
                    .status(status)
                    .header("content-type", content_type)
                    .body(Full::new(body))
                    .unwrap());
            }
        }
    }
}

/// A certificate authority made for one test, and a server certificate it signed for
/// `localhost` and `127.0.0.1`.
pub struct TestCa {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

impl TestCa {
    pub fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "iotexplorer-http test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let server_key = rcgen::KeyPair::generate().unwrap();
        let server_params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .unwrap();
        let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![server_cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
            )
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self {
            ca_pem: ca_cert.pem(),
            server_config: Arc::new(config),
        }
    }
}

/// What the proxy saw.
#[derive(Clone, Debug)]
pub struct ProxyRequest {
    pub request_line: String,
    pub proxy_authorization: Option<String>,
}

/// A small HTTP proxy on 127.0.0.1: `CONNECT` tunnels and absolute-form forwarding. When
/// `required_auth` is set, requests without that `Proxy-Authorization` get 407.
pub struct TestProxy {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<ProxyRequest>>>,
    task: JoinHandle<()>,
}

impl TestProxy {
    pub async fn start(required_auth: Option<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task = {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    let seen = Arc::clone(&seen);
                    let required_auth = required_auth.clone();
                    tokio::spawn(async move {
                        let _ = proxy_connection(client, &seen, required_auth.as_deref()).await;
                    });
                }
            })
        };
        Self { addr, seen, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<ProxyRequest> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy_connection(
    mut client: TcpStream,
    seen: &Mutex<Vec<ProxyRequest>>,
    required_auth: Option<&str>,
) -> std::io::Result<()> {
    // Read the request head.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let request_line = text.lines().next().unwrap_or("").to_owned();
    let proxy_authorization = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_owned())
    });
    seen.lock().unwrap().push(ProxyRequest {
        request_line: request_line.clone(),
        proxy_authorization: proxy_authorization.clone(),
    });
    if let Some(required) = required_auth
        && proxy_authorization.as_deref() != Some(required)
    {
        client
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    if method == "CONNECT" {
        let mut upstream = TcpStream::connect(target).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    } else {
        // Absolute form: http://host:port/path. Forward the head as is; the origin server
        // accepts absolute-form targets.
        let authority = target
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("");
        let mut upstream = TcpStream::connect(authority).await?;
        upstream.write_all(&head).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    }
    Ok(())
}

/// A client builder aimed at `server`, with test credentials, fast retries, no proxy and
/// no rate limit.
pub fn builder(server: &TestServer) -> iotexplorer_http::ClientBuilder {
    builder_at(&server.url())
}

/// A client builder aimed at `url`, as [`builder`] makes it.
pub fn builder_at(url: &str) -> iotexplorer_http::ClientBuilder {
    iotexplorer_http::Client::builder()
        .endpoint_url(url)
        .static_credentials(SECRET_ID, SECRET_KEY)
        .proxy(iotexplorer_http::Proxy::none())
        .rate_limit(None)
        .retry_policy(fast_retries(4))
}

/// `BatchUpdateFirmware` of `dev001` to 2.0.0: the write most tests send.
pub fn upgrade() -> iotexplorer_model::BatchUpdateFirmwareRequest {
    iotexplorer_model::BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .device_names("dev001")
        .build()
        .unwrap()
}

/// `DescribeFirmwareTask` of task 1: the read most tests send.
pub fn describe() -> iotexplorer_model::DescribeFirmwareTaskRequest {
    iotexplorer_model::DescribeFirmwareTaskRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .task_id(1u64)
        .build()
        .unwrap()
}

pub fn fast_retries(attempts: u32) -> iotexplorer_http::RetryPolicy {
    iotexplorer_http::RetryPolicy::default()
        .with_max_attempts(attempts)
        .with_base_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(20))
}

/// A fresh, empty directory under the system's temporary directory, removed with
/// everything in it when dropped.
pub fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("iotexplorer-http-{name}-"))
        .tempdir()
        .unwrap()
}

/// A listener that accepts connections and never says a word; counts them.
pub struct SilentServer {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl SilentServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let task = {
            let accepted = Arc::clone(&accepted);
            tokio::spawn(async move {
                let mut held = Vec::new();
                while let Ok((stream, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    held.push(stream);
                }
            })
        };
        Self {
            addr,
            accepted,
            task,
        }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
