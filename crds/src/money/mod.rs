//! Money: an integer count of minor units plus an ISO 4217 currency. Never a float.
//!
//! Amounts in resources are decimal strings (`"39.90"`); [`Money::parse`] turns them into
//! minor units for a given currency and [`Money`]'s `Display` writes the canonical string back.
//! Every calculation is checked integer arithmetic; percentages and prorations round half away
//! from zero to whole minor units (0.5 cent becomes 1 cent, -0.5 cent becomes -1 cent), so a
//! credit is always the exact negative of the matching charge.

mod currency;
mod decimal;
mod error;
mod percent;

use std::fmt;

pub use currency::Currency;
pub use error::MoneyError;
pub use percent::Percent;

/// An amount of money in minor units (cents) of a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount given in minor units.
    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Zero in the given currency.
    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// Parses a decimal string (`39.90`, `-12.3`, `1000`) for a currency.
    ///
    /// Fraction digits beyond the currency's minor unit are rejected unless they are zeros
    /// (`"0.00"` is a valid yen amount, `"1.5"` is not). Whitespace, signs other than a leading
    /// '-', exponents and thousands separators are rejected.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        let parts = decimal::split(text, true).ok_or_else(|| MoneyError::InvalidAmount {
            text: text.to_owned(),
        })?;
        let exponent = currency.exponent();
        let significant = parts.fraction.trim_end_matches('0');
        if significant.len() > exponent as usize {
            return Err(MoneyError::TooManyFractionDigits {
                text: text.to_owned(),
                currency,
                allowed: exponent,
            });
        }
        let overflow = || MoneyError::Overflow {
            what: format!("{text:?}"),
        };
        let magnitude =
            decimal::scaled(parts.integer, parts.fraction, exponent).ok_or_else(overflow)?;
        let value = if parts.negative {
            -magnitude
        } else {
            magnitude
        };
        let minor = i64::try_from(value).map_err(|_| overflow())?;
        Ok(Money { minor, currency })
    }

    /// The amount in minor units.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// The canonical string with the currency code, e.g. `39.90 EUR`.
    pub fn with_code(&self) -> String {
        format!("{self} {}", self.currency)
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    fn overflow(&self, op: &str) -> MoneyError {
        MoneyError::Overflow {
            what: format!("{op} on {}", self.with_code()),
        }
    }

    /// `value` minor units of this currency, if it fits in an `i64`.
    fn narrowed(&self, value: i128, op: &str) -> Result<Money, MoneyError> {
        i64::try_from(value)
            .map(|minor| Money::from_minor(minor, self.currency))
            .map_err(|_| self.overflow(op))
    }

    /// `self + other`; both must be in the same currency.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or_else(|| self.overflow("addition"))
    }

    /// `self - other`; both must be in the same currency.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or_else(|| self.overflow("subtraction"))
    }

    /// `-self`.
    pub fn checked_neg(&self) -> Result<Money, MoneyError> {
        self.minor
            .checked_neg()
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or_else(|| self.overflow("negation"))
    }

    /// `self × quantity`, e.g. a unit price times a number of units.
    pub fn checked_mul(&self, quantity: i64) -> Result<Money, MoneyError> {
        self.minor
            .checked_mul(quantity)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or_else(|| self.overflow("multiplication"))
    }

    /// `rate` percent of the amount, rounded half away from zero to whole minor units
    /// (e.g. 19% tax on 39.90 is 7.58, from 7.581).
    pub fn percentage(&self, rate: Percent) -> Result<Money, MoneyError> {
        let numerator = i128::from(self.minor) * i128::from(rate.millis());
        self.narrowed(decimal::div_round_half_up(numerator, 100_000), "percentage")
    }

    /// The share `num / den` of the amount, rounded half away from zero to whole minor units
    /// (e.g. 17 of 30 days of 39.90 is 22.61). `den` must be positive and `num` not negative;
    /// `num` may exceed `den`.
    pub fn prorate(&self, num: i64, den: i64) -> Result<Money, MoneyError> {
        if den <= 0 || num < 0 {
            return Err(MoneyError::InvalidRatio { num, den });
        }
        let numerator = i128::from(self.minor) * i128::from(num);
        self.narrowed(
            decimal::div_round_half_up(numerator, i128::from(den)),
            "proration",
        )
    }

    /// The sum of amounts that must all be in `currency`.
    pub fn sum<'a>(
        currency: Currency,
        amounts: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }
}

impl fmt::Display for Money {
    /// The canonical decimal string without the currency: `39.90`, `-0.05`, `1000` (yen).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let magnitude = self.minor.unsigned_abs();
        let exponent = self.currency.exponent();
        if exponent == 0 {
            return write!(f, "{sign}{magnitude}");
        }
        let unit = 10_u64.pow(exponent);
        let width = exponent as usize;
        write!(f, "{sign}{}.{:0width$}", magnitude / unit, magnitude % unit)
    }
}

#[cfg(test)]
mod tests;
