//! The one place that decides whether generated output is written or only checked.

use std::path::Path;

/// What to do when the file on disk differs from the freshly generated contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Overwrite the file.
    Write,
    /// Leave the file alone and fail, naming the command that would update it.
    Check,
}

/// Makes sure `path` holds `contents`.
///
/// Line endings are normalised before comparing, so a checkout with CRLF endings is not
/// reported as stale. In [`Mode::Check`] a difference is an error naming the file and
/// `command`; in [`Mode::Write`] the file is rewritten. Returns whether the file changed.
pub(crate) fn ensure_file(
    path: &Path,
    contents: &str,
    mode: Mode,
    command: &str,
) -> Result<bool, String> {
    let current = std::fs::read_to_string(path)
        .ok()
        .map(|text| text.replace("\r\n", "\n"));
    if current.as_deref() == Some(contents) {
        return Ok(false);
    }
    match mode {
        Mode::Check => Err(format!(
            "{} is out of date; run `{command}` to regenerate it",
            path.display()
        )),
        Mode::Write => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
            }
            std::fs::write(path, contents)
                .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
            Ok(true)
        }
    }
}

/// Makes sure `path` does not exist: a generated file nobody produces any more.
pub(crate) fn ensure_absent(path: &Path, mode: Mode, command: &str) -> Result<bool, String> {
    if !path.exists() {
        return Ok(false);
    }
    match mode {
        Mode::Check => Err(format!(
            "{} is no longer generated; run `{command}` to remove it",
            path.display()
        )),
        Mode::Write => std::fs::remove_file(path)
            .map(|()| true)
            .map_err(|err| format!("cannot remove {}: {err}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_checkouts_are_not_stale_but_other_differences_are() {
        let dir = crate::tests::TempDir::new("ensure");
        let path = dir.0.join("file.rs");
        std::fs::write(&path, "a\r\nb\r\n").expect("write");
        assert_eq!(ensure_file(&path, "a\nb\n", Mode::Check, "cmd"), Ok(false));
        let error = ensure_file(&path, "a\nc\n", Mode::Check, "cmd").expect_err("stale");
        assert!(
            error.contains("file.rs") && error.contains("`cmd`"),
            "{error}"
        );
        assert_eq!(ensure_file(&path, "a\nc\n", Mode::Write, "cmd"), Ok(true));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "a\nc\n");
        assert_eq!(ensure_absent(&path, Mode::Write, "cmd"), Ok(true));
        assert_eq!(ensure_absent(&path, Mode::Check, "cmd"), Ok(false));
    }
}
