// The iframe demo: shows the gateway firmware from our own `version` route every 10 s (relative
// URL, so the page works under a base path). textContent only: nothing is parsed as HTML.
(function () {
  'use strict';
  var target = document.getElementById('firmware');

  async function refresh() {
    try {
      var response = await fetch('version', { cache: 'no-store' });
      var body = response.ok ? await response.json() : null;
      target.textContent = body && typeof body.version === 'string' ? body.version : 'unknown';
    } catch (err) {
      target.textContent = 'unavailable';
    }
  }

  refresh();
  setInterval(refresh, 10000);
})();
