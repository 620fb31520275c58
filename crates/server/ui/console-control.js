// Console control panel for the selected gateway: reads mode, reserve, grid charging and grid
// export, and writes them with the control secret. The secret is typed by the user and kept in
// this closure; only if "remember in this tab" is ticked is it also put in sessionStorage (never
// localStorage). It is sent only in POST form bodies to this origin's control routes, never in a
// URL, and never logged or shown. After every write the value is read back and shown.
(function () {
  'use strict';

  var C = window.PWConsole;
  var U = window.PWUI;
  var NAMES = ['reserve', 'mode', 'grid_charging', 'grid_export'];
  var STORE_KEY = 'pw-console-secret';
  var secret = '';
  var busy = false;
  var input = U.byId('control-secret');
  var remember = U.byId('control-remember');
  var result = U.byId('control-result');

  function controlPath(name) {
    return C.gatewayPath('api/gateways/', C.state.selected, 'control/' + name);
  }

  function show(outcome, text) {
    result.textContent = text;
    result.className = 'result ' + outcome;
    result.dataset.outcome = outcome;
  }

  function display(value) {
    if (typeof value === 'number') { return String(Math.round(value * 100) / 100); }
    return value === undefined || value === null ? '–' : String(value);
  }

  function setEnabled(enabled) {
    NAMES.forEach(function (name) { U.byId('set-' + name).disabled = !enabled || busy; });
  }

  // Reads one value; returns it, or throws with the server's error text.
  async function read(name) {
    var body = await U.getJson(controlPath(name));
    if (body && typeof body === 'object' && body.error) { throw new Error(String(body.error)); }
    var value = body && typeof body === 'object' ? body[name] : undefined;
    U.setText('current-' + name, display(value));
    U.byId('current-' + name).dataset.value = display(value);
    return value;
  }

  async function readAll() {
    var id = C.state.selected;
    if (!id) { return; }
    U.setText('control-gateway', id);
    var notice = U.byId('control-notice');
    var outcomes = await Promise.allSettled(NAMES.map(read));
    if (id !== C.state.selected) { return; }
    var disabled = outcomes.some(function (o) {
      return o.status === 'rejected' && /disabled/i.test(o.reason && o.reason.message);
    });
    notice.hidden = !disabled;
    notice.textContent = disabled ?
      'Control is disabled on this server: set PW_CONTROL_SECRET to enable it.' : '';
    setEnabled(!disabled);
    outcomes.forEach(function (o, k) {
      if (o.status === 'rejected' && !disabled) { U.setText('current-' + NAMES[k], '–'); }
    });
  }

  function valueOf(name) {
    var field = U.byId('input-' + name);
    return String(field.value || '').trim();
  }

  async function write(name) {
    if (busy || !C.state.selected) { return; }
    var value = valueOf(name);
    if (!secret) { show('error', 'Type the control secret first.'); return; }
    if (!value) { show('error', 'Choose a value for ' + name + ' first.'); return; }
    if (name === 'reserve' && !/^\d{1,3}$/.test(value)) {
      show('error', 'The reserve is a whole percentage, 0 to 100.');
      return;
    }
    busy = true;
    setEnabled(true);
    show('pending', 'Setting ' + name + ' to ' + value + '…');
    try {
      var answer = await C.postForm(controlPath(name), { value: value, token: secret });
      var body = answer.body;
      if (!body || typeof body !== 'object') {
        show('error', name + ': HTTP ' + answer.status + ', no JSON answer');
        return;
      }
      if (body.unauthorized || answer.status === 401) {
        show('error', name + ': refused: ' + String(body.unauthorized || 'unauthorized') +
          ' (check the secret)');
        return;
      }
      if (body.error || answer.status >= 400) {
        show('error', name + ': ' + String(body.error || ('HTTP ' + answer.status)));
        return;
      }
      var readBack = await read(name);
      show('ok', name + ' set; read back: ' + display(readBack));
      result.dataset.readback = display(readBack);
    } catch (error) {
      show('error', name + ': ' + (error && error.message ? error.message : 'request failed'));
    } finally {
      busy = false;
      setEnabled(true);
    }
  }

  function keep() {
    if (remember.checked && secret) {
      sessionStorage.setItem(STORE_KEY, secret);
    } else {
      sessionStorage.removeItem(STORE_KEY);
    }
  }

  input.addEventListener('input', function () { secret = input.value; keep(); });
  remember.addEventListener('change', keep);
  U.byId('control-forget').addEventListener('click', function () {
    secret = '';
    input.value = '';
    remember.checked = false;
    keep();
    show('', '');
  });
  // Enter in the secret field must never submit the form anywhere.
  U.byId('control-secret-form').addEventListener('submit', function (event) {
    event.preventDefault();
  });
  NAMES.forEach(function (name) {
    U.byId('set-' + name).addEventListener('click', function () { write(name); });
  });

  var stored = sessionStorage.getItem(STORE_KEY);
  if (stored) {
    secret = stored;
    input.value = stored;
    remember.checked = true;
  }
  C.on('select', function () { show('', ''); readAll(); });
  setInterval(readAll, 30000);
}());
