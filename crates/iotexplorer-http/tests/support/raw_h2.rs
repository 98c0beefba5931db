//! A raw HTTP/2 server behind TLS, for tests that need frames hyper's server would not
//! send: each connection is handed, with its index, to the test's own code, which makes
//! the handshake with the settings it wants and answers as it likes.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::TestCa;

/// A TLS connection to the raw server, before its HTTP/2 handshake.
pub type RawTls = TlsStream<TcpStream>;

pub struct RawH2Server {
    pub url: String,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for RawH2Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawH2Server {
    /// Serves each connection with `serve(index, tls)`, the index counting from 0.
    pub async fn start<F, Fut>(ca: &TestCa, serve: F) -> Self
    where
        F: Fn(usize, RawTls) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let acceptor = TlsAcceptor::from(ca.server_config.clone());
        let connections = Arc::new(AtomicUsize::new(0));
        let serve = Arc::new(serve);
        let task = {
            let connections = connections.clone();
            tokio::spawn(async move {
                loop {
                    // An error here (out of descriptors, say) would repeat at once.
                    let Ok((tcp, _)) = listener.accept().await else {
                        return;
                    };
                    let index = connections.fetch_add(1, Ordering::SeqCst);
                    let (acceptor, serve) = (acceptor.clone(), serve.clone());
                    tokio::spawn(async move {
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            serve(index, tls).await;
                        }
                    });
                }
            })
        };
        Self {
            url,
            connections,
            task,
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// The answer of a created task, as the service sends it.
pub const TASK_CREATED: &[u8] = br#"{"Response":{"TaskId":1000696,"RequestId":"r-1"}}"#;

/// Reads the request's body to its end, then answers 200 with `answer`.
pub async fn answer(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    answer: &'static [u8],
) {
    let mut body = request.into_body();
    while let Some(Ok(data)) = body.data().await {
        let _ = body.flow_control().release_capacity(data.len());
    }
    let head = http::Response::builder()
        .header("content-type", "application/json")
        .body(())
        .unwrap();
    if let Ok(mut stream) = respond.send_response(head, false) {
        let _ = stream.send_data(Bytes::from_static(answer), true);
    }
}
