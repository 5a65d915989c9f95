// duplicates.js — the duplicates view: GET /api/duplicates, one box per
// group with thumbnails, best first.  Read-only: it never deletes.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  // With --require-token the server's cookie carries the token; a token in
  // the address bar (opened as /duplicates.html?token=...) is sent too.
  var token = new URLSearchParams(location.search).get("token") || "";
  function apiFetch(url) {
    var opts = { credentials: "same-origin" };
    if (token) opts.headers = { "X-Clipsearch-Token": token };
    return fetch(url, opts);
  }
  function size(b) {
    var u = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (b >= 1000 && i < 4) { b /= 1000; i++; }
    return (i ? b.toFixed(1) : b) + " " + u[i];
  }
  function text(tag, cls, s) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    e.textContent = s;
    return e;
  }
  async function load() {
    var p = new URLSearchParams();
    if ($("exact").checked) p.set("exact", "1");
    else p.set("threshold", $("threshold").value || "0.95");
    $("status-line").textContent = "Comparing photos…";
    $("groups").replaceChildren();
    var resp = await apiFetch("/api/duplicates?" + p.toString());
    if (!resp.ok) {
      $("status-line").textContent = "Error: " + (await resp.text());
      return;
    }
    var d = await resp.json();
    $("status-line").textContent = d.total_groups + " groups among " + d.photos_compared +
      " photos" + (d.groups.length < d.total_groups ? " (the first " + d.groups.length + " shown)" : "");
    d.groups.forEach(function (g, i) {
      var box = document.createElement("section");
      box.className = "dup-group";
      box.appendChild(text("h2", "", "Group " + (i + 1) + ": " + g.photos.length + " photos, " + size(g.bytes)));
      var ul = document.createElement("ul");
      ul.className = "dup-photos";
      g.photos.forEach(function (ph, k) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = "/api/photo?id=" + ph.id;
        a.target = "_blank";
        var img = document.createElement("img");
        img.loading = "lazy";
        img.alt = ph.path;
        img.src = "/api/thumb?id=" + ph.id + "&size=256";
        a.appendChild(img);
        li.appendChild(a);
        li.appendChild(text("div", k === 0 ? "dup-best" : "",
          k === 0 ? "best" : ph.identical ? "identical" : "similar " + ph.similarity.toFixed(3)));
        li.appendChild(text("div", "", ph.width + "×" + ph.height + ", " + size(ph.size) +
          (ph.taken ? ", " + ph.taken : "")));
        li.appendChild(text("div", "", ph.path));
        ul.appendChild(li);
      });
      box.appendChild(ul);
      $("groups").appendChild(box);
    });
  }
  $("dup-form").addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
  load();
})();
