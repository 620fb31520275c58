// Power-flow page: polls this server's own routes every 5 s and animates the flows.
// URLs are relative to the page (and its <base>), so it works under a base path, behind a reverse
// proxy and over HTTPS. Only textContent and attributes are written: no HTML is ever parsed.
// Needs common.js (window.PWUI) loaded first.
(function () {
  'use strict';

  var U = window.PWUI;
  var POLL_MS = 5000;
  var TIMEOUT_MS = 4000;
  // One dash period in px (matches stroke-dasharray in powerflow.css).
  var PERIOD_PX = 12.1;

  var root = document.documentElement;
  var byId = U.byId;

  // Each node's meter in /aggregates (signs as in U.FLOWS). For every node "in" means towards
  // the hub.
  var NODES = {
    solar: { key: 'solar' },
    grid: { key: 'site' },
    battery: { key: 'battery' },
    home: { key: 'load', flip: true }
  };

  var state = { lastGood: null, gridDown: false };

  function power(aggregates, key) {
    var meter = aggregates && aggregates[key];
    return U.num(meter && meter.instant_power);
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
    var outage = name === 'grid' && state.gridDown;
    var direction = Math.abs(watts) < U.IDLE_W || outage ? 'idle' : (towardsHub ? 'in' : 'out');
    value.textContent = U.kw(watts);
    node.setAttribute('data-watts', String(watts));
    caption.textContent = outage ? 'outage' : U.flowCaption(watts, name);
    flow.setAttribute('data-direction', direction);
    flow.style.animationDuration = durationFor(watts);
  }

  function renderPower(aggregates) {
    Object.keys(NODES).forEach(function (name) {
      renderNode(name, power(aggregates, NODES[name].key));
    });
  }

  function renderSoe(soe) {
    var reading = U.num(soe && soe.percentage);
    var pct = reading === null ? null : Math.max(0, Math.min(100, reading));
    var level = byId('battery-level');
    var text = byId('value-soe');
    if (pct === null) {
      text.textContent = '–';
      level.setAttribute('height', '0');
      return;
    }
    text.textContent = U.pct(pct, 0);
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
      'aggregates',
      'api/system_status/soe',
      'api/system_status/grid_status'
    ].map(function (path) { return U.getJson(path, TIMEOUT_MS); }));
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
