use proptest::prelude::*;

use super::*;

fn eur(text: &str) -> Money {
    Money::parse(text, Currency::EUR).unwrap()
}

#[test]
fn parses_and_formats() {
    assert_eq!(eur("39.90").minor(), 3990);
    assert_eq!(eur("39.9").to_string(), "39.90");
    assert_eq!(eur("39").to_string(), "39.00");
    assert_eq!(eur("-12.30").minor(), -1230);
    assert_eq!(eur("-0.05").to_string(), "-0.05");
    assert_eq!(eur("-0").to_string(), "0.00");
    assert_eq!(eur("007.50").to_string(), "7.50");
    let yen = Money::parse("1000", Currency::JPY).unwrap();
    assert_eq!(yen.minor(), 1000);
    assert_eq!(yen.to_string(), "1000");
    assert_eq!(yen.with_code(), "1000 JPY");
    assert_eq!(Money::parse("0.00", Currency::JPY).unwrap().minor(), 0);
}

#[test]
fn rejects_bad_amounts() {
    assert_eq!(Money::parse("", Currency::EUR), Err(MoneyError::Empty));
    for bad in [
        "abc", "1,00", "1.", ".5", "+1", " 1", "1e2", "--1", "1.2.3", "NaN",
    ] {
        assert!(
            matches!(
                Money::parse(bad, Currency::EUR),
                Err(MoneyError::InvalidAmount { .. })
            ),
            "{bad}"
        );
    }
    let err = Money::parse("39.901", Currency::EUR).unwrap_err();
    assert_eq!(
        err.to_string(),
        "amount \"39.901\" has more fraction digits than EUR allows (2)"
    );
    assert!(matches!(
        Money::parse("1.5", Currency::JPY),
        Err(MoneyError::TooManyFractionDigits { allowed: 0, .. })
    ));
    assert!(matches!(
        Money::parse("92233720368547758.08", Currency::EUR),
        Err(MoneyError::Overflow { .. })
    ));
    assert!(matches!(
        Money::parse("99999999999999999999999999999999999999999", Currency::EUR),
        Err(MoneyError::Overflow { .. })
    ));
    assert_eq!(
        Money::parse("-92233720368547758.08", Currency::EUR)
            .unwrap()
            .minor(),
        i64::MIN
    );
}

#[test]
fn arithmetic_is_checked() {
    assert_eq!(eur("39.90").checked_add(&eur("0.10")).unwrap(), eur("40"));
    assert_eq!(eur("10").checked_sub(&eur("12.5")).unwrap(), eur("-2.50"));
    assert_eq!(eur("39.90").checked_mul(3).unwrap(), eur("119.70"));
    assert_eq!(eur("1").checked_neg().unwrap(), eur("-1"));
    let usd = Money::parse("1", Currency::USD).unwrap();
    assert!(matches!(
        eur("1").checked_add(&usd),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
    let max = Money::from_minor(i64::MAX, Currency::EUR);
    assert!(matches!(
        max.checked_add(&eur("0.01")),
        Err(MoneyError::Overflow { .. })
    ));
    assert!(
        Money::from_minor(i64::MIN, Currency::EUR)
            .checked_neg()
            .is_err()
    );
    assert!(max.checked_mul(2).is_err());
    let total = Money::sum(Currency::EUR, &[eur("1.10"), eur("2.20"), eur("-0.30")]).unwrap();
    assert_eq!(total, eur("3"));
}

#[test]
fn percentages_round_half_up() {
    let tax = |amount: &str, rate: &str| {
        eur(amount)
            .percentage(rate.parse().unwrap())
            .unwrap()
            .to_string()
    };
    assert_eq!(tax("39.90", "19"), "7.58"); // 7.581
    assert_eq!(tax("10.00", "7.25"), "0.73"); // 0.725 → up
    assert_eq!(tax("0.10", "5"), "0.01"); // 0.005 → up
    assert_eq!(tax("0.10", "4.9"), "0.00"); // 0.0049 → down
    assert_eq!(tax("-0.10", "5"), "-0.01"); // symmetric for credits
    assert_eq!(tax("100", "0"), "0.00");
    assert_eq!(tax("100", "99.999"), "100.00");
    let yen = Money::parse("1005", Currency::JPY).unwrap();
    assert_eq!(
        yen.percentage("10".parse().unwrap()).unwrap().to_string(),
        "101"
    ); // 100.5
}

#[test]
fn proration_rounds_half_up() {
    assert_eq!(eur("39.90").prorate(17, 30).unwrap(), eur("22.61")); // 22.61
    assert_eq!(eur("30.00").prorate(1, 31).unwrap(), eur("0.97")); // 0.9677
    assert_eq!(eur("0.03").prorate(1, 2).unwrap(), eur("0.02")); // 0.015 → up
    assert_eq!(eur("-0.03").prorate(1, 2).unwrap(), eur("-0.02"));
    assert_eq!(eur("10").prorate(0, 30).unwrap(), eur("0"));
    assert_eq!(eur("10").prorate(30, 30).unwrap(), eur("10"));
    assert!(matches!(
        eur("10").prorate(1, 0),
        Err(MoneyError::InvalidRatio { .. })
    ));
    assert!(matches!(
        eur("10").prorate(-1, 30),
        Err(MoneyError::InvalidRatio { .. })
    ));
    assert!(
        Money::from_minor(i64::MAX, Currency::EUR)
            .prorate(2, 1)
            .is_err()
    );
}

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::EUR),
        Just(Currency::USD),
        Just(Currency::JPY)
    ]
}

/// Canonical amount strings for a two-digit currency: no leading zeros, exactly two fraction
/// digits, no negative zero.
fn canonical_two_digit() -> impl Strategy<Value = String> {
    (any::<bool>(), 0_u64..1_000_000_000_000, 0_u32..100)
        .prop_filter("no negative zero", |(neg, int, frac)| {
            !(*neg && *int == 0 && *frac == 0)
        })
        .prop_map(|(neg, int, frac)| format!("{}{int}.{frac:02}", if neg { "-" } else { "" }))
}

proptest! {
    #[test]
    fn canonical_strings_round_trip(text in canonical_two_digit()) {
        let m = Money::parse(&text, Currency::EUR).unwrap();
        prop_assert_eq!(m.to_string(), text);
    }

    #[test]
    fn formatted_money_parses_back(minor in any::<i64>(), currency in currency()) {
        let m = Money::from_minor(minor, currency);
        prop_assert_eq!(Money::parse(&m.to_string(), currency).unwrap(), m);
    }

    #[test]
    fn add_then_sub_is_identity(a in -1_000_000_000_000_i64..1_000_000_000_000, b in -1_000_000_000_000_i64..1_000_000_000_000) {
        let (a, b) = (Money::from_minor(a, Currency::EUR), Money::from_minor(b, Currency::EUR));
        prop_assert_eq!(a.checked_add(&b).unwrap().checked_sub(&b).unwrap(), a);
        prop_assert_eq!(a.checked_add(&b).unwrap(), b.checked_add(&a).unwrap());
        prop_assert_eq!(a.checked_sub(&b).unwrap(), b.checked_sub(&a).unwrap().checked_neg().unwrap());
    }

    #[test]
    fn multiplication_is_repeated_addition(a in -1_000_000_000_i64..1_000_000_000, n in 0_i64..50) {
        let a = Money::from_minor(a, Currency::EUR);
        let repeated = (0..n).try_fold(Money::zero(Currency::EUR), |acc, _| acc.checked_add(&a)).unwrap();
        prop_assert_eq!(a.checked_mul(n).unwrap(), repeated);
    }

    #[test]
    fn percentage_is_within_half_a_minor_unit(minor in -1_000_000_000_000_i64..1_000_000_000_000, millis in 0_u32..1_000_000) {
        let m = Money::from_minor(minor, Currency::EUR);
        let p = m.percentage(Percent::from_millis(millis)).unwrap();
        // |p - exact| <= 0.5 minor units, i.e. |p * 100000 - minor * millis| * 2 <= 100000.
        let exact = i128::from(minor) * i128::from(millis);
        prop_assert!((i128::from(p.minor()) * 100_000 - exact).abs() * 2 <= 100_000);
        // Symmetric: a credit is the exact negative of the charge.
        prop_assert_eq!(m.checked_neg().unwrap().percentage(Percent::from_millis(millis)).unwrap(), p.checked_neg().unwrap());
    }

    #[test]
    fn proration_is_bounded_and_monotonic(minor in 0_i64..1_000_000_000, den in 1_i64..=31, num in 0_i64..=31) {
        let m = Money::from_minor(minor, Currency::EUR);
        let num = num.min(den);
        let part = m.prorate(num, den).unwrap();
        prop_assert!(part.minor() >= 0 && part.minor() <= minor);
        if num < den {
            prop_assert!(m.prorate(num + 1, den).unwrap().minor() >= part.minor());
        }
        prop_assert_eq!(m.prorate(den, den).unwrap(), m);
    }
}
