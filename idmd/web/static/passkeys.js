// hermit's one script: the passkey ceremonies (WebAuthn), nothing else. Every other control
// of every page is a plain form that works without it.
//
// A form with data-passkey="get" (sign in) or "create" (add a passkey) carries the server's
// options in data-passkey-options (the JSON that PublicKeyCredential.parse*OptionsFromJSON
// takes). On submit, or at once with data-passkey-autostart (the person pressed the button on
// the page before), this asks the browser for the passkey, puts credential.toJSON() into the
// form's "passkey" field and sends the form. A refusal is shown in the page's role="alert"
// element, which then gets focus. No fetch: the page's CSP allows no connections.
"use strict";

(function () {
  function showAlert(text) {
    const alert = document.getElementById("alert");
    if (!alert) {
      return;
    }
    alert.textContent = text;
    alert.hidden = false;
    alert.focus();
  }

  function explain(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey was not used: the request was cancelled, timed out, or this device has no passkey for hermit. Try again.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This authenticator holds a passkey for this account already.";
    }
    return "The passkey could not be used" + (error && error.message ? ": " + error.message : ".");
  }

  function supported() {
    return typeof window.PublicKeyCredential === "function" &&
      typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function" &&
      typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";
  }

  const running = new WeakSet();

  async function ceremony(form) {
    const options = JSON.parse(form.dataset.passkeyOptions).publicKey;
    let credential;
    if (form.dataset.passkey === "create") {
      credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
      });
    } else {
      credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
      });
    }
    form.elements.namedItem("passkey").value = JSON.stringify(credential.toJSON());
    form.submit();
  }

  function start(form) {
    if (running.has(form)) {
      return;
    }
    if (!supported()) {
      showAlert("This browser cannot use passkeys here.");
      return;
    }
    running.add(form);
    ceremony(form).catch(function (error) {
      running.delete(form);
      showAlert(explain(error));
    });
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.passkeyOptions) {
      return;
    }
    event.preventDefault();
    start(form);
  });

  function ready() {
    const alert = document.getElementById("alert");
    if (alert && !alert.hidden) {
      alert.focus();
    }
    const auto = document.querySelector("form[data-passkey-options][data-passkey-autostart]");
    if (auto && !(alert && !alert.hidden)) {
      start(auto);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
