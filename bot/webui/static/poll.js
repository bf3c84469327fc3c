// Live figures on a page: an element with data-poll="<url>" is refreshed every few seconds
// from that JSON ({"text", "done", "total", "over"}); when "over", the page is loaded again
// to show the final report. Without JavaScript the page offers a reload link instead.
(function () {
  "use strict";
  var box = document.querySelector("[data-poll]");
  if (!box) { return; }
  var url = box.getAttribute("data-poll");
  var text = box.querySelector("[data-field=text]");
  var bar = box.querySelector("progress");
  function show(data) {
    if (text && data.text) { text.textContent = data.text; }
    if (bar && data.total) { bar.max = data.total; bar.value = data.done; }
    if (data.over) { window.location.reload(); return; }
    window.setTimeout(poll, 2000);
  }
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer.status); })
      .then(show)
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
