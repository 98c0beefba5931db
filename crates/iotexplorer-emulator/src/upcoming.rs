//! TEMPORARY stand-in for the model's status types until they land; removed on merge.
#![allow(dead_code, missing_docs, unreachable_pub)]

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FirmwareUpdateStatus {
    Offline,
    Pending,
    MessageSent,
    Downloading,
    Burning,
    Failed,
    Done,
    Processing,
    AwaitingConfirmation,
    TimedOut,
    Downloaded,
    Unknown(i64),
}

impl FirmwareUpdateStatus {
    pub(crate) fn code(self) -> i64 {
        match self {
            Self::Offline => 0,
            Self::Pending => 1,
            Self::MessageSent => 2,
            Self::Downloading => 3,
            Self::Burning => 4,
            Self::Failed => 5,
            Self::Done => 6,
            Self::Processing => 7,
            Self::AwaitingConfirmation => 8,
            Self::TimedOut => 10,
            Self::Downloaded => 20,
            Self::Unknown(code) => code,
        }
    }
    pub(crate) fn is_terminal(self) -> bool {
        matches!(self, Self::Failed | Self::Done | Self::TimedOut)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FirmwareTaskStatus {
    Running,
    Finished,
    Cancelled,
    Unknown(i64),
}

impl FirmwareTaskStatus {
    pub(crate) fn code(self) -> i64 {
        match self {
            Self::Running => 1,
            Self::Finished => 2,
            Self::Cancelled => 6,
            Self::Unknown(code) => code,
        }
    }
    pub(crate) fn from_code(code: i64) -> Self {
        match code {
            1 => Self::Running,
            2 => Self::Finished,
            6 => Self::Cancelled,
            other => Self::Unknown(other),
        }
    }
}
