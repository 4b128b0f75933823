//! pxb-ports against real listeners on 127.0.0.1 that the test opens: open, refused,
//! silent and wrong-protocol ports. Listeners live as long as the test's runtime.

use crate::common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone, Copy)]
enum Behaviour {
    Http,
    Http2,
    Silent,
}

/// A listener on a free loopback port answering every connection the given way.
async fn listener(behaviour: Behaviour) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 256];
                let _ = socket.read(&mut buffer).await;
                match behaviour {
                    Behaviour::Http => {
                        let _ = socket
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                            .await;
                    }
                    Behaviour::Http2 => {
                        let _ = socket.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await;
                    }
                    Behaviour::Silent => {
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await
                    }
                }
            });
        }
    });
    port
}

/// A port nothing listens on: bound, then released.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn ports_check(rest: u16, grpc: u16) -> (Option<i32>, serde_json::Value) {
    let fake = FakeArm::serving("ready").await;
    let (rest, grpc) = (rest.to_string(), grpc.to_string());
    let args = [
        "-o",
        "json",
        "--pxb-endpoint",
        "127.0.0.1",
        "--pxb-rest-port",
        &rest,
        "--pxb-grpc-port",
        &grpc,
        "--probe-timeout-ms",
        "400",
    ];
    let output = run(fake.check("ready", &args)).await;
    let report = json_of(&output);
    (output.status.code(), check_of(&report, "pxb-ports").clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn open_ports_speaking_their_protocols_pass() {
    let (code, check) = ports_check(
        listener(Behaviour::Http).await,
        listener(Behaviour::Http2).await,
    )
    .await;
    assert_eq!(check["status"], "pass", "{check}");
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_silent_and_wrong_protocol_are_told_apart() {
    let (code, check) = ports_check(closed_port().await, listener(Behaviour::Silent).await).await;
    assert_eq!(code, Some(1));
    assert_eq!(check["status"], "fail");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("REST port") && message.contains("connection refused"),
        "{message}"
    );
    assert!(
        message.contains("gRPC port") && message.contains("answered nothing within"),
        "{message}"
    );

    let (_, check) = ports_check(
        listener(Behaviour::Http2).await,
        listener(Behaviour::Http).await,
    )
    .await;
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("REST port") && message.contains("not with an HTTP/1.1 answer"),
        "{message}"
    );
    assert!(
        message.contains("gRPC port")
            && message.contains("not with an HTTP/2 SETTINGS frame")
            && message.contains("HTTP/1.1 404"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_must_be_a_host() {
    let fake = FakeArm::serving("ready").await;
    let output = run(fake.check(
        "ready",
        &["--pxb-endpoint", "https://pxb.contoso.com:10001"],
    ))
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("must be a host name or address"));
}
