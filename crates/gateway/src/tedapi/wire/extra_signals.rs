//! The extra signals appended to the V2024_06 query variables (gateway-protocols §2.6).
//!
//! The V2024_06 signature covers only the query text, so the variables may ask for more than
//! the capture did: temperatures, fans, uptime and energy counters the mapping needs. The
//! gateway returns the names it knows and drops or nulls the rest.

use serde_json::Value;

/// Names appended to one array of one V2024_06 query's variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtraNames {
    /// The query file entry (`components`, `device_controller_full`).
    pub entry: &'static str,
    /// The JSON path of the array inside the variables.
    pub path: &'static [&'static str],
    /// The names appended, in order.
    pub names: &'static [&'static str],
}

/// The names appended to one signal-name array of the PW3 components query (e.g.
/// `pchSignalNames`); empty for an array that gets none. The conversion reports exactly these.
pub fn components_extra(array: &str) -> &'static [&'static str] {
    EXTRA_VARIABLES
        .iter()
        .find(|extra| extra.entry == "components" && extra.path == [array])
        .map(|extra| extra.names)
        .unwrap_or_default()
}

/// Every addition, in the order it is applied.
pub const EXTRA_VARIABLES: &[ExtraNames] = &[
    ExtraNames {
        entry: "components",
        path: &["pchSignalNames"],
        names: &[
            "PCH_AmbientTemp",
            "PCH_heatsinkTemp",
            "PCH_FanSpeed_A",
            "PCH_FanSpeed_B",
            "PCH_FanDuty_A",
            "PCH_FanDuty_B",
            "PCH_AcRealPowerSum",
            "PCH_AcVoltageCN",
            "PCH_AcVoltageLL",
            "PCH_pcbaId",
            "PCH_usageId",
        ],
    },
    ExtraNames {
        entry: "components",
        path: &["bmsSignalNames"],
        names: &[
            "BMS_LOG_tempOutOfBounds",
            "BMS_LOG_tempOutOfBoundsCharge",
            "BMS_kwhDischargeTotal",
            "BMS_LOG_ahDischargeTotal",
            "BMS_LOG_cacAvg",
            "BMS_LOG_numFullBattCycles",
            "BMS_LOG_overDischargeCounter",
            "BMS_LOG_selfDischargeRate",
        ],
    },
    ExtraNames {
        entry: "components",
        path: &["hvpSignalNames"],
        names: &[
            "HVP_PackTempMax",
            "HVP_PackTempMin",
            "HVP_ShuntTemperature",
            "HVP_SafetyBiDisconnectState",
            "HVP_a061_LockoutOnIsoFaultRetry",
        ],
    },
    ExtraNames {
        entry: "components",
        path: &["pwsSignalNames"],
        names: &[
            "PWS_ExtSwitch_State",
            "PWS_RSDSelfTest_Result",
            "PWS_RSDSelfTest_State",
            "PWS_RSD_State",
            "PWS_assemblyId",
            "PWS_pcbaId",
            "PWS_reversePolarityStrings",
        ],
    },
    ExtraNames {
        entry: "components",
        path: &["baggrSignalNames"],
        names: &[
            "BAGGR_ExpectedEnergyRemaining",
            "BAGGR_ExpectedFullPackEnergy",
            "BAGGR_OperationType",
        ],
    },
    ExtraNames {
        entry: "device_controller_full",
        path: &["msaSignals"],
        names: &[
            "SYNC_Uptime",
            "PINV_EnergyCharged",
            "PINV_EnergyDischarged",
            "PINV_LifetimeEnergyCharged",
            "PINV_LifetimeEnergyDischarged",
            "PINV_HeatsinkTemp",
            "PINV_PllFrequency",
            "PINV_PllLocked",
            "PINV_Qout",
            "PINV_ReadyForGridForming",
            "PINV_HardwareEnableLine",
            "PINV_PowerLimiter",
            "THC_State",
            "SYNC_ExternallyPowered",
            "SYNC_SiteSwitchEnabled",
            "POD_available_charge_power",
            "POD_available_dischg_power",
        ],
    },
    // `POD` instead of `TEPOD` would make the whole query fail (unknown component type).
    ExtraNames {
        entry: "device_controller_full",
        path: &["msaComp", "types"],
        names: &["TEPOD"],
    },
];

/// The variables sent for a V2024_06 entry: the capture re-serialized as compact JSON, with
/// the extra names appended to their arrays (never inserted; names present are skipped).
pub(super) fn extend_variables(key: &str, captured: &str) -> Result<String, serde_json::Error> {
    let mut variables: Value = serde_json::from_str(captured)?;
    for extra in EXTRA_VARIABLES.iter().filter(|extra| extra.entry == key) {
        // Only arrays the capture has are extended: creating a missing filter would narrow
        // the query instead of widening it.
        let Some(Value::Array(items)) = extra
            .path
            .iter()
            .try_fold(&mut variables, |node, step| node.get_mut(*step))
        else {
            continue;
        };
        for name in extra.names {
            if !items.iter().any(|item| item.as_str() == Some(name)) {
                items.push(Value::from(*name));
            }
        }
    }
    serde_json::to_string(&variables)
}

#[cfg(test)]
mod components_extra_tests {
    use super::components_extra;

    #[test]
    fn finds_each_components_array() {
        assert_eq!(components_extra("pchSignalNames").len(), 11);
        assert_eq!(
            components_extra("bmsSignalNames")[0],
            "BMS_LOG_tempOutOfBounds"
        );
        assert_eq!(components_extra("baggrSignalNames").len(), 3);
        assert!(components_extra("nonsense").is_empty());
    }
}
