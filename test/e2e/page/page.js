// The page's side of the e2e test, in plain browser JavaScript: it knows the plugin only through
// the `plugin` export of dist/module.js. It renders the plugin's editors, runs its data source's
// queries, keeps every response for the test to read, and draws the latest frames.
(function () {
  var shared = window.__grafanaShared;
  var React = shared.react;
  var rxjs = shared.rxjs;
  var runtime = shared['@grafana/runtime'];
  var data = shared['@grafana/data'];
  var createRoot = window.__reactDomClient.createRoot;
  var plugin = window.__amdModules[0].plugin;
  var h = React.createElement;

  // Grafana's backend service as the plugin uses it: fetch → Observable, failures as FetchError.
  runtime.setBackendSrv({
    fetch: function (options) {
      return new rxjs.Observable(function (subscriber) {
        var body = options.data === undefined ? undefined : JSON.stringify(options.data);
        fetch(options.url, { method: options.method || 'GET', headers: body ? { 'content-type': 'application/json' } : {}, body: body })
          .then(function (res) {
            return res.text().then(function (text) {
              var parsed = text;
              try {
                parsed = JSON.parse(text);
              } catch (e) {}
              if (res.ok) {
                subscriber.next({ data: parsed, status: res.status, statusText: res.statusText, ok: true, headers: res.headers, config: options });
                subscriber.complete();
              } else {
                subscriber.error({ status: res.status, statusText: res.statusText, data: parsed, config: options });
              }
            });
          })
          .catch(function (e) {
            subscriber.error({ status: -1, statusText: String(e), data: {}, config: options });
          });
      });
    },
  });
  runtime.setTemplateSrv({
    replace: function (t) { return t; },
    getVariables: function () { return []; },
    containsTemplate: function () { return false; },
    updateTimeRange: function () {},
  });

  var roots = {};
  function mount(id, element) {
    roots[id] = roots[id] || createRoot(document.getElementById(id));
    roots[id].render(element);
  }

  function ConfigHost(props) {
    var state = React.useState(props.initial);
    return h(plugin.components.ConfigEditor, {
      options: state[0],
      onOptionsChange: function (o) {
        window.weft.configChanges.push(o);
        state[1](o);
      },
    });
  }

  function QueryHost(props) {
    var state = React.useState(props.initial);
    return h(plugin.components.QueryEditor, {
      datasource: props.datasource,
      query: state[0],
      onChange: function (q) {
        window.weft.queryChanges.push(q);
        state[1](q);
      },
      onRunQuery: function () {
        window.weft.runs += 1;
      },
    });
  }

  function serialize(r) {
    return {
      state: r.state,
      key: r.key,
      error: r.error ? r.error.message : undefined,
      frames: (r.data || []).map(function (f) {
        var fields = {};
        f.fields.forEach(function (x) {
          fields[x.name] = Array.from(x.values);
        });
        return { name: f.name, meta: f.meta, fields: fields };
      }),
    };
  }

  function draw(r) {
    document.getElementById('state').textContent = 'response ' + window.weft.responses.length + ': ' + r.state + (r.error ? ' — ' + r.error.message : '');
    var nodes = r.data && r.data[0];
    var edges = r.data && r.data[1];
    if (!nodes || !edges || nodes.name !== 'nodes') {
      return;
    }
    var get = function (f, name) {
      var field = f.fields.find(function (x) { return x.name === name; });
      return field ? Array.from(field.values) : [];
    };
    var ids = get(nodes, 'id');
    var titles = get(nodes, 'title');
    var sub = get(nodes, 'subtitle');
    var colors = get(nodes, 'color');
    var W = 760, H = 360, R = 130;
    var pos = {};
    ids.forEach(function (id, i) {
      var a = (2 * Math.PI * i) / Math.max(1, ids.length) - Math.PI / 2;
      pos[id] = { x: W / 2 + R * 1.8 * Math.cos(a), y: H / 2 + R * Math.sin(a) };
    });
    var lines = get(edges, 'source').map(function (s, i) {
      var t = get(edges, 'target')[i];
      var label = get(edges, 'detail__bytes_sent')[i] + ' B → / ← ' + get(edges, 'detail__bytes_received')[i] + ' B, port ' + get(edges, 'detail__port')[i];
      var a = pos[s], b = pos[t];
      return h('g', { key: 'e' + i },
        h('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: '#5794f2', strokeWidth: get(edges, 'thickness')[i] }),
        h('text', { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 6, fill: '#ccccdc', fontSize: 12, textAnchor: 'middle' }, label));
    });
    var circles = ids.map(function (id, i) {
      var p = pos[id];
      return h('g', { key: 'n' + i },
        h('circle', { cx: p.x, cy: p.y, r: 24, fill: '#22252b', stroke: colors[i] || '#73bf69', strokeWidth: 4 }),
        h('text', { x: p.x, y: p.y + 42, fill: '#fff', fontSize: 13, textAnchor: 'middle' }, titles[i]),
        h('text', { x: p.x, y: p.y + 58, fill: '#8e8e8e', fontSize: 11, textAnchor: 'middle' }, sub[i]));
    });
    mount('graph', h('svg', { width: W, height: H }, lines, circles));
  }

  var live;
  window.weft = {
    pluginId: plugin.meta ? plugin.meta.id : undefined,
    hasConfigEditor: typeof plugin.components.ConfigEditor === 'function',
    hasQueryEditor: typeof plugin.components.QueryEditor === 'function',
    configChanges: [],
    queryChanges: [],
    runs: 0,
    responses: [],
    /** Renders both editors from the plugin export. */
    renderEditors: function (settings, query) {
      var ds = new plugin.DataSourceClass(settings);
      mount('config', h(ConfigHost, { initial: settings }));
      mount('query', h(QueryHost, { initial: query, datasource: ds }));
    },
    /** Save & test: the data source's own check, as Grafana's settings page runs it. */
    testDatasource: function (instanceSettings) {
      var ds = new plugin.DataSourceClass(instanceSettings);
      return ds.testDatasource().then(function (result) {
        ds.dispose();
        return { status: result.status, message: result.message };
      });
    },
    /** Runs a query on a data source instance made from `instanceSettings`; responses collect. */
    start: function (instanceSettings, query) {
      window.weft.stop();
      window.weft.responses = [];
      var ds = new plugin.DataSourceClass(instanceSettings);
      var now = Date.now();
      var request = {
        requestId: 'e2e',
        interval: '1s',
        intervalMs: 1000,
        range: { from: data.dateTime(now - 3600000), to: data.dateTime(now), raw: { from: 'now-1h', to: 'now' } },
        scopedVars: {},
        targets: [query],
        timezone: 'utc',
        app: 'dashboard',
        startTime: now,
      };
      var subscription = ds.query(request).subscribe(function (r) {
        window.weft.responses.push(serialize(r));
        draw(r);
      });
      live = { ds: ds, subscription: subscription };
    },
    /** Ends the query (the data source closes its socket: the last user is gone) and disposes the instance. */
    stop: function () {
      if (!live) {
        return undefined;
      }
      var before = live.ds.connection.isOpen;
      live.subscription.unsubscribe();
      var after = live.ds.connection.isOpen;
      live.ds.dispose();
      live = undefined;
      return { openBefore: before, openAfter: after };
    },
  };
})();
