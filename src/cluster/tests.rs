//! Unit tests of the cluster manager. Most of them start real (throwaway) clusters with the
//! installed PostgreSQL, so they exercise initdb, start, reuse, stop and the reaper end to end.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::dirs::{set_mode, socket_path, RunAs};
use super::embedded::{plan_embedded, sanitize_path_name};
use super::options::conninfo_quote;
use super::reaper::spawn_reaper;
use super::throwaway::{make_temp_dir, port_looks_free, random_port};
use super::*;

async fn connect(conn: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(conn, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?.lines().next()?.trim().parse().ok()
}

fn pid_alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok() && proc_state(pid).is_some_and(|s| s != "Z")
}

fn proc_state(pid: i32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(") ")? + 2..];
    rest.split_whitespace().next().map(str::to_string)
}

#[test]
fn finds_installed_binaries() {
    let b = PgBinaries::find().unwrap();
    assert_eq!(b.dir, PathBuf::from("/usr/lib/postgresql/15/bin"));
    // Versioned search alone finds it too.
    let b = PgBinaries::find_in(&[], &[PathBuf::from(VERSIONED_BIN_ROOT)]).unwrap();
    assert_eq!(b.dir, PathBuf::from("/usr/lib/postgresql/15/bin"));
}

#[test]
fn no_binaries_error_is_one_line() {
    let err = PgBinaries::find_in(&[], &[PathBuf::from("/nonexistent/postgresql")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no PostgreSQL server binaries found (looked for initdb/pg_ctl on PATH and in /nonexistent/postgresql/*/bin); install them, e.g. apt-get install postgresql"
    );
    let err = PgBinaries::find_in(&[], &[]).unwrap_err();
    assert!(matches!(err, ClusterError::NoBinaries { .. }));
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn error_messages() {
    let e = ClusterError::NoPostgresUser.to_string();
    assert!(e.starts_with("as root, PostgreSQL runs as the 'postgres' OS user, which does not exist"));
    let e = ClusterError::NotReachable { path: "/root/x/.rowgate".into(), blocker: "/root".into() }.to_string();
    assert!(e.starts_with("the postgres user cannot reach /root/x/.rowgate (directory /root is not traversable by it)"));
    assert!(!e.contains('\n'));
}

#[test]
fn conf_and_conninfo_quoting() {
    let mut o = ClusterOptions::new("/d/data", "/d/my run");
    o.fast = true;
    o.socket_port = Some(23456);
    o.extra_conf = vec![("max_connections".into(), "200".into()), ("application_name".into(), "it's".into())];
    let t = o.conf_text().unwrap();
    assert!(t.contains("listen_addresses = ''\n"));
    assert!(t.contains("port = '23456'\n"));
    assert!(t.contains("unix_socket_directories = '/d/my run'\n"));
    assert!(t.contains("fsync = 'off'\n"));
    assert!(t.contains("max_connections = '200'\n"));
    assert!(t.contains("application_name = 'it''s'\n"));
    o.tcp_port = Some(30000);
    assert_eq!(o.port(), 30000);
    assert!(o.conf_text().unwrap().contains("listen_addresses = '127.0.0.1'\n"));
    o.extra_conf = vec![("bad key".into(), "1".into())];
    assert!(matches!(o.conf_text(), Err(ClusterError::BadSetting(_))));
    assert_eq!(conninfo_quote("/a b/c"), "'/a b/c'");
    assert_eq!(conninfo_quote("/tmp/x"), "/tmp/x");
    assert_eq!(o.log_path(), PathBuf::from("/d/postgres.log"));
}

#[test]
fn embedded_plan_fallbacks() {
    let nobody = RunAs { uid: 54321, gid: 54321, name: "postgres".into(), home: "/".into() };
    let fallback = Path::new("/var/lib/rowgate");
    // Traversable cwd: stays put.
    let plan = plan_embedded(Path::new("/tmp/proj"), Some(&nobody), fallback);
    assert_eq!(plan.base, PathBuf::from("/tmp/proj/.rowgate"));
    assert_eq!(plan.notice, None);
    // A 0700 directory blocks the postgres user.
    let tmp = make_temp_dir("rowgate-plan-test").unwrap();
    set_mode(&tmp, 0o700).unwrap();
    let cwd = tmp.join("proj dir");
    let plan = plan_embedded(&cwd, Some(&nobody), fallback);
    assert!(plan.base.starts_with(fallback), "{plan:?}");
    let name = plan.base.file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.contains("plan-test-"), "{name}");
    assert!(name.len() <= 49 && name.contains("_proj_dir-"), "{name}");
    assert!(!name.contains(' '));
    let notice = plan.notice.unwrap();
    assert!(notice.contains(&format!("(directory {} is not traversable by it)", tmp.display())), "{notice}");
    std::fs::remove_dir(&tmp).unwrap();
    // Too long socket path.
    let long = PathBuf::from(format!("/tmp/{}", "x".repeat(90)));
    let plan = plan_embedded(&long, Some(&nobody), fallback);
    assert!(plan.base.starts_with(fallback));
    assert!(plan.notice.unwrap().contains("bytes"));
    assert!(socket_path(&plan.socket_dir, DEFAULT_PORT).as_os_str().len() <= MAX_SOCKET_PATH);
    // Not root, too long: only the socket moves.
    let plan = plan_embedded(&long, None, fallback);
    assert_eq!(plan.base, long.join(".rowgate"));
    assert!(plan.tmp_socket);
    assert!(plan.socket_dir.to_string_lossy().starts_with(&format!("/tmp/rowgate-{}/", nix::unistd::getuid())));
    // Stable names.
    assert_eq!(sanitize_path_name(Path::new("/root/x")), sanitize_path_name(Path::new("/root/x")));
    assert_ne!(sanitize_path_name(Path::new("/a/b_c")), sanitize_path_name(Path::new("/a_b/c")));
}

#[tokio::test(flavor = "multi_thread")]
async fn throwaway_connect_and_stop() {
    let t = Instant::now();
    let c = start_throwaway().await.unwrap();
    eprintln!("start_throwaway took {:?}", t.elapsed());
    assert!(c.started_by_us());
    let conn = c.conn_string("postgres", "postgres");
    assert!(conn.starts_with(&format!("host={} port={} ", c.socket_dir().display(), c.port())));
    let client = connect(&conn).await.unwrap();
    let one: i32 = client.query_one("select 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    let fsync: String = client.query_one("show fsync", &[]).await.unwrap().get(0);
    assert_eq!(fsync, "off");
    let enc: String = client.query_one("show server_encoding", &[]).await.unwrap().get(0);
    assert_eq!(enc, "UTF8");
    drop(client);
    let t = Instant::now();
    c.stop().await.unwrap();
    eprintln!("stop took {:?}", t.elapsed());
    assert!(connect(&conn).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn second_start_reuses() {
    let c1 = start_throwaway().await.unwrap();
    let version_file = c1.data_dir().join("PG_VERSION");
    let mtime = std::fs::metadata(&version_file).unwrap().modified().unwrap();
    let c2 = Cluster::start(c1.options().clone()).await.unwrap();
    assert!(!c2.started_by_us());
    assert_eq!(c2.port(), c1.port());
    assert_eq!(c2.socket_dir(), c1.socket_dir());
    assert_eq!(std::fs::metadata(&version_file).unwrap().modified().unwrap(), mtime);
    // Stopping a reused cluster is a no-op.
    c2.stop().await.unwrap();
    let client = connect(&c2.conn_string("postgres", "postgres")).await.unwrap();
    client.simple_query("select 1").await.unwrap();
    drop(client);
    c1.stop().await.unwrap();
    assert!(connect(&c1.conn_string("postgres", "postgres")).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_start_and_reuse() {
    let cwd = make_temp_dir("rowgate-embedded-test").unwrap();
    let (c1, notice) = start_embedded(&cwd).await.unwrap();
    c1.stop_when_process_exits(Some(&cwd)).unwrap();
    assert_eq!(notice, None);
    assert!(c1.started_by_us());
    assert_eq!(c1.port(), DEFAULT_PORT);
    assert!(cwd.join(".rowgate/pgdata/PG_VERSION").exists());
    assert!(cwd.join(".rowgate/postgres.log").exists());
    assert_eq!(c1.socket_dir(), cwd.join(".rowgate/run"));
    let fsync: String = connect(&c1.conn_string("postgres", "postgres"))
        .await
        .unwrap()
        .query_one("show fsync", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(fsync, "on");
    let (c2, _) = start_embedded(&cwd).await.unwrap();
    assert!(!c2.started_by_us());
    assert_eq!(c2.port(), DEFAULT_PORT);
    c1.stop().await.unwrap();
    assert!(connect(&c1.conn_string("postgres", "postgres")).await.is_err());
    // Persistent: starting again after a stop re-uses the data (no initdb) and starts.
    let (c3, _) = start_embedded(&cwd).await.unwrap();
    assert!(c3.started_by_us());
    c3.stop().await.unwrap();
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn start_failure_includes_log_tail() {
    let err = start_throwaway_with(vec![("shared_buffers".into(), "lots".into())]).await.unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(matches!(err, ClusterError::Start { .. }));
    assert!(msg.starts_with("PostgreSQL failed to start (data directory /tmp/rowgate-pg-"));
    assert!(msg.contains("invalid value for parameter \"shared_buffers\""), "{msg}");
    assert!(!err.is_port_in_use());
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_and_port_collision() {
    let base = make_temp_dir("rowgate-collision-test").unwrap();
    let port = (0..100).map(|_| random_port()).find(|&p| port_looks_free(&base.join("run"), p, true)).unwrap();
    let mut a = ClusterOptions::new(base.join("a"), base.join("run"));
    a.fast = true;
    a.tcp_port = Some(port);
    let ca = Cluster::start(a).await.unwrap();
    ca.stop_when_process_exits(Some(&base)).unwrap();
    assert_eq!(ca.port(), port);
    let tcp = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
    connect(&tcp).await.unwrap().simple_query("select 1").await.unwrap();
    // Second cluster, same socket dir and port: must fail as "port in use".
    let mut b = ClusterOptions::new(base.join("b"), base.join("run"));
    b.fast = true;
    b.socket_port = Some(port);
    let err = Cluster::start(b).await.unwrap_err();
    eprintln!("{err}");
    assert!(err.is_port_in_use(), "{err}");
    ca.stop().await.unwrap();
    std::fs::remove_dir_all(&base).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn reaper_stops_cluster_and_removes_dir_when_watched_process_exits() {
    let base = make_temp_dir("rowgate-reaper-test").unwrap();
    let mut opts = ClusterOptions::new(base.join("data"), base.join("run"));
    opts.fast = true;
    opts.socket_port = Some(random_port());
    let c = Cluster::start(opts).await.unwrap();
    let pm = postmaster_pid(c.data_dir()).unwrap();
    assert!(pid_alive(pm));
    let mut child = std::process::Command::new("sleep").arg("2").spawn().unwrap();
    spawn_reaper(child.id(), c.binaries(), c.run_as.as_ref(), c.data_dir(), Some(&base)).unwrap();
    // The child is deliberately not waited for: as a zombie it must count as exited.
    let t = Instant::now();
    while (base.exists() || pid_alive(pm)) && t.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("reaper finished after {:?}", t.elapsed());
    assert!(!pid_alive(pm), "postmaster still running");
    assert!(!base.exists(), "dir not removed");
    assert!(t.elapsed() < Duration::from_secs(10));
    child.wait().unwrap();
    assert!(connect(&c.conn_string("postgres", "postgres")).await.is_err());
}
