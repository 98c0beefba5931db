//! The `rollout` flags, read into a validated rollout spec.

use clap::{Arg, ArgAction, ArgMatches};
use iotexplorer_model::{Action, BatchUpdateFirmwareRequest, MemberMeta};
use iotexplorer_rollout::{
    DEFAULT_MAX_FAILURE_RATE, DEFAULT_WAVE_TIMEOUT_SECS, MAX_BATCH_SIZE, RESERVED_MEMBERS,
    RolloutSpec, TaskOptions, WaveSpec, check_batch_size, parse_waves,
};
use serde_json::{Map, Value};

use crate::failure::Failure;
use crate::member_flags::member_value;

pub(super) const PRODUCT: &str = "ProductID";
pub(super) const VERSION: &str = "FirmwareVersion";
pub(super) const FW_TYPE: &str = "FwType";
pub(super) const DEVICES: &str = "devices";
pub(super) const ALL_DEVICES: &str = "all-devices";
pub(super) const JOURNAL: &str = "journal";
const WAVES: &str = "waves";
const BATCH_SIZE: &str = "batch-size";
const MAX_FAILURE_RATE: &str = "max-failure-rate";
const WAVE_TIMEOUT: &str = "wave-timeout";
const CANCEL_ON_ABORT: &str = "cancel-on-abort";
const PAUSE_AFTER_WAVE: &str = "pause-after-wave";

/// The task options: members of `BatchUpdateFirmware` the rollout does not set itself.
fn task_members() -> impl Iterator<Item = &'static MemberMeta> {
    BatchUpdateFirmwareRequest::meta()
        .input
        .iter()
        .filter(|member| !RESERVED_MEMBERS.contains(&member.name))
}

/// The flags of a new rollout.
pub(super) fn args() -> Vec<Arg> {
    let mut args = vec![
        Arg::new(PRODUCT)
            .long(PRODUCT)
            .value_name("ID")
            .required(true)
            .help("The product"),
        Arg::new(VERSION)
            .long(VERSION)
            .value_name("VERSION")
            .required(true)
            .help("The target firmware version"),
        Arg::new(FW_TYPE)
            .long(FW_TYPE)
            .value_name("TYPE")
            .help("The firmware module, e.g. mcu"),
        Arg::new(DEVICES)
            .long(DEVICES)
            .value_name("FILE")
            .conflicts_with(ALL_DEVICES)
            .required_unless_present(ALL_DEVICES)
            .help("Device names, one a line (blank lines and # comments ignored; a name listed twice is refused)"),
        Arg::new(ALL_DEVICES)
            .long(ALL_DEVICES)
            .action(ArgAction::SetTrue)
            .help("Every device of the product not yet on the target version"),
        Arg::new(JOURNAL)
            .long(JOURNAL)
            .value_name("FILE")
            .required(true)
            .help("The journal to create (it must not exist yet)"),
        Arg::new(WAVES)
            .long(WAVES)
            .value_name("LIST")
            .default_value("1%,10%,100%")
            .help("Cumulative percentages or device counts; the last wave takes the rest"),
        Arg::new(BATCH_SIZE)
            .long(BATCH_SIZE)
            .value_name("N")
            .default_value(MAX_BATCH_SIZE.to_string())
            .value_parser(clap::value_parser!(usize))
            .help(format!(
                "Devices per BatchUpdateFirmware call, 1 to {MAX_BATCH_SIZE}"
            )),
        Arg::new(MAX_FAILURE_RATE)
            .long(MAX_FAILURE_RATE)
            .value_name("RATE")
            .default_value(DEFAULT_MAX_FAILURE_RATE.to_string())
            .value_parser(clap::value_parser!(f64))
            .help("Abort when a wave's share of failed devices exceeds this (0 to 1)"),
        Arg::new(WAVE_TIMEOUT)
            .long(WAVE_TIMEOUT)
            .value_name("SECS")
            .default_value(DEFAULT_WAVE_TIMEOUT_SECS.to_string())
            .value_parser(clap::value_parser!(u64))
            .help("How long a gate waits for a wave to settle; devices still updating then count as failed"),
        Arg::new(CANCEL_ON_ABORT)
            .long(CANCEL_ON_ABORT)
            .action(ArgAction::SetTrue)
            .help("On abort, cancel the wave's unfinished tasks (UpdateOtaTaskStatus)"),
        Arg::new(PAUSE_AFTER_WAVE)
            .long(PAUSE_AFTER_WAVE)
            .action(ArgAction::SetTrue)
            .help("Stop after each wave until `rollout resume`"),
    ];
    // Grouped apart from the global options in --help.
    args = args
        .into_iter()
        .map(|arg| arg.help_heading("Rollout"))
        .collect();
    for member in task_members() {
        args.push(
            Arg::new(member.name)
                .long(member.name)
                .value_name(member.value_type.as_str())
                .allow_hyphen_values(true)
                .help_heading("Task options of BatchUpdateFirmware")
                .help(if member.doc.is_empty() {
                    member.type_description()
                } else {
                    member.doc.to_owned()
                }),
        );
    }
    args
}

/// The spec without its plan (the devices may still have to be listed).
pub(super) struct Options {
    pub(super) product_id: String,
    pub(super) firmware_version: String,
    pub(super) fw_type: Option<String>,
    pub(super) task_options: TaskOptions,
    pub(super) waves: Vec<WaveSpec>,
    pub(super) batch_size: usize,
    pub(super) max_failure_rate: f64,
    pub(super) wave_timeout_secs: u64,
    pub(super) cancel_on_abort: bool,
    pub(super) pause_after_wave: bool,
}

/// Reads and checks the flags of a new rollout.
pub(super) fn options(matches: &ArgMatches) -> Result<Options, Failure> {
    let text = |name: &str| matches.get_one::<String>(name).cloned();
    let usage = |err: iotexplorer_rollout::PlanError| Failure::Usage(err.to_string());
    let waves = parse_waves(&text(WAVES).unwrap_or_default()).map_err(usage)?;
    let batch_size = matches
        .get_one::<usize>(BATCH_SIZE)
        .copied()
        .unwrap_or(MAX_BATCH_SIZE);
    // Before any device is listed: a wrong size costs no call.
    check_batch_size(batch_size).map_err(usage)?;
    let max_failure_rate = matches
        .get_one::<f64>(MAX_FAILURE_RATE)
        .copied()
        .unwrap_or(DEFAULT_MAX_FAILURE_RATE);
    if !(0.0..=1.0).contains(&max_failure_rate) {
        return Err(Failure::Usage(format!(
            "--max-failure-rate must be between 0 and 1, not {max_failure_rate}"
        )));
    }
    let task_options = task_options(matches)?;
    Ok(Options {
        product_id: text(PRODUCT).unwrap_or_default(),
        firmware_version: text(VERSION).unwrap_or_default(),
        fw_type: text(FW_TYPE),
        task_options,
        waves,
        batch_size,
        max_failure_rate,
        wave_timeout_secs: matches
            .get_one::<u64>(WAVE_TIMEOUT)
            .copied()
            .unwrap_or(DEFAULT_WAVE_TIMEOUT_SECS),
        cancel_on_abort: matches.get_flag(CANCEL_ON_ABORT),
        pause_after_wave: matches.get_flag(PAUSE_AFTER_WAVE),
    })
}

/// The task options given, each read as `iotexplorer BatchUpdateFirmware` reads its flag.
fn task_options(matches: &ArgMatches) -> Result<TaskOptions, Failure> {
    let mut given = Map::new();
    for member in task_members() {
        if let Some(text) = matches.get_one::<String>(member.name) {
            let value = member_value(member, text).map_err(|bad| Failure::Usage(bad.0))?;
            // Read alone first, so that a value its type cannot hold (a code past the
            // type's range) is refused naming its flag.
            let alone = Map::from_iter([(member.name.to_owned(), value)]);
            serde_json::from_value::<TaskOptions>(Value::Object(alone.clone()))
                .map_err(|err| Failure::Usage(format!("--{} {text:?}: {err}", member.name)))?;
            given.extend(alone);
        }
    }
    serde_json::from_value(Value::Object(given))
        .map_err(|err| Failure::Usage(format!("task options: {err}")))
}

/// Plans the rollout of `devices` and checks that its calls are valid requests.
pub(super) fn spec(options: Options, devices: &[String]) -> Result<RolloutSpec, Failure> {
    let mut spec = RolloutSpec::new(
        options.product_id,
        options.firmware_version,
        devices,
        options.waves,
        options.batch_size,
    )
    .map_err(|err| Failure::Usage(err.to_string()))?;
    spec.fw_type = options.fw_type;
    spec.task_options = options.task_options;
    spec.max_failure_rate = options.max_failure_rate;
    spec.wave_timeout_secs = options.wave_timeout_secs;
    spec.cancel_on_abort = options.cancel_on_abort;
    spec.pause_after_wave = options.pause_after_wave;
    // Built (and so checked) here, exactly as the rollout will build them, so that a
    // rollout never stops half way on a request the model would refuse.
    for batch in spec.plan.batches() {
        iotexplorer_rollout::batch_request(&spec, "check", batch)
            .map_err(|problem| Failure::Usage(format!("batch {}: {problem}", batch.id)))?;
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use iotexplorer_model::{OverrideMode, UpgradeMethod};

    use super::*;

    fn read(extra: &[&str]) -> Result<Options, Failure> {
        let mut line = vec![
            "rollout",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--journal",
            "j",
            "--devices",
            "d",
        ];
        line.extend_from_slice(extra);
        let matches = clap::Command::new("rollout")
            .args(args())
            .try_get_matches_from(line)
            .expect("flags");
        options(&matches)
    }

    #[test]
    fn task_options_are_read_once_into_their_types() {
        let options = read(&[
            "--UpgradeMethod",
            "1",
            "--TimeoutInterval",
            " 300",
            "--OverrideMode",
            "1",
            "--DelayTime",
            "-5",
        ])
        .expect("options");
        let mut expected = TaskOptions::default();
        expected.upgrade_method = Some(UpgradeMethod::from_code(1));
        expected.timeout_interval = Some(300);
        expected.override_mode = Some(OverrideMode::Override);
        expected.delay_time = Some(-5);
        assert_eq!(options.task_options, expected);
    }

    #[test]
    fn a_task_option_is_refused_as_the_action_s_own_flag_is() {
        // The same member flag, the same reading and the same words, whether it is given
        // to `iotexplorer BatchUpdateFirmware` or to `iotexplorer rollout`.
        let meta = BatchUpdateFirmwareRequest::meta();
        for (name, text) in [
            ("UpgradeMethod", "soon"),
            ("TimeoutInterval", "-1"),
            ("DelayTime", "1.5"),
        ] {
            let member = meta.input_member(name).expect("member");
            let expected = member_value(member, text).expect_err("not a value").0;
            let flag = format!("--{name}");
            match read(&[flag.as_str(), text]) {
                Err(Failure::Usage(message)) => assert_eq!(message, expected),
                Err(other) => panic!("{name} {text}: {other:?}"),
                Ok(_) => panic!("{name} {text}: accepted"),
            }
        }
    }

    #[test]
    fn a_task_option_its_type_cannot_hold_is_refused_naming_its_flag() {
        // A whole number, so the flag's reader takes it; past the code type's range.
        let text = (i64::MAX as u64 + 1).to_string();
        match read(&["--UpgradeMethod", text.as_str()]) {
            Err(Failure::Usage(message)) => {
                assert!(message.starts_with("--UpgradeMethod "), "{message}");
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn the_flags_defaults_are_the_rollouts() {
        let options = read(&[]).expect("options");
        assert_eq!(options.max_failure_rate, DEFAULT_MAX_FAILURE_RATE);
        assert_eq!(options.wave_timeout_secs, DEFAULT_WAVE_TIMEOUT_SECS);
        assert_eq!(options.batch_size, MAX_BATCH_SIZE);
        assert_eq!(options.task_options, TaskOptions::default());
    }
}
