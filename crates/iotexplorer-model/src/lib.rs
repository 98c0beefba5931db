//! Typed, validated request and response types for Tencent Cloud IoT Explorer
//! (service `iotexplorer`, API version `2019-04-23`).
//!
//! This crate does no I/O: it describes what goes over the wire and checks it.
