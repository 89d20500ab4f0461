//! A real HTTPS server on 127.0.0.1 for the TLS tests: a CA made in the test with rcgen, a
//! server certificate it issued for `localhost` and `127.0.0.1`, served by rustls. Each
//! connection answers one request with the given body and closes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A test certificate authority.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    /// The CA's certificate in PEM, what a client adds to its trusted roots.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }
}

/// How the server identifies itself.
pub enum Identity<'a> {
    /// A certificate for localhost / 127.0.0.1 issued by `ca`.
    IssuedBy(&'a Ca),
    /// A self-signed certificate used directly, marked as a CA (what `openssl req -x509`
    /// makes by default): trusted as a root, it is refused as "a CA used as an end entity".
    SelfSignedCa,
    /// A self-signed certificate used directly, not marked as a CA: it can be trusted as is.
    SelfSignedLeaf,
}

pub struct TlsServer {
    addr: SocketAddr,
    /// For the self-signed identities: the certificate, to trust it as a root.
    pub self_signed_pem: Option<String>,
    handshakes: Arc<AtomicUsize>,
}

impl TlsServer {
    pub fn start(identity: Identity<'_>, body: Vec<u8>) -> TlsServer {
        TlsServer::start_slow(identity, body, std::time::Duration::ZERO)
    }

    /// Like [`start`](Self::start), holding each connection `handshake_delay` after it is
    /// accepted before the TLS handshake begins (the TCP connection is already made).
    pub fn start_slow(
        identity: Identity<'_>,
        body: Vec<u8>,
        handshake_delay: std::time::Duration,
    ) -> TlsServer {
        let key = KeyPair::generate().unwrap();
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let mut params = CertificateParams::new(names).unwrap();
        let (cert, self_signed_pem) = match identity {
            Identity::IssuedBy(ca) => (params.signed_by(&key, &ca.issuer).unwrap(), None),
            Identity::SelfSignedCa | Identity::SelfSignedLeaf => {
                if matches!(identity, Identity::SelfSignedCa) {
                    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                }
                let cert = params.self_signed(&key).unwrap();
                let pem = cert.pem();
                (cert, Some(pem))
            }
        };
        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counted = handshakes.clone();
        let body = Arc::new(body);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (config, body, counted) = (config.clone(), body.clone(), counted.clone());
                std::thread::spawn(move || {
                    std::thread::sleep(handshake_delay);
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(conn, stream);
                    let mut reader = BufReader::new(&mut tls);
                    let mut line = String::new();
                    let (mut length, mut chunked) = (0usize, false);
                    // Read the request head; a failed handshake ends here.
                    loop {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => {
                                let lower = line.to_ascii_lowercase();
                                if let Some(v) = lower.strip_prefix("content-length:") {
                                    length = v.trim().parse().unwrap_or(0);
                                }
                                chunked |= lower.starts_with("transfer-encoding:")
                                    && lower.contains("chunked");
                            }
                        }
                    }
                    // Read the whole request body before answering: closing a socket with
                    // unread data sends a reset, which can destroy the response in flight.
                    if !drain_body(&mut reader, length, chunked) {
                        return;
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = tls.write_all(head.as_bytes());
                    let _ = tls.write_all(&body);
                    let _ = tls.flush();
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        TlsServer {
            addr,
            self_signed_pem,
            handshakes,
        }
    }

    /// `https://127.0.0.1:port<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.addr.port())
    }

    /// Requests answered (handshakes that completed and sent a request).
    pub fn requests(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

/// Reads a request body of `length` bytes, or a chunked one; `false` if the connection ended.
fn drain_body(reader: &mut impl BufRead, length: usize, chunked: bool) -> bool {
    if !chunked {
        return std::io::copy(
            &mut (&mut *reader).take(length as u64),
            &mut std::io::sink(),
        )
        .is_ok_and(|n| n == length as u64);
    }
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).unwrap_or(0) == 0 {
            return false;
        }
        let Ok(n) = u64::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16) else {
            return false;
        };
        // The chunk and its CRLF (the last chunk: just the final CRLF, no trailers here).
        let want = n + 2;
        if std::io::copy(&mut (&mut *reader).take(want), &mut std::io::sink()).ok() != Some(want) {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}
