//! `--state FILE`: the state as JSON, so tasks and devices survive a restart.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::state::{State, unix_now_ms};

/// Reads saved state; `Ok(None)` when the file does not exist yet.
pub(crate) fn load(path: &Path) -> std::io::Result<Option<State>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut state: State = serde_json::from_str(&text)?;
    // Monotonic instants do not survive a restart; rebuild them from wall-clock time.
    let now = Instant::now();
    let now_ms = unix_now_ms();
    for task in state.tasks.values_mut() {
        let age = u64::try_from(now_ms.saturating_sub(task.started_unix_ms)).unwrap_or(0);
        task.started = now.checked_sub(Duration::from_millis(age)).unwrap_or(now);
    }
    Ok(Some(state))
}

/// Writes the state next to `path`, then renames it over, so a crash leaves the old file.
pub(crate) fn save(path: &Path, state: &State) -> std::io::Result<()> {
    let text = serde_json::to_vec(state)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}
