//! Firmware versions: listing, describing, uploading.

use iotexplorer_model::ApiError;
use serde_json::{Value, json};

use super::params::{filters, object, product, text, uint};
use super::{Context, Outcome, Planned, shown};
use crate::change::Change;
use crate::state::{Firmware, Product, State};

fn info(product: &Product, firmware: &Firmware) -> Value {
    json!({
        "Version": firmware.version,
        "Md5sum": firmware.md5,
        "CreateTime": firmware.create_time,
        "ProductName": product.name,
        "Name": firmware.name,
        "Description": firmware.description,
        "ProductId": product.id,
        "FwType": firmware.fw_type,
        "CreateUserId": 0,
        "CreatorNickName": "emulator",
        "UserDefined": firmware.user_defined,
    })
}

/// `ListFirmwares`: every firmware, optionally of one product, paged by `PageNum`.
pub(crate) fn list_firmwares(state: &State, params: &Value) -> Outcome {
    let only = text(params, "ProductID");
    if only.is_some() {
        product(state, only)?;
    }
    let filters = filters(params);
    let all: Vec<Value> = state
        .products
        .values()
        .filter(|p| only.is_none_or(|id| id == p.id))
        .flat_map(|p| p.firmwares.iter().map(move |f| (p, f)))
        .filter(|(p, f)| {
            filters.iter().all(|(key, value)| match key.as_str() {
                "ProductId" | "ProductID" => value == &p.id,
                "FirmwareVersion" | "Version" => value == &f.version,
                "FwType" => value == &f.fw_type,
                "FirmwareName" | "Name" => f.name.contains(value.as_str()),
                _ => true,
            })
        })
        .map(|(p, f)| info(p, f))
        .collect();
    let total = all.len();
    let size = uint(params, "PageSize").unwrap_or(10).max(1);
    let skip = uint(params, "PageNum")
        .unwrap_or(1)
        .saturating_sub(1)
        .saturating_mul(size);
    let firmwares: Vec<Value> = all
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .collect();
    Ok(object([
        ("TotalCount", json!(total)),
        ("Firmwares", Value::Array(firmwares)),
    ]))
}

/// `DescribeFirmware`: one firmware version.
pub(crate) fn describe_firmware(state: &State, params: &Value) -> Outcome {
    let product = product(state, text(params, "ProductID"))?;
    let version = text(params, "FirmwareVersion").unwrap_or_default();
    let firmware = product
        .firmware(version, text(params, "FwType"))
        .ok_or_else(|| {
            ApiError::new(
                "ResourceNotFound.FirmwareNotExist",
                format!("the firmware version {} does not exist", shown(version)),
            )
        })?;
    let mut members = info(product, firmware);
    if let Some(fields) = members.as_object_mut() {
        fields.remove("CreateTime");
        fields.remove("CreateUserId");
        fields.remove("CreatorNickName");
        fields.insert("Createtime".to_owned(), json!(firmware.create_time));
    }
    Ok(members.as_object().cloned().unwrap_or_default())
}

/// `UploadFirmware`: registers a new firmware version (the file itself is not kept).
pub(crate) fn upload_firmware(
    state: &State,
    params: &Value,
    cx: &Context<'_>,
) -> Result<Planned, ApiError> {
    let product = product(state, text(params, "ProductID"))?;
    let version = text(params, "FirmwareVersion")
        .unwrap_or_default()
        .to_owned();
    let fw_type = text(params, "FwType").unwrap_or("mcu").to_owned();
    if product.firmware(&version, Some(&fw_type)).is_some() {
        return Err(ApiError::new(
            "InvalidParameterValue.FirmwareAlreadyExist",
            format!("the firmware version {} already exists", shown(&version)),
        ));
    }
    let firmware = Firmware {
        name: text(params, "FirmwareName").unwrap_or_default().to_owned(),
        description: text(params, "FirmwareDescription")
            .unwrap_or_default()
            .to_owned(),
        md5: text(params, "Md5sum").unwrap_or_default().to_owned(),
        user_defined: text(params, "FirmwareUserDefined")
            .unwrap_or_default()
            .to_owned(),
        create_time: cx.unix_now,
        version,
        fw_type,
    };
    Ok(Planned {
        change: Change::FirmwareAdded {
            product_id: product.id.clone(),
            firmware,
        },
        members: object([]),
    })
}

/// `GetCOSURL`: where the firmware file would be uploaded.
pub(crate) fn get_cos_url(state: &State, params: &Value, cx: &Context<'_>) -> Outcome {
    let product = product(state, text(params, "ProductID"))?;
    let version = text(params, "FirmwareVersion").unwrap_or_default();
    // The emulator keeps no files; the URL only has the shape of a pre-signed one.
    let url = format!(
        "{}/cos/{}/{}?sign=emulator&size={}",
        cx.base_url,
        product.id,
        version,
        uint(params, "FileSize").unwrap_or(0)
    );
    Ok(object([("Url", json!(url))]))
}
