// Console trend: solar, home, Powerwall and grid power (kW, left axis) and the battery level
// (%, right axis) of the last hours, sampled from the summary stream, kept in memory and in this
// tab's sessionStorage, drawn on a canvas without any library. Two tiers keep it bounded: every
// second for the last 15 minutes, then one point per 30 s up to 6 hours (at most ~1,600 points).
(function () {
  'use strict';

  var C = window.PWConsole;
  var U = window.PWUI;
  var SAMPLE_S = 1;
  var FINE_S = 15 * 60;
  var COARSE_S = 30;
  var KEEP_S = 6 * 3600;
  var MAX_POINTS = FINE_S / SAMPLE_S + KEEP_S / COARSE_S;
  var STORE_KEY = 'pw-console-trend';
  var SAVE_EVERY_MS = 30000;
  // Point layout: [epoch s, solar W, home W, battery W, grid W, level %].
  var SERIES = [
    { index: 1, colour: '--solar' },
    { index: 2, colour: '--home' },
    { index: 3, colour: '--battery' },
    { index: 4, colour: '--grid' }
  ];
  var points = restore();
  var canvas = U.byId('trend');
  var range = U.byId('trend-range');

  function restore() {
    try {
      var stored = JSON.parse(sessionStorage.getItem(STORE_KEY) || '[]');
      var since = Date.now() / 1000 - KEEP_S;
      return Array.isArray(stored) ? stored.filter(function (p) {
        return Array.isArray(p) && p.length === 6 && p[0] >= since;
      }).slice(-MAX_POINTS) : [];
    } catch (ignored) {
      return [];
    }
  }

  function save() {
    try { sessionStorage.setItem(STORE_KEY, JSON.stringify(points)); } catch (ignored) { /* full */ }
  }

  function add(summary) {
    var now = Date.now() / 1000;
    var last = points[points.length - 1];
    if (last && now - last[0] < SAMPLE_S) { return; }
    var value = function (v) { var n = U.num(v); return n === null ? null : Math.round(n); };
    points.push([Math.round(now), value(summary.total_solar_power), value(summary.total_load_power),
      value(summary.total_battery_power), value(summary.total_site_power),
      U.num(summary.total_battery_percent)]);
    thin(now);
    draw();
  }

  // Drops points past KEEP_S, and thins those older than FINE_S to one per COARSE_S.
  function thin(now) {
    var kept = [];
    points.forEach(function (p) {
      if (p[0] < now - KEEP_S) { return; }
      var previous = kept[kept.length - 1];
      if (p[0] < now - FINE_S && previous && p[0] - previous[0] < COARSE_S) { return; }
      kept.push(p);
    });
    points = kept.slice(-MAX_POINTS);
  }

  function colour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
  }

  function clock(epoch) {
    var d = new Date(epoch * 1000);
    return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }

  function draw() {
    var ratio = window.devicePixelRatio || 1;
    var width = canvas.clientWidth;
    var height = canvas.clientHeight;
    if (!width || !height) { return; }
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    var g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    var now = Date.now() / 1000;
    var span = Number(range.value) || 3600;
    var shown = points.filter(function (p) { return p[0] >= now - span; });
    var pad = { left: 44, right: 38, top: 8, bottom: 20 };
    var w = width - pad.left - pad.right;
    var h = height - pad.top - pad.bottom;
    var lo = 0;
    var hi = 1000;
    shown.forEach(function (p) {
      SERIES.forEach(function (s) {
        if (p[s.index] !== null) { lo = Math.min(lo, p[s.index]); hi = Math.max(hi, p[s.index]); }
      });
    });
    var x = function (t) { return pad.left + w * (t - (now - span)) / span; };
    var y = function (watts) { return pad.top + h * (hi - watts) / (hi - lo); };
    var yPct = function (pct) { return pad.top + h * (100 - pct) / 100; };

    g.font = '11px system-ui, sans-serif';
    g.fillStyle = colour('--muted');
    g.strokeStyle = colour('--line');
    g.lineWidth = 1;
    for (var i = 0; i <= 4; i += 1) {
      var watts = lo + (hi - lo) * i / 4;
      var yy = Math.round(y(watts)) + 0.5;
      g.beginPath(); g.moveTo(pad.left, yy); g.lineTo(pad.left + w, yy); g.stroke();
      g.textAlign = 'right';
      g.fillText((watts / 1000).toFixed(1), pad.left - 6, yy + 4);
      g.textAlign = 'left';
      g.fillText(String(25 * i) + '%', pad.left + w + 6, Math.round(yPct(25 * i)) + 4);
    }
    g.textAlign = 'center';
    for (var j = 0; j <= 3; j += 1) {
      var t = now - span + span * j / 3;
      g.fillText(clock(t), Math.min(Math.max(x(t), pad.left + 16), pad.left + w - 16), height - 5);
    }
    g.textAlign = 'left';
    g.fillText('kW', 4, pad.top + 8);

    function line(pick, scale, dash) {
      g.setLineDash(dash);
      g.beginPath();
      var open = false;
      shown.forEach(function (p, k) {
        var v = pick(p);
        // A gap longer than the coarse step (tab closed, socket down) breaks the line.
        var gap = k > 0 && p[0] - shown[k - 1][0] > 2 * COARSE_S;
        if (v === null || gap) { open = false; }
        if (v === null) { return; }
        if (open) { g.lineTo(x(p[0]), scale(v)); } else { g.moveTo(x(p[0]), scale(v)); open = true; }
      });
      g.stroke();
    }
    g.lineWidth = 1.6;
    SERIES.forEach(function (s) {
      g.strokeStyle = colour(s.colour);
      line(function (p) { return p[s.index]; }, y, []);
    });
    g.strokeStyle = colour('--soe');
    line(function (p) { return p[5]; }, yPct, [4, 3]);
    g.setLineDash([]);
    U.setText('trend-info', shown.length + ' points shown, ' + points.length + ' kept (every ' +
      SAMPLE_S + ' s for ' + FINE_S / 60 + ' min, then every ' + COARSE_S + ' s up to ' +
      KEEP_S / 3600 + ' h)');
    canvas.dataset.points = String(shown.length);
  }

  C.on('summary', add);
  range.addEventListener('change', draw);
  window.addEventListener('resize', draw);
  window.addEventListener('pagehide', save);
  setInterval(save, SAVE_EVERY_MS);
  setInterval(draw, 15000);
  draw();
}());
