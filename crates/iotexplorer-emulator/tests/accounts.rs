//! Products belong to an account: a SecretId of another account neither sees nor changes
//! them, over real HTTP, and what a listing shows is the caller's own only.

mod support;

use iotexplorer_emulator::{Emulator, EmulatorBuilder, Fixture, RunningEmulator};
use iotexplorer_model::FirmwareTaskStatus;
use serde_json::{Value, json};
use support::Client;
use tc3_sign::Credentials;

/// Two accounts with a product each, and a product and a key of the default account.
const FIXTURE: &str = r#"{
  "credentials": [
    {"secret_id": "AKIDALICE", "secret_key": "alice-key", "account": "alice"},
    {"secret_id": "AKIDALICETEMP", "secret_key": "alice-temp-key", "token": "t", "account": "alice"},
    {"secret_id": "AKIDBOB", "secret_key": "bob-key", "account": "bob"},
    {"secret_id": "AKIDPLAIN", "secret_key": "plain-key"}
  ],
  "products": [
    {"product_id": "ALICE00001", "account": "alice",
     "firmwares": [{"version": "1.0.0"}, {"version": "2.0.0"}],
     "devices": [{"name": "a1", "firmware_version": "1.0.0"},
                 {"name": "a2", "firmware_version": "1.0.0"}]},
    {"product_id": "BOB0000001", "account": "bob",
     "firmwares": [{"version": "1.0.0"}, {"version": "2.0.0"}],
     "devices": [{"name": "b1", "firmware_version": "1.0.0"}]},
    {"product_id": "PLAIN00001",
     "firmwares": [{"version": "1.0.0"}],
     "devices": [{"name": "p1", "firmware_version": "1.0.0"}]}
  ],
  "device_lists": [{"product_id": "ALICE00001", "file_name": "all.txt", "devices": ["a1", "a2"]}]
}"#;

const ALICE_PRODUCT: &str = "ALICE00001";
const BOB_PRODUCT: &str = "BOB0000001";
const PLAIN_PRODUCT: &str = "PLAIN00001";

fn builder() -> EmulatorBuilder {
    Emulator::builder()
        .fixture(Fixture::from_json(FIXTURE).expect("fixture"))
        .rate_limit(0)
}

async fn start() -> RunningEmulator {
    builder().start("127.0.0.1:0").await.expect("start")
}

fn alice(emulator: &RunningEmulator) -> Client {
    Client::new(emulator.addr(), Credentials::new("AKIDALICE", "alice-key"))
}

fn bob(emulator: &RunningEmulator) -> Client {
    Client::new(emulator.addr(), Credentials::new("AKIDBOB", "bob-key"))
}

fn plain(emulator: &RunningEmulator) -> Client {
    Client::new(emulator.addr(), Credentials::new("AKIDPLAIN", "plain-key"))
}

const NO_PERMISSION: &str = "UnauthorizedOperation.NoPermissionToStudioProduct";
const NOT_EXIST: &str = "ResourceNotFound.StudioProductNotExist";

/// Every action of the firmware family on `product` (a task `task_id` of it, device
/// `device`), with the code it answers for another account's product: the ACL code where
/// Tencent documents it for the action, else "no such product".
fn firmware_family(
    product: &str,
    device: &str,
    task_id: u64,
) -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "BatchUpdateFirmware",
            json!({"ProductID": product, "FirmwareVersion": "2.0.0", "DeviceNames": [device]}),
            NO_PERMISSION,
        ),
        (
            "BatchUpdateFirmware",
            json!({"ProductID": product, "FirmwareVersion": "2.0.0", "FirmwareOriVersion": "1.0.0"}),
            NO_PERMISSION,
        ),
        (
            "UpdateOtaTaskStatus",
            json!({"ProductId": product, "TaskId": task_id,
                   "Status": FirmwareTaskStatus::Cancelled}),
            NOT_EXIST,
        ),
        (
            "UploadFirmware",
            json!({"ProductID": product, "FirmwareVersion": "9.0.0", "Md5sum": "0123456789abcdef0123456789abcdef",
                "FileSize": 10, "FirmwareName": "nine"}),
            NOT_EXIST,
        ),
        (
            "DescribeFirmwareTask",
            json!({"ProductID": product, "FirmwareVersion": "2.0.0", "TaskId": task_id}),
            NOT_EXIST,
        ),
        (
            "DescribeFirmwareTasks",
            json!({"ProductID": product, "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 10}),
            NO_PERMISSION,
        ),
        (
            "DescribeFirmwareTaskDevices",
            json!({"ProductID": product, "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 10}),
            NO_PERMISSION,
        ),
        (
            "DescribeFirmwareUpdateStatus",
            json!({"ProductId": product, "DeviceName": device}),
            NO_PERMISSION,
        ),
        (
            "DescribeDeviceFirmWare",
            json!({"ProductId": product, "DeviceName": device}),
            NO_PERMISSION,
        ),
        (
            "GetDeviceList",
            json!({"ProductId": product, "Offset": 0, "Limit": 10}),
            NO_PERMISSION,
        ),
        (
            "ListFirmwares",
            json!({"PageNum": 1, "PageSize": 10, "ProductID": product}),
            NO_PERMISSION,
        ),
        (
            "DescribeFirmware",
            json!({"ProductID": product, "FirmwareVersion": "2.0.0"}),
            NO_PERMISSION,
        ),
        (
            "GetCOSURL",
            json!({"ProductID": product, "FirmwareVersion": "9.0.0", "FileSize": 10}),
            NO_PERMISSION,
        ),
    ]
}

/// What `client` sees of `product`: its firmware, tasks and task devices.
async fn view_of(client: &Client, product: &str) -> Value {
    let firmwares = client
        .post(
            "ListFirmwares",
            &json!({"PageNum": 1, "PageSize": 100, "ProductID": product}),
        )
        .await
        .ok();
    let tasks = client
        .post(
            "DescribeFirmwareTasks",
            &json!({"ProductID": product, "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 100}),
        )
        .await
        .ok();
    let devices = client
        .post(
            "DescribeFirmwareTaskDevices",
            &json!({"ProductID": product, "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 100}),
        )
        .await
        .ok();
    json!({"firmwares": firmwares["Firmwares"], "tasks": tasks["TaskInfos"], "devices": devices["Devices"]})
}

#[tokio::test]
async fn another_accounts_product_is_refused_by_every_firmware_action_and_left_as_it_was() {
    let emulator = start().await;
    let (alice, bob) = (alice(&emulator), bob(&emulator));
    let created = alice
        .post(
            "BatchUpdateFirmware",
            &json!({"ProductID": ALICE_PRODUCT, "FirmwareVersion": "2.0.0", "DeviceNames": ["a1"]}),
        )
        .await
        .ok();
    let task_id = created["TaskId"].as_u64().expect("a task");
    let before = view_of(&alice, ALICE_PRODUCT).await;

    for (action, body, code) in firmware_family(ALICE_PRODUCT, "a1", task_id) {
        let reply = bob.post(action, &body).await;
        reply.assert_envelope();
        assert_eq!(
            reply.code().as_deref(),
            Some(code),
            "{action} {body}: {reply:?}"
        );
        // The answer names the product no more than a wrong ID would.
        let message = reply.response()["Error"]["Message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!message.contains("alice"), "{action}: {message}");
    }
    // The same SecretId's own product answers as usual, so the refusal was the owner's.
    bob.post(
        "GetDeviceList",
        &json!({"ProductId": BOB_PRODUCT, "Offset": 0, "Limit": 10}),
    )
    .await
    .ok();
    assert_eq!(
        view_of(&alice, ALICE_PRODUCT).await,
        before,
        "nothing of alice's changed"
    );

    // The owner still does every one of them (with the task it made and the new version).
    for (action, body, _) in firmware_family(ALICE_PRODUCT, "a2", task_id) {
        if action == "BatchUpdateFirmware" && body.get("FirmwareOriVersion").is_some() {
            continue; // a1 and a2 are both updating now
        }
        let reply = alice.post(action, &body).await;
        assert_eq!(reply.code(), None, "{action} {body}: {reply:?}");
    }
    // A temporary key of the same account is the same owner.
    let temporary = Client::new(
        emulator.addr(),
        Credentials::new("AKIDALICETEMP", "alice-temp-key").with_token("t"),
    );
    temporary
        .post(
            "DescribeFirmware",
            &json!({"ProductID": ALICE_PRODUCT, "FirmwareVersion": "2.0.0"}),
        )
        .await
        .ok();
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_default_account_and_a_named_one_are_strangers_too() {
    let emulator = start().await;
    let plain = plain(&emulator);
    for (action, body, code) in firmware_family(ALICE_PRODUCT, "a1", 1_000_001) {
        let reply = plain.post(action, &body).await;
        assert_eq!(reply.code().as_deref(), Some(code), "{action}: {reply:?}");
    }
    let alice = alice(&emulator);
    let reply = alice
        .post(
            "GetDeviceList",
            &json!({"ProductId": PLAIN_PRODUCT, "Offset": 0, "Limit": 10}),
        )
        .await;
    assert_eq!(reply.code().as_deref(), Some(NO_PERMISSION));
    plain
        .post(
            "GetDeviceList",
            &json!({"ProductId": PLAIN_PRODUCT, "Offset": 0, "Limit": 10}),
        )
        .await
        .ok();
    emulator.shutdown().await;
}

#[tokio::test]
async fn listings_show_the_callers_own_products_only() {
    let emulator = start().await;
    let (alice, bob, plain) = (alice(&emulator), bob(&emulator), plain(&emulator));
    let products_listed = |reply: Value| -> Vec<String> {
        let mut ids: Vec<String> = reply["Firmwares"]
            .as_array()
            .expect("firmwares")
            .iter()
            .map(|f| f["ProductId"].as_str().expect("id").to_owned())
            .collect();
        ids.dedup();
        ids
    };
    let all = json!({"PageNum": 1, "PageSize": 100});
    let seen = alice.post("ListFirmwares", &all).await.ok();
    assert_eq!(products_listed(seen.clone()), [ALICE_PRODUCT]);
    assert_eq!(seen["TotalCount"], 2);
    assert_eq!(
        products_listed(bob.post("ListFirmwares", &all).await.ok()),
        [BOB_PRODUCT]
    );
    assert_eq!(
        products_listed(plain.post("ListFirmwares", &all).await.ok()),
        [PLAIN_PRODUCT]
    );

    // A keyword naming another account's product finds nothing rather than its firmware.
    let filtered = json!({"PageNum": 1, "PageSize": 100,
                          "Filters": [{"Key": "ProductId", "Value": ALICE_PRODUCT}]});
    let seen = bob.post("ListFirmwares", &filtered).await.ok();
    assert_eq!(seen["TotalCount"], 0, "{seen}");

    // Tasks: alice's task is not found through bob's product, by ID or by listing.
    let created = alice
        .post(
            "BatchUpdateFirmware",
            &json!({"ProductID": ALICE_PRODUCT, "FirmwareVersion": "2.0.0", "FileName": "all.txt",
                      "FileMd5": md5_hex("a1\na2"), "FileSize": 5}),
        )
        .await
        .ok();
    let task_id = created["TaskId"].as_u64().expect("a task");
    let by_id = json!({"ProductID": BOB_PRODUCT, "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 10,
                       "Filters": [{"Key": "TaskId", "Value": task_id.to_string()}]});
    let seen = bob.post("DescribeFirmwareTasks", &by_id).await.ok();
    assert_eq!(seen["Total"], 0, "{seen}");
    let seen = bob.post("DescribeFirmwareTaskDevices", &by_id).await.ok();
    assert_eq!(seen["Total"], 0, "{seen}");
    let reply = bob
        .post(
            "DescribeFirmwareTask",
            &json!({"ProductID": BOB_PRODUCT, "FirmwareVersion": "2.0.0", "TaskId": task_id}),
        )
        .await;
    assert_eq!(
        reply.code().as_deref(),
        Some("ResourceNotFound.FirmwareTaskNotExist")
    );
    let reply = bob
        .post(
            "UpdateOtaTaskStatus",
            &json!({"ProductId": BOB_PRODUCT, "TaskId": task_id,
                    "Status": FirmwareTaskStatus::Cancelled}),
        )
        .await;
    assert_eq!(
        reply.code().as_deref(),
        Some("ResourceNotFound.FirmwareTaskNotExist")
    );

    // Devices: bob's list is his own device only.
    let devices = bob
        .post(
            "GetDeviceList",
            &json!({"ProductId": BOB_PRODUCT, "Offset": 0, "Limit": 100}),
        )
        .await
        .ok();
    assert_eq!(devices["Total"], 1);
    assert_eq!(devices["Devices"][0]["DeviceName"], "b1");
    // And the owner sees its task.
    let seen = alice
        .post("DescribeFirmwareTasks",
              &json!({"ProductID": ALICE_PRODUCT, "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 10}))
        .await
        .ok();
    assert_eq!(seen["TaskInfos"][0]["TaskId"], task_id);
    emulator.shutdown().await;
}

fn md5_hex(text: &str) -> String {
    iotexplorer_emulator::DeviceListFixture::new(
        "x",
        "y",
        text.split('\n').map(str::to_owned).collect(),
    )
    .md5_hex()
}

#[tokio::test]
async fn ownership_is_kept_in_the_state_file() {
    let dir = support::temp_dir("accounts");
    let state = dir.path().join("state.json");
    let emulator = builder()
        .state_file(&state)
        .start("127.0.0.1:0")
        .await
        .expect("start");
    alice(&emulator)
        .post("UploadFirmware",
              &json!({"ProductID": ALICE_PRODUCT, "FirmwareVersion": "3.0.0",
                      "Md5sum": "0123456789abcdef0123456789abcdef", "FileSize": 10, "FirmwareName": "three"}))
        .await
        .ok();
    emulator.shutdown().await;

    // Started again from the state alone: the fixture's products would not say who owns
    // what, so the state must.
    let emulator = Emulator::builder()
        .fixture(Fixture::from_json(FIXTURE).expect("fixture"))
        .rate_limit(0)
        .state_file(&state)
        .start("127.0.0.1:0")
        .await
        .expect("restart");
    let reply = bob(&emulator)
        .post(
            "DescribeFirmware",
            &json!({"ProductID": ALICE_PRODUCT, "FirmwareVersion": "3.0.0"}),
        )
        .await;
    assert_eq!(reply.code().as_deref(), Some(NO_PERMISSION), "{reply:?}");
    alice(&emulator)
        .post(
            "DescribeFirmware",
            &json!({"ProductID": ALICE_PRODUCT, "FirmwareVersion": "3.0.0"}),
        )
        .await
        .ok();
    emulator.shutdown().await;
}
