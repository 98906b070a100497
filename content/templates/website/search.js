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
  var query = params.get("q");
  if (Object.keys(filters).length) {
    ui.triggerFilters(filters);
    if (!query) {
      listFiltered(new URL(area.dataset.bundle, document.baseURI).href, filters);
    }
  }
  if (query) {
    var box = document.getElementById("site-search-q");
    if (box) {
      box.value = query;
    }
    ui.triggerSearch(query);
  }

  // Pagefind's UI searches only for words; a column filter form sends filters alone, so those
  // are listed through Pagefind's own API.
  function listFiltered(bundle, filters) {
    var list = document.createElement("ol");
    list.className = "filtered";
    area.after(list);
    import(bundle + "pagefind.js").then(function (pagefind) {
      return pagefind.options({ bundlePath: bundle }).then(function () {
        return pagefind.search(null, { filters: filters });
      });
    }).then(function (search) {
      var note = document.createElement("p");
      note.textContent = "共找到 " + search.results.length + " 条信息";
      list.before(note);
      return Promise.all(search.results.slice(0, 100).map(function (r) { return r.data(); }));
    }).then(function (pages) {
      pages.forEach(function (page) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = page.url;
        link.textContent = page.meta.title;
        item.appendChild(link);
        list.appendChild(item);
      });
    });
  }
})();
