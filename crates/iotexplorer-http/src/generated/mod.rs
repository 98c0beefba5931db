//! Written by hand: declares `operations`, the client's typed method for every action,
//! which `cargo xtask codegen` generates from the model's spec.

mod operations;
