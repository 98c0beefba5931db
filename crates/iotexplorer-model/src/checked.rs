//! The mark a request's `build()` leaves once every rule held.
//!
//! A request's members are private and nothing changes them after `build()`, so a request
//! that carries the mark needs no second check before each send: `validate()` answers at
//! once for it. A request made any other way (`Default`, deserialized) has no mark and is
//! checked in full.

use std::fmt;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

/// Whether the request's rules were checked, and held, when it was built.
///
/// It is no part of the request's value: every mark equals every other (two requests with
/// the same members are equal however they were made), it is never serialized, and reading
/// a request never sets it.
#[derive(Clone, Copy, Default)]
pub(crate) struct Checked(bool);

impl Checked {
    /// The mark of a request whose every rule held.
    pub(crate) const HELD: Self = Self(true);

    /// Whether every rule held when the request was built.
    pub(crate) fn held(self) -> bool {
        self.0
    }
}

impl PartialEq for Checked {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Whatever a request's text holds, reading it never marks it: only `build()` does. Read
/// rather than skipped, so that serde reading members into a built request in place (a
/// hidden serde feature another crate of a build may turn on) resets the mark with them.
impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer)?;
        Ok(Self::default())
    }
}

impl fmt::Debug for Checked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "held" } else { "not yet" })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::{BatchUpdateFirmwareRequest, OverrideMode, Validate};

    fn built() -> BatchUpdateFirmwareRequest {
        BatchUpdateFirmwareRequest::builder()
            .product_id("ABCDE12345")
            .firmware_version("2.0.0")
            .device_names("dev001")
            .override_mode(OverrideMode::Override)
            .build()
            .unwrap()
    }

    #[test]
    fn the_mark_is_no_part_of_the_value_or_the_wire() {
        let request = built();
        let text = serde_json::to_string(&request).unwrap();
        assert_eq!(
            text,
            r#"{"ProductID":"ABCDE12345","FirmwareVersion":"2.0.0","DeviceNames":["dev001"],"OverrideMode":1}"#
        );
        let read: BatchUpdateFirmwareRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(read, request);
        assert!(format!("{request:?}").contains("checked: held"));
        assert!(format!("{read:?}").contains("checked: not yet"));
    }

    #[test]
    fn members_read_into_a_built_request_in_place_are_checked_in_full() {
        use serde::Deserialize as _;
        for text in [
            r#"{"ProductID":"","DeviceNames":["dev001","dev001"]}"#,
            r#"{"ProductID":"","DeviceNames":["dev001","dev001"],"checked":true}"#,
        ] {
            let mut request = built();
            let mut reader = serde_json::Deserializer::from_str(text);
            BatchUpdateFirmwareRequest::deserialize_in_place(&mut reader, &mut request).unwrap();
            assert_eq!(request.product_id(), Some(""));
            let errors = request.validate().unwrap_err().to_string();
            assert!(errors.contains("ProductID"), "{text}: {errors}");
            assert!(errors.contains("DeviceNames"), "{text}: {errors}");
        }
    }

    #[test]
    fn a_request_not_built_is_checked_in_full() {
        // Read, not built: a name listed twice breaks the rule that names are distinct.
        let read: BatchUpdateFirmwareRequest = serde_json::from_str(
            r#"{"ProductID":"ABCDE12345","FirmwareVersion":"2.0.0","DeviceNames":["dev001","dev001"]}"#,
        )
        .unwrap();
        let errors = read.validate().unwrap_err();
        assert!(errors.to_string().contains("DeviceNames"), "{errors}");
        // A clone carries what the original has: no mark.
        let copy = read.clone();
        assert!(copy.validate().is_err());
        assert_eq!(copy, read);
        assert!(BatchUpdateFirmwareRequest::default().validate().is_err());
        // And the builder refuses it.
        assert!(
            BatchUpdateFirmwareRequest::builder()
                .product_id("ABCDE12345")
                .firmware_version("2.0.0")
                .device_names("dev001")
                .device_names("dev001")
                .build()
                .is_err()
        );
        let request = built();
        let copy = request.clone();
        assert!(format!("{copy:?}").contains("checked: held"));
        assert_eq!(copy, request);
    }
}
