// tunelab console: the create wizard keeps its draft across reload, Back and Forward.
// The wizard's whole state is its form (the server renders it from the posted fields), so
// the form's fields are kept in sessionStorage (one draft per wizard URL) after every
// change, and each step gets a history entry: Back and Forward move between the steps,
// and a reload or a return to the wizard renders the kept draft at the step it was on.
(function () {
  "use strict";
  var PREFIX = "tunelab-wizard-draft:";
  var replaceNext = false;

  function wizardForm() { return document.getElementById("wizard-form"); }
  function createUrl() { return wizardForm().getAttribute("action"); }
  function draftKey() { return PREFIX + location.pathname + location.search; }
  function stepOf(form) {
    var field = form.querySelector('input[name="step"]');
    return field ? Number(field.value) || 1 : 1;
  }
  function fieldsOf(form) {
    var values = {};
    new FormData(form).forEach(function (value, key) { if (typeof value === "string") { values[key] = value; } });
    return values;
  }
  function loadDraft() {
    try { return JSON.parse(sessionStorage.getItem(draftKey()) || "null"); } catch (e) { return null; }
  }
  function saveDraft() {
    var form = wizardForm();
    if (!form) { return; }
    try { sessionStorage.setItem(draftKey(), JSON.stringify(fieldsOf(form))); } catch (e) { /* storage full or off */ }
  }
  function dropDraft() {
    try { sessionStorage.removeItem(draftKey()); } catch (e) { /* storage off */ }
  }

  // the wizard rendered from `values` at `step` (the server renders every step the same way)
  function render(values, step) {
    replaceNext = true;
    var posted = Object.assign({}, values, { action: "step:" + step });
    return window.htmx.ajax("POST", createUrl(), { target: "#wizard", swap: "outerHTML", values: posted });
  }

  // one history entry per step: a new step pushes one, a re-render of the same step does not
  function syncHistory() {
    var form = wizardForm();
    if (!form) { return; }
    var step = stepOf(form);
    var known = history.state && history.state.wizardStep;
    if (known === step) { replaceNext = false; return; }
    if (replaceNext || !known) { history.replaceState({ wizardStep: step }, ""); }
    else { history.pushState({ wizardStep: step }, ""); }
    replaceNext = false;
  }

  function restored() {
    if (document.getElementById("draft-restored")) { return; }
    var note = document.createElement("p");
    note.id = "draft-restored";
    note.className = "notice";
    note.setAttribute("role", "status");
    note.textContent = "Restored the draft you were editing. ";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary small";
    button.textContent = "Start over";
    button.addEventListener("click", function () {
      dropDraft();
      history.replaceState(null, "");
      location.reload();
    });
    note.appendChild(button);
    var wizard = document.getElementById("wizard");
    wizard.parentNode.insertBefore(note, wizard);
  }

  document.addEventListener("input", function (event) { if (event.target.form === wizardForm()) { saveDraft(); } });
  document.addEventListener("change", function (event) { if (event.target.form === wizardForm()) { saveDraft(); } });
  document.addEventListener("htmx:afterSettle", function () { syncHistory(); saveDraft(); });
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail.xhr;
    if (wizardForm() && xhr && xhr.getResponseHeader("HX-Redirect")) { dropDraft(); }  // created
  });
  window.addEventListener("popstate", function (event) {
    var form = wizardForm();
    if (!form || !event.state || !event.state.wizardStep) { return; }
    if (event.state.wizardStep !== stepOf(form)) { render(fieldsOf(form), event.state.wizardStep); }
  });

  function start() {
    var form = wizardForm();
    if (!form) { return; }
    var step = (history.state && history.state.wizardStep) || stepOf(form);
    var uploadFailed = document.querySelector("details.upload[open]");
    if (location.pathname !== createUrl()) {  // after an upload: a reload must not post the file again
      history.replaceState({ wizardStep: stepOf(form) }, "", createUrl());
      if (!uploadFailed) { saveDraft(); return; }
    }
    var draft = loadDraft();
    if (draft) {
      render(draft, step).then(restored);
    } else {
      history.replaceState({ wizardStep: stepOf(form) }, "");
    }
  }
  if (document.readyState === "complete") { start(); } else { document.addEventListener("DOMContentLoaded", start); }
})();
