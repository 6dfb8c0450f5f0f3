"""Stripe's wire format: nested form parameters, value coercion, and the error shape.

Owns everything that turns an HTTP request into plain Python values and a
problem into Stripe's ``{"error": {...}}`` body:

* :func:`parse_form` decodes ``a[b][0][c]=v`` pairs (POST bodies and GET query
  strings, which the SDK percent-encodes) into nested dicts/lists of strings.
* :class:`Params` reads typed values out of that tree (every value arrives as a
  string) and rejects unknown parameters the way Stripe does.
* :class:`StripeError` carries HTTP status plus Stripe's error fields.
* :func:`parse_multipart` splits a Files API upload into parameters and file parts.
* :func:`mask_key` hides an API key the way Stripe's messages do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email import policy as email_policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

DOC_BASE = "https://stripe.com/docs/error-codes/"

_KEY_PART = re.compile(r"\[([^\]]*)\]")


class StripeError(Exception):
    """An error answered in Stripe's shape (``{"error": {...}}``)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self, request_id: str) -> dict[str, Any]:
        err: dict[str, Any] = {
            "type": self.type,
            "code": self.code,
            "decline_code": self.decline_code,
            "message": self.message,
            "param": self.param,
            "doc_url": DOC_BASE + self.code.replace("_", "-") if self.code else None,
            "request_log_url": f"https://dashboard.stripe.com/test/logs/{request_id}",
        }
        err.update(self.extra)
        return {"error": err}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    """A 400 ``invalid_request_error``."""
    return StripeError(
        400, message, param=param, code=code or ("parameter_invalid" if param else None)
    )


def missing(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def not_found(kind: str, obj_id: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{obj_id}'", param=param, code="resource_missing")


def mask_key(key: str) -> str:
    """``sk_test_abcdef1234`` -> ``sk_test_******1234`` (never the whole key)."""
    if not key:
        return ""
    match = re.match(r"^((?:sk|pk|rk)_(?:test|live)_)(.*)$", key)
    if not match:
        return "*" * max(len(key) - 4, 0) + key[-4:] if len(key) > 4 else "****"
    prefix, rest = match.groups()
    return prefix + "*" * max(len(rest) - 4, 4) + rest[-4:]


def _split_key(raw: str) -> list[str]:
    head, _, tail = raw.partition("[")
    parts = [head]
    if tail:
        parts.extend(_KEY_PART.findall("[" + tail))
    return parts


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Build a nested tree from ``(key, value)`` pairs with bracketed keys.

    ``a[]=x`` appends, ``a[0][b]=y`` indexes an array of dicts, ``a[b]=z`` nests.
    Numeric-looking subkeys are collected into lists at the end.
    """
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        parts = _split_key(raw_key)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                # "a[]" - append to an (index-keyed) dict
                if not isinstance(node, dict):
                    raise invalid(f"Invalid array: {raw_key}", raw_key)
                part = str(len(node))
            if last:
                if isinstance(node, dict):
                    node[part] = value
                else:
                    raise invalid(f"Invalid parameter: {raw_key}", raw_key)
            else:
                nxt = node.get(part) if isinstance(node, dict) else None
                if not isinstance(nxt, dict):
                    if isinstance(nxt, str):
                        raise invalid(f"Invalid hash: {raw_key}", raw_key)
                    nxt = {}
                    node[part] = nxt
                node = nxt
    return dict(_listify(root))


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


def parse_form(body: str) -> dict[str, Any]:
    return parse_pairs(parse_qsl(body, keep_blank_values=True))


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, indent=2, sort_keys=False).encode()


# A spec maps a parameter name to: True (scalar), "any" (free-form hash such as
# metadata), a nested spec dict, or [spec] (array whose items follow spec).
Spec = Mapping[str, Any]


def check_unknown(params: Mapping[str, Any], spec: Spec, prefix: str = "") -> None:
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if key == "expand" and not prefix:
            continue
        if key not in spec:
            raise StripeError(
                400,
                f"Received unknown parameter: {name}",
                param=name,
                code="parameter_unknown",
            )
        sub = spec[key]
        if sub is True or sub == "any":
            if sub is True and isinstance(value, dict | list) and value:
                raise invalid(f"Invalid value for {name}: expected a string.", name)
            continue
        if isinstance(sub, list):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and isinstance(sub[0], dict):
                        check_unknown(item, sub[0], f"{name}[{i}]")
            elif value != "":
                raise invalid(f"Invalid array: {name}", name)
            continue
        if isinstance(sub, dict):
            if value == "":
                continue  # Stripe: empty string unsets a hash
            if not isinstance(value, dict):
                raise invalid(f"Invalid hash: {name}", name)
            check_unknown(value, sub, name)


# Builtins under other names: Params has methods called str/int/bool/list.
_Str = str
_Int = int
_Bool = bool
_List = list


class Params:
    """Typed access to a request's parameter tree, reporting Stripe-style errors."""

    def __init__(self, data: Mapping[_Str, Any], prefix: _Str = "") -> None:
        self.data = dict(data)
        self.prefix = prefix

    def _name(self, key: _Str) -> _Str:
        return f"{self.prefix}[{key}]" if self.prefix else key

    def __contains__(self, key: _Str) -> _Bool:
        return key in self.data

    def raw(self, key: _Str) -> Any:
        return self.data.get(key)

    def str(
        self, key: str, *, required: bool = False, choices: Iterable[str] | None = None
    ) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing(self._name(key))
            return None
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {self._name(key)}", self._name(key))
        if choices is not None:
            allowed = list(choices)
            if value not in allowed:
                raise invalid(
                    f"Invalid {self._name(key)}: must be one of {', '.join(allowed)}",
                    self._name(key),
                )
        return value

    def req_str(self, key: _Str, choices: Iterable[_Str] | None = None) -> _Str:
        value = self.str(key, required=True, choices=choices)
        assert value is not None
        return value

    def int(
        self, key: _Str, *, required: _Bool = False, minimum: _Int | None = None
    ) -> _Int | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing(self._name(key))
            return None
        if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value.strip()):
            raise invalid(f"Invalid integer: {value}", self._name(key))
        number = int(value)
        if minimum is not None and number < minimum:
            raise invalid(
                f"Invalid {self._name(key)}: must be greater than or equal to {minimum}",
                self._name(key),
            )
        return number

    def req_int(self, key: _Str, minimum: _Int | None = None) -> _Int:
        value = self.int(key, required=True, minimum=minimum)
        assert value is not None
        return value

    def bool(self, key: _Str, default: _Bool | None = None) -> _Bool | None:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if value in ("true", True):
            return True
        if value in ("false", False):
            return False
        raise invalid(f"Invalid boolean: {value}", self._name(key))

    def hash(self, key: _Str) -> Params:
        value = self.data.get(key)
        if value is None or value == "":
            return Params({}, self._name(key))
        if not isinstance(value, dict):
            raise invalid(f"Invalid hash: {self._name(key)}", self._name(key))
        return Params(value, self._name(key))

    def list(self, key: _Str) -> _List[Any]:
        value = self.data.get(key)
        if value is None or value == "":
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, str):
            return [value]
        raise invalid(f"Invalid array: {self._name(key)}", self._name(key))

    def metadata(self, key: _Str = "metadata") -> dict[_Str, _Str] | None:
        """Metadata as Stripe treats it: ``""`` clears, empty values delete keys."""
        value = self.data.get(key)
        if value is None:
            return None
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid hash: {self._name(key)}", self._name(key))
        for k, v in value.items():
            if not isinstance(v, str):
                raise invalid(f"Invalid metadata value for {k}", f"{self._name(key)}[{k}]")
            if len(k) > 40:
                raise invalid("Metadata keys can be at most 40 characters.", f"metadata[{k}]")
            if len(v) > 500:
                raise invalid("Metadata values can be at most 500 characters.", f"metadata[{k}]")
        return dict(value)


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    if update is None:
        return current
    if update == {}:
        return {}
    merged = dict(current)
    for k, v in update.items():
        if v == "":
            merged.pop(k, None)
        else:
            merged[k] = v
    return merged


@dataclass(frozen=True)
class Upload:
    """A file part of a ``multipart/form-data`` request (the Files API's ``file``)."""

    filename: str
    content_type: str
    data: bytes


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Split a ``multipart/form-data`` body into form parameters and file parts."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=email_policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise invalid("The request body is not a valid multipart/form-data body.")
    pairs: list[tuple[str, str]] = []
    uploads: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise invalid("A multipart part has no name.")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            uploads[name] = Upload(filename, part.get_content_type(), data)
        else:
            pairs.append((name, data.decode("utf-8", errors="replace")))
    return parse_pairs(pairs), uploads
