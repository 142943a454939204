// The search box: show only the entries whose names contain what was typed. A route stays
// visible while one of its messages or events matches. The page reads fine without this.
(function () {
  const box = document.getElementById("search");
  const none = document.getElementById("no-match");
  const entries = Array.from(document.querySelectorAll(".entry"));
  function filter() {
    const query = box.value.trim().toLowerCase();
    let shown = 0;
    for (const entry of entries) {
      if (entry.classList.contains("container")) continue;
      const match = !query || entry.dataset.search.includes(query);
      entry.hidden = !match;
      if (match) shown += 1;
    }
    for (const container of document.querySelectorAll(".entry.container")) {
      const own = !query || container.dataset.search.includes(query);
      const inner = container.querySelector(".entry:not([hidden])") !== null;
      container.hidden = !(own || inner);
      if (own) {
        for (const entry of container.querySelectorAll(".entry")) entry.hidden = false;
      }
      if (!container.hidden) shown += 1;
    }
    none.hidden = shown > 0;
  }
  box.addEventListener("input", filter);
})();
