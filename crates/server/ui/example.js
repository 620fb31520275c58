// The iframe demo: shows the gateway firmware from our own `version` route every 10 s (relative
// URL, so the page works under a base path). textContent only: nothing is parsed as HTML.
// Needs common.js (window.PWUI) loaded first.
(function () {
  'use strict';
  var U = window.PWUI;
  var target = U.byId('firmware');

  async function refresh() {
    try {
      var body = await U.getJson('version');
      target.textContent = body && typeof body.version === 'string' ? body.version : 'unknown';
    } catch (err) {
      // An HTTP error answer is a server without a version; anything else, no server at all.
      target.textContent = err && err.status ? 'unknown' : 'unavailable';
    }
  }

  refresh();
  setInterval(refresh, 10000);
})();
