// Console slow data of the selected gateway, from its legacy routes under gw/<id>/: the
// Powerwall table (/pod, /temps/pw, /fans/pw), alerts (/alerts/pw) and solar strings (/strings).
// Refreshed every 30 s and on every change of gateway.
(function () {
  'use strict';

  var C = window.PWConsole;
  var U = window.PWUI;
  var REFRESH_MS = 30000;
  var refreshedAt = null;
  var generation = 0;

  function settled(result) {
    return result.status === 'fulfilled' && result.value && typeof result.value === 'object' ?
      result.value : {};
  }

  // The unit numbers n of the PW<n>_… keys, ascending.
  function unitNumbers(pod) {
    var seen = {};
    Object.keys(pod).forEach(function (key) {
      var match = /^PW(\d+)_/.exec(key);
      if (match) { seen[match[1]] = true; }
    });
    return Object.keys(seen).map(Number).sort(function (a, b) { return a - b; });
  }

  function unitRows(pod, temps, fans) {
    return unitNumbers(pod).map(function (n) {
      var p = 'PW' + n + '_';
      var remaining = U.num(pod[p + 'POD_nom_energy_remaining']);
      var full = U.num(pod[p + 'POD_nom_full_pack_energy']);
      var level = remaining !== null && full ? U.pct(100 * remaining / full) : '–';
      var temp = U.num(temps[p + 'temp']);
      var fan = U.num(fans['FAN' + n + '_actual']);
      var state = pod[p + 'pinv_state'] || pod[p + 'OpSeqState'] || '';
      var serial = pod[p + 'PackageSerialNumber'];
      var name = U.el('td', null, 'PW' + n);
      if (serial) { name.title = String(serial); }
      var tr = C.row([
        name,
        level,
        U.kw(pod[p + 'p_out']),
        temp === null ? '–' : temp.toFixed(1) + ' °C',
        fan === null ? '–' : Math.round(fan) + ' rpm',
        String(state)
      ]);
      tr.dataset.unit = String(n);
      return tr;
    });
  }

  function renderAlerts(alerts) {
    var list = U.byId('alert-list');
    list.replaceChildren();
    var names = Object.keys(alerts).sort();
    names.forEach(function (name) { list.appendChild(U.el('li', null, name)); });
    if (!names.length) { list.appendChild(U.el('li', 'none', 'none')); }
  }

  function stringRows(strings) {
    return Object.keys(strings).sort().map(function (name) {
      var s = strings[name] || {};
      var connected = s.Connected === true ? 'connected' : s.Connected === false ? 'off' : '–';
      var state = s.State ? connected + ' · ' + s.State : connected;
      var volts = U.num(s.Voltage);
      var amps = U.num(s.Current);
      var tr = C.row([
        name,
        state,
        volts === null ? '–' : volts.toFixed(1) + ' V',
        amps === null ? '–' : amps.toFixed(2) + ' A',
        U.kw(s.Power)
      ]);
      tr.dataset.string = name;
      return tr;
    });
  }

  async function refresh() {
    var id = C.state.selected;
    if (!id) { return; }
    var mine = ++generation;
    var paths = ['pod', 'temps/pw', 'fans/pw', 'alerts/pw', 'strings'];
    var results = await Promise.allSettled(paths.map(function (rest) {
      return U.getJson(C.gatewayPath('gw/', id, rest));
    }));
    // A newer refresh (another gateway chosen meanwhile) wins.
    if (mine !== generation) { return; }
    var pod = settled(results[0]);
    C.fill(document.querySelector('#powerwall-table tbody'),
      unitRows(pod, settled(results[1]), settled(results[2])), 'No Powerwall data', 6);
    renderAlerts(settled(results[3]));
    C.fill(document.querySelector('#string-table tbody'), stringRows(settled(results[4])),
      'No string data', 5);
    var extra = [];
    if (U.num(pod.backup_reserve_percent) !== null) {
      extra.push('reserve ' + U.pct(pod.backup_reserve_percent));
    }
    if (U.num(pod.time_remaining_hours) !== null) {
      extra.push(pod.time_remaining_hours.toFixed(1) + ' h remaining');
    }
    U.setText('pw-gateway', id + (extra.length ? ' · ' + extra.join(' · ') : ''));
    refreshedAt = Date.now() / 1000;
    document.documentElement.dataset.units = id;
  }

  var timer = null;
  function schedule() {
    if (timer !== null) { clearInterval(timer); }
    timer = C.every(REFRESH_MS, refresh);
  }

  C.on('select', schedule);
  setInterval(function () { U.setText('units-age', refreshedAt ? U.age(refreshedAt) + ' ago' : '–'); }, 1000);
}());
