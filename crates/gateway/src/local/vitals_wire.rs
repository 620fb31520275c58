//! Hand-written prost messages for `/api/devices/vitals` (`tesla.proto`, package `teslapower`).
//!
//! Only the messages the decoder touches are declared; prost skips unknown fields, so newer
//! firmware that adds fields still decodes. Field numbers are wire numbers (gateway-protocols §1.8,
//! Appendix A). The simulator encodes its model with these same types, so the two cannot drift.

#![allow(missing_docs)] // field docs would repeat the protocol table referenced above

/// `teslapower.DevicesWithVitals`: the top-level answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DevicesWithVitals {
    #[prost(message, repeated, tag = "1")]
    pub devices: Vec<SiteControllerConnectedDeviceWithVitals>,
}

/// One device with its vitals and alerts.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SiteControllerConnectedDeviceWithVitals {
    #[prost(message, optional, tag = "1")]
    pub device: Option<SiteControllerConnectedDevice>,
    #[prost(message, repeated, tag = "2")]
    pub vitals: Vec<DeviceVital>,
    #[prost(string, repeated, tag = "3")]
    pub alerts: Vec<String>,
}

/// Wrapper around the device description.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SiteControllerConnectedDevice {
    #[prost(message, optional, tag = "1")]
    pub device: Option<Device>,
}

/// `google.protobuf.StringValue`-like wrapper used by `Device`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringValue {
    #[prost(string, tag = "1")]
    pub value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// Identity and attributes of one device.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Device {
    #[prost(message, optional, tag = "1")]
    pub din: Option<StringValue>,
    #[prost(message, optional, tag = "2")]
    pub part_number: Option<StringValue>,
    #[prost(message, optional, tag = "3")]
    pub serial_number: Option<StringValue>,
    #[prost(message, optional, tag = "4")]
    pub manufacturer: Option<StringValue>,
    #[prost(message, optional, tag = "5")]
    pub site_label: Option<StringValue>,
    #[prost(message, optional, tag = "6")]
    pub component_parent_din: Option<StringValue>,
    #[prost(message, optional, tag = "7")]
    pub firmware_version: Option<StringValue>,
    #[prost(message, optional, tag = "8")]
    pub first_communication_time: Option<Timestamp>,
    #[prost(message, optional, tag = "9")]
    pub last_communication_time: Option<Timestamp>,
    #[prost(message, optional, tag = "11")]
    pub device_attributes: Option<DeviceAttributes>,
}

/// The oneof `deviceAttributes`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeviceAttributes {
    #[prost(oneof = "device_attributes::Kind", tags = "1, 2, 3, 4")]
    pub kind: Option<device_attributes::Kind>,
}

/// Members of [`DeviceAttributes`].
pub mod device_attributes {
    /// Which attribute record a device carries.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        #[prost(message, tag = "1")]
        TeslaEnergyEcuAttributes(super::TeslaEnergyEcuAttributes),
        #[prost(message, tag = "2")]
        GeneratorAttributes(super::GeneratorAttributes),
        #[prost(message, tag = "3")]
        PvInverterAttributes(super::PvInverterAttributes),
        #[prost(message, tag = "4")]
        MeterAttributes(super::MeterAttributes),
    }
}

/// Tesla ECU attributes (the ECU type identifies the device family).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TeslaEnergyEcuAttributes {
    #[prost(int32, tag = "1")]
    pub ecu_type: i32,
}

/// Generator nameplate.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GeneratorAttributes {
    #[prost(uint64, tag = "1")]
    pub nameplate_real_power_w: u64,
    #[prost(uint64, tag = "2")]
    pub nameplate_apparent_power_va: u64,
}

/// PV inverter nameplate.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PvInverterAttributes {
    #[prost(uint64, tag = "1")]
    pub nameplate_real_power_w: u64,
}

/// Meter locations.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MeterAttributes {
    #[prost(uint32, repeated, tag = "1")]
    pub meter_location: Vec<u32>,
}

/// One named signal value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeviceVital {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(oneof = "device_vital::Value", tags = "3, 4, 5, 6")]
    pub value: Option<device_vital::Value>,
}

/// Members of [`DeviceVital`].
pub mod device_vital {
    /// The typed value of a vital.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(int64, tag = "3")]
        IntValue(i64),
        #[prost(double, tag = "4")]
        FloatValue(f64),
        #[prost(string, tag = "5")]
        StringValue(String),
        #[prost(bool, tag = "6")]
        BoolValue(bool),
    }
}
