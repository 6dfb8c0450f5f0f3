/*
 * Stripe.js stand-in served by the Stripe emulator at /js/v3/.
 *
 * Implements the parts of Stripe.js that Storeplex pages use:
 *   Stripe(pk, {stripeAccount}), stripe.elements({clientSecret, appearance}),
 *   elements.create('payment') -> mount/unmount/on/off/focus/clear/destroy,
 *   elements.submit(), stripe.confirmPayment(), stripe.confirmSetup(),
 *   stripe.confirmCardPayment(), stripe.retrievePaymentIntent(),
 *   stripe.retrieveSetupIntent(), stripe.handleNextAction() / handleCardAction().
 *
 * Requests go to the emulator's origin, taken from this script's own src.
 * 3-D Secure challenges open as a modal dialog holding the hosted challenge page
 * in an iframe; the page reports its result with postMessage.
 */
(function () {
  "use strict";

  var script =
    document.currentScript ||
    (function () {
      var all = document.getElementsByTagName("script");
      for (var i = all.length - 1; i >= 0; i--) {
        if (/\/(js\/)?v3\/?(\?|$)/.test(all[i].src)) return all[i];
      }
      return null;
    })();
  var ORIGIN = script ? new URL(script.src, window.location.href).origin : window.location.origin;
  var uid = 0;

  // ------------------------------------------------------------------ HTTP

  function encode(params, prefix, out) {
    out = out || [];
    Object.keys(params || {}).forEach(function (key) {
      var value = params[key];
      var name = prefix ? prefix + "[" + key + "]" : key;
      if (value === undefined || value === null) return;
      if (Array.isArray(value)) {
        value.forEach(function (item, i) {
          if (item !== null && typeof item === "object") encode(item, name + "[" + i + "]", out);
          else out.push(encodeURIComponent(name + "[" + i + "]") + "=" + encodeURIComponent(String(item)));
        });
      } else if (typeof value === "object") {
        encode(value, name, out);
      } else {
        out.push(encodeURIComponent(name) + "=" + encodeURIComponent(String(value)));
      }
    });
    return out.join("&");
  }

  function request(client, method, path, params) {
    var headers = { Authorization: "Bearer " + client.key };
    if (client.account) headers["Stripe-Account"] = client.account;
    var body = encode(params);
    var url = ORIGIN + path;
    var init = { method: method, headers: headers };
    if (method === "GET") {
      if (body) url += "?" + body;
    } else {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      init.body = body;
    }
    return fetch(url, init).then(
      function (response) {
        return response.json().then(function (json) {
          return { status: response.status, body: json };
        });
      },
      function () {
        return {
          status: 0,
          body: { error: { type: "api_connection_error", message: "Could not reach the payment server." } },
        };
      }
    );
  }

  function intentId(clientSecret) {
    return String(clientSecret || "").split("_secret_")[0];
  }

  // ------------------------------------------------------------------ validation

  function digits(value) {
    return String(value || "").replace(/\D/g, "");
  }

  function luhn(number) {
    var sum = 0;
    for (var i = 0; i < number.length; i++) {
      var d = parseInt(number.charAt(number.length - 1 - i), 10);
      if (i % 2 === 1) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
    }
    return number.length > 0 && sum % 10 === 0;
  }

  function parseExpiry(value) {
    var d = digits(value);
    if (d.length !== 4 && d.length !== 6) return null;
    var month = parseInt(d.slice(0, 2), 10);
    var year = parseInt(d.slice(2), 10);
    if (year < 100) year += 2000;
    return { month: month, year: year };
  }

  function validate(values) {
    var errors = {};
    var number = digits(values.number);
    if (!number) errors.number = { code: "incomplete_number", message: "Your card number is incomplete." };
    else if (number.length < 13 || number.length > 19)
      errors.number = { code: "incomplete_number", message: "Your card number is incomplete." };
    else if (!luhn(number)) errors.number = { code: "invalid_number", message: "Your card number is invalid." };
    var exp = parseExpiry(values.expiry);
    var now = new Date();
    if (!digits(values.expiry))
      errors.expiry = { code: "incomplete_expiry", message: "Your card's expiration date is incomplete." };
    else if (!exp) errors.expiry = { code: "incomplete_expiry", message: "Your card's expiration date is incomplete." };
    else if (exp.month < 1 || exp.month > 12)
      errors.expiry = { code: "invalid_expiry_month", message: "Your card's expiration month is invalid." };
    else if (exp.year < now.getFullYear() || (exp.year === now.getFullYear() && exp.month < now.getMonth() + 1))
      errors.expiry = { code: "invalid_expiry_year_past", message: "Your card's expiration year is in the past." };
    var cvc = digits(values.cvc);
    if (!cvc) errors.cvc = { code: "incomplete_cvc", message: "Your card's security code is incomplete." };
    else if (cvc.length < 3 || cvc.length > 4)
      errors.cvc = { code: "incomplete_cvc", message: "Your card's security code is incomplete." };
    return errors;
  }

  // ------------------------------------------------------------------ Payment Element

  var STYLE_ID = "stripe-emulator-style";
  function injectStyle() {
    if (document.getElementById(STYLE_ID)) return;
    var style = document.createElement("style");
    style.id = STYLE_ID;
    style.textContent =
      ".se-element{display:grid;gap:.75rem;font-family:system-ui,sans-serif}" +
      ".se-row{display:grid;grid-template-columns:1fr 1fr;gap:.75rem}" +
      ".se-field label{display:block;font-size:.9rem;margin-bottom:.25rem}" +
      ".se-field input,.se-field select{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #c9ced6;border-radius:6px;font:inherit}" +
      ".se-field input[aria-invalid=true]{border-color:#df1b41}" +
      ".se-field input:focus-visible,.se-field select:focus-visible{outline:2px solid #635bff;outline-offset:1px}" +
      ".se-error{color:#df1b41;font-size:.85rem;min-height:1em}" +
      ".se-modal{position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center;z-index:2147483647}" +
      ".se-modal-box{background:#fff;border-radius:8px;width:min(480px,95vw);padding:.5rem}" +
      ".se-modal iframe{border:0;width:100%;height:420px}";
    document.head.appendChild(style);
  }

  var COUNTRIES = [
    ["LU", "Luxembourg"], ["AT", "Austria"], ["BE", "Belgium"], ["DE", "Germany"], ["ES", "Spain"],
    ["FR", "France"], ["GB", "United Kingdom"], ["IE", "Ireland"], ["IT", "Italy"], ["NL", "Netherlands"],
    ["PT", "Portugal"], ["US", "United States"]
  ];

  function PaymentElement(elements, type, options) {
    this.elements = elements;
    this.type = type;
    this.options = options || {};
    this.handlers = {};
    this.container = null;
    this.inputs = null;
    this.id = "se-" + ++uid;
    this.touched = {};
  }

  PaymentElement.prototype.on = function (event, handler) {
    (this.handlers[event] = this.handlers[event] || []).push(handler);
    if (event === "ready" && this.inputs) setTimeout(handler.bind(null, { elementType: this.type }), 0);
    return this;
  };
  PaymentElement.prototype.off = function (event, handler) {
    var list = this.handlers[event] || [];
    this.handlers[event] = handler ? list.filter(function (h) { return h !== handler; }) : [];
    return this;
  };
  PaymentElement.prototype._emit = function (event, payload) {
    (this.handlers[event] || []).forEach(function (h) {
      try { h(payload); } catch (e) { setTimeout(function () { throw e; }, 0); }
    });
  };

  PaymentElement.prototype.mount = function (target) {
    var host = typeof target === "string" ? document.querySelector(target) : target;
    if (!host) throw new Error("IntegrationError: mount target not found: " + target);
    injectStyle();
    var id = this.id;
    var wrap = document.createElement("div");
    wrap.className = "se-element";
    wrap.setAttribute("role", "group");
    wrap.setAttribute("aria-label", "Payment details");
    function field(name, label, attrs) {
      var f = document.createElement("div");
      f.className = "se-field";
      var l = document.createElement("label");
      l.htmlFor = id + "-" + name;
      l.textContent = label;
      var input = document.createElement("input");
      input.id = id + "-" + name;
      input.name = name;
      input.type = "text";
      Object.keys(attrs).forEach(function (k) { input.setAttribute(k, attrs[k]); });
      input.setAttribute("aria-describedby", id + "-" + name + "-error");
      input.setAttribute("aria-invalid", "false");
      var err = document.createElement("div");
      err.id = id + "-" + name + "-error";
      err.className = "se-error";
      err.setAttribute("role", "alert");
      f.appendChild(l);
      f.appendChild(input);
      f.appendChild(err);
      return { box: f, input: input, error: err };
    }
    var number = field("number", "Card number", {
      inputmode: "numeric", autocomplete: "cc-number", placeholder: "1234 1234 1234 1234", maxlength: "23"
    });
    var expiry = field("expiry", "Expiration date (MM / YY)", {
      inputmode: "numeric", autocomplete: "cc-exp", placeholder: "MM / YY", maxlength: "7"
    });
    var cvc = field("cvc", "Security code (CVC)", {
      inputmode: "numeric", autocomplete: "cc-csc", placeholder: "CVC", maxlength: "4"
    });
    var countryBox = document.createElement("div");
    countryBox.className = "se-field";
    var countryLabel = document.createElement("label");
    countryLabel.htmlFor = id + "-country";
    countryLabel.textContent = "Country";
    var country = document.createElement("select");
    country.id = id + "-country";
    country.name = "country";
    country.setAttribute("autocomplete", "country");
    var defaultCountry = (this.options.defaultValues && this.options.defaultValues.billingDetails &&
      this.options.defaultValues.billingDetails.address && this.options.defaultValues.billingDetails.address.country) || "LU";
    COUNTRIES.forEach(function (c) {
      var o = document.createElement("option");
      o.value = c[0];
      o.textContent = c[1];
      if (c[0] === defaultCountry) o.selected = true;
      country.appendChild(o);
    });
    countryBox.appendChild(countryLabel);
    countryBox.appendChild(country);
    var row = document.createElement("div");
    row.className = "se-row";
    row.appendChild(expiry.box);
    row.appendChild(cvc.box);
    wrap.appendChild(number.box);
    wrap.appendChild(row);
    wrap.appendChild(countryBox);
    host.appendChild(wrap);
    this.container = wrap;
    this.host = host;
    this.fields = { number: number, expiry: expiry, cvc: cvc };
    this.inputs = { number: number.input, expiry: expiry.input, cvc: cvc.input, country: country };
    var self = this;

    number.input.addEventListener("input", function () {
      var d = digits(number.input.value).slice(0, 19);
      number.input.value = d.replace(/(\d{4})(?=\d)/g, "$1 ");
      self._changed();
    });
    expiry.input.addEventListener("input", function (e) {
      var d = digits(expiry.input.value).slice(0, 4);
      if (d.length === 1 && d > "1") d = "0" + d;
      var deleting = e && e.inputType && e.inputType.indexOf("delete") === 0;
      expiry.input.value = d.length >= 2 && !(deleting && d.length === 2) ? d.slice(0, 2) + " / " + d.slice(2) : d;
      self._changed();
    });
    cvc.input.addEventListener("input", function () {
      cvc.input.value = digits(cvc.input.value).slice(0, 4);
      self._changed();
    });
    country.addEventListener("change", function () { self._changed(); });
    ["number", "expiry", "cvc"].forEach(function (name) {
      self.inputs[name].addEventListener("blur", function () {
        if (self.inputs[name].value) self.touched[name] = true;
        self._showErrors(false);
        self._emit("blur", { elementType: self.type });
      });
      self.inputs[name].addEventListener("focus", function () { self._emit("focus", { elementType: self.type }); });
    });
    setTimeout(function () { self._emit("ready", { elementType: self.type }); }, 0);
    return this;
  };

  PaymentElement.prototype._values = function () {
    var i = this.inputs;
    return { number: i.number.value, expiry: i.expiry.value, cvc: i.cvc.value, country: i.country.value };
  };

  PaymentElement.prototype._showErrors = function (all) {
    var errors = validate(this._values());
    var self = this;
    ["number", "expiry", "cvc"].forEach(function (name) {
      var show = all || self.touched[name];
      var err = show ? errors[name] : null;
      self.fields[name].error.textContent = err ? err.message : "";
      self.fields[name].input.setAttribute("aria-invalid", err ? "true" : "false");
    });
    return errors;
  };

  PaymentElement.prototype._changed = function () {
    var values = this._values();
    var errors = validate(values);
    var first = errors.number || errors.expiry || errors.cvc;
    this._showErrors(false);
    this._emit("change", {
      elementType: this.type,
      complete: !first,
      empty: !digits(values.number) && !digits(values.expiry) && !digits(values.cvc),
      value: { type: "card" },
      error: first && (this.touched.number || this.touched.expiry || this.touched.cvc)
        ? { type: "validation_error", code: first.code, message: first.message }
        : undefined
    });
  };

  PaymentElement.prototype.unmount = function () {
    if (this.container && this.container.parentNode) this.container.parentNode.removeChild(this.container);
    this.container = null;
    this.inputs = null;
    return this;
  };
  PaymentElement.prototype.destroy = function () {
    this.unmount();
    this.elements._remove(this);
  };
  PaymentElement.prototype.focus = function () { if (this.inputs) this.inputs.number.focus(); };
  PaymentElement.prototype.blur = function () { if (document.activeElement) document.activeElement.blur(); };
  PaymentElement.prototype.clear = function () {
    if (!this.inputs) return;
    this.inputs.number.value = this.inputs.expiry.value = this.inputs.cvc.value = "";
    this.touched = {};
    this._changed();
  };
  PaymentElement.prototype.update = function (options) {
    this.options = Object.assign(this.options, options || {});
  };

  PaymentElement.prototype._collect = function () {
    if (!this.inputs) return { error: { type: "validation_error", code: "element_not_mounted", message: "The Payment Element is not mounted." } };
    var errors = this._showErrors(true);
    var first = errors.number || errors.expiry || errors.cvc;
    if (first) {
      var focusOn = errors.number ? "number" : errors.expiry ? "expiry" : "cvc";
      this.inputs[focusOn].focus();
      return { error: { type: "validation_error", code: first.code, message: first.message } };
    }
    var v = this._values();
    var exp = parseExpiry(v.expiry);
    return {
      card: { number: digits(v.number), exp_month: exp.month, exp_year: exp.year, cvc: digits(v.cvc) },
      country: v.country
    };
  };

  // ------------------------------------------------------------------ Elements group

  function Elements(stripe, options) {
    this.stripe = stripe;
    this.options = options || {};
    this.clientSecret = this.options.clientSecret;
    this.list = [];
  }
  Elements.prototype.create = function (type, options) {
    if (type !== "payment" && type !== "card") throw new Error("IntegrationError: unsupported element type " + type);
    var el = new PaymentElement(this, type, options);
    this.list.push(el);
    return el;
  };
  Elements.prototype.getElement = function (type) {
    for (var i = 0; i < this.list.length; i++) if (this.list[i].type === type) return this.list[i];
    return null;
  };
  Elements.prototype._remove = function (el) {
    this.list = this.list.filter(function (e) { return e !== el; });
  };
  Elements.prototype.update = function (options) {
    Object.assign(this.options, options || {});
    if (options && options.clientSecret) this.clientSecret = options.clientSecret;
  };
  Elements.prototype.fetchUpdates = function () { return Promise.resolve({}); };
  Elements.prototype.submit = function () {
    var el = this.getElement("payment") || this.getElement("card");
    if (!el) return Promise.resolve({ error: { type: "validation_error", code: "no_element", message: "No Payment Element." } });
    var collected = el._collect();
    return Promise.resolve(collected.error ? { error: collected.error } : {});
  };

  // ------------------------------------------------------------------ 3-D Secure modal

  function challenge(url) {
    return new Promise(function (resolve) {
      injectStyle();
      var overlay = document.createElement("div");
      overlay.className = "se-modal";
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("aria-modal", "true");
      overlay.setAttribute("aria-label", "3D Secure authentication");
      var box = document.createElement("div");
      box.className = "se-modal-box";
      var frame = document.createElement("iframe");
      frame.title = "3D Secure challenge";
      frame.src = url + (url.indexOf("?") >= 0 ? "&" : "?") + "embedded=1";
      box.appendChild(frame);
      overlay.appendChild(box);
      document.body.appendChild(overlay);
      var previous = document.activeElement;
      frame.addEventListener("load", function () { frame.focus(); });
      function onMessage(event) {
        if (event.origin !== ORIGIN || !event.data || event.data.type !== "stripe-emulator-3ds") return;
        window.removeEventListener("message", onMessage);
        if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
        if (previous && previous.focus) previous.focus();
        resolve(event.data);
      }
      window.addEventListener("message", onMessage);
    });
  }

  // ------------------------------------------------------------------ Stripe object

  function redirectTo(returnUrl, kind, intent, status) {
    var url = new URL(returnUrl, window.location.href);
    url.searchParams.set(kind, intent.id);
    url.searchParams.set(kind + "_client_secret", intent.client_secret);
    url.searchParams.set("redirect_status", status);
    window.location.assign(url.toString());
  }

  function StripeClient(key, options) {
    if (!/^pk_(test|live)_/.test(String(key))) {
      throw new Error("IntegrationError: Invalid API Key provided to Stripe(): " + String(key).slice(0, 8) + "...");
    }
    this.key = key;
    this.account = (options && options.stripeAccount) || null;
  }

  StripeClient.prototype.elements = function (options) {
    return new Elements(this, options);
  };

  StripeClient.prototype._retrieve = function (kind, clientSecret) {
    var path = kind === "payment_intent" ? "/v1/payment_intents/" : "/v1/setup_intents/";
    return request(this, "GET", path + intentId(clientSecret), { client_secret: clientSecret }).then(function (r) {
      if (r.body && r.body.error) return { error: r.body.error };
      var out = {};
      out[kind === "payment_intent" ? "paymentIntent" : "setupIntent"] = r.body;
      return out;
    });
  };

  StripeClient.prototype.retrievePaymentIntent = function (clientSecret) {
    return this._retrieve("payment_intent", clientSecret);
  };
  StripeClient.prototype.retrieveSetupIntent = function (clientSecret) {
    return this._retrieve("setup_intent", clientSecret);
  };

  StripeClient.prototype._createPaymentMethod = function (element, billing) {
    var collected = element._collect();
    if (collected.error) return Promise.resolve({ error: collected.error });
    var details = Object.assign({}, billing || {});
    details.address = Object.assign({ country: collected.country }, details.address || {});
    return request(this, "POST", "/v1/payment_methods", {
      type: "card",
      card: collected.card,
      billing_details: details
    }).then(function (r) {
      return r.body.error ? { error: r.body.error } : { paymentMethod: r.body };
    });
  };

  StripeClient.prototype.createPaymentMethod = function (options) {
    var element = options && (options.element || (options.elements && (options.elements.getElement("payment") || options.elements.getElement("card"))));
    if (!element) return Promise.resolve({ error: { type: "validation_error", message: "No element provided." } });
    return this._createPaymentMethod(element, options.billing_details || (options.params && options.params.billing_details));
  };

  // Finishes an intent after confirm (handles 3-D Secure) -> {intent} or {error}
  StripeClient.prototype._settle = function (kind, intent) {
    var self = this;
    var key = kind === "payment_intent" ? "paymentIntent" : "setupIntent";
    if (intent.status !== "requires_action" || !intent.next_action || !intent.next_action.redirect_to_url) {
      return Promise.resolve(self._outcome(kind, intent));
    }
    return challenge(intent.next_action.redirect_to_url.url).then(function () {
      return self._retrieve(kind, intent.client_secret).then(function (r) {
        if (r.error) return r;
        return self._outcome(kind, r[key]);
      });
    });
  };

  StripeClient.prototype._outcome = function (kind, intent) {
    var key = kind === "payment_intent" ? "paymentIntent" : "setupIntent";
    var lastError = kind === "payment_intent" ? intent.last_payment_error : intent.last_setup_error;
    if (intent.status === "requires_payment_method" && lastError) {
      var error = Object.assign({}, lastError);
      error[kind] = intent;
      return { error: error };
    }
    var out = {};
    out[key] = intent;
    return out;
  };

  StripeClient.prototype._confirm = function (kind, options) {
    var self = this;
    options = options || {};
    var elements = options.elements;
    var clientSecret = options.clientSecret || (elements && elements.clientSecret);
    var params = Object.assign({}, options.confirmParams || {});
    var redirect = options.redirect || "always";
    if (!clientSecret) {
      return Promise.resolve({ error: { type: "invalid_request_error", message: "Missing clientSecret." } });
    }
    var returnUrl = params.return_url;
    if (redirect === "always" && !returnUrl) {
      return Promise.resolve({
        error: { type: "invalid_request_error", message: "confirmParams.return_url is required when redirect is 'always'." }
      });
    }
    var pmStep;
    if (params.payment_method) {
      pmStep = Promise.resolve({ paymentMethod: { id: params.payment_method } });
    } else {
      var element = elements && (elements.getElement("payment") || elements.getElement("card"));
      if (!element) return Promise.resolve({ error: { type: "validation_error", message: "No Payment Element mounted." } });
      var billing = params.payment_method_data && params.payment_method_data.billing_details;
      pmStep = self._createPaymentMethod(element, billing);
    }
    return pmStep.then(function (pm) {
      if (pm.error) return { error: pm.error };
      var path = (kind === "payment_intent" ? "/v1/payment_intents/" : "/v1/setup_intents/") + intentId(clientSecret) + "/confirm";
      var body = { client_secret: clientSecret, payment_method: pm.paymentMethod.id };
      if (returnUrl) body.return_url = returnUrl;
      if (kind === "payment_intent" && params.receipt_email) body.receipt_email = params.receipt_email;
      if (kind === "payment_intent" && params.setup_future_usage) body.setup_future_usage = params.setup_future_usage;
      return request(self, "POST", path, body).then(function (r) {
        if (r.body.error) return { error: r.body.error };
        return self._settle(kind, r.body);
      });
    }).then(function (result) {
      var key = kind === "payment_intent" ? "paymentIntent" : "setupIntent";
      if (result.error) return result;
      var intent = result[key];
      if (redirect === "if_required" || !returnUrl) return result;
      var status = intent.status === "succeeded" || intent.status === "requires_capture" ? "succeeded"
        : intent.status === "processing" ? "processing" : "failed";
      redirectTo(returnUrl, kind, intent, status);
      return new Promise(function () {}); // the page is navigating away
    });
  };

  StripeClient.prototype.confirmPayment = function (options) {
    return this._confirm("payment_intent", options);
  };
  StripeClient.prototype.confirmSetup = function (options) {
    return this._confirm("setup_intent", options);
  };
  StripeClient.prototype.confirmCardPayment = function (clientSecret, data) {
    data = data || {};
    var pm = data.payment_method;
    if (pm && typeof pm === "object" && pm.card) {
      var el = pm.card;
      return this._confirm("payment_intent", {
        clientSecret: clientSecret,
        elements: el.elements,
        confirmParams: { return_url: data.return_url },
        redirect: "if_required"
      });
    }
    return this._confirm("payment_intent", {
      clientSecret: clientSecret,
      confirmParams: { payment_method: pm, return_url: data.return_url },
      redirect: "if_required"
    });
  };

  StripeClient.prototype.handleNextAction = function (options) {
    var self = this;
    var clientSecret = options && options.clientSecret;
    var kind = String(clientSecret).indexOf("seti_") === 0 ? "setup_intent" : "payment_intent";
    return self._retrieve(kind, clientSecret).then(function (r) {
      if (r.error) return r;
      return self._settle(kind, r[kind === "payment_intent" ? "paymentIntent" : "setupIntent"]);
    });
  };
  StripeClient.prototype.handleCardAction = function (clientSecret) {
    return this.handleNextAction({ clientSecret: clientSecret });
  };

  function Stripe(key, options) {
    return new StripeClient(key, options);
  }
  Stripe.version = 3;
  Stripe.emulator = { origin: ORIGIN };
  window.Stripe = Stripe;
})();
