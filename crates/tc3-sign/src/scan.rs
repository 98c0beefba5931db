//! Looking at every byte of a text quickly: the checks of signing run on each byte of the
//! host, the SecretId and every signed header value, for every request.

/// The bitwise OR of `flags(byte)` over every byte of `text`.
///
/// Texts of 16 bytes or more are read in whole 16-byte blocks, the last one overlapping
/// the one before (harmless: OR does not count), so the compiler checks each block with
/// vector instructions and never falls back to a byte-by-byte tail.
pub(crate) fn or_flags(text: &[u8], flags: impl Fn(u8) -> u8 + Copy) -> u8 {
    let fold = |bytes: &[u8]| bytes.iter().fold(0, |acc, &byte| acc | flags(byte));
    let block = |bytes: &[u8; 16]| fold(bytes);
    let Some(last) = text.last_chunk::<16>() else {
        return fold(text);
    };
    let (blocks, _) = text.as_chunks::<16>();
    blocks
        .iter()
        .fold(block(last), |acc, bytes| acc | block(bytes))
}

/// Whether every byte of `text` passes `accept`.
pub(crate) fn all_bytes(text: &[u8], accept: impl Fn(u8) -> bool + Copy) -> bool {
    or_flags(text, |byte| u8::from(!accept(byte))) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn flags_are_those_of_a_plain_fold(text in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
            let flags = |byte: u8| 1u8 << (byte % 8);
            let plain = text.iter().fold(0, |acc, &byte| acc | flags(byte));
            proptest::prop_assert_eq!(or_flags(&text, flags), plain);
        }
    }

    #[test]
    fn every_position_of_every_length_is_looked_at() {
        for length in 0..70 {
            let clean = vec![b'a'; length];
            assert!(all_bytes(&clean, |b| b == b'a'), "length {length}");
            for position in 0..length {
                let mut text = clean.clone();
                text[position] = b'!';
                assert!(!all_bytes(&text, |b| b == b'a'), "{length} at {position}");
                assert_eq!(or_flags(&text, |b| u8::from(b == b'!') << 3), 8);
            }
        }
    }
}
