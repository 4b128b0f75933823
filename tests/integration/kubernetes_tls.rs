//! Client-certificate authentication as `az aks get-credentials --admin` writes it: an
//! HTTPS API server (a mutual-TLS front on 127.0.0.1 that accepts only clients holding a
//! certificate of its own test CA, forwarding to the fake API server) reached through a
//! kubeconfig with `certificate-authority-data`, `client-certificate-data` and
//! `client-key-data`. Certificates are made per test with rcgen.

use crate::common::*;
use crate::kubernetes::{base64, fake_kubernetes, kubeconfig, message_of, run_json, written};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What the mutual-TLS front saw: handshakes completed with a client certificate, and
/// handshakes it refused.
#[derive(Default)]
struct Handshakes {
    accepted: usize,
    refused: usize,
}

struct Pki {
    ca_pem: String,
    server: (CertificateDer<'static>, PrivateKeyDer<'static>),
    client_cert_pem: String,
    client_key_pem: String,
    ca_der: CertificateDer<'static>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test cluster CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "masterclient");
    client_params
        .distinguished_name
        .push(DnType::OrganizationName, "system:masters");
    let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();

    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().clone(),
        server: (
            server_cert.der().clone(),
            PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
        ),
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

/// Terminates TLS on 127.0.0.1, requiring a client certificate issued by the test CA, and
/// forwards each accepted connection to `backend` in plain HTTP.
async fn mutual_tls_front(pki: &Pki, backend: SocketAddr) -> (u16, Arc<Mutex<Handshakes>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider.clone())
            .build()
            .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server.0.clone()], pki.server.1.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Handshakes::default()));
    let counts = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let counts = counts.clone();
            tokio::spawn(async move {
                match acceptor.accept(stream).await {
                    Ok(mut tls) => {
                        let with_certificate = tls.get_ref().1.peer_certificates().is_some();
                        assert!(with_certificate, "the verifier requires one");
                        counts.lock().unwrap().accepted += 1;
                        let mut plain = TcpStream::connect(backend).await.unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                    Err(_) => counts.lock().unwrap().refused += 1,
                }
            });
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_certificate_authenticates_over_mutual_tls_and_never_leaves_the_kubeconfig() {
    let pki = pki();
    let fake = FakeArm::serving("ready").await;
    let kube = fake_kubernetes(None).await;
    let (port, handshakes) = mutual_tls_front(&pki, *kube.address()).await;
    let dir = tempfile::tempdir().unwrap();
    let user = format!(
        "    client-certificate-data: {}\n    client-key-data: {}\n",
        base64(pki.client_cert_pem.as_bytes()),
        base64(pki.client_key_pem.as_bytes())
    );
    let config = kubeconfig(dir.path(), &format!("https://localhost:{port}"), &user);
    // The cluster entry must trust the test CA, as an AKS kubeconfig trusts the cluster's.
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "    server:",
        &format!(
            "    certificate-authority-data: {}\n    server:",
            base64(pki.ca_pem.as_bytes())
        ),
    );
    std::fs::write(&config, text).unwrap();
    let flags = ["--kubeconfig", config.to_str().unwrap()];

    let live = run(fake.check("ready", &[&flags[..], &["-v", "-o", "json"]].concat())).await;
    let report = run_json(&live);
    assert_eq!(
        status_of(&report, "volume-snapshot-class"),
        "pass",
        "{}",
        message_of(&report, "volume-snapshot-class")
    );
    assert_eq!(status_of(&report, "velero-absent"), "fail");
    assert!(message_of(&report, "velero-absent").contains("deployment backup-tools/velero"));
    assert_eq!(
        report["target"]["kubernetes"]["server"],
        format!("https://localhost:{port}")
    );
    {
        let seen = handshakes.lock().unwrap();
        assert!(seen.accepted >= 1, "no mutual-TLS connection was made");
        assert_eq!(
            seen.refused, 0,
            "a connection came without a valid client certificate"
        );
    }
    let requests = kube.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.method.as_str() == "GET"));
    assert!(
        requests
            .iter()
            .all(|r| !r.headers.contains_key("authorization")),
        "the certificate, not a token, authenticates"
    );

    let bundle = dir.path().join("bundle");
    let collected = run(fake.collect("ready", &bundle, &flags)).await;
    assert_eq!(
        collected.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );
    let replay =
        run(fake.command(&["check", "--bundle", bundle.to_str().unwrap(), "-o", "json"])).await;
    assert_eq!(json_of(&replay), report);

    let everything = written(&bundle, &[&live, &collected, &replay]);
    let key_body = pki
        .client_key_pem
        .lines()
        .find(|line| !line.starts_with("-----"))
        .unwrap();
    for secret in [key_body, &base64(pki.client_key_pem.as_bytes())[..40]] {
        assert!(!everything.contains(secret), "the client key leaked");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_server_certificate_from_another_ca_is_refused() {
    let pki = pki();
    let stranger = pki_from_another_ca();
    let fake = FakeArm::serving("ready").await;
    let kube = fake_kubernetes(None).await;
    let (port, _) = mutual_tls_front(&pki, *kube.address()).await;
    let dir = tempfile::tempdir().unwrap();
    let user = format!(
        "    client-certificate-data: {}\n    client-key-data: {}\n",
        base64(pki.client_cert_pem.as_bytes()),
        base64(pki.client_key_pem.as_bytes())
    );
    let config = kubeconfig(dir.path(), &format!("https://localhost:{port}"), &user);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "    server:",
        &format!(
            "    certificate-authority-data: {}\n    server:",
            base64(stranger.as_bytes())
        ),
    );
    std::fs::write(&config, text).unwrap();
    let out = run(fake.check(
        "ready",
        &["--kubeconfig", config.to_str().unwrap(), "-o", "json"],
    ))
    .await;
    let report = run_json(&out);
    assert_eq!(status_of(&report, "volume-snapshot-class"), "error");
    let message = message_of(&report, "volume-snapshot-class");
    assert!(
        message.contains("invalid peer certificate"),
        "the cause is named: {message}"
    );
    assert!(
        kube.received_requests().await.unwrap().is_empty(),
        "nothing may be sent to a server the kubeconfig does not trust"
    );
}

/// A CA certificate (PEM) unrelated to the API server's.
fn pki_from_another_ca() -> String {
    pki().ca_pem
}
