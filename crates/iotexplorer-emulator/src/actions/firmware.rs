//! Firmware versions: listing, describing, uploading.

use iotexplorer_model::{
    Action, ApiError, DescribeFirmwareRequest, DescribeFirmwareResponse, ErrorCode, FirmwareInfo,
    GetCOSURLRequest, GetCOSURLResponse, ListFirmwaresRequest, ListFirmwaresResponse,
    UploadFirmwareRequest, UploadFirmwareResponse,
};

use super::lookup::{firmware, keywords_hold, page, page_size, product};
use super::{Changes, Context, Planned, Reads, shown};
use crate::change::Change;
use crate::fixture::DEFAULT_FW_TYPE;
use crate::state::{Firmware, Product, State};

/// Who created every firmware and task, as the service names the uploader.
pub(super) const CREATOR_NICK_NAME: &str = "emulator";

fn info(product: &Product, firmware: &Firmware) -> FirmwareInfo {
    let mut info = FirmwareInfo::default();
    info.version = Some(firmware.version.clone());
    info.md5sum = Some(firmware.md5.clone());
    info.create_time = Some(unix_seconds(firmware.create_time));
    info.product_name = Some(product.name.clone());
    info.name = Some(firmware.name.clone());
    info.description = Some(firmware.description.clone());
    info.product_id = Some(product.id.clone());
    info.fw_type = Some(firmware.fw_type.clone());
    info.create_user_id = Some(0);
    info.creator_nick_name = Some(CREATOR_NICK_NAME.to_owned());
    info.user_defined = Some(firmware.user_defined.clone());
    info
}

/// A time of the emulator's own clock, never before 1970.
fn unix_seconds(time: i64) -> u64 {
    u64::try_from(time).unwrap_or(0)
}

/// `ListFirmwares`: every firmware, optionally of one product, paged by `PageNum`.
impl Reads for ListFirmwaresRequest {
    fn read(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<ListFirmwaresResponse, ApiError> {
        let only = request.product_id();
        if only.is_some() {
            product::<Self>(state, cx, only)?;
        }
        let all: Vec<FirmwareInfo> = state
            .products
            .values()
            // Another account's products are not listed, as if they did not exist.
            .filter(|p| p.belongs_to(cx.account) && only.is_none_or(|id| id == p.id))
            .flat_map(|p| p.firmwares.iter().map(move |f| (p, f)))
            .filter(|(p, f)| {
                keywords_hold(request.filters(), |key, value| match key {
                    "ProductId" | "ProductID" => Some(value == p.id),
                    "FirmwareVersion" | "Version" => Some(value == f.version),
                    "FwType" => Some(value == f.fw_type),
                    "FirmwareName" | "Name" => Some(f.name.contains(value)),
                    _ => None,
                })
            })
            .map(|(p, f)| info(p, f))
            .collect();
        let total = all.len();
        let size = page_size(Self::meta(), request.page_size()).max(1);
        // Pages count from 1; validation requires PageNum.
        let skip = request
            .page_num()
            .unwrap_or(1)
            .saturating_sub(1)
            .saturating_mul(size);
        let mut response = ListFirmwaresResponse::default();
        response.total_count = Some(total as u64);
        response.firmwares = Some(page(all, skip, size));
        Ok(response)
    }
}

/// `DescribeFirmware`: one firmware version.
impl Reads for DescribeFirmwareRequest {
    fn read(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<DescribeFirmwareResponse, ApiError> {
        let (product, firmware) = firmware::<Self>(
            state,
            cx,
            request.product_id(),
            request.firmware_version(),
            request.fw_type(),
        )?;
        let mut response = DescribeFirmwareResponse::default();
        response.version = Some(firmware.version.clone());
        response.product_id = Some(product.id.clone());
        response.name = Some(firmware.name.clone());
        response.description = Some(firmware.description.clone());
        response.md5sum = Some(firmware.md5.clone());
        response.createtime = Some(unix_seconds(firmware.create_time));
        response.product_name = Some(product.name.clone());
        response.fw_type = Some(firmware.fw_type.clone());
        response.user_defined = Some(firmware.user_defined.clone());
        Ok(response)
    }
}

/// `UploadFirmware`: registers a new firmware version (the file itself is not kept).
impl Changes for UploadFirmwareRequest {
    fn plan(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<Planned<UploadFirmwareResponse>, ApiError> {
        let product = product::<Self>(state, cx, request.product_id())?;
        let version = request.firmware_version().unwrap_or_default().to_owned();
        let fw_type = request.fw_type().unwrap_or(DEFAULT_FW_TYPE).to_owned();
        if product.firmware(&version, Some(&fw_type)).is_some() {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValueFirmwareAlreadyExist,
                format!("the firmware version {} already exists", shown(&version)),
            ));
        }
        let firmware = Firmware {
            name: request.firmware_name().unwrap_or_default().to_owned(),
            description: request
                .firmware_description()
                .unwrap_or_default()
                .to_owned(),
            md5: request.md5sum().unwrap_or_default().to_owned(),
            user_defined: request
                .firmware_user_defined()
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
            response: UploadFirmwareResponse::default(),
        })
    }
}

/// `GetCOSURL`: where the firmware file would be uploaded.
impl Reads for GetCOSURLRequest {
    fn read(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<GetCOSURLResponse, ApiError> {
        let product = product::<Self>(state, cx, request.product_id())?;
        // The emulator keeps no files; the URL only has the shape of a pre-signed one.
        let url = format!(
            "{}/cos/{}/{}?sign=emulator&size={}",
            cx.base_url,
            product.id,
            request.firmware_version().unwrap_or_default(),
            request.file_size().unwrap_or(0)
        );
        let mut response = GetCOSURLResponse::default();
        response.url = Some(url);
        Ok(response)
    }
}
