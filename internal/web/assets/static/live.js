// Live updates: the server says "change" when its cache changes; the page fetches itself
// again from the same server and swaps its <main>. No reload, no request to the API server.
(function () {
  "use strict";
  var badge = document.getElementById("live");
  var scope = document.body.getAttribute("data-scope") || "";
  var pending = null;
  var updates = 0;

  function refresh() {
    pending = null;
    fetch(window.location.href, { headers: { Accept: "text/html" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("page");
        if (next) {
          document.getElementById("page").replaceWith(next);
          updates++;
          document.body.setAttribute("data-updates", String(updates));
        }
      })
      .catch(function () { /* the next change tries again */ });
  }

  if (!window.EventSource) { return; }
  var es = new EventSource("/events" + (scope ? "?namespace=" + encodeURIComponent(scope) : ""));
  es.addEventListener("open", function () { badge.className = "live on"; });
  es.addEventListener("error", function () { badge.className = "live off"; });
  es.addEventListener("change", function () {
    if (!pending) { pending = setTimeout(refresh, 250); }
  });
})();
