//! Finding Tencent's published reference data (api.json, errors.json, examples.json).
//!
//! Shared by every test that reads it, in this crate and in `xtask`.

use std::path::PathBuf;

/// The directory named by `IOTEXPLORER_REFERENCE_DIR`, or `None` after noting that the
/// calling test is skipped, so a fresh clone without the data still passes.
#[allow(clippy::print_stderr)]
pub(crate) fn reference_dir() -> Option<PathBuf> {
    match std::env::var_os("IOTEXPLORER_REFERENCE_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => {
            eprintln!("skipped: IOTEXPLORER_REFERENCE_DIR is not set");
            None
        }
    }
}
