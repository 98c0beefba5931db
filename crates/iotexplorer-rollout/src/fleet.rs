//! `--all-devices`: every device of the product that does not yet run the target version.

use iotexplorer_http::{Client, Error};
use iotexplorer_model::GetDeviceListRequest;

use crate::calls::{PAGE, built};

/// Lists the product's devices with `GetDeviceList` and keeps those whose reported
/// `Version` differs from `version`, in the service's order.
pub async fn devices_not_on(
    client: &Client,
    product_id: &str,
    version: &str,
) -> Result<Vec<String>, Error> {
    let page_size = i64::try_from(PAGE).unwrap_or(i64::MAX);
    let mut names = Vec::new();
    let mut offset: i64 = 0;
    // Bounded by the pages a product can have.
    for _ in 0..1_000_000 {
        let request = built(
            GetDeviceListRequest::builder()
                .product_id(product_id)
                .offset(offset)
                .limit(page_size)
                .build(),
        )?;
        let page = client.get_device_list(&request).await?;
        let devices = page.devices.unwrap_or_default();
        let count = i64::try_from(devices.len()).unwrap_or(i64::MAX);
        for device in devices {
            let Some(name) = device.device_name else {
                continue;
            };
            if device.version.as_deref().unwrap_or("") != version {
                names.push(name);
            }
        }
        offset = offset.saturating_add(count);
        if count == 0 || offset >= page.total.unwrap_or(0) {
            break;
        }
    }
    Ok(names)
}
