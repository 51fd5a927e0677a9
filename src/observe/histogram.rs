//! A lock-free histogram: one atomic per bucket plus an atomic sum, in microseconds.
//! (prometheus-client's own histogram takes a lock on every observation.)

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds in microseconds; the last one must be `u64::MAX` (`+Inf`).
pub type Bounds<const N: usize> = [u64; N];

/// Request latency: 0.5 ms … 5 s.
pub const LATENCY: Bounds<14> = [
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    u64::MAX,
];

/// Schema cache loads: 1 ms … 10 s.
pub const SCHEMA_LOAD: Bounds<12> =
    [1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 10_000_000, u64::MAX];

#[derive(Debug)]
pub struct Histogram<const N: usize> {
    bounds: &'static Bounds<N>,
    /// Per bucket, not cumulative (the encoder accumulates).
    counts: [AtomicU64; N],
    sum_micros: AtomicU64,
}

/// A consistent-enough copy for encoding: `(sum in seconds, count, [(upper bound s, count)])`.
pub struct Snapshot {
    pub sum_seconds: f64,
    pub count: u64,
    pub buckets: Vec<(f64, u64)>,
}

impl<const N: usize> Histogram<N> {
    pub fn new(bounds: &'static Bounds<N>) -> Self {
        Histogram { bounds, counts: std::array::from_fn(|_| AtomicU64::new(0)), sum_micros: AtomicU64::new(0) }
    }

    pub fn observe(&self, micros: u64) {
        let i = self.bounds.iter().position(|&b| micros <= b).unwrap_or(N - 1);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let buckets: Vec<(f64, u64)> = self
            .bounds
            .iter()
            .zip(&self.counts)
            .map(|(&b, c)| (if b == u64::MAX { f64::INFINITY } else { b as f64 / 1e6 }, c.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, c)| c).sum();
        Snapshot { sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6, count, buckets }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket() {
        let h = Histogram::new(&LATENCY);
        h.observe(400); // ≤ 0.5 ms
        h.observe(500); // ≤ 0.5 ms (upper bounds are inclusive)
        h.observe(700); // ≤ 1 ms
        h.observe(9_000_000); // +Inf
        let s = h.snapshot();
        assert_eq!(s.count, 4);
        assert!((s.sum_seconds - 9.0016).abs() < 1e-9);
        assert_eq!(s.buckets[0], (0.0005, 2));
        assert_eq!(s.buckets[1], (0.001, 1));
        assert_eq!(s.buckets[13], (f64::INFINITY, 1));
        assert_eq!(s.buckets.len(), 14);
    }
}
