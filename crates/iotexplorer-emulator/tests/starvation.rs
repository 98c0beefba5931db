//! A request that takes much work to check does not hold up small ones.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use iotexplorer_emulator::Emulator;
use support::Client;

const LIST: &str = r#"{"PageNum":1,"PageSize":10,"ProductID":"ABCDE12345"}"#;

/// About 4 MiB of JSON: a hundred thousand filters to hash, parse and validate.
fn heavy_body() -> String {
    let filter = r#"{"Key":"FirmwareVersion","Value":"2.0.0"},"#;
    let count = 4 * 1024 * 1024 / filter.len();
    let mut body = String::with_capacity(count * filter.len() + 100);
    body.push_str(r#"{"PageNum":1,"PageSize":10,"ProductID":"ABCDE12345","Filters":["#);
    for _ in 0..count {
        body.push_str(filter);
    }
    body.pop();
    body.push_str("]}");
    body
}

#[test]
fn a_small_request_is_answered_while_a_large_one_is_checked() {
    // One async worker: a check that ran on it would stall every other connection.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let emulator = server
        .block_on(Emulator::builder().rate_limit(0).start("127.0.0.1:0"))
        .expect("start");
    let client = Client::demo(emulator.addr());
    let body = heavy_body();
    let length = body.len();

    for round in 0..2 {
        let finished = Arc::new(AtomicUsize::new(0));
        let large = {
            let client = client.clone();
            let body = body.clone();
            let finished = Arc::clone(&finished);
            clients.spawn(async move {
                let reply = client.post_raw_body("ListFirmwares", body.as_bytes()).await;
                reply.assert_envelope();
                finished.fetch_add(1, Ordering::SeqCst)
            })
        };
        // The server holds the whole body: from now on it is checking it.
        let deadline = Instant::now() + Duration::from_secs(20);
        while emulator.buffered_body_bytes() < length {
            assert!(
                Instant::now() < deadline,
                "round {round}: the body never arrived"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let small = clients.block_on(async {
            let reply = client.post_raw_body("ListFirmwares", LIST.as_bytes()).await;
            reply.ok();
            finished.fetch_add(1, Ordering::SeqCst)
        });
        let large = clients
            .block_on(async { tokio::time::timeout(Duration::from_secs(60), large).await })
            .expect("the large request is answered")
            .expect("large task");
        assert!(
            small < large,
            "round {round}: the small request waited for the large one to be checked"
        );
    }
    server.block_on(emulator.shutdown());
}
