//! Issue 11: HTTPS to a private or self-signed CA. Against a real TLS server on 127.0.0.1
//! whose CA is made in the test: refused without the CA (a typed error saying what to do),
//! loaded with it; the uploader never retries a TLS failure.

use crate::support::tls::{Ca, Identity, TlsServer};
use crate::support::*;
use webimage::{
    Config, Error, ImageLoader, TlsConfig, TlsRoots, UploadConfig, UploadItem, Uploader,
};

fn with_roots(tls: TlsConfig) -> ImageLoader {
    ImageLoader::new(Config { tls, ..config(1) }).unwrap()
}

#[test]
fn a_private_ca_is_refused_until_it_is_trusted() {
    let ca = Ca::new("webimage test CA");
    let server = TlsServer::start(Identity::IssuedBy(&ca), png(7, 5, 1));
    let url = server.url("/a.png");
    let loader = with_roots(TlsConfig::default());
    let err = loader.load_blocking(url.as_str()).unwrap_err();
    match &err {
        Error::Tls { message, .. } => {
            assert!(
                message.contains("not issued by a trusted root"),
                "{message}"
            );
            assert!(message.contains("extra_roots_pem"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        std::error::Error::source(&err).is_some(),
        "rustls's error is the source"
    );
    assert_eq!(
        loader.failed_len(),
        0,
        "a TLS failure is not the image's fault"
    );
    assert_eq!(server.requests(), 0);
    // Trusted in addition to the bundled roots: it loads.
    let trusted = with_roots(TlsConfig {
        extra_roots_pem: vec![ca.pem().into_bytes()],
        ..TlsConfig::default()
    });
    let image = trusted.load_blocking(url.as_str()).unwrap();
    assert_eq!((image.width(), image.height()), (7, 5));
    // From a file, as an app or the CLI would.
    let dir = TempDir::new("ca");
    let file = dir.path().join("ca.pem");
    std::fs::write(&file, ca.pem()).unwrap();
    let from_file = with_roots(TlsConfig::default().with_pem_file(&file).unwrap());
    assert!(from_file.load_blocking(url.as_str()).is_ok());
    // The platform's store does not know this CA either; with it added, it loads.
    let platform = with_roots(TlsConfig {
        roots: TlsRoots::Platform,
        extra_roots_pem: vec![ca.pem().into_bytes()],
    });
    assert!(platform.load_blocking(url.as_str()).is_ok());
}

#[test]
fn a_self_signed_certificate_can_be_trusted_unless_it_is_a_ca_used_directly() {
    let leaf = TlsServer::start(Identity::SelfSignedLeaf, png(4, 4, 1));
    let pem = leaf.self_signed_pem.clone().unwrap();
    let loader = with_roots(TlsConfig {
        extra_roots_pem: vec![pem.into_bytes()],
        ..TlsConfig::default()
    });
    assert!(loader.load_blocking(leaf.url("/a.png")).is_ok());
    // What `openssl req -x509` makes by default: a CA certificate as the server's own.
    let server = TlsServer::start(Identity::SelfSignedCa, png(4, 4, 1));
    let pem = server.self_signed_pem.clone().unwrap();
    let loader = with_roots(TlsConfig {
        extra_roots_pem: vec![pem.into_bytes()],
        ..TlsConfig::default()
    });
    let err = loader.load_blocking(server.url("/a.png")).unwrap_err();
    match &err {
        Error::Tls { message, .. } => {
            assert!(message.contains("CA certificate as its own"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // A readable message, not a raw debug string.
    assert!(!err.to_string().contains("OtherError("), "{err}");
}

#[test]
fn bad_pem_is_a_configuration_error() {
    for pem in [b"not a certificate".to_vec(), Vec::new()] {
        let result = ImageLoader::new(Config {
            tls: TlsConfig {
                extra_roots_pem: vec![pem],
                ..TlsConfig::default()
            },
            ..config(1)
        });
        assert!(matches!(result, Err(Error::Config(_))), "{result:?}");
    }
    assert!(matches!(
        TlsConfig::default().with_pem_file("/no/such/ca.pem"),
        Err(Error::Config(_))
    ));
}

#[test]
fn the_uploader_never_retries_a_tls_failure_and_uploads_once_the_ca_is_trusted() {
    let ca = Ca::new("webimage upload CA");
    let server = TlsServer::start(Identity::IssuedBy(&ca), b"ok".to_vec());
    let dir = TempDir::new("tls-upload");
    let file = dir.path().join("a.png");
    std::fs::write(&file, png(4, 4, 1)).unwrap();
    let untrusted = Uploader::new(UploadConfig {
        max_retries: 3,
        retry_backoff: std::time::Duration::from_millis(1),
        ..UploadConfig::default()
    })
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    untrusted.enqueue(UploadItem::put(server.url("/up"), &file), move |r| {
        tx.send(r).unwrap();
    });
    let failure = rx.recv().unwrap().unwrap_err();
    assert!(matches!(failure.error, Error::Tls { .. }), "{failure:?}");
    assert_eq!(failure.attempts, 1, "not retried");
    assert!(!failure.journaled);
    let trusted = Uploader::new(UploadConfig {
        tls: TlsConfig {
            extra_roots_pem: vec![ca.pem().into_bytes()],
            ..TlsConfig::default()
        },
        ..UploadConfig::default()
    })
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    trusted.enqueue(UploadItem::put(server.url("/up"), &file), move |r| {
        tx.send(r).unwrap();
    });
    let response = rx.recv().unwrap().unwrap();
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"ok"[..])
    );
}

#[cfg(feature = "cli")]
#[test]
fn the_cli_trusts_ca_cert_files_and_ssl_cert_file() {
    use crate::cli::{assert_clean_errors, text, tool};
    let ca = Ca::new("webimage CLI CA");
    let server = TlsServer::start(Identity::IssuedBy(&ca), png(9, 6, 1));
    let dir = TempDir::new("cli-tls");
    let pem = dir.path().join("ca.pem");
    std::fs::write(&pem, ca.pem()).unwrap();
    let out = dir.path().join("out");
    let url = server.url("/a.png");
    let get = |extra: &[&str], env: Option<&std::path::Path>| {
        let mut command = tool(&dir.path().join("cache"));
        command.env_remove("SSL_CERT_FILE");
        if let Some(file) = env {
            command.env("SSL_CERT_FILE", file);
        }
        command
            .args(["get", url.as_str(), "--out", out.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = get(&["--no-disk-cache"], None);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("not issued by a trusted root"));
    assert_clean_errors(&refused);
    let with_flag = get(
        &["--no-disk-cache", "--ca-cert", pem.to_str().unwrap()],
        None,
    );
    assert!(with_flag.status.success(), "{}", text(&with_flag.stderr));
    assert!(out.join("a.png").is_file());
    std::fs::remove_file(out.join("a.png")).unwrap();
    let with_env = get(&["--no-disk-cache"], Some(&pem));
    assert!(with_env.status.success(), "{}", text(&with_env.stderr));
    let missing = get(&["--ca-cert", "/no/such/ca.pem"], None);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing.stderr));
    assert_clean_errors(&missing);
}

#[test]
fn the_record_times_the_tls_handshake_apart_from_the_connect() {
    const DELAY: std::time::Duration = std::time::Duration::from_millis(300);
    let ca = Ca::new("webimage test CA");
    let server = TlsServer::start_slow(Identity::IssuedBy(&ca), png(7, 5, 1), DELAY);
    let loader = with_roots(TlsConfig {
        extra_roots_pem: vec![ca.pem().into_bytes()],
        ..TlsConfig::default()
    });
    let (image, m) = measured(&loader, server.url("/a.png"));
    assert_eq!(image.unwrap().width(), 7);
    let net = m.network.expect("network figures");
    assert_eq!(net.status, Some(200));
    assert!(net.connect.is_some(), "a TCP connection was made: {net:?}");
    let tls = net.tls.expect("a TLS handshake");
    // The server held the handshake, not the TCP connect (the kernel accepts that at once).
    assert!(tls >= DELAY, "the handshake waited {DELAY:?}: {net:?}");
    assert!(net.first_byte >= tls, "{net:?}");

    // The same loader over plain HTTP: no handshake.
    let plain = Server::start();
    plain.route("/b.png", Route::ok(png(3, 3, 1)));
    let (_, m) = measured(&loader, plain.url("/b.png"));
    let net = m.network.expect("network figures");
    assert!(net.connect.is_some(), "{net:?}");
    assert_eq!(net.tls, None, "http: has no TLS: {net:?}");
}
