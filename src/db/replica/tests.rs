use super::*;

fn replicas(max_lag_ms: u64, window_ms: u64) -> Replicas {
    let settings = ReplicaSettings {
        urls: vec!["postgres://u@replica.invalid/app".into()],
        max_lag: Duration::from_millis(max_lag_ms),
        read_your_writes: Duration::from_millis(window_ms),
    };
    Replicas::new(&settings, 2, Duration::from_secs(1)).unwrap().unwrap()
}

fn set(r: &Replica, up: bool, replayed: u64, lag_ms: u64) {
    r.up.store(up, Ordering::Relaxed);
    r.replayed.store(replayed, Ordering::Relaxed);
    r.lag_ms.store(lag_ms, Ordering::Relaxed);
}

#[test]
fn lsns_parse_as_postgres_prints_them() {
    assert_eq!(parse_lsn("0/16B3748"), Some(0x16B3748));
    assert_eq!(parse_lsn("1/0"), Some(1 << 32));
    assert_eq!(parse_lsn("nope"), None);
}

#[test]
fn a_replica_serves_only_when_up_and_within_the_lag_limit() {
    let rs = replicas(1000, 5000);
    let r = &rs.replicas[0];
    assert_eq!(rs.choose("ann").err(), Some(Fallback::NoneUsable), "not seen yet");
    set(r, true, 100, 0);
    assert!(rs.choose("ann").is_ok());
    set(r, true, 100, 1500);
    assert_eq!(rs.choose("ann").err(), Some(Fallback::NoneUsable), "too far behind");
    set(r, false, 100, 0);
    assert_eq!(rs.choose("ann").err(), Some(Fallback::NoneUsable), "down");
}

#[test]
fn after_a_write_its_subject_waits_for_a_later_sample_to_be_replayed() {
    let rs = replicas(1000, 5000);
    let r = &rs.replicas[0];
    set(r, true, 100, 0);
    rs.record_sample(Instant::now(), 150);
    rs.wrote("ann");
    // No sample taken after the write yet: the primary, whatever the replica has replayed.
    assert_eq!(rs.choose("ann").err(), Some(Fallback::ReadYourWrites));
    assert!(rs.choose("ben").is_ok(), "other subjects are not held back");
    std::thread::sleep(Duration::from_millis(2));
    rs.record_sample(Instant::now(), 200);
    assert_eq!(rs.choose("ann").err(), Some(Fallback::ReadYourWrites), "replayed 100 < 200");
    set(r, true, 200, 0);
    assert!(rs.choose("ann").is_ok(), "replayed past the write");
}

#[test]
fn the_window_ends_the_wait() {
    let rs = replicas(10, 30);
    set(&rs.replicas[0], true, 0, 0);
    rs.wrote("ann");
    assert_eq!(rs.choose("ann").err(), Some(Fallback::ReadYourWrites));
    std::thread::sleep(Duration::from_millis(40));
    assert!(rs.choose("ann").is_ok());
}

#[test]
fn lag_is_the_age_of_the_first_sample_past_the_replayed_position() {
    let rs = replicas(1000, 5000);
    let t0 = Instant::now();
    rs.record_sample(t0, 100);
    rs.record_sample(t0 + Duration::from_millis(100), 200);
    let now = t0 + Duration::from_millis(300);
    assert_eq!(rs.lag_of(200, now), Duration::ZERO);
    assert_eq!(rs.lag_of(150, now), Duration::from_millis(200));
    assert_eq!(rs.lag_of(50, now), Duration::from_millis(300));
}
