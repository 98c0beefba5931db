//! What signing a typical `BatchUpdateFirmware` POST costs, against the floor: the
//! SHA-256 and HMAC work on the same bytes that no implementation of the algorithm can
//! skip with a kept key. That is the payload's hash, the canonical request's hash, and the
//! MAC of the string to sign from an HMAC state keyed once (RFC 2104 allows keeping the
//! inner and outer padded states of a reused key; the floor clones them per signature).
//! Prints nanoseconds per operation and the ratios.
//!
//! Within one process, each figure is the median over rounds in which the measurements
//! are interleaved, so that changes in machine load between rounds affect them alike.
//! Where the process's code, heap and libraries land in memory moves the figures too (by
//! up to ±0.05 in the ratios), and that is drawn anew for every process; so the bench
//! measures in several processes and reports the median across them, with the range.

#![allow(clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use tc3_sign::{
    Credentials, Payload, SignableRequest, Signer, SigningKey, SigningParams, UtcDate, sign,
};

const BODY: &[u8] = br#"{"ProductID":"ABCDE12345","FirmwareVersion":"2.0.0","FirmwareOriVersion":"1.0.0","UpgradeMethod":0,"DeviceNames":["dev001","dev002","dev003","dev004"],"TimeoutInterval":300,"OverrideMode":0,"MaxRetryNum":3,"RetryInterval":1,"FwType":"mcu"}"#;
const HOST: &str = "iotexplorer.tencentcloudapi.com";
const TIMESTAMP: i64 = 1_700_000_000;
const ROUNDS: usize = 101;
const ITERATIONS: u32 = 4_000;
/// Processes measured, each with its own address-space layout.
const PROCESSES: usize = 9;
/// Set in the environment of a process that measures and prints its figures.
const MEASURING: &str = "TC3_SIGN_BENCH_MEASURING";

/// What one process measures, in order: the median ns per call of each path, then the
/// median ratio of each to the floor (`Some(target)` for the ratios with a target).
const FIGURES: [(&str, Figure); 7] = [
    ("fresh key (derive + sign)", Figure::Nanoseconds),
    ("cached key, sign()", Figure::Nanoseconds),
    ("cached key, Signer (same endpoint)", Figure::Nanoseconds),
    ("floor (SHA-256 x2 + keyed HMAC)", Figure::Nanoseconds),
    ("cached key, sign() / floor", Figure::Ratio(None)),
    ("cached key, Signer / floor", Figure::Ratio(Some(1.20))),
    ("fresh key / floor", Figure::Ratio(None)),
];

enum Figure {
    Nanoseconds,
    Ratio(Option<f64>),
}

/// Nanoseconds per call of `f`, over one round of `ITERATIONS` calls.
fn round(f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..ITERATIONS {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    if std::env::var_os(MEASURING).is_some() {
        let figures = measure();
        println!("{}", figures.map(|figure| figure.to_string()).join(" "));
        return;
    }
    let exe = std::env::current_exe().expect("the bench's own path");
    let mut runs: Vec<[f64; 7]> = Vec::new();
    for _ in 0..PROCESSES {
        let output = Command::new(&exe)
            .env(MEASURING, "1")
            .output()
            .expect("run a measuring process");
        assert!(output.status.success(), "a measuring process failed");
        let text = String::from_utf8_lossy(&output.stdout);
        let values: Vec<f64> = text
            .split_whitespace()
            .map(|value| value.parse().expect("a figure"))
            .collect();
        runs.push(values.try_into().expect("seven figures"));
    }

    println!(
        "signing a BatchUpdateFirmware POST ({} byte body): median over {PROCESSES} processes \
         [lowest, highest]",
        BODY.len()
    );
    for (index, (name, figure)) in FIGURES.iter().enumerate() {
        let mut values: Vec<f64> = runs.iter().map(|run| run[index]).collect();
        let middle = median(&mut values);
        let (low, high) = (values[0], values[values.len() - 1]);
        match figure {
            Figure::Nanoseconds => {
                println!("  {name:<36} {middle:>7.0} ns [{low:.0}, {high:.0}]");
            }
            Figure::Ratio(target) => {
                let target = target
                    .map(|target| format!("  (target: at most {target:.2}x)"))
                    .unwrap_or_default();
                println!("  {name:<36} {middle:>7.2}x  [{low:.2}, {high:.2}]{target}");
            }
        }
    }
}

/// Medians within this process, in the order of [`FIGURES`].
fn measure() -> [f64; 7] {
    let credentials = Credentials::new(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
    );
    let date = UtcDate::from_timestamp(TIMESTAMP).expect("date");
    let key = SigningKey::derive(credentials.secret_key(), date, "iotexplorer").expect("key");
    let request = SignableRequest::post_json(HOST, BODY);
    let fresh_params = SigningParams::new(&credentials, "iotexplorer", TIMESTAMP);
    let cached_params = fresh_params.clone().with_signing_key(&key);

    let signer = Signer::new(
        &credentials,
        key.clone(),
        "POST",
        HOST,
        "/",
        "application/json",
    )
    .expect("signer");
    let reference = sign(&request, &cached_params).expect("sign");
    assert_eq!(
        signer
            .sign(None, "", Payload::Bytes(BODY), TIMESTAMP)
            .expect("sign")
            .authorization(),
        reference.authorization()
    );
    let canonical = reference.canonical_request().to_owned();
    let string_to_sign = reference.string_to_sign().to_owned();
    let k_signing = {
        // Recompute kSigning by hand so the floor uses no code of the crate.
        let hmac = |key: &[u8], data: &[u8]| -> Vec<u8> {
            let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("key");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        };
        let k_date = hmac(
            b"TC3Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            date.as_str().as_bytes(),
        );
        let k_service = hmac(&k_date, b"iotexplorer");
        hmac(&k_service, b"tc3_request")
    };

    // A signature is done when the Authorization value can be sent: read it.
    let mut fresh = || {
        let signed = sign(black_box(&request), black_box(&fresh_params)).expect("sign");
        black_box(signed.authorization());
    };
    let mut cached = || {
        let signed = sign(black_box(&request), black_box(&cached_params)).expect("sign");
        black_box(signed.authorization());
    };
    let mut prepared = || {
        let signed = signer
            .sign(
                None,
                black_box(""),
                black_box(Payload::Bytes(BODY)),
                black_box(TIMESTAMP),
            )
            .expect("sign");
        black_box(signed.authorization());
    };
    // Keyed once: the inner and outer padded blocks of kSigning are hashed here, not per
    // signature.
    let keyed = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&k_signing).expect("key");
    let mut floor = || {
        black_box(Sha256::digest(black_box(BODY)));
        black_box(Sha256::digest(black_box(canonical.as_bytes())));
        let mut mac = black_box(&keyed).clone();
        mac.update(black_box(string_to_sign.as_bytes()));
        black_box(mac.finalize());
    };
    round(&mut fresh);
    round(&mut cached);
    round(&mut floor);
    round(&mut prepared);

    let (mut fresh_ns, mut cached_ns, mut floor_ns) = (Vec::new(), Vec::new(), Vec::new());
    let (mut cached_ratio, mut fresh_ratio) = (Vec::new(), Vec::new());
    let (mut signer_ns, mut signer_ratio) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let base = round(&mut floor);
        let with_cached = round(&mut cached);
        let with_fresh = round(&mut fresh);
        let with_signer = round(&mut prepared);
        signer_ratio.push(with_signer / base);
        signer_ns.push(with_signer);
        cached_ratio.push(with_cached / base);
        fresh_ratio.push(with_fresh / base);
        floor_ns.push(base);
        cached_ns.push(with_cached);
        fresh_ns.push(with_fresh);
    }

    [
        median(&mut fresh_ns),
        median(&mut cached_ns),
        median(&mut signer_ns),
        median(&mut floor_ns),
        median(&mut cached_ratio),
        median(&mut signer_ratio),
        median(&mut fresh_ratio),
    ]
}
