"""Reference oracle: runs pypowerwall 0.22.2 against the simulator and composes the proxy's routes.

Run by crates/server/tests/oracle_e2e.rs inside a network namespace that has only loopback
(`unshare --net`), so the library can never reach Tesla's cloud or a LAN gateway whatever it
tries. The simulator lives in the host's namespace; the test bridges it with a Unix-domain socket,
and this script listens on the namespace's own loopback and copies bytes to that socket.

Prints one JSON object {route: body} on stdout (the last line); diagnostics go to stderr.
Routes are composed from library calls the way the proxy (proxy-api.md §6) composes them.
"""

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading

# Every step is bounded: the whole run, each relay socket and each library call.
RUN_LIMIT_SECS = 150
SOCKET_TIMEOUT_SECS = 60


def only_loopback():
    """The network rule: refuse to run unless loopback is the only interface."""
    names = [name for _, name in socket.if_nameindex()]
    if names != ["lo"]:
        sys.exit(f"oracle: refusing to run outside a loopback-only netns (interfaces: {names})")


def pump(src, dst):
    """Copies bytes one way until either side closes or goes quiet for too long."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve_relay(listener, unix_path):
    """Accepts on the namespace's loopback; each connection is joined to the Unix socket."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.settimeout(SOCKET_TIMEOUT_SECS)
            upstream.connect(unix_path)
        except OSError as exc:
            print(f"oracle: relay cannot reach {unix_path}: {exc}", file=sys.stderr)
            client.close()
            upstream.close()
            continue
        client.settimeout(SOCKET_TIMEOUT_SECS)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


def start_relay(unix_path):
    """Starts the relay on 127.0.0.1:<free port> and returns the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    threading.Thread(target=serve_relay, args=(listener, unix_path), daemon=True).start()
    return listener.getsockname()[1]


def safe(call, default=None):
    """A library call that raised counts as "no data", as in the proxy's wrapper."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the proxy swallows everything too
        print(f"oracle: call failed: {exc!r}", file=sys.stderr)
        return default


def as_int(value):
    """The proxy's int() of a flag: true → 1, false/null/missing → 0, numbers truncated."""
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def pod_route(pw, system_status, vitals):
    """proxy-api §6.3.8."""
    pod = {}
    blocks = (system_status or {}).get("battery_blocks") or []
    for n, block in enumerate(blocks, 1):
        for key in ("name", "POD_ActiveHeating", "POD_ChargeComplete", "POD_ChargeRequest",
                    "POD_DischargeComplete", "POD_PermanentlyFaulted", "POD_PersistentlyFaulted",
                    "POD_enable_line", "POD_available_charge_power", "POD_available_dischg_power",
                    "POD_nom_energy_remaining", "POD_nom_energy_to_be_charged",
                    "POD_nom_full_pack_energy"):
            pod[f"PW{n}_{key}"] = None
        pod[f"PW{n}_POD_nom_energy_remaining"] = block.get("nominal_energy_remaining")
        pod[f"PW{n}_POD_nom_full_pack_energy"] = block.get("nominal_full_pack_energy")
        for key in ("PackagePartNumber", "PackageSerialNumber", "pinv_state", "pinv_grid_state",
                    "p_out", "q_out", "v_out", "f_out", "i_out", "energy_charged",
                    "energy_discharged"):
            pod[f"PW{n}_{key}"] = block.get(key)
        for key in ("off_grid", "vf_mode", "wobble_detected", "charge_power_clamped",
                    "backup_ready"):
            pod[f"PW{n}_{key}"] = as_int(block.get(key))
        for key in ("OpSeqState", "version"):
            pod[f"PW{n}_{key}"] = block.get(key)
    m = 0
    for device, values in (vitals or {}).items():
        if not device.startswith("TEPOD"):
            continue
        m += 1
        pod[f"PW{m}_name"] = device
        for key in ("POD_ActiveHeating", "POD_ChargeComplete", "POD_ChargeRequest",
                    "POD_DischargeComplete", "POD_PermanentlyFaulted", "POD_PersistentlyFaulted",
                    "POD_enable_line"):
            pod[f"PW{m}_{key}"] = as_int(values.get(key))
        for key in ("POD_available_charge_power", "POD_available_dischg_power",
                    "POD_nom_energy_remaining", "POD_nom_energy_to_be_charged",
                    "POD_nom_full_pack_energy"):
            pod[f"PW{m}_{key}"] = values.get(key)
    status = system_status or {}
    pod["nominal_full_pack_energy"] = status.get("nominal_full_pack_energy")
    pod["nominal_energy_remaining"] = status.get("nominal_energy_remaining")
    pod["time_remaining_hours"] = safe(pw.get_time_remaining)
    pod["backup_reserve_percent"] = safe(pw.get_reserve)
    return pod


def freq_route(pw, system_status, vitals):
    """proxy-api §6.3.7."""
    freq = {}
    blocks = (system_status or {}).get("battery_blocks") or []
    for n, block in enumerate(blocks, 1):
        freq[f"PW{n}_name"] = None
        freq[f"PW{n}_PINV_Fout"] = block.get("f_out")
        freq[f"PW{n}_PINV_VSplit1"] = None
        freq[f"PW{n}_PINV_VSplit2"] = None
        for key in ("PackagePartNumber", "PackageSerialNumber", "p_out", "q_out", "v_out",
                    "f_out", "i_out"):
            freq[f"PW{n}_{key}"] = block.get(key)
    m = 0
    for device, values in (vitals or {}).items():
        if device.startswith("TEPINV"):
            m += 1
            freq[f"PW{m}_name"] = device
            for key in ("PINV_Fout", "PINV_VSplit1", "PINV_VSplit2"):
                freq[f"PW{m}_{key}"] = values.get(key)
        if device.startswith("TESYNC") or device.startswith("TEMSA"):
            for key, value in values.items():
                if key.startswith("ISLAND") or key.startswith("METER"):
                    freq[key] = value
    freq["grid_status"] = safe(lambda: pw.grid_status("numeric"))
    return freq


def fans_route(pw):
    """proxy-api §6.3.12: PVAC names only, whatever the device."""
    if not pw.tedapi:
        return {}
    fans = safe(lambda: pw.tedapi.get_fan_speeds(), {}) or {}
    body = {}
    for i, key in enumerate(sorted(fans), 1):
        body[f"FAN{i}_actual"] = fans[key].get("PVAC_Fan_Speed_Actual_RPM")
        body[f"FAN{i}_target"] = fans[key].get("PVAC_Fan_Speed_Target_RPM")
    return body


def routes(pw):
    """Every compared route, composed once from one set of library answers."""
    vitals = safe(pw.vitals)
    system_status = safe(pw.system_status)
    temps = safe(pw.temps, {}) or {}
    alerts = safe(pw.alerts, []) or []
    return {
        "/aggregates": safe(lambda: pw.poll("/api/meters/aggregates")),
        "/api/system_status": system_status,
        "/vitals": vitals,
        "/strings": safe(pw.strings, {}),
        "/temps/pw": {f"PW{i}_temp": v for i, v in enumerate(temps.values(), 1)},
        "/pod": pod_route(pw, system_status, vitals),
        "/freq": freq_route(pw, system_status, vitals),
        "/fans/pw": fans_route(pw),
        "/alerts/pw": {alert: 1 for alert in alerts},
        "/soe": safe(lambda: pw.poll("/api/system_status/soe")),
        "/api/system_status/grid_status": safe(
            lambda: pw.poll("/api/system_status/grid_status")),
        "/api/operation": safe(lambda: pw.poll("/api/operation")),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--unix", required=True, help="Unix socket leading to the simulator")
    parser.add_argument("--mode", choices=("local", "tedapi"), required=True)
    parser.add_argument("--password", default="")
    parser.add_argument("--gw-pwd", default="")
    parser.add_argument("--email", default="me@example.com")
    parser.add_argument("--timezone", default="America/Los_Angeles")
    parser.add_argument("--workdir", required=True, help="where the library may write its caches")
    args = parser.parse_args()

    only_loopback()
    signal.alarm(RUN_LIMIT_SECS)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    os.chdir(args.workdir)
    port = start_relay(args.unix)

    import pypowerwall  # after the checks: importing it touches nothing on the network

    print(f"oracle: pypowerwall {pypowerwall.version} via 127.0.0.1:{port}", file=sys.stderr)
    pw = pypowerwall.Powerwall(
        host=f"127.0.0.1:{port}",
        password=args.password if args.mode == "local" else "",
        email=args.email,
        timezone=args.timezone,
        gw_pwd=args.gw_pwd if args.mode == "tedapi" else None,
        cachefile=os.path.join(args.workdir, ".powerwall"),
        authpath=args.workdir,
        pwcacheexpire=5,
        timeout=20,
        # The configured mode only: never fall back to Tesla's cloud (the netns would stop it too).
        failover=False,
    )
    if pw.client is None or not pw.is_connected():
        sys.exit("oracle: pypowerwall did not connect to the simulator")
    print(f"oracle: mode {pw.mode}, tedapi_mode {pw.tedapi_mode}", file=sys.stderr)
    sys.stdout.write(json.dumps(routes(pw)) + "\n")
    sys.stdout.flush()
    # Daemon relay threads must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
