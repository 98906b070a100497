// The static site's search page: Pagefind's UI over the index in pagefind/, started with the
// query and filters of the address (?q=…&column=…&topic=…&issuer=…&year=…).
(function () {
  "use strict";
  var area = document.getElementById("search");
  if (!area || typeof PagefindUI === "undefined") {
    return;
  }
  var ui = new PagefindUI({ element: "#search", bundlePath: area.dataset.bundle,
                            showSubResults: false, showImages: false, resetStyles: false });
  var params = new URLSearchParams(window.location.search);
  var names = { column: "栏目", topic: "主题分类", issuer: "发文机关", year: "年份" };
  var filters = {};
  Object.keys(names).forEach(function (key) {
    var value = params.get(key);
    if (value) {
      filters[names[key]] = value;
    }
  });
  if (Object.keys(filters).length) {
    ui.triggerFilters(filters);
  }
  var query = params.get("q");
  if (query) {
    var box = document.getElementById("site-search-q");
    if (box) {
      box.value = query;
    }
    ui.triggerSearch(query);
  }
})();
