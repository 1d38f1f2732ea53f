// The archive's search page (templates/search.html): the query is ?q= (the header's GET form);
// the edition's index is one Pagefind bundle per year, the newest loaded first and the others
// merged into it (mergeIndex), so a publish rebuilds one year's bundle only (ADR 0026).
// Opened from disk, the browser refuses Pagefind's import() and fetch: say so, in the page's
// language, and leave the reader the year lists instead of failing silently.
const box = document.getElementById("search");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
const query = (new URLSearchParams(location.search).get("q") || "").trim();
const field = document.querySelector("header.site input[name=q]");
if (field) field.value = query;

function say(text) {
  status.textContent = text;
}

async function run() {
  if (location.protocol === "file:") {
    say(box.dataset.file);
    return;
  }
  say("");
  if (!query) return;
  // Relative to this page, as every link of the archive is (it works under any prefix).
  const bundles = JSON.parse(box.dataset.bundles).map((b) => new URL(b, location.href).href);
  if (!bundles.length) {
    say(box.dataset.none.replace("{query}", query));
    return;
  }
  // The bundles index edition-relative paths (articles/x/index.html): results are links from
  // the edition's root, this page's parent, wherever the site is served.
  const baseUrl = new URL("../", location.href).pathname;
  let pagefind;
  try {
    pagefind = await import(bundles[0] + "pagefind.js");
    await pagefind.options({ baseUrl });
    for (const other of bundles.slice(1)) await pagefind.mergeIndex(other, { baseUrl });
  } catch (error) {
    say(box.dataset.failed);
    return;
  }
  const found = await pagefind.search(query);
  const results = await Promise.all(found.results.slice(0, 50).map((r) => r.data()));
  say((results.length ? box.dataset.results : box.dataset.none).replace("{query}", query).replace("{n}", results.length));
  for (const result of results) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = new URL(result.url, location.href).href;
    link.textContent = result.meta.title || result.url;
    const excerpt = document.createElement("p");
    excerpt.innerHTML = result.excerpt; // Pagefind escapes the text; only its <mark> is markup
    item.append(link, excerpt);
    list.append(item);
  }
}

// data-done tells a test (and nothing else) that the page has said its last word.
run().finally(() => {
  status.dataset.done = "1";
});
