// Console live data: the summary tiles over /ws/aggregate?view=summary, the gateway selector,
// and per-gateway health from /api/gateways/ (state, mode, data age computed here from
// last_updated, upstream request rate from two readings of the request counter, last error).
(function () {
  'use strict';

  var C = window.PWConsole;
  var U = window.PWUI;
  var STATUS_EVERY_MS = 10000;
  var SELECTED_KEY = 'pw-console-gateway';
  var root = document.documentElement;
  var previousUpstream = {};   // id -> { requests, errors, at } of the previous reading
  var upstreamText = {};       // id -> text shown in the table

  function renderSummary(summary) {
    U.setText('value-solar', U.kw(summary.total_solar_power));
    U.setText('caption-solar', U.flowCaption(summary.total_solar_power, 'solar'));
    U.setText('value-home', U.kw(summary.total_load_power));
    U.setText('caption-home', U.flowCaption(summary.total_load_power, 'home'));
    U.setText('value-battery', U.kw(summary.total_battery_power));
    U.setText('caption-battery', U.flowCaption(summary.total_battery_power, 'battery'));
    U.setText('value-grid', U.kw(summary.total_site_power));
    var grid = U.flowCaption(summary.total_site_power, 'grid');
    if (summary.grid_status === 'DOWN') { grid = 'grid down'; }
    else if (summary.grid_status === 'SYNCING') { grid = 'syncing'; }
    U.setText('caption-grid', grid);
    U.setText('value-soe', U.pct(summary.total_battery_percent));
    var raw = U.num(summary.total_battery_percent_raw);
    U.setText('caption-soe', raw === null ? '' : 'gateway scale ' + U.pct(raw));
    U.setText('value-online', (summary.num_online || 0) + ' / ' + (summary.num_gateways || 0) +
      (summary.num_degraded ? ' (' + summary.num_degraded + ' degraded)' : ''));
    U.setText('summary-scope', (summary.num_gateways || 0) > 1 ? 'all gateways' : '');
    root.dataset.grid = summary.grid_status ? String(summary.grid_status).toLowerCase() : 'unknown';
  }

  // The gateway ids in configuration order; the selector follows them.
  function setIds(ids) {
    if (ids.join('\n') === C.state.ids.join('\n')) { return; }
    C.state.ids = ids;
    var select = U.byId('gateway-select');
    select.replaceChildren();
    ids.forEach(function (id) {
      var option = U.el('option', null, id);
      option.value = id;
      select.appendChild(option);
    });
    var wanted = C.state.selected || sessionStorage.getItem(SELECTED_KEY);
    select.value = ids.indexOf(wanted) >= 0 ? wanted : (ids[0] || '');
    select.closest('label').hidden = ids.length < 2;
    root.dataset.gateways = String(ids.length);
    choose(select.value);
  }

  function choose(id) {
    if (!id || id === C.state.selected) { return; }
    C.state.selected = id;
    sessionStorage.setItem(SELECTED_KEY, id);
    renderGateways();
    C.emit('select', id);
  }

  function stateOf(id) {
    var status = C.state.statuses[id];
    var live = C.state.summary && C.state.summary.gateways_summary &&
      C.state.summary.gateways_summary[id];
    var online = live ? live.online : status && status.online;
    var included = live ? live.included : status && status.data;
    if (online) { return 'online'; }
    return included ? 'degraded' : 'offline';
  }

  function lastUpdated(id) {
    var live = C.state.summary && C.state.summary.gateways_summary &&
      C.state.summary.gateways_summary[id];
    if (live && U.num(live.last_updated) !== null) { return live.last_updated; }
    var status = C.state.statuses[id];
    return status ? status.last_updated : null;
  }

  function noteUpstream(id, status) {
    var counts = status.gateway && status.gateway.upstream;
    if (!counts || U.num(counts.requests) === null) { upstreamText[id] = '–'; return; }
    var now = Date.now() / 1000;
    var before = previousUpstream[id];
    var text = counts.requests + ' req';
    if (before && now - before.at >= 1) {
      var perMin = (counts.requests - before.requests) / (now - before.at) * 60;
      text = perMin.toFixed(1) + ' req/min';
    }
    if (counts.errors) { text += ', ' + counts.errors + ' errors'; }
    upstreamText[id] = text;
    previousUpstream[id] = { requests: counts.requests, at: now };
  }

  function renderGateways() {
    var rows = C.state.ids.map(function (id) {
      var status = C.state.statuses[id] || {};
      var gateway = status.gateway || {};
      var state = stateOf(id);
      var name = gateway.name && gateway.name !== id ? id + ' (' + gateway.name + ')' : id;
      var mode = gateway.mode || '–';
      var error = gateway.last_error || status.error || '';
      var tr = C.row([
        name,
        U.el('td', 'state ' + state, state),
        mode,
        U.age(lastUpdated(id)),
        upstreamText[id] || '–',
        U.el('td', 'error', error)
      ]);
      tr.dataset.gateway = id;
      tr.dataset.state = state;
      if (id === C.state.selected) { tr.className = 'selected'; }
      return tr;
    });
    C.fill(document.querySelector('#gateway-table tbody'), rows, 'No gateway configured', 6);
    var summary = C.state.summary;
    U.setText('value-age', summary ? U.age(summary.timestamp) : '–');
  }

  async function pollStatuses() {
    var map = await U.getJson('api/gateways/');
    C.state.statuses = map || {};
    Object.keys(C.state.statuses).forEach(function (id) { noteUpstream(id, C.state.statuses[id]); });
    if (!C.state.ids.length) { setIds(Object.keys(C.state.statuses)); }
    renderGateways();
    C.emit('statuses', C.state.statuses);
  }

  function setConnection(state) {
    var badge = U.byId('connection');
    badge.dataset.state = state;
    badge.textContent = state === 'live' ? 'live' :
      state === 'connecting' ? 'connecting…' : 'disconnected';
    root.dataset.connection = state;
  }

  U.byId('gateway-select').addEventListener('change', function (event) {
    choose(event.target.value);
  });

  C.stream('ws/aggregate?view=summary', function (summary) {
    C.state.summary = summary;
    if (summary.gateways_summary) { setIds(Object.keys(summary.gateways_summary)); }
    renderSummary(summary);
    renderGateways();
    root.dataset.ready = 'true';
    C.emit('summary', summary);
  }, setConnection);

  C.every(STATUS_EVERY_MS, pollStatuses);
  // Ages move with the clock, not only with messages.
  setInterval(renderGateways, 1000);
}());
