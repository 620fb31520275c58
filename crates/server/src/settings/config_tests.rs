//! Table tests of the configuration sources through `Settings::from_cli`: precedence, per-gateway
//! defaults, the default gateway, the listen address and error messages. Values are passed as
//! flags, never read from the test process's environment.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use powerwall_gateway::select::GATEWAY_WIFI_ADDRESS;

use super::*;

fn settings(args: &[&str]) -> Result<Settings, SettingsError> {
    let mut full = vec!["powerwall-server"];
    full.extend_from_slice(args);
    Settings::from_cli(Cli::try_parse_from(full).expect("flags parse"))
}

/// A gateways file holding `text`, kept alive by the returned handle.
fn file(text: &str, suffix: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(suffix)
        .tempfile()
        .expect("temp file");
    file.write_all(text.as_bytes()).expect("write");
    file
}

fn with_file(text: &str, args: &[&str]) -> Result<Settings, SettingsError> {
    let config = file(text, ".yaml");
    let path = config.path().to_string_lossy().into_owned();
    let mut full = vec!["--config", path.as_str()];
    full.extend_from_slice(args);
    settings(&full)
}

fn ids(settings: &Settings) -> Vec<&str> {
    settings.gateways.iter().map(|g| g.id.as_str()).collect()
}

/// Parsed only, never connected to: the barn entry is on the gateway's Wi-Fi address
/// (`WIFI_ADDRESS`, filled in by [`three`]) because that address is what selects the hybrid mode.
const THREE_TEMPLATE: &str = "
gateways:
  - id: home
    name: Home
    host: 10.0.1.50
    password: CUSTOMER
    timezone: Europe/Berlin
    poll_interval: 10
    site_id: 1234
  - id: cabin
    host: 10.0.2.60
    gw_pwd: GWPASSWORD
    timeout: 9
    type: inverter
  - id: barn
    host: WIFI_ADDRESS
    port: 443
    gw_pwd: GW2
    password: CUST2
    cache_file: /data/barn.session
";

/// The three-gateway file with the gateway Wi-Fi address filled in.
fn three() -> String {
    THREE_TEMPLATE.replace("WIFI_ADDRESS", GATEWAY_WIFI_ADDRESS)
}

#[test]
fn a_file_with_three_gateways_keeps_per_gateway_settings() {
    let s = with_file(
        &three(),
        &["--timezone", "America/Denver", "--auth-path", "/auth"],
    )
    .unwrap();
    assert_eq!(ids(&s), ["home", "cabin", "barn"]);
    let [home, cabin, barn] = &s.gateways[..] else {
        panic!("three gateways");
    };
    assert!(matches!(home.source, GatewaySource::Local(_)));
    assert_eq!(home.name, "Home");
    assert_eq!(home.timezone, "Europe/Berlin");
    assert_eq!(home.poll_interval, Duration::from_secs(10));
    assert_eq!(home.timeout, Duration::from_secs(5), "PW_TIMEOUT default");
    assert_eq!(home.site_id.as_deref(), Some("1234"));
    assert_eq!(
        home.cache_file,
        Some(PathBuf::from("/auth/.powerwall.home"))
    );
    assert!(matches!(cabin.source, GatewaySource::Tedapi(_)));
    assert_eq!(cabin.name, "cabin", "name defaults to the id");
    assert_eq!(cabin.timezone, "America/Denver", "PW_TIMEZONE default");
    assert_eq!(cabin.timeout, Duration::from_secs(9));
    assert_eq!(cabin.poll_interval, Duration::from_secs(5));
    assert_eq!(cabin.kind, SiteKind::Inverter);
    assert_eq!(cabin.site_id, None);
    assert!(matches!(barn.source, GatewaySource::Hybrid { .. }));
    assert_eq!(
        barn.host(),
        Some(format!("{GATEWAY_WIFI_ADDRESS}:443").as_str())
    );
    assert_eq!(barn.cache_file, Some(PathBuf::from("/data/barn.session")));
    assert_eq!(s.default_gateway, 0, "no `default` id: the first");
    assert_eq!(s.cache_file, home.cache_file);
}

#[test]
fn the_file_beats_pw_gateways_which_beats_the_single_gateway_variables() {
    let json = r#"[{"id": "fromenv", "host": "10.0.0.2", "gw_pwd": "G"}]"#;
    let single = ["--host", "10.0.0.1", "--password", "P"];
    let s = with_file(&three(), &[&["--gateways", json][..], &single].concat()).unwrap();
    assert_eq!(ids(&s), ["home", "cabin", "barn"]);
    let s = settings(&[&["--gateways", json][..], &single].concat()).unwrap();
    assert_eq!(ids(&s), ["fromenv"]);
    assert_eq!(s.default_gateway().host(), Some("10.0.0.2"));
    let s = settings(&single).unwrap();
    assert_eq!(ids(&s), ["default"]);
    assert_eq!(s.default_gateway().name, "Default Gateway");
    let s = settings(&[&["--gateways", "  "][..], &single].concat()).unwrap();
    assert_eq!(ids(&s), ["default"], "a blank PW_GATEWAYS counts as unset");
}

#[test]
fn simulate_ignores_every_other_source() {
    let s = with_file("gateways: []\n", &["--simulate", "--gateways", "nonsense"]).unwrap();
    assert_eq!(ids(&s), ["default"]);
    assert!(matches!(
        s.default_gateway().source,
        GatewaySource::Simulated
    ));
}

#[test]
fn password_falls_back_to_pw_password_but_gw_pwd_does_not() {
    let json =
        r#"[{"id": "a", "host": "10.0.0.2"}, {"id": "b", "host": "10.0.0.3", "password": "OWN"}]"#;
    let s = settings(&[
        "--gateways",
        json,
        "--password",
        "SHARED",
        "--gw-pwd",
        "IGNORED",
    ])
    .unwrap();
    let passwords: Vec<String> = s
        .gateways
        .iter()
        .map(|g| match &g.source {
            GatewaySource::Local(local) => local.password.expose().to_owned(),
            other => panic!("expected local, got {other:?}"),
        })
        .collect();
    assert_eq!(passwords, ["SHARED", "OWN"]);
    let err = settings(&[
        "--gateways",
        r#"[{"id": "a", "host": "h"}]"#,
        "--gw-pwd",
        "G",
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("PW_GATEWAYS: gateway \"a\" (entry 1), field password:"),
        "{err}"
    );
}

#[test]
fn pw_siteid_and_cache_file_belong_to_the_single_gateway_source() {
    let json = r#"[{"id": "solo", "host": "h", "gw_pwd": "G"}]"#;
    let s = settings(&["--gateways", json, "--siteid", "99", "--cache-file", "/c"]).unwrap();
    assert_eq!(s.default_gateway().site_id, None);
    assert_eq!(s.site_id, None);
    assert_eq!(
        s.default_gateway().cache_file,
        Some(PathBuf::from("/c")),
        "one gateway: as is"
    );
    let s = settings(&["--host", "h", "--gw-pwd", "G", "--siteid", "99"]).unwrap();
    assert_eq!(s.site_id.as_deref(), Some("99"));
    assert_eq!(s.cache_file, Some(PathBuf::from(".powerwall")));
}

#[test]
fn the_default_gateway_choice() {
    let two = r#"[{"id": "a", "host": "h", "gw_pwd": "G"}, {"id": "default", "host": "i", "gw_pwd": "G"}]"#;
    let s = settings(&["--gateways", two]).unwrap();
    assert_eq!(
        s.default_gateway().id,
        "default",
        "the id `default` wins over first"
    );
    let s = settings(&["--gateways", two, "--default-gateway", "a"]).unwrap();
    assert_eq!(s.default_gateway().id, "a");
    let s = with_file(
        three()
            .replace("gateways:", "server:\n  default_gateway: cabin\ngateways:")
            .as_str(),
        &[],
    )
    .unwrap();
    assert_eq!(s.default_gateway().id, "cabin");
    let with_server = three().replace("gateways:", "server:\n  default_gateway: cabin\ngateways:");
    let s = with_file(&with_server, &["--default-gateway", "barn"]).unwrap();
    assert_eq!(
        s.default_gateway().id,
        "barn",
        "PW_DEFAULT_GATEWAY beats the file"
    );
    let err = settings(&["--gateways", two, "--default-gateway", "nope"]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("PW_DEFAULT_GATEWAY: no gateway has the id \"nope\""),
        "{err}"
    );
    let broken = three().replace("gateways:", "server:\n  default_gateway: attic\ngateways:");
    let err = with_file(&broken, &[]).unwrap_err().to_string();
    assert!(
        err.contains("server.default_gateway: no gateway has the id \"attic\""),
        "{err}"
    );
}

#[test]
fn listen_address_flag_beats_file_beats_default() {
    let server = three().replace(
        "gateways:",
        "server:\n  host: 127.0.0.1\n  port: 9000\ngateways:",
    );
    let s = with_file(&server, &[]).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:9000");
    assert_eq!(s.config_report["PW_PORT"], 9000);
    assert_eq!(s.config_report["PW_BIND_ADDRESS"], "127.0.0.1");
    let s = with_file(&server, &["--port", "9100", "--bind-address", "::1"]).unwrap();
    assert_eq!(s.listen.to_string(), "[::1]:9100");
    let s = with_file(&three(), &[]).unwrap();
    assert_eq!(s.listen.to_string(), "0.0.0.0:8675");
    assert_eq!(s.config_report["PW_BIND_ADDRESS"], "");
    let bad = three().replace("gateways:", "server:\n  host: everywhere\ngateways:");
    let err = with_file(&bad, &[]).unwrap_err().to_string();
    assert!(
        err.contains("server.host: \"everywhere\" is not an IP address"),
        "{err}"
    );
}

#[test]
fn a_fleetapi_entry_runs_in_fleet_mode_with_the_poll_floor() {
    let text = "gateways:\n  - {id: cabin, fleetapi: on, site_id: '42', poll_interval: 10}\n  \
                - {id: barn, fleetapi: on, poll_interval: 300}\n";
    let s = with_file(text, &["--fleetapi-http", "HTTP/1.1"]).unwrap();
    let cabin = &s.gateways[0];
    let GatewaySource::Fleet(config) = &cabin.source else {
        panic!("expected Fleet API mode, got {:?}", cabin.source);
    };
    assert_eq!(config.site_id, Some(42));
    assert!(config.force_http1);
    assert_eq!(
        config.cache_ttl,
        powerwall_gateway::fleet::MIN_POLL_INTERVAL
    );
    assert_eq!(
        cabin.poll_interval,
        powerwall_gateway::fleet::MIN_POLL_INTERVAL
    );
    assert_eq!(s.gateways[1].poll_interval, Duration::from_secs(300));
    assert_eq!(
        s.gateways[1].source.mode(),
        powerwall_gateway::AccessMode::Fleet
    );
}

#[test]
fn bad_configurations_name_the_gateway_and_the_field() {
    let cases: &[(&str, &str)] = &[
        ("gateways: []\n", "no gateways configured"),
        (
            "gateways:\n  - {id: a, host: h, gw_pwd: G}\n  - {id: a, host: i, gw_pwd: G}\n",
            "gateway \"a\" (entry 2), field id: duplicates the id \"a\" of entry 1",
        ),
        (
            "gateways:\n  - {id: Home, host: h, gw_pwd: G}\n  - {id: home, host: i, gw_pwd: G}\n",
            "gateway \"home\" (entry 2), field id: differs only in letter case from the id \"Home\"",
        ),
        (
            "gateways:\n  - {id: a, host: h, gw_pwd: G, fleetapi: true}\n",
            "gateway \"a\" (entry 1), field fleetapi: cannot be combined with host",
        ),
        (
            "gateways:\n  - {id: a, host: h, gw_pwd: G, cloud_mode: 'yes'}\n",
            "field cloud_mode: cannot be combined with host",
        ),
        (
            "gateways:\n  - {id: a, port: 443, email: e}\n",
            "field port: port is set but host is not",
        ),
        (
            "gateways:\n  - {id: a, host: 'h:443', port: 8443, gw_pwd: G}\n",
            "field port: host \"h:443\" already has a port",
        ),
        (
            "gateways:\n  - {id: a}\n",
            "gateway \"a\" (entry 1), field host: no way to reach",
        ),
        (
            "gateways:\n  - {id: a, host: h}\n",
            "field password: host is set but no credential",
        ),
        (
            "gateways:\n  - {id: a, email: not-an-email}\n",
            "field email: configuration error: cloud mode needs an account email",
        ),
        (
            "gateways:\n  - {id: a, fleetapi: on, site_id: home}\n",
            "gateway \"a\" (entry 1), field site_id: expected a Tesla energy site id",
        ),
        (
            "gateways:\n  - {id: a, host: h, gw_pwd: G, rsa_key_path: /k.pem}\n",
            "field rsa_key_path: access mode",
        ),
        (
            "gateways:\n  - {id: cabin, host: h, gw_pw: G}\n",
            "gateway \"cabin\" (entry 1), field gw_pw: unknown key \"gw_pw\" (did you mean \"gw_pwd\"?)",
        ),
        (
            "gateways:\n  - {id: a, host: h, gw_pwd: G, type: battery}\n",
            "field type: unknown type",
        ),
        (
            "gateways:\n  - {id: 'a/b', host: h, gw_pwd: G}\n",
            "field id: \"a/b\" is not a valid id",
        ),
        (
            "gateways:\n  - {host: h, gw_pwd: G}\n",
            "gateway (entry 1), field id: missing",
        ),
        (
            "gateways:\n  - {id: a, host: 'bad host', gw_pwd: G}\n",
            "gateway \"a\" (entry 1), field host:",
        ),
    ];
    for (text, expected) in cases {
        let err = with_file(text, &[]).unwrap_err().to_string();
        assert!(err.starts_with("gateways file "), "{err}");
        assert!(err.contains(expected), "{text}\n=> {err}");
        let Ok(document) = gateways_file::parse_gateways_file("x", text) else {
            continue;
        };
        let json = serde_json::to_string(&entries_as_json(text)).unwrap_or_default();
        if document.entries.is_empty() || json.is_empty() {
            continue;
        }
        // The same entries through PW_GATEWAYS fail the same way, naming the variable.
        let err = settings(&["--gateways", &json]).unwrap_err().to_string();
        assert!(err.starts_with("PW_GATEWAYS: "), "{err}");
        assert!(err.contains(expected), "{json}\n=> {err}");
    }
}

/// The `gateways:` list of a YAML text as JSON.
fn entries_as_json(text: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_yaml_ng::from_str(text).unwrap_or_default();
    value["gateways"].clone()
}

#[test]
fn unreadable_and_unparseable_files_name_the_path() {
    let err = settings(&["--config", "/nonexistent/gw.yaml"])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("gateways file /nonexistent/gw.yaml: cannot read it"),
        "{err}"
    );
    let err = with_file("gateways:\n  - id: a\n    host: [\n", &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot parse it as YAML") && err.contains("line"),
        "{err}"
    );
    let json = file("{\"gateways\": [\n  {\"id\": \"a\",}\n]}", ".json");
    let path = json.path().to_string_lossy().into_owned();
    let err = settings(&["--config", &path]).unwrap_err().to_string();
    assert!(
        err.contains(&path) && err.contains("line 2 column"),
        "{err}"
    );
}

#[test]
fn secrets_never_print() {
    let s = with_file(&three(), &["--password", "FALLBACKPW"]).unwrap();
    let text = format!("{s:?}");
    for secret in ["CUSTOMER", "GWPASSWORD", "GW2", "CUST2", "FALLBACKPW"] {
        assert!(!text.contains(secret), "{secret} printed");
    }
    let json = r#"[{"id": "a", "host": "h", "gw_pwd": "JSONSECRET"}]"#;
    let text = format!("{:?}", settings(&["--gateways", json]).unwrap());
    assert!(!text.contains("JSONSECRET"));
}

#[test]
fn the_example_file_parses() {
    let text = include_str!("../../../../gateways.example.yaml");
    let s = with_file(text, &[]).unwrap();
    assert_eq!(ids(&s), ["home", "cabin", "garage"]);
    assert!(matches!(s.gateways[0].source, GatewaySource::Local(_)));
    assert!(matches!(s.gateways[1].source, GatewaySource::Tedapi(_)));
    assert!(matches!(s.gateways[2].source, GatewaySource::Hybrid { .. }));
    assert_eq!(s.default_gateway().id, "home");
}

#[test]
fn query_tiers_come_from_the_flags_and_each_gateway_may_set_its_own() {
    let single = settings(&[
        "--host",
        "10.0.2.60",
        "--gw-pwd",
        "GWPASSWORD",
        "--cache-expire",
        "5",
        "--poll-detail",
        "20",
        "--poll-slow",
        "90",
        "--poll-config",
        "600",
    ])
    .unwrap();
    let tiers = single.gateways[0].tiers;
    assert_eq!(
        (tiers.fast, tiers.detail, tiers.slow, tiers.config),
        (
            Duration::from_secs(5),
            Duration::from_secs(20),
            Duration::from_secs(90),
            Duration::from_secs(600)
        )
    );
    let GatewaySource::Tedapi(client) = &single.gateways[0].source else {
        panic!("TEDAPI");
    };
    assert_eq!(client.tiers, tiers, "the client runs the same tiers");

    let text = "gateways:\n  - {id: a, host: 10.0.2.60, gw_pwd: G, poll_detail: 15, poll_config: 120}\n  \
                - {id: b, host: 10.0.2.61, gw_pwd: G, poll_interval: 45}\n";
    let s = with_file(text, &["--poll-slow", "100"]).unwrap();
    let [a, b] = &s.gateways[..] else {
        panic!("two gateways");
    };
    assert_eq!(a.tiers.detail, Duration::from_secs(15));
    assert_eq!(
        a.tiers.slow,
        Duration::from_secs(100),
        "PW_POLL_SLOW default"
    );
    assert_eq!(a.tiers.config, Duration::from_secs(120));
    // A slower tier never runs faster than the gateway's own poll.
    assert_eq!(b.tiers.fast, Duration::from_secs(45));
    assert_eq!(b.tiers.detail, Duration::from_secs(45));
    assert_eq!(b.tiers.slow, Duration::from_secs(100));
    assert_eq!(b.tiers.config, Duration::from_secs(300));
    let typo = with_file(
        "gateways:\n  - {id: a, host: 10.0.2.60, gw_pwd: G, poll_detial: 15}\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(typo.contains("poll_detail"), "{typo}");
}
