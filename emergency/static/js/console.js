/* Console-wide behaviour: confirm dangerous buttons, and a CSRF-aware fetch helper. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* POST to the console with the CSRF header; resolves to {ok, status, data}. */
  function postJSON(url, body) {
    var headers = { "X-CSRFToken": csrfToken(), "Accept": "application/json" };
    if (!(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body || {});
    }
    return fetch(url, { method: "POST", headers: headers, body: body, credentials: "same-origin" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { ok: response.ok, status: response.status, data: data };
        });
      });
  }

  function pageData() {
    var el = document.getElementById("page-data");
    return el ? JSON.parse(el.textContent) : {};
  }

  /* "{name}" placeholders left by the server-side translation, filled in here. */
  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : m;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  /* The singular or plural of a label ({one: ..., other: ...}) for `n` in the page's language
     (French: 0 and 1 are singular). */
  function plural(forms, n) {
    if (!forms || typeof forms === "string") { return forms || ""; }
    var rule = "other";
    try { rule = new Intl.PluralRules(document.documentElement.lang || "en").select(n); } catch (e) { /* empty */ }
    return forms[rule] || forms.other || "";
  }

  window.Console = { csrfToken: csrfToken, postJSON: postJSON, pageData: pageData, fill: fill, plural: plural };
})();
