//! Integer-only decimal parsing and rounding shared by amounts and percentages.

/// A decimal string split into its parts, digits only, no floats involved.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Decimal<'a> {
    /// Whether a leading '-' was present.
    pub negative: bool,
    /// The integer digits (at least one).
    pub integer: &'a str,
    /// The fraction digits (possibly empty).
    pub fraction: &'a str,
}

/// Splits `-?[0-9]+(\.[0-9]+)?`; `None` for anything else (including whitespace, '+', "1.").
pub(crate) fn split(text: &str, allow_sign: bool) -> Option<Decimal<'_>> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) if allow_sign => (true, rest),
        Some(_) => return None,
        None => (false, text),
    };
    let (integer, fraction) = match rest.split_once('.') {
        Some((i, f)) if !f.is_empty() => (i, f),
        Some(_) => return None,
        None => (rest, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if integer.is_empty() || !all_digits(integer) || !all_digits(fraction) {
        return None;
    }
    Some(Decimal {
        negative,
        integer,
        fraction,
    })
}

/// The value of `digits` scaled to `scale` fraction digits, as an integer:
/// `scaled("12", "5", 2) == Some(1250)`. Extra fraction digits must be zeros; `None` when
/// they are not or when the value does not fit in an `i128`.
pub(crate) fn scaled(integer: &str, fraction: &str, scale: u32) -> Option<i128> {
    let scale = scale as usize;
    let (kept, dropped) = fraction.split_at(fraction.len().min(scale));
    if dropped.bytes().any(|b| b != b'0') {
        return None;
    }
    let mut value: i128 = 0;
    for b in integer.bytes().chain(kept.bytes()) {
        value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    for _ in kept.len()..scale {
        value = value.checked_mul(10)?;
    }
    Some(value)
}

/// `numerator / denominator` rounded half away from zero (commercial rounding: 0.5 → 1,
/// -0.5 → -1). `denominator` must be positive.
pub(crate) fn div_round_half_up(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.abs() * 2 >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_plain_decimals_only() {
        assert_eq!(
            split("-12.50", true),
            Some(Decimal {
                negative: true,
                integer: "12",
                fraction: "50"
            })
        );
        for bad in ["", "-", "1.", ".5", "+1", " 1", "1 ", "1.2.3", "1e3", "١"] {
            assert_eq!(split(bad, true), None, "{bad:?}");
        }
        assert_eq!(split("-1", false), None);
    }

    #[test]
    fn scales_with_zero_padding_only() {
        assert_eq!(scaled("12", "5", 2), Some(1250));
        assert_eq!(scaled("12", "", 2), Some(1200));
        assert_eq!(scaled("12", "500", 2), Some(1250));
        assert_eq!(scaled("12", "501", 2), None);
        assert_eq!(scaled("7", "", 0), Some(7));
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(div_round_half_up(5, 10), 1);
        assert_eq!(div_round_half_up(4, 10), 0);
        assert_eq!(div_round_half_up(-5, 10), -1);
        assert_eq!(div_round_half_up(-4, 10), 0);
        assert_eq!(div_round_half_up(15, 10), 2);
        assert_eq!(div_round_half_up(-15, 10), -2);
        assert_eq!(div_round_half_up(20, 10), 2);
    }
}
