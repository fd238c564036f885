/* 腾讯云云市场 FAQ widget. Embed with one tag:
 *   <script src="https://HOST/widget.js" data-audience="buyer" data-order-id="..." async></script>
 * Renders inside a Shadow DOM. User and agent text is always set as text; bot answers arrive as HTML
 * sanitised by the server and are filtered again here before insertion. */
(function () {
  "use strict";
  if (window.__faqbotWidget) return;
  window.__faqbotWidget = true;

  var script = document.currentScript;
  if (!script) {
    var all = document.getElementsByTagName("script");
    for (var i = all.length - 1; i >= 0; i--) if (/\/widget\.js(\?|$)/.test(all[i].src)) { script = all[i]; break; }
  }
  var base = new URL(script.src, location.href).origin;
  var audience = script.dataset.audience === "provider" ? "provider" : "buyer";
  var orderId = script.dataset.orderId || null;
  var today = script.dataset.today || null; // demos and tests may pin the date
  var storeKey = "faqbot-session:" + base + ":" + audience;
  // The widget's words (knowledge/messages.yaml → widget): the server writes them into the next line.
  var T = {}; // COPY
  function say(name, values) {
    return String(T[name] || "").replace(/\{(\w+)\}/g, function (m, k) { return values && k in values ? String(values[k]) : m; });
  }

  var CSS = [
    ":host{all:initial}",
    // the host element inherits from the page; reset what its children would inherit
    ".launcher,.panel{letter-spacing:normal;word-spacing:normal;text-transform:none;text-indent:0;text-shadow:none;",
    "font-style:normal;font-weight:400;text-align:left;white-space:normal;direction:ltr;visibility:visible}",
    "*{box-sizing:border-box;font-family:-apple-system,'PingFang SC','Microsoft YaHei','WenQuanYi Micro Hei',sans-serif}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;align-items:center;gap:6px;border:0;",
    "border-radius:28px;padding:12px 18px;background:#006eff;color:#fff;font-size:15px;cursor:pointer;box-shadow:0 6px 20px rgba(0,60,160,.35)}",
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid #ffb100;outline-offset:2px}",
    ".panel{position:fixed;right:16px;bottom:80px;z-index:2147483001;width:min(380px,calc(100vw - 24px));",
    "height:min(600px,calc(100vh - 100px));display:flex;flex-direction:column;background:#fff;border-radius:14px;",
    "box-shadow:0 12px 40px rgba(0,0,0,.22);overflow:hidden;color:#1d2129;font-size:14px;line-height:1.6}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;gap:8px;padding:12px 14px;background:linear-gradient(90deg,#006eff,#2b8bff);color:#fff}",
    "header .title{flex:1;font-weight:600;font-size:15px}header small{display:block;font-weight:400;opacity:.85;font-size:12px}",
    "header button{border:1px solid rgba(255,255,255,.6);background:transparent;color:#fff;border-radius:6px;padding:4px 10px;cursor:pointer;font-size:13px}",
    "header .close{border:0;font-size:20px;line-height:1;padding:2px 6px}",
    ".status{font-size:12px;color:#86909c;text-align:center;padding:2px 8px;min-height:4px}",
    ".log{list-style:none;margin:0;padding:8px 12px 12px;flex:1;overflow-y:auto;background:#f5f7fa}",
    ".log>li{display:flex;flex-direction:column;margin:10px 0}",
    ".log>li.user{align-items:flex-end}",
    ".bubble{max-width:88%;padding:9px 12px;border-radius:12px;background:#fff;border:1px solid #e5e8ef;white-space:pre-wrap;word-break:break-word}",
    ".user .bubble{background:#006eff;color:#fff;border-color:#006eff;border-bottom-right-radius:4px}",
    ".bot .bubble{border-bottom-left-radius:4px;white-space:normal}",
    ".agent .bubble{background:#e8f7ee;border-color:#b7e4c7;border-bottom-left-radius:4px}",
    ".who{font-size:12px;color:#4e5969;margin:0 0 3px 2px}.agent .who{color:#0a7a3b;font-weight:600}",
    ".bubble details.full{margin-top:6px}.bubble details.full summary{cursor:pointer;color:#006eff}.bubble p{margin:0 0 6px}.bubble p:last-child{margin:0}.bubble ul,.bubble ol{margin:4px 0;padding-left:20px}",
    ".bubble table{border-collapse:collapse;margin:6px 0;font-size:12px;display:block;overflow-x:auto}",
    ".bubble th,.bubble td{border:1px solid #dcdfe6;padding:3px 6px;text-align:left}.bubble th{background:#f2f3f5}",
    ".bubble blockquote{margin:6px 0;padding:4px 8px;border-left:3px solid #ff9a2e;background:#fff7e8}",
    ".bubble a{color:#006eff}",
    ".source{font-size:12px;color:#86909c;margin:4px 2px 0;max-width:88%}.source a{color:#4e5969}.source .day{white-space:nowrap}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px;max-width:92%}",
    ".chips button{border:1px solid #006eff;color:#006eff;background:#fff;border-radius:14px;padding:4px 10px;cursor:pointer;font-size:13px;text-align:left}",
    ".rate{display:flex;gap:6px;margin:4px 2px 0;font-size:12px;color:#86909c;align-items:center}",
    ".rate button{border:1px solid #e5e8ef;background:#fff;border-radius:12px;padding:1px 8px;cursor:pointer}",
    ".rate button[aria-pressed=true]{border-color:#006eff;background:#e8f3ff}",
    ".typing{padding:0 14px 6px;color:#86909c;font-size:12px}.typing[hidden]{display:none}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e8ef;background:#fff}",
    "textarea{flex:1;resize:none;border:1px solid #c9cdd4;border-radius:8px;padding:8px;font-size:14px;max-height:96px}",
    "form button{border:0;border-radius:8px;background:#006eff;color:#fff;padding:0 16px;cursor:pointer;font-size:14px}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}",
  ].join("");

  var host = document.createElement("div");
  host.id = "faqbot-widget";
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    '<style>' + CSS + '</style>' +
    '<button class="launcher" type="button" aria-expanded="false" aria-controls="panel">' +
    '<svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>' +
    '<span></span></button>' +
    '<section class="panel" id="panel" role="dialog" hidden>' +
    '<header><div class="title"><span></span><small></small></div>' +
    '<button class="human" type="button"></button>' +
    '<button class="close" type="button">×</button></header>' +
    '<div class="status" role="status" aria-live="polite"></div>' +
    '<ol class="log" role="log" aria-live="polite"></ol>' +
    '<div class="typing" hidden></div>' +
    '<form><label class="sr" for="faqbot-input"></label>' +
    '<textarea id="faqbot-input" rows="1" maxlength="500"></textarea>' +
    '<button type="submit"></button></form></section>';

  var $ = function (sel) { return root.querySelector(sel); };
  var launcher = $(".launcher"), panel = $(".panel"), log = $(".log"), input = $("textarea");
  var statusEl = $(".status"), typing = $(".typing");
  // every word is set as text
  $(".launcher span").textContent = T.launcher;
  $(".panel").setAttribute("aria-label", T.panel_label);
  $("header .title span").textContent = T.title;
  $("header small").textContent = audience === "provider" ? T.mode_provider : T.mode_buyer;
  $(".human").textContent = T.handoff;
  $(".close").setAttribute("aria-label", T.close);
  $(".log").setAttribute("aria-label", T.log_label);
  $(".typing").textContent = T.typing;
  $("label.sr").textContent = T.input_label;
  $("textarea").placeholder = T.placeholder;
  $("form button").textContent = T.send;

  var ws = null, sessionId = null, retry = 0, pending = [];
  try { sessionId = localStorage.getItem(storeKey); } catch (e) { /* storage blocked */ }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }

  // Defence in depth: the server already sanitises; keep only harmless elements and attributes.
  var ALLOWED = /^(P|BR|STRONG|EM|CODE|PRE|BLOCKQUOTE|UL|OL|LI|A|H1|H2|H3|H4|TABLE|THEAD|TBODY|TR|TH|TD|HR)$/;
  function safeFragment(html) {
    var doc = new DOMParser().parseFromString("<div>" + (html || "") + "</div>", "text/html");
    var box = doc.body.firstChild;
    (function clean(node) {
      Array.prototype.slice.call(node.children).forEach(function (child) {
        if (!ALLOWED.test(child.tagName)) { child.replaceWith(doc.createTextNode(child.textContent)); return; }
        Array.prototype.slice.call(child.attributes).forEach(function (a) {
          var ok = (child.tagName === "A" && a.name === "href" && /^(https?:|mailto:|#)/i.test(a.value)) ||
            // a numbered list resumed after a bullet list starts at N: keep N, only as digits
            (child.tagName === "OL" && a.name === "start" && /^[0-9]{1,9}$/.test(a.value));
          if (!ok && a.name !== "title") child.removeAttribute(a.name);
        });
        if (child.tagName === "A") { child.setAttribute("target", "_blank"); child.setAttribute("rel", "noopener noreferrer"); }
        clean(child);
      });
    })(box);
    var frag = document.createDocumentFragment();
    while (box.firstChild) frag.appendChild(box.firstChild);
    return frag;
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function addUser(text) {
    var li = el("li", "user");
    li.appendChild(el("div", "bubble", text));
    log.appendChild(li); scroll();
  }

  function addAgent(text, agent) {
    var li = el("li", "agent");
    li.appendChild(el("div", "who", say("agent_who", { agent: agent || T.agent_default })));
    li.appendChild(el("div", "bubble", text));
    log.appendChild(li); scroll();
  }

  function sourceLine(reply) {
    if (reply.kind === "rule" && reply.rule && reply.rule.cites) {
      var div = el("div", "source", T.cited);
      reply.rule.cites.forEach(function (c, k) {
        if (k) div.appendChild(document.createTextNode(T.cite_joiner));
        var a = el("a", null, say("cite", { question: c.question }));
        a.href = base + "/faq/" + encodeURIComponent(c.id); a.target = "_blank"; a.rel = "noopener";
        div.appendChild(a);
      });
      return div;
    }
    if (reply.faq && reply.kind === "faq") {
      var s = el("div", "source", say("source", { category: reply.faq.category }));
      var link = el("a", null, say("cite", { question: reply.faq.question }));
      link.href = base + "/faq/" + encodeURIComponent(reply.faq.id); link.target = "_blank"; link.rel = "noopener";
      s.appendChild(link);
      s.appendChild(el("span", "day", say("updated", { day: reply.faq.updated })));  // never split mid-date
      return s;
    }
    return null;
  }

  function rating(reply) {
    if (!reply.message_id || ["faq", "rule", "clarify", "fallback"].indexOf(reply.kind) < 0) return null;
    var box = el("div", "rate");
    box.appendChild(el("span", null, T.rate_ask));
    [[T.helpful, true, T.helpful_label], [T.unhelpful, false, T.unhelpful_label]].forEach(function (spec) {
      var b = el("button", null, spec[0]);
      b.type = "button"; b.setAttribute("aria-label", spec[2]); b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", function () {
        box.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        b.setAttribute("aria-pressed", "true");
        fetch(base + "/api/feedback", {
          method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ message_id: reply.message_id, session_id: sessionId, helpful: spec[1] }),
        }).then(function (r) {
          box.lastChild.after(el("span", null, r.ok ? T.rated : T.rate_failed));
        }).catch(function () { box.lastChild.after(el("span", null, T.rate_failed)); });
      });
      box.appendChild(b);
    });
    return box;
  }

  // A precise answer: the passage asked for, a rule, then the whole entry, which is folded away until asked for.
  function collapseAfterLead(bubble) {
    var rule = bubble.querySelector(":scope > hr");
    if (!rule) return;
    var details = el("details", "full");
    details.appendChild(el("summary", null, T.full_answer));
    while (rule.nextSibling) details.appendChild(rule.nextSibling);
    rule.replaceWith(details);
  }

  function addBot(reply) {
    var li = el("li", "bot");
    li.dataset.kind = reply.kind;
    var bubble = el("div", "bubble");
    bubble.appendChild(safeFragment(reply.html));
    if (!reply.html) bubble.textContent = reply.text;
    else if (reply.lead) collapseAfterLead(bubble);
    li.appendChild(bubble);
    var src = sourceLine(reply);
    if (src) li.appendChild(src);
    if ((reply.kind === "clarify" || reply.kind === "fallback") && reply.suggestions && reply.suggestions.length) {
      var chips = el("div", "chips");
      chips.setAttribute("aria-label", T.options_label);
      reply.suggestions.forEach(function (sug) {
        var b = el("button", null, sug.question);
        b.type = "button";
        b.addEventListener("click", function () { send(sug.question); });
        chips.appendChild(b);
      });
      li.appendChild(chips);
    }
    var rate = rating(reply);
    if (rate) li.appendChild(rate);
    log.appendChild(li); scroll();
  }

  function context() {
    var c = { audience: audience };
    if (orderId) c.order = { id: orderId };
    if (today) c.today = today;
    return c;
  }

  function send(text) {
    text = (text || "").trim();
    if (!text) return;
    addUser(text);
    var frame = JSON.stringify({ type: "message", text: text, context: context() });
    if (ws && ws.readyState === 1) ws.send(frame); else { pending.push(frame); connect(); }
  }

  function setStatus(text) { statusEl.textContent = text || ""; }

  function connect() {
    if (ws && (ws.readyState === 0 || ws.readyState === 1)) return;
    var url = base.replace(/^http/, "ws") + "/ws/chat" + (sessionId ? "?session_id=" + encodeURIComponent(sessionId) : "");
    ws = new WebSocket(url);
    ws.onopen = function () { retry = 0; setStatus(""); };
    ws.onmessage = function (ev) {
      var f; try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.type === "session") {
        var fresh = f.session_id !== sessionId;
        sessionId = f.session_id;
        try { localStorage.setItem(storeKey, sessionId); } catch (e) { /* ignore */ }
        if (fresh || !log.children.length) {
          log.textContent = "";
          (f.history || []).forEach(function (m) {
            if (m.role === "user") addUser(m.text);
            else if (m.role === "agent") addAgent(m.text, m.agent);
            else if (m.role === "bot" && m.reply) addBot(Object.assign({}, m.reply, { message_id: m.id, html: m.html }));
          });
          if (!log.children.length) greet();
        }
        while (pending.length) ws.send(pending.shift());
      } else if (f.type === "typing") {
        typing.hidden = false;
      } else if (f.type === "reply") {
        typing.hidden = true; addBot(f.reply);
      } else if (f.type === "agent_message") {
        typing.hidden = true; addAgent(f.text, f.agent);
      } else if (f.type === "handoff") {
        setStatus(f.state === "agent" ? say("agent_joined", { agent: f.agent || "" }) :
          f.state === "requested" ? T.queued : f.state === "bot" ? T.back_to_bot : "");
      } else if (f.type === "error") {
        typing.hidden = true; setStatus(say("not_sent", { message: f.message }));
      }
    };
    ws.onclose = function () {
      typing.hidden = true;
      setStatus(T.reconnecting);
      var delay = Math.min(10000, 500 * Math.pow(2, retry++));
      setTimeout(connect, delay);
    };
  }

  function greet() {
    addBot({ kind: "smalltalk", text: audience === "provider" ? T.greeting_provider : T.greeting_buyer });
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    connect();
    input.focus();
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { panel.hidden ? open() : close(); });
  $(".close").addEventListener("click", close);
  // The hand-over button sends a typed frame; typing the words works too.
  $(".human").addEventListener("click", function () {
    addUser($(".human").textContent);
    var frame = JSON.stringify({ type: "handoff", context: context() });
    if (ws && ws.readyState === 1) ws.send(frame); else { pending.push(frame); connect(); }
  });
  $("form").addEventListener("submit", function (ev) { ev.preventDefault(); send(input.value); input.value = ""; input.focus(); });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(input.value); input.value = ""; }
  });
  panel.addEventListener("keydown", function (ev) { if (ev.key === "Escape") close(); });
})();
