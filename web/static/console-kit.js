/* Shared by the console's pages (agent.js, knowledge.js): the second line of defence for server-made HTML.
 * The server already sanitised it (bot/render.py); this keeps only harmless elements and attributes again before
 * the HTML is inserted, as the widget does. */
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
  window.ConsoleKit = { safeFragment: safeFragment };
})();
