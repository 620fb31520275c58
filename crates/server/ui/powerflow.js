// Power-flow page: polls this server's own routes every 5 s and animates the flows.
// URLs are relative to the page (and its <base>), so it works under a base path, behind a reverse
// proxy and over HTTPS. Only textContent and attributes are written: no HTML is ever parsed.
(function () {
  'use strict';

  var POLL_MS = 5000;
  var TIMEOUT_MS = 4000;
  // Below this the meters read noise, not a flow.
  var IDLE_W = 10;
  // One dash period in px (matches stroke-dasharray in powerflow.css).
  var PERIOD_PX = 12.1;

  var root = document.documentElement;
  var byId = function (id) { return document.getElementById(id); };

  // Sign conventions of /aggregates: site + = import, battery + = discharge, solar + = production,
  // load + = consumption. For every node "in" means towards the hub.
  var NODES = {
    solar: { key: 'solar', positive: 'producing', negative: 'consuming' },
    grid: { key: 'site', positive: 'importing', negative: 'exporting' },
    battery: { key: 'battery', positive: 'discharging', negative: 'charging' },
    home: { key: 'load', positive: 'using', negative: 'supplying', flip: true }
  };

  var state = { lastGood: null, gridDown: false };

  async function getJson(path) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    try {
      var response = await fetch(path, { cache: 'no-store', signal: controller.signal });
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return await response.json();
    } finally {
      clearTimeout(timer);
    }
  }

  function power(aggregates, key) {
    var meter = aggregates && aggregates[key];
    var watts = meter && meter.instant_power;
    return typeof watts === 'number' && isFinite(watts) ? watts : null;
  }

  function kw(watts) {
    return (Math.abs(watts) / 1000).toFixed(2) + ' kW';
  }

  // Speed grows with |power| (dots per second), capped so large sites stay readable.
  function durationFor(watts) {
    var speedPx = Math.min(360, 20 + 40 * Math.abs(watts) / 1000);
    return (PERIOD_PX / speedPx).toFixed(3) + 's';
  }

  function renderNode(name, watts) {
    var spec = NODES[name];
    var flow = byId('flow-' + name);
    var value = byId('value-' + name);
    var caption = byId('caption-' + name);
    var node = byId('node-' + name);
    if (watts === null) {
      value.textContent = '–';
      caption.textContent = '';
      flow.setAttribute('data-direction', 'idle');
      node.removeAttribute('data-watts');
      return;
    }
    // The home path runs from the home to the hub, so consumption flows "out" of the hub.
    var towardsHub = spec.flip ? watts < 0 : watts > 0;
    var direction = Math.abs(watts) < IDLE_W ? 'idle' : (towardsHub ? 'in' : 'out');
    if (name === 'grid' && state.gridDown) { direction = 'idle'; }
    value.textContent = kw(watts);
    node.setAttribute('data-watts', String(watts));
    if (direction === 'idle') {
      caption.textContent = name === 'grid' && state.gridDown ? 'outage' : 'idle';
    } else {
      caption.textContent = watts > 0 ? spec.positive : spec.negative;
    }
    flow.setAttribute('data-direction', direction);
    flow.style.animationDuration = durationFor(watts);
  }

  function renderPower(aggregates) {
    Object.keys(NODES).forEach(function (name) {
      renderNode(name, power(aggregates, NODES[name].key));
    });
  }

  function renderSoe(soe) {
    var pct = soe && typeof soe.percentage === 'number' && isFinite(soe.percentage)
      ? Math.max(0, Math.min(100, soe.percentage)) : null;
    var level = byId('battery-level');
    var text = byId('value-soe');
    if (pct === null) {
      text.textContent = '–';
      level.setAttribute('height', '0');
      return;
    }
    text.textContent = Math.round(pct) + '%';
    byId('node-battery').setAttribute('data-soe', String(pct));
    // The level fills the 26 px inside the battery glyph from the bottom (y = 12 is the floor).
    var height = 26 * pct / 100;
    level.setAttribute('y', String(12 - height + 1));
    level.setAttribute('height', height.toFixed(1));
  }

  function renderGrid(status) {
    var name = status && typeof status.grid_status === 'string' ? status.grid_status : null;
    if (name === null) { return false; }
    state.gridDown = name !== 'SystemGridConnected';
    root.classList.toggle('grid-down', state.gridDown);
    root.setAttribute('data-grid', state.gridDown ? 'down' : 'up');
    byId('outage').hidden = !state.gridDown;
    return true;
  }

  function renderStale(stale) {
    root.classList.toggle('stale', stale);
    root.setAttribute('data-stale', stale ? 'true' : 'false');
    var badge = byId('stale');
    badge.hidden = !stale;
    if (stale) {
      badge.textContent = state.lastGood
        ? 'stale · last update ' + state.lastGood.toLocaleTimeString()
        : 'no data yet';
    }
    byId('status').hidden = byId('outage').hidden && badge.hidden;
  }

  async function poll() {
    var results = await Promise.allSettled([
      getJson('aggregates'),
      getJson('api/system_status/soe'),
      getJson('api/system_status/grid_status')
    ]);
    var value = function (i) { return results[i].status === 'fulfilled' ? results[i].value : null; };
    var fresh = true;
    // Grid first: an outage changes how the grid flow is drawn. A `null` body means the server
    // has no fresh data: keep the last values on screen and mark them stale.
    if (!renderGrid(value(2))) { fresh = false; }
    if (value(0) && typeof value(0) === 'object') { renderPower(value(0)); } else { fresh = false; }
    if (value(1) && typeof value(1) === 'object') { renderSoe(value(1)); } else { fresh = false; }
    if (fresh) {
      state.lastGood = new Date();
      root.setAttribute('data-ready', 'true');
    }
    renderStale(!fresh);
    setTimeout(poll, POLL_MS);
  }

  poll();
})();
