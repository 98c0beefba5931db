//! Reading what the user points the command line at (a file, standard input) up to a
//! bound: a wrong path such as `/dev/zero` or a disk image ends in a clear error instead
//! of filling memory.

use std::io::{Error, ErrorKind, Read};
use std::path::Path;

/// All of `source` as UTF-8 text, or an error of kind [`ErrorKind::FileTooLarge`] when it
/// holds more than `limit` bytes (no more than `limit + 1` are read). The size is checked
/// before the text is, so a source cut inside a character is still called too large.
pub(crate) fn read_text(source: impl Read, limit: u64) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    source
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    String::from_utf8(bytes).map_err(|_| Error::new(ErrorKind::InvalidData, "not UTF-8 text"))
}

/// The file at `path` as UTF-8 text, refused beyond `limit` bytes as [`read_text`] says; a
/// regular file that is too large by its length is refused without being read.
pub(crate) fn read_file(path: impl AsRef<Path>, limit: u64) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_file() && metadata.len() > limit {
        return Err(too_large(limit));
    }
    read_text(file, limit)
}

fn too_large(limit: u64) -> Error {
    Error::new(ErrorKind::FileTooLarge, format!("more than {limit} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_one_byte_more() {
        assert_eq!(read_text(&b"abcd"[..], 4).ok().as_deref(), Some("abcd"));
        let refused = read_text(&b"abcde"[..], 4).expect_err("one byte too many");
        assert_eq!(refused.kind(), ErrorKind::FileTooLarge);
        assert_eq!(refused.to_string(), "more than 4 bytes");
    }

    #[test]
    fn a_source_cut_inside_a_character_by_the_limit_is_too_large_not_broken_text() {
        let refused = read_text("é".as_bytes(), 1).expect_err("two bytes, one allowed");
        assert_eq!(refused.kind(), ErrorKind::FileTooLarge);
        let broken = read_text(&b"\xff"[..], 4).expect_err("not UTF-8");
        assert_eq!(broken.kind(), ErrorKind::InvalidData);
    }

    #[test]
    fn an_endless_source_is_refused_after_the_limit() {
        let refused = read_text(std::io::repeat(b'a'), 1024).expect_err("endless");
        assert_eq!(refused.kind(), ErrorKind::FileTooLarge);
    }
}
