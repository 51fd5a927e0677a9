//! The HTTPS listener: HTTP/2 and HTTP/1.1 for a client trusting the test CA, and SIGHUP reloads
//! in the real binary (new connections get the new certificate, open ones stay, a broken file
//! keeps the old certificate with one error line).

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::{http1, http2};
use hyper::{Request, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::pki::{self, Ca, Leaf};
use crate::harness::{Gateway, TestDb, SECRET};

const PATH: &str = "/items?select=id&order=id";

fn write_pair(dir: &Path, leaf: &Leaf) -> (String, String) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &leaf.cert_pem).unwrap();
    std::fs::write(&key, &leaf.key_pem).unwrap();
    (cert.to_string_lossy().into_owned(), key.to_string_lossy().into_owned())
}

/// A TLS connection to `localhost` offering `alpn`.
async fn handshake(ca: &Ca, port: u16, alpn: &[u8]) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(ca.client_config(&[alpn])));
    connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await
}

/// The certificate a new connection is given.
async fn served_cert(ca: &Ca, port: u16) -> Vec<u8> {
    let tls = handshake(ca, port, b"http/1.1").await.expect("TLS handshake");
    tls.get_ref().1.peer_certificates().expect("a certificate")[0].to_vec()
}

/// An HTTP/1.1 connection kept open across requests.
async fn http1_conn(ca: &Ca, port: u16) -> http1::SendRequest<Empty<Bytes>> {
    let tls = handshake(ca, port, b"http/1.1").await.unwrap();
    let (send, conn) = http1::handshake(TokioIo::new(tls)).await.unwrap();
    tokio::spawn(conn);
    send
}

async fn get1(send: &mut http1::SendRequest<Empty<Bytes>>) -> (Version, u16, String) {
    let req = Request::get(PATH).header("host", "localhost").body(Empty::new()).unwrap();
    let resp = send.send_request(req).await.expect("the connection is open");
    let (version, status) = (resp.version(), resp.status().as_u16());
    (version, status, String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned())
}

async fn get2(ca: &Ca, port: u16) -> (Version, u16, String) {
    let tls = handshake(ca, port, b"h2").await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "ALPN picked h2");
    let (mut send, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await.unwrap();
    tokio::spawn(conn);
    let req = Request::get(format!("https://localhost{PATH}")).body(Empty::<Bytes>::new()).unwrap();
    let resp = send.send_request(req).await.unwrap();
    let (version, status) = (resp.version(), resp.status().as_u16());
    (version, status, String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned())
}

#[tokio::test]
async fn https_serves_http2_and_http1_beside_plain_http() {
    let dir = pki::dir();
    let ca = Ca::new("rowgate test CA");
    let (cert, key) = write_pair(dir.path(), &ca.leaf(&["localhost"], 1));
    let g = Gateway::start_with(|a| {
        a.tls_cert = Some(cert);
        a.tls_key = Some(key);
        a.tls_listen = Some("127.0.0.1:0".into());
    })
    .await;
    let port = g.running.tls_addr.expect("an HTTPS listener").port();
    let plain = g.get(PATH).await;
    assert_eq!(plain.status, 200);

    assert_eq!(get2(&ca, port).await, (Version::HTTP_2, 200, plain.body.clone()));
    let mut h1 = http1_conn(&ca, port).await;
    assert_eq!(get1(&mut h1).await, (Version::HTTP_11, 200, plain.body.clone()));
    // A client that does not trust the CA is refused.
    assert!(handshake(&Ca::new("another CA"), port, b"h2").await.is_err());
    g.running.shutdown().await;
}

/// The real binary, killed when dropped; its stderr is collected as it comes.
struct Rowgate {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Rowgate {
    fn start(db: &TestDb, ports: [u16; 3], cert: &str, key: &str) -> Rowgate {
        let [api, admin, tls] = ports;
        let mut child = Command::new(env!("CARGO_BIN_EXE_rowgate"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db.url())
            .env("ROWGATE_JWT_SECRET", SECRET)
            .env("ROWGATE_LISTEN", format!("127.0.0.1:{api}"))
            .env("ROWGATE_ADMIN_LISTEN", format!("127.0.0.1:{admin}"))
            .env("ROWGATE_TLS_LISTEN", format!("127.0.0.1:{tls}"))
            .env("ROWGATE_TLS_CERT", cert)
            .env("ROWGATE_TLS_KEY", key)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (mut pipe, sink) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Rowgate { child, stderr }
    }

    fn hangup(&self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    }

    fn lines_with(&self, text: &str) -> Vec<String> {
        self.stderr.lock().unwrap().lines().filter(|l| l.contains(text)).map(str::to_string).collect()
    }

    /// Waits until `text` has appeared `n` times on stderr.
    async fn wait_for_line(&self, text: &str, n: usize) {
        let start = Instant::now();
        while self.lines_with(text).len() < n {
            assert!(start.elapsed() < Duration::from_secs(10), "no {text:?} in {}", self.stderr.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Rowgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn sighup_swaps_the_certificate_and_a_broken_file_keeps_the_old_one() {
    let db = TestDb::new().await;
    let dir = pki::dir();
    let ca = Ca::new("rowgate test CA");
    let (first, second) = (ca.leaf(&["localhost"], 1001), ca.leaf(&["localhost"], 1002));
    let (cert, key) = write_pair(dir.path(), &first);
    let ports = [free_port(), free_port(), free_port()];
    let rowgate = Rowgate::start(&db, ports, &cert, &key);
    let ready = format!("http://127.0.0.1:{}/ready", ports[1]);
    let start = Instant::now();
    while !reqwest::get(&ready).await.is_ok_and(|r| r.status() == 200) {
        assert!(start.elapsed() < Duration::from_secs(30), "never ready: {}", rowgate.stderr.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tls = ports[2];
    assert_eq!(served_cert(&ca, tls).await, first.der);
    let mut open = http1_conn(&ca, tls).await;
    assert_eq!(get1(&mut open).await.1, 200);

    // New certificate and key in place, then SIGHUP.
    write_pair(dir.path(), &second);
    rowgate.hangup();
    rowgate.wait_for_line("TLS certificate reloaded", 1).await;
    assert_eq!(served_cert(&ca, tls).await, second.der);
    assert_eq!(get1(&mut open).await.1, 200, "the open connection survives the reload");

    // A broken certificate file: one error line, and the second certificate stays.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n").unwrap();
    rowgate.hangup();
    rowgate.wait_for_line("TLS certificate reload failed", 1).await;
    let errors = rowgate.lines_with("TLS certificate reload failed");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("ROWGATE_TLS_CERT"), "{}", errors[0]);
    assert_eq!(served_cert(&ca, tls).await, second.der);
    assert_eq!(get1(&mut open).await.1, 200);
}
