//! Round trips of `BatchUpdateFirmware` over keep-alive against an in-process server on
//! 127.0.0.1, rate limiting off, at concurrency 1 and 32.
//!
//! `cargo bench -p iotexplorer-http --bench roundtrip`

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use iotexplorer_model::BatchUpdateFirmwareRequest;
use support::{TestServer, builder, task_created};
use tokio::time::Instant;

const RUN_FOR: Duration = Duration::from_secs(3);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = TestServer::always(task_created()).await;
        server.count_only();
        let client = builder(&server)
            .retry_policy(iotexplorer_http::RetryPolicy::none())
            .build()
            .unwrap();
        let request = BatchUpdateFirmwareRequest::builder()
            .product_id("ABCDE12345")
            .firmware_version("2.0.0")
            .device_names("dev001")
            .device_names("dev002")
            .build()
            .unwrap();
        // Warm up the connection pool.
        for _ in 0..50 {
            client.send(&request).await.unwrap();
        }
        for concurrency in [1usize, 32] {
            let started = Instant::now();
            let workers: Vec<_> = (0..concurrency)
                .map(|_| {
                    let client = client.clone();
                    let request = request.clone();
                    tokio::spawn(async move {
                        let mut latencies = Vec::new();
                        while started.elapsed() < RUN_FOR {
                            let sent = Instant::now();
                            client.send(&request).await.unwrap();
                            latencies.push(sent.elapsed());
                        }
                        latencies
                    })
                })
                .collect();
            let mut latencies = Vec::new();
            for worker in workers {
                latencies.extend(worker.await.unwrap());
            }
            let elapsed = started.elapsed();
            latencies.sort();
            let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
            println!(
                "roundtrip: {:.0} req/s (concurrency {concurrency}, {} calls), p50 {:?}, p99 {:?}",
                latencies.len() as f64 / elapsed.as_secs_f64(),
                latencies.len(),
                at(0.50),
                at(0.99),
            );
        }
    });
}
