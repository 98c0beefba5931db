//! Tencent's published signature examples, one directory per case under `tests/vectors/`.
//!
//! Each case holds the request (`context.txt`, `body`) and the expected result of every
//! stage; the harness checks the stages in order, so a failure names the first stage that
//! diverged.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tc3_sign::{
    Credentials, Payload, ReceivedRequest, SignableRequest, SignedHeaders, SigningKey,
    SigningParams, SigningSettings, UtcDate, VerifyPolicy, sign, verify,
};

struct Case {
    name: String,
    context: BTreeMap<String, String>,
    extra_headers: Vec<(String, String)>,
    body: Vec<u8>,
    dir: PathBuf,
}

impl Case {
    fn load(dir: &Path) -> Case {
        let text = fs::read_to_string(dir.join("context.txt")).expect("context.txt");
        let mut context = BTreeMap::new();
        let mut extra_headers = Vec::new();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let (key, value) = line.split_once(": ").expect("key: value");
            if key == "header" {
                let (name, value) = value.split_once(": ").expect("header: Name: value");
                extra_headers.push((name.to_owned(), value.to_owned()));
            } else {
                context.insert(key.to_owned(), value.to_owned());
            }
        }
        Case {
            name: dir
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned(),
            context,
            extra_headers,
            body: fs::read(dir.join("body")).expect("body"),
            dir: dir.to_owned(),
        }
    }

    fn get(&self, key: &str) -> &str {
        self.context
            .get(key)
            .unwrap_or_else(|| panic!("{}: no {key}", self.name))
    }

    fn expected(&self, stage: &str) -> String {
        let text = fs::read_to_string(self.dir.join(stage)).expect(stage);
        // One-line files end in a newline for readability; multi-line stages are exact.
        match text.strip_suffix('\n') {
            Some(line) if !line.contains('\n') => line.to_owned(),
            _ => text,
        }
    }

    fn timestamp(&self) -> i64 {
        self.get("timestamp").parse().expect("timestamp")
    }

    fn credentials(&self) -> Credentials {
        Credentials::new(self.get("secret_id"), self.get("secret_key"))
    }

    fn settings(&self) -> SigningSettings {
        let selection = match self.get("signed_headers") {
            "content-type-and-host" => SignedHeaders::ContentTypeAndHost,
            "all-given" => SignedHeaders::AllGiven,
            other => panic!("{}: unknown signed_headers {other}", self.name),
        };
        SigningSettings::default().with_signed_headers(selection)
    }

    fn request(&self) -> SignableRequest<'_> {
        let mut request = SignableRequest::new(
            self.get("method"),
            self.get("host"),
            self.get("content_type"),
            Payload::Bytes(&self.body),
        );
        for (name, value) in &self.extra_headers {
            request = request.with_header(name, value);
        }
        request
    }
}

fn cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .expect("tests/vectors")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 3, "the published vectors are missing");
    dirs.iter().map(|dir| Case::load(dir)).collect()
}

#[test]
fn every_stage_matches_the_published_vectors() {
    for case in cases() {
        let credentials = case.credentials();
        let params = SigningParams::new(&credentials, case.get("service"), case.timestamp())
            .with_settings(case.settings());
        let signed = sign(&case.request(), &params)
            .unwrap_or_else(|e| panic!("{}: signing failed: {e}", case.name));
        let stages = [
            ("payload-hash.txt", signed.payload_hash()),
            ("canonical-request.txt", signed.canonical_request()),
            (
                "hashed-canonical-request.txt",
                signed.hashed_canonical_request(),
            ),
            ("string-to-sign.txt", signed.string_to_sign()),
            ("signature.txt", signed.signature()),
            ("authorization.txt", signed.authorization()),
        ];
        for (stage, actual) in stages {
            assert_eq!(
                actual,
                case.expected(stage),
                "{}: stage {stage} diverged",
                case.name
            );
        }
    }
}

#[test]
fn a_cached_key_gives_the_same_signature() {
    for case in cases() {
        let credentials = case.credentials();
        let date = UtcDate::from_timestamp(case.timestamp()).expect("date");
        let key =
            SigningKey::derive(credentials.secret_key(), date, case.get("service")).expect("key");
        let params = SigningParams::new(&credentials, case.get("service"), case.timestamp())
            .with_settings(case.settings())
            .with_signing_key(&key);
        let signed = sign(&case.request(), &params).expect("signing with a cached key");
        assert_eq!(
            signed.signature(),
            case.expected("signature.txt"),
            "{}",
            case.name
        );
    }
}

#[test]
fn the_published_requests_verify() {
    for case in cases() {
        let authorization = case.expected("authorization.txt");
        let timestamp = case.get("timestamp").to_owned();
        let mut headers = vec![
            ("Host", case.get("host")),
            ("Content-Type", case.get("content_type")),
            ("Authorization", authorization.as_str()),
            ("X-TC-Timestamp", timestamp.as_str()),
        ];
        for (name, value) in &case.extra_headers {
            headers.push((name.as_str(), value.as_str()));
        }
        let request = ReceivedRequest {
            method: case.get("method"),
            path: "/",
            query: "",
            headers: &headers,
            body: &case.body,
        };
        let policy = VerifyPolicy::new(case.get("service"), case.timestamp());
        let verified = verify(&request, &policy, |_| Some(case.credentials()))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(verified.secret_id, case.get("secret_id"));

        let mut tampered = case.body.clone();
        tampered.push(b' ');
        let request = ReceivedRequest {
            body: &tampered,
            ..request
        };
        let error = verify(&request, &policy, |_| Some(case.credentials())).expect_err("tampered");
        assert_eq!(
            error.code(),
            "AuthFailure.SignatureFailure",
            "{}",
            case.name
        );
    }
}
