// The payment step (the seed's CheckoutManager, done right): ask the platform for the
// order's PaymentIntent with the order's access token, show the breakdown, mount the
// Payment Element with the intent's client secret, and confirm with Stripe.js.
(function () {
  "use strict";
  var root = document.getElementById("pay");
  if (!root) return;
  var d = root.dataset;
  var form = document.getElementById("payment-form");
  var button = document.getElementById("pay-button");
  var message = document.getElementById("payment-message");
  var loading = document.getElementById("pay-loading");
  var returnUrl = new URL(d.returnPath, window.location.href).href;

  var errorWords = {};
  try {
    errorWords = JSON.parse(d.errorWords || "{}");
  } catch (e) {
    errorWords = {};
  }

  // A Stripe.js error in words people understand (storeplex.words); Stripe's own text only
  // for a form field left wrong (its validation messages are written for people).
  function errorText(error) {
    var w = errorWords[error.decline_code] || errorWords[error.code];
    if (w) return w.sentence + " " + w.next_step;
    if (error.type === "validation_error" && error.message) return error.message;
    return "The payment did not go through; no money was taken. Try again, or use another card.";
  }

  function showError(text) {
    message.textContent = text;
    message.hidden = false;
    message.focus();
  }

  function fail(text) {
    loading.textContent = text;
    loading.setAttribute("role", "alert");
    loading.classList.add("alert");
  }

  function money(amount, currency) {
    return amount + " " + currency;
  }

  // Ask the platform for the order's PaymentIntent; `extra` saves the card or picks a
  // saved one (the shopper's account session, with its CSRF token, proves the card is theirs).
  async function createIntent(extra) {
    var headers = { "Content-Type": "application/json", "X-Order-Token": d.orderToken };
    if (d.csrf) headers["X-CSRF-Token"] = d.csrf;
    var response = await fetch("/api/v1/platform/stores/" + d.storeId + "/payments/create-intent", {
      method: "POST",
      headers: headers,
      body: JSON.stringify(Object.assign({ order_id: Number(d.orderId) }, extra || {})),
      credentials: "same-origin",
    });
    var body = {};
    try { body = await response.json(); } catch (e) { /* not JSON */ }
    return { ok: response.ok, body: body };
  }

  function chosenCard() {
    var checked = document.querySelector('input[name="card"]:checked');
    return checked && checked.value !== "new" ? Number(checked.value) : null;
  }

  function showChoice() {
    var saved = chosenCard() !== null;
    document.getElementById("payment-element").hidden = saved;
    var row = document.getElementById("save-card-row");
    if (row) row.hidden = saved;
  }

  async function start() {
    var result;
    try {
      result = await createIntent();
    } catch (e) {
      fail("We could not reach the shop. Check your connection and reload this page.");
      return;
    }
    var body = result.body;
    if (!result.ok) {
      fail(body.detail || "The payment could not be prepared. Please reload this page.");
      return;
    }
    if (body.status === "succeeded" || body.status === "processing") {
      window.location.assign(returnUrl);
      return;
    }
    document.getElementById("bd-total").textContent = money(body.amount_total, body.currency);
    document.getElementById("bd-store").textContent = money(body.amount_store, body.currency);
    document.getElementById("bd-fee").textContent = money(body.platform_fee, body.currency);
    document.getElementById("pay-amount").textContent = money(body.amount_total, body.currency);
    document.getElementById("breakdown").hidden = false;

    if (typeof window.Stripe !== "function") {
      fail("The payment form could not be loaded. Please reload this page.");
      return;
    }
    var stripe = window.Stripe(body.publishable_key || d.publishableKey);
    var elements = stripe.elements({ clientSecret: body.client_secret });
    var paymentElement = elements.create("payment");
    paymentElement.on("ready", function () {
      loading.hidden = true;
      button.disabled = false;
      root.dataset.ready = "1";
    });
    form.hidden = false;
    paymentElement.mount("#payment-element");
    document.querySelectorAll('input[name="card"]').forEach(function (radio) {
      radio.addEventListener("change", showChoice);
    });
    showChoice();

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (button.disabled) return;
      button.disabled = true;
      message.hidden = true;
      button.setAttribute("aria-busy", "true");
      var result;
      var card = chosenCard();
      var save = document.getElementById("save-card");
      if (card !== null || (save && save.checked)) {
        // Tell the platform first: it puts the customer (and the saved card) on the intent.
        var prepared = await createIntent(
          card !== null ? { payment_method_id: card } : { save_payment_method: true }
        );
        if (!prepared.ok) {
          button.disabled = false;
          button.removeAttribute("aria-busy");
          showError(prepared.body.detail || "The payment could not be prepared. Please try again.");
          return;
        }
        if (card !== null) {
          result = await stripe.confirmCardPayment(prepared.body.client_secret, {
            payment_method: prepared.body.payment_method,
            return_url: returnUrl,
          });
          if (result && !result.error) {
            // As Stripe's own redirect would: the return page then waits for the webhook.
            var intent = result.paymentIntent || {};
            var done = new URL(returnUrl);
            done.searchParams.set("payment_intent", intent.id || "");
            done.searchParams.set(
              "redirect_status", intent.status === "succeeded" ? "succeeded" : "processing"
            );
            window.location.assign(done.href);
            return;
          }
        }
      }
      if (!result) {
        result = await stripe.confirmPayment({
          elements: elements,
          confirmParams: { return_url: returnUrl, receipt_email: d.email },
        });
      }
      // Only reached when the payment did not go through (success navigates away).
      button.disabled = false;
      button.removeAttribute("aria-busy");
      if (result && result.error) {
        showError(errorText(result.error));
      }
    });
  }

  start();
})();
