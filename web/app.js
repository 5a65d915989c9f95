/* clipsearch page: behaviour. Plain JavaScript, no libraries; it talks only
   to the JSON API documented in README.md (/api/search, /api/similar,
   /api/thumb, /api/photo, /api/stats, /api/reveal).

   State lives in the URL (?q=..., ?similar=ID, filters), so a search can be
   bookmarked, reloaded and shared, and the back button steps through
   searches: a burst of typing makes one history entry (pushed on its first
   search, replaced while the words change); Enter, leaving the box or any
   other kind of search starts the next. A search by an example photo cannot live in the URL (the
   photo is only in this tab's memory): it gets a history entry (?example=1)
   but is not restored after a reload. */
(function () {
  "use strict";

  var PAGE = 40;            // results per request (offset paging)
  var MAX_OFFSET = 10000;   // the API's largest offset
  var DEBOUNCE_MS = 220;    // search-as-you-type delay
  var LB_SIZE = 1024;       // lightbox image: the API's largest thumbnail
  var STATS_EVERY_MS = 10000;
  var FILTERS = ["in", "after", "before", "threshold"];

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    q: $("q"), search: $("search"), pick: $("pick"), file: $("file"),
    filtersToggle: $("filters-toggle"), filters: $("filters"), filterCount: $("filter-count"),
    library: $("library"), status: $("status-line"), grid: $("grid"), sentinel: $("sentinel"),
    empty: $("empty"), example: $("example"), exampleImg: $("example-img"),
    exampleLabel: $("example-label"), exampleClear: $("example-clear"), dropzone: $("dropzone"),
    lb: $("lightbox"), lbImg: $("lb-img"), lbPrev: $("lb-prev"), lbNext: $("lb-next"),
    lbTitle: $("lb-title"), lbClose: $("lb-close"), lbPath: $("lb-path"), lbTaken: $("lb-taken"),
    lbCamera: $("lb-camera"), lbCameraDt: $("lb-camera-dt"), lbSize: $("lb-size"),
    lbScore: $("lb-score"), lbSimilar: $("lb-similar"), lbCopy: $("lb-copy"),
    lbReveal: $("lb-reveal"), lbOriginal: $("lb-original"), lbNote: $("lb-note"), lbPos: $("lb-pos")
  };

  // The current search. mode: "none" | "text" | "similar" | "example".
  var S = {
    mode: "none", q: "", similar: null, similarName: "",
    filters: { in: "", after: "", before: "", threshold: "" },
    example: null, exampleUrl: null,
    results: [], seen: new Set(), done: true, loading: false,
    gen: 0, abort: null
  };
  var typingEntry = false;  // the current history entry belongs to a typing burst
  var debounceTimer = 0;
  var lbIndex = -1;
  var pendingStep = false;  // Right arrow at the last loaded result: step once more arrive
  var token = new URLSearchParams(location.search).get("token") || "";

  // ---- small helpers ------------------------------------------------------

  function basename(p) {
    var s = String(p || "");
    var i = Math.max(s.lastIndexOf("/"), s.lastIndexOf("\\"));
    return i >= 0 ? s.slice(i + 1) : s;
  }
  function dirname(p) {
    var s = String(p || "");
    var i = Math.max(s.lastIndexOf("/"), s.lastIndexOf("\\"));
    return i > 0 ? s.slice(0, i) : s;
  }
  function fmtScore(x) { return typeof x === "number" ? x.toFixed(3) : ""; }
  function fmtMs(x) {
    if (typeof x !== "number") return "";
    return x < 10 ? x.toFixed(1) + " ms" : Math.round(x) + " ms";
  }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  // Token mode (the server was started with --listen ADDR or
  // --require-token): the page is opened as /?token=..., and the server
  // answers that with a cookie (HttpOnly, SameSite=Strict) that carries the
  // token on every later request, thumbnails included.  The page drops the
  // token from the address bar at once, so it stays out of history,
  // bookmarks and screenshots, and also sends it in a header with its own
  // requests.
  function api(path, params) {
    var qs = new URLSearchParams(params || {}).toString();
    return path + (qs ? "?" + qs : "");
  }
  function apiFetch(url, opts) {
    opts = opts || {};
    opts.credentials = "same-origin";
    if (token) {
      opts.headers = opts.headers || {};
      opts.headers["X-Clipsearch-Token"] = token;
    }
    return fetch(url, opts);
  }
  function thumbUrl(id, size) { return api("/api/thumb", { id: id, size: size }); }
  // The thumbnail size for a grid cell: its long side as shown (rows are
  // --row high and grow by about a quarter to fill the width), in device
  // pixels, rounded up to one of three sizes so the server's cache is shared.
  function gridThumbSize(ar) {
    var row = parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--row")) || 180;
    var need = row * 1.25 * Math.max(ar || 1, 1) * (window.devicePixelRatio || 1);
    return need <= 256 ? 256 : need <= 512 ? 512 : 1024;
  }

  async function errorText(resp) {
    var msg = "";
    try { var j = await resp.json(); msg = j && j.error ? j.error : ""; } catch (e) { /* not JSON */ }
    if (resp.status === 401) {
      return "Access token needed: open the address the server printed (it ends in ?token=...).";
    }
    return msg || ("HTTP " + resp.status + " " + resp.statusText);
  }

  function setStatus(text, isError) {
    el.status.textContent = text;
    el.status.classList.toggle("error", !!isError);
  }

  // ---- URL <-> state ------------------------------------------------------

  function stateFromUrl() {
    var p = new URLSearchParams(location.search);
    FILTERS.forEach(function (k) { S.filters[k] = p.get(k) || ""; });
    S.q = "";
    S.similar = null;
    if (p.get("similar")) { S.mode = "similar"; S.similar = p.get("similar"); S.similarName = p.get("name") || ""; }
    else if (p.get("example")) { S.mode = "example"; }
    else if ((p.get("q") || "").trim()) { S.mode = "text"; S.q = p.get("q"); }
    else { S.mode = "none"; }
    if (S.mode !== "example") dropExample();
    el.q.value = S.q;
    FILTERS.forEach(function (k) { el.filters.elements[k].value = S.filters[k]; });
    showFilterCount();
  }

  function urlFromState() {
    var p = new URLSearchParams();
    if (S.mode === "text" && S.q.trim()) p.set("q", S.q);
    if (S.mode === "similar") { p.set("similar", S.similar); if (S.similarName) p.set("name", S.similarName); }
    if (S.mode === "example") p.set("example", "1");
    FILTERS.forEach(function (k) { if (S.filters[k]) p.set(k, S.filters[k]); });
    var qs = p.toString();
    return location.pathname + (qs ? "?" + qs : "");
  }

  // push: a new history entry; otherwise the current one is replaced.
  function writeUrl(push) {
    var url = urlFromState();
    if (url === location.pathname + location.search) return;
    if (push) history.pushState({ cs: 1 }, "", url);
    else history.replaceState({ cs: 1 }, "", url);
  }

  function updateTitle() {
    var t = "clipsearch";
    if (S.mode === "text") t = S.q + " - clipsearch";
    else if (S.mode === "similar") t = "Like " + (S.similarName || "#" + S.similar) + " - clipsearch";
    else if (S.mode === "example") t = "Like an example photo - clipsearch";
    document.title = t;
  }

  // ---- searching ----------------------------------------------------------

  function filterParams(p) {
    FILTERS.forEach(function (k) { if (S.filters[k]) p[k] = S.filters[k]; });
    return p;
  }

  function request(offset, signal) {
    var p = filterParams({ n: PAGE, offset: offset });
    if (S.mode === "text") {
      p.q = S.q;
      return apiFetch(api("/api/search", p), { signal: signal });
    }
    if (S.mode === "similar") {
      p.id = S.similar;
      return apiFetch(api("/api/similar", p), { signal: signal });
    }
    return apiFetch(api("/api/search", p), {
      method: "POST", body: S.example, signal: signal,
      headers: { "Content-Type": S.example.type || "application/octet-stream" }
    });
  }

  // A fresh search (append = false) or the next page of the current one.
  async function run(append) {
    updateTitle();
    showSearchBanner();
    if (!append) {
      S.gen++;
      if (S.abort) S.abort.abort();
      S.abort = null;
      S.loading = false;
    }
    var ready = S.mode === "text" ? S.q.trim() !== "" : S.mode === "similar" ? !!S.similar : !!S.example;
    if (!ready) {
      S.results = []; S.seen = new Set(); S.done = true;
      el.grid.replaceChildren();
      el.empty.hidden = false;
      setStatus(S.mode === "example" ? "The example photo is not kept across reloads: drop or paste it again." : "");
      return;
    }
    if (append && (S.loading || S.done)) return;
    var gen = S.gen;
    var ctl = new AbortController();
    S.abort = ctl;
    S.loading = true;
    var offset = append ? S.results.length : 0;
    if (!append) el.grid.setAttribute("aria-busy", "true");
    try {
      var resp = await request(offset, ctl.signal);
      if (gen !== S.gen) return;
      if (!resp.ok) { throw new Error(await errorText(resp)); }
      var j = await resp.json();
      if (gen !== S.gen) return;
      var got = Array.isArray(j.results) ? j.results : [];
      if (!append) {
        S.results = []; S.seen = new Set();
        el.grid.replaceChildren();
        window.scrollTo(0, 0);
      }
      var fresh = got.filter(function (r) { return !S.seen.has(r.id); });
      fresh.forEach(function (r) { S.seen.add(r.id); });
      var first = S.results.length;
      S.results = S.results.concat(fresh);
      // The server says whether there are more; without that, a short
      // page is the end.  A page with nothing new ends it in any case.
      S.done = (typeof j.has_more === "boolean" ? !j.has_more : got.length < PAGE) ||
        fresh.length === 0 || S.results.length > MAX_OFFSET;
      appendCells(fresh, first);
      el.empty.hidden = true;
      var n = S.results.length;
      var msg = n === 0 ? "No photos matched." :
        (S.done ? plural(n, "photo", "photos") : n + "+ photos") +
        (typeof j.total_ms === "number" ? " \u00b7 " + fmtMs(j.total_ms) + " on the server" : "");
      if (!append || S.done) setStatus(msg);
      if (el.lb.open && lbIndex >= 0) {
        if (pendingStep && lbIndex + 1 < S.results.length) showInLightbox(lbIndex + 1);
        else refreshLightboxNav();
      }
      pendingStep = false;
    } catch (e) {
      if (e.name === "AbortError" || gen !== S.gen) return;
      if (!append) { el.grid.replaceChildren(); S.results = []; S.seen = new Set(); }
      S.done = true;
      setStatus(e.message || String(e), true);
    } finally {
      if (gen === S.gen) {
        S.loading = false;
        S.abort = null;
        el.grid.removeAttribute("aria-busy");
        if (!S.done) maybeLoadMore();
      }
    }
  }

  function startSearch(push) {
    writeUrl(push);
    run(false);
  }

  // ---- the grid -------------------------------------------------------------

  function aspect(r) {
    var w = Number(r.width), h = Number(r.height);
    if (!(w > 0 && h > 0)) return 1;
    return Math.min(3, Math.max(0.4, w / h));
  }

  function appendCells(list, first) {
    var frag = document.createDocumentFragment();
    list.forEach(function (r, k) {
      var i = first + k;
      var li = document.createElement("li");
      li.className = "cell";
      li.style.setProperty("--ar", aspect(r).toFixed(4));
      var a = document.createElement("a");
      a.href = api("/api/photo", { id: r.id });
      a.dataset.index = String(i);
      a.dataset.id = String(r.id);
      if (typeof r.score === "number") a.dataset.score = String(r.score);
      var name = basename(r.path);
      a.title = name + " \u00b7 score " + fmtScore(r.score);
      var img = document.createElement("img");
      img.alt = name + (r.taken ? ", taken " + r.taken : "");
      if (r.width > 0 && r.height > 0) { img.width = r.width; img.height = r.height; }
      img.decoding = "async";
      img.loading = i < 24 ? "eager" : "lazy";
      img.addEventListener("load", function () { img.classList.add("loaded"); });
      img.addEventListener("error", function () {
        var b = document.createElement("span");
        b.className = "broken";
        b.textContent = name;
        a.appendChild(b);
      });
      img.src = thumbUrl(r.id, gridThumbSize(aspect(r)));
      var sc = document.createElement("span");
      sc.className = "score";
      sc.textContent = fmtScore(r.score);
      a.appendChild(img);
      a.appendChild(sc);
      li.appendChild(a);
      frag.appendChild(li);
    });
    el.grid.appendChild(frag);
  }

  function cellLink(i) { return el.grid.querySelector('a[data-index="' + i + '"]'); }

  function maybeLoadMore() {
    if (S.loading || S.done) return;
    var r = el.sentinel.getBoundingClientRect();
    if (r.top < window.innerHeight + 800) run(true);
  }

  new IntersectionObserver(function (entries) {
    if (entries.some(function (e) { return e.isIntersecting; })) maybeLoadMore();
  }, { rootMargin: "800px 0px" }).observe(el.sentinel);

  // Arrow keys between results: left/right in reading order, up/down to the
  // nearest cell in the row above or below (rows are justified, so columns
  // do not line up).
  function moveFocus(from, key) {
    var i = Number(from.dataset.index);
    var target = null;
    if (key === "ArrowLeft") target = cellLink(i - 1);
    else if (key === "ArrowRight") target = cellLink(i + 1);
    else if (key === "Home") target = cellLink(0);
    else if (key === "End") target = cellLink(S.results.length - 1);
    else {
      var r0 = from.getBoundingClientRect();
      var cx = r0.left + r0.width / 2;
      var links = el.grid.querySelectorAll("a[data-index]");
      var best = null, bestRowGap = Infinity, bestDx = Infinity;
      for (var k = 0; k < links.length; k++) {
        var r = links[k].getBoundingClientRect();
        var gap = key === "ArrowDown" ? r.top - r0.bottom : r0.top - r.bottom;
        if (gap < -1) continue;
        var dx = Math.abs(r.left + r.width / 2 - cx);
        if (gap < bestRowGap - 2 || (Math.abs(gap - bestRowGap) <= 2 && dx < bestDx)) {
          best = links[k]; bestRowGap = gap; bestDx = dx;
        }
      }
      target = best;
      if (!target && key === "ArrowUp") { el.q.focus(); return; }
    }
    if (target) {
      target.focus();
      target.scrollIntoView({ block: "nearest" });
      maybeLoadMore();
    }
  }

  el.grid.addEventListener("keydown", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[data-index]");
    if (!a) return;
    if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"].indexOf(ev.key) >= 0) {
      ev.preventDefault();
      moveFocus(a, ev.key);
    }
  });

  el.grid.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[data-index]");
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    openLightbox(Number(a.dataset.index));
  });

  // ---- the search box and filters ----------------------------------------

  el.q.addEventListener("input", function () {
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(function () {
      var q = el.q.value;
      if (S.mode === "text" && q === S.q) return;
      S.mode = q.trim() ? "text" : "none";
      S.q = q;
      dropExample();
      startSearch(!typingEntry);
      typingEntry = true;
    }, DEBOUNCE_MS);
  });

  // Leaving the box (to look at the results) also ends the burst.
  el.q.addEventListener("blur", function () { typingEntry = false; });

  el.q.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowDown" && S.results.length) {
      ev.preventDefault();
      var a = cellLink(0);
      if (a) a.focus();
    }
  });

  el.search.addEventListener("submit", function (ev) {
    ev.preventDefault();
    clearTimeout(debounceTimer);
    var q = el.q.value;
    var changed = !(S.mode === "text" && q === S.q);
    S.mode = q.trim() ? "text" : "none";
    S.q = q;
    dropExample();
    if (changed) startSearch(!typingEntry);
    typingEntry = false;   // Enter ends the burst: the next words get their own entry
  });

  el.filtersToggle.addEventListener("click", function () {
    var show = el.filters.hidden;
    el.filters.hidden = !show;
    el.filtersToggle.setAttribute("aria-expanded", String(show));
    if (show) el.filters.elements["in"].focus();
  });

  function showFilterCount() {
    var n = FILTERS.filter(function (k) { return S.filters[k]; }).length;
    el.filterCount.hidden = n === 0;
    el.filterCount.textContent = String(n);
    if (n && el.filters.hidden) {
      el.filters.hidden = false;
      el.filtersToggle.setAttribute("aria-expanded", "true");
    }
  }

  function readFilters() {
    var changed = false;
    FILTERS.forEach(function (k) {
      var input = el.filters.elements[k];
      var v = input.checkValidity() ? input.value.trim() : S.filters[k];
      if (v !== S.filters[k]) { S.filters[k] = v; changed = true; }
    });
    return changed;
  }

  var filterTimer = 0;
  el.filters.addEventListener("input", function () {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(function () {
      if (!readFilters()) return;
      showFilterCount();
      startSearch(!typingEntry);
      typingEntry = true;
    }, DEBOUNCE_MS * 2);
  });
  el.filters.addEventListener("reset", function () {
    setTimeout(function () {
      if (!readFilters()) return;
      showFilterCount();
      typingEntry = false;
      startSearch(true);
    }, 0);
  });
  el.filters.addEventListener("submit", function (ev) { ev.preventDefault(); typingEntry = false; });

  // ---- search by example: a photo dropped, pasted or picked ---------------

  function dropExample() {
    if (S.exampleUrl) URL.revokeObjectURL(S.exampleUrl);
    S.example = null;
    S.exampleUrl = null;
  }

  function searchByFile(file) {
    if (!file) return;
    if (file.size > 32 * 1024 * 1024) { setStatus("That photo is larger than 32 MB, the most the server takes.", true); return; }
    dropExample();
    S.example = file;
    S.exampleUrl = URL.createObjectURL(file);
    S.mode = "example";
    S.q = "";
    el.q.value = "";
    typingEntry = false;
    if (el.lb.open) el.lb.close();
    startSearch(true);
  }

  function showSearchBanner() {
    if (S.mode === "example" && S.example) {
      el.exampleImg.src = S.exampleUrl;
      el.exampleImg.alt = "The example photo" + (S.example.name ? " " + S.example.name : "");
      el.exampleLabel.textContent = "Photos like " + (S.example.name || "the pasted photo");
      el.example.hidden = false;
    } else if (S.mode === "similar" && S.similar) {
      el.exampleImg.src = thumbUrl(S.similar, 256);
      el.exampleImg.alt = "The library photo being searched by";
      el.exampleLabel.textContent = "Photos like " + (S.similarName || "photo #" + S.similar);
      el.example.hidden = false;
    } else {
      el.example.hidden = true;
      el.exampleImg.removeAttribute("src");
    }
  }

  el.exampleClear.addEventListener("click", function () {
    dropExample();
    S.mode = "none";
    S.similar = null;
    typingEntry = false;
    startSearch(true);
    el.q.focus();
  });

  el.pick.addEventListener("click", function () { el.file.click(); });
  el.file.addEventListener("change", function () {
    if (el.file.files && el.file.files[0]) searchByFile(el.file.files[0]);
    el.file.value = "";
  });

  function hasFiles(ev) {
    var t = ev.dataTransfer && ev.dataTransfer.types;
    return !!t && Array.prototype.indexOf.call(t, "Files") >= 0;
  }
  var dragDepth = 0;
  window.addEventListener("dragenter", function (ev) {
    if (!hasFiles(ev)) return;
    dragDepth++;
    el.dropzone.hidden = false;
  });
  window.addEventListener("dragleave", function (ev) {
    if (!hasFiles(ev)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) el.dropzone.hidden = true;
  });
  window.addEventListener("dragover", function (ev) {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "copy";
  });
  window.addEventListener("drop", function (ev) {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    dragDepth = 0;
    el.dropzone.hidden = true;
    var f = ev.dataTransfer.files && ev.dataTransfer.files[0];
    if (f) searchByFile(f);
  });
  document.addEventListener("paste", function (ev) {
    var items = (ev.clipboardData && ev.clipboardData.items) || [];
    for (var k = 0; k < items.length; k++) {
      if (items[k].kind === "file" && /^image\//.test(items[k].type)) {
        ev.preventDefault();
        searchByFile(items[k].getAsFile());
        return;
      }
    }
  });

  // ---- the lightbox -------------------------------------------------------

  function openLightbox(i) {
    if (!el.lb.open) {
      el.lb.showModal();
      // The dialog itself takes focus (not its first button), so arrows and
      // Esc work at once and no focus ring appears on a mouse click.
      el.lb.focus();
    }
    showInLightbox(i);
  }

  function showInLightbox(i) {
    var r = S.results[i];
    if (!r) return;
    lbIndex = i;
    var name = basename(r.path);
    el.lbTitle.textContent = name;
    el.lbPath.textContent = r.path || "";
    el.lbTaken.textContent = r.taken || "unknown";
    var camera = r.camera || [r.make, r.model].filter(Boolean).join(" ");
    el.lbCamera.textContent = camera || "unknown";
    el.lbSize.textContent = r.width > 0 && r.height > 0 ? r.width + " \u00d7 " + r.height + " pixels" : "unknown";
    el.lbScore.textContent = fmtScore(r.score);
    el.lbOriginal.href = api("/api/photo", { id: r.id });
    el.lbNote.textContent = "";
    el.lbImg.alt = name + (r.taken ? ", taken " + r.taken : "");
    // The grid's thumbnail (already loaded) at once, the large one when here.
    var cell = cellLink(i), small = cell && cell.querySelector("img");
    el.lbImg.src = small && small.complete && small.naturalWidth ? small.src : thumbUrl(r.id, 256);
    var big = new Image();
    big.onload = function () { if (lbIndex === i) el.lbImg.src = big.src; };
    big.src = thumbUrl(r.id, LB_SIZE);
    [i - 1, i + 1].forEach(function (j) {
      if (S.results[j]) { var pre = new Image(); pre.src = thumbUrl(S.results[j].id, LB_SIZE); }
    });
    refreshLightboxNav();
    if (i >= S.results.length - 3) run(true);
  }

  function refreshLightboxNav() {
    el.lbPrev.disabled = lbIndex <= 0;
    el.lbNext.disabled = lbIndex >= S.results.length - 1 && S.done;
    el.lbPos.textContent = (lbIndex + 1) + " of " + S.results.length + (S.done ? "" : "+");
  }

  function step(d) {
    var j = lbIndex + d;
    if (j < 0) return;
    if (j >= S.results.length) {
      if (!S.done) { pendingStep = true; run(true); }
      return;
    }
    showInLightbox(j);
  }

  el.lbPrev.addEventListener("click", function () { step(-1); });
  el.lbNext.addEventListener("click", function () { step(1); });
  el.lbClose.addEventListener("click", function () { el.lb.close(); });
  document.addEventListener("keydown", function (ev) {
    if (!el.lb.open || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === "ArrowLeft") { ev.preventDefault(); step(-1); }
    else if (ev.key === "ArrowRight") { ev.preventDefault(); step(1); }
  });
  el.lb.addEventListener("click", function (ev) {
    // A click on the dark stage around the photo closes, as in photo apps.
    if (ev.target === el.lb.querySelector(".lb-stage")) el.lb.close();
  });
  el.lb.addEventListener("close", function () {
    var a = cellLink(lbIndex);
    el.lbImg.removeAttribute("src");
    if (a) { a.focus({ preventScroll: true }); a.scrollIntoView({ block: "nearest" }); }
  });

  el.lbSimilar.addEventListener("click", function () {
    var r = S.results[lbIndex];
    if (!r) return;
    el.lb.close();
    dropExample();
    S.mode = "similar";
    S.similar = String(r.id);
    S.similarName = basename(r.path);
    S.q = "";
    el.q.value = "";
    typingEntry = false;
    startSearch(true);
  });

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* fall back */ }
    }
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    el.lb.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    ta.remove();
    return ok;
  }

  el.lbCopy.addEventListener("click", async function () {
    var r = S.results[lbIndex];
    if (!r) return;
    var ok = await copyText(r.path);
    el.lbNote.textContent = ok ? "Path copied." : "Could not copy; select the path above.";
  });

  el.lbReveal.addEventListener("click", async function () {
    var r = S.results[lbIndex];
    if (!r) return;
    el.lbNote.textContent = "Opening " + dirname(r.path) + "\u2026";
    try {
      var resp = await apiFetch(api("/api/reveal", { id: r.id }), { method: "POST" });
      if (resp.ok) {
        var j = await resp.json().catch(function () { return {}; });
        el.lbNote.textContent = "Opened " + (j.folder || dirname(r.path)) + " in the file manager.";
      } else {
        el.lbNote.textContent = await errorText(resp);
      }
    } catch (e) {
      el.lbNote.textContent = "Could not reach the server.";
    }
  });

  // ---- keyboard shortcuts and history ------------------------------------

  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey || el.lb.open) return;
    var t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    ev.preventDefault();
    el.q.focus();
    el.q.select();
  });

  window.addEventListener("popstate", function () {
    clearTimeout(debounceTimer);
    typingEntry = false;
    if (el.lb.open) el.lb.close();
    var keep = S.mode === "example" ? S.example : null;
    var keepUrl = S.exampleUrl;
    stateFromUrl();
    if (S.mode === "example" && keep) { S.example = keep; S.exampleUrl = keepUrl; }
    run(false);
  });

  // ---- library status -----------------------------------------------------

  async function refreshStats() {
    try {
      var resp = await apiFetch(api("/api/stats"));
      if (!resp.ok) {
        el.library.textContent = resp.status === 401 ? "access token needed" : "";
        return;
      }
      var j = await resp.json();
      var parts = [];
      var photos = firstNumber(j, ["photos", "n_photos", "photo_count", "count"]);
      if (photos !== null) parts.push(photos.toLocaleString() + (photos === 1 ? " photo" : " photos"));
      var model = modelName(j);
      // An indexing run changed the library: offer the new results (not
      // forced on the reader, whose place in the grid would be lost).
      if (typeof j.generation === "number") {
        if (libGeneration !== null && j.generation !== libGeneration && S.mode !== "none") showUpdate();
        libGeneration = j.generation;
      }
      el.library.replaceChildren();
      el.library.appendChild(document.createTextNode(parts.join(" \u00b7 ")));
      if (j.indexing) {
        var s = document.createElement("span");
        s.className = "indexing";
        s.textContent = (parts.length ? " \u00b7 " : "") + "indexing\u2026";
        el.library.appendChild(s);
      }
      if (model) el.library.appendChild(document.createTextNode(" \u00b7 " + model));
      el.library.title = model ? "Model: " + model : "";
    } catch (e) {
      el.library.textContent = "server not reachable";
    }
  }

  var libGeneration = null;
  function showUpdate() {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "text-button update";
    b.textContent = "The library changed: show new results";
    b.addEventListener("click", function () { run(false); });
    setStatus("");
    el.status.appendChild(b);
  }

  function firstNumber(j, keys) {
    for (var k = 0; k < keys.length; k++) if (typeof j[keys[k]] === "number") return j[keys[k]];
    return null;
  }
  function modelName(j) {
    var m = j.model;
    if (typeof m === "string") return basename(m.replace(/\/+$/, ""));
    if (m && typeof m === "object") return m.name || m.repo || m.id || "";
    if (Array.isArray(j.models) && j.models.length) {
      var x = j.models[0];
      return typeof x === "string" ? x : (x.name || x.repo || x.id || "");
    }
    return "";
  }

  // ---- start ----------------------------------------------------------------

  stateFromUrl();
  // The current entry, without the token (see apiFetch).
  history.replaceState({ cs: 1 }, "", urlFromState());
  run(false);
  refreshStats();
  setInterval(function () { if (!document.hidden) refreshStats(); }, STATS_EVERY_MS);
  if (S.mode === "none") el.q.focus();
})();
