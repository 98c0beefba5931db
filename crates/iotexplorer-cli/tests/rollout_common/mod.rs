//! What the rollout tests share: an emulator in the test process, a scratch directory,
//! the real binary pointed at the emulator, and the service's view of the tasks.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use iotexplorer_emulator::{Emulator, Fixture, ProgressSettings, RunningEmulator};
use iotexplorer_http::{Client, RateLimit};
use iotexplorer_model::{
    Action, DescribeFirmwareTaskDevicesRequest, DescribeFirmwareTaskRequest,
    DescribeFirmwareTasksRequest,
};
use serde_json::{Value, json};

pub const PRODUCT: &str = "ROLLOUT001";
pub const SECRET_ID: &str = "AKIDROLLOUTTESTEXAMPLE";
pub const SECRET_KEY: &str = "rollout-test-secret-key";

/// `dev0000`, `dev0001`, …
pub fn device_names(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("dev{n:04}")).collect()
}

/// A product with `count` devices on 1.0.0 and firmware 2.0.0 to update to.
pub fn fixture(count: usize) -> Fixture {
    let devices: Vec<Value> = device_names(count)
        .iter()
        .map(|name| json!({"name": name, "firmware_version": "1.0.0"}))
        .collect();
    let text = json!({
        "credentials": [{"secret_id": SECRET_ID, "secret_key": SECRET_KEY}],
        "products": [{
            "product_id": PRODUCT,
            "firmwares": [{"version": "1.0.0", "fw_type": "mcu"}, {"version": "2.0.0", "fw_type": "mcu"}],
            "devices": devices,
        }],
    });
    Fixture::from_json(&text.to_string()).expect("fixture")
}

pub struct Lab {
    pub runtime: tokio::runtime::Runtime,
    pub emulator: Option<RunningEmulator>,
    /// The lab's files, removed with it.
    pub dir: tempfile::TempDir,
}

impl Lab {
    /// An emulator with `count` devices, at the default 20 requests/s.
    pub fn start(name: &str, count: usize, progress: ProgressSettings) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let emulator = runtime
            .block_on(
                Emulator::builder()
                    .fixture(fixture(count))
                    .progress(progress)
                    .start("127.0.0.1:0"),
            )
            .expect("emulator");
        let dir = tempfile::Builder::new()
            .prefix(&format!("iotexplorer-rollout-{name}-"))
            .tempdir()
            .expect("scratch dir");
        Self {
            runtime,
            emulator: Some(emulator),
            dir,
        }
    }

    pub fn emulator(&self) -> &RunningEmulator {
        self.emulator.as_ref().expect("running")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a device list file.
    pub fn devices_file(&self, names: &[String]) -> PathBuf {
        let path = self.path("devices.txt");
        let mut text = String::from("# the fleet\n\n");
        for name in names {
            text.push_str(name);
            text.push('\n');
        }
        std::fs::write(&path, text).expect("devices file");
        path
    }

    /// A devices file of `names` and the path of a journal named `journal`, as the
    /// command line takes them (devices, journal), and the journal's path.
    pub fn rollout_paths(&self, names: &[String], journal: &str) -> (String, String, PathBuf) {
        let devices = self.devices_file(names).display().to_string();
        let journal = self.path(journal);
        (devices, journal.display().to_string(), journal)
    }

    /// The real binary with the global options that reach the emulator.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_iotexplorer"));
        command
            .arg("--endpoint")
            .arg(self.emulator().url())
            .args([
                "--region",
                "ap-guangzhou",
                "--secretId",
                SECRET_ID,
                "--secretKey",
                SECRET_KEY,
            ])
            .env("IOTEXPLORER_ROLLOUT_RECONCILE_MS", "300")
            .env("IOTEXPLORER_ROLLOUT_RESEND_AFTER_MS", "1000")
            .env_remove("TENCENTCLOUD_SECRET_ID")
            .env_remove("TENCENTCLOUD_SECRET_KEY")
            .stdin(Stdio::null());
        command
    }

    /// A client for looking at the service's state, a little under the service's
    /// 20 calls per second and action.
    pub fn client(&self) -> Client {
        Client::builder()
            .endpoint_url(self.emulator().url())
            .region("ap-guangzhou")
            .static_credentials(SECRET_ID, SECRET_KEY)
            .rate_limit(Some(RateLimit::per_second(18)))
            .build()
            .expect("client")
    }

    /// Every task of the product's 2.0.0: task → (TaskUserDefine, devices).
    pub fn service_tasks(&self) -> BTreeMap<u64, (String, Vec<String>)> {
        let client = self.client();
        // The service counts requests per second and SecretId: start in a fresh second.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        self.runtime.block_on(async {
            let mut tasks = BTreeMap::new();
            let page_size = largest_page::<DescribeFirmwareTasksRequest>();
            let mut offset = 0;
            loop {
                let request = DescribeFirmwareTasksRequest::builder()
                    .product_id(PRODUCT)
                    .firmware_version("2.0.0")
                    .offset(offset)
                    .limit(page_size)
                    .build()
                    .expect("a valid request");
                let page = client.send(&request).await.expect("tasks");
                let infos = page.task_infos.unwrap_or_default();
                for info in &infos {
                    let id = info.task_id.expect("task id");
                    let request = DescribeFirmwareTaskRequest::builder()
                        .product_id(PRODUCT)
                        .firmware_version("2.0.0")
                        .task_id(id)
                        .build()
                        .expect("a valid request");
                    let task = client.send(&request).await.expect("task");
                    tasks.insert(id, (task.task_user_define.unwrap_or_default(), Vec::new()));
                }
                offset += infos.len() as u64;
                if infos.is_empty() || offset >= page.total.unwrap_or(0) {
                    break;
                }
            }
            for (name, id) in listing(&client).await {
                tasks.entry(id).or_default().1.push(name);
            }
            tasks
        })
    }

    /// Every device in a task of the product's 2.0.0, and its tasks.
    pub fn device_tasks(&self) -> BTreeMap<String, Vec<u64>> {
        let client = self.client();
        let mut devices: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (name, task) in self.runtime.block_on(listing(&client)) {
            devices.entry(name).or_default().push(task);
        }
        devices
    }

    /// The journal's records as JSON values.
    pub fn journal_records(&self, path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .expect("journal")
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// The largest page the service serves for `A`.
fn largest_page<A: Action>() -> u64 {
    A::meta().max_page_size().expect("a paged action")
}

/// (device, task) of every device of every task of the product's 2.0.0, page by page.
async fn listing(client: &Client) -> Vec<(String, u64)> {
    let page_size = largest_page::<DescribeFirmwareTaskDevicesRequest>();
    let mut rows = Vec::new();
    let mut offset = 0;
    loop {
        let request = DescribeFirmwareTaskDevicesRequest::builder()
            .product_id(PRODUCT)
            .firmware_version("2.0.0")
            .offset(offset)
            .limit(page_size)
            .build()
            .expect("a valid request");
        let page = client.send(&request).await.expect("devices");
        let devices = page.devices.unwrap_or_default();
        offset += devices.len() as u64;
        let done = devices.is_empty() || offset >= page.total.unwrap_or(0);
        rows.extend(devices.into_iter().map(|row| {
            (
                row.device_name.expect("device"),
                row.task_id.expect("task id"),
            )
        }));
        if done {
            return rows;
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}

/// Batch → task from a journal's `submitted` records (the last one wins).
pub fn journal_tasks(records: &[Value]) -> BTreeMap<String, u64> {
    records
        .iter()
        .filter(|r| r["record"] == "submitted")
        .filter_map(|r| Some((r["batch"].as_str()?.to_owned(), r["task_id"].as_u64()?)))
        .collect()
}

/// Batch → devices from the plan in the start record.
pub fn planned_batches(records: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut batches = BTreeMap::new();
    for wave in records[0]["spec"]["plan"]["waves"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for batch in wave["batches"].as_array().into_iter().flatten() {
            let devices = batch["devices"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect();
            batches.insert(batch["id"].as_str().unwrap_or_default().to_owned(), devices);
        }
    }
    batches
}
