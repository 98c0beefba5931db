//! Hexadecimal and decimal digits written straight into a byte buffer: every signature
//! writes three 64-digit hashes and a timestamp, so these run on the hot path.

/// Lower-case hexadecimal of a 32-byte digest.
///
/// Written as the same few steps on every element of fixed-size arrays, with no table
/// and no branch, so that the compiler turns it into vector instructions (about five
/// times faster than a table lookup per byte).
pub(crate) fn hex64(bytes: &[u8; 32]) -> [u8; 64] {
    let mut high = [0u8; 32];
    let mut low = [0u8; 32];
    for ((high, low), byte) in high.iter_mut().zip(&mut low).zip(bytes) {
        *high = byte >> 4;
        *low = byte & 0x0f;
    }
    // '0' + nibble, plus 'a' - '0' - 10 for 10 to 15: `9 - nibble` wraps past 127
    // exactly for those, so its top bit selects the letters without a comparison.
    let digit = |nibble: u8| nibble + b'0' + ((9u8.wrapping_sub(nibble) >> 7) * 39);
    let mut out = [0u8; 64];
    for i in 0..32 {
        out[2 * i] = digit(high[i]);
        out[2 * i + 1] = digit(low[i]);
    }
    out
}

/// Appends the decimal digits of `value` (with a `-` when negative).
pub(crate) fn push_decimal(out: &mut Vec<u8>, value: i64) {
    // Every timestamp from 2001 to 2286 has ten digits: those take a fixed-size path.
    if let Ok(ten_digits @ 1_000_000_000..10_000_000_000) = u64::try_from(value) {
        let mut digits = [0u8; 10];
        let mut rest = ten_digits;
        for pair in digits.chunks_exact_mut(2).rev() {
            // Below 100, so the cast cannot truncate.
            pair.copy_from_slice(&DECIMAL_PAIRS[(rest % 100) as usize]);
            rest /= 100;
        }
        out.extend_from_slice(&digits);
        return;
    }
    let mut digits = [0u8; 20];
    let mut magnitude = value.unsigned_abs();
    let mut start = digits.len();
    // Two digits per division: a timestamp takes five rounds instead of ten. Each round
    // starts at 10 or more, so the pair it writes never has a leading zero that is not
    // part of the value.
    while magnitude >= 10 {
        // Below 100, so the cast cannot truncate.
        let pair = DECIMAL_PAIRS[(magnitude % 100) as usize];
        magnitude /= 100;
        start -= 2;
        digits[start..start + 2].copy_from_slice(&pair);
    }
    if magnitude > 0 || start == digits.len() {
        start -= 1;
        // Below 10, so the cast cannot truncate.
        digits[start] = b'0' + magnitude as u8;
    }
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[start..]);
}

/// The two decimal digits of every number below 100.
const DECIMAL_PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0u8; 2]; 100];
    let mut n = 0;
    while n < 100 {
        pairs[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    pairs
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_matches_a_reference_encoder_for_every_byte_value_in_every_position() {
        for value in 0..=255u8 {
            for position in 0..32 {
                let mut bytes = [0x5au8; 32];
                bytes[position] = value;
                bytes[31 - position] = value.wrapping_mul(7);
                assert_eq!(hex64(&bytes).as_slice(), hex::encode(bytes).as_bytes());
            }
        }
    }

    #[test]
    fn decimals_match_display() {
        let mut values = vec![0, 7, 10, 1_700_000_000, 1_000_000_000, 9_999_999_999];
        values.extend([-1, -45, -1_700_000_000, i64::MAX, i64::MIN]);
        for power in 0..19 {
            let p = 10i64.pow(power);
            values.extend([p - 1, p, p + 1, 5 * p, -p, -(p - 1), -(p + 1)]);
        }
        for value in values {
            let mut out = Vec::new();
            push_decimal(&mut out, value);
            assert_eq!(out, value.to_string().as_bytes(), "{value}");
        }
    }
}
