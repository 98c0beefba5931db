//! `--all-devices`: every device of the product that does not yet run the target version.

use iotexplorer_http::{Client, Error};
use iotexplorer_model::GetDeviceListRequest;

use crate::calls::{Page, built, every_page, page_size};

/// Lists the product's devices with `GetDeviceList` and keeps those whose reported
/// `Version` differs from `version`, in the service's order.
pub async fn devices_not_on(
    client: &Client,
    product_id: &str,
    version: &str,
) -> Result<Vec<String>, Error> {
    let limit = page_size::<GetDeviceListRequest>().and_then(|size| i64::try_from(size).ok());
    let devices = every_page(|offset| async move {
        let request = built(
            GetDeviceListRequest::builder()
                .product_id(product_id)
                .offset(i64::try_from(offset).unwrap_or(i64::MAX))
                .set_limit(limit)
                .build(),
        )?;
        let page = client.get_device_list(&request).await?;
        Ok(Page::of(page.devices, page.total))
    })
    .await?;
    let names = devices
        .into_iter()
        .filter(|device| device.version.as_deref().unwrap_or("") != version)
        .filter_map(|device| device.device_name)
        .collect();
    Ok(names)
}
