// Console core: table helpers, form POSTs, the shared state and a small event bus, and the
// aggregate WebSocket with reconnect back-off; the element, formatting and JSON helpers every page
// shares are in common.js (window.PWUI), loaded first. Every URL is relative to the page (and its
// <base>), so the console works under PROXY_BASE_URL and behind a reverse proxy.
// Only textContent is ever written: nothing from the server or the user is parsed as HTML.
(function () {
  'use strict';

  var U = window.PWUI;
  // A POST writes through to the gateway: it may wait twice as long as a read (8 s, common.js).
  var POST_TIMEOUT_MS = 16000;
  var BACKOFF_MIN_MS = 1000;
  var BACKOFF_MAX_MS = 30000;

  var C = {};
  var listeners = {};

  C.state = {
    ids: [],          // gateway ids, configuration order
    selected: null,   // the gateway the detail cards and the control panel show
    summary: null,    // latest /ws/aggregate?view=summary message
    statuses: {}      // id -> GatewayStatus from /api/gateways/
  };

  C.on = function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); };
  C.emit = function (name, data) {
    (listeners[name] || []).forEach(function (fn) {
      try { fn(data); } catch (error) { console.error(name, error); }
    });
  };

  C.row = function (cells) {
    var tr = document.createElement('tr');
    cells.forEach(function (cell) {
      var td = typeof cell === 'object' && cell !== null ? cell : U.el('td', null, cell);
      if (td.tagName !== 'TD') { var wrap = U.el('td'); wrap.appendChild(td); td = wrap; }
      tr.appendChild(td);
    });
    return tr;
  };
  C.fill = function (tbody, rows, emptyText, columns) {
    tbody.replaceChildren();
    rows.forEach(function (tr) { tbody.appendChild(tr); });
    if (!rows.length) {
      var td = U.el('td', 'empty', emptyText);
      td.colSpan = columns;
      var tr = document.createElement('tr');
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
  };

  // A same-origin path for one gateway's route: "gw/<id>/pod", "api/gateways/<id>/control/mode".
  C.gatewayPath = function (prefix, id, rest) {
    return prefix + encodeURIComponent(id) + '/' + rest;
  };

  // POSTs a form body (fields as given; the secret travels only here) and returns the status and
  // the parsed JSON answer (or null when the answer is not JSON).
  C.postForm = async function (path, fields) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, POST_TIMEOUT_MS);
    try {
      var response = await fetch(path, {
        method: 'POST',
        cache: 'no-store',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
        signal: controller.signal
      });
      var text = await response.text();
      var body = null;
      try { body = JSON.parse(text); } catch (ignored) { body = null; }
      return { status: response.status, body: body };
    } finally {
      clearTimeout(timer);
    }
  };

  // ws: or wss: URL of a path relative to the page's base.
  C.wsUrl = function (path) {
    var url = new URL(path, document.baseURI);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  };

  // A WebSocket that reconnects with exponential back-off (1 s doubling to 30 s, reset by a
  // message); onState gets 'connecting', 'live' or 'disconnected'.
  C.stream = function (path, onMessage, onState) {
    var delay = BACKOFF_MIN_MS;
    var socket = null;
    var timer = null;
    function connect() {
      timer = null;
      onState('connecting');
      try {
        socket = new WebSocket(C.wsUrl(path));
      } catch (error) {
        schedule();
        return;
      }
      socket.onmessage = function (event) {
        delay = BACKOFF_MIN_MS;
        var data = null;
        try { data = JSON.parse(event.data); } catch (ignored) { return; }
        onState('live');
        onMessage(data);
      };
      socket.onclose = function () { socket = null; onState('disconnected'); schedule(); };
      socket.onerror = function () { if (socket) { socket.close(); } };
    }
    function schedule() {
      if (timer !== null) { return; }
      timer = setTimeout(connect, delay);
      delay = Math.min(BACKOFF_MAX_MS, delay * 2);
    }
    // Reconnect at once when the tab comes back after the browser dropped the socket.
    window.addEventListener('pageshow', function () {
      if (!socket && timer !== null) { clearTimeout(timer); timer = null; connect(); }
    });
    connect();
    return { close: function () { if (socket) { socket.close(); } } };
  };

  // Runs fn now and every periodMs, never overlapping itself.
  C.every = function (periodMs, fn) {
    var running = false;
    async function tick() {
      if (running) { return; }
      running = true;
      try { await fn(); } catch (error) { console.warn(error); } finally { running = false; }
    }
    tick();
    return setInterval(tick, periodMs);
  };

  window.PWConsole = C;
}());
