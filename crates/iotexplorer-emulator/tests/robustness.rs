//! Whatever arrives, the server answers with an envelope and never falls over.

mod support;

use iotexplorer_emulator::{Emulator, RunningEmulator};
use proptest::prelude::*;
use support::{Client, http_text, send_raw};

fn runtime_and_emulator() -> (tokio::runtime::Runtime, RunningEmulator) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let emulator = runtime
        .block_on(Emulator::builder().rate_limit(0).start("127.0.0.1:0"))
        .expect("start");
    (runtime, emulator)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_signed_body_gets_an_envelope(body in proptest::collection::vec(any::<u8>(), 0..300),
                                        action in prop_oneof![Just("BatchUpdateFirmware"), Just("ListFirmwares"), Just("DescribeFirmwareTaskDevices"), Just("Nope")]) {
        let (runtime, emulator) = runtime_and_emulator();
        let client = Client::demo(emulator.addr());
        let reply = runtime.block_on(client.post_raw_body(action, &body));
        reply.assert_envelope();
    }

    #[test]
    fn any_signed_query_gets_an_envelope(query in "([A-Za-z0-9.=&+_-]|%[0-9A-Fa-f]{2}){0,80}",
                                         action in prop_oneof![Just("BatchUpdateFirmware"), Just("DescribeFirmwareTasks"), Just("ListFirmwares")]) {
        let (runtime, emulator) = runtime_and_emulator();
        let client = Client::demo(emulator.addr());
        let reply = runtime.block_on(client.get(action, &query));
        reply.assert_envelope();
    }

    // Only header text hyper accepts; malformed HTTP gets hyper's own 400, as at any front end.
    #[test]
    fn unsigned_junk_gets_an_auth_failure(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let (runtime, emulator) = runtime_and_emulator();
        let headers = vec![("Host".to_owned(), emulator.addr().to_string()), ("Authorization".to_owned(), body.iter().filter(|b| b.is_ascii_graphic() || **b == b' ').map(|b| char::from(*b)).collect::<String>())];
        let reply = runtime.block_on(send_raw(emulator.addr(), &http_text("POST", "/", &headers, &body))).expect("answer");
        reply.assert_envelope();
        prop_assert!(reply.code().is_some_and(|c| c.starts_with("AuthFailure.")));
    }

    #[test]
    fn a_signed_request_is_accepted_and_any_tampered_byte_refused(page in 1u64..100, size in 1u64..100, flip in any::<prop::sample::Index>()) {
        let (runtime, emulator) = runtime_and_emulator();
        let client = Client::demo(emulator.addr());
        let body = format!(r#"{{"PageNum":{page},"PageSize":{size}}}"#);
        runtime.block_on(client.post_raw_body("ListFirmwares", body.as_bytes())).ok();
        let mut tampered = body.clone().into_bytes();
        let index = flip.index(tampered.len());
        tampered[index] ^= 0x01;
        let headers = client.headers("POST", "ListFirmwares", "", body.as_bytes());
        let reply = runtime.block_on(send_raw(emulator.addr(), &http_text("POST", "/", &headers, &tampered))).expect("answer");
        reply.assert_envelope();
        let code = reply.code();
        prop_assert_eq!(code.as_deref(), Some("AuthFailure.SignatureFailure"));
    }
}
