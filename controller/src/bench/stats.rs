//! What every benchmark needs: latency percentiles, peak memory, the load of the (shared)
//! machine, a scratch directory, and target verdicts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::BenchError;

/// Percentiles of a latency sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latencies {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

impl Latencies {
    /// The percentiles of `samples` (any order; all zero when empty).
    pub fn of(samples: &[Duration]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Self {
            count: sorted.len(),
            p50: percentile(&sorted, 50),
            p99: percentile(&sorted, 99),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }
}

impl fmt::Display for Latencies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {} ms, p99 {} ms, max {} ms (n={})",
            millis(self.p50),
            millis(self.p99),
            millis(self.max),
            self.count
        )
    }
}

/// The nearest-rank percentile `p` (0-100) of an ascending sample: the smallest value with
/// at least `p` percent of the sample at or below it.
pub fn percentile(sorted: &[Duration], p: u32) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let n = sorted.len();
    let rank = (n * p.min(100) as usize).div_ceil(100).max(1);
    sorted[rank.min(n) - 1]
}

/// A duration in milliseconds with one decimal, for reports.
pub fn millis(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The `VmHWM` line of a `/proc/<pid>/status` text, in bytes: the peak resident set size.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut fields = line["VmHWM:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") | None => value.checked_mul(1024),
        _ => None,
    }
}

/// Peak resident set size of this process so far, in bytes (Linux only).
pub fn peak_rss() -> Option<u64> {
    parse_vm_hwm(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// Bytes in MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The 1-minute load average, for the report (the machine is shared).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// Events per second.
pub fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
}

/// A fresh directory under the system's temporary directory, removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates `$TMPDIR/ferrule-bench-<what>-<pid>-<nanos>`, owner-only like any data
    /// directory (it holds the benchmark's database, keys and token).
    pub fn new(what: &str) -> Result<Self, BenchError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "ferrule-bench-{what}-{}-{nanos}",
            std::process::id()
        ));
        ferrule_datadir::create_private_dir(&path).map_err(|source| BenchError::Scratch {
            path: path.clone(),
            source,
        })?;
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// One target and whether the run met it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// What was measured against what, e.g. `creates/s >= 2000`.
    pub target: String,
    /// The measured value, as shown.
    pub measured: String,
    /// Whether the target was met.
    pub met: bool,
}

impl Verdict {
    /// A verdict.
    pub fn new(target: impl Into<String>, measured: impl Into<String>, met: bool) -> Self {
        Self {
            target: target.into(),
            measured: measured.into(),
            met,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "  [{}] {}: {}",
            if self.met { "met" } else { "MISSED" },
            self.target,
            self.measured
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let sample: Vec<u64> = (1..=100).collect();
        let l = Latencies::of(&ms(&sample));
        assert_eq!(l.p50, Duration::from_millis(50));
        assert_eq!(l.p99, Duration::from_millis(99));
        assert_eq!(l.max, Duration::from_millis(100));
        assert_eq!(l.count, 100);
        // Unsorted input, small sample: p99 of three values is the largest.
        let l = Latencies::of(&ms(&[30, 10, 20]));
        assert_eq!(
            (l.p50, l.p99),
            (Duration::from_millis(20), Duration::from_millis(30))
        );
        assert_eq!(Latencies::of(&[]), Latencies::default());
    }

    #[test]
    fn reads_the_peak_resident_set() {
        let status = "Name:\tferrule\nVmPeak:\t  999 kB\nVmHWM:\t   2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(2048 * 1024));
        assert_eq!(parse_vm_hwm("VmRSS: 1 kB\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM: lots kB\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM: 5 MB\n"), None);
    }

    #[test]
    fn scratch_directories_are_removed() {
        let path = {
            let scratch = Scratch::new("test").unwrap();
            assert!(scratch.path().is_dir());
            scratch.path().to_path_buf()
        };
        assert!(!path.exists());
    }
}
