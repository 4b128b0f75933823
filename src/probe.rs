//! TCP probes of the PXB server: connect to a port and check it speaks the expected
//! protocol: HTTP/1.1 on the REST port (any `HTTP/` status line), HTTP/2 on the gRPC port
//! (a SETTINGS frame in answer to the client preface). The collector runs these; the result
//! is a raw observation like an ARM read. Plaintext only: a TLS listener reads as "wrong
//! protocol", which the message says.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the probed port must speak; bundles record it by [`Protocol::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http1 => "http",
            Protocol::Http2 => "http2",
        }
    }

    /// The protocol of a [`Protocol::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Protocol::Http1, Protocol::Http2]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

/// The HTTP/2 client connection preface and an empty SETTINGS frame (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
const H2_SETTINGS: u8 = 0x04;

/// Probes `host:port`; the answer is the raw observation a bundle stores.
pub async fn probe(host: &str, port: u16, protocol: Protocol, timeout: Duration) -> Value {
    let started = Instant::now();
    let elapsed = |started: Instant| started.elapsed().as_millis() as u64;
    let stream = match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Err(_) => {
            return json!({"outcome": "timeout", "stage": "connect", "elapsed_ms": elapsed(started)})
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return json!({"outcome": "refused", "elapsed_ms": elapsed(started)})
        }
        Ok(Err(e)) => {
            return json!({"outcome": "error", "detail": e.to_string(), "elapsed_ms": elapsed(started)})
        }
        Ok(Ok(stream)) => stream,
    };
    let request: Vec<u8> = match protocol {
        Protocol::Http1 => {
            format!("GET / HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n")
                .into_bytes()
        }
        Protocol::Http2 => H2_PREFACE.to_vec(),
    };
    let answer = tokio::time::timeout(timeout, exchange(stream, &request)).await;
    let elapsed_ms = elapsed(started);
    match answer {
        Err(_) => json!({"outcome": "timeout", "stage": "answer", "elapsed_ms": elapsed_ms}),
        Ok(Err(e)) => {
            json!({"outcome": "error", "detail": e.to_string(), "elapsed_ms": elapsed_ms})
        }
        Ok(Ok(bytes)) => {
            let speaks = match protocol {
                Protocol::Http1 => bytes.starts_with(b"HTTP/"),
                Protocol::Http2 => bytes.len() >= 9 && bytes[3] == H2_SETTINGS,
            };
            let first_line = String::from_utf8_lossy(&bytes)
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_control())
                .take(60)
                .collect::<String>();
            json!({"outcome": if speaks { "answered" } else { "wrong-protocol" }, "first_bytes": first_line, "elapsed_ms": elapsed_ms})
        }
    }
}

async fn exchange(mut stream: TcpStream, request: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(request).await?;
    let mut buffer = vec![0u8; 64];
    let mut read = 0;
    while read < 9 {
        let n = stream.read(&mut buffer[read..]).await?;
        if n == 0 {
            break;
        }
        read += n;
    }
    buffer.truncate(read);
    Ok(buffer)
}
