//! Code generated from the model's spec by `cargo xtask codegen`.

mod operations;
