// API docs: renders this server's openapi.json (fetched relatively, so it works under a base
// path) grouped by tag. Every value is written with textContent: nothing is parsed as HTML.
// Needs common.js (window.PWUI) loaded first.
(function () {
  'use strict';

  var U = window.PWUI;
  var el = U.el;
  var METHODS = ['get', 'post'];

  // A link relative to the page's base: "/aggregates" -> "aggregates", "/" -> "./".
  function relative(path) {
    var rest = path.replace(/^\/+/, '');
    return rest === '' ? './' : rest;
  }

  function operations(doc) {
    var list = [];
    Object.keys(doc.paths || {}).forEach(function (path) {
      var item = doc.paths[path] || {};
      METHODS.forEach(function (method) {
        var op = item[method];
        if (!op) { return; }
        list.push({ path: path, method: method, op: op });
      });
    });
    return list;
  }

  function routeRow(entry) {
    var op = entry.op;
    var ws = op['x-websocket'] === true;
    var row = el('li', 'route');
    row.dataset.path = entry.path;
    row.dataset.method = ws ? 'ws' : entry.method;
    var verb = ws ? 'WS' : entry.method.toUpperCase();
    row.appendChild(el('span', 'verb verb-' + verb.toLowerCase(), verb));
    row.appendChild(el('code', 'path', entry.path));
    row.appendChild(el('span', 'summary', op.summary || ''));
    var plain = entry.path.indexOf('{') < 0;
    if (entry.method === 'get' && !ws && plain) {
      var link = el('a', 'try', 'try it');
      link.href = relative(entry.path);
      link.target = '_blank';
      link.rel = 'noopener';
      row.appendChild(link);
    }
    return row;
  }

  function render(doc) {
    var groups = U.byId('groups');
    var byTag = {};
    var order = (doc.tags || []).map(function (tag) { return tag.name; });
    operations(doc).forEach(function (entry) {
      var tag = (entry.op.tags && entry.op.tags[0]) || 'Other';
      if (!byTag[tag]) {
        byTag[tag] = [];
        if (order.indexOf(tag) < 0) { order.push(tag); }
      }
      byTag[tag].push(entry);
    });
    order.forEach(function (tag) {
      if (!byTag[tag]) { return; }
      var section = el('section', 'group');
      section.dataset.tag = tag;
      section.appendChild(el('h2', null, tag + ' (' + byTag[tag].length + ')'));
      var list = el('ul', 'routes');
      byTag[tag].forEach(function (entry) { list.appendChild(routeRow(entry)); });
      section.appendChild(list);
      groups.appendChild(section);
    });
    var info = doc.info || {};
    var server = doc.servers && doc.servers[0] ? doc.servers[0].url : '/';
    U.byId('intro').textContent = (info.description || '') +
      ' Version ' + (info.version || '?') + ', base URL ' + server + '.';
    var status = U.byId('status');
    status.textContent = operations(doc).length + ' operations';
    document.documentElement.dataset.ready = 'true';
  }

  U.getJson('openapi.json')
    .then(render)
    .catch(function (error) {
      var status = U.byId('status');
      status.textContent = 'Could not load openapi.json: ' + error.message;
      status.className = 'status error';
      document.documentElement.dataset.ready = 'error';
    });
}());
