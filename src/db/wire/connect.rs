//! Opening a request connection: the socket (with TCP keep-alives and no Nagle delay), TLS
//! negotiated here as `sslmode` asks, then tokio-postgres's start-up and authentication (md5,
//! SCRAM) over the borrowed socket, which comes back to us at ReadyForQuery.

use std::time::Duration;

use bytes::BytesMut;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::NoTls;

use super::socket::{Handoff, Socket};
use crate::db::DbError;
use crate::tls::client::{describe_host, DEFAULT_PORT};
use crate::tls::{PgTarget, Policy};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

fn unavailable(what: impl std::fmt::Display) -> DbError {
    DbError::Unavailable(what.to_string())
}

/// Connects to the first host of the URL that answers, like libpq.
pub async fn connect(target: &PgTarget) -> Result<Socket, DbError> {
    connect_as(target, StartUp::Request).await
}

/// What the start-up asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum StartUp {
    /// A regular session (tokio-postgres performs the start-up).
    Request,
    /// A logical replication session (`replication=database`, start-up in `replication.rs`).
    Replication,
}

pub(super) async fn connect_as(target: &PgTarget, mode: StartUp) -> Result<Socket, DbError> {
    let config = &target.config;
    let hosts = config.get_hosts();
    let ports = config.get_ports();
    if hosts.is_empty() {
        return Err(unavailable("DATABASE_URL names no host"));
    }
    let hostaddrs = config.get_hostaddrs();
    let mut last = unavailable("no host answered");
    for (i, host) in hosts.iter().enumerate() {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(DEFAULT_PORT);
        // `hostaddr` names the address to dial; the host name still goes to TLS.
        let addr = hostaddrs.get(i).copied();
        match tokio::time::timeout(CONNECT_TIMEOUT, connect_host(target, host, addr, port, mode)).await {
            Ok(Ok(socket)) => return Ok(socket),
            Ok(Err(e)) => last = e,
            Err(_) => last = unavailable(format!("connecting to {} timed out", describe_host(host, port))),
        }
    }
    Err(last)
}

async fn connect_host(
    target: &PgTarget,
    host: &Host,
    addr: Option<std::net::IpAddr>,
    port: u16,
    mode: StartUp,
) -> Result<Socket, DbError> {
    let io = |e: std::io::Error| unavailable(format!("{}: {e}", describe_host(host, port)));
    let socket = match host {
        Host::Unix(dir) => Socket::Unix(UnixStream::connect(dir.join(format!(".s.PGSQL.{port}"))).await.map_err(io)?),
        Host::Tcp(name) => {
            let tcp = match addr {
                Some(ip) => TcpStream::connect((ip, port)).await,
                None => TcpStream::connect((name.trim_start_matches('[').trim_end_matches(']'), port)).await,
            }
            .map_err(io)?;
            tcp.set_nodelay(true).map_err(io)?;
            // A database host that vanished without closing the socket fails the connection
            // within about a minute instead of the kernel's two hours.
            let keepalive = socket2::TcpKeepalive::new()
                .with_time(Duration::from_secs(30))
                .with_interval(Duration::from_secs(10))
                .with_retries(3);
            socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive).map_err(io)?;
            negotiate_tls(target, name, tcp).await?
        }
    };
    match mode {
        StartUp::Request => start_up(target, socket).await,
        StartUp::Replication => super::replication::start_up(target, socket).await,
    }
}

/// SSLRequest and the handshake, as the target's policy says.
async fn negotiate_tls(target: &PgTarget, host: &str, mut tcp: TcpStream) -> Result<Socket, DbError> {
    if target.policy == Policy::Plain {
        return Ok(Socket::Tcp(tcp));
    }
    let io = |e: std::io::Error| unavailable(format!("TLS negotiation with {host}: {e}"));
    let mut request = BytesMut::new();
    postgres_protocol::message::frontend::ssl_request(&mut request);
    tcp.write_all(&request).await.map_err(io)?;
    let answer = tcp.read_u8().await.map_err(io)?;
    match (answer, target.policy) {
        (b'S', _) => {}
        (b'N', Policy::Opportunistic) => return Ok(Socket::Tcp(tcp)),
        (b'N', _) => return Err(unavailable(format!("{host} does not offer TLS, which sslmode requires"))),
        (other, _) => return Err(unavailable(format!("unexpected answer {other:#x} to SSLRequest from {host}"))),
    }
    let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_string())
        .map_err(|e| unavailable(format!("{host} is not a valid TLS server name: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(target.rustls.clone());
    let tls = connector.connect(name, tcp).await.map_err(io)?;
    Ok(Socket::Tls(Box::new(tls)))
}

/// Start-up message, authentication and the server's parameters, by tokio-postgres.
async fn start_up(target: &PgTarget, socket: Socket) -> Result<Socket, DbError> {
    let mut config = target.config.clone();
    // TLS is already in place (or refused) below the borrowed stream.
    config.ssl_mode(SslMode::Disable);
    if config.get_application_name().is_none() {
        config.application_name("rowgate");
    }
    let handoff = Handoff::new(socket);
    let (client, connection) = config.connect_raw(handoff.clone(), NoTls).await.map_err(|e| match e.as_db_error() {
        Some(db) => unavailable(format!("{}: {}", db.code().code(), db.message())),
        None => unavailable(e),
    })?;
    drop(client);
    drop(connection);
    handoff.reclaim().ok_or_else(|| unavailable("the connection's socket was not handed back"))
}
