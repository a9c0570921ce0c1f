/* Clickpath browser SDK (rum.js). Hand-written, no build step; the collector serves it at
   /rum.js. What it collects and sends: Schemas/README.md, section "Browser SDK". */
(function (w, d) {
  'use strict';
  if (!w || !d || (w.Clickpath && w.Clickpath.version)) return;
  var nav = w.navigator, loc = w.location, perf = w.performance || {}, hist = w.history;
  var IDLE = 18e5, MAX = 61000, KEEPALIVE = 64000, PER_VIEW = 200;
  var script = d.currentScript;
  var origFetch = w.fetch, XHR = w.XMLHttpRequest;
  var cfg = null, level = 'off', url = '', own = '', user = '', gprops = null, rate = 1;
  var vid = '', sid = '', keep = false, tab = '', pid = hex(8), seq = 0;
  var queue = [], outbox = [], flushTimer = 0, resTimer = 0, backoffUntil = 0, inflight = 0;
  var view = null, act = null, resQ = [], failed = {}, resCount = 0;
  var vit = {}, inter = {}, clsWin = 0, clsStart = 0, clsLast = 0, hooked = false, clsOn = false;
  var T0 = perf.timeOrigin || (perf.timing && perf.timing.navigationStart) || Date.now();

  function now() { return Date.now(); }
  function nid() { return pid + (++seq).toString(36); }
  function safe(f) {
    return function () { try { return f.apply(this, arguments); } catch (e) { /* never into the page */ } };
  }
  function hex(n) {
    var a = new Uint8Array(n / 2), s = '', i;
    try { w.crypto.getRandomValues(a); } catch (e) { for (i = 0; i < a.length; i++) a[i] = Math.random() * 256; }
    for (i = 0; i < a.length; i++) s += (a[i] < 16 ? '0' : '') + a[i].toString(16);
    return s;
  }
  function ms(x) { return Math.max(0, Math.round(x)); }
  // Cut to n UTF-16 units (n * 3 UTF-8 bytes at most) and replace lone surrogates: the collector's
  // strict JSON reader refuses the whole beacon for one.
  function clip(s, n) {
    s = String(s == null ? '' : s);
    if (s.length > n) s = s.slice(0, n);
    return s.toWellFormed ? s.toWellFormed()
      : s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|([^\ud800-\udbff]|^)[\udc00-\udfff]/g, '$1\ufffd');
  }
  function abs(u) { try { return new URL(u, loc.href); } catch (e) { return null; } }
  function flat(o) {
    var r = {}, k, v, n = 0;
    for (k in o) {
      v = o[k];
      if (n >= 64 || !Object.prototype.hasOwnProperty.call(o, k)) continue;
      if (typeof v === 'string') v = clip(v, 340);
      else if (typeof v === 'number') { if (!isFinite(v)) continue; }
      else if (typeof v !== 'boolean') continue;
      r[clip(k, 42)] = v; n++;
    }
    return r;
  }

  // ---- cookies: visitor (2 years), session shared by the tabs (id|last activity|kept|visitor) ----
  function getCookie(n) {
    var m = d.cookie.match(new RegExp('(?:^|; )' + n + '=([^;]*)'));
    try { return m ? decodeURIComponent(m[1]) : ''; } catch (e) { return ''; }
  }
  function setCookie(n, v, sec) {
    d.cookie = n + '=' + encodeURIComponent(v) + '; Max-Age=' + sec + '; Path=/; SameSite=Lax'
      + (cfg.cookieDomain ? '; Domain=' + cfg.cookieDomain : '') + (loc.protocol === 'https:' ? '; Secure' : '');
  }
  function ensureSession() {
    var t = now(), c = getCookie('_cp_s').split('|'), last = parseInt(c[1], 36), fresh = false;
    if (!c[0] || !(t - last < IDLE) || last - t > IDLE) {
      c = [hex(16), 0, Math.random() < rate ? '1' : '0', ''];
      fresh = true;
    }
    if (level === 'user-behavior') {
      c[3] = '';
      vid = getCookie('_cp_v');
      if (!vid || fresh) setCookie('_cp_v', vid = vid || hex(16), 63072000);
    } else {
      vid = c[3] = c[3] || hex(16);
    }
    if (!tab) tab = tabId();
    if (c[0] !== sid) flushNow();   // events queued under the previous session go out under it
    sid = c[0];
    keep = c[2] === '1';
    if (fresh || t - last > 1000) { c[1] = t.toString(36); setCookie('_cp_s', c.join('|'), IDLE / 1000); }
  }
  function tabId() {
    try {
      var t = w.sessionStorage.getItem('_cp_t');
      if (!t) w.sessionStorage.setItem('_cp_t', t = hex(12));
      return t;
    } catch (e) { return tab || hex(12); }
  }

  // ---- queue and transport ----
  function prefix() {
    return '{"app":' + JSON.stringify(cfg.app) + ',"platform":"web","visitor":' + JSON.stringify(vid)
      + ',"session":' + JSON.stringify(sid) + ',"tab":' + JSON.stringify(tab)
      + (user && level === 'user-behavior' ? ',"user":' + JSON.stringify(user) : '')
      + ',"sampleRate":' + rate + ',"device":{"screen":"' + (w.screen ? w.screen.width + 'x' + w.screen.height : '') + '"}';
  }
  function record(ev) {
    if (!cfg || level === 'off') return null;
    ensureSession();
    if (!keep) return null;
    if (!ev.id) ev.id = nid();
    ev.ts = ms(ev.ts || now());
    if (ev.duration != null) ev.duration = ms(ev.duration);
    if (level !== 'user-behavior') delete ev.props;
    else if (ev.props || (gprops && /^(view|action|error)$/.test(ev.type))) {
      var p = flat(gprops || {}), k, o = flat(ev.props || {});
      for (k in o) p[k] = o[k];
      ev.props = p;
    }
    var s = JSON.stringify(ev), b = w.TextEncoder ? new TextEncoder().encode(s).length : s.length * 3;
    queue.push({ p: prefix(), s: s, b: b });
    if (queue.length >= 100) flushNow();
    else if (!flushTimer) flushTimer = setTimeout(safe(flushNow), 5000);
    return ev;
  }
  // Groups consecutive events of one envelope into payloads under 60 KiB and 500 events.
  function flushNow() {
    clearTimeout(flushTimer); flushTimer = 0;
    while (queue.length) {
      var p = queue[0].p, parts = [], n = p.length + 60;
      while (queue.length && queue[0].p === p && parts.length < 500 && (!parts.length || n + queue[0].b < MAX)) {
        n += queue[0].b + 1; parts.push(queue.shift().s);
      }
      outbox.push({ p: p, e: parts.join(','), n: n, tries: 0 });
    }
    pump();
  }
  function body(x) { return x.p + ',"sentAt":' + now() + ',"events":[' + x.e + ']}'; }
  function pump() {
    if (now() < backoffUntil) return;
    while (outbox.length) send(outbox.shift());
  }
  function retry(x, after) {
    if (++x.tries > 8) return;
    var delay = after > 0 ? after * 1000 : Math.min(6e4, 1000 * Math.pow(2, x.tries)) * (0.5 + Math.random() / 2);
    outbox.unshift(x);
    if (outbox.length > 30) outbox.pop();
    backoffUntil = now() + delay;
    setTimeout(safe(pump), delay + 10);
  }
  function send(x) {
    if (!origFetch) { if (nav.sendBeacon) nav.sendBeacon(url, body(x)); return; }
    var ka = inflight + x.n <= KEEPALIVE;
    if (ka) inflight += x.n;
    var done = function () { if (ka) inflight -= x.n; };
    try {
      origFetch.call(w, url, { method: 'POST', body: body(x), keepalive: ka, credentials: 'omit', mode: 'cors',
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' } }).then(safe(function (r) {
        done();
        if (r.status === 429 || r.status === 503) retry(x, parseInt(r.headers.get('Retry-After'), 10));
        else if (r.status < 300) backoffUntil = 0;
      }), safe(function () { done(); retry(x, 0); }));
    } catch (e) { done(); }
  }
  // pagehide: everything left goes with sendBeacon (fetch keepalive when the beacon queue is full).
  function flushBeacon() {
    flushNow();
    backoffUntil = 0;
    var x;
    while ((x = outbox.shift())) {
      if (!(nav.sendBeacon && nav.sendBeacon(url, body(x)))) send(x);
    }
  }

  // ---- views, Navigation Timing, SPA route changes ----
  function routeKey() {
    var h = loc.hash;
    return loc.pathname + (/^#[!/]/.test(h) ? h.split('?')[0] : '');
  }
  function startView(first) {
    view = { id: nid(), key: routeKey(), first: first, ts: first ? T0 : now(), sent: false, vitals: '' };
    vit = clsOn ? { cls: 0 } : {}; inter = {}; clsWin = 0; resCount = 0;
    if (!first) sendView();
  }
  function sendView() {
    if (!view || view.sent || level === 'off') return;
    var ev = { id: view.id, type: 'view', ts: view.ts, name: clip(view.key, 300), url: clip(loc.href, 1300) };
    var n = perf.getEntriesByType && perf.getEntriesByType('navigation')[0], t = {};
    if (view.first && n) {
      t.dns = n.domainLookupEnd - n.domainLookupStart;
      t.connect = n.connectEnd - n.connectStart;
      if (n.secureConnectionStart > 0) t.tls = n.connectEnd - n.secureConnectionStart;
      t.ttfb = n.responseStart;
      t.download = n.responseEnd - n.responseStart;
      t.domInteractive = n.domInteractive;
      t.domContentLoaded = n.domContentLoadedEventEnd;
      if (n.loadEventEnd > 0) { t.load = n.loadEventEnd; ev.duration = n.loadEventEnd; }
      for (var k in t) t[k] = ms(t[k]);
      ev.timing = t;
    }
    view.sent = true;
    record(ev);
  }
  function endView() {
    settleAction(true);
    processResources();
    sendVitals();
  }
  var route = safe(function () {
    if (view && routeKey() !== view.key) { endView(); startView(false); }
  });

  // ---- actions: clicks named from aria-label, text or id; rage and dead clicks ----
  function target(el) {
    for (var e = el, i = 0; e && e.nodeType === 1 && i < 8; e = e.parentElement, i++) {
      if (/^(A|BUTTON|INPUT|SELECT|TEXTAREA|LABEL|SUMMARY|OPTION)$/.test(e.tagName) || e.onclick
          || /^(button|link|menuitem|tab|checkbox|radio|switch|option)$/.test(e.getAttribute('role') || '')
          || e.hasAttribute('data-cp-name')) return e;
    }
    return el && el.nodeType === 1 ? el : null;
  }
  function actionName(e) {
    var s = e.getAttribute('data-cp-name') || e.getAttribute('aria-label')
      || (e.tagName === 'INPUT' ? /^(button|submit|reset)$/.test(e.type) ? e.value : e.placeholder || e.name : (e.textContent || '').slice(0, 200))
      || e.getAttribute('title') || e.getAttribute('alt') || (e.id && '#' + e.id) || e.tagName.toLowerCase();
    s = String(s).replace(/\s+/g, ' ').trim();
    return 'click on ' + clip(s.length > 64 ? s.slice(0, 61) + '...' : s, 64);
  }
  var onClick = safe(function (ev) {
    if (!cfg || level === 'off') return;
    var e = target(ev.target), t = now();
    if (!e) return;
    if (act && act.el === e && t - act.last < 1000) {
      act.times.push(t); act.last = t;
      return;
    }
    settleAction(false);
    act = { id: nid(), el: e, ts: t, last: t, times: [t], pending: 0, end: t, req: false, nav: false, mut: 0,
      name: level === 'user-behavior' ? actionName(e) : 'click',
      deadOk: !/^(INPUT|SELECT|TEXTAREA|LABEL|OPTION|VIDEO|AUDIO|A)$/.test(e.tagName) && !e.isContentEditable };
    setTimeout(checkAction, 1000);
  });
  var checkAction = safe(function () {
    if (!act) return;
    var t = now();
    if ((t - act.last >= 1000 && act.pending === 0) || t - act.ts > 10000) settleAction(false);
    else setTimeout(checkAction, 250);
  });
  function settleAction(navigated) {
    var a = act;
    if (!a) return;
    act = null;
    if (navigated) a.nav = true;
    var ev = { id: a.id, type: 'action', ts: a.ts, duration: Math.max(a.end, a.last) - a.ts, name: a.name, parent: view.id };
    var f = [], n = a.times.length, i;
    for (i = 0; i + 2 < n; i++) if (a.times[i + 2] - a.times[i] <= 1000) { f.push('rage'); break; }
    if (a.deadOk && !a.req && !a.nav && !(a.mut && a.mut - a.ts <= 1000)) {
      try { if (!String(w.getSelection())) f.push('dead'); } catch (e) { f.push('dead'); }
    }
    if (f.length) ev.frustration = f;
    if (n > 1) ev.props = { clicks: n };
    record(ev);
  }
  function activeParent() {
    return act && (now() - act.last < 1000 || act.pending > 0) ? act : null;
  }

  // ---- requests: fetch and XHR, linked to their action, traceparent to traceOrigins only ----
  function traced(u) {
    var o = cfg.traceOrigins || [], i, x;
    for (i = 0; i < o.length; i++) {
      x = o[i];
      if (typeof x === 'string' ? u.origin === x.replace(/\/$/, '') : x instanceof RegExp ? x.test(u.href)
          : typeof x === 'function' && x(u.href)) return true;
    }
    return false;
  }
  function begin(method, target) {
    if (!cfg || level === 'off' || !keep) return null;
    var u = abs(target);
    if (!u || u.href.indexOf(own) === 0 || !/^https?:$/.test(u.protocol)) return null;
    var a = activeParent(), r = { t0: now(), a: a, ev: { id: 0, type: 'request', name: clip(method + ' ' + u.pathname, 300),
      url: clip(u.href, 1300), method: clip(method, 16), parent: a ? a.id : view.id } };
    if (a) { a.pending++; a.req = true; }
    if (traced(u)) {
      r.ev.traceId = hex(32); r.ev.spanId = hex(16);
      r.tp = '00-' + r.ev.traceId + '-' + r.ev.spanId + '-01';
    }
    return r;
  }
  function end(r, status) {
    if (!r) return;
    var t = now();
    r.ev.ts = r.t0; r.ev.duration = t - r.t0; r.ev.status = status > 0 && status < 1000 ? status : 0;
    if (r.a) { r.a.pending--; r.a.end = Math.max(r.a.end, t); }
    record(r.ev);
  }
  function hookRequests() {
    if (origFetch) {
      w.fetch = function (input, init) {
        var r = null;
        try {
          var isReq = w.Request && input instanceof Request;
          r = begin(((init && init.method) || (isReq && input.method) || 'GET').toUpperCase(), isReq ? input.url : String(input));
          if (r && r.tp) {
            var h = new Headers((init && init.headers) || (isReq ? input.headers : undefined));
            h.set('traceparent', r.tp);
            init = Object.assign({}, init, { headers: h });
          }
        } catch (e) { r = null; }
        var p = origFetch.call(w, input, init);
        if (!r) return p;
        return p.then(function (res) { try { end(r, res.status); } catch (e) {} return res; },
          function (err) { try { end(r, 0); } catch (e) {} throw err; });
      };
    }
    if (XHR && XHR.prototype) {
      var open = XHR.prototype.open, sendX = XHR.prototype.send;
      XHR.prototype.open = function (m, u) {
        try { this._cp = [String(m).toUpperCase(), String(u)]; } catch (e) {}
        return open.apply(this, arguments);
      };
      XHR.prototype.send = function () {
        try {
          var x = this, r = x._cp && begin(x._cp[0], x._cp[1]);
          if (r) {
            if (r.tp) x.setRequestHeader('traceparent', r.tp);
            x.addEventListener('loadend', safe(function () { end(r, x.status); }));
          }
        } catch (e) {}
        return sendX.apply(this, arguments);
      };
    }
  }

  // ---- errors ----
  function recordError(err, kind, props) {
    var e = err instanceof Error || (err && err.message) ? err : { message: String(err) }, a = activeParent();
    record({ id: 0, type: 'error', name: clip(e.name || kind, 300), message: clip(e.message || kind, 1300),
      stack: e.stack ? clip(e.stack, 10000) : undefined, parent: a ? a.id : view.id, fatal: false, props: props });
  }
  var onError = safe(function (ev) {
    var t = ev.target;
    if (t && t !== w && t.tagName) {   // a resource that failed to load (capture phase)
      var src = t.currentSrc || t.src || t.href;
      if (src) { failed[src] = now(); scheduleResources(); }
      return;
    }
    recordError(ev.error || { name: 'Error', message: ev.message, stack: ev.filename ? ev.message + '\n    at ' + ev.filename + ':' + ev.lineno + ':' + ev.colno : '' }, 'Error');
  });
  var onRejection = safe(function (ev) { recordError(ev.reason, 'UnhandledRejection'); });

  // ---- resources (Resource Timing), failed ones included ----
  function scheduleResources() { if (!resTimer) resTimer = setTimeout(safe(processResources), 1000); }
  function resource(u, ts, dur, status, timing) {
    if (++resCount > PER_VIEW) return;
    var p = abs(u);
    record({ id: 0, type: 'resource', ts: ts, duration: dur, name: clip(p ? p.pathname : u, 300), url: clip(u, 1300),
      parent: view.id, status: status, timing: timing });
  }
  function processResources() {
    clearTimeout(resTimer); resTimer = 0;
    var list = resQ, i, e, k, status;
    resQ = [];
    for (i = 0; i < list.length; i++) {
      e = list[i];
      if (/^(fetch|xmlhttprequest|beacon)$/.test(e.initiatorType) || e.name.indexOf(own) === 0) continue;
      status = e.responseStatus > 0 ? e.responseStatus : undefined;
      if (failed[e.name] > 0) { if (!(status >= 400)) status = 0; failed[e.name] = -1; }
      var t = {};
      if (e.responseStart > 0) {
        t.dns = ms(e.domainLookupEnd - e.domainLookupStart); t.connect = ms(e.connectEnd - e.connectStart);
        t.ttfb = ms(e.responseStart - e.startTime); t.download = ms(e.responseEnd - e.responseStart);
      }
      resource(e.name, T0 + e.startTime, e.duration, status, t);
    }
    for (k in failed) if (failed[k] > 0) { resource(k, failed[k], 0, 0); failed[k] = -1; }
  }

  // ---- web vitals ----
  function observe(type, fn, opts) {
    try {
      var o = { type: type, buffered: true }, k;
      for (k in opts) o[k] = opts[k];
      new PerformanceObserver(safe(function (l) { l.getEntries().forEach(safe(fn)); })).observe(o);
    } catch (e) {}
  }
  function hookVitals() {
    observe('paint', function (e) { if (e.name === 'first-contentful-paint' && view.first) vit.fcp = e.startTime; });
    observe('largest-contentful-paint', function (e) { if (view.first) vit.lcp = e.startTime; });
    try { clsOn = PerformanceObserver.supportedEntryTypes.indexOf('layout-shift') >= 0; } catch (e) {}
    if (clsOn && !(vit.cls > 0)) vit.cls = 0;   // no shift yet is a CLS of 0
    observe('layout-shift', function (e) {
      if (e.hadRecentInput) return;
      var t = e.startTime;
      if (clsWin && t - clsLast < 1000 && t - clsStart < 5000) clsWin += e.value;
      else { clsWin = e.value; clsStart = t; }
      clsLast = t;
      if (!(vit.cls >= clsWin)) vit.cls = clsWin;
    });
    var interaction = function (e) { if (e.interactionId && !(inter[e.interactionId] >= e.duration)) inter[e.interactionId] = e.duration; };
    observe('event', interaction, { durationThreshold: 40 });
    observe('first-input', interaction);
    observe('resource', function (e) { resQ.push(e); scheduleResources(); });
    var n = perf.getEntriesByType && perf.getEntriesByType('navigation')[0];
    if (n && n.responseStart > 0) vit.ttfb = Math.max(0, n.responseStart - (n.activationStart || 0));
  }
  function sendVitals() {
    if (!view) return;
    var t = {}, k, v = [], x;
    for (k in inter) v.push(inter[k]);
    v.sort(function (a, b) { return b - a; });
    if (v.length) vit.inp = v[Math.min(v.length - 1, Math.floor(v.length / 50))];
    for (k in vit) { x = vit[k]; if (x >= 0) t[k] = k === 'cls' ? Math.round(x * 1e4) / 1e4 : ms(x); }
    var s = JSON.stringify(t);
    if (s === '{}' || s === view.vitals) return;
    if (record({ id: 0, type: 'vitals', parent: view.id, timing: t })) view.vitals = s;
  }

  // ---- lifecycle ----
  var onHide = safe(function (ev) {
    if (!cfg) return;
    if (ev.type === 'pagehide' || d.visibilityState === 'hidden') {
      sendView();
      endView();
      if (ev.type === 'pagehide') flushBeacon(); else flushNow();
    }
  });
  function hook() {
    if (hooked) return;
    hooked = true;
    hookRequests();
    hookVitals();
    w.addEventListener('error', onError, true);
    w.addEventListener('unhandledrejection', onRejection);
    d.addEventListener('click', onClick, true);
    w.addEventListener('pagehide', onHide);
    d.addEventListener('visibilitychange', onHide);
    w.addEventListener('pageshow', safe(function (ev) { if (ev.persisted) startView(false); }));
    w.addEventListener('popstate', route);
    w.addEventListener('hashchange', route);
    ['pushState', 'replaceState'].forEach(function (m) {
      var orig = hist && hist[m];
      if (typeof orig === 'function') hist[m] = function () { var r = orig.apply(this, arguments); route(); return r; };
    });
    try {
      new MutationObserver(function () { if (act && !act.mut) act.mut = now(); })
        .observe(d.documentElement, { childList: true, subtree: true, attributes: true, characterData: true });
    } catch (e) {}
    var loaded = safe(function () { setTimeout(safe(sendView), 0); });
    if (d.readyState === 'complete') loaded(); else w.addEventListener('load', loaded);
  }
  function setLevel(l) {
    level = l === 'off' || l === 'performance' ? l : 'user-behavior';
    if (!cfg) return;
    if (level === 'off') {
      queue = []; outbox = []; act = null;
      setCookie('_cp_s', '', 0); setCookie('_cp_v', '', 0);
      try { w.sessionStorage.removeItem('_cp_t'); } catch (e) {}
      sid = tab = ''; return;
    }
    if (level === 'performance') setCookie('_cp_v', '', 0);
    ensureSession();
    if (d.readyState === 'complete') sendView();
  }

  function base() {
    var s = script && script.src;
    return s ? s.replace(/\/rum\.js(\?.*)?$/, '') : '';
  }
  w.Clickpath = {
    version: '1',
    init: safe(function (o) {
      if (cfg || !o || !o.app) return;
      cfg = o;
      var r = Number(o.sampleRate == null ? 1 : o.sampleRate);
      rate = r > 0 ? Math.min(1, r) : 0;
      var e = String(o.endpoint || base()).replace(/\/$/, '');
      url = /\/v1\/beacons$/.test(e) ? e : e + '/v1/beacons';
      own = (abs(url) || {}).href || url;
      if (o.key) url += '?key=' + encodeURIComponent(o.key);
      startView(true);
      setLevel(o.collectionLevel || 'user-behavior');
      hook();
    }),
    setCollectionLevel: safe(setLevel),
    getCollectionLevel: function () { return level; },
    addAction: safe(function (name, props) {
      if (level === 'off') return;
      record({ id: 0, type: 'action', name: clip(name, 300), parent: view && view.id, props: props });
    }),
    reportError: safe(function (err, props) { if (view) recordError(err, 'Error', props); }),
    setProps: safe(function (p) { gprops = p ? flat(p) : null; }),
    identify: safe(function (tag) {
      user = tag == null ? '' : clip(tag, 80);
    }),
    endSession: safe(function () {
      if (!cfg || level === 'off') return;
      endView();
      record({ id: 0, type: 'session_end', parent: view.id });
      flushNow();
      setCookie('_cp_s', '', 0);
      sid = ''; user = '';
    }),
    flush: safe(flushNow)
  };
})(typeof window !== 'undefined' ? window : null, typeof document !== 'undefined' ? document : null);
