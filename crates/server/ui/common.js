// Shared helpers of every page (power flow, example, console, API docs): element lookup and
// creation, number, kW, percent and age formatting, the flow captions, and same-origin JSON
// fetches. Exposed as one namespace object, window.PWUI.
//
// A classic script rather than an ES module: the pages load plain scripts in document order and
// the console's five scripts already share one namespace object, so a second one needs no change
// of how pages load scripts or resolve URLs. Its <script src="ui/common.js"> sits before the page's
// own scripts, is same-origin (the CSP's script-src 'self'; no inline script), and every path
// given to getJson is relative to the page and its <base>, so it follows PROXY_BASE_URL (with or
// without the trailing slash), /gw/<id>/ and HTTPS like the pages themselves.
// Only textContent is ever written: nothing is parsed as HTML.
(function () {
  'use strict';

  var U = {};

  // Default fetch timeout (a page may pass its own).
  var TIMEOUT_MS = 8000;

  // Below this the meters read noise, not a flow.
  U.IDLE_W = 10;

  // Words for each flow's sign, in the sign conventions of /aggregates (site + = import,
  // battery + = discharge, solar + = production, load + = consumption).
  U.FLOWS = {
    solar: { positive: 'producing', negative: 'consuming' },
    grid: { positive: 'importing', negative: 'exporting' },
    battery: { positive: 'discharging', negative: 'charging' },
    home: { positive: 'using', negative: 'supplying' }
  };

  U.byId = function (id) { return document.getElementById(id); };

  // Sets an element's text; null or undefined show as a dash.
  U.setText = function (id, text) {
    var node = U.byId(id);
    if (node) { node.textContent = text === null || text === undefined ? '–' : String(text); }
  };

  U.el = function (tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  };

  // A finite number, or null.
  U.num = function (value) {
    return typeof value === 'number' && isFinite(value) ? value : null;
  };

  // "1.23 kW" of the magnitude (the caption tells the direction), or a dash.
  U.kw = function (watts) {
    var w = U.num(watts);
    return w === null ? '–' : (Math.abs(w) / 1000).toFixed(2) + ' kW';
  };

  // "57.9%" (one decimal unless told), or a dash.
  U.pct = function (value, digits) {
    var v = U.num(value);
    return v === null ? '–' : v.toFixed(digits === undefined ? 1 : digits) + '%';
  };

  // How long ago an epoch-seconds time was: "12 s", "5 min", "2.5 h", or a dash.
  U.age = function (epochSeconds) {
    var t = U.num(epochSeconds);
    if (t === null) { return '–'; }
    var seconds = Math.max(0, Date.now() / 1000 - t);
    if (seconds < 90) { return Math.round(seconds) + ' s'; }
    if (seconds < 5400) { return Math.round(seconds / 60) + ' min'; }
    return (seconds / 3600).toFixed(1) + ' h';
  };

  // "idle" under IDLE_W, else the word for the sign of one of FLOWS; '' without a number.
  U.flowCaption = function (watts, flow) {
    var w = U.num(watts);
    if (w === null) { return ''; }
    if (Math.abs(w) < U.IDLE_W) { return 'idle'; }
    return w > 0 ? U.FLOWS[flow].positive : U.FLOWS[flow].negative;
  };

  // GETs a path relative to the page's base and parses the JSON answer; rejects on a timeout, a
  // network error, a non-JSON body, or a non-2xx status (the error then carries `status`).
  U.getJson = async function (path, timeoutMs) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, timeoutMs || TIMEOUT_MS);
    try {
      var response = await fetch(path, { cache: 'no-store', signal: controller.signal });
      if (!response.ok) {
        var error = new Error('HTTP ' + response.status);
        error.status = response.status;
        throw error;
      }
      return await response.json();
    } finally {
      clearTimeout(timer);
    }
  };

  window.PWUI = U;
}());
