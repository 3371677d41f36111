//! Figures of one client and the side-by-side table (pure).

use std::fmt::Write as _;
use std::time::Duration;

/// What was measured for one client.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The client, as shown in the table.
    pub client: String,
    /// Session setup times (connect, authenticate, hellos, one RPC).
    pub setups: Vec<Duration>,
    /// edit-config + commit pairs sent on one session.
    pub pairs: u32,
    /// How long they took.
    pub pairs_time: Duration,
}

/// Median, minimum and maximum of some durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    /// The median (upper median for an even count).
    pub median: Duration,
    /// The smallest.
    pub min: Duration,
    /// The largest.
    pub max: Duration,
}

// === impl Spread / Figures ===

impl Spread {
    /// The spread of `samples`; `None` when empty.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Some(Self {
            median: *sorted.get(sorted.len() / 2)?,
            min: *sorted.first()?,
            max: *sorted.last()?,
        })
    }
}

impl Figures {
    /// Pairs per second.
    pub fn pairs_per_second(&self) -> f64 {
        f64::from(self.pairs) / self.pairs_time.as_secs_f64().max(f64::EPSILON)
    }

    /// Milliseconds per pair.
    pub fn ms_per_pair(&self) -> f64 {
        self.pairs_time.as_secs_f64() * 1000.0 / f64::from(self.pairs.max(1))
    }

    /// The setup spread.
    pub fn setup(&self) -> Option<Spread> {
        Spread::of(&self.setups)
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The side-by-side table in Markdown.
pub fn table(rows: &[Figures]) -> String {
    let mut out = String::from(
        "| client | session setup, median (min–max) | edit+commit pairs/s | ms per pair |\n\
         |---|---|---|---|\n",
    );
    for row in rows {
        let setup = row.setup().map_or_else(
            || "–".to_owned(),
            |s| {
                format!(
                    "{} ms ({}–{}, n={})",
                    ms(s.median),
                    ms(s.min),
                    ms(s.max),
                    row.setups.len()
                )
            },
        );
        let _ = writeln!(
            out,
            "| {} | {setup} | {:.1} (n={}) | {:.2} |",
            row.client,
            row.pairs_per_second(),
            row.pairs,
            row.ms_per_pair()
        );
    }
    out
}

/// The two targets: Ferrule's setup no slower than ncclient's, and its edit+commit time
/// within 1.5x of the raw OpenSSH floor. One line each, with the ratio.
pub fn verdicts(ferrule: &Figures, floor: &Figures, ncclient: &Figures) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(f), Some(n)) = (ferrule.setup(), ncclient.setup()) {
        let ratio = f.median.as_secs_f64() / n.median.as_secs_f64().max(f64::EPSILON);
        out.push(format!(
            "setup: Ferrule {} ms vs {} {} ms = {ratio:.2}x (target <= 1.00x): {}",
            ms(f.median),
            ncclient.client,
            ms(n.median),
            if ratio <= 1.0 { "met" } else { "NOT met" }
        ));
    }
    let ratio = ferrule.ms_per_pair() / floor.ms_per_pair().max(f64::EPSILON);
    out.push(format!(
        "edit+commit: Ferrule {:.2} ms vs raw floor {:.2} ms per pair = {ratio:.2}x (target <= 1.50x): {}",
        ferrule.ms_per_pair(),
        floor.ms_per_pair(),
        if ratio <= 1.5 { "met" } else { "NOT met" }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(client: &str, setups_ms: &[u64], pairs: u32, pairs_ms: u64) -> Figures {
        Figures {
            client: client.into(),
            setups: setups_ms
                .iter()
                .map(|m| Duration::from_millis(*m))
                .collect(),
            pairs,
            pairs_time: Duration::from_millis(pairs_ms),
        }
    }

    #[test]
    fn spread_and_rates() {
        let f = figures("x", &[30, 10, 20], 200, 400);
        let s = f.setup().unwrap();
        assert_eq!(s.median, Duration::from_millis(20));
        assert_eq!(
            (s.min, s.max),
            (Duration::from_millis(10), Duration::from_millis(30))
        );
        assert!((f.pairs_per_second() - 500.0).abs() < 1e-9);
        assert!((f.ms_per_pair() - 2.0).abs() < 1e-9);
        assert_eq!(Spread::of(&[]), None);
    }

    #[test]
    fn table_and_verdicts() {
        let ferrule = figures("Ferrule", &[100], 200, 300);
        let floor = figures("OpenSSH", &[200], 200, 240);
        let nc = figures("ncclient", &[150], 200, 800);
        let text = table(&[ferrule.clone(), floor.clone(), nc.clone()]);
        assert!(text.contains("| Ferrule | 100.0 ms (100.0–100.0, n=1) | 666.7 (n=200) | 1.50 |"));
        let v = verdicts(&ferrule, &floor, &nc);
        assert!(v[0].contains("0.67x") && v[0].ends_with(": met"), "{v:?}");
        assert!(v[1].contains("1.25x") && v[1].ends_with(": met"), "{v:?}");
        let slow = figures("Ferrule", &[200], 200, 400);
        let v = verdicts(&slow, &floor, &nc);
        assert!(v.iter().all(|l| l.ends_with("NOT met")), "{v:?}");
    }
}
