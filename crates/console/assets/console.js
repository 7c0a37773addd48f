// recpipe console: the only script. It refreshes a running training job's live section (status,
// timeline, curve, log) from the server, and lets Ctrl+Enter run the worksheet. Pages work without it.
"use strict";
(function () {
  function poll(section) {
    var url = section.getAttribute("data-live");
    var timer = setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (v) {
          if (!v) { return; }
          section.innerHTML = v.html;
          var log = document.getElementById("log");
          if (log) { log.scrollTop = log.scrollHeight; }
          if (v.terminal) { clearInterval(timer); window.location.reload(); }
        })
        .catch(function () {});
    }, 1500);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live && live.getAttribute("data-terminal") === "false") { poll(live); }
    var log = document.getElementById("log");
    if (log) { log.scrollTop = log.scrollHeight; }
    var sql = document.getElementById("sql");
    if (sql) {
      sql.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); sql.form.submit(); }
      });
    }
  });
})();
