// EVCS API reference: reads /openapi.json from this server and renders every operation,
// grouped by tag. No framework and nothing loaded from elsewhere; text goes in through
// textContent only.
"use strict";

(function () {
  var METHODS = ["get", "post", "put", "patch", "delete"];
  var ROLES = ["purchaser", "viewer", "operator", "admin"];
  var spec = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function slug(s) {
    return String(s).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  }

  function resolve(ref) {
    // Only local references ("#/components/schemas/Site") occur in EVCS's description.
    if (!ref || ref.indexOf("#/") !== 0) return null;
    var node = spec;
    ref.slice(2).split("/").forEach(function (p) {
      if (node) node = node[p.replace(/~1/g, "/").replace(/~0/g, "~")];
    });
    return node || null;
  }

  function refName(ref) {
    return ref.slice(ref.lastIndexOf("/") + 1);
  }

  // role is the lowest role that may call op: an x-evcs-role (or x-role) extension when the
  // description has one, else a role named in the summary or description, else "any token"
  // when the operation has security, else none.
  function role(op) {
    var x = op["x-evcs-role"] || op["x-role"];
    if (x) return x;
    var secured = (op.security || spec.security || []).length > 0;
    if (!secured) return "no authentication";
    var text = (op.summary || "") + " " + (op.description || "");
    var m = text.match(/requires? (?:the )?(?:role )?(purchaser|viewer|operator|admin)\b/i) ||
      text.match(/\((purchaser|viewer|operator|admin)\b[;,)]/i) ||
      text.match(/\b(purchaser|viewer|operator|admin)s? only\b/i) ||
      text.match(/\brole:?\s*(purchaser|viewer|operator|admin)\b/i);
    if (m) return m[1].toLowerCase();
    return "bearer token";
  }

  function typeOf(s) {
    if (!s) return "";
    if (s.$ref) return refName(s.$ref);
    var t = s.type;
    if (Array.isArray(t)) t = t.filter(function (x) { return x !== "null"; }).join(" | ") + (s.type.indexOf("null") >= 0 ? " | null" : "");
    if (t === "array" && s.items) return typeOf(s.items) + "[]";
    if (!t && (s.oneOf || s.anyOf)) return (s.oneOf || s.anyOf).map(typeOf).join(" | ");
    if (!t && s.allOf) return s.allOf.map(typeOf).join(" & ");
    var out = t || "any";
    if (s.format) out += " (" + s.format + ")";
    return out;
  }

  function describe(s, li) {
    if (s.enum) li.appendChild(el("span", "desc", " one of: " + s.enum.map(JSON.stringify).join(", ")));
    if (s.default !== undefined) li.appendChild(el("span", "desc", " default " + JSON.stringify(s.default)));
    if (s.minimum !== undefined) li.appendChild(el("span", "desc", " min " + s.minimum));
    if (s.maximum !== undefined) li.appendChild(el("span", "desc", " max " + s.maximum));
    if (s.minLength !== undefined) li.appendChild(el("span", "desc", " min length " + s.minLength));
    if (s.maxLength !== undefined) li.appendChild(el("span", "desc", " max length " + s.maxLength));
    if (s.pattern) li.appendChild(el("span", "desc", " pattern " + s.pattern));
    if (s.description) li.appendChild(el("span", "desc", " — " + s.description));
  }

  // fields renders the properties of an object schema as a nested list; seen stops cycles.
  function fields(s, depth, seen) {
    var ul = el("ul");
    if (!s || depth > 6) return ul;
    if (s.$ref) {
      if (seen[s.$ref]) { ul.appendChild(el("li", "desc", "(" + refName(s.$ref) + ", see above)")); return ul; }
      var next = Object.assign({}, seen); next[s.$ref] = true;
      return fields(resolve(s.$ref), depth, next);
    }
    (s.allOf || []).forEach(function (part) {
      Array.prototype.slice.call(fields(part, depth, seen).childNodes).forEach(function (c) { ul.appendChild(c); });
    });
    (s.oneOf || s.anyOf || []).forEach(function (part, i) {
      var li = el("li");
      li.appendChild(el("span", "fname", i === 0 ? "one of:" : "or:"));
      li.appendChild(el("span", "type", " " + typeOf(part)));
      li.appendChild(fields(part, depth + 1, seen));
      ul.appendChild(li);
    });
    var req = {};
    (s.required || []).forEach(function (n) { req[n] = true; });
    Object.keys(s.properties || {}).forEach(function (name) {
      var p = s.properties[name];
      var li = el("li");
      li.appendChild(el("span", "fname", name));
      li.appendChild(el("span", "type", " " + typeOf(p)));
      if (req[name]) li.appendChild(el("span", "req", " required"));
      if (p.readOnly) li.appendChild(el("span", "desc", " read-only"));
      var target = p.$ref ? resolve(p.$ref) : p;
      describe(p.$ref ? Object.assign({}, target || {}, { description: p.description || (target && target.description) }) : p, li);
      var inner = p.type === "array" || (Array.isArray(p.type) && p.type.indexOf("array") >= 0) ? p.items : p;
      if (inner && (inner.$ref || inner.properties || inner.allOf || inner.oneOf || inner.anyOf)) {
        var sub = fields(inner, depth + 1, seen);
        if (sub.childNodes.length) li.appendChild(sub);
      }
      ul.appendChild(li);
    });
    if (s.additionalProperties && typeof s.additionalProperties === "object") {
      var li = el("li");
      li.appendChild(el("span", "fname", "{any key}"));
      li.appendChild(el("span", "type", " " + typeOf(s.additionalProperties)));
      ul.appendChild(li);
    }
    if (s.type === "array" && s.items) return fields(s.items, depth, seen);
    return ul;
  }

  function schemaBox(s) {
    var box = el("div", "schema");
    var head = el("div");
    head.appendChild(el("span", "type", typeOf(s)));
    box.appendChild(head);
    var list = fields(s, 0, {});
    if (list.childNodes.length) box.appendChild(list);
    return box;
  }

  function params(op, pathItem) {
    var ps = (pathItem.parameters || []).concat(op.parameters || []).map(function (p) { return p.$ref ? resolve(p.$ref) : p; });
    if (!ps.length) return null;
    var frag = document.createDocumentFragment();
    frag.appendChild(el("h4", null, "Parameters"));
    var t = el("table");
    var hr = el("tr");
    ["name", "in", "type", "required", "description"].forEach(function (h) { hr.appendChild(el("th", null, h)); });
    t.appendChild(hr);
    ps.forEach(function (p) {
      var tr = el("tr");
      tr.appendChild(el("td", "fname", p.name));
      tr.appendChild(el("td", null, p.in));
      tr.appendChild(el("td", "type", typeOf(p.schema)));
      tr.appendChild(el("td", p.required ? "req" : null, p.required ? "yes" : ""));
      var d = el("td", null, p.description || "");
      if (p.schema) describe(Object.assign({}, p.schema, { description: "" }), d);
      tr.appendChild(d);
      t.appendChild(tr);
    });
    frag.appendChild(t);
    return frag;
  }

  function content(c) {
    var frag = document.createDocumentFragment();
    Object.keys(c || {}).forEach(function (ct) {
      frag.appendChild(el("div", "desc", ct));
      if (c[ct].schema) frag.appendChild(schemaBox(c[ct].schema));
    });
    return frag;
  }

  function operation(method, path, op, pathItem) {
    var id = "op-" + slug(op.operationId || method + "-" + path);
    var d = el("details", "op");
    d.id = id;
    d.setAttribute("data-method", method.toUpperCase());
    d.setAttribute("data-path", path);
    d.setAttribute("data-search", [method, path, op.summary, op.description, op.operationId, (op.tags || []).join(" ")].join(" ").toLowerCase());
    var s = el("summary");
    s.appendChild(el("span", "method m-" + method, method.toUpperCase()));
    s.appendChild(el("span", "path", path));
    s.appendChild(el("span", "summary", op.summary || ""));
    var r = role(op);
    var rb = el("span", "role", ROLES.indexOf(r) >= 0 ? "role: " + r : r);
    rb.title = "Who may call it";
    s.appendChild(rb);
    var a = el("a", "anchor", "#");
    a.href = "#" + id;
    a.title = "Link to this operation";
    s.appendChild(a);
    d.appendChild(s);

    var b = el("div", "body");
    if (op.description) b.appendChild(el("p", null, op.description));
    b.appendChild(el("p", "desc", "Operation id: " + (op.operationId || "—") +
      ((op.security || spec.security || []).length ? " · Authorization: Bearer <token>" : " · no authentication")));
    var pp = params(op, pathItem);
    if (pp) b.appendChild(pp);
    if (op.requestBody) {
      var rq = op.requestBody.$ref ? resolve(op.requestBody.$ref) : op.requestBody;
      b.appendChild(el("h4", null, "Request body" + (rq.required ? " (required)" : "")));
      if (rq.description) b.appendChild(el("p", "desc", rq.description));
      b.appendChild(content(rq.content));
    }
    b.appendChild(el("h4", null, "Responses"));
    var t = el("table");
    Object.keys(op.responses || {}).sort().forEach(function (code) {
      var resp = op.responses[code];
      if (resp.$ref) resp = resolve(resp.$ref) || {};
      var tr = el("tr");
      tr.appendChild(el("td", "status-" + code.charAt(0), code));
      var td = el("td");
      td.appendChild(el("div", null, resp.description || ""));
      var c = resp.content || {};
      var cts = Object.keys(c);
      // Problem bodies are all the same ErrorModel: name it rather than repeat it.
      if (cts.length === 1 && cts[0] === "application/problem+json") {
        td.appendChild(el("div", "desc", "application/problem+json (" + typeOf(c[cts[0]].schema) + ")"));
      } else {
        td.appendChild(content(c));
      }
      tr.appendChild(td);
      t.appendChild(tr);
    });
    b.appendChild(t);
    d.appendChild(b);
    return d;
  }

  function render() {
    var main = document.getElementById("ops");
    var toc = document.getElementById("toc");
    var info = document.getElementById("api-info");
    info.textContent = (spec.info && spec.info.title || "API") + " " + (spec.info && spec.info.version || "") +
      " · OpenAPI " + spec.openapi + " · ";
    var raw = el("a", null, "openapi.json");
    raw.href = "/openapi.json";
    info.appendChild(raw);

    var groups = {};
    var order = [];
    Object.keys(spec.paths || {}).sort().forEach(function (path) {
      var item = spec.paths[path];
      METHODS.forEach(function (m) {
        var op = item[m];
        if (!op) return;
        var tag = (op.tags && op.tags[0]) || "Other";
        if (!groups[tag]) { groups[tag] = []; order.push(tag); }
        groups[tag].push([m, path, op, item]);
      });
    });
    order.sort();
    var loading = document.getElementById("loading");
    if (loading) loading.remove();
    var total = 0;
    order.forEach(function (tag) {
      var sec = el("section", "tag-group");
      sec.id = "tag-" + slug(tag);
      var h = el("h2", "tag", tag);
      sec.appendChild(h);
      var navH = el("h3");
      var navA = el("a", null, tag);
      navA.href = "#" + sec.id;
      navH.appendChild(navA);
      toc.appendChild(navH);
      var ul = el("ul");
      groups[tag].forEach(function (g) {
        var node = operation(g[0], g[1], g[2], g[3]);
        sec.appendChild(node);
        var li = el("li");
        var a = el("a", null, g[0].toUpperCase() + " " + g[1]);
        a.href = "#" + node.id;
        a.title = g[2].summary || "";
        li.appendChild(a);
        ul.appendChild(li);
        total++;
      });
      toc.appendChild(ul);
      main.appendChild(sec);
    });
    document.getElementById("count").textContent = total + " operations";
    document.body.setAttribute("data-ready", String(total));
    openHash();
  }

  function openHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    var target = document.getElementById(id);
    if (!target) return;
    if (target.tagName === "DETAILS") target.open = true;
    target.scrollIntoView();
  }

  function filter() {
    var q = document.getElementById("search").value.trim().toLowerCase();
    var words = q ? q.split(/\s+/) : [];
    var shown = 0;
    Array.prototype.forEach.call(document.querySelectorAll(".tag-group"), function (sec) {
      var any = false;
      Array.prototype.forEach.call(sec.querySelectorAll(".op"), function (op) {
        var hay = op.getAttribute("data-search");
        var ok = words.every(function (w) { return hay.indexOf(w) >= 0; });
        op.hidden = !ok;
        if (ok) { any = true; shown++; }
      });
      sec.hidden = !any;
    });
    Array.prototype.forEach.call(document.querySelectorAll("#toc li"), function (li) {
      var href = li.firstChild.getAttribute("href").slice(1);
      var target = document.getElementById(href);
      li.hidden = target ? target.hidden : false;
    });
    document.getElementById("count").textContent = shown + " operations" + (q ? " match" : "");
  }

  function start() {
    document.getElementById("search").addEventListener("input", filter);
    window.addEventListener("hashchange", openHash);
    fetch("/openapi.json", { headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("GET /openapi.json: HTTP " + r.status);
        return r.json();
      })
      .then(function (j) { spec = j; render(); })
      .catch(function (err) {
        var p = document.getElementById("loading") || document.getElementById("ops").appendChild(el("p"));
        p.className = "error";
        p.textContent = "Cannot load the API description: " + err.message;
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
