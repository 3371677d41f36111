//! ISO 4217 currency codes and their minor units.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::MoneyError;

/// Currencies whose minor unit has no digits (amounts are whole numbers).
const ZERO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
/// Currencies with three minor-unit digits.
const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
/// Currencies (units of account) with four minor-unit digits.
const FOUR_DECIMALS: &[&str] = &["CLF", "UYW"];

/// An ISO 4217 currency with at most two minor-unit digits.
///
/// Three- and four-digit currencies (BHD, KWD, CLF...) are rejected on construction because
/// the amount strings in the resource schemas carry at most two fraction digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    /// Euro.
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        exponent: 2,
    };
    /// US dollar.
    pub const USD: Currency = Currency {
        code: *b"USD",
        exponent: 2,
    };
    /// Japanese yen (no minor unit).
    pub const JPY: Currency = Currency {
        code: *b"JPY",
        exponent: 0,
    };

    /// Validates a code: three capital ASCII letters, with at most two minor-unit digits.
    pub fn new(code: &str) -> Result<Currency, MoneyError> {
        let bytes: [u8; 3] = code
            .as_bytes()
            .try_into()
            .ok()
            .filter(|b: &[u8; 3]| b.iter().all(u8::is_ascii_uppercase))
            .ok_or_else(|| MoneyError::InvalidCurrency {
                text: code.to_owned(),
            })?;
        let exponent = if ZERO_DECIMALS.contains(&code) {
            0
        } else if THREE_DECIMALS.contains(&code) {
            return Err(MoneyError::UnsupportedCurrency {
                code: code.to_owned(),
                exponent: 3,
            });
        } else if FOUR_DECIMALS.contains(&code) {
            return Err(MoneyError::UnsupportedCurrency {
                code: code.to_owned(),
                exponent: 4,
            });
        } else {
            2
        };
        Ok(Currency {
            code: bytes,
            exponent,
        })
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // Construction guarantees three ASCII capitals.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Number of fraction digits of the minor unit (0 or 2).
    pub fn exponent(&self) -> u32 {
        u32::from(self.exponent)
    }

    /// Minor units per major unit (1 or 100).
    pub fn minor_per_major(&self) -> i64 {
        10_i64.pow(self.exponent())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Currency::new(code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::new(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents() {
        assert_eq!(Currency::new("EUR").unwrap().exponent(), 2);
        assert_eq!(Currency::new("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::new("KRW").unwrap().minor_per_major(), 1);
        assert_eq!(Currency::new("CHF").unwrap().minor_per_major(), 100);
        assert_eq!(Currency::new("JPY").unwrap(), Currency::JPY);
    }

    #[test]
    fn rejects_malformed_and_three_digit_currencies() {
        for bad in ["usd", "US", "EURO", "", "E1R", "ÉUR"] {
            assert!(
                matches!(Currency::new(bad), Err(MoneyError::InvalidCurrency { .. })),
                "{bad}"
            );
        }
        let err = Currency::new("KWD").unwrap_err();
        assert_eq!(
            err.to_string(),
            "currency KWD has 3 minor-unit digits but Ferrule's amounts allow at most two; KWD is not supported"
        );
        assert!(Currency::new("BHD").is_err());
        assert!(Currency::new("CLF").is_err());
    }

    #[test]
    fn serde_as_code() {
        assert_eq!(serde_json::to_string(&Currency::EUR).unwrap(), "\"EUR\"");
        assert!(serde_json::from_str::<Currency>("\"eur\"").is_err());
    }
}
