// A minimal AMD loader, as Grafana's SystemJS behaves for plugins: module.js calls define() with the
// names of the shared packages it needs, and gets the page's copies of them.
(function () {
  var shared = window.__grafanaShared;
  window.__amdModules = [];
  window.define = function (deps, factory) {
    if (typeof deps === 'function') {
      factory = deps;
      deps = [];
    }
    var resolved = deps.map(function (name) {
      if (!(name in shared)) {
        throw new Error('module.js asked for "' + name + '", which Grafana does not share');
      }
      return shared[name];
    });
    window.__amdModules.push(factory.apply(null, resolved));
  };
  window.define.amd = {};
})();
