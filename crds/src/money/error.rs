//! The one error type of money handling.

use super::currency::Currency;

/// Why an amount, currency, rate or calculation was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The amount string was empty.
    #[error("empty amount: write a decimal such as 39.90")]
    Empty,
    /// The amount string is not a plain decimal number.
    #[error(
        "invalid amount {text:?}: write digits with an optional leading '-' and one '.', such as 39.90"
    )]
    InvalidAmount {
        /// The rejected text.
        text: String,
    },
    /// The amount has more (non-zero) fraction digits than the currency's minor unit.
    #[error("amount {text:?} has more fraction digits than {currency} allows ({allowed})")]
    TooManyFractionDigits {
        /// The rejected text.
        text: String,
        /// The currency the amount was parsed for.
        currency: Currency,
        /// How many fraction digits the currency has.
        allowed: u32,
    },
    /// The amount or the result of a calculation does not fit in 64-bit minor units.
    #[error("amount out of range: {what} does not fit in 64-bit minor units")]
    Overflow {
        /// What overflowed (the text parsed or the operation).
        what: String,
    },
    /// The currency code is not three capital letters.
    #[error(
        "invalid currency code {text:?}: expected three capital letters (ISO 4217), such as EUR"
    )]
    InvalidCurrency {
        /// The rejected text.
        text: String,
    },
    /// The currency has more than two minor-unit digits, which the money strings in the
    /// resource schemas cannot express.
    #[error(
        "currency {code} has {exponent} minor-unit digits but Ferrule's amounts allow at most two; {code} is not supported"
    )]
    UnsupportedCurrency {
        /// The ISO 4217 code.
        code: String,
        /// Its minor-unit exponent.
        exponent: u32,
    },
    /// Two amounts of different currencies were combined.
    #[error("cannot combine an amount in {left} with an amount in {right}")]
    CurrencyMismatch {
        /// Currency of the left operand.
        left: Currency,
        /// Currency of the right operand.
        right: Currency,
    },
    /// A percentage string is not a decimal with at most three integer and three fraction
    /// digits.
    #[error("invalid percentage {text:?}: write a decimal such as 19, 7.25 or 99.95")]
    InvalidPercent {
        /// The rejected text.
        text: String,
    },
    /// A proration ratio with a non-positive denominator or a negative numerator.
    #[error(
        "invalid proration ratio {num}/{den}: the denominator must be positive and the numerator not negative"
    )]
    InvalidRatio {
        /// Numerator (days used).
        num: i64,
        /// Denominator (days in the period).
        den: i64,
    },
}
