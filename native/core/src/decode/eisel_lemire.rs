//! The double nearest `w · 10^q` for a decimal significand of up to 19
//! digits (Eisel and Lemire's algorithm, as in Lemire, "Number Parsing at a
//! Gigabyte per Second", 2021), for the powers of ten data files use:
//! -27 <= q <= 27. Long mantissas (pandas writes 17 digits) then cost one
//! or two 64x64-bit multiplies instead of a second, general parse. In this
//! range the 128-bit product always decides the rounding, and the result is
//! a normal double.

/// Smallest and largest power of ten handled here.
const SMALLEST: i64 = -27;
const LARGEST: i64 = 27;

/// 5^q for q in [`SMALLEST`]..=[`LARGEST`], normalised to 128 bits (top bit
/// set) as (high word, low word): truncated for q >= 0 (exact, since
/// 5^27 < 2^64), and floor(2^b / 5^-q) + 1 for q < 0.
const POWERS_OF_FIVE: [(u64, u64); (LARGEST - SMALLEST + 1) as usize] = {
    let mut table = [(0u64, 0u64); (LARGEST - SMALLEST + 1) as usize];
    let mut index = 0;
    while index < table.len() {
        table[index] = power_of_five(index as i64 + SMALLEST);
        index += 1;
    }
    table
};

const fn power_of_five(q: i64) -> (u64, u64) {
    let five = 5u128.pow(q.unsigned_abs() as u32);
    let normalised = if q >= 0 {
        five << five.leading_zeros()
    } else {
        // 2^(z + 127) / 5^-q with 2^(z-1) < 5^-q <= 2^z lies in [2^127, 2^128):
        // long division, one bit of the quotient at a time.
        let z = 128 - (five - 1).leading_zeros();
        let mut remainder: u128 = 1;
        let mut quotient: u128 = 0;
        let mut bit = 0;
        while bit < z + 127 {
            remainder <<= 1;
            quotient <<= 1;
            if remainder >= five {
                remainder -= five;
                quotient |= 1;
            }
            bit += 1;
        }
        quotient + 1
    };
    ((normalised >> 64) as u64, normalised as u64)
}

/// The binary exponent of 10^q, as a floor of q·log2(10), plus 63.
fn power(q: i64) -> i64 {
    ((q * (152_170 + 65_536)) >> 16) + 63
}

const MANTISSA_BITS: u32 = 52;
const MINIMUM_EXPONENT: i64 = -1023;

/// The correctly rounded double of `w · 10^q` (w < 2^64), or `None` outside
/// -27 <= q <= 27 (then the general parser answers).
#[inline]
pub(super) fn decimal_to_double(w: u64, q: i64) -> Option<f64> {
    if w == 0 {
        return Some(0.0);
    }
    if !(SMALLEST..=LARGEST).contains(&q) {
        return None;
    }
    let zeros = w.leading_zeros();
    let w = w << zeros;
    let (high5, low5) = POWERS_OF_FIVE[(q - SMALLEST) as usize];
    let first = u128::from(w) * u128::from(high5);
    let (mut high, mut low) = ((first >> 64) as u64, first as u64);
    // The low word matters only when the bits below the 55 kept are all ones.
    let mask = u64::MAX >> (MANTISSA_BITS + 3);
    if high & mask == mask {
        let second = ((u128::from(w) * u128::from(low5)) >> 64) as u64;
        low = low.wrapping_add(second);
        if second > low {
            high += 1;
        }
    }
    let upper = high >> 63;
    let shift = upper as u32 + 64 - MANTISSA_BITS - 3;
    let mut mantissa = high >> shift;
    let mut power2 = power(q) + upper as i64 - i64::from(zeros) - MINIMUM_EXPONENT;
    if power2 <= 0 || power2 >= 0x7FF {
        return None;
    }
    // An exact halfway product rounds to even (only small q can be exact).
    if low <= 1 && (-4..=23).contains(&q) && mantissa & 3 == 1 && (mantissa << shift) == high {
        mantissa &= !1;
    }
    mantissa += mantissa & 1;
    mantissa >>= 1;
    if mantissa >= 2 << MANTISSA_BITS {
        mantissa = 1 << MANTISSA_BITS;
        power2 += 1;
    }
    mantissa &= !(1 << MANTISSA_BITS);
    if power2 >= 0x7FF {
        return None;
    }
    Some(f64::from_bits(mantissa | (power2 as u64) << MANTISSA_BITS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Lcg;

    fn parsed(w: u64, q: i64) -> f64 {
        format!("{w}e{q}").parse().unwrap()
    }

    #[test]
    fn every_significand_length_and_power_rounds_as_the_standard_library_does() {
        let mut rng = Lcg::new(41);
        for _ in 0..400_000 {
            let digits = 1 + rng.next_u64() % 19;
            let w = rng.next_u64() % 10u64.pow(digits as u32);
            let q = (rng.next_u64() % 55) as i64 - 27;
            assert_eq!(decimal_to_double(w, q).map(f64::to_bits), Some(parsed(w, q).to_bits()), "{w}e{q}");
        }
    }

    #[test]
    fn halfway_cases_round_to_even_and_the_largest_significands_are_exact() {
        // 2^53 + 1 and + 3 lie halfway between doubles; 5e-1 · 2^54 + ... covers q < 0.
        for (w, q) in [
            (9_007_199_254_740_993, 0),
            (9_007_199_254_740_995, 0),
            (90_071_992_547_409_930, -1),
            (u64::MAX, 0),
            (u64::MAX, -27),
            (u64::MAX, 27),
            (1, -27),
            (1, 27),
            (18_014_398_509_481_985, 0),
        ] {
            assert_eq!(decimal_to_double(w, q).map(f64::to_bits), Some(parsed(w, q).to_bits()), "{w}e{q}");
        }
        assert_eq!(decimal_to_double(5, 28), None);
        assert_eq!(decimal_to_double(5, -28), None);
    }
}
