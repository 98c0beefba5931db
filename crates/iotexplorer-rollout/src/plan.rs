//! The plan: which device goes in which batch of which wave.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The most devices a rollout puts in one `BatchUpdateFirmware` call: the rollout's own
/// bound (Tencent documents none for `DeviceNames`).
pub const MAX_BATCH_SIZE: usize = 100;

/// Checks a number of devices per call: 1 to [`MAX_BATCH_SIZE`].
pub fn check_batch_size(batch_size: usize) -> Result<(), PlanError> {
    if batch_size == 0 || batch_size > MAX_BATCH_SIZE {
        return Err(PlanError::BatchSize(batch_size));
    }
    Ok(())
}

/// Why a plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A wave specification is not a percentage or a count, or not increasing.
    #[error("invalid --waves: {0}")]
    Waves(String),
    /// The batch size is 0 or above [`MAX_BATCH_SIZE`].
    #[error("--batch-size must be between 1 and {MAX_BATCH_SIZE}, not {0}")]
    BatchSize(usize),
    /// A device name appears twice in the device list.
    #[error("device {name} is listed twice (line {line})")]
    Duplicate {
        /// The device name.
        name: String,
        /// The 1-based line of the second occurrence.
        line: usize,
    },
    /// A line of the device list is not a device name.
    #[error("line {line}: {reason}")]
    BadName {
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// There is no device to update.
    #[error("no device to update")]
    Empty,
}

/// Where one wave ends, cumulatively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaveSpec {
    /// Up to this share of the fleet, in hundredths of a percent (`1%` is 100).
    Percent(u32),
    /// Up to this many devices.
    Count(usize),
}

impl WaveSpec {
    /// The cumulative number of devices reached at the end of this wave, of `total`.
    pub fn reach(self, total: usize) -> usize {
        match self {
            // Rounded up so a small positive share still takes at least one device.
            Self::Percent(hundredths) => {
                let total = total as u128;
                let reach = (total * u128::from(hundredths)).div_ceil(10_000);
                usize::try_from(reach)
                    .unwrap_or(usize::MAX)
                    .min(total as usize)
            }
            Self::Count(count) => count.min(total),
        }
    }
}

impl fmt::Display for WaveSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Percent(hundredths) if hundredths % 100 == 0 => {
                write!(f, "{}%", hundredths / 100)
            }
            Self::Percent(hundredths) => write!(f, "{}.{:02}%", hundredths / 100, hundredths % 100),
            Self::Count(count) => write!(f, "{count}"),
        }
    }
}

/// Parses `--waves`: comma-separated cumulative percentages (`1%,10%,100%`, up to two
/// decimals) or absolute counts (`10,100,1000`), strictly increasing.
pub fn parse_waves(text: &str) -> Result<Vec<WaveSpec>, PlanError> {
    let mut specs = Vec::new();
    for part in text.split(',').map(str::trim) {
        let spec = match part.strip_suffix('%') {
            Some(number) => WaveSpec::Percent(parse_hundredths(number).ok_or_else(|| {
                PlanError::Waves(format!("`{part}` is not a percentage between 0% and 100%"))
            })?),
            None => WaveSpec::Count(part.parse::<usize>().map_err(|_| {
                PlanError::Waves(format!("`{part}` is not a percentage or a device count"))
            })?),
        };
        if matches!(spec, WaveSpec::Percent(0) | WaveSpec::Count(0)) {
            return Err(PlanError::Waves(format!("`{part}` selects no device")));
        }
        if let Some(previous) = specs.last() {
            let increasing = match (previous, &spec) {
                (WaveSpec::Percent(a), WaveSpec::Percent(b)) => a < b,
                (WaveSpec::Count(a), WaveSpec::Count(b)) => a < b,
                _ => {
                    return Err(PlanError::Waves(
                        "use either percentages or counts, not both".to_owned(),
                    ));
                }
            };
            if !increasing {
                return Err(PlanError::Waves(format!(
                    "waves are cumulative and must increase: `{part}` follows `{previous}`"
                )));
            }
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// `12.5` as 1250; at most two decimals, at most 100.
fn parse_hundredths(text: &str) -> Option<u32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || fraction.len() > 2 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let fraction: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<2}").parse().ok()?
    };
    let value = whole.checked_mul(100)?.checked_add(fraction)?;
    (value <= 10_000).then_some(value)
}

/// Reads a device list: one name per line; blank lines and lines starting with `#` are
/// ignored, surrounding spaces trimmed. A name listed twice is refused, since it usually
/// means the list was assembled wrongly; so is one with white space or a control
/// character inside, which is not text naming a device (a binary file, a terminal escape).
pub fn parse_device_list(text: &str) -> Result<Vec<String>, PlanError> {
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let name = line.trim();
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        if name.chars().any(char::is_whitespace) {
            return Err(PlanError::BadName {
                line: index + 1,
                reason: format!("`{name}` contains white space"),
            });
        }
        if let Some(control) = name.chars().find(|c| c.is_control()) {
            // Shown escaped: printed as it is, it could be a terminal's escape sequence.
            return Err(PlanError::BadName {
                line: index + 1,
                reason: format!(
                    "`{}` contains the control character U+{:04X}",
                    name.escape_debug(),
                    u32::from(control)
                ),
            });
        }
        if !seen.insert(name.to_owned()) {
            return Err(PlanError::Duplicate {
                name: name.to_owned(),
                line: index + 1,
            });
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// One `BatchUpdateFirmware` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Batch {
    /// `<wave>-<n>`, both 1-based: the batch's name in the journal and its marker.
    pub id: String,
    /// The devices, at most the batch size.
    pub devices: Vec<String>,
}

/// One wave: batches submitted together, then a gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Wave {
    /// 1-based.
    pub number: usize,
    /// The batches, in order.
    pub batches: Vec<Batch>,
}

impl Wave {
    /// Number of devices in the wave.
    pub fn device_count(&self) -> usize {
        self.batches.iter().map(|batch| batch.devices.len()).sum()
    }

    /// Every device of the wave, in batch order.
    pub fn devices(&self) -> impl Iterator<Item = &str> {
        self.batches
            .iter()
            .flat_map(|batch| batch.devices.iter().map(String::as_str))
    }
}

/// Every device in exactly one batch of exactly one wave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// The waves, in order.
    pub waves: Vec<Wave>,
}

impl Plan {
    /// Splits `devices` (in order) into waves and batches. Waves whose cumulative reach
    /// equals the previous one are dropped; when the last wave does not reach every
    /// device, a final wave takes the rest, so the plan always covers the whole list.
    pub fn build(
        devices: &[String],
        waves: &[WaveSpec],
        batch_size: usize,
    ) -> Result<Self, PlanError> {
        check_batch_size(batch_size)?;
        if devices.is_empty() {
            return Err(PlanError::Empty);
        }
        let total = devices.len();
        let mut ends: Vec<usize> = waves.iter().map(|spec| spec.reach(total)).collect();
        ends.push(total);
        let mut plan = Vec::new();
        let mut start = 0;
        for end in ends {
            if end <= start {
                continue;
            }
            let number = plan.len() + 1;
            let batches = devices[start..end]
                .chunks(batch_size)
                .enumerate()
                .map(|(index, chunk)| Batch {
                    id: format!("{number}-{}", index + 1),
                    devices: chunk.to_vec(),
                })
                .collect();
            plan.push(Wave { number, batches });
            start = end;
        }
        Ok(Self { waves: plan })
    }

    /// Number of devices in the plan.
    pub fn device_count(&self) -> usize {
        self.waves.iter().map(Wave::device_count).sum()
    }

    /// Number of `BatchUpdateFirmware` calls.
    pub fn batch_count(&self) -> usize {
        self.waves.iter().map(|wave| wave.batches.len()).sum()
    }

    /// Every batch, in order.
    pub fn batches(&self) -> impl Iterator<Item = &Batch> {
        self.waves.iter().flat_map(|wave| wave.batches.iter())
    }

    /// The wave a batch belongs to.
    pub fn wave_of(&self, batch_id: &str) -> Option<usize> {
        self.waves
            .iter()
            .find(|wave| wave.batches.iter().any(|batch| batch.id == batch_id))
            .map(|wave| wave.number)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(count: usize) -> Vec<String> {
        (0..count).map(|n| format!("dev{n:05}")).collect()
    }

    #[test]
    fn percentages_are_cumulative_and_rounded_up() {
        let specs = parse_waves("1%,10%,100%").unwrap();
        let plan = Plan::build(&names(1000), &specs, 100).unwrap();
        let sizes: Vec<usize> = plan.waves.iter().map(Wave::device_count).collect();
        assert_eq!(sizes, [10, 90, 900]);
        assert_eq!(plan.batch_count(), 1 + 1 + 9);
        assert_eq!(plan.waves[2].batches[0].id, "3-1");

        let plan = Plan::build(&names(10), &parse_waves("1%,50%").unwrap(), 3).unwrap();
        let sizes: Vec<usize> = plan.waves.iter().map(Wave::device_count).collect();
        assert_eq!(sizes, [1, 4, 5], "the rest goes in a final wave");
    }

    #[test]
    fn counts_and_decimals() {
        assert_eq!(
            parse_waves("0.5%, 12.25%,100%").unwrap(),
            [
                WaveSpec::Percent(50),
                WaveSpec::Percent(1225),
                WaveSpec::Percent(10_000)
            ]
        );
        assert_eq!(
            parse_waves("5,50").unwrap(),
            [WaveSpec::Count(5), WaveSpec::Count(50)]
        );
        for bad in ["", "10%,5%", "5,5", "1%,10", "101%", "0%", "x", "1.234%"] {
            assert!(parse_waves(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn device_lists() {
        let list = "# fleet\n\n dev1 \ndev2\n#dev3\n";
        assert_eq!(parse_device_list(list).unwrap(), ["dev1", "dev2"]);
        assert_eq!(
            parse_device_list("a\nb\na\n").unwrap_err(),
            PlanError::Duplicate {
                name: "a".to_owned(),
                line: 3
            }
        );
        assert!(parse_device_list("a b\n").is_err());
        for bad in ["dev\u{0}1", "\u{1b}[2Jdev", "dev\u{7f}"] {
            let refused = parse_device_list(&format!("ok\n{bad}\n")).unwrap_err();
            let PlanError::BadName { line: 2, reason } = &refused else {
                panic!("{refused:?}");
            };
            assert!(reason.contains("control character"), "{reason}");
            assert!(!reason.chars().any(char::is_control), "{reason:?}");
        }
        assert!(Plan::build(&[], &[], 10).is_err());
        assert!(Plan::build(&names(3), &[], 101).is_err());
    }
}
