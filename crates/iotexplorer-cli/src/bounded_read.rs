//! Reading what the user points the command line at (a file, standard input) up to a
//! bound: a wrong path such as `/dev/zero` or a disk image ends in a clear error instead
//! of filling memory.

use std::io::{Error, ErrorKind, Read};
use std::path::Path;

/// All of `source` as UTF-8 text, or an error of kind [`ErrorKind::FileTooLarge`] when it
/// holds more than `limit` bytes (no more than `limit + 1` are read).
pub(crate) fn read_text(source: impl Read, limit: u64) -> std::io::Result<String> {
    let mut text = String::new();
    source
        .take(limit.saturating_add(1))
        .read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(Error::new(
            ErrorKind::FileTooLarge,
            format!("more than {limit} bytes"),
        ));
    }
    Ok(text)
}

/// The file at `path` as UTF-8 text, refused beyond `limit` bytes as [`read_text`] says.
pub(crate) fn read_file(path: impl AsRef<Path>, limit: u64) -> std::io::Result<String> {
    read_text(std::fs::File::open(path)?, limit)
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
    fn an_endless_source_is_refused_after_the_limit() {
        let refused = read_text(std::io::repeat(b'a'), 1024).expect_err("endless");
        assert_eq!(refused.kind(), ErrorKind::FileTooLarge);
    }
}
