//! A write whose answer cannot be read may have been processed: it ends in
//! `Error::Ambiguous` and is sent exactly once. Reads keep their retries.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::error::Error as _;

use bytes::Bytes;
use iotexplorer_http::Error;
use support::{Reply, TestServer, builder, describe, task_created, upgrade};

/// Answers a client cannot read, each with a name, and the response size limit to use.
fn unreadable_answers() -> Vec<(&'static str, Reply, usize)> {
    let big = format!(
        r#"{{"Response": {{"TaskId": 1, "RequestId": "r-big", "Pad": "{}"}}}}"#,
        "x".repeat(10_000)
    );
    vec![
        (
            "a 200 that is not JSON",
            Reply::Status(200, "text/plain", Bytes::from_static(b"OK, queued")),
            1 << 20,
        ),
        (
            "an HTML 502 from a gateway",
            Reply::Status(
                502,
                "text/html",
                Bytes::from_static(b"<html><body>502 Bad Gateway</body></html>"),
            ),
            1 << 20,
        ),
        (
            "truncated JSON",
            Reply::Body(Bytes::from_static(br#"{"Response": {"TaskId": 10"#)),
            1 << 20,
        ),
        ("an oversized body", Reply::Body(Bytes::from(big)), 4096),
    ]
}

#[tokio::test]
async fn a_write_with_an_unreadable_answer_is_ambiguous_and_sent_once() {
    for (case, reply, limit) in unreadable_answers() {
        let server = TestServer::always(reply).await;
        let client = builder(&server).max_response_size(limit).build().unwrap();
        let error = client.send(&upgrade()).await.unwrap_err();
        assert!(
            matches!(&error, Error::Ambiguous { action, timed_out: false, .. } if action == "BatchUpdateFirmware"),
            "{case}: {error:?}"
        );
        assert!(error.is_ambiguous(), "{case}");
        assert!(!error.was_not_sent(), "{case}");
        assert!(!error.is_retryable(false), "{case}");
        assert!(
            error.to_string().contains("may have been processed"),
            "{case}: {error}"
        );
        // What was wrong with the answer is still there.
        assert!(
            error
                .source()
                .and_then(|source| source.downcast_ref::<Error>())
                .is_some(),
            "{case}: {error:?}"
        );
        assert_eq!(
            server.count(),
            1,
            "{case}: a write must arrive exactly once"
        );
    }
}

#[tokio::test]
async fn the_same_answers_to_a_read_are_retried_or_reported_as_they_are() {
    for (case, reply, limit) in unreadable_answers() {
        let server = TestServer::start(move |index, _| {
            if index == 0 {
                reply.clone()
            } else {
                task_created()
            }
        })
        .await;
        let client = builder(&server).max_response_size(limit).build().unwrap();
        let result = client.send(&describe()).await;
        match case {
            // The same oversized answer would come again.
            "an oversized body" => {
                let error = result.unwrap_err();
                assert!(
                    matches!(error, Error::ResponseTooLarge { limit: 4096, .. }),
                    "{case}: {error:?}"
                );
                assert_eq!(server.count(), 1, "{case}");
            }
            _ => {
                result.unwrap();
                assert_eq!(server.count(), 2, "{case}");
            }
        }
    }
}

#[tokio::test]
async fn an_api_error_of_a_write_is_not_ambiguous() {
    let server = TestServer::always(support::api_error(
        "ResourceNotFound.FirmwareNotExist",
        "no such firmware",
    ))
    .await;
    let client = builder(&server).build().unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(matches!(error, Error::Api { .. }), "{error:?}");
    assert!(!error.is_ambiguous());
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn an_ambiguous_write_keeps_the_request_id_its_answer_carried() {
    let gateway = Reply::Status(
        502,
        "application/json",
        Bytes::from_static(br#"{"Response": {"RequestId": "r-502"}}"#),
    );
    let server = TestServer::always(gateway).await;
    let client = builder(&server).build().unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(error.is_ambiguous(), "{error:?}");
    assert_eq!(error.request_id(), Some("r-502"), "{error:?}");
    assert_eq!(server.count(), 1);
}
