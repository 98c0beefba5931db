//! `--all-devices`: every device of the product that does not yet run the target version.

use iotexplorer_http::{Client, Error};
use serde_json::{Value, json};

/// Devices per page of `GetDeviceList`.
const PAGE: u64 = 100;

/// Lists the product's devices with `GetDeviceList` and keeps those whose reported
/// `Version` differs from `version`, in the service's order.
pub async fn devices_not_on(
    client: &Client,
    product_id: &str,
    version: &str,
) -> Result<Vec<String>, Error> {
    let mut names = Vec::new();
    let mut offset = 0;
    // Bounded by the pages a product can have.
    for _ in 0..1_000_000 {
        let params = json!({"ProductId": product_id, "Offset": offset, "Limit": PAGE});
        let crate::patience::Page {
            items: devices,
            total,
        } = crate::patience::read_page(client, "GetDeviceList", &params, "Devices").await?;
        let count = devices.len() as u64;
        for device in devices {
            let Some(name) = device.get("DeviceName").and_then(Value::as_str) else {
                continue;
            };
            let current = device.get("Version").and_then(Value::as_str).unwrap_or("");
            if current != version {
                names.push(name.to_owned());
            }
        }
        offset += count;
        if count == 0 || offset >= total {
            break;
        }
    }
    Ok(names)
}
