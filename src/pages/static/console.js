// anzu console: two small helps over forms that work without this script. Served from 'self' under a
// content-addressed name; it asks only this server, with the page's own CSRF token, and never writes anything:
// - the inspection form previews the score and stars as items are marked (the server's rating rules);
// - a declaration form checks each field as it is typed (the server's rules), its answer shown beside the field.
"use strict";

/** Posts a form's fields to `url`; the JSON answer, or null if there is none. */
async function ask(url, form) {
  try {
    const response = await fetch(url, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
    });
    const type = response.headers.get("content-type") || "";
    return response.ok && type.startsWith("application/json") ? await response.json() : null;
  } catch (_) {
    return null;
  }
}

/** Runs `work` once typing or marking has paused for `ms` milliseconds. */
function debounced(work, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(work, ms);
  };
}

function previewInspection(form) {
  const out = document.getElementById("preview");
  if (!out) return;
  let latest = 0;
  const update = debounced(async () => {
    // Answers may arrive out of order (the first request of a page is often the slowest): only the newest counts.
    const asked = ++latest;
    const answer = await ask(form.dataset.preview, form);
    if (asked !== latest || !answer || answer.score === undefined) return;
    out.hidden = false;
    out.querySelector("[data-score]").textContent = answer.score;
    out.querySelector("[data-stars]").textContent = answer.stars_text;
    out.querySelector("[data-marked]").textContent = answer.marked + " / " + answer.of;
    out.dataset.score = answer.score;
    out.dataset.stars = answer.stars;
  }, 150);
  form.addEventListener("change", update);
  update();
}

function checkDeclaration(form) {
  const touched = new Set();
  let latest = 0;
  const update = debounced(async () => {
    const asked = ++latest;
    const answer = await ask(form.dataset.check, form);
    if (asked !== latest || !answer || !answer.errors) return;
    for (const live of form.querySelectorAll("[data-live]")) {
      const field = live.dataset.live;
      live.textContent = touched.has(field) ? answer.errors[field] || "" : "";
      live.dataset.ok = touched.has(field) && !answer.errors[field] ? "yes" : "no";
    }
  }, 300);
  form.addEventListener("input", (event) => {
    if (event.target.name) touched.add(event.target.name);
    update();
  });
}

document.querySelectorAll("form[data-preview]").forEach(previewInspection);
document.querySelectorAll("form[data-check]").forEach(checkDeclaration);
