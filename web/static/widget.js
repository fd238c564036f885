/* 腾讯云云市场 FAQ widget. Embed with one tag (every data attribute is described in web/README.md):
 *   <script src="https://HOST/widget.js" data-audience="buyer" data-order-id="..." async></script>
 * Renders inside a Shadow DOM. User and agent text, and the page's own title, greeting and launcher text, are
 * always set as text; bot answers arrive as HTML sanitised by the server and are filtered again here before
 * insertion. The page's colour reaches CSS only once it is a plain hex colour. */
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
  var waitingKey = storeKey + ":waiting"; // "1" while the conversation waits for, or is with, a person
  var seenKey = storeKey + ":seen"; // the newest bot or agent message id the user has had in front of them

  // The page's look and words: words are capped and set as text; the colour must be #rgb or #rrggbb.
  function pageText(value, max) {
    var v = typeof value === "string" ? value.trim() : "";
    return v ? Array.from(v).slice(0, max).join("") : null;
  }
  var look = {
    left: script.dataset.position === "left",
    color: /^#(?:[0-9a-f]{3}){1,2}$/i.test(script.dataset.color || "") ? script.dataset.color : null,
    title: pageText(script.dataset.title, 40),
    greeting: pageText(script.dataset.greeting, 300),
    launcher: pageText(script.dataset.launcherText, 20),
  };
  // The widget's words (knowledge/messages.yaml → widget): the server writes them into the next line.
  var T = {}; // COPY
  function say(name, values) {
    return String(T[name] || "").replace(/\{(\w+)\}/g, function (m, k) { return values && k in values ? String(values[k]) : m; });
  }

  // One colour (--faqbot-primary, set from data-color) paints the launcher, the header, the user's bubbles and the
  // buttons; --faqbot-on-primary is the text on it and --faqbot-ink the colour as text on white.
  var CSS = [
    ":host{all:initial}",
    // the host element inherits from the page; reset what its children would inherit
    ".launcher,.panel{letter-spacing:normal;word-spacing:normal;text-transform:none;text-indent:0;text-shadow:none;",
    "font-style:normal;font-weight:400;text-align:left;white-space:normal;direction:ltr;visibility:visible;",
    "--faqbot-primary:#006eff;--faqbot-on-primary:#fff;--faqbot-ink:#006eff}",
    "*{box-sizing:border-box;font-family:-apple-system,'PingFang SC','Microsoft YaHei','WenQuanYi Micro Hei',sans-serif}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;align-items:center;gap:6px;border:0;",
    "border-radius:28px;padding:12px 18px;background:var(--faqbot-primary);color:var(--faqbot-on-primary);font-size:15px;",
    "cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.28)}",
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid #ffb100;outline-offset:2px}",
    ".badge{position:absolute;top:-7px;right:-5px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;",
    "background:#f53f3f;color:#fff;font-size:12px;font-weight:600;line-height:22px;text-align:center;box-shadow:0 0 0 2px #fff}",
    ".badge[hidden]{display:none}",
    ".panel{position:fixed;right:16px;bottom:80px;z-index:2147483001;width:min(380px,calc(100vw - 24px));",
    "height:min(600px,calc(100vh - 100px));display:flex;flex-direction:column;background:#fff;border-radius:14px;",
    "box-shadow:0 12px 40px rgba(0,0,0,.22);overflow:hidden;color:#1d2129;font-size:14px;line-height:1.6}",
    ".panel[hidden]{display:none}",
    ".launcher.left{right:auto;left:20px}.panel.left{right:auto;left:16px}",
    "header{display:flex;align-items:center;gap:8px;padding:12px 14px;color:var(--faqbot-on-primary);",
    "background:linear-gradient(90deg,transparent,rgba(255,255,255,.17)) var(--faqbot-primary)}",
    "header .title{flex:1;min-width:0;font-weight:600;font-size:15px;overflow-wrap:anywhere}",
    "header small{display:block;font-weight:400;opacity:.85;font-size:12px}",
    "header button{flex:none;border:1px solid currentColor;background:transparent;color:inherit;border-radius:6px;padding:4px 10px;cursor:pointer;font-size:13px}",
    "header .close{border:0;font-size:20px;line-height:1;padding:2px 6px}",
    ".status{font-size:12px;color:#86909c;text-align:center;padding:2px 8px;min-height:4px}",
    ".status[data-error='1']{color:#cb2634;background:#fff1f0}",
    ".log{list-style:none;margin:0;padding:8px 12px 12px;flex:1;overflow-y:auto;overscroll-behavior:contain;background:#f5f7fa}",
    ".log>li{display:flex;flex-direction:column;margin:10px 0}",
    ".log>li.user{align-items:flex-end}",
    ".user.unsent .bubble{opacity:.55}.unsent-note{font-size:12px;color:#cb2634;margin:3px 2px 0}",
    ".bubble{max-width:88%;padding:9px 12px;border-radius:12px;background:#fff;border:1px solid #e5e8ef;white-space:pre-wrap;word-break:break-word}",
    ".user .bubble{background:var(--faqbot-primary);color:var(--faqbot-on-primary);border-color:var(--faqbot-primary);border-bottom-right-radius:4px}",
    ".bot .bubble{border-bottom-left-radius:4px;white-space:normal}",
    ".agent .bubble{background:#e8f7ee;border-color:#b7e4c7;border-bottom-left-radius:4px}",
    ".who{font-size:12px;color:#4e5969;margin:0 0 3px 2px}.agent .who{color:#0a7a3b;font-weight:600}",
    ".bubble details.full{margin-top:6px}.bubble details.full summary{cursor:pointer;color:var(--faqbot-ink)}.bubble p{margin:0 0 6px}.bubble p:last-child{margin:0}.bubble ul,.bubble ol{margin:4px 0;padding-left:20px}",
    ".bubble table{border-collapse:collapse;margin:6px 0;font-size:12px;display:block;overflow-x:auto}",
    ".bubble th,.bubble td{border:1px solid #dcdfe6;padding:3px 6px;text-align:left}.bubble th{background:#f2f3f5}",
    ".bubble blockquote{margin:6px 0;padding:4px 8px;border-left:3px solid #ff9a2e;background:#fff7e8}",
    ".bubble a{color:var(--faqbot-ink)}",
    ".source{font-size:12px;color:#86909c;margin:4px 2px 0;max-width:88%}.source a{color:#4e5969}.source .day{white-space:nowrap}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px;max-width:92%}",
    ".chips button{border:1px solid var(--faqbot-ink);color:var(--faqbot-ink);background:#fff;border-radius:14px;padding:4px 10px;cursor:pointer;font-size:13px;text-align:left}",
    ".rate{display:flex;gap:6px;margin:4px 2px 0;font-size:12px;color:#86909c;align-items:center}",
    ".rate button{border:1px solid #e5e8ef;background:#fff;border-radius:12px;padding:1px 8px;cursor:pointer}",
    ".rate button[aria-pressed=true]{border-color:var(--faqbot-ink);",
    "background:linear-gradient(rgba(255,255,255,.9),rgba(255,255,255,.9)) var(--faqbot-primary)}",
    ".typing{padding:0 14px 6px;color:#86909c;font-size:12px}.typing[hidden]{display:none}",
    ".people{padding:10px 14px;border-top:1px solid #e5e8ef;background:#f7f8fa;font-size:13px;color:#4e5969}.people[hidden]{display:none}",
    ".people form.offline{display:flex;flex-direction:column;gap:6px;padding:6px 0 0;border:0;background:transparent}",
    ".people form.offline label{display:flex;flex-direction:column;gap:2px;font-size:12px}",
    ".people form.offline textarea,.people form.offline input{font-size:14px;border:1px solid #c9cdd4;border-radius:8px;padding:6px 8px;max-height:none}",
    ".people form.offline button{align-self:flex-end;padding:6px 16px}",
    ".people .error{color:#cb2634;font-size:12px}.people .error:empty{display:none}",
    ".log>li.csat-item{align-items:stretch}",
    "form.csat{display:flex;flex-direction:column;gap:6px;padding:10px 12px;border:1px solid #e5e8ef;border-radius:12px;background:#fff}",
    "form.csat p,.people p{margin:0}",
    "form.csat .stars{display:flex;gap:4px}",
    "form.csat .stars button{background:#fff;color:#c9cdd4;border:1px solid #e5e8ef;border-radius:8px;padding:2px 8px;font-size:18px;line-height:1.2}",
    "form.csat .stars button.on{color:#ff9a2e;border-color:#ff9a2e}",
    "form.csat textarea{font-size:14px;max-height:none}",
    "form.csat button[type=submit]{align-self:flex-end;padding:6px 16px}",
    ".rate-comment{display:flex;gap:6px;margin:4px 2px 0;max-width:88%}",
    ".rate-comment textarea{font-size:13px;padding:4px 8px;max-height:none}",
    ".rate-comment button{flex:none;border:0;border-radius:8px;background:var(--faqbot-primary);color:var(--faqbot-on-primary);padding:0 12px;cursor:pointer}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e8ef;background:#fff}",
    "textarea{flex:1;min-width:0;resize:none;border:1px solid #c9cdd4;border-radius:8px;padding:8px;font-size:14px;max-height:96px}",
    "form button{flex:none;border:0;border-radius:8px;background:var(--faqbot-primary);color:var(--faqbot-on-primary);padding:0 16px;cursor:pointer;font-size:14px}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    // a phone: the panel is the whole screen, its close button a thumb's size, the text box 16px (iOS does not
    // zoom into it), clear of the notch and the home bar
    "@media (max-width:479px){",
    ".panel,.panel.left{top:0;right:0;bottom:0;left:0;width:100%;height:100%;border-radius:0;box-shadow:none}",
    "header{padding:max(4px,env(safe-area-inset-top)) 4px 4px 14px}",
    "header .human{min-height:36px}",
    "header .close{min-width:44px;min-height:44px;font-size:26px}",
    "form{padding-bottom:max(10px,env(safe-area-inset-bottom))}",
    "textarea{font-size:16px}",
    ".launcher{right:16px;bottom:16px}.launcher.left{right:auto;left:16px}}",
  ].join("");

  var host = document.createElement("div");
  host.id = "faqbot-widget";
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    '<style>' + CSS + '</style>' +
    '<button class="launcher" type="button" aria-expanded="false" aria-controls="panel">' +
    '<svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>' +
    '<span class="label"></span><span class="badge" role="img" hidden></span></button>' +
    '<div class="sr unread-news" role="status" aria-live="polite"></div>' +
    '<section class="panel" id="panel" role="dialog" hidden>' +
    '<header><div class="title"><span></span><small></small></div>' +
    '<button class="human" type="button"></button>' +
    '<button class="close" type="button">×</button></header>' +
    '<div class="status" role="status" aria-live="polite"></div>' +
    '<ol class="log" role="log" aria-live="polite"></ol>' +
    '<div class="typing" hidden></div>' +
    '<div class="people" role="status" aria-live="polite" hidden></div>' +
    '<form><label class="sr" for="faqbot-input"></label>' +
    '<textarea id="faqbot-input" rows="1" maxlength="500" enterkeyhint="send"></textarea>' +
    '<button type="submit"></button></form></section>';

  var $ = function (sel) { return root.querySelector(sel); };
  var launcher = $(".launcher"), panel = $(".panel"), log = $(".log"), input = $("textarea");
  var statusEl = $(".status"), typing = $(".typing"), badge = $(".badge"), news = $(".unread-news");
  // every word is set as text
  $(".launcher .label").textContent = look.launcher || T.launcher;
  $(".panel").setAttribute("aria-label", look.title || T.panel_label);
  $("header .title span").textContent = look.title || T.title;
  $("header small").textContent = audience === "provider" ? T.mode_provider : T.mode_buyer;
  $(".human").textContent = T.handoff;
  $(".close").setAttribute("aria-label", T.close);
  $(".log").setAttribute("aria-label", T.log_label);
  $(".typing").textContent = T.typing;
  $("label.sr").textContent = T.input_label;
  $("form button").textContent = T.send;
  if (look.left) { launcher.classList.add("left"); panel.classList.add("left"); }
  if (look.color) {
    [launcher, panel].forEach(function (n) {
      n.style.setProperty("--faqbot-primary", look.color);
      n.style.setProperty("--faqbot-on-primary", textOn(look.color));
      n.style.setProperty("--faqbot-ink", contrast(look.color, "#ffffff") >= 3 ? look.color : "#1d2129");
    });
  }

  // WCAG contrast between two hex colours; the text on the page's colour is whichever of white and near-black
  // reads better on it.
  function luminance(hex) {
    var h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, "$&$&");
    return [0, 2, 4].reduce(function (sum, at, k) {
      var c = parseInt(h.slice(at, at + 2), 16) / 255;
      c = c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
      return sum + c * [0.2126, 0.7152, 0.0722][k];
    }, 0);
  }
  function contrast(a, b) {
    var x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  function textOn(hex) { return contrast(hex, "#ffffff") >= contrast(hex, "#1d2129") ? "#fff" : "#1d2129"; }

  // On a touch screen there is no Enter key to tell about, and a phone-sized box has no room for it: the
  // placeholder says less.
  function media(query) { return window.matchMedia ? window.matchMedia(query) : null; }
  var coarse = media("(pointer: coarse)"), narrow = media("(max-width:479px)");
  function isTouch() { return !!(coarse && coarse.matches); }
  function placeholder() { input.placeholder = isTouch() || (narrow && narrow.matches) ? T.placeholder_touch : T.placeholder; }
  placeholder();
  [coarse, narrow].forEach(function (q) { if (q && q.addEventListener) q.addEventListener("change", placeholder); });

  var ws = null, sessionId = null, retry = 0, pending = [];
  var shownId = 0; // the newest stored bot or agent message in the log (a reconnect adds what came after it)
  var seenId = 0, unread = 0;
  try {
    sessionId = localStorage.getItem(storeKey);
    seenId = Number(localStorage.getItem(seenKey)) || 0;
  } catch (e) { /* storage blocked */ }

  function remember(key, value) {
    try { if (value == null) localStorage.removeItem(key); else localStorage.setItem(key, String(value)); } catch (e) { /* ignore */ }
  }
  function isWaiting() {
    try { return localStorage.getItem(waitingKey) === "1"; } catch (e) { return false; }
  }
  // waiting for a person, or talking to one: the next page load connects at once, so no reply is missed
  function setWaiting(state) { remember(waitingKey, state && state !== "bot" ? "1" : null); }

  function showUnread() {
    badge.hidden = unread === 0;
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.setAttribute("aria-label", say("unread", { n: unread }));
    news.textContent = unread ? say("unread", { n: unread }) : "";
  }
  function markSeen() {
    if (shownId > seenId) { seenId = shownId; remember(seenKey, seenId); }
    if (unread) { unread = 0; showUnread(); }
  }
  // A stored bot or agent message is in the log: seen if the panel is open, else one more on the badge.
  function arrived(id) {
    if (id) shownId = Math.max(shownId, id);
    if (!panel.hidden) markSeen();
    else if (!id || id > seenId) { unread += 1; showUnread(); }
  }
  // another tab of the same site showed the messages
  window.addEventListener("storage", function (ev) {
    if (ev.key === seenKey && Number(ev.newValue) >= shownId && unread) { seenId = Number(ev.newValue); unread = 0; showUnread(); }
  });

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
    return li;
  }

  // An agent's words stay text; only the web addresses in them become links (http and https only).
  var URL_IN_TEXT = /https?:\/\/[^\s<>"'\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]+/g;
  function linked(text) {
    var frag = document.createDocumentFragment(), at = 0, m;
    URL_IN_TEXT.lastIndex = 0;
    while ((m = URL_IN_TEXT.exec(text))) {
      var href = m[0].replace(/[.,;:!?)\]]+$/, "");
      var ok = false;
      try { ok = /^https?:$/.test(new URL(href).protocol); } catch (e) { ok = false; }
      if (!ok) continue;
      frag.appendChild(document.createTextNode(text.slice(at, m.index)));
      var a = el("a", null, href);
      a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer";
      frag.appendChild(a);
      at = m.index + href.length;
      URL_IN_TEXT.lastIndex = at;
    }
    frag.appendChild(document.createTextNode(text.slice(at)));
    return frag;
  }

  function addAgent(text, agent) {
    var li = el("li", "agent");
    li.appendChild(el("div", "who", say("agent_who", { agent: agent || T.agent_default })));
    var bubble = el("div", "bubble");
    bubble.appendChild(linked(String(text)));
    li.appendChild(bubble);
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

  // One rating per reply: a second click changes it (the server keeps the latest); after 没用 the user may say
  // what was missing. A rating given earlier comes back with the history.
  function rating(reply) {
    if (!reply.message_id || ["faq", "rule", "clarify", "fallback"].indexOf(reply.kind) < 0) return null;
    var box = el("div", "rate"), note = el("span", "rated");
    box.appendChild(el("span", null, T.rate_ask));
    var comment = null;
    function store(helpful, text) {
      return fetch(base + "/api/feedback", {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ message_id: reply.message_id, session_id: sessionId, helpful: helpful, comment: text || null }),
      }).then(function (r) { note.textContent = r.ok ? T.rated : T.rate_failed; return r.ok; })
        .catch(function () { note.textContent = T.rate_failed; return false; });
    }
    function askWhy() {
      if (comment) return;
      comment = el("div", "rate-comment");
      var area = el("textarea");
      area.rows = 1; area.maxLength = 1000; area.placeholder = T.rate_why;
      area.setAttribute("aria-label", T.rate_why);
      var go = el("button", null, T.rate_why_send);
      go.type = "button";
      go.addEventListener("click", function () {
        var text = area.value.trim();
        if (!text) return;
        store(false, text).then(function (ok) { if (ok && comment) { comment.remove(); comment = null; } });
      });
      comment.appendChild(area); comment.appendChild(go);
      box.after(comment);
    }
    var buttons = [[T.helpful, true, T.helpful_label], [T.unhelpful, false, T.unhelpful_label]].map(function (spec) {
      var b = el("button", null, spec[0]);
      b.type = "button"; b.setAttribute("aria-label", spec[2]); b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", function () {
        if (b.getAttribute("aria-pressed") === "true") return;
        buttons.forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
        store(spec[1]);
        if (!spec[1]) askWhy(); else if (comment) { comment.remove(); comment = null; }
      });
      box.appendChild(b);
      return b;
    });
    box.appendChild(note);
    if (reply.rating) {  // restored: as the user left it
      buttons[reply.rating.helpful ? 0 : 1].setAttribute("aria-pressed", "true");
      note.textContent = T.rated;
    }
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
    if (reply.message_id) li.dataset.messageId = String(reply.message_id);
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

  // The user's words are shown at once; the server answers each frame, in order, with a reply or an error.
  var awaiting = []; // the user's bubbles the server has not answered yet, oldest first
  function post(text, frame) {
    awaiting.push(addUser(text));
    frame = JSON.stringify(frame);
    if (ws && ws.readyState === 1) ws.send(frame); else { pending.push(frame); connect(); }
  }

  function send(text) {
    text = (text || "").trim();
    if (text) post(text, { type: "message", text: text, context: context() });
  }

  function setStatus(text, isError) { statusEl.textContent = text || ""; statusEl.dataset.error = isError ? "1" : ""; }
  function clearError() { if (statusEl.dataset.error) setStatus(""); }

  // The socket's errors carry a code; the person reads the widget's own sentence for it, never the server's
  // message (words for integrators, some of them English).
  function errorText(code) {
    var key = "error_" + code;
    return /^[a-z_]{1,40}$/.test(String(code)) && Object.prototype.hasOwnProperty.call(T, key) ? T[key] : T.error_other;
  }

  // A stored bot or agent message from the history: shown, and counted as unread if it is new to the user.
  function restore(m) {
    if (m.role === "agent") addAgent(m.text, m.agent);
    else if (m.role === "bot" && m.reply) addBot(Object.assign({}, m.reply, { message_id: m.id, html: m.html, rating: m.rating }));
    else return;
    arrived(m.id);
  }

  // ------------------------------------------------------------------ people: waiting, a message left, satisfaction

  var peopleEl = $(".people"), handoffState = "bot", waitTimer = null;
  var leftKey = storeKey + ":left"; // the contact a message was left with, while the conversation waits
  function peopleCard(nodes) {
    peopleEl.textContent = "";
    nodes.forEach(function (n) { peopleEl.appendChild(n); });
    peopleEl.hidden = !nodes.length;
  }
  function stopWaiting() { clearTimeout(waitTimer); waitTimer = null; }

  // Asked for a person: is anyone there, how many wait ahead, how long it usually takes; nobody there (no one
  // signed in, or outside the service hours): say so and offer to leave a message with a contact.
  function showWaiting() {
    stopWaiting();
    if (handoffState !== "requested") return;
    var left = null;
    try { left = localStorage.getItem(leftKey); } catch (e) { left = null; }
    if (left) { peopleCard([el("p", null, say("offline_done", { contact: left }))]); return; }
    fetch(base + "/api/chat/waiting" + (sessionId ? "?session_id=" + encodeURIComponent(sessionId) : ""))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (info) {
        if (!info || handoffState !== "requested") return;
        if (!info.agents_online) { peopleCard([el("p", null, T.nobody_online), offlineForm()]); return; }
        var line = info.ahead ? say("waiting_ahead", { n: info.ahead }) : T.waiting_next;
        if (info.typical_wait_minutes) line += say("waiting_estimate", { minutes: info.typical_wait_minutes });
        peopleCard([el("p", null, line)]);
        waitTimer = setTimeout(showWaiting, 20000); // the queue moves on
      })
      .catch(function () { /* the status line already says the connection is down */ });
  }

  // A mainland mobile number (+86 and separators allowed) or an e-mail address: what the server accepts too.
  function validContact(value) {
    var v = value.trim(), phone = v.replace(/[\s-]/g, "");
    if (/^(?:\+?86)?1[3-9][0-9]{9}$/.test(phone)) return phone.slice(-11);
    return /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}$/.test(v) ? v : null;
  }
  function offlineForm() {
    var form = el("form", "offline");
    var msgLabel = el("label", null, T.offline_message);
    var msg = el("textarea");
    msg.rows = 2; msg.maxLength = 1000; msg.required = true;
    msgLabel.appendChild(msg);
    var contactLabel = el("label", null, T.offline_contact);
    var contact = el("input");
    contact.maxLength = 120; contact.required = true; contact.autocomplete = "tel"; contact.placeholder = T.offline_contact_hint;
    contactLabel.appendChild(contact);
    var error = el("div", "error"); error.setAttribute("role", "alert");
    var submit = el("button", null, T.offline_send); submit.type = "submit";
    [msgLabel, contactLabel, error, submit].forEach(function (n) { form.appendChild(n); });
    form.noValidate = true; // our own words, not the browser's
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = msg.value.trim(), who = validContact(contact.value);
      if (!text) { error.textContent = T.offline_need_message; msg.focus(); return; }
      if (!who) { error.textContent = T.offline_bad_contact; contact.focus(); return; }
      submit.disabled = true; error.textContent = "";
      fetch(base + "/api/chat/offline", {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ session_id: sessionId, text: text, contact: who }),
      }).then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok) throw new Error(data && data.code === "bad_contact" ? T.offline_bad_contact : T.offline_failed);
          if (data.session_id && data.session_id !== sessionId) { sessionId = data.session_id; remember(storeKey, sessionId); }
          remember(leftKey, who);
          peopleCard([el("p", null, say("offline_done", { contact: who }))]);
        });
      }).catch(function (e) { submit.disabled = false; error.textContent = e.message || T.offline_failed; });
    });
    return form;
  }

  // After a person resolved the conversation: one question, 1–5 and an optional comment (a new answer replaces
  // the old on the server); a rating given earlier is shown as given.
  function showCsat(given) {
    var old = log.querySelector("li.csat-item");
    if (old) old.remove();
    var li = el("li", "csat-item");
    var form = el("form", "csat");
    li.appendChild(form);
    if (given) {
      form.appendChild(el("p", null, say("csat_given", { score: given.score })));
    } else {
      form.appendChild(el("p", null, T.csat_ask));
      var stars = el("div", "stars"), score = 0;
      stars.setAttribute("role", "group"); stars.setAttribute("aria-label", T.csat_ask);
      for (var n = 1; n <= 5; n++) (function (k) {
        var b = el("button", null, "★");
        b.type = "button"; b.dataset.score = String(k);
        b.setAttribute("aria-label", say("csat_score", { n: k })); b.setAttribute("aria-pressed", "false");
        b.addEventListener("click", function () {
          score = k;
          stars.querySelectorAll("button").forEach(function (x) {
            var on = Number(x.dataset.score) <= k;
            x.classList.toggle("on", on); x.setAttribute("aria-pressed", String(Number(x.dataset.score) === k));
          });
        });
        stars.appendChild(b);
      })(n);
      var area = el("textarea"); area.rows = 2; area.maxLength = 1000; area.placeholder = T.csat_comment;
      area.setAttribute("aria-label", T.csat_comment);
      var error = el("div", "error"); error.setAttribute("role", "alert");
      var submit = el("button", null, T.csat_send); submit.type = "submit";
      [stars, area, error, submit].forEach(function (x) { form.appendChild(x); });
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        if (!score) { error.textContent = T.csat_pick; return; }
        submit.disabled = true;
        fetch(base + "/api/csat", {
          method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ session_id: sessionId, score: score, comment: area.value.trim() || null }),
        }).then(function (r) {
          if (!r.ok) throw new Error();
          form.textContent = "";
          form.appendChild(el("p", null, say("csat_thanks", { score: score })));
        }).catch(function () { submit.disabled = false; error.textContent = T.csat_failed; });
      });
    }
    log.appendChild(li); scroll();
  }

  // Where the conversation stands with people: from the session frame at (re)connect, or a handoff frame.
  function people(state) {
    handoffState = state || "bot";
    if (handoffState !== "requested") remember(leftKey, null);
    if (handoffState === "requested") showWaiting();
    else { stopWaiting(); peopleCard([]); }
  }

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
        remember(storeKey, sessionId);
        setWaiting(f.handoff);
        people(f.handoff);
        var history = f.history || [];
        if (fresh || !log.children.length) {
          log.textContent = "";
          shownId = 0;
          history.forEach(function (m) {
            if (m.role === "user") addUser(m.text);
            else restore(m);
          });
          if (!log.children.length) greet();
          if (f.csat) showCsat(f.csat); else if (f.csat_due) showCsat(null);
        } else {
          // the same conversation after a dropped connection: what the bot or an agent said meanwhile
          history.forEach(function (m) { if (m.role !== "user" && m.id > shownId) restore(m); });
        }
        // what was sent on a dropped connection has no answer coming; what waited for this one does
        awaiting = awaiting.slice(Math.max(0, awaiting.length - pending.length));
        while (pending.length) ws.send(pending.shift());
      } else if (f.type === "typing") {
        typing.hidden = false;
      } else if (f.type === "reply") {
        typing.hidden = true; clearError(); awaiting.shift(); addBot(f.reply); arrived(f.reply.message_id);
      } else if (f.type === "agent_message") {
        typing.hidden = true; clearError(); addAgent(f.text, f.agent); arrived(f.message_id);
      } else if (f.type === "handoff") {
        setWaiting(f.state);
        people(f.state);
        setStatus(f.state === "agent" ? say("agent_joined", { agent: f.agent || "" }) :
          f.state === "requested" ? T.queued : f.state === "bot" ? T.back_to_bot : "");
      } else if (f.type === "resolved") {
        setWaiting("bot"); // a person closed the conversation: the bot speaks again
        people("bot");
        setStatus(T.back_to_bot);
        if (f.csat) { showCsat(null); arrived(0); }
      } else if (f.type === "error") {
        typing.hidden = true; setStatus(say("not_sent", { message: errorText(f.code) }), true);
        var refused = awaiting.shift();
        if (refused) { refused.classList.add("unsent"); refused.appendChild(el("div", "unsent-note", T.unsent)); }
      }
    };
    ws.onclose = function () {
      typing.hidden = true;
      // reconnect while someone could be answering: the panel is open, a person is involved, or a message waits
      if (panel.hidden && !isWaiting() && !pending.length) return;
      setStatus(T.reconnecting);
      var delay = Math.min(10000, 500 * Math.pow(2, retry++));
      setTimeout(connect, delay);
    };
  }

  function greet() {
    addBot({ kind: "smalltalk", text: look.greeting || (audience === "provider" ? T.greeting_provider : T.greeting_buyer) });
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    markSeen();
    connect();
    // (a touch screen would raise its keyboard over the conversation)
    if (!isTouch()) input.focus();
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
    post($(".human").textContent, { type: "handoff", context: context() });
  });
  $("form").addEventListener("submit", function (ev) { ev.preventDefault(); send(input.value); input.value = ""; input.focus(); });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(input.value); input.value = ""; }
  });
  panel.addEventListener("keydown", function (ev) { if (ev.key === "Escape") close(); });

  // A conversation waiting for a person (or with one) connects as the page loads, panel closed: what the agent
  // writes shows on the launcher's badge.
  if (sessionId && isWaiting()) connect();
})();
