/* 发布计划: the arrow keys move the calendar to the previous or next month (or week), unless a
   field has the focus. Everything also works without this script (the links are plain links). */
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(target.tagName))) { return; }
    var rel = event.key === "ArrowLeft" ? "prev" : (event.key === "ArrowRight" ? "next" : "");
    if (!rel) { return; }
    var link = document.querySelector(".plan-nav a[rel=" + rel + "]");
    if (link) { event.preventDefault(); window.location.assign(link.href); }
  });
})();
