/* Shared by the console's pages (agent.js, knowledge.js): their words, elements made with text only, the API
 * call with the session's CSRF token, and the second line of defence for server-made HTML. The server already
 * sanitised it (bot/render.py); safeFragment keeps only harmless elements and attributes again before the HTML is
 * inserted, as the widget does. */
(function () {
  "use strict";
  var ALLOWED = /^(P|BR|STRONG|EM|CODE|PRE|BLOCKQUOTE|UL|OL|LI|A|H1|H2|H3|H4|TABLE|THEAD|TBODY|TR|TH|TD|HR)$/;
  function safeFragment(html) {
    var doc = new DOMParser().parseFromString("<div>" + (html || "") + "</div>", "text/html");
    var box = doc.body.firstChild;
    (function clean(node) {
      Array.prototype.slice.call(node.children).forEach(function (child) {
        if (!ALLOWED.test(child.tagName)) { child.replaceWith(doc.createTextNode(child.textContent)); return; }
        Array.prototype.slice.call(child.attributes).forEach(function (a) {
          var ok = (child.tagName === "A" && a.name === "href" && /^(https?:|mailto:)/i.test(a.value)) ||
            (child.tagName === "OL" && a.name === "start" && /^[0-9]{1,9}$/.test(a.value));
          if (!ok) child.removeAttribute(a.name);
        });
        if (child.tagName === "A") { child.setAttribute("target", "_blank"); child.setAttribute("rel", "noopener noreferrer"); }
        clean(child);
      });
    })(box);
    var frag = document.createDocumentFragment();
    while (box.firstChild) frag.appendChild(box.firstChild);
    return frag;
  }
  // say("key", {n: 1}): the page's sentence (knowledge/messages.yaml) with its {placeholders} filled in
  function sayer(words) {
    return function (name, values) {
      return String(words[name] || "").replace(/\{(\w+)\}/g, function (m, k) { return values && k in values ? String(values[k]) : m; });
    };
  }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }
  // JSON in and out with the page's CSRF token; a 401 (signed out elsewhere) calls signedOut; an error's message
  // becomes the rejection's
  function client(csrf, signedOut) {
    return function (method, path, body) {
      return fetch(path, {
        method: method,
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": csrf },
        body: body ? JSON.stringify(body) : undefined,
      }).then(function (r) {
        if (r.status === 401) { signedOut(); throw new Error("login"); }
        return r.json().then(function (data) { if (!r.ok) throw new Error((data && data.message) || r.status); return data; });
      });
    };
  }
  window.ConsoleKit = { safeFragment: safeFragment, sayer: sayer, el: el, client: client };
})();
