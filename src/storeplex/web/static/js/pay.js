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

  async function start() {
    var response;
    try {
      response = await fetch("/api/v1/platform/stores/" + d.storeId + "/payments/create-intent", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Order-Token": d.orderToken },
        body: JSON.stringify({ order_id: Number(d.orderId) }),
        credentials: "same-origin",
      });
    } catch (e) {
      fail("We could not reach the shop. Check your connection and reload this page.");
      return;
    }
    var body = {};
    try { body = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) {
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

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (button.disabled) return;
      button.disabled = true;
      message.hidden = true;
      button.setAttribute("aria-busy", "true");
      var result = await stripe.confirmPayment({
        elements: elements,
        confirmParams: { return_url: returnUrl, receipt_email: d.email },
      });
      // Only reached when the payment did not go through (success navigates away).
      button.disabled = false;
      button.removeAttribute("aria-busy");
      if (result && result.error) {
        showError(result.error.message || "The payment did not go through. Please try again.");
      }
    });
  }

  start();
})();
