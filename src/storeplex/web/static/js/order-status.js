// The order confirmation page while a payment is not final: poll the order's status,
// and after a few seconds without a webhook ask the platform to re-read the intent.
(function () {
  "use strict";
  var box = document.getElementById("confirming");
  if (!box) return;
  var d = box.dataset;
  var headers = { "X-Order-Token": d.orderToken };
  var started = Date.now();
  var lastConfirm = 0;
  // The order's own status may still show an earlier declined attempt, so only a paid
  // order ends the wait; a failure counts only when the re-read intent (confirm) says so.
  var PAID = ["paid", "partially_refunded", "refunded"];

  function done() {
    window.location.replace(d.cleanUrl);
  }

  async function poll() {
    var elapsed = Date.now() - started;
    try {
      var r = await fetch("/api/v1/storefront/" + d.slug + "/orders/" + d.orderId, {
        headers: headers, credentials: "same-origin",
      });
      if (r.ok) {
        var order = await r.json();
        if (PAID.indexOf(order.payment_status) >= 0 || order.status === "canceled") return done();
      }
      if (elapsed > 3000 && Date.now() - lastConfirm > 4000) {
        lastConfirm = Date.now();
        var c = await fetch("/api/v1/platform/stores/" + d.storeId + "/payments/confirm", {
          method: "POST",
          headers: Object.assign({ "Content-Type": "application/json" }, headers),
          body: JSON.stringify({ order_id: Number(d.orderId) }),
          credentials: "same-origin",
        });
        if (c.ok) {
          var status = await c.json();
          if (PAID.indexOf(status.payment_status) >= 0 || status.status === "failed") return done();
        }
      }
    } catch (e) { /* network blip: keep trying */ }
    if (elapsed > 60000) {
      document.getElementById("confirm-text").textContent = "Still waiting for your bank's answer.";
      document.getElementById("confirm-slow").hidden = false;
      return;
    }
    setTimeout(poll, 1000);
  }

  setTimeout(poll, 800);
})();
