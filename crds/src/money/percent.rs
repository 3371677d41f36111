//! Percentages as exact decimals (tax rates, SLA credits, availability targets).

use std::fmt;
use std::str::FromStr;

use super::MoneyError;
use super::decimal;

/// Fraction digits kept by a [`Percent`].
const SCALE: u32 = 3;
/// `10^SCALE`.
const MILLIS: u32 = 1000;

/// A percentage with up to three fraction digits, stored exactly in thousandths of a percent
/// (`19` → 19000, `7.25` → 7250, `99.999` → 99999). Ranges from 0 to 999.999.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(u32);

impl Percent {
    /// Zero percent.
    pub const ZERO: Percent = Percent(0);
    /// One hundred percent.
    pub const HUNDRED: Percent = Percent(100 * MILLIS);

    /// Builds a percentage from thousandths of a percent.
    pub fn from_millis(millis: u32) -> Percent {
        Percent(millis)
    }

    /// The value in thousandths of a percent.
    pub fn millis(&self) -> u32 {
        self.0
    }
}

impl FromStr for Percent {
    type Err = MoneyError;

    /// Parses `[0-9]{1,3}(\.[0-9]{1,3})?`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || MoneyError::InvalidPercent {
            text: text.to_owned(),
        };
        let parts = decimal::split(text, false).ok_or_else(invalid)?;
        if parts.integer.len() > 3 || parts.fraction.len() > SCALE as usize {
            return Err(invalid());
        }
        let value = decimal::scaled(parts.integer, parts.fraction, SCALE).ok_or_else(invalid)?;
        u32::try_from(value).map(Percent).map_err(|_| invalid())
    }
}

impl fmt::Display for Percent {
    /// The shortest exact decimal: `19`, `7.25`, `99.999`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / MILLIS;
        let frac = self.0 % MILLIS;
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:03}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        for (text, millis, canonical) in [
            ("19", 19_000, "19"),
            ("7.25", 7_250, "7.25"),
            ("99.999", 99_999, "99.999"),
            ("100.0", 100_000, "100"),
            ("0", 0, "0"),
            ("0.5", 500, "0.5"),
        ] {
            let p: Percent = text.parse().unwrap();
            assert_eq!(p.millis(), millis, "{text}");
            assert_eq!(p.to_string(), canonical);
        }
    }

    #[test]
    fn rejects_non_decimals() {
        for bad in ["", "-1", "1000", "1.2345", "19%", "abc", "1."] {
            assert!(bad.parse::<Percent>().is_err(), "{bad}");
        }
    }
}
