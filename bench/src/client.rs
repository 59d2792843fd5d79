//! A small HTTP/1.1 client on one kept-alive connection: what a browser tab
//! does, without a browser's own costs in the figures.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

pub struct Client {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
    /// Sent with every request: the session cookie once signed in.
    pub cookie: Option<String>,
    /// Sent as a bearer token: an API key.
    pub bearer: Option<String>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// From sending the request to the first byte of the body.
    pub first_byte: Duration,
}

impl Reply {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_slice(&self.body).with_context(|| format!("not the JSON expected: {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(500)]).into_owned()
    }

    /// Fails with the status and the start of the body unless 2xx.
    pub fn ok(self) -> anyhow::Result<Reply> {
        anyhow::ensure!(self.status.is_success(), "HTTP {}: {}", self.status, self.text());
        Ok(self)
    }
}

/// A body read to its end in pieces, never held whole.
pub struct Streamed {
    pub status: StatusCode,
    pub bytes: u64,
    pub lines: u64,
    pub elapsed: Duration,
}

/// A new HTTP/1.1 connection to `addr`.
async fn handshake(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream =
        tokio::net::TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Client> {
        Ok(Client { addr, sender: handshake(addr).await?, cookie: None, bearer: None })
    }

    /// Another connection with the same credentials.
    pub async fn another(&self) -> anyhow::Result<Client> {
        let mut other = Client::connect(self.addr).await?;
        other.cookie = self.cookie.clone();
        other.bearer = self.bearer.clone();
        Ok(other)
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Request<Full<Bytes>> {
        let mut req = Request::builder().method(method).uri(path).header(HOST, self.addr.to_string());
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        if let Some(cookie) = &self.cookie {
            req = req.header(COOKIE, cookie);
        }
        if let Some(key) = &self.bearer {
            req = req.header(AUTHORIZATION, format!("Bearer {key}"));
        }
        req.body(Full::new(Bytes::from(body))).expect("a valid request")
    }

    /// Ready to send. The server closes a connection idle for 10 s (as it
    /// would a slow client's); the benchmark's own set-up queries can take
    /// longer, so connect again, untimed, rather than fail.
    async fn ready(&mut self) -> anyhow::Result<()> {
        if self.sender.is_closed() || self.sender.ready().await.is_err() {
            self.sender = handshake(self.addr).await?;
            self.sender.ready().await?;
        }
        Ok(())
    }

    async fn send(&mut self, req: Request<Full<Bytes>>) -> anyhow::Result<Reply> {
        self.ready().await?;
        let started = Instant::now();
        let response = self.sender.send_request(req).await?;
        let (parts, mut body) = response.into_parts();
        let mut first_byte = None;
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                first_byte.get_or_insert_with(|| started.elapsed());
                bytes.extend_from_slice(&data);
            }
        }
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body: Bytes::from(bytes),
            first_byte: first_byte.unwrap_or_else(|| started.elapsed()),
        })
    }

    pub async fn get(&mut self, path: &str) -> anyhow::Result<Reply> {
        let req = self.request(Method::GET, path, None, Vec::new());
        self.send(req).await
    }

    pub async fn post_form(&mut self, path: &str, body: String) -> anyhow::Result<Reply> {
        let req =
            self.request(Method::POST, path, Some("application/x-www-form-urlencoded"), body.into_bytes());
        self.send(req).await
    }

    pub async fn post_json(&mut self, path: &str, body: Vec<u8>) -> anyhow::Result<Reply> {
        let req = self.request(Method::POST, path, Some("application/json"), body);
        self.send(req).await
    }

    /// GETs `path` and reads the body as it arrives, counting its bytes and
    /// lines.
    pub async fn stream(&mut self, path: &str) -> anyhow::Result<Streamed> {
        let req = self.request(Method::GET, path, None, Vec::new());
        self.ready().await?;
        let started = Instant::now();
        let response = self.sender.send_request(req).await?;
        let status = response.status();
        let mut body = response.into_body();
        let (mut bytes, mut lines) = (0u64, 0u64);
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                bytes += data.len() as u64;
                lines += data.iter().filter(|b| **b == b'\n').count() as u64;
            }
        }
        Ok(Streamed { status, bytes, lines, elapsed: started.elapsed() })
    }
}
